"""The `helpdesk` command run in-process: a support desk's day, and the CLI's contract.

Exit codes: 0 ok (an empty list too), 1 refused or failed, 2 usage, 4 authentication
missing or rejected. Errors go to stderr; with --json as {"error": {code, message, details}}.
"""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from conftest import PASSWORD, free_port

from helpdesk.db import database
from helpdesk.services import api_tokens, users

RITA_PASSWORD = "rita-password-42"
NOT_LOGGED_IN = "Error: Not logged in: run `helpdesk login EMAIL` first.\n"

PAGE_KEYS = {"items", "page", "per_page", "total"}
# Ticket lists add the next page's cursor and whether the total is a lower bound (additive).
TICKET_PAGE_KEYS = PAGE_KEYS | {"next", "total_is_estimate"}
PERSON_KEYS = {"email", "name"}
USER_KEYS = {
    "id",
    "email",
    "name",
    "kind",
    "active",
    "activated",
    "origin",
    "language",
    "phone",
    "can_manage_customers",
    "created_at",
    "organizations",
}
ORG_KEYS = {"id", "name", "created_at", "member_count"}
TICKET_KEYS = {
    "reference",
    "type",
    "title",
    "status",
    "priority",
    "priority_overridden",
    "impact",
    "urgency",
    "private",
    "requester",
    "organization",
    "service",
    "subcategory",
    "sla",
    "assignee",
    "created_at",
    "updated_at",
}
DETAIL_KEYS = TICKET_KEYS | {
    "description",
    "resolved_at",
    "closed_at",
    "satisfaction",
    "shared_with",
    "comments",
    "attachments",
    "events",
    "allowed_transitions",
    "notifications",
}
COMMENT_KEYS = {"id", "author", "body", "visibility", "created_at"}
ATTACHMENT_KEYS = {"filename", "size", "sha256", "content_type", "comment_id", "created_at", "url"}
EVENT_KEYS = {"kind", "actor", "from", "to", "at"}
ERROR_KEYS = {"code", "message", "details"}

# email, name, organization, role: registered by the `desk` fixture without passwords.
CUSTOMERS = [
    ("req@acme.test", "Rita Requester", "Acme", "user"),
    ("col@acme.test", "Carl Colleague", "Acme", "user"),
    ("shared@acme.test", "Sheila Shared", "Acme", "user"),
    ("power@acme.test", "Paula Power", "Acme", "power"),
    ("power@globex.test", "Otto Other", "Globex", "power"),
]


# -- helpers ------------------------------------------------------------------------------


def ok(result):
    """The command succeeded."""
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def fails(result, code: int) -> str:
    """The command failed cleanly with `code`: nothing on stdout, the reason on stderr."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception  # refused, not crashed
    assert result.stdout == ""
    assert result.stderr.strip()
    return result.stderr


def data(result):
    """The --json output of a successful command."""
    return json.loads(ok(result).stdout)


def json_error(result, code: int) -> dict:
    """The {"error": ...} object a failed --json command wrote to stderr."""
    body = json.loads(fails(result, code))
    assert set(body) == {"error"}
    assert set(body["error"]) == ERROR_KEYS
    return body["error"]


def rows(stdout: str) -> list[list[str]]:
    """A plain table as lists of cells, header first, the dashed rule left out."""
    return [
        re.split(r"\s{2,}", line.strip())
        for line in stdout.splitlines()
        if line.strip() and not set(line) <= {"-", " "}
    ]


def refs(result) -> list[str]:
    return [t["reference"] for t in data(result)["items"]]


def stored_tokens(tmp_path) -> dict:
    return json.loads((tmp_path / "config" / "config.json").read_text())["tokens"]


def as_user(cli, token: str):
    """Run commands with HELPDESK_TOKEN set, as a script acting for that user would."""

    def run(*args: str, input: str | None = None):
        return cli(*args, input=input, env={"HELPDESK_TOKEN": token})

    return run


def token_for(email: str) -> str:
    """A token for a user without a password: saves a password hash per test."""
    with database.connection_context():
        return api_tokens.issue_token(users.get_user_by_email(email), name="test")


def submit(run, title: str, *args: str, type_: str = "incident") -> str:
    """Submit a ticket and return its reference."""
    ticket = data(run("ticket", "submit", "--type", type_, "--title", title, *args, "--json"))
    return ticket["reference"]


@pytest.fixture
def desk(installed):
    """Acme (Rita, Carl, Sheila, Paula the power user), Globex (Otto), and Andy the agent."""
    admin = installed
    ok(admin("org", "create", "Acme"))
    ok(admin("org", "create", "Globex"))
    for email, name, org, role in CUSTOMERS:
        ok(admin("user", "register", email, "--name", name, "--org", org, "--role", role))
    ok(admin("user", "register", "agent@example.test", "--name", "Andy Agent", "--agent"))

    def person(email):
        return as_user(installed, token_for(email))

    return SimpleNamespace(
        admin=admin,
        rita=person("req@acme.test"),
        carl=person("col@acme.test"),
        sheila=person("shared@acme.test"),
        paula=person("power@acme.test"),
        otto=person("power@globex.test"),
        andy=person("agent@example.test"),
    )


# -- provisioning -------------------------------------------------------------------------


def test_admin_provisions_organizations_customers_and_an_agent(installed):
    cli = installed
    assert ok(cli("org", "create", "Acme")).stdout == "Created organization Acme.\n"
    globex = data(cli("org", "create", "Globex", "--json"))
    assert set(globex) == {"id", "name", "created_at", "members"}
    assert (globex["name"], globex["members"]) == ("Globex", [])

    result = cli(
        "user",
        "register",
        "req@acme.test",
        "--name",
        "Rita Requester",
        "--org",
        "Acme",
        "--password-stdin",
        input=RITA_PASSWORD + "\n",
    )
    assert ok(result).stdout == "Registered customer Rita Requester <req@acme.test>.\n"
    paula = data(
        cli(
            "user",
            "register",
            "power@acme.test",
            "--name",
            "Paula Power",
            "--org",
            "Acme",
            "--role",
            "power",
            "--password-stdin",
            "--json",
            input="paula-password-42\n",
        )
    )
    assert set(paula) == USER_KEYS
    assert paula["kind"] == "customer"
    assert paula["organizations"] == [{"name": "Acme", "role": "power"}]
    result = cli("user", "register", "agent@example.test", "--name", "Andy Agent", "--agent")
    assert ok(result).stdout == "Registered agent Andy Agent <agent@example.test>.\n"

    result = cli("org", "add-member", "Globex", "req@acme.test")
    assert ok(result).stdout == "req@acme.test is a user member of Globex.\n"
    member = data(cli("org", "add-member", "Globex", "req@acme.test", "--role", "power", "--json"))
    assert member == {"organization": "Globex", "email": "req@acme.test", "role": "power"}

    table = rows(ok(cli("user", "list")).stdout)
    assert table[0] == ["Email", "Name", "Kind", "Active", "Organizations"]
    assert table[1:] == [
        ["admin@example.test", "admin", "admin", "yes"],
        ["agent@example.test", "Andy Agent", "agent", "yes"],
        ["power@acme.test", "Paula Power", "customer", "yes", "Acme (power)"],
        ["req@acme.test", "Rita Requester", "customer", "yes", "Acme (user), Globex (power)"],
    ]
    listing = data(cli("user", "list", "--json"))
    assert set(listing) == PAGE_KEYS
    assert (listing["total"], listing["page"], listing["per_page"]) == (4, 1, 25)
    for user in listing["items"]:
        assert set(user) == USER_KEYS
        for membership in user["organizations"]:
            assert set(membership) == {"name", "role"}
    agents = data(cli("user", "list", "--kind", "agent", "--json"))
    assert [u["email"] for u in agents["items"]] == ["agent@example.test"]

    table = rows(ok(cli("org", "list")).stdout)
    assert table[0] == ["Organization", "Members", "Created"]
    assert [row[:2] for row in table[1:]] == [["Acme", "2"], ["Globex", "1"]]
    orgs = data(cli("org", "list", "--json"))
    assert set(orgs) == PAGE_KEYS
    for org in orgs["items"]:
        assert set(org) == ORG_KEYS
    assert {o["name"]: o["member_count"] for o in orgs["items"]} == {"Acme": 2, "Globex": 1}

    # The password the admin set is the one the customer logs in with.
    result = cli("login", "req@acme.test", "--password-stdin", input=RITA_PASSWORD + "\n")
    line = "Rita Requester <req@acme.test>, customer, Acme (user), Globex (power)"
    assert ok(result).stdout == f"Logged in as {line}.\n"
    assert ok(cli("whoami")).stdout == line + "\n"
    me = data(cli("whoami", "--json"))
    assert set(me) == USER_KEYS | {"date_format", "auth_source"}  # own profile only
    assert me["email"] == "req@acme.test"


def test_a_failed_registration_leaves_the_user_count_alone(desk):
    before = data(desk.admin("user", "list", "--json"))["total"]

    err = fails(desk.admin("user", "register", "REQ@acme.test", "--name", "Rita Again"), 1)
    assert "req@acme.test already exists" in err
    result = desk.admin("user", "register", "new@acme.test", "--name", "New", "--org", "Nowhere")
    assert "No organization named 'Nowhere'" in fails(result, 1)

    assert data(desk.admin("user", "list", "--json"))["total"] == before
    # The refused address was not half-created: it can still be registered properly.
    ok(desk.admin("user", "register", "new@acme.test", "--name", "New", "--org", "Acme"))
    assert data(desk.admin("user", "list", "--json"))["total"] == before + 1


# -- login, tokens, the config file -------------------------------------------------------


def test_login_keeps_the_token_private_env_token_wins_and_logout_revokes(installed, tmp_path):
    cli = installed
    config = tmp_path / "config" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # written by init
    assert PASSWORD not in config.read_text()
    [admin_token] = stored_tokens(tmp_path).values()
    ok(
        cli(
            "user",
            "register",
            "req@acme.test",
            "--name",
            "Rita Requester",
            "--password-stdin",
            input=RITA_PASSWORD + "\n",
        )
    )

    wrong = cli("login", "req@acme.test", "--password-stdin", input="not-her-password\n")
    assert "Wrong email or password" in fails(wrong, 4)
    assert list(stored_tokens(tmp_path).values()) == [admin_token]

    ok(cli("login", "req@acme.test", "--password-stdin", input=RITA_PASSWORD + "\n"))
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert RITA_PASSWORD not in config.read_text()
    assert PASSWORD not in config.read_text()
    [rita_token] = stored_tokens(tmp_path).values()
    assert rita_token != admin_token
    assert ok(cli("whoami")).stdout.startswith("Rita Requester <req@acme.test>, customer")

    # HELPDESK_TOKEN overrides the stored token.
    as_admin = cli("whoami", env={"HELPDESK_TOKEN": admin_token})
    assert ok(as_admin).stdout == "admin <admin@example.test>, admin\n"

    assert ok(cli("logout")).stdout == "Logged out.\n"
    assert stored_tokens(tmp_path) == {}
    assert fails(cli("whoami"), 4) == NOT_LOGGED_IN
    assert fails(cli("ticket", "list"), 4) == NOT_LOGGED_IN
    # The token was revoked on the server, not only forgotten: a saved copy is useless.
    revoked = cli("whoami", env={"HELPDESK_TOKEN": rita_token})
    assert "invalid, expired or revoked" in fails(revoked, 4)
    assert ok(cli("logout")).stdout == "Not logged in.\n"
    # Other tokens are untouched.
    ok(cli("whoami", env={"HELPDESK_TOKEN": admin_token}))


def test_login_and_init_never_prompt_without_a_terminal(cli, tmp_path):
    err = fails(cli("init", "--admin-email", "admin@example.test"), 2)
    assert "--password-stdin" in err
    assert not (tmp_path / "config" / "config.json").exists()

    ok(
        cli(
            "init", "--admin-email", "admin@example.test", "--password-stdin", input=PASSWORD + "\n"
        )
    )
    err = fails(cli("login", "admin@example.test"), 2)
    assert "--password-stdin" in err
    assert "empty password" in fails(cli("login", "admin@example.test", "--password-stdin"), 2)


def test_missing_or_rejected_authentication_exits_4(cli):
    # Never logged in: the local database is there, but no token.
    assert fails(cli("ticket", "list"), 4) == NOT_LOGGED_IN
    error = json_error(cli("whoami", "--json"), 4)
    assert error["code"] == "authentication_required"

    bad = cli("ticket", "list", env={"HELPDESK_TOKEN": "hd_not-a-real-token"})
    assert "invalid, expired or revoked" in fails(bad, 4)


def test_not_logged_in_says_to_run_helpdesk_login(installed):
    """The API tells API clients to send a bearer token; the CLI tells its user to log in."""
    cli = installed
    ok(cli("logout"))
    for args in (("whoami",), ("ticket", "list"), ("org", "create", "Acme")):
        err = fails(cli(*args), 4)
        assert err == NOT_LOGGED_IN
        assert "Bearer" not in err
    error = json_error(cli("ticket", "list", "--json"), 4)
    assert (error["code"], error["message"]) == (
        "authentication_required",
        "Not logged in: run `helpdesk login EMAIL` first.",
    )
    # A refused password is still a refused password, not "not logged in".
    wrong = fails(cli("login", "admin@example.test", "--password-stdin", input="nope-nope-1\n"), 4)
    assert wrong == "Error: Wrong email or password.\n"
    ok(cli("login", "admin@example.test", "--password-stdin", input=PASSWORD + "\n"))
    assert data(cli("org", "create", "Acme", "--json"))["name"] == "Acme"


def test_an_unreachable_server_is_one_line_naming_the_url(cli):
    url = f"http://127.0.0.1:{free_port()}"
    for args in (("ticket", "list"), ("login", "admin@example.test", "--password-stdin")):
        err = fails(cli(*args, input=PASSWORD + "\n", env={"HELPDESK_URL": url}), 1)
        assert err == f"Error: cannot reach {url}: connection refused\n"
    error = json_error(cli("whoami", "--json", env={"HELPDESK_URL": url}), 1)
    assert error == {
        "code": "unreachable",
        "message": f"cannot reach {url}: connection refused",
        "details": {"url": url},
    }


def test_logout_from_an_unreachable_server_forgets_the_token_and_says_it_still_works(cli, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    config = tmp_path / "config" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"tokens": {url: "hd_saved-token"}}))  # as `login` left it

    result = cli("logout", env={"HELPDESK_URL": url})
    assert ok(result).stdout == "Logged out.\n"
    assert result.stderr == (
        "Warning: the token is forgotten here but was not revoked: "
        f"cannot reach {url}: connection refused.\n"
    )
    assert stored_tokens(tmp_path) == {}


@pytest.mark.parametrize("url", ["localhost:5000", "ftp://127.0.0.1", "http://:5000"])
def test_a_helpdesk_url_that_is_not_http_is_named(cli, url):
    err = fails(cli("ticket", "list", env={"HELPDESK_URL": url}), 1)
    assert err.startswith("Error: HELPDESK_URL must be an http:// or https:// address")
    assert repr(url) in err


# -- customers: submitting and following tickets ------------------------------------------


def test_submit_with_a_description_file_stdin_and_an_attachment(desk, tmp_path):
    description = tmp_path / "description.txt"
    description.write_text("Every job comes out blank.\nSince this morning.\n")
    log = tmp_path / "printer.log"
    log.write_bytes(b"tray 2: toner sensor 0x1f\n")

    result = desk.rita(
        "ticket",
        "submit",
        "--type",
        "incident",
        "--title",
        "Printer prints blank pages",
        "--description-file",
        str(description),
        "--impact",
        "high",
        "--attach",
        str(log),
    )
    assert ok(result).stdout == "Submitted HD-1: Printer prints blank pages (new, high).\n"

    ticket = data(
        desk.rita(
            "ticket",
            "submit",
            "--type",
            "question",
            "--title",
            "VPN password",
            "--description-file",
            "-",
            "--json",
            input="How do I change it?\n",
        )
    )
    assert set(ticket) == DETAIL_KEYS | {"deduplicated"}
    assert ticket["reference"] == "HD-2"
    assert ticket["description"] == "How do I change it?"
    assert (ticket["type"], ticket["status"], ticket["priority"]) == ("question", "new", "medium")
    assert ticket["requester"] == {"email": "req@acme.test", "name": "Rita Requester"}
    assert ticket["organization"] == "Acme"

    shown = data(desk.rita("ticket", "show", "HD-1", "--json"))
    assert set(shown) == DETAIL_KEYS
    assert shown["description"] == "Every job comes out blank.\nSince this morning."
    [attachment] = shown["attachments"]
    assert set(attachment) == ATTACHMENT_KEYS
    assert (attachment["filename"], attachment["size"]) == ("printer.log", log.stat().st_size)
    for event in shown["events"]:
        assert set(event) == EVENT_KEYS

    text = ok(desk.rita("ticket", "show", "HD-1")).stdout
    assert text.startswith("HD-1  Printer prints blank pages\n")
    assert "Status:       new" in text
    assert "Requester:    Rita Requester <req@acme.test>    Organization: Acme" in text
    assert "Every job comes out blank." in text
    assert "Attachments:" in text
    assert "printer.log" in text


def test_list_filters_by_status_and_mine(desk):
    first = submit(desk.rita, "Printer prints blank pages")
    second = submit(desk.rita, "VPN drops every hour")
    own = submit(desk.paula, "Projector flickers")
    ok(desk.andy("ticket", "assign", second, "me"))

    # Paula is a power user: she sees her organization's tickets, newest first.
    assert refs(desk.paula("ticket", "list", "--json")) == [own, second, first]
    assert refs(desk.paula("ticket", "list", "--mine", "--json")) == [own]
    assert refs(desk.paula("ticket", "list", "--status", "new", "--json")) == [own, first]
    both = desk.paula("ticket", "list", "--status", "new", "--status", "open", "--json")
    assert refs(both) == [own, second, first]
    assert refs(desk.rita("ticket", "list", "--json")) == [second, first]
    assert refs(desk.andy("ticket", "list", "--mine", "--json")) == [second]

    page = data(desk.paula("ticket", "list", "--status", "open", "--json"))
    assert set(page) == TICKET_PAGE_KEYS
    [summary] = page["items"]
    assert set(summary) == TICKET_KEYS
    assert set(summary["requester"]) == PERSON_KEYS
    assert summary["assignee"] == {"email": "agent@example.test", "name": "Andy Agent"}

    table = rows(ok(desk.paula("ticket", "list", "--status", "open")).stdout)
    assert table[0] == [
        "Ref",
        "Status",
        "Priority",
        "Type",
        "Service",
        "Title",
        "Requester",
        "Organization",
        "Created",
        "Updated",
    ]
    assert table[1][:8] == [
        second,
        "open",
        "medium",
        "incident",
        "-",  # no catalogue: no service
        "VPN drops every hour",
        "Rita Requester",
        "Acme",
    ]


def test_an_empty_list_is_a_success(desk):
    result = ok(desk.andy("ticket", "list"))
    assert result.stdout == "No tickets.\n"
    assert data(desk.andy("ticket", "list", "--json")) == {
        "items": [],
        "page": 1,
        "per_page": 25,
        "total": 0,
        "next": None,
        "total_is_estimate": False,
    }
    submit(desk.rita, "Printer prints blank pages")
    assert ok(desk.rita("ticket", "list", "--status", "closed")).stdout == "No tickets.\n"
    assert ok(desk.rita("ticket", "search", "nothing like this")).stdout == "No tickets.\n"


def test_comments_inline_and_from_stdin(desk):
    ref = submit(desk.rita, "Printer prints blank pages")
    result = desk.rita("ticket", "comment", ref, "--message", "It started at 9.")
    assert ok(result).stdout == f"Added comment to {ref}.\n"
    ok(desk.rita("ticket", "comment", ref, "--message-file", "-", input="Tray 2 only.\n"))

    comments = data(desk.rita("ticket", "show", ref, "--json"))["comments"]
    for comment in comments:
        assert set(comment) == COMMENT_KEYS
    assert [(c["body"], c["visibility"]) for c in comments] == [
        ("It started at 9.", "public"),
        ("Tray 2 only.", "public"),
    ]
    assert comments[0]["author"] == {"email": "req@acme.test", "name": "Rita Requester"}


def test_share_by_email_and_by_name(desk):
    ref = submit(desk.rita, "Printer prints blank pages")
    assert "No such ticket" in fails(desk.carl("ticket", "show", ref), 1)

    result = desk.rita("ticket", "share", ref, "col@acme.test")
    assert ok(result).stdout == f"Shared {ref} with col@acme.test.\n"
    shared = data(desk.rita("ticket", "share", ref, "Sheila Shared", "--json"))
    assert set(shared) == DETAIL_KEYS | {"added", "invited"}
    assert shared["added"] == ["shared@acme.test"]
    result = desk.rita("ticket", "share", ref, "sheila shared")
    assert ok(result).stdout == f"{ref} was already shared with them.\n"

    shown = data(desk.rita("ticket", "show", ref, "--json"))
    assert shown["shared_with"] == [
        {"email": "col@acme.test", "name": "Carl Colleague"},
        {"email": "shared@acme.test", "name": "Sheila Shared"},
    ]
    assert (
        "Shared with:  col@acme.test, shared@acme.test"
        in ok(desk.rita("ticket", "show", ref)).stdout
    )
    assert refs(desk.carl("ticket", "list", "--json")) == [ref]
    ok(desk.sheila("ticket", "comment", ref, "-m", "Same on my floor."))

    # A registered user of another organization: agents only, and the refusal says so.
    err = fails(desk.rita("ticket", "share", ref, "power@globex.test"), 1)
    assert "power@globex.test belongs to another organization" in err


def test_an_ambiguous_share_shares_with_nobody(desk):
    for email in ("chris@acme.test", "chris.doe@acme.test"):
        ok(desk.admin("user", "register", email, "--name", "Chris Doe", "--org", "Acme"))
    ref = submit(desk.rita, "Printer prints blank pages")
    ok(desk.rita("ticket", "share", ref, "shared@acme.test"))
    before = data(desk.rita("ticket", "show", ref, "--json"))

    # Carl is named first and exists, but the whole share is refused.
    err = fails(desk.rita("ticket", "share", ref, "col@acme.test", "Chris Doe"), 1)
    assert "chris.doe@acme.test" in err
    assert "chris@acme.test" in err

    after = data(desk.rita("ticket", "show", ref, "--json"))
    assert after["shared_with"] == [{"email": "shared@acme.test", "name": "Sheila Shared"}]
    assert (after["events"], after["updated_at"]) == (before["events"], before["updated_at"])
    assert "No such ticket" in fails(desk.carl("ticket", "show", ref), 1)


def test_resolve_reopen_close_with_rating_and_never_reopen(desk):
    ref = submit(desk.rita, "Printer prints blank pages")
    ok(desk.andy("ticket", "assign", ref, "me"))
    assert ok(desk.andy("ticket", "status", ref, "resolved")).stdout == f"{ref} is now resolved.\n"

    result = desk.rita("ticket", "reopen", ref, "--comment", "Still blank on tray 2.")
    assert ok(result).stdout == f"Reopened {ref}.\n"
    ticket = data(desk.rita("ticket", "show", ref, "--json"))
    assert ticket["status"] == "open"
    assert ticket["comments"][-1]["body"] == "Still blank on tray 2."

    ok(desk.andy("ticket", "status", ref, "resolved", "--comment", "Replaced the sensor."))
    result = desk.rita("ticket", "close", ref, "--rating", "5", "--comment", "Quick and friendly.")
    assert ok(result).stdout == f"Closed {ref}.\n"
    ticket = data(desk.rita("ticket", "show", ref, "--json"))
    assert ticket["status"] == "closed"
    assert ticket["closed_at"] is not None
    assert ticket["satisfaction"] == {"rating": 5, "comment": "Quick and friendly."}
    assert ticket["allowed_transitions"] == []
    assert "Satisfaction: 5/5 - Quick and friendly." in ok(desk.rita("ticket", "show", ref)).stdout

    err = fails(desk.rita("ticket", "reopen", ref, "--comment", "It happened again."), 1)
    assert "never be reopened" in err
    assert "never be reopened" in fails(desk.andy("ticket", "status", ref, "open"), 1)
    assert data(desk.rita("ticket", "show", ref, "--json"))["status"] == "closed"


def test_search_by_text_status_type_dates_and_requester(desk):
    printer = submit(desk.rita, "Printer prints blank pages")
    dark = submit(
        desk.rita, "Dark mode", "--description", "For the printer page too.", type_="feature"
    )
    jam = submit(desk.paula, "Printer jams")
    ok(desk.andy("ticket", "assign", jam, "me"))
    today = datetime.now(UTC).date()
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)

    def search(*args):
        return refs(desk.paula("ticket", "search", *args, "--json"))

    # A text search ranks best match first: compare the sets here (tests/test_search.py ranks).
    assert sorted(search("printer")) == sorted([jam, dark, printer])
    assert sorted(search("printer", "--type", "incident")) == sorted([jam, printer])
    assert search("--type", "feature") == [dark]
    assert search("printer", "--status", "open") == [jam]
    assert sorted(search("printer", "--status", "new", "--requester", "req@acme.test")) == sorted(
        [dark, printer]
    )
    assert search("--requester", "power@acme.test") == [jam]
    assert search("--from", today.isoformat(), "--to", today.isoformat()) == [jam, dark, printer]
    assert search("--from", tomorrow.isoformat()) == []
    assert search("--to", yesterday.isoformat()) == []

    stdout = ok(desk.paula("ticket", "search", "jams")).stdout
    table, snippets = stdout.split("\n\n", 1)
    assert [row[0] for row in rows(table)[1:]] == [jam]
    assert snippets == f"{jam}  Printer jams\n"  # where the words are
    err = fails(desk.paula("ticket", "search", "--from", "31/01/2026"), 2)
    assert "Invalid value for '--from': '31/01/2026' is not a date like 2026-01-31." in err


def test_attachment_get_writes_the_same_bytes_and_never_overwrites_silently(desk, tmp_path):
    payload = bytes(range(256)) * 40
    source = tmp_path / "dump.bin"
    source.write_bytes(payload)
    ref = submit(desk.rita, "Crash dump attached", "--attach", str(source))
    target = tmp_path / "downloaded.bin"

    result = desk.andy("ticket", "attachment", "get", ref, "dump.bin", "-o", str(target))
    assert ok(result).stdout == f"Saved {target} ({len(payload)} bytes).\n"
    assert target.read_bytes() == payload

    target.write_bytes(b"keep me")
    err = fails(desk.andy("ticket", "attachment", "get", ref, "dump.bin", "-o", str(target)), 2)
    assert "--force" in err
    assert target.read_bytes() == b"keep me"
    forced = desk.andy(
        "ticket", "attachment", "get", ref, "dump.bin", "-o", str(target), "--force", "--json"
    )
    assert data(forced) == {"path": str(target), "size": len(payload)}
    assert target.read_bytes() == payload

    to_stdout = ok(desk.rita("ticket", "attachment", "get", ref, "dump.bin", "-o", "-"))
    assert to_stdout.stdout_bytes == payload

    missing = tmp_path / "missing.bin"
    err = fails(desk.rita("ticket", "attachment", "get", ref, "nope.bin", "-o", str(missing)), 1)
    assert "nope.bin" in err
    assert not missing.exists()
    err = fails(desk.otto("ticket", "attachment", "get", ref, "dump.bin", "-o", str(missing)), 1)
    assert "No such ticket" in err
    assert not missing.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".part") == []


def test_a_non_ascii_file_name_is_kept_readable_both_ways(desk, tmp_path):
    source = tmp_path / "relevé d'écran ü.txt"
    source.write_bytes("Žluťoučký kůň\n".encode())
    ref = submit(desk.rita, "Screenshot", "--attach", str(source))
    [attachment] = data(desk.rita("ticket", "show", ref, "--json"))["attachments"]
    assert attachment["filename"] == "releve_decran_u.txt"  # stored names are sanitized

    target = tmp_path / "copy.txt"
    ok(desk.andy("ticket", "attachment", "get", ref, attachment["filename"], "-o", str(target)))
    assert target.read_bytes() == source.read_bytes()
    # The name asked for reaches the server as typed, not as mojibake.
    missing = tmp_path / "missing.txt"
    err = fails(desk.andy("ticket", "attachment", "get", ref, source.name, "-o", str(missing)), 1)
    assert source.name in err


# -- agents -------------------------------------------------------------------------------


def test_agents_assign_to_themselves_or_by_email_and_set_pending(desk):
    first = submit(desk.rita, "Printer prints blank pages")
    second = submit(desk.rita, "VPN drops every hour")

    result = desk.andy("ticket", "assign", first, "me")
    assert ok(result).stdout == f"Assigned {first} to agent@example.test (open).\n"
    assigned = data(desk.admin("ticket", "assign", second, "agent@example.test", "--json"))
    assert set(assigned) == DETAIL_KEYS
    assert assigned["assignee"] == {"email": "agent@example.test", "name": "Andy Agent"}
    assert assigned["status"] == "open"
    assert refs(desk.andy("ticket", "list", "--status", "open", "--json")) == [second, first]

    assert (
        ok(desk.andy("ticket", "status", first, "pending")).stdout == f"{first} is now pending.\n"
    )
    assert data(desk.rita("ticket", "show", first, "--json"))["status"] == "pending"
    # The customer's answer brings the ticket back to the agents.
    ok(desk.rita("ticket", "comment", first, "-m", "Tray 2."))
    assert data(desk.rita("ticket", "show", first, "--json"))["status"] == "open"


def test_an_internal_note_never_reaches_the_customer(desk):
    ref = submit(desk.rita, "Printer prints blank pages")
    result = desk.andy("ticket", "comment", ref, "--internal", "--message", "Toner sensor fault.")
    assert ok(result).stdout == f"Added internal note to {ref}.\n"
    ok(desk.andy("ticket", "comment", ref, "--message", "Which tray do you print from?"))

    for customer in (desk.rita, desk.paula):
        shown = ok(customer("ticket", "show", ref, "--json")).stdout
        assert "Toner sensor" not in shown
        ticket = json.loads(shown)
        assert [c["body"] for c in ticket["comments"]] == ["Which tray do you print from?"]
        assert "internal_note" not in {e["kind"] for e in ticket["events"]}
        text = ok(customer("ticket", "show", ref)).stdout
        assert "Toner sensor" not in text
        assert "[internal]" not in text

    agent_view = data(desk.andy("ticket", "show", ref, "--json"))
    assert [(c["body"], c["visibility"]) for c in agent_view["comments"]] == [
        ("Toner sensor fault.", "internal"),
        ("Which tray do you print from?", "public"),
    ]
    assert "[internal]" in ok(desk.andy("ticket", "show", ref)).stdout
    err = fails(desk.rita("ticket", "comment", ref, "--internal", "-m", "Psst."), 1)
    assert "Only agents may write internal notes" in err


# -- refusals: exit 1 ---------------------------------------------------------------------


def test_a_ticket_you_may_not_see_looks_like_one_that_does_not_exist(desk):
    ref = submit(desk.rita, "Salary question", "--private")
    missing = fails(desk.otto("ticket", "show", "HD-999"), 1)
    assert missing == "Error: No such ticket: HD-999.\n"
    for outsider in (desk.otto, desk.paula):  # another organization; a power user, but private
        assert fails(outsider("ticket", "show", ref), 1) == f"Error: No such ticket: {ref}.\n"
        err = fails(outsider("ticket", "comment", ref, "-m", "Hello?"), 1)
        assert err == f"Error: No such ticket: {ref}.\n"
        assert json_error(outsider("ticket", "show", ref, "--json"), 1) == {
            "code": "not_found",
            "message": f"No such ticket: {ref}.",
            "details": {"reference": ref},
        }
    assert json_error(desk.otto("ticket", "show", "HD-999", "--json"), 1) == {
        "code": "not_found",
        "message": "No such ticket: HD-999.",
        "details": {"reference": "HD-999"},
    }
    assert [c["body"] for c in data(desk.rita("ticket", "show", ref, "--json"))["comments"]] == []


@pytest.mark.parametrize(
    ("who", "args", "message"),
    [
        ("rita", ("ticket", "assign", "HD-1", "me"), "Only agents may assign tickets."),
        ("rita", ("user", "list"), "Only agents may list users."),
        ("rita", ("org", "list"), "Only agents may list organizations."),
        ("andy", ("org", "create", "Initech"), "Only admins may manage organizations."),
        ("sheila", ("ticket", "close", "HD-1"), "Only the requester or an agent may close it."),
    ],
)
def test_not_allowed_exits_1(desk, who, args, message):
    submit(desk.rita, "Printer prints blank pages")
    ok(desk.rita("ticket", "share", "HD-1", "shared@acme.test"))
    assert fails(getattr(desk, who)(*args), 1) == f"Error: {message}\n"
    error = json_error(getattr(desk, who)(*args, "--json"), 1)
    assert (error["code"], error["message"]) == ("permission_denied", message)
    assert data(desk.rita("ticket", "show", "HD-1", "--json"))["status"] == "new"


def test_an_invalid_transition_names_the_current_status_and_the_way_out(desk):
    ref = submit(desk.rita, "Printer prints blank pages")
    err = fails(desk.andy("ticket", "status", ref, "resolved"), 1)
    assert "from new to resolved" in err
    assert "open, closed" in err
    error = json_error(desk.andy("ticket", "status", ref, "resolved", "--json"), 1)
    assert error["code"] == "invalid_transition"
    assert error["details"] == {
        "from": "new",
        "to": "resolved",
        "allowed": ["open", "closed"],
        "reference": "HD-1",
    }
    # A customer may not open it, and is told what they may do.
    err = fails(desk.rita("ticket", "status", ref, "open"), 1)
    assert "from new to open" in err
    assert "closed" in err
    assert data(desk.rita("ticket", "show", ref, "--json"))["status"] == "new"


# -- usage errors: exit 2 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ticket", "list", "--colour"), "No such option: --colour"),
        (("ticket", "list", "--status", "done"), "'done'"),
        (("ticket", "close", "HD-1", "--rating", "9"), "--rating"),
        (("ticket", "list", "--mine", "--org", "Acme"), "Choose one of --mine and --org."),
        (("ticket", "comment", "HD-1"), "--message"),
        (("ticket", "show"), "Missing argument"),
        (("ticket", "submit", "--type", "incident", "--title", "x", "--attach", "nope"), "nope"),
    ],
)
def test_usage_errors_exit_2(desk, args, message):
    submit(desk.rita, "Printer prints blank pages")
    assert message in fails(desk.rita(*args), 2)
    ticket = data(desk.rita("ticket", "show", "HD-1", "--json"))
    assert (ticket["status"], ticket["comments"]) == ("new", [])
    assert data(desk.rita("ticket", "list", "--json"))["total"] == 1


@pytest.mark.parametrize(
    ("who", "args", "flag"),
    [
        ("paula", ("ticket", "search", "--from", "31/01/2026"), "--from"),
        ("paula", ("ticket", "search", "printer", "--to", "2026-02-30"), "--to"),
        ("paula", ("ticket", "search", "--from", "2026-1-5"), "--from"),
        ("andy", ("report", "satisfaction", "--from", "yesterday"), "--from"),
        ("andy", ("report", "logins", "--to", "2026-13-01"), "--to"),
        ("andy", ("account", "update", "--language", "de"), "--language"),
        ("andy", ("account", "update", "--date-format", "uk"), "--date-format"),
        ("anyone", ("signup", "new@acme.test", "--name", "New", "--language", "de"), "--language"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_whichever_the_option(desk, who, args, flag):
    """A bad --from is as much a bad option value as a bad --language: exit 2, nothing sent."""
    run = desk.admin if who == "anyone" else getattr(desk, who)
    assert f"Invalid value for '{flag}'" in fails(run(*args), 2)
    profile = data(desk.andy("account", "show", "--json"))
    assert (profile["language"], profile["date_format"]) == ("en", "iso")


# -- a failed command changes nothing -----------------------------------------------------


def test_an_oversized_attachment_leaves_no_ticket(desk, tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAX_ATTACHMENT_SIZE", "1000")
    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_bytes(b"s" * 1000)
    big.write_bytes(b"b" * 5000)

    args = ("ticket", "submit", "--type", "incident", "--title", "Too big")
    err = fails(desk.rita(*args, "--attach", str(small), "--attach", str(big)), 1)
    assert "1000 bytes" in err
    assert data(desk.rita("ticket", "list", "--json"))["total"] == 0
    assert data(desk.andy("ticket", "list", "--json"))["total"] == 0

    # At the limit is fine.
    ok(desk.rita(*args, "--attach", str(small)))
    assert data(desk.rita("ticket", "list", "--json"))["total"] == 1


def test_an_oversized_attachment_leaves_no_file_in_storage(desk, tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAX_ATTACHMENT_SIZE", "1000")
    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_bytes(b"s" * 1000)
    big.write_bytes(b"b" * 5000)

    args = ("ticket", "submit", "--type", "incident", "--title", "Too big")
    fails(desk.rita(*args, "--attach", str(small), "--attach", str(big)), 1)

    # No ticket and no attachment row: no stored file may be left behind either.
    storage = tmp_path / "data" / "attachments"
    assert [p.name for p in storage.rglob("*") if p.is_file()] == []


# -- root options -------------------------------------------------------------------------


def test_verbose_flags_go_before_the_command(desk):
    quiet = ok(desk.andy("ticket", "list"))
    for flag in ("-v", "-vv", "--verbose"):
        result = ok(desk.andy(flag, "ticket", "list"))
        assert result.stdout == quiet.stdout == "No tickets.\n"
    assert "GET /tickets" in ok(desk.andy("-vv", "ticket", "list")).stderr
    assert "GET /tickets" not in quiet.stderr
    assert "No such option: -v" in fails(desk.andy("ticket", "list", "-v"), 2)


def test_init_keeps_the_local_admins_token_for_the_local_database(cli, monkeypatch):
    monkeypatch.setenv("HELPDESK_URL", "http://127.0.0.1:9")  # a server for other commands
    result = cli("init", "--admin-email", "admin@example.test", "--password-stdin", input=PASSWORD)
    assert result.exit_code == 0, result.output
    assert "this initialised the local database, not http://127.0.0.1:9" in result.stderr
    monkeypatch.delenv("HELPDESK_URL")
    whoami = cli("whoami", "--json")
    assert whoami.exit_code == 0, whoami.output
    assert json.loads(whoami.stdout)["email"] == "admin@example.test"

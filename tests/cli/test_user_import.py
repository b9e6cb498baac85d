"""`helpdesk user import` and `helpdesk user export`, run as a user would run them.

Every refusal is checked twice: the exit code and message, and that the database (users,
memberships, the outbox of emails) is exactly as it was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpdesk.db import database
from helpdesk.models import Membership, Organization, OutboxMessage, User
from helpdesk.services import api_tokens, users

HEADER = "email,name,organization,role,language,phone"
VALID = f"""{HEADER}
sam@initech.test,Sam Carter,Acme,user,fr,+41 44 123 45 67
pat@initech.test,Pat Lee,Acme,power,en,
pat@initech.test,Pat Lee,Globex,user,en,
nora@initech.test,Nora No-Org,,,en,
"""
# Line 1 is the header; the name on line 4 is quoted over two physical lines (4 and 5).
INVALID = f"""{HEADER}
good@initech.test,Good Row,Acme,user,en,
not-an-email,Bad Email,Acme,user,en,
"two@initech.test","Two
Lines",Acme,user,en,
nowhere@initech.test,Unknown Org,Initech,user,en,
boss@initech.test,Bad Role,Acme,admin,en,
german@initech.test,Bad Language,Acme,user,de,
nameless@initech.test,,Acme,user,en,
good@initech.test,Good Row,Acme,user,en,
good@initech.test,Someone Else,Globex,user,en,
agent@example.test,Andy Agent,Acme,user,en,
fine@initech.test,Fine Row,,,en,
"""
INVALID_LINES = [
    "line 3 (not-an-email): 'not-an-email' is not an email address.",
    "line 4 (two@initech.test): name must be one line, without control characters.",
    "line 6 (nowhere@initech.test): No organization named 'Initech'.",
    "line 7 (boss@initech.test): role must be one of: user, power (got 'admin').",
    "line 8 (german@initech.test): language must be one of: en, fr, it, cs (got 'de').",
    "line 9 (nameless@initech.test): name is required.",
    "line 10 (good@initech.test): good@initech.test in Acme duplicates line 2.",
    "line 11 (good@initech.test): name 'Someone Else' conflicts with line 2 ('Good Row').",
    "line 12 (agent@example.test): agent@example.test is an agent; only customers can be imported.",
]


# -- helpers ------------------------------------------------------------------------------


def ok(result):
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def fails(result, code: int) -> str:
    """Failed cleanly with `code`: nothing on stdout, the reason on stderr."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    return result.stderr


def state() -> dict:
    """Everything an import may change: users, memberships, the outbox."""
    with database.connection_context():
        return {
            "users": sorted(
                (u.email, u.name, u.kind, u.language, u.phone, u.password_hash is None)
                for u in User.select()
            ),
            "memberships": sorted(
                (m.user.email, m.organization.name, m.role)
                for m in Membership.select(Membership, User, Organization)
                .join(User)
                .switch(Membership)
                .join(Organization)
            ),
            "outbox": sorted((m.kind, m.to_address) for m in OutboxMessage.select()),
        }


def invitations() -> list[str]:
    """Who was invited among the imported (@initech.test) addresses."""
    with database.connection_context():
        query = OutboxMessage.select().where(OutboxMessage.kind == "invite")
        return sorted(m.to_address for m in query if m.to_address.endswith("@initech.test"))


def token_for(email: str) -> str:
    with database.connection_context():
        return api_tokens.issue_token(users.get_user_by_email(email), name="test")


@pytest.fixture
def desk(installed, tmp_path):
    """Acme and Globex, Rita (an Acme customer), Andy (an agent), Mona (a customer manager)."""
    admin = installed
    ok(admin("org", "create", "Acme"))
    ok(admin("org", "create", "Globex"))
    ok(admin("user", "register", "req@acme.test", "--name", "Rita Requester", "--org", "Acme"))
    ok(admin("user", "register", "agent@example.test", "--name", "Andy Agent", "--agent"))
    ok(
        admin(
            "user",
            "register",
            "mona@example.test",
            "--name",
            "Mona Manager",
            "--agent",
            "--manage-customers",
        )
    )

    def as_user(email):
        token = token_for(email)
        return lambda *args, **kw: installed(*args, env={"HELPDESK_TOKEN": token}, **kw)

    def write(text: str, name: str = "customers.csv", encoding: str = "utf-8") -> str:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return str(path)

    def customer(email):
        """A customer as the admin's `helpdesk user list --json` shows them."""
        listing = json.loads(ok(admin("user", "list", "--per-page", "100", "--json")).stdout)
        return next(u for u in listing["items"] if u["email"] == email)

    return SimpleNamespace(
        customer=customer,
        admin=admin,
        andy=as_user("agent@example.test"),
        mona=as_user("mona@example.test"),
        rita=as_user("req@acme.test"),
        write=write,
        dir=tmp_path,
    )


# -- importing ----------------------------------------------------------------------------


def test_a_valid_file_creates_customers_memberships_and_invitations(desk):
    result = ok(desk.admin("user", "import", desk.write(VALID)))

    assert result.stdout == "created 4, updated 0, unchanged 0\n"
    assert result.stderr == ""
    sam = desk.customer("sam@initech.test")
    assert (sam["name"], sam["kind"], sam["language"], sam["phone"]) == (
        "Sam Carter",
        "customer",
        "fr",
        "+41 44 123 45 67",
    )
    assert sam["activated"] is False
    assert desk.customer("pat@initech.test")["organizations"] == [
        {"name": "Acme", "role": "power"},
        {"name": "Globex", "role": "user"},
    ]
    assert desk.customer("nora@initech.test")["organizations"] == []
    # One invitation per new customer, not per row.
    assert invitations() == ["nora@initech.test", "pat@initech.test", "sam@initech.test"]


def test_importing_the_same_file_again_changes_nothing(desk):
    path = desk.write(VALID)
    ok(desk.admin("user", "import", path))
    before = state()

    result = ok(desk.admin("user", "import", path))

    assert result.stdout == "created 0, updated 0, unchanged 4\n"
    assert state() == before  # no second invitation either


def test_no_invite_emails_nobody(desk):
    ok(desk.admin("user", "import", desk.write(VALID), "--no-invite"))
    assert invitations() == []
    assert desk.customer("sam@initech.test")["activated"] is False


def test_a_changed_name_or_role_is_an_update(desk):
    ok(desk.admin("user", "import", desk.write(VALID)))
    changed = (
        VALID.replace("Sam Carter", "Samantha Carter")
        .replace("Acme,power", "Acme,user")
        .replace("Nora No-Org,,,en,", "Nora No-Org,Globex,power,en,")
    )
    before = invitations()

    result = ok(desk.admin("user", "import", desk.write(changed)))

    assert result.stdout == "created 0, updated 3, unchanged 1\n"
    assert desk.customer("sam@initech.test")["name"] == "Samantha Carter"
    assert desk.customer("pat@initech.test")["organizations"][0] == {"name": "Acme", "role": "user"}
    assert desk.customer("nora@initech.test")["organizations"] == [
        {"name": "Globex", "role": "power"}
    ]
    assert invitations() == before


def test_an_existing_customer_is_updated_not_created(desk):
    path = desk.write(f"{HEADER}\nREQ@acme.test,Rita Requester,Acme,power,en,\n")
    result = ok(desk.admin("user", "import", path))
    assert result.stdout == "created 0, updated 1, unchanged 0\n"
    assert desk.customer("req@acme.test")["organizations"] == [{"name": "Acme", "role": "power"}]


def test_invalid_rows_are_all_reported_by_line_and_nothing_is_written(desk):
    before = state()

    err = fails(desk.admin("user", "import", desk.write(INVALID)), 1)

    assert err.splitlines() == [
        *INVALID_LINES,
        f"Error: 9 invalid rows in '{desk.dir / 'customers.csv'}'; nothing was imported.",
    ]
    assert state() == before


def test_invalid_rows_with_json_are_the_error_details(desk):
    before = state()

    result = desk.admin("user", "import", desk.write(INVALID), "--json")

    error = json.loads(fails(result, 1))["error"]
    assert error["code"] == "validation_failed"
    assert [r["line"] for r in error["details"]["rows"]] == [3, 4, 6, 7, 8, 9, 10, 11, 12]
    assert state() == before


def test_skip_invalid_imports_the_valid_rows_and_reports_the_others(desk):
    result = ok(desk.admin("user", "import", desk.write(INVALID), "--skip-invalid"))

    assert result.stdout == "created 2, updated 0, unchanged 0, invalid 9 skipped\n"
    assert result.stderr.splitlines() == INVALID_LINES
    assert invitations() == ["fine@initech.test", "good@initech.test"]
    assert desk.customer("good@initech.test")["organizations"] == [{"name": "Acme", "role": "user"}]

    report = json.loads(
        ok(desk.admin("user", "import", desk.write(INVALID), "--skip-invalid", "--json")).stdout
    )
    assert (report["created"], report["unchanged"], report["invalid"]) == (0, 2, 9)
    assert [r["line"] for r in report["errors"]] == [3, 4, 6, 7, 8, 9, 10, 11, 12]


def test_a_dry_run_reports_counts_and_writes_nothing(desk):
    before = state()

    result = ok(desk.admin("user", "import", desk.write(VALID), "--dry-run"))

    assert result.stdout == "created 4, updated 0, unchanged 0 (dry run: nothing was written)\n"
    assert state() == before
    report = json.loads(
        ok(desk.admin("user", "import", desk.write(VALID), "--dry-run", "--json")).stdout
    )
    assert report == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "invalid": 0,
        "errors": [],
        "dry_run": True,
    }
    assert fails(desk.admin("user", "import", desk.write(INVALID), "--dry-run"), 1)
    assert state() == before


def test_an_excel_file_with_a_byte_order_mark_and_crlf_line_ends(desk):
    text = VALID.replace("\n", "\r\n").replace(
        HEADER, "Email,Name,Organization,Role,Language,Phone"
    )
    path = desk.write(text, encoding="utf-8-sig")

    result = ok(desk.admin("user", "import", path))

    assert result.stdout == "created 4, updated 0, unchanged 0\n"
    assert desk.customer("sam@initech.test")["phone"] == "+41 44 123 45 67"


def test_columns_in_any_order_optional_ones_left_out_and_stdin(desk):
    text = (
        "name,email,organization\nSam Carter,sam@initech.test,Acme\n\n"
        "Nora No-Org,nora@initech.test,\n"
    )
    result = ok(desk.admin("user", "import", "-", input=text))
    assert result.stdout == "created 2, updated 0, unchanged 0\n"
    assert desk.customer("sam@initech.test")["organizations"] == [{"name": "Acme", "role": "user"}]
    assert desk.customer("sam@initech.test")["language"] == "en"


def test_empty_header_cells_at_the_end_are_ignored(desk):
    text = f"{HEADER},,\nsam@initech.test,Sam Carter,Acme,user,en,,,\n"
    assert ok(desk.admin("user", "import", "-", input=text)).stdout == (
        "created 1, updated 0, unchanged 0\n"
    )


def test_a_row_with_more_values_than_columns_is_an_invalid_row(desk):
    before = state()
    text = "email,name\nsam@initech.test,Sam Carter\npat@initech.test,Pat Lee,Acme\n"

    err = fails(desk.admin("user", "import", desk.write(text)), 1)

    assert err.splitlines()[0] == (
        "line 3 (pat@initech.test): 3 values, but the header names 2 columns."
    )
    assert state() == before


@pytest.mark.parametrize(
    "text,message",
    [
        ("email,name,org\na@initech.test,A,Acme\n", "Unknown column(s) in"),
        ("email,organization\na@initech.test,Acme\n", "has no name column"),
        ("name\nA\n", "has no email column"),
        ("", "has no header row"),
        ("email,name,email\na@initech.test,A,b@initech.test\n", "given twice"),
    ],
)
def test_unknown_or_missing_columns_are_usage_errors(desk, text, message):
    before = state()
    assert message in fails(desk.admin("user", "import", desk.write(text)), 2)
    assert state() == before


def test_a_missing_or_unreadable_file_is_a_usage_error(desk):
    assert "Cannot read" in fails(desk.admin("user", "import", str(desk.dir / "nope.csv")), 2)
    latin1 = desk.write(
        f"{HEADER}\nfrancois@initech.test,François,Acme,user,fr,\n", encoding="latin-1"
    )
    assert "not UTF-8" in fails(desk.admin("user", "import", latin1), 2)


# -- exporting ----------------------------------------------------------------------------


def test_export_writes_the_same_csv_and_importing_it_changes_nothing(desk):
    ok(desk.admin("user", "import", desk.write(VALID)))

    exported = ok(desk.admin("user", "export")).stdout

    assert exported.splitlines() == [
        HEADER,
        "nora@initech.test,Nora No-Org,,,en,",
        "pat@initech.test,Pat Lee,Acme,power,en,",
        "pat@initech.test,Pat Lee,Globex,user,en,",
        "req@acme.test,Rita Requester,Acme,user,en,",
        "sam@initech.test,Sam Carter,Acme,user,fr,'+41 44 123 45 67",  # quoted: formula-safe
    ]
    before = state()
    result = ok(desk.admin("user", "import", "-", input=exported))
    assert result.stdout == "created 0, updated 0, unchanged 5\n"
    assert state() == before


def test_export_to_a_file_never_overwrites_silently(desk):
    target = desk.dir / "export.csv"
    result = ok(desk.admin("user", "export", "-o", str(target)))
    assert result.stdout == f"Exported 1 row to {target}.\n"
    assert target.read_text().splitlines() == [HEADER, "req@acme.test,Rita Requester,Acme,user,en,"]

    target.write_text("keep me")
    assert "--force" in fails(desk.admin("user", "export", "-o", str(target)), 2)
    assert target.read_text() == "keep me"
    result = ok(desk.admin("user", "export", "-o", str(target), "--force", "--json"))
    assert json.loads(result.stdout) == {"path": str(target), "rows": 1}
    assert target.read_text().startswith(HEADER)


def test_export_as_json(desk):
    items = json.loads(ok(desk.admin("user", "export", "--json")).stdout)["items"]
    assert items == [
        {
            "email": "req@acme.test",
            "name": "Rita Requester",
            "organization": "Acme",
            "role": "user",
            "language": "en",
            "phone": "",
        }
    ]


# -- who may ------------------------------------------------------------------------------


def test_an_agent_with_the_permission_may_import_and_export(desk):
    result = ok(desk.mona("user", "import", desk.write(VALID)))
    assert result.stdout == "created 4, updated 0, unchanged 0\n"
    assert "sam@initech.test" in ok(desk.mona("user", "export")).stdout


@pytest.mark.parametrize("who", ["andy", "rita"])
def test_agents_without_the_permission_and_customers_are_refused(desk, who):
    before = state()
    run = getattr(desk, who)

    err = fails(run("user", "import", desk.write(VALID)), 1)
    assert "customer-management permission" in err
    assert "customer-management permission" in fails(run("user", "import", desk.write(INVALID)), 1)
    assert "customer-management permission" in fails(run("user", "export"), 1)
    assert state() == before


# -- large files --------------------------------------------------------------------------


def many_rows(count: int) -> str:
    lines = [HEADER]
    lines += [f"c{n:04}@initech.test,Customer {n},Acme,user,en," for n in range(count)]
    return "\n".join(lines) + "\n"


def test_a_large_file_imports_across_requests_without_a_progress_bar(desk):
    path = desk.write(many_rows(2500))

    result = ok(desk.admin("user", "import", path, "--no-invite"))

    # Not a terminal: the summary only, no progress bar, nothing on stderr.
    assert result.stdout == "created 2500, updated 0, unchanged 0\n"
    assert result.stderr == ""
    exported = list(csv.DictReader(io.StringIO(ok(desk.admin("user", "export")).stdout)))
    assert len([r for r in exported if r["email"].endswith("@initech.test")]) == 2500
    result = ok(desk.admin("user", "import", path))
    assert result.stdout == "created 0, updated 0, unchanged 2500\n"
    assert invitations() == []


def test_duplicates_far_apart_in_a_large_file_are_found(desk):
    before = state()
    text = many_rows(2500) + "c0000@initech.test,Someone Else,Acme,user,en,\n"

    err = fails(desk.admin("user", "import", desk.write(text)), 1)

    assert err.splitlines()[:2] == [
        "line 2502 (c0000@initech.test): c0000@initech.test in Acme duplicates line 2.",
        "line 2502 (c0000@initech.test): name 'Someone Else' conflicts with line 2 ('Customer 0').",
    ]
    assert state() == before


HELPDESK = Path(sys.executable).parent / "helpdesk"


@pytest.mark.skipif(not HELPDESK.exists(), reason="the console script is not installed")
def test_a_terminal_sees_a_progress_bar(desk):
    """The installed `helpdesk` with its stdout on a pseudo-terminal, as in a shell."""
    path = desk.write(many_rows(1500))
    primary, secondary = pty.openpty()
    with subprocess.Popen(
        [str(HELPDESK), "user", "import", path, "--no-invite"],
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "100"},
    ) as process:
        os.close(secondary)
        output = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        os.close(primary)
        assert process.wait(timeout=60) == 0, process.stderr.read()
    text = output.decode()
    assert "Checking" in text and "Importing" in text
    assert "[####" in text
    assert text.rstrip().endswith("created 1500, updated 0, unchanged 0")


def test_export_quotes_cells_a_spreadsheet_would_run_and_import_reads_them_back(
    installed, tmp_path
):
    """A customer named like a formula is exported quoted, and the round trip changes nothing."""
    cli = installed
    assert cli("org", "create", "Acme").exit_code == 0
    assert (
        cli(
            "user",
            "register",
            "eve@acme.test",
            "--name",
            '=HYPERLINK("x")',
            "--org",
            "Acme",
            "--password-stdin",
            input="eve-password-42\n",
        ).exit_code
        == 0
    )
    out = tmp_path / "customers.csv"
    assert cli("user", "export", "-o", str(out)).exit_code == 0
    assert "'=HYPERLINK" in out.read_text()
    result = cli("user", "import", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["created"], report["updated"]) == (0, 0)

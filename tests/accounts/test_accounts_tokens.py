"""API tokens for scripts: created once, listed without their value, read-only, expiring."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from account_helpers import (
    ADMIN,
    REVOKED,
    as_user,
    connection,
    data,
    expire_api_token,
    fails,
    ok,
    token_for,
)
from conftest import hold_write_lock, run_bounded

from helpdesk.models import AccessLog, ApiToken, Comment, Ticket, User, utcnow

NOTE = re.compile(
    r"^Token (\d+) 'ci' \(read-only, expires (\d{4}-\d\d-\d\d \d\d:\d\d)\)\. "
    r"It is shown only now; use it as HELPDESK_TOKEN\.\n$"
)
TOKEN_KEYS = {
    "id",
    "name",
    "read_only",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
    "expired",
}
READ_ONLY = "Error: This token is read-only.\n"


def rows(stdout: str) -> list[list[str]]:
    """A plain table as lists of cells, header first, the dashed rule left out."""
    return [
        re.split(r"\s{2,}", line.strip())
        for line in stdout.splitlines()
        if line.strip() and not set(line) <= {"-", " "}
    ]


@pytest.fixture
def desk(installed):
    """Rita, a customer of Acme, running commands with a token of her own (named laptop)."""
    ok(installed("org", "create", "Acme"))
    ok(installed("user", "register", "rita@acme.test", "--name", "Rita", "--org", "Acme"))
    return SimpleNamespace(
        cli=installed, rita=as_user(installed, token_for("rita@acme.test", "laptop"))
    )


def create_ci_token(run) -> tuple[str, int]:
    """`token create --name ci --expires 90d --read-only`: the token, and its id."""
    result = ok(run("token", "create", "--name", "ci", "--expires", "90d", "--read-only"))
    [token] = result.stdout.splitlines()
    assert re.fullmatch(r"hd_[A-Za-z0-9_-]{43}", token)
    match = NOTE.match(result.stderr)
    assert match, result.stderr
    expires = datetime.strptime(match.group(2), "%Y-%m-%d %H:%M")
    assert abs(expires - (utcnow() + timedelta(days=90))) < timedelta(minutes=2)
    return token, int(match.group(1))


def listed(run) -> dict[str, list[str]]:
    """`token list` as rows by token name (the header checked)."""
    table = rows(ok(run("token", "list")).stdout)
    assert table[0] == ["Id", "Name", "State", "Created", "Last used", "Expires"]
    return {row[1]: row for row in table[1:]}


def test_a_created_token_is_printed_once_and_never_listed(desk):
    token, token_id = create_ci_token(desk.rita)
    listing = ok(desk.rita("token", "list"))
    assert token not in listing.stdout
    tokens = listed(desk.rita)
    assert set(tokens) == {"laptop", "ci"}
    ci_id, _, state, _, last_used, expires = tokens["ci"]
    assert (ci_id, state, last_used) == (str(token_id), "read-only", "-")
    assert expires.startswith((utcnow() + timedelta(days=90)).strftime("%Y-%m-%d"))
    assert tokens["laptop"][2] == "read-write"
    assert tokens["laptop"][5] == "-"  # no expiry

    result = desk.rita("token", "list", "--json")
    assert token not in ok(result).stdout
    items = data(result)["items"]
    assert all(set(t) == TOKEN_KEYS for t in items)
    [ci] = [t for t in items if t["name"] == "ci"]
    assert (ci["id"], ci["read_only"], ci["revoked_at"]) == (token_id, True, None)


def test_the_token_value_is_stored_hashed(desk):
    token, token_id = create_ci_token(desk.rita)
    with connection():
        stored = ApiToken.get_by_id(token_id).token_hash
    assert token not in stored and len(stored) == 64


def test_a_read_only_token_reads_but_never_writes(desk):
    ok(desk.rita("ticket", "submit", "--type", "question", "--title", "Where is my invoice?"))
    token, _ = create_ci_token(desk.rita)
    script = as_user(desk.cli, token)
    [ticket] = data(script("ticket", "list", "--json"))["items"]
    ref = ticket["reference"]
    ok(script("ticket", "list"))
    ok(script("ticket", "show", ref))
    ok(script("whoami"))
    ok(script("token", "list"))

    for args in [
        ("ticket", "submit", "--type", "question", "--title", "Another one"),
        ("ticket", "comment", ref, "--message", "Hello?"),
        ("ticket", "close", ref),
        ("ticket", "notify", ref, "off"),
        ("account", "update", "--name", "Someone else"),
        ("token", "create", "--name", "escalate"),
        ("token", "revoke", "laptop"),
    ]:
        assert fails(script(*args), 1) == READ_ONLY, args

    # Nothing changed.
    [after] = data(desk.rita("ticket", "list", "--json"))["items"]
    assert after["status"] == ticket["status"]
    shown = data(desk.rita("ticket", "show", ref, "--json"))
    assert shown["comments"] == []
    assert data(desk.rita("whoami", "--json"))["name"] == "Rita"
    assert [t["name"] for t in data(desk.rita("token", "list", "--json"))["items"]] == [
        "laptop",
        "ci",
    ]

    # It may still log itself out, and is dead after.
    assert ok(script("logout")).stdout == "Logged out.\n"
    assert REVOKED in fails(script("ticket", "list"), 4)
    ok(desk.rita("whoami"))


def read_only_headers(client, headers) -> dict[str, str]:
    """Create a read-only token with `headers`; headers that use it."""
    resp = client.post("/api/v1/tokens", json={"name": "ci", "read_only": True}, headers=headers)
    assert resp.status_code == 201, resp.json
    assert resp.json["read_only"] is True
    return {"Authorization": f"Bearer {resp.json['token']}"}


def test_the_api_refuses_every_write_with_a_read_only_token(world, client):
    ticket = world.ticket(status="open")
    ref = ticket.reference
    customer = read_only_headers(client, world.headers(world.requester))
    agent = read_only_headers(client, world.headers(world.agent))
    admin = read_only_headers(client, world.headers(world.admin))

    for headers, path in [
        (customer, "/api/v1/tickets"),
        (customer, f"/api/v1/tickets/{ref}"),
        (customer, f"/api/v1/tickets/{ref}/comments"),
        (customer, "/api/v1/account"),
        (customer, "/api/v1/tokens"),
        (agent, "/api/v1/users"),
        (agent, "/api/v1/reports/logins"),
    ]:
        assert client.get(path, headers=headers).status_code == 200, path

    writes = [
        (customer, "POST", "/api/v1/tickets", {"type": "question", "title": "More"}),
        (customer, "POST", f"/api/v1/tickets/{ref}/comments", {"body": "Any news?"}),
        (customer, "POST", f"/api/v1/tickets/{ref}/shares", {"users": ["col@acme.test"]}),
        (customer, "POST", f"/api/v1/tickets/{ref}/close", {}),
        (customer, "POST", f"/api/v1/tickets/{ref}/notifications", {"enabled": False}),
        (customer, "PATCH", "/api/v1/account", {"name": "Mallory"}),
        (
            customer,
            "POST",
            "/api/v1/account/password",
            {"current_password": "x", "new_password": "a-new-password-1"},
        ),
        (customer, "POST", "/api/v1/tokens", {"name": "full", "read_only": False}),
        (customer, "POST", "/api/v1/tokens/revoke", {"token": "ci"}),
        (agent, "POST", f"/api/v1/tickets/{ref}/assign", {"assignee": "me"}),
        (agent, "POST", f"/api/v1/tickets/{ref}/transition", {"to": "pending"}),
        (admin, "POST", "/api/v1/organizations", {"name": "Initech"}),
        (admin, "POST", "/api/v1/users", {"email": "new@acme.test", "name": "New"}),
        (admin, "POST", "/api/v1/users/deactivate", {"email": "req@acme.test"}),
    ]
    for headers, method, path, body in writes:
        resp = client.open(path, method=method, json=body, headers=headers)
        assert resp.status_code == 403, (method, path, resp.json)
        assert resp.json["error"] == {
            "code": "permission_denied",
            "message": "This token is read-only.",
            "details": {"read_only": True},
        }

    after = Ticket.get_by_id(ticket.id)
    assert (after.status, after.assignee_id) == ("open", None)
    assert Comment.select().where(Comment.ticket == ticket).count() == 0
    assert User.get_by_id(world.requester.id).name == "Rita Requester"
    assert User.get_by_id(world.requester.id).active
    assert [t.name for t in ApiToken.select().where(ApiToken.user == world.requester)] == [
        "login",
        "ci",
    ]  # no new token either

    assert client.post("/api/v1/auth/logout", headers=customer).status_code == 200
    assert client.get("/api/v1/tickets", headers=customer).status_code == 401


def test_an_expired_token_is_refused(desk, client):
    token, token_id = create_ci_token(desk.rita)
    ok(as_user(desk.cli, token)("whoami"))
    expire_api_token(token_id)
    assert REVOKED in fails(as_user(desk.cli, token)("whoami"), 4)
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "authentication_required"


def test_token_list_shows_an_expired_token_as_expired(desk):
    _, token_id = create_ci_token(desk.rita)
    expire_api_token(token_id)
    assert listed(desk.rita)["ci"][2] == "expired"


def test_tokens_are_revoked_by_name_or_by_id(desk):
    ci, ci_id = create_ci_token(desk.rita)
    deploy = ok(desk.rita("token", "create", "--name", "deploy")).stdout.strip()
    deploy_id = int(listed(desk.rita)["deploy"][0])

    assert ok(desk.rita("token", "revoke", "ci")).stdout == f"Revoked {ci_id} 'ci'.\n"
    assert REVOKED in fails(as_user(desk.cli, ci)("whoami"), 4)
    ok(as_user(desk.cli, deploy)("whoami"))

    result = desk.rita("token", "revoke", str(deploy_id))
    assert ok(result).stdout == f"Revoked {deploy_id} 'deploy'.\n"
    assert REVOKED in fails(as_user(desk.cli, deploy)("whoami"), 4)

    tokens = listed(desk.rita)
    assert (tokens["ci"][2], tokens["deploy"][2], tokens["laptop"][2]) == (
        "revoked",
        "revoked",
        "read-write",
    )
    again = fails(desk.rita("token", "revoke", "ci"), 1)
    assert "You have no active token 'ci'." in again


def test_nobody_revokes_someone_elses_token(desk):
    _, rita_token_id = create_ci_token(desk.rita)
    admin = as_user(desk.cli, token_for(ADMIN))
    error = fails(admin("token", "revoke", str(rita_token_id)), 1)
    assert f"You have no active token '{rita_token_id}'." in error
    assert listed(desk.rita)["ci"][2] == "read-only"


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("0d", "expires must be in the future."),
        ("yesterday", "expires must be a date like 2026-01-31 (got 'yesterday')."),
        ("2000-01-01", "expires must be in the future."),
        ("-5d", "expires must be a date like"),
    ],
)
def test_a_bad_expiry_is_refused_and_creates_nothing(desk, expires, message):
    result = desk.rita("token", "create", "--name", "ci", "--expires", expires)
    assert message in fails(result, 1)
    assert set(listed(desk.rita)) == {"laptop"}


def test_an_expiry_date_is_accepted(desk):
    result = ok(desk.rita("token", "create", "--name", "yearly", "--expires", "2099-01-31"))
    assert "(read-write, expires 2099-01-31 00:00)" in result.stderr
    assert listed(desk.rita)["yearly"][5] == "2099-01-31 00:00"


# -- revoking by a value no token can have (issue 7, defect 8) -------------------------------


@pytest.mark.parametrize(
    "value",
    [2**63, 2**64, 10**30, "9223372036854775808", "99999999999999999999999", "²", "-1", 0],
)
def test_revoking_an_id_no_token_can_have_is_not_found(world, client, value):
    headers = world.headers(world.requester)
    resp = client.post("/api/v1/tokens/revoke", json={"token": value}, headers=headers)
    assert resp.status_code == 404, resp.json
    assert resp.json["error"]["code"] == "not_found"
    assert client.get("/api/v1/account", headers=headers).status_code == 200  # nothing revoked


@pytest.mark.parametrize("value", [1.5, 1e308, True, [1], {"id": 1}, "x" * 101])
def test_a_token_that_is_neither_an_id_nor_a_name_is_refused(world, client, value):
    headers = world.headers(world.requester)
    resp = client.post("/api/v1/tokens/revoke", json={"token": value}, headers=headers)
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["code"] == "validation_failed"
    assert resp.json["error"]["details"]["field"] == "token"


def test_the_cli_says_an_absurd_id_is_not_a_token(desk):
    error = fails(desk.rita("token", "revoke", "9223372036854775808"), 1)
    assert error == "Error: You have no active token '9223372036854775808'.\n"


# -- a token's last use never makes a read wait (defect 2, token part) -----------------------


def test_a_read_with_a_token_does_not_wait_for_a_writer(world, client, db):
    """Another connection holds the write lock (SQLite's, or every table on PostgreSQL): a GET
    with a token whose use is due to be recorded still answers, well within the busy timeout."""
    headers = world.headers(world.requester)  # never used: its first use is due to be recorded
    with hold_write_lock():
        resp = run_bounded(lambda: client.get("/api/v1/account", headers=headers), seconds=10)
        assert resp.status_code == 200, resp.json
        assert resp.json["email"] == world.requester.email
    # The use was skipped, not lost for good: the next request records it.
    [token] = client.get("/api/v1/tokens", headers=headers).json["items"]
    assert token["last_used_at"] is not None


def test_a_token_use_is_recorded_at_most_once_a_minute(world, client):
    headers = world.headers(world.requester)
    for _ in range(3):
        assert client.get("/api/v1/account", headers=headers).status_code == 200
    token_uses = AccessLog.select().where(
        (AccessLog.user == world.requester) & (AccessLog.event == "token")
    )
    assert token_uses.count() == 1

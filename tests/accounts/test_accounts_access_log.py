"""The access log: logins, failures, activations, password changes and token uses."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from account_helpers import (
    ADMIN,
    CLI_AGENT,
    activate,
    as_user,
    data,
    deliver_mail,
    fails,
    ok,
    set_password,
    token_for,
    token_in,
)

from helpdesk.models import utcnow
from helpdesk.services.passwords import hash_password

RITA = "rita@acme.test"
NINA = "nina@acme.test"
ANDY = "andy@example.test"
RITA_PASSWORD = "rita-password-42"
ENTRY_KEYS = {"at", "email", "name", "event", "outcome", "address", "user_agent"}


def report(run, *args: str) -> list[dict]:
    result = data(run("report", "logins", "--per-page", "100", "--json", *args))
    assert result["total"] == len(result["items"])
    for entry in result["items"]:
        assert set(entry) == ENTRY_KEYS
    return result["items"]


def events(entries: list[dict]) -> list[tuple[str, str, str]]:
    return [(e["event"], e["outcome"], e["email"]) for e in entries]


@pytest.fixture
def desk(installed, mailbox):
    """A morning at Acme: Rita logs in, mistypes, changes her password; Nina activates."""
    cli = installed
    ok(cli("org", "create", "Acme"))
    ok(cli("user", "register", RITA, "--name", "Rita", "--org", "Acme"))
    ok(cli("user", "register", NINA, "--name", "Nina", "--org", "Acme"))
    ok(cli("user", "register", ANDY, "--name", "Andy", "--agent"))
    invitations = {m["To"].addresses[0].addr_spec: m for m in deliver_mail(mailbox)}
    set_password(RITA, RITA_PASSWORD)
    andy = as_user(cli, token_for(ANDY))

    ok(cli("login", RITA, "--password-stdin", input=RITA_PASSWORD + "\n"))
    ok(cli("whoami"))
    fails(cli("login", RITA, "--password-stdin", input="not-her-password\n"), 4)
    new_password = "rita-new-password-7"
    change = f"{RITA_PASSWORD}\n{new_password}\n{new_password}\n"
    ok(cli("account", "password", "--password-stdin", input=change))
    token = token_in(invitations[NINA], "activate")
    ok(activate(cli, token, "nina-password-42"))
    return SimpleNamespace(cli=cli, andy=andy)


def test_the_log_lists_every_kind_of_event_with_address_and_client(desk):
    entries = report(desk.andy)
    seen = events(entries)
    for expected in [
        ("login", "success", RITA),
        ("login", "failure", RITA),
        ("token", "success", RITA),
        ("password_change", "success", RITA),
        ("activation", "success", NINA),
    ]:
        assert expected in seen, expected
    for entry in entries:
        assert entry["address"] == "127.0.0.1"
        assert entry["user_agent"] == CLI_AGENT
        assert entry["at"].endswith("+00:00")
    assert [e["name"] for e in entries if e["event"] == "activation"] == ["Nina"]
    # Newest first: the activation came after Rita's login.
    assert seen.index(("activation", "success", NINA)) < seen.index(("login", "success", RITA))


def test_the_log_as_a_table(desk):
    table = ok(desk.andy("report", "logins", "--user", RITA)).stdout
    lines = table.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == [
        "When",
        "User",
        "Event",
        "Outcome",
        "Address",
        "Client",
    ]
    assert any(
        re.search(rf"{RITA}\s+login\s+failure\s+127\.0\.0\.1\s+{re.escape(CLI_AGENT)}", line)
        for line in lines
    )


def test_a_token_use_is_logged_once_a_minute(desk):
    ok(desk.cli("logout"))
    script = as_user(desk.cli, token_for(RITA, "script"))

    def token_uses() -> int:
        return events(report(desk.andy, "--user", RITA)).count(("token", "success", RITA))

    before = token_uses()
    ok(script("whoami"))
    ok(script("ticket", "list"))
    ok(script("account", "show"))
    assert token_uses() == before + 1


def test_the_log_filters_by_user_organization_and_dates(desk):
    everything = report(desk.andy)
    rita = report(desk.andy, "--user", RITA)
    assert rita and {e["email"] for e in rita} == {RITA}
    assert rita == [e for e in everything if e["email"] == RITA]
    assert report(desk.andy, "--user", RITA.upper()) == rita

    acme = report(desk.andy, "--org", "Acme")
    assert {e["email"] for e in acme} == {RITA, NINA}
    assert {e["email"] for e in everything} >= {RITA, NINA, ANDY}

    today = utcnow().date()
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)
    assert report(desk.andy, "--from", str(tomorrow)) == []
    assert report(desk.andy, "--to", str(yesterday)) == []
    assert len(report(desk.andy, "--from", str(today), "--to", str(today))) >= len(everything)
    assert report(desk.andy, "--user", RITA, "--from", str(yesterday), "--to", str(today)) == (
        report(desk.andy, "--user", RITA)
    )

    assert ok(desk.andy("report", "logins", "--from", str(tomorrow))).stdout == "No entries.\n"
    assert "'soon' is not a date like" in fails(desk.andy("report", "logins", "--from", "soon"), 2)
    assert "No organization" in fails(desk.andy("report", "logins", "--org", "Nowhere"), 1)


def test_customers_may_not_see_the_log(desk):
    rita = as_user(desk.cli, token_for(RITA))
    assert fails(rita("report", "logins"), 1) == "Error: Only agents may see reports.\n"
    ok(as_user(desk.cli, token_for(ADMIN))("report", "logins"))


def test_the_api_records_the_client_address_and_user_agent(world, client):
    world.requester.password_hash = hash_password(RITA_PASSWORD)
    world.requester.save()
    for password in ("wrong-password-1", RITA_PASSWORD):
        client.post(
            "/api/v1/auth/login",
            json={"email": "Req@Acme.test", "password": password},
            headers={"User-Agent": "acme-portal/2.1"},
            environ_base={"REMOTE_ADDR": "10.1.2.3"},
        )
    client.post(
        "/api/v1/auth/login",
        json={"email": "ghost@acme.test", "password": "whatever-1"},
        headers={"User-Agent": "curl/8.5.0"},
        environ_base={"REMOTE_ADDR": "10.4.5.6"},
    )
    resp = client.get("/api/v1/reports/logins", headers=world.headers(world.agent))
    assert resp.status_code == 200
    entries = [
        (e["event"], e["outcome"], e["email"], e["name"], e["address"], e["user_agent"])
        for e in resp.json["items"]
        if e["event"] == "login"
    ]
    assert entries == [
        ("login", "failure", "ghost@acme.test", None, "10.4.5.6", "curl/8.5.0"),
        ("login", "success", "req@acme.test", "Rita Requester", "10.1.2.3", "acme-portal/2.1"),
        ("login", "failure", "req@acme.test", "Rita Requester", "10.1.2.3", "acme-portal/2.1"),
    ]
    assert (
        client.get("/api/v1/reports/logins", headers=world.headers(world.requester)).status_code
        == 403
    )

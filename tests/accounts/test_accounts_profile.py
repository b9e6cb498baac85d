"""One's own profile: showing it, changing it, and changing one's email address."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from account_helpers import (
    ADMIN,
    BASE_URL,
    INVALID_LINK,
    WRONG_LOGIN,
    as_user,
    confirm_email,
    data,
    deliver_mail,
    fails,
    ok,
    recipient,
    set_password,
    text_of,
    token_for,
    token_in,
    user,
)

from helpdesk.models import utcnow

RITA = "rita@acme.test"
NEW_EMAIL = "rita.new@acme.test"
RITA_PASSWORD = "rita-password-42"
RITA_API = "req@acme.test"  # the requester of the `world` fixture


def fields(stdout: str) -> dict[str, str]:
    """`account show` as label -> value."""
    pairs = (line.split(":", 1) for line in stdout.splitlines() if ":" in line)
    return {label.strip(): value.strip() for label, value in pairs}


@pytest.fixture
def desk(installed, mailbox):
    """Rita, a customer of Acme, logged in through the CLI, with one ticket."""
    cli = installed
    ok(cli("org", "create", "Acme"))
    ok(cli("user", "register", RITA, "--name", "Rita", "--org", "Acme"))
    set_password(RITA, RITA_PASSWORD)
    ok(cli("login", RITA, "--password-stdin", input=RITA_PASSWORD + "\n"))
    ok(cli("ticket", "submit", "--type", "question", "--title", "Where is my invoice?"))
    deliver_mail(mailbox)  # her invitation, and the mail about the ticket
    return SimpleNamespace(cli=cli, mailbox=mailbox, admin=as_user(cli, token_for(ADMIN)))


def test_account_show(desk):
    shown = fields(ok(desk.cli("account", "show")).stdout)
    today = utcnow().strftime("%Y-%m-%d")
    assert shown == {
        "Email": RITA,
        "Name": "Rita",
        "Kind": "customer",
        "Phone": "-",
        "Language": "en",
        "Date format": "iso",
        "Signs in with": "local",
        "Organizations": "Acme (user)",
        "Since": shown["Since"],
    }
    assert re.fullmatch(rf"{today} \d\d:\d\d", shown["Since"])

    profile = data(desk.cli("account", "show", "--json"))
    assert profile["email"] == RITA
    assert (profile["date_format"], profile["phone"], profile["language"]) == ("iso", None, "en")
    assert profile["auth_source"] == "local"
    assert profile["organizations"] == [{"name": "Acme", "role": "user"}]


def test_updating_the_profile_changes_what_is_shown_and_how_dates_look(desk):
    result = desk.cli(
        "account",
        "update",
        "--name",
        "Rita Rossi",
        "--phone",
        "+41 44 555 01 02",
        "--language",
        "fr",
        "--date-format",
        "eu",
    )
    assert ok(result).stdout == "Profil mis à jour.\n"  # from now on, in her language

    profile = data(desk.cli("account", "show", "--json"))
    assert (profile["name"], profile["phone"]) == ("Rita Rossi", "+41 44 555 01 02")
    assert (profile["language"], profile["date_format"]) == ("fr", "eu")

    today = utcnow().strftime("%d/%m/%Y")
    shown = ok(desk.cli("account", "show")).stdout
    assert "Rita Rossi" in shown and "+41 44 555 01 02" in shown
    assert re.search(rf"{re.escape(today)} \d\d:\d\d", shown)
    assert not re.search(r"\d{4}-\d\d-\d\d", shown)

    listing = ok(desk.cli("ticket", "list")).stdout
    assert re.search(rf"{re.escape(today)} \d\d:\d\d", listing)
    assert not re.search(r"\d{4}-\d\d-\d\d", listing)
    assert "Réf." in listing  # the headers speak French too

    # Others see the new name.
    users = data(desk.admin("user", "list", "--json"))["items"]
    assert [u["name"] for u in users if u["email"] == RITA] == ["Rita Rossi"]


def test_clearing_the_phone(desk):
    ok(desk.cli("account", "update", "--phone", "+41 44 555 01 02"))
    ok(desk.cli("account", "update", "--phone", ""))
    assert data(desk.cli("account", "show", "--json"))["phone"] is None


@pytest.mark.parametrize(
    "args",
    [
        ("--language", "de"),
        ("--date-format", "roman"),
        (),
    ],
)
def test_bad_or_no_profile_options_are_usage_errors(desk, args):
    before = data(desk.cli("account", "show", "--json"))
    fails(desk.cli("account", "update", *args), 2)
    assert data(desk.cli("account", "show", "--json")) == before


def test_the_api_refuses_bad_profile_values(world, client):
    headers = world.headers(world.requester)
    for body in ({"language": "de"}, {"date_format": "roman"}, {"name": ""}, {"role": "admin"}):
        resp = client.patch("/api/v1/account", json=body, headers=headers)
        assert resp.status_code == 422, body
    me = client.get("/api/v1/account", headers=headers).json
    assert (me["name"], me["language"], me["date_format"]) == ("Rita Requester", "en", "iso")


# -- changing the email address -------------------------------------------------------------


def test_a_new_email_takes_effect_once_confirmed(desk):
    result = desk.cli("account", "update", "--email", NEW_EMAIL)
    assert ok(result).stdout == (
        "Profile updated.\n"
        f"A confirmation link was sent to {NEW_EMAIL}; your address changes once you follow it "
        "(helpdesk account confirm-email TOKEN).\n"
    )
    [msg] = deliver_mail(desk.mailbox)
    assert recipient(msg) == NEW_EMAIL
    assert msg["Subject"] == "Confirm your new email address"
    assert f"Please confirm that {NEW_EMAIL} is your new address" in text_of(msg)
    token = token_in(msg, "confirm-email")
    assert f"{BASE_URL}/account/confirm-email/{token}" in text_of(msg)

    # Nothing changes until it is confirmed.
    assert data(desk.cli("whoami", "--json"))["email"] == RITA
    assert user(RITA).email == RITA

    result = confirm_email(desk.cli, token)
    assert ok(result).stdout == f"Your email is now {NEW_EMAIL}.\n"
    assert data(desk.cli("whoami", "--json"))["email"] == NEW_EMAIL  # the same login goes on

    assert WRONG_LOGIN in fails(
        desk.cli("login", RITA, "--password-stdin", input=RITA_PASSWORD + "\n"), 4
    )
    result = desk.cli("login", NEW_EMAIL, "--password-stdin", input=RITA_PASSWORD + "\n")
    assert ok(result).stdout.startswith(f"Logged in as Rita <{NEW_EMAIL}>")

    assert INVALID_LINK in fails(confirm_email(desk.cli, token), 1)


def test_an_address_already_in_use_is_refused(desk):
    ok(desk.admin("user", "register", "carl@acme.test", "--name", "Carl", "--org", "Acme"))
    deliver_mail(desk.mailbox)  # Carl's invitation
    error = fails(desk.cli("account", "update", "--email", "carl@acme.test"), 1)
    assert error == "Error: carl@acme.test is already used by another account.\n"
    error = fails(desk.cli("account", "update", "--email", ADMIN, "--name", "Changed"), 1)
    assert "already used by another account" in error
    assert deliver_mail(desk.mailbox) == []
    profile = data(desk.cli("account", "show", "--json"))
    assert (profile["email"], profile["name"]) == (RITA, "Rita")


def test_an_address_taken_before_the_confirmation_is_refused_then(desk):
    ok(desk.cli("account", "update", "--email", NEW_EMAIL))
    token = token_in(deliver_mail(desk.mailbox)[0], "confirm-email")
    ok(desk.admin("user", "register", NEW_EMAIL, "--name", "Someone else"))
    error = fails(confirm_email(desk.cli, token), 1)
    assert f"{NEW_EMAIL} is already used by another account." in error
    assert data(desk.cli("whoami", "--json"))["email"] == RITA


def test_only_the_latest_email_change_can_be_confirmed(desk):
    ok(desk.cli("account", "update", "--email", "first@acme.test"))
    ok(desk.cli("account", "update", "--email", "second@acme.test"))
    first, second = deliver_mail(desk.mailbox)
    assert (recipient(first), recipient(second)) == ("first@acme.test", "second@acme.test")
    fails(confirm_email(desk.cli, token_in(first, "confirm-email")), 1)
    ok(confirm_email(desk.cli, token_in(second, "confirm-email")))
    assert data(desk.cli("whoami", "--json"))["email"] == "second@acme.test"


def test_the_api_says_an_email_change_is_pending(world, client, mailbox):
    resp = client.patch(
        "/api/v1/account",
        json={"email": "Rita.New@Acme.test"},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 200
    assert (resp.json["email"], resp.json["email_change_pending"]) == (RITA_API, True)
    [msg] = deliver_mail(mailbox)
    assert recipient(msg) == "rita.new@acme.test"
    resp = client.post(
        "/api/v1/account/email/confirm", json={"token": token_in(msg, "confirm-email")}
    )
    assert (resp.status_code, resp.json["email"]) == (200, "rita.new@acme.test")

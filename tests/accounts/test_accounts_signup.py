"""Sign-up: closed by default, open to some domains or to everyone; confirmed by email."""

from __future__ import annotations

import pytest
from account_helpers import (
    ADMIN,
    activate,
    as_user,
    connection,
    data,
    deliver_mail,
    fails,
    ok,
    recipient,
    text_of,
    token_for,
    token_in,
    user,
)

from helpdesk.models import Membership, Organization, OutboxMessage, User

ANSWER = "If this address can be registered, a confirmation email is on its way."
CLI_ANSWER = ANSWER + " Then run: helpdesk account activate TOKEN\n"
ZOE_PASSWORD = "zoe-picks-a-password"


def user_count() -> int:
    with connection():
        return User.select().count()


def outbox_count() -> int:
    with connection():
        return OutboxMessage.select().count()


def test_sign_up_is_closed_by_default(installed, mailbox):
    before = user_count()
    error = fails(installed("signup", "zoe@acme.test", "--name", "Zoe"), 1)
    assert "Sign-up is closed; ask the support team for an invitation." in error
    assert user_count() == before
    assert deliver_mail(mailbox) == []


def test_the_api_refuses_a_closed_sign_up_with_403(client, db, mailbox):
    resp = client.post("/api/v1/auth/signup", json={"email": "zoe@acme.test", "name": "Zoe"})
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "permission_denied"
    assert User.select().count() == 0
    assert deliver_mail(mailbox) == []


@pytest.fixture
def domains(monkeypatch):
    monkeypatch.setenv("HELPDESK_SIGNUP", "domains")
    monkeypatch.setenv("HELPDESK_SIGNUP_DOMAINS", "acme.test")


@pytest.mark.parametrize("email", ["zoe@other.test", "zoe@notacme.test", "zoe@acme.test.evil"])
def test_domains_policy_refuses_other_domains(installed, mailbox, domains, email):
    before = user_count()
    error = fails(installed("signup", email, "--name", "Zoe"), 1)
    assert f"Sign-up is not open to addresses at {email.rpartition('@')[2]}." in error
    assert user_count() == before
    assert deliver_mail(mailbox) == []


def test_domains_policy_accepts_the_listed_domain(installed, mailbox, domains):
    assert ok(installed("signup", "Zoe@ACME.test", "--name", "Zoe Zed")).stdout == CLI_ANSWER
    [msg] = deliver_mail(mailbox)
    assert recipient(msg) == "zoe@acme.test"
    assert user("zoe@acme.test").origin == "external"


def test_open_sign_up_creates_an_external_customer_who_activates_by_email(
    installed, mailbox, monkeypatch
):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    monkeypatch.setenv("HELPDESK_EXTERNAL_ORGANIZATION", "Web customers")
    cli = installed
    admin = as_user(cli, token_for(ADMIN))
    assert ok(cli("signup", "zoe@anywhere.test", "--name", "Zoe Zed")).stdout == CLI_ANSWER

    [zoe] = [u for u in data(admin("user", "list", "--json"))["items"] if u["name"] == "Zoe Zed"]
    assert zoe["email"] == "zoe@anywhere.test"
    assert (zoe["kind"], zoe["origin"], zoe["activated"]) == ("customer", "external", False)
    assert zoe["organizations"] == [{"name": "Web customers", "role": "user"}]

    [msg] = deliver_mail(mailbox)
    assert recipient(msg) == "zoe@anywhere.test"
    assert msg["Subject"] == "Confirm your email address"
    assert "Please confirm your address (zoe@anywhere.test)" in text_of(msg)
    token = token_in(msg, "activate")

    result = activate(cli, token, ZOE_PASSWORD)
    assert ok(result).stdout == "Your account zoe@anywhere.test is active; you are logged in.\n"
    assert (
        ok(cli("whoami")).stdout == "Zoe Zed <zoe@anywhere.test>, customer, Web customers (user)\n"
    )
    assert "Kind:          customer (external)" in ok(cli("account", "show")).stdout
    ok(cli("logout"))
    ok(cli("login", "zoe@anywhere.test", "--password-stdin", input=ZOE_PASSWORD + "\n"))
    # The confirmation link worked once.
    again = activate(cli, token, ZOE_PASSWORD)
    assert "invalid, was already used or has expired" in fails(again, 1)


def test_the_external_organization_is_created_once(client, db, mailbox, monkeypatch):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    for email in ("a@one.test", "b@two.test"):
        resp = client.post("/api/v1/auth/signup", json={"email": email, "name": email})
        assert resp.status_code == 202
    [org] = Organization.select()
    assert org.name == "External customers"
    assert Membership.select().where(Membership.organization == org).count() == 2


def test_the_api_answers_a_sign_up_in_the_callers_language(client, db, mailbox, monkeypatch):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    resp = client.post(
        "/api/v1/auth/signup",
        json={"email": "zoe@anywhere.test", "name": "Zoé"},
        headers={"Accept-Language": "fr"},
    )
    assert resp.status_code == 202
    assert resp.json == {
        "message": "Si cette adresse peut être inscrite, un e-mail de confirmation est en route."
    }


def test_sign_up_in_another_language_confirms_in_it(installed, mailbox, monkeypatch):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    ok(installed("signup", "zoe@anywhere.test", "--name", "Zoé", "--language", "fr"))
    [msg] = deliver_mail(mailbox)
    assert msg["Subject"] == "Confirmez votre adresse e-mail"
    assert user("zoe@anywhere.test").language == "fr"
    fails(installed("signup", "yan@anywhere.test", "--name", "Yan", "--language", "de"), 2)


def test_signing_up_with_a_known_address_answers_the_same_and_changes_nothing(
    installed, mailbox, monkeypatch
):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    cli = installed
    ok(cli("org", "create", "Acme"))
    ok(cli("user", "register", "rita@acme.test", "--name", "Rita", "--org", "Acme"))
    deliver_mail(mailbox)  # Rita's invitation
    users_before, outbox_before = user_count(), outbox_count()

    known = cli("signup", "rita@acme.test", "--name", "Someone Else")
    unknown = cli("signup", "new@acme.test", "--name", "New Person")
    assert ok(known).stdout == ok(unknown).stdout == CLI_ANSWER
    assert known.stderr == unknown.stderr == ""
    # Also in another case: the address is the same account.
    assert ok(cli("signup", "RITA@Acme.TEST", "--name", "Shouty")).stdout == CLI_ANSWER

    [msg] = deliver_mail(mailbox)
    assert recipient(msg) == "new@acme.test"
    assert (user_count(), outbox_count()) == (users_before + 1, outbox_before + 1)
    rita = user("rita@acme.test")
    assert (rita.name, rita.origin) == ("Rita", "internal")


def test_the_api_answers_a_known_and_an_unknown_address_identically(
    world, client, mailbox, monkeypatch
):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    known = client.post("/api/v1/auth/signup", json={"email": world.requester.email, "name": "X"})
    unknown = client.post("/api/v1/auth/signup", json={"email": "fresh@acme.test", "name": "X"})
    assert (known.status_code, known.json) == (unknown.status_code, unknown.json)
    assert known.status_code == 202 and known.json == {"message": ANSWER}
    assert [recipient(m) for m in deliver_mail(mailbox)] == ["fresh@acme.test"]
    assert User.get(User.email == world.requester.email).name == "Rita Requester"


# -- the one rule for external customers, from mail too ---------------------------------------


def test_mail_from_an_unknown_sender_registers_them_by_the_same_rule_as_sign_up(
    db, world, monkeypatch
):
    """A display name with control characters in it still registers the sender (cleaned)."""
    from helpdesk.config import load_settings
    from helpdesk.mail.ingest import ingest_message

    monkeypatch.setenv("HELPDESK_MAIL_UNKNOWN_SENDERS", "register")
    monkeypatch.setenv("HELPDESK_EXTERNAL_ORGANIZATION", "Web customers")
    raw = (
        b"From: =?utf-8?q?Zo=C3=A9=01_=09Zed?= <Zoe@Any.Test>\r\n"
        b"To: support@helpdesk.test\r\n"
        b"Subject: Cannot log in\r\n"
        b"Message-ID: <one@any.test>\r\n"
        b"\r\n"
        b"Help, please.\r\n"
    )
    result = ingest_message(raw, load_settings())
    assert result.outcome == "created", result
    zoe = User.get(User.email == "zoe@any.test")
    assert (zoe.name, zoe.kind, zoe.origin) == ("Zoé Zed", "customer", "external")
    assert [m.organization.name for m in zoe.memberships] == ["Web customers"]


def test_the_cli_says_the_whole_sign_up_answer_in_its_profiles_language(
    installed, mailbox, monkeypatch
):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    ok(installed("account", "update", "--language", "fr"))
    answer = ok(installed("signup", "zoe@anywhere.test", "--name", "Zoé")).stdout
    assert answer == (
        "Si cette adresse peut être inscrite, un e-mail de confirmation est en route. "
        "Puis lancez : helpdesk account activate TOKEN\n"
    )

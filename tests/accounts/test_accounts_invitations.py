"""Invitations: a customer registered without a password is emailed a single-use link."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from account_helpers import (
    ADMIN,
    BASE_URL,
    INVALID_LINK,
    activate,
    as_user,
    connection,
    data,
    deliver_mail,
    expire_account_tokens,
    fails,
    html_of,
    ok,
    recipient,
    set_user,
    text_of,
    token_for,
    token_in,
    user,
)

from helpdesk.models import AccountToken, User, utcnow

NINA = "nina@acme.test"
NINA_PASSWORD = "nina-chooses-this-1"


@pytest.fixture
def desk(installed, mailbox):
    """Acme, and Nina registered in it without a password: her invitation was delivered."""
    cli = installed
    ok(cli("org", "create", "Acme"))
    result = cli("user", "register", NINA, "--name", "Nina Newcomer", "--org", "Acme")
    assert ok(result).stdout == f"Registered customer Nina Newcomer <{NINA}>.\n"
    [invitation] = deliver_mail(mailbox)
    return SimpleNamespace(
        cli=cli,
        admin=as_user(cli, token_for(ADMIN)),  # the stored token changes when Nina logs in
        invitation=invitation,
        token=token_in(invitation, "activate"),
        mailbox=mailbox,
    )


def test_registering_without_a_password_emails_one_invitation(desk):
    msg = desk.invitation
    assert recipient(msg) == NINA
    assert msg["To"].addresses[0].display_name == "Nina Newcomer"
    assert msg["From"] == "Acme Support <support@helpdesk.test>"
    assert msg["Subject"] == "Your help desk account"
    assert msg["Auto-Submitted"] == "auto-generated"
    text = text_of(msg)
    assert text.startswith("Hello Nina Newcomer,")
    assert f"admin created a help desk account for you ({NINA})" in text
    assert f"helpdesk account activate {desk.token}" in text
    assert f"{BASE_URL}/account/activate/{desk.token}" in text
    assert f"{BASE_URL}/account/activate/{desk.token}" in html_of(msg)
    listed = data(desk.admin("user", "list", "--json"))
    [nina] = [u for u in listed["items"] if u["email"] == NINA]
    assert (nina["activated"], nina["active"]) == (False, True)


def test_the_invitation_activates_the_account_and_logs_in(desk):
    cli = desk.cli
    result = activate(cli, desk.token, NINA_PASSWORD)
    assert ok(result).stdout == f"Your account {NINA} is active; you are logged in.\n"
    assert ok(cli("whoami")).stdout == f"Nina Newcomer <{NINA}>, customer, Acme (user)\n"
    assert ok(cli("logout")).stdout == "Logged out.\n"
    fails(cli("whoami"), 4)

    result = cli("login", NINA, "--password-stdin", input=NINA_PASSWORD + "\n")
    assert ok(result).stdout == f"Logged in as Nina Newcomer <{NINA}>, customer, Acme (user).\n"
    assert data(cli("whoami", "--json"))["activated"] is True

    # The link worked once.
    again = activate(cli, desk.token, "another-one-22")
    assert INVALID_LINK in fails(again, 1)
    ok(cli("login", NINA, "--password-stdin", input=NINA_PASSWORD + "\n"))


def test_an_expired_invitation_is_refused(desk):
    expire_account_tokens(NINA)
    result = activate(desk.cli, desk.token, NINA_PASSWORD)
    assert INVALID_LINK in fails(result, 1)
    assert user(NINA).password_hash is None
    fails(desk.cli("login", NINA, "--password-stdin", input=NINA_PASSWORD + "\n"), 4)


def test_the_invitation_lifetime_follows_the_setting(installed, mailbox, monkeypatch):
    monkeypatch.setenv("HELPDESK_INVITATION_TTL_HOURS", "1")
    ok(installed("user", "register", NINA, "--name", "Nina Newcomer"))
    [msg] = deliver_mail(mailbox)
    with connection():
        [token] = AccountToken.select().join(User).where(User.email == NINA)
        left = token.expires_at - utcnow()
    assert 3500 < left.total_seconds() <= 3600
    until = token.expires_at.strftime("%Y-%m-%d %H:%M")
    assert f"This link works once, until {until} (UTC)." in text_of(msg)


@pytest.mark.parametrize(
    "forged",
    ["forged-token", "hd_" + "x" * 43, "A" * 43],
)
def test_a_forged_token_is_refused(desk, forged):
    result = activate(desk.cli, forged, NINA_PASSWORD)
    assert INVALID_LINK in fails(result, 1)
    assert user(NINA).password_hash is None


def test_a_weak_or_mistyped_password_keeps_the_invitation_usable(desk):
    cli = desk.cli
    weak = activate(cli, desk.token, "qwertyuiop")
    assert "too common" in fails(weak, 1)
    differ = activate(cli, desk.token, "one-password-1", "another-2")
    assert "differ" in fails(differ, 2)
    assert user(NINA).password_hash is None
    ok(activate(cli, desk.token, NINA_PASSWORD))


def test_resending_sends_a_fresh_link_and_voids_the_old_one(desk):
    result = desk.admin("user", "invite", "--resend", NINA)
    assert ok(result).stdout == f"Sent a new invitation to {NINA}.\n"
    [fresh] = deliver_mail(desk.mailbox)
    assert recipient(fresh) == NINA
    assert fresh["Subject"] == "Your help desk account"
    new_token = token_in(fresh, "activate")
    assert new_token != desk.token

    old = activate(desk.cli, desk.token, NINA_PASSWORD)
    assert INVALID_LINK in fails(old, 1)
    ok(activate(desk.cli, new_token, NINA_PASSWORD))
    assert ok(desk.cli("whoami")).stdout.startswith(f"Nina Newcomer <{NINA}>")


def test_invite_without_resend_is_a_usage_error(desk):
    fails(desk.admin("user", "invite", NINA), 2)
    assert deliver_mail(desk.mailbox) == []


def test_no_invitation_is_resent_to_an_activated_account(desk):
    ok(activate(desk.cli, desk.token, NINA_PASSWORD))
    error = fails(desk.admin("user", "invite", "--resend", NINA), 1)
    assert f"{NINA} has already activated their account." in error
    assert deliver_mail(desk.mailbox) == []


def test_resending_to_an_unknown_address_is_refused(desk):
    assert "No user with email ghost@acme.test" in fails(
        desk.admin("user", "invite", "--resend", "ghost@acme.test"), 1
    )
    assert deliver_mail(desk.mailbox) == []


def test_registering_with_a_password_sends_no_invitation(installed, mailbox):
    result = installed(
        "user",
        "register",
        "bob@acme.test",
        "--name",
        "Bob",
        "--password-stdin",
        input="bob-pw-12345\n",
    )
    ok(result)
    assert deliver_mail(mailbox) == []
    assert ok(installed("login", "bob@acme.test", "--password-stdin", input="bob-pw-12345\n"))


def test_the_invitation_speaks_the_users_language(desk):
    set_user(NINA, language="fr")
    ok(desk.admin("user", "invite", "--resend", NINA))
    [msg] = deliver_mail(desk.mailbox)
    assert msg["Subject"] == "Votre compte au service d'assistance"
    assert msg["Content-Language"] == "fr"
    text = text_of(msg)
    assert text.startswith("Bonjour Nina Newcomer,")
    assert "Choisissez votre mot de passe" in text
    token = token_in(msg, "activate")  # the command and the link are the same in every language
    ok(activate(desk.cli, token, NINA_PASSWORD))


def test_the_invitation_gives_its_expiry_in_the_users_date_format(desk):
    set_user(NINA, date_format="us")
    ok(desk.admin("user", "invite", "--resend", NINA))
    [msg] = deliver_mail(desk.mailbox)
    with connection():
        expires = (
            AccountToken.select()
            .join(User)
            .where(User.email == NINA)
            .order_by(AccountToken.id.desc())[0]
            .expires_at
        )
    until = expires.strftime("%m/%d/%Y %I:%M %p")
    assert f"This link works once, until {until} (UTC)." in text_of(msg)


def test_a_deactivated_customer_cannot_use_their_invitation(desk):
    ok(desk.admin("user", "deactivate", NINA))
    result = activate(desk.cli, desk.token, NINA_PASSWORD)
    assert "deactivated" in fails(result, 4)
    assert user(NINA).password_hash is None


# -- the same through the JSON API ----------------------------------------------------------


def test_api_registration_invites_and_activation_answers_a_working_token(world, client, mailbox):
    admin = world.headers(world.admin)
    resp = client.post(
        "/api/v1/users",
        json={"email": "omar@acme.test", "name": "Omar", "organization": "Acme"},
        headers=admin,
    )
    assert resp.status_code == 201
    assert resp.json["activated"] is False
    [msg] = deliver_mail(mailbox)
    assert recipient(msg) == "omar@acme.test"
    token = token_in(msg, "activate")

    resp = client.post(
        "/api/v1/account/activate", json={"token": token, "password": "omar-password-9"}
    )
    assert resp.status_code == 200
    assert resp.json["user"]["email"] == "omar@acme.test"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {resp.json['token']}"})
    assert me.status_code == 200 and me.json["activated"] is True

    again = client.post(
        "/api/v1/account/activate", json={"token": token, "password": "omar-password-9"}
    )
    assert again.status_code == 404
    assert INVALID_LINK in again.json["error"]["message"]

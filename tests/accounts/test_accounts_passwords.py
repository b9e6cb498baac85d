"""Passwords: the policy, changing one's password, forgetting it, other sign-in sources."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from account_helpers import (
    ADMIN,
    INVALID_LINK,
    REVOKED,
    WRONG_LOGIN,
    activate,
    as_user,
    confirm_email,
    connection,
    count_hash_work,
    data,
    deliver_mail,
    expire_account_tokens,
    fails,
    ok,
    production_hashing,
    recipient,
    reset,
    set_user,
    text_of,
    token_for,
    token_in,
    user,
)
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk.models import AccountToken, OutboxMessage, User, utcnow
from helpdesk.services import authentication, invitations, users
from helpdesk.services.account_tokens import issue_account_token
from helpdesk.services.passwords import hash_password

RITA = "rita@acme.test"
RITA_PASSWORD = "rita-original-pw-1"
NEW_PASSWORD = "rita-brand-new-pw-2"
RESET_ANSWER = "If this address has an account here, a reset link is on its way."
NOT_LOCAL = "This account signs in through ldap; its password cannot be changed or reset here."

# The address the policy examples are checked against: its local part is 10 characters or more.
CHRIS = "christopher@acme.test"
WEAK = [
    pytest.param("short-pw9", "must be at least 10 characters long", id="too-short"),
    pytest.param(CHRIS, "must not be the email address", id="the-email"),
    pytest.param("Christopher", "must not be the email address", id="the-email-name"),
    pytest.param("qwertyuiop", "too common", id="common"),
    pytest.param("Password123", "too common", id="common-any-case"),
]


def login(cli, email: str, password: str):
    return cli("login", email, "--password-stdin", input=password + "\n")


def password_hash(email: str) -> str | None:
    return user(email).password_hash


# -- the policy -----------------------------------------------------------------------------


@pytest.fixture
def chris(world, client, mailbox):
    """Christopher, invited by the admin: his activation token, and his reset token."""
    admin = world.headers(world.admin)
    resp = client.post("/api/v1/users", json={"email": CHRIS, "name": "Chris"}, headers=admin)
    assert resp.status_code == 201
    [invitation] = deliver_mail(mailbox)
    return SimpleNamespace(token=token_in(invitation, "activate"), admin=admin)


def assert_refused(resp, message: str) -> None:
    assert resp.status_code == 422, resp.json
    error = resp.json["error"]
    assert error["code"] == "validation_failed"
    assert message in error["message"]
    # A message's values are details too: the length the policy asks for.
    shown = {"min_length": 10} if "at least" in message else {}
    assert error["details"] == {"field": "password", **shown}


@pytest.mark.parametrize(("password", "message"), WEAK)
def test_the_policy_refuses_weak_passwords_at_registration(world, client, password, message):
    resp = client.post(
        "/api/v1/users",
        json={"email": CHRIS, "name": "Chris", "password": password},
        headers=world.headers(world.admin),
    )
    assert_refused(resp, message)
    assert User.get_or_none(User.email == CHRIS) is None


@pytest.mark.parametrize(("password", "message"), WEAK)
def test_the_policy_refuses_weak_passwords_at_activation(chris, client, password, message):
    resp = client.post(
        "/api/v1/account/activate", json={"token": chris.token, "password": password}
    )
    assert_refused(resp, message)
    assert password_hash(CHRIS) is None
    # The invitation still works, with a good password.
    good = client.post(
        "/api/v1/account/activate", json={"token": chris.token, "password": NEW_PASSWORD}
    )
    assert good.status_code == 200


@pytest.mark.parametrize(("password", "message"), WEAK)
def test_the_policy_refuses_weak_passwords_at_a_change(world, client, password, message):
    chris = User.create(email=CHRIS, name="Chris", password_hash=hash_password("pw"))
    before = User.get_by_id(chris.id).password_hash
    resp = client.post(
        "/api/v1/account/password",
        json={"current_password": "pw", "new_password": password},
        headers=world.headers(chris),
    )
    assert_refused(resp, message)
    assert User.get_by_id(chris.id).password_hash == before


def test_the_cli_tells_why_a_password_is_refused(installed, mailbox):
    ok(installed("user", "register", CHRIS, "--name", "Chris"))
    token = token_in(deliver_mail(mailbox)[0], "activate")
    for password, message in [
        ("short-pw9", "The password must be at least 10 characters long."),
        (CHRIS, "The password must not be the email address."),
        ("password123", "This password is too common; choose another one."),
    ]:
        result = activate(installed, token, password)
        assert fails(result, 1) == f"Error: {message}\n"
    assert password_hash(CHRIS) is None


# -- changing one's password ----------------------------------------------------------------


@pytest.fixture
def rita(installed, mailbox):
    """Rita has a password and is logged in through the CLI; she also has a script token."""
    cli = installed
    ok(cli("org", "create", "Acme"))
    register = ("user", "register", RITA, "--name", "Rita", "--org", "Acme", "--password-stdin")
    ok(cli(*register, input=RITA_PASSWORD + "\n"))
    assert deliver_mail(mailbox) == []
    ok(login(cli, RITA, RITA_PASSWORD))
    return SimpleNamespace(cli=cli, script=as_user(cli, token_for(RITA, "script")), mailbox=mailbox)


def change(cli, current: str, new: str, confirmation: str | None = None):
    confirmation = new if confirmation is None else confirmation
    return cli(
        "account", "password", "--password-stdin", input=f"{current}\n{new}\n{confirmation}\n"
    )


def test_a_wrong_current_password_changes_nothing(rita):
    before = password_hash(RITA)
    assert fails(change(rita.cli, "not-my-password", NEW_PASSWORD), 1) == (
        "Error: The current password is wrong.\n"
    )
    assert password_hash(RITA) == before
    ok(rita.script("whoami"))


def test_two_different_new_passwords_are_a_usage_error(rita):
    before = password_hash(RITA)
    result = change(rita.cli, RITA_PASSWORD, NEW_PASSWORD, "something-else-3")
    assert "The two new passwords differ" in fails(result, 2)
    assert password_hash(RITA) == before


def test_a_weak_new_password_is_refused(rita):
    before = password_hash(RITA)
    assert "too common" in fails(change(rita.cli, RITA_PASSWORD, "qwertyuiop"), 1)
    assert password_hash(RITA) == before
    ok(rita.script("whoami"))


def test_changing_the_password_revokes_the_other_tokens_only(rita):
    result = change(rita.cli, RITA_PASSWORD, NEW_PASSWORD)
    assert ok(result).stdout == "Password changed; 1 other token revoked.\n"
    assert REVOKED in fails(rita.script("whoami"), 4)
    assert ok(rita.cli("whoami")).stdout.startswith(f"Rita <{RITA}>")

    assert WRONG_LOGIN in fails(login(rita.cli, RITA, RITA_PASSWORD), 4)
    ok(login(rita.cli, RITA, NEW_PASSWORD))


def test_the_api_reports_how_many_tokens_were_revoked(world, client):
    world.requester.password_hash = hash_password(RITA_PASSWORD)
    world.requester.save()
    current, other, another = (world.headers(world.requester) for _ in range(3))
    resp = client.post(
        "/api/v1/account/password",
        json={"current_password": RITA_PASSWORD, "new_password": NEW_PASSWORD},
        headers=current,
    )
    assert (resp.status_code, resp.json) == (200, {"revoked_tokens": 2})
    assert client.get("/api/v1/me", headers=current).status_code == 200
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert client.get("/api/v1/me", headers=another).status_code == 401
    # Other users' tokens are untouched.
    assert client.get("/api/v1/me", headers=world.headers(world.colleague)).status_code == 200


# -- forgetting it --------------------------------------------------------------------------


def test_forgot_answers_the_same_for_known_and_unknown_addresses(rita):
    known = rita.cli("account", "forgot", RITA)
    unknown = rita.cli("account", "forgot", "nobody@acme.test")
    assert ok(known).stdout == ok(unknown).stdout == RESET_ANSWER + "\n"
    assert known.stderr == unknown.stderr == ""
    [msg] = deliver_mail(rita.mailbox)
    assert recipient(msg) == RITA
    assert msg["Subject"] == "Reset your password"
    assert f"asked to reset the password of {RITA}" in text_of(msg)
    token_in(msg, "reset")


def test_the_api_answers_forgot_the_same_for_known_and_unknown_addresses(world, client, mailbox):
    known = client.post("/api/v1/account/password-reset", json={"email": world.requester.email})
    unknown = client.post("/api/v1/account/password-reset", json={"email": "ghost@acme.test"})
    assert (known.status_code, known.json) == (unknown.status_code, unknown.json)
    assert known.status_code == 202
    assert [recipient(m) for m in deliver_mail(mailbox)] == [world.requester.email]


def test_a_reset_sets_the_password_and_revokes_every_token(rita):
    ok(rita.cli("account", "forgot", RITA))
    [msg] = deliver_mail(rita.mailbox)
    token = token_in(msg, "reset")
    logged_in = as_user(rita.cli, token_for(RITA, "another"))

    result = reset(rita.cli, token, NEW_PASSWORD)
    assert ok(result).stdout == "Your password was changed; log in with it.\n"
    assert REVOKED in fails(rita.script("whoami"), 4)
    assert REVOKED in fails(logged_in("whoami"), 4)
    fails(rita.cli("whoami"), 4)  # the stored login is gone too

    assert WRONG_LOGIN in fails(login(rita.cli, RITA, RITA_PASSWORD), 4)
    ok(login(rita.cli, RITA, NEW_PASSWORD))

    again = reset(rita.cli, token, "third-password-3")
    assert INVALID_LINK in fails(again, 1)
    ok(login(rita.cli, RITA, NEW_PASSWORD))


def test_an_expired_reset_link_is_refused(rita):
    ok(rita.cli("account", "forgot", RITA))
    token = token_in(deliver_mail(rita.mailbox)[0], "reset")
    expire_account_tokens(RITA)
    before = password_hash(RITA)
    result = reset(rita.cli, token, NEW_PASSWORD)
    assert INVALID_LINK in fails(result, 1)
    assert password_hash(RITA) == before
    ok(rita.script("whoami"))


def test_the_reset_link_lifetime_follows_the_setting(rita, monkeypatch):
    monkeypatch.setenv("HELPDESK_RESET_TTL_MINUTES", "5")
    ok(rita.cli("account", "forgot", RITA))
    [msg] = deliver_mail(rita.mailbox)
    with connection():
        [token] = (
            AccountToken.select()
            .join(User)
            .where((User.email == RITA) & (AccountToken.purpose == "reset"))
        )
        left = (token.expires_at - utcnow()).total_seconds()
    assert 240 < left <= 300
    assert token.expires_at.strftime("%Y-%m-%d %H:%M") in text_of(msg)


def test_a_newer_reset_link_voids_the_older_one(rita):
    ok(rita.cli("account", "forgot", RITA))
    ok(rita.cli("account", "forgot", RITA))
    first, second = (token_in(m, "reset") for m in deliver_mail(rita.mailbox))
    result = reset(rita.cli, first, NEW_PASSWORD)
    assert INVALID_LINK in fails(result, 1)
    ok(reset(rita.cli, second, NEW_PASSWORD))


def test_emailed_tokens_only_work_for_their_own_purpose(rita):
    admin = as_user(rita.cli, token_for(ADMIN))
    ok(admin("user", "register", "nina@acme.test", "--name", "Nina"))
    ok(rita.cli("account", "forgot", RITA))
    invitation, reset_mail = deliver_mail(rita.mailbox)
    invite_token, reset_token = token_in(invitation, "activate"), token_in(reset_mail, "reset")

    wrong = reset(rita.cli, invite_token, NEW_PASSWORD)
    assert INVALID_LINK in fails(wrong, 1)
    wrong = activate(rita.cli, reset_token, NEW_PASSWORD)
    assert INVALID_LINK in fails(wrong, 1)
    wrong = confirm_email(rita.cli, reset_token)
    assert INVALID_LINK in fails(wrong, 1)
    # Neither was spent by the wrong use.
    ok(reset(rita.cli, reset_token, NEW_PASSWORD))
    ok(activate(rita.cli, invite_token, NEW_PASSWORD))


def test_a_reset_with_a_weak_password_keeps_the_link_usable(rita):
    ok(rita.cli("account", "forgot", RITA))
    token = token_in(deliver_mail(rita.mailbox)[0], "reset")
    weak = reset(rita.cli, token, "1234567890")
    assert "too common" in fails(weak, 1)
    ok(rita.script("whoami"))  # nothing was revoked
    ok(reset(rita.cli, token, NEW_PASSWORD))


def test_forgot_sends_nothing_to_a_deactivated_account(rita):
    admin = as_user(rita.cli, token_for(ADMIN))
    ok(admin("user", "deactivate", RITA))
    assert ok(rita.cli("account", "forgot", RITA)).stdout == RESET_ANSWER + "\n"
    assert deliver_mail(rita.mailbox) == []


# -- accounts that sign in elsewhere --------------------------------------------------------


def test_a_directory_account_cannot_change_its_password_here(rita):
    set_user(RITA, auth_source="ldap")
    error = fails(change(rita.script, RITA_PASSWORD, NEW_PASSWORD), 1)
    assert error == f"Error: {NOT_LOCAL} Ask your administrator.\n"
    profile = data(rita.script("account", "show", "--json"))
    assert profile["auth_source"] == "ldap"
    assert "Signs in with: ldap" in ok(rita.script("account", "show")).stdout
    assert check_password_hash(password_hash(RITA), RITA_PASSWORD)


def test_a_directory_account_gets_no_reset_mail(rita):
    set_user(RITA, auth_source="ldap")
    assert ok(rita.cli("account", "forgot", RITA)).stdout == RESET_ANSWER + "\n"
    assert deliver_mail(rita.mailbox) == []


def test_a_directory_account_cannot_use_a_reset_link(rita):
    ok(rita.cli("account", "forgot", RITA))
    token = token_in(deliver_mail(rita.mailbox)[0], "reset")
    set_user(RITA, auth_source="ldap")
    before = password_hash(RITA)
    result = reset(rita.cli, token, NEW_PASSWORD)
    assert NOT_LOCAL in fails(result, 1)
    assert password_hash(RITA) == before
    ok(rita.script("whoami"))


def test_the_api_names_the_sign_in_source(world, client):
    world.requester.auth_source = "ldap"
    world.requester.save()
    resp = client.post(
        "/api/v1/account/password",
        json={"current_password": "whatever-it-is", "new_password": NEW_PASSWORD},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 403
    assert resp.json["error"]["details"] == {"auth_source": "ldap"}
    assert "signs in through ldap" in resp.json["error"]["message"]


# -- re-hashing -----------------------------------------------------------------------------


def test_an_old_hash_is_upgraded_at_the_next_login(world, client):
    with production_hashing():
        upgraded_at_the_next_login(world, client)


def upgraded_at_the_next_login(world, client):
    world.requester.password_hash = generate_password_hash(RITA_PASSWORD, method="pbkdf2:sha256")
    world.requester.save()
    body = {"email": world.requester.email, "password": RITA_PASSWORD}

    assert client.post("/api/v1/auth/login", json=body).status_code == 200
    upgraded = User.get_by_id(world.requester.id).password_hash
    assert upgraded.startswith("scrypt:32768:8:1$")
    assert check_password_hash(upgraded, RITA_PASSWORD)

    assert client.post("/api/v1/auth/login", json=body).status_code == 200
    assert User.get_by_id(world.requester.id).password_hash == upgraded  # not re-hashed again


def test_a_failed_login_leaves_an_old_hash_alone(world, client):
    old = generate_password_hash(RITA_PASSWORD, method="pbkdf2:sha256")
    world.requester.password_hash = old
    world.requester.save()
    resp = client.post(
        "/api/v1/auth/login", json={"email": world.requester.email, "password": "wrong-guess-1"}
    )
    assert resp.status_code == 401
    assert User.get_by_id(world.requester.id).password_hash == old


def test_a_reset_voids_every_link_sent_before_it(world, client):
    """After a reset, an old invitation cannot set the password back (or at all)."""
    nina = users.register_user("nina@acme.test", "Nina", actor=world.admin, organization="Acme")
    invitation, _ = issue_account_token(nina, "invite", timedelta(hours=1))
    invitations.activate_account(invitation, "first-password-42")
    second_invitation, _ = issue_account_token(nina, "invite", timedelta(hours=1))
    reset, _ = issue_account_token(nina, "reset", timedelta(hours=1))

    resp = client.post(
        "/api/v1/account/password-reset/confirm",
        json={"token": reset, "password": "second-password-42"},
    )
    assert resp.status_code == 200
    resp = client.post(
        "/api/v1/account/activate",
        json={"token": second_invitation, "password": "attacker-password-42"},
    )
    assert resp.status_code == 404
    assert authentication.log_in("nina@acme.test", "second-password-42")[0].id == nina.id


def test_the_api_answers_a_reset_in_the_callers_language(world, client, mailbox):
    french = {"Accept-Language": "fr"}
    resp = client.post(
        "/api/v1/account/password-reset", json={"email": world.requester.email}, headers=french
    )
    assert resp.status_code == 202
    assert resp.json == {
        "message": "Si cette adresse a un compte ici, un lien de réinitialisation est en route."
    }
    reset, _ = issue_account_token(world.requester, "reset", timedelta(hours=1))
    resp = client.post(
        "/api/v1/account/password-reset/confirm",
        json={"token": reset, "password": "second-password-42"},
        headers=french,
    )
    assert resp.status_code == 200
    assert resp.json["message"] == "Votre mot de passe a été changé ; connectez-vous avec lui."


def test_an_invitation_cannot_overwrite_the_password_of_an_active_account(world, client):
    nina = users.register_user(
        "nina@acme.test",
        "Nina",
        actor=world.admin,
        organization="Acme",
        password="first-password-42",
    )
    invitation, _ = issue_account_token(nina, "invite", timedelta(hours=1))
    resp = client.post(
        "/api/v1/account/activate", json={"token": invitation, "password": "attacker-password-42"}
    )
    assert resp.status_code == 409
    assert authentication.log_in("nina@acme.test", "first-password-42")[0].id == nina.id


# -- the same work for known and unknown addresses (issue 7, defect 12) ----------------------


def test_a_reset_request_does_the_same_work_whether_or_not_the_address_exists(
    world, client, monkeypatch
):
    """One password hash on each path, and the email rendered and written (kept or undone)."""
    set_user(world.requester.email, password_hash=hash_password(RITA_PASSWORD))

    def ask(email: str, address: str):
        return client.post(
            "/api/v1/account/password-reset",
            json={"email": email},
            environ_base={"REMOTE_ADDR": address},
        )

    assert ask("warm-up@acme.test", "10.0.0.1").status_code == 202  # first use of the dummy
    hashes = count_hash_work(monkeypatch)
    known = ask(world.requester.email, "10.0.0.2")
    on_known = len(hashes)
    unknown = ask("nobody@acme.test", "10.0.0.3")
    on_unknown = len(hashes) - on_known
    assert (known.status_code, known.json) == (unknown.status_code, unknown.json)
    assert known.json == {"message": RESET_ANSWER}
    assert on_known == on_unknown == 1
    # Only the real address has an email waiting; the stand-in one was written, then undone.
    assert [m.to_address for m in OutboxMessage.select()] == [world.requester.email]


# -- the production cost ---------------------------------------------------------------------


def test_production_hashes_passwords_with_scrypt_at_full_cost():
    """The suite hashes cheaply (conftest); a process without that switch uses the real cost."""
    program = (
        "from helpdesk.services.passwords import hash_password, needs_rehash\n"
        "h = hash_password('a-long-password-1')\n"
        "print(h.split('$')[0], needs_rehash('pbkdf2:sha256:1$salt$x'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == "scrypt:32768:8:1 True\n"

"""Login throttling: per account and per client address, with Retry-After, and a reset."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from account_helpers import (
    WRONG_LOGIN,
    count_hash_work,
    deliver_mail,
    fails,
    ok,
    production_hashing,
    reset,
    set_password,
    token_in,
)

from helpdesk.models import LoginThrottle, User, utcnow
from helpdesk.services.passwords import hash_password

PASSWORD = "rita-password-42"
WRONG = "not-the-password"
LOCKED = re.compile(r"^Error: Too many failed logins; try again in (\d+) seconds\.\n$")


@pytest.fixture
def limits(monkeypatch):
    monkeypatch.setenv("HELPDESK_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("HELPDESK_LOGIN_MAX_FAILURES_PER_ADDRESS", "4")


@pytest.fixture
def rita(world):
    world.requester.password_hash = hash_password(PASSWORD)
    world.requester.save()
    return world.requester


def attempt(client, email: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_locked(resp) -> int:
    """A 429 with Retry-After; the seconds it says."""
    assert resp.status_code == 429, resp.json
    error = resp.json["error"]
    assert error["code"] == "too_many_requests"
    retry_after = int(resp.headers["Retry-After"])
    assert error["details"] == {"retry_after": retry_after}
    assert error["message"] == f"Too many failed logins; try again in {retry_after} seconds."
    return retry_after


# -- per account ----------------------------------------------------------------------------


def test_the_account_is_locked_after_the_allowed_failures(limits, rita, client):
    for _ in range(3):
        resp = attempt(client, rita.email, WRONG)
        assert resp.status_code == 401
        assert resp.json["error"]["message"] == WRONG_LOGIN
    retry_after = assert_locked(attempt(client, rita.email, PASSWORD))
    assert 890 <= retry_after <= 901  # HELPDESK_LOGIN_LOCKOUT_SECONDS defaults to 900
    # Not even the right password gets through, and no token was issued.
    assert_locked(attempt(client, rita.email, PASSWORD))
    assert rita.tokens.count() == 0


def test_the_lockout_counts_the_account_whatever_the_address_and_case(limits, rita, client):
    for address, email in [("10.0.0.1", rita.email), ("10.0.0.2", rita.email.upper())]:
        assert attempt(client, email, WRONG, address).status_code == 401
    assert attempt(client, " Req@Acme.Test ", WRONG, "10.0.0.3").status_code == 401
    assert_locked(attempt(client, rita.email, PASSWORD, "10.0.0.4"))


def test_the_lockout_ends(limits, rita, client, db):
    for _ in range(3):
        attempt(client, rita.email, WRONG)
    assert_locked(attempt(client, rita.email, PASSWORD))
    # Test set-up only: the lockout ran out.
    LoginThrottle.update(locked_until=utcnow() - timedelta(seconds=1)).execute()
    resp = attempt(client, rita.email, PASSWORD)
    assert resp.status_code == 200
    assert resp.json["token"].startswith("hd_")


def test_a_success_resets_the_count(limits, rita, client, monkeypatch):
    # The account's count; the address keeps its own (see the test below), so give it room.
    monkeypatch.setenv("HELPDESK_LOGIN_MAX_FAILURES_PER_ADDRESS", "20")
    for _ in range(2):
        assert attempt(client, rita.email, WRONG).status_code == 401
    assert attempt(client, rita.email, PASSWORD).status_code == 200
    for _ in range(2):
        assert attempt(client, rita.email, WRONG).status_code == 401
    assert attempt(client, rita.email, PASSWORD).status_code == 200


def test_locking_one_account_leaves_the_others_alone(limits, rita, client, world):
    world.colleague.password_hash = hash_password(PASSWORD)
    world.colleague.save()
    for _ in range(3):
        attempt(client, rita.email, WRONG, "10.0.0.1")
    assert_locked(attempt(client, rita.email, PASSWORD, "10.0.0.1"))
    assert attempt(client, world.colleague.email, PASSWORD, "10.0.0.2").status_code == 200


# -- per client address ---------------------------------------------------------------------


def test_one_address_is_locked_after_failures_over_many_accounts(limits, rita, client):
    for n in range(4):
        resp = attempt(client, f"guess{n}@acme.test", WRONG, "10.1.2.3")
        assert resp.status_code == 401
        assert resp.json["error"]["message"] == WRONG_LOGIN
    # Locked for every account from that address, even with the right password...
    assert_locked(attempt(client, rita.email, PASSWORD, "10.1.2.3"))
    assert_locked(attempt(client, "guess9@acme.test", WRONG, "10.1.2.3"))
    # ...but not from another address.
    assert attempt(client, rita.email, PASSWORD, "10.9.9.9").status_code == 200


def test_failures_from_many_addresses_do_not_lock_an_address(limits, rita, client):
    for n in range(4):
        assert attempt(client, f"guess{n}@acme.test", WRONG, f"10.1.2.{n}").status_code == 401
    assert attempt(client, rita.email, PASSWORD, "10.1.2.0").status_code == 200


# -- the CLI --------------------------------------------------------------------------------


@pytest.fixture
def desk(installed, monkeypatch):
    monkeypatch.setenv("HELPDESK_LOGIN_MAX_FAILURES", "3")
    ok(installed("user", "register", "rita@acme.test", "--name", "Rita"))
    set_password("rita@acme.test", PASSWORD)
    return installed


def login(cli, password: str):
    return cli("login", "rita@acme.test", "--password-stdin", input=password + "\n")


def test_the_cli_says_when_to_try_again_and_exits_5(desk):
    for _ in range(3):
        assert fails(login(desk, WRONG), 4) == f"Error: {WRONG_LOGIN}\n"
    error = fails(login(desk, PASSWORD), 5)
    seconds = int(LOCKED.match(error).group(1))
    assert 890 <= seconds <= 901


def test_the_cli_json_error_carries_retry_after(desk):
    for _ in range(3):
        fails(login(desk, WRONG), 4)
    result = desk("login", "rita@acme.test", "--password-stdin", "--json", input=PASSWORD + "\n")
    error = json.loads(fails(result, 5))["error"]
    assert error["code"] == "too_many_requests"
    assert 1 <= error["details"]["retry_after"] <= 901


def test_a_short_lockout_runs_out(desk, monkeypatch, clock):
    monkeypatch.setenv("HELPDESK_LOGIN_LOCKOUT_SECONDS", "60")
    # Stopped, so that a slow machine's own seconds cannot run the lockout out early.
    clock.freeze(utcnow())
    for _ in range(3):
        fails(login(desk, WRONG), 4)
    error = fails(login(desk, PASSWORD), 5)
    assert LOCKED.match(error).group(1) in ("60", "61")
    clock.advance(seconds=59)
    fails(login(desk, PASSWORD), 5)
    clock.advance(seconds=2)
    assert ok(login(desk, PASSWORD)).stdout.startswith("Logged in as Rita <rita@acme.test>")


def test_a_password_reset_lifts_the_lockout(desk, mailbox):
    for _ in range(3):
        fails(login(desk, WRONG), 4)
    fails(login(desk, PASSWORD), 5)
    ok(desk("account", "forgot", "rita@acme.test"))
    [msg] = [m for m in deliver_mail(mailbox) if m["Subject"] == "Reset your password"]
    new = "rita-reset-password-7"
    ok(reset(desk, token_in(msg, "reset"), new))
    ok(login(desk, new))


def test_a_good_login_does_not_clear_the_failures_of_its_address(world, client, monkeypatch):
    """One valid account must not let an address keep guessing at others."""
    from helpdesk.models import User

    monkeypatch.setenv("HELPDESK_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    User.update(password_hash=hash_password("rita-password-42")).where(
        User.id == world.requester.id
    ).execute()
    where = {"REMOTE_ADDR": "10.9.9.9"}

    def attempt(email, password):
        return client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}, environ_base=where
        ).status_code

    assert attempt("col@acme.test", "guess-one-1234") == 401
    assert attempt("power@acme.test", "guess-two-1234") == 401
    assert attempt("req@acme.test", "rita-password-42") == 200
    assert attempt("shared@acme.test", "guess-three-1234") == 401
    assert attempt("req@acme.test", "rita-password-42") == 429


# -- parallel guesses (issue 7, defect 10) --------------------------------------------------


def test_parallel_wrong_passwords_never_get_past_the_limit(world, app, monkeypatch):
    """40 clients guess Rita's password at once: 5 (the limit) are checked, 35 refused unchecked."""
    with production_hashing():  # a check as slow as in production: the window a race needs
        set_password(world.requester.email, PASSWORD)
        hash_checks = count_hash_work(monkeypatch)
        barrier = threading.Barrier(40)
        answers: list = []

        def guess(n: int) -> None:
            client = app.test_client()
            barrier.wait(timeout=60)
            answers.append(attempt(client, world.requester.email, f"guess-{n}", f"10.0.{n}.1"))

        threads = [threading.Thread(target=lambda n=n: guess(n)) for n in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    codes = sorted(resp.status_code for resp in answers)
    assert codes == [401] * 5 + [429] * 35
    assert len(hash_checks) == 5
    assert LoginThrottle.get(LoginThrottle.key == "account:req@acme.test").failures == 5


# -- the current-password check of a password change (defect 11) -----------------------------


def change_password(client, headers, current: str, address: str = "127.0.0.1"):
    return client.post(
        "/api/v1/account/password",
        json={"current_password": current, "new_password": "rita-new-password-9"},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def test_the_current_password_check_is_throttled_like_a_login(rita, world, client):
    headers = world.headers(rita)
    before = rita.password_hash
    for n in range(5):  # HELPDESK_LOGIN_MAX_FAILURES: 5
        resp = change_password(client, headers, f"wrong-guess-{n}")
        assert (resp.status_code, resp.json["error"]["message"]) == (
            403,
            "The current password is wrong.",
        )
    for n in range(25):
        assert_locked(change_password(client, headers, f"more-guesses-{n}"))
    # The right password now gets no further, from any address; nothing changed.
    assert_locked(change_password(client, headers, PASSWORD, "10.7.7.7"))
    assert User.get_by_id(rita.id).password_hash == before
    # It is the account's own lockout: logging in is locked too.
    assert_locked(attempt(client, rita.email, PASSWORD, "10.8.8.8"))


def test_a_right_current_password_clears_the_count(limits, rita, world, client):
    headers = world.headers(rita)
    for _ in range(2):
        assert change_password(client, headers, WRONG).status_code == 403
    assert change_password(client, headers, PASSWORD).status_code == 200
    # The account may fail three times again (from elsewhere: this address counts its own).
    for _ in range(2):
        assert attempt(client, rita.email, WRONG, "10.2.2.2").status_code == 401
    assert attempt(client, rita.email, "rita-new-password-9", "10.2.2.2").status_code == 200


def test_the_cli_password_change_says_when_to_try_again_and_exits_5(desk):
    ok(login(desk, PASSWORD))
    stdin = f"{WRONG}\nrita-new-password-9\nrita-new-password-9\n"
    for _ in range(3):
        error = fails(desk("account", "password", "--password-stdin", input=stdin), 1)
        assert error == "Error: The current password is wrong.\n"
    right = f"{PASSWORD}\nrita-new-password-9\nrita-new-password-9\n"
    error = fails(desk("account", "password", "--password-stdin", input=right), 5)
    assert 890 <= int(LOCKED.match(error).group(1)) <= 901


# -- requests that email someone: sign-up and password reset (defect 12) ---------------------

TOO_MANY = re.compile(r"^Too many requests for this address; try again in (\d+) seconds\.$")


def assert_request_throttled(resp) -> int:
    assert resp.status_code == 429, resp.json
    error = resp.json["error"]
    retry_after = int(resp.headers["Retry-After"])
    assert error["code"] == "too_many_requests"
    assert error["details"] == {"retry_after": retry_after, "reason": "email_requests"}
    assert TOO_MANY.match(error["message"]).group(1) == str(retry_after)
    assert 3590 <= retry_after <= 3601  # HELPDESK_ACCOUNT_EMAILS_WINDOW_SECONDS: an hour
    return retry_after


def forgot(client, email: str, address: str):
    return client.post(
        "/api/v1/account/password-reset",
        json={"email": email},
        environ_base={"REMOTE_ADDR": address},
    )


def sign_up(client, email: str, address: str):
    return client.post(
        "/api/v1/auth/signup",
        json={"email": email, "name": "Someone"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_reset_requests_for_one_address_are_throttled_whoever_asks(rita, client, mailbox):
    for n in range(3):  # HELPDESK_ACCOUNT_EMAILS_PER_RECIPIENT: 3
        assert forgot(client, rita.email, f"10.0.0.{n}").status_code == 202
    assert_request_throttled(forgot(client, rita.email, "10.0.0.9"))
    assert_request_throttled(forgot(client, rita.email.upper(), "10.0.0.10"))
    # Rita was emailed three times, not five; other addresses are still served.
    assert len(deliver_mail(mailbox)) == 3
    assert forgot(client, "col@acme.test", "10.0.0.9").status_code == 202


def test_reset_requests_from_one_client_are_throttled_whatever_the_address(world, client):
    for n in range(10):  # HELPDESK_ACCOUNT_EMAILS_PER_CLIENT: 10
        assert forgot(client, f"someone{n}@acme.test", "10.3.3.3").status_code == 202
    assert_request_throttled(forgot(client, world.requester.email, "10.3.3.3"))
    assert forgot(client, world.requester.email, "10.4.4.4").status_code == 202


def test_sign_up_requests_are_throttled_per_address_and_per_client(client, db, monkeypatch):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    monkeypatch.setenv("HELPDESK_ACCOUNT_EMAILS_PER_CLIENT", "4")
    for n in range(3):
        assert sign_up(client, "victim@any.test", f"10.5.5.{n}").status_code == 202
    assert_request_throttled(sign_up(client, "victim@any.test", "10.5.5.9"))
    for n in range(4):
        assert sign_up(client, f"new{n}@any.test", "10.6.6.6").status_code == 202
    assert_request_throttled(sign_up(client, "other@any.test", "10.6.6.6"))
    assert not User.select().where(User.email == "other@any.test").exists()


def test_sign_up_and_reset_share_the_count_of_an_address(rita, client, monkeypatch):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    assert sign_up(client, rita.email, "10.0.0.1").status_code == 202
    assert forgot(client, rita.email, "10.0.0.2").status_code == 202
    assert sign_up(client, rita.email, "10.0.0.3").status_code == 202
    assert_request_throttled(forgot(client, rita.email, "10.0.0.4"))


def test_email_requests_are_served_again_after_the_window(rita, client, clock):
    for n in range(3):
        assert forgot(client, rita.email, f"10.0.0.{n}").status_code == 202
    retry_after = assert_request_throttled(forgot(client, rita.email, "10.0.0.9"))
    clock.advance(seconds=retry_after - 5)
    assert forgot(client, rita.email, "10.0.0.9").status_code == 429
    clock.advance(seconds=6)
    assert forgot(client, rita.email, "10.0.0.9").status_code == 202


def test_the_cli_exits_5_when_sign_up_or_reset_is_throttled(installed, monkeypatch):
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")
    monkeypatch.setenv("HELPDESK_ACCOUNT_EMAILS_PER_RECIPIENT", "1")
    ok(installed("signup", "zoe@any.test", "--name", "Zoe"))
    error = fails(installed("signup", "zoe@any.test", "--name", "Zoe"), 5)
    assert TOO_MANY.match(error.removeprefix("Error: ").rstrip("\n"))
    assert TOO_MANY.match(fails(installed("account", "forgot", "zoe@any.test"), 5)[7:-1])

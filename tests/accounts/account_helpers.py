"""Helpers shared by the account tests: CLI results, delivered mail, tokens, direct set-up.

Not a conftest.py: the root conftest is imported as `conftest` by other test modules, and a
second conftest.py without a package would take that name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from conftest import TEST_HASH_METHOD, deliver

from helpdesk import __version__
from helpdesk.db import database
from helpdesk.models import AccountToken, ApiToken, User, utcnow
from helpdesk.services import api_tokens, passwords

ADMIN = "admin@example.test"
BASE_URL = "http://127.0.0.1:5000"  # HELPDESK_BASE_URL, set by the mailbox fixture
CLI_AGENT = f"helpdesk-cli/{__version__}"
INVALID_LINK = "invalid, was already used or has expired"
WRONG_LOGIN = "Wrong email or password."
REVOKED = "The token is invalid, expired or revoked; log in again."


# -- CLI results ----------------------------------------------------------------------------


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


def as_user(cli, token: str):
    """Run commands with HELPDESK_TOKEN set, as a script acting for that user would."""

    def run(*args: str, input: str | None = None):
        return cli(*args, input=input, env={"HELPDESK_TOKEN": token})

    return run


def twice(password: str) -> str:
    """stdin for a command that reads a new password twice (--password-stdin)."""
    return f"{password}\n{password}\n"


# -- the database, for set-up and for what a user cannot see --------------------------------


@contextmanager
def connection() -> Iterator[None]:
    """An open connection: the caller's, or one opened (and closed) here."""
    opened = database.connect(reuse_if_open=True)
    try:
        yield
    finally:
        if opened:
            database.close()


def user(email: str) -> User:
    with connection():
        return User.get(User.email == email)


def set_user(email: str, **fields) -> None:
    """Test set-up only: change a user's row directly."""
    with connection():
        User.update(**fields).where(User.email == email).execute()


def set_password(email: str, password: str) -> None:
    """Give a user a password directly (one hash)."""
    set_user(email, password_hash=passwords.hash_password(password))


def token_for(email: str, name: str = "test") -> str:
    """A token for a user without going through a login: no password hash."""
    with connection():
        return api_tokens.issue_token(User.get(User.email == email), name=name)


def expire_account_tokens(email: str) -> None:
    """Test set-up only: every emailed token of the user expired an hour ago."""
    with connection():
        owner = User.get(User.email == email)
        AccountToken.update(expires_at=utcnow() - timedelta(hours=1)).where(
            AccountToken.user == owner
        ).execute()


def expire_api_token(token_id: int) -> None:
    with connection():
        ApiToken.update(expires_at=utcnow() - timedelta(minutes=1)).where(
            ApiToken.id == token_id
        ).execute()


@contextmanager
def production_hashing() -> Iterator[None]:
    """Hash passwords at the production cost, as `helpdesk serve` does, within the block."""
    passwords.use_hash_method_for_tests(None)
    try:
        yield
    finally:
        passwords.use_hash_method_for_tests(TEST_HASH_METHOD)


def count_hash_work(monkeypatch) -> list[str]:
    """From now on, every password hash werkzeug computes (a check or a new hash), any thread.

    werkzeug is not our code: it is wrapped only to count, and still does the work.
    """
    import werkzeug.security

    calls: list[str] = []
    real = werkzeug.security._hash_internal

    def counting(method, salt, password):
        calls.append(method)
        return real(method, salt, password)

    monkeypatch.setattr(werkzeug.security, "_hash_internal", counting)
    return calls


# -- mail -----------------------------------------------------------------------------------


def deliver_mail(mailbox) -> list:
    """Run one delivery round; the messages the SMTP server received in it."""
    before = len(mailbox.messages)
    with connection():
        deliver()
    return mailbox.messages[before:]


def recipient(msg) -> str:
    [address] = msg["To"].addresses
    return address.addr_spec


def text_of(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def html_of(msg) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


def token_in(msg, command: str) -> str:
    """The token of an account email: in `helpdesk account COMMAND TOKEN` and in the link."""
    text = text_of(msg)
    [from_command] = re.findall(rf"helpdesk account {command} (\S+)", text)
    [from_link] = re.findall(rf"{re.escape(BASE_URL)}/account/{command}/(\S+)", text)
    assert from_command == from_link
    return from_command


# -- the emailed commands, as the emails show them ----------------------------------------


def activate(cli, token: str, password: str, confirmation: str | None = None):
    """`helpdesk account activate TOKEN --password-stdin`, the new password given twice."""
    confirmation = password if confirmation is None else confirmation
    return cli(
        "account", "activate", token, "--password-stdin", input=f"{password}\n{confirmation}\n"
    )


def reset(cli, token: str, password: str):
    """`helpdesk account reset TOKEN --password-stdin`, the new password given twice."""
    return cli("account", "reset", token, "--password-stdin", input=twice(password))


def confirm_email(cli, token: str):
    return cli("account", "confirm-email", token)

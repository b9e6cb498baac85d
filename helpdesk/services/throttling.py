"""Throttles: failed passwords per account and per client, account emails per recipient and client.

An attempt is counted before it is made, in one write transaction that locks the counters, so
that parallel attempts can never get past the limit; a successful login gives its count back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from peewee import IntegrityError

from helpdesk.config import current_settings
from helpdesk.db import database
from helpdesk.errors import TooManyRequests
from helpdesk.i18n import N_
from helpdesk.models import LoginThrottle, utcnow
from helpdesk.services.access_log import Client


@dataclass(frozen=True)
class Counter:
    """One key's limit: at most `limit` attempts, then locked for `window`."""

    key: str
    limit: int
    window: timedelta


def password_counters(email: str, client: Client) -> list[Counter]:
    """Failed passwords of an account (login, password change), and of a client address."""
    settings = current_settings().accounts
    window = timedelta(seconds=settings.lockout_seconds)
    counters = [Counter(f"account:{email.strip().lower()}", settings.login_max_failures, window)]
    if client.address:
        counters.append(Counter(f"address:{client.address}", settings.address_max_failures, window))
    return counters


def email_request_counters(email: str, client: Client) -> list[Counter]:
    """Sign-up and reset requests, which email someone: per recipient and per client address."""
    settings = current_settings().accounts
    window = timedelta(seconds=settings.email_request_window_seconds)
    counters = [
        Counter(f"mail-to:{email.strip().lower()}", settings.email_requests_per_recipient, window)
    ]
    if client.address:
        counters.append(
            Counter(f"mail-from:{client.address}", settings.email_requests_per_client, window)
        )
    return counters


def _locked_rows(keys: list[str]) -> dict[str, LoginThrottle]:
    """The counters' rows, created if missing and locked against other writers until commit."""
    now = utcnow()
    for key in keys:
        if not LoginThrottle.select().where(LoginThrottle.key == key).exists():
            try:
                with database.atomic():  # a savepoint: a concurrent insert may win
                    LoginThrottle.create(key=key, failures=0, window_start=now)
            except IntegrityError:
                pass
    query = LoginThrottle.select().where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key)
    # SQLite's write transactions (BEGIN IMMEDIATE) already exclude every other writer.
    if database.for_update:
        query = query.for_update()
    return {row.key: row for row in query}


def take_attempt(counters: list[Counter], message: str, details: dict | None = None) -> None:
    """Count one attempt on every counter, or raise TooManyRequests if one is locked.

    Called before the attempt's work, in its own transaction: of N parallel attempts, at most
    `limit` get through.
    """
    now = utcnow()
    with database.atomic():
        rows = _locked_rows(sorted(c.key for c in counters))
        for counter in counters:
            row = rows[counter.key]
            if row.locked_until is not None and row.locked_until <= now:
                row.failures, row.window_start, row.locked_until = 0, now, None
            elif now - row.window_start > counter.window:
                row.failures, row.window_start = 0, now
        locked = [r.locked_until for r in rows.values() if r.locked_until is not None]
        if locked:
            retry_after = max(1, int((max(locked) - now).total_seconds()) + 1)
            raise TooManyRequests(message, details, retry_after=retry_after)
        for counter in counters:
            row = rows[counter.key]
            row.failures += 1
            if row.failures >= counter.limit:
                row.locked_until = now + counter.window
            row.save()


def give_back(counters: list[Counter]) -> None:
    """Undo take_attempt for a successful attempt (inside the caller's transaction)."""
    for counter in counters:
        row = LoginThrottle.get_or_none(LoginThrottle.key == counter.key)
        if row is None or row.failures == 0:
            continue
        row.failures -= 1
        if row.failures < counter.limit:
            row.locked_until = None
        row.save()


def clear(email: str) -> None:
    """Forget an account's failed passwords (a good login, a password reset)."""
    LoginThrottle.delete().where(LoginThrottle.key == f"account:{email.strip().lower()}").execute()


LOGIN_MESSAGE = N_("Too many failed logins; try again in {retry_after} seconds.")


def take_password_attempt(email: str, client: Client) -> list[Counter]:
    """Count a password check of this account from this client before it is made."""
    counters = password_counters(email, client)
    take_attempt(counters, LOGIN_MESSAGE)
    return counters


def take_email_request(email: str, client: Client) -> None:
    """Count a request that emails `email` (sign-up, password reset)."""
    take_attempt(
        email_request_counters(email, client),
        N_("Too many requests for this address; try again in {retry_after} seconds."),
        {"reason": "email_requests"},
    )

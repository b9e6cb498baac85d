"""Emailed account tokens: invitation, sign-up, password reset, email change.

Random, stored hashed, single-use and expiring; redeeming one gives one error for forged, used
and expired alike.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from helpdesk.config import current_settings
from helpdesk.db import database
from helpdesk.errors import NotFound
from helpdesk.i18n import N_
from helpdesk.mail.outbox import queue_account_email
from helpdesk.models import AccountToken, User, utcnow
from helpdesk.services.api_tokens import hash_token


def issue_account_token(
    user: User, purpose: str, ttl: timedelta, *, new_email: str | None = None
) -> tuple[str, datetime]:
    """A fresh token for this purpose; older unused ones of the same purpose are voided."""
    now = utcnow()
    AccountToken.update(used_at=now).where(
        (AccountToken.user == user)
        & (AccountToken.purpose == purpose)
        & AccountToken.used_at.is_null()
    ).execute()
    # A prefix: a bare token may start with "-", which a command line reads as an option.
    raw = "hdt_" + secrets.token_urlsafe(32)
    expires_at = now + ttl
    AccountToken.create(
        user=user,
        purpose=purpose,
        token_hash=hash_token(raw),
        new_email=new_email,
        expires_at=expires_at,
    )
    return raw, expires_at


def void_emailed_tokens(user: User) -> None:
    """No link sent before this moment works any more."""
    AccountToken.update(used_at=utcnow()).where(
        (AccountToken.user == user) & AccountToken.used_at.is_null()
    ).execute()


def redeem(raw: str, purposes: tuple[str, ...]) -> AccountToken:
    """The valid token, marked used; one error for forged, used and expired alike."""
    token = (
        AccountToken.select(AccountToken, User)
        .join(User)
        .where(AccountToken.token_hash == hash_token(raw if isinstance(raw, str) else ""))
        .first()
    )
    if (
        token is None
        or token.purpose not in purposes
        or token.used_at is not None
        or token.expires_at <= utcnow()
    ):
        raise NotFound(
            N_("This link is invalid, was already used or has expired; ask for a new one."),
            {"token": "invalid"},
        )
    claimed = (
        AccountToken.update(used_at=utcnow())
        .where((AccountToken.id == token.id) & AccountToken.used_at.is_null())
        .execute()
    )
    if claimed != 1:  # another request redeemed it a moment ago
        raise NotFound(N_("This link was already used."), {"token": "used"})
    return token


def send_account_email(
    user: User,
    purpose: str,
    ttl: timedelta,
    *,
    actor: User | None = None,
    new_email: str | None = None,
) -> None:
    """Issue a token for `purpose` and queue the email that carries it (caller's transaction)."""
    raw, expires_at = issue_account_token(user, purpose, ttl, new_email=new_email)
    queue_account_email(
        user, purpose, raw, expires_at, current_settings().mail, actor=actor, to_address=new_email
    )


def stand_in_email(email: str, purpose: str, language: str = "en") -> None:
    """The work of an account email to an address that must not get one: made, written, undone.

    For answers that must not tell, even by their timing, whether an address has an account.
    """
    stand_in = User(email=email, name=email.partition("@")[0], language=language)
    raw = "hdt_" + secrets.token_urlsafe(32)
    hash_token(raw)
    with database.atomic() as savepoint:
        queue_account_email(stand_in, purpose, raw, utcnow(), current_settings().mail)
        savepoint.rollback()


def send_invitation(user: User, *, actor: User | None) -> None:
    """Email the user a link to choose their password (inside the caller's transaction)."""
    ttl = timedelta(hours=current_settings().accounts.invitation_ttl_hours)
    send_account_email(user, "invite", ttl, actor=actor)

"""API tokens: issued at login or for scripts, checked on every request, revoked.

Only a token's SHA-256 is stored; the raw value is shown once.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta

from helpdesk import validation
from helpdesk.db import database, write_if_free
from helpdesk.errors import AuthenticationRequired, NotFound, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import ApiToken, User, utcnow
from helpdesk.services.access_log import NO_CLIENT, Client, log_access

# A token's last use is written at most once per interval, and never waited for.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
MAX_TOKEN_ID = 2**63 - 1

log = logging.getLogger(__name__)


def hash_token(raw: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 is enough to make a stolen table useless.
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    user: User, name: str = "login", expires_at: datetime | None = None, read_only: bool = False
) -> str:
    """Create a token for the user; only its hash is kept, the raw value is returned once."""
    raw = "hd_" + secrets.token_urlsafe(32)
    ApiToken.create(
        user=user, name=name, token_hash=hash_token(raw), expires_at=expires_at, read_only=read_only
    )
    return raw


def user_for_token(raw: str, *, client: Client = NO_CLIENT) -> tuple[User, ApiToken]:
    """The active user behind a valid token, or AuthenticationRequired."""
    token = (
        ApiToken.select(ApiToken, User)
        .join(User)
        .where(ApiToken.token_hash == hash_token(raw if isinstance(raw, str) else ""))
        .first()
    )
    now = utcnow()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
        or not token.user.active
    ):
        raise AuthenticationRequired(N_("The token is invalid, expired or revoked; log in again."))
    if token.last_used_at is None or token.last_used_at < now - TOKEN_TOUCH_INTERVAL:
        # Skipped, not waited for, when another writer holds the lock (the next request
        # records it) or the database is read-only: a read never waits or fails for this.
        if not write_if_free(lambda: _record_use(token, now, client)):
            log.info("token %s: use not recorded, the database is busy or read-only", token.id)
    return token.user, token


def _record_use(token: ApiToken, now: datetime, client: Client) -> None:
    touched = (
        ApiToken.update(last_used_at=now)
        .where(
            (ApiToken.id == token.id)
            & (
                ApiToken.last_used_at.is_null()
                | (ApiToken.last_used_at < now - TOKEN_TOUCH_INTERVAL)
            )
        )
        .execute()
    )
    if touched:  # not already recorded by a parallel request
        token.last_used_at = now
        log_access(token.user, "token", "success", client)


DURATION_RE = re.compile(r"^(\d{1,5})([mhdw])$")
DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(value) -> datetime | None:
    """'90d', '12h', '30m', '2w', or an ISO date/datetime; None for no expiry."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValidationFailed(
            N_("expires must be text like 90d or 2027-01-31."), {"field": "expires"}
        )
    match = DURATION_RE.match(value.strip().lower())
    if match:
        amount = int(match.group(1))
        if amount == 0:
            raise ValidationFailed(N_("expires must be in the future."), {"field": "expires"})
        return utcnow() + timedelta(**{DURATION_UNITS[match.group(2)]: amount})
    moment = validation.date_bound("expires", value)
    if moment is None or moment <= utcnow():
        raise ValidationFailed(N_("expires must be in the future."), {"field": "expires"})
    return moment


def create_token(actor: User, name, *, expires=None, read_only=False) -> tuple[ApiToken, str]:
    """A named token for scripts and CI; the raw value is shown once."""
    name = validation.text("name", name, max_length=100, one_line=True)
    validation.boolean("read_only", read_only)
    expires_at = parse_expiry(expires)
    with database.atomic():
        raw = issue_token(actor, name=name, expires_at=expires_at, read_only=read_only)
        token = ApiToken.get(ApiToken.token_hash == hash_token(raw))
    return token, raw


def list_tokens(actor: User) -> list[ApiToken]:
    return list(ApiToken.select().where(ApiToken.user == actor).order_by(ApiToken.id))


ID_RE = re.compile(r"[0-9]{1,30}")


def _token_identifier(identifier) -> str:
    """An id (a JSON number or digits) or a name, as text; 422 for anything else."""
    if isinstance(identifier, int) and not isinstance(identifier, bool):
        identifier = str(identifier)
    if not isinstance(identifier, str):
        raise ValidationFailed(N_("token must be a token's id or name."), {"field": "token"})
    return validation.text("token", identifier, max_length=100)


def revoke_named_token(actor: User, identifier) -> list[ApiToken]:
    """Revoke the caller's own token(s) by id or by name."""
    identifier = _token_identifier(identifier)
    query = ApiToken.select().where((ApiToken.user == actor) & ApiToken.revoked_at.is_null())
    if ID_RE.fullmatch(identifier):
        token_id = int(identifier)
        # Beyond a 64-bit id no token exists (and the database could not compare it).
        query = query.where(ApiToken.id == token_id) if token_id <= MAX_TOKEN_ID else None
    else:
        query = query.where(ApiToken.name == identifier)
    tokens = list(query) if query is not None else []
    if not tokens:
        raise NotFound(N_("You have no active token {token!r}."), token=identifier)
    ApiToken.update(revoked_at=utcnow()).where(ApiToken.id.in_([t.id for t in tokens])).execute()
    return tokens


def revoke_token(token: ApiToken) -> None:
    ApiToken.update(revoked_at=utcnow()).where(
        (ApiToken.id == token.id) & ApiToken.revoked_at.is_null()
    ).execute()


def revoke_all(user: User, *, keep: ApiToken | None = None) -> int:
    """Revoke every token of the user but `keep` (inside the caller's transaction)."""
    query = ApiToken.update(revoked_at=utcnow()).where(
        (ApiToken.user == user) & ApiToken.revoked_at.is_null()
    )
    if keep is not None:
        query = query.where(ApiToken.id != keep.id)
    return query.execute()

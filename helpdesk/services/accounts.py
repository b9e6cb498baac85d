"""Identity: invitations, sign-up, passwords, login throttling, API tokens, profiles, access log.

Emailed tokens (invitation, sign-up, reset, email change) are random, stored hashed, single-use
and expiring. Answers about a password reset never reveal whether an address exists.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

from peewee import IntegrityError, OperationalError, fn
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk import permissions, validation
from helpdesk.config import load_account_settings, load_mail_settings
from helpdesk.db import database
from helpdesk.errors import (
    AuthenticationRequired,
    Conflict,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)
from helpdesk.formats import DATE_FORMATS, LANGUAGES
from helpdesk.mail.outbox import queue_account_email
from helpdesk.models import (
    AccessLog,
    AccountToken,
    ApiToken,
    LoginThrottle,
    Membership,
    Organization,
    User,
    utcnow,
)
from helpdesk.pagination import Page, paginate

MIN_PASSWORD_LENGTH = 10
# werkzeug's scrypt with its current cost; older hashes are upgraded at the next login.
PASSWORD_METHOD = "scrypt:32768:8:1"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
EMAIL_CHANGE_TTL = timedelta(hours=24)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Client:
    """Where a request came from, for the access log and throttling."""

    address: str | None = None
    user_agent: str | None = None


NO_CLIENT = Client()


def _hash(raw: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 is enough to make a stolen table useless.
    return hashlib.sha256(raw.encode()).hexdigest()


def log_access(user: User | None, event: str, outcome: str, client: Client, email=None) -> None:
    AccessLog.create(
        user=user,
        email=(email or (user.email if user else None)),
        event=event,
        outcome=outcome,
        address=(client.address or "")[:64] or None,
        user_agent=(client.user_agent or "")[:255] or None,
    )


# -- passwords --------------------------------------------------------------------------------


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("helpdesk").joinpath("data/common_passwords.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password_policy(password, email: str) -> str:
    """The password, if it is long enough, not the email, and not a common password."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
            {"field": "password"},
        )
    if len(password) > 1024:
        raise ValidationFailed("The password is too long (at most 1024).", {"field": "password"})
    folded = password.strip().lower()
    if folded == email.lower() or folded == email.lower().partition("@")[0]:
        raise ValidationFailed("The password must not be the email address.", {"field": "password"})
    if folded in common_passwords():
        raise ValidationFailed(
            "This password is too common; choose another one.", {"field": "password"}
        )
    return password


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def needs_rehash(password_hash: str) -> bool:
    return password_hash.split("$", 1)[0] != PASSWORD_METHOD


@functools.cache
def _dummy_hash() -> str:
    """Checked for an unknown email, so that it costs as long as a wrong password."""
    return hash_password("not-a-real-password")


def _require_local(user: User) -> None:
    if user.auth_source != "local":
        raise PermissionDenied(
            f"This account signs in through {user.auth_source}; its password cannot be changed "
            "or reset here. Ask your administrator.",
            {"auth_source": user.auth_source},
        )


def _set_password(user: User, password: str) -> None:
    check_password_policy(password, user.email)
    user.password_hash = hash_password(password)
    user.updated_at = utcnow()
    user.save()


# -- emailed tokens ---------------------------------------------------------------------------


def _issue_account_token(
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
        token_hash=_hash(raw),
        new_email=new_email,
        expires_at=expires_at,
    )
    return raw, expires_at


def _void_emailed_tokens(user: User) -> None:
    """No link sent before this moment works any more."""
    AccountToken.update(used_at=utcnow()).where(
        (AccountToken.user == user) & AccountToken.used_at.is_null()
    ).execute()


def _redeem(raw: str, purposes: tuple[str, ...]) -> AccountToken:
    """The valid token, marked used; one error for forged, used and expired alike."""
    token = (
        AccountToken.select(AccountToken, User)
        .join(User)
        .where(AccountToken.token_hash == _hash(raw if isinstance(raw, str) else ""))
        .first()
    )
    if (
        token is None
        or token.purpose not in purposes
        or token.used_at is not None
        or token.expires_at <= utcnow()
    ):
        raise NotFound(
            "This link is invalid, was already used or has expired; ask for a new one.",
            {"token": "invalid"},
        )
    claimed = (
        AccountToken.update(used_at=utcnow())
        .where((AccountToken.id == token.id) & AccountToken.used_at.is_null())
        .execute()
    )
    if claimed != 1:  # another request redeemed it a moment ago
        raise NotFound("This link was already used.", {"token": "used"})
    return token


def send_invitation(user: User, *, actor: User | None) -> None:
    """Email the user a link to choose their password (inside the caller's transaction)."""
    ttl = timedelta(hours=load_account_settings().invitation_ttl_hours)
    raw, expires_at = _issue_account_token(user, "invite", ttl)
    queue_account_email(user, "invite", raw, expires_at, load_mail_settings(), actor=actor)


def resend_invitation(email: str, *, actor: User) -> User:
    """A fresh invitation; the previous link stops working."""
    from helpdesk.services.users import get_user_by_email

    with database.atomic():
        user = get_user_by_email(email)
        require_manage(actor, user)
        if user.password_hash is not None:
            raise Conflict(
                f"{user.email} has already activated their account.", {"email": user.email}
            )
        send_invitation(user, actor=actor)
    return user


def activate_account(raw: str, password, *, client: Client = NO_CLIENT) -> tuple[User, str]:
    """Choose the password with an invitation or sign-up token; log in."""
    with database.atomic():
        token = _redeem(raw, ("invite", "signup"))
        user = token.user
        if not user.active:
            raise AuthenticationRequired("This account is deactivated.")
        if user.password_hash is not None:
            raise Conflict(
                f"{user.email} is already active; log in, or reset a forgotten password.",
                {"email": user.email},
            )
        _set_password(user, password)
        log_access(user, "activation", "success", client)
        raw_token = issue_token(user, name="activation")
    return user, raw_token


# -- sign-up ----------------------------------------------------------------------------------

SIGNUP_ANSWER = "If this address can be registered, a confirmation email is on its way."


def external_organization() -> Organization:
    name = load_account_settings().external_organization
    org = Organization.get_or_none(fn.LOWER(Organization.name) == name.lower())
    return org or Organization.create(name=name)


def signup(email, name, *, client: Client = NO_CLIENT, language: str = "en") -> str:
    """Register an external customer who confirms their address by email.

    The answer is the same whether or not the address already has an account.
    """
    settings = load_account_settings()
    email = validation.email(email)
    name = validation.text("name", name, max_length=200, one_line=True)
    validation.choice("language", language, LANGUAGES)
    if settings.signup == "closed":
        raise PermissionDenied("Sign-up is closed; ask the support team for an invitation.")
    domain = email.rpartition("@")[2]
    if settings.signup == "domains" and domain not in settings.signup_domains:
        raise PermissionDenied(f"Sign-up is not open to addresses at {domain}.", {"domain": domain})
    with database.atomic():
        if User.select().where(User.email == email).exists():
            log_access(None, "signup", "duplicate", client, email=email)
            return SIGNUP_ANSWER
        user = User.create(
            email=email, name=name, kind="customer", origin="external", language=language
        )
        Membership.create(user=user, organization=external_organization(), role="user")
        raw, expires_at = _issue_account_token(
            user, "signup", timedelta(hours=settings.invitation_ttl_hours)
        )
        queue_account_email(user, "signup", raw, expires_at, load_mail_settings())
        log_access(user, "signup", "success", client)
    return SIGNUP_ANSWER


# -- login and throttling ---------------------------------------------------------------------


def _throttle_keys(email: str, client: Client) -> list[tuple[str, int]]:
    settings = load_account_settings()
    keys = [(f"account:{email.strip().lower()}", settings.login_max_failures)]
    if client.address:
        keys.append((f"address:{client.address}", settings.address_max_failures))
    return keys


def _check_throttle(keys: list[tuple[str, int]]) -> None:
    now = utcnow()
    locked = [
        row.locked_until
        for row in LoginThrottle.select().where(LoginThrottle.key.in_([k for k, _ in keys]))
        if row.locked_until is not None and row.locked_until > now
    ]
    if locked:
        retry_after = max(1, int((max(locked) - now).total_seconds()) + 1)
        raise TooManyRequests(
            f"Too many failed logins; try again in {retry_after} seconds.",
            {"retry_after": retry_after},
        )


def _record_failure(keys: list[tuple[str, int]]) -> None:
    lockout = timedelta(seconds=load_account_settings().lockout_seconds)
    now = utcnow()
    for key, limit in keys:
        with database.atomic():
            row = LoginThrottle.get_or_none(LoginThrottle.key == key)
            if row is None:
                try:
                    with database.atomic():
                        row = LoginThrottle.create(key=key, failures=0, window_start=now)
                except IntegrityError:  # created by a concurrent failure
                    row = LoginThrottle.get(LoginThrottle.key == key)
            if now - row.window_start > lockout:
                row.failures, row.window_start, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= limit:
                row.locked_until = now + lockout
            row.save()


def _clear_throttle(email: str) -> None:
    LoginThrottle.delete().where(LoginThrottle.key == f"account:{email.lower()}").execute()


def log_in(email, password, token_name=None, *, client: Client = NO_CLIENT) -> tuple[User, str]:
    """Check the credentials (throttled) and issue a new token named `token_name`."""
    email = validation.text("email", email, max_length=254).lower()
    if not isinstance(password, str):
        raise ValidationFailed("password must be text.", {"field": "password"})
    name = validation.text("token_name", token_name or "login", max_length=100)
    keys = _throttle_keys(email, client)
    _check_throttle(keys)
    user = User.get_or_none(User.email == email)
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    ok = check_password_hash(stored, password)
    if user is None or not user.password_hash or not ok or not user.active:
        _record_failure(keys)
        log_access(user, "login", "failure", client, email=email)
        raise AuthenticationRequired("Wrong email or password.")
    with database.atomic():
        # The account's count only: one good password must not clear an address that is
        # guessing at other accounts.
        _clear_throttle(email)
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            user.save()
        log_access(user, "login", "success", client)
        raw = issue_token(user, name=name)
    return user, raw


# -- API tokens -------------------------------------------------------------------------------


def issue_token(
    user: User, name: str = "login", expires_at: datetime | None = None, read_only: bool = False
) -> str:
    """Create a token for the user; only its hash is kept, the raw value is returned once."""
    raw = "hd_" + secrets.token_urlsafe(32)
    ApiToken.create(
        user=user, name=name, token_hash=_hash(raw), expires_at=expires_at, read_only=read_only
    )
    return raw


def user_for_token(raw: str, *, client: Client = NO_CLIENT) -> tuple[User, ApiToken]:
    token = (
        ApiToken.select(ApiToken, User)
        .join(User)
        .where(ApiToken.token_hash == _hash(raw or ""))
        .first()
    )
    now = utcnow()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
        or not token.user.active
    ):
        raise AuthenticationRequired("The token is invalid, expired or revoked; log in again.")
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        # At most one write per token and minute: the last use and an access-log line. A
        # database that refuses the write (read-only) still answers the read.
        try:
            with database.atomic():
                ApiToken.update(last_used_at=now).where(ApiToken.id == token.id).execute()
                log_access(token.user, "token", "success", client)
        except OperationalError as exc:
            log.info("token use not recorded: %s", exc)
    return token.user, token


DURATION_RE = re.compile(r"^(\d{1,5})([mhdw])$")
DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(value) -> datetime | None:
    """'90d', '12h', '30m', '2w', or an ISO date/datetime; None for no expiry."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValidationFailed("expires must be text like 90d or 2027-01-31.", {"field": "expires"})
    match = DURATION_RE.match(value.strip().lower())
    if match:
        amount = int(match.group(1))
        if amount == 0:
            raise ValidationFailed("expires must be in the future.", {"field": "expires"})
        return utcnow() + timedelta(**{DURATION_UNITS[match.group(2)]: amount})
    moment = validation.date_bound("expires", value)
    if moment is None or moment <= utcnow():
        raise ValidationFailed("expires must be in the future.", {"field": "expires"})
    return moment


def create_token(actor: User, name, *, expires=None, read_only=False) -> tuple[ApiToken, str]:
    """A named token for scripts and CI; the raw value is shown once."""
    name = validation.text("name", name, max_length=100, one_line=True)
    validation.boolean("read_only", read_only)
    expires_at = parse_expiry(expires)
    with database.atomic():
        raw = issue_token(actor, name=name, expires_at=expires_at, read_only=read_only)
        token = ApiToken.get(ApiToken.token_hash == _hash(raw))
    return token, raw


def list_tokens(actor: User) -> list[ApiToken]:
    return list(ApiToken.select().where(ApiToken.user == actor).order_by(ApiToken.id))


def revoke_named_token(actor: User, identifier) -> list[ApiToken]:
    """Revoke the caller's own token(s) by id or by name."""
    identifier = validation.text(
        "token", str(identifier) if identifier is not None else "", max_length=100
    )
    query = ApiToken.select().where((ApiToken.user == actor) & ApiToken.revoked_at.is_null())
    if identifier.isdigit():
        query = query.where(ApiToken.id == int(identifier))
    else:
        query = query.where(ApiToken.name == identifier)
    tokens = list(query)
    if not tokens:
        raise NotFound(f"You have no active token {identifier!r}.", {"token": identifier})
    ApiToken.update(revoked_at=utcnow()).where(ApiToken.id.in_([t.id for t in tokens])).execute()
    return tokens


def revoke_token(token: ApiToken) -> None:
    ApiToken.update(revoked_at=utcnow()).where(
        (ApiToken.id == token.id) & ApiToken.revoked_at.is_null()
    ).execute()


def _revoke_all(user: User, *, keep: ApiToken | None = None) -> int:
    query = ApiToken.update(revoked_at=utcnow()).where(
        (ApiToken.user == user) & ApiToken.revoked_at.is_null()
    )
    if keep is not None:
        query = query.where(ApiToken.id != keep.id)
    return query.execute()


# -- password change and reset ----------------------------------------------------------------


def change_password(
    actor: User, current, new, *, current_token: ApiToken | None, client: Client = NO_CLIENT
) -> int:
    """Change one's password; every other token of the user is revoked. Returns how many."""
    _require_local(actor)
    if (
        not isinstance(current, str)
        or not actor.password_hash
        or not check_password_hash(actor.password_hash, current)
    ):
        log_access(actor, "password_change", "failure", client)
        raise PermissionDenied("The current password is wrong.", {"field": "current_password"})
    with database.atomic():
        _set_password(actor, new)
        revoked = _revoke_all(actor, keep=current_token)
        log_access(actor, "password_change", "success", client)
    return revoked


RESET_ANSWER = "If this address has an account here, a reset link is on its way."


def request_password_reset(email, *, client: Client = NO_CLIENT) -> str:
    """Email a reset link; the answer is the same for unknown addresses."""
    email = validation.text("email", email, max_length=254).lower()
    with database.atomic():
        user = User.get_or_none(User.email == email)
        if user is None or not user.active or user.auth_source != "local":
            log_access(user, "password_reset_request", "ignored", client, email=email)
            return RESET_ANSWER
        ttl = timedelta(minutes=load_account_settings().reset_ttl_minutes)
        raw, expires_at = _issue_account_token(user, "reset", ttl)
        queue_account_email(user, "reset", raw, expires_at, load_mail_settings())
        log_access(user, "password_reset_request", "success", client)
    return RESET_ANSWER


def reset_password(raw: str, new, *, client: Client = NO_CLIENT) -> User:
    """Set a new password with a reset token; every token of the user is revoked."""
    with database.atomic():
        token = _redeem(raw, ("reset",))
        user = token.user
        _require_local(user)
        if not user.active:
            raise AuthenticationRequired("This account is deactivated.")
        _set_password(user, new)
        _revoke_all(user)
        _void_emailed_tokens(user)
        _clear_throttle(user.email)
        log_access(user, "password_reset", "success", client)
    return user


# -- profile ----------------------------------------------------------------------------------


def update_profile(
    actor: User, *, name=None, phone=None, language=None, date_format=None, email=None
) -> tuple[User, bool]:
    """Change one's own profile; a new email waits for confirmation. Returns (user, pending)."""
    with database.atomic():
        if name is not None:
            actor.name = validation.text("name", name, max_length=200, one_line=True)
        if phone is not None:
            actor.phone = (
                validation.text("phone", phone, max_length=40, required=False, one_line=True)
                or None
            )
        if language is not None:
            actor.language = validation.choice("language", language, LANGUAGES)
        if date_format is not None:
            actor.date_format = validation.choice("date_format", date_format, tuple(DATE_FORMATS))
        actor.updated_at = utcnow()
        actor.save()
        pending = False
        if email is not None:
            new_email = validation.email(email)
            if new_email != actor.email:
                if User.select().where(User.email == new_email).exists():
                    raise Conflict(
                        f"{new_email} is already used by another account.", {"email": new_email}
                    )
                raw, expires_at = _issue_account_token(
                    actor, "email_change", EMAIL_CHANGE_TTL, new_email=new_email
                )
                queue_account_email(
                    actor,
                    "email_change",
                    raw,
                    expires_at,
                    load_mail_settings(),
                    to_address=new_email,
                )
                pending = True
    return actor, pending


def confirm_email_change(raw: str, *, client: Client = NO_CLIENT) -> User:
    with database.atomic():
        token = _redeem(raw, ("email_change",))
        user = token.user
        if User.select().where(User.email == token.new_email).exists():
            raise Conflict(
                f"{token.new_email} is already used by another account.", {"email": token.new_email}
            )
        previous = user.email
        user.email = token.new_email
        user.updated_at = utcnow()
        user.save()
        log_access(user, "email_change", "success", client, email=previous)
    return user


# -- managing accounts ------------------------------------------------------------------------


def require_manage(actor: User, user: User) -> None:
    """Customers are managed by admins and by agents with the permission; staff by admins."""
    permissions.require(actor, permissions.manage_action(user.kind))


def set_active(email, active: bool, *, actor: User) -> User:
    """Deactivate (tokens revoked, tickets kept) or reactivate an account."""
    from helpdesk.services.users import get_user_by_email

    validation.boolean("active", active)
    with database.atomic():
        user = get_user_by_email(email)
        require_manage(actor, user)
        if user.id == actor.id:
            raise Conflict("You cannot deactivate yourself.")
        user.active = active
        user.updated_at = utcnow()
        user.save()
        if not active:
            _revoke_all(user)
    return user


def access_log(
    *,
    actor: User,
    organization=None,
    user=None,
    date_from=None,
    date_to=None,
    page=1,
    per_page=25,
) -> Page:
    """Logins and other account events, newest first (agents)."""
    from helpdesk.services.organizations import get_organization

    permissions.require(actor, "report.view")
    query = AccessLog.select(AccessLog, User).join(
        User, on=(AccessLog.user == User.id), join_type="LEFT OUTER JOIN"
    )
    if organization:
        members = Membership.select(Membership.user).where(
            Membership.organization == get_organization(organization)
        )
        query = query.where(AccessLog.user.in_(members))
    if user:
        query = query.where(
            fn.LOWER(AccessLog.email) == validation.text("user", user, max_length=254).lower()
        )
    start = validation.date_bound("from", date_from)
    end = validation.date_bound("to", date_to, end=True)
    if start is not None:
        query = query.where(AccessLog.at >= start)
    if end is not None:
        query = query.where(AccessLog.at < end)
    return paginate(query.order_by(AccessLog.at.desc(), AccessLog.id.desc()), page, per_page)

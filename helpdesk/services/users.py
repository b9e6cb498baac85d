"""Users, passwords and API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from peewee import fn
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk import permissions, validation
from helpdesk.db import database
from helpdesk.errors import AuthenticationRequired, Conflict, NotFound, ValidationFailed
from helpdesk.models import (
    MEMBERSHIP_ROLES,
    USER_KINDS,
    ApiToken,
    Membership,
    Organization,
    User,
    utcnow,
)
from helpdesk.pagination import Page, paginate

MIN_PASSWORD_LENGTH = 10
LANGUAGES = ("en", "fr", "it", "cs")
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


@functools.cache
def _dummy_hash() -> str:
    """Checked for an unknown email, so that it costs as long as a wrong password."""
    return generate_password_hash("not-a-real-password")


def check_password_policy(password: str, email: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
            {"field": "password"},
        )
    if password.strip().lower() == email.lower():
        raise ValidationFailed("The password must not be the email address.", {"field": "password"})


def find_user_by_email(email: str) -> User | None:
    return User.get_or_none(User.email == email.strip().lower())


def get_user_by_email(email: str) -> User:
    email = validation.text("email", email, max_length=254)
    user = find_user_by_email(email)
    if user is None:
        raise NotFound(f"No user with email {email}.", {"email": email})
    return user


def _new_user(email: str, name: str, kind: str, password: str | None, language: str) -> User:
    email = validation.email(email)
    name = validation.text("name", name, max_length=200, one_line=True)
    validation.choice("kind", kind, USER_KINDS)
    validation.choice("language", language, LANGUAGES)
    if find_user_by_email(email) is not None:
        raise Conflict(f"A user with email {email} already exists.", {"email": email})
    password_hash = None
    if password is not None:
        check_password_policy(password, email)
        password_hash = generate_password_hash(password)
    return User.create(
        email=email, name=name, kind=kind, password_hash=password_hash, language=language
    )


def bootstrap_admin(email: str, password: str, name: str | None = None) -> User:
    """Create the first admin of a new installation (no actor: nobody exists yet)."""
    with database.atomic():
        if User.select().where(User.kind == "admin").exists():
            raise Conflict(
                "This help desk already has an admin; log in with 'helpdesk login'.",
                {"email": email},
            )
        return _new_user(email, name or email.split("@")[0], "admin", password, "en")


def register_user(
    email: str,
    name: str,
    *,
    actor: User,
    kind: str = "customer",
    password: str | None = None,
    organization: str | None = None,
    role: str = "user",
    language: str = "en",
) -> User:
    """Create a user, and for a customer the membership of an organization."""
    permissions.require(actor, "user.manage")
    validation.choice("role", role, MEMBERSHIP_ROLES)
    with database.atomic():
        user = _new_user(email, name, kind, password, language)
        if organization is not None:
            if kind != "customer":
                raise ValidationFailed(
                    "Only customers belong to organizations.", {"field": "organization"}
                )
            from helpdesk.services.organizations import get_organization

            Membership.create(user=user, organization=get_organization(organization), role=role)
    return user


def list_users(*, actor: User, kind: str | None = None, page=1, per_page=25) -> Page:
    """A page of users by email, and how many there are."""
    permissions.require(actor, "user.list")
    query = User.select().order_by(User.email)
    if kind:
        query = query.where(User.kind == validation.choice("kind", kind, USER_KINDS))
    return paginate(query, page, per_page)


def get_user(user_id: int, *, actor: User) -> User:
    if actor.id != user_id:
        permissions.require(actor, "user.list")
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.", {"id": user_id})
    return user


def memberships_of(user: User) -> list[Membership]:
    return list(
        Membership.select(Membership, Organization)
        .join(Organization)
        .where(Membership.user == user)
        .order_by(Organization.name)
    )


def resolve_user(identifier: str, candidates) -> User:
    """Find one user among `candidates` (a User query) by email, or by name if unambiguous."""
    identifier = validation.text("user", identifier, max_length=254)
    if "@" in identifier:
        user = candidates.where(User.email == identifier.lower()).first()
        if user is None:
            raise NotFound(f"No user with email {identifier}.", {"user": identifier})
        return user
    matches = list(candidates.where(fn.LOWER(User.name) == identifier.lower()))
    if not matches:
        raise NotFound(f"No user named {identifier!r}.", {"user": identifier})
    if len(matches) > 1:
        emails = sorted(u.email for u in matches)
        raise ValidationFailed(
            f"{len(matches)} users are named {identifier!r}: {', '.join(emails)}. "
            "Name one by email.",
            {"user": identifier, "candidates": emails},
        )
    return matches[0]


# -- authentication -------------------------------------------------------------------------


def authenticate(email: str, password: str) -> User:
    """The active user with this email and password, else AuthenticationRequired."""
    user = find_user_by_email(email or "")
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    ok = check_password_hash(stored, password or "")
    if user is None or not user.password_hash or not ok or not user.active:
        raise AuthenticationRequired("Wrong email or password.")
    return user


def log_in(email: str, password: str, token_name: str | None = None) -> tuple[User, str]:
    """Check the credentials and issue a new token named `token_name`."""
    email = validation.text("email", email, max_length=254)
    if not isinstance(password, str):
        raise ValidationFailed("password must be text.", {"field": "password"})
    name = validation.text("token_name", token_name or "login", max_length=100)
    user = authenticate(email, password)
    return user, issue_token(user, name=name)


def _hash_token(raw: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 is enough to make a stolen table useless.
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, name: str = "login", expires_at: datetime | None = None) -> str:
    """Create a token for the user; only its hash is kept, the raw value is returned once."""
    raw = "hd_" + secrets.token_urlsafe(32)
    ApiToken.create(user=user, name=name, token_hash=_hash_token(raw), expires_at=expires_at)
    return raw


def user_for_token(raw: str) -> tuple[User, ApiToken]:
    token = (
        ApiToken.select(ApiToken, User)
        .join(User)
        .where(ApiToken.token_hash == _hash_token(raw or ""))
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
        ApiToken.update(last_used_at=now).where(ApiToken.id == token.id).execute()
    return token.user, token


def revoke_token(token: ApiToken) -> None:
    ApiToken.update(revoked_at=utcnow()).where(
        (ApiToken.id == token.id) & ApiToken.revoked_at.is_null()
    ).execute()

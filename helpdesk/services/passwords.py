"""Passwords: the policy, hashing and checking, and setting one.

Production hashes use werkzeug's scrypt at PRODUCTION_METHOD. Only the test suite lowers the
cost, through use_hash_method_for_tests(): no setting or environment variable can weaken it.
"""

from __future__ import annotations

import functools
from importlib import resources

from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk.errors import PermissionDenied, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import User, utcnow

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
# werkzeug's scrypt with its current cost; older hashes are upgraded at the next login.
PRODUCTION_METHOD = "scrypt:32768:8:1"
_method = PRODUCTION_METHOD


def use_hash_method_for_tests(method: str | None) -> None:
    """Tests only: hash with a cheap `method` (None: the production one again)."""
    global _method
    _method = method or PRODUCTION_METHOD
    _dummy_hash.cache_clear()


def hash_method() -> str:
    return _method


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
            N_("The password must be at least {min_length} characters long."),
            {"field": "password"},
            min_length=MIN_PASSWORD_LENGTH,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            N_("The password is too long (at most {max_length})."),
            {"field": "password"},
            max_length=MAX_PASSWORD_LENGTH,
        )
    folded = password.strip().lower()
    if folded == email.lower() or folded == email.lower().partition("@")[0]:
        raise ValidationFailed(
            N_("The password must not be the email address."), {"field": "password"}
        )
    if folded in common_passwords():
        raise ValidationFailed(
            N_("This password is too common; choose another one."), {"field": "password"}
        )
    return password


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method)


def needs_rehash(password_hash: str) -> bool:
    return password_hash.split("$", 1)[0] != _method


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


def password_matches(user: User | None, password) -> bool:
    """Whether `password` is the user's; as costly for no user or no password as for a wrong one."""
    stored = user.password_hash if user is not None and user.password_hash else None
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    ok = check_password_hash(stored or _dummy_hash(), password)
    return ok and stored is not None


def equal_work() -> None:
    """One password check that answers nothing: paths that must cost the same both do it."""
    check_password_hash(_dummy_hash(), "")


def require_local(user: User) -> None:
    if user.auth_source != "local":
        raise PermissionDenied(
            N_(
                "This account signs in through {auth_source}; its password cannot be changed "
                "or reset here. Ask your administrator."
            ),
            auth_source=user.auth_source,
        )


def set_password(user: User, password: str) -> None:
    """Check the policy, hash and save (inside the caller's transaction)."""
    check_password_policy(password, user.email)
    user.password_hash = hash_password(password)
    user.updated_at = utcnow()
    user.save()

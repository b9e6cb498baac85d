"""Checking passwords: logging in, and changing one's password (the current one is checked).

Both go through the same throttle, and count the attempt before the password is checked.
"""

from __future__ import annotations

from helpdesk import validation
from helpdesk.db import database
from helpdesk.errors import AuthenticationRequired, PermissionDenied, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import ApiToken, User
from helpdesk.services import passwords, throttling
from helpdesk.services.access_log import NO_CLIENT, Client, log_access
from helpdesk.services.api_tokens import issue_token, revoke_all


def _accepted(email: str, counters: list[throttling.Counter]) -> None:
    """The password was right: the account's count starts again; the attempt is given back.

    Only the account's count is cleared: one good password must not clear an address that is
    guessing at other accounts.
    """
    throttling.clear(email)
    throttling.give_back([c for c in counters if not c.key.startswith("account:")])


def log_in(email, password, token_name=None, *, client: Client = NO_CLIENT) -> tuple[User, str]:
    """Check the credentials (throttled) and issue a new token named `token_name`."""
    email = validation.text("email", email, max_length=254).lower()
    if not isinstance(password, str):
        raise ValidationFailed(N_("{field} must be text."), field="password")
    name = validation.text("token_name", token_name or "login", max_length=100)
    counters = throttling.take_password_attempt(email, client)
    user = User.get_or_none(User.email == email)
    if not passwords.password_matches(user, password) or not user.active:
        log_access(user, "login", "failure", client, email=email)
        raise AuthenticationRequired(N_("Wrong email or password."))
    with database.atomic():
        _accepted(email, counters)
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
            user.save()
        log_access(user, "login", "success", client)
        raw = issue_token(user, name=name)
    return user, raw


def change_password(
    actor: User, current, new, *, current_token: ApiToken | None, client: Client = NO_CLIENT
) -> int:
    """Change one's password; every other token of the user is revoked. Returns how many.

    The current password is checked through the login throttle: TooManyRequests past it.
    """
    passwords.require_local(actor)
    passwords.check_password_policy(new, actor.email)  # before an attempt is counted
    counters = throttling.take_password_attempt(actor.email, client)
    if not passwords.password_matches(actor, current):
        log_access(actor, "password_change", "failure", client)
        raise PermissionDenied(N_("The current password is wrong."), {"field": "current_password"})
    with database.atomic():
        _accepted(actor.email, counters)
        passwords.set_password(actor, new)
        revoked = revoke_all(actor, keep=current_token)
        log_access(actor, "password_change", "success", client)
    return revoked

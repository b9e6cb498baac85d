"""Forgotten passwords: asking for a reset link, and setting a new password with it.

A request does the same work whether or not the address has an account (a password hash, an
email rendered and written to the outbox, an access-log line), so that neither the answer nor
its timing tells which addresses exist.
"""

from __future__ import annotations

from datetime import timedelta

from helpdesk import validation
from helpdesk.config import current_settings
from helpdesk.db import database
from helpdesk.errors import AuthenticationRequired
from helpdesk.i18n import N_
from helpdesk.models import User
from helpdesk.services import passwords, throttling
from helpdesk.services.access_log import NO_CLIENT, Client, log_access
from helpdesk.services.account_tokens import (
    redeem,
    send_account_email,
    stand_in_email,
    void_emailed_tokens,
)
from helpdesk.services.api_tokens import revoke_all

RESET_ANSWER = N_("If this address has an account here, a reset link is on its way.")


def request_password_reset(email, *, client: Client = NO_CLIENT) -> str:
    """Email a reset link; the answer is the same for unknown addresses.

    Throttled per address and per client: TooManyRequests past the limit.
    """
    email = validation.email(email)  # a malformed address says nothing of who has an account
    throttling.take_email_request(email, client)
    ttl = timedelta(minutes=current_settings().accounts.reset_ttl_minutes)
    with database.atomic():
        user = User.get_or_none(User.email == email)
        passwords.equal_work()
        if user is None or not user.active or user.auth_source != "local":
            stand_in_email(email, "reset", user.language if user is not None else "en")
            log_access(user, "password_reset_request", "ignored", client, email=email)
            return RESET_ANSWER
        send_account_email(user, "reset", ttl)
        log_access(user, "password_reset_request", "success", client)
    return RESET_ANSWER


def reset_password(raw: str, new, *, client: Client = NO_CLIENT) -> User:
    """Set a new password with a reset token; every token of the user is revoked."""
    with database.atomic():
        token = redeem(raw, ("reset",))
        user = token.user
        passwords.require_local(user)
        if not user.active:
            raise AuthenticationRequired(N_("This account is deactivated."))
        passwords.set_password(user, new)
        revoke_all(user)
        void_emailed_tokens(user)
        throttling.clear(user.email)
        log_access(user, "password_reset", "success", client)
    return user

"""Invitations: resending one, and activating an account with an invitation or sign-up token."""

from __future__ import annotations

from helpdesk.db import database
from helpdesk.errors import AuthenticationRequired, Conflict
from helpdesk.i18n import N_
from helpdesk.models import User
from helpdesk.services.access_log import NO_CLIENT, Client, log_access
from helpdesk.services.account_tokens import redeem, send_invitation
from helpdesk.services.api_tokens import issue_token
from helpdesk.services.passwords import set_password
from helpdesk.services.users import get_user_by_email, require_manage


def resend_invitation(email: str, *, actor: User) -> User:
    """A fresh invitation; the previous link stops working."""
    with database.atomic():
        user = get_user_by_email(email)
        require_manage(actor, user)
        if user.password_hash is not None:
            raise Conflict(N_("{email} has already activated their account."), email=user.email)
        send_invitation(user, actor=actor)
    return user


def activate_account(
    raw: str, password, *, client: Client = NO_CLIENT, log_in: bool = True
) -> tuple[User, str | None]:
    """Choose the password with an invitation or sign-up token.

    With `log_in`, a login token is issued and returned (the API and CLI keep it); without,
    none is created (a web page, which would have nowhere to keep it).
    """
    with database.atomic():
        token = redeem(raw, ("invite", "signup"))
        user = token.user
        if not user.active:
            raise AuthenticationRequired(N_("This account is deactivated."))
        if user.password_hash is not None:
            raise Conflict(
                N_("{email} is already active; log in, or reset a forgotten password."),
                email=user.email,
            )
        set_password(user, password)
        log_access(user, "activation", "success", client)
        raw_token = issue_token(user, name="activation") if log_in else None
    return user, raw_token

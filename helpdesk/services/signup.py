"""Sign-up: an external customer registers and confirms their address by email.

The answer, and the work done, are the same whether or not the address has an account.
"""

from __future__ import annotations

from datetime import timedelta

from helpdesk import validation
from helpdesk.config import current_settings
from helpdesk.db import database
from helpdesk.errors import PermissionDenied
from helpdesk.formats import LANGUAGES
from helpdesk.i18n import N_
from helpdesk.models import User
from helpdesk.services import throttling
from helpdesk.services.access_log import NO_CLIENT, Client, log_access
from helpdesk.services.account_tokens import send_account_email, stand_in_email
from helpdesk.services.users import register_external_customer

SIGNUP_ANSWER = N_("If this address can be registered, a confirmation email is on its way.")


def signup(email, name, *, client: Client = NO_CLIENT, language: str = "en") -> str:
    """Register an external customer who confirms their address by email.

    Throttled per address and per client (TooManyRequests). The answer is the same whether or
    not the address already has an account.
    """
    settings = current_settings().accounts
    email = validation.email(email)
    name = validation.text("name", name, max_length=200, one_line=True)
    validation.choice("language", language, LANGUAGES)
    if settings.signup == "closed":
        raise PermissionDenied(N_("Sign-up is closed; ask the support team for an invitation."))
    domain = email.rpartition("@")[2]
    if settings.signup == "domains" and domain not in settings.signup_domains:
        raise PermissionDenied(N_("Sign-up is not open to addresses at {domain}."), domain=domain)
    throttling.take_email_request(email, client)
    with database.atomic():
        if User.select().where(User.email == email).exists():
            stand_in_email(email, "signup", language)  # the work of the other answer
            log_access(None, "signup", "duplicate", client, email=email)
            return SIGNUP_ANSWER
        user = register_external_customer(
            email, name, organization=settings.external_organization, language=language
        )
        send_account_email(user, "signup", timedelta(hours=settings.invitation_ttl_hours))
        log_access(user, "signup", "success", client)
    return SIGNUP_ANSWER

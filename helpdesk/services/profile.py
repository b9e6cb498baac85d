"""One's own profile: name, phone, language, date format, and a confirmed change of email."""

from __future__ import annotations

from datetime import timedelta

from helpdesk import validation
from helpdesk.db import database
from helpdesk.errors import Conflict
from helpdesk.formats import DATE_FORMATS, LANGUAGES
from helpdesk.i18n import N_
from helpdesk.models import User, utcnow
from helpdesk.services.access_log import NO_CLIENT, Client, log_access
from helpdesk.services.account_tokens import redeem, send_account_email

EMAIL_CHANGE_TTL = timedelta(hours=24)


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
                        N_("{email} is already used by another account."), email=new_email
                    )
                send_account_email(actor, "email_change", EMAIL_CHANGE_TTL, new_email=new_email)
                pending = True
    return actor, pending


def confirm_email_change(raw: str, *, client: Client = NO_CLIENT) -> User:
    """Make the confirmed new address the account's email."""
    with database.atomic():
        token = redeem(raw, ("email_change",))
        user = token.user
        if User.select().where(User.email == token.new_email).exists():
            raise Conflict(N_("{email} is already used by another account."), email=token.new_email)
        previous = user.email
        user.email = token.new_email
        user.updated_at = utcnow()
        user.save()
        log_access(user, "email_change", "success", client, email=previous)
    return user

"""Writing emails into the outbox: threaded, in the recipient's language, rendered when sent."""

from __future__ import annotations

import secrets
from datetime import datetime
from email.utils import formataddr, formatdate

from peewee import JOIN

from helpdesk import i18n, permissions, validation
from helpdesk.config import MailSettings
from helpdesk.db import database
from helpdesk.errors import Conflict, NotFound
from helpdesk.formats import format_datetime
from helpdesk.i18n import N_
from helpdesk.mail.catalog import (
    ACCOUNT_ACTIONS,
    ACCOUNT_MESSAGES,
    MESSAGES,
    STATUS_NAMES,
    language_of,
)
from helpdesk.mail.letters import letter
from helpdesk.models import OutboxMessage, Ticket, User, utcnow
from helpdesk.pagination import Page, paginate
from helpdesk.vocabulary import OUTBOX_STATUSES


def thread_id(ticket: Ticket, settings: MailSettings) -> str:
    """The Message-ID every email about a ticket refers to, so clients thread them."""
    return f"<{ticket.reference}@{settings.domain}>"


def new_message_id(ticket: Ticket | None, settings: MailSettings) -> str:
    tag = f".{ticket.reference}" if ticket is not None else ""
    return f"<{secrets.token_hex(12)}{tag}@{settings.domain}>"


def notification_values(kind: str, language: str, context: dict) -> tuple[str, dict]:
    """Subject and template values of a notification in the language (English fallback)."""
    language = language_of(language)
    subject_format, intro_format = MESSAGES[kind]
    status = context["status"]
    if status in STATUS_NAMES:
        status = i18n.gettext(language, STATUS_NAMES[status])
    else:
        status = i18n.word(language, "status", status)
    fields = {
        **context,
        "status": status,
        "priority": i18n.word(language, "priority", context["priority"]),
    }
    if isinstance(fields.get("due"), datetime):
        fields["due"] = format_datetime(fields["due"], context.get("date_format")) + " UTC"
    values = {**fields, "intro": i18n.gettext(language, intro_format, **fields)}
    # Headers are one line, whatever older data may hold.
    subject = i18n.gettext(language, subject_format, **fields)
    subject = " ".join(f"[{context['ref']}] {subject}".split())
    return subject, values


def _message(template: str, headers: dict[str, str], values: dict, **columns) -> dict:
    """An outbox row as what the message will say: the sender renders it
    (helpdesk/mail/letters.py), so a write pays for a row, not for templates and MIME."""
    text = letter(template, columns["language"], headers, values)
    return {"rendered": "", "letter": text, **columns}


def _queue(template: str, headers: dict[str, str], values: dict, **columns) -> OutboxMessage:
    """Add a message to the outbox (inside the caller's transaction)."""
    return OutboxMessage.create(**_message(template, headers, values, **columns))


def _headers(sender: str, name: str, address: str, subject: str, message_id: str) -> dict:
    return {
        "From": sender,
        "To": formataddr((" ".join(name.split()), address)),
        "Subject": subject,
        "Date": formatdate(localtime=False, usegmt=True),
        "Message-ID": message_id,
    }


def queue_email(
    recipient: User,
    kind: str,
    ticket: Ticket,
    context: dict,
    settings: MailSettings,
) -> OutboxMessage:
    """Queue one notification about a ticket, threaded, in the recipient's language."""
    return OutboxMessage.create(**notification(recipient, kind, ticket, context, settings))


def queue_emails(notifications: list[dict]) -> None:
    """Queue the `notification(...)` rows of one change in one statement."""
    if notifications:
        OutboxMessage.insert_many(notifications).execute()


def notification(
    recipient: User,
    kind: str,
    ticket: Ticket,
    context: dict,
    settings: MailSettings,
) -> dict:
    """The outbox row of one notification about a ticket, threaded, in the recipient's
    language."""
    language = language_of(recipient.language)
    subject, values = notification_values(
        kind, language, {**context, "name": recipient.name, "date_format": recipient.date_format}
    )
    message_id = new_message_id(ticket, settings)
    headers = _headers(settings.sender, recipient.name, recipient.email, subject, message_id)
    headers["In-Reply-To"] = thread_id(ticket, settings)
    headers["References"] = thread_id(ticket, settings)
    # RFC 3834: we are a robot; well-behaved auto-responders will not answer us.
    headers["Auto-Submitted"] = "auto-generated"
    headers["X-Helpdesk-Ticket"] = ticket.reference
    return _message(
        "notification",
        headers,
        values,
        ticket=ticket,
        recipient=recipient,
        to_address=recipient.email,
        subject=subject[:255],
        kind=kind,
        language=language,
        message_id=message_id,
    )


def queue_account_email(
    user: User,
    kind: str,
    token: str,
    expires_at,
    settings: MailSettings,
    *,
    to_address: str | None = None,
    actor: User | None = None,
) -> OutboxMessage:
    """An invitation, sign-up confirmation, password reset or email-change confirmation."""
    language = language_of(user.language)
    address = to_address or user.email
    subject, intro = ACCOUNT_MESSAGES[kind]
    subject_text = i18n.gettext(language, subject)
    page, command = ACCOUNT_ACTIONS[kind]
    values = {
        "name": user.name,
        "intro": i18n.gettext(language, intro, actor=actor.name if actor else "", email=address),
        "link": f"{settings.base_url}/account/{page}/{token}",
        "command": command.format(token=token),
        "expires": format_datetime(expires_at, user.date_format),
    }
    message_id = new_message_id(None, settings)
    headers = _headers(settings.sender, user.name, address, subject_text, message_id)
    headers["Auto-Submitted"] = "auto-generated"
    return _queue(
        "account",
        headers,
        values,
        recipient=user,
        to_address=address,
        subject=subject_text[:255],
        kind=kind,
        language=language,
        message_id=message_id,
    )


def list_outbox(*, actor: User, status: str | None = None, page=1, per_page=25) -> Page:
    """The outbox, newest first (admins)."""
    permissions.require(actor, "mail.manage")
    query = OutboxMessage.select(OutboxMessage, Ticket).join(Ticket, JOIN.LEFT_OUTER)
    if status:
        query = query.where(
            OutboxMessage.status == validation.choice("status", status, OUTBOX_STATUSES)
        )
    return paginate(query.order_by(OutboxMessage.id.desc()), page, per_page)


def retry_message(message_id: int, *, actor: User) -> OutboxMessage:
    """Put a failed (or waiting) message back in line to be sent now."""
    permissions.require(actor, "mail.manage")
    with database.atomic():
        message = OutboxMessage.get_or_none(OutboxMessage.id == message_id)
        if message is None:
            raise NotFound(N_("No outbox message {id}."), id=message_id)
        # An outbox status, not a ticket's: one sentence for each.
        if message.status == "sent":
            raise Conflict(
                N_("Message {id} is sent; only a failed or pending message can be retried."),
                {"status": message.status},
                id=message_id,
            )
        if message.status == "sending":
            raise Conflict(
                N_("Message {id} is sending; only a failed or pending message can be retried."),
                {"status": message.status},
                id=message_id,
            )
        message.status = "pending"
        message.next_attempt_at = utcnow()
        message.last_error = None
        message.attempts = 0
        message.save()
    return message

"""Email to tickets: a reply becomes a comment, other mail from a customer opens a ticket.

Every message is recorded once in InboundMessage (by Message-ID) in the same transaction as
what it changed, so ingesting the same mail again changes nothing. Refusals are recorded too,
with their reason; only an unexpected error leaves a message unrecorded, to be tried again.

The work is split along its seams: `decoding` (charsets), `html_text` (HTML to text), `quotes`
(trimming quoted history), `inbound` (taking a message apart) and this module (applying it).
"""

from __future__ import annotations

import logging
import mailbox
import re
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import BinaryIO

from peewee import IntegrityError

from helpdesk import permissions, validation
from helpdesk.config import Settings
from helpdesk.db import database
from helpdesk.errors import HelpdeskError
from helpdesk.mail.inbound import (
    MAX_DEPTH,
    Content,
    IncomingMail,
    automatic_reason,
    read_body,
    read_content,
    read_headers,
    referenced_ids,
    synthetic_message_id,
)
from helpdesk.mail.quotes import clean_subject, trim_reply
from helpdesk.models import InboundMessage, OutboxMessage, Ticket, User
from helpdesk.services import tickets
from helpdesk.services.users import (
    find_user_by_email,
    memberships_of,
    register_external_customer,
)

logger = logging.getLogger("helpdesk.mail.ingest")

OUTCOMES = ("created", "commented", "ignored", "refused")
NO_TEXT = "(The email had no text.)"
SUBJECT_REFERENCE_RE = re.compile(r"\[\s*HD-(\d{1,18})\s*\]", re.I)
THREAD_ID_RE = re.compile(r"^<(?:[^<>@]*\.)?HD-(\d{1,18})@([^<>@]+)>$", re.I)


@dataclass
class IngestResult:
    """What became of one email."""

    message_id: str
    outcome: str  # created / commented / ignored / refused
    reason: str | None = None
    reference: str | None = None  # the ticket created, commented or aimed at

    def to_dict(self) -> dict:
        return {
            "message_id": self.message_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "reference": self.reference,
        }


# -- reading ------------------------------------------------------------------------------


def read_message(stream: BinaryIO, limit: int, *, drain: bool = False) -> bytes:
    """Read a message, keeping at most limit + 1 bytes (enough to see it is too large).

    `drain`: read and drop the rest, so that an MTA piping into us never sees a broken pipe.
    """
    raw = stream.read(limit + 1)
    while drain and stream.read(1024 * 1024):
        pass
    return raw


def _with_notes(text: str, notes: list[str], *, limit: int) -> str:
    tail = "\n".join(notes)
    room = limit - len(tail) - 2
    if len(text) > room:
        text = text[: max(room, 0)].rstrip()
    return f"{text}\n\n{tail}".strip() if tail else text


# -- finding the ticket a reply belongs to ------------------------------------------------


def reply_reference(msg: Message, subject: str, settings: Settings) -> str | None:
    """The ticket a reply is about ("HD-n"): from the ids of mail we sent, else the subject."""
    ids = referenced_ids(msg)
    if ids:
        sent = {
            row.message_id: row
            for row in OutboxMessage.select(OutboxMessage.message_id, OutboxMessage.ticket).where(
                OutboxMessage.message_id.in_(ids) & OutboxMessage.ticket.is_null(False)
            )
        }
        for message_id in ids:
            if message_id in sent:
                ticket = Ticket.get_or_none(Ticket.id == sent[message_id].ticket_id)
                if ticket is not None:
                    return ticket.reference
        for message_id in ids:
            match = THREAD_ID_RE.match(message_id)
            if match and match.group(2).lower() == settings.mail.domain.lower():
                return f"HD-{int(match.group(1))}"
    match = SUBJECT_REFERENCE_RE.search(subject)
    return f"HD-{int(match.group(1))}" if match else None


# -- ingesting ----------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, reason: str, reference: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.reference = reference


class _Ignored(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _register_external(address: str, display_name: str, settings: Settings) -> User:
    """A self-registered customer in the external customers' organization."""
    email = validation.email(address)
    # A header may carry control characters; the rule takes one-line names only.
    printable = "".join(ch if ch >= " " and ch != "\x7f" else " " for ch in display_name)
    name = (" ".join(printable.split()) or email.partition("@")[0])[:200]
    user = register_external_customer(email, name, organization=settings.mail.external_organization)
    logger.info(
        "registered %s as an external customer of %s", email, settings.mail.external_organization
    )
    return user


def _screen(mail: IncomingMail, settings: Settings) -> tuple[User | None, str | None]:
    """The sender's account and the ticket aimed at, from the headers alone.

    Raises _Refused or _Ignored before any work on the body: the mail of an unknown or
    unwelcome sender is never parsed, decoded nor converted. The user is None for an unknown
    sender who is to be registered.
    """
    if mail.sender is None or "@" not in mail.sender:
        raise _Refused("no sender address")
    if mail.sender == settings.mail.sender_address.lower():
        raise _Ignored("sent by the help desk itself")
    reference = reply_reference(mail.head, mail.subject, settings)
    user = find_user_by_email(mail.sender)
    if user is not None and not user.active:
        raise _Refused("sender's account is deactivated", reference)
    if user is None and (reference is not None or settings.mail.unknown_senders != "register"):
        raise _Refused("unknown sender", reference)
    if reference is None and user is not None and not permissions.can(user, "ticket.submit"):
        raise _Refused("only customers open tickets by email; agents reply to a ticket's email")
    return user, reference


def _read(mail: IncomingMail, raw: bytes, settings: Settings) -> Content:
    """The body's text and files, parsed outside any transaction (no lock is held meanwhile)."""
    read_body(mail, raw)
    if mail.problem is not None:
        raise _Refused(mail.problem)
    try:
        content = read_content(mail.msg, settings)
    except Exception as exc:  # a part that `email` cannot decode at all
        logger.warning("%s: cannot read the content", mail.message_id, exc_info=True)
        raise _Refused(f"malformed: {type(exc).__name__}") from exc
    if content.skipped_deep:
        logger.warning(
            "%s: parts nested deeper than %d levels were skipped", mail.message_id, MAX_DEPTH
        )
    return content


def _apply(
    mail: IncomingMail, content: Content, settings: Settings
) -> tuple[str, str | None, Ticket | None]:
    """Do what the message asks; raise _Refused or HelpdeskError to refuse it."""
    user, reference = _screen(mail, settings)  # again: the sender may have changed meanwhile
    subject, forward = clean_subject(mail.subject)
    text = content.text if forward else trim_reply(content.text)
    note = "; ".join(n.strip("()").rstrip(".") for n in content.notes) or None
    if (
        not text.strip()
        and not content.uploads
        and not content.notes
        and not (subject and reference is None)
    ):
        raise _Refused("empty message", reference)

    if reference is not None:
        body = _with_notes(text.strip() or NO_TEXT, content.notes, limit=tickets.MAX_BODY)
        try:
            comment = tickets.add_comment(reference, body, actor=user, attachments=content.uploads)
        except HelpdeskError as exc:
            raise _Refused(exc.message, reference) from exc
        return "commented", note, comment.ticket

    if user is None:
        user = _register_external(mail.sender, mail.sender_name, settings)
    memberships = memberships_of(user)
    ticket = tickets.submit_ticket(
        actor=user,
        type=settings.mail.ticket_type,
        title=(subject or "(no subject)")[: tickets.MAX_TITLE],
        description=_with_notes(text.strip(), content.notes, limit=tickets.MAX_BODY),
        organization=memberships[0].organization.name if memberships else None,
        attachments=content.uploads,
        unclassified_ok=True,  # an email names no service: agents set it when they triage
    )
    return "created", note, ticket


Verdict = tuple[str, str | None, str | None]  # outcome, reason, reference


def _verdict(mail: IncomingMail, raw: bytes, settings: Settings) -> Verdict | Content:
    """Why a message is refused or ignored, known before any transaction; else its content."""
    if mail.problem is not None:
        return "refused", mail.problem, None
    if (automatic := automatic_reason(mail.head, mail.sender)) is not None:
        return "ignored", automatic, None
    try:
        _screen(mail, settings)
        return _read(mail, raw, settings)
    except _Ignored as ignored:
        return "ignored", ignored.reason, None
    except _Refused as refusal:
        return "refused", refusal.reason, refusal.reference


def _seen(message_id: str) -> bool:
    return InboundMessage.select().where(InboundMessage.message_id == message_id).exists()


def _record(mail: IncomingMail, verdict: tuple | Content, settings: Settings) -> IngestResult:
    with database.atomic():
        if _seen(mail.message_id):
            return IngestResult(mail.message_id, "ignored", "duplicate")
        # Inserted first: a second ingester of the same message waits here, then fails.
        record = InboundMessage.create(
            message_id=mail.message_id,
            sender=mail.sender[:254] if mail.sender else None,
            subject=mail.subject[:255] or None,
            outcome="refused",
        )
        reference = None
        ticket = None
        if isinstance(verdict, tuple):
            outcome, reason, reference = verdict
        else:
            try:
                with database.atomic():  # a refusal undoes everything but the record
                    outcome, reason, ticket = _apply(mail, verdict, settings)
            except _Ignored as ignored:
                outcome, reason = "ignored", ignored.reason
            except _Refused as refusal:
                outcome, reason, reference = "refused", refusal.reason, refusal.reference
            except HelpdeskError as exc:
                outcome, reason = "refused", exc.message
        if ticket is not None:
            reference = ticket.reference
        record.outcome = outcome
        record.reason = reason
        record.ticket = ticket
        record.save()
    return IngestResult(mail.message_id, outcome, reason, reference)


def _log(result: IngestResult, mail: IncomingMail) -> None:
    sender = mail.sender or "no sender"
    if result.outcome == "refused":
        logger.warning("%s from %s refused: %s", result.message_id, sender, result.reason)
    elif result.outcome == "ignored":
        logger.info("%s from %s ignored: %s", result.message_id, sender, result.reason)
    else:
        logger.info(
            "%s from %s: %s %s", result.message_id, sender, result.outcome, result.reference
        )


def ingest_message(raw: bytes, settings: Settings) -> IngestResult:
    """Turn one RFC 5322 message into a ticket or a comment, at most once; never raises.

    An unexpected error (a bug, the database gone) is logged and reported as refused without
    being recorded, so that the next run tries the message again.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    message_id = synthetic_message_id(raw)
    try:
        mail = read_headers(raw, settings)
        message_id = mail.message_id
        if _seen(message_id):  # checked again in _record's transaction; this one is cheap
            logger.debug("%s: already ingested", message_id)
            return IngestResult(message_id, "ignored", "duplicate")
        verdict = _verdict(mail, raw, settings)
        try:
            result = _record(mail, verdict, settings)
        except IntegrityError:
            # Another ingester recorded the same Message-ID first.
            if not _seen(message_id):
                raise
            result = IngestResult(message_id, "ignored", "duplicate")
        _log(result, mail)
        return result
    except Exception as exc:
        logger.exception("%s could not be ingested; it will be tried again", message_id)
        return IngestResult(message_id, "refused", f"error: {type(exc).__name__}: {exc}")


def ingest_maildir(path: Path, settings: Settings) -> list[IngestResult]:
    """Ingest every message of a Maildir (new and cur), leaving the Maildir as it is.

    Raises mailbox.NoSuchMailboxError or OSError if the Maildir itself cannot be read; a
    message that cannot be read is logged and skipped.
    """
    box = mailbox.Maildir(path, factory=None, create=False)
    results = []
    for key in sorted(box.keys()):
        try:
            with box.get_file(key) as stream:
                raw = read_message(stream, settings.mail.max_message_size)
        except (OSError, KeyError) as exc:
            logger.warning("cannot read message %s in %s: %s", key, path, exc)
            continue
        results.append(ingest_message(raw, settings))
    return results

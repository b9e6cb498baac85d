"""Email to tickets: a reply becomes a comment, other mail from a customer opens a ticket.

Every message is recorded once in InboundMessage (by Message-ID) in the same transaction as
what it changed, so ingesting the same mail again changes nothing. Refusals are recorded too,
with their reason; only an unexpected error leaves a message unrecorded, to be tried again.
"""

from __future__ import annotations

import hashlib
import logging
import mailbox
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from peewee import IntegrityError

from helpdesk import permissions, validation
from helpdesk.config import Settings
from helpdesk.db import database
from helpdesk.errors import HelpdeskError
from helpdesk.models import InboundMessage, OutboxMessage, Ticket, User
from helpdesk.services import tickets
from helpdesk.services.users import (
    find_user_by_email,
    memberships_of,
    register_external_customer,
)
from helpdesk.storage import Upload

logger = logging.getLogger("helpdesk.mail.ingest")

OUTCOMES = ("created", "commented", "ignored", "refused")
MAX_DEPTH = 20  # multipart nesting we look into; deeper parts are skipped
MAX_ATTACHMENTS = 25  # per email; the rest are dropped with a note
MAX_REFERENCES = 100  # ids of In-Reply-To and References we look up
HEAD_LIMIT = 64 * 1024  # bytes of an oversized message read for its headers
NO_TEXT = "(The email had no text.)"


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


def _fix_text(value: str) -> str:
    """Text safe to store: undecodable bytes (kept as surrogates by `email`) re-read, no NULs."""
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = value.encode("utf-8", "replace")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("windows-1252", "replace")
    return text.replace("\x00", "")


def _one_line(value: str) -> str:
    return " ".join(_fix_text(value).split())


def _raw_header(msg: Message, name: str) -> str | None:
    for key, raw in msg.raw_items():
        if key.lower() == name.lower():
            return str(raw)
    return None


def _has_8bit(value: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in value)


def _header(msg: Message, name: str) -> str:
    """A header's decoded value, or its raw value if `email` cannot parse it; "" if absent.

    Raw 8-bit bytes in a header (no encoded words) are read as UTF-8, else Windows-1252.
    """
    try:
        raw = _raw_header(msg, name)
        if raw is not None and _has_8bit(raw):
            return " ".join(_fix_text(raw).split())
        value = msg.get(name)
        return "" if value is None else _fix_text(str(value))
    except Exception:  # a hostile header can trip the header parser
        raw = _raw_header(msg, name)
        return "" if raw is None else _fix_text(raw)


def _has_header(msg: Message, name: str) -> bool:
    try:
        return name in msg
    except Exception:
        return False


def _guess_decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1252", errors="replace")


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes as text in the declared charset; an undeclared or unknown charset is guessed."""
    charset = (charset or "").strip().lower()
    if charset in ("", "us-ascii", "ascii", "unknown-8bit"):
        return _guess_decode(data)  # undeclared 8-bit text is most often UTF-8 these days
    try:
        return data.decode(charset, errors="replace")
    except (LookupError, UnicodeError, ValueError, TypeError):  # unknown or not a text codec
        return _guess_decode(data)


def _part_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _part_text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = _fix_text(_decode_bytes(_part_bytes(part), charset))
    return text.replace("\r\n", "\n").replace("\r", "\n")


# -- HTML-only mail -----------------------------------------------------------------------

PARAGRAPH_TAGS = {
    "blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p", "pre", "table",
    "ul",
}  # fmt: skip
LINE_TAGS = {
    "address", "article", "aside", "dd", "div", "dt", "footer", "form", "header", "li",
    "section", "tr",
}  # fmt: skip
SKIPPED_TAGS = {"script", "style", "title", "template", "noscript"}


class _HtmlToText(HTMLParser):
    """Visible text of an HTML mail, one line per block; blockquotes become "> " lines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.quote = 0
        self.skip = 0
        self.pre = 0

    def _flush(self, *, blank: bool = False) -> None:
        """End the current line; `blank`: also leave an empty line (a paragraph break)."""
        text = "".join(self.buffer)
        self.buffer = []
        rows = text.split("\n") if self.pre else [" ".join(text.split())]
        for row in rows:
            if row.strip() == "--":
                row = "-- "  # the signature separator loses its space in HTML
            if row.strip():
                self.lines.append("> " * self.quote + (row if row == "-- " else row.rstrip()))
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self.skip += 1
        elif tag == "br":
            if not "".join(self.buffer).strip() and self.lines and self.lines[-1]:
                self.lines.append("")  # <br><br>: an empty line
            self._flush()
        elif tag in PARAGRAPH_TAGS or tag in LINE_TAGS:
            self._flush(blank=tag in PARAGRAPH_TAGS)
            if tag == "blockquote":
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.buffer.append("- ")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in SKIPPED_TAGS:
            self.skip = max(0, self.skip - 1)

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in PARAGRAPH_TAGS or tag in LINE_TAGS:
            self._flush(blank=tag in PARAGRAPH_TAGS)
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag in ("td", "th"):
            self.buffer.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.buffer.append(data)

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines).strip()


def html_to_text(markup: str) -> str:
    """Readable plain text from an HTML body."""
    parser = _HtmlToText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient, but a hostile document must not stop us
        logger.warning("could not read all of an HTML body", exc_info=True)
    return parser.text()


# -- trimming quoted history and signatures -----------------------------------------------

PREFIX_RE = re.compile(
    r"^\s*((?:re|fwd?|aw|tr|wg|sv|antw|odp|rif)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)", re.I
)
FORWARD_PREFIXES = {"fw", "fwd", "tr", "wg"}
SUBJECT_REFERENCE_RE = re.compile(r"\[\s*HD-(\d{1,18})\s*\]", re.I)
MESSAGE_ID_RE = re.compile(r"<[^<>\s]{1,250}>")
THREAD_ID_RE = re.compile(r"^<(?:[^<>@]*\.)?HD-(\d{1,18})@([^<>@]+)>$", re.I)

ATTRIBUTION_RE = re.compile(
    r"^\s*(?:On\b.*\bwrote|Le\b.*\ba\s+écrit|Il giorno\b.*\bha\s+scritto"
    r"|Dne\b.*\bnapsal(?:\(a\)|a)?|Am\b.*\bschrieb|El\b.*\bescribió)\s*:\s*$",
    re.I,
)
ATTRIBUTION_START_RE = re.compile(r"^\s*(?:On|Le|Il giorno|Dne|Am|El)\s", re.I)
WROTE_RE = re.compile(
    r"\b(?:wrote|a\s+écrit|ha\s+scritto|napsal(?:\(a\)|a)?|schrieb)\s*:\s*$", re.I
)
ORIGINAL_MESSAGE_RE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine"
    r"|Messaggio originale|Původní zpráva|Mensaje original)\s*-{2,}\s*$",
    re.I,
)
OUTLOOK_FROM_RE = re.compile(r"^\s*\*?(?:From|De|Von|Da|Od)\s*:\s*\*?\s*\S", re.I)
OUTLOOK_NEXT_RE = re.compile(
    r"^\s*\*?(?:Sent|Date|Envoyé|Gesendet|Inviato|Odesláno|Datum|Data)\s*:", re.I
)
UNDERLINE_RE = re.compile(r"^\s*_{10,}\s*$")


def _history_starts(lines: list[str], i: int, next_text: list[str]) -> int | None:
    """If quoted history or a signature starts on line i, the line to cut from."""
    line = lines[i]
    if line == "-- " or ORIGINAL_MESSAGE_RE.match(line) or ATTRIBUTION_RE.match(line):
        return i
    if i + 1 < len(lines):
        if ATTRIBUTION_START_RE.match(line) and ATTRIBUTION_RE.match(f"{line} {lines[i + 1]}"):
            return i  # the attribution line wrapped over two lines
        if WROTE_RE.search(line) and next_text[i + 1].lstrip().startswith(">"):
            return i  # "Someone wrote:" right above a quote
    if OUTLOOK_FROM_RE.match(line) and any(OUTLOOK_NEXT_RE.match(x) for x in lines[i + 1 : i + 4]):
        above = i - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        return above if above >= 0 and UNDERLINE_RE.match(lines[above]) else i
    return None


def trim_reply(text: str) -> str:
    """The new text of an email: without quoted history, quote lines and signature.

    If that leaves nothing, the whole text is kept.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    # next_text[i]: the first non-blank line from i on (computed once: mail can be long).
    next_text = [""] * (len(lines) + 1)
    for i in range(len(lines) - 1, -1, -1):
        next_text[i] = lines[i] if lines[i].strip() else next_text[i + 1]
    cut = len(lines)
    for i in range(len(lines)):
        start = _history_starts(lines, i, next_text)
        if start is not None:
            cut = start
            break
    kept = [line.rstrip() for line in lines[:cut] if not line.lstrip().startswith(">")]
    trimmed = re.sub(r"\n{3,}", "\n\n", "\n".join(kept).strip())
    return trimmed or text.strip()


def clean_subject(subject: str) -> tuple[str, bool]:
    """The subject without Re:/Fwd:/AW:/TR: prefixes, and whether it was a forward."""
    subject = _one_line(subject)
    forward = False
    while match := PREFIX_RE.match(subject):
        word = re.match(r"\s*([a-z]+)", match.group(1), re.I).group(1).lower()
        forward = forward or word in FORWARD_PREFIXES
        subject = subject[match.end() :]
    return subject.strip(), forward


# -- taking a message apart ---------------------------------------------------------------


@dataclass
class _Mail:
    message_id: str
    sender: str | None = None  # the From address, lower-case (may lack "@" for bounces)
    sender_name: str = ""
    subject: str = ""
    problem: str | None = None  # why it cannot be ingested at all
    msg: Message | None = None


@dataclass
class _Content:
    text: str = ""
    uploads: list[Upload] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped_deep: bool = False


def synthetic_message_id(raw: bytes) -> str:
    """The id of a message that has none: its content, so a copy is still a duplicate."""
    return f"<{hashlib.sha256(raw).hexdigest()}@helpdesk.invalid>"


def _message_id(msg: Message, raw: bytes) -> str:
    value = _header(msg, "Message-ID").strip()
    match = MESSAGE_ID_RE.search(value)
    if match:
        value = match.group(0)
    elif value and not any(c.isspace() for c in value):
        value = f"<{value.strip('<>')}>"
    else:
        return synthetic_message_id(raw)
    if len(value) > 255:
        return synthetic_message_id(value.encode())
    return value


def _sender(msg: Message) -> tuple[str | None, str]:
    """The first From address (lower-case) and its display name."""
    try:
        header = None if _has_8bit(_raw_header(msg, "From") or "") else msg.get("From")
        for address in getattr(header, "addresses", ()):
            if address.addr_spec and address.addr_spec != "<>":
                return _fix_text(address.addr_spec).strip().lower(), _one_line(
                    address.display_name or ""
                )
    except Exception:
        pass
    for name, address in getaddresses([_header(msg, "From")]):
        if address:
            return address.strip().lower(), _one_line(name)
    return None, ""


def _read_headers(raw: bytes, settings: Settings) -> _Mail:
    """Message-ID, sender and subject, from the headers alone (cheap: the body is not parsed).

    A message over the size limit is only ever read this far.
    """
    too_large = len(raw) > settings.mail.max_message_size
    try:
        msg = BytesHeaderParser(policy=default_policy).parsebytes(
            raw[:HEAD_LIMIT] if too_large else raw
        )
        mail = _Mail(message_id=_message_id(msg, raw))
        mail.sender, mail.sender_name = _sender(msg)
        mail.subject = _one_line(_header(msg, "Subject"))
    except Exception as exc:
        mail = _Mail(message_id=synthetic_message_id(raw), problem=f"malformed: {exc!r}"[:200])
    if too_large:
        mail.problem = f"too large: more than {settings.mail.max_message_size} bytes"
    return mail


def _read_body(mail: _Mail, raw: bytes) -> None:
    """Parse the whole message, or say why it cannot be."""
    try:
        mail.msg = BytesParser(policy=default_policy).parsebytes(raw)
    except Exception as exc:  # RecursionError on absurd nesting, and the parser's own bugs
        mail.problem = f"malformed: {type(exc).__name__}"


AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}


def automatic_reason(msg: Message, sender: str | None) -> str | None:
    """Why a message was written by a machine (auto-reply, bounce), or None."""
    auto = _header(msg, "Auto-Submitted").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"auto-reply (Auto-Submitted: {auto})"
    precedence = _header(msg, "Precedence").strip().lower()
    if precedence in AUTOMATIC_PRECEDENCE:
        return f"auto-reply (Precedence: {precedence})"
    for name in ("X-Autoreply", "X-Autorespond"):
        if _has_header(msg, name) and _header(msg, name).strip().lower() != "no":
            return f"auto-reply ({name})"
    if msg.get_content_type() == "multipart/report":
        return "bounce (multipart/report)"
    if sender and sender.partition("@")[0] in BOUNCE_SENDERS:
        return f"bounce (from {sender})"
    try:
        return_paths = msg.get_all("Return-Path") or []
    except Exception:
        return_paths = []
    if any(str(value).strip() in ("<>", "") for value in return_paths):
        return "bounce (empty Return-Path)"
    return None


SIGNATURE_TYPES = {"application/pgp-signature", "application/pkcs7-signature"}


def _content(msg: Message, settings: Settings) -> _Content:
    """The message's text (plain preferred, else HTML) and its attachments within limits."""
    content = _Content()
    plain: list[str] = []
    html: list[str] = []
    dropped: list[str] = []
    leftover = 0

    def attach(part: Message, filename: str | None) -> None:
        nonlocal leftover
        name = _one_line(filename or "") or "attachment"
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            try:
                data = inner.as_bytes() if inner is not None else b""
            except Exception:  # a forwarded message `email` cannot write back out
                data = _part_bytes(part)
            if not filename:
                name = "message.eml"
        else:
            data = _part_bytes(part)
        if len(data) > settings.max_attachment_size:
            dropped.append(name)
            return
        if len(content.uploads) >= MAX_ATTACHMENTS:
            leftover += 1
            return
        content.uploads.append(Upload(name, BytesIO(data), part.get_content_type()))

    def filename_of(part: Message) -> str | None:
        try:
            return part.get_filename()
        except Exception:
            return "attachment"

    def walk(part: Message, depth: int) -> None:
        if depth > MAX_DEPTH:
            content.skipped_deep = True
            return
        ctype = part.get_content_type()
        filename = filename_of(part)
        try:
            disposition = part.get_content_disposition()
        except Exception:
            disposition = None
        if ctype == "message/rfc822":
            attach(part, filename)  # a forwarded message travels whole, as a .eml file
            return
        if part.is_multipart():
            children = [p for p in part.get_payload() if isinstance(p, Message)]
            if part.get_content_subtype() == "alternative" and children:
                walk(_best_alternative(children), depth + 1)
            else:
                for child in children:
                    walk(child, depth + 1)
            return
        if filename or disposition == "attachment":
            if ctype not in SIGNATURE_TYPES:
                attach(part, filename)
        elif ctype == "text/html":
            html.append(_part_text(part))
        elif ctype == "text/plain" or part.get_content_maintype() == "multipart":
            plain.append(_part_text(part))  # a multipart without boundary reads as text

    walk(msg, 0)
    text = "\n\n".join(t.strip("\n") for t in plain if t.strip())
    if not text:
        text = "\n\n".join(html_to_text(h) for h in html if h.strip())
    content.text = text
    content.notes = [
        f"(Attachment {name} was not kept: larger than {settings.max_attachment_size} bytes.)"
        for name in dropped
    ]
    if leftover:
        content.notes.append(
            f"({leftover} more attachments were not kept: at most {MAX_ATTACHMENTS} per email.)"
        )
    return content


def _best_alternative(children: list[Message]) -> Message:
    for wanted in ("text/plain", "text/html"):
        for child in children:
            if child.get_content_type() == wanted and not child.get_param(
                "filename", header="content-disposition"
            ):
                return child
    return children[-1]  # e.g. multipart/related holding the HTML and its images


def _with_notes(text: str, notes: list[str], *, limit: int) -> str:
    tail = "\n".join(notes)
    room = limit - len(tail) - 2
    if len(text) > room:
        text = text[: max(room, 0)].rstrip()
    return f"{text}\n\n{tail}".strip() if tail else text


# -- finding the ticket a reply belongs to ------------------------------------------------


def _referenced_ids(msg: Message) -> list[str]:
    ids = MESSAGE_ID_RE.findall(_header(msg, "In-Reply-To"))
    ids += reversed(MESSAGE_ID_RE.findall(_header(msg, "References")))  # newest first
    unique = list(dict.fromkeys(ids))
    return unique[:MAX_REFERENCES]


def reply_reference(msg: Message, subject: str, settings: Settings) -> str | None:
    """The ticket a reply is about ("HD-n"): from the ids of mail we sent, else the subject."""
    ids = _referenced_ids(msg)
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


def _apply(mail: _Mail, settings: Settings) -> tuple[str, str | None, Ticket | None]:
    """Do what the message asks; raise _Refused or HelpdeskError to refuse it."""
    msg = mail.msg
    if mail.sender is None or "@" not in mail.sender:
        raise _Refused("no sender address")
    if mail.sender == settings.mail.sender_address.lower():
        return "ignored", "sent by the help desk itself", None
    try:
        content = _content(msg, settings)
    except Exception as exc:  # a part that `email` cannot decode at all
        logger.warning("%s: cannot read the content", mail.message_id, exc_info=True)
        raise _Refused(f"malformed: {type(exc).__name__}") from exc
    if content.skipped_deep:
        logger.warning(
            "%s: parts nested deeper than %d levels were skipped", mail.message_id, MAX_DEPTH
        )
    subject, forward = clean_subject(mail.subject)
    text = content.text if forward else trim_reply(content.text)
    reference = reply_reference(msg, mail.subject, settings)
    note = "; ".join(n.strip("()").rstrip(".") for n in content.notes) or None
    if (
        not text.strip()
        and not content.uploads
        and not content.notes
        and not (subject and reference is None)
    ):
        raise _Refused("empty message", reference)

    user = find_user_by_email(mail.sender)
    if user is not None and not user.active:
        raise _Refused("sender's account is deactivated", reference)

    if reference is not None:
        if user is None:
            raise _Refused("unknown sender", reference)
        body = _with_notes(text.strip() or NO_TEXT, content.notes, limit=tickets.MAX_BODY)
        try:
            comment = tickets.add_comment(reference, body, actor=user, attachments=content.uploads)
        except HelpdeskError as exc:
            raise _Refused(exc.message, reference) from exc
        return "commented", note, comment.ticket

    if user is None:
        if settings.mail.unknown_senders != "register":
            raise _Refused("unknown sender")
        user = _register_external(mail.sender, mail.sender_name, settings)
    if not permissions.can(user, "ticket.submit"):
        raise _Refused("only customers open tickets by email; agents reply to a ticket's email")
    memberships = memberships_of(user)
    ticket = tickets.submit_ticket(
        actor=user,
        type=settings.mail.ticket_type,
        title=(subject or "(no subject)")[: tickets.MAX_TITLE],
        description=_with_notes(text.strip(), content.notes, limit=tickets.MAX_BODY),
        organization=memberships[0].organization.name if memberships else None,
        attachments=content.uploads,
    )
    return "created", note, ticket


def _seen(message_id: str) -> bool:
    return InboundMessage.select().where(InboundMessage.message_id == message_id).exists()


def _record(mail: _Mail, settings: Settings) -> IngestResult:
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
        if mail.problem is not None:
            outcome, reason = "refused", mail.problem
        elif (automatic := automatic_reason(mail.msg, mail.sender)) is not None:
            outcome, reason = "ignored", automatic
        else:
            try:
                with database.atomic():  # a refusal undoes everything but the record
                    outcome, reason, ticket = _apply(mail, settings)
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


def _log(result: IngestResult, mail: _Mail) -> None:
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
        mail = _read_headers(raw, settings)
        message_id = mail.message_id
        if _seen(message_id):  # checked again in _record's transaction; this one is cheap
            logger.debug("%s: already ingested", message_id)
            return IngestResult(message_id, "ignored", "duplicate")
        if mail.problem is None:
            _read_body(mail, raw)
        try:
            result = _record(mail, settings)
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

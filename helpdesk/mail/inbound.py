"""Taking an incoming email apart: its identity, sender and subject, then its text and files.

Nothing here touches the database: `ingest` decides what the parts mean for the help desk.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses
from io import BytesIO

from helpdesk.config import Settings
from helpdesk.mail.decoding import (
    BoundedPolicy,
    fix_text,
    has_8bit,
    has_header,
    header,
    one_line,
    part_bytes,
    part_text,
    raw_header,
)
from helpdesk.mail.html_text import MAX_TEXT, html_to_text
from helpdesk.storage import Upload

MAX_DEPTH = 20  # multipart nesting we look into; deeper parts are skipped
MAX_ATTACHMENTS = 25  # per email; the rest are dropped with a note
MAX_REFERENCES = 100  # ids of In-Reply-To and References we look up
HEAD_LIMIT = 64 * 1024  # bytes read for the headers; a longer header section is refused
# A message of the size limit holds about 350,000 lines of base64; parsing costs per line.
MAX_LINES = 400_000
MAX_PARTS = 200  # MIME parts of one message (attachments are kept up to MAX_ATTACHMENTS)
MESSAGE_ID_RE = re.compile(r"<[^<>\s]{1,250}>")


@dataclass
class IncomingMail:
    message_id: str
    sender: str | None = None  # the From address, lower-case (may lack "@" for bounces)
    sender_name: str = ""
    subject: str = ""
    problem: str | None = None  # why it cannot be ingested at all
    head: Message | None = None  # the headers alone
    msg: Message | None = None  # the whole message, once the sender is known to be welcome


@dataclass
class Content:
    text: str = ""
    uploads: list[Upload] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped_deep: bool = False


def synthetic_message_id(raw: bytes) -> str:
    """The id of a message that has none: its content, so a copy is still a duplicate."""
    return f"<{hashlib.sha256(raw).hexdigest()}@helpdesk.invalid>"


def _message_id(msg: Message, raw: bytes) -> str:
    value = header(msg, "Message-ID").strip()
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
        value = None if has_8bit(raw_header(msg, "From") or "") else msg.get("From")
        for address in getattr(value, "addresses", ()):
            if address.addr_spec and address.addr_spec != "<>":
                return fix_text(address.addr_spec).strip().lower(), one_line(
                    address.display_name or ""
                )
    except Exception:
        pass
    for name, address in getaddresses([header(msg, "From")]):
        if address:
            return address.strip().lower(), one_line(name)
    return None, ""


def read_headers(raw: bytes, settings: Settings) -> IncomingMail:
    """Message-ID, sender and subject, from the headers alone (cheap: the body is not read).

    Only the first HEAD_LIMIT bytes are read; a message over the size limit is read no further.
    """
    too_large = len(raw) > settings.mail.max_message_size
    head = raw[:HEAD_LIMIT]
    try:
        msg = BytesHeaderParser(policy=BoundedPolicy()).parsebytes(head)
        mail = IncomingMail(message_id=_message_id(msg, raw), head=msg)
        mail.sender, mail.sender_name = _sender(msg)
        mail.subject = one_line(header(msg, "Subject"))
    except Exception as exc:
        mail = IncomingMail(
            message_id=synthetic_message_id(raw), problem=f"malformed: {exc!r}"[:200]
        )
    if len(raw) > len(head) and b"\n\n" not in head and b"\n\r\n" not in head:
        mail.problem = f"malformed: a header section longer than {HEAD_LIMIT} bytes"
    if too_large:
        mail.problem = f"too large: more than {settings.mail.max_message_size} bytes"
    return mail


class _TooManyParts(Exception):
    pass


def read_body(mail: IncomingMail, raw: bytes) -> None:
    """Parse the whole message, or say why it cannot be.

    `email`'s parser works line by line and part by part in Python: a message with more lines
    than any real one of the size limit, or more parts than MAX_PARTS, is refused unparsed.
    """
    lines = raw.count(b"\n")
    if lines > MAX_LINES:
        mail.problem = f"malformed: more than {MAX_LINES} lines"
        return
    policy = BoundedPolicy()
    parts = -1  # the parser calls the factory once to learn its signature

    def new_part(policy=policy):
        nonlocal parts
        parts += 1
        if parts > MAX_PARTS:
            raise _TooManyParts
        return EmailMessage(policy=policy)

    try:
        mail.msg = BytesParser(new_part, policy=policy).parsebytes(raw)
    except _TooManyParts:
        mail.problem = f"malformed: more than {MAX_PARTS} MIME parts"
    except Exception as exc:  # RecursionError on absurd nesting, and the parser's own bugs
        mail.problem = f"malformed: {type(exc).__name__}"


AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}


def automatic_reason(msg: Message, sender: str | None) -> str | None:
    """Why a message was written by a machine (auto-reply, bounce), or None."""
    auto = header(msg, "Auto-Submitted").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"auto-reply (Auto-Submitted: {auto})"
    precedence = header(msg, "Precedence").strip().lower()
    if precedence in AUTOMATIC_PRECEDENCE:
        return f"auto-reply (Precedence: {precedence})"
    for name in ("X-Autoreply", "X-Autorespond"):
        if has_header(msg, name) and header(msg, name).strip().lower() != "no":
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


def read_content(msg: Message, settings: Settings) -> Content:
    """The message's text (plain preferred, else HTML) and its attachments within limits."""
    content = Content()
    plain: list[str] = []
    html: list[str] = []
    dropped: list[str] = []
    leftover = 0

    def attach(part: Message, filename: str | None) -> None:
        nonlocal leftover
        name = one_line(filename or "") or "attachment"
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            try:
                data = inner.as_bytes() if inner is not None else b""
            except Exception:  # a forwarded message `email` cannot write back out
                data = part_bytes(part)
            if not filename:
                name = "message.eml"
        else:
            data = part_bytes(part)
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
            html.append(part_text(part))
        elif ctype == "text/plain" or part.get_content_maintype() == "multipart":
            plain.append(part_text(part))  # a multipart without boundary reads as text

    walk(msg, 0)
    text = "\n\n".join(t.strip("\n") for t in plain if t.strip())
    if not text:
        text = "\n\n".join(html_to_text(h) for h in html if h.strip())
    content.text = text[:MAX_TEXT]  # more than a ticket holds; trimming quotes costs per line
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


def referenced_ids(msg: Message) -> list[str]:
    """Ids of In-Reply-To and References, newest first (read raw: ids need no decoding)."""
    ids = MESSAGE_ID_RE.findall(raw_header(msg, "In-Reply-To") or "")
    ids += reversed(MESSAGE_ID_RE.findall(raw_header(msg, "References") or ""))
    unique = list(dict.fromkeys(ids))
    return unique[:MAX_REFERENCES]

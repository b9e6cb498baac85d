"""Incoming mail as text: header values and parts decoded whatever their charset claims."""

from __future__ import annotations

import re
from email.message import Message
from email.policy import EmailPolicy

MAX_HEADER_VALUE = 1024  # characters of one header value given to `email`'s header parser
MAX_HEADER_WORK = 16 * 1024  # characters of distinct header values parsed per message
SPENT_HEADER_VALUE = 200  # characters of each further value once that work is spent


class BoundedPolicy(EmailPolicy):
    """`email`'s default policy with its header parsing bounded, for mail from strangers.

    That parser costs tens of microseconds a character on hostile values (a 2 MB Subject took
    minutes), and `email` parses a header again at each access. So each distinct value is
    parsed once, at most MAX_HEADER_VALUE characters of it, within MAX_HEADER_WORK characters
    a message (use one policy per message). Real headers fit; References is read raw.
    """

    def __init__(self, **kw):
        super().__init__(**kw)
        object.__setattr__(self, "_parsed", {})  # policies are read-only once made
        object.__setattr__(self, "_work", [MAX_HEADER_WORK])

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        key = (name, value)
        parsed = self._parsed.get(key)
        if parsed is None:
            limit = MAX_HEADER_VALUE if self._work[0] > 0 else SPENT_HEADER_VALUE
            value = value[:limit]
            self._work[0] -= len(value)
            parsed = self._parsed[key] = super().header_fetch_parse(name, value)
        return parsed


def fix_text(value: str) -> str:
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


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(value: str) -> str:
    """A header's text on one line: runs of white space and control characters (a bell, an
    escape, which no title may hold) become one space."""
    return " ".join(_CONTROL.sub(" ", fix_text(value)).split())


def raw_header(msg: Message, name: str) -> str | None:
    for key, raw in msg.raw_items():
        if key.lower() == name.lower():
            return str(raw)
    return None


def has_8bit(value: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in value)


def header(msg: Message, name: str) -> str:
    """A header's decoded value, or its raw value if `email` cannot parse it; "" if absent.

    Raw 8-bit bytes in a header (no encoded words) are read as UTF-8, else Windows-1252.
    """
    try:
        raw = raw_header(msg, name)
        if raw is not None and has_8bit(raw):
            return " ".join(fix_text(raw).split())
        value = msg.get(name)
        return "" if value is None else fix_text(str(value))
    except Exception:  # a hostile header can trip the header parser
        raw = raw_header(msg, name)
        return "" if raw is None else fix_text(raw)


def has_header(msg: Message, name: str) -> bool:
    try:
        return name in msg
    except Exception:
        return False


def _guess_decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1252", errors="replace")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes as text in the declared charset; an undeclared or unknown charset is guessed."""
    charset = (charset or "").strip().lower()
    if charset in ("", "us-ascii", "ascii", "unknown-8bit"):
        return _guess_decode(data)  # undeclared 8-bit text is most often UTF-8 these days
    try:
        return data.decode(charset, errors="replace")
    except (LookupError, UnicodeError, ValueError, TypeError):  # unknown or not a text codec
        return _guess_decode(data)


def part_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def part_text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = fix_text(decode_bytes(part_bytes(part), charset))
    return text.replace("\r\n", "\n").replace("\r", "\n")

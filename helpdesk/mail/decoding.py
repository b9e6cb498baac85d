"""Incoming mail as text: header values and parts decoded whatever their charset claims."""

from __future__ import annotations

from email.message import Message


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


def one_line(value: str) -> str:
    return " ".join(fix_text(value).split())


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

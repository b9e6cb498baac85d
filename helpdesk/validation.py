"""Small checks on input values, shared by the services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from helpdesk.errors import ValidationFailed
from helpdesk.i18n import N_

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
INTEGER_RE = re.compile(r"[+-]?[0-9]{1,19}")
# Text no database stores: a lone UTF-16 surrogate (not encodable as UTF-8) and NUL
# (PostgreSQL refuses it in text).
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")
# The most items any list in a request may hold (bulk import rows); fields have lower caps.
MAX_LIST_ITEMS = 5000


def choice(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value is None:  # a JSON null: named as the caller wrote it, not as Python's None
        raise ValidationFailed(
            N_("{field} must be one of: {allowed} (got null)."),
            {"got": None},
            field=field,
            allowed=list(allowed),
        )
    if value not in allowed:
        raise ValidationFailed(
            N_("{field} must be one of: {allowed} (got {got!r})."),
            field=field,
            allowed=list(allowed),
            got=value,
        )
    return value


def text(
    field: str, value: Any, *, max_length: int, required: bool = True, one_line: bool = False
) -> str:
    """Stripped text; `one_line` refuses line breaks and other control characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(N_("{field} must be text."), field=field)
    value = value.strip()
    if one_line and any(ch < " " or ch == "\x7f" for ch in value):
        raise ValidationFailed(
            N_("{field} must be one line, without control characters."), field=field
        )
    if required and not value:
        raise ValidationFailed(N_("{field} is required."), field=field)
    if len(value) > max_length:
        raise ValidationFailed(
            N_("{field} is too long ({length} characters, at most {max_length})."),
            field=field,
            max_length=max_length,
            length=len(value),
        )
    return value


def email(value: Any) -> str:
    value = text("email", value, max_length=254).lower()
    if not EMAIL_RE.match(value):
        raise ValidationFailed(
            N_("{value!r} is not an email address."), {"field": "email"}, value=value
        )
    if not value.isascii():  # mail goes out without SMTPUTF8: an address must be ASCII
        raise ValidationFailed(
            N_("{value!r}: only email addresses in ASCII letters can receive our mail."),
            {"field": "email"},
            value=value,
        )
    return value


def boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(N_("{field} must be true or false."), field=field)
    return value


def integer(field: str, value: Any, *, low: int, high: int, from_text: bool = False) -> int:
    """A whole number in [low, high]; digit strings count only `from_text` (query strings)."""
    if from_text and isinstance(value, str) and INTEGER_RE.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(
            N_("{field} must be a whole number from {min} to {max}."),
            field=field,
            min=low,
            max=high,
        )
    return value


def ascii_int(text: str) -> int | None:
    """The number text of ASCII digits only names ("42"); None for any other text: "²" passes
    str.isdigit() but not int(), and a sign, spaces or "1_000" are not typed as a number."""
    return int(text) if text.isascii() and text.isdigit() else None


def row_id(value: Any) -> int | None:
    """The id a value names when it is a whole number or ASCII digits (what a lookup "by id or
    by name" tries first), if a row can have it; None otherwise: past 2**63 - 1 no database
    column holds it."""
    if isinstance(value, str):
        value = ascii_int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        return None
    return value


def date_bound(field: str, value: str | None, *, end: bool = False) -> datetime | None:
    """Parse YYYY-MM-DD or an ISO datetime.

    An end bound is exclusive: a bare end date covers that whole day.
    """
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            N_("{field} must be a date like 2026-01-31 (got {value!r})."),
            field=field,
            value=value,
        ) from None
    try:
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)  # stored times are naive UTC
        if end:
            if len(value) == 10:
                return datetime.combine(parsed.date(), time.min) + timedelta(days=1)
            return parsed + timedelta(microseconds=1)
    except OverflowError:  # 9999-12-31 as an end, 0001-01-01 east of UTC
        raise ValidationFailed(
            N_("{field}: date out of range (got {value!r})."), field=field, value=value
        ) from None
    return parsed


def items(field: str, value: Any, *, max_items: int, key=None) -> list:
    """A non-empty list of at most `max_items` distinct entries, in the order first given.

    `key` says when two entries are the same (default: equal values); duplicates are dropped
    before the count is checked, so naming one user twice is not refused.
    """
    if not isinstance(value, list) or not value:
        raise ValidationFailed(N_("{field} must be a non-empty list."), field=field)
    seen: set = set()
    distinct = []
    for entry in value:
        marker = key(entry) if key is not None else entry
        try:
            if marker in seen:
                continue
            seen.add(marker)
        except TypeError:  # unhashable (a list or an object): the caller's check refuses it
            pass
        distinct.append(entry)
    if len(distinct) > max_items:
        raise ValidationFailed(
            N_("{field} has too many entries ({count}); send at most {max}."),
            field=field,
            max=max_items,
            count=len(distinct),
        )
    return distinct


def storable(value: Any, field: str = "") -> Any:
    """Refuse, naming the field path, any text in a decoded value that cannot be stored.

    Walks objects and lists (iteratively: a deep value cannot exhaust the stack) and also
    refuses a list longer than MAX_LIST_ITEMS anywhere in it.
    """
    stack = [(field, value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            found = UNSTORABLE_RE.search(node)
            if found:
                if found.group() == "\x00":
                    template = N_("{field} contains a NUL character, which cannot be stored.")
                else:
                    template = N_("{field} contains a lone surrogate, which cannot be stored.")
                raise ValidationFailed(template, field=path or "value")
        elif isinstance(node, dict):
            for name, child in node.items():
                child_path = f"{path}.{name}" if path else str(name)
                stack.append((child_path, name))  # a key is text too
                stack.append((child_path, child))
        elif isinstance(node, list):
            if len(node) > MAX_LIST_ITEMS:
                raise ValidationFailed(
                    N_("{field} has too many entries ({count}); send at most {max}."),
                    field=path or "list",
                    max=MAX_LIST_ITEMS,
                    count=len(node),
                )
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(node))
    return value

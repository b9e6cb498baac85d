"""Small checks on input values, shared by the services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from helpdesk.errors import ValidationFailed

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def choice(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationFailed(
            f"{field} must be one of: {', '.join(allowed)} (got {value!r}).",
            {"field": field, "allowed": list(allowed)},
        )
    return value


def text(
    field: str, value: Any, *, max_length: int, required: bool = True, one_line: bool = False
) -> str:
    """Stripped text; `one_line` refuses line breaks and other control characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be text.", {"field": field})
    value = value.strip()
    if one_line and any(ch < " " or ch == "\x7f" for ch in value):
        raise ValidationFailed(
            f"{field} must be one line, without control characters.", {"field": field}
        )
    if required and not value:
        raise ValidationFailed(f"{field} is required.", {"field": field})
    if len(value) > max_length:
        raise ValidationFailed(
            f"{field} is too long ({len(value)} characters, at most {max_length}).",
            {"field": field, "max_length": max_length},
        )
    return value


def email(value: Any) -> str:
    value = text("email", value, max_length=254).lower()
    if not EMAIL_RE.match(value):
        raise ValidationFailed(f"{value!r} is not an email address.", {"field": "email"})
    return value


def boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(f"{field} must be true or false.", {"field": field})
    return value


def integer(field: str, value: Any, *, low: int, high: int, from_text: bool = False) -> int:
    """A whole number in [low, high]; digit strings count only `from_text` (query strings)."""
    if from_text and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(
            f"{field} must be a whole number from {low} to {high}.",
            {"field": field, "min": low, "max": high},
        )
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
            f"{field} must be a date like 2026-01-31 (got {value!r}).", {"field": field}
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)  # stored times are naive UTC
    if end:
        if len(value) == 10:
            return datetime.combine(parsed.date(), time.min) + timedelta(days=1)
        return parsed + timedelta(microseconds=1)
    return parsed

"""The fixed sets of values the CLI accepts (Click checks them: a wrong one is exit 2)."""

from enum import StrEnum


class Status(StrEnum):
    new = "new"
    open = "open"
    pending = "pending"
    resolved = "resolved"
    closed = "closed"


class Level(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class TicketType(StrEnum):
    incident = "incident"
    feature = "feature"
    question = "question"


class Role(StrEnum):
    user = "user"
    power = "power"


class Kind(StrEnum):
    customer = "customer"
    agent = "agent"
    admin = "admin"


def values(members) -> list[str] | None:
    return [m.value for m in members] if members else None


class OutboxStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class Switch(StrEnum):
    on = "on"
    off = "off"

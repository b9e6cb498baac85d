"""The append-only ticket history."""

from __future__ import annotations

from helpdesk.models import Event, Ticket, User


def record_event(
    ticket: Ticket,
    actor: User | None,
    kind: str,
    from_value: object = None,
    to_value: object = None,
) -> Event:
    def text(value: object) -> str | None:
        return None if value is None else str(value)[:255]

    return Event.create(
        ticket=ticket, actor=actor, kind=kind, from_value=text(from_value), to_value=text(to_value)
    )

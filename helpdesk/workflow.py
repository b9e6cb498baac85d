"""The ticket status machine: the one place that changes Ticket.status."""

from __future__ import annotations

from helpdesk.errors import InvalidTransition, PermissionDenied, ValidationFailed
from helpdesk.history import record_event
from helpdesk.models import STATUSES, Ticket, User, utcnow
from helpdesk.permissions import require, ticket_roles
from helpdesk.validation import choice

# (from, to) -> the roles that may take that edge. Roles: "agent" (agents and admins),
# "requester" (who opened the ticket), "participant" (a customer who can see it).
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("new", "open"): frozenset({"agent"}),
    ("new", "closed"): frozenset({"agent", "requester"}),
    ("open", "pending"): frozenset({"agent"}),
    ("open", "resolved"): frozenset({"agent"}),
    ("open", "closed"): frozenset({"agent", "requester"}),
    # A customer's public reply brings a pending ticket back to the agents.
    ("pending", "open"): frozenset({"agent", "requester", "participant"}),
    ("pending", "resolved"): frozenset({"agent"}),
    ("pending", "closed"): frozenset({"agent", "requester"}),
    ("resolved", "open"): frozenset({"agent", "requester"}),
    ("resolved", "closed"): frozenset({"agent", "requester"}),
}

# Edges that need a comment saying why (a reopen).
COMMENT_REQUIRED = frozenset({("resolved", "open")})

ROLE_NAMES = {"agent": "agents", "requester": "the requester", "participant": "participants"}


def targets_from(status: str) -> list[str]:
    return [to for (frm, to) in TRANSITIONS if frm == status]


def allowed_transitions(ticket: Ticket, actor: User) -> list[str]:
    """The statuses this actor may move the ticket to now."""
    roles = ticket_roles(actor, ticket)
    return [to for to in targets_from(ticket.status) if TRANSITIONS[(ticket.status, to)] & roles]


def check_transition(ticket: Ticket, to: str, *, actor: User, comment: str | None = None) -> None:
    """Raise the error that explains why the actor may not move the ticket to `to`."""
    require(actor, "ticket.view", ticket)
    choice("status", to, STATUSES)
    current = ticket.status
    details = {"from": current, "to": to, "allowed": targets_from(current)}
    if current == to:
        raise InvalidTransition(f"Ticket {ticket.reference} is already {current}.", details)
    if current == "closed":
        raise InvalidTransition(
            f"Ticket {ticket.reference} is closed; a closed ticket can never be reopened. "
            "Submit a new ticket instead.",
            details,
        )
    roles = TRANSITIONS.get((current, to))
    if roles is None:
        allowed = ", ".join(targets_from(current))
        raise InvalidTransition(
            f"Ticket {ticket.reference} cannot go from {current} to {to}; "
            f"from {current} it can go to: {allowed}.",
            details,
        )
    if not roles & ticket_roles(actor, ticket):
        who = " or ".join(sorted(ROLE_NAMES[r] for r in roles))
        mine = allowed_transitions(ticket, actor)
        yours = f"you may move it to: {', '.join(mine)}" if mine else "you may not change it"
        raise PermissionDenied(
            f"Only {who} may move ticket {ticket.reference} from {current} to {to}; {yours}.",
            {**details, "allowed": mine},
        )
    if (current, to) in COMMENT_REQUIRED and not (comment or "").strip():
        raise ValidationFailed(
            f"Moving ticket {ticket.reference} from {current} to {to} needs a comment saying why.",
            {"field": "comment"},
        )


def transition(ticket: Ticket, to: str, *, actor: User, comment: str | None = None) -> Ticket:
    """Move the ticket to `to` if the table and the actor's role allow it; record the event.

    The caller owns the transaction and saves any comment itself.
    """
    check_transition(ticket, to, actor=actor, comment=comment)
    previous = ticket.status
    now = utcnow()
    ticket.status = to
    ticket.updated_at = now
    if to == "resolved":
        ticket.resolved_at = now
    elif to == "closed":
        ticket.closed_at = now
    elif previous == "resolved":
        ticket.resolved_at = None
    ticket.save()
    record_event(ticket, actor, "status", previous, to)
    return ticket

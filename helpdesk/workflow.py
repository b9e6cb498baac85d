"""The ticket status machine: the one place that changes Ticket.status.

The workflow is data, here and in helpdesk/status_graph.py: the edges and who may take each
one (`TRANSITIONS`, which also says who may close and reopen) and the edges that need a
comment are there (plain data the CLI offers without loading the models); the named commands
close and reopen, and the automatic moves that follow other changes
(`AUTOMATIC`, applied by `follow`). A status that no edge leaves is final: a ticket there
takes no more changes (`require_changeable`).
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk import sla_clock
from helpdesk.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from helpdesk.history import record_event
from helpdesk.i18n import N_
from helpdesk.models import Ticket, User, utcnow
from helpdesk.permissions import require, ticket_roles
from helpdesk.status_graph import COMMENT_REQUIRED, TARGETS, TRANSITIONS  # noqa: F401 (re-exported)
from helpdesk.validation import choice
from helpdesk.vocabulary import STATUSES

# Who holds a set of roles, every set spelled out so that each translates as a whole:
# "Only agents or the requester may move…" (MOVERS), "Only the requester or an agent may
# close it." (HOLDERS).
MOVERS = {
    frozenset({"agent"}): N_("agents"),
    frozenset({"requester"}): N_("the requester"),
    frozenset({"participant"}): N_("participants"),
    frozenset({"agent", "requester"}): N_("agents or the requester"),
    frozenset({"agent", "participant"}): N_("agents or participants"),
    frozenset({"participant", "requester"}): N_("participants or the requester"),
    frozenset({"agent", "participant", "requester"}): N_("agents, participants or the requester"),
}
HOLDERS = {
    frozenset({"agent"}): N_("an agent"),
    frozenset({"requester"}): N_("the requester"),
    frozenset({"participant"}): N_("a participant"),
    frozenset({"agent", "requester"}): N_("the requester or an agent"),
    frozenset({"agent", "participant"}): N_("a participant or an agent"),
    frozenset({"participant", "requester"}): N_("the requester or a participant"),
    frozenset({"agent", "participant", "requester"}): N_(
        "the requester, a participant or an agent"
    ),
}


@dataclass(frozen=True)
class Command:
    """A named command of the API and the CLI that moves a ticket to one status."""

    to: str
    sources: frozenset[str]  # the statuses it moves a ticket from
    refused: str  # to one whose roles may not: "Only {who} may close it."
    elsewhere: str  # on a ticket in another status: "…only a {statuses} ticket can be…"


COMMANDS: dict[str, Command] = {
    "close": Command(
        "closed",
        frozenset(frm for (frm, to) in TRANSITIONS if to == "closed"),
        N_("Only {who} may close it."),
        N_("Ticket {reference} is {status}; only a {statuses} ticket can be closed."),
    ),
    "reopen": Command(
        "open",
        frozenset({"resolved"}),
        N_("Only {who} may reopen it."),
        N_("Ticket {reference} is {status}; only a {statuses} ticket can be reopened."),
    ),
}


@dataclass(frozen=True)
class Automatic:
    """When `event` happens to a ticket in `source` by an actor holding a role in `by`, the
    ticket moves to `to` (through `transition`, so the table must allow it)."""

    event: str
    source: str
    to: str
    by: frozenset[str]


AUTOMATIC: tuple[Automatic, ...] = (
    # A customer's public reply brings a pending ticket back to the agents.
    Automatic("public_reply", "pending", "open", frozenset({"requester", "participant"})),
    # Assigning a new ticket puts it in work.
    Automatic("assigned", "new", "open", frozenset({"agent"})),
)
EVENTS = frozenset(rule.event for rule in AUTOMATIC)


def targets_from(status: str) -> list[str]:
    return [to for (frm, to) in TRANSITIONS if frm == status]


def is_final(status: str) -> bool:
    """No edge leaves this status (closed): a ticket there takes no more changes."""
    return not targets_from(status)


def require_changeable(ticket: Ticket, to: str | None = None) -> None:
    """Refuse any change to a ticket in a final status: the one rule "a closed ticket takes no
    changes". Conflict for a change, InvalidTransition for a move to `to`."""
    if not is_final(ticket.status):
        return
    if to is None:
        raise Conflict(
            N_("Ticket {reference} is {status} and takes no more changes; submit a new ticket."),
            reference=ticket.reference,
            status=ticket.status,
        )
    raise InvalidTransition(
        N_(
            "Ticket {reference} is {from}; a {from} ticket can never be reopened. "
            "Submit a new ticket instead."
        ),
        reference=ticket.reference,
        **{"from": ticket.status, "to": to, "allowed": targets_from(ticket.status)},
    )


def allowed_transitions(ticket: Ticket, actor: User) -> list[str]:
    """The statuses this actor may move the ticket to now."""
    roles = ticket_roles(actor, ticket)
    return [to for to in targets_from(ticket.status) if TRANSITIONS[(ticket.status, to)] & roles]


def check_transition(ticket: Ticket, to: str, *, actor: User, comment: str | None = None) -> None:
    """Raise the error that explains why the actor may not move the ticket to `to`."""
    require(actor, "ticket.view", ticket)
    choice("status", to, STATUSES)
    current = ticket.status
    move = {"reference": ticket.reference, "from": current, "to": to}
    if current == to:
        raise InvalidTransition(
            N_("Ticket {reference} is already {from}."), allowed=targets_from(current), **move
        )
    require_changeable(ticket, to)
    roles = TRANSITIONS.get((current, to))
    if roles is None:
        raise InvalidTransition(
            N_(
                "Ticket {reference} cannot go from {from} to {to}; "
                "from {from} it can go to: {allowed}."
            ),
            allowed=targets_from(current),
            **move,
        )
    if not roles & ticket_roles(actor, ticket):
        mine = allowed_transitions(ticket, actor)
        if mine:
            template = N_(
                "Only {who} may move ticket {reference} from {from} to {to}; "
                "you may move it to: {statuses}."
            )
        else:
            template = N_(
                "Only {who} may move ticket {reference} from {from} to {to}; you may not change it."
            )
        raise PermissionDenied(
            template, who=MOVERS[roles], statuses=mine, **move, details={"allowed": mine}
        )
    if (current, to) in COMMENT_REQUIRED and not (comment or "").strip():
        raise ValidationFailed(
            N_("Moving ticket {reference} from {from} to {to} needs a comment saying why."),
            {"field": "comment"},
            **move,
        )


def check_command(ticket: Ticket, name: str, *, actor: User) -> None:
    """Refuse a named command (close, reopen) the table lets the actor take from no status;
    then one the ticket's status does not allow. `transition` checks the rest."""
    command = COMMANDS[name]
    require(actor, "ticket.view", ticket)
    edges = [(frm, command.to) for frm in sorted(command.sources)]
    roles = frozenset().union(*(TRANSITIONS.get(edge, frozenset()) for edge in edges))
    if not roles & ticket_roles(actor, ticket):
        raise PermissionDenied(command.refused, {"action": f"ticket.{name}"}, who=HOLDERS[roles])
    if ticket.status in command.sources or is_final(ticket.status):
        return  # a final status gets the transition's own explanation
    raise InvalidTransition(
        command.elsewhere,
        {"from": ticket.status, "to": command.to, "allowed": allowed_transitions(ticket, actor)},
        reference=ticket.reference,
        status=ticket.status,
        statuses=sorted(command.sources),
    )


def is_reopening(previous: str, status: str) -> bool:
    """Was this move a reopen (the agents are told)?"""
    command = COMMANDS["reopen"]
    return previous in command.sources and status == command.to


def transition(ticket: Ticket, to: str, *, actor: User, comment: str | None = None) -> Ticket:
    """Move the ticket to `to` if the table and the actor's role allow it; record the event.

    The caller owns the transaction and saves any comment itself.
    """
    check_transition(ticket, to, actor=actor, comment=comment)
    previous = ticket.status
    now = utcnow()
    sla_clock.status_changed(ticket, previous, to, actor=actor, now=now)
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


def follow(event: str, ticket: Ticket, *, actor: User, comment: str | None = None) -> bool:
    """Apply the automatic move that `event` triggers for this ticket and actor, if any.

    `comment` is what the event said (a reply's text), for an edge that needs one. True if the
    ticket moved. The caller owns the transaction and has saved the comment already.
    """
    if event not in EVENTS:
        raise ValueError(f"no automatic move follows {event!r}")
    roles = ticket_roles(actor, ticket)
    for rule in AUTOMATIC:
        if rule.event == event and rule.source == ticket.status and rule.by & roles:
            transition(ticket, rule.to, actor=actor, comment=comment)
            return True
    return False

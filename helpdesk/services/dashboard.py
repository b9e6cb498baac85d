"""The dashboard: how many tickets are in each status, for the caller.

The agents' counts by status, priority and assignment are read from the tally the database keeps
(helpdesk/tally.py): a few dozen rows whatever the desk's size. Every other figure is one grouped
COUNT over the ticket table, read through an index (MIGRATIONS[5], LIST_INDEXES and
DASHBOARD_INDEXES): the caller's own tickets, and the SLA clocks past due (time-dependent).

The statuses counted are the workflow's statuses a ticket is still in work in, one for one
(new: nobody works on it yet; open: the agents owe an answer; pending: the customer does;
resolved: waiting for the customer's verdict). Closed tickets, final and never fewer, are not
counted: the closed-request lists find them.
"""

from __future__ import annotations

from peewee import SQL, fn

from helpdesk import permissions, sla_clock, tally
from helpdesk.models import SlaPolicy, Ticket, User
from helpdesk.services.tickets import scoped
from helpdesk.vocabulary import PRIORITIES, Status

DASHBOARD_STATUSES = (
    Status.new.value,
    Status.open.value,
    Status.pending.value,
    Status.resolved.value,
)


def _counted(query, *columns) -> list[tuple]:
    """(column values..., count) of a Ticket query restricted to the dashboard's statuses."""
    grouped = query.select(*columns, fn.COUNT(SQL("*"))).where(
        Ticket.status.in_(DASHBOARD_STATUSES)
    )
    return list(grouped.group_by(*columns).tuples())


def counts_by_status(actor: User, scope: str = "mine") -> dict[str, int]:
    """Tickets the actor may see in `scope` ("mine", "organization"), counted by status in one
    GROUP BY query; every dashboard status is a key (0 when none)."""
    query = scoped(permissions.visible_tickets(actor, Ticket.select()), scope, actor)
    counts = dict.fromkeys(DASHBOARD_STATUSES, 0)
    counts.update(_counted(query, Ticket.status))
    return counts


def agent_figures(actor: User) -> dict:
    """The agents' figures over every ticket in work: by status and priority, unassigned by
    status (both from the tally, helpdesk/tally.py), and how many have an SLA clock running
    past due (None while no SLA policy exists)."""
    permissions.require(actor, "ticket.work")
    by_priority = {status: dict.fromkeys(PRIORITIES, 0) for status in DASHBOARD_STATUSES}
    unassigned = dict.fromkeys(DASHBOARD_STATUSES, 0)
    for status, priority, is_unassigned, count in tally.counts(DASHBOARD_STATUSES):
        by_priority[status][priority] = by_priority[status].get(priority, 0) + count
        if is_unassigned:
            unassigned[status] += count
    breaching = None
    if SlaPolicy.select().exists():
        # Grouped by status like the rest: the status then leads each clock's index range.
        breaching = sum(n for _, n in _counted(sla_clock.breaching(Ticket.select()), Ticket.status))
    return {"by_status_priority": by_priority, "unassigned": unassigned, "breaching": breaching}


def dashboard(*, actor: User) -> dict:
    """Every section the actor has: "mine" (a customer's own requests, an agent's assigned
    tickets), "organization" for power users, "agent" for agents (None where they have not)."""
    organization = None
    if permissions.can(actor, "ticket.view_organization"):
        organization = counts_by_status(actor, "organization")
    agent = agent_figures(actor) if permissions.can(actor, "ticket.work") else None
    return {
        "statuses": list(DASHBOARD_STATUSES),
        "priorities": list(PRIORITIES),
        "mine": counts_by_status(actor, "mine"),
        "organization": organization,
        "agent": agent,
    }

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

from peewee import SQL, Case, fn

from helpdesk import permissions, sla_clock, tally
from helpdesk.models import SlaPolicy, Ticket, User, utcnow
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
    breaching = _breaching() if SlaPolicy.select().exists() else None
    return {"by_status_priority": by_priority, "unassigned": unassigned, "breaching": breaching}


def _breaching() -> int:
    """Tickets in work with a clock running past due (sla_clock.breaching), counted as those
    with the response clock past due, plus those with the resolution clock past due, less those
    with both: each a range of one index, read from the index alone (MIGRATIONS[5],
    DASHBOARD_INDEXES). The OR of both conditions in one query read the row of every ticket in
    work: 1.1 s at a million."""
    now = utcnow()
    in_work = Ticket.select().where(Ticket.status.not_in(sla_clock.STOPPED))
    response = sla_clock.response_overdue(now)
    resolution = sla_clock.resolution_overdue(now)
    # The resolution condition again, as an expression no index ranges over: the planner then
    # reads the overlap from the response clock's index, which holds both clocks, and not
    # through the resolution clock's, which would read each ticket's row.
    resolution_too = Case(None, [(Ticket.sla_paused_at.is_null(), Ticket.resolution_due_at)]) <= now
    # Grouped by status like the rest: the status then leads each clock's index range.
    return sum(
        sign * n
        for sign, condition in ((1, response), (1, resolution), (-1, response & resolution_too))
        for _, n in _counted(in_work.where(condition), Ticket.status)
    )


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

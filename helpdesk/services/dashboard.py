"""The home page's dashboard: how many requests are in each status, for a scope."""

from __future__ import annotations

from peewee import fn

from helpdesk import permissions
from helpdesk.models import Ticket, User
from helpdesk.services.tickets import scoped
from helpdesk.vocabulary import Status

# The statuses the dashboard counts (closed ones are found through the closed-request search).
DASHBOARD_STATUSES = (
    Status.new.value,
    Status.open.value,
    Status.pending.value,
    Status.resolved.value,
)


def counts_by_status(actor: User, scope: str = "mine") -> dict[str, int]:
    """Tickets the actor may see in `scope` ("mine", "organization"), counted by status in one
    GROUP BY query; every dashboard status is a key (0 when none)."""
    count = fn.COUNT(Ticket.id)
    query = Ticket.select(Ticket.status, count.alias("n")).where(
        Ticket.status.in_(DASHBOARD_STATUSES)
    )
    query = scoped(permissions.visible_tickets(actor, query), scope, actor)
    counts = dict.fromkeys(DASHBOARD_STATUSES, 0)
    counts.update(dict(query.group_by(Ticket.status).tuples()))
    return counts

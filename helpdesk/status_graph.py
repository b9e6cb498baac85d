"""The ticket status graph as data: the edges, who may take each one, the edges that need a
comment. helpdesk.workflow applies it (and re-exports it); this module imports nothing of the
database, so the CLI can offer the statuses without loading the models."""

from __future__ import annotations

from helpdesk.vocabulary import STATUSES

# (from, to) -> the roles that may take that edge. Roles (helpdesk.permissions.ticket_roles):
# "agent" (agents and admins), "requester" (the customer who opened the ticket),
# "participant" (any customer who can see it).
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

# The statuses a ticket can be moved to, in the vocabulary's order (the CLI offers these).
TARGETS: tuple[str, ...] = tuple(s for s in STATUSES if any(to == s for (_, to) in TRANSITIONS))

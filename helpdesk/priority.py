"""Ticket priority: one impact x urgency matrix, and per request type what the customer gives.

The defaults live here; what admins configure is stored in the database
(helpdesk/services/priorities.py reads it over these defaults), so every server and the CLI agree.
"""

from __future__ import annotations

from helpdesk.vocabulary import Priority, PriorityInput

# impact x urgency -> priority (the ITIL-style matrix; rows are impact): the default, used for
# every cell an admin has not configured.
PRIORITY_MATRIX = {
    ("high", "high"): "critical",
    ("high", "medium"): "high",
    ("medium", "high"): "high",
    ("high", "low"): "medium",
    ("medium", "medium"): "medium",
    ("low", "high"): "medium",
    ("medium", "low"): "low",
    ("low", "medium"): "low",
    ("low", "low"): "low",
}

# A request type with no configured policy asks for impact and urgency, as before policies.
DEFAULT_INPUT = PriorityInput.impact_urgency.value
DEFAULT_PRIORITY = Priority.medium.value
# Where a type asks for a priority, the submitter picks among these unless configured otherwise:
# the guides offer low, medium and high; critical is the matrix's (or an agent's) to give.
DEFAULT_CHOICES = tuple(p.value for p in Priority if p is not Priority.critical)


def priority_for(impact: str, urgency: str, matrix: dict | None = None) -> str:
    """The priority of this impact and urgency in `matrix` (the default matrix if None)."""
    return (matrix or PRIORITY_MATRIX)[(impact, urgency)]

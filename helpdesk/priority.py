"""Ticket priority, derived from impact and urgency by one matrix."""

from __future__ import annotations

# impact x urgency -> priority (the ITIL-style matrix; rows are impact).
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


def priority_for(impact: str, urgency: str) -> str:
    return PRIORITY_MATRIX[(impact, urgency)]

"""The dashboard: the caller's ticket counts by status (helpdesk/services/dashboard.py)."""

from __future__ import annotations

from helpdesk.server.api import api
from helpdesk.server.api.inputs import current_user
from helpdesk.services import dashboard


@api.get("/dashboard")
def show_dashboard():
    """Counts of the tickets in work by status: `mine` (a customer's requests, an agent's
    assigned tickets), `organization` (power users; else null) and `agent` (agents; else null:
    `by_status_priority`, `unassigned` by status, `breaching`, null without any SLA policy)."""
    return dashboard.dashboard(actor=current_user())

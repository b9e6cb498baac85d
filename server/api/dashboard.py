"""The dashboard: the caller's ticket counts by status (helpdesk/services/dashboard.py)."""

from __future__ import annotations

from pydantic import Field

from helpdesk.server import schemas
from helpdesk.server.api import api
from helpdesk.server.api.contract import operation
from helpdesk.server.api.inputs import current_user
from helpdesk.services import dashboard


class AgentFigures(schemas.Answer):
    by_status_priority: dict[str, dict[str, int]] = Field(description="Status, then priority.")
    unassigned: dict[str, int] = Field(description="By status.")
    breaching: int | None = Field(description="SLA clocks past due; null without any policy.")


class Dashboard(schemas.Answer):
    statuses: list[str] = Field(description="The statuses counted, in workflow order.")
    priorities: list[str]
    mine: dict[str, int] = Field(description="A customer's requests, an agent's assigned ones.")
    organization: dict[str, int] | None = Field(description="Power users; else null.")
    agent: AgentFigures | None = Field(description="Agents; else null.")


@api.get("/dashboard")
@operation(answers={200: Dashboard})
def show_dashboard():
    """Counts of the tickets in work by status: `mine` (a customer's requests, an agent's
    assigned tickets), `organization` (power users; else null) and `agent` (agents; else null:
    `by_status_priority`, `unassigned` by status, `breaching`, null without any SLA policy)."""
    return dashboard.dashboard(actor=current_user())

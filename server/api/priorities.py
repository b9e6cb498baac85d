"""The priority policy: the impact x urgency matrix and what each request type asks for."""

from __future__ import annotations

from helpdesk.server.api import api
from helpdesk.server.api.inputs import current_user, json_body
from helpdesk.services import priorities


@api.get("/priority")
def show_priority_policy():
    """The matrix in force and each request type's policy (configured or default)."""
    return priorities.show_policy(actor=current_user())


@api.put("/priority/matrix/<impact>/<urgency>")
def set_priority_cell(impact: str, urgency: str):
    """Admins: the priority of one impact and urgency."""
    body = json_body({"priority"}, {"priority"})
    return priorities.set_matrix_cell(impact, urgency, body["priority"], actor=current_user())


@api.put("/priority/types/<type_>")
def set_priority_type(type_: str):
    """Admins: what a request type asks the customer for, and its default priority."""
    body = json_body({"asks", "default", "choices"}, {"asks"})
    return priorities.set_type_policy(
        type_, body["asks"], body.get("default"), actor=current_user(), choices=body.get("choices")
    )

"""The priority policy: the impact x urgency matrix and what each request type asks for."""

from __future__ import annotations

from pydantic import Field

from helpdesk.server import schemas
from helpdesk.server.api import api
from helpdesk.server.api.contract import Body, operation
from helpdesk.server.api.inputs import current_user, json_body
from helpdesk.services import priorities


class CellPriority(Body):
    priority: str


class TypePolicyChange(Body):
    asks: str = Field(description="impact-urgency, priority or nothing.")
    default: str | None = Field(None, description="The priority when the submitter gives none.")
    choices: list[str] | str | None = Field(
        None, description="Priorities a submitter may pick: a list, or comma-separated text."
    )


class MatrixCell(schemas.Answer):
    impact: str
    urgency: str
    priority: str
    configured: bool = Field(description="false: the built-in default.")


class TypePolicy(schemas.Answer):
    type: str
    asks: str
    default: str
    choices: list[str]
    configured: bool = Field(description="false: the built-in default.")


class PriorityPolicy(schemas.Answer):
    matrix: list[MatrixCell]
    types: list[TypePolicy]


@api.get("/priority")
@operation(answers={200: PriorityPolicy})
def show_priority_policy():
    """The matrix in force and each request type's policy (configured or default)."""
    return priorities.show_policy(actor=current_user())


@api.put("/priority/matrix/<impact>/<urgency>")
@operation(body=CellPriority, answers={200: PriorityPolicy})
def set_priority_cell(impact: str, urgency: str):
    """Set the priority of one impact and urgency (admins)."""
    body = json_body()
    return priorities.set_matrix_cell(impact, urgency, body["priority"], actor=current_user())


@api.put("/priority/types/<type_>")
@operation(body=TypePolicyChange, answers={200: PriorityPolicy})
def set_priority_type(type_: str):
    """Set what a request type asks the customer for, and its default priority (admins)."""
    body = json_body()
    return priorities.set_type_policy(
        type_, body["asks"], body.get("default"), actor=current_user(), choices=body.get("choices")
    )

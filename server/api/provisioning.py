"""Bulk provisioning of customers: import rows, export the same rows."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from helpdesk.server import schemas
from helpdesk.server.api import api
from helpdesk.server.api.contract import Body, operation
from helpdesk.server.api.inputs import current_user, json_body
from helpdesk.services import provisioning


class CustomerImport(Body):
    # The service checks each row's columns, so that skip_invalid can report a bad row and
    # import the others.
    rows: list[dict[str, Any]] = Field(
        description="At most 5000 objects with email, name, organization, role, language, "
        "phone and optionally line (the number reported with its errors)."
    )
    dry_run: bool | None = Field(None, description="Count what would change; write nothing.")
    skip_invalid: bool | None = Field(None, description="Import the valid rows anyway.")
    invite: bool | None = Field(None, description="false: no invitation email to new customers.")


class RowErrors(schemas.Answer):
    line: int
    email: str
    errors: list[str]


class ImportReport(schemas.Answer):
    created: int
    updated: int
    unchanged: int
    invalid: int = Field(description="Rows skipped (skip_invalid).")
    errors: list[RowErrors]
    dry_run: bool


class CustomerRow(schemas.Answer):
    email: str
    name: str
    organization: str = Field(description="Empty for a customer of no organization.")
    role: str
    language: str
    phone: str


class CustomerRows(schemas.Items[CustomerRow]):
    pass


@api.post("/users/import")
@operation(body=CustomerImport, answers={200: ImportReport})
def import_users():
    """Create or update customers and memberships from rows (customer managers); 422 if invalid.

    At most 5000 rows per request; `dry_run` counts without writing; `skip_invalid` imports
    the valid rows and reports the others.
    """
    actor = current_user()
    body = json_body()
    return provisioning.import_customers(
        body["rows"],
        actor=actor,
        dry_run=body.get("dry_run", False),
        skip_invalid=body.get("skip_invalid", False),
        invite=body.get("invite", True),
    )


@api.get("/users/export")
@operation(answers={200: CustomerRows})
def export_users():
    """Every customer as import rows, one per membership (customer managers)."""
    return {"items": provisioning.export_customers(actor=current_user())}

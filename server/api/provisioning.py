"""Bulk provisioning of customers: import rows, export the same rows."""

from __future__ import annotations

from helpdesk.server.api import api
from helpdesk.server.api.inputs import current_user, json_body
from helpdesk.services import provisioning


@api.post("/users/import")
def import_users():
    """Create or update customers and memberships from rows (customer managers); 422 if invalid.

    At most 5000 rows per request; `dry_run` counts without writing; `skip_invalid` imports
    the valid rows and reports the others.
    """
    actor = current_user()
    body = json_body({"rows", "dry_run", "skip_invalid", "invite"}, {"rows"})
    return provisioning.import_customers(
        body["rows"],
        actor=actor,
        dry_run=body.get("dry_run", False),
        skip_invalid=body.get("skip_invalid", False),
        invite=body.get("invite", True),
    )


@api.get("/users/export")
def export_users():
    """Every customer as import rows, one per membership (customer managers)."""
    return {"items": provisioning.export_customers(actor=current_user())}

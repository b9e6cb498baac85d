"""Organizations and their members."""

from __future__ import annotations

from flask import url_for
from pydantic import Field

from helpdesk.server import schemas
from helpdesk.server.api import MAX_ID, api
from helpdesk.server.api.contract import Body, Query, operation
from helpdesk.server.api.inputs import current_user, json_body, paging
from helpdesk.server.idempotency import idempotent
from helpdesk.server.serializers import organization_json, page_json
from helpdesk.services import organizations


class NewOrganization(Body):
    name: str


class NewMember(Body):
    organization: str = Field(description="The organization's name.")
    email: str = Field(description="The customer's email.")
    role: str | None = Field(None, description="user (the default) or power_user.")


class OrganizationsQuery(Query):
    page: int | None = None
    per_page: int | None = Field(None, description="At most 100.")


class Organizations(schemas.Page[schemas.Organization]):
    pass


class Membership(schemas.Answer):
    organization: str
    email: str
    role: str


@api.get("/organizations")
@operation(query=OrganizationsQuery, answers={200: Organizations})
def list_organizations():
    """Organizations by name, with member counts (agents and admins)."""
    page, per_page = paging()
    result = organizations.list_organizations(actor=current_user(), page=page, per_page=per_page)
    items = [organization_json(o) for o in result.items]
    return page_json(items, result.page, result.per_page, result.total)


@api.post("/organizations")
@idempotent
@operation(body=NewOrganization, answers={201: schemas.Organization})
def create_organization():
    """Create an organization (admins)."""
    actor = current_user()
    body = json_body()
    org = organizations.create_organization(body["name"], actor=actor)
    location = url_for("api.get_organization", org_id=org.id)
    return organization_json(org, []), 201, {"Location": location}


@api.get(f"/organizations/<int(max={MAX_ID}):org_id>")
@operation(answers={200: schemas.Organization})
def get_organization(org_id: int):
    """One organization with its members (agents and admins)."""
    org, members = organizations.organization_members(org_id, actor=current_user())
    return organization_json(org, members)


@api.post("/memberships")
@operation(body=NewMember, answers={200: Membership}, errors=(404,))
def add_member():
    """Add a customer to an organization, or change their role there (admins)."""
    actor = current_user()
    body = json_body()
    membership = organizations.add_member(
        body["organization"], body["email"], actor=actor, role=body.get("role") or "user"
    )
    return {
        "organization": membership.organization.name,
        "email": membership.user.email,
        "role": membership.role,
    }

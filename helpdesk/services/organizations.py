"""Organizations and who belongs to them."""

from __future__ import annotations

from peewee import JOIN, fn

from helpdesk import permissions, validation
from helpdesk.db import database
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import Membership, Organization, User
from helpdesk.pagination import Page, paginate
from helpdesk.services.organization_names import find_organization, get_organization
from helpdesk.services.users import get_user_by_email
from helpdesk.vocabulary import MEMBERSHIP_ROLES

# Why a user who is not a customer cannot join an organization, one sentence per kind.
NOT_A_MEMBER = {
    "agent": N_("{email} is an agent; only customers belong to organizations."),
    "admin": N_("{email} is an admin; only customers belong to organizations."),
}


def create_organization(name: str, *, actor: User) -> Organization:
    permissions.require(actor, "org.manage")
    name = validation.text("name", name, max_length=200, one_line=True)
    with database.atomic():
        if find_organization(name) is not None:
            raise Conflict(N_("An organization named {name!r} already exists."), name=name)
        return Organization.create(name=name)


def list_organizations(*, actor: User, page=1, per_page=25) -> Page:
    """A page of organizations by name with their member counts, and how many there are."""
    permissions.require(actor, "org.list")
    member_count = fn.COUNT(Membership.id).alias("member_count")
    query = (
        Organization.select(Organization, member_count)
        .join(Membership, JOIN.LEFT_OUTER)
        .group_by(Organization.id)
        .order_by(Organization.name)
    )
    return paginate(query, page, per_page)


def add_member(organization: str, email: str, *, actor: User, role: str = "user") -> Membership:
    """Make a customer a member of an organization, or change their role there."""
    permissions.require(actor, "org.manage")
    validation.choice("role", role, MEMBERSHIP_ROLES)
    with database.atomic():
        org = get_organization(organization)
        user = get_user_by_email(email)
        if not permissions.can(user, "org.join"):
            template = NOT_A_MEMBER[user.kind]
            raise ValidationFailed(template, email=user.email)
        membership = Membership.get_or_none(user=user, organization=org)
        if membership is None:
            return Membership.create(user=user, organization=org, role=role)
        if membership.role != role:
            membership.role = role
            membership.save()
        return membership


def organization_members(org_id: int, *, actor: User) -> tuple[Organization, list[Membership]]:
    permissions.require(actor, "org.list")
    org = Organization.get_or_none(Organization.id == org_id)
    if org is None:
        raise NotFound(N_("No organization {id}."), id=org_id)
    members = list(
        Membership.select(Membership, User)
        .join(User)
        .where(Membership.organization == org)
        .order_by(User.email)
    )
    return org, members

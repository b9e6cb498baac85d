"""The login report: logins, failures, token uses and other account events (agents)."""

from __future__ import annotations

from peewee import fn

from helpdesk import permissions, validation
from helpdesk.models import AccessLog, Membership, User
from helpdesk.pagination import Page, paginate
from helpdesk.services.organization_names import get_organization


def access_log(
    *,
    actor: User,
    organization=None,
    user=None,
    date_from=None,
    date_to=None,
    page=1,
    per_page=25,
) -> Page:
    """Logins and other account events, newest first (agents)."""
    permissions.require(actor, "report.view")
    query = AccessLog.select(AccessLog, User).join(
        User, on=(AccessLog.user == User.id), join_type="LEFT OUTER JOIN"
    )
    if organization:
        members = Membership.select(Membership.user).where(
            Membership.organization == get_organization(organization)
        )
        query = query.where(AccessLog.user.in_(members))
    if user:
        query = query.where(
            fn.LOWER(AccessLog.email) == validation.text("user", user, max_length=254).lower()
        )
    start = validation.date_bound("from", date_from)
    end = validation.date_bound("to", date_to, end=True)
    if start is not None:
        query = query.where(AccessLog.at >= start)
    if end is not None:
        query = query.where(AccessLog.at < end)
    return paginate(query.order_by(AccessLog.at.desc(), AccessLog.id.desc()), page, per_page)

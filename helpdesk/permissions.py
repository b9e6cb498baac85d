"""Who may do what: every check in the product goes through this module."""

from __future__ import annotations

from collections.abc import Callable

from helpdesk.errors import NotFound, PermissionDenied
from helpdesk.models import Membership, Share, Ticket, User


def is_power_member(user: User, organization_id: int) -> bool:
    return (
        Membership.select()
        .where(
            (Membership.user == user)
            & (Membership.organization == organization_id)
            & (Membership.role == "power")
        )
        .exists()
    )


def is_shared_with(user: User, ticket: Ticket) -> bool:
    return Share.select().where((Share.ticket == ticket) & (Share.user == user)).exists()


def _is_requester(actor: User, ticket: Ticket) -> bool:
    return ticket.requester_id == actor.id


def _can_view(actor: User, ticket: Ticket) -> bool:
    # One request asks this of the same ticket object many times (find it, check the action,
    # filter its comments, attachments and history): answer from the object after the first.
    seen = ticket.__dict__.setdefault("_visible_to", {})
    if actor.id not in seen:
        seen[actor.id] = _visible(actor, ticket)
    return seen[actor.id]


def _visible(actor: User, ticket: Ticket) -> bool:
    if actor.is_staff or _is_requester(actor, ticket):
        return True
    if is_shared_with(actor, ticket):
        return True
    return not ticket.private and is_power_member(actor, ticket.organization_id)


def _staff(actor: User, ticket: Ticket | None) -> bool:
    return actor.is_staff


def _admin(actor: User, ticket: Ticket | None) -> bool:
    return actor.kind == "admin"


def _customer_manager(actor: User, ticket: Ticket | None) -> bool:
    return actor.kind == "admin" or (actor.kind == "agent" and actor.can_manage_customers)


def _customer(actor: User, ticket: Ticket | None) -> bool:
    return actor.kind == "customer"


def _staff_or_requester(actor: User, ticket: Ticket) -> bool:
    return actor.is_staff or _is_requester(actor, ticket)


def _can_share(actor: User, ticket: Ticket) -> bool:
    if _staff_or_requester(actor, ticket):
        return True
    return not ticket.private and is_power_member(actor, ticket.organization_id)


Rule = Callable[[User, Ticket | None], bool]

# action -> (rule, what a refused caller is told)
RULES: dict[str, tuple[Rule, str]] = {
    "ticket.submit": (_customer, "Only customers submit tickets; agents use requester."),
    "ticket.submit_on_behalf": (_staff, "Only agents may submit a ticket for someone else."),
    "ticket.view": (_can_view, "No such ticket."),
    "ticket.comment": (_can_view, "You may not comment on this ticket."),
    "ticket.attach": (_can_view, "You may not attach files to this ticket."),
    "ticket.view_internal": (_staff, "Only agents see internal notes."),
    "ticket.comment_internal": (_staff, "Only agents may write internal notes."),
    "ticket.share": (_can_share, "Only the requester or a power user may share this ticket."),
    "ticket.assign": (_staff, "Only agents may assign tickets."),
    "ticket.close": (_staff_or_requester, "Only the requester or an agent may close it."),
    "ticket.reopen": (_staff_or_requester, "Only the requester or an agent may reopen it."),
    "ticket.rate": (_is_requester, "Only the requester may rate this ticket."),
    "user.list": (_staff, "Only agents may list users."),
    "user.manage": (_admin, "Only admins may manage users."),
    "customer.manage": (
        _customer_manager,
        "Only admins and agents with the customer-management permission may manage customers.",
    ),
    "org.list": (_staff, "Only agents may list organizations."),
    "org.manage": (_admin, "Only admins may manage organizations."),
    "report.view": (_staff, "Only agents may see reports."),
    "mail.manage": (_admin, "Only admins may manage the mail outbox."),
}


def can(actor: User, action: str, ticket: Ticket | None = None) -> bool:
    rule, _ = RULES[action]
    if ticket is not None and action != "ticket.view" and not _can_view(actor, ticket):
        return False
    return bool(rule(actor, ticket))


def require(actor: User, action: str, ticket: Ticket | None = None) -> None:
    """Raise NotFound if the actor may not see the ticket, PermissionDenied if not allowed."""
    rule, message = RULES[action]
    if ticket is not None and not _can_view(actor, ticket):
        raise NotFound("No such ticket.", {"reference": ticket.reference})
    if not rule(actor, ticket):
        raise PermissionDenied(message, {"action": action})


def ticket_roles(actor: User, ticket: Ticket) -> set[str]:
    """The roles the workflow table speaks of: agent, requester, participant."""
    roles = set()
    if actor.is_staff:
        roles.add("agent")
    elif _can_view(actor, ticket):
        roles.add("participant")
    if _is_requester(actor, ticket):
        roles.add("requester")
    return roles


def visible_tickets(actor: User, query):
    """Restrict a Ticket query to the tickets the actor may see."""
    if actor.is_staff:
        return query
    shared = Share.select(Share.ticket).where(Share.user == actor)
    power_orgs = Membership.select(Membership.organization).where(
        (Membership.user == actor) & (Membership.role == "power")
    )
    return query.where(
        (Ticket.requester == actor)
        | Ticket.id.in_(shared)
        | ((Ticket.private == False) & Ticket.organization.in_(power_orgs))  # noqa: E712
    )


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def require_token_allows(token, method: str, *, revoking_itself: bool = False) -> None:
    """A read-only API token reads; it writes nothing but its own revocation."""
    if token.read_only and method not in SAFE_METHODS and not revoking_itself:
        raise PermissionDenied("This token is read-only.", {"read_only": True})

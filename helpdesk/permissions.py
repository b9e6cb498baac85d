"""Who may do what: every check in the product goes through this module.

No other module looks at a user's kind or a member's role to decide anything: it asks `can` or
`require` about a named action (tests/test_role_checks.py keeps it so). Who may move a ticket
between statuses, including who may close and reopen one, is the workflow table's
(helpdesk/workflow.py), spoken in the roles `ticket_roles` gives.
"""

from __future__ import annotations

from collections.abc import Callable

from helpdesk.errors import NotFound, PermissionDenied
from helpdesk.i18n import N_
from helpdesk.models import Membership, Organization, Share, Ticket, User
from helpdesk.vocabulary import USER_KINDS, MembershipRole, Status, UserKind

# Sets of plain words (not enum members): they are also sent to the database.
STAFF = frozenset({UserKind.agent.value, UserKind.admin.value})
CUSTOMERS = frozenset({UserKind.customer.value})
ADMINS = frozenset({UserKind.admin.value})
# The kinds whose accounts carry the customer-management switch (admins manage customers anyway).
CUSTOMER_MANAGEMENT_SWITCH = frozenset({UserKind.agent.value})


def is_power_member(user: User, organization_id: int) -> bool:
    return (
        Membership.select()
        .where(
            (Membership.user == user)
            & (Membership.organization == organization_id)
            & (Membership.role == MembershipRole.power.value)
        )
        .exists()
    )


def is_shared_with(user: User, ticket: Ticket) -> bool:
    return Share.select().where((Share.ticket == ticket) & (Share.user == user)).exists()


def _is_staff(actor: User) -> bool:
    return actor.kind in STAFF


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
    if _is_staff(actor) or _is_requester(actor, ticket):
        return True
    if is_shared_with(actor, ticket):
        return True
    return not ticket.private and is_power_member(actor, ticket.organization_id)


def _kind_in(kinds: frozenset[str]):
    """A rule decided by the actor's kind alone (so `holders` can ask the database too)."""

    def rule(actor: User, obj=None) -> bool:
        return actor.kind in kinds

    rule.kinds = kinds
    return rule


def _local_password(actor: User, obj=None) -> bool:
    return actor.auth_source == "local"


def _customer_manager(actor: User, obj=None) -> bool:
    return actor.kind in ADMINS or (
        actor.kind in CUSTOMER_MANAGEMENT_SWITCH and actor.can_manage_customers
    )


def _can_share(actor: User, ticket: Ticket) -> bool:
    if _is_staff(actor) or _is_requester(actor, ticket):
        return True
    return not ticket.private and is_power_member(actor, ticket.organization_id)


def _requester_or_staff(actor: User, ticket: Ticket) -> bool:
    return _is_staff(actor) or _is_requester(actor, ticket)


# While a ticket is new nobody has worked on it yet: its requester may still correct it.
REQUESTER_EDITS_WHILE = frozenset({Status.new.value})


def _edits_own(actor: User, ticket: Ticket) -> bool:
    return _is_requester(actor, ticket) and ticket.status in REQUESTER_EDITS_WHILE


def _power_member_somewhere(actor: User, obj=None) -> bool:
    return Membership.select().where(_power_memberships(actor)).exists()


def _power_memberships(actor: User):
    return (Membership.user == actor) & (Membership.role == MembershipRole.power.value)


def _org_insider(actor: User, org: Organization) -> bool:
    if _is_staff(actor):
        return True
    return (
        Membership.select()
        .where((Membership.user == actor) & (Membership.organization == org))
        .exists()
    )


Rule = Callable[[User, object], bool]

# action -> (rule, what a refused caller is told). Who may close or reopen a ticket is not here:
# the workflow table says it (helpdesk/workflow.py).
RULES: dict[str, tuple[Rule, str]] = {
    "ticket.submit": (_kind_in(CUSTOMERS), "Only customers submit tickets; agents use requester."),
    "ticket.submit_on_behalf": (
        _kind_in(STAFF),
        "Only agents may submit a ticket for someone else.",
    ),
    # Works on tickets: may be assigned one, answers for the tickets assigned to them, hears of
    # unassigned ones, and does not bring a pending ticket back by replying.
    "ticket.work": (_kind_in(STAFF), "Only agents work on tickets."),
    "ticket.view": (_can_view, "No such ticket."),
    "ticket.comment": (_can_view, "You may not comment on this ticket."),
    "ticket.attach": (_can_view, "You may not attach files to this ticket."),
    # Lists "all my organization's requests" (home, /requests?scope=organization): power users.
    "ticket.view_organization": (
        _power_member_somewhere,
        "Only power users see all their organization's requests.",
    ),
    "ticket.view_internal": (_kind_in(STAFF), "Only agents see internal notes."),
    "ticket.comment_internal": (_kind_in(STAFF), "Only agents may write internal notes."),
    "ticket.share": (_can_share, "Only the requester or a power user may share this ticket."),
    # Invite an address nobody registered (or a customer of no organization) to one ticket.
    "ticket.invite": (
        _requester_or_staff,
        "Only the requester or an agent may invite someone from outside the organization.",
    ),
    "ticket.share_outside": (
        _kind_in(STAFF),
        "Only agents may share a ticket with a user of another organization.",
    ),
    "ticket.unshare": (
        _requester_or_staff,
        "Only the requester or an agent may unshare this ticket.",
    ),
    # Change any field of a ticket (type, impact, urgency, priority too).
    "ticket.edit": (
        _kind_in(STAFF),
        "Only agents may change a ticket's type, impact, urgency or priority.",
    ),
    # Change the title, description and privacy of one's own ticket.
    "ticket.edit_own": (
        _edits_own,
        "Only the requester may edit this ticket, and only while it is new; "
        "after that, ask an agent to change it.",
    ),
    "ticket.assign": (_kind_in(STAFF), "Only agents may assign tickets."),
    "ticket.rate": (_is_requester, "Only the requester may rate this ticket."),
    "user.list": (_kind_in(STAFF), "Only agents may list users."),
    "user.manage": (_kind_in(ADMINS), "Only admins may manage users."),
    "customer.manage": (
        _customer_manager,
        "Only admins and agents with the customer-management permission may manage customers.",
    ),
    "org.list": (_kind_in(STAFF), "Only agents may list organizations."),
    "org.manage": (_kind_in(ADMINS), "Only admins may manage organizations."),
    # Sees an organization's name and may filter tickets by it: agents and its members.
    "org.view": (_org_insider, "No such organization."),
    "org.join": (_kind_in(CUSTOMERS), "Only customers belong to organizations."),
    "report.view": (_kind_in(STAFF), "Only agents may see reports."),
    "catalog.manage": (_kind_in(ADMINS), "Only admins may change the service catalogue."),
    # Files a ticket for any open service, whatever the requester's contracts cover.
    "catalog.use_any": (_kind_in(STAFF), "Only agents may use services outside a contract."),
    "contract.view": (_kind_in(STAFF), "Only agents may see contracts."),
    "contract.manage": (_kind_in(ADMINS), "Only admins may manage contracts."),
    "sla.view": (_kind_in(STAFF), "Only agents may see SLA policies and due times."),
    # Run the breach check (cron, with an agent's or admin's token).
    "sla.check": (_kind_in(STAFF), "Only agents may run the SLA check."),
    "sla.manage": (_kind_in(ADMINS), "Only admins may manage SLA policies and calendars."),
    # The priority policy: everyone may read what each request type asks for; admins set it.
    "priority.view": (_kind_in(frozenset(USER_KINDS)), "You may not see the priority policy."),
    "priority.manage": (_kind_in(ADMINS), "Only admins may change the priority policy."),
    "mail.manage": (_kind_in(ADMINS), "Only admins may manage the mail outbox."),
    # Accounts that sign in elsewhere (LDAP, SSO) have no password of ours to change.
    "account.change_password": (
        _local_password,
        "This account does not sign in with a password of this help desk.",
    ),
}


def can(actor: User, action: str, obj: Ticket | Organization | None = None) -> bool:
    """May the actor do `action` (to this ticket or organization)? Nothing about a hidden ticket."""
    rule, _ = RULES[action]
    if isinstance(obj, Ticket) and action != "ticket.view" and not _can_view(actor, obj):
        return False
    return bool(rule(actor, obj))


def require(actor: User, action: str, obj: Ticket | Organization | None = None) -> None:
    """Raise NotFound if the actor may not see the ticket, PermissionDenied if not allowed."""
    rule, message = RULES[action]
    if isinstance(obj, Ticket) and not _can_view(actor, obj):
        _, message = RULES["ticket.view"]  # "No such ticket.": one text for every hidden ticket
        raise NotFound(message, {"reference": obj.reference})
    if not rule(actor, obj):
        raise PermissionDenied(message, {"action": action})


def manage_action(kind: str) -> str:
    """The action that governs accounts of this kind: customers, or agents and admins."""
    return "customer.manage" if kind in CUSTOMERS else "user.manage"


def holders(action: str, query=None):
    """Restrict a User query to those who may do `action`, one decided by kind alone."""
    rule, _ = RULES[action]
    kinds = getattr(rule, "kinds", None)
    if kinds is None:
        raise ValueError(f"{action} depends on more than the user's kind")
    query = User.select() if query is None else query
    return query.where(User.kind.in_(sorted(kinds)))


def ticket_roles(actor: User, ticket: Ticket) -> set[str]:
    """The roles the workflow table speaks of: agent, or requester and/or participant."""
    if _is_staff(actor):
        return {"agent"}
    roles = set()
    if _can_view(actor, ticket):
        roles.add("participant")
    if _is_requester(actor, ticket):
        roles.add("requester")
    return roles


def sees_every_ticket(actor: User) -> bool:
    return _is_staff(actor)


def visible_tickets(actor: User, query):
    """Restrict a Ticket query to the tickets the actor may see."""
    if sees_every_ticket(actor):
        return query
    return query.where(Ticket.id.in_(visible_ids(actor)))


def visible_ids(actor: User):
    """The ids of the tickets a customer may see (a query, with repeats): their own, those
    shared with them, and their power organizations' non-private ones. One IN over three index
    lookups, not an OR of them: with the OR the database tests every row of the listed order (a
    status's, a search's matches) for the three conditions; with IN it reads the customer's few
    ids once."""
    own = Ticket.alias()
    organizations = Ticket.alias()
    power_orgs = Membership.select(Membership.organization).where(_power_memberships(actor))
    return (
        # UNION ALL (`+`): IN does not care for repeats, and no temporary table removes them.
        own.select(own.id).where(own.requester == actor)
        + Share.select(Share.ticket).where(Share.user == actor)
        + organizations.select(organizations.id).where(
            (organizations.private == False)  # noqa: E712
            & organizations.organization.in_(power_orgs)
        )
    )


def organization_tickets(actor: User, query):
    """Restrict a Ticket query to the organizations whose requests the actor sees all of (a
    power user's); call `visible_tickets` too (a colleague's private request stays hidden)."""
    require(actor, "ticket.view_organization")
    power_orgs = Membership.select(Membership.organization).where(_power_memberships(actor))
    return query.where(Ticket.organization.in_(power_orgs))


def answers_for(actor: User):
    """The Ticket field that makes a ticket "mine": an agent's assigned, a customer's own
    (each one a ticket they may see: "mine" needs no visibility test on top)."""
    return Ticket.assignee if can(actor, "ticket.work") else Ticket.requester


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def require_token_allows(token, method: str, *, revoking_itself: bool = False) -> None:
    """A read-only API token reads; it writes nothing but its own revocation."""
    if token.read_only and method not in SAFE_METHODS and not revoking_itself:
        raise PermissionDenied(N_("This token is read-only."), {"read_only": True})

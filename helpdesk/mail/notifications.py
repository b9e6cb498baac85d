"""Who is told of what: every notification email starts here.

Called by the ticket services inside their transaction, so a change and the emails that tell
of it are committed together or not at all.
"""

from __future__ import annotations

from helpdesk import permissions, workflow
from helpdesk.config import MailSettings, current_settings
from helpdesk.mail.outbox import notification, queue_email, queue_emails
from helpdesk.models import NotificationPreference, Share, Ticket, User
from helpdesk.services.contracts import display_names
from helpdesk.survey_tokens import issue_survey_token
from helpdesk.vocabulary import STATUSES, Status

# Customers hear of every status a ticket moves to (none moves back to new).
CUSTOMER_STATUS_KINDS = frozenset(STATUSES) - {Status.new.value}


def followers(ticket: Ticket) -> list[User]:
    """The customers who follow a ticket: its requester and those it is shared with."""
    shared = User.select().join(Share, on=(Share.user == User.id)).where(Share.ticket == ticket)
    return [ticket.requester, *shared]


def agents_for(ticket: Ticket, settings: MailSettings) -> list[User]:
    """The assignee; for an unassigned ticket, every agent if the setting says so."""
    if ticket.assignee_id is not None:
        return [ticket.assignee]
    if settings.notify_unassigned == "all":
        return list(permissions.holders("ticket.work"))
    return []


def notifications_enabled(ticket: Ticket, user: User) -> bool:
    return not muted(ticket, [user])


def muted(ticket: Ticket, users: list[User]) -> set[int]:
    """The ids of those of `users` who turned this ticket's emails off (one query)."""
    if not users:
        return set()
    rows = NotificationPreference.select(NotificationPreference.user).where(
        (NotificationPreference.ticket == ticket)
        & NotificationPreference.user.in_([user.id for user in users])
        & (NotificationPreference.enabled == False)  # noqa: E712
    )
    return {row.user_id for row in rows}


def _context(ticket: Ticket, actor: User | None, settings: MailSettings, **extra) -> dict:
    return {
        "ref": ticket.reference,
        "title": ticket.title,
        "status": ticket.status,
        "priority": ticket.priority,
        "actor": actor.name if actor else "",
        "agent": ticket.assignee.name if ticket.assignee_id else "",
        # The request's portal page: a browser opens it (the JSON API would answer 401).
        "url": f"{settings.base_url}/requests/{ticket.reference}",
        "body": "",
        "survey_links": [],
        "service": _service_line(ticket),
        **extra,
    }


def _service_line(ticket: Ticket, display_name: str | None = None) -> str:
    """The ticket's service (and subcategory) for a mail: "Matching / Data delivery"."""
    if ticket.service_id is None:
        return ""
    name = display_name or ticket.service.name
    return f"{name} / {ticket.subcategory.name}" if ticket.subcategory_id else name


def _send(recipients, kind, ticket, actor, settings, *, new_ticket=False, **extra) -> None:
    """Queue the notification `kind` for the recipients who hear of it, in one statement.
    `new_ticket`: the ticket was created in this transaction, so nobody has muted it yet."""
    told: dict[int, User] = {}
    for user in recipients:
        # Nobody is told of their own change, nor told twice.
        if user.active and (actor is None or user.id != actor.id):
            told.setdefault(user.id, user)
    if not told:
        return
    silent = set() if new_ticket else muted(ticket, list(told.values()))
    # Customers read the service under their contract's name for it; agents the catalogue's.
    display_name = display_names([ticket]).get(ticket.id) if ticket.service_id else None
    letters = []
    for user in told.values():
        if user.id in silent:
            continue
        context = _context(ticket, actor, settings, **extra)
        if display_name and not permissions.can(user, "ticket.work"):
            context["service"] = _service_line(ticket, display_name)
        letters.append(notification(user, kind, ticket, context, settings))
    queue_emails(letters)


def ticket_created(ticket: Ticket, actor: User) -> None:
    settings = current_settings().mail
    # The requester hears even when an agent opened the ticket for them.
    _send([ticket.requester], "received", ticket, None, settings, new_ticket=True)
    agents = agents_for(ticket, settings)
    _send(agents, "new_ticket", ticket, actor, settings, new_ticket=True, body=ticket.description)


def ticket_assigned(ticket: Ticket, actor: User) -> None:
    settings = current_settings().mail
    _send(followers(ticket), "assigned", ticket, actor, settings)
    _send([ticket.assignee], "assigned", ticket, actor, settings)


def public_reply(ticket: Ticket, actor: User, body: str) -> None:
    """A public comment: customers are told; agents too when a customer wrote it."""
    settings = current_settings().mail
    _send(followers(ticket), "reply", ticket, actor, settings, body=body)
    if not permissions.can(actor, "ticket.work"):
        _send(agents_for(ticket, settings), "reply", ticket, actor, settings, body=body)


def _shown(field: str, value) -> str:
    if field == "description":
        return "…"  # too long for a line: the email's link leads to it
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    return str(getattr(value, "name", value))  # a service or subcategory: its name


def ticket_edited(ticket: Ticket, actor: User, changes: list[tuple[str, object, object]]) -> None:
    """Fields of the ticket changed (every editable field is one customers see): the followers
    are told, the agents too when a customer made the change."""
    settings = current_settings().mail
    body = "\n".join(
        f"{field}: {_shown(field, old)} → {_shown(field, new)}" for field, old, new in changes
    )
    _send(followers(ticket), "updated", ticket, actor, settings, body=body)
    if not permissions.can(actor, "ticket.work"):
        _send(agents_for(ticket, settings), "updated", ticket, actor, settings, body=body)


def status_changed(ticket: Ticket, actor: User, previous: str, comment: str | None) -> None:
    settings = current_settings().mail
    body = comment or ""
    if ticket.status in CUSTOMER_STATUS_KINDS:
        customers = followers(ticket)
        if workflow.is_final(ticket.status) and ticket.satisfaction_rating is None:
            # The requester's invitation to rate tells them it is closed.
            customers = customers[1:]
            _send_survey(ticket, settings)
        _send(customers, "status", ticket, actor, settings, body=body)
    if workflow.is_reopening(previous, ticket.status):
        _send(agents_for(ticket, settings), "reopened", ticket, actor, settings, body=body)


def _send_survey(ticket: Ticket, settings: MailSettings) -> None:
    requester = ticket.requester
    if not requester.active or not notifications_enabled(ticket, requester):
        return
    token = issue_survey_token(ticket)
    links = [(n, f"{settings.base_url}/survey/{token}?rating={n}") for n in range(1, 6)]
    queue_email(
        requester, "survey", ticket, _context(ticket, None, settings, survey_links=links), settings
    )


def ticket_shared(ticket: Ticket, actor: User, users: list[User]) -> None:
    _send(users, "shared", ticket, actor, current_settings().mail)


def sla_alert(ticket: Ticket, clock: str, due, *, breached: bool) -> None:
    """An SLA target of the ticket was missed (or is due soon): its assignee is told, or every
    agent when nobody is assigned (whatever notify_unassigned says: a deadline is at stake)."""
    settings = current_settings().mail
    if ticket.assignee_id is not None:
        agents = [ticket.assignee]
    else:
        agents = list(permissions.holders("ticket.work").where(User.active == True))  # noqa: E712
    kind = f"sla_{clock}_{'breached' if breached else 'due'}"
    _send(agents, kind, ticket, None, settings, due=due)

"""The agent pages: the queue (`/queue`) and the agent controls of the request page.

The controls are the template `portal/request_agent.html`, which the request page includes for
agents; their forms post here and come back to the request page (POST -> 303 -> GET) with a
flash message. A refusal from the core comes back as its message, and what was typed is kept
for the form (a draft in the session, shown once). Every route first asks the permission module
whether the visitor works on tickets: a ticket they may not see is 404, a customer 403.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, session
from flask_babel import gettext as _

from helpdesk import permissions, sla_clock, workflow
from helpdesk.errors import HelpdeskError, NotFound, ValidationFailed
from helpdesk.server.portal import portal, said, uploaded_files
from helpdesk.server.portal.session import login_required, portal_user
from helpdesk.services import tickets
from helpdesk.vocabulary import (
    PRIORITIES,
    STATUSES,
    TICKET_SORTS,
    TICKET_TYPES,
    SortDirection,
    TicketSort,
)

# The queue's query parameters are the API's (GET /api/v1/tickets): bookmarks work on both.
QUEUE_FILTERS = (
    "status",
    "unassigned",
    "scope",
    "organization",
    "type",
    "service",
    "q",
    "priority",
    "requester",
    "assignee",
    "from",
    "to",
    "updated_since",
)
# What the edit form may change (title and description stay the requester's words).
EDIT_FIELDS = ("priority", "type", "service", "subcategory")
DRAFT_KEY = "agent_draft"  # what a refused form held, shown again once


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes", "on")


def _queue_filter(args) -> tickets.TicketFilter:
    return tickets.TicketFilter(
        statuses=tuple(s for s in args.getlist("status") if s),
        scope=args.get("scope") or None,
        organization=args.get("organization") or None,
        type=args.get("type") or None,
        service=args.get("service") or None,
        text=args.get("q") or None,
        priorities=tuple(p for p in args.getlist("priority") if p),
        requester=args.get("requester") or None,
        assignee=args.get("assignee") or None,
        created_from=args.get("from") or None,
        created_to=args.get("to") or None,
        updated_since=args.get("updated_since") or None,
        unassigned=_flag(args.get("unassigned")),
        sort=args.get("sort") or None,
        direction=args.get("dir") or None,
        page=args.get("page") or 1,
        per_page=args.get("per_page") or 25,
    )


def _queue_url(args, **changes) -> str:
    """/queue with the current filters, some changed (None drops one)."""
    kept = [(k, v) for k, v in args.items(multi=True) if v and k not in changes]
    kept += [(k, v) for k, v in changes.items() if v is not None]
    return "/queue" + ("?" + urlencode(kept) if kept else "")


def _sort_links(args) -> dict[str, str]:
    """Each column header's link: sort by it, or turn the direction around when it is the sort."""
    links = {}
    for column in TICKET_SORTS:
        flipped = None  # another column: its natural direction
        if column == args.get("sort"):
            shown = args.get("dir") or tickets.SORT_COLUMNS[TicketSort(column)][1]
            flipped = SortDirection.asc if shown == SortDirection.desc else SortDirection.desc
        links[column] = _queue_url(args, sort=column, dir=flipped, page=None)
    return links


@portal.get("/queue")
@login_required
def queue():
    """The agents' ticket queue: filters, sortable columns, pages, SLA due times."""
    me = portal_user()
    permissions.require(me, "ticket.work")
    args = request.args
    error, result = None, None
    try:
        result = tickets.list_tickets(_queue_filter(args), actor=me)
    except (ValidationFailed, NotFound) as exc:  # a filter that names nothing: say so, keep it
        error = said(exc)
    pages = None
    if result is not None:
        last = max(1, -(-result.total // result.per_page))
        pages = {
            "number": result.page,
            "last": last,
            "previous": _queue_url(args, page=str(result.page - 1)) if result.page > 1 else None,
            "next": _queue_url(args, page=str(result.page + 1)) if result.next else None,
        }
    page = render_template(
        "portal/queue.html",
        result=result,
        error=error,
        pages=pages,
        args=args,
        sort_links=_sort_links(args),
        sla={t.id: sla_clock.running(t) for t in (result.items if result else [])},
        statuses=STATUSES,
        types=TICKET_TYPES,
    )
    return page, (422 if error else 200)


# -- the controls on the request page -----------------------------------------------------------


@portal.app_context_processor
def agent_controls_context():
    """What portal/request_agent.html asks: the moves the workflow allows me, the form drafts."""

    def transitions(ticket) -> list[str]:
        me = portal_user()
        return workflow.allowed_transitions(ticket, me) if me else []

    def draft(form: str) -> dict:
        """What the named form held when the core refused it (shown once), else nothing."""
        kept = session.get(DRAFT_KEY)
        if kept and kept.get("form") == form:
            session.pop(DRAFT_KEY)
            return kept.get("fields", {})
        return {}

    return {
        "agent_transitions": transitions,
        "agent_draft": draft,
        "priorities": PRIORITIES,
        "ticket_types": TICKET_TYPES,
    }


def _agent_ticket(reference: str):
    """The ticket, for a visitor who works on tickets: 404 if they may not see it, 403 else."""
    me = portal_user()
    ticket = tickets.get_ticket(reference, actor=me)
    permissions.require(me, "ticket.work", ticket)
    return me, ticket


def _back(ticket, message: str | None = None):
    if message:
        flash(message, "success")
    return redirect(f"/requests/{ticket.reference}", 303)


def _refused(ticket, exc: HelpdeskError, form: str, fields: dict):
    """The core said no (a bad value, an edge the workflow refuses, an unknown agent): its
    message on the request page, and the form as it was typed."""
    flash(said(exc), "error")
    session[DRAFT_KEY] = {"form": form, "fields": fields}
    return redirect(f"/requests/{ticket.reference}", 303)


@portal.post("/requests/<reference>/note")
@login_required
def agent_note(reference: str):
    """A public reply or, with `internal` ticked, an internal note; files in `file`."""
    me, ticket = _agent_ticket(reference)
    body = request.form.get("body", "")
    internal = _flag(request.form.get("internal"))
    try:
        tickets.add_comment(
            ticket.reference, body, actor=me, internal=internal, attachments=uploaded_files()
        )
    except HelpdeskError as exc:
        return _refused(ticket, exc, "note", {"body": body, "internal": internal})
    done = _("Internal note added.") if internal else _("Reply sent.")
    return _back(ticket, done)


@portal.post("/requests/<reference>/assign")
@login_required
def agent_assign(reference: str):
    """Give the ticket to an agent named by email (or "me")."""
    me, ticket = _agent_ticket(reference)
    assignee = request.form.get("assignee", "")
    try:
        ticket = tickets.assign(ticket.reference, assignee, actor=me)
    except HelpdeskError as exc:
        return _refused(ticket, exc, "assign", {"assignee": assignee})
    return _back(
        ticket,
        _(
            "%(ref)s is assigned to %(name)s.",
            ref=ticket.reference,
            name=ticket.assignee.name or ticket.assignee.email,
        ),
    )


@portal.post("/requests/<reference>/status")
@login_required
def agent_status(reference: str):
    """Move the ticket to the status `to`, with an optional public `comment`."""
    me, ticket = _agent_ticket(reference)
    to = request.form.get("to", "")
    comment = request.form.get("comment") or None
    try:
        ticket = tickets.change_status(ticket.reference, to, actor=me, comment=comment)
    except HelpdeskError as exc:
        return _refused(ticket, exc, "status", {"to": to, "comment": comment or ""})
    return _back(ticket, _("%(ref)s is now %(status)s.", ref=ticket.reference, status=to))


@portal.post("/requests/<reference>/edit")
@login_required
def agent_edit(reference: str):
    """Override the priority, or change the type, service and subcategory (fields left empty
    stay as they are)."""
    me, ticket = _agent_ticket(reference)
    changes = {f: request.form[f].strip() for f in EDIT_FIELDS if request.form.get(f, "").strip()}
    if not changes:
        return _back(ticket, _("Nothing to change."))
    try:
        edit = tickets.edit_ticket(ticket.reference, changes, actor=me)
    except HelpdeskError as exc:
        return _refused(ticket, exc, "edit", changes)
    if not edit.changed:
        return _back(ticket, _("Nothing to change."))
    return _back(ticket, _("%(ref)s is updated.", ref=ticket.reference))

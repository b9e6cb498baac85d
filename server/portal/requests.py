"""The customer's request pages: the home dashboard, the lists of requests, the closed-request
search and the request page with its forms (comment, share, notifications, close, reopen).

Like the API's views, each one parses the form or the query, calls one core service and renders
or redirects (POST -> 303 -> GET); a request the visitor may not see is the service's NotFound,
a 404 page. A refused form is shown again with the message next to it and the input kept.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext

from helpdesk import permissions, validation, workflow
from helpdesk.errors import HelpdeskError, NotFound, ValidationFailed
from helpdesk.mail.notifications import notifications_enabled
from helpdesk.server.attachments import send_attachment
from helpdesk.server.portal import portal, said, uploaded_files
from helpdesk.server.portal.session import login_required, portal_user
from helpdesk.services import contracts, dashboard, tickets
from helpdesk.vocabulary import Status

# "My open requests" are those still in work; "resolved" ones wait for the customer's verdict.
OPEN_STATUSES = (Status.new.value, Status.open.value, Status.pending.value)
RESOLVED_STATUSES = (Status.resolved.value,)
CLOSED_FILTERS = (
    "reference",
    "created_from",
    "created_to",
    "closed_from",
    "closed_to",
    "service",
    "requester",
)
# The history rows the log shows as their comment (or not at all) rather than as an event.
SHOWN_AS_COMMENTS = frozenset({"comment", "internal_note"})
PER_PAGE = 25


def _args(**changes) -> str:
    """This page's query string with some parameters changed (the pager's links)."""
    args = request.args.copy()
    for name, value in changes.items():
        args.setlist(name, [str(value)])
    return urlencode(list(args.items(multi=True)))


def home_dashboard(user) -> dict:
    """The home page's figures (helpdesk/services/dashboard.py): my requests (an agent's assigned
    tickets), my organization's (power users) and the agents' counts (agents)."""
    figures = dashboard.dashboard(actor=user)
    sections = [{"scope": "mine", "counts": figures["mine"]}]
    if figures["organization"] is not None:
        sections.append({"scope": "organization", "counts": figures["organization"]})
    return {"sections": sections, "agent": figures["agent"], "priorities": figures["priorities"]}


def _listing(statuses, scope: str, page=1) -> dict:
    result = tickets.list_tickets(
        tickets.TicketFilter(statuses=tuple(statuses), scope=scope, page=page, per_page=PER_PAGE),
        actor=portal_user(),
    )
    return {
        "statuses": list(statuses),
        "names": ", ".join(pgettext("status", status) for status in statuses),
        "page": result,
        "services": contracts.display_names(result.items),
    }


@portal.get("/requests")
@login_required
def my_requests():
    """My open and my resolved requests (`scope=organization`: my organization's); with
    `status` (repeatable), one list of those statuses, page by page."""
    scope = request.args.get("scope") or "mine"
    statuses = request.args.getlist("status")
    if statuses:
        lists = [_listing(statuses, scope, request.args.get("page", 1))]
    else:
        lists = [_listing(OPEN_STATUSES, scope), _listing(RESOLVED_STATUSES, scope)]
    return render_template(
        "portal/requests.html",
        scope=scope,
        lists=lists,
        open_statuses=list(OPEN_STATUSES),
        resolved_statuses=list(RESOLVED_STATUSES),
        args=_args,
    )


@portal.get("/requests/closed")
@login_required
def closed_requests():
    """The search form over closed requests; its filters are query parameters."""
    me = portal_user()
    wanted = {name: (request.args.get(name) or "").strip() for name in CLOSED_FILTERS}
    if not permissions.can(me, "ticket.view_organization"):
        wanted["requester"] = ""  # the caller filter is for power users only
    error = None
    result = None
    try:
        result = tickets.list_tickets(
            tickets.TicketFilter(
                statuses=(Status.closed.value,),
                page=request.args.get("page", 1),
                per_page=PER_PAGE,
                **{name: value or None for name, value in wanted.items()},
            ),
            actor=me,
        )
    except (ValidationFailed, NotFound) as exc:  # a bad date, an unknown service
        error = exc
    status = 200 if error is None else error.http_status
    page = render_template(
        "portal/requests_closed.html",
        wanted=wanted,
        error=error,
        result=result,
        services=contracts.display_names(result.items) if result else {},
        args=_args,
    )
    return page, status


# -- one request --------------------------------------------------------------------------


def _log(ticket, me) -> tuple[list[dict], list]:
    """Comments (with their files) and the other history rows the visitor may see, in order;
    and the files of the request itself."""
    attachments = tickets.visible_attachments(ticket, me)
    by_comment: dict[int, list] = {}
    for attachment in attachments:
        by_comment.setdefault(attachment.comment_id, []).append(attachment)
    entries = [
        {"at": c.created_at, "order": (0, c.id), "comment": c, "files": by_comment.get(c.id, [])}
        for c in tickets.visible_comments(ticket, me)
    ]
    entries += [
        {"at": e.created_at, "order": (1, e.id), "event": e}
        for e in tickets.visible_events(ticket, me)
        if e.kind not in SHOWN_AS_COMMENTS
    ]
    entries.sort(key=lambda entry: (entry["at"], entry["order"]))
    return entries, by_comment.get(None, [])


def _request_page(reference: str, *, errors=None, kept=None, status: int = 200):
    me = portal_user()
    ticket = tickets.get_ticket(reference, actor=me)
    log, ticket_files = _log(ticket, me)
    page = render_template(
        "portal/request.html",
        ticket=ticket,
        service_name=contracts.display_names([ticket]).get(ticket.id),
        shared_with=tickets.shared_with(ticket),
        log=log,
        ticket_files=ticket_files,
        allowed=workflow.allowed_transitions(ticket, me),
        final=workflow.is_final(ticket.status),
        notifications=notifications_enabled(ticket, me),
        errors=errors or {},
        kept=kept or {},
    )
    return page, status


@portal.get("/requests/<reference>")
@login_required
def show_request(reference: str):
    """The request page: its fields, who it is shared with, its public log and its forms."""
    return _request_page(reference)


def _done(reference: str, message: str):
    flash(message, "success")
    return redirect(url_for("portal.show_request", reference=reference.upper()), 303)


def _refused(reference: str, form: str, exc: HelpdeskError):
    """The request page again, the refusal next to the form (at the top when the form is not
    shown any more: the request was closed meanwhile), what was typed kept."""
    if isinstance(exc, NotFound):
        raise exc
    kept = {name: value for name, value in request.form.items() if name != "csrf_token"}
    return _request_page(reference, errors={form: said(exc)}, kept=kept, status=exc.http_status)


@portal.post("/requests/<reference>/comments")
@login_required
def comment_request(reference: str):
    """Add a public comment (`body`) with files (`file`)."""
    try:
        tickets.add_comment(
            reference,
            request.form.get("body", ""),
            actor=portal_user(),
            attachments=uploaded_files(),
        )
    except HelpdeskError as exc:
        return _refused(reference, "comment", exc)
    return _done(reference, _("Your comment was added."))


# Several people in one field: "ann@example.test, Carl Colleague".
PEOPLE_SEPARATORS = re.compile(r"[,;\n]+")


@portal.post("/requests/<reference>/shares")
@login_required
def share_request(reference: str):
    """Share the request with colleagues or (by email) someone from outside (`users`)."""
    people = [p.strip() for p in PEOPLE_SEPARATORS.split(request.form.get("users", ""))]
    try:
        sharing = tickets.share_ticket(reference, [p for p in people if p], actor=portal_user())
    except HelpdeskError as exc:
        return _refused(reference, "share", exc)
    if not sharing.added:
        return _done(reference, _("The request was already shared with them."))
    names = ", ".join(user.name for user in sharing.added)
    return _done(reference, _("The request is now shared with %(names)s.", names=names))


@portal.post("/requests/<reference>/notifications")
@login_required
def switch_notifications(reference: str):
    """Turn my emails about this request on (`enabled=on`) or off (`enabled=off`)."""
    value = request.form.get("enabled", "")
    try:
        if value not in ("on", "off"):
            raise ValidationFailed(_("Choose on or off."), {"field": "enabled"})
        tickets.set_notifications(reference, value == "on", actor=portal_user())
    except HelpdeskError as exc:
        return _refused(reference, "notifications", exc)
    if value == "on":
        return _done(reference, _("You will receive emails about this request."))
    return _done(reference, _("You will no longer receive emails about this request."))


@portal.post("/requests/<reference>/close")
@login_required
def close_request(reference: str):
    """Close a resolved request, with a satisfaction `rating` (1-5) and a `comment`."""
    rating = request.form.get("rating", "").strip()
    number = validation.ascii_int(rating)  # other text goes on for the service to refuse
    try:
        tickets.close_ticket(
            reference,
            actor=portal_user(),
            rating=(rating or None) if number is None else number,
            comment=request.form.get("comment", ""),
        )
    except HelpdeskError as exc:
        return _refused(reference, "close", exc)
    return _done(reference, _("The request is closed. Thank you!"))


@portal.post("/requests/<reference>/reopen")
@login_required
def reopen_request(reference: str):
    """Reopen a resolved request; the `comment` saying why is required."""
    try:
        tickets.reopen_ticket(reference, request.form.get("comment", ""), actor=portal_user())
    except HelpdeskError as exc:
        return _refused(reference, "reopen", exc)
    return _done(reference, _("The request is open again."))


@portal.get("/requests/<reference>/attachments/<filename>")
@login_required
def download_attachment(reference: str, filename: str):
    """A file of the request, always as a download, checked like the API's."""
    attachment = tickets.get_attachment(reference, filename, actor=portal_user())
    return send_attachment(attachment)

"""Tickets, their comments, shares, attachments and workflow."""

from __future__ import annotations

from flask import Response, request, stream_with_context, url_for
from pydantic import Field

from helpdesk import validation
from helpdesk.server import schemas
from helpdesk.server.api import MAX_ID, api
from helpdesk.server.api.contract import NOT_MODIFIED, Body, Media, Query, operation
from helpdesk.server.api.inputs import (
    current_user,
    flag,
    json_body,
    paging,
    payload_with_uploads,
)
from helpdesk.server.attachments import send_attachment
from helpdesk.server.idempotency import idempotent
from helpdesk.server.serializers import (
    EXPORT_FORMATS,
    comment_json,
    export_lines,
    page_json,
    ticket_detail,
    ticket_summaries,
)
from helpdesk.services import tickets


class TicketSubmission(Body):
    type: str = Field(
        description="incident, feature or question (GET /catalog: a service's types)."
    )
    title: str
    service: str | int | None = Field(None, description="A service of the caller's catalogue.")
    subcategory: str | int | None = None
    description: str | None = None
    impact: str | None = Field(None, description="When the type's priority policy asks for it.")
    urgency: str | None = None
    priority: str | None = None
    organization: str | None = Field(None, description="When the requester has several.")
    private: bool | None = Field(None, description="Hidden from the organization's power users.")
    requester: str | None = Field(None, description="Agents: the customer it is for (email).")
    dedupe_key: str | None = Field(
        None, description="While an open ticket of the requester has it, a comment on that one."
    )


class TicketEdit(Body):
    title: str | None = None
    description: str | None = None
    type: str | None = None
    service: str | int | None = None
    subcategory: str | int | None = None
    impact: str | None = None
    urgency: str | None = None
    priority: str | None = None
    private: bool | None = None


class NewComment(Body):
    body: str
    internal: bool | None = Field(None, description="An internal note (agents).")


class Attachments(Body):
    """Nothing but the multipart `attachments` files."""


class Users(Body):
    users: list[str] = Field(description="Emails or names.")


class Assignment(Body):
    assignee: str = Field(description='An agent\'s email or name, or "me".')


class Transition(Body):
    to: str = Field(description="The status (allowed_transitions lists them).")
    comment: str | None = Field(None, description="A public comment with the change.")


class Closing(Body):
    rating: int | None = Field(None, description="The requester's satisfaction, 1 to 5.")
    comment: str | None = None


class Reopening(Body):
    comment: str = Field(description="Why the ticket is reopened (public).")


class TicketQuery(Query):
    status: list[str] | None = Field(None, description="Repeatable: new, open, pending...")
    priority: list[str] | None = Field(None, description="Repeatable.")
    scope: str | None = Field(None, description="mine, or organization (power users).")
    organization: str | None = None
    q: str | None = Field(None, description="Full text; each ticket then has a snippet.")
    type: str | None = None
    service: str | None = None
    requester: str | None = None
    assignee: str | None = None
    unassigned: bool | None = None
    breaching: bool | None = Field(None, description="SLA target missed or due within `within`.")
    within: str | None = Field(None, description="With breaching: a window such as 2h.")
    from_: str | None = Field(None, alias="from", description="Created from (date).")
    to: str | None = Field(None, description="Created before the end of (date).")
    closed_from: str | None = None
    closed_to: str | None = None
    updated_since: str | None = None
    reference: str | None = None
    sort: str | None = None
    dir: str | None = Field(None, description="asc or desc.")
    cursor: str | None = Field(None, description="The previous page's `next`.")
    count: bool | None = Field(None, description="false: no total.")
    page: int | None = None
    per_page: int | None = Field(None, description="At most 100.")


class ExportQuery(TicketQuery):
    format: str | None = Field(None, description="jsonl (the default) or csv.")


class SubmittedTicket(schemas.TicketDetail):
    deduplicated: bool


class EditedTicket(schemas.TicketDetail):
    changed: list[str]


class SharedTicket(schemas.TicketDetail):
    added: list[str]
    invited: list[str]


class UnsharedTicket(schemas.TicketDetail):
    removed: list[str]


class NewCommentAnswer(schemas.Comment):
    ticket: str


class Comments(schemas.Items[schemas.Comment]):
    pass


def _detail(ticket, actor, status=200, headers=None):
    return ticket_detail(ticket, actor), status, {**_etag(ticket), **(headers or {})}


def _etag(ticket) -> dict[str, str]:
    """The ticket's version as an ETag header: send it back in If-Match to change the ticket
    only if nobody changed it since (412 otherwise)."""
    return {"ETag": f'"{tickets.version_tag(ticket)}"'}


def _if_match() -> list[str] | None:
    """The versions an If-Match header names (None: no header, or `*`, which any ticket
    matches). A weak tag never matches: If-Match compares strongly (RFC 9110, 13.1.1)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    tags = (tag.strip() for tag in header.split(","))
    return [tag[1:-1] for tag in tags if len(tag) >= 2 and tag[0] == tag[-1] == '"']


def _ticket_filter(args, page=1, per_page=25) -> tickets.TicketFilter:
    """The list filters of a query string (GET /tickets and its export)."""
    return tickets.TicketFilter(
        statuses=tuple(args.getlist("status")),
        priorities=tuple(args.getlist("priority")),
        scope=args.get("scope") or None,
        organization=args.get("organization"),
        text=args.get("q"),
        type=args.get("type"),
        created_from=args.get("from"),
        created_to=args.get("to"),
        requester=args.get("requester"),
        assignee=args.get("assignee"),
        breaching=flag("breaching"),
        within=args.get("within"),
        service=args.get("service"),
        unassigned=flag("unassigned"),
        sort=args.get("sort") or None,
        direction=args.get("dir") or None,
        reference=args.get("reference"),
        closed_from=args.get("closed_from"),
        closed_to=args.get("closed_to"),
        updated_since=args.get("updated_since"),
        cursor=args.get("cursor") or None,
        count=not args.get("count") or flag("count"),
        page=page,
        per_page=per_page,
    )


@api.get("/tickets")
@operation(query=TicketQuery, answers={200: schemas.TicketPage}, errors=(404,))
def list_tickets():
    """Tickets the caller may see, newest first; filters: status and priority (repeatable),
    scope=mine, scope=organization (power users), organization, q (full text,
    helpdesk/search.py; each ticket then has a snippet), type, from, to, closed_from,
    closed_to, updated_since, reference, requester, assignee, breaching=true [within=2h]
    (SLA target missed or due within the window; agents), unassigned=true;
    sort=reference|priority|status|updated|created|title|type|service|requester|organization|
    relevance (the default with q; past 10,000 matches, the newest 10,000 are ranked) with
    dir=asc|desc; cursor=<the previous page's next> instead of page=; count=false skips the
    total (past 10,000 matches it is a lower bound, marked total_is_estimate)."""
    page, per_page = paging()
    result = tickets.list_tickets(
        _ticket_filter(request.args, page, per_page), actor=current_user()
    )
    data = page_json(ticket_summaries(result.items), result.page, result.per_page, result.total)
    data["next"] = result.next
    data["total_is_estimate"] = result.total_is_estimate
    return data


@api.get("/tickets/export")
@operation(
    query=ExportQuery,
    errors=(404,),
    answers={200: Media(("application/x-ndjson", "text/csv"), "jsonl, or csv with format=csv")},
)
def export_tickets():
    """Every ticket the caller may see that matches the list filters, with the comments the
    caller may see, streamed: format=jsonl (one ticket a line) or format=csv (one row a
    comment, or a row for a ticket without any)."""
    actor = current_user()
    kind = validation.choice("format", request.args.get("format") or "jsonl", EXPORT_FORMATS)
    filters = _ticket_filter(request.args)
    rows = tickets.export_tickets(filters, actor=actor)
    first = next(rows, None)  # a bad filter answers 422 before the stream starts
    chunks = export_lines(kind, first, rows)
    mimetype = "text/csv" if kind == "csv" else "application/x-ndjson"
    return Response(stream_with_context(chunks), mimetype=f"{mimetype}; charset=utf-8")


@api.post("/tickets")
@idempotent
@operation(
    body=TicketSubmission,
    uploads=True,
    answers={201: SubmittedTicket, 200: SubmittedTicket},
    errors=(404,),
)
def submit_ticket():
    """Submit a ticket: JSON, or multipart with a JSON `data` field and `attachments` files.

    201 and the new ticket; 200 and the open ticket with the same `dedupe_key`, which the
    submit became a comment on (`"deduplicated": true`)."""
    actor = current_user()
    body, uploads = payload_with_uploads()
    submitted = tickets.submit(actor=actor, attachments=uploads, **body)
    ticket = submitted.ticket
    location = url_for("api.show_ticket", reference=ticket.reference)
    data = ticket_detail(ticket, actor)
    data["deduplicated"] = submitted.deduplicated
    return data, 200 if submitted.deduplicated else 201, {"Location": location, **_etag(ticket)}


@api.get("/tickets/<reference>")
@operation(answers={200: schemas.TicketDetail})
def show_ticket(reference: str):
    """One ticket with what the caller may see of its comments, attachments and history."""
    actor = current_user()
    return _detail(tickets.get_ticket(reference, actor=actor), actor)


@api.patch("/tickets/<reference>")
@operation(body=TicketEdit, answers={200: EditedTicket}, errors=(412,))
def edit_ticket(reference: str):
    """Change fields of the ticket; answers the ticket and the fields that changed."""
    actor = current_user()
    body = json_body()
    edit = tickets.edit_ticket(reference, body, actor=actor, if_match=_if_match())
    data = ticket_detail(edit.ticket, actor)
    data["changed"] = edit.changed
    return data, 200, _etag(edit.ticket)


@api.get("/tickets/<reference>/comments")
@operation(answers={200: Comments})
def list_comments(reference: str):
    """The comments the caller may see, oldest first."""
    actor = current_user()
    ticket = tickets.get_ticket(reference, actor=actor)
    items = [comment_json(c) for c in tickets.visible_comments(ticket, actor)]
    return {"items": items, "total": len(items)}


@api.get(f"/tickets/<reference>/comments/<int(max={MAX_ID}):comment_id>")
@operation(answers={200: schemas.Comment})
def show_comment(reference: str, comment_id: int):
    """One comment, if the caller may see it."""
    actor = current_user()
    return comment_json(tickets.get_comment(reference, comment_id, actor=actor))


@api.post("/tickets/<reference>/comments")
@idempotent
@operation(body=NewComment, uploads=True, answers={201: NewCommentAnswer})
def add_comment(reference: str):
    """Reply (public) or write an internal note; JSON or multipart with attachments."""
    actor = current_user()
    body, uploads = payload_with_uploads()
    comment = tickets.add_comment(
        reference,
        body["body"],
        actor=actor,
        internal=body.get("internal", False),
        attachments=uploads,
    )
    ticket = comment.ticket
    location = url_for("api.show_comment", reference=ticket.reference, comment_id=comment.id)
    return {**comment_json(comment), "ticket": ticket.reference}, 201, {"Location": location}


@api.post("/tickets/<reference>/attachments")
@idempotent
@operation(body=Attachments, uploads=True, answers={201: schemas.TicketDetail})
def add_attachments(reference: str):
    """Attach files (multipart `attachments`) to the ticket itself."""
    actor = current_user()
    _, uploads = payload_with_uploads()
    ticket = tickets.add_attachments(reference, uploads, actor=actor)
    return _detail(tickets.get_ticket(ticket.reference, actor=actor), actor, 201)


@api.get("/tickets/<reference>/attachments/<filename>")
@operation(
    answers={
        200: Media(("*/*",), "The file, as a download."),
        206: Media(("*/*",), "The part of the file a Range header asks for (bytes=0-9)."),
        304: NOT_MODIFIED,
    },
    errors=(410, 416),
)
def download_attachment(reference: str, filename: str):
    """The file itself, always as a download; a Range header asks for a part of it (206)."""
    attachment = tickets.get_attachment(reference, filename, actor=current_user())
    return send_attachment(attachment)


@api.post("/tickets/<reference>/shares")
@operation(body=Users, answers={200: SharedTicket})
def share_ticket(reference: str):
    """Share with colleagues of the ticket's organization, by email or name, or invite an
    email from outside it; answers the ticket, `added` and `invited` (emails)."""
    actor = current_user()
    body = json_body()
    sharing = tickets.share_ticket(reference, body["users"], actor=actor)
    ticket = tickets.get_ticket(reference, actor=actor)
    data = ticket_detail(ticket, actor)
    data["added"] = [u.email for u in sharing.added]
    data["invited"] = [u.email for u in sharing.invited]
    return data, 200, _etag(ticket)


@api.post("/tickets/<reference>/unshare")
@operation(body=Users, answers={200: UnsharedTicket})
def unshare_ticket(reference: str):
    """Stop sharing with users the ticket is shared with, by email or name."""
    actor = current_user()
    body = json_body()
    removed = tickets.unshare_ticket(reference, body["users"], actor=actor)
    ticket = tickets.get_ticket(reference, actor=actor)
    data = ticket_detail(ticket, actor)
    data["removed"] = [u.email for u in removed]
    return data, 200, _etag(ticket)


@api.post("/tickets/<reference>/assign")
@operation(body=Assignment, answers={200: schemas.TicketDetail}, errors=(412,))
def assign_ticket(reference: str):
    """Give the ticket to an agent (by email or name, or "me")."""
    actor = current_user()
    body = json_body()
    ticket = tickets.assign(reference, body["assignee"], actor=actor, if_match=_if_match())
    return _detail(ticket, actor)


@api.post("/tickets/<reference>/transition")
@operation(body=Transition, answers={200: schemas.TicketDetail}, errors=(412,))
def transition_ticket(reference: str):
    """Move the ticket to another status, with an optional public comment."""
    actor = current_user()
    body = json_body()
    ticket = tickets.change_status(
        reference, body["to"], actor=actor, comment=body.get("comment"), if_match=_if_match()
    )
    return _detail(ticket, actor)


@api.post("/tickets/<reference>/close")
@operation(body=Closing, answers={200: schemas.TicketDetail}, errors=(412,))
def close_ticket(reference: str):
    """Close the ticket; the requester may rate it 1-5 with a comment."""
    actor = current_user()
    body = json_body()
    ticket = tickets.close_ticket(
        reference,
        actor=actor,
        rating=body.get("rating"),
        comment=body.get("comment"),
        if_match=_if_match(),
    )
    return _detail(ticket, actor)


@api.post("/tickets/<reference>/reopen")
@operation(body=Reopening, answers={200: schemas.TicketDetail}, errors=(412,))
def reopen_ticket(reference: str):
    """Reopen a resolved ticket; the comment saying why is required."""
    actor = current_user()
    body = json_body()
    ticket = tickets.reopen_ticket(reference, body["comment"], actor=actor, if_match=_if_match())
    return _detail(ticket, actor)

"""The mail outbox, notification switches, satisfaction ratings and surveys."""

from __future__ import annotations

from flask import request

from helpdesk.mail import outbox
from helpdesk.server.api import MAX_ID, api
from helpdesk.server.api.inputs import current_user, json_body, paging, public
from helpdesk.server.serializers import outbox_json, page_json, ticket_detail
from helpdesk.services import surveys, tickets


@api.get("/mail/outbox")
def list_outbox():
    """Outgoing mail, newest first; filter by status (admins)."""
    page, per_page = paging()
    result = outbox.list_outbox(
        actor=current_user(), status=request.args.get("status"), page=page, per_page=per_page
    )
    return page_json(
        [outbox_json(m) for m in result.items], result.page, result.per_page, result.total
    )


@api.post(f"/mail/outbox/<int(max={MAX_ID}):message_id>/retry")
def retry_outbox_message(message_id: int):
    """Send a failed message again at the next delivery round (admins)."""
    return outbox_json(outbox.retry_message(message_id, actor=current_user()))


@api.post("/tickets/<reference>/notifications")
def set_notifications(reference: str):
    """Turn the caller's emails about this ticket on or off."""
    actor = current_user()
    body = json_body({"enabled"}, {"enabled"})
    ticket = tickets.set_notifications(reference, body["enabled"], actor=actor)
    return ticket_detail(ticket, actor)


@api.post("/tickets/<reference>/rating")
def rate_ticket(reference: str):
    """The requester rates their closed ticket 1-5, once."""
    actor = current_user()
    body = json_body({"rating", "comment"}, {"rating"})
    ticket = surveys.rate_ticket(reference, body["rating"], body.get("comment"), actor=actor)
    return ticket_detail(ticket, actor)


@api.get("/surveys/<token>")
@public
def show_survey(token: str):
    """What a survey link is about; the token is the credential."""
    _, ticket = surveys.survey_ticket(token)
    return {"reference": ticket.reference, "title": ticket.title, "status": ticket.status}


@api.post("/surveys/<token>")
@public
def answer_survey(token: str):
    """Rate through the emailed link, once."""
    body = json_body({"rating", "comment"}, {"rating"})
    ticket = surveys.rate_with_token(token, body["rating"], body.get("comment"))
    return {
        "reference": ticket.reference,
        "rating": ticket.satisfaction_rating,
        "comment": ticket.satisfaction_comment,
    }


@api.get("/reports/satisfaction")
def satisfaction_report():
    """Ratings of closed tickets: count, average, distribution (agents)."""
    args = request.args
    return surveys.satisfaction_report(
        actor=current_user(),
        date_from=args.get("from"),
        date_to=args.get("to"),
        organization=args.get("organization"),
        agent=args.get("agent"),
    )

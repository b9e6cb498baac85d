"""The mail outbox, notification switches, satisfaction ratings and surveys."""

from __future__ import annotations

from flask import request
from pydantic import ConfigDict, Field

from helpdesk.mail import outbox
from helpdesk.server import schemas
from helpdesk.server.api import MAX_ID, api
from helpdesk.server.api.contract import Body, Query, operation
from helpdesk.server.api.inputs import current_user, json_body, paging, public
from helpdesk.server.serializers import outbox_json, page_json, ticket_detail
from helpdesk.services import surveys, tickets


class NotificationSwitch(Body):
    enabled: bool


class Rating(Body):
    rating: int = Field(description="1 to 5.")
    comment: str | None = None


class OutboxQuery(Query):
    status: str | None = Field(None, description="pending, sending, sent or failed.")
    page: int | None = None
    per_page: int | None = Field(None, description="At most 100.")


class SatisfactionQuery(Query):
    from_: str | None = Field(None, alias="from", description="Closed from (date).")
    to: str | None = Field(None, description="Closed before the end of (date).")
    organization: str | None = None
    agent: str | None = Field(None, description="The assignee's email.")


class OutboxPage(schemas.Page[schemas.OutboxMessage]):
    pass


class Survey(schemas.Answer):
    reference: str
    title: str
    status: str


class SurveyAnswer(schemas.Answer):
    reference: str
    rating: int
    comment: str | None


class SatisfactionFilters(schemas.Answer):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(alias="from")
    to: str | None
    organization: str | None
    agent: str | None


class SatisfactionReport(schemas.Answer):
    closed: int
    rated: int
    average: float | None
    distribution: dict[str, int] = Field(description='Tickets per rating, "1" to "5".')
    filters: SatisfactionFilters


@api.get("/mail/outbox")
@operation(query=OutboxQuery, answers={200: OutboxPage})
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
@operation(answers={200: schemas.OutboxMessage})
def retry_outbox_message(message_id: int):
    """Send a failed message again at the next delivery round (admins)."""
    return outbox_json(outbox.retry_message(message_id, actor=current_user()))


@api.post("/tickets/<reference>/notifications")
@operation(body=NotificationSwitch, answers={200: schemas.TicketDetail})
def set_notifications(reference: str):
    """Turn the caller's emails about this ticket on or off."""
    actor = current_user()
    body = json_body()
    ticket = tickets.set_notifications(reference, body["enabled"], actor=actor)
    return ticket_detail(ticket, actor)


@api.post("/tickets/<reference>/rating")
@operation(body=Rating, answers={200: schemas.TicketDetail})
def rate_ticket(reference: str):
    """The requester rates their closed ticket 1-5, once."""
    actor = current_user()
    body = json_body()
    ticket = surveys.rate_ticket(reference, body["rating"], body.get("comment"), actor=actor)
    return ticket_detail(ticket, actor)


@api.get("/surveys/<token>")
@public
@operation(answers={200: Survey})
def show_survey(token: str):
    """What a survey link is about; the token is the credential."""
    _, ticket = surveys.survey_ticket(token)
    return {"reference": ticket.reference, "title": ticket.title, "status": ticket.status}


@api.post("/surveys/<token>")
@public
@operation(body=Rating, answers={200: SurveyAnswer})
def answer_survey(token: str):
    """Rate through the emailed link, once."""
    body = json_body()
    ticket = surveys.rate_with_token(token, body["rating"], body.get("comment"))
    return {
        "reference": ticket.reference,
        "rating": ticket.satisfaction_rating,
        "comment": ticket.satisfaction_comment,
    }


@api.get("/reports/satisfaction")
@operation(query=SatisfactionQuery, answers={200: SatisfactionReport}, errors=(404,))
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

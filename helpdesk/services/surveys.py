"""Satisfaction: the single-use survey link, rating a closed ticket once, and the report."""

from __future__ import annotations

from peewee import fn

from helpdesk import permissions, validation
from helpdesk.db import database
from helpdesk.errors import Conflict, NotFound
from helpdesk.history import record_event
from helpdesk.i18n import N_
from helpdesk.models import SurveyToken, Ticket, User, utcnow
from helpdesk.services.organization_names import get_organization
from helpdesk.services.tickets import get_ticket
from helpdesk.services.users import get_user_by_email
from helpdesk.survey_tokens import survey_token_hash

MAX_COMMENT = 10_000


def _apply_rating(ticket: Ticket, rating, comment, actor: User | None) -> Ticket:
    rating = validation.integer("rating", rating, low=1, high=5)
    comment = validation.text("comment", comment, max_length=MAX_COMMENT, required=False)
    if ticket.status != "closed":
        raise Conflict(
            N_("Ticket {reference} is {status}; only a closed ticket can be rated."),
            reference=ticket.reference,
            status=ticket.status,
        )
    if ticket.satisfaction_rating is not None:
        raise Conflict(
            N_("Ticket {reference} was already rated {rating}/5."),
            reference=ticket.reference,
            rating=ticket.satisfaction_rating,
        )
    ticket.satisfaction_rating = rating
    ticket.satisfaction_comment = comment or ticket.satisfaction_comment  # keep a close comment
    ticket.save()
    record_event(ticket, actor, "rated", None, rating)
    return ticket


def survey_ticket(raw_token: str) -> tuple[SurveyToken, Ticket]:
    """The unused survey token and its ticket; NotFound for anything else."""
    token = (
        SurveyToken.select(SurveyToken, Ticket)
        .join(Ticket)
        .where(SurveyToken.token_hash == survey_token_hash(raw_token or ""))
        .first()
    )
    if token is None or token.used_at is not None:
        raise NotFound(N_("This survey link is unknown or was already used."))
    return token, token.ticket


def rate_with_token(raw_token: str, rating, comment=None) -> Ticket:
    """Rate through the emailed link: the token is the credential, and works once."""
    with database.atomic():
        _, ticket = survey_ticket(raw_token)
        _apply_rating(ticket, rating, comment, ticket.requester)
        SurveyToken.update(used_at=utcnow()).where(
            (SurveyToken.ticket == ticket) & SurveyToken.used_at.is_null()
        ).execute()
    return ticket


def rate_ticket(reference: str, rating, comment=None, *, actor: User) -> Ticket:
    """The requester rates their closed ticket, once."""
    with database.atomic():
        ticket = get_ticket(reference, actor=actor)
        permissions.require(actor, "ticket.rate", ticket)
        _apply_rating(ticket, rating, comment, actor)
        SurveyToken.update(used_at=utcnow()).where(
            (SurveyToken.ticket == ticket) & SurveyToken.used_at.is_null()
        ).execute()
    return get_ticket(reference, actor=actor)


def satisfaction_report(
    *,
    actor: User,
    date_from: str | None = None,
    date_to: str | None = None,
    organization: str | None = None,
    agent: str | None = None,
) -> dict:
    """Closed tickets in the period: how many were rated, the average and the distribution."""
    permissions.require(actor, "report.view")
    query = Ticket.select().where(Ticket.status == "closed")
    start = validation.date_bound("from", date_from)
    end = validation.date_bound("to", date_to, end=True)
    if start is not None:
        query = query.where(Ticket.closed_at >= start)
    if end is not None:
        query = query.where(Ticket.closed_at < end)
    if organization:
        query = query.where(Ticket.organization == get_organization(organization))
    if agent:
        query = query.where(Ticket.assignee == get_user_by_email(agent))
    closed = query.count()
    rated = query.where(Ticket.satisfaction_rating.is_null(False))
    counts = dict(
        rated.select(Ticket.satisfaction_rating, fn.COUNT(Ticket.id))
        .group_by(Ticket.satisfaction_rating)
        .tuples()
    )
    total = sum(counts.values())
    average = sum(r * n for r, n in counts.items()) / total if total else None
    return {
        "closed": closed,
        "rated": total,
        "average": round(average, 2) if average is not None else None,
        "distribution": {str(r): counts.get(r, 0) for r in range(1, 6)},
        "filters": {"from": date_from, "to": date_to, "organization": organization, "agent": agent},
    }

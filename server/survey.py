"""The page a survey link in an email opens: rate a closed ticket 1-5, once.

A portal page (the portal's base template, words and a CSRF-protected form). GET only shows the
form (mail scanners follow links); the rating is saved by the POST.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from helpdesk.errors import HelpdeskError
from helpdesk.services import surveys

survey_page = Blueprint("survey", __name__)


def _page(status: int = 200, **values):
    values.setdefault("ticket", None)
    values.setdefault("message", "")
    values.setdefault("chosen", None)
    values.setdefault("comment", "")
    values.setdefault("heading", _("Survey"))
    return render_template("portal/survey.html", **values), status


@survey_page.get("/survey/<token>")
def show(token: str):
    """The rating form, with the rating chosen in the email already marked."""
    try:
        _token, ticket = surveys.survey_ticket(token)
    except HelpdeskError as exc:
        return _page(exc.http_status, message=exc.message)
    chosen = request.args.get("rating", type=int)
    return _page(heading=_("How did we do?"), ticket=ticket, chosen=chosen)


@survey_page.post("/survey/<token>")
def answer(token: str):
    """Save the rating (and comment), once."""
    rating = request.form.get("rating", type=int)
    comment = request.form.get("comment") or None
    try:
        ticket = surveys.rate_with_token(token, rating, comment)
    except HelpdeskError as exc:
        if exc.http_status == 422:  # the form again, with what was chosen and typed kept
            try:
                _token, ticket = surveys.survey_ticket(token)
            except HelpdeskError:
                return _page(exc.http_status, message=exc.message)
            values = {"ticket": ticket, "chosen": rating, "comment": comment or ""}
            return _page(422, heading=_("How did we do?"), message=exc.message, **values)
        return _page(exc.http_status, message=exc.message)
    return _page(
        heading=_("Thank you!"),
        message=_(
            "Your rating of %(ref)s: %(rating)s/5.",
            ref=ticket.reference,
            rating=ticket.satisfaction_rating,
        ),
        done=True,
    )

"""The page a survey link in an email opens: rate a closed ticket 1-5, once.

GET only shows the form (mail scanners follow links); the rating is saved by the POST.
"""

from __future__ import annotations

from flask import Blueprint, render_template_string, request

from helpdesk.errors import HelpdeskError
from helpdesk.server.page_headers import forbid_framing
from helpdesk.services import surveys

survey_page = Blueprint("survey", __name__)
survey_page.after_request(forbid_framing)

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ heading }}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 2em auto">
<h1>{{ heading }}</h1>
{% if message %}<p>{{ message }}</p>{% endif %}
{% if ticket %}
<form method="post">
<p>{{ ticket.reference }}: {{ ticket.title }}</p>
<p>{% for n in range(1, 6) %}
<label><input type="radio" name="rating" value="{{ n }}"
  {{ 'checked' if n == chosen }}> {{ n }}</label>
{% endfor %}</p>
<p><textarea name="comment" rows="4" cols="50" placeholder="Comment (optional)"></textarea></p>
<p><button type="submit">Send</button></p>
</form>
{% endif %}
</body></html>"""


def _page(status: int = 200, **values):
    values.setdefault("ticket", None)
    values.setdefault("message", "")
    values.setdefault("chosen", None)
    return render_template_string(PAGE, **values), status, {"Content-Type": "text/html"}


@survey_page.get("/survey/<token>")
def show(token: str):
    try:
        _, ticket = surveys.survey_ticket(token)
    except HelpdeskError as exc:
        return _page(exc.http_status, heading="Survey", message=exc.message)
    chosen = request.args.get("rating", type=int)
    return _page(heading="How did we do?", ticket=ticket, chosen=chosen)


@survey_page.post("/survey/<token>")
def answer(token: str):
    try:
        rating = request.form.get("rating", type=int)
        ticket = surveys.rate_with_token(token, rating, request.form.get("comment"))
    except HelpdeskError as exc:
        return _page(exc.http_status, heading="Survey", message=exc.message)
    return _page(
        heading="Thank you!",
        message=f"Your rating of {ticket.reference}: {ticket.satisfaction_rating}/5.",
    )

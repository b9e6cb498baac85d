"""The pages that the links in account emails open: activate, reset password, confirm email.

GET only shows a form (mail scanners follow links); the POST does the work, once.
"""

from __future__ import annotations

from flask import Blueprint, render_template_string, request

from helpdesk.errors import HelpdeskError
from helpdesk.server.api.inputs import client
from helpdesk.server.page_headers import forbid_framing
from helpdesk.services import invitations, password_reset, profile

account_pages = Blueprint("account_pages", __name__)
account_pages.after_request(forbid_framing)

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ heading }}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 2em auto">
<h1>{{ heading }}</h1>
{% if message %}<p>{{ message }}</p>{% endif %}
{% if form == "password" %}
<form method="post">
<p><label>New password <input type="password" name="password" minlength="10" required></label></p>
<p><label>Again <input type="password" name="confirmation" minlength="10" required></label></p>
<p><button type="submit">Save</button></p>
</form>
{% elif form == "confirm" %}
<form method="post"><p><button type="submit">Confirm</button></p></form>
{% endif %}
</body></html>"""

HEADINGS = {
    "activate": "Choose your password",
    "reset": "Choose a new password",
    "confirm-email": "Confirm your new email address",
}


def _page(status: int = 200, **values):
    values.setdefault("message", "")
    values.setdefault("form", None)
    return render_template_string(PAGE, **values), status, {"Content-Type": "text/html"}


@account_pages.get("/account/<any(activate, reset, 'confirm-email'):action>/<token>")
def show(action: str, token: str):
    form = "confirm" if action == "confirm-email" else "password"
    return _page(heading=HEADINGS[action], form=form)


@account_pages.post("/account/<any(activate, reset, 'confirm-email'):action>/<token>")
def submit(action: str, token: str):
    password = request.form.get("password", "")
    try:
        if action != "confirm-email" and password != request.form.get("confirmation", ""):
            return _page(
                422, heading=HEADINGS[action], form="password", message="The two passwords differ."
            )
        if action == "activate":
            # No login token: this page could not hand it to anyone.
            user, _ = invitations.activate_account(token, password, client=client(), log_in=False)
            message = f"Your account {user.email} is active. You can now log in."
        elif action == "reset":
            user = password_reset.reset_password(token, password, client=client())
            message = f"The password of {user.email} was changed. You can now log in."
        else:
            user = profile.confirm_email_change(token, client=client())
            message = f"Your email address is now {user.email}."
    except HelpdeskError as exc:
        form = "password" if exc.http_status == 422 and action != "confirm-email" else None
        return _page(exc.http_status, heading=HEADINGS[action], form=form, message=exc.message)
    return _page(heading="Done", message=message)

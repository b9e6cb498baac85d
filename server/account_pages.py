"""The pages that the links in account emails open: activate, reset password, confirm email.

Portal pages (the portal's base template, words and CSRF-protected forms) at the addresses the
emails link to. GET only shows a form (mail scanners follow links); the POST does the work, once.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from helpdesk.errors import HelpdeskError
from helpdesk.server.api.inputs import client
from helpdesk.services import invitations, password_reset, profile

account_pages = Blueprint("account_pages", __name__)

ACTIONS = "<any(activate, reset, 'confirm-email'):action>"


def _heading(action: str) -> str:
    if action == "activate":
        return _("Choose your password")
    if action == "reset":
        return _("Choose a new password")
    return _("Confirm your new email address")


def _page(action: str, status: int = 200, *, form: str | None = None, **values):
    values.setdefault("message", "")
    values.setdefault("errors", {})
    values.setdefault("heading", _heading(action))
    page = render_template("portal/account_token.html", form=form, **values)
    return page, status


@account_pages.get(f"/account/{ACTIONS}/<token>")
def show(action: str, token: str):
    """The form the email's link opens (nothing is done yet)."""
    return _page(action, form="confirm" if action == "confirm-email" else "password")


@account_pages.post(f"/account/{ACTIONS}/<token>")
def submit(action: str, token: str):
    """Activate, reset or confirm with the emailed token, once."""
    password = request.form.get("password", "")
    if action != "confirm-email" and password != request.form.get("confirmation", ""):
        errors = {"confirmation": _("The two passwords differ.")}
        return _page(action, 422, form="password", errors=errors)
    try:
        if action == "activate":
            # No login token: this page could not hand it to anyone.
            user, _token = invitations.activate_account(
                token, password, client=client(), log_in=False
            )
            message = _("Your account %(email)s is active. You can now log in.", email=user.email)
        elif action == "reset":
            user = password_reset.reset_password(token, password, client=client())
            message = _(
                "The password of %(email)s was changed. You can now log in.", email=user.email
            )
        else:
            user = profile.confirm_email_change(token, client=client())
            message = _("Your email address is now %(email)s.", email=user.email)
    except HelpdeskError as exc:
        if exc.http_status == 422 and action != "confirm-email":
            return _page(action, 422, form="password", errors={"password": exc.message})
        return _page(action, exc.http_status, message=exc.message)
    return _page(action, heading=_("Done"), message=message, done=True)

"""Pages for visitors who are not signed in: a forgotten password, and self sign-up."""

from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _

from helpdesk.config import current_settings
from helpdesk.errors import HelpdeskError, NotFound, TooManyRequests
from helpdesk.server.api.inputs import client
from helpdesk.server.portal import portal, portal_language, said
from helpdesk.services import password_reset, signup


def signup_open() -> bool:
    """Does the configuration let visitors sign up (everyone, or some domains)?"""
    return current_settings().accounts.signup != "closed"


@portal.app_context_processor
def account_links():
    return {"signup_open": signup_open}


def _refused(template: str, values: dict, exc: HelpdeskError):
    """A refused form: the message next to the field (or above the form), the input kept."""
    headers = {}
    if isinstance(exc, TooManyRequests):
        retry = exc.details.get("retry_after", 60)
        headers["Retry-After"] = str(retry)
        message = _("Too many attempts: try again in %(seconds)s seconds.", seconds=retry)
    else:
        message = said(exc)
    field = (exc.details or {}).get("field")
    errors = {field if field in values else "__all__": message}
    return render_template(template, values=values, errors=errors), exc.http_status, headers


@portal.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset link by email; the same answer whether or not the address exists."""
    if request.method == "GET":
        return render_template("portal/forgot.html", values={}, errors={})
    values = {"email": request.form.get("email", "").strip()}
    try:
        password_reset.request_password_reset(values["email"], client=client())
    except HelpdeskError as exc:
        return _refused("portal/forgot.html", values, exc)
    flash(_("If this address has an account here, a reset link is on its way."), "success")
    return redirect("/login", 303)


@portal.route("/signup", methods=["GET", "POST"])
def sign_up():
    """Register as a customer; the address is confirmed by the link in an email."""
    if not signup_open():
        raise NotFound(_("Sign-up is closed; ask the support team for an invitation."))
    if request.method == "GET":
        return render_template("portal/signup.html", values={}, errors={})
    values = {k: request.form.get(k, "").strip() for k in ("email", "name")}
    try:
        signup.signup(values["email"], values["name"], client=client(), language=portal_language())
    except HelpdeskError as exc:
        return _refused("portal/signup.html", values, exc)
    flash(_("If this address can be registered, a confirmation email is on its way."), "success")
    return redirect("/login", 303)

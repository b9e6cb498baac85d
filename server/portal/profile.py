"""One's profile (/profile) and password (/profile/password) in the portal."""

from __future__ import annotations

from datetime import datetime

from flask import flash, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import refresh

from helpdesk import permissions
from helpdesk.errors import HelpdeskError, NotFound, TooManyRequests
from helpdesk.formats import DATE_FORMATS, LANGUAGES
from helpdesk.server.api.inputs import client
from helpdesk.server.portal import portal, said
from helpdesk.server.portal.session import login_required, portal_user
from helpdesk.services import authentication, profile

PROFILE_FIELDS = ("name", "phone", "language", "date_format")
# Each language in its own words, so that a visitor finds theirs whatever the page's language.
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "it": "Italiano", "cs": "Čeština"}
SAMPLE_DAY = datetime(2026, 12, 31, 16, 30)


def _field_of(exc: HelpdeskError, fields) -> str:
    field = (exc.details or {}).get("field")
    return field if field in fields else "__all__"


def _profile_page(values: dict, errors: dict | None = None, status: int = 200):
    languages = [(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES]
    formats = [(name, SAMPLE_DAY.strftime(pattern)) for name, pattern in DATE_FORMATS.items()]
    page = render_template(
        "portal/profile.html",
        values=values,
        errors=errors or {},
        languages=languages,
        formats=formats,
    )
    return page, status


@portal.get("/profile")
@login_required
def show_profile():
    """The signed-in person's name, phone, language and date format, as a form."""
    me = portal_user()
    values = {"name": me.name, "phone": me.phone or "", "language": me.language}
    values["date_format"] = me.date_format
    return _profile_page(values)


@portal.post("/profile")
@login_required
def save_profile():
    """Save the profile; the next page (and this message) is in the language chosen."""
    values = {k: request.form.get(k, "") for k in PROFILE_FIELDS}
    try:
        profile.update_profile(portal_user(), **values)
    except HelpdeskError as exc:
        return _profile_page(values, {_field_of(exc, PROFILE_FIELDS): said(exc)}, 422)
    refresh()  # the language may have changed: the message below is in the new one
    flash(_("Your profile was saved."), "success")
    return redirect("/profile", 303)


def _require_local_password() -> None:
    """An account that signs in elsewhere has no password page: as if it did not exist."""
    if not permissions.can(portal_user(), "account.change_password"):
        raise NotFound(_("No such page."))


@portal.get("/profile/password")
@login_required
def password_form():
    """Change one's password: the current one, and the new one twice."""
    _require_local_password()
    return render_template("portal/password.html", errors={})


@portal.post("/profile/password")
@login_required
def change_password():
    """Change the password; every other session and token of the account is revoked."""
    _require_local_password()
    new = request.form.get("new_password", "")
    errors: dict = {}
    headers: dict = {}
    status = 422
    if new != request.form.get("confirmation", ""):
        errors["confirmation"] = _("The two new passwords differ.")
    else:
        try:
            authentication.change_password(
                portal_user(),
                request.form.get("current_password", ""),
                new,
                current_token=g.portal_token,
                client=client(),
            )
        except TooManyRequests as exc:
            retry = exc.details.get("retry_after", 60)
            errors["__all__"] = _(
                "Too many attempts: try again in %(seconds)s seconds.", seconds=retry
            )
            status, headers = 429, {"Retry-After": str(retry)}
        except HelpdeskError as exc:
            field = (exc.details or {}).get("field")
            field = "new_password" if field == "password" else field
            errors[field if field in ("current_password", "new_password") else "__all__"] = said(
                exc
            )
            status = exc.http_status
        else:
            flash(
                _("Your password was changed; you were signed out everywhere else."),
                "success",
            )
            return redirect("/profile", 303)
    return render_template("portal/password.html", errors=errors), status, headers

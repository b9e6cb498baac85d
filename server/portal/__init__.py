"""The web portal: server-rendered pages for customers and agents at `/`, beside `/api/v1`.

A thin layer like the API: every page calls the same core services and permission checks, and
shows what the API would answer that person. Words come from the one set of gettext catalogs
(helpdesk/i18n.py) through Flask-Babel: templates write `{{ _("English text") }}` (with
`%(name)s` placeholders). Every form carries a CSRF token (Flask-WTF); sessions are signed
HttpOnly cookies (server/portal/session.py).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, g, render_template, request
from flask_babel import Babel, Domain, get_locale, gettext
from flask_wtf.csrf import CSRFError, CSRFProtect

from helpdesk import i18n, permissions
from helpdesk.config import Settings
from helpdesk.error_messages import localized_message
from helpdesk.errors import HelpdeskError, ValidationFailed
from helpdesk.formats import LANGUAGES, format_datetime
from helpdesk.server.api.inputs import MAX_UPLOADS
from helpdesk.server.portal.session import portal_user, secret_key
from helpdesk.storage import Upload

portal = Blueprint(
    "portal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

csrf = CSRFProtect()


class CatalogDomain(Domain):
    """Flask-Babel's translations, read from the catalogs the CLI and the emails use."""

    def get_translations(self):
        return i18n.translations(str(get_locale() or "en"))


def portal_language() -> str:
    """The signed-in user's language; for a visitor, the browser's choice among ours."""
    user = portal_user() if request else None
    if user is not None and user.language in LANGUAGES:
        return user.language
    return request.accept_languages.best_match(LANGUAGES) or "en"


def when(value, with_time: bool = True) -> str:
    """A stored (naive UTC) time in the signed-in user's date format."""
    if value is None:
        return ""
    user = portal_user()
    return format_datetime(value, user.date_format if user else None, with_time=with_time)


def page_context():
    me = portal_user()

    def can(action: str, obj=None) -> bool:
        """What templates ask before showing a control: the permission module's answer."""
        return me is not None and permissions.can(me, action, obj)

    return {"me": me, "can": can, "lang": str(get_locale() or "en"), "when": when}


def said(exc: HelpdeskError) -> str:
    """What a refusal says, in the page's language (the words the API uses for it). It may
    quote the unstorable text it refuses (a lone surrogate): that is shown escaped."""
    message = localized_message(exc, str(get_locale() or "en"))
    return message.encode("utf-8", "backslashreplace").decode("utf-8")


def uploaded_files() -> list[Upload]:
    """The files of a form's `file` inputs (none chosen: none), at most the API's number."""
    files = [f for f in request.files.getlist("file") if f.filename]
    if len(files) > MAX_UPLOADS:
        raise ValidationFailed(
            gettext("Attach at most %(count)s files at once.", count=MAX_UPLOADS),
            {"field": "file", "max": MAX_UPLOADS},
        )
    return [Upload(f.filename, f.stream, f.mimetype) for f in files]


def error_page(exc: HelpdeskError):
    """A refused or failed request, as a page (the API answers the same in JSON)."""
    return render_template("portal/error.html", error=exc, message=said(exc)), exc.http_status


@portal.errorhandler(HelpdeskError)
def portal_error(exc: HelpdeskError):
    return error_page(exc)


def error_page_for(exc):
    """An HTTP error outside the API (an unknown page, a wrong method) as a page."""
    status = exc.code or 500
    response = render_template("portal/error.html", error=exc, status=status), status
    return response


def init_portal(app: Flask, settings: Settings) -> None:
    """Register the portal on the app: sessions, CSRF, translations, the pages."""
    if not app.config.get("SECRET_KEY"):  # Flask's default is None
        app.config["SECRET_KEY"] = secret_key(settings)
    app.config.update(
        SESSION_COOKIE_NAME="helpdesk_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.mail.https,
        PERMANENT_SESSION_LIFETIME=timedelta(days=14),
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's life: a form left open still works
    )
    app.context_processor(page_context)  # error pages outside the blueprint need it too
    babel = Babel(app, locale_selector=portal_language)
    babel.domain_instance = CatalogDomain()
    csrf.init_app(app)
    from helpdesk.server.portal import views  # noqa: F401  (registers the pages)

    app.register_blueprint(portal)

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError):
        g.csrf_refused = True
        return render_template("portal/error.html", error=exc, status=400), 400

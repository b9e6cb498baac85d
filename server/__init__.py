"""The Flask app over the help desk core: the JSON API at /api/v1 and the web portal at /."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, request

from helpdesk.config import Settings, load_settings, use_settings
from helpdesk.db import database
from helpdesk.migrations import open_database
from helpdesk.server.errors import register_error_handlers
from helpdesk.server.headers import init_security_headers
from helpdesk.server.proxies import TrustedProxies
from helpdesk.server.request_log import init_request_log
from helpdesk.storage import configure_storage


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the app with `settings` (default: read from the environment now), which every
    service then reads; `config` overrides Flask's own configuration keys."""
    settings = use_settings(settings or load_settings())
    app = Flask(__name__, static_folder=None)  # the portal serves its own static files
    app.config.update(
        DATABASE_URL=settings.database_url,
        DATA_DIR=str(settings.data_dir),
        ATTACHMENT_DIR=str(settings.attachment_dir),
        MAX_ATTACHMENT_SIZE=settings.max_attachment_size,
    )
    app.config.update(config or {})
    max_attachment = int(app.config["MAX_ATTACHMENT_SIZE"])
    # A request may carry several attachments; each one is also held to the per-file limit.
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default is None: no limit
        app.config["MAX_CONTENT_LENGTH"] = 4 * max_attachment + 1024 * 1024

    # Links built outside a request (inside one, a trusted proxy's X-Forwarded-Proto decides).
    if settings.mail.https:
        app.config.setdefault("PREFERRED_URL_SCHEME", "https")

    # DATABASE_POOL (set by `helpdesk serve`): keep connections open between requests.
    open_database(app.config["DATABASE_URL"], pooled=bool(app.config.get("DATABASE_POOL")))
    configure_storage(Path(app.config["ATTACHMENT_DIR"]), max_attachment, settings.storage)
    if settings.trusted_proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.trusted_proxies)
    init_request_log(app)  # first: its hooks frame every other one
    init_security_headers(app, https=settings.mail.https)

    @app.before_request
    def _connect():
        if request.endpoint == "api.health":  # reports an unreachable database, not raises it
            return
        # Close at teardown only what this request opened (a caller may hold a connection).
        g.opened_connection = database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if g.pop("opened_connection", False) and not database.is_closed():
            database.close()

    from helpdesk.server.portal import csrf, error_page_for, init_portal

    register_error_handlers(app, html_page=error_page_for)
    from helpdesk.server.api import api
    from helpdesk.server.api.contract import check_answers

    app.register_blueprint(api)
    if settings.check_answers:  # the test suite: every answer against its declared shape
        check_answers(app)
    from helpdesk.server.survey import survey_page

    app.register_blueprint(survey_page)
    from helpdesk.server.account_pages import account_pages

    app.register_blueprint(account_pages)
    init_portal(app, settings)
    # The API authenticates every write with a bearer token, which a forged cross-site form
    # cannot send. The pages that email links open (account, survey) are portal pages: their
    # forms carry the CSRF token.
    csrf.exempt(api)
    return app

"""Who is signed in to the portal: a signed, HttpOnly session cookie that holds an API token.

Signing in goes through the accounts service (throttling, deactivated accounts) and issues a
token named "portal"; every request checks it like the API does (revoked, expired, deactivated
account), so a password change or a deactivation ends portal sessions too. Signing out revokes it.
"""

from __future__ import annotations

import os
from functools import wraps
from pathlib import Path

from flask import g, redirect, request, session, url_for

from helpdesk.config import Settings
from helpdesk.errors import AuthenticationRequired
from helpdesk.models import User
from helpdesk.server.api.inputs import client
from helpdesk.services import authentication
from helpdesk.services.api_tokens import revoke_token, user_for_token
from helpdesk.shared_secrets import new_secret, shared_secret

TOKEN_KEY = "token"
TOKEN_NAME = "portal"
SECRET_FILE = "secret_key"  # where versions before 6 kept the key
SESSION_SECRET = "session"


def secret_key(settings: Settings) -> str:
    """HELPDESK_SECRET_KEY, or the key kept in the database, made by the first server to start:
    a cookie signed by one server is then read by every other one on the same database.

    A key an earlier version kept in the data directory becomes the database's, so that
    signed-in visitors stay signed in across the upgrade. A read-only database with no key
    yet: the data directory's file, as before (one machine only).
    """
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_FILE
    kept = shared_secret(SESSION_SECRET, first=lambda: _kept_in(path) or new_secret())
    return kept or _keep_in(path)


def _kept_in(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _keep_in(path: Path) -> str:
    """The file's key, made if there is none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_secret()
    try:  # exclusive create: of two servers starting at once, the first one's key wins
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


def portal_user() -> User | None:
    """The signed-in user, or None (a token that no longer works signs the visitor out)."""
    if "portal_user" not in g:
        g.portal_user = None
        raw = session.get(TOKEN_KEY)
        if raw:
            try:
                g.portal_user, g.portal_token = user_for_token(raw, client=client())
            except AuthenticationRequired:
                session.pop(TOKEN_KEY, None)
    return g.portal_user


def sign_in(email: str, password: str) -> User:
    """Check the credentials (throttled, like every login) and start a session."""
    user, raw = authentication.log_in(email, password, TOKEN_NAME, client=client())
    session.clear()  # a fresh session: nothing from before the login carries over
    session[TOKEN_KEY] = raw
    session.permanent = True
    g.portal_user = user
    return user


def sign_out() -> None:
    if portal_user() is not None:
        revoke_token(g.portal_token)
    session.clear()


def login_required(view):
    """Send a visitor who is not signed in to the login page, and back here after."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if portal_user() is None:
            return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper

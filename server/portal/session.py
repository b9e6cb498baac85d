"""Who is signed in to the portal: a signed, HttpOnly session cookie that holds an API token.

Signing in goes through the accounts service (throttling, deactivated accounts) and issues a
token named "portal"; every request checks it like the API does (revoked, expired, deactivated
account), so a password change or a deactivation ends portal sessions too. Signing out revokes it.
"""

from __future__ import annotations

import os
import secrets
from functools import wraps
from pathlib import Path

from flask import g, redirect, request, session, url_for

from helpdesk.config import Settings
from helpdesk.errors import AuthenticationRequired
from helpdesk.models import User
from helpdesk.server.api.inputs import client
from helpdesk.services import authentication
from helpdesk.services.api_tokens import revoke_token, user_for_token

TOKEN_KEY = "token"
TOKEN_NAME = "portal"
SECRET_FILE = "secret_key"


def secret_key(settings: Settings) -> str:
    """HELPDESK_SECRET_KEY, or one generated once and kept (0600) in the data directory, so
    that sessions survive a restart and every server on the same data directory agrees."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
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

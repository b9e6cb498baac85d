"""The portal's pages: signing in and out, and the home page (more pages join this module's
siblings as they are built)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from helpdesk.errors import AuthenticationRequired, TooManyRequests
from helpdesk.server.portal import portal
from helpdesk.server.portal.session import portal_user, sign_in, sign_out


def _safe_next(target: str | None) -> str:
    """Only a path on this server (never another site: no open redirect)."""
    if not target:
        return url_for("portal.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("portal.home")
    return target


@portal.get("/")
def home():
    if portal_user() is None:
        return render_template("portal/login.html", next=None)
    return render_template("portal/home.html", dashboard=requests.home_dashboard(portal_user()))


@portal.route("/login", methods=["GET", "POST"])
def login():
    target = request.values.get("next")
    if request.method == "GET":
        if portal_user() is not None:
            return redirect(_safe_next(target))
        return render_template("portal/login.html", next=target)
    email = request.form.get("email", "")
    try:
        sign_in(email, request.form.get("password", ""))
    except TooManyRequests as exc:
        retry = exc.details.get("retry_after", 60)
        message = _("Too many attempts: try again in %(seconds)s seconds.", seconds=retry)
        page = render_template("portal/login.html", next=target, email=email, error=message)
        return page, 429, {"Retry-After": str(retry)}
    except AuthenticationRequired:
        message = _("Wrong email or password.")
        page = render_template("portal/login.html", next=target, email=email, error=message)
        return page, 401
    return redirect(_safe_next(target), 303)


@portal.post("/logout")
def logout():
    sign_out()
    return redirect(url_for("portal.home"), 303)


# The pages of the portal's other modules: the requests (/requests, /requests/closed,
# /requests/HD-n), the wizard (/requests/new), the profile, the signed-out account pages
# (/password/forgot, /signup) and the agent pages (/queue and the request page's controls).
from helpdesk.server.portal import account, agent, profile, requests, wizard  # noqa: E402, F401

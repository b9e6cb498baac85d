"""Login, logout, the caller's own account, and user administration."""

from __future__ import annotations

from flask import g, request, url_for

from helpdesk import __version__
from helpdesk.server.api import MAX_ID, api
from helpdesk.server.api.inputs import current_user, json_body, paging
from helpdesk.server.serializers import page_json, user_json
from helpdesk.services import users


@api.get("/health")
def health():
    """Liveness probe; needs no token."""
    return {"status": "ok", "version": __version__}


@api.post("/auth/login")
def login():
    """Exchange an email and password for a bearer token."""
    body = json_body({"email", "password", "token_name"}, {"email", "password"})
    user, token = users.log_in(body["email"], body["password"], body.get("token_name"))
    return {"token": token, "user": user_json(user, users.memberships_of(user))}


@api.post("/auth/logout")
def logout():
    """Revoke the token this request was made with."""
    current_user()
    users.revoke_token(g.token)
    return {"revoked": True}


@api.get("/me")
def me():
    """Who the token belongs to, with their organizations."""
    user = current_user()
    return user_json(user, users.memberships_of(user))


@api.get("/users")
def list_users():
    """Users by email (agents and admins)."""
    page, per_page = paging()
    result = users.list_users(
        actor=current_user(), kind=request.args.get("kind"), page=page, per_page=per_page
    )
    items = [user_json(u, users.memberships_of(u)) for u in result.items]
    return page_json(items, result.page, result.per_page, result.total)


@api.post("/users")
def register_user():
    """Register a user (admins)."""
    actor = current_user()
    body = json_body(
        {"email", "name", "kind", "password", "organization", "role", "language"},
        {"email", "name"},
    )
    user = users.register_user(
        body["email"],
        body["name"],
        actor=actor,
        kind=body.get("kind") or "customer",
        password=body.get("password"),
        organization=body.get("organization"),
        role=body.get("role") or "user",
        language=body.get("language") or "en",
    )
    return (
        user_json(user, users.memberships_of(user)),
        201,
        {"Location": url_for("api.get_user", user_id=user.id)},
    )


@api.get(f"/users/<int(max={MAX_ID}):user_id>")
def get_user(user_id: int):
    """One user (agents and admins)."""
    user = users.get_user(user_id, actor=current_user())
    return user_json(user, users.memberships_of(user))

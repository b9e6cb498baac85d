"""Login and logout, sign-up, one's own account and tokens, and user administration."""

from __future__ import annotations

from flask import g, request, url_for

from helpdesk.server.api import MAX_ID, api
from helpdesk.server.api.inputs import client, current_user, json_body, paging, public
from helpdesk.server.idempotency import idempotent
from helpdesk.server.serializers import access_json, page_json, token_json, user_json
from helpdesk.services import (
    access_reports,
    api_tokens,
    authentication,
    invitations,
    password_reset,
    profile,
    signup,
    users,
)
from helpdesk.services import health as service_health


def _me(user):
    return user_json(user, users.memberships_of(user), private=True)


@api.get("/health")
@public
def health():
    """Database, schema and outbox backlog, for load balancers and monitors; needs no token.
    503, in the same shape, when the database is unreachable or its schema is not ours."""
    report = service_health.health()
    return report, 200 if report["status"] == "ok" else 503


@api.post("/auth/login")
@public
def login():
    """Exchange an email and password for a bearer token (throttled after failures)."""
    body = json_body({"email", "password", "token_name"}, {"email", "password"})
    user, token = authentication.log_in(
        body["email"], body["password"], body.get("token_name"), client=client()
    )
    return {"token": token, "user": _me(user)}


@api.post("/auth/logout")
def logout():
    """Revoke the token this request was made with."""
    current_user()
    api_tokens.revoke_token(g.token)
    return {"revoked": True}


@api.post("/auth/signup")
@public
def sign_up():
    """Register as an external customer, if the sign-up policy allows; confirm by email."""
    body = json_body({"email", "name", "language"}, {"email", "name"})
    message = signup.signup(
        body["email"], body["name"], language=body.get("language") or "en", client=client()
    )
    return {"message": message}, 202


@api.post("/account/activate")
@public
def activate():
    """Choose the password with an invitation or sign-up token; answers a login token."""
    body = json_body({"token", "password"}, {"token", "password"})
    user, token = invitations.activate_account(body["token"], body["password"], client=client())
    return {"token": token, "user": _me(user)}


@api.post("/account/password-reset")
@public
def request_password_reset():
    """Email a reset link; the answer never says whether the address exists."""
    body = json_body({"email"}, {"email"})
    return {"message": password_reset.request_password_reset(body["email"], client=client())}, 202


@api.post("/account/password-reset/confirm")
@public
def reset_password():
    """Set a new password with a reset token; all the user's tokens are revoked."""
    body = json_body({"token", "password"}, {"token", "password"})
    user = password_reset.reset_password(body["token"], body["password"], client=client())
    return {"message": "Your password was changed; log in with it.", "email": user.email}


@api.post("/account/email/confirm")
@public
def confirm_email():
    """Confirm a new email address with the token sent to it."""
    body = json_body({"token"}, {"token"})
    return _me(profile.confirm_email_change(body["token"], client=client()))


@api.get("/me")
@api.get("/account")
def me():
    """The caller's own account, with their organizations."""
    return _me(current_user())


@api.patch("/account")
def update_account():
    """Change one's name, phone, language, date format; a new email is confirmed by token."""
    actor = current_user()
    body = json_body({"name", "phone", "language", "date_format", "email"})
    user, pending = profile.update_profile(actor, **body)
    data = _me(user)
    data["email_change_pending"] = pending
    return data


@api.post("/account/password")
def change_password():
    """Change one's password (current one required); one's other tokens are revoked."""
    actor = current_user()
    body = json_body({"current_password", "new_password"}, {"current_password", "new_password"})
    revoked = authentication.change_password(
        actor,
        body["current_password"],
        body["new_password"],
        current_token=g.token,
        client=client(),
    )
    return {"revoked_tokens": revoked}


@api.get("/tokens")
def list_tokens():
    """The caller's API tokens (never their values)."""
    items = [token_json(t) for t in api_tokens.list_tokens(current_user())]
    return {"items": items, "total": len(items)}


@api.post("/tokens")
@idempotent(secret=True)
def create_token():
    """A named token for scripts and CI, optionally expiring and read-only; shown once."""
    actor = current_user()
    body = json_body({"name", "expires", "read_only"}, {"name"})
    token, raw = api_tokens.create_token(
        actor, body["name"], expires=body.get("expires"), read_only=body.get("read_only", False)
    )
    return {**token_json(token), "token": raw}, 201


@api.post("/tokens/revoke")
def revoke_tokens():
    """Revoke the caller's own token(s) by id or name."""
    actor = current_user()
    body = json_body({"token"}, {"token"})
    revoked = api_tokens.revoke_named_token(actor, body["token"])
    return {"revoked": [token_json(t) for t in revoked]}


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
@idempotent
def register_user():
    """Register a user (customers: admins and customer managers; staff: admins)."""
    actor = current_user()
    body = json_body(
        {
            "email",
            "name",
            "kind",
            "password",
            "organization",
            "role",
            "language",
            "phone",
            "can_manage_customers",
            "invite",
        },
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
        phone=body.get("phone"),
        can_manage_customers=body.get("can_manage_customers", False),
        invite=body.get("invite", True),
    )
    return (
        user_json(user, users.memberships_of(user)),
        201,
        {"Location": url_for("api.get_user", user_id=user.id)},
    )


@api.post("/users/invitations")
def resend_invitation():
    """Email a fresh invitation; the previous link stops working."""
    actor = current_user()
    body = json_body({"email"}, {"email"})
    user = invitations.resend_invitation(body["email"], actor=actor)
    return user_json(user, users.memberships_of(user)), 202


@api.post("/users/deactivate")
def deactivate_user():
    """Lock a user out: no login, tokens revoked; their tickets stay."""
    actor = current_user()
    body = json_body({"email"}, {"email"})
    user = users.set_active(body["email"], False, actor=actor)
    return user_json(user, users.memberships_of(user))


@api.post("/users/reactivate")
def reactivate_user():
    """Let a deactivated user log in again."""
    actor = current_user()
    body = json_body({"email"}, {"email"})
    user = users.set_active(body["email"], True, actor=actor)
    return user_json(user, users.memberships_of(user))


@api.get(f"/users/<int(max={MAX_ID}):user_id>")
def get_user(user_id: int):
    """One user (agents and admins)."""
    user = users.get_user(user_id, actor=current_user())
    return user_json(user, users.memberships_of(user))


@api.get("/reports/logins")
def login_report():
    """Logins, failures, token uses, activations, password changes (agents)."""
    args = request.args
    page, per_page = paging()
    result = access_reports.access_log(
        actor=current_user(),
        organization=args.get("organization"),
        user=args.get("user"),
        date_from=args.get("from"),
        date_to=args.get("to"),
        page=page,
        per_page=per_page,
    )
    return page_json(
        [access_json(a) for a in result.items], result.page, result.per_page, result.total
    )

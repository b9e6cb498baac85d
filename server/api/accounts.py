"""Login and logout, sign-up, one's own account and tokens, and user administration."""

from __future__ import annotations

from typing import Annotated, Any

from flask import g, request, url_for
from pydantic import Field, WithJsonSchema

from helpdesk.i18n import N_, gettext
from helpdesk.server import schemas
from helpdesk.server.api import MAX_ID, api
from helpdesk.server.api.contract import Body, Query, operation
from helpdesk.server.api.inputs import client, current_user, json_body, paging, public
from helpdesk.server.errors import caller_language
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


class Login(Body):
    email: str
    password: str
    token_name: str | None = Field(None, description='The new token\'s name ("login" if none).')


class SignUp(Body):
    email: str
    name: str
    language: str | None = Field(None, description="en (the default), fr, it or cs.")


class Activation(Body):
    token: str = Field(description="The invitation's or sign-up's emailed token.")
    password: str = Field(description="The password to choose.")


class ResetRequest(Body):
    email: str


class PasswordReset(Body):
    token: str = Field(description="The emailed reset token.")
    password: str = Field(description="The new password.")


class EmailConfirmation(Body):
    token: str = Field(description="The token emailed to the new address.")


class AccountEdit(Body):
    name: str | None = None
    phone: str | None = None
    language: str | None = None
    date_format: str | None = None
    email: str | None = Field(None, description="Changed once confirmed with the emailed token.")


class PasswordChange(Body):
    current_password: str
    new_password: str


class NewTokenRequest(Body):
    name: str
    expires: str | None = Field(None, description="A duration (90d, 12h, 30m, 2w) or a date.")
    read_only: bool | None = Field(None, description="Only GET requests.")


class TokenRevocation(Body):
    # Checked by the service, whose refusal says what it takes (an id or a name); the union
    # str | int checked here would refuse 1.5 with "token must be text".
    token: Annotated[Any, WithJsonSchema({"type": ["string", "integer"]})] = Field(
        description="The token's id or name."
    )


class Registration(Body):
    email: str
    name: str
    kind: str | None = Field(None, description="customer (the default), agent or admin.")
    password: str | None = Field(None, description="Without one, an invitation is emailed.")
    organization: str | None = Field(None, description="A customer's organization (name).")
    role: str | None = Field(None, description="There: user (the default) or power_user.")
    language: str | None = None
    phone: str | None = None
    can_manage_customers: bool | None = Field(None, description="Agents only.")
    invite: bool | None = Field(None, description="false: no invitation email.")


class UserByEmail(Body):
    email: str


class UsersQuery(Query):
    kind: str | None = Field(None, description="customer, agent or admin.")
    page: int | None = None
    per_page: int | None = Field(None, description="At most 100.")


class LoginReportQuery(Query):
    organization: str | None = Field(None, description="Its members' events only.")
    user: str | None = Field(None, description="One email's events only.")
    from_: str | None = Field(None, alias="from", description="From (date).")
    to: str | None = Field(None, description="Until the end of (date).")
    page: int | None = None
    per_page: int | None = Field(None, description="At most 100.")


class DatabaseHealth(schemas.Answer):
    reachable: bool
    schema_version: int | None
    expected_schema_version: int


class OutboxBacklog(schemas.Answer):
    pending: int | None = Field(description="Messages waiting to be sent; null if unknown.")
    oldest_pending_seconds: int | None = Field(description="How long the oldest one waits.")


class Health(schemas.Answer):
    status: str = Field(description='"ok", or "unavailable" (with status 503).')
    version: str
    database: DatabaseHealth
    outbox: OutboxBacklog


class LoggedIn(schemas.Answer):
    token: str = Field(description="The bearer token for the following requests.")
    user: schemas.Account


class Revoked(schemas.Answer):
    revoked: bool


class PasswordWasReset(schemas.Message):
    email: str


class PasswordChanged(schemas.Answer):
    revoked_tokens: int = Field(description="How many of one's other tokens were revoked.")


class Tokens(schemas.Items[schemas.Token]):
    pass


class RevokedTokens(schemas.Answer):
    revoked: list[schemas.Token]


class UserPage(schemas.Page[schemas.User]):
    pass


class AccessEntries(schemas.Page[schemas.AccessEntry]):
    pass


def _me(user):
    return user_json(user, users.memberships_of(user), private=True)


@api.get("/health")
@public
@operation(answers={200: Health, 503: Health})
def health():
    """Database, schema and outbox backlog, for load balancers and monitors; needs no token.
    503, in the same shape, when the database is unreachable or its schema is not ours."""
    report = service_health.health()
    return report, 200 if report["status"] == "ok" else 503


@api.post("/auth/login")
@public
@operation(body=Login, answers={200: LoggedIn}, errors=(401, 429))
def login():
    """Exchange an email and password for a bearer token (throttled after failures)."""
    body = json_body()
    user, token = authentication.log_in(
        body["email"], body["password"], body.get("token_name"), client=client()
    )
    return {"token": token, "user": _me(user)}


@api.post("/auth/logout")
@operation(answers={200: Revoked})
def logout():
    """Revoke the token this request was made with."""
    current_user()
    api_tokens.revoke_token(g.token)
    return {"revoked": True}


@api.post("/auth/signup")
@public
@operation(body=SignUp, answers={202: schemas.Message}, errors=(403, 429))
def sign_up():
    """Register as an external customer, if the sign-up policy allows; confirm by email."""
    body = json_body()
    message = signup.signup(
        body["email"], body["name"], language=body.get("language") or "en", client=client()
    )
    return {"message": gettext(caller_language(), message)}, 202


@api.post("/account/activate")
@public
@operation(body=Activation, answers={200: LoggedIn}, errors=(401, 404))
def activate():
    """Choose the password with an invitation or sign-up token; answers a login token."""
    body = json_body()
    user, token = invitations.activate_account(body["token"], body["password"], client=client())
    return {"token": token, "user": _me(user)}


@api.post("/account/password-reset")
@public
@operation(body=ResetRequest, answers={202: schemas.Message}, errors=(429,))
def request_password_reset():
    """Email a reset link; the answer never says whether the address exists."""
    body = json_body()
    message = password_reset.request_password_reset(body["email"], client=client())
    return {"message": gettext(caller_language(), message)}, 202


@api.post("/account/password-reset/confirm")
@public
@operation(body=PasswordReset, answers={200: PasswordWasReset}, errors=(401, 403, 404))
def reset_password():
    """Set a new password with a reset token; all the user's tokens are revoked."""
    body = json_body()
    user = password_reset.reset_password(body["token"], body["password"], client=client())
    message = gettext(caller_language(), N_("Your password was changed; log in with it."))
    return {"message": message, "email": user.email}


@api.post("/account/email/confirm")
@public
@operation(body=EmailConfirmation, answers={200: schemas.Account}, errors=(404,))
def confirm_email():
    """Confirm a new email address with the token sent to it."""
    body = json_body()
    return _me(profile.confirm_email_change(body["token"], client=client()))


@api.get("/me")
@api.get("/account")
@operation(answers={200: schemas.Account})
def me():
    """The caller's own account, with their organizations."""
    return _me(current_user())


@api.patch("/account")
@operation(body=AccountEdit, answers={200: schemas.Account})
def update_account():
    """Change one's name, phone, language, date format; a new email is confirmed by token."""
    actor = current_user()
    body = json_body()
    user, pending = profile.update_profile(actor, **body)
    data = _me(user)
    data["email_change_pending"] = pending
    return data


@api.post("/account/password")
@operation(body=PasswordChange, answers={200: PasswordChanged}, errors=(429,))
def change_password():
    """Change one's password (current one required); one's other tokens are revoked."""
    actor = current_user()
    body = json_body()
    revoked = authentication.change_password(
        actor,
        body["current_password"],
        body["new_password"],
        current_token=g.token,
        client=client(),
    )
    return {"revoked_tokens": revoked}


@api.get("/tokens")
@operation(answers={200: Tokens})
def list_tokens():
    """The caller's API tokens (never their values)."""
    items = [token_json(t) for t in api_tokens.list_tokens(current_user())]
    return {"items": items, "total": len(items)}


@api.post("/tokens")
@idempotent(secret=True)
@operation(body=NewTokenRequest, answers={201: schemas.NewToken})
def create_token():
    """A named token for scripts and CI, optionally expiring and read-only; shown once."""
    actor = current_user()
    body = json_body()
    token, raw = api_tokens.create_token(
        actor, body["name"], expires=body.get("expires"), read_only=body.get("read_only", False)
    )
    return {**token_json(token), "token": raw}, 201


@api.post("/tokens/revoke")
@operation(body=TokenRevocation, answers={200: RevokedTokens}, errors=(404,))
def revoke_tokens():
    """Revoke the caller's own token(s) by id or name."""
    actor = current_user()
    body = json_body()
    revoked = api_tokens.revoke_named_token(actor, body["token"])
    return {"revoked": [token_json(t) for t in revoked]}


@api.get("/users")
@operation(query=UsersQuery, answers={200: UserPage})
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
@operation(body=Registration, answers={201: schemas.User}, errors=(404,))
def register_user():
    """Register a user (customers: admins and customer managers; staff: admins)."""
    actor = current_user()
    body = json_body()
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
@operation(body=UserByEmail, answers={202: schemas.User}, errors=(404,))
def resend_invitation():
    """Email a fresh invitation; the previous link stops working."""
    actor = current_user()
    body = json_body()
    user = invitations.resend_invitation(body["email"], actor=actor)
    return user_json(user, users.memberships_of(user)), 202


@api.post("/users/deactivate")
@operation(body=UserByEmail, answers={200: schemas.User}, errors=(404,))
def deactivate_user():
    """Lock a user out: no login, tokens revoked; their tickets stay."""
    actor = current_user()
    body = json_body()
    user = users.set_active(body["email"], False, actor=actor)
    return user_json(user, users.memberships_of(user))


@api.post("/users/reactivate")
@operation(body=UserByEmail, answers={200: schemas.User}, errors=(404,))
def reactivate_user():
    """Let a deactivated user log in again."""
    actor = current_user()
    body = json_body()
    user = users.set_active(body["email"], True, actor=actor)
    return user_json(user, users.memberships_of(user))


@api.get(f"/users/<int(max={MAX_ID}):user_id>")
@operation(answers={200: schemas.User})
def get_user(user_id: int):
    """One user (agents and admins)."""
    user = users.get_user(user_id, actor=current_user())
    return user_json(user, users.memberships_of(user))


@api.get("/reports/logins")
@operation(query=LoginReportQuery, answers={200: AccessEntries}, errors=(404,))
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

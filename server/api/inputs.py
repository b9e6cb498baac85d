"""Reading requests: the JSON body, multipart uploads, the caller's token, paging."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, g, request

from helpdesk import validation
from helpdesk.errors import AuthenticationRequired, BadRequest, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import User
from helpdesk.permissions import require_token_allows
from helpdesk.server.api.contract import (
    body_fields,
    check_body,
    current_operation,
    refuse_unknown,
)
from helpdesk.services.access_log import Client
from helpdesk.services.api_tokens import user_for_token
from helpdesk.storage import Upload


def public(view):
    """Mark an API view anybody may call without a token (logging in, a survey's link...)."""
    view.public = True
    return view


def is_public(view) -> bool:
    return getattr(view, "public", False)


def authenticate() -> None:
    """Before every API view but the public ones: a caller without a valid token is answered
    401 before anything else of the request is read (a body the view would refuse, an id it
    would look up)."""
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and not is_public(view):
        current_user()


def current_user() -> User:
    """The user behind the request's bearer token, or 401."""
    if "user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise AuthenticationRequired(
                N_("Authentication required: send 'Authorization: Bearer TOKEN'.")
            )
        g.user, g.token = user_for_token(raw.strip(), client=client())
        # A read-only token may still log itself out.
        require_token_allows(
            g.token, request.method, revoking_itself=request.endpoint == "api.logout"
        )
    return g.user


def client() -> Client:
    """Where the request comes from: the peer, or behind a trusted proxy the client it names
    (server/proxies.py has already put it in the request's remote address)."""
    return Client(request.remote_addr, request.user_agent.string or None)


def _check_fields(data: Any, allowed: frozenset[str], required: frozenset[str]) -> dict:
    if not isinstance(data, dict):
        raise BadRequest(N_("The request body must be a JSON object."))
    refuse_unknown(data, allowed, N_("Unknown field: {unknown}."), N_("Unknown fields: {unknown}."))
    missing = sorted(f for f in required if data.get(f) in (None, ""))
    if missing:
        if len(missing) == 1:
            template = N_("Missing required field: {missing}.")
        else:
            template = N_("Missing required fields: {missing}.")
        raise ValidationFailed(template, missing=missing)
    return data


_UNREAD = object()
_JSON_KEY = "helpdesk.json"  # the decoded body, kept in the request's environ
# A request may carry a few files at once, not an unbounded list of them.
MAX_UPLOADS = 20
# Values one query-string parameter may repeat (?status=open&status=pending...).
MAX_QUERY_VALUES = 20
# A JSON body is decoded whole in memory, so it gets less than MAX_CONTENT_LENGTH, which
# attachments need: the largest legitimate one, 5,000 import rows, is about 1 MB.
MAX_JSON_BODY = 4 * 1024 * 1024


def _parse_json(raw: str | bytes, message: str) -> Any:
    """Decode JSON and refuse text no database stores (lone surrogates, NUL) anywhere in it;
    `message` (an N_ template) says which JSON was not."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise BadRequest(message) from None
    return validation.storable(data)


def check_request_text() -> None:
    """Before every request: URL parts, query strings and form fields hold storable text.

    JSON bodies are checked where they are decoded (`_parse_json`); this covers the rest,
    for every endpoint at once.
    """
    validation.storable(request.view_args or {})
    if request.is_json:
        # Bounds a chunked body without Content-Length too: reading past it is a 413.
        request.max_content_length = min(request.max_content_length or MAX_JSON_BODY, MAX_JSON_BODY)
        # Decoded once here for every endpoint, even one that ignores its body; a body that
        # is not JSON is left to the view that reads it (400).
        try:
            data = json.loads(request.get_data(cache=True))
        except (ValueError, RecursionError):
            pass
        else:
            request.environ[_JSON_KEY] = validation.storable(data)
    for name in request.args:
        values = request.args.getlist(name)
        if len(values) > MAX_QUERY_VALUES:
            raise ValidationFailed(  # always more than one: MAX_QUERY_VALUES is above 1
                N_("{field} is given {count} times; at most {max}."),
                field=name,
                count=len(values),
                max=MAX_QUERY_VALUES,
            )
        validation.storable(values[0] if len(values) == 1 else values, name)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name in request.form:
            values = request.form.getlist(name)
            validation.storable(values[0] if len(values) == 1 else values, name)


def json_body() -> dict:
    """The request's JSON object, read with the body model its view's @operation declares:
    only known fields, every required one, each of its JSON type."""
    if not request.is_json:
        raise BadRequest(N_("Send a JSON body with 'Content-Type: application/json'."))
    data = request.environ.get(_JSON_KEY, _UNREAD)
    if data is _UNREAD:
        data = _parse_json(request.get_data(), N_("The request body is not valid JSON."))
    return _read_with_model(data)


def _read_with_model(data: Any) -> dict:
    model = current_operation().body
    allowed, required = body_fields(model)
    return check_body(model, _check_fields(data, allowed, required))


def payload_with_uploads() -> tuple[dict, list[Upload]]:
    """A JSON body, or multipart/form-data with a JSON `data` field and `attachments` files."""
    if request.mimetype != "multipart/form-data":
        return json_body(), []
    data = _parse_json(
        request.form.get("data", "{}"), N_("The multipart field 'data' is not valid JSON.")
    )
    files = request.files.getlist("attachments")
    if len(files) > MAX_UPLOADS:
        raise ValidationFailed(  # always more than one: MAX_UPLOADS is above 1
            N_("attachments has too many files ({count}); send at most {max}."),
            {"field": "attachments"},
            count=len(files),
            max=MAX_UPLOADS,
        )
    uploads = [Upload(f.filename or "attachment", f.stream, f.mimetype) for f in files]
    return _read_with_model(data), uploads


def paging() -> tuple[Any, Any]:
    return request.args.get("page", 1), request.args.get("per_page", 25)


FLAG_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def flag(name: str) -> bool:
    """A true/false query argument (true, 1, yes / false, 0, no); absent is false."""
    value = request.args.get(name)
    if value is None or value == "":
        return False
    if value.strip().lower() not in FLAG_WORDS:
        raise ValidationFailed(
            N_("{field} must be true or false (got {got!r})."), field=name, got=value
        )
    return FLAG_WORDS[value.strip().lower()]

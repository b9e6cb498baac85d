"""Reading requests: the JSON body, multipart uploads, the caller's token, paging."""

from __future__ import annotations

import json
from typing import Any

from flask import g, request

from helpdesk.errors import AuthenticationRequired, BadRequest, ValidationFailed
from helpdesk.models import User
from helpdesk.permissions import require_token_allows
from helpdesk.services.accounts import Client, user_for_token
from helpdesk.storage import Upload


def current_user() -> User:
    """The user behind the request's bearer token, or 401."""
    if "user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise AuthenticationRequired(
                "Authentication required: send 'Authorization: Bearer TOKEN'."
            )
        g.user, g.token = user_for_token(raw.strip(), client=client())
        # A read-only token may still log itself out.
        require_token_allows(
            g.token, request.method, revoking_itself=request.endpoint == "api.logout"
        )
    return g.user


def client() -> Client:
    """Where the request comes from (the peer address; no proxy header is trusted)."""
    return Client(request.remote_addr, request.user_agent.string or None)


def _check_fields(data: Any, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(
            f"Unknown field(s): {', '.join(unknown)}.",
            {"unknown": unknown, "allowed": sorted(allowed)},
        )
    missing = sorted(f for f in required if data.get(f) in (None, ""))
    if missing:
        raise ValidationFailed(
            f"Missing required field(s): {', '.join(missing)}.", {"missing": missing}
        )
    return data


def _parse_json(raw: str | bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise BadRequest(f"{what} is not valid JSON.") from None


def json_body(allowed: set[str], required: set[str] = frozenset()) -> dict:
    """The request's JSON object, with only known fields and every required one."""
    if not request.is_json:
        raise BadRequest("Send a JSON body with 'Content-Type: application/json'.")
    return _check_fields(_parse_json(request.get_data(), "The request body"), allowed, required)


def payload_with_uploads(
    allowed: set[str], required: set[str] = frozenset()
) -> tuple[dict, list[Upload]]:
    """A JSON body, or multipart/form-data with a JSON `data` field and `attachments` files."""
    if request.mimetype != "multipart/form-data":
        return json_body(allowed, required), []
    data = _parse_json(request.form.get("data", "{}"), "The multipart field 'data'")
    uploads = [
        Upload(f.filename or "attachment", f.stream, f.mimetype)
        for f in request.files.getlist("attachments")
    ]
    return _check_fields(data, allowed, required), uploads


def paging() -> tuple[Any, Any]:
    return request.args.get("page", 1), request.args.get("per_page", 25)

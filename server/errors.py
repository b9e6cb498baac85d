"""One error shape for every failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging

from flask import Flask, g, has_request_context, jsonify, request
from peewee import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, RequestedRangeNotSatisfiable

from helpdesk.error_messages import localized_message
from helpdesk.errors import (
    AuthenticationRequired,
    HelpdeskError,
    TooManyRequests,
    busy_error,
    storage_error,
)
from helpdesk.formats import LANGUAGES  # noqa: E402

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


# Where Werkzeug's name for a status differs from the code the core uses for it.
HTTP_CODES = {413: "payload_too_large"}


def _code(exc: HTTPException) -> str:
    return HTTP_CODES.get(exc.code) or exc.name.lower().replace(" ", "_").replace("'", "")


def caller_language() -> str | None:
    """The caller's language: their profile once known, else what the request asks for."""
    user = g.get("user")
    if user is not None:
        return user.language
    return request.accept_languages.best_match(LANGUAGES) if has_request_context() else None


def register_error_handlers(app: Flask, html_page=None) -> None:
    """`html_page(exc)`, when given, answers an HTTP error (404, 405...) outside /api/ as a web
    page; the API always answers in the one JSON error shape."""

    @app.errorhandler(HelpdeskError)
    def helpdesk_error(exc: HelpdeskError):
        message = localized_message(exc, caller_language())
        response = error_response(exc.http_status, exc.code, message, exc.details)
        if isinstance(exc, AuthenticationRequired):
            response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.details.get("retry_after", 60))
        elif "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if html_page is not None and not request.path.startswith("/api/"):
            return html_page(exc)
        response = error_response(exc.code or 500, _code(exc), exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        if isinstance(exc, RequestedRangeNotSatisfiable) and exc.length is not None:
            response.headers["Content-Range"] = f"{exc.units} */{exc.length}"  # the file's size
        return response

    @app.errorhandler(IntegrityError)
    def integrity_error(exc: IntegrityError):
        # Two requests racing for the same unique value: the loser is told, nothing is half-done.
        log.info("integrity error: %s", exc)
        return error_response(409, "conflict", "The change conflicts with existing data; retry.")

    @app.errorhandler(OperationalError)
    @app.errorhandler(OSError)
    def database_or_disk_failure(exc: Exception):
        # A lock held too long by other writers: rolled back, the client may simply retry.
        busy = busy_error(exc)
        if busy is not None:
            log.info("database busy: %s", exc)  # the caller is told; a server logs the 503
            return helpdesk_error(busy)
        # A read-only or full disk is the operator's to fix: say so, never a bare 500.
        mapped = storage_error(exc)
        if mapped is None:
            return unexpected_error(exc)
        log.info("storage: %s", exc)  # the caller is told; a server logs the 503
        return helpdesk_error(mapped)

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Internal server error.")

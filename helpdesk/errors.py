"""The errors the core raises; the API and the CLI map them by their attributes."""

from __future__ import annotations

from typing import Any


class HelpdeskError(Exception):
    """Base of every expected failure: a stable code, an HTTP status and a CLI exit code."""

    code = "error"
    http_status = 400
    exit_code = 1

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationFailed(HelpdeskError):
    code = "validation_failed"
    http_status = 422


class BadRequest(HelpdeskError):
    """The request itself is malformed (not JSON, wrong content type)."""

    code = "bad_request"
    http_status = 400


class AuthenticationRequired(HelpdeskError):
    code = "authentication_required"
    http_status = 401
    exit_code = 4


class PermissionDenied(HelpdeskError):
    code = "permission_denied"
    http_status = 403


class NotFound(HelpdeskError):
    code = "not_found"
    http_status = 404


class Conflict(HelpdeskError):
    code = "conflict"
    http_status = 409


class InvalidTransition(HelpdeskError):
    code = "invalid_transition"
    http_status = 409


class PayloadTooLarge(HelpdeskError):
    code = "payload_too_large"
    http_status = 413


class TooManyRequests(HelpdeskError):
    """Throttled: details carry retry_after (seconds)."""

    code = "too_many_requests"
    http_status = 429
    exit_code = 5


class SchemaMismatch(HelpdeskError):
    """The database has no schema, or one older or newer than this code."""

    code = "schema_mismatch"
    http_status = 503


class StorageUnavailable(HelpdeskError):
    """The database or the files cannot be written (read-only, disk full) or opened."""

    code = "storage_unavailable"
    http_status = 503

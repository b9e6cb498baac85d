"""The errors the core raises; the API and the CLI map them by their attributes."""

from __future__ import annotations

import errno
import sys
from typing import Any

from helpdesk.i18n import N_

# What a message's values may be: they are details too, sent as JSON.
JSON_VALUES = (str, int, float, bool, list, dict, type(None))


def shown(values: dict[str, Any]) -> dict[str, Any]:
    """Values as a message shows them: a list as its items joined by commas."""
    return {
        name: ", ".join(map(str, value)) if isinstance(value, list) else value
        for name, value in values.items()
    }


class HelpdeskError(Exception):
    """Base of every expected failure: a stable code, an HTTP status and a CLI exit code.

    The message is an English template marked with N_ where it is raised, its values given by
    name: `NotFound(N_("No such service: {service!r}."), service=name)`. The values are
    details too (for scripts), and helpdesk/error_messages.py translates the template, so a
    message reads in the caller's language without a second copy of it anywhere.
    `details` adds what the message does not show.
    """

    code = "error"
    http_status = 400
    exit_code = 1

    def __init__(self, message: str, details: dict[str, Any] | None = None, **values: Any):
        assert all(isinstance(value, JSON_VALUES) for value in values.values()), values
        text = message.format(**shown(values)) if values else message
        super().__init__(text)
        self.template = message
        self.values = values
        self.message = text
        self.details = {**values, **(details or {})}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationFailed(HelpdeskError):
    code = "validation_failed"
    http_status = 422


class OptionNotAsked(ValidationFailed):
    """A field the request type's priority policy does not ask for (the CLI: a usage error)."""

    code = "not_asked"
    exit_code = 2


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


class IdempotencyKeyReused(ValidationFailed):
    """An Idempotency-Key sent again with another request than the one it first came with."""

    code = "idempotency_key_reused"


class PreconditionFailed(HelpdeskError):
    """If-Match named a version of the ticket that is no longer the current one."""

    code = "precondition_failed"
    http_status = 412


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


def storage_error(exc: Exception) -> StorageUnavailable | None:
    """Why the database or the disk refused a write, in one sentence; None for anything else.

    Read-only databases and files, a full disk and an unopenable database file are an
    operator's matter, not a bug: they get a clear message instead of a traceback or a 500.
    """
    text = str(exc).lower()
    number = getattr(exc, "errno", None)
    if number == errno.ENOSPC or "disk is full" in text or "no space left" in text:
        return StorageUnavailable(
            N_(
                "The disk holding the help desk's data is full: nothing was changed. "
                "Free some space and try again."
            )
        )
    if (
        number in (errno.EROFS, errno.EACCES, errno.EPERM)
        or "readonly" in text
        or ("read-only" in text)
    ):
        filename = getattr(exc, "filename", None)
        if filename:
            return StorageUnavailable(
                N_(
                    "The help desk's data is read-only ({path}): reading works, changes are "
                    "refused. Check the permissions of the data directory and the database."
                ),
                path=str(filename),
            )
        return StorageUnavailable(
            N_(
                "The help desk's data is read-only: reading works, changes are refused. "
                "Check the permissions of the data directory and the database."
            )
        )
    if "disk i/o error" in text:  # SQLite, when even its shared-memory file finds no room
        return StorageUnavailable(
            N_(
                "The disk holding the help desk's data refused a write (it may be full or "
                "failing): nothing was changed. Check its free space and health."
            )
        )
    if is_database_error(exc) and "unable to open database" in text:
        return StorageUnavailable(
            N_(
                "The database file cannot be opened: check that its directory exists and is "
                "readable (HELPDESK_DATA_DIR, HELPDESK_DATABASE)."
            )
        )
    return None


class Gone(HelpdeskError):
    """The record exists but what it points at is lost (an attachment's file)."""

    code = "gone"
    http_status = 410


class InvalidBackup(HelpdeskError):
    """The file is not a whole helpdesk backup (truncated, altered, or another file), or not
    one this instance can take (another engine, a newer schema)."""

    code = "invalid_backup"


class ToolFailed(HelpdeskError):
    """An outside program a command needs (pg_dump, pg_restore) is missing or failed."""

    code = "tool_failed"


class DatabaseOnly(HelpdeskError):
    """A local operator's command asked of a server (HELPDESK_URL): it needs the database."""

    code = "database_only"


class ServerBusy(HelpdeskError):
    """The database waited too long for a lock other changes hold: nothing was changed;
    details carry retry_after (seconds)."""

    code = "busy"
    http_status = 503


# How long a client waits before retrying after the database was busy (seconds).
BUSY_RETRY_AFTER = 2
# PostgreSQL: lock_timeout, statement_timeout, deadlock, serialization failure.
BUSY_PGCODES = {"55P03", "57014", "40P01", "40001"}


def is_database_error(exc: BaseException) -> bool:
    """Peewee's OperationalError. Looked up, not imported: a command that never opened a
    database (`helpdesk --help`) does not load peewee, and then no exception is one."""
    peewee = sys.modules.get("peewee")
    return peewee is not None and isinstance(exc, peewee.OperationalError)


def busy_error(exc: Exception) -> ServerBusy | None:
    """A database that gave up waiting for a lock (a passing state: retry); None otherwise."""
    if not is_database_error(exc):
        return None
    # Peewee wraps the driver's exception: it is the context (in older versions, args[0]).
    busy = any(
        getattr(original, "pgcode", None) in BUSY_PGCODES
        for original in (exc.__cause__, exc.__context__, *exc.args[:1])
    )
    text = str(exc).lower()
    if busy or "database is locked" in text or "database is busy" in text:
        return ServerBusy(
            N_(
                "The server is busy (the database is locked by other changes); nothing was "
                "changed. Try again in {retry_after} seconds."
            ),
            retry_after=BUSY_RETRY_AFTER,
        )
    return None

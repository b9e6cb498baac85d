"""What a load balancer or a monitor asks of a running help desk: can it serve, and is its
mail leaving? Cheap (a few index reads) and without secrets (no URL, path or address)."""

from __future__ import annotations

import logging

from peewee import PeeweeException, fn

from helpdesk import __version__
from helpdesk.db import database
from helpdesk.migrations import LATEST, schema_version
from helpdesk.models import OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)


def health() -> dict:
    """The database's reachability and schema version, and the outbox backlog; `status` is
    "ok" only when the database answers with the schema this code expects.

    Opens its own connection, so that an unreachable database is reported, not raised.
    """
    report = {
        "status": "unavailable",
        "version": __version__,
        "database": {
            "reachable": False,
            "schema_version": None,
            "expected_schema_version": LATEST,
        },
        "outbox": {"pending": None, "oldest_pending_seconds": None},
    }
    try:
        opened = database.connect(reuse_if_open=True)
        try:
            version = schema_version()
            report["database"].update(reachable=True, schema_version=version)
            if version == LATEST:  # an older schema may lack the outbox's columns
                report["outbox"] = _outbox_backlog()
        finally:
            if opened:
                database.close()
    except (PeeweeException, OSError) as exc:
        # The operator's log says why; the answer only says that it failed.
        log.warning("health: database unavailable: %s", exc)
        return report
    if report["database"]["schema_version"] == LATEST:
        report["status"] = "ok"
    return report


def _outbox_backlog() -> dict:
    pending = OutboxMessage.status == OutboxStatus.pending.value
    # Both read the (status, created_at) index alone, however many messages were sent.
    count = OutboxMessage.select().where(pending).count()
    oldest = OutboxMessage.select(fn.MIN(OutboxMessage.created_at)).where(pending).scalar()
    age = None if oldest is None else max(0, round((utcnow() - oldest).total_seconds()))
    return {"pending": count, "oldest_pending_seconds": age}

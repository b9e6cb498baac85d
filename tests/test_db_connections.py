"""The server's database connections: pooled between requests, never shared across a fork."""

from __future__ import annotations

import os

import pytest

from helpdesk.db import database, init_database
from helpdesk.models import Organization


@pytest.fixture
def pooled(app):
    """The test's database as `helpdesk serve` opens it: through the pool."""
    db = init_database(app.config["DATABASE_URL"], pooled=True)
    yield db
    db.close_all()


def test_a_pooled_connection_is_reused_by_the_next_request(pooled):
    with database.connection_context():
        first = database.connection()
    with database.connection_context():
        assert database.connection() is first  # not opened (and closed) again


@pytest.mark.sqlite_only
def test_pooled_sqlite_keeps_wal_normal_sync_and_the_busy_timeout(pooled):
    with database.connection_context():
        pragma = lambda name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("busy_timeout") == 30_000
        assert pragma("foreign_keys") == 1
    assert database.obj._lock_type == "IMMEDIATE"  # writers queue on the busy timeout


@pytest.mark.parametrize("pool", [False, True], ids=["plain", "pooled"])
def test_a_forked_worker_connects_anew_and_leaves_the_parent_connection_alone(app, pool):
    init_database(app.config["DATABASE_URL"], pooled=pool)
    with database.connection_context():
        Organization.create(name="Before the fork")
        parent_connection = database.connection()
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the worker: must not see (nor close) the parent's connection
            status = 1
            try:
                if database.is_closed():
                    with database.connection_context():
                        fresh = database.connection() is not parent_connection
                        names = [o.name for o in Organization.select()]
                        status = 0 if fresh and names == ["Before the fork"] else 2
            finally:
                os.write(write, bytes([status]))
                os._exit(0)
        os.close(write)
        answer = os.read(read, 1)
        os.close(read)
        os.waitpid(child, 0)
        assert answer == b"\x00"
        # The parent's own connection still works (libpq: the child sent it no goodbye).
        assert database.connection() is parent_connection
        assert Organization.select().count() == 1
    if pool:
        database.obj.close_all()

"""The database handle and the only module that knows which engine is behind it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlparse

from peewee import DatabaseProxy, Model, OperationalError, SqliteDatabase
from playhouse.db_url import connect
from playhouse.pool import PooledDatabase

from helpdesk.config import sqlite_file
from helpdesk.errors import storage_error

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
}


class BaseModel(Model):
    class Meta:
        database = database
        # save() writes only the fields this object changed: a row read before another
        # writer's change (an SLA breach recorded by `sla check`) does not write it away.
        only_save_dirty = True


def _read_only_sqlite(path: Path) -> SqliteDatabase | None:
    """A read-only connection to a database file we may read but not write (a read-only file
    or directory), so that reads still work; None when we may write it."""
    if not path.exists() or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return None
    uri = f"file:{quote(str(path))}?mode=ro"
    if not path.with_name(path.name + "-shm").exists() and not os.access(path.parent, os.W_OK):
        # WAL readers need the -shm file; when it cannot exist, no writer is running either.
        uri += "&immutable=1"
    return SqliteDatabase(uri, uri=True, pragmas={"foreign_keys": 1}, timeout=30)


def _pooled(url: str) -> str:
    """The same URL through playhouse's pool: `sqlite+pool://`, `postgresql+pool://`."""
    scheme, rest = url.split("://", 1)
    return url if scheme.endswith("+pool") else f"{scheme}+pool://{rest}"


# A pooled connection is handed back at the end of a request instead of closed: connecting
# (SQLite: open, three PRAGMAs, and a WAL checkpoint at the last close; PostgreSQL: a new
# server process) cost a server ~1-2 ms a request. None: no cap (a thread holds at most one).
POOL_OPTIONS = {"max_connections": None, "stale_timeout": 300}


def init_database(url: str, *, pooled: bool = False):
    """Point the models at the database named by a URL (sqlite:///..., postgresql://...);
    `pooled` (the server) keeps connections open between requests."""
    sqlite_path = sqlite_file(url)
    if sqlite_path is not None and (read_only := _read_only_sqlite(sqlite_path)) is not None:
        database.initialize(read_only)
        return read_only
    if sqlite_path is not None:
        try:
            sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise (storage_error(exc) or exc) from None
        # IMMEDIATE write transactions wait for the lock (busy timeout) instead of
        # failing at once when two writers upgrade from a read lock at the same time.
        # The busy timeout is 30 s unless the URL sets one (sqlite:///path?timeout=SECONDS).
        timeout = float(dict(parse_qsl(urlparse(url).query)).get("timeout", 30))
        if pooled:  # the pool's own `timeout` is its wait for a free connection: not this one
            pragmas = {**SQLITE_PRAGMAS, "busy_timeout": int(timeout * 1000)}
            db = connect(
                _pooled(url),
                pragmas=pragmas,
                lock_type="IMMEDIATE",
                check_same_thread=False,  # handed from thread to thread, one at a time
                **POOL_OPTIONS,
            )
        else:
            db = connect(url, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE", timeout=timeout)
    else:
        try:
            db = connect(_pooled(url), **POOL_OPTIONS) if pooled else connect(url)
        except RuntimeError as exc:  # unknown scheme or missing driver
            raise ValueError(f"Cannot use database URL {url!r}: {exc}") from None
    database.initialize(db)
    return db


def _forget_inherited_connection() -> None:
    """In a forked child (a server worker): drop the parent's connection without using it.

    SQLite and libpq connections must not cross a fork: a child that used or even closed one
    would corrupt the parent's locks or end its PostgreSQL session. The child connects anew.
    """
    db = database.obj
    if db is None:
        return
    db._state.reset()
    if db.thread_safe:  # the lock may have been held by another parent thread
        db._lock = threading.Lock()
    if isinstance(db, PooledDatabase):  # the parent's pooled connections: not ours either
        db._connections, db._in_use = [], {}
        db._pool_lock = threading.RLock()
        db._pool_available = threading.Condition(db._pool_lock)


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_inherited_connection)


def close_idle_connections() -> None:
    """Close the pool's idle connections: before a server forks its workers, which must not
    inherit them."""
    if isinstance(database.obj, PooledDatabase):
        database.obj.close_idle()


def is_sqlite() -> bool:
    return isinstance(database.obj, SqliteDatabase)


def locked_in_transaction(query, table):
    """`query`, locking the rows it reads of `table` until the transaction ends when it runs
    inside one: on PostgreSQL two writers of one ticket would otherwise each read it as it was
    and both apply their change (two moves out of "open", one lost). SQLite's writers take
    the one write lock at BEGIN IMMEDIATE, one at a time already."""
    if is_sqlite() or not database.in_transaction():
        return query
    return query.for_update(of=table)


def write_if_free(work: Callable[[], None]) -> bool:
    """Run `work` in its own write transaction if no other writer holds the lock right now.

    False, with nothing written, when the database is busy (or cannot be written at all):
    for writes that may be skipped, such as a token's last use, so that a read never waits.
    """
    if database.in_transaction():  # the caller's transaction already writes
        with database.atomic():
            work()
        return True
    try:
        if is_sqlite():
            # busy_timeout 0: BEGIN IMMEDIATE fails at once instead of waiting for the lock.
            previous = database.execute_sql("PRAGMA busy_timeout").fetchone()[0]
            database.execute_sql("PRAGMA busy_timeout = 0")
            try:
                with database.atomic():
                    work()
            finally:
                database.execute_sql(f"PRAGMA busy_timeout = {int(previous)}")
        else:
            with database.atomic():
                database.execute_sql("SET LOCAL lock_timeout = '100ms'")
                work()
    except OperationalError:  # locked, or a read-only database
        return False
    return True


@contextmanager
def schema_change() -> Iterator[None]:
    """Room for ALTER TABLE: SQLite rebuilds a table to alter it, which its foreign keys forbid.

    SQLite's documented procedure: foreign keys off (outside any transaction), alter, check
    that every reference still holds, foreign keys on again. Other engines need nothing.
    """
    if not is_sqlite():
        yield
        return
    database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        yield
        broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"schema change broke references: {broken[:5]}")
    finally:
        database.execute_sql("PRAGMA foreign_keys = ON")

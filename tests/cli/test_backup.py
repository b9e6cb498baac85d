"""`helpdesk db backup` and `helpdesk db restore`: a populated help desk, backed up by a real
`helpdesk db backup` process while a thread keeps writing, restored into a fresh instance and
compared row by row and file by file; damaged archives and non-empty instances refused."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest
from conftest import HELPDESK_SCRIPT, ON_POSTGRES, SERVER_DATABASE, another_postgres_database

from helpdesk.db import database
from helpdesk.models import Attachment
from helpdesk.services import organizations, tickets, users
from helpdesk.storage import Upload

# Writes the thread makes at most while the backup runs (it stops when the backup ends).
MAX_CONCURRENT_WRITES = 300
# Derived tables, checked by what they must say rather than row by row: search index, tally.
DERIVED = ("ticket_search", "ticket_tally")

# `helpdesk db ...` run in this process points the models at the database it opens.
pytestmark = pytest.mark.usefixtures("models_pointed_back")


def _upload(name: str, text: str) -> Upload:
    return Upload(name, io.BytesIO(text.encode()), "text/plain")


def populate(world) -> None:
    """Organizations, users, tickets with comments, notes and attachments: ~400 rows."""
    for n in range(3):
        org = organizations.create_organization(f"Customer {n}", actor=world.admin)
        for m in range(4):
            users.register_user(
                f"user{n}.{m}@example.test", f"User {n}.{m}", actor=world.admin,
                organization=org.name,
            )  # fmt: skip
    for n in range(20):
        ticket = tickets.submit_ticket(
            actor=world.requester,
            type="incident",
            title=f"Printer {n} prints blank pages",
            description=f"Since the update, printer number {n} only feeds paper.",
            attachments=[_upload(f"log{n}.txt", f"printer log {n}\n" * 50)],
        )
        tickets.add_comment(ticket.reference, f"Still broken ({n}).", actor=world.requester)
        tickets.add_comment(
            ticket.reference, f"Checked the driver of {n}.", actor=world.agent, internal=True
        )
        tickets.add_comment(
            ticket.reference,
            "Here is a photo.",
            actor=world.requester,
            attachments=[_upload("photo.txt", "the same photo, twice stored once")],
        )


def _row_tables(execute) -> list[str]:
    if ON_POSTGRES:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return sorted(name for (name,) in execute(sql) if not name.startswith(DERIVED))


class Instance:
    """One help desk's database and attachment store, read with a connection of its own."""

    def __init__(self, url: str, store: Path):
        self.url = url
        self.store = store

    def query(self, sql: str) -> list[tuple]:
        if ON_POSTGRES:
            import psycopg2

            connection = psycopg2.connect(self.url)
            try:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    return cursor.fetchall()
            finally:
                connection.close()
        connection = sqlite3.connect(self.url.removeprefix("sqlite:///"))
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def rows(self) -> dict[str, set[tuple]]:
        """Every row of every table but the derived ones."""
        return {
            table: set(self.query(f'SELECT * FROM "{table}"')) for table in _row_tables(self.query)
        }

    def files(self) -> dict[str, bytes]:
        return {
            path.name: path.read_bytes()
            for path in self.store.glob("*/*")
            if path.parent.name != "tmp"
        }


def _helpdesk(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [HELPDESK_SCRIPT, *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def source(env, world):
    populate(world)
    data = env / "data"
    url = SERVER_DATABASE if ON_POSTGRES else f"sqlite:///{data / 'helpdesk.db'}"
    return Instance(url, data / "attachments")


@pytest.fixture
def target(tmp_path):
    """A fresh, empty instance: its own database (created by `helpdesk db upgrade`) and
    data directory; its environment for the CLI."""
    data = tmp_path / "restored"
    environment = {**os.environ, "HELPDESK_DATA_DIR": str(data)}
    environment.pop("HELPDESK_URL", None)
    with ExitStack() as stack:
        if ON_POSTGRES:
            url = stack.enter_context(another_postgres_database("helpdesk_restore"))
            environment["HELPDESK_DATABASE"] = url
        else:
            url = f"sqlite:///{data / 'helpdesk.db'}"
            environment.pop("HELPDESK_DATABASE", None)
        upgraded = _helpdesk("db", "upgrade", env=environment)
        assert upgraded.returncode == 0, upgraded.stderr
        instance = Instance(url, data / "attachments")
        instance.env = environment
        yield instance


class Writer(threading.Thread):
    """Submits tickets with an attachment each, through the services, until told to stop."""

    def __init__(self, requester):
        super().__init__(daemon=True)
        self.requester = requester
        self.written = 0
        self.started_writing = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with database.connection_context():
                while not self.stop.is_set() and self.written < MAX_CONCURRENT_WRITES:
                    tickets.submit_ticket(
                        actor=self.requester,
                        type="incident",
                        title=f"Written during the backup {self.written}",
                        attachments=[_upload("trace.txt", f"trace {self.written}\n" * 20)],
                    )
                    self.written += 1
                    if self.written == 5:
                        self.started_writing.set()
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.started_writing.set()


def _backup_under_load(world, path: Path) -> tuple[dict, Writer]:
    """Run `helpdesk db backup` in its own process while a thread writes: the backup's JSON
    summary, and the writer (stopped)."""
    writer = Writer(world.requester)
    writer.start()
    assert writer.started_writing.wait(60)
    try:
        backup = _helpdesk("db", "backup", str(path), "--json", env=dict(os.environ))
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.error is None, writer.error
    assert backup.returncode == 0, backup.stderr
    return json.loads(backup.stdout), writer


def test_round_trip_under_write_load(source, target, world, cli, tmp_path):
    before = source.rows()
    path = tmp_path / "nightly.tar"
    summary, writer = _backup_under_load(world, path)
    after, after_files = source.rows(), source.files()

    restored = cli("db", "restore", str(path), "--json", env=target.env)
    assert restored.exit_code == 0, restored.output
    result = json.loads(restored.stdout)
    assert result["counts"] == summary["counts"]
    rows, files = target.rows(), target.files()

    # A consistent point between the start and the end of the load: everything that was
    # there before, nothing that never was, every row as the source had it.
    assert rows.keys() == before.keys()
    for table in rows:
        assert before[table] <= rows[table] <= after[table], table
        assert len(rows[table]) == summary["counts"].get(table, len(rows[table])), table
    written_then = summary["counts"]["ticket"] - len(before["ticket"])
    assert 5 <= written_then < writer.written  # the copy is a point inside the load

    # Self-consistent: every comment's and attachment's ticket, every attachment's file.
    ticket_ids = {row[0] for row in rows["ticket"]}
    assert {tid for (tid,) in target.query("SELECT ticket_id FROM comment")} <= ticket_ids
    named = {sha for (sha,) in target.query("SELECT sha256 FROM attachment")}
    assert set(files) == named == {hashlib.sha256(data).hexdigest() for data in files.values()}
    assert all(files[sha] == after_files[sha] for sha in files)
    assert result["attachments"] == len(named)

    # What is derived from the tickets is right: the tally and the search index.
    tally = {
        (status, priority, bool(unassigned)): int(n)
        for status, priority, unassigned, n in target.query(
            "SELECT status, priority, unassigned, SUM(n) FROM ticket_tally"
            " GROUP BY status, priority, unassigned HAVING SUM(n) <> 0"
        )
    }
    counted = {
        (status, priority, bool(unassigned)): int(n)
        for status, priority, unassigned, n in target.query(
            "SELECT status, priority, assignee_id IS NULL, COUNT(*) FROM ticket"
            " GROUP BY status, priority, assignee_id IS NULL"
        )
    }
    assert tally == counted
    index = (
        "SELECT ticket_id FROM ticket_search"
        if ON_POSTGRES
        else ("SELECT rowid FROM ticket_search_agent")
    )
    assert {tid for (tid,) in target.query(index)} == ticket_ids


def test_the_restored_help_desk_has_its_tickets_and_files(source, target, world, cli, tmp_path):
    path = tmp_path / "backup.tar"
    assert cli("db", "backup", str(path)).exit_code == 0
    restored = cli("db", "restore", str(path), env=target.env)
    assert restored.exit_code == 0, restored.output
    assert "Restored" in restored.stdout

    from helpdesk.db import init_database
    from helpdesk.models import User

    init_database(target.url)
    with database.connection_context():
        agent = User.get(User.email == world.agent.email)
        # Searched through the restored index: the agent finds the internal note's words.
        found = tickets.list_tickets(tickets.TicketFilter(text="driver 7"), actor=agent)
        assert [t.title for t in found.items] == ["Printer 7 prints blank pages"]
        attachment = Attachment.get(Attachment.filename == "log7.txt")
        assert attachment.ticket.title == "Printer 7 prints blank pages"
        assert (target.store / attachment.sha256[:2] / attachment.sha256).read_text() == (
            "printer log 7\n" * 50
        )


def test_backup_refused_over_http(env, cli, tmp_path):
    path = tmp_path / "b.tar"
    result = cli("db", "backup", str(path), env={"HELPDESK_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 1
    assert "HELPDESK_URL" in result.stderr
    assert not path.exists()
    result = cli("db", "restore", str(path), "--json", env={"HELPDESK_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"]["code"] == "database_only"


def test_backup_refused_when_an_attachment_file_is_missing(source, cli, tmp_path):
    with database.connection_context():
        sha = Attachment.select().first().sha256
    (source.store / sha[:2] / sha).unlink()
    path = tmp_path / "b.tar"
    result = cli("db", "backup", str(path), "--json")
    assert result.exit_code == 1
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "gone"
    assert sha in error["details"]["missing"]
    assert not path.exists()
    assert list(tmp_path.glob(".b.tar*")) == []  # no partial file left behind


def test_restore_into_a_help_desk_that_is_not_empty_is_refused(source, cli, tmp_path):
    path = tmp_path / "b.tar"
    assert cli("db", "backup", str(path)).exit_code == 0
    before = source.rows()
    result = cli("db", "restore", str(path), "--json")
    assert result.exit_code == 1
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "conflict"
    assert "--force" in error["message"]
    assert source.rows() == before


def _damaged(path: Path, how: str) -> Path:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    else:  # one byte of an attachment file changed, the archive otherwise intact
        with tarfile.open(path) as archive:
            member = next(m for m in archive if m.name.startswith("attachments/"))
        data[member.offset_data] ^= 0x01
    damaged = path.with_name(f"{how}.tar")
    damaged.write_bytes(bytes(data))
    return damaged


@pytest.mark.parametrize("how", ["truncated", "altered"])
def test_a_damaged_backup_is_refused_and_nothing_changes(source, target, cli, tmp_path, how):
    path = tmp_path / "b.tar"
    assert cli("db", "backup", str(path)).exit_code == 0
    before, files_before = target.rows(), target.files()

    result = cli("db", "restore", str(_damaged(path, how)), "--json", env=target.env)
    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"]["code"] == "invalid_backup"
    assert target.rows() == before
    assert target.files() == files_before == {}


def test_force_replaces_a_help_desk_that_is_not_empty(source, world, cli, tmp_path):
    path = tmp_path / "b.tar"
    assert cli("db", "backup", str(path)).exit_code == 0
    backed_up = source.rows()
    with database.connection_context():
        world.ticket(title="Written after the backup")
    result = cli("db", "restore", str(path), "--force", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["replaced"]["tickets"] == len(backed_up["ticket"]) + 1
    assert source.rows() == backed_up


def test_a_backup_of_a_newer_schema_is_refused(source, target, cli, tmp_path):
    path = tmp_path / "b.tar"
    assert cli("db", "backup", str(path)).exit_code == 0
    newer = tmp_path / "newer.tar"
    with tarfile.open(path) as original, tarfile.open(newer, "w") as rewritten:
        for member in original:
            content = original.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(content)
                manifest["schema_version"] += 1
                content = json.dumps(manifest).encode()
                member.size = len(content)
            rewritten.addfile(member, io.BytesIO(content))
    before = target.rows()
    result = cli("db", "restore", str(newer), "--json", env=target.env)
    assert result.exit_code == 1
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "invalid_backup"
    assert "newer" in error["message"]
    assert target.rows() == before

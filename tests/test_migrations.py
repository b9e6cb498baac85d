"""An older database is upgraded in place, keeping its data; a new one is created whole."""

from __future__ import annotations

import json
import time

import pytest
from conftest import (
    PASSWORD,
    SERVER_DATABASE,
    hold_write_lock,
    json_answers,
    loopback_environment,
    run_bounded,
    start_at_once,
)
from playhouse.migrate import SchemaMigrator, migrate

from helpdesk import search, tally
from helpdesk.db import database, is_sqlite, schema_change
from helpdesk.migrations import (
    DASHBOARD_INDEXES,
    LATEST,
    LIST_INDEXES,
    REPLACED_INDEXES,
    SLA_TICKET_TIMES,
    UPGRADE_LOCK,
    create_schema,
    index_name,
    upgrade_schema,
)
from helpdesk.models import (
    ALL_MODELS,
    AccessLog,
    AccountToken,
    ApiToken,
    Comment,
    Contract,
    ContractService,
    IdempotencyKey,
    Membership,
    Organization,
    OutboxMessage,
    PriorityCell,
    PriorityPolicy,
    SchemaVersion,
    Service,
    SharedSecret,
    SlaCalendar,
    SlaHoliday,
    SlaPolicy,
    SlaTarget,
    Subcategory,
    Ticket,
    User,
)
from helpdesk.server import create_app
from helpdesk.tally import TicketTally


def test_new_database_is_at_the_latest_version(db):
    assert SchemaVersion.get().version == LATEST
    assert upgrade_schema() == LATEST  # running again changes nothing
    assert SchemaVersion.select().count() == 1


def test_first_release_database_is_upgraded_and_keeps_its_data(db):
    old = User.create(email="old@example.test", name="Old Timer")
    org = Organization.create(name="Acme")
    Membership.create(user=old, organization=org)
    ticket = Ticket.create(
        type="question", title="Old", requester=old, organization=org, reference="HD-1"
    )
    Comment.create(ticket=ticket, author=old, body="Still here")
    ApiToken.create(user=old, token_hash="0" * 64)
    indexes_when_created = _index_names()
    _make_first_release_schema()
    assert "origin" not in {c.name for c in database.get_columns("user")}
    assert "service_id" not in {c.name for c in database.get_columns("ticket")}

    assert upgrade_schema() == LATEST

    assert SchemaVersion.get().version == LATEST
    assert OutboxMessage.table_exists()
    old = User.get(User.email == "old@example.test")
    assert (old.origin, old.auth_source, old.date_format) == ("internal", "local", "iso")
    assert old.can_manage_customers is False
    assert AccountToken.table_exists() and AccessLog.table_exists()
    # Rows that point at the rebuilt tables are all still there, and still point right.
    assert Comment.get().body == "Still here"
    assert Ticket.get().requester.email == "old@example.test"
    assert ApiToken.get().read_only is False
    upgraded = Ticket.get()
    assert (upgraded.service, upgraded.sla_policy, upgraded.priority_overridden) == (
        None,
        None,
        False,
    )
    assert Contract.table_exists() and SlaPolicy.table_exists()
    assert _index_names() == indexes_when_created  # an upgrade indexes what a new one does
    assert tally.counts(["new"]) == [("new", "medium", True, 1)]  # the old ticket is counted
    if is_sqlite():  # foreign keys were suspended while SQLite rebuilt the tables
        assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


def _index_names() -> dict[str, set[str]]:
    """Every table's indexes, and the ticket table's triggers."""
    return {
        **{
            model._meta.table_name: {
                index.name for index in database.get_indexes(model._meta.table_name)
            }
            for model in [*ALL_MODELS, TicketTally]
        },
        "triggers on ticket": tally.trigger_names(),
    }


def drop_tally() -> None:
    """Version 5's ticket tally and its triggers."""
    for name in tally.trigger_names():
        database.execute_sql(f"DROP TRIGGER {name}" + (" ON ticket" if not is_sqlite() else ""))
    database.drop_tables([TicketTally])


def _make_first_release_schema() -> None:
    """Turn this test's database into one of the first release: no version table, no later
    tables or columns."""
    migrator = SchemaMigrator.from_database(database.obj)
    # SQLite's own DROP COLUMN refuses a foreign key column: rebuild the table instead.
    options = {"legacy": True} if is_sqlite() else {}
    with schema_change():
        drop_tally()
        for columns in (*LIST_INDEXES, *DASHBOARD_INDEXES):  # version 5's
            migrate(migrator.drop_index("ticket", index_name(columns)))
        for columns in REPLACED_INDEXES:  # the first release's, which version 5 drops
            migrate(migrator.add_index("ticket", list(columns)))
        for table, columns in FIRST_RELEASE_MISSING.items():
            migrate(*(migrator.drop_column(table, column, **options) for column in columns))
    database.drop_tables(LATER_TABLES)


# Tables the first release did not have (dropped after the columns that point at them).
LATER_TABLES = [
    SharedSecret,
    SchemaVersion,
    IdempotencyKey,
    PriorityCell,
    PriorityPolicy,
    OutboxMessage,
    AccountToken,
    AccessLog,
    ContractService,
    Contract,
    SlaTarget,
    SlaPolicy,
    SlaHoliday,
    SlaCalendar,
    Subcategory,
    Service,
]
FIRST_RELEASE_MISSING = {
    "user": ["origin", "phone", "date_format", "auth_source", "can_manage_customers"],
    "apitoken": ["read_only"],
    "ticket": [
        "service_id",
        "subcategory_id",
        "priority_overridden",
        "dedupe_key",
        "sla_policy_id",
        *SLA_TICKET_TIMES,
        "version",  # version 5's
    ],
}


def test_a_version_4_outbox_is_upgraded_and_its_rendered_mail_kept(db):
    raw = "Subject: Queued before the upgrade\n\nRendered when queued.\n"
    OutboxMessage.create(
        to_address="sam@example.test", subject="Old", kind="reply", message_id="<o@x>", raw=raw
    )
    migrator = SchemaMigrator.from_database(database.obj)
    with schema_change():
        for columns in (*LIST_INDEXES, *DASHBOARD_INDEXES):  # version 5's
            migrate(migrator.drop_index("ticket", index_name(columns)))
        migrate(migrator.drop_column("outboxmessage", "letter"))
        migrate(migrator.drop_column("ticket", "version"))
        drop_tally()
    database.drop_tables([IdempotencyKey])
    SchemaVersion.update(version=4).execute()

    assert upgrade_schema() == LATEST

    assert "letter" in {column.name for column in database.get_columns("outboxmessage")}
    assert OutboxMessage.get().raw == raw


def test_commands_refuse_an_older_schema_until_db_upgrade(installed):
    cli = installed
    assert cli("org", "create", "Acme").exit_code == 0
    with database.connection_context():
        _make_first_release_schema()

    refused = cli("org", "list")
    assert refused.exit_code == 1
    assert "older than this helpdesk" in refused.output
    assert "helpdesk db upgrade" in refused.output
    assert "Traceback" not in refused.output
    status = cli("db", "status", "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.output) | {"database": None} == {
        "database": None,
        "version": 1,
        "expected": LATEST,
        "state": "older",
    }

    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"upgraded from version 1 to {LATEST}" in upgraded.output
    listed = cli("org", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [o["name"] for o in json.loads(listed.output)["items"]] == ["Acme"]
    again = cli("db", "upgrade")
    assert again.exit_code == 0 and f"already at schema version {LATEST}" in again.output


def test_a_schema_newer_than_the_code_is_refused_and_never_downgraded(installed):
    cli = installed
    with database.connection_context():
        SchemaVersion.update(version=LATEST + 1).execute()
    for command in (["org", "list"], ["db", "upgrade"], ["mail", "send"]):
        result = cli(*command)
        assert result.exit_code == 1, (command, result.output)
        assert "newer than this helpdesk" in result.output
    with database.connection_context():
        assert SchemaVersion.get().version == LATEST + 1


def test_a_database_without_schema_names_helpdesk_init(app, cli, tmp_path, monkeypatch):
    if is_sqlite():
        monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path / "elsewhere"))
    else:
        with database.connection_context():  # the search tables too: they point at tickets
            database.drop_tables([*ALL_MODELS, *search._models()], cascade=True)
    try:
        result = cli("org", "list")
        assert result.exit_code == 1
        assert "no helpdesk schema" in result.output and "helpdesk init" in result.output
        initialised = cli(
            "init", "--admin-email", "admin@example.test", "--password-stdin", input=PASSWORD
        )
        assert initialised.exit_code == 0, initialised.output
        assert cli("org", "list").exit_code == 0
    finally:
        create_schema()  # the next test's database keeps its tables, whatever happened here


def test_starting_takes_no_write_lock(env, app):
    """Every local command creates the app: it must only read, even while a writer works."""
    with hold_write_lock():
        started = run_bounded(lambda: create_app({"TESTING": True}), seconds=10)
        health = started.test_client().get("/api/v1/health")
    assert health.status_code == 200


def _first_release_with_an_organization(cli) -> None:
    assert cli("org", "create", "Acme").exit_code == 0
    with database.connection_context():
        _make_first_release_schema()


def test_two_upgrades_started_at_once_migrate_once(installed):
    """Two servers' `db upgrade` at start (systemd's ExecStartPre on each): both succeed, one
    migrates, the other finds the schema current; the data is kept."""
    _first_release_with_an_organization(installed)

    results = json_answers(start_at_once(["db", "upgrade"], loopback_environment()))

    assert sorted(r["from"] for r in results) == [1, LATEST]
    assert {r["to"] for r in results} == {LATEST}
    listed = installed("org", "list", "--json")
    assert [o["name"] for o in json.loads(listed.output)["items"]] == ["Acme"]


@pytest.mark.postgres_only
def test_upgrades_wait_for_the_one_holding_the_upgrade_lock(installed):
    """On PostgreSQL, an upgrade waits for the advisory lock that another one holds: the two
    never run their ALTER TABLEs side by side, even when both read the old version first."""
    import psycopg2

    _first_release_with_an_organization(installed)
    holder = psycopg2.connect(SERVER_DATABASE)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK,))
        processes = start_at_once(["db", "upgrade"], loopback_environment())
        deadline = time.monotonic() + 30
        while _waiting_for_the_upgrade_lock(holder) < 2:  # both read version 1 and wait
            assert time.monotonic() < deadline, "the upgrades did not wait for the lock"
            assert all(p.poll() is None for p in processes), "an upgrade ended without waiting"
            time.sleep(0.05)
    finally:
        holder.close()  # releases the lock: they go on, one after the other

    results = json_answers(processes)
    assert sorted(r["from"] for r in results) == [1, LATEST]
    with database.connection_context():
        assert SchemaVersion.get().version == LATEST
        assert [o.name for o in Organization.select()] == ["Acme"]


def _waiting_for_the_upgrade_lock(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0]

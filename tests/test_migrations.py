"""An older database is upgraded in place, keeping its data; a new one is created whole."""

from __future__ import annotations

from playhouse.migrate import SchemaMigrator, migrate

from helpdesk.db import database, schema_change
from helpdesk.migrations import LATEST, upgrade_schema
from helpdesk.models import (
    AccessLog,
    AccountToken,
    ApiToken,
    Comment,
    Membership,
    Organization,
    OutboxMessage,
    SchemaVersion,
    Ticket,
    User,
)


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
    # Make this database look like the first release's: no version table, no later tables
    # or columns.
    database.drop_tables([SchemaVersion, OutboxMessage, AccountToken, AccessLog])
    migrator = SchemaMigrator.from_database(database.obj)
    later_columns = {
        "user": ["origin", "phone", "date_format", "auth_source", "can_manage_customers"],
        "apitoken": ["read_only"],
    }
    with schema_change():
        for table, columns in later_columns.items():
            migrate(*(migrator.drop_column(table, column) for column in columns))
    assert "origin" not in {c.name for c in database.get_columns("user")}

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
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1

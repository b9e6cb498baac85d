"""Schema versions: a new database is created whole; an older one is upgraded in place."""

from __future__ import annotations

from collections.abc import Callable

from peewee import BooleanField, CharField
from playhouse.migrate import SchemaMigrator, migrate

from helpdesk.db import database, schema_change
from helpdesk.models import ALL_MODELS, SchemaVersion, User

# Version 1 is the first release's schema. Each later version lists the columns it adds to
# tables that existed before it; new tables are created by create_tables(safe=True).
MIGRATIONS: dict[int, Callable[[SchemaMigrator], list]] = {
    2: lambda m: [m.add_column("user", "origin", CharField(max_length=16, default="internal"))],
    3: lambda m: [
        m.add_column("user", "phone", CharField(max_length=40, null=True)),
        m.add_column("user", "date_format", CharField(max_length=16, default="iso")),
        m.add_column("user", "auth_source", CharField(max_length=32, default="local")),
        m.add_column("user", "can_manage_customers", BooleanField(default=False)),
        m.add_column("apitoken", "read_only", BooleanField(default=False)),
    ],
}
LATEST = max(MIGRATIONS, default=1)


def upgrade_schema() -> int:
    """Create or upgrade the schema; safe to run any number of times. Returns the version."""
    with schema_change(), database.atomic():
        if SchemaVersion.table_exists():
            row = SchemaVersion.select().first()
            version = row.version if row else 1
        else:
            # A database from before versioning has its tables but no version row.
            version = 1 if User.table_exists() else LATEST
        database.create_tables(ALL_MODELS, safe=True)
        migrator = SchemaMigrator.from_database(database.obj)
        for target in range(version + 1, LATEST + 1):
            migrate(*MIGRATIONS[target](migrator))
        SchemaVersion.delete().execute()
        SchemaVersion.create(version=LATEST)
    return LATEST

"""Schema versions: a new database is created whole; an older one is upgraded in place."""

from __future__ import annotations

from collections.abc import Callable

from peewee import (
    SQL,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    OperationalError,
    TextField,
)
from playhouse.migrate import SchemaMigrator, make_index_name, migrate

from helpdesk import search, tally
from helpdesk.db import database, init_database, is_sqlite, schema_change
from helpdesk.errors import SchemaMismatch, storage_error
from helpdesk.i18n import N_
from helpdesk.models import (
    ALL_MODELS,
    DEDUPE_INDEX,
    SchemaVersion,
    Service,
    SlaPolicy,
    Subcategory,
    User,
)

SLA_TICKET_TIMES = (
    "response_due_at",
    "first_response_at",
    "resolution_due_at",
    "sla_paused_at",
    "response_breached_at",
    "resolution_breached_at",
    "response_warned_at",
    "resolution_warned_at",
)


def _v5_search(m: SchemaMigrator) -> list:
    """Full-text search (helpdesk/search.py): its tables are created with the missing tables;
    index the tickets that exist."""
    return [search.Reindex()]


# Version 1 is the first release's schema. Each later version lists the columns (and their
# indexes) it adds to tables that existed before it; new tables are created whole, so a new
# table needs a new version too (with an empty list when it adds no column).
MIGRATIONS: dict[int, Callable[[SchemaMigrator], list]] = {
    2: lambda m: [m.add_column("user", "origin", CharField(max_length=16, default="internal"))],
    3: lambda m: [
        m.add_column("user", "phone", CharField(max_length=40, null=True)),
        m.add_column("user", "date_format", CharField(max_length=16, default="iso")),
        m.add_column("user", "auth_source", CharField(max_length=32, default="local")),
        m.add_column("user", "can_manage_customers", BooleanField(default=False)),
        m.add_column("apitoken", "read_only", BooleanField(default=False)),
    ],
    # The catalogue, contracts and SLA (their tables are new) and what a ticket keeps of them.
    4: lambda m: [
        m.add_column("ticket", "service_id", ForeignKeyField(Service, null=True, field=Service.id)),
        m.add_column(
            "ticket",
            "subcategory_id",
            ForeignKeyField(Subcategory, null=True, field=Subcategory.id),
        ),
        m.add_column("ticket", "priority_overridden", BooleanField(default=False)),
        m.add_column("ticket", "dedupe_key", CharField(max_length=200, null=True)),
        m.add_column(
            "ticket", "sla_policy_id", ForeignKeyField(SlaPolicy, null=True, field=SlaPolicy.id)
        ),
        *(m.add_column("ticket", column, DateTimeField(null=True)) for column in SLA_TICKET_TIMES),
        # The same partial unique index as the model's (helpdesk/models.py, DEDUPE_INDEX).
        m.add_index(
            "ticket",
            ["requester_id", "dedupe_key"],
            unique=True,
            where=SQL("status <> 'closed'"),
            name=DEDUPE_INDEX,
        ),
    ],
    5: lambda m: [
        *_v5_lists(m),
        *_v5_search(m),
        *_v5_dashboard(m),
        *_v5_outbox(m),
        *_v5_tally(m),
        *_v5_observe(m),
        *_v5_idempotency(m),
    ],
    # Shared secrets (helpdesk/shared_secrets.py): a new table, created with the missing ones.
    6: lambda m: [],
}


# The ticket list's indexes (helpdesk/models.py, Ticket.Meta.indexes). Newest first is id
# order (services/tickets.py, SORT_COLUMNS): each ends with the id, so a list filtered on the
# leading columns reads in index order and stops at the page's end.
LIST_INDEXES = (
    ("status", "id"),  # the queue: one status, newest first
    ("organization_id", "status", "id"),  # an organization's, by status
    ("requester_id", "status", "id"),  # a customer's own, by status
    ("assignee_id", "status", "id"),  # an agent's own
    ("updated_at", "id"),  # latest change first; updated since
)
# The first release's list indexes, in created_at order, which version 5 no longer reads, and
# the status's own, which (status, id) covers.
REPLACED_INDEXES = (
    ("status",),
    ("organization_id", "status", "created_at"),
    ("requester_id", "status", "created_at"),
)


def index_name(columns) -> str:
    """The name peewee and playhouse give a ticket index on these columns (a long one is cut
    and ends with a hash of the whole)."""
    return make_index_name("ticket", columns)


class DropIndexIfExists:
    """A migration step: drop an index that an older schema may have (both engines know
    IF EXISTS; playhouse's drop_index fails on a database that never had it)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self) -> None:
        database.execute_sql(f'DROP INDEX IF EXISTS "{self.name}"')


def _v5_lists(m: SchemaMigrator) -> list:
    """Indexes that keep the common ticket lists in index order at a million tickets (and
    drop the ones they replace: every index costs each write)."""
    return [
        *(DropIndexIfExists(index_name(columns)) for columns in REPLACED_INDEXES),
        *(m.add_index("ticket", list(columns)) for columns in LIST_INDEXES),
    ]


# The dashboard's indexes (helpdesk/models.py, Ticket.Meta.indexes; helpdesk/services/dashboard.py).
# The agents' counts by status and priority read the tally (helpdesk/tally.py), not an index.
DASHBOARD_INDEXES = (
    # A running clock past due (sla_clock.breaching): one range per status and clock. The
    # response clock's carries the resolution clock too: the tickets with both past due are
    # counted from it alone (services/dashboard.py, _breaching).
    ("status", "first_response_at", "response_due_at", "sla_paused_at", "resolution_due_at"),
    ("status", "sla_paused_at", "resolution_due_at"),
)


def _v5_dashboard(m: SchemaMigrator) -> list:
    """Indexes that answer the dashboard's grouped counts without reading every ticket."""
    return [m.add_index("ticket", list(columns)) for columns in DASHBOARD_INDEXES]


def _v5_tally(m: SchemaMigrator) -> list:
    """The agents' counts by status, priority and assignment, kept by triggers
    (helpdesk/tally.py), counted once from the tickets that exist."""
    return [tally.Install()]


def _v5_outbox(m: SchemaMigrator) -> list:
    """A notification is queued as what it will say and rendered by the sender (the outbox
    of a first-release database was just created whole, letter included)."""
    if "letter" in {column.name for column in database.get_columns("outboxmessage")}:
        return []
    return [m.add_column("outboxmessage", "letter", TextField(null=True))]


def _v5_observe(m: SchemaMigrator) -> list:
    """The health check counts the outbox's pending messages and reads the oldest one's age
    from one index (helpdesk/models.py, OutboxMessage.Meta.indexes)."""
    columns = ["status", "created_at"]
    existing = {index.name for index in database.get_indexes("outboxmessage")}
    if make_index_name("outboxmessage", columns) in existing:  # the table was just created
        return []
    return [m.add_index("outboxmessage", columns)]


def _v5_idempotency(m: SchemaMigrator) -> list:
    """Safe retries: the idempotency keys' table is created with the missing tables; a
    ticket's version, which its ETag names, starts at 1 (a database upgraded from an earlier
    build of version 5 may have it already)."""
    if "version" in {column.name for column in database.get_columns("ticket")}:
        return []
    return [m.add_column("ticket", "version", IntegerField(default=1))]


LATEST = max(MIGRATIONS, default=1)


def schema_version() -> int | None:
    """The version of the schema in the database; None when it has no helpdesk schema."""
    if SchemaVersion.table_exists():
        row = SchemaVersion.select().first()
        return row.version if row else 1
    # A database from before versioning has its tables but no version row.
    return 1 if User.table_exists() else None


def check_schema() -> int:
    """Refuse a database whose schema is missing, older or newer than this code.

    Cheap (two small reads, no lock): the server and every local command call it at start;
    only `helpdesk init` and `helpdesk db upgrade` change the schema.
    """
    version = schema_version()
    if version is None:
        raise SchemaMismatch(
            N_(
                "The database has no helpdesk schema yet: run 'helpdesk init' "
                "(or 'helpdesk db upgrade' to create the tables only)."
            ),
            {"version": None, "expected": LATEST},
        )
    if version < LATEST:
        raise SchemaMismatch(
            N_(
                "The database schema is version {version}, older than this helpdesk "
                "(version {expected}): run 'helpdesk db upgrade'."
            ),
            version=version,
            expected=LATEST,
        )
    if version > LATEST:
        raise SchemaMismatch(
            N_(
                "The database schema is version {version}, newer than this helpdesk "
                "(version {expected}): upgrade helpdesk to use it."
            ),
            version=version,
            expected=LATEST,
        )
    return version


# Any constant of our own: the advisory lock that `db upgrade` holds on PostgreSQL.
UPGRADE_LOCK = 0x6864_7363_6865_6D61  # "hdschema"


def upgrade_schema() -> int:
    """Create or upgrade the schema; safe to run any number of times. Returns the version."""
    return upgrade_schema_from()[1]


def upgrade_schema_from() -> tuple[int | None, int]:
    """Create or upgrade the schema: (the version found, the version now).

    An up-to-date database is only read: no write lock, no foreign-key scan. Otherwise one
    upgrade at a time, under a database lock (SQLite's one write lock; on PostgreSQL an
    advisory lock, held until the transaction ends): of two servers or upgrade runs started
    at once, the first migrates, the second waits and then finds the schema current.
    """
    version = schema_version()
    if version == LATEST:
        return LATEST, LATEST
    with schema_change(), database.atomic():
        if not is_sqlite():
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (UPGRADE_LOCK,))
        version = schema_version()  # again, inside the lock: another process may have won
        if version is not None and version > LATEST:
            check_schema()  # raises: never downgrade
        if version == LATEST:
            return LATEST, LATEST
        # Only the tables that are missing: an existing table's indexes may name columns
        # that its migration below adds (which then adds their indexes too).
        database.create_tables([m for m in ALL_MODELS if not m.table_exists()], safe=True)
        search.create_tables()  # per engine: not in ALL_MODELS
        if version is not None:
            migrator = SchemaMigrator.from_database(database.obj)
            for target in range(version + 1, LATEST + 1):
                migrate(*MIGRATIONS[target](migrator))
        # Last: a step that rebuilt the ticket table (SQLite) dropped the tally's triggers.
        tally.repair()
        SchemaVersion.delete().execute()
        SchemaVersion.create(version=LATEST)
    return version, LATEST


def create_schema() -> int:
    """Create every table and index, or upgrade an older schema (safe to run again)."""
    return create_schema_from()[1]


def create_schema_from() -> tuple[int | None, int]:
    """create_schema, telling the version it found: (found, now)."""
    with database.connection_context():
        return upgrade_schema_from()


def open_database(url: str, *, pooled: bool = False):
    """Point the models at `url` and check that its schema is the one this code expects.

    What the server and every local command do at start: reads only, so a read-only
    database still serves reads. Raises SchemaMismatch naming the command that fixes it.
    """
    db = init_database(url, pooled=pooled)
    try:
        with database.connection_context():
            check_schema()
    except OperationalError as exc:
        raise (storage_error(exc) or exc) from None
    return db

"""The ticket tally: how many tickets have each status, priority and assignment, kept exact by
the database itself, so the agents' dashboard reads a few dozen rows however large the desk.

Counting through an index reads one entry per ticket in work (~400,000 at a million tickets).
Instead, triggers on the ticket table add or take one from a row of `ticket_tally` on every
INSERT, DELETE and UPDATE that changes a ticket's (status, priority, unassigned) key: every
writer (the workflow, bulk updates, seed_data's insert_many, an import, a cascade) is counted
without knowing of it, in its own transaction.

- SQLite: one writer at a time, one shard (0); the change is an UPSERT.
- PostgreSQL: one plpgsql function. Writers would all queue on the one row of the busiest key
  (status new, priority medium, unassigned): each connection writes the shard of its backend
  (pid % SHARDS) instead, and a reader sums the shards. A shard's row may go negative (a ticket
  counted in another shard left the key); the sum is the count.

A SQLite table rebuild (how playhouse alters a column there) drops the table's triggers:
upgrade_schema calls repair() after every migration, which makes missing triggers again and
then counts the tally afresh.
"""

from __future__ import annotations

from peewee import SQL, BooleanField, CharField, CompositeKey, IntegerField, Value, fn

from helpdesk.db import BaseModel, database, is_sqlite
from helpdesk.models import Ticket

SHARDS = 8  # PostgreSQL: rows per key that concurrent writers spread over


class TicketTally(BaseModel):
    """How many tickets have this key, in this shard (the sum over shards is the count)."""

    status = CharField(max_length=16)
    priority = CharField(max_length=8)
    unassigned = BooleanField()
    shard = IntegerField()
    n = IntegerField()

    class Meta:
        table_name = "ticket_tally"
        primary_key = CompositeKey("status", "priority", "unassigned", "shard")


# One ticket's key, from a trigger's OLD or NEW row.
_KEY = "{row}.status, {row}.priority, {row}.assignee_id IS NULL"
_CONFLICT = (
    "ON CONFLICT (status, priority, unassigned, shard)"
    " DO UPDATE SET n = ticket_tally.n + excluded.n"
)
# An update that moves the ticket to another key (status and priority are never NULL).
_KEY_CHANGED = (
    "OLD.status <> NEW.status OR OLD.priority <> NEW.priority"
    " OR (OLD.assignee_id IS NULL) <> (NEW.assignee_id IS NULL)"
)


def _sqlite_change(row: str, delta: int) -> str:
    return (
        f"INSERT INTO ticket_tally (status, priority, unassigned, shard, n) "
        f"VALUES ({_KEY.format(row=row)}, 0, {delta}) {_CONFLICT};"
    )


SQLITE_TRIGGERS = {
    "ticket_tally_insert": "AFTER INSERT ON ticket BEGIN " + _sqlite_change("NEW", 1) + " END",
    "ticket_tally_update": (
        f"AFTER UPDATE OF status, priority, assignee_id ON ticket WHEN {_KEY_CHANGED} BEGIN "
        + _sqlite_change("OLD", -1)
        + _sqlite_change("NEW", 1)
        + " END"
    ),
    "ticket_tally_delete": "AFTER DELETE ON ticket BEGIN " + _sqlite_change("OLD", -1) + " END",
}

# OLD is NULL in an INSERT trigger and NEW in a DELETE trigger: their row is left out. An
# update takes one from the old key and adds one to the new key in one statement, in key
# order: two transactions that move tickets between the same two keys (in one shard) then
# lock the two rows in the same order instead of each waiting for the other's.
POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION ticket_tally_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_tally (status, priority, unassigned, shard, n)
    SELECT k.status, k.priority, k.unassigned, mod(pg_backend_pid(), {SHARDS}), k.n
    FROM (VALUES ({_KEY.format(row="OLD")}, -1), ({_KEY.format(row="NEW")}, 1))
        AS k (status, priority, unassigned, n)
    WHERE k.status IS NOT NULL
    ORDER BY k.status, k.priority, k.unassigned
    {_CONFLICT};
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION ticket_tally_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ticket_tally;
    RETURN NULL;
END $$;
"""
POSTGRES_TRIGGERS = {
    "ticket_tally_insert": "AFTER INSERT ON ticket FOR EACH ROW "
    "EXECUTE FUNCTION ticket_tally_count()",
    "ticket_tally_update": "AFTER UPDATE OF status, priority, assignee_id ON ticket FOR EACH ROW "
    f"WHEN ({_KEY_CHANGED}) "
    "EXECUTE FUNCTION ticket_tally_count()",
    "ticket_tally_delete": "AFTER DELETE ON ticket FOR EACH ROW "
    "EXECUTE FUNCTION ticket_tally_count()",
    # TRUNCATE fires no row trigger: the tally is emptied with the tickets.
    "ticket_tally_truncate": "AFTER TRUNCATE ON ticket FOR EACH STATEMENT "
    "EXECUTE FUNCTION ticket_tally_forget()",
}


def triggers() -> dict[str, str]:
    """The tally's triggers on this engine: name -> definition."""
    return SQLITE_TRIGGERS if is_sqlite() else POSTGRES_TRIGGERS


def trigger_names() -> set[str]:
    """The tally's triggers that exist on the ticket table."""
    if is_sqlite():
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ticket'"
    else:
        sql = (
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ticket'::regclass AND NOT tgisinternal"
        )
    found = {name for (name,) in database.execute_sql(sql).fetchall()}
    return found & set(triggers())


def refill() -> None:
    """Count the tally afresh from the tickets, in one grouped INSERT ... SELECT."""
    with database.atomic():
        if not is_sqlite():  # no ticket write between the count and its commit
            database.execute_sql("LOCK TABLE ticket IN SHARE MODE")
        TicketTally.delete().execute()
        unassigned = Ticket.assignee.is_null()
        counted = Ticket.select(
            Ticket.status, Ticket.priority, unassigned, Value(0), fn.COUNT(SQL("*"))
        ).group_by(Ticket.status, Ticket.priority, unassigned)
        TicketTally.insert_from(
            counted,
            [
                TicketTally.status,
                TicketTally.priority,
                TicketTally.unassigned,
                TicketTally.shard,
                TicketTally.n,
            ],
        ).execute()


def repair() -> bool:
    """Create the tally table and whichever of its triggers are missing; when any was, count
    the tally afresh (tickets may have changed while it was missing). True when it did."""
    if not TicketTally.table_exists():
        TicketTally.create_table()
    missing = set(triggers()) - trigger_names()
    if not missing:
        return False
    if not is_sqlite():
        database.execute_sql(POSTGRES_FUNCTION)
    for name in sorted(missing):
        database.execute_sql(f"CREATE TRIGGER {name} {triggers()[name]}")
    refill()
    return True


class Install:
    """A migration step (playhouse.migrate runs `.run()`): the tally, its triggers, and the
    count of the tickets that exist."""

    def run(self) -> None:
        repair()


def counts(statuses) -> list[tuple[str, str, bool, int]]:
    """(status, priority, unassigned, tickets) of every key with one of these statuses, summed
    over the shards."""
    total = fn.SUM(TicketTally.n)
    return [
        (status, priority, bool(unassigned), int(n))
        for status, priority, unassigned, n in TicketTally.select(
            TicketTally.status, TicketTally.priority, TicketTally.unassigned, total
        )
        .where(TicketTally.status.in_(statuses))
        .group_by(TicketTally.status, TicketTally.priority, TicketTally.unassigned)
        .tuples()
    ]

"""The ticket tally (helpdesk/tally.py) equals a GROUP BY over the tickets after every kind of
write, on an upgraded database too, and survives a later step that rebuilds the ticket table."""

from __future__ import annotations

import threading

import pytest
from playhouse.migrate import SchemaMigrator, migrate
from test_migrations import drop_tally

from helpdesk import tally
from helpdesk.db import database, schema_change
from helpdesk.migrations import (
    DASHBOARD_INDEXES,
    LATEST,
    LIST_INDEXES,
    MIGRATIONS,
    index_name,
    upgrade_schema,
)
from helpdesk.models import SchemaVersion, Ticket
from helpdesk.services import tickets
from helpdesk.tally import TicketTally


def tallied() -> dict[tuple, int]:
    """The tally, summed over its shards, without the keys no ticket has."""
    counts = tally.counts([row[0] for row in Ticket.select(Ticket.status).distinct().tuples()])
    return {(s, p, u): n for s, p, u, n in counts if n}


def grouped() -> dict[tuple, int]:
    """What the tally must say: the tickets counted by their key."""
    counted: dict[tuple, int] = {}
    for status, priority, assignee in Ticket.select(
        Ticket.status, Ticket.priority, Ticket.assignee
    ).tuples():
        key = (status, priority, assignee is None)
        counted[key] = counted.get(key, 0) + 1
    return counted


def assert_exact() -> None:
    assert tallied() == grouped()


def test_the_tally_follows_every_kind_of_write(world):
    assert tallied() == {}
    refs = [world.ticket().reference for _ in range(3)]  # created, then a status set directly
    refs.append(
        tickets.submit_ticket(actor=world.power, type="question", title="Invoice").reference
    )
    assert_exact()
    assert tallied()[("new", "medium", True)] == 4
    steps = [
        lambda: tickets.assign(refs[0], "me", actor=world.agent),  # unassigned new -> mine, open
        lambda: tickets.change_status(refs[0], "pending", actor=world.agent),
        lambda: tickets.change_status(refs[0], "open", actor=world.agent),
        lambda: tickets.change_status(refs[0], "resolved", actor=world.agent),
        lambda: tickets.reopen_ticket(refs[0], "Still broken", actor=world.requester),
        lambda: tickets.edit_ticket(refs[1], {"priority": "critical"}, actor=world.agent),
        lambda: tickets.edit_ticket(refs[1], {"title": "Same key"}, actor=world.agent),
        lambda: tickets.edit_ticket(
            refs[2], {"impact": "high", "urgency": "high"}, actor=world.agent
        ),
        lambda: tickets.assign(refs[1], world.admin.email, actor=world.agent),
        lambda: tickets.assign(refs[1], world.agent.email, actor=world.agent),  # same key
        lambda: tickets.close_ticket(refs[3], actor=world.agent),
        # A bulk update (an operator's script): every row it changes, in one statement.
        lambda: (
            Ticket.update(assignee=None, priority="low").where(Ticket.status != "closed").execute()
        ),
        lambda: Ticket.update(status="open").where(Ticket.status == "new").execute(),
        # seed_data's way: many rows in one INSERT.
        lambda: Ticket.insert_many(
            [
                {
                    "type": "incident",
                    "title": f"Seeded {i}",
                    "requester": world.requester.id,
                    "organization": world.acme.id,
                    "status": status,
                    "priority": priority,
                    "assignee": world.agent.id if i % 2 else None,
                }
                for i, (status, priority) in enumerate(
                    [("new", "high"), ("pending", "low"), ("resolved", "medium"), ("new", "high")]
                )
            ]
        ).execute(),
        # A purge: the app deletes no ticket, but a row deleted by hand is not counted either.
        lambda: Ticket.delete().where(Ticket.title.startswith("Seeded 1")).execute(),
    ]
    for step in steps:
        step()
        assert_exact()
    assert tallied()[("open", "low", True)] == 3  # the bulk updates moved them all


def test_writers_on_their_own_connections_add_up(world):
    """Each connection writes its own shard on PostgreSQL; the sum is the count."""
    ref = world.ticket().reference

    def other_connection():
        with database.connection_context():
            tickets.assign(ref, "me", actor=world.agent)
            world.ticket()

    worker = threading.Thread(target=other_connection)
    worker.start()
    worker.join(30)
    tickets.change_status(ref, "pending", actor=world.agent)
    assert_exact()
    assert tallied() == {("new", "medium", True): 1, ("pending", "medium", False): 1}


def _version_4_with_tickets(world) -> None:
    """Tickets of every key, then this database made one of version 4: no version 5 indexes,
    outbox letters, tally or triggers."""
    for status in ("new", "open", "pending", "resolved", "closed", "open"):
        world.ticket(status=status)
    tickets.assign(Ticket.get(Ticket.status == "open").reference, "me", actor=world.agent)
    migrator = SchemaMigrator.from_database(database.obj)
    with schema_change():
        for columns in (*LIST_INDEXES, *DASHBOARD_INDEXES):
            migrate(migrator.drop_index("ticket", index_name(columns)))
        migrate(migrator.drop_column("outboxmessage", "letter"))
        drop_tally()
    SchemaVersion.update(version=4).execute()


def test_an_upgrade_from_version_4_counts_the_tickets_that_exist(world):
    _version_4_with_tickets(world)
    assert not TicketTally.table_exists() and not tally.trigger_names()

    assert upgrade_schema() == LATEST

    assert tally.trigger_names() == set(tally.triggers())
    assert sum(tallied().values()) == 6
    assert_exact()
    tickets.change_status(Ticket.get(Ticket.status == "new").reference, "open", actor=world.agent)
    assert_exact()  # and kept from then on


@pytest.mark.sqlite_only
def test_a_later_step_that_rebuilds_the_ticket_table_leaves_the_tally_kept(world, monkeypatch):
    """playhouse alters a SQLite column by copying the table, which drops its triggers: the
    upgrade makes them again, and counts again what changed while they were missing."""
    _version_4_with_tickets(world)

    class RebuildTicketTable:  # what a future version's alter-column step does on SQLite
        def run(self):
            migrator = SchemaMigrator.from_database(database.obj)
            migrate(migrator.drop_not_null("ticket", "title"))
            assert not tally.trigger_names()
            Ticket.update(status="closed").where(Ticket.status == "new").execute()

    version_5 = MIGRATIONS[5]
    monkeypatch.setitem(MIGRATIONS, 5, lambda m: [*version_5(m), RebuildTicketTable()])

    assert upgrade_schema() == LATEST

    assert tally.trigger_names() == set(tally.triggers())
    assert_exact()
    tickets.change_status(
        Ticket.get(Ticket.status == "open").reference, "pending", actor=world.agent
    )
    assert_exact()

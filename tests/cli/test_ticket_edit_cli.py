"""`helpdesk ticket edit` and `helpdesk ticket unshare` through the real CLI, in-process."""

from __future__ import annotations

import json

import pytest
from conftest import World

from helpdesk.db import database
from helpdesk.models import Event, Share, Ticket


class Desk:
    """The world's users and tickets, each database look in its own connection: the CLI opens
    and closes its own, as it does in real use."""

    def __init__(self):
        with database.connection_context():
            self.users = World()

    def __getattr__(self, name):
        return getattr(self.users, name)

    def ticket(self, **fields) -> Ticket:
        with database.connection_context():
            return self.users.ticket(**fields)

    def fresh(self, ticket: Ticket) -> Ticket:
        with database.connection_context():
            return Ticket.get_by_id(ticket.id)

    def events(self, ticket: Ticket, kind: str | None = None) -> list[Event]:
        with database.connection_context():
            query = Event.select().where(Event.ticket == ticket)
            if kind:
                query = query.where(Event.kind == kind)
            return list(query)

    def shares(self, ticket: Ticket) -> int:
        with database.connection_context():
            return Share.select().where(Share.ticket == ticket).count()


@pytest.fixture
def world(app):
    return Desk()


def test_agent_edits_every_field(run_as, world):
    ticket = world.ticket(status="open")
    result = run_as(
        world.agent,
        "ticket",
        "edit",
        ticket.reference,
        "--title",
        "Scanner jams",
        "--description",
        "Paper jams on every scan.",
        "--type",
        "question",
        "--impact",
        "high",
        "--urgency",
        "high",
        "--priority",
        "low",
        "--private",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"Updated {ticket.reference}: title, description, type, impact, urgency, priority, private."
    )
    fresh = world.fresh(ticket)
    assert (fresh.title, fresh.type, fresh.impact, fresh.urgency, fresh.priority) == (
        "Scanner jams",
        "question",
        "high",
        "high",
        "low",
    )
    assert fresh.private is True
    [override] = world.events(ticket, "priority_override")
    assert override.to_value == "low"


def test_public_undoes_private_and_json_lists_changes(run_as, world):
    ticket = world.ticket(private=True)
    result = run_as(world.requester, "ticket", "edit", ticket.reference, "--public", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["private"], body["changed"]) == (False, ["private"])


def test_requester_reads_the_description_from_stdin(run_as, world):
    ticket = world.ticket()
    result = run_as(
        world.requester,
        "ticket",
        "edit",
        ticket.reference,
        "--description-file",
        "-",
        input="It started after the update.\n",
    )
    assert result.exit_code == 0, result.output
    assert world.fresh(ticket).description == "It started after the update."


def test_same_values_change_nothing(run_as, world):
    ticket = world.ticket(status="open")
    events = len(world.events(ticket))
    result = run_as(world.agent, "ticket", "edit", ticket.reference, "--title", ticket.title)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Nothing to change on {ticket.reference}."
    assert len(world.events(ticket)) == events


@pytest.mark.parametrize(
    ("who", "status", "args", "message"),
    [
        ("requester", "open", ("--title", "New"), "only while it is new"),
        ("requester", "new", ("--priority", "high"), "Only agents may change"),
        ("shared", "new", ("--title", "New"), "only while it is new"),
        ("colleague", "new", ("--title", "New"), "No such ticket"),
        ("other_power", "new", ("--title", "New"), "No such ticket"),
        ("agent", "closed", ("--title", "New"), "takes no more changes"),
    ],
)
def test_refusals_exit_1_with_the_reason_and_change_nothing(
    run_as, world, who, status, args, message
):
    ticket = world.ticket(status=status)
    result = run_as(getattr(world, who), "ticket", "edit", ticket.reference, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert world.fresh(ticket).title == ticket.title
    assert world.fresh(ticket).priority == ticket.priority


def test_edit_without_a_change_is_a_usage_error(run_as, world):
    ticket = world.ticket()
    result = run_as(world.agent, "ticket", "edit", ticket.reference)
    assert result.exit_code == 2
    assert "Say what to change" in result.stderr


def test_a_bad_priority_is_a_usage_error(run_as, world):
    ticket = world.ticket()
    result = run_as(world.agent, "ticket", "edit", ticket.reference, "--priority", "urgent")
    assert result.exit_code == 2
    assert "'urgent' is not one of" in result.stderr
    assert "critical" in result.stderr


def test_unshare_hides_the_ticket(run_as, world):
    ticket = world.ticket()
    assert run_as(world.shared, "ticket", "show", ticket.reference).exit_code == 0

    result = run_as(world.requester, "ticket", "unshare", ticket.reference, world.shared.email)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Stopped sharing {ticket.reference} with {world.shared.email}."
    assert world.shares(ticket) == 0
    hidden = run_as(world.shared, "ticket", "show", ticket.reference)
    assert hidden.exit_code == 1
    assert hidden.stderr.strip() == f"Error: No such ticket: {ticket.reference}."


def test_unshare_refused_changes_nothing(run_as, world):
    ticket = world.ticket()
    power = run_as(world.power, "ticket", "unshare", ticket.reference, world.shared.email)
    assert power.exit_code == 1
    assert "Only the requester or an agent" in power.stderr
    nobody = run_as(world.agent, "ticket", "unshare", ticket.reference, world.colleague.email)
    assert nobody.exit_code == 1
    assert f"is not shared with {world.colleague.email}" in nobody.stderr
    assert world.shares(ticket) == 1

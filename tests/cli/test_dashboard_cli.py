"""`helpdesk dashboard`: a table per section with bars (`#` where stdout cannot print block
characters), the API's JSON with --json, and words in the user's language."""

from __future__ import annotations

import json

import pytest
from conftest import World
from typer.testing import CliRunner

from helpdesk.cli.dashboard import bar
from helpdesk.cli.main import app as cli_app
from helpdesk.db import database
from helpdesk.services import api_tokens, tickets


@pytest.fixture
def world(app):
    """The conftest's users, without holding a connection: each CLI run opens the app anew."""
    with database.connection_context():
        made = World()
        for title in ("One", "Two", "Three", "Four"):
            tickets.submit_ticket(actor=made.requester, type="incident", title=title)
        tickets.submit_ticket(actor=made.colleague, type="incident", title="Carl's", private=True)
        tickets.assign("HD-1", "me", actor=made.agent)
        tickets.change_status("HD-1", "pending", actor=made.agent)
        tickets.edit_ticket("HD-2", {"priority": "high"}, actor=made.agent)
    return made


def ok(result):
    assert result.exit_code == 0, result.output
    return result.stdout


def rows(output: str) -> dict[str, list[list[str]]]:
    """Each section's title -> its header and rows, split on whitespace (no dashed rule)."""
    sections = {}
    for block in output.strip("\n").split("\n\n"):
        title, *lines = block.splitlines()
        sections[title] = [line.split() for line in lines if set(line) - {"-", " "}]
    return sections


def test_a_customer_sees_a_table_of_their_requests_with_bars(run_as, world):
    output = ok(run_as(world.requester, "dashboard"))
    table = rows(output)
    assert list(table) == ["My requests"]
    assert table["My requests"][1:] == [
        ["new", "3", "█" * 30],
        ["open", "0"],
        ["pending", "1", "██████████"],
        ["resolved", "0"],
    ]


def test_a_power_user_also_sees_the_organization_without_private_tickets(run_as, world):
    table = rows(ok(run_as(world.power, "dashboard")))
    assert list(table) == ["My requests", "All my organization's requests"]
    organization = {row[0]: row[1] for row in table["All my organization's requests"][1:]}
    assert organization == {"new": "3", "open": "0", "pending": "1", "resolved": "0"}


def test_an_agent_sees_status_by_priority_unassigned_and_totals(run_as, world):
    output = ok(run_as(world.agent, "dashboard"))
    table = rows(output)
    assert list(table) == ["Assigned to me", "All tickets in work"]
    header, *body = table["All tickets in work"]
    assert header == ["Status", "low", "medium", "high", "critical", "Unassigned", "Total"]
    assert body[0][:7] == ["new", "0", "3", "1", "0", "4", "4"]
    assert body[2][:7] == ["pending", "0", "1", "0", "0", "0", "1"]
    assert "Breaching" not in output  # no SLA policy: nothing to breach


def test_json_is_the_apis_answer(run_as, world, client):
    printed = json.loads(ok(run_as(world.agent, "dashboard", "--json")))
    with database.connection_context():
        token = api_tokens.issue_token(world.agent)
    answered = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"}).json
    assert printed == answered
    assert printed["agent"]["unassigned"]["new"] == 4
    assert printed["organization"] is None


def test_bars_fall_back_to_hashes_where_stdout_cannot_print_blocks(world, env):
    with database.connection_context():
        token = api_tokens.issue_token(world.requester)
    result = CliRunner(charset="ascii").invoke(
        cli_app, ["dashboard"], env={"HELPDESK_TOKEN": token}
    )
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert table["My requests"][1] == ["new", "3", "#" * 30]
    assert table["My requests"][3] == ["pending", "1", "#" * 10]


def test_a_bar_is_drawn_in_eighths_and_never_hides_a_count():
    assert bar(0, 0, True) == "" and bar(0, 5, True) == ""
    assert bar(1, 240, True) == "▏"  # 1/240 of 30 cells: one eighth
    assert bar(1, 1000, False) == "#"  # too small to draw: still shown
    assert bar(3, 16, True) == "█" * 5 + "▋"  # 5.625 cells


def test_the_words_are_in_the_users_language(run_as, world):
    assert run_as(world.agent, "account", "update", "--language", "fr").exit_code == 0
    table = rows(ok(run_as(world.agent, "dashboard")))
    assert "Assignés à moi" in table
    header = next(iter(table.values()))[0]
    assert header[0] == "Statut"
    agent_table = list(table.values())[1]
    assert agent_table[0][1:5] == ["basse", "moyenne", "haute", "critique"]
    assert agent_table[1][0] == "nouveau"

"""`helpdesk ticket edit REF --editor`: shows the ticket in $EDITOR, then changes it only if
nobody changed it meanwhile (If-Match with the ETag of what was shown)."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import HELPDESK_SCRIPT, World

from helpdesk.db import database
from helpdesk.models import Event, Ticket
from helpdesk.services import api_tokens

# $EDITOR: replaces the title in the file it is given; with MEANWHILE set, first runs that
# `helpdesk` command (another user's change while this one edits).
EDITOR = """
import os, pathlib, shlex, subprocess, sys
if os.environ.get("MEANWHILE"):
    env = {**os.environ, "HELPDESK_TOKEN": os.environ["MEANWHILE_TOKEN"]}
    subprocess.run(shlex.split(os.environ["MEANWHILE"]), env=env, check=True, timeout=60)
path = pathlib.Path(sys.argv[1])
path.write_text(path.read_text().replace("Printer prints blank pages", "Printer is out of toner"))
"""


@pytest.fixture
def desk(app, tmp_path):
    with database.connection_context():
        world = World()
        ticket = world.ticket(status="open")
        tokens = {name: api_tokens.issue_token(getattr(world, name)) for name in ("agent", "admin")}
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    return ticket, tokens, f"{sys.executable} {editor}"


def _ticket(ticket: Ticket) -> Ticket:
    with database.connection_context():
        return Ticket.get_by_id(ticket.id)


def test_the_editor_changes_what_it_shows(cli, desk):
    ticket, tokens, editor = desk
    env = {"HELPDESK_TOKEN": tokens["agent"], "EDITOR": editor}

    result = cli("ticket", "edit", ticket.reference, "--editor", "--json", env=env)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["changed"] == ["title"]
    assert _ticket(ticket).title == "Printer is out of toner"


def test_a_change_made_while_editing_refuses_the_edit(cli, desk):
    ticket, tokens, editor = desk
    meanwhile = f"{HELPDESK_SCRIPT} ticket edit {ticket.reference} --priority critical"
    env = {
        "HELPDESK_TOKEN": tokens["agent"],
        "EDITOR": editor,
        "MEANWHILE": meanwhile,
        "MEANWHILE_TOKEN": tokens["admin"],
    }
    with database.connection_context():
        events = Event.select().count()

    result = cli("ticket", "edit", ticket.reference, "--editor", env=env)

    assert result.exit_code == 1, result.output
    assert f"Ticket {ticket.reference} was changed since you read it" in result.stderr
    fresh = _ticket(ticket)
    assert (fresh.title, fresh.priority) == ("Printer prints blank pages", "critical")
    with database.connection_context():
        assert Event.select().count() == events + 1  # the admin's change only


def test_editor_and_title_together_are_a_usage_error(cli, desk):
    ticket, tokens, editor = desk
    env = {"HELPDESK_TOKEN": tokens["agent"], "EDITOR": editor}

    result = cli("ticket", "edit", ticket.reference, "--editor", "--title", "X", env=env)

    assert result.exit_code == 2

"""scripts/seed_data.py: deterministic data the CLI lists and finds, on the test's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import World

from helpdesk.db import database

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "seed_data.py"


@pytest.fixture
def world(app):
    """The users, with no connection held open: the script and the CLI open their own."""
    with database.connection_context():
        return World()


def seed(*args: str) -> subprocess.CompletedProcess:
    """The script as a user runs it, on the database the test's settings name."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def listed(run_as, agent, *args: str) -> list[dict]:
    """Every ticket of `helpdesk ticket ARGS --limit 500 --json` (JSON Lines)."""
    result = run_as(agent, "ticket", *args, "--limit", "500", "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_seeded_tickets_are_listed_and_found_and_the_same_every_run(world, run_as):
    first = seed("--tickets", "120", "--orgs", "3", "--users", "40", "--seed", "7")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Seeded 120 tickets (")
    assert first.stderr == ""  # no progress bar off a terminal

    items = listed(run_as, world.agent, "list", "--all-statuses")
    assert len(items) == 120
    assert {t["status"] for t in items} >= {"new", "open", "closed"}
    assert {t["organization"] for t in items} == {f"Seeded Company {k:04d}" for k in range(3)}
    assert any(t["assignee"] for t in items) and any(t["service"] for t in items)
    not_closed = listed(run_as, world.agent, "list")
    assert 0 < len(not_closed) < 120  # the default list hides closed tickets

    # Text in four languages, in the search index; accents folded: "etage" finds "étage".
    for word in ("thanks", "merci", "grazie", "dekujeme", "etage"):
        assert listed(run_as, world.agent, "search", word, "--all-statuses"), word

    # The same seed writes the same tickets again (the organizations and users are reused).
    again = seed("--tickets", "120", "--orgs", "3", "--users", "40", "--seed", "7")
    assert again.returncode == 0, again.stderr
    both = listed(
        run_as,
        world.agent,
        "list",
        "--all-statuses",
        "--sort",
        "reference",
        "--dir",
        "asc",
        "--limit",
        "500",
    )
    assert len(both) == 240
    fields = ("title", "status", "priority", "created_at")
    assert [[t[f] for f in fields] for t in both[:120]] == [
        [t[f] for f in fields] for t in both[120:]
    ]


def test_bad_arguments_are_a_usage_error():
    result = seed("--tickets", "10", "--orgs", "0")
    assert result.returncode == 2
    assert "--orgs >= 1" in result.stderr

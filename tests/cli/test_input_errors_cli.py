"""The CLI meets refused input or a busy database with one `Error:` line, never a traceback."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import PASSWORD


@pytest.mark.parametrize(
    "args",
    [
        ("ticket", "search", "--to", "9999-12-31"),
        ("ticket", "search", "--from", "0001-01-01T00:00:00+14:00"),
        ("report", "satisfaction", "--to", "9999-12-31"),
    ],
    ids=["ticket-to", "ticket-from", "report-to"],
)
def test_date_out_of_range_is_one_error_line(installed, args):
    result = installed(*args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "date out of range" in line


@pytest.mark.sqlite_only
def test_busy_database_is_a_clear_error_and_the_retry_works(env, cli, monkeypatch):
    path = env / "data" / "helpdesk.db"
    # Wait 50 ms for the lock instead of 30 s, so that holding it shows at once.
    monkeypatch.setenv("HELPDESK_DATABASE", f"sqlite:///{path}?timeout=0.05")
    init = cli("init", "--admin-email", "admin@example.test", "--password-stdin", input=PASSWORD)
    assert init.exit_code == 0, init.output
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        result = cli("org", "create", "Initech")
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: The server is busy"), line
    retry = cli("org", "create", "Initech")
    assert retry.exit_code == 0, retry.output

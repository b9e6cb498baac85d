"""The CLI meets refused input or a busy database with one `Error:` line, never a traceback."""

from __future__ import annotations

import pytest
from conftest import ON_POSTGRES, PASSWORD, SERVER_DATABASE, hold_write_lock


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


def test_busy_database_is_a_clear_error_and_the_retry_works(env, cli, monkeypatch):
    # Wait 50 ms for a lock instead of 30 s, so that holding it shows at once.
    if ON_POSTGRES:
        url = f"{SERVER_DATABASE}?options=-c%20lock_timeout%3D50ms"
    else:
        url = f"sqlite:///{env / 'data' / 'helpdesk.db'}?timeout=0.05"
    monkeypatch.setenv("HELPDESK_DATABASE", url)
    init = cli("init", "--admin-email", "admin@example.test", "--password-stdin", input=PASSWORD)
    assert init.exit_code == 0, init.output
    with hold_write_lock():
        result = cli("org", "create", "Initech")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: The server is busy"), line
    retry = cli("org", "create", "Initech")
    assert retry.exit_code == 0, retry.output

"""`helpdesk --help` imports only what it needs: no web framework, no database layer, no HTTP
client, no templates (issue 10: within 0.3 s of bare Python). Each command imports those when
it runs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import HELPDESK_SCRIPT

# What a command imports when it talks to the API or the database, never for its help.
HEAVY = {"flask", "werkzeug", "peewee", "playhouse", "httpx", "jinja2", "babel", "psycopg2"}


def imported_by(*args: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """The output of `helpdesk ARGS` in a new process, and the top-level packages it imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", HELPDESK_SCRIPT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return result.stdout, modules


@pytest.mark.parametrize(
    "args", [("--help",), ("ticket", "--help"), ("ticket", "list", "--help")], ids=" ".join
)
def test_help_loads_no_framework_database_or_http_client(env, args):
    output, modules = imported_by(*args)
    assert "Usage: helpdesk" in output
    assert modules & HEAVY == set()


def test_help_in_the_users_language_loads_the_catalog_only(installed):
    result = installed("account", "update", "--language", "fr")
    assert result.exit_code == 0, result.output
    output, modules = imported_by("ticket", "--help")
    assert output.startswith("Utilisation : helpdesk ticket")
    assert "\nCommandes:\n" in output
    assert "babel" in modules  # the French catalog is read
    assert modules & (HEAVY - {"babel"}) == set()

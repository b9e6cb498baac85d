"""`helpdesk db ...`: the local operator's schema commands (they talk to the database itself)."""

from __future__ import annotations

import typer

from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import tn
from helpdesk.cli.output import JsonOption, emit

app = typer.Typer(help="The database's schema: its version and upgrades.", no_args_is_help=True)


def _settings_and_version():
    from helpdesk.config import load_settings, use_settings
    from helpdesk.db import database, init_database
    from helpdesk.migrations import LATEST, schema_version

    settings = use_settings(load_settings())
    init_database(settings.database_url)
    with database.connection_context():
        return settings, schema_version(), LATEST


@app.command("status")
@handle_errors
def status(json_output: JsonOption = False) -> None:
    """Show the schema version of the database and the one this helpdesk expects."""
    settings, version, latest = _settings_and_version()
    state = (
        "missing"
        if version is None
        else "current"
        if version == latest
        else ("older" if version < latest else "newer")
    )
    result = {
        "database": settings.database_url,
        "version": version,
        "expected": latest,
        "state": state,
    }
    advice = {
        "missing": "run 'helpdesk init'",
        "older": "run 'helpdesk db upgrade'",
        "newer": "upgrade helpdesk",
        "current": "up to date",
    }
    emit(
        result,
        json_output,
        lambda r: typer.echo(
            f"{r['database']}: schema version {r['version'] or 'none'}, "
            f"this helpdesk expects {r['expected']} ({advice[r['state']]})."
        ),
    )


@app.command("upgrade")
@handle_errors
def upgrade(json_output: JsonOption = False) -> None:
    """Create the schema or upgrade it to this helpdesk's version (safe to run again)."""
    from helpdesk.migrations import create_schema

    settings, before, _ = _settings_and_version()
    after = create_schema()
    result = {"database": settings.database_url, "from": before, "to": after}
    emit(
        result,
        json_output,
        lambda r: typer.echo(
            f"{r['database']}: already at schema version {r['to']}."
            if r["from"] == r["to"]
            else f"{r['database']}: schema upgraded from version {r['from'] or 'none'} "
            f"to {r['to']}."
        ),
    )


@app.command("reindex")
@handle_errors
def reindex(json_output: JsonOption = False) -> None:
    """Rebuild the full-text search index from the tickets, in batches (safe to run again)."""
    from helpdesk import search
    from helpdesk.db import database
    from helpdesk.migrations import check_schema

    settings, _, _ = _settings_and_version()
    with database.connection_context():
        check_schema()
        count = search.reindex()
    emit(
        {"database": settings.database_url, "tickets": count},
        json_output,
        lambda r: typer.echo(
            tn(
                "{database}: search index rebuilt for {count} ticket.",
                "{database}: search index rebuilt for {count} tickets.",
                r["tickets"],
                database=r["database"],
            )
        ),
    )

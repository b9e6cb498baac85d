"""`helpdesk db ...`: the local operator's schema commands (they talk to the database itself)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_, t, tn
from helpdesk.cli.output import JsonOption, emit

app = typer.Typer(
    help="The database: its schema version and upgrades, backups and restores.",
    no_args_is_help=True,
)


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
    from helpdesk.migrations import create_schema_from

    settings, _, _ = _settings_and_version()
    before, after = create_schema_from()  # what was found under the upgrade's lock
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


def _local_settings():
    """The settings of the local instance; refused when HELPDESK_URL names a server: a backup
    reads the database and the attachment files themselves, which no API serves."""
    from helpdesk.cli import config
    from helpdesk.config import load_settings, use_settings
    from helpdesk.errors import DatabaseOnly

    if config.server_url():
        raise DatabaseOnly(
            N_(
                "Backups are made and restored on the machine that holds the database and the "
                "attachments, not through a server: unset HELPDESK_URL (it is {url}) and set "
                "HELPDESK_DATA_DIR or HELPDESK_DATABASE as the server has them."
            ),
            url=config.server_url(),
        )
    return use_settings(load_settings())


PROGRESS_STEPS = {
    "database": N_("Copying the database"),
    "attachments": N_("Copying attachment files"),
    "verify": N_("Checking the backup's files"),
    "restore": N_("Restoring the database"),
}


def _progress():
    """Progress lines on stderr when it is a terminal; nothing in a pipe or cron's mail."""
    if not sys.stderr.isatty():
        return lambda step, done, total: None

    def show(step: str, done: int, total: int) -> None:
        count = f"{done}/{total}" if total else str(done)
        line = f"\r{t(PROGRESS_STEPS[step])}: {count}   "
        typer.echo(line, err=True, nl=done == total and total > 0)

    return show


def _counted(counts: dict) -> str:
    return ", ".join(f"{table}s: {counts.get(table, 0)}" for table in ("ticket", "comment", "user"))


@app.command("backup")
@handle_errors
def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write (replaced if it exists).")],
    json_output: JsonOption = False,
) -> None:
    """Back up the database and its attachment files into one file, while the server runs."""
    from helpdesk.backup import create_backup, engine_of

    settings = _local_settings()
    manifest = create_backup(path, settings, _progress())
    result = {
        "path": str(path),
        "size": path.stat().st_size,
        "engine": engine_of(settings.database_url),
        "schema_version": manifest["schema_version"],
        "helpdesk_version": manifest["helpdesk_version"],
        "created_at": manifest["created_at"],
        "counts": manifest["counts"],
        "attachments": manifest["attachments"],
        "attachments_stored_in": manifest.get("attachments_stored_in"),
    }
    emit(result, json_output, _backed_up)


def _backed_up(r: dict) -> None:
    typer.echo(
        f"Backed up {r['engine']} (schema version {r['schema_version']}) to {r['path']}: "
        f"{_counted(r['counts'])}, attachment files: {r['attachments']}; {r['size']} bytes."
    )
    if r["attachments_stored_in"]:
        typer.echo(
            t(
                N_(
                    "The attachment files are not in this backup: they stay in {location}. "
                    "Back up that bucket separately."
                ),
                location=r["attachments_stored_in"],
            )
        )


@app.command("restore")
@handle_errors
def restore(
    path: Annotated[Path, typer.Argument(help="A file written by 'helpdesk db backup'.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace the tickets and users of a help desk that is not empty."
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Restore a backup into an empty help desk (stop the server first), checking it whole."""
    from helpdesk.backup import restore_backup
    from helpdesk.migrations import LATEST

    settings = _local_settings()
    outcome = restore_backup(path, settings, force=force, progress=_progress())
    manifest = outcome["manifest"]
    result = {
        "path": str(path),
        "database": settings.database_url,
        "engine": manifest["engine"],
        "created_at": manifest["created_at"],
        "schema_version": manifest["schema_version"],
        "upgraded_to": LATEST,
        "counts": manifest["counts"],
        "attachments": manifest["attachments"],
        "replaced": outcome["replaced"],
        "repaired": outcome["repaired"],
    }
    emit(
        result,
        json_output,
        lambda r: typer.echo(
            f"Restored {r['path']} (made {r['created_at']}) into {r['database']}: "
            f"{_counted(r['counts'])}, attachment files: {r['attachments']}; "
            f"schema version {r['schema_version']}, now {r['upgraded_to']}."
        ),
    )

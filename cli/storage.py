"""`helpdesk storage ...`: the local operator's attachment-store commands (they talk to the
database and the store themselves, as `db backup` does)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Annotated

import typer

from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_, t, tn
from helpdesk.cli.output import JsonOption, emit, table

app = typer.Typer(
    help="The attachment store: check it, copy its files to another store, sweep it.",
    no_args_is_help=True,
)

MISSING_SHOWN = 20  # in the table; --json lists every one


@contextmanager
def _configured():
    """The settings and the configured store, with the database open; refused when
    HELPDESK_URL names a server: no API serves the store itself."""
    from helpdesk.cli import config
    from helpdesk.config import load_settings, use_settings
    from helpdesk.db import database
    from helpdesk.errors import DatabaseOnly
    from helpdesk.migrations import open_database
    from helpdesk.storage import configure_storage

    if config.server_url():
        raise DatabaseOnly(
            N_(
                "The attachment store is checked and moved on a machine that reaches the "
                "database and the store, not through a server: unset HELPDESK_URL (it is {url}) "
                "and set HELPDESK_DATABASE, HELPDESK_DATA_DIR and HELPDESK_STORAGE as the "
                "servers have them."
            ),
            url=config.server_url(),
        )
    settings = use_settings(load_settings())
    open_database(settings.database_url)
    store = configure_storage(
        settings.attachment_dir, settings.max_attachment_size, settings.storage
    )
    with database.connection_context():
        yield settings, store


@app.command("check")
@handle_errors
def check(json_output: JsonOption = False) -> None:
    """Check that the store can be written and holds every file the attachments name.

    Exit 1 when the store cannot be reached or written, or files are missing or damaged."""
    from helpdesk.storage_upkeep import check_store, incomplete_error

    with _configured() as (_, store):
        report = check_store(store)
    emit(report, json_output, _checked)
    if report["missing"] or report["damaged"]:
        raise incomplete_error(report)


def _checked(r: dict) -> None:
    typer.echo(t(N_("Attachment store {location}: reachable and writable."), **r))
    counts = [
        (N_("attachment rows"), r["rows"]),
        (N_("files they name"), r["files"]),
        (N_("present"), r["present"]),
        (N_("missing"), len(r["missing"])),
        (N_("damaged (other size)"), len(r["damaged"])),
        (N_("unreferenced files"), r["unreferenced"]),
    ]
    table([(t(label), count) for label, count in counts], ["", N_("Files")])
    problems = [(sha, t(N_("missing"))) for sha in r["missing"]]
    problems += [(sha, t(N_("damaged (other size)"))) for sha in r["damaged"]]
    if problems:
        typer.echo("")
        table(problems[:MISSING_SHOWN], [N_("SHA-256"), N_("State")])
        if len(problems) > MISSING_SHOWN:
            typer.echo(
                t(
                    N_("... and {count} more: --json lists them all."),
                    count=len(problems) - MISSING_SHOWN,
                )
            )


@contextmanager
def _progress(shown: bool):
    """A progress bar on stderr when it is a terminal; nothing in a pipe or with --json."""
    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            label = t(N_("Copying attachment files"))
            bar = typer.progressbar(length=total, label=label, file=sys.stderr).__enter__()
        bar.update(done - bar.pos)

    try:
        yield update if shown else (lambda done, total: None)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@app.command("migrate")
@handle_errors
def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to", metavar="s3://BUCKET[/PREFIX]|DIR", help="The store to copy the files to."
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="s3://BUCKET[/PREFIX]|DIR",
            help="The store to copy from (default: the configured one; after switching, the "
            "old one, to copy what was uploaded meanwhile).",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="Copy at most this many files now (run again for the rest)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Copy every attachment file to another store, skipping those already there.

    Safe to interrupt and run again; nothing is deleted from the source. Then set
    HELPDESK_STORAGE to the target and restart the servers."""
    from helpdesk.errors import Gone
    from helpdesk.storage_upkeep import migrate_store, same_store

    with _configured() as (settings, configured):
        origin = _store_option(source, "--from", settings) if source else configured
        target = _store_option(to, "--to", settings)
        if same_store(target, origin):
            raise typer.BadParameter(
                t(N_("the files are already in {location}"), location=target.location),
                param_hint="--to",
            )
        with _progress(sys.stderr.isatty() and not json_output) as progress:
            result = migrate_store(origin, target, limit=limit, progress=progress)
    result["next_step"] = _next_step(result, settings)
    emit(result, json_output, _migrated)
    if result["not_in_source"]:
        raise Gone(
            N_(
                "Attachment files named in the database are missing from {location} or "
                "damaged there ({count}), so they were not copied: restore them from a backup."
            ),
            count=len(result["not_in_source"]),
            location=result["from"],
        )
    if not result["complete"] and limit is None:  # files uploaded while it copied
        raise Gone(
            N_(
                "Files the database names are not in {location} yet ({count}), uploaded while "
                "they were copied: run the command again."
            ),
            count=result["left"],
            location=result["to"],
        )


def _store_option(location: str, option: str, settings):
    from helpdesk.errors import ValidationFailed
    from helpdesk.storage_upkeep import store_at

    try:
        return store_at(location, settings.attachment_dir)
    except (ValidationFailed, ValueError) as exc:  # a usage error: exit 2
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _next_step(result: dict, settings) -> str:
    if not result["complete"]:
        return t(N_("Run the command again to copy the files left."))
    if result["to"].startswith("s3://"):
        return t(
            N_("Set HELPDESK_STORAGE={location} and restart the servers."),
            location=result["to"],
        )
    if result["to"] == str(settings.attachment_dir.resolve()):
        return t(N_("Unset HELPDESK_STORAGE and restart the servers."))
    return t(
        N_(
            "Without HELPDESK_STORAGE the servers read {directory}: move the files there, "
            "unset HELPDESK_STORAGE and restart the servers."
        ),
        directory=str(settings.attachment_dir),
    )


def _migrated(r: dict) -> None:
    typer.echo(
        tn(
            "Copied {count} file ({size} bytes) from {source} to {target}.",
            "Copied {count} files ({size} bytes) from {source} to {target}.",
            r["copied"],
            size=r["copied_bytes"],
            source=r["from"],
            target=r["to"],
        )
    )
    typer.echo(
        tn(
            "{count} file was there already; files left to copy: {left}.",
            "{count} files were there already; files left to copy: {left}.",
            r["already_there"],
            left=r["left"],
        )
    )
    typer.echo(r["next_step"])


@app.command("sweep")
@handle_errors
def sweep(
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than",
            metavar="HOURS",
            min=0,
            help="Only files written this long ago (default 6: longer than any request takes "
            "to commit; less may remove a file a request is about to name).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Remove stored files that no attachment names (left by failed requests)."""
    from helpdesk.storage_upkeep import SWEEP_AFTER_SECONDS, sweep_unreferenced

    seconds = SWEEP_AFTER_SECONDS if older_than is None else older_than * 3600
    with _configured() as (_, store):
        swept = sweep_unreferenced(store, seconds, dry_run=dry_run)
    result = {
        "location": store.location,
        "older_than_hours": seconds / 3600,
        "dry_run": dry_run,
        "removed": swept,
    }
    emit(result, json_output, _swept)


def _swept(r: dict) -> None:
    hours = f"{r['older_than_hours']:g}"
    if r["dry_run"]:
        line = tn(
            "Would remove {count} unreferenced file older than {hours} hours from {location}.",
            "Would remove {count} unreferenced files older than {hours} hours from {location}.",
            len(r["removed"]),
            hours=hours,
            location=r["location"],
        )
    else:
        line = tn(
            "Removed {count} unreferenced file older than {hours} hours from {location}.",
            "Removed {count} unreferenced files older than {hours} hours from {location}.",
            len(r["removed"]),
            hours=hours,
            location=r["location"],
        )
    typer.echo(line)
    for sha in r["removed"]:
        typer.echo(sha)

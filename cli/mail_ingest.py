"""`helpdesk mail ingest`: turn emails into tickets and comments (a local operator command).

Like `init`, it works on the local database directly: an MTA pipe or a cron job runs it on the
machine that holds the help desk's data.
"""

from __future__ import annotations

import mailbox
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from helpdesk.cli.compat import UsageError
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_
from helpdesk.cli.output import JsonOption, emit, table
from helpdesk.errors import HelpdeskError


def _render(report: dict) -> None:
    rows = [
        (r["message_id"], r["outcome"], r["reference"] or "-", r["reason"] or "")
        for r in report["results"]
    ]
    if rows:
        table(rows, [N_("Message-ID"), N_("Outcome"), N_("Reference"), N_("Reason")])
    else:
        typer.echo("No messages.")
    typer.echo(", ".join(f"{outcome} {n}" for outcome, n in report["counts"].items()))


@handle_errors
def ingest_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Messages to read (.eml files; '-' for stdin). Default: stdin."),
    ] = None,
    maildir: Annotated[
        Path | None,
        typer.Option("--maildir", help="Read every message of this Maildir (new and cur)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Turn emails into tickets and comments: from stdin, .eml files or a Maildir."""
    from helpdesk.config import load_settings, use_settings
    from helpdesk.db import database
    from helpdesk.mail.ingest import OUTCOMES, ingest_maildir, ingest_message, read_message
    from helpdesk.migrations import open_database
    from helpdesk.storage import configure_storage

    sources = list(files or [])
    if not sources and maildir is None:
        if sys.stdin.isatty():
            raise UsageError("Pipe a message on stdin, or name .eml files or a --maildir.")
        sources = [Path("-")]
    settings = use_settings(load_settings())
    limit = settings.mail.max_message_size
    open_database(settings.database_url)
    configure_storage(settings.attachment_dir, settings.max_attachment_size, settings.storage)

    results = []
    unreadable: list[str] = []
    with database.connection_context():
        for source in sources:
            try:
                if str(source) == "-":
                    raw = read_message(sys.stdin.buffer, limit, drain=True)
                else:
                    with source.open("rb") as stream:
                        raw = read_message(stream, limit)
            except OSError as exc:
                unreadable.append(f"{source} ({exc.strerror or exc})")
                continue
            results.append(ingest_message(raw, settings))
        if maildir is not None:
            try:
                results.extend(ingest_maildir(maildir, settings))
            except (OSError, mailbox.Error) as exc:  # missing, or not a Maildir
                unreadable.append(f"{maildir} ({getattr(exc, 'strerror', None) or exc})")

    counts = Counter(r.outcome for r in results)
    report = {
        "results": [r.to_dict() for r in results],
        "counts": {outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
    }
    emit(report, json_output, _render)
    if unreadable:
        raise HelpdeskError(N_("Cannot read {sources}."), sources=unreadable)

"""Printing results: stable JSON for scripts, tables and sentences for people."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any

import typer
from tabulate import tabulate

from helpdesk.cli import config
from helpdesk.formats import format_datetime

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON (stable keys) to stdout.")
]


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        render(data)


def when(value: str | None) -> str:
    """An API timestamp in the user's date format (UTC), or '-'."""
    if not value:
        return "-"
    return format_datetime(datetime.fromisoformat(value), config.profile().get("date_format"))


def person(value: dict | None) -> str:
    return "-" if not value else f"{value['name']} <{value['email']}>"


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    """A plain-text table; the headers are translated into the user's language."""
    from helpdesk.cli.i18n import t

    typer.echo(tabulate(list(rows), headers=[t(h) if h else h for h in headers], tablefmt="simple"))


def page_footer(page: dict, noun: str) -> None:
    """How much of a list was shown, or that it is empty; the caller marks `noun` with N_."""
    from helpdesk.cli.i18n import t

    noun = t(noun)
    shown = len(page["items"])
    if page["total"] == 0:
        typer.echo(t("No {noun}.", noun=noun))
    elif shown < page["total"]:
        typer.echo(
            t(
                "\nShowing {shown} of {total} {noun} (page {page}); use --page {next} for more.",
                shown=shown,
                total=page["total"],
                noun=noun,
                page=page["page"],
                next=page["page"] + 1,
            )
        )

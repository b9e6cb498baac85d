"""`helpdesk dashboard`: the caller's ticket counts by status, a table and a bar per row."""

from __future__ import annotations

import sys

import typer

from helpdesk.cli.client import ApiClient
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_, t, w
from helpdesk.cli.output import JsonOption, emit, table

BAR_WIDTH = 30
BLOCKS = " ▏▎▍▌▋▊▉█"  # eighths of a character cell, for bars finer than a whole cell


def _blocks_printable() -> bool:
    """Can stdout print the block characters (a terminal in a legacy code page cannot)?"""
    try:
        BLOCKS.encode(getattr(sys.stdout, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def bar(count: int, largest: int, blocks: bool) -> str:
    """`count` as a bar of at most BAR_WIDTH cells against the section's `largest`."""
    if not count:
        return ""
    eighths = max(1, round(8 * BAR_WIDTH * count / largest))  # any count above zero shows
    if not blocks:
        return "#" * ((eighths + 7) // 8)
    whole, rest = divmod(eighths, 8)
    return BLOCKS[-1] * whole + (BLOCKS[rest] if rest else "")


def _section(title: str, rows: list[tuple], headers: list[str], blocks: bool) -> None:
    """A titled table whose last column is each row's total drawn as a bar."""
    largest = max((row[-1] for row in rows), default=0)
    typer.echo(f"\n{t(title)}")
    table([(*row, bar(row[-1], largest, blocks)) for row in rows], [*headers, ""])


def render(data: dict) -> None:
    blocks = _blocks_printable()
    statuses = data["statuses"]
    agent = data["agent"]
    mine = N_("Assigned to me") if agent is not None else N_("My requests")
    sections = [(mine, data["mine"])]
    if data["organization"] is not None:
        sections.append((N_("All my organization's requests"), data["organization"]))
    for title, counts in sections:
        rows = [(w("status", s), counts[s]) for s in statuses]
        _section(title, rows, [N_("Status"), N_("Tickets")], blocks)
    if agent is None:
        return
    priorities = data["priorities"]
    rows = []
    for status in statuses:
        cells = agent["by_status_priority"][status]
        counts = [cells[p] for p in priorities]
        rows.append((w("status", status), *counts, agent["unassigned"][status], sum(counts)))
    headers = [N_("Status"), *(w("priority", p) for p in priorities), N_("Unassigned"), N_("Total")]
    _section(N_("All tickets in work"), rows, headers, blocks)
    if agent["breaching"] is not None:
        typer.echo("\n" + t("Breaching an SLA target: {count}", count=agent["breaching"]))


@handle_errors
def dashboard(json_output: JsonOption = False) -> None:
    """Your tickets in work counted by status (power users: your organization's too; agents: by
    priority, unassigned and breaching an SLA target)."""
    emit(ApiClient.from_environment().get("/dashboard"), json_output, render)

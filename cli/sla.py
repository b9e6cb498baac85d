"""`helpdesk sla ...`: SLA policies, business-hours calendars, and the breach check."""

from __future__ import annotations

from typing import Annotated

import typer

from helpdesk.cli.client import ApiClient
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_, t, w
from helpdesk.cli.output import JsonOption, emit, table

app = typer.Typer(
    help="SLA policies (response and resolution targets), calendars, and the breach check.",
    no_args_is_help=True,
)
policy_app = typer.Typer(help="SLA policies and their targets.", no_args_is_help=True)
calendar_app = typer.Typer(help="Business-hours calendars and holidays.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(calendar_app, name="calendar")


def minutes(value: int) -> str:
    """90 -> 1h30m, 2880 -> 2d: how targets are written."""
    days, rest = divmod(value, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = (
        (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{mins}m" if mins else "")
    )
    return text or "0m"


def _calendar_line(c: dict | None) -> str:
    if c is None:
        return "around the clock"
    days = ",".join(c["days"])
    return f"{c['name']} ({days} {c['hours']} {c['timezone']})"


def _show_policy(p: dict) -> None:
    typer.echo(f"Policy {p['name']}: {_calendar_line(p['calendar'])}")
    table(
        [
            (
                w("ticket type", target["type"]) or t("any"),
                w("priority", target["priority"]),
                minutes(target["response_minutes"]),
                minutes(target["resolution_minutes"]),
            )
            for target in p["targets"]
        ],
        [N_("Type"), N_("Priority"), N_("Response"), N_("Resolution")],
    )


@policy_app.command("add")
@handle_errors
def policy_add(
    name: Annotated[str, typer.Argument(help="The policy's name.")],
    target: Annotated[
        list[str],
        typer.Option(
            "--target",
            help="PRIORITY:RESPONSE:RESOLUTION, e.g. high:30m:4h; TYPE/PRIORITY:... for one "
            "request type (incident/high:15m:2h). Repeatable.",
        ),
    ],
    calendar: Annotated[
        str | None,
        typer.Option("--calendar", help="Count business hours of this calendar (default: 24x7)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create an SLA policy with response and resolution targets per priority (admins)."""
    body = {"name": name, "targets": target, "calendar": calendar}
    policy = ApiClient.from_environment().post("/sla/policies", body)
    emit(
        policy, json_output, lambda p: (typer.echo(f"Created policy {p['name']}."), _show_policy(p))
    )


@policy_app.command("list")
@handle_errors
def policy_list(json_output: JsonOption = False) -> None:
    """List SLA policies and their targets (agents)."""
    result = ApiClient.from_environment().get("/sla/policies")

    def render(r):
        if not r["items"]:
            typer.echo("No SLA policies.")
        for i, p in enumerate(r["items"]):
            if i:
                typer.echo("")
            _show_policy(p)

    emit(result, json_output, render)


@policy_app.command("show")
@handle_errors
def policy_show(
    name: Annotated[str, typer.Argument(help="The policy's name.")],
    json_output: JsonOption = False,
) -> None:
    """Show one SLA policy, its calendar and its targets (agents)."""
    policy = ApiClient.from_environment().get(f"/sla/policies/{name}")
    emit(policy, json_output, _show_policy)


@calendar_app.command("add")
@handle_errors
def calendar_add(
    name: Annotated[str, typer.Argument(help="The calendar's name.")],
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA time zone, e.g. Europe/Prague.")
    ] = "UTC",
    days: Annotated[
        str, typer.Option("--days", help="Working days: mon-fri, mon,wed,fri, mon-sun.")
    ] = "mon-fri",
    hours: Annotated[
        str, typer.Option("--hours", help="Working hours, local time: 09:00-17:00.")
    ] = "09:00-17:00",
    json_output: JsonOption = False,
) -> None:
    """Create a business-hours calendar (admins)."""
    body = {"name": name, "timezone": timezone, "days": days, "hours": hours}
    calendar = ApiClient.from_environment().post("/sla/calendars", body)
    emit(calendar, json_output, lambda c: typer.echo(f"Created calendar {_calendar_line(c)}."))


@calendar_app.command("holiday")
@handle_errors
def calendar_holiday(
    calendar: Annotated[str, typer.Argument(help="The calendar's name.")],
    day: Annotated[str, typer.Argument(help="The date, YYYY-MM-DD, in the calendar's zone.")],
    name: Annotated[str | None, typer.Option("--name", help="What the holiday is.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Add a holiday to a calendar: its SLA clocks do not run that day (admins)."""
    holiday = ApiClient.from_environment().post(
        f"/sla/calendars/{calendar}/holidays", {"date": day, "name": name}
    )
    emit(
        holiday,
        json_output,
        lambda h: typer.echo(f"{h['date']} is a holiday of {calendar}."),
    )


@calendar_app.command("list")
@handle_errors
def calendar_list(json_output: JsonOption = False) -> None:
    """List calendars with their holidays (agents)."""
    result = ApiClient.from_environment().get("/sla/calendars")

    def render(r):
        if not r["items"]:
            typer.echo("No SLA calendars.")
        for c in r["items"]:
            holidays = ", ".join(h["date"] for h in c["holidays"]) or "none"
            typer.echo(f"{_calendar_line(c)}; holidays: {holidays}")

    emit(result, json_output, render)


def span(seconds: int) -> str:
    """3h 5m, 2d 4h, 45m: a time left or overdue, to the minute."""
    mins = max(seconds, 0) // 60
    days, rest = divmod(mins, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def clock_line(name: str, clock: dict | None) -> str | None:
    """ "Response due: 2026-11-27 10:00 (2h 5m left)": one SLA clock of a ticket, or None."""
    from helpdesk.cli.output import when

    if clock is None:
        return None
    if clock.get("paused"):
        state = "paused"
    elif clock["met"] is True:
        state = "met"
    elif clock["breached"]:
        state = f"overdue by {span(clock['overdue_seconds'])}"
        if clock["met"] is False and clock.get("resolved_at", clock.get("responded_at")):
            state = f"missed by {span(clock['overdue_seconds'])}"
    else:
        state = f"{span(clock['left_seconds'])} left"
    return f"  {name} due: {when(clock['due_at'])} ({state})"


def print_ticket_sla(sla: dict | None) -> None:
    """The SLA lines of `ticket show` (nothing when no policy applies)."""
    if not sla:
        return
    for name, key in (("Response", "response"), ("Resolution", "resolution")):
        line = clock_line(name, sla.get(key))
        if line:
            typer.echo(line)


Breaching = Annotated[
    bool,
    typer.Option(
        "--breaching", help="Only tickets whose SLA target is missed (or due within --within)."
    ),
]
Within = Annotated[
    str | None,
    typer.Option("--within", help="With --breaching: also targets due within this time (2h)."),
]


def _urgent_clock(sla: dict | None) -> tuple[str, dict] | None:
    """The running clock of a listed ticket that is due first (paused or stopped ones aside)."""
    running = []
    for name in ("response", "resolution"):
        clock = (sla or {}).get(name)
        if (
            not clock
            or clock.get("paused")
            or clock.get("resolved_at")
            or clock.get("responded_at")
        ):
            continue
        running.append((name, clock))
    return min(running, key=lambda item: item[1]["due_at"], default=None)


def render_breaching(page: dict) -> None:
    """`ticket list --breaching`: which target, due when, overdue or time left."""
    from helpdesk.cli.output import page_footer, when

    rows = []
    for tk in page["items"]:
        found = _urgent_clock(tk.get("sla"))
        if found is None:
            continue
        name, clock = found
        state = (
            f"overdue {span(clock['overdue_seconds'])}"
            if clock["breached"]
            else f"{span(clock['left_seconds'])} left"
        )
        assignee = tk["assignee"]["email"] if tk["assignee"] else "-"
        rows.append(
            (
                tk["reference"],
                tk["priority"],
                tk["status"],
                name,
                when(clock["due_at"]),
                state,
                assignee,
                tk["title"][:40],
            )
        )
    if rows:
        table(
            rows,
            [
                N_("Ref"),
                N_("Priority"),
                N_("Status"),
                N_("Target"),
                N_("Due"),
                "",
                N_("Assignee"),
                N_("Title"),
            ],
        )
    page_footer(page, N_("tickets"))


@app.command("check")
@handle_errors
def check(
    within: Annotated[
        str | None,
        typer.Option("--within", help="Also warn once of targets due within this time (1h)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Record missed SLA targets once and email the assignee (or all agents); for cron."""
    body = {"within": within} if within else {}
    result = ApiClient.from_environment().post("/sla/check", body)

    def render(r):
        from helpdesk.cli.output import when

        for row in r["breached"]:
            typer.echo(
                f"{row['reference']}: {row['clock']} target missed (due {when(row['due_at'])})."
            )
        for row in r["warned"]:
            typer.echo(f"{row['reference']}: {row['clock']} due {when(row['due_at'])} (warned).")
        typer.echo(f"{len(r['breached'])} new breaches, {len(r['warned'])} warnings.")

    emit(result, json_output, render)


REPORT_COLUMNS = (
    "priority",
    "tickets",
    "response_met",
    "response_measured",
    "response_percent_met",
    "response_median_minutes",
    "response_p90_minutes",
    "resolution_met",
    "resolution_measured",
    "resolution_percent_met",
    "resolution_median_minutes",
    "resolution_p90_minutes",
)


def report_rows(result: dict) -> list[tuple]:
    """One row per priority and a last "all" row, in REPORT_COLUMNS order."""
    rows = []
    for name, item in [(i["priority"], i) for i in result["items"]] + [("all", result["total"])]:
        row = [name, item["tickets"]]
        for clock in ("response", "resolution"):
            f = item[clock]
            row += [
                f["met"],
                f["measured"],
                f["percent_met"],
                f["median_minutes"],
                f["p90_minutes"],
            ]
        rows.append(tuple(row))
    return rows


def _duration(value: float | None) -> str:
    return "-" if value is None else span(int(value * 60))


def _percent(met: int, measured: int, percent: float | None) -> str:
    return "-" if percent is None else f"{met}/{measured} ({percent:g}%)"


def render_report(result: dict) -> None:
    """The SLA report as a table for people."""
    rows = [
        (
            r[0],
            r[1],
            _percent(*r[2:5]),
            _duration(r[5]),
            _duration(r[6]),
            _percent(*r[7:10]),
            _duration(r[10]),
            _duration(r[11]),
        )
        for r in report_rows(result)
    ]
    table(
        rows,
        [
            N_("Priority"),
            N_("Tickets"),
            N_("Response met"),
            N_("median"),
            "p90",
            N_("Resolution met"),
            N_("median"),
            "p90",
        ],
    )
    typer.echo("Times are business time of each ticket's SLA calendar.")

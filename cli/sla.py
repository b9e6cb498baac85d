"""`helpdesk sla ...`: SLA policies, business-hours calendars, and the breach check."""

from __future__ import annotations

from typing import Annotated

import typer

from helpdesk.cli.client import ApiClient
from helpdesk.cli.errors import handle_errors
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
                t["type"] or "any",
                t["priority"],
                minutes(t["response_minutes"]),
                minutes(t["resolution_minutes"]),
            )
            for t in p["targets"]
        ],
        ["Type", "Priority", "Response", "Resolution"],
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

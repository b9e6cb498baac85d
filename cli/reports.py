"""`helpdesk report ...`: figures for agents."""

from __future__ import annotations

import csv
import io
from typing import Annotated

import typer

from helpdesk.cli.choices import date_option
from helpdesk.cli.client import ApiClient
from helpdesk.cli.compat import UsageError
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_
from helpdesk.cli.output import JsonOption, emit, page_footer, table, when
from helpdesk.cli.sla import REPORT_COLUMNS, render_report, report_rows

app = typer.Typer(help="Reports for agents.", no_args_is_help=True)


@app.command("satisfaction")
@handle_errors
def satisfaction(
    from_: Annotated[str | None, date_option("--from", "Closed on or after (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, date_option("--to", "Closed on or before (YYYY-MM-DD).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's (email).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Satisfaction ratings of closed tickets: count, average, distribution."""
    result = ApiClient.from_environment().get(
        "/reports/satisfaction", organization=org, agent=agent, **{"from": from_, "to": to}
    )

    def render(r):
        average = "-" if r["average"] is None else f"{r['average']:.2f}"
        typer.echo(f"Closed tickets: {r['closed']}   rated: {r['rated']}   average: {average}")
        rated = r["rated"] or 1
        table(
            [
                (f"{n}/5", count, "#" * round(20 * count / rated))
                for n, count in sorted(r["distribution"].items())
            ],
            [N_("Rating"), N_("Tickets"), ""],
        )

    emit(result, json_output, render)


@app.command("logins")
@handle_errors
def logins(
    org: Annotated[
        str | None, typer.Option("--org", help="Only this organization's users.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this email.")] = None,
    from_: Annotated[str | None, date_option("--from", "From this day (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, date_option("--to", "Up to this day (YYYY-MM-DD).")] = None,
    page: Annotated[int, typer.Option("--page", min=1, help="Page number.")] = 1,
    per_page: Annotated[
        int, typer.Option("--per-page", min=1, max=100, help="Rows per page.")
    ] = 25,
    json_output: JsonOption = False,
) -> None:
    """Who used the portal: logins, failures, token uses, activations, password changes."""
    result = ApiClient.from_environment().get(
        "/reports/logins",
        organization=org,
        user=user,
        page=page,
        per_page=per_page,
        **{"from": from_, "to": to},
    )

    def render(r):
        if r["items"]:
            table(
                [
                    (
                        when(a["at"]),
                        a["email"] or "-",
                        a["event"],
                        a["outcome"],
                        a["address"] or "-",
                        (a["user_agent"] or "-")[:40],
                    )
                    for a in r["items"]
                ],
                [N_("When"), N_("User"), N_("Event"), N_("Outcome"), N_("Address"), N_("Client")],
            )
        page_footer(r, N_("entries"))

    emit(result, json_output, render)


@app.command("sla")
@handle_errors
def sla(
    from_: Annotated[str | None, date_option("--from", "Created on or after (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, date_option("--to", "Created on or before (YYYY-MM-DD).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
    service: Annotated[str | None, typer.Option("--service", help="Only this service.")] = None,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print CSV to stdout.")] = False,
    json_output: JsonOption = False,
) -> None:
    """SLA: tickets, targets met, % met per priority, median and p90 response and resolution."""
    if csv_output and json_output:
        raise UsageError("Choose one of --json and --csv.")
    result = ApiClient.from_environment().get(
        "/reports/sla", organization=org, service=service, **{"from": from_, "to": to}
    )
    if csv_output:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(REPORT_COLUMNS)
        writer.writerows(report_rows(result))
        typer.echo(out.getvalue(), nl=False)
        return
    emit(result, json_output, render_report)

"""`helpdesk contract ...`: which services an organization may use, when, under which SLA."""

from __future__ import annotations

from typing import Annotated

import typer

from helpdesk.cli.choices import date_option
from helpdesk.cli.client import ApiClient
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_, t
from helpdesk.cli.organizations import Page, PerPage
from helpdesk.cli.output import JsonOption, emit, page_footer, table

app = typer.Typer(
    help="Support contracts: an organization's services, validity and SLA policy.",
    no_args_is_help=True,
)


def _services(contract: dict) -> str:
    return ", ".join(
        s["name"] + (f"={s['display_name']}" if s["display_name"] else "")
        for s in contract["services"]
    )


def _period(contract: dict) -> str:
    start, end = contract["from"], contract["to"]
    if start and end:
        return t("{start} to {end}", start=start, end=end)
    if start:
        return t("from {start}", start=start)
    if end:
        return t("until {end}", end=end)
    return t("open-ended")


def _render_list(result: dict) -> None:
    if result["items"]:
        table(
            [
                (
                    c["id"],
                    c["organization"],
                    _services(c),
                    c["sla"] or "-",
                    _period(c),
                    t("yes") if c["active"] else t("no"),
                )
                for c in result["items"]
            ],
            [N_("Id"), N_("Organization"), N_("Services"), N_("SLA"), N_("Period"), N_("Active")],
        )
    page_footer(result, N_("contracts"))


@app.command("add")
@handle_errors
def add(
    org: Annotated[str, typer.Argument(metavar="ORG", help="The customer organization.")],
    services: Annotated[
        list[str],
        typer.Option(
            "--service",
            help="A service it covers (repeatable), by name or id; NAME=DISPLAY gives the "
            'customer\'s own name for it, e.g. "Audio matching=Matching".',
        ),
    ],
    sla: Annotated[
        str | None, typer.Option("--sla", help="The SLA policy its tickets are held to.")
    ] = None,
    from_: Annotated[
        str | None, date_option("--from", "Its first day (YYYY-MM-DD); default: open.")
    ] = None,
    to: Annotated[
        str | None, date_option("--to", "Its last day, included (YYYY-MM-DD); default: open.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Give an organization a support contract over services (admins)."""
    body: dict = {"organization": org, "services": services}
    for key, value in (("sla", sla), ("from", from_), ("to", to)):
        if value is not None:
            body[key] = value
    contract = ApiClient.from_environment().post("/contracts", body)
    emit(
        contract,
        json_output,
        lambda c: typer.echo(
            t(
                "Added contract {id} for {organization}: {services}; SLA {sla}; {period}.",
                id=c["id"],
                organization=c["organization"],
                services=_services(c),
                sla=c["sla"] or t("none"),
                period=_period(c),
            )
        ),
    )


@app.command("list")
@handle_errors
def list_(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization's.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only those covering today.")] = False,
    page: Page = 1,
    per_page: PerPage = 25,
    json_output: JsonOption = False,
) -> None:
    """List contracts with their services, SLA policy and period (agents)."""
    result = ApiClient.from_environment().get(
        "/contracts",
        organization=org,
        active="true" if active else None,
        page=page,
        per_page=per_page,
    )
    emit(result, json_output, _render_list)


@app.command("end")
@handle_errors
def end(
    contract_id: Annotated[int, typer.Argument(metavar="ID", min=1, help="The contract's id.")],
    on: Annotated[
        str | None, date_option("--on", "Its last day, included (YYYY-MM-DD); default: today.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """End a contract: it covers the given day (today by default) and no later one (admins)."""
    body = {"on": on} if on else {}
    contract = ApiClient.from_environment().post(f"/contracts/{contract_id}/end", body)
    emit(
        contract,
        json_output,
        lambda c: typer.echo(t("Contract {id} of {organization} ends on {to}.", **c)),
    )

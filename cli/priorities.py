"""`helpdesk priority ...`: the impact x urgency matrix and what each request type asks for."""

from __future__ import annotations

from typing import Annotated

import typer

from helpdesk.cli.choices import Level, Priority, PriorityInput, TicketType
from helpdesk.cli.client import ApiClient
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_
from helpdesk.cli.output import JsonOption, emit, table

app = typer.Typer(
    help="The priority policy: impact x urgency matrix, and what each request type asks.",
    no_args_is_help=True,
)


def _render(policy: dict) -> None:
    typer.echo("Matrix (impact x urgency -> priority; * configured, else the default):")
    table(
        [
            (c["impact"], c["urgency"], c["priority"] + (" *" if c["configured"] else ""))
            for c in policy["matrix"]
        ],
        [N_("Impact"), N_("Urgency"), N_("Priority")],
    )
    typer.echo("\nRequest types:")
    table(
        [
            (
                p["type"],
                p["asks"],
                p["default"] + (" *" if p["configured"] else ""),
                ", ".join(p["choices"]) if p["asks"] == "priority" else "-",
            )
            for p in policy["types"]
        ],
        [N_("Type"), N_("Asks for"), N_("Default"), N_("Choices")],
    )


@app.command("show")
@handle_errors
def show(json_output: JsonOption = False) -> None:
    """Show the priority matrix and each request type's policy."""
    emit(ApiClient.from_environment().get("/priority"), json_output, _render)


@app.command("matrix")
@handle_errors
def matrix(
    impact: Annotated[Level, typer.Argument(help="The impact (row).")],
    urgency: Annotated[Level, typer.Argument(help="The urgency (column).")],
    priority: Annotated[Priority, typer.Argument(help="The priority they give.")],
    json_output: JsonOption = False,
) -> None:
    """Set the priority of one impact and urgency (admins)."""
    policy = ApiClient.from_environment().put(
        f"/priority/matrix/{impact.value}/{urgency.value}", {"priority": priority.value}
    )
    emit(
        policy,
        json_output,
        lambda _: typer.echo(
            f"Impact {impact.value} x urgency {urgency.value} now gives {priority.value}."
        ),
    )


@app.command("type")
@handle_errors
def type_(
    type_: Annotated[TicketType, typer.Argument(metavar="TYPE", help="The request type.")],
    asks: Annotated[
        PriorityInput,
        typer.Option("--asks", help="What the customer gives when submitting one."),
    ],
    default: Annotated[
        Priority | None,
        typer.Option("--default", help="The priority when the customer gives none."),
    ] = None,
    choices: Annotated[
        str | None,
        typer.Option(
            "--choices",
            help="Where it asks for a priority, those the submitter may pick, comma-separated "
            "(default: low,medium,high).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Say what a request type asks the customer for (admins)."""
    body = {"asks": asks.value}
    if default is not None:
        body["default"] = default.value
    if choices is not None:
        body["choices"] = choices
    policy = ApiClient.from_environment().put(f"/priority/types/{type_.value}", body)

    def render(result: dict) -> None:
        [mine] = [p for p in result["types"] if p["type"] == type_.value]
        typer.echo(
            f"{mine['type']} tickets ask for {mine['asks']} (default priority {mine['default']})."
        )

    emit(policy, json_output, render)

"""`helpdesk token ...`: API tokens for scripts and CI."""

from __future__ import annotations

from typing import Annotated

import typer

from helpdesk.cli.client import ApiClient
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_
from helpdesk.cli.output import JsonOption, emit, table, when

app = typer.Typer(help="API tokens for scripts and CI.", no_args_is_help=True)


def _state(token: dict) -> str:
    if token["revoked_at"]:
        return "revoked"
    if token.get("expired"):
        return "expired"
    return "read-only" if token["read_only"] else "read-write"


@app.command("create")
@handle_errors
def create(
    name: Annotated[str, typer.Option("--name", help="What it is for, e.g. ci-nightly.")],
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Lifetime (30m, 12h, 90d, 2w) or a date (2027-01-31)."),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="It may read but never change anything.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Create a token; its value is printed once: store it now."""
    body: dict = {"name": name, "read_only": read_only}
    if expires:
        body["expires"] = expires
    token = ApiClient.from_environment().post("/tokens", body)

    def render(issued):
        typer.echo(issued["token"])
        expiry = f", expires {when(token['expires_at'])}" if token["expires_at"] else ""
        typer.echo(
            f"Token {issued['id']} '{issued['name']}' ({_state(issued)}{expiry}). "
            "It is shown only now; use it as HELPDESK_TOKEN.",
            err=True,
        )

    emit(token, json_output, render)


@app.command("list")
@handle_errors
def list_(json_output: JsonOption = False) -> None:
    """List your tokens (never their values)."""
    result = ApiClient.from_environment().get("/tokens")

    def render(r):
        if not r["items"]:
            typer.echo("No tokens.")
            return
        table(
            [
                (
                    tok["id"],
                    tok["name"],
                    _state(tok),
                    when(tok["created_at"]),
                    when(tok["last_used_at"]),
                    when(tok["expires_at"]),
                )
                for tok in r["items"]
            ],
            [N_("Id"), N_("Name"), N_("State"), N_("Created"), N_("Last used"), N_("Expires")],
        )

    emit(result, json_output, render)


@app.command("revoke")
@handle_errors
def revoke(
    token: Annotated[str, typer.Argument(metavar="ID|NAME", help="The token's id or name.")],
    json_output: JsonOption = False,
) -> None:
    """Revoke one of your tokens by id or name."""
    result = ApiClient.from_environment().post("/tokens/revoke", {"token": token})
    emit(
        result,
        json_output,
        lambda r: typer.echo(
            "Revoked " + ", ".join(f"{t['id']} '{t['name']}'" for t in r["revoked"]) + "."
        ),
    )

"""`helpdesk user invite | deactivate | reactivate`: giving and taking away access."""

from __future__ import annotations

from typing import Annotated

import typer

from helpdesk.cli.client import ApiClient
from helpdesk.cli.compat import UsageError
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.output import JsonOption, emit
from helpdesk.cli.users import app

Email = Annotated[str, typer.Argument(help="The user's email.")]


@app.command("invite")
@handle_errors
def invite(
    email: Email,
    resend: Annotated[
        bool,
        typer.Option("--resend", help="Send a fresh invitation; the previous link stops working."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Email a fresh invitation to a user who has not activated their account yet."""
    if not resend:
        raise UsageError(
            "Registering a customer already invites them; use --resend to send a new invitation."
        )
    user = ApiClient.from_environment().post("/users/invitations", {"email": email})
    emit(user, json_output, lambda u: typer.echo(f"Sent a new invitation to {u['email']}."))


@app.command("deactivate")
@handle_errors
def deactivate(email: Email, json_output: JsonOption = False) -> None:
    """Lock a user out: no login, their tokens stop working; their tickets stay."""
    user = ApiClient.from_environment().post("/users/deactivate", {"email": email})
    emit(user, json_output, lambda u: typer.echo(f"Deactivated {u['email']}."))


@app.command("reactivate")
@handle_errors
def reactivate(email: Email, json_output: JsonOption = False) -> None:
    """Let a deactivated user log in again."""
    user = ApiClient.from_environment().post("/users/reactivate", {"email": email})
    emit(user, json_output, lambda u: typer.echo(f"Reactivated {u['email']}."))

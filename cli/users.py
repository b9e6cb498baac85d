"""`helpdesk user ...`: customers, agents and admins."""

from __future__ import annotations

from typing import Annotated

import typer

from helpdesk.cli.choices import Kind, Role
from helpdesk.cli.client import ApiClient
from helpdesk.cli.compat import UsageError
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.organizations import Page, PerPage
from helpdesk.cli.output import JsonOption, emit, page_footer, table
from helpdesk.cli.prompts import read_password

app = typer.Typer(help="Users: customers, agents and admins.", no_args_is_help=True)


@app.command("register")
@handle_errors
def register(
    email: Annotated[str, typer.Argument(help="The new user's email.")],
    name: Annotated[str, typer.Option("--name", help="Their full name.")],
    org: Annotated[str | None, typer.Option("--org", help="Organization of a customer.")] = None,
    role: Annotated[Role, typer.Option(help="Role in --org.")] = Role.user,
    agent: Annotated[bool, typer.Option("--agent", help="Register a support agent.")] = False,
    admin: Annotated[bool, typer.Option("--admin", help="Register an admin.")] = False,
    manage_customers: Annotated[
        bool,
        typer.Option("--manage-customers", help="With --agent: may register and manage customers."),
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Set a password read from stdin.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Register a user (admins): a customer by default, or --agent / --admin."""
    if agent and admin:
        raise UsageError("Choose one of --agent and --admin.")
    if manage_customers and not agent:
        raise UsageError("--manage-customers goes with --agent.")
    body = {
        "email": email,
        "name": name,
        "kind": "agent" if agent else "admin" if admin else "customer",
        "role": role.value,
    }
    if manage_customers:
        body["can_manage_customers"] = True
    if org:
        body["organization"] = org
    if password_stdin:
        body["password"] = read_password(True)
    user = ApiClient.from_environment().post("/users", body)
    emit(
        user,
        json_output,
        lambda u: typer.echo(f"Registered {u['kind']} {u['name']} <{u['email']}>."),
    )


@app.command("list")
@handle_errors
def list_(
    kind: Annotated[Kind | None, typer.Option("--kind", help="Only this kind of user.")] = None,
    page: Page = 1,
    per_page: PerPage = 25,
    json_output: JsonOption = False,
) -> None:
    """List users (agents and admins)."""
    result = ApiClient.from_environment().get(
        "/users", kind=kind.value if kind else None, page=page, per_page=per_page
    )

    def render(r):
        if r["items"]:
            table(
                [
                    (
                        u["email"],
                        u["name"],
                        u["kind"],
                        "yes" if u["active"] else "no",
                        ", ".join(f"{m['name']} ({m['role']})" for m in u["organizations"]),
                    )
                    for u in r["items"]
                ],
                ["Email", "Name", "Kind", "Active", "Organizations"],
            )
        page_footer(r, "users")

    emit(result, json_output, render)

"""`helpdesk org ...`: organizations and their members."""

from __future__ import annotations

from typing import Annotated

import typer

from helpdesk.cli.choices import Role
from helpdesk.cli.client import ApiClient
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_
from helpdesk.cli.output import JsonOption, emit, page_footer, table, when

app = typer.Typer(
    help="Organizations (customers' companies) and their members.", no_args_is_help=True
)


Page = Annotated[int, typer.Option("--page", min=1, help="Page number.")]
PerPage = Annotated[int, typer.Option("--per-page", min=1, max=100, help="Rows per page.")]


@app.command("create")
@handle_errors
def create(
    name: Annotated[str, typer.Argument(help="The organization's name.")],
    json_output: JsonOption = False,
) -> None:
    """Create an organization (admins)."""
    org = ApiClient.from_environment().post("/organizations", {"name": name})
    emit(org, json_output, lambda o: typer.echo(f"Created organization {o['name']}."))


@app.command("list")
@handle_errors
def list_(page: Page = 1, per_page: PerPage = 25, json_output: JsonOption = False) -> None:
    """List organizations with their member counts."""
    result = ApiClient.from_environment().get("/organizations", page=page, per_page=per_page)

    def render(r):
        if r["items"]:
            table(
                [(o["name"], o["member_count"], when(o["created_at"])) for o in r["items"]],
                [N_("Organization"), N_("Members"), N_("Created")],
            )
        page_footer(r, N_("organizations"))

    emit(result, json_output, render)


@app.command("add-member")
@handle_errors
def add_member(
    org: Annotated[str, typer.Argument(help="The organization's name.")],
    email: Annotated[str, typer.Argument(help="The customer's email.")],
    role: Annotated[
        Role, typer.Option(help="power users see the organization's tickets.")
    ] = Role.user,
    json_output: JsonOption = False,
) -> None:
    """Add a customer to an organization, or change their role there."""
    result = ApiClient.from_environment().post(
        "/memberships", {"organization": org, "email": email, "role": role.value}
    )
    emit(
        result,
        json_output,
        lambda r: typer.echo(f"{r['email']} is a {r['role']} member of {r['organization']}."),
    )

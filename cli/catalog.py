"""`helpdesk catalog ...`: the services tickets are raised against, and their subcategories."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from helpdesk.cli.client import ApiClient
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_, t
from helpdesk.cli.output import JsonOption, emit, table

app = typer.Typer(
    help="The service catalogue: services, their subcategories and request types.",
    no_args_is_help=True,
)
service_app = typer.Typer(help="Services of the catalogue (admins).", no_args_is_help=True)
subcategory_app = typer.Typer(help="Subcategories of a service (admins).", no_args_is_help=True)
app.add_typer(service_app, name="service")
app.add_typer(subcategory_app, name="subcategory")

ServiceArg = Annotated[str, typer.Argument(metavar="SERVICE", help="The service, by name or id.")]


def service_path(service: str, suffix: str = "") -> str:
    return f"/catalog/services/{quote(service.strip(), safe='')}{suffix}"


def _label(offer: dict) -> str:
    """What the caller calls the service: the contract's name for it, and the catalogue's."""
    if offer.get("display_name") and offer["display_name"] != offer["name"]:
        return f"{offer['display_name']} ({offer['name']})"
    return offer["name"]


def _render_catalogue(result: dict) -> None:
    items = result["items"]
    if not items:
        typer.echo(t("No {noun}.", noun=t("services")))
        return
    with_orgs = len({o["organization"] for o in items if o["organization"]}) > 1
    rows = []
    for offer in items:
        subs = ", ".join(
            s["name"] + (" [" + t("retired") + "]" if s["retired"] else "")
            for s in offer["subcategories"]
        )
        row = [
            offer["id"],
            _label(offer) + (" [" + t("retired") + "]" if offer["retired"] else ""),
            ", ".join(offer["types"]),
            subs or "-",
        ]
        if with_orgs:
            row.append(offer["organization"])
        rows.append(row)
    headers = [N_("Id"), N_("Service"), N_("Types"), N_("Subcategories")] + (
        [N_("Organization")] if with_orgs else []
    )
    table(rows, headers)


@app.command("list")
@handle_errors
def list_(
    org: Annotated[
        str | None, typer.Option("--org", help="Only your services under this organization.")
    ] = None,
    retired: Annotated[
        bool, typer.Option("--retired", help="Agents: show retired services too, marked.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """List the services you may use (customers: your contracts'; agents: all)."""
    result = ApiClient.from_environment().get(
        "/catalog", organization=org, retired="true" if retired else None
    )
    emit(result, json_output, _render_catalogue)


@service_app.command("add")
@handle_errors
def service_add(
    name: Annotated[str, typer.Argument(help="The service's name.")],
    types: Annotated[
        str | None,
        typer.Option(
            "--types", help="The request types it takes, e.g. incident,question (default: all)."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Add a service to the catalogue (admins)."""
    body: dict = {"name": name}
    if types is not None:
        body["types"] = types
    service = ApiClient.from_environment().post("/catalog/services", body)
    emit(
        service,
        json_output,
        lambda s: typer.echo(
            t("Added service {name} ({types}).", name=s["name"], types=", ".join(s["types"]))
        ),
    )


@service_app.command("rename")
@handle_errors
def service_rename(
    old: ServiceArg,
    new: Annotated[str, typer.Argument(metavar="NEW", help="Its new name.")],
    json_output: JsonOption = False,
) -> None:
    """Rename a service; its tickets show the new name (admins)."""
    service = ApiClient.from_environment().patch(service_path(old), {"name": new})
    emit(
        service,
        json_output,
        lambda s: typer.echo(t("Renamed service {old} to {name}.", old=old, name=s["name"])),
    )


@service_app.command("types")
@handle_errors
def service_types(
    service: ServiceArg,
    types: Annotated[
        str, typer.Argument(help="The request types it takes, e.g. incident,feature.")
    ],
    json_output: JsonOption = False,
) -> None:
    """Change the request types a service takes (admins)."""
    result = ApiClient.from_environment().patch(service_path(service), {"types": types})
    emit(
        result,
        json_output,
        lambda s: typer.echo(
            t("Service {name} takes: {types}.", name=s["name"], types=", ".join(s["types"]))
        ),
    )


@service_app.command("retire")
@handle_errors
def service_retire(service: ServiceArg, json_output: JsonOption = False) -> None:
    """Retire a service: old tickets keep it, new tickets cannot choose it (admins)."""
    result = ApiClient.from_environment().post(service_path(service, "/retire"))
    emit(result, json_output, lambda s: typer.echo(t("Retired service {name}.", name=s["name"])))


@subcategory_app.command("add")
@handle_errors
def subcategory_add(
    service: ServiceArg,
    name: Annotated[str, typer.Argument(help="The subcategory's name.")],
    json_output: JsonOption = False,
) -> None:
    """Add a subcategory to a service (admins)."""
    result = ApiClient.from_environment().post(
        service_path(service, "/subcategories"), {"name": name}
    )
    emit(
        result,
        json_output,
        lambda s: typer.echo(
            t(
                "Added subcategory {name} to {service}.",
                name=s["name"],
                service=s["service"]["name"],
            )
        ),
    )


@subcategory_app.command("retire")
@handle_errors
def subcategory_retire(
    service: ServiceArg,
    name: Annotated[str, typer.Argument(help="The subcategory, by name or id.")],
    json_output: JsonOption = False,
) -> None:
    """Retire a subcategory: old tickets keep it, new ones cannot choose it (admins)."""
    result = ApiClient.from_environment().post(
        service_path(service, f"/subcategories/{quote(name.strip(), safe='')}/retire")
    )
    emit(
        result,
        json_output,
        lambda s: typer.echo(
            t(
                "Retired subcategory {name} of {service}.",
                name=s["name"],
                service=s["service"]["name"],
            )
        ),
    )

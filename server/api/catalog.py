"""The service catalogue: what the caller may use, and the admins' verbs on services and their
subcategories. Services and subcategories are named in URLs by id or by name."""

from __future__ import annotations

from flask import request
from pydantic import Field

from helpdesk.server import schemas
from helpdesk.server.api import api
from helpdesk.server.api.contract import Body, Query, operation
from helpdesk.server.api.inputs import current_user, json_body
from helpdesk.server.serializers import offer_json, service_json, subcategory_json
from helpdesk.services import catalog, contracts

_TYPES = "Request types it takes: a list, or comma-separated text."


class NewService(Body):
    name: str
    types: list[str] | str | None = Field(None, description=f"{_TYPES} Default: all.")


class ServiceChange(Body):
    name: str | None = Field(None, description="A new name.")
    types: list[str] | str | None = Field(None, description=_TYPES)


class NewSubcategory(Body):
    name: str


class CatalogueQuery(Query):
    organization: str | None = Field(
        None, description="A customer in several organizations: that one's contracts only."
    )
    retired: bool | None = Field(None, description="true: retired services too (agents).")


class Offers(schemas.Items[schemas.Offer]):
    pass


@api.get("/catalog")
@operation(query=CatalogueQuery, answers={200: Offers}, errors=(404,))
def list_catalogue():
    """What the caller may use: a customer their contracts' services (with their names for
    them), agents every service; `retired=true` shows retired ones too (agents)."""
    actor = current_user()
    offers = contracts.catalogue_for(
        actor,
        request.args.get("organization") or None,
        include_retired=request.args.get("retired") == "true",
    )
    items = [offer_json(o) for o in offers]
    return {"items": items, "total": len(items)}


@api.post("/catalog/services")
@operation(body=NewService, answers={201: schemas.Service})
def add_service():
    """Add a service (admins); `types` lists the request types it takes (default: all)."""
    body = json_body()
    service = catalog.add_service(body["name"], actor=current_user(), types=body.get("types"))
    return service_json(service), 201


@api.patch("/catalog/services/<path:service>")
@operation(body=ServiceChange, answers={200: schemas.Service})
def change_service(service: str):
    """Rename a service or change the request types it takes (admins)."""
    body = json_body()
    changed = catalog.change_service(
        service, actor=current_user(), name=body.get("name"), types=body.get("types")
    )
    return service_json(changed)


@api.post("/catalog/services/<path:service>/retire")
@operation(answers={200: schemas.Service})
def retire_service(service: str):
    """Retire a service: old tickets keep it, new ones cannot choose it (admins)."""
    return service_json(catalog.retire_service(service, actor=current_user()))


@api.post("/catalog/services/<path:service>/subcategories")
@operation(body=NewSubcategory, answers={201: schemas.SubcategoryOfService})
def add_subcategory(service: str):
    """Add a subcategory to a service (admins)."""
    body = json_body()
    subcategory = catalog.add_subcategory(service, body["name"], actor=current_user())
    return subcategory_json(subcategory), 201


@api.post("/catalog/services/<path:service>/subcategories/<path:subcategory>/retire")
@operation(answers={200: schemas.SubcategoryOfService})
def retire_subcategory(service: str, subcategory: str):
    """Retire a subcategory of a service (admins)."""
    return subcategory_json(catalog.retire_subcategory(service, subcategory, actor=current_user()))

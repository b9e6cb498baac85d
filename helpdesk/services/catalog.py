"""The service catalogue: services, their subcategories and the request types each accepts.

Retiring keeps history: a retired service or subcategory still names old tickets' service but
cannot be chosen for a new one. Which services a customer may use is their organization's
contracts' (helpdesk/services/contracts.py).
"""

from __future__ import annotations

from peewee import fn

from helpdesk import permissions, validation
from helpdesk.db import database
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import Service, Subcategory, User, utcnow
from helpdesk.vocabulary import TICKET_TYPES

MAX_NAME = 200


def _name(field: str, value) -> str:
    return validation.text(field, value, max_length=MAX_NAME, one_line=True)


def _not_a_number(what: str, name: str) -> None:
    if name.isdigit():
        if what == "service":
            template = N_("A service name cannot be a number: numbers name a service by its id.")
        else:
            template = N_(
                "A subcategory name cannot be a number: numbers name a subcategory by its id."
            )
        raise ValidationFailed(template, {"field": "name"})


def parse_types(types) -> str:
    """Request types as stored: a list or a comma-separated text, in vocabulary order."""
    if types is None:
        return ",".join(TICKET_TYPES)
    if isinstance(types, str):
        types = [t for t in types.split(",") if t.strip()]
    if not isinstance(types, list) or not types:
        # The words to type, as validation.choice gives them: English, the API's values.
        raise ValidationFailed(
            N_("types must name at least one of: {allowed}."),
            {"field": "types"},
            allowed=list(TICKET_TYPES),
        )
    chosen = {validation.choice("types", str(t).strip().lower(), TICKET_TYPES) for t in types}
    return ",".join(t for t in TICKET_TYPES if t in chosen)


def service_types(service: Service) -> list[str]:
    return service.types.split(",")


def find_service(identifier, query=None) -> Service | None:
    """A service by id or by name (any case), among `query` (all services by default)."""
    query = Service.select() if query is None else query
    if (service_id := validation.row_id(identifier)) is not None:
        found = query.where(Service.id == service_id).first()
        if found is not None:
            return found
    if not isinstance(identifier, str):
        return None
    return query.where(fn.LOWER(Service.name) == identifier.strip().lower()).first()


def get_service(identifier) -> Service:
    identifier = validation.text("service", str(identifier), max_length=MAX_NAME)
    service = find_service(identifier)
    if service is None:
        raise NotFound(N_("No service named {service!r}."), service=identifier)
    return service


def find_subcategory(service: Service, identifier) -> Subcategory | None:
    query = Subcategory.select().where(Subcategory.service == service)
    if (subcategory_id := validation.row_id(identifier)) is not None:
        found = query.where(Subcategory.id == subcategory_id).first()
        if found is not None:
            return found
    if not isinstance(identifier, str):
        return None
    return query.where(fn.LOWER(Subcategory.name) == identifier.strip().lower()).first()


def get_subcategory(service: Service, identifier) -> Subcategory:
    identifier = validation.text("subcategory", str(identifier), max_length=MAX_NAME)
    subcategory = find_subcategory(service, identifier)
    if subcategory is None:
        raise NotFound(
            N_("Service {service!r} has no subcategory {subcategory!r}."),
            service=service.name,
            subcategory=identifier,
        )
    return subcategory


def catalogue_exists() -> bool:
    """Is any service offered? Without one, tickets are submitted without a service."""
    return Service.select().where(Service.retired_at.is_null()).exists()


def active_subcategories(service: Service, *, include_retired: bool = False) -> list[Subcategory]:
    query = Subcategory.select().where(Subcategory.service == service)
    if not include_retired:
        query = query.where(Subcategory.retired_at.is_null())
    return list(query.order_by(Subcategory.name))


def add_service(name, *, actor: User, types=None) -> Service:
    permissions.require(actor, "catalog.manage")
    name = _name("name", name)
    stored_types = parse_types(types)
    _not_a_number("service", name)
    with database.atomic():
        if find_service(name) is not None:
            raise Conflict(N_("A service named {service!r} already exists."), service=name)
        return Service.create(name=name, types=stored_types)


def rename_service(identifier, new_name, *, actor: User) -> Service:
    permissions.require(actor, "catalog.manage")
    new_name = _name("name", new_name)
    _not_a_number("service", new_name)
    with database.atomic():
        service = get_service(identifier)
        other = find_service(new_name)
        if other is not None and other.id != service.id:
            raise Conflict(N_("A service named {service!r} already exists."), service=new_name)
        service.name = new_name
        service.save()
    return service


def change_service(identifier, *, actor: User, name=None, types=None) -> Service:
    """Rename a service and/or change the request types it takes, in one transaction."""
    permissions.require(actor, "catalog.manage")
    if name is None and types is None:
        raise ValidationFailed(
            N_("Give a new name or types to change."), {"allowed": ["name", "types"]}
        )
    with database.atomic():
        service = get_service(identifier)
        if types is not None:
            service = set_service_types(service.id, types, actor=actor)
        if name is not None:
            service = rename_service(service.id, name, actor=actor)
    return service


def set_service_types(identifier, types, *, actor: User) -> Service:
    permissions.require(actor, "catalog.manage")
    stored_types = parse_types(types)
    with database.atomic():
        service = get_service(identifier)
        service.types = stored_types
        service.save()
    return service


def retire_service(identifier, *, actor: User) -> Service:
    """Retire a service: old tickets keep it; new tickets cannot choose it. Idempotent."""
    permissions.require(actor, "catalog.manage")
    with database.atomic():
        service = get_service(identifier)
        if service.retired_at is None:
            service.retired_at = utcnow()
            service.save()
    return service


def add_subcategory(service_identifier, name, *, actor: User) -> Subcategory:
    permissions.require(actor, "catalog.manage")
    name = _name("name", name)
    _not_a_number("subcategory", name)
    with database.atomic():
        service = get_service(service_identifier)
        if find_subcategory(service, name) is not None:
            raise Conflict(
                N_("Service {service!r} already has a subcategory {subcategory!r}."),
                service=service.name,
                subcategory=name,
            )
        return Subcategory.create(service=service, name=name)


def retire_subcategory(service_identifier, name, *, actor: User) -> Subcategory:
    permissions.require(actor, "catalog.manage")
    with database.atomic():
        service = get_service(service_identifier)
        subcategory = get_subcategory(service, name)
        if subcategory.retired_at is None:
            subcategory.retired_at = utcnow()
            subcategory.save()
    return subcategory

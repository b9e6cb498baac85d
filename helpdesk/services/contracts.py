"""Support contracts: which services an organization may use, when, and under which SLA policy.

A contract covers the days from `starts_on` to `ends_on` (both included; None is open). A
customer may use the services of their organization's contracts that cover today; agents file
for any service that is not retired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from peewee import JOIN, fn

from helpdesk import permissions, validation
from helpdesk.clock import clock
from helpdesk.db import database
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import (
    Contract,
    ContractService,
    Organization,
    Service,
    SlaPolicy,
    Subcategory,
    User,
)
from helpdesk.pagination import Page, paginate
from helpdesk.services import catalog
from helpdesk.services.organization_names import get_organization
from helpdesk.services.users import memberships_of

# Services one contract may list (after dropping repeats).
MAX_CONTRACT_SERVICES = 200


def today() -> date:
    return clock.now().date()


def _day(field: str, value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    bound = validation.date_bound(field, value)
    return bound.date() if bound is not None else None


def covering(day: date | None = None):
    """The condition: a contract that covers `day` (today by default)."""
    day = day or today()
    return (Contract.starts_on.is_null() | (Contract.starts_on <= day)) & (
        Contract.ends_on.is_null() | (Contract.ends_on >= day)
    )


def active_contracts(organization: Organization, day: date | None = None) -> list[Contract]:
    return list(
        Contract.select()
        .where((Contract.organization == organization) & covering(day))
        .order_by(Contract.id)
    )


@dataclass
class Offer:
    """A service one may choose: its name for this customer, and its open subcategories."""

    service: Service
    display_name: str | None
    subcategories: list[Subcategory]
    organization: Organization | None = None  # whose contract offers it (None: an agent's)
    contract: Contract | None = None

    @property
    def label(self) -> str:
        return self.display_name or self.service.name


def _offer(service: Service, include_retired: bool = False, **kwargs) -> Offer:
    subcategories = catalog.active_subcategories(service, include_retired=include_retired)
    return Offer(service, subcategories=subcategories, **kwargs)


def contract_offers(organization: Organization) -> list[Offer]:
    """The open services of the organization's contracts that cover today, by name."""
    rows = (
        ContractService.select(ContractService, Contract, Service)
        .join(Contract)
        .switch(ContractService)
        .join(Service)
        .where((Contract.organization == organization) & covering() & Service.retired_at.is_null())
        .order_by(Contract.id)
    )
    offers: dict[int, Offer] = {}
    for row in rows:  # the first contract that lists a service decides its name and policy
        if row.service.id not in offers:
            offers[row.service.id] = _offer(
                row.service,
                display_name=row.display_name,
                organization=organization,
                contract=row.contract,
            )
    return sorted(offers.values(), key=lambda o: o.label.lower())


def catalogue_for(
    actor: User, organization: str | None = None, *, include_retired: bool = False
) -> list[Offer]:
    """What the actor may choose: agents every open service (`include_retired`: the retired
    ones and retired subcategories too, for them to see); a customer their contracts'."""
    if permissions.can(actor, "catalog.use_any"):
        services = Service.select().order_by(Service.name)
        if not include_retired:
            services = services.where(Service.retired_at.is_null())
        return [_offer(s, include_retired, display_name=None) for s in services]
    memberships = memberships_of(actor)
    if organization:
        org = get_organization(organization)
        memberships = [m for m in memberships if m.organization_id == org.id]
        if not memberships:
            raise NotFound(N_("No organization named {organization!r}."), organization=organization)
    offers = []
    for membership in memberships:
        offers.extend(contract_offers(membership.organization))
    return offers


def service_named(identifier, *, actor: User) -> Service:
    """A service by id or name, retired ones too (to find old tickets); for a customer also by
    their contracts' name for it. ValidationFailed names the unknown one."""
    identifier = validation.text("service", str(identifier), max_length=catalog.MAX_NAME)
    service = catalog.find_service(identifier)
    if service is None and not permissions.can(actor, "catalog.use_any"):
        orgs = [m.organization_id for m in memberships_of(actor)]
        row = (
            ContractService.select(ContractService, Service)
            .join(Service)
            .switch(ContractService)
            .join(Contract)
            .where(
                Contract.organization.in_(orgs)
                & (fn.LOWER(ContractService.display_name) == identifier.lower())
            )
            .first()
        )
        service = row.service if row is not None else None
    if service is None:
        raise ValidationFailed(
            N_("No service named {service!r}."), {"field": "service"}, service=identifier
        )
    return service


def contract_for(organization: Organization, service: Service | None) -> Contract | None:
    """The contract that governs a ticket of this organization for this service today.

    With a service: the first covering contract that lists it. Without one: the organization's
    only covering contract, if it has exactly one.
    """
    if service is not None:
        return (
            Contract.select()
            .join(ContractService)
            .where(
                (Contract.organization == organization)
                & covering()
                & (ContractService.service == service)
            )
            .order_by(Contract.id)
            .first()
        )
    return sole_contract(active_contracts(organization))


def sole_contract(contracts: list[Contract]) -> Contract | None:
    """Of an organization's covering contracts, the one that governs a ticket without a
    service: the only one, if there is exactly one."""
    return contracts[0] if len(contracts) == 1 else None


def _service_entries(services) -> list[tuple[str, str | None]]:
    """Services as (identifier, display name): "Name" or "Name=Customer's name"."""
    if not isinstance(services, list) or not services:
        raise ValidationFailed(N_("A contract names at least one service."), {"field": "services"})
    distinct = validation.items(
        "services",
        services,
        max_items=MAX_CONTRACT_SERVICES,
        key=lambda v: (
            (v.get("service") if isinstance(v, dict) else str(v)).strip().lower()
            if isinstance(v, dict | str)
            else repr(v)
        ),
    )
    entries = []
    for entry in distinct:
        if isinstance(entry, dict):
            name, display = entry.get("service"), entry.get("display_name")
        else:
            name, _, display = str(entry).partition("=")
        name = validation.text("service", name, max_length=catalog.MAX_NAME, one_line=True)
        display = validation.text(
            "display_name",
            display or None,
            max_length=catalog.MAX_NAME,
            one_line=True,
            required=False,
        )
        entries.append((name, display or None))
    return entries


def add_contract(
    organization,
    services,
    *,
    actor: User,
    sla: str | None = None,
    starts_on=None,
    ends_on=None,
) -> Contract:
    """A contract for `organization` over `services` (names or ids, each optionally
    "Name=Display name" or {"service", "display_name"}), under the SLA policy named `sla`."""
    permissions.require(actor, "contract.manage")
    entries = _service_entries(services)
    start, end = _day("from", starts_on), _day("to", ends_on)
    if start is not None and end is not None and end < start:
        raise ValidationFailed(
            N_("The contract's last day is before its first."),
            {"from": str(start), "to": str(end)},
        )
    with database.atomic():
        org = get_organization(organization)
        policy = None
        if sla:
            sla = validation.text("sla", sla, max_length=100)
            policy = SlaPolicy.get_or_none(fn.LOWER(SlaPolicy.name) == sla.strip().lower())
            if policy is None:
                raise NotFound(N_("No SLA policy named {sla!r}."), sla=sla)
        chosen = []
        for name, display in entries:
            service = catalog.get_service(name)
            if service.retired_at is not None:
                raise ValidationFailed(N_("Service {service!r} is retired."), service=service.name)
            chosen.append((service, display))
        contract = Contract.create(
            organization=org, sla_policy=policy, starts_on=start, ends_on=end
        )
        for service, display in chosen:
            ContractService.create(contract=contract, service=service, display_name=display)
    return contract


def get_contract(contract_id, *, actor: User) -> Contract:
    permissions.require(actor, "contract.view")
    contract_id = validation.integer("contract", contract_id, low=1, high=2**62, from_text=True)
    contract = Contract.get_or_none(Contract.id == contract_id)
    if contract is None:
        raise NotFound(N_("No contract {contract}."), contract=contract_id)
    return contract


def end_contract(contract_id, *, actor: User, on=None) -> Contract:
    """End a contract on a day (today by default): it covers that day and no later one."""
    permissions.require(actor, "contract.manage")
    last_day = _day("on", on) or today()
    with database.atomic():
        contract = get_contract(contract_id, actor=actor)
        if contract.starts_on is not None and last_day < contract.starts_on:
            raise ValidationFailed(
                N_("Contract {contract} starts on {starts_on}, after {last_day}."),
                contract=contract.id,
                starts_on=str(contract.starts_on),
                last_day=str(last_day),
            )
        if contract.ends_on is None or contract.ends_on > last_day:
            contract.ends_on = last_day
            contract.save()
    return contract


def list_contracts(
    *, actor: User, organization: str | None = None, active_only: bool = False, page=1, per_page=25
) -> Page:
    permissions.require(actor, "contract.view")
    query = (
        Contract.select(Contract, Organization, SlaPolicy)
        .join(Organization)
        .switch(Contract)
        .join(SlaPolicy, JOIN.LEFT_OUTER)
    )
    if organization:
        query = query.where(Contract.organization == get_organization(organization))
    if active_only:
        query = query.where(covering())
    return paginate(query.order_by(Organization.name, Contract.id), page, per_page)


def contract_services(contract: Contract) -> list[ContractService]:
    return list(
        ContractService.select(ContractService, Service)
        .join(Service)
        .where(ContractService.contract == contract)
        .order_by(Service.name)
    )


def services_of(contracts: list[Contract]) -> dict[int, list[ContractService]]:
    """The services of several contracts, in one query: contract id -> its services by name."""
    found: dict[int, list[ContractService]] = {}
    if not contracts:
        return found
    rows = (
        ContractService.select(ContractService, Service)
        .join(Service)
        .where(ContractService.contract.in_([c.id for c in contracts]))
        .order_by(Service.name)
    )
    for row in rows:
        found.setdefault(row.contract_id, []).append(row)
    return found


def display_names(tickets) -> dict[int, str]:
    """What each ticket's organization calls its service (their contracts' display name), in
    one query for a whole page: ticket id -> name, for the tickets whose contract sets one.

    A contract covering today wins over one that has ended; among those, the oldest.
    """
    wanted = {(t.organization_id, t.service_id) for t in tickets if t.service_id}
    if not wanted:
        return {}
    orgs = sorted({org for org, _ in wanted})
    services = sorted({service for _, service in wanted})
    rows = (
        ContractService.select(ContractService.service, ContractService.display_name, Contract)
        .join(Contract)
        .where(
            Contract.organization.in_(orgs)
            & ContractService.service.in_(services)
            & ContractService.display_name.is_null(False)
        )
        .order_by(Contract.id)
    )
    best: dict[tuple[int, int], tuple[bool, str]] = {}
    for row in rows:
        key = (row.contract.organization_id, row.service_id)
        current = is_active(row.contract)
        if key not in best or (current and not best[key][0]):
            best[key] = (current, row.display_name)
    return {
        t.id: best[(t.organization_id, t.service_id)][1]
        for t in tickets
        if (t.organization_id, t.service_id) in best
    }


def is_active(contract: Contract, day: date | None = None) -> bool:
    day = day or today()
    return (contract.starts_on is None or contract.starts_on <= day) and (
        contract.ends_on is None or contract.ends_on >= day
    )


@dataclass
class Choice:
    """What a new ticket is filed under, and the contract that governs it."""

    service: Service | None = None
    subcategory: Subcategory | None = None
    contract: Contract | None = None


def _labels(offers: list[Offer]) -> list[str]:
    return [offer.label for offer in offers]


def _match_offer(offers: list[Offer], identifier: str) -> Offer | None:
    wanted = identifier.strip().lower()
    for offer in offers:
        if wanted in (str(offer.service.id), offer.service.name.lower(), offer.label.lower()):
            return offer
    return None


def choose_service(
    *,
    actor: User,
    organization: Organization,
    type: str,
    service=None,
    subcategory=None,
    required: bool = True,
) -> Choice:
    """Check the service and subcategory a new ticket names against what `actor` may use.

    A customer uses the services of the organization's covering contracts (by name, id or the
    contract's name for it); an agent any service that is not retired. Once the organization
    has a contract, a service is required; with none, a ticket may go without one.
    """
    if service is None or service == "":
        if subcategory not in (None, ""):
            raise ValidationFailed(
                N_("A subcategory needs its service: name the service too."), {"field": "service"}
            )
        contracts = active_contracts(organization)
        if required and contracts and catalog.catalogue_exists():
            labels = _labels(contract_offers(organization))
            if labels:
                template = N_(
                    "Name a service: {organization} has a support contract. You may use: {choices}."
                )
            else:
                template = N_(
                    "Name a service: {organization} has a support contract. You may use: none."
                )
            raise ValidationFailed(
                template,
                {"field": "service", "choices": labels},
                organization=organization.name,
                **({"choices": labels} if labels else {}),
            )
        return Choice(contract=sole_contract(contracts))
    identifier = validation.text("service", str(service), max_length=catalog.MAX_NAME)
    if permissions.can(actor, "catalog.use_any"):
        chosen = catalog.get_service(identifier)
        if chosen.retired_at is not None:
            raise ValidationFailed(
                N_("Service {service!r} is retired; new tickets cannot use it."),
                service=chosen.name,
            )
    else:
        offers = contract_offers(organization)
        offer = _match_offer(offers, identifier)
        if offer is None:
            labels = _labels(offers)
            if labels:
                template = N_(
                    "You may not use service {service!r}: the contracts of {organization} "
                    "cover {choices}."
                )
            else:
                template = N_(
                    "You may not use service {service!r}: the contracts of {organization} "
                    "cover no service."
                )
            raise ValidationFailed(
                template,
                {"choices": labels},
                service=identifier,
                organization=organization.name,
                **({"choices": labels} if labels else {}),
            )
        chosen = offer.service
    accepted = catalog.service_types(chosen)
    if type not in accepted:
        raise ValidationFailed(
            N_("Service {service!r} does not take {request_type} requests; it takes: {types}."),
            {"field": "type", "choices": accepted},
            service=chosen.name,
            request_type=type,
            types=accepted,
        )
    open_subcategories = catalog.active_subcategories(chosen)
    names = [s.name for s in open_subcategories]
    chosen_sub = None
    if subcategory not in (None, ""):
        sub_identifier = validation.text(
            "subcategory", str(subcategory), max_length=catalog.MAX_NAME
        )
        chosen_sub = catalog.find_subcategory(chosen, sub_identifier)
        if chosen_sub is None or chosen_sub.retired_at is not None:
            retired = chosen_sub is not None
            if retired and names:
                template = N_(
                    "{subcategory!r} is retired for service {service!r}; choose one of: {choices}."
                )
            elif retired:
                template = N_(
                    "{subcategory!r} is retired for service {service!r}; choose one of: none."
                )
            elif names:
                template = N_(
                    "{subcategory!r} is not one of its subcategories for service {service!r}; "
                    "choose one of: {choices}."
                )
            else:
                template = N_(
                    "{subcategory!r} is not one of its subcategories for service {service!r}; "
                    "choose one of: none."
                )
            raise ValidationFailed(
                template,
                {"field": "subcategory", "choices": names},
                subcategory=sub_identifier,
                service=chosen.name,
                **({"choices": names} if names else {}),
            )
    elif open_subcategories:
        raise ValidationFailed(
            N_("Service {service!r} needs a subcategory: {choices}."),
            {"field": "subcategory"},
            service=chosen.name,
            choices=names,
        )
    return Choice(chosen, chosen_sub, contract_for(organization, chosen))

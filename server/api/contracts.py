"""Support contracts: which services an organization may use, when, under which SLA policy."""

from __future__ import annotations

from flask import request, url_for
from pydantic import Field

from helpdesk.server import schemas
from helpdesk.server.api import MAX_ID, api
from helpdesk.server.api.contract import Body, Query, operation
from helpdesk.server.api.inputs import current_user, json_body, paging
from helpdesk.server.serializers import contract_json, page_json
from helpdesk.services import contracts


class ContractService(Body):
    service: str | int = Field(description="The service's name or id.")
    display_name: str | None = Field(None, description="What the organization calls it.")


class NewContract(Body):
    organization: str
    services: list[str | int | ContractService] = Field(
        description='Names or ids, each optionally "Name=Display name" or an object.'
    )
    sla: str | None = Field(None, description="An SLA policy's name.")
    from_: str | None = Field(None, alias="from", description="Its first day (YYYY-MM-DD).")
    to: str | None = Field(None, description="Its last day (YYYY-MM-DD).")


class ContractEnd(Body):
    on: str | None = Field(None, description="The last day it covers (YYYY-MM-DD); today.")


class ContractQuery(Query):
    organization: str | None = None
    active: bool | None = Field(None, description="true: contracts in force today only.")
    page: int | None = None
    per_page: int | None = Field(None, description="At most 100.")


class Contracts(schemas.Page[schemas.Contract]):
    pass


@api.get("/contracts")
@operation(query=ContractQuery, answers={200: Contracts}, errors=(404,))
def list_contracts():
    """Contracts by organization (agents); filters: organization, active=true."""
    page, per_page = paging()
    result = contracts.list_contracts(
        actor=current_user(),
        organization=request.args.get("organization") or None,
        active_only=request.args.get("active") == "true",
        page=page,
        per_page=per_page,
    )
    services = contracts.services_of(result.items)
    items = [contract_json(c, services.get(c.id, [])) for c in result.items]
    return page_json(items, result.page, result.per_page, result.total)


@api.post("/contracts")
@operation(body=NewContract, answers={201: schemas.Contract}, errors=(404,))
def add_contract():
    """A contract for an organization over services (admins): `services` lists names or ids,
    each optionally "Name=Display name" or {"service", "display_name"}; `sla` names a policy;
    `from` and `to` are its first and last days."""
    actor = current_user()
    body = json_body()
    contract = contracts.add_contract(
        body["organization"],
        body.get("services"),
        actor=actor,
        sla=body.get("sla"),
        starts_on=body.get("from"),
        ends_on=body.get("to"),
    )
    location = url_for("api.show_contract", contract_id=contract.id)
    return (
        contract_json(contract, contracts.contract_services(contract)),
        201,
        {"Location": location},
    )


@api.get(f"/contracts/<int(max={MAX_ID}):contract_id>")
@operation(answers={200: schemas.Contract})
def show_contract(contract_id: int):
    """One contract with its services (agents)."""
    contract = contracts.get_contract(contract_id, actor=current_user())
    return contract_json(contract, contracts.contract_services(contract))


@api.post(f"/contracts/<int(max={MAX_ID}):contract_id>/end")
@operation(body=ContractEnd, answers={200: schemas.Contract})
def end_contract(contract_id: int):
    """End a contract on a day (`on`, today by default): it covers that day, no later one."""
    body = json_body()
    contract = contracts.end_contract(contract_id, actor=current_user(), on=body.get("on"))
    return contract_json(contract, contracts.contract_services(contract))

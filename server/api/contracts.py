"""Support contracts: which services an organization may use, when, under which SLA policy."""

from __future__ import annotations

from flask import request, url_for

from helpdesk.server.api import MAX_ID, api
from helpdesk.server.api.inputs import current_user, json_body, paging
from helpdesk.server.serializers import contract_json, page_json
from helpdesk.services import contracts


@api.get("/contracts")
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
def add_contract():
    """A contract for an organization over services (admins): `services` lists names or ids,
    each optionally "Name=Display name" or {"service", "display_name"}; `sla` names a policy;
    `from` and `to` are its first and last days."""
    actor = current_user()
    body = json_body({"organization", "services", "sla", "from", "to"}, {"organization"})
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
def show_contract(contract_id: int):
    """One contract with its services (agents)."""
    contract = contracts.get_contract(contract_id, actor=current_user())
    return contract_json(contract, contracts.contract_services(contract))


@api.post(f"/contracts/<int(max={MAX_ID}):contract_id>/end")
def end_contract(contract_id: int):
    """End a contract on a day (`on`, today by default): it covers that day, no later one."""
    body = json_body({"on"})
    contract = contracts.end_contract(contract_id, actor=current_user(), on=body.get("on"))
    return contract_json(contract, contracts.contract_services(contract))

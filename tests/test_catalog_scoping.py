"""Which services a ticket may be filed under: the organization's contracts, through real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.errors import Conflict, PermissionDenied
from helpdesk.models import Ticket
from helpdesk.services import catalog, contracts

API = "/api/v1/tickets"


@pytest.fixture
def offered(world):
    """Acme's contract covers Audio matching (called "Matching" by Acme); Billing is not in it."""
    admin = world.admin
    catalog.add_service("Audio matching", actor=admin, types="incident,question")
    catalog.add_subcategory("Audio matching", "Data delivery", actor=admin)
    catalog.add_subcategory("Audio matching", "Portal access", actor=admin)
    catalog.add_service("Billing", actor=admin)
    contract = contracts.add_contract(
        "Acme", ["Audio matching=Matching"], actor=admin, starts_on="2020-01-01"
    )
    return contract


def submit(client, world, user, **fields):
    body = {"type": "incident", "title": "Files are late"} | fields
    return client.post(API, json=body, headers=world.headers(user))


def test_without_a_catalogue_tickets_need_no_service(client, world):
    resp = submit(client, world, world.requester)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["service"] is None


def test_a_contract_service_and_subcategory_are_kept_on_the_ticket(client, world, offered):
    resp = submit(
        client, world, world.requester, service="Audio matching", subcategory="data delivery"
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["service"]["name"] == "Audio matching"
    assert body["subcategory"]["name"] == "Data delivery"


def test_the_customers_own_name_for_a_service_is_accepted(client, world, offered):
    resp = submit(client, world, world.requester, service="matching", subcategory="Portal access")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["service"]["name"] == "Audio matching"


def test_once_the_organization_has_a_contract_a_service_is_required(client, world, offered):
    resp = submit(client, world, world.requester)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert "Name a service" in error["message"] and "Matching" in error["message"]
    assert error["details"]["choices"] == ["Matching"]
    assert Ticket.select().count() == 0


def test_a_service_outside_the_contract_is_refused_naming_what_may_be_used(client, world, offered):
    resp = submit(client, world, world.requester, service="Billing")
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert "You may not use service 'Billing'" in error["message"]
    assert error["details"]["choices"] == ["Matching"]
    assert Ticket.select().count() == 0


def test_another_organizations_customer_cannot_use_acmes_services(client, world, offered):
    resp = submit(client, world, world.other_power, service="Audio matching", subcategory="1")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"]["choices"] == []


def test_a_subcategory_is_required_where_the_service_has_some(client, world, offered):
    resp = submit(client, world, world.requester, service="Audio matching")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"]["choices"] == ["Data delivery", "Portal access"]


def test_a_type_the_service_does_not_take_is_refused(client, world, offered):
    resp = submit(
        client,
        world,
        world.requester,
        type="feature",
        service="Audio matching",
        subcategory="Data delivery",
    )
    assert resp.status_code == 422
    assert "does not take feature requests" in resp.get_json()["error"]["message"]


def test_retired_services_and_subcategories_cannot_be_chosen_but_old_tickets_keep_them(
    client, world, offered
):
    first = submit(client, world, world.requester, service="1", subcategory="Data delivery")
    assert first.status_code == 201, first.get_json()
    catalog.retire_subcategory("Audio matching", "Data delivery", actor=world.admin)
    again = submit(client, world, world.requester, service="1", subcategory="Data delivery")
    assert again.status_code == 422
    assert "retired" in again.get_json()["error"]["message"]
    catalog.retire_service("Audio matching", actor=world.admin)
    refused = submit(client, world, world.agent, requester=world.requester.email, service="1")
    assert refused.status_code == 422 and "retired" in refused.get_json()["error"]["message"]

    old = client.get(f"{API}/{first.get_json()['reference']}", headers=world.headers(world.agent))
    assert old.get_json()["service"]["name"] == "Audio matching"
    assert old.get_json()["subcategory"]["name"] == "Data delivery"


def test_agents_file_for_any_open_service(client, world, offered):
    resp = submit(client, world, world.agent, requester=world.requester.email, service="Billing")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["service"]["name"] == "Billing"


def test_an_ended_contract_offers_nothing_more(client, world, offered, clock):
    contracts.end_contract(offered.id, actor=world.admin, on=clock.now().date() - timedelta(1))
    refused = submit(client, world, world.requester, service="Matching", subcategory="1")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"]["choices"] == []
    unclassified = submit(client, world, world.requester)  # no contract now: as before any
    assert unclassified.status_code == 201, unclassified.get_json()
    assert unclassified.get_json()["service"] is None


def test_only_admins_change_the_catalogue_and_contracts(world):
    with pytest.raises(PermissionDenied):
        catalog.add_service("Hosting", actor=world.agent)
    with pytest.raises(PermissionDenied):
        contracts.add_contract("Acme", ["Hosting"], actor=world.agent)
    catalog.add_service("Hosting", actor=world.admin)
    with pytest.raises(Conflict):
        catalog.add_service("hosting", actor=world.admin)

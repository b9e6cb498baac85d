"""The catalogue and contracts through the real HTTP API: the admins' verbs, what each caller
may see and use, the service on tickets (details, lists, filter, edits, mails)."""

from __future__ import annotations

import pytest
from conftest import deliver
from test_error_shape import assert_error

from helpdesk.models import Contract, Event, Service, SlaPolicy, Subcategory, Ticket
from helpdesk.services import catalog, contracts

API = "/api/v1"


@pytest.fixture
def desk(world):
    """Acme's contract covers "Audio matching" (Acme calls it "Matching") with two
    subcategories; "Billing" is in the catalogue but in no contract; Globex has none."""
    catalog.add_service("Audio matching", actor=world.admin)
    catalog.add_subcategory("Audio matching", "Data delivery", actor=world.admin)
    catalog.add_subcategory("Audio matching", "Portal access", actor=world.admin)
    catalog.add_service("Billing", actor=world.admin, types="question")
    SlaPolicy.create(name="Gold")  # the SLA engineer's `sla policy add` makes these
    contracts.add_contract("Acme", ["Audio matching=Matching"], actor=world.admin, sla="Gold")
    return world


def as_(world, user):
    return world.headers(user)


def submit(client, world, user, **body):
    body = {"type": "incident", "title": "Delivery is late", **body}
    return client.post(f"{API}/tickets", json=body, headers=as_(world, user))


# -- the admins' verbs -------------------------------------------------------------------


def test_admin_adds_renames_retires_a_service(client, world):
    admin = as_(world, world.admin)
    resp = client.post(
        f"{API}/catalog/services",
        json={"name": "Audio matching", "types": "incident,question"},
        headers=admin,
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["types"] == ["incident", "question"]
    resp = client.patch(
        f"{API}/catalog/services/Audio%20matching", json={"name": "Matching"}, headers=admin
    )
    assert resp.get_json()["name"] == "Matching"
    resp = client.patch(
        f"{API}/catalog/services/Matching", json={"types": ["feature"]}, headers=admin
    )
    assert resp.get_json()["types"] == ["feature"]
    resp = client.post(f"{API}/catalog/services/Matching/retire", headers=admin)
    assert resp.status_code == 200 and resp.get_json()["retired"] is True
    assert Service.get().name == "Matching" and Service.get().retired_at is not None


def test_a_service_named_with_a_slash_is_reached_by_its_name(client, world):
    admin = as_(world, world.admin)
    client.post(f"{API}/catalog/services", json={"name": "Audio/Video"}, headers=admin)
    resp = client.post(
        f"{API}/catalog/services/Audio%2FVideo/subcategories", json={"name": "Sync"}, headers=admin
    )
    assert resp.status_code == 201, resp.get_json()
    resp = client.post(
        f"{API}/catalog/services/Audio%2FVideo/subcategories/Sync/retire", headers=admin
    )
    assert resp.get_json()["retired"] is True


def test_subcategories_are_added_and_retired(client, world):
    admin = as_(world, world.admin)
    client.post(f"{API}/catalog/services", json={"name": "Audio matching"}, headers=admin)
    resp = client.post(
        f"{API}/catalog/services/Audio%20matching/subcategories",
        json={"name": "Data delivery"},
        headers=admin,
    )
    assert resp.status_code == 201
    assert resp.get_json()["service"]["name"] == "Audio matching"
    resp = client.post(
        f"{API}/catalog/services/Audio%20matching/subcategories/Data%20delivery/retire",
        headers=admin,
    )
    assert resp.get_json()["retired"] is True


@pytest.mark.parametrize(
    "method,path,body,status,code",
    [
        ("post", "/catalog/services", {"name": ""}, 422, "validation_failed"),
        (
            "post",
            "/catalog/services",
            {"name": "X", "types": "incident,bug"},
            422,
            "validation_failed",
        ),
        ("post", "/catalog/services", {"name": "X", "types": []}, 422, "validation_failed"),
        ("post", "/catalog/services", {"name": "42"}, 422, "validation_failed"),
        ("post", "/catalog/services", {"name": "Billing"}, 409, "conflict"),
        ("post", "/catalog/services", {"name": "X", "colour": "red"}, 422, "validation_failed"),
        ("patch", "/catalog/services/Nope", {"name": "X"}, 404, "not_found"),
        ("patch", "/catalog/services/Billing", {}, 422, "validation_failed"),
        ("patch", "/catalog/services/Billing", {"name": "Audio matching"}, 409, "conflict"),
        ("post", "/catalog/services/Nope/retire", None, 404, "not_found"),
        (
            "post",
            "/catalog/services/Billing/subcategories",
            {"name": "a\nb"},
            422,
            "validation_failed",
        ),
        (
            "post",
            "/catalog/services/Audio%20matching/subcategories",
            {"name": "portal ACCESS"},
            409,
            "conflict",
        ),
        ("post", "/catalog/services/Billing/subcategories/Nope/retire", None, 404, "not_found"),
        ("post", "/contracts", {"organization": "Acme"}, 422, "validation_failed"),
        ("post", "/contracts", {"organization": "Nope", "services": ["Billing"]}, 404, "not_found"),
        ("post", "/contracts", {"organization": "Acme", "services": ["Nope"]}, 404, "not_found"),
        (
            "post",
            "/contracts",
            {"organization": "Acme", "services": ["Billing"], "sla": "Tin"},
            404,
            "not_found",
        ),
        (
            "post",
            "/contracts",
            {"organization": "Acme", "services": ["Billing"], "from": "2026-13-01"},
            422,
            "validation_failed",
        ),
        (
            "post",
            "/contracts",
            {
                "organization": "Acme",
                "services": ["Billing"],
                "from": "2026-02-01",
                "to": "2026-01-31",
            },
            422,
            "validation_failed",
        ),
        ("post", "/contracts/99/end", {}, 404, "not_found"),
        ("post", "/contracts/1/end", {"on": "yesterday"}, 422, "validation_failed"),
        ("get", "/contracts/99", None, 404, "not_found"),
    ],
)
def test_bad_input_gets_the_one_error_shape_and_changes_nothing(
    client, desk, method, path, body, status, code
):
    before = (Service.select().count(), Subcategory.select().count(), Contract.select().count())
    kwargs = {"json": body} if body is not None else {}
    resp = getattr(client, method)(API + path, headers=as_(desk, desk.admin), **kwargs)
    assert_error(resp, status, code)
    assert (
        Service.select().count(),
        Subcategory.select().count(),
        Contract.select().count(),
    ) == before


@pytest.mark.parametrize("who", ["agent", "requester", "power"])
@pytest.mark.parametrize(
    "method,path,body",
    [
        ("post", "/catalog/services", {"name": "New"}),
        ("patch", "/catalog/services/Billing", {"name": "New"}),
        ("post", "/catalog/services/Billing/retire", None),
        ("post", "/catalog/services/Billing/subcategories", {"name": "New"}),
        ("post", "/catalog/services/Audio%20matching/subcategories/Portal%20access/retire", None),
        ("post", "/contracts", {"organization": "Acme", "services": ["Billing"]}),
        ("post", "/contracts/1/end", {}),
    ],
)
def test_only_admins_change_the_catalogue_and_contracts(client, desk, who, method, path, body):
    before = [(s.name, s.retired_at) for s in Service.select()], Subcategory.select().count()
    kwargs = {"json": body} if body is not None else {}
    resp = getattr(client, method)(API + path, headers=as_(desk, getattr(desk, who)), **kwargs)
    assert_error(resp, 403, "permission_denied")
    assert (
        [(s.name, s.retired_at) for s in Service.select()],
        Subcategory.select().count(),
    ) == before
    assert Contract.get_by_id(1).ends_on is None


@pytest.mark.parametrize("who", ["requester", "power", "other_power"])
def test_customers_do_not_see_contracts(client, desk, who):
    headers = as_(desk, getattr(desk, who))
    assert_error(client.get(f"{API}/contracts", headers=headers), 403, "permission_denied")
    assert_error(client.get(f"{API}/contracts/1", headers=headers), 403, "permission_denied")


def test_contracts_are_added_listed_and_ended(client, desk, clock):
    admin = as_(desk, desk.admin)
    resp = client.post(
        f"{API}/contracts",
        json={
            "organization": "Globex",
            "services": [{"service": "Billing", "display_name": "Invoices"}, "Audio matching"],
            "sla": "gold",
            "from": "2026-01-01",
            "to": "2026-12-31",
        },
        headers=admin,
    )
    assert resp.status_code == 201, resp.get_json()
    contract = resp.get_json()
    assert contract["services"] == [
        {"id": 1, "name": "Audio matching", "display_name": None},
        {"id": 2, "name": "Billing", "display_name": "Invoices"},
    ]
    assert (contract["sla"], contract["from"], contract["to"]) == (
        "Gold",
        "2026-01-01",
        "2026-12-31",
    )
    listed = client.get(f"{API}/contracts?organization=Globex", headers=as_(desk, desk.agent))
    assert [c["id"] for c in listed.get_json()["items"]] == [contract["id"]]
    ended = client.post(
        f"{API}/contracts/{contract['id']}/end", json={"on": "2026-06-30"}, headers=admin
    ).get_json()
    assert ended["to"] == "2026-06-30"
    assert_error(
        client.post(
            f"{API}/contracts/{contract['id']}/end", json={"on": "2025-12-31"}, headers=admin
        ),
        422,
        "validation_failed",
    )


# -- what each caller may use -------------------------------------------------------------


def test_a_customer_sees_only_their_contracts_services_by_their_name(client, desk):
    items = client.get(f"{API}/catalog", headers=as_(desk, desk.requester)).get_json()["items"]
    assert [(o["name"], o["display_name"], o["organization"]) for o in items] == [
        ("Audio matching", "Matching", "Acme")
    ]
    assert [s["name"] for s in items[0]["subcategories"]] == ["Data delivery", "Portal access"]


def test_another_organizations_customer_sees_none_of_acmes(client, desk):
    resp = client.get(f"{API}/catalog", headers=as_(desk, desk.other_power))
    assert resp.get_json() == {"items": [], "total": 0}


def test_agents_see_every_open_service_and_retired_ones_on_request(client, desk):
    catalog.retire_service("Billing", actor=desk.admin)
    catalog.retire_subcategory("Audio matching", "Portal access", actor=desk.admin)
    agent = as_(desk, desk.agent)
    items = client.get(f"{API}/catalog", headers=agent).get_json()["items"]
    assert [(o["name"], o["retired"]) for o in items] == [("Audio matching", False)]
    items = client.get(f"{API}/catalog?retired=true", headers=agent).get_json()["items"]
    assert [(o["name"], o["retired"]) for o in items] == [
        ("Audio matching", False),
        ("Billing", True),
    ]
    assert [(s["name"], s["retired"]) for s in items[0]["subcategories"]] == [
        ("Data delivery", False),
        ("Portal access", True),
    ]


def test_an_ended_contract_takes_its_services_away(client, desk, clock):
    contracts.end_contract(1, actor=desk.admin)
    clock.advance(days=1)
    items = client.get(f"{API}/catalog", headers=as_(desk, desk.requester)).get_json()["items"]
    assert items == []


def test_a_customer_cannot_submit_to_a_service_outside_their_contracts(client, desk):
    resp = submit(client, desk, desk.requester, type="question", service="Billing")
    error = assert_error(resp, 422, "validation_failed")
    assert "Matching" in error["message"]
    assert Ticket.select().count() == 0


def test_a_customer_must_name_a_service_once_their_organization_has_a_contract(client, desk):
    error = assert_error(submit(client, desk, desk.requester), 422, "validation_failed")
    assert error["details"]["field"] == "service"
    assert error["details"]["choices"] == ["Matching"]


def test_a_customer_submits_by_their_name_for_the_service(client, desk):
    resp = submit(client, desk, desk.requester, service="Matching", subcategory="data delivery")
    assert resp.status_code == 201, resp.get_json()
    ticket = resp.get_json()
    assert ticket["service"] == {"id": 1, "name": "Audio matching", "display_name": "Matching"}
    assert ticket["subcategory"] == {"id": 1, "name": "Data delivery"}


def test_agents_file_for_any_open_service_on_behalf_of_a_customer(client, desk):
    resp = submit(
        client, desk, desk.agent, type="question", service="Billing", requester=desk.requester.email
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["service"]["name"] == "Billing"


def test_a_retired_service_cannot_be_chosen_but_old_tickets_keep_it(client, desk):
    old = submit(client, desk, desk.requester, service="Matching", subcategory="Portal access")
    catalog.retire_service("Audio matching", actor=desk.admin)
    resp = submit(
        client,
        desk,
        desk.agent,
        service="Audio matching",
        subcategory="Portal access",
        requester=desk.requester.email,
    )
    assert "retired" in assert_error(resp, 422, "validation_failed")["message"]
    shown = client.get(
        f"{API}/tickets/{old.get_json()['reference']}", headers=as_(desk, desk.requester)
    ).get_json()
    assert shown["service"]["name"] == "Audio matching"
    assert shown["subcategory"]["name"] == "Portal access"


# -- the service on tickets ---------------------------------------------------------------


def test_lists_show_and_filter_by_service_without_a_query_per_row(client, desk, monkeypatch):
    from helpdesk.db import database

    for n in range(3):
        submit(
            client,
            desk,
            desk.requester,
            service="Matching",
            subcategory="Data delivery",
            title=f"T{n}",
        )
    submit(
        client, desk, desk.agent, type="question", service="Billing", requester=desk.requester.email
    )
    agent = as_(desk, desk.agent)
    listed = client.get(f"{API}/tickets?service=Audio%20matching", headers=agent).get_json()
    assert listed["total"] == 3
    assert {t["service"]["display_name"] for t in listed["items"]} == {"Matching"}
    customer = client.get(f"{API}/tickets?service=Matching", headers=as_(desk, desk.requester))
    assert customer.get_json()["total"] == 3
    assert client.get(f"{API}/tickets?service=2", headers=agent).get_json()["total"] == 1

    queries = []
    original = database.execute_sql

    def counting(sql, *args, **kwargs):
        queries.append(sql)
        return original(sql, *args, **kwargs)

    monkeypatch.setattr(database.obj, "execute_sql", counting)
    client.get(f"{API}/tickets?per_page=2", headers=agent)
    two = len(queries)
    queries.clear()
    client.get(f"{API}/tickets?per_page=4", headers=agent)
    assert len(queries) == two


def test_a_list_filtered_by_an_unknown_service_says_so(client, desk):
    resp = client.get(f"{API}/tickets?service=Nope", headers=as_(desk, desk.agent))
    assert "Nope" in assert_error(resp, 422, "validation_failed")["message"]


# -- editing the service ------------------------------------------------------------------


def ticket_on_matching(client, desk):
    resp = submit(client, desk, desk.requester, service="Matching", subcategory="Data delivery")
    return resp.get_json()["reference"]


def test_an_agent_moves_a_ticket_to_another_service_with_history_and_mail(client, desk, mailbox):
    ref = ticket_on_matching(client, desk)
    deliver()
    mailbox.messages.clear()
    resp = client.patch(
        f"{API}/tickets/{ref}",
        json={"type": "question", "service": "Billing"},
        headers=as_(desk, desk.agent),
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["service"]["name"] == "Billing" and body["subcategory"] is None
    assert set(body["changed"]) == {"type", "service", "subcategory"}
    events = {
        e.kind: (e.from_value, e.to_value)
        for e in Event.select().where(Event.kind.in_(["service", "subcategory"]))
    }
    assert events == {
        "service": ("Audio matching", "Billing"),
        "subcategory": ("Data delivery", None),
    }
    deliver()
    [mail] = mailbox.by_recipient(desk.requester.email)
    assert "Audio matching → Billing" in mail.get_body(("plain",)).get_content()


def test_an_agent_changes_the_subcategory_only(client, desk):
    ref = ticket_on_matching(client, desk)
    resp = client.patch(
        f"{API}/tickets/{ref}", json={"subcategory": "Portal access"}, headers=as_(desk, desk.agent)
    )
    assert resp.get_json()["subcategory"]["name"] == "Portal access"
    assert resp.get_json()["changed"] == ["subcategory"]


@pytest.mark.parametrize(
    "body,word",
    [
        ({"subcategory": "Sync"}, "Sync"),
        ({"service": "Nope"}, "Nope"),
        ({"service": "Billing"}, "question"),  # an incident: Billing takes questions only
        ({"service": "Retired"}, "retired"),
        ({"service": ""}, "service"),
    ],
)
def test_a_bad_service_edit_is_refused_and_changes_nothing(client, desk, body, word):
    catalog.add_service("Retired", actor=desk.admin)
    catalog.retire_service("Retired", actor=desk.admin)
    ref = ticket_on_matching(client, desk)
    events = Event.select().count()
    resp = client.patch(f"{API}/tickets/{ref}", json=body, headers=as_(desk, desk.agent))
    assert word in assert_error(resp, resp.status_code, resp.get_json()["error"]["code"])["message"]
    assert resp.status_code in (404, 422)
    ticket = Ticket.get()
    assert (ticket.service.name, ticket.subcategory.name) == ("Audio matching", "Data delivery")
    assert Event.select().count() == events


@pytest.mark.parametrize("who,status", [("requester", 403), ("power", 403), ("other_power", 404)])
def test_customers_cannot_change_the_service(client, desk, who, status):
    ref = ticket_on_matching(client, desk)
    resp = client.patch(
        f"{API}/tickets/{ref}",
        json={"subcategory": "Portal access"},
        headers=as_(desk, getattr(desk, who)),
    )
    assert resp.status_code == status
    assert Ticket.get().subcategory.name == "Data delivery"


@pytest.mark.parametrize(
    "language,label", [("en", "Service"), ("fr", "Service"), ("it", "Servizio"), ("cs", "Služba")]
)
def test_mails_name_the_service_as_each_reader_calls_it(
    client, desk, mailbox, monkeypatch, language, label
):
    monkeypatch.setenv("HELPDESK_NOTIFY_UNASSIGNED", "all")
    desk.requester.language = language
    desk.requester.save()
    submit(client, desk, desk.requester, service="Matching", subcategory="Data delivery")
    deliver()
    [received] = mailbox.by_recipient(desk.requester.email)
    assert f"{label}: Matching / Data delivery" in received.get_body(("plain",)).get_content()
    assert f"{label}: Matching / Data delivery" in received.get_body(("html",)).get_content()
    [to_agent] = mailbox.by_recipient(desk.agent.email)
    assert "Service: Audio matching / Data delivery" in to_agent.get_body(("plain",)).get_content()


def test_a_new_type_must_be_one_the_tickets_service_takes(client, desk):
    resp = submit(
        client,
        desk,
        desk.agent,
        type="question",
        service="Billing",
        requester=desk.requester.email,
    )
    ref = resp.get_json()["reference"]
    resp = client.patch(
        f"{API}/tickets/{ref}", json={"type": "incident"}, headers=as_(desk, desk.agent)
    )
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"]["choices"] == ["question"]
    assert Ticket.get().type == "question"

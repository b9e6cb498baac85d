"""The priority policy through the real HTTP API: a configurable matrix, what each request type
asks the customer for, and an agent's override that later edits keep."""

from __future__ import annotations

import pytest

from helpdesk.models import Event, Ticket

API = "/api/v1"


def submit(client, world, user=None, **fields):
    body = {"type": "incident", "title": "Mail server down", **fields}
    return client.post(f"{API}/tickets", json=body, headers=world.headers(user or world.requester))


def set_type(client, world, type_, asks, default=None):
    body = {"asks": asks} | ({"default": default} if default else {})
    resp = client.put(
        f"{API}/priority/types/{type_}", json=body, headers=world.headers(world.admin)
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_the_default_policy_is_todays_matrix_and_asks_impact_and_urgency(client, world):
    resp = client.get(f"{API}/priority", headers=world.headers(world.requester))
    assert resp.status_code == 200
    policy = resp.get_json()
    cells = {(c["impact"], c["urgency"]): c["priority"] for c in policy["matrix"]}
    assert cells[("high", "high")] == "critical" and cells[("low", "low")] == "low"
    assert len(cells) == 9 and not any(c["configured"] for c in policy["matrix"])
    assert [(p["type"], p["asks"], p["default"], p["configured"]) for p in policy["types"]] == [
        ("incident", "impact-urgency", "medium", False),
        ("feature", "impact-urgency", "medium", False),
        ("question", "impact-urgency", "medium", False),
    ]


def test_an_admin_changes_a_cell_and_new_tickets_follow_it(client, world):
    resp = client.put(
        f"{API}/priority/matrix/low/low",
        json={"priority": "medium"},
        headers=world.headers(world.admin),
    )
    assert resp.status_code == 200, resp.get_json()
    [cell] = [c for c in resp.get_json()["matrix"] if (c["impact"], c["urgency"]) == ("low", "low")]
    assert cell == {"impact": "low", "urgency": "low", "priority": "medium", "configured": True}
    created = submit(client, world, impact="low", urgency="low")
    assert created.status_code == 201
    assert created.get_json()["priority"] == "medium"
    # Another cell keeps its default.
    assert submit(client, world, impact="low", urgency="medium").get_json()["priority"] == "low"


@pytest.mark.parametrize("who", ["agent", "requester", "power"])
def test_only_admins_change_the_policy(client, world, who):
    headers = world.headers(getattr(world, who))
    resp = client.put(f"{API}/priority/matrix/low/low", json={"priority": "high"}, headers=headers)
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "permission_denied"
    resp = client.put(f"{API}/priority/types/incident", json={"asks": "nothing"}, headers=headers)
    assert resp.status_code == 403
    policy = client.get(f"{API}/priority", headers=headers).get_json()
    assert not any(c["configured"] for c in policy["matrix"] + policy["types"])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/priority/matrix/huge/low", {"priority": "high"}, "impact"),
        ("/priority/matrix/low/low", {"priority": "urgent"}, "priority"),
        ("/priority/types/incident", {"asks": "everything"}, "asks"),
        ("/priority/types/incident", {"asks": "nothing", "default": "now"}, "default"),
        ("/priority/types/outage", {"asks": "nothing"}, "type"),
        ("/priority/types/incident", {"asks": "priority", "choices": "low,asap"}, "choices"),
        ("/priority/types/incident", {"asks": "priority", "choices": []}, "choices"),
    ],
)
def test_bad_policy_values_are_422(client, world, path, body, field):
    resp = client.put(f"{API}{path}", json=body, headers=world.headers(world.admin))
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"]["field"] == field


def test_a_type_that_asks_for_impact_and_urgency_refuses_a_priority(client, world):
    resp = submit(client, world, priority="high")
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "not_asked"
    assert error["message"] == "incident tickets ask for impact and urgency, not priority."
    assert Ticket.select().count() == 0


def test_a_type_that_asks_for_a_priority_takes_it_and_refuses_impact(client, world):
    set_type(client, world, "incident", "priority", default="low")
    resp = submit(client, world, priority="high")
    assert resp.status_code == 201
    assert resp.get_json()["priority"] == "high"
    assert submit(client, world).get_json()["priority"] == "low"  # none given: the default
    refused = submit(client, world, impact="high", urgency="high")
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["message"] == "incident tickets ask for a priority, not impact or urgency."
    assert error["details"] == {
        "type": "incident",
        "asks": "priority",
        "refused": ["impact", "urgency"],
        "request_type": "incident",
        "first": "impact",
        "second": "urgency",
    }
    assert Ticket.select().count() == 2
    # Other types still ask for impact and urgency.
    question = submit(client, world, type="question", impact="high", urgency="high")
    assert question.get_json()["priority"] == "critical"


def test_a_submitter_picks_among_the_types_choices_low_medium_high_unless_configured(client, world):
    """The guide offers low, medium and high for "something is broken": critical is not the
    customer's to pick, unless an admin says otherwise."""
    policy = set_type(client, world, "incident", "priority")
    [incident] = [p for p in policy["types"] if p["type"] == "incident"]
    assert incident["choices"] == ["low", "medium", "high"]
    refused = submit(client, world, priority="critical")
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["details"]["field"] == "priority"
    assert "low, medium, high" in error["message"]
    assert Ticket.select().count() == 0

    policy = client.put(
        f"{API}/priority/types/incident",
        json={"asks": "priority", "choices": ["critical", "high"]},
        headers=world.headers(world.admin),
    ).get_json()
    assert [p["choices"] for p in policy["types"] if p["type"] == "incident"] == [
        ["high", "critical"]
    ]
    assert submit(client, world, priority="critical").get_json()["priority"] == "critical"
    assert submit(client, world, priority="low").status_code == 422
    # Changing what the type asks keeps the choices an admin gave.
    policy = set_type(client, world, "incident", "priority", default="high")
    assert [p["choices"] for p in policy["types"] if p["type"] == "incident"] == [
        ["high", "critical"]
    ]


def test_a_type_that_asks_nothing_gets_the_default(client, world):
    set_type(client, world, "question", "nothing", default="low")
    resp = submit(client, world, type="question")
    assert resp.status_code == 201
    assert resp.get_json()["priority"] == "low"
    for field, value in (("priority", "high"), ("urgency", "high")):
        refused = submit(client, world, type="question", **{field: value})
        assert refused.status_code == 422
        assert refused.get_json()["error"]["message"] == (
            f"question tickets ask for nothing (its priority is always low), not {field}."
        )


def test_an_agents_override_is_kept_when_impact_changes_later(client, world):
    ticket = world.ticket(impact="low", urgency="low")
    agent = world.headers(world.agent)
    url = f"{API}/tickets/{ticket.reference}"
    assert client.get(url, headers=agent).get_json()["priority_overridden"] is False
    resp = client.patch(url, json={"priority": "critical"}, headers=agent)
    assert resp.status_code == 200
    assert (resp.get_json()["priority"], resp.get_json()["priority_overridden"]) == (
        "critical",
        True,
    )
    [override] = Event.select().where(Event.kind == "priority_override")
    assert (override.actor.email, override.from_value, override.to_value) == (
        "agent@example.test",
        "low",
        "critical",
    )
    # A later impact or urgency edit does not recompute it (low x low would give low).
    resp = client.patch(url, json={"impact": "medium", "urgency": "low"}, headers=agent)
    assert resp.status_code == 200
    assert resp.get_json()["changed"] == ["impact"]
    assert resp.get_json()["priority"] == "critical"
    assert Ticket.get_by_id(ticket.id).priority == "critical"


def test_without_an_override_an_impact_edit_recomputes_the_priority(client, world):
    ticket = world.ticket(impact="low", urgency="low")
    resp = client.patch(
        f"{API}/tickets/{ticket.reference}",
        json={"impact": "high", "urgency": "high"},
        headers=world.headers(world.agent),
    )
    assert resp.get_json()["priority"] == "critical"
    assert resp.get_json()["priority_overridden"] is False

"""The ticket list's unassigned filter and sort orders, through the API (the queue uses them)."""

from __future__ import annotations

import pytest
from test_error_shape import assert_error

from helpdesk.services import tickets

API = "/api/v1"


def references(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [item["reference"] for item in resp.get_json()["items"]]


def listed(client, world, **query) -> list[str]:
    return references(
        client.get(f"{API}/tickets", query_string=query, headers=world.headers(world.agent))
    )


def test_unassigned_lists_only_tickets_nobody_has(client, world):
    taken = world.ticket(title="taken")
    free = world.ticket(title="free")
    tickets.assign(taken.reference, "me", actor=world.agent)
    assert listed(client, world, unassigned="true") == [free.reference]
    assert set(listed(client, world, unassigned="false")) == {taken.reference, free.reference}


def test_sort_by_priority_follows_the_scale_not_the_alphabet(client, world, clock):
    made = {}
    for priority in ("medium", "critical", "low", "high"):
        ticket = world.ticket(title=priority)
        tickets.edit_ticket(ticket.reference, {"priority": priority}, actor=world.agent)
        made[priority] = ticket.reference
        clock.advance(minutes=1)
    scale = [made[p] for p in ("critical", "high", "medium", "low")]
    assert listed(client, world, sort="priority") == scale  # highest first by default
    assert listed(client, world, sort="priority", dir="desc") == scale
    assert listed(client, world, sort="priority", dir="asc") == scale[::-1]


def test_sort_by_status_follows_the_workflow(client, world):
    made = {s: world.ticket(status=s, title=s).reference for s in ("pending", "new", "closed")}
    assert listed(client, world, sort="status") == [made["new"], made["pending"], made["closed"]]
    assert listed(client, world, sort="status", dir="desc")[0] == made["closed"]


def test_sort_by_reference_created_and_updated(client, world, clock):
    first, second, third = (world.ticket(title=str(i)) for i in range(3))
    in_order = [first.reference, second.reference, third.reference]
    assert listed(client, world, sort="reference") == in_order
    assert listed(client, world, sort="reference", dir="desc") == in_order[::-1]
    assert listed(client, world) == in_order[::-1]  # no sort: newest first, as before
    assert listed(client, world, sort="created", dir="asc") == in_order
    clock.advance(minutes=5)
    tickets.add_comment(first.reference, "Looking at it.", actor=world.agent)
    assert listed(client, world, sort="updated")[0] == first.reference
    assert listed(client, world, sort="updated", dir="asc")[-1] == first.reference


@pytest.mark.parametrize(
    ("query", "field"),
    [({"sort": "colour"}, "sort"), ({"sort": "status", "dir": "up"}, "dir")],
)
def test_an_unknown_sort_or_direction_is_refused_with_the_choices(client, world, query, field):
    resp = client.get(f"{API}/tickets", query_string=query, headers=world.headers(world.agent))
    assert_error(resp, 422, "validation_failed")
    assert resp.get_json()["error"]["details"]["field"] == field

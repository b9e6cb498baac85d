"""Priority follows from impact and urgency, as a customer submitting through the API sees it."""

from __future__ import annotations

import pytest

# fmt: off
EXPECTED_PRIORITY = {
    # (impact,  urgency):  priority
    ("high",   "high"):   "critical",
    ("high",   "medium"): "high",
    ("high",   "low"):    "medium",
    ("medium", "high"):   "high",
    ("medium", "medium"): "medium",
    ("medium", "low"):    "low",
    ("low",    "high"):   "medium",
    ("low",    "medium"): "low",
    ("low",    "low"):    "low",
}
# fmt: on


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [(i, u, p) for (i, u), p in EXPECTED_PRIORITY.items()],
    ids=[f"{i}-impact-{u}-urgency" for (i, u) in EXPECTED_PRIORITY],
)
def test_priority_from_impact_and_urgency(client, world, impact, urgency, priority):
    headers = world.headers(world.requester)
    resp = client.post(
        "/api/v1/tickets",
        json={
            "type": "incident",
            "title": "Mail server down",
            "impact": impact,
            "urgency": urgency,
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["impact"], body["urgency"], body["priority"]) == (impact, urgency, priority)
    stored = client.get(resp.headers["Location"], headers=headers).get_json()
    assert stored["priority"] == priority


def test_table_covers_every_combination():
    levels = ("low", "medium", "high")
    assert set(EXPECTED_PRIORITY) == {(i, u) for i in levels for u in levels}

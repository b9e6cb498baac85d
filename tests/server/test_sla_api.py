"""SLA policies and calendars through the real HTTP API."""

from __future__ import annotations

API = "/api/v1/sla"


def test_admin_adds_calendar_holiday_and_policy(client, world):
    admin = world.headers(world.admin)
    resp = client.post(
        f"{API}/calendars",
        json={
            "name": "Prague office",
            "timezone": "Europe/Prague",
            "days": "mon-fri",
            "hours": "09:00-17:00",
        },
        headers=admin,
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["days"] == ["mon", "tue", "wed", "thu", "fri"]
    resp = client.post(
        f"{API}/calendars/Prague office/holidays",
        json={"date": "2026-12-24", "name": "Christmas Eve"},
        headers=admin,
    )
    assert resp.status_code == 201, resp.json
    resp = client.post(
        f"{API}/policies",
        json={
            "name": "Gold",
            "targets": ["high:30m:4h", "incident/low:4h:2d"],
            "calendar": "Prague office",
        },
        headers=admin,
    )
    assert resp.status_code == 201, resp.json
    shown = client.get(f"{API}/policies/Gold", headers=world.headers(world.agent)).json
    assert shown["calendar"]["holidays"] == [{"date": "2026-12-24", "name": "Christmas Eve"}]
    assert {
        (t["type"], t["priority"], t["response_minutes"], t["resolution_minutes"])
        for t in shown["targets"]
    } == {(None, "high", 30, 240), ("incident", "low", 240, 2880)}


def test_policy_verbs_are_for_admins_and_listing_for_agents(client, world):
    body = {"name": "Gold", "targets": ["high:30m:4h"]}
    assert (
        client.post(f"{API}/policies", json=body, headers=world.headers(world.agent)).status_code
        == 403
    )
    assert client.get(f"{API}/policies", headers=world.headers(world.requester)).status_code == 403
    assert client.get(f"{API}/policies", headers=world.headers(world.agent)).json == {"items": []}


def test_bad_targets_and_calendars_are_refused_clearly(client, world):
    admin = world.headers(world.admin)
    for targets, needle in [
        (["high:30m"], "PRIORITY:RESPONSE:RESOLUTION"),
        (["urgent:30m:4h"], "priority"),
        (["high:4h:30m"], "shorter"),
        (["high:30m:4h", "high:1h:8h"], "Two targets"),
        (["high:soon:4h"], "response"),
        ([], "at least one target"),
    ]:
        resp = client.post(f"{API}/policies", json={"name": "X", "targets": targets}, headers=admin)
        assert resp.status_code == 422, (targets, resp.json)
        assert needle in resp.json["error"]["message"], resp.json
    resp = client.post(
        f"{API}/policies",
        json={"name": "X", "targets": ["high:1h:2h"], "calendar": "Nope"},
        headers=admin,
    )
    assert resp.status_code == 404
    for body in [
        {"name": "C", "timezone": "Mars/Olympus"},
        {"name": "C", "days": "fri-mon"},
        {"name": "C", "hours": "17:00-09:00"},
        {"name": "C", "hours": "9-5"},
    ]:
        resp = client.post(f"{API}/calendars", json=body, headers=admin)
        assert resp.status_code == 422, (body, resp.json)
    assert client.get(f"{API}/calendars", headers=admin).json == {"items": []}


def test_a_policy_id_no_row_can_have_is_not_found_not_a_500(client, world):
    headers = world.headers(world.agent)
    for name in ("²", "99999999999999999999"):  # isdigit() but not int(); past 2**63 - 1
        response = client.get(f"/api/v1/sla/policies/{name}", headers=headers)
        assert response.status_code == 404, name
        assert response.get_json()["error"]["code"] == "not_found"

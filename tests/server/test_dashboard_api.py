"""GET /api/v1/dashboard: every count equals a brute-force Python count over generated tickets,
for a customer, a power user and an agent; nobody counts a ticket they may not see; SLA clocks
past due are counted as the frozen clock moves; the agents' counts read the tally and indexes
only."""

from __future__ import annotations

import logging
import random
from datetime import datetime

import pytest
from conftest import ON_POSTGRES
from test_ticket_lists_api import visible_to

from helpdesk import sla_clock
from helpdesk.db import database
from helpdesk.models import Ticket, User
from helpdesk.services import catalog, contracts, sla, tickets
from helpdesk.services.dashboard import DASHBOARD_STATUSES
from helpdesk.vocabulary import PRIORITIES, TICKET_TYPES

API = "/api/v1/dashboard"
PATHS = ((), ("open",), ("open", "pending"), ("open", "resolved"), ("closed",), ("open", "closed"))
# Monday 30 November 2026, 08:00 UTC.
MONDAY = datetime(2026, 11, 30, 8, 0)


def with_sla(world) -> None:
    """Acme's contract carries a policy (Globex's tickets have no SLA clocks)."""
    sla.add_policy("Gold", [f"{p}:1h:8h" for p in PRIORITIES], actor=world.admin)
    catalog.add_service("Audio matching", actor=world.admin)
    contracts.add_contract("Acme", ["Audio matching"], actor=world.admin, sla="Gold")


def build_desk(world, clock, n: int = 40, seed: int = 11) -> None:
    """Tickets in every status and priority from customers of two organizations, some private,
    some shared, some assigned (to two agents), Acme's on the SLA'd service; by the services."""
    rng = random.Random(seed)
    second_agent = User.create(email="bo@example.test", name="Bo Agent", kind="agent")
    for _ in range(n):
        submitter = rng.choice([world.requester, world.colleague, world.power, world.other_power])
        on_contract = submitter is not world.other_power  # Acme's contract names a service
        ticket = tickets.submit_ticket(
            actor=submitter,
            type=rng.choice(TICKET_TYPES),
            title="Matching stopped",
            private=rng.random() < 0.3,
            **({"service": "Audio matching"} if on_contract else {}),
        )
        ref = ticket.reference
        if rng.random() < 0.5:
            tickets.edit_ticket(ref, {"priority": rng.choice(PRIORITIES)}, actor=world.agent)
        if submitter is not world.other_power and rng.random() < 0.3:
            tickets.share_ticket(ref, [world.shared.email], actor=submitter)
        path = rng.choice(PATHS)
        if rng.random() < 0.5:
            assignee = rng.choice([world.agent, second_agent])
            tickets.assign(ref, assignee.email, actor=world.agent)  # new -> open
            path = path[1:] if path[:1] == ("open",) else path
        for status in path:
            tickets.change_status(ref, status, actor=world.agent)
        clock.advance(minutes=rng.choice((5, 30, 90)))


def by_status(rows) -> dict[str, int]:
    return {s: sum(1 for t in rows if t.status == s) for s in DASHBOARD_STATUSES}


def brute_force(user, now) -> dict:
    """What the dashboard must answer, counted in Python over every ticket."""
    rows = list(Ticket.select())
    seen = visible_to(user, rows)
    agent = user.kind in ("agent", "admin")
    mine = [t for t in seen if (t.assignee_id if agent else t.requester_id) == user.id]
    power_orgs = {m.organization_id for m in user.memberships if m.role == "power"}
    expected = {
        "statuses": list(DASHBOARD_STATUSES),
        "priorities": list(PRIORITIES),
        "mine": by_status(mine),
        "organization": by_status([t for t in seen if t.organization_id in power_orgs])
        if power_orgs
        else None,
        "agent": None,
    }
    if agent:
        expected["agent"] = {
            "by_status_priority": {
                s: {p: sum(1 for t in rows if (t.status, t.priority) == (s, p)) for p in PRIORITIES}
                for s in DASHBOARD_STATUSES
            },
            "unassigned": by_status([t for t in rows if t.assignee_id is None]),
            "breaching": sum(
                1 for t in rows if any(c["due"] <= now for c in sla_clock.running(t, now).values())
            ),
        }
    return expected


def dashboard_of(client, world, user) -> dict:
    resp = client.get(API, headers=world.headers(user))
    assert resp.status_code == 200, resp.json
    return resp.json


@pytest.mark.parametrize("who", ["requester", "colleague", "shared", "power", "agent"])
def test_every_count_equals_a_brute_force_count(client, world, clock, who):
    clock.freeze(MONDAY)
    with_sla(world)
    build_desk(world, clock)
    clock.advance(hours=2)  # the first response clocks of the earliest tickets run out
    user = getattr(world, who)
    expected = brute_force(user, clock.now())
    assert dashboard_of(client, world, user) == expected
    if who == "agent":
        assert 0 < expected["agent"]["breaching"] < Ticket.select().count()  # a real test
        assert sum(expected["agent"]["unassigned"].values()) > 0
    if who == "power":
        assert sum(expected["organization"].values()) > sum(expected["mine"].values())


def test_a_customer_never_counts_what_they_may_not_see(client, world):
    acme_private = tickets.submit_ticket(
        actor=world.colleague, type="incident", title="Mine alone", private=True
    )
    tickets.submit_ticket(actor=world.other_power, type="incident", title="Globex's")
    tickets.submit_ticket(actor=world.colleague, type="incident", title="Carl's public")
    assert dashboard_of(client, world, world.requester)["mine"]["new"] == 0
    power = dashboard_of(client, world, world.power)
    assert power["mine"]["new"] == 0
    assert power["organization"]["new"] == 1  # Carl's public one: not his private one, nor Globex's
    assert power["agent"] is None
    other = dashboard_of(client, world, world.other_power)
    assert other["organization"]["new"] == 1  # Globex's own, nothing of Acme's
    # Shared with a colleague: the colleague sees it, and a power user still does not count it.
    tickets.share_ticket(acme_private.reference, [world.requester.email], actor=world.colleague)
    assert dashboard_of(client, world, world.power)["organization"]["new"] == 1
    assert dashboard_of(client, world, world.colleague)["mine"]["new"] == 2


def test_breaching_counts_running_clocks_past_due_as_time_passes(client, world, clock):
    clock.freeze(MONDAY)
    assert dashboard_of(client, world, world.agent)["agent"]["breaching"] is None  # no SLA yet
    with_sla(world)
    assert dashboard_of(client, world, world.agent)["agent"]["breaching"] == 0
    first = tickets.submit_ticket(
        actor=world.requester, type="incident", title="Down", service="Audio matching"
    )
    tickets.submit_ticket(actor=world.other_power, type="incident", title="No SLA")
    clock.advance(minutes=59)
    assert dashboard_of(client, world, world.agent)["agent"]["breaching"] == 0
    clock.advance(minutes=2)  # the 1h response target is missed
    assert dashboard_of(client, world, world.agent)["agent"]["breaching"] == 1
    tickets.add_comment(first.reference, "Looking", actor=world.agent)  # response given
    assert dashboard_of(client, world, world.agent)["agent"]["breaching"] == 0
    tickets.change_status(first.reference, "open", actor=world.agent)
    tickets.change_status(first.reference, "pending", actor=world.agent)
    clock.advance(hours=10)  # past the 8h resolution target, but its clock is paused
    assert dashboard_of(client, world, world.agent)["agent"]["breaching"] == 0
    tickets.change_status(first.reference, "open", actor=world.agent)  # runs again, due moved
    assert dashboard_of(client, world, world.agent)["agent"]["breaching"] == 0
    clock.advance(hours=8)
    assert dashboard_of(client, world, world.agent)["agent"]["breaching"] == 1


def test_the_dashboard_needs_a_login(client, world):
    resp = client.get(API)
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "authentication_required"


def agent_queries(world, caplog, table: str = "ticket") -> list[tuple[str, list]]:
    """The SQL (and parameters) the agent's dashboard runs on a table."""
    from helpdesk.services import dashboard

    caplog.set_level(logging.DEBUG, logger="peewee")  # peewee logs each (sql, params) it runs
    caplog.clear()
    dashboard.dashboard(actor=world.agent)
    caplog.set_level(logging.WARNING, logger="peewee")
    logged = [r.msg for r in caplog.records if r.name == "peewee" and isinstance(r.msg, tuple)]
    return [(sql, params) for sql, params in logged if f'"{table}"' in sql]


def test_the_agents_counts_read_the_tally_and_indexes_not_the_ticket_table(world, clock, caplog):
    clock.freeze(MONDAY)
    with_sla(world)
    [tallied] = agent_queries(world, caplog, "ticket_tally")
    counts = agent_queries(world, caplog)
    # Status x priority and unassigned come from the tally: what is left on the ticket table is
    # the agent's own tickets and the SLA clocks past due (response, resolution, both).
    assert '"ticket"' not in tallied[0]
    assert len(counts) == 4 and all("GROUP BY" in sql for sql, _ in counts)
    assert not any('"priority"' in sql or '"assignee_id" IS NULL' in sql for sql, _ in counts)
    assert any('"assignee_id" = ' in sql for sql, _ in counts)
    for sql, params in counts:
        if ON_POSTGRES:
            # A tiny table is scanned whatever its indexes: ask the planner as if it were large.
            database.execute_sql("SET enable_seqscan = off")
            plan = "\n".join(r[0] for r in database.execute_sql("EXPLAIN " + sql, params))
            database.execute_sql("SET enable_seqscan = on")
            assert "Seq Scan on ticket" not in plan, plan
        else:
            plan = [r[-1] for r in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params)]
            assert not any(step.startswith("SCAN") for step in plan), plan
            assert any("INDEX ticket_" in step for step in plan), plan
            if "_due_at" in sql:  # the clocks: from an index alone, no ticket row read
                assert len(plan) == 1 and "USING COVERING INDEX" in plan[0], plan

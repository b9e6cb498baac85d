"""SLA clocks, hand-worked, with a frozen clock: business hours across a night and a weekend,
a pending pause, a reopen, a priority change, the breach check and its emails, the report.

Calendar "Prague": Europe/Prague (UTC+1 in November/December), Monday to Friday, 09:00-17:00.
Policy "Gold" on it: critical 30m:4h; low, medium and high 4h:16h.
Times below are Prague local time unless they end in Z.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from helpdesk import sla_clock, workflow
from helpdesk.models import Event, OutboxMessage, Ticket
from helpdesk.services import catalog, contracts, sla, tickets

# Friday 27 November 2026, 15:30 in Prague.
FRIDAY_1530 = datetime(2026, 11, 27, 14, 30)


def z(text: str) -> str:
    """An API timestamp: "2026-11-30 10:30" (UTC) -> "2026-11-30T10:30:00+00:00"."""
    return datetime.fromisoformat(text).isoformat() + "+00:00"


@pytest.fixture
def gold(world):
    admin = world.admin
    sla.add_calendar(
        "Prague", actor=admin, timezone="Europe/Prague", days="mon-fri", hours="09:00-17:00"
    )
    sla.add_policy(
        "Gold",
        ["critical:30m:4h", "high:4h:16h", "medium:4h:16h", "low:4h:16h"],
        actor=admin,
        calendar="Prague",
    )
    sla.add_policy(
        "Basic", ["critical:1h:4h", "high:1h:4h", "medium:1h:4h", "low:1h:4h"], actor=admin
    )
    catalog.add_service("Audio matching", actor=admin)
    catalog.add_service("Data delivery", actor=admin)
    contracts.add_contract("Acme", ["Audio matching"], actor=admin, sla="Gold")
    contracts.add_contract("Globex", ["Data delivery"], actor=admin, sla="Basic")
    return world


def submit(world, *, service="Audio matching", requester=None, **fields) -> Ticket:
    return tickets.submit_ticket(
        actor=requester or world.requester,
        type=fields.pop("type", "incident"),
        title=fields.pop("title", "Matching stopped"),
        service=service,
        **fields,
    )


def sla_of(client, world, ticket, who=None) -> dict:
    resp = client.get(
        f"/api/v1/tickets/{ticket.reference}", headers=world.headers(who or world.agent)
    )
    assert resp.status_code == 200, resp.json
    return resp.json["sla"]


def at(clock, text: str) -> None:
    """Move the frozen clock forward to this UTC time."""
    moment = datetime.fromisoformat(text)
    assert moment >= clock.now()
    clock.advance(seconds=(moment - clock.now()).total_seconds())


def test_business_hours_across_the_night_and_the_weekend(client, gold, clock):
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    state = sla_of(client, gold, ticket)
    # Response 4h: Friday 15:30-17:00 (1h30), Monday 09:00 + 2h30 = 11:30 (10:30Z).
    assert state["response"]["due_at"] == z("2026-11-30 10:30")
    # Resolution 16h: Friday 1h30, Monday 8h, Tuesday 6h30 -> Tuesday 15:30 (14:30Z).
    assert state["resolution"]["due_at"] == z("2026-12-01 14:30")
    assert state["response"]["met"] is None and not state["response"]["breached"]
    assert state["response"]["left_seconds"] == (3 * 24 - 4) * 3600  # wall-clock time
    # The customer sees the same clocks.
    assert sla_of(client, gold, ticket, gold.requester) == state


def test_no_policy_no_clock(client, world):
    ticket = world.ticket()
    assert sla_of(client, world, ticket) is None


def test_response_met_at_first_public_agent_reply_not_at_an_internal_note(client, gold, clock):
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    at(clock, "2026-11-30 08:00")  # Monday 09:00
    tickets.add_comment(ticket.reference, "Looking", actor=gold.agent, internal=True)
    tickets.add_comment(ticket.reference, "Me too", actor=gold.requester)
    assert sla_of(client, gold, ticket)["response"]["met"] is None
    at(clock, "2026-11-30 09:15")
    tickets.add_comment(ticket.reference, "We are on it.", actor=gold.agent)
    response = sla_of(client, gold, ticket)["response"]
    assert response["met"] is True and response["responded_at"] == z("2026-11-30 09:15")
    at(clock, "2026-11-30 09:30")
    tickets.add_comment(ticket.reference, "Still on it.", actor=gold.agent)
    assert sla_of(client, gold, ticket)["response"]["responded_at"] == z("2026-11-30 09:15")


def test_pending_pauses_resolution_and_a_reopen_resumes_it(client, gold, clock):
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    at(clock, "2026-11-30 09:00")  # Monday 10:00: taking it opens it (response met)
    tickets.assign(ticket.reference, "me", actor=gold.agent)
    assert sla_of(client, gold, ticket)["response"]["met"] is True
    tickets.change_status(ticket.reference, "pending", actor=gold.agent, comment="Which file?")
    at(clock, "2026-12-01 09:00")  # Tuesday 10:00: the customer answers
    paused = sla_of(client, gold, ticket)["resolution"]
    assert paused["paused"] is True and paused["left_seconds"] is None
    assert paused["due_at"] == z("2026-12-01 14:30")  # not moved while paused
    page = client.get(
        "/api/v1/tickets?breaching=true&within=100h", headers=gold.headers(gold.agent)
    )
    assert [t["reference"] for t in page.json["items"]] == []  # paused: not breaching
    tickets.add_comment(ticket.reference, "This one.", actor=gold.requester)
    resumed = sla_of(client, gold, ticket)["resolution"]
    # Paused Monday 10:00-17:00 and Tuesday 09:00-10:00: 8 business hours; Tuesday 15:30 + 8h
    # = Tuesday 1h30 + Wednesday 6h30 -> Wednesday 15:30 (14:30Z).
    assert resumed["paused"] is False and resumed["due_at"] == z("2026-12-02 14:30")
    at(clock, "2026-12-02 11:00")  # Wednesday 12:00: resolved in time
    tickets.change_status(ticket.reference, "resolved", actor=gold.agent)
    done = sla_of(client, gold, ticket)["resolution"]
    assert done["met"] is True and done["breached"] is False
    at(clock, "2026-12-03 11:00")  # Thursday 12:00: reopened
    tickets.reopen_ticket(ticket.reference, "Broken again", actor=gold.requester)
    reopened = sla_of(client, gold, ticket)["resolution"]
    # Stopped Wednesday 12:00-17:00 and Thursday 09:00-12:00: 8h -> Thursday 15:30 (14:30Z).
    assert reopened["due_at"] == z("2026-12-03 14:30")
    assert reopened["met"] is None and reopened["left_seconds"] == 3 * 3600 + 1800


def test_priority_change_recomputes_due_times(client, gold, clock):
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    at(clock, "2026-11-27 14:40")
    tickets.edit_ticket(ticket.reference, {"priority": "critical"}, actor=gold.agent)
    state = sla_of(client, gold, ticket)
    # From the submit time: 30m -> Friday 16:00; 4h -> Friday 1h30 + Monday 2h30 = 11:30.
    assert state["response"]["due_at"] == z("2026-11-27 15:00")
    assert state["resolution"]["due_at"] == z("2026-11-30 10:30")


def test_sla_check_records_a_breach_once_and_tells_the_assignee(client, gold, clock):
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    other = submit(gold, title="Second one")
    tickets.assign(other.reference, "me", actor=gold.agent)  # response met at once
    at(clock, "2026-11-30 10:31")  # Monday 11:31: the first one's response is a minute late
    first = sla.check(actor=gold.agent)
    again = sla.check(actor=gold.admin)
    assert first["breached"] == [(ticket.reference, "response", datetime(2026, 11, 30, 10, 30))]
    assert again == {"breached": [], "warned": []}
    events = Event.select().where((Event.ticket == ticket.id) & (Event.kind == "sla_breached"))
    assert [(e.from_value, e.actor_id) for e in events] == [("response", None)]
    # Unassigned: every agent hears of it (the admin too: admins work tickets).
    mails = OutboxMessage.select().where(OutboxMessage.kind == "sla_response_breached")
    assert sorted(m.to_address for m in mails) == ["admin@example.test", "agent@example.test"]
    assert all(ticket.reference in m.subject for m in mails)
    shown = sla_of(client, gold, ticket)["response"]
    assert shown["breached"] is True and shown["overdue_seconds"] == 60
    assert shown["breached_at"] == z("2026-11-30 10:31")
    # The resolution clock of the assigned one breaches next: only its assignee is told.
    at(clock, "2026-12-01 15:00")
    found = sla.check(actor=gold.agent)
    assert (other.reference, "resolution", datetime(2026, 12, 1, 14, 30)) in found["breached"]
    told = OutboxMessage.select().where(
        (OutboxMessage.kind == "sla_resolution_breached") & (OutboxMessage.ticket == other.id)
    )
    assert [m.to_address for m in told] == ["agent@example.test"]


def test_sla_check_warns_once_of_a_target_due_soon(gold, clock):
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    at(clock, "2026-11-30 09:45")  # 45 minutes before the response is due
    assert sla.check(actor=gold.agent, within="1h")["warned"] == [
        (ticket.reference, "response", datetime(2026, 11, 30, 10, 30))
    ]
    assert sla.check(actor=gold.agent, within="1h")["warned"] == []
    assert OutboxMessage.select().where(OutboxMessage.kind == "sla_response_due").count() == 2


def test_breaching_list_is_for_agents_and_honours_within(client, gold, clock):
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    agent = gold.headers(gold.agent)
    at(clock, "2026-11-30 08:30")  # Monday 09:30: response due in 2h
    listed = client.get("/api/v1/tickets?breaching=true", headers=agent).json["items"]
    assert listed == []
    listed = client.get("/api/v1/tickets?breaching=true&within=2h", headers=agent).json["items"]
    assert [t["reference"] for t in listed] == [ticket.reference]
    at(clock, "2026-11-30 11:00")
    listed = client.get("/api/v1/tickets?breaching=true", headers=agent).json["items"]
    assert [t["reference"] for t in listed] == [ticket.reference]
    resp = client.get("/api/v1/tickets?breaching=true", headers=gold.headers(gold.requester))
    assert resp.status_code == 403
    resp = client.get("/api/v1/tickets?breaching=maybe", headers=agent)
    assert resp.status_code == 422
    resp = client.get("/api/v1/tickets?breaching=true&within=soon", headers=agent)
    assert resp.status_code == 422


def test_report_figures_on_a_small_known_set(client, gold, clock):
    """Policy Basic (24x7, 1h:4h) for Globex: A answered in 30m and resolved in 3h (met, met);
    B answered in 2h and resolved in 5h (missed, missed); C answered in 10m and still open after
    5h (met, missed: a target past due counts as missed before the ticket is resolved)."""
    clock.freeze(datetime(2026, 11, 27, 8, 0))
    customer = gold.other_power
    a = submit(gold, service="Data delivery", requester=customer, title="A")
    b = submit(gold, service="Data delivery", requester=customer, title="B")
    c = submit(gold, service="Data delivery", requester=customer, title="C")
    submit(gold, title="Acme's, not in the Globex report")
    clock.advance(minutes=10)
    tickets.add_comment(c.reference, "On it", actor=gold.agent)
    clock.advance(minutes=20)
    tickets.add_comment(a.reference, "On it", actor=gold.agent)
    clock.advance(minutes=90)
    tickets.add_comment(b.reference, "On it", actor=gold.agent)
    for ref in (a.reference, b.reference):
        tickets.change_status(ref, "open", actor=gold.agent)
    clock.advance(hours=1)  # 11:00
    tickets.change_status(a.reference, "resolved", actor=gold.agent)
    clock.advance(hours=2)  # 13:00
    tickets.change_status(b.reference, "resolved", actor=gold.agent)
    resp = client.get("/api/v1/reports/sla?organization=Globex", headers=gold.headers(gold.agent))
    assert resp.status_code == 200, resp.json
    report = resp.json
    assert report["total"] == {
        "tickets": 3,
        "response": {
            "measured": 3,
            "met": 2,
            "percent_met": 66.7,
            "median_minutes": 30.0,
            "p90_minutes": 120.0,
        },
        "resolution": {
            "measured": 3,
            "met": 1,
            "percent_met": 33.3,
            "median_minutes": 240.0,
            "p90_minutes": 300.0,
        },
    }
    assert [i["priority"] for i in report["items"]] == [a.priority]
    assert (
        client.get("/api/v1/reports/sla", headers=gold.headers(gold.requester)).status_code == 403
    )


def test_two_checks_that_both_saw_the_breach_record_it_once(gold, clock):
    """Two `sla check` runs at once may both read the ticket before either writes: the
    conditional UPDATE (breached_at IS NULL) lets exactly one of them record it."""
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    at(clock, "2026-11-30 11:00")
    due = datetime(2026, 11, 30, 10, 30)
    seen_by_both = Ticket.get_by_id(ticket.id)
    assert sla._claim(seen_by_both, "response", "breached", due, clock.now()) is True
    assert sla._claim(seen_by_both, "response", "breached", due, clock.now()) is False
    # A due time that moved since it was read is not recorded against the old one either.
    assert sla._claim(seen_by_both, "resolution", "breached", due, clock.now()) is False


def test_a_change_saved_from_a_ticket_read_before_a_breach_keeps_the_breach(gold, clock):
    """A request that read the ticket before `sla check` recorded a breach, and saves it
    after, must not write the breach away (it saves only the fields it changed)."""
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    at(clock, "2026-11-30 11:00")
    read_by_a_request = Ticket.get_by_id(ticket.id)
    assert [r for r, *_ in sla.check(actor=gold.agent)["breached"]] == [ticket.reference]

    workflow.transition(read_by_a_request, "open", actor=gold.agent)

    saved = Ticket.get_by_id(ticket.id)
    assert saved.status == "open"
    assert saved.response_breached_at == datetime(2026, 11, 30, 11, 0)
    assert sla.check(actor=gold.agent) == {"breached": [], "warned": []}


def test_moving_a_ticket_to_another_service_follows_that_services_contract(client, gold, clock):
    clock.freeze(FRIDAY_1530)
    catalog.add_service("Billing", actor=gold.admin)
    contracts.add_contract("Acme", ["Billing"], actor=gold.admin, sla="Basic")
    ticket = submit(gold)  # Audio matching: Gold, business hours
    assert sla_of(client, gold, ticket)["response"]["due_at"] == z("2026-11-30 10:30")
    at(clock, "2026-11-27 15:00")

    tickets.edit_ticket(ticket.reference, {"service": "Billing"}, actor=gold.agent)

    # Basic runs around the clock from when the ticket was submitted: 1h response, 4h resolution.
    moved = sla_of(client, gold, ticket)
    assert moved["response"]["due_at"] == z("2026-11-27 15:30")
    assert moved["resolution"]["due_at"] == z("2026-11-27 18:30")
    events = Event.select().where((Event.ticket == ticket.id) & (Event.kind == "sla_policy"))
    assert [(e.from_value, e.to_value) for e in events] == [("Gold", "Basic")]

    # A service no contract of Acme covers (an agent may file there): no SLA at all.
    tickets.edit_ticket(ticket.reference, {"service": "Data delivery"}, actor=gold.agent)
    assert sla_of(client, gold, ticket) is None


def test_a_check_does_not_read_again_what_an_earlier_one_recorded(gold, clock):
    """Cron runs `sla check` every few minutes: tickets whose breaches are all recorded stay
    breaching (agents still see them) but are no longer read by each run."""
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    at(clock, "2026-12-10 10:00")  # both targets missed
    assert sla.check(actor=gold.agent)["breached"] != []

    assert [t.id for t in sla_clock.breaching(Ticket.select(), now=clock.now())] == [ticket.id]
    assert list(sla_clock.unrecorded(Ticket.select(), now=clock.now())) == []


def test_an_sla_alert_gives_the_due_time_in_the_agents_language_and_date_format(gold, clock):
    from email import message_from_string, policy

    from helpdesk.services import profile

    profile.update_profile(gold.agent, language="fr", date_format="eu")
    clock.freeze(FRIDAY_1530)
    ticket = submit(gold)
    at(clock, "2026-11-30 10:31")
    sla.check(actor=gold.agent)
    [mail] = OutboxMessage.select().where(
        (OutboxMessage.kind == "sla_response_breached")
        & (OutboxMessage.to_address == "agent@example.test")
    )
    text = message_from_string(mail.raw, policy=policy.default).get_body("plain").get_content()
    assert (
        mail.subject == f"[{ticket.reference}] SLA non respecté (première réponse) : {ticket.title}"
    )
    assert "délai de première réponse, fixé au 30/11/2026 10:30 UTC." in text
    assert "Statut: nouveau | Priorité: moyenne" in text

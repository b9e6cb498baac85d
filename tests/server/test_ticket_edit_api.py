"""Editing a ticket (PATCH /tickets/REF) and unsharing it, through the real HTTP API."""

from __future__ import annotations

import pytest
from conftest import deliver

from helpdesk.models import Event, OutboxMessage, Share, Ticket
from helpdesk.services import catalog

API = "/api/v1/tickets"

# field -> a value different from what world.ticket() gives (incident, medium x medium).
NEW_VALUES = {
    "title": "Printer prints only the first page",
    "description": "Since the driver update, every job stops after page one.",
    "type": "question",
    "impact": "high",
    "urgency": "low",
    "priority": "critical",
    "private": True,
}
FIELDS = tuple(NEW_VALUES)
REQUESTER_FIELDS = ("title", "description", "private")

OK = 200
DENIED = 403
MISSING = 404

# (actor, ticket status) -> what each field edit answers.
ROLES = {
    ("agent", "open"): {f: OK for f in FIELDS},
    ("admin", "pending"): {f: OK for f in FIELDS},
    ("agent", "new"): {f: OK for f in FIELDS},
    ("requester", "new"): {f: OK if f in REQUESTER_FIELDS else DENIED for f in FIELDS},
    ("requester", "open"): {f: DENIED for f in FIELDS},
    ("requester", "resolved"): {f: DENIED for f in FIELDS},
    ("shared", "new"): {f: DENIED for f in FIELDS},
    ("power", "new"): {f: DENIED for f in FIELDS},
    ("colleague", "new"): {f: MISSING for f in FIELDS},
    ("other_power", "new"): {f: MISSING for f in FIELDS},
}
CASES = [
    pytest.param(actor, status, field, expected, id=f"{actor}-{status}-{field}")
    for (actor, status), row in ROLES.items()
    for field, expected in row.items()
]


def snapshot(ticket: Ticket) -> dict:
    """What a refused or empty edit must leave untouched."""
    fresh = Ticket.get_by_id(ticket.id)
    return {
        **{f: getattr(fresh, f) for f in FIELDS},
        "updated_at": fresh.updated_at,
        "events": Event.select().where(Event.ticket == ticket).count(),
        "mails": OutboxMessage.select().count(),
        "shares": Share.select().where(Share.ticket == ticket).count(),
    }


def history(client, world, ref) -> list[dict]:
    return client.get(f"{API}/{ref}", headers=world.headers(world.agent)).get_json()["events"]


def patch(client, world, user, ref, body):
    return client.patch(f"{API}/{ref}", json=body, headers=world.headers(user))


@pytest.mark.parametrize(("actor_name", "status", "field", "expected"), CASES)
def test_each_field_by_each_role(client, world, actor_name, status, field, expected):
    actor = getattr(world, actor_name)
    ticket = world.ticket(status=status)
    before = snapshot(ticket)

    resp = patch(client, world, actor, ticket.reference, {field: NEW_VALUES[field]})

    assert resp.status_code == expected, resp.get_json()
    if expected != OK:
        code = {DENIED: "permission_denied", MISSING: "not_found"}[expected]
        assert resp.get_json()["error"]["code"] == code
        if expected == MISSING:
            assert resp.get_json()["error"]["message"] == f"No such ticket: {ticket.reference}."
        assert snapshot(ticket) == before
        return
    body = resp.get_json()
    assert body[field] == NEW_VALUES[field]
    assert field in body["changed"]
    assert getattr(Ticket.get_by_id(ticket.id), field) == NEW_VALUES[field]
    old = before[field]
    kind = "priority_override" if field == "priority" else field
    [event] = [e for e in history(client, world, ticket.reference) if e["kind"] == kind]
    as_text = {True: "true", False: "false"}
    assert event["actor"] == actor.email
    assert event["from"] == as_text.get(old, old)
    assert event["to"] == as_text.get(NEW_VALUES[field], NEW_VALUES[field])


def test_requester_is_told_why_after_new(client, world):
    ticket = world.ticket(status="open")
    resp = patch(client, world, world.requester, ticket.reference, {"title": "Better title"})
    assert resp.status_code == 403
    message = resp.get_json()["error"]["message"]
    assert "only while it is new" in message
    assert resp.get_json()["error"]["details"] == {"action": "ticket.edit_own"}


def test_requester_asking_for_an_agent_field_changes_nothing(client, world):
    """Title and priority together: the agent-only field refuses the whole edit."""
    ticket = world.ticket()
    before = snapshot(ticket)
    resp = patch(
        client, world, world.requester, ticket.reference, {"title": "New", "priority": "high"}
    )
    assert resp.status_code == 403
    assert "Only agents may change" in resp.get_json()["error"]["message"]
    assert snapshot(ticket) == before


def test_power_user_on_a_private_ticket_gets_404(client, world):
    ticket = world.ticket(private=True)
    resp = patch(client, world, world.power, ticket.reference, {"title": "Mine now"})
    assert resp.status_code == 404


def test_impact_and_urgency_recompute_the_priority(client, world):
    ticket = world.ticket(status="open")  # medium x medium -> medium
    resp = patch(client, world, world.agent, ticket.reference, {"impact": "high"})
    assert resp.get_json()["priority"] == "high"
    assert resp.get_json()["changed"] == ["impact", "priority"]
    resp = patch(client, world, world.agent, ticket.reference, {"urgency": "high"})
    assert resp.get_json()["priority"] == "critical"
    events = [(e["kind"], e["from"], e["to"]) for e in history(client, world, ticket.reference)]
    assert events[-4:] == [
        ("impact", "medium", "high"),
        ("priority", "medium", "high"),
        ("urgency", "medium", "high"),
        ("priority", "high", "critical"),
    ]


def test_an_explicit_priority_overrides_the_matrix_and_names_its_author(client, world):
    ticket = world.ticket(status="open")
    resp = patch(
        client, world, world.agent, ticket.reference, {"impact": "high", "priority": "low"}
    )
    assert resp.status_code == 200
    assert resp.get_json()["priority"] == "low"
    events = history(client, world, ticket.reference)
    [override] = [e for e in events if e["kind"] == "priority_override"]
    assert (override["actor"], override["from"], override["to"]) == (
        world.agent.email,
        "medium",
        "low",
    )
    assert not [e for e in events if e["kind"] == "priority"]


def test_the_requester_sees_the_edit_history(client, world):
    ticket = world.ticket()
    patch(client, world, world.requester, ticket.reference, {"title": "Clearer title"})
    shown = client.get(f"{API}/{ticket.reference}", headers=world.headers(world.requester))
    [event] = [e for e in shown.get_json()["events"] if e["kind"] == "title"]
    assert event["to"] == "Clearer title"


def test_a_no_op_edit_changes_nothing_and_notifies_nobody(client, world, mailbox):
    ticket = world.ticket(status="open")
    deliver()
    seen = len(mailbox.messages)
    before = snapshot(ticket)
    same = {f: getattr(ticket, f) for f in FIELDS}

    resp = patch(client, world, world.agent, ticket.reference, same)

    assert resp.status_code == 200
    assert resp.get_json()["changed"] == []
    assert snapshot(ticket) == before
    deliver()
    assert len(mailbox.messages) == seen


def test_a_closed_ticket_takes_no_edits(client, world):
    ticket = world.ticket(status="closed")
    before = snapshot(ticket)
    resp = patch(client, world, world.agent, ticket.reference, {"title": "Too late"})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "conflict"
    assert snapshot(ticket) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "open"}, None),
        ({"priority": "urgent"}, "priority"),
        ({"impact": "huge"}, "impact"),
        ({"type": "complaint"}, "type"),
        ({"title": ""}, "title"),
        ({"title": "two\nlines"}, "title"),
        ({"private": "yes"}, "private"),
        ({}, None),
    ],
)
def test_bad_input_is_422_and_changes_nothing(client, world, body, field):
    ticket = world.ticket(status="open")
    before = snapshot(ticket)
    resp = patch(client, world, world.agent, ticket.reference, body)
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "validation_failed"
    if field:
        assert error["details"]["field"] == field
    if "status" in body:
        assert error["details"]["unknown"] == ["status"]
    assert snapshot(ticket) == before


@pytest.mark.parametrize("number", ["²", "99999999999999999999", 2**64])
def test_a_service_or_subcategory_id_no_row_can_have_is_refused_not_a_500(client, world, number):
    """Digits that are not ASCII ("²" passes str.isdigit(), not int()) or ids past 64 bits
    name no service or subcategory (found by tests/server/test_api_schemathesis.py)."""
    catalog.add_service("Printing", actor=world.admin)
    ticket = world.ticket(status="open")
    before = snapshot(ticket)
    resp = patch(client, world, world.agent, ticket.reference, {"service": number})
    assert resp.status_code == 404, resp.get_json()
    assert resp.get_json()["error"]["message"] == f"No service named '{number}'."
    body = {"service": "Printing", "subcategory": number}
    resp = patch(client, world, world.agent, ticket.reference, body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["details"]["field"] == "subcategory"
    assert snapshot(ticket) == before


def test_an_agents_edit_emails_the_followers_not_the_agent(client, world, mailbox):
    ticket = world.ticket(status="open")
    deliver()
    mailbox.messages.clear()

    resp = patch(client, world, world.agent, ticket.reference, {"title": "Scanner, not printer"})
    assert resp.status_code == 200
    deliver()

    to = sorted(m["To"].addresses[0].addr_spec for m in mailbox.messages)
    assert to == [world.requester.email, world.shared.email]
    msg = mailbox.by_recipient(world.requester.email)[0]
    assert msg["Subject"] == f"[{ticket.reference}] Ticket updated: Scanner, not printer"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "title: Printer prints blank pages → Scanner, not printer" in text


def test_a_requesters_edit_emails_the_shared_user_and_the_agents(client, world, mailbox):
    ticket = world.ticket()
    deliver()
    mailbox.messages.clear()

    patch(client, world, world.requester, ticket.reference, {"description": "More details."})
    deliver()

    to = sorted(m["To"].addresses[0].addr_spec for m in mailbox.messages)
    # Unassigned: every agent hears (notify_unassigned=all); the requester made the change.
    assert to == sorted([world.admin.email, world.agent.email, world.shared.email])
    assert all(
        m["Subject"].endswith("Ticket updated: Printer prints blank pages")
        for m in mailbox.messages
    )


# -- unsharing ------------------------------------------------------------------------------


def unshare(client, world, user, ref, users):
    return client.post(f"{API}/{ref}/unshare", json={"users": users}, headers=world.headers(user))


@pytest.mark.parametrize("actor_name", ["requester", "agent"])
def test_unsharing_hides_the_ticket_from_that_user(client, world, actor_name):
    ticket = world.ticket(private=True)
    ref = ticket.reference
    shared_headers = world.headers(world.shared)
    assert client.get(f"{API}/{ref}", headers=shared_headers).status_code == 200

    resp = unshare(client, world, getattr(world, actor_name), ref, [world.shared.email])

    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["removed"] == [world.shared.email]
    assert resp.get_json()["shared_with"] == []
    assert client.get(f"{API}/{ref}", headers=shared_headers).status_code == 404
    listed = client.get(API, headers=shared_headers).get_json()["items"]
    assert ref not in {t["reference"] for t in listed}
    [event] = [e for e in history(client, world, ref) if e["kind"] == "unshared"]
    assert (event["actor"], event["from"]) == (getattr(world, actor_name).email, world.shared.email)


def test_unsharing_by_name(client, world):
    ticket = world.ticket()
    resp = unshare(client, world, world.requester, ticket.reference, ["sheila shared"])
    assert resp.get_json()["removed"] == [world.shared.email]


@pytest.mark.parametrize(
    ("actor_name", "private", "status"),
    [
        ("shared", False, 403),
        ("power", False, 403),
        ("power", True, 404),
        ("colleague", False, 404),
        ("other_power", False, 404),
    ],
)
def test_others_may_not_unshare(client, world, actor_name, private, status):
    ticket = world.ticket(private=private)
    before = snapshot(ticket)
    resp = unshare(
        client, world, getattr(world, actor_name), ticket.reference, [world.shared.email]
    )
    assert resp.status_code == status, resp.get_json()
    if status == 404:  # the answer for a ticket that does not exist, not for a missing route
        assert resp.get_json()["error"]["message"] == f"No such ticket: {ticket.reference}."
    else:
        assert "Only the requester or an agent" in resp.get_json()["error"]["message"]
    assert snapshot(ticket) == before


def test_unsharing_someone_it_is_not_shared_with_changes_nothing(client, world):
    ticket = world.ticket()
    before = snapshot(ticket)
    resp = unshare(
        client,
        world,
        world.requester,
        ticket.reference,
        [world.shared.email, world.colleague.email],
    )
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert (
        error["message"] == f"Ticket {ticket.reference} is not shared with {world.colleague.email}."
    )
    assert snapshot(ticket) == before  # the shared user is still there


@pytest.mark.parametrize("field", ["impact", "urgency", "priority", "type"])
def test_a_null_choice_is_refused_in_json_words(client, world, field):
    """A JSON caller sent null, not Python's None: the message says so."""
    ticket = world.ticket(status="open")
    resp = patch(client, world, world.agent, ticket.reference, {field: None})
    assert resp.status_code == 422, resp.get_json()
    message = resp.get_json()["error"]["message"]
    assert message.startswith(f"{field} must be one of: ") and message.endswith(" (got null)."), (
        message
    )
    assert "None" not in message

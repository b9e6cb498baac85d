"""The ticket status machine: every edge for every role, through the core and the services."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest

from helpdesk import workflow
from helpdesk.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from helpdesk.models import Event, Ticket, utcnow
from helpdesk.services import tickets
from helpdesk.vocabulary import STATUSES
from helpdesk.workflow import COMMENT_REQUIRED, TRANSITIONS

# The roles of the workflow table and the World user who holds each one on world.ticket().
ROLE_HOLDERS = {"agent": "agent", "requester": "requester", "participant": "shared"}

LONG_AGO = datetime(2020, 1, 1)


def ticket_in(world, status: str) -> Ticket:
    """A ticket already in `status`, with the timestamps a real one there would have."""
    ticket = world.ticket(status=status)
    stamps = {"resolved": {"resolved_at": LONG_AGO}, "closed": {"closed_at": LONG_AGO}}
    if status in stamps:
        Ticket.update(**stamps[status]).where(Ticket.id == ticket.id).execute()
    return Ticket.get_by_id(ticket.id)


def events_of(ticket: Ticket) -> int:
    return Event.select().where(Event.ticket == ticket).count()


def targets(status: str) -> set[str]:
    return {to for (frm, to) in TRANSITIONS if frm == status}


def assert_unchanged(ticket: Ticket, status: str, events: int) -> None:
    assert Ticket.get_by_id(ticket.id).status == status
    assert events_of(ticket) == events


PAIRS = [
    pytest.param(frm, to, role, id=f"{frm}->{to}-{role}")
    for frm in STATUSES
    for to in STATUSES
    for role in ROLE_HOLDERS
]


@pytest.mark.parametrize(("frm", "to", "role"), PAIRS)
def test_transition(world, frm, to, role):
    actor = getattr(world, ROLE_HOLDERS[role])
    ticket = ticket_in(world, frm)
    events = events_of(ticket)
    comment = "It broke again this morning." if (frm, to) in COMMENT_REQUIRED else None
    started = utcnow()

    if frm == to:
        with pytest.raises(InvalidTransition) as raised:
            workflow.transition(ticket, to, actor=actor, comment=comment)
        assert f"already {frm}" in raised.value.message
    elif frm == "closed":
        with pytest.raises(InvalidTransition) as raised:
            workflow.transition(ticket, to, actor=actor, comment=comment)
        assert "a closed ticket can never be reopened" in raised.value.message
    elif (frm, to) not in TRANSITIONS:
        with pytest.raises(InvalidTransition) as raised:
            workflow.transition(ticket, to, actor=actor, comment=comment)
        message = raised.value.message
        assert f"from {frm} to {to}" in message
        offered = message.rsplit(":", 1)[1]
        assert set(re.findall(r"[a-z]+", offered)) == targets(frm)
        assert set(raised.value.details["allowed"]) == targets(frm)
    elif role not in TRANSITIONS[(frm, to)]:
        with pytest.raises(PermissionDenied) as raised:
            workflow.transition(ticket, to, actor=actor, comment=comment)
        assert f"from {frm} to {to}" in raised.value.message
    else:
        returned = workflow.transition(ticket, to, actor=actor, comment=comment)
        assert returned.status == to
        saved = Ticket.get_by_id(ticket.id)
        assert saved.status == to
        if to == "resolved":
            assert saved.resolved_at is not None and saved.resolved_at >= started
        elif to == "closed":
            assert saved.closed_at is not None and saved.closed_at >= started
            assert saved.resolved_at == (LONG_AGO if frm == "resolved" else None)
        else:  # back to work: a reopened ticket is no longer resolved
            assert saved.resolved_at is None
            assert saved.closed_at is None
        assert events_of(ticket) == events + 1
        event = Event.select().where(Event.ticket == ticket).order_by(Event.id.desc()).get()
        assert (event.kind, event.from_value, event.to_value) == ("status", frm, to)
        assert event.actor_id == actor.id
        return

    assert_unchanged(ticket, frm, events)


@pytest.mark.parametrize("role", ["agent", "requester"])
@pytest.mark.parametrize("comment", [None, "", "   "])
def test_reopening_a_resolved_ticket_needs_a_comment(world, role, comment):
    actor = getattr(world, ROLE_HOLDERS[role])
    ticket = ticket_in(world, "resolved")
    events = events_of(ticket)
    with pytest.raises(ValidationFailed) as raised:
        workflow.transition(ticket, "open", actor=actor, comment=comment)
    assert raised.value.details == {
        "field": "comment",
        "reference": ticket.reference,
        "from": "resolved",
        "to": "open",
    }
    assert_unchanged(ticket, "resolved", events)
    assert Ticket.get_by_id(ticket.id).resolved_at == LONG_AGO


@pytest.mark.parametrize("outsider", ["colleague", "other_power"])
@pytest.mark.parametrize(("frm", "to"), sorted(TRANSITIONS))
def test_someone_who_cannot_see_the_ticket_is_told_it_does_not_exist(world, outsider, frm, to):
    ticket = ticket_in(world, frm)
    events = events_of(ticket)
    with pytest.raises(NotFound):
        workflow.transition(ticket, to, actor=getattr(world, outsider), comment="Why not.")
    assert_unchanged(ticket, frm, events)


def test_no_edge_leaves_closed_or_enters_new():
    assert targets("closed") == set()
    assert not any(to == "new" for (_, to) in TRANSITIONS)
    assert all(frm != to for (frm, to) in TRANSITIONS)


# -- through the services -----------------------------------------------------------------


def last_status_event(ticket: Ticket) -> Event:
    return (
        Event.select()
        .where((Event.ticket == ticket) & (Event.kind == "status"))
        .order_by(Event.id.desc())
        .get()
    )


@pytest.mark.parametrize("customer", ["requester", "shared", "power"])
def test_customer_reply_brings_a_pending_ticket_back_to_open(world, customer):
    actor = getattr(world, customer)
    ticket = ticket_in(world, "pending")
    tickets.add_comment(ticket.reference, "Here is the log you asked for.", actor=actor)
    assert Ticket.get_by_id(ticket.id).status == "open"
    event = last_status_event(ticket)
    assert (event.from_value, event.to_value, event.actor_id) == ("pending", "open", actor.id)


@pytest.mark.parametrize("internal", [False, True])
def test_agent_comment_leaves_a_pending_ticket_pending(world, internal):
    ticket = ticket_in(world, "pending")
    events = events_of(ticket)
    tickets.add_comment(
        ticket.reference, "Waiting for the log.", actor=world.agent, internal=internal
    )
    assert Ticket.get_by_id(ticket.id).status == "pending"
    assert events_of(ticket) == events + 1  # the comment itself, no status change
    assert not Event.select().where((Event.ticket == ticket) & (Event.kind == "status")).exists()


def test_assigning_a_new_ticket_opens_it(world):
    ticket = ticket_in(world, "new")
    assigned = tickets.assign(ticket.reference, "me", actor=world.agent)
    assert assigned.status == "open"
    assert assigned.assignee.email == world.agent.email
    saved = Ticket.get_by_id(ticket.id)
    assert saved.status == "open" and saved.assignee_id == world.agent.id
    event = last_status_event(ticket)
    assert (event.from_value, event.to_value, event.actor_id) == ("new", "open", world.agent.id)


@pytest.mark.parametrize("status", ["open", "pending", "resolved"])
def test_assigning_a_ticket_already_in_work_keeps_its_status(world, status):
    ticket = ticket_in(world, status)
    tickets.assign(ticket.reference, world.admin.email, actor=world.agent)
    saved = Ticket.get_by_id(ticket.id)
    assert saved.status == status and saved.assignee_id == world.admin.id


@pytest.mark.parametrize("actor_name", ["requester", "agent"])
def test_reopening_a_closed_ticket_is_refused(world, actor_name):
    ticket = ticket_in(world, "closed")
    events = events_of(ticket)
    with pytest.raises(InvalidTransition) as raised:
        tickets.reopen_ticket(ticket.reference, "It broke again.", actor=getattr(world, actor_name))
    assert "a closed ticket can never be reopened" in raised.value.message
    assert_unchanged(ticket, "closed", events)
    assert tickets.visible_comments(ticket, world.agent) == []


def test_requester_reopens_a_resolved_ticket_with_a_comment(world):
    ticket = ticket_in(world, "resolved")
    reopened = tickets.reopen_ticket(ticket.reference, "It broke again.", actor=world.requester)
    assert reopened.status == "open" and reopened.resolved_at is None
    [comment] = tickets.visible_comments(ticket, world.requester)
    assert (comment.body, comment.visibility) == ("It broke again.", "public")


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_requester_closes_with_a_rating(world, rating):
    ticket = ticket_in(world, "resolved")
    closed = tickets.close_ticket(
        ticket.reference, actor=world.requester, rating=rating, comment="Thanks!"
    )
    assert closed.status == "closed"
    saved = Ticket.get_by_id(ticket.id)
    assert saved.status == "closed" and saved.closed_at is not None
    assert saved.satisfaction_rating == rating
    assert saved.satisfaction_comment == "Thanks!"


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_rating_outside_one_to_five_is_refused(world, rating):
    ticket = ticket_in(world, "resolved")
    events = events_of(ticket)
    with pytest.raises(ValidationFailed) as raised:
        tickets.close_ticket(ticket.reference, actor=world.requester, rating=rating)
    assert raised.value.details["field"] == "rating"
    assert_unchanged(ticket, "resolved", events)
    assert Ticket.get_by_id(ticket.id).satisfaction_rating is None


@pytest.mark.parametrize("staff", ["agent", "admin"])
def test_agent_may_not_rate_when_closing(world, staff):
    ticket = ticket_in(world, "resolved")
    events = events_of(ticket)
    with pytest.raises(PermissionDenied):
        tickets.close_ticket(ticket.reference, actor=getattr(world, staff), rating=5)
    assert_unchanged(ticket, "resolved", events)
    assert Ticket.get_by_id(ticket.id).satisfaction_rating is None


def test_agent_closes_without_rating_and_the_comment_is_a_public_reply(world):
    ticket = ticket_in(world, "resolved")
    closed = tickets.close_ticket(ticket.reference, actor=world.agent, comment="Closing, no reply.")
    assert closed.status == "closed"
    assert closed.satisfaction_rating is None and closed.satisfaction_comment is None
    [comment] = tickets.visible_comments(ticket, world.requester)
    assert comment.body == "Closing, no reply."


def test_transition_table_is_the_documented_workflow():
    """The table itself, spelled out: new -> open -> pending -> open -> resolved -> closed."""
    agent, requester, participant = "agent", "requester", "participant"
    expected = {
        ("new", "open"): {agent},
        ("new", "closed"): {agent, requester},
        ("open", "pending"): {agent},
        ("open", "resolved"): {agent},
        ("open", "closed"): {agent, requester},
        ("pending", "open"): {agent, requester, participant},
        ("pending", "resolved"): {agent},
        ("pending", "closed"): {agent, requester},
        ("resolved", "open"): {agent, requester},
        ("resolved", "closed"): {agent, requester},
    }
    assert {edge: set(roles) for edge, roles in workflow.TRANSITIONS.items()} == expected
    assert workflow.COMMENT_REQUIRED == {("resolved", "open")}


# -- the table is the one home of these rules ---------------------------------------------

API = "/api/v1/tickets"


def test_automatic_moves_are_the_documented_ones():
    """Spelled out: a customer's public reply reopens a pending ticket; assigning opens new."""
    moves = {(m.event, m.source, m.to, m.by) for m in workflow.AUTOMATIC}
    assert moves == {
        ("public_reply", "pending", "open", frozenset({"requester", "participant"})),
        ("assigned", "new", "open", frozenset({"agent"})),
    }
    for move in workflow.AUTOMATIC:  # each is an edge its holders may take by hand too
        assert move.by <= TRANSITIONS[(move.source, move.to)]


def test_an_automatic_move_added_to_the_table_is_applied(world, monkeypatch):
    """The moves are data applied by one function: a new row is all a new rule takes."""
    reply_reopens = workflow.Automatic("public_reply", "resolved", "open", frozenset({"requester"}))
    monkeypatch.setattr(workflow, "AUTOMATIC", (*workflow.AUTOMATIC, reply_reopens))
    ticket = ticket_in(world, "resolved")
    tickets.add_comment(ticket.reference, "It broke again this morning.", actor=world.requester)
    saved = Ticket.get_by_id(ticket.id)
    assert (saved.status, saved.resolved_at) == ("open", None)
    event = last_status_event(ticket)
    assert (event.from_value, event.to_value) == ("resolved", "open")
    # Someone the row does not name leaves it where it is.
    other = ticket_in(world, "resolved")
    tickets.add_comment(other.reference, "Me too.", actor=world.shared)
    assert Ticket.get_by_id(other.id).status == "resolved"


def test_who_may_close_comes_from_the_workflow_table(client, world, monkeypatch):
    ticket = ticket_in(world, "open")
    url = f"{API}/{ticket.reference}/close"
    refused = client.post(url, json={}, headers=world.headers(world.shared))
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == "Only the requester or an agent may close it."
    assert Ticket.get_by_id(ticket.id).status == "open"

    monkeypatch.setitem(
        TRANSITIONS, ("open", "closed"), frozenset({"agent", "requester", "participant"})
    )
    resp = client.post(url, json={}, headers=world.headers(world.shared))
    assert resp.status_code == 200, resp.get_json()
    assert Ticket.get_by_id(ticket.id).status == "closed"


def test_who_may_reopen_comes_from_the_workflow_table(client, world, monkeypatch):
    monkeypatch.setitem(TRANSITIONS, ("resolved", "open"), frozenset({"agent"}))
    ticket = ticket_in(world, "resolved")
    events = events_of(ticket)
    resp = client.post(
        f"{API}/{ticket.reference}/reopen",
        json={"comment": "Still broken."},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 403, resp.get_json()
    assert resp.get_json()["error"]["message"] == "Only an agent may reopen it."
    assert_unchanged(ticket, "resolved", events)
    detail = client.get(f"{API}/{ticket.reference}", headers=world.headers(world.requester))
    assert detail.get_json()["allowed_transitions"] == ["closed"]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("role", sorted(ROLE_HOLDERS))
def test_the_api_offers_exactly_the_tables_moves(client, world, status, role):
    ticket = ticket_in(world, status)
    headers = world.headers(getattr(world, ROLE_HOLDERS[role]))
    resp = client.get(f"{API}/{ticket.reference}", headers=headers)
    assert resp.status_code == 200
    expected = [to for (frm, to), roles in TRANSITIONS.items() if frm == status and role in roles]
    assert resp.get_json()["allowed_transitions"] == expected


# change -> (who, path under the ticket, the request's body)
CHANGES_TO_A_CLOSED_TICKET = {
    "comment": ("agent", "comments", lambda: {"json": {"body": "One more thing."}}),
    "internal note": ("agent", "comments", lambda: {"json": {"body": "N.", "internal": True}}),
    "customer reply": ("requester", "comments", lambda: {"json": {"body": "Hello?"}}),
    "attachment": (
        "agent",
        "attachments",
        lambda: {"data": {"attachments": (io.BytesIO(b"log"), "log.txt")}},
    ),
    "assign": ("agent", "assign", lambda: {"json": {"assignee": "me"}}),
}


@pytest.mark.parametrize("change", sorted(CHANGES_TO_A_CLOSED_TICKET))
def test_a_closed_ticket_takes_no_changes_and_says_so_in_one_sentence(client, world, change):
    who, path, body = CHANGES_TO_A_CLOSED_TICKET[change]
    ticket = ticket_in(world, "closed")
    events = events_of(ticket)
    resp = client.post(
        f"{API}/{ticket.reference}/{path}",
        headers=world.headers(getattr(world, who)),
        **body(),
    )
    assert resp.status_code == 409, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "conflict"
    assert error["message"] == (
        f"Ticket {ticket.reference} is closed and takes no more changes; submit a new ticket."
    )
    assert error["details"] == {"status": "closed", "reference": ticket.reference}
    assert_unchanged(ticket, "closed", events)
    saved = Ticket.get_by_id(ticket.id)
    assert saved.assignee_id is None
    assert tickets.visible_comments(saved, world.agent) == []
    assert tickets.visible_attachments(saved, world.agent) == []


def test_the_cli_offers_the_statuses_the_table_leads_to(cli):
    targets = [s for s in STATUSES if any(to == s for (_, to) in TRANSITIONS)]
    assert targets == ["open", "pending", "resolved", "closed"]
    shown = cli("ticket", "status", "--help")
    assert shown.exit_code == 0
    assert f"The status to move to: {', '.join(targets)}." in " ".join(shown.output.split())
    # No edge leads back to new: Click refuses it before any request is made.
    refused = cli("ticket", "status", "HD-1", "new")
    assert refused.exit_code == 2
    assert "'new' is not one of " + ", ".join(f"'{s}'" for s in targets) in refused.output

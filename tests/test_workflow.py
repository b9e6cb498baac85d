"""The ticket status machine: every edge for every role, through the core and the services."""

from __future__ import annotations

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
    assert raised.value.details == {"field": "comment"}
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

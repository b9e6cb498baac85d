"""Who may do what to a ticket, checked through the real HTTP API.

One table holds the rules; each cell becomes one test that makes the request as that actor
and checks both the answer and, for a refusal, that nothing changed in the database.
"""

from __future__ import annotations

import json

import pytest

from helpdesk import permissions, workflow
from helpdesk.models import Comment, Event, Share, Ticket
from helpdesk.services import tickets, users

YES = "yes"  # allowed (see/comment/share/close/reopen), or the internal note is shown
NO = "no"  # only for "internal": the ticket is visible but the agent's internal note is not
DENIED = 403  # refused with 403 permission_denied
MISSING = 404  # answered exactly like a reference that does not exist

ACTIONS = ("see", "comment", "internal", "share", "close", "reopen")

# fmt: off
MATRIX = {
    # (actor,        private): (see,     comment, internal, share,   close,   reopen)
    ("requester",    False):   (YES,     YES,     NO,       YES,     YES,     YES),
    ("requester",    True):    (YES,     YES,     NO,       YES,     YES,     YES),
    ("shared",       False):   (YES,     YES,     NO,       DENIED,  DENIED,  DENIED),
    ("shared",       True):    (YES,     YES,     NO,       DENIED,  DENIED,  DENIED),
    ("power",        False):   (YES,     YES,     NO,       YES,     DENIED,  DENIED),
    ("power",        True):    (MISSING, MISSING, MISSING,  MISSING, MISSING, MISSING),
    ("colleague",    False):   (MISSING, MISSING, MISSING,  MISSING, MISSING, MISSING),
    ("colleague",    True):    (MISSING, MISSING, MISSING,  MISSING, MISSING, MISSING),
    ("other_power",  False):   (MISSING, MISSING, MISSING,  MISSING, MISSING, MISSING),
    ("other_power",  True):    (MISSING, MISSING, MISSING,  MISSING, MISSING, MISSING),
    ("agent",        False):   (YES,     YES,     YES,      YES,     YES,     YES),
    ("agent",        True):    (YES,     YES,     YES,      YES,     YES,     YES),
    ("admin",        False):   (YES,     YES,     YES,      YES,     YES,     YES),
    ("admin",        True):    (YES,     YES,     YES,      YES,     YES,     YES),
}
# fmt: on

CASES = [
    pytest.param(
        actor,
        private,
        action,
        expected,
        id=f"{actor}-{'private' if private else 'public'}-{action}",
    )
    for (actor, private), row in MATRIX.items()
    for action, expected in zip(ACTIONS, row, strict=True)
]

API = "/api/v1/tickets"
NOTE = "Internal: customer is on the legacy plan, check the contract first."
NO_SUCH_REFERENCE = "HD-999999"


def snapshot(ticket: Ticket) -> dict:
    """What a refused request must leave untouched."""
    fresh = Ticket.get_by_id(ticket.id)
    return {
        "status": fresh.status,
        "closed_at": fresh.closed_at,
        "resolved_at": fresh.resolved_at,
        "comments": Comment.select().where(Comment.ticket == ticket).count(),
        "shares": Share.select().where(Share.ticket == ticket).count(),
        "events": Event.select().where(Event.ticket == ticket).count(),
    }


def anonymised(body: dict, reference: str) -> str:
    """The body with the requested reference blanked out, to compare two 404s."""
    return json.dumps(body, sort_keys=True).replace(reference, "<ref>")


def assert_looks_missing(client, method, path, reference, headers, **kwargs):
    """The answer for a hidden ticket is the answer for a reference that does not exist."""
    resp = client.open(path.format(ref=reference), method=method, headers=headers, **kwargs)
    absent = client.open(
        path.format(ref=NO_SUCH_REFERENCE), method=method, headers=headers, **kwargs
    )
    assert resp.status_code == 404, resp.get_json()
    assert absent.status_code == 404, absent.get_json()
    assert resp.get_json()["error"]["code"] == "not_found"
    assert anonymised(resp.get_json(), reference) == anonymised(
        absent.get_json(), NO_SUCH_REFERENCE
    )


def assert_denied(resp):
    assert resp.status_code == 403, resp.get_json()
    assert resp.get_json()["error"]["code"] == "permission_denied"


@pytest.fixture
def newcomer(world):
    """An Acme member nobody has shared anything with yet: the target of "share"."""
    return users.register_user(
        "nina@acme.test", "Nina Newcomer", actor=world.admin, organization="Acme"
    )


@pytest.mark.parametrize(("actor_name", "private", "action", "expected"), CASES)
def test_permission_matrix(client, world, newcomer, actor_name, private, action, expected):
    actor = getattr(world, actor_name)
    ticket = world.ticket(private=private, status="resolved" if action == "reopen" else "open")
    ref = ticket.reference
    if action == "internal":
        tickets.add_comment(ref, NOTE, actor=world.agent, internal=True)
    headers = world.headers(actor)
    before = snapshot(ticket)

    if expected == MISSING:
        requests = {
            "see": ("GET", API + "/{ref}", {}),
            "internal": ("GET", API + "/{ref}/comments", {}),
            "comment": ("POST", API + "/{ref}/comments", {"json": {"body": "Any news?"}}),
            "share": ("POST", API + "/{ref}/shares", {"json": {"users": [newcomer.email]}}),
            "close": ("POST", API + "/{ref}/close", {"json": {}}),
            "reopen": ("POST", API + "/{ref}/reopen", {"json": {"comment": "Still broken."}}),
        }
        method, path, kwargs = requests[action]
        assert_looks_missing(client, method, path, ref, headers, **kwargs)
        if action in ("see", "internal"):
            assert_looks_missing(client, "GET", API + "/{ref}", ref, headers)
            listed = client.get(API, headers=headers).get_json()
            assert ref not in {t["reference"] for t in listed["items"]}
        assert snapshot(ticket) == before
        return

    if action == "see":
        resp = client.get(f"{API}/{ref}", headers=headers)
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["reference"] == ref
        listed = client.get(API, headers=headers).get_json()
        assert ref in {t["reference"] for t in listed["items"]}

    elif action == "internal":
        detail = client.get(f"{API}/{ref}", headers=headers)
        listing = client.get(f"{API}/{ref}/comments", headers=headers)
        assert detail.status_code == 200 and listing.status_code == 200
        shown = [c["body"] for c in detail.get_json()["comments"]]
        listed = [c["body"] for c in listing.get_json()["items"]]
        history = [e["kind"] for e in detail.get_json()["events"]]
        if expected == YES:
            assert NOTE in shown and NOTE in listed
            assert "internal_note" in history
        else:
            assert NOTE not in shown and NOTE not in listed
            assert "internal_note" not in history
            note = Comment.get(Comment.body == NOTE)
            hidden = client.get(f"{API}/{ref}/comments/{note.id}", headers=headers)
            assert hidden.status_code == 404

    elif action == "comment":
        resp = client.post(f"{API}/{ref}/comments", json={"body": "Any news?"}, headers=headers)
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["visibility"] == "public"
        assert snapshot(ticket)["comments"] == before["comments"] + 1
        bodies = [c["body"] for c in client.get(f"{API}/{ref}", headers=headers).json["comments"]]
        assert "Any news?" in bodies

    elif action == "share":
        resp = client.post(f"{API}/{ref}/shares", json={"users": [newcomer.email]}, headers=headers)
        shared = Share.select().where((Share.ticket == ticket) & (Share.user == newcomer))
        if expected == YES:
            assert resp.status_code == 200, resp.get_json()
            assert resp.get_json()["added"] == [newcomer.email]
            assert shared.exists()
        else:
            assert_denied(resp)
            assert not shared.exists()
            assert snapshot(ticket) == before

    elif action == "close":
        resp = client.post(f"{API}/{ref}/close", json={}, headers=headers)
        if expected == YES:
            assert resp.status_code == 200, resp.get_json()
            assert resp.get_json()["status"] == "closed"
            assert Ticket.get_by_id(ticket.id).status == "closed"
        else:
            assert_denied(resp)
            assert snapshot(ticket) == before

    elif action == "reopen":
        resp = client.post(
            f"{API}/{ref}/reopen", json={"comment": "Still broken."}, headers=headers
        )
        if expected == YES:
            assert resp.status_code == 200, resp.get_json()
            assert resp.get_json()["status"] == "open"
            assert Ticket.get_by_id(ticket.id).status == "open"
            assert snapshot(ticket)["comments"] == before["comments"] + 1
        else:
            assert_denied(resp)
            assert snapshot(ticket) == before


def test_matrix_covers_every_actor_action_and_ticket_kind():
    actors = {"requester", "shared", "power", "colleague", "other_power", "agent", "admin"}
    assert set(MATRIX) == {(a, p) for a in actors for p in (False, True)}
    assert all(len(row) == len(ACTIONS) for row in MATRIX.values())


# -- the list endpoint --------------------------------------------------------------------

# Which of the tickets made in `listed_world` each actor finds in GET /api/v1/tickets.
ALL_TICKETS = {"public", "private", "colleague_public", "colleague_private", "globex"}
# fmt: off
VISIBLE_IN_LIST = {
    "requester":   {"public", "private"},
    "shared":      {"public", "private"},
    "power":       {"public", "colleague_public"},
    "colleague":   {"colleague_public", "colleague_private"},
    "other_power": {"globex"},
    "agent":       ALL_TICKETS,
    "admin":       ALL_TICKETS,
}
# fmt: on


@pytest.fixture
def listed_world(world):
    """Tickets by several requesters in two organizations, private and not."""
    world.refs = {
        "public": world.ticket(private=False).reference,
        "private": world.ticket(private=True).reference,
    }
    for name, actor, private in [
        ("colleague_public", world.colleague, False),
        ("colleague_private", world.colleague, True),
        ("globex", world.other_power, False),
    ]:
        ticket = tickets.submit_ticket(actor=actor, type="question", title=name, private=private)
        world.refs[name] = ticket.reference
    return world


@pytest.mark.parametrize(("actor_name", "expected"), VISIBLE_IN_LIST.items())
def test_list_shows_exactly_the_tickets_the_actor_may_see(
    client, listed_world, actor_name, expected
):
    world = listed_world
    headers = world.headers(getattr(world, actor_name))
    resp = client.get(API, query_string={"per_page": 100}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert {t["reference"] for t in body["items"]} == {world.refs[name] for name in expected}
    assert body["total"] == len(expected)
    for name in expected:  # what the list offers, the detail view agrees to show
        assert client.get(f"{API}/{world.refs[name]}", headers=headers).status_code == 200
    for name in ALL_TICKETS - expected:
        assert client.get(f"{API}/{world.refs[name]}", headers=headers).status_code == 404


# -- close and reopen are the workflow table's --------------------------------------------


def test_close_and_reopen_columns_are_what_the_workflow_table_says(world):
    """Who may close or reopen is decided by the workflow table alone, in its roles."""
    table = workflow.TRANSITIONS
    closers = frozenset().union(*(roles for (_, to), roles in table.items() if to == "closed"))
    reopeners = workflow.TRANSITIONS[("resolved", "open")]
    for private in (False, True):
        ticket = world.ticket(private=private, status="open")
        for (actor_name, row_private), row in MATRIX.items():
            cells = dict(zip(ACTIONS, row, strict=True))
            if row_private != private or cells["see"] == MISSING:
                continue
            roles = permissions.ticket_roles(getattr(world, actor_name), ticket)
            assert cells["close"] == (YES if roles & closers else DENIED), actor_name
            assert cells["reopen"] == (YES if roles & reopeners else DENIED), actor_name


# -- what a user's kind decides, asked of helpdesk.permissions ---------------------------


def test_only_someone_who_works_on_tickets_is_assigned_one(client, world):
    ticket = world.ticket(status="new")
    before = snapshot(ticket)
    resp = client.post(
        f"{API}/{ticket.reference}/assign",
        json={"assignee": world.colleague.email},
        headers=world.headers(world.agent),
    )
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["message"] == (
        "col@acme.test is a customer; tickets are assigned to agents."
    )
    assert snapshot(ticket) == before
    assert Ticket.get_by_id(ticket.id).assignee_id is None


def test_mine_is_an_agents_assigned_tickets_and_a_customers_own(client, world):
    ticket = world.ticket(status="new")
    tickets.assign(ticket.reference, "me", actor=world.agent)
    world.ticket(status="new")  # requested by the requester, assigned to nobody
    for actor, expected in [(world.agent, 1), (world.admin, 0), (world.requester, 2)]:
        resp = client.get(API, query_string={"scope": "mine"}, headers=world.headers(actor))
        assert resp.get_json()["total"] == expected, actor.email


@pytest.mark.parametrize("kind", ["agent", "admin"])
def test_only_customers_belong_to_organizations(client, world, kind):
    headers = world.headers(world.admin)
    staff = {"agent": world.agent, "admin": world.admin}[kind]
    resp = client.post(
        "/api/v1/memberships",
        json={"organization": "Acme", "email": staff.email},
        headers=headers,
    )
    assert resp.status_code == 422, resp.get_json()
    resp = client.post(
        "/api/v1/users",
        json={"email": "new@example.test", "name": "New", "kind": kind, "organization": "Acme"},
        headers=headers,
    )
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["message"] == "Only customers belong to organizations."
    assert users.find_user_by_email("new@example.test") is None

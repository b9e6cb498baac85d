"""Concurrent edits: a ticket's ETag names its version; If-Match refuses a stale change."""

from __future__ import annotations

import io

import pytest
from test_error_shape import assert_error

from helpdesk.models import Event, Ticket
from helpdesk.services import catalog, contracts, sla, tickets

API = "/api/v1/tickets"


def _etag(client, ref, headers) -> str:
    answer = client.get(f"{API}/{ref}", headers=headers)
    assert answer.status_code == 200
    return answer.headers["ETag"]


def test_every_kind_of_write_gives_the_ticket_a_new_etag(client, world, clock):
    # A frozen clock: the ETag must change even when updated_at does not.
    clock.freeze(clock.now())
    agent, requester = world.headers(world.agent), world.headers(world.requester)
    submitted = client.post(API, json={"type": "incident", "title": "Printer"}, headers=requester)
    ref = submitted.get_json()["reference"]
    seen = [submitted.headers["ETag"]]
    assert _etag(client, ref, agent) == seen[0]
    upload = {"attachments": [(io.BytesIO(b"log"), "printer.log", "text/plain")]}
    writes = {
        "edit": ("PATCH", "", {"title": "Printer prints blank pages"}, agent),
        "assign": ("POST", "/assign", {"assignee": "me"}, agent),
        "reply": ("POST", "/comments", {"body": "Which model?"}, agent),
        "note": ("POST", "/comments", {"body": "Toner?", "internal": True}, agent),
        "attach": ("POST", "/attachments", upload, requester),
        "share": ("POST", "/shares", {"users": [world.colleague.email]}, requester),
        "unshare": ("POST", "/unshare", {"users": [world.colleague.email]}, requester),
        "pending": ("POST", "/transition", {"to": "pending"}, agent),
        "resolve": ("POST", "/transition", {"to": "resolved"}, agent),
        "reopen": ("POST", "/reopen", {"comment": "Still blank."}, requester),
        "close": ("POST", "/close", {"rating": 4}, requester),
    }
    for kind, (method, path, body, headers) in writes.items():
        sent = {"json": body} if kind != "attach" else {"data": body}
        answer = client.open(f"{API}/{ref}{path}", method=method, headers=headers, **sent)
        assert answer.status_code in (200, 201), (kind, answer.get_data(as_text=True))
        now = _etag(client, ref, agent)
        assert now not in seen, kind
        if "ETag" in answer.headers:  # a write that answers the ticket answers its new ETag
            assert answer.headers["ETag"] == now, kind
        seen.append(now)


def test_an_sla_breach_recorded_by_sla_check_changes_the_etag(client, world, clock):
    clock.freeze(clock.now())
    admin = world.admin
    sla.add_policy("Basic", ["medium:1h:4h"], actor=admin)
    catalog.add_service("Printing", actor=admin)
    contracts.add_contract("Acme", ["Printing"], actor=admin, sla="Basic")
    ref = tickets.submit_ticket(
        actor=world.requester, type="incident", title="Printer", service="Printing"
    ).reference
    before = _etag(client, ref, world.headers(world.agent))

    clock.advance(hours=2)
    assert [ref for ref, *_ in sla.check(actor=admin)["breached"]] == [ref]

    assert _etag(client, ref, world.headers(world.agent)) != before


def test_a_change_against_a_stale_etag_is_refused_and_changes_nothing(client, world):
    ref = world.ticket(status="open").reference
    agent, admin = world.headers(world.agent), world.headers(world.admin)
    stale = _etag(client, ref, agent)
    meanwhile = client.patch(f"{API}/{ref}", json={"priority": "high"}, headers=admin)
    assert meanwhile.status_code == 200
    current = meanwhile.headers["ETag"]
    events = Event.select().count()

    for method, path, body in [
        ("PATCH", "", {"priority": "low"}),
        ("POST", "/transition", {"to": "resolved"}),
        ("POST", "/assign", {"assignee": "me"}),
        ("POST", "/close", {}),
    ]:
        answer = client.open(
            f"{API}/{ref}{path}", method=method, json=body, headers={**agent, "If-Match": stale}
        )
        error = assert_error(answer, 412, "precondition_failed")
        assert ref in error["message"]

    ticket = Ticket.get(Ticket.reference == ref)
    assert (ticket.priority, ticket.status, ticket.assignee_id) == ("high", "open", None)
    assert Event.select().count() == events
    assert _etag(client, ref, agent) == current


@pytest.mark.parametrize(
    "if_match, status",
    [
        ("current", 200),
        ("*", 200),
        ('"nonsense", current', 200),
        ("weak", 412),  # If-Match compares strongly
        ("unquoted", 412),
    ],
)
def test_if_match_forms(client, world, if_match, status):
    ref = world.ticket(status="open").reference
    agent = world.headers(world.agent)
    etag = _etag(client, ref, agent)
    header = (
        if_match.replace("current", etag)
        .replace("weak", f"W/{etag}")
        .replace("unquoted", etag.strip('"'))
    )

    answer = client.patch(
        f"{API}/{ref}", json={"priority": "low"}, headers={**agent, "If-Match": header}
    )

    assert answer.status_code == status, answer.get_data(as_text=True)


def test_without_if_match_a_write_goes_through_as_before(client, world):
    ref = world.ticket(status="open").reference
    answer = client.post(
        f"{API}/{ref}/transition", json={"to": "pending"}, headers=world.headers(world.agent)
    )
    assert answer.status_code == 200


def test_a_ticket_the_caller_may_not_see_is_404_whatever_the_if_match(client, world):
    ref = world.ticket().reference
    answer = client.patch(
        f"{API}/{ref}",
        json={"title": "x"},
        headers={**world.headers(world.other_power), "If-Match": '"1-1"'},
    )
    assert_error(answer, 404, "not_found")

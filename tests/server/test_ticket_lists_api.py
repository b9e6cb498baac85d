"""Ticket lists through the API: every filter and sort against a brute-force reference, keyset
pages that neither skip nor repeat, bounded counts, bad cursors and filters, and exports that
show a customer nothing more than the ticket page does."""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import random
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_error_shape import assert_error

from helpdesk import pagination
from helpdesk.db import database
from helpdesk.models import Comment, Membership, Ticket
from helpdesk.services import tickets
from helpdesk.vocabulary import PRIORITIES, STATUSES, TICKET_SORTS, TICKET_TYPES

API = "/api/v1"
# One lowercase word each: ordered alike by Python, SQLite (binary) and PostgreSQL (C.UTF-8).
WORDS = ("printer", "vpn", "badge", "invoice", "laptop", "mail", "screen", "alpha")
PATHS = (
    (),
    ("open",),
    ("open", "pending"),
    ("open", "resolved"),
    ("closed",),
    ("open", "resolved", "closed"),
)


def build_desk(world, clock, n: int = 22, seed: int = 10) -> None:
    """Tickets in every status, type and priority, from four customers of two organizations,
    some private, some assigned, created at distinct and at equal times; through the services."""
    rng = random.Random(seed)
    submitters = [world.requester, world.colleague, world.power, world.other_power]
    for _ in range(n):
        ticket = tickets.submit_ticket(
            actor=rng.choice(submitters),
            type=rng.choice(TICKET_TYPES),
            title=rng.choice(WORDS),
            private=rng.random() < 0.25,
        )
        ref = ticket.reference
        if rng.random() < 0.5:
            tickets.edit_ticket(ref, {"priority": rng.choice(PRIORITIES)}, actor=world.agent)
        path = rng.choice(PATHS)
        if rng.random() < 0.4:
            tickets.assign(ref, "me", actor=world.agent)  # new -> open
            path = tuple(s for s in path if s != "open") if path[:1] == ("open",) else path
        if rng.random() < 0.3:
            clock.advance(minutes=rng.choice((1, 90)))
        if rng.random() < 0.5:
            tickets.add_comment(ref, f"public {ref}", actor=world.agent)
            tickets.add_comment(ref, f"internal {ref}", actor=world.agent, internal=True)
        for status in path:
            tickets.change_status(ref, status, actor=world.agent)
        if rng.random() < 0.7:  # else the next ticket shares this one's creation time
            clock.advance(minutes=rng.choice((1, 5, 60 * 24)))


def all_tickets() -> list[Ticket]:
    return list(Ticket.select().order_by(Ticket.id))


def visible_to(user, rows: list[Ticket]) -> list[Ticket]:
    """The reference rule (README, Who may do what), written out by hand."""
    if user.kind in ("agent", "admin"):
        return rows
    power = {
        m.organization_id
        for m in Membership.select().where((Membership.user == user) & (Membership.role == "power"))
    }
    shared = {s.ticket_id for s in user.shared_tickets}
    return [
        t
        for t in rows
        if t.requester_id == user.id
        or t.id in shared
        or (not t.private and t.organization_id in power)
    ]


SORT_KEY = {
    "reference": lambda t: (),
    "priority": lambda t: (PRIORITIES.index(t.priority),),
    "status": lambda t: (STATUSES.index(t.status),),
    "updated": lambda t: (t.updated_at,),
    "created": lambda t: (t.created_at,),
    "title": lambda t: (t.title,),
    "type": lambda t: (t.type,),
    "service": lambda t: (t.service.name if t.service_id else "",),
    "requester": lambda t: (t.requester.name,),
    "organization": lambda t: (t.organization.name,),
    "relevance": lambda t: (t.created_at,),  # without words to rank: newest first
}
NATURAL_DESC = {"priority", "updated", "created", "relevance"}


def reference_list(rows: list[Ticket], query: dict, actor) -> list[str]:
    """What GET /tickets must answer, computed in Python over every ticket."""
    out = []
    for t in visible_to(actor, rows):
        if query.get("status") and t.status not in query["status"]:
            continue
        if query.get("priority") and t.priority not in query["priority"]:
            continue
        if query.get("type") and t.type != query["type"]:
            continue
        if query.get("requester") and t.requester.email != query["requester"]:
            continue
        if query.get("organization") and t.organization.name != query["organization"]:
            continue
        if query.get("assignee") and (not t.assignee_id or t.assignee.email != query["assignee"]):
            continue
        if query.get("unassigned") and t.assignee_id is not None:
            continue
        if query.get("reference") and t.reference != query["reference"]:
            continue
        bounds = (
            ("from", "to", t.created_at),
            ("closed_from", "closed_to", t.closed_at),
            ("updated_since", None, t.updated_at),
        )
        if any(
            (query.get(low) and (value is None or value < datetime.fromisoformat(query[low])))
            or (
                high
                and query.get(high)
                and (value is None or value > datetime.fromisoformat(query[high]))
            )
            for low, high, value in bounds
        ):
            continue
        out.append(t)
    sort = query.get("sort") or "created"
    descending = query.get("dir", "desc" if sort in NATURAL_DESC else "asc") == "desc"
    out.sort(key=lambda t: (*SORT_KEY[sort](t), t.id), reverse=descending)
    return [t.reference for t in out]


def walk(client, headers, query: dict, per_page: int) -> tuple[list[str], dict]:
    """Every page by cursor: the references in order, and the first page."""
    first = page = get_ok(client, headers, {**query, "per_page": per_page})
    seen = [item["reference"] for item in page["items"]]
    for _ in range(200):  # bounded: far more pages than the desk has tickets
        if not page["next"]:
            return seen, first
        page = get_ok(client, headers, {**query, "per_page": per_page, "cursor": page["next"]})
        assert page["total"] == first["total"]
        seen += [item["reference"] for item in page["items"]]
    raise AssertionError("the cursor never reached the end")


def get_ok(client, headers, query: dict) -> dict:
    resp = client.get(f"{API}/tickets", query_string=query, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def filters(rows: list[Ticket], orgs: list[str]):
    """Random combinations of filters (each alone too) drawn from values the desk has."""
    times = sorted({t.created_at.isoformat() for t in rows})
    closed = sorted({t.closed_at.isoformat() for t in rows if t.closed_at}) or times
    updated = sorted({t.updated_at.isoformat() for t in rows})
    optional = {
        "status": st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3, unique=True),
        "priority": st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=2, unique=True),
        "type": st.sampled_from(TICKET_TYPES),
        "requester": st.sampled_from(sorted({t.requester.email for t in rows})),
        "organization": st.sampled_from(orgs),  # another's: 404 (test_tickets_api)
        "assignee": st.just("agent@example.test"),
        "unassigned": st.just("true"),
        "reference": st.sampled_from([t.reference for t in rows]),
        "from": st.sampled_from(times),
        "to": st.sampled_from(times),
        "closed_from": st.sampled_from(closed),
        "closed_to": st.sampled_from(closed),
        "updated_since": st.sampled_from(updated),
        "sort": st.sampled_from(TICKET_SORTS),
        "dir": st.sampled_from(["asc", "desc"]),
    }
    return st.fixed_dictionaries({}, optional=optional)


BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("who", ["agent", "power", "requester"])
def test_every_filter_and_sort_matches_a_brute_force_reference(client, world, clock, who):
    build_desk(world, clock)
    rows = all_tickets()
    actor = getattr(world, who)
    headers = world.headers(actor)
    # Each filter and each sort alone first, then random combinations.
    singles = [{}] + [{"sort": s, "dir": d} for s in TICKET_SORTS for d in ("asc", "desc")]

    orgs = ["Acme", "Globex"] if who == "agent" else ["Acme"]

    @BOUNDED
    @given(query=filters(rows, orgs), per_page=st.integers(min_value=1, max_value=7))
    def check(query, per_page):
        expected = reference_list(rows, query, actor)
        seen, first = walk(client, headers, query, per_page)
        assert seen == expected, query
        assert first["total"] == len(expected)
        assert first["total_is_estimate"] is False

    for query in singles:
        assert walk(client, headers, query, 5)[0] == reference_list(rows, query, actor), query
    check()


def test_the_common_sorts_alone_cover_every_column(client, world, clock):
    """Each of the listed columns sorts (the README's row: reference ... updated)."""
    assert set(TICKET_SORTS) >= {
        "reference",
        "title",
        "status",
        "priority",
        "type",
        "service",
        "requester",
        "organization",
        "created",
        "updated",
    }


@pytest.mark.parametrize("sort", ["created", "updated", "reference"])
def test_cursor_pages_never_skip_or_repeat_while_tickets_are_added(client, world, clock, sort):
    build_desk(world, clock, n=12)
    headers = world.headers(world.agent)
    before = [t.reference for t in all_tickets()]
    for direction in ("asc", "desc"):
        query = {"sort": sort, "dir": direction, "per_page": 4}
        page = get_ok(client, headers, query)
        seen = [item["reference"] for item in page["items"]]
        added = []
        for _ in range(50):
            if not page["next"]:
                break
            clock.advance(minutes=1)  # a new ticket between every two pages
            added.append(tickets.submit_ticket(actor=world.requester, type="question", title="new"))
            page = get_ok(client, headers, {**query, "cursor": page["next"]})
            seen += [item["reference"] for item in page["items"]]
        assert len(seen) == len(set(seen)), "a ticket was listed twice"
        assert set(before) <= set(seen), "a ticket was skipped"
        # Newest first never reaches the tickets added meanwhile; oldest first ends with them.
        assert set(seen) - set(before) <= {t.reference for t in added}
        before = [t.reference for t in all_tickets()]


def test_page_numbers_still_work_and_name_the_next_cursor(client, world, clock):
    build_desk(world, clock, n=9)
    headers = world.headers(world.agent)
    expected = reference_list(all_tickets(), {}, world.agent)
    second = get_ok(client, headers, {"page": 2, "per_page": 4})
    assert [i["reference"] for i in second["items"]] == expected[4:8]
    third = get_ok(client, headers, {"cursor": second["next"], "per_page": 4})
    assert [i["reference"] for i in third["items"]] == expected[8:]
    assert third["next"] is None


def test_a_count_past_the_limit_is_a_marked_lower_bound_and_can_be_skipped(
    client, world, clock, monkeypatch
):
    build_desk(world, clock, n=6)
    headers = world.headers(world.agent)
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 4)
    page = get_ok(client, headers, {"per_page": 2})
    assert (page["total"], page["total_is_estimate"]) == (4, True)
    assert get_ok(client, headers, {"per_page": 2, "status": "closed"})["total_is_estimate"] in (
        False,
        True,
    )
    uncounted = get_ok(client, headers, {"per_page": 2, "count": "false"})
    assert uncounted["total"] is None and uncounted["next"]
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 6)
    assert get_ok(client, headers, {})["total"] == 6
    assert get_ok(client, headers, {})["total_is_estimate"] is False


def _cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "not a cursor"},
        {"cursor": "%%%"},
        {"cursor": _cursor("created", "desc", [{"t": "yesterday"}, 1])},
        {"cursor": _cursor("created", "desc", ["1"])},  # a text where the id belongs
        {"cursor": _cursor("created", "desc", [1, 1])},  # one key too many
        {"cursor": _cursor("title", "asc", ["x", 1])},  # another sort's cursor
        {"cursor": _cursor("created", "asc", [{"t": "2026-01-01T00:00:00"}, 1])},  # other dir
        {"cursor": _cursor("reference", "asc", [True]), "sort": "reference"},
        {"cursor": _cursor("reference", "asc", [[1]]), "sort": "reference"},
        {"cursor": _cursor("reference", "asc", [2**70]), "sort": "reference"},
        {"cursor": _cursor("created", "desc", ["x", 1])},  # a text where a time belongs
        {"cursor": _cursor("created", "desc", [{"t": "2026-01-01T00:00:00+02:00"}, 1])},
        {"cursor": _cursor("title", "asc", ["a\x00b", 1]), "sort": "title"},
        {"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()},
        {"cursor": _cursor("created", "desc", [{"t": "2026-01-01"}, 1]), "page": "2"},
    ],
)
def test_a_bad_cursor_is_a_422_naming_the_cursor(client, world, query):
    world.ticket()
    resp = client.get(f"{API}/tickets", query_string=query, headers=world.headers(world.agent))
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"]["field"] == "cursor"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "done"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ({"updated_since": "last week"}, "updated_since"),
        ({"closed_from": "2026-13-01"}, "closed_from"),
        ({"count": "maybe"}, "count"),
        ({"sort": "colour"}, "sort"),
        ({"reference": "ticket 42"}, "reference"),
    ],
)
def test_a_bad_filter_value_is_a_422_naming_it(client, world, query, field):
    resp = client.get(f"{API}/tickets", query_string=query, headers=world.headers(world.agent))
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"]["field"] == field


def test_a_good_cursor_of_one_sort_keeps_working_at_the_next_tickets(client, world, clock):
    build_desk(world, clock, n=5)
    headers = world.headers(world.agent)
    page = get_ok(client, headers, {"sort": "priority", "per_page": 2})
    resp = client.get(
        f"{API}/tickets",
        query_string={"sort": "title", "cursor": page["next"]},
        headers=headers,
    )
    assert_error(resp, 422, "validation_failed")


# -- exports ------------------------------------------------------------------------------


def export(client, headers, **query) -> tuple[int, str]:
    resp = client.get(f"{API}/tickets/export", query_string=query, headers=headers)
    return resp.status_code, resp.get_data(as_text=True)


def test_export_streams_every_ticket_with_the_comments_the_caller_may_see(
    client, world, clock, monkeypatch
):
    build_desk(world, clock)
    monkeypatch.setattr(tickets, "EXPORT_BATCH", 3)  # several batches, each read by cursor
    rows = all_tickets()
    for who in ("agent", "power", "requester", "other_power"):
        actor = getattr(world, who)
        status, text = export(client, world.headers(actor), format="jsonl")
        assert status == 200
        lines = [json.loads(line) for line in text.splitlines()]
        expected = reference_list(rows, {}, actor)
        assert [line["reference"] for line in lines] == expected
        for line in lines:
            ticket = tickets.get_ticket(line["reference"], actor=actor)
            want = [c.id for c in tickets.visible_comments(ticket, actor)]
            assert [c["id"] for c in line["comments"]] == want
            if who != "agent":
                assert all(c["visibility"] == "public" for c in line["comments"])
    internal = Comment.select().where(Comment.visibility == "internal").count()
    _, agent_text = export(client, world.headers(world.agent), format="jsonl")
    assert agent_text.count('"visibility": "internal"') == internal > 0


def test_export_as_csv_has_a_header_and_a_row_a_comment(client, world, clock):
    build_desk(world, clock, n=8)
    status, text = export(client, world.headers(world.power), format="csv", status="closed")
    assert status == 200
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:3] == ["reference", "title", "status"]
    refs = reference_list(all_tickets(), {"status": ["closed"]}, world.power)
    assert sorted({row[0] for row in table[1:]}) == sorted(refs)
    assert all(row[2] == "closed" for row in table[1:])
    assert all(row[13] in ("public", "") for row in table[1:])
    assert "internal HD" not in text


@pytest.mark.parametrize(
    ("query", "field"), [({"format": "xml"}, "format"), ({"status": "done"}, "status")]
)
def test_a_bad_export_is_refused_before_anything_is_streamed(client, world, query, field):
    resp = client.get(
        f"{API}/tickets/export", query_string=query, headers=world.headers(world.agent)
    )
    assert assert_error(resp, 422, "validation_failed")["details"]["field"] == field


def test_a_customer_counts_only_what_they_may_see(client, world, clock):
    private = tickets.submit_ticket(
        actor=world.colleague, type="incident", title="secret", private=True
    )
    tickets.add_comment(private.reference, "hidden", actor=world.agent, internal=True)
    mine = tickets.submit_ticket(actor=world.requester, type="incident", title="mine")
    tickets.add_comment(mine.reference, "agents only", actor=world.agent, internal=True)
    clock.advance(days=1)
    for who, visible in (("requester", 1), ("power", 1), ("other_power", 0), ("colleague", 1)):
        headers = world.headers(getattr(world, who))
        page = get_ok(client, headers, {})
        assert page["total"] == visible == len(page["items"]), who
        text = export(client, headers, format="jsonl")[1]
        assert "agents only" not in text and "hidden" not in text
        assert ("secret" in text) == (who == "colleague")
    assert (
        get_ok(client, world.headers(world.power), {"reference": private.reference})["total"] == 0
    )


def test_updated_since_takes_a_date_or_a_time(client, world, clock):
    old = world.ticket(title="old")
    clock.advance(days=3)
    new = world.ticket(title="new")
    day = (new.updated_at - timedelta(days=1)).date().isoformat()
    headers = world.headers(world.agent)
    assert [i["reference"] for i in get_ok(client, headers, {"updated_since": day})["items"]] == [
        new.reference
    ]
    tickets.add_comment(old.reference, "bump", actor=world.agent)
    assert {i["reference"] for i in get_ok(client, headers, {"updated_since": day})["items"]} == {
        old.reference,
        new.reference,
    }


def page_queries(client, headers, query: dict, caplog) -> list[str]:
    """The SQL (with its parameters, for EXPLAIN) of one list request on the ticket table."""
    caplog.set_level(logging.DEBUG, logger="peewee")  # peewee logs each (sql, params) it runs
    caplog.clear()
    get_ok(client, headers, query)
    logged = [r.msg for r in caplog.records if r.name == "peewee" and isinstance(r.msg, tuple)]
    caplog.set_level(logging.WARNING, logger="peewee")
    return [(sql, params) for sql, params in logged if 'FROM "ticket"' in sql]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("who", "query", "index"),
    [
        ("agent", {"status": ["new", "open", "pending"]}, "ticket_status_id"),
        ("agent", {"status": "open", "organization": "Acme"}, "ticket_organization_id_status_id"),
        ("agent", {"scope": "mine"}, "ticket_assignee_id"),
        ("agent", {"sort": "updated"}, "ticket_updated_at_id"),
        ("requester", {"status": "open"}, "ticket_requester_id"),
    ],
)
def test_a_page_is_read_in_index_order_and_joins_only_its_rows(
    client, world, clock, caplog, who, query, index
):
    """The page's ids come from an index in the list's order (no sort of every match), and only
    the page's rows are then read with their requester, organization..."""
    build_desk(world, clock, n=6)
    queries = page_queries(client, world.headers(getattr(world, who)), query, caplog)
    ids_query = next(sql for sql, _ in queries if sql.startswith('SELECT "t1"."id" FROM'))
    params = next(p for sql, p in queries if sql == ids_query)
    assert " JOIN " not in ids_query
    plan = [r[-1] for r in database.execute_sql("EXPLAIN QUERY PLAN " + ids_query, params)]
    assert "SCAN t1" not in plan, plan  # a scan in an index's order stops at the page's end
    assert any(index in step for step in plan), plan
    if who == "agent" and not isinstance(query.get("status"), list):
        # In index order, no sort. (Several statuses: one index range each, merged by a
        # sorter that SQLite stops reading each range into once the page is full; a
        # customer's few visible ids are sorted.)
        assert not any("TEMP B-TREE" in step for step in plan), plan
    for sql, _ in queries:  # the page's rows (none for an empty page), read by their ids
        if " JOIN " in sql:
            assert '"t1"."id" IN (' in sql and "LIMIT" not in sql

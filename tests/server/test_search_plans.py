"""A text search with filters runs one of two plans (helpdesk/search.py, FEW_TICKETS): the
words' matches first, each tested against the filters, or, when the filters an index answers
keep few tickets, those tickets first, each looked up in the search index. Either way the same
rows in the same order, with the same totals, and never a ticket the caller may not see."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_ticket_lists_api import (
    BOUNDED,
    WORDS,
    all_tickets,
    build_desk,
    filters,
    get_ok,
    reference_list,
    walk,
)

from helpdesk import search
from helpdesk.db import database
from helpdesk.models import Comment
from helpdesk.services import tickets

# Every listed ticket has one of WORDS as its title; about half have a public comment
# "public HD-n" and an internal note "internal HD-n" (build_desk).
SEARCHED = (*WORDS, "public", "internal")
WORDS_FIRST, TICKETS_FIRST = "words first", "tickets first"
# (FEW_TICKETS, MATCHES_PER_LOOKUP) that force each plan (wherever an index filters at all).
FORCED = {WORDS_FIRST: (0, 0), TICKETS_FIRST: (10**9, 0)}


def readable_words(actor) -> dict[int, set[str]]:
    """Each ticket's words that the actor may search: title, description, public comments;
    an agent's internal notes too (the brute-force reference, as in test_search_api)."""
    agent = actor.kind in ("agent", "admin")
    texts: dict[int, set[str]] = {}
    for ticket in all_tickets():
        texts[ticket.id] = set(search.words(ticket.title) + search.words(ticket.description))
    for comment in Comment.select():
        if agent or comment.visibility == "public":
            texts[comment.ticket_id].update(search.words(comment.body))
    return texts


@pytest.mark.parametrize("who", ["agent", "power", "requester"])
def test_both_search_plans_find_what_a_brute_force_reference_does(
    client, world, clock, monkeypatch, who
):
    build_desk(world, clock)
    rows = all_tickets()
    actor = getattr(world, who)
    headers = world.headers(actor)
    readable = readable_words(actor)
    by_ref = {t.reference: t.id for t in rows}
    orgs = ["Acme", "Globex"] if who == "agent" else ["Acme"]

    @BOUNDED
    @given(
        query=filters(rows, orgs),
        word=st.sampled_from(SEARCHED),
        per_page=st.integers(min_value=1, max_value=7),
    )
    def check(query, word, per_page):
        expected = [
            ref for ref in reference_list(rows, query, actor) if word in readable[by_ref[ref]]
        ]
        searched = {**query, "q": word}
        pages = {}
        for few in (WORDS_FIRST, TICKETS_FIRST):
            monkeypatch.setattr(search, "FEW_TICKETS", FORCED[few][0])
            monkeypatch.setattr(search, "MATCHES_PER_LOOKUP", FORCED[few][1])
            seen, first = walk(client, headers, searched, per_page)
            pages[few] = seen
            assert first["total"] == len(expected) and not first["total_is_estimate"], searched
        assert pages[WORDS_FIRST] == pages[TICKETS_FIRST], searched
        if query.get("sort", "relevance") == "relevance":  # bm25 order: the same tickets
            assert sorted(pages[WORDS_FIRST]) == sorted(expected), searched
        else:
            assert pages[WORDS_FIRST] == expected, searched

    check()


def search_queries(client, headers, query: dict, caplog) -> list[tuple[str, tuple]]:
    """The SQL (with its parameters, for EXPLAIN) that one search request runs on tickets."""
    caplog.set_level(logging.DEBUG, logger="peewee")
    caplog.clear()
    get_ok(client, headers, query)
    logged = [r.msg for r in caplog.records if r.name == "peewee" and isinstance(r.msg, tuple)]
    caplog.set_level(logging.WARNING, logger="peewee")
    return [(sql, params) for sql, params in logged if 'FROM "ticket"' in sql]


def plan_of(sql: str, params) -> list[str]:
    return [row[-1] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params)]


@pytest.mark.sqlite_only
def test_a_search_within_few_tickets_reads_them_before_the_search_index(
    client, world, caplog, monkeypatch
):
    """Filters an index answers that keep few tickets against the word's matches (one
    organization's new ones): the total and the page read those tickets first and look each
    up in the search index, instead of walking every match of the word newest first; with a
    word of few matches, or without such a filter, the search index first."""
    monkeypatch.setattr(search, "MATCHES_PER_LOOKUP", 2)
    world.ticket(title="Printer jams")
    for n in range(3):
        tickets.submit_ticket(actor=world.other_power, type="incident", title=f"Printer {n}")
    agent = world.headers(world.agent)
    filtered = {"q": "printer", "sort": "created", "organization": "Acme", "status": "new"}
    queries = search_queries(client, agent, filtered, caplog)
    # Two bounded counts on indexes (the filters' tickets, the word's matches), then the
    # total and the page's ids (its rows are read by id).
    assert "COUNT(" in queries[0][0] and "ticket_search" not in queries[0][0]
    searched = [(sql, params) for sql, params in queries if "ticket_search_agent" in sql]
    assert len(searched) == 2
    for sql, params in searched:
        plan = plan_of(sql, params)
        tickets_at = next(i for i, step in enumerate(plan) if " t1 " in step)
        words_at = next(i for i, step in enumerate(plan) if "VIRTUAL TABLE" in step)
        assert tickets_at < words_at, plan
        assert "=M" in plan[words_at], plan  # one ticket id's lookup (=), not a scan (M)
    assert "ticket_organization_id_status_id" in plan_of(*searched[0])[1]
    # A word with as few matches (2 per ticket), and words alone: the search index first,
    # newest first, in its own order.
    for query in ({**filtered, "q": "jams"}, {"q": "printer", "sort": "created"}):
        queries = search_queries(client, agent, query, caplog)
        plan = plan_of(*next(q for q in queries if q[0].startswith('SELECT "t1"."id" FROM')))
        assert "VIRTUAL TABLE" in plan[0] and not any("TEMP B-TREE" in s for s in plan), plan

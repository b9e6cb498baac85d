"""A text search with filters runs one of three plans (helpdesk/search.py, plan_search): the
words' matches first, each tested against the filters, or, when the filters an index answers
keep few tickets, those tickets first, matched against the words' matches in their range of ids
in one pass or each looked up in the search index. Either way the same rows in the same order,
with the same totals, and never a ticket the caller may not see."""

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
WORDS_FIRST, LOOKUPS, ONE_PASS = "words first", "a lookup a ticket", "one pass"
# (FEW_TICKETS, MATCHES_PER_LOOKUP) that force each plan (wherever an index filters at all).
FORCED = {WORDS_FIRST: (0, 0), LOOKUPS: (10**9, 0), ONE_PASS: (10**9, 10**9)}


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
        for plan, (few, per_lookup) in FORCED.items():
            monkeypatch.setattr(search, "FEW_TICKETS", few)
            monkeypatch.setattr(search, "MATCHES_PER_LOOKUP", per_lookup)
            seen, first = walk(client, headers, searched, per_page)
            pages[plan] = seen
            assert first["total"] == len(expected) and not first["total_is_estimate"], searched
        assert pages[WORDS_FIRST] == pages[LOOKUPS] == pages[ONE_PASS], searched
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


def steps_of(plan: list[str]) -> tuple[int, int]:
    """Where a plan reads the tickets (the query's t1) and the search index."""
    tickets_at = next(i for i, step in enumerate(plan) if " t1 " in step)
    words_at = next(i for i, step in enumerate(plan) if "VIRTUAL TABLE" in step)
    return tickets_at, words_at


@pytest.mark.sqlite_only
def test_a_search_within_few_tickets_reads_them_before_the_search_index(
    client, world, caplog, monkeypatch
):
    """Filters an index answers that keep few tickets (one organization's new ones): the total
    and the page read those tickets first and match them against the word's matches within
    their range of ids, read once (a word of many matches elsewhere costs nothing); with many
    matches in that range, each ticket is looked up in the search index instead; without such a
    filter, the search index first, newest first, in its own order."""
    monkeypatch.setattr(search, "MATCHES_PER_LOOKUP", 2)
    for n in range(3):
        tickets.submit_ticket(actor=world.other_power, type="incident", title=f"Printer {n}")
    first = world.ticket(title="Printer jams")
    world.ticket(title="Printer jams again")
    for n in range(5):
        tickets.submit_ticket(actor=world.other_power, type="incident", title=f"Printer {n}")
    agent = world.headers(world.agent)
    filtered = {"q": "printer", "sort": "created", "organization": "Acme", "status": "new"}
    queries = search_queries(client, agent, filtered, caplog)
    # Bounded counts on indexes (the filters' tickets with their range of ids, the word's
    # matches in that range), then the total and the page's ids (its rows are read by id).
    assert "COUNT(" in queries[0][0] and "ticket_search" not in queries[0][0]
    searched = [(sql, params) for sql, params in queries if "ticket_search_agent" in sql]
    assert len(searched) == 2
    for sql, params in searched:
        plan = plan_of(sql, params)
        tickets_at, words_at = steps_of(plan)
        assert tickets_at < words_at, plan
        # The matches between two ids read once (><), no lookup of one ticket id (=).
        assert "M1><" in plan[words_at] and "=" not in plan[words_at], plan
        acme = [first.id, first.id + 1]  # Acme's range of ids, without Globex's around it
        assert any(list(params[i : i + 2]) == acme for i in range(len(params))), params
    assert "ticket_organization_id" in plan_of(*searched[0])[1]
    # More matches in that range than MATCHES_PER_LOOKUP a ticket: a lookup each.
    for n in range(3):
        tickets.submit_ticket(actor=world.other_power, type="incident", title=f"Printer {n}")
    world.ticket(title="Printer jams at last")
    searched = [
        (sql, params)
        for sql, params in search_queries(client, agent, filtered, caplog)
        if "ticket_search_agent" in sql
    ]
    for sql, params in searched:
        plan = plan_of(sql, params)
        tickets_at, words_at = steps_of(plan)
        assert tickets_at < words_at and "=M" in plan[words_at], plan
    # Words alone: the search index first, newest first, in its own order.
    queries = search_queries(client, agent, {"q": "printer", "sort": "created"}, caplog)
    plan = plan_of(*next(q for q in queries if q[0].startswith('SELECT "t1"."id" FROM')))
    assert "VIRTUAL TABLE" in plan[0] and not any("TEMP B-TREE" in s for s in plan), plan


@pytest.mark.sqlite_only
@pytest.mark.parametrize("per_lookup", [0, 10**9], ids=["lookups", "one pass"])
def test_a_ranked_search_within_few_tickets_scores_them_in_one_read(
    client, world, caplog, monkeypatch, per_lookup
):
    """bm25 weighs a word by how many tickets have it, counted on the word's whole list of
    matches for each read of the search index: a ranked search that reads the caller's few
    tickets first scores their matches in one read (a CTE), never one search a ticket, in
    either plan; the page is then found with its ranks and its rows read by id."""
    monkeypatch.setattr(search, "MATCHES_PER_LOOKUP", per_lookup)
    mine = []
    for n in range(3):
        mine.append(world.ticket(title=f"Printer {n}", description="printer " * n))
        tickets.submit_ticket(actor=world.other_power, type="incident", title=f"Printer {n}")
    queries = search_queries(client, world.headers(world.requester), {"q": "printer"}, caplog)
    ranked = [(sql, params) for sql, params in queries if "bm25(" in sql]
    assert len(ranked) == 1
    plan = plan_of(*ranked[0])
    assert "MATERIALIZE scores" in plan[0], plan
    [read] = [step for step in plan if "VIRTUAL TABLE" in step]
    assert "=" not in read, plan  # the matches read in one pass, no lookup of one id
    found = get_ok(client, world.headers(world.requester), {"q": "printer"})["items"]
    assert [item["reference"] for item in found] == [t.reference for t in reversed(mine)]

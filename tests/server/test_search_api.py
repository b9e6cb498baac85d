"""Full-text search through the API (helpdesk/search.py): whole words without diacritics,
ranked, with snippets, kept in sync by every write, and never showing what the caller may not
see. Runs on both engines."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk import search
from helpdesk.db import database
from helpdesk.models import SchemaVersion, Ticket
from helpdesk.services import tickets

API = "/api/v1"


def found(client, headers, q, **params) -> list[dict]:
    resp = client.get(f"{API}/tickets", query_string={"q": q, **params}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def refs(client, headers, q, **params) -> list[str]:
    return [item["reference"] for item in found(client, headers, q, **params)]


def test_diacritics_and_case_are_folded_both_ways(client, world):
    screen = world.ticket(title="Écran noir au démarrage")
    plain = world.ticket(title="Ecran bleu", description="Rien a signaler.")
    czech = world.ticket(title="Tiskárna", description="ŘADIČ nehlásí chybu")
    headers = world.headers(world.requester)
    for q in ("ecran", "écran", "ÉCRAN", "Ecran"):
        assert sorted(refs(client, headers, q)) == sorted([screen.reference, plain.reference]), q
    assert refs(client, headers, "demarrage") == [screen.reference]
    assert refs(client, headers, "radic") == [czech.reference]
    assert refs(client, headers, "tiskarna") == [czech.reference]


def test_whole_words_no_stemming_words_anded(client, world):
    printer = world.ticket(title="Printer jams", description="Tray two is stuck.")
    world.ticket(title="Printers everywhere", description="Nothing else.")
    headers = world.headers(world.agent)
    assert refs(client, headers, "printer") == [printer.reference]
    assert refs(client, headers, "print") == []
    assert refs(client, headers, "printer stuck") == [printer.reference]  # title + description
    assert refs(client, headers, "printer everywhere") == []  # every word, in one ticket


def test_relevance_ranks_by_default_and_other_sorts_still_apply(client, world, clock):
    once = world.ticket(
        title="Monthly report", description="The router " + "restarted again and " * 20
    )
    clock.advance(minutes=1)
    most = world.ticket(title="Router router", description="The router drops the router link.")
    clock.advance(minutes=1)
    twice = world.ticket(title="Router down", description="The router is off.")
    headers = world.headers(world.agent)
    assert refs(client, headers, "router") == [most.reference, twice.reference, once.reference]
    assert refs(client, headers, "router", sort="relevance") == refs(client, headers, "router")
    assert refs(client, headers, "router", sort="created") == [
        twice.reference,
        most.reference,
        once.reference,
    ]
    assert refs(client, headers, "router", sort="reference", dir="asc") == [
        once.reference,
        most.reference,
        twice.reference,
    ]
    # Without text, relevance has nothing to rank: newest first.
    resp = client.get(f"{API}/tickets", query_string={"sort": "relevance"}, headers=headers)
    assert [i["reference"] for i in resp.get_json()["items"]][:3] == [
        twice.reference,
        most.reference,
        once.reference,
    ]


def test_snippet_shows_where_the_words_are(client, world):
    long_text = "Filler words here. " * 20 + "The scanner smears every page. " + "More. " * 20
    ticket = world.ticket(title="Office issue", description=long_text)
    tickets.add_comment(ticket.reference, "Also the fjord label.", actor=world.requester)
    headers = world.headers(world.requester)
    [item] = found(client, headers, "scanner")
    assert "The scanner smears every page." in item["snippet"]
    assert item["snippet"].startswith("…") and item["snippet"].endswith("…")
    assert len(item["snippet"]) < 200
    [item] = found(client, headers, "FJORD")
    assert item["snippet"] == "Also the fjord label."
    # No text, no snippet key.
    resp = client.get(f"{API}/tickets", headers=headers)
    assert "snippet" not in resp.get_json()["items"][0]


def test_a_reference_as_the_whole_query_finds_that_ticket(client, world):
    mine = world.ticket(title="Mine")
    other = tickets.submit_ticket(actor=world.other_power, type="incident", title="Theirs")
    headers = world.headers(world.requester)
    assert refs(client, headers, mine.reference) == [mine.reference]
    assert refs(client, headers, f" {mine.reference.lower()} ") == [mine.reference]
    assert refs(client, headers, other.reference) == []  # not theirs to see
    assert refs(client, world.headers(world.agent), other.reference) == [other.reference]


HOSTILE = [
    '"',
    '"printer',
    "printer*",
    "*",
    "NEAR(printer jams)",
    "printer NEAR jams",
    "title:printer",
    "body : printer",
    "-printer",
    "printer -jams",
    "printer & jams",
    "printer | jams",
    "!printer",
    "(printer",
    "printer)",
    "printer:*",
    "'printer'",
    "printer AND OR NOT jams",
    "{body} : printer",
    "^printer",
    "printer\\",
    "\x00printer",
    "😀 printer",
    "a" * 199,
]


def test_hostile_queries_neither_break_nor_change_the_search(client, world):
    printer = world.ticket(title="Printer jams")
    world.ticket(title="Near the window")
    headers = world.headers(world.agent)
    for q in HOSTILE:
        resp = client.get(f"{API}/tickets", query_string={"q": q}, headers=headers)
        assert resp.status_code in (200, 422), (q, resp.get_data(as_text=True))
        body = resp.get_json()
        if resp.status_code == 422:
            assert body["error"]["code"] == "validation_failed", q
            continue
        expected = {w for w in search.query_words(q)} <= {"printer", "jams"}
        got = [item["reference"] for item in body["items"]]
        assert got == ([printer.reference] if expected else []), q
    # Operators are words like any other: "near" finds the word "near".
    assert len(refs(client, headers, "NEAR")) == 1
    assert refs(client, headers, "printer OR window") == []  # no OR: three words, ANDed


def test_every_write_path_keeps_the_index_in_sync(client, world):
    agent, requester = world.agent, world.requester
    as_agent, as_requester = world.headers(agent), world.headers(requester)
    ticket = tickets.submit_ticket(
        actor=requester, type="incident", title="Quasar broken", description="Nebula flicker."
    )
    ref = ticket.reference
    assert refs(client, as_requester, "quasar nebula") == [ref]  # submit
    tickets.edit_ticket(ref, {"title": "Pulsar broken", "description": "Zephyr"}, actor=requester)
    assert refs(client, as_requester, "quasar") == []  # edit: old words gone
    assert refs(client, as_requester, "nebula") == []
    assert refs(client, as_requester, "pulsar zephyr") == [ref]
    tickets.add_comment(ref, "Mistral outside.", actor=requester)  # public comment
    assert refs(client, as_requester, "mistral") == [ref]
    tickets.add_comment(ref, "Obsidian firmware suspected.", actor=agent, internal=True)
    assert refs(client, as_agent, "obsidian") == [ref]  # internal note: agents only
    assert refs(client, as_requester, "obsidian") == []
    tickets.change_status(ref, "open", actor=agent)
    tickets.change_status(ref, "pending", actor=agent, comment="Basalt replaced.")
    assert refs(client, as_requester, "basalt") == [ref]  # a transition's comment
    # A repeated submit with the same dedupe key: "happened again" with the new description.
    first = tickets.submit(
        actor=requester, type="incident", title="Granite alarm", dedupe_key="alarm-1"
    )
    again = tickets.submit(
        actor=requester,
        type="incident",
        title="Granite alarm",
        description="Marble sensor tripped.",
        dedupe_key="alarm-1",
    )
    assert again.deduplicated
    assert refs(client, as_requester, "marble") == [first.ticket.reference]


def test_a_failed_write_leaves_the_index_as_it_was(client, world):
    ticket = world.ticket(title="Cobalt screen")
    with pytest.raises(RuntimeError), database.atomic():
        tickets.add_comment(ticket.reference, "Indigo stripes.", actor=world.requester)
        tickets.edit_ticket(ticket.reference, {"title": "Saffron screen"}, actor=world.requester)
        raise RuntimeError("the rest of the write failed")
    headers = world.headers(world.agent)
    assert refs(client, headers, "indigo") == []
    assert refs(client, headers, "saffron") == []
    assert refs(client, headers, "cobalt") == [ticket.reference]


def test_customers_never_find_or_read_what_they_may_not_see(client, world):
    ticket = world.ticket(title="Tundra login", description="Cannot log in since Monday.")
    tickets.add_comment(
        ticket.reference,
        "Tundra account flagged by the savanna fraud team.",
        actor=world.agent,
        internal=True,
    )
    private = world.ticket(title="Glacier salary question", private=True)
    globex = tickets.submit_ticket(actor=world.other_power, type="incident", title="Glacier too")
    agent, requester, colleague, power = (
        world.headers(u) for u in (world.agent, world.requester, world.colleague, world.power)
    )
    # Internal words find nothing for a customer, and never show in a snippet.
    assert refs(client, requester, "savanna") == []
    assert refs(client, requester, "tundra fraud") == []
    [item] = found(client, requester, "tundra")
    assert "savanna" not in item["snippet"] and "fraud" not in item["snippet"]
    # Agents find internal notes and read them in the snippet.
    [item] = found(client, agent, "savanna")
    assert item["reference"] == ticket.reference and "savanna fraud" in item["snippet"]
    # A colleague sees neither the private request nor another organization's.
    assert refs(client, colleague, "glacier") == []
    assert refs(client, colleague, "tundra") == []
    # A power user finds the organization's requests, not the private one, not Globex's.
    assert refs(client, power, "tundra") == [ticket.reference]
    assert refs(client, power, "glacier") == []
    assert refs(client, requester, "glacier") == [private.reference]
    assert sorted(refs(client, agent, "glacier")) == sorted([private.reference, globex.reference])
    # Counts say nothing either.
    resp = client.get(f"{API}/tickets", query_string={"q": "savanna"}, headers=requester)
    assert resp.get_json()["total"] == 0


def test_the_schema_upgrade_indexes_existing_tickets_and_reindex_rebuilds(client, world):
    ticket = world.ticket(title="Lagoon pump")
    for model in search._models():  # a database from before version 5 has no index
        model.delete().execute()
    assert refs(client, world.headers(world.agent), "lagoon") == []
    SchemaVersion.update(version=4).execute()
    from playhouse.migrate import SchemaMigrator, migrate

    from helpdesk.migrations import (
        DASHBOARD_INDEXES,
        LATEST,
        LIST_INDEXES,
        index_name,
        upgrade_schema,
    )

    migrator = SchemaMigrator.from_database(database.obj)
    for columns in (*LIST_INDEXES, *DASHBOARD_INDEXES):  # nor version 5's list indexes
        migrate(migrator.drop_index("ticket", index_name(columns)))

    assert upgrade_schema() == LATEST
    assert refs(client, world.headers(world.agent), "lagoon") == [ticket.reference]
    # A ticket written behind the services' back is found after a reindex (batches of 1).
    Ticket.update(title="Estuary pump").where(Ticket.id == ticket.id).execute()
    assert search.reindex(batch=1) == Ticket.select().count()
    assert refs(client, world.headers(world.agent), "estuary") == [ticket.reference]
    assert refs(client, world.headers(world.agent), "lagoon") == []


# -- property: the search returns what a brute-force whole-word match over visible text does

WORDS = ["alpha", "beta", "écran", "ecran", "Řadič", "radic", "gamma", "delta", "BETA", "x1"]
SENTENCE = st.lists(st.sampled_from(WORDS), min_size=0, max_size=5).map(" ".join)
TICKETS = st.lists(
    st.tuples(
        SENTENCE.filter(bool),  # title
        SENTENCE,  # description
        st.lists(st.tuples(SENTENCE.filter(bool), st.booleans()), max_size=2),  # comments
        st.booleans(),  # private
        st.booleans(),  # the colleague's, not the requester's
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=TICKETS, query=st.sampled_from(WORDS))
def test_search_matches_a_brute_force_whole_word_reference(client, world, data, query):
    # Examples share the database: each compares the tickets it made (at most 60 in all).
    visible_text: dict[str, tuple[list[str], list[str], bool]] = {}
    for title, description, comments, private, colleagues in data:
        owner = world.colleague if colleagues else world.requester
        ticket = tickets.submit_ticket(
            actor=owner, type="incident", title=title, description=description, private=private
        )
        public, internal = [title, description], []
        for body, internal_note in comments:
            tickets.add_comment(ticket.reference, body, actor=world.agent, internal=internal_note)
            (internal if internal_note else public).append(body)
        visible_text[ticket.reference] = (public, internal, colleagues)

    def has(texts, word):
        wanted = search.fold(word)
        return any(wanted in search.fold(t).split() for t in texts)

    def searched(user) -> list[str]:
        got = refs(client, world.headers(user), query, per_page=100)
        return sorted(ref for ref in got if ref in visible_text)

    # The requester is no power user: their own requests only, public text only.
    assert searched(world.agent) == sorted(
        ref for ref, (public, internal, _) in visible_text.items() if has(public + internal, query)
    )
    assert searched(world.requester) == sorted(
        ref
        for ref, (public, _, colleagues) in visible_text.items()
        if not colleagues and has(public, query)
    )


def test_db_reindex_command_rebuilds_the_index(installed):
    cli = installed
    assert cli("org", "create", "Acme").exit_code == 0
    result = cli("db", "reindex")
    assert result.exit_code == 0, result.output
    assert "search index rebuilt for 0 tickets." in result.output
    result = cli("db", "reindex", "--json")
    assert result.exit_code == 0, result.output
    assert '"tickets": 0' in result.output


def test_ranked_results_page_by_cursor_without_skipping_or_repeating(client, world):
    """Relevance pages resume from the last row's rank (a float in the cursor) and id."""
    headers = world.headers(world.agent)
    for n in range(23):  # ranks differ (more mentions rank higher) and tie (same text)
        world.ticket(title=f"Lagoon {n}", description="lagoon " * (n % 4))
    every = refs(client, headers, "lagoon", per_page=100)
    assert len(every) == 23
    seen, cursor = [], None
    for _ in range(10):  # bounded: 23 tickets in pages of 5 need 5
        params = {"q": "lagoon", "per_page": 5, **({"cursor": cursor} if cursor else {})}
        resp = client.get("/api/v1/tickets", query_string=params, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        page = resp.get_json()
        seen += [item["reference"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == every


def test_totals_count_what_each_caller_finds(client, world, caplog):
    """An agent's search for words alone is counted on the search index (no ticket row read);
    with any other filter, and for customers, on the tickets: the totals agree either way."""
    mine = world.ticket(title="Walrus in the lobby")
    world.ticket(title="Walrus again", private=True)
    noted = world.ticket(title="Kettle")
    tickets.add_comment(noted.reference, "walrus seen", actor=world.agent, internal=True)
    theirs = tickets.submit_ticket(actor=world.other_power, type="incident", title="A walrus")
    tickets.change_status(theirs.reference, "open", actor=world.agent)

    def total(user, **params) -> int:
        resp = client.get(
            f"{API}/tickets", query_string={"q": "walrus", **params}, headers=world.headers(user)
        )
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["total"]

    caplog.set_level(logging.DEBUG, logger="peewee")
    caplog.clear()
    assert total(world.agent, sort="created") == 4
    counts = [r.msg[0] for r in caplog.records if r.name == "peewee" and "COUNT(" in r.msg[0]]
    assert len(counts) == 1 and '"ticket_search' in counts[0] and '"ticket" AS' not in counts[0]
    # By relevance, counted in the newest matches' ids (where the ranking starts), read alike.
    caplog.clear()
    assert total(world.agent) == 4
    reads = [r.msg[0] for r in caplog.records if r.name == "peewee" and "DESC LIMIT" in r.msg[0]]
    assert len(reads) == 1 and '"ticket_search' in reads[0] and '"ticket" AS' not in reads[0]
    caplog.set_level(logging.WARNING, logger="peewee")
    assert total(world.agent, status="open") == 1
    assert total(world.requester) == 2  # their own two: the internal note is not theirs to find
    assert total(world.colleague) == 0
    assert total(world.power) == 1  # the organization's, not the private one
    assert mine.reference in refs(client, world.headers(world.power), "walrus")


@pytest.mark.parametrize("who", ["agent", "requester"])
def test_past_the_bound_the_newest_matches_are_ranked(client, world, clock, monkeypatch, who):
    """Past RANKED_MATCHES matches (of the search, after the caller's visibility and filters),
    a search sorted by relevance ranks the newest RANKED_MATCHES of them, in relevance order
    across pages, the same ones however many newer come meanwhile; the total still counts every
    match, and a sort by date reaches them all."""
    monkeypatch.setattr(search, "RANKED_MATCHES", 4)
    # Another organization's request: the agent's match, not the requester's.
    tickets.submit_ticket(actor=world.other_power, type="incident", title="Walrus elsewhere")
    made = []
    for n in range(7):  # the newer mention the word more: they rank first
        clock.advance(minutes=1)
        made.append(world.ticket(title="Walrus", description="walrus " * n + f"note {n}"))
    headers = world.headers(getattr(world, who))
    matches = len(made) + (1 if who == "agent" else 0)
    best_first = [t.reference for t in reversed(made[-4:])]

    def get(**params) -> dict:
        resp = client.get(f"{API}/tickets", query_string={"q": "walrus", **params}, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    first = get(per_page=3)
    assert first["total"] == matches and not first["total_is_estimate"]
    assert [i["reference"] for i in first["items"]] == best_first[:3]
    # A newer match, ranked first: the next page still ends the ranking the first page began.
    world.ticket(title="Walrus", description="walrus " * 9)
    rest = get(cursor=first["next"])
    assert [i["reference"] for i in rest["items"]] == best_first[3:]
    assert rest["next"] is None and rest["total"] == matches + 1
    assert len(refs(client, headers, "walrus", sort="created", per_page=100)) == matches + 1
    # Within the bound, every match is ranked, as before.
    monkeypatch.setattr(search, "RANKED_MATCHES", 100)
    assert refs(client, headers, "walrus", per_page=100)[-1] == made[0].reference

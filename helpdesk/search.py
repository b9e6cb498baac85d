"""Full-text search over tickets: the one module that knows how each engine indexes text.

Each ticket has two documents: what a customer may read (title, description, public comments)
and what an agent may read (that and the internal notes). They are indexed apart, so a
customer's query never matches, ranks on or snippets an internal note:

- SQLite: two FTS5 tables (playhouse.sqlite_ext), `tokenize="unicode61 remove_diacritics 2"`;
  bm25 ranks. Two tables, not two columns of one: bm25 normalizes by the whole row's length.
- PostgreSQL: one table with a tsvector per document and a GIN index on each; ts_rank ranks.

Text is folded and cut into words here, in Python, before it reaches either engine (case
folding, diacritics removed: "Écran" is "ecran"), and a query is folded the same way: both
engines then see the same words, whole words only (no stemming: "printers" does not find
"printer"), and a user's query never reaches the engine's query syntax: each word is quoted,
every other character (`"`, `*`, `:`, `-`, `&|!()`, NEAR...) is a separator.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from peewee import (
    JOIN,
    SQL,
    Cast,
    Column,
    Expression,
    ForeignKeyField,
    Model,
    Select,
    TextField,
    Value,
    fn,
)
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

from helpdesk.db import BaseModel, database, is_sqlite
from helpdesk.errors import ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import Comment, Ticket
from helpdesk.vocabulary import Visibility

# Longer "words" (hashes, base64 runs) are not indexed: PostgreSQL refuses lexemes over 2 KB.
MAX_WORD = 60
# PostgreSQL keeps at most 256 positions of a lexeme and positions up to 16383.
MAX_POSITIONS = 256
MAX_POSITION = 16383
# A query's words (ANDed); more would only make it slower.
MAX_QUERY_WORDS = 16
SNIPPET_CONTEXT = 60  # characters on each side of the first match
REINDEX_BATCH = 500

_WORD = re.compile(r"[^\W_]+")
REFERENCE_QUERY = re.compile(r"^\s*HD-(\d{1,18})\s*$", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case without diacritics, the form both the index and the queries use."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The indexed words of a text, in order: folded letters and digits, nothing else."""
    return [w for w in _WORD.findall(fold(text or "")) if len(w) <= MAX_WORD]


# -- the index, per engine ----------------------------------------------------------------


class _TicketText(FTS5Model):
    """SQLite: one document per ticket; rowid = ticket id."""

    rowid = RowIDField()
    body = SearchField()

    class Meta:
        database = database
        options = {"tokenize": "unicode61 remove_diacritics 2"}


class PublicText(_TicketText):
    """What anyone who may see the ticket may read."""

    class Meta:
        table_name = "ticket_search_public"


class AgentText(_TicketText):
    """What agents may read (public text and internal notes)."""

    class Meta:
        table_name = "ticket_search_agent"


class TSVectorField(TextField):
    field_type = "TSVECTOR"


class TicketVectors(BaseModel):
    """PostgreSQL: both documents of a ticket as tsvectors, each with a GIN index."""

    ticket = ForeignKeyField(Ticket, primary_key=True, on_delete="CASCADE")
    public = TSVectorField()
    agent = TSVectorField()

    class Meta:
        table_name = "ticket_search"
        indexes = ()


for _column in ("public", "agent"):
    TicketVectors.add_index(
        SQL(
            f"CREATE INDEX IF NOT EXISTS ticket_search_{_column} "
            f"ON ticket_search USING GIN ({_column})"
        )
    )


def _models() -> list[type[Model]]:
    return [PublicText, AgentText] if is_sqlite() else [TicketVectors]


def create_tables() -> None:
    """Create the search tables of this engine, if missing (the schema's creation and upgrade
    call it)."""
    for model in _models():
        if not model.table_exists():
            model.create_table(safe=True)


def _tsvector(tokens: list[str]) -> str:
    """The tsvector literal of a word list: each word with its positions (1-based)."""
    positions: dict[str, list[int]] = {}
    for at, word in enumerate(tokens, start=1):
        kept = positions.setdefault(word, [])
        if len(kept) < MAX_POSITIONS and (not kept or kept[-1] < MAX_POSITION):
            kept.append(min(at, MAX_POSITION))
    # Words are letters and digits only: quoting them needs no escaping.
    return " ".join(f"'{w}':{','.join(map(str, p))}" for w, p in positions.items())


def _documents(ticket_ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
    """Each ticket's public and internal words, read from the database."""
    docs: dict[int, tuple[list[str], list[str]]] = {}
    for tid, title, description in (
        Ticket.select(Ticket.id, Ticket.title, Ticket.description)
        .where(Ticket.id.in_(ticket_ids))
        .tuples()
    ):
        docs[tid] = (words(title) + words(description), [])
    for tid, body, visibility in (
        Comment.select(Comment.ticket, Comment.body, Comment.visibility)
        .where(Comment.ticket.in_(ticket_ids))
        .order_by(Comment.id)
        .tuples()
    ):
        public, internal = docs[tid]
        (public if visibility == Visibility.public.value else internal).extend(words(body))
    return docs


def _write(docs: dict[int, tuple[list[str], list[str]]], *, new: bool = False) -> None:
    """Replace the tickets' rows in the index (`new`: they have none yet)."""
    if not docs:
        return
    ids = list(docs)
    if is_sqlite():
        for model in () if new else (PublicText, AgentText):
            model.delete().where(model.rowid.in_(ids)).execute()
        PublicText.insert_many(
            [(tid, " ".join(public)) for tid, (public, _) in docs.items()],
            fields=[PublicText.rowid, PublicText.body],
        ).execute()
        AgentText.insert_many(
            [(tid, " ".join(public + internal)) for tid, (public, internal) in docs.items()],
            fields=[AgentText.rowid, AgentText.body],
        ).execute()
        return
    if not new:
        TicketVectors.delete().where(TicketVectors.ticket.in_(ids)).execute()
    TicketVectors.insert_many(
        [
            (
                tid,
                Cast(Value(_tsvector(public)), "tsvector"),
                Cast(Value(_tsvector(public + internal)), "tsvector"),
            )
            for tid, (public, internal) in docs.items()
        ],
        fields=[TicketVectors.ticket, TicketVectors.public, TicketVectors.agent],
    ).execute()


def index_tickets(ticket_ids: Iterable[int]) -> None:
    """Index these tickets as they are now: call it in the transaction of each write that
    changes a ticket's text (submit, edit, comment, note), so the index commits with it."""
    ids = list(ticket_ids)
    _write(_documents(ids))


def index_new_ticket(ticket: Ticket) -> None:
    """Index a ticket created in this transaction from the words in hand: it has no comment
    and no index row yet (index_tickets would read and delete for nothing)."""
    _write({ticket.id: (words(ticket.title) + words(ticket.description), [])}, new=True)


def reindex(batch: int = REINDEX_BATCH) -> int:
    """Rebuild the whole index, in batches of tickets (bounded memory). Returns the count."""
    create_tables()
    count, last = 0, 0
    with database.atomic():
        for model in _models():
            model.delete().execute()
        while True:
            ids = [
                tid
                for (tid,) in Ticket.select(Ticket.id)
                .where(Ticket.id > last)
                .order_by(Ticket.id)
                .limit(batch)
                .tuples()
            ]
            if not ids:
                return count
            _write(_documents(ids))
            count += len(ids)
            last = ids[-1]


class Reindex:
    """A migration step (playhouse.migrate runs `.run()`): index every existing ticket."""

    def run(self) -> None:
        reindex()


# -- querying -----------------------------------------------------------------------------


def query_words(text: str) -> list[str]:
    """The words of a search, folded, without repeats; ValidationFailed when there is none."""
    found = list(dict.fromkeys(words(text)))[:MAX_QUERY_WORDS]
    if not found:
        raise ValidationFailed(
            N_("Search text {text!r} has no word to look for (letters or digits)."),
            {"field": "text"},
            text=text,
        )
    return found


def reference_in(text: str) -> int | None:
    """The ticket id when the whole search is one reference (HD-12), else None."""
    match = REFERENCE_QUERY.match(text or "")
    return int(match.group(1)) if match else None


# A search's words and its other filters can be read in three orders (a SearchPlan). SQLite's
# planner always reads the search table first (it cannot tell that a word has many matches),
# newest first, and tests each match against the filters: the page fills after a few matches
# when the filters keep many tickets, but an old organization's few come after every newer
# match of a common word (300,000 of a million tickets), each with its ticket's row read (a
# cold primary-key read at a million tickets, 5 to 50 µs) to test the filters, and all of them
# for the total. When the filters an index answers keep at most FEW_TICKETS, those tickets are
# read first, matched against the words either:
# - in one pass: the words' matches within the tickets' range of ids, read into a temporary
#   index (about 1 µs a match, FTS5 seeks to the range's start) that each ticket probes;
# - or one lookup in the search table a ticket (25 µs warm, 150 µs for a common word in an
#   index of many small segments, as one written ticket by ticket has).
# The pass is the cheaper up to MATCHES_PER_LOOKUP matches in the range a ticket, counted first
# (bounded, on the search index alone: at most 50,000, about 4 ms). Measured over the
# benchmark's 50 common words filtered on an organization's 880 open tickets among the oldest
# 20,000 (each word in 30% of them): one lookup a ticket, 41 ms median at 20,000 tickets;
# one pass, 3 ms (see the commit). PostgreSQL's planner weighs the orders itself, from the
# words' statistics.
FEW_TICKETS = 2_000
MATCHES_PER_LOOKUP = 25
# A search sorted by relevance ranks its newest RANKED_MATCHES matches (after its filters and
# the caller's visibility) and lists no older one: every match ranked would cost its score and
# a sort (an agent's "please" at a million tickets: 290,000 matches, 4 s); these cost 25 ms.
# Its total still counts every match (past pagination.EXACT_COUNT_LIMIT, the same 10,000, as
# "more than"); sorted by date, a search lists every match.
RANKED_MATCHES = 10_000


@dataclass(frozen=True)
class SearchPlan:
    """How `matching` reads a search's words against its other filters: words first (the
    default), or the filtered tickets first, matched against the words' matches with ids in
    `id_range` in one pass or, without a range, looked up one by one."""

    tickets_first: bool = False
    id_range: tuple[int, int] | None = None
    # Tickets first: queries of at most FEW_TICKETS ids that hold them all.
    within: tuple = field(default=(), compare=False)


WORDS_FIRST = SearchPlan()


def plan_search(within: list, terms: list[str], *, agent: bool) -> SearchPlan:
    """The cheaper plan of a search for `terms` whose tickets are all in each query of `within`
    (queries of ids on indexes; none: every ticket). SQLite only: elsewhere WORDS_FIRST."""
    if not within or not is_sqlite():
        return WORDS_FIRST
    counts, ranges, few = [], [], []
    for ids in within:
        kept = ids.order_by().limit(FEW_TICKETS + 1).alias("kept")
        count, low, high = (
            Select([kept], [fn.COUNT(SQL("1")), fn.MIN(kept.c.id), fn.MAX(kept.c.id)])
            .bind(database)
            .tuples()
            .get()
        )
        if count <= FEW_TICKETS:  # else the range of some of them only
            counts.append(count)
            ranges.append((low, high))
            few.append(ids)
    if not counts:
        return WORDS_FIRST
    tickets = min(counts)
    within = tuple(few)
    nothing = SearchPlan(True, (1, 0), within)  # no ticket: no match to read
    if not tickets:
        return nothing
    # Every ticket kept is in each query: in the narrowest of their ranges.
    low, high = max(low for low, _ in ranges), min(high for _, high in ranges)
    if low > high:
        return nothing
    enough = tickets * MATCHES_PER_LOOKUP
    in_range = documents_matching(terms, agent=agent, id_range=(low, high))
    if in_range.limit(enough + 1).count() > enough:
        return SearchPlan(True, None, within)
    return SearchPlan(True, (low, high), within)


def matching(query, terms: list[str], *, agent: bool, plan=WORDS_FIRST, ranked: bool = True):
    """`query` (over Ticket) restricted to tickets whose document has every term, read in the
    order of `plan` (plan_search); `ranked`: the query orders by `relevance`, which reads the
    search table's row of each ticket (a plan's pass alone reads none) or, tickets first,
    joins their matches' scores."""
    if is_sqlite():
        model = _text_model(agent)
        if ranked and plan.tickets_first:
            scores = _scores(terms, agent, plan)
            return query.with_cte(scores).join(scores, on=(scores.c.id == Ticket.id))
        if plan.id_range is not None:
            in_range = documents_matching(terms, agent=agent, id_range=plan.id_range)
            # "+ 0": not an indexed column, so SQLite reads the few filtered tickets and probes
            # the matches' temporary index, rather than look each match up in the filters'
            # index (20,000 tickets: 6,000 matches a common word, 3 ms against 1.2 ms).
            query = query.where((Ticket.id + 0).in_(in_range))
            if not ranked:
                return query
        # SQLite keeps a CROSS JOIN's tables in the order written.
        if plan.tickets_first:
            query = query.join(model, JOIN.CROSS).where(model.rowid == Ticket.id)
        else:
            query = query.join(model, on=(model.rowid == Ticket.id))
        return query.where(_has_terms(terms, agent))
    return query.join(TicketVectors, on=(TicketVectors.ticket == Ticket.id)).where(
        _has_terms(terms, agent)
    )


def documents_matching(terms: list[str], *, agent: bool, id_range: tuple[int, int] | None = None):
    """The search table's rows that have every term, on their own: the same tickets as
    `matching` over every ticket, counted without reading a ticket row (SQLite at a million
    tickets: 10,001 matches counted in 0.5 ms alone, 22 ms joined to their tickets);
    `id_range`: only the tickets with ids in it (SQLite)."""
    if is_sqlite():
        model = _text_model(agent)
        found = model.select(model.rowid).where(_has_terms(terms, agent))
        # FTS5 seeks to the range's start and stops at its end.
        return found if id_range is None else found.where(model.rowid.between(*id_range))
    return TicketVectors.select(TicketVectors.ticket).where(_has_terms(terms, agent))


def _scores(terms: list[str], agent: bool, plan: SearchPlan):
    """SQLite, tickets first: their matches (in the plan's range) with their bm25 scores, in
    one read of the search index. bm25 weighs each word by how many tickets have it, which it
    counts on the word's whole list of matches for each read of the index: scored as each
    ticket is looked up, a common word costs that count a ticket (a customer's 100 tickets,
    "please" in 280,000 of a million: 190 ms for a page's 25); scored in one read, once (the
    plan's tickets probed a match at a time: 22 ms for an organization's 300 matches).
    MATERIALIZED: not merged into the query, where the planner would look it up a ticket at
    a time again."""
    model = _text_model(agent)
    found = documents_matching(terms, agent=agent, id_range=plan.id_range)
    for ids in plan.within:
        # "+ 0": tested on each match, not looked up in the search index id by id.
        found = found.where((model.rowid + 0).in_(ids))
    return found.select(model.rowid.alias("id"), _bm25(model).alias("score")).cte(
        "scores", materialized=True
    )


def _bm25(model):
    return fn.bm25(Column(model, model._meta.table_name))


def ranks_every_match(plan: SearchPlan) -> bool:
    """Whether a search read in `plan`'s order has no more matches than RANKED_MATCHES (it
    reads at most FEW_TICKETS tickets first): no need to look for where its ranking starts."""
    return plan.tickets_first and FEW_TICKETS <= RANKED_MATCHES


def relevance(terms: list[str], *, agent: bool, plan=WORDS_FIRST):
    """The expression to order a `matching` query by relevance (ascending: best first)."""
    if is_sqlite():
        if plan.tickets_first:
            return _scores(terms, agent, plan).c.score  # the CTE `matching` joined
        # bm25() of the joined row, not the table's `rank` column: FTS5 orders by `rank`
        # itself, ranking every match before the caller's visibility filter (a customer's
        # common word: all of the desk's matches ranked to keep a few); the function is only
        # called on the rows that pass every filter.
        return _bm25(_text_model(agent))
    # Times -1 (arithmetic: peewee's unary minus is a DESC ordering, which a cursor's
    # comparison cannot use) so that ascending is best first, as with bm25.
    return fn.ts_rank(_vector(agent), _tsquery(terms)) * -1


def newest_first(agent: bool, *, plan=WORDS_FIRST):
    """The ticket id column to order a `matching` query newest first: on SQLite, when it reads
    the search table first, that table's rowid (the ticket id), which FTS5 reads in that order
    without sorting the matches (ordering by the ticket's own id would sort them all: the
    planner does not see that the joined ids are equal)."""
    if is_sqlite() and not plan.tickets_first:
        return _text_model(agent).rowid
    return Ticket.id


def _has_terms(terms: list[str], agent: bool) -> Expression:
    """The condition that a search row's document has every term: SQLite's MATCH on the FTS5
    table's hidden column (quoted words, ANDed), PostgreSQL's @@ on the tsvector."""
    if is_sqlite():
        model = _text_model(agent)
        expression = " ".join(f'"{t}"' for t in terms)
        return Expression(Column(model, model._meta.table_name), "MATCH", expression)
    return Expression(_vector(agent), "@@", _tsquery(terms))


def _text_model(agent: bool):
    return AgentText if agent else PublicText


def _vector(agent: bool):
    return TicketVectors.agent if agent else TicketVectors.public


def _tsquery(terms: list[str]):
    return Cast(Value(" & ".join(f"'{t}'" for t in terms)), "tsquery")


def snippet(texts: Iterable[str], terms: list[str]) -> str | None:
    """A short extract around the first of `terms` in the first text that has one (the texts
    the caller may read, in the order to look at them), or None."""
    wanted = set(terms)
    for text in texts:
        if not text:
            continue
        folded_words = list(_WORD.finditer(text))
        for match in folded_words:
            if fold(match.group()) in wanted:
                start = max(0, match.start() - SNIPPET_CONTEXT)
                end = min(len(text), match.end() + SNIPPET_CONTEXT)
                # Cut at spaces so the extract starts and ends with whole words.
                if start > 0 and (space := text.find(" ", start, match.start())) != -1:
                    start = space + 1
                if end < len(text) and (space := text.rfind(" ", match.end(), end)) != -1:
                    end = space
                extract = " ".join(text[start:end].split())
                return ("…" if start > 0 else "") + extract + ("…" if end < len(text) else "")
    return None

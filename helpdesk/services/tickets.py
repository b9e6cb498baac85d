"""Tickets: submit, find, edit, comment, share, assign, move through the workflow."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from peewee import JOIN, Case, IntegrityError, fn

from helpdesk import pagination, permissions, search, sla_clock, validation, workflow
from helpdesk.business_time import parse_duration
from helpdesk.db import database, locked_in_transaction
from helpdesk.errors import NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from helpdesk.history import record_event
from helpdesk.i18n import N_
from helpdesk.mail import notifications
from helpdesk.models import (
    Attachment,
    Comment,
    Event,
    Membership,
    NotificationPreference,
    Organization,
    Service,
    Share,
    SlaPolicy,
    Subcategory,
    Ticket,
    User,
    utcnow,
)
from helpdesk.pagination import Keyset, Page, bounded_total, keyset_page
from helpdesk.services import priorities
from helpdesk.services.account_tokens import send_invitation
from helpdesk.services.catalog import service_types
from helpdesk.services.contracts import Choice, choose_service, service_named
from helpdesk.services.organization_names import get_organization
from helpdesk.services.users import (
    find_user_by_email,
    get_user_by_email,
    memberships_of,
    register_external_customer,
    resolve_user,
    resolve_users,
)
from helpdesk.storage import (
    Staging,
    Upload,
    active_store,
    guess_content_type,
    sanitize_filename,
)
from helpdesk.vocabulary import (
    LEVELS,
    PRIORITIES,
    SORT_DIRECTIONS,
    STATUSES,
    TICKET_SORTS,
    TICKET_TYPES,
    PriorityInput,
    SortDirection,
    Status,
    TicketSort,
)

REFERENCE_PREFIX = "HD"
REFERENCE_RE = re.compile(r"^(?:HD-)?(\d{1,18})$", re.IGNORECASE)
MAX_TITLE = 200
MAX_BODY = 100_000
# Users one share request may name (after dropping repeats).
MAX_SHARES = 50

Requester = User.alias("requester")
Assignee = User.alias("assignee")


# -- finding tickets ----------------------------------------------------------------------


def _ticket_query(*columns):
    """Tickets joined to what they point at; `columns`: what to read (every column of each)."""
    columns = columns or (Ticket, Requester, Organization, Assignee, Service, Subcategory)
    return (
        Ticket.select(*columns)
        .join(Requester, on=(Ticket.requester == Requester.id), attr="requester")
        .switch(Ticket)
        .join(Organization, attr="organization")
        .switch(Ticket)
        .join(Assignee, JOIN.LEFT_OUTER, on=(Ticket.assignee == Assignee.id), attr="assignee")
        .switch(Ticket)
        .join(Service, JOIN.LEFT_OUTER, attr="service")
        .switch(Ticket)
        .join(Subcategory, JOIN.LEFT_OUTER, attr="subcategory")
    )


def _listed_rows(ids: list[int]):
    """The tickets with these ids, with only the names a list row shows of what they point at
    (a person's email and name, not their whole row: a page's SQL is built and read faster)."""
    return _ticket_query(
        Ticket,
        *(Requester.id, Requester.email, Requester.name),
        *(Organization.id, Organization.name),
        *(Assignee.id, Assignee.email, Assignee.name),
        *(Service.id, Service.name),
        *(Subcategory.id, Subcategory.name),
    ).where(Ticket.id.in_(ids))


def get_ticket(reference: str, *, actor: User) -> Ticket:
    """The ticket with this reference, if the actor may see it; NotFound otherwise."""
    match = REFERENCE_RE.match((reference or "").strip())
    ticket = None
    if match:
        query = _ticket_query().where(Ticket.id == int(match.group(1)))
        # Read inside a write's transaction, the ticket is locked for it (one writer at a time).
        ticket = locked_in_transaction(query, Ticket).first()
    if ticket is None or not permissions.can(actor, "ticket.view", ticket):
        raise NotFound(N_("No such ticket: {reference}."), reference=reference)
    return ticket


@dataclass
class TicketFilter:
    statuses: tuple[str, ...] = ()
    # "mine": requested by me (assigned to me, for agents); "organization": the requests of the
    # organizations I am a power user of.
    scope: str | None = None
    organization: str | None = None
    text: str | None = None
    type: str | None = None
    created_from: str | None = None
    created_to: str | None = None
    requester: str | None = None
    assignee: str | None = None
    breaching: bool = False  # SLA: past due, or due within `within` (agents)
    within: str | None = None
    service: str | None = None  # by id, name, or (customers) their contract's name for it
    unassigned: bool = False
    sort: str | None = None  # a TicketSort word; None: newest first
    direction: str | None = None  # asc or desc; None: the sort's natural direction
    reference: str | None = None  # HD-42 or 42
    closed_from: str | None = None
    closed_to: str | None = None
    page: int = 1
    per_page: int = 25
    updated_since: str | None = None
    cursor: str | None = None  # the `next` of the previous page (instead of `page`)
    count: bool = True  # False: no total (cheaper)
    priorities: tuple[str, ...] = ()


def _rank(field, words: tuple[str, ...]):
    """A column of words ordered as the vocabulary lists them (low < ... < critical), not A-Z."""
    return Case(field, [(word, rank) for rank, word in enumerate(words)], len(words))


def _word_rank(value: str, words: tuple[str, ...]) -> int:
    return words.index(value) if value in words else len(words)


# Each sort's column, its natural direction (highest priority and latest change first), and
# how to read its value off a listed ticket (for the next page's cursor).
SORT_COLUMNS = {
    TicketSort.reference: (Ticket.id, SortDirection.asc),
    TicketSort.priority: (_rank(Ticket.priority, PRIORITIES), SortDirection.desc),
    TicketSort.status: (_rank(Ticket.status, STATUSES), SortDirection.asc),
    TicketSort.updated: (Ticket.updated_at, SortDirection.desc),
    # Submission order: the id, which follows created_at (stamped at submission) and, unlike
    # it, is unique and the search index's own order (search.newest_first).
    TicketSort.created: (Ticket.id, SortDirection.desc),
    TicketSort.title: (Ticket.title, SortDirection.asc),
    TicketSort.type: (Ticket.type, SortDirection.asc),
    TicketSort.service: (fn.COALESCE(Service.name, ""), SortDirection.asc),
    TicketSort.requester: (Requester.name, SortDirection.asc),
    TicketSort.organization: (Organization.name, SortDirection.asc),
}
JOINED_SORTS = (TicketSort.service, TicketSort.requester, TicketSort.organization)
SORT_VALUES = {
    TicketSort.reference: lambda t: [],
    TicketSort.priority: lambda t: [_word_rank(t.priority, PRIORITIES)],
    TicketSort.status: lambda t: [_word_rank(t.status, STATUSES)],
    TicketSort.updated: lambda t: [t.updated_at],
    TicketSort.created: lambda t: [],
    TicketSort.title: lambda t: [t.title],
    TicketSort.type: lambda t: [t.type],
    TicketSort.service: lambda t: [t.service.name if t.service_id else ""],
    TicketSort.requester: lambda t: [t.requester.name],
    TicketSort.organization: lambda t: [t.organization.name],
}

# The type of each sort's key (a cursor's values are checked against it); str otherwise.
SORT_KINDS = {
    TicketSort.reference: int,
    TicketSort.priority: int,
    TicketSort.status: int,
    TicketSort.updated: datetime,
}


def keyset(sort: str | None, direction: str | None, ticket_id=Ticket.id) -> Keyset:
    """The asked order as a Keyset; ties (and the last page's edge) broken by reference."""
    sort = TicketSort(validation.choice("sort", sort, TICKET_SORTS) if sort else "created")
    if sort == TicketSort.relevance:  # ranked only by list_tickets, with words to rank
        sort = TicketSort.created
    column, natural = SORT_COLUMNS[sort]
    if direction:
        direction = validation.choice("dir", direction, SORT_DIRECTIONS)
    descending = (direction or natural) == SortDirection.desc
    # `ticket_id`: the column that reads the ticket id in the query's fastest order.
    by_id = sort in (TicketSort.reference, TicketSort.created)
    columns = [ticket_id] if by_id else [column, ticket_id]
    values = SORT_VALUES[sort]
    kinds = [SORT_KINDS.get(sort, str), int][-len(columns) :]
    return Keyset(sort.value, columns, descending, lambda t: [*values(t), t.id], kinds)


SCOPES = ("mine", "organization")


def scoped(query, scope: str, actor: User):
    """Restrict a Ticket query to a scope of SCOPES (visibility is the caller's to apply)."""
    validation.choice("scope", scope, SCOPES)
    if scope == "organization":
        return permissions.organization_tickets(actor, query)
    # "Mine" is what the caller answers for: an agent's assigned tickets, a customer's own.
    return query.where(permissions.answers_for(actor) == actor)


def reference_id(reference: str) -> int:
    """The ticket id a reference names (HD-42 or 42); ValidationFailed for anything else."""
    match = REFERENCE_RE.match(validation.text("reference", reference, max_length=40))
    if not match:
        raise ValidationFailed(
            N_("reference must look like HD-42 (got {got!r})."),
            {"field": "reference"},
            got=reference,
        )
    return int(match.group(1))


def list_tickets(filters: TicketFilter, *, actor: User) -> Page:
    """The page of tickets the actor may see that match the filter, in the asked order (newest
    first by default), the next page's cursor and the total (exact up to 10,000)."""
    by_relevance = filters.sort == TicketSort.relevance or (filters.sort is None and filters.text)
    match = _matching(filters, actor=actor, ranked=bool(by_relevance))
    query = match.apply(_ticket_query())
    # Paged (and counted) on the tickets table alone: the joins only add the listed columns.
    bare = match.apply(Ticket.select(Ticket.id))
    ranked = bool(by_relevance) and match.rank is not None
    if ranked:
        order = _relevance_order(match.rank, match.ticket_id, match.ranked_from)
        # The page's ids found with their rank (for the next page's cursor), which is not
        # computed again to read the page's rows; "+ 0.0" so that peewee sets it on the ticket
        # (a bare column of the search table would be set on the joined search row); adding
        # zero keeps it exact.
        narrow = match.ranked_alone
        if narrow is None:
            narrow = bare.select_extend((match.rank + 0.0).alias("search_rank"))
    else:
        # Without words to rank (a reference, no text), relevance is newest first.
        order = keyset(None if by_relevance else filters.sort, filters.direction, match.ticket_id)
        # A sort on a joined table's column (a requester's name...) pages the whole query.
        narrow = None if filters.sort in JOINED_SORTS else bare
    page = keyset_page(
        query,
        order,
        counted=match.counted if match.counted is not None else bare,
        total=match.total,
        narrow=narrow,
        # The page's ids passed every filter and the caller's visibility: its rows are read
        # by id alone, without building and running those conditions a second time.
        read=_listed_rows,
        keys_on_narrow=ranked,
        cursor=filters.cursor,
        page=filters.page,
        per_page=filters.per_page,
        count=filters.count,
    )
    if filters.text:
        _add_snippets(page.items, match.terms, actor)
    return page


def _relevance_order(rank, ticket_id, ranked_from: int) -> Keyset:
    """Best match first (`rank` ascending), then by id (`ticket_id`: the column that reads it
    in the query's order, search.newest_first). The lowest id ranked (the bound of
    search.RANKED_MATCHES, 0 for none) is pinned in each cursor: the next page ranks the same
    matches, however many newer ones came meanwhile (recomputed, the bound would move past the
    oldest ones not listed yet)."""
    return Keyset(
        TicketSort.relevance.value,
        [rank, ticket_id],
        False,  # the rank expression is ascending, best match first
        lambda t: [t.search_rank, t.id, ranked_from],
        [float, int, int],
        pinned=1,
    )


def _ranked_from_cursor(cursor: str) -> int:
    """The lowest id ranked that a relevance cursor carries (ValidationFailed for another)."""
    return _relevance_order(None, Ticket.id, 0).decode(cursor)[-1]


def matching_tickets(filters: TicketFilter, *, actor: User, base=None):
    """The tickets the actor may see that match the filter (not ordered, not paged); `base`:
    the query to filter (the listed columns and their joins by default)."""
    return _matching(filters, actor=actor).apply(_ticket_query() if base is None else base)


@dataclass
class _Match:
    """A filter checked and resolved once (names looked up): the steps that restrict any Ticket
    query to it, and a text search's rank expression (None without words or ranking) and words."""

    steps: list[Callable]
    rank: Any
    terms: list[str]
    ticket_id: Any = Ticket.id  # the column to order by id (search.newest_first)
    counted: Any = None  # a cheaper query of the same tickets to count, if there is one
    total: tuple[int, bool] | None = None  # their bounded count, when already counted
    ranked_from: int = 0  # the lowest id ranked (search.RANKED_MATCHES), 0 for every one
    # Words alone, for whoever sees every ticket: the matches' ids (`id`) and ranks
    # (`search_rank`) read on the search index alone, without a ticket row.
    ranked_alone: Any = None

    def apply(self, query):
        return _apply(self.steps, query)


def _apply(steps: list[Callable], query):
    for step in steps:
        query = step(query)
    return query


def _matching(filters: TicketFilter, *, actor: User, ranked: bool = False) -> _Match:
    """The filter resolved for this actor; `ranked`: a text search's rows are to be ordered
    by relevance (its rank expression is then given)."""
    # The caller's own tickets ("mine") are all theirs to see: that scope needs no visibility
    # test on top (a customer's three-way visibility, built and run for every list).
    own = filters.scope == "mine"
    visibility = [] if own else [lambda query: permissions.visible_tickets(actor, query)]
    steps: list[Callable] = []
    # The filters an index answers: counted alone, they cost at most a bounded count's index
    # entries (the others, a creation date..., could make a count read the whole table).
    indexed: list[Callable] = []

    def restrict(step: Callable, *, index: bool = False) -> None:
        steps.append(step)
        if index:
            indexed.append(step)

    def where(condition, *, index: bool = False) -> None:
        restrict(lambda query: query.where(condition), index=index)

    for status in filters.statuses:
        validation.choice("status", status, STATUSES)
    if filters.statuses:
        where(Ticket.status.in_(list(filters.statuses)), index=True)
    if filters.scope is not None:
        validation.choice("scope", filters.scope, SCOPES)
        restrict(lambda query: scoped(query, filters.scope, actor), index=True)
    if filters.organization:
        org = get_organization(filters.organization)
        if not permissions.can(actor, "org.view", org):
            raise NotFound(
                N_("No organization named {organization!r}."), organization=filters.organization
            )
        where(Ticket.organization == org, index=True)
    if filters.type:
        where(Ticket.type == validation.choice("type", filters.type, TICKET_TYPES))
    terms: list[str] = []
    if filters.text:
        text = validation.text("text", filters.text, max_length=200)
        if (wanted := search.reference_in(text)) is not None:
            where(Ticket.id == wanted, index=True)  # `search HD-12`: that ticket
        else:
            terms = search.query_words(text)
    start = validation.date_bound("from", filters.created_from)
    end = validation.date_bound("to", filters.created_to, end=True)
    if start is not None:
        where(Ticket.created_at >= start)
    if end is not None:
        where(Ticket.created_at < end)
    closed_start = validation.date_bound("closed_from", filters.closed_from)
    closed_end = validation.date_bound("closed_to", filters.closed_to, end=True)
    if closed_start is not None:
        where(Ticket.closed_at >= closed_start)
    if closed_end is not None:
        where(Ticket.closed_at < closed_end)
    if filters.reference:
        where(Ticket.id == reference_id(filters.reference), index=True)
    if filters.requester:
        email = filters.requester.strip().lower()
        where(Ticket.requester.in_(User.select(User.id).where(User.email == email)), index=True)
    if filters.assignee:
        email = filters.assignee.strip().lower()
        where(Ticket.assignee.in_(User.select(User.id).where(User.email == email)), index=True)
    if filters.breaching or filters.within:
        permissions.require(actor, "sla.view")
        within = parse_duration(filters.within, field="within") if filters.within else None
        restrict(lambda query: sla_clock.breaching(query, within or timedelta(0)))
    if filters.service:
        where(Ticket.service == service_named(filters.service, actor=actor), index=True)
    if filters.unassigned:
        where(Ticket.assignee.is_null(), index=True)
    for priority in filters.priorities:
        validation.choice("priority", priority, PRIORITIES)
    if filters.priorities:
        where(Ticket.priority.in_(list(filters.priorities)))
    since = validation.date_bound("updated_since", filters.updated_since)
    if since is not None:
        where(Ticket.updated_at >= since, index=True)
    if not terms:
        return _Match(visibility + steps, None, terms)
    agent = permissions.can(actor, "ticket.view_internal")
    counted = None
    sees_all = permissions.sees_every_ticket(actor)
    documents = not steps and sees_all
    if documents:
        # Words and nothing else (visibility restricts nothing here): every document that
        # has them is one ticket to count, without reading the tickets.
        counted = search.documents_matching(terms, agent=agent)
    # Queries of ids that hold every ticket the filters keep, each on indexes: the filters an
    # index answers, and a customer's visible tickets (counted apart: as a condition, IN reads
    # them all before the first row, 20,000 for a power user of a large organization).
    within = [_apply(indexed, Ticket.select(Ticket.id))] if indexed else []
    if visibility and not sees_all:
        within.append(permissions.visible_ids(actor))
    plan = search.plan_search(within, terms, agent=agent)
    ticket_id = search.newest_first(agent, plan=plan)

    def matches(ranked: bool) -> list[Callable]:
        return [
            *visibility,
            *steps,
            lambda query: search.matching(query, terms, agent=agent, plan=plan, ranked=ranked),
        ]

    if not ranked:
        return _Match(matches(False), None, terms, ticket_id, counted)
    # Counted without ranking, and every match counted: the bound below is the ranking's only.
    if counted is None:
        counted = _apply(matches(False), Ticket.select(ticket_id))
    ranked_steps = matches(True)
    total, since = None, 0
    if not search.ranks_every_match(plan):
        # The newest matches' ids, read once for where the ranking starts and for the total.
        newest_first = counted.order_by(counted.selected_columns[0].desc())
        limit = max(search.RANKED_MATCHES, pagination.EXACT_COUNT_LIMIT)
        # Straight off the cursor: 10,001 rows through peewee's row wrapper cost 10 ms.
        newest = database.execute(newest_first.limit(limit + 1)).fetchall()
        total = bounded_total(len(newest))
        if len(newest) > search.RANKED_MATCHES:
            since = newest[search.RANKED_MATCHES - 1][0]
    if filters.cursor:  # the next page of a ranking: where its first page started
        since = _ranked_from_cursor(filters.cursor)
    rank = search.relevance(terms, agent=agent, plan=plan)
    alone = None
    if documents:
        # Ranked on the search index alone (an agent's "printer" at a million tickets: 11 ms,
        # against 33 ms with each match's ticket row read), ordered by its own id column.
        ticket_id = counted.selected_columns[0]
        alone = counted.select(ticket_id.alias("id"), (rank + 0.0).alias("search_rank"))
        if since:
            alone = alone.where(ticket_id >= since)
    if since:
        ranked_steps.append(lambda query: query.where(ticket_id >= since))
    return _Match(ranked_steps, rank, terms, ticket_id, counted, total, since, alone)


EXPORT_BATCH = 500


def export_tickets(filters: TicketFilter, *, actor: User) -> Iterator[tuple[Ticket, list]]:
    """Every ticket the actor may see that matches the filter, in the asked order, each with
    the comments the actor may see (public ones; agents: internal notes too), oldest first.

    Reads EXPORT_BATCH tickets at a time by keyset, so memory stays flat however many match.
    """
    match = _matching(filters, actor=actor)
    order = keyset(filters.sort, filters.direction, match.ticket_id)
    query = match.apply(_ticket_query())
    after = None
    while True:
        batch_query = order.order(query)
        if after is not None:
            batch_query = order.after(batch_query, after)
        batch = list(batch_query.limit(EXPORT_BATCH))
        if not batch:
            return
        comments: dict[int, list] = {t.id: [] for t in batch}
        internal_ok = {t.id for t in batch if permissions.can(actor, "ticket.view_internal", t)}
        for comment in (
            Comment.select(Comment, User)
            .join(User)
            .where(Comment.ticket.in_(list(comments)))
            .order_by(Comment.ticket, Comment.created_at, Comment.id)
        ):
            if comment.visibility == "public" or comment.ticket_id in internal_ok:
                comments[comment.ticket_id].append(comment)
        for ticket in batch:
            yield ticket, comments[ticket.id]
        if len(batch) < EXPORT_BATCH:
            return
        after = order.values(batch[-1])


def _add_snippets(found: list[Ticket], terms: list[str], actor: User) -> None:
    """Give each found ticket a `snippet`: where the words are, in what the actor may read."""
    for ticket in found:
        ticket.snippet = None
    if not terms or not found:
        return
    comments: dict[int, list[str]] = {}
    query = Comment.select(Comment.ticket, Comment.body).where(
        Comment.ticket.in_([t.id for t in found])
    )
    if not permissions.can(actor, "ticket.view_internal"):
        query = query.where(Comment.visibility == "public")
    for ticket_id, body in query.order_by(Comment.id).tuples():
        comments.setdefault(ticket_id, []).append(body)
    for ticket in found:
        texts = [ticket.description, *comments.get(ticket.id, []), ticket.title]
        ticket.snippet = search.snippet(texts, terms)


# -- what a ticket shows to whom ----------------------------------------------------------


def visible_comments(ticket: Ticket, actor: User) -> list[Comment]:
    query = Comment.select(Comment, User).join(User).where(Comment.ticket == ticket)
    if not permissions.can(actor, "ticket.view_internal", ticket):
        query = query.where(Comment.visibility == "public")
    return list(query.order_by(Comment.created_at, Comment.id))


def visible_attachments(ticket: Ticket, actor: User) -> list[Attachment]:
    query = (
        Attachment.select(Attachment, Comment)
        .join(Comment, JOIN.LEFT_OUTER)
        .where(Attachment.ticket == ticket)
    )
    if not permissions.can(actor, "ticket.view_internal", ticket):
        query = query.where(Attachment.comment.is_null() | (Comment.visibility == "public"))
    return list(query.order_by(Attachment.created_at, Attachment.id))


INTERNAL_EVENT_KINDS = ("internal_note", "internal_attachment")


def visible_events(ticket: Ticket, actor: User) -> list[Event]:
    query = Event.select(Event, User).join(User, JOIN.LEFT_OUTER).where(Event.ticket == ticket)
    if not permissions.can(actor, "ticket.view_internal", ticket):
        query = query.where(Event.kind.not_in(INTERNAL_EVENT_KINDS))
    return list(query.order_by(Event.created_at, Event.id))


def shared_with(ticket: Ticket) -> list[User]:
    return list(
        User.select()
        .join(Share, on=(Share.user == User.id))
        .where(Share.ticket == ticket)
        .order_by(User.email)
    )


def get_comment(reference: str, comment_id: int, *, actor: User) -> Comment:
    ticket = get_ticket(reference, actor=actor)
    for comment in visible_comments(ticket, actor):
        if comment.id == comment_id:
            return comment
    raise NotFound(
        N_("Ticket {reference} has no comment {comment_id}."),
        reference=ticket.reference,
        comment_id=comment_id,
    )


def get_attachment(reference: str, filename: str, *, actor: User) -> Attachment:
    ticket = get_ticket(reference, actor=actor)
    for attachment in visible_attachments(ticket, actor):
        if attachment.filename == filename:
            return attachment
    raise NotFound(
        N_("Ticket {reference} has no attachment named {filename!r}."),
        reference=ticket.reference,
        filename=filename,
    )


# -- changing tickets ---------------------------------------------------------------------


Staged = tuple[Upload, str, int]  # an upload, the SHA-256 and size of its staged file


def _stage(staging: Staging, uploads: Iterable[Upload]) -> list[Staged]:
    """Copy the uploads to staging before any transaction: no lock is held while copying."""
    return [(upload, *staging.add(upload.stream)) for upload in uploads]


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or the first of name-2, name-3... not in `taken` (report.pdf, report-2.pdf)."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}{dot}{ext}"
    return candidate


def _attach(ticket: Ticket, staged: list[Staged], actor: User, comment=None) -> None:
    """Record staged files on the ticket; names are unique per ticket.

    A public file's name depends on public names only, so it never reveals an internal
    attachment: when it takes a name an internal attachment holds, the internal one moves
    aside (report.pdf -> report-2.pdf, recorded in the internal history).
    """
    if not staged:
        return  # most writes carry no file: no need to read the ticket's names
    internal = comment is not None and comment.visibility == "internal"
    public: set[str] = set()
    internal_by_name: dict[str, Attachment] = {}
    for attachment in (
        Attachment.select(Attachment.id, Attachment.filename, Attachment.comment, Comment)
        .join(Comment, JOIN.LEFT_OUTER)
        .where(Attachment.ticket == ticket)
    ):
        if attachment.comment_id is not None and attachment.comment.visibility == "internal":
            internal_by_name[attachment.filename] = attachment
        else:
            public.add(attachment.filename)
    for upload, sha, size in staged:
        name = sanitize_filename(upload.filename)
        if internal:
            candidate = _free_name(name, public | set(internal_by_name))
        else:
            candidate = _free_name(name, public)
            hidden = internal_by_name.pop(candidate, None)
            if hidden is not None:
                moved = _free_name(candidate, public | set(internal_by_name) | {candidate})
                Attachment.update(filename=moved).where(Attachment.id == hidden.id).execute()
                internal_by_name[moved] = hidden
                record_event(ticket, actor, "internal_attachment", candidate, moved)
        created = Attachment.create(
            ticket=ticket,
            comment=comment,
            uploaded_by=actor,
            filename=candidate,
            size=size,
            sha256=sha,
            content_type=guess_content_type(candidate, upload.content_type),
        )
        if internal:
            internal_by_name[candidate] = created
        else:
            public.add(candidate)
        record_event(
            ticket, actor, "internal_attachment" if internal else "attachment", None, candidate
        )


def _write_comment(ticket: Ticket, actor: User, body: str, *, internal: bool = False) -> Comment:
    comment = Comment.create(
        ticket=ticket, author=actor, body=body, visibility="internal" if internal else "public"
    )
    record_event(ticket, actor, "internal_note" if internal else "comment", None, comment.id)
    search.index_tickets([ticket.id])
    if not internal:
        sla_clock.replied(ticket, actor, at=comment.created_at)
    return comment


def _organization_for(requester: User, organization: str | None) -> Organization:
    memberships = memberships_of(requester)
    if organization:
        org = get_organization(organization)
        if not any(m.organization_id == org.id for m in memberships):
            raise ValidationFailed(
                N_("{email} is not a member of {organization}."),
                {"member_of": [m.organization.name for m in memberships]},
                email=requester.email,
                organization=org.name,
            )
        return org
    if len(memberships) == 1:
        return memberships[0].organization
    if not memberships:
        raise ValidationFailed(
            N_("{email} belongs to no organization; an admin must add them to one."),
            {"field": "organization"},
            email=requester.email,
        )
    names = [m.organization.name for m in memberships]
    raise ValidationFailed(
        N_("{email} belongs to several organizations; choose one of: {choices}."),
        {"field": "organization"},
        email=requester.email,
        choices=names,
    )


@dataclass
class Submitted:
    """What `submit` did: the ticket, and whether it was an open one with the same dedupe key."""

    ticket: Ticket
    deduplicated: bool


HAPPENED_AGAIN = "Happened again."


def _open_twin(requester: User, dedupe_key: str) -> Ticket | None:
    """The requester's ticket with this dedupe key that is not closed, if any."""
    return (
        Ticket.select()
        .where(
            (Ticket.requester == requester)
            & (Ticket.dedupe_key == dedupe_key)
            & (Ticket.status != Status.closed.value)
        )
        .first()
    )


def _happened_again(ticket: Ticket, actor: User, description: str, staged: list[Staged]) -> None:
    """A repeated submit: a public comment on the open ticket, with the new description."""
    body = f"{HAPPENED_AGAIN}\n\n{description}" if description else HAPPENED_AGAIN
    comment = _write_comment(ticket, actor, body)
    notifications.public_reply(ticket, actor, body)
    _attach(ticket, staged, actor, comment=comment)
    if not workflow.follow("public_reply", ticket, actor=actor, comment=body):
        _touch(ticket)


def submit(
    *,
    actor: User,
    type: str,
    title: str,
    description: str = "",
    impact: str | None = None,
    urgency: str | None = None,
    priority: str | None = None,
    organization: str | None = None,
    private: bool = False,
    requester: str | None = None,
    dedupe_key: str | None = None,
    attachments: Iterable[Upload] = (),
    service: str | int | None = None,
    subcategory: str | int | None = None,
    unclassified_ok: bool = False,
) -> Submitted:
    """Open a new ticket for the actor (or, for an agent, for the named requester).

    Once the organization has a contract, the ticket names a service (and a subcategory when
    the service has some) that the actor may use; its contract's SLA policy then applies.
    `unclassified_ok` lets a channel that cannot name one (email) file without a service.
    Impact, urgency and priority follow the type's priority policy (OptionNotAsked for one it
    does not ask for). With a dedupe key, while the requester has a ticket with that key that
    is not closed, the submit becomes a "happened again" comment on it instead.
    """
    validation.choice("type", type, TICKET_TYPES)
    title = validation.text("title", title, max_length=MAX_TITLE, one_line=True)
    description = validation.text("description", description, max_length=MAX_BODY, required=False)
    validation.boolean("private", private)
    if dedupe_key is not None:
        dedupe_key = validation.text("dedupe_key", dedupe_key, max_length=200, one_line=True)
    if requester:
        permissions.require(actor, "ticket.submit_on_behalf")
        requester_user = get_user_by_email(requester)
        if not permissions.can(requester_user, "ticket.submit") or not requester_user.active:
            raise ValidationFailed(
                N_("{email} is not an active customer."),
                {"field": "requester"},
                email=requester_user.email,
            )
    else:
        permissions.require(actor, "ticket.submit")
        requester_user = actor
    with active_store().staging() as staging:
        staged = _stage(staging, attachments)
        with database.atomic():
            impact, urgency, priority = priorities.priority_at_submit(
                type, impact, urgency, priority
            )
            org = _organization_for(requester_user, organization)
            choice = choose_service(
                actor=actor,
                organization=org,
                type=type,
                service=service,
                subcategory=subcategory,
                required=not unclassified_ok,
            )
            twin = _open_twin(requester_user, dedupe_key) if dedupe_key else None
            if twin is None:
                try:
                    # A savepoint: a racing twin may win the dedupe key's unique index.
                    with database.atomic() if dedupe_key else nullcontext():
                        ticket = Ticket.create(
                            type=type,
                            title=title,
                            description=description,
                            impact=impact,
                            urgency=urgency,
                            priority=priority,
                            requester=requester_user,
                            organization=org,
                            private=private,
                            service=choice.service,
                            subcategory=choice.subcategory,
                            sla_policy=choice.contract.sla_policy_id if choice.contract else None,
                            dedupe_key=dedupe_key,
                        )
                except IntegrityError:
                    # Another submit with this key committed first: it is ours to repeat.
                    twin = _open_twin(requester_user, dedupe_key) if dedupe_key else None
                    if twin is None:
                        raise
            if twin is not None:
                _happened_again(twin, actor, description, staged)
                staging.publish()
                return Submitted(get_ticket(twin.reference, actor=actor), True)
            ticket.reference = f"{REFERENCE_PREFIX}-{ticket.id}"
            ticket.save()
            search.index_new_ticket(ticket)
            sla_clock.start(ticket)
            record_event(ticket, actor, "created", None, "new")
            _attach(ticket, staged, actor)
            notifications.ticket_created(ticket, actor)
            staging.publish()  # last: a file that cannot be stored rolls the ticket back
    # The ticket as written, with the rows it points at in hand (the requester, organization,
    # service and subcategory it was created with): not read back.
    return Submitted(ticket, False)


def submit_ticket(**fields) -> Ticket:
    """Open a new ticket (see `submit`); the ticket only."""
    return submit(**fields).ticket


def _touch(ticket: Ticket) -> None:
    Ticket.update(updated_at=utcnow(), version=Ticket.version + 1).where(
        Ticket.id == ticket.id
    ).execute()


def version_tag(ticket: Ticket) -> str:
    """What names this version of the ticket (the API's ETag, quoted there)."""
    return f"{ticket.id}-{ticket.version}"


def _require_version(ticket: Ticket, if_match: Collection[str] | None) -> None:
    """Refuse a change made against a version of the ticket other than the current one.

    `if_match`: the tags the caller last saw (None: no condition). `ticket` was read by
    get_ticket in the caller's transaction, which locks it: no change slips in between.
    """
    if if_match is not None and version_tag(ticket) not in if_match:
        raise PreconditionFailed(
            N_(
                "Ticket {reference} was changed since you read it: nothing was changed. "
                "Read it again, then repeat your change."
            ),
            {"current": version_tag(ticket)},
            reference=ticket.reference,
        )


def add_comment(
    reference: str,
    body: str,
    *,
    actor: User,
    internal: bool = False,
    attachments: Iterable[Upload] = (),
) -> Comment:
    """Add a public reply or an internal note; a customer's reply reopens a pending ticket."""
    body = validation.text("message", body, max_length=MAX_BODY)
    validation.boolean("internal", internal)
    with active_store().staging() as staging:
        staged = _stage(staging, attachments)
        with database.atomic():
            ticket = get_ticket(reference, actor=actor)
            permissions.require(
                actor, "ticket.comment_internal" if internal else "ticket.comment", ticket
            )
            workflow.require_changeable(ticket)
            comment = _write_comment(ticket, actor, body, internal=internal)
            if not internal:
                notifications.public_reply(ticket, actor, body)
            _attach(ticket, staged, actor, comment=comment)
            if internal or not workflow.follow("public_reply", ticket, actor=actor, comment=body):
                _touch(ticket)
            staging.publish()  # last: a file that cannot be stored rolls the comment back
    return comment


def add_attachments(reference: str, uploads: list[Upload], *, actor: User) -> Ticket:
    """Attach files to the ticket itself."""
    if not uploads:
        raise ValidationFailed(
            N_("Send at least one file in the multipart field 'attachments'."),
            {"field": "attachments"},
        )
    with active_store().staging() as staging:
        staged = _stage(staging, uploads)
        with database.atomic():
            ticket = get_ticket(reference, actor=actor)
            permissions.require(actor, "ticket.attach", ticket)
            workflow.require_changeable(ticket)
            _attach(ticket, staged, actor)
            _touch(ticket)
            staging.publish()  # last: a file that cannot be stored rolls the rows back
    return ticket


def _identifier_key(value):
    return value.strip().lower() if isinstance(value, str) else repr(value)


@dataclass
class Sharing:
    """What `share_ticket` did: the people it now shares with, and those of them invited."""

    added: list[User]
    invited: list[User]


def _outsider(email: str, ticket: Ticket, actor: User) -> User | None:
    """The registered user named by an email outside the ticket's organization, if they may be
    shared with; None for an address to invite. Refusals say why."""
    user = find_user_by_email(email)
    if user is not None and not user.active:
        raise ValidationFailed(N_("{user} is deactivated."), user=email)
    if user is not None and permissions.can(user, "ticket.work"):
        raise ValidationFailed(
            N_("{user} is an agent: agents see every ticket already."), user=email
        )
    if user is not None and memberships_of(user):
        # A registered customer of another organization: agents only.
        if not permissions.can(actor, "ticket.share_outside", ticket):
            raise PermissionDenied(
                N_(
                    "{user} belongs to another organization than {organization}: "
                    "only agents may share a ticket with them."
                ),
                {"action": "ticket.share_outside"},
                user=email,
                organization=ticket.organization.name,
            )
        return user
    # Not registered, or a customer of no organization (someone invited before): the requester
    # or an agent may invite them to this ticket.
    if not permissions.can(actor, "ticket.invite", ticket):
        raise PermissionDenied(
            N_(
                "{user} is not a member of {organization}: only the requester or an "
                "agent may invite them to this ticket."
            ),
            {"action": "ticket.invite"},
            user=email,
            organization=ticket.organization.name,
        )
    return user


def share_ticket(reference: str, users: list[str], *, actor: User) -> Sharing:
    """Share a ticket with people, named by email or by name.

    Members of its organization, by email or name; by email also someone outside it: an
    address nobody registered is invited as an external customer of no organization, who then
    sees the tickets shared with them only (the requester or an agent may invite); a registered
    user of another organization is for agents only. At most MAX_SHARES distinct names a
    request; all are resolved before the write transaction.
    """
    if not isinstance(users, list) or not users:
        raise ValidationFailed(
            N_("users must be a list naming at least one user (email or name)."),
            {"field": "users"},
        )
    distinct = validation.items("users", users, max_items=MAX_SHARES, key=_identifier_key)
    identifiers = [validation.text("user", u, max_length=254) for u in distinct]
    ticket = get_ticket(reference, actor=actor)
    permissions.require(actor, "ticket.share", ticket)
    colleagues = (
        User.select()
        .join(Membership, on=(Membership.user == User.id))
        .where(
            (Membership.organization == ticket.organization_id) & (User.active == True)  # noqa: E712
        )
    )
    emails = [i.lower() for i in identifiers if "@" in i]
    inside = (
        {u.email for u in colleagues.clone().where(User.email.in_(emails))} if emails else set()
    )
    outside = [validation.email(e) for e in emails if e not in inside]
    known = [i for i in identifiers if "@" not in i or i.lower() in inside]
    wanted = {u.id: u for u in resolve_users(known, colleagues) if u.id != ticket.requester_id}
    to_invite = []
    for email in outside:
        user = _outsider(email, ticket, actor)
        if user is None:
            to_invite.append(email)
        elif user.id != ticket.requester_id:
            wanted[user.id] = user
    with database.atomic():
        ticket = get_ticket(reference, actor=actor)  # as it is now, inside the transaction
        invited = []
        for email in to_invite:
            guest = register_external_customer(email, email.split("@", 1)[0], organization=None)
            send_invitation(guest, actor=actor)
            invited.append(guest)
            wanted[guest.id] = guest
        already = {
            s.user_id
            for s in Share.select(Share.user).where(
                (Share.ticket == ticket) & Share.user.in_(list(wanted))
            )
        }
        added = [u for u in wanted.values() if u.id not in already]
        for user in added:
            Share.create(ticket=ticket, user=user, shared_by=actor)
            record_event(ticket, actor, "shared", None, user.email)
        if added:
            notifications.ticket_shared(ticket, actor, added)
            _touch(ticket)
    return Sharing(added, invited)


def unshare_ticket(reference: str, users: list[str], *, actor: User) -> list[User]:
    """Stop sharing a ticket with users it is shared with, named by email or by name.

    A name that matches nobody the ticket is shared with is refused, and then nothing changes.
    """
    if not isinstance(users, list) or not users:
        raise ValidationFailed(
            N_("users must be a list naming at least one user (email or name)."),
            {"field": "users"},
        )
    distinct = validation.items("users", users, max_items=MAX_SHARES, key=_identifier_key)
    identifiers = [validation.text("user", u, max_length=254) for u in distinct]
    with database.atomic():
        ticket = get_ticket(reference, actor=actor)
        # No require_changeable: sharing is not refused on a closed ticket (share_ticket), and
        # taking someone's access away must stay possible after it is closed.
        permissions.require(actor, "ticket.unshare", ticket)
        sharing = (
            User.select().join(Share, on=(Share.user == User.id)).where(Share.ticket == ticket)
        )
        try:
            removed = {u.id: u for u in resolve_users(identifiers, sharing)}
        except NotFound as exc:
            # Among the people it is shared with only: no hint whether such a user exists.
            who = exc.details.get("user")
            raise ValidationFailed(
                N_("Ticket {reference} is not shared with {user}."),
                {"shared_with": [u.email for u in shared_with(ticket)]},
                reference=ticket.reference,
                user=who,
            ) from None
        Share.delete().where((Share.ticket == ticket) & Share.user.in_(list(removed))).execute()
        for user in removed.values():
            record_event(ticket, actor, "unshared", user.email, None)
        _touch(ticket)
    return list(removed.values())


# The fields `edit_ticket` changes, in the order their history rows are written.
EDITABLE_FIELDS = (
    "title",
    "description",
    "type",
    "service",
    "subcategory",
    "impact",
    "urgency",
    "priority",
    "private",
)
# What the requester may change of their own ticket while it is new (ticket.edit_own).
REQUESTER_FIELDS = frozenset({"title", "description", "private"})


def _edited_value(field: str, value):
    if field == "title":
        return validation.text("title", value, max_length=MAX_TITLE, one_line=True)
    if field == "description":
        return validation.text("description", value, max_length=MAX_BODY, required=False)
    if field == "type":
        return validation.choice("type", value, TICKET_TYPES)
    if field in ("impact", "urgency"):
        return validation.choice(field, value, LEVELS)
    if field == "priority":
        return validation.choice("priority", value, PRIORITIES)
    if field == "private":
        return validation.boolean("private", value)
    if field in ("service", "subcategory"):  # by id or name; checked against the catalogue later
        return validation.text(
            field, None if value is None else str(value), max_length=200, required=False
        )
    raise ValidationFailed(
        N_("Unknown field: {field}."),
        {"unknown": [field], "allowed": list(EDITABLE_FIELDS)},
        field=field,
    )


def _history_value(value):
    if isinstance(value, Service | Subcategory):
        return value.name
    return ("true" if value else "false") if isinstance(value, bool) else value


def _classify(ticket: Ticket, wanted: dict, actor: User) -> Choice | None:
    """Turn an edit's service and subcategory into catalogue rows, checked as on submit (an
    agent: any open service; the subcategory one of the service's). A new type alone must be
    one the ticket's service takes. Returns the choice (and its contract) when one is made."""
    if "service" not in wanted and "subcategory" not in wanted:
        new_type = wanted.get("type")
        if new_type and ticket.service_id and new_type not in service_types(ticket.service):
            accepted = service_types(ticket.service)
            raise ValidationFailed(
                N_("Service {service!r} does not take {request_type} requests; it takes: {types}."),
                {"field": "type", "choices": accepted},
                service=ticket.service.name,
                request_type=new_type,
                types=accepted,
            )
        return None
    if "service" in wanted:
        service = wanted["service"]
        subcategory = wanted.get("subcategory")
    else:
        service = str(ticket.service_id) if ticket.service_id else None
        subcategory = wanted["subcategory"]
    choice = choose_service(
        actor=actor,
        organization=ticket.organization,
        type=wanted.get("type", ticket.type),
        service=service,
        subcategory=subcategory,
    )
    wanted["service"], wanted["subcategory"] = choice.service, choice.subcategory
    return choice


def _follow_contract(ticket: Ticket, choice: Choice, actor: User) -> None:
    """A ticket moved to another service falls under the SLA policy of the contract that
    covers that service (none when no contract does), as if it had been filed there."""
    policy_id = choice.contract.sla_policy_id if choice.contract else None
    if policy_id == ticket.sla_policy_id:
        return
    names = dict(
        SlaPolicy.select(SlaPolicy.id, SlaPolicy.name)
        .where(SlaPolicy.id.in_([ticket.sla_policy_id, policy_id]))
        .tuples()
    )
    record_event(ticket, actor, "sla_policy", names.get(ticket.sla_policy_id), names.get(policy_id))
    ticket.sla_policy = policy_id


@dataclass
class Edit:
    """What `edit_ticket` did: the ticket as it is now and the fields that changed."""

    ticket: Ticket
    changed: list[str]


def edit_ticket(
    reference: str, changes: dict, *, actor: User, if_match: Collection[str] | None = None
) -> Edit:
    """Change a ticket's fields; each change is one history event with old and new values.

    Agents change every field; the requester changes title, description and private while
    the ticket is new. A new impact or urgency recomputes the priority unless the same edit
    sets it or an earlier one did (an override, recorded as such and kept). Values equal to
    the current ones change nothing and notify nobody. Raises NotFound, PermissionDenied,
    Conflict (closed), ValidationFailed, PreconditionFailed (`if_match` is not the current
    version).
    """
    if not isinstance(changes, dict) or not changes:
        raise ValidationFailed(
            N_("Give at least one field to change: {allowed}."), allowed=list(EDITABLE_FIELDS)
        )
    wanted = {field: _edited_value(field, value) for field, value in changes.items()}
    with database.atomic():
        ticket = get_ticket(reference, actor=actor)
        if not permissions.can(actor, "ticket.edit", ticket):
            if set(wanted) - REQUESTER_FIELDS:
                permissions.require(actor, "ticket.edit", ticket)
            permissions.require(actor, "ticket.edit_own", ticket)
        _require_version(ticket, if_match)
        workflow.require_changeable(ticket)
        choice = _classify(ticket, wanted, actor)
        overridden = "priority" in changes
        # The matrix recomputes the priority only of a type that asks for impact and urgency,
        # and never one an agent has set (the override stands until an agent changes it).
        recomputes = (
            not ticket.priority_overridden
            and priorities.type_policy(wanted.get("type", ticket.type)).asks
            == PriorityInput.impact_urgency.value
        )
        if not overridden and recomputes and ({"impact", "urgency"} & set(wanted)):
            wanted["priority"] = priorities.priority_for(
                wanted.get("impact", ticket.impact), wanted.get("urgency", ticket.urgency)
            )
        # What the SLA due times were computed for.
        clocked = (ticket.sla_policy_id, ticket.priority, ticket.type)
        changed: list[tuple[str, object, object]] = []
        for field in EDITABLE_FIELDS:
            if field not in wanted or getattr(ticket, field) == wanted[field]:
                continue
            old, new = getattr(ticket, field), wanted[field]
            setattr(ticket, field, new)
            kind = "priority_override" if field == "priority" and overridden else field
            if kind == "priority_override":
                ticket.priority_overridden = True
            record_event(ticket, actor, kind, _history_value(old), _history_value(new))
            changed.append((field, old, new))
        if changed:
            if choice is not None and "service" in [field for field, _, _ in changed]:
                _follow_contract(ticket, choice, actor)
            if clocked != (ticket.sla_policy_id, ticket.priority, ticket.type):
                sla_clock.recompute(ticket, *clocked)
            ticket.updated_at = utcnow()
            ticket.save()
            if {"title", "description"} & {field for field, _, _ in changed}:
                search.index_tickets([ticket.id])
            notifications.ticket_edited(ticket, actor, changed)
    return Edit(get_ticket(ticket.reference, actor=actor), [field for field, _, _ in changed])


def assign(
    reference: str, assignee: str, *, actor: User, if_match: Collection[str] | None = None
) -> Ticket:
    """Give a ticket to an agent ("me" for oneself); a new ticket becomes open."""
    with database.atomic():
        ticket = get_ticket(reference, actor=actor)
        _require_version(ticket, if_match)
        permissions.require(actor, "ticket.assign", ticket)
        workflow.require_changeable(ticket)
        assignee = validation.text("assignee", assignee, max_length=254)
        if assignee.lower() == "me":
            agent = actor
        else:
            agent = resolve_user(assignee, User.select().where(User.active == True))  # noqa: E712
            if not permissions.can(agent, "ticket.work"):
                raise ValidationFailed(  # only customers do not work on tickets
                    N_("{assignee} is a customer; tickets are assigned to agents."),
                    assignee=agent.email,
                )
        previous = ticket.assignee.email if ticket.assignee_id else None
        ticket.assignee = agent
        ticket.updated_at = utcnow()
        ticket.save()
        record_event(ticket, actor, "assigned", previous, agent.email)
        workflow.follow("assigned", ticket, actor=actor)
        notifications.ticket_assigned(ticket, actor)
    return get_ticket(ticket.reference, actor=actor)


def change_status(
    reference: str,
    to: str,
    *,
    actor: User,
    comment: str | None = None,
    if_match: Collection[str] | None = None,
) -> Ticket:
    """Move a ticket along the workflow; an optional comment is saved as a public reply."""
    validation.choice("status", to, STATUSES)
    comment = validation.text("comment", comment, max_length=MAX_BODY, required=False)
    with database.atomic():
        ticket = get_ticket(reference, actor=actor)
        _require_version(ticket, if_match)
        previous = ticket.status
        workflow.transition(ticket, to, actor=actor, comment=comment)
        if comment:
            _write_comment(ticket, actor, comment)
        notifications.status_changed(ticket, actor, previous, comment)
    return get_ticket(ticket.reference, actor=actor)


def close_ticket(
    reference: str,
    *,
    actor: User,
    rating: int | None = None,
    comment: str | None = None,
    if_match: Collection[str] | None = None,
) -> Ticket:
    """Close a ticket.

    The requester may rate it (1-5) and leave a satisfaction comment; an agent's comment
    is saved as a public reply.
    """
    comment = validation.text("comment", comment, max_length=MAX_BODY, required=False)
    with database.atomic():
        ticket = get_ticket(reference, actor=actor)
        _require_version(ticket, if_match)
        workflow.check_command(ticket, "close", actor=actor)
        # A customer's closing words are their verdict; an agent's are a public reply.
        verdict = bool(comment) and permissions.can(actor, "ticket.rate", ticket)
        rates = rating is not None or verdict
        if rates:
            permissions.require(actor, "ticket.rate", ticket)
        if rating is not None:
            rating = validation.integer("rating", rating, low=1, high=5)
        previous = ticket.status
        workflow.transition(ticket, "closed", actor=actor)
        if rates:
            ticket.satisfaction_rating = rating
            ticket.satisfaction_comment = comment or None
            ticket.save()
            record_event(ticket, actor, "rated", None, rating)
        elif comment:
            _write_comment(ticket, actor, comment)
        notifications.status_changed(ticket, actor, previous, None if rates else comment)
    return get_ticket(ticket.reference, actor=actor)


def reopen_ticket(
    reference: str, comment: str, *, actor: User, if_match: Collection[str] | None = None
) -> Ticket:
    """Reopen a resolved ticket with a comment that says why."""
    with database.atomic():
        ticket = get_ticket(reference, actor=actor)
        _require_version(ticket, if_match)
        workflow.check_command(ticket, "reopen", actor=actor)
        to = workflow.COMMANDS["reopen"].to
        return change_status(reference, to, actor=actor, comment=comment)


def set_notifications(reference: str, enabled: bool, *, actor: User) -> Ticket:
    """Turn the actor's emails about one ticket on or off."""
    validation.boolean("enabled", enabled)
    with database.atomic():
        ticket = get_ticket(reference, actor=actor)
        preference, _ = NotificationPreference.get_or_create(ticket=ticket, user=actor)
        preference.enabled = enabled
        preference.save()
    return ticket

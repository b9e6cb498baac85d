"""`helpdesk ticket list`, `search` and `export`: the same filters, printed as a table, JSON,
CSV or references, page by page (a cursor to the next page), or streamed whole."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from typing import Annotated

import typer

from helpdesk.cli.choices import Priority, TicketType, date_option, values
from helpdesk.cli.client import ApiClient
from helpdesk.cli.compat import UsageError
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_, t, w
from helpdesk.cli.organizations import Page, PerPage
from helpdesk.cli.output import JsonOption, table, when
from helpdesk.cli.sla import Breaching, Within, render_breaching
from helpdesk.cli.tickets import StatusFilter, app, service_label, service_name
from helpdesk.vocabulary import STATUSES, TICKET_SORTS, SortDirection
from helpdesk.vocabulary import Status as StatusWord

# What `ticket list` shows without --status or --all-statuses: every status but closed.
NOT_CLOSED = [s for s in STATUSES if s != StatusWord.closed]
MAX_PER_PAGE = 100

AllStatuses = Annotated[
    bool, typer.Option("--all-statuses", help="Closed tickets too (ticket list hides them).")
]
TypeFilter = Annotated[TicketType | None, typer.Option("--type", help="Only this type.")]
PriorityFilter = Annotated[
    list[Priority] | None,
    typer.Option("--priority", help="Only tickets of this priority (repeatable)."),
]
ServiceFilter = Annotated[
    str | None, typer.Option("--service", help="Only tickets about this service (name or id).")
]
RequesterFilter = Annotated[
    str | None, typer.Option("--requester", help="Only this requester's (email).")
]
OrgFilter = Annotated[str | None, typer.Option("--org", help="Only this organization's.")]
AssigneeFilter = Annotated[
    str | None, typer.Option("--assignee", help="Only tickets assigned to this agent (email).")
]
Unassigned = Annotated[bool, typer.Option("--unassigned", help="Only tickets nobody has.")]
Mine = Annotated[
    bool, typer.Option("--mine", help="Only tickets you requested (agents: assigned to you).")
]
Scope = Annotated[
    str | None,
    typer.Option(
        "--scope",
        help="mine (as --mine) or organization (power users: your organization's requests).",
    ),
]
Reference = Annotated[str | None, typer.Option("--reference", help="Only this ticket (HD-42).")]
Sort = Annotated[
    str | None,
    typer.Option("--sort", help=f"Sort by one of: {', '.join(TICKET_SORTS)} (default created)."),
]
Direction = Annotated[
    SortDirection | None,
    typer.Option("--dir", help="asc or desc (default: the sort's natural order)."),
]
Limit = Annotated[
    int | None, typer.Option("--limit", min=1, help="At most this many tickets (any number).")
]
All = Annotated[
    bool, typer.Option("--all", help="Every matching ticket, printed page by page as it comes.")
]
NoCount = Annotated[
    bool, typer.Option("--no-count", help="Do not count the matches (faster on big lists).")
]
CreatedFrom = Annotated[str | None, date_option("--from", "Created on or after (YYYY-MM-DD).")]
CreatedTo = Annotated[str | None, date_option("--to", "Created on or before (YYYY-MM-DD).")]
ClosedFrom = Annotated[str | None, date_option("--closed-from", "Closed on or after (YYYY-MM-DD).")]
ClosedTo = Annotated[str | None, date_option("--closed-to", "Closed on or before (YYYY-MM-DD).")]
UpdatedSince = Annotated[
    str | None, date_option("--updated-since", "Changed on or after (a date or date-time).")
]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV with a header row.")]
IdsOption = Annotated[bool, typer.Option("--ids", help="Print one reference a line (for xargs).")]

COLUMNS = (
    N_("Ref"),
    N_("Status"),
    N_("Priority"),
    N_("Type"),
    N_("Service"),
    N_("Title"),
    N_("Requester"),
    N_("Organization"),
    N_("Created"),
    N_("Updated"),
)
CSV_COLUMNS = (
    "reference",
    "title",
    "status",
    "type",
    "service",
    "priority",
    "requester_name",
    "organization",
    "created_at",
    "updated_at",
)


def _row(tk: dict) -> tuple:
    return (
        tk["reference"],
        w("status", tk["status"]),
        w("priority", tk["priority"]),
        w("ticket type", tk["type"]),
        service_label(tk),
        tk["title"][:60],
        tk["requester"]["name"],
        tk["organization"],
        when(tk["created_at"]),
        when(tk["updated_at"]),
    )


def _csv_row(tk: dict) -> list:
    return [
        tk["reference"],
        tk["title"],
        tk["status"],
        tk["type"],
        service_name(tk) or "",
        tk["priority"],
        tk["requester"]["name"],
        tk["organization"],
        tk["created_at"],
        tk["updated_at"],
    ]


def _filters(
    *,
    status,
    all_statuses,
    default_open: bool,
    type_,
    priority,
    service,
    requester,
    org,
    assignee,
    unassigned,
    mine,
    scope,
    from_,
    to,
    closed_from,
    closed_to,
    updated_since,
    reference,
    sort,
    direction,
    breaching=False,
    within=None,
    text=None,
) -> dict:
    """The API query of the list options (the same for list, search and export)."""
    if mine and scope and scope != "mine":
        raise UsageError("Choose one of --mine and --scope.")
    if mine and org:
        raise UsageError("Choose one of --mine and --org.")
    if scope and org:
        raise UsageError("Choose one of --scope and --org.")
    if status and all_statuses:
        raise UsageError("Choose one of --status and --all-statuses.")
    statuses = values(status)
    if not statuses and default_open and not all_statuses:
        statuses = NOT_CLOSED
    sla = breaching or within is not None
    return {
        "q": text,
        "status": statuses,
        "priority": values(priority),
        "type": type_.value if type_ else None,
        "service": service,
        "requester": requester,
        "organization": org,
        "assignee": assignee,
        "unassigned": "true" if unassigned else None,
        "scope": "mine" if mine else scope,
        "from": from_,
        "to": to,
        "closed_from": closed_from,
        "closed_to": closed_to,
        "updated_since": updated_since,
        "reference": reference,
        "sort": sort,
        "dir": direction.value if direction else None,
        "breaching": "true" if sla else None,
        "within": within,
    }


def _pages(client: ApiClient, query: dict, *, page, per_page, limit, every, count) -> Iterator:
    """The pages a list command prints: one (--page), or by cursor until --limit or the end."""
    if every and (limit or page != 1):
        raise UsageError("--all takes no --limit and no --page.")
    if every and query.get("q") and not query.get("sort"):
        # Every match, newest first: by relevance only the newest 10,000 are ranked and listed
        # (helpdesk/search.py, RANKED_MATCHES); the order by date has no such bound.
        query = {**query, "sort": "created"}
    if limit is not None and page != 1:
        raise UsageError("Give --limit or --page, not both.")
    left = limit
    size = min(left, MAX_PER_PAGE) if left else per_page
    result = client.get(
        "/tickets", **query, page=page, per_page=size, count=None if count else "false"
    )
    while True:
        if left is not None:
            result["items"] = result["items"][:left]
            left -= len(result["items"])
        yield result
        more = result.get("next") and (every or (left is not None and left > 0))
        if not more:
            return
        size = min(left, MAX_PER_PAGE) if left else MAX_PER_PAGE
        result = client.get(
            "/tickets", **query, cursor=result["next"], per_page=size, count="false"
        )


def _footer(first: dict, shown: int, streamed: bool) -> None:
    """How much of the list was shown, and how to see more (text output only)."""
    total, estimate = first.get("total"), first.get("total_is_estimate")
    if shown == 0:
        typer.echo(t("No {noun}.", noun=t("tickets")))
        return
    if streamed or not first.get("next"):
        return
    if total is None:
        typer.echo(t("\nMore tickets match: use --all, --limit N or --page N."))
    elif estimate:
        typer.echo(
            t(
                "\nShowing {shown} of more than {total} tickets: use --all, --limit N or --page N.",
                shown=shown,
                total=total,
            )
        )
    else:
        typer.echo(
            t(
                "\nShowing {shown} of {total} {noun} (page {page}); use --page {next} for more.",
                shown=shown,
                total=total,
                noun=t("tickets"),
                page=first["page"],
                next=first["page"] + 1,
            )
        )


def _print_snippets(items: list[dict]) -> None:
    """Under a text search's table: where the words are in each ticket (its snippet)."""
    snippets = [(tk["reference"], tk.get("snippet")) for tk in items]
    if any(snippet for _, snippet in snippets):
        typer.echo("")
        for reference, snippet in snippets:
            if snippet:
                typer.echo(f"{reference}  {snippet}")


def print_pages(pages: Iterator[dict], *, as_json, as_csv, ids, streamed, sla=False) -> None:
    """Print each page as it arrives: memory holds one page, however long the list."""
    if sum(map(bool, (as_json, as_csv, ids))) > 1:
        raise UsageError("Choose one of --json, --csv and --ids.")
    writer = csv.writer(sys.stdout, lineterminator="\r\n") if as_csv else None
    if writer:
        writer.writerow(CSV_COLUMNS)
    first, shown = None, 0
    for page in pages:
        first = first or page
        items = page["items"]
        shown += len(items)
        if as_json and not streamed:
            typer.echo(json.dumps(page, indent=2, sort_keys=True, ensure_ascii=False))
        elif as_json:  # JSON Lines: one ticket a line, nothing held back
            for tk in items:
                typer.echo(json.dumps(tk, sort_keys=True, ensure_ascii=False))
        elif writer:
            writer.writerows(_csv_row(tk) for tk in items)
            sys.stdout.flush()
        elif ids:
            for tk in items:
                typer.echo(tk["reference"])
        elif sla:
            render_breaching(page)
        elif items:
            table([_row(tk) for tk in items], COLUMNS if first is page else ())
            _print_snippets(items)
    if not (as_json or as_csv or ids or sla) and first is not None:
        _footer(first, shown, streamed)


@app.command("list")
@handle_errors
def list_(
    status: StatusFilter = None,
    all_statuses: AllStatuses = False,
    mine: Mine = False,
    scope: Scope = None,
    org: OrgFilter = None,
    type_: TypeFilter = None,
    priority: PriorityFilter = None,
    service: ServiceFilter = None,
    requester: RequesterFilter = None,
    assignee: AssigneeFilter = None,
    unassigned: Unassigned = False,
    from_: CreatedFrom = None,
    to: CreatedTo = None,
    closed_from: ClosedFrom = None,
    closed_to: ClosedTo = None,
    updated_since: UpdatedSince = None,
    reference: Reference = None,
    breaching: Breaching = False,
    within: Within = None,
    sort: Sort = None,
    direction: Direction = None,
    page: Page = 1,
    per_page: PerPage = 25,
    limit: Limit = None,
    every: All = False,
    no_count: NoCount = False,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
    ids: IdsOption = False,
) -> None:
    """List the tickets you can see that are not closed, newest first (--status closed or
    --all-statuses for the rest)."""
    query = _filters(**_options(locals()), default_open=True, breaching=breaching, within=within)
    _print(query, page, per_page, limit, every, no_count, json_output, csv_output, ids)


@app.command("search")
@handle_errors
def search(
    text: Annotated[
        str | None,
        typer.Argument(help="Words to find: title, description, comments (HD-12: that ticket)."),
    ] = None,
    status: StatusFilter = None,
    all_statuses: AllStatuses = False,
    mine: Mine = False,
    scope: Scope = None,
    org: OrgFilter = None,
    type_: TypeFilter = None,
    priority: PriorityFilter = None,
    service: ServiceFilter = None,
    requester: RequesterFilter = None,
    assignee: AssigneeFilter = None,
    unassigned: Unassigned = False,
    from_: CreatedFrom = None,
    to: CreatedTo = None,
    closed_from: ClosedFrom = None,
    closed_to: ClosedTo = None,
    updated_since: UpdatedSince = None,
    reference: Reference = None,
    sort: Sort = None,
    direction: Direction = None,
    page: Page = 1,
    per_page: PerPage = 25,
    limit: Limit = None,
    every: All = False,
    no_count: NoCount = False,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
    ids: IdsOption = False,
) -> None:
    """Search the tickets you can see, in every status."""
    query = _filters(**_options(locals()), default_open=False, text=text)
    _print(query, page, per_page, limit, every, no_count, json_output, csv_output, ids)


@app.command("export")
@handle_errors
def export(
    format_: Annotated[
        str, typer.Option("--format", help="csv (a row a comment) or jsonl (a ticket a line).")
    ] = "jsonl",
    status: StatusFilter = None,
    all_statuses: AllStatuses = False,
    mine: Mine = False,
    scope: Scope = None,
    org: OrgFilter = None,
    type_: TypeFilter = None,
    priority: PriorityFilter = None,
    service: ServiceFilter = None,
    requester: RequesterFilter = None,
    assignee: AssigneeFilter = None,
    unassigned: Unassigned = False,
    from_: CreatedFrom = None,
    to: CreatedTo = None,
    closed_from: ClosedFrom = None,
    closed_to: ClosedTo = None,
    updated_since: UpdatedSince = None,
    reference: Reference = None,
    sort: Sort = None,
    direction: Direction = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="JSON Lines, the same as --format jsonl.")
    ] = False,
) -> None:
    """Write every ticket you can see that matches (all statuses unless --status) with its
    comments (agents: internal notes too, marked) to stdout, streamed."""
    if format_ not in ("csv", "jsonl"):
        raise UsageError(f"--format must be csv or jsonl (got {format_!r}).")
    if json_output and format_ == "csv":
        raise UsageError("Choose one of --json and --format csv.")
    query = _filters(**_options(locals()), default_open=False)
    params = {k: v for k, v in query.items() if v not in (None, [], ())}
    params["format"] = format_
    client = ApiClient.from_environment()
    out = sys.stdout.buffer
    with client.download(_path_with("/tickets/export", params)) as (_, chunks):
        for chunk in chunks:
            out.write(chunk)
        out.flush()


def _path_with(path: str, params: dict) -> str:
    from urllib.parse import urlencode

    return f"{path}?{urlencode(params, doseq=True)}"


FILTER_NAMES = (
    "status",
    "all_statuses",
    "type_",
    "priority",
    "service",
    "requester",
    "org",
    "assignee",
    "unassigned",
    "mine",
    "scope",
    "from_",
    "to",
    "closed_from",
    "closed_to",
    "updated_since",
    "reference",
    "sort",
    "direction",
)


def _options(given: dict) -> dict:
    return {name: given[name] for name in FILTER_NAMES}


def _print(query, page, per_page, limit, every, no_count, as_json, as_csv, ids) -> None:
    client = ApiClient.from_environment()
    pages = _pages(
        client, query, page=page, per_page=per_page, limit=limit, every=every, count=not no_count
    )
    streamed = every or limit is not None
    print_pages(
        pages,
        as_json=as_json,
        as_csv=as_csv,
        ids=ids,
        streamed=streamed,
        sla=query["breaching"] is not None,
    )

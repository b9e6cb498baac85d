"""`helpdesk ticket list`, `search` and `export` as their users run them: the customer's views
(my open, resolved and closed requests; a power user's organization), the outputs (table, JSON,
CSV, references), paging by cursor (--all, --limit), exports and exit codes."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import World

from helpdesk.db import database
from helpdesk.services import tickets


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def refs(result) -> list[str]:
    return ok(result).stdout.split()


@pytest.fixture
def world(app):
    """The conftest's users, without holding a connection: each CLI run opens the app anew."""
    with database.connection_context():
        return World()


@pytest.fixture
def desk(world, clock):
    """Rita's requests in four statuses, a colleague's private one and a Globex one, oldest
    first; an internal note on Rita's open request."""
    with database.connection_context():
        return _desk(world, clock)


def _desk(world, clock) -> dict:
    made = {}
    for status in ("new", "open", "resolved", "closed"):
        ticket = tickets.submit_ticket(actor=world.requester, type="incident", title=status)
        for to in {"new": [], "open": ["open"], "resolved": ["open", "resolved"]}.get(
            status, ["closed"]
        ):
            tickets.change_status(ticket.reference, to, actor=world.agent)
        made[status] = ticket.reference
        clock.advance(minutes=1)
    tickets.add_comment(made["open"], "Public answer.", actor=world.agent)
    tickets.add_comment(made["open"], "Agents only: reboot.", actor=world.agent, internal=True)
    made["private"] = tickets.submit_ticket(
        actor=world.colleague, type="question", title="private", private=True
    ).reference
    clock.advance(minutes=1)
    made["globex"] = tickets.submit_ticket(
        actor=world.other_power, type="feature", title="globex"
    ).reference
    return made


def test_the_customer_views_of_the_guides(run_as, world, desk):
    rita = world.requester
    assert refs(run_as(rita, "ticket", "list", "--mine", "--ids")) == [
        desk["resolved"],
        desk["open"],
        desk["new"],
    ]  # my open requests: everything not closed, newest first
    assert refs(run_as(rita, "ticket", "list", "--status", "resolved", "--ids")) == [
        desk["resolved"]
    ]
    assert refs(run_as(rita, "ticket", "list", "--status", "closed", "--ids")) == [desk["closed"]]
    every = refs(run_as(rita, "ticket", "list", "--all-statuses", "--ids"))
    assert every == [desk[s] for s in ("closed", "resolved", "open", "new")]
    # A power user: the organization's requests, not a colleague's private one, not Globex's.
    paula = refs(run_as(world.power, "ticket", "list", "--scope", "organization", "--ids"))
    assert paula == [desk["resolved"], desk["open"], desk["new"]]
    refused = run_as(rita, "ticket", "list", "--scope", "organization")
    assert refused.exit_code == 1 and "Error:" in refused.stderr


def test_table_rows_show_the_listed_columns(run_as, world, desk):
    out = ok(run_as(world.agent, "ticket", "list", "--reference", desk["open"])).stdout
    header, _, row = out.splitlines()[:3]
    for column in ("Ref", "Status", "Priority", "Type", "Title", "Requester", "Organization"):
        assert column in header
    assert "Created" in header and "Updated" in header
    assert desk["open"] in row and "Rita Requester" in row and "Acme" in row


def test_csv_is_rfc4180_with_a_header(run_as, world, desk):
    result = ok(run_as(world.agent, "ticket", "list", "--all-statuses", "--csv"))
    out = result.stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [
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
    ]
    assert [r[0] for r in rows[1:]] == refs(
        run_as(world.agent, "ticket", "list", "--all-statuses", "--ids")
    )
    assert result.stdout_bytes.count(b"\r\n") == len(rows)  # RFC 4180 line ends


def test_all_and_limit_page_by_cursor_without_skipping_or_repeating(run_as, world, desk):
    every = refs(run_as(world.agent, "ticket", "search", "--ids"))
    assert len(every) == 6
    streamed = refs(run_as(world.agent, "ticket", "search", "--all", "--per-page", "2", "--ids"))
    assert streamed == every
    assert refs(run_as(world.agent, "ticket", "search", "--limit", "4", "--ids")) == every[:4]
    lines = ok(run_as(world.agent, "ticket", "search", "--all", "--json")).stdout.splitlines()
    assert [json.loads(line)["reference"] for line in lines] == every
    table = ok(run_as(world.agent, "ticket", "search", "--all", "--per-page", "2")).stdout
    assert table.count("Ref") == 1  # one header, rows as pages arrive


def test_all_lists_every_match_of_a_search_past_what_relevance_ranks(
    run_as, world, desk, monkeypatch
):
    from helpdesk import search

    monkeypatch.setattr(search, "RANKED_MATCHES", 2)  # the newest 2 matches are ranked
    with database.connection_context():
        made = [
            tickets.submit_ticket(actor=world.requester, type="incident", title=f"toner {n}")
            for n in range(4)
        ]
    assert len(refs(run_as(world.agent, "ticket", "search", "toner", "--ids"))) == 2
    every = refs(run_as(world.agent, "ticket", "search", "toner", "--all", "--ids"))
    assert every == [t.reference for t in reversed(made)]  # newest first, none left out


def test_sort_and_filters_reach_the_api(run_as, world, desk):
    by_title = refs(
        run_as(world.agent, "ticket", "search", "--sort", "title", "--dir", "asc", "--ids")
    )
    titles = ["closed", "globex", "new", "open", "private", "resolved"]
    assert by_title == [desk[t] for t in titles]
    assert refs(run_as(world.agent, "ticket", "search", "--type", "feature", "--ids")) == [
        desk["globex"]
    ]
    assert refs(
        run_as(world.agent, "ticket", "search", "--org", "Globex", "--all-statuses", "--ids")
    ) == [desk["globex"]]
    assert refs(run_as(world.agent, "ticket", "list", "--unassigned", "--ids")) == refs(
        run_as(world.agent, "ticket", "list", "--ids")
    )


def test_no_count_and_the_footer(run_as, world, desk):
    counted = ok(run_as(world.agent, "ticket", "search", "--per-page", "2")).stdout
    assert "Showing 2 of 6 tickets (page 1); use --page 2 for more." in counted
    uncounted = ok(run_as(world.agent, "ticket", "search", "--per-page", "2", "--no-count"))
    assert "More tickets match: use --all, --limit N or --page N." in uncounted.stdout
    data = json.loads(ok(run_as(world.agent, "ticket", "search", "--no-count", "--json")).stdout)
    assert data["total"] is None


def test_export_gives_a_customer_public_comments_only(run_as, world, desk):
    mine = ok(run_as(world.requester, "ticket", "export")).stdout
    lines = [json.loads(line) for line in mine.splitlines()]
    assert {line["reference"] for line in lines} == {
        desk[s] for s in ("new", "open", "resolved", "closed")
    }
    comments = [c["body"] for line in lines for c in line["comments"]]
    assert "Public answer." in comments and "Agents only: reboot." not in mine
    agents = ok(run_as(world.agent, "ticket", "export", "--format", "csv")).stdout
    rows = list(csv.DictReader(io.StringIO(agents)))
    notes = [r for r in rows if r["comment_body"] == "Agents only: reboot."]
    assert [r["comment_visibility"] for r in notes] == ["internal"]
    assert {r["reference"] for r in rows} == set(desk.values())


@pytest.mark.parametrize(
    "args",
    [
        ("ticket", "list", "--json", "--csv"),
        ("ticket", "list", "--ids", "--csv"),
        ("ticket", "list", "--status", "new", "--all-statuses"),
        ("ticket", "list", "--all", "--limit", "3"),
        ("ticket", "list", "--status", "done"),
        ("ticket", "list", "--updated-since", "yesterday"),
        ("ticket", "export", "--format", "xml"),
        ("ticket", "list", "--dir", "up"),
    ],
)
def test_usage_errors_exit_2(run_as, world, args):
    assert run_as(world.agent, *args).exit_code == 2


@pytest.mark.parametrize(
    "args",
    [
        ("ticket", "list", "--sort", "colour"),
        ("ticket", "list", "--org", "Initech"),
        ("ticket", "export", "--org", "Initech"),
        ("ticket", "list", "--reference", "ticket-1"),
    ],
)
def test_refusals_exit_1_with_a_message(run_as, world, args):
    result = run_as(world.agent, *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output

"""Hostile input never gives a 500: text no database stores, paging and dates out of range,
unbounded lists, a busy database, attachment files that cannot be stored or are lost."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
from pathlib import Path

import pytest
from conftest import hold_write_lock
from test_error_shape import assert_error, row_counts

from helpdesk.config import load_settings
from helpdesk.db import database, is_sqlite
from helpdesk.models import Attachment, Comment, Event, Share, Ticket
from helpdesk.server import create_app
from helpdesk.storage import STALE_STAGING_SECONDS

API = "/api/v1"
WRITE_METHODS = ("POST", "PATCH", "PUT")


def _fill(rule, reference: str) -> str:
    """A concrete URL for a route: each variable part gets a plausible value."""
    path = rule.rule
    for name, converter in rule._converters.items():
        options = getattr(converter, "items", None)  # any(...) converter
        if name == "reference":
            value = reference
        elif options:
            value = sorted(options)[0]
        elif type(converter).__name__ == "IntegerConverter":
            value = "1"
        else:
            value = "some-token"
        path = re.sub(rf"<[^>]*\b{name}>", value, path)
    return path


def fetch(client, url: str, headers) -> bytes:
    """Download a file, closing the response (it streams from disk)."""
    with client.get(url, headers=headers) as resp:
        assert resp.status_code == 200, resp.get_data(as_text=True)[:200]
        return resp.get_data()


def _routes(app, methods):
    rules = [r for r in app.url_map.iter_rules() if set(methods) & (r.methods or set())]
    return sorted(rules, key=lambda r: r.rule)


# -- 5: lone surrogates and NUL are 422 naming the field, on every endpoint -------------------

UNSTORABLE_BODIES = [
    # (raw JSON text as a client sends it, the field the error must name)
    ('{"title": "\\ud800"}', "title"),
    ('{"title": "before\\u0000after"}', "title"),
    ('{"users": ["col@acme.test", "\\udfff"]}', "users[1]"),
    ('{"data": {"nested": ["ok", "x\\u0000"]}}', "data.nested[1]"),
    ('{"\\ud800": "a key"}', "\ud800"),
]


def test_every_write_route_refuses_unstorable_text_before_anything_else(app, client, world):
    """Every POST/PATCH/PUT route of the app, with and without a token: 422, field named."""
    reference = world.ticket(status="open").reference
    headers = world.headers(world.admin)
    routes = _routes(app, WRITE_METHODS)
    assert len(routes) >= 30, [r.rule for r in routes]  # the sweep is not vacuous
    failures = []
    for rule in routes:
        method = next(m for m in WRITE_METHODS if m in rule.methods)
        path = _fill(rule, reference)
        for raw, field in UNSTORABLE_BODIES:
            for auth in ({}, headers):
                before = row_counts()
                resp = client.open(
                    path, method=method, data=raw, content_type="application/json", headers=auth
                )
                label = f"{method} {path} {raw} token={bool(auth)} -> {resp.status_code}"
                try:
                    if path.startswith(f"{API}/") or resp.mimetype != "text/html":
                        error = assert_error(resp, 422, "validation_failed")
                        assert error["details"]["field"] == field, error
                    else:  # a portal page answers with an HTML error page
                        assert resp.status_code == 422
                    assert row_counts() == before, "rows changed"
                except AssertionError as exc:
                    failures.append(f"{label}: {str(exc)[:200]}")
    assert not failures, "\n".join(failures)


def test_unstorable_text_in_query_url_and_form_is_422(client, world):
    headers = world.headers(world.agent)
    resp = client.get(f"{API}/tickets", query_string={"q": "a\x00b"}, headers=headers)
    assert assert_error(resp, 422, "validation_failed")["details"]["field"] == "q"
    resp = client.get(f"{API}/tickets/HD-1%00", headers=headers)
    assert assert_error(resp, 422, "validation_failed")["details"]["field"] == "reference"
    resp = client.post("/survey/abc", data={"rating": "5", "comment": "fine\x00"})
    assert assert_error(resp, 422, "validation_failed")["details"]["field"] == "comment"


def test_unstorable_text_in_multipart_data_is_422(client, world):
    headers = world.headers(world.requester)
    before = row_counts()
    resp = client.post(
        f"{API}/tickets",
        data={
            "data": '{"type": "incident", "title": "\\ud800"}',
            "attachments": [(io.BytesIO(b"x"), "x.txt")],
        },
        content_type="multipart/form-data",
        headers=headers,
    )
    assert assert_error(resp, 422, "validation_failed")["details"]["field"] == "title"
    assert row_counts() == before


def test_text_with_ordinary_unicode_is_still_accepted(client, world):
    resp = client.post(
        f"{API}/tickets",
        json={"type": "incident", "title": "Écran noir \U0001f4a5 报告"},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["title"] == "Écran noir \U0001f4a5 报告"


# -- 6: page numbers that are not plain ASCII digits ---------------------------------------

BAD_PAGING = [("page", "--1"), ("page", "²"), ("per_page", "¹"), ("page", "1" * 5000)]


def test_every_list_route_refuses_bad_page_numbers(app, client, world):
    headers = world.headers(world.admin)
    lists = []
    for rule in _routes(app, ("GET",)):
        if rule.arguments:
            continue
        resp = client.get(rule.rule, headers=headers)
        body = resp.get_json(silent=True)
        if resp.status_code == 200 and isinstance(body, dict) and "per_page" in body:
            lists.append(rule.rule)
    assert len(lists) >= 5, lists  # tickets, organizations, users, outbox, login report
    failures = []
    for path in lists:
        for name, value in BAD_PAGING:
            resp = client.get(path, query_string={name: value}, headers=headers)
            try:
                assert assert_error(resp, 422, "validation_failed")["details"]["field"] == name
            except AssertionError as exc:
                failures.append(f"{path}?{name}={value[:10]}: {str(exc)[:200]}")
        ok = client.get(path, query_string={"page": " 2", "per_page": "+10"}, headers=headers)
        if ok.status_code != 200 or ok.get_json()["per_page"] != 10:
            failures.append(f"{path}: plain digits refused: {ok.get_json()}")
    assert not failures, "\n".join(failures)


# -- 7: dates beyond what a datetime holds --------------------------------------------------

OUT_OF_RANGE = [("to", "9999-12-31"), ("from", "0001-01-01T00:00:00+14:00")]


@pytest.mark.parametrize("path", ["/tickets", "/reports/satisfaction", "/reports/logins"])
@pytest.mark.parametrize(("name", "value"), OUT_OF_RANGE)
def test_dates_out_of_range_are_422(client, world, path, name, value):
    resp = client.get(
        f"{API}{path}", query_string={name: value}, headers=world.headers(world.agent)
    )
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"]["field"] == name
    assert "date out of range" in error["message"]


def test_the_last_representable_dates_still_work(client, world):
    headers = world.headers(world.agent)
    for query in ({"to": "9999-12-30"}, {"from": "0001-01-02T00:00:00+14:00"}):
        assert client.get(f"{API}/tickets", query_string=query, headers=headers).status_code == 200


# -- 2: lists are deduplicated and capped; writes stay short; a busy database is 503 ----------


def test_share_list_of_one_address_repeated_shares_once(client, world):
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": ["col@acme.test", " COL@acme.test", "Carl Colleague"] * 1000},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["added"] == ["col@acme.test"]
    assert Share.select().where(Share.ticket == ticket.id).count() == 2  # shared@ + col@
    shared = Event.select().where((Event.ticket == ticket.id) & (Event.kind == "shared"))
    assert sorted(e.to_value for e in shared) == ["col@acme.test", "shared@acme.test"]


def test_share_list_past_the_cap_is_422_naming_field_and_cap(client, world):
    ticket = world.ticket()
    headers = world.headers(world.requester)
    before = row_counts()
    names = [f"user{n}@acme.test" for n in range(51)]
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares", json={"users": names}, headers=headers
    )
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"] == {"field": "users", "max": 50, "count": 51}
    assert "users" in error["message"] and "50" in error["message"]
    assert row_counts() == before


def test_hundred_thousand_entries_are_refused_at_the_door(client, world):
    """The hostile tester's request: one address 100,000 times. Refused before any lookup."""
    ticket = world.ticket()
    headers = world.headers(world.requester)
    before = row_counts()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": ["col@acme.test"] * 100_000},
        headers=headers,
    )
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"] == {"field": "users", "max": 5000, "count": 100_000}
    assert row_counts() == before


def test_too_many_files_or_repeated_query_values_are_422(client, world):
    resp = client.post(
        f"{API}/tickets",
        data={
            "data": json.dumps({"type": "incident", "title": "Many files"}),
            "attachments": [(io.BytesIO(b"x"), f"f{n}.txt") for n in range(21)],
        },
        content_type="multipart/form-data",
        headers=world.headers(world.requester),
    )
    assert assert_error(resp, 422, "validation_failed")["details"] == {
        "field": "attachments",
        "max": 20,
        "count": 21,
    }
    resp = client.get(
        f"{API}/tickets",
        query_string=[("status", "open")] * 21,
        headers=world.headers(world.agent),
    )
    assert assert_error(resp, 422, "validation_failed")["details"] == {
        "field": "status",
        "max": 20,
        "count": 21,
    }


@pytest.fixture
def short_lock_wait(db):
    """Requests reuse the test's open connection: it waits 50 ms for a lock, not 30 s."""
    if is_sqlite():
        database.execute_sql("PRAGMA busy_timeout = 50")
    else:
        database.execute_sql("SET lock_timeout = '50ms'")


def test_busy_database_is_503_with_retry_after_and_changes_nothing(client, world, short_lock_wait):
    ticket = world.ticket(status="open")
    headers = world.headers(world.requester)
    path = f"{API}/tickets/{ticket.reference}/comments"
    before = row_counts()
    with hold_write_lock():
        resp = client.post(path, json={"body": "Any news?"}, headers=headers)
    error = assert_error(resp, 503, "busy")
    assert "busy" in error["message"] and error["details"]["retry_after"] > 0
    assert resp.headers["Retry-After"] == str(error["details"]["retry_after"])
    assert row_counts() == before
    # Once the lock is released, the same request goes through.
    assert client.post(path, json={"body": "Any news?"}, headers=headers).status_code == 201


# -- 3: an attachment's file is in place before the commit, or nothing is committed -----------


def _upload(client, headers, content: bytes, name="log.txt", ref=None):
    path = f"{API}/tickets/{ref}/attachments" if ref else f"{API}/tickets"
    data = {"attachments": [(io.BytesIO(content), name)]}
    if ref is None:
        data["data"] = json.dumps({"type": "incident", "title": "With a file"})
    return client.post(path, data=data, content_type="multipart/form-data", headers=headers)


def test_file_that_cannot_be_stored_leaves_no_ticket(app, client, world):
    content = b"the log the customer attached"
    sha = hashlib.sha256(content).hexdigest()
    root = Path(app.config["ATTACHMENT_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    (root / sha[:2]).write_text("a file where the folder should be")
    headers = world.headers(world.requester)
    before = row_counts()
    resp = _upload(client, headers, content)
    error = assert_error(resp, 503, "storage_unavailable")
    assert "could not be stored" in error["message"]
    assert row_counts() == before  # no ticket to duplicate on retry, no attachment row
    assert list((root / "tmp").iterdir()) == []  # nor a staging file left behind

    (root / sha[:2]).unlink()  # the operator fixes the disk; the retry creates one ticket
    resp = _upload(client, headers, content)
    assert resp.status_code == 201, resp.get_json()
    url = resp.get_json()["attachments"][0]["url"]
    assert fetch(client, url, headers) == content
    assert Ticket.select().count() == before["Ticket"] + 1


def test_file_that_cannot_be_stored_leaves_no_comment_or_attachment(app, client, world):
    ticket = world.ticket(status="open")
    content = b"second file"
    root = Path(app.config["ATTACHMENT_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    (root / hashlib.sha256(content).hexdigest()[:2]).write_text("in the way")
    headers = world.headers(world.requester)
    before = row_counts()
    assert_error(
        _upload(client, headers, content, ref=ticket.reference), 503, "storage_unavailable"
    )
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/comments",
        data={
            "data": json.dumps({"body": "see file"}),
            "attachments": [(io.BytesIO(content), "x.txt")],
        },
        content_type="multipart/form-data",
        headers=headers,
    )
    assert_error(resp, 503, "storage_unavailable")
    assert row_counts() == before


def test_attachment_whose_file_is_lost_is_410_not_500(app, client, world):
    headers = world.headers(world.requester)
    created = _upload(client, headers, b"soon gone").get_json()
    [attachment] = created["attachments"]
    blob = Path(app.config["ATTACHMENT_DIR"]) / attachment["sha256"][:2]
    (blob / attachment["sha256"]).unlink()
    resp = client.get(attachment["url"], headers=headers)
    error = assert_error(resp, 410, "gone")
    assert "missing from storage" in error["message"]
    assert error["details"]["filename"] == "log.txt"
    # The ticket itself still shows.
    assert client.get(f"{API}/tickets/{created['reference']}", headers=headers).status_code == 200


def test_stale_staging_files_are_removed_at_start(env):
    staging = load_settings().attachment_dir / "tmp"
    staging.mkdir(parents=True)
    stale, fresh = staging / "tmpcrashed", staging / "tmpuploading"
    stale.write_bytes(b"half an upload from a crashed server")
    fresh.write_bytes(b"another process is writing this one now")
    old = time.time() - STALE_STAGING_SECONDS - 60
    os.utime(stale, (old, old))
    create_app({"TESTING": True})
    if not database.is_closed():
        database.close()
    assert not stale.exists()
    assert fresh.exists()


# -- 9: internal attachments never show in public names -------------------------------------


def _note_with_file(client, ref, headers, name, content, internal=True):
    resp = client.post(
        f"{API}/tickets/{ref}/comments",
        data={
            "data": json.dumps({"body": "see file", "internal": internal}),
            "attachments": [(io.BytesIO(content), name)],
        },
        content_type="multipart/form-data",
        headers=headers,
    )
    assert resp.status_code == 201, resp.get_json()


def test_public_upload_is_named_as_if_internal_files_did_not_exist(client, world):
    ticket = world.ticket(status="open")
    ref = ticket.reference
    agent, customer = world.headers(world.agent), world.headers(world.requester)
    _note_with_file(client, ref, agent, "report.pdf", b"internal analysis")
    _note_with_file(client, ref, agent, "report-2.pdf", b"internal second")

    resp = _upload(client, customer, b"customer report", name="report.pdf", ref=ref)
    assert resp.status_code == 201, resp.get_json()
    assert [a["filename"] for a in resp.get_json()["attachments"]] == ["report.pdf"]
    resp = _upload(client, customer, b"customer again", name="report.pdf", ref=ref)
    assert [a["filename"] for a in resp.get_json()["attachments"]] == [
        "report.pdf",
        "report-2.pdf",
    ]
    url = f"{API}/tickets/{ref}/attachments/"
    assert fetch(client, url + "report.pdf", customer) == b"customer report"
    assert fetch(client, url + "report-2.pdf", customer) == b"customer again"

    # Staff still reach every file; the internal ones moved aside, and the history says so.
    seen = client.get(f"{API}/tickets/{ref}", headers=agent).get_json()
    by_name = {a["filename"]: a for a in seen["attachments"]}
    assert len(by_name) == 4
    internal = {
        fetch(client, url + name, agent)
        for name, a in by_name.items()
        if a["comment_id"] is not None
    }
    assert internal == {b"internal analysis", b"internal second"}
    moves = [
        (e["from"], e["to"])
        for e in seen["events"]
        if e["kind"] == "internal_attachment" and e["from"]
    ]
    assert moves and all(old in ("report.pdf", "report-2.pdf") for old, _ in moves)
    # The customer sees neither the internal files nor their moves.
    mine = client.get(f"{API}/tickets/{ref}", headers=customer).get_json()
    assert sorted(a["filename"] for a in mine["attachments"]) == ["report-2.pdf", "report.pdf"]
    assert "internal_attachment" not in {e["kind"] for e in mine["events"]}


def test_internal_upload_still_avoids_every_name(client, world):
    ticket = world.ticket(status="open")
    ref = ticket.reference
    agent = world.headers(world.agent)
    _upload(client, world.headers(world.requester), b"public", name="a.txt", ref=ref)
    _note_with_file(client, ref, agent, "a.txt", b"internal")
    names = sorted(a.filename for a in Attachment.select().where(Attachment.ticket == ticket.id))
    assert names == ["a-2.txt", "a.txt"]
    internal = (
        Attachment.select()
        .join(Comment)
        .where((Attachment.ticket == ticket.id) & (Comment.visibility == "internal"))
        .get()
    )
    assert internal.filename == "a-2.txt"


def test_an_email_address_our_mail_cannot_carry_is_refused_not_a_500(client):
    """Mail goes out without SMTPUTF8: an address outside ASCII is refused where it is given,
    not when a message to it is written."""
    for address in ("josé@example.test", "\u00a2h&F\u00b4o\u00ba@x.test"):
        response = client.post("/api/v1/account/password-reset", json={"email": address})
        assert response.status_code == 422, address
        assert response.get_json()["error"]["details"]["field"] == "email"

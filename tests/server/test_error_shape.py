"""Every API failure is JSON {"error": {"code", "message", "details"}}: never HTML, never 500."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from helpdesk.db import database
from helpdesk.models import (
    ApiToken,
    Attachment,
    Comment,
    Event,
    Membership,
    Organization,
    Share,
    Ticket,
    User,
)
from helpdesk.server import create_app
from helpdesk.services import api_tokens

API = "/api/v1"


def assert_error(resp, status: int, code: str) -> dict:
    """The response is the one error shape with this status and code; returns the error object."""
    text = resp.get_data(as_text=True)
    assert resp.status_code == status, text
    assert resp.mimetype == "application/json", text
    assert not text.lstrip().startswith("<"), text
    assert "<html" not in text.lower()
    assert "Traceback" not in text
    body = resp.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert isinstance(error["details"], dict), error
    return error


ROW_MODELS = (User, Organization, Membership, Ticket, Share, Comment, Attachment, Event, ApiToken)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.select().count() for model in ROW_MODELS}


# -- 400: the request itself is malformed ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"type": "incident", "title": "trailing comma",}', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        ("", "application/json"),
        ("null", "application/json"),
    ],
    ids=["broken", "trailing-comma", "not-utf8", "empty", "null"],
)
def test_body_that_is_not_json_is_400(client, world, data, content_type):
    resp = client.post(
        f"{API}/tickets",
        data=data,
        content_type=content_type,
        headers=world.headers(world.requester),
    )
    assert_error(resp, 400, "bad_request")


@pytest.mark.parametrize("body", [[], [1, 2], "a string", 42, 1.5, True], ids=repr)
def test_json_that_is_not_an_object_is_400(client, world, body):
    resp = client.post(f"{API}/tickets", json=body, headers=world.headers(world.requester))
    error = assert_error(resp, 400, "bad_request")
    assert "object" in error["message"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"type": "incident", "title": "x"}', "text/plain"),
        ("type=incident&title=x", "application/x-www-form-urlencoded"),
        ('{"type": "incident", "title": "x"}', None),
    ],
    ids=["text-plain", "form-urlencoded", "no-content-type"],
)
def test_wrong_content_type_is_400(client, world, data, content_type):
    kwargs = {"content_type": content_type} if content_type else {}
    resp = client.post(
        f"{API}/tickets", data=data, headers=world.headers(world.requester), **kwargs
    )
    assert_error(resp, 400, "bad_request")


def test_wrong_content_type_on_login_is_400(client, db):
    resp = client.post(
        f"{API}/auth/login", data="email=a@b.test&password=x", content_type="text/plain"
    )
    assert_error(resp, 400, "bad_request")


@pytest.mark.parametrize("raw", ["null", "[]", "[1]", '"text"', "7", "{", ""])
def test_multipart_data_field_that_is_not_a_json_object_is_400(client, world, raw):
    resp = client.post(
        f"{API}/tickets",
        data={"data": raw, "attachments": [(io.BytesIO(b"hello"), "hello.txt")]},
        content_type="multipart/form-data",
        headers=world.headers(world.requester),
    )
    assert_error(resp, 400, "bad_request")
    assert Ticket.select().count() == 0


def test_deeply_nested_json_body_is_400_not_500(client, world):
    depth = 100_000
    resp = client.post(
        f"{API}/tickets",
        data="[" * depth + "]" * depth,
        content_type="application/json",
        headers=world.headers(world.requester),
    )
    assert_error(resp, 400, "bad_request")


def test_deeply_nested_multipart_data_field_is_400_not_500(client, world):
    depth = 20_000  # ~100 kB: under the form-field memory limit, far over the recursion limit
    resp = client.post(
        f"{API}/tickets",
        data={"data": '{"a":' * depth + "1" + "}" * depth},
        content_type="multipart/form-data",
        headers=world.headers(world.requester),
    )
    assert_error(resp, 400, "bad_request")


# -- 401: who is calling? --------------------------------------------------------------------


def test_no_token_is_401_with_challenge(client, db):
    resp = client.get(f"{API}/me")
    assert_error(resp, 401, "authentication_required")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


MALFORMED_HEADERS = [
    "hd_abc",
    "Bearer",
    "Bearer ",
    "Bearer    ",
    "Basic dXNlcjpwYXNz",
    "Token hd_abc",
    "bearer",
]


def test_malformed_authorization_header_is_401(client, db):
    for header in MALFORMED_HEADERS:
        resp = client.get(f"{API}/me", headers={"Authorization": header})
        assert_error(resp, 401, "authentication_required")


def test_unknown_token_is_401(client, db):
    resp = client.get(f"{API}/me", headers={"Authorization": "Bearer hd_not-a-real-token"})
    assert_error(resp, 401, "authentication_required")


def test_token_revoked_by_logout_is_401(client, world):
    headers = world.headers(world.requester)
    assert client.post(f"{API}/auth/logout", headers=headers).status_code == 200
    assert_error(client.get(f"{API}/me", headers=headers), 401, "authentication_required")
    assert_error(client.post(f"{API}/auth/logout", headers=headers), 401, "authentication_required")


def test_token_of_deactivated_user_is_401(client, world):
    headers = world.headers(world.requester)
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    User.update(active=False).where(User.id == world.requester.id).execute()
    assert_error(client.get(f"{API}/me", headers=headers), 401, "authentication_required")
    assert_error(client.get(f"{API}/tickets", headers=headers), 401, "authentication_required")


def test_expired_token_is_401(client, world):
    raw = api_tokens.issue_token(world.requester, expires_at=datetime(2000, 1, 1))
    resp = client.get(f"{API}/me", headers={"Authorization": f"Bearer {raw}"})
    assert_error(resp, 401, "authentication_required")


PROTECTED = [
    ("GET", "/me"),
    ("POST", "/auth/logout"),
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/1"),
    ("GET", "/organizations"),
    ("POST", "/organizations"),
    ("GET", "/organizations/1"),
    ("POST", "/memberships"),
    ("GET", "/tickets"),
    ("POST", "/tickets"),
    ("GET", "/tickets/HD-1"),
    ("GET", "/tickets/HD-1/comments"),
    ("POST", "/tickets/HD-1/comments"),
    ("GET", "/tickets/HD-1/comments/1"),
    ("POST", "/tickets/HD-1/attachments"),
    ("GET", "/tickets/HD-1/attachments/a.txt"),
    ("POST", "/tickets/HD-1/shares"),
    ("POST", "/tickets/HD-1/assign"),
    ("POST", "/tickets/HD-1/transition"),
    ("POST", "/tickets/HD-1/close"),
    ("POST", "/tickets/HD-1/reopen"),
]


def test_every_endpoint_but_health_and_login_needs_a_token(client, world):
    """An anonymous caller is told to authenticate before anything about the body."""
    world.ticket()
    failures = []
    for method, path in PROTECTED:
        kwargs = {"json": {}} if method == "POST" else {}
        resp = client.open(f"{API}{path}", method=method, **kwargs)
        try:
            assert_error(resp, 401, "authentication_required")
        except AssertionError:
            failures.append(f"{method} {path} -> {resp.status_code} {resp.get_json()}")
    assert not failures, "\n".join(failures)
    assert Organization.select().count() == 2


def test_health_and_login_need_no_token(client, db):
    assert client.get(f"{API}/health").status_code == 200
    resp = client.post(f"{API}/auth/login", json={"email": "nobody@x.test", "password": "x" * 12})
    assert_error(resp, 401, "authentication_required")


# -- 403: known caller, not allowed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "method", "path", "body"),
    [
        ("agent", "POST", "/users", {"email": "new@acme.test", "name": "New"}),
        ("requester", "GET", "/users", None),
        ("power", "GET", "/organizations", None),
        ("agent", "POST", "/organizations", {"name": "Initech"}),
        ("requester", "POST", "/tickets/{ref}/comments", {"body": "psst", "internal": True}),
        ("requester", "POST", "/tickets/{ref}/assign", {"assignee": "me"}),
        ("agent", "POST", "/tickets", {"type": "incident", "title": "for whom?"}),
    ],
)
def test_not_allowed_is_403(client, world, who, method, path, body):
    ticket = world.ticket()
    kwargs = {"json": body} if body is not None else {}
    resp = client.open(
        f"{API}{path.format(ref=ticket.reference)}",
        method=method,
        headers=world.headers(getattr(world, who)),
        **kwargs,
    )
    assert_error(resp, 403, "permission_denied")


# -- 404: nothing there (or nothing the caller may see) ------------------------------------


def test_unknown_url_is_404_json(client, world):
    # (/ is the web portal's home now; an unknown page outside /api/ is an HTML 404 page.)
    for path in ["/api/v1/nope", "/api/v2/tickets", "/api/v1/tickets/", "/api/v1/tickets/1/x"]:
        resp = client.get(path, headers=world.headers(world.agent))
        assert_error(resp, 404, "not_found")


def test_unknown_ticket_is_404(client, world):
    world.ticket()
    headers = world.headers(world.agent)
    for reference in ["HD-999", "999", "HD-abc", "XY-1", "HD-99999999999999999999", "HD--1"]:
        resp = client.get(f"{API}/tickets/{reference}", headers=headers)
        error = assert_error(resp, 404, "not_found")
        assert error["details"]["reference"] == reference


@pytest.mark.parametrize(
    ("who", "private"),
    [("colleague", False), ("other_power", False), ("power", True), ("colleague", True)],
)
def test_ticket_the_caller_may_not_see_is_404_like_a_missing_one(client, world, who, private):
    ticket = world.ticket(private=private)
    headers = world.headers(getattr(world, who))
    hidden = assert_error(
        client.get(f"{API}/tickets/{ticket.reference}", headers=headers), 404, "not_found"
    )
    missing = assert_error(client.get(f"{API}/tickets/HD-999", headers=headers), 404, "not_found")
    assert hidden["message"] == missing["message"].replace("HD-999", ticket.reference)
    for path, body in [
        ("comments", {"body": "hello"}),
        ("shares", {"users": ["col@acme.test"]}),
        ("close", {}),
        ("reopen", {"comment": "again"}),
        ("transition", {"to": "closed"}),
    ]:
        resp = client.post(f"{API}/tickets/{ticket.reference}/{path}", json=body, headers=headers)
        assert_error(resp, 404, "not_found")
    resp = client.get(f"{API}/tickets/{ticket.reference}/comments", headers=headers)
    assert_error(resp, 404, "not_found")


def test_unknown_attachment_is_404(client, world):
    ticket = world.ticket()
    resp = client.get(
        f"{API}/tickets/{ticket.reference}/attachments/nothing.txt",
        headers=world.headers(world.requester),
    )
    error = assert_error(resp, 404, "not_found")
    assert error["details"]["filename"] == "nothing.txt"


def test_unknown_comment_is_404(client, world):
    ticket = world.ticket()
    resp = client.get(
        f"{API}/tickets/{ticket.reference}/comments/12345", headers=world.headers(world.agent)
    )
    assert_error(resp, 404, "not_found")


@pytest.mark.parametrize("resource", ["users", "organizations"])
@pytest.mark.parametrize("ident", ["999", "99999999999999999999999"])
def test_unknown_user_or_organization_is_404(client, world, resource, ident):
    resp = client.get(f"{API}/{resource}/{ident}", headers=world.headers(world.admin))
    assert_error(resp, 404, "not_found")


def test_unknown_organization_filter_is_404(client, world):
    resp = client.get(
        f"{API}/tickets",
        query_string={"organization": "Nowhere"},
        headers=world.headers(world.agent),
    )
    assert_error(resp, 404, "not_found")


# -- 405: wrong method -------------------------------------------------------------------------


def test_wrong_method_is_405_with_allow(client, world):
    headers = world.headers(world.agent)
    for method, path, allowed in [
        ("DELETE", "/tickets", {"GET", "POST"}),
        ("PUT", "/tickets/HD-1", {"GET", "PATCH"}),
        ("GET", "/auth/login", {"POST"}),
        ("POST", "/health", {"GET"}),
        ("DELETE", "/tickets/HD-1/comments", {"GET", "POST"}),
        ("GET", "/tickets/HD-1/close", {"POST"}),
    ]:
        resp = client.open(f"{API}{path}", method=method, headers=headers)
        assert_error(resp, 405, "method_not_allowed")
        allow = {m.strip() for m in resp.headers["Allow"].split(",")}
        assert allowed <= allow, (method, path, allow)
        assert method not in allow


# -- 409: the request conflicts with the current state --------------------------------------


@pytest.mark.parametrize(
    ("status", "to"),
    [("new", "pending"), ("new", "resolved"), ("closed", "open"), ("open", "open")],
)
def test_invalid_transition_is_409(client, world, status, to):
    ticket = world.ticket(status=status)
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/transition",
        json={"to": to},
        headers=world.headers(world.agent),
    )
    error = assert_error(resp, 409, "invalid_transition")
    assert error["details"]["from"] == status
    assert error["details"]["to"] == to
    assert Ticket.get_by_id(ticket.id).status == status


def test_reopening_a_ticket_that_is_not_resolved_is_409(client, world):
    ticket = world.ticket(status="open")
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/reopen",
        json={"comment": "still broken"},
        headers=world.headers(world.requester),
    )
    assert_error(resp, 409, "invalid_transition")


@pytest.mark.parametrize("name", ["Acme", "acme", "  ACME  "])
def test_duplicate_organization_is_409(client, world, name):
    resp = client.post(
        f"{API}/organizations", json={"name": name}, headers=world.headers(world.admin)
    )
    assert_error(resp, 409, "conflict")
    assert Organization.select().count() == 2


@pytest.mark.parametrize("email", ["req@acme.test", "REQ@Acme.Test"])
def test_duplicate_user_is_409(client, world, email):
    resp = client.post(
        f"{API}/users", json={"email": email, "name": "Again"}, headers=world.headers(world.admin)
    )
    error = assert_error(resp, 409, "conflict")
    assert error["details"]["email"] == "req@acme.test"


@pytest.mark.parametrize("who", ["requester", "agent"])
def test_comment_on_closed_ticket_is_409(client, world, who):
    ticket = world.ticket(status="closed")
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/comments",
        json={"body": "one more thing"},
        headers=world.headers(getattr(world, who)),
    )
    assert_error(resp, 409, "conflict")
    assert Comment.select().count() == 0


def test_assigning_or_attaching_to_a_closed_ticket_is_409(client, world):
    ticket = world.ticket(status="closed")
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/assign",
        json={"assignee": "me"},
        headers=world.headers(world.agent),
    )
    assert_error(resp, 409, "conflict")
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/attachments",
        data={"attachments": [(io.BytesIO(b"late"), "late.txt")]},
        content_type="multipart/form-data",
        headers=world.headers(world.requester),
    )
    assert_error(resp, 409, "conflict")


# -- 413: too large -----------------------------------------------------------------------------

LIMIT = 1024


@pytest.fixture
def small_app(env):
    """The app with a 1 KiB attachment limit."""
    application = create_app({"TESTING": True, "MAX_ATTACHMENT_SIZE": LIMIT})
    yield application
    if not database.is_closed():
        database.close()


class TestTooLarge:
    @pytest.fixture
    def app(self, small_app):
        return small_app

    def test_attachment_over_the_limit_is_413_and_stores_nothing(self, app, client, world, env):
        before = row_counts()
        resp = client.post(
            f"{API}/tickets",
            data={
                "data": json.dumps({"type": "incident", "title": "big log"}),
                "attachments": [(io.BytesIO(b"x" * (LIMIT + 1)), "big.log")],
            },
            content_type="multipart/form-data",
            headers=world.headers(world.requester),
        )
        error = assert_error(resp, 413, "payload_too_large")
        assert error["details"]["limit"] == LIMIT
        counts = row_counts()
        counts["ApiToken"] -= 1  # the token world.headers issued
        assert counts == before
        blobs = env / "data" / "attachments"
        assert not [p for p in blobs.rglob("*") if p.is_file()]

    def test_attachment_exactly_at_the_limit_is_accepted(self, client, world):
        resp = client.post(
            f"{API}/tickets",
            data={
                "data": json.dumps({"type": "incident", "title": "log"}),
                "attachments": [(io.BytesIO(b"x" * LIMIT), "ok.log")],
            },
            content_type="multipart/form-data",
            headers=world.headers(world.requester),
        )
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["attachments"][0]["size"] == LIMIT

    def test_second_attachment_over_the_limit_rolls_back_the_whole_submit(self, client, world, env):
        headers = world.headers(world.requester)
        before = row_counts()
        resp = client.post(
            f"{API}/tickets",
            data={
                "data": json.dumps({"type": "incident", "title": "two logs"}),
                "attachments": [
                    (io.BytesIO(b"small"), "small.log"),
                    (io.BytesIO(b"y" * (LIMIT * 2)), "big.log"),
                ],
            },
            content_type="multipart/form-data",
            headers=headers,
        )
        assert_error(resp, 413, "payload_too_large")
        assert row_counts() == before
        # The first file, already read, is not left behind either.
        blobs = env / "data" / "attachments"
        assert not [p for p in blobs.rglob("*") if p.is_file()]

    def test_comment_attachment_over_the_limit_adds_no_comment(self, client, world):
        ticket = world.ticket(status="open")
        headers = world.headers(world.agent)
        before = row_counts()
        resp = client.post(
            f"{API}/tickets/{ticket.reference}/comments",
            data={
                "data": json.dumps({"body": "see attached", "internal": True}),
                "attachments": [(io.BytesIO(b"z" * (LIMIT + 100)), "dump.bin")],
            },
            content_type="multipart/form-data",
            headers=headers,
        )
        assert_error(resp, 413, "payload_too_large")
        assert row_counts() == before

    def test_request_over_max_content_length_is_413(self, app, client, world):
        headers = world.headers(world.requester)
        # The documented budget: four attachments at the limit plus 1 MiB for the rest.
        budget = 4 * LIMIT + 1024 * 1024
        resp = client.post(
            f"{API}/tickets",
            data=json.dumps({"type": "incident", "title": "x", "description": "d" * budget}),
            content_type="application/json",
            headers=headers,
        )
        assert_error(resp, 413, "payload_too_large")
        # Encoded up front: the test client's own spooled upload file would otherwise stay open.
        boundary, payload = encode_multipart(
            {
                "data": json.dumps({"type": "incident", "title": "many files"}),
                "attachments": [
                    FileStorage(io.BytesIO(b"f" * (budget // 2)), filename=f"f{i}.bin")
                    for i in range(3)
                ],
            }
        )
        resp = client.post(
            f"{API}/tickets",
            data=payload,
            content_type=f"multipart/form-data; boundary={boundary}",
            headers=headers,
        )
        assert_error(resp, 413, "payload_too_large")
        assert Ticket.select().count() == 0


# -- 422: well-formed request, invalid values -----------------------------------------------


def _post(client, world, who, path, body, ticket=None):
    ticket = ticket or world.ticket(status="resolved")
    return client.post(
        f"{API}{path.format(ref=ticket.reference)}",
        json=body,
        headers=world.headers(getattr(world, who)),
    )


@pytest.mark.parametrize(
    ("who", "path", "body", "missing"),
    [
        ("requester", "/tickets", {}, ["title", "type"]),
        ("requester", "/tickets", {"type": "incident"}, ["title"]),
        ("requester", "/tickets", {"type": "incident", "title": ""}, ["title"]),
        ("requester", "/tickets", {"type": None, "title": "x"}, ["type"]),
        ("requester", "/tickets/{ref}/comments", {}, ["body"]),
        ("requester", "/tickets/{ref}/shares", {}, ["users"]),
        ("agent", "/tickets/{ref}/assign", {}, ["assignee"]),
        ("agent", "/tickets/{ref}/transition", {"comment": "why"}, ["to"]),
        ("requester", "/tickets/{ref}/reopen", {}, ["comment"]),
        ("admin", "/organizations", {}, ["name"]),
        ("admin", "/users", {"email": "x@acme.test"}, ["name"]),
        ("admin", "/users", {}, ["email", "name"]),
        ("admin", "/memberships", {"email": "col@acme.test"}, ["organization"]),
    ],
)
def test_missing_fields_are_422(client, world, who, path, body, missing):
    error = assert_error(_post(client, world, who, path, body), 422, "validation_failed")
    assert error["details"]["missing"] == missing


def test_missing_login_fields_are_422(client, db):
    resp = client.post(f"{API}/auth/login", json={"email": "a@b.test"})
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"]["missing"] == ["password"]


def test_attachments_endpoint_without_files_is_422(client, world):
    ticket = world.ticket(status="open")
    headers = world.headers(world.requester)
    for kwargs in (
        {"json": {}},
        {"data": {"data": "{}"}, "content_type": "multipart/form-data"},
    ):
        resp = client.post(
            f"{API}/tickets/{ticket.reference}/attachments", headers=headers, **kwargs
        )
        assert_error(resp, 422, "validation_failed")
    assert Event.select().where(Event.kind == "attachment").count() == 0


@pytest.mark.parametrize(
    ("who", "path", "body", "unknown"),
    [
        (
            "requester",
            "/tickets",
            {"type": "incident", "title": "x", "severity": "high"},
            ["severity"],
        ),
        ("requester", "/tickets", {"type": "incident", "title": "x", "status": "open"}, ["status"]),
        (
            "requester",
            "/tickets/{ref}/comments",
            {"body": "x", "visibility": "public"},
            ["visibility"],
        ),
        ("agent", "/tickets/{ref}/transition", {"to": "open", "force": True}, ["force"]),
        ("admin", "/organizations", {"name": "Initech", "id": 7}, ["id"]),
        ("admin", "/users", {"email": "n@acme.test", "name": "N", "admin": True}, ["admin"]),
    ],
)
def test_unknown_fields_are_422(client, world, who, path, body, unknown):
    before = Ticket.select().count()
    error = assert_error(_post(client, world, who, path, body), 422, "validation_failed")
    assert error["details"]["unknown"] == unknown
    assert "allowed" in error["details"]
    assert Ticket.select().count() == before + 1  # only the ticket this test set up


def test_unknown_field_in_multipart_data_is_422(client, world):
    resp = client.post(
        f"{API}/tickets",
        data={"data": json.dumps({"type": "incident", "title": "x", "owner": "me"})},
        content_type="multipart/form-data",
        headers=world.headers(world.requester),
    )
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"]["unknown"] == ["owner"]


@pytest.mark.parametrize(
    ("who", "path", "body"),
    [
        ("requester", "/tickets", {"type": "incident", "title": 42}),
        ("requester", "/tickets", {"type": "incident", "title": ["x"]}),
        ("requester", "/tickets", {"type": "incident", "title": "   "}),
        ("requester", "/tickets", {"type": "incident", "title": "x" * 201}),
        ("requester", "/tickets", {"type": "incident", "title": "x", "description": 7}),
        ("requester", "/tickets", {"type": "incident", "title": "x", "private": "true"}),
        ("requester", "/tickets", {"type": "incident", "title": "x", "private": 1}),
        ("requester", "/tickets", {"type": "incident", "title": "x", "organization": 3}),
        ("requester", "/tickets", {"type": "incident", "title": "x", "organization": "Globex"}),
        ("requester", "/tickets/{ref}/shares", {"users": "sheila shared"}),
        ("requester", "/tickets/{ref}/shares", {"users": []}),
        ("requester", "/tickets/{ref}/shares", {"users": [None]}),
        ("requester", "/tickets/{ref}/shares", {"users": [{"email": "col@acme.test"}]}),
        ("requester", "/tickets/{ref}/comments", {"body": 12}),
        ("requester", "/tickets/{ref}/comments", {"body": "x", "internal": "no"}),
        ("requester", "/tickets/{ref}/close", {"rating": "five"}),
        ("requester", "/tickets/{ref}/close", {"rating": "4"}),
        ("requester", "/tickets/{ref}/close", {"rating": 9}),
        ("requester", "/tickets/{ref}/close", {"rating": 0}),
        ("requester", "/tickets/{ref}/close", {"rating": 4.5}),
        ("requester", "/tickets/{ref}/close", {"rating": True}),
        ("requester", "/tickets/{ref}/close", {"rating": 3, "comment": 5}),
        ("requester", "/tickets/{ref}/reopen", {"comment": 5}),
        ("requester", "/tickets/{ref}/reopen", {"comment": "   "}),
        ("agent", "/tickets/{ref}/assign", {"assignee": ["me"]}),
        ("agent", "/tickets/{ref}/transition", {"to": 3}),
        ("agent", "/tickets/{ref}/transition", {"to": "closed", "comment": {"a": 1}}),
        ("admin", "/organizations", {"name": 5}),
        ("admin", "/organizations", {"name": "n" * 201}),
        ("admin", "/users", {"email": "not-an-email", "name": "X"}),
        ("admin", "/users", {"email": 5, "name": "X"}),
        ("admin", "/users", {"email": "x@acme.test", "name": "X", "password": "short"}),
        ("admin", "/users", {"email": "x@acme.test", "name": "X", "password": 1234567890123}),
        (
            "admin",
            "/users",
            {"email": "x@acme.test", "name": "X", "kind": "agent", "organization": "Acme"},
        ),
        ("admin", "/users", {"email": "x@acme.test", "name": "X", "language": "xx"}),
        ("admin", "/memberships", {"organization": "Acme", "email": "agent@example.test"}),
    ],
)
def test_wrong_types_and_values_are_422(client, world, who, path, body):
    ticket = world.ticket(status="resolved")
    before = row_counts()
    resp = _post(client, world, who, path, body, ticket=ticket)
    assert_error(resp, 422, "validation_failed")
    after = row_counts()
    after["ApiToken"] -= 1
    assert after == before
    assert Ticket.get_by_id(ticket.id).status == "resolved"


@pytest.mark.parametrize(
    ("who", "path", "body", "field"),
    [
        ("requester", "/tickets", {"type": "bug", "title": "x"}, "type"),
        ("requester", "/tickets", {"type": "incident", "title": "x", "impact": "huge"}, "impact"),
        ("requester", "/tickets", {"type": "incident", "title": "x", "urgency": "asap"}, "urgency"),
        ("requester", "/tickets", {"type": "INCIDENT", "title": "x"}, "type"),
        ("agent", "/tickets/{ref}/transition", {"to": "done"}, "status"),
        ("admin", "/users", {"email": "x@acme.test", "name": "X", "role": "owner"}, "role"),
        ("admin", "/users", {"email": "x@acme.test", "name": "X", "kind": "superuser"}, "kind"),
        (
            "admin",
            "/memberships",
            {"organization": "Acme", "email": "col@acme.test", "role": "boss"},
            "role",
        ),
    ],
)
def test_unknown_enum_values_are_422_and_list_the_choices(client, world, who, path, body, field):
    error = assert_error(_post(client, world, who, path, body), 422, "validation_failed")
    assert error["details"]["field"] == field
    assert error["details"]["allowed"]


BAD_QUERIES = [
    ("/tickets", {"page": "0"}, "page"),
    ("/tickets", {"page": "-1"}, "page"),
    ("/tickets", {"page": "abc"}, "page"),
    ("/tickets", {"page": "1.5"}, "page"),
    ("/tickets", {"per_page": "1000"}, "per_page"),
    ("/tickets", {"per_page": "0"}, "per_page"),
    ("/tickets", {"per_page": "101"}, "per_page"),
    ("/users", {"per_page": "1000"}, "per_page"),
    ("/organizations", {"page": "0"}, "page"),
    ("/tickets", {"status": "done"}, "status"),
    ("/tickets", {"type": "bug"}, "type"),
    ("/tickets", {"scope": "all"}, "scope"),
    ("/users", {"kind": "robot"}, "kind"),
    ("/tickets", {"from": "yesterday"}, "from"),
    ("/tickets", {"from": "2026-13-01"}, "from"),
    ("/tickets", {"from": "31/01/2026"}, "from"),
    ("/tickets", {"to": "2026-02-30"}, "to"),
    ("/tickets", {"to": "tomorrow"}, "to"),
    ("/tickets", {"q": "x" * 201}, "text"),
]


@pytest.mark.parametrize("who", ["agent", "requester"])
def test_bad_query_parameters_are_422(client, world, who):
    headers = world.headers(getattr(world, who))
    for path, query, field in BAD_QUERIES:
        if who == "requester" and path != "/tickets":
            continue  # customers are refused those lists before their parameters are read
        resp = client.get(f"{API}{path}", query_string=query, headers=headers)
        error = assert_error(resp, 422, "validation_failed")
        assert error["details"]["field"] == field, query


def test_bad_status_among_several_is_422(client, world):
    resp = client.get(
        f"{API}/tickets",
        query_string=[("status", "open"), ("status", "nope")],
        headers=world.headers(world.agent),
    )
    assert_error(resp, 422, "validation_failed")


def test_ambiguous_name_is_422_with_candidates(client, world):
    twin = User.create(email="carl2@acme.test", name="Carl Colleague")
    Membership.create(user=twin, organization=world.acme)
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": ["carl colleague"]},
        headers=world.headers(world.requester),
    )
    error = assert_error(resp, 422, "validation_failed")
    assert error["details"]["candidates"] == ["carl2@acme.test", "col@acme.test"]


# -- 500: the last resort keeps the shape and hides the traceback ----------------------------


def test_unexpected_error_is_500_without_traceback(app, client, world):
    def boom():
        raise RuntimeError("secret internals /etc/shadow")

    app.add_url_rule(f"{API}/boom", "boom", boom)
    resp = client.get(f"{API}/boom", headers=world.headers(world.agent))
    error = assert_error(resp, 500, "internal_error")
    assert "secret" not in resp.get_data(as_text=True)
    assert error["details"] == {}


# -- bad input never gives a 500, and a refused write changes nothing -------------------------

BAD_VALUES = [
    None,
    [],
    [None],
    ["x", 1],
    {},
    {"nested": {"deeper": [1, {"x": None}]}},
    0,
    -1,
    10**30,
    1.5,
    True,
    "",
    "   ",
    "\x00",
    "x" * 300_000,
    "\U0001f4a5" * 500,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%_%",
]

WHOLE_BODIES = [None, [], [{"title": "x"}], 0, 1.5, "text", True]

# endpoint -> (caller, a valid body each bad value is put into, field by field)
WRITE_ENDPOINTS = {
    "/auth/login": (None, {"email": "nobody@acme.test", "password": "p" * 12, "token_name": "t"}),
    "/users": (
        "admin",
        {
            "email": "new{n}@acme.test",  # {n}: a fresh value for every request
            "name": "New Person",
            "kind": "customer",
            "password": None,
            "organization": "Acme",
            "role": "user",
            "language": "en",
        },
    ),
    "/organizations": ("admin", {"name": "Initech {n}"}),
    "/memberships": ("admin", {"organization": "Globex", "email": "col@acme.test", "role": "user"}),
    "/tickets": (
        "requester",
        {
            "type": "incident",
            "title": "Printer on fire",
            "description": "Smoke.",
            "impact": "high",
            "urgency": "low",
            "organization": "Acme",
            "private": False,
        },
    ),
    "/tickets#on-behalf": (
        "agent",
        {"type": "question", "title": "Phoned in", "requester": "col@acme.test"},
    ),
    "/tickets/{ref}/comments": ("agent", {"body": "Looking into it.", "internal": False}),
    "/tickets/{ref}/attachments": ("requester", {}),
    "/tickets/{ref}/shares": ("requester", {"users": ["col@acme.test"]}),
    "/tickets/{ref}/assign": ("agent", {"assignee": "agent@example.test"}),
    "/tickets/{ref}/transition": ("agent", {"to": "open", "comment": "Back to work."}),
    "/tickets/{ref}/close": ("requester", {"rating": 4, "comment": "Thanks."}),
    "/tickets/{ref}/reopen": ("requester", {"comment": "It broke again."}),
}


def _send(client, world, endpoint, body, *, raw=None):
    who, _ = WRITE_ENDPOINTS[endpoint]
    path = endpoint.split("#")[0]
    if "{ref}" in path:
        path = path.format(ref=world.ticket(status="resolved").reference)
    headers = world.headers(getattr(world, who)) if who else {}
    # Count after setting up, so that only the request itself is measured.
    before = row_counts()
    if raw is not None:
        resp = client.post(
            f"{API}{path}", data=raw, content_type="application/json", headers=headers
        )
    else:
        resp = client.post(f"{API}{path}", json=body, headers=headers)
    return resp, before


@pytest.mark.parametrize("endpoint", list(WRITE_ENDPOINTS))
def test_body_that_is_not_an_object_never_gives_500(client, world, endpoint):
    for body in WHOLE_BODIES:
        resp, before = _send(client, world, endpoint, None, raw=json.dumps(body))
        assert_error(resp, 400, "bad_request")
        assert row_counts() == before, body


@pytest.mark.parametrize("endpoint", list(WRITE_ENDPOINTS))
def test_bad_field_values_never_give_500_nor_half_writes(client, world, endpoint):
    """Each field of a valid body in turn gets each bad value; collect every failure."""
    _, valid = WRITE_ENDPOINTS[endpoint]
    fields = list(valid) or ["data"]
    values = BAD_VALUES
    if endpoint == "/auth/login":
        # Text that passes validation costs a password check each time: keep two such values.
        values = [v for v in BAD_VALUES if not isinstance(v, str)] + ["", "x" * 300_000]
    failures = []
    cases = [(field, value) for field in fields for value in values]
    for n, (field, value) in enumerate(cases):
        fresh = {k: v.format(n=n) if isinstance(v, str) else v for k, v in valid.items()}
        resp, before = _send(client, world, endpoint, {**fresh, field: value})
        label = f"{field}={str(value)[:40]!r} -> {resp.status_code}"
        if resp.status_code >= 500:
            failures.append(label)
        elif resp.status_code >= 400:
            try:
                assert_error(resp, resp.status_code, resp.get_json()["error"]["code"])
            except (AssertionError, TypeError, KeyError):
                failures.append(f"{label}: not the error shape")
            after = row_counts()
            if after != before:
                failures.append(f"{label}: rows changed {before} -> {after}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("endpoint", list(WRITE_ENDPOINTS))
def test_unknown_and_extra_nested_fields_never_give_500(client, world, endpoint):
    _, valid = WRITE_ENDPOINTS[endpoint]
    body = {**valid, "extra": {"a": [1, {"b": None}]}, "__proto__": {"admin": True}}
    resp, before = _send(client, world, endpoint, body)
    error = assert_error(resp, 422, "validation_failed")
    assert sorted(error["details"]["unknown"]) == ["__proto__", "extra"]
    assert row_counts() == before


# -- a refused write leaves no trace ---------------------------------------------------------


def test_partly_valid_share_list_shares_with_nobody(client, world):
    ticket = world.ticket()
    headers = world.headers(world.requester)
    before = row_counts()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": ["col@acme.test", "power@globex.test"]},
        headers=headers,
    )
    # A registered user of another organization: agents only, and the refusal says so.
    error = assert_error(resp, 403, "permission_denied")
    assert "another organization" in error["message"]
    assert row_counts() == before


def test_registering_into_unknown_organization_creates_no_user(client, world):
    headers = world.headers(world.admin)
    before = row_counts()
    resp = client.post(
        f"{API}/users",
        json={"email": "ghost@acme.test", "name": "Ghost", "organization": "Nowhere Inc"},
        headers=headers,
    )
    assert_error(resp, 404, "not_found")
    assert row_counts() == before
    assert User.get_or_none(User.email == "ghost@acme.test") is None


def test_assigning_to_a_customer_changes_nothing(client, world):
    ticket = world.ticket()
    headers = world.headers(world.agent)
    before = row_counts()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/assign",
        json={"assignee": "req@acme.test"},
        headers=headers,
    )
    assert_error(resp, 422, "validation_failed")
    assert row_counts() == before
    fresh = Ticket.get_by_id(ticket.id)
    assert fresh.assignee_id is None and fresh.status == "new"


def test_refused_rating_does_not_close_the_ticket(client, world):
    ticket = world.ticket(status="resolved")
    headers = world.headers(world.requester)
    before = row_counts()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/close", json={"rating": 9}, headers=headers
    )
    assert_error(resp, 422, "validation_failed")
    assert row_counts() == before
    fresh = Ticket.get_by_id(ticket.id)
    assert fresh.status == "resolved" and fresh.closed_at is None


def test_reopen_without_reason_keeps_the_ticket_resolved(client, world):
    ticket = world.ticket(status="resolved")
    headers = world.headers(world.agent)
    before = row_counts()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/transition", json={"to": "open"}, headers=headers
    )
    assert_error(resp, 422, "validation_failed")
    assert row_counts() == before
    assert Ticket.get_by_id(ticket.id).status == "resolved"


def test_refused_requests_never_issue_tokens(client, world):
    before = ApiToken.select().count()
    wrong = {"email": "req@acme.test", "password": "wrong password"}
    assert_error(client.post(f"{API}/auth/login", json=wrong), 401, "authentication_required")
    missing = {"email": "req@acme.test"}
    assert_error(client.post(f"{API}/auth/login", json=missing), 422, "validation_failed")
    assert ApiToken.select().count() == before

"""Serving and observing: the health check, a log line per request, request ids, trusted proxy
headers, HTTPS-only cookies, security headers and bounded JSON bodies, through the real app."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from conftest import ON_POSTGRES, Browser, free_port

from helpdesk.db import database, init_database
from helpdesk.migrations import LATEST
from helpdesk.models import OutboxMessage, SchemaVersion
from helpdesk.server import create_app
from helpdesk.server.proxies import TrustedProxies
from helpdesk.server.request_log import ACCESS_LOGGER, configure_server_logging

API = "/api/v1"
HEALTH_KEYS = {"status", "version", "database", "outbox"}
NEW_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def app_with(monkeypatch, **environment: str):
    """A new app built with these HELPDESK_* settings, as `helpdesk serve` would read them."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return create_app({"TESTING": True})


# -- /api/v1/health ---------------------------------------------------------------------------


def test_health_reports_the_schema_and_the_outbox_backlog_without_secrets(
    client, world, clock, env
):
    world.ticket()  # queues the new ticket's notifications to the agents
    with database.connection_context():
        pending = OutboxMessage.select().where(OutboxMessage.status == "pending").count()
    assert pending > 0
    clock.advance(minutes=5)

    resp = client.get(f"{API}/health")

    assert resp.status_code == 200
    assert resp.json["status"] == "ok"
    assert resp.json["database"] == {
        "reachable": True,
        "schema_version": LATEST,
        "expected_schema_version": LATEST,
    }
    assert resp.json["outbox"]["pending"] == pending
    assert 300 <= resp.json["outbox"]["oldest_pending_seconds"] < 360
    text = resp.get_data(as_text=True)
    for secret in (str(env), "sqlite", "postgres", "@", "127.0.0.1", "http"):
        assert secret not in text


def test_health_with_an_empty_outbox_says_no_age(client, db):
    resp = client.get(f"{API}/health")
    assert resp.status_code == 200
    assert resp.json["outbox"] == {"pending": 0, "oldest_pending_seconds": None}


def test_health_is_503_in_the_same_shape_when_the_schema_is_not_this_helpdesks(client, db):
    SchemaVersion.update(version=LATEST + 1).execute()

    resp = client.get(f"{API}/health")

    assert resp.status_code == 503
    assert set(resp.json) == HEALTH_KEYS
    assert resp.json["status"] == "unavailable"
    assert resp.json["database"]["reachable"] is True
    assert resp.json["database"]["schema_version"] == LATEST + 1
    assert resp.json["outbox"] == {"pending": None, "oldest_pending_seconds": None}


@pytest.fixture
def broken_database(app, env):
    """The database goes away under the running app: the SQLite file is overwritten with
    garbage; PostgreSQL's server is replaced by a port nothing listens on."""
    if ON_POSTGRES:
        init_database(f"postgresql://helpdesk@127.0.0.1:{free_port()}/helpdesk")
        yield
        init_database(app.config["DATABASE_URL"])
        return
    (env / "data" / "helpdesk.db").write_bytes(b"not a database at all " * 1000)
    yield


def test_health_is_503_in_the_same_shape_when_the_database_is_unreachable(
    client, broken_database, caplog
):
    with caplog.at_level(logging.WARNING, logger="helpdesk.services.health"):
        resp = client.get(f"{API}/health")

    assert resp.status_code == 503
    assert set(resp.json) == HEALTH_KEYS
    assert resp.json["status"] == "unavailable"
    assert resp.json["database"]["reachable"] is False
    assert resp.json["database"]["schema_version"] is None


# -- one log line per request -----------------------------------------------------------------


@pytest.fixture
def access_log():
    """The server's log as `helpdesk serve` sets it up with HELPDESK_LOG_FORMAT=json, into a
    buffer; the loggers are put back after. Returns a function giving the lines, parsed."""
    helpdesk_logger, access = logging.getLogger("helpdesk"), logging.getLogger(ACCESS_LOGGER)
    saved = helpdesk_logger.handlers[:], access.level
    buffer = io.StringIO()
    configure_server_logging("json", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    helpdesk_logger.handlers = saved[0]
    access.setLevel(saved[1])


def test_each_request_logs_one_json_line_without_query_string(client, world, access_log):
    headers = {**world.headers(world.agent), "X-Request-Id": "build-42.step:7"}

    resp = client.get(f"{API}/tickets?q=s3cret", headers=headers)

    assert resp.status_code == 200
    [line] = [entry for entry in access_log() if entry["logger"] == ACCESS_LOGGER]
    assert line["method"] == "GET"
    assert line["path"] == f"{API}/tickets"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] == world.agent.id
    assert line["client"] == "127.0.0.1"
    assert line["request_id"] == "build-42.step:7"
    assert line["level"] == "info" and line["time"].endswith("+00:00")
    assert "s3cret" not in json.dumps(access_log())


def test_the_log_line_of_a_refused_request_has_no_user_and_masks_link_tokens(client, access_log):
    client.get(f"{API}/tickets")
    client.get("/account/activate/very-secret-invitation-token")

    lines = [entry for entry in access_log() if entry["logger"] == ACCESS_LOGGER]
    assert [(line["status"], line["user_id"]) for line in lines][0] == (401, None)
    assert lines[1]["path"] == "/account/activate/***"
    assert "very-secret" not in json.dumps(access_log())


def test_request_id_is_echoed_and_a_hostile_one_replaced(client, db):
    assert client.get(f"{API}/health", headers={"X-Request-Id": "abc-123"}).headers[
        "X-Request-Id"
    ] == ("abc-123")
    for hostile in ("x" * 200, "a b", "<script>", "id\u00e9", ""):
        echoed = client.get(f"{API}/health", headers={"X-Request-Id": hostile}).headers[
            "X-Request-Id"
        ]
        assert NEW_REQUEST_ID.fullmatch(echoed), hostile
    first, second = (client.get(f"{API}/health").headers["X-Request-Id"] for _ in range(2))
    assert first != second


# -- behind a reverse proxy -------------------------------------------------------------------

PROXY, OTHER_PROXY, STRANGER = "10.0.0.2", "10.1.2.3", "203.0.113.9"


def login_from(client, peer: str, forwarded_for: str | None, email: str):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(
        f"{API}/auth/login",
        json={"email": email, "password": "wrong"},
        headers=headers,
        environ_base={"REMOTE_ADDR": peer},
    )


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored_by_throttling(monkeypatch, env):
    monkeypatch.setenv("HELPDESK_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    client = app_with(monkeypatch, HELPDESK_TRUSTED_PROXIES="10.0.0.0/8").test_client()

    answers = [
        login_from(client, STRANGER, f"198.51.100.{n}", f"u{n}@example.test").status_code
        for n in range(4)
    ]

    assert answers == [401, 401, 401, 429]  # all counted on the stranger's own address


def test_forwarded_for_from_a_trusted_proxy_names_the_client_for_throttling(
    monkeypatch, env, access_log
):
    monkeypatch.setenv("HELPDESK_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    client = app_with(monkeypatch, HELPDESK_TRUSTED_PROXIES="10.0.0.0/8").test_client()
    # The client wrote a first address itself; each proxy appended the one it saw.
    chain = "6.6.6.6, 198.51.100.7, 10.1.2.3"

    answers = [login_from(client, PROXY, chain, f"u{n}@example.test").status_code for n in range(4)]
    another = login_from(client, PROXY, "198.51.100.8", "x@example.test")

    assert answers == [401, 401, 401, 429]  # counted on 198.51.100.7
    assert another.status_code == 401  # the proxy's other clients are not locked out
    clients = [e["client"] for e in access_log() if e["logger"] == ACCESS_LOGGER]
    assert clients == ["198.51.100.7"] * 4 + ["198.51.100.8"]


def test_without_configured_proxies_no_forwarded_header_is_believed(client, db, access_log):
    client.get(
        f"{API}/health",
        headers={"X-Forwarded-For": "198.51.100.7"},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    [line] = [e for e in access_log() if e["logger"] == ACCESS_LOGGER]
    assert line["client"] == PROXY


def echo_environ(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    keys = ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_HOST")
    return [json.dumps({key: environ.get(key) for key in keys}).encode()]


@pytest.mark.parametrize(
    "peer, headers, seen",
    [
        (
            PROXY,
            {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "help.example.test"},
            ["198.51.100.7", "https", "help.example.test"],
        ),
        (
            STRANGER,
            {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
            [STRANGER, "http", "localhost"],
        ),
        (  # a host that could bend a link is not taken; an unknown scheme neither
            PROXY,
            {"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "a/b@evil"},
            ["198.51.100.7", "http", "localhost"],
        ),
    ],
)
def test_forwarded_proto_and_host_only_from_a_trusted_proxy(peer, headers, seen):
    from werkzeug.test import Client

    networks = (__import__("ipaddress").ip_network("10.0.0.0/8"),)
    client = Client(TrustedProxies(echo_environ, networks))
    resp = client.get(
        "/",
        headers={"X-Forwarded-For": "198.51.100.7", **headers},
        environ_base={"REMOTE_ADDR": peer},
    )
    assert list(json.loads(resp.get_data()).values()) == seen


def test_a_bad_trusted_proxies_setting_is_refused_naming_it(monkeypatch, env):
    with pytest.raises(ValueError, match="HELPDESK_TRUSTED_PROXIES"):
        app_with(monkeypatch, HELPDESK_TRUSTED_PROXIES="10.0.0.0/8, proxy.internal")


# -- HTTPS, security headers, size limits -----------------------------------------------------


@pytest.fixture
def public_https(env, monkeypatch):
    """The public URL is https (set before the `app` fixture builds the app)."""
    monkeypatch.setenv("HELPDESK_BASE_URL", "https://help.example.test")


def test_an_https_public_url_makes_cookies_secure_and_asks_browsers_to_stay(
    public_https, app, world
):
    browser = Browser(app.test_client())

    response = browser.login(world.requester)

    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    api = app.test_client().get(f"{API}/health")
    assert api.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_plain_http_public_url_sends_no_hsts(client, db):
    assert "Strict-Transport-Security" not in client.get(f"{API}/health").headers


@pytest.mark.parametrize(
    "path, status",
    [
        ("/tickets", 200),  # an API answer
        ("/tickets/HD-999999", 404),  # an error of the API
        ("/no-such-route", 404),  # Werkzeug's error, same shape
    ],
)
def test_security_headers_on_api_answers_and_errors(client, world, path, status):
    resp = client.get(API + path, headers=world.headers(world.agent))
    assert resp.status_code == status
    assert resp.mimetype == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert NEW_REQUEST_ID.fullmatch(resp.headers["X-Request-Id"])


def test_a_json_body_is_bounded_below_the_attachment_limit(client, world):
    big = json.dumps({"title": "x", "description": "y" * (5 * 1024 * 1024)})
    resp = client.post(
        f"{API}/tickets",
        data=big,
        content_type="application/json",
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "payload_too_large"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_an_unexpected_error_keeps_the_headers_and_its_traceback_names_the_request(
    app, client, world, access_log
):
    def boom():
        raise RuntimeError("disk on fire")

    app.add_url_rule(f"{API}/boom", "boom", boom)
    resp = client.get(f"{API}/boom", headers={"X-Request-Id": "req-500"})

    assert resp.status_code == 500
    assert resp.headers["X-Request-Id"] == "req-500"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    error, access = access_log()
    assert error["level"] == "error" and "disk on fire" in error["exception"]
    assert error["request_id"] == access["request_id"] == "req-500"
    assert access["status"] == 500

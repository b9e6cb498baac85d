"""Two `helpdesk serve` processes on one database and one bucket, as behind a load balancer:
whatever one server writes or remembers, the other one knows. On the PostgreSQL run the
database is the suite's PostgreSQL server; each server has a data directory of its own.

The mail sender and the SLA check run as two processes at once too, as two machines' timers
would: each message goes out once, each breach is recorded once.
"""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack, contextmanager
from datetime import timedelta

import httpx
import pytest
from conftest import (
    CSRF_FIELD,
    PASSWORD,
    helpdesk_serve,
    json_answers,
    loopback_environment,
    start_at_once,
)

from helpdesk.config import current_settings
from helpdesk.db import database
from helpdesk.models import Event, OutboxMessage, Ticket
from helpdesk.services import api_tokens, catalog, contracts, passwords, sla, tickets

API = "/api/v1"
LOGIN_LIMIT = 4  # failed passwords per account before it is locked (HELPDESK_LOGIN_MAX_FAILURES)


@pytest.fixture
def shared(env, s3_server, world):
    """The environment every server shares: the database, a bucket prefix of this test's own,
    the login limit; and the world's customers with a password."""
    prefix = uuid.uuid4().hex[:12]
    environment = loopback_environment() | s3_server.environment()
    environment |= {
        "HELPDESK_DATABASE": current_settings().database_url,  # SQLite: not in a data dir
        "HELPDESK_STORAGE": f"s3://{s3_server.bucket}/{prefix}",
        "HELPDESK_LOGIN_MAX_FAILURES": str(LOGIN_LIMIT),
    }
    environment.pop("HELPDESK_SECRET_KEY", None)  # the servers must agree on their own
    for user in (world.requester, world.colleague):
        passwords.set_password(user, PASSWORD)
    return environment, prefix


@contextmanager
def two_servers(environment: dict, tmp_path):
    """Servers A and B: each with a data directory (and so a machine) of its own."""
    with ExitStack() as stack:
        urls = []
        for name in ("a", "b"):
            own = environment | {"HELPDESK_DATA_DIR": str(tmp_path / f"server-{name}")}
            log = tmp_path / f"server-{name}.log"
            url, _port, _health = stack.enter_context(helpdesk_serve(own, log, "--workers", "1"))
            urls.append(url)
        yield [stack.enter_context(httpx.Client(base_url=url, trust_env=False)) for url in urls]


def login(server: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return server.post(f"{API}/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_customer_works_through_either_server(shared, world, s3_server, tmp_path):
    environment, prefix = shared
    with two_servers(environment, tmp_path) as (a, b):
        # Logs in and submits with a file through A...
        token = login(a, world.requester.email).json()["token"]
        content = b"pump log\n" * 1000
        submitted = a.post(
            f"{API}/tickets",
            headers=bearer(token),
            data={"data": json.dumps({"type": "incident", "title": "Pump stopped"})},
            files={"attachments": ("pump.log", content, "text/plain")},
        )
        assert submitted.status_code == 201, submitted.text
        ticket = submitted.json()
        (attachment,) = ticket["attachments"]

        # ... downloads it and comments through B, with the token A issued.
        downloaded = b.get(attachment["url"], headers=bearer(token))
        assert downloaded.status_code == 200, downloaded.text
        assert downloaded.content == content
        commented = b.post(
            f"{API}/tickets/{ticket['reference']}/comments",
            headers=bearer(token),
            json={"body": "It stopped again at noon."},
        )
        assert commented.status_code == 201, commented.text

        # A shows what B wrote.
        shown = a.get(f"{API}/tickets/{ticket['reference']}", headers=bearer(token)).json()
        assert [c["body"] for c in shown["comments"]] == ["It stopped again at noon."]

        # The portal: signed in through A, B reads the cookie A signed.
        form = a.get("/login")
        csrf = CSRF_FIELD.search(form.text).group(1)
        signed_in = a.post(
            "/login",
            data={"csrf_token": csrf, "email": world.requester.email, "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        cookie = {"Cookie": f"helpdesk_session={signed_in.cookies['helpdesk_session']}"}
        home = b.get("/", headers=cookie)
        assert home.status_code == 200
        assert world.requester.name in home.text and 'name="password"' not in home.text
        page = b.get(f"/requests/{ticket['reference']}", headers=cookie)
        assert page.status_code == 200 and "It stopped again at noon." in page.text
        from_the_portal = b.get(
            f"/requests/{ticket['reference']}/attachments/pump.log", headers=cookie
        )
        assert from_the_portal.content == content

    # The file is in the bucket, in neither server's data directory.
    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=prefix)
    assert [o["Size"] for o in listed.get("Contents", [])] == [len(content)]
    on_disk = [p for p in tmp_path.glob("server-*/**/*") if p.is_file() and p.stat().st_size]
    assert not [p for p in on_disk if p.read_bytes() == content]


def test_throttles_and_retries_count_across_servers(shared, world, tmp_path):
    environment, _ = shared
    with two_servers(environment, tmp_path) as (a, b):
        # Failed passwords alternate between the servers; the account locks at the limit.
        servers = [a, b] * LOGIN_LIMIT
        failures = [login(s, world.colleague.email, "wrong-password").status_code for s in servers]
        assert failures[:LOGIN_LIMIT] == [401] * LOGIN_LIMIT
        locked = login(b, world.colleague.email)  # the right password, on either server
        assert locked.status_code == 429, locked.text
        assert int(locked.headers["Retry-After"]) > 0
        assert login(a, world.colleague.email).status_code == 429

        # A create retried on the other server with its Idempotency-Key: the same ticket.
        token = login(a, world.requester.email).json()["token"]
        headers = bearer(token) | {"Idempotency-Key": str(uuid.uuid4())}
        body = {"type": "question", "title": "How do I add a user to the VPN?"}
        first = a.post(f"{API}/tickets", headers=headers, json=body)
        retried = b.post(f"{API}/tickets", headers=headers, json=body)
        assert first.status_code == retried.status_code == 201, retried.text
        assert retried.headers["Idempotent-Replayed"] == "true"
        assert retried.json()["reference"] == first.json()["reference"]
    with database.connection_context():
        assert Ticket.select().where(Ticket.title == body["title"]).count() == 1


def test_two_mail_senders_deliver_each_message_once(mailbox, shared, world):
    """(mailbox first: the shared environment carries its SMTP settings.)"""
    environment, _ = shared
    with database.connection_context():
        for number in range(40):  # each one notifies the requester and the agents
            tickets.submit_ticket(actor=world.requester, type="question", title=f"Q{number}")
        queued = {m.message_id for m in OutboxMessage.select()}
    assert len(queued) >= 40

    reports = json_answers(start_at_once(["mail", "send"], environment))

    delivered = [m["Message-ID"] for m in mailbox.messages]
    assert sorted(delivered) == sorted(queued)  # every one, none twice
    assert sum(r["sent"] for r in reports) == len(queued)
    with database.connection_context():
        assert {m.status for m in OutboxMessage.select()} == {"sent"}


def test_two_sla_checks_record_each_breach_once(shared, world, clock):
    environment, _ = shared
    admin = world.admin
    with database.connection_context():
        sla.add_policy("Basic", ["medium:1h:4h"], actor=admin)
        catalog.add_service("Audio matching", actor=admin)
        contracts.add_contract("Acme", ["Audio matching"], actor=admin, sla="Basic")
        # Submitted five hours ago (the processes read the real time): both clocks are past due.
        clock.freeze(clock.now() - timedelta(hours=5))
        late = [
            tickets.submit_ticket(
                actor=world.requester,
                type="incident",
                title=f"Matching stopped {n}",
                service="Audio matching",
            ).reference
            for n in range(15)
        ]
        clock.reset()
        agent_token = api_tokens.issue_token(world.agent)

    reports = json_answers(
        start_at_once(["sla", "check"], environment | {"HELPDESK_TOKEN": agent_token})
    )

    recorded = [(row["reference"], row["clock"]) for r in reports for row in r["breached"]]
    expected = [(ref, name) for ref in late for name in ("response", "resolution")]
    assert sorted(recorded) == sorted(expected)  # each breach by one of the two checks
    with database.connection_context():
        events = Event.select().where(Event.kind == "sla_breached")
        assert events.count() == len(expected)
        breach_mails = OutboxMessage.select().where(OutboxMessage.kind.startswith("sla_"))
        per_ticket = {}
        for message in breach_mails:
            key = (message.ticket_id, message.kind, message.to_address)
            per_ticket[key] = per_ticket.get(key, 0) + 1
        assert per_ticket and set(per_ticket.values()) == {1}

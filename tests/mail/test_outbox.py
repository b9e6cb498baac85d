"""Delivering the outbox: once, with retries and backoff, failures an admin can see and retry.

Mail goes to real SMTP servers on 127.0.0.1 (aiosmtpd); `helpdesk mail ...` runs in-process
through the `installed` fixture, and `helpdesk serve` as a real process.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from conftest import deliver, free_port, helpdesk_serve, loopback_environment

from helpdesk.db import database
from helpdesk.models import OutboxMessage, utcnow
from helpdesk.services import api_tokens, tickets, users

REQ = "req@acme.test"
AGENT = "agent@example.test"
ADMIN = "admin@example.test"
TITLE = "Printer prints blank pages"

MAIL_SECONDS = 15


# -- helpers ----------------------------------------------------------------------------------


def ok(result):
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def fails(result, code: int = 1) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    return result.stderr


def rows() -> list[OutboxMessage]:
    """The outbox as stored, oldest first (own connection: callers may hold none)."""
    with database.connection_context():
        return list(OutboxMessage.select().order_by(OutboxMessage.id))


def make_due(*message_ids: int) -> None:
    """Skip the backoff wait: the message is due now (as if its time had come)."""
    with database.connection_context():
        OutboxMessage.update(next_attempt_at=utcnow() - timedelta(seconds=1)).where(
            OutboxMessage.id.in_(message_ids)
        ).execute()


def delivery_round():
    with database.connection_context():
        return deliver()


def token_for(email: str) -> str:
    with database.connection_context():
        return api_tokens.issue_token(users.get_user_by_email(email), name="test")


@pytest.fixture
def desk(installed):
    """`helpdesk init`, then Acme with Rita (a customer) and Andy (an agent), all by the CLI."""
    admin = installed
    ok(admin("org", "create", "Acme"))
    # With a password set, no invitation is emailed: only ticket mail reaches the outbox.
    ok(
        admin(
            "user",
            "register",
            REQ,
            "--name",
            "Rita Requester",
            "--org",
            "Acme",
            "--password-stdin",
            input="rita-password-42\n",
        )
    )
    ok(
        admin(
            "user",
            "register",
            AGENT,
            "--name",
            "Andy Agent",
            "--agent",
            "--password-stdin",
            input="andy-password-42\n",
        )
    )

    def as_user(email):
        token = token_for(email)
        return lambda *args: installed(*args, env={"HELPDESK_TOKEN": token})

    rita = as_user(REQ)

    def submit(title: str = TITLE) -> str:
        result = ok(rita("ticket", "submit", "--type", "incident", "--title", title, "--json"))
        return json.loads(result.stdout)["reference"]

    return SimpleNamespace(admin=admin, rita=rita, andy=as_user(AGENT), submit=submit)


@pytest.fixture
def one_mail_per_ticket(monkeypatch):
    """Only the requester's acknowledgement: one message per new ticket."""
    monkeypatch.setenv("HELPDESK_NOTIFY_UNASSIGNED", "none")


# -- without an SMTP server -------------------------------------------------------------------


def test_without_an_smtp_server_mail_waits_in_the_outbox(world, mailbox, monkeypatch):
    monkeypatch.delenv("HELPDESK_SMTP_HOST")
    tickets.submit_ticket(actor=world.requester, type="incident", title=TITLE)

    report = deliver()
    assert (report.sent, report.retrying, report.failed, report.pending) == (0, 0, 0, 3)
    assert mailbox.messages == []
    assert {m.status for m in OutboxMessage.select()} == {"pending"}
    assert {m.attempts for m in OutboxMessage.select()} == {0}


def test_mail_send_warns_when_no_smtp_server_is_configured(desk, monkeypatch):
    monkeypatch.delenv("HELPDESK_SMTP_HOST", raising=False)
    desk.submit()

    result = ok(desk.admin("mail", "send"))
    assert "no SMTP server is configured" in result.stderr
    assert "HELPDESK_SMTP_HOST" in result.stderr
    assert result.stdout == "Sent 0, retrying 0, failed 0; 3 pending.\n"
    assert {m.status for m in rows()} == {"pending"}


# -- delivering -------------------------------------------------------------------------------


def test_mail_send_delivers_everything_once(desk, mailbox):
    ref = desk.submit()
    assert len(rows()) == 3

    result = ok(desk.admin("mail", "send"))
    assert result.stdout == "Sent 3, retrying 0, failed 0; 0 pending.\n"
    assert result.stderr == ""
    assert sorted(m["To"].addresses[0].addr_spec for m in mailbox.messages) == [
        ADMIN,
        AGENT,
        REQ,
    ]
    assert all(m["Subject"].startswith(f"[{ref}] ") for m in mailbox.messages)
    for message in rows():
        assert message.status == "sent"
        assert message.sent_at is not None
        assert message.attempts == 1
        assert message.last_error is None

    # Never twice: the next round finds nothing to send.
    again = json.loads(ok(desk.admin("mail", "send", "--json")).stdout)
    assert again == {"sent": 0, "retrying": 0, "failed": 0, "pending": 0}
    assert len(mailbox.messages) == 3

    listing = json.loads(ok(desk.admin("mail", "outbox", "--status", "sent", "--json")).stdout)
    assert listing["total"] == 3
    assert all(item["sent_at"] for item in listing["items"])


def test_a_temporary_failure_is_retried_after_a_growing_backoff(
    desk, mailbox, monkeypatch, one_mail_per_ticket
):
    monkeypatch.setenv("HELPDESK_MAIL_BACKOFF", "120")
    desk.submit()
    [message] = rows()

    mailbox.refuse_next = 1
    started = utcnow()
    report = delivery_round()
    assert (report.sent, report.retrying, report.failed, report.pending) == (0, 1, 0, 1)
    [message] = rows()
    assert message.status == "pending"
    assert message.attempts == 1
    assert "451" in message.last_error
    assert message.sent_at is None
    wait = message.next_attempt_at - started
    assert timedelta(seconds=115) <= wait <= timedelta(seconds=125)
    assert mailbox.messages == []

    # Not due yet: a round now sends nothing.
    assert delivery_round().sent == 0
    assert mailbox.messages == []

    # The second failure waits twice as long.
    make_due(message.id)
    mailbox.refuse_next = 1
    started = utcnow()
    delivery_round()
    [message] = rows()
    assert (message.status, message.attempts) == ("pending", 2)
    wait = message.next_attempt_at - started
    assert timedelta(seconds=235) <= wait <= timedelta(seconds=245)

    make_due(message.id)
    assert delivery_round().sent == 1
    assert delivery_round().sent == 0
    [received] = mailbox.messages
    assert received["Message-ID"] == message.message_id
    [message] = rows()
    assert (message.status, message.attempts, message.last_error) == ("sent", 3, None)
    assert message.sent_at is not None


def test_one_refused_message_does_not_hold_up_the_others(world, mailbox):
    tickets.submit_ticket(actor=world.requester, type="incident", title=TITLE)
    first, *others = OutboxMessage.select().order_by(OutboxMessage.id)

    mailbox.refuse_next = 1
    report = deliver()
    assert (report.sent, report.retrying, report.failed, report.pending) == (2, 1, 0, 1)
    assert sorted(m["Message-ID"] for m in mailbox.messages) == sorted(m.message_id for m in others)
    assert OutboxMessage.get_by_id(first.id).status == "pending"


def test_a_message_left_sending_by_a_dead_sender_is_sent_later_not_twice(world, mailbox):
    tickets.submit_ticket(actor=world.requester, type="incident", title=TITLE)
    stale, busy, _ = OutboxMessage.select().order_by(OutboxMessage.id)
    now = utcnow()
    # One sender died 11 minutes into its claim; another is sending right now.
    OutboxMessage.update(status="sending", claimed_at=now - timedelta(minutes=11)).where(
        OutboxMessage.id == stale.id
    ).execute()
    OutboxMessage.update(status="sending", claimed_at=now - timedelta(seconds=5)).where(
        OutboxMessage.id == busy.id
    ).execute()

    assert deliver().sent == 2
    received = {m["Message-ID"] for m in mailbox.messages}
    assert stale.message_id in received
    assert busy.message_id not in received
    assert OutboxMessage.get_by_id(stale.id).status == "sent"
    assert OutboxMessage.get_by_id(busy.id).status == "sending"
    assert deliver().sent == 0
    assert len(mailbox.messages) == 2


def test_the_backoff_stops_growing_at_six_hours(world, mailbox, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAIL_MAX_ATTEMPTS", "100")
    monkeypatch.setenv("HELPDESK_NOTIFY_UNASSIGNED", "none")
    tickets.submit_ticket(actor=world.requester, type="incident", title=TITLE)
    [message] = OutboxMessage.select()

    for attempts in (10, 50):  # a message that has been failing for a long time
        OutboxMessage.update(attempts=attempts, next_attempt_at=utcnow()).execute()
        mailbox.refuse_next = 1
        started = utcnow()
        report = deliver()
        assert (report.retrying, report.failed) == (1, 0)
        message = OutboxMessage.get_by_id(message.id)
        assert (message.status, message.attempts) == ("pending", attempts + 1)
        wait = message.next_attempt_at - started
        assert timedelta(hours=6) - timedelta(seconds=5) <= wait <= timedelta(hours=6, seconds=5)

    OutboxMessage.update(next_attempt_at=utcnow()).execute()
    assert deliver().sent == 1


def test_after_the_last_attempt_a_message_fails_and_an_admin_retries_it(
    desk, mailbox, monkeypatch, one_mail_per_ticket
):
    monkeypatch.setenv("HELPDESK_MAIL_MAX_ATTEMPTS", "2")
    ref = desk.submit()
    [message] = rows()

    mailbox.refuse_next = 10
    assert delivery_round().retrying == 1
    make_due(message.id)
    report = delivery_round()
    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    [message] = rows()
    assert message.status == "failed"
    assert message.attempts == 2
    assert "451" in message.last_error
    assert "Try again later" in message.last_error

    # A failed message is not tried again by itself, however long one waits.
    make_due(message.id)
    mailbox.refuse_next = 0
    assert delivery_round().sent == 0
    assert mailbox.messages == []

    listing = json.loads(ok(desk.admin("mail", "outbox", "--status", "failed", "--json")).stdout)
    assert listing["total"] == 1
    [item] = listing["items"]
    assert (item["id"], item["to"], item["status"], item["attempts"]) == (
        message.id,
        REQ,
        "failed",
        2,
    )
    assert item["ticket"] == ref
    assert "451" in item["last_error"]
    table = ok(desk.admin("mail", "outbox", "--status", "failed")).stdout
    assert REQ in table and "failed" in table and "451" in table
    assert (
        json.loads(ok(desk.admin("mail", "outbox", "--status", "sent", "--json")).stdout)["total"]
        == 0
    )

    result = ok(desk.admin("mail", "retry", str(message.id)))
    assert result.stdout == f"Message {message.id} to {REQ} will be sent at the next delivery.\n"
    [message] = rows()
    assert (message.status, message.attempts, message.last_error) == ("pending", 0, None)

    assert ok(desk.admin("mail", "send")).stdout.startswith("Sent 1,")
    [received] = mailbox.messages
    assert received["Subject"] == f"[{ref}] Ticket received: {TITLE}"
    assert rows()[0].status == "sent"

    # A sent message cannot be retried (it would go out twice); an unknown one is not found.
    assert "only a failed or pending message" in fails(desk.admin("mail", "retry", str(message.id)))
    assert "No outbox message 999" in fails(desk.admin("mail", "retry", "999"))
    assert len(mailbox.messages) == 1


@pytest.fixture
def picky_server(mailbox, monkeypatch):
    """A second SMTP server that answers as configured; the settings point at it instead."""
    from aiosmtpd.controller import Controller

    server = SimpleNamespace(rcpt_answer=None, data_answer=None, tries=0, accepted=[])

    class Handler:
        async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
            server.tries += 1
            if server.rcpt_answer:
                return server.rcpt_answer
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, smtp, session, envelope):
            if server.data_answer:
                return server.data_answer
            server.accepted.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("HELPDESK_SMTP_PORT", str(port))
    try:
        yield server
    finally:
        controller.stop()


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_permanent_refusal_fails_at_once(world, picky_server, mailbox, stage):
    setattr(picky_server, f"{stage}_answer", "550 5.1.1 No such user")
    tickets.submit_ticket(actor=world.requester, type="incident", title=TITLE)

    report = deliver()
    assert (report.sent, report.retrying, report.failed, report.pending) == (0, 0, 3, 0)
    for message in OutboxMessage.select():
        assert message.status == "failed"
        assert message.attempts == 1
        assert "550" in message.last_error
        assert "No such user" in message.last_error
    assert picky_server.tries == 3
    assert picky_server.accepted == [] and mailbox.messages == []

    # Nothing is tried again.
    OutboxMessage.update(next_attempt_at=utcnow() - timedelta(seconds=1)).execute()
    assert deliver().failed == 0
    assert picky_server.tries == 3


def test_a_temporary_refusal_of_a_recipient_is_retried(world, picky_server):
    picky_server.rcpt_answer = "450 4.2.0 Greylisted, come back later"
    tickets.submit_ticket(actor=world.requester, type="incident", title=TITLE)

    report = deliver()
    assert (report.retrying, report.failed, report.pending) == (3, 0, 3)
    for message in OutboxMessage.select():
        assert (message.status, message.attempts) == ("pending", 1)
        assert "450" in message.last_error

    picky_server.rcpt_answer = None
    OutboxMessage.update(next_attempt_at=utcnow() - timedelta(seconds=1)).execute()
    assert deliver().sent == 3
    assert len(picky_server.accepted) == 3


def test_an_unreachable_server_is_a_temporary_failure(world, mailbox, monkeypatch):
    monkeypatch.setenv("HELPDESK_SMTP_PORT", str(free_port()))  # nobody listens there
    tickets.submit_ticket(actor=world.requester, type="incident", title=TITLE)

    report = deliver()
    assert (report.sent, report.retrying, report.failed) == (0, 3, 0)
    assert {m.status for m in OutboxMessage.select()} == {"pending"}
    assert all("refused" in m.last_error.lower() for m in OutboxMessage.select())


# -- who may see and retry the outbox ---------------------------------------------------------


def test_only_admins_list_or_retry_the_outbox(one_mail_per_ticket, desk):
    desk.submit()
    [message] = rows()

    for person in (desk.andy, desk.rita):
        assert "Only admins may manage the mail outbox" in fails(person("mail", "outbox"))
        assert "Only admins" in fails(person("mail", "retry", str(message.id)))
        error = json.loads(fails(person("mail", "outbox", "--json")))["error"]
        assert error["code"] == "permission_denied"
    assert rows()[0].status == "pending"


def test_the_outbox_api_is_for_admins(client, world):
    tickets.submit_ticket(actor=world.requester, type="incident", title=TITLE)
    message = OutboxMessage.select().first()
    for user in (world.agent, world.requester):
        headers = world.headers(user)
        resp = client.get("/api/v1/mail/outbox", headers=headers)
        assert resp.status_code == 403
        assert resp.get_json()["error"]["code"] == "permission_denied"
        resp = client.post(f"/api/v1/mail/outbox/{message.id}/retry", headers=headers)
        assert resp.status_code == 403
    resp = client.get("/api/v1/mail/outbox", headers=world.headers(world.admin))
    assert resp.status_code == 200
    assert resp.get_json()["total"] == 3


# -- never twice ------------------------------------------------------------------------------


def test_concurrent_deliveries_never_send_a_message_twice(world, mailbox):
    for n in range(10):
        tickets.submit_ticket(actor=world.requester, type="incident", title=f"Printer {n}")
    queued = OutboxMessage.select().count()
    assert queued == 30

    start = threading.Barrier(2)
    reports, errors = [], []

    def worker():
        try:
            with database.connection_context():
                start.wait(timeout=10)
                reports.append(deliver())
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    assert len(mailbox.messages) == queued
    assert len({m["Message-ID"] for m in mailbox.messages}) == queued
    assert sum(report.sent for report in reports) == queued
    assert {m.status for m in OutboxMessage.select()} == {"sent"}
    assert {m.attempts for m in OutboxMessage.select()} == {1}
    assert deliver().sent == 0


# -- delivering inside `helpdesk serve` -------------------------------------------------------


@pytest.fixture
def serving(desk, mailbox, tmp_path):
    """`helpdesk serve` as a process on a free port, sending mail every second."""
    env = loopback_environment()
    env.update(HELPDESK_MAIL_SEND_IN_SERVER="1", HELPDESK_MAIL_SEND_INTERVAL="1")
    env.pop("HELPDESK_URL", None)
    assert env["HELPDESK_SMTP_HOST"] == "127.0.0.1"  # the mailbox fixture's server
    session = httpx.Client(trust_env=False)  # never through a proxy
    try:
        with helpdesk_serve(env, tmp_path / "serve.log", "--workers", "2") as (url, _, _):
            yield SimpleNamespace(url=url, session=session, log=tmp_path / "serve.log")
    finally:
        session.close()


def test_serve_delivers_the_outbox_in_the_background(one_mail_per_ticket, serving, mailbox):
    headers = {"Authorization": f"Bearer {token_for(REQ)}"}
    resp = serving.session.post(
        serving.url + "/api/v1/tickets",
        json={"type": "incident", "title": TITLE},
        headers=headers,
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    ref = resp.json()["reference"]

    deadline = time.monotonic() + MAIL_SECONDS
    while time.monotonic() < deadline:
        if mailbox.messages and rows()[0].status == "sent":
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"no mail sent within {MAIL_SECONDS} s:\n{serving.log.read_text()}")
    [msg] = mailbox.messages  # one sender beside gunicorn's two workers, not one each
    assert msg["To"].addresses[0].addr_spec == REQ
    assert msg["Subject"] == f"[{ref}] Ticket received: {TITLE}"
    [message] = rows()
    assert message.sent_at is not None

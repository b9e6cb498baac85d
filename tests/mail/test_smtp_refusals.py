"""An SMTP server that refuses us (554 at connect, 535 at login, our sender refused) burns no
message: the round stops, the messages wait with backoff, and `mail send` says so and exits 1.

Real SMTP servers on 127.0.0.1 (aiosmtpd); `helpdesk mail send` runs in-process.
"""

from __future__ import annotations

import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
from conftest import deliver, free_port

from helpdesk.models import OutboxMessage, utcnow
from helpdesk.services import tickets

TITLE = "Printer prints blank pages"


class _ClosedSMTP(SMTP):
    """Greets with 554 (RFC 5321 3.1: no SMTP service here) and hangs up."""

    async def _handle_client(self) -> None:
        self.counter.connections += 1
        await self.push("554 5.3.2 No mail accepted from this host")
        self.transport.close()


class _CountingSMTP(SMTP):
    async def _handle_client(self) -> None:
        self.counter.connections += 1
        await super()._handle_client()


@pytest.fixture
def refusing_server(mailbox, monkeypatch):
    """Start an SMTP server on 127.0.0.1 that refuses us as asked; settings point at it."""
    controllers = []

    def start(how: str) -> SimpleNamespace:
        server = SimpleNamespace(connections=0, accepted=[])

        class Handler:
            async def handle_MAIL(self, smtp, session, envelope, address, options):
                if how == "sender":
                    return "550 5.7.1 Sender address rejected: not owned by this account"
                envelope.mail_from = address
                return "250 OK"

            async def handle_DATA(self, smtp, session, envelope):
                server.accepted.append(envelope)
                return "250 OK"

        def reject_login(smtp, session, envelope, mechanism, auth_data):
            return AuthResult(success=False, handled=False)

        smtp_class = _ClosedSMTP if how == "connect" else _CountingSMTP
        kwargs = {"authenticator": reject_login, "auth_require_tls": False}

        class Refusing(Controller):
            def factory(self):
                smtp = smtp_class(self.handler, **self.SMTP_kwargs)
                smtp.counter = server
                return smtp

        port = free_port()
        controller = Refusing(Handler(), hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        server.connections = 0  # start() checks the server is up with a connection of its own
        controllers.append(controller)
        monkeypatch.setenv("HELPDESK_SMTP_PORT", str(port))
        if how == "login":
            monkeypatch.setenv("HELPDESK_SMTP_USER", "helpdesk")
            monkeypatch.setenv("HELPDESK_SMTP_PASSWORD", "wrong")
        return server

    yield start
    for controller in controllers:
        controller.stop()


def let_the_wait_pass() -> None:
    """As if the clock had moved past every message's next attempt."""
    now = utcnow()
    for message in OutboxMessage.select():
        shift = message.next_attempt_at - now + timedelta(seconds=1)
        message.next_attempt_at -= shift
        message.claimed_at = message.claimed_at and message.claimed_at - shift
        message.save()


def waits(started) -> list[timedelta]:
    return [m.next_attempt_at - started for m in OutboxMessage.select()]


REFUSALS = {"connect": "554", "login": "535", "sender": "550"}


@pytest.mark.parametrize("how", sorted(REFUSALS))
def test_a_server_that_refuses_us_burns_no_message(
    world, mailbox, refusing_server, how, monkeypatch
):
    good_port = os.environ["HELPDESK_SMTP_PORT"]  # the `mailbox` server, which accepts all
    monkeypatch.setenv("HELPDESK_MAIL_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("HELPDESK_MAIL_BACKOFF", "60")
    server = refusing_server(how)
    tickets.submit_ticket(actor=world.requester, type="incident", title=TITLE)
    assert OutboxMessage.select().count() == 3

    # Round after round (more than max_attempts), the server refuses; no message is failed,
    # no attempt is counted, the server is asked once a round, and the rounds back off.
    for round_number, wait in enumerate((60, 120, 240), start=1):
        started = utcnow()
        report = deliver()
        assert (report.sent, report.retrying, report.failed, report.pending) == (0, 3, 0, 3)
        assert REFUSALS[how] in report.server_error
        assert server.connections == round_number
        for message in OutboxMessage.select():
            assert (message.status, message.attempts) == ("pending", 0)
            assert REFUSALS[how] in message.last_error
        for waited in waits(started):
            assert timedelta(seconds=wait - 5) <= waited <= timedelta(seconds=wait + 5)
        # Not due yet: a round now does not even ask the server.
        assert deliver().retrying == 0
        assert server.connections == round_number
        let_the_wait_pass()

    # The server is fixed (here: the settings point at a good one): everything goes out once,
    # at the first attempt that reached it.
    monkeypatch.setenv("HELPDESK_SMTP_PORT", good_port)
    monkeypatch.delenv("HELPDESK_SMTP_USER", raising=False)
    assert deliver().sent == 3
    assert {m.status for m in OutboxMessage.select()} == {"sent"}
    assert [m.attempts for m in OutboxMessage.select()] == [1, 1, 1]
    assert len(mailbox.messages) == 3


@pytest.mark.parametrize("how", sorted(REFUSALS))
def test_mail_send_exits_1_and_says_the_server_refused(
    installed, mailbox, refusing_server, how, monkeypatch
):
    admin = installed
    assert admin("org", "create", "Acme").exit_code == 0
    # Registering without a password emails an invitation: one message in the outbox.
    registered = admin("user", "register", "req@acme.test", "--name", "Rita", "--org", "Acme")
    assert registered.exit_code == 0, registered.stderr
    refusing_server(how)

    result = admin("mail", "send")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    [line] = result.stderr.splitlines()  # one line, no log noise before it
    assert line.startswith("Error: The SMTP server refused us (127.0.0.1:")
    assert REFUSALS[how] in line
    assert "The outbox keeps its messages (waiting: 1)" in line

    listing = admin("mail", "outbox", "--status", "pending", "--json")
    assert listing.exit_code == 0
    assert '"total": 1' in listing.stdout
    assert admin("mail", "outbox", "--status", "failed", "--json").stdout.count('"total": 0') == 1

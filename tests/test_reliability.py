"""Reliability under concurrent load, through a real `helpdesk serve` (gunicorn, 2 workers x 4
threads) on this run's database (issue 11): bounded in time, loopback only."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from conftest import helpdesk_serve, loopback_environment, run_bounded

from helpdesk.db import database
from helpdesk.models import Comment, Event, OutboxMessage, Ticket

CLIENTS = 16
OPERATIONS = 12  # per client
SHARED_TICKETS = 3


@pytest.fixture
def serve_env(env):
    """The environment `helpdesk serve` needs to serve this test's desk, and nothing that
    could send traffic elsewhere."""
    return loopback_environment()  # the env fixture has dropped HELPDESK_URL and the token


def test_sixteen_clients_on_the_same_tickets_lose_nothing_and_repeat_nothing(
    app, world, serve_env, tmp_path
):
    with database.connection_context():
        shared = [world.ticket(title=f"Shared {n}", status="open") for n in range(SHARED_TICKETS)]
        references = [t.reference for t in shared]
        requester = world.requester.email
        before = {
            "tickets": Ticket.select().count(),
            "comments": Comment.select().count(),
        }
        # Half the clients are the agent, half the requester: each their own token.
        tokens = [
            world.headers(world.agent if n % 2 == 0 else world.requester) for n in range(CLIENTS)
        ]
    done: dict[str, list] = {"created": [], "commented": [], "moved": [], "refused": []}
    failures: list[str] = []
    lock = threading.Lock()

    def client(n: int, url: str) -> None:
        chance = random.Random(n)  # each client's own, repeatable sequence
        agent = n % 2 == 0
        with httpx.Client(base_url=url, headers=tokens[n], timeout=30, trust_env=False) as http:
            for step in range(OPERATIONS):
                reference = chance.choice(references)
                kind = chance.choice(
                    ("create", "comment", "move") if agent else ("create", "comment")
                )
                if kind == "create":
                    body = {"type": "incident", "title": f"Client {n} step {step}"}
                    if agent:
                        body["requester"] = requester
                    response = http.post("/api/v1/tickets", json=body)
                elif kind == "comment":
                    body = {"body": f"Client {n} step {step}"}
                    response = http.post(f"/api/v1/tickets/{reference}/comments", json=body)
                else:
                    to = chance.choice(("open", "pending"))
                    response = http.post(f"/api/v1/tickets/{reference}/transition", json={"to": to})
                with lock:
                    if response.status_code >= 500 or "locked" in response.text:
                        failures.append(f"{kind}: {response.status_code} {response.text[:300]}")
                    elif response.status_code in (200, 201):
                        data = response.json()
                        if kind == "create":
                            done["created"].append(data["reference"])
                        elif kind == "comment":
                            done["commented"].append((reference, data["id"]))
                        else:
                            done["moved"].append((reference, to))
                    else:  # a move the ticket's status no longer allows: said, not failed
                        assert kind == "move" and response.status_code == 409, response.text
                        done["refused"].append((reference, to))

    log = tmp_path / "serve.log"
    with helpdesk_serve(serve_env, log, "--server", "gunicorn", "--workers", "2") as (url, *_):

        def load() -> None:
            threads = [threading.Thread(target=client, args=(n, url)) for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        run_bounded(load, seconds=240)
    assert not failures, "\n".join(failures)
    assert "Traceback" not in log.read_text()

    with database.connection_context():
        # Every create answered is one ticket, with a reference of its own.
        assert len(set(done["created"])) == len(done["created"])
        assert Ticket.select().count() == before["tickets"] + len(done["created"])
        created = Ticket.select().where(Ticket.reference.in_(done["created"])).count()
        assert created == len(done["created"])
        # Every comment answered is there once, on its ticket, with its "comment" event once.
        assert Comment.select().count() == before["comments"] + len(done["commented"])
        for reference, comment_id in done["commented"]:
            assert Comment.get_by_id(comment_id).ticket.reference == reference
        noted = Counter(int(e.to_value) for e in Event.select().where(Event.kind == "comment"))
        assert all(noted[comment_id] == 1 for _, comment_id in done["commented"])
        # Each shared ticket's history of moves is one unbroken chain that ends at its status:
        # no move was applied to a status another client had already changed.
        for ticket in Ticket.select().where(Ticket.reference.in_(references)):
            moves = list(
                Event.select()
                .where((Event.ticket == ticket) & (Event.kind == "status"))
                .order_by(Event.id)
            )
            status = "open"
            for move in moves:
                assert move.from_value == status, (ticket.reference, move.from_value, status)
                status = move.to_value
            assert ticket.status == status
            asked = [to for reference, to in done["moved"] if reference == ticket.reference]
            # Moves asked and answered, plus the automatic ones (a customer's reply to a
            # pending ticket brings it back to open): every answered move is in the history.
            assert len(moves) >= len(asked)
    assert len(done["created"]) + len(done["commented"]) + len(done["moved"]) > CLIENTS


def _server_processes(port: int) -> list[int]:
    """The pids of `helpdesk serve --port PORT` and its workers (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:  # gone meanwhile
                continue
            if b"serve" in command and str(port).encode() in command:
                found.append(int(entry.name))
    return found


def test_a_server_killed_during_writes_loses_no_answered_write(app, world, serve_env, tmp_path):
    with database.connection_context():
        customer = world.headers(world.requester)
        agent = world.headers(world.agent)
    answered: dict[str, list] = {"created": [], "commented": []}
    lock, stop = threading.Lock(), threading.Event()

    def client(n: int, url: str) -> None:
        with httpx.Client(base_url=url, headers=customer, timeout=30, trust_env=False) as http:
            mine: list[str] = []
            for step in range(200):  # bounded; the kill ends it sooner
                if stop.is_set():
                    return
                word = f"zq{n}w{step}"
                try:
                    if mine and step % 3 == 2:
                        body = {"body": f"Still broken {word}"}
                        response = http.post(f"/api/v1/tickets/{mine[-1]}/comments", json=body)
                    else:
                        data = {"type": "incident", "title": f"Killed {word}"}
                        response = http.post(
                            "/api/v1/tickets",
                            data={"data": json.dumps(data)},
                            files={"attachments": (f"{word}.txt", word.encode(), "text/plain")},
                        )
                except httpx.TransportError:
                    return  # the server is gone: what was not answered may or may not be there
                if response.status_code not in (200, 201):  # only the kill may stop a client
                    with lock:
                        answered.setdefault("failed", []).append(response.text)
                    return
                with lock:
                    if "/comments" in str(response.url):
                        answered["commented"].append(response.json()["id"])
                    else:
                        mine.append(response.json()["reference"])
                        answered["created"].append((response.json()["reference"], word))

    log = tmp_path / "serve.log"
    with helpdesk_serve(serve_env, log, "--server", "gunicorn", "--workers", "2") as (url, port, _):
        threads = [threading.Thread(target=client, args=(n, url)) for n in range(8)]
        for thread in threads:
            thread.start()

        def enough_answers() -> None:
            while len(answered["created"]) + len(answered["commented"]) < 40:
                assert not answered.get("failed"), answered["failed"]
                time.sleep(0.05)

        run_bounded(enough_answers, seconds=120)
        victims = _server_processes(port)
        assert len(victims) >= 3  # the master and its two workers, in the middle of writes
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not answered.get("failed"), answered["failed"]

    # What a crash left in staging is removed when a server starts (once it is old enough
    # not to be another running server's upload in flight).
    staging = Path(os.environ["HELPDESK_DATA_DIR"]) / "attachments" / "staging"
    leftovers = list(staging.iterdir()) if staging.is_dir() else []
    for path in leftovers:
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    with helpdesk_serve(serve_env, tmp_path / "again.log", "--server", "gunicorn") as (url, *_):
        with httpx.Client(base_url=url, headers=agent, timeout=30, trust_env=False) as http:
            for reference, word in answered["created"]:
                found = http.get("/api/v1/tickets", params={"q": word}).json()["items"]
                assert [t["reference"] for t in found] == [reference], word
                ticket = http.get(f"/api/v1/tickets/{reference}").json()
                [attachment] = ticket["attachments"]
                download = http.get(attachment["url"])
                assert download.content == word.encode()
                assert [e["kind"] for e in ticket["events"]][:1] == ["created"]
    assert not any(path.exists() for path in leftovers)
    with database.connection_context():
        assert Comment.select().where(Comment.id.in_(answered["commented"])).count() == len(
            answered["commented"]
        )
        # No ticket half-written: each has its reference, its creation in the history and the
        # notification to its requester.
        assert not Ticket.select().where(Ticket.reference.is_null()).exists()
        for ticket in Ticket.select():
            assert (
                Event.select().where((Event.ticket == ticket) & (Event.kind == "created")).count()
                == 1
            )
            received = OutboxMessage.select().where(
                (OutboxMessage.ticket == ticket) & (OutboxMessage.kind == "received")
            )
            assert received.count() == 1, ticket.reference


def test_smtp_down_during_load_fails_no_request_and_the_mail_goes_out_once_it_is_back(
    app, world, mailbox, tmp_path
):
    with database.connection_context():
        customer = world.headers(world.requester)
    mailbox.stop()  # the SMTP server is down
    served = loopback_environment()
    served.update(
        HELPDESK_MAIL_SEND_IN_SERVER="1",  # the sender beside the workers, every second
        HELPDESK_MAIL_SEND_INTERVAL="1",
        HELPDESK_MAIL_BACKOFF="1",  # a refused round waits 1 s, then 2, 4... (bounded below)
    )
    statuses: list[int] = []

    def client(n: int, url: str) -> None:
        with httpx.Client(base_url=url, headers=customer, timeout=30, trust_env=False) as http:
            for step in range(6):
                body = {"type": "incident", "title": f"Mail down {n}.{step}"}
                statuses.append(http.post("/api/v1/tickets", json=body).status_code)

    with helpdesk_serve(served, tmp_path / "serve.log", "--workers", "2") as (url, *_):

        def load() -> None:
            threads = [threading.Thread(target=client, args=(n, url)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        run_bounded(load, seconds=120)
        assert statuses == [201] * 48  # no request waited for, or failed with, the mail

        def tried_while_down() -> None:
            while True:
                with database.connection_context():
                    if OutboxMessage.select().where(OutboxMessage.last_error.is_null(False)):
                        return
                time.sleep(0.2)

        run_bounded(tried_while_down, seconds=30)
        assert mailbox.messages == []
        with database.connection_context():
            queued = OutboxMessage.select().count()
        assert queued >= 48  # at least each requester's "received"
        mailbox.start()  # back, on the same port

        def delivered() -> None:
            while len(mailbox.messages) < queued:
                time.sleep(0.2)

        run_bounded(delivered, seconds=90)
    with database.connection_context():
        assert {m.status for m in OutboxMessage.select()} == {"sent"}
    ids = [message["Message-ID"] for message in mailbox.messages]
    assert len(ids) == len(set(ids)) == queued  # every message once

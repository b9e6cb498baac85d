"""A flaky network never makes a duplicate: the CLI against a real `helpdesk serve` behind a
proxy that loses the answer of a request after the server has handled it.

Everything listens on and talks to 127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import threading
from types import SimpleNamespace

import pytest
from conftest import PASSWORD, helpdesk_serve, loopback_environment
from test_serve import helpdesk, init_desk, ok

PROXY_SECONDS = 30
PROXY_503 = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class FlakyProxy:
    """Pass bytes between the CLI and the server, but spoil the first request that starts
    with `target`: `lose` resets the connection once the server has answered it (the server
    did the work; the client never hears of it), `unavailable` answers a 503 in its place."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.arm(b"", "")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(PROXY_SECONDS)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.stopped = False

    def arm(self, target: bytes, fault: str) -> None:
        """Spoil the next request that starts with `target` (b"": none) by `fault`."""
        self.target, self.fault = target, fault
        self.spoiled = 0 if target else 1
        self.requests = []  # the first line of each request seen, in order

    def serve(self):
        while True:
            downstream, _ = self.listener.accept()
            if self.stopped:
                downstream.close()
                return
            threading.Thread(target=self._pipe, args=(downstream,), daemon=True).start()

    def stop(self, thread: threading.Thread):
        self.stopped = True
        socket.create_connection(("127.0.0.1", self.port), PROXY_SECONDS).close()  # wakes it
        thread.join(PROXY_SECONDS)
        self.listener.close()

    def _claim(self, chunk: bytes) -> bool:
        with self.lock:
            if chunk.split(b"\r\n", 1)[0].endswith(b" HTTP/1.1"):
                self.requests.append(chunk.split(b"\r\n", 1)[0].decode())
            if self.spoiled == 0 and chunk.startswith(self.target):
                self.spoiled = 1
                return True
            return False

    def _pipe(self, downstream: socket.socket):
        """One connection, both ways, in one thread (a socket closed by another thread while
        this one reads it would not reset until the read ends)."""
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), PROXY_SECONDS)
        doomed = False
        try:
            while True:
                ready, _, _ = select.select([downstream, upstream], [], [], PROXY_SECONDS)
                if not ready:
                    return
                if downstream in ready:
                    data = downstream.recv(65536)
                    if not data:
                        return
                    if self._claim(data):
                        if self.fault == "unavailable":
                            downstream.sendall(PROXY_503)
                            return
                        doomed = True
                    upstream.sendall(data)
                if upstream in ready:
                    data = upstream.recv(65536)
                    if not data:
                        return
                    if doomed:  # the server has handled it: lose its answer
                        _reset(downstream)
                        return
                    downstream.sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()
            if downstream.fileno() != -1:
                downstream.close()


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a crashed balancer or a dropped NAT entry does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """One `helpdesk serve` behind the proxy for the module (a server start and the logins
    at the production password cost take seconds); Rita, a customer, is logged in."""
    home = tmp_path_factory.mktemp("desk")
    env = loopback_environment(settings=False)
    env.update(
        HELPDESK_DATA_DIR=str(home / "data"), HELPDESK_CONFIG=str(home / "config" / "config.json")
    )
    init_desk(env)
    with helpdesk_serve(env, home / "serve.log", "--server", "waitress") as (_, port, _health):
        proxy = FlakyProxy(port)
        thread = threading.Thread(target=proxy.serve, daemon=True)
        thread.start()
        cli_env = {**env, "HELPDESK_URL": f"http://127.0.0.1:{proxy.port}"}
        try:
            ok(helpdesk(cli_env, "login", "admin@example.test", "--password-stdin", input=PASSWORD))
            ok(helpdesk(cli_env, "org", "create", "Acme"))
            register = ("user", "register", "req@acme.test", "--name", "Rita", "--org", "Acme")
            ok(helpdesk(cli_env, *register, "--password-stdin", input=PASSWORD))
            ok(helpdesk(cli_env, "login", "req@acme.test", "--password-stdin", input=PASSWORD))
            yield SimpleNamespace(proxy=proxy, env=cli_env)
        finally:
            proxy.stop(thread)


def _tickets(env) -> list[dict]:
    return json.loads(ok(helpdesk(env, "ticket", "list", "--json")).stdout)["items"]


def _submit(env, title: str) -> dict:
    command = ("ticket", "submit", "--type", "incident", "--title", title, "--json")
    return json.loads(ok(helpdesk(env, *command)).stdout)


def test_a_submit_whose_answer_is_lost_is_sent_again_and_makes_one_ticket(desk):
    before = len(_tickets(desk.env))
    desk.proxy.arm(b"POST /api/v1/tickets ", "lose")

    submitted = _submit(desk.env, "VPN drops")

    assert desk.proxy.spoiled == 1
    assert desk.proxy.requests.count("POST /api/v1/tickets HTTP/1.1") == 2  # sent twice
    tickets = _tickets(desk.env)
    assert len(tickets) == before + 1  # created once
    assert tickets[0]["reference"] == submitted["reference"]


def test_a_503_from_the_proxy_is_waited_out(desk):
    before = len(_tickets(desk.env))
    desk.proxy.arm(b"POST /api/v1/tickets ", "unavailable")

    _submit(desk.env, "Printer jams")

    assert desk.proxy.spoiled == 1
    assert len(_tickets(desk.env)) == before + 1


def test_a_change_whose_answer_is_lost_is_not_sent_twice(desk):
    """Closing carries no key: the CLI says it got no answer rather than risk doing it twice."""
    reference = _submit(desk.env, "Wrong ticket")["reference"]
    desk.proxy.arm(f"POST /api/v1/tickets/{reference}/close ".encode(), "lose")

    closed = helpdesk(desk.env, "ticket", "close", reference)

    assert closed.returncode == 1
    assert "cannot reach" in closed.stderr and "Traceback" not in closed.stderr
    assert desk.proxy.requests.count(f"POST /api/v1/tickets/{reference}/close HTTP/1.1") == 1
    shown = json.loads(ok(helpdesk(desk.env, "ticket", "show", reference, "--json")).stdout)
    assert shown["status"] == "closed"  # the server did it, once

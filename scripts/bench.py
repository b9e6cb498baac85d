"""The benchmark of ../shared/bench/WORKLOAD.md against a real `helpdesk serve`, in one run.

    python scripts/bench.py [--tickets 20000] [--read-tickets M] [--workload-dir DIR]
    python scripts/bench.py --database postgresql://... --servers 2 [--only w4] [--w4-rounds 3]

Starts `helpdesk serve` (gunicorn, 2 workers x 4 threads) on 127.0.0.1 and a free port over a
fresh SQLite file (or an empty PostgreSQL database: --database; then --servers N starts N
servers on it, each on its own port, and client thread t of a phase talks to server t mod N;
the sequential W2, W3 and reads talk to the first), sets up the 20 organizations, 200
customers and their tokens, then runs W1a (create), W1b (comment), W2 (lists), W3 (search), W4
(mixed load) with a memory sampler, all as WORKLOAD.md says and with its generator workload.py,
imported unchanged. Then the reads of issue 10's table (optionally after seeding M more tickets
with seed_data.py), the dashboard and a filtered search (--only w4: W1, then W4 alone; it runs
--w4-rounds times). Progress goes to stderr; the last line on stdout is one JSON object with every
figure. Every loop is bounded in count and time; nothing is sent anywhere but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 30  # seconds a request (WORKLOAD.md section 1)
# WORKLOAD.md's "Open or Reopened": every status before resolved.
OPEN_STATUSES = ("new", "open", "pending")
# WORKLOAD.md's priority 1 (most urgent) .. 5 as the impact and urgency an incident asks for;
# helpdesk's priority matrix makes critical, high, medium, low of them.
IMPACT_URGENCY = {
    1: ("high", "high"),
    2: ("high", "medium"),
    3: ("medium", "medium"),
    4: ("low", "medium"),
    5: ("low", "low"),
}
ADMIN_EMAIL = "bench-admin@example.test"
# Which of the servers the current client thread talks to (an index into Bench.bases): client
# thread t of a phase talks to server t mod N; the main thread (W2, W3, the reads) to server 0.
_client = threading.local()


class Refused(Exception):
    """A run the benchmark will not start (a usage error: exit 2)."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the ceil(p/100 * n)-th smallest (WORKLOAD.md section 3), in ms."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1] * 1000, 2)


class Recorder:
    """Latencies of successful requests and error counts, per operation (thread-safe)."""

    def __init__(self, servers: int = 1):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.first_error: str | None = None
        self.per_server = [{"requests": 0, "errors": 0} for _ in range(servers)]

    def add(self, op: str, seconds: float | None, error: str | None = None) -> None:
        server = self.per_server[getattr(_client, "server", 0)]
        with self.lock:
            if error is None:
                self.latencies[op].append(seconds)
                server["requests"] += 1
            else:
                self.errors[op] += 1
                server["errors"] += 1
                self.first_error = self.first_error or f"{op}: {error}"

    def summary(self) -> dict:
        ops = sorted(set(self.latencies) | set(self.errors))
        everything = [s for op in ops for s in self.latencies[op]]
        return {
            "requests": len(everything),
            "errors": sum(self.errors.values()),
            "p50_ms": percentile(everything, 50),
            "p95_ms": percentile(everything, 95),
            "per_server": self.per_server,
            "operations": {
                op: {
                    "requests": len(self.latencies[op]),
                    "errors": self.errors[op],
                    "p50_ms": percentile(self.latencies[op], 50),
                    "p95_ms": percentile(self.latencies[op], 95),
                }
                for op in ops
            },
            **({"first_error": self.first_error} if self.first_error else {}),
        }


def timed(session, recorder, op, method, url, *, check=None, **kwargs):
    """One request, timed from just before sending to the last body byte; the JSON or None."""
    started = time.perf_counter()
    try:
        response = session.request(method, url, timeout=TIMEOUT, **kwargs)
        body = response.content  # the whole body is read before the clock stops
        elapsed = time.perf_counter() - started
    except requests.RequestException as exc:
        recorder.add(op, None, type(exc).__name__)
        return None
    if not 200 <= response.status_code < 300:
        recorder.add(op, None, f"HTTP {response.status_code} {body[:200]!r}")
        return None
    try:
        data = json.loads(body)
    except ValueError:
        recorder.add(op, None, "not JSON")
        return None
    if check is not None and not check(data):
        recorder.add(op, None, "unexpected shape")
        return None
    recorder.add(op, elapsed)
    return data


def a_page(data) -> bool:
    """WORKLOAD.md's list shape: at most 25 rows and the total."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("items"), list)
        and len(data["items"]) <= 25
        and "total" in data
    )


class Bench:
    def __init__(self, args, workload):
        self.args = args
        self.wl = workload
        self.workdir = Path(tempfile.mkdtemp(prefix="helpdesk-bench-"))
        self.database_url = args.database or f"sqlite:///{self.workdir / 'bench.db'}"
        # One free port on 127.0.0.1 for each server, all on the same database.
        self.bases = [f"http://127.0.0.1:{free_port()}/api/v1" for _ in range(args.servers)]
        self.customer_tokens: list[str] = []
        self.admin_token = ""
        self.refs: dict[int, str] = {}
        self.servers: list[subprocess.Popen] = []
        self.server_logs: list = []
        # (time, total of every tree, largest single process, total of each server's tree)
        self.rss_samples: list[tuple[float, int, int, list[int]]] = []
        self.sampling = threading.Event()

    @property
    def base(self) -> str:
        """The API root of the server the calling client thread talks to."""
        return self.bases[getattr(_client, "server", 0)]

    def recorder(self) -> Recorder:
        return Recorder(len(self.bases))

    # -- set-up -------------------------------------------------------------------------------

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        env = {k: v for k, v in env.items() if "proxy" not in k.lower()}
        env.update(
            HELPDESK_DATA_DIR=str(self.workdir / "data"),
            HELPDESK_CONFIG=str(self.workdir / "config.json"),
            HELPDESK_DATABASE=self.database_url,
            NO_PROXY="127.0.0.1,localhost",
        )
        return env

    def set_up(self) -> None:
        """Untimed: schema, admin, organizations, customers and their tokens, through the core
        (one password hash: the admin's; the API is for the timed phases)."""
        from helpdesk.db import database, init_database
        from helpdesk.migrations import create_schema
        from helpdesk.models import Membership, Organization, User
        from helpdesk.services import api_tokens, users

        os.environ.update(self.environment())
        init_database(self.database_url)
        create_schema()
        with database.connection_context():
            if User.select().exists():
                raise Refused(f"the database {self.database_url} is not empty: give a fresh one")
            admin = users.bootstrap_admin(ADMIN_EMAIL, "bench-admin-password-42", "Bench Admin")
            self.admin_token = api_tokens.issue_token(admin, name="bench")
            with database.atomic():
                orgs = [
                    Organization.create(name=self.wl.org_name(k)) for k in range(self.wl.N_ORGS)
                ]
                for c in range(self.wl.N_CUSTOMERS):
                    user = User.create(
                        email=self.wl.customer_email(c), name=self.wl.customer_username(c)
                    )
                    Membership.create(user=user, organization=orgs[self.wl.customer_org(c)])
                    self.customer_tokens.append(api_tokens.issue_token(user, name="bench"))

    def start_servers(self) -> dict:
        """`helpdesk serve` once per API root, each with the same options; the first one's
        startup object (they are alike)."""
        script = Path(sys.executable).parent / "helpdesk"
        started = []
        for k, base in enumerate(self.bases):
            port = base.split(":")[2].split("/")[0]
            command = [str(script) if script.exists() else shutil.which("helpdesk")]
            command += ["serve", "--host", "127.0.0.1", "--port", port, "--json"]
            command += ["--server", self.args.server]
            command += ["--threads", str(self.args.threads)]
            if self.args.server == "gunicorn":
                command += ["--workers", str(self.args.workers)]
            self.server_logs.append(open(self.workdir / f"serve-{k}.log", "wb"))  # noqa: SIM115
            self.servers.append(
                subprocess.Popen(
                    command,
                    env=self.environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=self.server_logs[k],
                    text=True,
                )
            )
        for k, server in enumerate(self.servers):
            lines = [server.stdout.readline()]
            while lines[-1] not in ("}\n", ""):  # the indented --json startup object
                lines.append(server.stdout.readline())
            if lines[-1] == "":
                raise SystemExit(f"serve {k} did not start:\n{self.log_text(k)}")
            started.append(json.loads("".join(lines)))
            self.wait_healthy(k)
        threading.Thread(target=self.sample_memory, daemon=True).start()
        return started[0]

    def wait_healthy(self, k: int) -> None:
        deadline = time.monotonic() + 30
        with requests.Session() as session:
            session.trust_env = False
            while True:
                try:
                    if session.get(self.bases[k] + "/health", timeout=2).ok:
                        return
                except requests.RequestException:
                    pass
                if self.servers[k].poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"serve {k} did not start:\n{self.log_text(k)}")
                time.sleep(0.1)

    def log_text(self, k: int = 0) -> str:
        return (self.workdir / f"serve-{k}.log").read_text(errors="replace")

    def stop_servers(self) -> list[int | None]:
        """SIGTERM to every server, then their exit codes (None: one had to be killed)."""
        self.sampling.set()
        for server in self.servers:
            server.send_signal(signal.SIGTERM)
        codes = []
        for server, server_log in zip(self.servers, self.server_logs, strict=True):
            try:
                codes.append(server.wait(timeout=30))
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
                codes.append(None)
            finally:
                server.stdout.close()
                server_log.close()
        return codes

    # -- memory -------------------------------------------------------------------------------

    def sample_memory(self) -> None:
        """RSS of the server's process tree every 0.2 s (WORKLOAD.md, Memory)."""
        while not self.sampling.wait(0.2):
            trees = [
                [size for size in map(rss_kb, process_tree(server.pid)) if size]
                for server in self.servers
            ]
            if any(trees):
                largest = max(max(sizes, default=0) for sizes in trees)
                per_server = [sum(sizes) for sizes in trees]
                self.rss_samples.append((time.monotonic(), sum(per_server), largest, per_server))

    def memory(self, w1_end: float) -> dict:
        def mb(kb):
            return round(kb / 1024, 1)

        by_w1 = [total for at, total, *_ in self.rss_samples if at <= w1_end]
        return {
            "peak_rss_total_mb": mb(max((t for _, t, *_ in self.rss_samples), default=0)),
            "peak_rss_largest_process_mb": mb(
                max((m for _, _, m, _ in self.rss_samples), default=0)
            ),
            "peak_rss_total_by_end_of_w1_mb": mb(max(by_w1, default=0)),
            # the peak of each server's own process tree (gunicorn master + its workers)
            "peak_rss_total_per_server_mb": [
                mb(max((sample[3][k] for sample in self.rss_samples), default=0))
                for k in range(len(self.bases))
            ],
            "samples": len(self.rss_samples),
        }

    # -- sessions -----------------------------------------------------------------------------

    def session(self, token: str) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # never through a proxy: 127.0.0.1 only
        session.headers["Authorization"] = f"Bearer {token}"
        return session

    def run_threads(self, count: int, work) -> float:
        """`work(thread_index)` in `count` threads, thread t talking to server t mod N; the
        phase's wall time."""

        def client(t):
            _client.server = t % len(self.bases)
            work(t)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(t,)) for t in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    def create(self, sessions, recorder, op, ticket: dict):
        customer = ticket["customer"]
        body = {
            "type": "incident",
            "title": ticket["title"],
            "description": ticket["description"],
        }
        body["impact"], body["urgency"] = IMPACT_URGENCY[ticket["priority"]]
        return timed(
            sessions[customer],
            recorder,
            op,
            "POST",
            self.base + "/tickets",
            json=body,
            check=lambda d: "reference" in d,
        )

    # -- W1 -----------------------------------------------------------------------------------

    def w1a(self) -> dict:
        n = self.args.tickets
        tickets = self.wl.tickets(n)
        recorder, lock, counter = self.recorder(), threading.Lock(), iter(range(n))
        deadline = time.monotonic() + self.args.w1_seconds

        def work(_t):
            sessions = {}
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                ticket = tickets[i]
                c = ticket["customer"]
                if c not in sessions:
                    sessions[c] = self.session(self.customer_tokens[c])
                data = self.create(sessions, recorder, "create", ticket)
                if data:
                    self.refs[i] = data["reference"]

        seconds = self.run_threads(4, work)
        summary = recorder.summary()
        return {
            **summary,
            "tickets_created": len(self.refs),
            "seconds": round(seconds, 2),
            "tickets_per_s": round(len(self.refs) / seconds, 1),
        }

    def w1b(self) -> dict:
        comments = self.wl.comments(self.args.tickets)
        recorder, lock, counter = self.recorder(), threading.Lock(), iter(comments)
        deadline = time.monotonic() + self.args.w1_seconds
        posted = [0]

        def work(_t):
            sessions = {}
            staff = self.session(self.admin_token)
            while time.monotonic() < deadline:
                with lock:
                    item = next(counter, None)
                if item is None:
                    return
                ref = self.refs.get(item["ticket_index"])
                if ref is None:  # its ticket failed in W1a: counted there
                    continue
                c = item["ticket_index"] % self.wl.N_CUSTOMERS
                session = sessions.setdefault(c, self.session(self.customer_tokens[c]))
                url = f"{self.base}/tickets/{ref}"
                ok = timed(
                    session,
                    recorder,
                    "comment",
                    "POST",
                    url + "/comments",
                    json={"body": item["comment"]},
                )
                if ok is not None:
                    with lock:
                        posted[0] += 1
                if ok is not None and item["close"]:
                    # "Close" as WORKLOAD.md means it: out of the open lists, still taking
                    # comments (W4 comments on any ticket). helpdesk's closed is final, so
                    # the staff account resolves it (new -> open -> resolved) instead.
                    for to in ("open", "resolved"):
                        timed(
                            staff, recorder, "resolve", "POST", url + "/transition", json={"to": to}
                        )

        seconds = self.run_threads(4, work)
        return {
            **recorder.summary(),
            "comments_posted": posted[0],
            "seconds": round(seconds, 2),
            "comments_per_s": round(posted[0] / seconds, 1),
        }

    # -- reads --------------------------------------------------------------------------------

    def customer_list(self, session, recorder, customer: int, op="customer_list"):
        params = {"status": OPEN_STATUSES, "scope": "mine", "sort": "created", "per_page": 25}
        return timed(
            session, recorder, op, "GET", self.base + "/tickets", params=params, check=a_page
        )

    def queue_list(self, session, recorder, org: int, op="queue_open_list"):
        params = {
            "status": OPEN_STATUSES,
            "organization": self.wl.org_name(org),
            "sort": "created",
            "per_page": 25,
        }
        return timed(
            session, recorder, op, "GET", self.base + "/tickets", params=params, check=a_page
        )

    def search(self, session, recorder, word: str, op="search", **filters):
        params = {"q": word, "sort": "created", "per_page": 25, **filters}
        return timed(
            session, recorder, op, "GET", self.base + "/tickets", params=params, check=a_page
        )

    def w2(self) -> dict:
        recorder = self.recorder()
        admin = self.session(self.admin_token)
        sessions = {}
        deadline = time.monotonic() + self.args.w2_seconds
        for request in self.wl.w2_requests(self.args.w2_requests):
            if time.monotonic() > deadline:
                break
            if request["kind"] == "customer_list":
                c = request["customer"]
                session = sessions.setdefault(c, self.session(self.customer_tokens[c]))
                self.customer_list(session, recorder, c)
            else:
                self.queue_list(admin, recorder, request["org"])
        return recorder.summary()

    def w3(self) -> dict:
        recorder = self.recorder()
        admin = self.session(self.admin_token)
        deadline = time.monotonic() + self.args.w3_seconds
        rare = set(self.wl.RARE)
        for request in self.wl.w3_requests(self.args.w3_requests):
            if time.monotonic() > deadline:
                break
            kind = "search_rare" if request["q"] in rare else "search_common"
            self.search(admin, recorder, request["q"], op=kind)
        return recorder.summary()

    def w4(self) -> dict:
        recorder = self.recorder()
        n = self.args.tickets
        seconds = self.args.w4_seconds

        def work(t):
            rng = self.wl.stream(self.wl.STREAM_W4_BASE + t)
            admin = self.session(self.admin_token)
            sessions = {}

            def customer(c):
                return sessions.setdefault(c, self.session(self.customer_tokens[c]))

            stop = time.monotonic() + seconds
            for seq in range(self.args.w4_max_ops):
                if time.monotonic() >= stop:
                    return
                op = self.wl.w4_next(rng, n, t, seq)
                kind = op["kind"]
                if kind == "customer_list":
                    self.customer_list(customer(op["customer"]), recorder, op["customer"])
                elif kind == "queue_open_list":
                    self.queue_list(admin, recorder, op["org"])
                elif kind == "search":
                    self.search(admin, recorder, op["q"])
                elif kind == "comment":
                    i = op["ticket_index"]
                    ref = self.refs.get(i)
                    if ref is None:
                        recorder.add(kind, None, "its ticket was not created in W1a")
                        continue
                    session = customer(i % self.wl.N_CUSTOMERS)
                    timed(
                        session,
                        recorder,
                        kind,
                        "POST",
                        f"{self.base}/tickets/{ref}/comments",
                        json={"body": op["comment"]},
                    )
                else:
                    sessions_by_customer = {
                        op["ticket"]["customer"]: customer(op["ticket"]["customer"])
                    }
                    self.create(sessions_by_customer, recorder, kind, op["ticket"])

        wall = self.run_threads(8, work)
        summary = recorder.summary()
        return {
            **summary,
            "seconds": round(wall, 2),
            "throughput_rps": round(summary["requests"] / wall, 1),
        }

    def issue_reads(self) -> dict:
        """p50/p95 of each read of issue 10's table, the dashboard and a filtered search."""
        repeats = self.args.read_repeats
        recorder = self.recorder()
        admin = self.session(self.admin_token)
        notes = {}
        refs = list(self.refs.values())
        for k in range(repeats):
            ref = refs[(k * 7919) % len(refs)] if refs else "HD-1"
            timed(
                admin,
                recorder,
                "ticket_show",
                "GET",
                f"{self.base}/tickets/{ref}",
                check=lambda d: "reference" in d,
            )
        for _ in range(repeats):
            timed(
                admin,
                recorder,
                "agent_list_first_page",
                "GET",
                self.base + "/tickets",
                params={"per_page": 25},
                check=a_page,
            )
        # Page 500 by cursor: walk there once (untimed), then time that page.
        cursor, reached = None, 1
        walker = self.recorder()
        while reached < self.args.deep_page:
            page = timed(
                admin,
                walker,
                "walk",
                "GET",
                self.base + "/tickets",
                params={"per_page": 25, "count": "false", **({"cursor": cursor} if cursor else {})},
            )
            if not page or not page.get("next"):
                break
            cursor, reached = page["next"], reached + 1
        if reached == self.args.deep_page:
            for _ in range(repeats):
                timed(
                    admin,
                    recorder,
                    f"agent_list_page_{reached}",
                    "GET",
                    self.base + "/tickets",
                    params={"per_page": 25, "cursor": cursor},
                    check=a_page,
                )
        else:
            notes["agent_list_deep_page"] = (
                f"only {reached} pages of 25: page {self.args.deep_page} skipped"
            )
        for _ in range(repeats):
            timed(
                admin,
                recorder,
                "agent_queue_open",
                "GET",
                self.base + "/tickets",
                params={"status": OPEN_STATUSES, "per_page": 25},
                check=a_page,
            )
        commons, rares = self.wl.ALL_COMMON, self.wl.RARE
        for k in range(repeats):
            self.search(admin, recorder, commons[k % len(commons)], op="search_common_word")
        for k in range(repeats):
            self.search(admin, recorder, rares[k % len(rares)], op="search_rare_word")
        for k in range(repeats):
            self.search(
                admin,
                recorder,
                commons[k % len(commons)],
                op="search_filtered",
                status=OPEN_STATUSES,
                priority="high",
                organization=self.wl.org_name(k % self.wl.N_ORGS),
            )
        probe = admin.get(self.base + "/dashboard", timeout=TIMEOUT)
        if probe.status_code == 404:
            notes["dashboard"] = "GET /api/v1/dashboard answered 404: not on this version"
        else:
            for _ in range(repeats):
                timed(admin, recorder, "dashboard", "GET", self.base + "/dashboard")
        summary = recorder.summary()
        return {"repeats": repeats, **summary, "notes": notes}

    def postgresql_version(self) -> str:
        from helpdesk.db import database

        with database.connection_context():
            return database.execute_sql("SHOW server_version").fetchone()[0]

    def seed_more(self, count: int) -> dict:
        sys.path.insert(0, str(ROOT / "scripts"))
        seed_data = importlib.import_module("seed_data")
        from helpdesk.db import database

        started = time.monotonic()
        with database.connection_context():
            summary = seed_data.seed(tickets=count, orgs=50, users=2000, seed_value=1)
        return {**summary, "seconds": round(time.monotonic() - started, 1)}

    def outbox(self) -> dict:
        from peewee import fn

        from helpdesk.db import database
        from helpdesk.models import OutboxMessage

        with database.connection_context():
            statuses = {
                status: n
                for status, n in OutboxMessage.select(
                    OutboxMessage.status, fn.COUNT(OutboxMessage.id)
                )
                .group_by(OutboxMessage.status)
                .tuples()
            }
        return statuses


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo and len(found) < 1000:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=20000, help="N of WORKLOAD.md")
    parser.add_argument(
        "--read-tickets",
        type=int,
        default=0,
        help="seed this many more tickets (seed_data.py) before the reads",
    )
    parser.add_argument(
        "--workload-dir",
        type=Path,
        default=ROOT.parent / "shared" / "bench",
        help="where workload.py is (default: ../shared/bench)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="an empty PostgreSQL database (postgresql://...) instead of a fresh SQLite file",
    )
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="start N `helpdesk serve` on the same database (PostgreSQL when N > 1); client "
        "thread t of a phase talks to server t mod N",
    )
    parser.add_argument("--server", default="gunicorn", choices=("gunicorn", "waitress"))
    parser.add_argument("--workers", type=int, default=2, help="per server")
    parser.add_argument("--threads", type=int, default=4, help="per worker")
    parser.add_argument(
        "--only",
        choices=("w4",),
        help="w4: only W1 (the load W4 needs) and W4; no W2, W3 or reads",
    )
    parser.add_argument(
        "--w4-rounds", type=int, default=1, help="run W4 this many times after one load"
    )
    parser.add_argument("--w1-seconds", type=float, default=1500, help="bound of W1a and W1b")
    parser.add_argument("--w2-requests", type=int, default=300)
    parser.add_argument("--w2-seconds", type=float, default=420)
    parser.add_argument("--w3-requests", type=int, default=200)
    parser.add_argument("--w3-seconds", type=float, default=420)
    parser.add_argument("--w4-seconds", type=float, default=20)
    parser.add_argument("--w4-max-ops", type=int, default=100_000, help="per W4 thread")
    parser.add_argument("--read-repeats", type=int, default=50, help="requests per read")
    parser.add_argument("--deep-page", type=int, default=500, help="the deep page by cursor")
    args = parser.parse_args(argv)
    if args.tickets < 1:
        parser.error("--tickets must be at least 1")
    if not 1 <= args.servers <= 16:
        parser.error("--servers must be between 1 and 16")
    if args.w4_rounds < 1:
        parser.error("--w4-rounds must be at least 1")
    if args.database and not args.database.startswith(("postgresql://", "postgres://")):
        parser.error(f"--database must be a PostgreSQL URL (postgresql://...), not {args.database}")
    if args.servers > 1 and not args.database:
        # Two servers share a database over the network; a SQLite file cannot be shared by
        # two machines, and on one machine a second server is only more worker processes.
        parser.error("--servers above 1 needs a PostgreSQL database: give --database URL")
    if not (args.workload_dir / "workload.py").exists():
        parser.error(f"no workload.py in {args.workload_dir} (see --workload-dir)")
    sys.path.insert(0, str(args.workload_dir))
    workload = importlib.import_module("workload")

    import gunicorn
    import waitress  # noqa: F401  (its version below)

    from helpdesk import __version__

    bench = Bench(args, workload)
    result: dict = {
        "tickets": args.tickets,
        "versions": {
            "python": platform.python_version(),
            "helpdesk": __version__,
            "wsgi_server": f"{args.server} "
            + (gunicorn.__version__ if args.server == "gunicorn" else _version("waitress")),
            "sqlite": __import__("sqlite3").sqlite_version,
        },
    }
    log(f"set-up in {bench.workdir}")
    try:
        bench.set_up()
    except Refused as exc:
        shutil.rmtree(bench.workdir, ignore_errors=True)
        parser.error(str(exc))
    if args.database:
        result["versions"]["postgresql"] = bench.postgresql_version()
    try:
        started = bench.start_servers()
        result["server"] = {k: started[k] for k in ("server", "workers", "threads")}
        result["server"]["servers"] = args.servers
        log(f"{args.servers} server(s): {', '.join(bench.bases)}")
        log(f"W1a: {args.tickets} tickets")
        result["w1a"] = bench.w1a()
        log(f"W1a: {result['w1a']['tickets_per_s']} tickets/s; W1b")
        result["w1b"] = bench.w1b()
        w1_end = time.monotonic()
        log(f"W1b: {result['w1b']['comments_per_s']} comments/s")
        if args.only != "w4":
            log("W2")
            result["w2"] = bench.w2()
            log("W3")
            result["w3"] = bench.w3()
        rounds = []
        for k in range(args.w4_rounds):
            log(f"W4 (round {k + 1} of {args.w4_rounds})")
            rounds.append(bench.w4())
            log(f"W4: {rounds[-1]['throughput_rps']} req/s, {rounds[-1]['errors']} errors")
        result["w4"] = rounds[0]
        if args.w4_rounds > 1:
            result["w4_rounds"] = rounds
            result["w4_median_throughput_rps"] = statistics.median(
                r["throughput_rps"] for r in rounds
            )
        if args.only != "w4":
            if args.read_tickets:
                log(f"issue 10 reads at {args.tickets} tickets")
                result["reads_before_seeding"] = bench.issue_reads()
                log(f"seeding {args.read_tickets} more tickets")
                result["seeded_for_reads"] = bench.seed_more(args.read_tickets)
            log("issue 10 reads")
            result["reads"] = bench.issue_reads()
        outbox = bench.outbox()
        result["email"] = {
            "mode": "queued in the outbox, rendered when sent; not sent (no SMTP server)",
            "outbox": outbox,
        }
    finally:
        codes = bench.stop_servers()
        result["server_exit_codes"] = codes
        # 0 when every server stopped cleanly on SIGTERM; else the first that did not
        result["server_exit_code"] = next((c for c in codes if c != 0), 0 if codes else None)
        result["memory"] = bench.memory(locals().get("w1_end", time.monotonic()))
        if "w1a" not in result:
            for k in range(len(bench.servers)):
                log(bench.log_text(k)[-3000:])
    result["errors_total"] = sum(
        result[w]["errors"]
        for w in ("w1a", "w1b", "w2", "w3", "reads_before_seeding", "reads")
        if w in result
    ) + sum(r["errors"] for r in result.get("w4_rounds", [result["w4"]] if "w4" in result else []))
    shutil.rmtree(bench.workdir, ignore_errors=True)
    print(json.dumps(result, sort_keys=True))
    return 0


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    sys.exit(main())

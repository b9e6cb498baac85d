"""Where a write request's time goes: ticket creates and comments through the Flask app.

In-process (the test client, no HTTP server), on a fresh SQLite file in WAL for every run, with
pooled connections as `helpdesk serve` has, an agent's token and a customer's. Prints the median
time per request of each kind over `--runs` runs of `--requests` requests; with `--profile KIND`
the top of a cProfile of one run of that kind (cumulative time); with `--sql-share` how much of
a request's CPU goes to building SQL text (peewee) and to running it.

    .venv/bin/python scripts/profile_writes.py --runs 5 --requests 200
    .venv/bin/python scripts/profile_writes.py --runs 1 --profile customer-create
    .venv/bin/python scripts/profile_writes.py --requests 300 --sql-share
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

KINDS = ("customer-create", "customer-comment", "agent-create", "agent-comment")
AGENTS = 3  # every agent hears of each new unassigned ticket (notify_unassigned=all)
DESCRIPTION = "The printer on the second floor prints blank pages since the update. " * 4


def _world(client_app):
    """An organization, a customer, agents and their tokens; a ticket to comment on."""
    from helpdesk.db import database
    from helpdesk.models import Membership, Organization, User
    from helpdesk.services import api_tokens, tickets

    with database.connection_context():
        org = Organization.create(name="Acme")
        customer = User.create(email="sam@acme.test", name="Sam Customer", kind="customer")
        Membership.create(user=customer, organization=org, role="user")
        agents = [
            User.create(email=f"agent{n}@example.test", name=f"Agent {n}", kind="agent")
            for n in range(AGENTS)
        ]
        ticket = tickets.submit_ticket(actor=customer, type="incident", title="Comment here")
        return {
            "customer": {"Authorization": f"Bearer {api_tokens.issue_token(customer)}"},
            "agent": {"Authorization": f"Bearer {api_tokens.issue_token(agents[0])}"},
            "reference": ticket.reference,
        }


def _requests(kind: str, world: dict, count: int):
    """The (url, json, headers) of `count` requests of one kind."""
    who, what = kind.split("-")
    headers = world[who]
    for n in range(count):
        if what == "create":
            body = {"type": "incident", "title": f"Printer {n} prints blank pages"}
            body["description"] = DESCRIPTION
            if who == "agent":
                body["requester"] = "sam@acme.test"
            yield "/api/v1/tickets", body, headers
        else:
            body = {"body": f"Reply {n}: still blank after a restart, thanks."}
            yield f"/api/v1/tickets/{world['reference']}/comments", body, headers


def run(kind: str, count: int, profiler: cProfile.Profile | None = None) -> tuple[float, float]:
    """Wall and CPU seconds per request of `count` requests of one kind on a fresh database
    (CPU: this process's own, which other loads of a shared machine move less)."""
    from helpdesk.config import use_settings
    from helpdesk.db import database, init_database
    from helpdesk.migrations import create_schema
    from helpdesk.server import create_app

    with tempfile.TemporaryDirectory() as directory:
        os.environ["HELPDESK_DATA_DIR"] = directory
        os.environ["HELPDESK_CONFIG"] = str(Path(directory) / "config.json")
        use_settings(None)
        url = f"sqlite:///{directory}/helpdesk.db"
        os.environ["HELPDESK_DATABASE"] = url  # this file, whatever the environment names
        # Pooled, as `helpdesk serve` runs: no connection opened and closed per request.
        init_database(url, pooled=True)
        with database.connection_context():
            create_schema()
        app = create_app({"TESTING": False, "DATABASE_POOL": True})
        client = app.test_client()
        world = _world(app)
        requests = list(_requests(kind, world, count))
        if profiler:
            profiler.enable()
        start, start_cpu = time.perf_counter(), time.process_time()
        for url, body, headers in requests:
            response = client.post(url, json=body, headers=headers)
            if response.status_code not in (200, 201):
                raise SystemExit(f"{kind}: {response.status_code} {response.get_data(True)}")
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if profiler:
            profiler.disable()
        database.close()
    return elapsed / count, cpu / count


def sql_share(count: int) -> None:
    """Per request of each kind: CPU, and the part of it spent building statements' text and
    running them (peewee's Database.execute, timed in two halves)."""
    import peewee

    spent = {"build": 0.0, "run": 0.0, "statements": 0}

    def execute(self, query, commit=None, **context_options):
        started = time.process_time()
        sql, params = self.get_sql_context(**context_options).sql(query).query()
        built = time.process_time()
        cursor = self.execute_sql(sql, params)
        spent["build"] += built - started
        spent["run"] += time.process_time() - built
        spent["statements"] += 1
        return cursor

    peewee.Database.execute = execute  # this script's own process only
    for kind in KINDS:
        spent.update(build=0.0, run=0.0, statements=0)
        _, cpu = run(kind, count)
        build, ran = spent["build"] / count, spent["run"] / count
        print(
            f"{kind:17} cpu {cpu * 1000:5.2f} ms/request: building SQL {build * 1000:5.2f} ms"
            f" ({build / cpu:3.0%}), running it {ran * 1000:5.2f} ms,"
            f" {spent['statements'] / count:4.1f} statements"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", choices=KINDS, help="print the top of one run's profile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--sql-share", action="store_true", help="CPU spent building and running SQL"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if args.sql_share:
        sql_share(args.requests)
        return
    if args.profile:
        profiler = cProfile.Profile()
        per_request, _ = run(args.profile, args.requests, profiler)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(args.top)
        print(out.getvalue())
        print(f"{args.profile}: {per_request * 1000:.2f} ms/request (under the profiler)")
        return
    for kind in KINDS:
        runs = [run(kind, args.requests) for _ in range(args.runs)]
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(
            f"{kind:17} median wall {wall * 1000:6.2f} ms/request ({1 / wall:4.0f}/s),"
            f" cpu {cpu * 1000:6.2f} ms; wall runs: "
            + ", ".join(f"{w * 1000:.1f}" for w, _ in runs)
        )


if __name__ == "__main__":
    main()

"""What one request costs in CPU, server and client, by kind, through a real `helpdesk serve`.

The benchmark's set-up and server (scripts/bench.py: gunicorn 2 workers x 4 threads, a fresh
SQLite file, the workload's customers and tokens), then each kind of request for `--seconds`
from client threads using `requests`: a GET of three index reads (`/health`), one that checks the
token and reads the caller (`/me`), a ticket create (4 threads, as W1a), a customer's open
list and a queue's open list (as W2 and W4). For each kind: requests per second, and the CPU
of the server's process tree and of this client process per request (from /proc and
process_time). On a machine of C cores, no mix of requests goes faster than
C x 1000 / (server + client CPU ms) per second.

    .venv/bin/python scripts/request_costs.py --seconds 10

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402  (this directory's benchmark: its set-up and server)

KINDS = ("health", "me", "create", "customer_list", "queue_list")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far."""
    total = 0
    for member in bench.process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone since the tree was listed
            continue
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="time spent on each kind")
    parser.add_argument("--workload-dir", type=Path, default=ROOT.parent / "shared" / "bench")
    args = parser.parse_args(argv)
    if not (args.workload_dir / "workload.py").exists():
        parser.error(f"no workload.py in {args.workload_dir} (see --workload-dir)")
    sys.path.insert(0, str(args.workload_dir))
    workload = importlib.import_module("workload")
    setting = argparse.Namespace(
        tickets=1, server="gunicorn", workers=2, threads=4, database=None, servers=1
    )
    runner = bench.Bench(setting, workload)
    tickets = workload.tickets(2000)
    results: dict = {}
    try:
        runner.set_up()
        runner.start_servers()
        for kind in KINDS:
            done, lock = [0], threading.Lock()
            stop = time.monotonic() + args.seconds

            def work(t: int, kind=kind, done=done, lock=lock, stop=stop) -> None:
                customer = runner.customer_tokens[t]
                session = runner.session(runner.admin_token if kind == "queue_list" else customer)
                n = t
                while time.monotonic() < stop:
                    if kind == "create":
                        ticket = tickets[n % len(tickets)]
                        n += 8
                        body = {"type": "incident", "title": ticket["title"]}
                        body["description"] = ticket["description"]
                        response = session.post(runner.base + "/tickets", json=body, timeout=30)
                    elif kind == "customer_list":
                        params = {"status": bench.OPEN_STATUSES, "scope": "mine", "per_page": 25}
                        response = session.get(runner.base + "/tickets", params=params, timeout=30)
                    elif kind == "queue_list":
                        params = {
                            "status": bench.OPEN_STATUSES,
                            "organization": workload.org_name(t % workload.N_ORGS),
                            "per_page": 25,
                        }
                        response = session.get(runner.base + "/tickets", params=params, timeout=30)
                    else:
                        response = session.get(f"{runner.base}/{kind}", timeout=30)
                    if not response.ok:
                        raise SystemExit(f"{kind}: {response.status_code} {response.text[:200]}")
                    with lock:
                        done[0] += 1

            server_before, client_before = (
                tree_cpu_seconds(runner.servers[0].pid),
                time.process_time(),
            )
            wall = runner.run_threads(4 if kind == "create" else 8, work)
            server = tree_cpu_seconds(runner.servers[0].pid) - server_before
            client = time.process_time() - client_before
            count = max(done[0], 1)
            results[kind] = {
                "requests": done[0],
                "requests_per_s": round(done[0] / wall, 1),
                "server_cpu_ms": round(server / count * 1000, 2),
                "client_cpu_ms": round(client / count * 1000, 2),
            }
            bench.log(f"{kind}: {results[kind]}")
    finally:
        runner.stop_servers()
        shutil.rmtree(runner.workdir, ignore_errors=True)
    results["cores"] = os.cpu_count()
    print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""scripts/bench.py end to end at a tiny size: a real `helpdesk serve`, every phase, one JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import another_postgres_database

ROOT = Path(__file__).resolve().parents[1]
WORKLOAD_DIR = ROOT.parent / "shared" / "bench"


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    """`python scripts/NAME ARGS...` to its end (bounded), its output as text."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


needs_workload = pytest.mark.skipif(
    not (WORKLOAD_DIR / "workload.py").exists(), reason="no ../shared/bench/workload.py"
)


# The benchmark makes its own fresh SQLite file whatever backend the suite runs on.
@pytest.mark.sqlite_only
@needs_workload
def test_bench_runs_every_phase_and_ends_with_one_json_line():
    result = run_script(
        "bench.py",
        *("--tickets", "60", "--workload-dir", str(WORKLOAD_DIR)),
        *("--w2-requests", "20", "--w3-requests", "10", "--w4-seconds", "1"),
        *("--read-repeats", "2", "--deep-page", "2"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.splitlines()[-1])

    assert figures["tickets"] == 60
    assert figures["errors_total"] == 0, result.stdout
    assert figures["server"] == {"server": "gunicorn", "workers": 2, "threads": 4, "servers": 1}
    assert figures["server_exit_code"] == 0  # stopped cleanly by SIGTERM
    assert set(figures["versions"]) >= {"python", "helpdesk", "wsgi_server"}
    assert figures["versions"]["wsgi_server"].startswith("gunicorn ")
    assert figures["w1a"]["tickets_created"] == 60 and figures["w1a"]["tickets_per_s"] > 0
    assert figures["w1b"]["comments_posted"] > 0 and figures["w1b"]["comments_per_s"] > 0
    assert figures["w2"]["requests"] == 20
    assert set(figures["w2"]["operations"]) == {"customer_list", "queue_open_list"}
    assert figures["w3"]["requests"] == 10
    assert set(figures["w3"]["operations"]) == {"search_common", "search_rare"}
    assert figures["w4"]["throughput_rps"] > 0
    assert set(figures["w4"]["operations"]) <= {
        "customer_list", "queue_open_list", "search", "comment", "create"
    }  # fmt: skip
    for phase in ("w2", "w3", "w4"):
        assert figures[phase]["p50_ms"] <= figures[phase]["p95_ms"]
    reads = figures["reads"]["operations"]
    assert set(reads) >= {
        "ticket_show",
        "agent_list_first_page",
        "agent_list_page_2",
        "agent_queue_open",
        "search_common_word",
        "search_rare_word",
        "search_filtered",
    }
    assert ("dashboard" in reads) != ("dashboard" in figures["reads"]["notes"])
    memory = figures["memory"]
    assert 0 < memory["peak_rss_largest_process_mb"] <= memory["peak_rss_total_mb"]
    assert figures["email"]["outbox"]  # notifications were rendered into the outbox


@pytest.fixture
def bench_database():
    with another_postgres_database("helpdesk_bench") as url:
        yield url


@pytest.mark.postgres_only
@needs_workload
def test_bench_spreads_the_clients_over_two_servers_on_one_postgresql(bench_database):
    result = run_script(
        "bench.py",
        *("--database", bench_database, "--servers", "2", "--only", "w4"),
        *("--tickets", "40", "--workload-dir", str(WORKLOAD_DIR), "--w4-seconds", "1"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.splitlines()[-1])

    assert figures["server"]["servers"] == 2
    assert figures["errors_total"] == 0, result.stdout
    assert figures["server_exit_codes"] == [0, 0]
    assert figures["versions"]["postgresql"]
    assert figures["w1a"]["tickets_created"] == 40
    # W4's 8 client threads: 4 on each server, and each server answered its share
    w4 = figures["w4"]["per_server"]
    assert len(w4) == 2 and all(server["requests"] > 0 for server in w4), w4
    assert all(server["errors"] == 0 for server in w4)
    assert sum(server["requests"] for server in w4) == figures["w4"]["requests"]
    assert all(server["requests"] > 0 for server in figures["w1a"]["per_server"])
    assert "w2" not in figures and "reads" not in figures  # --only w4
    per_server_mb = figures["memory"]["peak_rss_total_per_server_mb"]
    assert len(per_server_mb) == 2 and all(mb > 0 for mb in per_server_mb)


@needs_workload
def test_bench_refuses_two_servers_on_a_sqlite_file():
    result = run_script("bench.py", "--servers", "2", "--workload-dir", str(WORKLOAD_DIR))
    assert result.returncode == 2
    assert "--servers above 1 needs a PostgreSQL database" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.sqlite_only
def test_profile_writes_says_where_a_write_request_s_cpu_goes():
    result = run_script("profile_writes.py", "--requests", "3", "--sql-share")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "customer-create",
        "customer-comment",
        "agent-create",
        "agent-comment",
    ]
    assert all("building SQL" in line and "statements" in line for line in lines)


@pytest.mark.sqlite_only
@needs_workload
def test_request_costs_measures_each_kind_through_a_real_server():
    result = run_script("request_costs.py", "--seconds", "0.3", "--workload-dir", str(WORKLOAD_DIR))
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.splitlines()[-1])
    for kind in ("health", "me", "create", "customer_list", "queue_list"):
        assert figures[kind]["requests"] > 0, kind
        assert figures[kind]["server_cpu_ms"] >= 0 and figures[kind]["client_cpu_ms"] > 0

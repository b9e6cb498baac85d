"""A real `helpdesk serve` writes one JSON line per request on its stderr (HELPDESK_LOG_FORMAT),
with the client a trusted proxy named; loopback only, every wait bounded."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import HELPDESK_SCRIPT, PASSWORD, helpdesk_serve, loopback_environment

LOG_SECONDS = 10


@pytest.fixture
def serve_env(tmp_path):
    env = loopback_environment(settings=False)
    env.update(
        HELPDESK_DATA_DIR=str(tmp_path / "data"),
        HELPDESK_CONFIG=str(tmp_path / "config" / "config.json"),
        HELPDESK_LOG_FORMAT="json",
        HELPDESK_TRUSTED_PROXIES="127.0.0.1",  # the test stands in for the proxy
    )
    subprocess.run(
        [HELPDESK_SCRIPT, "init", "--admin-email", "admin@example.test", "--password-stdin"],
        env=env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return env


def access_line(log: Path, request_id: str) -> dict:
    """The server's JSON log line of that request, once written."""
    deadline = time.monotonic() + LOG_SECONDS
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if request_id in line:
                return json.loads(line)
        time.sleep(0.05)
    pytest.fail(f"no log line for {request_id} within {LOG_SECONDS} s:\n{log.read_text()}")


@pytest.mark.parametrize(
    "server", [("--server", "waitress"), ("--server", "gunicorn", "--workers", "2")]
)
def test_serve_logs_a_json_line_per_request(serve_env, tmp_path, server):
    token = next(
        iter(json.loads(Path(serve_env["HELPDESK_CONFIG"]).read_text())["tokens"].values())
    )
    log = tmp_path / "serve.log"
    with helpdesk_serve(serve_env, log, *server) as (url, _port, _health):
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as http:
            resp = http.get(
                "/api/v1/tickets?q=not-for-the-log",
                headers={
                    "Authorization": f"Bearer {token}",
                    "X-Request-Id": "ci-run-7",
                    "X-Forwarded-For": "198.51.100.7",
                },
            )
            assert resp.status_code == 200
            assert resp.headers["X-Request-Id"] == "ci-run-7"
            line = access_line(log, "ci-run-7")

    assert line["logger"] == "helpdesk.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/tickets", 200)
    assert line["user_id"] == 1  # the admin `helpdesk init` made
    assert line["client"] == "198.51.100.7"
    assert line["duration_ms"] >= 0
    assert "not-for-the-log" not in log.read_text()

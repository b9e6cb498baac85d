"""How long a password-reset request takes for a known and for an unknown address.

Usage: .venv/bin/python scripts/reset_timing.py [ROUNDS]

A throw-away database in a temporary directory, the real app through Flask's test client, the
production password-hash cost; the rounds alternate known and unknown addresses, each from its
own client address so that the throttle never answers instead. Prints the median and the
quartiles of each, in milliseconds.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time


def main(rounds: int) -> None:
    workdir = tempfile.mkdtemp(prefix="helpdesk-reset-timing-")
    os.environ["HELPDESK_DATA_DIR"] = workdir
    os.environ.pop("HELPDESK_DATABASE", None)
    os.environ["HELPDESK_ACCOUNT_EMAILS_PER_RECIPIENT"] = str(rounds * 2 + 10)

    from helpdesk.config import load_settings
    from helpdesk.db import database, init_database
    from helpdesk.migrations import create_schema
    from helpdesk.server import create_app
    from helpdesk.services import users

    init_database(load_settings().database_url)
    create_schema()  # what `helpdesk db upgrade` does
    app = create_app()
    with database.connection_context():
        users.bootstrap_admin("admin@example.test", "admin-password-42")
    client = app.test_client()
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for n in range(rounds + 5):
        for kind, email in (("known", "admin@example.test"), ("unknown", f"nobody{n}@x.test")):
            start = time.perf_counter()
            resp = client.post(
                "/api/v1/account/password-reset",
                json={"email": email},
                environ_base={
                    "REMOTE_ADDR": f"10.{n // 250}.{n % 250}.{1 if kind == 'known' else 2}"
                },
            )
            elapsed = (time.perf_counter() - start) * 1000
            assert resp.status_code == 202, resp.get_json()
            if n >= 5:  # the first rounds warm caches up
                times[kind].append(elapsed)
    for kind, values in times.items():
        q1, median, q3 = statistics.quantiles(values, n=4)
        print(f"{kind:8} n={len(values)} median {median:.1f} ms (quartiles {q1:.1f}-{q3:.1f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)

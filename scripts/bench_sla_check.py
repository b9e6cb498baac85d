"""Time `sla check` (the cron job) on a desk where many tickets have breached (a benchmark).

    python scripts/bench_sla_check.py [--tickets N] [--runs R]

Submits N tickets under a business-hours SLA policy into a throw-away SQLite database, moves
the clock ten days on, and times the first check (which records every breach, its event and
its emails) and then R more checks that have nothing new to record (what cron does every few
minutes afterwards). Prints the first check's seconds and the median of the others.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    os.environ["HELPDESK_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-sla-")
    os.environ.pop("HELPDESK_DATABASE", None)
    from helpdesk.clock import clock
    from helpdesk.config import load_settings, use_settings
    from helpdesk.db import database, init_database
    from helpdesk.migrations import create_schema
    from helpdesk.models import Membership, Organization, User
    from helpdesk.services import catalog, contracts, sla, tickets

    settings = use_settings(load_settings())
    init_database(settings.database_url)
    create_schema()
    with database.connection_context():
        admin = User.create(email="admin@bench.test", name="Admin", kind="admin")
        customer = User.create(email="customer@bench.test", name="Customer")
        Membership.create(user=customer, organization=Organization.create(name="Acme"))
        sla.add_calendar(
            "Office", actor=admin, timezone="Europe/Prague", days="mon-fri", hours="09:00-17:00"
        )
        sla.add_policy("Standard", ["medium:4h:16h"], actor=admin, calendar="Office")
        catalog.add_service("Office IT", actor=admin)
        contracts.add_contract("Acme", ["Office IT"], actor=admin, sla="Standard")
        clock.freeze(datetime(2026, 11, 27, 14, 30))
        for n in range(args.tickets):
            tickets.submit_ticket(
                actor=customer, type="incident", title=f"Ticket {n}", service="Office IT"
            )
        clock.advance(days=10)

        started = time.perf_counter()
        first = sla.check(actor=admin)
        first_seconds = time.perf_counter() - started
        repeats = []
        for _ in range(args.runs):
            started = time.perf_counter()
            again = sla.check(actor=admin)
            repeats.append(time.perf_counter() - started)
            assert again == {"breached": [], "warned": []}, again
    print(
        f"{args.tickets} tickets: first check {len(first['breached'])} breaches in "
        f"{first_seconds:.2f} s; later checks, median of {args.runs}: "
        f"{statistics.median(repeats) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()

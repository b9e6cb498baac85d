"""What each query of the agent dashboard costs on a database, and the whole service.

In-process, no HTTP: the agent with the most assigned tickets in work calls
`dashboard(actor=...)` once while peewee's log records its SQL; then each query is run again
and timed (median of `--runs`, after one warm-up), and so is the whole service.

    .venv/bin/python scripts/time_dashboard.py --database sqlite:////tmp/tally/db.sqlite
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time


class _Recorder(logging.Handler):
    """Keeps each (sql, params) peewee logs."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[tuple[str, list]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple):
            self.queries.append(record.msg)


def _median_ms(call, runs: int) -> float:
    call()  # warm-up: the pages it reads are then in the cache, as on a busy server
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="database URL")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each query")
    args = parser.parse_args(argv)

    from peewee import fn

    from helpdesk.db import database, init_database
    from helpdesk.models import Ticket, User
    from helpdesk.services import dashboard

    init_database(args.database)
    with database.connection_context():
        busiest = (
            Ticket.select(Ticket.assignee)
            .where(Ticket.assignee.is_null(False) & (Ticket.status != "closed"))
            .group_by(Ticket.assignee)
            .order_by(fn.COUNT(Ticket.id).desc())
            .limit(1)
            .scalar()
        )
        if busiest is None:
            parser.error("no ticket in work is assigned to an agent")
        agent = User.get_by_id(busiest)
        print(f"{Ticket.select().count():,} tickets; agent {agent.email}")
        recorder, log = _Recorder(), logging.getLogger("peewee")
        level = log.level
        log.setLevel(logging.DEBUG)
        log.addHandler(recorder)
        try:
            dashboard.dashboard(actor=agent)
        finally:
            log.removeHandler(recorder)
            log.setLevel(level)
        for sql, params in recorder.queries:
            run = lambda sql=sql, params=params: database.execute_sql(sql, params).fetchall()  # noqa: E731
            took = _median_ms(run, args.runs)
            print(f"{took:9.2f} ms  {sql}")
        took = _median_ms(lambda: dashboard.dashboard(actor=agent), args.runs)
        print(f"{took:9.2f} ms  the whole dashboard(actor=agent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

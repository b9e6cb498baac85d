"""The one source of the current time, so that tests move it instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The wall clock in naive UTC (what the database stores), plus an offset tests set."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.frozen: datetime | None = None

    def now(self) -> datetime:
        if self.frozen is not None:
            return self.frozen + self.offset
        return datetime.now(UTC).replace(tzinfo=None) + self.offset

    def freeze(self, at: datetime) -> None:
        """Stop the clock at `at` (naive UTC); advance() still moves it: hand-worked SLA cases."""
        self.frozen, self.offset = at, timedelta(0)

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. advance(minutes=16): lockouts and links expire at once."""
        self.offset += timedelta(**delta)

    def reset(self) -> None:
        self.offset = timedelta(0)
        self.frozen = None


clock = Clock()

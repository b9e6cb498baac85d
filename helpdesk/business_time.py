"""SLA clock arithmetic: durations, working calendars, and business time between instants.

Pure functions on naive-UTC datetimes (what the database stores); no database, no web.
A calendar's working hours are local times in its zone, so a working day keeps 09:00-17:00
on the days daylight-saving time starts or ends, even though those days last 23 or 25 hours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpdesk.errors import ValidationFailed
from helpdesk.i18n import N_

# The most days one computation walks: ten years of calendar days. Past it (a calendar whose
# every day is a holiday, a target of decades) we raise instead of looping for a long time.
MAX_DAYS = 3660
# The longest duration parse_duration accepts; also keeps timedelta far from overflowing.
MAX_DURATION = timedelta(days=3650)
DURATION_RE = re.compile(r"(?:(?P<d>\d{1,5})d)?(?:(?P<h>\d{1,6})h)?(?:(?P<m>\d{1,8})m)?")
MIDNIGHT = time(0)


def parse_duration(value: object, *, field: str = "duration") -> timedelta:
    """Read "30m", "4h", "2d" or "1h30m" (days, hours, minutes in that order); "d" is 24 hours."""
    if not isinstance(value, str):
        raise ValidationFailed(N_("{field} must be text such as 30m, 4h or 2d."), field=field)
    text = value.strip().lower()
    match = DURATION_RE.fullmatch(text)
    if not text or not match:
        raise ValidationFailed(
            N_("{field} must be a duration such as 30m, 4h, 2d or 1h30m (got {got!r})."),
            field=field,
            got=value,
        )
    parts = {unit: int(amount or 0) for unit, amount in match.groupdict().items()}
    duration = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"])
    if duration <= timedelta(0) or duration > MAX_DURATION:
        raise ValidationFailed(
            N_("{field} must be longer than zero and at most {max_days} days (got {got!r})."),
            field=field,
            max_days=MAX_DURATION.days,
            got=value,
        )
    return duration


@dataclass(frozen=True)
class Calendar:
    """When the SLA clock runs: working weekdays (Monday is 0), hours and holidays, in a zone.

    `end` of 00:00 means midnight at the end of the day (24:00), so 00:00-00:00 is the
    whole day. Holidays are dates in the calendar's zone.
    """

    timezone: str = "UTC"
    weekdays: frozenset[int] = frozenset(range(5))
    start: time = time(9)
    end: time = time(17)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValidationFailed(
                N_("Unknown time zone {timezone!r}: use an IANA name such as Europe/Rome."),
                {"field": "timezone"},
                timezone=str(self.timezone),
            ) from None
        # Frozen: normalise the collections through object.__setattr__ so lists are accepted.
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValidationFailed(
                N_("Working weekdays must be some of 0 (Monday) to 6 (Sunday), at least one."),
                {"field": "weekdays"},
            )
        if not all(isinstance(day, date) for day in self.holidays):
            raise ValidationFailed(N_("Holidays must be dates."), {"field": "holidays"})
        if self.end != MIDNIGHT and self.end <= self.start:
            raise ValidationFailed(
                N_("Working hours must end after they start (got {start}-{end})."),
                {"field": "hours"},
                start=f"{self.start:%H:%M}",
                end=f"{self.end:%H:%M}",
            )

    @classmethod
    def around_the_clock(cls) -> Calendar:
        """The 24x7 calendar, for policies without one: every instant is business time."""
        return cls(timezone="UTC", weekdays=frozenset(range(7)), start=MIDNIGHT, end=MIDNIGHT)

    @property
    def is_around_the_clock(self) -> bool:
        return (
            len(self.weekdays) == 7
            and self.start == MIDNIGHT
            and self.end == MIDNIGHT
            and not self.holidays
        )

    def working_periods(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Naive-UTC (start, end) of each working day from the local day holding `since` on.

        Stops with a ValidationFailed after MAX_DAYS days, so callers' loops are bounded.
        """
        zone = ZoneInfo(self.timezone)
        day = since.replace(tzinfo=UTC).astimezone(zone).date()
        for _ in range(MAX_DAYS):
            if day.weekday() in self.weekdays and day not in self.holidays:
                ends_on = day + timedelta(days=1) if self.end == MIDNIGHT else day
                opens = _to_utc(datetime.combine(day, self.start, tzinfo=zone))
                closes = _to_utc(datetime.combine(ends_on, self.end, tzinfo=zone))
                # Hours inside a spring-forward gap can map "backwards"; such a day counts 0.
                if closes > opens:
                    yield opens, closes
            day += timedelta(days=1)
        raise ValidationFailed(
            N_("The business-time computation spans more than {max_days} days of this calendar."),
            max_days=MAX_DAYS,
        )


def _to_utc(moment: datetime) -> datetime:
    """Naive UTC, as stored; aware datetimes are converted, naive ones are taken as UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def business_elapsed(start: datetime, end: datetime, calendar: Calendar) -> timedelta:
    """Business time between two naive-UTC instants; zero when `end` is not after `start`."""
    start, end = _to_utc(start), _to_utc(end)
    if end <= start:
        return timedelta(0)
    if calendar.is_around_the_clock:
        return end - start
    total = timedelta(0)
    for opens, closes in calendar.working_periods(start):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar) -> datetime:
    """The naive-UTC instant at which `duration` of business time has passed since `start`.

    A target that runs out exactly at closing time is due at closing time, not next morning.
    """
    start = _to_utc(start)
    if duration < timedelta(0):
        raise ValidationFailed(N_("A business-time duration cannot be negative."))
    if duration == timedelta(0):
        return start
    if calendar.is_around_the_clock:
        return start + duration
    remaining = duration
    for opens, closes in calendar.working_periods(start):
        opens = max(opens, start)
        if closes <= opens:
            continue
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise AssertionError("unreachable: working_periods raises when it runs out")


def elapsed_with_pauses(
    start: datetime,
    end: datetime,
    pauses: Iterable[tuple[datetime, datetime | None]],
    calendar: Calendar,
) -> timedelta:
    """Business time between `start` and `end` outside the paused intervals.

    A pause is (paused_at, resumed_at); resumed_at None means still paused at `end`.
    Overlapping pauses are merged first, so no time is taken off twice.
    """
    start, end = _to_utc(start), _to_utc(end)
    if end <= start:
        return timedelta(0)
    clipped = []
    for paused_at, resumed_at in pauses:
        paused_at = _to_utc(paused_at)
        # Still paused: up to `end` (a pause that begins after `end` is clipped away below).
        resumed_at = max(end, paused_at) if resumed_at is None else _to_utc(resumed_at)
        if resumed_at < paused_at:
            raise ValidationFailed(
                N_("A pause cannot end ({resumed_at}) before it starts ({paused_at})."),
                {"field": "pauses"},
                resumed_at=f"{resumed_at:%Y-%m-%d %H:%M}",
                paused_at=f"{paused_at:%Y-%m-%d %H:%M}",
            )
        paused_at, resumed_at = max(paused_at, start), min(resumed_at, end)
        if resumed_at > paused_at:
            clipped.append((paused_at, resumed_at))
    # Sum the business time of the running stretches between the merged pauses.
    total = timedelta(0)
    running_since = start
    for paused_at, resumed_at in sorted(clipped):
        if paused_at > running_since:
            total += business_elapsed(running_since, paused_at, calendar)
        running_since = max(running_since, resumed_at)
    return total + business_elapsed(running_since, end, calendar)

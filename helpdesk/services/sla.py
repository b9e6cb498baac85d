"""SLA policies and calendars (admin verbs), the breach check for cron, and the SLA report."""

from __future__ import annotations

import math
import re
import statistics
from datetime import date, datetime, time, timedelta

from helpdesk import permissions, sla_clock, validation
from helpdesk.business_time import Calendar, business_elapsed, parse_duration
from helpdesk.db import database
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.history import record_event
from helpdesk.i18n import N_
from helpdesk.mail import notifications
from helpdesk.models import (
    Service,
    SlaCalendar,
    SlaHoliday,
    SlaPolicy,
    SlaTarget,
    Ticket,
    User,
    utcnow,
)
from helpdesk.services.organization_names import get_organization
from helpdesk.vocabulary import PRIORITIES, TICKET_TYPES

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
# TYPE/PRIORITY:RESPONSE:RESOLUTION, the type optional: high:30m:4h, incident/high:30m:4h.
TARGET_RE = re.compile(
    r"^(?:(?P<type>[a-z]+)/)?(?P<priority>[a-z]+):(?P<response>[^:]+):(?P<resolution>[^:]+)$"
)
MAX_TARGETS = 50
MAX_NAME = 100


def parse_days(value: str) -> list[int]:
    """Read "mon-fri", "mon,wed,fri", "sat-sun" or "mon-fri,sun" into weekday numbers."""
    text = validation.text("days", value, max_length=64).lower().replace(" ", "")
    days: set[int] = set()
    for part in text.split(","):
        ends = part.split("-")
        if len(ends) > 2 or not all(end in DAY_NAMES for end in ends):
            raise ValidationFailed(
                N_("days must be day names such as mon-fri or mon,wed,fri (got {got!r})."),
                {"field": "days", "allowed": list(DAY_NAMES)},
                got=value,
            )
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        if last < first:
            raise ValidationFailed(
                N_("days: a range runs forward through the week, e.g. mon-fri (got {got!r})."),
                {"field": "days"},
                got=part,
            )
        days.update(range(first, last + 1))
    return sorted(days)


def parse_hours(value: str) -> tuple[time, time]:
    """Read "09:00-17:00" (00:00-00:00 is the whole day)."""
    text = validation.text("hours", value, max_length=16).replace(" ", "")
    match = HOURS_RE.match(text)
    try:
        if not match:
            raise ValueError
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValidationFailed(
            N_("hours must be like 09:00-17:00 (got {got!r})."), {"field": "hours"}, got=value
        ) from None


def get_calendar(name: str) -> SlaCalendar:
    name = validation.text("calendar", name, max_length=MAX_NAME)
    record = SlaCalendar.get_or_none(SlaCalendar.name == name)
    if record is None:
        known = [c.name for c in SlaCalendar.select().order_by(SlaCalendar.name)]
        raise NotFound(N_("No SLA calendar named {calendar!r}."), {"known": known}, calendar=name)
    return record


def get_policy(name: str, *, actor: User) -> SlaPolicy:
    """The policy with this name or id (agents)."""
    permissions.require(actor, "sla.view")
    text = validation.text("policy", str(name), max_length=MAX_NAME)
    policy = SlaPolicy.get_or_none(SlaPolicy.name == text)
    policy_id = validation.row_id(text)
    if policy is None and policy_id is not None:
        policy = SlaPolicy.get_or_none(SlaPolicy.id == policy_id)
    if policy is None:
        known = [p.name for p in SlaPolicy.select().order_by(SlaPolicy.name)]
        raise NotFound(N_("No SLA policy named {policy!r}."), {"known": known}, policy=text)
    return policy


def add_calendar(
    name: str,
    *,
    actor: User,
    timezone: str = "UTC",
    days: str = "mon-fri",
    hours: str = "09:00-17:00",
) -> SlaCalendar:
    """Create a business-hours calendar (admins)."""
    permissions.require(actor, "sla.manage")
    name = validation.text("name", name, max_length=MAX_NAME, one_line=True)
    timezone = validation.text("timezone", timezone, max_length=64)
    weekdays = parse_days(days)
    start, end = parse_hours(hours)
    Calendar(timezone=timezone, weekdays=frozenset(weekdays), start=start, end=end)  # validates
    with database.atomic():
        if SlaCalendar.select().where(SlaCalendar.name == name).exists():
            raise Conflict(N_("An SLA calendar named {name!r} exists already."), name=name)
        return SlaCalendar.create(
            name=name,
            timezone=timezone,
            weekdays=",".join(str(d) for d in weekdays),
            day_start=f"{start:%H:%M}",
            day_end=f"{end:%H:%M}",
        )


def add_holiday(calendar: str, day: str, *, actor: User, name: str | None = None) -> SlaHoliday:
    """Add a holiday (a date in the calendar's zone) to a calendar (admins).

    Due times already computed keep their value; new and recomputed ones skip the holiday.
    """
    permissions.require(actor, "sla.manage")
    try:
        parsed = date.fromisoformat(validation.text("date", day, max_length=10))
    except ValueError:
        raise ValidationFailed(
            N_("date must be like 2026-12-24 (got {got!r})."), {"field": "date"}, got=day
        ) from None
    name = validation.text("name", name, max_length=MAX_NAME, required=False, one_line=True)
    with database.atomic():
        record = get_calendar(calendar)
        if (
            SlaHoliday.select()
            .where((SlaHoliday.calendar == record) & (SlaHoliday.day == parsed))
            .exists()
        ):
            raise Conflict(
                N_("{date} is a holiday of {calendar} already."),
                calendar=record.name,
                date=parsed.isoformat(),
            )
        return SlaHoliday.create(calendar=record, day=parsed, name=name or None)


def parse_target(value: str) -> dict:
    """Read PRIORITY:RESPONSE:RESOLUTION, optionally TYPE/ first: incident/high:30m:4h."""
    text = validation.text("target", value, max_length=64).strip().lower()
    match = TARGET_RE.match(text)
    if not match:
        raise ValidationFailed(
            N_(
                "A target is PRIORITY:RESPONSE:RESOLUTION, e.g. high:30m:4h, optionally for one "
                "request type: incident/high:30m:4h (got {got!r})."
            ),
            {"field": "target"},
            got=value,
        )
    priority = validation.choice("priority", match["priority"], PRIORITIES)
    type_ = match["type"] and validation.choice("type", match["type"], TICKET_TYPES)
    response = parse_duration(match["response"], field="response")
    resolution = parse_duration(match["resolution"], field="resolution")
    if resolution < response:
        raise ValidationFailed(
            N_("The resolution target cannot be shorter than the response target (got {got!r})."),
            {"field": "target"},
            got=value,
        )
    return {
        "priority": priority,
        "type": type_ or None,
        "response_minutes": int(response.total_seconds() // 60),
        "resolution_minutes": int(resolution.total_seconds() // 60),
    }


def add_policy(
    name: str, targets: list[str], *, actor: User, calendar: str | None = None
) -> SlaPolicy:
    """Create a policy with its targets, in a calendar's business hours or around the clock."""
    permissions.require(actor, "sla.manage")
    name = validation.text("name", name, max_length=MAX_NAME, one_line=True)
    if not isinstance(targets, list) or not targets:
        raise ValidationFailed(
            N_("Give at least one target, e.g. high:30m:4h."), {"field": "targets"}
        )
    parsed = [parse_target(t) for t in validation.items("targets", targets, max_items=MAX_TARGETS)]
    seen: set[tuple] = set()
    for target in parsed:
        key = (target["type"], target["priority"])
        if key in seen:
            which = f"{target['type']}/{target['priority']}" if target["type"] else key[1]
            raise ValidationFailed(
                N_("Two targets for {duplicate}: give one per priority (and request type)."),
                {"field": "targets"},
                duplicate=which,
            )
        seen.add(key)
    with database.atomic():
        record = get_calendar(calendar) if calendar else None
        if SlaPolicy.select().where(SlaPolicy.name == name).exists():
            raise Conflict(N_("An SLA policy named {name!r} exists already."), name=name)
        policy = SlaPolicy.create(name=name, calendar=record)
        for target in parsed:
            SlaTarget.create(policy=policy, **target)
    return policy


def list_policies(*, actor: User) -> list[SlaPolicy]:
    """Every policy by name (agents)."""
    permissions.require(actor, "sla.view")
    return list(SlaPolicy.select().order_by(SlaPolicy.name))


def list_calendars(*, actor: User) -> list[SlaCalendar]:
    """Every calendar by name (agents)."""
    permissions.require(actor, "sla.view")
    return list(SlaCalendar.select().order_by(SlaCalendar.name))


def targets_of(policy: SlaPolicy) -> list[SlaTarget]:
    order = {p: i for i, p in enumerate(PRIORITIES)}
    rows = list(SlaTarget.select().where(SlaTarget.policy == policy))
    return sorted(rows, key=lambda t: (t.type or "", -order.get(t.priority, 0)))


def holidays_of(record: SlaCalendar) -> list[SlaHoliday]:
    return list(SlaHoliday.select().where(SlaHoliday.calendar == record).order_by(SlaHoliday.day))


# -- the breach check (cron) ----------------------------------------------------------------

CLOCKS = ("response", "resolution")


def _claim(ticket: Ticket, clock: str, mark: str, due: datetime, now: datetime) -> bool:
    """Set the clock's `mark` (breached / warned) unless it is set already: one winner, however
    many checks run at once (the conditional UPDATE is the lock)."""
    column = getattr(Ticket, f"{clock}_{mark}_at")
    claimed = (
        Ticket.update({column: now, Ticket.version: Ticket.version + 1})
        .where(
            (Ticket.id == ticket.id)
            & column.is_null()
            & (getattr(Ticket, f"{clock}_due_at") == due)
        )
        .execute()
    )
    return claimed == 1


def check(*, actor: User, within: str | None = None) -> dict:
    """Record each missed target once (an `sla_breached` event, an email to the assignee or
    every agent) and warn once of targets due within `within`. Safe to run twice or at once.

    Answers {"breached": [...], "warned": [...]}, each {"reference", "clock", "due_at"}: what
    this run recorded (an earlier run's findings are not repeated).
    """
    permissions.require(actor, "sla.check")
    window = parse_duration(within, field="within") if within else timedelta(0)
    now = utcnow()
    ids = [t.id for t in sla_clock.unrecorded(Ticket.select(Ticket.id), window, now)]
    found: dict[str, list] = {"breached": [], "warned": []}
    for ticket_id in ids:
        with database.atomic():
            ticket = Ticket.get_or_none(Ticket.id == ticket_id)
            state = sla_clock.state(ticket, now) if ticket is not None else None
            for clock in CLOCKS:
                values = (state or {}).get(clock)
                if values is None or values["met"] is True or values.get("paused"):
                    continue
                due = values["due"]
                if values["breached"]:
                    if getattr(ticket, f"{clock}_breached_at") is not None:
                        continue
                    if not _claim(ticket, clock, "breached", due, now):
                        continue
                    record_event(ticket, None, "sla_breached", clock, due.isoformat(" "))
                    notifications.sla_alert(ticket, clock, due, breached=True)
                    found["breached"].append((ticket.reference, clock, due))
                elif values["met"] is None and due <= now + window:
                    if getattr(ticket, f"{clock}_warned_at") is not None:
                        continue
                    if _claim(ticket, clock, "warned", due, now):
                        notifications.sla_alert(ticket, clock, due, breached=False)
                        found["warned"].append((ticket.reference, clock, due))
    return found


# -- the SLA report -------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p90: the smallest value at least 90% of them do not exceed)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _figures(met: list[bool], minutes: list[float]) -> dict:
    return {
        "measured": len(met),
        "met": sum(met),
        "percent_met": round(100 * sum(met) / len(met), 1) if met else None,
        "median_minutes": round(statistics.median(minutes), 1) if minutes else None,
        "p90_minutes": round(_percentile(minutes, 0.9), 1) if minutes else None,
    }


def report(
    *,
    actor: User,
    created_from: str | None = None,
    created_to: str | None = None,
    organization: str | None = None,
    service: str | None = None,
) -> dict:
    """Per priority, of the tickets created in the period under an SLA policy: how many, how
    many targets were met (of those decided: stopped, or past due), and the median and p90
    response and resolution times in business minutes of each ticket's calendar (agents)."""
    permissions.require(actor, "report.view")
    start = validation.date_bound("from", created_from)
    end = validation.date_bound("to", created_to, end=True)
    query = Ticket.select().where(Ticket.sla_policy.is_null(False))
    if start is not None:
        query = query.where(Ticket.created_at >= start)
    if end is not None:
        query = query.where(Ticket.created_at < end)
    if organization:
        org = get_organization(organization)
        query = query.where(Ticket.organization == org)
    if service:
        name = validation.text("service", service, max_length=200)
        found = Service.get_or_none(Service.name == name)
        if found is None:
            raise NotFound(N_("No service named {service!r}."), service=name)
        query = query.where(Ticket.service == found)
    now = utcnow()
    calendars: dict[int, Calendar] = {}
    rows: dict[str, dict] = {}
    for ticket in query.order_by(Ticket.id):
        calendar = calendars.get(ticket.sla_policy_id)
        if calendar is None:
            calendar = calendars[ticket.sla_policy_id] = sla_clock.calendar_for(
                ticket.sla_policy_id
            )
        row = rows.setdefault(
            ticket.priority,
            {"tickets": 0, "response": ([], []), "resolution": ([], [])},
        )
        row["tickets"] += 1
        state = sla_clock.state(ticket, now) or {}
        response, resolution = state.get("response"), state.get("resolution")
        if response and response["met"] is not None:
            row["response"][0].append(response["met"])
        if ticket.first_response_at is not None:
            taken = business_elapsed(ticket.created_at, ticket.first_response_at, calendar)
            row["response"][1].append(taken.total_seconds() / 60)
        if resolution and resolution["met"] is not None:
            row["resolution"][0].append(resolution["met"])
        if ticket.resolved_at is not None:
            target = sla_clock.target_for(ticket.sla_policy_id, ticket.priority, ticket.type)
            taken = business_elapsed(ticket.created_at, ticket.resolved_at, calendar)
            taken -= sla_clock.stopped_time(ticket, target, calendar)
            row["resolution"][1].append(max(taken.total_seconds(), 0) / 60)
    order = {p: i for i, p in enumerate(reversed(PRIORITIES))}
    items = []
    total = {"tickets": 0, "response": ([], []), "resolution": ([], [])}
    for priority in sorted(rows, key=lambda p: order.get(p, len(order))):
        row = rows[priority]
        total["tickets"] += row["tickets"]
        for clock in CLOCKS:
            total[clock][0].extend(row[clock][0])
            total[clock][1].extend(row[clock][1])
        items.append(
            {
                "priority": priority,
                "tickets": row["tickets"],
                **{clock: _figures(*row[clock]) for clock in CLOCKS},
            }
        )
    return {
        "items": items,
        "total": {"tickets": total["tickets"], **{c: _figures(*total[c]) for c in CLOCKS}},
        "from": created_from,
        "to": created_to,
        "organization": organization,
        "service": service,
    }

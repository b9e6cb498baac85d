"""A ticket's two SLA clocks: first response and resolution. The one module that moves them.

Hooked in one place each: `start` at submit, `replied` at a public agent reply,
`status_changed` in workflow.transition, `recompute` when an edit changes policy, priority or type.
Due times are stored (so lists and `sla check` filter in SQL); the calendar is read only when
a due time is computed or moved.

- response: due at created + target; stops at the first public agent reply or when an agent
  moves the ticket to open (first_response_at).
- resolution: due at created + target + every stretch the clock was stopped (pending, or
  resolved then reopened): leaving pending or reopening moves the due time on by the business
  time it was stopped. It stops at resolved (or closed).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from helpdesk import permissions
from helpdesk.business_time import Calendar, add_business_time, business_elapsed
from helpdesk.models import SlaCalendar, SlaHoliday, SlaPolicy, SlaTarget, Ticket, User, utcnow

PENDING = "pending"
RESOLVED = "resolved"
CLOSED = "closed"
STOPPED = (RESOLVED, CLOSED)


def calendar_for(policy_id: int | None) -> Calendar:
    """The business-time calendar of a policy (around the clock when it has none)."""
    policy = SlaPolicy.get_or_none(SlaPolicy.id == policy_id) if policy_id else None
    if policy is None or policy.calendar_id is None:
        return Calendar.around_the_clock()
    record = SlaCalendar.get_by_id(policy.calendar_id)
    holidays = SlaHoliday.select(SlaHoliday.day).where(SlaHoliday.calendar == record)
    return Calendar(
        timezone=record.timezone,
        weekdays=frozenset(int(d) for d in record.weekdays.split(",") if d),
        start=time.fromisoformat(record.day_start),
        end=time.fromisoformat(record.day_end),
        holidays=frozenset(h.day for h in holidays),
    )


def target_for(policy_id: int | None, priority: str, type_: str) -> SlaTarget | None:
    """The policy's target for this priority: the one for this request type, else any type's."""
    if policy_id is None:
        return None
    rows = SlaTarget.select().where(
        (SlaTarget.policy == policy_id)
        & (SlaTarget.priority == priority)
        & (SlaTarget.type.is_null() | (SlaTarget.type == type_))
    )
    return max(rows, key=lambda t: t.type is not None, default=None)


def _minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def _set_due_times(ticket: Ticket, stopped: timedelta, now: datetime) -> None:
    """Due times from the created time, the current target and the business time stopped."""
    target = target_for(ticket.sla_policy_id, ticket.priority, ticket.type)
    if target is None:
        ticket.response_due_at = ticket.resolution_due_at = None
        return
    calendar = calendar_for(ticket.sla_policy_id)
    start = ticket.created_at
    response = add_business_time(start, _minutes(target.response_minutes), calendar)
    resolution = add_business_time(start, _minutes(target.resolution_minutes) + stopped, calendar)
    _move(ticket, "response", response, now)
    _move(ticket, "resolution", resolution, now)


def _move(ticket: Ticket, clock: str, due: datetime | None, now: datetime) -> None:
    """Set a clock's due time; one that moves into the future may breach (and warn) again."""
    setattr(ticket, f"{clock}_due_at", due)
    if due is not None and due > now:
        setattr(ticket, f"{clock}_breached_at", None)
        setattr(ticket, f"{clock}_warned_at", None)


def start(ticket: Ticket) -> None:
    """At submit: the due times of the ticket's policy for its priority and type (saves)."""
    if ticket.sla_policy_id is None:
        return
    _set_due_times(ticket, timedelta(0), ticket.created_at)
    ticket.save()


def replied(ticket: Ticket, author: User, *, at: datetime | None = None) -> None:
    """A public reply: the first one by an agent meets the response clock (writes the row)."""
    if ticket.first_response_at is not None or not permissions.can(author, "ticket.work"):
        return
    at = at or utcnow()
    Ticket.update(first_response_at=at, version=Ticket.version + 1).where(
        (Ticket.id == ticket.id) & Ticket.first_response_at.is_null()
    ).execute()
    ticket.first_response_at = at


def status_changed(ticket: Ticket, previous: str, to: str, *, actor: User, now: datetime) -> None:
    """Before a transition is saved: pause, resume, stop or meet the clocks (the caller saves).

    Reads the ticket's resolved_at as it was before the move (a reopen clears it).
    """
    if to == "open" and ticket.first_response_at is None and permissions.can(actor, "ticket.work"):
        ticket.first_response_at = now
    if ticket.resolution_due_at is None:
        if to == PENDING:
            ticket.sla_paused_at = now
        elif previous == PENDING:
            ticket.sla_paused_at = None
        return
    stopped_since = None
    if previous == PENDING and ticket.sla_paused_at is not None:
        stopped_since = ticket.sla_paused_at
        ticket.sla_paused_at = None
    elif previous == RESOLVED and to not in STOPPED and ticket.resolved_at is not None:
        stopped_since = ticket.resolved_at  # reopened: the time it spent resolved does not count
    if stopped_since is not None:
        calendar = calendar_for(ticket.sla_policy_id)
        paused = business_elapsed(stopped_since, now, calendar)
        if paused > timedelta(0):
            due = add_business_time(ticket.resolution_due_at, paused, calendar)
            _move(ticket, "resolution", due, now)
    if to == PENDING:
        ticket.sla_paused_at = now


def recompute(ticket: Ticket, old_policy_id: int | None, old_priority: str, old_type: str) -> None:
    """After an edit changed the policy (a new service), priority or type: new due times from
    the new target, keeping the business time the resolution clock was stopped so far (the
    caller saves). No target now: no due times."""
    old = target_for(old_policy_id, old_priority, old_type)
    stopped = stopped_time(ticket, old, calendar_for(old_policy_id))
    _set_due_times(ticket, stopped, utcnow())


def stopped_time(ticket: Ticket, target: SlaTarget | None, calendar: Calendar) -> timedelta:
    """The business time the resolution clock was stopped (pending, resolved before a reopen)
    so far: what the due time was moved by beyond the target."""
    if target is None or ticket.resolution_due_at is None:
        return timedelta(0)
    running = business_elapsed(ticket.created_at, ticket.resolution_due_at, calendar)
    return max(running - _minutes(target.resolution_minutes), timedelta(0))


# -- what a ticket shows ------------------------------------------------------------------


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def _clock_state(due, stop, paused_at, now) -> dict:
    end = stop or paused_at or now
    breached = end > due
    if stop is not None:
        met = stop <= due
    else:
        met = False if breached else None
    running = stop is None and paused_at is None
    return {
        "due": due,
        "met": met,
        "breached": breached,
        "left_seconds": _seconds(due - now) if running and not breached else None,
        "overdue_seconds": _seconds(end - due) if breached else None,
    }


def state(ticket: Ticket, now: datetime | None = None) -> dict | None:
    """Both clocks as they stand `now`: due, met, breached, time left or overdue, paused.

    None when no policy applies; a clock is None when the policy has no target for the
    ticket's priority. Wall-clock seconds (left/overdue); due times already count business hours.
    """
    if ticket.sla_policy_id is None:
        return None
    now = now or utcnow()
    closed_at = ticket.closed_at if ticket.status == CLOSED else None
    response = resolution = None
    if ticket.response_due_at is not None:
        stop = ticket.first_response_at or closed_at
        response = _clock_state(ticket.response_due_at, stop, None, now)
        response.update(
            responded_at=ticket.first_response_at, breached_at=ticket.response_breached_at
        )
    if ticket.resolution_due_at is not None:
        stop = ticket.resolved_at or closed_at
        paused_at = ticket.sla_paused_at if stop is None else None
        resolution = _clock_state(ticket.resolution_due_at, stop, paused_at, now)
        resolution.update(
            paused=paused_at is not None,
            paused_at=paused_at,
            resolved_at=stop,
            breached_at=ticket.resolution_breached_at,
        )
    return {"response": response, "resolution": resolution}


def running(ticket: Ticket, now: datetime | None = None) -> dict[str, dict]:
    """The clocks still counting down, by name (response, resolution), as `state` gives them:
    the same tickets and clocks `breaching` looks at (not resolved or closed, no response yet,
    resolution not paused). Empty when no policy applies."""
    if ticket.status in STOPPED:
        return {}
    clocks = state(ticket, now) or {}
    response, resolution = clocks.get("response"), clocks.get("resolution")
    found = {}
    if response is not None and ticket.first_response_at is None:
        found["response"] = response
    if resolution is not None and not resolution["paused"]:
        found["resolution"] = resolution
    return found


def unrecorded(query, within: timedelta = timedelta(0), now: datetime | None = None):
    """Restrict a Ticket query to what `sla check` has still to look at: `breaching` tickets
    with a clock whose breach is not recorded yet (those recorded stay breaching, and would
    otherwise be read again by every run)."""
    limit = (now or utcnow()) + within
    return query.where(
        Ticket.status.not_in(STOPPED)
        & (
            (
                Ticket.first_response_at.is_null()
                & Ticket.response_breached_at.is_null()
                & (Ticket.response_due_at <= limit)
            )
            | (
                Ticket.sla_paused_at.is_null()
                & Ticket.resolution_breached_at.is_null()
                & (Ticket.resolution_due_at <= limit)
            )
        )
    )


def response_overdue(limit: datetime):
    """The condition of a response clock running (no response yet) and due by `limit`."""
    return Ticket.first_response_at.is_null() & (Ticket.response_due_at <= limit)


def resolution_overdue(limit: datetime):
    """The condition of a resolution clock running (not paused) and due by `limit`."""
    return Ticket.sla_paused_at.is_null() & (Ticket.resolution_due_at <= limit)


def breaching(query, within: timedelta = timedelta(0), now: datetime | None = None):
    """Restrict a Ticket query to tickets not resolved or closed whose running clock is past
    due, or due within `within`: response not yet given, resolution not paused."""
    limit = (now or utcnow()) + within
    return query.where(
        Ticket.status.not_in(STOPPED) & (response_overdue(limit) | resolution_overdue(limit))
    )

"""SLA policies and calendars, the breach check, and the SLA report."""

from __future__ import annotations

from datetime import datetime

from flask import request, url_for
from pydantic import ConfigDict, Field

from helpdesk.server import schemas
from helpdesk.server.api import api
from helpdesk.server.api.contract import Body, Query, operation
from helpdesk.server.api.inputs import current_user, json_body
from helpdesk.server.serializers import (
    iso,
    sla_calendar_json,
    sla_holiday_json,
    sla_policy_json,
)
from helpdesk.services import sla


class NewSlaPolicy(Body):
    name: str
    targets: list[str] = Field(
        description='"priority:response:resolution", optionally "type/priority:...": high:30m:4h.'
    )
    calendar: str | None = Field(None, description="Business hours (default: around the clock).")


class NewSlaCalendar(Body):
    name: str
    timezone: str | None = Field(None, description="An IANA zone; UTC by default.")
    days: str | None = Field(None, description='"mon-fri" (the default), "mon,wed,fri"...')
    hours: str | None = Field(None, description='"09:00-17:00" (the default).')


class NewSlaHoliday(Body):
    date: str = Field(description="YYYY-MM-DD, in the calendar's zone.")
    name: str | None = None


class SlaCheck(Body):
    within: str | None = Field(None, description="Also warn of targets due within it, e.g. 2h.")


class SlaReportQuery(Query):
    from_: str | None = Field(None, alias="from", description="Created from (date).")
    to: str | None = Field(None, description="Created before the end of (date).")
    organization: str | None = None
    service: str | None = None


class SlaPolicies(schemas.Items[schemas.SlaPolicy]):
    pass


class SlaCalendars(schemas.Items[schemas.SlaCalendar]):
    pass


class SlaFinding(schemas.Answer):
    reference: str
    clock: str = Field(description="response or resolution.")
    due_at: datetime


class SlaCheckResult(schemas.Answer):
    breached: list[SlaFinding] = Field(description="Missed targets this run recorded.")
    warned: list[SlaFinding] = Field(description="Targets due within `within`, warned of.")


class SlaFigures(schemas.Answer):
    measured: int = Field(description="Targets decided: stopped, or past due.")
    met: int
    percent_met: float | None
    median_minutes: float | None = Field(description="In business minutes.")
    p90_minutes: float | None


class SlaTotals(schemas.Answer):
    tickets: int
    response: SlaFigures
    resolution: SlaFigures


class SlaReportRow(SlaTotals):
    priority: str


class SlaReport(schemas.Answer):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    items: list[SlaReportRow]
    total: SlaTotals
    from_: str | None = Field(alias="from")
    to: str | None
    organization: str | None
    service: str | None


@api.get("/sla/policies")
@operation(answers={200: SlaPolicies})
def list_sla_policies():
    """Every SLA policy with its targets (agents)."""
    return {"items": [sla_policy_json(p) for p in sla.list_policies(actor=current_user())]}


@api.post("/sla/policies")
@operation(body=NewSlaPolicy, answers={201: schemas.SlaPolicy}, errors=(404,))
def add_sla_policy():
    """Create a policy: name, targets ["high:30m:4h", "incident/low:4h:5d"], calendar (admins)."""
    actor = current_user()
    body = json_body()
    policy = sla.add_policy(
        body["name"], body["targets"], actor=actor, calendar=body.get("calendar")
    )
    location = url_for("api.show_sla_policy", name=policy.name)
    return sla_policy_json(policy), 201, {"Location": location}


@api.get("/sla/policies/<name>")
@operation(answers={200: schemas.SlaPolicy})
def show_sla_policy(name: str):
    """One policy, its targets and its calendar (agents)."""
    return sla_policy_json(sla.get_policy(name, actor=current_user()))


@api.get("/sla/calendars")
@operation(answers={200: SlaCalendars})
def list_sla_calendars():
    """Every business-hours calendar with its holidays (agents)."""
    return {"items": [sla_calendar_json(c) for c in sla.list_calendars(actor=current_user())]}


@api.post("/sla/calendars")
@operation(body=NewSlaCalendar, answers={201: schemas.SlaCalendar})
def add_sla_calendar():
    """Create a calendar: name, timezone, days ("mon-fri"), hours ("09:00-17:00") (admins)."""
    actor = current_user()
    body = json_body()
    options = {k: body[k] for k in ("timezone", "days", "hours") if body.get(k) is not None}
    calendar = sla.add_calendar(body["name"], actor=actor, **options)
    return sla_calendar_json(calendar), 201


@api.post("/sla/calendars/<name>/holidays")
@operation(body=NewSlaHoliday, answers={201: schemas.SlaHoliday})
def add_sla_holiday(name: str):
    """Add a holiday: date (YYYY-MM-DD) and an optional name (admins)."""
    actor = current_user()
    body = json_body()
    holiday = sla.add_holiday(name, body["date"], actor=actor, name=body.get("name"))
    return sla_holiday_json(holiday), 201


@api.post("/sla/check")
@operation(body=SlaCheck, answers={200: SlaCheckResult})
def run_sla_check():
    """Record missed targets once and warn of those due within `within` (agents; for cron)."""
    body = json_body()
    found = sla.check(actor=current_user(), within=body.get("within"))
    return {
        what: [{"reference": ref, "clock": clock, "due_at": iso(due)} for ref, clock, due in rows]
        for what, rows in found.items()
    }


@api.get("/reports/sla")
@operation(query=SlaReportQuery, answers={200: SlaReport}, errors=(404,))
def sla_report():
    """The SLA report per priority: tickets, targets met, % met, median and p90 response and
    resolution times (business minutes); filters from, to (created), organization, service
    (agents)."""
    args = request.args
    return sla.report(
        actor=current_user(),
        created_from=args.get("from"),
        created_to=args.get("to"),
        organization=args.get("organization"),
        service=args.get("service"),
    )

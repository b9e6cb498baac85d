"""SLA policies and calendars, the breach check, and the SLA report."""

from __future__ import annotations

from flask import request, url_for

from helpdesk.server.api import api
from helpdesk.server.api.inputs import current_user, json_body
from helpdesk.server.serializers import (
    iso,
    sla_calendar_json,
    sla_holiday_json,
    sla_policy_json,
)
from helpdesk.services import sla


@api.get("/sla/policies")
def list_sla_policies():
    """Every SLA policy with its targets (agents)."""
    return {"items": [sla_policy_json(p) for p in sla.list_policies(actor=current_user())]}


@api.post("/sla/policies")
def add_sla_policy():
    """Create a policy: name, targets ["high:30m:4h", "incident/low:4h:5d"], calendar (admins)."""
    actor = current_user()
    body = json_body({"name", "targets", "calendar"}, {"name", "targets"})
    policy = sla.add_policy(
        body["name"], body["targets"], actor=actor, calendar=body.get("calendar")
    )
    location = url_for("api.show_sla_policy", name=policy.name)
    return sla_policy_json(policy), 201, {"Location": location}


@api.get("/sla/policies/<name>")
def show_sla_policy(name: str):
    """One policy, its targets and its calendar (agents)."""
    return sla_policy_json(sla.get_policy(name, actor=current_user()))


@api.get("/sla/calendars")
def list_sla_calendars():
    """Every business-hours calendar with its holidays (agents)."""
    return {"items": [sla_calendar_json(c) for c in sla.list_calendars(actor=current_user())]}


@api.post("/sla/calendars")
def add_sla_calendar():
    """Create a calendar: name, timezone, days ("mon-fri"), hours ("09:00-17:00") (admins)."""
    actor = current_user()
    body = json_body({"name", "timezone", "days", "hours"}, {"name"})
    options = {k: body[k] for k in ("timezone", "days", "hours") if body.get(k) is not None}
    calendar = sla.add_calendar(body["name"], actor=actor, **options)
    return sla_calendar_json(calendar), 201


@api.post("/sla/calendars/<name>/holidays")
def add_sla_holiday(name: str):
    """Add a holiday: date (YYYY-MM-DD) and an optional name (admins)."""
    actor = current_user()
    body = json_body({"date", "name"}, {"date"})
    holiday = sla.add_holiday(name, body["date"], actor=actor, name=body.get("name"))
    return sla_holiday_json(holiday), 201


@api.post("/sla/check")
def run_sla_check():
    """Record missed targets once and warn of those due within `within` (agents; for cron)."""
    body = json_body({"within"})
    found = sla.check(actor=current_user(), within=body.get("within"))
    return {
        what: [{"reference": ref, "clock": clock, "due_at": iso(due)} for ref, clock, due in rows]
        for what, rows in found.items()
    }


@api.get("/reports/sla")
def sla_report():
    """Per priority: tickets, targets met, % met, median and p90 response and resolution times
    (business minutes); filters from, to (created), organization, service (agents)."""
    args = request.args
    return sla.report(
        actor=current_user(),
        created_from=args.get("from"),
        created_to=args.get("to"),
        organization=args.get("organization"),
        service=args.get("service"),
    )

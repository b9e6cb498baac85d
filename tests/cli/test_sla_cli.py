"""`helpdesk sla ...`, `ticket list --breaching` and `report sla` through the real CLI."""

from __future__ import annotations

import json


def test_admin_builds_a_business_hours_policy(installed):
    cli = installed
    result = cli(
        "sla",
        "calendar",
        "add",
        "Prague",
        "--timezone",
        "Europe/Prague",
        "--days",
        "mon-fri",
        "--hours",
        "09:00-17:00",
    )
    assert result.exit_code == 0, result.output
    assert "Prague (mon,tue,wed,thu,fri 09:00-17:00 Europe/Prague)" in result.output
    result = cli("sla", "calendar", "holiday", "Prague", "2026-12-24", "--name", "Christmas Eve")
    assert result.exit_code == 0, result.output
    result = cli(
        "sla",
        "policy",
        "add",
        "Gold",
        "--target",
        "high:30m:4h",
        "--target",
        "incident/low:4h:2d",
        "--calendar",
        "Prague",
    )
    assert result.exit_code == 0, result.output
    shown = cli("sla", "policy", "show", "Gold")
    assert shown.exit_code == 0, shown.output
    assert "Policy Gold: Prague" in shown.output
    assert "high" in shown.output and "30m" in shown.output and "4h" in shown.output
    assert "2d" in shown.output
    listed = json.loads(cli("sla", "policy", "list", "--json").output)
    assert [p["name"] for p in listed["items"]] == ["Gold"]
    calendars = cli("sla", "calendar", "list").output
    assert "holidays: 2026-12-24" in calendars


def test_bad_target_is_a_clear_error_and_changes_nothing(installed):
    result = installed("sla", "policy", "add", "Gold", "--target", "high:4h")
    assert result.exit_code == 1
    assert "Error: A target is PRIORITY:RESPONSE:RESOLUTION" in result.output
    assert "Traceback" not in result.output
    assert "No SLA policies." in installed("sla", "policy", "list").output
    result = installed(
        "sla", "policy", "add", "Gold", "--target", "high:1h:4h", "--calendar", "Nowhere"
    )
    assert result.exit_code == 1
    assert "No SLA calendar named 'Nowhere'" in result.output

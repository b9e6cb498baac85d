"""`helpdesk priority ...`, `ticket submit --priority/--dedupe-key` and sharing outside the
organization, through the real CLI in-process."""

from __future__ import annotations

import json

import pytest
from conftest import World

from helpdesk.db import database
from helpdesk.models import Comment, Ticket, User


@pytest.fixture
def world(app):
    with database.connection_context():
        return World()


def ok(result):
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def fails(result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    return result.stderr


def count(query) -> int:
    with database.connection_context():
        return query.count()


def submit(run_as, user, *args):
    return run_as(user, "ticket", "submit", "--type", "incident", "--title", "Backup", *args)


def test_priority_show_matrix_and_type(run_as, world):
    shown = ok(run_as(world.requester, "priority", "show")).stdout
    assert "incident  impact-urgency  medium     -\n" in shown
    assert "high      high       critical\n" in shown  # the default matrix, nothing marked *
    result = run_as(world.admin, "priority", "matrix", "low", "low", "medium")
    assert ok(result).stdout == "Impact low x urgency low now gives medium.\n"
    assert "low       low        medium *\n" in ok(run_as(world.agent, "priority", "show")).stdout
    result = run_as(
        world.admin, "priority", "type", "incident", "--asks", "priority", "--choices", "low,high"
    )
    assert ok(result).stdout == "incident tickets ask for priority (default priority medium).\n"
    policy = json.loads(ok(run_as(world.agent, "priority", "show", "--json")).stdout)
    [cell] = [c for c in policy["matrix"] if (c["impact"], c["urgency"]) == ("low", "low")]
    assert (cell["priority"], cell["configured"]) == ("medium", True)
    assert policy["types"][0] == {
        "type": "incident",
        "asks": "priority",
        "default": "medium",
        "choices": ["low", "high"],
        "configured": True,
    }
    refused = run_as(world.agent, "priority", "type", "question", "--asks", "nothing")
    assert "Only admins may change the priority policy." in fails(refused, 1)
    assert fails(run_as(world.admin, "priority", "type", "question", "--asks", "all"), 2)


def test_submit_follows_the_types_policy(run_as, world):
    err = fails(submit(run_as, world.requester, "--priority", "high"), 2)
    assert err == "Error: incident tickets ask for impact and urgency, not priority.\n"
    ok(
        run_as(
            world.admin, "priority", "type", "incident", "--asks", "priority", "--default", "low"
        )
    )
    ticket = json.loads(ok(submit(run_as, world.requester, "--priority", "high", "--json")).stdout)
    assert ticket["priority"] == "high"
    assert json.loads(ok(submit(run_as, world.requester, "--json")).stdout)["priority"] == "low"
    err = fails(submit(run_as, world.requester, "--impact", "high"), 2)
    assert err == "Error: incident tickets ask for a priority, not impact.\n"
    ok(run_as(world.admin, "priority", "type", "incident", "--asks", "nothing"))
    assert "ask for nothing" in fails(submit(run_as, world.requester, "--priority", "high"), 2)
    assert count(Ticket.select()) == 2


def test_an_override_survives_a_later_impact_edit(run_as, world):
    with database.connection_context():
        ticket = world.ticket(impact="low", urgency="low")
    ref = ticket.reference
    ok(run_as(world.agent, "ticket", "edit", ref, "--priority", "high"))
    ok(run_as(world.agent, "ticket", "edit", ref, "--impact", "medium"))
    shown = json.loads(ok(run_as(world.agent, "ticket", "show", ref, "--json")).stdout)
    assert (shown["impact"], shown["priority"], shown["priority_overridden"]) == (
        "medium",
        "high",
        True,
    )
    assert [e["actor"] for e in shown["events"] if e["kind"] == "priority_override"] == [
        "agent@example.test"
    ]


def test_dedupe_key_makes_one_ticket_per_open_key(run_as, world):
    first = ok(submit(run_as, world.requester, "--dedupe-key", "nightly"))
    assert first.stdout == "Submitted HD-1: Backup (new, medium).\n"
    again = submit(run_as, world.requester, "--dedupe-key", "nightly", "--description", "Night 2")
    assert ok(again).stdout == "HD-1 is still open: added 'happened again' (new, medium).\n"
    answer = json.loads(
        ok(submit(run_as, world.requester, "--dedupe-key", "nightly", "--json")).stdout
    )
    assert (answer["reference"], answer["deduplicated"]) == ("HD-1", True)
    assert count(Ticket.select()) == 1
    with database.connection_context():
        assert [c.body for c in Comment.select().order_by(Comment.id)] == [
            "Happened again.\n\nNight 2",
            "Happened again.",
        ]
    ok(run_as(world.agent, "ticket", "close", "HD-1"))
    reopened = json.loads(
        ok(submit(run_as, world.requester, "--dedupe-key", "nightly", "--json")).stdout
    )
    assert (reopened["reference"], reopened["deduplicated"]) == ("HD-2", False)


def test_share_invites_an_outsider_and_refuses_another_organizations_user(run_as, world):
    with database.connection_context():
        ref = world.ticket().reference
    result = run_as(world.requester, "ticket", "share", ref, "vendor@outside.test")
    assert ok(result).stdout == (
        f"Shared {ref} with vendor@outside.test.\n"
        "Invited vendor@outside.test: they are emailed a link to activate their account.\n"
    )
    assert count(User.select().where(User.email == "vendor@outside.test")) == 1
    err = fails(run_as(world.requester, "ticket", "share", ref, "power@globex.test"), 1)
    assert err == (
        "Error: power@globex.test belongs to another organization than Acme: "
        "only agents may share a ticket with them.\n"
    )
    result = run_as(world.agent, "ticket", "share", ref, "power@globex.test", "--json")
    assert json.loads(ok(result).stdout)["added"] == ["power@globex.test"]

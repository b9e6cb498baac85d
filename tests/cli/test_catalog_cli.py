"""`helpdesk catalog ...`, `helpdesk contract ...` and the service on tickets, through the real
CLI in-process (and, for the step-by-step submit, the installed `helpdesk` on a terminal)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import World

from helpdesk.db import database
from helpdesk.models import Event, Service, SlaPolicy, Ticket
from helpdesk.services import api_tokens, catalog, contracts, priorities


def fails(result, code: int) -> str:
    """The command failed cleanly with `code`: nothing on stdout, the reason on stderr."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception  # refused, not crashed
    assert result.stdout == ""
    assert result.stderr.strip()
    return result.stderr


def ok(result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


class Desk:
    """The world's users; each database look in its own connection, as the CLI opens its own."""

    def __init__(self):
        with database.connection_context():
            self.users = World()

    def __getattr__(self, name):
        return getattr(self.users, name)

    def tickets(self) -> list[Ticket]:
        with database.connection_context():
            return list(Ticket.select().order_by(Ticket.id))

    def events(self, kind: str) -> list[tuple]:
        with database.connection_context():
            return [(e.from_value, e.to_value) for e in Event.select().where(Event.kind == kind)]

    def services(self) -> list[tuple]:
        with database.connection_context():
            return [(s.name, s.types, s.retired_at is not None) for s in Service.select()]


@pytest.fixture
def world(app):
    return Desk()


@pytest.fixture
def offered(world):
    """Acme's contract covers "Audio matching" (Acme: "Matching") with two subcategories;
    "Billing" (questions only) is in no contract; Globex has no contract."""
    with database.connection_context():
        admin = world.admin
        catalog.add_service("Audio matching", actor=admin)
        catalog.add_subcategory("Audio matching", "Data delivery", actor=admin)
        catalog.add_subcategory("Audio matching", "Portal access", actor=admin)
        catalog.add_service("Billing", actor=admin, types="question")
        SlaPolicy.create(name="Gold")  # the SLA engineer's `sla policy add` makes these
        contracts.add_contract("Acme", ["Audio matching=Matching"], actor=admin, sla="Gold")
    return world


SUBMIT = ("ticket", "submit", "--type", "incident", "--title", "Delivery is late")


# -- the admins' verbs --------------------------------------------------------------------


def test_an_admin_builds_the_catalogue(run_as, world):
    admin = world.admin
    out = ok(run_as(admin, "catalog", "service", "add", "Audio matching", "--types", "incident"))
    assert out.strip() == "Added service Audio matching (incident)."
    ok(run_as(admin, "catalog", "service", "rename", "Audio matching", "Matching"))
    out = ok(run_as(admin, "catalog", "service", "types", "Matching", "incident,question"))
    assert out.strip() == "Service Matching takes: incident, question."
    out = ok(run_as(admin, "catalog", "subcategory", "add", "Matching", "Data delivery"))
    assert out.strip() == "Added subcategory Data delivery to Matching."
    out = ok(run_as(admin, "catalog", "subcategory", "retire", "Matching", "Data delivery"))
    assert out.strip() == "Retired subcategory Data delivery of Matching."
    body = json.loads(ok(run_as(admin, "catalog", "service", "retire", "Matching", "--json")))
    assert (body["name"], body["retired"]) == ("Matching", True)
    assert world.services() == [("Matching", "incident,question", True)]


@pytest.mark.parametrize(
    "args,code,message",
    [
        (("catalog", "service", "add", "Billing"), 1, "already exists"),
        (("catalog", "service", "add", "X", "--types", "incident,bug"), 1, "types must be one of"),
        (("catalog", "service", "add", "7"), 1, "cannot be a number"),
        (("catalog", "service", "rename", "Nope", "X"), 1, "No service named 'Nope'"),
        (("catalog", "service", "rename", "Billing", "audio MATCHING"), 1, "already exists"),
        (("catalog", "service", "retire", "Nope"), 1, "No service named 'Nope'"),
        (("catalog", "subcategory", "add", "Nope", "X"), 1, "No service named 'Nope'"),
        (("catalog", "subcategory", "retire", "Billing", "X"), 1, "has no subcategory 'X'"),
        (("contract", "add", "Acme", "--service", "Nope"), 1, "No service named 'Nope'"),
        (("contract", "add", "Nope", "--service", "Billing"), 1, "Nope"),
        (("contract", "add", "Acme", "--service", "Billing", "--sla", "Tin"), 1, "No SLA policy"),
        (("contract", "add", "Acme", "--service", "Billing", "--from", "2026-31-01"), 2, "date"),
        (("contract", "add", "Acme"), 2, "--service"),
        (
            (
                "contract",
                "add",
                "Acme",
                "--service",
                "Billing",
                "--from",
                "2026-02-01",
                "--to",
                "2026-01-31",
            ),
            1,
            "before its first",
        ),
        (("contract", "end", "99"), 1, "No contract 99"),
        (("contract", "end", "0"), 2, "greater than or equal to 1"),
        (("contract", "end", "1", "--on", "soon"), 2, "date"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(run_as, offered, args, code, message):
    before = offered.services()
    assert message in fails(run_as(offered.admin, *args), code)
    assert offered.services() == before


@pytest.mark.parametrize("who", ["agent", "requester", "power"])
@pytest.mark.parametrize(
    "args",
    [
        ("catalog", "service", "add", "New"),
        ("catalog", "service", "rename", "Billing", "New"),
        ("catalog", "service", "retire", "Billing"),
        ("catalog", "subcategory", "add", "Billing", "New"),
        ("catalog", "subcategory", "retire", "Audio matching", "Portal access"),
        ("contract", "add", "Globex", "--service", "Billing"),
        ("contract", "end", "1"),
    ],
)
def test_only_admins_change_the_catalogue_and_contracts(run_as, offered, who, args):
    before = offered.services()
    assert "Only admins" in fails(run_as(getattr(offered, who), *args), 1)
    assert offered.services() == before


def test_contracts_are_added_listed_and_ended(run_as, offered):
    out = ok(
        run_as(
            offered.admin,
            "contract",
            "add",
            "Globex",
            "--service",
            "Billing=Invoices",
            "--service",
            "Audio matching",
            "--sla",
            "Gold",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
        )
    )
    assert out.strip() == (
        "Added contract 2 for Globex: Audio matching, Billing=Invoices; SLA Gold; "
        "2026-01-01 to 2026-12-31."
    )
    listed = json.loads(ok(run_as(offered.agent, "contract", "list", "--org", "Globex", "--json")))
    assert [(c["id"], c["sla"]) for c in listed["items"]] == [(2, "Gold")]
    table = ok(run_as(offered.agent, "contract", "list"))
    assert "Acme" in table and "Audio matching=Matching" in table and "Gold" in table
    out = ok(run_as(offered.admin, "contract", "end", "2", "--on", "2026-06-30"))
    assert out.strip() == "Contract 2 of Globex ends on 2026-06-30."


def test_customers_may_not_list_contracts(run_as, offered):
    assert "Only agents" in fails(run_as(offered.requester, "contract", "list"), 1)


# -- what each caller may use -------------------------------------------------------------


def test_a_customer_lists_only_their_contracts_services_by_their_name(run_as, offered):
    out = ok(run_as(offered.requester, "catalog", "list"))
    assert "Matching (Audio matching)" in out and "Data delivery, Portal access" in out
    assert "Billing" not in out
    body = json.loads(ok(run_as(offered.requester, "catalog", "list", "--json")))
    assert [o["display_name"] for o in body["items"]] == ["Matching"]


def test_another_organizations_customer_sees_none_of_acmes(run_as, offered):
    assert ok(run_as(offered.other_power, "catalog", "list")).strip() == "No services."
    assert "Only agents" not in fails(
        run_as(offered.other_power, *SUBMIT, "--service", "Matching"), 1
    )


def test_agents_list_everything_and_retired_services_marked(run_as, offered):
    ok(run_as(offered.admin, "catalog", "service", "retire", "Billing"))
    assert "Billing" not in ok(run_as(offered.agent, "catalog", "list"))
    out = ok(run_as(offered.agent, "catalog", "list", "--retired"))
    assert "Billing [retired]" in out and "Audio matching" in out


# -- submitting, showing, listing ---------------------------------------------------------


def test_a_customer_submits_with_service_and_subcategory(run_as, offered):
    ok(
        run_as(
            offered.requester, *SUBMIT, "--service", "Matching", "--subcategory", "Data delivery"
        )
    )
    [ticket] = offered.tickets()
    with database.connection_context():
        assert (ticket.service.name, ticket.subcategory.name) == ("Audio matching", "Data delivery")
    shown = ok(run_as(offered.requester, "ticket", "show", ticket.reference))
    assert "Service:      Matching / Data delivery" in shown


def test_off_a_terminal_a_missing_service_names_the_option_and_the_choices(run_as, offered):
    err = fails(run_as(offered.requester, *SUBMIT), 2)
    assert "--service" in err and "Matching" in err
    assert offered.tickets() == []


def test_a_service_outside_the_contract_is_refused_naming_the_choices(run_as, offered):
    err = fails(run_as(offered.requester, *SUBMIT, "--service", "Billing"), 1)
    assert "You may not use service 'Billing'" in err and "Matching" in err
    assert offered.tickets() == []


def test_missing_type_or_title_off_a_terminal_is_a_usage_error(run_as, offered):
    err = fails(run_as(offered.requester, "ticket", "submit", "--service", "Matching"), 2)
    assert "--type" in err


def test_an_agent_files_for_any_service_for_a_customer(run_as, offered):
    args = ("ticket", "submit", "--type", "question", "--title", "Invoice", "--service", "Billing")
    ok(run_as(offered.agent, *args, "--requester", offered.requester.email))
    [ticket] = offered.tickets()
    assert ticket.service_id is not None


def test_retired_services_cannot_be_chosen_and_old_tickets_keep_theirs(run_as, offered):
    ok(
        run_as(
            offered.requester, *SUBMIT, "--service", "Matching", "--subcategory", "Portal access"
        )
    )
    ok(run_as(offered.admin, "catalog", "subcategory", "retire", "Audio matching", "Portal access"))
    err = fails(
        run_as(
            offered.requester, *SUBMIT, "--service", "Matching", "--subcategory", "Portal access"
        ),
        1,
    )
    assert "retired" in err
    ok(run_as(offered.admin, "catalog", "service", "retire", "Audio matching"))
    err = fails(
        run_as(
            offered.agent,
            *SUBMIT,
            "--service",
            "Audio matching",
            "--requester",
            offered.requester.email,
        ),
        1,
    )
    assert "retired" in err
    shown = ok(run_as(offered.requester, "ticket", "show", "HD-1"))
    assert "Matching / Portal access" in shown
    listed = ok(run_as(offered.agent, "ticket", "list", "--service", "Audio matching"))
    assert "HD-1" in listed and "Matching / Portal access" in listed


def test_lists_show_the_service_and_filter_by_it(run_as, offered):
    ok(
        run_as(
            offered.requester, *SUBMIT, "--service", "Matching", "--subcategory", "Data delivery"
        )
    )
    args = ("ticket", "submit", "--type", "question", "--title", "Invoice", "--service", "Billing")
    ok(run_as(offered.agent, *args, "--requester", offered.requester.email))
    table = ok(run_as(offered.requester, "ticket", "list"))
    assert table.splitlines()[0].split()[:5] == ["Ref", "Status", "Priority", "Type", "Service"]
    assert "Matching / Data delivery" in table and "Billing" in table
    only = json.loads(
        ok(run_as(offered.requester, "ticket", "list", "--service", "Matching", "--json"))
    )
    assert [t["service"]["name"] for t in only["items"]] == ["Audio matching"]
    assert "No service named 'Nope'" in fails(
        run_as(offered.agent, "ticket", "list", "--service", "Nope"), 1
    )


# -- editing ------------------------------------------------------------------------------


def test_an_agent_moves_a_ticket_to_another_service(run_as, offered):
    ok(
        run_as(
            offered.requester, *SUBMIT, "--service", "Matching", "--subcategory", "Data delivery"
        )
    )
    out = ok(run_as(offered.agent, "ticket", "edit", "HD-1", "--subcategory", "Portal access"))
    assert out.strip() == "Updated HD-1: subcategory."
    out = ok(
        run_as(
            offered.agent, "ticket", "edit", "HD-1", "--type", "question", "--service", "Billing"
        )
    )
    assert out.strip() == "Updated HD-1: type, service, subcategory."
    assert offered.events("service") == [("Audio matching", "Billing")]
    assert offered.events("subcategory") == [
        ("Data delivery", "Portal access"),
        ("Portal access", None),
    ]


@pytest.mark.parametrize(
    "who,args,code,message",
    [
        ("agent", ("--subcategory", "Sync"), 1, "not one of its subcategories"),
        ("agent", ("--service", "Billing"), 1, "does not take incident"),
        ("agent", ("--service", "Nope"), 1, "No service named 'Nope'"),
        ("requester", ("--subcategory", "Portal access"), 1, "Only agents"),
        ("other_power", ("--subcategory", "Portal access"), 1, "No such ticket"),
    ],
)
def test_a_refused_service_edit_changes_nothing(run_as, offered, who, args, code, message):
    ok(
        run_as(
            offered.requester, *SUBMIT, "--service", "Matching", "--subcategory", "Data delivery"
        )
    )
    assert message in fails(run_as(getattr(offered, who), "ticket", "edit", "HD-1", *args), code)
    assert offered.events("service") == [] and offered.events("subcategory") == []


# -- on a terminal --------------------------------------------------------------------------

HELPDESK = Path(sys.executable).parent / "helpdesk"


def on_a_terminal(args: list[str], answers: list[str], env: dict, seconds: float = 60) -> tuple:
    """Run the installed `helpdesk` with stdin and stdout on a pseudo-terminal, typing the
    answers; returns (exit code, what the terminal showed)."""
    primary, secondary = pty.openpty()
    with subprocess.Popen(
        [str(HELPDESK), *args],
        stdin=secondary,
        stdout=secondary,
        stderr=subprocess.STDOUT,
        env=env,
    ) as process:
        os.close(secondary)
        os.write(primary, "".join(a + "\n" for a in answers).encode())
        output = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        os.close(primary)
        code = process.wait(timeout=30)
    return code, output.decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.skipif(not HELPDESK.exists(), reason="the console script is not installed")
def test_on_a_terminal_submit_walks_the_customer_through_the_catalogue(offered):
    with database.connection_context():
        token = api_tokens.issue_token(offered.requester)
    env = {**os.environ, "HELPDESK_TOKEN": token}
    answers = [
        "9",  # not a choice: asked again
        "1",  # incident (Matching takes every type; Billing is not theirs)
        "1",  # Matching, their only service
        "2",  # Portal access
        "Cannot log in to the portal",
        "Since this morning.",
        "3",  # impact high
        "",  # urgency: medium, the default
    ]
    code, screen = on_a_terminal(["ticket", "submit"], answers, env)
    assert code == 0, screen
    assert "Answer a number from 1 to 3." in screen
    assert "1) Matching" in screen and "Billing" not in screen
    assert "Submitted HD-1: Cannot log in to the portal" in screen
    [ticket] = offered.tickets()
    with database.connection_context():
        ticket = Ticket.get_by_id(ticket.id)
        assert (ticket.type, ticket.service.name, ticket.subcategory.name) == (
            "incident",
            "Audio matching",
            "Portal access",
        )
        assert (ticket.description, ticket.impact, ticket.urgency) == (
            "Since this morning.",
            "high",
            "medium",
        )


@pytest.mark.skipif(not HELPDESK.exists(), reason="the console script is not installed")
def test_on_a_terminal_a_type_that_asks_a_priority_is_asked_the_priority(offered):
    with database.connection_context():
        priorities.set_type_policy("incident", "priority", actor=offered.admin)
        token = api_tokens.issue_token(offered.requester)
    env = {**os.environ, "HELPDESK_TOKEN": token}
    answers = ["1", "1", "1", "Portal down", "", "3"]  # incident, Matching, Data delivery, high
    code, screen = on_a_terminal(["ticket", "submit"], answers, env)
    assert code == 0, screen
    assert "How urgent is it for you?" in screen and "How many are affected?" not in screen
    with database.connection_context():
        [ticket] = Ticket.select()
        assert (ticket.priority, ticket.subcategory.name) == ("high", "Data delivery")

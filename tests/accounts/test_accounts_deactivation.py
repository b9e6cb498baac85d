"""Deactivating and reactivating accounts, and who may manage whom."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from account_helpers import (
    ADMIN,
    REVOKED,
    WRONG_LOGIN,
    as_user,
    data,
    fails,
    ok,
    set_password,
    token_for,
)

RITA = "rita@acme.test"
RITA_PASSWORD = "rita-password-42"
MANAGE_CUSTOMERS = (
    "Only admins and agents with the customer-management permission may manage customers."
)
MANAGE_USERS = "Only admins may manage users."


def login(cli, email: str, password: str):
    return cli("login", email, "--password-stdin", input=password + "\n")


@pytest.fixture
def desk(installed):
    """Acme with Rita (who has a password and a ticket), Andy the agent, Mia the manager."""
    cli = installed
    ok(cli("org", "create", "Acme"))
    ok(cli("user", "register", RITA, "--name", "Rita", "--org", "Acme"))
    ok(cli("user", "register", "carl@acme.test", "--name", "Carl", "--org", "Acme"))
    ok(cli("user", "register", "andy@example.test", "--name", "Andy", "--agent"))
    ok(
        cli(
            "user",
            "register",
            "mia@example.test",
            "--name",
            "Mia",
            "--agent",
            "--manage-customers",
        )
    )
    rita = as_user(cli, token_for(RITA))
    ticket = data(rita("ticket", "submit", "--type", "incident", "--title", "VPN down", "--json"))
    return SimpleNamespace(
        cli=cli,
        admin=as_user(cli, token_for(ADMIN)),
        rita=rita,
        andy=as_user(cli, token_for("andy@example.test")),
        mia=as_user(cli, token_for("mia@example.test")),
        ref=ticket["reference"],
    )


def test_a_deactivated_user_is_locked_out_but_their_tickets_stay(desk):
    set_password(RITA, RITA_PASSWORD)
    wrong = fails(login(desk.cli, RITA, "not-her-password"), 4)

    assert ok(desk.admin("user", "deactivate", RITA)).stdout == f"Deactivated {RITA}.\n"
    # The same answer as a wrong password: nothing tells that the account exists.
    assert fails(login(desk.cli, RITA, RITA_PASSWORD), 4) == wrong == f"Error: {WRONG_LOGIN}\n"
    assert REVOKED in fails(desk.rita("whoami"), 4)
    assert REVOKED in fails(desk.rita("ticket", "list"), 4)

    # Agents still see her tickets.
    [ticket] = data(desk.andy("ticket", "list", "--json"))["items"]
    assert (ticket["reference"], ticket["requester"]["email"]) == (desk.ref, RITA)
    ok(desk.andy("ticket", "show", desk.ref))
    listed = data(desk.admin("user", "list", "--json"))["items"]
    assert [u["active"] for u in listed if u["email"] == RITA] == [False]

    assert ok(desk.admin("user", "reactivate", RITA)).stdout == f"Reactivated {RITA}.\n"
    assert ok(login(desk.cli, RITA, RITA_PASSWORD)).stdout.startswith("Logged in as Rita")
    assert [t["reference"] for t in data(desk.cli("ticket", "list", "--json"))["items"]] == [
        desk.ref
    ]
    # The tokens revoked by the deactivation stay revoked.
    assert REVOKED in fails(desk.rita("whoami"), 4)


def test_deactivating_an_unknown_user_is_refused(desk):
    assert "No user with email ghost@acme.test." in fails(
        desk.admin("user", "deactivate", "ghost@acme.test"), 1
    )


def test_an_agent_without_the_permission_manages_no_customers(desk):
    error = fails(desk.andy("user", "register", "new@acme.test", "--name", "New"), 1)
    assert error == f"Error: {MANAGE_CUSTOMERS}\n"
    assert fails(desk.andy("user", "deactivate", RITA), 1) == f"Error: {MANAGE_CUSTOMERS}\n"
    assert fails(desk.andy("user", "invite", "--resend", RITA), 1) == f"Error: {MANAGE_CUSTOMERS}\n"
    ok(desk.rita("whoami"))
    emails = [u["email"] for u in data(desk.admin("user", "list", "--json"))["items"]]
    assert "new@acme.test" not in emails


def test_a_customer_manager_manages_customers_but_not_staff(desk):
    result = desk.mia("user", "register", "new@acme.test", "--name", "New", "--org", "Acme")
    assert ok(result).stdout == "Registered customer New <new@acme.test>.\n"
    ok(desk.mia("user", "invite", "--resend", "new@acme.test"))
    ok(desk.mia("user", "deactivate", RITA))
    assert REVOKED in fails(desk.rita("whoami"), 4)
    ok(desk.mia("user", "reactivate", RITA))

    error = fails(desk.mia("user", "register", "bob@example.test", "--name", "Bob", "--agent"), 1)
    assert error == f"Error: {MANAGE_USERS}\n"
    error = fails(desk.mia("user", "register", "eve@example.test", "--name", "Eve", "--admin"), 1)
    assert error == f"Error: {MANAGE_USERS}\n"
    assert (
        fails(desk.mia("user", "deactivate", "andy@example.test"), 1) == f"Error: {MANAGE_USERS}\n"
    )
    assert fails(desk.mia("user", "deactivate", ADMIN), 1) == f"Error: {MANAGE_USERS}\n"
    ok(desk.andy("whoami"))
    ok(desk.admin("whoami"))


def test_nobody_deactivates_themselves(desk):
    assert fails(desk.admin("user", "deactivate", ADMIN), 1) == (
        "Error: You cannot deactivate yourself.\n"
    )
    ok(desk.admin("whoami"))
    fails(desk.mia("user", "deactivate", "mia@example.test"), 1)
    ok(desk.mia("whoami"))
    fails(desk.andy("user", "deactivate", "andy@example.test"), 1)
    ok(desk.andy("whoami"))
    fails(desk.rita("user", "deactivate", RITA), 1)
    ok(desk.rita("whoami"))


def test_a_customer_cannot_deactivate_anyone(desk):
    assert fails(desk.rita("user", "deactivate", "carl@acme.test"), 1) == (
        f"Error: {MANAGE_CUSTOMERS}\n"
    )
    ok(as_user(desk.cli, token_for("carl@acme.test"))("whoami"))


def test_an_admin_deactivates_staff(desk):
    ok(desk.admin("user", "deactivate", "mia@example.test"))
    assert REVOKED in fails(desk.mia("whoami"), 4)
    ok(desk.admin("user", "reactivate", "mia@example.test"))
    ok(as_user(desk.cli, token_for("mia@example.test"))("whoami"))


# -- the same through the JSON API ----------------------------------------------------------


def test_the_api_answers_403_to_those_who_may_not_manage(world, client):
    agent = world.headers(world.agent)
    new_customer = {"email": "new@acme.test", "name": "New", "organization": "Acme"}
    resp = client.post("/api/v1/users", json=new_customer, headers=agent)
    assert (resp.status_code, resp.json["error"]["code"]) == (403, "permission_denied")
    resp = client.post("/api/v1/users/deactivate", json={"email": "req@acme.test"}, headers=agent)
    assert resp.status_code == 403

    world.agent.can_manage_customers = True
    world.agent.save()
    assert client.post("/api/v1/users", json=new_customer, headers=agent).status_code == 201
    resp = client.post("/api/v1/users/deactivate", json={"email": "req@acme.test"}, headers=agent)
    assert (resp.status_code, resp.json["active"]) == (200, False)
    staff = {"email": "bob@example.test", "name": "Bob", "kind": "agent"}
    assert client.post("/api/v1/users", json=staff, headers=agent).status_code == 403
    resp = client.post("/api/v1/users/deactivate", json={"email": world.agent.email}, headers=agent)
    assert resp.status_code == 403

    admin = world.headers(world.admin)
    resp = client.post("/api/v1/users/deactivate", json={"email": world.admin.email}, headers=admin)
    assert (resp.status_code, resp.json["error"]["code"]) == (409, "conflict")
    assert client.get("/api/v1/me", headers=admin).status_code == 200

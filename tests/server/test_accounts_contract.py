"""Accounts, organizations and provisioning read their bodies with the models their
operations declare: a field of the wrong JSON type is refused before any service runs."""

from __future__ import annotations

import pytest

from helpdesk.models import Organization, User
from helpdesk.server.api import accounts, organizations, provisioning
from helpdesk.server.api.contract import operation_of

API = "/api/v1"


@pytest.mark.parametrize(
    "path,body,message,field",
    [
        ("/users", {"email": "x@acme.test", "name": 7}, "name must be text.", "name"),
        (
            "/users",
            {"email": "x@acme.test", "name": "X", "invite": "no"},
            "invite must be true or false.",
            "invite",
        ),
        ("/organizations", {"name": ["Globex"]}, "name must be text.", "name"),
        (
            "/memberships",
            {"organization": "Acme", "email": "x@acme.test", "role": 1},
            "role must be text.",
            "role",
        ),
        ("/users/import", {"rows": [], "dry_run": 1}, "dry_run must be true or false.", "dry_run"),
        (
            "/tokens",
            {"name": "ci", "read_only": "true"},
            "read_only must be true or false.",
            "read_only",
        ),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_and_nothing_is_created(
    client, world, path, body, message, field
):
    before = (User.select().count(), Organization.select().count())
    resp = client.post(f"{API}{path}", json=body, headers=world.headers(world.admin))
    assert resp.status_code == 422, resp.json
    error = resp.json["error"]
    assert (error["message"], error["details"]["field"]) == (message, field)
    assert (User.select().count(), Organization.select().count()) == before


def test_a_wrong_password_type_at_login_is_a_clear_422_not_a_failed_login(client, world):
    resp = client.post(f"{API}/auth/login", json={"email": world.admin.email, "password": 12345})
    assert resp.status_code == 422
    assert resp.json["error"]["message"] == "password must be text."


def test_changing_the_email_answers_whether_a_confirmation_is_pending(client, world):
    headers = world.headers(world.requester)
    same = client.patch(f"{API}/account", json={"name": "Rita R."}, headers=headers)
    moved = client.patch(f"{API}/account", json={"email": "rita@new.test"}, headers=headers)
    assert (same.json["email_change_pending"], moved.json["email_change_pending"]) == (
        False,
        True,
    )


def test_every_view_of_these_modules_declares_its_operation(app):
    modules = (accounts.__name__, organizations.__name__, provisioning.__name__)
    views = [v for v in app.view_functions.values() if v.__module__ in modules]
    assert len(views) == 27
    assert [v.__name__ for v in views if operation_of(v) is None] == []

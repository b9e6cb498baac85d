"""Bulk provisioning through the real HTTP API: POST /users/import, GET /users/export.

Each refusal is checked twice: the answer, and that the database is exactly as before.
"""

from __future__ import annotations

import pytest

from helpdesk.models import Membership, Organization, OutboxMessage, User

IMPORT = "/api/v1/users/import"
EXPORT = "/api/v1/users/export"
REPORT_KEYS = {"created", "updated", "unchanged", "invalid", "errors", "dry_run"}
COLUMNS = ["email", "name", "organization", "role", "language", "phone"]


def row(line, email, name, organization="", role="", language="", phone=""):
    return {
        "line": line,
        "email": email,
        "name": name,
        "organization": organization,
        "role": role,
        "language": language,
        "phone": phone,
    }


def state() -> dict:
    """Everything an import may change: users, memberships, the outbox."""
    return {
        "users": sorted(
            (u.email, u.name, u.kind, u.language, u.phone, u.origin, u.password_hash is None)
            for u in User.select()
        ),
        "memberships": sorted(
            (m.user.email, m.organization.name, m.role)
            for m in Membership.select(Membership, User, Organization)
            .join(User)
            .switch(Membership)
            .join(Organization)
        ),
        "outbox": sorted((m.kind, m.to_address) for m in OutboxMessage.select()),
    }


def invitations() -> list[str]:
    return sorted(
        m.to_address for m in OutboxMessage.select().where(OutboxMessage.kind == "invite")
    )


def error_of(resp, status: int, code: str) -> dict:
    """The one error shape, with this status and code."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def api(client, world):
    """POST rows as someone; return the response."""

    def post(rows, who=None, **flags):
        headers = world.headers(who or world.admin)
        return client.post(IMPORT, json={"rows": rows, **flags}, headers=headers)

    return post


NEW_ROWS = [
    row(2, "sam@initech.test", "Sam Carter", "Acme", "user", "fr", "+41 44 123 45 67"),
    row(3, "Pat@Initech.test", " Pat Lee ", "acme", "power", "", ""),
    row(4, "pat@initech.test", "Pat Lee", "Globex", "", "", ""),
    row(5, "nora@initech.test", "Nora No-Org"),
]


def test_valid_rows_create_customers_with_memberships_and_invitations(api, world):
    resp = api(NEW_ROWS)

    assert resp.status_code == 200, resp.get_json()
    report = resp.get_json()
    assert set(report) == REPORT_KEYS
    assert report == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "invalid": 0,
        "errors": [],
        "dry_run": False,
    }
    sam = User.get(User.email == "sam@initech.test")
    assert (sam.name, sam.kind, sam.origin, sam.language, sam.phone) == (
        "Sam Carter",
        "customer",
        "internal",
        "fr",
        "+41 44 123 45 67",
    )
    assert sam.password_hash is None  # they choose it with the invitation
    pat = User.get(User.email == "pat@initech.test")
    assert (pat.name, pat.language, pat.phone) == ("Pat Lee", "en", None)
    memberships = state()["memberships"]
    assert ("sam@initech.test", "Acme", "user") in memberships
    assert ("pat@initech.test", "Acme", "power") in memberships
    assert ("pat@initech.test", "Globex", "user") in memberships
    assert not [m for m in memberships if m[0] == "nora@initech.test"]
    assert invitations() == ["nora@initech.test", "pat@initech.test", "sam@initech.test"]


def test_importing_the_same_rows_again_changes_nothing(api):
    assert api(NEW_ROWS).status_code == 200
    before = state()

    report = api(NEW_ROWS).get_json()

    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 4)
    assert state() == before  # no second invitation either


def test_without_invitations_nobody_is_emailed(api):
    report = api(NEW_ROWS, invite=False).get_json()
    assert report["created"] == 4
    assert invitations() == []


def test_a_changed_name_role_or_language_updates_only_that_row(api, world):
    world.requester.phone = "+1 555 0100"
    world.requester.save()
    rows = [
        row(2, "req@acme.test", "Rita Requester", "Acme", "power", "en", "+1 555 0100"),
        row(3, "col@acme.test", "Carl C. Colleague", "Acme", "user", "en", ""),
        row(4, "shared@acme.test", "Sheila Shared", "Acme", "user", "en", ""),
        row(5, "power@acme.test", "Paula Power", "Globex", "user", "it", ""),
    ]

    report = api(rows).get_json()

    assert (report["created"], report["updated"], report["unchanged"]) == (0, 3, 1)
    memberships = state()["memberships"]
    assert ("req@acme.test", "Acme", "power") in memberships
    assert ("power@acme.test", "Acme", "power") in memberships  # kept: only Globex was named
    assert ("power@acme.test", "Globex", "user") in memberships
    assert User.get(User.email == "col@acme.test").name == "Carl C. Colleague"
    assert User.get(User.email == "power@acme.test").language == "it"
    assert invitations() == []  # existing customers are not invited again


def test_a_left_out_column_keeps_the_existing_value(api, world):
    world.power.phone = "+1 555 0199"
    world.power.language = "cs"
    world.power.save()
    before = state()

    report = api([{"line": 2, "email": "power@acme.test", "name": "Paula Power"}]).get_json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 1)
    report = api([{"email": "power@acme.test", "name": "Paula Power", "organization": "Acme"}])
    assert report.get_json()["unchanged"] == 1
    assert state() == before

    # A blank value is the default: no phone, English, a user member.
    report = api([row(2, "power@acme.test", "Paula Power", "Acme")]).get_json()
    assert report["updated"] == 1
    paula = User.get(User.email == "power@acme.test")
    assert (paula.phone, paula.language) == (None, "en")
    assert ("power@acme.test", "Acme", "user") in state()["memberships"]


BAD_ROWS = [
    row(2, "good@initech.test", "Good Row", "Acme"),
    row(3, "not-an-email", "Bad Email", "Acme"),
    row(4, "nowhere@initech.test", "Unknown Org", "Initech"),
    row(5, "boss@initech.test", "Bad Role", "Acme", "admin"),
    row(6, "german@initech.test", "Bad Language", "Acme", "user", "de"),
    row(7, "nameless@initech.test", "  ", "Acme"),
    row(8, "good@initech.test", "Good Row", "acme"),
    row(9, "good@initech.test", "Someone Else", "Globex"),
    row(10, "agent@example.test", "Andy Agent", "Acme"),
    row(11, "long@initech.test", "Long Phone", "Acme", phone="1" * 41),
    row(12, "two@initech.test", "Two\nLines", "Acme"),
    row(14, "fine@initech.test", "Fine Row"),
]
BAD_LINES = {
    3: "'not-an-email' is not an email address.",
    4: "No organization named 'Initech'.",
    5: "role must be one of: user, power (got 'admin').",
    6: "language must be one of: en, fr, it, cs (got 'de').",
    7: "name is required.",
    8: "good@initech.test in Acme duplicates line 2.",
    9: "name 'Someone Else' conflicts with line 2 ('Good Row').",
    10: "agent@example.test is an agent; only customers can be imported.",
    11: "phone is too long (41 characters, at most 40).",
    12: "name must be one line, without control characters.",
}


def test_invalid_rows_are_all_reported_by_line_and_nothing_is_written(api, world):
    before = state()

    error = error_of(api(BAD_ROWS), 422, "validation_failed")

    assert error["message"] == "10 of 12 rows are invalid; nothing was imported."
    reported = error["details"]["rows"]
    assert [r["line"] for r in reported] == sorted(BAD_LINES)
    for bad in reported:
        assert set(bad) == {"line", "email", "errors"}
        assert bad["errors"] == [BAD_LINES[bad["line"]]]
    assert reported[0]["email"] == "not-an-email"
    assert state() == before


def test_every_problem_of_one_row_is_reported(api):
    resp = api([row(2, "x@initech.test", "", "Nowhere", "boss", "xx", "2" * 50)])
    [bad] = error_of(resp, 422, "validation_failed")["details"]["rows"]
    assert bad["line"] == 2 and len(bad["errors"]) == 5


def test_skip_invalid_imports_the_valid_rows_and_reports_the_others(api):
    report = api(BAD_ROWS, skip_invalid=True).get_json()

    assert (report["created"], report["updated"], report["unchanged"]) == (2, 0, 0)
    assert report["invalid"] == 10
    assert [r["line"] for r in report["errors"]] == sorted(BAD_LINES)
    assert invitations() == ["fine@initech.test", "good@initech.test"]
    assert not User.select().where(User.email == "nowhere@initech.test").exists()


def test_a_dry_run_counts_and_writes_nothing(api):
    before = state()

    report = api(NEW_ROWS, dry_run=True).get_json()

    assert report == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "invalid": 0,
        "errors": [],
        "dry_run": True,
    }
    assert state() == before
    # Invalid rows are refused in a dry run too.
    error_of(api(BAD_ROWS, dry_run=True), 422, "validation_failed")
    assert state() == before


def test_export_gives_one_row_per_membership_and_imports_back_unchanged(api, client, world):
    assert api(NEW_ROWS).status_code == 200
    resp = client.get(EXPORT, headers=world.headers(world.admin))
    assert resp.status_code == 200
    items = resp.get_json()["items"]

    for item in items:
        assert set(item) == set(COLUMNS)
    emails = [i["email"] for i in items]
    assert "agent@example.test" not in emails and "admin@example.test" not in emails
    assert [(i["email"], i["organization"]) for i in items] == sorted(
        (i["email"], i["organization"]) for i in items
    )
    assert {"pat@initech.test": 2, "nora@initech.test": 1}.items() <= {
        e: emails.count(e) for e in emails
    }.items()
    nora = next(i for i in items if i["email"] == "nora@initech.test")
    assert nora == {
        "email": "nora@initech.test",
        "name": "Nora No-Org",
        "organization": "",
        "role": "",
        "language": "en",
        "phone": "",
    }
    assert next(i for i in items if i["email"] == "sam@initech.test")["phone"] == (
        "+41 44 123 45 67"
    )
    before = state()

    rows = [{"line": n, **item} for n, item in enumerate(items, start=2)]
    report = api(rows).get_json()

    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, len(items))
    assert state() == before


def test_customer_managers_may_import_and_export(api, client, world):
    manager = world.agent
    manager.can_manage_customers = True
    manager.save()

    assert api(NEW_ROWS, who=manager).get_json()["created"] == 4
    assert client.get(EXPORT, headers=world.headers(manager)).status_code == 200


@pytest.mark.parametrize("who", ["agent", "requester", "power"])
def test_agents_without_the_permission_and_customers_are_refused(api, client, world, who):
    before = state()
    actor = getattr(world, who)

    error = error_of(api(NEW_ROWS, who=actor), 403, "permission_denied")
    assert "customer-management permission" in error["message"]
    # Refused before the rows are even looked at.
    error_of(api(BAD_ROWS, who=actor), 403, "permission_denied")
    error_of(client.get(EXPORT, headers=world.headers(actor)), 403, "permission_denied")
    assert state() == before


def test_without_a_token_it_is_401(client, world):
    error_of(client.post(IMPORT, json={"rows": NEW_ROWS}), 401, "authentication_required")
    error_of(client.get(EXPORT), 401, "authentication_required")


@pytest.mark.parametrize(
    "body,message",
    [
        ({}, "Missing required field: rows."),
        ({"rows": "a,b"}, "rows must be a list."),
        ({"rows": ["a,b"]}, "rows[0] must be a JSON object."),
        (
            {"rows": [{"email": "a@b.test", "name": "A", "org": "Acme"}]},
            "has an unknown field: org.",
        ),
        ({"rows": [{"line": "two", "email": "a@b.test", "name": "A"}]}, "line must be"),
        ({"rows": [], "dry_run": "yes"}, "dry_run must be true or false."),
        ({"rows": [], "colour": "red"}, "Unknown field: colour."),
    ],
)
def test_a_malformed_request_is_refused_whole(client, world, body, message):
    before = state()
    resp = client.post(IMPORT, json=body, headers=world.headers(world.admin))
    assert message in error_of(resp, 422, "validation_failed")["message"]
    assert state() == before


def test_at_most_5000_rows_per_request(api):
    before = state()
    rows = [row(n + 2, f"c{n}@initech.test", f"Customer {n}", "Acme") for n in range(5001)]

    error = error_of(api(rows), 422, "validation_failed")

    assert "at most 5000" in error["message"]
    assert state() == before


def test_thousands_of_rows_in_one_request(api):
    rows = [row(n + 2, f"c{n:04}@initech.test", f"Customer {n}", "Acme") for n in range(2500)]

    assert api(rows, invite=False).get_json()["created"] == 2500
    report = api(rows, invite=False).get_json()

    assert report["unchanged"] == 2500
    assert (
        Membership.select().join(User).where(User.email.endswith("@initech.test")).count() == 2500
    )

"""An authorization sweep generated from the route table: every API route, as every kind of
caller, aimed at another organization's ids (issue 11).

Globex's ticket, comments, attachment, contract, users and queued mail are the targets; the
callers are nobody, Acme's customer and Acme's power user (who must learn nothing of Globex),
and an agent and an admin (who may: for them no route may fail with a 500). A route added to
the API is swept without touching this file; its URL variables must be known below.
"""

from __future__ import annotations

import io
import json
from typing import NamedTuple

import pytest

from helpdesk.db import database
from helpdesk.models import Attachment, Comment, Contract, OutboxMessage, Ticket
from helpdesk.services import catalog, contracts, tickets
from helpdesk.storage import Upload

# What Globex's data says, and what nothing an Acme customer receives may say.
SECRETS = ("globex", "zircon")
# Routes anybody may call (signing up, logging in, a survey's link...): no 401 for nobody.
PUBLIC = {
    "/api/v1/health",
    "/api/v1/openapi.json",
    "/api/v1/auth/login",
    "/api/v1/auth/signup",
    "/api/v1/account/activate",
    "/api/v1/account/email/confirm",
    "/api/v1/account/password-reset",
    "/api/v1/account/password-reset/confirm",
    "/api/v1/surveys/<token>",
}
# A body with a value for every field a write route reads, so that a refusal cannot come
# from a missing field before the caller's rights were looked at.
BODY = {
    "body": "Zircon leaks again",
    "to": "open",
    "emails": ["col@acme.test"],
    "rating": 5,
    "comment": "fine",
    "enabled": False,
    "assignee": "agent@example.test",
    "title": "Zircon",
}


@pytest.fixture
def globex(world):
    """Globex's side of the desk: a ticket with a public reply, an internal note and an
    attachment, a contract, and the mail it queued."""
    catalog.add_service("Turbines", actor=world.admin)
    contracts.add_contract("Globex", ["Turbines=Zircon plan"], actor=world.admin)
    ticket = tickets.submit_ticket(
        actor=world.other_power,
        type="incident",
        title="Zircon reactor leak",
        description="Zircon coolant everywhere",
        service="Turbines",
        attachments=[Upload("zircon.txt", io.BytesIO(b"zircon blueprint"), "text/plain")],
    )
    tickets.add_comment(ticket.reference, "Zircon public reply", actor=world.agent)
    tickets.add_comment(ticket.reference, "Zircon internal note", actor=world.agent, internal=True)
    return {
        "reference": ticket.reference,
        "filename": Attachment.get(Attachment.ticket == ticket).filename,
        "comment_id": Comment.select().where(Comment.ticket == ticket).first().id,
        "contract_id": Contract.get().id,
        "message_id": OutboxMessage.select().first().id,
        "org_id": world.globex.id,
        "user_id": world.other_power.id,
        "service": "Turbines",
        "subcategory": "None",
        "name": "Gold",
        "impact": "high",
        "urgency": "high",
        "type_": "incident",
        "token": "not-a-token",
    }


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith("/api/v1/"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule, method


# The caller's own bookkeeping, written by any request with a token: its use, the access log.
BOOKKEEPING = {"apitoken", "accesslog"}
GHOST = "HD-999999"  # a reference no ticket has


def _fingerprint() -> tuple:
    """Every table's row count and Globex's ticket as stored: what a refused request must
    leave as it was."""
    counts = tuple(
        database.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        for table in sorted(set(database.get_tables()) - BOOKKEEPING)
    )
    ticket = Ticket.select().order_by(Ticket.id).first()
    return counts, tuple(ticket.__data__.items())


class Answer(NamedTuple):
    status: int
    text: str


def _call(client, rule, method, ids: dict, headers: dict) -> Answer:
    url = rule.rule
    for variable in rule.arguments:
        url = _fill(url, variable, str(ids[variable]))
    body = None if method == "GET" else BODY
    response = client.open(url, method=method, json=body, headers=headers)
    with response:  # a download's file is closed
        return Answer(response.status_code, response.get_data(as_text=True))


def _sweep(app, client, headers, ids: dict):
    """(route, method, answer, changed, ghost's answer) of every route called with Globex's
    ids; for a ticket's routes, the answer for a reference no ticket has too. `headers()`:
    the caller's, anew for each request (one route logs the caller out)."""
    for rule, method in _routes(app):
        ghost = None
        if "reference" in rule.arguments:
            ghost = _call(client, rule, method, {**ids, "reference": GHOST}, headers())
        caller = headers()
        before = _fingerprint()
        response = _call(client, rule, method, ids, caller)
        changed = _fingerprint() != before
        yield rule.rule, method, response, changed, ghost


def _fill(url: str, variable: str, value: str) -> str:
    """Put a value where the rule has `<variable>` or `<converter(...):variable>`."""
    start = url.index("<")
    while True:
        end = url.index(">", start)
        if url[start + 1 : end].split(":")[-1] == variable:
            return url[:start] + value + url[end + 1 :]
        start = url.index("<", end)


@pytest.mark.parametrize("caller", ["nobody", "requester", "power"])
def test_a_customer_of_another_organization_learns_nothing_from_any_route(
    app, client, world, globex, caller
):
    user = getattr(world, caller, None)

    def headers():
        return world.headers(user) if user else {}

    found = []
    for route, method, response, changed, ghost in _sweep(app, client, headers, globex):
        status, text = response
        where = f"{method} {route} -> {status}"
        if status >= 500:
            found.append(f"{where}: a server error")
        if any(secret in text.lower() for secret in SECRETS):
            found.append(f"{where}: says something of Globex: {text[:300]}")
        if caller == "nobody" and route not in PUBLIC and status != 401:
            found.append(f"{where}: answered without a token")
        if ghost is not None:
            said = text.replace(globex["reference"], GHOST)
            if (status, said) != ghost:
                found.append(f"{where}: not answered like a ticket that does not exist: {text}")
        if status >= 400 and changed:
            found.append(f"{where}: refused, yet something changed")
        if status < 300 and route not in PUBLIC:
            json.loads(text or "null")  # an answer, in JSON
    assert not found, "\n".join(found)


@pytest.mark.parametrize("caller", ["agent", "admin"])
def test_no_route_fails_with_a_server_error_for_staff(app, client, world, globex, caller):

    def headers():
        return world.headers(getattr(world, caller))

    errors = [
        f"{method} {route} -> {response.status}: {response.text[:300]}"
        for route, method, response, *_ in _sweep(app, client, headers, globex)
        if response.status >= 500
    ]
    assert not errors, "\n".join(errors)


def test_the_routes_anybody_may_call_are_the_public_ones(app):
    from helpdesk.server.api.inputs import is_public

    marked = {rule.rule for rule, _ in _routes(app) if is_public(app.view_functions[rule.endpoint])}
    assert marked == PUBLIC


def test_the_sweep_knows_how_to_fill_every_route(app, globex):
    unknown = {
        variable
        for rule, _ in _routes(app)
        for variable in rule.arguments
        if variable not in globex
    }
    assert not unknown, f"routes with URL variables the sweep cannot fill: {unknown}"

"""schemathesis against a real `helpdesk serve` (issue 11): requests generated from the served
/api/v1/openapi.json for every operation, as a customer and as an agent. No answer may be a
500, and every answer must be one the document declares: its status, media type, headers and
body.

Bounded and repeatable: a fixed number of examples per operation and kind of data,
derandomized (Hypothesis' seed fixed for each operation), no example database, no shrinking.
"""

from __future__ import annotations

import io
from urllib.parse import urlencode

import hypothesis
import hypothesis.strategies as st
import pytest
import schemathesis
from conftest import helpdesk_serve, loopback_environment
from schemathesis import GenerationMode

from helpdesk.db import database
from helpdesk.models import Attachment, Comment, Contract
from helpdesk.services import catalog, contracts, sla, tickets
from helpdesk.storage import Upload

EXAMPLES_PER_OPERATION = 10  # for each kind of data below: 20 requests an operation and role

# Requests that fit the document, and requests off it (a wrong type, a missing field, no
# token), which must be refused in the one error shape with a declared status.
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

# A query's longest text (see _fits_a_request_line), with room for the path.
QUERY_BYTES = 3000

# What every answer is checked for. Left out: positive_data_acceptance and
# negative_data_rejection, whose idea of an acceptable request is the document's alone; here
# the services check values against the database (a service's name, a status the ticket may
# move to, a user's email), which no schema can say, so a well-typed request is rightly
# refused with a declared 404, 409 or 422.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
            "no-shrink": True,
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        # A busy CI machine makes generation slow, not wrong.
        "suppress-health-check": ["too_slow"],
    }
)

# Operations that end the caller's token or change its credentials: fuzzed, they would turn
# the rest of the run into 401s. Each has its own tests (tests/accounts/).
TOKEN_ENDING = (
    ("POST", "/auth/logout"),
    ("POST", "/tokens/revoke"),
    ("POST", "/account/password"),
    ("PATCH", "/account"),
)

# Values the services accept, mixed into generated bodies so that writes get past "no such
# type, status or user" to the code behind (a random string only reaches the refusal); None
# leaves an optional field out.
BODY_VALUES = {
    "type": ["incident", "question"],
    "service": ["Printing"],
    "to": ["open", "pending", "resolved"],
    "assignee": ["me", "agent@example.test"],
    "users": [["col@acme.test"]],
    "rating": [4],
    **dict.fromkeys(("subcategory", "impact", "urgency", "priority", "requester"), [None]),
    "organization": ["Acme", None],
}


@pytest.fixture
def desk(app, world, tmp_path):
    """A small desk served by a real `helpdesk serve` on this run's database: Acme with a
    contract for a service, its customer, power user and colleague, an agent, an admin, and
    tickets with public replies, internal notes and attachments to refer to."""
    with database.connection_context():
        admin = world.admin
        sla.add_policy("Basic", ["medium:1h:4h"], actor=admin)
        catalog.add_service("Printing", actor=admin)
        contracts.add_contract("Acme", ["Printing"], actor=admin, sla="Basic")
        references = []
        for title in ("Printer prints blank pages", "Toner smudges", "Paper jam"):
            ticket = tickets.submit_ticket(
                actor=world.requester,
                type="incident",
                title=title,
                service="Printing",
                attachments=[Upload("scan.txt", io.BytesIO(b"a scan"), "text/plain")],
            )
            tickets.add_comment(ticket.reference, "Looking into it", actor=world.agent)
            tickets.add_comment(
                ticket.reference, "Likely the fuser", actor=world.agent, internal=True
            )
            references.append(ticket.reference)
        # Path parameters naming existing objects, besides the generated ones: a 404 conforms
        # too, but only an existing object reaches the code behind the lookup.
        existing = {
            "reference": references,
            "comment_id": [comment.id for comment in Comment.select()],
            "filename": [attachment.filename for attachment in Attachment.select()],
            "contract_id": [contract.id for contract in Contract.select()],
            "org_id": [world.acme.id],
            "user_id": [world.requester.id, world.agent.id],
            "service": ["Printing"],
            "name": ["Basic"],
        }
        headers = {
            "customer": world.headers(world.requester),
            "agent": world.headers(world.agent),
        }
    log = tmp_path / "serve.log"
    with helpdesk_serve(loopback_environment(), log) as (url, *_):
        yield {"url": url, "headers": headers, "existing": existing}
    # The server checks its own answers too (HELPDESK_CHECK_ANSWERS=1, inherited), against
    # the pydantic models the document is generated from, and logs what is off.
    assert "answer off its contract" not in log.read_text()


def _either(existing: dict[str, list]):
    """A hook for generated objects (path parameters, JSON bodies): each field keeps its
    generated value or takes an existing one, as Hypothesis draws."""

    def either(context, generated):
        if not isinstance(generated, dict) or not generated:
            return st.just(generated)
        return st.fixed_dictionaries(
            {
                name: st.sampled_from([value, *existing.get(name, ())])
                for name, value in generated.items()
            }
        )

    return either


def _can_be_off_the_document(operation) -> bool:
    """Whether a request off the document exists: a token to leave out, or a query
    parameter, header or body to get wrong (a text path parameter cannot be: any text is
    one)."""
    definition = operation.definition.raw
    return (
        definition.get("security") != []
        or "requestBody" in definition
        or any(
            parameter["in"] != "path" or parameter["schema"].get("type") != "string"
            for parameter in definition.get("parameters", ())
        )
    )


def _fits_a_request_line(context, query: dict | None) -> bool:
    """gunicorn answers a request line over 4,094 bytes with its own 414 page before the app
    sees it: the server's limit, not the API's, so no query may come near it."""
    return query is None or len(urlencode(query, doseq=True)) < QUERY_BYTES


def fuzz(desk, role: str) -> list[str]:
    """Generated requests for every operation of the served document, as `role`; what the
    checks found, one report (with a curl line to reproduce) per operation and mode.

    schemathesis' pytest integration (`from_fixture`) fails under pytest 9.2 (it reads
    `request.node._nodeid`, which is gone), hence its Python API: a Hypothesis test per
    operation and mode, run here."""
    api = schemathesis.openapi.from_url(desk["url"] + "/api/v1/openapi.json", config=CONFIG)
    for method, path in TOKEN_ENDING:
        api = api.exclude(method=method, path=path)
    api.hook("flatmap_path_parameters")(_either(desk["existing"]))
    api.hook("flatmap_body")(_either(BODY_VALUES))
    api.hook("filter_query")(_fits_a_request_line)
    headers = desk["headers"][role]
    found = []
    for result in api.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            if mode is GenerationMode.NEGATIVE and not _can_be_off_the_document(operation):
                continue

            @hypothesis.settings(api.config.get_hypothesis_settings(operation=operation))
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def requests_conform(case):
                response = case.call_and_validate(headers=headers)
                # A refusal says why in the one error shape, never with a traceback.
                assert "Traceback" not in response.text, case.as_curl_command(headers)

            try:
                requests_conform()
            # Kept, so that one run reports every operation. Several failures of one request
            # come as schemathesis' FailureGroup, a BaseExceptionGroup.
            except (Exception, BaseExceptionGroup) as failure:
                found.append(f"{operation.label} ({mode.value}) as {role}:\n{failure}")
    return found


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_every_operation_answers_as_the_document_says(desk, role):
    found = fuzz(desk, role)
    assert not found, "\n\n".join(found)

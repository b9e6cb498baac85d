"""The API's OpenAPI document: complete, valid, generated from what the views validate with."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from flask import Flask
from openapi_spec_validator import validate

from helpdesk.server.api.contract import ANSWER_PROBLEMS
from helpdesk.server.api.openapi import api_routes, openapi_document, openapi_path, route_table

ROOT = Path(__file__).resolve().parents[2]


def _document(client) -> dict:
    response = client.get("/api/v1/openapi.json")  # no token: anyone may read it
    assert response.status_code == 200
    return response.get_json()


def test_every_route_of_the_app_is_described(app, client):
    document = _document(client)
    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    routes = {(openapi_path(rule), method.lower()) for rule, method in api_routes(app)}
    assert len(routes) > 70
    assert described == routes


def test_the_document_is_valid_openapi_3_1(client):
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on anything the OpenAPI 3.1 schema refuses


def test_every_operation_answers_its_errors_in_the_one_error_shape(client):
    document = _document(client)
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in document["paths"].items():
        for method, entry in operations.items():
            statuses = set(entry["responses"])
            assert any(s.startswith("2") for s in statuses), (method, path)
            failures = {s for s in statuses if s[0] in "45"}
            assert {"422", "503"} <= failures, (method, path)
            if entry.get("security") != []:
                assert {"401", "403"} <= failures, (method, path)
            if "{" in path:
                assert "404" in failures, (method, path)
            for status in failures:
                if (path, status) == ("/health", "503"):
                    continue  # the health report itself, saying what failed
                schema = entry["responses"][status]["content"]["application/json"]["schema"]
                assert schema == error, (method, path, status)


def test_a_body_is_described_by_the_model_the_view_reads_it_with(client, world):
    document = _document(client)
    submit = document["paths"]["/tickets"]["post"]
    ref = submit["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    model = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(model["required"]) == {"type", "title"}
    assert "multipart/form-data" in submit["requestBody"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in submit["parameters"])
    # What the model says is what the view refuses: a field of the wrong JSON type, an unknown
    # one, a missing required one, each in the one error shape and the caller's language.
    headers = world.headers(world.requester)
    cases = [
        ({"type": "incident", "title": 5}, "title must be text."),
        ({"type": "incident", "title": "t", "private": "yes"}, "private must be true or false."),
        ({"type": "incident", "title": "t", "colour": "red"}, "Unknown field: colour."),
        ({"type": "incident"}, "Missing required field: title."),
    ]
    for body, message in cases:
        response = client.post("/api/v1/tickets", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["message"] == message
    # A message of its own (pydantic's kind of error, not a service's), in the caller's language.
    ticket = world.ticket(status="resolved")
    world.requester.language = "fr"
    world.requester.save()
    response = client.post(
        f"/api/v1/tickets/{ticket.reference}/close", json={"rating": "5"}, headers=headers
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == "rating doit être un nombre entier."


def test_a_list_items_type_is_refused_naming_its_place(client, world):
    ticket = world.ticket()
    response = client.post(
        f"/api/v1/tickets/{ticket.reference}/shares",
        json={"users": ["col@acme.test", 7]},
        headers=world.headers(world.requester),
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["field"] == "users[1]"


def test_query_parameters_are_described(client):
    document = _document(client)
    parameters = {p["name"]: p for p in document["paths"]["/tickets"]["get"]["parameters"]}
    assert {"status", "priority", "q", "from", "to", "cursor", "sort"} <= set(parameters)
    assert parameters["status"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert parameters["per_page"]["schema"] == {"type": "integer"}


def test_an_answer_off_its_declared_shape_is_caught(client, world, monkeypatch):
    """The check that keeps the document true: an answer with a key the model lacks."""
    from helpdesk.server.api import tickets as ticket_views
    from helpdesk.services import tickets

    original = ticket_views.comment_json
    monkeypatch.setattr(ticket_views, "comment_json", lambda c: {**original(c), "colour": "red"})
    ticket = world.ticket()
    tickets.add_comment(ticket.reference, "Any news?", actor=world.requester)
    client.get(
        f"/api/v1/tickets/{ticket.reference}/comments", headers=world.headers(world.requester)
    )
    found = list(ANSWER_PROBLEMS)
    ANSWER_PROBLEMS.clear()  # caught on purpose: not a failure of this test
    assert len(found) == 1 and "colour" in found[0]


def test_a_view_without_a_declaration_cannot_be_described(app):
    bare = Flask("bare")
    bare.url_map = app.url_map.__class__()
    bare.add_url_rule("/api/v1/undeclared", "api.undeclared", lambda: {})
    with pytest.raises(LookupError, match="undeclared"):
        openapi_document(bare)


def test_readme_route_table_is_generated_from_the_document(app):
    spec = importlib.util.spec_from_file_location("api_routes", ROOT / "scripts/api_routes.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    readme = (ROOT / "README.md").read_text()
    # The document as built (the served one has its keys sorted by Flask's JSON encoder).
    table = route_table(openapi_document(app))
    assert script.readme_with_table(readme, table) == readme, (
        "README's route table is out of date: run scripts/api_routes.py"
    )


def test_a_query_parameter_the_operation_does_not_declare_is_refused(client, world):
    """Like an unknown body field: a misspelt filter would otherwise list everything."""
    headers = world.headers(world.agent)
    response = client.get("/api/v1/tickets?stauts=open", headers=headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["message"] == "Unknown query parameter: stauts."
    assert "status" in error["details"]["allowed"]
    assert client.get("/api/v1/tickets?status=open", headers=headers).status_code == 200
    # Nobody learns the parameters before showing a token.
    assert client.get("/api/v1/tickets?stauts=open").status_code == 401

"""The OpenAPI 3.1 description of /api/v1, generated from the app's routes and the
`@operation` each view declares (server/api/contract.py): nothing here is written by hand
about any one route."""

from __future__ import annotations

import inspect
import re

from flask import Flask, current_app
from pydantic.json_schema import models_json_schema
from werkzeug.routing import IntegerConverter, PathConverter, Rule

from helpdesk import __version__
from helpdesk.server import schemas
from helpdesk.server.api import api
from helpdesk.server.api.contract import Media, Operation, operation, operation_of
from helpdesk.server.api.inputs import is_public, public

PREFIX = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")
_REF = "#/components/schemas/{model}"
_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "The body is not a JSON object (or not valid JSON).",
    401: "No valid bearer token.",
    403: "The token or the caller's role may not do this.",
    404: "Not found, or not the caller's to see.",
    409: "Conflicts with the current state or a concurrent request.",
    410: "Gone.",
    412: "If-Match names a version the ticket no longer has.",
    413: "The request is too large.",
    422: "A value is refused; the message says which and why.",
    429: "Too many attempts; retry after Retry-After seconds.",
    503: "The database is busy or read-only, or its schema is not this version's.",
}


def api_routes(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method) of the API, in path order."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule, method))
    return sorted(found, key=lambda pair: (pair[0].rule, METHODS.index(pair[1].lower())))


def openapi_path(rule: Rule) -> str:
    """`/tickets/<reference>` as OpenAPI writes it: `/tickets/{reference}`."""
    return _PARAMETER.sub(r"{\1}", rule.rule[len(PREFIX) :])


def _path_parameters(rule: Rule) -> list[dict]:
    parameters = []
    for name in rule.arguments:
        converter = rule._converters[name]
        if isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 0, "maximum": converter.max}
        else:
            schema = {"type": "string", "minLength": 1}
            if not isinstance(converter, PathConverter):
                schema["pattern"] = "^[^/]+$"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _without_null(schema: dict) -> dict:
    """A query parameter's schema: an absent parameter is how a query says "none", so the
    `null` of an optional field's schema (and its null default) says nothing there."""
    schema = {k: v for k, v in schema.items() if k != "title" and (k, v) != ("default", None)}
    branches = [b for b in schema.get("anyOf", ()) if b != {"type": "null"}]
    if "anyOf" in schema and len(branches) == 1:
        del schema["anyOf"]
        schema.update(branches[0])
    return schema


def _query_parameters(declared: Operation) -> list[dict]:
    if declared.query is None:
        return []
    properties = declared.query.model_json_schema(ref_template=_REF)["properties"]
    parameters = []
    for name, info in declared.query.model_fields.items():
        key = info.alias or name
        schema = _without_null(properties[key])
        description = schema.pop("description", None) or info.description
        parameter = {"name": key, "in": "query", "required": info.is_required(), "schema": schema}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _content(model, refs: dict) -> dict:
    if isinstance(model, Media):
        binary = {"schema": {"type": "string", "format": "binary"}}
        return {media_type: binary for media_type in model.media_types}
    return {"application/json": {"schema": refs[model]}}


def _models_of(declarations: list[Operation]) -> list[type]:
    models = {schemas.Error}
    for declared in declarations:
        models |= {m for m in declared.answers.values() if not isinstance(m, Media)}
        models |= {m for m in (declared.body, declared.query) if m is not None}
    return sorted(models, key=lambda m: m.__name__)


def _lead_and_description(view) -> tuple[str, str]:
    """The docstring's first paragraph on one line, and the whole docstring."""
    doc = inspect.getdoc(view) or ""
    lead = " ".join(doc.split("\n\n", 1)[0].split())
    return lead, doc


def _summary(lead: str) -> str:
    """The lead's first clause: OpenAPI's one-line summary."""
    return re.split(r"(?<=[a-z)])[.;:] ", lead, maxsplit=1)[0].rstrip(".")


def _operation_id(rule: Rule, method: str, seen: set[str]) -> str:
    base = rule.endpoint.split(".")[-1]
    candidate = base if base not in seen else f"{base}_{method.lower()}"
    index = 2
    while candidate in seen:  # one view on two paths (/me and /account)
        candidate, index = f"{base}_{index}", index + 1
    seen.add(candidate)
    return candidate


def openapi_document(app: Flask) -> dict:
    """The whole description; raises LookupError naming an API view without @operation."""
    routes = []
    for rule, method in api_routes(app):
        view = app.view_functions[rule.endpoint]
        declared = operation_of(view)
        if declared is None:
            raise LookupError(f"{method} {rule.rule} ({rule.endpoint}) declares no @operation")
        routes.append((rule, method, view, declared))

    models = _models_of([declared for *_, declared in routes])
    # Every model and the models they use, keyed by the model's own name: the references
    # below point into it.
    found, top = models_json_schema([(model, "validation") for model in models], ref_template=_REF)
    refs = {model: schema for (model, _), schema in found.items()}
    definitions = top.get("$defs", {})

    paths: dict[str, dict] = {}
    seen: set[str] = set()
    for rule, method, view, declared in routes:
        public = is_public(view)
        lead, description = _lead_and_description(view)
        entry = {
            "operationId": _operation_id(rule, method, seen),
            "summary": _summary(lead),
            "tags": [openapi_path(rule).strip("/").split("/")[0]],
            "parameters": _path_parameters(rule) + _query_parameters(declared),
            "responses": {},
        }
        if description:
            entry["description"] = description
        if getattr(view, "idempotent", False):
            entry["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "A retry with the same key and body within 24 hours "
                    "answers the first answer and creates nothing again.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            )
        if public:
            entry["security"] = []
        if declared.body is not None:
            content = _content(declared.body, refs)
            if declared.uploads:
                content["multipart/form-data"] = {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "data": {
                                "type": "string",
                                "description": "The JSON body, as text.",
                            },
                            "attachments": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            },
                        },
                    }
                }
            entry["requestBody"] = {"required": True, "content": content}
        for status, model in sorted(declared.answers.items()):
            answer = {"description": _STATUS_TEXT.get(status, "OK")}
            if isinstance(model, Media) and model.description:
                answer["description"] = model.description
            content = _content(model, refs)
            if content:  # none: an answer without a body (304)
                answer["content"] = content
            entry["responses"][str(status)] = answer
        errors = declared.error_statuses(
            public=public,
            path_parameters=bool(rule.arguments),
            writes=method not in ("GET", "HEAD"),
        )
        for status in sorted(errors - set(declared.answers)):
            entry["responses"][str(status)] = {
                "description": _STATUS_TEXT.get(status, "Failed."),
                "content": _content(schemas.Error, refs),
            }
        paths.setdefault(openapi_path(rule), {})[method.lower()] = entry

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "helpdesk",
            "version": __version__,
            "description": "The helpdesk JSON API. Every failure has the one error shape "
            "(`Error`); messages are in the caller's language.",
        },
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": definitions,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


@api.get("/openapi.json")
@public
@operation(answers={200: schemas.AnyObject})
def openapi_json():
    """This description of the API, in OpenAPI 3.1 (no token needed)."""
    document = current_app.extensions.get("helpdesk.openapi")
    if document is None:  # built once per app: the routes do not change while it runs
        document = current_app.extensions["helpdesk.openapi"] = openapi_document(current_app)
    return document


def route_table(document: dict) -> str:
    """README's table of routes (Markdown), from the document: method and path, the query
    parameters, the body's fields (`?`: optional), the success statuses, the description's
    first paragraph."""
    schemas_by_ref = document["components"]["schemas"]
    lines = [
        "| method and path | query | body | answers | what |",
        "| --- | --- | --- | --- | --- |",
    ]
    for path, operations in document["paths"].items():
        for method, entry in operations.items():
            body = ""
            content = entry.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
                model = schemas_by_ref[name]
                required = set(model.get("required", ()))
                fields = [f if f in required else f"{f}?" for f in model.get("properties", {})]
                body = "`{" + ", ".join(fields) + "}`"
                if "multipart/form-data" in content:
                    body += " or multipart with files"
            query = ", ".join(p["name"] for p in entry["parameters"] if p["in"] == "query")
            answers = ", ".join(s for s in entry["responses"] if s.startswith("2"))
            route = f"`{method.upper()} {path}`"
            if entry.get("security") == []:
                route += " (no token)"
            lead = " ".join(entry.get("description", entry["summary"]).split("\n\n")[0].split())
            summary = lead.replace("|", "\\|")
            lines.append(f"| {route} | {query} | {body} | {answers} | {summary} |")
    return "\n".join(lines) + "\n"

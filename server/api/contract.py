"""What each API operation takes and answers, declared once on its view with `@operation`.

The body model is what the view reads its JSON body with (`inputs.json_body`); the query model
names its query parameters; the answer models say what each status carries. The OpenAPI
document (server/api/openapi.py) is generated from these declarations, and with answer
checking on (settings.check_answers: HELPDESK_CHECK_ANSWERS=1, as in the test suite) every
JSON answer is validated against its declared model, so the description and the code cannot
drift apart.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass, field

from flask import Flask, Response, current_app, request
from pydantic import BaseModel, ConfigDict, ValidationError

from helpdesk.errors import ValidationFailed
from helpdesk.i18n import N_
from helpdesk.server import schemas

log = logging.getLogger(__name__)


class Body(BaseModel):
    """A request body: JSON types checked strictly (no "1" for 1), unknown fields refused.
    Values are then checked by the services (lengths, choices, existence), which say what is
    wrong in the caller's language."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """A view's query parameters, for the description: each arrives as text (a list for a
    repeatable one) and the services check its value."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Media:
    """An answer that is not a JSON object: a file ("*/*": whatever its type), a stream of
    lines."""

    media_types: tuple[str, ...]
    description: str = ""

    def allows(self, mimetype: str) -> bool:
        return "*/*" in self.media_types or mimetype in self.media_types


# A 304: the copy the caller has (If-None-Match) is current; no body.
NOT_MODIFIED = Media((), "Not modified: the copy named by If-None-Match is current.")


@dataclass(frozen=True)
class Operation:
    answers: dict[int, type[BaseModel] | Media]
    body: type[Body] | None = None
    query: type[Query] | None = None
    uploads: bool = False  # also multipart/form-data: a JSON `data` field and `attachments`
    errors: frozenset[int] = field(default_factory=frozenset)

    def error_statuses(self, *, public: bool, path_parameters: bool, writes: bool) -> set[int]:
        """The failures this operation may answer, in the one error shape: those of every
        operation of its kind, and the ones it declares."""
        statuses = {422, 503}  # a value refused; the database busy or its disk read-only
        if not public:
            statuses |= {401, 403}  # no valid token; a token or role that may not do this
        if path_parameters:
            statuses.add(404)
        if self.body is not None:
            statuses |= {400, 413}  # not a JSON object; too large
        if writes:
            statuses.add(409)  # two requests racing for one unique value
        return statuses | set(self.errors)


def operation(
    *,
    answers: dict[int, type[BaseModel] | Media],
    body: type[Body] | None = None,
    query: type[Query] | None = None,
    uploads: bool = False,
    errors: tuple[int, ...] = (),
):
    """Declare what a view takes and answers (see the module's docstring)."""

    def declare(view):
        view.operation = Operation(answers, body, query, uploads, frozenset(errors))
        return view

    return declare


def operation_of(view) -> Operation | None:
    return getattr(view, "operation", None)


def current_operation() -> Operation:
    view = current_app.view_functions[request.endpoint]
    found = operation_of(view)
    if found is None:  # a programming error: every API view declares its operation
        raise LookupError(f"{request.endpoint} declares no @operation")
    return found


# -- reading a body with its model ----------------------------------------------------------

# pydantic's kinds of error, in words the caller's language has (helpdesk/locale).
_TYPE_MESSAGES = {
    "string_type": N_("{field} must be text."),
    "bool_type": N_("{field} must be true or false."),
    "int_type": N_("{field} must be a whole number."),
    "int_from_float": N_("{field} must be a whole number."),
    "float_type": N_("{field} must be a number."),
    "list_type": N_("{field} must be a list."),
    "dict_type": N_("{field} must be a JSON object."),
    "model_type": N_("{field} must be a JSON object."),
    "model_attributes_type": N_("{field} must be a JSON object."),
}


# Parts of pydantic's error locations that name a union's branch (`str`, `list[str]`, a model's
# class name), not a field of the caller's body.
_FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_TYPE_NAMES = {"str", "int", "float", "bool", "list", "dict", "none"}


def _field_path(location: tuple) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and _FIELD_NAME.fullmatch(part) and part not in _TYPE_NAMES:
            path = f"{path}.{part}" if path else part
    return path or "body"


def _most_telling(problems: list[dict]) -> dict:
    """Of the failures of a union's branches, the one that says most: a field unknown or
    missing inside an object says more than "must be text" from the branch it was not."""
    structural = [p for p in problems if p["type"] in ("extra_forbidden", "missing")]
    return (structural or problems)[0]


def check_body(model: type[Body], data: dict) -> dict:
    """`data` (a JSON object whose fields are known and required ones present) against
    `model`'s types; the first problem is refused in the one error shape."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        problem = _most_telling(exc.errors(include_url=False))
        name = _field_path(problem["loc"])
        kind = problem["type"]
        if kind == "extra_forbidden":
            raise ValidationFailed(N_("Unknown field: {unknown}."), unknown=[name]) from None
        if kind == "missing":
            raise ValidationFailed(
                N_("Missing required field: {missing}."), missing=[name]
            ) from None
        template = _TYPE_MESSAGES.get(kind)
        if template is not None:
            raise ValidationFailed(template, field=name) from None
        raise ValidationFailed(
            N_("{field} is not valid: {problem}."), field=name, problem=problem["msg"]
        ) from None
    return data


@functools.cache
def body_fields(model: type[Body]) -> tuple[frozenset[str], frozenset[str]]:
    """The names a body may hold and those it must (worked out once per model)."""
    allowed, required = set(), set()
    for name, info in model.model_fields.items():
        key = info.alias or name
        allowed.add(key)
        if info.is_required():
            required.add(key)
    return frozenset(allowed), frozenset(required)


# -- checking answers (tests) ---------------------------------------------------------------

# What answered otherwise than its operation declares; the test suite fails on any.
ANSWER_PROBLEMS: list[str] = []


def check_answers(app: Flask) -> None:
    """Validate every /api/v1 answer against its operation (settings.check_answers:
    HELPDESK_CHECK_ANSWERS=1)."""

    @app.after_request
    def check(response: Response) -> Response:
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        declared = operation_of(view) if view is not None else None
        if declared is None or not request.path.startswith("/api/v1/"):
            return response
        problem = answer_problem(declared, view, response)
        if problem:
            log.error("answer off its contract: %s %s: %s", request.method, request.path, problem)
            ANSWER_PROBLEMS.append(f"{request.method} {request.path}: {problem}")
        return response


def query_names(declared: Operation) -> frozenset[str]:
    """The query parameters an operation takes: those of its query model."""
    if declared.query is None:
        return frozenset()
    return _model_names(declared.query)


@functools.cache
def _model_names(model: type[Query]) -> frozenset[str]:
    """A query model's parameter names, worked out once per model."""
    return frozenset(info.alias or name for name, info in model.model_fields.items())


def check_query_names() -> None:
    """Before every API view: a query parameter its operation does not declare is refused,
    as an unknown body field is (a misspelt filter would otherwise list everything)."""
    view = current_app.view_functions.get(request.endpoint)
    declared = operation_of(view) if view is not None else None
    if declared is None:
        return
    refuse_unknown(
        request.args,
        query_names(declared),
        N_("Unknown query parameter: {unknown}."),
        N_("Unknown query parameters: {unknown}."),
    )


def refuse_unknown(given, allowed: frozenset[str], one: str, several: str) -> None:
    """The one refusal of names an operation does not declare (query parameters, body fields):
    422 naming them, with the allowed ones in the details."""
    unknown = sorted(set(given) - allowed)
    if unknown:
        template = one if len(unknown) == 1 else several
        raise ValidationFailed(template, {"allowed": sorted(allowed)}, unknown=unknown)


def answer_problem(declared: Operation, view, response: Response) -> str | None:
    from helpdesk.server.api.inputs import is_public

    status = response.status_code
    model = declared.answers.get(status)
    if model is None:
        allowed = declared.error_statuses(
            public=is_public(view),
            path_parameters=bool(request.view_args),
            writes=request.method not in ("GET", "HEAD"),
        )
        if status not in allowed:
            return f"status {status} is not declared ({response.get_data(as_text=True)[:300]})"
        model = schemas.Error
    if isinstance(model, Media):
        if not model.media_types:  # a 304: the WSGI layer sends no body whatever it holds
            return None
        if not model.allows(response.mimetype):
            return f"media type {response.mimetype}, declared {model.media_types}"
        return None
    if response.mimetype != "application/json":
        return f"media type {response.mimetype}, declared application/json"
    try:
        # Decoded by Python's json first: an error may echo a lone surrogate (escaped, as the
        # caller sent it), which pydantic's own JSON parser refuses.
        model.model_validate(json.loads(response.get_data()))
    except ValidationError as exc:
        return f"status {status} off {model.__name__}: {exc}"
    return None

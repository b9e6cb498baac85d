"""Every error message is an N_ template with named values (helpdesk/errors.py), so that the
catalogs can say it in the caller's language: no raise may build its message with an
f-string, `.format` or `+`, and the names a template uses are exactly the values given."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from helpdesk import errors

ROOT = Path(__file__).resolve().parent.parent
ERRORS = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.HelpdeskError)
}
# Texts translated where they are made: the CLI's own t(), the portal's gettext.
TRANSLATED_CALLS = {"t", "tn", "_", "gettext"}
# Messages held in a table whose every entry is extracted (scripts/update_catalogs.py) or a
# template field of a table built with N_.
TEMPLATE_NAMES = {"message", "command.refused", "command.elsewhere", "template", "LOGIN_MESSAGE"}


def error_calls():
    for folder in ("helpdesk", "server", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ERRORS and node.args:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    yield where, node


def called(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        return getattr(node.func, "id", None) or getattr(node.func, "attr", None)
    return None


def test_every_error_message_is_a_marked_template():
    wrong = []
    for where, call in error_calls():
        message = call.args[0]
        if called(message) == "N_" or called(message) in TRANSLATED_CALLS:
            continue
        if isinstance(message, ast.Name | ast.Attribute) and ast.unparse(message) in TEMPLATE_NAMES:
            continue
        wrong.append(f"{where}: {ast.unparse(message)[:70]}")
    assert wrong == []


def test_a_template_names_exactly_the_values_given():
    wrong = []
    for where, call in error_calls():
        message = call.args[0]
        if called(message) != "N_":
            continue
        template = ast.literal_eval(message.args[0])
        used = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        given = {keyword.arg for keyword in call.keywords if keyword.arg not in (None, "details")}
        spread = [k for k in call.keywords if k.arg is None]  # **values: checked when raised
        if used != given and not spread:
            wrong.append(f"{where}: uses {sorted(used)}, given {sorted(given)}")
    assert wrong == []


@pytest.mark.parametrize(
    "language,expected",
    [
        ("en", "Only agents may move ticket HD-1 from new to open; you may move it to: closed."),
        (
            "fr",
            "Faire passer le ticket HD-1 de « nouveau » à « ouvert » est réservé à : les agents ;"
            " vous pouvez le faire passer à : clos.",
        ),
        (
            "cs",
            "Požadavek HD-1 smí převést ze stavu „nový“ do „otevřený“ jen agenti;"
            " vy jej můžete převést do: uzavřený.",
        ),
    ],
)
def test_a_message_with_phrases_and_words_in_it_is_translated_whole(language, expected):
    from helpdesk.error_messages import localized_message
    from helpdesk.workflow import MOVERS

    error = errors.PermissionDenied(
        "Only {who} may move ticket {reference} from {from} to {to}; "
        "you may move it to: {statuses}.",
        who=MOVERS[frozenset({"agent"})],
        reference="HD-1",
        statuses=["closed"],
        **{"from": "new", "to": "open"},
    )
    assert localized_message(error, language) == expected
    assert error.details["who"] == "agents"  # the details stay English, for scripts

"""helpdesk/vocabulary.py is the only definition of each fixed set of words.

The models, the API's validation and the CLI's choices all use it: a word added there is
accepted everywhere, and no second copy of a set can drift.
"""

from __future__ import annotations

import ast
from enum import Enum
from pathlib import Path

import pytest

from helpdesk import models, permissions, vocabulary, workflow
from helpdesk.cli import choices
from helpdesk.vocabulary import VOCABULARY

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("helpdesk", "server", "cli")
HOME = Path("helpdesk/vocabulary.py")

SETS = {name: frozenset(member.value for member in enum) for name, enum in VOCABULARY.items()}


def _which_set(words: set[str], *, whole: bool) -> str | None:
    """The vocabulary set these (two or more distinct) words come from: all of it, or any part
    of it when not `whole`."""
    if len(words) < 2:
        return None
    for name, members in SETS.items():
        if words == members or (not whole and words <= members):
            return name
    return None


def _string_elements(node: ast.AST) -> set[str] | None:
    elements = getattr(node, "elts", [])
    if not elements or not all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in elements
    ):
        return None
    return {e.value for e in elements}


def copies_of_the_vocabulary(source: str, filename: str = "<string>") -> list[str]:
    """Every tuple, list or set in `source` that spells out a whole vocabulary set, and every
    enum class made of its words.

    A part of a set where a rule uses it (the statuses a message can be retried from) is that
    rule's business; a copy of the whole set is a second definition.
    """
    tree = ast.parse(source, filename=filename)
    # A dict's keys are a table's rows (priority.py's (impact, urgency) pairs), not a set.
    keys = {id(k) for d in ast.walk(tree) if isinstance(d, ast.Dict) for k in d.keys if k}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and id(node) not in keys:
            words = _string_elements(node)
            name = _which_set(words or set(), whole=True)
            if name:
                found.append(f"{filename}:{node.lineno}: the {name} words {sorted(words)}")
        elif isinstance(node, ast.ClassDef):
            values = {
                stmt.value.value
                for stmt in node.body
                if isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            }
            name = _which_set(values, whole=False)
            if name:
                found.append(f"{filename}:{node.lineno}: class {node.name}: {name} words")
    return found


def test_no_set_of_words_is_written_outside_the_vocabulary():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative != HOME:
                offenders += copies_of_the_vocabulary(path.read_text(), str(relative))
    assert offenders == []


def test_the_scan_finds_each_way_of_copying_a_set():
    copies = [
        'STATUSES = ("new", "open", "pending", "resolved", "closed")',
        'ok = kind in ["agent", "customer", "admin"]',
        "class Level(StrEnum):\n    low = 'low'\n    medium = 'medium'\n    high = 'high'",
        'allowed = {"public", "internal"}',
        "class Kind(StrEnum):\n    customer = 'customer'\n    agent = 'agent'",
    ]
    for code in copies:
        assert copies_of_the_vocabulary(code), code
    not_copies = [
        'PRIORITY = {("high", "low"): "medium"}',  # a table keyed by pairs of levels
        'SIGNUP = ("closed", "domains", "open")',  # not all statuses
        'x = ("open",)',
        'if message.status in ("sent", "sending"): pass',  # a rule's part of a set
    ]
    for code in not_copies:
        assert not copies_of_the_vocabulary(code), code


def test_the_vocabulary_itself_is_seen_by_the_scan():
    # Guard against a scan that can no longer see anything: the home holds the enum classes.
    assert copies_of_the_vocabulary((ROOT / HOME).read_text())


@pytest.mark.parametrize(
    ("cli_name", "enum"),
    [
        ("Status", vocabulary.Status),
        ("TicketType", vocabulary.TicketType),
        ("Level", vocabulary.Level),
        ("Kind", vocabulary.UserKind),
        ("Role", vocabulary.MembershipRole),
        ("OutboxStatus", vocabulary.OutboxStatus),
    ],
)
def test_the_cli_offers_the_vocabulary_itself(cli_name, enum):
    assert getattr(choices, cli_name) is enum


def test_every_set_is_an_enum_and_its_tuple_of_words():
    for enum in VOCABULARY.values():
        assert issubclass(enum, Enum)
        assert vocabulary.words(enum) == tuple(m.value for m in enum)
        assert all(type(word) is str for word in vocabulary.words(enum))


def test_model_defaults_are_words_of_the_vocabulary():
    defaults = {
        (models.User.kind, vocabulary.USER_KINDS),
        (models.Membership.role, vocabulary.MEMBERSHIP_ROLES),
        (models.Ticket.status, vocabulary.STATUSES),
        (models.Ticket.impact, vocabulary.LEVELS),
        (models.Ticket.urgency, vocabulary.LEVELS),
        (models.Ticket.priority, vocabulary.PRIORITIES),
        (models.Comment.visibility, vocabulary.VISIBILITIES),
        (models.OutboxMessage.status, vocabulary.OUTBOX_STATUSES),
    }
    for field, words in defaults:
        assert field.default in words and type(field.default) is str, field


def test_the_rule_tables_speak_the_vocabulary():
    table_words = {word for edge in workflow.TRANSITIONS for word in edge}
    assert table_words <= set(vocabulary.STATUSES)
    assert set(workflow.TARGETS) <= set(vocabulary.STATUSES)
    for rule in workflow.AUTOMATIC:
        assert {rule.source, rule.to} <= set(vocabulary.STATUSES)
    kinds = permissions.STAFF | permissions.CUSTOMERS | permissions.ADMINS
    assert kinds <= set(vocabulary.USER_KINDS)


def test_the_api_refuses_a_word_outside_the_vocabulary_and_names_the_set(client, world):
    headers = world.headers(world.admin)
    cases = [
        ("GET", "/api/v1/tickets?status=bogus", None, vocabulary.STATUSES),
        ("GET", "/api/v1/tickets?type=bogus", None, vocabulary.TICKET_TYPES),
        ("GET", "/api/v1/users?kind=bogus", None, vocabulary.USER_KINDS),
        ("GET", "/api/v1/mail/outbox?status=bogus", None, vocabulary.OUTBOX_STATUSES),
        (
            "POST",
            "/api/v1/memberships",
            {"organization": "Acme", "email": world.colleague.email, "role": "bogus"},
            vocabulary.MEMBERSHIP_ROLES,
        ),
    ]
    for method, path, body, words in cases:
        resp = client.open(path, method=method, json=body, headers=headers)
        assert resp.status_code == 422, (path, resp.get_json())
        assert resp.get_json()["error"]["details"]["allowed"] == list(words), path


def test_the_cli_refuses_a_word_outside_the_vocabulary_with_the_same_list(cli):
    result = cli("ticket", "list", "--status", "bogus")
    assert result.exit_code == 2
    for word in vocabulary.STATUSES:
        assert f"'{word}'" in result.output

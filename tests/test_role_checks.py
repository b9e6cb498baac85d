"""Role checks live in helpdesk/permissions.py only, as tests/test_layering.py keeps imports apart.

Anywhere else, deciding by a user's kind or a member's role is done by asking `permissions.can`
or `permissions.require` about a named action. The scan reads the source (ast): it flags any
use of `.is_staff`, and any comparison or `.in_()` / `.not_in()` that involves a user kind or
the "power" role, written as a word ("agent") or as a vocabulary member (UserKind.agent).
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpdesk.vocabulary import USER_KINDS, MembershipRole

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("helpdesk", "server", "cli")
HOME = Path("helpdesk/permissions.py")

# "user" (the plain membership role) also names fields and URL parts; "power" is the one that
# grants anything.
ROLE_WORDS = frozenset(USER_KINDS) | {MembershipRole.power.value}
ROLE_ENUMS = frozenset({"UserKind", "MembershipRole", "Kind", "Role"})

# Places that sort data by kind without deciding what anybody may do: (file, function) -> why.
DATA_SHAPING = {
    ("helpdesk/services/provisioning.py", "export_customers"): (
        "the customer export lists the accounts of kind customer: a data set, not a decision"
    ),
}


def _mentions_role(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and sub.value in ROLE_WORDS:
            return True
        if (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Name)
            and sub.value.id in ROLE_ENUMS
        ):
            return True
    return False


def role_checks(source: str, filename: str = "<string>") -> list[tuple[int, str | None, str]]:
    """(line, enclosing function, code) of every role check in `source`."""
    tree = ast.parse(source, filename=filename)
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        hit = False
        if isinstance(node, ast.Attribute) and node.attr == "is_staff":
            hit = True
        elif isinstance(node, ast.Compare):
            hit = any(_mentions_role(part) for part in (node.left, *node.comparators))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("in_", "not_in")
        ):
            hit = any(_mentions_role(arg) for arg in node.args)
        if hit:
            found.append((node.lineno, function, ast.get_source_segment(source, node)))
            return
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, None)
    return found


def sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT), path.read_text()


def test_no_role_check_outside_permissions():
    offenders = []
    shaping_seen = set()
    for relative, text in sources():
        if relative == HOME:
            continue
        for line, function, code in role_checks(text, str(relative)):
            if (str(relative), function) in DATA_SHAPING:
                shaping_seen.add((str(relative), function))
                continue
            offenders.append(f"{relative}:{line} in {function}(): {code}")
    assert offenders == [], "ask helpdesk.permissions about a named action instead"
    # An exception that no longer matches anything is removed, not kept "just in case".
    assert shaping_seen == set(DATA_SHAPING)


def test_permissions_itself_is_where_the_checks_are():
    text = (ROOT / HOME).read_text()
    assert role_checks(text), "the scan must find the checks where they belong"


def test_the_scan_sees_each_way_of_writing_a_role_check():
    flagged = [
        "if actor.is_staff: pass",
        'if user.kind != "customer": pass',
        'ok = actor.kind in ("agent", "admin")',
        "ok = actor.kind == UserKind.admin",
        "q = User.select().where(User.kind.in_(['agent', 'admin']))",
        'q = Membership.select().where(Membership.role == "power")',
        'ok = "admin" == kind',
    ]
    for code in flagged:
        assert role_checks(code), code
    left_alone = [
        'User.create(email=e, name=n, kind="customer")',
        "ok = permissions.can(actor, 'ticket.work')",
        'q = Event.select().where(Event.kind == "status")',
        "ok = membership.role != role",
    ]
    for code in left_alone:
        assert not role_checks(code), code

"""The identity services import each other one way only: no cycle, not even a deferred one."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "helpdesk" / "services"
IDENTITY = {
    "users",
    "passwords",
    "access_log",
    "throttling",
    "api_tokens",
    "account_tokens",
    "authentication",
    "invitations",
    "signup",
    "password_reset",
    "profile",
}


def service_imports(name: str) -> set[str]:
    """The services a module imports, at the top or inside a function."""
    found = set()
    tree = ast.parse((SERVICES / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "helpdesk.services":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "helpdesk.services."
        ):
            found.add(node.module.rsplit(".", 1)[1])
    return found & IDENTITY


def test_the_identity_services_import_without_a_cycle():
    graph = {name: service_imports(name) for name in IDENTITY}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, (*path, name))
        done.add(name)

    for name in sorted(IDENTITY):
        visit(name, ())

"""The layers stay apart: the core knows nothing of Flask or Typer; the CLI speaks the API."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_never_imports_flask_typer_or_click():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in {"flask", "typer", "click"}
        )
        for path in (ROOT / "helpdesk").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


LOCAL_OPERATOR_MODULES = {"main.py", "db.py", "mail.py", "mail_ingest.py", "storage.py"}


def test_cli_user_commands_only_speak_the_api():
    # The local operator commands (init, serve, db, mail send, mail ingest, storage) may call
    # the core.
    core = (
        "helpdesk.models",
        "helpdesk.services",
        "helpdesk.db",
        "helpdesk.permissions",
    )
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if m.startswith(core))
        for path in (ROOT / "cli").glob("*.py")
        if path.name not in LOCAL_OPERATOR_MODULES
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_cli_reads_the_workflow_table_but_never_calls_it():
    # The CLI's choices come from the workflow table (constants); moving a ticket is the API's.
    offenders = {}
    for path in (ROOT / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                used = [a.name for a in node.names if a.name.startswith("helpdesk.workflow")]
            elif isinstance(node, ast.ImportFrom) and node.module == "helpdesk":
                used = [a.name for a in node.names if a.name == "workflow"]
            elif isinstance(node, ast.ImportFrom) and node.module == "helpdesk.workflow":
                used = [a.name for a in node.names if not a.name.isupper()]
            else:
                continue
            if used:
                offenders.setdefault(path.name, []).extend(used)
    assert offenders == {}


def test_installed_namespace_is_helpdesk_only():
    import helpdesk.cli
    import helpdesk.server

    assert Path(helpdesk.server.__file__).parent == ROOT / "server"
    assert Path(helpdesk.cli.__file__).parent == ROOT / "cli"
    text = (ROOT / "pyproject.toml").read_text()
    assert '"helpdesk.server" = "server"' in text and '"helpdesk.cli" = "cli"' in text


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each core module and the core modules it imports, at the top or inside a function."""
    paths = {module_name(p): p for p in (ROOT / "helpdesk").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in paths)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    edges.add(target if target in paths else node.module)
        graph[name] = {e for e in edges if e in paths and e != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_core_imports_without_a_cycle():
    """Not even through an import deferred into a function: each module stands on the ones
    below it (users below accounts, survey tokens below tickets, organization names below
    users and organizations, the schema functions above the database handle)."""
    graph = import_graph()
    assert "helpdesk.mail.notifications" in graph["helpdesk.services.tickets"]  # the graph is real
    assert [sorted(component) for component in cycles(graph)] == []

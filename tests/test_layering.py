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


LOCAL_OPERATOR_MODULES = {"main.py", "db.py", "mail.py", "mail_ingest.py"}


def test_cli_user_commands_only_speak_the_api():
    # The local operator commands (init, serve, db, mail send, mail ingest) may call the core.
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

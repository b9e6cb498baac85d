"""Every CLI command has help text and is documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from helpdesk.cli.main import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def command_paths(group, prefix=("helpdesk",)):
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if hasattr(command, "commands"):
            yield from command_paths(command, path)
        else:
            yield path, command


COMMANDS = list(command_paths(typer.main.get_command(app)))


def test_every_group_is_walked():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"helpdesk init", "helpdesk ticket submit", "helpdesk ticket attachment get"} <= names


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_has_help_and_is_in_readme(path, command):
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    assert " ".join(path) in README, f"README does not mention `{' '.join(path)}`"
    assert any("--json" in param.opts for param in command.params), "no --json option"

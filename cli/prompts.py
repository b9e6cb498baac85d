"""Reading passwords: from stdin for scripts, a hidden prompt only on a terminal."""

from __future__ import annotations

import sys

import typer

from helpdesk.cli.compat import UsageError


def read_password(from_stdin: bool, *, confirm: bool = False) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin read an empty password.")
        return password
    if not sys.stdin.isatty():
        raise UsageError("No terminal to ask for a password: pass it with --password-stdin.")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)

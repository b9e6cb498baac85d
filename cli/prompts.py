"""Reading passwords: from stdin for scripts, a hidden prompt only on a terminal."""

from __future__ import annotations

import sys

import typer

from helpdesk.cli.compat import UsageError


def read_password(from_stdin: bool, *, confirm: bool = False, prompt: str = "Password") -> str:
    """One password: the next line of stdin, or a hidden prompt on a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin read an empty password.")
        return password
    if not sys.stdin.isatty():
        raise UsageError("No terminal to ask for a password: pass it with --password-stdin.")
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


def read_new_password(from_stdin: bool) -> str:
    """A new password, given twice (two lines of stdin, or prompt and confirmation)."""
    if not from_stdin:
        return read_password(False, confirm=True, prompt="New password")
    first = read_password(True)
    second = sys.stdin.readline().rstrip("\r\n")
    if first != second:
        raise UsageError("The two new passwords differ (--password-stdin reads both, a line each).")
    return first

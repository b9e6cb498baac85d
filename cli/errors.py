"""Turn every expected failure into a message on stderr and a documented exit code."""

from __future__ import annotations

import functools
import json

import typer
from peewee import OperationalError

from helpdesk.cli.compat import ClickException
from helpdesk.errors import HelpdeskError, busy_error, storage_error


class CommandFailed(ClickException):
    """A ClickException that carries the error's own exit code and, for --json, its shape."""

    def __init__(self, error: HelpdeskError, as_json: bool):
        super().__init__(error.message)
        self.exit_code = error.exit_code
        self.error = error
        self.as_json = as_json

    def show(self, file=None) -> None:
        if self.as_json:
            typer.echo(json.dumps({"error": self.error.to_dict()}, sort_keys=True), err=True)
        else:
            from helpdesk.cli.i18n import t

            typer.echo(t("Error: {message}", message=self.message), err=True)


def handle_errors(command):
    """Decorate a command so that a HelpdeskError ends it with the right exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except HelpdeskError as exc:
            raise CommandFailed(exc, bool(kwargs.get("json_output"))) from None
        except ValueError as exc:  # a setting in the environment that cannot be used
            raise CommandFailed(HelpdeskError(str(exc)), bool(kwargs.get("json_output"))) from None
        except (OperationalError, OSError) as exc:
            # Local commands: a database locked by another writer (as the server's 503 says),
            # a read-only or full disk.
            mapped = busy_error(exc) or storage_error(exc)
            if mapped is None:
                raise
            raise CommandFailed(mapped, bool(kwargs.get("json_output"))) from None

    return wrapper

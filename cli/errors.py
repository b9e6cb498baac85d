"""Turn every expected failure into a message on stderr and a documented exit code."""

from __future__ import annotations

import functools
import json

import typer

from helpdesk.cli.client import ApiError
from helpdesk.cli.compat import ClickException
from helpdesk.error_messages import localized_message
from helpdesk.errors import HelpdeskError, busy_error, is_database_error, storage_error
from helpdesk.i18n import N_


class CommandFailed(ClickException):
    """A ClickException that carries the error's own exit code and, for --json, its shape."""

    def __init__(self, error: HelpdeskError, as_json: bool):
        super().__init__(_in_language(error))
        self.exit_code = error.exit_code
        self.error = error
        self.as_json = as_json

    def show(self, file=None) -> None:
        if self.as_json:
            shape = {**self.error.to_dict(), "message": self.message}
            typer.echo(json.dumps({"error": shape}, sort_keys=True), err=True)
        else:
            from helpdesk.cli.i18n import t

            typer.echo(t("Error: {message}", message=self.message), err=True)


def _in_language(error: HelpdeskError) -> str:
    """The message in the user's language: the server already answered in it; an error raised
    in this process is translated from its template."""
    if isinstance(error, ApiError):
        return error.message
    from helpdesk.cli.i18n import language

    return localized_message(error, language())


def handle_errors(command):
    """Decorate a command so that a HelpdeskError ends it with the right exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except HelpdeskError as exc:
            raise CommandFailed(exc, bool(kwargs.get("json_output"))) from None
        except ValueError as exc:  # a setting in the environment that cannot be used
            error = HelpdeskError(N_("This setting cannot be used: {problem}."), problem=str(exc))
            raise CommandFailed(error, bool(kwargs.get("json_output"))) from None
        except Exception as exc:
            # Local commands: a database locked by another writer (as the server's 503 says),
            # a read-only or full disk.
            mapped = None
            if is_database_error(exc) or isinstance(exc, OSError):
                mapped = busy_error(exc) or storage_error(exc)
            if mapped is None:
                raise
            raise CommandFailed(mapped, bool(kwargs.get("json_output"))) from None

    return wrapper

"""The values the CLI accepts (Click checks them: a wrong one is a usage error, exit 2).

The words come from helpdesk.vocabulary, the one definition the models and the API use too;
the statuses a ticket can be moved to come from the workflow's table (helpdesk/status_graph.py).
"""

from datetime import datetime
from enum import StrEnum

import typer

from helpdesk.cli.i18n import t
from helpdesk.status_graph import TARGETS
from helpdesk.vocabulary import Level, OutboxStatus, Priority, PriorityInput, Status, TicketType
from helpdesk.vocabulary import MembershipRole as Role
from helpdesk.vocabulary import UserKind as Kind

__all__ = [
    "Kind",
    "Level",
    "OutboxStatus",
    "Priority",
    "PriorityInput",
    "Role",
    "Status",
    "Switch",
    "Target",
    "TicketType",
    "date_option",
    "one_of_option",
    "values",
]

# `helpdesk ticket status REF STATUS`: only a status some edge of the workflow leads to.
Target = StrEnum("Target", {status: status for status in TARGETS})


def values(members) -> list[str] | None:
    return [m.value for m in members] if members else None


class Switch(StrEnum):
    on = "on"
    off = "off"


# Options whose values are checked here: a value of the wrong form is a bad option value, so a
# usage error (exit 2) like a bad --status, never a refusal by the server (exit 1). README:
# exit codes. A well-formed value the server cannot use (a date out of range) is the server's
# to refuse.


def date_option(flag: str, help: str) -> typer.models.OptionInfo:
    """A --from/--to option: YYYY-MM-DD or an ISO date-time, the forms the API accepts."""

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(
                t("{value} is not a date like 2026-01-31.", value=repr(value))
            ) from None
        return value

    return typer.Option(flag, help=help, callback=check)


def one_of_option(flag: str, allowed, help: str) -> typer.models.OptionInfo:
    """An option taking one of a fixed set of words (the languages, the date formats)."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in allowed:
            raise typer.BadParameter(
                t("{value} is not one of {choices}.", value=repr(value), choices=", ".join(allowed))
            )
        return value

    return typer.Option(flag, help=f"{help} {', '.join(allowed)}.", callback=check)

"""The fixed sets of values the CLI accepts (Click checks them: a wrong one is exit 2).

The words come from helpdesk.vocabulary, the one definition the models and the API use too;
the statuses a ticket can be moved to come from the workflow table.
"""

from enum import StrEnum

from helpdesk.vocabulary import Level, OutboxStatus, Status, TicketType
from helpdesk.vocabulary import MembershipRole as Role
from helpdesk.vocabulary import UserKind as Kind
from helpdesk.workflow import TARGETS

__all__ = ["Kind", "Level", "OutboxStatus", "Role", "Status", "Switch", "Target", "TicketType"]

# `helpdesk ticket status REF STATUS`: only a status some edge of the workflow leads to.
Target = StrEnum("Target", {status: status for status in TARGETS})


def values(members) -> list[str] | None:
    return [m.value for m in members] if members else None


class Switch(StrEnum):
    on = "on"
    off = "off"

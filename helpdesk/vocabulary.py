"""The words the help desk stores and accepts: the one definition of every fixed set of values.

The models, the services' validation (and so the API) and the CLI's choices all import these;
tests/test_vocabulary.py fails if one of these sets is written out anywhere else.
Each set is a StrEnum (a member equals its word, so it can be stored and compared as text)
and a tuple of the plain words, in the order they are shown.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a ticket is in its workflow (the moves between them are in helpdesk/workflow.py)."""

    new = "new"
    open = "open"
    pending = "pending"
    resolved = "resolved"
    closed = "closed"


class TicketType(StrEnum):
    incident = "incident"
    feature = "feature"
    question = "question"


class Level(StrEnum):
    """A ticket's impact and urgency."""

    low = "low"
    medium = "medium"
    high = "high"


class Priority(StrEnum):
    """Computed from impact and urgency (helpdesk/priority.py)."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class PriorityInput(StrEnum):
    """What a request type's priority policy asks the customer for (helpdesk/priority.py)."""

    impact_urgency = "impact-urgency"  # the matrix turns them into the priority
    priority = "priority"  # the priority itself
    nothing = "nothing"  # neither: the policy's default priority


class UserKind(StrEnum):
    """What a user is; what each kind may do is in helpdesk/permissions.py."""

    customer = "customer"
    agent = "agent"
    admin = "admin"


class MembershipRole(StrEnum):
    """A customer's role in an organization: a power user sees its non-private tickets."""

    user = "user"
    power = "power"


class Visibility(StrEnum):
    """Of a comment: public replies, or internal notes only agents see."""

    public = "public"
    internal = "internal"


class OutboxStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class AccountTokenPurpose(StrEnum):
    invite = "invite"
    signup = "signup"
    reset = "reset"
    email_change = "email_change"


class TicketSort(StrEnum):
    """The columns a list of tickets sorts by (the queue's sortable columns, the API's sort=)."""

    reference = "reference"
    priority = "priority"
    status = "status"
    updated = "updated"
    created = "created"
    title = "title"
    type = "type"
    service = "service"
    requester = "requester"
    organization = "organization"
    relevance = "relevance"  # with a text search: best match first (the default there)


class SortDirection(StrEnum):
    asc = "asc"
    desc = "desc"


def words(enum: type[StrEnum]) -> tuple[str, ...]:
    """The plain words of a set, in order."""
    return tuple(member.value for member in enum)


STATUSES = words(Status)
TICKET_TYPES = words(TicketType)
LEVELS = words(Level)
PRIORITIES = words(Priority)
PRIORITY_INPUTS = words(PriorityInput)
USER_KINDS = words(UserKind)
MEMBERSHIP_ROLES = words(MembershipRole)
VISIBILITIES = words(Visibility)
OUTBOX_STATUSES = words(OutboxStatus)
ACCOUNT_TOKEN_PURPOSES = words(AccountTokenPurpose)
TICKET_SORTS = words(TicketSort)
SORT_DIRECTIONS = words(SortDirection)

# Every set above, by the name the test and the docs use.
VOCABULARY: dict[str, type[StrEnum]] = {
    "status": Status,
    "ticket type": TicketType,
    "level": Level,
    "priority": Priority,
    "priority input": PriorityInput,
    "user kind": UserKind,
    "membership role": MembershipRole,
    "visibility": Visibility,
    "outbox status": OutboxStatus,
    "account token purpose": AccountTokenPurpose,
    "ticket sort": TicketSort,
    "sort direction": SortDirection,
}

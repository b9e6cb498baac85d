"""The shapes of what the API answers, as pydantic models: /api/v1/openapi.json describes them
(server/api/openapi.py) and, with HELPDESK_CHECK_ANSWERS set (the test suite), every JSON answer
is checked against its operation's model (server/api/contract.py), so the serializers in
server/serializers.py and these models cannot drift apart unnoticed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    """An answer's object: every key it may hold is declared (an undeclared one is a drift)."""

    model_config = ConfigDict(extra="forbid")


# -- the one error shape ------------------------------------------------------------------


class ErrorDetail(Answer):
    code: str = Field(description="Stable, machine-readable: not_found, validation_failed...")
    message: str = Field(description="For people, in the caller's language.")
    details: dict[str, Any] = Field(description="Values the message names (field, allowed...).")


class Error(Answer):
    """Every failure, whatever the status."""

    error: ErrorDetail


# -- people and organizations --------------------------------------------------------------


class UserRef(Answer):
    email: str
    name: str


class MembershipRef(Answer):
    name: str = Field(description="The organization's name.")
    role: str = Field(description="user or power_user.")


class User(Answer):
    id: int
    email: str
    name: str
    kind: str = Field(description="customer, agent or admin.")
    active: bool
    activated: bool = Field(description="Whether a password was ever chosen.")
    origin: str
    language: str
    phone: str | None
    can_manage_customers: bool
    created_at: datetime
    organizations: list[MembershipRef] | None = None


class Account(User):
    """The caller's own account: also what only they see of their profile."""

    date_format: str | None = None
    auth_source: str | None = None
    email_change_pending: bool | None = Field(
        None, description="After PATCH /account: true when a new email waits for confirmation."
    )


class Member(Answer):
    email: str
    name: str
    role: str


class Organization(Answer):
    id: int
    name: str
    created_at: datetime
    member_count: int | None = None
    members: list[Member] | None = None


class Token(Answer):
    id: int
    name: str
    read_only: bool
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    expired: bool


class NewToken(Token):
    token: str = Field(description="The secret, shown this once.")


class AccessEntry(Answer):
    at: datetime
    email: str | None
    name: str | None
    event: str
    outcome: str
    address: str | None
    user_agent: str | None


# -- tickets -----------------------------------------------------------------------------


class SlaClockState(Answer):
    due_at: datetime
    met: bool | None = Field(description="null while the clock runs.")
    breached: bool
    left_seconds: int | None
    overdue_seconds: int | None


class ResponseClock(SlaClockState):
    responded_at: datetime | None
    breached_at: datetime | None


class ResolutionClock(SlaClockState):
    paused: bool
    paused_at: datetime | None
    resolved_at: datetime | None = Field(description="Or closed, without being resolved.")
    breached_at: datetime | None


class SlaClocks(Answer):
    response: ResponseClock | None
    resolution: ResolutionClock | None


class ServiceRef(Answer):
    id: int
    name: str
    display_name: str | None = Field(
        description="What the ticket's organization's contract calls it, or null."
    )


class SubcategoryRef(Answer):
    id: int
    name: str


class TicketSummary(Answer):
    reference: str
    type: str
    title: str
    status: str
    priority: str
    priority_overridden: bool
    impact: str | None
    urgency: str | None
    private: bool
    requester: UserRef | None
    organization: str
    service: ServiceRef | None
    subcategory: SubcategoryRef | None
    assignee: UserRef | None
    created_at: datetime
    updated_at: datetime
    sla: SlaClocks | None
    snippet: str | None = Field(None, description="With q: where the words are.")


class Satisfaction(Answer):
    rating: int | None
    comment: str | None


class Comment(Answer):
    id: int
    author: UserRef | None
    body: str
    visibility: str = Field(description="public or internal (agents only see internal).")
    created_at: datetime


class Attachment(Answer):
    filename: str
    size: int
    sha256: str
    content_type: str | None
    comment_id: int | None
    created_at: datetime
    url: str


class Event(Answer):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: str
    actor: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    at: datetime


class TicketDetail(TicketSummary):
    description: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    satisfaction: Satisfaction | None
    shared_with: list[UserRef]
    comments: list[Comment]
    attachments: list[Attachment]
    events: list[Event]
    allowed_transitions: list[str]
    notifications: bool


# -- catalogue, contracts, SLA, mail -------------------------------------------------------


class Service(Answer):
    id: int
    name: str
    types: list[str]
    retired: bool
    retired_at: datetime | None
    created_at: datetime


class SubcategoryOfService(Answer):
    id: int
    name: str
    service: SubcategoryRef
    retired: bool
    retired_at: datetime | None


class OfferedSubcategory(Answer):
    id: int
    name: str
    retired: bool


class Offer(Answer):
    id: int
    name: str
    display_name: str | None
    label: str
    types: list[str]
    retired: bool
    organization: str | None
    subcategories: list[OfferedSubcategory]


class Contract(Answer):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: int
    organization: str
    sla: str | None
    from_: date | None = Field(alias="from")
    to: date | None
    active: bool
    services: list[ServiceRef]
    created_at: datetime


class SlaHoliday(Answer):
    date: date
    name: str | None


class SlaCalendar(Answer):
    name: str
    timezone: str
    days: list[str]
    hours: str
    holidays: list[SlaHoliday]


class SlaTarget(Answer):
    priority: str
    type: str | None
    response_minutes: int | None
    resolution_minutes: int | None


class SlaPolicy(Answer):
    name: str
    calendar: SlaCalendar | None
    targets: list[SlaTarget]
    created_at: datetime


class OutboxMessage(Answer):
    id: int
    to: str
    subject: str
    kind: str
    language: str | None
    ticket: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None


# -- pages ------------------------------------------------------------------------------

Item = TypeVar("Item")


class Page(Answer, Generic[Item]):
    """One page of a list (`page_json`)."""

    items: list[Item]
    page: int
    per_page: int
    total: int | None


class Items(Answer, Generic[Item]):
    """A whole, short list."""

    items: list[Item]
    total: int | None = None


class TicketPage(Page[TicketSummary]):
    next: str | None = Field(description="The cursor of the following page; null on the last.")
    total_is_estimate: bool


class Message(Answer):
    message: str


class AnyObject(BaseModel):
    """A JSON object this description leaves open (the OpenAPI document itself)."""

    model_config = ConfigDict(extra="allow")

"""Peewee models: the data the help desk keeps."""

from __future__ import annotations

from datetime import datetime

from peewee import (
    SQL,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from helpdesk.clock import clock
from helpdesk.db import BaseModel
from helpdesk.vocabulary import (
    Level,
    MembershipRole,
    OutboxStatus,
    Priority,
    Status,
    UserKind,
    Visibility,
)

# The fixed sets of words these fields hold are in helpdesk/vocabulary.py; the defaults below
# are plain words taken from there (what the database stores).


def utcnow() -> datetime:
    """Naive UTC: what the database stores; serializers add the offset."""
    return clock.now()


class User(BaseModel):
    email = CharField(max_length=254, unique=True)  # always stored lower-case
    name = CharField(max_length=200)
    kind = CharField(max_length=16, default=UserKind.customer.value)
    password_hash = CharField(max_length=255, null=True)
    active = BooleanField(default=True)
    language = CharField(max_length=8, default="en")
    # "internal": provisioned by the support team; "external": registered themselves.
    origin = CharField(max_length=16, default="internal")
    phone = CharField(max_length=40, null=True)
    date_format = CharField(max_length=16, default="iso")
    # "local": the password is ours; anything else (e.g. "ldap") is checked elsewhere.
    auth_source = CharField(max_length=32, default="local")
    can_manage_customers = BooleanField(default=False)  # for agents
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class Organization(BaseModel):
    name = CharField(max_length=200, unique=True)
    created_at = DateTimeField(default=utcnow)


class Membership(BaseModel):
    user = ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    organization = ForeignKeyField(Organization, backref="memberships", on_delete="CASCADE")
    role = CharField(max_length=16, default=MembershipRole.user.value)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "organization"), True),)


class Service(BaseModel):
    """A service of the catalogue that customers raise requests against."""

    name = CharField(max_length=200, unique=True)
    # The request types (TicketType words) it accepts, comma-separated, in vocabulary order.
    types = CharField(max_length=64, default="incident,feature,question")
    retired_at = DateTimeField(null=True)  # retired: kept for history, not chosen any more
    created_at = DateTimeField(default=utcnow)


class Subcategory(BaseModel):
    service = ForeignKeyField(Service, backref="subcategories", on_delete="CASCADE")
    name = CharField(max_length=200)
    retired_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("service", "name"), True),)


class SlaCalendar(BaseModel):
    """Business hours: the days and hours an SLA clock runs, in a time zone."""

    name = CharField(max_length=100, unique=True)
    timezone = CharField(max_length=64, default="UTC")
    weekdays = CharField(max_length=16, default="0,1,2,3,4")  # Monday is 0
    day_start = CharField(max_length=5, default="09:00")
    day_end = CharField(max_length=5, default="17:00")
    created_at = DateTimeField(default=utcnow)


class SlaHoliday(BaseModel):
    calendar = ForeignKeyField(SlaCalendar, backref="holidays", on_delete="CASCADE")
    day = DateField()
    name = CharField(max_length=100, null=True)

    class Meta:
        indexes = ((("calendar", "day"), True),)


class SlaPolicy(BaseModel):
    name = CharField(max_length=100, unique=True)
    calendar = ForeignKeyField(SlaCalendar, null=True)  # None: the clock runs around the clock
    created_at = DateTimeField(default=utcnow)


class SlaTarget(BaseModel):
    """A policy's first-response and resolution targets for one priority (and request type)."""

    policy = ForeignKeyField(SlaPolicy, backref="targets", on_delete="CASCADE")
    priority = CharField(max_length=8)
    type = CharField(max_length=16, null=True)  # None: any request type
    response_minutes = IntegerField()
    resolution_minutes = IntegerField()


class Contract(BaseModel):
    """An organization's support contract: the services it may use, and their SLA policy."""

    organization = ForeignKeyField(Organization, backref="contracts", on_delete="CASCADE")
    sla_policy = ForeignKeyField(SlaPolicy, null=True)
    starts_on = DateField(null=True)  # None: from the beginning
    ends_on = DateField(null=True)  # the last day it covers; None: open-ended
    created_at = DateTimeField(default=utcnow)


class ContractService(BaseModel):
    contract = ForeignKeyField(Contract, backref="services", on_delete="CASCADE")
    service = ForeignKeyField(Service)
    display_name = CharField(max_length=200, null=True)  # what this customer calls the service

    class Meta:
        indexes = ((("contract", "service"), True),)


class PriorityCell(BaseModel):
    """One configured cell of the impact x urgency matrix (cells without a row: the default)."""

    impact = CharField(max_length=8)
    urgency = CharField(max_length=8)
    priority = CharField(max_length=8)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("impact", "urgency"), True),)


class PriorityPolicy(BaseModel):
    """What a request type asks the customer for: impact and urgency, a priority, or nothing."""

    type = CharField(max_length=16, unique=True)
    asks = CharField(max_length=16)  # a PriorityInput word
    default_priority = CharField(max_length=8)  # when the customer gives no priority
    # The priorities a submitter may pick where the type asks for one, comma-separated.
    choices = CharField(max_length=64, default="low,medium,high")
    updated_at = DateTimeField(default=utcnow)


class Ticket(BaseModel):
    reference = CharField(max_length=32, unique=True, null=True)  # set right after insert
    type = CharField(max_length=16)
    title = CharField(max_length=200)
    description = TextField(default="")
    impact = CharField(max_length=8, default=Level.medium.value)
    urgency = CharField(max_length=8, default=Level.medium.value)
    priority = CharField(max_length=8, default=Priority.medium.value)
    status = CharField(max_length=16, default=Status.new.value)  # indexed with the id (v5)
    requester = ForeignKeyField(User, backref="requested_tickets")
    organization = ForeignKeyField(Organization, backref="tickets")
    private = BooleanField(default=False)
    assignee = ForeignKeyField(User, null=True, backref="assigned_tickets")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    resolved_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    satisfaction_rating = IntegerField(null=True)
    satisfaction_comment = TextField(null=True)
    # Version 4: the catalogue, priority overrides, deduplication and SLA clocks. Columns added
    # by a migration carry no index in Meta (create_tables would run before they exist).
    service = ForeignKeyField(Service, null=True)
    subcategory = ForeignKeyField(Subcategory, null=True)
    priority_overridden = BooleanField(default=False)  # set by an agent: kept on later edits
    dedupe_key = CharField(max_length=200, null=True)
    sla_policy = ForeignKeyField(SlaPolicy, null=True)  # the contract's, when it was submitted
    response_due_at = DateTimeField(null=True)
    first_response_at = DateTimeField(null=True)
    resolution_due_at = DateTimeField(null=True)
    sla_paused_at = DateTimeField(null=True)  # the resolution clock is paused since
    response_breached_at = DateTimeField(null=True)
    resolution_breached_at = DateTimeField(null=True)
    # `sla check` warned of a target about to be missed (once; cleared when the due time moves).
    response_warned_at = DateTimeField(null=True)
    resolution_warned_at = DateTimeField(null=True)
    # Version 5: one more on every change of the row, so that a client's If-Match (its ETag,
    # server/api/tickets.py) knows what it last saw; save() counts it, and so must every
    # Ticket.update() (`version=Ticket.version + 1`). updated_at cannot: two writes may share
    # a timestamp, and some writes (SLA breaches) do not move it.
    version = IntegerField(default=1)

    def save(self, *args, **kwargs):
        if self.id is None or not self.is_dirty():
            return super().save(*args, **kwargs)
        seen = self.version
        self.version = Ticket.version + 1  # in SQL: a concurrent writer's count is kept
        saved = super().save(*args, **kwargs)
        # Not read back (a query a write): if another writer counted too, the row is further
        # on than this, so an ETag made from it only ever fails an If-Match, never passes one.
        self.__data__["version"] = seen + 1
        return saved

    class Meta:
        indexes = (
            # Version 5: the common lists read in index order, newest (highest id) first
            # (MIGRATIONS[5], LIST_INDEXES).
            (("status", "id"), False),  # the queue: one status
            (("organization", "status", "id"), False),  # an organization's, by status
            (("requester", "status", "id"), False),  # a customer's own, by status
            (("assignee", "status", "id"), False),  # an agent's own
            (("updated_at", "id"), False),  # latest change first; updated since
            # Version 5: the dashboard's counts (MIGRATIONS[5], DASHBOARD_INDEXES).
            (
                (
                    "status",
                    "first_response_at",
                    "response_due_at",
                    "sla_paused_at",
                    "resolution_due_at",
                ),
                False,
            ),
            (("status", "sla_paused_at", "resolution_due_at"), False),
        )


# One open ticket per requester and dedupe key: two racing submits with one key make one ticket
# (the loser adds a comment instead). Partial: a closed ticket frees its key. MIGRATIONS[4]
# creates the same index on an upgraded database.
DEDUPE_INDEX = "ticket_requester_dedupe_key_open"
Ticket.add_index(
    Ticket.index(
        Ticket.requester,
        Ticket.dedupe_key,
        unique=True,
        where=SQL("status <> 'closed'"),
        name=DEDUPE_INDEX,
    )
)


class Share(BaseModel):
    ticket = ForeignKeyField(Ticket, backref="shares", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="shared_tickets", on_delete="CASCADE")
    shared_by = ForeignKeyField(User, null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "user"), True),)


class Comment(BaseModel):
    ticket = ForeignKeyField(Ticket, backref="comments", on_delete="CASCADE")
    author = ForeignKeyField(User)
    body = TextField()
    visibility = CharField(max_length=16, default=Visibility.public.value)
    created_at = DateTimeField(default=utcnow)


class Attachment(BaseModel):
    ticket = ForeignKeyField(Ticket, backref="attachments", on_delete="CASCADE")
    comment = ForeignKeyField(Comment, null=True, backref="attachments")
    uploaded_by = ForeignKeyField(User)
    filename = CharField(max_length=255)
    size = BigIntegerField()
    sha256 = CharField(max_length=64, index=True)
    content_type = CharField(max_length=127)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("ticket", "filename"), True),)


class Event(BaseModel):
    """Append-only history: one row per change, never updated or deleted."""

    ticket = ForeignKeyField(Ticket, backref="events", on_delete="CASCADE")
    actor = ForeignKeyField(User, null=True)
    kind = CharField(max_length=32)
    from_value = CharField(max_length=255, null=True)
    to_value = CharField(max_length=255, null=True)
    created_at = DateTimeField(default=utcnow)

    def save(self, *args, **kwargs):
        if self.id is not None and not kwargs.get("force_insert"):
            raise RuntimeError("ticket events are append-only")
        return super().save(*args, **kwargs)


class ApiToken(BaseModel):
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    name = CharField(max_length=100, default="login")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    expires_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    read_only = BooleanField(default=False)


class NotificationPreference(BaseModel):
    """A user's switch for one ticket's notifications (no row: on)."""

    ticket = ForeignKeyField(Ticket, backref="notification_preferences", on_delete="CASCADE")
    user = ForeignKeyField(User, on_delete="CASCADE")
    enabled = BooleanField(default=True)

    class Meta:
        indexes = ((("ticket", "user"), True),)


class OutboxMessage(BaseModel):
    """An email written in the same transaction as the change it tells of, sent later."""

    ticket = ForeignKeyField(Ticket, null=True, backref="outbox", on_delete="SET NULL")
    recipient = ForeignKeyField(User, null=True, on_delete="SET NULL")
    to_address = CharField(max_length=254)
    subject = CharField(max_length=255)
    kind = CharField(max_length=32)
    language = CharField(max_length=8, default="en")
    message_id = CharField(max_length=255, unique=True)
    # The whole RFC 5322 message once rendered; "" while `letter` holds what it will say.
    rendered = TextField(column_name="raw")
    # JSON: the headers, template and values of a message queued unrendered (rendering costs
    # more than the rest of a ticket's write, so the sender does it, outside the request).
    letter = TextField(null=True)
    status = CharField(max_length=16, default=OutboxStatus.pending.value, index=True)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    last_error = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    claimed_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)

    class Meta:
        # The health check's backlog and oldest pending message (helpdesk/services/health.py);
        # the same index as migrations._v5_observe's.
        indexes = ((("status", "created_at"), False),)

    @property
    def raw(self) -> str:
        """The whole message: as rendered, or rendered now from its letter."""
        if self.letter is None:
            return self.rendered
        from helpdesk.mail.letters import compose  # jinja2: only for a message read whole

        return compose(self.letter)

    @raw.setter
    def raw(self, text: str) -> None:
        self.rendered = text
        self.letter = None


class InboundMessage(BaseModel):
    """Every email ingested, once: its Message-ID and what became of it."""

    message_id = CharField(max_length=255, unique=True)
    sender = CharField(max_length=254, null=True)
    subject = CharField(max_length=255, null=True)
    outcome = CharField(max_length=16)  # created / commented / ignored / refused
    reason = TextField(null=True)
    ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
    received_at = DateTimeField(default=utcnow)


class SurveyToken(BaseModel):
    """A single-use link that lets the requester rate a closed ticket."""

    ticket = ForeignKeyField(Ticket, backref="survey_tokens", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    used_at = DateTimeField(null=True)


class AccountToken(BaseModel):
    """A single-use, expiring emailed token: invitation, sign-up, reset, email change."""

    user = ForeignKeyField(User, backref="account_tokens", on_delete="CASCADE")
    purpose = CharField(max_length=16)  # an AccountTokenPurpose
    token_hash = CharField(max_length=64, unique=True)
    new_email = CharField(max_length=254, null=True)  # for an email change
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)


class LoginThrottle(BaseModel):
    """Failed logins counted per account and per client address."""

    key = CharField(max_length=300, unique=True)
    failures = IntegerField(default=0)
    window_start = DateTimeField(default=utcnow)
    locked_until = DateTimeField(null=True)


class AccessLog(BaseModel):
    """Who used the portal: logins, failures, token uses, activations, password changes."""

    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    email = CharField(max_length=254, null=True)
    event = CharField(max_length=32)
    outcome = CharField(max_length=16)
    address = CharField(max_length=64, null=True)
    user_agent = CharField(max_length=255, null=True)
    at = DateTimeField(default=utcnow, index=True)


class IdempotencyKey(BaseModel):
    """The first answer to a creating POST sent with an `Idempotency-Key` header: a retry with
    the same key and request gets it again instead of creating twice (server/idempotency.py).

    Written in the transaction of the create it answers: both are there or neither is.
    """

    user = ForeignKeyField(User, on_delete="CASCADE")
    key = CharField(max_length=255)
    fingerprint = CharField(max_length=64)  # SHA-256 of method, path and body bytes
    status = IntegerField(null=True)  # null while the create runs (its transaction is open)
    headers = TextField(default="{}")  # JSON: the headers that matter (Location, ETag)
    body = BlobField(null=True)  # null when the answer held a secret, never stored
    created_at = DateTimeField(default=utcnow, index=True)  # purged after a day

    class Meta:
        indexes = ((("user", "key"), True),)


class SharedSecret(BaseModel):
    """A secret that every server on this database shares (the portal's cookie-signing key),
    made once by the first one to need it: no server keeps its own (helpdesk/shared_secrets.py)."""

    name = CharField(max_length=64, unique=True)
    value = CharField(max_length=200)


class SchemaVersion(BaseModel):
    version = IntegerField()


ALL_MODELS = [
    User,
    Organization,
    Membership,
    Service,
    Subcategory,
    SlaCalendar,
    SlaHoliday,
    SlaPolicy,
    SlaTarget,
    Contract,
    ContractService,
    PriorityCell,
    PriorityPolicy,
    Ticket,
    Share,
    Comment,
    Attachment,
    Event,
    ApiToken,
    NotificationPreference,
    OutboxMessage,
    InboundMessage,
    SurveyToken,
    AccountToken,
    LoginThrottle,
    AccessLog,
    IdempotencyKey,
    SharedSecret,
    SchemaVersion,
]

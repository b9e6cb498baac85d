"""Model objects to the JSON the API promises: stable snake_case keys, ISO 8601 UTC times."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

from helpdesk import sla_clock, workflow
from helpdesk.mail.notifications import notifications_enabled
from helpdesk.models import (
    AccessLog,
    ApiToken,
    Attachment,
    Comment,
    Contract,
    ContractService,
    Event,
    Membership,
    Organization,
    OutboxMessage,
    Service,
    SlaCalendar,
    SlaHoliday,
    SlaPolicy,
    Subcategory,
    Ticket,
    User,
    utcnow,
)
from helpdesk.services import contracts as contract_service
from helpdesk.services import sla as sla_service
from helpdesk.services import tickets as ticket_service
from helpdesk.services.contracts import Offer


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


def user_ref(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"email": user.email, "name": user.name}


def user_json(
    user: User, memberships: list[Membership] | None = None, *, private: bool = False
) -> dict:
    data = {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "kind": user.kind,
        "active": user.active,
        "activated": user.password_hash is not None,
        "origin": user.origin,
        "language": user.language,
        "phone": user.phone,
        "can_manage_customers": user.can_manage_customers,
        "created_at": iso(user.created_at),
    }
    if private:  # what only the user themselves sees of their profile
        data["date_format"] = user.date_format
        data["auth_source"] = user.auth_source
    if memberships is not None:
        data["organizations"] = [{"name": m.organization.name, "role": m.role} for m in memberships]
    return data


def organization_json(org: Organization, members: list[Membership] | None = None) -> dict:
    data = {"id": org.id, "name": org.name, "created_at": iso(org.created_at)}
    count = getattr(org, "member_count", None)
    if count is not None:
        data["member_count"] = count
    if members is not None:
        data["members"] = [
            {"email": m.user.email, "name": m.user.name, "role": m.role} for m in members
        ]
    return data


def ticket_summary(ticket: Ticket, display_name: str | None = None) -> dict:
    return {
        "reference": ticket.reference,
        "type": ticket.type,
        "title": ticket.title,
        "status": ticket.status,
        "priority": ticket.priority,
        "priority_overridden": ticket.priority_overridden,
        "impact": ticket.impact,
        "urgency": ticket.urgency,
        "private": ticket.private,
        "requester": user_ref(ticket.requester),
        "organization": ticket.organization.name,
        # display_name: what the ticket's organization calls the service (its contract's name).
        "service": {
            "id": ticket.service.id,
            "name": ticket.service.name,
            "display_name": display_name,
        }
        if ticket.service_id
        else None,
        "subcategory": {"id": ticket.subcategory.id, "name": ticket.subcategory.name}
        if ticket.subcategory_id
        else None,
        "assignee": user_ref(ticket.assignee) if ticket.assignee_id else None,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "sla": sla_json(ticket),
    }


def sla_json(ticket: Ticket) -> dict | None:
    """The ticket's SLA clocks (null where no policy or no target applies); times in ISO."""
    state = sla_clock.state(ticket)
    if state is None:
        return None

    def clock(values: dict | None) -> dict | None:
        if values is None:
            return None
        values = dict(values)
        due = values.pop("due")
        return {
            "due_at": iso(due),
            **{k: iso(v) if isinstance(v, datetime) else v for k, v in values.items()},
        }

    return {"response": clock(state["response"]), "resolution": clock(state["resolution"])}


def attachment_json(attachment: Attachment) -> dict:
    return {
        "filename": attachment.filename,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "content_type": attachment.content_type,
        "comment_id": attachment.comment_id,
        "created_at": iso(attachment.created_at),
        "url": f"/api/v1/tickets/{attachment.ticket.reference}/attachments/{attachment.filename}",
    }


def comment_json(comment: Comment) -> dict:
    return {
        "id": comment.id,
        "author": user_ref(comment.author),
        "body": comment.body,
        "visibility": comment.visibility,
        "created_at": iso(comment.created_at),
    }


def event_json(event: Event) -> dict:
    return {
        "kind": event.kind,
        "actor": event.actor.email if event.actor_id else None,
        "from": event.from_value,
        "to": event.to_value,
        "at": iso(event.created_at),
    }


def ticket_detail(ticket: Ticket, actor: User) -> dict:
    """Everything the actor may see of one ticket."""
    data = ticket_summary(ticket, contract_service.display_names([ticket]).get(ticket.id))
    attachments = ticket_service.visible_attachments(ticket, actor)
    for attachment in attachments:
        attachment.ticket = ticket  # already loaded: no query per attachment for the URL
    data.update(
        {
            "description": ticket.description,
            "resolved_at": iso(ticket.resolved_at),
            "closed_at": iso(ticket.closed_at),
            "satisfaction": None
            if ticket.satisfaction_rating is None and not ticket.satisfaction_comment
            else {"rating": ticket.satisfaction_rating, "comment": ticket.satisfaction_comment},
            "shared_with": [user_ref(u) for u in ticket_service.shared_with(ticket)],
            "comments": [comment_json(c) for c in ticket_service.visible_comments(ticket, actor)],
            "attachments": [attachment_json(a) for a in attachments],
            "events": [event_json(e) for e in ticket_service.visible_events(ticket, actor)],
            "allowed_transitions": workflow.allowed_transitions(ticket, actor),
            "notifications": notifications_enabled(ticket, actor),
        }
    )
    return data


def ticket_summaries(tickets: list[Ticket]) -> list[dict]:
    """A page of tickets; their services' display names come in one query for the page."""
    names = contract_service.display_names(tickets)
    rows = [ticket_summary(t, names.get(t.id)) for t in tickets]
    for row, ticket in zip(rows, tickets, strict=True):
        if hasattr(ticket, "snippet"):  # a text search: where the words are
            row["snippet"] = ticket.snippet
    return rows


def page_json(items: list[dict], page: int, per_page: int, total: int) -> dict:
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def outbox_json(message: OutboxMessage) -> dict:
    return {
        "id": message.id,
        "to": message.to_address,
        "subject": message.subject,
        "kind": message.kind,
        "language": message.language,
        "ticket": message.ticket.reference if message.ticket_id else None,
        "status": message.status,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "created_at": iso(message.created_at),
        "next_attempt_at": iso(message.next_attempt_at) if message.status == "pending" else None,
        "sent_at": iso(message.sent_at),
    }


def token_json(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "read_only": token.read_only,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "expires_at": iso(token.expires_at),
        "revoked_at": iso(token.revoked_at),
        "expired": token.expires_at is not None and token.expires_at <= utcnow(),
    }


def access_json(entry: AccessLog) -> dict:
    return {
        "at": iso(entry.at),
        "email": entry.email,
        "name": entry.user.name if entry.user_id else None,
        "event": entry.event,
        "outcome": entry.outcome,
        "address": entry.address,
        "user_agent": entry.user_agent,
    }


def sla_holiday_json(holiday: SlaHoliday) -> dict:
    return {"date": holiday.day.isoformat(), "name": holiday.name}


def sla_calendar_json(calendar: SlaCalendar) -> dict:
    return {
        "name": calendar.name,
        "timezone": calendar.timezone,
        "days": [sla_service.DAY_NAMES[int(d)] for d in calendar.weekdays.split(",") if d],
        "hours": f"{calendar.day_start}-{calendar.day_end}",
        "holidays": [sla_holiday_json(h) for h in sla_service.holidays_of(calendar)],
    }


def sla_policy_json(policy: SlaPolicy) -> dict:
    calendar = policy.calendar if policy.calendar_id else None
    return {
        "name": policy.name,
        "calendar": None if calendar is None else sla_calendar_json(calendar),
        "targets": [
            {
                "priority": t.priority,
                "type": t.type,
                "response_minutes": t.response_minutes,
                "resolution_minutes": t.resolution_minutes,
            }
            for t in sla_service.targets_of(policy)
        ],
        "created_at": iso(policy.created_at),
    }


def service_json(service: Service) -> dict:
    return {
        "id": service.id,
        "name": service.name,
        "types": service.types.split(","),
        "retired": service.retired_at is not None,
        "retired_at": iso(service.retired_at),
        "created_at": iso(service.created_at),
    }


def subcategory_json(subcategory: Subcategory) -> dict:
    return {
        "id": subcategory.id,
        "name": subcategory.name,
        "service": {"id": subcategory.service.id, "name": subcategory.service.name},
        "retired": subcategory.retired_at is not None,
        "retired_at": iso(subcategory.retired_at),
    }


def offer_json(offer: Offer) -> dict:
    """A service as the caller may choose it: their name for it, its open subcategories."""
    return {
        "id": offer.service.id,
        "name": offer.service.name,
        "display_name": offer.display_name,
        "label": offer.label,
        "types": offer.service.types.split(","),
        "retired": offer.service.retired_at is not None,
        "organization": offer.organization.name if offer.organization else None,
        "subcategories": [
            {"id": s.id, "name": s.name, "retired": s.retired_at is not None}
            for s in offer.subcategories
        ],
    }


def contract_json(contract: Contract, services: list[ContractService]) -> dict:
    return {
        "id": contract.id,
        "organization": contract.organization.name,
        "sla": contract.sla_policy.name if contract.sla_policy_id else None,
        "from": contract.starts_on.isoformat() if contract.starts_on else None,
        "to": contract.ends_on.isoformat() if contract.ends_on else None,
        "active": contract_service.is_active(contract),
        "services": [
            {"id": s.service.id, "name": s.service.name, "display_name": s.display_name}
            for s in services
        ],
        "created_at": iso(contract.created_at),
    }


EXPORT_FORMATS = ("jsonl", "csv")
# One CSV row per comment (a ticket without comments: one row with the comment columns empty).
EXPORT_COLUMNS = (
    "reference",
    "title",
    "status",
    "type",
    "service",
    "priority",
    "requester_name",
    "requester_email",
    "organization",
    "created_at",
    "updated_at",
    "comment_id",
    "comment_author",
    "comment_visibility",
    "comment_created_at",
    "comment_body",
)
EXPORT_GROUP = 100  # tickets whose display names are read in one query


def export_lines(kind: str, first, rows) -> Iterator[str]:
    """Exported tickets as JSON lines or CSV text, a group of tickets at a time."""
    pending = [] if first is None else [first]
    if kind == "csv":
        yield _csv_line(EXPORT_COLUMNS)
    for item in rows:
        pending.append(item)
        if len(pending) >= EXPORT_GROUP:
            yield "".join(_export_group(kind, pending))
            pending = []
    if pending:
        yield "".join(_export_group(kind, pending))


def _export_group(kind: str, group: list) -> Iterator[str]:
    names = contract_service.display_names([ticket for ticket, _ in group])
    for ticket, comments in group:
        summary = ticket_summary(ticket, names.get(ticket.id))
        if kind == "jsonl":
            summary["comments"] = [comment_json(c) for c in comments]
            yield json.dumps(summary, ensure_ascii=False, sort_keys=True) + "\n"
            continue
        service = summary["service"]
        head = [
            summary["reference"],
            summary["title"],
            summary["status"],
            summary["type"],
            (service["display_name"] or service["name"]) if service else "",
            summary["priority"],
            ticket.requester.name,
            ticket.requester.email,
            summary["organization"],
            summary["created_at"],
            summary["updated_at"],
        ]
        for comment in comments or [None]:
            tail = (
                [
                    comment.id,
                    comment.author.email,
                    comment.visibility,
                    iso(comment.created_at),
                    comment.body,
                ]
                if comment
                else [""] * 5
            )
            yield _csv_line(head + tail)


def _csv_line(values) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()

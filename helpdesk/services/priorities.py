"""The priority policy as configured: the impact x urgency matrix and what each type asks.

Stored in the database over the defaults of helpdesk/priority.py, so that every server and the
CLI agree; admins change it (priority.manage), everyone may read it (priority.view).
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk import permissions, validation
from helpdesk.db import database
from helpdesk.errors import OptionNotAsked, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import PriorityCell, PriorityPolicy, User, utcnow
from helpdesk.priority import DEFAULT_CHOICES, DEFAULT_INPUT, DEFAULT_PRIORITY, PRIORITY_MATRIX
from helpdesk.vocabulary import LEVELS, PRIORITIES, PRIORITY_INPUTS, TICKET_TYPES, PriorityInput


@dataclass(frozen=True)
class TypePolicy:
    type: str
    asks: str  # a PriorityInput word
    default: str  # the priority when the customer gives none
    configured: bool
    choices: tuple[str, ...] = DEFAULT_CHOICES  # what a submitter may pick, where asked


def matrix() -> dict[tuple[str, str], str]:
    """The matrix in force: the configured cells over the default ones."""
    cells = dict(PRIORITY_MATRIX)
    for cell in PriorityCell.select():
        cells[(cell.impact, cell.urgency)] = cell.priority
    return cells


def priority_for(impact: str, urgency: str) -> str:
    """The priority the matrix in force gives this impact and urgency."""
    cell = (
        PriorityCell.select(PriorityCell.priority)
        .where((PriorityCell.impact == impact) & (PriorityCell.urgency == urgency))
        .first()
    )
    return cell.priority if cell else PRIORITY_MATRIX[(impact, urgency)]


def type_policy(type: str) -> TypePolicy:
    """What a request type asks for (impact and urgency unless configured otherwise)."""
    row = PriorityPolicy.select().where(PriorityPolicy.type == type).first()
    if row is None:
        return TypePolicy(type, DEFAULT_INPUT, DEFAULT_PRIORITY, False)
    return TypePolicy(type, row.asks, row.default_priority, True, tuple(row.choices.split(",")))


def parse_choices(value) -> str:
    """Priorities a submitter may pick, as stored: a list or a comma-separated text."""
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value:
        # The words to type, as validation.choice gives them: English, the API's values.
        raise ValidationFailed(
            N_("choices must name at least one of: {allowed}."),
            {"field": "choices"},
            allowed=list(PRIORITIES),
        )
    chosen = {validation.choice("choices", str(v).strip().lower(), PRIORITIES) for v in value}
    return ",".join(p for p in PRIORITIES if p in chosen)


# What a type's policy asks, by how many fields (API keys) a submitter gave that it does not:
# a whole sentence for each, so that the catalogs translate it whole.
NOT_ASKED = {
    PriorityInput.impact_urgency.value: {
        1: N_("{request_type} tickets ask for impact and urgency, not {first}."),
    },
    PriorityInput.priority.value: {
        1: N_("{request_type} tickets ask for a priority, not {first}."),
        2: N_("{request_type} tickets ask for a priority, not {first} or {second}."),
    },
    PriorityInput.nothing.value: {
        1: N_(
            "{request_type} tickets ask for nothing (its priority is always {priority}), "
            "not {first}."
        ),
        2: N_(
            "{request_type} tickets ask for nothing (its priority is always {priority}), "
            "not {first} or {second}."
        ),
        3: N_(
            "{request_type} tickets ask for nothing (its priority is always {priority}), "
            "not {first} or {second} or {third}."
        ),
    },
}


def priority_at_submit(
    type: str, impact: str | None, urgency: str | None, priority: str | None
) -> tuple[str, str, str]:
    """(impact, urgency, priority) of a new ticket of this type, as its policy says.

    Raises OptionNotAsked, naming what the type asks, for a field it does not ask for.
    """
    policy = type_policy(type)
    asks = policy.asks
    given_levels = [f for f, v in (("impact", impact), ("urgency", urgency)) if v is not None]
    refused = []
    if asks != PriorityInput.impact_urgency.value:
        refused += given_levels
    if asks != PriorityInput.priority.value and priority is not None:
        refused.append("priority")
    if refused:
        values = dict(zip(("first", "second", "third"), refused, strict=False))
        if asks == PriorityInput.nothing.value:
            values["priority"] = policy.default
        template = NOT_ASKED[asks][len(refused)]
        raise OptionNotAsked(
            template,
            {"type": type, "asks": asks, "refused": refused},
            request_type=type,
            **values,
        )
    impact = validation.choice("impact", impact or "medium", LEVELS)
    urgency = validation.choice("urgency", urgency or "medium", LEVELS)
    if asks == PriorityInput.impact_urgency.value:
        return impact, urgency, priority_for(impact, urgency)
    if asks == PriorityInput.priority.value and priority is not None:
        return impact, urgency, validation.choice("priority", priority, policy.choices)
    return impact, urgency, policy.default


def show_policy(*, actor: User) -> dict:
    """The whole policy: every matrix cell and every type's, marking what is configured."""
    permissions.require(actor, "priority.view")
    configured = {(c.impact, c.urgency): c.priority for c in PriorityCell.select()}
    cells = [
        {
            "impact": impact,
            "urgency": urgency,
            "priority": configured.get((impact, urgency), PRIORITY_MATRIX[(impact, urgency)]),
            "configured": (impact, urgency) in configured,
        }
        for impact in reversed(LEVELS)
        for urgency in reversed(LEVELS)
    ]
    types = [type_policy(t) for t in TICKET_TYPES]
    return {
        "matrix": cells,
        "types": [
            {
                "type": p.type,
                "asks": p.asks,
                "default": p.default,
                "choices": list(p.choices),
                "configured": p.configured,
            }
            for p in types
        ],
    }


def set_matrix_cell(impact: str, urgency: str, priority: str, *, actor: User) -> dict:
    """Set one cell of the matrix; new tickets (and recomputed ones) follow it."""
    permissions.require(actor, "priority.manage")
    validation.choice("impact", impact, LEVELS)
    validation.choice("urgency", urgency, LEVELS)
    validation.choice("priority", priority, PRIORITIES)
    with database.atomic():
        updated = (
            PriorityCell.update(priority=priority, updated_at=utcnow())
            .where((PriorityCell.impact == impact) & (PriorityCell.urgency == urgency))
            .execute()
        )
        if not updated:
            PriorityCell.create(impact=impact, urgency=urgency, priority=priority)
    return show_policy(actor=actor)


def set_type_policy(
    type: str, asks: str, default: str | None = None, *, actor: User, choices=None
) -> dict:
    """Say what a request type asks the customer for, its default priority and, where it asks
    for a priority, which ones the submitter may pick."""
    permissions.require(actor, "priority.manage")
    validation.choice("type", type, TICKET_TYPES)
    validation.choice("asks", asks, PRIORITY_INPUTS)
    if default is not None:
        validation.choice("default", default, PRIORITIES)
    stored_choices = parse_choices(choices) if choices is not None else None
    with database.atomic():
        current = type_policy(type)
        default = default or current.default
        stored_choices = stored_choices or ",".join(current.choices)
        updated = (
            PriorityPolicy.update(
                asks=asks, default_priority=default, choices=stored_choices, updated_at=utcnow()
            )
            .where(PriorityPolicy.type == type)
            .execute()
        )
        if not updated:
            PriorityPolicy.create(
                type=type, asks=asks, default_priority=default, choices=stored_choices
            )
    return show_policy(actor=actor)

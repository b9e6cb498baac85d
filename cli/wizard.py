"""`helpdesk ticket submit` on a terminal: request type → service → subcategory → title,
description, impact and urgency, as numbered choices (the portal's wizard, as prompts).

Each step is one small function that reads the draft and fills in one thing, so a step can be
changed or added (a type that asks a priority directly) without touching the others. Nothing
here runs when stdin is not a terminal: `ticket submit` then names the missing option instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import typer

from helpdesk.cli.compat import UsageError
from helpdesk.cli.i18n import N_, t, w
from helpdesk.validation import ascii_int
from helpdesk.vocabulary import LEVELS, PRIORITIES, TICKET_TYPES, PriorityInput

# Wrong answers to one question before giving up (a terminal left to a script, say).
ATTEMPTS = 5


def on_terminal() -> bool:
    """May the CLI ask? Only when a person types at its stdin."""
    return sys.stdin.isatty()


def choose(question: str, labels: Sequence[str], default: int | None = None) -> int:
    """Ask `question` (marked with N_) for one of numbered choices; answers its index."""
    typer.echo(t(question))
    for number, label in enumerate(labels, start=1):
        typer.echo(f"  {number}) {label}")
    for _ in range(ATTEMPTS):
        answer = typer.prompt(
            t("Number"), default=str(default + 1) if default is not None else None
        ).strip()
        number = ascii_int(answer)
        if number is not None and 1 <= number <= len(labels):
            return number - 1
        typer.echo(t("Answer a number from 1 to {last}.", last=len(labels)))
    raise UsageError(f"No choice made after {ATTEMPTS} answers.")


def _offer_label(offer: dict) -> str:
    return offer["display_name"] or offer["name"]


def ask_type(draft: dict, catalogue: list[dict]) -> None:
    """What kind of request: only the types some service the caller may use takes."""
    if draft.get("type"):
        return
    offered = {kind for offer in catalogue for kind in offer["types"]}
    kinds = [k for k in TICKET_TYPES if k in offered] if catalogue else list(TICKET_TYPES)
    labels = [w("ticket type", kind) for kind in kinds]
    draft["type"] = kinds[choose(N_("What kind of request is it?"), labels)]


def ask_service(draft: dict, catalogue: list[dict]) -> None:
    """Which service, among those that take the chosen type."""
    if draft.get("service") or not catalogue:
        return
    offers = [o for o in catalogue if draft["type"] in o["types"]]
    if not offers:
        raise UsageError(t("No service you may use takes {type} requests.", **draft))
    offer = offers[choose(N_("Which service is it about?"), [_offer_label(o) for o in offers])]
    draft["service"] = str(offer["id"])
    draft["_offer"] = offer


def ask_subcategory(draft: dict, catalogue: list[dict]) -> None:
    """Which subcategory of the chosen service, when it has some."""
    offer = draft.get("_offer")
    if draft.get("subcategory") or offer is None:
        return
    subs = [s for s in offer["subcategories"] if not s["retired"]]
    if subs:
        draft["subcategory"] = str(
            subs[choose(N_("Which part of it?"), [s["name"] for s in subs])]["id"]
        )


def ask_title(draft: dict, catalogue: list[dict]) -> None:
    if not draft.get("title"):
        draft["title"] = typer.prompt(t("Title (one line)"))


def ask_description(draft: dict, catalogue: list[dict]) -> None:
    if draft.get("description") is None:
        draft["description"] = typer.prompt(t("Description"), default="", show_default=False)


def ask_levels(draft: dict, catalogue: list[dict]) -> None:
    """What the type's priority policy asks: impact and urgency (each low/medium/high, medium
    by default), the priority itself, or nothing."""
    policy = draft.get("_asks", {}).get(draft["type"], {})
    asks = policy.get("asks", PriorityInput.impact_urgency.value)
    if asks == PriorityInput.nothing.value:
        return
    if asks == PriorityInput.priority.value:
        if not draft.get("priority"):
            choices = policy.get("choices") or list(PRIORITIES)
            labels = [w("priority", choice) for choice in choices]
            draft["priority"] = choices[choose(N_("How urgent is it for you?"), labels)]
        return
    for field, question in (
        ("impact", N_("How many are affected?")),
        ("urgency", N_("How soon does it hurt?")),
    ):
        if not draft.get(field):
            labels = [w("level", level) for level in LEVELS]
            draft[field] = LEVELS[choose(question, labels, default=LEVELS.index("medium"))]


Step = Callable[[dict, list[dict]], None]
STEPS: list[Step] = [ask_type, ask_service, ask_subcategory, ask_title, ask_description, ask_levels]


def walk(
    draft: dict, catalogue: list[dict], asks: dict[str, dict], steps: Sequence[Step] = STEPS
) -> dict:
    """Fill in what the draft lacks, one step after the other; answers the draft. `asks` is
    each request type's priority policy (GET /priority: asks, choices), by type."""
    draft["_asks"] = asks
    for step in steps:
        step(draft, catalogue)
    draft.pop("_offer", None)
    draft.pop("_asks", None)
    return draft

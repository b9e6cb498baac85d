"""Create a request: a wizard in steps, each a GET carrying the choices so far in the query
(type → service → subcategory → the form), so it works without JavaScript. The POST files the
request through the same service as the API (`tickets.submit_ticket`): same rules, same errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _

from helpdesk import permissions
from helpdesk.errors import HelpdeskError
from helpdesk.models import User
from helpdesk.server.api.inputs import MAX_UPLOADS
from helpdesk.server.portal import portal, said, uploaded_files
from helpdesk.server.portal.session import login_required, portal_user
from helpdesk.services import catalog, contracts, priorities, tickets
from helpdesk.services.users import memberships_of
from helpdesk.vocabulary import LEVELS, TICKET_TYPES, PriorityInput

FORM_FIELDS = (
    "type",
    "service",
    "subcategory",
    "title",
    "description",
    "impact",
    "urgency",
    "priority",
    "organization",
    "requester",
)


@dataclass
class Wizard:
    """Where the visitor is in the wizard, from the choices made so far."""

    values: dict
    step: str = "type"
    offers: list = field(default_factory=list)  # the services offered for the chosen type
    offer: contracts.Offer | None = None  # the chosen one
    policy: priorities.TypePolicy | None = None
    organizations: list = field(default_factory=list)  # names, when the customer has several


def _offers_for(actor: User, type: str) -> list[contracts.Offer]:
    """The services the actor may file this type of request under, one per name."""
    seen, offers = set(), []
    for offer in contracts.catalogue_for(actor):
        if type in catalog.service_types(offer.service) and offer.label not in seen:
            seen.add(offer.label)
            offers.append(offer)
    return offers


def _wizard(actor: User, values: dict) -> Wizard:
    """The step the wizard is at: the first choice still missing (or not offered)."""
    wizard = Wizard(values)
    if values.get("type") not in TICKET_TYPES:
        return wizard
    wizard.offers = _offers_for(actor, values["type"])
    if wizard.offers:
        wanted = values.get("service", "")
        wizard.offer = next((o for o in wizard.offers if str(o.service.id) == wanted), None)
        if wizard.offer is None:
            wizard.step = "service"
            return wizard
        subcategories = [str(s.id) for s in wizard.offer.subcategories]
        if subcategories and values.get("subcategory") not in subcategories:
            wizard.step = "subcategory"
            return wizard
    wizard.step = "form"
    wizard.policy = priorities.type_policy(values["type"])
    names = [m.organization.name for m in memberships_of(actor)]
    wizard.organizations = names if len(names) > 1 else []
    if wizard.offer is not None and wizard.offer.organization is not None:
        values.setdefault("organization", wizard.offer.organization.name)
    return wizard


def _page(wizard: Wizard, errors: dict | None = None, status: int = 200):
    return (
        render_template(
            "portal/wizard.html",
            wizard=wizard,
            values=wizard.values,
            errors=errors or {},
            types=TICKET_TYPES,
            levels=LEVELS,
            asks=PriorityInput,
            max_uploads=MAX_UPLOADS,
        ),
        status,
    )


@portal.get("/requests/new")
@login_required
def new_request():
    """The wizard's steps: each choice made so far is in the query string."""
    values = {k: request.args[k] for k in FORM_FIELDS if request.args.get(k)}
    return _page(_wizard(portal_user(), values))


def _error_field(exc: HelpdeskError) -> str:
    """The form field a refusal is about (the general message when it names none)."""
    details = exc.details or {}
    if details.get("field") in FORM_FIELDS:
        return details["field"]
    refused = details.get("refused") or []  # a priority field the type does not ask for
    if refused and refused[0] in FORM_FIELDS:
        return refused[0]
    if "organization" in details:
        return "organization"
    if "email" in details:  # the requester named by an agent
        return "requester"
    return "__all__"


def _shown(wizard: Wizard, actor: User) -> set[str]:
    """The fields the form shows (a refusal about one is written next to it)."""
    if wizard.step != "form":
        return set()
    shown = {"title", "description", "file", "type", "service", "subcategory"}
    asks = wizard.policy.asks if wizard.policy else None
    if asks == PriorityInput.impact_urgency:
        shown |= {"impact", "urgency"}
    elif asks == PriorityInput.priority:
        shown.add("priority")
    if permissions.can(actor, "ticket.submit_on_behalf"):
        shown |= {"requester", "organization"}
    elif wizard.organizations:
        shown.add("organization")
    return shown


@portal.post("/requests/new")
@login_required
def create_request():
    """File the request; a refusal re-renders the form, with what was typed kept."""
    actor = portal_user()
    values = {k: request.form[k] for k in FORM_FIELDS if request.form.get(k, "").strip()}
    values.setdefault("type", request.form.get("type", ""))
    values.setdefault("title", "")
    wizard = _wizard(actor, dict(values))
    try:
        files = uploaded_files()
        ticket = tickets.submit_ticket(
            actor=actor,
            type=values["type"],
            title=values["title"],
            description=values.get("description", ""),
            impact=values.get("impact"),
            urgency=values.get("urgency"),
            priority=values.get("priority"),
            organization=values.get("organization"),
            requester=values.get("requester"),
            service=values.get("service"),
            subcategory=values.get("subcategory"),
            attachments=files,
        )
    except HelpdeskError as exc:
        # A choice no longer offered (or tampered with) sends the visitor back to that step.
        status = exc.http_status if exc.http_status != 404 else 422
        field = _error_field(exc)
        if field not in _shown(wizard, actor):
            field = "__all__"  # about a field this form does not show: said above the form
        return _page(wizard, {field: said(exc)}, status)
    flash(_("Request %(ref)s was created.", ref=ticket.reference), "success")
    return redirect(f"/requests/{ticket.reference}", 303)

"""What emails say, in English: the catalogs (helpdesk/i18n.py) hold every other language.

The words around the message (greeting, labels, footer) are written in the templates
(`helpdesk/mail/templates/`) as `{{ _("Status") }}`.
"""

from __future__ import annotations

from helpdesk.formats import LANGUAGES
from helpdesk.i18n import N_

FALLBACK = "en"

# kind -> (subject, first line). Placeholders: {ref} {title} {actor} {agent} {status} {due}.
MESSAGES: dict[str, tuple[str, str]] = {
    "received": (
        N_("Ticket received: {title}"),
        N_("We have received your ticket {ref} and will get back to you soon."),
    ),
    "new_ticket": (N_("New ticket: {title}"), N_("{actor} submitted a new ticket {ref}.")),
    "assigned": (N_("Ticket assigned: {title}"), N_("{agent} is now handling ticket {ref}.")),
    "reply": (N_("New reply: {title}"), N_("{actor} replied to ticket {ref}:")),
    "status": (
        N_("Ticket {status}: {title}"),
        N_("{actor} changed the status of {ref} to {status}."),
    ),
    "reopened": (N_("Ticket reopened: {title}"), N_("{actor} reopened ticket {ref}:")),
    "shared": (
        N_("Ticket shared with you: {title}"),
        N_("{actor} shared ticket {ref} with you."),
    ),
    "updated": (N_("Ticket updated: {title}"), N_("{actor} changed ticket {ref}:")),
    "survey": (
        N_("How did we do? {title}"),
        N_(
            "Ticket {ref} is closed. Please tell us how satisfied you are, from 1 (poor) "
            "to 5 (excellent)."
        ),
    ),
    "sla_response_breached": (
        N_("SLA missed (first response): {title}"),
        N_("Ticket {ref} missed its first-response target, due {due}."),
    ),
    "sla_resolution_breached": (
        N_("SLA missed (resolution): {title}"),
        N_("Ticket {ref} missed its resolution target, due {due}."),
    ),
    "sla_response_due": (
        N_("SLA due soon (first response): {title}"),
        N_("Ticket {ref} needs a first response by {due}."),
    ),
    "sla_resolution_due": (
        N_("SLA due soon (resolution): {title}"),
        N_("Ticket {ref} must be resolved by {due}."),
    ),
}

# A status as the email names it, where that differs from the status word (helpdesk/i18n.word):
# a pending ticket waits for the customer's answer.
STATUS_NAMES: dict[str, str] = {"pending": N_("waiting for you")}


def language_of(code: str | None) -> str:
    return code if code in LANGUAGES else FALLBACK


# Account emails: kind -> (subject, first line).
ACCOUNT_MESSAGES: dict[str, tuple[str, str]] = {
    "invite": (
        N_("Your help desk account"),
        N_(
            "{actor} created a help desk account for you ({email}). Choose your password "
            "to activate it."
        ),
    ),
    "signup": (
        N_("Confirm your email address"),
        N_("Please confirm your address ({email}) and choose your password."),
    ),
    "reset": (
        N_("Reset your password"),
        N_(
            "Someone, hopefully you, asked to reset the password of {email}. If it was not "
            "you, ignore this email: nothing changes."
        ),
    ),
    "email_change": (
        N_("Confirm your new email address"),
        N_("Please confirm that {email} is your new address for the help desk."),
    ),
}

# How each account token is used from the command line and the web.
ACCOUNT_ACTIONS = {
    "invite": ("activate", "helpdesk account activate {token}"),
    "signup": ("activate", "helpdesk account activate {token}"),
    "reset": ("reset", "helpdesk account reset {token}"),
    "email_change": ("confirm-email", "helpdesk account confirm-email {token}"),
}

"""Error messages in the user's language, from the one set of catalogs (helpdesk/i18n.py).

An error's English message is written where it is raised; the API answers it translated when
the catalogs can rebuild it, and in English otherwise. The `code` and `details` never change.
Three ways, tried in this order:
- MESSAGES: English templates that give back the raised message exactly from the details
  (`"{field} is required."`): the catalogs translate the template, the details fill it in;
- SUMMARIES: for an error code and exactly these details, one sentence that says the same
  (whatever the English message), e.g. every refused transition;
- a message with no values in it is its own msgid: the permission refusals of
  helpdesk/permissions.py are extracted from its table (scripts/update_catalogs.py).
"""

from __future__ import annotations

from helpdesk import i18n
from helpdesk.errors import HelpdeskError
from helpdesk.formats import LANGUAGES
from helpdesk.i18n import N_

# The commonest messages with values, as services raise them (helpdesk/validation.py...).
MESSAGES: dict[str, tuple[str, ...]] = {
    "not_found": (N_("No such ticket: {reference}."),),
    "validation_failed": (
        N_("{field} is required."),
        N_("{field} must be text."),
        N_("{field} must be true or false."),
        N_("{field} must be one line, without control characters."),
        N_("{field} must be a whole number from {min} to {max}."),
        N_("{field} must be one of: {allowed} (got {got!r})."),
        N_("{field} is too long ({length} characters, at most {max_length})."),
        N_("{value!r} is not an email address."),
        N_("{field} must be a date like 2026-01-31 (got {value!r})."),
        N_("{field}: date out of range (got {value!r})."),
        N_("{field} must be a non-empty list."),
        N_("{field} has too many entries ({count}); send at most {max}."),
    ),
}

# "code:detail:detail" (the details exactly, sorted) -> what the error says, in one template.
SUMMARIES: dict[str, str] = {
    # The details must be exactly those the template was written for: a not_found about
    # an attachment also names the ticket, but is not "no such ticket".
    "not_found:reference": N_("No such ticket: {reference}."),
    "authentication_required": N_("Authentication is missing or was refused; log in again."),
    "too_many_requests:retry_after": N_(
        "Too many failed logins; try again in {retry_after} seconds."
    ),
    "invalid_transition:allowed:from:to": N_("The ticket cannot go from {from} to {to}."),
}


def _values(details: dict) -> dict:
    """The details as a message shows them: a list as its items joined by commas."""
    return {
        name: ", ".join(map(str, value)) if isinstance(value, list) else value
        for name, value in details.items()
    }


def _fill(language: str | None, template: str, details: dict) -> str:
    values = {
        # Statuses are words too; the other values are the caller's or the API's keys.
        name: i18n.word(language, "status", value) if name in ("from", "to") else value
        for name, value in _values(details).items()
    }
    return i18n.gettext(language, template).format(**values)


def localized_message(error: HelpdeskError, language: str | None) -> str:
    """The error's message in `language` when the catalogs have it, else the English one."""
    if language not in LANGUAGES or language == i18n.SOURCE_LANGUAGE:
        return error.message
    for template in MESSAGES.get(error.code, ()):
        try:
            if template.format(**_values(error.details)) == error.message:
                return _fill(language, template, error.details)
        except (KeyError, IndexError, ValueError):
            continue
    summary = SUMMARIES.get(":".join([error.code, *sorted(error.details)]))
    if summary is not None:
        return _fill(language, summary, error.details)
    return i18n.gettext(language, error.message)

"""The commonest error messages in the user's language, rebuilt from the error's details.

An error whose code (and the details its template needs) is not here keeps its English text.
"""

from __future__ import annotations

from helpdesk.errors import HelpdeskError

# language -> code -> template over the error's details (str.format).
TEMPLATES: dict[str, dict[str, str]] = {
    "fr": {
        "not_found:reference": "Ticket introuvable : {reference}.",
        "authentication_required": "Authentification absente ou refusée ; connectez-vous.",
        "too_many_requests:retry_after": "Trop d'échecs de connexion ; réessayez dans {retry_after} secondes.",
        "invalid_transition:allowed:from:to": "Le ticket ne peut pas passer de « {from} » à « {to} ».",
    },
    "it": {
        "not_found:reference": "Ticket non trovato: {reference}.",
        "authentication_required": "Autenticazione mancante o rifiutata; accedi di nuovo.",
        "too_many_requests:retry_after": "Troppi accessi falliti; riprova tra {retry_after} secondi.",
        "invalid_transition:allowed:from:to": "Il ticket non può passare da «{from}» a «{to}».",
    },
    "cs": {
        "not_found:reference": "Požadavek nenalezen: {reference}.",
        "authentication_required": "Chybí nebo neplatné přihlášení; přihlaste se znovu.",
        "too_many_requests:retry_after": "Příliš mnoho neúspěšných přihlášení; zkuste to znovu za {retry_after} s.",
        "invalid_transition:allowed:from:to": "Požadavek nelze převést ze stavu „{from}“ do „{to}“.",
    },
}


def localized_message(error: HelpdeskError, language: str | None) -> str:
    """The error's message in `language` when we have its template, else the English one."""
    templates = TEMPLATES.get(language or "en", {})
    for key, template in templates.items():
        code, *names = key.split(":")
        # The details must be exactly those the template was written for: a not_found about
        # an attachment also names the ticket, but is not "no such ticket".
        if code == error.code and set(error.details) == set(names):
            return template.format(**error.details)
    return error.message

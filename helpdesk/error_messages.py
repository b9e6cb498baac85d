"""Error messages in the user's language, from the one set of catalogs (helpdesk/i18n.py).

Every error is raised with an English template marked N_ and its values by name
(helpdesk/errors.py): the catalogs translate the template, the values fill it in, and the
values that are words of helpdesk/vocabulary.py (statuses, request types, priorities) are
translated too. The `code` and `details` never change. A template the catalogs lack reads in
English. tests/test_error_templates.py checks that no raise builds its message another way.
"""

from __future__ import annotations

from typing import Any

from helpdesk import i18n
from helpdesk.errors import HelpdeskError, shown
from helpdesk.formats import LANGUAGES

# Values that are words: by the value's name, the vocabulary they come from.
WORD_VALUES = {
    "status": "status",
    "from": "status",
    "to": "status",
    "statuses": "status",
    "request_type": "ticket type",
    "types": "ticket type",
    "priority": "priority",
    "priorities": "priority",
}
# Values that are phrases marked N_ where they are made ("agents or the requester").
PHRASE_VALUES = frozenset({"who"})
# Names that are words only for some errors (elsewhere "allowed" lists an option's API keys).
WORD_VALUES_OF = {"invalid_transition": {"allowed": "status"}}


def _translated_values(error: HelpdeskError, language: str) -> dict[str, Any]:
    vocabularies = {**WORD_VALUES, **WORD_VALUES_OF.get(error.code, {})}
    values = {}
    for name, value in error.values.items():
        vocabulary = vocabularies.get(name)
        if name in PHRASE_VALUES and isinstance(value, str):
            value = i18n.gettext(language, value)
        elif vocabulary and isinstance(value, list):
            value = [i18n.word(language, vocabulary, item) for item in value]
        elif vocabulary and isinstance(value, str):
            value = i18n.word(language, vocabulary, value)
        values[name] = value
    return shown(values)


def localized_message(error: HelpdeskError, language: str | None) -> str:
    """The error's message in `language` when the catalogs have it, else the English one."""
    if language not in LANGUAGES or language == i18n.SOURCE_LANGUAGE:
        return error.message
    translated = i18n.gettext(language, error.template)
    if not error.values:
        return translated
    try:
        return translated.format(**_translated_values(error, language))
    except (KeyError, IndexError, ValueError):  # a catalog gone wrong must not cost the answer
        return error.message

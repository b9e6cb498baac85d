"""The CLI's words in the user's language (their profile, kept with the login).

Texts are English with str.format placeholders, translated through the one set of catalogs
(helpdesk/i18n.py, `helpdesk/locale/*/LC_MESSAGES/messages.po`); a text with no translation is
printed in English. The server answers errors in the user's language itself.
"""

from __future__ import annotations

from helpdesk import i18n
from helpdesk.cli import config

N_ = i18n.N_


def language() -> str:
    return config.profile().get("language", "en")


def t(text: str, **values) -> str:
    """`text` in the user's language, with `values` filled in."""
    return i18n.gettext(language(), text).format(**values)


def tn(singular: str, plural: str, count: int, **values) -> str:
    """The singular or plural text for `count` in the user's language."""
    return i18n.ngettext(language(), singular, plural, count, **values)


def w(vocabulary: str, value: str | None) -> str | None:
    """A stored word (a status, a priority...: its set in helpdesk/vocabulary.py) as shown."""
    return i18n.word(language(), vocabulary, value)

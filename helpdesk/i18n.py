"""The one set of message catalogs: gettext `.po` files that the CLI, the emails and the portal
all read, one per language, in `helpdesk/locale/<language>/LC_MESSAGES/messages.po`.

Catalogs are read from the `.po` text and compiled in memory once per process (no generated
`.mo` files to build or ship); a language without a catalog, or a text without a translation,
reads as the English it is written in.

Texts are English sentences with str.format placeholders (`"Closed {reference}."`), filled in
after translating. The fixed words of helpdesk/vocabulary.py are translated with the name of
their set as the message context (`word("fr", "status", "open")`), so "open" the status and
another "open" can differ. `scripts/update_catalogs.py` extracts every text into the catalogs;
tests/test_translations.py fails when one lacks a translation.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import io
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from helpdesk.formats import LANGUAGES

if TYPE_CHECKING:
    from babel.support import NullTranslations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"


def N_(text: str) -> str:
    """Mark a text for extraction where it is written; it is translated where it is shown."""
    return text


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def is_source(language: str | None) -> bool:
    """English, or a language we have no catalog for: texts read as they are written."""
    return language not in LANGUAGES or language == SOURCE_LANGUAGE


@cache
def translations(language: str | None) -> NullTranslations:
    """The translations of one language (English, or an unknown language: none), as Babel's
    objects (flask-babel, Jinja). Babel is imported here, on first use: a command that only
    speaks English (`helpdesk --help`) never loads it."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    if is_source(language):
        return NullTranslations()
    path = catalog_path(language)
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


_AS_WRITTEN = stdlib_gettext.NullTranslations()


def _catalog(language: str | None) -> stdlib_gettext.NullTranslations:
    return _AS_WRITTEN if is_source(language) else translations(language)


def gettext(language: str | None, text: str, **values) -> str:
    """`text` in `language`, with str.format `values` filled in after translating."""
    translated = _catalog(language).gettext(text)
    return translated.format(**values) if values else translated


def pgettext(language: str | None, context: str, text: str, **values) -> str:
    """`text` in `language` as meant in `context` (e.g. "status"), `values` filled in."""
    translated = _catalog(language).pgettext(context, text)
    return translated.format(**values) if values else translated


def ngettext(language: str | None, singular: str, plural: str, count: int, **values) -> str:
    """The singular or plural text in `language` for `count`; `count` is a value too."""
    translated = _catalog(language).ngettext(singular, plural, count)
    return translated.format(count=count, **values)


def word(language: str | None, vocabulary: str, value: str | None) -> str | None:
    """One word of a set of helpdesk/vocabulary.py (by its name there) in `language`."""
    if not value:
        return value
    return _catalog(language).pgettext(vocabulary, value)

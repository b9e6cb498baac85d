"""The one set of message catalogs: gettext `.po` files that the CLI, the emails and the portal
all read, one per language, in `helpdesk/locale/<language>/LC_MESSAGES/messages.po`.

Catalogs are read from the `.po` text and compiled in memory once per process (no generated
`.mo` files to build or ship); a language without a catalog, or a text without a translation,
reads as the English it is written in.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from helpdesk.formats import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str | None) -> NullTranslations:
    """The translations of one language (English, or an unknown language: none)."""
    if language not in LANGUAGES or language == SOURCE_LANGUAGE:
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


def gettext(language: str | None, text: str, **values) -> str:
    """`text` in `language`, with str.format `values` filled in after translating."""
    translated = translations(language).gettext(text)
    return translated.format(**values) if values else translated

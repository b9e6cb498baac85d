"""The one set of catalogs (helpdesk/locale/*/LC_MESSAGES/messages.po) is complete and sound.

Every text the code and the templates mark (`t("…")`, `_()`, `gettext`, `pgettext`, `N_`,
Jinja `{{ _("…") }}`), every word of helpdesk/vocabulary.py and every permission refusal is
extracted as scripts/update_catalogs.py does it, and must have a translation in each language.
"""

from __future__ import annotations

import importlib.util
import io
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import PoFileError, read_po

from helpdesk import i18n

ROOT = Path(__file__).resolve().parent.parent


def _load_update_script():
    spec = importlib.util.spec_from_file_location(
        "update_catalogs", ROOT / "scripts/update_catalogs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


update_catalogs = _load_update_script()
TRANSLATED = update_catalogs.LANGUAGES  # fr, it, cs: English is the source


@pytest.fixture(scope="module")
def extracted():
    return update_catalogs.extract()


# A line of a .po file: a comment, a keyword and its quoted string, or a continued string.
PO_LINE = re.compile(
    r'(#.*|(msgctxt|msgid|msgid_plural|msgstr(\[\d+\])?) )?"([^"\\]|\\.)*"|#.*|\s*'
)


def syntax_errors(text: str) -> list[tuple[int, str]]:
    """Lines Babel would read leniently (an unclosed quote...), which msgfmt refuses."""
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if not PO_LINE.fullmatch(line)]


def read(language: str):
    path = i18n.catalog_path(language)
    assert syntax_errors(path.read_text(encoding="utf-8")) == []
    with path.open("rb") as source:
        return read_po(source, locale=language, abort_invalid=True)


def placeholders(text: str) -> set[str]:
    """The named placeholders of a text: str.format's `{name}` and %-style `%(name)s`."""
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return names | set(re.findall(r"%\((\w+)\)", text))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalog_parses(language):
    assert len(read(language)) > 0


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_text_has_a_translation(extracted, language):
    catalog = read(language)
    missing = []
    for message in extracted:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else None
        if entry is None or not (all(strings) if strings else entry.string):
            missing.append((message.context, message.id))
    assert missing == [], "run scripts/update_catalogs.py and translate these"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders_of_the_english(language):
    wrong = []
    for message in read(language):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(placeholders(i) for i in ids))
        wrong += [(message.id, s) for s in strings if placeholders(s) != expected]
    assert wrong == []


@pytest.mark.parametrize(
    "text",
    [
        'msgid "Status"\nmsgstr "Statut\n',  # an unclosed quote
        'msgid "Status"\nStatut\n',  # a line that is no keyword
        'msgid "Status"\n',  # no msgstr
    ],
)
def test_a_broken_catalog_is_refused(text):
    with pytest.raises(PoFileError):
        if syntax_errors(text):
            raise PoFileError("syntax", None, text, 0)
        read_po(io.BytesIO(text.encode()), locale="fr", abort_invalid=True)


def test_the_catalogs_are_up_to_date_with_the_code(capsys):
    # A text added to the code without running the script (or one no longer used) fails here.
    assert update_catalogs.main(["--check"]) == 0, capsys.readouterr().out


def test_words_have_a_context_so_the_same_english_can_differ():
    assert i18n.word("fr", "status", "pending") == "en attente"
    assert i18n.word("fr", "priority", "high") == "haute"
    assert i18n.word("fr", "level", "high") == "élevé"
    assert i18n.word("en", "status", "pending") == "pending"
    assert i18n.gettext("de", "Status") == "Status"  # no catalog: the English

"""Extract every text to translate and update the catalogs (fr, it, cs) to match.

    python scripts/update_catalogs.py          # update helpdesk/locale/*/LC_MESSAGES/messages.po
    python scripts/update_catalogs.py --check  # change nothing; exit 1 if an update is due

What is extracted (babel.cfg says where): `_("…")`, `gettext`, `ngettext`, `pgettext`, `N_` (a
text marked where it is written, translated where it is shown), the CLI's `t("…")`/`tn(…)`, in
Python and in the Jinja templates (portal and mails); then the words of helpdesk/vocabulary.py,
each with the name of its set as context (`pgettext("status", "open")`), and the refusals of
helpdesk/permissions.py. A new text gets an empty translation to write; a text no longer used
is dropped. English is the source language: it has no catalog.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LANGUAGES = ("fr", "it", "cs")
KEYWORDS = {**DEFAULT_KEYWORDS, "t": None, "tn": (1, 2)}
WIDTH = 100


def extract() -> Catalog:
    """Every msgid of the code, the templates, the vocabulary and the permission refusals."""
    from helpdesk import permissions
    from helpdesk.vocabulary import VOCABULARY

    template = Catalog(project="helpdesk", version="0.1", fuzzy=False)
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    for path, lineno, message, comments, context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        template.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    for name, enum in VOCABULARY.items():
        for member in enum:
            template.add(member.value, None, [("helpdesk/vocabulary.py", 0)], context=name)
    for _rule, message in permissions.RULES.values():
        template.add(message, None, [("helpdesk/permissions.py", 0)])
    return template


def po_text(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(
        out,
        catalog,
        width=WIDTH,
        omit_header=False,
        ignore_obsolete=True,
        include_lineno=False,
        sort_output=True,
    )
    return out.getvalue()


def updated(language: str, template: Catalog) -> tuple[Path, bytes, list[str]]:
    """The catalog of `language` brought up to the template, and its untranslated msgids."""
    path = ROOT / "helpdesk" / "locale" / language / "LC_MESSAGES" / "messages.po"
    if path.exists():
        with path.open("rb") as source:
            catalog = read_po(source, locale=language)
    else:
        catalog = Catalog(locale=language, project="helpdesk", version="0.1", fuzzy=False)
    # No fuzzy matching: a guessed translation of a changed text is worse than none.
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    missing = [m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and not m.string]
    missing += [
        m.id[0] for m in catalog if m.id and isinstance(m.string, tuple) and not all(m.string)
    ]
    return path, po_text(catalog), missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; 1 if not current")
    args = parser.parse_args(argv)
    template = extract()
    stale = False
    for language in LANGUAGES:
        path, text, missing = updated(language, template)
        current = path.read_bytes() if path.exists() else b""
        # The header's dates change on every run: compare (and write) only real changes.
        if _body(current) != _body(text):
            stale = True
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(text)
        state = "out of date" if args.check and _body(current) != _body(text) else "ok"
        print(f"{language}: {len(template)} texts, {len(missing)} to translate ({state})")
        for msgid in missing:
            print(f"  {msgid!r}")
    return 1 if args.check and stale else 0


def _body(po: bytes) -> bytes:
    """A catalog without its header's dates (POT-Creation-Date, PO-Revision-Date)."""
    return b"\n".join(line for line in po.splitlines() if b"-Date: " not in line)


if __name__ == "__main__":
    sys.exit(main())

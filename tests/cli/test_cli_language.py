"""Typer's and Click's own words (usage errors, --help) in the user's language.

The installed Typer runs on its own copy of Click whose texts are not marked for gettext:
helpdesk/cli/click_language.py rewrites each line Click writes from a template; these tests
check the user's view of it, and that the English Typer prints still matches every template.
"""

from __future__ import annotations

import inspect

import pytest
import typer.core

from helpdesk.cli import click_language

# A usage error of each kind, and what the user sees (stderr, exit 2) in each language.
USAGE_ERRORS = {
    "missing option": (
        ("user", "register", "sam@acme.test"),
        {
            "en": "Error: Missing option '--name'.",
            "fr": "Erreur : Option '--name' manquante.",
            "cs": "Chyba: Chybí volba '--name'.",
        },
    ),
    "missing option, asked only on a terminal": (
        ("ticket", "submit", "--type", "question"),
        {
            "en": "Error: Missing option '--title' (asked only on a terminal).",
            "fr": "Erreur : Option '--title' manquante (demandée seulement sur un terminal).",
            "cs": "Chyba: Chybí volba '--title' (ptá se na ni jen na terminálu).",
        },
    ),
    "unknown option": (
        ("ticket", "list", "--frobnicate"),
        {
            "en": "Error: No such option: --frobnicate",
            "fr": "Erreur : Option inconnue : --frobnicate",
            "cs": "Chyba: Neznámá volba: --frobnicate",
        },
    ),
    "bad choice": (
        ("ticket", "submit", "--type", "outage", "--title", "VPN"),
        {
            "en": "Error: Invalid value for '--type': Value error, 'outage' is not one of "
            "'incident', 'feature', 'question'.",
            "fr": "Erreur : Valeur non valide pour '--type' : 'outage' ne fait pas partie des "
            "valeurs possibles : 'incident', 'feature', 'question'.",
            "cs": "Chyba: Neplatná hodnota pro '--type': 'outage' není mezi povolenými "
            "hodnotami: 'incident', 'feature', 'question'.",
        },
    ),
    "extra argument": (
        ("ticket", "show", "HD-1", "HD-2"),
        {
            "en": "Error: Got unexpected extra argument(s) (HD-2)",
            "fr": "Erreur : La commande n'attend pas ceci : HD-2",
            "cs": "Chyba: Tohle příkaz nečeká: HD-2",
        },
    ),
    "number out of range": (
        ("serve", "--port", "99999"),
        {
            "en": "Error: Invalid value for '--port': Input should be less than or equal to 65535",
            "fr": "Erreur : Valeur non valide pour '--port' : La valeur doit être inférieure ou "
            "égale à 65535.",
            "cs": "Chyba: Neplatná hodnota pro '--port': Hodnota smí být nejvýše 65535.",
        },
    ),
}

HINTS = {
    "en": ("Usage: helpdesk ticket show [OPTIONS] {REF}", "Try 'helpdesk ticket show --help'"),
    "fr": ("Utilisation : helpdesk ticket show [OPTIONS] {REF}", "Essayez 'helpdesk ticket"),
    "cs": ("Použití: helpdesk ticket show [OPTIONS] {REF}", "Nápovědu zobrazí 'helpdesk"),
}


@pytest.fixture
def speaking(installed):
    """The logged-in admin's CLI, in the language they choose in their profile."""

    def choose(language):
        result = installed("account", "update", "--language", language)
        assert result.exit_code == 0, result.output
        return installed

    return choose


@pytest.mark.parametrize("language", ["en", "fr", "cs"])
@pytest.mark.parametrize("kind", USAGE_ERRORS)
def test_usage_errors_are_in_the_users_language(speaking, language, kind):
    cli = speaking(language)
    args, said = USAGE_ERRORS[kind]

    result = cli(*args)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == said[language]


@pytest.mark.parametrize("language", ["en", "fr", "cs"])
def test_the_usage_lines_of_an_error_are_in_the_users_language(speaking, language):
    cli = speaking(language)

    lines = cli("ticket", "show", "HD-1", "HD-2").stderr.splitlines()

    usage, hint = HINTS[language]
    assert lines[0] == usage
    assert lines[1].startswith(hint)


HELP = {
    "en": ("Usage: helpdesk ticket submit", "Options:", "Show this message and exit."),
    "fr": ("Utilisation : helpdesk ticket submit", "Options:", "Affiche ce message et quitte."),
    "cs": ("Použití: helpdesk ticket submit", "Volby:", "Zobrazí tuto nápovědu a skončí."),
}


@pytest.mark.parametrize("language", ["en", "fr", "cs"])
def test_help_headings_are_in_the_users_language(speaking, language):
    cli = speaking(language)

    result = cli("ticket", "submit", "--help")

    assert result.exit_code == 0
    usage, options, help_row = HELP[language]
    assert result.stdout.startswith(usage)
    assert f"\n{options}\n" in result.stdout
    assert result.stdout.rstrip().endswith(help_row)
    # Our own help texts stay English (not in this scope).
    assert "A one-line summary (asked on a terminal)." in result.stdout


def test_group_help_and_unknown_command_in_french(speaking):
    cli = speaking("fr")

    assert "\nCommandes:\n" in cli("ticket", "--help").stdout
    result = cli("ticket", "lis")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Erreur : Commande 'lis' inconnue. Vouliez-vous dire 'list' ?"
    )
    assert "[par défaut : 0]" in cli("--help").stdout


def test_english_after_french_is_typers_own(speaking):
    speaking("fr")("ticket", "list", "--frobnicate")
    cli = speaking("en")

    assert cli("ticket", "--help").stdout.startswith("Usage: helpdesk ticket")
    assert typer.core._ is click_language._ORIGINALS[("typer.core", "_")]


def test_every_marked_text_is_typers():
    source = inspect.getsource(typer.core)
    assert [text for text in click_language.MARKED if f'_("{text}")' not in source] == []


def test_english_outputs_match_their_templates(speaking):
    """What Typer prints today is what the templates say: a reworded text is noticed here."""
    cli = speaking("en")
    seen = set()
    for args, _said in USAGE_ERRORS.values():
        for line in cli(*args).stderr.splitlines():
            found = click_language.match(line)
            while found:
                seen.add(found[0])
                found = click_language.match(found[1].get("message", ""))
    assert {
        "Usage: {usage}",
        "Try '{command}' for help.",
        "Error: {message}",
        "Missing option {name}.",
        "No such option: {name}",
        "Invalid value for {name}: {message}",
        "Value error, {message}",
        "{value} is not one of {choices}.",
        "Got unexpected extra argument(s) ({args})",
    } <= seen

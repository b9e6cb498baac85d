"""The language a user chooses is the language of the CLI's messages to them."""

from __future__ import annotations

import json

import pytest

from helpdesk.db import database
from helpdesk.services import api_tokens, users


@pytest.fixture
def sam(installed):
    """A customer of Acme, logged in through the CLI with their own token."""
    assert installed("org", "create", "Acme").exit_code == 0
    result = installed(
        "user",
        "register",
        "sam@acme.test",
        "--name",
        "Sam",
        "--org",
        "Acme",
        "--password-stdin",
        input="sam-password-42\n",
    )
    assert result.exit_code == 0, result.output
    with database.connection_context():
        token = api_tokens.issue_token(users.get_user_by_email("sam@acme.test"))
    assert installed("logout").exit_code == 0
    # A token of one's own, as `login` would store it: the profile comes with `whoami`.
    return lambda *args, **kw: installed(*args, env={"HELPDESK_TOKEN": token}, **kw)


@pytest.mark.parametrize(
    "language,submitted,headers,error",
    [
        ("en", "Submitted HD-1", "Ref    Status", "Error: No such ticket: HD-99."),
        ("fr", "Ticket HD-1 soumis", "Réf.    Statut", "Erreur : Ticket introuvable : HD-99."),
        ("it", "Ticket HD-1 inviato", "Rif.    Stato", "Errore: Ticket non trovato: HD-99."),
        ("cs", "Požadavek HD-1 odeslán", "Ozn.    Stav", "Chyba: Požadavek nenalezen: HD-99."),
    ],
)
def test_messages_headers_and_errors_follow_the_users_language(
    sam, language, submitted, headers, error
):
    assert sam("account", "update", "--language", language).exit_code == 0

    result = sam("ticket", "submit", "--type", "question", "--title", "VPN")
    assert result.stdout.startswith(submitted)
    assert sam("ticket", "list").stdout.startswith(headers)
    assert sam("ticket", "show", "HD-99").stderr.strip() == error


def test_dates_follow_the_users_date_format(sam):
    sam("ticket", "submit", "--type", "question", "--title", "VPN")
    assert sam("account", "update", "--date-format", "dot").exit_code == 0
    row = sam("ticket", "list").stdout.splitlines()[2]
    day = row.split()[-2]
    assert len(day) == 10 and day[2] == "." and day[5] == "."


def test_a_refused_login_is_told_in_the_language_of_the_last_login(sam, installed):
    assert sam("account", "update", "--language", "fr").exit_code == 0
    assert sam("whoami").exit_code == 0  # the profile (language) is kept for this server
    result = installed("login", "sam@acme.test", "--password-stdin", input="wrong-password-1\n")
    assert result.exit_code == 4
    assert result.stderr.strip() == "Erreur : E-mail ou mot de passe incorrect."


def test_statuses_priorities_and_types_are_words_of_the_users_language(sam):
    assert sam("account", "update", "--language", "fr").exit_code == 0

    submitted = sam("ticket", "submit", "--type", "question", "--title", "VPN")
    assert submitted.stdout == "Ticket HD-1 soumis : VPN (nouveau, moyenne).\n"
    row = sam("ticket", "list").stdout.splitlines()[2].split()
    assert row[:4] == ["HD-1", "nouveau", "moyenne", "question"]
    shown = sam("ticket", "show", "HD-1").stdout
    assert "Statut:       nouveau" in shown
    assert "Priorité : moyenne (impact moyen, urgence moyen)" in shown
    # Scripts read the JSON: its words stay English.
    listed = json.loads(sam("ticket", "list", "--json").stdout)["items"][0]
    assert (listed["status"], listed["priority"]) == ("new", "medium")


def test_an_api_error_is_printed_in_the_users_language(sam):
    assert sam("account", "update", "--language", "it").exit_code == 0
    result = sam("user", "list")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Errore: Solo gli operatori possono elencare gli utenti."

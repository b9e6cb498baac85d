"""The accounts' and tickets' refusals in the caller's language (issue 9): through the API for a
user whose profile language is fr, it or cs, and through the CLI for an error the CLI raises
itself. The message is translated whole, with its values (a status word too); the `code` and
the `details` stay English-keyed, for scripts."""

from __future__ import annotations

import json

import pytest

from helpdesk.services import profile

API = "/api/v1"


def error_of(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.get_json()["error"]


@pytest.mark.parametrize(
    "language,message",
    [
        ("en", "col@acme.test is a customer; tickets are assigned to agents."),
        ("fr", "col@acme.test est un client ; les tickets sont assignés aux agents."),
        ("it", "col@acme.test è un cliente; i ticket vengono assegnati agli operatori."),
        ("cs", "col@acme.test je zákazník; požadavky se přidělují agentům."),
    ],
)
def test_assigning_to_a_customer_is_refused_in_the_agents_language(
    client, world, language, message
):
    profile.update_profile(world.agent, language=language)
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/assign",
        json={"assignee": "col@acme.test"},
        headers=world.headers(world.agent),
    )
    assert error_of(resp, 422) == {
        "code": "validation_failed",
        "message": message,
        "details": {"assignee": "col@acme.test"},
    }


@pytest.mark.parametrize(
    "language,message",
    [
        ("fr", "Le ticket HD-1 est « résolu » ; seul un ticket clos peut être noté."),
        ("it", "Il ticket HD-1 è «risolto»; solo un ticket chiuso può essere valutato."),
        ("cs", "Požadavek HD-1 je ve stavu „vyřešený“; hodnotit lze jen uzavřený požadavek."),
    ],
)
def test_rating_an_open_ticket_names_its_status_in_the_requesters_language(
    client, world, language, message
):
    profile.update_profile(world.requester, language=language)
    ticket = world.ticket(status="resolved")
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/rating",
        json={"rating": 5},
        headers=world.headers(world.requester),
    )
    assert error_of(resp, 409) == {
        "code": "conflict",
        "message": message,
        "details": {"reference": "HD-1", "status": "resolved"},  # the stored word, for scripts
    }


@pytest.mark.parametrize(
    "language,message",
    [
        ("fr", "Le mot de passe doit comporter au moins 10 caractères."),
        ("it", "La password deve essere lunga almeno 10 caratteri."),
        ("cs", "Heslo musí mít alespoň 10 znaků."),
    ],
)
def test_a_too_short_password_is_refused_in_the_users_language(client, world, language, message):
    profile.update_profile(world.requester, language=language)
    resp = client.post(
        f"{API}/account/password",
        json={"current_password": "irrelevant", "new_password": "short"},
        headers=world.headers(world.requester),
    )
    error = error_of(resp, 422)
    assert error["code"] == "validation_failed"
    assert error["message"] == message
    assert error["details"] == {"field": "password", "min_length": 10}


def test_sharing_with_an_unknown_name_says_so_in_french(client, world):
    profile.update_profile(world.requester, language="fr")
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": ["Nobody Known"]},
        headers=world.headers(world.requester),
    )
    assert error_of(resp, 404) == {
        "code": "not_found",
        "message": "Aucun utilisateur nommé 'Nobody Known'.",
        "details": {"user": "Nobody Known"},
    }


def test_an_import_with_invalid_rows_is_refused_in_french_whole(client, world):
    profile.update_profile(world.admin, language="fr")
    rows = [
        {"email": "a@initech.test", "name": "A", "organization": "Acme"},
        {"email": "not-an-email", "name": "B", "organization": "Acme"},
        {"email": "c@initech.test", "name": "C", "organization": "Nowhere"},
    ]
    resp = client.post(
        f"{API}/users/import", json={"rows": rows}, headers=world.headers(world.admin)
    )
    error = error_of(resp, 422)
    assert error["code"] == "validation_failed"
    assert error["message"] == "2 lignes sur 3 sont invalides ; rien n'a été importé."
    assert (error["details"]["invalid"], error["details"]["total"]) == (2, 3)
    assert [row["line"] for row in error["details"]["rows"]] == [2, 3]


@pytest.fixture
def french_admin(installed):
    """The admin logged in through the CLI, their profile language French."""
    assert installed("account", "update", "--language", "fr").exit_code == 0
    return installed


def test_the_cli_says_its_own_refusals_in_the_users_language(french_admin):
    csv_text = "email,name,organization,role,language,phone\nnot-an-email,Bad,,,en,\n"

    result = french_admin("user", "import", "-", input=csv_text)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Erreur : 1 ligne invalide dans stdin ; rien n'a été importé."
    )
    result = french_admin("user", "import", "-", "--json", input=csv_text)
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "validation_failed"
    assert error["message"] == "1 ligne invalide dans stdin ; rien n'a été importé."
    assert (error["details"]["count"], error["details"]["source"]) == (1, "stdin")


def test_an_error_from_the_server_is_shown_as_the_server_said_it(french_admin):
    assert french_admin("org", "create", "Acme").exit_code == 0

    result = french_admin("org", "create", "Acme")

    assert result.exit_code == 1
    assert result.stderr.strip() == "Erreur : Une organisation nommée 'Acme' existe déjà."

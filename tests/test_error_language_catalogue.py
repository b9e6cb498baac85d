"""The refusals of the service catalogue, the contracts, the priority policy and the API's input
checks read in the caller's profile language, with the request type words translated too; the
code and the details stay English, for scripts."""

from __future__ import annotations

import pytest

from helpdesk.services import catalog, contracts, profile

API = "/api/v1/tickets"


@pytest.fixture
def offered(world):
    """Acme's contract covers Audio matching (called "Matching" by Acme); Billing is not in it."""
    catalog.add_service("Audio matching", actor=world.admin, types="incident,question")
    catalog.add_subcategory("Audio matching", "Data delivery", actor=world.admin)
    catalog.add_subcategory("Audio matching", "Portal access", actor=world.admin)
    catalog.add_service("Billing", actor=world.admin)
    contracts.add_contract("Acme", ["Audio matching=Matching"], actor=world.admin)


def refusal(client, world, language, status, **fields):
    """A customer whose profile says `language` submits a ticket; the error it gets."""
    profile.update_profile(world.requester, language=language)
    body = {"type": "incident", "title": "Files are late"} | fields
    resp = client.post(API, json=body, headers=world.headers(world.requester))
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()["error"]


@pytest.mark.parametrize(
    "language,message",
    [
        ("en", "You may not use service 'Billing': the contracts of Acme cover Matching."),
        (
            "fr",
            "Vous ne pouvez pas utiliser le service 'Billing' : les contrats de Acme couvrent"
            " Matching.",
        ),
        ("it", "Non puoi usare il servizio 'Billing': i contratti di Acme coprono Matching."),
        ("cs", "Službu 'Billing' nemůžete použít: smlouvy organizace Acme pokrývají Matching."),
    ],
)
def test_a_service_outside_the_contract_is_refused_in_the_callers_language(
    client, world, offered, language, message
):
    error = refusal(client, world, language, 422, service="Billing", subcategory="Data delivery")
    assert error == {
        "code": "validation_failed",
        "message": message,
        "details": {"service": "Billing", "organization": "Acme", "choices": ["Matching"]},
    }


def test_the_request_types_a_service_takes_are_words_of_the_callers_language(
    client, world, offered
):
    error = refusal(client, world, "fr", 422, type="feature", service="Matching")
    assert error["message"] == (
        "Le service 'Audio matching' n'accepte pas les demandes de type « évolution » ;"
        " il accepte : incident, question."
    )
    assert error["code"] == "validation_failed"
    assert error["details"] == {
        "field": "type",
        "service": "Audio matching",
        "choices": ["incident", "question"],
        "request_type": "feature",
        "types": ["incident", "question"],
    }


def test_a_missing_subcategory_lists_the_choices_in_czech(client, world, offered):
    error = refusal(client, world, "cs", 422, service="Matching")
    assert error["message"] == (
        "Služba 'Audio matching' vyžaduje podkategorii: Data delivery, Portal access."
    )
    assert error["details"] == {
        "field": "subcategory",
        "service": "Audio matching",
        "choices": ["Data delivery", "Portal access"],
    }


@pytest.mark.parametrize(
    "language,message",
    [
        ("en", "feature tickets ask for impact and urgency, not priority."),
        (
            "fr",
            "Les tickets de type « évolution » demandent un impact et une urgence, pas priority.",
        ),
        ("it", "I ticket di tipo «funzionalità» chiedono impatto e urgenza, non priority."),
        ("cs", "Požadavky typu „nová funkce“ se ptají na dopad a naléhavost, ne na priority."),
    ],
)
def test_a_field_the_priority_policy_does_not_ask_for_is_refused_in_the_callers_language(
    client, world, language, message
):
    error = refusal(client, world, language, 422, type="feature", priority="high")
    assert error == {
        "code": "not_asked",
        "message": message,
        "details": {
            "type": "feature",
            "asks": "impact-urgency",
            "refused": ["priority"],
            "request_type": "feature",
            "first": "priority",
        },
    }


@pytest.mark.parametrize(
    "fields,message,details",
    [
        (
            {"colour": "red"},
            "Champ inconnu : colour.",
            {"unknown": ["colour"]},
        ),
        (
            {"colour": "red", "size": 3},
            "Champs inconnus : colour, size.",
            {"unknown": ["colour", "size"]},
        ),
    ],
)
def test_unknown_fields_are_named_in_the_callers_language_one_or_many(
    client, world, fields, message, details
):
    error = refusal(client, world, "fr", 422, **fields)
    assert (error["code"], error["message"]) == ("validation_failed", message)
    assert error["details"]["unknown"] == details["unknown"]
    assert "title" in error["details"]["allowed"]


@pytest.mark.parametrize(
    "language,message",
    [
        (
            "en",
            "The server is busy (the database is locked by other changes); nothing was changed."
            " Try again in 2 seconds.",
        ),
        (
            "it",
            "Il server è occupato (il database è bloccato da altre modifiche); non è stato"
            " modificato nulla. Riprova tra 2 secondi.",
        ),
    ],
)
def test_a_busy_database_is_said_in_the_callers_language(language, message):
    from peewee import OperationalError

    from helpdesk.error_messages import localized_message
    from helpdesk.errors import busy_error

    error = busy_error(OperationalError("database is locked"))
    assert (error.code, localized_message(error, language)) == ("busy", message)
    assert error.details == {"retry_after": 2}

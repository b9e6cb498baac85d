"""A logged-in user's errors come in their language: the message only; the code and the
details stay the same, English-keyed, for scripts."""

from __future__ import annotations

import pytest

from helpdesk.services import profile

API = "/api/v1"


@pytest.mark.parametrize(
    "language,required,refused",
    [
        ("en", "title is required.", "Only agents may list users."),
        ("fr", "title est obligatoire.", "Seuls les agents peuvent lister les utilisateurs."),
        ("it", "title è obbligatorio.", "Solo gli operatori possono elencare gli utenti."),
        ("cs", "title je povinné.", "Seznam uživatelů vidí jen agenti."),
    ],
)
def test_errors_speak_the_callers_language(client, world, language, required, refused):
    profile.update_profile(world.requester, language=language)
    headers = world.headers(world.requester)

    resp = client.post(f"{API}/tickets", json={"type": "question", "title": " "}, headers=headers)
    assert resp.status_code == 422
    assert resp.get_json()["error"] == {
        "code": "validation_failed",
        "message": required,
        "details": {"field": "title"},
    }

    resp = client.get(f"{API}/users", headers=headers)
    assert resp.status_code == 403
    assert resp.get_json()["error"] == {
        "code": "permission_denied",
        "message": refused,
        "details": {"action": "user.list"},
    }


def test_a_refused_transition_names_the_statuses_in_the_callers_language(client, world):
    profile.update_profile(world.agent, language="fr")
    ticket = world.ticket(status="closed")
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/transition",
        json={"to": "pending"},
        headers=world.headers(world.agent),
    )
    error = resp.get_json()["error"]
    assert resp.status_code == 409 and error["code"] == "invalid_transition"
    assert error["message"] == (
        "Le ticket HD-1 est « clos » ; un ticket « clos » ne peut jamais être rouvert. "
        "Soumettez plutôt un nouveau ticket."
    )
    assert (error["details"]["from"], error["details"]["to"]) == ("closed", "pending")


@pytest.mark.parametrize(
    "body,message",
    [
        (
            {"type": "question", "title": "x" * 500},
            "title est trop long (500 caractères, au plus 200).",
        ),
        (
            {"type": "outage", "title": "Down"},
            "type doit être l'une de ces valeurs : incident, feature, question (reçu 'outage').",
        ),
    ],
)
def test_validation_messages_with_values_are_translated_too(client, world, body, message):
    profile.update_profile(world.requester, language="fr")
    resp = client.post(f"{API}/tickets", json=body, headers=world.headers(world.requester))
    error = resp.get_json()["error"]
    assert (resp.status_code, error["code"]) == (422, "validation_failed")
    assert error["message"] == message


def test_a_message_without_a_translation_stays_english():
    # Every message raised today is translated (tests/test_translations.py): a template the
    # catalogs lack, as a new one would be before its translation, reads in English.
    from helpdesk.error_messages import localized_message
    from helpdesk.errors import NotFound

    error = NotFound("No gadget named {gadget!r}.", gadget="Nobody Known")
    assert localized_message(error, "fr") == "No gadget named 'Nobody Known'."

"""The links in account emails open pages that work in a browser: GET shows, POST acts once."""

from __future__ import annotations

from datetime import timedelta

from conftest import Browser

from helpdesk.models import User
from helpdesk.services import authentication, users
from helpdesk.services.account_tokens import issue_account_token

NEW_PASSWORD = "brand-new-password-7"


def post(client, url, data):
    """The form's POST as a browser sends it: with the session's CSRF token."""
    return Browser(client).post(url, data)


def invite(world):
    """Register a customer without a password; return them and their invitation token."""
    user = users.register_user("nina@acme.test", "Nina", actor=world.admin, organization="Acme")
    raw, _ = issue_account_token(user, "invite", timedelta(hours=1))
    return user, raw


def test_activation_page_shows_a_form_and_saves_the_password_once(world, client):
    user, token = invite(world)
    page = client.get(f"/account/activate/{token}")
    assert page.status_code == 200 and 'type="password"' in page.text
    assert User.get_by_id(user.id).password_hash is None  # looking is not acting

    done = post(
        client,
        f"/account/activate/{token}",
        {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert done.status_code == 200 and "is active" in done.text
    assert authentication.log_in("nina@acme.test", NEW_PASSWORD)[0].id == user.id

    again = post(
        client,
        f"/account/activate/{token}",
        {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert again.status_code == 404 and "already used" in again.text


def test_activation_page_refuses_differing_or_weak_passwords_and_keeps_the_token(world, client):
    user, token = invite(world)
    differ = post(
        client,
        f"/account/activate/{token}",
        {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD + "x"},
    )
    assert differ.status_code == 422 and "differ" in differ.text
    weak = post(
        client,
        f"/account/activate/{token}",
        {"password": "qwertyuiop", "confirmation": "qwertyuiop"},
    )
    assert weak.status_code == 422 and "too common" in weak.text
    assert User.get_by_id(user.id).password_hash is None
    ok = post(
        client,
        f"/account/activate/{token}",
        {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert ok.status_code == 200


def test_forged_links_and_unknown_pages_are_not_found(world, client):
    assert (
        post(
            client,
            "/account/reset/forged-token",
            {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
        ).status_code
        == 404
    )
    assert client.get("/account/delete-everything/x").status_code == 404

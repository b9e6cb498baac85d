"""The pages behind email links: no token nobody holds, and no other site may frame them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import Browser

from helpdesk.services import users
from helpdesk.services.account_tokens import issue_account_token

PASSWORD = "nina-new-password-7"
FORM = {"password": PASSWORD, "confirmation": PASSWORD}


def post(client, url, data):
    """The form's POST as a browser sends it: with the session's CSRF token."""
    return Browser(client).post(url, data)


def invited(world) -> str:
    """Nina is invited; her invitation token."""
    nina = users.register_user("nina@acme.test", "Nina", actor=world.admin, organization="Acme")
    raw, _ = issue_account_token(nina, "invite", timedelta(hours=1))
    return raw


def tokens_of_nina(client) -> list[str]:
    """Nina logs in (with the API) and lists her tokens' names."""
    body = {"email": "nina@acme.test", "password": PASSWORD}
    login = client.post("/api/v1/auth/login", json=body)
    assert login.status_code == 200, login.json
    headers = {"Authorization": f"Bearer {login.json['token']}"}
    return [t["name"] for t in client.get("/api/v1/tokens", headers=headers).json["items"]]


def test_activating_on_the_web_page_leaves_no_token_behind(world, client):
    """Issue 7, defect 13: the page had nowhere to put the token activation issued."""
    page = post(client, f"/account/activate/{invited(world)}", FORM)
    assert page.status_code == 200 and "is active" in page.text
    assert tokens_of_nina(client) == ["login"]


def test_activating_with_the_api_still_logs_in(world, client):
    resp = client.post(
        "/api/v1/account/activate", json={"token": invited(world), "password": PASSWORD}
    )
    assert resp.status_code == 200 and resp.json["token"].startswith("hd_")
    assert tokens_of_nina(client) == ["activation", "login"]


def assert_not_frameable(resp) -> None:
    """The portal's headers: no frame anywhere, and the page's whole content policy."""
    assert resp.mimetype == "text/html"
    assert resp.headers["X-Frame-Options"] == "DENY"
    policy = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy


@pytest.mark.parametrize("page", ["activate", "reset", "confirm-email"])
def test_account_pages_may_not_be_framed(world, client, page):
    """Defect 14: a password form in someone else's frame could be clickjacked."""
    assert_not_frameable(client.get(f"/account/{page}/forged-token"))
    assert_not_frameable(post(client, f"/account/{page}/forged-token", FORM))  # 404 page


def test_a_working_activation_page_may_not_be_framed(world, client):
    token = invited(world)
    assert_not_frameable(client.get(f"/account/activate/{token}"))
    differ = post(client, f"/account/activate/{token}", {**FORM, "confirmation": "other"})
    assert differ.status_code == 422
    assert_not_frameable(differ)
    done = post(client, f"/account/activate/{token}", FORM)
    assert done.status_code == 200
    assert_not_frameable(done)


def test_survey_pages_may_not_be_framed(world, client):
    for resp in (
        client.get("/survey/forged-token?rating=5"),
        post(client, "/survey/forged-token", {"rating": "5"}),
    ):
        assert resp.status_code == 404
        assert_not_frameable(resp)

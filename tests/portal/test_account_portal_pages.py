"""The account pages in the portal: emailed links, a forgotten password, self sign-up."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
from conftest import Browser

from helpdesk.models import OutboxMessage, Ticket, User
from helpdesk.services import authentication, tickets, users
from helpdesk.services.account_tokens import issue_account_token

NEW_PASSWORD = "brand-new-password-7"


def mails_to(address: str) -> list[OutboxMessage]:
    return list(OutboxMessage.select().where(OutboxMessage.to_address == address))


def link_in(message: OutboxMessage, page: str) -> str:
    """The link to `page` in an email, as its reader sees it (the stored text may be encoded)."""
    text = email.message_from_string(message.raw, policy=email.policy.default)
    body = text.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"/{page}/[\w-]+", body).group(0)


@pytest.fixture
def open_signup(env, monkeypatch):
    """The configuration lets anyone sign up (set before the app reads it)."""
    monkeypatch.setenv("HELPDESK_SIGNUP", "open")


def test_the_emailed_pages_are_portal_pages_in_the_visitors_language(browser, world):
    user = users.register_user("nina@acme.test", "Nina", actor=world.admin, organization="Acme")
    raw, _ = issue_account_token(user, "invite", timedelta(hours=1))
    browser.get(f"/account/activate/{raw}", headers={"Accept-Language": "cs"})
    assert '<html lang="cs">' in browser.page
    assert "pico.min.css" in browser.page  # the portal's base template
    assert 'name="csrf_token"' in browser.page
    assert 'name="password"' in browser.page and 'name="confirmation"' in browser.page


def test_the_emailed_pages_refuse_a_post_without_the_csrf_token(browser, world):
    user = users.register_user("nina@acme.test", "Nina", actor=world.admin, organization="Acme")
    raw, _ = issue_account_token(user, "invite", timedelta(hours=1))
    browser.get(f"/account/activate/{raw}")
    form = {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}
    refused = browser.post(f"/account/activate/{raw}", form, csrf=False)
    assert refused.status_code == 400
    assert User.get_by_id(user.id).password_hash is None
    done = browser.post(f"/account/activate/{raw}", form)  # the token was not spent
    assert done.status_code == 200 and "is active" in browser.page
    assert 'href="/login"' in browser.page


def test_the_login_page_links_to_the_forgotten_password_page_and_not_to_a_closed_sign_up(
    browser,
):
    browser.get("/login")
    assert 'href="/password/forgot"' in browser.page
    assert 'href="/signup"' not in browser.page
    assert browser.get("/signup").status_code == 404


def test_a_forgotten_password_is_reset_through_the_emailed_link(browser, world):
    browser.login(world.requester)
    browser.post("/logout")
    browser.get("/password/forgot")
    assert 'name="email"' in browser.page
    response = browser.post("/password/forgot", {"email": world.requester.email})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    browser.get("/login")
    assert "a reset link is on its way" in browser.page
    [mail] = mails_to(world.requester.email)
    link = link_in(mail, "account/reset")
    browser.get(link)
    done = browser.post(link, {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert done.status_code == 200 and "was changed" in browser.page
    assert authentication.log_in(world.requester.email, NEW_PASSWORD)[0].id == world.requester.id


def test_an_unknown_address_gets_the_same_answer_and_no_mail(browser, world):
    browser.get("/password/forgot")
    response = browser.post("/password/forgot", {"email": "nobody@acme.test"})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    browser.get("/login")
    assert "a reset link is on its way" in browser.page
    assert mails_to("nobody@acme.test") == []


def test_reset_requests_are_throttled_and_refused_without_csrf(browser, world):
    browser.get("/password/forgot")
    assert (
        browser.post("/password/forgot", {"email": world.colleague.email}, csrf=False).status_code
        == 400
    )
    assert mails_to(world.colleague.email) == []
    statuses = [
        browser.post("/password/forgot", {"email": world.colleague.email}).status_code
        for _ in range(4)
    ]
    assert statuses == [303, 303, 303, 429]
    assert "Too many attempts" in browser.page
    assert f'value="{world.colleague.email}"' in browser.page  # the address is kept
    assert len(mails_to(world.colleague.email)) == 3


def test_sign_up_where_allowed_registers_and_emails_a_confirmation(open_signup, browser, db):
    browser.get("/login")
    assert 'href="/signup"' in browser.page
    browser.get("/signup")
    assert 'name="email"' in browser.page and 'name="name"' in browser.page
    bad = browser.post("/signup", {"email": "not-an-address", "name": "Zoe"})
    assert bad.status_code == 422 and 'id="email-error"' in browser.page
    assert 'value="Zoe"' in browser.page and 'value="not-an-address"' in browser.page
    refused = browser.post("/signup", {"email": "zoe@acme.test", "name": "Zoe"}, csrf=False)
    assert refused.status_code == 400
    assert User.get_or_none(User.email == "zoe@acme.test") is None
    done = browser.post(
        "/signup", {"email": "zoe@acme.test", "name": "Zoe"}, headers={"Accept-Language": "fr"}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    zoe = User.get(User.email == "zoe@acme.test")
    assert zoe.name == "Zoe" and zoe.language == "fr"
    [mail] = mails_to("zoe@acme.test")
    assert "/account/activate/" in mail.raw


def test_sign_up_of_a_known_address_answers_the_same(open_signup, browser, world):
    browser.get("/signup")
    response = browser.post("/signup", {"email": world.requester.email, "name": "Someone"})
    assert response.status_code == 303
    assert User.get(User.email == world.requester.email).name == "Rita Requester"
    assert mails_to(world.requester.email) == []


def test_a_signed_in_browser_still_sees_the_pages(app, world):
    other = Browser(app.test_client())
    other.login(world.requester)
    assert other.get("/password/forgot").status_code == 200


def test_the_survey_page_is_a_portal_form_that_keeps_a_refused_answer(browser, world):
    ticket = world.ticket(status="open")
    tickets.assign(ticket.reference, "me", actor=world.agent)
    tickets.close_ticket(ticket.reference, actor=world.agent)
    [mail] = [m for m in mails_to(world.requester.email) if "/survey/" in m.raw]
    link = link_in(mail, "survey")
    browser.get(f"{link}?rating=4", headers={"Accept-Language": "it"})
    assert '<html lang="it">' in browser.page and "pico.min.css" in browser.page
    refused = browser.post(link, {"rating": "4", "comment": "Quick."}, csrf=False)
    assert refused.status_code == 400
    assert Ticket.get_by_id(ticket.id).satisfaction_rating is None
    wrong = browser.post(link, {"rating": "9", "comment": "Quick."})
    assert wrong.status_code == 422 and ">Quick.</textarea>" in browser.page
    done = browser.post(link, {"rating": "4", "comment": "Quick."})
    assert done.status_code == 200 and f"Your rating of {ticket.reference}: 4/5." in browser.page
    assert Ticket.get_by_id(ticket.id).satisfaction_rating == 4

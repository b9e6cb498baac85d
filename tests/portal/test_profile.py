"""The profile page and the password change in the portal."""

from __future__ import annotations

from conftest import PASSWORD, Browser

from helpdesk.models import ApiToken, User
from helpdesk.services import authentication

NEW_PASSWORD = "a-much-longer-secret-42"


def test_the_profile_form_shows_the_current_values(browser, world):
    browser.login(world.requester)
    response = browser.get("/profile")
    assert response.status_code == 200
    assert 'name="name" value="Rita Requester"' in browser.page
    for field in ("phone", "language", "date_format"):
        assert f'name="{field}"' in browser.page
    assert 'href="/profile/password"' in browser.page


def test_saving_the_profile_switches_the_pages_language_at_once(browser, world):
    browser.login(world.requester)
    browser.get("/profile")
    response = browser.post(
        "/profile",
        {"name": "Rita R.", "phone": "+39 02 1234", "language": "fr", "date_format": "eu"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/profile"
    browser.get("/profile")
    assert '<html lang="fr">' in browser.page
    assert "Votre profil a été enregistré." in browser.page  # the message in the new language
    assert 'name="name" value="Rita R."' in browser.page
    assert 'value="+39 02 1234"' in browser.page
    assert '<option value="eu" selected>' in browser.page
    user = User.get_by_id(world.requester.id)
    assert (user.name, user.language, user.date_format) == ("Rita R.", "fr", "eu")


def test_a_refused_profile_field_is_explained_and_nothing_is_saved(browser, world):
    browser.login(world.requester)
    browser.get("/profile")
    response = browser.post(
        "/profile",
        {"name": "Rita R.", "phone": "1\n2", "language": "fr", "date_format": "eu"},
    )
    assert response.status_code == 422
    assert 'id="phone-error"' in browser.page
    assert 'name="name" value="Rita R."' in browser.page  # what was typed is kept
    user = User.get_by_id(world.requester.id)
    assert (user.name, user.language) == ("Rita Requester", "en")


def test_profile_posts_without_csrf_are_refused(browser, world):
    browser.login(world.requester)
    response = browser.post(
        "/profile", {"name": "Forged", "language": "en", "date_format": "iso"}, csrf=False
    )
    assert response.status_code == 400
    assert User.get_by_id(world.requester.id).name == "Rita Requester"
    response = browser.post(
        "/profile/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
        csrf=False,
    )
    assert response.status_code == 400
    assert authentication.log_in(world.requester.email, PASSWORD)


def test_signed_out_visitors_are_sent_to_log_in(browser):
    for path in ("/profile", "/profile/password"):
        response = browser.get(path)
        assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, browser, world):
    browser.login(world.requester)
    other = Browser(app.test_client())
    other.login(world.requester)
    browser.get("/profile/password")
    response = browser.post(
        "/profile/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert response.status_code == 303, browser.page
    browser.get("/profile")
    assert "Your password was changed" in browser.page  # still signed in here
    other.get("/")
    assert 'name="password"' in other.page  # the other session is over
    assert ApiToken.select().where(ApiToken.user == world.requester).count() >= 1
    assert authentication.log_in(world.requester.email, NEW_PASSWORD)[0].id == world.requester.id


def test_a_wrong_current_password_or_a_weak_new_one_is_explained(browser, world):
    browser.login(world.requester)
    browser.get("/profile/password")
    wrong = browser.post(
        "/profile/password",
        {"current_password": "nope", "new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert wrong.status_code == 403 and 'id="current_password-error"' in browser.page
    differ = browser.post(
        "/profile/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirmation": "other"},
    )
    assert differ.status_code == 422 and 'id="confirmation-error"' in browser.page
    weak = browser.post(
        "/profile/password",
        {"current_password": PASSWORD, "new_password": "qwertyuiop", "confirmation": "qwertyuiop"},
    )
    assert weak.status_code == 422 and "too common" in browser.page
    assert authentication.log_in(world.requester.email, PASSWORD)  # unchanged


def test_repeated_wrong_current_passwords_are_throttled(browser, world):
    browser.login(world.requester)
    browser.get("/profile/password")
    statuses = [
        browser.post(
            "/profile/password",
            {
                "current_password": "nope",
                "new_password": NEW_PASSWORD,
                "confirmation": NEW_PASSWORD,
            },
        ).status_code
        for _ in range(7)
    ]
    assert statuses[0] == 403 and statuses[-1] == 429
    assert "Too many attempts" in browser.page


def test_accounts_signing_in_elsewhere_have_no_password_page(browser, world):
    browser.login(world.requester)
    User.update(auth_source="ldap").where(User.id == world.requester.id).execute()
    browser.get("/profile")
    assert 'href="/profile/password"' not in browser.page
    assert browser.get("/profile/password").status_code == 404
    response = browser.post(
        "/profile/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert response.status_code == 404

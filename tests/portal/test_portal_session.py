"""Signing in and out of the web portal, its cookie, CSRF, headers and error pages."""

from __future__ import annotations

from conftest import PASSWORD, Browser

from helpdesk.db import database
from helpdesk.models import ApiToken, User
from helpdesk.server import create_app
from helpdesk.services import users


def test_signed_out_home_is_a_login_form_in_the_browsers_language(browser):
    response = browser.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert '<html lang="fr">' in browser.page
    assert 'name="email"' in browser.page and 'name="password"' in browser.page
    assert 'name="csrf_token"' in browser.page


def test_login_sets_a_signed_httponly_lax_cookie_and_shows_home(browser, world):
    response = browser.login(world.requester)
    assert response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("helpdesk_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over plain HTTP here
    home = browser.get("/")
    assert "Rita Requester" in browser.page
    assert home.headers["Cache-Control"] == "no-store"


def test_wrong_password_is_refused_on_the_form_and_nothing_is_issued(app, browser, world):
    browser.login(world.agent)  # the agent has a password now; another browser guesses it
    guesser = Browser(app.test_client())
    response = guesser.post("/login", {"email": world.agent.email, "password": "wrong"})
    assert response.status_code == 401
    assert "Wrong email or password." in guesser.page
    assert world.agent.email in guesser.page  # the address is kept in the form
    with database.connection_context():
        assert ApiToken.select().where(ApiToken.user == world.agent).count() == 1


def test_a_deactivated_account_cannot_sign_in_and_its_session_ends(browser, world):
    browser.login(world.requester)
    with database.connection_context():
        users.set_active(world.requester.email, False, actor=world.admin)
    browser.get("/")
    assert 'name="password"' in browser.page  # signed out: the login form again
    response = browser.post("/login", {"email": world.requester.email, "password": PASSWORD})
    assert response.status_code == 401


def test_repeated_failures_are_throttled_like_the_api(browser, world):
    with database.connection_context():
        from helpdesk.services import passwords

        passwords.set_password(User.get_by_id(world.colleague.id), PASSWORD)
    statuses = [
        browser.post("/login", {"email": world.colleague.email, "password": "nope"}).status_code
        for _ in range(7)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429
    assert "try again in" in browser.page


def test_every_portal_post_without_the_csrf_token_is_refused(browser, world):
    browser.login(world.requester)
    response = browser.post("/logout", csrf=False)
    assert response.status_code == 400
    assert "Rita Requester" in browser.get("/").get_data(as_text=True)  # still signed in
    refused = browser.post("/login", {"email": world.agent.email, "password": PASSWORD}, csrf=False)
    assert refused.status_code == 400


def test_the_api_needs_no_csrf_token(client, world):
    from helpdesk.services import api_tokens

    with database.connection_context():
        token = api_tokens.issue_token(world.requester)
    response = client.post(
        "/api/v1/tickets",
        json={"type": "question", "title": "Still works"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201


def test_logout_revokes_the_session_token(browser, world):
    browser.login(world.requester)
    response = browser.post("/logout")
    assert response.status_code == 303
    with database.connection_context():
        portal_tokens = ApiToken.select().where(
            (ApiToken.user == world.requester) & (ApiToken.name == "portal")
        )
        assert [t.revoked_at is not None for t in portal_tokens] == [True]
    assert 'name="password"' in browser.get("/").get_data(as_text=True)


def test_next_only_leads_to_a_page_of_this_server(browser, world):
    with database.connection_context():
        from helpdesk.services import passwords

        passwords.set_password(User.get_by_id(world.shared.id), PASSWORD)
    for target, expected in (
        ("/profile", "/profile"),
        ("https://evil.test/", "/"),
        ("//evil.test", "/"),
    ):
        fresh = Browser(browser.client.application.test_client())
        response = fresh.post(
            "/login", {"email": world.shared.email, "password": PASSWORD, "next": target}
        )
        assert response.headers["Location"] == expected, target


def test_pages_carry_a_content_security_policy_and_no_framing(browser):
    response = browser.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_unknown_page_is_an_html_404_and_the_api_keeps_json(browser, client):
    page = browser.get("/no/such/page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "<html" in browser.page
    api = client.get("/api/v1/no/such/route")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_the_css_library_is_served_from_this_server(browser):
    response = browser.get("/static/pico/pico.min.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert b"Pico CSS" in response.data[:300]


def on_another_machine(monkeypatch, env) -> None:
    """The same database, another data directory."""
    from helpdesk.config import current_settings

    monkeypatch.setenv("HELPDESK_DATABASE", current_settings().database_url)
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(env / "another-machine"))


def test_the_secret_key_is_made_once_and_kept_in_the_database(app, env, monkeypatch):
    """Every server on one database signs cookies with one key, whatever its data directory."""
    from helpdesk.models import SharedSecret
    from helpdesk.server.portal.session import SECRET_FILE

    key = app.config["SECRET_KEY"]
    assert len(key) == 64 and int(key, 16) >= 0
    assert not (env / "data" / SECRET_FILE).exists()  # nothing of one machine's own
    on_another_machine(monkeypatch, env)
    assert create_app({"TESTING": True}).config["SECRET_KEY"] == key
    with database.connection_context():
        assert [s.value for s in SharedSecret.select()] == [key]


def test_an_earlier_versions_key_file_becomes_the_databases(env, monkeypatch):
    """Visitors signed in before the upgrade stay signed in: the data directory's key is kept."""
    from helpdesk.models import SharedSecret
    from helpdesk.server.portal.session import SECRET_FILE

    (env / "data").mkdir(exist_ok=True)
    (env / "data" / SECRET_FILE).write_text("an-earlier-key\n")
    assert create_app({"TESTING": True}).config["SECRET_KEY"] == "an-earlier-key"
    on_another_machine(monkeypatch, env)
    assert create_app({"TESTING": True}).config["SECRET_KEY"] == "an-earlier-key"
    with database.connection_context():
        assert SharedSecret.get().value == "an-earlier-key"


def test_helpdesk_secret_key_wins_over_the_kept_one(app, monkeypatch):
    monkeypatch.setenv("HELPDESK_SECRET_KEY", "set-by-the-operator")
    assert create_app({"TESTING": True}).config["SECRET_KEY"] == "set-by-the-operator"

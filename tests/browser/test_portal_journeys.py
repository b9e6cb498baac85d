"""The portal in a real browser: the journeys of the guides, end to end, against `helpdesk serve`.

Every test here also fails when the browser complained on a page it opened (a script error, or
something the Content-Security-Policy refused): see browsing.Site.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from browsing import Site, expect, fill_login, launched_chromium, screenshot_dir
from conftest import ON_POSTGRES, PASSWORD, helpdesk_serve

from helpdesk.services import catalog, contracts, passwords

pytestmark = [
    pytest.mark.browser,
    # What a browser adds (rendering, the CSP, cookies, downloads) does not depend on the
    # database, and tests/portal runs every page on both: the journeys run once, on SQLite.
    pytest.mark.skipif(ON_POSTGRES, reason="browser journeys run once, in the SQLite run"),
]

NAV = ["Home", "My requests", "Closed requests", "Create a request", "Profile"]


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for these tests; each person gets a fresh context in it."""
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def people(world):
    """The world's users (tests/conftest.py), each with the test password."""
    for user in (world.admin, world.agent, world.requester, world.colleague, world.power):
        passwords.set_password(user, PASSWORD)
    return world


@pytest.fixture
def catalogue(people):
    """The catalogue of the guides: Acme's contract covers E-mail (with a subcategory) and
    Printing."""
    admin = people.admin
    email = catalog.add_service("E-mail", actor=admin)
    catalog.add_subcategory(email.id, "Mailbox full", actor=admin)
    printing = catalog.add_service("Printing", actor=admin)
    contracts.add_contract(people.acme.id, [email.id, printing.id], actor=admin)
    return SimpleNamespace(email=email, printing=printing)


@pytest.fixture
def site(chromium, people, tmp_path):
    """`helpdesk serve` on the test's database and a free port; people ready to sign in."""
    # The env fixture's HELPDESK_* settings (data directory, database), no proxy.
    serve_env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    serve_env["NO_PROXY"] = "127.0.0.1,localhost"
    with helpdesk_serve(serve_env, tmp_path / "serve.log") as (url, _port, _health):
        running = Site(url, chromium, screenshot_dir(tmp_path))
        try:
            yield running
        finally:
            running.close()
    assert not running.problems, "the browser complained:\n" + "\n".join(running.problems)


def nav_links(page) -> list[str]:
    return [text.strip() for text in page.locator("header nav a").all_inner_texts()]


def test_a_customer_signs_in_sees_home_and_logs_out(site, people):
    page = site.sign_in(people.requester)
    expect(page.get_by_role("heading", name="Welcome, Rita Requester")).to_be_visible()
    assert nav_links(page) == ["helpdesk", *NAV]  # no queue for a customer
    assert "helpdesk_session" not in page.evaluate("document.cookie")  # HttpOnly
    site.screenshot(page, "customer-home")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.go_back()  # the page from before the logout is not kept (no-store): asked again
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_text("Rita Requester")).to_have_count(0)


def test_each_person_has_their_own_session(site, people):
    customer = site.sign_in(people.requester)
    agent = site.sign_in(people.agent)
    expect(agent.get_by_role("heading", name="Welcome, Andy Agent")).to_be_visible()
    assert nav_links(agent) == ["helpdesk", *NAV[:4], "Queue", "Profile"]

    agent.get_by_role("button", name="Log out").click()
    customer.reload()  # the agent's logout ended the agent's session only
    expect(customer.get_by_role("heading", name="Welcome, Rita Requester")).to_be_visible()


def test_a_wrong_password_is_said_on_the_form_which_keeps_the_address(site, people):
    page = site.open()
    fill_login(page, people.requester.email, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(people.requester.email)
    expect(page.get_by_label("Password")).to_have_value("")


def test_a_french_browser_gets_the_login_page_in_french(site, people):
    page = site.open(locale="fr-FR")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_label("E-mail").fill(people.requester.email)
    page.get_by_label("Mot de passe").fill("pas le mot de passe")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_have_text("E-mail ou mot de passe incorrect.")

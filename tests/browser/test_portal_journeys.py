"""The portal in a real browser: the journeys of the guides, end to end, against `helpdesk serve`.

Every test here also fails when the browser complained on a page it opened (a script error, or
something the Content-Security-Policy refused): see browsing.Site.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from browsing import Site, expect, fill_login, launched_chromium, screenshot_dir
from conftest import ON_POSTGRES, PASSWORD, helpdesk_serve, loopback_environment

from helpdesk.db import database
from helpdesk.services import catalog, contracts, passwords, tickets

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
    catalog.add_subcategory(email.name, "Mailbox full", actor=admin)
    printing = catalog.add_service("Printing", actor=admin)
    contracts.add_contract(people.acme.name, [email.name, printing.name], actor=admin)
    return SimpleNamespace(email=email, printing=printing)


@pytest.fixture
def site(chromium, people, tmp_path):
    """`helpdesk serve` on the test's database and a free port; people ready to sign in."""
    # The env fixture's HELPDESK_* settings (data directory, database), no proxy.
    serve_env = loopback_environment()
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


def test_a_page_behind_the_login_comes_back_after_signing_in(site, people):
    page = site.open()
    page.goto("/requests/closed?reference=HD-1")
    fill_login(page, people.requester.email, PASSWORD)
    page.wait_for_url("**/requests/closed?reference=HD-1")
    expect(page.get_by_label("Reference")).to_have_value("HD-1")


def test_a_french_browser_gets_the_login_page_in_french(site, people):
    page = site.open(locale="fr-FR")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_label("E-mail").fill(people.requester.email)
    page.get_by_label("Mot de passe").fill("pas le mot de passe")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_have_text("E-mail ou mot de passe incorrect.")


def file_through_the_wizard(page, title: str, attachment) -> None:
    """The customer's wizard: incident, E-mail, Mailbox full, the form with one file."""
    page.get_by_role("link", name="Create a request").click()
    page.get_by_label("incident").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("E-mail").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Mailbox full").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill("Since this morning nothing arrives.")
    page.get_by_label("Impact").select_option("high")
    page.locator('input[type="file"][name="file"]').set_input_files(str(attachment))


def agent_sets_status(page, to: str, comment: str = "") -> None:
    page.get_by_label("Change the status").select_option(to)
    if comment:
        page.get_by_label("Comment (optional, sent to the customer)").fill(comment)
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("strong.status")).to_have_text(to)


def test_a_request_goes_from_the_wizard_to_closed_with_a_rating(site, people, catalogue, tmp_path):
    """The guides' main journey: wizard with an attachment, answer, resolve, reopen, resolve,
    close with a rating, then the closed-request search finds it by reference and by date."""
    log = tmp_path / "printer.log"
    log.write_text("mailbox quota exceeded\n")
    customer = site.sign_in(people.requester)
    file_through_the_wizard(customer, "Mailbox says it is full", log)
    site.screenshot(customer, "wizard")
    customer.get_by_role("button", name="Create the request").click()
    customer.wait_for_url("**/requests/HD-1")
    expect(customer.get_by_role("status")).to_have_text("Request HD-1 was created.")
    expect(customer.get_by_role("heading", name="HD-1: Mailbox says it is full")).to_be_visible()
    with customer.expect_download() as download:
        customer.get_by_role("link", name="printer.log").first.click()
    assert Path(download.value.path()).read_text() == "mailbox quota exceeded\n"

    agent = site.sign_in(people.agent)
    agent.get_by_role("link", name="Queue").click()
    row = agent.get_by_role("row").filter(has_text="HD-1")
    expect(row).to_contain_text("Mailbox says it is full")
    expect(row).to_contain_text("Unassigned")
    site.screenshot(agent, "agent-queue")
    row.get_by_role("link", name="HD-1").click()
    agent.get_by_role("button", name="Assign to me").click()
    agent.get_by_label("Reply or internal note").fill("Please empty the Deleted Items folder.")
    agent.get_by_role("button", name="Send").first.click()
    agent.get_by_label("Reply or internal note").fill("Acme is on the small mailbox plan.")
    agent.get_by_label("Internal note (never shown to the customer)").check()
    agent.get_by_role("button", name="Send").first.click()
    expect(agent.get_by_text("Acme is on the small mailbox plan.")).to_be_visible()
    expect(agent.locator("strong.status")).to_have_text("open")  # taken in hand
    agent_sets_status(agent, "resolved")

    customer.reload()
    expect(customer.get_by_text("Please empty the Deleted Items folder.")).to_be_visible()
    expect(customer.get_by_text("Acme is on the small mailbox plan.")).to_have_count(0)
    expect(customer.locator("strong.status")).to_have_text("resolved")
    site.screenshot(customer, "request")
    customer.get_by_label("Why do you reopen it?").fill("Still full after emptying it.")
    customer.get_by_role("button", name="Reopen").click()
    expect(customer.locator("strong.status")).to_have_text("open")
    expect(customer.get_by_text("Still full after emptying it.")).to_be_visible()
    customer.get_by_role("link", name="Home").click()
    expect(customer.locator('a[data-status="open"][data-scope="mine"]')).to_have_text("1")
    site.screenshot(customer, "customer-home")
    customer.goto("/requests/HD-1")

    agent.reload()
    expect(agent.get_by_text("Still full after emptying it.")).to_be_visible()
    agent_sets_status(agent, "resolved", "Quota raised to 10 GB.")

    customer.reload()
    customer.get_by_label("4", exact=True).check()
    customer.get_by_label("Comment", exact=True).first.fill("Fast and friendly.")
    customer.get_by_role("button", name="Close", exact=True).click()
    expect(customer.locator("strong.status")).to_have_text("closed")
    expect(customer.get_by_text("A closed request cannot be reopened")).to_be_visible()
    expect(customer.get_by_text("Your rating: 4 out of 5")).to_be_visible()
    expect(customer.get_by_role("button", name="Reopen")).to_have_count(0)

    customer.get_by_role("link", name="Closed requests").click()
    customer.get_by_label("Reference").fill("HD-1")
    customer.get_by_role("button", name="Search").click()
    expect(customer.get_by_role("row").filter(has_text="HD-1")).to_contain_text("closed")
    today = datetime.now(UTC).date()
    search = customer.get_by_role("search")
    search.get_by_label("Reference").fill("")
    search.get_by_label("Closed from").fill(today.isoformat())
    search.get_by_label("Closed to").fill(today.isoformat())
    search.get_by_role("button", name="Search").click()
    expect(customer.get_by_role("row").filter(has_text="HD-1")).to_be_visible()
    search.get_by_label("Closed from").fill((today - timedelta(days=30)).isoformat())
    search.get_by_label("Closed to").fill((today - timedelta(days=1)).isoformat())
    search.get_by_role("button", name="Search").click()
    expect(customer.get_by_text("No requests.")).to_be_visible()


def test_a_power_user_sees_a_colleagues_request_but_not_the_private_one(site, people):
    with database.connection_context():
        tickets.submit_ticket(
            actor=people.colleague, type="question", title="Where is the VPN guide?"
        )
        tickets.submit_ticket(
            actor=people.colleague, type="incident", title="My payslip is wrong", private=True
        )
    power = site.sign_in(people.power)
    power.goto("/requests?scope=organization")
    expect(power.get_by_role("link", name="Where is the VPN guide?")).to_be_visible()
    expect(power.get_by_text("My payslip is wrong")).to_have_count(0)
    power.goto("/requests/HD-2")
    expect(power.get_by_role("heading", name="Not found")).to_be_visible()
    expect(power.get_by_text("My payslip is wrong")).to_have_count(0)


def test_the_profile_language_switches_the_pages_to_french(site, people):
    page = site.sign_in(people.requester)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="Profile").click()
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/profile")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.goto("/")  # every page, not only the profile's
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("link", name="Mes demandes")).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()

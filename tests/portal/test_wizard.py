"""The create-a-request wizard at /requests/new: steps as GETs, one POST through submit_ticket."""

from __future__ import annotations

import io

import pytest

from helpdesk.db import database
from helpdesk.models import Membership, Ticket
from helpdesk.services import catalog, contracts, priorities, tickets


@pytest.fixture
def offered(world):
    """Acme's contract covers Audio matching (called "Matching" by Acme); Billing is not in it."""
    admin = world.admin
    matching = catalog.add_service("Audio matching", actor=admin, types="incident,question")
    catalog.add_subcategory("Audio matching", "Data delivery", actor=admin)
    catalog.add_subcategory("Audio matching", "Portal access", actor=admin)
    catalog.add_service("Billing", actor=admin)
    contracts.add_contract("Acme", ["Audio matching=Matching"], actor=admin, starts_on="2020-01-01")
    return matching


def subcategory_id(service, name: str) -> str:
    return str(next(s.id for s in catalog.active_subcategories(service) if s.name == name))


def form_step(browser, **choices):
    query = "&".join(f"{k}={v}" for k, v in choices.items())
    response = browser.get(f"/requests/new?{query}")
    assert response.status_code == 200
    return response


def test_signed_out_visitors_are_sent_to_the_login_page(browser):
    response = browser.get("/requests/new?type=incident")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/requests/new")


def test_the_steps_offer_the_type_then_the_contracts_services_then_subcategories(
    browser, world, offered
):
    browser.login(world.requester)
    browser.get("/requests/new")
    for type in ("incident", "feature", "question"):
        assert f'name="type" value="{type}"' in browser.page
    assert 'name="title"' not in browser.page

    browser.get("/requests/new?type=incident")
    assert "Matching" in browser.page  # the contract's name for it, not the catalogue's
    assert "Audio matching" not in browser.page and "Billing" not in browser.page
    assert f'name="service" value="{offered.id}"' in browser.page
    assert 'name="type" value="incident"' in browser.page  # the choice so far, carried along

    browser.get(f"/requests/new?type=incident&service={offered.id}")
    assert "Data delivery" in browser.page and "Portal access" in browser.page
    assert 'name="title"' not in browser.page

    sub = subcategory_id(offered, "Portal access")
    browser.get(f"/requests/new?type=incident&service={offered.id}&subcategory={sub}")
    assert 'name="title"' in browser.page and 'name="description"' in browser.page
    assert 'name="impact"' in browser.page and 'name="urgency"' in browser.page
    assert 'name="priority"' not in browser.page
    assert 'type="file" name="file" multiple' in browser.page
    assert 'name="requester"' not in browser.page  # customers file for themselves
    assert 'name="organization"' not in browser.page  # Rita belongs to Acme only


def test_a_service_another_contract_does_not_cover_is_not_a_way_past_the_step(
    browser, world, offered
):
    billing = catalog.get_service("Billing")
    browser.login(world.requester)
    browser.get(f"/requests/new?type=incident&service={billing.id}")
    assert 'name="title"' not in browser.page and "Billing" not in browser.page


def test_submitting_creates_the_request_with_its_attachments_and_redirects(browser, world, offered):
    browser.login(world.requester)
    sub = subcategory_id(offered, "Data delivery")
    form_step(browser, type="incident", service=offered.id, subcategory=sub)
    response = browser.post(
        "/requests/new",
        {
            "type": "incident",
            "service": str(offered.id),
            "subcategory": sub,
            "title": "Files are late",
            "description": "Since Monday.",
            "impact": "high",
            "urgency": "high",
            "file": [(io.BytesIO(b"log one"), "one.log"), (io.BytesIO(b"log two"), "two.log")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, browser.page
    ticket = Ticket.get(Ticket.title == "Files are late")
    assert response.headers["Location"] == f"/requests/{ticket.reference}"
    assert ticket.requester_id == world.requester.id
    assert ticket.service_id == offered.id and ticket.subcategory.name == "Data delivery"
    assert ticket.priority == "critical"  # high x high, by the matrix
    names = sorted(a.filename for a in tickets.visible_attachments(ticket, world.requester))
    assert names == ["one.log", "two.log"]
    browser.get("/")
    assert f"Request {ticket.reference} was created." in browser.page


def test_a_refused_field_is_explained_next_to_the_form_and_the_input_kept(browser, world):
    browser.login(world.requester)
    form_step(browser, type="question")
    response = browser.post(
        "/requests/new",
        {"type": "question", "title": "   ", "description": "What is my <quota>?"},
    )
    assert response.status_code == 422
    assert 'id="title-error"' in browser.page and "title" in browser.page
    assert "What is my &lt;quota&gt;?" in browser.page  # kept, and escaped
    assert Ticket.select().count() == 0


def test_the_form_asks_for_a_priority_only_where_the_type_asks_for_one(browser, world):
    priorities.set_type_policy(
        "feature", "priority", "low", actor=world.admin, choices=["low", "medium"]
    )
    priorities.set_type_policy("question", "nothing", "low", actor=world.admin)
    browser.login(world.requester)
    form_step(browser, type="feature")
    assert 'name="priority"' in browser.page and 'name="impact"' not in browser.page
    assert 'value="medium"' in browser.page and 'value="critical"' not in browser.page
    form_step(browser, type="question")
    assert 'name="priority"' not in browser.page and 'name="impact"' not in browser.page

    refused = browser.post(
        "/requests/new", {"type": "feature", "title": "Dark mode", "priority": "critical"}
    )
    assert refused.status_code == 422 and 'id="priority-error"' in browser.page
    assert 'value="Dark mode"' in browser.page
    done = browser.post(
        "/requests/new", {"type": "feature", "title": "Dark mode", "priority": "medium"}
    )
    assert done.status_code == 303
    assert Ticket.get(Ticket.title == "Dark mode").priority == "medium"


def test_a_customer_of_several_organizations_chooses_one(browser, world):
    Membership.create(user=world.requester, organization=world.globex, role="user")
    browser.login(world.requester)
    form_step(browser, type="question")
    assert 'name="organization"' in browser.page
    assert '<option value="Acme">' in browser.page and '<option value="Globex">' in browser.page
    missing = browser.post("/requests/new", {"type": "question", "title": "Which one?"})
    assert missing.status_code == 422 and 'id="organization-error"' in browser.page
    done = browser.post(
        "/requests/new", {"type": "question", "title": "Which one?", "organization": "Globex"}
    )
    assert done.status_code == 303
    assert Ticket.get(Ticket.title == "Which one?").organization_id == world.globex.id


def test_agents_file_on_behalf_of_a_requester(browser, world):
    browser.login(world.agent)
    form_step(browser, type="incident")
    assert 'name="requester"' in browser.page
    unknown = browser.post(
        "/requests/new",
        {"type": "incident", "title": "Phone call", "requester": "nobody@acme.test"},
    )
    assert unknown.status_code == 422 and 'id="requester-error"' in browser.page
    assert 'value="nobody@acme.test"' in browser.page
    done = browser.post(
        "/requests/new",
        {"type": "incident", "title": "Phone call", "requester": world.requester.email},
    )
    assert done.status_code == 303
    with database.connection_context():
        assert Ticket.get(Ticket.title == "Phone call").requester_id == world.requester.id


def test_a_customer_cannot_file_for_someone_else(browser, world):
    browser.login(world.requester)
    response = browser.post(
        "/requests/new",
        {"type": "incident", "title": "For Carl", "requester": world.colleague.email},
    )
    assert response.status_code == 403
    assert Ticket.select().count() == 0


def test_posting_without_the_csrf_token_is_refused_and_files_nothing(browser, world):
    browser.login(world.requester)
    response = browser.post("/requests/new", {"type": "incident", "title": "Forged"}, csrf=False)
    assert response.status_code == 400
    assert Ticket.select().count() == 0


@pytest.mark.parametrize("path", ["/login", "/requests/new"])
def test_unstorable_text_is_refused_on_a_page_not_a_crash(browser, world, path):
    """A lone surrogate (quoted by the refusal) once made the error page itself fail to encode."""
    browser.login(world.requester)
    response = browser.client.post(
        path, data='{"\\ud800": "a key"}', content_type="application/json"
    )
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert "cannot be stored" in response.get_data(as_text=True)


def test_a_refusal_about_a_field_the_form_does_not_show_is_said_above_it(browser, world):
    priorities.set_type_policy("question", "nothing", "low", actor=world.admin)
    browser.login(world.requester)
    form_step(browser, type="question")
    response = browser.post(
        "/requests/new", {"type": "question", "title": "Quota?", "impact": "high"}
    )
    assert response.status_code == 422
    assert '<p class="error" role="alert">' in browser.page and "not impact" in browser.page
    assert 'value="Quota?"' in browser.page


def test_the_wizard_speaks_the_users_language_values_too(browser, world):
    with database.connection_context():
        from helpdesk.services import profile

        profile.update_profile(world.requester, language="fr")
    browser.login(world.requester)
    browser.get("/requests/new")
    assert '<html lang="fr">' in browser.page and "De quoi avez-vous besoin ?" in browser.page
    assert 'value="feature" required> évolution</label>' in browser.page  # a stored word too

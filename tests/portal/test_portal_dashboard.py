"""The home page's dashboard shows the dashboard service's figures: an agent's by status and
priority, unassigned and breaching, each a link to the queue; labels in the visitor's language."""

from __future__ import annotations

import re
from datetime import datetime

from helpdesk.db import database
from helpdesk.services import catalog, contracts, dashboard, profile, sla, tickets


def test_an_agent_home_shows_the_agents_figures_with_links_to_the_queue(browser, world, clock):
    clock.freeze(datetime(2026, 11, 30, 8, 0))
    with database.connection_context():
        sla.add_policy("Gold", ["low:1h:8h", "medium:1h:8h", "high:1h:8h"], actor=world.admin)
        catalog.add_service("Audio matching", actor=world.admin)
        contracts.add_contract("Acme", ["Audio matching"], actor=world.admin, sla="Gold")
        for title in ("One", "Two", "Three"):
            tickets.submit_ticket(
                actor=world.requester, type="incident", title=title, service="Audio matching"
            )
        tickets.edit_ticket("HD-2", {"priority": "high"}, actor=world.agent)
        tickets.assign("HD-3", "me", actor=world.agent)
        clock.advance(hours=2)  # HD-1 and HD-2 have no response yet: both breach
        figures = dashboard.dashboard(actor=world.agent)
    browser.login(world.agent)
    browser.get("/")
    page = browser.page
    cells = re.findall(
        r'<a href="/queue\?status=(\w+)&amp;priority=(\w+)" data-status="\w+" '
        r'data-priority="\w+">(\d+)</a>',
        page,
    )
    shown = {(status, priority): int(n) for status, priority, n in cells}
    assert shown == {
        (s, p): n
        for s, row in figures["agent"]["by_status_priority"].items()
        for p, n in row.items()
    }
    assert shown[("new", "medium")] == 1 and shown[("new", "high")] == 1
    assert shown[("open", "medium")] == 1
    unassigned = re.findall(r'unassigned=true" data-status="(\w+)" data-unassigned>(\d+)<', page)
    assert dict(unassigned) == {"new": "2", "open": "0", "pending": "0", "resolved": "0"}
    assert '<p data-breaching="2">Breaching an SLA target: 2</p>' in page
    assert "<strong>Assigned to me</strong>" in page and "<strong>My requests</strong>" not in page
    assert (
        'href="/queue?scope=mine&amp;status=open" data-status="open" data-scope="mine">1<' in page
    )


def test_a_customer_home_has_no_agent_figures(browser, world):
    with database.connection_context():
        tickets.submit_ticket(actor=world.requester, type="incident", title="One")
    browser.login(world.requester)
    browser.get("/")
    assert "<strong>My requests</strong>" in browser.page
    assert "agent-dashboard" not in browser.page and "data-breaching" not in browser.page


def test_the_dashboards_labels_are_in_the_visitors_language(browser, world):
    with database.connection_context():
        tickets.submit_ticket(
            actor=world.agent, type="incident", title="Un", requester="req@acme.test"
        )
        profile.update_profile(world.agent, language="fr")
    browser.login(world.agent)
    browser.get("/")
    assert '<html lang="fr">' in browser.page
    assert "Assignés à moi" in browser.page and "Non assignés" in browser.page
    assert '<th scope="col">haute</th>' in browser.page
    assert '<th scope="row">nouveau</th>' in browser.page

"""The agent pages: the queue at /queue and the agent controls of the request page.

The controls are the template portal/request_agent.html, which the request page includes for
agents only; `controls` fetches the request page. Their forms post to
/requests/HD-n/{note,assign,status,edit} and come back to the request page with a flash
message, which any page shows next (here: the queue).
"""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from conftest import Browser

from helpdesk.db import database
from helpdesk.models import Comment, Ticket
from helpdesk.services import catalog, contracts, sla, tickets

AGENT_ROUTES = ("note", "assign", "status", "edit")
# A valid form for each route, as an agent would send it.
FORMS = {
    "note": {"body": "Have you tried another cable?"},
    "assign": {"assignee": "me"},
    "status": {"to": "closed"},
    "edit": {"priority": "critical"},
}


def controls(app, browser, ticket) -> str:
    """The request page as the browser's visitor sees it (for an agent: with the controls)."""
    response = browser.get(f"/requests/{ticket.reference}")
    assert response.status_code == 200, browser.page
    return browser.page


def flashed(browser) -> str:
    """The flash messages the next page shows (the queue page, for an agent)."""
    browser.get("/queue")
    return " ".join(re.findall(r'<article class="flash[^"]*"[^>]*>(.*?)</article>', browser.page))


def reload(ticket) -> Ticket:
    with database.connection_context():
        return Ticket.get_by_id(ticket.id)


def events(ticket, world) -> list[tuple[str, str | None, str | None]]:
    """The ticket's history as an agent sees it: (kind, from, to)."""
    with database.connection_context():
        seen = tickets.visible_events(reload(ticket), world.agent)
        return [(e.kind, e.from_value, e.to_value) for e in seen]


def rows(page: str) -> list[str]:
    """The references the queue lists, in order."""
    return re.findall(r'<td><a href="/requests/(HD-\d+)">', page)


# -- the queue --------------------------------------------------------------------------------


def test_the_queue_lists_tickets_with_links_for_agents(browser, world):
    ticket = world.ticket(title="Printer on fire")
    browser.login(world.agent)
    response = browser.get("/queue")
    assert response.status_code == 200
    assert rows(browser.page) == [ticket.reference]
    assert f'href="/requests/{ticket.reference}"' in browser.page
    assert "Printer on fire" in browser.page and "Acme" in browser.page
    assert '<a href="/queue">' in browser.page  # the nav offers the queue to agents
    for name in ("status", "type", "organization", "service", "q", "scope", "unassigned"):
        assert f'name="{name}"' in browser.page


def test_the_queue_filters_speak_the_agents_language(browser, world):
    world.agent.language = "fr"
    world.agent.save()
    browser.login(world.agent)
    browser.get("/queue")
    # The vocabulary's words, in their context: "open" the status, "question" the type.
    assert '<option value="open" >ouvert</option>' in browser.page
    assert '<option value="feature" >évolution</option>' in browser.page


def test_customers_are_refused_the_queue_and_visitors_sent_to_log_in(browser, world):
    world.ticket()
    browser.login(world.power)
    response = browser.get("/queue")
    assert response.status_code == 403
    assert "Only agents work on tickets." in browser.page
    assert "/queue" not in browser.get("/").get_data(as_text=True)  # not in the nav either
    signed_out = browser.client.post("/logout", data={"csrf_token": browser.csrf()})
    assert signed_out.status_code == 303
    response = browser.get("/queue?status=open")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/queue")


def test_queue_filters_are_the_apis(browser, world):
    new = world.ticket(title="Blank pages")
    mine = world.ticket(title="Paper jam", status="open", type="question")
    theirs = tickets.submit_ticket(actor=world.other_power, type="incident", title="Globex down")
    tickets.assign(mine.reference, "me", actor=world.agent)
    browser.login(world.agent)

    def listed(query: str) -> list[str]:
        response = browser.get(f"/queue?{query}")
        assert response.status_code == 200, browser.page
        return rows(browser.page)

    assert set(listed("")) == {new.reference, mine.reference, theirs.reference}
    assert listed("status=open") == [mine.reference]
    assert set(listed("unassigned=true")) == {new.reference, theirs.reference}
    assert listed("scope=mine") == [mine.reference]
    assert listed("organization=Globex") == [theirs.reference]
    assert listed("type=question") == [mine.reference]
    assert listed("q=blank") == [new.reference]
    assert listed("organization=Acme&unassigned=true") == [new.reference]
    assert listed("q=nothing+like+this") == []
    assert "No ticket matches these filters." in browser.page


def test_queue_filters_by_priority_people_and_dates(browser, world, clock):
    old = world.ticket(title="Old one")
    clock.advance(days=2)
    urgent = tickets.submit_ticket(actor=world.colleague, type="incident", title="Urgent")
    tickets.edit_ticket(urgent.reference, {"priority": "critical"}, actor=world.agent)
    tickets.assign(urgent.reference, "me", actor=world.agent)
    browser.login(world.agent)
    day = clock.now().date().isoformat()

    def listed(query: str) -> list[str]:
        response = browser.get(f"/queue?{query}")
        assert response.status_code == 200, browser.page
        return rows(browser.page)

    assert listed("priority=critical") == [urgent.reference]
    assert listed("requester=req%40acme.test") == [old.reference]
    assert listed("assignee=agent%40example.test") == [urgent.reference]
    assert listed(f"from={day}") == [urgent.reference]
    assert listed(f"to={day}") == [urgent.reference, old.reference]
    assert listed(f"updated_since={day}") == [urgent.reference]
    assert 'value="critical" selected' in (browser.get("/queue?priority=critical") and browser.page)
    summary = re.search(r'<a href="([^"]+)">Summary</a>', browser.page).group(1)
    browser.get(summary.replace("&amp;", "&"))
    assert rows(browser.page) == [urgent.reference]


def test_a_bad_filter_is_said_on_the_queue_with_the_filters_kept(browser, world):
    browser.login(world.agent)
    response = browser.get("/queue?organization=Initech&q=printer")
    assert response.status_code == 422
    assert "No organization named &#39;Initech&#39;." in browser.page
    assert 'value="printer"' in browser.page
    response = browser.get("/queue?sort=colour")
    assert response.status_code == 422
    assert "sort must be one of: reference, priority, status, updated, created" in browser.page


def test_queue_columns_sort_both_ways_and_keep_the_filters(browser, world, clock):
    made = {}
    for priority in ("medium", "critical", "low"):
        ticket = world.ticket(title=priority)
        tickets.edit_ticket(ticket.reference, {"priority": priority}, actor=world.agent)
        made[priority] = ticket.reference
        clock.advance(minutes=1)
    browser.login(world.agent)
    browser.get("/queue?status=new")
    link = re.search(r'<a href="([^"]+)">Priority</a>', browser.page).group(1)
    assert link == "/queue?status=new&amp;sort=priority"
    browser.get(link.replace("&amp;", "&"))
    assert rows(browser.page) == [made["critical"], made["medium"], made["low"]]
    flipped = re.search(r'<a href="([^"]+)">Priority</a>', browser.page).group(1)
    assert flipped == "/queue?status=new&amp;sort=priority&amp;dir=asc"
    browser.get(flipped.replace("&amp;", "&"))
    assert rows(browser.page) == [made["low"], made["medium"], made["critical"]]
    browser.get("/queue?sort=reference")
    assert rows(browser.page) == [made["medium"], made["critical"], made["low"]]
    browser.get("/queue?sort=created&dir=asc")
    assert rows(browser.page) == [made["medium"], made["critical"], made["low"]]


def test_queue_pages(browser, world):
    made = [
        tickets.submit_ticket(actor=world.requester, type="incident", title=f"Ticket {i}")
        for i in range(27)
    ]
    browser.login(world.agent)
    browser.get("/queue?type=incident")
    assert len(rows(browser.page)) == 25 and "27 tickets" in browser.page
    assert "Page 1 of 2" in browser.page
    following = re.search(r'<a href="([^"]+)" rel="next">', browser.page).group(1)
    assert following == "/queue?type=incident&amp;page=2"
    browser.get(following.replace("&amp;", "&"))
    assert rows(browser.page) == [made[1].reference, made[0].reference]
    assert 'rel="prev"' in browser.page and 'rel="next"' not in browser.page


@pytest.fixture
def gold(world):
    """Acme's contract for "Audio matching" under an around-the-clock policy: 1h response."""
    sla.add_policy("Gold", ["critical:1h:4h", "high:1h:4h", "medium:1h:4h"], actor=world.admin)
    catalog.add_service("Audio matching", actor=world.admin)
    contracts.add_contract("Acme", ["Audio matching"], actor=world.admin, sla="Gold")
    return world


def test_queue_shows_sla_due_times_and_breaches(browser, gold, clock):
    clock.freeze(datetime(2026, 11, 27, 9, 0))
    world = gold
    late = tickets.submit_ticket(
        actor=world.requester, type="incident", title="Late", service="Audio matching"
    )
    clock.advance(minutes=30)
    soon = tickets.submit_ticket(
        actor=world.requester, type="incident", title="Soon", service="Audio matching"
    )
    clock.advance(minutes=45)  # 09:75: the first one's response is 15 minutes overdue
    browser.login(world.agent)
    browser.get("/queue?sort=reference")
    assert rows(browser.page) == [late.reference, soon.reference]
    late_row, soon_row = re.findall(r"<tr>\s*<td><a.*?</tr>", browser.page, re.S)
    assert "Response overdue since 2026-11-27 10:00" in late_row
    assert 'class="sla-breaching"' in late_row
    assert "Response due 2026-11-27 10:30" in soon_row
    assert "Resolution due 2026-11-27 13:30" in soon_row
    assert "overdue" not in soon_row
    # A clock that stopped is not shown: answered, the late one waits on its resolution only;
    # resolved, the other one has nothing left to count.
    tickets.add_comment(late.reference, "Looking into it.", actor=world.agent)
    tickets.change_status(soon.reference, "open", actor=world.agent)
    tickets.change_status(soon.reference, "resolved", actor=world.agent)
    browser.get("/queue?sort=reference")
    late_row, soon_row = re.findall(r"<tr>\s*<td><a.*?</tr>", browser.page, re.S)
    assert "Response" not in late_row and "Resolution due 2026-11-27 13:00" in late_row
    assert "due" not in soon_row and "overdue" not in soon_row


# -- the controls on the request page ---------------------------------------------------------


def test_controls_offer_every_agent_action_with_the_apis_field_names(app, browser, world):
    ticket = world.ticket()
    browser.login(world.agent)
    page = controls(app, browser, ticket)
    for route in AGENT_ROUTES:
        assert f'action="/requests/{ticket.reference}/{route}"' in page
    for field in ("body", "internal", "file", "assignee", "to", "comment", "priority"):
        assert f'name="{field}"' in page
    for field in ("type", "service", "subcategory", "csrf_token"):
        assert f'name="{field}"' in page
    assert 'enctype="multipart/form-data"' in page
    # The moves the workflow allows an agent from new: open and closed, nothing else.
    offered = re.findall(
        r'<option value="(\w+)"\s*>', page.split('name="to"')[1].split("</select>")[0]
    )
    assert offered == ["open", "closed"]
    assert "Assign to me" in page


def test_customers_see_no_agent_controls_on_their_request_page(browser, world):
    ticket = world.ticket()
    browser.login(world.requester)
    page = browser.get(f"/requests/{ticket.reference}")
    assert page.status_code == 200
    assert "Agent controls" not in browser.page
    assert 'name="internal"' not in browser.page and "/assign" not in browser.page
    agent = Browser(browser.client.application.test_client())
    agent.login(world.agent)
    agent.get(f"/requests/{ticket.reference}")
    assert "Agent controls" in agent.page and 'name="internal"' in agent.page


def test_a_closed_ticket_offers_no_change(app, browser, world):
    ticket = world.ticket(status="closed")
    browser.login(world.agent)
    page = controls(app, browser, ticket)
    assert "its status cannot change any more" in page
    assert f'/requests/{ticket.reference}/status"' not in page
    assert f'/requests/{ticket.reference}/edit"' not in page


def test_a_reply_reaches_the_customer_and_an_internal_note_does_not(browser, world):
    ticket = world.ticket(status="open")
    browser.login(world.agent)
    response = browser.post(
        f"/requests/{ticket.reference}/note",
        {"body": "Try the other tray.", "file": (io.BytesIO(b"steps"), "steps.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/requests/{ticket.reference}"
    browser.post(
        f"/requests/{ticket.reference}/note",
        {"body": "Customer's printer is ancient.", "internal": "true"},
    )
    assert flashed(browser) == "Internal note added."
    with database.connection_context():
        seen = tickets.visible_comments(reload(ticket), world.requester)
        assert [c.body for c in seen] == ["Try the other tray."]
        files = tickets.visible_attachments(reload(ticket), world.requester)
        assert [a.filename for a in files] == ["steps.txt"]
        agents = tickets.visible_comments(reload(ticket), world.agent)
        assert [(c.body, c.visibility) for c in agents][1] == (
            "Customer's printer is ancient.",
            "internal",
        )
    kinds = [kind for kind, _, _ in events(ticket, world)]
    assert kinds[-3:] == ["comment", "attachment", "internal_note"]


def test_each_post_says_what_it_did(browser, world):
    ticket = world.ticket()
    browser.login(world.agent)
    browser.post(f"/requests/{ticket.reference}/note", {"body": "On it.", "internal": "true"})
    assert flashed(browser) == "Internal note added."
    browser.post(f"/requests/{ticket.reference}/note", {"body": "On it."})
    assert flashed(browser) == "Reply sent."


def test_assign_to_me_and_to_another_agent_by_email(browser, world):
    ticket = world.ticket()
    browser.login(world.admin)
    browser.post(f"/requests/{ticket.reference}/assign", {"assignee": "me"})
    assert flashed(browser) == f"{ticket.reference} is assigned to Ada Admin."
    browser.post(f"/requests/{ticket.reference}/assign", {"assignee": world.agent.email})
    assert flashed(browser) == f"{ticket.reference} is assigned to Andy Agent."
    assert reload(ticket).assignee_id == world.agent.id
    assert reload(ticket).status == "open"  # assigning a new ticket puts it in work
    assert ("assigned", "admin@example.test", "agent@example.test") in events(ticket, world)
    assert ("status", "new", "open") in events(ticket, world)


def test_assigning_a_customer_is_refused_with_the_cores_message_and_the_input_kept(
    app, browser, world
):
    ticket = world.ticket()
    browser.login(world.agent)
    response = browser.post(
        f"/requests/{ticket.reference}/assign", {"assignee": world.requester.email}
    )
    assert response.status_code == 303
    page = controls(app, browser, ticket)
    assert f'value="{world.requester.email}"' in page  # the draft, shown once
    assert f'value="{world.requester.email}"' not in controls(app, browser, ticket)
    browser.post(f"/requests/{ticket.reference}/assign", {"assignee": world.requester.email})
    assert flashed(browser) == "req@acme.test is a customer; tickets are assigned to agents."
    assert reload(ticket).assignee_id is None


def test_status_changes_with_a_comment_and_refusals_keep_the_comment(app, browser, world):
    ticket = world.ticket(status="open")
    browser.login(world.agent)
    browser.post(
        f"/requests/{ticket.reference}/status", {"to": "resolved", "comment": "Cable replaced."}
    )
    assert flashed(browser) == f"{ticket.reference} is now resolved."
    assert reload(ticket).status == "resolved"
    assert ("status", "open", "resolved") in events(ticket, world)
    with database.connection_context():
        assert [c.body for c in tickets.visible_comments(reload(ticket), world.requester)] == [
            "Cable replaced."
        ]
    # Reopening needs a comment saying why: the core's message, and nothing changes.
    browser.post(f"/requests/{ticket.reference}/status", {"to": "open", "comment": ""})
    message = flashed(browser)
    assert (
        message
        == f"Moving ticket {ticket.reference} from resolved to open needs a comment saying why."
    )
    assert reload(ticket).status == "resolved"
    browser.post(f"/requests/{ticket.reference}/status", {"to": "pending", "comment": "Hm."})
    page = controls(app, browser, ticket)
    assert ">Hm.</textarea>" in page
    assert reload(ticket).status == "resolved"


def test_priority_override_and_classification_edit(browser, world):
    ticket = world.ticket(status="open")
    browser.login(world.agent)
    browser.post(f"/requests/{ticket.reference}/edit", {"priority": "critical"})
    assert flashed(browser) == f"{ticket.reference} is updated."
    assert reload(ticket).priority == "critical" and reload(ticket).priority_overridden
    assert ("priority_override", "medium", "critical") in events(ticket, world)
    browser.post(f"/requests/{ticket.reference}/edit", {"type": "question", "service": ""})
    assert reload(ticket).type == "question"
    assert ("type", "incident", "question") in events(ticket, world)
    browser.post(f"/requests/{ticket.reference}/edit", {"type": "question"})
    assert flashed(browser) == "Nothing to change."
    browser.post(f"/requests/{ticket.reference}/edit", {"priority": "urgent"})
    assert "priority must be one of: low, medium, high, critical" in flashed(browser)


@pytest.mark.parametrize("route", AGENT_ROUTES)
def test_customers_cannot_use_agent_routes_404_when_hidden_403_otherwise(browser, world, route):
    own = world.ticket(status="open")
    hidden = tickets.submit_ticket(actor=world.other_power, type="incident", title="Globex")
    before = (events(own, world), events(hidden, world))
    browser.login(world.requester)
    response = browser.post(f"/requests/{own.reference}/{route}", FORMS[route])
    assert response.status_code == 403
    assert "Only agents work on tickets." in browser.page
    response = browser.post(f"/requests/{hidden.reference}/{route}", FORMS[route])
    assert response.status_code == 404
    assert "Not found" in browser.page and "Globex" not in browser.page
    assert (events(own, world), events(hidden, world)) == before
    with database.connection_context():
        assert Comment.select().count() == 0


@pytest.mark.parametrize("route", AGENT_ROUTES)
def test_every_agent_post_needs_the_csrf_token(browser, world, route):
    ticket = world.ticket(status="open")
    before = events(ticket, world)
    browser.login(world.agent)
    response = browser.post(f"/requests/{ticket.reference}/{route}", FORMS[route], csrf=False)
    assert response.status_code == 400
    assert events(ticket, world) == before


def test_agent_routes_send_visitors_to_log_in(browser, world):
    ticket = world.ticket()
    response = browser.post(f"/requests/{ticket.reference}/assign", {"assignee": "me"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert reload(ticket).assignee_id is None

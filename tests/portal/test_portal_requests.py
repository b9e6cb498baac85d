"""The customer's request pages: home dashboard, lists, closed-request search, the request page.

Everything is set up through the core services (as the API does) and read through the real
portal: what a person sees, which links and form fields there are, and who gets a 404.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime

import pytest

from helpdesk.db import database
from helpdesk.models import Ticket
from helpdesk.services import profile, tickets


def submit(user, title="Printer prints blank pages", **fields):
    with database.connection_context():
        return tickets.submit_ticket(
            actor=user, type=fields.pop("type", "incident"), title=title, **fields
        )


def move(ticket, *statuses, by):
    with database.connection_context():
        for status in statuses:
            tickets.change_status(ticket.reference, status, actor=by)


def resolved(world, title="Printer prints blank pages", **fields):
    ticket = submit(world.requester, title, **fields)
    with database.connection_context():
        tickets.assign(ticket.reference, "me", actor=world.agent)
    move(ticket, "resolved", by=world.agent)
    return ticket


def status_of(ticket) -> str:
    with database.connection_context():
        return Ticket.get_by_id(ticket.id).status


def dashboard(page: str) -> dict[tuple[str, str], int]:
    """(scope, status) -> the count the home page shows, read from its links."""
    links = re.findall(
        r'<a href="/requests\?status=(\w+)[^"]*" data-status="\w+" data-scope="(\w+)">(\d+)</a>',
        page,
    )
    return {(scope, status): int(n) for status, scope, n in links}


def references(page: str) -> list[str]:
    """The references of the request rows (each one links to its page), in order."""
    return re.findall(r'<tr>\s*<td><a href="/requests/(HD-\d+)">', page)


# -- home: the dashboard ------------------------------------------------------------------


def test_home_counts_my_requests_by_status_each_a_link_to_the_list(browser, world):
    submit(world.requester, "One")
    submit(world.requester, "Two")
    resolved(world, "Three")
    submit(world.colleague, "Not mine")
    browser.login(world.requester)
    browser.get("/")
    counts = dashboard(browser.page)
    assert counts == {
        ("mine", "new"): 2,
        ("mine", "open"): 0,
        ("mine", "pending"): 0,
        ("mine", "resolved"): 1,
    }
    assert "All my organization's requests" not in browser.page  # not a power user
    assert 'href="/requests?status=new"' in browser.page
    browser.get("/requests?status=new")
    assert sorted(references(browser.page)) == ["HD-1", "HD-2"]


def test_a_power_user_also_sees_the_organizations_counts_without_private_ones(browser, world):
    submit(world.requester, "Rita's")
    submit(world.colleague, "Carl's")
    submit(world.colleague, "Carl's private", private=True)
    submit(world.other_power, "Globex's")
    submit(world.power, "Paula's own")
    browser.login(world.power)
    browser.get("/")
    assert "All my organization's requests" in browser.page
    counts = dashboard(browser.page)
    assert counts[("mine", "new")] == 1
    assert counts[("organization", "new")] == 3  # Rita's, Carl's, Paula's: not private, not Globex
    browser.get("/requests?status=new&scope=organization")
    assert sorted(references(browser.page)) == ["HD-1", "HD-2", "HD-5"]


def test_counts_by_status_is_one_query_through_the_visibility_rules(db, world, caplog):
    from helpdesk.services.dashboard import counts_by_status

    submit(world.requester)
    submit(world.colleague, private=True)
    caplog.set_level(logging.DEBUG, logger="peewee")  # peewee logs each query it runs

    def queries():
        logged = [r.getMessage() for r in caplog.records if r.name == "peewee"]
        caplog.clear()
        return logged

    assert counts_by_status(world.colleague, "mine") == {
        "new": 1,
        "open": 0,
        "pending": 0,
        "resolved": 0,
    }
    [counting] = queries()
    assert "GROUP BY" in counting
    counts = counts_by_status(world.power, "organization")
    assert counts == {"new": 1, "open": 0, "pending": 0, "resolved": 0}  # not the private one
    check, counting = queries()  # may they see the organization's at all, then the counts
    assert "GROUP BY" in counting


# -- /requests ------------------------------------------------------------------------------


def test_my_requests_lists_open_and_resolved_with_the_columns_of_the_guides(browser, world):
    first = submit(world.requester, "Printer on fire")
    done = resolved(world, "VPN drops")
    submit(world.colleague, "Carl's ticket")
    browser.login(world.requester)
    response = browser.get("/requests")
    assert response.status_code == 200
    page = browser.page
    assert "My open requests" in page and "My resolved requests" in page
    for column in ("Reference", "Summary", "Status", "Service / type", "Requester", "Updated"):
        assert f'<th scope="col">{column}</th>' in page
    open_part, resolved_part = page.split("My resolved requests")
    assert references(open_part) == [first.reference]
    assert references(resolved_part) == [done.reference]
    assert "Printer on fire" in open_part and "Rita Requester" in open_part
    assert "Carl" not in page


def test_the_organization_list_is_for_power_users_only(browser, world):
    submit(world.colleague, "Carl's ticket")
    browser.login(world.requester)
    response = browser.get("/requests?scope=organization")
    assert response.status_code == 403
    assert "Only power users" in browser.page
    browser.get("/requests")
    assert "?scope=organization" not in browser.page


def test_a_long_list_is_paged(browser, world):
    for n in range(27):
        submit(world.requester, f"Request {n}")
    browser.login(world.requester)
    browser.get("/requests")
    assert len(references(browser.page)) == 25
    assert "More (27 in all)" in browser.page
    browser.get("/requests?status=new&status=open&status=pending&page=2")
    assert references(browser.page) == ["HD-2", "HD-1"]  # newest first: the two oldest
    assert "Page 2 of 2" in browser.page
    assert 'rel="prev"' in browser.page and 'rel="next"' not in browser.page


# -- /requests/closed -----------------------------------------------------------------------


def close(world, ticket, **kwargs):
    with database.connection_context():
        tickets.close_ticket(ticket.reference, actor=world.requester, **kwargs)


def test_the_closed_search_finds_by_reference_and_by_dates(browser, world, clock):
    clock.freeze(datetime(2026, 3, 2, 9, 0))
    march = resolved(world, "March printer")
    close(world, march)
    clock.freeze(datetime(2026, 4, 10, 9, 0))
    april = resolved(world, "April VPN")
    clock.advance(days=5)
    close(world, april)
    still_open = submit(world.requester, "Still open")
    browser.login(world.requester)

    browser.get("/requests/closed")
    for field in ("reference", "created_from", "created_to", "closed_from", "closed_to"):
        assert f'name="{field}"' in browser.page
    assert 'name="requester"' not in browser.page  # the caller filter: power users only
    assert references(browser.page) == [april.reference, march.reference]
    assert still_open.reference not in browser.page

    browser.get(f"/requests/closed?reference={march.reference}")
    assert references(browser.page) == [march.reference]
    browser.get(f"/requests/closed?reference={march.id}")
    assert references(browser.page) == [march.reference]
    browser.get("/requests/closed?created_from=2026-04-01&created_to=2026-04-30")
    assert references(browser.page) == [april.reference]
    browser.get("/requests/closed?closed_from=2026-04-15&closed_to=2026-04-15")
    assert references(browser.page) == [april.reference]
    assert 'value="2026-04-15"' in browser.page  # the form keeps the search
    browser.get("/requests/closed?closed_to=2026-04-14")
    assert references(browser.page) == [march.reference]


def test_a_power_user_searches_closed_requests_by_caller(browser, world):
    mine = resolved(world, "Rita's")
    close(world, mine)
    with database.connection_context():
        carls = tickets.submit_ticket(actor=world.colleague, type="question", title="Carl's")
        tickets.close_ticket(carls.reference, actor=world.colleague)
    browser.login(world.power)
    browser.get("/requests/closed")
    assert 'name="requester"' in browser.page
    assert sorted(references(browser.page)) == [mine.reference, carls.reference]
    browser.get(f"/requests/closed?requester={world.colleague.email}")
    assert references(browser.page) == [carls.reference]


def test_a_bad_date_in_the_closed_search_is_said_on_the_form(browser, world):
    browser.login(world.requester)
    response = browser.get("/requests/closed?closed_from=yesterday&reference=HD-1")
    assert response.status_code == 422
    assert "closed_from must be a date like 2026-01-31" in browser.page
    assert 'value="yesterday"' in browser.page and 'value="HD-1"' in browser.page
    response = browser.get("/requests/closed?reference=printer")
    assert response.status_code == 422 and "reference must look like HD-42" in browser.page


def test_the_api_filters_by_reference_and_closed_dates_too(client, world, clock):
    clock.freeze(datetime(2026, 5, 4, 12, 0))
    ticket = resolved(world)
    close(world, ticket)
    submit(world.requester, "Other")
    headers = world.headers(world.requester)

    def listed(query):
        response = client.get(f"/api/v1/tickets?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [t["reference"] for t in response.get_json()["items"]]

    assert listed("closed_from=2026-05-04") == [ticket.reference]
    assert listed("closed_to=2026-05-03") == []
    assert listed(f"reference={ticket.reference}") == [ticket.reference]
    assert listed("reference=HD-2") == ["HD-2"]
    bad = client.get("/api/v1/tickets?closed_to=soon", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "validation_failed"


# -- /requests/HD-n ---------------------------------------------------------------------------


def test_the_request_page_shows_the_fields_of_the_guides(browser, world):
    ticket = world.ticket(title="Printer prints blank pages", description="Since Monday.")
    with database.connection_context():
        tickets.assign(ticket.reference, "me", actor=world.agent)
    browser.login(world.requester)
    response = browser.get(f"/requests/{ticket.reference}")
    assert response.status_code == 200
    page = browser.page
    assert f"{ticket.reference}: Printer prints blank pages" in page
    for label, value in (
        ("Status", "open"),
        ("Type", "incident"),
        ("Requester", "Rita Requester"),
        ("Organization", "Acme"),
        ("Assignee", "Andy Agent"),
    ):
        assert f'<th scope="row">{label}</th><td>{value}' in page, label
    assert "Sheila Shared &lt;shared@acme.test&gt;" in page  # shared with
    assert "Since Monday." in page
    for field in ('name="body"', 'name="file"', 'name="users"', 'name="enabled"'):
        assert field in page
    assert 'name="rating"' not in page  # not resolved: no close form yet


def test_a_request_of_another_organization_is_a_404_page(browser, world):
    ticket = world.ticket()
    browser.login(world.other_power)
    response = browser.get(f"/requests/{ticket.reference}")
    assert response.status_code == 404 and "Not found" in browser.page
    assert browser.get("/requests/HD-999").status_code == 404
    assert browser.get("/requests/nonsense").status_code == 404


def test_a_private_colleague_request_is_invisible_to_a_power_user(browser, world):
    public = submit(world.colleague, "Carl's public")
    private = submit(world.colleague, "Carl's private", private=True)
    browser.login(world.power)
    assert browser.get(f"/requests/{public.reference}").status_code == 200
    assert browser.get(f"/requests/{private.reference}").status_code == 404
    browser.get("/requests?scope=organization")
    assert references(browser.page) == [public.reference]


def test_customers_never_see_internal_notes_and_agents_see_them_marked(browser_for, world):
    ticket = world.ticket()
    with database.connection_context():
        tickets.add_comment(ticket.reference, "Public answer", actor=world.agent)
        tickets.add_comment(
            ticket.reference,
            "Late payer, go slow",
            actor=world.agent,
            internal=True,
            attachments=[upload("notes.txt", b"secret")],
        )
    for customer in (world.requester, world.shared, world.power):
        page = browser_for(customer)
        page.get(f"/requests/{ticket.reference}")
        assert "Public answer" in page.page
        assert "Late payer" not in page.page and "notes.txt" not in page.page
        assert "Internal note" not in page.page
        download = page.get(f"/requests/{ticket.reference}/attachments/notes.txt")
        assert download.status_code == 404
    agent = browser_for(world.agent)
    agent.get(f"/requests/{ticket.reference}")
    note = re.search(r'<article class="comment internal"[^>]*>(.*?)</article>', agent.page, re.S)
    assert note and "Internal note" in note.group(1) and "Late payer, go slow" in note.group(1)


def upload(name, data: bytes, content_type="text/plain"):
    from helpdesk.storage import Upload

    return Upload(name, io.BytesIO(data), content_type)


def test_a_comment_with_files_and_their_download(browser, world):
    ticket = world.ticket()
    browser.login(world.requester)
    browser.get(f"/requests/{ticket.reference}")
    response = browser.post(
        f"/requests/{ticket.reference}/comments",
        {
            "body": "Here are the logs & a <b>photo</b>.",
            "file": [
                (io.BytesIO(b"log line\n"), "printer.log"),
                (io.BytesIO(b"<script>alert(1)</script>"), "page.html", "text/html"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/requests/{ticket.reference}"
    browser.get(response.headers["Location"])
    assert "Your comment was added." in browser.page
    assert "Here are the logs &amp; a &lt;b&gt;photo&lt;/b&gt;." in browser.page
    link = f"/requests/{ticket.reference}/attachments/page.html"
    assert f'href="{link}"' in browser.page
    download = browser.get(link)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert browser.page == "<script>alert(1)</script>"
    outsider = browser.client.application.test_client()
    from conftest import Browser

    other = Browser(outsider)
    other.login(world.other_power)
    assert other.get(link).status_code == 404


def test_an_empty_comment_is_refused_on_the_form(browser, world):
    ticket = world.ticket()
    browser.login(world.requester)
    browser.get(f"/requests/{ticket.reference}")
    response = browser.post(f"/requests/{ticket.reference}/comments", {"body": "  "})
    assert response.status_code == 422
    assert "message is required." in browser.page
    with database.connection_context():
        assert tickets.visible_comments(Ticket.get_by_id(ticket.id), world.requester) == []


def test_sharing_with_a_colleague_and_inviting_someone_from_outside(browser, world):
    ticket = submit(world.requester)
    browser.login(world.requester)
    browser.get(f"/requests/{ticket.reference}")
    response = browser.post(
        f"/requests/{ticket.reference}/shares", {"users": "Carl Colleague, guest@elsewhere.test"}
    )
    assert response.status_code == 303
    browser.get(response.headers["Location"])
    assert "The request is now shared with" in browser.page
    assert "Carl Colleague &lt;col@acme.test&gt;" in browser.page
    assert "guest@elsewhere.test" in browser.page


def test_a_refused_share_is_said_next_to_the_form_and_the_input_kept(browser, world):
    ticket = submit(world.requester)
    browser.login(world.power)  # a power user shares within the organization, invites nobody
    browser.get(f"/requests/{ticket.reference}")
    response = browser.post(f"/requests/{ticket.reference}/shares", {"users": "x@outside.test"})
    assert response.status_code == 403
    assert "only the requester or an agent may invite them" in browser.page
    assert 'value="x@outside.test"' in browser.page
    with database.connection_context():
        assert tickets.shared_with(Ticket.get_by_id(ticket.id)) == []


def test_the_notification_switch(browser, world):
    from helpdesk.mail.notifications import notifications_enabled

    ticket = world.ticket()
    browser.login(world.shared)
    browser.get(f"/requests/{ticket.reference}")
    assert "You receive emails about this request." in browser.page
    response = browser.post(f"/requests/{ticket.reference}/notifications", {"enabled": "off"})
    assert response.status_code == 303
    browser.get(f"/requests/{ticket.reference}")
    assert "You receive no emails about this request." in browser.page
    with database.connection_context():
        assert not notifications_enabled(Ticket.get_by_id(ticket.id), world.shared)
        assert notifications_enabled(Ticket.get_by_id(ticket.id), world.requester)
    browser.post(f"/requests/{ticket.reference}/notifications", {"enabled": "on"})
    with database.connection_context():
        assert notifications_enabled(Ticket.get_by_id(ticket.id), world.shared)
    refused = browser.post(f"/requests/{ticket.reference}/notifications", {"enabled": "maybe"})
    assert refused.status_code == 422 and "Choose on or off." in browser.page


def test_closing_a_resolved_request_with_a_rating_then_no_way_back(browser, world):
    ticket = resolved(world)
    browser.login(world.requester)
    browser.get(f"/requests/{ticket.reference}")
    assert 'name="rating"' in browser.page and 'action="/requests/HD-1/reopen"' in browser.page
    response = browser.post(
        f"/requests/{ticket.reference}/close", {"rating": "4", "comment": "Quick, thanks"}
    )
    assert response.status_code == 303
    browser.get(f"/requests/{ticket.reference}")
    with database.connection_context():
        closed = Ticket.get_by_id(ticket.id)
    assert (closed.status, closed.satisfaction_rating) == ("closed", 4)
    assert closed.satisfaction_comment == "Quick, thanks"
    assert "A closed request cannot be reopened or changed" in browser.page
    assert "Your rating: 4 out of 5" in browser.page
    for form in ('name="body"', 'name="rating"', "/reopen"):
        assert form not in browser.page
    refused = browser.post(f"/requests/{ticket.reference}/comments", {"body": "One more thing"})
    assert refused.status_code == 409 and "takes no more changes" in browser.page


def test_a_bad_rating_is_refused_and_the_request_stays_resolved(browser, world):
    ticket = resolved(world)
    browser.login(world.requester)
    browser.get(f"/requests/{ticket.reference}")
    response = browser.post(f"/requests/{ticket.reference}/close", {"rating": "9"})
    assert response.status_code == 422 and "rating" in browser.page
    assert status_of(ticket) == "resolved"


def test_a_refusal_on_the_page_is_in_the_visitors_language(browser, world):
    ticket = resolved(world)
    with database.connection_context():
        profile.update_profile(world.requester, language="fr")
    browser.login(world.requester)
    browser.get(f"/requests/{ticket.reference}")
    response = browser.post(f"/requests/{ticket.reference}/close", {"rating": "9"})
    assert response.status_code == 422
    assert "rating doit être un nombre entier de 1 à 5." in browser.page
    assert "must be a whole number" not in browser.page


def test_reopening_needs_a_comment(browser, world):
    ticket = resolved(world)
    browser.login(world.requester)
    browser.get(f"/requests/{ticket.reference}")
    response = browser.post(f"/requests/{ticket.reference}/reopen", {"comment": " "})
    assert response.status_code == 422
    assert "needs a comment saying why" in browser.page
    assert status_of(ticket) == "resolved"
    response = browser.post(f"/requests/{ticket.reference}/reopen", {"comment": "Blank again."})
    assert response.status_code == 303
    assert status_of(ticket) == "open"
    browser.get(f"/requests/{ticket.reference}")
    assert "Blank again." in browser.page and "The request is open again." in browser.page


def test_a_participant_who_may_not_close_sees_no_close_form(browser, world):
    ticket = resolved(world)
    with database.connection_context():
        tickets.share_ticket(ticket.reference, [world.shared.email], actor=world.requester)
    browser.login(world.shared)
    browser.get(f"/requests/{ticket.reference}")
    assert 'name="rating"' not in browser.page
    assert "/close" not in browser.page.replace("/requests/closed", "")
    assert "/reopen" not in browser.page
    response = browser.post(f"/requests/{ticket.reference}/close", {})
    assert response.status_code == 403 and status_of(ticket) == "resolved"


@pytest.mark.parametrize(
    "action, data",
    [
        ("comments", {"body": "Hi"}),
        ("shares", {"users": "col@acme.test"}),
        ("notifications", {"enabled": "off"}),
        ("close", {"rating": "5"}),
        ("reopen", {"comment": "Not fixed"}),
    ],
)
def test_every_request_form_without_the_csrf_token_is_refused(browser, world, action, data):
    ticket = resolved(world)
    browser.login(world.requester)
    response = browser.post(f"/requests/{ticket.reference}/{action}", data, csrf=False)
    assert response.status_code == 400
    assert status_of(ticket) == "resolved"
    with database.connection_context():
        current = Ticket.get_by_id(ticket.id)
        assert tickets.shared_with(current) == []
        assert tickets.visible_comments(current, world.requester) == []


def test_signed_out_visitors_are_sent_to_the_login_page(browser, world):
    ticket = world.ticket()
    for path in ("/requests", "/requests/closed", f"/requests/{ticket.reference}"):
        response = browser.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_the_request_pages_speak_the_users_language(browser, world):
    from helpdesk.services import profile

    ticket = resolved(world)
    with database.connection_context():
        profile.update_profile(world.requester, language="fr", date_format="eu")
    browser.login(world.requester)
    browser.get("/requests")
    assert '<html lang="fr">' in browser.page
    assert "Mes demandes résolues" in browser.page and "résolu" in browser.page
    assert re.search(r"<td>\d\d/\d\d/\d{4} \d\d:\d\d</td>", browser.page)  # updated, eu format
    browser.get(f"/requests/{ticket.reference}")
    assert "Rouvrir" in browser.page and "Clôturer" in browser.page
    assert "a créé la demande" in browser.page

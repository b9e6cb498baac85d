"""Satisfaction: the emailed survey link (API and HTML page), `ticket rate`, and the report.

The survey token is read from the email the requester really received over SMTP.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from types import SimpleNamespace

import pytest
from conftest import Browser, deliver

from helpdesk.db import database
from helpdesk.models import Ticket
from helpdesk.server import create_app
from helpdesk.services import api_tokens, tickets, users

API = "/api/v1"
TITLE = "Printer prints blank pages"
SURVEY_LINK = re.compile(r"http://127\.0\.0\.1:5000/survey/([A-Za-z0-9_-]+)\?rating=(\d)")
FORGED = "Zm9yZ2VkLXRva2VuLXRoYXQtd2FzLW5ldmVyLWlzc3VlZA"


def post(client, url, data):
    """The form's POST as a browser sends it: with the session's CSRF token."""
    return Browser(client).post(url, data)


def survey_token(mailbox, address: str) -> str:
    """Deliver the outbox; the token of the newest survey email to `address`, from its text."""
    deliver()
    [survey, *_] = reversed(
        [m for m in mailbox.by_recipient(address) if "How did we do?" in m["Subject"]]
    )
    text = survey.get_body(preferencelist=("plain",)).get_content()
    links = SURVEY_LINK.findall(text)
    assert [rating for _, rating in links] == ["1", "2", "3", "4", "5"]
    [token] = {token for token, _ in links}
    return token


def radios(html: str) -> dict[str, bool]:
    """The survey form's rating buttons: value -> checked."""
    found = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'name="rating"' in tag:
            value = re.search(r'value="(\d)"', tag)[1]
            found[value] = re.search(r"\bchecked\b", tag) is not None
    return found


@pytest.fixture
def closed(world, client, mailbox):
    """A ticket Andy closed without a rating; the survey the requester was emailed."""
    ticket = world.ticket(status="open")
    tickets.assign(ticket.reference, "me", actor=world.agent)
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/close", json={}, headers=world.headers(world.agent)
    )
    assert resp.status_code == 200, resp.get_json()
    return SimpleNamespace(
        ref=ticket.reference,
        token=survey_token(mailbox, world.requester.email),
        headers=world.headers(world.requester),
    )


def satisfaction(client, ticket) -> dict | None:
    resp = client.get(f"{API}/tickets/{ticket.ref}", headers=ticket.headers)
    assert resp.status_code == 200
    return resp.get_json()["satisfaction"]


# -- the link, through the JSON API -----------------------------------------------------------


def test_the_survey_link_rates_the_ticket_once(client, closed):
    resp = client.get(f"{API}/surveys/{closed.token}")
    assert resp.status_code == 200
    assert resp.get_json() == {"reference": closed.ref, "title": TITLE, "status": "closed"}

    answer = {"rating": 5, "comment": "Quick and friendly."}
    resp = client.post(f"{API}/surveys/{closed.token}", json=answer)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"reference": closed.ref, **answer}
    assert satisfaction(client, closed) == answer

    # Used: the link works no more, and the rating stays.
    resp = client.post(f"{API}/surveys/{closed.token}", json={"rating": 1})
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    assert client.get(f"{API}/surveys/{closed.token}").status_code == 404
    assert satisfaction(client, closed) == answer


def test_a_forged_survey_token_is_not_found(client, closed):
    for resp in (
        client.get(f"{API}/surveys/{FORGED}"),
        client.post(f"{API}/surveys/{FORGED}", json={"rating": 5}),
        client.get(f"{API}/surveys/{closed.token[:-1]}"),
    ):
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == "not_found"
    for resp in (
        client.get(f"/survey/{FORGED}?rating=5"),
        post(client, f"/survey/{FORGED}", {"rating": "5"}),
    ):
        assert resp.status_code == 404
        assert resp.mimetype == "text/html"
        assert "unknown or was already used" in resp.get_data(as_text=True)
        assert radios(resp.get_data(as_text=True)) == {}
    assert satisfaction(client, closed) is None


@pytest.mark.parametrize("rating", [0, 6, -1, "5", 4.5, True, None])
def test_a_rating_outside_1_to_5_is_refused_and_the_link_still_works(client, closed, rating):
    resp = client.post(f"{API}/surveys/{closed.token}", json={"rating": rating})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["code"] == "validation_failed"
    assert satisfaction(client, closed) is None

    resp = client.post(f"{API}/surveys/{closed.token}", json={"rating": 3})
    assert resp.status_code == 200
    assert satisfaction(client, closed) == {"rating": 3, "comment": None}


# -- the link, as a web page ------------------------------------------------------------------


def test_the_survey_page_shows_the_chosen_rating_and_saves_only_when_sent(client, closed):
    page = client.get(f"/survey/{closed.token}?rating=4")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "How did we do?" in html
    assert f"{closed.ref}: {TITLE}" in html
    assert '<form method="post">' in html
    assert radios(html) == {"1": False, "2": False, "3": False, "4": True, "5": False}

    # Mail scanners follow links: opening the page saved nothing, and it opens again.
    assert satisfaction(client, closed) is None
    again = client.get(f"/survey/{closed.token}?rating=2")
    assert again.status_code == 200
    assert radios(again.get_data(as_text=True))["2"] is True
    assert client.get(f"/survey/{closed.token}").status_code == 200

    sent = post(client, f"/survey/{closed.token}", {"rating": "4", "comment": "Fixed in a day."})
    assert sent.status_code == 200
    html = sent.get_data(as_text=True)
    assert "Thank you" in html
    assert f"Your rating of {closed.ref}: 4/5." in html
    assert satisfaction(client, closed) == {"rating": 4, "comment": "Fixed in a day."}

    for resp in (
        client.get(f"/survey/{closed.token}?rating=1"),
        post(client, f"/survey/{closed.token}", {"rating": "1"}),
    ):
        assert resp.status_code == 404
        assert "already used" in resp.get_data(as_text=True)
        assert "Thank you" not in resp.get_data(as_text=True)
    assert satisfaction(client, closed) == {"rating": 4, "comment": "Fixed in a day."}
    # The JSON side agrees: the token is spent.
    assert client.post(f"{API}/surveys/{closed.token}", json={"rating": 5}).status_code == 404


@pytest.mark.parametrize("form", [{"rating": "9"}, {"rating": "0"}, {"rating": "four"}, {}])
def test_the_survey_page_refuses_a_rating_outside_1_to_5(client, closed, form):
    resp = post(client, f"/survey/{closed.token}", form)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "rating must be a whole number from 1 to 5" in html
    assert "Thank you" not in html
    assert satisfaction(client, closed) is None
    assert post(client, f"/survey/{closed.token}", {"rating": "5"}).status_code == 200


# -- `helpdesk ticket rate` -------------------------------------------------------------------


def ok(result):
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def fails(result, code: int = 1) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    return result.stderr


def token_for(email: str) -> str:
    with database.connection_context():
        return api_tokens.issue_token(users.get_user_by_email(email), name="test")


@pytest.fixture
def desk(installed):
    """Acme (Rita, Carl), Globex (Otto), agents Andy and Bella: provisioned by the CLI."""
    admin = installed
    ok(admin("org", "create", "Acme"))
    ok(admin("org", "create", "Globex"))
    for email, name, org in [
        ("req@acme.test", "Rita Requester", "Acme"),
        ("col@acme.test", "Carl Colleague", "Acme"),
        ("otto@globex.test", "Otto Other", "Globex"),
    ]:
        ok(admin("user", "register", email, "--name", name, "--org", org))
    for email, name in [("andy@example.test", "Andy Agent"), ("bella@example.test", "Bella")]:
        ok(admin("user", "register", email, "--name", name, "--agent"))

    def person(email):
        token = token_for(email)
        return lambda *args: installed(*args, env={"HELPDESK_TOKEN": token})

    return SimpleNamespace(
        admin=admin,
        rita=person("req@acme.test"),
        carl=person("col@acme.test"),
        otto=person("otto@globex.test"),
        andy=person("andy@example.test"),
    )


def cli_ticket(desk, *, close: bool = True) -> str:
    """Rita's ticket, shared with Carl, taken by Andy and (by default) closed by him unrated."""
    result = ok(desk.rita("ticket", "submit", "--type", "incident", "--title", TITLE, "--json"))
    ref = json.loads(result.stdout)["reference"]
    ok(desk.rita("ticket", "share", ref, "col@acme.test"))
    ok(desk.andy("ticket", "assign", ref, "me"))
    if close:
        ok(desk.andy("ticket", "close", ref))
    return ref


def test_the_requester_rates_a_closed_ticket_once_by_cli(desk, mailbox):
    ref = cli_ticket(desk)
    ok(desk.admin("mail", "send"))
    with database.connection_context():
        token = survey_token(mailbox, "req@acme.test")

    result = ok(desk.rita("ticket", "rate", ref, "--rating", "4", "--comment", "Fast enough."))
    assert result.stdout == f"Rated {ref} 4/5. Thank you!\n"
    shown = json.loads(ok(desk.rita("ticket", "show", ref, "--json")).stdout)
    assert shown["satisfaction"] == {"rating": 4, "comment": "Fast enough."}

    assert "already rated" in fails(desk.rita("ticket", "rate", ref, "--rating", "5"))
    shown = json.loads(ok(desk.rita("ticket", "show", ref, "--json")).stdout)
    assert shown["satisfaction"] == {"rating": 4, "comment": "Fast enough."}

    # The emailed link died with the rating.
    client = create_app({"TESTING": True}).test_client()
    assert client.get(f"{API}/surveys/{token}").status_code == 404
    assert client.post(f"{API}/surveys/{token}", json={"rating": 1}).status_code == 404
    assert client.get(f"/survey/{token}?rating=1").status_code == 404


def test_only_the_requester_rates_and_only_a_closed_ticket(desk):
    ref = cli_ticket(desk)
    assert "Only the requester may rate" in fails(desk.carl("ticket", "rate", ref, "--rating", "5"))
    assert "Only the requester may rate" in fails(desk.andy("ticket", "rate", ref, "--rating", "5"))
    assert "No such ticket" in fails(desk.otto("ticket", "rate", ref, "--rating", "5"))

    open_ref = cli_ticket(desk, close=False)
    err = fails(desk.rita("ticket", "rate", open_ref, "--rating", "5"))
    assert "only a closed ticket can be rated" in err
    # Out of range is a usage error, caught before any request.
    assert "--rating" in fails(desk.rita("ticket", "rate", ref, "--rating", "6"), 2)

    for reference in (ref, open_ref):
        shown = json.loads(ok(desk.rita("ticket", "show", reference, "--json")).stdout)
        assert shown["satisfaction"] is None
    ok(desk.rita("ticket", "rate", ref, "--rating", "5"))


# -- `helpdesk report satisfaction` -----------------------------------------------------------

# title: (requester, assignee, rating, closed at) -- closed_at None: still open.
REPORT_TICKETS = {
    "T1": ("req@acme.test", "andy@example.test", 5, datetime(2026, 1, 10, 9, 0)),
    "T2": ("req@acme.test", "andy@example.test", 4, datetime(2026, 1, 20, 12, 0)),
    "T3": ("otto@globex.test", "bella@example.test", 1, datetime(2026, 2, 5, 8, 0)),
    "T4": ("req@acme.test", "bella@example.test", None, datetime(2026, 2, 10, 16, 0)),
    "T5": ("req@acme.test", "andy@example.test", None, None),
    "T6": ("otto@globex.test", "andy@example.test", 4, datetime(2026, 1, 31, 23, 30)),
}


@pytest.fixture
def rated_desk(desk):
    """The tickets above, made through the core services; closing dates set in the database."""
    with database.connection_context():
        admin = users.get_user_by_email("admin@example.test")
        for title, (requester, assignee, rating, closed_at) in REPORT_TICKETS.items():
            customer = users.get_user_by_email(requester)
            ref = tickets.submit_ticket(actor=customer, type="incident", title=title).reference
            tickets.assign(ref, assignee, actor=admin)
            if closed_at is None:
                continue
            if rating is None:
                tickets.close_ticket(ref, actor=admin)
            else:
                tickets.close_ticket(ref, actor=customer, rating=rating)
            Ticket.update(closed_at=closed_at).where(Ticket.reference == ref).execute()
    return desk


def report(run, *args: str) -> dict:
    result = ok(run("report", "satisfaction", *args, "--json"))
    data = json.loads(result.stdout)
    return {key: data[key] for key in ("closed", "rated", "average", "distribution")}


def spread(**counts: int) -> dict[str, int]:
    return {str(n): counts.get(f"r{n}", 0) for n in range(1, 6)}


def test_the_satisfaction_report_counts_closed_and_rated_tickets(rated_desk):
    andy = rated_desk.andy
    assert report(andy) == {
        "closed": 5,
        "rated": 4,
        "average": 3.5,
        "distribution": spread(r1=1, r4=2, r5=1),
    }
    text = ok(andy("report", "satisfaction")).stdout
    assert "Closed tickets: 5   rated: 4   average: 3.50" in text
    table = {
        line.split()[0]: line.split()[1] for line in text.splitlines() if re.match(r"^\d/5\s", line)
    }
    assert table == {"1/5": "1", "2/5": "0", "3/5": "0", "4/5": "2", "5/5": "1"}
    # Admins are agents too.
    assert report(rated_desk.admin)["closed"] == 5


def test_the_satisfaction_report_filters(rated_desk):
    andy = rated_desk.andy
    assert report(andy, "--agent", "andy@example.test") == {
        "closed": 3,
        "rated": 3,
        "average": 4.33,
        "distribution": spread(r4=2, r5=1),
    }
    assert (
        "average: 4.33" in ok(andy("report", "satisfaction", "--agent", "andy@example.test")).stdout
    )
    assert report(andy, "--org", "Acme") == {
        "closed": 3,
        "rated": 2,
        "average": 4.5,
        "distribution": spread(r4=1, r5=1),
    }
    assert report(andy, "--org", "Globex") == {
        "closed": 2,
        "rated": 2,
        "average": 2.5,
        "distribution": spread(r1=1, r4=1),
    }
    # --to includes the whole of its day: T6 closed at 23:30 on the 31st.
    assert report(andy, "--from", "2026-01-15", "--to", "2026-01-31") == {
        "closed": 2,
        "rated": 2,
        "average": 4.0,
        "distribution": spread(r4=2),
    }
    assert report(andy, "--from", "2026-02-01") == {
        "closed": 2,
        "rated": 1,
        "average": 1.0,
        "distribution": spread(r1=1),
    }
    assert report(andy, "--to", "2026-01-10") == {
        "closed": 1,
        "rated": 1,
        "average": 5.0,
        "distribution": spread(r5=1),
    }
    nothing_rated = report(andy, "--org", "Acme", "--agent", "bella@example.test")
    assert nothing_rated == {"closed": 1, "rated": 0, "average": None, "distribution": spread()}
    assert (
        "average: -"
        in ok(
            andy("report", "satisfaction", "--org", "Acme", "--agent", "bella@example.test")
        ).stdout
    )
    assert report(andy, "--from", "2027-01-01") == {
        "closed": 0,
        "rated": 0,
        "average": None,
        "distribution": spread(),
    }


def test_the_satisfaction_report_is_for_agents(rated_desk):
    for customer in (rated_desk.rita, rated_desk.otto):
        assert "Only agents may see reports" in fails(customer("report", "satisfaction"))
    assert "No organization named" in fails(
        rated_desk.andy("report", "satisfaction", "--org", "Nope")
    )
    assert "nobody@example.test" in fails(
        rated_desk.andy("report", "satisfaction", "--agent", "nobody@example.test")
    )
    bad_date = rated_desk.andy("report", "satisfaction", "--from", "2026-13-01")
    assert "2026-13-01" in fails(bad_date, 2)  # a bad option value: a usage error

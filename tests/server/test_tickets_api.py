"""The ticket API as its users see it: submit, find, attach, share, assign; accounts and orgs."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from helpdesk.models import Membership, Ticket, User
from helpdesk.services import passwords, tickets

API = "/api/v1"
PASSWORD = "correct horse battery"


def submit(client, headers, **fields):
    body = {"type": "incident", "title": "Printer prints blank pages", **fields}
    resp = client.post(f"{API}/tickets", json=body, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def submit_with_files(client, headers, files, **fields):
    """Multipart submit: `files` is a list of (filename, bytes[, content type])."""
    data = {"type": "incident", "title": "Printer prints blank pages", **fields}
    resp = client.post(
        f"{API}/tickets",
        data={
            "data": json.dumps(data),
            "attachments": [(io.BytesIO(f[1]), f[0], *f[2:]) for f in files],
        },
        content_type="multipart/form-data",
        headers=headers,
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def download(client, url, headers):
    """GET a file; the response is closed, as a WSGI server would, so the blob is released."""
    with client.get(url, headers=headers) as resp:
        resp.get_data()
        return resp


def references(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [item["reference"] for item in resp.get_json()["items"]]


# -- submitting and finding a ticket ---------------------------------------------------------


def test_submit_returns_201_and_a_location_that_shows_the_ticket(client, world):
    headers = world.headers(world.requester)
    resp = client.post(
        f"{API}/tickets",
        json={
            "type": "incident",
            "title": "  VPN drops every hour  ",
            "description": "Since Monday.",
            "impact": "high",
            "urgency": "high",
        },
        headers=headers,
    )
    assert resp.status_code == 201
    created = resp.get_json()
    assert re.fullmatch(r"HD-\d+", created["reference"])
    assert resp.headers["Location"].endswith(f"/api/v1/tickets/{created['reference']}")
    assert created["title"] == "VPN drops every hour"
    assert created["status"] == "new"
    assert created["priority"] == "critical"
    assert created["organization"] == "Acme"
    assert created["requester"] == {"email": "req@acme.test", "name": "Rita Requester"}
    assert created["allowed_transitions"] == ["closed"]
    assert [(e["kind"], e["to"]) for e in created["events"]] == [("created", "new")]
    assert created.pop("deduplicated") is False  # the submit's answer only: a new ticket

    shown = client.get(resp.headers["Location"], headers=headers)
    assert shown.status_code == 200
    assert shown.get_json() == created


def test_reference_is_stable_and_case_insensitive(client, world):
    headers = world.headers(world.agent)
    first = submit(client, world.headers(world.requester), title="first")
    second = submit(client, world.headers(world.requester), title="second")
    ref = second["reference"]
    number = ref.removeprefix("HD-")
    assert first["reference"] != ref
    for spelling in (ref, ref.lower(), f"Hd-{number}", number):
        resp = client.get(f"{API}/tickets/{spelling}", headers=headers)
        assert resp.status_code == 200, spelling
        assert resp.get_json()["reference"] == ref
        assert resp.get_json()["title"] == "second"
    # Assigning, commenting and moving it do not change the reference.
    client.post(f"{API}/tickets/{ref.lower()}/assign", json={"assignee": "me"}, headers=headers)
    client.post(f"{API}/tickets/{ref}/comments", json={"body": "On it."}, headers=headers)
    client.post(f"{API}/tickets/{ref}/transition", json={"to": "resolved"}, headers=headers)
    after = client.get(f"{API}/tickets/hd-{number}", headers=headers).get_json()
    assert after["reference"] == ref and after["status"] == "resolved"


def test_agent_submits_for_a_customer(client, world):
    created = submit(client, world.headers(world.agent), type="question", requester="COL@acme.test")
    assert created["requester"]["email"] == "col@acme.test"
    assert created["organization"] == "Acme"
    mine = client.get(f"{API}/tickets", headers=world.headers(world.colleague))
    assert references(mine) == [created["reference"]]


# -- attachments ------------------------------------------------------------------------------


def test_multipart_submit_stores_attachments_content_addressed(app, client, world):
    headers = world.headers(world.requester)
    log = b"2026-01-01 printer: out of toner\n" * 50
    image = bytes(range(256)) * 4
    created = submit_with_files(
        client,
        headers,
        [("printer.log", log, "text/plain"), ("screen.png", image, "image/png")],
        description="Logs attached.",
    )
    assert created["description"] == "Logs attached."
    by_name = {a["filename"]: a for a in created["attachments"]}
    assert set(by_name) == {"printer.log", "screen.png"}
    root = Path(app.config["DATA_DIR"]) / "attachments"
    for name, content in (("printer.log", log), ("screen.png", image)):
        attachment = by_name[name]
        sha = hashlib.sha256(content).hexdigest()
        assert attachment["sha256"] == sha
        assert attachment["size"] == len(content)
        blob = root / sha[:2] / sha
        assert blob.is_file()
        assert blob.read_bytes() == content
    assert by_name["printer.log"]["content_type"] == "text/plain"
    assert by_name["screen.png"]["content_type"] == "image/png"
    assert [e["kind"] for e in created["events"]] == ["created", "attachment", "attachment"]


def test_download_returns_the_same_bytes_as_an_attachment(client, world):
    headers = world.headers(world.requester)
    page = b"<html><script>alert('hi')</script></html>"
    created = submit_with_files(client, headers, [("page.html", page, "text/html")])
    [attachment] = created["attachments"]

    resp = download(client, attachment["url"], headers)
    assert resp.status_code == 200
    assert resp.data == page
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "page.html" in disposition
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    # Anyone who can see the ticket can download it, nobody else.
    shared = world.headers(world.power)
    assert download(client, attachment["url"], shared).data == page
    hidden = download(client, attachment["url"], world.headers(world.other_power))
    assert hidden.status_code == 404
    # A copy the caller has is not sent again: its ETag is the content's hash.
    again = download(client, attachment["url"], {**headers, "If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_same_content_is_stored_once(app, client, world):
    headers = world.headers(world.requester)
    content = b"identical bytes"
    first = submit_with_files(client, headers, [("a.txt", content)])
    second = submit_with_files(client, headers, [("b.txt", content)])
    sha = hashlib.sha256(content).hexdigest()
    assert first["attachments"][0]["sha256"] == second["attachments"][0]["sha256"] == sha
    folder = Path(app.config["DATA_DIR"]) / "attachments" / sha[:2]
    assert [p.name for p in folder.iterdir()] == [sha]


@pytest.mark.parametrize(
    ("sent", "ending"),
    [
        ("../../etc/passwd", "passwd"),
        ("a/b\\c.txt", "c.txt"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("..", "attachment"),
        ("/", "attachment"),
        ("/etc/../../secret.txt", "secret.txt"),
    ],
)
def test_attachment_names_are_sanitized(client, world, sent, ending):
    # A browser sends backslashes as they are and the multipart parser reads them as escapes,
    # so only the safety of the name and its last part are certain here.
    headers = world.headers(world.requester)
    created = submit_with_files(client, headers, [(sent, b"secret: no")])
    [attachment] = created["attachments"]
    name = attachment["filename"]
    assert "/" not in name and "\\" not in name and ".." not in name
    assert name.endswith(ending)
    resp = download(client, attachment["url"], headers)
    assert resp.status_code == 200
    assert resp.data == b"secret: no"


@pytest.mark.parametrize(
    ("header_value", "stored"),
    [
        (b"a/b\\\\c.txt", "c.txt"),
        (b"..\\\\..\\\\windows\\\\system.ini", "system.ini"),
        (b"C:\\\\Users\\\\rita\\\\report.pdf", "report.pdf"),
    ],
)
def test_backslash_paths_keep_only_the_base_name(client, world, header_value, stored):
    """A filename that reaches the server with real backslashes loses every directory part.

    In the quoted header value a backslash is escaped as two, so the parser passes one on.
    """
    boundary = b"helpdesk-test-boundary"
    payload = b"".join(
        [
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="data"\r\n\r\n',
            json.dumps({"type": "incident", "title": "Windows path"}).encode() + b"\r\n",
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="attachments"; filename="'
            + header_value
            + b'"\r\n',
            b"Content-Type: text/plain\r\n\r\n",
            b"content\r\n",
            b"--" + boundary + b"--\r\n",
        ]
    )
    resp = client.post(
        f"{API}/tickets",
        data=payload,
        content_type=f"multipart/form-data; boundary={boundary.decode()}",
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 201, resp.get_json()
    assert [a["filename"] for a in resp.get_json()["attachments"]] == [stored]


def test_same_names_get_distinct_names(client, world):
    headers = world.headers(world.requester)
    created = submit_with_files(
        client, headers, [("report.pdf", b"one"), ("report.pdf", b"two"), ("notes", b"n1")]
    )
    ref = created["reference"]
    resp = client.post(
        f"{API}/tickets/{ref}/attachments",
        data={"attachments": [(io.BytesIO(b"three"), "report.pdf"), (io.BytesIO(b"n2"), "notes")]},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert resp.status_code == 201
    names = [a["filename"] for a in resp.get_json()["attachments"]]
    assert names == ["report.pdf", "report-2.pdf", "notes", "report-3.pdf", "notes-2"]
    for name, content in [
        ("report.pdf", b"one"),
        ("report-2.pdf", b"two"),
        ("report-3.pdf", b"three"),
        ("notes", b"n1"),
        ("notes-2", b"n2"),
    ]:
        assert download(client, f"{API}/tickets/{ref}/attachments/{name}", headers).data == content


def test_internal_note_and_its_attachment_are_invisible_to_customers(client, world):
    ticket = world.ticket(status="open")
    ref = ticket.reference
    agent = world.headers(world.agent)
    client.post(f"{API}/tickets/{ref}/comments", json={"body": "We are on it."}, headers=agent)
    resp = client.post(
        f"{API}/tickets/{ref}/comments",
        data={
            "data": json.dumps(
                {"body": "Customer's admin password is in the log", "internal": True}
            ),
            "attachments": [(io.BytesIO(b"root:hunter2"), "diagnostics.txt")],
        },
        content_type="multipart/form-data",
        headers=agent,
    )
    assert resp.status_code == 201
    note = resp.get_json()
    assert note["visibility"] == "internal"

    # The agent sees everything.
    seen = client.get(f"{API}/tickets/{ref}", headers=agent).get_json()
    assert [c["visibility"] for c in seen["comments"]] == ["public", "internal"]
    assert [a["filename"] for a in seen["attachments"]] == ["diagnostics.txt"]
    assert {"internal_note", "internal_attachment"} <= {e["kind"] for e in seen["events"]}
    url = f"{API}/tickets/{ref}/attachments/diagnostics.txt"
    assert download(client, url, agent).data == b"root:hunter2"

    for customer in (world.requester, world.shared, world.power):
        headers = world.headers(customer)
        shown = client.get(f"{API}/tickets/{ref}", headers=headers)
        assert shown.status_code == 200
        data = shown.get_json()
        assert [c["body"] for c in data["comments"]] == ["We are on it."]
        assert data["attachments"] == []
        kinds = {e["kind"] for e in data["events"]}
        assert not kinds & {"internal_note", "internal_attachment"}
        text = shown.get_data(as_text=True)
        assert "password" not in text and "diagnostics" not in text

        comments = client.get(f"{API}/tickets/{ref}/comments", headers=headers).get_json()
        assert [c["body"] for c in comments["items"]] == ["We are on it."]
        assert comments["total"] == 1
        one = client.get(f"{API}/tickets/{ref}/comments/{note['id']}", headers=headers)
        assert one.status_code == 404
        resp = download(client, url, headers)
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == "not_found"
        assert b"hunter2" not in resp.data


def test_customer_cannot_write_an_internal_note(client, world):
    ticket = world.ticket(status="open")
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/comments",
        json={"body": "psst", "internal": True},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 403
    agent_view = client.get(f"{API}/tickets/{ticket.reference}", headers=world.headers(world.agent))
    assert agent_view.get_json()["comments"] == []


def test_customer_reply_brings_a_pending_ticket_back_to_open(client, world):
    ticket = world.ticket(status="pending")
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/comments",
        json={"body": "Here is the info."},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 201
    assert resp.headers["Location"].endswith(
        f"/tickets/{ticket.reference}/comments/{resp.get_json()['id']}"
    )
    assert Ticket.get_by_id(ticket.id).status == "open"


# -- listing and filtering --------------------------------------------------------------------


def test_list_pages_newest_first(client, world):
    made = [
        tickets.submit_ticket(actor=world.requester, type="incident", title=f"Ticket {i}")
        for i in range(30)
    ]
    newest_first = [t.reference for t in reversed(made)]
    headers = world.headers(world.requester)

    first = client.get(f"{API}/tickets", query_string={"page": 1, "per_page": 25}, headers=headers)
    body = first.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 25, 30)
    assert references(first) == newest_first[:25]

    second = client.get(f"{API}/tickets", query_string={"page": 2, "per_page": 25}, headers=headers)
    body = second.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (2, 25, 30)
    assert references(second) == newest_first[25:]

    default = client.get(f"{API}/tickets", headers=headers).get_json()
    assert default["per_page"] == 25 and len(default["items"]) == 25

    beyond = client.get(f"{API}/tickets", query_string={"page": 3}, headers=headers).get_json()
    assert beyond["items"] == [] and beyond["total"] == 30


def test_list_shows_only_what_the_caller_may_see(client, world):
    mine = world.ticket(title="mine")
    private = world.ticket(title="private one", private=True)
    theirs = tickets.submit_ticket(actor=world.other_power, type="question", title="globex")
    agent = references(client.get(f"{API}/tickets", headers=world.headers(world.agent)))
    assert set(agent) == {mine.reference, private.reference, theirs.reference}
    power = references(client.get(f"{API}/tickets", headers=world.headers(world.power)))
    assert power == [mine.reference]
    colleague = references(client.get(f"{API}/tickets", headers=world.headers(world.colleague)))
    assert colleague == []
    other = references(client.get(f"{API}/tickets", headers=world.headers(world.other_power)))
    assert other == [theirs.reference]


def test_filter_by_status_is_repeatable(client, world):
    by_status = {s: world.ticket(status=s, title=s) for s in ("new", "open", "pending", "closed")}
    headers = world.headers(world.agent)
    one = client.get(f"{API}/tickets", query_string={"status": "open"}, headers=headers)
    assert references(one) == [by_status["open"].reference]
    two = client.get(
        f"{API}/tickets", query_string=[("status", "new"), ("status", "pending")], headers=headers
    )
    assert set(references(two)) == {by_status["new"].reference, by_status["pending"].reference}
    assert two.get_json()["total"] == 2


def test_filter_scope_mine(client, world):
    own = tickets.submit_ticket(actor=world.power, type="incident", title="power's own")
    colleagues = world.ticket(title="rita's")
    headers = world.headers(world.power)
    assert set(references(client.get(f"{API}/tickets", headers=headers))) == {
        own.reference,
        colleagues.reference,
    }
    mine = client.get(f"{API}/tickets", query_string={"scope": "mine"}, headers=headers)
    assert references(mine) == [own.reference]
    # For an agent, "mine" is what they are assigned.
    tickets.assign(colleagues.reference, "me", actor=world.agent)
    agent = world.headers(world.agent)
    mine = client.get(f"{API}/tickets", query_string={"scope": "mine"}, headers=agent)
    assert references(mine) == [colleagues.reference]
    mine = client.get(
        f"{API}/tickets", query_string={"scope": "mine"}, headers=world.headers(world.admin)
    )
    assert references(mine) == []


def test_filter_by_organization(client, world):
    acme = world.ticket(title="acme")
    globex = tickets.submit_ticket(actor=world.other_power, type="incident", title="globex")
    headers = world.headers(world.agent)
    for name in ("Globex", "globex", " GLOBEX "):
        resp = client.get(f"{API}/tickets", query_string={"organization": name}, headers=headers)
        assert references(resp) == [globex.reference]
    resp = client.get(f"{API}/tickets", query_string={"organization": "Acme"}, headers=headers)
    assert references(resp) == [acme.reference]
    # A customer may filter by their own organization only; another one does not exist for them.
    power = world.headers(world.power)
    resp = client.get(f"{API}/tickets", query_string={"organization": "acme"}, headers=power)
    assert references(resp) == [acme.reference]
    resp = client.get(f"{API}/tickets", query_string={"organization": "Globex"}, headers=power)
    assert resp.status_code == 404


def test_search_text_in_title_or_description(client, world):
    in_title = world.ticket(title="Printer jams on page 2")
    in_description = world.ticket(title="Office issue", description="The PRINTER is on fire")
    world.ticket(title="VPN down")
    headers = world.headers(world.requester)
    for q in ("printer", "PRINTER", "Printer"):
        resp = client.get(f"{API}/tickets", query_string={"q": q}, headers=headers)
        assert set(references(resp)) == {in_title.reference, in_description.reference}, q
    # Whole words: a part of a word finds nothing (WORKLOAD.md 2.2).
    resp = client.get(f"{API}/tickets", query_string={"q": "rint"}, headers=headers)
    assert references(resp) == []
    resp = client.get(f"{API}/tickets", query_string={"q": "nothing like it"}, headers=headers)
    assert references(resp) == []


def test_search_ignores_the_case_of_accented_letters(client, world):
    """Customers write French, Italian and Czech: case folding is not only for ASCII."""
    screen = world.ticket(title="Écran noir au démarrage")
    printer = world.ticket(title="Tiskárna", description="ŘADIČ nehlásí chybu")
    headers = world.headers(world.requester)
    for q, expected in [("écran", screen), ("ÉCRAN", screen), ("řadič", printer)]:
        resp = client.get(f"{API}/tickets", query_string={"q": q}, headers=headers)
        assert references(resp) == [expected.reference], q


def test_search_treats_percent_and_underscore_literally(client, world):
    percent = world.ticket(title="Disk 100% full")
    world.ticket(title="Disk 1000 files")
    underscore = world.ticket(title="Error in snake_case module")
    world.ticket(title="Error in snakeXcase module")
    backslash = world.ticket(title="Path C:\\temp is missing")
    headers = world.headers(world.agent)
    cases = [
        ("100%", [percent]),
        ("snake_case", [underscore]),
        ("C:\\temp", [backslash]),
    ]
    for q, expected in cases:
        resp = client.get(f"{API}/tickets", query_string={"q": q}, headers=headers)
        assert references(resp) == [t.reference for t in expected], q
    # Whole words: punctuation alone is no word to look for.
    for q in ("%", "_"):
        resp = client.get(f"{API}/tickets", query_string={"q": q}, headers=headers)
        assert resp.status_code == 422, q
        assert resp.get_json()["error"]["details"]["field"] == "text"


def test_filter_by_type(client, world):
    incident = world.ticket(type="incident")
    question = world.ticket(type="question", title="How do I print?")
    headers = world.headers(world.requester)
    resp = client.get(f"{API}/tickets", query_string={"type": "question"}, headers=headers)
    assert references(resp) == [question.reference]
    resp = client.get(f"{API}/tickets", query_string={"type": "incident"}, headers=headers)
    assert references(resp) == [incident.reference]
    resp = client.get(f"{API}/tickets", query_string={"type": "feature"}, headers=headers)
    assert references(resp) == []


def test_filter_by_created_dates(client, world):
    created = {
        "jan": datetime(2026, 1, 15, 9, 0),
        "feb": datetime(2026, 2, 10, 12, 0),
        "mar": datetime(2026, 3, 1, 0, 30),
    }
    refs = {}
    for label, when in created.items():
        ticket = world.ticket(title=label)
        # Test set-up only: back-date the ticket.
        Ticket.update(created_at=when).where(Ticket.id == ticket.id).execute()
        refs[label] = ticket.reference
    headers = world.headers(world.agent)

    def listed(**query):
        return references(client.get(f"{API}/tickets", query_string=query, headers=headers))

    assert listed(**{"from": "2026-02-01"}) == [refs["mar"], refs["feb"]]
    assert listed(to="2026-02-01") == [refs["jan"]]
    assert listed(**{"from": "2026-02-01", "to": "2026-02-28"}) == [refs["feb"]]
    # A bare end date covers that whole day.
    assert listed(**{"from": "2026-02-10", "to": "2026-02-10"}) == [refs["feb"]]
    assert listed(to="2026-02-09") == [refs["jan"]]
    # Times with an offset are compared in UTC: 13:00+02:00 is 11:00 UTC, before noon.
    assert listed(**{"from": "2026-02-10T13:00:00+02:00", "to": "2026-02-10"}) == [refs["feb"]]
    assert listed(**{"from": "2026-02-10T12:00:01"}) == [refs["mar"]]


def test_filter_by_requester_and_assignee(client, world):
    ritas = world.ticket(title="rita's")
    carls = tickets.submit_ticket(actor=world.colleague, type="incident", title="carl's")
    tickets.assign(carls.reference, "me", actor=world.agent)
    headers = world.headers(world.agent)
    resp = client.get(
        f"{API}/tickets", query_string={"requester": "REQ@acme.test"}, headers=headers
    )
    assert references(resp) == [ritas.reference]
    resp = client.get(
        f"{API}/tickets", query_string={"requester": "col@acme.test"}, headers=headers
    )
    assert references(resp) == [carls.reference]
    resp = client.get(
        f"{API}/tickets", query_string={"assignee": "agent@example.test"}, headers=headers
    )
    assert references(resp) == [carls.reference]


# -- sharing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["col@acme.test", "COL@Acme.Test", "Carl Colleague", "carl colleague"]
)
def test_share_by_email_or_name(client, world, who):
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": [who]},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["added"] == ["col@acme.test"]
    assert {u["email"] for u in data["shared_with"]} == {"col@acme.test", "shared@acme.test"}
    shown = client.get(f"{API}/tickets/{ticket.reference}", headers=world.headers(world.colleague))
    assert shown.status_code == 200


def test_sharing_again_adds_nobody(client, world):
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": ["shared@acme.test", "Sheila Shared"]},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 200
    assert resp.get_json()["added"] == []


def test_share_with_an_ambiguous_name_lists_the_candidates(client, world):
    twin = User.create(email="carl.two@acme.test", name="Carl Colleague")
    Membership.create(user=twin, organization=world.acme)
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": ["Carl Colleague"]},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["details"]["candidates"] == ["carl.two@acme.test", "col@acme.test"]
    assert "carl.two@acme.test" in error["message"] and "col@acme.test" in error["message"]
    # Naming one by email works.
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": ["carl.two@acme.test"]},
        headers=world.headers(world.requester),
    )
    assert resp.get_json()["added"] == ["carl.two@acme.test"]


# By name, only colleagues are found; by email, someone outside is invited or refused with a
# reason (tests/server/test_sharing_outside_api.py).
@pytest.mark.parametrize("who", ["Otto Other", "Andy Agent"])
def test_share_with_someone_outside_the_organization_is_404(client, world, who):
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": [who]},
        headers=world.headers(world.requester),
    )
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    shown = client.get(f"{API}/tickets/{ticket.reference}", headers=world.headers(world.agent))
    assert [u["email"] for u in shown.get_json()["shared_with"]] == ["shared@acme.test"]


# -- assigning ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "assignee", "expected"),
    [
        ("agent", "agent@example.test", "agent@example.test"),
        ("agent", "AGENT@example.test", "agent@example.test"),
        ("admin", "Andy Agent", "agent@example.test"),
        ("admin", "andy agent", "agent@example.test"),
        ("agent", "me", "agent@example.test"),
        ("admin", "Me", "admin@example.test"),
    ],
)
def test_assign_opens_a_new_ticket(client, world, who, assignee, expected):
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/assign",
        json={"assignee": assignee},
        headers=world.headers(getattr(world, who)),
    )
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert data["assignee"]["email"] == expected
    assert data["status"] == "open"
    events = [(e["kind"], e["from"], e["to"]) for e in data["events"]]
    assert ("assigned", None, expected) in events
    assert ("status", "new", "open") in events
    # The requester sees who has it.
    shown = client.get(f"{API}/tickets/{ticket.reference}", headers=world.headers(world.requester))
    assert shown.get_json()["assignee"]["email"] == expected


def test_reassigning_an_open_ticket_keeps_it_open(client, world):
    ticket = world.ticket(status="pending")
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/assign",
        json={"assignee": "me"},
        headers=world.headers(world.agent),
    )
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "pending"


@pytest.mark.parametrize(
    ("assignee", "status", "code"),
    [
        ("Rita Requester", 422, "validation_failed"),
        ("req@acme.test", 422, "validation_failed"),
        ("nobody@example.test", 404, "not_found"),
        ("Nobody At All", 404, "not_found"),
    ],
)
def test_assign_only_to_an_existing_agent(client, world, assignee, status, code):
    ticket = world.ticket()
    resp = client.post(
        f"{API}/tickets/{ticket.reference}/assign",
        json={"assignee": assignee},
        headers=world.headers(world.agent),
    )
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code
    fresh = Ticket.get_by_id(ticket.id)
    assert fresh.assignee_id is None and fresh.status == "new"


# -- users and organizations --------------------------------------------------------------------


def test_admin_creates_an_organization(client, world):
    headers = world.headers(world.admin)
    resp = client.post(f"{API}/organizations", json={"name": "  Initech "}, headers=headers)
    assert resp.status_code == 201
    created = resp.get_json()
    assert created["name"] == "Initech"
    assert created["members"] == []
    shown = client.get(resp.headers["Location"], headers=headers)
    assert shown.status_code == 200
    assert shown.get_json()["name"] == "Initech"
    listed = client.get(f"{API}/organizations", headers=world.headers(world.agent)).get_json()
    assert [o["name"] for o in listed["items"]] == ["Acme", "Globex", "Initech"]
    assert {o["name"]: o["member_count"] for o in listed["items"]} == {
        "Acme": 4,
        "Globex": 1,
        "Initech": 0,
    }


def test_admin_registers_a_customer_in_an_organization(client, world):
    headers = world.headers(world.admin)
    resp = client.post(
        f"{API}/users",
        json={
            "email": "  Nina.New@ACME.test ",
            "name": "Nina New",
            "organization": "acme",
            "role": "power",
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    assert created["email"] == "nina.new@acme.test"
    assert created["kind"] == "customer"
    assert created["organizations"] == [{"name": "Acme", "role": "power"}]
    shown = client.get(resp.headers["Location"], headers=headers)
    assert shown.status_code == 200
    assert shown.get_json()["email"] == "nina.new@acme.test"
    org = client.get(f"{API}/organizations/{world.acme.id}", headers=headers).get_json()
    assert {"email": "nina.new@acme.test", "name": "Nina New", "role": "power"} in org["members"]

    again = client.post(
        f"{API}/users", json={"email": "NINA.NEW@acme.test", "name": "Nina Again"}, headers=headers
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "conflict"
    assert User.select().where(User.email == "nina.new@acme.test").count() == 1


def test_admin_adds_a_member_and_changes_the_role(client, world):
    headers = world.headers(world.admin)
    body = {"organization": "globex", "email": "COL@acme.test"}
    resp = client.post(f"{API}/memberships", json=body, headers=headers)
    assert resp.status_code == 200
    assert resp.get_json() == {"organization": "Globex", "email": "col@acme.test", "role": "user"}
    resp = client.post(f"{API}/memberships", json={**body, "role": "power"}, headers=headers)
    assert resp.get_json()["role"] == "power"
    me = client.get(f"{API}/me", headers=world.headers(world.colleague)).get_json()
    assert me["organizations"] == [
        {"name": "Acme", "role": "user"},
        {"name": "Globex", "role": "power"},
    ]


def test_agent_cannot_create_users_or_organizations(client, world):
    headers = world.headers(world.agent)
    resp = client.post(f"{API}/users", json={"email": "x@acme.test", "name": "X"}, headers=headers)
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "permission_denied"
    resp = client.post(f"{API}/organizations", json={"name": "Initech"}, headers=headers)
    assert resp.status_code == 403
    assert User.get_or_none(User.email == "x@acme.test") is None


def test_agent_lists_users_but_a_customer_cannot(client, world):
    listed = client.get(f"{API}/users", headers=world.headers(world.agent))
    assert listed.status_code == 200
    emails = [u["email"] for u in listed.get_json()["items"]]
    assert emails == sorted(emails) and len(emails) == 7
    agents = client.get(
        f"{API}/users", query_string={"kind": "agent"}, headers=world.headers(world.agent)
    )
    assert [u["email"] for u in agents.get_json()["items"]] == ["agent@example.test"]
    for customer in (world.requester, world.power):
        resp = client.get(f"{API}/users", headers=world.headers(customer))
        assert resp.status_code == 403
        assert resp.get_json()["error"]["code"] == "permission_denied"
        other = client.get(f"{API}/users/{world.agent.id}", headers=world.headers(customer))
        assert other.status_code == 403
    own = client.get(f"{API}/users/{world.requester.id}", headers=world.headers(world.requester))
    assert own.status_code == 200


# -- logging in and out -------------------------------------------------------------------------


@pytest.fixture
def with_password(world):
    """Rita can log in (hashed as every test hashes: cheaply)."""
    User.update(password_hash=passwords.hash_password(PASSWORD)).where(
        User.id == world.requester.id
    ).execute()
    return world


def test_login_returns_a_token_that_works(client, with_password):
    resp = client.post(
        f"{API}/auth/login",
        json={"email": "REQ@acme.test", "password": PASSWORD, "token_name": "laptop"},
    )
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["user"]["email"] == "req@acme.test"
    assert data["user"]["organizations"] == [{"name": "Acme", "role": "user"}]
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {data['token']}"})
    assert me.status_code == 200
    assert me.get_json()["email"] == "req@acme.test"


def test_wrong_password_and_unknown_email_look_the_same(client, with_password):
    wrong = client.post(f"{API}/auth/login", json={"email": "req@acme.test", "password": "nope"})
    unknown = client.post(
        f"{API}/auth/login", json={"email": "nobody@acme.test", "password": PASSWORD}
    )
    no_password = client.post(
        f"{API}/auth/login", json={"email": "col@acme.test", "password": PASSWORD}
    )
    for resp in (wrong, unknown, no_password):
        assert resp.status_code == 401
        assert "token" not in resp.get_json()
    assert wrong.get_json() == unknown.get_json() == no_password.get_json()
    assert wrong.get_json()["error"]["code"] == "authentication_required"


def test_deactivated_user_cannot_log_in(client, with_password):
    User.update(active=False).where(User.email == "req@acme.test").execute()
    resp = client.post(f"{API}/auth/login", json={"email": "req@acme.test", "password": PASSWORD})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["message"] == "Wrong email or password."


def test_logout_revokes_only_the_token_used(client, world):
    token = world.headers(world.requester)
    other = world.headers(world.requester)
    resp = client.post(f"{API}/auth/logout", headers=token)
    assert resp.status_code == 200
    assert resp.get_json() == {"revoked": True}
    after = client.get(f"{API}/me", headers=token)
    assert after.status_code == 401
    assert after.get_json()["error"]["code"] == "authentication_required"
    assert client.get(f"{API}/me", headers=other).status_code == 200


def test_health_needs_no_token(client, db):
    resp = client.get(f"{API}/health")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "ok"

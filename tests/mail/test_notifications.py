"""Notification emails as their recipients see them.

Every change goes through the real JSON API; every email goes through a real SMTP round
(`deliver()`) to the `mailbox` server, and is read back parsed, as a mail client would.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import deliver

from helpdesk.models import OutboxMessage, Ticket, User

API = "/api/v1"
DOMAIN = "helpdesk.test"  # of HELPDESK_MAIL_FROM, set by the mailbox fixture
TITLE = "Printer prints blank pages"
DESCRIPTION = "Every job comes out blank since Monday."
# Every internal note in this module says this; no email to a customer may ever contain it.
INTERNAL = "Internal: this customer is on the late-payers list"
SURVEY_LINK = re.compile(r"http://127\.0\.0\.1:5000/survey/([A-Za-z0-9_-]+)\?rating=(\d)")

REQ = "req@acme.test"
SHARED = "shared@acme.test"
COLLEAGUE = "col@acme.test"
AGENT = "agent@example.test"
ADMIN = "admin@example.test"


def recipient(msg) -> str:
    [address] = msg["To"].addresses
    return address.addr_spec


def text_of(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def html_of(msg) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


class Desk:
    """The world, the API as each of its users, and the mail that arrived since the last look."""

    def __init__(self, world, client, mailbox):
        self.world = world
        self.client = client
        self.mailbox = mailbox
        self.customers = {
            u.email
            for u in (
                world.requester,
                world.colleague,
                world.power,
                world.other_power,
                world.shared,
            )
        }
        self._headers: dict[int, dict] = {}
        self._seen = 0
        self._message_ids: set[str] = set()

    def api(self, user: User, method: str, path: str, **kwargs):
        if user.id not in self._headers:
            self._headers[user.id] = self.world.headers(user)
        return self.client.open(API + path, method=method, headers=self._headers[user.id], **kwargs)

    def post(self, user: User, path: str, body: dict, status: int = 200) -> dict:
        resp = self.api(user, "POST", path, json=body)
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()

    def get(self, user: User, path: str) -> dict:
        resp = self.api(user, "GET", path)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def new_ticket(self, title: str = TITLE) -> str:
        """Rita submits a ticket and shares it with Sheila; the mail about that is read."""
        body = {"type": "incident", "title": title, "description": DESCRIPTION}
        ref = self.post(self.world.requester, "/tickets", body, 201)["reference"]
        self.post(self.world.requester, f"/tickets/{ref}/shares", {"users": [SHARED]})
        self.mail()
        return ref

    def assigned_ticket(self, title: str = TITLE) -> str:
        """A ticket Andy the agent took for himself; the mail about that is read."""
        ref = self.new_ticket(title)
        self.post(self.world.agent, f"/tickets/{ref}/assign", {"assignee": "me"})
        self.mail()
        return ref

    def internal_note(self, ref: str) -> None:
        self.post(
            self.world.agent, f"/tickets/{ref}/comments", {"body": INTERNAL, "internal": True}, 201
        )

    def mail(self) -> dict[str, list]:
        """Run a delivery round; what arrived since the last call, by recipient."""
        deliver()
        envelopes = self.mailbox.envelopes[self._seen :]
        new = self.mailbox.messages[self._seen :]
        self._seen = len(self.mailbox.messages)
        by_recipient: dict[str, list] = {}
        for envelope, msg in zip(envelopes, new, strict=True):
            address = recipient(msg)
            assert envelope.rcpt_tos == [address]  # sent to the person it is addressed to
            self.check_well_formed(msg)
            if address in self.customers:
                for part in (msg["Subject"], text_of(msg), html_of(msg)):
                    assert INTERNAL not in part, f"internal note leaked to {address}"
            by_recipient.setdefault(address, []).append(msg)
        return by_recipient

    def check_well_formed(self, msg) -> None:
        """What every notification carries: threading, robot marker, text and HTML."""
        match = re.match(r"\[(HD-\d+)\] \S", msg["Subject"])
        assert match, msg["Subject"]
        thread = f"<{match[1]}@{DOMAIN}>"
        assert msg["In-Reply-To"] == thread
        assert msg["References"] == thread
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg["From"].addresses[0].addr_spec == "support@helpdesk.test"
        assert msg["Date"]
        message_id = msg["Message-ID"]
        assert re.fullmatch(rf"<[^<>@\s]+@{re.escape(DOMAIN)}>", message_id), message_id
        assert message_id not in self._message_ids, "Message-ID reused"
        self._message_ids.add(message_id)
        assert msg.get_content_type() == "multipart/alternative"
        parts = [part.get_content_type() for part in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"]


@pytest.fixture
def desk(world, client, mailbox):
    return Desk(world, client, mailbox)


def outbox_count() -> int:
    return OutboxMessage.select().count()


# -- a new ticket -----------------------------------------------------------------------------


def test_a_new_ticket_is_acknowledged_and_announced_to_every_agent(desk):
    body = {"type": "incident", "title": TITLE, "description": DESCRIPTION}
    ref = desk.post(desk.world.requester, "/tickets", body, 201)["reference"]

    mail = desk.mail()
    assert set(mail) == {REQ, AGENT, ADMIN}

    [ack] = mail[REQ]
    assert ack["Subject"] == f"[{ref}] Ticket received: {TITLE}"
    assert ack["In-Reply-To"] == ack["References"] == f"<{ref}@helpdesk.test>"
    assert ack["Auto-Submitted"] == "auto-generated"
    text = text_of(ack)
    assert text.startswith("Hello Rita Requester,")
    assert f"We have received your ticket {ref} and will get back to you soon." in text
    assert "We have received your ticket" in html_of(ack)

    for address in (AGENT, ADMIN):
        [announcement] = mail[address]
        assert announcement["Subject"] == f"[{ref}] New ticket: {TITLE}"
        assert f"Rita Requester submitted a new ticket {ref}." in text_of(announcement)
        assert DESCRIPTION in text_of(announcement)
        assert DESCRIPTION in html_of(announcement)

    ids = [m["Message-ID"] for msgs in mail.values() for m in msgs]
    assert len(set(ids)) == 3
    assert desk.mail() == {}  # delivered once


def test_the_mail_link_opens_the_requests_portal_page(desk, browser):
    body = {"type": "incident", "title": TITLE, "description": DESCRIPTION}
    ref = desk.post(desk.world.requester, "/tickets", body, 201)["reference"]
    [ack] = desk.mail()[REQ]
    page = f"http://127.0.0.1:5000/requests/{ref}"
    assert page in text_of(ack)
    assert f'href="{page}"' in html_of(ack)
    assert "/api/v1/" not in text_of(ack) + html_of(ack)
    # Followed in a browser, the link shows the request (after the login form).
    path = page.removeprefix("http://127.0.0.1:5000")
    login = browser.get(path)
    assert login.status_code == 302 and "/login?next=" in login.headers["Location"]
    browser.login(desk.world.requester)
    assert browser.get(path).status_code == 200
    assert ref in browser.page and TITLE in browser.page


def test_a_ticket_an_agent_opens_for_a_customer(desk):
    body = {"type": "question", "title": "VPN access", "requester": REQ}
    ref = desk.post(desk.world.agent, "/tickets", body, 201)["reference"]

    mail = desk.mail()
    # The requester hears although they did not write it; the agent who did is not told.
    assert set(mail) == {REQ, ADMIN}
    assert mail[REQ][0]["Subject"] == f"[{ref}] Ticket received: VPN access"
    assert mail[ADMIN][0]["Subject"] == f"[{ref}] New ticket: VPN access"
    assert "Andy Agent submitted a new ticket" in text_of(mail[ADMIN][0])


def test_no_agent_hears_of_unassigned_tickets_when_configured_so(desk, monkeypatch):
    monkeypatch.setenv("HELPDESK_NOTIFY_UNASSIGNED", "none")
    body = {"type": "incident", "title": TITLE}
    ref = desk.post(desk.world.requester, "/tickets", body, 201)["reference"]
    assert set(desk.mail()) == {REQ}

    desk.post(desk.world.requester, f"/tickets/{ref}/shares", {"users": [SHARED]})
    desk.mail()
    desk.post(desk.world.shared, f"/tickets/{ref}/comments", {"body": "Same here."}, 201)
    assert set(desk.mail()) == {REQ}


# -- assignment and replies -------------------------------------------------------------------


def test_taking_a_ticket_tells_the_customers_not_the_agent(desk):
    ref = desk.new_ticket()
    desk.post(desk.world.agent, f"/tickets/{ref}/assign", {"assignee": "me"})

    mail = desk.mail()
    assert set(mail) == {REQ, SHARED}
    for address in (REQ, SHARED):
        [msg] = mail[address]
        assert msg["Subject"] == f"[{ref}] Ticket assigned: {TITLE}"
        assert f"Andy Agent is now handling ticket {ref}." in text_of(msg)


def test_an_assignment_by_someone_else_tells_the_assignee(desk):
    ref = desk.new_ticket()
    desk.post(desk.world.admin, f"/tickets/{ref}/assign", {"assignee": AGENT})

    mail = desk.mail()
    assert set(mail) == {REQ, SHARED, AGENT}
    [msg] = mail[AGENT]
    assert msg["Subject"] == f"[{ref}] Ticket assigned: {TITLE}"


def test_customer_replies_reach_the_assignee_and_the_other_followers(desk):
    ref = desk.assigned_ticket()
    w = desk.world

    desk.post(w.requester, f"/tickets/{ref}/comments", {"body": "It also jams now."}, 201)
    mail = desk.mail()
    # Once assigned, agents' mail goes to the assignee only: the admin hears nothing.
    assert set(mail) == {AGENT, SHARED}
    for address in (AGENT, SHARED):
        [msg] = mail[address]
        assert msg["Subject"] == f"[{ref}] New reply: {TITLE}"
        assert f"Rita Requester replied to ticket {ref}:" in text_of(msg)
        assert "It also jams now." in text_of(msg)
        assert "It also jams now." in html_of(msg)

    desk.post(w.shared, f"/tickets/{ref}/comments", {"body": "Mine too."}, 201)
    mail = desk.mail()
    assert set(mail) == {AGENT, REQ}
    assert all("Mine too." in text_of(m[0]) for m in mail.values())


def test_a_public_agent_reply_reaches_the_customers_and_a_note_reaches_nobody(desk):
    ref = desk.assigned_ticket()

    desk.internal_note(ref)
    assert desk.mail() == {}

    reply = "Please try tray 2 & print a <b>test page</b>."
    desk.post(desk.world.agent, f"/tickets/{ref}/comments", {"body": reply}, 201)
    mail = desk.mail()
    assert set(mail) == {REQ, SHARED}
    for address in (REQ, SHARED):
        [msg] = mail[address]
        assert msg["Subject"] == f"[{ref}] New reply: {TITLE}"
        assert f"Andy Agent replied to ticket {ref}:" in text_of(msg)
        assert reply in text_of(msg)
        # In the HTML part the reply is text, not markup.
        assert "tray 2 &amp; print a &lt;b&gt;test page&lt;/b&gt;." in html_of(msg)
        assert "<b>test page</b>" not in html_of(msg)


def test_status_changes_reach_the_customers(desk):
    ref = desk.assigned_ticket()
    agent = desk.world.agent
    desk.internal_note(ref)

    desk.post(agent, f"/tickets/{ref}/transition", {"to": "pending", "comment": "Which tray?"})
    mail = desk.mail()
    assert set(mail) == {REQ, SHARED}
    for address in (REQ, SHARED):
        [msg] = mail[address]
        assert msg["Subject"] == f"[{ref}] Ticket waiting for you: {TITLE}"
        assert f"Andy Agent changed the status of {ref} to waiting for you." in text_of(msg)
        assert "Which tray?" in text_of(msg)

    desk.post(agent, f"/tickets/{ref}/transition", {"to": "resolved"})
    mail = desk.mail()
    assert set(mail) == {REQ, SHARED}
    assert {m[0]["Subject"] for m in mail.values()} == {f"[{ref}] Ticket resolved: {TITLE}"}

    desk.post(agent, f"/tickets/{ref}/close", {})
    mail = desk.mail()
    assert set(mail) == {REQ, SHARED}
    [closed] = mail[SHARED]
    assert closed["Subject"] == f"[{ref}] Ticket closed: {TITLE}"
    [survey] = mail[REQ]  # the invitation to rate tells the requester it is closed
    assert survey["Subject"] == f"[{ref}] How did we do? {TITLE}"


def test_a_reopened_ticket_tells_the_assignee_why(desk):
    ref = desk.assigned_ticket()
    desk.post(desk.world.agent, f"/tickets/{ref}/transition", {"to": "resolved"})
    desk.mail()

    why = "Still blank pages after the new driver."
    desk.post(desk.world.requester, f"/tickets/{ref}/reopen", {"comment": why})
    mail = desk.mail()
    assert set(mail) == {AGENT, SHARED}
    [reopened] = mail[AGENT]
    assert reopened["Subject"] == f"[{ref}] Ticket reopened: {TITLE}"
    assert f"Rita Requester reopened ticket {ref}:" in text_of(reopened)
    assert why in text_of(reopened)
    assert why in html_of(reopened)
    [status] = mail[SHARED]
    assert status["Subject"] == f"[{ref}] Ticket open: {TITLE}"


def test_sharing_tells_the_new_sharee_only(desk):
    ref = desk.new_ticket()
    desk.post(desk.world.requester, f"/tickets/{ref}/shares", {"users": [COLLEAGUE]})

    mail = desk.mail()
    assert set(mail) == {COLLEAGUE}
    [msg] = mail[COLLEAGUE]
    assert msg["Subject"] == f"[{ref}] Ticket shared with you: {TITLE}"
    assert f"Rita Requester shared ticket {ref} with you." in text_of(msg)

    # Sharing again adds nobody and tells nobody.
    desk.post(desk.world.requester, f"/tickets/{ref}/shares", {"users": [COLLEAGUE]})
    assert desk.mail() == {}


# -- closing and the survey -------------------------------------------------------------------


def test_closing_without_a_rating_invites_the_requester_to_rate(desk):
    ref = desk.assigned_ticket()
    desk.internal_note(ref)
    desk.post(desk.world.agent, f"/tickets/{ref}/close", {})

    mail = desk.mail()
    assert set(mail) == {REQ, SHARED}
    assert mail[SHARED][0]["Subject"] == f"[{ref}] Ticket closed: {TITLE}"
    [survey] = mail[REQ]
    assert survey["Subject"] == f"[{ref}] How did we do? {TITLE}"
    text = text_of(survey)
    assert f"Ticket {ref} is closed. Please tell us how satisfied you are" in text
    links = SURVEY_LINK.findall(text)
    assert [rating for _, rating in links] == ["1", "2", "3", "4", "5"]
    tokens = {token for token, _ in links}
    assert len(tokens) == 1
    [token] = tokens
    assert len(token) >= 32
    html = html_of(survey)
    for n in range(1, 6):
        assert f'href="http://127.0.0.1:5000/survey/{token}?rating={n}"' in html


def test_closing_with_a_rating_sends_no_survey(desk):
    ref = desk.assigned_ticket()
    desk.post(desk.world.requester, f"/tickets/{ref}/close", {"rating": 4})

    mail = desk.mail()
    assert set(mail) == {SHARED}
    [msg] = mail[SHARED]
    assert msg["Subject"] == f"[{ref}] Ticket closed: {TITLE}"
    assert "How did we do" not in text_of(msg)


# -- switching emails off ---------------------------------------------------------------------


def test_notifications_can_be_switched_off_for_one_ticket(desk):
    quiet = desk.assigned_ticket("Printer prints blank pages")
    loud = desk.assigned_ticket("Scanner is slow")
    w = desk.world

    answer = desk.post(w.requester, f"/tickets/{quiet}/notifications", {"enabled": False})
    assert answer["reference"] == quiet
    assert answer["notifications"] is False
    assert desk.get(w.requester, f"/tickets/{quiet}")["notifications"] is False
    assert desk.get(w.requester, f"/tickets/{loud}")["notifications"] is True
    assert desk.get(w.shared, f"/tickets/{quiet}")["notifications"] is True

    for ref in (quiet, loud):
        desk.post(w.agent, f"/tickets/{ref}/comments", {"body": f"Update on {ref}."}, 201)
    mail = desk.mail()
    assert [m["Subject"] for m in mail[REQ]] == [f"[{loud}] New reply: Scanner is slow"]
    assert len(mail[SHARED]) == 2  # Sheila's emails are hers to switch

    answer = desk.post(w.requester, f"/tickets/{quiet}/notifications", {"enabled": True})
    assert answer["notifications"] is True
    desk.post(w.agent, f"/tickets/{quiet}/comments", {"body": "Back on?"}, 201)
    mail = desk.mail()
    assert [m["Subject"] for m in mail[REQ]] == [f"[{quiet}] New reply: {TITLE}"]


def test_an_agent_can_switch_off_a_ticket_too(desk):
    ref = desk.assigned_ticket()
    desk.post(desk.world.agent, f"/tickets/{ref}/notifications", {"enabled": False})
    desk.post(desk.world.requester, f"/tickets/{ref}/comments", {"body": "Any news?"}, 201)
    assert set(desk.mail()) == {SHARED}


def test_no_survey_for_a_requester_who_switched_the_ticket_off(desk):
    ref = desk.assigned_ticket()
    desk.post(desk.world.requester, f"/tickets/{ref}/notifications", {"enabled": False})
    desk.post(desk.world.agent, f"/tickets/{ref}/close", {})
    assert set(desk.mail()) == {SHARED}


# -- languages --------------------------------------------------------------------------------

CZECH_TITLE = "Tiskárna tiskne prázdné stránky"

LANGUAGES = {
    # language: (reply subject, greeting, reply intro, resolved subject)
    "fr": (
        "Nouvelle réponse : " + CZECH_TITLE,
        "Bonjour Rita Requester,",
        "Andy Agent a répondu au ticket {ref} :",
        "Ticket résolu : " + CZECH_TITLE,
    ),
    "it": (
        "Nuova risposta: " + CZECH_TITLE,
        "Ciao Rita Requester,",
        "Andy Agent ha risposto al ticket {ref}:",
        "Ticket risolto: " + CZECH_TITLE,
    ),
    "cs": (
        "Nová odpověď: " + CZECH_TITLE,
        "Dobrý den, Rita Requester,",
        "Andy Agent odpověděl(a) na požadavek {ref}:",
        "Požadavek vyřešený: " + CZECH_TITLE,
    ),
    # No German catalogue: English it is.
    "de": (
        "New reply: " + CZECH_TITLE,
        "Hello Rita Requester,",
        "Andy Agent replied to ticket {ref}:",
        "Ticket resolved: " + CZECH_TITLE,
    ),
}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_emails_speak_the_recipients_language(desk, language):
    reply_subject, greeting, intro, resolved_subject = LANGUAGES[language]
    ref = desk.assigned_ticket(CZECH_TITLE)
    User.update(language=language).where(User.id == desk.world.requester.id).execute()

    desk.post(desk.world.agent, f"/tickets/{ref}/comments", {"body": "Zkuste zásobník 2."}, 201)
    mail = desk.mail()
    [msg] = mail[REQ]
    assert msg["Subject"] == f"[{ref}] {reply_subject}"
    text = text_of(msg)
    assert text.startswith(greeting)
    assert intro.format(ref=ref) in text
    assert "Zkuste zásobník 2." in text
    assert greeting in html_of(msg)
    # Sheila kept English.
    assert mail[SHARED][0]["Subject"] == f"[{ref}] New reply: {CZECH_TITLE}"

    desk.post(desk.world.agent, f"/tickets/{ref}/transition", {"to": "resolved"})
    [msg] = desk.mail()[REQ]
    assert msg["Subject"] == f"[{ref}] {resolved_subject}"


def test_a_czech_subject_travels_encoded_and_decodes_intact(desk):
    ref = desk.assigned_ticket(CZECH_TITLE)
    User.update(language="cs").where(User.id == desk.world.requester.id).execute()
    desk.post(desk.world.agent, f"/tickets/{ref}/comments", {"body": "Hotovo."}, 201)

    [msg] = desk.mail()[REQ]
    assert msg["Subject"] == f"[{ref}] Nová odpověď: {CZECH_TITLE}"
    envelope = desk.mailbox.envelopes[desk.mailbox.messages.index(msg)]
    headers = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii()  # RFC 5322 headers: non-ASCII only as encoded words
    assert "Nová odpověď" not in headers.decode()


def test_emails_declare_their_language(desk):
    ref = desk.assigned_ticket()
    User.update(language="cs").where(User.id == desk.world.requester.id).execute()
    desk.post(desk.world.agent, f"/tickets/{ref}/comments", {"body": "Hotovo."}, 201)

    mail = desk.mail()
    [czech] = mail[REQ]
    [english] = mail[SHARED]
    assert '<html lang="cs">' in html_of(czech)
    # The message says which language it is written in (RFC 3282), as the outbox row does.
    assert czech["Content-Language"] == "cs"
    assert english["Content-Language"] == "en"


# -- a refused change sends nothing -----------------------------------------------------------


def test_an_invalid_transition_queues_no_mail(desk):
    ref = desk.new_ticket()
    before = outbox_count()

    resp = desk.api(desk.world.agent, "POST", f"/tickets/{ref}/transition", json={"to": "resolved"})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "invalid_transition"
    resp = desk.api(desk.world.shared, "POST", f"/tickets/{ref}/assign", json={"assignee": "me"})
    assert resp.status_code == 403

    assert outbox_count() == before
    assert desk.mail() == {}


@pytest.fixture
def small_attachments(env, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAX_ATTACHMENT_SIZE", "1024")


def test_a_reply_that_fails_after_the_mail_was_written_queues_nothing(small_attachments, desk):
    """The reply's emails are written before its attachment is stored: the rollback takes them."""
    ref = desk.assigned_ticket()
    before = outbox_count()

    resp = desk.api(
        desk.world.agent,
        "POST",
        f"/tickets/{ref}/comments",
        data={
            "data": json.dumps({"body": "Here is the log you asked for."}),
            "attachments": [(io.BytesIO(b"x" * 4096), "printer.log")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 413, resp.get_json()

    assert outbox_count() == before
    assert desk.mail() == {}
    comments = desk.get(desk.world.agent, f"/tickets/{ref}/comments")
    assert "Here is the log you asked for." not in [c["body"] for c in comments["items"]]


def test_a_title_with_a_line_break_is_refused_and_sends_nothing(desk):
    body = {"type": "incident", "title": "Printer broken\nBcc: someone@elsewhere.test"}
    resp = desk.api(desk.world.requester, "POST", "/tickets", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["code"] == "validation_failed"
    assert "one line" in resp.get_json()["error"]["message"]
    assert outbox_count() == 0
    assert desk.mail() == {}


def test_an_old_title_with_a_line_break_still_makes_a_one_line_subject(desk):
    ref = desk.assigned_ticket()
    # Data from before titles had to be one line.
    Ticket.update(title="Printer broken\nBcc: someone@elsewhere.test").where(
        Ticket.reference == ref
    ).execute()
    desk.post(desk.world.agent, f"/tickets/{ref}/comments", {"body": "Looking."}, 201)

    mail = desk.mail()
    assert set(mail) == {REQ, SHARED}
    for [msg] in mail.values():
        assert msg["Subject"] == f"[{ref}] New reply: Printer broken Bcc: someone@elsewhere.test"
        assert msg["Bcc"] is None
    assert all(e.rcpt_tos != ["someone@elsewhere.test"] for e in desk.mailbox.envelopes)


def test_status_and_priority_are_words_of_the_recipients_language(desk):
    ref = desk.assigned_ticket(CZECH_TITLE)
    User.update(language="cs").where(User.id == desk.world.requester.id).execute()
    desk.post(desk.world.agent, f"/tickets/{ref}/comments", {"body": "Hotovo."}, 201)

    mail = desk.mail()
    [czech] = mail[REQ]
    [english] = mail[SHARED]
    assert "Stav: otevřený | Priorita: střední" in text_of(czech)
    assert "Stav: otevřený | Priorita: střední" in html_of(czech)
    assert "Status: open | Priority: medium" in text_of(english)

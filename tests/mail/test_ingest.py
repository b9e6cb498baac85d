"""Email to tickets: a corpus of real-world shapes, and what a support team would check.

Messages are built here, in the shapes Outlook, Gmail and Thunderbird write them, in several
languages and charsets, plus auto-replies, bounces and broken or hostile mail.
"""

from __future__ import annotations

import base64
import json
import logging
import mailbox
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
import typer
from conftest import make_user
from typer.testing import CliRunner

from helpdesk.cli.mail_ingest import ingest_command
from helpdesk.config import load_settings
from helpdesk.db import database
from helpdesk.mail.ingest import ingest_maildir, ingest_message
from helpdesk.models import (
    Attachment,
    Comment,
    Event,
    InboundMessage,
    Membership,
    Organization,
    OutboxMessage,
    Ticket,
    User,
)
from helpdesk.services import tickets
from helpdesk.storage import active_store, configure_storage

HELPDESK = "Helpdesk <helpdesk@localhost>"  # the default HELPDESK_MAIL_FROM
RITA = "Rita Requester <req@acme.test>"


def message(
    body: str = "Every job comes out blank.",
    *,
    subject: str = "Printer prints blank pages",
    sender: str | None = RITA,
    headers: dict[str, str] | None = None,
    message_id: bool = True,
) -> EmailMessage:
    msg = EmailMessage()
    if sender is not None:
        msg["From"] = sender
    msg["To"] = HELPDESK
    msg["Subject"] = subject
    msg["Date"] = "Mon, 23 Nov 2026 10:05:00 +0100"
    if message_id:
        msg["Message-ID"] = make_msgid(domain="mail.acme.test")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg


def raw_message(headers: str, body: bytes) -> bytes:
    """A message exactly as given, for shapes EmailMessage would not write."""
    return headers.strip().replace("\n", "\r\n").encode("ascii") + b"\r\n\r\n" + body


def counts() -> dict[str, int]:
    models = (Ticket, Comment, Attachment, Event, InboundMessage, User, Membership, Organization)
    return {model.__name__: model.select().count() for model in models}


@pytest.fixture
def ingest(world):
    """Ingest one message (EmailMessage or bytes) with the settings of the environment now."""

    def run(msg):
        raw = msg if isinstance(msg, bytes) else msg.as_bytes()
        return ingest_message(raw, load_settings())

    return run


def ticket_of(result) -> Ticket:
    return Ticket.get(Ticket.reference == result.reference)


def comments_of(ticket: Ticket) -> list[Comment]:
    return list(Comment.select().where(Comment.ticket == ticket).order_by(Comment.id))


# -- new tickets --------------------------------------------------------------------------


def test_mail_from_a_customer_opens_a_question_in_their_organization(world, ingest):
    msg = message(
        "Every job comes out blank, since this morning.\n\nThanks,\n-- \nRita Requester\n"
        "Acme Corp, 3rd floor\n",
        sender="Rita Requester <REQ@Acme.Test>",  # addresses match whatever their case
    )
    result = ingest(msg)

    assert (result.outcome, result.reason, result.message_id) == (
        "created",
        None,
        msg["Message-ID"],
    )
    ticket = ticket_of(result)
    assert ticket.type == "question"
    assert ticket.title == "Printer prints blank pages"
    assert ticket.description == "Every job comes out blank, since this morning.\n\nThanks,"
    assert ticket.requester == world.requester
    assert ticket.organization == world.acme
    assert ticket.status == "new"
    record = InboundMessage.get(InboundMessage.message_id == msg["Message-ID"])
    assert (record.outcome, record.ticket_id, record.sender) == (
        "created",
        ticket.id,
        "req@acme.test",
    )


def test_the_type_of_a_ticket_opened_by_email_is_a_setting(world, ingest, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAIL_TICKET_TYPE", "incident")
    assert ticket_of(ingest(message())).type == "incident"


def test_a_customer_of_several_organizations_files_in_the_first_by_name(world, ingest):
    Membership.create(user=world.requester, organization=world.globex)
    zeta = Organization.create(name="Zeta")
    Membership.create(user=world.requester, organization=zeta)
    assert ticket_of(ingest(message())).organization == world.acme  # Acme < Globex < Zeta


@pytest.mark.parametrize(
    "subject,title",
    [
        ("RE: AW: TR: Printer prints blank pages", "Printer prints blank pages"),
        ("Re:Re:   VPN   drops every hour", "VPN drops every hour"),
        ("", "(no subject)"),
        ("Re:", "(no subject)"),
        ("Réunion: salle 3", "Réunion: salle 3"),  # a word ending in "re" is not a prefix
    ],
)
def test_the_title_is_the_subject_without_reply_and_forward_prefixes(ingest, subject, title):
    assert ticket_of(ingest(message(subject=subject))).title == title


def test_a_long_subject_is_cut_to_the_longest_title(ingest):
    assert ticket_of(ingest(message(subject="Printer " * 60))).title == ("Printer " * 25).strip()


def test_a_forward_opens_a_ticket_with_the_forwarded_text(world, ingest):
    body = (
        "Can you check this invoice? It is wrong.\n"
        "\n"
        "---------- Forwarded message ---------\n"
        "From: Billing <billing@vendor.test>\n"
        "Date: Mon, 23 Nov 2026 at 09:00\n"
        "Subject: Invoice 4711\n"
        "To: <req@acme.test>\n"
        "\n"
        "Please pay 12,000 EUR for 3 printers.\n"
    )
    result = ingest(message(body, subject="Fwd: Invoice 4711"))

    assert result.outcome == "created"
    ticket = ticket_of(result)
    assert ticket.title == "Invoice 4711"
    assert ticket.description.startswith("Can you check this invoice? It is wrong.")
    assert "From: Billing <billing@vendor.test>" in ticket.description
    assert ticket.description.endswith("Please pay 12,000 EUR for 3 printers.")


def test_an_agents_mail_that_is_no_reply_opens_nothing(world, ingest):
    before = counts()
    result = ingest(message(sender="Andy Agent <agent@example.test>"))
    assert result.outcome == "refused"
    assert "only customers" in result.reason
    assert {**counts(), "InboundMessage": before["InboundMessage"]} == before


def test_mail_from_the_help_desk_itself_is_ignored(world, ingest):
    result = ingest(message(sender=HELPDESK))
    assert (result.outcome, result.reason) == ("ignored", "sent by the help desk itself")
    assert Ticket.select().count() == 0


# -- replies ------------------------------------------------------------------------------


def test_an_outlook_reply_becomes_a_trimmed_public_comment_by_the_sender(world, ingest):
    ticket = world.ticket()
    body = (
        "Tray 2.\r\n"
        "\r\n"
        "Regards,\r\n"
        "Rita\r\n"
        "\r\n"
        "________________________________\r\n"
        "From: Helpdesk <helpdesk@localhost>\r\n"
        "Sent: Monday, November 23, 2026 10:00 AM\r\n"
        "To: Rita Requester <req@acme.test>\r\n"
        f"Subject: [{ticket.reference}] New reply: Printer prints blank pages\r\n"
        "\r\n"
        "Andy Agent replied to ticket HD-1:\r\n"
        "Which tray do you print from?\r\n"
    )
    subject = f"RE: [{ticket.reference.lower()}] New reply: Printer prints blank pages"
    result = ingest(message(body, subject=subject))

    assert (result.outcome, result.reference) == ("commented", ticket.reference)
    [comment] = comments_of(ticket)
    assert comment.body == "Tray 2.\n\nRegards,\nRita"
    assert comment.author == world.requester
    assert comment.visibility == "public"
    assert Ticket.select().count() == 1  # no new ticket


GMAIL_ATTRIBUTIONS = [
    "On Mon, 23 Nov 2026 at 10:00, Helpdesk <helpdesk@localhost> wrote:",
    # Gmail wraps a long attribution line over two lines.
    "On Mon, 23 Nov 2026 at 10:00, Helpdesk Support Team of Acme <helpdesk@localhost>\nwrote:",
]


@pytest.mark.parametrize("attribution", GMAIL_ATTRIBUTIONS, ids=["one line", "wrapped"])
def test_a_gmail_reply_to_a_message_we_sent_brings_a_pending_ticket_back(
    world, ingest, attribution
):
    ticket = world.ticket(status="pending")
    sent = OutboxMessage.create(  # the notification Rita answers
        ticket=ticket,
        recipient=world.requester,
        to_address=world.requester.email,
        subject="New reply: Printer prints blank pages",
        kind="reply",
        message_id="<f00dfeed0123456789abcdef@mail.helpdesk.test>",
        raw="(the sent message)",
    )
    body = (
        "It is tray 2, the one at the bottom.\n"
        "\n"
        f"{attribution}\n"
        "\n"
        "> Andy Agent replied to ticket HD-1:\n"
        "> Which tray do you print from?\n"
        ">\n"
        "> -- \n"
        "> Helpdesk\n"
    )
    # No reference in the subject: the In-Reply-To header alone finds the ticket.
    msg = message(
        body,
        subject="Re: New reply: Printer prints blank pages",
        headers={"In-Reply-To": sent.message_id, "References": sent.message_id},
    )
    result = ingest(msg)

    assert (result.outcome, result.reference) == ("commented", ticket.reference)
    [comment] = comments_of(ticket)
    assert comment.body == "It is tray 2, the one at the bottom."
    assert comment.author == world.requester
    assert Ticket.get_by_id(ticket.id).status == "open"


def test_a_thunderbird_reply_is_found_by_the_tickets_thread_id(world, ingest):
    ticket = world.ticket()
    body = (
        "Still blank after the reboot.\n"
        "\n"
        "On 23/11/2026 10:00, Helpdesk wrote:\n"
        "> Please reboot the printer.\n"
    )
    msg = message(
        body,
        subject="Re: Printer",
        headers={"References": f"<abc.{ticket.reference}@localhost> <other@mail.acme.test>"},
    )
    result = ingest(msg)
    assert (result.outcome, result.reference) == ("commented", ticket.reference)
    assert comments_of(ticket)[0].body == "Still blank after the reboot."


def test_a_thread_id_of_another_domain_is_no_reference(world, ingest):
    world.ticket()
    msg = message(subject="Printer again", headers={"In-Reply-To": "<HD-1@elsewhere.test>"})
    result = ingest(msg)
    assert result.outcome == "created"  # a new ticket, not a comment on HD-1
    assert result.reference == "HD-2"


LANGUAGES = {
    "french": (
        "iso-8859-1",
        "Merci, ça marche à nouveau.\n\n"
        "Le lun. 23 nov. 2026 à 10:00, Helpdesk <helpdesk@localhost> a écrit :\n"
        "> Quel bac utilisez-vous ?\n",
        "Merci, ça marche à nouveau.",
    ),
    "italian": (
        "utf-8",
        "Grazie, adesso funziona.\n\n"
        "Il giorno lun 23 nov 2026 alle ore 10:00 Helpdesk <helpdesk@localhost> ha scritto:\n"
        "> Quale vassoio usa?\n",
        "Grazie, adesso funziona.",
    ),
    "czech": (
        "windows-1250",
        "Díky, už to zase tiskne.\n\n"
        "Dne 23. 11. 2026 v 10:00 Helpdesk napsal(a):\n"
        "> Který zásobník používáte?\n",
        "Díky, už to zase tiskne.",
    ),
}


@pytest.mark.parametrize("charset,body,expected", LANGUAGES.values(), ids=LANGUAGES.keys())
def test_quote_headers_in_other_languages_are_trimmed(world, ingest, charset, body, expected):
    ticket = world.ticket()
    raw = raw_message(
        f"""
From: Rita Requester <req@acme.test>
To: {HELPDESK}
Subject: Re: [{ticket.reference}] Printer prints blank pages
Message-ID: <{charset}-reply@mail.acme.test>
MIME-Version: 1.0
Content-Type: text/plain; charset={charset}
Content-Transfer-Encoding: 8bit
""",
        body.encode(charset),
    )
    result = ingest(raw)
    assert result.outcome == "commented"
    assert comments_of(ticket)[0].body == expected


def test_a_reply_with_original_message_separator_is_trimmed(world, ingest):
    ticket = world.ticket()
    body = "Done.\n\n-----Original Message-----\nFrom: Helpdesk\nPlease restart it.\n"
    ingest(message(body, subject=f"RE: [{ticket.reference}] Printer"))
    assert comments_of(ticket)[0].body == "Done."


def test_a_reply_that_is_all_quote_keeps_the_whole_text(world, ingest):
    ticket = world.ticket()
    ingest(message("> Which tray?\nTray 2 obviously\n> thanks", subject="Re: [HD-1] Printer"))
    ingest(message("> Which tray do you print from?\n", subject="Re: [HD-1] Printer"))
    assert [c.body for c in comments_of(ticket)] == [
        "Tray 2 obviously",
        "> Which tray do you print from?",
    ]


def test_a_reply_to_a_closed_ticket_is_refused_and_changes_nothing(world, ingest):
    ticket = world.ticket(status="closed")
    before = counts()
    result = ingest(message("Hello?", subject=f"Re: [{ticket.reference}] Printer"))

    assert (result.outcome, result.reference) == ("refused", ticket.reference)
    assert "is closed" in result.reason
    assert counts() == {**before, "InboundMessage": before["InboundMessage"] + 1}
    assert Ticket.get_by_id(ticket.id).status == "closed"
    record = InboundMessage.get(InboundMessage.message_id == result.message_id)
    assert (record.outcome, record.reason) == ("refused", result.reason)


def test_a_sender_who_may_not_see_the_ticket_is_refused(world, ingest):
    ticket = world.ticket()
    before = counts()
    result = ingest(
        message("Me too!", sender="Otto <power@globex.test>", subject="Re: [HD-1] Printer")
    )
    assert result.outcome == "refused"
    assert result.reason == f"No such ticket: {ticket.reference}."
    assert comments_of(ticket) == []
    assert counts()["Ticket"] == before["Ticket"]


def test_a_colleague_the_ticket_is_shared_with_may_reply(world, ingest):
    ticket = world.ticket()
    result = ingest(message("Same here.", sender="shared@acme.test", subject="Re: [HD-1] Printer"))
    assert result.outcome == "commented"
    assert comments_of(ticket)[0].author == world.shared


def test_an_agents_reply_is_a_public_comment_that_leaves_the_status(world, ingest):
    ticket = world.ticket(status="pending")
    result = ingest(
        message("Any news?", sender="Andy Agent <agent@example.test>", subject="Re: [HD-1] P")
    )
    assert result.outcome == "commented"
    [comment] = comments_of(ticket)
    assert (comment.author, comment.visibility) == (world.agent, "public")
    assert Ticket.get_by_id(ticket.id).status == "pending"


def test_a_reply_to_a_ticket_that_does_not_exist_is_refused(world, ingest):
    result = ingest(message("Hello", subject="Re: [HD-999] Printer"))
    assert (result.outcome, result.reason) == ("refused", "No such ticket: HD-999.")
    assert Ticket.select().count() == 0


def test_a_deactivated_user_is_refused(world, ingest):
    User.update(active=False).where(User.id == world.requester.id).execute()
    result = ingest(message())
    assert result.outcome == "refused"
    assert Ticket.select().count() == 0


# -- auto-replies and bounces -------------------------------------------------------------

AUTOMATIC = {
    "out of office": ({"Auto-Submitted": "auto-replied"}, RITA),
    "vacation (RFC 3834 params)": ({"Auto-Submitted": "auto-replied; owner-email=x"}, RITA),
    "precedence bulk": ({"Precedence": "bulk"}, RITA),
    "precedence auto_reply": ({"Precedence": "auto_reply"}, RITA),
    "x-autoreply": ({"X-Autoreply": "yes"}, RITA),
    "x-autorespond": ({"X-Autorespond": "Out of office"}, RITA),
    "empty return path": ({"Return-Path": "<>"}, RITA),
    "mailer daemon": ({}, "Mail Delivery System <MAILER-DAEMON@mx.acme.test>"),
    "postmaster": ({}, "postmaster@acme.test"),
}


@pytest.mark.parametrize("headers,sender", AUTOMATIC.values(), ids=AUTOMATIC.keys())
def test_auto_replies_and_bounces_are_never_tickets_nor_comments(world, ingest, headers, sender):
    ticket = world.ticket()
    before = counts()
    for subject in ("Out of office", f"Automatic reply: [{ticket.reference}] Printer"):
        result = ingest(message("I am away.", sender=sender, subject=subject, headers=headers))
        assert result.outcome == "ignored"
        assert result.reason.startswith(("auto-reply", "bounce"))
    assert counts() == {**before, "InboundMessage": before["InboundMessage"] + 2}


def test_a_delivery_status_report_from_the_mailer_daemon_is_ignored(world, ingest):
    world.ticket()
    raw = raw_message(
        f"""
From: Mail Delivery System <MAILER-DAEMON@mx.acme.test>
To: {HELPDESK}
Subject: Undelivered Mail Returned to Sender: [HD-1] New reply
Message-ID: <bounce-1@mx.acme.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="RPT"
""",
        b"--RPT\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--RPT\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.acme.test\r\n\r\nFinal-Recipient: rfc822; gone@acme.test\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n"
        b"--RPT\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: helpdesk@localhost\r\nSubject: [HD-1] New reply\r\n\r\nHi\r\n"
        b"--RPT--\r\n",
    )
    result = ingest(raw)
    assert (result.outcome, result.reason) == ("ignored", "bounce (multipart/report)")
    assert Comment.select().count() == 0


def test_auto_submitted_no_is_a_person_writing(ingest):
    assert ingest(message(headers={"Auto-Submitted": "no"})).outcome == "created"


# -- unknown senders ----------------------------------------------------------------------


def test_unknown_senders_are_refused_by_default(world, ingest, caplog):
    before = counts()
    with caplog.at_level(logging.WARNING, logger="helpdesk.mail.ingest"):
        result = ingest(message(sender="Eve <eve@unknown.test>"))
    assert (result.outcome, result.reason) == ("refused", "unknown sender")
    assert counts() == {**before, "InboundMessage": before["InboundMessage"] + 1}
    assert "eve@unknown.test refused: unknown sender" in caplog.text


def test_unknown_senders_become_external_customers_when_registration_is_on(
    world, ingest, monkeypatch
):
    monkeypatch.setenv("HELPDESK_MAIL_UNKNOWN_SENDERS", "register")
    result = ingest(message("Where is my order?", sender="Eve Newman <Eve@Unknown.test>"))

    assert result.outcome == "created"
    eve = User.get(User.email == "eve@unknown.test")
    assert (eve.name, eve.kind, eve.origin, eve.password_hash) == (
        "Eve Newman",
        "customer",
        "external",
        None,
    )
    ticket = ticket_of(result)
    assert ticket.requester == eve
    assert ticket.organization.name == "External customers"
    assert ticket.description == "Where is my order?"

    # Known from now on: her next mail joins the same organization, no second account.
    again = ingest(message("And my invoice?", sender="eve@unknown.test", subject="Invoice"))
    assert ticket_of(again).organization == ticket.organization
    assert User.select().where(User.email == "eve@unknown.test").count() == 1


def test_an_external_organization_can_be_named_and_a_name_comes_from_the_address(
    world, ingest, monkeypatch
):
    monkeypatch.setenv("HELPDESK_MAIL_UNKNOWN_SENDERS", "register")
    monkeypatch.setenv("HELPDESK_MAIL_EXTERNAL_ORGANIZATION", "Globex")  # exists already
    result = ingest(message(sender="mallory.smith@globex.test"))
    assert ticket_of(result).organization == world.globex
    assert User.get(User.email == "mallory.smith@globex.test").name == "mallory.smith"
    assert Organization.select().count() == 2


def test_an_unknown_sender_replying_is_refused_even_with_registration(world, ingest, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAIL_UNKNOWN_SENDERS", "register")
    world.ticket()
    before = counts()
    result = ingest(message("Me too", sender="eve@unknown.test", subject="Re: [HD-1] Printer"))
    assert (result.outcome, result.reason) == ("refused", "unknown sender")
    assert counts() == {**before, "InboundMessage": before["InboundMessage"] + 1}


def test_a_registration_with_an_invalid_address_is_refused(world, ingest, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAIL_UNKNOWN_SENDERS", "register")
    before = counts()
    result = ingest(message(sender="eve@localhost-only"))
    assert result.outcome == "refused"
    assert "not an email address" in result.reason
    assert counts() == {**before, "InboundMessage": before["InboundMessage"] + 1}


# -- charsets, HTML, broken and hostile mail ----------------------------------------------


def test_a_latin_1_message_with_an_encoded_subject(ingest):
    raw = raw_message(
        f"""
From: =?iso-8859-1?q?Rita_Requ=E9rant?= <req@acme.test>
To: {HELPDESK}
Subject: =?iso-8859-1?q?Le_caf=E9_est_froid?=
Message-ID: <latin1@mail.acme.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable
""",
        b"La machine =E0 caf=E9 ne chauffe plus.\r\n",
    )
    ticket = ticket_of(ingest(raw))
    assert ticket.title == "Le café est froid"
    assert ticket.description == "La machine à café ne chauffe plus."


def test_a_czech_windows_1250_message(ingest):
    raw = raw_message(
        f"""
From: req@acme.test
To: {HELPDESK}
Subject: =?windows-1250?q?Tisk=E1rna_netiskne?=
Message-ID: <cp1250@mail.acme.test>
Content-Type: text/plain; charset=windows-1250
Content-Transfer-Encoding: 8bit
""",
        "Tiskárna v přízemí vydává prázdné stránky.".encode("windows-1250"),
    )
    ticket = ticket_of(ingest(raw))
    assert ticket.title == "Tiskárna netiskne"
    assert ticket.description == "Tiskárna v přízemí vydává prázdné stránky."


def test_an_unknown_charset_name_is_read_as_utf_8_or_latin_1(ingest):
    raw = raw_message(
        f"""
From: req@acme.test
To: {HELPDESK}
Subject: =?x-martian?q?Caf=C3=A9?=
Message-ID: <martian@mail.acme.test>
Content-Type: text/plain; charset=x-martian
Content-Transfer-Encoding: 8bit
""",
        "Le café est froid.".encode(),
    )
    result = ingest(raw)
    assert result.outcome == "created"
    assert ticket_of(result).description == "Le café est froid."


def test_undeclared_8_bit_text_and_raw_8_bit_headers(ingest):
    raw = (
        b"From: Rita \xc3\x9f <req@acme.test>\r\nTo: helpdesk@localhost\r\n"
        b"Subject: Caf\xe9 froid\r\n"
        b"Message-ID: <8bit@mail.acme.test>\r\n\r\nLe caf\xe9 est froid.\r\n"
    )
    ticket = ticket_of(ingest(raw))
    assert ticket.title == "Café froid"
    assert ticket.description == "Le café est froid."
    assert InboundMessage.get().subject == "Café froid"


def test_broken_base64_keeps_what_can_be_read(ingest):
    good = base64.b64encode(b"The scanner jams on every page.").decode()
    raw = raw_message(
        f"""
From: req@acme.test
To: {HELPDESK}
Subject: Scanner
Message-ID: <b64@mail.acme.test>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64
""",
        (good[:20] + "!!*" + good[20:] + "=").encode(),
    )
    result = ingest(raw)
    assert result.outcome == "created"
    assert "scanner jams" in ticket_of(result).description


def test_html_only_mail_becomes_text_without_the_quoted_history(world, ingest):
    html = (
        "<html><head><style>p {color: red}</style><title>x</title></head><body>"
        "<p>The <b>scanner</b> jams&nbsp;on every page.</p>"
        "<ul><li>Model: X200</li><li>Floor: 3</li></ul>"
        "<script>alert('hi')</script>"
        "<div>--<br>Rita Requester</div>"
        "<blockquote><p>Earlier mail</p></blockquote>"
        "</body></html>"
    )
    msg = message(subject="Scanner jams")
    msg.set_content(html, subtype="html")
    ticket = ticket_of(ingest(msg))
    assert ticket.description == "The scanner jams on every page.\n\n- Model: X200\n- Floor: 3"


def test_the_plain_alternative_is_preferred_to_html(ingest):
    msg = message("Plain words.")
    msg.add_alternative("<p>HTML words.</p>", subtype="html")
    assert ticket_of(ingest(msg)).description == "Plain words."


def nested(depth: int, text: bytes = b"Deep inside.") -> bytes:
    head = raw_message(
        f"""
From: req@acme.test
To: {HELPDESK}
Subject: Nested {depth}
Message-ID: <nested-{depth}@mail.acme.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b0"
""",
        b"",
    )
    opening = b"".join(
        b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i, i + 1)
        for i in range(depth)
    )
    inner = b"--b%d\r\nContent-Type: text/plain\r\n\r\n%s\r\n" % (depth, text)
    closing = b"".join(b"--b%d--\r\n" % i for i in range(depth, -1, -1))
    return head + opening + inner + closing


def test_multiparts_nested_50_deep_are_handled(ingest, caplog):
    with caplog.at_level(logging.WARNING, logger="helpdesk.mail.ingest"):
        result = ingest(nested(50))
    assert result.outcome == "created"
    assert ticket_of(result).title == "Nested 50"
    assert "nested deeper than" in caplog.text
    assert ticket_of(ingest(nested(5))).description == "Deep inside."


def test_absurdly_nested_multiparts_are_refused_as_malformed(ingest):
    result = ingest(nested(3000))
    assert result.outcome == "refused"
    assert result.reason.startswith("malformed")
    assert Ticket.select().count() == 0


def test_a_message_without_message_id_is_still_ingested_once(world, ingest):
    msg = message(message_id=False)
    first = ingest(msg)
    second = ingest(msg)
    assert first.outcome == "created"
    assert first.message_id.endswith("@helpdesk.invalid>")
    assert (second.outcome, second.reason, second.message_id) == (
        "ignored",
        "duplicate",
        first.message_id,
    )
    assert Ticket.select().count() == 1


def test_a_message_without_from_is_refused(world, ingest):
    before = counts()
    result = ingest(message(sender=None))
    assert (result.outcome, result.reason) == ("refused", "no sender address")
    assert counts() == {**before, "InboundMessage": before["InboundMessage"] + 1}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \x00\r\n\r\n\x80\x81",
        b"From: <<<@>>>\r\nSubject: =?utf-8?b?!!!?=\r\nContent-Type: multipart/mixed\r\n\r\nx",
        b"From: req@acme.test\r\nContent-Type: text/plain; charset=\x00\xff\r\n\r\nhello",
    ],
    ids=["empty", "binary", "bad headers", "bad charset bytes"],
)
def test_garbage_never_crashes(world, ingest, raw):
    result = ingest(raw)
    assert result.outcome in ("created", "refused")
    assert ingest(raw).reason == "duplicate"


def test_a_huge_message_is_refused_without_being_parsed(world, ingest, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAIL_MAX_MESSAGE_SIZE", "10000")
    msg = message("x" * 20_000)
    result = ingest(msg)
    assert result.outcome == "refused"
    assert result.reason.startswith("too large")
    assert result.message_id == msg["Message-ID"]  # still recognised when it comes again
    assert Ticket.select().count() == 0
    assert ingest(msg).reason == "duplicate"


def test_the_same_message_twice_changes_nothing_the_second_time(world, ingest):
    ticket = world.ticket(status="pending")
    msg = message("Tray 2.", subject=f"Re: [{ticket.reference}] Printer")
    assert ingest(msg).outcome == "commented"
    before = counts()
    result = ingest(msg)
    assert (result.outcome, result.reason) == ("ignored", "duplicate")
    assert counts() == before


# -- attachments --------------------------------------------------------------------------


def test_attachments_are_kept_and_one_over_the_limit_is_dropped_with_a_note(
    world, ingest, monkeypatch
):
    monkeypatch.setenv("HELPDESK_MAX_ATTACHMENT_SIZE", "1000")
    log = b"12:00 paper jam\n" * 10
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 50
    msg = message("The log is attached.")
    msg.add_attachment(log, maintype="text", subtype="plain", filename="printer.log")
    msg.add_attachment(png, maintype="image", subtype="png", filename="photo.png")
    msg.get_payload()[-1].replace_header("Content-Disposition", 'inline; filename="photo.png"')
    msg.add_attachment(b"\x01" * 5000, maintype="application", subtype="zip", filename="big.zip")
    result = ingest(msg)

    assert result.outcome == "created"
    ticket = ticket_of(result)
    assert ticket.description == (
        "The log is attached.\n\n(Attachment big.zip was not kept: larger than 1000 bytes.)"
    )
    kept = {a.filename: a for a in Attachment.select().where(Attachment.ticket == ticket)}
    assert set(kept) == {"printer.log", "photo.png"}
    assert active_store().path_for(kept["printer.log"].sha256).read_bytes() == log
    assert active_store().path_for(kept["photo.png"].sha256).read_bytes() == png
    assert kept["photo.png"].content_type == "image/png"
    assert kept["printer.log"].uploaded_by == world.requester


def test_an_attachment_to_a_reply_belongs_to_the_comment(world, ingest):
    ticket = world.ticket()
    msg = message("", subject=f"Re: [{ticket.reference}] Printer")
    msg.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="a.pdf")
    result = ingest(msg)
    assert result.outcome == "commented"
    [comment] = comments_of(ticket)
    assert comment.body == "(The email had no text.)"
    [attachment] = Attachment.select().where(Attachment.ticket == ticket)
    assert (attachment.filename, attachment.comment_id) == ("a.pdf", comment.id)


def test_at_most_25_attachments_are_kept_per_email(ingest):
    msg = message("Screenshots.")
    for n in range(30):
        msg.add_attachment(b"shot %d" % n, maintype="image", subtype="png", filename=f"{n}.png")
    result = ingest(msg)
    ticket = ticket_of(result)
    assert Attachment.select().where(Attachment.ticket == ticket).count() == 25
    assert ticket.description.endswith("(5 more attachments were not kept: at most 25 per email.)")


def test_a_message_forwarded_as_an_attachment_is_kept_as_an_eml_file(ingest):
    inner = message("Please pay.", sender="billing@vendor.test", subject="Invoice 4711")
    msg = message("See the attached mail.", subject="Fwd: Invoice 4711")
    msg.add_attachment(inner)
    ticket = ticket_of(ingest(msg))
    [attachment] = Attachment.select().where(Attachment.ticket == ticket)
    assert (attachment.filename, attachment.content_type) == ("message.eml", "message/rfc822")
    assert b"Please pay." in active_store().path_for(attachment.sha256).read_bytes()
    assert ticket.description == "See the attached mail."


def test_a_failure_after_registering_the_sender_leaves_nothing_behind(world, ingest, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAIL_UNKNOWN_SENDERS", "register")
    # The attachment store refuses files over 100 bytes although the mail setting allows more.
    configure_storage(active_store().root, 100)
    msg = message(sender="Eve <eve@unknown.test>")
    msg.add_attachment(b"x" * 500, maintype="application", subtype="zip", filename="big.zip")
    before = counts()
    result = ingest(msg)

    assert result.outcome == "refused"
    assert "larger than the limit of 100 bytes" in result.reason
    assert counts() == {**before, "InboundMessage": before["InboundMessage"] + 1}
    assert not User.select().where(User.email == "eve@unknown.test").exists()
    stored = [p for p in active_store().root.rglob("*") if p.is_file()]
    assert stored == []


def test_an_empty_reply_is_refused(world, ingest):
    world.ticket()
    result = ingest(message("> quoted only\n", subject="Re: [HD-1] x"))
    assert result.outcome == "commented"  # the quote is all there is: it is kept
    assert ingest(message("\n\n", subject="Re: [HD-1] x")).reason == "empty message"
    assert ingest(message("", subject="")).reason == "empty message"


def test_an_html_only_gmail_reply_is_trimmed(world, ingest):
    ticket = world.ticket()
    html = (
        '<div dir="ltr">Tray 2.</div><br>'
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 23 Nov 2026 at '
        "10:00, Helpdesk &lt;helpdesk@localhost&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote">Which tray do you print from?</blockquote></div>'
    )
    msg = message(subject=f"Re: [{ticket.reference}] Printer")
    msg.set_content(html, subtype="html")
    ingest(msg)
    assert comments_of(ticket)[0].body == "Tray 2."


# -- a Maildir, twice ---------------------------------------------------------------------


def fill_maildir(path, ticket_reference: str) -> mailbox.Maildir:
    box = mailbox.Maildir(path, create=True)
    for msg, subdir in [
        (message("Scanner jams.", subject="Scanner"), "new"),
        (message("Tray 2.", subject=f"Re: [{ticket_reference}] Printer"), "new"),
        (
            message("Away.", subject="Out of office", headers={"Auto-Submitted": "auto-replied"}),
            "cur",
        ),
        (message("Hi", sender="eve@unknown.test"), "cur"),
    ]:
        entry = mailbox.MaildirMessage(msg.as_bytes())
        entry.set_subdir(subdir)
        box.add(entry)
    return box


def test_a_maildir_ingested_twice_changes_nothing_the_second_time(world, tmp_path):
    ticket = world.ticket(status="pending")
    box = fill_maildir(tmp_path / "Maildir", ticket.reference)
    (tmp_path / "Maildir" / "new" / "1700000000.gone.host").symlink_to(tmp_path / "nowhere")
    files_before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "Maildir").rglob("*"))

    results = ingest_maildir(tmp_path / "Maildir", load_settings())
    assert sorted(r.outcome for r in results) == ["commented", "created", "ignored", "refused"]
    assert Ticket.get_by_id(ticket.id).status == "open"
    after_first = counts()

    again = ingest_maildir(tmp_path / "Maildir", load_settings())
    assert [(r.outcome, r.reason) for r in again] == [("ignored", "duplicate")] * 4
    assert counts() == after_first
    # The Maildir is left as it was: nothing moved, renamed or deleted.
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "Maildir").rglob("*")) == (
        files_before
    )
    assert len(box) == 5


def test_a_missing_maildir_raises(world, tmp_path):
    with pytest.raises(mailbox.NoSuchMailboxError):
        ingest_maildir(tmp_path / "nope", load_settings())


# -- the command --------------------------------------------------------------------------

command_app = typer.Typer(pretty_exceptions_enable=False, rich_markup_mode=None)
command_app.command("ingest")(ingest_command)


@command_app.callback()
def _root() -> None:
    """A throwaway app: `helpdesk mail ingest` is registered by cli/mail.py."""


@pytest.fixture
def customers(app):
    """Rita of Acme, in the database the command opens; no connection left open."""
    with database.connection_context():
        acme = Organization.create(name="Acme")
        make_user("req@acme.test", "Rita Requester", org=acme)
        ticket = tickets.submit_ticket(
            actor=User.get(User.email == "req@acme.test"), type="incident", title="Printer"
        )
    return ticket.reference


def run_command(*args: str, input: bytes | None = None):
    return CliRunner().invoke(command_app, ["ingest", *args], input=input)


def test_the_command_reads_one_message_from_stdin(customers):
    result = run_command(input=message("Scanner jams.", subject="Scanner").as_bytes())
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    assert "HD-2" in result.output
    assert result.output.rstrip().endswith("created 1, commented 0, ignored 0, refused 0")


def test_the_command_refuses_a_huge_message_on_stdin(customers, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAIL_MAX_MESSAGE_SIZE", "1000")
    result = run_command(input=message("x" * 50_000).as_bytes())
    assert result.exit_code == 0
    assert "too large" in result.stdout
    assert result.stdout.rstrip().endswith("created 0, commented 0, ignored 0, refused 1")


def test_the_command_reads_files_and_prints_json(customers, tmp_path):
    files = []
    for n, msg in enumerate(
        [
            message("Scanner jams.", subject="Scanner"),
            message("Tray 2.", subject=f"Re: [{customers}] Printer"),
            message("Hi", sender="eve@unknown.test"),
        ]
    ):
        path = tmp_path / f"{n}.eml"
        path.write_bytes(msg.as_bytes())
        files.append(str(path))
    result = run_command(*files, "--json")
    assert result.exit_code == 0, result.output  # a refused message is no failure
    report = json.loads(result.stdout)
    assert report["counts"] == {"created": 1, "commented": 1, "ignored": 0, "refused": 1}
    assert [(r["outcome"], r["reference"], r["reason"]) for r in report["results"]] == [
        ("created", "HD-2", None),
        ("commented", customers, None),
        ("refused", None, "unknown sender"),
    ]
    again = json.loads(run_command(*files, "--json").stdout)
    assert again["counts"] == {"created": 0, "commented": 0, "ignored": 3, "refused": 0}
    with database.connection_context():
        assert Ticket.select().count() == 2
        assert Comment.select().count() == 1


def test_the_command_reads_a_maildir_and_prints_a_table(customers, tmp_path):
    fill_maildir(tmp_path / "Maildir", customers)
    result = run_command("--maildir", str(tmp_path / "Maildir"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["Message-ID", "Outcome", "Reference", "Reason"]
    assert "unknown sender" in result.stdout
    assert result.stdout.rstrip().endswith("created 1, commented 1, ignored 1, refused 1")


def test_the_command_exits_1_when_a_source_cannot_be_read_after_the_others(customers, tmp_path):
    good = tmp_path / "good.eml"
    good.write_bytes(message("Scanner jams.", subject="Scanner").as_bytes())
    result = run_command(str(tmp_path / "missing.eml"), str(good), "--maildir", str(tmp_path))
    assert result.exit_code == 1
    assert "created 1" in result.stdout
    assert "Error: Cannot read" in result.stderr
    assert "missing.eml" in result.stderr and str(tmp_path) in result.stderr
    with database.connection_context():
        assert Ticket.select().count() == 2


def test_the_command_has_help():
    result = CliRunner().invoke(command_app, ["ingest", "--help"])
    assert result.exit_code == 0
    assert "Turn emails into tickets and comments" in result.output
    assert "--maildir" in result.output and "--json" in result.output

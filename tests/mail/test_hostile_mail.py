"""Hostile mail: shapes built to stall `mail ingest` are refused or read in bounded work.

Linearity is pinned without timing anything: the HTML tokenizer's tokens must tile the markup
(each character is read once, by a regular expression with no backtracking), the text it
produces is capped, and the MIME parser never sees more lines, parts or header characters than
the limits allow. Speed itself is measured by scripts/bench_mail_ingest.py.
"""

from __future__ import annotations

from email.utils import make_msgid
from itertools import pairwise

import pytest

from helpdesk.config import load_settings
from helpdesk.mail import html_text
from helpdesk.mail.html_text import html_to_text
from helpdesk.mail.ingest import ingest_message
from helpdesk.models import InboundMessage, Ticket, User
from helpdesk.services import tickets

RITA = "Rita Requester <req@acme.test>"  # a customer of the `world` fixture
STRANGER = "Sam Stranger <sam@elsewhere.test>"

# Shapes that made html.parser quadratic, or HTML5 tree builders (lxml, selectolax/Lexbor)
# quadratic or lossy, or the text explode; each about 200 KB.
N = 100_000
HOSTILE_HTML = {
    "'<a' runs": "<a" * N,
    "'</' runs": "</" * N,
    "'<?' runs": "<?" * N,
    "unclosed quoted attributes": '<a x="' * (N // 3),
    "unclosed comments": "<!--" * (N // 2),
    "unclosed scripts": "<script>" * (N // 4),
    "deeply nested divs": "<div>" * (N // 10) + "Help",
    "deeply nested blockquotes": "<blockquote>Help" * (N // 8),
    "misnested formatting": "".join(f"<b id={i}><p>x" for i in range(N // 10)),
    "distinct attributes": "<a " + " ".join(f"a{i}=1" for i in range(N // 4)) + ">Help",
    "line breaks": "<br>" * (N // 2),
    "lone '<'": "<" * N,
}


def mail(body: str | bytes, *, sender: str = RITA, subtype: str = "html", **headers) -> bytes:
    """A message exactly as given (EmailMessage would rewrap or re-encode hostile bodies)."""
    head = {
        "From": sender,
        "To": "helpdesk@localhost",
        "Subject": "Printer prints blank pages",
        "Message-ID": make_msgid(domain="mail.acme.test"),
        "MIME-Version": "1.0",
        "Content-Type": f"text/{subtype}; charset=utf-8",
        **headers,
    }
    lines = "".join(f"{name}: {value}\r\n" for name, value in head.items())
    return lines.encode() + b"\r\n" + (body if isinstance(body, bytes) else body.encode())


def ingest(raw: bytes):
    return ingest_message(raw, load_settings())


def record_of(result) -> InboundMessage:
    return InboundMessage.get(InboundMessage.message_id == result.message_id)


# -- HTML to text -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", sorted(HOSTILE_HTML))
def test_the_html_tokenizer_reads_each_character_once(shape):
    markup = HOSTILE_HTML[shape]
    spans = [(start, end) for _, start, end, _ in html_text.tokens(markup)]
    # The tokens tile the markup: no character is read twice, none is skipped.
    assert spans[0][0] == 0 and spans[-1][1] == len(markup)
    assert all(end == next_start for (_, end), (next_start, _) in pairwise(spans))
    assert all(start < end for start, end in spans)


@pytest.mark.parametrize(
    "shape,expected",
    [
        ("'<a' runs", ""),  # one tag left open to the end: no text (html.parser kept it all)
        ("'</' runs", ""),
        ("'<?' runs", ""),
        ("unclosed quoted attributes", ""),
        ("unclosed comments", ""),
        ("unclosed scripts", ""),
        ("deeply nested divs", "Help"),
        ("distinct attributes", "Help"),
        ("line breaks", ""),
    ],
)
def test_hostile_html_becomes_the_text_a_browser_would_show(shape, expected):
    assert html_to_text(HOSTILE_HTML[shape]) == expected


def test_nested_blockquotes_cannot_multiply_the_text():
    # html.parser's converter turned these 200 KB into 9 MB ("> " * depth on every line).
    text = html_to_text(HOSTILE_HTML["deeply nested blockquotes"])
    lines = text.splitlines()
    assert lines[0] == "> Help"
    assert max(line.count("> ") for line in lines) == html_text.MAX_QUOTE_DEPTH
    assert len(text) <= html_text.MAX_TEXT


def test_the_text_of_any_html_is_capped():
    assert len(html_to_text("<p>" + "word " * 1_000_000)) == html_text.MAX_TEXT
    assert len(html_to_text("&amp;" * 1_000_000)) <= html_text.MAX_TEXT
    assert len(html_to_text(HOSTILE_HTML["lone '<'"] * 10)) <= html_text.MAX_TEXT
    assert html_to_text("<p>Hello</p>", limit=3) == "Hel"


def test_past_the_budget_of_line_breaking_tags_the_rest_is_dropped():
    markup = "<div>" * html_text.MAX_BREAKS + "Seen" + "<div>" + "Not seen"
    assert html_to_text(markup) == "Seen"


def test_script_content_with_a_less_than_sign_does_not_swallow_the_text():
    markup = "<script>if (a<b) { x() }</script><p>Printer is on fire</p><style>p>b{}</style>!"
    assert html_to_text(markup) == "Printer is on fire\n\n!"


# -- the sender first -------------------------------------------------------------------------


def nested_multipart(depth: int) -> bytes:
    """A body nested so deep that `email`'s parser gives up (RecursionError)."""
    body = b"Content-Type: text/plain\r\n\r\nDeep inside.\r\n"
    for level in range(depth):
        boundary = f"b{level}".encode()
        body = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary
            + b"\r\n" + body + b"\r\n--" + boundary + b"--\r\n"
        )  # fmt: skip
    return body


def test_an_unknown_senders_mail_is_refused_before_its_body_is_read(world):
    # The body would be refused as malformed if anyone read it: nobody does.
    raw = mail(b"", sender=STRANGER)
    head, _, _ = raw.partition(b"Content-Type")
    hostile = head + nested_multipart(1200)
    result = ingest(hostile)
    assert (result.outcome, result.reason) == ("refused", "unknown sender")
    assert record_of(result).reason == "unknown sender"


def test_a_deactivated_senders_mail_is_refused_before_its_body_is_read(world):
    User.update(active=False).where(User.id == world.requester.id).execute()
    raw = mail(b"", sender=RITA)
    head, _, _ = raw.partition(b"Content-Type")
    result = ingest(head + nested_multipart(1200))
    assert (result.outcome, result.reason) == ("refused", "sender's account is deactivated")


def test_an_unknown_sender_with_hostile_html_is_refused(world):
    result = ingest(mail("<a" * N, sender=STRANGER))
    assert (result.outcome, result.reason) == ("refused", "unknown sender")
    assert Ticket.select().count() == 0


def test_a_welcome_sender_with_a_nested_body_is_still_refused_as_malformed(world, monkeypatch):
    monkeypatch.setenv("HELPDESK_MAIL_UNKNOWN_SENDERS", "register")
    raw = mail(b"", sender=STRANGER)
    head, _, _ = raw.partition(b"Content-Type")
    result = ingest(head + nested_multipart(1200))
    assert result.outcome == "refused" and result.reason.startswith("malformed")
    assert User.select().where(User.email == "sam@elsewhere.test").count() == 0


# -- a known customer's hostile mail ----------------------------------------------------------


def test_a_25_mib_html_mail_of_open_tags_opens_a_ticket_without_text(world):
    raw = mail("<a" * (12 * 1024 * 1024))  # 24 MiB, under the 25 MiB limit
    result = ingest(raw)
    assert result.outcome == "created"
    ticket = Ticket.get(Ticket.reference == result.reference)
    assert (ticket.title, ticket.description) == ("Printer prints blank pages", "")


def test_html_mail_of_open_tags_keeps_no_markup_as_text(world):
    result = ingest(mail("Hello<a" * N))
    assert result.outcome == "created"
    assert Ticket.get(Ticket.reference == result.reference).description == "Hello"


def test_a_huge_plain_text_body_is_cut_to_what_a_ticket_holds(world):
    result = ingest(mail("All blank. " * 2_000_000, subtype="plain"))  # 22 MB, one line
    assert result.outcome == "created"
    description = Ticket.get(Ticket.reference == result.reference).description
    assert tickets.MAX_BODY - len(" All blank.") <= len(description) <= tickets.MAX_BODY
    assert description.startswith("All blank. All blank.")


def test_a_header_section_longer_than_64_kib_is_refused(world):
    result = ingest(mail("Help", Subject="x " * 40_000))  # 80 KB of Subject
    assert result.outcome == "refused"
    assert result.reason == "malformed: a header section longer than 65536 bytes"


def test_more_lines_than_a_real_message_has_is_refused_unparsed(world):
    from helpdesk.mail.inbound import MAX_LINES

    result = ingest(mail(b"\n" * (MAX_LINES + 1), subtype="plain"))
    assert (result.outcome, result.reason) == ("refused", f"malformed: more than {MAX_LINES} lines")
    assert Ticket.select().count() == 0


def test_more_mime_parts_than_the_limit_is_refused_unparsed(world):
    from helpdesk.mail.inbound import MAX_PARTS

    part = b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    body = part * MAX_PARTS + b"--B--\r\n"
    raw = mail(body).replace(
        b"Content-Type: text/html; charset=utf-8", b"Content-Type: multipart/mixed; boundary=B"
    )
    result = ingest(raw)
    assert (result.outcome, result.reason) == (
        "refused",
        f"malformed: more than {MAX_PARTS} MIME parts",
    )
    # One part fewer (the message itself is a part) is read.
    fewer = raw.replace(part, b"", 1).replace(b"Message-ID: <", b"Message-ID: <fewer.")
    assert ingest(fewer).outcome == "created"


def test_control_characters_in_a_subject_become_spaces_in_the_title(world):
    # Found by tests/test_fuzzing.py: a bell or an escape in a subject refused the whole mail.
    result = ingest(mail("Help", subtype="plain", Subject="Printer\x07 \x1b[31mjams\x7f again"))
    assert result.outcome == "created", result.reason
    assert tickets.get_ticket(result.reference, actor=world.agent).title == "Printer [31mjams again"

"""Hypothesis fuzzes the two doors that take whole documents from outside: the mail ingester
and the customer CSV import (issue 11). Bounded (a fixed number of examples, derandomized so
that CI runs the same ones), against the real database.
"""

from __future__ import annotations

import csv
import io
import itertools
import json

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from helpdesk.config import load_settings
from helpdesk.db import database
from helpdesk.mail.ingest import ingest_message
from helpdesk.models import InboundMessage, Membership, Organization, Ticket, User

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

OUTCOMES = {"created", "commented", "ignored", "refused"}
HEADER_NAMES = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Date",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Auto-Submitted",
    "Precedence",
    "X-Helpdesk-Ticket",
)
# Headers that do not make a mail someone else's, a repeat or an auto-reply.
TAME_HEADERS = tuple(
    name for name in HEADER_NAMES if name not in ("From", "Message-ID", "Auto-Submitted")
)
MESSAGE_NUMBERS = itertools.count(1)
SENDERS = ("Rita Requester <req@acme.test>", "sam@elsewhere.test", "<>", "=?utf-8?q?=E2=80?=")
CONTENT_TYPES = (
    "text/plain; charset=utf-8",
    "text/plain; charset=x-unknown",
    "text/html; charset=latin-1",
    'multipart/mixed; boundary="b1"',
    'multipart/alternative; boundary="b1"',
    "application/octet-stream",
    "message/rfc822",
)
header_value = st.one_of(
    st.text(max_size=120),
    st.sampled_from(SENDERS),
    st.sampled_from(CONTENT_TYPES),
    st.sampled_from(
        ("[HD-1] Re: printer", "=?utf-8?b?w6k=?=", "<a@b>", "base64", "quoted-printable")
    ),
)
body = st.one_of(
    st.binary(max_size=1500),
    st.text(max_size=1500).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(st.binary(max_size=300), max_size=4).map(
        lambda parts: (
            b"".join(b"--b1\r\nContent-Type: text/plain\r\n\r\n" + part + b"\r\n" for part in parts)
            + b"--b1--\r\n"
        )
    ),
)


@st.composite
def messages(draw) -> bytes:
    """Mostly a known customer's new mail (so that the fuzz reaches the ticket it makes),
    with any other headers and any body; sometimes anything at all in those headers too."""
    headers = [
        ("From", draw(st.sampled_from(SENDERS[:1] * 6 + SENDERS[1:]))),
        ("Message-ID", f"<{next(MESSAGE_NUMBERS)}@fuzz.test>"),  # a new mail, not a repeat
        ("Subject", draw(st.text(max_size=80))),
    ]
    extra = st.sampled_from(TAME_HEADERS if draw(st.booleans()) else HEADER_NAMES)
    headers += draw(st.lists(st.tuples(extra, header_value), max_size=8))
    head = b"".join(
        name.encode() + b": " + value.encode("utf-8", "surrogatepass") + b"\r\n"
        for name, value in headers
    )
    return head + b"\r\n" + draw(body)


@FUZZ
@given(raw=st.one_of(messages(), st.binary(max_size=2000)))
def test_any_bytes_as_mail_are_a_ticket_a_comment_or_a_reasoned_refusal(world, raw):
    result = ingest_message(raw, load_settings())
    event(f"{result.outcome}: {result.reason}")  # --hypothesis-show-statistics
    assert result.outcome in OUTCOMES
    # Never the catch-all that a bug or a lost database ends in (logged, tried again later).
    assert not (result.reason or "").startswith("error:"), result.reason
    if result.outcome in ("created", "commented"):
        assert Ticket.select().where(Ticket.reference == result.reference).exists()
        assert (
            InboundMessage.select().where(InboundMessage.message_id == result.message_id).exists()
        )


COLUMNS = ("email", "name", "organization", "role", "language", "phone")
cell = st.one_of(
    st.text(max_size=40),
    st.sampled_from(("Acme", "Globex", "user", "power", "admin", "fr", "en", "", "x@acme.test")),
    st.emails().map(str),
)


@st.composite
def csv_files(draw) -> str:
    header = draw(
        st.one_of(
            st.just(list(COLUMNS)),
            st.permutations(COLUMNS),
            st.lists(st.one_of(st.sampled_from(COLUMNS), st.text(max_size=10)), max_size=8),
        )
    )
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 2), max_size=8))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.booleans()):  # and sometimes not CSV a writer would make
        text = draw(st.text(max_size=300)) + text
    return text


def _population() -> tuple[int, int, int]:
    with database.connection_context():
        return User.select().count(), Membership.select().count(), Organization.select().count()


@FUZZ
@given(text=csv_files())
def test_any_csv_file_is_imported_whole_or_refused_with_nothing_changed(installed, tmp_path, text):
    installed("org", "create", "Acme")
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    before = _population()
    result = installed("user", "import", str(path), "--json")
    event(f"exit {result.exit_code}")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code != 0:
        assert _population() == before  # a refused file changes nothing
    else:
        json.loads(result.stdout)  # the summary, in JSON

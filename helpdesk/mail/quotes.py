"""What is new in a reply: quoted history and signatures trimmed, subject prefixes dropped."""

from __future__ import annotations

import re

from helpdesk.mail.decoding import one_line

PREFIX_RE = re.compile(
    r"^\s*((?:re|fwd?|aw|tr|wg|sv|antw|odp|rif)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)", re.I
)
FORWARD_PREFIXES = {"fw", "fwd", "tr", "wg"}
ATTRIBUTION_RE = re.compile(
    r"^\s*(?:On\b.*\bwrote|Le\b.*\ba\s+écrit|Il giorno\b.*\bha\s+scritto"
    r"|Dne\b.*\bnapsal(?:\(a\)|a)?|Am\b.*\bschrieb|El\b.*\bescribió)\s*:\s*$",
    re.I,
)
ATTRIBUTION_START_RE = re.compile(r"^\s*(?:On|Le|Il giorno|Dne|Am|El)\s", re.I)
WROTE_RE = re.compile(
    r"\b(?:wrote|a\s+écrit|ha\s+scritto|napsal(?:\(a\)|a)?|schrieb)\s*:\s*$", re.I
)
ORIGINAL_MESSAGE_RE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine"
    r"|Messaggio originale|Původní zpráva|Mensaje original)\s*-{2,}\s*$",
    re.I,
)
OUTLOOK_FROM_RE = re.compile(r"^\s*\*?(?:From|De|Von|Da|Od)\s*:\s*\*?\s*\S", re.I)
OUTLOOK_NEXT_RE = re.compile(
    r"^\s*\*?(?:Sent|Date|Envoyé|Gesendet|Inviato|Odesláno|Datum|Data)\s*:", re.I
)
UNDERLINE_RE = re.compile(r"^\s*_{10,}\s*$")


def _history_starts(lines: list[str], i: int, next_text: list[str]) -> int | None:
    """If quoted history or a signature starts on line i, the line to cut from."""
    line = lines[i]
    if line == "-- " or ORIGINAL_MESSAGE_RE.match(line) or ATTRIBUTION_RE.match(line):
        return i
    if i + 1 < len(lines):
        if ATTRIBUTION_START_RE.match(line) and ATTRIBUTION_RE.match(f"{line} {lines[i + 1]}"):
            return i  # the attribution line wrapped over two lines
        if WROTE_RE.search(line) and next_text[i + 1].lstrip().startswith(">"):
            return i  # "Someone wrote:" right above a quote
    if OUTLOOK_FROM_RE.match(line) and any(OUTLOOK_NEXT_RE.match(x) for x in lines[i + 1 : i + 4]):
        above = i - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        return above if above >= 0 and UNDERLINE_RE.match(lines[above]) else i
    return None


def trim_reply(text: str) -> str:
    """The new text of an email: without quoted history, quote lines and signature.

    If that leaves nothing, the whole text is kept.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    # next_text[i]: the first non-blank line from i on (computed once: mail can be long).
    next_text = [""] * (len(lines) + 1)
    for i in range(len(lines) - 1, -1, -1):
        next_text[i] = lines[i] if lines[i].strip() else next_text[i + 1]
    cut = len(lines)
    for i in range(len(lines)):
        if not lines[i].strip():
            continue  # a blank line starts no history
        start = _history_starts(lines, i, next_text)
        if start is not None:
            cut = start
            break
    kept = [line.rstrip() for line in lines[:cut] if not line.lstrip().startswith(">")]
    trimmed = re.sub(r"\n{3,}", "\n\n", "\n".join(kept).strip())
    return trimmed or text.strip()


def clean_subject(subject: str) -> tuple[str, bool]:
    """The subject without Re:/Fwd:/AW:/TR: prefixes, and whether it was a forward."""
    subject = one_line(subject)
    forward = False
    while match := PREFIX_RE.match(subject):
        word = re.match(r"\s*([a-z]+)", match.group(1), re.I).group(1).lower()
        forward = forward or word in FORWARD_PREFIXES
        subject = subject[match.end() :]
    return subject.strip(), forward

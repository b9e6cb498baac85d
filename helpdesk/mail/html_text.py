"""Readable plain text from the HTML body of an email, in time linear in its length.

Hostile mail is the reason this is not `html.parser` (quadratic on `'<a' * 100000`, `</`, `<?`
runs in the Pythons we support) nor an HTML5 tree builder (selectolax/Lexbor is quadratic on
deeply nested or misnested tags; lxml on long attribute lists, and it drops text deeper than
256 levels). We need no tree: a mail's text is its character data, broken into lines at block
tags, with blockquotes as "> " lines.

Linear by construction: `tokens` reads the markup with one regular expression whose every
quantifier is possessive (no backtracking) and whose every alternative, once started, matches
up to its end or the end of the input, so the tokens tile the markup and each character is read
once. The work is also bounded: at most MAX_MARKUP characters of markup are read and at most
MAX_TEXT characters of text are produced (a quote prefix is at most MAX_QUOTE_DEPTH deep, so
nested blockquotes cannot multiply the text either).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

MAX_MARKUP = 1024 * 1024  # characters of an HTML body read; the rest is dropped
MAX_TEXT = 200_000  # characters of text produced (a ticket body holds 100,000)
MAX_QUOTE_DEPTH = 8  # "> " prefixes shown for nested blockquotes
MAX_BREAKS = 20_000  # tags that break lines (<p>, <div>, <br>...) read; real mail has far fewer

PARAGRAPH_TAGS = {
    "blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p", "pre", "table",
    "ul",
}  # fmt: skip
LINE_TAGS = {
    "address", "article", "aside", "dd", "div", "dt", "footer", "form", "header", "li",
    "section", "tr",
}  # fmt: skip
SKIPPED_TAGS = {"script", "style", "title", "template", "noscript"}  # their content is no text

BREAK_TAGS = PARAGRAPH_TAGS | LINE_TAGS | SKIPPED_TAGS | {"br", "td", "th"}  # all others: inline

_ATTRIBUTES = r"""(?: [^>"'=]++ | = \s*+ (?: "[^"]*+"? | '[^']*+'? )? | ["'] )*+ >?"""
_BREAK_NAME = "(?:" + "|".join(sorted(BREAK_TAGS)) + r")(?![^\s/>])"
# As HTML5 reads them: "<" before anything but a letter, "!", "?" or "/" is text; "<!", "<?"
# and "</" before no letter open a bogus comment up to ">"; a tag or comment still open at the
# end of the input runs to its end. A text run holds character data and inline tags (<span>,
# <a>, <b>...), which the C regex engine reads at once: only the tags that break lines are
# tokens of their own.
_INLINE_TAG = rf"< /?+ (?!{_BREAK_NAME}) [a-zA-Z][^\s/>]*+ {_ATTRIBUTES}"
TOKEN_RE = re.compile(
    rf"""
      (?P<text> (?: [^<]++ | <(?![!?/a-zA-Z]) | </\Z | {_INLINE_TAG} )++ )
    | (?P<comment> <!-- (?: [^-]++ | -(?!->) )*+ (?: --> | \Z ) )
    | (?P<declaration> (?: <[!?] | </(?![a-zA-Z]) ) [^>]*+ >? )
    | (?P<tag> <(?P<end>/?+) (?P<name>[a-zA-Z][^\s/>]*+) {_ATTRIBUTES} )
    """,
    re.VERBOSE | re.IGNORECASE,
)
INLINE_TAG_RE = re.compile(rf"</?+[a-zA-Z][^\s/>]*+ {_ATTRIBUTES}", re.VERBOSE)


def _raw_end(name: str) -> re.Pattern:
    return re.compile(rf"</{name}(?![^\s/>])", re.IGNORECASE)


RAW_END = {name: _raw_end(name) for name in SKIPPED_TAGS}


def tokens(markup: str) -> Iterator[tuple[str, int, int, str | None]]:
    """The markup as consecutive (kind, start, end, tag name) tokens that tile it.

    Kinds: "text" (character data with its inline tags), "comment", "declaration", "start"
    and "end" (a tag that breaks lines; its lower-case name), "raw" (the content of a script,
    style, ... up to its end tag, found by one search).
    """
    pos = 0
    size = len(markup)
    while pos < size:
        token = TOKEN_RE.match(markup, pos)
        kind = token.lastgroup
        start, pos = token.span()
        if kind != "tag":
            yield kind, start, pos, None
            continue
        name = token.group("name").lower()
        if token.group("end"):
            yield "end", start, pos, name
            continue
        yield "start", start, pos, name
        if name in SKIPPED_TAGS and not token.group().endswith("/>"):
            closing = RAW_END[name].search(markup, pos)
            stop = closing.start() if closing else size
            if stop > pos:
                yield "raw", pos, stop, name
            pos = stop


class _Text:
    """The lines of text built so far, with the block and quote structure of the HTML."""

    def __init__(self, limit: int):
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.buffered = 0
        self.size = 0
        self.limit = limit
        self.quote = 0
        self.pre = 0

    @property
    def full(self) -> bool:
        return self.size >= self.limit

    def data(self, text: str) -> None:
        self.buffer.append(text)
        self.buffered += len(text)
        if self.buffered > self.limit:  # one huge paragraph: it is all we can keep
            self.flush()

    def flush(self, *, blank: bool = False) -> None:
        """End the current line; `blank`: also leave an empty line (a paragraph break)."""
        text = "".join(self.buffer)
        self.buffer = []
        self.buffered = 0
        rows = text.split("\n") if self.pre else [" ".join(text.split())]
        prefix = "> " * min(self.quote, MAX_QUOTE_DEPTH)
        for row in rows:
            if self.full:
                return
            if row.strip() == "--":
                row = "-- "  # the signature separator loses its space in HTML
            if row.strip():
                line = prefix + (row if row == "-- " else row.rstrip())
                self.lines.append(line)
                self.size += len(line) + 1
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")
            self.size += 1

    def start(self, tag: str) -> None:
        if tag == "br":
            if not "".join(self.buffer).strip() and self.lines and self.lines[-1]:
                self.lines.append("")  # <br><br>: an empty line
                self.size += 1
            self.flush()
        elif tag in PARAGRAPH_TAGS or tag in LINE_TAGS:
            self.flush(blank=tag in PARAGRAPH_TAGS)
            if tag == "blockquote":
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.data("- ")

    def end(self, tag: str) -> None:
        if tag in PARAGRAPH_TAGS or tag in LINE_TAGS:
            self.flush(blank=tag in PARAGRAPH_TAGS)
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag in ("td", "th"):
            self.data(" ")

    def text(self) -> str:
        self.flush()
        return "\n".join(self.lines).strip()[: self.limit]


def html_to_text(markup: str, *, limit: int = MAX_TEXT) -> str:
    """Readable plain text from an HTML body: at most `limit` characters of it."""
    markup = markup[:MAX_MARKUP]
    out = _Text(limit)
    breaks = 0
    for kind, start, stop, name in tokens(markup):
        if kind == "text":
            # Entities are decoded in Python: no more of a run than can still be kept.
            run = INLINE_TAG_RE.sub("", markup[start : min(stop, start + 2 * limit)])
            out.data(html.unescape(run))
            if out.full:
                break
        elif kind in ("start", "end"):
            breaks += 1
            if breaks > MAX_BREAKS:
                break
            (out.start if kind == "start" else out.end)(name)
    return out.text()

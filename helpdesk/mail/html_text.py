"""Readable plain text from the HTML body of an email."""

from __future__ import annotations

import logging
from html.parser import HTMLParser

logger = logging.getLogger("helpdesk.mail.ingest")

PARAGRAPH_TAGS = {
    "blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p", "pre", "table",
    "ul",
}  # fmt: skip
LINE_TAGS = {
    "address", "article", "aside", "dd", "div", "dt", "footer", "form", "header", "li",
    "section", "tr",
}  # fmt: skip
SKIPPED_TAGS = {"script", "style", "title", "template", "noscript"}


class _HtmlToText(HTMLParser):
    """Visible text of an HTML mail, one line per block; blockquotes become "> " lines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.quote = 0
        self.skip = 0
        self.pre = 0

    def _flush(self, *, blank: bool = False) -> None:
        """End the current line; `blank`: also leave an empty line (a paragraph break)."""
        text = "".join(self.buffer)
        self.buffer = []
        rows = text.split("\n") if self.pre else [" ".join(text.split())]
        for row in rows:
            if row.strip() == "--":
                row = "-- "  # the signature separator loses its space in HTML
            if row.strip():
                self.lines.append("> " * self.quote + (row if row == "-- " else row.rstrip()))
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self.skip += 1
        elif tag == "br":
            if not "".join(self.buffer).strip() and self.lines and self.lines[-1]:
                self.lines.append("")  # <br><br>: an empty line
            self._flush()
        elif tag in PARAGRAPH_TAGS or tag in LINE_TAGS:
            self._flush(blank=tag in PARAGRAPH_TAGS)
            if tag == "blockquote":
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.buffer.append("- ")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in SKIPPED_TAGS:
            self.skip = max(0, self.skip - 1)

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in PARAGRAPH_TAGS or tag in LINE_TAGS:
            self._flush(blank=tag in PARAGRAPH_TAGS)
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag in ("td", "th"):
            self.buffer.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.buffer.append(data)

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines).strip()


def html_to_text(markup: str) -> str:
    """Readable plain text from an HTML body."""
    parser = _HtmlToText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient, but a hostile document must not stop us
        logger.warning("could not read all of an HTML body", exc_info=True)
    return parser.text()

"""A queued email made whole: its letter (headers, template, values: JSON) rendered through the
templates into an RFC 5322 message. The outbox writes letters (helpdesk/mail/outbox.py); this
is read when a message is sent or shown, and depends on no model, so OutboxMessage.raw can
use it."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from helpdesk import i18n

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _gettext(language: str):
    """The templates' `_("...")`: a text of the catalogs in `language`, values filled in."""
    return lambda text, **values: i18n.gettext(language, text, **values)


def _bodies(template: str, language: str, values: dict) -> tuple[str, str]:
    """Plain text and HTML of a template (`notification`, `account`) in the language."""
    values = {**values, "language": language, "_": _gettext(language)}
    text = _templates.get_template(f"{template}.txt").render(values)
    html = _templates.get_template(f"{template}.html").render(values)
    return text, html


def letter(template: str, language: str, headers: dict[str, str], values: dict) -> str:
    """What `compose` makes a message of, as stored in OutboxMessage.letter."""
    parts = {"template": template, "language": language, "values": values}
    parts["headers"] = [[name, value] for name, value in headers.items()]
    return json.dumps(parts, ensure_ascii=False)


def compose(stored: str) -> str:
    """The whole RFC 5322 message that a stored letter stands for."""
    parts = json.loads(stored)
    language = parts["language"]
    text, html = _bodies(parts["template"], language, parts["values"])
    message = EmailMessage()
    for name, value in parts["headers"]:
        message[name] = value
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    message["Content-Language"] = language  # after set_content, which clears Content-*
    return message.as_string()

"""Typer's and Click's own words (usage errors, the --help page) in the user's language.

The installed Typer (0.29) runs on its own trimmed copy of Click (`typer._click`) whose texts are
plain f-strings, not gettext calls, and only `typer.core` marks a few with gettext's `_`
("Options", "Commands", "Aborted!", "[default: ...]"...). So, when the CLI starts
(`use(language)`, called by the root command's `main` before anything is parsed):

- `typer.core`'s `_` reads our catalogs (`MARKED`: the msgids exactly as Typer marks them);
- the lines the vendored Click writes (usage errors, the help page, the prompts' errors) go
  through `translate()` on their way out: each line is matched against `LINES` (the text exactly
  as Click prints it, its variable parts named) and written again from the user's catalog. A
  `{message}` part is itself translated ("Error: {message}" around "Missing option {name}.").

A line no template matches is printed as it came. English restores Typer's own functions.
tests/cli/test_cli_language.py checks that the English Typer prints still matches every
template, so an upgrade that rewords a text is noticed.
"""

from __future__ import annotations

import functools
import importlib
import re
import string

from typer.core import TyperGroup

from helpdesk import i18n
from helpdesk.cli import i18n as cli_i18n

N_ = i18n.N_

# The texts typer.core marks with gettext's `_`, as it writes them (a user can meet these).
MARKED = (
    N_("Options"),
    N_("Arguments"),
    N_("Commands"),
    N_("default: {default}"),
    N_("required"),
    N_("env var: {var}"),
    N_("Aborted!"),
    N_("Missing command."),
    N_("No such command {name!r}."),
)

# The lines the vendored Click writes, as it writes them; a placeholder stands for any text.
LINES = (
    N_("Usage: {usage}"),
    N_("Try '{command}' for help."),
    N_("Error: {message}"),
    N_("Missing option {name}."),
    N_("Missing option {name}. Choose from:"),
    N_("Missing argument {name}."),
    N_("Missing argument {name}. Choose from:"),
    N_("No such option: {name}"),
    N_("No such option: {name} (Possible options: {options})"),
    N_("{message}. Did you mean {suggestions}?"),
    N_("Got unexpected extra argument(s) ({args})"),
    N_("Invalid value for {name}: {message}"),
    N_("Invalid value: {message}"),
    N_("Option {name} requires an argument."),
    N_("Option {name} does not take a value."),
    # Typer checks values with Pydantic, which prefixes a validator's refusal with this.
    N_("Value error, {message}"),
    N_("{value} is not one of {choices}."),
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be less than or equal to {limit}"),
    N_("Input should be greater than or equal to {limit}"),
    N_("Error: The value you entered was invalid."),
    N_("Error: The two entered values do not match."),
    N_("Error: invalid input"),
)

# The help option's text, at the end of its row of the help page.
HELP_ROW = N_("Show this message and exit.")

# The modules whose `_` (gettext) or `echo` the CLI's language replaces.
GETTEXT_MODULES = ("typer.core",)
ECHO_MODULES = ("typer._click.exceptions", "typer._click.decorators", "typer._click.termui")


def _pattern(template: str) -> re.Pattern:
    parts = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P<{name}>.+?)")
    return re.compile("".join(parts), re.DOTALL)


# The outer template first ("Error: {message}" before "{value} is not one of {choices}.",
# whose value would swallow "Error: "), then the most specific: "No such option: {name}
# (Possible options: {options})" before "No such option: {name}", which matches it too.
PATTERNS = sorted(
    ((template, _pattern(template)) for template in LINES),
    key=lambda pair: (pair[0].startswith("{"), -len(re.sub(r"\{\w+\}", "", pair[0]))),
)


def match(line: str) -> tuple[str, dict[str, str]] | None:
    """The template a line of Click's is written from, and its values (None: not one of ours)."""
    for template, pattern in PATTERNS:
        found = pattern.fullmatch(line)
        if found:
            return template, found.groupdict()
    return None


def translate(language: str, text: str) -> str:
    """Click's `text` (one line or a help page) in `language`."""
    return "\n".join(_translate_line(language, line) for line in text.split("\n"))


def _translate_line(language: str, line: str) -> str:
    body = line.lstrip()
    indent = line[: len(line) - len(body)]
    found = match(body)
    if found:
        template, values = found
        if "message" in values:
            values["message"] = _translate_line(language, values["message"])
        return indent + i18n.gettext(language, template).format(**values)
    if line.endswith("  " + HELP_ROW):
        return line[: -len(HELP_ROW)] + i18n.gettext(language, HELP_ROW)
    return line


def _echo(language: str, original, message=None, *args, **kwargs):
    if isinstance(message, str):
        message = translate(language, message)
    return original(message, *args, **kwargs)


_ORIGINALS: dict[tuple[str, str], object] = {}


def use(language: str) -> None:
    """Make Typer and its Click speak `language` from now on (English: their own words)."""
    english = i18n.is_source(language)
    for names, attribute in ((GETTEXT_MODULES, "_"), (ECHO_MODULES, "echo")):
        for name in names:
            module = importlib.import_module(name)
            original = _ORIGINALS.setdefault((name, attribute), getattr(module, attribute))
            if english:
                replacement = original
            elif attribute == "_":
                replacement = i18n.translations(language).gettext
            else:
                replacement = functools.partial(_echo, language, original)
            setattr(module, attribute, replacement)


class SpeakingGroup(TyperGroup):
    """The root command: before Click parses anything, Typer speaks the user's language."""

    def main(self, *args, **kwargs):
        use(cli_i18n.language())
        return super().main(*args, **kwargs)

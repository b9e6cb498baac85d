"""`helpdesk ticket ...`: submit, follow and work tickets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import click
import typer

from helpdesk.cli import wizard
from helpdesk.cli.choices import (
    Level,
    Priority,
    Status,
    Switch,
    Target,
    TicketType,
)
from helpdesk.cli.client import ApiClient, ApiError
from helpdesk.cli.compat import UsageError
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_, t, w
from helpdesk.cli.output import JsonOption, emit, person, table, when
from helpdesk.cli.sla import print_ticket_sla

app = typer.Typer(
    help="Tickets: submit, list, search, comment, share and work them.", no_args_is_help=True
)
attachment_app = typer.Typer(help="Files attached to tickets.", no_args_is_help=True)
app.add_typer(attachment_app, name="attachment")


Ref = Annotated[str, typer.Argument(metavar="REF", help="The ticket's reference, e.g. HD-42.")]
StatusFilter = Annotated[
    list[Status] | None,
    typer.Option("--status", help="Only tickets in this status (repeatable)."),
]
Attach = Annotated[
    list[Path] | None,
    typer.Option(
        "--attach",
        exists=True,
        dir_okay=False,
        readable=True,
        help="A file to attach (repeatable).",
    ),
]


def _text_or_file(text: str | None, path: str | None, what: str, required: bool) -> str | None:
    """The text given inline, or read from a file ('-' for stdin)."""
    if text is not None and path is not None:
        raise UsageError(f"Give the {what} inline or as a file, not both.")
    if path is None:
        if required and text is None:
            raise UsageError(f"Give the {what} with --{what} or --{what}-file.")
        return text
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--{what}-file: cannot read {path}: {exc}") from None


def _ticket_path(reference: str, suffix: str = "") -> str:
    return f"/tickets/{quote(reference.strip(), safe='')}{suffix}"


def _files(paths: list[Path] | None) -> list[tuple[str, Path]] | None:
    return [(p.name, p) for p in paths] if paths else None


def service_name(ticket: dict) -> str | None:
    """The ticket's service as the caller calls it (a customer: their contract's name)."""
    service = ticket.get("service")
    return (service.get("display_name") or service["name"]) if service else None


def service_label(ticket: dict) -> str:
    """service_name with its subcategory: "Matching / Data delivery"; "-" without a service."""
    name = service_name(ticket)
    if name is None:
        return "-"
    sub = ticket.get("subcategory")
    return f"{name} / {sub['name']}" if sub else name


def _field(label: str, value: str) -> str:
    """One line of a ticket: `label` is already in the user's language."""
    return f"  {label + ':':<13} {value}"


def _render_ticket(ticket: dict) -> None:
    tk = ticket
    typer.echo(f"{tk['reference']}  {tk['title']}")
    typer.echo(
        _field(t("Status"), w("status", tk["status"]))
        + "    "
        + t("Type")
        + f": {w('ticket type', tk['type'])}    "
        + t(
            "Priority: {priority} (impact {impact}, urgency {urgency})",
            priority=w("priority", tk["priority"]),
            impact=w("level", tk["impact"]),
            urgency=w("level", tk["urgency"]),
        )
    )
    typer.echo(
        _field(t("Requester"), person(tk["requester"]))
        + "    "
        + t("Organization")
        + f": {tk['organization']}"
        + ("    (" + t("private") + ")" if tk["private"] else "")
    )
    typer.echo(_field(t("Assignee"), person(tk["assignee"])))
    if tk.get("service"):
        typer.echo(_field(t("Service"), service_label(tk)))
    typer.echo(
        _field(t("Created"), when(tk["created_at"]))
        + "    "
        + t("Updated")
        + f": {when(tk['updated_at'])}"
    )
    if tk["shared_with"]:
        typer.echo(_field(t("Shared with"), ", ".join(u["email"] for u in tk["shared_with"])))
    if not tk.get("notifications", True):
        typer.echo(_field(t("Emails"), t("off (helpdesk ticket notify REF on)")))
    if tk["satisfaction"]:
        sat = tk["satisfaction"]
        rating = f"{sat['rating']}/5" if sat["rating"] is not None else t("no rating")
        typer.echo(
            _field(t("Satisfaction"), rating + (f" - {sat['comment']}" if sat["comment"] else ""))
        )
    print_ticket_sla(tk.get("sla"))
    nxt = ", ".join(w("status", s) for s in tk["allowed_transitions"]) or t("none")
    typer.echo("  " + t("You can move it to") + f": {nxt}")
    if tk["description"]:
        typer.echo("")
        typer.echo(tk["description"])
    for c in tk["comments"]:
        label = " [" + t("internal") + "]" if c["visibility"] == "internal" else ""
        typer.echo(f"\n--- {when(c['created_at'])}  {person(c['author'])}{label}")
        typer.echo(c["body"])
    if tk["attachments"]:
        typer.echo("\n" + t("Attachments") + ":")
        table(
            [
                (a["filename"], a["size"], a["content_type"], when(a["created_at"]))
                for a in tk["attachments"]
            ],
            [N_("File"), N_("Bytes"), N_("Type"), N_("Added")],
        )


def _done(message: str):
    """Print `message` (marked with N_ where written) filled in from the ticket."""

    def render(ticket: dict) -> None:
        words = {
            "status": w("status", ticket["status"]),
            "priority": w("priority", ticket["priority"]),
        }
        typer.echo(t(message, **{**ticket, **words}))

    return render


def _say_what_changed(key: str, done: str, nothing: str, *, placeholder: str):
    """Render an answer that lists what it changed under `key` (`placeholder` in `done`),
    or says that nothing changed."""

    def render(answer: dict) -> None:
        reference = answer["reference"]
        if answer[key]:
            typer.echo(t(done, reference=reference, **{placeholder: ", ".join(answer[key])}))
        else:
            typer.echo(t(nothing, reference=reference))

    return render


ServiceOption = Annotated[
    str | None,
    typer.Option(
        "--service", help="The service it is about, by name or id (helpdesk catalog list)."
    ),
]
SubcategoryOption = Annotated[
    str | None,
    typer.Option("--subcategory", help="The part of the service, by name or id."),
]


@app.command("submit")
@handle_errors
def submit(
    type_: Annotated[
        TicketType | None, typer.Option("--type", help="What kind of ticket (asked on a terminal).")
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="A one-line summary (asked on a terminal).")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", help="The details.")] = None,
    description_file: Annotated[
        str | None,
        typer.Option("--description-file", help="Read the details from a file, or '-' for stdin."),
    ] = None,
    impact: Annotated[
        Level | None,
        typer.Option("--impact", help="How many are affected (types that ask for it; medium)."),
    ] = None,
    urgency: Annotated[
        Level | None,
        typer.Option("--urgency", help="How soon it hurts (types that ask for it; medium)."),
    ] = None,
    priority: Annotated[
        Priority | None,
        typer.Option(
            "--priority", help="The priority, for types that ask for one (helpdesk priority show)."
        ),
    ] = None,
    dedupe_key: Annotated[
        str | None,
        typer.Option(
            "--dedupe-key",
            help="While your ticket with this key is not closed, add 'happened again' to it "
            "instead of opening another.",
        ),
    ] = None,
    service: ServiceOption = None,
    subcategory: SubcategoryOption = None,
    org: Annotated[
        str | None, typer.Option("--org", help="Your organization, if you belong to several.")
    ] = None,
    private: Annotated[
        bool, typer.Option("--private", help="Hide it from the power users of your organization.")
    ] = False,
    requester: Annotated[
        str | None, typer.Option("--requester", help="Agents: submit for this customer (email).")
    ] = None,
    attach: Attach = None,
    json_output: JsonOption = False,
) -> None:
    """Submit a new ticket; on a terminal, without --service, it asks step by step. With
    --dedupe-key, while your ticket with that key is open, it comments on it instead."""
    client = ApiClient.from_environment()
    draft = {
        "type": type_.value if type_ else None,
        "title": title,
        "description": _text_or_file(description, description_file, "description", False),
        "impact": impact.value if impact else None,
        "urgency": urgency.value if urgency else None,
        "priority": priority.value if priority else None,
        "service": service,
        "subcategory": subcategory,
    }
    if service is None and wizard.on_terminal():
        catalogue = client.get("/catalog", organization=None if requester else org)["items"]
        # Nothing to choose and nothing missing: submit as given, without questions.
        if catalogue or not (draft["type"] and draft["title"]):
            asks = {p["type"]: p for p in client.get("/priority")["types"]}
            wizard.walk(draft, catalogue, asks)
    for option, key in (("--type", "type"), ("--title", "title")):
        if not draft[key]:
            raise UsageError(
                t("Missing option {option} (asked only on a terminal).", option=repr(option))
            )
    body = {
        **{k: v for k, v in draft.items() if v is not None},
        "description": draft["description"] or "",
        "private": private,
    }
    if dedupe_key is not None:
        body["dedupe_key"] = dedupe_key
    if org:
        body["organization"] = org
    if requester:
        body["requester"] = requester
    try:
        ticket = client.post("/tickets", body, files=_files(attach))
    except ApiError as exc:
        if service is None and (exc.details or {}).get("field") == "service":
            raise UsageError(
                f"Missing option '--service'. {exc.message} (helpdesk catalog list shows them.)"
            ) from None
        raise
    if ticket["deduplicated"]:
        done = _done(
            N_("{reference} is still open: added 'happened again' ({status}, {priority}).")
        )
    else:
        done = _done(N_("Submitted {reference}: {title} ({status}, {priority})."))
    emit(ticket, json_output, done)


@app.command("edit")
@handle_errors
def edit(
    reference: Ref,
    title: Annotated[str | None, typer.Option("--title", help="A new one-line summary.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="New details.")] = None,
    description_file: Annotated[
        str | None,
        typer.Option("--description-file", help="Read the details from a file, or '-' for stdin."),
    ] = None,
    type_: Annotated[
        TicketType | None, typer.Option("--type", help="Agents: another kind of ticket.")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Agents: another service (name or id).")
    ] = None,
    subcategory: Annotated[
        str | None,
        typer.Option("--subcategory", help="Agents: another subcategory of its service."),
    ] = None,
    impact: Annotated[
        Level | None, typer.Option("--impact", help="Agents: how many are affected.")
    ] = None,
    urgency: Annotated[
        Level | None, typer.Option("--urgency", help="Agents: how soon it hurts.")
    ] = None,
    priority: Annotated[
        Priority | None,
        typer.Option("--priority", help="Agents: set the priority instead of computing it."),
    ] = None,
    private: Annotated[
        bool | None,
        typer.Option(
            "--private/--public",
            help="Hide it from, or show it to, your organization's power users.",
        ),
    ] = None,
    editor: Annotated[
        bool,
        typer.Option(
            "--editor",
            help="Edit the title and description in $EDITOR, starting from the current ones "
            "(refused if someone changes the ticket meanwhile).",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Change a ticket's fields (customers: title, description and privacy while it is new)."""
    body: dict = {
        "title": title,
        "description": _text_or_file(description, description_file, "description", False),
        "type": type_.value if type_ else None,
        "service": service,
        "subcategory": subcategory,
        "impact": impact.value if impact else None,
        "urgency": urgency.value if urgency else None,
        "priority": priority.value if priority else None,
        "private": private,
    }
    body = {k: v for k, v in body.items() if v is not None}
    client, shown_version = ApiClient.from_environment(), None
    if editor:
        if "title" in body or "description" in body:
            raise UsageError(
                "--editor edits the title and description: drop --title and --description."
            )
        shown = client.request("GET", _ticket_path(reference))
        shown_version = shown.headers.get("ETag")  # the change applies to what was shown
        body.update(_edited_in_editor(shown.body))
    if not body and not editor:
        raise UsageError(
            "Say what to change: --title, --description, --type, --service, --subcategory, "
            "--impact, --urgency, --priority, --private, --public or --editor."
        )
    if body:
        result = client.patch(_ticket_path(reference), body, if_match=shown_version)
    else:  # left as it was in the editor
        result = {**shown.body, "changed": []}

    emit(
        result,
        json_output,
        _say_what_changed(
            "changed",
            N_("Updated {reference}: {fields}."),
            N_("Nothing to change on {reference}."),
            placeholder="fields",
        ),
    )


def _edited_in_editor(ticket: dict) -> dict:
    """The title (first line) and description (after a blank line) as the user left them in
    $EDITOR; only those that changed (none when the file was not saved)."""
    edited = click.edit(f"{ticket['title']}\n\n{ticket['description']}\n", require_save=True)
    if edited is None:
        return {}
    title, _, description = edited.partition("\n")
    changes = {"title": title.strip(), "description": description.strip("\n").rstrip()}
    return {field: value for field, value in changes.items() if value != ticket[field]}


@app.command("show")
@handle_errors
def show(reference: Ref, json_output: JsonOption = False) -> None:
    """Show a ticket with its public log (and internal notes, for agents)."""
    ticket = ApiClient.from_environment().get(_ticket_path(reference))
    emit(ticket, json_output, _render_ticket)


@app.command("comment")
@handle_errors
def comment(
    reference: Ref,
    message: Annotated[str | None, typer.Option("--message", "-m", help="The comment.")] = None,
    message_file: Annotated[
        str | None,
        typer.Option("--message-file", help="Read the comment from a file, or '-' for stdin."),
    ] = None,
    internal: Annotated[
        bool,
        typer.Option("--internal", help="An internal note, never shown to customers (agents)."),
    ] = False,
    attach: Attach = None,
    json_output: JsonOption = False,
) -> None:
    """Add a comment to a ticket."""
    body = _text_or_file(message, message_file, "message", True)
    result = ApiClient.from_environment().post(
        _ticket_path(reference, "/comments"),
        {"body": body, "internal": internal},
        files=_files(attach),
    )
    done = (
        N_("Added internal note to {reference}.")
        if internal
        else N_("Added comment to {reference}.")
    )
    emit(result, json_output, lambda c: typer.echo(t(done, reference=c["ticket"])))


@app.command("share")
@handle_errors
def share(
    reference: Ref,
    users: Annotated[
        list[str],
        typer.Argument(
            help="Colleagues, by email or by name; or the email of someone outside, "
            "who is invited to this ticket."
        ),
    ],
    json_output: JsonOption = False,
) -> None:
    """Share a ticket with colleagues, or invite someone from outside to see it."""
    result = ApiClient.from_environment().post(_ticket_path(reference, "/shares"), {"users": users})
    said = _say_what_changed(
        "added",
        N_("Shared {reference} with {users}."),
        N_("{reference} was already shared with them."),
        placeholder="users",
    )

    def render(answer: dict) -> None:
        said(answer)
        if answer["invited"]:
            typer.echo(
                t(
                    "Invited {users}: they are emailed a link to activate their account.",
                    users=", ".join(answer["invited"]),
                )
            )

    emit(result, json_output, render)


@app.command("unshare")
@handle_errors
def unshare(
    reference: Ref,
    users: Annotated[list[str], typer.Argument(help="People it is shared with, by email or name.")],
    json_output: JsonOption = False,
) -> None:
    """Stop sharing a ticket with people (the requester or an agent)."""
    result = ApiClient.from_environment().post(
        _ticket_path(reference, "/unshare"), {"users": users}
    )
    emit(
        result,
        json_output,
        lambda tk: typer.echo(
            t(
                "Stopped sharing {reference} with {users}.",
                reference=tk["reference"],
                users=", ".join(tk["removed"]),
            )
        ),
    )


@app.command("assign")
@handle_errors
def assign(
    reference: Ref,
    agent: Annotated[str, typer.Argument(help="The agent, by email or name, or 'me'.")],
    json_output: JsonOption = False,
) -> None:
    """Assign a ticket to an agent (a new ticket becomes open)."""
    result = ApiClient.from_environment().post(
        _ticket_path(reference, "/assign"), {"assignee": agent}
    )
    emit(
        result,
        json_output,
        lambda tk: typer.echo(
            t(
                "Assigned {reference} to {agent} ({status}).",
                reference=tk["reference"],
                agent=tk["assignee"]["email"],
                status=w("status", tk["status"]),
            )
        ),
    )


@app.command("status")
@handle_errors
def status(
    reference: Ref,
    new_status: Annotated[
        Target,
        typer.Argument(metavar="STATUS", help=f"The status to move to: {', '.join(Target)}."),
    ],
    comment_: Annotated[
        str | None, typer.Option("--comment", help="A public comment to go with the change.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Move a ticket to another status."""
    body = {"to": new_status.value}
    if comment_:
        body["comment"] = comment_
    result = ApiClient.from_environment().post(_ticket_path(reference, "/transition"), body)
    emit(result, json_output, _done(N_("{reference} is now {status}.")))


@app.command("close")
@handle_errors
def close(
    reference: Ref,
    rating: Annotated[
        int | None,
        typer.Option(
            "--rating", min=1, max=5, help="Your satisfaction, 1 (poor) to 5 (excellent)."
        ),
    ] = None,
    comment_: Annotated[str | None, typer.Option("--comment", help="What you thought.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Close a ticket, with an optional satisfaction rating."""
    body: dict = {}
    if rating is not None:
        body["rating"] = rating
    if comment_:
        body["comment"] = comment_
    result = ApiClient.from_environment().post(_ticket_path(reference, "/close"), body)
    emit(result, json_output, _done(N_("Closed {reference}.")))


@app.command("reopen")
@handle_errors
def reopen(
    reference: Ref,
    comment_: Annotated[str, typer.Option("--comment", help="Why it is not solved.")],
    json_output: JsonOption = False,
) -> None:
    """Reopen a resolved ticket, saying why."""
    result = ApiClient.from_environment().post(
        _ticket_path(reference, "/reopen"), {"comment": comment_}
    )
    emit(result, json_output, _done(N_("Reopened {reference}.")))


@app.command("notify")
@handle_errors
def notify(
    reference: Ref,
    switch: Annotated[Switch, typer.Argument(metavar="on|off", help="Emails about it, or none.")],
    json_output: JsonOption = False,
) -> None:
    """Turn your emails about a ticket on or off."""
    result = ApiClient.from_environment().post(
        _ticket_path(reference, "/notifications"), {"enabled": switch == Switch.on}
    )
    emit(
        result,
        json_output,
        lambda tk: typer.echo(
            t("Emails about {reference} are on.", reference=tk["reference"])
            if tk["notifications"]
            else t("Emails about {reference} are off.", reference=tk["reference"])
        ),
    )


@app.command("rate")
@handle_errors
def rate(
    reference: Ref,
    rating: Annotated[
        int,
        typer.Option(
            "--rating", min=1, max=5, help="Your satisfaction, 1 (poor) to 5 (excellent)."
        ),
    ],
    comment_: Annotated[str | None, typer.Option("--comment", help="What you thought.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Rate your closed ticket, once."""
    body: dict = {"rating": rating}
    if comment_:
        body["comment"] = comment_
    result = ApiClient.from_environment().post(_ticket_path(reference, "/rating"), body)
    emit(
        result,
        json_output,
        lambda tk: typer.echo(
            t(
                "Rated {reference} {rating}/5. Thank you!",
                reference=tk["reference"],
                rating=tk["satisfaction"]["rating"],
            )
        ),
    )


@attachment_app.command("get")
@handle_errors
def attachment_get(
    reference: Ref,
    name: Annotated[str, typer.Argument(help="The attachment's file name.")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Where to write it ('-' for stdout); default: NAME here."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Download an attachment."""
    target = output or Path(name).name
    if target != "-" and Path(target).exists() and not force:
        raise UsageError(f"{target} exists; use --force to overwrite it.")
    client = ApiClient.from_environment()
    path = _ticket_path(reference, f"/attachments/{quote(name, safe='')}")
    size = 0
    with client.download(path) as (_, chunks):
        if target == "-":
            out = sys.stdout.buffer
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            return
        tmp = Path(target).with_name(Path(target).name + ".part")
        try:
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
    emit(
        {"path": str(target), "size": size},
        json_output,
        lambda r: typer.echo(t("Saved {path} ({size} bytes).", **r)),
    )


# `ticket list`, `search` and `export` (they share their filters and printing).
from helpdesk.cli import ticket_lists  # noqa: E402, F401

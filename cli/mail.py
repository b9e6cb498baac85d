"""`helpdesk mail ...`: the outbox, its delivery, and email-to-ticket."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from helpdesk.cli.choices import OutboxStatus
from helpdesk.cli.client import ApiClient
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_
from helpdesk.cli.mail_ingest import ingest_command
from helpdesk.cli.organizations import Page, PerPage
from helpdesk.cli.output import JsonOption, emit, page_footer, table, when

app = typer.Typer(
    help="Outgoing mail (outbox, delivery) and email-to-ticket.", no_args_is_help=True
)


@app.command("outbox")
@handle_errors
def outbox(
    status: Annotated[
        OutboxStatus | None, typer.Option("--status", help="Only this status.")
    ] = None,
    page: Page = 1,
    per_page: PerPage = 25,
    json_output: JsonOption = False,
) -> None:
    """List outgoing mail, newest first (admins)."""
    result = ApiClient.from_environment().get(
        "/mail/outbox", status=status.value if status else None, page=page, per_page=per_page
    )

    def render(r):
        if r["items"]:
            table(
                [
                    (
                        m["id"],
                        m["status"],
                        m["to"],
                        m["subject"][:50],
                        m["attempts"],
                        when(m["sent_at"] or m["created_at"]),
                        (m["last_error"] or "")[:40],
                    )
                    for m in r["items"]
                ],
                [
                    N_("Id"),
                    N_("Status"),
                    N_("To"),
                    N_("Subject"),
                    N_("Tries"),
                    N_("When"),
                    N_("Last error"),
                ],
            )
        page_footer(r, N_("messages"))

    emit(result, json_output, render)


@app.command("retry")
@handle_errors
def retry(
    message_id: Annotated[int, typer.Argument(metavar="ID", help="The outbox message's id.")],
    json_output: JsonOption = False,
) -> None:
    """Queue a failed message to be sent again (admins)."""
    result = ApiClient.from_environment().post(f"/mail/outbox/{message_id}/retry")
    emit(
        result,
        json_output,
        lambda m: typer.echo(f"Message {m['id']} to {m['to']} will be sent at the next delivery."),
    )


@app.command("send")
@handle_errors
def send(
    loop: Annotated[bool, typer.Option("--loop", help="Keep delivering until stopped.")] = False,
    interval: Annotated[
        int, typer.Option("--interval", min=1, help="Seconds between rounds with --loop.")
    ] = 30,
    json_output: JsonOption = False,
) -> None:
    """Deliver the outbox over SMTP (for cron; --loop to keep running)."""
    from helpdesk.config import load_settings, use_settings
    from helpdesk.db import database
    from helpdesk.mail.sender import DeliveryRefused, deliver_pending
    from helpdesk.migrations import open_database

    settings = use_settings(load_settings())
    open_database(settings.database_url)
    if not settings.mail.smtp_host:
        typer.echo(
            "Warning: no SMTP server is configured (HELPDESK_SMTP_HOST); "
            "messages stay in the outbox.",
            err=True,
        )
    try:
        while True:
            with database.connection_context():
                report = deliver_pending(settings.mail)
            if report.server_error:
                refused = (
                    f"The SMTP server refused us ({report.server_error}); nothing more was sent "
                    f"this round. The outbox keeps its messages (waiting: {report.retrying}) and "
                    f"tries again from {report.retry_at:%Y-%m-%d %H:%M:%S} UTC."
                )
                if not loop and not report.sent:
                    raise DeliveryRefused(refused, {"server": report.server_error})
                typer.echo(f"Warning: {refused}", err=True)
            emit(
                report.as_dict(),
                json_output,
                lambda r: typer.echo(
                    f"Sent {r['sent']}, retrying {r['retrying']}, failed {r['failed']}; "
                    f"{r['pending']} pending."
                ),
            )
            if not loop:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        typer.echo("Stopped.", err=True)


app.command("ingest")(ingest_command)

"""The `helpdesk` command: noun-verb sub-commands over the JSON API."""

from __future__ import annotations

import logging
from typing import Annotated

import click_log
import typer

from helpdesk import __version__
from helpdesk.cli import (
    config,
    serving,
    user_access,  # noqa: F401  (registers user invite/deactivate/...)
)
from helpdesk.cli.account import app as account_app
from helpdesk.cli.account import signup
from helpdesk.cli.catalog import app as catalog_app
from helpdesk.cli.click_language import SpeakingGroup
from helpdesk.cli.client import ApiClient, ServerUnreachable
from helpdesk.cli.contracts import app as contract_app
from helpdesk.cli.dashboard import dashboard
from helpdesk.cli.db import app as db_app
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import t
from helpdesk.cli.mail import app as mail_app
from helpdesk.cli.organizations import app as org_app
from helpdesk.cli.output import JsonOption, emit
from helpdesk.cli.priorities import app as priority_app
from helpdesk.cli.prompts import read_password
from helpdesk.cli.reports import app as report_app
from helpdesk.cli.sla import app as sla_app
from helpdesk.cli.storage import app as storage_app
from helpdesk.cli.tickets import app as ticket_app
from helpdesk.cli.tokens import app as token_app
from helpdesk.cli.users import app as user_app
from helpdesk.errors import HelpdeskError

logger = logging.getLogger("helpdesk")
click_log.basic_config(logger)

app = typer.Typer(
    name="helpdesk",
    help="A customer-support help desk: tickets, customers and agents, from the command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=SpeakingGroup,
)
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(ticket_app, name="ticket")
app.add_typer(priority_app, name="priority")
app.add_typer(catalog_app, name="catalog")
app.add_typer(contract_app, name="contract")
app.add_typer(mail_app, name="mail")
app.add_typer(report_app, name="report")
app.add_typer(sla_app, name="sla")
app.add_typer(account_app, name="account")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(storage_app, name="storage")

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"helpdesk {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug).")
    ] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """A customer-support help desk: tickets, customers and agents, from the command line."""
    logger.setLevel([logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)])


def _user_line(user: dict) -> str:
    orgs = ", ".join(f"{m['name']} ({m['role']})" for m in user.get("organizations", []))
    return f"{user['name']} <{user['email']}>, {user['kind']}" + (f", {orgs}" if orgs else "")


@app.command()
@handle_errors
def init(
    admin_email: Annotated[str, typer.Option("--admin-email", help="The first admin's email.")],
    admin_name: Annotated[str | None, typer.Option("--admin-name", help="Their name.")] = None,
    password_stdin: PasswordStdin = False,
    json_output: JsonOption = False,
) -> None:
    """Create the database and the first admin, and log in as them."""
    from helpdesk.config import load_settings, use_settings
    from helpdesk.db import database, init_database
    from helpdesk.migrations import create_schema
    from helpdesk.services import api_tokens, users

    password = read_password(password_stdin, confirm=True)
    settings = use_settings(load_settings())
    init_database(settings.database_url)
    create_schema()
    with database.connection_context():
        admin = users.bootstrap_admin(admin_email, password, admin_name)
        token = api_tokens.issue_token(admin, name="init")
    # init always works on the local database: its admin's token is that database's, even
    # when HELPDESK_URL names a server for the other commands.
    config.save_token(token, config.local_key(settings.database_url))
    if config.server_url():
        typer.echo(
            f"Note: HELPDESK_URL is set; this initialised the local database, not "
            f"{config.server_url()}. Unset HELPDESK_URL to use it.",
            err=True,
        )
    result = {
        "database": settings.database_url,
        "admin": {"email": admin.email, "name": admin.name},
    }
    emit(
        result,
        json_output,
        lambda r: typer.echo(
            f"Initialised {r['database']}\nLogged in as admin {r['admin']['email']}."
        ),
    )


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 5000,
    server: Annotated[
        serving.Server,
        typer.Option(help="WSGI server: gunicorn (worker processes; not on Windows) or waitress."),
    ] = serving.DEFAULT_SERVER,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Worker processes (gunicorn; default: the cores, at most 4)."
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1, max=256, help="Threads per process (default: 4 with gunicorn, 8 with waitress)."
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Serve the JSON API and the portal with a production WSGI server (gunicorn or waitress)."""
    from helpdesk.config import load_settings
    from helpdesk.db import close_idle_connections
    from helpdesk.server import create_app
    from helpdesk.server.request_log import configure_server_logging

    if server == serving.WAITRESS and workers not in (None, 1):
        raise typer.BadParameter(
            t("waitress runs one process; use --server gunicorn"), param_hint="--workers"
        )
    workers = 1 if server == serving.WAITRESS else workers or serving.default_workers()
    threads = threads or serving.default_threads(server)
    settings = load_settings()
    configure_server_logging(settings.log_format)  # before the fork: every worker inherits it
    application = create_app({"DATABASE_POOL": True}, settings=settings)
    close_idle_connections()  # the schema check's: a forked worker connects anew
    mail = settings.mail
    mail_sender = None
    if mail.send_in_server:
        from helpdesk.mail.sender import BackgroundSender

        mail_sender = BackgroundSender(mail)
    elif not mail.smtp_host:
        logger.info("no SMTP server configured: mail waits in the outbox")
    started = {
        "url": f"http://{host}:{port}",
        "server": server.value,
        "workers": workers,
        "threads": threads,
        "version": __version__,
    }
    emit(
        started,
        json_output,
        lambda s: typer.echo(
            f"helpdesk {s['version']} serving on {s['url']} "
            f"({s['server']}, {s['workers']} workers x {s['threads']} threads)",
            err=True,
        ),
    )
    if server == serving.GUNICORN:
        serving.run_gunicorn(
            application,
            host=host,
            port=port,
            workers=workers,
            threads=threads,
            background=mail_sender,  # one sender, not one a worker
        )
    else:
        if mail_sender is not None:
            mail_sender.start()
        serving.run_waitress(application, host=host, port=port, threads=threads)


@app.command()
@handle_errors
def login(
    email: Annotated[str, typer.Argument(help="Your email address.")],
    password_stdin: PasswordStdin = False,
    json_output: JsonOption = False,
) -> None:
    """Log in and keep the token for the next commands."""
    password = read_password(password_stdin)
    result = ApiClient(config.server_url()).post(
        "/auth/login", {"email": email, "password": password, "token_name": "cli"}
    )
    config.save_token(result["token"])
    config.save_profile(result["user"])
    emit(
        result["user"],
        json_output,
        lambda u: typer.echo(t("Logged in as {who}.", who=_user_line(u))),
    )


@app.command()
@handle_errors
def logout(json_output: JsonOption = False) -> None:
    """Revoke the stored token and forget it."""
    client = ApiClient.from_environment()
    revoked = False
    if client.token:
        try:
            revoked = client.post("/auth/logout")["revoked"]
        except ServerUnreachable as exc:  # forgotten here, but it still works on the server
            typer.echo(
                t(
                    "Warning: the token is forgotten here but was not revoked: {reason}.",
                    reason=exc.message,
                ),
                err=True,
            )
        except HelpdeskError as exc:  # an already revoked token still gets forgotten
            logger.info("logout: %s", exc)
    forgotten = config.forget_token()
    result = {"revoked": revoked, "forgotten": forgotten}
    emit(
        result,
        json_output,
        lambda r: typer.echo(t("Logged out.") if (revoked or forgotten) else t("Not logged in.")),
    )


@app.command()
@handle_errors
def whoami(json_output: JsonOption = False) -> None:
    """Show who the stored token belongs to."""
    user = ApiClient.from_environment().get("/me")
    config.save_profile(user)
    emit(user, json_output, lambda u: typer.echo(_user_line(u)))


app.command("signup")(signup)
app.command("dashboard")(dashboard)

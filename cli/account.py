"""`helpdesk account ...` and `helpdesk signup`: one's own account, activation, passwords."""

from __future__ import annotations

from typing import Annotated

import typer

from helpdesk.cli import config
from helpdesk.cli.choices import one_of_option
from helpdesk.cli.client import ApiClient
from helpdesk.cli.compat import UsageError
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_, t, tn, w
from helpdesk.cli.output import JsonOption, emit, when
from helpdesk.cli.prompts import read_new_password, read_password
from helpdesk.formats import DATE_FORMATS, LANGUAGES

app = typer.Typer(help="Your own account: profile, activation, password.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password(s) from stdin, one a line.")
]


def _show(user: dict) -> None:
    rows = [
        (N_("Email"), user["email"]),
        (N_("Name"), user["name"]),
        (
            N_("Kind"),
            w("user kind", user["kind"])
            + (" (" + t("external") + ")" if user.get("origin") == "external" else ""),
        ),
        (N_("Phone"), user.get("phone") or "-"),
        (N_("Language"), user["language"]),
        (N_("Date format"), user.get("date_format", "iso")),
        (N_("Signs in with"), user.get("auth_source", "local")),
        (
            N_("Organizations"),
            ", ".join(
                f"{m['name']} ({w('membership role', m['role'])})"
                for m in user.get("organizations", [])
            )
            or "-",
        ),
        (N_("Since"), when(user["created_at"])),
    ]
    rows = [(t(label), value) for label, value in rows]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        typer.echo(f"{label + ':':<{width + 1}} {value}")


def _logged_in(result: dict) -> None:
    config.save_token(result["token"])
    config.save_profile(result["user"])


@app.command("show")
@handle_errors
def show(json_output: JsonOption = False) -> None:
    """Show your profile."""
    user = ApiClient.from_environment().get("/account")
    config.save_profile(user)
    emit(user, json_output, _show)


@app.command("update")
@handle_errors
def update(
    name: Annotated[str | None, typer.Option("--name", help="Your full name.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="Your phone number.")] = None,
    language: Annotated[
        str | None, one_of_option("--language", LANGUAGES, "Language of emails and messages:")
    ] = None,
    date_format: Annotated[
        str | None, one_of_option("--date-format", DATE_FORMATS, "How dates are printed:")
    ] = None,
    email: Annotated[
        str | None,
        typer.Option("--email", help="A new address; it is confirmed by a link sent to it."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Change your profile; a new email takes effect once confirmed."""
    changes = {
        k: v
        for k, v in {
            "name": name,
            "phone": phone,
            "language": language,
            "date_format": date_format,
            "email": email,
        }.items()
        if v is not None
    }
    if not changes:
        raise UsageError("Nothing to change: give at least one option.")
    user = ApiClient.from_environment().request("PATCH", "/account", json_body=changes).body
    config.save_profile(user)

    def render(u):
        typer.echo(t("Profile updated."))
        if u.get("email_change_pending"):
            typer.echo(
                f"A confirmation link was sent to {email}; your address changes once you "
                "follow it (helpdesk account confirm-email TOKEN)."
            )

    emit(user, json_output, render)


@app.command("activate")
@handle_errors
def activate(
    token: Annotated[str, typer.Argument(help="The token from your invitation or sign-up email.")],
    password_stdin: PasswordStdin = False,
    json_output: JsonOption = False,
) -> None:
    """Choose your password with the emailed token, and log in."""
    password = read_new_password(password_stdin)
    result = ApiClient(config.server_url()).post(
        "/account/activate", {"token": token, "password": password}
    )
    _logged_in(result)
    emit(
        result["user"],
        json_output,
        lambda u: typer.echo(
            t("Your account {email} is active; you are logged in.", email=u["email"])
        ),
    )


@app.command("password")
@handle_errors
def password(password_stdin: PasswordStdin = False, json_output: JsonOption = False) -> None:
    """Change your password (current one, then the new one twice); other tokens are revoked."""
    current = read_password(password_stdin, prompt="Current password")
    new = read_new_password(password_stdin)
    result = ApiClient.from_environment().post(
        "/account/password", {"current_password": current, "new_password": new}
    )
    emit(
        result,
        json_output,
        lambda r: typer.echo(
            tn(
                "Password changed; {count} other token revoked.",
                "Password changed; {count} other tokens revoked.",
                r["revoked_tokens"],
            )
        ),
    )


@app.command("forgot")
@handle_errors
def forgot(
    email: Annotated[str, typer.Argument(help="The address of your account.")],
    json_output: JsonOption = False,
) -> None:
    """Ask for a password-reset link by email."""
    result = ApiClient(config.server_url()).post("/account/password-reset", {"email": email})
    emit(result, json_output, lambda r: typer.echo(r["message"]))


@app.command("reset")
@handle_errors
def reset(
    token: Annotated[str, typer.Argument(help="The token from the reset email.")],
    password_stdin: PasswordStdin = False,
    json_output: JsonOption = False,
) -> None:
    """Set a new password with the emailed reset token; all your tokens are revoked."""
    new = read_new_password(password_stdin)
    result = ApiClient(config.server_url()).post(
        "/account/password-reset/confirm", {"token": token, "password": new}
    )
    config.forget_token()
    emit(result, json_output, lambda r: typer.echo(r["message"]))


@app.command("confirm-email")
@handle_errors
def confirm_email(
    token: Annotated[str, typer.Argument(help="The token sent to your new address.")],
    json_output: JsonOption = False,
) -> None:
    """Confirm your new email address."""
    user = ApiClient(config.server_url()).post("/account/email/confirm", {"token": token})
    emit(user, json_output, lambda u: typer.echo(t("Your email is now {email}.", email=u["email"])))


@handle_errors
def signup(
    email: Annotated[str, typer.Argument(help="Your email address.")],
    name: Annotated[str, typer.Option("--name", help="Your full name.")],
    language: Annotated[str, one_of_option("--language", LANGUAGES, "Your language:")] = "en",
    json_output: JsonOption = False,
) -> None:
    """Register yourself as a customer, if sign-up is open; confirm by the emailed link."""
    result = ApiClient(config.server_url()).post(
        "/auth/signup", {"email": email, "name": name, "language": language}
    )
    emit(
        result,
        json_output,
        # The server answers in the profile's language (Accept-Language): so does the hint.
        lambda r: typer.echo(r["message"] + " " + t("Then run: helpdesk account activate TOKEN")),
    )

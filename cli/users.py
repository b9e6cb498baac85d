"""`helpdesk user ...`: customers, agents and admins."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Annotated

import typer

from helpdesk.cli.choices import Kind, Role
from helpdesk.cli.client import ApiClient, ApiError
from helpdesk.cli.compat import UsageError
from helpdesk.cli.errors import handle_errors
from helpdesk.cli.i18n import N_
from helpdesk.cli.organizations import Page, PerPage
from helpdesk.cli.output import JsonOption, emit, page_footer, table
from helpdesk.cli.prompts import read_password
from helpdesk.errors import ValidationFailed

app = typer.Typer(help="Users: customers, agents and admins.", no_args_is_help=True)


@app.command("register")
@handle_errors
def register(
    email: Annotated[str, typer.Argument(help="The new user's email.")],
    name: Annotated[str, typer.Option("--name", help="Their full name.")],
    org: Annotated[str | None, typer.Option("--org", help="Organization of a customer.")] = None,
    role: Annotated[Role, typer.Option(help="Role in --org.")] = Role.user,
    agent: Annotated[bool, typer.Option("--agent", help="Register a support agent.")] = False,
    admin: Annotated[bool, typer.Option("--admin", help="Register an admin.")] = False,
    manage_customers: Annotated[
        bool,
        typer.Option("--manage-customers", help="With --agent: may register and manage customers."),
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Set a password read from stdin.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Register a user (admins): a customer by default, or --agent / --admin."""
    if agent and admin:
        raise UsageError("Choose one of --agent and --admin.")
    if manage_customers and not agent:
        raise UsageError("--manage-customers goes with --agent.")
    body = {
        "email": email,
        "name": name,
        "kind": "agent" if agent else "admin" if admin else "customer",
        "role": role.value,
    }
    if manage_customers:
        body["can_manage_customers"] = True
    if org:
        body["organization"] = org
    if password_stdin:
        body["password"] = read_password(True)
    user = ApiClient.from_environment().post("/users", body)
    emit(
        user,
        json_output,
        lambda u: typer.echo(f"Registered {u['kind']} {u['name']} <{u['email']}>."),
    )


@app.command("list")
@handle_errors
def list_(
    kind: Annotated[Kind | None, typer.Option("--kind", help="Only this kind of user.")] = None,
    page: Page = 1,
    per_page: PerPage = 25,
    json_output: JsonOption = False,
) -> None:
    """List users (agents and admins)."""
    result = ApiClient.from_environment().get(
        "/users", kind=kind.value if kind else None, page=page, per_page=per_page
    )

    def render(r):
        if r["items"]:
            table(
                [
                    (
                        u["email"],
                        u["name"],
                        u["kind"],
                        "yes" if u["active"] else "no",
                        ", ".join(f"{m['name']} ({m['role']})" for m in u["organizations"]),
                    )
                    for u in r["items"]
                ],
                [N_("Email"), N_("Name"), N_("Kind"), N_("Active"), N_("Organizations")],
            )
        page_footer(r, N_("users"))

    emit(result, json_output, render)


# -- bulk provisioning --------------------------------------------------------------------

COLUMNS = ("email", "name", "organization", "role", "language", "phone")
REQUIRED_COLUMNS = ("email", "name")
IMPORT_BATCH = 1000  # rows per request
MAX_REQUEST_ROWS = 5000  # what the API accepts in one request


# A cell starting with one of these runs as a formula when a spreadsheet opens the file
# (self-registered customers choose their own names): export quotes it, import unquotes it.
FORMULA_STARTS = ("=", "+", "-", "@")


def _guard(value):
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _unguard(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:2] in FORMULA_STARTS else value


def _read_csv(source: str) -> tuple[list[dict], list[dict]]:
    """The rows of a CSV file ('-': stdin) with their physical line numbers, and bad rows.

    A row with more values than the header has columns is bad; blank rows are left out.
    """
    name = "stdin" if source == "-" else source
    try:
        if source == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            raw = stdin.read() if stdin is not None else sys.stdin.read().encode()
        else:
            raw = Path(source).read_bytes()
        text = raw.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except OSError as exc:
        raise UsageError(f"Cannot read {name}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise UsageError(f"{name} is not UTF-8 text; save it as CSV UTF-8.") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader, [])]
        while header and not header[-1]:  # spreadsheets may end rows with empty cells
            header.pop()
        if not header:
            raise UsageError(
                f"{name} has no header row; its first line must name the columns "
                f"({', '.join(COLUMNS)})."
            )
        unknown = [c for c in header if c not in COLUMNS]
        if unknown:
            raise UsageError(
                f"Unknown column(s) in {name}: {', '.join(repr(c) for c in unknown)}; "
                f"the columns are {', '.join(COLUMNS)}."
            )
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise UsageError(f"Column(s) given twice in {name}: {', '.join(repeated)}.")
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise UsageError(f"{name} has no {' or '.join(missing)} column; both are required.")
        rows, bad = [], []
        end_of_previous = reader.line_num
        for cells in reader:
            line, end_of_previous = end_of_previous + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            row = {"line": line}
            row.update(
                {c: _unguard(cells[i]) if i < len(cells) else "" for i, c in enumerate(header)}
            )
            if any(cell.strip() for cell in cells[len(header) :]):
                message = f"{len(cells)} values, but the header names {len(header)} columns."
                bad.append({"line": line, "email": row["email"].strip(), "errors": [message]})
            else:
                rows.append(row)
    except csv.Error as exc:
        raise UsageError(f"{name}, line {reader.line_num}: {exc}.") from None
    return rows, bad


def _batches(rows: list[dict]) -> list[list[dict]]:
    """Rows in requests of about IMPORT_BATCH, every row of one email in the same request.

    The API finds duplicate and conflicting rows of an email within one request.
    """
    batches: list[list[dict]] = [[]]
    home: dict[str, int] = {}
    for row in rows:
        key = row["email"].strip().lower()
        index = home.get(key)
        if index is None or len(batches[index]) >= MAX_REQUEST_ROWS:
            if len(batches[-1]) >= IMPORT_BATCH:
                batches.append([])
            index = home[key] = len(batches) - 1
        batches[index].append(row)
    return batches


def _print_bad_rows(errors: list[dict]) -> None:
    for error in errors:
        for message in error["errors"]:
            typer.echo(f"line {error['line']} ({error['email']}): {message}", err=True)


def _send_all(client, batches, total: int, label: str, **flags) -> list[dict]:
    """POST every batch to /users/import; a progress bar on a terminal. Their reports."""
    reports = []
    with typer.progressbar(length=total, label=label, hidden=not sys.stdout.isatty()) as bar:
        for batch in batches:
            try:
                reports.append(client.post("/users/import", {"rows": batch, **flags}))
            except ApiError as exc:
                if not flags["dry_run"] and isinstance(exc.details.get("rows"), list):
                    _print_bad_rows(exc.details["rows"])  # changed since the check, a moment ago
                raise
            bar.update(len(batch))
    return reports


@app.command("import")
@handle_errors
def import_(
    file: Annotated[
        str, typer.Argument(metavar="FILE.csv", help="CSV with a header row ('-' for stdin).")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count, but write nothing.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows; report the others.")
    ] = False,
    invite: Annotated[
        bool, typer.Option("--invite/--no-invite", help="Email new customers an invitation.")
    ] = True,
    json_output: JsonOption = False,
) -> None:
    """Create or update customers from a CSV file: email,name,organization,role,language,phone.

    Running it again changes nothing. Every row is checked first: if any is invalid, each bad
    row is reported with its line number and nothing is written (unless --skip-invalid).
    """
    rows, bad = _read_csv(file)
    batches = _batches(rows)
    client = ApiClient.from_environment()
    flags = {"invite": invite, "dry_run": True, "skip_invalid": True}
    reports = _send_all(client, batches, len(rows), "Checking", **flags)
    errors = sorted(bad + [e for r in reports for e in r["errors"]], key=lambda e: e["line"])
    if errors and not skip_invalid:
        if not json_output:
            _print_bad_rows(errors)
        count, where = len(errors), "stdin" if file == "-" else f"'{file}'"
        if count == 1:
            template = N_("{count} invalid row in {source}; nothing was imported.")
        else:
            template = N_("{count} invalid rows in {source}; nothing was imported.")
        raise ValidationFailed(template, {"rows": errors}, count=count, source=where)
    if not dry_run:
        flags.update(dry_run=False, skip_invalid=skip_invalid)
        reports = _send_all(client, batches, len(rows), "Importing", **flags)
        errors = sorted(bad + [e for r in reports for e in r["errors"]], key=lambda e: e["line"])
    report = {key: sum(r[key] for r in reports) for key in ("created", "updated", "unchanged")}
    report.update(invalid=len(errors), errors=errors, dry_run=dry_run)

    def render(r):
        _print_bad_rows(r["errors"])
        summary = f"created {r['created']}, updated {r['updated']}, unchanged {r['unchanged']}"
        if skip_invalid:
            summary += f", invalid {r['invalid']} skipped"
        if dry_run:
            summary += " (dry run: nothing was written)"
        typer.echo(summary)

    emit(report, json_output, render)


@app.command("export")
@handle_errors
def export(
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write to this file ('-' for stdout, the default)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Write every customer as CSV, one row per organization: the columns `user import` reads."""
    target = output or "-"
    if target != "-" and Path(target).exists() and not force:
        raise UsageError(f"{target} exists; use --force to overwrite it.")
    result = ApiClient.from_environment().get("/users/export")
    if target == "-" and json_output:
        emit(result, json_output, lambda r: None)
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _guard(v) for k, v in row.items()} for row in result["items"])
    if target == "-":
        typer.echo(buffer.getvalue(), nl=False)
        return
    partial = Path(target).with_name(Path(target).name + ".part")
    try:
        partial.write_text(buffer.getvalue(), encoding="utf-8", newline="")
        partial.replace(target)
    except OSError as exc:
        raise UsageError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    finally:
        partial.unlink(missing_ok=True)
    emit(
        {"path": target, "rows": len(result["items"])},
        json_output,
        lambda r: typer.echo(
            f"Exported {r['rows']} row{'s' if r['rows'] != 1 else ''} to {target}."
        ),
    )

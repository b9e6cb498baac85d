"""Fixtures: a real SQLite file per test, the real Flask app, the real CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from helpdesk.cli.main import app as cli_app
from helpdesk.db import database
from helpdesk.models import Membership, Ticket, User
from helpdesk.server import create_app
from helpdesk.services import organizations, tickets, users

PASSWORD = "correct horse battery"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Point every setting at this test's own directory."""
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HELPDESK_CONFIG", str(tmp_path / "config" / "config.json"))
    monkeypatch.delenv("HELPDESK_DATABASE", raising=False)
    monkeypatch.delenv("HELPDESK_URL", raising=False)
    monkeypatch.delenv("HELPDESK_TOKEN", raising=False)
    monkeypatch.delenv("HELPDESK_MAX_ATTACHMENT_SIZE", raising=False)
    return tmp_path


@pytest.fixture
def app(env):
    application = create_app({"TESTING": True})
    yield application
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    """An open connection for tests that call the core directly."""
    with database.connection_context():
        yield database


class World:
    """Two organizations and one user in every position the permission rules speak of."""

    def __init__(self):
        self.acme = organizations.Organization.create(name="Acme")
        self.globex = organizations.Organization.create(name="Globex")
        self.admin = make_user("admin@example.test", "Ada Admin", kind="admin")
        self.agent = make_user("agent@example.test", "Andy Agent", kind="agent")
        self.requester = make_user("req@acme.test", "Rita Requester", org=self.acme)
        self.colleague = make_user("col@acme.test", "Carl Colleague", org=self.acme)
        self.power = make_user("power@acme.test", "Paula Power", org=self.acme, role="power")
        self.other_power = make_user(
            "power@globex.test", "Otto Other", org=self.globex, role="power"
        )
        self.shared = make_user("shared@acme.test", "Sheila Shared", org=self.acme)

    def headers(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {users.issue_token(user)}"}

    def ticket(self, *, private: bool = False, status: str = "new", **fields) -> Ticket:
        ticket = tickets.submit_ticket(
            actor=self.requester,
            type=fields.pop("type", "incident"),
            title=fields.pop("title", "Printer prints blank pages"),
            private=private,
            **fields,
        )
        tickets.share_ticket(ticket.reference, [self.shared.email], actor=self.requester)
        # Test set-up only: put the ticket straight into the wanted state.
        Ticket.update(status=status).where(Ticket.id == ticket.id).execute()
        return Ticket.get_by_id(ticket.id)


def make_user(email, name, *, kind="customer", org=None, role="user", password=None) -> User:
    from werkzeug.security import generate_password_hash

    user = User.create(
        email=email,
        name=name,
        kind=kind,
        password_hash=generate_password_hash(password) if password else None,
    )
    if org is not None:
        Membership.create(user=user, organization=org, role=role)
    return user


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def cli(env):
    """Run `helpdesk ...` in-process; stdin is never a terminal here."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict | None = None):
        return runner.invoke(cli_app, list(args), input=input, env=env)

    return run


@pytest.fixture
def installed(cli):
    """An initialised help desk: the admin is logged in through the CLI."""
    result = cli(
        "init", "--admin-email", "admin@example.test", "--password-stdin", input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    return cli

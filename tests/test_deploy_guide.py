"""docs/deploy.md, run: its environment file, systemd units, nginx config and commands.

The guide is read, not copied: each test takes a file or a command line from it, points what
names a production machine (paths, hosts, the bucket, the SMTP server) at this test's own (the
`deployment` fixture's paths and overrides) and runs it: `helpdesk serve` twice behind real
nginx, the mail sender, the SLA and ingest timers' commands, storage, backup, restore and
upgrade. Every shell line of the guide is either run here or listed in NOT_RUN with the reason,
so the guide cannot drift from what works.
"""

from __future__ import annotations

import io
import json
import mailbox as maildir_module
import os
import re
import shlex
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from conftest import (
    HELPDESK_SCRIPT,
    ON_POSTGRES,
    SERVER_DATABASE,
    helpdesk_serve,
    loopback_environment,
)

from helpdesk.config import DEFAULT_MAX_ATTACHMENT_SIZE
from helpdesk.db import database
from helpdesk.migrations import LATEST

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "deploy.md").read_text()
COMMAND_SECONDS = 60

# -- reading the guide ------------------------------------------------------------------------

FENCE = re.compile(r"^```(\w*)(?: (\S+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    language: str
    path: str | None  # a file's place (```ini /etc/helpdesk/helpdesk.env); None: commands
    text: str


BLOCKS = [Block(m[1], m[2], m[3]) for m in FENCE.finditer(GUIDE)]
FILES = {b.path: b.text for b in BLOCKS if b.path}
ENV_FILE = "/etc/helpdesk/helpdesk.env"
WRAPPER = "/usr/local/bin/helpdesk"
NGINX_CONF = "/etc/nginx/conf.d/helpdesk.conf"
UNIT_DIR = "/etc/systemd/system/"


def shell_lines() -> list[str]:
    """Every command of the guide's shell blocks (files excepted), comments left out."""
    return [
        line.strip()
        for block in BLOCKS
        if block.language == "sh" and block.path is None
        for line in block.text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def sql_statements() -> list[str]:
    [block] = [b for b in BLOCKS if b.language == "sql"]
    return [s.strip() for s in block.text.split(";") if s.strip()]


def line_starting(prefix: str) -> str:
    """The one shell line of the guide that starts with `prefix` (it may be shown twice)."""
    found = {line for line in shell_lines() if line.startswith(prefix)}
    assert len(found) == 1, f"the guide has {len(found)} lines starting with {prefix!r}"
    return found.pop()


def units() -> dict[str, str]:
    return {path.removeprefix(UNIT_DIR): text for path, text in FILES.items() if UNIT_DIR in path}


def unit_values(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (a value in double quotes is
    unquoted); the guide keeps to what the shell's `.` reads the same (a test checks)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        values[key] = value
    return values


# -- every shell line: run here, or why not -----------------------------------------------------

# line -> the tests that run it (run_line checks it is one of them)
RUN_HERE = {
    line_starting("openssl rand"): ("test_first_install_then_sender_sla_and_ingest_units",),
    line_starting("umask 077"): ("test_first_install_then_sender_sla_and_ingest_units",),
    line_starting("helpdesk storage check"): ("test_attachments_to_the_bucket_backup_restore",),
    line_starting("helpdesk storage migrate --to"): (
        "test_attachments_to_the_bucket_backup_restore",
    ),
    line_starting("helpdesk storage migrate --from"): (
        "test_attachments_to_the_bucket_backup_restore",
    ),
    line_starting("helpdesk db backup"): ("test_attachments_to_the_bucket_backup_restore",),
    line_starting("helpdesk db restore"): ("test_attachments_to_the_bucket_backup_restore",),
    line_starting("helpdesk db upgrade"): (
        "test_upgrade_once_then_restart",
        "test_postgres_role_and_database_of_the_guide",
    ),
    line_starting("curl -fsS"): ("test_two_servers_behind_nginx",),
}
# line -> why it is not run here (the machine's package manager, users and service manager)
NOT_RUN = {
    line_starting("useradd"): "creates a system user",
    line_starting("python3 -m venv"): (
        "installs the package with its postgres extra: what .ci/run's install does"
    ),
    line_starting("/opt/helpdesk/bin/pip install --upgrade"): "installs a release",
    line_starting("systemctl daemon-reload"): "systemd itself",
    line_starting("systemctl enable --now helpdesk.service"): (
        "starts helpdesk.service, whose ExecStart test_two_servers_behind_nginx and "
        "test_upgrade_once_then_restart run"
    ),
    line_starting("systemctl enable --now helpdesk-mail.service"): (
        "starts the mail sender and timers, whose services' ExecStart "
        "test_first_install_then_sender_sla_and_ingest_units runs"
    ),
    line_starting("systemctl restart helpdesk.service"): (
        "restarts helpdesk.service: test_upgrade_once_then_restart starts its ExecStart, "
        "refused before `helpdesk db upgrade`, serving after"
    ),
}

HELPDESK_COMMAND = re.compile(r"(?:^|[\s(])helpdesk [a-z]")


def test_every_shell_line_of_the_guide_is_run_or_accounted_for():
    lines = shell_lines()
    accounted = set(RUN_HERE) | set(NOT_RUN)
    assert set(lines) == accounted, f"not accounted for: {set(lines) - accounted}"
    assert not set(RUN_HERE) & set(NOT_RUN)
    helpdesk_lines = [line for line in lines if HELPDESK_COMMAND.search(line)]
    assert helpdesk_lines and all(line in RUN_HERE for line in helpdesk_lines)
    names = {name for tests in RUN_HERE.values() for name in tests}
    assert names <= set(globals()), f"no such test: {names - set(globals())}"


# -- the guide's machine, on this one -----------------------------------------------------------


@dataclass
class Deployment:
    """The guide's files written with their production names mapped to this test's places."""

    root: Path
    paths: dict[str, str]
    overrides: dict[str, str | None]
    base_env: dict[str, str]
    test_name: str
    log_dir: Path = field(init=False)

    def __post_init__(self):
        self.log_dir = self.root / "logs"
        self.log_dir.mkdir()

    def mapped(self, text: str) -> str:
        for name in sorted(self.paths, key=len, reverse=True):
            text = text.replace(name, self.paths[name])
        return text

    def write_files(self) -> None:
        """The environment file (overridden where this machine differs) and the wrapper."""
        lines = []
        for line in FILES[ENV_FILE].splitlines():
            key = line.partition("=")[0]
            if key in self.overrides:
                if self.overrides[key] is not None:
                    lines.append(f"{key}={self.overrides[key]}")
            else:
                lines.append(line)
        for key, value in self.overrides.items():
            if value is not None and f"\n{key}=" not in "\n" + "\n".join(lines):
                lines.append(f"{key}={value}")
        for name, text in ((ENV_FILE, "\n".join(lines) + "\n"), (WRAPPER, FILES[WRAPPER])):
            target = Path(self.mapped(name))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.mapped(text))
        Path(self.mapped(WRAPPER)).chmod(0o755)

    def environment(self, *env_files: str) -> dict[str, str]:
        env = dict(self.base_env)
        for name in env_files or (ENV_FILE,):
            env.update(parse_env_file(Path(self.mapped(name)).read_text()))
        return env

    def run_line(self, line: str, *, input: str | None = None) -> subprocess.CompletedProcess:
        """A shell line of the guide, by bash, with the wrapper first on PATH."""
        assert self.test_name in RUN_HERE[line], f"{self.test_name} is not listed for {line!r}"
        env = dict(self.base_env)
        env["PATH"] = f"{Path(self.mapped(WRAPPER)).parent}:{env['PATH']}"
        return subprocess.run(
            ["bash", "-c", self.mapped(line)],
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            cwd=self.root,
        )

    def exec_start(self, unit: str) -> tuple[list[str], dict[str, str]]:
        """A unit's command (ExecStart= is not run by a shell) and its environment files."""
        text = units()[unit]
        [command] = unit_values(text, "ExecStart")
        return shlex.split(self.mapped(command)), self.environment(
            *unit_values(text, "EnvironmentFile")
        )

    def run_unit(self, unit: str) -> subprocess.CompletedProcess:
        command, env = self.exec_start(unit)
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=COMMAND_SECONDS
        )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture
def deployment(env, tmp_path, request, s3_server, mailbox):
    """The guide's settings pointed at this test's database, data directory, a fresh prefix of
    the SeaweedFS bucket and the `mailbox` SMTP sink; nginx and the servers on 127.0.0.1."""
    data = tmp_path / "data"  # the env fixture's data directory, with the test's database
    bucket = f"s3://{s3_server.bucket}/{uuid.uuid4().hex[:12]}"
    paths = {
        "/opt/helpdesk/bin/helpdesk": HELPDESK_SCRIPT,
        "/var/lib/helpdesk": str(data),
        "/etc/helpdesk": str(tmp_path / "etc-helpdesk"),
        "/usr/local/bin": str(tmp_path / "bin"),
        "/var/backups/helpdesk": str(tmp_path / "backups"),
        "/var/mail/support": str(tmp_path / "maildir"),
        "/etc/ssl/help.example.com": str(tmp_path / "ssl"),
        "s3://helpdesk-attachments/prod": bucket,
    }
    overrides: dict[str, str | None] = {
        "HELPDESK_DATABASE": SERVER_DATABASE if ON_POSTGRES else f"sqlite:///{data}/helpdesk.db",
        **s3_server.environment(),
        "HELPDESK_TRUSTED_PROXIES": "127.0.0.1",  # nginx connects to the servers from there
        # The SMTP sink speaks plain SMTP without login.
        "HELPDESK_SMTP_HOST": "127.0.0.1",
        "HELPDESK_SMTP_PORT": str(mailbox.controller.port),
        "HELPDESK_SMTP_SECURITY": "none",
        "HELPDESK_SMTP_USER": None,
        "HELPDESK_SMTP_PASSWORD": None,
    }
    base_env = loopback_environment(settings=False)
    base_env["HELPDESK_CONFIG"] = str(tmp_path / "home" / "config.json")  # the CLI's tokens
    base_env["HOME"] = str(tmp_path / "home")
    data.mkdir(exist_ok=True)  # the helpdesk user's home, which `useradd --create-home` made
    (tmp_path / "backups").mkdir()
    # pytest's own name of the test, without a parameter
    name = request.node.originalname
    deployed = Deployment(tmp_path, paths, overrides, base_env, name)
    deployed.write_files()
    return deployed


# -- the files themselves -----------------------------------------------------------------------

KNOWN_SETTINGS = set(re.findall(r'"(HELPDESK_[A-Z_]+)"', (ROOT / "helpdesk/config.py").read_text()))
BOTO3_SETTINGS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
BOTO3_SETTINGS |= {"AWS_ENDPOINT_URL"}
# What every server of a multi-server deployment must agree on.
SHARED_SETTINGS = {"HELPDESK_DATABASE", "HELPDESK_STORAGE", "HELPDESK_TRUSTED_PROXIES"}
SHARED_SETTINGS |= {"HELPDESK_BASE_URL", "HELPDESK_SMTP_HOST", "HELPDESK_MAIL_FROM"}
SHARED_SETTINGS |= {"HELPDESK_MAX_ATTACHMENT_SIZE", "HELPDESK_DATA_DIR"} | BOTO3_SETTINGS


def test_the_environment_file_names_only_real_settings_and_every_shared_one(tmp_path):
    settings = parse_env_file(FILES[ENV_FILE])
    assert set(settings) <= KNOWN_SETTINGS | BOTO3_SETTINGS, "a setting nothing reads"
    assert SHARED_SETTINGS <= set(settings)
    assert settings.get("HELPDESK_MAIL_SEND_IN_SERVER", "false") == "false"
    # The shell (the wrapper's `.`) reads the file as systemd does.
    (tmp_path / "helpdesk.env").write_text(FILES[ENV_FILE])
    shell = subprocess.run(
        ["sh", "-c", f"set -a; . {tmp_path / 'helpdesk.env'}; env -0"],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    seen = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    assert {key: seen.get(key) for key in settings} == settings


def test_units_use_the_environment_file_and_every_timer_starts_a_service():
    found = units()
    assert {"helpdesk.service", "helpdesk-mail.service", "helpdesk-sla.service"} <= set(found)
    assert {"helpdesk-sla.timer", "helpdesk-ingest.timer", "helpdesk-ingest.service"} <= set(found)
    for name, text in found.items():
        if name.endswith(".service"):
            assert unit_values(text, "EnvironmentFile")[0] == ENV_FILE, name
            assert unit_values(text, "User") == ["helpdesk"], name
            [command] = unit_values(text, "ExecStart")
            assert command.startswith("/opt/helpdesk/bin/helpdesk "), name
        else:
            assert name.endswith(".timer")
            assert name.replace(".timer", ".service") in found
            assert unit_values(text, "OnCalendar"), name
    # The units that systemctl lines name are the guide's.
    named = set(re.findall(r"\b(helpdesk[\w-]*\.(?:service|timer))", " ".join(shell_lines())))
    assert named <= set(found)


def test_systemd_accepts_every_unit_and_timer(tmp_path):
    """`systemd-analyze verify`: no unknown key, no unparsable time, an executable command."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze on this machine (the systemd package)")
    for name, text in units().items():
        (tmp_path / name).write_text(text.replace("/opt/helpdesk/bin/helpdesk", HELPDESK_SCRIPT))
    verified = subprocess.run(
        [analyze, "verify", *sorted(str(tmp_path / name) for name in units())],
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
    )
    assert (verified.returncode, verified.stderr) == (0, "")


def test_nginx_takes_the_largest_request_the_servers_take():
    limit = int(parse_env_file(FILES[ENV_FILE])["HELPDESK_MAX_ATTACHMENT_SIZE"])
    [size] = re.findall(r"client_max_body_size (\d+)m;", FILES[NGINX_CONF])
    assert int(size) * 1024 * 1024 == 4 * limit + 1024 * 1024  # server/__init__.py's limit
    assert limit == DEFAULT_MAX_ATTACHMENT_SIZE


# -- helpdesk serve x 2 behind nginx ------------------------------------------------------------

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture
def nginx_binary():
    if not os.access(NGINX, os.X_OK):
        if in_ci():
            pytest.fail(f"the deploy guide's nginx test must run in CI, but no {NGINX}")
        pytest.skip(f"no nginx at {NGINX} (apt-get install nginx)")
    return NGINX


def serve_arguments(deployment: Deployment) -> tuple[list[str], dict[str, str]]:
    """helpdesk.service's arguments, its --host and --port left to helpdesk_serve."""
    command, env = deployment.exec_start("helpdesk.service")
    assert command[:2] == [HELPDESK_SCRIPT, "serve"]
    rest = command[2:]
    for option in ("--host", "--port"):
        at = rest.index(option)
        del rest[at : at + 2]
    return rest, env


def log_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def nginx_config(deployment: Deployment, upstreams: list[int], https: int, http: int) -> Path:
    """The guide's server blocks inside a minimal nginx.conf of this test's own: ports, a
    self-signed certificate, pid, logs and temp files in the test's directory."""
    root = deployment.root / "nginx"
    ssl_dir = Path(deployment.mapped("/etc/ssl/help.example.com"))
    ssl_dir.mkdir(parents=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "1", "-subj", "/CN=help.example.com"]
        + ["-keyout", str(ssl_dir / "privkey.pem"), "-out", str(ssl_dir / "fullchain.pem")],
        check=True,
        capture_output=True,
    )
    site = deployment.mapped(FILES[NGINX_CONF])
    site = site.replace("10.0.0.11:8000", f"127.0.0.1:{upstreams[0]}")
    site = site.replace("10.0.0.12:8000", f"127.0.0.1:{upstreams[1]}")
    site = site.replace("listen 443 ", f"listen 127.0.0.1:{https} ")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http};")
    assert "10.0.0." not in site and "listen 443" not in site and "listen 80;" not in site
    temp = "\n".join(
        f"    {kind}_temp_path {root / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    root.mkdir()
    (root / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers reach the test's 0700 dirs
        + f"daemon off;\nworker_processes 1;\npid {root / 'nginx.pid'};\n"
        f"error_log {root / 'error.log'};\nevents {{ worker_connections 64; }}\n"
        f"http {{\n    access_log {root / 'access.log'};\n{temp}\n{site}\n}}\n"
    )
    return root


def test_two_servers_behind_nginx(deployment, nginx_binary, app):
    from contextlib import ExitStack

    from conftest import CSRF_FIELD, PASSWORD, free_port, make_user

    with database.connection_context():
        make_user("agent@example.com", "Andy Agent", kind="agent", password=PASSWORD)

    args, env = serve_arguments(deployment)
    logs = [deployment.log_dir / "app1.log", deployment.log_dir / "app2.log"]
    with helpdesk_serve(env, logs[0], *args) as (url1, port1, _), ExitStack() as app2:
        # Each server with a data directory of its own, as on two machines.
        env2 = {**env, "HELPDESK_DATA_DIR": str(deployment.root / "app2-data")}
        _, port2, _ = app2.enter_context(helpdesk_serve(env2, logs[1], *args))
        https, http = free_port(), free_port()
        root = nginx_config(deployment, [port1, port2], https, http)
        nginx = [nginx_binary, "-p", str(root), "-e", str(root / "error.log")]
        nginx += ["-c", str(root / "nginx.conf")]
        checked = subprocess.run([*nginx, "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        with open(root / "stderr.log", "wb") as out:
            proxy = subprocess.Popen(nginx, stdin=subprocess.DEVNULL, stderr=out)
        try:
            # A client on another address than the proxy's, which writes its own
            # X-Forwarded-For: the servers see the address nginx saw.
            transport = httpx.HTTPTransport(local_address="127.0.0.2", verify=False, retries=20)
            with httpx.Client(transport=transport, trust_env=False, timeout=10) as client:
                headers = {"Host": "help.example.com", "X-Forwarded-For": "203.0.113.9"}

                def through_nginx(request_id: str) -> None:
                    answer = client.get(
                        f"https://127.0.0.1:{https}/api/v1/health",
                        headers={**headers, "X-Request-Id": request_id},
                    )
                    assert answer.status_code == 200, answer.text
                    assert answer.json()["status"] == "ok"
                    assert answer.headers["X-Request-Id"] == request_id

                ids = [f"deploy-guide-{n}" for n in range(6)]
                for request_id in ids:
                    through_nginx(request_id)
                plain = client.get(f"http://127.0.0.1:{http}/api/v1/health", headers=headers)
                assert plain.status_code == 301
                assert plain.headers["Location"] == "https://help.example.com/api/v1/health"
                # Signed in to the portal through one server, signed in on both.
                form = client.get(f"https://127.0.0.1:{https}/login", headers=headers)
                [csrf] = CSRF_FIELD.findall(form.text)
                # Over https the CSRF check wants the same origin: the servers know they are
                # behind https, at help.example.com, from nginx's X-Forwarded-Proto and -Host.
                login = {"email": "agent@example.com", "password": PASSWORD, "csrf_token": csrf}
                foreign = client.post(
                    f"https://127.0.0.1:{https}/login",
                    headers={**headers, "Referer": "https://elsewhere.example/login"},
                    data=login,
                )
                assert foreign.status_code == 400
                signed_in = client.post(
                    f"https://127.0.0.1:{https}/login",
                    headers={**headers, "Referer": "https://help.example.com/login"},
                    data=login,
                )
                assert signed_in.status_code == 303, signed_in.text
                portal = [f"portal-{n}" for n in range(4)]
                for request_id in portal:
                    page = client.get(
                        f"https://127.0.0.1:{https}/profile",
                        headers={**headers, "X-Request-Id": request_id},
                    )
                    assert page.status_code == 200 and "Andy Agent" in page.text, page.text

                # Straight to a server, not through the proxy: the header is not believed.
                direct = client.get(
                    f"{url1}/api/v1/health",
                    headers={"X-Forwarded-For": "203.0.113.9", "X-Request-Id": "direct"},
                )
                assert direct.status_code == 200
                # app2 stopped (a restart): nginx sends every request to app1.
                app2.close()
                alone = [f"app1-alone-{n}" for n in range(4)]
                for request_id in alone:
                    through_nginx(request_id)
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
        # The guide's health check, against app1.
        deployment.paths["10.0.0.11:8000"] = f"127.0.0.1:{port1}"
        health = json.loads(ok(deployment.run_line(line_starting("curl -fsS"))))
        assert health["status"] == "ok"

    seen = [{line["request_id"]: line for line in log_lines(log)} for log in logs]
    assert all(set(ids) & set(server) for server in seen), "nginx used one server only"
    for request_id in ids:
        [line] = [server[request_id] for server in seen if request_id in server]
        assert line["client"] == "127.0.0.2", line
    assert seen[0]["direct"]["client"] == "127.0.0.2"
    assert all(set(portal) & set(server) for server in seen), "one server saw the session"
    assert set(alone) <= set(seen[0])


# -- first install; the mail sender, SLA and ingest units ---------------------------------------


def test_first_install_then_sender_sla_and_ingest_units(deployment, mailbox, clock, app):
    import time
    from datetime import timedelta

    from helpdesk.models import Ticket, User
    from helpdesk.services import contracts, organizations, sla, tickets, users

    installed = deployment.run_line(line_starting("openssl rand"))
    assert "Logged in as admin admin@example.com." in ok(installed)
    password = installed.stderr.splitlines()[0]  # shown once, by tee
    login = app.test_client().post(
        "/api/v1/auth/login", json={"email": "admin@example.com", "password": password}
    )
    assert login.status_code == 200, login.get_json()

    ok(deployment.run_line(line_starting("umask 077")))
    token_file = Path(deployment.mapped("/var/lib/helpdesk/sla.env"))
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert re.fullmatch(r"HELPDESK_TOKEN=\S{20,}\n", token_file.read_text())

    # A customer's ticket under a one-hour round-the-clock SLA, submitted two hours ago.
    with database.connection_context():
        admin = User.get(User.email == "admin@example.com")
        organizations.create_organization("Acme", actor=admin)
        customer = users.register_user(
            "sam@acme.test", "Sam Carter", organization="Acme", actor=admin, invite=False
        )
        sla.add_policy("Basic", ["medium:1h:4h"], actor=admin)
        from helpdesk.services import catalog

        catalog.add_service("Printing", actor=admin)
        contracts.add_contract("Acme", ["Printing"], actor=admin, sla="Basic")
        clock.freeze(clock.now() - timedelta(hours=2))
        ticket = tickets.submit_ticket(
            actor=customer, type="question", title="Printer offline", service="Printing"
        )
        clock.reset()

    checked = ok(deployment.run_unit("helpdesk-sla.service"))
    assert f"{ticket.reference}: response target missed" in checked
    assert "1 new breaches" in checked

    # The sender delivers the outbox (ticket received, the breach) and keeps running.
    def breach_mail():  # written by the SLA check, with the environment file's sender
        return [m for m in mailbox.by_recipient("admin@example.com") if "SLA" in m["Subject"]]

    command, env = deployment.exec_start("helpdesk-mail.service")
    assert "--loop" in command
    with open(deployment.log_dir / "mail.log", "wb") as out:
        sender = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
            mailbox.by_recipient("sam@acme.test") and breach_mail()
        ):
            assert sender.poll() is None, (deployment.log_dir / "mail.log").read_text()
            time.sleep(0.1)
        assert sender.poll() is None  # --loop: still running
    finally:
        sender.terminate()
        sender.wait(timeout=15)
    [received] = mailbox.by_recipient("sam@acme.test")
    assert f"[{ticket.reference}]" in received["Subject"]
    [breach] = breach_mail()
    assert breach["From"] == "Example Support <support@example.com>"

    # Mail from the customer, dropped in the Maildir, becomes a ticket.
    maildir = maildir_module.Maildir(deployment.mapped("/var/mail/support"), create=True)
    message = EmailMessage()
    message["From"] = "Sam Carter <sam@acme.test>"
    message["To"] = "support@example.com"
    message["Subject"] = "Scanner jams on every page"
    message["Message-ID"] = "<scanner-1@acme.test>"
    message.set_content("Since this morning.")
    maildir.add(message)
    ingested = ok(deployment.run_unit("helpdesk-ingest.service"))
    assert "<scanner-1@acme.test>" in ingested
    with database.connection_context():
        [opened] = Ticket.select().where(Ticket.title == "Scanner jams on every page")
        assert opened.requester.email == "sam@acme.test"


# -- attachments to the bucket, backup, restore --------------------------------------------------


def test_attachments_to_the_bucket_backup_restore(deployment, world):
    from helpdesk.services import tickets
    from helpdesk.storage import Upload

    content = b"printer log\n" * 100
    tickets.submit_ticket(  # into the data directory: HELPDESK_STORAGE is unset here
        actor=world.requester,
        type="incident",
        title="Printer prints blank pages",
        attachments=[Upload("log.txt", io.BytesIO(content), "text/plain")],
    )
    # The help desk before the bucket: the environment file without HELPDESK_STORAGE.
    deployment.overrides["HELPDESK_STORAGE"] = None
    deployment.write_files()
    migrated = ok(deployment.run_line(line_starting("helpdesk storage migrate --to")))
    bucket = deployment.mapped("s3://helpdesk-attachments/prod")
    source = deployment.mapped("/var/lib/helpdesk/attachments")
    assert f"Copied 1 file ({len(content)} bytes) from {source} to {bucket}." in migrated
    again = ok(deployment.run_line(line_starting("helpdesk storage migrate --from")))
    assert "1 file was there already; files left to copy: 0." in again

    # HELPDESK_STORAGE set, as the guide has it: the bucket holds every file.
    deployment.overrides.pop("HELPDESK_STORAGE")
    deployment.write_files()
    checked = ok(deployment.run_line(line_starting("helpdesk storage check")))
    assert "reachable and writable" in checked

    backed_up = ok(deployment.run_line(line_starting("helpdesk db backup")))
    assert f"they stay in {bucket}. Back up that bucket separately." in backed_up
    [backup] = list(Path(deployment.mapped("/var/backups/helpdesk")).glob("*.tar"))

    # Restored into an empty database.
    with empty_database(deployment) as url:
        deployment.overrides["HELPDESK_DATABASE"] = url
        deployment.write_files()
        deployment.paths["2026-11-27.tar"] = backup.name
        restored = ok(deployment.run_line(line_starting("helpdesk db restore")))
        assert "tickets: 1" in restored and "attachment files: 1" in restored
        # Exit 0: the bucket holds every file the restored database names.
        checked = ok(deployment.run_line(line_starting("helpdesk storage check")))
        assert "reachable and writable" in checked


class empty_database:
    """A second, empty database: a new SQLite file, or a new PostgreSQL database (dropped
    after)."""

    def __init__(self, deployment: Deployment):
        self.deployment = deployment
        self.name = f"deploy_restore_{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> str:
        if not ON_POSTGRES:
            return f"sqlite:///{self.deployment.root / 'restored' / 'helpdesk.db'}"
        self._admin(f"CREATE DATABASE {self.name}")
        return SERVER_DATABASE.rsplit("/", 1)[0] + "/" + self.name

    def __exit__(self, *exc):
        if ON_POSTGRES:
            self._admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                f" WHERE datname = '{self.name}'"
            )
            self._admin(f"DROP DATABASE {self.name}")

    @staticmethod
    def _admin(sql: str) -> None:
        import psycopg2

        connection = psycopg2.connect(SERVER_DATABASE)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()


# -- upgrades ------------------------------------------------------------------------------------


def test_upgrade_once_then_restart(deployment, app):
    from test_migrations import _make_first_release_schema

    with database.connection_context():
        _make_first_release_schema()
    args, env = serve_arguments(deployment)
    command, _ = deployment.exec_start("helpdesk.service")
    refused = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=COMMAND_SECONDS
    )
    assert refused.returncode != 0
    assert "helpdesk db upgrade" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr

    upgraded = ok(deployment.run_line(line_starting("helpdesk db upgrade")))
    assert f"schema upgraded from version 1 to {LATEST}" in upgraded
    log = deployment.log_dir / "app1.log"
    with helpdesk_serve(env, log, *args) as (url, _, health):
        assert health.status_code == 200
        # The second run (another server's, or a repeat) changes nothing while serving.
        again = ok(deployment.run_line(line_starting("helpdesk db upgrade")))
        assert f"already at schema version {LATEST}" in again


# -- PostgreSQL: the guide's role and database ----------------------------------------------------


@pytest.mark.postgres_only
def test_postgres_role_and_database_of_the_guide(deployment):
    import psycopg2

    host = SERVER_DATABASE.split("@", 1)[1].split("/", 1)[0]
    deployment.paths["db.internal:5432"] = host
    deployment.overrides.pop("HELPDESK_DATABASE")  # the guide's URL, on this server
    deployment.write_files()
    admin = psycopg2.connect(SERVER_DATABASE)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = 'helpdesk'")
            assert cursor.fetchone() is None, "the throw-away server has a helpdesk role"
            for statement in sql_statements():
                cursor.execute(statement)
        upgraded = ok(deployment.run_line(line_starting("helpdesk db upgrade")))
        assert f"to {LATEST}" in upgraded
        created = psycopg2.connect(SERVER_DATABASE.rsplit("/", 1)[0] + "/helpdesk")
        try:
            with created.cursor() as cursor:
                cursor.execute(
                    "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename = 'ticket'"
                )
                assert cursor.fetchone() == ("helpdesk",)
        finally:
            created.close()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'helpdesk'"
            )
            cursor.execute("DROP DATABASE IF EXISTS helpdesk")
            cursor.execute("DROP ROLE IF EXISTS helpdesk")
        admin.close()

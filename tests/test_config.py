"""Settings from the environment: where the database and the attachments live."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import PASSWORD

from helpdesk.config import AccountSettings, load_settings
from helpdesk.server import create_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_data_dir(env, tmp_path, monkeypatch):
    """No HELPDESK_DATA_DIR: the per-user data directory (inside this test's directory)."""
    monkeypatch.delenv("HELPDESK_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "helpdesk"


def test_by_default_everything_lives_in_the_user_data_directory(no_data_dir, monkeypatch):
    monkeypatch.delenv("HELPDESK_DATABASE", raising=False)
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{no_data_dir / 'helpdesk.db'}"
    assert settings.attachment_dir == no_data_dir / "attachments"


@pytest.mark.sqlite_only
def test_attachments_stay_beside_a_database_kept_elsewhere(no_data_dir, tmp_path, monkeypatch, cli):
    elsewhere = tmp_path / "srv" / "desk.db"
    monkeypatch.setenv("HELPDESK_DATABASE", f"sqlite:///{elsewhere}")
    assert load_settings().attachment_dir == elsewhere.parent / "attachments"

    assert (
        cli(
            "init", "--admin-email", "admin@example.test", "--password-stdin", input=PASSWORD
        ).exit_code
        == 0
    )
    assert cli("org", "create", "Acme").exit_code == 0
    registered = cli(
        "user",
        "register",
        "sam@acme.test",
        "--name",
        "Sam",
        "--org",
        "Acme",
        "--password-stdin",
        input=PASSWORD,
    )
    assert registered.exit_code == 0, registered.output
    assert cli("login", "sam@acme.test", "--password-stdin", input=PASSWORD).exit_code == 0
    log = tmp_path / "boot.log"
    log.write_text("kernel panic at line 1\n")
    submitted = cli(
        "ticket",
        "submit",
        "--type",
        "incident",
        "--title",
        "Boot fails",
        "--attach",
        str(log),
    )
    assert submitted.exit_code == 0, submitted.output
    [blob] = [p for p in (elsewhere.parent / "attachments").rglob("*") if p.is_file()]
    assert blob.read_text() == "kernel panic at line 1\n"
    assert not (no_data_dir / "attachments").exists()


def test_an_explicit_data_directory_holds_the_attachments(env, tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_DATABASE", f"sqlite:///{tmp_path / 'srv' / 'desk.db'}")
    assert load_settings().attachment_dir == tmp_path / "data" / "attachments"


def test_the_services_follow_the_settings_the_app_was_given(env):
    """Settings are read once and handed over: the environment (sign-up closed) is not
    consulted again by the services of an app given other settings."""
    open_signup = replace(load_settings(), accounts=AccountSettings(signup="open"))
    client = create_app({"TESTING": True}, settings=open_signup).test_client()
    resp = client.post("/api/v1/auth/signup", json={"email": "zoe@example.test", "name": "Zoe"})
    assert resp.status_code == 202, resp.get_json()
    closed = create_app({"TESTING": True}).test_client()
    resp = closed.post("/api/v1/auth/signup", json={"email": "yan@example.test", "name": "Yan"})
    assert resp.status_code == 403, resp.get_json()


def test_only_the_settings_module_reads_the_environment():
    readers = []
    for path in [*(ROOT / "helpdesk").rglob("*.py"), *(ROOT / "server").rglob("*.py")]:
        if path == ROOT / "helpdesk" / "config.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            from_os = (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ) or (isinstance(node, ast.ImportFrom) and node.module == "os")
            if from_os:
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []

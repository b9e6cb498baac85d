"""Settings from the environment: where the database and the attachments live."""

from __future__ import annotations

import pytest
from conftest import PASSWORD

from helpdesk.config import load_settings


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

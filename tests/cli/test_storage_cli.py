"""`helpdesk storage check | migrate | sweep` on a real directory and a real SeaweedFS bucket."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import uuid
from pathlib import Path

import pytest
from conftest import S3Server

from helpdesk.server import create_app
from helpdesk.services import tickets
from helpdesk.storage import S3Storage, Upload, active_store

CHECK_KEYS = {"location", "writable", "rows", "files", "present", "missing", "damaged"}
CHECK_KEYS |= {"unreferenced"}
MIGRATE_KEYS = {"from", "to", "files", "copied", "copied_bytes", "already_there"}
MIGRATE_KEYS |= {"not_in_source", "left", "complete", "next_step"}
SWEEP_KEYS = {"location", "older_than_hours", "dry_run", "removed"}


def _bucket_url(server: S3Server) -> str:
    return f"s3://{server.bucket}/{uuid.uuid4().hex[:12]}"


def _use_s3(monkeypatch, server: S3Server) -> None:
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)


def _unreachable(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture
def app(storage_kind, app):
    """The app on either store (conftest's storage_kind, set before the app is made)."""
    return app


@pytest.fixture
def world(world, models_pointed_back):
    """The world; `helpdesk storage ...` run in this process points the models elsewhere."""
    return world


def _files(world, count: int) -> dict[str, bytes]:
    """`count` tickets with a file each, and one more row naming the first file again."""
    contents = {}
    for n in range(count):
        content = f"printer log {n}\n".encode() * 40
        contents[hashlib.sha256(content).hexdigest()] = content
        tickets.submit_ticket(
            actor=world.requester,
            type="incident",
            title=f"Printer {n}",
            attachments=[Upload(f"log{n}.txt", io.BytesIO(content), "text/plain")],
        )
    first = next(iter(contents.values()))
    tickets.submit_ticket(
        actor=world.requester,
        type="incident",
        title="Same log again",
        attachments=[Upload("again.txt", io.BytesIO(first), "text/plain")],
    )
    return contents


def _json(result, exit_code: int = 0) -> dict:
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)


def test_check_finds_every_file_then_names_the_lost_one(app, world, cli):
    contents = _files(world, 3)
    report = _json(cli("storage", "check", "--json"))
    assert set(report) == CHECK_KEYS
    assert report["location"] == active_store().location
    assert (report["rows"], report["files"], report["present"]) == (4, 3, 3)
    assert (report["missing"], report["damaged"], report["unreferenced"]) == ([], [], 0)

    lost = sorted(contents)[1]
    active_store().delete(lost)
    report = _json(cli("storage", "check", "--json"), 1)
    assert (report["files"], report["present"], report["missing"]) == (3, 2, [lost])
    assert json.loads(cli("storage", "check", "--json").stderr)["error"]["code"] == "gone"

    shown = cli("storage", "check")
    assert shown.exit_code == 1
    assert lost in shown.stdout
    assert "reachable and writable" in shown.stdout
    assert "missing from" in shown.stderr and "(1)" in shown.stderr


def test_check_says_when_the_bucket_cannot_be_reached(env, cli, monkeypatch, s3_server):
    _use_s3(monkeypatch, s3_server)
    _unreachable(monkeypatch)
    monkeypatch.setenv("HELPDESK_STORAGE", "s3://lost-bucket")
    result = cli("storage", "check")
    assert result.exit_code == 1
    assert "s3://lost-bucket cannot be reached or written" in result.stderr
    assert "Traceback" not in result.output


def test_migrate_to_a_bucket_copies_once_and_the_bucket_serves_downloads(
    env, world, cli, monkeypatch, s3_server, tmp_path
):
    monkeypatch.delenv("HELPDESK_STORAGE", raising=False)
    create_app({"TESTING": True})  # the local directory
    contents = _files(world, 3)
    _use_s3(monkeypatch, s3_server)
    bucket = _bucket_url(s3_server)

    first = _json(cli("storage", "migrate", "--to", bucket, "--json"))
    assert set(first) == MIGRATE_KEYS
    assert (first["files"], first["copied"], first["already_there"]) == (3, 3, 0)
    assert first["copied_bytes"] == sum(len(c) for c in contents.values())
    assert first["complete"] and first["left"] == 0
    assert first["next_step"] == f"Set HELPDESK_STORAGE={bucket} and restart the servers."
    again = _json(cli("storage", "migrate", "--to", bucket, "--json"))
    assert (again["copied"], again["already_there"], again["complete"]) == (0, 3, True)

    # Switched to the bucket, with the local files gone: downloads come from the bucket.
    local = Path(env / "data" / "attachments")
    shutil.rmtree(local)
    monkeypatch.setenv("HELPDESK_STORAGE", bucket)
    client = create_app({"TESTING": True}).test_client()
    assert isinstance(active_store(), S3Storage)
    headers = world.headers(world.requester)
    listed = client.get("/api/v1/tickets", headers=headers).get_json()["items"]
    for item in listed:
        ticket = client.get(f"/api/v1/tickets/{item['reference']}", headers=headers).get_json()
        for attachment in ticket["attachments"]:
            with client.get(attachment["url"], headers=headers) as resp:
                assert resp.status_code == 200
                assert resp.get_data() == contents[attachment["sha256"]]
    assert _json(cli("storage", "check", "--json"))["present"] == 3

    # And back to a directory, from the bucket now configured.
    back = tmp_path / "back"
    result = _json(cli("storage", "migrate", "--to", str(back), "--json"))
    assert (result["copied"], result["complete"]) == (3, True)
    for sha, content in contents.items():
        assert (back / sha[:2] / sha).read_bytes() == content


def test_an_interrupted_migration_resumes_where_it_stopped(app, world, cli, monkeypatch, s3_server):
    _files(world, 3)
    _use_s3(monkeypatch, s3_server)
    bucket = _bucket_url(s3_server)
    with monkeypatch.context() as unreachable:  # a target that refuses every request
        _unreachable(unreachable)
        failed = cli("storage", "migrate", "--to", bucket)
    assert failed.exit_code == 1
    assert f"{bucket} cannot be reached or written" in failed.stderr

    part = _json(cli("storage", "migrate", "--to", bucket, "--limit", "1", "--json"))
    assert (part["copied"], part["left"], part["complete"]) == (1, 2, False)
    assert part["next_step"] == "Run the command again to copy the files left."
    rest = _json(cli("storage", "migrate", "--to", bucket, "--json"))
    assert (rest["copied"], rest["already_there"], rest["left"]) == (2, 1, 0)
    assert rest["complete"]


def test_migrate_refuses_bad_targets_as_usage_errors(app, cli):
    assert cli("storage", "migrate", "--to", "ftp://elsewhere").exit_code == 2
    assert cli("storage", "migrate", "--to", "s3://").exit_code == 2
    store = active_store()
    # The configured store however it is spelled: a bucket with a slash, a path with "..".
    if isinstance(store, S3Storage):
        spelled = f"{store.location}/"
    else:
        spelled = str(store.root.parent / "tmp" / ".." / store.root.name)
    same = cli("storage", "migrate", "--to", spelled)
    assert same.exit_code == 2
    assert "already in" in same.stderr


def test_a_file_the_source_lost_is_named_and_the_others_copied(app, world, cli, tmp_path):
    contents = _files(world, 3)
    lost = sorted(contents)[0]
    active_store().delete(lost)
    result = cli("storage", "migrate", "--to", str(tmp_path / "copy"), "--json")
    report = _json(result, 1)
    assert (report["copied"], report["not_in_source"], report["left"]) == (2, [lost], 1)
    assert not report["complete"]
    assert json.loads(result.stderr)["error"]["code"] == "gone"


def test_storage_commands_refuse_a_server_url(env, cli):
    result = cli("storage", "check", "--json", env={"HELPDESK_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"]["code"] == "database_only"


def test_sweep_removes_an_old_unreferenced_file_and_keeps_the_named_ones(app, world, cli, clock):
    contents = _files(world, 1)
    store = active_store()
    orphan = b"published, then its transaction failed"
    with store.staging() as staging:
        orphan_sha, _ = staging.add(io.BytesIO(orphan))
        staging.publish()

    fresh = _json(cli("storage", "sweep", "--json"))
    assert set(fresh) == SWEEP_KEYS
    assert (fresh["removed"], fresh["older_than_hours"]) == ([], 6)
    assert _json(cli("storage", "check", "--json"))["unreferenced"] == 1

    clock.advance(hours=7)
    dry = _json(cli("storage", "sweep", "--dry-run", "--json"))
    assert (dry["removed"], dry["dry_run"]) == ([orphan_sha], True)
    assert store.exists(orphan_sha)

    result = cli("storage", "sweep")
    assert result.exit_code == 0, result.output
    assert "Removed 1 unreferenced file older than 6 hours" in result.stdout
    assert orphan_sha in result.stdout
    assert not store.exists(orphan_sha)
    assert all(store.exists(sha) for sha in contents)
    assert _json(cli("storage", "check", "--json"))["unreferenced"] == 0

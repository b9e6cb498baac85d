"""Attachments in either store, the directory or S3-compatible object storage (a real SeaweedFS):
the same tests on both, through the API."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_error_shape import assert_error
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from helpdesk.config import load_settings
from helpdesk.db import database
from helpdesk.models import Attachment
from helpdesk.server import create_app
from helpdesk.storage import LocalStorage, S3Storage, active_store
from helpdesk.storage_upkeep import sweep_unreferenced

API = "/api/v1"
MB = 1024 * 1024


@pytest.fixture
def app(storage_kind, app):
    """The app on either store (conftest's storage_kind, set before the app is made)."""
    return app


def _submit(client, headers, content: bytes | io.BytesIO, name="log.txt"):
    stream = content if isinstance(content, io.BytesIO) else io.BytesIO(content)
    data = {
        "data": json.dumps({"type": "incident", "title": "With a file"}),
        "attachments": [(stream, name)],
    }
    return client.post(
        f"{API}/tickets", data=data, content_type="multipart/form-data", headers=headers
    )


@contextmanager
def _submit_streamed(client, headers, stream: io.BytesIO, name: str):
    """A submit whose multipart body is encoded into a temporary file, not memory (the test
    client's own temporary file for a large body is never closed)."""
    fields = {
        "data": json.dumps({"type": "incident", "title": "Big"}),
        "attachments": FileStorage(stream, name),
    }
    body, length, boundary = stream_encode_multipart(fields, use_tempfile=True)
    try:
        with client.post(
            f"{API}/tickets",
            input_stream=body,
            content_length=length,
            content_type=f"multipart/form-data; boundary={boundary}",
            headers=headers,
        ) as resp:
            yield resp
    finally:
        body.close()


def _created_attachment(client, headers, content: bytes, name="log.txt") -> dict:
    resp = _submit(client, headers, content, name)
    assert resp.status_code == 201, resp.get_json()
    [attachment] = resp.get_json()["attachments"]
    return attachment


def test_the_store_is_the_one_configured(app, storage_kind):
    store = active_store()
    assert isinstance(store, S3Storage if storage_kind == "s3" else LocalStorage)


def test_an_attachment_goes_in_and_comes_back_with_its_headers(
    app, client, world, storage_kind, s3_objects
):
    content = b"printer on fire\n" * 100
    sha = hashlib.sha256(content).hexdigest()
    headers = world.headers(world.requester)
    attachment = _created_attachment(client, headers, content, "printer.log")
    assert attachment["sha256"] == sha

    with client.get(attachment["url"], headers=headers) as resp:
        assert resp.status_code == 200
        assert resp.get_data() == content
        assert resp.headers["Content-Length"] == str(len(content))
        assert resp.headers["Content-Disposition"] == "attachment; filename=printer.log"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["ETag"] == f'"{sha}"'
        assert resp.mimetype == attachment["content_type"]
    # The file is where the store says, and only there.
    local_file = Path(app.config["ATTACHMENT_DIR"]) / sha[:2] / sha
    if storage_kind == "s3":
        assert s3_objects() == [f"{sha[:2]}/{sha}"]
        assert not local_file.exists()
    else:
        assert local_file.read_bytes() == content


def test_a_range_request_gets_that_part_of_the_file(app, client, world, storage_kind):
    content = bytes(range(256)) * 8
    headers = world.headers(world.requester)
    attachment = _created_attachment(client, headers, content, "dump.bin")
    ranged_gets = []
    if storage_kind == "s3":  # what boto3 sends: the part alone is asked of the bucket
        active_store().client.meta.events.register(
            "before-parameter-build.s3.GetObject",
            lambda params, **_: ranged_gets.append(params.get("Range")),
        )

    for asked, start, stop in [("bytes=0-9", 0, 10), ("bytes=1000-1009", 1000, 1010)]:
        with client.get(attachment["url"], headers={**headers, "Range": asked}) as resp:
            assert resp.status_code == 206
            assert resp.get_data() == content[start:stop]
            assert resp.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(content)}"
            assert resp.headers["Content-Length"] == "10"
            assert resp.headers["Accept-Ranges"] == "bytes"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
    if storage_kind == "s3":
        assert ranged_gets == [None, "bytes=0-9", None, "bytes=1000-1009"]

    with client.get(attachment["url"], headers=headers) as whole:  # no Range: all of it
        assert (whole.status_code, whole.get_data()) == (200, content)
    resp = client.get(attachment["url"], headers={**headers, "Range": "bytes=5000-5009"})
    assert_error(resp, 416, "requested_range_not_satisfiable")
    assert resp.headers["Content-Range"] == f"bytes */{len(content)}"


def test_a_file_missing_from_the_store_is_410(app, client, world):
    headers = world.headers(world.requester)
    attachment = _created_attachment(client, headers, b"soon lost")
    active_store().delete(attachment["sha256"])
    error = assert_error(client.get(attachment["url"], headers=headers), 410, "gone")
    assert "missing from storage" in error["message"]


def test_a_ticket_the_caller_may_not_see_keeps_its_file_hidden(app, client, world):
    attachment = _created_attachment(client, world.headers(world.requester), b"acme only")
    resp = client.get(attachment["url"], headers=world.headers(world.other_power))
    assert_error(resp, 404, "not_found")


def test_ten_megabytes_stream_both_ways(app, client, world):
    content = bytes(range(256)) * (10 * MB // 256)  # the largest file allowed
    headers = world.headers(world.requester)
    upload = io.BytesIO(content)
    tracemalloc.start()
    try:
        with _submit_streamed(client, headers, upload, "big.bin") as resp:
            _, upload_peak = tracemalloc.get_traced_memory()
            assert resp.status_code == 201, resp.get_json()
            [attachment] = resp.get_json()["attachments"]
        tracemalloc.reset_peak()
        digest, size = hashlib.sha256(), 0
        with client.get(attachment["url"], headers=headers, buffered=False) as download:
            assert download.status_code == 200
            for chunk in download.response:
                digest.update(chunk)
                size += len(chunk)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == len(content) and digest.hexdigest() == attachment["sha256"]
    # Well under the file's 10 MB: it never sits whole in memory, on the way in or out.
    assert upload_peak < 3 * MB, upload_peak
    assert download_peak < 1 * MB, download_peak


def test_a_failed_transaction_leaves_its_file_to_the_sweeper(app, db, world, clock):
    store = active_store()
    kept = b"a file a committed ticket names"
    _ticket_with_file(world, kept)
    orphan = b"a file whose transaction failed after publishing it"
    orphan_sha = hashlib.sha256(orphan).hexdigest()
    with pytest.raises(RuntimeError), store.staging() as staging:
        sha, size = staging.add(io.BytesIO(orphan))
        with database.atomic():
            ticket = world.ticket()
            Attachment.create(
                ticket=ticket,
                uploaded_by=world.requester,
                filename="doomed.txt",
                size=size,
                sha256=sha,
                content_type="text/plain",
            )
            staging.publish()
            raise RuntimeError("the commit failed")
    assert not Attachment.select().where(Attachment.sha256 == orphan_sha).exists()
    assert store.exists(orphan_sha)  # published before the failure: named by nothing now

    # A request still between its publish and its commit is never swept from under it.
    assert sweep_unreferenced(store) == []
    clock.advance(hours=7)
    assert sweep_unreferenced(store) == [orphan_sha]
    assert not store.exists(orphan_sha)
    assert store.exists(hashlib.sha256(kept).hexdigest())  # a named file stays
    assert list(store.staging_dir.iterdir()) == []  # and no staging file is left


def test_the_sweep_reads_the_named_files_in_batches_not_once_a_file(app, db, world, clock, caplog):
    store = active_store()
    for n in range(3):
        _ticket_with_file(world, f"named file {n}".encode())
    orphans = []
    with store.staging() as staging:
        for n in range(12):
            orphans.append(staging.add(io.BytesIO(f"orphan {n}".encode()))[0])
        staging.publish()
    clock.advance(hours=7)
    caplog.set_level(logging.DEBUG, logger="peewee")  # peewee logs each (sql, params) it runs
    swept = sweep_unreferenced(store)
    caplog.set_level(logging.WARNING, logger="peewee")
    assert swept == sorted(orphans)
    assert [sha for sha, _ in store.stored()] == sorted(
        a.sha256 for a in Attachment.select(Attachment.sha256)
    )
    queries = [r.msg for r in caplog.records if r.name == "peewee" and isinstance(r.msg, tuple)]
    assert len([sql for sql, _ in queries if 'FROM "attachment"' in sql]) == 1, queries


def _ticket_with_file(world, content: bytes):
    from helpdesk.services import tickets
    from helpdesk.storage import Upload

    return tickets.submit_ticket(
        type="incident",
        title="Named file",
        actor=world.requester,
        attachments=[Upload("kept.txt", io.BytesIO(content))],
    )


def test_the_same_content_is_stored_once(app, client, world, storage_kind, s3_objects):
    headers = world.headers(world.requester)
    first = _created_attachment(client, headers, b"same bytes", "a.txt")
    second = _created_attachment(client, headers, b"same bytes", "b.txt")
    assert first["sha256"] == second["sha256"]
    assert [sha for sha, _ in active_store().stored()] == [first["sha256"]]
    if storage_kind == "s3":
        assert len(s3_objects()) == 1


@pytest.fixture
def s3_objects(request, storage_kind):
    """The keys under this test's bucket prefix, without the prefix (S3 only)."""

    def keys() -> list[str]:
        store = active_store()
        assert isinstance(store, S3Storage)
        listing = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
        return sorted(o["Key"][len(store.prefix) :] for o in listing.get("Contents", []))

    return keys


def test_unreachable_object_storage_is_503_and_saves_nothing(env, monkeypatch, s3_server):
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("HELPDESK_STORAGE", f"s3://{s3_server.bucket}/unreachable")
    app = create_app({"TESTING": True})
    client = app.test_client()
    with database.connection_context():
        from conftest import World

        world = World()
        headers = world.headers(world.requester)
        before = Attachment.select().count()
    error = assert_error(_submit(client, headers, b"nowhere to go"), 503, "storage_unavailable")
    assert "cannot be reached" in error["message"]
    with database.connection_context():
        assert Attachment.select().count() == before
    database.close()


@pytest.mark.parametrize("value", ["ftp://bucket", "s3://", "/srv/attachments"])
def test_a_storage_location_that_is_not_s3_is_refused_by_name(env, monkeypatch, value):
    monkeypatch.setenv("HELPDESK_STORAGE", value)
    with pytest.raises(ValueError, match="HELPDESK_STORAGE must be s3://BUCKET"):
        load_settings()


def test_a_backup_refuses_a_store_that_lacks_a_file_the_database_names(
    app, client, world, cli, storage_kind, tmp_path, models_pointed_back
):
    """With a bucket the backup holds the database only: it says so only once every file
    that copy names is in the bucket (at its size), as it checks the directory's files."""
    kept = _created_attachment(client, world.headers(world.requester), b"kept")
    lost = _created_attachment(client, world.headers(world.requester), b"soon gone")
    active_store().delete(lost["sha256"])
    path = tmp_path / "backup.tar"
    result = cli("db", "backup", str(path), "--json")
    assert result.exit_code == 1, result.output
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "gone", error
    assert error["details"]["missing"] == [lost["sha256"]] != [kept["sha256"]]
    assert not path.exists()


def test_a_backup_says_that_the_bucket_is_backed_up_separately(
    app, client, world, cli, storage_kind, tmp_path, models_pointed_back
):
    import tarfile

    attachment = _created_attachment(client, world.headers(world.requester), b"in the store")
    path = tmp_path / "backup.tar"
    result = cli("db", "backup", str(path))
    assert result.exit_code == 0, result.output
    with tarfile.open(path) as archive:
        names = archive.getnames()
        manifest = json.load(archive.extractfile("manifest.json"))
    assert manifest["attachments"] == 1
    blob = f"attachments/{attachment['sha256'][:2]}/{attachment['sha256']}"
    if storage_kind == "s3":
        location = load_settings().storage
        assert manifest["attachments_stored_in"] == location
        assert blob not in names
        assert f"they stay in {location}. Back up that bucket separately." in result.output
    else:
        assert "attachments_stored_in" not in manifest
        assert blob in names
        assert "bucket" not in result.output

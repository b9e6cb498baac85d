"""Content-addressed file storage for attachments."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from werkzeug.utils import secure_filename

from helpdesk.config import DEFAULT_MAX_ATTACHMENT_SIZE
from helpdesk.errors import Gone, PayloadTooLarge, StorageUnavailable, storage_error
from helpdesk.i18n import N_

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
# A staging file untouched this long belongs to no request still running: a crash left it.
STALE_STAGING_SECONDS = 3600


@dataclass
class Upload:
    """A file as it arrives: a name the sender chose and a stream to read once."""

    filename: str
    stream: BinaryIO
    content_type: str | None = None


def sanitize_filename(name: str) -> str:
    """A safe base name: no directories, no control characters, never empty."""
    base = os.path.basename((name or "").replace("\\", "/"))
    stem, ext = os.path.splitext(base)
    # secure_filename keeps ASCII only: a name like 报告.pdf keeps its extension at least.
    stem = secure_filename(stem) or "attachment"
    ext = secure_filename(ext)
    return f"{stem[:190]}.{ext[:10]}" if ext else stem[:200]


def guess_content_type(filename: str, declared: str | None) -> str:
    if declared and "/" in declared and declared != "application/octet-stream":
        return declared.split(";")[0].strip()[:127]
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


@dataclass
class StoredFile:
    """A stored file opened for reading: a stream read in chunks, never whole."""

    stream: BinaryIO
    size: int
    modified: datetime  # naive UTC


@dataclass(frozen=True)
class Listed:
    """A stored file as a listing names it."""

    sha256: str
    size: int
    written: datetime  # naive UTC


# Not a SHA-256 (a dot first, a shard directory never has one): stored() never lists it.
PROBE_NAME = ".helpdesk-probe"
PROBE_CONTENT = b"helpdesk storage probe\n"


class Storage:
    """Where attachment files live, each under the SHA-256 of its content (ab/abcdef...).

    Files are staged in a local directory first (hashed while copied), then published by the
    implementation (`_put`): a rename into the directory, or an upload to object storage.
    """

    location = ""  # for messages: the directory or s3://bucket/prefix

    def __init__(self, staging_root: Path | None, max_size: int = DEFAULT_MAX_ATTACHMENT_SIZE):
        self.staging_root = staging_root
        self.max_size = max_size

    # -- what each implementation provides ------------------------------------------------

    def _put(self, sha256: str, staged: Path) -> None:
        """Publish a staged file under its name; the staged file is gone afterwards."""
        raise NotImplementedError

    def open(self, sha256: str) -> StoredFile | None:
        """The file for reading; None when it is missing."""
        raise NotImplementedError

    def open_part(self, sha256: str, start: int, stop: int) -> BinaryIO | None:
        """Bytes start to stop (excluded) of a file, read from the store alone, when the store
        can (a ranged GET); None: read the file from its start and skip to the part."""
        return None

    def delete(self, sha256: str) -> None:
        """Remove a file (nothing happens when it is missing)."""
        raise NotImplementedError

    def listed(self) -> Iterator[Listed]:
        """Every stored file in ascending order of SHA-256 (a merge with the database's
        sorted names then needs no memory): its SHA-256, size and last write time."""
        raise NotImplementedError

    def probe(self) -> None:
        """Write, read back and delete a small object under a key no attachment can have;
        StorageUnavailable when the store cannot be reached or written."""
        raise NotImplementedError

    # -- common to both ---------------------------------------------------------------------

    def stored(self) -> Iterator[tuple[str, datetime]]:
        """Every stored file: its SHA-256 and when it was last written (naive UTC)."""
        for entry in self.listed():
            yield entry.sha256, entry.written

    def exists(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def size(self, sha256: str) -> int | None:
        """The stored file's size; None when it is missing."""
        stored = self.open(sha256)
        if stored is None:
            return None
        stored.stream.close()
        return stored.size

    def open_attachment(self, sha256: str, name: str) -> StoredFile:
        """An attachment's file for reading; Gone if it is missing from storage."""
        stored = self.open(sha256)
        if stored is None:
            raise Gone(
                N_(
                    "The file of attachment {filename!r} is missing from storage; "
                    "an administrator can restore it from a backup."
                ),
                {"sha256": sha256},
                filename=name,
            )
        return stored

    @property
    def staging_dir(self) -> Path:
        if self.staging_root is None:
            raise RuntimeError("attachment storage is not configured")
        return self.staging_root / "tmp"

    def _stage(self, stream: BinaryIO) -> tuple[str, int, Path]:
        """Copy a stream to a staging file in chunks, hashing it; refuse it past max_size."""
        digest = hashlib.sha256()
        size = 0
        try:
            self.staging_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self.staging_dir)
        except OSError as exc:
            raise _storage_failed(exc) from None
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if size > self.max_size:
                        raise PayloadTooLarge(
                            N_("Attachment is larger than the limit of {limit} bytes."),
                            limit=self.max_size,
                        )
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException as exc:
            Path(tmp_name).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _storage_failed(exc) from None
            raise
        return digest.hexdigest(), size, Path(tmp_name)

    @contextmanager
    def staging(self) -> Iterator[Staging]:
        """Files are staged before the transaction and published as its last step.

            with active_store().staging() as staging:
                sha, size = staging.add(upload.stream)   # no lock held while copying
                with database.atomic():
                    ...                                 # rows that name the files
                    staging.publish()                   # raises: the rows roll back

        A committed row thus never points at a missing file; whatever was not published
        when the block ends is deleted.
        """
        batch = Staging(self)
        try:
            yield batch
        finally:
            batch.discard()

    def remove_stale_staging(self, older_than: float = STALE_STAGING_SECONDS) -> int:
        """Delete staging files a crashed process left behind; return how many."""
        if self.staging_root is None or not self.staging_dir.is_dir():
            return 0
        cutoff = time.time() - older_than
        removed = 0
        try:
            for entry in self.staging_dir.iterdir():
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink(missing_ok=True)
                    removed += 1
        except OSError as exc:  # a read-only store still serves downloads
            log.warning("cannot clean the staging directory %s: %s", self.staging_dir, exc)
        if removed:
            log.info("removed %d stale staging file(s) from %s", removed, self.staging_dir)
        return removed


def _storage_failed(exc: OSError) -> StorageUnavailable:
    log.error("attachment storage failed: %s", exc)
    return storage_error(exc) or StorageUnavailable(
        N_(
            "The attachment could not be stored, so nothing was saved: the attachment storage "
            "refused a write. Try again later, or tell an administrator."
        )
    )


def _probe_failed(store: Storage, exc: Exception) -> StorageUnavailable:
    log.error("attachment storage probe failed: %s", exc)
    return StorageUnavailable(
        N_("The attachment storage {location} cannot be reached or written: {problem}"),
        location=store.location,
        problem=str(exc),
    )


class Staging:
    def __init__(self, store: Storage):
        self.store = store
        self.staged: list[tuple[str, Path]] = []

    def add(self, stream: BinaryIO) -> tuple[str, int]:
        """Stage a stream; return its SHA-256 and size."""
        sha, size, tmp = self.store._stage(stream)
        self.staged.append((sha, tmp))
        return sha, size

    def publish(self) -> None:
        """Store every staged file under its name; StorageUnavailable if one cannot be stored.

        A file published before a later failure (of another file, or of the commit) stays,
        named by nothing: a later upload of the same content uses it, and `sweep_unreferenced`
        (helpdesk/storage_upkeep.py)
        removes it once it is older than any transaction. It is not deleted on the failure
        path: another request may have just published the same content, not yet committed.
        """
        while self.staged:
            sha, tmp = self.staged[0]
            self.store._put(sha, tmp)  # the same content under the same name: harmless
            self.staged.pop(0)

    def discard(self) -> None:
        for _, tmp in self.staged:
            tmp.unlink(missing_ok=True)
        self.staged.clear()


class LocalStorage(Storage):
    """Files under root/ab/abcdef..., staged in root/tmp: one rename publishes one."""

    def __init__(self, root: Path | None = None, max_size: int = DEFAULT_MAX_ATTACHMENT_SIZE):
        super().__init__(root, max_size)
        self.root = root
        self.location = str(root)

    def path_for(self, sha256: str) -> Path:
        if self.root is None:
            raise RuntimeError("attachment storage is not configured")
        return self.root / sha256[:2] / sha256

    def _put(self, sha256: str, staged: Path) -> None:
        final = self.path_for(sha256)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)  # a fresh mtime too: the sweeper leaves it alone
        except OSError as exc:
            raise _storage_failed(exc) from None

    def open(self, sha256: str) -> StoredFile | None:
        try:
            stream = self.path_for(sha256).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            return None
        except OSError as exc:
            raise _storage_failed(exc) from None
        stat = os.fstat(stream.fileno())
        return StoredFile(stream, stat.st_size, _utc(stat.st_mtime))

    def delete(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)

    def listed(self) -> Iterator[Listed]:
        if self.root is None or not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if len(shard.name) != 2 or not shard.is_dir():  # tmp/ holds staging files
                continue
            for entry in sorted(shard.iterdir()):
                if _is_sha256(entry.name) and entry.is_file():
                    stat = entry.stat()
                    yield Listed(entry.name, stat.st_size, _utc(stat.st_mtime))

    def probe(self) -> None:
        if self.root is None:
            raise RuntimeError("attachment storage is not configured")
        probe = self.root / PROBE_NAME
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(PROBE_CONTENT)
            if probe.read_bytes() != PROBE_CONTENT:
                raise OSError(f"{probe} reads back other bytes than were written")
            probe.unlink()
        except OSError as exc:
            raise _probe_failed(self, exc) from None


class S3Storage(Storage):
    """Objects PREFIX/ab/abcdef... in an S3-compatible bucket, through boto3.

    boto3 reads the credentials, region and endpoint from its own standard environment
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL).
    Uploads are staged in a local directory while hashed, then sent by boto3's managed
    transfer (multipart past 8 MB) from the file; downloads stream the object's body.
    """

    def __init__(
        self,
        url: str,
        staging_root: Path | None,
        max_size: int = DEFAULT_MAX_ATTACHMENT_SIZE,
        client=None,
    ):
        super().__init__(staging_root, max_size)
        self.bucket, self.prefix = parse_s3_url(url)
        self.location = url
        if client is None:
            import boto3  # only deployments on object storage pay for importing it

            client = boto3.client("s3")
        self.client = client
        from boto3.s3.transfer import TransferConfig

        # One part in flight per upload: a server runs many requests at once, and this keeps
        # each upload's buffers to about 2 MB (10 parts at once: 3 to 4 MB, for no gain here).
        self._transfer = TransferConfig(max_concurrency=1)

    def key_for(self, sha256: str) -> str:
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def _put(self, sha256: str, staged: Path) -> None:
        try:
            self.client.upload_file(
                str(staged), self.bucket, self.key_for(sha256), Config=self._transfer
            )
        except Exception as exc:  # boto3's and botocore's errors, the network's
            raise _object_storage_failed(exc) from None
        staged.unlink(missing_ok=True)

    def _ask(self, method, sha256: str, **extra) -> dict | None:
        """One call about an object (get_object, head_object): its answer, None when the object
        is missing; StorageUnavailable when the store fails."""
        try:
            return method(Bucket=self.bucket, Key=self.key_for(sha256), **extra)
        except Exception as exc:  # boto3's and botocore's errors, the network's
            if _is_missing(exc):
                return None
            raise _object_storage_failed(exc) from None

    def open(self, sha256: str) -> StoredFile | None:
        obj = self._ask(self.client.get_object, sha256)
        if obj is None:
            return None
        modified = obj["LastModified"].astimezone(UTC).replace(tzinfo=None)
        return StoredFile(_ObjectBody(obj["Body"]), obj["ContentLength"], modified)

    def size(self, sha256: str) -> int | None:
        head = self._ask(self.client.head_object, sha256)
        return None if head is None else head["ContentLength"]

    def open_part(self, sha256: str, start: int, stop: int) -> BinaryIO | None:
        obj = self._ask(self.client.get_object, sha256, Range=f"bytes={start}-{stop - 1}")
        return None if obj is None else _ObjectBody(obj["Body"])

    def delete(self, sha256: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except Exception as exc:
            raise _object_storage_failed(exc) from None

    def listed(self) -> Iterator[Listed]:
        # S3 lists keys in ascending order; PREFIX/ab/abcdef... sorts as the SHA-256 does.
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    name = obj["Key"].rpartition("/")[2]
                    if _is_sha256(name):
                        written = obj["LastModified"].astimezone(UTC).replace(tzinfo=None)
                        yield Listed(name, obj["Size"], written)
        except Exception as exc:
            raise _object_storage_failed(exc) from None

    def probe(self) -> None:
        key = f"{self.prefix}{PROBE_NAME}"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=PROBE_CONTENT)
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            with body:
                content = body.read()
            if content != PROBE_CONTENT:
                raise ValueError(f"{key} reads back other bytes than were written")
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:  # boto3's and botocore's errors, the network's
            raise _probe_failed(self, exc) from None


class _ObjectBody:
    """An object's body as a plain readable stream: read and close only, so that a WSGI
    server's file wrapper iterates it in chunks rather than seeking or sendfile-ing it."""

    def __init__(self, body):
        self._body = body

    def read(self, size: int = CHUNK_SIZE) -> bytes:
        return self._body.read(size)

    def close(self) -> None:
        self._body.close()


def parse_s3_url(url: str) -> tuple[str, str]:
    """s3://BUCKET[/PREFIX] as (bucket, "PREFIX/" or "")."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"an object storage location is s3://BUCKET[/PREFIX], not {url!r}")
    prefix = parsed.path.strip("/")
    return parsed.netloc, f"{prefix}/" if prefix else ""


def _is_sha256(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def _is_missing(exc: Exception) -> bool:
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code")) in ("NoSuchKey", "404", "NotFound")


def _object_storage_failed(exc: Exception) -> StorageUnavailable:
    log.error("object storage failed: %s", exc)
    return StorageUnavailable(
        N_(
            "The attachment storage cannot be reached or refused the request, so nothing was "
            "saved: try again later, or tell an administrator."
        )
    )


_active: Storage = LocalStorage()


def active_store() -> Storage:
    """The store configured at start (configure_storage)."""
    return _active


def configure_storage(root: Path, max_size: int, location: str | None = None) -> Storage:
    """Choose the store (location s3://BUCKET[/PREFIX], or None: the directory root; root
    holds the staging directory either way) and clear what a crash left in staging."""
    global _active
    if location:
        _active = S3Storage(location, root, max_size)
    else:
        _active = LocalStorage(root, max_size)
    _active.remove_stale_staging()
    return _active

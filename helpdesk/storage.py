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
from pathlib import Path
from typing import BinaryIO

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


class BlobStore:
    """Files kept under root/ab/abcdef...: the SHA-256 of their content is their name."""

    def __init__(self, root: Path | None = None, max_size: int = DEFAULT_MAX_ATTACHMENT_SIZE):
        self.root = root
        self.max_size = max_size

    def path_for(self, sha256: str) -> Path:
        if self.root is None:
            raise RuntimeError("attachment storage is not configured")
        return self.root / sha256[:2] / sha256

    def existing_path(self, sha256: str, name: str) -> Path:
        """Where a stored file is; Gone if it is missing from storage."""
        path = self.path_for(sha256)
        if not path.is_file():
            raise Gone(
                N_(
                    "The file of attachment {filename!r} is missing from storage; "
                    "an administrator can restore it from a backup."
                ),
                {"sha256": sha256},
                filename=name,
            )
        return path

    @property
    def staging_dir(self) -> Path:
        if self.root is None:
            raise RuntimeError("attachment storage is not configured")
        return self.root / "tmp"

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

            with blob_store.staging() as staging:
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
        if self.root is None or not self.staging_dir.is_dir():
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


class Staging:
    def __init__(self, store: BlobStore):
        self.store = store
        self.staged: list[tuple[str, Path]] = []

    def add(self, stream: BinaryIO) -> tuple[str, int]:
        """Stage a stream; return its SHA-256 and size."""
        sha, size, tmp = self.store._stage(stream)
        self.staged.append((sha, tmp))
        return sha, size

    def publish(self) -> None:
        """Move every staged file to its place; StorageUnavailable if one cannot be moved.

        A file published before a later failure stays: it is named by its content, so a
        later upload of the same content uses it, and nothing points at it meanwhile.
        """
        while self.staged:
            sha, tmp = self.staged[0]
            final = self.store.path_for(sha)
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)  # same content under the same name: replacing is harmless
            except OSError as exc:
                raise _storage_failed(exc) from None
            self.staged.pop(0)

    def discard(self) -> None:
        for _, tmp in self.staged:
            tmp.unlink(missing_ok=True)
        self.staged.clear()


blob_store = BlobStore()


def configure_storage(root: Path, max_size: int) -> None:
    """Point the store at its directory and clear what a crash left in staging."""
    blob_store.root = root
    blob_store.max_size = max_size
    blob_store.remove_stale_staging()

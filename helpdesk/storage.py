"""Content-addressed file storage for attachments."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from werkzeug.utils import secure_filename

from helpdesk.config import DEFAULT_MAX_ATTACHMENT_SIZE
from helpdesk.errors import PayloadTooLarge

CHUNK_SIZE = 64 * 1024


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

    def _stage(self, stream: BinaryIO) -> tuple[str, int, Path]:
        """Copy a stream to a staging file in chunks, hashing it; refuse it past max_size."""
        if self.root is None:
            raise RuntimeError("attachment storage is not configured")
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=staging)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if size > self.max_size:
                        raise PayloadTooLarge(
                            f"Attachment is larger than the limit of {self.max_size} bytes.",
                            {"limit": self.max_size},
                        )
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return digest.hexdigest(), size, Path(tmp_name)

    @contextmanager
    def staging(self) -> Iterator[Staging]:
        """Files added inside the block reach the store only if the block succeeds.

        Use it around the database transaction, so that a rolled-back change leaves no file
        behind and a committed one never points at a missing file.
        """
        batch = Staging(self)
        try:
            yield batch
        except BaseException:
            for _, tmp in batch.staged:
                tmp.unlink(missing_ok=True)
            raise
        for sha, tmp in batch.staged:
            final = self.path_for(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # same content under the same name: replacing is harmless


class Staging:
    def __init__(self, store: BlobStore):
        self.store = store
        self.staged: list[tuple[str, Path]] = []

    def add(self, stream: BinaryIO) -> tuple[str, int]:
        """Stage a stream; return its SHA-256 and size."""
        sha, size, tmp = self.store._stage(stream)
        self.staged.append((sha, tmp))
        return sha, size


blob_store = BlobStore()


def configure_storage(root: Path, max_size: int) -> None:
    blob_store.root = root
    blob_store.max_size = max_size

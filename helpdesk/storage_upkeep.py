"""The operator's work on the attachment store: check it against the database, copy its files
to another store, sweep the files nothing names.

All three walk the files the database names and a store's listing side by side, each in ascending
order of SHA-256 (the database in batches through the index on `attachment.sha256`), so memory
stays flat however many attachments there are, and a bucket is listed rather than asked once
per file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from peewee import fn

from helpdesk.clock import clock
from helpdesk.errors import Gone, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import Attachment
from helpdesk.storage import Listed, LocalStorage, S3Storage, Storage

log = logging.getLogger(__name__)

BATCH = 1000
Progress = Callable[[int, int], None]  # (files done, files in all)


def store_at(location: str, staging_root: Path) -> Storage:
    """The store at s3://BUCKET[/PREFIX] or in a directory; no size limit (files already
    stored are copied whatever the upload limit is now)."""
    if location.startswith("s3://"):  # as HELPDESK_STORAGE is read: no trailing slash
        return S3Storage(location.rstrip("/"), staging_root, max_size=sys.maxsize)
    if "://" in location:
        raise ValidationFailed(
            N_("A store is s3://BUCKET[/PREFIX] or a directory, not {location!r}."),
            location=location,
        )
    return LocalStorage(Path(location).expanduser().resolve(), max_size=sys.maxsize)


def same_store(one: Storage, other: Storage) -> bool:
    if isinstance(one, LocalStorage) and isinstance(other, LocalStorage):
        return (
            one.root is not None
            and other.root is not None
            and (one.root.resolve() == other.root.resolve())
        )
    return one.location == other.location


def referenced_files() -> Iterator[tuple[str, int]]:
    """Every SHA-256 an attachment names, once, with its size, in ascending order."""
    after = ""
    while True:
        batch = list(
            Attachment.select(Attachment.sha256, fn.MAX(Attachment.size))
            .where(Attachment.sha256 > after)
            .group_by(Attachment.sha256)
            .order_by(Attachment.sha256)
            .limit(BATCH)
            .tuples()
        )
        yield from batch
        if len(batch) < BATCH:
            return
        after = batch[-1][0]


@dataclass
class Pair:
    """One SHA-256 as the database and the store know it (either may lack it)."""

    sha256: str
    size: int | None  # the attachments' size; None: no attachment names it
    listed: Listed | None  # None: not in the store

    @property
    def present(self) -> bool:
        return self.listed is not None and self.listed.size == self.size


def _side_by_side(store: Storage) -> Iterator[Pair]:
    referenced, listed = referenced_files(), store.listed()
    row, entry = next(referenced, None), next(listed, None)
    last = ""
    while row is not None or entry is not None:
        if entry is not None and (row is None or entry.sha256 < row[0]):
            pair, entry = Pair(entry.sha256, None, entry), next(listed, None)
        elif entry is None or row[0] < entry.sha256:
            pair, row = Pair(row[0], row[1], None), next(referenced, None)
        else:
            pair = Pair(row[0], row[1], entry)
            row, entry = next(referenced, None), next(listed, None)
        if pair.sha256 <= last:  # the merge is only right on two sorted lists
            raise RuntimeError(f"{store.location} listed {pair.sha256} out of order")
        last = pair.sha256
        yield pair


def check_store(store: Storage) -> dict:
    """Probe the store (StorageUnavailable if it cannot be written), then count the files
    the database names against the store's listing."""
    store.probe()
    files = present = unreferenced = 0
    missing: list[str] = []
    damaged: list[str] = []
    for pair in _side_by_side(store):
        if pair.size is None:
            unreferenced += 1
            continue
        files += 1
        if pair.present:
            present += 1
        else:
            (missing if pair.listed is None else damaged).append(pair.sha256)
    return {
        "location": store.location,
        "writable": True,
        "rows": Attachment.select().count(),
        "files": files,
        "present": present,
        "missing": missing,
        "damaged": damaged,
        "unreferenced": unreferenced,
    }


def files_not_present(store: Storage, wanted: set[str]) -> list[str]:
    """Those of `wanted` (SHA-256s that attachments name) that the store lacks or holds at
    another size, in ascending order."""
    return [
        pair.sha256 for pair in _side_by_side(store) if pair.sha256 in wanted and not pair.present
    ]


def incomplete_error(report: dict) -> Gone:
    return Gone(
        N_(
            "Attachment files named in the database are missing from {location} or damaged "
            "there ({count}): restore them from a backup."
        ),
        count=len(report["missing"]) + len(report["damaged"]),
        location=report["location"],
    )


def migrate_store(
    source: Storage, target: Storage, *, limit: int | None = None, progress: Progress
) -> dict:
    """Copy every file the database names from source to another target, one at a time, streamed
    (through a local staging file, hashed on the way), skipping those already there with their
    size; then list the target again. Nothing is deleted from the source.

    Files copied stay copied if it stops: running it again copies the rest.
    """
    target.probe()
    total = Attachment.select(fn.COUNT(Attachment.sha256.distinct())).scalar()
    done = copied = copied_bytes = already = 0
    lost: list[str] = []  # named by the database, not in the source, or damaged there
    for pair in _side_by_side(target):
        if pair.size is None:
            continue
        if pair.present:
            already += 1
        elif limit is None or copied < limit:
            size = _copy(source, target, pair.sha256)
            if size is None:
                lost.append(pair.sha256)
            else:
                copied += 1
                copied_bytes += size
        done += 1
        progress(done, total)
    verified = check_store(target)
    return {
        "from": source.location,
        "to": target.location,
        "files": total,
        "copied": copied,
        "copied_bytes": copied_bytes,
        "already_there": already,
        "not_in_source": lost,
        "left": len(verified["missing"]) + len(verified["damaged"]),
        "complete": not verified["missing"] and not verified["damaged"],
    }


def _copy(source: Storage, target: Storage, sha256: str) -> int | None:
    """Copy one file; its size, or None when the source lacks it or holds other content."""
    stored = source.open(sha256)
    if stored is None:
        return None
    with target.staging() as staging:
        try:
            content, size = staging.add(stored.stream)
        finally:
            stored.stream.close()
        if content != sha256:  # damaged in the source: a copy would spread it
            return None
        staging.publish()
    return size


# A file left by a request that failed after publishing it is this old before it is swept:
# far longer than any transaction, so that one still committing keeps what it published.
SWEEP_AFTER_SECONDS = 6 * 3600


def sweep_unreferenced(
    store: Storage, older_than: float = SWEEP_AFTER_SECONDS, *, dry_run: bool = False
) -> list[str]:
    """Delete stored files that no attachment names and that were written more than
    `older_than` seconds ago (with dry_run, delete nothing); return their SHA-256s.

    Every publish rewrites its file (a fresh write time), so a request still between its
    publish and its commit is never swept.
    """
    cutoff = clock.now() - timedelta(seconds=older_than)
    swept = []
    for pair in _side_by_side(store):
        if pair.size is not None or pair.listed is None or pair.listed.written >= cutoff:
            continue  # named by an attachment, not stored, or perhaps about to be named
        if not dry_run:
            store.delete(pair.sha256)
        swept.append(pair.sha256)
    if swept and not dry_run:
        log.info("swept %d unreferenced attachment file(s) from %s", len(swept), store.location)
    return swept

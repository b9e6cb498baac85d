"""Backups: one tar file holding a consistent copy of the database, every attachment file it
names, and a manifest that proves the rest whole.

    manifest.json is the last member: the format and versions, the engine, when, row counts
    per table, and the size and SHA-256 of every other member:
    database/helpdesk.sqlite3   SQLite: a page copy by the online backup API
    database/helpdesk.pgdump    PostgreSQL: pg_dump's custom format (compressed already)
    attachments/ab/abcdef...    each file under its own SHA-256, as the store keeps it
With attachments in object storage (HELPDESK_STORAGE=s3://...), the archive holds none:
the manifest's `attachments_stored_in` names the bucket, which is backed up separately.

A plain tar, not a directory (one file to copy, rotate and check) and not compressed
(attachments are mostly compressed already and so is a pg_dump; pipe it to a compressor if
you like). Restore reads and checks the whole archive before it changes anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from helpdesk import __version__
from helpdesk.clock import clock
from helpdesk.config import Settings, program_environment, sqlite_file
from helpdesk.errors import (
    Conflict,
    Gone,
    HelpdeskError,
    InvalidBackup,
    NotFound,
    StorageUnavailable,
    ToolFailed,
    storage_error,
)
from helpdesk.i18n import N_

FORMAT = "helpdesk-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/helpdesk.sqlite3"
POSTGRES_MEMBER = "database/helpdesk.pgdump"
BLOB_PREFIX = "attachments/"
CHUNK_SIZE = 1024 * 1024

# progress(step, done, total): "database", "attachments", "verify", "restore"
Progress = Callable[[str, int, int], None]


def _no_progress(step: str, done: int, total: int) -> None:
    pass


# -- engines ------------------------------------------------------------------------------


def engine_of(url: str) -> str:
    return "sqlite" if sqlite_file(url) is not None else "postgresql"


def _tables() -> list[str]:
    """The helpdesk tables whose rows a manifest counts (the models' own)."""
    from helpdesk.models import ALL_MODELS

    return sorted(model._meta.table_name for model in ALL_MODELS)


def _count_rows(execute: Callable[[str], list]) -> dict[str, int]:
    """Rows per table (a backup is made of a current schema: every table exists)."""
    return {table: int(execute(f'SELECT COUNT(*) FROM "{table}"')[0][0]) for table in _tables()}


def _postgres_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest /usr/lib/postgresql/*/bin (as
    scripts/with-postgres.sh finds the server)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    raise ToolFailed(
        N_(
            "{tool} is needed to back up or restore a PostgreSQL database; install PostgreSQL's "
            "client programs (the postgresql-client package) or put {tool} on PATH."
        ),
        tool=name,
    )


def _postgres_env(url: str) -> dict[str, str]:
    """libpq's environment for a postgresql:// URL: the password never goes on a command line
    (where `ps` shows it to every user of the machine)."""
    parsed = urlparse(url)
    values = {
        "PGHOST": parsed.hostname,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": unquote(parsed.username) if parsed.username else None,
        "PGPASSWORD": unquote(parsed.password) if parsed.password else None,
        "PGDATABASE": unquote(parsed.path.lstrip("/")) or None,
    }
    options = dict(parse_qsl(parsed.query))
    for option, variable in (("sslmode", "PGSSLMODE"), ("connect_timeout", "PGCONNECT_TIMEOUT")):
        values[variable] = options.get(option)
    return program_environment({name: value for name, value in values.items() if value})


def _run_tool(argv: list[str], url: str) -> None:
    result = subprocess.run(
        argv, env=_postgres_env(url), stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ToolFailed(
            N_("{tool} failed (exit {status}): {output}"),
            tool=Path(argv[0]).name,
            status=result.returncode,
            output=(result.stderr or result.stdout).strip()[-2000:],
        )


# -- backup -------------------------------------------------------------------------------


class _HashingReader:
    """A file read once into the archive, hashed on the way."""

    def __init__(self, raw):
        self.raw = raw
        self.digest = hashlib.sha256()

    def read(self, size=-1):
        chunk = self.raw.read(size)
        self.digest.update(chunk)
        return chunk


def _add_file(archive: tarfile.TarFile, name: str, path: Path, members: dict) -> str:
    info = tarfile.TarInfo(name)
    with path.open("rb") as source:
        info.size = os.fstat(source.fileno()).st_size
        info.mtime = int(os.fstat(source.fileno()).st_mtime)
        reader = _HashingReader(source)
        archive.addfile(info, reader)
    sha256 = reader.digest.hexdigest()
    members[name] = {"sha256": sha256, "size": info.size}
    return sha256


def _copy_sqlite(url: str, target: Path, progress: Progress) -> tuple[list[str], dict]:
    """Copy the live database's pages as of one moment; return the attachment hashes and row
    counts of the copy."""
    source = sqlite3.connect(str(sqlite_file(url)), timeout=30)
    copy = sqlite3.connect(str(target))
    try:
        # One step (pages=-1): the copy is one read transaction, a snapshot. The database is
        # in WAL mode, so writers go on meanwhile; a copy in several steps would start again
        # after every write made by another connection, and might never end under load.
        source.backup(
            copy,
            pages=-1,
            progress=lambda _s, left, total: progress("database", total - left, total),
        )
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        blobs = [sha for (sha,) in copy.execute("SELECT DISTINCT sha256 FROM attachment")]
        counts = _count_rows(lambda sql: copy.execute(sql).fetchall())
    finally:
        copy.close()
        source.close()
    return blobs, counts


@contextmanager
def _postgres_snapshot(url: str) -> Iterator[tuple[str, Callable[[str], list]]]:
    """A read-only transaction whose snapshot pg_dump shares (--snapshot): what it lists and
    counts is exactly what the dump holds."""
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]

            def execute(sql: str) -> list:
                cursor.execute(sql)
                return cursor.fetchall()

            yield snapshot, execute
    finally:
        connection.rollback()
        connection.close()


def _dump_postgres(url: str, target: Path, progress: Progress) -> tuple[list[str], dict]:
    with _postgres_snapshot(url) as (snapshot, execute):
        progress("database", 0, 1)
        _run_tool(
            [
                _postgres_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target}",
            ],
            url,
        )
        progress("database", 1, 1)
        blobs = [sha for (sha,) in execute("SELECT DISTINCT sha256 FROM attachment")]
        counts = _count_rows(execute)
    return blobs, counts


def create_backup(path: Path, settings: Settings, progress: Progress = _no_progress) -> dict:
    """Write a backup of the configured instance to `path` while it keeps running; return its
    manifest.

    The file appears whole or not at all (written beside it, then renamed), readable by its
    owner only (it holds password hashes). Raises Gone naming the attachment files that the
    database names but the store lacks: such a backup could not be restored whole.
    """
    from helpdesk.migrations import LATEST, open_database

    # Only a database of this helpdesk's schema is backed up, so a restore knows what it holds.
    open_database(settings.database_url)
    url = settings.database_url
    engine = engine_of(url)
    path = Path(path)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "helpdesk_version": __version__,
        "schema_version": LATEST,
        "engine": engine,
        "created_at": clock.now().replace(tzinfo=UTC).isoformat(),
    }
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    tmp = Path(tmp_name)
    try:
        with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as work:
            if engine == "sqlite":
                member, copy = SQLITE_MEMBER, Path(work) / "helpdesk.sqlite3"
                blobs, manifest["counts"] = _copy_sqlite(url, copy, progress)
            else:
                member, copy = POSTGRES_MEMBER, Path(work) / "helpdesk.pgdump"
                blobs, manifest["counts"] = _dump_postgres(url, copy, progress)
            manifest["attachments"] = len(blobs)
            if settings.storage:
                # A bucket is backed up by its own means (versioning, replication): this
                # backup holds the database and says where its files are, once it has
                # checked that they are all there.
                _refuse_missing(_missing_from_bucket(settings, blobs), settings.storage)
                manifest["attachments_stored_in"] = settings.storage
                blobs = []
            _write_archive(tmp, manifest, member, copy, sorted(blobs), settings, progress)
        os.replace(tmp, path)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def _cannot_write(path: Path, exc: OSError) -> HelpdeskError:
    return storage_error(exc) or StorageUnavailable(
        N_("The backup cannot be written to {path}: {problem}."), path=str(path), problem=str(exc)
    )


def _missing_from_bucket(settings: Settings, blobs) -> list[str]:
    """The files of the copy that the bucket lacks or holds at another size, read from the
    bucket's listing beside the database's names (helpdesk/storage_upkeep.py)."""
    from helpdesk.storage_upkeep import files_not_present, store_at

    return files_not_present(store_at(settings.storage, settings.attachment_dir), set(blobs))


def _refuse_missing(missing: list[str], store: str) -> None:
    if missing:
        raise Gone(
            N_(
                "Attachment files named in the database are missing from the attachment "
                "storage ({store}), so this backup would not be whole: restore them from an "
                "earlier backup first. Missing ({count}): {missing}"
            ),
            count=len(missing),
            store=store,
            missing=missing[:20],
        )


def _write_archive(
    tmp: Path,
    manifest: dict,
    member: str,
    copy: Path,
    blobs: list[str],
    settings: Settings,
    progress: Progress,
) -> None:
    """The database copy, then the files it names, then the manifest with their hashes."""
    store = settings.attachment_dir
    _refuse_missing([sha for sha in blobs if not (store / sha[:2] / sha).is_file()], str(store))
    members: dict[str, dict] = {}
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as archive:
        _add_file(archive, member, copy, members)
        # Consistency: an attachment's file is stored before the row that names it commits,
        # and files are never changed (their name is their content's hash). So the files
        # that the database copy (above) names are all in the store now: copy the database
        # first, then exactly the files it names.
        for done, sha in enumerate(blobs, 1):
            name = f"{BLOB_PREFIX}{sha[:2]}/{sha}"
            if _add_file(archive, name, store / sha[:2] / sha, members) != sha:
                raise Gone(
                    N_(
                        "The attachment file {sha256} in the storage is damaged (its content "
                        "no longer matches its name): restore it from an earlier backup."
                    ),
                    sha256=sha,
                )
            progress("attachments", done, len(blobs))
        manifest["members"] = members
        data = json.dumps(manifest, indent=2, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mtime = int(clock.now().replace(tzinfo=UTC).timestamp())
        archive.addfile(info, io.BytesIO(data))
    with tmp.open("rb") as written:
        os.fsync(written.fileno())  # whole on disk before it takes the backup's name


# -- restore ------------------------------------------------------------------------------


def _unpack(path: Path, work: Path, progress: Progress) -> dict:
    """Extract the archive into `work` and check every member against the manifest; return
    the manifest. Raises InvalidBackup for anything but a whole, unaltered backup."""
    hashes: dict[str, tuple[str, int]] = {}
    manifest = None
    try:
        with tarfile.open(path, "r:") as archive:
            for info in archive:
                if info.name == MANIFEST and info.isfile():
                    manifest = json.loads(archive.extractfile(info).read())
                    continue
                if not info.isfile() or not _expected_name(info.name):
                    raise InvalidBackup(
                        N_("{path} holds {member!r}, which no helpdesk backup holds."),
                        path=str(path),
                        member=info.name,
                    )
                digest, size = hashlib.sha256(), 0
                target = work / info.name
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.extractfile(info) as source, target.open("wb") as out:
                    while chunk := source.read(CHUNK_SIZE):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                hashes[info.name] = (digest.hexdigest(), size)
                progress("verify", len(hashes), 0)
    except (tarfile.TarError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidBackup(
            N_("{path} is not a whole helpdesk backup (it may be truncated): {problem}."),
            path=str(path),
            problem=str(exc) or type(exc).__name__,
        ) from None
    except FileNotFoundError:
        raise NotFound(N_("No such backup file: {path}."), path=str(path)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidBackup(
            N_("{path} has no helpdesk backup manifest (it may be truncated, or another file)."),
            path=str(path),
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InvalidBackup(
            N_("{path} is a backup in format {found}; this helpdesk reads format {expected}."),
            path=str(path),
            found=str(manifest.get("format_version")),
            expected=FORMAT_VERSION,
        )
    expected = {
        name: (member.get("sha256"), member.get("size"))
        for name, member in manifest.get("members", {}).items()
    }
    damaged = sorted(
        name for name in expected.keys() | hashes.keys() if expected.get(name) != hashes.get(name)
    )
    if damaged:
        raise InvalidBackup(
            N_(
                "{path} was altered or is incomplete: these members are missing or do not match "
                "the manifest's SHA-256: {members}"
            ),
            path=str(path),
            members=damaged[:20],
        )
    # A blob whose content is not its name would be served as another attachment's file.
    for name, (sha256, _) in hashes.items():
        if name.startswith(BLOB_PREFIX) and Path(name).name != sha256:
            raise InvalidBackup(
                N_("{path}: the attachment file {member} does not match its name."),
                path=str(path),
                member=name,
            )
    return manifest


def _expected_name(name: str) -> bool:
    if name in (SQLITE_MEMBER, POSTGRES_MEMBER):
        return True
    parts = name.split("/")
    return (
        len(parts) == 3
        and parts[0] + "/" == BLOB_PREFIX
        and len(parts[2]) == 64
        and all(c in "0123456789abcdef" for c in parts[2])
        and parts[1] == parts[2][:2]
    )


def _instance_rows() -> dict[str, int]:
    """Tickets and users in the configured database (none if it has no schema)."""
    from helpdesk.db import database
    from helpdesk.models import Ticket, User

    with database.connection_context():
        if not User.table_exists():
            return {"tickets": 0, "users": 0}
        return {
            "tickets": Ticket.select().count() if Ticket.table_exists() else 0,
            "users": User.select().count(),
        }


def restore_backup(
    path: Path, settings: Settings, *, force: bool = False, progress: Progress = _no_progress
) -> dict:
    """Restore a backup into the configured instance, which must be empty unless `force`.

    Everything is checked before anything changes: the whole archive against its manifest,
    the engine, the schema version. Then the attachment files go into the store (harmless:
    nothing names them yet, and they are removed again if the database cannot be restored),
    then the database is replaced in one transaction, then upgraded to this helpdesk's schema.
    Returns the manifest and what was done.
    """
    from helpdesk.db import init_database
    from helpdesk.migrations import LATEST

    path = Path(path)
    if not path.is_file():
        raise NotFound(N_("No such backup file: {path}."), path=str(path))
    url = settings.database_url
    engine = engine_of(url)
    init_database(url)
    rows = _instance_rows()
    if not force and (rows["tickets"] or rows["users"]):
        raise Conflict(
            N_(
                "This help desk is not empty (tickets: {tickets}, users: {users}): a backup is "
                "restored into an empty one. Use --force to replace everything in it."
            ),
            **rows,
        )
    store = settings.attachment_dir
    staging = store / "tmp"
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(staging, exc) from None
    with tempfile.TemporaryDirectory(prefix="restore-", dir=staging) as work_name:
        work = Path(work_name)
        manifest = _unpack(path, work, progress)
        if manifest.get("engine") != engine:
            raise InvalidBackup(
                N_(
                    "{path} is a backup of a {found} database; this help desk uses {expected}. "
                    "Restore it into a help desk on {found}."
                ),
                path=str(path),
                found=str(manifest.get("engine")),
                expected=engine,
            )
        version = manifest.get("schema_version")
        if not isinstance(version, int) or version > LATEST:
            raise InvalidBackup(
                N_(
                    "{path} holds schema version {version}, newer than this helpdesk "
                    "(version {expected}): restore it with a newer helpdesk."
                ),
                path=str(path),
                version=str(version),
                expected=LATEST,
            )
        added = _publish_blobs(work, store, progress)
        try:
            progress("restore", 0, 1)
            if engine == "sqlite":
                _restore_sqlite(work / SQLITE_MEMBER, url)
            else:
                _restore_postgres(work / POSTGRES_MEMBER, url)
        except BaseException:
            for blob in added:  # nothing names them now: leave the store as it was
                blob.unlink(missing_ok=True)
            raise
    repaired = _after_restore(url)
    progress("restore", 1, 1)
    return {"manifest": manifest, "replaced": rows, "repaired": repaired}


def _publish_blobs(work: Path, store: Path, progress: Progress) -> list[Path]:
    """Move the archive's attachment files into the store; return those that were new."""
    blobs = sorted((work / BLOB_PREFIX).glob("*/*")) if (work / BLOB_PREFIX).is_dir() else []
    added = []
    try:
        for done, blob in enumerate(blobs, 1):
            final = store / blob.parent.name / blob.name
            if not final.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(blob, final)  # same file system: the store's own staging directory
                added.append(final)
            progress("attachments", done, len(blobs))
    except OSError as exc:
        for blob in added:
            blob.unlink(missing_ok=True)
        raise _cannot_write(store, exc) from None
    return added


def _restore_sqlite(copy: Path, url: str) -> None:
    """Replace the database's content with the copy's through the backup API: one write
    transaction on the live file (its WAL and any open connection stay coherent), so a
    failure leaves it as it was."""
    from helpdesk.db import database

    if not database.is_closed():
        database.close()
    target_path = sqlite_file(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(str(copy))
    target = sqlite3.connect(str(target_path), timeout=30)
    try:
        source.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode = WAL")
    finally:
        target.close()
        source.close()


def _restore_postgres(dump: Path, url: str) -> None:
    """pg_restore in one transaction: every object of the dump is dropped if it exists and
    made again, or (on any error) nothing changes."""
    from helpdesk.db import database

    if not database.is_closed():
        database.close()
    _run_tool(
        [
            _postgres_tool("pg_restore"),
            "--single-transaction",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={_database_name(url)}",  # the rest comes from the environment
            str(dump),
        ],
        url,
    )


def _database_name(url: str) -> str:
    return unquote(urlparse(url).path.lstrip("/"))


def _after_restore(url: str) -> list[str]:
    """Upgrade the restored schema to this helpdesk's; return what had to be rebuilt.

    The search index and the tally are in the copy, taken in the same snapshot as the
    tickets, so they are right as they are. An older schema's copy may lack them: its upgrade
    (version 5) indexes the tickets and counts the tally. tally.repair() is cheap insurance
    for a copy whose triggers did not come along.
    """
    from helpdesk import tally
    from helpdesk.db import database, init_database
    from helpdesk.migrations import upgrade_schema

    init_database(url)
    with database.connection_context():
        upgrade_schema()
        return ["tally"] if tally.repair() else []

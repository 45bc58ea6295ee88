"""Backups: one archive with the database, the uploaded files and a manifest of checksums.

Format: a ``.tar.gz`` holding

- ``database/trastienda.sqlite3`` (SQLite) or ``database/trastienda.dump`` (PostgreSQL,
  ``pg_dump`` custom format);
- ``media/…``: every file under ``MEDIA_ROOT`` (documents, logos, job results);
- ``manifest.json``: format version, ``created_at``, app version, database vendor, the
  applied migrations, and the size and SHA-256 of every other member.

Why native dumps rather than Django's ``dumpdata``: they keep the database exactly as it
was — timestamps to the microsecond (the audit trail's hash chain depends on them),
triggers, sequences and the migration history — so an archive restores into an empty
installation of the same or a later version, and ``migrate`` then brings it up to date.
Both are consistent snapshots taken while the application runs: SQLite's online backup API
copies the database in one read transaction (WAL mode lets writers carry on), and
``pg_dump`` reads everything in one repeatable-read snapshot. The price is that an archive
restores into the same database vendor it was taken from.

Restore refuses an installation that already has companies or users, extracts the archive
into a temporary directory, checks every member against the manifest (and SQLite's
integrity check, or ``pg_restore --list``), and only then changes anything: the database in
one step (SQLite's backup API; one ``psql`` transaction for PostgreSQL, with a
``\\restrict`` key so that the dump cannot run psql meta-commands), then the files.

The checksums reveal a damaged or altered archive; they are not a signature. Keep backups
where only operators can write them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from trastienda.core.models import Company

FORMAT = "trastienda-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/trastienda.sqlite3"
POSTGRES_MEMBER = "database/trastienda.dump"
MEDIA_PREFIX = "media/"
CHUNK = 1024 * 1024
VENDORS = ("sqlite", "postgresql")


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass
class BackupSummary:
    path: Path
    vendor: str
    files: int
    media_files: int
    bytes: int


@dataclass
class RestoreSummary:
    vendor: str
    created_at: str
    app_version: str
    media_files: int
    migrated: bool = False


@dataclass
class VerifiedArchive:
    """An archive extracted into ``root`` whose every member matched the manifest."""

    root: Path
    manifest: dict[str, Any]
    members: dict[str, Path] = field(default_factory=dict)

    @property
    def media(self) -> dict[str, Path]:
        return {
            n[len(MEDIA_PREFIX) :]: p for n, p in self.members.items() if n.startswith(MEDIA_PREFIX)
        }


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trastienda")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _vendor() -> str:
    vendor = connection.vendor
    if vendor not in VENDORS:
        raise BackupError(f"database: backups support SQLite and PostgreSQL, not {vendor}.")
    return vendor


# --- backup ------------------------------------------------------------------------------------


class _HashingReader(io.RawIOBase):
    """Reads exactly ``size`` bytes of a file, hashing them on the way into the archive."""

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self.handle, self.left, self.sha = handle, size, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        data = self.handle.read(n)
        self.sha.update(data)
        self.left -= len(data)
        return data


def _tarinfo(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        reader = _HashingReader(handle, stat.st_size)
        try:
            tar.addfile(_tarinfo(name, stat.st_size, stat.st_mtime), reader)
        except OSError as exc:  # the file shrank while it was read
            raise BackupError(f"{name}: changed while it was read ({exc}); try again.") from exc
    return {"size": stat.st_size, "sha256": reader.sha.hexdigest()}


def _media_files(root: Path) -> Iterator[tuple[str, Path]]:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_symlink() or not path.is_file():
                continue
            yield path.relative_to(root).as_posix(), path


def _pg_env() -> dict[str, str]:
    """libpq environment for the pg_* tools: credentials never appear on a command line."""
    params = connection.get_connection_params()
    env = {**os.environ}
    for key, var in (
        ("host", "PGHOST"),
        ("port", "PGPORT"),
        ("user", "PGUSER"),
        ("password", "PGPASSWORD"),
        ("dbname", "PGDATABASE"),
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
    ):
        value = params.get(key)
        if value not in (None, ""):
            env[var] = str(value)
    env.setdefault("PGDATABASE", str(connection.settings_dict["NAME"]))
    env["PGCONNECT_TIMEOUT"] = env.get("PGCONNECT_TIMEOUT", "10")
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client tools of the server's major "
            f"version (Debian/Ubuntu: sudo apt-get install postgresql-client)."
        )
    return path


def _run(argv: list[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - fixed tool, arguments built here
        argv, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tool = Path(argv[0]).name
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise BackupError(f"{tool} failed (exit {result.returncode}): {detail}")
    return result


def _dump_database(vendor: str, target: Path) -> None:
    if vendor == "sqlite":
        connection.ensure_connection()
        if connection.in_atomic_block:
            raise BackupError("database: cannot take a backup inside a transaction.")
        with sqlite3.connect(target) as dst:
            connection.connection.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        dst.close()
    else:
        _run(
            [
                _pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={target}",
            ],
            env=_pg_env(),
        )


def _applied_migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def backup_create(*, output: Path | None = None) -> BackupSummary:
    """Write an archive of the database and the uploaded files; return what it holds.

    ``output`` defaults to ``var/backups/trastienda-<UTC time>.tar.gz``. The archive is
    written under a temporary name and renamed when complete, readable by its owner only.
    """
    vendor = _vendor()
    created = datetime.now(UTC)
    if output is None:
        output = Path(settings.VAR_DIR) / "backups" / f"trastienda-{created:%Y%m%d-%H%M%S}.tar.gz"
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        raise BackupError(f"output: {output} already exists.")
    member = SQLITE_MEMBER if vendor == "sqlite" else POSTGRES_MEMBER
    partial = output.with_name(output.name + ".partial")
    files: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as tmp:
        dump = Path(tmp) / Path(member).name
        _dump_database(vendor, dump)
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with (
                os.fdopen(fd, "wb") as raw,
                tarfile.open(
                    fileobj=raw, mode="w:gz", compresslevel=6, format=tarfile.PAX_FORMAT
                ) as tar,
            ):
                files[member] = _add_file(tar, member, dump)
                dump.unlink()
                media_root = Path(settings.MEDIA_ROOT)
                for rel, path in _media_files(media_root):
                    try:
                        files[MEDIA_PREFIX + rel] = _add_file(tar, MEDIA_PREFIX + rel, path)
                    except FileNotFoundError:
                        continue  # deleted while the backup ran: not part of the snapshot
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created_at": created.isoformat(timespec="seconds"),
                    "app_version": app_version(),
                    "database": {"vendor": vendor, "member": member},
                    "migrations": _applied_migrations(),
                    "files": files,
                }
                data = json.dumps(manifest, indent=2, sort_keys=True).encode()
                tar.addfile(_tarinfo(MANIFEST, len(data), created.timestamp()), io.BytesIO(data))
            os.replace(partial, output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupSummary(
        path=output,
        vendor=vendor,
        files=len(files) + 1,
        media_files=sum(1 for n in files if n.startswith(MEDIA_PREFIX)),
        bytes=output.stat().st_size,
    )


# --- verification ------------------------------------------------------------------------------


def _safe_name(name: str) -> str:
    """The member's name if it is a plain relative path inside the archive, else raise."""
    path = PurePosixPath(name)
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(part in ("", ".", "..") for part in name.split("/"))
        or path.is_absolute()
    ):
        raise BackupError(f"archive: refusing member with unsafe name {name!r}.")
    if name != MANIFEST and not name.startswith(("database/", MEDIA_PREFIX)):
        raise BackupError(f"archive: unexpected member {name!r}.")
    return name


def _extract(archive: Path, root: Path) -> dict[str, tuple[Path, int, str]]:
    """Extract regular files only, hashing them; return {name: (path, size, sha256)}."""
    found: dict[str, tuple[Path, int, str]] = {}
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for info in tar:
                if info.isdir():
                    continue
                if not info.isfile():
                    raise BackupError(f"archive: member {info.name!r} is not a regular file.")
                name = _safe_name(info.name)
                if name in found:
                    raise BackupError(f"archive: member {name!r} appears twice.")
                target = root / "files" / f"{len(found):08d}"
                target.parent.mkdir(parents=True, exist_ok=True)
                sha, size = hashlib.sha256(), 0
                source = tar.extractfile(info)
                if source is None:  # pragma: no cover - regular files always have data
                    raise BackupError(f"archive: cannot read {name!r}.")
                with source, target.open("wb") as out:
                    while chunk := source.read(CHUNK):
                        sha.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                found[name] = (target, size, sha.hexdigest())
    except BackupError:
        raise
    except FileNotFoundError as exc:
        raise BackupError(f"archive: {archive} does not exist.") from exc
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        raise BackupError(f"archive: damaged or not a backup archive ({exc}).") from exc
    return found


def backup_verify(*, archive: Path, workdir: Path, vendor: str | None = None) -> VerifiedArchive:
    """Extract ``archive`` into ``workdir`` and check every member against the manifest.

    With ``vendor``, also refuse an archive of another database vendor. Raises BackupError
    naming the first problems; changes nothing outside ``workdir``.
    """
    found = _extract(Path(archive), Path(workdir))
    if MANIFEST not in found:
        raise BackupError("archive: no manifest.json; not a Trastienda backup.")
    try:
        manifest = json.loads(found.pop(MANIFEST)[0].read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"manifest.json: not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("manifest.json: not a Trastienda backup manifest.")
    if not isinstance(manifest.get("format_version"), int) or (
        manifest["format_version"] > FORMAT_VERSION
    ):
        raise BackupError(
            f"manifest.json: format version {manifest.get('format_version')!r} is newer than "
            f"this Trastienda understands ({FORMAT_VERSION}); upgrade Trastienda first."
        )
    listed = manifest.get("files")
    database = manifest.get("database")
    if not isinstance(listed, dict) or not isinstance(database, dict):
        raise BackupError("manifest.json: no list of files or database description.")
    problems: list[str] = []
    for name in sorted(set(listed) - set(found)):
        problems.append(f"{name}: listed in the manifest but missing from the archive")
    for name in sorted(set(found) - set(listed)):
        problems.append(f"{name}: in the archive but not in the manifest")
    for name in sorted(set(found) & set(listed)):
        entry = listed[name] if isinstance(listed[name], dict) else {}
        _path, size, sha = found[name]
        if entry.get("size") != size or entry.get("sha256") != sha:
            problems.append(f"{name}: checksum mismatch (damaged or altered)")
    if database.get("vendor") not in VENDORS or database.get("member") not in found:
        problems.append("manifest.json: the database dump is missing")
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise BackupError(f"archive refused: {shown}{more}.")
    if vendor is not None and database["vendor"] != vendor:
        raise BackupError(
            f"database: the archive holds a {database['vendor']} database but this "
            f"installation uses {vendor}; restore it with the same kind of database."
        )
    verified = VerifiedArchive(
        root=Path(workdir),
        manifest=manifest,
        members={name: path for name, (path, _s, _h) in found.items()},
    )
    _check_dump(verified)
    return verified


def _check_dump(verified: VerifiedArchive) -> None:
    database = verified.manifest["database"]
    dump = verified.members[database["member"]]
    if database["vendor"] == "sqlite":
        try:
            with sqlite3.connect(f"file:{dump}?mode=ro", uri=True) as db:
                result = db.execute("PRAGMA integrity_check").fetchone()
            db.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(
                f"{database['member']}: not a valid SQLite database ({exc})."
            ) from exc
        if not result or result[0] != "ok":
            raise BackupError(f"{database['member']}: integrity check failed ({result}).")
    else:
        _run([_pg_tool("pg_restore"), "--list", str(dump)])


# --- restore -----------------------------------------------------------------------------------


def installation_is_empty() -> bool:
    """Whether there is nothing to lose: no company and no user."""
    return not Company.objects.exists() and not get_user_model().objects.exists()


# Drops what Django's migrations created in the current schema (not extensions' objects), so
# that the dump recreates every table, sequence, view and function exactly as it was.
_PG_PREAMBLE = """
SET LOCAL lock_timeout = '60s';
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
  LOOP
    IF r.relkind = 'm' THEN EXECUTE 'DROP MATERIALIZED VIEW IF EXISTS ' || r.name || ' CASCADE';
    ELSE EXECUTE 'DROP VIEW IF EXISTS ' || r.name || ' CASCADE'; END IF;
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
  LOOP
    EXECUTE 'DROP TABLE IF EXISTS ' || r.name || ' CASCADE';
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind = 'S'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
  LOOP
    EXECUTE 'DROP SEQUENCE IF EXISTS ' || r.name || ' CASCADE';
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = current_schema()
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE 'DROP ROUTINE IF EXISTS ' || r.sig || ' CASCADE';
  END LOOP;
END $$;
"""


def _restore_database(verified: VerifiedArchive) -> None:
    database = verified.manifest["database"]
    dump = verified.members[database["member"]]
    if database["vendor"] == "sqlite":
        connection.ensure_connection()
        if connection.in_atomic_block:
            raise BackupError("database: cannot restore inside a transaction.")
        with sqlite3.connect(f"file:{dump}?mode=ro", uri=True) as src:
            src.backup(connection.connection)
        src.close()
        return
    script = verified.root / "restore.sql"
    preamble = verified.root / "preamble.sql"
    preamble.write_text(_PG_PREAMBLE)
    # A random \restrict key: psql refuses meta-commands (\! and friends) inside the dump.
    _run(
        [
            _pg_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            f"--restrict-key={secrets.token_hex(16)}",
            f"--file={script}",
            str(dump),
        ]
    )
    connection.close()
    _run(
        [
            _pg_tool("psql"),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--file={preamble}",
            f"--file={script}",
        ],
        env=_pg_env(),
    )


def backup_restore(*, archive: Path, migrate: bool = True) -> RestoreSummary:
    """Restore ``archive`` into this empty installation (database and uploaded files).

    Checks everything first; refuses a non-empty installation, another database vendor, a
    damaged or altered archive, and files that already exist. Then applies any newer
    migrations (``migrate=True``), since the archive may come from an older version.
    """
    vendor = _vendor()
    if not installation_is_empty():
        raise BackupError(
            "database: this installation already has companies or users; restore only into "
            "an empty installation (a new DATABASE_URL, migrated)."
        )
    media_root = Path(settings.MEDIA_ROOT)
    media_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=media_root.parent, prefix=".restore-") as tmp:
        verified = backup_verify(archive=Path(archive), workdir=Path(tmp), vendor=vendor)
        manifest = verified.manifest
        media = verified.media
        clashes = sorted(rel for rel in media if (media_root / rel).exists())
        if clashes:
            raise BackupError(
                f"media: {len(clashes)} file(s) already exist under {media_root} "
                f"(first: {clashes[0]}); restore into an empty MEDIA_ROOT."
            )
        written: list[Path] = []
        try:
            for rel, source in sorted(media.items()):
                target = media_root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                written.append(target)
            _restore_database(verified)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
    ContentType.objects.clear_cache()
    summary = RestoreSummary(
        vendor=vendor,
        created_at=str(manifest.get("created_at", "")),
        app_version=str(manifest.get("app_version", "")),
        media_files=len(media),
    )
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
        summary.migrated = True
    return summary

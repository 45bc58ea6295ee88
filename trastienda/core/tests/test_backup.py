"""Backup and restore: a round trip gives back the same rows and files; bad archives are refused."""

import hashlib
import io
import json
import tarfile
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from trastienda.core.backup import (
    MANIFEST,
    BackupError,
    backup_create,
    backup_restore,
    installation_is_empty,
)
from trastienda.core.models import Company, Job
from trastienda.documents.services import document_create

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def data(make_company, make_user, media):
    """Two companies, users, documents with a file, a job with a result file."""
    acme = make_company("ACME", legal_name="Acme Ibérica S.L.")
    otra = make_company("OTRA", country="IT", legal_name="Altra Società S.r.l.")
    user = make_user("marta", company=acme, role="accountant", first_name="Marta")
    make_user("paolo", company=otra, role="clerk")
    document_create(
        company=acme,
        title="Lease contract",
        kind="contract",
        reference="L-1",
        document_date=date(2026, 1, 10),
        file=SimpleUploadedFile("lease.pdf", PDF, content_type="application/pdf"),
    )
    document_create(company=otra, title="Contratto", kind="contract")
    job = Job.objects.create(company=acme, user=user, kind="core.export", description="Export")
    job.result_file.save("1-export.csv", io.BytesIO(b"a;b\n1;2\n"))
    return {"acme": acme, "user": user}


def table_rows():
    """Every row of every table, in a comparable form."""
    quote = connection.ops.quote_name
    rows = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            cursor.execute(f"SELECT * FROM {quote(table)}")
            rows[table] = sorted(
                repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
                for row in cursor.fetchall()
            )
    return rows


def media_files(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def wipe(media):
    """Turn this installation into an empty one: migrated tables, no rows, no files."""
    call_command("flush", interactive=False, verbosity=0)
    for path in sorted(media.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    assert installation_is_empty()


def rewrite(archive, target, change):
    """Copy ``archive`` to ``target`` member by member, letting ``change(name, data)`` edit."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for info in src:
            data = src.extractfile(info).read()
            result = change(info.name, data)
            if result is None:
                continue
            name, data = result
            new = tarfile.TarInfo(name)
            new.size = len(data)
            dst.addfile(new, io.BytesIO(data))
    return target


def test_round_trip_restores_the_same_rows_and_files(data, media, tmp_path):
    before_rows, before_files = table_rows(), media_files(media)
    assert "core_company" in before_rows and len(before_rows["core_company"]) == 2
    assert len(before_files) == 2  # the document's PDF and the job's result

    summary = backup_create(output=tmp_path / "backup.tar.gz")
    assert summary.vendor == connection.vendor
    assert summary.media_files == 2
    assert summary.path.stat().st_mode & 0o777 == 0o600
    with tarfile.open(summary.path, "r:gz") as tar:
        manifest = json.load(tar.extractfile(MANIFEST))
        names = sorted(tar.getnames())
        for name, entry in manifest["files"].items():
            digest = hashlib.sha256(tar.extractfile(name).read()).hexdigest()
            assert digest == entry["sha256"]
    assert manifest["format"] == "trastienda-backup"
    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["migrations"]["core"] == "0001_initial" or manifest["migrations"]["core"]
    assert names == sorted([MANIFEST, *manifest["files"]])
    assert sorted(n for n in names if n.startswith("media/")) == sorted(
        f"media/{rel}" for rel in before_files
    )

    wipe(media)
    assert Company.objects.count() == 0 and media_files(media) == {}

    restored = backup_restore(archive=summary.path, migrate=False)
    assert restored.media_files == 2
    assert table_rows() == before_rows
    assert media_files(media) == before_files
    assert Company.objects.get(code="ACME").legal_name == "Acme Ibérica S.L."
    assert get_user_model().objects.get(username="marta").check_password("Correct-Horse-Battery-9")


def test_damaged_altered_unsafe_or_foreign_archives_are_refused(data, media, tmp_path):
    archive = backup_create(output=tmp_path / "backup.tar.gz").path
    rows = table_rows()
    with pytest.raises(BackupError) as info:
        backup_restore(archive=archive)
    assert "already has companies or users" in str(info.value)
    assert table_rows() == rows

    flipped = bytearray(archive.read_bytes())
    flipped[len(flipped) // 2] ^= 0x01
    (tmp_path / "flipped.tar.gz").write_bytes(bytes(flipped))
    other_vendor = "postgresql" if connection.vendor == "sqlite" else "sqlite"

    def alter(name, data):
        return name, (data + b"tampered" if name.endswith("1-export.csv") else data)

    def drop_and_add(name, data):
        if name.endswith("1-export.csv"):
            return "media/extra.txt", b"not in the manifest"
        return name, data

    def escape(name, data):
        return ("media/../../escaped.txt" if name.endswith("1-export.csv") else name), data

    def relabel(name, data):
        if name != MANIFEST:
            return name, data
        manifest = json.loads(data)
        manifest["database"]["vendor"] = other_vendor
        return name, json.dumps(manifest).encode()

    def no_manifest(name, data):
        return None if name == MANIFEST else (name, data)

    cases = {
        tmp_path / "flipped.tar.gz": "archive",
        rewrite(archive, tmp_path / "altered.tar.gz", alter): (
            "archive refused: media/jobs/1-export.csv: checksum mismatch (damaged or altered)."
        ),
        rewrite(archive, tmp_path / "changed.tar.gz", drop_and_add): (
            "archive refused: media/jobs/1-export.csv: listed in the manifest but missing from "
            "the archive; media/extra.txt: in the archive but not in the manifest."
        ),
        rewrite(archive, tmp_path / "escape.tar.gz", escape): (
            "archive: refusing member with unsafe name 'media/../../escaped.txt'."
        ),
        rewrite(archive, tmp_path / "vendor.tar.gz", relabel): (
            f"database: the archive holds a {other_vendor} database but this installation uses "
            f"{connection.vendor}; restore it with the same kind of database."
        ),
        rewrite(archive, tmp_path / "bare.tar.gz", no_manifest): (
            "archive: no manifest.json; not a Trastienda backup."
        ),
    }
    wipe(media)
    empty_rows = table_rows()
    for bad, message in cases.items():
        with pytest.raises(BackupError) as info:
            backup_restore(archive=bad)
        if message == "archive":
            assert str(info.value).startswith("archive"), bad.name
        else:
            assert str(info.value) == message, bad.name
        assert table_rows() == empty_rows, bad.name
        assert media_files(media) == {}, bad.name
    assert not (tmp_path / "escaped.txt").exists()


@pytest.mark.django_db(transaction=False)
def test_not_an_archive(media, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not a backup")
    with pytest.raises(BackupError) as info:
        backup_restore(archive=junk)
    assert str(info.value).startswith("archive: damaged or not a backup archive")


def test_commands_backup_verify_and_restore(data, media, tmp_path, capsys):
    target = tmp_path / "cli.tar.gz"
    call_command("backup", output=target)
    assert f"Backup written: {target.resolve()}" in capsys.readouterr().out
    call_command("restore", str(target), verify_only=True)
    assert "Archive OK: 3 members verified" in capsys.readouterr().out
    with pytest.raises(CommandError) as info:
        call_command("restore", str(target))
    assert "already has companies or users" in str(info.value)
    with pytest.raises(CommandError):
        call_command("backup", output=target)  # never overwrites
    wipe(media)
    call_command("restore", str(target), no_migrate=True)
    assert "Restored the backup of" in capsys.readouterr().out
    assert Company.objects.count() == 2

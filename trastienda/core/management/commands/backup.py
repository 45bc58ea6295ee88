"""``trastienda backup [--output FILE]``: one archive of the database and uploaded files.

Safe while the application runs (a consistent snapshot). See :mod:`trastienda.core.backup`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trastienda.core import context
from trastienda.core.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Write a backup archive: database dump, uploaded files, manifest with SHA-256 sums."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            type=Path,
            default=None,
            help="Archive to write (default var/backups/trastienda-<time>.tar.gz).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with context.acting(source="cli"):
                summary = backup_create(output=options["output"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written: {summary.path} ({summary.vendor} database, "
                f"{summary.media_files} uploaded files, {summary.bytes:,} bytes)."
            )
        )

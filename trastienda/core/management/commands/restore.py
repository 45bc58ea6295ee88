"""``trastienda restore ARCHIVE``: restore a backup into an empty installation.

Every checksum is verified before anything changes; a damaged or altered archive, a
non-empty installation or a different database vendor is refused. ``--verify-only`` only
checks the archive.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trastienda.core import context
from trastienda.core.backup import BackupError, backup_restore, backup_verify


class Command(BaseCommand):
    help = "Restore a backup archive into an empty installation (verifies every checksum first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "archive", type=Path, help="The .tar.gz written by `trastienda backup`."
        )
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="Check the archive's checksums and change nothing.",
        )
        parser.add_argument(
            "--no-migrate",
            action="store_true",
            help="Do not apply newer migrations after restoring.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        archive: Path = options["archive"]
        try:
            with context.acting(source="cli"):
                if options["verify_only"]:
                    with tempfile.TemporaryDirectory(prefix="trastienda-verify-") as tmp:
                        verified = backup_verify(archive=archive, workdir=Path(tmp))
                    files = verified.manifest["files"]
                    self.stdout.write(
                        self.style.SUCCESS(
                            f"Archive OK: {len(files)} members verified "
                            f"({verified.manifest['database']['vendor']} database, made "
                            f"{verified.manifest.get('created_at')} by Trastienda "
                            f"{verified.manifest.get('app_version')})."
                        )
                    )
                    return
                summary = backup_restore(archive=archive, migrate=not options["no_migrate"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup of {summary.created_at} (Trastienda {summary.app_version}, "
                f"{summary.vendor}, {summary.media_files} uploaded files)"
                f"{'; migrations applied' if summary.migrated else ''}."
            )
        )

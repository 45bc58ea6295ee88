"""``trastienda audit verify``: recompute the audit trail's hash chain.

Exit code 0 when the chain is intact, 1 when it is not; the first broken entry is printed
with its sequence number, time and reason.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from trastienda.audit.services import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools. 'verify' recomputes the hash chain and names the first bad entry."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="Recompute the hash chain (exit 1 if broken).")
        verify.add_argument(
            "--batch-size", type=int, default=2000, help="Entries read per query (default 2000)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] != "verify":
            raise CommandError(_("Unknown sub-command."))
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        result = verify_chain(batch_size=batch_size)
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Audit trail intact: %(count)d entries verified.") % {"count": result.checked}
                )
            )
            return
        when = result.created_at.isoformat() if result.created_at else "-"
        self.stderr.write(
            self.style.ERROR(
                _(
                    "Audit trail BROKEN at entry %(seq)s (time %(time)s): %(reason)s "
                    "(%(detail)s). %(count)d entries checked."
                )
                % {
                    "seq": result.first_bad_seq if result.first_bad_seq is not None else "-",
                    "time": when,
                    "reason": result.reason,
                    "detail": result.detail,
                    "count": result.checked,
                }
            )
        )
        raise SystemExit(1)

"""``trastienda trading ...``: the brokerage back office from the command line (the nightly
batch).

- ``trading import trades FILE --company CODE``: front-office trades from CSV or XLSX (a
  header row with the field names of :data:`trastienda.trading.services.TRADE_FIELDS`); new
  trade ids are booked, changed ones get a new version; all or nothing, exit 1 with every
  problem by line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from trastienda.core import context
from trastienda.core.models import Company


class Command(BaseCommand):
    help = "Trading: import trades FILE."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import a file.")
        kinds = imp.add_subparsers(dest="kind", required=True)
        trades = kinds.add_parser("trades", help="Front-office trades (CSV or XLSX).")
        trades.add_argument("file")
        trades.add_argument("--company", required=True, help="Company code.")

    def handle(self, *args: Any, **options: Any) -> None:
        code = str(options["company"]).strip().upper()
        company = Company.objects.filter(code=code).first()
        if company is None:
            raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
        with context.acting(company=company, source="cli"):
            self.import_trades(company, Path(options["file"]))

    def import_trades(self, company: Company, path: Path) -> None:
        from trastienda.banking.jobs import error_messages
        from trastienda.trading.services import trades_import

        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        try:
            result = trades_import(company=company, content=content, filename=path.name)
        except ValidationError as exc:
            for text in error_messages(exc):
                self.stderr.write(self.style.ERROR(text))
            self.stderr.write(_("Nothing was imported."))
            raise SystemExit(1) from exc
        self.stdout.write(
            self.style.SUCCESS(
                _("%(booked)d trades booked, %(amended)d amended (%(late)d late bookings).")
                % {"booked": result.booked, "amended": result.amended, "late": result.late}
            )
        )

"""``trastienda trading ...``: the brokerage back office from the command line (the nightly
batch).

- ``trading import trades FILE --company CODE``: front-office trades from CSV or XLSX (a
  header row with the field names of :data:`trastienda.trading.services.TRADE_FIELDS`); new
  trade ids are booked, changed ones get a new version; all or nothing, exit 1 with every
  problem by line.
- ``trading import confirmations FILE --company CODE [--broker CODE]``: a broker's FIX 4.4
  execution reports (or its CSV/XLSX with ``--broker``), all or nothing, exit 1 with every
  problem by line.
- ``trading import prices FILE --company CODE``: end-of-day prices from CSV or XLSX (date,
  instrument, close), all or nothing.
- ``trading reconcile --company CODE --date YYYY-MM-DD``: reconcile the trades of the date
  against the back-office books and the confirmations; prints the matched count and the open
  breaks by kind.
- ``trading expiries --company CODE --date YYYY-MM-DD``: the expiry process of the date
  (options exercised, assigned or expired, futures cash-settled, bonds redeemed); prints what
  happened to each position.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from trastienda.core import context
from trastienda.core.models import Company


class Command(BaseCommand):
    help = (
        "Trading: import trades|confirmations|prices FILE; reconcile a trade date; run the "
        "expiry process of a date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import a file.")
        kinds = imp.add_subparsers(dest="kind", required=True)
        trades = kinds.add_parser("trades", help="Front-office trades (CSV or XLSX).")
        trades.add_argument("file")
        trades.add_argument("--company", required=True, help="Company code.")
        confirmations = kinds.add_parser(
            "confirmations", help="A broker's confirmations (FIX 4.4, CSV or XLSX)."
        )
        confirmations.add_argument("file")
        confirmations.add_argument("--company", required=True, help="Company code.")
        confirmations.add_argument("--broker", default="", help="Broker code (CSV/XLSX).")
        prices = kinds.add_parser("prices", help="End-of-day prices (CSV or XLSX).")
        prices.add_argument("file")
        prices.add_argument("--company", required=True, help="Company code.")
        rec = sub.add_parser("reconcile", help="Reconcile a trade date.")
        rec.add_argument("--company", required=True, help="Company code.")
        rec.add_argument("--date", required=True, help="Trade date, YYYY-MM-DD.")
        expiries = sub.add_parser("expiries", help="Run the expiry process of a date.")
        expiries.add_argument("--company", required=True, help="Company code.")
        expiries.add_argument("--date", required=True, help="YYYY-MM-DD.")

    def handle(self, *args: Any, **options: Any) -> None:
        code = str(options["company"]).strip().upper()
        company = Company.objects.filter(code=code).first()
        if company is None:
            raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
        with context.acting(company=company, source="cli"):
            if options["action"] == "reconcile":
                self.reconcile(company, str(options["date"]))
            elif options["action"] == "expiries":
                self.expiries(company, str(options["date"]))
            elif options["kind"] == "prices":
                self.import_prices(company, Path(options["file"]))
            elif options["kind"] == "confirmations":
                self.import_confirmations(company, Path(options["file"]), options["broker"])
            else:
                self.import_trades(company, Path(options["file"]))

    def import_trades(self, company: Company, path: Path) -> None:
        from trastienda.trading.services import trades_import

        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        try:
            result = trades_import(company=company, content=content, filename=path.name)
        except ValidationError as exc:
            self.refused(exc, _("Nothing was imported."))
        self.stdout.write(
            self.style.SUCCESS(
                _("%(booked)d trades booked, %(amended)d amended (%(late)d late bookings).")
                % {"booked": result.booked, "amended": result.amended, "late": result.late}
            )
        )

    def import_confirmations(self, company: Company, path: Path, broker: str) -> None:
        from trastienda.trading.reconciliation import confirmations_import

        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        try:
            result = confirmations_import(
                company=company, content=content, filename=path.name, broker=broker or None
            )
        except ValidationError as exc:
            self.refused(exc, _("Nothing was imported."))
        self.stdout.write(
            self.style.SUCCESS(
                _("%(imported)d confirmations imported, %(cancelled)d cancelled.")
                % {"imported": result.imported, "cancelled": result.cancelled}
            )
        )

    def refused(self, exc: ValidationError, nothing: str) -> None:
        """Every problem on stderr, then exit 1."""
        from trastienda.core.errors import error_lines

        for text in error_lines(exc):
            self.stderr.write(self.style.ERROR(text))
        self.stderr.write(nothing)
        raise SystemExit(1) from exc

    def import_prices(self, company: Company, path: Path) -> None:
        from trastienda.trading.positions import cli_import_prices

        try:
            summary = cli_import_prices(company, path)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            self.refused(exc, _("Nothing was imported."))
        self.stdout.write(self.style.SUCCESS(summary))

    def expiries(self, company: Company, date: str) -> None:
        from trastienda.trading.expiry import cli_expiries

        try:
            day = dt.date.fromisoformat(date.strip())
        except ValueError as exc:
            raise CommandError(
                _("%(value)r is not a date (YYYY-MM-DD).") % {"value": date}
            ) from exc
        try:
            summary = cli_expiries(company, day)
        except ValidationError as exc:
            self.refused(exc, _("Nothing was processed."))
        self.stdout.write(self.style.SUCCESS(summary))

    def reconcile(self, company: Company, date: str) -> None:
        from trastienda.trading.models import Break
        from trastienda.trading.reconciliation import trades_reconcile

        try:
            trade_date = dt.date.fromisoformat(date.strip())
        except ValueError as exc:
            raise CommandError(
                _("%(value)r is not a date (YYYY-MM-DD).") % {"value": date}
            ) from exc
        run = trades_reconcile(company=company, trade_date=trade_date)
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Run %(run)s of %(date)s: %(trades)d trades, %(confirmations)d confirmations, "
                    "%(matched)d matched, %(breaks)d breaks."
                )
                % {
                    "run": run.pk,
                    "date": trade_date,
                    "trades": run.trades,
                    "confirmations": run.confirmations,
                    "matched": run.matched,
                    "breaks": run.breaks,
                }
            )
        )
        kinds = dict(Break.Kind.choices)
        open_breaks = Break.objects.filter(
            company=company, trade_date=trade_date, state=Break.State.OPEN
        )
        counts: dict[str, int] = {}
        for kind in open_breaks.values_list("kind", flat=True):
            counts[kind] = counts.get(kind, 0) + 1
        for kind, count in sorted(counts.items()):
            self.stdout.write(f"  {kinds.get(kind, kind)}: {count}")

"""``trastienda ledger verify --company CODE``: recompute a company's chain of posted entries
and its monthly balances. Exit code 0 when both are intact, 1 when not; the first broken
entry is named with its number, chain position and reason."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trastienda.core.models import Company
from trastienda.ledger.services import ledger_balances_verify, ledger_verify


class Command(BaseCommand):
    help = "Ledger tools. 'verify' recomputes the hash chain and the balances of a company."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="Recompute the hash chain (exit 1 if broken).")
        verify.add_argument("--company", required=True, help="Company code.")
        close = sub.add_parser(
            "close-year",
            help="Post the regularisation and closing entries of a fiscal year, close it and "
            "post the next year's opening entry.",
        )
        close.add_argument("--company", required=True, help="Company code.")
        close.add_argument("--year", required=True, help="Fiscal year name, e.g. 2026.")
        close.add_argument(
            "--no-open-next", action="store_true", help="Do not post the next year's opening."
        )
        close.add_argument(
            "--reopen", action="store_true", help="Undo a closing by reversal instead."
        )
        revalue = sub.add_parser(
            "revalue",
            help="Post the unrealised exchange differences of the open foreign-currency "
            "balances at a date.",
        )
        revalue.add_argument("--company", required=True, help="Company code.")
        revalue.add_argument("--date", required=True, help="Revaluation date, YYYY-MM-DD.")
        revalue.add_argument("--reverse-on", help="Post the reversal on this date, YYYY-MM-DD.")
        revalue.add_argument(
            "--dry-run", action="store_true", help="Show the differences; post nothing."
        )

        export = sub.add_parser(
            "export",
            help="Write the posted entries as an hledger journal, a beancount ledger or CSV.",
        )
        export.add_argument("--company", required=True, help="Company code.")
        export.add_argument(
            "--format", required=True, choices=["hledger", "beancount", "csv"], dest="fmt"
        )
        export.add_argument("--from", dest="date_from", help="First date, YYYY-MM-DD.")
        export.add_argument("--to", dest="date_to", help="Last date, YYYY-MM-DD.")
        export.add_argument("--output", help="File to write (default: standard output).")

        report = sub.add_parser(
            "report",
            help="Write a trial balance, profit and loss or balance sheet as CSV, XLSX or PDF.",
        )
        report.add_argument("report", choices=["trial-balance", "pnl", "balance-sheet"])
        report.add_argument("--company", required=True, help="Company code.")
        report.add_argument("--from", dest="date_from", help="First date, YYYY-MM-DD.")
        report.add_argument(
            "--to", dest="date_to", help="Last date (balance sheet: as of), YYYY-MM-DD."
        )
        report.add_argument(
            "--layout",
            choices=["es_pgc_pymes", "it_civil_code", "ifrs"],
            help="Statement layout (default: the company's).",
        )
        report.add_argument(
            "--compare", action="store_true", help="Add the same range a year earlier."
        )
        report.add_argument("--dimension", choices=["cost_centre", "project"])
        report.add_argument(
            "--format", required=True, choices=["csv", "xlsx", "pdf"], dest="report_format"
        )
        report.add_argument("--output", help="File to write (default: standard output, CSV only).")
        report.add_argument("--language", choices=["es", "it", "en"])

        entries = sub.add_parser(
            "import",
            help="Import and post the entries of a CSV or XLSX file (one row per line, "
            "all or nothing; entries whose external_id was imported before are skipped).",
        )
        entries.add_argument("file", help="CSV or XLSX file.")
        entries.add_argument("--company", required=True, help="Company code.")
        entries.add_argument(
            "--allow-before-lock",
            action="store_true",
            help="Post on or before the lock date of all but chief accountants.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "import":
            self.import_entries(options)
            return
        if options["subcommand"] == "report":
            self.report(options)
            return
        if options["subcommand"] == "export":
            self.export(options)
            return
        if options["subcommand"] == "revalue":
            self.revalue(options)
            return
        if options["subcommand"] not in ("verify", "close-year"):
            raise CommandError(_("Unknown sub-command."))
        company = Company.objects.filter(code=str(options["company"]).upper()).first()
        if company is None:
            raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
        if options["subcommand"] == "close-year":
            self.close_year(company, options)
            return
        result = ledger_verify(company=company)
        differences = ledger_balances_verify(company=company)
        if result.ok and not differences:
            self.stdout.write(
                self.style.SUCCESS(
                    _(
                        "Ledger of %(code)s intact: %(count)d posted entries verified, "
                        "balances agree."
                    )
                    % {"code": company.code, "count": result.checked}
                )
            )
            return
        if not result.ok:
            self.stderr.write(
                self.style.ERROR(
                    _(
                        "Ledger chain of %(code)s BROKEN at entry %(number)s (id %(id)s, chain "
                        "position %(seq)s): %(reason)s. %(count)d entries verified before it."
                    )
                    % {
                        "code": company.code,
                        "number": result.number or "-",
                        "id": result.entry_id or "-",
                        "seq": result.chain_seq if result.chain_seq is not None else "-",
                        "reason": result.reason,
                        "count": result.checked,
                    }
                )
            )
        for key, stored, computed in differences[:20]:
            self.stderr.write(
                self.style.ERROR(
                    _("Balance differs for %(key)s: stored %(stored)s, recomputed %(computed)s.")
                    % {"key": key, "stored": stored, "computed": computed}
                )
            )
        raise SystemExit(1)

    def close_year(self, company: Company, options: dict[str, Any]) -> None:
        from django.core.exceptions import ValidationError

        from trastienda.core import context
        from trastienda.ledger import closing
        from trastienda.ledger.models import FiscalYear

        year = FiscalYear.objects.filter(company=company, name=options["year"]).first()
        if year is None:
            raise CommandError(_("Unknown fiscal year %(name)s.") % {"name": options["year"]})
        try:
            with context.acting(company=company, source="cli"):
                if options["reopen"]:
                    closing.fiscal_year_reopen(fiscal_year=year, allow_before_lock=True)
                    self.stdout.write(
                        self.style.SUCCESS(
                            _("Fiscal year %(name)s reopened.") % {"name": year.name}
                        )
                    )
                    return
                entries = closing.fiscal_year_close(fiscal_year=year, allow_before_lock=True)
                for kind, entry in entries.items():
                    if entry is not None:
                        self.stdout.write(f"{kind}: {entry.number}")
                if not options["no_open_next"]:
                    following, opening = closing.fiscal_year_open_next(
                        fiscal_year=year, allow_before_lock=True
                    )
                    if opening is not None:
                        self.stdout.write(f"opening {following.name}: {opening.number}")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(_("Fiscal year %(name)s closed.") % {"name": year.name})
        )

    def revalue(self, options: dict[str, Any]) -> None:
        import datetime as dt

        from django.core.exceptions import ValidationError

        from trastienda.core import context
        from trastienda.core.money import Money
        from trastienda.ledger import fx

        company = Company.objects.filter(code=str(options["company"]).upper()).first()
        if company is None:
            raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
        dates: dict[str, dt.date | None] = {}
        for name in ("date", "reverse_on"):
            value = options.get(name)
            try:
                dates[name] = dt.date.fromisoformat(value) if value else None
            except ValueError as exc:
                raise CommandError(
                    _("%(option)s: %(value)r is not YYYY-MM-DD.")
                    % {"option": "--" + name.replace("_", "-"), "value": value}
                ) from exc
        date = dates["date"]
        assert date is not None  # noqa: S101 - a required option
        base = company.base_currency
        try:
            with context.acting(company=company, source="cli"):
                lines = fx.revaluation_preview(company=company, date=date)
                for x in lines:
                    self.stdout.write(
                        "\t".join(
                            [
                                x.account.code,
                                x.partner,
                                str(Money(x.balance, x.currency)),
                                str(x.rate),
                                str(Money(x.revalued, base)),
                                str(Money(x.book_value, base)),
                                str(Money(x.difference, base)),
                            ]
                        )
                    )
                if options["dry_run"]:
                    total = Money(sum(x.difference for x in lines), base)
                    self.stdout.write(
                        ngettext(
                            "Dry run: %(count)d balance, difference %(total)s; nothing posted.",
                            "Dry run: %(count)d balances, difference %(total)s; nothing posted.",
                            len(lines),
                        )
                        % {"count": len(lines), "total": total}
                    )
                    return
                entry = fx.revaluation_post(
                    company=company,
                    date=date,
                    reverse_on=dates["reverse_on"],
                    allow_before_lock=True,
                )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if entry is None:
            self.stdout.write(_("Nothing to revalue at %(date)s.") % {"date": date.isoformat()})
            return
        self.stdout.write(
            self.style.SUCCESS(
                _("Revaluation posted as entry %(number)s.") % {"number": entry.number}
            )
        )

    def export(self, options: dict[str, Any]) -> None:
        """``export``: stream the books to ``--output`` (or stdout); audited as an export."""
        import datetime as dt

        from trastienda.core import context
        from trastienda.ledger import plaintext

        company = Company.objects.filter(code=str(options["company"]).upper()).first()
        if company is None:
            raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
        dates: dict[str, dt.date | None] = {}
        for name in ("date_from", "date_to"):
            try:
                dates[name] = dt.date.fromisoformat(options[name]) if options[name] else None
            except ValueError as exc:
                raise CommandError(
                    _("%(value)s is not a date (YYYY-MM-DD).") % {"value": options[name]}
                ) from exc
        if dates["date_from"] and dates["date_to"] and dates["date_from"] > dates["date_to"]:
            raise CommandError(_("The end date is before the start date."))
        with context.acting(company=company, source="cli"):
            result = plaintext.books_export(
                company=company,
                fmt=options["fmt"],
                date_from=dates["date_from"],
                date_to=dates["date_to"],
            )
            if options["output"]:
                with open(options["output"], "w", encoding="utf-8", newline="") as out:
                    out.writelines(result.chunks)
                self.stderr.write(
                    _("%(entries)d entries, %(lines)d lines written to %(file)s.")
                    % {"entries": result.entries, "lines": result.lines, "file": options["output"]}
                )
            else:
                for chunk in result.chunks:
                    self.stdout.write(chunk, ending="")

    def report(self, options: dict[str, Any]) -> None:
        """``report``: the trial balance, profit and loss or balance sheet of a company as CSV
        (to standard output without ``--output``), XLSX or PDF; audited as an export."""
        from django.utils import translation

        from trastienda.core import context
        from trastienda.core.generic import audit
        from trastienda.ledger import reports, statement_views

        company = Company.objects.filter(code=str(options["company"]).upper()).first()
        if company is None:
            raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
        fmt, output = options["report_format"], options["output"]
        if fmt != "csv" and not output:
            raise CommandError(_("--output is needed for XLSX and PDF."))
        pages: dict[str, type[reports.ReportView]] = {
            "trial-balance": reports.TrialBalanceView,
            "pnl": statement_views.ProfitAndLossView,
            "balance-sheet": statement_views.BalanceSheetView,
        }
        page = pages[options["report"]].offline(company)
        query = {
            "date_from": options["date_from"],
            "date_to": options["date_to"],
            "layout": options["layout"],
            "compare": "1" if options["compare"] else None,
            "dimension": options["dimension"],
        }
        with translation.override(options["language"] or company.language):
            params, errors = page.get_params({k: v for k, v in query.items() if v})
            if errors:
                raise CommandError(
                    " ".join(f"{field}: {' '.join(m)}" for field, m in errors.items())
                )
            with context.acting(company=company, source="cli"):
                content, filename, count = page.render_export(fmt, params)
                audit(
                    action="export",
                    company=company,
                    object_type=f"ledger.{page.slug}",
                    object_repr=filename,
                    extra={"format": fmt, "rows": count, "query": "cli"},
                )
        if output:
            with open(output, "wb") as out:
                out.write(content)
            self.stderr.write(
                ngettext(
                    "%(rows)d row written to %(file)s.", "%(rows)d rows written to %(file)s.", count
                )
                % {"rows": count, "file": output}
            )
        else:
            self.stdout.write(content.decode("utf-8-sig"), ending="")

    def import_entries(self, options: dict[str, Any]) -> None:
        """``import FILE --company CODE``: a progress line per step, then the result; exit 1
        with every problem by file line when the file is refused (nothing is posted)."""
        import time
        from pathlib import Path

        from django.core.exceptions import ValidationError

        from trastienda.core import context
        from trastienda.ledger import imports

        company = Company.objects.filter(code=str(options["company"]).upper()).first()
        if company is None:
            raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        shown: dict[str, float] = {}

        def progress(done: int, total: int, message: str) -> None:
            now = time.monotonic()
            if message in shown and now - shown[message] < 2 and done < total:
                return
            shown[message] = now
            self.stderr.write(f"{message}: {done:,}/{total:,}")

        try:
            with context.acting(company=company, source="cli"):
                result = imports.entries_import(
                    company=company,
                    content=content,
                    filename=path.name,
                    progress=progress,
                    allow_before_lock=options["allow_before_lock"],
                )
        except ValidationError as exc:
            found = imports.errors_by_line(exc)
            for where in sorted(found, key=imports.line_key):
                for message in found[where]:
                    self.stderr.write(self.style.ERROR(f"{where}: {message}"))
            self.stderr.write(_("Nothing was imported."))
            raise SystemExit(1) from exc
        self.stdout.write(self.style.SUCCESS(imports.result_message(result)))
        self.stdout.write(f"SHA-256 {result.sha256}")

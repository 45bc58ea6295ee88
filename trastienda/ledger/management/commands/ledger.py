"""``trastienda ledger verify --company CODE``: recompute a company's chain of posted entries
and its monthly balances. Exit code 0 when both are intact, 1 when not; the first broken
entry is named with its number, chain position and reason."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

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

    def handle(self, *args: Any, **options: Any) -> None:
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

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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] != "verify":
            raise CommandError(_("Unknown sub-command."))
        company = Company.objects.filter(code=str(options["company"]).upper()).first()
        if company is None:
            raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
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

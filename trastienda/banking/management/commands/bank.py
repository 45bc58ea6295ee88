"""``trastienda bank ...``: banking from the command line, for scheduled imports.

- ``bank account add --company CODE --iban IBAN [--currency EUR] [--name NAME] [--bic BIC]``
- ``bank account list --company CODE``
- ``bank import FILE --company CODE [--account IBAN]``: the format is read from the content;
  all or nothing; exit 1 with every problem by line.
- ``bank reconcile --company CODE [--account IBAN] [--auto]``: lists the open lines with their
  best proposal; ``--auto`` applies the confident ones (as the screen's button does).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from trastienda.core import context
from trastienda.core.models import Company
from trastienda.core.money import Money


class Command(BaseCommand):
    help = "Banking: account add|list, import FILE, reconcile [--auto]."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        account = sub.add_parser("account", help="Bank accounts.")
        account_sub = account.add_subparsers(dest="account_action", required=True)
        add = account_sub.add_parser("add", help="Add a bank account.")
        add.add_argument("--company", required=True, help="Company code.")
        add.add_argument("--iban", required=True)
        add.add_argument("--currency", default="")
        add.add_argument("--name", default="")
        add.add_argument("--bic", default="")
        add.add_argument(
            "--ledger-account",
            default="",
            help="Ledger account code (default: the chart's bank account, or a new one beside it).",
        )
        listing = account_sub.add_parser("list", help="List the bank accounts.")
        listing.add_argument("--company", required=True, help="Company code.")
        imp = sub.add_parser("import", help="Import a statement file (format from the content).")
        imp.add_argument("file")
        imp.add_argument("--company", required=True, help="Company code.")
        imp.add_argument(
            "--account",
            default="",
            help="IBAN of the bank account (default: the one the file names).",
        )
        rec = sub.add_parser("reconcile", help="Open lines and proposals; --auto applies them.")
        rec.add_argument("--company", required=True, help="Company code.")
        rec.add_argument("--account", default="", help="IBAN (default: every bank account).")
        rec.add_argument("--auto", action="store_true", help="Apply the confident proposals.")

    def handle(self, *args: Any, **options: Any) -> None:
        code = str(options["company"]).strip().upper()
        company = Company.objects.filter(code=code).first()
        if company is None:
            raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
        action = options["action"]
        if action == "account":
            action = f"account_{options['account_action']}"
        elif action == "import":
            action = "import_"
        with context.acting(company=company, source="cli"):
            getattr(self, action)(company, options)

    def _progress(self, done: int, total: int, message: str) -> None:
        shown: dict[str, float] = self.__dict__.setdefault("_shown", {})
        now = time.monotonic()
        if message in shown and now - shown[message] < 2 and done < total:
            return
        shown[message] = now
        self.stderr.write(f"{message}: {done:,}/{total:,}" if total else message)

    def _refuse(self, exc: ValidationError, what: str) -> None:
        from trastienda.core.errors import error_lines as error_messages

        for text in error_messages(exc):
            self.stderr.write(self.style.ERROR(text))
        self.stderr.write(what)
        raise SystemExit(1)

    def _account(self, company: Company, iban: str) -> Any:
        from trastienda.banking.models import BankAccount

        if not iban:
            return None
        compact = iban.replace(" ", "").upper()
        found = BankAccount.objects.for_company(company).filter(iban=compact).first()
        if found is None:
            raise CommandError(_("No bank account with the IBAN %(iban)s.") % {"iban": compact})
        return found

    def account_add(self, company: Company, options: dict[str, Any]) -> None:
        from trastienda.banking.services import bank_account_create

        data: dict[str, Any] = {
            "iban": options["iban"],
            "name": options["name"] or options["iban"].replace(" ", "").upper()[-8:],
            "bic": options["bic"],
        }
        if options["currency"]:
            data["currency"] = options["currency"]
        if options["ledger_account"]:
            data["account"] = options["ledger_account"]
        try:
            account = bank_account_create(company=company, **data)
        except ValidationError as exc:
            self._refuse(exc, _("The bank account was not added."))
            return
        self.stdout.write(
            self.style.SUCCESS(
                _("Bank account %(iban)s added (ledger account %(code)s, journal %(journal)s).")
                % {
                    "iban": account.iban,
                    "code": account.account.code,
                    "journal": account.journal.code,
                }
            )
        )

    def account_list(self, company: Company, options: dict[str, Any]) -> None:
        from trastienda.banking.models import BankAccount

        for account in BankAccount.objects.for_company(company).select_related("account"):
            state = "" if account.active else f" ({_('inactive')})"
            self.stdout.write(
                f"{account.iban}\t{account.currency}\t{account.account.code}\t{account.name}{state}"
            )

    def import_(self, company: Company, options: dict[str, Any]) -> None:
        from trastienda.banking.services import statement_import

        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        account = self._account(company, options["account"])
        try:
            result = statement_import(
                company=company,
                content=content,
                filename=path.name,
                bank_account=account,
                progress=self._progress,
            )
        except ValidationError as exc:
            self._refuse(exc, _("Nothing was imported."))
            return
        for statement in result.statements:
            self.stdout.write(
                f"{statement.bank_account.iban}\t{statement.start_date}\t{statement.end_date}\t"
                f"{statement.line_count}\t"
                f"+{Money(statement.credit_total, statement.bank_account.currency)}\t"
                f"-{Money(statement.debit_total, statement.bank_account.currency)}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                _("%(lines)d movements imported in %(count)d statements.")
                % {"lines": result.lines, "count": len(result.statements)}
            )
        )

    def reconcile(self, company: Company, options: dict[str, Any]) -> None:
        from trastienda.banking import reconciliation as rec

        account = self._account(company, options["account"])
        if options["auto"]:
            result = rec.auto_reconcile(company=company, bank_account=account)
            for line_pk, problem in result.failed:
                self.stderr.write(f"#{line_pk}: {problem}")
            self.stdout.write(
                self.style.SUCCESS(
                    _(
                        "%(lines)d open lines: %(applied)d reconciled with invoices or ledger "
                        "items, %(rules)d by rules, %(left)d left for review "
                        "(matching took %(seconds).1f s)."
                    )
                    % {
                        "lines": result.lines,
                        "applied": result.applied,
                        "rules": result.by_rule,
                        "left": result.unmatched,
                        "seconds": result.seconds_matching,
                    }
                )
            )
            return
        count = 0
        for line in rec.open_lines(company, account)[:500]:
            count += 1
            found = rec.suggestions(line, limit=1)
            best = ""
            if found:
                top = found[0]
                what = ", ".join(f"{t.kind} {t.label}" for t in top.targets) or (
                    top.rule.name if top.rule else ""
                )
                best = f"{top.score}\t{what}\t{'; '.join(top.reasons)}"
            self.stdout.write(
                f"{line.pk}\t{line.booking_date}\t{Money(line.open_amount, line.currency)}\t"
                f"{line.description[:60]}\t{best}"
            )
        self.stdout.write(_("%(count)d open lines shown.") % {"count": count})

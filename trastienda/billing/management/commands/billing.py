"""``trastienda billing <sub-command> ...``: billing tools for the command line.

Sub-commands (``trastienda billing --help`` lists them):

- ``import-partners FILE --company CODE``: import partners from a CSV or XLSX file, all or
  nothing (:mod:`trastienda.billing.partner_imports`); exit 1 with every problem by file line.

Adding one is one function and its registration: decorate a function ``(command, company,
options)`` with :func:`subcommand`, naming its arguments with :func:`arg`. Sub-commands act
in a company (``--company CODE``, resolved here, the actor context set for the audit trail)
unless registered with ``company=False``; then they get ``None``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from trastienda.core import context
from trastienda.core.models import Company

Run = Callable[["Command", Company | None, dict[str, Any]], None]


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    run: Run
    arguments: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = ()
    company: bool = True


SUBCOMMANDS: dict[str, Subcommand] = {}


def arg(*names: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """An argument of a sub-command, as ``ArgumentParser.add_argument`` takes it."""
    return names, options


def subcommand(
    name: str,
    *,
    help: str,
    arguments: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (),
    company: bool = True,
) -> Callable[[Run], Run]:
    """Register ``run(command, company, options)`` as ``trastienda billing NAME``."""

    def register(run: Run) -> Run:
        SUBCOMMANDS[name] = Subcommand(
            name=name, help=help, run=run, arguments=arguments, company=company
        )
        return run

    return register


class Command(BaseCommand):
    help = "Billing tools: import-partners, import-invoices, recurring, dunning."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        for spec in SUBCOMMANDS.values():
            command = sub.add_parser(spec.name, help=spec.help)
            if spec.company:
                command.add_argument("--company", required=True, help="Company code.")
            for names, options in spec.arguments:
                command.add_argument(*names, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        spec = SUBCOMMANDS.get(options["subcommand"])
        if spec is None:
            raise CommandError(_("Unknown sub-command."))
        company = None
        if spec.company:
            code = str(options["company"]).strip().upper()
            company = Company.objects.filter(code=code).first()
            if company is None:
                raise CommandError(_("Unknown company %(code)s.") % {"code": options["company"]})
        with context.acting(company=company, source="cli"):
            spec.run(self, company, options)

    def progress(self, done: int, total: int, message: str) -> None:
        """A progress line on standard error, at most every two seconds per step."""
        shown: dict[str, float] = self.__dict__.setdefault("_progress_shown", {})
        now = time.monotonic()
        if message in shown and now - shown[message] < 2 and done < total:
            return
        shown[message] = now
        self.stderr.write(f"{message}: {done:,}/{total:,}")

    def refuse(self, error: ValidationError) -> None:
        """Every problem of a refused file by line, then exit 1."""
        from trastienda.billing.partner_imports import error_list

        for where, messages in error_list(error):
            for message in messages:
                self.stderr.write(self.style.ERROR(f"{where}: {message}"))
        self.stderr.write(_("Nothing was imported."))
        raise SystemExit(1)


# --- sub-commands -----------------------------------------------------------------------------


@subcommand(
    "import-partners",
    help="Import partners from a CSV or XLSX file (new codes created, existing ones updated; "
    "all or nothing).",
    arguments=(arg("file", help="CSV or XLSX file with a header row."),),
)
def import_partners(command: Command, company: Company | None, options: dict[str, Any]) -> None:
    from trastienda.billing.partner_imports import partners_import, result_message

    assert company is not None  # noqa: S101 - a company sub-command
    path = Path(options["file"])
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise CommandError(str(exc)) from exc
    try:
        result = partners_import(
            company=company, content=content, filename=path.name, progress=command.progress
        )
    except ValidationError as exc:
        command.refuse(exc)
        return
    command.stdout.write(command.style.SUCCESS(result_message(result)))
    command.stdout.write(f"SHA-256 {result.sha256}")


@subcommand(
    "dunning",
    help="Propose a dunning run of the overdue invoices (and send it with --confirm).",
    arguments=(
        arg("--date", help="Overdue at this date, YYYY-MM-DD (default: today)."),
        arg("--confirm", action="store_true", help="Confirm the run: file and e-mail letters."),
    ),
)
def dunning_run(command: Command, company: Company | None, options: dict[str, Any]) -> None:
    from django.utils import timezone
    from django.utils.translation import ngettext

    from trastienda.billing import dunning
    from trastienda.core.money import Money

    assert company is not None  # noqa: S101 - a company sub-command
    try:
        run = dunning.dunning_run_propose(
            company=company, date=options.get("date") or timezone.localdate()
        )
    except ValidationError as exc:
        command.stdout.write(" ".join(exc.messages))
        return
    letters = list(run.letters.select_related("partner", "level").order_by("partner__code"))
    for letter in letters:
        command.stdout.write(
            f"{letter.partner.code}\t{letter.level.level} {letter.level.name}\t"
            f"{Money(letter.overdue_amount, letter.currency)}\t"
            f"{Money(-letter.credit_amount, letter.currency)}\t"
            f"{Money(letter.interest_amount, letter.currency)}\t"
            f"{Money(letter.fee_amount, letter.currency)}\t"
            f"{Money(letter.total_amount, letter.currency)}"
        )
    if not options.get("confirm"):
        command.stdout.write(
            ngettext(
                "Run %(id)s of %(date)s proposed: %(count)d letter to review.",
                "Run %(id)s of %(date)s proposed: %(count)d letters to review.",
                len(letters),
            )
            % {"id": run.pk, "date": run.date.isoformat(), "count": len(letters)}
        )
        return
    try:
        run = dunning.dunning_run_confirm(run=run)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc
    dunning.dunning_run_deliver(run=run)  # what the commit did not deliver yet (each once)
    failed = [d for d in dunning.run_deliveries(run) if not d.ok]
    for delivery in failed:
        command.stderr.write(f"{delivery.partner.code}: {delivery.error}")
    command.stdout.write(
        command.style.SUCCESS(
            _("Run %(id)s of %(date)s sent: %(count)d letters (%(failed)d not e-mailed).")
            % {
                "id": run.pk,
                "date": run.date.isoformat(),
                "count": sum(1 for letter in letters if letter.included),
                "failed": len(failed),
            }
        )
    )


@subcommand(
    "import-invoices",
    help="Import and issue sales invoices from a CSV or XLSX file (one row per line; all or "
    "nothing).",
    arguments=(arg("file", help="CSV or XLSX file with a header row."),),
)
def import_invoices(command: Command, company: Company | None, options: dict[str, Any]) -> None:
    from django.utils.translation import ngettext

    from trastienda.billing.invoice_imports import invoices_import

    assert company is not None  # noqa: S101 - a company sub-command
    path = Path(options["file"])
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise CommandError(str(exc)) from exc
    try:
        result = invoices_import(
            company=company, content=content, filename=path.name, progress=command.progress
        )
    except ValidationError as exc:
        command.refuse(exc)
        return
    command.stdout.write(
        command.style.SUCCESS(
            ngettext(
                "%(count)d invoice issued (%(first)s to %(last)s).",
                "%(count)d invoices issued (%(first)s to %(last)s).",
                result.issued,
            )
            % {"count": result.issued, "first": result.first_number, "last": result.last_number}
        )
    )


@subcommand(
    "recurring",
    help="Make the recurring invoices due today (what the daily job does).",
)
def recurring(command: Command, company: Company | None, options: dict[str, Any]) -> None:
    from django.utils.translation import ngettext

    from trastienda.billing.services import recurring_run

    assert company is not None  # noqa: S101 - a company sub-command
    try:
        made = recurring_run(company=company)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc
    command.stdout.write(
        ngettext("%(count)d invoice made.", "%(count)d invoices made.", len(made))
        % {"count": len(made)}
    )

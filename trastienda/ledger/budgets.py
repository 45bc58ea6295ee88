"""Budgets: amounts per account (and cost centre) per month of a fiscal year, and the
budget-versus-actual report.

Depends on the ledger's models and its read side (:mod:`trastienda.ledger.queries`: the
monthly balances); nothing depends on it. Services write (``budget_*``), ``budget_vs_actual``
reads. See the "Budgets" paragraph of ``trastienda/ledger/DESIGN.md``.

Months. A budget line's ``year``/``month`` is a *calendar* month of the budget's fiscal year,
i.e. one of the year's periods (a fiscal year has one period per calendar month; the first and
last may be partial). Files, the API and the pages write it ``YYYY-MM``: a fiscal year from
April 2026 to March 2027 has the months 2026-04 … 2027-03.

Amounts. Integers in minor units of the company currency, on the account's natural side:
income, liability and equity accounts credit minus debit; expense and asset accounts debit
minus credit. A sales budget and a cost budget are both positive numbers. Decimal only at the
edges (:class:`~trastienda.core.money.Money`); floats are refused, more decimals than the
currency has are refused (never rounded).

Actuals. Posted movements of the same months on the same side: whole months from the monthly
balances (``AccountBalance``; ``DimensionBalance`` for a cost centre), the days of a partial
first or last period from the posted lines; year-end regularisation, closing and opening
entries are left out (they only move balances between accounts, and would turn the last
month's income and expense to zero). Variance = actual - budget; variance % = variance / |budget|.

Writes. Every service validates everything first and names the field (``lines.3.amount``) or
the file line (``line 7``); then it writes in one transaction; on any error nothing is written.
Budget headers are audited by the audit recorder like any record; line changes are written in
bulk and audited as one ``update`` event of the budget with ``{"<account> · <cost centre> ·
YYYY-MM": [before, after]}``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from trastienda.audit.models import AuditAction
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent, round_decimal
from trastienda.ledger import closing, queries
from trastienda.ledger.models import (
    Account,
    AccountBalance,
    AccountType,
    Budget,
    BudgetLine,
    CostCentre,
    DimensionBalance,
    FiscalYear,
    JournalEntry,
    JournalEntryLine,
    Period,
)

BUDGET_FIELDS = ("code", "name", "fiscal_year", "notes", "active")
LINE_FIELDS = ("account", "cost_centre", "month", "amount")
MAX_MINOR = 10**15  # per line: far beyond any budget, far below the 64-bit column
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})(?:-\d{1,2})?$")
# Natural side of each account type: +1 debit minus credit, -1 credit minus debit.
SIGNS = {
    AccountType.INCOME.value: -1,
    AccountType.EXPENSE.value: 1,
    AccountType.ASSET.value: 1,
    AccountType.LIABILITY.value: -1,
    AccountType.EQUITY.value: -1,
}
# Whether an actual above budget is good news (+1), bad news (-1), or neither (0).
FAVOURABLE = {AccountType.INCOME.value: 1, AccountType.EXPENSE.value: -1}
SECTION_ORDER = (
    AccountType.INCOME.value,
    AccountType.EXPENSE.value,
    AccountType.ASSET.value,
    AccountType.LIABILITY.value,
    AccountType.EQUITY.value,
)
PNL_TYPES = (AccountType.INCOME.value, AccountType.EXPENSE.value)
SIGN_CONVENTION = gettext_lazy(
    "Amounts are on each account's natural side: income, liability and equity accounts credit "
    "minus debit; expense and asset accounts debit minus credit. Variance = actual - budget; "
    "variance % = variance / budget. For income a positive variance is favourable, for expense "
    "a negative one. Year-end regularisation, closing and opening entries are left out."
)
NO_COST_CENTRE = pgettext_lazy("budget line", "No cost centre")
IMPORT_COLUMNS = ("account", "cost_centre", "month", "amount")
IMPORT_REQUIRED = ("account", "month", "amount")
IMPORT_ALIASES = {
    "cuenta": "account",
    "conto": "account",
    "account_code": "account",
    "cost_center": "cost_centre",
    "centro_coste": "cost_centre",
    "centro_de_coste": "cost_centre",
    "centro_costo": "cost_centre",
    "centro_di_costo": "cost_centre",
    "mes": "month",
    "mese": "month",
    "period": "month",
    "periodo": "month",
    "importe": "amount",
    "importo": "amount",
    "budget": "amount",
    "presupuesto": "amount",
}


# --- months -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetMonth:
    """A calendar month of a fiscal year, clipped to the year (``first``..``last``)."""

    year: int
    month: int
    first: dt.date
    last: dt.date

    @property
    def key(self) -> tuple[int, int]:
        return (self.year, self.month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def whole(self) -> bool:
        """Whether the month is whole (its movements are in the monthly balances)."""
        return self.first.day == 1 and self.last == queries.month_end(self.first)


def budget_months(fiscal_year: FiscalYear) -> list[BudgetMonth]:
    """The calendar months of ``fiscal_year``, from its periods (or from its dates)."""
    spans = list(
        Period.objects.filter(fiscal_year=fiscal_year)
        .order_by("start_date")
        .values_list("start_date", "end_date")
    )
    if not spans:
        day, spans = fiscal_year.start_date, []
        while day <= fiscal_year.end_date:
            last = min(queries.month_end(day), fiscal_year.end_date)
            spans.append((day, last))
            day = last + dt.timedelta(1)
    months: dict[tuple[int, int], BudgetMonth] = {}
    for first, last in spans:
        key = (first.year, first.month)
        if key in months:  # pragma: no cover - periods are calendar months
            first = months[key].first
        months[key] = BudgetMonth(first.year, first.month, first, last)
    return list(months.values())


def parse_month(value: Any) -> tuple[int, int] | None:
    """``"2026-03"`` (or a date, or ``"2026-03-01"``) → ``(2026, 3)``; None if it is not one."""
    if isinstance(value, dt.date):
        return (value.year, value.month)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        year, month = value
    else:
        match = MONTH_RE.match(str(value or "").strip())
        if match is None:
            return None
        year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 1900 <= year <= 9998):
        return None
    return (year, month)


def month_label(key: tuple[int, int]) -> str:
    return f"{key[0]:04d}-{key[1]:02d}"


# --- reading and checking lines -------------------------------------------------------------


@dataclass(frozen=True)
class ParsedLine:
    account_id: int
    account_code: str
    cost_centre_id: int | None
    cost_centre_code: str
    year: int
    month: int
    amount: int

    @property
    def key(self) -> tuple[int, int | None, int, int]:
        return (self.account_id, self.cost_centre_id, self.year, self.month)

    @property
    def label(self) -> str:
        return cell_label(self.account_code, self.cost_centre_code, (self.year, self.month))


def cell_label(account: str, cost_centre: str, month: tuple[int, int]) -> str:
    """``"6000 · STORE · 2026-03"``: a budget cell in the audit trail and in messages."""
    return " · ".join(x for x in (account, cost_centre, month_label(month)) if x)


class _Lookups:
    """The company's accounts and cost centres by code and by id, read once per batch."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.currency = company.base_currency
        self.accounts: dict[Any, Account] = {}
        for account in Account.objects.for_company(company).only(
            "pk", "code", "postable", "active", "type", "name_es", "name_it", "name_en"
        ):
            self.accounts[account.code] = account
            self.accounts[account.pk] = account
        self.cost_centres: dict[Any, CostCentre] = {}
        for centre in CostCentre.objects.for_company(company):
            self.cost_centres[centre.code] = centre
            self.cost_centres[centre.pk] = centre

    def account(self, value: Any) -> tuple[Account | None, str | None]:
        if isinstance(value, Account):
            value = value.pk if value.company_id == self.company.pk else None
        text = value.strip() if isinstance(value, str) else value
        if text in (None, ""):
            return None, _("Enter an account.")
        account = self.accounts.get(text)
        if account is None:
            return None, _("Unknown account %(code)s.") % {"code": text}
        if not account.postable:
            return None, _("Account %(code)s is a group; choose a postable account.") % {
                "code": account.code
            }
        if not account.active:
            return None, _("Account %(code)s is archived.") % {"code": account.code}
        return account, None

    def cost_centre(self, value: Any) -> tuple[CostCentre | None, str | None]:
        if isinstance(value, CostCentre):
            value = value.pk if value.company_id == self.company.pk else "?"
        text = value.strip() if isinstance(value, str) else value
        if text in (None, ""):
            return None, None
        centre = self.cost_centres.get(text)
        if centre is None:
            return None, _("Unknown cost centre %(code)s.") % {"code": text}
        if not centre.active:
            return None, _("Cost centre %(code)s is inactive.") % {"code": centre.code}
        return centre, None


def amount_minor(value: Any, currency: str) -> tuple[int | None, str | None]:
    """``value`` (Decimal, int or decimal text in major units) as minor units of ``currency``,
    or the reason it is not one. Floats are refused: send ``"1234.56"``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, _("Enter an amount.")
    if isinstance(value, float):
        return None, _(
            'Send the amount as a decimal string such as "1234.56", not as a floating-point number.'
        )
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        return None, _("Enter an amount such as 1234.56.")
    places = currency_exponent(currency)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        return None, _("%(value)s is not an amount: enter a number such as 1234.56.") % {
            "value": value
        }
    if not number.is_finite():
        return None, _("%(value)s is not an amount: enter a number such as 1234.56.") % {
            "value": value
        }
    try:
        minor = Money.from_decimal(number, currency).minor
    except ValueError:
        if number.adjusted() >= 20:
            return None, _("%(value)s is out of range.") % {"value": value}
        return None, _("%(value)s has more than %(places)d decimal places (%(currency)s).") % {
            "value": value,
            "places": places,
            "currency": currency,
        }
    if abs(minor) >= MAX_MINOR:
        return None, _("%(value)s is out of range.") % {"value": value}
    return minor, None


def _parse_line(
    raw: Mapping[str, Any], lookups: _Lookups, months: Mapping[tuple[int, int], BudgetMonth]
) -> tuple[ParsedLine | None, list[tuple[str, str]]]:
    """A line mapping (``account``, ``cost_centre``, ``month``, ``amount``) checked against the
    company and the budget's months: the parsed line, or the problems as (field, message)."""
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, Mapping):
        return None, [("account", _("Each line must be an object with account, month, amount."))]
    for name in sorted(set(raw) - set(LINE_FIELDS)):
        problems.append((name, _("Unknown field.")))
    account, error = lookups.account(raw.get("account"))
    if error:
        problems.append(("account", error))
    centre, error = lookups.cost_centre(raw.get("cost_centre"))
    if error:
        problems.append(("cost_centre", error))
    month = parse_month(raw.get("month"))
    if month is None:
        problems.append(
            ("month", _("%(value)r is not a month (YYYY-MM).") % {"value": raw.get("month") or ""})
        )
    elif month not in months:
        labels = list(months.values())
        problems.append(
            (
                "month",
                _("%(month)s is not a month of the budget's fiscal year (%(first)s to %(last)s).")
                % {
                    "month": month_label(month),
                    "first": labels[0].label if labels else "",
                    "last": labels[-1].label if labels else "",
                },
            )
        )
    minor, error = amount_minor(raw.get("amount"), lookups.currency)
    if error:
        problems.append(("amount", error))
    if problems or account is None or month is None or minor is None:
        return None, problems
    return (
        ParsedLine(
            account.pk,
            account.code,
            centre.pk if centre else None,
            centre.code if centre else "",
            month[0],
            month[1],
            minor,
        ),
        [],
    )


def _parse_lines(
    company: Company, fiscal_year: FiscalYear, lines: Iterable[Any], prefix: str = "lines"
) -> tuple[dict[tuple[int, int | None, int, int], ParsedLine], dict[str, list[str]]]:
    """Every line checked; errors keyed ``lines.N.field`` (N counts from 1)."""
    lookups = _Lookups(company)
    months = {m.key: m for m in budget_months(fiscal_year)}
    parsed: dict[tuple[int, int | None, int, int], ParsedLine] = {}
    first_of: dict[tuple[int, int | None, int, int], int] = {}
    errors: dict[str, list[str]] = {}
    if isinstance(lines, str | bytes | Mapping):
        return {}, {prefix: [_("Send a list of lines.")]}
    for number, raw in enumerate(lines, start=1):
        line, problems = _parse_line(raw, lookups, months)
        for name, message in problems:
            errors.setdefault(f"{prefix}.{number}.{name}", []).append(message)
        if line is None:
            continue
        if line.key in first_of:
            errors.setdefault(f"{prefix}.{number}.month", []).append(
                _("Line %(n)d has the same account, cost centre and month.")
                % {"n": first_of[line.key]}
            )
            continue
        first_of[line.key] = number
        parsed[line.key] = line
    return parsed, errors


# --- writing lines ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LinesResult:
    created: int
    updated: int
    deleted: int
    lines: int  # the budget's lines afterwards


def _money_text(minor: int | None, currency: str) -> str | None:
    return None if minor is None else str(Money(minor, currency).to_decimal())


def _lines_write(
    budget: Budget,
    wanted: Mapping[tuple[int, int | None, int, int], ParsedLine],
    *,
    replace: bool,
    extra: Mapping[str, Any] | None = None,
) -> LinesResult:
    """Make the budget's lines ``wanted`` (and, with ``replace``, only those), in bulk, with
    one audit event. Runs inside the caller's transaction, the budget row locked."""
    from trastienda.audit.recorder import recording_disabled
    from trastienda.audit.services import audit_log

    currency = budget.company.base_currency
    existing = {
        (x.account_id, x.cost_centre_id, x.year, x.month): x
        for x in BudgetLine.objects.filter(budget=budget).select_related("account", "cost_centre")
    }
    create: list[BudgetLine] = []
    update: list[BudgetLine] = []
    changes: dict[str, list[Any]] = {}
    for key, line in wanted.items():
        old = existing.get(key)
        if old is None:
            create.append(
                BudgetLine(
                    company_id=budget.company_id,
                    budget=budget,
                    account_id=line.account_id,
                    cost_centre_id=line.cost_centre_id,
                    year=line.year,
                    month=line.month,
                    amount=line.amount,
                )
            )
            changes[line.label] = [None, _money_text(line.amount, currency)]
        elif old.amount != line.amount:
            changes[line.label] = [
                _money_text(old.amount, currency),
                _money_text(line.amount, currency),
            ]
            old.amount = line.amount
            update.append(old)
    gone = [x for key, x in existing.items() if key not in wanted] if replace else []
    for old in gone:
        label = cell_label(
            old.account.code, old.cost_centre.code if old.cost_centre else "", (old.year, old.month)
        )
        changes[label] = [_money_text(old.amount, currency), None]
    if changes:
        with recording_disabled():  # one audit event below instead of one per line
            BudgetLine.objects.bulk_create(create, batch_size=500)
            BudgetLine.objects.bulk_update(update, ["amount"], batch_size=500)
            pks = [x.pk for x in gone]
            for start in range(0, len(pks), 500):
                BudgetLine.objects.filter(pk__in=pks[start : start + 500]).delete()
        Budget.objects.filter(pk=budget.pk).update(updated_at=timezone.now())
        audit_log(
            action=AuditAction.UPDATE,
            obj=budget,
            changes=dict(sorted(changes.items())),
            extra={
                "event": "budget_lines",
                "created": len(create),
                "updated": len(update),
                "deleted": len(gone),
                **(extra or {}),
            },
        )
    total = len(existing) + len(create) - len(gone)
    return LinesResult(len(create), len(update), len(gone), total)


def _budget_locked(budget: Budget) -> Budget:
    locked = Budget.objects.select_for_update(of=("self",)).select_related("company", "fiscal_year")
    return locked.get(pk=budget.pk)


def budget_lines_set(
    *, budget: Budget, lines: Iterable[Mapping[str, Any]], replace: bool = True
) -> LinesResult:
    """Set a budget's lines, all or nothing (the grid page, the API).

    ``lines``: mappings with ``account`` (code, id or Account), ``cost_centre`` (code, id,
    CostCentre or empty), ``month`` (``YYYY-MM``) and ``amount`` (decimal in major units; 0 is
    a line budgeting nothing). With ``replace`` (default) the budget's other lines are
    deleted; without, they are kept. Errors are keyed ``lines.N.field`` (N from 1).
    """
    parsed, errors = _parse_lines(budget.company, budget.fiscal_year, lines)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return _lines_write(_budget_locked(budget), parsed, replace=replace)


# --- budget headers ---------------------------------------------------------------------------


def _fiscal_year(company: Company, value: Any) -> FiscalYear | None:
    years = FiscalYear.objects.for_company(company)
    if isinstance(value, FiscalYear):
        return value if value.company_id == company.pk else None
    if value in (None, ""):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        found = years.filter(pk=int(value)).first()
        if found is not None:
            return found
    return years.filter(name=str(value).strip()).first()


def _header(
    company: Company, data: Mapping[str, Any], instance: Budget | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Cleaned header fields and their errors."""
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(BUDGET_FIELDS)):
        errors[name] = [_("Unknown field.")]
    clean: dict[str, Any] = {}
    if "code" in data or instance is None:
        code = str(data.get("code") or "").strip()
        if not code:
            errors["code"] = [_("Enter a code.")]
        elif len(code) > 20:
            errors["code"] = [_("Use at most 20 characters.")]
        else:
            others = Budget.objects.for_company(company).filter(code=code)
            if instance is not None:
                others = others.exclude(pk=instance.pk)
            if others.exists():
                errors["code"] = [_("A budget with this code already exists.")]
        clean["code"] = code
    if "name" in data or instance is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = [_("Enter a name.")]
        elif len(name) > 200:
            errors["name"] = [_("Use at most 200 characters.")]
        clean["name"] = name
    if "fiscal_year" in data or instance is None:
        year = _fiscal_year(company, data.get("fiscal_year"))
        if year is None:
            errors["fiscal_year"] = [_("Choose a fiscal year of the company.")]
        clean["fiscal_year"] = year
    if "notes" in data:
        clean["notes"] = str(data.get("notes") or "")
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = [_("Enter true or false.")]
        clean["active"] = bool(data["active"])
    return clean, errors


def budget_create(
    *,
    company: Company,
    lines: Iterable[Mapping[str, Any]] | None = None,
    **data: Any,
) -> Budget:
    """Create a budget (``code``, ``name``, ``fiscal_year``, ``notes``, ``active``), with its
    ``lines`` if given (see :func:`budget_lines_set`); all or nothing."""
    clean, errors = _header(company, data, None)
    parsed: dict[tuple[int, int | None, int, int], ParsedLine] = {}
    if lines is not None and clean.get("fiscal_year") is not None:
        parsed, line_errors = _parse_lines(company, clean["fiscal_year"], lines)
        errors.update(line_errors)
    if errors:
        raise ValidationError(errors)
    budget = Budget(company=company, **clean)
    try:
        with transaction.atomic():
            budget.save()
            if parsed:
                _lines_write(budget, parsed, replace=True)
    except IntegrityError as exc:  # a concurrent create with the same code
        raise ValidationError({"code": [_("A budget with this code already exists.")]}) from exc
    return budget


def budget_update(
    *, instance: Budget, lines: Iterable[Mapping[str, Any]] | None = None, **data: Any
) -> Budget:
    """Change a budget's header; with ``lines``, replace its lines too (all or nothing).

    A budget whose lines fall in months of its fiscal year cannot move to another year unless
    the new ``lines`` are given with it.
    """
    company = instance.company
    clean, errors = _header(company, data, instance)
    year = clean.get("fiscal_year") or instance.fiscal_year
    parsed: dict[tuple[int, int | None, int, int], ParsedLine] = {}
    if lines is not None and "fiscal_year" not in errors:
        parsed, line_errors = _parse_lines(company, year, lines)
        errors.update(line_errors)
    elif year is not None and year.pk != instance.fiscal_year_id and "fiscal_year" not in errors:
        months = {m.key for m in budget_months(year)}
        outside = [
            key
            for key in BudgetLine.objects.filter(budget=instance)
            .values_list("year", "month")
            .order_by()
            .distinct()
            if tuple(key) not in months
        ]
        if outside:
            errors["fiscal_year"] = [
                _(
                    "The budget has lines in %(months)s, outside fiscal year %(year)s: change "
                    "or delete them first."
                )
                % {"months": ", ".join(month_label(k) for k in sorted(outside)[:6]), "year": year}
            ]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            budget = _budget_locked(instance)
            for name, value in clean.items():
                setattr(budget, name, value)
            budget.save()
            if lines is not None:
                _lines_write(budget, parsed, replace=True)
    except IntegrityError as exc:
        raise ValidationError({"code": [_("A budget with this code already exists.")]}) from exc
    return budget


def budget_delete(*, instance: Budget) -> None:
    """Delete a budget and its lines (one audit event for the budget, none per line)."""
    from trastienda.audit.recorder import recording_disabled

    with transaction.atomic():
        budget = _budget_locked(instance)
        with recording_disabled():
            BudgetLine.objects.filter(budget=budget).delete()
        budget.delete()


# --- import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    updated: int
    deleted: int
    lines: int
    sha256: str


def _import_header(cells: list[str]) -> dict[str, int]:
    from trastienda.ledger.imports import _header_name

    positions: dict[str, int] = {}
    unknown = []
    for position, raw in enumerate(cells):
        name = _header_name(raw)
        name = IMPORT_ALIASES.get(name, name)
        if not name:
            continue
        if name not in IMPORT_COLUMNS:
            unknown.append(str(raw))
        elif name in positions:
            raise ValidationError(
                {"file": [_("The column %(name)s appears twice.") % {"name": name}]}
            )
        else:
            positions[name] = position
    if unknown:
        raise ValidationError(
            {
                "file": [
                    _("Unknown columns: %(names)s. The columns are: %(known)s.")
                    % {"names": ", ".join(unknown), "known": ", ".join(IMPORT_COLUMNS)}
                ]
            }
        )
    missing = [c for c in IMPORT_REQUIRED if c not in positions]
    if missing:
        raise ValidationError(
            {"file": [_("Missing columns: %(names)s.") % {"names": ", ".join(missing)}]}
        )
    return positions


def _file_rows(content: bytes, filename: str) -> Iterator[tuple[int, list[str]]]:
    from trastienda.ledger.imports import _csv_rows, _xlsx_rows

    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(content)[1]
    if filename.lower().endswith((".xls", ".ods")):
        raise ValidationError({"file": [_("Save the sheet as CSV or XLSX.")]})
    return _csv_rows(content)[1]


def budget_lines_import(
    *, budget: Budget, content: bytes, filename: str, replace: bool = False
) -> ImportResult:
    """Import budget lines from a CSV or XLSX file; all or nothing.

    Columns (header row; also in Spanish and Italian): ``account`` (code), ``cost_centre``
    (code, optional), ``month`` (``YYYY-MM``; an XLSX date cell is its month), ``amount``
    (decimal in the company language's notation, as the entry import reads it). A cell already
    in the budget takes the file's amount; with ``replace`` the budget's lines not in the file
    are deleted. Every problem is reported by file line (``line 7``: ``account: Unknown
    account 9999.``); nothing is written then.
    """
    from trastienda.ledger.imports import _Reader

    company = budget.company
    reader = _Reader(company)
    lookups = _Lookups(company)
    months = {m.key: m for m in budget_months(budget.fiscal_year)}
    positions: dict[str, int] | None = None
    parsed: dict[tuple[int, int | None, int, int], ParsedLine] = {}
    first_of: dict[tuple[int, int | None, int, int], int] = {}
    errors: dict[str, list[str]] = {}
    rows = 0
    for number, cells in _file_rows(content, filename):
        if not any(cells):
            continue
        if positions is None:
            positions = _import_header(cells)
            continue
        rows += 1
        raw = {name: (cells[p] if p < len(cells) else "") for name, p in positions.items()}
        problems: list[tuple[str, str]] = []
        amount_text = raw.get("amount", "")
        try:
            raw["amount"] = reader.amount(amount_text)
        except ValueError:
            raw["amount"] = ""
            problems.append(
                (
                    "amount",
                    _("%(value)r is not an amount (such as %(example)s).")
                    % {"value": amount_text, "example": f"1234{reader.decimal}56"},
                )
            )
        line, line_problems = _parse_line(raw, lookups, months)
        if problems:
            line_problems = [p for p in line_problems if p[0] != "amount"]
        problems += line_problems
        if line is not None and not problems:
            if line.key in first_of:
                problems.append(
                    (
                        "month",
                        _("Line %(n)d has the same account, cost centre and month.")
                        % {"n": first_of[line.key]},
                    )
                )
            else:
                first_of[line.key] = number
                parsed[line.key] = line
        if problems:
            errors[f"line {number}"] = [f"{name}: {message}" for name, message in problems]
    if positions is None:
        raise ValidationError({"file": [_("The file is empty.")]})
    if errors:
        raise ValidationError(errors)
    if not parsed:
        raise ValidationError({"file": [_("The file has no budget lines.")]})
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        result = _lines_write(
            _budget_locked(budget),
            parsed,
            replace=replace,
            extra={"file": filename[:200], "sha256": digest, "replace": replace},
        )
    return ImportResult(rows, result.created, result.updated, result.deleted, result.lines, digest)


def budget_lines_table(budget: Budget) -> tuple[list[str], list[list[Any]]]:
    """The budget's lines in the import's columns (header, rows), so a download imports back."""
    rows = [
        [
            line.account.code,
            line.cost_centre.code if line.cost_centre else "",
            month_label((line.year, line.month)),
            Money(line.amount, budget.company.base_currency).to_decimal(),
        ]
        for line in BudgetLine.objects.filter(budget=budget)
        .select_related("account", "cost_centre")
        .order_by("account__code", F("cost_centre__code").asc(nulls_first=True), "year", "month")
    ]
    return list(IMPORT_COLUMNS), rows


# --- copy from actuals ------------------------------------------------------------------------


def budget_copy_actuals(
    *,
    budget: Budget,
    source: FiscalYear,
    uplift: Decimal | str | int = 0,
    by_cost_centre: bool = False,
    replace: bool = True,
) -> LinesResult:
    """Fill a budget from the actuals of the income and expense accounts of ``source`` (a
    fiscal year), month by month in order (the first month of ``source`` feeds the budget's
    first month), each amount increased by ``uplift`` percent and rounded half up to the
    currency's minor unit. ``by_cost_centre``: one line per cost centre (and one for what was
    posted without). With ``replace`` (default) the budget's other lines are deleted."""
    company = budget.company
    errors: dict[str, list[str]] = {}
    year = _fiscal_year(company, source)
    if year is None:
        errors["source"] = [_("Choose a fiscal year of the company.")]
    percent: Decimal | None = None
    if isinstance(uplift, float | bool):
        errors["uplift"] = [_("Enter a percentage such as 3.5.")]
    else:
        try:
            percent = Decimal(str(uplift).strip() or "0")
        except InvalidOperation:
            percent = None
        if percent is None or not percent.is_finite() or not -100 <= percent <= 1000:
            errors["uplift"] = [_("Enter a percentage between -100 and 1000.")]
    if errors or year is None or percent is None:
        raise ValidationError(errors)
    source_months = budget_months(year)
    target_months = budget_months(budget.fiscal_year)
    pairs = list(zip(source_months, target_months, strict=False))
    scope = Q(account__type__in=PNL_TYPES, account__postable=True)
    sources = [s for s, _t in pairs]
    if by_cost_centre:
        moves = _moves_split(company, sources, accounts=scope)
    else:
        moves = _actual_moves(company, sources, accounts=scope, by_cost_centre=False)
    types = dict(
        Account.objects.for_company(company)
        .filter(pk__in={a for a, _c in moves})
        .values_list("pk", "type")
    )
    accounts = {a.pk: a for a in Account.objects.for_company(company).filter(pk__in=set(types))}
    centres = {c.pk: c for c in CostCentre.objects.for_company(company)}
    factor = (Decimal(100) + percent) / Decimal(100)
    wanted: dict[tuple[int, int | None, int, int], ParsedLine] = {}
    for (account_id, centre_id), by_month in moves.items():
        sign = SIGNS.get(types.get(account_id, ""), 1)
        account = accounts[account_id]
        centre = centres.get(centre_id) if centre_id else None
        for src, target in pairs:
            natural = sign * by_month.get(src.key, 0)
            if not natural:
                continue
            amount = int(round_decimal(Decimal(natural) * factor, 0, ROUND_HALF_UP))
            line = ParsedLine(
                account_id,
                account.code,
                centre.pk if centre else None,
                centre.code if centre else "",
                target.year,
                target.month,
                amount,
            )
            wanted[line.key] = line
    with transaction.atomic():
        return _lines_write(
            _budget_locked(budget),
            wanted,
            replace=replace,
            extra={
                "copied_from": year.name,
                "uplift": str(percent),
                "by_cost_centre": by_cost_centre,
            },
        )


# --- actuals ----------------------------------------------------------------------------------

Moves = dict[tuple[int, int | None], dict[tuple[int, int], int]]
"""(account id, cost centre id or None) → {(year, month): debit - credit}."""


def _year_end_entries(company: Company, first: dt.date, last: dt.date) -> list[int]:
    """The live regularisation, closing and opening entries dated in ``first``..``last``."""
    names = FiscalYear.objects.for_company(company).values_list("name", flat=True)
    refs = [
        template.format(name=name)
        for name in names
        for template in (closing.REGULARISATION_REF, closing.CLOSING_REF, closing.OPENING_REF)
    ]
    return [
        pk
        for pk, date in JournalEntry.objects.for_company(company)
        .filter(
            state=JournalEntry.State.POSTED,
            reversal_of__isnull=True,
            reversals__isnull=True,
            reference__in=refs,
        )
        .order_by()
        .values_list("pk", "date")
        if first <= date <= last
    ]


def _actual_moves(
    company: Company,
    months: list[BudgetMonth],
    *,
    accounts: Q | None,
    by_cost_centre: bool,
) -> Moves:
    """Posted debit - credit per account (per cost centre with ``by_cost_centre``: only the
    lines that carry one) and month: whole months from the monthly balances, partial ones from
    the lines, year-end entries left out. ``accounts`` filters on ``account__...`` lookups."""
    out: Moves = defaultdict(dict)
    if not months:
        return out

    def add(account: int, centre: int | None, key: tuple[int, int], amount: int) -> None:
        if amount:
            cell = out[(account, centre)]
            cell[key] = cell.get(key, 0) + amount

    whole = [m for m in months if m.whole]
    wanted = {m.key for m in whole}
    if whole:
        rows: QuerySet[Any]
        group: tuple[str, ...]
        if by_cost_centre:
            rows = DimensionBalance.objects.for_company(company).filter(
                dimension=DimensionBalance.Dimension.COST_CENTRE
            )
            group = ("account_id", "dimension_id", "year", "month")
        else:
            rows = AccountBalance.objects.for_company(company)
            group = ("account_id", "year", "month")
        rows = queries._months_overlapping(rows, whole[0].first, whole[-1].first)
        if accounts is not None:
            rows = rows.filter(accounts)
        for row in rows.values(*group).annotate(d=Sum("debit"), c=Sum("credit")).order_by():
            key = (row["year"], row["month"])
            if key in wanted:
                centre = row["dimension_id"] if by_cost_centre else None
                add(row["account_id"], centre, key, (row["d"] or 0) - (row["c"] or 0))
    line_group = ("account_id", "cost_centre_id") if by_cost_centre else ("account_id",)
    for month in (m for m in months if not m.whole):
        lines = queries.posted_lines(company).filter(date__gte=month.first, date__lte=month.last)
        if by_cost_centre:
            lines = lines.filter(cost_centre__isnull=False)
        if accounts is not None:
            lines = lines.filter(accounts)
        for row in lines.values(*line_group).annotate(d=Sum("debit"), c=Sum("credit")).order_by():
            centre = row["cost_centre_id"] if by_cost_centre else None
            add(row["account_id"], centre, month.key, (row["d"] or 0) - (row["c"] or 0))
    entries = _year_end_entries(company, months[0].first, months[-1].last)
    if entries:
        lines = JournalEntryLine.objects.filter(entry_id__in=entries)  # the company's entries
        if by_cost_centre:
            lines = lines.filter(cost_centre__isnull=False)
        if accounts is not None:
            lines = lines.filter(accounts)
        keys = {m.key for m in months}
        for row in (
            lines.values(*line_group, "date").annotate(d=Sum("debit"), c=Sum("credit")).order_by()
        ):
            key = (row["date"].year, row["date"].month)
            if key in keys:
                centre = row["cost_centre_id"] if by_cost_centre else None
                add(row["account_id"], centre, key, -((row["d"] or 0) - (row["c"] or 0)))
    return out


def _moves_split(company: Company, months: list[BudgetMonth], *, accounts: Q | None) -> Moves:
    """Per account and cost centre, plus (account, None) for what was posted without one
    (the account's total minus its cost centres)."""
    out: Moves = defaultdict(dict)
    for (account, _none), by_month in _actual_moves(
        company, months, accounts=accounts, by_cost_centre=False
    ).items():
        out[(account, None)] = dict(by_month)
    for (account, centre), by_month in _actual_moves(
        company, months, accounts=accounts, by_cost_centre=True
    ).items():
        out[(account, centre)] = dict(by_month)
        rest = out[(account, None)]
        for key, amount in by_month.items():
            rest[key] = rest.get(key, 0) - amount
    return out


# --- budget versus actual ---------------------------------------------------------------------


@dataclass
class Figures:
    """Budget and actual per month (natural side, minor units) and what follows from them."""

    budget: list[int]
    actual: list[int]
    favourable_when: int = 0  # +1: actual above budget is good; -1: below; 0: neither

    @property
    def budget_total(self) -> int:
        return sum(self.budget)

    @property
    def actual_total(self) -> int:
        return sum(self.actual)

    @property
    def variance_total(self) -> int:
        return self.actual_total - self.budget_total

    @property
    def variances(self) -> list[int]:
        return [a - b for a, b in zip(self.actual, self.budget, strict=True)]

    @property
    def percent(self) -> Decimal | None:
        return variance_percent(self.variance_total, self.budget_total)

    def month_percent(self, index: int) -> Decimal | None:
        return variance_percent(self.actual[index] - self.budget[index], self.budget[index])

    @property
    def favourable(self) -> bool | None:
        """Whether the total variance is good news (None: no variance or no direction)."""
        variance = self.variance_total
        if not variance or not self.favourable_when:
            return None
        return variance * self.favourable_when > 0

    def add(self, other: Figures, sign: int = 1) -> None:
        for i, value in enumerate(other.budget):
            self.budget[i] += sign * value
        for i, value in enumerate(other.actual):
            self.actual[i] += sign * value


def variance_percent(variance: int, budget: int) -> Decimal | None:
    """``variance / |budget|`` in percent, one decimal, half up; None without a budget."""
    if not budget:
        return None
    return (Decimal(variance) * 100 / abs(budget)).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass
class VarianceRow(Figures):
    account: Account | None = None
    cost_centre: CostCentre | None = None
    budgeted: bool = True

    @property
    def cost_centre_code(self) -> str:
        return self.cost_centre.code if self.cost_centre is not None else ""


@dataclass
class Section(Figures):
    type: str = ""
    label: str = ""
    rows: list[VarianceRow] = field(default_factory=list)


@dataclass
class BudgetReport:
    budget: Budget
    months: list[BudgetMonth]
    currency: str
    sections: list[Section]
    result: Figures | None
    chart_label: str
    chart: Figures
    cost_centre: str  # "" all, "none", or the cost centre's code
    by_cost_centre: bool

    @property
    def rows(self) -> list[VarianceRow]:
        return [row for section in self.sections for row in section.rows]


ALL_CENTRES = ""
WITHOUT_CENTRE = "none"


def budget_vs_actual(
    budget: Budget,
    *,
    cost_centre: CostCentre | str = ALL_CENTRES,
    month_from: tuple[int, int] | None = None,
    month_to: tuple[int, int] | None = None,
    account: str = "",
    by_cost_centre: bool = False,
    unbudgeted: bool = False,
) -> BudgetReport:
    """Budget versus actual per account (per account and cost centre with ``by_cost_centre``)
    and month, for the budget's months from ``month_from`` to ``month_to``.

    ``cost_centre``: ``""`` every line of the company (actual from the account balances),
    ``"none"`` the lines without a cost centre (actual: total minus every cost centre), or a
    :class:`CostCentre` (actual from its dimension balances). ``account``: code prefix.
    ``unbudgeted``: also income and expense accounts with actuals but no budget line.
    Rows are grouped in sections by account type (income, expense, asset, liability, equity),
    each with its totals; ``result`` is income - expense.
    """
    company = budget.company
    months = budget_months(budget.fiscal_year)
    keys = [m.key for m in months]
    start = keys.index(month_from) if month_from in keys else 0
    end = keys.index(month_to) if month_to in keys else len(keys) - 1
    months = months[start : end + 1]
    index = {m.key: i for i, m in enumerate(months)}
    size = len(months)
    centre = cost_centre if isinstance(cost_centre, CostCentre) else None
    mode = "centre" if centre is not None else str(cost_centre or ALL_CENTRES)
    breakdown = by_cost_centre and mode == ALL_CENTRES

    # budget cells
    budget_cells: dict[tuple[int, int | None], list[int]] = {}
    lines = BudgetLine.objects.filter(budget=budget)
    if account:
        lines = lines.filter(account__code__startswith=account)
    if centre is not None:
        lines = lines.filter(cost_centre=centre)
    elif mode == WITHOUT_CENTRE:
        lines = lines.filter(cost_centre__isnull=True)
    for account_id, centre_id, year, month, amount in lines.values_list(
        "account_id", "cost_centre_id", "year", "month", "amount"
    ):
        position = index.get((year, month))
        if position is None:
            continue
        key = (account_id, centre_id if (breakdown or centre is not None) else None)
        budget_cells.setdefault(key, [0] * size)[position] += amount

    # actual cells
    scope = Q(account_id__in=BudgetLine.objects.filter(budget=budget).values("account_id"))
    if unbudgeted:
        scope |= Q(account__type__in=PNL_TYPES)
    if account:
        scope &= Q(account__code__startswith=account)
    if centre is not None:
        moves = {
            key: by_month
            for key, by_month in _actual_moves(
                company, months, accounts=scope, by_cost_centre=True
            ).items()
            if key[1] == centre.pk
        }
    elif mode == WITHOUT_CENTRE:
        split = _moves_split(company, months, accounts=scope)
        moves = {key: by_month for key, by_month in split.items() if key[1] is None}
    elif breakdown:
        moves = _moves_split(company, months, accounts=scope)
    else:
        moves = _actual_moves(company, months, accounts=scope, by_cost_centre=False)
    actual_cells: dict[tuple[int, int | None], list[int]] = {}
    for key, by_month in moves.items():
        cells = actual_cells.setdefault(key, [0] * size)
        for month_key, amount in by_month.items():
            position = index.get(month_key)
            if position is not None:
                cells[position] += amount

    # rows
    account_ids = {a for a, _c in budget_cells} | {
        a for (a, _c), cells in actual_cells.items() if any(cells)
    }
    accounts = {a.pk: a for a in Account.objects.for_company(company).filter(pk__in=account_ids)}
    centres = {c.pk: c for c in CostCentre.objects.for_company(company)}
    row_keys = set(budget_cells) | {k for k, cells in actual_cells.items() if any(cells)}
    sections: dict[str, Section] = {}
    for key in row_keys:
        item = accounts.get(key[0])
        if item is None:  # pragma: no cover - ids come from the company's rows
            continue
        sign = SIGNS.get(item.type, 1)
        row = VarianceRow(
            budget=list(budget_cells.get(key, [0] * size)),
            actual=[sign * v for v in actual_cells.get(key, [0] * size)],
            favourable_when=FAVOURABLE.get(item.type, 0),
            account=item,
            cost_centre=centres.get(key[1]) if key[1] is not None else None,
            budgeted=key in budget_cells,
        )
        section = sections.get(item.type)
        if section is None:
            section = sections[item.type] = Section(
                budget=[0] * size,
                actual=[0] * size,
                favourable_when=FAVOURABLE.get(item.type, 0),
                type=item.type,
                label=str(AccountType(item.type).label),
            )
        section.rows.append(row)
        section.add(row)
    ordered = [sections[t] for t in SECTION_ORDER if t in sections]
    for section in ordered:
        section.rows.sort(
            key=lambda r: (
                r.account.code if r.account else "",
                r.cost_centre is None,
                r.cost_centre_code,
            )
        )
    result: Figures | None = None
    income, expense = sections.get(PNL_TYPES[0]), sections.get(PNL_TYPES[1])
    if income is not None or expense is not None:
        result = Figures([0] * size, [0] * size, favourable_when=1)
        if income is not None:
            result.add(income)
        if expense is not None:
            result.add(expense, sign=-1)
    if income is not None and expense is not None and result is not None:
        chart_label, chart = str(_("Result (income - expense)")), result
    elif ordered:
        chart_label, chart = ordered[0].label, ordered[0]
    else:
        chart_label, chart = str(_("Budget")), Figures([0] * size, [0] * size)
    return BudgetReport(
        budget=budget,
        months=months,
        currency=company.base_currency,
        sections=ordered,
        result=result if income is not None and expense is not None else None,
        chart_label=chart_label,
        chart=chart,
        cost_centre=centre.code if centre is not None else mode,
        by_cost_centre=breakdown,
    )


def default_budget(company: Company, today: dt.date | None = None) -> Budget | None:
    """The active budget of the fiscal year containing ``today``, else the latest budget."""
    today = today or timezone.localdate()
    budgets = Budget.objects.for_company(company).select_related("fiscal_year", "company")
    current = budgets.filter(
        active=True, fiscal_year__start_date__lte=today, fiscal_year__end_date__gte=today
    )
    return (
        current.order_by("code").first()
        or budgets.filter(active=True).order_by("-fiscal_year__start_date", "code").first()
        or budgets.order_by("-fiscal_year__start_date", "code").first()
    )


# --- demo data --------------------------------------------------------------------------------
# Registered here (the module is imported by LedgerConfig.ready) rather than in ledger/demo.py;
# runs after the ledger's step (order 110), which creates the fiscal year and the cost centres.


def _demo_budgets(ctx: Any) -> None:
    """Budget 2026 of each demo company: sales, purchases (STORE), fees, wages and social
    security (ADMIN), a little off the demo's actuals so that the variances show."""
    from trastienda.ledger.demo import ACCOUNTS

    for company in ctx.companies.values():
        country = "IT" if company.country == "IT" else "ES"
        year = FiscalYear.objects.for_company(company).filter(name="2026").first()
        if year is None or Budget.objects.for_company(company).filter(code="B2026").exists():
            continue
        a = ACCOUNTS[country]
        lines: list[dict[str, Any]] = []
        for month in range(1, 13):
            label = f"2026-{month:02d}"
            lines += [
                {"account": a["sales"], "month": label, "amount": str(13000 + 1000 * month)},
                {
                    "account": a["purchases"],
                    "cost_centre": "STORE",
                    "month": label,
                    "amount": str(8500 + 300 * month),
                },
                {"account": a["fees"], "cost_centre": "ADMIN", "month": label, "amount": "20"},
                {"account": a["wages"], "cost_centre": "ADMIN", "month": label, "amount": "4000"},
                {"account": a["social"], "cost_centre": "ADMIN", "month": label, "amount": "1300"},
            ]
        name = "Presupuesto 2026" if country == "ES" else "Budget 2026"
        budget_create(company=company, code="B2026", name=name, fiscal_year=year, lines=lines)
        ctx.log(f"  budget {company.code}: B2026")


def _register_demo() -> None:
    from trastienda.core.demo import demo_step

    demo_step(order=120)(_demo_budgets)


_register_demo()

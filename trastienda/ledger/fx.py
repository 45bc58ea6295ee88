"""Foreign currencies in the ledger: per-currency balancing on posting and period-end revaluation.

``balance_currencies`` is called by ``services.entry_post`` inside the posting transaction,
before validation: it may add the lines that book a currency's exchange difference and returns
the errors that must stop the posting, keyed like the other posting errors (``lines``,
``lines.N``, or the field at fault).

Balancing (exact integers only; see DESIGN.md, "Foreign currencies"). For the one foreign
currency C of an entry whose base-currency lines net to zero (an entry *in C*):

- the amounts in C must balance, otherwise ``amount_currency`` names C and its difference;
- when they do but the company-currency amounts of the C lines leave a rounding difference
  of at most one minor unit (of the company currency) per C line, a line on the exchange
  gains (credit) or losses (debit) account of :class:`LedgerSettings` books it (an error
  names the setting when it is empty); a larger difference is an error.

Any other entry (two foreign currencies, or base-currency lines that settle C, such as a USD
receivable collected into a EUR bank account) may leave C unbalanced: that is the realised
exchange difference, which the user books explicitly.

Revaluation: :func:`revaluation_preview` / :func:`revaluation_post` value every open
foreign-currency balance of the monetary accounts (subtypes bank, cash, receivable and
payable, and accounts whose default currency is not the company's; receivable and payable
per partner) at the rate of the date and book the difference with the company-currency book
value against the exchange gains and losses accounts, in one entry of the general journal.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from trastienda.core.models import Company
from trastienda.core.money import ROUND_HALF_UP, Money
from trastienda.ledger.models import (
    PARTNER_SUBTYPES,
    Account,
    AccountBalance,
    AccountSubtype,
    AccountType,
    ChainHead,
    ExchangeRate,
    Journal,
    JournalEntry,
    JournalEntryLine,
    LedgerSettings,
)
from trastienda.ledger.queries import month_end, posted_lines

#: Exchange gains and losses accounts of each chart template (set at company set-up and by
#: migration 0005 for companies created before).
EXCHANGE_ACCOUNTS: dict[str, tuple[str, str]] = {
    "es_pgc_pymes": ("768", "668"),
    "it_civil_code": ("12.04.001", "12.04.002"),
    "ifrs": ("7103", "7203"),
}

#: Subtypes whose foreign-currency balances are monetary items, revalued at period end.
MONETARY_SUBTYPES = (
    AccountSubtype.BANK,
    AccountSubtype.CASH,
    AccountSubtype.RECEIVABLE,
    AccountSubtype.PAYABLE,
)

REVALUATION_REF = "REVAL {date}"

# Enough precision for every digit of a converted amount plus 30 more: a rate has at most
# 15 significant digits, so a quotient is never within 10**-17 of a half minor unit unless it
# is exactly one, and the half-up rounding that follows is exact.
_PRECISION = 80


def _fmt(minor: int, currency: str) -> str:
    return f"{Money(minor, currency).to_decimal()} {currency}"


def _setting_label(field: str) -> str:
    """The name of a ledger setting as the settings page shows it."""
    return str(getattr(LedgerSettings._meta.get_field(field), "verbose_name", field))


# --- balancing on posting -----------------------------------------------------------------


def balance_currencies(
    entry: JournalEntry, lines: list[JournalEntryLine]
) -> tuple[list[JournalEntryLine], dict[str, list[str]]]:
    """The entry's lines, completed by exchange-difference lines where needed, and errors.

    Pure integer arithmetic; the ledger settings are read only when a rounding line is due.
    When the lines given are stored (every one has a primary key), an added line is stored
    too; otherwise (a bulk path that inserts the lines after this call) the caller inserts it
    with the others.
    """
    company = entry.company
    base = company.base_currency
    foreign = {line.currency_id for line in lines if line.currency_id != base}
    if len(foreign) != 1:
        return lines, {}  # base only, or several currencies: nothing to balance per currency
    (currency,) = foreign
    if sum(line.debit - line.credit for line in lines if line.currency_id == base):
        return lines, {}  # base lines settle the currency: a realised difference, user's own
    own = [line for line in lines if line.currency_id == currency]
    unbalanced = sum(line.amount_currency for line in own)
    if unbalanced:
        return lines, {
            "amount_currency": [
                _("The amounts in %(currency)s do not balance: debit - credit = %(diff)s.")
                % {"currency": currency, "diff": _fmt(unbalanced, currency)}
            ]
        }
    diff = sum(line.debit - line.credit for line in own)
    if not diff:
        return lines, {}
    tolerance = len(own)  # one minor unit of the company currency per line in the currency
    if abs(diff) > tolerance:
        return lines, {
            "amount_currency": [
                _(
                    "The amounts in %(currency)s balance, but their %(base)s amounts differ by "
                    "%(diff)s: more than the rounding tolerance of %(tolerance)s (one minor "
                    "unit per %(currency)s line). Check the %(base)s amounts."
                )
                % {
                    "currency": currency,
                    "base": base,
                    "diff": _fmt(diff, base),
                    "tolerance": _fmt(tolerance, base),
                }
            ]
        }
    field = "exchange_gain_account" if diff > 0 else "exchange_loss_account"
    settings = (
        LedgerSettings.objects.for_company(company)
        .select_related("exchange_gain_account", "exchange_loss_account")
        .first()
    )
    account: Account | None = getattr(settings, field, None)
    if account is None:
        label = _setting_label(field)
        return lines, {
            field: [
                _(
                    "Set the %(setting)s in the ledger settings: it books the rounding "
                    "difference of %(diff)s between the %(currency)s amounts and their "
                    "%(base)s value."
                )
                % {"setting": label, "diff": _fmt(diff, base), "currency": currency, "base": base}
            ]
        }
    line = JournalEntryLine(
        company=company,
        entry=entry,
        line_no=max(x.line_no for x in lines) + 1,
        account=account,
        description=_("Exchange rounding difference (%(currency)s)") % {"currency": currency},
        debit=max(-diff, 0),
        credit=max(diff, 0),
        currency_id=base,
        amount_currency=-diff,
    )
    if entry.pk is not None and all(x.pk is not None for x in lines):
        line.save(force_insert=True)
    return [*lines, line], {}


# --- default accounts ---------------------------------------------------------------------


def exchange_accounts_default(*, company: Company, template: str) -> LedgerSettings | None:
    """Fill the company's empty exchange gains/losses settings from ``template``'s accounts.

    Called by ``services.company_ledger_setup``; leaves a setting already chosen alone, and
    does nothing when the chart lacks the template's accounts (postable, of type income for
    gains and expense for losses).
    """
    codes = EXCHANGE_ACCOUNTS.get(template)
    settings = LedgerSettings.objects.for_company(company).first()
    if codes is None or settings is None:
        return settings
    accounts = {
        (a.code, a.type): a
        for a in Account.objects.for_company(company).filter(code__in=codes, postable=True)
    }
    changed = []
    for field, key in (
        ("exchange_gain_account", (codes[0], AccountType.INCOME.value)),
        ("exchange_loss_account", (codes[1], AccountType.EXPENSE.value)),
    ):
        if getattr(settings, f"{field}_id") is None and key in accounts:
            setattr(settings, field, accounts[key])
            changed.append(field)
    if changed:
        settings.save(update_fields=changed)
    return settings


# --- rates and conversion -----------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """The rate a conversion used: ``1 from_currency = rate to_currency`` on ``date``."""

    date: dt.date
    from_currency: str
    to_currency: str
    rate: Decimal

    def __str__(self) -> str:
        return f"1 {self.from_currency} = {self.rate.normalize():f} {self.to_currency}"

    def convert(self, minor: int, currency: str, base: str) -> int:
        """``minor`` units of ``currency`` in ``base`` minor units, rounded half up."""
        amount = Money(minor, currency).to_decimal()
        with decimal.localcontext() as ctx:
            ctx.prec = _PRECISION
            value = amount * self.rate if self.from_currency == currency else amount / self.rate
        return Money.from_decimal_rounded(value, base, ROUND_HALF_UP).minor


def rate_on(company: Company, currency: str, date: dt.date) -> Rate | None:
    """The company's latest rate between ``currency`` and its base currency on or before
    ``date``, in either direction (``1 USD = r EUR`` or, as the ECB quotes, ``1 EUR = r USD``);
    on the same day the quote from ``currency`` wins."""
    base = company.base_currency
    rows = list(
        ExchangeRate.objects.for_company(company)
        .filter(date__lte=date)
        .filter(
            Q(from_currency=currency, to_currency=base)
            | Q(from_currency=base, to_currency=currency)
        )
        .order_by("-date")
        .values_list("date", "from_currency", "to_currency", "rate")[:2]
    )
    if not rows:
        return None
    if len(rows) == 2 and rows[1][0] == rows[0][0] and rows[1][1] == currency:
        rows.reverse()
    day, source, target, rate = rows[0]
    return Rate(day, source, target, rate)


# --- revaluation --------------------------------------------------------------------------


@dataclass(frozen=True)
class RevaluationLine:
    """An open foreign-currency balance of a monetary account (and partner) at a date.

    Amounts are integer minor units: ``balance`` in ``currency``; ``book_value``, ``revalued``
    and ``difference`` in the company currency (debit positive).
    """

    account: Account
    partner: str
    currency: str
    base_currency: str
    balance: int
    rate: Rate
    book_value: int
    revalued: int

    @property
    def difference(self) -> int:
        return self.revalued - self.book_value


def monetary_accounts(company: Company) -> Q:
    """The accounts whose foreign-currency balances are revalued (a ``Q`` on ``account__``)."""
    return Q(account__postable=True) & (
        Q(account__subtype__in=[str(s) for s in MONETARY_SUBTYPES])
        | (
            Q(account__default_currency__isnull=False)
            & ~Q(account__default_currency=company.base_currency)
        )
    )


def open_balances(company: Company, date: dt.date) -> dict[tuple[int, str, str], list[int]]:
    """(account id, currency, partner) → [book value in base, balance in currency] of the
    monetary accounts' foreign-currency balances at the end of ``date``.

    Like :func:`queries.movement_sums`: whole months come from the monthly balances and the
    days of ``date``'s month from the posted lines; receivable and payable accounts are read
    per partner from the lines (the monthly balances have no partner).
    """
    base = company.base_currency
    accounts = monetary_accounts(company)
    partner = Q(account__subtype__in=list(PARTNER_SUBTYPES))
    sums: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0])
    lines = posted_lines(company).filter(accounts, date__lte=date).exclude(currency_id=base)

    def add(rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            key = (row["account_id"], row["currency_id"], row.get("partner", ""))
            sums[key][0] += (row["d"] or 0) - (row["c"] or 0)
            sums[key][1] += row["a"] or 0

    totals = {"d": Sum("debit"), "c": Sum("credit"), "a": Sum("amount_currency")}
    add(
        lines.filter(partner)
        .values("account_id", "currency_id", "partner")
        .annotate(**totals)
        .order_by()
    )
    whole_to = date if date == month_end(date) else date.replace(day=1) - dt.timedelta(days=1)
    months = (
        AccountBalance.objects.for_company(company)
        .filter(accounts)
        .exclude(partner)
        .exclude(currency_id=base)
        .filter(Q(year__lt=whole_to.year) | Q(year=whole_to.year, month__lte=whole_to.month))
    )
    add(months.values("account_id", "currency_id").annotate(**totals).order_by())
    days = lines.exclude(partner).filter(date__gt=whole_to)
    add(days.values("account_id", "currency_id").annotate(**totals).order_by())
    return {key: value for key, value in sums.items() if value[1]}


def _check_date(date: Any, field: str = "date") -> None:
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ValidationError({field: [_("Enter a date.")]})


def revaluation_preview(*, company: Company, date: dt.date) -> list[RevaluationLine]:
    """Every open foreign-currency balance of a monetary account at ``date``, valued at the
    rate of ``date`` (the latest on or before it), by account code, currency and partner.

    Raises ``ValidationError`` on ``date`` naming each currency without a rate.
    """
    _check_date(date)
    base = company.base_currency
    balances = open_balances(company, date)
    rates: dict[str, Rate | None] = {
        currency: rate_on(company, currency, date)
        for currency in sorted({currency for _a, currency, _p in balances})
    }
    missing = [currency for currency, rate in rates.items() if rate is None]
    if missing:
        raise ValidationError(
            {
                "date": [
                    _("No exchange rate between %(currency)s and %(base)s on or before %(date)s.")
                    % {"currency": currency, "base": base, "date": date.isoformat()}
                    for currency in missing
                ]
            }
        )
    accounts = Account.objects.for_company(company).in_bulk({key[0] for key in balances})
    result = []
    for (account_id, currency, partner), (book, balance) in balances.items():
        rate = rates[currency]
        assert rate is not None  # noqa: S101 - missing rates raised above
        result.append(
            RevaluationLine(
                account=accounts[account_id],
                partner=partner,
                currency=currency,
                base_currency=base,
                balance=balance,
                rate=rate,
                book_value=book,
                revalued=rate.convert(balance, currency, base),
            )
        )
    return sorted(result, key=lambda x: (x.account.code, x.currency, x.partner))


def _general_journal(company: Company) -> Journal:
    """The general journal (code GEN), else the first active journal of type general."""
    journals = Journal.objects.for_company(company).filter(type=Journal.Type.GENERAL, active=True)
    journal = journals.filter(code="GEN").first() or journals.order_by("code").first()
    if journal is None:
        raise ValidationError({"journal": [_("The company has no active general journal.")]})
    return journal


def _amount(minor: int, currency: str) -> Decimal:
    return Money(minor, currency).to_decimal()


def _entry_lines(
    company: Company, lines: list[RevaluationLine], gain: Account | None, loss: Account | None
) -> list[dict[str, Any]]:
    """The revaluation entry's lines: one per balance, then the gains and losses per currency."""
    base = company.base_currency
    rows: list[dict[str, Any]] = []
    gains: dict[str, int] = defaultdict(int)
    losses: dict[str, int] = defaultdict(int)
    for line in lines:
        diff = line.difference
        rows.append(
            {
                "account": line.account,
                "partner": line.partner,
                "currency": line.currency,
                "amount_currency": _amount(0, line.currency),
                "debit" if diff > 0 else "credit": _amount(abs(diff), base),
                "description": _("Revaluation of %(balance)s at %(rate)s (%(date)s)")
                % {
                    "balance": _fmt(line.balance, line.currency),
                    "rate": line.rate,
                    "date": line.rate.date.isoformat(),
                },
            }
        )
        (gains if diff > 0 else losses)[line.currency] += abs(diff)
    for currency in sorted(gains):
        rows.append(
            {
                "account": gain,
                "credit": _amount(gains[currency], base),
                "description": _("Unrealised exchange gains (%(currency)s)")
                % {"currency": currency},
            }
        )
    for currency in sorted(losses):
        rows.append(
            {
                "account": loss,
                "debit": _amount(losses[currency], base),
                "description": _("Unrealised exchange losses (%(currency)s)")
                % {"currency": currency},
            }
        )
    return rows


def revaluation_post(
    *,
    company: Company,
    date: dt.date,
    reverse_on: dt.date | None = None,
    allow_before_lock: bool = False,
) -> JournalEntry | None:
    """Post the unrealised exchange differences of the open foreign-currency balances at
    ``date`` (see :func:`revaluation_preview`) in one entry of the general journal dated
    ``date``; with ``reverse_on``, post its reversal on that date too.

    Returns the entry, or None when there is no difference to book: a second revaluation at
    the same date finds the first one's lines in the book values and posts nothing. The
    company's chain head is locked first, so two revaluations never count twice. Errors are
    ``ValidationError`` naming the field (``date``, ``reverse_on``, the exchange accounts, or
    those of posting); nothing is written then.
    """
    from trastienda.ledger import services  # services imports this module

    _check_date(date)
    if reverse_on is not None:
        _check_date(reverse_on, "reverse_on")
        if reverse_on <= date:
            raise ValidationError(
                {"reverse_on": [_("The reversal date must be after the revaluation date.")]}
            )
    with transaction.atomic():
        head, _created = ChainHead.objects.get_or_create(company=company)
        ChainHead.objects.select_for_update().get(pk=head.pk)
        lines = [x for x in revaluation_preview(company=company, date=date) if x.difference]
        if not lines:
            return None
        settings = LedgerSettings.objects.for_company(company).first()
        errors: dict[str, list[str]] = {}
        accounts: dict[str, Account] = {}
        needed = {
            "exchange_gain_account": any(x.difference > 0 for x in lines),
            "exchange_loss_account": any(x.difference < 0 for x in lines),
        }
        for field, wanted in needed.items():
            account = getattr(settings, field, None)
            if account is None and wanted:
                label = _setting_label(field)
                errors[field] = [
                    _("Set the %(setting)s in the ledger settings first.") % {"setting": label}
                ]
            elif account is not None:
                accounts[field] = account
        if errors:
            raise ValidationError(errors)
        entry = services.entry_create_posted(
            company=company,
            journal=_general_journal(company),
            date=date,
            reference=REVALUATION_REF.format(date=date.isoformat()),
            description=_("Revaluation of foreign-currency balances at %(date)s")
            % {"date": date.isoformat()},
            lines=_entry_lines(
                company,
                lines,
                accounts.get("exchange_gain_account"),
                accounts.get("exchange_loss_account"),
            ),
            allow_before_lock=allow_before_lock,
        )
        if reverse_on is not None:
            services.entry_reverse(
                instance=entry,
                date=reverse_on,
                description=_("Reversal of the revaluation at %(date)s")
                % {"date": date.isoformat()},
                allow_before_lock=allow_before_lock,
            )
    return entry

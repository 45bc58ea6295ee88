"""Year-end closing of the general ledger: regularisation, closing and opening entries.

``fiscal_year_close`` posts, on the year's last day (or ``date``) in the general journal and
through :func:`services.entry_create_draft` + :func:`services.entry_post` (so numbering, hash
chain and monthly balances hold):

1. the *regularisation* entry (PGC "asiento de regularización"): every income and expense
   account to zero against the result account (subtype ``result``, e.g. PGC 1290); the
   result account then holds the profit (credit) or loss (debit) of the year;
2. the *closing* entry ("asiento de cierre"): every balance-sheet account (asset, liability,
   equity, the result account included) to zero, so that cumulative balances never count a
   year twice once the next year's opening entry carries them;

then closes the year and its periods. ``fiscal_year_open_next`` creates the next year when
missing and posts the *opening* entry on its first day: the mirror of the closing entry, i.e.
every balance-sheet account's closing balance. ``fiscal_year_reopen`` undoes it all only by
reversal (``services.entry_reverse``): opening, closing and regularisation entries are
reversed and the year and its periods are opened again.

The entries are recognised by their reference (``CLOSE-REG <year>``, ``CLOSE <year>``,
``OPEN <year>``), which is hashed and immutable, and by being neither a reversal nor reversed.
Receivable/payable accounts are closed and opened per partner (their lines need one); other
accounts per currency, read from the monthly balances (``AccountBalance``) when the year is
made of whole months, from the lines otherwise.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trastienda.core.models import Company
from trastienda.core.money import Money
from trastienda.ledger import queries, services
from trastienda.ledger.models import (
    PARTNER_SUBTYPES,
    Account,
    AccountBalance,
    AccountSubtype,
    AccountType,
    FiscalYear,
    Journal,
    JournalEntry,
    JournalEntryLine,
    Period,
)

PNL_TYPES = (AccountType.INCOME, AccountType.EXPENSE)
BALANCE_SHEET_TYPES = (AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY)
REGULARISATION_REF = "CLOSE-REG {name}"
CLOSING_REF = "CLOSE {name}"
OPENING_REF = "OPEN {name}"

# (account id, currency, partner) -> [debit - credit in company currency, amount in currency]
Key = tuple[int, str, str]


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _live(company: Company, reference: str) -> JournalEntry | None:
    """The posted, not reversed, non-reversal entry with ``reference``."""
    return (
        JournalEntry.objects.for_company(company)
        .filter(
            state=JournalEntry.State.POSTED,
            reference=reference,
            reversal_of__isnull=True,
            reversals__isnull=True,
        )
        .order_by("chain_seq")
        .first()
    )


def closing_entries(*, fiscal_year: FiscalYear) -> dict[str, JournalEntry | None]:
    """The live regularisation and closing entries of a year and the next year's opening."""
    company = fiscal_year.company
    return {
        "regularisation": _live(company, REGULARISATION_REF.format(name=fiscal_year.name)),
        "closing": _live(company, CLOSING_REF.format(name=fiscal_year.name)),
        "opening": _live(company, OPENING_REF.format(name=fiscal_year.name)),
    }


def _whole_months(start: dt.date | None, end: dt.date) -> bool:
    last = calendar.monthrange(end.year, end.month)[1]
    return (start is None or start.day == 1) and end.day == last


def _sums(
    company: Company, types: Iterable[str], start: dt.date | None, end: dt.date
) -> dict[Key, list[int]]:
    """Net balance per (account, currency, partner) of posted lines dated ``start..end``.

    ``start=None``: since the beginning of the books. Partner accounts are grouped by partner
    from the lines; the others by currency from the monthly balances when possible.
    """
    types = list(types)
    sums: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    lines = queries.posted_lines(company).filter(date__lte=end, account__type__in=types)
    if start is not None:
        lines = lines.filter(date__gte=start)
    partner_lines = lines.filter(account__subtype__in=list(PARTNER_SUBTYPES))
    for row in partner_lines.values("account_id", "currency_id", "partner").annotate(
        d=Sum("debit"), c=Sum("credit"), a=Sum("amount_currency")
    ):
        key = (row["account_id"], row["currency_id"], row["partner"])
        sums[key][0] += (row["d"] or 0) - (row["c"] or 0)
        sums[key][1] += row["a"] or 0
    if _whole_months(start, end):
        rows: Any = (
            AccountBalance.objects.for_company(company)
            .filter(account__type__in=types)
            .exclude(account__subtype__in=list(PARTNER_SUBTYPES))
            .filter(Q(year__lt=end.year) | Q(year=end.year, month__lte=end.month))
        )
        if start is not None:
            rows = rows.filter(Q(year__gt=start.year) | Q(year=start.year, month__gte=start.month))
    else:
        rows = lines.exclude(account__subtype__in=list(PARTNER_SUBTYPES))
    for row in rows.values("account_id", "currency_id").annotate(
        d=Sum("debit"), c=Sum("credit"), a=Sum("amount_currency")
    ):
        key = (row["account_id"], row["currency_id"], "")
        sums[key][0] += (row["d"] or 0) - (row["c"] or 0)
        sums[key][1] += row["a"] or 0
    return {key: value for key, value in sums.items() if value[0]}


def _line(company: Company, account: Account, currency: str, partner: str, net: int) -> dict:
    """A line dict for ``entry_create_draft`` booking ``net`` (debit - credit) minor units."""
    base = company.base_currency
    amount = Money(abs(net), base).to_decimal()
    line: dict[str, Any] = {"account": account, "currency": currency, "partner": partner}
    line["debit" if net > 0 else "credit"] = amount
    return line


def _general_journal(company: Company) -> Journal:
    journals = Journal.objects.for_company(company).filter(type=Journal.Type.GENERAL, active=True)
    journal = journals.filter(code="GEN").first() or journals.order_by("code").first()
    if journal is None:
        raise _fail("journal", _("The company has no active general journal."))
    return journal


def _result_account(company: Company, account: Account | None) -> Account:
    if account is None:
        account = (
            Account.objects.for_company(company)
            .filter(subtype=AccountSubtype.RESULT, postable=True, active=True)
            .order_by("code")
            .first()
        )
        if account is None:
            raise _fail(
                "retained_earnings_account",
                _("The chart has no postable, active account of subtype 'result of the year'."),
            )
    elif account.company_id != company.pk or not account.postable or not account.active:
        raise _fail(
            "retained_earnings_account",
            _("Choose a postable, active account of this company."),
        )
    elif account.type != AccountType.EQUITY:
        raise _fail("retained_earnings_account", _("Choose an equity account."))
    return account


def _post(
    company: Company,
    journal: Journal,
    date: dt.date,
    reference: str,
    description: str,
    lines: list[dict[str, Any]],
    allow_before_lock: bool,
) -> JournalEntry | None:
    if not lines:
        return None
    return services.entry_create_posted(
        company=company,
        journal=journal,
        date=date,
        reference=reference,
        description=description,
        lines=lines,
        allow_before_lock=allow_before_lock,
    )


def _foreign(line: dict[str, Any], company: Company, amount_currency: int) -> dict[str, Any]:
    if line["currency"] != company.base_currency:
        line["amount_currency"] = Money(amount_currency, line["currency"]).to_decimal()
    return line


def _checks(fiscal_year: FiscalYear) -> None:
    company = fiscal_year.company
    errors: dict[str, list[str]] = {}
    if fiscal_year.state == FiscalYear.State.CLOSED:
        errors["fiscal_year"] = [
            _("Fiscal year %(name)s is already closed.") % {"name": fiscal_year.name}
        ]
    earlier = (
        FiscalYear.objects.for_company(company)
        .filter(end_date__lt=fiscal_year.start_date, state=FiscalYear.State.OPEN)
        .order_by("start_date")
        .first()
    )
    if earlier is not None:
        errors.setdefault("fiscal_year", []).append(
            _("Close the earlier fiscal year %(name)s first.") % {"name": earlier.name}
        )
    drafts = JournalEntry.objects.for_company(company).filter(
        state=JournalEntry.State.DRAFT,
        date__gte=fiscal_year.start_date,
        date__lte=fiscal_year.end_date,
    )
    count = drafts.count()
    if count:
        errors["drafts"] = [
            ngettext(
                "%(count)d draft entry is dated in the year: post or delete it first.",
                "%(count)d draft entries are dated in the year: post or delete them first.",
                count,
            )
            % {"count": count}
        ]
    totals = AccountBalance.objects.for_company(company).aggregate(d=Sum("debit"), c=Sum("credit"))
    lines = JournalEntryLine.objects.for_company(company).filter(
        entry__state=JournalEntry.State.POSTED
    )
    line_totals = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    if (totals["d"] or 0) != (totals["c"] or 0) or (totals["d"] or 0, totals["c"] or 0) != (
        line_totals["d"] or 0,
        line_totals["c"] or 0,
    ):
        errors["balances"] = [
            _(
                "The books do not balance (debit %(debit)s, credit %(credit)s in the monthly "
                "balances): run 'trastienda ledger verify' first."
            )
            % {
                "debit": Money(totals["d"] or 0, company.base_currency).to_decimal(),
                "credit": Money(totals["c"] or 0, company.base_currency).to_decimal(),
            }
        ]
    if errors:
        raise ValidationError(errors)


def fiscal_year_close(
    *,
    fiscal_year: FiscalYear,
    retained_earnings_account: Account | None = None,
    date: dt.date | None = None,
    allow_before_lock: bool = False,
) -> dict[str, JournalEntry | None]:
    """Post the regularisation and closing entries of ``fiscal_year`` and close it.

    Returns ``{"regularisation": entry or None, "closing": entry or None}`` (None when there
    was nothing to book). Refused (``ValidationError`` naming the field, nothing written) when
    the year is closed, an earlier year is open, drafts are dated in it, the books do not
    balance, or there is no result account.
    """
    company = fiscal_year.company
    fiscal_year.refresh_from_db()
    date = date or fiscal_year.end_date
    if not fiscal_year.start_date <= date <= fiscal_year.end_date:
        raise _fail("date", _("The closing date must be inside the fiscal year."))
    _checks(fiscal_year)
    result = _result_account(company, retained_earnings_account)
    journal = _general_journal(company)
    with transaction.atomic():
        year = FiscalYear.objects.select_for_update().get(pk=fiscal_year.pk)
        if year.state == FiscalYear.State.CLOSED:  # closed meanwhile
            raise _fail(
                "fiscal_year", _("Fiscal year %(name)s is already closed.") % {"name": year.name}
            )
        accounts = {a.pk: a for a in Account.objects.for_company(company)}
        pnl = _sums(company, PNL_TYPES, year.start_date, date)
        lines = [
            _foreign(_line(company, accounts[acc], cur, partner, -net), company, -amount)
            for (acc, cur, partner), (net, amount) in sorted(
                pnl.items(), key=lambda item: (accounts[item[0][0]].code, item[0][1:])
            )
        ]
        profit = -sum(net for net, _amount in pnl.values())  # credit balance = profit
        if profit:
            lines.append(_line(company, result, company.base_currency, "", -profit))
        regularisation = _post(
            company,
            journal,
            date,
            REGULARISATION_REF.format(name=year.name),
            _("Regularisation %(name)s: income and expense to the result") % {"name": year.name},
            lines,
            allow_before_lock,
        )
        sheet = _sums(company, BALANCE_SHEET_TYPES, None, date)
        lines = [
            _foreign(_line(company, accounts[acc], cur, partner, -net), company, -amount)
            for (acc, cur, partner), (net, amount) in sorted(
                sheet.items(), key=lambda item: (accounts[item[0][0]].code, item[0][1:])
            )
        ]
        closing = _post(
            company,
            journal,
            date,
            CLOSING_REF.format(name=year.name),
            _("Closing %(name)s") % {"name": year.name},
            lines,
            allow_before_lock,
        )
        year.state = FiscalYear.State.CLOSED
        year.save()
        Period.objects.filter(fiscal_year=year).update(state=Period.State.CLOSED)
    return {"regularisation": regularisation, "closing": closing}


def _next_year_bounds(year: FiscalYear) -> tuple[str, dt.date, dt.date]:
    start = year.end_date + dt.timedelta(days=1)
    try:
        end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    except ValueError:  # 29 February
        end = dt.date(start.year + 1, 3, 1) - dt.timedelta(days=1)
    name = str(int(year.name) + 1) if year.name.isdigit() else str(start.year)
    if end.year != start.year and not year.name.isdigit():
        name = f"{start.year}-{end.year % 100:02d}"
    return name, start, end


def fiscal_year_open_next(
    *, fiscal_year: FiscalYear, allow_before_lock: bool = False
) -> tuple[FiscalYear, JournalEntry | None]:
    """Create the year after ``fiscal_year`` when missing and post its opening entry.

    The opening entry, dated on the next year's first day, carries every balance-sheet
    account's closing balance: it is the mirror of ``fiscal_year``'s closing entry.
    """
    company = fiscal_year.company
    fiscal_year.refresh_from_db()
    if fiscal_year.state != FiscalYear.State.CLOSED:
        raise _fail(
            "fiscal_year", _("Close fiscal year %(name)s first.") % {"name": fiscal_year.name}
        )
    entries = closing_entries(fiscal_year=fiscal_year)
    if entries["opening"] is not None:
        raise _fail(
            "fiscal_year",
            _("The opening entry after %(name)s is already posted (%(number)s).")
            % {"name": fiscal_year.name, "number": entries["opening"].number},
        )
    start = fiscal_year.end_date + dt.timedelta(days=1)
    with transaction.atomic():
        following = (
            FiscalYear.objects.for_company(company)
            .filter(start_date__lte=start, end_date__gte=start)
            .first()
        )
        if following is None:
            name, first, last = _next_year_bounds(fiscal_year)
            following = services.fiscal_year_create(
                company=company, name=name, start_date=first, end_date=last
            )
        closing = entries["closing"]
        lines: list[dict[str, Any]] = []
        if closing is not None:
            for line in JournalEntryLine.objects.filter(entry=closing).select_related("account"):
                row = _line(
                    company, line.account, line.currency_id, line.partner, line.credit - line.debit
                )
                lines.append(_foreign(row, company, -line.amount_currency))
        opening = _post(
            company,
            _general_journal(company),
            start,
            OPENING_REF.format(name=fiscal_year.name),
            _("Opening %(name)s") % {"name": following.name},
            lines,
            allow_before_lock,
        )
    return following, opening


def fiscal_year_reopen(*, fiscal_year: FiscalYear, allow_before_lock: bool = False) -> FiscalYear:
    """Undo a closing by reversal: reverse the opening, closing and regularisation entries
    (each on its own date) and open the year and its periods again."""
    company = fiscal_year.company
    fiscal_year.refresh_from_db()
    if fiscal_year.state != FiscalYear.State.CLOSED:
        raise _fail("fiscal_year", _("Fiscal year %(name)s is open.") % {"name": fiscal_year.name})
    later = (
        FiscalYear.objects.for_company(company)
        .filter(start_date__gt=fiscal_year.end_date, state=FiscalYear.State.CLOSED)
        .order_by("start_date")
        .first()
    )
    if later is not None:
        raise _fail(
            "fiscal_year",
            _("Reopen the later fiscal year %(name)s first.") % {"name": later.name},
        )
    entries = closing_entries(fiscal_year=fiscal_year)
    with transaction.atomic():
        year = FiscalYear.objects.select_for_update().get(pk=fiscal_year.pk)
        if entries["opening"] is not None:
            services.entry_reverse(
                instance=entries["opening"],
                description=_("Reopening of %(name)s") % {"name": year.name},
                allow_before_lock=allow_before_lock,
            )
        year.state = FiscalYear.State.OPEN
        year.save()
        Period.objects.filter(fiscal_year=year).update(state=Period.State.OPEN)
        for kind in ("closing", "regularisation"):
            entry = entries[kind]
            if entry is not None:
                services.entry_reverse(
                    instance=entry,
                    description=_("Reopening of %(name)s") % {"name": year.name},
                    allow_before_lock=allow_before_lock,
                )
    return year

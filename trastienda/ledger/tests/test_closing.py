"""Year-end closing: regularisation, closing and opening entries, reopening by reversal."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from trastienda.ledger import services
from trastienda.ledger.closing import (
    fiscal_year_close,
    fiscal_year_open_next,
    fiscal_year_reopen,
)
from trastienda.ledger.models import (
    Account,
    AccountBalance,
    FiscalYear,
    JournalEntry,
    Period,
)
from trastienda.ledger.tests.conftest import BANK, CAPITAL, CUSTOMERS, FEES, SALES

pytestmark = pytest.mark.django_db
RESULT = "1290"


def nets(company: Any, until: tuple[int, int] | None = None) -> dict[str, int]:
    """Net (debit - credit) per account code from the monthly balances, zeroes dropped."""
    totals: dict[str, int] = defaultdict(int)
    for row in AccountBalance.objects.filter(company=company).select_related("account"):
        if until is None or (row.year, row.month) <= until:
            totals[row.account.code] += row.debit - row.credit
    return {code: value for code, value in totals.items() if value}


@pytest.fixture
def activity(books: Any, posted: Callable[..., JournalEntry]) -> Any:
    """Capital 1,000.00; a sale of 300.00 on credit; fees 45.50 paid from the bank."""
    posted("1000.00", BANK, CAPITAL, dt.date(2026, 1, 5))
    posted(
        lines=[
            {"account": CUSTOMERS, "debit": "300.00", "partner": "Lopez SL"},
            {"account": SALES, "credit": "300.00"},
        ],
        date=dt.date(2026, 6, 30),
    )
    posted("45.50", FEES, BANK, dt.date(2026, 11, 2))
    return books


def test_close_zeroes_income_and_expense_into_the_result(activity: Any, year: FiscalYear) -> None:
    before = nets(activity)
    entries = fiscal_year_close(fiscal_year=year)
    regularisation, closing = entries["regularisation"], entries["closing"]
    assert regularisation is not None and closing is not None
    assert regularisation.number == "GEN/2026/000004"
    assert closing.number == "GEN/2026/000005"
    assert regularisation.date == closing.date == dt.date(2026, 12, 31)
    reg_lines = {
        line.account.code: (line.debit, line.credit) for line in regularisation.lines.all()
    }
    assert reg_lines == {SALES: (30000, 0), FEES: (0, 4550), RESULT: (0, 25450)}
    # After the regularisation: income and expense are zero, the result holds the profit.
    after_reg = dict(before)
    for code, (debit, credit) in reg_lines.items():
        after_reg[code] = after_reg.get(code, 0) + debit - credit
    after_reg = {code: value for code, value in after_reg.items() if value}
    assert after_reg == {BANK: 95450, CAPITAL: -100000, CUSTOMERS: 30000, RESULT: -25450}
    # The closing entry takes every balance-sheet account to zero: the books are empty.
    closing_lines = {
        (line.account.code, line.partner): (line.debit, line.credit) for line in closing.lines.all()
    }
    assert closing_lines == {
        (CAPITAL, ""): (100000, 0),
        (RESULT, ""): (25450, 0),
        (CUSTOMERS, "Lopez SL"): (0, 30000),
        (BANK, ""): (0, 95450),
    }
    assert nets(activity) == {}
    year.refresh_from_db()
    assert year.state == FiscalYear.State.CLOSED
    assert set(Period.objects.filter(fiscal_year=year).values_list("state", flat=True)) == {
        "closed"
    }
    assert services.ledger_verify(company=activity).ok
    assert services.ledger_balances_verify(company=activity) == []


def test_open_next_carries_the_closing_balances(activity: Any, year: FiscalYear) -> None:
    fiscal_year_close(fiscal_year=year)
    following, opening = fiscal_year_open_next(fiscal_year=year)
    assert following.name == "2027"
    assert (following.start_date, following.end_date) == (
        dt.date(2027, 1, 1),
        dt.date(2027, 12, 31),
    )
    assert Period.objects.filter(fiscal_year=following).count() == 12
    assert opening is not None
    assert opening.number == "GEN/2027/000001"
    assert opening.date == dt.date(2027, 1, 1)
    # Opening balances equal the balances at the end of 2026 before the closing entry.
    assert nets(activity) == {BANK: 95450, CAPITAL: -100000, CUSTOMERS: 30000, RESULT: -25450}
    assert {line.partner for line in opening.lines.filter(account__code=CUSTOMERS)} == {"Lopez SL"}
    assert services.ledger_verify(company=activity).ok
    assert services.ledger_balances_verify(company=activity) == []
    with pytest.raises(ValidationError) as exc:
        fiscal_year_open_next(fiscal_year=year)
    assert "fiscal_year" in exc.value.message_dict


def test_open_next_uses_an_existing_year(activity: Any, year: FiscalYear) -> None:
    existing = services.fiscal_year_create(
        company=activity,
        name="FY27",
        start_date=dt.date(2027, 1, 1),
        end_date=dt.date(2027, 12, 31),
    )
    fiscal_year_close(fiscal_year=year)
    following, _opening = fiscal_year_open_next(fiscal_year=year)
    assert following == existing
    assert FiscalYear.objects.filter(company=activity).count() == 2


def test_reopen_restores_every_balance(activity: Any, year: FiscalYear, journal: Any) -> None:
    before = nets(activity)
    fiscal_year_close(fiscal_year=year)
    following, _opening = fiscal_year_open_next(fiscal_year=year)
    reopened = fiscal_year_reopen(fiscal_year=year)
    assert reopened.state == FiscalYear.State.OPEN
    assert set(Period.objects.filter(fiscal_year=year).values_list("state", flat=True)) == {"open"}
    assert nets(activity) == before
    assert nets(activity, until=(2026, 12)) == before
    reversals = JournalEntry.objects.filter(company=activity, reversal_of__isnull=False)
    assert reversals.count() == 3
    assert services.ledger_verify(company=activity).ok
    assert services.ledger_balances_verify(company=activity) == []
    # The year can be closed again after more activity.
    services.entry_post(
        instance=services.entry_create_draft(
            company=activity,
            journal=journal,
            date=dt.date(2026, 12, 1),
            lines=[{"account": FEES, "debit": "4.50"}, {"account": BANK, "credit": "4.50"}],
        )
    )
    entries = fiscal_year_close(fiscal_year=year)
    assert entries["regularisation"] is not None
    result = entries["regularisation"].lines.get(account__code=RESULT)
    assert (result.debit, result.credit) == (0, 25000)
    assert following.pk != year.pk


def test_loss_is_a_debit_on_the_result(
    books: Any, posted: Callable[..., JournalEntry], year: FiscalYear
) -> None:
    posted("80.00", FEES, BANK, dt.date(2026, 2, 1))
    entries = fiscal_year_close(fiscal_year=year)
    assert entries["regularisation"] is not None
    result = entries["regularisation"].lines.get(account__code=RESULT)
    assert (result.debit, result.credit) == (8000, 0)


def test_close_with_no_entries_closes_the_year(books: Any, year: FiscalYear) -> None:
    entries = fiscal_year_close(fiscal_year=year)
    assert entries == {"regularisation": None, "closing": None}
    year.refresh_from_db()
    assert year.state == FiscalYear.State.CLOSED
    following, opening = fiscal_year_open_next(fiscal_year=year)
    assert opening is None and following.name == "2027"


def _nothing_written(company: Any, year: FiscalYear, count: int) -> None:
    year.refresh_from_db()
    assert year.state == FiscalYear.State.OPEN
    assert JournalEntry.objects.filter(company=company).count() == count


def test_refuses_drafts_in_the_year(
    activity: Any, year: FiscalYear, draft: Callable[..., JournalEntry]
) -> None:
    draft(date=dt.date(2026, 8, 1))
    with pytest.raises(ValidationError) as exc:
        fiscal_year_close(fiscal_year=year)
    assert "drafts" in exc.value.message_dict
    _nothing_written(activity, year, 4)


def test_refuses_a_closed_year(activity: Any, year: FiscalYear) -> None:
    fiscal_year_close(fiscal_year=year)
    with pytest.raises(ValidationError) as exc:
        fiscal_year_close(fiscal_year=year)
    assert "fiscal_year" in exc.value.message_dict
    assert JournalEntry.objects.filter(company=activity).count() == 5


def test_refuses_without_result_account(activity: Any, year: FiscalYear) -> None:
    Account.objects.filter(company=activity, subtype="result").update(active=False)
    with pytest.raises(ValidationError) as exc:
        fiscal_year_close(fiscal_year=year)
    assert "retained_earnings_account" in exc.value.message_dict
    _nothing_written(activity, year, 3)


def test_refuses_a_non_equity_result_account(activity: Any, year: FiscalYear) -> None:
    with pytest.raises(ValidationError) as exc:
        fiscal_year_close(
            fiscal_year=year,
            retained_earnings_account=Account.objects.get(company=activity, code=BANK),
        )
    assert "retained_earnings_account" in exc.value.message_dict
    _nothing_written(activity, year, 3)


def test_refuses_unbalanced_books(activity: Any, year: FiscalYear) -> None:
    row = AccountBalance.objects.filter(company=activity).first()
    assert row is not None
    AccountBalance.objects.filter(pk=row.pk).update(debit=row.debit + 1)
    with pytest.raises(ValidationError) as exc:
        fiscal_year_close(fiscal_year=year)
    assert "balances" in exc.value.message_dict
    _nothing_written(activity, year, 3)


def test_refuses_when_an_earlier_year_is_open(activity: Any, year: FiscalYear) -> None:
    later = services.fiscal_year_create(
        company=activity,
        name="2027",
        start_date=dt.date(2027, 1, 1),
        end_date=dt.date(2027, 12, 31),
    )
    with pytest.raises(ValidationError) as exc:
        fiscal_year_close(fiscal_year=later)
    assert "fiscal_year" in exc.value.message_dict


def test_open_next_and_reopen_refuse_an_open_year(activity: Any, year: FiscalYear) -> None:
    for service in (fiscal_year_open_next, fiscal_year_reopen):
        with pytest.raises(ValidationError) as exc:
            service(fiscal_year=year)
        assert "fiscal_year" in exc.value.message_dict
    assert JournalEntry.objects.filter(company=activity).count() == 3


def test_cli_close_year(activity: Any, year: FiscalYear, capsys: Any) -> None:
    call_command("ledger", "close-year", "--company", activity.code, "--year", "2026")
    out = capsys.readouterr().out
    assert "GEN/2026/000004" in out and "GEN/2027/000001" in out
    year.refresh_from_db()
    assert year.state == FiscalYear.State.CLOSED
    assert nets(activity) == {BANK: 95450, CAPITAL: -100000, CUSTOMERS: 30000, RESULT: -25450}


def test_closing_page_needs_the_fiscal_year_permission(
    activity: Any, year: FiscalYear, make_user: Any, login: Any
) -> None:
    url = f"/c/{activity.code}/ledger/fiscal-years/{year.pk}/closing/"
    client = login(make_user("clerkie", company=activity, role="clerk"))
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "close"}).status_code == 403
    year.refresh_from_db()
    assert year.state == FiscalYear.State.OPEN
    admin = make_user("boss", company=activity, role="administrator")
    client = login(admin)
    page = client.get(url)
    assert page.status_code == 200
    assert b'id="closing-close"' in page.content
    response = client.post(url, {"action": "close"})
    assert response.status_code == 302
    year.refresh_from_db()
    assert year.state == FiscalYear.State.CLOSED
    client.post(url, {"action": "open_next"})
    assert FiscalYear.objects.filter(company=activity, name="2027").exists()
    client.post(url, {"action": "reopen"})
    year.refresh_from_db()
    assert year.state == FiscalYear.State.OPEN
    assert services.ledger_verify(company=activity).ok

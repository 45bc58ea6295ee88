"""Foreign currencies: per-currency balancing on posting, default exchange accounts, and
period-end revaluation (service, page, API, CLI)."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from trastienda.ledger import fx, services
from trastienda.ledger.models import (
    Account,
    AccountBalance,
    Currency,
    JournalEntry,
    JournalEntryLine,
    JournalSequence,
    LedgerSettings,
)
from trastienda.ledger.tests.conftest import BANK, SALES

pytestmark = pytest.mark.django_db

FX_BANK, FX_CUSTOMERS, FX_SUPPLIERS, PURCHASES = "573", "4304", "4004", "6000"
INVESTMENTS = "576"
GAIN, LOSS = "768", "668"


def lines_of(entry: JournalEntry) -> list[tuple[Any, ...]]:
    return [
        (x.line_no, x.account.code, x.debit, x.credit, x.currency_id, x.amount_currency, x.partner)
        for x in JournalEntryLine.objects.filter(entry=entry)
        .select_related("account")
        .order_by("line_no")
    ]


def intact(company: Any) -> None:
    assert services.ledger_verify(company=company).ok
    assert services.ledger_balances_verify(company=company) == []


def usd(account: str, amount: str, side: str, base: str, partner: str = "") -> dict[str, Any]:
    """A line in USD: ``amount`` USD on ``side`` ("debit"/"credit"), ``base`` EUR."""
    signed = amount if side == "debit" else f"-{amount}"
    line = {"account": account, side: base, "currency": "USD", "amount_currency": signed}
    if partner:
        line["partner"] = partner
    return line


def in_currency(
    currency: str, account: str, amount: str, side: str, base: str, partner: str = ""
) -> dict[str, Any]:
    line = usd(account, amount, side, base, partner)
    line["currency"] = currency
    return line


# --- balancing on posting ---------------------------------------------------------------------


def test_entry_balanced_in_its_currency_posts_as_it_is(books: Any, posted: Any) -> None:
    entry = posted(
        lines=[
            usd(FX_BANK, "100.00", "debit", "96.89"),
            usd(FX_CUSTOMERS, "100.00", "credit", "96.89", "Acme Inc"),
        ]
    )
    assert entry.is_posted
    assert lines_of(entry) == [
        (1, FX_BANK, 9689, 0, "USD", 10000, ""),
        (2, FX_CUSTOMERS, 0, 9689, "USD", -10000, "Acme Inc"),
    ]
    intact(books)


def test_rounding_difference_is_booked_to_the_gains_account(books: Any, posted: Any) -> None:
    entry = posted(
        lines=[
            usd(FX_BANK, "100.00", "debit", "96.89"),
            usd(FX_CUSTOMERS, "50.00", "credit", "48.44", "Acme Inc"),
            usd(FX_CUSTOMERS, "50.00", "credit", "48.44", "Beta LLC"),
        ]
    )
    assert lines_of(entry) == [
        (1, FX_BANK, 9689, 0, "USD", 10000, ""),
        (2, FX_CUSTOMERS, 0, 4844, "USD", -5000, "Acme Inc"),
        (3, FX_CUSTOMERS, 0, 4844, "USD", -5000, "Beta LLC"),
        (4, GAIN, 0, 1, "EUR", -1, ""),
    ]
    gain = AccountBalance.objects.get(company=books, account__code=GAIN)
    assert (gain.debit, gain.credit, gain.currency_id, gain.amount_currency) == (0, 1, "EUR", -1)
    intact(books)
    # its reversal mirrors every line, the rounding one included, and adds none
    reversal = services.entry_reverse(instance=entry, date=dt.date(2026, 3, 11))
    assert [line[1:4] for line in lines_of(reversal)] == [
        (FX_BANK, 0, 9689),
        (FX_CUSTOMERS, 4844, 0),
        (FX_CUSTOMERS, 4844, 0),
        (GAIN, 1, 0),
    ]
    intact(books)


def test_rounding_difference_is_booked_to_the_losses_account(books: Any, posted: Any) -> None:
    entry = posted(
        lines=[
            usd(FX_BANK, "100.00", "debit", "96.88"),
            usd(FX_CUSTOMERS, "50.00", "credit", "48.45", "Acme Inc"),
            usd(FX_CUSTOMERS, "50.00", "credit", "48.45", "Beta LLC"),
        ]
    )
    assert lines_of(entry)[-1] == (4, LOSS, 2, 0, "EUR", 2, "")
    intact(books)


def test_difference_over_the_tolerance_is_refused(books: Any, draft: Any) -> None:
    entry = draft(
        lines=[
            usd(FX_BANK, "100.00", "debit", "96.89"),
            usd(FX_CUSTOMERS, "100.00", "credit", "96.86", "Acme Inc"),
        ]
    )
    with pytest.raises(ValidationError) as exc:
        services.entry_post(instance=entry)
    message = " ".join(exc.value.message_dict["amount_currency"])
    assert "USD" in message and "0.03 EUR" in message and "0.02 EUR" in message
    assert "lines" in exc.value.message_dict  # the company-currency imbalance, as before
    entry.refresh_from_db()
    assert entry.state == JournalEntry.State.DRAFT and entry.number is None
    assert JournalEntryLine.objects.filter(entry=entry).count() == 2
    assert not JournalSequence.objects.filter(company=books).exists()
    assert not AccountBalance.objects.filter(company=books).exists()


def test_unbalanced_currency_is_refused_naming_it(books: Any, draft: Any) -> None:
    entry = draft(
        lines=[
            usd(FX_BANK, "100.00", "debit", "96.89"),
            usd(FX_CUSTOMERS, "99.99", "credit", "96.89", "Acme Inc"),
        ]
    )
    with pytest.raises(ValidationError) as exc:
        services.entry_post(instance=entry)
    assert exc.value.message_dict == {
        "amount_currency": ["The amounts in USD do not balance: debit - credit = 0.01 USD."]
    }
    entry.refresh_from_db()
    assert entry.state == JournalEntry.State.DRAFT
    assert not AccountBalance.objects.filter(company=books).exists()


def test_missing_exchange_account_is_named(books: Any, draft: Any) -> None:
    settings = LedgerSettings.objects.get(company=books)
    services.settings_update(
        instance=settings,
        hard_lock_date=None,
        lock_date=None,
        exchange_gain_account=None,
        exchange_loss_account=None,
    )
    entry = draft(
        lines=[
            usd(FX_BANK, "100.00", "debit", "96.89"),
            usd(FX_CUSTOMERS, "50.00", "credit", "48.44", "Acme Inc"),
            usd(FX_CUSTOMERS, "50.00", "credit", "48.44", "Beta LLC"),
        ]
    )
    with pytest.raises(ValidationError) as exc:
        services.entry_post(instance=entry)
    errors = exc.value.message_dict
    assert list(errors) == ["exchange_gain_account", "lines"]
    assert "exchange gains account" in errors["exchange_gain_account"][0]
    assert "0.01 EUR" in errors["exchange_gain_account"][0]
    assert JournalEntryLine.objects.filter(entry=entry).count() == 3
    entry.refresh_from_db()
    assert entry.state == JournalEntry.State.DRAFT


def test_mixed_settlement_may_leave_the_currency_unbalanced(books: Any, posted: Any) -> None:
    # a USD 100.00 receivable booked at 96.89 EUR, paid with 95.00 EUR: realised loss 1.89
    entry = posted(
        lines=[
            {"account": BANK, "debit": "95.00"},
            {"account": LOSS, "debit": "1.89"},
            usd(FX_CUSTOMERS, "100.00", "credit", "96.89", "Acme Inc"),
        ]
    )
    assert len(lines_of(entry)) == 3
    # a partial settlement: 60 USD of 100 collected into the EUR bank
    partial = posted(
        lines=[
            {"account": BANK, "debit": "58.00"},
            usd(FX_CUSTOMERS, "60.00", "credit", "58.00", "Acme Inc"),
        ]
    )
    assert len(lines_of(partial)) == 2
    # two foreign currencies: each may be unbalanced (a cross-currency payment)
    cross = posted(
        lines=[
            usd(FX_SUPPLIERS, "120.00", "debit", "100.00", "Gamma Ltd"),
            in_currency("GBP", FX_BANK, "85.00", "credit", "100.00"),
        ]
    )
    assert len(lines_of(cross)) == 2
    intact(books)


def test_base_lines_that_net_to_zero_do_not_settle_the_currency(books: Any, draft: Any) -> None:
    entry = draft(
        lines=[
            usd(FX_BANK, "100.00", "debit", "96.89"),
            usd(FX_CUSTOMERS, "100.00", "credit", "96.88", "Acme Inc"),
            {"account": BANK, "debit": "10.00"},
            {"account": SALES, "credit": "10.00"},
        ]
    )
    posted = services.entry_post(instance=entry)
    assert lines_of(posted)[-1] == (5, GAIN, 0, 1, "EUR", -1, "")


def test_jpy_has_no_decimals(books: Any, posted: Any, draft: Any) -> None:
    entry = posted(
        lines=[
            in_currency("JPY", FX_BANK, "10000", "debit", "61.73"),
            in_currency("JPY", FX_CUSTOMERS, "5000", "credit", "30.87", "Tanaka KK"),
            in_currency("JPY", FX_CUSTOMERS, "5000", "credit", "30.87", "Sato KK"),
        ]
    )
    assert lines_of(entry)[0][4:6] == ("JPY", 10000)
    assert lines_of(entry)[-1] == (4, LOSS, 1, 0, "EUR", 1, "")
    bad = draft(
        lines=[
            in_currency("JPY", FX_BANK, "10000", "debit", "61.73"),
            in_currency("JPY", FX_CUSTOMERS, "9999", "credit", "61.73", "Tanaka KK"),
        ]
    )
    with pytest.raises(ValidationError) as exc:
        services.entry_post(instance=bad)
    assert exc.value.message_dict["amount_currency"] == [
        "The amounts in JPY do not balance: debit - credit = 1 JPY."
    ]
    intact(books)


def test_bhd_has_three_decimals(books: Any, posted: Any, draft: Any) -> None:
    entry = posted(
        lines=[
            in_currency("BHD", FX_BANK, "100.000", "debit", "243.90"),
            in_currency("BHD", FX_CUSTOMERS, "33.333", "credit", "81.30", "Al Noor WLL"),
            in_currency("BHD", FX_CUSTOMERS, "33.333", "credit", "81.30", "Gulf Trading"),
            in_currency("BHD", FX_CUSTOMERS, "33.334", "credit", "81.31", "Manama Co"),
        ]
    )
    assert [line[5] for line in lines_of(entry)] == [100000, -33333, -33333, -33334, 1]
    assert lines_of(entry)[-1] == (5, LOSS, 1, 0, "EUR", 1, "")
    bad = draft(
        lines=[
            in_currency("BHD", FX_BANK, "100.000", "debit", "243.90"),
            in_currency("BHD", FX_CUSTOMERS, "99.999", "credit", "243.90", "Manama Co"),
        ]
    )
    with pytest.raises(ValidationError) as exc:
        services.entry_post(instance=bad)
    assert exc.value.message_dict["amount_currency"] == [
        "The amounts in BHD do not balance: debit - credit = 0.001 BHD."
    ]
    intact(books)


def test_tolerance_is_in_minor_units_of_a_yen_company(make_company: Any) -> None:
    company = make_company("NIPPON", country="ZZ", base_currency="JPY")
    services.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    journal = company_journal(company)
    lines = [
        {"account": "1251", "debit": "15000", "currency": "USD", "amount_currency": "100.00"},
        {
            "account": "1210",
            "credit": "7499",
            "currency": "USD",
            "amount_currency": "-50.00",
            "partner": "Acme Inc",
        },
        {
            "account": "1210",
            "credit": "7499",
            "currency": "USD",
            "amount_currency": "-50.00",
            "partner": "Beta LLC",
        },
    ]
    draft = services.entry_create_draft(
        company=company, journal=journal, date=dt.date(2026, 3, 1), lines=lines
    )
    entry = services.entry_post(instance=draft)
    assert lines_of(entry)[-1] == (4, "7103", 0, 2, "JPY", -2, "")
    intact(company)


def company_journal(company: Any) -> Any:
    from trastienda.ledger.models import Journal

    return Journal.objects.get(company=company, code="GEN")


def test_unsaved_lines_get_an_unsaved_difference_line(books: Any) -> None:
    """The contract for a bulk path: lines not yet stored come back with the new line unstored."""
    accounts = {a.code: a for a in Account.objects.filter(company=books)}
    entry = JournalEntry(company=books, journal=company_journal(books), date=dt.date(2026, 3, 1))
    lines = [
        JournalEntryLine(
            company=books,
            line_no=n,
            account=accounts[code],
            debit=debit,
            credit=credit,
            currency_id="USD",
            amount_currency=amount,
        )
        for n, (code, debit, credit, amount) in enumerate(
            [
                (FX_BANK, 9689, 0, 10000),
                (INVESTMENTS, 0, 4844, -5000),
                (INVESTMENTS, 0, 4844, -5000),
            ],
            start=1,
        )
    ]
    result, errors = fx.balance_currencies(entry, lines)
    assert errors == {}
    added = result[-1]
    assert (added.line_no, added.account.code, added.credit, added.pk) == (4, GAIN, 1, None)
    assert result[:3] == lines
    assert not JournalEntryLine.objects.exists()


# --- default exchange accounts ----------------------------------------------------------------


def settings_codes(company: Any) -> tuple[str | None, str | None]:
    row = LedgerSettings.objects.select_related(
        "exchange_gain_account", "exchange_loss_account"
    ).get(company=company)
    return (
        row.exchange_gain_account.code if row.exchange_gain_account else None,
        row.exchange_loss_account.code if row.exchange_loss_account else None,
    )


def test_company_setup_sets_the_exchange_accounts_of_its_chart(make_company: Any) -> None:
    assert settings_codes(make_company("ESCO")) == ("768", "668")
    assert settings_codes(make_company("ITCO", country="IT")) == ("12.04.001", "12.04.002")
    assert settings_codes(make_company("ZZCO", country="ZZ")) == ("7103", "7203")


def test_migration_fills_empty_settings_of_existing_companies(make_company: Any) -> None:
    spain, italy = make_company("ESCO"), make_company("ITCO", country="IT")
    other = make_company("ZZCO", country="ZZ")
    LedgerSettings.objects.update(exchange_gain_account=None, exchange_loss_account=None)
    Account.objects.filter(company=other, code="7203").delete()  # a chart without the loss one
    migration = importlib.import_module("trastienda.ledger.migrations.0005_exchange_accounts")
    migration.fill(global_apps, None)
    assert settings_codes(spain) == ("768", "668")
    assert settings_codes(italy) == ("12.04.001", "12.04.002")
    assert settings_codes(other) == ("7103", None)
    chosen = Account.objects.get(company=spain, code="7000")
    LedgerSettings.objects.filter(company=spain).update(exchange_gain_account=chosen)
    migration.fill(global_apps, None)  # a chosen account stays
    assert settings_codes(spain) == ("7000", "668")


def test_settings_page_edits_the_exchange_accounts(
    books: Any, other_company: Any, make_user: Any, login: Any
) -> None:
    settings = LedgerSettings.objects.get(company=books)
    client = login(make_user("boss", company=books, role="administrator"))
    url = f"/c/{books.code}/ledger/settings/{settings.pk}/edit/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="exchange_gain_account"' in page.content
    assert b'name="exchange_loss_account"' in page.content
    gain = Account.objects.get(company=books, code="7690")
    loss = Account.objects.get(company=books, code=LOSS)
    response = client.post(
        url, {"exchange_gain_account": gain.pk, "exchange_loss_account": loss.pk}
    )
    assert response.status_code == 302
    assert settings_codes(books) == ("7690", LOSS)
    foreign = Account.objects.get(company=other_company, code="12.04.001")
    refused = client.post(
        url, {"exchange_gain_account": foreign.pk, "exchange_loss_account": loss.pk}
    )
    assert refused.status_code == 400
    assert settings_codes(books) == ("7690", LOSS)
    with pytest.raises(ValidationError) as exc:
        services.settings_update(
            instance=settings, hard_lock_date=None, lock_date=None, exchange_gain_account=foreign
        )
    assert "exchange_gain_account" in exc.value.message_dict


# --- revaluation ------------------------------------------------------------------------------

JUNE = dt.date(2026, 6, 30)


def rate(company: Any, day: dt.date, value: str, source: str = "EUR", target: str = "USD") -> None:
    services.exchange_rate_create(
        company=company, date=day, from_currency=source, to_currency=target, rate=value
    )


@pytest.fixture
def fx_books(books: Any, posted: Callable[..., JournalEntry]) -> Any:
    """1 EUR = 1.25 USD in January, 1.20 on 30 June, 1.28 on 30 September.

    USD bank 1,000.00 (800.00 EUR); customers Acme Inc USD 500.00 (400.00) and Beta LLC
    USD 250.00 (200.00); supplier Gamma Ltd USD 200.00 (160.00).
    """
    rate(books, dt.date(2026, 1, 2), "1.25")
    rate(books, JUNE, "1.20")
    rate(books, dt.date(2026, 9, 30), "1.28")
    posted(
        lines=[usd(FX_BANK, "1000.00", "debit", "800.00"), {"account": BANK, "credit": "800.00"}],
        date=dt.date(2026, 1, 10),
    )
    for day, partner, amount, base in (
        (15, "Acme Inc", "500.00", "400.00"),
        (20, "Beta LLC", "250.00", "200.00"),
    ):
        posted(
            lines=[
                usd(FX_CUSTOMERS, amount, "debit", base, partner),
                {"account": SALES, "credit": base},
            ],
            date=dt.date(2026, 1, day),
        )
    posted(
        lines=[
            {"account": PURCHASES, "debit": "160.00"},
            usd(FX_SUPPLIERS, "200.00", "credit", "160.00", "Gamma Ltd"),
        ],
        date=dt.date(2026, 1, 25),
    )
    return books


def preview_table(company: Any, date: dt.date) -> list[tuple[Any, ...]]:
    return [
        (x.account.code, x.partner, x.currency, x.balance, x.book_value, x.revalued, x.difference)
        for x in fx.revaluation_preview(company=company, date=date)
    ]


def test_preview_values_each_balance_at_the_rate_of_the_date(fx_books: Any) -> None:
    assert preview_table(fx_books, JUNE) == [
        (FX_SUPPLIERS, "Gamma Ltd", "USD", -20000, -16000, -16667, -667),
        (FX_CUSTOMERS, "Acme Inc", "USD", 50000, 40000, 41667, 1667),
        (FX_CUSTOMERS, "Beta LLC", "USD", 25000, 20000, 20833, 833),
        (FX_BANK, "", "USD", 100000, 80000, 83333, 3333),
    ]
    first = fx.revaluation_preview(company=fx_books, date=JUNE)[0]
    assert str(first.rate) == "1 EUR = 1.2 USD" and first.rate.date == JUNE
    assert AccountBalance.objects.filter(company=fx_books, account__code=SALES).exists()
    assert SALES not in {row[0] for row in preview_table(fx_books, JUNE)}


def test_revaluation_posts_gains_and_losses_by_partner(fx_books: Any) -> None:
    entry = fx.revaluation_post(company=fx_books, date=JUNE)
    assert entry is not None and entry.is_posted
    assert (entry.date, entry.journal.code, entry.reference) == (JUNE, "GEN", "REVAL 2026-06-30")
    assert lines_of(entry) == [
        (1, FX_SUPPLIERS, 0, 667, "USD", 0, "Gamma Ltd"),
        (2, FX_CUSTOMERS, 1667, 0, "USD", 0, "Acme Inc"),
        (3, FX_CUSTOMERS, 833, 0, "USD", 0, "Beta LLC"),
        (4, FX_BANK, 3333, 0, "USD", 0, ""),
        (5, GAIN, 0, 5833, "EUR", -5833, ""),
        (6, LOSS, 667, 0, "EUR", 667, ""),
    ]
    # book values now equal the revalued amounts, per partner too
    assert [row[4] for row in preview_table(fx_books, JUNE)] == [-16667, 41667, 20833, 83333]
    intact(fx_books)


def test_revaluing_twice_at_the_same_date_posts_nothing(fx_books: Any) -> None:
    assert fx.revaluation_post(company=fx_books, date=JUNE) is not None
    count = JournalEntry.objects.filter(company=fx_books).count()
    assert fx.revaluation_post(company=fx_books, date=JUNE) is None
    assert JournalEntry.objects.filter(company=fx_books).count() == count
    assert all(row[6] == 0 for row in preview_table(fx_books, JUNE))
    intact(fx_books)


def test_a_later_revaluation_books_a_loss_from_the_revalued_amounts(fx_books: Any) -> None:
    fx.revaluation_post(company=fx_books, date=JUNE)
    september = fx.revaluation_post(company=fx_books, date=dt.date(2026, 9, 30))
    assert september is not None
    # 1,000 USD / 1.28 = 781.25: the bank loses 833.33 - 781.25 = 52.08
    bank = [line for line in lines_of(september) if line[1] == FX_BANK]
    assert bank == [(4, FX_BANK, 0, 5208, "USD", 0, "")]
    losses = [line for line in lines_of(september) if line[1] == LOSS]
    assert losses == [(6, LOSS, 5208 + 2604 + 1302, 0, "EUR", 5208 + 2604 + 1302, "")]
    gains = [line for line in lines_of(september) if line[1] == GAIN]
    assert gains == [(5, GAIN, 0, 1042, "EUR", -1042, "")]  # the supplier: 166.67 -> 156.25
    intact(fx_books)


def test_reversal_on_the_next_day(fx_books: Any) -> None:
    before = preview_table(fx_books, JUNE)
    entry = fx.revaluation_post(company=fx_books, date=JUNE, reverse_on=dt.date(2026, 7, 1))
    assert entry is not None
    reversal = JournalEntry.objects.get(reversal_of=entry)
    assert reversal.date == dt.date(2026, 7, 1) and reversal.is_posted
    assert [line[1:4] for line in lines_of(reversal)] == [
        (line[1], line[3], line[2]) for line in lines_of(entry)
    ]
    assert preview_table(fx_books, dt.date(2026, 7, 1)) == before
    intact(fx_books)
    with pytest.raises(ValidationError) as exc:
        fx.revaluation_post(company=fx_books, date=JUNE, reverse_on=JUNE)
    assert "reverse_on" in exc.value.message_dict


def test_missing_rate_is_named_and_nothing_is_written(fx_books: Any, posted: Any) -> None:
    posted(
        lines=[
            in_currency("GBP", FX_BANK, "85.00", "debit", "100.00"),
            {"account": BANK, "credit": "100.00"},
        ],
        date=dt.date(2026, 2, 1),
    )
    count = JournalEntry.objects.filter(company=fx_books).count()
    with pytest.raises(ValidationError) as exc:
        fx.revaluation_post(company=fx_books, date=JUNE)
    assert exc.value.message_dict == {
        "date": ["No exchange rate between GBP and EUR on or before 2026-06-30."]
    }
    assert JournalEntry.objects.filter(company=fx_books).count() == count
    with pytest.raises(ValidationError):
        fx.revaluation_preview(company=fx_books, date=JUNE)
    # a rate after the date does not count; one before it does, in either direction
    rate(fx_books, dt.date(2026, 7, 1), "0.85", "EUR", "GBP")
    with pytest.raises(ValidationError):
        fx.revaluation_preview(company=fx_books, date=JUNE)
    rate(fx_books, dt.date(2026, 6, 1), "1.19", "GBP", "EUR")
    gbp = [row for row in preview_table(fx_books, JUNE) if row[2] == "GBP"]
    assert gbp == [(FX_BANK, "", "GBP", 8500, 10000, 10115, 115)]


def test_missing_exchange_accounts_are_named(fx_books: Any) -> None:
    LedgerSettings.objects.filter(company=fx_books).update(exchange_loss_account=None)
    count = JournalEntry.objects.filter(company=fx_books).count()
    with pytest.raises(ValidationError) as exc:
        fx.revaluation_post(company=fx_books, date=JUNE)
    assert list(exc.value.message_dict) == ["exchange_loss_account"]
    assert "exchange losses account" in exc.value.message_dict["exchange_loss_account"][0]
    assert JournalEntry.objects.filter(company=fx_books).count() == count


def test_partial_month_reads_the_lines_and_skips_drafts(
    fx_books: Any, posted: Any, draft: Any
) -> None:
    posted(
        lines=[usd(FX_BANK, "100.00", "debit", "82.00"), {"account": BANK, "credit": "82.00"}],
        date=dt.date(2026, 6, 10),
    )
    posted(
        lines=[usd(FX_BANK, "50.00", "debit", "41.00"), {"account": BANK, "credit": "41.00"}],
        date=dt.date(2026, 6, 20),
    )
    draft(
        lines=[usd(FX_BANK, "70.00", "debit", "58.00"), {"account": BANK, "credit": "58.00"}],
        date=dt.date(2026, 6, 12),
    )
    bank = [row for row in preview_table(fx_books, dt.date(2026, 6, 15)) if row[0] == FX_BANK]
    # 1,100 USD at 1.25 (the January rate is the latest on 15 June) = 880.00 EUR
    assert bank == [(FX_BANK, "", "USD", 110000, 88200, 88000, -200)]


def test_accounts_kept_in_a_foreign_currency_are_revalued(fx_books: Any, posted: Any) -> None:
    investments = Account.objects.get(company=fx_books, code=INVESTMENTS)
    posted(
        lines=[
            usd(INVESTMENTS, "125.00", "debit", "100.00"),
            {"account": BANK, "credit": "100.00"},
        ],
        date=dt.date(2026, 2, 1),
    )
    assert INVESTMENTS not in {row[0] for row in preview_table(fx_books, JUNE)}
    services.account_update(instance=investments, default_currency=Currency.objects.get(code="USD"))
    assert [row for row in preview_table(fx_books, JUNE) if row[0] == INVESTMENTS] == [
        (INVESTMENTS, "", "USD", 12500, 10000, 10417, 417)
    ]


def test_rates_convert_exactly_and_round_half_up() -> None:
    day = dt.date(2026, 1, 1)
    ecb = fx.Rate(day, "EUR", "USD", Decimal("1.20"))
    assert ecb.convert(100000, "USD", "EUR") == 83333  # 833.333...
    assert ecb.convert(-100000, "USD", "EUR") == -83333
    direct = fx.Rate(day, "USD", "EUR", Decimal("0.8333"))
    assert direct.convert(100000, "USD", "EUR") == 83330
    halves = fx.Rate(day, "EUR", "USD", Decimal("2"))
    assert halves.convert(1, "USD", "EUR") == 1  # 0.005 EUR -> 0.01
    assert halves.convert(-1, "USD", "EUR") == -1  # -0.005 EUR -> -0.01
    assert halves.convert(3, "USD", "EUR") == 2  # 0.015 -> 0.02
    yen = fx.Rate(day, "EUR", "JPY", Decimal("160"))
    assert yen.convert(1, "JPY", "EUR") == 1  # 0.00625 EUR -> 0.01
    assert yen.convert(8, "JPY", "EUR") == 5
    dinar = fx.Rate(day, "EUR", "BHD", Decimal("0.41"))
    assert dinar.convert(1, "BHD", "EUR") == 0  # 0.001 BHD = 0.00243... EUR
    assert dinar.convert(100000, "BHD", "EUR") == 24390  # 100 BHD = 243.902... EUR
    # a long quotient just below a half rounds down, not up
    third = fx.Rate(day, "EUR", "USD", Decimal("3.0000000001"))
    assert third.convert(1500, "USD", "EUR") == 500  # 4.99999999983... cents


def test_rate_on_prefers_the_latest_and_the_direct_quote(fx_books: Any) -> None:
    assert str(fx.rate_on(fx_books, "USD", dt.date(2026, 6, 29))) == "1 EUR = 1.25 USD"
    rate(fx_books, JUNE, "0.84", "USD", "EUR")
    assert str(fx.rate_on(fx_books, "USD", JUNE)) == "1 USD = 0.84 EUR"
    assert fx.rate_on(fx_books, "CHF", JUNE) is None


# --- page, API, CLI ---------------------------------------------------------------------------


def test_revaluation_page_previews_and_posts(
    fx_books: Any, make_user: Any, login: Any, csrf_client: Any
) -> None:
    url = f"/c/{fx_books.code}/ledger/revaluation/"
    accountant = make_user("ana", company=fx_books, role="accountant")
    client = login(accountant)
    page = client.get(url)
    assert page.status_code == 200 and b'name="date"' in page.content
    preview = client.get(url, {"date": "2026-06-30", "reverse_on": "2026-07-01"})
    assert preview.status_code == 200
    content = preview.content.decode()
    assert 'id="revaluation-table"' in content and 'id="revaluation-post"' in content
    for text in ("Gamma Ltd", "Acme Inc", "Beta LLC", "1 EUR = 1.2 USD", "33.33", "-6.67"):
        assert text in content
    assert 'value="2026-07-01"' in content
    assert not JournalEntry.objects.filter(company=fx_books, reference__startswith="REVAL").exists()
    missing = client.get(url, {"date": "2025-12-31"})  # before any rate: nothing open yet
    assert (
        missing.status_code == 200
        and "No open foreign-currency balances" in missing.content.decode()
    )
    # CSRF is enforced on the post
    csrf_client.force_login(accountant)
    assert csrf_client.post(url, {"date": "2026-06-30"}).status_code == 403
    response = client.post(url, {"date": "2026-06-30", "reverse_on": "2026-07-01"})
    entry = JournalEntry.objects.get(
        company=fx_books, reference="REVAL 2026-06-30", reversal_of__isnull=True
    )
    assert response.status_code == 302
    assert response["Location"] == f"/c/{fx_books.code}/ledger/entries/{entry.pk}/"
    assert JournalEntry.objects.filter(reversal_of=entry, date=dt.date(2026, 7, 1)).exists()
    again = client.post(url, {"date": "2026-06-30"})
    assert again.status_code == 302 and "date=2026-06-30" in again["Location"]
    bad = client.post(url, {"date": "2026-06-30", "reverse_on": "2026-06-01"})
    assert bad.status_code == 400 and "after the revaluation date" in bad.content.decode()
    intact(fx_books)


def test_revaluation_page_shows_missing_rates_and_needs_the_post_permission(
    fx_books: Any, posted: Any, make_user: Any, login: Any
) -> None:
    posted(
        lines=[
            in_currency("GBP", FX_BANK, "85.00", "debit", "100.00"),
            {"account": BANK, "credit": "100.00"},
        ],
        date=dt.date(2026, 2, 1),
    )
    url = f"/c/{fx_books.code}/ledger/revaluation/"
    client = login(make_user("ana", company=fx_books, role="accountant"))
    page = client.get(url, {"date": "2026-06-30"})
    assert page.status_code == 400
    assert "No exchange rate between GBP and EUR" in page.content.decode()
    count = JournalEntry.objects.filter(company=fx_books).count()
    assert client.post(url, {"date": "2026-06-30"}).status_code == 400
    clerk = login(make_user("carl", company=fx_books, role="clerk"))
    assert clerk.get(url).status_code == 403
    assert clerk.post(url, {"date": "2026-06-30"}).status_code == 403
    assert JournalEntry.objects.filter(company=fx_books).count() == count


def test_revaluation_api(fx_books: Any, posted: Any, make_user: Any, login: Any) -> None:
    client = login(make_user("ana", company=fx_books, role="accountant"))
    headers = {"HTTP_X_COMPANY": fx_books.code}
    api = "/api/v1/ledger/revaluation/"
    preview = client.get(f"{api}?date=2026-06-30", **headers)
    assert preview.status_code == 200
    body = preview.json()
    assert body["currency"] == "EUR" and body["difference"] == "51.66"
    assert body["lines"][0] == {
        "account": FX_SUPPLIERS,
        "name": "Suppliers (foreign currency)",
        "partner": "Gamma Ltd",
        "currency": "USD",
        "balance": "-200.00",
        "rate": "1 EUR = 1.2 USD",
        "rate_date": "2026-06-30",
        "revalued": "-166.67",
        "book_value": "-160.00",
        "difference": "-6.67",
    }
    missing = client.post(api, {}, content_type="application/json", **headers)
    assert missing.status_code == 400 and "date" in missing.json()["error"]["fields"]
    early = client.post(
        api,
        {"date": "2026-06-30", "reverse_on": "2026-06-30"},
        content_type="application/json",
        **headers,
    )
    assert early.status_code == 400 and "reverse_on" in early.json()["error"]["fields"]
    created = client.post(
        api,
        {"date": "2026-06-30", "reverse_on": "2026-07-01"},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201
    entry = created.json()
    assert entry["state"] == "posted" and entry["reference"] == "REVAL 2026-06-30"
    assert [x["account"] for x in entry["lines"]] == [
        FX_SUPPLIERS,
        FX_CUSTOMERS,
        FX_CUSTOMERS,
        FX_BANK,
        GAIN,
        LOSS,
    ]
    again = client.post(api, {"date": "2026-06-30"}, content_type="application/json", **headers)
    assert again.status_code == 200 and again.json()["entry"] is None
    posted(
        lines=[
            in_currency("GBP", FX_BANK, "85.00", "debit", "100.00"),
            {"account": BANK, "credit": "100.00"},
        ],
        date=dt.date(2026, 2, 1),
    )
    no_rate = client.post(api, {"date": "2026-08-31"}, content_type="application/json", **headers)
    assert no_rate.status_code == 400
    assert "GBP" in no_rate.json()["error"]["fields"]["date"][0]
    assert client.get(f"{api}?date=2026-08-31", **headers).status_code == 400
    viewer = login(make_user("otto", company=fx_books, role="auditor"))
    assert viewer.get(api, **headers).status_code == 403
    assert viewer.post(api, {"date": "2026-06-30"}, **headers).status_code == 403


def test_cli_revalue(fx_books: Any, capsys: Any) -> None:
    code = fx_books.code
    call_command("ledger", "revalue", "--company", code, "--date", "2026-06-30", "--dry-run")
    out = capsys.readouterr().out
    assert "Dry run: 4 balances, difference 51.66 EUR; nothing posted." in out
    assert "Gamma Ltd" in out and "-6.67 EUR" in out
    assert not JournalEntry.objects.filter(company=fx_books, reference__startswith="REVAL").exists()
    call_command(
        "ledger",
        "revalue",
        "--company",
        code,
        "--date",
        "2026-06-30",
        "--reverse-on",
        "2026-07-01",
    )
    out = capsys.readouterr().out
    assert "Revaluation posted as entry GEN/2026/000005." in out
    assert JournalEntry.objects.filter(company=fx_books, reference="REVAL 2026-06-30").count() == 2
    call_command("ledger", "revalue", "--company", code, "--date", "2026-06-30")
    assert "Nothing to revalue at 2026-06-30." in capsys.readouterr().out
    with pytest.raises(CommandError, match="--date"):
        call_command("ledger", "revalue", "--company", code, "--date", "30/06/2026")
    with pytest.raises(CommandError, match="Unknown company"):
        call_command("ledger", "revalue", "--company", "NOPE", "--date", "2026-06-30")
    rate_free = dt.date(2025, 12, 31)  # no fiscal year and no balances: nothing to do
    call_command("ledger", "revalue", "--company", code, "--date", rate_free.isoformat())
    assert "Nothing to revalue" in capsys.readouterr().out
    intact(fx_books)


def test_demo_has_usd_balances_to_revalue(db: Any) -> None:
    from trastienda.core.demo import demo_run

    spain = demo_run(log=lambda _line: None).companies["ES01"]
    assert [(row[0], row[1], row[3], row[4]) for row in preview_table(spain, JUNE)] == [
        (FX_CUSTOMERS, "Hardware Depot Inc.", 500000, 484449),
        (FX_BANK, "", 1000000, 968908),
    ]
    entry = fx.revaluation_post(company=spain, date=JUNE, reverse_on=dt.date(2026, 7, 1))
    assert entry is not None
    intact(spain)

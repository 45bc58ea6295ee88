from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from trastienda.ledger import services
from trastienda.ledger.models import (
    Account,
    AccountBalance,
    CostCentre,
    DimensionBalance,
    FiscalYear,
    Journal,
    JournalEntry,
    JournalEntryLine,
    JournalSequence,
    LedgerSettings,
    Period,
    Project,
)
from trastienda.ledger.tests.conftest import BANK, CAPITAL, CUSTOMERS, FEES, SALES


def test_fiscal_year_has_monthly_periods(books: Any, year: FiscalYear) -> None:
    periods = list(
        Period.objects.filter(fiscal_year=year).values_list("number", "start_date", "end_date")
    )
    assert len(periods) == 12
    assert periods[1] == (2, dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    with pytest.raises(ValidationError) as err:
        services.fiscal_year_create(
            company=books,
            name="2026b",
            start_date=dt.date(2026, 7, 1),
            end_date=dt.date(2027, 6, 30),
        )
    assert "start_date" in err.value.message_dict
    short = services.fiscal_year_create(
        company=books, name="2027", start_date=dt.date(2027, 1, 15), end_date=dt.date(2027, 3, 31)
    )
    assert [p.start_date for p in short.periods.all()] == [
        dt.date(2027, 1, 15),
        dt.date(2027, 2, 1),
        dt.date(2027, 3, 1),
    ]


def test_journal_number_format_validation(books: Any) -> None:
    with pytest.raises(ValidationError) as err:
        services.journal_create(company=books, code="X", name="X", number_format="{code}/{foo}")
    assert "number_format" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.journal_create(company=books, code="Y", name="Y", number_format="{code}/{year}")
    journal = services.journal_create(
        company=books, code="vta", name="Ventas", type="sales", number_format="V{year}-{number:04d}"
    )
    assert journal.code == "VTA"


def test_post_numbers_hashes_and_balances(books: Any, posted: Any, journal: Journal) -> None:
    first = posted("1000.00")
    second = posted("25.50", debit=FEES, credit=BANK, date=dt.date(2026, 4, 2))
    assert (first.number, second.number) == ("GEN/2026/000001", "GEN/2026/000002")
    assert (first.chain_seq, second.chain_seq) == (1, 2)
    assert second.prev_hash == first.hash and len(second.hash) == 64
    assert JournalSequence.objects.get(journal=journal).last_number == 2
    bank = Account.objects.get(company=books, code=BANK)
    rows = AccountBalance.objects.filter(account=bank).order_by("month")
    assert [(b.month, b.debit, b.credit, b.amount_currency) for b in rows] == [
        (3, 100000, 0, 100000),
        (4, 0, 2550, -2550),
    ]
    assert services.ledger_balances_verify(company=books) == []
    assert services.ledger_verify(company=books).ok


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([{"account": BANK, "debit": "10"}, {"account": CAPITAL, "credit": "9.99"}], "lines"),
        ([{"account": "572", "debit": "10"}, {"account": CAPITAL, "credit": "10"}], "lines.1"),
        ([{"account": CUSTOMERS, "debit": "10"}, {"account": SALES, "credit": "10"}], "lines.1"),
        ([{"account": BANK, "debit": "10"}], "lines"),
    ],
)
def test_post_refuses_and_consumes_no_number(
    books: Any, draft: Any, posted: Any, journal: Journal, lines: Any, field: str
) -> None:
    entry = draft(lines=lines)
    with pytest.raises(ValidationError) as err:
        services.entry_post(instance=entry)
    assert field in err.value.message_dict
    entry.refresh_from_db()
    assert (entry.state, entry.number) == ("draft", None)
    assert not AccountBalance.objects.for_company(books).exists()
    assert posted().number == "GEN/2026/000001"  # the failure consumed no number


def test_draft_line_errors_name_the_line(books: Any, draft: Any) -> None:
    with pytest.raises(ValidationError) as err:
        draft(
            lines=[
                {"account": "nope", "debit": "1"},
                {"account": BANK, "debit": "1.001"},
                {"account": BANK, "debit": "1", "credit": "1"},
            ]
        )
    assert sorted(err.value.message_dict) == ["lines.1", "lines.2", "lines.3"]
    with pytest.raises(TypeError):
        draft(lines=[{"account": BANK, "debit": 1.5}, {"account": CAPITAL, "credit": "1.5"}])
    assert not JournalEntry.objects.exists()


def test_partner_satisfies_receivable(books: Any, posted: Any) -> None:
    entry = posted(
        lines=[
            {
                "account": CUSTOMERS,
                "debit": "121.00",
                "partner": "Bricolajes Pérez S.L.",
                "due_date": "2026-04-30",
            },
            {"account": SALES, "credit": "121.00"},
        ]
    )
    line = entry.lines.get(line_no=1)
    assert (line.partner, line.due_date) == ("Bricolajes Pérez S.L.", dt.date(2026, 4, 30))


def test_archived_account_and_closed_periods(books: Any, draft: Any, year: FiscalYear) -> None:
    bank = Account.objects.get(company=books, code=BANK)
    services.account_update(instance=bank, active=False)
    with pytest.raises(ValidationError) as err:
        services.entry_post(instance=draft())
    assert "lines.1" in err.value.message_dict
    services.account_update(instance=bank, active=True)
    march = Period.objects.get(fiscal_year=year, number=3)
    services.period_update(instance=march, state="closed")
    entry = draft()
    with pytest.raises(ValidationError) as err:
        services.entry_post(instance=entry)
    assert "date" in err.value.message_dict
    services.period_update(instance=march, state="open")
    services.fiscal_year_update(instance=year, state="closed")
    with pytest.raises(ValidationError):
        services.entry_post(instance=entry)
    with pytest.raises(ValidationError):
        services.period_update(instance=march, state="open")
    with pytest.raises(ValidationError) as err:
        services.entry_post(instance=draft(date=dt.date(2025, 6, 1)))
    assert "date" in err.value.message_dict


def test_lock_dates(books: Any, draft: Any) -> None:
    settings = LedgerSettings.objects.get(company=books)
    with pytest.raises(ValidationError):
        services.settings_update(
            instance=settings, hard_lock_date=dt.date(2026, 3, 31), lock_date=dt.date(2026, 2, 28)
        )
    services.settings_update(
        instance=settings, hard_lock_date=dt.date(2026, 1, 31), lock_date=dt.date(2026, 3, 31)
    )
    soft = draft(date=dt.date(2026, 3, 15))
    with pytest.raises(ValidationError) as err:
        services.entry_post(instance=soft)
    assert "chief accountants" in str(err.value)
    assert services.entry_post(instance=soft, allow_before_lock=True).state == "posted"
    hard = draft(date=dt.date(2026, 1, 20))
    with pytest.raises(ValidationError):
        services.entry_post(instance=hard, allow_before_lock=True)
    assert services.entry_post(instance=draft(date=dt.date(2026, 4, 1))).state == "posted"


def test_drafts_editable_posted_frozen(books: Any, draft: Any, journal: Journal) -> None:
    entry = draft()
    entry = services.entry_update_draft(
        instance=entry,
        description="Aportación",
        lines=[{"account": BANK, "debit": "300"}, {"account": CAPITAL, "credit": "300"}],
    )
    assert list(entry.lines.values_list("debit", "credit")) == [(30000, 0), (0, 30000)]
    services.entry_post(instance=entry)
    with pytest.raises(ValidationError):
        services.entry_update_draft(instance=entry, description="changed")
    with pytest.raises(ValidationError):
        services.entry_delete_draft(instance=entry)
    with pytest.raises(ValidationError):
        services.entry_post(instance=entry)
    other = draft()
    services.entry_delete_draft(instance=other)
    assert not JournalEntry.objects.filter(pk=other.pk).exists()
    assert JournalEntryLine.objects.filter(entry=entry).count() == 2


def test_reverse_restores_balances(books: Any, posted: Any) -> None:
    entry = posted("80.00", debit=FEES, credit=BANK)
    reversal = services.entry_reverse(instance=entry, date=dt.date(2026, 3, 31))
    assert reversal.reversal_of_id == entry.pk and reversal.number == "GEN/2026/000002"
    assert list(reversal.lines.values_list("debit", "credit")) == [(0, 8000), (8000, 0)]
    net = {b.account_id: b.debit - b.credit for b in AccountBalance.objects.for_company(books)}
    assert set(net.values()) == {0}
    with pytest.raises(ValidationError):
        services.entry_reverse(instance=entry)  # only once
    assert services.ledger_balances_verify(company=books) == []


def test_dimension_balances_follow_posting_and_reversal(books: Any, posted: Any) -> None:
    shop = CostCentre.objects.create(company=books, code="SHOP", name="Shop")
    fair = Project.objects.create(company=books, code="FAIR", name="Fair")
    entry = posted(
        lines=[
            {"account": FEES, "debit": "60.00", "cost_centre": "SHOP", "project": "FAIR"},
            {"account": FEES, "debit": "40.00", "cost_centre": "SHOP"},
            {"account": BANK, "credit": "100.00"},
        ]
    )
    rows = {
        (b.dimension, b.dimension_id): (b.debit, b.credit)
        for b in DimensionBalance.objects.for_company(books)
    }
    assert rows == {("cost_centre", shop.pk): (10000, 0), ("project", fair.pk): (6000, 0)}
    assert services.ledger_balances_verify(company=books) == []
    services.entry_reverse(instance=entry, date=dt.date(2026, 4, 1))
    april = DimensionBalance.objects.for_company(books).filter(month=4)
    assert sorted((b.dimension, b.debit, b.credit) for b in april) == [
        ("cost_centre", 0, 10000),
        ("project", 0, 6000),
    ]
    assert services.ledger_balances_verify(company=books) == []
    DimensionBalance.objects.filter(dimension="project", month=3).update(debit=1)
    ((key, stored, computed),) = services.ledger_balances_verify(company=books)
    assert key == (
        Account.objects.get(company=books, code=FEES).pk,
        "project",
        fair.pk,
        2026,
        3,
    )
    assert (stored, computed) == ((1, 0), (6000, 0))


def _raw(sql: str, params: list[Any]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_triggers_refuse_raw_update_and_delete(books: Any, posted: Any, draft: Any) -> None:
    entry = posted()
    line = entry.lines.first()
    for sql, params in (
        ("UPDATE ledger_journalentry SET description = 'x' WHERE id = %s", [entry.pk]),
        ("DELETE FROM ledger_journalentry WHERE id = %s", [entry.pk]),
        ("UPDATE ledger_journalentryline SET debit = debit + 1 WHERE id = %s", [line.pk]),
        ("DELETE FROM ledger_journalentryline WHERE id = %s", [line.pk]),
        (
            "INSERT INTO ledger_journalentryline (company_id, entry_id, line_no, account_id,"
            " description, debit, credit, currency_id, amount_currency, partner)"
            " VALUES (%s, %s, 9, %s, '', 1, 0, 'EUR', 1, '')",
            [books.pk, entry.pk, line.account_id],
        ),
    ):
        with pytest.raises(IntegrityError):
            _raw(sql, params)
    free = draft()
    _raw("UPDATE ledger_journalentry SET description = 'ok' WHERE id = %s", [free.pk])
    free.refresh_from_db()
    assert free.description == "ok"
    assert services.ledger_verify(company=books).ok


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_postgres_refuses_unbalanced_posted_entry(books: Any, draft: Any) -> None:
    entry = draft(lines=[{"account": BANK, "debit": "10"}, {"account": CAPITAL, "credit": "9"}])
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE ledger_journalentry SET state = 'posted', number = 'X/1', chain_seq = 99"
            " WHERE id = %s",
            [entry.pk],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    entry.refresh_from_db()
    assert entry.state == "draft"


def test_triggers_installed(db: Any) -> None:
    from trastienda.ledger.triggers import installed

    names = installed(connection)
    expected = (
        [
            "ledger_entry_balanced",
            "ledger_entry_balanced_insert",
            "ledger_entry_immutable",
            "ledger_line_immutable_delete",
            "ledger_line_immutable_insert",
            "ledger_line_immutable_update",
        ]
        if connection.vendor == "postgresql"
        else [
            "ledger_entry_no_delete",
            "ledger_entry_no_update",
            "ledger_line_no_delete",
            "ledger_line_no_insert",
            "ledger_line_no_update",
        ]
    )
    assert names == expected

"""The hash chain of posted entries: every hashed field, deletions, insertions and swaps."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.utils import timezone

from trastienda.ledger import hashing, services
from trastienda.ledger.models import (
    Account,
    ChainHead,
    CostCentre,
    FiscalYear,
    Journal,
    JournalEntry,
    Project,
)
from trastienda.ledger.tests.conftest import BANK, CUSTOMERS, SALES
from trastienda.ledger.triggers import lifted


@pytest.fixture
def chain(books: Any, posted: Any) -> dict[str, Any]:
    centre = CostCentre.objects.create(company=books, code="MAD", name="Madrid")
    project = Project.objects.create(company=books, code="P1", name="Tienda online")
    services.fiscal_year_create(
        company=books, name="2027", start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 12, 31)
    )
    first = posted("5000.00")
    second = posted(
        lines=[
            {
                "account": CUSTOMERS,
                "debit": "121.00",
                "partner": "Cliente A",
                "due_date": "2026-04-30",
                "cost_centre": "MAD",
                "project": "P1",
                "description": "Factura 1",
            },
            {"account": SALES, "credit": "121.00", "description": "Venta"},
        ],
        reference="F-1",
        description="Venta a Cliente A",
    )
    third = posted("10.00")
    return {
        "company": books,
        "entries": [first, second, third],
        "centre": centre,
        "project": project,
    }


# The composite keys with the company that an entry moved to another company breaks.
COMPANY_KEYS_OF_AN_ENTRY = [
    ("ledger_journalentryline", "ledger_line_entry_company_fk"),
    ("ledger_journalentry", "ledger_entry_journal_company_fk"),
    ("ledger_journalentry", "ledger_entry_fiscal_year_company_fk"),
]


def _sql(sql: str, params: list[Any]) -> None:
    with lifted(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _alternatives(chain: dict[str, Any]) -> dict[str, Any]:
    company = chain["company"]
    first = chain["entries"][0]
    return {
        "number": "GEN/2026/999999",
        "journal_id": Journal.objects.get(company=company, code="SAL").pk,
        "fiscal_year_id": FiscalYear.objects.get(company=company, name="2027").pk,
        "sequence_number": 77,
        "date": dt.date(2026, 5, 5),
        "reference": "F-2",
        "description": "Otra cosa",
        "reversal_of_id": first.pk,
        "posted_at": timezone.now() - dt.timedelta(days=3),
        "posted_by": "mallory",
    }


def test_intact_chain_and_cli(chain: dict[str, Any]) -> None:
    company = chain["company"]
    result = services.ledger_verify(company=company)
    assert (result.ok, result.checked) == (True, 3)
    out = io.StringIO()
    call_command("ledger", "verify", "--company", company.code, stdout=out)
    assert "3 posted entries verified" in out.getvalue()


def test_every_hashed_header_field_is_covered() -> None:
    assert set(hashing.HEADER_FIELDS) == {
        "company_id",
        "chain_seq",
        "state",
        "number",
        "journal_id",
        "fiscal_year_id",
        "sequence_number",
        "date",
        "reference",
        "description",
        "reversal_of_id",
        "posted_at",
        "posted_by",
    }


@pytest.mark.parametrize(
    "field",
    [
        "number",
        "journal_id",
        "fiscal_year_id",
        "sequence_number",
        "date",
        "reference",
        "description",
        "reversal_of_id",
        "posted_at",
        "posted_by",
    ],
)
def test_altered_header_field_detected(chain: dict[str, Any], field: str) -> None:
    second = chain["entries"][1]
    value = _alternatives(chain)[field]
    _sql(f"UPDATE ledger_journalentry SET {field} = %s WHERE id = %s", [value, second.pk])
    result = services.ledger_verify(company=chain["company"])
    assert (result.ok, result.entry_id, result.reason) == (False, second.pk, "altered")


@pytest.mark.parametrize(
    ("field", "reason"),
    [("prev_hash", "broken link"), ("hash", "altered"), ("hash_version", "unknown version")],
)
def test_altered_chain_fields_detected(chain: dict[str, Any], field: str, reason: str) -> None:
    second = chain["entries"][1]
    value = 9 if field == "hash_version" else "f" * 64
    _sql(f"UPDATE ledger_journalentry SET {field} = %s WHERE id = %s", [value, second.pk])
    result = services.ledger_verify(company=chain["company"])
    assert (result.ok, result.entry_id, result.reason) == (False, second.pk, reason)


@pytest.mark.parametrize("field", ["company_id", "state", "chain_seq"])
def test_entry_moved_out_of_the_chain_detected(
    chain: dict[str, Any], other_company: Any, field: str
) -> None:
    second, third = chain["entries"][1], chain["entries"][2]
    value = {"company_id": other_company.pk, "state": "draft", "chain_seq": 50}[field]
    if field == "company_id" and connection.vendor == "postgresql":
        # PostgreSQL refuses an entry moved to another company away from its lines, journal
        # and fiscal year (the composite keys with the company, migration 0012); whoever
        # drops those keys first is still caught by the chain.
        move = "UPDATE ledger_journalentry SET company_id = %s WHERE id = %s"
        with pytest.raises(IntegrityError, match="_company_fk"):
            _sql(move, [value, second.pk])
        for table, key in COMPANY_KEYS_OF_AN_ENTRY:
            _sql(f"ALTER TABLE {table} DROP CONSTRAINT {key}", [])
    if field == "state":
        _sql(
            "UPDATE ledger_journalentry SET state = 'draft', number = NULL WHERE id = %s",
            [second.pk],
        )
    else:
        _sql(f"UPDATE ledger_journalentry SET {field} = %s WHERE id = %s", [value, second.pk])
    result = services.ledger_verify(company=chain["company"])
    assert (result.ok, result.entry_id, result.reason) == (False, third.pk, "missing")


def test_line_fields_covered() -> None:
    assert set(hashing.LINE_FIELDS) == {
        "line_no",
        "account_id",
        "description",
        "debit",
        "credit",
        "currency_id",
        "amount_currency",
        "partner",
        "due_date",
        "cost_centre_id",
        "project_id",
    }


@pytest.mark.parametrize(
    "field",
    [
        "line_no",
        "account_id",
        "description",
        "debit",
        "credit",
        "currency_id",
        "amount_currency",
        "partner",
        "due_date",
        "cost_centre_id",
        "project_id",
        "date",  # the entry's date and chain position copied for the reports
        "chain_seq",
    ],
)
def test_altered_line_field_detected(chain: dict[str, Any], field: str) -> None:
    company, second = chain["company"], chain["entries"][1]
    line = second.lines.get(line_no=2 if field == "credit" else 1)
    value = {
        "line_no": 7,
        "account_id": Account.objects.get(company=company, code=BANK).pk,
        "description": "Factura 2",
        "debit": 12200,
        "credit": 12000,
        "currency_id": "USD",
        "amount_currency": 1,
        "partner": "Cliente B",
        "due_date": dt.date(2026, 5, 31),
        "cost_centre_id": None,
        "project_id": None,
        "date": "2026-01-01",
        "chain_seq": 1,
    }[field]
    _sql(f"UPDATE ledger_journalentryline SET {field} = %s WHERE id = %s", [value, line.pk])
    result = services.ledger_verify(company=company)
    assert (result.ok, result.entry_id, result.reason) == (False, second.pk, "altered")


def test_draft_line_dated_as_posted_detected(chain: dict[str, Any]) -> None:
    """A draft's line given a date by SQL would enter the reports: verify names its entry."""
    company = chain["company"]
    draft = services.entry_create_draft(
        company=company,
        journal=chain["entries"][0].journal,
        date=dt.date(2026, 3, 1),
        lines=[
            {"account": SALES, "debit": Decimal("1")},
            {"account": SALES, "credit": Decimal("1")},
        ],
    )
    assert services.ledger_verify(company=company).ok
    _sql("UPDATE ledger_journalentryline SET date = '2026-03-01' WHERE entry_id = %s", [draft.pk])
    result = services.ledger_verify(company=company)
    assert (result.ok, result.entry_id, result.reason) == (False, draft.pk, "altered")


def test_deleted_line_and_inserted_line_detected(chain: dict[str, Any]) -> None:
    company, second = chain["company"], chain["entries"][1]
    line = second.lines.get(line_no=2)
    _sql("DELETE FROM ledger_journalentryline WHERE id = %s", [line.pk])
    assert services.ledger_verify(company=company).entry_id == second.pk
    sales = Account.objects.get(company=company, code=SALES).pk
    _sql(
        "INSERT INTO ledger_journalentryline (company_id, entry_id, line_no, account_id,"
        " description, debit, credit, currency_id, amount_currency, partner)"
        " VALUES (%s, %s, 2, %s, 'Venta', 0, 12100, 'EUR', -12100, '')",
        [company.pk, second.pk, sales],
    )
    # back without the entry's date and chain position, which the reports read: detected
    result = services.ledger_verify(company=company)
    assert (result.entry_id, result.reason) == (second.pk, "altered")
    _sql(
        "UPDATE ledger_journalentryline SET date = %s, chain_seq = %s"
        " WHERE entry_id = %s AND line_no = 2",
        [second.date.isoformat(), second.chain_seq, second.pk],
    )
    assert services.ledger_verify(company=company).ok  # the same line back: intact again
    _sql(
        "INSERT INTO ledger_journalentryline (company_id, entry_id, line_no, account_id,"
        " description, debit, credit, currency_id, amount_currency, partner)"
        " VALUES (%s, %s, 3, %s, '', 0, 0, 'EUR', 0, '')",
        [company.pk, second.pk, Account.objects.get(company=company, code=SALES).pk],
    )
    result = services.ledger_verify(company=company)
    assert (result.entry_id, result.reason) == (second.pk, "altered")


def test_deleted_entries_detected(chain: dict[str, Any]) -> None:
    company = chain["company"]
    first, second, third = chain["entries"]
    _sql("DELETE FROM ledger_journalentryline WHERE entry_id = %s", [third.pk])
    _sql("DELETE FROM ledger_journalentry WHERE id = %s", [third.pk])
    result = services.ledger_verify(company=company)
    assert (result.ok, result.reason, result.chain_seq) == (False, "head", 3)  # the tail
    _sql("DELETE FROM ledger_journalentryline WHERE entry_id = %s", [second.pk])
    _sql("DELETE FROM ledger_journalentry WHERE id = %s", [second.pk])
    ChainHead.objects.filter(company=company).update(seq=1, hash=first.hash)
    assert services.ledger_verify(company=company).ok  # only with the head rewritten too


def test_inserted_entry_detected(chain: dict[str, Any]) -> None:
    """A forged entry appended with a correctly computed hash is caught by the head."""
    company, third = chain["company"], chain["entries"][2]
    forged = JournalEntry(
        company=company,
        journal=third.journal,
        date=dt.date(2026, 6, 1),
        state="posted",
        fiscal_year=third.fiscal_year,
        sequence_number=4,
        number="GEN/2026/000004",
        posted_at=timezone.now(),
        chain_seq=4,
        prev_hash=third.hash,
        hash_version=1,
    )
    forged.hash = hashing.compute_hash(third.hash, hashing.payload_of(forged, []))
    with lifted(connection):
        forged.save()
    result = services.ledger_verify(company=company)
    assert (result.ok, result.reason) == (False, "head")
    forged_bad = "0" * 64
    _sql("UPDATE ledger_journalentry SET hash = %s WHERE id = %s", [forged_bad, forged.pk])
    result = services.ledger_verify(company=company)
    assert (result.entry_id, result.reason) == (forged.pk, "altered")


def test_swapped_entries_and_lines_detected(chain: dict[str, Any]) -> None:
    company = chain["company"]
    first, second, third = chain["entries"]
    _sql("UPDATE ledger_journalentry SET chain_seq = 99 WHERE id = %s", [second.pk])
    _sql("UPDATE ledger_journalentry SET chain_seq = 2 WHERE id = %s", [third.pk])
    _sql("UPDATE ledger_journalentry SET chain_seq = 3 WHERE id = %s", [second.pk])
    result = services.ledger_verify(company=company)
    assert (result.entry_id, result.reason) == (third.pk, "broken link")
    _sql("UPDATE ledger_journalentry SET chain_seq = 99 WHERE id = %s", [second.pk])
    _sql("UPDATE ledger_journalentry SET chain_seq = 3 WHERE id = %s", [third.pk])
    _sql("UPDATE ledger_journalentry SET chain_seq = 2 WHERE id = %s", [second.pk])
    assert services.ledger_verify(company=company).ok
    a = first.lines.get(line_no=1)
    b = third.lines.get(line_no=1)
    _sql("UPDATE ledger_journalentryline SET line_no = 9 WHERE id = %s", [a.pk])
    _sql("UPDATE ledger_journalentryline SET entry_id = %s WHERE id = %s", [first.pk, b.pk])
    _sql(
        "UPDATE ledger_journalentryline SET entry_id = %s, line_no = 1 WHERE id = %s",
        [third.pk, a.pk],
    )
    result = services.ledger_verify(company=company)
    assert (result.entry_id, result.reason) == (first.pk, "altered")


def test_cli_names_the_first_broken_entry(chain: dict[str, Any]) -> None:
    company, second = chain["company"], chain["entries"][1]
    _sql("UPDATE ledger_journalentry SET description = 'x' WHERE id = %s", [second.pk])
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("ledger", "verify", "--company", company.code, stderr=err)
    assert exit_info.value.code == 1
    assert "GEN/2026/000002" in err.getvalue() and "altered" in err.getvalue()

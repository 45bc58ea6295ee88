"""The composite foreign keys with the company of migration ``0012_company_checked_keys``.

On PostgreSQL an entry's and a line's links to the company's other records carry the company:
a line whose account, entry, cost centre or project, or an entry whose journal, fiscal year or
reversed entry, belongs to another company is refused at the commit, nothing written. The
services never build such rows; these tests write them with the ORM, past the services, and
commit for real (the keys are deferred). On SQLite the tables keep their single-column keys:
the services' own checks are what stands there (tested with the services).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from trastienda.ledger import services
from trastienda.ledger.models import (
    Account,
    CostCentre,
    FiscalYear,
    Journal,
    JournalEntry,
    JournalEntryLine,
    Project,
)
from trastienda.ledger.tests.conftest import BANK

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
    pytest.mark.django_db(transaction=True),
]

DAY = dt.date(2026, 3, 10)


@pytest.fixture
def foreign(other_company: Any) -> dict[str, Any]:
    """The other company's records of each kind a line or an entry links to."""
    year = services.fiscal_year_create(
        company=other_company,
        name="2026",
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 12, 31),
    )
    journal = Journal.objects.filter(company=other_company).order_by("pk").first()
    return {
        "account": Account.objects.filter(company=other_company, postable=True).first(),
        "journal": journal,
        "fiscal_year": year,
        "cost_centre": CostCentre.objects.create(company=other_company, code="CC", name="CC"),
        "project": Project.objects.create(company=other_company, code="P", name="P"),
        "entry": JournalEntry.objects.create(company=other_company, journal=journal, date=DAY),
    }


@pytest.fixture
def own(books: Any, journal: Journal, year: FiscalYear) -> dict[str, Any]:
    return {
        "account": Account.objects.get(company=books, code=BANK),
        "journal": journal,
        "fiscal_year": year,
        "cost_centre": CostCentre.objects.create(company=books, code="CC", name="CC"),
        "project": Project.objects.create(company=books, code="P", name="P"),
        "entry": JournalEntry.objects.create(company=books, journal=journal, date=DAY),
    }


def _line(company: Any, **links: Any) -> JournalEntryLine:
    return JournalEntryLine.objects.create(
        company=company, line_no=9, currency_id="EUR", debit=100, **links
    )


def _refused(constraint: str, write: Callable[[], Any]) -> None:
    """The write, committed, is refused by ``constraint`` and leaves nothing behind."""
    lines, entries = JournalEntryLine.objects.count(), JournalEntry.objects.count()
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        write()
    assert (JournalEntryLine.objects.count(), JournalEntry.objects.count()) == (lines, entries)


@pytest.mark.parametrize(
    ("link", "constraint"),
    [
        ("account", "ledger_line_account_company_fk"),
        ("entry", "ledger_line_entry_company_fk"),
        ("cost_centre", "ledger_line_cost_centre_company_fk"),
        ("project", "ledger_line_project_company_fk"),
    ],
)
def test_line_linked_to_another_companys_record_is_refused(
    books: Any, own: dict[str, Any], foreign: dict[str, Any], link: str, constraint: str
) -> None:
    links = {"entry": own["entry"], "account": own["account"], link: foreign[link]}
    _refused(constraint, lambda: _line(books, **links))


def test_line_of_another_company_than_its_entry_and_account_is_refused(
    books: Any, other_company: Any, own: dict[str, Any], foreign: dict[str, Any]
) -> None:
    """The line says the other company, as its account does; its entry is ours."""
    _refused(
        "ledger_line_entry_company_fk",
        lambda: _line(other_company, entry=own["entry"], account=foreign["account"]),
    )


@pytest.mark.parametrize(
    ("link", "constraint"),
    [
        ("journal", "ledger_entry_journal_company_fk"),
        ("fiscal_year", "ledger_entry_fiscal_year_company_fk"),
        ("entry", "ledger_entry_reversal_of_company_fk"),
    ],
)
def test_entry_linked_to_another_companys_record_is_refused(
    books: Any, own: dict[str, Any], foreign: dict[str, Any], link: str, constraint: str
) -> None:
    links = {"journal": own["journal"], "fiscal_year": own["fiscal_year"]}
    links["reversal_of" if link == "entry" else link] = foreign[link]
    _refused(constraint, lambda: JournalEntry.objects.create(company=books, date=DAY, **links))


def test_changing_a_drafts_journal_to_another_companys_is_refused(
    own: dict[str, Any], foreign: dict[str, Any]
) -> None:
    entry = own["entry"]
    entry.journal = foreign["journal"]
    _refused("ledger_entry_journal_company_fk", lambda: entry.save(update_fields=["journal"]))
    entry.refresh_from_db()
    assert entry.journal_id == own["journal"].pk


def test_links_within_the_company_commit(books: Any, own: dict[str, Any]) -> None:
    with transaction.atomic():
        line = _line(books, **{k: own[k] for k in ("entry", "account", "cost_centre", "project")})
        reversal = JournalEntry.objects.create(
            company=books,
            journal=own["journal"],
            fiscal_year=own["fiscal_year"],
            reversal_of=own["entry"],
            date=DAY,
        )
    assert JournalEntryLine.objects.filter(pk=line.pk).exists()
    assert JournalEntry.objects.get(pk=reversal.pk).reversal_of_id == own["entry"].pk


def test_a_companys_accounts_are_analysed_when_its_chart_is_loaded(books: Any) -> None:
    """The planner needs the accounts' statistics to check a line's (account, company) key
    by the exact index rather than reading every account of the company."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'ledger_account'"
        )
        assert cursor.fetchone()[0] is not None

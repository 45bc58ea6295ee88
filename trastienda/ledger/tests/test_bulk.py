"""Bulk posting (ledger/bulk.py): the same rules as posting one entry, all or nothing,
idempotent by external id, numbers and chain interleaving with single postings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from trastienda.audit.models import AuditEntry
from trastienda.ledger import bulk, services
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

pytestmark = pytest.mark.django_db


def entry(
    external_id: str,
    date: dt.date | str = dt.date(2026, 3, 10),
    amount: str = "100.00",
    debit: str = BANK,
    credit: str = CAPITAL,
    **kw: Any,
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "journal": kw.pop("journal", "GEN"),
        "date": date,
        "reference": kw.pop("reference", f"REF {external_id}"),
        "description": kw.pop("description", ""),
        "lines": kw.pop(
            "lines",
            [{"account": debit, "debit": amount}, {"account": credit, "credit": amount}],
        ),
        **kw,
    }


def intact(company: Any) -> None:
    assert services.ledger_verify(company=company).ok
    assert services.ledger_balances_verify(company=company) == []


def nothing_written(company: Any, audit_before: int) -> None:
    assert not JournalEntry.objects.filter(company=company).exists()
    assert not JournalEntryLine.objects.filter(company=company).exists()
    assert not AccountBalance.objects.filter(company=company).exists()
    assert not DimensionBalance.objects.filter(company=company).exists()
    assert not JournalSequence.objects.filter(company=company, last_number__gt=0).exists()
    assert AuditEntry.objects.count() == audit_before


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_posts_numbers_hashes_and_balances(books: Any) -> None:
    audit_before = AuditEntry.objects.count()
    result = bulk.entries_post_bulk(
        company=books,
        entries=[
            entry("A", dt.date(2026, 3, 10), "100.00"),
            entry("B", dt.date(2026, 1, 5), "25.50", debit=FEES, credit=BANK),
            entry("C", dt.date(2026, 2, 1), "7.00", journal="BNK"),
        ],
    )
    assert result == bulk.BulkResult(3, 0, 6, "GEN/2026/000001", "GEN/2026/000002")
    rows = list(
        JournalEntry.objects.filter(company=books)
        .order_by("chain_seq")
        .values_list("external_id", "number", "chain_seq", "state", "date")
    )
    # numbered and chained in date order, per journal
    assert rows == [
        ("B", "GEN/2026/000001", 1, "posted", dt.date(2026, 1, 5)),
        ("C", "BNK/2026/000001", 2, "posted", dt.date(2026, 2, 1)),
        ("A", "GEN/2026/000002", 3, "posted", dt.date(2026, 3, 10)),
    ]
    bank = Account.objects.get(company=books, code=BANK)
    balances = AccountBalance.objects.filter(account=bank).order_by("month")
    assert [(b.month, b.debit, b.credit, b.amount_currency) for b in balances] == [
        (1, 0, 2550, -2550),
        (2, 700, 0, 700),
        (3, 10000, 0, 10000),
    ]
    intact(books)
    events = AuditEntry.objects.filter(seq__gt=audit_before)
    assert events.count() == 1
    event = events.get()
    assert event.extra["entries"] == 3 and event.extra["lines"] == 6
    assert (event.extra["first_number"], event.extra["last_number"]) == (
        "GEN/2026/000001",
        "GEN/2026/000002",
    )


def test_numbers_and_chain_interleave_with_single_postings(books: Any, posted: Any) -> None:
    first = posted("10.00", date=dt.date(2026, 5, 1))
    bulk.entries_post_bulk(
        company=books, entries=[entry("A", dt.date(2026, 4, 1)), entry("B", dt.date(2026, 6, 1))]
    )
    last = posted("10.00", date=dt.date(2026, 4, 2))
    numbers = list(
        JournalEntry.objects.filter(company=books)
        .order_by("chain_seq")
        .values_list("chain_seq", "number")
    )
    assert numbers == [
        (1, "GEN/2026/000001"),
        (2, "GEN/2026/000002"),
        (3, "GEN/2026/000003"),
        (4, "GEN/2026/000004"),
    ]
    assert (first.number, last.number) == ("GEN/2026/000001", "GEN/2026/000004")
    assert JournalSequence.objects.get(company=books).last_number == 4
    intact(books)


def test_idempotent_by_external_id(books: Any) -> None:
    batch = [entry("A"), entry("B", amount="5.00")]
    assert bulk.entries_post_bulk(company=books, entries=batch).posted == 2
    audit_before = AuditEntry.objects.count()
    again = bulk.entries_post_bulk(company=books, entries=batch)
    assert (again.posted, again.skipped, again.lines) == (0, 2, 0)
    assert AuditEntry.objects.count() == audit_before
    more = bulk.entries_post_bulk(company=books, entries=[*batch, entry("C", amount="1.00")])
    assert (more.posted, more.skipped, more.lines) == (1, 2, 2)
    assert JournalEntry.objects.filter(company=books).count() == 3
    intact(books)


def test_already_imported_entries_are_not_checked_again(books: Any, year: FiscalYear) -> None:
    bulk.entries_post_bulk(company=books, entries=[entry("A")])
    services.fiscal_year_update(instance=year, state="closed")
    result = bulk.entries_post_bulk(company=books, entries=[entry("A")])
    assert (result.posted, result.skipped) == (0, 1)


def test_same_external_id_twice_in_the_batch(books: Any) -> None:
    audit_before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        bulk.entries_post_bulk(company=books, entries=[entry("A"), entry("A")])
    assert errors_of(exc) == {
        "entries.1": ["external_id: External id A repeats another entry of the batch."]
    }
    nothing_written(books, audit_before)


def test_every_problem_is_listed_by_position_and_nothing_is_written(books: Any) -> None:
    services.account_update(instance=Account.objects.get(company=books, code=FEES), active=False)
    audit_before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        bulk.entries_post_bulk(
            company=books,
            entries=[
                entry("ok"),
                entry(
                    "unbalanced",
                    lines=[
                        {"account": BANK, "debit": "10"},
                        {"account": CAPITAL, "credit": "9.99"},
                    ],
                ),
                entry("group", debit="572"),
                entry("unknown", credit="9999"),
                entry("partner", debit=CUSTOMERS, credit=SALES),
                entry("archived", debit=FEES),
                entry("no year", dt.date(2025, 6, 1)),
                entry("journal", journal="XXX"),
                entry("decimals", amount="1.001"),
                entry("date", "31/02/2026"),
                entry("one line", lines=[{"account": BANK, "debit": "1"}]),
            ],
        )
    assert errors_of(exc) == {
        "entries.1": ["lines: The entry does not balance: debit - credit = 0.01 EUR."],
        "entries.2.lines.1": ["account: Account 572 is a group: choose a postable account."],
        "entries.3.lines.2": ["account: Unknown account 9999."],
        "entries.4.lines.1": ["partner: Account 4300 needs a partner."],
        "entries.5.lines.1": ["account: Account 6260 is archived."],
        "entries.6": ["date: No fiscal year covers 2025-06-01."],
        "entries.7": ["journal: Unknown journal XXX."],
        "entries.8.lines.1": ["debit: Invalid amount 1.001: EUR has 2 decimal places."],
        "entries.8.lines.2": ["credit: Invalid amount 1.001: EUR has 2 decimal places."],
        "entries.9": ["date: Enter a date (YYYY-MM-DD)."],
        "entries.10": [
            "lines: An entry needs at least two lines.",
            "lines: The entry does not balance: debit - credit = 1.00 EUR.",
        ],
    }
    nothing_written(books, audit_before)


def test_closed_and_locked_periods_are_conflicts(books: Any, year: FiscalYear) -> None:
    march = Period.objects.get(fiscal_year=year, number=3)
    services.period_update(instance=march, state="closed")
    settings = LedgerSettings.objects.get(company=books)
    services.settings_update(
        instance=settings, hard_lock_date=dt.date(2026, 1, 31), lock_date=dt.date(2026, 2, 15)
    )
    with pytest.raises(ValidationError) as exc:
        bulk.entries_post_bulk(
            company=books,
            entries=[
                entry("closed", dt.date(2026, 3, 10)),
                entry("hard", dt.date(2026, 1, 10)),
                entry("soft", dt.date(2026, 2, 10)),
            ],
        )
    assert errors_of(exc) == {
        "entries.0": ["date: The period of 2026-03-10 is closed."],
        "entries.1": ["date: The books are locked up to 2026-01-31."],
        "entries.2": [
            "date: The books are locked up to 2026-02-15; only chief accountants post there."
        ],
    }
    assert bulk.conflicts_only(exc.value)
    with pytest.raises(ValidationError) as exc:
        bulk.entries_post_bulk(company=books, entries=[entry("x", journal="XXX")])
    assert not bulk.conflicts_only(exc.value)
    result = bulk.entries_post_bulk(
        company=books, entries=[entry("soft", dt.date(2026, 2, 10))], allow_before_lock=True
    )
    assert result.posted == 1


def test_caller_problems_are_reported_with_the_others(books: Any) -> None:
    """An importer passes what it could not read; the entry-wide checks are skipped."""
    with pytest.raises(ValidationError) as exc:
        bulk.entries_post_bulk(
            company=books,
            entries=[
                entry(
                    "A",
                    date=None,
                    lines=[
                        {"account": "9999", "debit": "10"},
                        {"account": CAPITAL},
                    ],
                    problems=[(None, "date", "'x' is not a date."), (2, "credit", "'y'?")],
                ),
            ],
            locate=lambda index, line: f"line {10 + index + (line or 1)}",
        )
    assert errors_of(exc) == {
        "line 11": ["date: 'x' is not a date.", "account: Unknown account 9999."],
        "line 12": ["credit: 'y'?"],
    }


def test_balances_verify_reads_dimension_lines_in_a_fixed_number_of_queries(books: Any) -> None:
    """``ledger_balances_verify`` recomputes the cost-centre balances from the lines: the
    number of its queries does not grow with the lines (no field of a line read apart)."""
    from django.test.utils import CaptureQueriesContext

    CostCentre.objects.create(company=books, code="SHOP", name="Shop")

    def post(prefix: str, count: int) -> int:
        bulk.entries_post_bulk(
            company=books,
            entries=[
                entry(
                    f"{prefix}{n}",
                    lines=[
                        {"account": FEES, "debit": "5.00", "cost_centre": "SHOP"},
                        {"account": BANK, "credit": "5.00"},
                    ],
                )
                for n in range(count)
            ],
        )
        with CaptureQueriesContext(connection) as queries:
            assert services.ledger_balances_verify(company=books) == []
        return len(queries)

    assert post("A", 3) == post("B", 30)


def test_dimensions_and_partner_lines(books: Any) -> None:
    shop = CostCentre.objects.create(company=books, code="SHOP", name="Shop")
    fair = Project.objects.create(company=books, code="FAIR", name="Fair")
    bulk.entries_post_bulk(
        company=books,
        entries=[
            entry(
                "A",
                lines=[
                    {"account": FEES, "debit": "60.00", "cost_centre": "SHOP", "project": "FAIR"},
                    {"account": FEES, "debit": "40.00", "cost_centre": "SHOP"},
                    {
                        "account": CUSTOMERS,
                        "credit": "100.00",
                        "partner": "Bricolajes Pérez",
                        "due_date": dt.date(2026, 4, 30),
                    },
                ],
            ),
        ],
    )
    rows = {
        (b.dimension, b.dimension_id): (b.debit, b.credit)
        for b in DimensionBalance.objects.filter(company=books)
    }
    assert rows == {("cost_centre", shop.pk): (10000, 0), ("project", fair.pk): (6000, 0)}
    line = JournalEntryLine.objects.get(company=books, line_no=3)
    assert (line.partner, line.due_date) == ("Bricolajes Pérez", dt.date(2026, 4, 30))
    intact(books)
    with pytest.raises(ValidationError) as exc:
        bulk.entries_post_bulk(
            company=books,
            entries=[
                entry(
                    "B",
                    lines=[
                        {"account": FEES, "debit": "1", "cost_centre": "NOPE"},
                        {"account": BANK, "credit": "1", "project": "NOPE"},
                    ],
                )
            ],
        )
    assert errors_of(exc) == {
        "entries.0.lines.1": ["cost_centre: Unknown cost centre."],
        "entries.0.lines.2": ["project: Unknown project."],
    }


def test_foreign_currency_rounding_line_is_added_as_in_single_posting(books: Any) -> None:
    def usd(account: str, amount: str, side: str, base: str, partner: str = "") -> dict[str, Any]:
        signed = amount if side == "debit" else f"-{amount}"
        return {
            "account": account,
            side: base,
            "currency": "USD",
            "amount_currency": signed,
            "partner": partner,
        }

    result = bulk.entries_post_bulk(
        company=books,
        entries=[
            entry(
                "FX",
                lines=[
                    usd("573", "100.00", "debit", "96.89"),
                    usd("4304", "50.00", "credit", "48.44", "Acme Inc"),
                    usd("4304", "50.00", "credit", "48.44", "Beta LLC"),
                ],
            )
        ],
    )
    assert (result.posted, result.lines) == (1, 4)
    lines = list(
        JournalEntryLine.objects.filter(company=books)
        .order_by("line_no")
        .values_list("line_no", "account__code", "debit", "credit", "currency_id")
    )
    assert lines[-1] == (4, "768", 0, 1, "EUR")
    intact(books)


def test_changes_after_the_check_are_caught_inside_the_transaction(
    books: Any, year: FiscalYear
) -> None:
    plan = bulk.plan_entries(company=books, entries=[entry("A")])
    assert plan.problems == []
    services.period_update(instance=Period.objects.get(fiscal_year=year, number=3), state="closed")
    with pytest.raises(ValidationError) as exc:
        bulk.plan_post(plan)
    assert errors_of(exc) == {"entries.0": ["date: The period of 2026-03-10 is closed."]}
    assert not JournalEntry.objects.filter(company=books).exists()
    # imported meanwhile by someone else: skipped, not posted twice
    plan = bulk.plan_entries(company=books, entries=[entry("B", dt.date(2026, 4, 1))])
    bulk.entries_post_bulk(company=books, entries=[entry("B", dt.date(2026, 4, 1))])
    result = bulk.plan_post(plan)
    assert (result.posted, result.skipped) == (0, 1)
    assert JournalEntry.objects.filter(company=books).count() == 1


def test_journal_given_as_object_and_other_company_refused(books: Any, other_company: Any) -> None:
    gen = Journal.objects.get(company=books, code="GEN")
    foreign = Journal.objects.get(company=other_company, code="GEN")
    bulk.entries_post_bulk(company=books, entries=[entry("A", journal=gen)])
    with pytest.raises(ValidationError) as exc:
        bulk.entries_post_bulk(company=books, entries=[entry("B", journal=foreign)])
    assert list(errors_of(exc)) == ["entries.0"]


def test_progress_is_reported(books: Any) -> None:
    calls: list[tuple[int, int, str]] = []
    bulk.entries_post_bulk(
        company=books,
        entries=[entry(str(n), amount="1.00") for n in range(3)],
        progress=lambda done, total, message: calls.append((done, total, message)),
    )
    assert calls == [
        (0, 3, "Checking entries"),
        (3, 3, "Checking entries"),
        (0, 3, "Writing entries"),
        (3, 3, "Written"),
    ]


def test_posted_entries_stay_immutable(books: Any) -> None:
    bulk.entries_post_bulk(company=books, entries=[entry("A")])
    posted = JournalEntry.objects.get(company=books)
    line = posted.lines.first()
    for sql, params in (
        ("UPDATE ledger_journalentry SET description = 'x' WHERE id = %s", [posted.pk]),
        ("UPDATE ledger_journalentryline SET debit = debit + 1 WHERE id = %s", [line.pk]),
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, params)
    intact(books)


# --- the posting internals shared with entry_post ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "1",
        "12.3",
        "12.30",
        "0.01",
        "007.50",
        "123456789012345678",
        "1.001",
        "1.000",
        "12.345",
        "-1.00",
        "+5",
        "1e3",
        "1 000",
        ".5",
        "5.",
        "",
        " ",
        "abc",
        "1,5",
        "NaN",
    ],
)
@pytest.mark.parametrize("currency", ["EUR", "JPY", "BHD"])
def test_minor_fast_path_matches_money(text: str, currency: str) -> None:
    from trastienda.core.money import Money

    try:
        expected: Any = (
            0 if text == "" else Money.from_decimal(services._decimal(text), currency).minor
        )
    except (ValueError, ArithmeticError) as exc:
        expected = type(exc)
    try:
        got: Any = services._minor(text, currency)
    except (ValueError, ArithmeticError) as exc:
        got = type(exc)
    assert got == expected


def test_single_posting_is_audited_like_an_orm_save(books: Any, draft: Any) -> None:
    before = AuditEntry.objects.count()
    entry = draft("12.00")
    created = AuditEntry.objects.get(seq=before + 1)
    assert (created.action, created.object_type, created.object_id) == (
        "create",
        "ledger.journalentry",
        str(entry.pk),
    )
    assert created.changes == {
        "company": [None, books.pk],
        "journal": [None, entry.journal_id],
        "date": [None, "2026-03-10"],
        "state": [None, "draft"],
    }
    posted = services.entry_post(instance=entry)
    update = AuditEntry.objects.get(seq=before + 2)
    assert (update.action, update.object_id, update.object_repr) == (
        "update",
        str(entry.pk),
        "GEN/2026/000001",
    )
    assert update.changes["state"] == ["draft", "posted"]
    assert update.changes["number"] == [None, "GEN/2026/000001"]
    assert update.changes["hash"] == ["", posted.hash]
    assert set(update.changes) == {
        "state",
        "fiscal_year",
        "sequence_number",
        "number",
        "posted_at",
        "chain_seq",
        "prev_hash",
        "hash",
        "hash_version",
    }
    assert AuditEntry.objects.count() == before + 2
    # the returned draft is a normal instance: an ORM save of it is audited by the recorder
    other = draft("1.00")
    other.description = "changed"
    other.save()
    assert AuditEntry.objects.latest("seq").changes == {"description": ["", "changed"]}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_balance_trigger_still_guards_bulk_writes(books: Any, monkeypatch: Any) -> None:
    """Were the checks ever to let an unbalanced entry through, PostgreSQL's balance trigger
    refuses it when the bulk write inserts the entries, posted, after their lines (migration
    0010), as a Django IntegrityError; nothing is left."""
    real = services._posting_problems

    def lenient(*args: Any, **kw: Any) -> Any:
        problems, year = real(*args, **kw)
        return [p for p in problems if p[1] != "lines"], year

    monkeypatch.setattr(services, "_posting_problems", lenient)
    unbalanced = entry(
        "U", lines=[{"account": BANK, "debit": "10"}, {"account": CAPITAL, "credit": "9"}]
    )
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
    ):
        bulk.entries_post_bulk(company=books, entries=[unbalanced])
    assert not JournalEntry.objects.filter(company=books).exists()
    assert not JournalEntryLine.objects.filter(company=books).exists()


def test_failure_while_hashing_leaves_nothing(books: Any, monkeypatch: Any) -> None:
    """The chain is hashed after the lines went in (on PostgreSQL in a thread, while the
    server checks the lines' references): an error there (here bulk's own guard that it
    hashes as ``ledger.hashing`` does) reaches the caller and aborts the write midway, on both
    databases; no entry, line, balance, number or audit event is left."""
    from trastienda.ledger import hashing

    audit_before = AuditEntry.objects.count()
    monkeypatch.setattr(hashing, "compute_hash", lambda prev, payload: "0" * 64)
    with pytest.raises(RuntimeError, match="no longer hashes"):
        bulk.entries_post_bulk(company=books, entries=[entry("A"), entry("B")])
    nothing_written(books, audit_before)


@pytest.mark.django_db(transaction=True)  # SQLite checks foreign keys at the real commit
def test_a_line_pointing_at_no_account_is_refused_and_leaves_nothing(
    books: Any, monkeypatch: Any
) -> None:
    """The database's own foreign keys stand behind the checks: a line that reaches the table
    with an account that does not exist (here made so as it is sent) is refused (PostgreSQL:
    when the lines' references are checked, before the headers go in; SQLite: at the
    commit), and nothing is left."""
    sent = services._lines_insert

    def corrupted(lines: Any) -> None:
        def rows() -> Any:
            for n, line in enumerate(lines):
                if n == 1:
                    line.account_id = 2_000_000_000
                yield line

        sent(rows())

    audit_before = AuditEntry.objects.count()
    monkeypatch.setattr(services, "_lines_insert", corrupted)
    with pytest.raises(IntegrityError) as refused:
        bulk.entries_post_bulk(company=books, entries=[entry("A"), entry("B")])
    if connection.vendor == "postgresql":
        assert "_line_references_check" in {frame.name for frame in refused.traceback}
    nothing_written(books, audit_before)


def test_entry_ids_taken_beforehand_never_reuse_a_removed_one(books: Any, draft: Any) -> None:
    """The lines go in before their entries, with ids taken beforehand: never an id a
    removed entry had (SQLite's AUTOINCREMENT, PostgreSQL's sequence), and each line points
    at its own entry."""
    removed = draft("5.00")
    removed_id = removed.pk
    services.entry_delete_draft(instance=removed)
    result = bulk.entries_post_bulk(company=books, entries=[entry("A"), entry("B")])
    assert result.posted == 2
    posted = list(JournalEntry.objects.filter(company=books, state="posted").order_by("pk"))
    assert [e.external_id for e in posted] == ["A", "B"]
    assert all(e.pk > removed_id for e in posted)
    for e in posted:
        assert sorted(e.lines.values_list("line_no", flat=True)) == [1, 2]
    intact(books)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_entry_ids_not_consecutive_are_read_one_by_one(books: Any) -> None:
    """PostgreSQL reads the ids it took back as a range when they are consecutive; when they
    are not (another writer took some meanwhile: here the sequence steps by 2), it takes a
    set again and reads each id, and the batch posts with them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('ledger_journalentry', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 2")
        ids = bulk._entry_ids(3)
        assert ids == [ids[0], ids[0] + 2, ids[0] + 4]
        result = bulk.entries_post_bulk(company=books, entries=[entry("A"), entry("B")])
        cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 1")
    assert result.posted == 2
    posted = list(JournalEntry.objects.filter(company=books, state="posted").order_by("pk"))
    assert posted[1].pk - posted[0].pk == 2
    for e in posted:
        assert sorted(e.lines.values_list("line_no", flat=True)) == [1, 2]
    intact(books)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_large_batch_refreshes_the_planner_statistics(books: Any, monkeypatch: Any) -> None:
    """After the commit of a batch of at least ``core.db.ANALYZE_ROWS`` lines, the entries'
    and lines' statistics describe the tables as they are now (``reltuples``: -1 on a table
    never analysed)."""
    from trastienda.core import db

    def reltuples() -> dict[str, float]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class"
                " WHERE relname IN ('ledger_journalentry', 'ledger_journalentryline')"
            )
            return dict(cursor.fetchall())

    def counts() -> dict[str, float]:
        return {
            "ledger_journalentry": float(JournalEntry.objects.count()),
            "ledger_journalentryline": float(JournalEntryLine.objects.count()),
        }

    monkeypatch.setattr(db, "ANALYZE_ROWS", 10**9)
    bulk.entries_post_bulk(company=books, entries=[entry("S1")])
    assert reltuples() != counts()  # a small batch leaves them to autovacuum
    monkeypatch.setattr(db, "ANALYZE_ROWS", 4)
    bulk.entries_post_bulk(company=books, entries=[entry("L1"), entry("L2")])
    assert reltuples() == counts()  # small tables: ANALYZE reads every row

"""The immutability and balance triggers of migrations ``0007_statement_triggers`` and
``0010_balance_check_on_insert``.

On PostgreSQL the lines' immutability is checked once per statement (transition tables), the
deferred balance check is queued only for entries turned posted, and entries inserted posted
are checked at their INSERT, once per statement: these tests write
with raw SQL, several rows per statement, mixing lines of drafts and of posted entries, and
commit for real where the check is deferred. The refusals that SQL both databases accept are
run on SQLite too (its per-row triggers must refuse the same statements).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from trastienda.ledger.models import JournalEntry, JournalEntryLine
from trastienda.ledger.tests.conftest import BANK, CAPITAL

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")

LINE_INSERT = (
    "INSERT INTO ledger_journalentryline (company_id, entry_id, line_no, account_id,"
    " description, debit, credit, currency_id, amount_currency, partner) VALUES "
)
ONE_LINE = "(%s, %s, %s, %s, '', %s, 0, 'EUR', %s, '')"


def _raw(sql: str, params: list[Any]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _snapshot(*entries: JournalEntry) -> list[tuple[Any, ...]]:
    return list(
        JournalEntryLine.objects.filter(entry__in=entries)
        .order_by("entry_id", "line_no")
        .values_list("id", "entry_id", "line_no", "account_id", "debit", "credit", "description")
    )


@pytest.fixture
def pair(posted: Callable[..., JournalEntry], draft: Callable[..., JournalEntry]) -> Any:
    """A posted entry and a draft, each of two lines."""
    return posted("100.00"), draft("50.00")


def _refused(sql: str, params: list[Any], operation: str) -> None:
    with pytest.raises(IntegrityError, match=f"immutable: {operation} refused"):
        _raw(sql, params)


def test_multi_row_insert_touching_a_posted_entry_is_refused(books: Any, pair: Any) -> None:
    entry, free = pair
    account = entry.lines.first().account_id
    before = _snapshot(entry, free)
    for order in ((free, entry), (entry, free)):
        params: list[Any] = []
        for n, target in enumerate(order):
            params += [books.pk, target.pk, 10 + n, account, 1, 1]
        _refused(LINE_INSERT + ", ".join([ONE_LINE] * 2), params, "INSERT")
    assert _snapshot(entry, free) == before


def test_multi_row_update_touching_a_posted_entry_is_refused(books: Any, pair: Any) -> None:
    entry, free = pair
    ids = [line.pk for line in (*entry.lines.all(), *free.lines.all())]
    before = _snapshot(entry, free)
    _refused(
        "UPDATE ledger_journalentryline SET description = 'x' WHERE id IN (%s, %s, %s, %s)",
        ids,
        "UPDATE",
    )
    # moving a draft's line into the posted entry (the new row is refused) ...
    _refused(
        "UPDATE ledger_journalentryline SET entry_id = %s, line_no = line_no + 10"
        " WHERE entry_id = %s",
        [entry.pk, free.pk],
        "UPDATE",
    )
    # ... and a posted entry's line out into the draft (the old row is)
    _refused(
        "UPDATE ledger_journalentryline SET entry_id = %s, line_no = line_no + 10"
        " WHERE entry_id = %s",
        [free.pk, entry.pk],
        "UPDATE",
    )
    assert _snapshot(entry, free) == before


def test_multi_row_delete_touching_a_posted_entry_is_refused(pair: Any) -> None:
    entry, free = pair
    before = _snapshot(entry, free)
    _refused(
        "DELETE FROM ledger_journalentryline WHERE entry_id IN (%s, %s)",
        [free.pk, entry.pk],
        "DELETE",
    )
    assert _snapshot(entry, free) == before


def test_upsert_onto_a_posted_line_is_refused(books: Any, pair: Any) -> None:
    entry, _free = pair
    line = entry.lines.order_by("line_no").first()
    before = _snapshot(entry)
    _refused(
        LINE_INSERT
        + ONE_LINE
        + " ON CONFLICT (entry_id, line_no) DO UPDATE SET description = 'changed'",
        [books.pk, entry.pk, line.line_no, line.account_id, 1, 1],
        # PostgreSQL: the conflicting row is updated (the UPDATE trigger's transition tables);
        # SQLite: the row trigger BEFORE INSERT refuses it before the conflict is found
        "UPDATE" if connection.vendor == "postgresql" else "INSERT",
    )
    assert _snapshot(entry) == before


def test_drafts_stay_free(books: Any, draft: Callable[..., JournalEntry]) -> None:
    one, two = draft("10.00"), draft("20.00")
    account = one.lines.first().account_id
    params: list[Any] = []
    for target in (one, two):
        params += [books.pk, target.pk, 3, account, 5, 5]
    _raw(LINE_INSERT + ", ".join([ONE_LINE] * 2), params)
    _raw(
        "UPDATE ledger_journalentryline SET description = 'free' WHERE entry_id IN (%s, %s)",
        [one.pk, two.pk],
    )
    # a line may move between drafts
    _raw(
        "UPDATE ledger_journalentryline SET entry_id = %s, line_no = 4"
        " WHERE entry_id = %s AND line_no = 3",
        [one.pk, two.pk],
    )
    assert list(one.lines.order_by("line_no").values_list("line_no", "description")) == [
        (1, "free"),
        (2, "free"),
        (3, "free"),
        (4, "free"),
    ]
    _raw("DELETE FROM ledger_journalentryline WHERE entry_id IN (%s, %s)", [one.pk, two.pk])
    assert not JournalEntryLine.objects.filter(entry__in=[one, two]).exists()
    _raw("DELETE FROM ledger_journalentry WHERE id IN (%s, %s)", [one.pk, two.pk])
    assert not JournalEntry.objects.filter(pk__in=[one.pk, two.pk]).exists()


@postgres_only
def test_copy_into_a_posted_entry_is_refused(books: Any, pair: Any) -> None:
    """The bulk path writes lines with ``COPY``: the statement trigger sees them too (the
    error comes straight from psycopg: ``COPY`` bypasses Django's cursor wrapper)."""
    import psycopg

    entry, free = pair
    account = entry.lines.first().account_id
    before = _snapshot(entry, free)
    rows = [(books.pk, target.pk, 10, account, "", 1, 0, "EUR", 1, "") for target in (free, entry)]
    with (
        pytest.raises(psycopg.IntegrityError, match="immutable: INSERT refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY ledger_journalentryline (company_id, entry_id, line_no, account_id,"
            " description, debit, credit, currency_id, amount_currency, partner) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    assert _snapshot(entry, free) == before


@postgres_only
def test_lines_written_by_the_statement_that_posts_their_entry_are_refused(
    books: Any, draft: Callable[..., JournalEntry]
) -> None:
    """A data-modifying CTE posts a draft and adds a line to it in one statement: the line
    is checked after the statement, when its entry is posted."""
    free = draft("10.00")
    account = free.lines.first().account_id
    with pytest.raises(IntegrityError, match="immutable: INSERT refused"):
        _raw(
            "WITH posting AS (UPDATE ledger_journalentry SET state = 'posted',"
            " number = 'X/1', chain_seq = 99 WHERE id = %s RETURNING id) "
            + LINE_INSERT
            + "(%s, (SELECT id FROM posting), 3, %s, '', 1, 0, 'EUR', 1, '')",
            [free.pk, books.pk, account],
        )
    free.refresh_from_db()
    assert free.state == "draft" and free.lines.count() == 2


# --- the deferred balance check, at a real COMMIT ---------------------------------------------


def _post_raw(cursor: Any, entry: JournalEntry) -> None:
    cursor.execute(
        "UPDATE ledger_journalentry SET state = 'posted', number = %s, chain_seq = %s"
        " WHERE id = %s",
        [f"X/{entry.pk}", 1000 + entry.pk, entry.pk],
    )


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_unbalanced_posted_entry_is_refused_at_commit(
    books: Any, draft: Callable[..., JournalEntry]
) -> None:
    unbalanced = draft(
        lines=[{"account": BANK, "debit": "10"}, {"account": CAPITAL, "credit": "9"}]
    )
    single = draft(lines=[{"account": BANK, "debit": "10"}])
    empty = draft(lines=[])
    for entry in (unbalanced, single, empty):
        with (
            pytest.raises(IntegrityError, match="does not balance"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            _post_raw(cursor, entry)
        entry.refresh_from_db()
        assert entry.state == "draft"
    assert unbalanced.lines.count() == 2 and single.lines.count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_lines_changed_before_posting_in_the_same_transaction_are_checked_at_commit(
    books: Any, draft: Callable[..., JournalEntry]
) -> None:
    """No trigger on the lines queues a balance check any more: the entry's, queued when it
    turns posted, reads the lines as they are at commit."""
    entry = draft("10.00")
    account = entry.lines.first().account_id
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            LINE_INSERT + ONE_LINE, [books.pk, entry.pk, 3, account, 1, 1]
        )  # balanced draft, now one cent off
        _post_raw(cursor, entry)
    entry.refresh_from_db()
    assert entry.state == "draft" and entry.lines.count() == 2
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE ledger_journalentryline SET debit = debit + 1 WHERE entry_id = %s"
            " AND line_no = 1",
            [entry.pk],
        )
        _post_raw(cursor, entry)
    entry.refresh_from_db()
    assert entry.state == "draft"
    # the same statements, balanced: committed
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_journalentryline SET"
            " debit = CASE WHEN debit > 0 THEN debit + 1 ELSE 0 END,"
            " credit = CASE WHEN credit > 0 THEN credit + 1 ELSE 0 END WHERE entry_id = %s",
            [entry.pk],
        )
        _post_raw(cursor, entry)
    entry.refresh_from_db()
    assert entry.state == "posted"


CREDIT_LINE = "(%s, %s, %s, %s, '', 0, %s, 'EUR', %s, '')"


def _lines_raw(
    cursor: Any, company: Any, entry_id: int, account: int, debit: int, credit: int
) -> None:
    """Two lines of ``entry_id``: ``debit`` then ``credit``."""
    cursor.execute(
        LINE_INSERT + ONE_LINE + ", " + CREDIT_LINE,
        [
            *(company.pk, entry_id, 1, account, debit, debit),
            *(company.pk, entry_id, 2, account, credit, -credit),
        ],
    )


def _entry_ids_raw(cursor: Any, count: int) -> list[int]:
    """``count`` new entry ids, taken before their rows are written (as the bulk path)."""
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id'))"
        " FROM generate_series(1, %s)",
        [count],
    )
    return [int(row[0]) for row in cursor.fetchall()]


def _insert_posted(cursor: Any, model: JournalEntry, ids: list[int]) -> None:
    """Insert entries ``ids`` already posted, copies of the draft ``model``'s header, in one
    statement."""
    values = ", ".join(["(%s::bigint, %s, %s::bigint)"] * len(ids))
    params: list[Any] = []
    for entry_id in ids:
        params += [entry_id, f"X/{entry_id}", 5000 + entry_id]
    cursor.execute(
        "INSERT INTO ledger_journalentry (id, company_id, journal_id, date, reference,"
        " description, state, number, external_id, fiscal_year_id, sequence_number,"
        " posted_at, posted_by, chain_seq, prev_hash, hash, hash_version, created_at)"
        " SELECT v.id, m.company_id, m.journal_id, m.date, m.reference, m.description,"
        " 'posted', v.number, '', m.fiscal_year_id, m.sequence_number, m.posted_at,"
        " m.posted_by, v.seq, m.prev_hash, m.hash, m.hash_version, m.created_at"
        f" FROM ledger_journalentry m, (VALUES {values}) AS v(id, number, seq)"
        " WHERE m.id = %s",
        [*params, model.pk],
    )


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_unbalanced_entry_inserted_as_posted_is_refused_at_the_insert(
    books: Any, draft: Callable[..., JournalEntry]
) -> None:
    """An entry INSERTed already posted (migration 0010): refused by the INSERT itself when
    its lines, written before it, are missing, fewer than two or do not balance (lines
    following it into the table are refused by the line triggers)."""
    model = draft("10.00")
    account = model.lines.first().account_id
    for lines in ("none", "one", "unbalanced"):
        with (
            pytest.raises(IntegrityError, match="does not balance"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            [new_id] = _entry_ids_raw(cursor, 1)
            if lines == "one":
                cursor.execute(LINE_INSERT + ONE_LINE, [books.pk, new_id, 1, account, 10, 10])
            elif lines == "unbalanced":
                _lines_raw(cursor, books, new_id, account, 1000, 999)
            _insert_posted(cursor, model, [new_id])
    assert not JournalEntry.objects.filter(company=books, state="posted").exists()
    assert JournalEntryLine.objects.filter(company=books).count() == 2  # the model's


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_entries_inserted_posted_after_balanced_lines_commit_and_one_bad_refuses_all(
    books: Any, draft: Callable[..., JournalEntry]
) -> None:
    """The bulk path's order: lines first, then their entries posted, several in one
    statement. All balanced: committed. One of them unbalanced: the whole statement is
    refused."""
    model = draft("10.00")
    account = model.lines.first().account_id

    def write(amounts: list[tuple[int, int]]) -> list[int]:
        with transaction.atomic(), connection.cursor() as cursor:
            ids = _entry_ids_raw(cursor, len(amounts))
            for entry_id, (debit, credit) in zip(ids, amounts, strict=True):
                _lines_raw(cursor, books, entry_id, account, debit, credit)
            _insert_posted(cursor, model, ids)
        return ids

    with pytest.raises(IntegrityError, match="does not balance"):
        write([(500, 500), (700, 600), (300, 300)])
    assert not JournalEntry.objects.filter(company=books, state="posted").exists()
    ids = write([(500, 500), (700, 700)])
    posted = JournalEntry.objects.filter(pk__in=ids, state="posted")
    assert posted.count() == 2
    assert all(entry.lines.count() == 2 for entry in posted)


@postgres_only
def test_balance_check_is_queued_only_for_posted_entries(books: Any) -> None:
    """The catalogue: drafts queue no balance check, the lines none at all, and the line
    triggers are statement-level with transition tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE tgrelid IN ('ledger_journalentry'::regclass,"
            " 'ledger_journalentryline'::regclass) AND NOT tgisinternal ORDER BY tgname"
        )
        found = dict(cursor.fetchall())
    assert "WHEN (((new.state)::text = 'posted'::text))" in found["ledger_entry_balanced"]
    assert "AFTER UPDATE ON" in found["ledger_entry_balanced"]  # inserts: checked at once
    inserted = found["ledger_entry_balanced_insert"]
    assert "AFTER INSERT" in inserted and "FOR EACH STATEMENT" in inserted
    assert "WHEN (((old.state)::text = 'posted'::text))" in found["ledger_entry_immutable"]
    for operation in ("insert", "update", "delete"):
        definition = found[f"ledger_line_immutable_{operation}"]
        assert "FOR EACH STATEMENT" in definition and "REFERENCING" in definition
    assert "ledger_line_balanced" not in found

"""The immutability and balance triggers of migration ``0007_statement_triggers``.

On PostgreSQL the lines' immutability is checked once per statement (transition tables) and
the deferred balance check is queued only for entries written as posted: these tests write
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


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_unbalanced_entry_inserted_as_posted_is_refused_at_commit(
    books: Any, draft: Callable[..., JournalEntry]
) -> None:
    """An entry INSERTed already posted (its lines can only follow it into the table, and
    are refused then): the check at commit finds it without lines."""
    model = draft("10.00")
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO ledger_journalentry (company_id, journal_id, date, reference,"
            " description, state, number, external_id, fiscal_year_id, sequence_number,"
            " posted_at, posted_by, chain_seq, prev_hash, hash, hash_version, created_at)"
            " SELECT company_id, journal_id, date, reference, description, 'posted', 'X/9', '',"
            " fiscal_year_id, sequence_number, posted_at, posted_by, 999,"
            " prev_hash, hash, hash_version, created_at FROM ledger_journalentry"
            " WHERE id = %s",
            [model.pk],
        )
    assert not JournalEntry.objects.filter(company=books, state="posted").exists()


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
    assert "WHEN (((old.state)::text = 'posted'::text))" in found["ledger_entry_immutable"]
    for operation in ("insert", "update", "delete"):
        definition = found[f"ledger_line_immutable_{operation}"]
        assert "FOR EACH STATEMENT" in definition and "REFERENCING" in definition
    assert "ledger_line_balanced" not in found

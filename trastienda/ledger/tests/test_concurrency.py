"""Several OS processes posting to one journal at once: gap-free numbers, one valid chain.

Each poster is a fresh process (multiprocessing's "spawn" context): it sets Django up itself,
opens its own connection to the test database, waits at a barrier for the others and posts
its share of the drafts while they post theirs. Runs on whichever database the suite uses.

- PostgreSQL: the posters connect to the test database pytest-django created (its name is in
  the connection's settings: ``test_<NAME>``, ``_gwN`` under xdist). Posting locks the
  company's chain head row, then the journal's sequence row, so they queue.
- SQLite: the test database is in memory (``file:memorydb_default?mode=memory&cache=shared``:
  Django's default when ``TEST.NAME`` is unset; pytest-django leaves in-memory names alone
  under xdist since every xdist worker is a process of its own), and no other process can
  open it. The test copies it, schema, triggers and drafts included, to a file in
  ``tmp_path`` with SQLite's online backup API, lets the posters write to that file with the
  production OPTIONS of ``settings.py`` (WAL, ``transaction_mode="IMMEDIATE"``,
  ``timeout=30``), then copies the file back over the test database for the checks. That
  needs no settings override and no second migration run, and the suite's database stays in
  memory. With IMMEDIATE every ``transaction.atomic()`` starts with ``BEGIN IMMEDIATE``: a
  poster that finds the write lock taken waits (up to the timeout) instead of failing with
  "database is locked" when upgrading a read transaction, which is what DEFERRED would do.

Django is imported inside the functions: a spawned process imports this module to find its
target before it has set Django up.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sqlite3
import traceback
from pathlib import Path
from typing import Any

import pytest

WORKERS, PER_WORKER = 4, 10
TIMEOUT = 120


def _poster(
    settings_module: str, database: dict[str, Any], ids: list[int], barrier: Any, results: Any
) -> None:
    """Run in a spawned process: set Django up on ``database`` and post the drafts ``ids``."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    from django.conf import settings

    settings.DATABASES = {"default": database}
    import django

    django.setup()
    from django.db import connection

    from trastienda.ledger import services
    from trastienda.ledger.models import JournalEntry

    numbers: list[int] = []
    try:
        drafts = list(JournalEntry.objects.filter(pk__in=ids).select_related("company", "journal"))
        barrier.wait(timeout=TIMEOUT)
        for entry in drafts:
            numbers.append(services.entry_post(instance=entry).sequence_number or 0)
        results.put((os.getpid(), numbers, ""))
    except BaseException:  # reported to the test
        results.put((os.getpid(), numbers, traceback.format_exc()))
    finally:
        connection.close()


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    """Replace ``target``'s database with ``source``'s (SQLite online backup)."""
    source.backup(target)


@pytest.mark.django_db(transaction=True)
def test_processes_post_to_one_journal_without_gaps(tmp_path: Path) -> None:
    from django.db import connection

    from trastienda.core import services as core_services
    from trastienda.ledger import queries, services
    from trastienda.ledger.models import (
        Journal,
        JournalEntry,
        JournalEntryLine,
        JournalSequence,
    )
    from trastienda.ledger.triggers import lifted

    company = core_services.company_create(
        code="CONC", legal_name="Concurrente S.L.", country="ES", tax_id="B12345674"
    )
    services.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    journal = Journal.objects.get(company=company, code="GEN")
    total = WORKERS * PER_WORKER
    drafts = [
        services.entry_create_draft(
            company=company,
            journal=journal,
            date=dt.date(2026, 1 + i % 12, 10),
            lines=[
                {"account": "5720" if i % 2 else "5700", "debit": f"{i + 1}.00"},
                {"account": "1000", "credit": f"{i + 1}.00"},
            ],
        )
        for i in range(total)
    ]
    database = dict(connection.settings_dict)
    sqlite_file = tmp_path / "concurrency.sqlite3"
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(sqlite_file)
        _copy(connection.connection, target)
        target.close()
        database["NAME"] = str(sqlite_file)
        # What lets writers queue instead of failing (settings.py): see the module docstring.
        assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    processes = [
        context.Process(
            target=_poster,
            args=(
                os.environ["DJANGO_SETTINGS_MODULE"],
                database,
                [d.pk for d in drafts[n::WORKERS]],
                barrier,
                results,
            ),
        )
        for n in range(WORKERS)
    ]
    try:
        for process in processes:
            process.start()
        reports = [results.get(timeout=TIMEOUT) for _ in processes]
        for process in processes:
            process.join(timeout=TIMEOUT)
        assert [p.exitcode for p in processes] == [0] * WORKERS
        assert len({pid for pid, _numbers, _error in reports}) == WORKERS
        assert [error for _pid, _numbers, error in reports] == [""] * WORKERS
        assert sorted(len(numbers) for _pid, numbers, _error in reports) == [PER_WORKER] * WORKERS

        if connection.vendor == "sqlite":  # the posters' work back into the test database
            source = sqlite3.connect(sqlite_file)
            _copy(source, connection.connection)
            source.close()

        posted = JournalEntry.objects.for_company(company).filter(state="posted")
        numbers = sorted(posted.values_list("sequence_number", flat=True))
        assert numbers == list(range(1, total + 1))  # consecutive: no gap, no duplicate
        assert sorted(n for _pid, ns, _error in reports for n in ns) == numbers
        assert sorted(posted.values_list("chain_seq", flat=True)) == numbers
        assert len(set(posted.values_list("number", flat=True))) == total
        assert JournalSequence.objects.get(journal=journal).last_number == total
        result = services.ledger_verify(company=company)
        assert (result.ok, result.checked) == (True, total)
        assert services.ledger_balances_verify(company=company) == []
        report = queries.trial_balance(company, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
        expected = sum(range(1, total + 1)) * 100
        assert (report.debit, report.credit, report.closing) == (expected, expected, 0)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        if connection.vendor == "sqlite":
            # flush (after a transaction=True test) deletes row by row on SQLite, which the
            # immutability triggers refuse for posted entries: remove them with the triggers off.
            with lifted(connection):
                JournalEntryLine.objects.filter(company=company).delete()
                JournalEntry.objects.filter(company=company).delete()

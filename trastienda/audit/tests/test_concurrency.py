"""Concurrent appends from several threads (each with its own connection) keep one chain."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from trastienda.audit import triggers
from trastienda.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from trastienda.audit.services import audit_log, verify_chain

THREADS = 6
PER_THREAD = 8


def _in_memory_sqlite() -> bool:
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_valid_chain() -> None:
    if _in_memory_sqlite():
        pytest.skip(
            "threads would share the in-memory SQLite test database through shared cache, "
            "whose table locks are not retried; on a file database (IMMEDIATE transactions) "
            "and on PostgreSQL (head row lock) writers queue"
        )
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(PER_THREAD):
                with transaction.atomic():
                    audit_log(action="other", object_type="test.thread", object_id=f"{n}-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = THREADS * PER_THREAD
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, total + 1)
    )
    assert AuditEntry.objects.values("object_id").distinct().count() == total
    assert AuditChainHead.objects.get(pk=1).seq == total
    result = verify_chain(batch_size=7)
    assert (result.ok, result.checked) == (True, total)


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_trail_and_the_chain_restarts(company: Any) -> None:
    """``flush`` (also run between ``transaction=True`` tests) may empty the audit table."""
    assert AuditEntry.objects.count() > 0  # the company and its roles were recorded
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEntry.objects.count() == 0
    head = AuditChainHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (0, GENESIS_HASH)
    assert triggers.installed(connection)  # the guard is back
    assert audit_log(action="other").seq == 1
    assert verify_chain().ok is True

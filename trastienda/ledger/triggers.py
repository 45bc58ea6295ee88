"""Lifting the immutability triggers of posted entries, for tamper tests only.

The triggers are created by migration ``0003_triggers``; on PostgreSQL ``0007_statement_triggers``
checks the lines once per statement (statement-level triggers with transition tables, user
triggers like the others: listed by :func:`installed`, turned off by :func:`lifted`) and
queues the deferred balance check only for entries written as posted; ``0010`` checks the
entries inserted posted at their INSERT, once per statement. Lifting them needs the
rights of the tables' owner (PostgreSQL) or direct access to the database file (SQLite); the
application never does it. The same approach as :mod:`trastienda.audit.triggers`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import transaction

TABLES = ("ledger_journalentry", "ledger_journalentryline")


def installed(connection: Any) -> list[str]:
    """Names of the user triggers on the entry and line tables (sorted)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                list(TABLES),
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid IN (%s::regclass, %s::regclass)"
                " AND NOT tgisinternal AND tgenabled <> 'D'",
                list(TABLES),
            )
        else:
            return []
        return sorted(row[0] for row in cursor.fetchall())


@contextlib.contextmanager
def lifted(connection: Any) -> Iterator[None]:
    """Run a block with the triggers off, in one transaction (restored afterwards)."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master"
                " WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                list(TABLES),
            )
            saved = cursor.fetchall()
            for name, _sql in saved:
                cursor.execute(f'DROP TRIGGER "{name}"')
            yield
            for _name, sql in saved:
                cursor.execute(sql)
        elif connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            yield

"""Lifting the append-only triggers, for the two legitimate cases: ``flush`` and tests.

The triggers themselves are created by migration ``0003_append_only_triggers``. Lifting them
needs the rights of the table's owner (PostgreSQL) or direct access to the database file
(SQLite); the application never does it while serving requests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import transaction

TABLE = "audit_auditentry"


def installed(connection: Any) -> list[str]:
    """Names of the user triggers on the audit table (sorted)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TABLE],
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass"
                " AND NOT tgisinternal AND tgenabled <> 'D'",
                [TABLE],
            )
        else:
            return []
        return sorted(row[0] for row in cursor.fetchall())


@contextlib.contextmanager
def lifted(connection: Any) -> Iterator[None]:
    """Run a block with the audit table's triggers off, in one transaction.

    SQLite: the triggers are dropped and re-created from their stored SQL; PostgreSQL: they
    are disabled and re-enabled. If the block fails, the transaction rolls back and the
    triggers stay as they were.
    """
    if TABLE not in connection.introspection.table_names():
        yield
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TABLE],
            )
            saved = cursor.fetchall()
            for name, _sql in saved:
                cursor.execute(f'DROP TRIGGER "{name}"')
            yield
            for _name, sql in saved:
                cursor.execute(sql)
        elif connection.vendor == "postgresql":
            # ALTER TABLE refuses while deferred foreign-key checks are pending: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
            yield
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            yield

"""Django's ``flush``, able to empty the append-only audit table too.

``flush`` erases every table; the audit table's triggers would refuse it (SQLite deletes row
by row; PostgreSQL's TRUNCATE is refused by a statement trigger). This command lifts them for
the flush, in the same transaction, and re-creates the chain head afterwards. Test runs use
it between ``transaction=True`` tests.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections

from trastienda.audit import triggers


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with triggers.lifted(connection):
            super().handle(**options)
        from trastienda.audit.services import head_ensure

        if "audit_auditchainhead" in connection.introspection.table_names():
            head_ensure(using=connection.alias)

"""Helpers for the audit tests."""

from __future__ import annotations

from typing import Any

from django.db import connection

from trastienda.audit.models import AuditEntry

TABLE = AuditEntry._meta.db_table


def entries(**filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("seq"))


def last_seq() -> int:
    entry = AuditEntry.objects.order_by("-seq").first()
    return entry.seq if entry else 0


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])

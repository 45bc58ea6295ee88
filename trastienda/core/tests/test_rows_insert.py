"""``core.db.rows_insert``: every row goes in, in whole statements and the rest (SQLite), and a
database error comes out as Django's, with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from trastienda.core import db as core_db
from trastienda.core.db import rows_insert


def _names(prefix: str) -> set[str]:
    return set(Group.objects.filter(name__startswith=prefix).values_list("name", flat=True))


@pytest.mark.parametrize("count", [1, 3, 7])
def test_every_row_goes_in_whatever_the_statement_size(
    db: Any, monkeypatch: Any, count: int
) -> None:
    """Three parameters per statement on SQLite, one column: 3 rows fill one statement
    exactly, 7 make two and a remainder of one (PostgreSQL copies them all in one ``COPY``)."""
    monkeypatch.setattr(core_db, "SQLITE_PARAMETERS", 3)
    names = {f"g{count}-{i}" for i in range(count)}
    rows_insert(Group._meta.db_table, ("name",), ((name,) for name in sorted(names)))
    assert _names(f"g{count}-") == names


def test_a_refused_row_raises_djangos_error_and_writes_nothing(db: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(Group._meta.db_table, ("name",), [("same",), ("other",), ("same",)])
    assert _names("same") | _names("other") == set()

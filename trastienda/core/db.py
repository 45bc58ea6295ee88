"""Database helpers shared by the bulk paths (ledger posting, invoice issuing, statement
import)."""

from __future__ import annotations

import contextlib
import gc
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Model
from django.db.models.base import ModelState

ModelT = TypeVar("ModelT", bound=Model)

_DEFAULTS: dict[type[Any], tuple[dict[str, Any], list[Any]]] = {}


def bare_instance(model: type[ModelT], values: Mapping[str, Any]) -> ModelT:
    """A model instance from column values (``attname``: value) without ``Model.__init__``,
    which costs what a bulk path of 100,000 rows notices (keyword handling, the ``pre_init``
    and ``post_init`` signals).

    For rows read or written with plain SQL in bulk: no ``post_init`` signal, so the audit
    recorder keeps no snapshot of them and a ``save()`` of one would not be audited: never
    save these (the services do not); they are read (validation, hashing) and inserted by SQL.
    Fields missing from ``values`` take their default (a callable default is called for each
    instance); related objects may be set afterwards through their descriptors.
    """
    cached = _DEFAULTS.get(model)
    if cached is None:
        fields = model._meta.concrete_fields
        constant = {f.attname: f.get_default() for f in fields if not callable(f.default)}
        cached = (constant, [f for f in fields if callable(f.default)])
        _DEFAULTS[model] = cached
    constant, called = cached
    obj = model.__new__(model)
    obj.__dict__.update(constant)
    for f in called:
        if f.attname not in values:
            obj.__dict__[f.attname] = f.get_default()
    obj.__dict__.update(values)
    obj._state = ModelState()
    obj._state.adding = values.get("id") is None
    obj._state.db = None if obj._state.adding else connection.alias
    return obj


# Parameters per multi-row INSERT on SQLite, at most (its own limit, if lower, rules).
SQLITE_PARAMETERS = 32_766


def rows_insert(table: str, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert rows with plain SQL: ``COPY`` on PostgreSQL, multi-row ``INSERT`` on SQLite.

    Row triggers fire either way (the immutability and balance triggers keep guarding).
    Values must already be in the database's form (``connection.ops.adapt_*``). On SQLite
    each statement carries as many rows as its parameter limit allows: a table with a row
    trigger costs a statement journal per statement, so one row per statement (what
    ``executemany`` does) was 2.6 times slower for the journal lines (measured: 38,000 against
    99,000 rows/s).
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The driver's own cursor: its errors are turned into Django's here, as
            # ``cursor.execute`` turns them (a trigger's refusal is an IntegrityError).
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        # sqlite3's own execute, with its ``?`` placeholders: Django's would turn every ``%s``
        # of a statement into ``?`` with a regular expression first. Statements as large as
        # SQLite allows (Django's features say 999 parameters; Debian's SQLite takes 250,000):
        # writing a million ledger lines took 56.7 s with 999, 47.5 s with 32,766.
        execute = sqlite3.Cursor.execute
        raw = cursor.cursor
        limit = raw.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per = max(1, min(limit, SQLITE_PARAMETERS) // len(columns))
        one = "(" + ", ".join(["?"] * len(columns)) + ")"
        head = f"INSERT INTO {quote(table)} ({names}) VALUES "  # noqa: S608
        full = head + ", ".join([one] * per)
        chunk: list[Any] = []
        count = 0
        with connection.wrap_database_errors:
            for row in rows:
                chunk.extend(row)
                count += 1
                if count == per:
                    execute(raw, full, chunk)
                    chunk, count = [], 0
            if count:
                execute(raw, head + ", ".join([one] * count), chunk)


# Rows written by one call above which PostgreSQL's statistics are refreshed at the commit.
ANALYZE_ROWS = 50_000


def analyze_after_commit(rows: int, *models: type[Model], threshold: int | None = None) -> None:
    """PostgreSQL: ``ANALYZE`` the models' tables once the current transaction commits, when
    it wrote at least ``threshold`` rows (by default :data:`ANALYZE_ROWS`: a bulk load).
    Until autovacuum comes by (or never, where it is off) the planner would read the tables
    as they were before the load and pick sequential scans for lookups by key (the ledger's
    chain check read 500 entries' lines in 0.1-0.4 s instead of 2 ms after a million-line
    import). SQLite: nothing."""
    least = ANALYZE_ROWS if threshold is None else threshold
    if connection.vendor != "postgresql" or rows < least:
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)

    def analyze() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")

    transaction.on_commit(analyze)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a block that builds a large batch of objects
    that stay alive (a bulk import reading a million lines). Each full collection walks every
    live object, and a growing batch sets one off again and again: reading and parsing a
    400,000-line import took 40 % less time without them (measured: 9.8 s against 5.8 s).
    Reference counting still frees everything that is not in a cycle; whatever cycles the
    block left are collected when the collector is back on. Nested blocks keep it off until
    the outermost ends; a collector that was already off stays off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

"""Test helpers shared by every app: work run by several OS processes at once.

:func:`run_in_processes` starts one fresh process per chunk of ids (multiprocessing's "spawn"
context): each sets Django up itself, opens its own connection to the test database, waits at
a barrier for the others and calls the named function with its ids while they do the same.
It runs on whichever database the suite uses.

- PostgreSQL: the processes connect to the test database pytest-django created (its name is
  in the connection's settings: ``test_<NAME>``, ``_gwN`` under xdist).
- SQLite: the test database is in memory (``file:memorydb_default?mode=memory&cache=shared``,
  Django's default when ``TEST.NAME`` is unset; pytest-django leaves in-memory names alone
  under xdist since every xdist worker is a process of its own), and no other process can
  open it. It is copied, schema, triggers and rows included, to a file with SQLite's online
  backup API; the processes write to that file with the production OPTIONS of
  ``settings.py`` (WAL, ``transaction_mode="IMMEDIATE"``, ``timeout=30``), and the file is
  copied back over the test database for the checks. With IMMEDIATE every
  ``transaction.atomic()`` starts with ``BEGIN IMMEDIATE``: a process that finds the write
  lock taken waits (up to the timeout) instead of failing with "database is locked" when
  upgrading a read transaction, which is what DEFERRED would do.

Django is imported inside the functions: a spawned process imports this module to find its
target before it has set Django up. Use it from ``django_db(transaction=True)`` tests.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sqlite3
import traceback
from pathlib import Path
from typing import Any

TIMEOUT = 180


def _worker(
    settings_module: str,
    database: dict[str, Any],
    target: str,
    ids: list[int],
    barrier: Any,
    results: Any,
) -> None:
    """Run in a spawned process: set Django up on ``database`` and call ``target(ids)``."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    from django.conf import settings

    settings.DATABASES = {"default": database}
    import django

    django.setup()
    from django.db import connection

    module_name, _sep, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    produced: list[Any] = []
    try:
        barrier.wait(timeout=TIMEOUT)
        produced = list(function(ids))
        results.put((os.getpid(), produced, ""))
    except BaseException:  # reported to the test
        results.put((os.getpid(), produced, traceback.format_exc()))
    finally:
        connection.close()


def run_in_processes(target: str, chunks: list[list[int]], tmp_path: Path) -> list[list[Any]]:
    """Call ``target`` (``"module:function"``, taking a list of ids and returning a list)
    in one process per chunk, all at once; return each process's list. A process that fails
    fails the test with its traceback."""
    from django.db import connection

    database = dict(connection.settings_dict)
    sqlite_file = tmp_path / "concurrency.sqlite3"
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        copy = sqlite3.connect(sqlite_file)
        connection.connection.backup(copy)
        # The copy is in WAL mode before any process opens it: each process's first
        # ``PRAGMA journal_mode=WAL`` (settings.py) is then a no-op. Switching a file to WAL
        # needs it to itself, so processes opening a rollback-mode copy at once raced for the
        # switch and the losers failed at connect with "database is locked" (seen in CI).
        copy.execute("PRAGMA journal_mode=WAL")
        copy.close()
        database["NAME"] = str(sqlite_file)
        # What lets writers queue instead of failing (settings.py): see the module docstring.
        assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"  # noqa: S101

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(chunks))
    results = context.Queue()
    settings_module = os.environ["DJANGO_SETTINGS_MODULE"]
    processes = [
        context.Process(
            target=_worker, args=(settings_module, database, target, ids, barrier, results)
        )
        for ids in chunks
    ]
    try:
        for process in processes:
            process.start()
        reports = [results.get(timeout=TIMEOUT) for _ in processes]
        for process in processes:
            process.join(timeout=TIMEOUT)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    errors = [error for _pid, _produced, error in reports if error]
    if errors:
        raise AssertionError("A process failed:\n" + "\n".join(errors))
    if [p.exitcode for p in processes] != [0] * len(processes):
        raise AssertionError(f"Exit codes: {[p.exitcode for p in processes]}")
    if len({pid for pid, _produced, _error in reports}) != len(processes):
        raise AssertionError("Two reports came from one process.")
    if connection.vendor == "sqlite":  # the processes' work back into the test database
        source = sqlite3.connect(sqlite_file)
        source.backup(connection.connection)
        source.close()
    return [produced for _pid, produced, _error in reports]

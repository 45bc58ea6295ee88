"""Ledger posting benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/ledger_posting.py [--entries N] [--lines-per-entry K]
                                             [--database-url URL] [--seed S]

Creates a throw-away company in a temporary SQLite file (default) or in a PostgreSQL database
named by ``--database-url`` (created by the script and dropped at the end: it must not exist),
posts N entries of K lines one by one through the real services
(``entry_create_draft`` + ``entry_post``: validation, numbering, hash chain, monthly balances,
one transaction per entry), then times ``ledger_verify``, a trial balance read from the monthly
balances (``AccountBalance``) and one recomputed from the lines, and the year-end closing.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=2000, help="entries to post (2000)")
    parser.add_argument("--lines-per-entry", type=int, default=4, help="lines per entry (4)")
    parser.add_argument(
        "--database-url",
        default="",
        help="postgres://user@host:port/NAME (NAME is created and dropped); default: SQLite "
        "in a temporary directory",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-close", action="store_true", help="skip the year-end closing")
    args = parser.parse_args()
    if args.entries < 1 or args.lines_per_entry < 2:
        parser.error("--entries must be at least 1 and --lines-per-entry at least 2")
    return args


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit("--database-url must name a database")
    return urlunsplit(parts._replace(path="/postgres")), name


def pg_create(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_drop(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(label: str, fn: Callable[[], Any], figures: list[tuple[str, str]]) -> Any:
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    figures.append((label, f"{elapsed * 1000:,.1f} ms"))
    return result


def run(args: argparse.Namespace, workdir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "trastienda.settings"
    os.environ["TRASTIENDA_VAR_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum

    from trastienda.core import services as core_services
    from trastienda.ledger import services
    from trastienda.ledger.models import (
        PARTNER_SUBTYPES,
        Account,
        AccountBalance,
        FiscalYear,
        Journal,
        JournalEntryLine,
    )

    figures: list[tuple[str, str]] = []
    call_command("migrate", verbosity=0)
    company = core_services.company_create(
        code="BENCH", legal_name="Bench S.L.", country="ES", tax_id="B12345674"
    )
    services.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    journal = Journal.objects.get(company=company, code="GEN")
    pool = list(
        Account.objects.filter(company=company, postable=True, active=True)
        .exclude(subtype__in=list(PARTNER_SUBTYPES))
        .order_by("code")
        .values_list("code", flat=True)
    )
    rng = random.Random(args.seed)
    accounts = rng.sample(pool, min(40, len(pool)))
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=d) for d in range(365)]
    k = args.lines_per_entry

    def lines() -> list[dict[str, Any]]:
        amounts = [Decimal(rng.randint(1, 1_000_000)) / 100 for _ in range(k - 1)]
        rows: list[dict[str, Any]] = [
            {"account": code, "debit": amount}
            for code, amount in zip(rng.sample(accounts, k - 1), amounts, strict=True)
        ]
        rows.append({"account": rng.choice(accounts), "credit": sum(amounts)})
        return rows

    batch = [(rng.choice(days), lines()) for _ in range(args.entries)]
    start = time.perf_counter()
    for n, (day, rows) in enumerate(batch, start=1):
        draft = services.entry_create_draft(
            company=company, journal=journal, date=day, reference=f"B{n}", lines=rows
        )
        services.entry_post(instance=draft)
        if n % 1000 == 0:
            print(f"  posted {n:,}/{args.entries:,}", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start
    total_lines = args.entries * k
    figures.append(("posting time", f"{elapsed:,.1f} s"))
    figures.append(("entries/s (draft + post, one by one)", f"{args.entries / elapsed:,.0f}"))
    figures.append(("lines/s", f"{total_lines / elapsed:,.0f}"))

    result = timed(
        "ledger_verify (hash chain)", lambda: services.ledger_verify(company=company), figures
    )
    if not result.ok:
        raise SystemExit(f"chain broken: {result}")
    differences = timed(
        "ledger_balances_verify (balances vs lines)",
        lambda: services.ledger_balances_verify(company=company),
        figures,
    )
    if differences:
        raise SystemExit(f"balances differ: {differences[:3]}")

    try:
        from trastienda.ledger import queries

        def tb_balances() -> Any:
            return queries.trial_balance(company, dt.date(2026, 1, 1), dt.date(2026, 12, 31))

        def tb_mid_month() -> Any:
            return queries.trial_balance(company, dt.date(2026, 1, 10), dt.date(2026, 12, 20))

        timed("trial balance, whole year (queries.trial_balance)", tb_balances, figures)
        timed("trial balance, 10 Jan-20 Dec (months + edge lines)", tb_mid_month, figures)
    except ImportError:

        def tb_simple() -> Any:
            return list(
                AccountBalance.objects.filter(company=company, year=2026)
                .values("account_id")
                .annotate(d=Sum("debit"), c=Sum("credit"))
            )

        timed("trial balance from AccountBalance (aggregate)", tb_simple, figures)

    def tb_lines() -> Any:
        return list(
            JournalEntryLine.objects.filter(
                company=company,
                entry__state="posted",
                entry__date__gte=dt.date(2026, 1, 1),
                entry__date__lte=dt.date(2026, 12, 31),
            )
            .values("account_id")
            .annotate(d=Sum("debit"), c=Sum("credit"))
        )

    timed("trial balance recomputed from lines (aggregate)", tb_lines, figures)

    if not args.no_close:
        from trastienda.ledger import closing

        year = FiscalYear.objects.get(company=company, name="2026")
        timed(
            "year-end closing (regularisation + closing)",
            lambda: closing.fiscal_year_close(fiscal_year=year),
            figures,
        )
        timed(
            "opening of the next year",
            lambda: closing.fiscal_year_open_next(fiscal_year=year),
            figures,
        )

    vendor = connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("select sqlite_version()" if vendor == "sqlite" else "show server_version")
        version = cursor.fetchone()[0]
    print()
    print(f"Ledger posting benchmark: {args.entries:,} entries x {k} lines = {total_lines:,} lines")
    print(
        f"database: {vendor} {version}; python {platform.python_version()}; "
        f"{platform.platform()}; {os.cpu_count()} CPUs; "
        f"{platform.processor() or platform.machine()}"
    )
    width = max(len(label) for label, _ in figures)
    for label, value in figures:
        print(f"  {label:<{width}}  {value:>12}")
    connection.close()


def main() -> None:
    args = parse()
    workdir = Path(tempfile.mkdtemp(prefix="trastienda-bench-"))
    if args.database_url:
        pg_create(args.database_url)
    try:
        run(args, workdir)
    finally:
        if args.database_url:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: S110 - best effort before the drop
                pass
            pg_drop(args.database_url)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What the ledger benchmarks share: the throw-away database (a temporary SQLite file, or a
PostgreSQL database created and dropped), Django set-up, the benchmark company, timing and
the printed report with the machine's description."""

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
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Figures = list[tuple[str, str]]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default="",
        help="postgres://user@host:port/NAME (NAME is created and dropped); default: SQLite "
        "in a temporary directory",
    )
    parser.add_argument("--seed", type=int, default=2026)


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


def timed(label: str, fn: Callable[[], Any], figures: Figures) -> Any:
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    figures.append((label, f"{elapsed * 1000:,.1f} ms"))
    return result


def verify_books(company: Any, figures: Figures) -> None:
    """Time ``ledger_verify`` and ``ledger_balances_verify``; stop the run if either fails."""
    from trastienda.ledger import services

    chain = timed(
        "ledger_verify (hash chain)", lambda: services.ledger_verify(company=company), figures
    )
    if not chain.ok:
        raise SystemExit(f"chain broken: {chain}")
    differences = timed(
        "ledger_balances_verify (balances vs lines)",
        lambda: services.ledger_balances_verify(company=company),
        figures,
    )
    if differences:
        raise SystemExit(f"balances differ: {differences[:3]}")


def django_setup(database_url: str, workdir: Path) -> None:
    """Point Django at the benchmark database and migrate it."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "trastienda.settings"
    os.environ["TRASTIENDA_VAR_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_company(seed: int, accounts: int = 40) -> tuple[Any, Any, list[str]]:
    """The company BENCH (Spanish chart), its open fiscal year 2026 and ``accounts`` random
    postable accounts that need no partner: (company, GEN journal, account codes)."""
    from trastienda.core import services as core_services
    from trastienda.ledger import services
    from trastienda.ledger.models import PARTNER_SUBTYPES, Account, Journal

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
    return company, journal, random.Random(seed).sample(pool, min(accounts, len(pool)))


def machine() -> str:
    from django.db import connection

    vendor = connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("select sqlite_version()" if vendor == "sqlite" else "show server_version")
        version = cursor.fetchone()[0]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"database: {vendor} {version}; python {platform.python_version()}; "
        f"{platform.platform()}; {os.cpu_count()} CPUs; "
        f"{platform.processor() or platform.machine()}; load average {load:.1f}"
    )


def report(title: str, figures: Figures) -> None:
    print()
    print(title)
    print(machine())
    width = max(len(label) for label, _value in figures)
    for label, value in figures:
        print(f"  {label:<{width}}  {value:>14}")


def main(run: Callable[[argparse.Namespace, Path], None], args: argparse.Namespace) -> None:
    """Run ``run(args, workdir)`` against a throw-away database, then clean up."""
    workdir = Path(tempfile.mkdtemp(prefix="trastienda-bench-"))
    if args.database_url:
        pg_create(args.database_url)
    try:
        django_setup(args.database_url, workdir)
        run(args, workdir)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - best effort before the drop
            pass
        if args.database_url:
            pg_drop(args.database_url)
        shutil.rmtree(workdir, ignore_errors=True)

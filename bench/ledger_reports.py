"""Ledger reports benchmark at scale: prints figures, asserts nothing.

    .venv/bin/python bench/ledger_reports.py [--lines N] [--lines-per-entry K]
                                             [--database-url URL] [--repeat R] [--seed S]
                                             [--batch B] [--no-close] [--no-export]

Creates a throw-away company (Spanish PGC chart, fiscal years 2025 and 2026) in a temporary
SQLite file (default) or in a PostgreSQL database named by ``--database-url`` (created by the
script and dropped at the end: it must not exist), fills it with N posted lines through
``trastienda.ledger.bulk.entries_post_bulk`` (full validation, numbering, hash chain, monthly
and daily balances), every entry touching the bank account 5720 (the busiest account: one line
in K) and K-1 of 40 other accounts, dates spread over the two years; optionally closes 2025
and opens 2026. Then it times, R times each (first run and median):

- the trial balance of 2026 (whole months, from the monthly balances) and of 10 Jan-20 Dec
  (months plus the edge days from the daily balances);
- the profit and loss account of 2026, with and without the comparison with 2025, and the
  balance sheet at 31 Dec 2026 (``trastienda.ledger.statements.build``);
- the first page (100 lines) of the general ledger of the busiest account, as the report
  page reads it: the count of its lines in the range (the paginator), then the page with the
  balance carried in (``queries.general_ledger``);
- the hledger export of the whole books (``trastienda.ledger.plaintext``), streamed to
  /dev/null (``--no-export`` skips it).

See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_common_arguments, bench_company, machine, main

YEARS = (2025, 2026)
BUSIEST = "5720"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines to post (1000000)")
    parser.add_argument("--lines-per-entry", type=int, default=2, help="lines per entry (2)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each report (5)")
    parser.add_argument("--batch", type=int, default=10_000, help="entries per bulk call")
    parser.add_argument("--no-close", action="store_true", help="do not close 2025")
    parser.add_argument("--no-export", action="store_true", help="skip the hledger export")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.lines_per_entry < 2 or args.lines < args.lines_per_entry or args.repeat < 1:
        parser.error("--lines-per-entry must be at least 2, --lines at least that, --repeat 1+")
    return args


def measure(
    label: str, fn: Callable[[], Any], repeat: int, figures: list[tuple[str, str, str]]
) -> Any:
    """Run ``fn`` ``repeat`` times; record the first run and the median, in ms."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    figures.append((label, f"{times[0]:,.1f} ms", f"{statistics.median(times):,.1f} ms"))
    return result


def entries(
    args: argparse.Namespace, journal: Any, accounts: list[str], rng: random.Random
) -> Iterator[dict[str, Any]]:
    """The entries to post: the bank on one side, K-1 other accounts on the other."""
    k = args.lines_per_entry
    days = [
        dt.date(year, 1, 1) + dt.timedelta(days=d)
        for year in YEARS
        for d in range((dt.date(year, 12, 31) - dt.date(year, 1, 1)).days + 1)
    ]
    for n in range(args.lines // k):
        amounts = [Decimal(rng.randint(1, 1_000_000)) / 100 for _ in range(k - 1)]
        total = sum(amounts, Decimal(0))
        bank_debit = rng.random() < 0.5
        others = [
            {"account": code, ("credit" if bank_debit else "debit"): amount}
            for code, amount in zip(rng.sample(accounts, k - 1), amounts, strict=True)
        ]
        yield {
            "journal": journal,
            "date": rng.choice(days),
            "reference": f"R{n + 1}",
            "description": f"Bench entry {n + 1}",
            "external_id": f"bench-{n + 1}",
            "lines": [{"account": BUSIEST, ("debit" if bank_debit else "credit"): total}, *others],
        }


def batches(items: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run(args: argparse.Namespace, workdir: Path) -> None:
    from django.db import connection

    from trastienda.ledger import plaintext, queries, services, statements
    from trastienda.ledger.bulk import entries_post_bulk
    from trastienda.ledger.models import Account, FiscalYear

    figures: list[tuple[str, str, str]] = []
    company, journal, sample = bench_company(args.seed)  # with its fiscal year 2026
    services.fiscal_year_create(
        company=company, name="2025", start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31)
    )
    accounts = [code for code in sample if code != BUSIEST]
    rng = random.Random(args.seed)
    k = args.lines_per_entry
    total_entries = args.lines // k
    posted = 0
    start = time.perf_counter()
    for batch in batches(entries(args, journal, accounts, rng), args.batch):
        entries_post_bulk(company=company, entries=batch)
        posted += len(batch)
        elapsed = time.perf_counter() - start
        print(
            f"  posted {posted:,}/{total_entries:,} entries ({posted * k / elapsed:,.0f} lines/s)",
            file=sys.stderr,
            flush=True,
        )
    elapsed = time.perf_counter() - start
    lines = total_entries * k
    figures.append(("bulk posting (entries_post_bulk)", f"{elapsed:,.1f} s", ""))
    figures.append(("  lines/s", f"{lines / elapsed:,.0f}", ""))

    if not args.no_close:
        from trastienda.ledger import closing

        first = FiscalYear.objects.get(company=company, name=str(YEARS[0]))
        start = time.perf_counter()
        closing.fiscal_year_close(fiscal_year=first)
        closing.fiscal_year_open_next(fiscal_year=first)
        figures.append(
            (
                f"closing {YEARS[0]} + opening {YEARS[1]}",
                f"{time.perf_counter() - start:,.2f} s",
                "",
            )
        )

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would give after a while
    year_from, year_to = dt.date(YEARS[1], 1, 1), dt.date(YEARS[1], 12, 31)
    repeat = args.repeat
    measure(
        f"trial balance {YEARS[1]} (whole months)",
        lambda: queries.trial_balance(company, year_from, year_to),
        repeat,
        figures,
    )
    measure(
        f"trial balance 10 Jan-20 Dec {YEARS[1]} (months + edge days)",
        lambda: queries.trial_balance(company, dt.date(YEARS[1], 1, 10), dt.date(YEARS[1], 12, 20)),
        repeat,
        figures,
    )
    measure(
        f"profit and loss {YEARS[1]}",
        lambda: statements.build(company, statements.PROFIT_AND_LOSS, year_from, year_to),
        repeat,
        figures,
    )
    measure(
        f"profit and loss {YEARS[1]} compared with {YEARS[0]}",
        lambda: statements.build(
            company, statements.PROFIT_AND_LOSS, year_from, year_to, compare=True
        ),
        repeat,
        figures,
    )
    measure(
        f"balance sheet at {year_to.isoformat()}",
        lambda: statements.build(company, statements.BALANCE_SHEET, None, year_to),
        repeat,
        figures,
    )

    busiest = Account.objects.get(company=company, code=BUSIEST)
    books_from = dt.date(YEARS[0], 1, 1)

    def ledger_count() -> int:
        return queries.account_line_count(company, busiest, books_from, year_to)

    def ledger_page() -> Any:
        return queries.general_ledger(company, busiest, books_from, year_to, offset=0, limit=100)

    busiest_lines = measure(
        f"general ledger {BUSIEST}: count of its lines (paginator)", ledger_count, repeat, figures
    )
    measure(
        f"general ledger {BUSIEST}: first page of 100 with carried balance",
        ledger_page,
        repeat,
        figures,
    )
    measure(
        f"general ledger {BUSIEST}: first page as the report page reads it",
        lambda: (ledger_count(), ledger_page()),
        repeat,
        figures,
    )

    if not args.no_export:

        def export() -> int:
            size = 0
            for chunk in plaintext.export_hledger(company):
                size += len(chunk)
            return size

        start = time.perf_counter()
        size = export()
        elapsed = time.perf_counter() - start
        total = plaintext.Books(company).line_count
        figures.append(("hledger export of the whole books", f"{elapsed:,.1f} s", ""))
        figures.append(
            ("  lines/s, size", f"{total / elapsed:,.0f}", f"{size / 1_000_000:,.0f} MB")
        )

    print()
    print(
        f"Ledger reports benchmark: {lines:,} lines ({total_entries:,} entries of {k}); "
        f"busiest account {BUSIEST} has {busiest_lines:,} lines; {repeat} runs each"
    )
    print(machine())
    width = max(len(label) for label, _first, _median in figures)
    print(f"  {'':<{width}}  {'first':>12}  {'median':>12}")
    for label, first, median in figures:
        print(f"  {label:<{width}}  {first:>12}  {median:>12}")
    connection.close()


if __name__ == "__main__":
    main(run, parse())

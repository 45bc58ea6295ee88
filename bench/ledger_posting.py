"""Ledger posting benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/ledger_posting.py [--entries N] [--lines-per-entry K]
                                             [--database-url URL] [--seed S] [--no-close]

Creates a throw-away company in a temporary SQLite file (default) or in a PostgreSQL database
named by ``--database-url`` (created by the script and dropped at the end: it must not exist),
posts N entries of K lines one by one through the real service ``entry_create_posted``
(validation, numbering, hash chain, monthly balances, audit, one transaction each), then N
more the two-step way a user works in the entry form (``entry_create_draft``, then
``entry_post``: two transactions and two audit events), then times ``ledger_verify``, a trial
balance read from the monthly balances (``AccountBalance``) and one recomputed from the lines,
and the year-end closing. Besides wall-clock rates it prints the rate per CPU-second of this
process, which a busy machine disturbs less. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_common_arguments, bench_company, main, report, timed, verify_books


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=2000, help="entries to post (2000)")
    parser.add_argument("--lines-per-entry", type=int, default=4, help="lines per entry (4)")
    parser.add_argument("--no-close", action="store_true", help="skip the year-end closing")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.entries < 1 or args.lines_per_entry < 2:
        parser.error("--entries must be at least 1 and --lines-per-entry at least 2")
    return args


def run(args: argparse.Namespace, workdir: Path) -> None:
    from django.db.models import Sum

    from trastienda.ledger import services
    from trastienda.ledger.models import AccountBalance, FiscalYear, JournalEntryLine

    figures: list[tuple[str, str]] = []
    company, journal, accounts = bench_company(args.seed)
    rng = random.Random(args.seed)
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

    def post_created(n: int, day: dt.date, rows: list[dict[str, Any]]) -> None:
        services.entry_create_posted(
            company=company, journal=journal, date=day, reference=f"B{n}", lines=rows
        )

    def post_draft(n: int, day: dt.date, rows: list[dict[str, Any]]) -> None:
        draft = services.entry_create_draft(
            company=company, journal=journal, date=day, reference=f"D{n}", lines=rows
        )
        services.entry_post(instance=draft)

    for label, post in (
        ("entry_create_posted", post_created),
        ("entry_create_draft + entry_post", post_draft),
    ):
        batch = [(rng.choice(days), lines()) for _ in range(args.entries)]
        start, cpu = time.perf_counter(), time.process_time()
        for n, (day, rows) in enumerate(batch, start=1):
            post(n, day, rows)
            if n % 1000 == 0:
                print(f"  {label}: {n:,}/{args.entries:,}", file=sys.stderr, flush=True)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        figures.append((f"{label}: posting time", f"{elapsed:,.1f} s"))
        figures.append(("  entries/s, one by one", f"{args.entries / elapsed:,.0f}"))
        figures.append(("  lines/s", f"{args.entries * k / elapsed:,.0f}"))
        figures.append(("  entries per CPU-second of this process", f"{args.entries / cpu:,.0f}"))

    verify_books(company, figures)

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

    report(
        f"Ledger posting benchmark: twice {args.entries:,} entries x {k} lines, one by one",
        figures,
    )


if __name__ == "__main__":
    main(run, parse())

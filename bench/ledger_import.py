"""Ledger import benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/ledger_import.py [--lines N] [--lines-per-entry K]
                                            [--database-url URL] [--seed S]

Generates a CSV file of N lines (default 1,000,000 lines in 500,000 entries of 2 lines; one
entry in ten on a customer account with its partner and due date, one in twenty with a cost
centre), imports it through ``imports.entries_import`` (full validation as posting one entry,
gap-free numbers, hash chain, monthly balances, one audit event) into a throw-away company in a
temporary SQLite file or in a PostgreSQL database named by ``--database-url`` (created and
dropped: it must not exist), and prints lines per second for each step (reading and parsing
the file, checking, writing) and overall, with the time of the final COMMIT (on PostgreSQL the
deferred balance and foreign-key triggers run then). Then it imports the same file again (every
entry skipped), and times ``ledger_verify``, ``ledger_balances_verify`` and a trial balance.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_common_arguments, bench_company, main, report, timed, verify_books

HEADER = (
    "external_id,date,journal,reference,description,account,line_description,debit,credit,"
    "partner,due_date,cost_centre\n"
)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines (1,000,000)")
    parser.add_argument("--lines-per-entry", type=int, default=2, help="lines per entry (2)")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.lines < 2 or args.lines_per_entry < 2:
        parser.error("--lines and --lines-per-entry must be at least 2")
    return args


def generate(lines: int, k: int, accounts: list[str], seed: int) -> bytes:
    """The CSV: entries of ``k`` lines (k-1 debits, one credit), dates spread over 2026."""
    rng = random.Random(seed)
    days = [(dt.date(2026, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(365)]
    out = io.StringIO()
    out.write(HEADER)
    for n in range(lines // k):
        ext = f"E{n:07d}"
        day = rng.choice(days)
        amounts = [rng.randint(1, 1_000_000) for _ in range(k - 1)]
        centre = "SHOP" if n % 20 == 0 else ""
        for i, amount in enumerate(amounts):
            head = f"{ext},{day},GEN,R{n},Entry {n}" if i == 0 else f"{ext},,,,"
            account = rng.choice(accounts)
            out.write(f"{head},{account},line,{amount // 100}.{amount % 100:02d},,,,{centre}\n")
        total = sum(amounts)
        money = f"{total // 100}.{total % 100:02d}"
        if n % 10 == 0:  # a customer invoice: receivable line with partner and due date
            due = (dt.date.fromisoformat(day) + dt.timedelta(days=30)).isoformat()
            out.write(f"{ext},,,,,4300,customer,,{money},Customer {n % 97},{due},\n")
        else:
            out.write(f"{ext},,,,,{rng.choice(accounts)},,,{money},,,\n")
    return out.getvalue().encode()


def run(args: argparse.Namespace, workdir: Path) -> None:
    from django.db import connection

    from trastienda.ledger import imports, queries
    from trastienda.ledger.models import CostCentre

    figures: list[tuple[str, str]] = []
    company, _journal, accounts = bench_company(args.seed)
    CostCentre.objects.create(company=company, code="SHOP", name="Shop")
    k = args.lines_per_entry
    start = time.perf_counter()
    content = generate(args.lines, k, accounts, args.seed)
    entries = args.lines // k
    total_lines = entries * k
    print(
        f"  generated {total_lines:,} lines ({len(content) / 1e6:,.1f} MB) "
        f"in {time.perf_counter() - start:,.1f} s",
        file=sys.stderr,
        flush=True,
    )

    marks: dict[str, float] = {}

    def progress(done: int, total: int, message: str) -> None:
        marks.setdefault(message, time.perf_counter())

    commits: list[float] = []
    real_commit = connection._commit

    def commit() -> Any:
        began = time.perf_counter()
        try:
            return real_commit()
        finally:
            commits.append(time.perf_counter() - began)

    connection._commit = commit  # type: ignore[method-assign]
    start, cpu = time.perf_counter(), time.process_time()
    result = imports.entries_import(
        company=company, content=content, filename="bench.csv", progress=progress
    )
    end, cpu = time.perf_counter(), time.process_time() - cpu
    connection._commit = real_commit  # type: ignore[method-assign]
    if result.posted != entries:
        raise SystemExit(f"posted {result.posted} of {entries}")
    checking = marks.get("Checking entries", end)
    writing = marks.get("Writing entries", end)
    steps = (
        ("read and parse the file", start, checking),
        ("check (posting rules, fx, skips)", checking, writing),
        ("write (number, hash, insert, post, balances, commit)", writing, end),
    )
    for label, began, ended in steps:
        seconds = max(ended - began, 1e-9)
        figures.append((f"{label}: time", f"{seconds:,.1f} s"))
        figures.append((f"{label}: lines/s", f"{total_lines / seconds:,.0f}"))
    figures.append(("of which the final COMMIT", f"{(commits[-1] if commits else 0):,.1f} s"))
    figures.append(("import, overall: time", f"{end - start:,.1f} s"))
    figures.append(("import, overall: lines/s", f"{total_lines / (end - start):,.0f}"))
    figures.append(("import, lines per CPU-second of this process", f"{total_lines / cpu:,.0f}"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.append(("peak memory of the process", f"{peak:,.0f} MB"))
    for label, value in figures:
        print(f"  {label}: {value}", file=sys.stderr, flush=True)

    again = timed(
        "import of the same file again (all skipped)",
        lambda: imports.entries_import(company=company, content=content, filename="bench.csv"),
        figures,
    )
    if again.posted or again.skipped != entries:
        raise SystemExit(f"second import posted {again.posted}, skipped {again.skipped}")
    verify_books(company, figures)
    timed(
        "trial balance, whole year (queries.trial_balance)",
        lambda: queries.trial_balance(company, dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        figures,
    )
    timed(
        "trial balance, 10 Jan-20 Dec (months + edge lines)",
        lambda: queries.trial_balance(company, dt.date(2026, 1, 10), dt.date(2026, 12, 20)),
        figures,
    )
    report(
        f"Ledger import benchmark: {entries:,} entries x {k} lines = {total_lines:,} lines "
        f"({len(content) / 1e6:,.1f} MB CSV)",
        figures,
    )


if __name__ == "__main__":
    main(run, parse())

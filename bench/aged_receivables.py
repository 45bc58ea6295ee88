"""Aged receivables benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/aged_receivables.py [--invoices N] [--paid P] [--customers C]
                                               [--payments K] [--repeat R]
                                               [--database-url URL] [--seed S]

Creates a throw-away company (Spanish chart) in a temporary SQLite file (default) or in a
PostgreSQL database named by ``--database-url`` (created by the script and dropped at the end:
it must not exist), and fills it with N open issued sales invoices (default 100,000) and P
fully paid ones (default 100,000) over C customers (default 2,000).

The data set is written with bulk inserts of ``Invoice`` and ``Installment`` rows (and, for K
of the paid invoices, ``Payment`` and ``PaymentAllocation`` rows dated in the last 60 days),
not through ``invoice_issue`` / ``payment_create``: no journal entries, numbers or audit
events. The benchmark measures the reports, not issuing (see ``bench/ledger_posting.py`` for
the posting rate). The rows look like what the services write: invoice dates spread over the
400 days before today, one instalment 30 days after the date (one invoice in five: three
instalments at 30/60/90 days, the earliest settled first), one in ten in USD at a rate of 0.9
(``open_base`` in EUR, half up), one in twenty partly paid, one in fifty a credit note.

Then (after ``ANALYZE`` on PostgreSQL; on SQLite a checkpoint of the WAL into the database file)
it reads through a new connection and times, R times each (first run, median, and median CPU
time of the script's process, which on SQLite includes the database's work), with the query
plan of the aggregate:

- the aged report at today (``receivables.aged_report``: the aggregate, the look-ups of what
  changed after the date, the unapplied credit and the days sales outstanding), and its SQL
  aggregate alone;
- the report with filters (only overdue, a minimum amount), for one partner, and as of 30
  days ago (every invoice issued since and every payment made since undone in Python);
- the open items of the largest customer (the drill-down) and the days sales outstanding;
- the statement of account of the largest customer for the year and the summary of every
  customer's statement.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_common_arguments, bench_company, machine, main

BATCH = 2000
USD_RATE = Decimal("0.9")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=100_000, help="open invoices (100000)")
    parser.add_argument("--paid", type=int, default=100_000, help="paid invoices (100000)")
    parser.add_argument("--customers", type=int, default=2_000, help="customers (2000)")
    parser.add_argument(
        "--payments", type=int, default=5_000, help="paid invoices with a payment row (5000)"
    )
    parser.add_argument("--repeat", type=int, default=7, help="runs of each report (7)")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.invoices < 1 or args.customers < 1 or args.repeat < 1 or args.paid < args.payments:
        parser.error("--invoices, --customers and --repeat must be 1+, --payments <= --paid")
    return args


def measure(label: str, fn: Callable[[], Any], repeat: int, figures: list[tuple[str, ...]]) -> Any:
    """Run ``fn`` ``repeat`` times; record the first run, the median and the median CPU time
    of this process (on SQLite the database works in it too: a figure that a busy machine
    inflates less than the elapsed time), in ms."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    figures.append(
        (
            label,
            f"{times[0]:,.1f} ms",
            f"{statistics.median(times):,.1f} ms",
            f"{statistics.median(cpu):,.1f} ms",
        )
    )
    return result


def base_of(amount: int, currency: str) -> int:
    if currency == "EUR":
        return amount
    return int((Decimal(amount) * USD_RATE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fill(args: argparse.Namespace, company: Any, today: dt.date) -> dict[str, int]:
    """Partners, invoices, instalments, payments: bulk inserts, in batches."""
    from django.db import transaction

    from trastienda.billing.models import Installment, Invoice, Partner, Payment, PaymentAllocation
    from trastienda.ledger.models import Account, Journal

    rng = random.Random(args.seed)
    partners = Partner.objects.bulk_create(
        [
            Partner(
                company=company,
                code=f"C{n:05d}",
                legal_name=f"Cliente {n} S.L.",
                tax_id="B12345674",
                is_customer=True,
            )
            for n in range(1, args.customers + 1)
        ],
        batch_size=BATCH,
    )
    weights = [rng.paretovariate(1.5) for _ in partners]  # a few large customers
    bank = Account.objects.get(company=company, code="5720")
    journal = Journal.objects.get(company=company, code="BNK")
    counts = {"invoices": 0, "installments": 0, "payments": 0}
    total = args.invoices + args.paid
    to_pay: list[tuple[Invoice, int]] = []
    number = 0
    for start in range(0, total, BATCH):
        size = min(BATCH, total - start)
        invoices, plans = [], []
        for i in range(size):
            number += 1
            is_open = start + i < args.invoices
            partner = rng.choices(partners, weights)[0]
            date = today - dt.timedelta(days=rng.randint(0, 400))
            currency = "USD" if rng.random() < 0.1 else "EUR"
            kind = "credit_note" if is_open and rng.random() < 0.02 else "invoice"
            payable = rng.randint(1_000, 500_000)
            parts = 3 if rng.random() < 0.2 else 1
            amounts = [payable // parts] * parts
            amounts[-1] += payable - sum(amounts)
            dues = [date + dt.timedelta(days=30 * (k + 1)) for k in range(parts)]
            if not is_open:
                paid = payable
            elif kind == "invoice" and rng.random() < 0.05:
                paid = rng.randint(1, payable - 1)
            else:
                paid = 0
            open_amount = payable - paid
            invoices.append(
                Invoice(
                    company=company,
                    direction="sale",
                    kind=kind,
                    state="issued",
                    payment_state="paid"
                    if open_amount == 0
                    else ("partly_paid" if paid else "unpaid"),
                    partner=partner,
                    number=f"B{number:07d}",
                    date=date,
                    due_date=dues[-1],
                    currency=currency,
                    rate=USD_RATE if currency == "USD" else Decimal(1),
                    net_amount=payable,
                    total_amount=payable,
                    payable_amount=payable,
                    open_amount=open_amount,
                )
            )
            plans.append((amounts, dues, paid, -1 if kind == "credit_note" else 1))
        with transaction.atomic():
            created = Invoice.objects.bulk_create(invoices, batch_size=BATCH)
            rows = []
            for invoice, (amounts, dues, paid, sign) in zip(created, plans, strict=True):
                settled = paid  # the earliest instalments are settled first
                for amount, due in zip(amounts, dues, strict=True):
                    take = min(amount, settled)
                    settled -= take
                    still = amount - take
                    rows.append(
                        Installment(
                            company=company,
                            invoice=invoice,
                            partner_id=invoice.partner_id,
                            direction="sale",
                            due_date=due,
                            amount=sign * amount,
                            open_amount=sign * still,
                            open_base=sign * base_of(still, invoice.currency),
                        )
                    )
                if invoice.open_amount == 0 and len(to_pay) < args.payments:
                    to_pay.append((invoice, invoice.payable_amount))
            Installment.objects.bulk_create(rows, batch_size=BATCH)
        counts["invoices"] += len(created)
        counts["installments"] += len(rows)
        print(f"  inserted {counts['invoices']:,}/{total:,} invoices", file=sys.stderr, flush=True)
    # Payments dated in the last 60 days (after the invoice), one allocation each.
    for start in range(0, len(to_pay), BATCH):
        chunk = to_pay[start : start + BATCH]
        with transaction.atomic():
            payments = Payment.objects.bulk_create(
                [
                    Payment(
                        company=company,
                        direction="sale",
                        partner_id=invoice.partner_id,
                        date=max(invoice.date, today - dt.timedelta(days=rng.randint(0, 60))),
                        amount=amount,
                        currency=invoice.currency,
                        bank_account=bank,
                        journal=journal,
                        reference=f"P{start + n}",
                    )
                    for n, (invoice, amount) in enumerate(chunk)
                ],
                batch_size=BATCH,
            )
            PaymentAllocation.objects.bulk_create(
                [
                    PaymentAllocation(
                        company=company, payment=payment, invoice=invoice, amount=amount
                    )
                    for payment, (invoice, amount) in zip(payments, chunk, strict=True)
                ],
                batch_size=BATCH,
            )
        counts["payments"] += len(payments)
    return counts


def plan(company: Any, today: dt.date) -> str:
    from trastienda.billing import receivables

    return explain(*receivables.aged_sql(company, "sale", today))


def dso_plan(company: Any, today: dt.date) -> str:
    from trastienda.billing import receivables

    days = receivables.DEFAULT_DSO_DAYS
    query = receivables.invoiced_in_query(
        company, direction="sale", date_from=today - dt.timedelta(days=days - 1), date_to=today
    ).query
    return explain(*query.sql_with_params())


def explain(sql: str, params: Any) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(f"    {row[-1]}" for row in cursor.fetchall())
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(f"    {row[0]}" for row in cursor.fetchall())


def run(args: argparse.Namespace, workdir: Path) -> None:
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from trastienda.billing import receivables
    from trastienda.billing.models import Installment, Partner

    figures: list[tuple[str, ...]] = []
    company, _journal, _sample = bench_company(args.seed)
    today = timezone.localdate()
    start = time.perf_counter()
    counts = fill(args, company, today)
    elapsed = time.perf_counter() - start
    figures.append(("bulk inserts (invoices, instalments, payments)", f"{elapsed:,.1f} s", "", ""))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would give after a while
        else:
            # Into the database file, as the WAL is after any quiet moment: pages read from a
            # large WAL go through its index, which alone made the aggregate half as slow.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()  # the reports read through a new connection, as a page request would
    gc.collect()
    open_rows = Installment.objects.filter(company=company).exclude(open_amount=0).count()
    largest_id = (
        Installment.objects.filter(company=company)
        .exclude(open_amount=0)
        .values("partner_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    largest = Partner.objects.get(pk=largest_id["partner_id"]) if largest_id else None

    repeat = args.repeat
    report = measure(
        "aged report today (aggregate, later changes, credit, DSO)",
        lambda: receivables.aged_report(company, as_of=today),
        repeat,
        figures,
    )

    def aggregate() -> Any:
        sql, params = receivables.aged_sql(company, "sale", today)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    measure("  its SQL aggregate alone", aggregate, repeat, figures)
    measure(
        "aged report today, only overdue, at least 1,000.00",
        lambda: receivables.aged_report(
            company, as_of=today, overdue_only=True, min_amount=100_000
        ),
        repeat,
        figures,
    )
    if largest is not None:
        measure(
            f"aged report today, one partner ({largest.code})",
            lambda: receivables.aged_report(company, as_of=today, partner=largest),
            repeat,
            figures,
        )
    past = today - dt.timedelta(days=30)
    measure(
        "aged report as of 30 days ago (later invoices and payments undone)",
        lambda: receivables.aged_report(company, as_of=past),
        repeat,
        figures,
    )
    measure(
        "aged report today without the DSO",
        lambda: receivables.aged_report(company, as_of=today, dso_days=None),
        repeat,
        figures,
    )
    dso_from = today - dt.timedelta(days=receivables.DEFAULT_DSO_DAYS - 1)
    measure(
        "  the DSO's invoiced amount of 90 days (invoiced_in)",
        lambda: receivables.invoiced_in(
            company, direction="sale", date_from=dso_from, date_to=today
        ),
        repeat,
        figures,
    )
    if largest is not None:
        items = measure(
            f"open items of {largest.code} (drill-down)",
            lambda: receivables.open_items(company, direction="sale", partner=largest, as_of=today),
            repeat,
            figures,
        )
        year_ago = today - dt.timedelta(days=365)
        measure(
            f"statement of account of {largest.code}, last 365 days",
            lambda: receivables.partner_statement(
                company, partner=largest, direction="sale", date_from=year_ago, date_to=today
            ),
            repeat,
            figures,
        )
    measure(
        "statement summary of every customer, last 365 days",
        lambda: receivables.statement_summary(
            company, direction="sale", date_from=today - dt.timedelta(days=365), date_to=today
        ),
        repeat,
        figures,
    )

    print()
    print(
        f"Aged receivables benchmark: {counts['invoices']:,} issued invoices "
        f"({args.invoices:,} open, {args.paid:,} paid; {counts['installments']:,} instalments, "
        f"{open_rows:,} open), {args.customers:,} customers ({len(report.rows):,} with "
        f"something open), {counts['payments']:,} payments; {repeat} runs each"
    )
    if largest is not None:
        print(f"largest customer {largest.code}: {len(items):,} open instalments")
    print(machine())
    print("query plan of the aggregate:")
    print(plan(company, today))
    print("query plan of the DSO's invoiced amount:")
    print(dso_plan(company, today))
    width = max(len(row[0]) for row in figures)
    print(f"  {'':<{width}}  {'first':>12}  {'median':>12}  {'median CPU':>12}")
    for label, first, median, cpu in figures:
        print(f"  {label:<{width}}  {first:>12}  {median:>12}  {cpu:>12}")
    connection.close()


if __name__ == "__main__":
    main(run, parse())

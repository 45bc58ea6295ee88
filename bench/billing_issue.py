"""Invoice issuing benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/billing_issue.py [--invoices N] [--single M] [--database-url URL]
                                            [--profile FILE]

Creates a throw-away company (Spanish chart and taxes, 500 customers, 50 products) in a
temporary SQLite file (default) or a PostgreSQL database named by ``--database-url`` (created
and dropped), then issues N sales invoices of 3 lines (21 % and 10 % VAT, a discount, a
30/60 payment term on some: two instalments) through the bulk service
``billing.bulk.invoices_issue_bulk`` — numbering per series, journal entries through the
ledger's bulk posting, invoices, lines, taxes and instalments — and M more one by one through
``invoice_create_draft`` + ``invoice_issue`` (what the invoice form does), then checks the
books (hash chain, balances) and that the numbers are consecutive. Issue 4's target: 100,000
invoices of 3 lines in under 60 s on SQLite. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_common_arguments, main, report, verify_books


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=100_000, help="bulk invoices (100000)")
    parser.add_argument("--single", type=int, default=200, help="invoices one by one (200)")
    parser.add_argument("--batch", type=int, default=100_000, help="invoices per bulk call")
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats of the bulk issue")
    add_common_arguments(parser)
    return parser.parse_args()


def setup(seed: int) -> tuple[Any, list[str], list[str]]:
    from trastienda.billing.models import Partner, PaymentTerm, Product, Tax
    from trastienda.core import services as core_services
    from trastienda.ledger import services as ledger

    company = core_services.company_create(
        code="BENCH", legal_name="Bench S.L.", country="ES", tax_id="B12345674"
    )
    ledger.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    taxes = {t.rate: t for t in Tax.objects.filter(company=company, kind="vat", scope="sale")}
    term = PaymentTerm.objects.create(company=company, code="B3060", name="30/60", days="30/60")
    rng = random.Random(seed)
    Partner.objects.bulk_create(
        Partner(
            company=company,
            code=f"C{n:04d}",
            legal_name=f"Cliente {n} S.L.",
            tax_id="B12345674",
            payment_term=term if n % 3 == 0 else None,
        )
        for n in range(500)
    )
    products = Product.objects.bulk_create(
        Product(
            company=company,
            sku=f"P{n:03d}",
            name_es=f"Producto {n}",
            sale_price=rng.randint(100, 500_000) * 100,
        )
        for n in range(50)
    )
    vat = [taxes[Decimal("21.0000")], taxes[Decimal("10.0000")]]
    through = Product.sale_taxes.through
    through.objects.bulk_create(
        through(product_id=p.pk, tax_id=vat[n % 2].pk) for n, p in enumerate(products)
    )
    return company, [f"C{n:04d}" for n in range(500)], [p.sku for p in products]


def run(args: argparse.Namespace, workdir: Path) -> None:
    from trastienda.billing import services
    from trastienda.billing.bulk import invoices_issue_bulk
    from trastienda.billing.models import Invoice, InvoiceLine

    figures: list[tuple[str, str]] = []
    company, customers, skus = setup(args.seed)
    rng = random.Random(args.seed)
    start_day = dt.date(2026, 1, 2)

    def spec(n: int, total: int) -> dict[str, Any]:
        day = start_day + dt.timedelta(days=int(n * 300 / max(total, 1)))
        return {
            "partner": rng.choice(customers),
            "date": day,
            "lines": [
                {
                    "product": rng.choice(skus),
                    "quantity": Decimal(rng.randint(1, 20)),
                    "discount": Decimal(rng.choice([0, 0, 5, 10])),
                }
                for _line in range(3)
            ],
        }

    specs = [spec(n, args.invoices) for n in range(args.invoices)]
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    cpu = time.process_time()
    issued = 0
    if profiler is not None:
        profiler.enable()
    for first in range(0, len(specs), args.batch):
        result = invoices_issue_bulk(company=company, invoices=specs[first : first + args.batch])
        issued += result.issued
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    figures.append((f"bulk issue of {issued:,} invoices x 3 lines", f"{elapsed:,.1f} s"))
    figures.append(("  invoices per second (wall)", f"{issued / elapsed:,.0f}"))
    figures.append(("  invoices per CPU-second of this process", f"{issued / cpu:,.0f}"))

    last = Invoice.objects.filter(company=company).order_by("-date").first()
    day = last.date if last is not None else start_day
    started = time.perf_counter()
    for _n in range(args.single):
        draft = services.invoice_create_draft(
            company=company,
            direction="sale",
            partner=rng.choice(customers),
            date=day,
            lines=spec(0, 1)["lines"],
        )
        services.invoice_issue(instance=draft)
    elapsed = time.perf_counter() - started
    if args.single:
        figures.append(
            (f"draft + issue one by one ({args.single})", f"{args.single / elapsed:,.0f} /s")
        )

    numbers = list(
        Invoice.objects.filter(company=company)
        .order_by("sequence_number")
        .values_list("sequence_number", flat=True)
    )
    if numbers != list(range(1, len(numbers) + 1)):
        raise SystemExit("numbers are not consecutive")
    figures.append(
        (
            "invoices / lines in the database",
            f"{len(numbers):,} / {InvoiceLine.objects.filter(company=company).count():,}",
        )
    )
    verify_books(company, figures)
    report("billing: issuing invoices", figures)


if __name__ == "__main__":
    main(run, parse())

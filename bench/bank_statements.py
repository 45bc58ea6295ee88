"""Banking benchmarks: prints figures, asserts nothing.

    .venv/bin/python bench/bank_statements.py [--entries N] [--invoices M] [--lines L]
                                              [--apply K] [--database-url URL]

1. Statement import: a CAMT.053 (camt.053.001.02) file of N entries (100,000) is generated
   and imported through ``banking.services.statement_import`` (format detection, lxml
   reading, account and balance checks, duplicate and overlap checks, insert). Issue 5's
   target: under 20 s.
2. Automatic reconciliation: M open sales invoices (50,000, issued with the bulk service;
   customers with known IBANs) and a statement of L lines (10,000) generated from them with
   a known answer: 60 % name the invoice number, 15 % only the customer's IBAN and the exact
   amount, 10 % pay two or three invoices of one customer in one transfer, 5 % are
   instalments (two lines for one invoice), 10 % are noise with no match. The timed part is
   ``reconciliation.reconcile_plan`` (loading the open lines and the open items, rules, the
   matching engine). Issue 5's target: under 10 s. The share of lines matched correctly is
   measured on what automatic reconciliation would apply (score >= 90, no difference) and on
   every proposal. Then K proposals (300) are applied (payments posted) to report the posting
   throughput.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_common_arguments, main, report

from trastienda.banking.formats.camt_writer import CamtStatement, Entry, camt053

IBAN_A = "ES9121000418450200051332"
IBAN_B = "ES7921000813610123456789"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="CAMT entries (100000)")
    parser.add_argument("--invoices", type=int, default=50_000, help="open invoices (50000)")
    parser.add_argument("--lines", type=int, default=10_000, help="statement lines (10000)")
    parser.add_argument("--apply", type=int, default=300, help="proposals applied (300)")
    add_common_arguments(parser)
    return parser.parse_args()


def bench_import(args: argparse.Namespace, company: Any, figures: list[tuple[str, str]]) -> None:
    from trastienda.banking.models import StatementLine
    from trastienda.banking.services import bank_account_create, statement_import

    rng = random.Random(args.seed)
    account = bank_account_create(company=company, name="Import", iban=IBAN_A)
    day0 = dt.date(2026, 1, 1)
    entries = [
        {
            "date": day0 + dt.timedelta(days=n * 330 // max(args.entries, 1)),
            "amount": Decimal(rng.randint(-500_000, 900_000)) / 100 or Decimal("1.00"),
            "text": f"TRANSFER {rng.randint(1, 10**9)} PAYMENT REF {n}",
            "name": f"Counterparty {n % 997}",
            "iban": IBAN_B if n % 3 else "",
        }
        for n in range(args.entries)
    ]
    data = statement_file(IBAN_A, entries, "125000.00")
    figures.append((f"CAMT.053 file of {args.entries:,} entries", f"{len(data) / 1e6:,.1f} MB"))
    started = time.perf_counter()
    result = statement_import(company=company, content=data, filename="bench.xml")
    elapsed = time.perf_counter() - started
    figures.append(("  import (read, check, store)", f"{elapsed:,.2f} s"))
    figures.append(("  entries per second", f"{result.lines / elapsed:,.0f}"))
    stored = StatementLine.objects.filter(bank_account=account).count()
    if stored != args.entries:
        raise SystemExit(f"{stored} lines stored, {args.entries} expected")
    started = time.perf_counter()
    try:
        statement_import(company=company, content=data, filename="bench.xml")
        raise SystemExit("the same file was imported twice")
    except Exception as exc:
        if "ValidationError" not in type(exc).__name__:
            raise
    figures.append(("  the same file again: refused in", f"{time.perf_counter() - started:,.2f} s"))


def make_invoices(args: argparse.Namespace, company: Any) -> list[dict[str, Any]]:
    from schwifty import IBAN

    from trastienda.billing.bulk import invoices_issue_bulk
    from trastienda.billing.models import Invoice, Partner, PartnerBankAccount, Product

    rng = random.Random(args.seed + 1)
    customers = Partner.objects.bulk_create(
        Partner(
            company=company,
            code=f"K{n:04d}",
            legal_name=f"Cliente {n} S.A.",
            tax_id="B12345674",
            is_customer=True,
        )
        for n in range(2000)
    )
    PartnerBankAccount.objects.bulk_create(
        PartnerBankAccount(
            company=company,
            partner=partner,
            iban=IBAN.generate("ES", bank_code="2100", account_code=f"{n:010d}").compact,
            is_default=True,
        )
        for n, partner in enumerate(customers)
    )
    product = Product.objects.create(
        company=company, sku="SRV", name_es="Servicio", sale_price=10_000
    )
    specs = [
        {
            "partner": rng.choice(customers).code,
            "date": dt.date(2026, 1, 2) + dt.timedelta(days=n * 300 // args.invoices),
            "lines": [
                {
                    "product": product.sku,
                    "quantity": Decimal(rng.randint(1, 400)),
                    "unit_price": Decimal(rng.randint(500, 90_000)) / 100,
                }
            ],
        }
        for n in range(args.invoices)
    ]
    invoices_issue_bulk(company=company, invoices=specs)
    ibans = dict(
        PartnerBankAccount.objects.filter(company=company).values_list("partner_id", "iban")
    )
    rows = []
    for pk, number, partner_id, open_amount, due in Invoice.objects.filter(
        company=company
    ).values_list("pk", "number", "partner_id", "open_amount", "due_date"):
        rows.append(
            {
                "pk": pk,
                "number": number,
                "partner": partner_id,
                "amount": open_amount,
                "due": due,
                "iban": ibans[partner_id],
            }
        )
    return rows


def statement_lines(
    args: argparse.Namespace, invoices: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[frozenset[int]]]:
    """The lines and, per line, the invoices it truly pays (empty for noise)."""
    rng = random.Random(args.seed + 2)
    pool = invoices[:]
    rng.shuffle(pool)
    by_partner: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for invoice in pool[args.lines * 2 :]:
        by_partner[invoice["partner"]].append(invoice)
    taken = iter(pool)
    lines: list[dict[str, Any]] = []
    truth: list[frozenset[int]] = []

    def when(invoice: dict[str, Any]) -> dt.date:
        return invoice["due"] + dt.timedelta(days=rng.randint(-3, 5))

    def money(minor: int) -> Decimal:
        return Decimal(minor) / 100

    n = 0
    while len(lines) < args.lines:
        n += 1
        kind = rng.random()
        if kind < 0.60:
            inv = next(taken)
            lines.append(
                {
                    "date": when(inv),
                    "amount": money(inv["amount"]),
                    "iban": inv["iban"],
                    "text": f"PAGO FRA {inv['number']} CLIENTE",
                    "name": "Cliente",
                }
            )
            truth.append(frozenset({inv["pk"]}))
        elif kind < 0.75:
            inv = next(taken)
            lines.append(
                {
                    "date": when(inv),
                    "amount": money(inv["amount"]),
                    "iban": inv["iban"],
                    "text": "TRANSFERENCIA RECIBIDA",
                    "name": "Cliente",
                }
            )
            truth.append(frozenset({inv["pk"]}))
        elif kind < 0.85:
            first = next(taken)
            group = [first, *by_partner[first["partner"]][: rng.randint(1, 2)]]
            del by_partner[first["partner"]][: len(group) - 1]
            numbers = " ".join(str(g["number"]) for g in group) if n % 2 else "VARIAS FACTURAS"
            lines.append(
                {
                    "date": when(first),
                    "amount": money(sum(g["amount"] for g in group)),
                    "iban": first["iban"],
                    "text": f"PAGO {numbers}",
                    "name": "Cliente",
                }
            )
            truth.append(frozenset(g["pk"] for g in group))
        elif kind < 0.90:
            inv = next(taken)
            part = inv["amount"] * 6 // 10
            for share, extra in ((part, 0), (inv["amount"] - part, 20)):
                lines.append(
                    {
                        "date": when(inv) + dt.timedelta(days=extra),
                        "amount": money(share),
                        "iban": inv["iban"],
                        "text": f"{inv['number']} PLAZO",
                        "name": "Cliente",
                    }
                )
                truth.append(frozenset({inv["pk"]}))
        else:
            lines.append(
                {
                    "date": dt.date(2026, 1, 5) + dt.timedelta(days=rng.randint(0, 330)),
                    "amount": Decimal(rng.randint(100, 99_999)) / 100 * rng.choice([1, -1]),
                    "iban": "",
                    "text": f"MOVIMIENTO {rng.randint(1, 10**6)}",
                    "name": "",
                }
            )
            truth.append(frozenset())
    return lines[: args.lines], truth[: args.lines]


def bench_reconcile(args: argparse.Namespace, company: Any, figures: list[tuple[str, str]]) -> None:
    from trastienda.banking import reconciliation as rec
    from trastienda.banking.models import StatementLine
    from trastienda.banking.services import bank_account_create, statement_import

    started = time.perf_counter()
    invoices = make_invoices(args, company)
    figures.append(
        (
            f"set-up: {len(invoices):,} open invoices issued",
            f"{time.perf_counter() - started:,.1f} s",
        )
    )
    account = bank_account_create(company=company, name="Collections", iban=IBAN_B)
    lines, truth = statement_lines(args, invoices)
    data = statement_file(IBAN_B, lines, "0.00")
    statement_import(company=company, content=data, filename="collections.xml")
    pks = list(
        StatementLine.objects.filter(bank_account=account)
        .order_by("sequence")
        .values_list("pk", flat=True)
    )
    expected = dict(zip(pks, truth, strict=True))
    invoice_key = {f"invoice:{inv['pk']}": inv["pk"] for inv in invoices}

    started = time.perf_counter()
    plan = rec.reconcile_plan(account)
    elapsed = time.perf_counter() - started
    figures.append(
        (
            f"reconcile_plan: {len(pks):,} lines vs {len(plan.targets):,} open items",
            f"{elapsed:,.2f} s",
        )
    )

    def judge(proposals: list[Any]) -> tuple[int, int]:
        right = wrong = 0
        for proposal in proposals:
            got = frozenset(invoice_key.get(str(item.key), -1) for item in proposal.right)
            for item in proposal.left:
                if expected[int(item.key)] == got:
                    right += 1
                else:
                    wrong += 1
        return right, wrong

    automatic = [
        p for p in plan.matched.proposals if p.score >= rec.AUTO_MIN_SCORE and p.difference == 0
    ]
    right, wrong = judge(automatic)
    matchable = sum(1 for t in truth if t)
    figures.append(("  lines with a true match", f"{matchable:,}"))
    figures.append(("  applied automatically: correct", f"{right:,} ({right / len(pks):.1%})"))
    figures.append(("  applied automatically: wrong", f"{wrong:,}"))
    right_all, wrong_all = judge(plan.matched.proposals)
    figures.append(("  every proposal: correct / wrong", f"{right_all:,} / {wrong_all:,}"))
    figures.append(
        ("  recall (correct proposals / matchable)", f"{right_all / max(matchable, 1):.1%}")
    )

    sample = automatic[: args.apply]
    started = time.perf_counter()
    for proposal in sample:
        rec._apply(proposal, plan.targets, None)
    elapsed = time.perf_counter() - started
    if sample:
        figures.append((f"applying {len(sample)} proposals (payments posted)", f"{elapsed:,.2f} s"))
        figures.append(("  proposals applied per second", f"{len(sample) / elapsed:,.0f}"))


def statement_file(iban: str, rows: list[dict[str, Any]], opening: str) -> bytes:
    entries = [
        Entry(
            date=row["date"],
            amount=row["amount"],
            description=row["text"],
            reference=f"E2E{n:09d}",
            bank_reference=f"{iban[-6:]}-{n}",
            name=row.get("name", ""),
            iban=row.get("iban", ""),
        )
        for n, row in enumerate(rows, start=1)
    ]
    dates = [row["date"] for row in rows]
    return camt053(
        CamtStatement(
            iban=iban,
            entries=entries,
            opening=opening,
            statement_id=f"BENCH-{iban[-6:]}",
            start=min(dates),
            end=max(dates),
        )
    )


def run(args: argparse.Namespace, workdir: Path) -> None:
    from trastienda.core import services as core_services
    from trastienda.ledger import services as ledger

    company = core_services.company_create(
        code="BENCH", legal_name="Bench S.L.", country="ES", tax_id="B12345674"
    )
    ledger.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    figures: list[tuple[str, str]] = []
    if args.entries:
        bench_import(args, company, figures)
    if args.invoices and args.lines:
        bench_reconcile(args, company, figures)
    report("banking: statement import and automatic reconciliation", figures)


if __name__ == "__main__":
    main(run, parse())

"""Demo data of the ledger: fiscal year 2026, rates, analytic dimensions and a half-year of
posted entries (capital, purchases, sales, collections, payments, bank fees, payroll) for
both demo companies. Idempotent: entries are found again by their reference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from trastienda.core.demo import DemoContext, demo_step
from trastienda.ledger import services
from trastienda.ledger.models import (
    CostCentre,
    ExchangeRate,
    FiscalYear,
    Journal,
    JournalEntry,
    Project,
)

ACCOUNTS = {
    "ES": {
        "bank": "5720",
        "capital": "1000",
        "purchases": "6000",
        "suppliers": "4000",
        "vat_in": "4720",
        "customers": "4300",
        "sales": "7000",
        "vat_out": "4770",
        "fees": "6260",
        "wages": "6400",
        "social": "6420",
        "wages_due": "4650",
        "social_due": "4760",
    },
    "IT": {
        "bank": "03.04.001",
        "capital": "05.01.001",
        "purchases": "11.01.001",
        "suppliers": "08.06.001",
        "vat_in": "03.02.007",
        "customers": "03.02.001",
        "sales": "10.01.001",
        "vat_out": "08.10.001",
        "fees": "11.02.010",
        "wages": "11.04.001",
        "social": "11.04.002",
        "wages_due": "08.12.001",
        "social_due": "08.11.001",
    },
}
VAT = {"ES": Decimal("0.21"), "IT": Decimal("0.22")}
SUPPLIERS = {"ES": "Aceros del Ebro S.A.", "IT": "Acciaierie del Nord S.p.A."}
CUSTOMERS = {
    "ES": ("Bricolajes Pérez S.L.", "Construcciones Aragón S.A.", "Reformas Levante S.L."),
    "IT": ("Edilizia Brambilla S.r.l.", "Bricocenter Milano S.p.A.", "Costruzioni Verdi S.r.l."),
}
RATES = (
    (dt.date(2026, 1, 2), "USD", "1.0350"),
    (dt.date(2026, 1, 2), "GBP", "0.8297"),
    (dt.date(2026, 1, 2), "CHF", "0.9401"),
    (dt.date(2026, 1, 5), "USD", "1.0321"),
    (dt.date(2026, 1, 5), "GBP", "0.83015"),
    (dt.date(2026, 6, 30), "USD", "1.0712"),
)
# Foreign-currency activity of the Spanish company (1 EUR = 1.0321 USD on 5 January), so that
# the revaluation page has balances to value: a USD bank account (573) and a USD customer (4304).
USD_CUSTOMER = "Hardware Depot Inc."
USD_ENTRIES: list[tuple[str, str, dt.date, str, list[dict[str, Any]]]] = [
    (
        "DEMO-2026-USD-BNK",
        "BNK",
        dt.date(2026, 1, 5),
        "Traspaso a la cuenta corriente en USD",
        [
            {"account": "573", "debit": "9689.08", "currency": "USD", "amount_currency": "10000"},
            {"account": "5720", "credit": "9689.08"},
        ],
    ),
    (
        "DEMO-2026-USD-SAL",
        "SAL",
        dt.date(2026, 1, 5),
        f"Venta de exportación a {USD_CUSTOMER} (USD)",
        [
            {
                "account": "4304",
                "debit": "4844.49",
                "currency": "USD",
                "amount_currency": "5000",
                "partner": USD_CUSTOMER,
                "due_date": dt.date(2026, 3, 5),
            },
            {"account": "7000", "credit": "4844.49"},
        ],
    ),
]


# The demo books are written in each company's language, as its accountants would write them.
TEXTS = {
    "ES": {
        "capital": "Aportación de capital de los socios",
        "purchase": "Compra de mercaderías a {supplier}",
        "sale": "Venta a {customer}",
        "collection": "Cobro de {customer}",
        "payment": "Pago a {supplier}",
        "fee": "Comisión de mantenimiento de la cuenta",
        "payroll": "Nómina del mes",
        "STORE": "Tienda",
        "ADMIN": "Administración",
        "WEB": "Tienda online",
    },
    "IT": {
        "capital": "Conferimento di capitale dei soci",
        "purchase": "Acquisto di merci da {supplier}",
        "sale": "Vendita a {customer}",
        "collection": "Incasso da {customer}",
        "payment": "Pagamento a {supplier}",
        "fee": "Commissione di tenuta conto",
        "payroll": "Stipendi del mese",
        "STORE": "Negozio",
        "ADMIN": "Amministrazione",
        "WEB": "Negozio online",
    },
}


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _entries(country: str) -> list[tuple[str, str, dt.date, str, list[dict[str, Any]]]]:
    """(reference, journal code, date, description, lines) of the demo half-year."""
    a, vat, text = ACCOUNTS[country], VAT[country], TEXTS[country]
    rows: list[tuple[str, str, dt.date, str, list[dict[str, Any]]]] = [
        (
            "DEMO-2026-CAP",
            "GEN",
            dt.date(2026, 1, 2),
            text["capital"],
            [
                {"account": a["bank"], "debit": "60000.00"},
                {"account": a["capital"], "credit": "60000.00"},
            ],
        )
    ]
    supplier = SUPPLIERS[country]
    for month in range(1, 7):
        customer = CUSTOMERS[country][month % 3]
        cost = Decimal(8000 + 350 * month)
        revenue = Decimal(12500 + 900 * month)
        cost_vat, revenue_vat = (
            (cost * vat).quantize(Decimal("0.01")),
            (revenue * vat).quantize(Decimal("0.01")),
        )
        tag = f"{month:02d}"
        rows += [
            (
                f"DEMO-2026-PUR-{tag}",
                "PUR",
                dt.date(2026, month, 5),
                text["purchase"].format(supplier=supplier),
                [
                    {"account": a["purchases"], "debit": _money(cost), "cost_centre": "STORE"},
                    {"account": a["vat_in"], "debit": _money(cost_vat)},
                    {
                        "account": a["suppliers"],
                        "credit": _money(cost + cost_vat),
                        "partner": supplier,
                        "due_date": dt.date(2026, month, 28),
                    },
                ],
            ),
            (
                f"DEMO-2026-SAL-{tag}",
                "SAL",
                dt.date(2026, month, 12),
                text["sale"].format(customer=customer),
                [
                    {
                        "account": a["customers"],
                        "debit": _money(revenue + revenue_vat),
                        "partner": customer,
                        "due_date": dt.date(2026, month, 27),
                    },
                    {"account": a["sales"], "credit": _money(revenue), "project": "WEB"},
                    {"account": a["vat_out"], "credit": _money(revenue_vat)},
                ],
            ),
            (
                f"DEMO-2026-COL-{tag}",
                "BNK",
                dt.date(2026, month, 27),
                text["collection"].format(customer=customer),
                [
                    {"account": a["bank"], "debit": _money(revenue + revenue_vat)},
                    {
                        "account": a["customers"],
                        "credit": _money(revenue + revenue_vat),
                        "partner": customer,
                    },
                ],
            ),
            (
                f"DEMO-2026-PAY-{tag}",
                "BNK",
                dt.date(2026, month, 28),
                text["payment"].format(supplier=supplier),
                [
                    {
                        "account": a["suppliers"],
                        "debit": _money(cost + cost_vat),
                        "partner": supplier,
                    },
                    {"account": a["bank"], "credit": _money(cost + cost_vat)},
                ],
            ),
            (
                f"DEMO-2026-FEE-{tag}",
                "BNK",
                dt.date(2026, month, 28),
                text["fee"],
                [
                    {"account": a["fees"], "debit": "15.00", "cost_centre": "ADMIN"},
                    {"account": a["bank"], "credit": "15.00"},
                ],
            ),
            (
                f"DEMO-2026-NOM-{tag}",
                "PAY",
                dt.date(2026, month, 28),
                text["payroll"],
                [
                    {"account": a["wages"], "debit": "4200.00", "cost_centre": "ADMIN"},
                    {"account": a["social"], "debit": "1340.00", "cost_centre": "ADMIN"},
                    {"account": a["wages_due"], "credit": "4200.00"},
                    {"account": a["social_due"], "credit": "1340.00"},
                ],
            ),
        ]
    if country == "ES":
        rows += USD_ENTRIES
    return rows


@demo_step(order=110)
def ledger(ctx: DemoContext) -> None:
    """Fiscal year 2026, rates, cost centres, projects and posted entries for each company."""
    for company in ctx.companies.values():
        country = "IT" if company.country == "IT" else "ES"
        services.company_ledger_setup(company)  # for companies made before the ledger
        if not FiscalYear.objects.for_company(company).filter(name="2026").exists():
            services.fiscal_year_create(
                company=company,
                name="2026",
                start_date=dt.date(2026, 1, 1),
                end_date=dt.date(2026, 12, 31),
            )
        text = TEXTS[country]
        for code in ("STORE", "ADMIN"):
            CostCentre.objects.get_or_create(
                company=company, code=code, defaults={"name": text[code]}
            )
        Project.objects.get_or_create(company=company, code="WEB", defaults={"name": text["WEB"]})
        for date, currency, rate in RATES:
            if (
                not ExchangeRate.objects.for_company(company)
                .filter(date=date, to_currency=currency)
                .exists()
            ):
                services.exchange_rate_create(
                    company=company,
                    date=date,
                    from_currency="EUR",
                    to_currency=currency,
                    rate=rate,
                    source=ExchangeRate.Source.ECB,
                )
        journals = {j.code: j for j in Journal.objects.for_company(company)}
        created = 0
        for reference, journal_code, date, description, lines in _entries(country):
            if JournalEntry.objects.for_company(company).filter(reference=reference).exists():
                continue
            entry = services.entry_create_draft(
                company=company,
                journal=journals[journal_code],
                date=date,
                reference=reference,
                description=description,
                lines=lines,
            )
            services.entry_post(instance=entry, allow_before_lock=True)
            created += 1
        reference = "DEMO-2026-DRAFT"
        if not JournalEntry.objects.for_company(company).filter(reference=reference).exists():
            a = ACCOUNTS[country]
            services.entry_create_draft(
                company=company,
                journal=journals["GEN"],
                date=dt.date(2026, 7, 1),
                reference=reference,
                description="Accrual of July rent (to review)",
                lines=[
                    {"account": a["fees"], "debit": "1500.00"},
                    {"account": a["bank"], "credit": "1500.00"},
                ],
            )
        if created:
            ctx.log(f"  ledger {company.code}: {created} posted entries")

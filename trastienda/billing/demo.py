"""Demo data of billing: the defaults of each demo company (for companies made before
billing), customers and suppliers with valid tax ids (domestic, intra-EU, a public body, a
professional), products, a few issued invoices, credit notes and supplier bills of 2026
through the invoice services, a collection, a supplier payment and a monthly recurring
invoice. Idempotent: partners and products are found again by code and
SKU, sales invoices by partner, date and kind, bills by the supplier's number.

Runs after the ledger's step (which opens the fiscal year 2026). Found by the demo's
autodiscovery (``trastienda.core.demo.demo_steps``): the decorator is the registration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from trastienda.billing.defaults import billing_defaults_load
from trastienda.billing.models import Invoice, Partner, PaymentTerm, Product, Tax
from trastienda.core.demo import DemoContext, demo_step
from trastienda.core.models import Company
from trastienda.ledger.models import Account

D = Decimal

# code, legal name, customer, supplier, country, tax id, city, language, term, sale taxes,
# purchase taxes
PARTNERS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "ES": (
        (
            "C001",
            "Bricolajes Pérez S.L.",
            True,
            False,
            "ES",
            "B50123454",
            "Zaragoza",
            "es",
            "30",
            ["IVA21-V"],
            [],
        ),
        (
            "C002",
            "Construcciones Aragón S.A.",
            True,
            False,
            "ES",
            "A50987650",
            "Huesca",
            "es",
            "30-60-90",
            ["IVA21-V"],
            [],
        ),
        (
            "C003",
            "Reformas Levante S.L.",
            True,
            False,
            "ES",
            "B46345674",
            "Valencia",
            "es",
            "30EOM",
            ["IVA21-V"],
            [],
        ),
        (
            "C004",
            "Quincaillerie Dupont SARL",
            True,
            False,
            "FR",
            "FR44732829320",
            "Lyon",
            "en",
            "60",
            ["EIC-V"],
            [],
        ),
        (
            "S001",
            "Aceros del Ebro S.A.",
            False,
            True,
            "ES",
            "A50111111",
            "Zaragoza",
            "es",
            "30",
            [],
            ["IVA21-C"],
        ),
        (
            "S002",
            "Marta Gil Asesores",
            False,
            True,
            "ES",
            "52345678R",
            "Zaragoza",
            "es",
            "IMM",
            [],
            ["IVA21-C", "IRPF15-C"],
        ),
        (
            "S003",
            "Stahlwerk Rhein GmbH",
            False,
            True,
            "DE",
            "DE812943708",
            "Duisburg",
            "en",
            "60",
            [],
            ["AIB21-C"],
        ),
    ),
    "IT": (
        (
            "C001",
            "Edilizia Brambilla S.r.l.",
            True,
            False,
            "IT",
            "12345670157",
            "Milano",
            "it",
            "30",
            ["IVA22-V"],
            [],
        ),
        (
            "C002",
            "Bricocenter Milano S.p.A.",
            True,
            False,
            "IT",
            "23456780164",
            "Milano",
            "it",
            "30-60-90",
            ["IVA22-V"],
            [],
        ),
        (
            "C003",
            "Costruzioni Verdi S.r.l.",
            True,
            False,
            "IT",
            "34567890172",
            "Bergamo",
            "it",
            "30EOM",
            ["IVA22-V"],
            [],
        ),
        (
            "C004",
            "Comune di Lecco",
            True,
            False,
            "IT",
            "00112230974",
            "Lecco",
            "it",
            "30",
            ["SP22-V"],
            [],
        ),
        (
            "S001",
            "Acciaierie del Nord S.p.A.",
            False,
            True,
            "IT",
            "04567890159",
            "Brescia",
            "it",
            "30",
            [],
            ["IVA22-A"],
        ),
        (
            "S002",
            "Studio Rossi Commercialisti",
            False,
            True,
            "IT",
            "06789010979",
            "Milano",
            "it",
            "IMM",
            [],
            ["IVA22-A", "RA20-A"],
        ),
        (
            "S003",
            "Stahlwerk Rhein GmbH",
            False,
            True,
            "DE",
            "DE812943708",
            "Duisburg",
            "en",
            "60",
            [],
            ["INTRA22-A"],
        ),
    ),
}

# sku, names (es, it, en), unit, sale price, purchase price
PRODUCTS: tuple[tuple[str, tuple[str, str, str], str, str, str], ...] = (
    (
        "MART-16",
        ("Martillo de carpintero 16 oz", "Martello da carpentiere 16 oz", "Claw hammer 16 oz"),
        "C62",
        "12.50",
        "6.80",
    ),
    (
        "TAL-18V",
        ("Taladro percutor 18 V", "Trapano a percussione 18 V", "Hammer drill 18 V"),
        "C62",
        "89.90",
        "52.00",
    ),
    (
        "TORN-500",
        ("Caja de 500 tornillos 4x40", "Scatola di 500 viti 4x40", "Box of 500 screws 4x40"),
        "C62",
        "9.95",
        "4.10",
    ),
    (
        "INST-H",
        ("Servicio de instalación", "Servizio di installazione", "Installation service"),
        "HUR",
        "35.00",
        "0",
    ),
)
PRODUCT_TAXES = {"ES": ("IVA21-V", "IVA21-C"), "IT": ("IVA22-V", "IVA22-A")}

# Sales: reference, date, customer, lines (sku, quantity, discount, tax or None for the
# product's), credit note of (reference, date, lines) or None.
SALES: dict[str, tuple[tuple[Any, ...], ...]] = {
    "ES": (
        (
            "INV-1",
            dt.date(2026, 2, 10),
            "C001",
            [("MART-16", "20", "0", None), ("TAL-18V", "5", "0", None)],
        ),
        (
            "INV-2",
            dt.date(2026, 3, 5),
            "C002",
            [("TORN-500", "100", "5", None), ("INST-H", "8", "0", None)],
        ),
        ("INV-3", dt.date(2026, 4, 14), "C004", [("TAL-18V", "40", "0", "EIC-V")]),
    ),
    "IT": (
        (
            "INV-1",
            dt.date(2026, 2, 10),
            "C001",
            [("MART-16", "20", "0", None), ("TAL-18V", "5", "0", None)],
        ),
        (
            "INV-2",
            dt.date(2026, 3, 5),
            "C004",
            [("TORN-500", "50", "0", "SP22-V"), ("INST-H", "6", "0", "SP22-V")],
        ),
        (
            "INV-3",
            dt.date(2026, 4, 14),
            "C003",
            [("TAL-18V", "12", "10", None), ("MART-16", "30", "0", None)],
        ),
    ),
}
CREDIT_NOTES = {  # rectifies, date, reason, lines
    "ES": (
        "INV-1",
        dt.date(2026, 2, 20),
        "Devolución de 2 martillos defectuosos",
        [("MART-16", "2", "0", None)],
    ),
    "IT": (
        "INV-1",
        dt.date(2026, 2, 20),
        "Reso di 2 martelli difettosi",
        [("MART-16", "2", "0", None)],
    ),
}
# Bills: supplier's number, date, supplier, lines (description, quantity, price, taxes,
# account code or None)
BILLS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "ES": (
        (
            "AE-2026-0113",
            dt.date(2026, 2, 3),
            "S001",
            [("Martillos de carpintero 16 oz", "200", "6.80", ["IVA21-C"], None)],
        ),
        (
            "A-26/031",
            dt.date(2026, 3, 31),
            "S002",
            [
                (
                    "Asesoría fiscal del primer trimestre",
                    "1",
                    "600.00",
                    ["IVA21-C", "IRPF15-C"],
                    "6230",
                )
            ],
        ),
        (
            "RE-260402",
            dt.date(2026, 4, 2),
            "S003",
            [("Taladros percutores 18 V", "100", "52.00", ["AIB21-C"], None)],
        ),
    ),
    "IT": (
        (
            "AN-2026-77",
            dt.date(2026, 2, 3),
            "S001",
            [("Martelli da carpentiere 16 oz", "200", "6.80", ["IVA22-A"], None)],
        ),
        (
            "12/2026",
            dt.date(2026, 3, 31),
            "S002",
            [
                (
                    "Consulenza fiscale primo trimestre",
                    "1",
                    "800.00",
                    ["IVA22-A", "RA20-A"],
                    "11.02.004",
                )
            ],
        ),
        (
            "RE-260402",
            dt.date(2026, 4, 2),
            "S003",
            [("Trapani a percussione 18 V", "100", "52.00", ["INTRA22-A"], None)],
        ),
    ),
}


def _country(company: Company) -> str:
    return "IT" if company.country == "IT" else "ES"


def _partners(company: Company, taxes: dict[str, Tax]) -> dict[str, Partner]:
    from trastienda.billing.partners import partner_create

    terms = {t.code: t for t in PaymentTerm.objects.for_company(company)}
    found = {p.code: p for p in Partner.objects.for_company(company)}
    for row in PARTNERS[_country(company)]:
        code, name, customer, supplier, country, tax_id, city, language, term, sale, buy = row
        if code in found:
            continue
        found[code] = partner_create(
            company=company,
            code=code,
            legal_name=name,
            is_customer=customer,
            is_supplier=supplier,
            country=country,
            tax_id=tax_id,
            city=city,
            language=language,
            payment_term=terms.get(term),
            sale_taxes=[taxes[c] for c in sale],
            purchase_taxes=[taxes[c] for c in buy],
            email=f"{code.lower()}@example.com",
        )
    return found


def _products(company: Company, taxes: dict[str, Tax]) -> dict[str, Product]:
    from trastienda.billing.partners import product_create

    sale_tax, purchase_tax = PRODUCT_TAXES[_country(company)]
    found = {p.sku: p for p in Product.objects.for_company(company)}
    for sku, names, unit, sale_price, purchase_price in PRODUCTS:
        if sku in found:
            continue
        found[sku] = product_create(
            company=company,
            sku=sku,
            name_es=names[0],
            name_it=names[1],
            name_en=names[2],
            unit=unit,
            sale_price=D(sale_price),
            purchase_price=D(purchase_price),
            sale_taxes=[taxes[sale_tax]],
            purchase_taxes=[] if unit == "HUR" else [taxes[purchase_tax]],
        )
    return found


def _sale_lines(
    rows: Sequence[tuple[Any, ...]],
    products: dict[str, Product],
    taxes: dict[str, Tax],
) -> list[dict[str, Any]]:
    lines = []
    for sku, quantity, discount, tax in rows:
        line: dict[str, Any] = {
            "product": products[sku],
            "quantity": D(quantity),
            "discount": D(discount),
        }
        if tax is not None:
            line["taxes"] = [taxes[tax]]
        lines.append(line)
    return lines


def _invoices(
    company: Company,
    partners: dict[str, Partner],
    products: dict[str, Product],
    taxes: dict[str, Tax],
) -> int:
    """Issued sales invoices, a credit note and posted bills; returns how many were made."""
    from trastienda.billing import services

    country = _country(company)
    invoices = Invoice.objects.for_company(company)
    made = 0
    issued: dict[str, Invoice] = {}
    for reference, date, customer, rows in SALES[country]:
        partner = partners[customer]
        existing = invoices.filter(
            direction="sale", partner=partner, date=date, kind=Invoice.Kind.INVOICE
        ).first()
        if existing is None:
            draft = services.invoice_create_draft(
                company=company,
                direction="sale",
                partner=partner,
                date=date,
                lines=_sale_lines(rows, products, taxes),
            )
            existing = services.invoice_issue(instance=draft, allow_before_lock=True)
            made += 1
        issued[reference] = existing
    rectified, date, reason, rows = CREDIT_NOTES[country]
    original = issued[rectified]
    if not invoices.filter(kind=Invoice.Kind.CREDIT_NOTE, rectifies=original, date=date).exists():
        draft = services.credit_note_create(
            instance=original,
            date=date,
            reason=reason,
            lines=_sale_lines(rows, products, taxes),
        )
        services.invoice_issue(instance=draft, allow_before_lock=True)
        made += 1
    accounts = {a.code: a for a in Account.objects.for_company(company)}
    for number, date, supplier, rows in BILLS[country]:
        partner = partners[supplier]
        if invoices.filter(
            direction="purchase", partner=partner, supplier_reference=number
        ).exists():
            continue
        draft = services.invoice_create_draft(
            company=company,
            direction="purchase",
            partner=partner,
            date=date,
            supplier_reference=number,
            lines=[
                {
                    "description": description,
                    "quantity": D(quantity),
                    "unit_price": D(price),
                    "taxes": [taxes[c] for c in codes],
                    "account": accounts[account] if account else None,
                }
                for description, quantity, price, codes, account in rows
            ],
        )
        services.invoice_issue(instance=draft, allow_before_lock=True)
        made += 1
    return made


# Payments: reference, direction, date, the invoice settled (sales reference or supplier's
# number); the amount is what is open of the invoice.
PAYMENTS = (
    ("DEMO-PAY-1", "purchase", dt.date(2026, 3, 3), "bill", 0),
    ("DEMO-COL-1", "sale", dt.date(2026, 3, 12), "sale", 0),
)
BANK_ACCOUNT = {"ES": "5720", "IT": "03.04.001"}
RECURRING = {
    "ES": ("Mantenimiento mensual", "C003", "Mantenimiento mensual de maquinaria", "120.00"),
    "IT": ("Manutenzione mensile", "C003", "Manutenzione mensile dei macchinari", "120.00"),
}


def _payments(company: Company, partners: dict[str, Partner]) -> int:
    """A collection of the first sales invoice and the payment of the first bill."""
    from trastienda.billing import services
    from trastienda.billing.models import Payment
    from trastienda.core.money import Money

    country = _country(company)
    invoices = Invoice.objects.for_company(company).filter(state=Invoice.State.ISSUED)
    made = 0
    for reference, direction, date, which, _index in PAYMENTS:
        if Payment.objects.for_company(company).filter(reference=reference).exists():
            continue
        if which == "bill":
            number, _date, supplier, _rows = BILLS[country][0]
            invoice = invoices.filter(
                direction="purchase", partner=partners[supplier], supplier_reference=number
            ).first()
        else:
            _ref, day, customer, _rows = SALES[country][0]
            invoice = invoices.filter(
                direction="sale", partner=partners[customer], date=day, kind="invoice"
            ).first()
        if invoice is None or invoice.open_amount <= 0:
            continue
        amount = Money(invoice.open_amount, invoice.currency).to_decimal()
        services.payment_create(
            company=company,
            direction=direction,
            partner=invoice.partner,
            date=date,
            amount=amount,
            bank_account=BANK_ACCOUNT[country],
            allocations=[{"invoice": invoice, "amount": amount}],
            reference=reference,
        )
        made += 1
    return made


def _recurring(company: Company, partners: dict[str, Partner], taxes: dict[str, Tax]) -> int:
    """A monthly maintenance schedule on a template draft."""
    from trastienda.billing import services
    from trastienda.billing.models import RecurringInvoice

    try:
        from trastienda.billing.recurring_views import recurring_create
    except ImportError:  # the schedules' pages and service are not there yet
        return 0
    name, customer, description, price = RECURRING[_country(company)]
    if RecurringInvoice.objects.for_company(company).filter(name=name).exists():
        return 0
    sale_tax = PRODUCT_TAXES[_country(company)][0]
    template = services.invoice_create_draft(
        company=company,
        direction="sale",
        partner=partners[customer],
        date=dt.date(2026, 7, 1),
        lines=[
            {
                "description": description,
                "quantity": D("1"),
                "unit_price": D(price),
                "taxes": [taxes[sale_tax]],
            }
        ],
    )
    recurring_create(
        company=company,
        name=name,
        template=template,
        interval_months=1,
        next_date=dt.date(2026, 7, 1),
        auto_issue=False,
    )
    return 1


def _invoice_services_exist() -> bool:
    try:
        from trastienda.billing import services
    except ImportError:
        return False
    return all(
        hasattr(services, name)
        for name in ("invoice_create_draft", "invoice_issue", "credit_note_create")
    )


@demo_step(order=200)
def billing(ctx: DemoContext) -> None:
    """Taxes and settings, partners, products and a few invoices and bills per company."""
    for company in ctx.companies.values():
        billing_defaults_load(company=company)  # for companies made before billing
        taxes = {t.code: t for t in Tax.objects.for_company(company)}
        partners = _partners(company, taxes)
        products = _products(company, taxes)
        if not _invoice_services_exist():
            continue
        made: dict[str, int] = {}
        steps: tuple[tuple[str, Callable[[], int]], ...] = (
            ("invoices and bills issued", partial(_invoices, company, partners, products, taxes)),
            ("payments", partial(_payments, company, partners)),
            ("recurring schedules", partial(_recurring, company, partners, taxes)),
        )
        for label, make in steps:
            try:
                with transaction.atomic():
                    made[label] = make()
            except ValidationError as exc:  # the demo must not stop the other modules' data
                ctx.log(f"  billing {company.code}: no {label}: {exc.messages}")
        done = ", ".join(f"{n} {label}" for label, n in made.items() if n)
        if done:
            ctx.log(f"  billing {company.code}: {done}")

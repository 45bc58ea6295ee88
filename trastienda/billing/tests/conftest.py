"""Fixtures of the billing tests (each helper appends its own below)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from trastienda.billing.models import Invoice, InvoiceTax, Partner, Tax

# --- VAT report: issued invoices written directly (the report reads their tax breakdown) -----

_vat_seq = itertools.count(1)


@pytest.fixture
def vat_invoice() -> Callable[..., Invoice]:
    """``vat_invoice(company, direction, date, {tax code: (base, amount)}, kind=, currency=,
    rate=, state=, partner=)``: an invoice with its tax rows, amounts as decimal strings in
    the invoice currency (positive, as stored; credit notes count negative in reports)."""

    def make(
        company: Any,
        direction: str,
        date: dt.date,
        taxes: dict[str, tuple[str, str]],
        *,
        kind: str = Invoice.Kind.INVOICE,
        currency: str = "",
        rate: str = "1",
        state: str = Invoice.State.ISSUED,
        partner: Partner | None = None,
    ) -> Invoice:
        n = next(_vat_seq)
        if partner is None:
            partner, _created = Partner.objects.get_or_create(
                company=company,
                code=f"VAT-{direction[:1].upper()}",
                defaults={
                    "legal_name": f"VAT {direction} partner",
                    "is_customer": direction == "sale",
                    "is_supplier": direction == "purchase",
                    "country": company.country,
                    "tax_id": f"T{direction[:1]}",
                },
            )
        currency = currency or company.base_currency
        cents = 100  # the tests use two-decimal currencies
        rows = [
            (Tax.objects.get(company=company, code=code), base, amount)
            for code, (base, amount) in taxes.items()
        ]
        net = sum(int(Decimal(base) * cents) for _t, base, _a in rows)
        issued = state == Invoice.State.ISSUED
        invoice = Invoice.objects.create(
            company=company,
            direction=direction,
            kind=kind,
            state=state,
            partner=partner,
            date=date,
            currency=currency,
            rate=Decimal(rate),
            number=f"T{n:05d}" if issued and direction == "sale" else None,
            supplier_reference=f"B{n:05d}" if direction == "purchase" else "",
            net_amount=net,
        )
        for tax, base, amount in rows:
            InvoiceTax.objects.create(
                company=company,
                invoice=invoice,
                tax=tax,
                base=int(Decimal(base) * cents),
                amount=int(Decimal(amount) * cents),
            )
        return invoice

    return make


@pytest.fixture
def vat_spain(company: Any, vat_invoice: Callable[..., Invoice]) -> dict[str, Any]:
    """ACME (ES, default taxes) with a first quarter of 2026 that exercises every rule of the
    report: two rates, a USD invoice, a credit note, an intra-EU supply, the equivalence
    surcharge, a withholding, an intra-EU acquisition and a domestic reverse charge, a credit
    note of a bill; and what must stay out: a draft, April, another company."""
    d = dt.date
    made = {
        "S1": vat_invoice(
            company, "sale", d(2026, 1, 15), {"IVA21-V": ("1000", "210"), "IVA10-V": ("200", "20")}
        ),
        # 100.05 USD x 0.9 = 90.045 -> 90.05 EUR; 21.01 x 0.9 = 18.909 -> 18.91 EUR.
        "S2": vat_invoice(
            company,
            "sale",
            d(2026, 2, 10),
            {"IVA21-V": ("100.05", "21.01")},
            currency="USD",
            rate="0.9",
        ),
        "CN1": vat_invoice(
            company,
            "sale",
            d(2026, 2, 20),
            {"IVA21-V": ("100", "21")},
            kind=Invoice.Kind.CREDIT_NOTE,
        ),
        "S3": vat_invoice(company, "sale", d(2026, 3, 1), {"EIC-V": ("500", "0")}),
        "S4": vat_invoice(
            company, "sale", d(2026, 3, 2), {"IVA21-V": ("300", "63"), "RE5.2": ("300", "15.60")}
        ),
        "S5": vat_invoice(
            company,
            "sale",
            d(2026, 3, 3),
            {"IVA21-V": ("400", "84"), "IRPF15-V": ("400", "60")},
        ),
        "P1": vat_invoice(company, "purchase", d(2026, 1, 20), {"IVA21-C": ("800", "168")}),
        "P2": vat_invoice(company, "purchase", d(2026, 2, 5), {"AIB21-C": ("1000", "210")}),
        "PC1": vat_invoice(
            company,
            "purchase",
            d(2026, 3, 10),
            {"IVA21-C": ("50", "10.50")},
            kind=Invoice.Kind.CREDIT_NOTE,
        ),
        "P3": vat_invoice(company, "purchase", d(2026, 3, 31), {"ISP21-C": ("200", "42")}),
        # Not in the report:
        "DRAFT": vat_invoice(
            company, "sale", d(2026, 2, 1), {"IVA21-V": ("999", "209.79")}, state="draft"
        ),
        "APRIL": vat_invoice(company, "sale", d(2026, 4, 1), {"IVA21-V": ("77", "16.17")}),
    }
    return {"company": company, "invoices": made}


@pytest.fixture
def vat_italy(other_company: Any, vat_invoice: Callable[..., Invoice]) -> dict[str, Any]:
    """OTRA (IT, default taxes) with a first quarter of 2026: a sale and its credit note,
    split payment, an intra-EU supply, a purchase and an intra-EU acquisition."""
    d, company = dt.date, other_company
    made = {
        "S1": vat_invoice(company, "sale", d(2026, 1, 10), {"IVA22-V": ("1000", "220")}),
        "SP": vat_invoice(company, "sale", d(2026, 1, 20), {"SP22-V": ("500", "110")}),
        "N32": vat_invoice(company, "sale", d(2026, 2, 1), {"N3.2-V": ("300", "0")}),
        "CN1": vat_invoice(
            company,
            "sale",
            d(2026, 2, 15),
            {"IVA22-V": ("100", "22")},
            kind=Invoice.Kind.CREDIT_NOTE,
        ),
        "P1": vat_invoice(company, "purchase", d(2026, 3, 1), {"IVA22-A": ("400", "88")}),
        "P2": vat_invoice(company, "purchase", d(2026, 3, 2), {"INTRA22-A": ("1000", "220")}),
    }
    return {"company": company, "invoices": made}


# --- partners: through the partner services (valid tax ids, audited) -------------------------

_partner_seq = itertools.count(1)


def spanish_dni(number: int) -> str:
    """A valid Spanish NIF (DNI) for ``number`` (its check letter is number mod 23)."""
    return f"{number:08d}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"


@pytest.fixture
def make_partner(company: Any) -> Callable[..., Partner]:
    """``make_partner(code=None, company=ACME, **fields)``: a partner created by
    ``partner_create`` (a Spanish customer with a valid NIF unless told otherwise)."""
    from trastienda.billing.partners import partner_create

    def make(code: str | None = None, *, company: Any = company, **fields: Any) -> Partner:
        n = next(_partner_seq)
        fields.setdefault("legal_name", f"Partner {n} S.L.")
        fields.setdefault("tax_id", spanish_dni(30_000_000 + n))
        return partner_create(company=company, code=code or f"P{n:04d}", **fields)

    return make

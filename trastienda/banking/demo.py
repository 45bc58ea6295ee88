"""Demo data of banking: per demo company a bank account, a reconciliation rule for bank fees,
the customers' IBANs, a direct debit mandate and a March 2026 statement (CAMT.053, imported
through the import service) that pays some open invoices — by number, by IBAN and amount, one
transfer for two invoices — with a bank fee and a movement nobody knows; then the automatic
reconciliation, which leaves the doubtful lines on the reconciliation screen. Idempotent: a
company that already has a bank account is left alone.

Runs after billing's step (order 200), which issues the invoices.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from trastienda.banking.formats.camt_writer import CamtStatement, Entry, camt053
from trastienda.banking.models import BankAccount, Mandate, ReconciliationRule
from trastienda.billing.models import Invoice, PartnerBankAccount
from trastienda.core.demo import DemoContext, demo_step
from trastienda.core.models import Company
from trastienda.core.money import Money
from trastienda.ledger.models import Account

# IBAN of the company's account; customers' IBANs by partner code; fees account; words.
DEMO: dict[str, dict[str, Any]] = {
    "ES": {
        "iban": "ES9121000418450200051332",
        "name": "CaixaBank c/c",
        "customers": {
            "C001": "ES7921000813610123456789",
            "C002": "ES1000492352082414205416",
            "C003": "ES6000491500051234567892",
        },
        "suppliers": {
            "S001": "ES6621000418401234567891",
            "S002": "ES9714650100927220308762",
            "S003": "DE89370400440532013000",
        },
        "fees": "6260",
        "fee_text": "COMISION MANTENIMIENTO",
        "rule": ("Comisiones bancarias", "COMISION"),
        "paid": "PAGO FRA",
        "unknown": "TRANSFERENCIA RECIBIDA SIN CONCEPTO",
    },
    "IT": {
        "iban": "IT60X0542811101000000123456",
        "name": "Banca Popolare c/c",
        "customers": {
            "C001": "IT39Y0306909606100000063156",
            "C002": "IT05T0538712900000000001234",
            "C003": "IT69G0200802435000104428964",
        },
        "suppliers": {
            "S001": "IT49W0300203280114524628857",
            "S002": "IT14D0605502100000001234567",
            "S003": "DE89370400440532013000",
        },
        "fees": "11.02.010",
        "fee_text": "COMMISSIONI TENUTA CONTO",
        "rule": ("Commissioni bancarie", "COMMISSIONI"),
        "paid": "PAGAMENTO FATTURA",
        "unknown": "BONIFICO IN ENTRATA",
    },
}


def _country(company: Company) -> str:
    return "IT" if company.country == "IT" else "ES"


def _setup(company: Company, spec: dict[str, Any]) -> BankAccount:
    from trastienda.banking.services import bank_account_create

    account = bank_account_create(company=company, name=spec["name"], iban=spec["iban"])
    fees = Account.objects.for_company(company).filter(code=spec["fees"]).first()
    if fees is not None:
        ReconciliationRule.objects.create(
            company=company,
            name=spec["rule"][0],
            text_contains=spec["rule"][1],
            direction=ReconciliationRule.Direction.OUT,
            account=fees,
            auto_post=True,
        )
    for code, iban in {**spec["customers"], **spec["suppliers"]}.items():
        partner = company_partner(company, code)
        if partner is None:
            continue
        PartnerBankAccount.objects.get_or_create(
            company=company, partner=partner, iban=iban, defaults={"is_default": True}
        )
    first = company_partner(company, "C001")
    if first is not None:
        Mandate.objects.get_or_create(
            company=company,
            reference=f"{company.code}-MANDATE-0001",
            defaults={
                "partner": first,
                "iban": spec["customers"]["C001"],
                "signed_on": dt.date(2026, 1, 15),
            },
        )
    return account


def company_partner(company: Company, code: str) -> Any:
    from trastienda.billing.models import Partner

    return Partner.objects.for_company(company).filter(code=code).first()


def _entries(company: Company, spec: dict[str, Any]) -> list[Entry]:
    open_sales = list(
        Invoice.objects.for_company(company)
        .filter(direction="sale", state=Invoice.State.ISSUED, kind="invoice", open_amount__gt=0)
        .select_related("partner")
        .order_by("date", "pk")
    )

    def amount(invoice: Invoice) -> Decimal:
        return Money(invoice.open_amount, invoice.currency).to_decimal()

    rows: list[dict[str, Any]] = []
    day = dt.date(2026, 3, 2)
    if open_sales:  # the invoice number in the remittance information
        invoice = open_sales[0]
        rows.append(
            {
                "date": day,
                "amount": amount(invoice),
                "text": f"{spec['paid']} {invoice.number}",
                "name": invoice.partner.legal_name,
                "iban": spec["customers"].get(invoice.partner.code, ""),
            }
        )
    if len(open_sales) > 1:  # only the customer's IBAN and the exact amount
        invoice = open_sales[1]
        rows.append(
            {
                "date": day + dt.timedelta(days=5),
                "amount": amount(invoice),
                "text": "TRANSFER",
                "name": invoice.partner.legal_name,
                "iban": spec["customers"].get(invoice.partner.code, ""),
            }
        )
    if len(open_sales) > 2:  # a partial payment: waits for review
        invoice = open_sales[2]
        rows.append(
            {
                "date": day + dt.timedelta(days=9),
                "amount": (amount(invoice) / 2).quantize(Decimal("0.01")),
                "text": f"{spec['paid']} {invoice.number} 50%",
                "name": invoice.partner.legal_name,
                "iban": spec["customers"].get(invoice.partner.code, ""),
            }
        )
    rows.append(
        {"date": day + dt.timedelta(days=12), "amount": Decimal("-12.10"), "text": spec["fee_text"]}
    )
    rows.append(
        {
            "date": day + dt.timedelta(days=20),
            "amount": Decimal("350.00"),
            "text": spec["unknown"],
            "name": "Juan Sin Nombre",
        }
    )
    return [
        Entry(
            date=row["date"],
            amount=row["amount"],
            description=row["text"],
            bank_reference=f"{company.code}-{n}",
            name=row.get("name", ""),
            iban=row.get("iban", ""),
        )
        for n, row in enumerate(rows, start=1)
    ]


@demo_step(order=300)
def banking(ctx: DemoContext) -> None:
    """A bank account, a statement of March 2026 and its automatic reconciliation."""
    from trastienda.banking.reconciliation import auto_reconcile
    from trastienda.banking.services import statement_import

    for company in ctx.companies.values():
        if BankAccount.objects.for_company(company).exists():
            continue
        spec = DEMO[_country(company)]
        try:
            with transaction.atomic():
                account = _setup(company, spec)
                entries = _entries(company, spec)
                data = camt053(
                    CamtStatement(
                        iban=account.iban,
                        entries=entries,
                        opening="15000.00",
                        statement_id=f"{company.code}-2026-03",
                    ),
                    message_id=f"{company.code}-2026-03",
                )
                result = statement_import(
                    company=company, content=data, filename=f"{company.code}-2026-03.xml"
                )
            auto = auto_reconcile(company=company, bank_account=account)
            batch = _transfer_batch(company, account)
        except ValidationError as exc:  # the demo must not stop the other modules' data
            ctx.log(f"  banking {company.code}: {exc.messages}")
            continue
        ctx.log(
            f"  banking {company.code}: {result.lines} statement lines, "
            f"{auto.applied + auto.by_rule} reconciled automatically, {auto.unmatched} to review"
            + (f", a transfer batch of {batch.line_count} bills to approve" if batch else "")
        )


def _transfer_batch(company: Company, account: BankAccount) -> Any:
    """A draft transfer batch paying the supplier bills due (the user approves it)."""
    from django.utils import timezone

    from trastienda.banking.sepa import transfer_batch_create

    today = timezone.localdate()
    try:
        with transaction.atomic():
            return transfer_batch_create(
                company=company,
                bank_account=account,
                execution_date=today + dt.timedelta(days=1),
                due_until=today,
            )
    except ValidationError:  # no bill due, or one without an IBAN: the demo goes on
        return None

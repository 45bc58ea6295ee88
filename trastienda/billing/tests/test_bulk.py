"""Bulk issue: the same numbers, entries and figures as issuing one by one; all or nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from trastienda.billing import services
from trastienda.billing.bulk import invoices_issue_bulk
from trastienda.billing.models import Installment, Invoice, InvoiceTax
from trastienda.billing.tests.test_invoices import entry_map, sale, setup  # noqa: F401
from trastienda.ledger import services as ledger

D = Decimal


def spec(setup: Any, day: int, **kw: Any) -> dict[str, Any]:  # noqa: F811
    return {
        "partner": "C1",
        "date": dt.date(2026, 3, day),
        "series": "FX",
        "lines": [
            {"description": "Tornillos", "quantity": "3", "unit_price": "10.0050",
             "taxes": ["T21"]},
            {"description": "Asesoría", "quantity": D(1), "unit_price": D(1000),
             "taxes": ["T21", "IRPF15"], "discount": "10"},
        ],
        **kw,
    }  # fmt: skip


def test_bulk_equals_one_by_one(setup: Any) -> None:  # noqa: F811
    single = services.invoice_issue(
        instance=sale(setup, date=dt.date(2026, 3, 1), lines=spec(setup, 1)["lines"])
    )
    result = invoices_issue_bulk(
        company=setup.company, invoices=[spec(setup, 12), spec(setup, 10), spec(setup, 11)]
    )
    assert (result.issued, result.lines) == (3, 6)
    issued = list(Invoice.objects.filter(state="issued").order_by("sequence_number"))
    assert [i.number for i in issued] == [f"FX2026-0000{n}" for n in range(1, 5)]
    assert [i.date.day for i in issued] == [1, 10, 11, 12]  # numbered in date order
    for invoice in issued[1:]:
        for name in ("net_amount", "tax_amount", "withholding_amount", "total_amount",
                     "payable_amount", "open_amount"):  # fmt: skip
            assert getattr(invoice, name) == getattr(single, name), name
        assert entry_map(invoice.entry) == entry_map(single.entry)
        assert sorted(InvoiceTax.objects.filter(invoice=invoice).values_list("base", "amount")) == (
            sorted(InvoiceTax.objects.filter(invoice=single).values_list("base", "amount"))
        )
        assert [list(x.taxes.all()) for x in invoice.lines.order_by("line_no")] == [
            list(x.taxes.all()) for x in single.lines.order_by("line_no")
        ]
        assert Installment.objects.get(invoice=invoice).open_amount == invoice.payable_amount
    assert ledger.ledger_verify(company=setup.company).ok
    assert ledger.ledger_balances_verify(company=setup.company) == []
    nxt = services.invoice_issue(instance=sale(setup, date=dt.date(2026, 3, 12)))
    assert nxt.number == "FX2026-00005"


def test_bulk_errors_name_the_invoice_and_write_nothing(setup: Any) -> None:  # noqa: F811
    bad = [
        spec(setup, 10),
        spec(setup, 11, partner="NOPE"),
        spec(setup, 12, lines=[{"description": "", "quantity": "-1", "unit_price": "1"}]),
        spec(setup, 13, date=dt.date(2031, 1, 1)),
    ]
    with pytest.raises(ValidationError) as info:
        invoices_issue_bulk(company=setup.company, invoices=bad)
    errors = info.value.message_dict
    assert "invoices[2].partner" in errors
    assert "invoices[3].lines[1].quantity" in errors
    assert "invoices[3].lines[1].description" in errors
    assert "invoices[4].date" in errors
    assert "invoices[1].partner" not in errors
    assert not Invoice.objects.exists()


def test_bulk_refuses_dates_before_the_series_last(setup: Any) -> None:  # noqa: F811
    services.invoice_issue(instance=sale(setup, date=dt.date(2026, 3, 20)))
    with pytest.raises(ValidationError) as info:
        invoices_issue_bulk(company=setup.company, invoices=[spec(setup, 25), spec(setup, 5)])
    assert "invoices[2].date" in info.value.message_dict
    assert Invoice.objects.filter(state="issued").count() == 1

"""The VAT report: by tax and by box (modelo 303, LIPE), credit notes negative, reverse
charge on both sides, foreign currencies converted half up per invoice, drill-down that adds
up, the page, the API, exports, permissions and bad input; and one story through the invoice
services whose figures equal the ledger's VAT accounts."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from trastienda.audit.models import AuditEntry
from trastienda.billing import vat_report
from trastienda.billing.models import Invoice, Tax
from trastienda.billing.vat_report import INPUT, OUTPUT, WITHHOLDING
from trastienda.billing.vat_views import vat_params

pytestmark = pytest.mark.django_db

Q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def by_tax(report: vat_report.VatReport) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {
        (line.tax.code, line.side): (line.base, line.amount, line.invoices)
        for line in [*report.output, *report.input, *report.withholdings]
    }


# --- the figures -----------------------------------------------------------------------------


def test_by_tax(vat_spain: dict[str, Any]) -> None:
    report = vat_report.vat_report(vat_spain["company"], *Q1)
    assert by_tax(report) == {
        # 1000 + 90.05 (USD) - 100 (credit note) + 300 + 400
        ("IVA21-V", OUTPUT): (cents("1690.05"), cents("354.91"), 5),
        ("IVA10-V", OUTPUT): (cents("200"), cents("20"), 1),
        ("RE5.2", OUTPUT): (cents("300"), cents("15.60"), 1),
        ("EIC-V", OUTPUT): (cents("500"), 0, 1),
        ("AIB21-C", OUTPUT): (cents("1000"), cents("210"), 1),  # self-assessed
        ("ISP21-C", OUTPUT): (cents("200"), cents("42"), 1),
        ("IVA21-C", INPUT): (cents("750"), cents("157.50"), 2),
        ("AIB21-C", INPUT): (cents("1000"), cents("210"), 1),
        ("ISP21-C", INPUT): (cents("200"), cents("42"), 1),
        ("IRPF15-V", WITHHOLDING): (cents("400"), cents("60"), 1),
    }
    assert report.output_due == cents("642.51")
    assert report.input_deductible == cents("409.50")
    assert report.result == cents("233.01")
    assert vat_report.verdict(report.result) == "To pay"
    assert report.invoices == 10  # the draft, April and the other company are out
    assert report.currency == "EUR"
    # Order: VAT by rate, then surcharges; self-assessed reverse charge after plain VAT.
    assert [line.tax.code for line in report.output] == [
        "IVA21-V", "IVA10-V", "EIC-V", "AIB21-C", "ISP21-C", "RE5.2",
    ]  # fmt: skip


def test_modelo_303_boxes(vat_spain: dict[str, Any]) -> None:
    report = vat_report.vat_report(vat_spain["company"], *Q1)
    assert report.boxes == {
        "07": cents("1790.05"),
        "09": cents("375.91"),
        "04": cents("200"),
        "06": cents("20"),
        "14": cents("-100"),  # the credit note rectifies bases and tax
        "15": cents("-21"),
        "22": cents("300"),
        "24": cents("15.60"),
        "59": cents("500"),
        "10": cents("1000"),  # intra-EU acquisition: self-assessed ...
        "11": cents("210"),
        "36": cents("1000"),  # ... and deductible
        "37": cents("210"),
        "12": cents("200"),  # domestic reverse charge: self-assessed ...
        "13": cents("42"),
        "28": cents("1000"),  # ... and deductible with the domestic purchases
        "29": cents("210"),
        "40": cents("-50"),  # the bill's credit note rectifies deductions
        "41": cents("-10.50"),
    }
    assert report.box_totals() == [
        ("27", "Total output tax", cents("642.51")),
        ("45", "Total deductible tax", cents("409.50")),
        ("46", "Result of the general regime", cents("233.01")),
    ]
    assert report.box_result == report.result  # every default tax has its boxes
    lines = {
        (line.base.code if line.base else "", line.tax.code if line.tax else "")
        for line in report.lines
    }
    assert ("07", "09") in lines and ("59", "") in lines and ("40", "41") in lines
    assert all(line.known for line in report.lines)


def test_lipe(vat_italy: dict[str, Any]) -> None:
    report = vat_report.vat_report(vat_italy["company"], *Q1)
    assert report.boxes == {
        "VP2": cents("1700"),  # 1000 - 100 + 500 (split payment) + 300 (non-taxable)
        "VP3": cents("1400"),
        "VP4": cents("418"),  # 220 - 22 + 220 integrated; split-payment VAT is not due
        "VP5": cents("308"),
    }
    assert report.box_totals() == [("VP6", "VAT payable or credit", cents("110"))]
    split = next(line for line in report.output if line.tax.code == "SP22-V")
    assert split.amount == cents("110") and split.not_due and not split.counts
    assert report.output_due == cents("418") and report.input_deductible == cents("308")
    assert report.result == cents("110")


def test_credit_notes_and_compensation(company: Any, vat_invoice: Callable[..., Any]) -> None:
    """A period with more deductible than output tax is to compensate."""
    vat_invoice(company, "sale", dt.date(2026, 5, 4), {"IVA21-V": ("100", "21")})
    vat_invoice(
        company, "sale", dt.date(2026, 5, 5), {"IVA21-V": ("40", "8.40")}, kind="credit_note"
    )
    vat_invoice(company, "purchase", dt.date(2026, 6, 30), {"IVA21-C": ("1000", "210")})
    report = vat_report.vat_report(company, dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert report.output_due == cents("12.60")
    assert report.result == cents("-197.40")
    assert vat_report.verdict(report.result) == "To compensate or refund"
    assert report.boxes["07"] == cents("100") and report.boxes["14"] == cents("-40")


def test_foreign_currency_is_converted_per_invoice_half_up(
    company: Any, vat_invoice: Callable[..., Any]
) -> None:
    # Each 0.05 USD x 0.9 = 0.045 EUR -> 0.05 EUR per invoice (half up), so three
    # invoices give 0.15 EUR, not round(0.15 USD x 0.9) = 0.14.
    for day in (1, 2, 3):
        vat_invoice(
            company,
            "sale",
            dt.date(2026, 7, day),
            {"IVA21-V": ("0.05", "0.01")},
            currency="USD",
            rate="0.9",
        )
    vat_invoice(
        company,
        "sale",
        dt.date(2026, 7, 4),
        {"IVA21-V": ("0.05", "0.01")},
        currency="USD",
        rate="0.9",
        kind="credit_note",
    )
    report = vat_report.vat_report(company, dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    line = report.output[0]
    assert (line.base, line.amount, line.invoices) == (10, 2, 4)  # 3 x 0.05 - 0.05; 0.009 -> 0.01


def test_other_countries_have_no_return_form(
    make_company: Callable[..., Any], vat_invoice: Callable[..., Any]
) -> None:
    company = make_company(country="US", tax_id="12-3456789", base_currency="USD")
    vat_invoice(company, "sale", dt.date(2026, 1, 5), {"VAT20-S": ("100", "20")})
    vat_invoice(company, "purchase", dt.date(2026, 1, 6), {"VAT20-P": ("50", "10")})
    report = vat_report.vat_report(company, *Q1)
    assert report.form is None and report.lines == [] and report.box_totals() == []
    assert report.result == cents("10") and report.currency == "USD"


def test_a_box_set_by_hand_is_reported_apart(company: Any, vat_invoice: Callable[..., Any]) -> None:
    Tax.objects.filter(company=company, code="IVA21-V").update(report_base_box="X1")
    vat_invoice(company, "sale", dt.date(2026, 1, 5), {"IVA21-V": ("100", "21")})
    report = vat_report.vat_report(company, *Q1)
    unknown = [line for line in report.lines if not line.known]
    assert [(line.base.code, line.base.value) for line in unknown] == [("X1", 10000)]


def test_non_deductible_input_vat(company: Any, vat_invoice: Callable[..., Any]) -> None:
    Tax.objects.filter(company=company, code="IVA10-C").update(purchase_account=None)
    vat_invoice(company, "purchase", dt.date(2026, 2, 1), {"IVA10-C": ("100", "10")})
    report = vat_report.vat_report(company, *Q1)
    assert report.input[0].non_deductible and report.input_deductible == 0
    assert report.input_tax == cents("10")


def test_query_count_does_not_grow_with_invoices(
    company: Any, vat_invoice: Callable[..., Any]
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            vat_report.vat_report(company, *Q1)
        return len(captured.captured_queries)

    vat_invoice(company, "sale", dt.date(2026, 1, 5), {"IVA21-V": ("100", "21")})
    vat_invoice(company, "sale", dt.date(2026, 1, 6), {"IVA21-V": ("1", "0.21")}, currency="USD")
    first = queries()
    for day in range(7, 27):
        vat_invoice(company, "sale", dt.date(2026, 1, day), {"IVA10-V": ("10", "1")})
        vat_invoice(
            company, "purchase", dt.date(2026, 1, day), {"IVA21-C": ("10", "2.10")}, currency="USD"
        )
    assert queries() == first


# --- drill-down --------------------------------------------------------------------------------


def test_every_figure_has_the_invoices_that_add_up_to_it(vat_spain: dict[str, Any]) -> None:
    company = vat_spain["company"]
    report = vat_report.vat_report(company, *Q1)
    for line in [*report.output, *report.input, *report.withholdings]:
        figures = vat_report.invoice_figures(company, *Q1, tax=line.tax, side=line.side)
        assert sum(f.base for f in figures) == line.base, line.tax.code
        assert sum(f.amount for f in figures) == line.amount, line.tax.code
        assert len(figures) == line.invoices
    for code, value in report.boxes.items():
        figures = vat_report.invoice_figures(company, *Q1, box=code)
        assert figures and sum(f.base for f in figures) == value, code
    made = vat_spain["invoices"]
    box07 = vat_report.invoice_figures(company, *Q1, box="07")
    assert [(f.invoice.pk, f.base) for f in box07] == [
        (made["S1"].pk, cents("1000")),
        (made["S2"].pk, cents("90.05")),
        (made["S4"].pk, cents("300")),
        (made["S5"].pk, cents("400")),
    ]
    box14 = vat_report.invoice_figures(company, *Q1, box="14")
    assert [(f.invoice.pk, f.base) for f in box14] == [(made["CN1"].pk, cents("-100"))]
    everything = vat_report.invoice_figures(company, *Q1)
    assert {f.invoice.pk for f in everything} == {
        made[k].pk for k in ("S1", "S2", "CN1", "S3", "S4", "S5", "P1", "P2", "PC1", "P3")
    }


# --- filters -----------------------------------------------------------------------------------


def test_periods() -> None:
    assert vat_report.period_parse("2026-Q1") == vat_report.Period(
        dt.date(2026, 1, 1), dt.date(2026, 3, 31), "2026-Q1"
    )
    assert vat_report.period_parse("2024-02").date_to == dt.date(2024, 2, 29)
    assert vat_report.period_parse("2026").date_to == dt.date(2026, 12, 31)
    for bad in ("2026-Q5", "2026-13", "26", "2026-1", "x", ""):
        with pytest.raises(ValueError):
            vat_report.period_parse(bad)
    assert vat_report.period_default(dt.date(2026, 12, 3)).key == "2026-Q3"
    assert vat_report.period_default(dt.date(2026, 2, 1)).key == "2025-Q4"
    keys = [key for key, _label in vat_report.period_choices(dt.date(2026, 12, 3))]
    assert keys[:2] == ["2026-Q4", "2026-Q3"] and "2024" in keys and "2026-01" in keys


def test_params_name_the_bad_field(company: Any) -> None:
    today = dt.date(2026, 12, 3)
    for data, field in (
        ({"period": "2026-Q5"}, "period"),
        ({"date_from": "2026-02-30", "date_to": "2026-03-31"}, "date_from"),
        ({"date_from": "2026-03-01"}, "date_to"),
        ({"date_from": "2026-03-01", "date_to": "2026-01-01"}, "date_to"),
        ({"tax": "NOPE"}, "tax"),
        ({"side": "sideways"}, "side"),
        ({"box": "07", "tax": "IVA21-V"}, "box"),
    ):
        _params, errors = vat_params(company, data, today)
        assert list(errors) == [field], data
    params, errors = vat_params(company, {"date_from": "2026-01-01", "date_to": "2026-01-31"})
    assert not errors and params["period"] == "" and params["date_to"] == dt.date(2026, 1, 31)
    params, errors = vat_params(company, {"tax": "IVA21-V", "side": "output"}, today)
    assert not errors and params["tax"].code == "IVA21-V"
    assert (params["date_from"], params["date_to"]) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


# --- pages -------------------------------------------------------------------------------------


def url(company: Any, name: str = "vat-report/", query: str = "") -> str:
    return f"/c/{company.code}/billing/{name}{'?' + query if query else ''}"


def test_page(vat_spain: dict[str, Any], accountant: Any, login: Callable[..., Any]) -> None:
    company = vat_spain["company"]
    client = login(accountant)
    response = client.get(url(company, query="period=2026-Q1"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "not an official filing" in html
    assert "exchange rate" in html  # how foreign currencies are converted is stated
    assert 'data-figure="result">233.01<' in html or 'data-figure="result">233,01<' in html
    assert "To pay" in html
    assert 'data-box="09"' in html and 'data-box="46"' in html
    tax = Tax.objects.get(company=company, code="IVA21-V")
    link = f"vat-report/invoices/?period=2026-Q1&amp;tax={tax.pk}&amp;side=output"
    assert link in html
    assert "vat-report/invoices/?period=2026-Q1&amp;box=07" in html
    # The menu has the report.
    assert f'href="/c/{company.code}/billing/vat-report/"' in html

    drill = client.get(
        url(company, "vat-report/invoices/", f"period=2026-Q1&tax={tax.pk}&side=output")
    )
    assert drill.status_code == 200
    body = drill.content.decode()
    assert "1,690.05" in body or "1.690,05" in body
    assert "354.91" in body or "354,91" in body
    for key in ("S1", "S2", "CN1", "S4", "S5"):
        assert vat_spain["invoices"][key].number in body
    assert vat_spain["invoices"]["DRAFT"].number is None
    box = client.get(url(company, "vat-report/invoices/", "period=2026-Q1&box=14"))
    assert box.status_code == 200 and "-100.00" in box.content.decode().replace(",", ".")
    custom = client.get(url(company, query="date_from=2026-01-01&date_to=2026-01-31"))
    assert custom.status_code == 200
    default = client.get(url(company))
    assert default.status_code == 200


def test_page_bad_input_is_400_naming_the_field(
    vat_spain: dict[str, Any], accountant: Any, login: Callable[..., Any]
) -> None:
    client = login(accountant)
    company = vat_spain["company"]
    response = client.get(url(company, query="period=2026-Q9"))
    assert response.status_code == 400
    assert "<strong>period</strong>" in response.content.decode()
    response = client.get(url(company, "vat-report/invoices/", "period=2026-Q1&tax=NOPE"))
    assert response.status_code == 400 and "Unknown tax NOPE" in response.content.decode()
    assert client.get(url(company, query="period=2026-Q1&export=doc")).status_code == 400


def test_permissions(vat_spain: dict[str, Any], make_user: Callable[..., Any], client: Any) -> None:
    company = vat_spain["company"]
    for role, expected in (("hr_manager", 403), ("auditor", 200), ("clerk", 200)):
        client.force_login(make_user(company=company, role=role))
        assert client.get(url(company)).status_code == expected, role
        assert client.get(url(company, "vat-report/invoices/")).status_code == expected, role
    outsider = make_user()
    client.force_login(outsider)
    assert client.get(url(company)).status_code == 404


def test_exports(vat_spain: dict[str, Any], accountant: Any, login: Callable[..., Any]) -> None:
    company = vat_spain["company"]
    client = login(accountant)
    before = AuditEntry.objects.filter(action="export").count()
    response = client.get(url(company, query="period=2026-Q1&export=xlsx"))
    assert response.status_code == 200
    assert "vat-report-ACME-2026-01-01-2026-03-31.xlsx" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert rows[0][:3] == ("Section", "Code", "Description")
    iva21 = next(r for r in rows if r[1] == "IVA21-V")
    assert (Decimal(str(iva21[5])), Decimal(str(iva21[6]))) == (
        Decimal("1690.05"),
        Decimal("354.91"),
    )
    box46 = next(r for r in rows if r[1] == "46")
    assert Decimal(str(box46[6])) == Decimal("233.01")
    pdf = client.get(url(company, query="period=2026-Q1&export=pdf"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    csv = client.get(url(company, "vat-report/invoices/", "period=2026-Q1&box=07&export=csv"))
    assert csv.status_code == 200
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Date,Number") and "90.05" in text
    drill_pdf = client.get(url(company, "vat-report/invoices/", "period=2026-Q1&export=pdf"))
    assert drill_pdf.status_code == 200 and drill_pdf.content.startswith(b"%PDF")
    exports = AuditEntry.objects.filter(action="export").order_by("-id")
    assert exports.count() == before + 4
    assert exports.first().object_type == "billing.vat-report-invoices"


def test_export_needs_the_export_permission(
    vat_spain: dict[str, Any], make_user: Callable[..., Any], client: Any
) -> None:
    from trastienda.core.models import Membership
    from trastienda.core.permissions import membership_perms

    company = vat_spain["company"]
    for role in ("clerk", "auditor", "accountant"):
        user = make_user(company=company, role=role)
        perms = membership_perms(Membership.objects.get(company=company, user=user))
        client.force_login(user)
        status = client.get(url(company, query="export=csv")).status_code
        assert status == (200 if "core.export_data" in perms else 403), role


# --- API ---------------------------------------------------------------------------------------


def api(client: Any, company: Any, path: str = "", query: str = "") -> Any:
    return client.get(
        f"/api/v1/billing/vat-report/{path}{'?' + query if query else ''}",
        HTTP_X_COMPANY=company.code,
    )


def test_api(vat_spain: dict[str, Any], accountant: Any, login: Callable[..., Any]) -> None:
    company = vat_spain["company"]
    client = login(accountant)
    response = api(client, company, query="period=2026-Q1")
    assert response.status_code == 200
    body = response.json()
    assert "not an official filing" in body["notice"]
    assert (body["date_from"], body["date_to"], body["currency"]) == (
        "2026-01-01",
        "2026-03-31",
        "EUR",
    )
    iva21 = next(line for line in body["output"] if line["tax"] == "IVA21-V")
    assert (iva21["base"], iva21["amount"], iva21["invoices"]) == ("1690.05", "354.91", 5)
    assert body["result"] == "233.01" and body["verdict"] == "To pay"
    assert body["form"] == "303"
    boxes = {b["box"]: b["value"] for b in body["boxes"]}
    assert boxes["07"] == "1790.05" and boxes["14"] == "-100.00" and boxes["01"] == "0.00"
    assert body["box_totals"][-1] == {
        "box": "46",
        "label": "Result of the general regime",
        "value": "233.01",
    }
    drill = api(client, company, "invoices/", "period=2026-Q1&box=07")
    assert drill.status_code == 200
    assert drill.json()["total"] == "1790.05"
    assert [i["value"] for i in drill.json()["invoices"]] == [
        "1000.00",
        "90.05",
        "300.00",
        "400.00",
    ]
    by_code = api(client, company, "invoices/", "period=2026-Q1&tax=IVA21-C&side=input")
    assert by_code.json()["total_amount"] == "157.50"
    assert api(client, company, query="period=2026-Q1&format=xlsx").status_code == 200


def test_api_bad_input(
    vat_spain: dict[str, Any], accountant: Any, login: Callable[..., Any]
) -> None:
    company = vat_spain["company"]
    client = login(accountant)
    response = api(client, company, query="period=2026-Q9")
    assert response.status_code == 400
    assert "period" in str(response.json())
    response = api(client, company, "invoices/", "date_from=2026-01-01&date_to=2025-01-01")
    assert response.status_code == 400 and "date_to" in str(response.json())
    assert api(client, company, query="format=docx").status_code == 400


# --- the story through the invoice services -----------------------------------------------------


def test_issued_through_the_services_equals_the_ledger(company: Any) -> None:
    """Invoices, a credit note and bills issued by the services: the report's output VAT is
    what the ledger's output VAT account (4770) received in the quarter, its deductible VAT
    what the input VAT account (4720) received, and its boxes follow."""
    from django.db.models import Sum

    from trastienda.billing import services
    from trastienda.billing.models import Partner
    from trastienda.ledger import services as ledger
    from trastienda.ledger.models import JournalEntryLine

    ledger.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    taxes = {t.code: t for t in Tax.objects.filter(company=company)}
    customer = Partner.objects.create(
        company=company, code="C1", legal_name="Cliente Uno S.L.", tax_id="B50123454"
    )
    supplier = Partner.objects.create(
        company=company,
        code="S1",
        legal_name="Stahlwerk Rhein GmbH",
        tax_id="DE812943708",
        country="DE",
        is_customer=False,
        is_supplier=True,
    )
    D = Decimal
    first = services.invoice_issue(
        instance=services.invoice_create_draft(
            company=company,
            direction="sale",
            partner=customer,
            date=dt.date(2026, 1, 12),
            lines=[
                {"description": "Taladros", "quantity": D("3"), "unit_price": D("89.90"),
                 "taxes": [taxes["IVA21-V"]]},
                {"description": "Libros", "quantity": D("2"), "unit_price": D("15.00"),
                 "taxes": [taxes["IVA4-V"]]},
            ],
        )
    )  # fmt: skip
    services.invoice_issue(
        instance=services.invoice_create_draft(
            company=company,
            direction="sale",
            partner=customer,
            date=dt.date(2026, 2, 2),
            currency="USD",
            rate=D("0.9123"),
            lines=[{"description": "Export order", "quantity": D("7"),
                    "unit_price": D("33.3333"), "taxes": [taxes["IVA21-V"]]}],
        )
    )  # fmt: skip
    services.invoice_issue(
        instance=services.credit_note_create(
            instance=first,
            date=dt.date(2026, 2, 20),
            reason="Devolución",
            lines=[{"description": "Taladro devuelto", "quantity": D("1"),
                    "unit_price": D("89.90"), "taxes": [taxes["IVA21-V"]]}],
        )
    )  # fmt: skip
    services.invoice_issue(
        instance=services.invoice_create_draft(
            company=company,
            direction="purchase",
            partner=supplier,
            date=dt.date(2026, 3, 3),
            supplier_reference="RE-1",
            lines=[{"description": "Taladros", "quantity": D("100"), "unit_price": D("52"),
                    "taxes": [taxes["AIB21-C"]]}],
        )
    )  # fmt: skip

    report = vat_report.vat_report(company, *Q1)

    def movement(code: str) -> int:
        sums = JournalEntryLine.objects.filter(
            entry__company=company,
            entry__state="posted",
            account__code=code,
            entry__date__gte=Q1[0],
            entry__date__lte=Q1[1],
        ).aggregate(debit=Sum("debit"), credit=Sum("credit"))
        return int(sums["credit"] or 0) - int(sums["debit"] or 0)

    assert report.output_due == movement("4770")
    assert report.input_deductible == -movement("4720")
    assert report.boxes["03"] == 120  # 30.00 x 4%
    assert report.boxes["15"] == -cents("18.88")  # 89.90 x 21% = 18.879
    assert report.boxes["11"] == report.boxes["37"] == cents("1092")
    assert report.box_result == report.result
    issued = Invoice.objects.filter(company=company, state="issued").count()
    assert report.invoices == issued == 4

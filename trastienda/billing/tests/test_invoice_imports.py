"""Import of sales invoices from CSV/XLSX: issued all or nothing, errors by file line."""

from __future__ import annotations

import io
import tempfile
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from trastienda.billing.invoice_imports import invoices_import
from trastienda.billing.models import Invoice
from trastienda.billing.tests.test_invoices import setup  # noqa: F401

GOOD = (
    "invoice,partner,date,series,description,quantity,unit_price,discount,taxes\n"
    "A-1,C1,2026-03-02,FX,Consultoría,2,60.00,,T21\n"
    "A-1,C1,2026-03-02,FX,Asesoría,1,1000,10,T21 IRPF15\n"
    "A-2,C1,2026-03-01,FX,Tornillos,3,10.0050,,T10\n"
)


def test_file_issues_invoices_in_date_order(setup: Any) -> None:  # noqa: F811
    result = invoices_import(company=setup.company, content=GOOD.encode(), filename="f.csv")
    assert (result.issued, result.lines) == (2, 3)
    a1 = Invoice.objects.get(lines__description="Consultoría")
    a2 = Invoice.objects.get(lines__description="Tornillos")
    assert (a2.number, a1.number) == ("FX2026-00001", "FX2026-00002")
    assert a1.net_amount == 12000 + 90000 and a1.withholding_amount == 13500


def test_errors_name_the_file_line_and_nothing_is_written(setup: Any) -> None:  # noqa: F811
    bad = GOOD.replace(
        "A-1,C1,2026-03-02,FX,Asesoría,1,1000", "A-1,C1,2026-03-02,FX,Asesoría,-1,1000"
    )
    bad += "A-3,NOPE,2026-03-05,FX,X,1,1,,T21\nA-4,C1,2026-13-01,FX,Y,1,1,,T21\n"
    with pytest.raises(ValidationError) as info:
        invoices_import(company=setup.company, content=bad.encode(), filename="f.csv")
    errors = info.value.message_dict
    assert any(m.startswith("lines[2].quantity") or "quantity" in m for m in errors["line 3"])
    assert any("partner" in m for m in errors["line 5"])
    assert any("date" in m for m in errors["line 6"])
    assert not Invoice.objects.exists()
    with pytest.raises(ValidationError) as info:
        invoices_import(company=setup.company, content=b"foo,bar\n1,2\n", filename="f.csv")
    assert "line 1" in info.value.message_dict


def test_page_api_and_command(setup: Any, accountant: Any, client: Any) -> None:  # noqa: F811
    client.force_login(accountant)
    url = f"/c/{setup.company.code}/billing/invoices/import/"
    assert client.get(url).status_code == 200
    assert b"invoice,partner" in client.get(f"{url}?template=csv").content
    upload = SimpleUploadedFile("f.csv", GOOD.encode(), content_type="text/csv")
    page = client.post(url, {"file": upload})
    assert page.status_code == 200 and b"import-result" in page.content
    assert Invoice.objects.count() == 2
    api = "/api/v1/billing/invoices/import/"
    again = GOOD.replace("2026-03-0", "2026-04-0")
    upload = SimpleUploadedFile("g.csv", again.encode(), content_type="text/csv")
    response = client.post(api, {"file": upload}, HTTP_X_COMPANY=setup.company.code)
    assert response.status_code == 201, response.content
    assert response.json()["issued"] == 2
    out = io.StringIO()
    csv = GOOD.replace("2026-03-0", "2026-05-0")
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
        handle.write(csv)
    call_command("billing", "import-invoices", handle.name, company=setup.company.code, stdout=out)
    assert "2 invoices issued" in out.getvalue()
    assert Invoice.objects.count() == 6

"""A record through the generic views: create it, find it with the filter, export the list."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from trastienda.conftest import PASSWORD
from trastienda.documents.models import Document
from trastienda.documents.services import document_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Supply contract with Aceros del Norte"
HEADER = ["Title", "Kind", "Reference", "Date", "Original file name"]
ROW = [TITLE, "Contract", "CTR-2025-017", "2025-03-14", ""]


def test_create_filter_and_export_a_document(
    page: Any, marta: Any, acme: Any, otra: Any, sign_in: Any, shoot: Any
) -> None:
    document_create(
        company=acme,
        title="Lease of the Zaragoza warehouse",
        kind="contract",
        reference="DOC-001",
        document_date=dt.date(2024, 3, 1),
    )
    document_create(company=acme, title="Procedures manual", kind="policy", reference="DOC-002")
    document_create(company=otra, title="Contratto Aceros Italia", kind="contract")
    sign_in("marta", PASSWORD)
    page.goto("/c/ACME/documents/")
    rows = page.locator("#object-table tbody tr")
    expect(rows).to_have_count(2)

    # --- create: a form error first, then a valid record -----------------------------------
    page.locator("#add-object").click()
    expect(page).to_have_url(re.compile(r"/c/ACME/documents/add/$"))
    expect(page.locator("h1")).to_have_text("New document")
    page.locator("#id_reference").fill("CTR-2025-017")
    page.locator("#save").click()
    expect(page.locator("[data-field=title]")).to_have_text("This field is required.")
    expect(page.locator("#id_title")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#id_reference")).to_have_value("CTR-2025-017")  # input kept
    assert Document.objects.filter(reference="CTR-2025-017").count() == 0

    page.locator("#id_title").fill(TITLE)
    page.locator("#id_kind").select_option("contract")
    page.locator("#id_document_date").fill("2025-03-14")
    page.locator("#id_notes").fill("Signed in Bilbao.")
    page.locator("#save").click()
    expect(page).to_have_url(re.compile(r"/c/ACME/documents/\d+/$"))
    expect(page.get_by_role("alert")).to_contain_text(f"{TITLE} saved.")
    expect(page.locator("h1")).to_have_text(TITLE)
    created = Document.objects.get(reference="CTR-2025-017")
    assert (created.company, created.title, created.kind, created.document_date, created.notes) == (
        acme,
        TITLE,
        "contract",
        dt.date(2025, 3, 14),
        "Signed in Bilbao.",
    )
    assert page.url.endswith(f"/c/ACME/documents/{created.pk}/")

    # --- filter: the search box narrows the list in place (HTMX) --------------------------
    page.goto("/c/ACME/documents/")
    expect(rows).to_have_count(3)
    page.locator("#filter-form input[name=q]").fill("aceros")
    page.locator("#filter-form input[name=q]").press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=aceros(&|$)"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(TITLE)
    expect(page.locator("#object-table .card-footer")).to_contain_text("1 record")
    shoot(page, "documents-filtered")

    # --- export: the file holds the filtered list only ------------------------------------
    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    download = download_info.value
    assert re.fullmatch(r"documents-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    content = download.path().read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    assert list(csv.reader(io.StringIO(content.decode("utf-8-sig")))) == [HEADER, ROW]

    with page.expect_download() as download_info:
        page.locator("#export-xlsx").click()
    assert download_info.value.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(download_info.value.path().read_bytes()), read_only=True)
    sheet = workbook.active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADER
    assert [v[:3] for v in values[1:]] == [ROW[:3]]
    # The date cell: text today, a typed date once the generic export keeps types (reported).
    assert str(values[1][3])[:10] == "2025-03-14"

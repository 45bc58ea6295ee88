"""Import of journal entries from CSV and XLSX files (ledger/imports.py): the service, its
page and job, the API endpoint and the command."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from trastienda.audit.models import AuditEntry
from trastienda.core import services as core_services
from trastienda.core.models import Job
from trastienda.ledger import imports, services
from trastienda.ledger.models import (
    Account,
    AccountBalance,
    FiscalYear,
    JournalEntry,
    JournalEntryLine,
    JournalSequence,
    LedgerSettings,
    Period,
)

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
SAMPLE = (DATA / "entries-sample.csv").read_bytes()
HEADER = "external_id,date,journal,reference,description,account,line_description,debit,credit"
URL = "/c/ACME/ledger/entries/import/"
API = "/api/v1/ledger/entries/import/"


def run(company: Any, content: bytes | str, filename: str = "entries.csv", **kw: Any) -> Any:
    data = content.encode() if isinstance(content, str) else content
    return imports.entries_import(company=company, content=data, filename=filename, **kw)


def csv_of(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def refused(company: Any, content: bytes, filename: str = "entries.csv") -> dict[str, list[str]]:
    """The import's errors; asserts that nothing was written."""
    audit_before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        run(company, content, filename)
    assert not JournalEntry.objects.filter(company=company).exists()
    assert not JournalEntryLine.objects.filter(company=company).exists()
    assert not AccountBalance.objects.filter(company=company).exists()
    assert not JournalSequence.objects.filter(company=company, last_number__gt=0).exists()
    assert AuditEntry.objects.count() == audit_before
    return imports.errors_by_line(exc.value)


def intact(company: Any) -> None:
    assert services.ledger_verify(company=company).ok
    assert services.ledger_balances_verify(company=company) == []


def sample_lines(company: Any) -> list[tuple[Any, ...]]:
    return list(
        JournalEntryLine.objects.filter(company=company)
        .order_by("entry__chain_seq", "line_no")
        .values_list(
            "entry__external_id",
            "entry__number",
            "line_no",
            "account__code",
            "debit",
            "credit",
            "partner",
            "due_date",
            "description",
        )
    )


SAMPLE_LINES = [
    (
        "INV-2026-001",
        "SAL/2026/000001",
        1,
        "4300",
        121000,
        0,
        "Bricolajes Pérez S.L.",
        dt.date(2026, 2, 14),
        "",
    ),
    ("INV-2026-001", "SAL/2026/000001", 2, "7000", 0, 100000, "", None, "Sale of goods"),
    ("INV-2026-001", "SAL/2026/000001", 3, "4770", 0, 21000, "", None, "Output VAT 21%"),
    ("PUR-2026-001", "PUR/2026/000001", 1, "6000", 50000, 0, "", None, ""),
    ("PUR-2026-001", "PUR/2026/000001", 2, "4720", 10500, 0, "", None, "Input VAT 21%"),
    (
        "PUR-2026-001",
        "PUR/2026/000001",
        3,
        "4000",
        0,
        60500,
        "Suministros Norte S.A.",
        dt.date(2026, 2, 19),
        "",
    ),
    ("BNK-2026-001", "BNK/2026/000001", 1, "5720", 121000, 0, "", None, ""),
    ("BNK-2026-001", "BNK/2026/000001", 2, "4300", 0, 121000, "Bricolajes Pérez S.L.", None, ""),
    ("BNK-2026-002", "BNK/2026/000002", 1, "6260", 1250, 0, "", None, ""),
    ("BNK-2026-002", "BNK/2026/000002", 2, "5720", 0, 1250, "", None, ""),
]


# --- the service ----------------------------------------------------------------------------


def test_sample_csv_is_posted_exactly(books: Any) -> None:
    audit_before = AuditEntry.objects.count()
    result = run(books, SAMPLE, "entries-sample.csv")
    assert (result.posted, result.skipped, result.lines, result.entries) == (4, 0, 10, 4)
    assert (result.first_number, result.last_number) == ("SAL/2026/000001", "BNK/2026/000002")
    assert sample_lines(books) == SAMPLE_LINES
    entry = JournalEntry.objects.get(company=books, external_id="INV-2026-001")
    assert (entry.reference, entry.description, entry.date) == (
        "F2026-001",
        "Invoice to Bricolajes Pérez",
        dt.date(2026, 1, 15),
    )
    intact(books)
    (event,) = AuditEntry.objects.filter(seq__gt=audit_before)
    assert event.extra["file"] == "entries-sample.csv"
    assert event.extra["sha256"] == result.sha256 and len(result.sha256) == 64
    assert (event.extra["entries"], event.extra["lines"], event.extra["rows"]) == (4, 10, 10)
    assert (event.extra["first_number"], event.extra["last_number"]) == (
        "SAL/2026/000001",
        "BNK/2026/000002",
    )


def test_importing_twice_posts_once(books: Any) -> None:
    run(books, SAMPLE)
    again = run(books, SAMPLE)
    assert (again.posted, again.skipped, again.lines) == (0, 4, 0)
    assert JournalEntry.objects.filter(company=books).count() == 4
    assert imports.result_message(again) == (
        "Nothing new: the 4 entries of the file were imported before."
    )
    intact(books)


def xlsx_of(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_with_numbers_and_dates_in_cells(books: Any) -> None:
    import csv

    rows: list[list[Any]] = []
    for n, cells in enumerate(csv.reader(io.StringIO(SAMPLE.decode()))):
        if n:
            cells[1] = dt.date.fromisoformat(cells[1]) if cells[1] else None
            cells[12] = dt.datetime.fromisoformat(cells[12]) if cells[12] else None
            for i in (7, 8):  # amounts as numbers: floats and integers as Excel stores them
                if cells[i]:
                    value = Decimal(cells[i])
                    cells[i] = int(value) if value == value.to_integral() else float(value)
            cells[5] = int(cells[5])  # account codes typed as numbers
        rows.append([c if c != "" else None for c in cells])
    result = run(books, xlsx_of(rows), "entries.xlsx")
    assert (result.posted, result.lines) == (4, 10)
    assert sample_lines(books) == SAMPLE_LINES
    intact(books)


def test_xlsx_cells_with_more_decimals_than_the_currency_are_refused(books: Any) -> None:
    rows = [
        HEADER.split(","),
        ["A", dt.date(2026, 3, 1), "GEN", "", "", "5720", "", 10.005, None],
        ["A", None, None, None, None, "1000", "", None, 10.005],
    ]
    assert refused(books, xlsx_of(rows), "e.xlsx") == {
        "line 2": ["debit: Invalid amount 10.005: EUR has 2 decimal places."],
        "line 3": ["credit: Invalid amount 10.005: EUR has 2 decimal places."],
    }


def test_spanish_file_with_bom_semicolons_comma_decimals_and_dd_mm_yyyy(
    make_company: Any,
) -> None:
    company = make_company("ESPA", language="es")
    services.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    text = (
        "\ufeffId externo;Fecha;Diario;Referencia;Descripción;Cuenta;Concepto línea;Debe;Haber\n"
        "A1;15/01/2026;GEN;R1;Aportación;5720;;1.234,56;\n"
        'A1;;;;;1000;"Capital; social";;1234,56\n'
        "A2;2026-01-16;GEN;;;6260;;1.500;\n"
        "A2;;;;;5720;;;1500.00\n"
    )
    result = run(company, text.encode("utf-8"))
    assert (result.posted, result.lines) == (2, 4)
    lines = list(
        JournalEntryLine.objects.filter(company=company)
        .order_by("entry__chain_seq", "line_no")
        .values_list("account__code", "debit", "credit", "description")
    )
    assert lines == [
        ("5720", 123456, 0, ""),
        ("1000", 0, 123456, "Capital; social"),
        ("6260", 150000, 0, ""),
        ("5720", 0, 150000, ""),
    ]
    assert JournalEntry.objects.get(company=company, external_id="A1").date == dt.date(2026, 1, 15)
    intact(company)


@pytest.mark.parametrize(
    ("decimal", "thousands", "text", "expected"),
    [
        (".", ",", "1234.56", "1234.56"),
        (".", ",", "1,234.56", "1234.56"),
        (".", ",", "-7", "-7"),
        (".", ",", "1,5", None),
        (".", ",", "1.2.3", None),
        (",", ".", "1.234,56", "1234.56"),
        (",", ".", "1234,5", "1234.5"),
        (",", ".", "12.50", "12.50"),
        (",", ".", "1.500", "1500"),
        (",", ".", "1 234,56", "1234.56"),
        (",", ".", "1,2,3", None),
        (",", ".", "abc", None),
        (",", ".", "", ""),
    ],
)
def test_amount_notation(
    company: Any, decimal: str, thousands: str, text: str, expected: str | None
) -> None:
    reader = imports._Reader(company)
    reader.decimal, reader.thousands = decimal, thousands
    if expected is None:
        with pytest.raises(ValueError):
            reader.amount(text)
    else:
        assert reader.amount(text) == expected


# --- bad input: every problem by file line, nothing written -----------------------------------


def test_unbalanced_entry(books: Any) -> None:
    content = csv_of("A,2026-03-01,GEN,,,5720,,100.00,", "A,,,,,1000,,,99.99")
    assert refused(books, content) == {
        "line 2": ["lines: The entry does not balance: debit - credit = 0.01 EUR."]
    }


def test_closed_and_locked_periods(books: Any, year: FiscalYear) -> None:
    services.period_update(instance=Period.objects.get(fiscal_year=year, number=3), state="closed")
    settings = LedgerSettings.objects.get(company=books)
    services.settings_update(instance=settings, hard_lock_date=dt.date(2026, 1, 31), lock_date=None)
    content = csv_of(
        "A,2026-03-01,GEN,,,5720,,10,",
        "A,,,,,1000,,,10",
        "B,2026-01-10,GEN,,,5720,,10,",
        "B,,,,,1000,,,10",
        "C,2025-12-31,GEN,,,5720,,10,",
        "C,,,,,1000,,,10",
    )
    assert refused(books, content) == {
        "line 2": ["date: The period of 2026-03-01 is closed."],
        "line 4": ["date: The books are locked up to 2026-01-31."],
        "line 6": ["date: No fiscal year covers 2025-12-31."],
    }


def test_unknown_group_and_archived_accounts_and_missing_partner(books: Any) -> None:
    services.account_update(instance=Account.objects.get(company=books, code="6260"), active=False)
    content = csv_of(
        "A,2026-03-01,GEN,,,9999,,10,",
        "A,,,,,572,,,10",
        "B,2026-03-02,GEN,,,6260,,10,",
        "B,,,,,4300,,,10",
    )
    assert refused(books, content) == {
        "line 2": ["account: Unknown account 9999."],
        "line 3": ["account: Account 572 is a group: choose a postable account."],
        "line 4": ["account: Account 6260 is archived."],
        "line 5": ["partner: Account 4300 needs a partner."],
    }


def test_malformed_dates_and_amounts(books: Any) -> None:
    content = csv_of(
        "A,31/02/2026,GEN,,,5720,,10,",
        "A,,,,,1000,,,10",
        "B,2026-03-01,GEN,,,5720,,12.3.4,",
        "B,,,,,1000,,,10",
        "C,2026-03-01,GEN,,,5720,,10,",
        "C,2026-03-02,,,,1000,,,10",
    )
    assert refused(books, content) == {
        "line 2": ["date: '31/02/2026' is not a date (YYYY-MM-DD or DD/MM/YYYY)."],
        "line 4": ["debit: '12.3.4' is not an amount (such as 1234.56)."],
        "line 7": ["date: '2026-03-02' differs from the entry's first line; leave it empty."],
    }


def test_partly_wrong_file_writes_nothing(books: Any) -> None:
    rows = []
    for n in range(1, 51):
        rows += [f"E{n},2026-04-{n % 28 + 1:02d},GEN,,,5720,,{n}.00,", f"E{n},,,,,1000,,,{n}.00"]
    rows[73] = "E37,,,,,1000,,,36.00"  # line 75: the credit of E37 is off by one euro
    assert refused(books, csv_of(*rows)) == {
        "line 74": ["lines: The entry does not balance: debit - credit = 1.00 EUR."]
    }


def test_missing_external_id_unknown_journal_and_repeated_id(books: Any) -> None:
    content = csv_of(
        "A,2026-03-01,XXX,,,5720,,10,",
        "A,,,,,1000,,,10",
        ",2026-03-01,GEN,,,5720,,10,",
        "B,2026-03-01,GEN,,,5720,,10,",
        "B,,,,,1000,,,10",
        "C,2026-03-01,GEN,,,5720,,1,",
        "C,,,,,1000,,,1",
        "B,2026-03-01,GEN,,,5720,,10,",
        "B,,,,,1000,,,10",
    )
    assert refused(books, content) == {
        "line 2": ["journal: Unknown journal XXX."],
        "line 4": ["external_id: Enter the entry's external id."],
        "line 9": ["external_id: External id B repeats another entry of the batch."],
    }


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "e.csv", "The file is empty."),
        (HEADER.encode() + b"\n", "e.csv", "The file has no entries."),
        (b"external_id,date,account,debit\n", "e.csv", "Missing columns: journal."),
        (
            b"external_id,date,journal,account,debit,acount\n",
            "e.csv",
            "Unknown columns: acount. The columns are: " + ", ".join(imports.COLUMNS) + ".",
        ),
        (b"\xff\xfe\x00a", "e.csv", "The file is not UTF-8 text."),
        (b"PK\x03\x04 not really", "e.xlsx", "The file is not a valid XLSX workbook."),
    ],
)
def test_unreadable_files(books: Any, content: bytes, filename: str, message: str) -> None:
    assert refused(books, content, filename) == {"file": [message]}


def test_file_lines_count_quoted_line_breaks_and_blank_rows(books: Any) -> None:
    content = csv_of(
        'A,2026-03-01,GEN,,"two',
        'lines",5720,,10,',
        "",
        "A,,,,,9999,,,10",
    )
    assert refused(books, content) == {"line 5": ["account: Unknown account 9999."]}


def test_columns_the_file_lacks_short_rows_and_cells_past_the_header(books: Any) -> None:
    """A file may carry only some columns, in any order: the others read as empty. A row
    shorter than the header lacks its last cells; a cell past the header's columns is ignored
    (were it read as a missing column, "XYZ" would be an unknown currency or cost centre)."""
    content = csv_of(
        "2026-03-02,A,5720,10,,GEN",
        "2026-03-02,A,6260,5,",
        "2026-03-02,A,5720,,15,,XYZ",
        header="date,external_id,account,debit,credit,journal",
    )
    result = run(books, content)
    assert (result.posted, result.lines) == (1, 3)
    line = JournalEntryLine.objects.get(company=books, line_no=3)
    assert (line.currency_id, line.cost_centre_id, line.description) == ("EUR", None, "")


# --- page and job ---------------------------------------------------------------------------


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def test_page_imports_a_small_file(books: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    page = client.get(URL)
    assert page.status_code == 200 and b'id="import-form"' in page.content
    listing = client.get("/c/ACME/ledger/entries/")
    assert URL.encode() in listing.content
    response = client.post(URL, {"file": SimpleUploadedFile("s.csv", SAMPLE)})
    assert response.status_code == 200
    assert b'data-posted="4"' in response.content and b'data-skipped="0"' in response.content
    again = client.post(URL, {"file": SimpleUploadedFile("s.csv", SAMPLE)})
    assert b'data-posted="0"' in again.content and b'data-skipped="4"' in again.content
    template = client.get(URL + "?template=csv")
    assert template.content.startswith(b"external_id,date,journal")


def test_page_lists_the_errors_by_line(books: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    content = csv_of("A,2026-03-01,GEN,,,9999,,10,", "A,,,,,1000,,,10")
    response = client.post(URL, {"file": SimpleUploadedFile("bad.csv", content)})
    assert response.status_code == 400
    assert b"line 2" in response.content and b"Unknown account 9999." in response.content
    assert not JournalEntry.objects.filter(company=books).exists()
    exe = client.post(URL, {"file": SimpleUploadedFile("x.csv", b"MZ\x90\x00" + b"\x00" * 60)})
    assert exe.status_code == 400


def test_page_needs_the_post_permission(books: Any, make_user: Any, login: Any) -> None:
    clerk = make_user("clerk", company=books, role="clerk")
    client = login(clerk)
    response = client.post(URL, {"file": SimpleUploadedFile("s.csv", SAMPLE)})
    assert response.status_code == 403
    assert not JournalEntry.objects.filter(company=books).exists()


def test_big_file_goes_to_a_job_with_progress(
    books: Any,
    accountant: Any,
    login: Any,
    media: Path,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from trastienda.ledger import import_views

    monkeypatch.setattr(import_views, "SYNC_MAX_BYTES", 100)
    client = login(accountant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"file": SimpleUploadedFile("s.csv", SAMPLE)})
    job = Job.objects.get(company=books, kind="ledger.import")
    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{job.pk}/")
    assert job.status == Job.Status.DONE, job.error
    assert job.message == ("Posted 4 entries (10 lines), SAL/2026/000001 to BNK/2026/000002.")
    assert JournalEntry.objects.filter(company=books, state="posted").count() == 4
    assert list(media.rglob("*.csv")) == []  # the stored upload is removed


def test_job_fails_with_the_errors_by_line(
    books: Any,
    accountant: Any,
    login: Any,
    media: Path,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from trastienda.ledger import import_views

    monkeypatch.setattr(import_views, "SYNC_MAX_BYTES", 10)
    client = login(accountant)
    content = csv_of("A,2026-03-01,GEN,,,9999,,10,", "A,,,,,1000,,,11")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, {"file": SimpleUploadedFile("bad.csv", content)})
    job = Job.objects.get(company=books, kind="ledger.import")
    assert job.status == Job.Status.FAILED
    assert job.error == "line 2: account: Unknown account 9999."
    assert not JournalEntry.objects.filter(company=books).exists()
    assert list(media.rglob("*.csv")) == []


# --- API --------------------------------------------------------------------------------------


def test_api_posts_skips_and_refuses(books: Any, accountant: Any, client: Any) -> None:
    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": books.code}
    created = client.post(API, {"file": SimpleUploadedFile("s.csv", SAMPLE)}, **headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert {k: body[k] for k in ("posted", "skipped", "lines", "entries")} == {
        "posted": 4,
        "skipped": 0,
        "lines": 10,
        "entries": 4,
    }
    assert (body["first_number"], body["last_number"]) == ("SAL/2026/000001", "BNK/2026/000002")
    again = client.post(API, {"file": SimpleUploadedFile("s.csv", SAMPLE)}, **headers)
    assert again.status_code == 200 and again.json()["skipped"] == 4
    bad = client.post(
        API,
        {
            "file": SimpleUploadedFile(
                "b.csv", csv_of("A,2026-03-01,GEN,,,9999,,1,", "A,,,,,1000,,,1")
            )
        },
        **headers,
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"line 2": ["account: Unknown account 9999."]}
    missing = client.post(API, {}, **headers)
    assert missing.status_code == 400 and "file" in missing.json()["error"]["fields"]
    assert JournalEntry.objects.filter(company=books).count() == 4


def test_api_closed_period_is_a_conflict(books: Any, accountant: Any, client: Any) -> None:
    year = FiscalYear.objects.get(company=books, name="2026")
    services.period_update(instance=Period.objects.get(fiscal_year=year, number=3), state="closed")
    client.force_login(accountant)
    content = csv_of("A,2026-03-01,GEN,,,5720,,1,", "A,,,,,1000,,,1")
    response = client.post(
        API, {"file": SimpleUploadedFile("c.csv", content)}, HTTP_X_COMPANY=books.code
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["fields"] == {"line 2": ["date: The period of 2026-03-01 is closed."]}
    assert not JournalEntry.objects.filter(company=books).exists()


def test_api_needs_the_post_permission(books: Any, make_user: Any, client: Any) -> None:
    clerk = make_user("clerk2", company=books, role="clerk")
    client.force_login(clerk)
    response = client.post(
        API, {"file": SimpleUploadedFile("s.csv", SAMPLE)}, HTTP_X_COMPANY=books.code
    )
    assert response.status_code == 403
    assert not JournalEntry.objects.filter(company=books).exists()


# --- command ----------------------------------------------------------------------------------


def test_command_imports_and_reports(books: Any, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "entries.csv"
    path.write_bytes(SAMPLE)
    out, err = io.StringIO(), io.StringIO()
    call_command("ledger", "import", str(path), "--company", "acme", stdout=out, stderr=err)
    assert "Posted 4 entries (10 lines), SAL/2026/000001 to BNK/2026/000002." in out.getvalue()
    assert "Reading the file" in err.getvalue() and "Writing entries" in err.getvalue()
    assert JournalEntry.objects.filter(company=books, source_document=None).count() == 4
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_of("A,2026-03-01,GEN,,,9999,,1,", "A,,,,,1000,,,1"))
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("ledger", "import", str(bad), "--company", "ACME", stderr=err)
    assert exit_info.value.code == 1
    assert "line 2: account: Unknown account 9999." in err.getvalue()
    assert JournalEntry.objects.filter(company=books).count() == 4


def test_command_refuses_unknown_company_and_file(books: Any) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("ledger", "import", "/nonexistent.csv", "--company", "ACME")
    with pytest.raises(CommandError):
        call_command("ledger", "import", str(DATA / "entries-sample.csv"), "--company", "NOPE")
    assert core_services is not None

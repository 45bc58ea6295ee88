"""The banking pages: bank accounts (balances, the column mapping editor), reconciliation
rules, statements and their lines (filters, export), the import page in the request and as a
job, and who may open what."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from trastienda.banking import services, statement_views
from trastienda.banking.models import (
    BankAccount,
    Reconciliation,
    ReconciliationRule,
    Statement,
    StatementLine,
)
from trastienda.banking.tests.builders import (
    CSV_MAPPING,
    CSV_ROWS,
    MAIN_IBAN,
    OTHER_IBAN,
    csv_statement,
    march_camt,
)
from trastienda.banking.tests.conftest import row_counts
from trastienda.core.models import Job
from trastienda.ledger.models import Account, AccountSubtype

pytestmark = pytest.mark.django_db
BASE = "/c/ACME/banking"
D = dt.date


def shown(response: Any) -> set[int]:
    return {row.record.pk for row in response.context["table"].rows}


# --- bank accounts ----------------------------------------------------------------------------


def test_account_list_detail_and_create(client_logged: Client, company: Any) -> None:
    page = client_logged.get(f"{BASE}/accounts/add/")
    assert page.status_code == 200 and 'name="iban"' in page.content.decode()
    created = client_logged.post(
        f"{BASE}/accounts/add/",
        {"name": "Cuenta principal", "iban": "ES91 2100 0418 4502 0005 1332", "currency": "EUR"},
    )
    assert created.status_code == 302, created.context["form"].errors
    account = BankAccount.objects.get()
    assert created["Location"] == f"{BASE}/accounts/{account.pk}/"
    assert (account.iban, account.bic, account.account.subtype) == (
        MAIN_IBAN,
        "CAIXESBB",
        AccountSubtype.BANK,
    )
    listing = client_logged.get(f"{BASE}/accounts/")
    assert listing.status_code == 200 and shown(listing) == {account.pk}
    assert "ES91 2100 0418 4502 0005 1332" in listing.content.decode()
    detail = client_logged.get(f"{BASE}/accounts/{account.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200
    assert 'id="account-balances"' in body and 'id="mapping-link"' in body
    assert f"{BASE}/statements/import/?bank_account={account.pk}" in body
    bad = client_logged.post(
        f"{BASE}/accounts/add/", {"name": "Otra", "iban": "ES91 2100", "currency": "EUR"}
    )
    assert bad.status_code == 400 and "is not a valid IBAN" in bad.content.decode()
    assert BankAccount.objects.count() == 1


def test_account_detail_compares_statement_and_ledger_balances(
    client_logged: Client, bank_account: BankAccount, imported: Any
) -> None:
    detail = client_logged.get(f"{BASE}/accounts/{bank_account.pk}/")
    body = detail.content.decode()
    assert 'id="statement-balance">1914.21 EUR<' in body
    assert 'id="ledger-balance-then">0.00 EUR<' in body
    assert 'id="balance-difference">1914.21 EUR<' in body
    assert ">5</a> · 914.21 EUR<" in body  # five lines still open, adding up to 914.21
    assert f"{BASE}/reconcile/?account={bank_account.pk}" in body


def test_edit_cannot_change_the_iban_after_an_import(
    client_logged: Client, bank_account: BankAccount, imported: Any
) -> None:
    form = {
        "name": "Renamed",
        "iban": OTHER_IBAN,
        "bic": "",
        "bank_name": "",
        "currency": "EUR",
        "account": bank_account.account_id,
        "journal": bank_account.journal_id,
        "creditor_id": "",
        "active": "on",
    }
    refused = client_logged.post(f"{BASE}/accounts/{bank_account.pk}/edit/", form)
    assert refused.status_code == 400
    assert "Statements were imported into this account" in refused.content.decode()
    bank_account.refresh_from_db()
    assert (bank_account.name, bank_account.iban) == ("Cuenta principal", MAIN_IBAN)
    saved = client_logged.post(
        f"{BASE}/accounts/{bank_account.pk}/edit/", {**form, "iban": MAIN_IBAN}
    )
    assert saved.status_code == 302
    bank_account.refresh_from_db()
    assert bank_account.name == "Renamed"
    deleted = client_logged.post(f"{BASE}/accounts/{bank_account.pk}/delete/", follow=True)
    assert "deactivate it instead" in deleted.content.decode()
    assert BankAccount.objects.filter(pk=bank_account.pk).exists()


def mapping_form(**changes: Any) -> dict[str, Any]:
    form = {
        "date": "Fecha",
        "amount": "Importe",
        "debit": "",
        "credit": "",
        "value_date": "Fecha valor",
        "description": "Concepto",
        "reference": "Referencia",
        "counterparty_name": "",
        "counterparty_iban": "",
        "balance": "Saldo",
        "date_format": "%d/%m/%Y",
        "decimal_separator": ",",
        "thousands_separator": ".",
        "delimiter": ";",
        "encoding": "utf-8-sig",
        "skip_rows": "0",
        "has_header": "on",
    }
    form.update(changes)
    return form


def test_mapping_page_previews_a_sample_then_saves(
    client_logged: Client, bank_account: BankAccount
) -> None:
    url = f"{BASE}/accounts/{bank_account.pk}/mapping/"
    page = client_logged.get(url)
    assert page.status_code == 200 and 'id="mapping-form"' in page.content.decode()
    sample = SimpleUploadedFile("movimientos.csv", csv_statement(CSV_ROWS))
    preview = client_logged.post(url, {**mapping_form(), "action": "preview", "sample": sample})
    body = preview.content.decode()
    assert preview.status_code == 200, body[:3000]
    rows = preview.context["preview_rows"]
    assert rows[0] == ["Fecha", "Fecha valor", "Concepto", "Referencia", "Importe", "Saldo"]
    assert rows[1] == [
        "02/03/2026",
        "02/03/2026",
        "TRANSFERENCIA CLIENTE UNO",
        "F2026-00001",
        "1.210,00",
        "2.210,00",
    ]
    trial = preview.context["trial"]
    assert trial.error == "" and trial.count == 3
    assert [(line.date, line.amount) for line in trial.lines] == [
        (D(2026, 3, 2), "1210.00"),
        (D(2026, 3, 5), "-45.30"),
        (D(2026, 3, 9), "-600.00"),
    ]
    assert (trial.opening, trial.closing) == ("1000.00", "1564.70")
    bank_account.refresh_from_db()
    assert bank_account.column_mapping == {}  # a preview saves nothing
    # Raw rows are shown even before the mapping is complete.
    sample = SimpleUploadedFile("movimientos.csv", csv_statement(CSV_ROWS))
    partial = client_logged.post(
        url, {**mapping_form(date=""), "action": "preview", "sample": sample}
    )
    assert partial.status_code == 200 and len(partial.context["preview_rows"]) == 4
    assert "trial" not in partial.context
    saved = client_logged.post(url, {**mapping_form(), "action": "save"})
    assert saved.status_code == 302 and saved["Location"] == f"{BASE}/accounts/{bank_account.pk}/"
    bank_account.refresh_from_db()
    mapping = bank_account.column_mapping
    assert {key: mapping[key] for key in CSV_MAPPING} == {
        **CSV_MAPPING,
        "description": ["Concepto"],
    }


def test_mapping_page_shows_errors_on_their_fields(
    client_logged: Client, bank_account: BankAccount
) -> None:
    url = f"{BASE}/accounts/{bank_account.pk}/mapping/"
    both = client_logged.post(url, {**mapping_form(debit="Cargo"), "action": "save"})
    assert both.status_code == 400
    assert both.context["form"].errors["amount"] == [
        "give either one amount column or debit and credit columns, not both"
    ]
    fmt = client_logged.post(url, {**mapping_form(date_format="dd/mm/yyyy"), "action": "save"})
    assert fmt.status_code == 400 and "date_format" in fmt.context["form"].errors
    bank_account.refresh_from_db()
    assert bank_account.column_mapping == {}


# --- reconciliation rules ---------------------------------------------------------------------


def test_rule_pages(client_logged: Client, company: Any, bank_account: BankAccount) -> None:
    fees = (
        Account.objects.for_company(company).filter(code="6260").first()
        or (Account.objects.for_company(company).filter(postable=True, code__startswith="6")[0])
    )
    created = client_logged.post(
        f"{BASE}/rules/add/",
        {
            "name": "Comisiones",
            "priority": "10",
            "bank_account": bank_account.pk,
            "text_contains": "COMISION",
            "direction": "out",
            "account": fees.pk,
            "entry_description": "Bank fees",
        },
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    rule = ReconciliationRule.objects.get()
    assert (rule.account, rule.bank_account, rule.direction) == (fees, bank_account, "out")
    assert shown(client_logged.get(f"{BASE}/rules/")) == {rule.pk}
    assert shown(client_logged.get(f"{BASE}/rules/?direction=in")) == set()
    detail = client_logged.get(f"{BASE}/rules/{rule.pk}/")
    assert detail.status_code == 200 and "COMISION" in detail.content.decode()
    empty = client_logged.post(
        f"{BASE}/rules/{rule.pk}/edit/",
        {
            "name": "X",
            "priority": "1",
            "text_contains": " ",
            "direction": "any",
            "account": fees.pk,
        },
    )
    assert empty.status_code == 400
    assert ReconciliationRule.objects.get().name == "Comisiones"
    assert client_logged.post(f"{BASE}/rules/{rule.pk}/delete/").status_code == 302
    assert not ReconciliationRule.objects.exists()


# --- import -----------------------------------------------------------------------------------


def test_import_page_small_file_in_the_request(
    client_logged: Client, bank_account: BankAccount
) -> None:
    page = client_logged.get(f"{BASE}/statements/import/?bank_account={bank_account.pk}")
    assert page.status_code == 200 and 'id="import-form"' in page.content.decode()
    assert page.context["form"].initial["bank_account"] == bank_account.pk
    done = client_logged.post(
        f"{BASE}/statements/import/",
        {"file": SimpleUploadedFile("march.xml", march_camt()), "bank_account": ""},
    )
    body = done.content.decode()
    assert done.status_code == 200, body[:2000]
    assert 'id="import-result" data-statements="1" data-lines="5"' in body
    assert "1 statement imported with 5 movements." in body
    assert [(t.currency, t.lines, t.money_in, t.money_out) for t in done.context["totals"]] == [
        ("EUR", 5, "1560.50", "646.29")
    ]
    assert f"{BASE}/reconcile/?account={bank_account.pk}" in body
    statement = Statement.objects.get()
    assert statement.filename == "march.xml" and statement.lines.count() == 5


def test_import_page_lists_the_problems_and_writes_nothing(
    client_logged: Client, bank_account: BankAccount, imported: Any
) -> None:
    before = row_counts()
    again = client_logged.post(
        f"{BASE}/statements/import/", {"file": SimpleUploadedFile("march.xml", march_camt())}
    )
    assert again.status_code == 400
    assert "<strong>file</strong>: This file was already imported" in again.content.decode()
    services.column_mapping_save(instance=bank_account, mapping=CSV_MAPPING)
    content = csv_statement(CSV_ROWS) + b"10/03/2026;10/03/2026;MAL;;abc;1,00\r\n"
    bad = client_logged.post(
        f"{BASE}/statements/import/",
        {"file": SimpleUploadedFile("x.csv", content), "bank_account": bank_account.pk},
    )
    assert bad.status_code == 400
    assert bad.context["errors"][0][0] == "line 5"
    assert "<strong>line 5</strong>: column Importe" in bad.content.decode()
    exe = client_logged.post(
        f"{BASE}/statements/import/", {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.4 x")}
    )
    assert exe.status_code == 400 and "are not bank statements" in exe.content.decode()
    renamed = client_logged.post(
        f"{BASE}/statements/import/", {"file": SimpleUploadedFile("x.txt", b"%PDF-1.4\n%\xe2\xe3")}
    )
    assert renamed.status_code == 400 and "looks like pdf" in renamed.content.decode()
    assert row_counts() == before


def test_import_page_big_file_goes_to_a_job(
    client_logged: Client,
    bank_account: BankAccount,
    company: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(statement_views, "SYNC_MAX_BYTES", 100)
    with django_capture_on_commit_callbacks(execute=True):
        started = client_logged.post(
            f"{BASE}/statements/import/",
            {
                "file": SimpleUploadedFile("march.xml", march_camt()),
                "bank_account": bank_account.pk,
            },
        )
    job = Job.objects.get(company=company, kind="banking.statement_import")
    assert started.status_code == 302 and started["Location"].endswith(f"/jobs/{job.pk}/")
    assert job.status == Job.Status.DONE, job.error
    assert job.message == "5 movements imported."
    assert job.params["bank_account"] == bank_account.pk
    assert Statement.objects.get().line_count == 5
    assert list((tmp_path / "media").rglob("*.xml")) == []  # the upload is removed
    with django_capture_on_commit_callbacks(execute=True):
        client_logged.post(
            f"{BASE}/statements/import/",
            {"file": SimpleUploadedFile("march.xml", march_camt())},
        )
    failed = Job.objects.filter(kind="banking.statement_import").latest("pk")
    assert failed.status == Job.Status.FAILED
    assert "file: This file was already imported" in failed.error
    assert Statement.objects.count() == 1


# --- statements and lines ---------------------------------------------------------------------


def test_statement_list_detail_and_delete(
    client_logged: Client, bank_account: BankAccount, imported: Any
) -> None:
    (statement,) = imported.statements
    listing = client_logged.get(f"{BASE}/statements/")
    body = listing.content.decode()
    assert listing.status_code == 200 and shown(listing) == {statement.pk}
    assert 'id="import-statement"' in body and 'id="add-object"' not in body
    assert shown(client_logged.get(f"{BASE}/statements/?bank_account={bank_account.pk}")) == {
        statement.pk
    }
    assert shown(client_logged.get(f"{BASE}/statements/?date_from=2026-04-01")) == set()
    detail = client_logged.get(f"{BASE}/statements/{statement.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200
    assert "1914.21 EUR" in body and 'id="statement-lines"' in body
    assert 'id="open-amount">914.21 EUR<' in body and 'id="edit-object"' not in body
    assert len(detail.context["lines_table"].rows) == 5
    assert client_logged.get(f"{BASE}/statements/{statement.pk}/edit/").status_code == 403
    assert client_logged.get(f"{BASE}/statements/add/").status_code == 403
    line = statement.lines.get(sequence=1)
    StatementLine.objects.filter(pk=line.pk).update(state="reconciled", open_amount=0)
    refused = client_logged.post(f"{BASE}/statements/{statement.pk}/delete/", follow=True)
    assert "undo those reconciliations first" in refused.content.decode()
    assert Statement.objects.exists()
    StatementLine.objects.filter(pk=line.pk).update(state="open", open_amount=line.amount)
    gone = client_logged.post(f"{BASE}/statements/{statement.pk}/delete/")
    assert gone.status_code == 302
    assert not Statement.objects.exists() and not StatementLine.objects.exists()


def test_line_list_filters(
    client_logged: Client, bank_account: BankAccount, imported: Any, make_bank_account: Any
) -> None:
    lines = {line.sequence: line.pk for line in StatementLine.objects.all()}
    url = f"{BASE}/statement-lines/"
    assert shown(client_logged.get(url)) == set(lines.values())
    assert shown(client_logged.get(url, {"q": "alquiler"})) == {lines[3]}
    assert shown(client_logged.get(url, {"q": "cliente uno"})) == {lines[1]}
    assert shown(client_logged.get(url, {"direction": "in"})) == {lines[1], lines[4]}
    assert shown(client_logged.get(url, {"date_from": "2026-03-05", "date_to": "2026-03-16"})) == {
        lines[2],
        lines[3],
        lines[4],
    }
    # Amounts as the bank shows them, money in or out; in the user's locale too.
    assert shown(client_logged.get(url, {"amount_min": "45.30", "amount_max": "600"})) == {
        lines[2],
        lines[3],
        lines[4],
    }
    assert shown(client_logged.get(url, {"amount_max": "1"})) == {lines[5]}
    assert shown(client_logged.get(url, {"amount_min": "1000"})) == {lines[1]}
    StatementLine.objects.filter(pk=lines[1]).update(state="reconciled", open_amount=0)
    assert shown(client_logged.get(url, {"state": "reconciled"})) == {lines[1]}
    assert lines[1] not in shown(client_logged.get(url, {"unreconciled": "true"}))
    other = make_bank_account(OTHER_IBAN, name="Otra")
    assert shown(client_logged.get(url, {"bank_account": other.pk})) == set()
    assert shown(client_logged.get(url, {"bank_account": bank_account.pk})) == set(lines.values())
    page = client_logged.get(url)
    assert 'id="add-object"' not in page.content.decode()
    assert 'id="bulk-delete"' not in page.content.decode()


def test_line_list_exports_exact_amounts(
    client_logged: Client, bank_account: BankAccount, imported: Any
) -> None:
    from openpyxl import load_workbook

    response = client_logged.get(f"{BASE}/statement-lines/?export=xlsx&sort=booking_date")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="statement-lines-')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    amount = header.index("Amount")
    assert [Decimal(str(row[amount])) for row in rows[1:]] == [
        Decimal("1210.00"),
        Decimal("-45.30"),
        Decimal("-600.00"),
        Decimal("350.50"),
        Decimal("-0.99"),
    ]
    csv = client_logged.get(f"{BASE}/statement-lines/?export=csv&direction=out&sort=booking_date")
    text = csv.content.decode("utf-8-sig").splitlines()
    assert len(text) == 4 and text[1].startswith("2026-03-05,")
    assert ",-45.30," in text[1]


def test_line_detail_shows_reconciliations_and_links_to_the_screen(
    client_logged: Client, bank_account: BankAccount, imported: Any
) -> None:
    line = StatementLine.objects.get(sequence=1)
    url = f"{BASE}/statement-lines/{line.pk}/"
    detail = client_logged.get(url)
    body = detail.content.decode()
    assert detail.status_code == 200
    assert f"{BASE}/reconcile/?line={line.pk}" in body and "Not reconciled yet." in body
    assert "1210.00 EUR" in body and 'id="edit-object"' not in body
    Reconciliation.objects.create(
        company=bank_account.company,
        line=line,
        kind=Reconciliation.Kind.ENTRY,
        amount=line.amount,
        reason="Regla: transferencias",
        automatic=True,
    )
    body = client_logged.get(url).content.decode()
    assert "Regla: transferencias" in body and "automatic" in body
    assert client_logged.get(f"{url}edit/").status_code == 403
    assert client_logged.post(f"{url}delete/").status_code == 403


def test_line_list_query_count_does_not_grow_with_rows(
    client_logged: Client,
    bank_account: BankAccount,
    imported: Any,
    django_assert_max_num_queries: Any,
) -> None:
    url = f"{BASE}/statement-lines/"
    client_logged.get(url)
    with django_assert_max_num_queries(40) as few:
        client_logged.get(url)
    services.statement_import(
        company=bank_account.company,
        content=march_camt(statement_id="OTHER", start=D(2026, 5, 1)).replace(b"BR-000", b"BR-900"),
    )
    assert StatementLine.objects.count() == 10
    with django_assert_max_num_queries(len(few.captured_queries)):
        client_logged.get(url)


# --- permissions ------------------------------------------------------------------------------


def test_who_may_open_what(
    login: Any,
    clerk: Any,
    outsider: Any,
    bank_account: BankAccount,
    imported: Any,
) -> None:
    (statement,) = imported.statements
    line = statement.lines.first()
    assert line is not None
    pages = [
        f"{BASE}/accounts/",
        f"{BASE}/accounts/{bank_account.pk}/",
        f"{BASE}/statements/",
        f"{BASE}/statements/{statement.pk}/",
        f"{BASE}/statement-lines/",
        f"{BASE}/statement-lines/{line.pk}/",
        f"{BASE}/rules/",
    ]
    client = login(outsider)
    for url in [*pages, f"{BASE}/statements/import/", f"{BASE}/accounts/add/"]:
        assert client.get(url).status_code == 403, url
    client = login(clerk)  # reads banking, changes nothing
    for url in pages:
        assert client.get(url).status_code == 200, url
    for url in (
        f"{BASE}/statements/import/",
        f"{BASE}/accounts/add/",
        f"{BASE}/accounts/{bank_account.pk}/mapping/",
        f"{BASE}/accounts/{bank_account.pk}/edit/",
    ):
        assert client.get(url).status_code == 403, url
    before = row_counts()
    posted = client.post(
        f"{BASE}/statements/import/", {"file": SimpleUploadedFile("m.xml", march_camt())}
    )
    assert posted.status_code == 403
    assert client.post(f"{BASE}/statements/{statement.pk}/delete/").status_code == 403
    assert row_counts() == before
    assert client.get(f"{BASE}/statements/?export=csv").status_code == 403  # no export right


def test_another_companys_records_answer_404(
    login: Any, make_user: Any, other_company: Any, bank_account: BankAccount, imported: Any
) -> None:
    stranger = make_user("otto", company=other_company, role="accountant")
    client = login(stranger)
    (statement,) = imported.statements
    assert client.get(f"/c/OTRA/banking/statements/{statement.pk}/").status_code == 404
    assert client.get(f"/c/OTRA/banking/accounts/{bank_account.pk}/").status_code == 404
    assert client.get(f"{BASE}/accounts/").status_code in (403, 404)

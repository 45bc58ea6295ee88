"""The banking REST API: bank accounts (with their column mapping and balances), rules,
statements (import all or nothing, idempotent; delete) and statement lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from trastienda.banking.models import BankAccount, ReconciliationRule, Statement, StatementLine
from trastienda.banking.tests.builders import (
    CSV_MAPPING,
    CSV_ROWS,
    MAIN_IBAN,
    OTHER_IBAN,
    csv_statement,
    march_camt,
)
from trastienda.banking.tests.conftest import Api, row_counts
from trastienda.core.models import Job
from trastienda.ledger.models import Account

pytestmark = pytest.mark.django_db
ACCOUNTS = "/api/v1/banking/accounts/"
RULES = "/api/v1/banking/rules/"
STATEMENTS = "/api/v1/banking/statements/"
LINES = "/api/v1/banking/statement-lines/"


def fields_of(response: Any) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"]["fields"])


# --- bank accounts ----------------------------------------------------------------------------


def test_bank_account_crud(api: Api, company: Any) -> None:
    created = api.post(ACCOUNTS, {"name": "Principal", "iban": "ES91 2100 0418 4502 0005 1332"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["iban"], body["bic"], body["currency"], body["journal"]) == (
        MAIN_IBAN,
        "CAIXESBB",
        "EUR",
        "BNK",
    )
    assert Account.objects.get(company=company, code=body["account"]).subtype == "bank"
    assert body["column_mapping"] == {} and "company" not in body
    url = f"{ACCOUNTS}{body['id']}/"
    assert api.get(url).json()["name"] == "Principal"
    changed = api.patch(url, {"name": "Main", "creditor_id": "ES11 000 B12345674"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["creditor_id"]) == ("Main", "ES11000B12345674")
    listing = api.get(ACCOUNTS, {"q": "2100 0418"})
    assert listing.status_code == 200 and [a["id"] for a in listing.json()["results"]] == [
        body["id"]
    ]
    assert api.delete(url).status_code == 204
    assert not BankAccount.objects.exists()


def test_bank_account_errors_name_the_fields_and_write_nothing(api: Api) -> None:
    before = row_counts()
    bad = api.post(ACCOUNTS, {"name": "", "iban": "ES00", "bic": "XX", "journal": "NOPE"})
    assert bad.status_code == 400
    found = fields_of(bad)
    assert "journal" in found  # unknown code: refused by the serializer first
    bad = api.post(ACCOUNTS, {"name": " ", "iban": "ES00"})
    assert fields_of(bad) == {"name": ["This field may not be blank."]}
    bad = api.post(ACCOUNTS, {"name": "X", "iban": "ES00", "bic": "XX", "creditor_id": "ES1"})
    assert bad.status_code == 400  # the service's checks, every field at once
    assert set(fields_of(bad)) == {"iban", "bic", "creditor_id"}
    assert row_counts() == before


def test_iban_cannot_change_after_an_import_nor_the_account_be_deleted(
    api: Api, bank_account: BankAccount, imported: Any
) -> None:
    url = f"{ACCOUNTS}{bank_account.pk}/"
    refused = api.patch(url, {"iban": OTHER_IBAN})
    assert refused.status_code == 400
    assert fields_of(refused) == {
        "iban": ["Statements were imported into this account: this cannot change."]
    }
    gone = api.delete(url)
    assert gone.status_code == 400
    assert "deactivate it instead" in gone.json()["error"]["message"]
    bank_account.refresh_from_db()
    assert bank_account.iban == MAIN_IBAN


def test_mapping_action(api: Api, bank_account: BankAccount) -> None:
    url = f"{ACCOUNTS}{bank_account.pk}/mapping/"
    assert api.get(url).json() == {}
    saved = api.put(url, CSV_MAPPING)
    assert saved.status_code == 200, saved.content
    assert saved.json()["description"] == ["Concepto"]
    assert api.get(url).json()["date_format"] == "%d/%m/%Y"
    bad = api.put(url, {"date": "Fecha", "amount": "Importe", "debit": "Cargo"})
    assert bad.status_code == 400
    assert fields_of(bad) == {
        "amount": ["give either one amount column or debit and credit columns, not both"]
    }
    unknown = api.put(url, {"date": "Fecha", "amount": "Importe", "colour": "red"})
    assert fields_of(unknown) == {"colour": ["unknown setting"]}
    bank_account.refresh_from_db()
    assert bank_account.column_mapping["amount"] == "Importe"


def test_balances_action(api: Api, bank_account: BankAccount, imported: Any) -> None:
    body = api.get(f"{ACCOUNTS}{bank_account.pk}/balances/").json()
    assert body == {
        "currency": "EUR",
        "statement": "1914.21",
        "statement_date": "2026-03-31",
        "ledger": "0.00",
        "ledger_at_statement": "0.00",
        "difference": "1914.21",
        "open_lines": 5,
        "open_amount": "914.21",
    }


# --- rules ------------------------------------------------------------------------------------


def test_rules_crud(api: Api, company: Any, bank_account: BankAccount) -> None:
    fees = Account.objects.for_company(company).filter(postable=True, code__startswith="626")[0]
    created = api.post(
        RULES,
        {
            "name": "Comisiones",
            "text_contains": "COMISION",
            "direction": "out",
            "account": fees.code,
            "bank_account": bank_account.pk,
            "priority": 5,
        },
    )
    assert created.status_code == 201, created.content
    rule = created.json()
    assert (rule["account"], rule["bank_account"], rule["auto_post"]) == (
        fees.code,
        bank_account.pk,
        False,
    )
    url = f"{RULES}{rule['id']}/"
    patched = api.patch(url, {"bank_account": None, "account": "129"})
    assert patched.status_code == 400
    assert "cannot take entries" in fields_of(patched)["account"][0]
    patched = api.patch(url, {"bank_account": None})
    assert patched.status_code == 200 and patched.json()["bank_account"] is None
    assert api.get(RULES, {"direction": "out"}).json()["count"] == 1
    assert api.delete(url).status_code == 204
    assert not ReconciliationRule.objects.exists()


def test_rule_with_another_companys_bank_account_is_refused(
    api: Api, company: Any, other_company: Any, make_bank_account: Any
) -> None:
    theirs = make_bank_account(OTHER_IBAN, company=other_company)
    fees = Account.objects.for_company(company).filter(postable=True, code__startswith="626")[0]
    refused = api.post(
        RULES,
        {"name": "X", "text_contains": "X", "account": fees.code, "bank_account": theirs.pk},
    )
    assert refused.status_code == 400 and "bank_account" in fields_of(refused)
    assert not ReconciliationRule.objects.exists()


# --- statements -------------------------------------------------------------------------------


def upload(name: str, content: bytes, **data: Any) -> dict[str, Any]:
    return {"file": SimpleUploadedFile(name, content), **data}


def test_import_returns_the_result(api: Api, bank_account: BankAccount) -> None:
    created = api.post(f"{STATEMENTS}import/", upload("march.xml", march_camt()), json=False)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["lines"], body["money_in"], body["money_out"]) == (
        5,
        {"EUR": "1560.50"},
        {"EUR": "646.29"},
    )
    (statement,) = body["statements"]
    assert statement["bank_account"] == bank_account.pk and statement["iban"] == MAIN_IBAN
    assert (statement["opening_balance"], statement["closing_balance"]) == ("1000.00", "1914.21")
    assert (statement["credit_total"], statement["debit_total"]) == ("1560.50", "646.29")
    assert statement["format"] == "camt.053" and statement["imported_by"] == "marta"
    listing = api.get(STATEMENTS, {"bank_account": bank_account.pk})
    assert listing.json()["count"] == 1
    one = api.get(f"{STATEMENTS}{statement['id']}/").json()
    assert one["line_count"] == 5


def test_import_csv_with_the_chosen_account_by_iban(api: Api, bank_account: BankAccount) -> None:
    api.put(f"{ACCOUNTS}{bank_account.pk}/mapping/", CSV_MAPPING)
    created = api.post(
        f"{STATEMENTS}import/",
        upload("m.csv", csv_statement(CSV_ROWS), bank_account="ES91 2100 0418 4502 0005 1332"),
        json=False,
    )
    assert created.status_code == 201, created.content
    assert created.json()["money_out"] == {"EUR": "645.30"}


def test_import_errors_by_line_and_nothing_written(api: Api, bank_account: BankAccount) -> None:
    api.put(f"{ACCOUNTS}{bank_account.pk}/mapping/", CSV_MAPPING)
    before = row_counts()
    content = csv_statement(CSV_ROWS) + b"10/03/2026;10/03/2026;MAL;;abc;1,00\r\n"
    refused = api.post(
        f"{STATEMENTS}import/",
        upload("m.csv", content, bank_account=bank_account.pk),
        json=False,
    )
    assert refused.status_code == 400
    found = fields_of(refused)
    assert list(found) == ["line 5"] and "column Importe" in found["line 5"][0]
    short = march_camt(closing="1914.20")
    refused = api.post(f"{STATEMENTS}import/", upload("m.xml", short), json=False)
    assert fields_of(refused) == {
        "file": [
            "The statement does not add up: opening balance 1000.00 + movements 914.21 = "
            "1914.21, but the closing balance is 1914.20 (a difference of 0.01)."
        ]
    }
    assert api.post(f"{STATEMENTS}import/", {}, json=False).status_code == 400
    exe = api.post(f"{STATEMENTS}import/", upload("x.exe", b"MZ\x90\x00"), json=False)
    assert exe.status_code == 400 and "file" in fields_of(exe)
    assert row_counts() == before


def test_import_is_idempotent_with_a_key(api: Api, bank_account: BankAccount) -> None:
    key = {"HTTP_IDEMPOTENCY_KEY": "import-march-1"}
    first = api.post(f"{STATEMENTS}import/", upload("m.xml", march_camt()), json=False, **key)
    assert first.status_code == 201
    again = api.post(f"{STATEMENTS}import/", upload("m.xml", march_camt()), json=False, **key)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Statement.objects.count() == 1
    without = api.post(f"{STATEMENTS}import/", upload("m.xml", march_camt()), json=False)
    assert without.status_code == 400  # the same file, no key: already imported


def test_import_in_the_background(
    api: Api,
    bank_account: BankAccount,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_capture_on_commit_callbacks(execute=True):
        accepted = api.post(
            f"{STATEMENTS}import/",
            upload("m.xml", march_camt(), background="true", bank_account=bank_account.pk),
            json=False,
        )
    assert accepted.status_code == 202, accepted.content
    job = Job.objects.get(pk=accepted.json()["job"])
    assert job.kind == "banking.statement_import" and job.status == Job.Status.DONE, job.error
    polled = api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert polled["status"] == "done" and polled["message"] == "5 movements imported."
    assert StatementLine.objects.count() == 5


def test_statement_delete(api: Api, bank_account: BankAccount, imported: Any) -> None:
    (statement,) = imported.statements
    url = f"{STATEMENTS}{statement.pk}/"
    line = statement.lines.get(sequence=1)
    StatementLine.objects.filter(pk=line.pk).update(state="reconciled", open_amount=0)
    refused = api.delete(url)
    assert refused.status_code == 400 and "undo those" in refused.json()["error"]["message"]
    StatementLine.objects.filter(pk=line.pk).update(state="open", open_amount=line.amount)
    assert api.delete(url).status_code == 204
    assert not Statement.objects.exists()
    assert api.put(url, {}).status_code == 405


# --- statement lines --------------------------------------------------------------------------


def test_statement_lines_with_filters(api: Api, bank_account: BankAccount, imported: Any) -> None:
    everything = api.get(LINES, {"ordering": "booking_date"}).json()
    assert everything["count"] == 5
    first = everything["results"][0]
    assert (first["amount"], first["open_amount"], first["currency"], first["state"]) == (
        "1210.00",
        "1210.00",
        "EUR",
        "open",
    )
    assert first["counterparty_iban"] == OTHER_IBAN and first["reconciliations"] == []

    def amounts(**query: Any) -> list[str]:
        body = api.get(LINES, {"ordering": "booking_date", **query}).json()
        return [line["amount"] for line in body["results"]]

    assert amounts(direction="out") == ["-45.30", "-600.00", "-0.99"]
    assert amounts(amount_min="45.30", amount_max="600.00") == ["-45.30", "-600.00", "350.50"]
    assert amounts(date_from="2026-03-16") == ["350.50", "-0.99"]
    assert amounts(q="alquiler") == ["-600.00"]
    assert amounts(state="reconciled") == []
    assert amounts(bank_account=bank_account.pk)[0] == "1210.00"
    assert api.get(LINES, {"amount_min": "1.5e999"}).status_code in (200, 400)
    one = api.get(f"{LINES}{first['id']}/")
    assert one.status_code == 200 and one.json()["description"] == "Factura F2026-00001"
    assert api.post(LINES, {}).status_code == 405


def test_line_list_query_count_does_not_grow(
    api: Api, bank_account: BankAccount, imported: Any, django_assert_max_num_queries: Any
) -> None:
    api.get(LINES)
    with django_assert_max_num_queries(20) as few:
        api.get(LINES)
    from trastienda.banking import services

    services.statement_import(
        company=bank_account.company,
        content=march_camt(statement_id="B", start=dt.date(2026, 5, 1)).replace(
            b"BR-000", b"BR-900"
        ),
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.get(LINES).json()["count"] == 10


# --- permissions and companies ----------------------------------------------------------------


def test_permissions(
    api: Api, clerk: Any, outsider: Any, bank_account: BankAccount, imported: Any
) -> None:
    (statement,) = imported.statements
    api.as_user(outsider)
    for url in (ACCOUNTS, RULES, STATEMENTS, LINES, f"{ACCOUNTS}{bank_account.pk}/mapping/"):
        assert api.get(url).status_code == 403, url
    api.as_user(clerk)
    assert api.get(STATEMENTS).status_code == 200
    assert api.get(f"{ACCOUNTS}{bank_account.pk}/balances/").status_code == 200
    before = row_counts()
    denied = api.post(f"{STATEMENTS}import/", upload("m.xml", march_camt()), json=False)
    assert denied.status_code == 403
    assert "banking.add_statement" in denied.json()["error"]["message"]
    assert api.delete(f"{STATEMENTS}{statement.pk}/").status_code == 403
    assert api.put(f"{ACCOUNTS}{bank_account.pk}/mapping/", CSV_MAPPING).status_code == 403
    assert api.post(ACCOUNTS, {"name": "X", "iban": OTHER_IBAN}).status_code == 403
    assert row_counts() == before


def test_another_companys_records_are_not_found(
    client: Any, make_user: Any, other_company: Any, bank_account: BankAccount, imported: Any
) -> None:
    stranger = make_user("otto", company=other_company, role="accountant")
    api = Api(client, other_company.code).as_user(stranger)
    (statement,) = imported.statements
    assert api.get(f"{STATEMENTS}{statement.pk}/").status_code == 404
    assert api.get(f"{ACCOUNTS}{bank_account.pk}/").status_code == 404
    assert api.get(LINES).json()["count"] == 0
    assert api.delete(f"{STATEMENTS}{statement.pk}/").status_code == 404
    refused = api.post(
        f"{STATEMENTS}import/",
        upload("m.xml", march_camt(), bank_account=bank_account.pk),
        json=False,
    )
    assert refused.status_code == 400
    assert fields_of(refused) == {"bank_account": ["Choose a bank account of this company."]}
    assert Statement.objects.count() == 1

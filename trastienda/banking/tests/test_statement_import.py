"""Statement import, all or nothing: real Norma 43 and MT940 files, a camt.053 and a CSV built
here, and every refusal (wrong account, balances that do not add up, the same file twice,
overlapping movements, broken XML, another currency) leaving nothing behind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from trastienda.audit.models import AuditEntry
from trastienda.banking import services
from trastienda.banking.formats import read_statement
from trastienda.banking.models import BankAccount, Reconciliation, Statement, StatementLine
from trastienda.banking.tests.builders import (
    CSV_MAPPING,
    CSV_ROWS,
    DATA,
    MAIN_IBAN,
    MT940_IBAN,
    NORMA43_IBAN,
    OTHER_IBAN,
    CamtStatement,
    Entry,
    camt053,
    csv_statement,
    march_camt,
    march_entries,
)
from trastienda.banking.tests.conftest import row_counts
from trastienda.core.money import Money

pytestmark = pytest.mark.django_db
D = dt.date


def refused(**kwargs: Any) -> dict[str, list[str]]:
    """Import and expect a refusal that writes nothing; the errors by key."""
    before = row_counts()
    with pytest.raises(ValidationError) as info:
        services.statement_import(**kwargs)
    assert row_counts() == before
    return info.value.message_dict


def lines_of(statement: Statement) -> list[tuple[Any, ...]]:
    return list(
        statement.lines.order_by("sequence").values_list(
            "sequence", "booking_date", "amount", "open_amount", "state"
        )
    )


# --- camt.053 ---------------------------------------------------------------------------------


def test_camt053_is_imported_with_exact_amounts(bank_account: BankAccount, accountant: Any) -> None:
    progress: list[tuple[int, int, str]] = []
    result = services.statement_import(
        company=bank_account.company,
        content=march_camt(),
        filename="march.xml",
        user=accountant,
        progress=lambda done, total, message: progress.append((done, total, message)),
    )
    (statement,) = result.statements
    assert result.lines == 5
    assert (result.money_in, result.money_out) == (156050, 64629)
    assert statement.bank_account == bank_account  # found by the IBAN in the file
    assert (statement.format, statement.reference, statement.filename) == (
        "camt.053",
        "STMT-2026-001",
        "march.xml",
    )
    assert (statement.start_date, statement.end_date) == (D(2026, 3, 1), D(2026, 3, 31))
    assert (statement.opening_balance, statement.closing_balance) == (100000, 191421)
    assert (statement.credit_total, statement.debit_total, statement.line_count) == (
        156050,
        64629,
        5,
    )
    assert 100000 + statement.credit_total - statement.debit_total == 191421
    assert statement.imported_by == accountant
    assert lines_of(statement) == [
        (1, D(2026, 3, 2), 121000, 121000, "open"),
        (2, D(2026, 3, 5), -4530, -4530, "open"),
        (3, D(2026, 3, 9), -60000, -60000, "open"),
        (4, D(2026, 3, 16), 35050, 35050, "open"),
        (5, D(2026, 3, 20), -99, -99, "open"),
    ]
    first = statement.lines.get(sequence=1)
    assert (first.description, first.reference, first.bank_reference) == (
        "Factura F2026-00001",
        "E2E-0001",
        "BR-0001",
    )
    assert (first.counterparty_name, first.counterparty_iban, first.currency) == (
        "Cliente Uno S.L.",
        OTHER_IBAN,
        "EUR",
    )
    assert len(set(statement.lines.values_list("fingerprint", flat=True))) == 5
    audit = AuditEntry.objects.get(object_type="banking.statementimport")
    assert audit.object_repr == "march.xml"
    assert progress[0][2] == "Reading the file" and progress[-1][:2] == (5, 5)


def test_camt053_with_two_statements_of_two_accounts(
    bank_account: BankAccount, make_bank_account: Any
) -> None:
    other = make_bank_account(OTHER_IBAN, name="Otra")
    content = camt053(
        CamtStatement(iban=MAIN_IBAN, entries=march_entries()[:2], statement_id="A"),
        CamtStatement(
            iban=OTHER_IBAN,
            entries=[Entry(D(2026, 3, 3), "99.99", "Ingreso", bank_reference="X1")],
            opening="0.00",
            statement_id="B",
        ),
    )
    result = services.statement_import(company=bank_account.company, content=content)
    assert [(s.bank_account, s.line_count, s.closing_balance) for s in result.statements] == [
        (bank_account, 2, 100000 + 121000 - 4530),
        (other, 1, 9999),
    ]


def valid_iban(text: str) -> bool:
    from schwifty import IBAN

    try:
        IBAN(text)
    except ValueError:
        return False
    return True


def sample_camt_files() -> list[Path]:
    """camt.053 samples copied into tests/data/camt/ whose statements name a valid IBAN and
    carry both balances, adding up."""
    folder = DATA / "camt"
    found = []
    for path in sorted(folder.rglob("*.xml")) if folder.is_dir() else []:
        try:
            statements = read_statement(path.read_bytes(), path.name)
        except Exception:  # noqa: S112 - samples that are no statements are other tests' concern
            continue
        if statements and all(
            s.format == "camt.053" and valid_iban(s.account_iban) and s.balance_difference() == 0
            for s in statements
        ):
            found.append(path)
    return found


@pytest.mark.parametrize(
    "path", sample_camt_files() or [None], ids=lambda p: getattr(p, "name", "none")
)
def test_real_camt053_samples_that_add_up(
    path: Path | None, company: Any, make_bank_account: Any
) -> None:
    if path is None:
        pytest.skip("no camt.053 sample in tests/data/camt/ adds up (the built one is tested)")
    statements = read_statement(path.read_bytes(), path.name)
    for iban in dict.fromkeys(parsed.account_iban for parsed in statements):
        currency = next(p.currency for p in statements if p.account_iban == iban)
        make_bank_account(iban, currency=currency)
    result = services.statement_import(
        company=company, content=path.read_bytes(), filename=path.name
    )
    assert result.lines == sum(len(parsed.lines) for parsed in statements)
    for stored, parsed in zip(result.statements, statements, strict=True):
        currency = stored.bank_account.currency
        movements = Money.from_decimal(parsed.movements_total(), currency).minor
        assert stored.credit_total - stored.debit_total == movements
        assert parsed.closing_balance is not None  # chosen for adding up
        assert stored.closing_balance == Money.from_decimal(parsed.closing_balance, currency).minor


CAMT_NO_BALANCES = DATA / "camt" / "camt053.v2.minimal.xml"
CAMT_SWISS = DATA / "camt" / "camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml"


@pytest.mark.skipif(not CAMT_NO_BALANCES.exists(), reason="sample not copied")
def test_real_camt053_without_a_closing_balance(company: Any, make_bank_account: Any) -> None:
    """Nothing to add up without both balances: the movements are imported as written."""
    account = make_bank_account("NL26VAYB8060476890", name="Van Lanschot")
    result = services.statement_import(
        company=company, content=CAMT_NO_BALANCES.read_bytes(), filename=CAMT_NO_BALANCES.name
    )
    (statement,) = result.statements
    assert statement.bank_account == account
    assert (statement.opening_balance, statement.closing_balance) == (1815, None)
    assert lines_of(statement) == [(1, D(2014, 12, 31), 885, 885, "open")]


@pytest.mark.skipif(not CAMT_SWISS.exists(), reason="sample not copied")
def test_real_camt053_that_does_not_add_up_is_refused(company: Any, make_bank_account: Any) -> None:
    make_bank_account("CH2909000000250094239", name="PostFinance", currency="CHF")
    errors = refused(company=company, content=CAMT_SWISS.read_bytes(), filename=CAMT_SWISS.name)
    assert errors == {
        "file": [
            "The statement does not add up: opening balance 211993.19 + movements 4656.02 = "
            "216649.21, but the closing balance is 215112.21 (a difference of 1537.00)."
        ]
    }


# --- Norma 43, MT940, CSV ---------------------------------------------------------------------


def test_norma43_real_file_detects_its_account(company: Any, make_bank_account: Any) -> None:
    account = make_bank_account(NORMA43_IBAN, name="Norma 43")
    content = (DATA / "norma43" / "movements.n43").read_bytes()
    result = services.statement_import(company=company, content=content, filename="m.n43")
    (statement,) = result.statements
    assert statement.bank_account == account and statement.format == "norma43"
    assert (statement.start_date, statement.end_date) == (D(2020, 2, 3), D(2020, 2, 10))
    assert (statement.opening_balance, statement.closing_balance) == (246343, 230159)
    assert (statement.credit_total, statement.debit_total) == (50000, 66184)
    assert statement.line_count == 16 == statement.lines.count()
    assert statement.lines.filter(amount__gt=0).count() == 1
    assert sum(statement.lines.values_list("amount", flat=True)) == 50000 - 66184


def test_mt940_real_file_in_its_own_currency(company: Any, make_bank_account: Any) -> None:
    account = make_bank_account(MT940_IBAN, name="mBank", currency="PLN")
    content = (DATA / "mt940" / "mBank" / "mt940.sta").read_bytes()
    result = services.statement_import(
        company=company, content=content, filename="mt940.sta", bank_account=account
    )
    (statement,) = result.statements
    assert statement.format == "mt940" and statement.reference == "ST170119CYC/1/1/1"
    assert (statement.opening_balance, statement.closing_balance) == (40, 43)
    assert lines_of(statement) == [
        (1, D(2017, 1, 19), 1, 1, "open"),
        (2, D(2017, 1, 19), 1, 1, "open"),
        (3, D(2017, 1, 19), 1, 1, "open"),
    ]
    assert set(statement.lines.values_list("currency", flat=True)) == {"PLN"}
    assert list(statement.lines.values_list("bank_reference", flat=True)) == [
        "MB170119012058",
        "MB170119012085",
        "MB170119012121",
    ]


def test_mt940_that_does_not_add_up_is_refused_naming_the_figures(
    company: Any, make_bank_account: Any
) -> None:
    make_bank_account(MT940_IBAN, name="mBank", currency="PLN")
    content = (DATA / "mt940" / "mBank" / "with_newline_in_tnr.sta").read_bytes()
    errors = refused(company=company, content=content, filename="bad.sta")
    assert errors == {
        "file": [
            "The statement does not add up: opening balance 0.46 + movements 89.00 = 89.46, "
            "but the closing balance is 860.17 (a difference of -770.71)."
        ]
    }


def test_mt940_account_number_inside_the_iban(company: Any, make_bank_account: Any) -> None:
    """The :25: of this file is bank code/account number: found inside a German IBAN."""
    account = make_bank_account("DE20123456781020304050", name="Sparkasse")
    content = (DATA / "mt940" / "self-provided" / "february_30.sta").read_bytes()
    result = services.statement_import(company=company, content=content, filename="f.sta")
    (statement,) = result.statements
    assert statement.bank_account == account
    assert (statement.opening_balance, statement.closing_balance, statement.debit_total) == (
        120000,
        119400,
        600,
    )


def test_csv_with_the_accounts_column_mapping(bank_account: BankAccount) -> None:
    services.column_mapping_save(instance=bank_account, mapping=CSV_MAPPING)
    content = csv_statement(CSV_ROWS, opening="1.000,00")
    result = services.statement_import(
        company=bank_account.company,
        content=content,
        filename="movimientos.csv",
        bank_account=bank_account,
    )
    (statement,) = result.statements
    assert statement.format == "csv"
    assert (statement.opening_balance, statement.closing_balance) == (100000, 156470)
    assert (statement.credit_total, statement.debit_total) == (121000, 64530)
    assert lines_of(statement) == [
        (1, D(2026, 3, 2), 121000, 121000, "open"),
        (2, D(2026, 3, 5), -4530, -4530, "open"),
        (3, D(2026, 3, 9), -60000, -60000, "open"),
    ]
    first = statement.lines.get(sequence=1)
    assert (first.description, first.reference, first.value_date) == (
        "TRANSFERENCIA CLIENTE UNO",
        "F2026-00001",
        D(2026, 3, 2),
    )


def test_csv_without_a_mapping_or_account_is_refused(bank_account: BankAccount) -> None:
    content = csv_statement(CSV_ROWS)
    errors = refused(
        company=bank_account.company, content=content, filename="x.csv", bank_account=bank_account
    )
    assert errors == {"file": ["this file needs a column mapping"]}
    services.column_mapping_save(instance=bank_account, mapping=CSV_MAPPING)
    errors = refused(company=bank_account.company, content=content, filename="x.csv")
    assert errors == {"file": ["this file needs a column mapping"]}


def test_csv_bad_cell_is_refused_naming_its_line(bank_account: BankAccount) -> None:
    services.column_mapping_save(instance=bank_account, mapping=CSV_MAPPING)
    rows = [*CSV_ROWS[:2], ("31/02/2026", "-1,00", "FECHA IMPOSIBLE", "")]
    errors = refused(
        company=bank_account.company,
        content=csv_statement(rows),
        filename="x.csv",
        bank_account=bank_account.pk,
    )
    assert list(errors) == ["line 4"]
    assert "'31/02/2026' is not a date in the format %d/%m/%Y" in errors["line 4"][0]


# --- refusals ---------------------------------------------------------------------------------


def test_a_file_of_another_account_is_refused(
    bank_account: BankAccount, make_bank_account: Any
) -> None:
    make_bank_account(OTHER_IBAN, name="Otra")
    errors = refused(
        company=bank_account.company,
        content=march_camt(OTHER_IBAN),
        bank_account=bank_account,
    )
    assert errors == {"file": [f"The file is of the account {OTHER_IBAN}, not of {MAIN_IBAN}."]}


def test_a_file_of_an_unknown_account_is_refused(bank_account: BankAccount) -> None:
    unknown = "ES9321000813600123456780"
    errors = refused(company=bank_account.company, content=march_camt(unknown))
    assert errors == {
        "file": [f"No bank account of this company has the IBAN or number {unknown}."]
    }


def test_another_companys_bank_account_cannot_be_chosen(
    bank_account: BankAccount, other_company: Any
) -> None:
    errors = refused(company=other_company, content=march_camt(), bank_account=bank_account.pk)
    assert errors == {"bank_account": ["Choose a bank account of this company."]}


def test_a_statement_that_does_not_add_up_is_refused(bank_account: BankAccount) -> None:
    content = march_camt(closing="1914.20")  # one cent short
    errors = refused(company=bank_account.company, content=content)
    assert errors == {
        "file": [
            "The statement does not add up: opening balance 1000.00 + movements 914.21 = "
            "1914.21, but the closing balance is 1914.20 (a difference of 0.01)."
        ]
    }


def test_the_same_file_twice_is_refused(bank_account: BankAccount, imported: Any) -> None:
    (first,) = imported.statements
    errors = refused(company=bank_account.company, content=march_camt(), filename="again.xml")
    assert list(errors) == ["file"]
    assert errors["file"][0].startswith("This file was already imported on ")
    assert errors["file"][0].endswith(f"(statement {first.pk}).")


def test_overlapping_movements_are_refused(bank_account: BankAccount, imported: Any) -> None:
    april = [
        march_entries()[-1],  # already imported with the March file
        Entry(D(2026, 4, 2), "10.00", "Abril", bank_reference="BR-0101"),
    ]
    content = camt053(
        CamtStatement(
            iban=MAIN_IBAN,
            entries=april,
            opening="1914.21",
            statement_id="STMT-2026-002",
            start=D(2026, 3, 20),
            end=D(2026, 4, 30),
        )
    )
    errors = refused(company=bank_account.company, content=content)
    assert errors == {
        "file": [
            "1 movement was already imported (the first on 2026-03-20, -0.99): the file "
            "overlaps a statement imported before."
        ]
    }


def test_malformed_xml_is_refused(bank_account: BankAccount) -> None:
    content = march_camt().replace(b"</Stmt>", b"</Stmnt>")
    errors = refused(company=bank_account.company, content=content, filename="broken.xml")
    (key,) = errors
    assert key == "file" or key.startswith("line ")
    assert errors[key]


def test_unrecognised_content_is_refused(bank_account: BankAccount) -> None:
    errors = refused(company=bank_account.company, content=b"\x00\x01\x02binary", filename="x")
    assert errors == {"file": ["unrecognised statement format"]}


def test_a_statement_in_another_currency_is_refused(bank_account: BankAccount) -> None:
    errors = refused(company=bank_account.company, content=march_camt(currency="USD"))
    assert errors == {"file": ["The statement is in USD, the account in EUR."]}


def test_one_bad_statement_refuses_the_whole_file(
    bank_account: BankAccount, make_bank_account: Any
) -> None:
    content = camt053(
        CamtStatement(iban=MAIN_IBAN, entries=march_entries(), statement_id="A"),
        CamtStatement(iban=OTHER_IBAN, entries=march_entries()[:1], statement_id="B"),
    )
    errors = refused(company=bank_account.company, content=content)
    assert errors == {
        "statement 2": [f"No bank account of this company has the IBAN or number {OTHER_IBAN}."]
    }


# --- deleting a statement ---------------------------------------------------------------------


def test_statement_delete_while_nothing_is_reconciled(
    bank_account: BankAccount, imported: Any
) -> None:
    (statement,) = imported.statements
    services.statement_delete(instance=statement)
    assert not Statement.objects.exists() and not StatementLine.objects.exists()
    again = services.statement_import(company=bank_account.company, content=march_camt())
    assert again.lines == 5  # the movements can be imported again


def test_statement_delete_is_refused_once_a_line_is_reconciled(
    bank_account: BankAccount, imported: Any
) -> None:
    (statement,) = imported.statements
    line = statement.lines.get(sequence=1)
    StatementLine.objects.filter(pk=line.pk).update(open_amount=0, state="reconciled")
    with pytest.raises(ValidationError) as info:
        services.statement_delete(instance=statement)
    assert info.value.messages == [
        "Some lines of this statement are reconciled: undo those reconciliations first."
    ]
    StatementLine.objects.filter(pk=line.pk).update(open_amount=line.amount, state="open")
    Reconciliation.objects.create(
        company=bank_account.company,
        line=line,
        kind=Reconciliation.Kind.ENTRY,
        state=Reconciliation.State.UNDONE,
        amount=line.amount,
    )
    with pytest.raises(ValidationError) as info:
        services.statement_delete(instance=statement)
    assert info.value.messages == [
        "Some lines of this statement were reconciled once: the statement stays."
    ]
    assert StatementLine.objects.filter(statement=statement).count() == 5

"""Bank accounts and reconciliation rules: the services (IBAN/BIC checks, the automatic ledger
account, the creditor id, what cannot change once statements are imported) and the rules'."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from trastienda.banking import rules, services
from trastienda.banking.models import BankAccount, ReconciliationRule
from trastienda.banking.tests.builders import (
    CREDITOR_ID,
    MAIN_IBAN,
    OTHER_IBAN,
    SPARE_IBANS,
    THIRD_IBAN,
)
from trastienda.banking.tests.conftest import row_counts
from trastienda.ledger.models import Account, AccountSubtype, AccountType, Journal

pytestmark = pytest.mark.django_db


def errors_of(info: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return info.value.message_dict


def test_create_stores_the_iban_compact_and_finds_the_bic(company: Any) -> None:
    account = services.bank_account_create(
        company=company, name="Cuenta principal", iban="es91 2100 0418 4502 0005 1332"
    )
    assert account.iban == MAIN_IBAN
    assert account.bic == "CAIXESBB"
    assert account.currency == "EUR"
    assert account.journal.type == Journal.Type.BANK
    assert account.account.subtype == AccountSubtype.BANK
    assert account.account.postable and account.account.type == AccountType.ASSET
    assert str(account) == f"Cuenta principal · {MAIN_IBAN}"


def test_each_account_gets_its_own_ledger_account_then_a_new_one(company: Any) -> None:
    """The chart's postable bank accounts are taken in code order (5720, 573, 574, 575 in
    the Spanish chart); when every one is used, a sibling of the first is created (5721)."""
    bank_accounts = Account.objects.for_company(company).filter(
        subtype=AccountSubtype.BANK, postable=True
    )
    chart = list(bank_accounts.order_by("code").values_list("code", flat=True))
    made = [
        services.bank_account_create(company=company, name=f"Cuenta {n}", iban=iban)
        for n, iban in enumerate(SPARE_IBANS[: len(chart)], start=1)
    ]
    assert [account.account.code for account in made] == chart
    extra = services.bank_account_create(company=company, name="Una más", iban=MAIN_IBAN)
    first = made[0].account
    assert extra.account.code == f"{int(first.code) + 1}"
    assert extra.account.parent_id == first.parent_id
    assert extra.account.subtype == AccountSubtype.BANK and extra.account.reconcilable
    assert bank_accounts.count() == len(chart) + 1


def test_a_chosen_ledger_account_and_journal_by_code(company: Any) -> None:
    ledger = services.bank_account_create(company=company, name="Uno", iban=MAIN_IBAN).account
    services.bank_account_delete(instance=BankAccount.objects.get())
    account = services.bank_account_create(
        company=company, name="Otra", iban=OTHER_IBAN, account=ledger.code, journal="BNK"
    )
    assert account.account == ledger and account.journal.code == "BNK"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"iban": "ES9121000418450200051333"}, "iban", "is not a valid IBAN"),
        ({"iban": ""}, "iban", "Enter the IBAN."),
        ({"bic": "NOTABIC"}, "bic", "is not a valid BIC"),
        ({"name": "  "}, "name", "Enter a name."),
        ({"currency": "XXZ"}, "currency", "Unknown currency XXZ."),
        ({"creditor_id": "ES12000B12345674"}, "creditor_id", "check digits"),
        ({"creditor_id": "12345"}, "creditor_id", "ES12000B12345678"),
        ({"journal": "SAL"}, "journal", "Choose a bank journal of this company."),
        ({"account": "7000000"}, "account", "Choose"),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_create_refuses_bad_values_naming_the_field(
    company: Any, fields: dict[str, str], field: str, message: str
) -> None:
    before = row_counts()
    data = {"name": "Cuenta", "iban": MAIN_IBAN, **fields}
    with pytest.raises(ValidationError) as info:
        services.bank_account_create(company=company, **data)
    assert field in errors_of(info)
    assert any(message in text for text in errors_of(info)[field]), errors_of(info)
    assert row_counts() == before


def test_non_asset_and_foreign_ledger_accounts_are_refused(
    company: Any, other_company: Any
) -> None:
    income = Account.objects.for_company(company).filter(type=AccountType.INCOME, postable=True)[0]
    with pytest.raises(ValidationError) as info:
        services.bank_account_create(company=company, name="X", iban=MAIN_IBAN, account=income)
    assert errors_of(info)["account"] == ["Choose an active, postable asset account."]
    theirs = Account.objects.for_company(other_company).filter(subtype=AccountSubtype.BANK)[0]
    with pytest.raises(ValidationError) as info:
        services.bank_account_create(company=company, name="X", iban=MAIN_IBAN, account=theirs)
    assert errors_of(info)["account"] == ["Choose a ledger account of this company."]
    assert not BankAccount.objects.exists()


def test_the_iban_is_unique_in_a_company_not_across_companies(
    company: Any, other_company: Any
) -> None:
    services.bank_account_create(company=company, name="Uno", iban=MAIN_IBAN)
    with pytest.raises(ValidationError) as info:
        services.bank_account_create(company=company, name="Dos", iban=MAIN_IBAN.lower())
    assert errors_of(info) == {"iban": ["The company already has a bank account with this IBAN."]}
    services.bank_account_create(company=other_company, name="Suya", iban=MAIN_IBAN)
    assert BankAccount.objects.filter(iban=MAIN_IBAN).count() == 2


def test_a_valid_creditor_id_is_stored_compact(company: Any) -> None:
    account = services.bank_account_create(
        company=company, name="Cobros", iban=MAIN_IBAN, creditor_id="es11-000 b12345674"
    )
    assert account.creditor_id == CREDITOR_ID


def test_update_changes_fields_and_keeps_the_iban_unique(
    company: Any, bank_account: BankAccount, make_bank_account: Any
) -> None:
    other = make_bank_account(OTHER_IBAN, name="Otra")
    updated = services.bank_account_update(
        instance=bank_account, name="Principal", bank_name="CaixaBank", active=False
    )
    assert (updated.name, updated.bank_name, updated.active) == ("Principal", "CaixaBank", False)
    with pytest.raises(ValidationError) as info:
        services.bank_account_update(instance=other, iban=MAIN_IBAN)
    assert "iban" in errors_of(info)
    other.refresh_from_db()
    assert other.iban == OTHER_IBAN
    services.bank_account_update(instance=other, iban="es93 2100 0813 6001 2345 6780")
    other.refresh_from_db()
    assert other.iban == "ES9321000813600123456780"


def test_iban_currency_and_ledger_account_are_fixed_once_statements_are_imported(
    bank_account: BankAccount, imported: Any, make_bank_account: Any
) -> None:
    spare = Account.objects.for_company(bank_account.company).filter(subtype=AccountSubtype.BANK)
    other_ledger = make_bank_account(OTHER_IBAN).account
    for change in ({"iban": THIRD_IBAN}, {"currency": "USD"}, {"account": other_ledger}):
        with pytest.raises(ValidationError) as info:
            services.bank_account_update(instance=bank_account, **change)
        (field,) = change
        assert errors_of(info)[field] == [
            "Statements were imported into this account: this cannot change."
        ]
    bank_account.refresh_from_db()
    assert bank_account.iban == MAIN_IBAN and bank_account.currency == "EUR"
    services.bank_account_update(instance=bank_account, name="Renamed", bic="CAIXESBBXXX")
    bank_account.refresh_from_db()
    assert bank_account.name == "Renamed" and bank_account.bic == "CAIXESBBXXX"
    assert spare.exists()


def test_delete_is_refused_once_statements_are_imported(
    bank_account: BankAccount, imported: Any
) -> None:
    with pytest.raises(ValidationError) as info:
        services.bank_account_delete(instance=bank_account)
    assert info.value.messages == [
        "Statements were imported into this account: deactivate it instead."
    ]
    assert BankAccount.objects.filter(pk=bank_account.pk).exists()


def test_delete_without_statements(bank_account: BankAccount) -> None:
    services.bank_account_delete(instance=bank_account)
    assert not BankAccount.objects.exists()


def test_column_mapping_save_validates_then_stores_the_json_form(
    bank_account: BankAccount,
) -> None:
    services.column_mapping_save(
        instance=bank_account,
        mapping={"date": "Fecha", "amount": 5, "description": "Concepto", "skip_rows": 2},
    )
    bank_account.refresh_from_db()
    saved = bank_account.column_mapping
    assert saved["date"] == "Fecha" and saved["amount"] == "5"
    assert saved["description"] == ["Concepto"] and saved["skip_rows"] == 2
    with pytest.raises(ValidationError) as info:
        services.column_mapping_save(
            instance=bank_account, mapping={"date": "Fecha", "amount": "A", "debit": "B"}
        )
    assert {"amount", "debit"} & set(errors_of(info))
    bank_account.refresh_from_db()
    assert bank_account.column_mapping == saved


# --- reconciliation rules ---------------------------------------------------------------------


def expense(company: Any, code: str = "6260") -> Account:
    found = (
        Account.objects.for_company(company)
        .filter(code__startswith=code, postable=True, active=True)
        .order_by("code")
        .first()
    )
    assert found is not None, code
    return found


def test_rule_create_update_delete(company: Any, bank_account: BankAccount) -> None:
    fees = expense(company)
    rule = rules.rule_create(
        company=company,
        name="Bank fees",
        text_contains="  COMISION ",
        direction="out",
        account=fees.code,
        bank_account=bank_account.pk,
        auto_post=True,
        priority="10",
    )
    assert (rule.text_contains, rule.account, rule.bank_account) == ("COMISION", fees, bank_account)
    assert (rule.priority, rule.auto_post, rule.active) == (10, True, True)
    updated = rules.rule_update(instance=rule, name="Fees", bank_account=None)
    assert updated.name == "Fees" and updated.bank_account is None
    assert updated.text_contains == "COMISION" and updated.priority == 10
    rules.rule_delete(instance=updated)
    assert not ReconciliationRule.objects.exists()


def test_rule_validation_names_each_field(
    company: Any, other_company: Any, make_bank_account: Any
) -> None:
    theirs = make_bank_account(OTHER_IBAN, company=other_company)
    heading = Account.objects.for_company(company).filter(postable=False).first()
    with pytest.raises(ValidationError) as info:
        rules.rule_create(
            company=company,
            name="",
            text_contains=" ",
            direction="sideways",
            account=heading,
            bank_account=theirs,
            priority=-1,
        )
    found = errors_of(info)
    assert set(found) == {
        "name",
        "text_contains",
        "direction",
        "account",
        "bank_account",
        "priority",
    }
    assert "cannot take entries" in found["account"][0]
    assert found["bank_account"] == ["Choose a bank account of this company."]
    with pytest.raises(ValidationError) as info:
        rules.rule_create(
            company=company,
            name="X",
            text_contains="X",
            account=Account.objects.for_company(other_company).filter(postable=True)[0],
        )
    assert errors_of(info) == {"account": ["Choose an account of this company."]}
    with pytest.raises(ValidationError) as info:
        rules.rule_create(company=company, name="X", text_contains="X", colour="red")
    assert errors_of(info) == {"colour": ["Unknown field."]}
    assert not ReconciliationRule.objects.exists()


def test_rule_refuses_an_inactive_account(company: Any) -> None:
    fees = expense(company)
    Account.objects.filter(pk=fees.pk).update(active=False)
    with pytest.raises(ValidationError) as info:
        rules.rule_create(company=company, name="X", text_contains="X", account=fees)
    assert "cannot take entries" in errors_of(info)["account"][0]


# --- balances ---------------------------------------------------------------------------------


def test_balances_per_statement_and_per_ledger(bank_account: BankAccount, imported: Any) -> None:
    from trastienda.banking.account_queries import balances
    from trastienda.ledger.services import entry_create_posted, fiscal_year_create

    company = bank_account.company
    fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )
    capital = Account.objects.for_company(company).filter(type=AccountType.EQUITY, postable=True)[0]

    def post(day: dt.date, amount: str) -> None:
        entry_create_posted(
            company=company,
            journal=bank_account.journal,
            date=day,
            lines=[
                {"account": bank_account.account, "debit": Decimal(amount)},
                {"account": capital, "credit": Decimal(amount)},
            ],
        )

    post(dt.date(2026, 3, 10), "1500.00")
    post(dt.date(2026, 3, 31), "0.21")
    post(dt.date(2026, 4, 15), "100.00")
    found = balances(bank_account, today=dt.date(2026, 12, 31))
    assert (found.statement, found.statement_date) == (191421, dt.date(2026, 3, 31))
    assert (found.ledger_at_statement, found.ledger_today) == (150021, 160021)
    assert found.difference == 191421 - 150021
    assert (found.open_lines, found.open_amount) == (5, 91421)
    assert balances(bank_account, today=dt.date(2026, 4, 14)).ledger_today == 150021

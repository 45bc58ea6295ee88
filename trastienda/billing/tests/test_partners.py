"""Billing's reference data: partners (tax ids, duplicates, contacts, bank accounts), products,
payment terms, taxes, invoice series and settings — services, import, pages, API, CLI."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from trastienda.audit.models import AuditEntry
from trastienda.billing import partner_imports
from trastienda.billing import partners as services
from trastienda.billing.models import (
    BillingSettings,
    Invoice,
    InvoiceLine,
    Partner,
    PartnerBankAccount,
    PartnerContact,
    PaymentTerm,
    Product,
    Tax,
)
from trastienda.core.models import Job
from trastienda.ledger.models import Account, Journal

PARTNERS = "/c/ACME/billing/partners/"
IMPORT = "/c/ACME/billing/partners/import/"
API = "/api/v1/billing/"


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Partner, PartnerContact, PartnerBankAccount, Product, PaymentTerm, Tax)
    }


def account(company: Any, code: str) -> Account:
    return Account.objects.get(company=company, code=code)


def error_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- tax ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "typed", "stored"),
    [
        ("ES", "12345678-Z", "12345678Z"),  # NIF (DNI)
        ("ES", "ES B-1234567-4", "B12345674"),  # CIF, with the EU prefix
        ("ES", "x1234567l", "X1234567L"),  # NIE
        ("IT", "IT 00743110157", "00743110157"),  # partita IVA
        ("IT", "rssmra85t10a562s", "RSSMRA85T10A562S"),  # codice fiscale
        ("DE", "DE 136 695 976", "DE136695976"),  # EU VAT number
        ("FR", "40303265045", "FR40303265045"),  # EU VAT number without its prefix
        ("US", "12-3456789", "123456789"),  # outside the EU: any id, compacted
    ],
)
def test_valid_tax_ids_are_stored_compact(
    company: Any, country: str, typed: str, stored: str
) -> None:
    partner = services.partner_create(
        company=company, code="C1", legal_name="Cliente", country=country, tax_id=typed
    )
    assert partner.tax_id == stored
    assert Partner.objects.get(pk=partner.pk).tax_id == stored


@pytest.mark.parametrize(
    ("country", "typed"),
    [
        ("ES", "12345678A"),  # wrong NIF letter
        ("ES", "B12345675"),  # wrong CIF check digit
        ("ES", "X1234567A"),  # wrong NIE letter
        ("IT", "00743110158"),  # wrong partita IVA check digit
        ("IT", "RSSMRA85T10A562X"),  # wrong codice fiscale check character
        ("DE", "DE136695977"),  # wrong EU VAT check digit
    ],
)
def test_invalid_tax_ids_are_refused_and_nothing_written(
    company: Any, country: str, typed: str
) -> None:
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.partner_create(
            company=company, code="C1", legal_name="Cliente", country=country, tax_id=typed
        )
    assert list(error_of(exc)) == ["tax_id"]
    assert "is not a valid tax id" in error_of(exc)["tax_id"][0]
    assert counts() == before


def test_tax_id_required_for_suppliers_and_for_spain_and_italy(company: Any) -> None:
    for country in ("ES", "IT"):
        with pytest.raises(ValidationError) as exc:
            services.partner_create(
                company=company, code=f"C{country}", legal_name="X", country=country
            )
        assert error_of(exc) == {
            "tax_id": [f"Enter the tax id: it is required for partners in {country}."]
        }
    with pytest.raises(ValidationError) as exc:
        services.partner_create(
            company=company,
            code="S1",
            legal_name="Supplier",
            country="FR",
            is_customer=False,
            is_supplier=True,
        )
    assert error_of(exc) == {"tax_id": ["Enter the tax id: it is required for suppliers."]}
    customer = services.partner_create(
        company=company, code="FR1", legal_name="Client privé", country="fr"
    )
    assert (customer.country, customer.tax_id) == ("FR", "")


def test_country_must_be_iso_3166(company: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.partner_create(company=company, code="X", legal_name="X", country="XX")
    assert error_of(exc) == {
        "country": ["Enter a two-letter ISO 3166 country code, such as ES, IT or DE."]
    }


def test_partner_needs_a_role_code_and_name(company: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        services.partner_create(
            company=company, code=" ", legal_name="", tax_id="12345678Z", is_customer=False
        )
    assert set(error_of(exc)) == {"code", "legal_name", "is_customer"}


# --- duplicates -----------------------------------------------------------------------------------


def test_the_same_tax_id_twice_is_refused_naming_the_first_partner(
    company: Any, make_partner: Callable[..., Partner]
) -> None:
    first = make_partner("C0001", legal_name="Uno S.L.", tax_id="B12345674")
    with pytest.raises(ValidationError) as exc:
        services.partner_create(
            company=company, code="C0002", legal_name="Dos", tax_id="ES-B12345674"
        )
    assert error_of(exc) == {
        "tax_id": ["B12345674 is already the tax id of partner C0001 (Uno S.L.)."]
    }
    second = make_partner("C0002", tax_id="12345678Z")
    with pytest.raises(ValidationError) as exc:
        services.partner_update(instance=second, tax_id="b12345674")
    assert "partner C0001" in error_of(exc)["tax_id"][0]
    assert Partner.objects.get(pk=second.pk).tax_id == "12345678Z"
    # A partner keeps its own tax id when other fields change.
    services.partner_update(instance=first, city="Madrid")


def test_the_same_code_twice_is_refused(make_partner: Callable[..., Partner]) -> None:
    make_partner("C0001")
    with pytest.raises(ValidationError) as exc:
        make_partner("C0001")
    assert error_of(exc) == {"code": ["A partner with the code C0001 already exists."]}


def test_possible_duplicates_by_normalised_name(
    company: Any, other_company: Any, make_partner: Callable[..., Partner]
) -> None:
    acme = make_partner("C1", legal_name="Acme Ibérica, S.L.")
    twin = make_partner("C2", legal_name="ACME IBERICA SL")
    by_trade_name = make_partner("C3", legal_name="Otra S.A.", trade_name="Acme Iberica")
    make_partner("C4", legal_name="Acme Ibérica Norte S.L.")
    make_partner(
        "C1",
        company=other_company,
        legal_name="Acme Ibérica S.L.",
        country="IT",
        tax_id="00743110157",
    )
    assert services.name_key("Acme Ibérica, S.L.") == "acme iberica"
    assert services.partner_possible_duplicates(partner=acme) == [twin, by_trade_name]
    assert services.partner_possible_duplicates(partner=twin) == [acme, by_trade_name]


# --- contacts and bank accounts -------------------------------------------------------------------


def test_partner_with_contacts_and_bank_accounts(company: Any) -> None:
    partner = services.partner_create(
        company=company,
        code="C1",
        legal_name="Cliente",
        tax_id="B12345674",
        contacts=[{"name": "Ana", "email": "ana@example.es", "receives_invoices": True}],
        bank_accounts=[
            {"iban": "es91 2100 0418 4502 0005 1332"},
            {"iban": "DE89370400440532013000", "bic": "cobadeffxxx"},
        ],
    )
    accounts = list(partner.bank_accounts.order_by("id"))
    assert [(a.iban, a.bic, a.is_default) for a in accounts] == [
        ("ES9121000418450200051332", "CAIXESBB", True),  # the BIC from the IBAN's bank
        ("DE89370400440532013000", "COBADEFFXXX", False),
    ]
    assert [c.name for c in partner.contacts.all()] == ["Ana"]
    # The complete new lists: one kept (by id) and changed, one added, the others deleted.
    ana = partner.contacts.get()
    services.partner_update(
        instance=partner,
        contacts=[{"id": ana.pk, "name": "Ana García"}, {"name": "Luis", "role": "CFO"}],
        bank_accounts=[{"id": accounts[1].pk, "iban": accounts[1].iban, "is_default": True}],
    )
    assert sorted(partner.contacts.values_list("name", flat=True)) == ["Ana García", "Luis"]
    assert list(partner.bank_accounts.values_list("iban", "is_default")) == [
        ("DE89370400440532013000", True)
    ]


def test_invalid_iban_is_refused_and_nothing_written(company: Any) -> None:
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.partner_create(
            company=company,
            code="C1",
            legal_name="Cliente",
            tax_id="B12345674",
            bank_accounts=[
                {"iban": "ES9121000418450200051332"},
                {"iban": "ES9121000418450200051333"},
            ],
        )
    assert list(error_of(exc)) == ["bank_accounts.1.iban"]
    assert "is not a valid IBAN" in error_of(exc)["bank_accounts.1.iban"][0]
    assert counts() == before
    partner = services.partner_create(
        company=company, code="C1", legal_name="Cliente", tax_id="B12345674"
    )
    with pytest.raises(ValidationError) as exc:
        services.bank_account_create(partner=partner, iban="GB00 NWBK 6016 1331 9268 19")
    assert list(error_of(exc)) == ["iban"]
    with pytest.raises(ValidationError) as exc:
        services.bank_account_create(partner=partner, iban="GB29NWBK60161331926819", bic="NOPE")
    assert list(error_of(exc)) == ["bic"]
    assert not partner.bank_accounts.exists()


def test_one_default_bank_account(make_partner: Callable[..., Partner]) -> None:
    partner = make_partner()
    first = services.bank_account_create(partner=partner, iban="ES9121000418450200051332")
    second = services.bank_account_create(partner=partner, iban="DE89370400440532013000")
    assert (first.is_default, second.is_default) == (True, False)  # the first is the default
    third = services.bank_account_create(
        partner=partner, iban="IT60X0542811101000000123456", is_default=True
    )
    assert list(partner.bank_accounts.filter(is_default=True)) == [third]
    with pytest.raises(ValidationError) as exc:
        services.bank_account_create(partner=partner, iban="IT60 X054 2811 1010 0000 0123 456")
    assert error_of(exc) == {"iban": ["The partner already has this IBAN."]}
    services.bank_account_update(instance=second, is_default=True)
    assert list(partner.bank_accounts.filter(is_default=True)) == [second]
    services.bank_account_delete(instance=second)
    assert list(partner.bank_accounts.filter(is_default=True)) == [
        PartnerBankAccount.objects.get(pk=first.pk)
    ]


def test_contact_that_receives_invoices_needs_an_email(
    make_partner: Callable[..., Partner],
) -> None:
    partner = make_partner()
    with pytest.raises(ValidationError) as exc:
        services.contact_create(partner=partner, name="Ana", receives_invoices=True)
    assert list(error_of(exc)) == ["email"]
    with pytest.raises(ValidationError) as exc:
        services.contact_create(partner=partner, name="Ana", email="not an e-mail")
    assert list(error_of(exc)) == ["email"]


# --- money at the edges ---------------------------------------------------------------------------


def test_price_helpers_are_exact() -> None:
    assert services.price_to_units(Decimal("12.3456"), "EUR") == 123456
    assert services.price_to_units("0.5", "EUR") == 5000
    assert services.price_to_units(3, "JPY") == 300
    assert services.units_to_price(123456, "EUR") == Decimal("12.3456")
    assert str(services.units_to_price(5000, "EUR")) == "0.5000"
    assert str(services.units_to_price(1, "BHD")) == "0.00001"
    with pytest.raises(ValueError, match="decimal places"):
        services.price_to_units(Decimal("1.23456"), "EUR")
    with pytest.raises(ValueError):
        services.price_to_units("abc", "EUR")
    with pytest.raises(ValueError):
        services.price_to_units("1E+40", "EUR")
    with pytest.raises(TypeError):
        services.price_to_units(1.5, "EUR")  # type: ignore[arg-type]


def test_credit_limit_and_prices_are_stored_in_minor_units(
    company: Any, make_partner: Callable[..., Partner]
) -> None:
    partner = make_partner(credit_limit=Decimal("1500.50"))
    assert Partner.objects.get(pk=partner.pk).credit_limit == 150050
    with pytest.raises(ValidationError) as exc:
        services.partner_update(instance=partner, credit_limit="1500.505")
    assert error_of(exc) == {"credit_limit": ["Enter an amount with at most 2 decimals."]}
    with pytest.raises(ValidationError) as exc:
        services.partner_update(instance=partner, credit_limit="-1")
    assert error_of(exc) == {"credit_limit": ["The amount cannot be negative."]}
    services.partner_update(instance=partner, credit_limit=None)
    assert Partner.objects.get(pk=partner.pk).credit_limit is None
    with pytest.raises(TypeError):
        services.partner_update(instance=partner, credit_limit=12.5)

    product = services.product_create(
        company=company, sku="SKU-1", name_es="Hora", sale_price=Decimal("45.1234")
    )
    assert (product.sale_price, product.purchase_price) == (451234, 0)
    with pytest.raises(ValidationError) as exc:
        services.product_update(instance=product, sale_price="45.12345")
    assert error_of(exc) == {"sale_price": ["Enter a price with at most 4 decimals."]}
    assert Product.objects.get(pk=product.pk).sale_price == 451234


# --- accounts and taxes of the company ------------------------------------------------------------


def test_accounts_must_be_postable_active_and_of_the_company(
    company: Any, other_company: Any, make_partner: Callable[..., Partner]
) -> None:
    group = Account.objects.filter(company=company, postable=False).first()
    foreign = Account.objects.filter(company=other_company, postable=True).first()
    archived = account(company, "4300")
    archived.active = False
    archived.save()
    partner = make_partner()
    for value in (group, foreign, archived):
        with pytest.raises(ValidationError) as exc:
            services.partner_update(instance=partner, receivable_account=value)
        assert error_of(exc) == {
            "receivable_account": ["Choose a postable, active account of this company."]
        }
    services.partner_update(instance=partner, receivable_account=account(company, "4310"))


def test_taxes_must_apply_to_the_direction(
    company: Any, make_partner: Callable[..., Partner]
) -> None:
    sale = services.tax_create(
        company=company,
        code="T-SALE",
        name_en="Sales VAT",
        scope="sale",
        rate="21",
        sale_account=account(company, "4770"),
    )
    purchase = services.tax_create(
        company=company,
        code="T-PURCH",
        name_en="Input VAT",
        scope="purchase",
        rate="21",
        purchase_account=account(company, "4720"),
    )
    partner = make_partner(sale_taxes=[sale], purchase_taxes=[purchase])
    assert list(partner.sale_taxes.all()) == [sale]
    with pytest.raises(ValidationError) as exc:
        services.partner_update(instance=partner, sale_taxes=[purchase])
    assert error_of(exc) == {"sale_taxes": ["T-PURCH applies to purchases, not to sales."]}
    with pytest.raises(ValidationError) as exc:
        services.product_create(company=company, sku="X", name_en="X", purchase_taxes=[sale])
    assert error_of(exc) == {"purchase_taxes": ["T-SALE applies to sales, not to purchases."]}


def test_tax_rules(company: Any, other_company: Any) -> None:
    vat = account(company, "4770")
    with pytest.raises(ValidationError) as exc:
        services.tax_create(company=company, code="T", name_en="T", scope="sale", rate="121")
    assert error_of(exc) == {"rate": ["Enter a percentage from 0 to 100."]}
    with pytest.raises(ValidationError) as exc:
        services.tax_create(company=company, code="T", name_en="T", scope="sale", rate="21")
    assert list(error_of(exc)) == ["sale_account"]
    with pytest.raises(ValidationError) as exc:
        services.tax_create(
            company=company,
            code="T",
            name_en="T",
            scope="both",
            rate="4",
            sale_account=vat,
            purchase_account=vat,
            nature="N2.1",
        )
    assert error_of(exc) == {
        "nature": ["A nature is for operations without VAT: set the rate to 0."]
    }
    with pytest.raises(ValidationError) as exc:
        services.tax_create(
            company=company, code="T", name_en="T", scope="sale", rate="0", nature="N9"
        )
    assert list(error_of(exc)) == ["nature"]
    with pytest.raises(ValidationError) as exc:
        services.tax_create(
            company=company,
            code="T",
            name_en="T",
            kind="withholding",
            scope="sale",
            rate="15",
            sale_account=vat,
            split_payment=True,
        )
    assert list(error_of(exc)) == ["split_payment"]
    # A purchase VAT without an account is not deductible: allowed. A withholding is owed.
    services.tax_create(
        company=company, code="ND21", name_en="Not deductible", scope="purchase", rate="21"
    )
    with pytest.raises(ValidationError) as exc:
        services.tax_create(
            company=company, code="W", name_en="W", kind="withholding", scope="purchase", rate="15"
        )
    assert list(error_of(exc)) == ["purchase_account"]
    # Italy: a sales VAT at 0% needs its nature for the e-invoice.
    with pytest.raises(ValidationError) as exc:
        services.tax_create(
            company=other_company, code="T0", name_it="Esente", scope="sale", rate="0"
        )
    assert list(error_of(exc)) == ["nature"]
    tax = services.tax_create(
        company=other_company,
        code="T0",
        name_it="Esente",
        scope="sale",
        rate="0",
        nature="n4",
        category="E",
    )
    assert (tax.nature, tax.rate) == ("N4", Decimal("0"))


def test_a_tax_on_issued_invoices_keeps_its_rate(
    company: Any, make_partner: Callable[..., Partner]
) -> None:
    tax = services.tax_create(
        company=company,
        code="T21",
        name_en="VAT 21",
        scope="sale",
        rate="21",
        sale_account=account(company, "4770"),
    )
    invoice = Invoice.objects.create(
        company=company,
        direction="sale",
        partner=make_partner(),
        date=dt.date(2026, 1, 5),
        currency="EUR",
        state=Invoice.State.ISSUED,
        number="F1",
    )
    invoice.tax_lines.create(company=company, tax=tax, base=10000, amount=2100)
    with pytest.raises(ValidationError) as exc:
        services.tax_update(instance=tax, rate="22")
    assert error_of(exc)["rate"][0].startswith("1 issued invoice uses this tax")
    services.tax_update(instance=tax, name_es="IVA 21 %", active=False)
    with pytest.raises(ValidationError, match="used by 1 invoice"):
        services.tax_delete(instance=tax)
    assert Tax.objects.filter(pk=tax.pk).exists()


# --- payment terms and series ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "stored"), [("0", "0"), (" 30 ", "30"), ("30 / 60/90", "30/60/90"), ("030", "30")]
)
def test_payment_days(company: Any, days: str, stored: str) -> None:
    term = services.payment_term_create(company=company, code="PT", name="Term", days=days)
    assert term.days == stored


@pytest.mark.parametrize(
    "days",
    ["", "30,60", "-30", "60/30", "30/30", "1.5", "/".join(str(d) for d in range(1, 14)), "3651"],
)
def test_bad_payment_days_are_refused(company: Any, days: str) -> None:
    with pytest.raises(ValidationError) as exc:
        services.payment_term_create(company=company, code="PT", name="Term", days=days)
    assert list(error_of(exc)) == ["days"]
    assert not PaymentTerm.objects.filter(company=company, code="PT").exists()


def test_series_rules(company: Any, other_company: Any) -> None:
    sales = Journal.objects.get(company=company, code="SAL")
    general = Journal.objects.get(company=company, code="GEN")
    foreign = Journal.objects.get(company=other_company, code="SAL")
    for number_format in ("{code}-{year}", "F{number}{secret}", "{number.real}", "{0}", "{nu"):
        with pytest.raises(ValidationError) as exc:
            services.series_create(
                company=company, code="T", name="T", journal=sales, number_format=number_format
            )
        assert list(error_of(exc)) == ["number_format"], number_format
    for journal in (general, foreign):
        with pytest.raises(ValidationError) as exc:
            services.series_create(company=company, code="T", name="T", journal=journal)
        assert error_of(exc) == {"journal": ["Choose an active sales journal of this company."]}
    series = services.series_create(
        company=company, code="t", name="Test", journal=sales, number_format="T{year}/{number:04d}"
    )
    assert series.code == "T"
    Invoice.objects.create(
        company=company,
        direction="sale",
        partner=services.partner_create(
            company=company, code="C", legal_name="C", tax_id="12345678Z"
        ),
        date=dt.date(2026, 1, 5),
        currency="EUR",
        series=series,
        number="T2026/0001",
        state=Invoice.State.ISSUED,
    )
    with pytest.raises(ValidationError) as exc:
        services.series_update(instance=series, number_format="X{number}")
    assert list(error_of(exc)) == ["number_format"]
    services.series_update(instance=series, name="Renamed")
    with pytest.raises(ValidationError, match="cannot be deleted: it is used by 1 invoice"):
        services.series_delete(instance=series)


# --- deletes --------------------------------------------------------------------------------------


def test_deleting_what_invoices_use_is_refused(
    company: Any, make_partner: Callable[..., Partner]
) -> None:
    partner = make_partner("C1", legal_name="Cliente Uno S.L.")
    product = services.product_create(company=company, sku="P1", name_en="Thing")
    invoice = Invoice.objects.create(
        company=company,
        direction="sale",
        partner=partner,
        date=dt.date(2026, 1, 5),
        currency="EUR",
    )
    InvoiceLine.objects.create(
        company=company, invoice=invoice, line_no=1, product=product, description="x"
    )
    with pytest.raises(ValidationError) as exc:
        services.partner_delete(instance=partner)
    assert exc.value.messages == [
        "C1 · Cliente Uno S.L. cannot be deleted: it is used by 1 invoice. Deactivate it instead."
    ]
    with pytest.raises(ValidationError, match="used by 1 invoice line"):
        services.product_delete(instance=product)
    assert Partner.objects.filter(pk=partner.pk).exists()
    invoice.delete()
    services.product_delete(instance=product)
    services.partner_delete(instance=partner)
    assert not Partner.objects.filter(pk=partner.pk).exists()


# --- settings and audit ---------------------------------------------------------------------------


def test_settings_update_creates_the_row_once(company: Any) -> None:
    BillingSettings.objects.filter(company=company).delete()
    assert services.settings_of(company=company).pk is None  # reading writes nothing
    row = services.settings_update(
        company=company,
        iban="ES91 2100 0418 4502 0005 1332",
        write_off_limit="0.05",
        late_interest_rate="10.15",
        customer_account=account(company, "4300"),
    )
    assert (row.iban, row.bic, row.write_off_limit) == (
        "ES9121000418450200051332",
        "CAIXESBB",
        5,
    )
    again = services.settings_update(company=company, approval_threshold="1000")
    assert again.pk == row.pk and again.approval_threshold == 100000
    assert again.late_interest_rate == Decimal("10.15")
    with pytest.raises(ValidationError) as exc:
        services.settings_update(company=company, iban="ES00", late_interest_rate="abc")
    assert set(error_of(exc)) == {"iban", "late_interest_rate"}
    assert BillingSettings.objects.filter(company=company).count() == 1


def test_writes_are_audited(company: Any, make_partner: Callable[..., Partner]) -> None:
    partner = make_partner("C1")
    services.partner_update(instance=partner, city="Sevilla")
    services.bank_account_create(partner=partner, iban="ES9121000418450200051332")
    entries = AuditEntry.objects.filter(company=company, object_type="billing.partner")
    assert list(entries.values_list("action", flat=True).order_by("seq")) == ["create", "update"]
    assert entries.order_by("seq").last().changes == {"city": ["", "Sevilla"]}  # type: ignore[union-attr]
    assert AuditEntry.objects.filter(
        object_type="billing.partnerbankaccount", action="create"
    ).exists()


# --- import ---------------------------------------------------------------------------------------

HEADER = (
    "code,legal_name,is_customer,is_supplier,country,tax_id,email,phone,payment_term,iban,"
    "credit_limit,language"
)


def csv_of(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


@pytest.fixture
def term(company: Any) -> PaymentTerm:
    return services.payment_term_create(company=company, code="T3060", name="30/60", days="30/60")


def test_import_creates_and_updates(
    company: Any, term: PaymentTerm, make_partner: Callable[..., Partner]
) -> None:
    existing = make_partner("C0001", legal_name="Viejo S.L.", tax_id="B12345674", city="Madrid")
    content = csv_of(
        "C0001,Nuevo Nombre S.L.,1,0,ES,B12345674,,,T3060,ES9121000418450200051332,1500,",
        "C0002,Fornitore S.r.l.,0,1,IT,IT00743110157,info@example.it,'+39 02 1234,,,,it",
        'C0003,Cliente Alemán GmbH,sí,no,DE,DE136695976,,,,,"2,000.50",English',
    )
    result = partner_imports.partners_import(company=company, content=content, filename="p.csv")
    assert (result.created, result.updated, result.unchanged, result.bank_accounts) == (
        2,
        1,
        0,
        1,
    )
    updated = Partner.objects.get(pk=existing.pk)
    assert (updated.legal_name, updated.city, updated.payment_term, updated.credit_limit) == (
        "Nuevo Nombre S.L.",
        "Madrid",  # not a column of the file: left as it was
        term,
        150000,
    )
    assert updated.bank_accounts.get().is_default
    italian = Partner.objects.get(company=company, code="C0002")
    assert (italian.tax_id, italian.is_supplier, italian.phone, italian.language) == (
        "00743110157",
        True,
        "+39 02 1234",  # the export's formula guard is undone
        "it",
    )
    german = Partner.objects.get(company=company, code="C0003")
    assert (german.credit_limit, german.language) == (200050, "en")
    event = AuditEntry.objects.filter(
        company=company, action="other", object_type="billing.partner"
    ).get()
    assert event is not None and event.extra["event"] == "partners_import"
    assert event.extra["sha256"] == result.sha256
    again = partner_imports.partners_import(company=company, content=content, filename="p.csv")
    assert (again.created, again.updated, again.unchanged, again.bank_accounts) == (0, 0, 3, 0)


def test_import_refuses_a_bad_file_by_line_and_writes_nothing(
    company: Any, make_partner: Callable[..., Partner]
) -> None:
    make_partner("OLD", tax_id="12345678Z")
    before = counts()
    content = csv_of(
        "C0001,Uno S.L.,1,0,ES,B12345675,,,,,,",  # line 2: bad CIF
        "C0002,Dos S.L.,1,0,ES,12345678Z,,,,,,",  # line 3: OLD's tax id
        "C0003,Tres S.L.,maybe,0,ES,A58818501,bad-email,,NOPE,ES00123,12.345,xx",  # line 4
        "C0004,Cuatro S.L.,1,0,ES,a58818501,,,,,,",  # line 5: repeats line 4's tax id
        "C0001,Otra vez,1,0,ES,X1234567L,,,,,,",  # line 6: repeats line 2's code
        ",,1,0,ES,,,,,,,",  # line 7: no code, no name, no tax id
    )
    with pytest.raises(ValidationError) as exc:
        partner_imports.partners_import(company=company, content=content, filename="bad.csv")
    found = dict(partner_imports.error_list(exc.value))
    assert list(found) == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 7"]
    assert found["line 2"][0].startswith("tax_id: B12345675 is not a valid tax id for ES")
    assert found["line 3"] == ["tax_id: 12345678Z is already the tax id of partner OLD."]
    assert sorted(message.split(":")[0] for message in found["line 4"]) == [
        "credit_limit",
        "email",
        "iban",
        "is_customer",
        "language",
        "payment_term",
    ]
    assert found["line 5"] == ["tax_id: A58818501 repeats line 4 (partner C0003)."]
    assert found["line 6"] == ["code: C0001 repeats line 2."]
    assert {m.split(":")[0] for m in found["line 7"]} == {"code", "legal_name", "tax_id"}
    assert counts() == before


def test_import_refuses_unknown_columns_and_empty_files(company: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        partner_imports.partners_import(
            company=company, content=csv_of("X,Y", header="code,colour"), filename="x.csv"
        )
    assert exc.value.message_dict["file"][0].startswith("Unknown columns: colour.")
    with pytest.raises(ValidationError) as exc:
        partner_imports.partners_import(
            company=company, content=csv_of("Y", header="legal_name"), filename="x.csv"
        )
    assert exc.value.message_dict == {"file": ["Missing columns: code."]}
    with pytest.raises(ValidationError) as exc:
        partner_imports.partners_import(company=company, content=b"", filename="x.csv")
    assert exc.value.message_dict == {"file": ["The file is empty."]}


def test_import_xlsx(company: Any) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Code", "Legal name", "Tax id", "Country", "Credit limit", "Customer"])
    sheet.append(["C1", "Uno S.L.", "B12345674", "ES", 1234.5, True])
    sheet.append(["C2", "Due S.r.l.", "00743110157", "Italy", 10, False])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(ValidationError) as exc:
        partner_imports.partners_import(
            company=company, content=buffer.getvalue(), filename="p.xlsx"
        )
    assert dict(partner_imports.error_list(exc.value)) == {
        "line 3": ["is_customer: A partner is a customer, a supplier or both."]
    }
    sheet["F3"] = 1
    buffer = io.BytesIO()
    book.save(buffer)
    result = partner_imports.partners_import(
        company=company, content=buffer.getvalue(), filename="p.xlsx"
    )
    assert result.created == 2
    assert Partner.objects.get(company=company, code="C1").credit_limit == 123450
    assert Partner.objects.get(company=company, code="C2").country == "IT"


def test_the_list_export_imports_back(
    company: Any,
    accountant: Any,
    login: Any,
    term: PaymentTerm,
    make_partner: Callable[..., Partner],
) -> None:
    from trastienda.billing.partner_views import PartnerViews

    first = make_partner(
        "C1",
        legal_name="Uno S.L.",
        credit_limit="1234.56",
        payment_term=term,
        phone="+34 600",
        language="it",
        is_supplier=True,
    )
    services.bank_account_create(partner=first, iban="ES9121000418450200051332")
    make_partner("C2", legal_name="Dos S.L.", country="FR", tax_id="", blocked=True)
    client = login(accountant)
    columns = [name for name, _label in PartnerViews.table.choosable_columns()]
    client.post("/core/table-columns/", {"table": "billing.partner", "columns": columns})
    for fmt in ("csv", "xlsx"):
        exported = client.get(PARTNERS, {"export": fmt})
        assert exported.status_code == 200, exported.content[:300]
        result = partner_imports.partners_import(
            company=company, content=exported.content, filename=f"partners.{fmt}"
        )
        assert (result.created, result.updated, result.unchanged) == (0, 0, 2), fmt


def test_import_page_and_job(
    company: Any,
    accountant: Any,
    login: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from trastienda.billing import partner_views

    settings.MEDIA_ROOT = tmp_path / "media"
    client = login(accountant)
    page = client.get(IMPORT)
    assert page.status_code == 200 and b'id="import-form"' in page.content
    assert IMPORT.encode() in client.get(PARTNERS).content
    example = client.get(IMPORT, {"template": "csv"})
    result = client.post(IMPORT, {"file": SimpleUploadedFile("e.csv", example.content)})
    assert result.status_code == 200
    assert b'id="import-result" data-created="2"' in result.content
    bad = client.post(IMPORT, {"file": SimpleUploadedFile("b.csv", csv_of("C9,X,1,0,ES,B1,,,,,,"))})
    assert bad.status_code == 400
    assert b"<strong>line 2</strong>: tax_id: B1 is not a valid tax id" in bad.content
    monkeypatch.setattr(partner_views, "SYNC_MAX_BYTES", 10)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            IMPORT, {"file": SimpleUploadedFile("big.csv", csv_of("C9,Nueve,1,0,FR,,,,,,,"))}
        )
    job = Job.objects.get(company=company, kind="billing.import_partners")
    assert started.status_code == 302 and started["Location"].endswith(f"/jobs/{job.pk}/")
    assert job.status == Job.Status.DONE, job.error
    assert job.message.startswith("Imported 1 rows: 1 partner created")
    assert Partner.objects.filter(company=company, code="C9").exists()
    assert list((tmp_path / "media").rglob("*.csv")) == []


def test_cli_import(company: Any, tmp_path: Path, capsys: Any) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(csv_of("C1,Uno S.L.,1,0,ES,B12345674,,,,,,"))
    call_command("billing", "import-partners", str(good), "--company", "acme")
    assert "1 partner created" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_of("C2,Dos S.L.,1,0,ES,B12345674,,,,,,"))
    with pytest.raises(SystemExit) as exited:
        call_command("billing", "import-partners", str(bad), "--company", "ACME")
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "line 2: tax_id: B12345674 is already the tax id of partner C1." in err
    assert Partner.objects.filter(company=company).count() == 1


# --- pages ----------------------------------------------------------------------------------------


def test_partner_pages(
    company: Any, accountant: Any, login: Any, make_partner: Callable[..., Partner]
) -> None:
    client = login(accountant)
    make_partner("C1", legal_name="Acme Ibérica S.L.", tax_id="B12345674")
    make_partner(
        "S1",
        legal_name="Proveedor",
        is_customer=False,
        is_supplier=True,
        country="IT",
        tax_id="00743110157",
    )
    assert b"C1" in client.get(PARTNERS, {"q": "B-1234"}).content
    listed = client.get(PARTNERS, {"is_supplier": "true"}).content
    assert b">S1<" in listed and b">C1<" not in listed
    assert b">S1<" not in client.get(PARTNERS, {"country": "ES"}).content
    response = client.post(
        PARTNERS + "add/",
        {
            "code": "C2",
            "legal_name": "ACME IBERICA SL",
            "is_customer": "on",
            "country": "ES",
            "tax_id": "12.345.678-z",
            "language": "es",
            "credit_limit": "2500.75",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    partner = Partner.objects.get(company=company, code="C2")
    assert (partner.tax_id, partner.credit_limit) == ("12345678Z", 250075)
    duplicate = client.post(
        PARTNERS + "add/",
        {
            "code": "C3",
            "legal_name": "X",
            "is_customer": "on",
            "country": "ES",
            "tax_id": "B12345674",
            "language": "es",
        },
    )
    assert duplicate.status_code == 400
    assert b"is already the tax id of partner C1" in duplicate.content
    detail = client.get(f"{PARTNERS}{partner.pk}/")
    assert detail.status_code == 200
    assert b'id="possible-duplicates"' in detail.content and b"C1 \xc2\xb7 Acme" in detail.content
    assert b"2500.75 EUR" in detail.content
    history = 'Credit limit: <span class="text-muted">—</span> → 2,500.75'
    assert history in detail.content.decode()  # the audit trail shown in decimals
    edit = client.get(f"{PARTNERS}{partner.pk}/edit/")
    assert b'value="2500.75"' in edit.content


def test_contacts_and_bank_accounts_on_the_partner_page(
    accountant: Any,
    login: Any,
    make_user: Callable[..., Any],
    company: Any,
    make_partner: Callable[..., Partner],
) -> None:
    partner = make_partner("C1")
    client = login(accountant)
    url = f"{PARTNERS}{partner.pk}/"
    added = client.post(
        url + "contacts/",
        {"action": "add", "contact-name": "Ana", "contact-email": "ana@example.es"},
    )
    assert added.status_code == 302 and added["Location"].endswith("#contacts")
    contact = partner.contacts.get()
    bad = client.post(url + "bank-accounts/", {"action": "add", "bank-iban": "ES12 3456"})
    assert bad.status_code == 400 and b"is not a valid IBAN" in bad.content
    client.post(url + "bank-accounts/", {"action": "add", "bank-iban": "ES9121000418450200051332"})
    client.post(url + "bank-accounts/", {"action": "add", "bank-iban": "DE89370400440532013000"})
    german = partner.bank_accounts.get(iban="DE89370400440532013000")
    client.post(url + "bank-accounts/", {"action": "default", "id": german.pk})
    assert partner.bank_accounts.get(is_default=True) == german
    page = client.get(url).content
    assert b"Ana" in page and b"ES9121000418450200051332" in page
    client.post(url + "contacts/", {"action": "remove", "id": contact.pk})
    assert not partner.contacts.exists()
    assert client.get(url + "contacts/").status_code == 405
    viewer = make_user(company=company, role="auditor")
    client.force_login(viewer)
    assert client.post(url + "contacts/", {"action": "add", "contact-name": "X"}).status_code == 403
    assert b'id="contact-form"' not in client.get(url).content


def test_product_tax_series_and_settings_pages(
    company: Any, other_company: Any, accountant: Any, login: Any
) -> None:
    client = login(accountant)
    created = client.post(
        "/c/ACME/billing/products/add/",
        {"sku": "H1", "name_es": "Hora", "unit": "HUR", "sale_price": "45.5", "active": "on"},
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    product = Product.objects.get(company=company, sku="H1")
    assert product.sale_price == 455000
    assert b"45.5000" in client.get("/c/ACME/billing/products/").content
    form = client.get("/c/ACME/billing/taxes/add/").context["form"]
    accounts = form.fields["sale_account"].queryset
    assert accounts.exists()
    assert not accounts.exclude(company=company).exists()
    assert not accounts.filter(postable=False).exists()
    assert client.get("/c/ACME/billing/payment-terms/").status_code == 200
    series = client.get("/c/ACME/billing/series/add/").context["form"]
    assert set(series.fields["journal"].queryset.values_list("code", flat=True)) == {"SAL"}
    settings_row = services.settings_update(company=company)
    listing = client.get("/c/ACME/billing/settings/")
    assert listing.status_code == 302
    assert listing["Location"].endswith(f"/billing/settings/{settings_row.pk}/")
    saved = client.post(
        f"/c/ACME/billing/settings/{settings_row.pk}/edit/",
        {
            "iban": "ES91 2100 0418 4502 0005 1332",
            "write_off_limit": "0.10",
            "late_interest_rate": "10.15",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:3000]
    row = BillingSettings.objects.get(company=company)
    assert (row.iban, row.write_off_limit) == ("ES9121000418450200051332", 10)
    assert client.get(f"/c/ACME/billing/settings/{row.pk}/delete/").status_code == 403


# --- API ------------------------------------------------------------------------------------------


@pytest.fixture
def api(client: Any, accountant: Any, company: Any) -> Any:
    client.force_login(accountant)
    client.defaults["HTTP_X_COMPANY"] = company.code
    return client


def test_api_partner_with_nested_lists(api: Any, company: Any, term: PaymentTerm) -> None:
    body = {
        "code": "C1",
        "legal_name": "Cliente S.L.",
        "tax_id": "ESB12345674",
        "payment_term": "T3060",
        "receivable_account": "4300",
        "credit_limit": "1500.50",
        "contacts": [{"name": "Ana", "email": "ana@example.es", "receives_invoices": True}],
        "bank_accounts": [{"iban": "ES91 2100 0418 4502 0005 1332"}],
    }
    created = api.post(API + "partners/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["tax_id"], data["credit_limit"], data["payment_term"]) == (
        "B12345674",
        "1500.50",
        "T3060",
    )
    assert data["bank_accounts"][0]["bic"] == "CAIXESBB"
    assert data["contacts"][0]["name"] == "Ana"
    pk = data["id"]
    patched = api.patch(
        f"{API}partners/{pk}/",
        {"credit_limit": None, "contacts": []},
        content_type="application/json",
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["credit_limit"] is None and patched.json()["contacts"] == []
    listed = api.get(API + "partners/", {"q": "B12345674"}).json()
    assert [p["code"] for p in listed["results"]] == ["C1"]
    assert api.get(f"{API}partners/{pk}/duplicates/").json() == []


def test_api_refuses_bad_input_with_400_and_writes_nothing(api: Any, company: Any) -> None:
    before = counts()
    cases = [
        ({"code": "C1", "legal_name": "X", "tax_id": "B12345675"}, "tax_id"),
        (
            {"code": "C1", "legal_name": "X", "tax_id": "B12345674", "credit_limit": 10.5},
            "credit_limit",
        ),
        (
            {"code": "C1", "legal_name": "X", "tax_id": "B12345674", "credit_limit": "1.001"},
            "credit_limit",
        ),
        (
            {
                "code": "C1",
                "legal_name": "X",
                "tax_id": "B12345674",
                "bank_accounts": [{"iban": "ES0000"}],
            },
            "bank_accounts.0.iban",
        ),
        (
            {"code": "C1", "legal_name": "X", "tax_id": "B12345674", "receivable_account": "43"},
            "receivable_account",
        ),
        ({"code": "C1", "legal_name": "X", "tax_id": "B12345674", "country": "XX"}, "country"),
    ]
    for body, field in cases:
        response = api.post(API + "partners/", body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["error"]["fields"], (field, response.json())
    product = api.post(
        API + "products/",
        {"sku": "P", "name_en": "P", "sale_price": "1.23456"},
        content_type="application/json",
    )
    assert product.status_code == 400 and "sale_price" in product.json()["error"]["fields"]
    term = api.post(
        API + "payment-terms/",
        {"code": "X", "name": "X", "days": "60/30"},
        content_type="application/json",
    )
    assert term.status_code == 400 and "days" in term.json()["error"]["fields"]
    assert counts() == before


def test_api_products_taxes_series_and_settings(api: Any, company: Any) -> None:
    product = api.post(
        API + "products/",
        {"sku": "P1", "name_en": "Consulting", "unit": "HUR", "sale_price": "80.5"},
        content_type="application/json",
    )
    assert product.status_code == 201, product.content
    assert product.json()["sale_price"] == "80.5000"
    tax = api.post(
        API + "taxes/",
        {"code": "T10", "name_en": "VAT 10", "scope": "sale", "rate": "10", "sale_account": "4770"},
        content_type="application/json",
    )
    assert tax.status_code == 201, tax.content
    assert (tax.json()["rate"], tax.json()["sale_account"]) == ("10", "4770")
    series = api.post(
        API + "series/",
        {"code": "X", "name": "Extra", "journal": "GEN"},
        content_type="application/json",
    )
    assert series.status_code == 400 and "journal" in series.json()["error"]["fields"]
    row = services.settings_update(company=company)
    changed = api.patch(
        f"{API}settings/{row.pk}/",
        {"write_off_limit": "0.50", "bic": "caixesbbxxx"},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["write_off_limit"], changed.json()["bic"]) == ("0.50", "CAIXESBBXXX")


def test_api_import(api: Any, company: Any) -> None:
    good = api.post(
        API + "partners/import/",
        {"file": SimpleUploadedFile("p.csv", csv_of("C1,Uno S.L.,1,0,ES,B12345674,,,,,,"))},
    )
    assert good.status_code == 201, good.content
    assert good.json()["created"] == 1
    bad = api.post(
        API + "partners/import/",
        {"file": SimpleUploadedFile("p.csv", csv_of("C2,Dos,1,0,ES,B12345674,,,,,,"))},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {
        "line 2": ["tax_id: B12345674 is already the tax id of partner C1."]
    }


def test_api_permissions(
    client: Any, company: Any, make_user: Callable[..., Any], make_partner: Callable[..., Partner]
) -> None:
    partner = make_partner("C1")
    warehouse = make_user(company=company, role="warehouse")  # no billing permission
    client.force_login(warehouse)
    headers = {"HTTP_X_COMPANY": company.code}
    assert client.get(API + "partners/", **headers).status_code == 403
    body = {"code": "C2", "legal_name": "X", "tax_id": "12345678Z"}
    refused = client.post(API + "partners/", body, content_type="application/json", **headers)
    assert refused.status_code == 403
    clerk = make_user(company=company, role="clerk")  # may add and change, not delete
    client.force_login(clerk)
    assert (
        client.post(API + "partners/", body, content_type="application/json", **headers).status_code
        == 201
    )
    assert client.delete(f"{API}partners/{partner.pk}/", **headers).status_code == 403
    assert Partner.objects.filter(company=company).count() == 2


def test_lists_take_the_same_queries_for_more_rows(
    company: Any,
    accountant: Any,
    login: Any,
    api: Any,
    term: PaymentTerm,
    make_partner: Callable[..., Partner],
    django_assert_num_queries: Any,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(accountant)

    def queries(url: str, **params: Any) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, params).status_code == 200
        return len(captured)

    def add(count: int) -> None:
        for _n in range(count):
            partner = make_partner(payment_term=term, credit_limit="100")
            services.contact_create(partner=partner, name="Ana")
            services.bank_account_create(partner=partner, iban="ES9121000418450200051332")

    add(2)
    queries(PARTNERS), queries(API + "partners/")  # first requests warm the session's caches
    page, listed = queries(PARTNERS), queries(API + "partners/")
    add(5)
    assert (queries(PARTNERS), queries(API + "partners/")) == (page, listed)

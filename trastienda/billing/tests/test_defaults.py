"""Billing defaults of a new company: taxes of its country on accounts of its chart, payment
terms, series on the sales journal and settings; idempotent; also for companies that existed
before billing (the data migration) and for the demo companies."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from trastienda.audit.models import AuditEntry
from trastienda.billing import defaults
from trastienda.billing.defaults import billing_defaults_load
from trastienda.billing.models import BillingSettings, InvoiceSeries, PaymentTerm, Tax
from trastienda.ledger.models import Account, Journal

pytestmark = pytest.mark.django_db


def counts(company: Any) -> tuple[int, int, int, int]:
    return (
        Tax.objects.filter(company=company).count(),
        PaymentTerm.objects.filter(company=company).count(),
        InvoiceSeries.objects.filter(company=company).count(),
        BillingSettings.objects.filter(company=company).count(),
    )


def taxes(company: Any) -> dict[str, Tax]:
    return {
        t.code: t
        for t in Tax.objects.filter(company=company).select_related(
            "sale_account", "purchase_account", "reverse_charge_account"
        )
    }


@pytest.mark.parametrize("country", ["ES", "IT", "US"])
def test_every_tax_has_existing_postable_accounts(
    make_company: Callable[..., Any], country: str
) -> None:
    company = make_company(country=country)
    found = taxes(company)
    expected = defaults.taxes_for(country)
    assert sorted(found) == sorted(t.code for t in expected)
    for default in expected:
        tax = found[default.code]
        for field in ("sale_account", "purchase_account", "reverse_charge_account"):
            role = getattr(default, field)
            account = getattr(tax, field)
            if not role:
                assert account is None, (tax.code, field)
                continue
            assert account is not None, (tax.code, field)
            assert account.company_id == company.pk
            assert account.postable and account.active
            assert account.code == defaults.CHART_ACCOUNTS[defaults.chart_template(country)][role]
        # A sales tax needs its account to be issued; a purchase VAT without one would be
        # booked as non-deductible: every default has the account of its side.
        if tax.scope == Tax.Scope.SALE:
            assert tax.sale_account is not None, tax.code
        else:
            assert tax.purchase_account is not None, tax.code
        if tax.reverse_charge:
            assert tax.scope == Tax.Scope.PURCHASE and tax.reverse_charge_account is not None
        assert tax.name_es and tax.name_it and tax.name_en


def test_account_roles_exist_in_every_chart_template(make_company: Callable[..., Any]) -> None:
    for country in ("ES", "IT", "US"):
        company = make_company(country=country)
        codes = defaults.CHART_ACCOUNTS[defaults.chart_template(country)]
        accounts = {
            a.code: a for a in Account.objects.filter(company=company, code__in=codes.values())
        }
        for role, code in codes.items():
            assert code in accounts, (country, role, code)
            assert accounts[code].postable, (country, role, code)
        kinds = {role: accounts[code].type for role, code in codes.items()}
        assert kinds["receivable"] == "asset" and kinds["payable"] == "liability"
        assert kinds["income"] == "income" and kinds["expense"] == "expense"
        assert kinds["vat_out"] == "liability" and kinds["vat_in"] == "asset"
        assert kinds["write_off_income"] == "income" and kinds["late_fee"] == "income"
        assert kinds["write_off_expense"] == "expense"


def test_spain(make_company: Callable[..., Any]) -> None:
    company = make_company(country="ES", language="es")
    found = taxes(company)
    iva21 = found["IVA21-V"]
    assert (iva21.kind, iva21.scope, iva21.rate, iva21.category) == (
        "vat",
        "sale",
        Decimal("21"),
        "S",
    )
    assert iva21.sale_account.code == "4770"
    assert (iva21.report_base_box, iva21.report_tax_box) == ("07", "09")
    assert {
        c: (found[c].report_base_box, found[c].report_tax_box)
        for c in ("IVA10-V", "IVA4-V", "IVA0-V", "IVA21-C", "IVA10-C", "IVA4-C")
    } == {
        "IVA10-V": ("04", "06"),
        "IVA4-V": ("01", "03"),
        "IVA0-V": ("150", "152"),
        "IVA21-C": ("28", "29"),
        "IVA10-C": ("28", "29"),
        "IVA4-C": ("28", "29"),
    }
    assert found["IVA21-C"].purchase_account.code == "4720"
    surcharges = {
        t.code: (t.rate, t.report_base_box, t.report_tax_box)
        for t in found.values()
        if t.kind == "surcharge"
    }
    assert surcharges == {
        "RE5.2": (Decimal("5.2"), "22", "24"),
        "RE1.4": (Decimal("1.4"), "19", "21"),
        "RE0.5": (Decimal("0.5"), "168", "170"),
    }
    assert found["IRPF15-V"].kind == "withholding" and found["IRPF15-V"].rate == 15
    assert found["IRPF15-V"].sale_account.code == "4730"
    assert found["IRPF7-V"].rate == 7
    assert found["IRPF15-C"].purchase_account.code == "4751"
    eic = found["EIC-V"]
    assert (eic.category, eic.rate, eic.report_base_box) == ("K", 0, "59")
    assert eic.legal_mention("es") == "Entrega intracomunitaria exenta, art. 25 Ley 37/1992"
    assert found["EXP-V"].category == "G"
    assert "art. 21 Ley 37/1992" in found["EXP-V"].legal_mention_es
    isp = found["ISP-V"]
    assert "art. 84.Uno.2º" in isp.legal_mention_es and isp.report_base_box == "122"
    aib = found["AIB21-C"]
    assert aib.reverse_charge and aib.rate == 21
    assert aib.purchase_account.code == "4720" and aib.reverse_charge_account.code == "4770"
    assert (aib.report_base_box, aib.report_tax_box) == ("10/36", "11/37")
    assert (found["ISP21-C"].report_base_box, found["ISP21-C"].report_tax_box) == (
        "12/28",
        "13/29",
    )
    settings = BillingSettings.objects.get(company=company)
    assert settings.customer_account.code == "4300"
    assert settings.supplier_account.code == "4000"
    assert settings.income_account.code == "7000"
    assert settings.expense_account.code == "6000"
    assert settings.write_off_income_account.code == "7690"
    assert settings.write_off_expense_account.code == "669"
    assert settings.late_fee_account.code == "762"
    assert settings.late_interest_rate == Decimal("10.15")
    series = {s.code: s for s in InvoiceSeries.objects.filter(company=company)}
    assert {c: s.kind for c, s in series.items()} == {
        "F": "invoice",
        "R": "credit_note",
        "FS": "simplified",
    }
    sales = Journal.objects.get(company=company, code="SAL")
    assert all(s.journal_id == sales.pk for s in series.values())
    assert series["F"].number_format.format(code="F", year="2026", number=7) == "F2026-00007"


def test_italy(make_company: Callable[..., Any]) -> None:
    company = make_company(country="IT", language="it")
    found = taxes(company)
    assert {c: found[c].rate for c in ("IVA22-V", "IVA10-V", "IVA5-V", "IVA4-V")} == {
        "IVA22-V": 22,
        "IVA10-V": 10,
        "IVA5-V": 5,
        "IVA4-V": 4,
    }
    assert found["IVA22-V"].sale_account.code == "08.10.001"
    assert found["IVA22-A"].purchase_account.code == "03.02.007"
    natures = {t.nature for t in found.values() if t.scope == "sale" and t.nature}
    assert natures == {
        "N1", "N2.1", "N2.2", "N3.1", "N3.2", "N3.3", "N3.4", "N3.5", "N3.6", "N4", "N5",
        "N6.1", "N6.2", "N6.3", "N6.4", "N6.5", "N6.6", "N6.7", "N6.8", "N6.9", "N7",
    }  # fmt: skip
    export = found["N3.1-V"]
    assert export.rate == 0 and export.category == "G"
    assert export.legal_mention("it") == "Operazione non imponibile art. 8 DPR 633/72"
    assert found["N3.2-V"].category == "K"
    split = found["SP22-V"]
    assert split.split_payment and split.rate == 22
    assert split.legal_mention_it == "Scissione dei pagamenti art. 17-ter DPR 633/72"
    assert (split.report_base_box, split.report_tax_box) == ("VP2", "")  # not IVA esigibile
    ritenuta = found["RA20-V"]
    assert ritenuta.kind == "withholding" and ritenuta.rate == 20
    assert ritenuta.sale_account.code == "03.02.011"
    assert found["RA20-A"].purchase_account.code == "08.10.003"
    for code in ("RC22-A", "INTRA22-A"):
        tax = found[code]
        assert tax.reverse_charge and tax.scope == "purchase"
        assert tax.reverse_charge_account.code == "08.10.001"
        assert (tax.report_base_box, tax.report_tax_box) == ("VP3", "VP4/VP5")
    assert "art. 17 c. 6" in found["RC22-A"].legal_mention_it
    assert "46-47 DL 331/93" in found["INTRA22-A"].legal_mention_it
    assert {c: found[c].report_base_box for c in ("IVA22-V", "IVA22-A")} == {
        "IVA22-V": "VP2",
        "IVA22-A": "VP3",
    }
    assert list(
        InvoiceSeries.objects.filter(company=company).order_by("kind").values_list("code", "kind")
    ) == [("NC", "credit_note"), ("FT", "invoice"), ("S", "simplified")]
    settings = BillingSettings.objects.get(company=company)
    assert settings.customer_account.code == "03.02.001"
    assert settings.late_interest_rate == Decimal("10.15")


def test_other_countries_get_a_generic_vat(make_company: Callable[..., Any]) -> None:
    company = make_company(country="US", tax_id="12-3456789")
    found = taxes(company)
    assert {c: (t.scope, t.rate) for c, t in found.items()} == {
        "VAT20-S": ("sale", 20),
        "VAT10-S": ("sale", 10),
        "VAT0-S": ("sale", 0),
        "VAT20-P": ("purchase", 20),
        "VAT10-P": ("purchase", 10),
        "VAT0-P": ("purchase", 0),
    }
    assert found["VAT20-S"].sale_account.code == "2210"
    assert found["VAT20-P"].purchase_account.code == "1220"
    assert list(
        InvoiceSeries.objects.filter(company=company)
        .order_by("code")
        .values_list("code", flat=True)
    ) == ["CN", "INV", "S"]
    assert BillingSettings.objects.get(company=company).late_interest_rate == 0


def test_payment_terms_in_the_company_language(make_company: Callable[..., Any]) -> None:
    company = make_company(country="ES", language="es")
    terms = {t.code: t for t in PaymentTerm.objects.filter(company=company)}
    assert {c: (t.days, t.end_of_month) for c, t in terms.items()} == {
        "IMM": ("0", False),
        "30": ("30", False),
        "60": ("60", False),
        "30-60-90": ("30/60/90", False),
        "30EOM": ("30", True),
    }
    assert terms["30-60-90"].day_list() == [30, 60, 90]
    assert all(t.name for t in terms.values())


def test_idempotent_and_keeps_what_the_company_changed(
    make_company: Callable[..., Any],
) -> None:
    company = make_company(country="ES")
    before = counts(company)
    assert before[0] == len(defaults.SPAIN) and before[1:] == (5, 3, 1)
    tax = Tax.objects.get(company=company, code="IVA21-V")
    tax.name_es = "IVA general"
    tax.save()
    settings = BillingSettings.objects.get(company=company)
    settings.late_interest_rate = Decimal("8")
    settings.save()
    audited = AuditEntry.objects.count()

    assert billing_defaults_load(company=company) == {
        "taxes": 0,
        "terms": 0,
        "series": 0,
        "settings": 0,
    }
    assert counts(company) == before
    assert Tax.objects.get(pk=tax.pk).name_es == "IVA general"
    assert BillingSettings.objects.get(company=company).late_interest_rate == Decimal("8")
    assert AuditEntry.objects.count() == audited  # nothing written, nothing audited

    # A deleted tax comes back; a cleared settings account is filled again.
    Tax.objects.filter(company=company, code="EXP-V").delete()
    BillingSettings.objects.filter(company=company).update(late_fee_account=None)
    result = billing_defaults_load(company=company)
    assert result["taxes"] == 1
    assert counts(company) == before
    assert BillingSettings.objects.get(company=company).late_fee_account.code == "762"


def test_creation_is_audited(make_company: Callable[..., Any]) -> None:
    company = make_company(country="IT")
    entries = AuditEntry.objects.filter(company_id=company.pk, action="create")
    assert entries.filter(object_type="billing.tax").count() == len(defaults.ITALY)
    assert entries.filter(object_type="billing.paymentterm").count() == 5
    assert entries.filter(object_type="billing.invoiceseries").count() == 3
    assert entries.filter(object_type="billing.billingsettings").count() == 1


def wipe(company: Any) -> None:
    BillingSettings.objects.filter(company=company).delete()
    InvoiceSeries.objects.filter(company=company).delete()
    PaymentTerm.objects.filter(company=company).delete()
    Tax.objects.filter(company=company).delete()


def test_migration_fills_companies_made_before_billing(
    make_company: Callable[..., Any],
) -> None:
    """The data migration, run with the historical models of its own state, gives an older
    company (here: one whose billing records were removed) the same defaults."""
    spanish, italian = make_company(country="ES"), make_company(country="IT")
    expected = {c.pk: counts(c) for c in (spanish, italian)}
    for company in (spanish, italian):
        wipe(company)
        assert counts(company) == (0, 0, 0, 0)
    migration = import_module("trastienda.billing.migrations.0002_defaults")
    state = MigrationExecutor(connection).loader.project_state(("billing", "0002_defaults"))
    migration.load(state.apps, None)
    assert {c.pk: counts(c) for c in (spanish, italian)} == expected
    assert taxes(spanish)["AIB21-C"].reverse_charge_account.code == "4770"
    migration.load(state.apps, None)  # twice: nothing more
    assert {c.pk: counts(c) for c in (spanish, italian)} == expected


def test_migration_with_the_current_models(make_company: Callable[..., Any]) -> None:
    company = make_company(country="ES")
    before = counts(company)
    wipe(company)
    import_module("trastienda.billing.migrations.0002_defaults").load(global_apps, None)
    assert counts(company) == before


def test_demo_companies() -> None:
    from trastienda.core.demo import demo_run

    ctx = demo_run(log=lambda _line: None)
    for code, country in (("ES01", "ES"), ("IT01", "IT")):
        company = ctx.companies[code]
        assert company.country == country
        assert counts(company) == (len(defaults.taxes_for(country)), 5, 3, 1)
        found = taxes(company)
        assert all(
            (t.sale_account if t.scope == "sale" else t.purchase_account) is not None
            for t in found.values()
        )
    # Partners with valid tax ids, products, and invoices issued through the services.
    from trastienda.billing.models import Invoice, Partner, Payment, Product, RecurringInvoice
    from trastienda.core.validators import normalise_tax_id

    def records(company: Any) -> tuple[int, int, int]:
        return (
            Partner.objects.filter(company=company).count(),
            Product.objects.filter(company=company).count(),
            Invoice.objects.filter(company=company, state="issued").count(),
        )

    for company in ctx.companies.values():
        partners = Partner.objects.filter(company=company)
        assert partners.count() >= 7
        for partner in partners:
            assert normalise_tax_id(partner.country, partner.tax_id) == partner.tax_id
        issued = Invoice.objects.filter(company=company, state="issued")
        assert issued.filter(direction="sale", kind="invoice").count() >= 3
        assert issued.filter(kind="credit_note").count() >= 1
        assert issued.filter(direction="purchase").count() >= 3
        assert all(i.entry_id is not None for i in issued)
        # billing's collection and supplier payment; banking's demo reconciles one more
        assert Payment.objects.filter(company=company, state="posted").count() == 3
        assert RecurringInvoice.objects.filter(company=company).count() == 1
    # Running the demo again changes nothing.
    before = {code: (counts(c), records(c)) for code, c in ctx.companies.items()}
    demo_run(log=lambda _line: None)
    assert {code: (counts(c), records(c)) for code, c in ctx.companies.items()} == before

"""SEPA payment batches and mandates: credit transfers paying due supplier bills, direct
debits under CORE and B2B mandates (FRST then RCUR), approval by a second person, the file
validated against the official ISO 20022 schemas, cancel, and real files written by others."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from trastienda.banking import sepa
from trastienda.banking.models import BankAccount, Mandate, PaymentBatch, PaymentBatchLine
from trastienda.billing import services as billing
from trastienda.billing.models import Invoice, Partner, PartnerBankAccount
from trastienda.billing.tests.conftest import make_partner  # noqa: F401  (fixture)
from trastienda.billing.tests.test_invoices import acc, company_journal, setup  # noqa: F401

pytestmark = pytest.mark.django_db

D = Decimal
DATA = Path(__file__).parent / "data" / "sepa"
NS_TRF = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
NS_DD = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}

COMPANY_IBAN = "ES9121000418450200051332"
CREDITOR_ID = "ES11000B12345674"
IBAN_A = "ES8700491500012710001234"
IBAN_B = "ES4001820600040201234567"
IBAN_C = "ES9520800001150000000001"
IBAN_D = "DE89370400440532013000"


def soon(days: int = 3) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


@pytest.fixture
def sepa_setup(setup: Any, make_partner: Any, make_user: Any) -> Any:  # noqa: F811
    """The billing test company (ACME, 2026 open) with a euro bank account that can collect
    direct debits, two suppliers with bank accounts (one with a BIC), one without, two
    customers, and the people: who makes batches, who approves them, a clerk."""
    company = setup.company
    bank = BankAccount.objects.create(
        company=company,
        name="Cuenta principal",
        iban=COMPANY_IBAN,
        bic="CAIXESBBXXX",
        account=acc(company, "5720"),
        journal=company_journal(company, "BNK"),
        creditor_id=CREDITOR_ID,
    )
    supplier_a = make_partner(
        "SA",
        legal_name="Suministros Álava S.A.",
        is_customer=False,
        is_supplier=True,
        bank_accounts=[{"iban": IBAN_A, "bic": "BSCHESMMXXX", "is_default": True}],
    )
    supplier_b = make_partner(
        "SB",
        legal_name="Transportes Bilbao S.L.",
        is_customer=False,
        is_supplier=True,
        bank_accounts=[{"iban": IBAN_D, "is_default": True}],
    )
    # A supplier whose bank's BIC is not known: SEPA transfers go by IBAN alone.
    PartnerBankAccount.objects.filter(partner=supplier_b).update(bic="")
    supplier_c = make_partner(
        "SC", legal_name="Sin Cuenta S.L.", is_customer=False, is_supplier=True
    )
    customer_a = make_partner("CA", legal_name="Cliente Domiciliado S.L.")
    customer_b = make_partner("CB", legal_name="Empresa Grande S.A.")
    return type(
        "SepaSetup",
        (),
        {
            "company": company,
            "setup": setup,
            "bank": bank,
            "supplier_a": supplier_a,
            "supplier_b": supplier_b,
            "supplier_c": supplier_c,
            "customer_a": customer_a,
            "customer_b": customer_b,
            "maker": make_user("maker", company=company, role="accountant"),
            "approver": make_user("approver", company=company, role="accountant"),
            "clerk": make_user("clerk", company=company, role="clerk"),
        },
    )


def bill(s: Any, partner: Partner, amount: str, reference: str, due: dt.date, **kw: Any) -> Invoice:
    """An issued supplier bill of ``amount`` (no tax) due on ``due``."""
    draft = billing.invoice_create_draft(
        company=s.company,
        direction="purchase",
        partner=partner,
        date=kw.pop("date", dt.date(2026, 3, 5)),
        due_date=due,
        supplier_reference=reference,
        lines=[{"description": "Material", "quantity": D("1"), "unit_price": D(amount)}],
        **kw,
    )
    return billing.invoice_issue(instance=draft)


def sale(s: Any, partner: Partner, amount: str, due: dt.date) -> Invoice:
    """An issued sales invoice of ``amount`` (no tax) due on ``due``."""
    draft = billing.invoice_create_draft(
        company=s.company,
        direction="sale",
        partner=partner,
        date=dt.date(2026, 3, 10),
        due_date=due,
        lines=[{"description": "Cuota", "quantity": D("1"), "unit_price": D(amount)}],
    )
    return billing.invoice_issue(instance=draft)


def mandate(s: Any, partner: Partner, reference: str, **kw: Any) -> Mandate:
    return sepa.mandate_create(
        company=s.company,
        partner=partner,
        reference=reference,
        scheme=kw.pop("scheme", "CORE"),
        iban=kw.pop("iban", IBAN_C),
        signed_on=kw.pop("signed_on", dt.date(2026, 1, 15)),
        **kw,
    )


def due_bills(s: Any) -> dict[str, Invoice]:
    """Three bills due by June 2026 (1,350.49 EUR), one due in September, and what never
    goes in a transfer batch: a sales invoice and a draft bill."""
    made = {
        "A1": bill(s, s.supplier_a, "1000.00", "A-1", dt.date(2026, 4, 4)),
        "A2": bill(s, s.supplier_a, "250.50", "A-2", dt.date(2026, 5, 1)),
        "B1": bill(s, s.supplier_b, "99.99", "B-1", dt.date(2026, 4, 10)),
        "LATER": bill(s, s.supplier_b, "70.00", "B-2", dt.date(2026, 9, 30)),
        "SALE": sale(s, s.customer_a, "500.00", dt.date(2026, 4, 1)),
    }
    billing.invoice_create_draft(
        company=s.company,
        direction="purchase",
        partner=s.supplier_a,
        date=dt.date(2026, 3, 6),
        due_date=dt.date(2026, 4, 6),
        supplier_reference="A-DRAFT",
        lines=[{"description": "x", "quantity": D("1"), "unit_price": D("5")}],
    )
    return made


def transfer(s: Any, **kw: Any) -> PaymentBatch:
    kw.setdefault("due_until", dt.date(2026, 6, 30))
    return sepa.transfer_batch_create(
        company=s.company,
        bank_account=s.bank,
        execution_date=kw.pop("execution_date", soon()),
        user=kw.pop("user", s.maker),
        **kw,
    )


def parse(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314  (our own file)


# --- credit transfers -----------------------------------------------------------------------


def test_transfer_batch_pays_the_bills_due_with_exact_totals(sepa_setup: Any) -> None:
    s = sepa_setup
    bills = due_bills(s)
    batch = transfer(s)
    assert batch.kind == "transfer" and batch.state == "draft"
    assert batch.created_by == s.maker and batch.currency == "EUR"
    assert batch.total == 100000 + 25050 + 9999 and batch.line_count == 3
    lines = list(PaymentBatchLine.objects.filter(batch=batch).order_by("id"))
    assert [
        (line.invoice_id, line.amount, line.iban, line.bic, line.remittance) for line in lines
    ] == [
        (bills["A1"].pk, 100000, IBAN_A, "BSCHESMMXXX", "A-1"),
        (bills["B1"].pk, 9999, IBAN_D, "", "B-1"),
        (bills["A2"].pk, 25050, IBAN_A, "BSCHESMMXXX", "A-2"),
    ]
    assert [line.name for line in lines] == [
        "Suministros Álava S.A.",
        "Transportes Bilbao S.L.",
        "Suministros Álava S.A.",
    ]
    assert len({line.end_to_end_id for line in lines}) == 3
    assert all(line.end_to_end_id.startswith(f"TRF{batch.pk}-") for line in lines)
    # Bills already in a batch that is not cancelled are left out of the next one.
    with pytest.raises(ValidationError) as info:
        transfer(s)
    assert "No supplier bill is due" in info.value.message_dict["invoices"][0]
    # The later bill comes in once its due date is reached.
    later = transfer(s, due_until=dt.date(2026, 9, 30))
    assert list(later.lines.values_list("invoice_id", "amount")) == [(bills["LATER"].pk, 7000)]


def test_transfer_batch_of_chosen_bills(sepa_setup: Any) -> None:
    s = sepa_setup
    bills = due_bills(s)
    batch = transfer(s, invoices=[bills["LATER"].pk, bills["A2"]], due_until=None)
    assert sorted(batch.lines.values_list("amount", flat=True)) == [7000, 25050]
    assert batch.total == 32050
    with pytest.raises(ValidationError) as info:
        transfer(s, invoices=[bills["A2"].pk, bills["SALE"].pk, 999999])
    messages = info.value.message_dict["invoices"]
    assert any("A-2 is already in a payment batch" in m for m in messages)
    assert sum("No bill of this company has the id" in m for m in messages) == 2
    assert PaymentBatch.objects.count() == 1


def test_bill_without_iban_is_refused_naming_it(sepa_setup: Any) -> None:
    s = sepa_setup
    due_bills(s)
    bill(s, s.supplier_c, "40.00", "C-77", dt.date(2026, 4, 20))
    with pytest.raises(ValidationError) as info:
        transfer(s)
    [message] = info.value.message_dict["invoices"]
    assert "C-77" in message and "Sin Cuenta S.L." in message and "IBAN" in message
    assert not PaymentBatch.objects.exists() and not PaymentBatchLine.objects.exists()
    # A stored IBAN that is wrong (imported before checks existed) is named as well.
    PartnerBankAccount.objects.create(
        company=s.company, partner=s.supplier_c, iban="ES0012345678901234567890", is_default=True
    )
    with pytest.raises(ValidationError) as info:
        transfer(s)
    [message] = info.value.message_dict["invoices"]
    assert message.startswith("C-77: the bank account of Sin Cuenta S.L. is wrong:")
    assert not PaymentBatch.objects.exists()


def test_batch_refuses_a_past_date_a_foreign_account_and_another_company(
    sepa_setup: Any, make_company: Any
) -> None:
    s = sepa_setup
    due_bills(s)
    with pytest.raises(ValidationError) as info:
        transfer(s, execution_date=timezone.localdate() - dt.timedelta(days=1))
    assert "execution_date" in info.value.message_dict
    other = make_company("OTRA2")
    with pytest.raises(ValidationError) as info:
        sepa.transfer_batch_create(
            company=other, bank_account=s.bank, execution_date=soon(), user=s.maker
        )
    assert "bank_account" in info.value.message_dict
    s.bank.currency = "USD"
    s.bank.save()
    with pytest.raises(ValidationError) as info:
        transfer(s)
    assert "euros" in info.value.message_dict["bank_account"][0]
    assert not PaymentBatch.objects.exists()


def test_creator_cannot_approve(sepa_setup: Any) -> None:
    s = sepa_setup
    due_bills(s)
    batch = transfer(s)
    with pytest.raises(ValidationError) as info:
        sepa.batch_approve(batch=batch, user=s.maker)
    assert info.value.message_dict == {
        "approved_by": ["The person who created the batch cannot approve it."]
    }
    batch.refresh_from_db()
    assert batch.state == "draft" and batch.approved_by is None
    with pytest.raises(ValidationError) as info:
        sepa.batch_export(batch=batch, user=s.approver)
    assert "state" in info.value.message_dict
    approved = sepa.batch_approve(batch=batch, user=s.approver)
    assert approved.state == "approved" and approved.approved_by == s.approver
    assert approved.approved_at is not None
    with pytest.raises(ValidationError):
        sepa.batch_approve(batch=batch, user=s.approver)


def test_export_builds_a_file_valid_against_the_schema(sepa_setup: Any) -> None:
    s = sepa_setup
    due_bills(s)
    execution = soon(5)
    batch = transfer(s, execution_date=execution)
    sepa.batch_approve(batch=batch, user=s.approver)
    content = sepa.batch_export(batch=batch, user=s.approver)
    sepa.sepa_validate(content, sepa.SCHEMA_TRANSFER)  # valid: nothing raised
    root = parse(content)
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS_TRF)
    assert header is not None
    assert header.findtext("p:NbOfTxs", namespaces=NS_TRF) == "3"
    assert header.findtext("p:CtrlSum", namespaces=NS_TRF) == "1350.49"
    assert header.findtext("p:InitgPty/p:Nm", namespaces=NS_TRF) == "Acme Iberica S.L."
    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS_TRF)
    assert info is not None
    assert info.findtext("p:ReqdExctnDt", namespaces=NS_TRF) == execution.isoformat()
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS_TRF) == COMPANY_IBAN
    assert info.findtext("p:DbtrAgt/p:FinInstnId/p:BIC", namespaces=NS_TRF) == "CAIXESBBXXX"
    payments = [
        (
            tx.findtext("p:Amt/p:InstdAmt", namespaces=NS_TRF),
            tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS_TRF),
            tx.findtext("p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=NS_TRF),
            tx.findtext("p:Cdtr/p:Nm", namespaces=NS_TRF),
            tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS_TRF),
            tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS_TRF),
        )
        for tx in info.findall("p:CdtTrfTxInf", NS_TRF)
    ]
    assert payments == [
        ("1000.00", IBAN_A, "BSCHESMMXXX", "Suministros Alava S.A.", "A-1", f"TRF{batch.pk}-1"),
        ("99.99", IBAN_D, None, "Transportes Bilbao S.L.", "B-1", f"TRF{batch.pk}-2"),
        ("250.50", IBAN_A, "BSCHESMMXXX", "Suministros Alava S.A.", "A-2", f"TRF{batch.pk}-3"),
    ]
    batch.refresh_from_db()
    assert batch.state == "exported"
    assert batch.message_id == header.findtext("p:MsgId", namespaces=NS_TRF)
    assert batch.xml.encode("utf-8") == content
    # Exporting again gives the same file.
    assert sepa.batch_export(batch=batch, user=s.maker) == content


def test_an_invalid_line_is_refused_naming_the_problem(sepa_setup: Any) -> None:
    s = sepa_setup
    due_bills(s)
    batch = transfer(s)
    sepa.batch_approve(batch=batch, user=s.approver)
    first, second, _third = batch.lines.order_by("id")
    # A wrong check digit: the schema only checks the shape, the export checks the digits.
    PaymentBatchLine.objects.filter(pk=first.pk).update(iban="ES0000491500012710001234")
    with pytest.raises(ValidationError) as info:
        sepa.batch_export(batch=batch, user=s.approver)
    errors = info.value.message_dict
    assert list(errors) == ["lines[1].iban"]
    assert "Line 1 (Suministros Álava S.A., A-1)" in errors["lines[1].iban"][0]
    assert "ES0000491500012710001234 is not a valid IBAN" in errors["lines[1].iban"][0]
    # What only the schema knows: the remittance information cannot be empty.
    PaymentBatchLine.objects.filter(pk=first.pk).update(iban=IBAN_A)
    PaymentBatchLine.objects.filter(pk=second.pk).update(remittance="")
    with pytest.raises(ValidationError) as info:
        sepa.batch_export(batch=batch, user=s.approver)
    errors = info.value.message_dict
    assert errors["xml"] == ["The file does not follow the pain.001.001.03 schema."]
    [message] = errors["lines[2].remittance"]
    assert message.startswith(f"Payment TRF{batch.pk}-2: /Document/CstmrCdtTrfInitn/PmtInf/")
    assert "CdtTrfTxInf[2]/RmtInf/Ustrd" in message
    batch.refresh_from_db()
    assert batch.state == "approved" and batch.xml == "" and batch.message_id == ""


def test_a_bill_paid_meanwhile_stops_the_batch(sepa_setup: Any) -> None:
    s = sepa_setup
    bills = due_bills(s)
    batch = transfer(s)
    billing.payment_create(
        company=s.company,
        direction="purchase",
        partner=s.supplier_b,
        date=dt.date(2026, 4, 1),
        amount=D("99.99"),
        bank_account=acc(s.company, "5720"),
        allocations=[{"invoice": bills["B1"]}],
    )
    with pytest.raises(ValidationError) as info:
        sepa.batch_approve(batch=batch, user=s.approver)
    assert "B-1 is no longer open for 99.99 EUR" in info.value.message_dict["lines[2].amount"][0]


def test_cancel(sepa_setup: Any) -> None:
    s = sepa_setup
    due_bills(s)
    batch = transfer(s)
    cancelled = sepa.batch_cancel(batch=batch, user=s.maker)
    assert cancelled.state == "cancelled"
    with pytest.raises(ValidationError):
        sepa.batch_cancel(batch=batch)
    with pytest.raises(ValidationError):
        sepa.batch_approve(batch=batch, user=s.approver)
    # The bills of a cancelled batch go in the next one.
    again = transfer(s)
    assert again.total == 135049
    sepa.batch_approve(batch=again, user=s.approver)
    sepa.batch_export(batch=again)
    PaymentBatch.objects.filter(pk=again.pk).update(state="paid")
    with pytest.raises(ValidationError) as info:
        sepa.batch_cancel(batch=again)
    assert "cannot be cancelled" in info.value.message_dict["state"][0]


# --- direct debits --------------------------------------------------------------------------


def debit(s: Any, **kw: Any) -> PaymentBatch:
    kw.setdefault("due_until", dt.date(2026, 6, 30))
    return sepa.debit_batch_create(
        company=s.company,
        bank_account=s.bank,
        collection_date=kw.pop("collection_date", soon()),
        user=kw.pop("user", s.maker),
        **kw,
    )


def test_direct_debit_first_then_recurrent(sepa_setup: Any) -> None:
    s = sepa_setup
    core = mandate(s, s.customer_a, "MND-0001", signed_on=dt.date(2026, 2, 1))
    first_invoice = sale(s, s.customer_a, "120.00", dt.date(2026, 4, 1))
    sale(s, s.customer_b, "80.00", dt.date(2026, 4, 1))  # no mandate: paid some other way
    collection = soon(6)
    batch = debit(s, collection_date=collection)
    [line] = batch.lines.all()
    assert (line.invoice_id, line.amount, line.mandate_id, line.sequence_type) == (
        first_invoice.pk,
        12000,
        core.pk,
        "FRST",
    )
    assert (line.iban, line.bic, line.remittance) == (IBAN_C, "CAGLESMM", first_invoice.number)
    sepa.batch_approve(batch=batch, user=s.approver)
    content = sepa.batch_export(batch=batch, user=s.approver)
    sepa.sepa_validate(content, sepa.SCHEMA_DEBIT)
    root = parse(content)
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS_DD) == "120.00"
    info = root.find("p:CstmrDrctDbtInitn/p:PmtInf", NS_DD)
    assert info is not None
    assert info.findtext("p:PmtTpInf/p:LclInstrm/p:Cd", namespaces=NS_DD) == "CORE"
    assert info.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS_DD) == "FRST"
    assert info.findtext("p:ReqdColltnDt", namespaces=NS_DD) == collection.isoformat()
    assert info.findtext("p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS_DD) == CREDITOR_ID
    tx = info.find("p:DrctDbtTxInf", NS_DD)
    assert tx is not None
    assert tx.findtext("p:InstdAmt", namespaces=NS_DD) == "120.00"
    assert tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=NS_DD) == "MND-0001"
    assert tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", namespaces=NS_DD) == "2026-02-01"
    assert tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS_DD) == IBAN_C
    core.refresh_from_db()
    assert core.last_collected_on == collection and core.sequence_type == "RCUR"

    second_invoice = sale(s, s.customer_a, "45.50", dt.date(2026, 5, 1))
    batch2 = debit(s, collection_date=soon(40))
    [line2] = batch2.lines.all()
    assert (line2.invoice_id, line2.sequence_type) == (second_invoice.pk, "RCUR")
    sepa.batch_approve(batch=batch2, user=s.approver)
    root2 = parse(sepa.batch_export(batch=batch2, user=s.approver))
    assert root2.findtext("p:CstmrDrctDbtInitn/p:PmtInf/p:PmtTpInf/p:SeqTp", namespaces=NS_DD) == (
        "RCUR"
    )
    core.refresh_from_db()
    assert core.last_collected_on == soon(40)
    # Cancelling generated files puts the mandate back: the next collection is FRST again.
    sepa.batch_cancel(batch=batch2)
    core.refresh_from_db()
    assert core.last_collected_on == collection
    sepa.batch_cancel(batch=batch)
    core.refresh_from_db()
    assert core.last_collected_on is None and core.sequence_type == "FRST"


def test_two_first_collections_prepared_at_once(sepa_setup: Any) -> None:
    """Two batches made before either file: the one generated second is RCUR."""
    s = sepa_setup
    mandate(s, s.customer_a, "MND-0002")
    sale(s, s.customer_a, "10.00", dt.date(2026, 4, 1))
    first = debit(s)
    sale(s, s.customer_a, "20.00", dt.date(2026, 4, 2))
    second = debit(s, collection_date=soon(10))
    assert [b.lines.get().sequence_type for b in (first, second)] == ["FRST", "FRST"]
    for batch in (first, second):
        sepa.batch_approve(batch=batch, user=s.approver)
        sepa.batch_export(batch=batch)
    assert [b.lines.get().sequence_type for b in (first, second)] == ["FRST", "RCUR"]


def test_b2b_mandate_and_schemes_in_separate_files(sepa_setup: Any) -> None:
    s = sepa_setup
    mandate(s, s.customer_a, "CORE-1")
    mandate(s, s.customer_b, "B2B-1", scheme="B2B", iban=IBAN_B, bic="BBVAESMMXXX")
    sale(s, s.customer_a, "10.00", dt.date(2026, 4, 1))
    big = sale(s, s.customer_b, "5000.00", dt.date(2026, 4, 1))
    with pytest.raises(ValidationError) as info:
        debit(s)
    assert "separate files" in info.value.message_dict["scheme"][0]
    batch = debit(s, scheme="B2B")
    [line] = batch.lines.all()
    assert (line.invoice_id, line.amount, line.bic) == (big.pk, 500000, "BBVAESMMXXX")
    assert sepa.batch_scheme(batch) == "B2B"
    sepa.batch_approve(batch=batch, user=s.approver)
    root = parse(sepa.batch_export(batch=batch, user=s.approver))
    info_node = root.find("p:CstmrDrctDbtInitn/p:PmtInf", NS_DD)
    assert info_node is not None
    assert info_node.findtext("p:PmtTpInf/p:LclInstrm/p:Cd", namespaces=NS_DD) == "B2B"
    assert info_node.findtext("p:DrctDbtTxInf/p:DbtrAgt/p:FinInstnId/p:BIC", namespaces=NS_DD) == (
        "BBVAESMMXXX"
    )
    core_batch = debit(s, scheme="CORE")
    assert sepa.batch_scheme(core_batch) == "CORE" and core_batch.total == 1000


def test_debits_need_a_creditor_id_and_a_mandate(sepa_setup: Any) -> None:
    s = sepa_setup
    invoice = sale(s, s.customer_a, "10.00", dt.date(2026, 4, 1))
    with pytest.raises(ValidationError) as info:
        debit(s, invoices=[invoice.pk])
    assert "no active mandate" in info.value.message_dict["invoices"][0]
    BankAccount.objects.filter(pk=s.bank.pk).update(creditor_id="")
    s.bank.refresh_from_db()
    with pytest.raises(ValidationError) as info:
        debit(s)
    assert "creditor identifier" in info.value.message_dict["bank_account"][0]
    assert not PaymentBatch.objects.exists()


def test_revoked_or_expired_mandates_are_not_collected(sepa_setup: Any) -> None:
    s = sepa_setup
    old = mandate(s, s.customer_a, "OLD-1", signed_on=dt.date(2022, 1, 10))
    invoice = sale(s, s.customer_a, "10.00", dt.date(2026, 4, 1))
    assert sepa.mandate_expired(old, soon())
    with pytest.raises(ValidationError) as info:
        debit(s)
    assert "has expired" in info.value.message_dict["invoices"][0]
    fresh = mandate(s, s.customer_a, "NEW-1", signed_on=dt.date(2026, 3, 1))
    batch = debit(s)
    assert batch.lines.get().mandate_id == fresh.pk
    sepa.batch_approve(batch=batch, user=s.approver)
    sepa.mandate_revoke(instance=fresh)
    with pytest.raises(ValidationError) as info:
        sepa.batch_export(batch=batch)
    assert "NEW-1 is not active" in info.value.message_dict["lines[1].mandate"][0]
    assert invoice.pk == batch.lines.get().invoice_id


# --- mandates -------------------------------------------------------------------------------


def test_mandate_rules(sepa_setup: Any) -> None:
    s = sepa_setup
    with pytest.raises(ValidationError) as info:
        sepa.mandate_create(
            company=s.company,
            partner=s.supplier_a,
            reference="Bad ref ñ",
            scheme="XYZ",
            iban="ES00 1234",
            signed_on=timezone.localdate() + dt.timedelta(days=1),
        )
    assert set(info.value.message_dict) == {"partner", "reference", "scheme", "iban", "signed_on"}
    assert not Mandate.objects.exists()
    made = sepa.mandate_create(
        company=s.company,
        partner="CA",
        reference="MND-9",
        iban="es95 2080 0001 1500 0000 0001",
        signed_on="2026-02-02",
    )
    assert (made.partner, made.iban, made.bic, made.scheme, made.signed_on) == (
        s.customer_a,
        IBAN_C,
        "CAGLESMM",
        "CORE",
        dt.date(2026, 2, 2),
    )
    with pytest.raises(ValidationError) as info:
        mandate(s, s.customer_b, "MND-9")
    assert "already has a mandate" in info.value.message_dict["reference"][0]
    # Not used yet: free to change and to delete.
    made = sepa.mandate_update(instance=made, iban=IBAN_B)
    assert made.iban == IBAN_B
    spare = mandate(s, s.customer_b, "SPARE")
    sepa.mandate_delete(instance=spare)
    assert not Mandate.objects.filter(reference="SPARE").exists()
    # Used: identifying fields are fixed, deleting is refused (revoke instead).
    sale(s, s.customer_a, "10.00", dt.date(2026, 4, 1))
    debit(s)
    with pytest.raises(ValidationError) as info:
        sepa.mandate_update(instance=made, iban=IBAN_C, reference="MND-10")
    assert set(info.value.message_dict) == {"iban", "reference"}
    with pytest.raises(ValidationError) as info:
        sepa.mandate_delete(instance=made)
    assert "revoke it instead" in info.value.messages[0]
    revoked = sepa.mandate_revoke(instance=made)
    assert revoked.state == "revoked"
    with pytest.raises(ValidationError):
        sepa.mandate_update(instance=revoked, state="active")


# --- the validator and real files -----------------------------------------------------------


@pytest.mark.parametrize("name", ["gistfile1.xml", "International_payment_RUB_naujas_1.xml"])
def test_real_pain001_files_are_valid(name: str) -> None:
    content = (DATA / name).read_bytes()
    assert sepa.sepa_schema_errors(content, sepa.SCHEMA_TRANSFER) == {}
    # A credit transfer is not a direct debit.
    errors = sepa.sepa_schema_errors(content, sepa.SCHEMA_DEBIT)
    assert "is not an element of the schema" in errors["xml"][1]


def test_swiss_variant_is_not_the_iso_schema() -> None:
    content = (DATA / "pain008-musterfile.xml").read_bytes()
    with pytest.raises(ValidationError) as info:
        sepa.sepa_validate(content, sepa.SCHEMA_DEBIT)
    [summary, detail] = info.value.message_dict["xml"]
    assert summary == "The file does not follow the pain.008.001.02 schema."
    assert "pain.008.001.02.ch.03.xsd}Document" in detail
    assert sepa.sepa_schema_errors(b"<Document", sepa.SCHEMA_DEBIT)["xml"][0].startswith(
        "The file is not well-formed XML"
    )


# --- the whole story ------------------------------------------------------------------------


def test_story_bills_due_to_paid_when_the_statement_line_is_reconciled(sepa_setup: Any) -> None:
    """Bills due → batch → approved by a second person → file → the bank books the batch as
    one movement → reconciling it pays every bill and marks the batch paid."""
    from trastienda.banking.models import Statement, StatementLine
    from trastienda.banking.reconciliation import reconcile_batch

    s = sepa_setup
    bills = due_bills(s)
    batch = transfer(s)
    sepa.batch_approve(batch=batch, user=s.approver)
    sepa.batch_export(batch=batch, user=s.maker)
    statement = Statement.objects.create(
        company=s.company,
        bank_account=s.bank,
        format="camt.053",
        file_hash="0" * 64,
        start_date=dt.date(2026, 11, 30),
        end_date=dt.date(2026, 11, 30),
    )
    line = StatementLine.objects.create(
        company=s.company,
        statement=statement,
        bank_account=s.bank,
        sequence=1,
        booking_date=dt.date(2026, 11, 30),
        amount=-135049,
        open_amount=-135049,
        currency="EUR",
        description="SEPA batch",
        reference=batch.message_id,
        fingerprint="f" * 64,
    )
    reconcile_batch(line=line, batch=batch, user=s.maker)
    batch.refresh_from_db()
    assert batch.state == "paid"
    for key in ("A1", "A2", "B1"):
        bills[key].refresh_from_db()
        assert (bills[key].open_amount, bills[key].payment_state) == (0, "paid")
    assert not batch.lines.filter(payment__isnull=True).exists()
    bills["LATER"].refresh_from_db()
    assert bills["LATER"].open_amount == 7000
    with pytest.raises(ValidationError):
        sepa.batch_cancel(batch=batch)


# --- concurrency ----------------------------------------------------------------------------


def make_transfer_batch(ids: list[int]) -> list[str]:
    """Run in each process: a transfer batch of the bills due (company, bank account, user)."""
    from django.contrib.auth import get_user_model

    from trastienda.core.models import Company

    company_id, bank_id, user_id = ids
    try:
        batch = sepa.transfer_batch_create(
            company=Company.objects.get(pk=company_id),
            bank_account=bank_id,
            execution_date=soon(),
            due_until=dt.date(2026, 6, 30),
            user=get_user_model().objects.get(pk=user_id),
        )
    except ValidationError as exc:
        return [f"refused: {' '.join(exc.messages)}"]
    return [f"batch {batch.pk}"]


@pytest.mark.django_db(transaction=True)
def test_processes_making_batches_at_once_never_pay_a_bill_twice(
    sepa_setup: Any, tmp_path: Path
) -> None:
    from trastienda.core.testing import run_in_processes

    s = sepa_setup
    try:
        due_bills(s)
        ids = [s.company.pk, s.bank.pk, s.maker.pk]
        results = run_in_processes(
            "trastienda.banking.tests.test_sepa:make_transfer_batch", [ids] * 4, tmp_path
        )
        outcomes = sorted(result for [result] in results)
        assert [o.split(" ")[0] for o in outcomes] == ["batch", "refused:", "refused:", "refused:"]
        assert all("No supplier bill is due" in o for o in outcomes[1:])
        batch = PaymentBatch.objects.get()
        assert batch.total == 135049 and batch.line_count == 3
        assert PaymentBatchLine.objects.count() == 3
    finally:
        _remove_posted(s.company)


def _remove_posted(company: Any) -> None:
    """SQLite's flush after a transactional test deletes row by row, which the ledger's
    immutability triggers refuse: remove the posted records with the triggers lifted
    (PostgreSQL truncates, which row triggers do not see)."""
    from django.db import connection

    from trastienda.billing.models import Installment
    from trastienda.ledger.models import JournalEntry, JournalEntryLine
    from trastienda.ledger.triggers import lifted

    if connection.vendor != "sqlite":
        return
    with lifted(connection):
        PaymentBatchLine.objects.filter(company=company).delete()
        PaymentBatch.objects.filter(company=company).delete()
        Installment.objects.filter(company=company).delete()
        Invoice.objects.filter(company=company).delete()
        JournalEntryLine.objects.filter(company=company).delete()
        JournalEntry.objects.filter(company=company).delete()

"""Collections (dunning): levels by days overdue, promises to pay, interest, letters in the
customer's language (PDF and e-mail), blocking, the review screen, the API, permissions and
the daily job.

Dates are relative to today (a run's date cannot be in the future). Interest convention:
simple interest, actual days / 365, rounded half up to the cent per overdue instalment.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from trastienda.billing import dunning, services
from trastienda.billing.models import (
    DunningLetter,
    DunningLevel,
    DunningRun,
    Invoice,
    InvoiceDelivery,
    InvoiceSeries,
    Partner,
    PromiseToPay,
)
from trastienda.core.models import Notification
from trastienda.documents.models import Document
from trastienda.ledger import services as ledger
from trastienda.ledger.models import Account, FiscalYear, Journal

D = Decimal
TODAY = timezone.localdate()


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def acc(company: Any, code: str) -> Account:
    return Account.objects.get(company=company, code=code)


@pytest.fixture
def setup(company: Any) -> Any:
    """ACME (ES): fiscal years around today, one invoice series, receivable and income
    accounts, an IBAN and the statutory rate 10.15 %, and three customers (es, it, en)."""
    for year in sorted({day(-400).year, TODAY.year}):
        if not FiscalYear.objects.for_company(company).filter(name=str(year)).exists():
            ledger.fiscal_year_create(
                company=company,
                name=str(year),
                start_date=dt.date(year, 1, 1),
                end_date=dt.date(year, 12, 31),
            )
    journal = Journal.objects.get(company=company, code="SAL")
    InvoiceSeries.objects.get_or_create(
        company=company,
        code="FX",
        defaults={"name": "Invoices", "journal": journal, "kind": "invoice"},
    )
    InvoiceSeries.objects.for_company(company).exclude(code="FX").update(active=False)
    settings = services.billing_settings(company)
    settings.customer_account = acc(company, "4300")
    settings.income_account = acc(company, "7000")
    settings.iban = "ES9121000418450200051332"
    settings.late_interest_rate = D("10.15")
    settings.save()
    partners = {
        code: Partner.objects.create(
            company=company,
            code=code,
            legal_name=name,
            tax_id=tax_id,
            is_customer=True,
            language=language,
            email=email,
        )
        for code, name, tax_id, language, email in (
            ("C1", "Cliente Uno S.L.", "B12345674", "es", "uno@example.com"),
            ("C2", "Cliente Due S.r.l.", "A58818501", "it", "due@example.com"),
            ("C3", "Customer Three Ltd", "B00000000", "en", ""),
        )
    }
    return type("Setup", (), {"company": company, "partners": partners, "settings": settings})


def issue(
    setup: Any, partner: str, amount: str, due: dt.date, date: dt.date | None = None
) -> Invoice:
    """An issued invoice of ``amount`` EUR (no taxes) falling due on ``due``."""
    draft = services.invoice_create_draft(
        company=setup.company,
        direction="sale",
        partner=setup.partners[partner],
        date=date or day(-120),
        due_date=due,
        lines=[{"description": "Servicio", "quantity": D("1"), "unit_price": D(amount)}],
    )
    return services.invoice_issue(instance=draft)


def pay(setup: Any, invoice: Invoice, date: dt.date) -> None:
    invoice.refresh_from_db()
    services.payment_create(
        company=setup.company,
        direction="sale",
        partner=invoice.partner,
        date=date,
        amount=Decimal(invoice.open_amount) / 100,
        bank_account=acc(setup.company, "5720"),
        allocations=[{"invoice": invoice}],
    )


def letters_by_partner(run: DunningRun) -> dict[str, DunningLetter]:
    return {
        letter.partner.code: letter for letter in run.letters.select_related("partner", "level")
    }


# --- arithmetic -------------------------------------------------------------------------------


def test_interest_is_exact_simple_interest_on_365_days() -> None:
    # 1,000.00 EUR x 10.15 % x 30 / 365 = 8.3424... -> 8.34
    assert dunning.late_interest(amount=100000, currency="EUR", rate=D("10.15"), days=30) == 834
    # 3.65 EUR x 10 % x 5 / 365 = 0.005 exactly -> rounded half up to 0.01
    assert dunning.late_interest(amount=365, currency="EUR", rate=D("10"), days=5) == 1
    assert dunning.late_interest(amount=100000, currency="EUR", rate=D("10.15"), days=0) == 0
    assert dunning.late_interest(amount=100000, currency="JPY", rate=D("8"), days=365) == 8000
    with pytest.raises(TypeError):
        dunning.late_interest(amount=100000, currency="EUR", rate=10.15, days=30)  # type: ignore[arg-type]


def test_fee_in_another_currency_uses_the_invoice_rate() -> None:
    assert dunning.convert_fee(4000, "EUR", "EUR", D("1")) == 4000
    assert dunning.convert_fee(4000, "EUR", "USD", D("0.9")) == 4444  # 40 / 0.9 = 44.444
    assert dunning.convert_fee(0, "EUR", "USD", D("0.9")) == 0


def test_default_levels_follow_the_company(company: Any, make_company: Any) -> None:
    levels = dunning.dunning_levels_default(company)
    assert [
        (lv.level, lv.days_overdue, lv.fee, lv.charge_interest, lv.block_partner) for lv in levels
    ] == [(1, 7, 0, False, False), (2, 21, 4000, False, False), (3, 45, 4000, True, True)]
    assert "Ley 3/2004" in levels[1].text_es and "Law 3/2004" in levels[1].text_en
    assert dunning.dunning_levels_default(company) == levels  # idempotent
    italian = make_company("ITA", country="IT", language="it")
    levels = dunning.dunning_levels_default(italian)
    assert levels[2].name == "Diffida ad adempiere"
    assert "231/2002" in levels[2].text_it and "231" in levels[1].text_es


def test_level_validation_names_the_field(company: Any) -> None:
    dunning.dunning_levels_default(company)
    with pytest.raises(ValidationError) as info:
        dunning.dunning_level_create(company=company, level=4, name="x", days_overdue=30)
    assert "days_overdue" in info.value.message_dict  # level 3 is at 45 days
    with pytest.raises(ValidationError) as info:
        dunning.dunning_level_create(
            company=company, level=4, name="x", days_overdue=60, fee="1.234"
        )
    assert "fee" in info.value.message_dict
    assert DunningLevel.objects.filter(company=company).count() == 3
    level = dunning.dunning_level_create(
        company=company, level=4, name="Abogado", days_overdue=90, fee=D("100.50")
    )
    assert level.fee == 10050


# --- proposals --------------------------------------------------------------------------------


def test_levels_by_days_overdue_at_the_boundaries(setup: Any) -> None:
    for n, offset in enumerate((6, 7, 20, 21, 44, 45), start=1):
        Partner.objects.create(
            company=setup.company,
            code=f"B{n}",
            legal_name=f"Boundary {n} S.L.",
            tax_id="B12345674",
            is_customer=True,
        )
        setup.partners[f"B{n}"] = Partner.objects.get(company=setup.company, code=f"B{n}")
        issue(setup, f"B{n}", "100", due=day(-offset))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    letters = letters_by_partner(run)
    assert "B1" not in letters  # 6 days: not yet
    assert {code: letters[code].level.level for code in letters} == {
        "B2": 1,
        "B3": 1,
        "B4": 2,
        "B5": 2,
        "B6": 3,
    }
    assert letters["B2"].fee_amount == 0 and letters["B4"].fee_amount == 4000
    assert letters["B4"].interest_amount == 0  # the second notice claims no interest
    # 100.00 x 10.15 % x 45 / 365 = 1.2513... -> 1.25
    assert letters["B6"].interest_amount == 125 and letters["B6"].fee_amount == 4000
    assert letters["B6"].overdue_amount == 10000 and letters["B6"].currency == "EUR"


def test_nothing_overdue_is_an_error_on_date(setup: Any) -> None:
    issue(setup, "C1", "100", due=day(-3))
    with pytest.raises(ValidationError) as info:
        dunning.dunning_run_propose(company=setup.company, date=TODAY)
    assert "date" in info.value.message_dict
    assert not DunningRun.objects.exists()
    with pytest.raises(ValidationError) as info:
        dunning.dunning_run_propose(company=setup.company, date=day(1))
    assert "date" in info.value.message_dict


def test_interest_of_30_days_in_the_letter(setup: Any) -> None:
    levels = dunning.dunning_levels_default(setup.company)
    dunning.dunning_level_update(instance=levels[2], days_overdue=30)
    issue(setup, "C1", "1000", due=day(-30))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    letter = letters_by_partner(run)["C1"]
    assert letter.level.level == 3
    assert (letter.overdue_amount, letter.interest_amount, letter.fee_amount) == (100000, 834, 4000)
    rows = dunning.letter_rows(letter)
    assert [(r.days, r.overdue_amount, r.interest) for r in rows] == [(30, 100000, 834)]


def test_only_overdue_instalments_count(setup: Any) -> None:
    from trastienda.billing.models import PaymentTerm

    term = PaymentTerm.objects.create(company=setup.company, code="2X", name="2x", days="30/90")
    draft = services.invoice_create_draft(
        company=setup.company,
        direction="sale",
        partner=setup.partners["C1"],
        date=day(-60),
        payment_term=term,
        lines=[{"description": "x", "quantity": D("1"), "unit_price": D("200")}],
    )
    services.invoice_issue(instance=draft)
    letter = letters_by_partner(dunning.dunning_run_propose(company=setup.company, date=TODAY))[
        "C1"
    ]
    assert letter.overdue_amount == 10000  # the first half, due 30 days ago
    assert letter.level.level == 2


def test_promise_to_pay_suppresses_until_its_date(setup: Any) -> None:
    a = issue(setup, "C1", "100", due=day(-10))
    b = issue(setup, "C1", "50", due=day(-10))
    promise = dunning.promise_to_pay_record(
        partner=setup.partners["C1"],
        invoice=a,
        promised_date=day(5),
        amount=D("100.00"),
        note="Llamó: paga el viernes",
    )
    assert promise.amount == 10000
    letter = letters_by_partner(dunning.dunning_run_propose(company=setup.company, date=TODAY))[
        "C1"
    ]
    assert list(letter.invoices.all()) == [b] and letter.overdue_amount == 5000
    dunning.promise_to_pay_record(partner=setup.partners["C1"], promised_date=TODAY)
    with pytest.raises(ValidationError):  # a promise for everything: nothing to send
        dunning.dunning_run_propose(company=setup.company, date=TODAY)
    # a promise whose date has passed covers nothing
    PromiseToPay.objects.filter(company=setup.company).update(promised_date=day(-1))
    letter = letters_by_partner(dunning.dunning_run_propose(company=setup.company, date=TODAY))[
        "C1"
    ]
    assert letter.overdue_amount == 15000
    assert DunningRun.objects.filter(state="proposed").count() == 1  # the old proposal replaced


def test_bad_promises_name_the_field_and_write_nothing(setup: Any) -> None:
    a = issue(setup, "C1", "100", due=day(-10))
    cases = [
        ({"partner": setup.partners["C2"], "invoice": a, "promised_date": day(3)}, "invoice"),
        (
            {
                "partner": setup.partners["C1"],
                "invoice": a,
                "promised_date": day(3),
                "amount": D("100.01"),
            },
            "amount",
        ),
        (
            {
                "partner": setup.partners["C1"],
                "invoice": a,
                "promised_date": day(3),
                "amount": D("1.001"),
            },
            "amount",
        ),
        ({"partner": setup.partners["C1"], "promised_date": day(-1)}, "promised_date"),
        ({"partner": setup.partners["C1"], "promised_date": "tomorrow"}, "promised_date"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as info:
            dunning.promise_to_pay_record(**kwargs)
        assert field in info.value.message_dict, kwargs
    assert not PromiseToPay.objects.exists()


def test_never_below_the_last_level_sent_unless_paid(setup: Any) -> None:
    a = issue(setup, "C1", "100", due=day(-40))
    b = issue(setup, "C1", "80", due=day(-20))
    c = issue(setup, "C1", "60", due=day(-12))
    first = dunning.dunning_run_propose(company=setup.company, date=day(-15))
    letter = letters_by_partner(first)["C1"]
    assert letter.level.level == 2 and set(letter.invoices.all()) == {a, b}
    dunning.dunning_run_confirm(run=first)
    pay(setup, a, day(-14))
    with pytest.raises(ValidationError):  # B (7 days) was told at level 2 already
        dunning.dunning_run_propose(company=setup.company, date=day(-13))
    second = dunning.dunning_run_propose(company=setup.company, date=day(-10))
    letter = letters_by_partner(second)["C1"]
    assert letter.level.level == 2  # 10 days would be level 1; B was told at level 2
    assert set(letter.invoices.all()) == {b, c}
    dunning.dunning_run_discard(run=second)
    pay(setup, b, day(-9))
    third = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    letter = letters_by_partner(third)["C1"]
    assert letter.level.level == 1 and list(letter.invoices.all()) == [c]
    with pytest.raises(ValidationError) as info:  # before a confirmed run's date
        dunning.dunning_run_propose(company=setup.company, date=day(-20))
    assert "date" in info.value.message_dict


# --- confirmation -----------------------------------------------------------------------------


def test_final_notice_blocks_the_partner_and_new_invoices_are_refused(
    setup: Any, accountant: Any
) -> None:
    from trastienda.audit.models import AuditEntry
    from trastienda.core.context import acting

    issue(setup, "C1", "100", due=day(-50))
    issue(setup, "C2", "100", due=day(-10))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    with acting(user=accountant, company=setup.company):
        run = dunning.dunning_run_confirm(run=run, user=accountant)
    assert run.state == "confirmed" and run.confirmed_by == "marta"
    assert all(letter.sent_at for letter in run.letters.all())
    c1, c2 = (Partner.objects.get(pk=setup.partners[c].pk) for c in ("C1", "C2"))
    assert c1.blocked and not c2.blocked
    event = AuditEntry.objects.filter(
        object_type="billing.partner", object_id=str(c1.pk), action="other"
    ).get()
    assert event.extra["blocked"] is True and "dunning run" in event.extra["reason"]
    assert event.username == "marta"
    assert AuditEntry.objects.filter(
        object_type="billing.dunningrun", object_id=str(run.pk), action="other"
    ).get().extra["blocked"] == ["C1"]
    with pytest.raises(ValidationError) as info:
        services.invoice_create_draft(
            company=setup.company,
            direction="sale",
            partner=c1,
            date=TODAY,
            lines=[{"description": "x", "quantity": D("1"), "unit_price": D("1")}],
        )
    assert "partner" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        dunning.dunning_run_confirm(run=run)
    assert "state" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        dunning.partner_block(partner=c1, blocked=False, reason="")
    assert "reason" in info.value.message_dict
    dunning.partner_block(partner=c1, blocked=False, reason="Pagará en plazos")
    assert not Partner.objects.get(pk=c1.pk).blocked
    assert [e.blocked for e in dunning.partner_block_history(c1)] == [False, True]


def test_confirm_refused_when_paid_since_the_proposal(setup: Any) -> None:
    a = issue(setup, "C1", "100", due=day(-30))
    run = dunning.dunning_run_propose(company=setup.company, date=day(-5))
    pay(setup, a, day(-2))
    with pytest.raises(ValidationError) as info:
        dunning.dunning_run_confirm(run=run)
    assert "C1" in info.value.message_dict["letters"][0]
    run.refresh_from_db()
    assert run.state == "proposed" and not run.letters.filter(sent_at__isnull=False).exists()


def test_excluded_letters_are_not_sent_and_stay_excluded(setup: Any) -> None:
    issue(setup, "C1", "100", due=day(-10))
    issue(setup, "C2", "100", due=day(-10))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    dunning.letter_exclude(letter=letters_by_partner(run)["C2"])
    again = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    assert again.pk == run.pk and DunningRun.objects.count() == 1  # proposed again in place
    assert not letters_by_partner(again)["C2"].included
    dunning.letter_exclude(letter=letters_by_partner(again)["C1"])
    with pytest.raises(ValidationError) as info:
        dunning.dunning_run_confirm(run=again)
    assert "letters" in info.value.message_dict
    dunning.letter_include(letter=letters_by_partner(again)["C1"])
    dunning.dunning_run_confirm(run=again)
    letters = letters_by_partner(again)
    assert letters["C1"].sent_at and not letters["C2"].sent_at
    with pytest.raises(ValidationError):
        dunning.letter_include(letter=letters["C2"])  # the run is confirmed


# --- letters: PDF and e-mail ------------------------------------------------------------------


def pdf_text(content: bytes, tmp_path: Any) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler) is not installed")
    path = tmp_path / "letter.pdf"
    path.write_bytes(content)
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout


def test_letter_pdf_in_the_partners_language(setup: Any, tmp_path: Any) -> None:
    issue(setup, "C1", "1000", due=day(-50))
    issue(setup, "C2", "1234.5", due=day(-10))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    letters = letters_by_partner(run)
    spanish = pdf_text(dunning.letter_pdf(letters["C1"]), tmp_path)
    assert dunning.letter_pdf(letters["C1"]).startswith(b"%PDF")
    assert "Pese a nuestros avisos anteriores" in spanish
    assert "1.000,00 €" in spanish and "40,00 €" in spanish
    interest = dunning.late_interest(amount=100000, currency="EUR", rate=D("10.15"), days=50)
    assert interest == 1390  # 1,000 x 10.15 % x 50 / 365 = 13.9041
    assert "13,90 €" in spanish and "1.053,90 €" in spanish  # total claimed
    assert "ES9121000418450200051332" in spanish and "Cliente Uno S.L." in spanish
    italian = pdf_text(dunning.letter_pdf(letters["C2"]), tmp_path)
    assert "Dai nostri registri" in italian and "1.234,50 €" in italian


def test_confirm_files_and_emails_each_letter_in_its_language(
    setup: Any, django_capture_on_commit_callbacks: Any
) -> None:
    issue(setup, "C1", "100", due=day(-10))
    issue(setup, "C2", "100", due=day(-25))
    issue(setup, "C3", "100", due=day(-10))  # no e-mail address
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    with django_capture_on_commit_callbacks(execute=True):
        dunning.dunning_run_confirm(run=run)
    assert sorted(m.to[0] for m in mail.outbox) == ["due@example.com", "uno@example.com"]
    by_to = {m.to[0]: m for m in mail.outbox}
    assert "Según nuestros registros" in by_to["uno@example.com"].body
    assert "Nonostante il nostro precedente sollecito" in by_to["due@example.com"].body
    assert "40,00 €" in by_to["due@example.com"].body
    name, content, mimetype = by_to["uno@example.com"].attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    letters = letters_by_partner(run)
    assert name == dunning.letter_filename(letters["C1"])
    deliveries = {d.partner.code: d for d in InvoiceDelivery.objects.filter(company=setup.company)}
    assert deliveries["C1"].ok and deliveries["C1"].invoice is None
    assert not deliveries["C3"].ok and deliveries["C3"].error
    documents = Document.objects.filter(company=setup.company, kind="correspondence")
    assert sorted(documents.values_list("reference", flat=True)) == sorted(
        dunning.letter_reference(letter) for letter in letters.values()
    )
    # delivering again sends nothing twice; the archived PDF is what the page shows
    run.refresh_from_db()
    assert dunning.dunning_run_deliver(run=run) == []
    assert dunning.letter_stored_pdf(letters["C1"]) == content


# --- credit on account ------------------------------------------------------------------------


def keep_credit(
    setup: Any, partner: str, amount: str, currency: str | None = None, rate: Any = None
) -> None:
    """A payment of ``amount`` from ``partner`` applied to no invoice: all kept as credit."""
    services.payment_create(
        company=setup.company,
        direction="sale",
        partner=setup.partners[partner],
        date=TODAY,
        amount=D(amount),
        currency=currency,
        rate=rate,
        bank_account=acc(setup.company, "5720"),
    )


def interest(amount: int, days: int) -> int:
    return dunning.late_interest(amount=amount, currency="EUR", rate=D("10.15"), days=days)


def test_credit_kept_from_a_payment_reduces_the_claim_and_the_interest(setup: Any) -> None:
    a = issue(setup, "C1", "1000", due=day(-50))
    b = issue(setup, "C1", "400", due=day(-10))
    paid = issue(setup, "C1", "100", due=day(-2))
    services.payment_create(  # 250 for an invoice of 100: 150 kept as credit
        company=setup.company,
        direction="sale",
        partner=setup.partners["C1"],
        date=TODAY,
        amount=D("250"),
        bank_account=acc(setup.company, "5720"),
        allocations=[{"invoice": paid}],
    )
    keep_credit(setup, "C1", "150")  # and 150 more: 300 of credit
    proposal = dunning.dunning_overdue(
        company=setup.company, date=TODAY, levels=dunning.dunning_levels(setup.company)
    )[0]
    assert (proposal.overdue_amount, proposal.credit_amount) == (140000, 30000)
    # the credit goes to the oldest instalment (A): interest on the 700.00 left of it only
    assert interest(70000, 50) == 973 and interest(100000, 50) == 1390
    assert [(r.invoice, r.overdue_amount, r.credit, r.interest) for r in proposal.invoices] == [
        (a, 100000, 30000, 973),
        (b, 40000, 0, interest(40000, 10)),
    ]
    assert proposal.level.level == 3 and proposal.days == 50  # A still has 700.00 open
    assert proposal.interest_amount == 973 + 111
    assert proposal.total == 140000 - 30000 + 1084 + 4000
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    letter = letters_by_partner(run)["C1"]
    assert (
        letter.overdue_amount,
        letter.credit_amount,
        letter.interest_amount,
        letter.fee_amount,
    ) == (140000, 30000, 1084, 4000)
    assert letter.total_amount == 115084 and set(letter.invoices.all()) == {a, b}
    assert not dunning.letter_changed(letter)
    dunning.dunning_run_confirm(run=run)  # the figures still hold


def test_open_credit_note_is_credit_on_account(setup: Any) -> None:
    InvoiceSeries.objects.get_or_create(
        company=setup.company,
        code="RX",
        defaults={
            "name": "Credit notes",
            "journal": Journal.objects.get(company=setup.company, code="SAL"),
            "kind": "credit_note",
        },
    )
    returned = issue(setup, "C1", "200", due=day(-60))
    pay(setup, returned, day(-55))
    note = services.invoice_issue(
        instance=services.credit_note_create(instance=returned, reason="Devolución")
    )
    note.refresh_from_db()
    assert note.open_amount == 20000  # nothing open of the invoice: all of it is credit
    a = issue(setup, "C1", "500", due=day(-30))
    letter = letters_by_partner(dunning.dunning_run_propose(company=setup.company, date=TODAY))[
        "C1"
    ]
    assert list(letter.invoices.all()) == [a] and letter.level.level == 2
    assert (letter.overdue_amount, letter.credit_amount, letter.fee_amount) == (50000, 20000, 4000)
    assert letter.total_amount == 34000


def test_credit_covering_everything_overdue_means_no_letter(setup: Any) -> None:
    issue(setup, "C1", "100", due=day(-50))
    issue(setup, "C1", "60", due=day(-10))
    issue(setup, "C2", "100", due=day(-10))
    keep_credit(setup, "C1", "160")  # exactly what is overdue
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    assert set(letters_by_partner(run)) == {"C2"}
    assert letters_by_partner(run)["C2"].credit_amount == 0
    keep_credit(setup, "C2", "500")  # more than what is overdue: nobody left to remind
    with pytest.raises(ValidationError) as info:
        dunning.dunning_run_propose(company=setup.company, date=TODAY)
    assert "date" in info.value.message_dict


def test_credit_in_another_currency_does_not_count(setup: Any) -> None:
    issue(setup, "C1", "100", due=day(-10))
    dollars = services.invoice_issue(
        instance=services.invoice_create_draft(
            company=setup.company,
            direction="sale",
            partner=setup.partners["C1"],
            date=day(-120),
            due_date=day(-10),
            currency="USD",
            rate=D("0.9"),
            lines=[{"description": "Service", "quantity": D("1"), "unit_price": D("80")}],
        )
    )
    keep_credit(setup, "C1", "50", currency="USD", rate=D("0.9"))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    letters = {letter.currency: letter for letter in run.letters.all()}
    assert (letters["EUR"].overdue_amount, letters["EUR"].credit_amount) == (10000, 0)
    assert (letters["USD"].overdue_amount, letters["USD"].credit_amount) == (8000, 5000)
    assert list(letters["USD"].invoices.all()) == [dollars]
    assert letters["USD"].total_amount == 3000


def test_instalments_covered_by_credit_set_neither_the_level_nor_the_news(setup: Any) -> None:
    a = issue(setup, "C1", "100", due=day(-50))
    b = issue(setup, "C1", "400", due=day(-10))
    keep_credit(setup, "C1", "150")  # covers A (50 days) in full and 50.00 of B
    letter = letters_by_partner(dunning.dunning_run_propose(company=setup.company, date=TODAY))[
        "C1"
    ]
    assert letter.level.level == 1  # B's 10 days, not A's 50: no fee, no interest
    assert (letter.fee_amount, letter.interest_amount) == (0, 0)
    assert (letter.overdue_amount, letter.credit_amount, letter.total_amount) == (
        50000,
        15000,
        35000,
    )
    assert set(letter.invoices.all()) == {a, b}  # A is listed, so that the rows add up


def test_an_invoice_covered_by_credit_is_no_news(setup: Any) -> None:
    a = issue(setup, "C1", "100", due=day(-40))
    b = issue(setup, "C1", "300", due=day(-30))
    promise = dunning.promise_to_pay_record(
        partner=setup.partners["C1"], invoice=a, promised_date=TODAY
    )
    first = dunning.dunning_run_propose(company=setup.company, date=day(-5))
    letter = letters_by_partner(first)["C1"]
    assert letter.level.level == 2 and list(letter.invoices.all()) == [b]
    dunning.dunning_run_confirm(run=first)
    PromiseToPay.objects.filter(pk=promise.pk).update(promised_date=day(-3))  # not kept
    letter = letters_by_partner(dunning.dunning_run_propose(company=setup.company, date=TODAY))[
        "C1"
    ]
    assert letter.level.level == 2 and set(letter.invoices.all()) == {a, b}  # A is news
    keep_credit(setup, "C1", "100")  # A is covered: B alone was told at level 2 already
    with pytest.raises(ValidationError) as info:
        dunning.dunning_run_propose(company=setup.company, date=TODAY)
    assert "date" in info.value.message_dict


def test_confirm_refused_when_the_credit_changed_since_the_proposal(setup: Any) -> None:
    issue(setup, "C1", "100", due=day(-30))
    issue(setup, "C2", "100", due=day(-30))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    keep_credit(setup, "C1", "40")  # nothing open changes; the credit does
    letters = letters_by_partner(run)
    assert dunning.letter_changed(letters["C1"]) and not dunning.letter_changed(letters["C2"])
    with pytest.raises(ValidationError) as info:
        dunning.dunning_run_confirm(run=run)
    message = info.value.message_dict["letters"][0]
    assert "C1" in message and "C2" not in message
    run.refresh_from_db()
    assert run.state == "proposed" and not run.letters.filter(sent_at__isnull=False).exists()
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    assert letters_by_partner(run)["C1"].credit_amount == 4000
    assert dunning.dunning_run_confirm(run=run).state == "confirmed"


def test_credit_on_the_letter_the_review_screen_and_the_api(
    setup: Any, accountant: Any, client: Client, tmp_path: Any
) -> None:
    issue(setup, "C3", "1000", due=day(-50))
    keep_credit(setup, "C3", "300")
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    letter = letters_by_partner(run)["C3"]
    assert (letter.credit_amount, letter.interest_amount, letter.total_amount) == (
        30000,
        973,
        100000 - 30000 + 973 + 4000,
    )
    english = pdf_text(dunning.letter_pdf(letter), tmp_path)
    assert "Credit on account" in english and "-€300.00" in english
    assert "€1,000.00" in english and "€9.73" in english and "€749.73" in english
    assert "Credit on account: payments received and not yet applied" in english
    _subject, body = dunning.letter_message(letter)
    assert "Credit on account: -€300.00" in body and "Total claimed: €749.73" in body
    client.force_login(accountant)
    page = client.get(run.get_absolute_url()).content.decode()
    assert 'letter-credit">-300' in page and 'run-credit">-300' in page  # row and totals
    response = api_client(accountant, setup.company).get(f"/api/v1/billing/dunning/runs/{run.pk}/")
    (data,) = response.json()["letters"]
    assert (data["overdue_amount"], data["credit_amount"], data["total"]) == (
        "1000.00",
        "300.00",
        "749.73",
    )


# --- the daily job ----------------------------------------------------------------------------


def test_the_daily_job_proposes_and_notifies_reviewers(
    setup: Any, accountant: Any, make_user: Any
) -> None:
    auditor = make_user("ana", company=setup.company, role="auditor")
    issue(setup, "C1", "100", due=day(-10))
    assert dunning.dunning_propose_all(date=TODAY) == {"ACME": 1}
    run = DunningRun.objects.get(company=setup.company, state="proposed")
    note = Notification.objects.get(user=accountant)
    assert note.url == run.get_absolute_url() and "1" in note.message
    assert not Notification.objects.filter(user=auditor).exists()  # cannot confirm runs
    assert dunning.dunning_propose_all(date=TODAY) == {"ACME": 1}
    assert Notification.objects.filter(user=accountant).count() == 1  # nothing new
    assert DunningRun.objects.filter(company=setup.company).count() == 1


def test_the_daily_job_is_a_periodic_task_in_the_morning() -> None:
    from trastienda.billing import dunning_jobs

    task = dunning_jobs.daily_dunning.task_class()
    # Huey's scheduler hands periodic tasks naive UTC times.
    utc = dt.UTC
    assert task.validate_datetime(dt.datetime(2026, 3, 2, 5, 41, tzinfo=utc).replace(tzinfo=None))
    assert not task.validate_datetime(
        dt.datetime(2026, 3, 2, 12, 0, tzinfo=utc).replace(tzinfo=None)
    )


def test_the_periodic_task_runs(setup: Any) -> None:
    from trastienda.billing import dunning_jobs

    issue(setup, "C1", "100", due=day(-10))
    dunning_jobs.daily_dunning.call_local()
    assert DunningRun.objects.filter(company=setup.company, state="proposed").count() == 1


# --- pages ------------------------------------------------------------------------------------


def test_review_screen_select_confirm(
    setup: Any, accountant: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    issue(setup, "C1", "100", due=day(-10))
    issue(setup, "C2", "200", due=day(-50))
    client.force_login(accountant)
    base = f"/c/{setup.company.code}/billing/dunning/runs/"
    response = client.get(base)
    assert response.status_code == 200 and b"propose-now" in response.content
    response = client.post(base + "propose/", {"date": TODAY.isoformat()})
    run = DunningRun.objects.get(company=setup.company)
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    page = client.get(run.get_absolute_url())
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cliente Uno S.L." in text and "Cliente Due S.r.l." in text
    assert 'id="confirm-run"' in text
    letters = letters_by_partner(run)
    pdf = client.get(f"/c/{setup.company.code}/billing/dunning/letters/{letters['C1'].pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    # untick C2 over HTMX: the totals come back
    response = client.post(
        f"{base}{run.pk}/select/",
        {"selection": "1", "included": [str(letters["C1"].pk)]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="run-totals",
    )
    assert response.status_code == 200 and b'id="run-totals"' in response.content
    assert not DunningLetter.objects.get(pk=letters["C2"].pk).included
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{base}{run.pk}/confirm/", {"selection": "1", "included": [str(letters["C1"].pk)]}
        )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == "confirmed" and run.confirmed_by == "marta"
    assert [m.to for m in mail.outbox] == [["uno@example.com"]]
    assert not Partner.objects.get(pk=setup.partners["C2"].pk).blocked  # left out
    page = client.get(run.get_absolute_url()).content.decode()
    assert "uno@example.com" in page and 'id="confirm-run"' not in page


def test_discard_from_the_review_screen(setup: Any, accountant: Any, client: Client) -> None:
    issue(setup, "C1", "100", due=day(-10))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    client.force_login(accountant)
    response = client.post(f"/c/{setup.company.code}/billing/dunning/runs/{run.pk}/discard/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == "discarded" and not mail.outbox


def test_partner_collections_page_and_block(setup: Any, accountant: Any, client: Client) -> None:
    a = issue(setup, "C1", "100", due=day(-10))
    dunning.promise_to_pay_record(partner=setup.partners["C1"], invoice=a, promised_date=day(3))
    client.force_login(accountant)
    url = f"/c/{setup.company.code}/billing/partners/{setup.partners['C1'].pk}/collections/"
    page = client.get(url)
    assert page.status_code == 200
    assert str(a).encode() in page.content and b"partner-promises" in page.content
    response = client.post(url + "block/", {"blocked": "1", "reason": ""})
    assert response.status_code == 302
    assert not Partner.objects.get(pk=setup.partners["C1"].pk).blocked  # a reason is needed
    client.post(url + "block/", {"blocked": "1", "reason": "Impagos reiterados"})
    assert Partner.objects.get(pk=setup.partners["C1"].pk).blocked
    page = client.get(url).content.decode()
    assert "Impagos reiterados" in page and 'id="partner-blocked"' in page
    client.post(url + "block/", {"reason": "Acuerdo de pago"})
    assert not Partner.objects.get(pk=setup.partners["C1"].pk).blocked


def test_levels_and_promises_pages(setup: Any, accountant: Any, client: Client) -> None:
    client.force_login(accountant)
    base = f"/c/{setup.company.code}/billing/dunning/"
    assert b"create-default-levels" in client.get(base + "levels/").content
    client.post(base + "levels/defaults/")
    level = DunningLevel.objects.get(company=setup.company, level=2)
    page = client.get(f"{base}levels/{level.pk}/edit/")
    assert page.status_code == 200 and b'value="40.00"' in page.content
    response = client.post(
        f"{base}levels/{level.pk}/edit/",
        {
            "level": 2,
            "name": "Segundo aviso",
            "days_overdue": 21,
            "fee": "45.5",
            "text_es": "x",
            "text_it": "y",
            "text_en": "z",
        },
    )
    assert response.status_code == 302
    assert DunningLevel.objects.get(pk=level.pk).fee == 4550
    response = client.post(
        f"{base}levels/{level.pk}/edit/",
        {"level": 2, "name": "Segundo aviso", "days_overdue": 50, "fee": "45.5"},
    )
    assert response.status_code == 400 and b"days_overdue" in response.content
    a = issue(setup, "C1", "100", due=day(-10))
    response = client.post(
        base + "promises/add/",
        {
            "partner": setup.partners["C1"].pk,
            "invoice": a.pk,
            "promised_date": day(7).isoformat(),
            "amount": "60.00",
            "note": "Por teléfono",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    promise = PromiseToPay.objects.get(company=setup.company)
    assert (promise.amount, promise.recorded_by) == (6000, "marta")
    page = client.get(f"{base}promises/{promise.pk}/edit/")
    assert b'value="60.00"' in page.content
    response = client.post(
        base + "promises/add/",
        {
            "partner": setup.partners["C1"].pk,
            "invoice": a.pk,
            "promised_date": day(7).isoformat(),
            "amount": "600.00",
        },
    )
    assert response.status_code == 400
    assert PromiseToPay.objects.filter(company=setup.company).count() == 1
    assert client.get(base + "promises/").status_code == 200


def test_permissions_of_the_pages(setup: Any, make_user: Any) -> None:
    issue(setup, "C1", "100", due=day(-10))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    base = f"/c/{setup.company.code}/billing/"
    hr = Client()
    hr.force_login(make_user("rrhh", company=setup.company, role="hr_manager"))
    assert hr.get(base + "dunning/runs/").status_code == 403
    assert hr.get(run.get_absolute_url()).status_code == 403
    auditor = Client()
    auditor.force_login(make_user("ana", company=setup.company, role="auditor"))
    page = auditor.get(run.get_absolute_url())
    assert page.status_code == 200 and b'id="confirm-run"' not in page.content
    assert auditor.post(base + f"dunning/runs/{run.pk}/confirm/").status_code == 403
    assert auditor.post(base + "dunning/runs/propose/").status_code == 403
    url = f"{base}partners/{setup.partners['C1'].pk}/collections/block/"
    assert auditor.post(url, {"blocked": "1", "reason": "x"}).status_code == 403
    run.refresh_from_db()
    assert run.state == "proposed"
    assert not Partner.objects.get(pk=setup.partners["C1"].pk).blocked


# --- API --------------------------------------------------------------------------------------


def api_client(user: Any, company: Any) -> Client:
    client = Client(HTTP_X_COMPANY=company.code)
    client.force_login(user)
    return client


def test_api_runs_propose_choose_confirm(
    setup: Any, accountant: Any, django_capture_on_commit_callbacks: Any
) -> None:
    issue(setup, "C1", "1000", due=day(-50))
    issue(setup, "C2", "100", due=day(-10))
    api = api_client(accountant, setup.company)
    base = "/api/v1/billing/dunning/runs/"
    response = api.post(
        base + "propose/", {"date": day(1).isoformat()}, content_type="application/json"
    )
    assert response.status_code == 400 and "date" in response.json()["error"]["fields"]
    response = api.post(base + "propose/", {}, content_type="application/json")
    assert response.status_code == 201
    run = response.json()
    letters = {letter["partner"]: letter for letter in run["letters"]}
    assert letters["C1"]["level"] == 3
    assert letters["C1"]["overdue_amount"] == "1000.00"
    assert letters["C1"]["interest_amount"] == "13.90" and letters["C1"]["fee_amount"] == "40.00"
    assert letters["C1"]["total"] == "1053.90"
    response = api.post(
        f"{base}{run['id']}/exclude/",
        {"letters": [letters["C2"]["id"]]},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert [x["included"] for x in response.json()["letters"]] == [True, False]
    response = api.post(
        f"{base}{run['id']}/exclude/", {"letters": [999999]}, content_type="application/json"
    )
    assert response.status_code == 400 and "letters" in response.json()["error"]["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{base}{run['id']}/confirm/")
    assert response.status_code == 200 and response.json()["state"] == "confirmed"
    assert len(mail.outbox) == 1
    assert api.get(base).json()["count"] == 1
    response = api.post(f"{base}{run['id']}/discard/")
    assert response.status_code == 400 and "state" in response.json()["error"]["fields"]


def test_api_levels_and_promises(setup: Any, accountant: Any) -> None:
    api = api_client(accountant, setup.company)
    response = api.post(
        "/api/v1/billing/dunning/levels/",
        {"level": 1, "name": "Aviso", "days_overdue": 10, "fee": "12.50"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["fee"] == "12.50"
    assert DunningLevel.objects.get(company=setup.company).fee == 1250
    response = api.post(
        "/api/v1/billing/dunning/levels/",
        {"level": 2, "name": "x", "days_overdue": 5},
        content_type="application/json",
    )
    assert response.status_code == 400 and "days_overdue" in response.json()["error"]["fields"]
    a = issue(setup, "C1", "100", due=day(-10))
    response = api.post(
        "/api/v1/billing/dunning/promises/",
        {"partner": "C1", "invoice": a.pk, "promised_date": day(3).isoformat(), "amount": "50"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["currency"], body["recorded_by"]) == ("50.00", "EUR", "marta")
    response = api.patch(
        f"/api/v1/billing/dunning/promises/{body['id']}/",
        {"amount": "500"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "amount" in response.json()["error"]["fields"]
    response = api.post(
        "/api/v1/billing/dunning/promises/",
        {"partner": "NOPE", "promised_date": day(3).isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 400 and "partner" in response.json()["error"]["fields"]
    assert PromiseToPay.objects.filter(company=setup.company).count() == 1


def test_api_permissions(setup: Any, make_user: Any) -> None:
    issue(setup, "C1", "100", due=day(-10))
    auditor = api_client(make_user("ana", company=setup.company, role="auditor"), setup.company)
    assert auditor.get("/api/v1/billing/dunning/runs/").status_code == 200
    assert auditor.post("/api/v1/billing/dunning/runs/propose/").status_code == 403
    hr = api_client(make_user("rrhh", company=setup.company, role="hr_manager"), setup.company)
    assert hr.get("/api/v1/billing/dunning/runs/").status_code == 403
    assert not DunningRun.objects.exists()


def test_a_large_run_is_delivered_by_a_background_job(
    setup: Any, accountant: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from trastienda.core.models import Job

    for n in range(dunning.DELIVER_SYNC_LIMIT + 1):
        setup.partners[f"M{n}"] = Partner.objects.create(
            company=setup.company,
            code=f"M{n:02d}",
            legal_name=f"Moroso {n} S.L.",
            tax_id="B12345674",
            is_customer=True,
            email=f"m{n}@example.com",
        )
        issue(setup, f"M{n}", "10", due=day(-8))
    run = dunning.dunning_run_propose(company=setup.company, date=TODAY)
    with django_capture_on_commit_callbacks(execute=True):
        dunning.dunning_run_confirm(run=run, user=accountant)
    job = Job.objects.get(company=setup.company, kind=dunning.DELIVER_JOB)
    assert job.status == "done" and job.user == accountant
    assert len(mail.outbox) == dunning.DELIVER_SYNC_LIMIT + 1
    assert Notification.objects.filter(user=accountant, url__contains=str(job.pk)).exists()


def test_cli_proposes_and_confirms(setup: Any, capsys: Any) -> None:
    from django.core.management import call_command

    call_command("billing", "dunning", "--company", "acme")
    assert "no customer" in capsys.readouterr().out.lower()
    issue(setup, "C1", "100", due=day(-10))
    issue(setup, "C3", "100", due=day(-10))
    call_command("billing", "dunning", "--company", "ACME", "--date", TODAY.isoformat())
    out = capsys.readouterr().out
    assert "C1\t1 " in out and "proposed: 2 letters" in out
    call_command("billing", "dunning", "--company", "ACME", "--confirm")
    captured = capsys.readouterr()
    assert "sent: 2 letters (1 not e-mailed)" in captured.out
    assert "C3:" in captured.err
    assert DunningRun.objects.get(company=setup.company).state == "confirmed"
    assert [m.to for m in mail.outbox] == [["uno@example.com"]]

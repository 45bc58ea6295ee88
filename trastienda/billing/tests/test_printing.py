"""Invoice PDFs and e-mail: what a Spanish invoice with IRPF, an Italian one under split
payment and a credit note print, in the partner's language; the PDF page and API; sending
by e-mail with the PDF attached, every attempt logged and audited, a failing mail server
reported (never a 500), drafts and bad addresses refused, permissions."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import smtplib
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client

from trastienda.audit.models import AuditEntry
from trastienda.billing import delivery, printing, services
from trastienda.billing.models import (
    Invoice,
    InvoiceDelivery,
    InvoiceSeries,
    Partner,
    PartnerContact,
    Tax,
)
from trastienda.ledger import services as ledger
from trastienda.ledger.models import Account, Journal

D = Decimal
ES_IBAN = "ES9121000418450200051332"
IT_IBAN = "IT60X0542811101000000123456"
FOOTER = "Inscrita en el Registro Mercantil de Madrid, tomo 1234, folio 56, hoja M-78901"


# --- fixtures (the pattern of test_invoices.py: a company with its taxes, series, partners) ---


def acc(company: Any, code: str) -> Account:
    return Account.objects.get(company=company, code=code)


def _series(company: Any, prefix: str) -> dict[str, InvoiceSeries]:
    journal = Journal.objects.get(company=company, code="SAL")
    made = {}
    for kind, code in (("invoice", f"{prefix}X"), ("credit_note", f"{prefix}R")):
        made[kind] = InvoiceSeries.objects.get_or_create(
            company=company, code=code, defaults={"name": code, "journal": journal, "kind": kind}
        )[0]
    InvoiceSeries.objects.for_company(company).exclude(
        code__in=[s.code for s in made.values()]
    ).update(active=False)
    return made


def _year(company: Any) -> None:
    ledger.fiscal_year_create(
        company=company, name="2026", start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31)
    )


@pytest.fixture
def es(company: Any) -> Any:
    """ACME (ES): VAT 21%, IRPF 15%, an exempt intra-EU supply; IBAN and footer; a Spanish
    customer with an e-mail and two contacts (one receives invoices)."""
    _year(company)
    vat, irpf = acc(company, "4770"), acc(company, "4730")
    taxes = {
        "T21": Tax.objects.create(
            company=company,
            code="PT21",
            name_es="IVA 21%",
            name_it="IVA 21%",
            name_en="VAT 21%",
            kind="vat",
            scope="sale",
            rate=D("21"),
            sale_account=vat,
        ),
        "IRPF": Tax.objects.create(
            company=company,
            code="PIRPF15",
            name_es="Retención IRPF 15%",
            name_it="Ritenuta IRPF 15%",
            name_en="IRPF withholding 15%",
            kind="withholding",
            scope="sale",
            rate=D("15"),
            sale_account=irpf,
            legal_mention_es="Retención a cuenta del IRPF, art. 101 Ley 35/2006",
            legal_mention_en="Personal income tax withheld, art. 101 Law 35/2006",
        ),
        "EIC": Tax.objects.create(
            company=company,
            code="PEIC",
            name_es="Entrega intracomunitaria exenta",
            name_en="Exempt intra-EU supply",
            kind="vat",
            scope="sale",
            rate=D("0"),
            category="K",
            sale_account=vat,
            legal_mention_es="Entrega intracomunitaria exenta, art. 25 Ley 37/1992",
            legal_mention_en="Exempt intra-Community supply, art. 25 Law 37/1992",
        ),
    }
    series = _series(company, "P")
    settings = services.billing_settings(company)
    settings.customer_account = acc(company, "4300")
    settings.income_account = acc(company, "7000")
    settings.iban = ES_IBAN
    settings.bic = "CAIXESBBXXX"
    settings.legal_footer = FOOTER
    settings.save()
    customer = Partner.objects.create(
        company=company,
        code="C1",
        legal_name="Cliente Uno S.L.",
        tax_id="B12345674",
        address="Calle de Alcalá 100",
        postal_code="28009",
        city="Madrid",
        language="es",
        email="facturas@cliente.example",
    )
    PartnerContact.objects.create(
        company=company,
        partner=customer,
        name="Ana Contable",
        email="ana@cliente.example",
        receives_invoices=True,
    )
    PartnerContact.objects.create(
        company=company,
        partner=customer,
        name="Luis Ventas",
        email="luis@cliente.example",
    )
    english = Partner.objects.create(
        company=company,
        code="GB1",
        legal_name="Widgets Ltd",
        tax_id="GB980780684",
        country="GB",
        city="London",
        language="en",
        email="ap@widgets.example",
    )
    return type(
        "Setup",
        (),
        {
            "company": company,
            "taxes": taxes,
            "series": series,
            "customer": customer,
            "english": english,
        },
    )


def es_invoice(es: Any, *, partner: Any = None, issue: bool = True, **kw: Any) -> Invoice:
    """1,000.00 of advice with VAT 21% and IRPF 15%, and 3 x 10.0050 with a 5% discount."""
    lines = kw.pop("lines", None) or [
        {
            "description": "Asesoría fiscal marzo",
            "quantity": D("1"),
            "unit_price": D("1000"),
            "taxes": [es.taxes["T21"], es.taxes["IRPF"]],
        },
        {
            "description": "Tornillos M6",
            "quantity": D("3"),
            "unit_price": D("10.0050"),
            "discount": D("5"),
            "taxes": [es.taxes["T21"]],
        },
    ]
    invoice = services.invoice_create_draft(
        company=es.company,
        direction="sale",
        partner=partner or es.customer,
        date=kw.pop("date", dt.date(2026, 3, 10)),
        lines=lines,
        **kw,
    )
    return services.invoice_issue(instance=invoice) if issue else invoice


@pytest.fixture
def it(make_company: Any) -> Any:
    """An Italian company invoicing a public body under split payment."""
    company = make_company("ITA", country="IT", legal_name="Bottega Italiana S.r.l.", language="it")
    _year(company)
    vat = acc(company, "08.10.001")
    split = Tax.objects.create(
        company=company,
        code="PSP22",
        name_es="IVA 22% escisión de pagos",
        name_it="IVA 22% scissione dei pagamenti",
        name_en="VAT 22% split payment",
        kind="vat",
        scope="sale",
        rate=D("22"),
        split_payment=True,
        sale_account=vat,
        legal_mention_es="Escisión de pagos, art. 17-ter DPR 633/72",
        legal_mention_it="Scissione dei pagamenti art. 17-ter DPR 633/72",
        legal_mention_en="Split payment, art. 17-ter DPR 633/72",
    )
    series = _series(company, "Q")
    settings = services.billing_settings(company)
    settings.customer_account = acc(company, "03.02.001")
    settings.income_account = acc(company, "10.01.001")
    settings.iban = IT_IBAN
    settings.save()
    customer = Partner.objects.create(
        company=company,
        code="PA1",
        legal_name="Comune di Milano",
        tax_id="01199250158",
        address="Piazza della Scala 2",
        postal_code="20121",
        city="Milano",
        province="MI",
        country="IT",
        language="it",
        email="protocollo@comune.example",
    )
    invoice = services.invoice_issue(
        instance=services.invoice_create_draft(
            company=company,
            direction="sale",
            partner=customer,
            date=dt.date(2026, 4, 2),
            lines=[
                {
                    "description": "Manutenzione software",
                    "quantity": D("10"),
                    "unit": "HUR",
                    "unit_price": D("65"),
                    "taxes": [split],
                },
                {
                    "description": "Licenza annuale",
                    "quantity": D("1"),
                    "unit_price": D("1200"),
                    "taxes": [split],
                },
            ],
        )
    )
    return type(
        "Setup",
        (),
        {"company": company, "series": series, "customer": customer, "invoice": invoice},
    )


def pdf_text(data: bytes) -> str:
    """The PDF's text on one line (``pdftotext`` from poppler-utils; skipped without it)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run([tool, "-", "-"], input=data, capture_output=True, check=True, timeout=60)
    return " ".join(done.stdout.decode().split())


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages: Any) -> int:
        raise smtplib.SMTPRecipientsRefused({"facturas@cliente.example": (550, b"mailbox full")})


def member(make_user: Any, company: Any, role: str) -> Client:
    client = Client()
    client.force_login(make_user(company=company, role=role))
    return client


def api_client(user: Any, company: Any) -> Client:
    from rest_framework.authtoken.models import Token

    token, _created = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_X_COMPANY=company.code)


# --- the PDF ------------------------------------------------------------------------------------


def test_spanish_invoice_with_irpf(es: Any) -> None:
    invoice = es_invoice(es)
    # 1,000.00 + 3 x 10.0050 x 0.95 = 28.51; VAT 21% of 1,028.51 = 215.99; IRPF 15% of 1,000
    assert (invoice.net_amount, invoice.tax_amount, invoice.withholding_amount) == (
        102851,
        21599,
        15000,
    )
    assert invoice.payable_amount == 102851 + 21599 - 15000 == 109450
    data = printing.invoice_pdf(invoice)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Factura" in text and "FACTURA" in text and "PX2026-00001" in text
    assert "Acme Ibérica S.L." in text and "B12345674" in text
    assert "Cliente Uno S.L." in text and "Calle de Alcalá 100" in text and "28009 Madrid" in text
    assert "Asesoría fiscal marzo" in text and "10,005" in text and "5%" in text
    assert "1.028,51 €" in text and "215,99 €" in text and "1.244,50 €" in text  # net, VAT, total
    assert "Retención IRPF 15%" in text and "-150,00 €" in text and "1.094,50 €" in text
    assert "Retención a cuenta del IRPF, art. 101 Ley 35/2006" in text
    assert "ES91 2100 0418 4502 0005 1332" in text and "CAIXESBBXXX" in text
    assert "10/03/2026" in text  # date and due date (no payment term: on receipt)
    assert FOOTER in text
    assert "Página 1 de 1" in text
    assert "Borrador" not in text and "BORRADOR" not in text


def test_italian_invoice_under_split_payment(it: Any) -> None:
    text = pdf_text(printing.invoice_pdf(it.invoice))
    assert "FATTURA" in text and "QX2026-00001" in text
    assert "Bottega Italiana S.r.l." in text and "Comune di Milano" in text
    assert "20121 Milano (MI)" in text
    assert "IVA 22% scissione dei pagamenti" in text
    # 10 x 65 + 1,200 = 1,850.00; VAT 407.00 paid by the customer to the State
    assert "1.850,00 €" in text and "407,00 €" in text and "2.257,00 €" in text
    assert "-407,00 €" in text
    assert "Scissione dei pagamenti art. 17-ter DPR 633/72" in text
    assert "IT60 X054 2811 1010 0000 0123 456" in text
    assert "Pagina 1 di 1" in text and "02/04/2026" in text


def test_credit_note_names_the_rectified_invoice(es: Any) -> None:
    invoice = es_invoice(es)
    note = services.credit_note_create(
        instance=invoice,
        reason="Devolución de tres tornillos",
        date=dt.date(2026, 3, 20),
        lines=[
            {
                "description": "Tornillos M6",
                "quantity": D("3"),
                "unit_price": D("10.0050"),
                "taxes": [es.taxes["T21"]],
            }
        ],
    )
    note = services.invoice_issue(instance=note)
    text = pdf_text(printing.invoice_pdf(note))
    assert "PR2026-00001" in text and "20/03/2026" in text
    assert "PX2026-00001" in text and "10/03/2026" in text  # the invoice it rectifies
    assert "Devolución de tres tornillos" in text
    assert "36,32 €" in text  # 30.02 + 6.30 VAT
    assert "ES91 2100" not in text  # nothing to pay on a credit note


def test_labels_dates_and_money_follow_the_partner_language(es: Any) -> None:
    invoice = es_invoice(
        es,
        partner=es.english,
        lines=[
            {
                "description": "Widgets",
                "quantity": D("1200"),
                "unit_price": D("1.25"),
                "taxes": [es.taxes["EIC"]],
            },
        ],
    )
    assert invoice.language == "en"
    text = pdf_text(printing.invoice_pdf(invoice))
    assert "INVOICE" in text and "Page 1 of 1" in text and "Factura" not in text
    assert "€1,500.00" in text and "Exempt intra-EU supply" in text
    assert "Exempt intra-Community supply, art. 25 Law 37/1992" in text
    assert "Widgets Ltd" in text and "United Kingdom" in text
    assert printing.invoice_filename(invoice) == "Invoice-PX2026-00001.pdf"
    spanish = es_invoice(es, date=dt.date(2026, 3, 11))
    assert printing.invoice_filename(spanish) == "Factura-PX2026-00002.pdf"
    # the invoice's own language wins over the partner's
    draft = es_invoice(es, issue=False)
    draft = services.invoice_update_draft(instance=draft, language="it")
    assert printing.document_language(draft) == "it"
    assert printing.invoice_filename(draft) == f"Fattura-Bozza-{draft.pk}.pdf"


def test_a_draft_says_it_is_not_a_valid_invoice(es: Any) -> None:
    draft = es_invoice(es, issue=False, partner=es.english)
    text = pdf_text(printing.invoice_pdf(draft))
    assert "DRAFT — not a valid invoice" in text and "DRAFT" in text
    assert "PX2026" not in text
    spanish = pdf_text(printing.invoice_pdf(es_invoice(es, issue=False)))
    assert "Factura · Borrador" in spanish  # at the foot of every page (and a watermark)


def test_logo_is_embedded_without_fetching(es: Any, tmp_path: Any) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), (29, 53, 87)).save(buffer, "PNG")
    es.company.logo.save("logo.png", ContentFile(buffer.getvalue()))
    assert printing.logo_data_uri(es.company).startswith("data:image/png;base64,")
    data = printing.invoice_pdf(es_invoice(es))
    assert data.startswith(b"%PDF-")
    tool = shutil.which("pdfimages")
    if tool is not None:  # poppler-utils: the one image of the page is the 120 x 40 logo
        target = tmp_path / "invoice.pdf"
        target.write_bytes(data)
        listing = subprocess.run(
            [tool, "-list", str(target)], capture_output=True, check=True, timeout=60
        ).stdout.decode()
        [row] = listing.splitlines()[2:]
        assert row.split()[3:5] == ["120", "40"]
    es.company.logo.name = "logos/missing.png"
    assert printing.logo_data_uri(es.company) == ""


def test_formatting_helpers() -> None:
    from django.utils.translation import override

    assert printing.iban_text("es91 2100 0418 4502 0005 1332") == "ES91 2100 0418 4502 0005 1332"
    with override("es"):
        assert printing.price_text(100050, "EUR") == "10,005"
        assert printing.price_text(41000, "EUR") == "4,10"
        assert printing.price_text(123456789, "EUR") == "12.345,6789"
        assert printing.decimal_text(D("1.5000")) == "1,5"
        assert printing.percent_text(D("5.2000")) == "5,2%"
        assert printing.country_name("DE", "es") == "Alemania"
    with override("en"):
        assert printing.price_text(123456789, "EUR") == "12,345.6789"
        assert printing.price_text(700, "JPY") == "7"


# --- pages and API ------------------------------------------------------------------------------


def test_pdf_page_needs_view_invoice_and_stays_in_the_company(
    es: Any, make_user: Any, other_company: Any
) -> None:
    invoice = es_invoice(es)
    url = f"/c/ACME/billing/invoices/{invoice.pk}/pdf/"
    client = member(make_user, es.company, "clerk")
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response["Content-Disposition"] == 'inline; filename="Factura-PX2026-00001.pdf"'
    download = client.get(url + "?download=1")
    assert download["Content-Disposition"].startswith("attachment;")
    assert member(make_user, es.company, "hr_manager").get(url).status_code == 403
    assert client.get(f"/c/ACME/billing/bills/{invoice.pk}/pdf/").status_code == 404
    outsider = member(make_user, other_company, "administrator")
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"/c/OTRA/billing/invoices/{invoice.pk}/pdf/").status_code == 404


def test_bill_pdf_is_its_attached_document_or_the_record(es: Any, make_user: Any) -> None:
    from trastienda.documents.models import Document

    supplier = Partner.objects.create(
        company=es.company,
        code="S1",
        legal_name="Proveedor Uno S.L.",
        tax_id="A58818501",
        is_customer=False,
        is_supplier=True,
    )
    bill = services.invoice_create_draft(
        company=es.company,
        direction="purchase",
        partner=supplier,
        date=dt.date(2026, 3, 5),
        supplier_reference="A-77",
        lines=[{"description": "Papel", "quantity": D("1"), "unit_price": D("20")}],
    )
    client = member(make_user, es.company, "accountant")
    response = client.get(f"/c/ACME/billing/bills/{bill.pk}/pdf/")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert 'filename="Supplier-bill-A-77.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert "Proveedor Uno S.L." in text and "A-77" in text and "Acme Ibérica S.L." in text
    document = Document.objects.create(company=es.company, title="Factura A-77")
    document.file.save("a77.pdf", ContentFile(b"%PDF-1.4 supplier's own"))
    Invoice.objects.filter(pk=bill.pk).update(attachment=document)
    response = client.get(f"/c/ACME/billing/bills/{bill.pk}/pdf/")
    assert response.status_code == 302
    assert response["Location"] == f"/c/ACME/documents/{document.pk}/download/"


def test_pdf_api(es: Any, make_user: Any) -> None:
    invoice = es_invoice(es)
    user = make_user(company=es.company, role="auditor")
    response = api_client(user, es.company).get(f"/api/v1/billing/invoice-pdf/{invoice.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert 'filename="Factura-PX2026-00001.pdf"' in response["Content-Disposition"]
    denied = api_client(make_user(company=es.company, role="hr_manager"), es.company)
    assert denied.get(f"/api/v1/billing/invoice-pdf/{invoice.pk}/").status_code == 403
    assert (
        api_client(user, es.company).get("/api/v1/billing/invoice-pdf/999999/").status_code == 404
    )


# --- e-mail -------------------------------------------------------------------------------------


def test_send_attaches_the_pdf_in_the_partner_language(es: Any, accountant: Any) -> None:
    from trastienda.core.context import acting

    Partner.objects.filter(pk=es.customer.pk).update(legal_name="Cliente Uno & Hijos S.L.")
    invoice = es_invoice(es)
    with acting(user=accountant, company=es.company):
        sent = delivery.invoice_send(invoice=invoice, message="Gracias por su pedido.")
    assert sent.ok and sent.error == "" and sent.sent_by == "marta"
    assert sent.recipients == "facturas@cliente.example, ana@cliente.example"
    assert sent.attachment_name == "Factura-PX2026-00001.pdf"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["facturas@cliente.example", "ana@cliente.example"]
    assert message.subject == "Factura PX2026-00001 · Acme Ibérica S.L." == sent.subject
    assert "Gracias por su pedido." in message.body
    assert "Cliente Uno & Hijos S.L." in message.body  # plain text: nothing HTML-escaped
    assert "1.094,50 €" in message.body and "ES91 2100 0418 4502 0005 1332" in message.body
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == ("Factura-PX2026-00001.pdf", "application/pdf")
    assert content.startswith(b"%PDF-")
    assert list(invoice.deliveries.all()) == [sent]
    event = AuditEntry.objects.get(
        object_type="billing.invoice", object_id=str(invoice.pk), action="other"
    )
    assert event.extra["event"] == "email_sent" and event.extra["delivery"] == sent.pk
    assert AuditEntry.objects.filter(
        object_type="billing.invoicedelivery", object_id=str(sent.pk), action="create"
    ).exists()


def test_italian_subject_and_explicit_recipients(it: Any) -> None:
    sent = delivery.invoice_send(
        invoice=it.invoice, to=["ragioneria@comune.example"], cc=["archivio@comune.example"]
    )
    message = mail.outbox[0]
    assert message.subject.startswith("Fattura QX2026-00001 · Bottega Italiana S.r.l.")
    assert message.to == ["ragioneria@comune.example"]
    assert message.cc == ["archivio@comune.example"]
    assert message.attachments[0][0] == "Fattura-QX2026-00001.pdf"
    assert sent.recipients == "ragioneria@comune.example, archivio@comune.example"


def test_a_failing_mail_server_is_logged_not_raised(es: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    invoice = es_invoice(es)
    sent = delivery.invoice_send(invoice=invoice)
    assert not sent.ok
    assert sent.error == "Recipients refused: facturas@cliente.example: 550 mailbox full"
    assert mail.outbox == []
    assert InvoiceDelivery.objects.get().pk == sent.pk
    event = AuditEntry.objects.get(object_type="billing.invoice", action="other")
    assert event.extra["event"] == "email_failed" and "mailbox full" in event.extra["error"]


def test_an_unreachable_smtp_server_is_logged(es: Any, settings: Any) -> None:
    import socket

    with socket.socket() as probe:  # a local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    sent = delivery.invoice_send(invoice=es_invoice(es))
    assert not sent.ok and sent.error.startswith("ConnectionRefusedError")


def test_drafts_and_bad_addresses_are_refused_and_nothing_is_written(es: Any) -> None:
    draft = es_invoice(es, issue=False)
    with pytest.raises(ValidationError) as info:
        delivery.invoice_send(invoice=draft)
    assert "invoice" in info.value.message_dict
    invoice = es_invoice(es)
    with pytest.raises(ValidationError) as info:
        delivery.invoice_send(invoice=invoice, to=["ok@example.com", "not-an-address"])
    assert "not-an-address" in info.value.message_dict["to"][0]
    es.customer.email = ""
    es.customer.save()
    PartnerContact.objects.filter(partner=es.customer).delete()
    with pytest.raises(ValidationError) as info:
        delivery.invoice_send(invoice=Invoice.objects.get(pk=invoice.pk))
    assert "to" in info.value.message_dict
    assert InvoiceDelivery.objects.count() == 0 and mail.outbox == []


def test_send_document_for_letters_without_invoice(es: Any) -> None:
    sent = delivery.send_document(
        company=es.company,
        partner=es.customer,
        subject="Recordatorio de pago",
        body="Le recordamos...",
        attachments=[("Carta.pdf", b"%PDF-1.4 x", "application/pdf")],
    )
    assert sent.ok and sent.invoice is None and sent.attachment_name == "Carta.pdf"
    assert mail.outbox[0].to == ["facturas@cliente.example", "ana@cliente.example"]
    event = AuditEntry.objects.get(object_type="billing.partner", action="other")
    assert event.extra["event"] == "email_sent"


def test_send_page(es: Any, accountant: Any, login: Any, settings: Any) -> None:
    invoice = es_invoice(es)
    client = login(accountant)
    url = f"/c/ACME/billing/invoices/{invoice.pk}/send/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "facturas@cliente.example, ana@cliente.example" in html
    assert "Factura PX2026-00001 · Acme Ibérica S.L." in html
    assert "Factura-PX2026-00001.pdf" in html
    response = client.post(
        url,
        {
            "to": "ana@cliente.example; otra@cliente.example",
            "cc": "",
            "message": "Adjunto la factura.",
        },
    )
    assert response.status_code == 302
    assert mail.outbox[0].to == ["ana@cliente.example", "otra@cliente.example"]
    bad = client.post(url, {"to": "nope", "message": ""})
    assert bad.status_code == 400 and "nope is not a valid e-mail address." in bad.content.decode()
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    failed = client.post(url, {"to": "ana@cliente.example"})
    assert failed.status_code == 200
    html = failed.content.decode()
    assert "The e-mail could not be sent" in html and "mailbox full" in html
    assert [d.ok for d in invoice.deliveries.all()] == [False, True]
    assert html.count("delivery-row") == 2
    draft = es_invoice(es, issue=False)
    page = client.get(f"/c/ACME/billing/invoices/{draft.pk}/send/")
    assert page.status_code == 200 and 'id="not-issued"' in page.content.decode()
    refused = client.post(f"/c/ACME/billing/invoices/{draft.pk}/send/", {"to": "a@b.example"})
    assert refused.status_code == 400
    assert InvoiceDelivery.objects.filter(invoice=draft).count() == 0


def test_sending_needs_send_invoice(es: Any, make_user: Any) -> None:
    invoice = es_invoice(es)
    clerk = make_user(company=es.company, role="clerk")
    client = Client()
    client.force_login(clerk)
    url = f"/c/ACME/billing/invoices/{invoice.pk}/send/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"to": "a@b.example"}).status_code == 403
    api = api_client(clerk, es.company)
    response = api.post(
        "/api/v1/billing/invoice-send/", {"invoice": invoice.pk}, content_type="application/json"
    )
    assert response.status_code == 403
    assert mail.outbox == [] and InvoiceDelivery.objects.count() == 0


def test_send_api(es: Any, accountant: Any, settings: Any) -> None:
    invoice = es_invoice(es)
    api = api_client(accountant, es.company)
    response = api.post(
        "/api/v1/billing/invoice-send/",
        {"invoice": invoice.pk, "to": ["ap@cliente.example"], "message": "Hola"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="send-1",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ok"] is True and body["recipients"] == "ap@cliente.example"
    assert body["invoice"] == invoice.pk and body["partner"] == "C1"
    assert body["attachment_name"] == "Factura-PX2026-00001.pdf"
    replay = api.post(
        "/api/v1/billing/invoice-send/",
        {"invoice": invoice.pk, "to": ["ap@cliente.example"], "message": "Hola"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="send-1",
    )
    assert replay.status_code == 201 and len(mail.outbox) == 1  # sent once
    draft = es_invoice(es, issue=False)
    refused = api.post(
        "/api/v1/billing/invoice-send/", {"invoice": draft.pk}, content_type="application/json"
    )
    assert refused.status_code == 400 and "invoice" in refused.json()["error"]["fields"]
    bad = api.post(
        "/api/v1/billing/invoice-send/",
        {"invoice": invoice.pk, "to": ["x"]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "to" in bad.json()["error"]["fields"]
    unknown = api.post(
        "/api/v1/billing/invoice-send/", {"invoice": 999999}, content_type="application/json"
    )
    assert unknown.status_code == 400 and "invoice" in unknown.json()["error"]["fields"]
    assert (
        api.post("/api/v1/billing/invoice-send/", {}, content_type="application/json").status_code
        == 400
    )
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    failed = api.post(
        "/api/v1/billing/invoice-send/", {"invoice": invoice.pk}, content_type="application/json"
    )
    assert failed.status_code == 201 and failed.json()["ok"] is False
    assert "mailbox full" in failed.json()["error"]
    assert InvoiceDelivery.objects.count() == 2 and len(mail.outbox) == 1

"""E-mail delivery of invoices (and, through :func:`send_document`, of dunning letters).

:func:`invoice_send` e-mails an issued sales invoice to its partner: the subject and body
from the templates ``billing/email/invoice_subject.txt`` and ``invoice_body.txt`` in the
document's language (:func:`trastienda.billing.printing.document_language`), the PDF of
:func:`trastienda.billing.printing.invoice_pdf` attached as ``Factura-F2026-00001.pdf``
(``Fattura-...``, ``Invoice-...``). Recipients default to the partner's e-mail and its
contacts that receive invoices.

:func:`send_document` sends any message with attachments through Django's configured e-mail
backend (``EMAIL_URL``: the console in the demo, locmem in tests, SMTP in production) and
logs every attempt as an :class:`~trastienda.billing.models.InvoiceDelivery` (``ok`` or the
error), audited on the invoice (or the partner) as well as by the audit recorder. Bad input
(no recipient, an invalid address, a draft) raises ``ValidationError`` naming the field and
writes nothing; a failure of the mail server is not an input error: it is logged with
``ok=False`` and returned, for the caller to show.

The message is sent in the request, before the log is written: the log then says what
happened. Services do not check permissions; the pages and the API require
``billing.send_invoice``.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import override

from trastienda.billing.models import Direction, Invoice, InvoiceDelivery, Partner, PartnerContact
from trastienda.billing.printing import (
    date_text,
    document_language,
    document_title,
    iban_text,
    invoice_filename,
    invoice_pdf,
    money_text,
)
from trastienda.core import context
from trastienda.core.models import Company

logger = logging.getLogger("trastienda.billing")

MAX_RECIPIENTS = 20
MAX_MESSAGE = 5000
DEFAULT_TIMEOUT = 30  # seconds, when EMAIL_TIMEOUT is not set: a dead server must not hang
PDF = "application/pdf"

Attachment = tuple[str, bytes, str]  # (file name, content, MIME type)


# --- recipients ---------------------------------------------------------------------------------


def partner_recipients(partner: Partner) -> list[str]:
    """The partner's e-mail and those of its contacts that receive invoices, each once."""
    found: list[str] = []
    candidates = [partner.email]
    candidates += list(
        PartnerContact.objects.filter(partner=partner, receives_invoices=True)
        .exclude(email="")
        .order_by("name", "id")
        .values_list("email", flat=True)
    )
    seen: set[str] = set()
    for address in candidates:
        address = (address or "").strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            found.append(address)
    return found


def split_addresses(value: Any) -> list[str]:
    """A list of addresses from a list or from text separated by commas, semicolons or
    line breaks (as typed in the form)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    addresses: list[str] = []
    for item in items:
        addresses += [part.strip() for part in re.split(r"[,;\s]+", str(item)) if part.strip()]
    return addresses


def _clean_addresses(values: Iterable[str], field: str, errors: dict[str, list[str]]) -> list[str]:
    cleaned: list[str] = []
    seen: set[str] = set()
    for address in values:
        address = address.strip()
        try:
            validate_email(address)
        except ValidationError:
            errors.setdefault(field, []).append(
                _("%(address)s is not a valid e-mail address.") % {"address": address or "''"}
            )
            continue
        if address.lower() not in seen:
            seen.add(address.lower())
            cleaned.append(address)
    return cleaned


# --- sending ------------------------------------------------------------------------------------


def _smtp_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def error_text(exc: BaseException) -> str:
    """What the mail server (or the connection to it) said, for the person who sent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address}: {code} {_smtp_text(reply)}"
            for address, (code, reply) in exc.recipients.items()
        )
        return _("Recipients refused: %(detail)s") % {"detail": refused}
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_smtp_text(exc.smtp_error)}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _acting_username() -> str:
    user = context.current().user
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.get_username())
    return ""


def _reply_to() -> list[str]:
    user = context.current().user
    email = getattr(user, "email", "") if getattr(user, "is_authenticated", False) else ""
    return [email] if email else []


def send_document(
    *,
    company: Company,
    partner: Partner,
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    invoice: Invoice | None = None,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
) -> InvoiceDelivery:
    """E-mail ``body`` with ``attachments`` to ``to`` (default: the partner's recipients) and
    ``cc``; log the attempt and return the log row (``ok`` False with the error when the
    mail server failed). Bad input raises ``ValidationError`` and writes nothing."""
    errors: dict[str, list[str]] = {}
    if partner.company_id != company.pk:
        errors["partner"] = [_("Choose a partner of this company.")]
    if invoice is not None and (
        invoice.company_id != company.pk or invoice.partner_id != partner.pk
    ):
        errors["invoice"] = [_("Choose an invoice of this partner.")]
    given_to = [a for a in (to or []) if a and a.strip()]
    recipients = _clean_addresses(given_to or partner_recipients(partner), "to", errors)
    copies = _clean_addresses([a for a in (cc or []) if a and a.strip()], "cc", errors)
    if not recipients and "to" not in errors:
        errors["to"] = [
            _("%(partner)s has no e-mail address for invoices: enter the recipients.")
            % {"partner": partner.legal_name}
        ]
    if len(recipients) + len(copies) > MAX_RECIPIENTS:
        errors.setdefault("to", []).append(
            _("Send to at most %(n)d addresses at a time.") % {"n": MAX_RECIPIENTS}
        )
    listed = ", ".join(recipients + copies)
    if len(listed) > InvoiceDelivery._meta.get_field("recipients").max_length:  # type: ignore[operator]
        errors.setdefault("to", []).append(_("The list of recipients is too long."))
    subject = " ".join(subject.split())  # one line: a header cannot hold line breaks
    if not subject:
        errors["subject"] = [_("Enter a subject.")]
    if errors:
        raise ValidationError(errors)

    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        cc=copies,
        reply_to=_reply_to(),
    )
    for name, content, mimetype in attachments:
        message.attach(name, content, mimetype)
    error = ""
    try:
        timeout = getattr(settings, "EMAIL_TIMEOUT", None) or DEFAULT_TIMEOUT
        with get_connection(timeout=timeout) as connection:
            sent = connection.send_messages([message])
        if not sent:
            error = _("The mail server did not accept the message.")
    except Exception as exc:  # the mail server's failure is reported, never a 500
        logger.warning("E-mail to %s failed", listed, exc_info=True)
        error = error_text(exc)
    ok = not error

    with transaction.atomic():
        delivery = InvoiceDelivery.objects.create(
            company=company,
            invoice=invoice,
            partner=partner,
            recipients=listed,
            subject=subject[:300],
            attachment_name=", ".join(name for name, _content, _type in attachments)[:200],
            sent_by=_acting_username(),
            ok=ok,
            error=error[:500],
        )
        from trastienda.audit.services import audit_log

        audit_log(
            action="other",
            company=company,
            obj=invoice if invoice is not None else partner,
            extra={
                "event": "email_sent" if ok else "email_failed",
                "delivery": delivery.pk,
                "recipients": listed,
                "subject": delivery.subject,
                "attachments": delivery.attachment_name,
                **({"error": delivery.error} if not ok else {}),
            },
        )
    return delivery


# --- invoices -----------------------------------------------------------------------------------


def invoice_email(invoice: Invoice, message: str = "") -> tuple[str, str]:
    """The subject and body of ``invoice``'s e-mail, in its language."""
    from trastienda.billing.services import billing_settings

    language = document_language(invoice)
    company = invoice.company
    settings_row = billing_settings(company)
    with override(language):
        installments = list(invoice.installments.order_by("due_date", "id"))
        ctx = {
            "invoice": invoice,
            "company_name": company.legal_name,
            "partner_name": invoice.partner.legal_name,
            "title": document_title(invoice),
            "number": invoice.number or "",
            "date": date_text(invoice.date),
            "total": money_text(invoice.total_amount, invoice.currency, language),
            "amount_due": money_text(invoice.payable_amount, invoice.currency, language),
            "credit_note": invoice.kind == Invoice.Kind.CREDIT_NOTE,
            "rectifies": str(invoice.rectifies) if invoice.rectifies_id else "",
            "due_dates": [
                {
                    "date": date_text(item.due_date),
                    "amount": money_text(abs(item.amount), invoice.currency, language),
                }
                for item in installments
            ],
            "iban": iban_text(settings_row.iban),
            "bic": settings_row.bic.upper(),
            "message": message.strip(),
        }
        subject = str(render_to_string("billing/email/invoice_subject.txt", ctx))
        body = str(render_to_string("billing/email/invoice_body.txt", ctx))
    text = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return " ".join(subject.split()), text


def invoice_send(
    *,
    invoice: Invoice,
    to: Sequence[str] | None = None,
    cc: Sequence[str] | None = None,
    message: str = "",
) -> InvoiceDelivery:
    """E-mail an issued sales invoice (credit note, simplified invoice) with its PDF to the
    partner (``to``: default the partner's recipients); returns the logged attempt."""
    if invoice.direction != Direction.SALE:
        raise ValidationError({"invoice": [_("Only sales invoices are sent by e-mail.")]})
    if invoice.state != Invoice.State.ISSUED:
        raise ValidationError(
            {"invoice": [_("Only issued invoices can be sent; issue the draft first.")]}
        )
    message = message or ""
    if len(message) > MAX_MESSAGE:
        raise ValidationError(
            {"message": [_("Write at most %(n)d characters.") % {"n": MAX_MESSAGE}]}
        )
    subject, body = invoice_email(invoice, message)
    return send_document(
        company=invoice.company,
        partner=invoice.partner,
        subject=subject,
        body=body,
        attachments=[(invoice_filename(invoice), invoice_pdf(invoice), PDF)],
        invoice=invoice,
        to=to,
        cc=cc,
    )

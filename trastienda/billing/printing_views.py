"""Pages of invoice printing and e-mail, under ``/c/<code>/billing/``:

- ``invoices/<pk>/pdf/`` (``billing:invoice_pdf``, needs ``billing.view_invoice``): the PDF of
  a sales invoice, shown in the browser (``?download=1``: as an attachment);
- ``bills/<pk>/pdf/`` (``billing:bill_pdf``): a supplier bill's attached document when it
  has one (the supplier's PDF is the original), else the company's printed record of it;
- ``invoices/<pk>/send/`` (``billing:invoice_send``, needs ``billing.send_invoice``): the
  "Send by e-mail" form, recipients prefilled, and the e-mails sent so far.

The invoice detail page includes ``billing/invoice_deliveries.html`` (context: ``invoice``)
for the list of e-mails sent.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.billing import delivery, printing
from trastienda.billing.models import Direction, Invoice
from trastienda.core.forms import BootstrapMixin
from trastienda.core.generic import CompanyView, ObjectViews, company_url
from trastienda.core.models import Language
from trastienda.core.pdf import CONTENT_TYPE
from trastienda.core.permissions import has_perm

VIEW_PERM = "billing.view_invoice"
SEND_PERM = "billing.send_invoice"


class _Invoices:
    """What a page may read: the company's invoices of one direction (the ``views`` of a
    :class:`~trastienda.core.generic.CompanyView`; not an ObjectViews, so it does not join the
    registry of lists that the invoice pages declare)."""

    model: ClassVar[type[models.Model]] = Invoice
    direction: ClassVar[str] = Direction.SALE

    @classmethod
    def get_queryset(cls, request: Any) -> models.QuerySet[Invoice]:
        return (
            Invoice.objects.for_company(request.company)
            .filter(direction=cls.direction)
            .select_related("company", "partner")
        )


class _SaleInvoices(_Invoices):
    direction = Direction.SALE


class _Bills(_Invoices):
    direction = Direction.PURCHASE


def detail_url(request: HttpRequest, invoice: Invoice) -> str | None:
    """The invoice's own page, once the invoice pages declare it."""
    try:
        return invoice.get_absolute_url()
    except NoReverseMatch:
        return None


def pdf_response(data: bytes, filename: str, *, download: bool) -> HttpResponse:
    response = HttpResponse(data, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(download, filename) or ""
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class InvoicePdfView(CompanyView):
    """The PDF of a sales invoice (a draft says it is not valid)."""

    views = cast("type[ObjectViews]", _SaleInvoices)
    required_perm = VIEW_PERM

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.get_object()
        return pdf_response(
            printing.invoice_pdf(invoice),
            printing.invoice_filename(invoice),
            download=bool(request.GET.get("download")),
        )


class BillPdfView(InvoicePdfView):
    """A supplier bill: its attached document (the supplier's original) when it has a file,
    else the company's printed record of the bill."""

    views = cast("type[ObjectViews]", _Bills)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        bill = self.get_object()
        document = bill.attachment
        if document is not None and document.file:
            return HttpResponseRedirect(
                reverse(
                    "documents:document_download",
                    kwargs={"company": bill.company.code, "pk": document.pk},
                )
            )
        return super().get(request, pk)


class InvoiceSendForm(BootstrapMixin, forms.Form):
    to = forms.CharField(
        label=gettext_lazy("To"),
        max_length=1000,
        help_text=gettext_lazy("E-mail addresses, separated by commas."),
    )
    cc = forms.CharField(label=gettext_lazy("Cc"), max_length=1000, required=False)
    message = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        max_length=delivery.MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("Added above the standard text of the e-mail."),
    )

    def clean_to(self) -> list[str]:
        return delivery.split_addresses(self.cleaned_data.get("to"))

    def clean_cc(self) -> list[str]:
        return delivery.split_addresses(self.cleaned_data.get("cc"))


class InvoiceSendView(CompanyView):
    """E-mail an issued invoice with its PDF; a failure of the mail server is shown, logged."""

    views = cast("type[ObjectViews]", _SaleInvoices)
    required_perm = SEND_PERM
    template_name = "billing/invoice_send.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.get_object()
        initial = {"to": ", ".join(delivery.partner_recipients(invoice.partner))}
        return self.render_page(invoice, InvoiceSendForm(initial=initial))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.get_object()
        form = InvoiceSendForm(request.POST)
        if not form.is_valid():
            return self.render_page(invoice, form, status=400)
        try:
            sent = delivery.invoice_send(
                invoice=invoice,
                to=form.cleaned_data["to"],
                cc=form.cleaned_data["cc"],
                message=form.cleaned_data["message"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.render_page(invoice, form, status=400)
        if not sent.ok:
            messages.error(
                request,
                _("The e-mail could not be sent: %(error)s") % {"error": sent.error},
            )
            return self.render_page(invoice, form)
        messages.success(
            request,
            _("%(invoice)s sent to %(recipients)s.")
            % {"invoice": invoice, "recipients": sent.recipients},
        )
        return HttpResponseRedirect(
            detail_url(request, invoice)
            or company_url(request, "billing:invoice_send", pk=invoice.pk)
        )

    def render_page(
        self, invoice: Invoice, form: InvoiceSendForm, status: int = 200
    ) -> HttpResponse:
        request = self.request
        back = detail_url(request, invoice)
        try:
            list_url: str | None = company_url(request, "billing:invoice_list")
        except NoReverseMatch:
            list_url = None
        subject, _body = delivery.invoice_email(invoice) if invoice.is_issued else ("", "")
        ctx = {
            "invoice": invoice,
            "form": form,
            "subject": subject,
            "attachment": printing.invoice_filename(invoice),
            "language": Language(printing.document_language(invoice)).label,
            "pdf_url": company_url(request, "billing:invoice_pdf", pk=invoice.pk),
            "detail_url": back,
            "can_send": invoice.is_issued,
            "can_view_pdf": has_perm(request, VIEW_PERM),
            "breadcrumbs": [
                {"label": _("Billing"), "url": None},
                {"label": _("Invoices"), "url": list_url},
                {"label": str(invoice), "url": back},
                {"label": _("Send by e-mail"), "url": None},
            ],
        }
        return render(request, self.template_name, ctx, status=status)


urlpatterns = [
    path("invoices/<int:pk>/pdf/", InvoicePdfView.as_view(), name="invoice_pdf"),
    path("invoices/<int:pk>/send/", InvoiceSendView.as_view(), name="invoice_send"),
    path("bills/<int:pk>/pdf/", BillPdfView.as_view(), name="bill_pdf"),
]

"""Pages of sales invoices (``invoices/``) and supplier bills (``bills/``): the generic list,
detail, edit and delete views of one model declared twice (:class:`InvoiceViews`,
:class:`BillViews`, each scoped to its direction), with the ledger entry form's pattern for
the lines (HTMX rows, live totals computed by :mod:`trastienda.billing.calc`) and POST-only
actions (issue, duplicate, credit note, submit, approve, send back) that call the services.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, include, path
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from trastienda.billing import calc, services
from trastienda.billing.filters import BillFilterSet, SaleInvoiceFilterSet, overdue_installments
from trastienda.billing.forms import (
    CreditNoteForm,
    InvoiceForm,
    InvoiceLineFormSet,
    RejectForm,
    format_price,
    invoice_line_initial,
    price_decimal,
)
from trastienda.billing.models import Direction, Invoice, Partner, PaymentAllocation, Product, Tax
from trastienda.billing.tables import STATE_BADGES, BillTable, InvoiceTable, payment_badge
from trastienda.core.generic import (
    CompanyView,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    ObjectViews,
    company_url,
    deny,
)
from trastienda.core.money import Money, currency_exponent
from trastienda.core.permissions import has_perm, model_perm

ISSUE_PERM = "billing.issue_invoice"
APPROVE_PERM = "billing.approve_invoice"
SEND_PERM = "billing.send_invoice"
LOCK_PERM = "ledger.post_before_lock"
DELIVERIES_TEMPLATE = "billing/invoice_deliveries.html"

ISSUED_REFUSED = _l("%(invoice)s is issued: it cannot be changed. Issue a credit note instead.")


def _money(minor: int, currency: str) -> Decimal:
    return Money(int(minor or 0), currency).to_decimal()


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str | None:
    """``company_url``, or None while the page it names does not exist yet (the PDF, sending
    and payment pages are written by other work)."""
    try:
        return company_url(request, name, **kwargs)
    except NoReverseMatch:
        return None


def declared(view: Any) -> type[InvoiceViews]:
    """The view's declaration, as the invoice pages' own class (direction, names)."""
    return cast("type[InvoiceViews]", view.views)


class _Named:
    """Base context of every invoice page: the declaration's own names ("supplier bills",
    not the model's "invoices"), its direction and its URL names."""

    request: HttpRequest

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)  # type: ignore[misc]
        views = declared(self)
        ctx["model_name"] = views.verbose_name
        ctx["model_name_plural"] = views.verbose_name_plural
        ctx["breadcrumbs"][-1]["label"] = capfirst(str(views.verbose_name_plural))
        ctx["direction"] = views.direction
        ctx["is_sale"] = views.direction == Direction.SALE
        ctx["url_prefix"] = views.object_name()
        ctx["add_url"] = company_url(self.request, views.url_name("add"))
        ctx["new_label"] = views.new_label
        return ctx


# --- list -------------------------------------------------------------------------------------


class InvoiceListView(_Named, ObjectListView):
    template_name = "billing/invoice_list.html"


# --- detail -----------------------------------------------------------------------------------


class InvoiceDetailView(_Named, ObjectDetailView):
    """The invoice as a document: partner, lines, tax breakdown, totals, instalments,
    payments, credit notes, the journal entry, the attachment, history and the actions."""

    template_name = "billing/invoice_detail.html"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        invoice: Invoice | None = extra.get("object")
        if invoice is None:
            return ctx
        request = self.request
        currency = invoice.currency
        views = self.views
        issued = invoice.state == Invoice.State.ISSUED
        lines = list(
            invoice.lines.select_related("product", "account", "cost_centre")
            .prefetch_related("taxes")
            .order_by("line_no")
        )
        for line in lines:
            line.price_display = price_decimal(line.unit_price, currency)
            line.net_display = _money(line.net_amount, currency)
            line.quantity_display = line.quantity.normalize() if line.quantity else 0
            line.tax_codes = [t.code for t in line.taxes.all()]
        tax_rows = [
            {
                "tax": row.tax,
                "base": _money(row.base, currency),
                "amount": _money(row.amount, currency),
                "withholding": row.tax.kind == Tax.Kind.WITHHOLDING,
            }
            for row in invoice.tax_lines.select_related("tax").order_by("id")
        ]
        today = timezone.localdate()
        installments = [
            {
                "due_date": item.due_date,
                "amount": _money(abs(item.amount), currency),
                "open": _money(abs(item.open_amount), currency),
                "overdue": item.open_amount != 0
                and item.due_date < today
                and invoice.kind != Invoice.Kind.CREDIT_NOTE,
            }
            for item in invoice.installments.order_by("due_date", "id")
        ]
        allocations = []
        for allocation in (
            PaymentAllocation.objects.filter(invoice=invoice)
            .select_related("payment")
            .order_by("payment__date", "id")
        ):
            payment = allocation.payment
            allocations.append(
                {
                    "payment": payment,
                    "amount": _money(allocation.amount, currency),
                    "url": _url(request, "billing:payment_detail", pk=payment.pk),
                }
            )
        credit_notes = list(invoice.credit_notes.select_related("company").order_by("date", "id"))
        # A credit note settles what was open of its invoice when it is issued (no payment).
        settled_by_notes = [
            {
                "note": note,
                "amount": _money(note.payable_amount - note.open_amount, currency),
            }
            for note in credit_notes
            if note.state == Invoice.State.ISSUED and note.payable_amount > note.open_amount
        ]
        label, css = payment_badge(invoice)
        purchase = invoice.direction == Direction.PURCHASE
        needs_approval = purchase and not issued and services.bill_needs_approval(invoice)
        can_add = has_perm(request, model_perm(Invoice, "add"))
        can_change = has_perm(request, model_perm(Invoice, "change"))
        draft_like = invoice.state != Invoice.State.ISSUED
        ctx.update(
            lines=lines,
            tax_rows=tax_rows,
            amounts={
                name: _money(getattr(invoice, name), currency)
                for name in (
                    "net_amount",
                    "tax_amount",
                    "withholding_amount",
                    "total_amount",
                    "payable_amount",
                    "open_amount",
                )
            },
            split_payment=invoice.total_amount - invoice.withholding_amount
            != invoice.payable_amount,
            installments=installments,
            allocations=allocations,
            credit_notes=credit_notes,
            settled_by_notes=settled_by_notes,
            heading_kind=(
                _("Supplier bill")
                if purchase and invoice.kind == Invoice.Kind.INVOICE
                else invoice.get_kind_display()
            ),
            state_badge=STATE_BADGES.get(invoice.state, "text-bg-light"),
            payment_label=label,
            payment_badge=css,
            base_currency=invoice.company.base_currency,
            can_change=can_change and draft_like,
            can_delete=ctx["can_delete"] and draft_like,
            can_issue=has_perm(request, ISSUE_PERM)
            and (
                invoice.state == Invoice.State.DRAFT
                if not purchase
                else invoice.state == Invoice.State.APPROVED
                or (invoice.state == Invoice.State.DRAFT and not needs_approval)
            ),
            can_duplicate=can_add,
            can_credit=issued and can_add and invoice.kind != Invoice.Kind.CREDIT_NOTE,
            can_submit=purchase and invoice.state == Invoice.State.DRAFT and can_change,
            can_approve=purchase
            and invoice.state in (Invoice.State.TO_APPROVE,)
            and has_perm(request, APPROVE_PERM),
            can_reject=purchase
            and invoice.state in (Invoice.State.TO_APPROVE, Invoice.State.APPROVED)
            and has_perm(request, APPROVE_PERM),
            needs_approval=needs_approval,
            same_person=invoice.created_by_id is not None
            and invoice.created_by_id == request.user.pk,
            partner_url=_url(request, "billing:partner_detail", pk=invoice.partner_id),
            split_amount=_money(
                invoice.total_amount - invoice.withholding_amount - invoice.payable_amount,
                currency,
            ),
            credit_form=CreditNoteForm(initial={"date": today}),
            entry_url=(
                _url(request, "ledger:journalentry_detail", pk=invoice.entry_id)
                if invoice.entry_id and has_perm(request, "ledger.view_journalentry")
                else None
            ),
            attachment_url=(
                _url(request, "documents:document_download", pk=invoice.attachment_id)
                if invoice.attachment_id and has_perm(request, "documents.view_document")
                else None
            ),
            action_prefix=f"billing:{views.object_name()}_",
        )
        payment_url = None
        if (
            issued
            and invoice.open_amount > 0
            and invoice.kind != Invoice.Kind.CREDIT_NOTE
            and has_perm(request, "billing.add_payment")
        ):
            payment_url = _url(request, "billing:payment_add")
            if payment_url:
                payment_url += (
                    f"?partner={invoice.partner.code}&invoice={invoice.pk}"
                    f"&direction={invoice.direction}"
                )
        ctx["payment_url"] = payment_url
        if not purchase and issued:
            ctx["pdf_url"] = _url(request, "billing:invoice_pdf", pk=invoice.pk)
            if has_perm(request, SEND_PERM):
                ctx["send_url"] = _url(request, "billing:invoice_send", pk=invoice.pk)
        ctx["deliveries_template"] = None
        if not purchase:
            try:
                get_template(DELIVERIES_TEMPLATE)
                ctx["deliveries_template"] = DELIVERIES_TEMPLATE
            except TemplateDoesNotExist:
                pass
        return ctx


# --- edit -------------------------------------------------------------------------------------


class InvoiceEditView(_Named, ObjectEditView):
    """Header form plus a formset of lines, as the ledger's entry form: "Add line" asks the
    server for a row over HTMX, live totals come from ``totals/``. "Save" writes the draft
    (``invoice_create_draft`` / ``invoice_update_draft``); "Save and issue" also issues it,
    in the same transaction: a ValidationError writes nothing and its ``lines[N].field`` keys
    are shown on the N-th filled row."""

    template_name = "billing/invoice_form.html"

    def get_form(self, instance: Any) -> InvoiceForm:
        kwargs: dict[str, Any] = {"instance": instance, "direction": declared(self).direction}
        if self.request.method == "POST":
            kwargs.update(data=self.request.POST, files=self.request.FILES)
        else:
            kwargs["initial"] = self.initial_header(instance)
        form = InvoiceForm(**kwargs)
        form.set_company(self.request.company)  # type: ignore[attr-defined]
        return form

    def initial_header(self, instance: Invoice | None) -> dict[str, Any]:
        if instance is not None:
            return {}
        initial: dict[str, Any] = {"date": timezone.localdate(), "kind": Invoice.Kind.INVOICE}
        code = self.request.GET.get("partner")
        if code:
            partner = (
                Partner.objects.for_company(self.request.company)  # type: ignore[attr-defined]
                .filter(code=code)
                .first()
            )
            if partner is not None:
                initial.update(
                    partner=partner.pk,
                    currency=partner.currency or "",
                    payment_term=partner.payment_term_id,
                    language=partner.language,
                )
        return initial

    def get_formset(self, instance: Invoice | None) -> Any:
        company = self.request.company  # type: ignore[attr-defined]
        kwargs: dict[str, Any] = {
            "prefix": "lines",
            "form_kwargs": {
                "company": company,
                "direction": declared(self).direction,
                "account_search": has_perm(self.request, "ledger.view_account"),
            },
        }
        if self.request.method == "POST":
            kwargs["data"] = self.request.POST
        elif instance is not None:
            kwargs["initial"] = [*invoice_line_initial(instance), {}]
        else:
            kwargs["initial"] = [{}, {}, {}]
        return InvoiceLineFormSet(**kwargs)

    def refused_redirect(self, instance: Invoice) -> HttpResponse:
        messages.error(self.request, str(ISSUED_REFUSED % {"invoice": instance}))
        return HttpResponseRedirect(
            company_url(self.request, self.views.url_name("detail"), pk=instance.pk)
        )

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.get_object() if pk is not None else None
        if instance is not None and instance.is_issued:
            return self.refused_redirect(instance)
        return self.render_invoice(self.get_form(instance), self.get_formset(instance), instance)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.get_object() if pk is not None else None
        if instance is not None and instance.is_issued:
            ctx = self.base_context(
                object=instance,
                refused=ISSUED_REFUSED % {"invoice": instance},
                detail_url=company_url(request, self.views.url_name("detail"), pk=instance.pk),
            )
            return render(request, "billing/invoice_refused.html", ctx, status=400)
        issue_now = "issue" in request.POST
        if issue_now and not has_perm(request, ISSUE_PERM):
            raise deny(request, ISSUE_PERM)
        form = self.get_form(instance)
        formset = self.get_formset(instance)
        valid = form.is_valid()
        valid = formset.is_valid() and valid
        if not valid:
            return self.render_invoice(form, formset, instance, status=400)
        filled = formset.non_blank_forms()
        data = form.service_data()
        lines = [line.as_service_line() for line in filled]
        company = request.company  # type: ignore[attr-defined]
        upload = form.cleaned_data.get("attachment_file")
        stored: list[Any] = []
        try:
            with transaction.atomic():
                if upload:
                    data["attachment"] = self.file_attachment(upload, data, stored)
                if instance is None:
                    invoice = services.invoice_create_draft(
                        company=company, direction=declared(self).direction, lines=lines, **data
                    )
                else:
                    invoice = services.invoice_update_draft(instance=instance, lines=lines, **data)
                if issue_now:
                    invoice = services.invoice_issue(
                        instance=invoice, allow_before_lock=has_perm(request, LOCK_PERM)
                    )
        except ValidationError as exc:
            for document in stored:  # the row was rolled back: the file goes too
                document.file.storage.delete(document.file.name)
            apply_errors(form, formset, filled, exc)
            return self.render_invoice(form, formset, instance, status=400)
        if issue_now:
            messages.success(request, issued_message(invoice))
        else:
            messages.success(request, _("%(obj)s saved.") % {"obj": invoice})
        return HttpResponseRedirect(
            company_url(request, self.views.url_name("detail"), pk=invoice.pk)
        )

    def file_attachment(self, upload: Any, data: dict[str, Any], stored: list[Any]) -> Any:
        """File the supplier's document in the archive (kind "invoice")."""
        from trastienda.documents.models import Document
        from trastienda.documents.services import document_create

        partner = data["partner"]
        reference = data.get("supplier_reference") or ""
        document = document_create(
            company=self.request.company,  # type: ignore[attr-defined]
            file=upload,
            title=(
                _("Bill %(number)s from %(partner)s")
                % {"number": reference, "partner": partner.legal_name}
            )[:200],
            kind=Document.Kind.INVOICE,
            reference=reference[:100],
            document_date=data.get("date"),
        )
        stored.append(document)
        return document

    def render_invoice(
        self, form: InvoiceForm, formset: Any, instance: Invoice | None, status: int = 200
    ) -> HttpResponse:
        request = self.request
        company = request.company  # type: ignore[attr-defined]
        line_errors = []
        for number, line_form in enumerate(formset.forms, start=1):
            for error in line_form.non_field_errors():
                line_errors.append(_("Line %(n)d: %(error)s") % {"n": number, "error": error})
            for name, errors in line_form.errors.items():
                if name == "__all__":
                    continue
                label = line_form.fields[name].label if name in line_form.fields else name
                for error in errors:
                    line_errors.append(
                        _("Line %(n)d: %(field)s: %(error)s")
                        % {"n": number, "field": label, "error": error}
                    )
        for error in formset.non_form_errors():
            line_errors.append(str(error))
        direction = declared(self).direction
        totals = totals_context(company, direction, form, formset)
        nets = dict(totals["line_nets"])
        for line_form in formset.forms:
            line_form.net_display = nets.get(line_form.prefix)
        ctx = self.base_context(
            form=form,
            formset=formset,
            object=instance,
            line_errors=line_errors,
            can_issue=has_perm(request, ISSUE_PERM),
            base_currency=company.base_currency,
            decimal_separator=get_format("DECIMAL_SEPARATOR"),
            thousand_separator=get_format("THOUSAND_SEPARATOR"),
            line_url=company_url(request, "billing:invoice_line") + f"?direction={direction}",
            totals_url=company_url(request, "billing:invoice_totals") + f"?direction={direction}",
            product_url=company_url(request, "billing:invoice_product") + f"?direction={direction}",
            totals=totals,
            header_fields=header_layout(form),
            rectifies_fields=[
                form[name] for name in ("rectifies", "rectification_reason") if name in form.fields
            ],
            attachment=instance.attachment if instance is not None else None,
        )
        if instance is not None:
            detail = company_url(request, self.views.url_name("detail"), pk=instance.pk)
            ctx["breadcrumbs"].append({"label": str(instance), "url": detail})
            ctx["breadcrumbs"].append({"label": _("Edit"), "url": None})
            ctx["action_url"] = company_url(request, self.views.url_name("edit"), pk=instance.pk)
            ctx["cancel_url"] = detail
        else:
            ctx["breadcrumbs"].append({"label": _("New"), "url": None})
            ctx["action_url"] = company_url(request, self.views.url_name("add"))
            ctx["cancel_url"] = ctx["list_url"]
        return render(request, self.template_name, ctx, status=status)


HEADER_ROWS = (
    ("partner", "kind", "series", "supplier_reference"),
    ("date", "operation_date", "due_date", "payment_term"),
    ("currency", "rate", "language", "attachment_file"),
)


def header_layout(form: InvoiceForm) -> list[list[Any]]:
    """The header's fields in rows (those of the form's direction)."""
    return [[form[name] for name in row if name in form.fields] for row in HEADER_ROWS]


def issued_message(invoice: Invoice) -> str:
    if invoice.direction == Direction.PURCHASE:
        return _("Bill %(bill)s posted.") % {"bill": invoice}
    return _("Invoice %(number)s issued.") % {"number": invoice.number}


def apply_errors(form: Any, formset: Any, filled: list[Any], exc: ValidationError) -> None:
    """The service's errors onto the header and the rows: ``lines[N].field`` on the field
    of the N-th filled row, ``lines[N]`` on the row, known header fields on theirs."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, messages_ in exc.message_dict.items():
        head, _sep, rest = key.partition("[")
        if head == "lines" and rest:
            number, _bracket, field = rest.partition("]")
            field = field.lstrip(".")
            if number.isdigit() and 0 < int(number) <= len(filled):
                row = filled[int(number) - 1]
                _add_error(row, field if field in row.fields else None, messages_)
                continue
        if key in form.fields:
            _add_error(form, key, messages_)
        elif key == "attachment" and "attachment_file" in form.fields:
            _add_error(form, "attachment_file", messages_)
        else:
            form.add_error(None, messages_)


def _add_error(form: Any, field: str | None, messages_: list[str]) -> None:
    """``form.add_error``, and the field drawn as invalid (the page puts the focus on the
    first invalid field)."""
    form.add_error(field, messages_)
    if field is not None:
        widget = form.fields[field].widget
        if "is-invalid" not in widget.attrs.get("class", ""):
            widget.attrs["class"] = (widget.attrs.get("class", "") + " is-invalid").strip()


# --- live totals, new line, product defaults --------------------------------------------------


def totals_context(company: Any, direction: str, form: Any, formset: Any) -> dict[str, Any]:
    """The totals of the lines as typed, by :func:`calc.compute` (the services' arithmetic).
    Rows that cannot be read yet are left out and counted."""
    currency = company.base_currency
    if form is not None:
        data = getattr(form, "cleaned_data", None)
        if data and data.get("currency"):
            currency = data["currency"]
        elif form.is_bound:
            currency = _posted_currency(company, form.data) or currency
        elif form.initial.get("currency") or form.instance.pk:
            currency = form.initial.get("currency") or form.instance.currency
    inputs: list[calc.LineInput] = []
    keys: list[str] = []
    skipped = 0
    forms_ = formset.forms if formset is not None else []
    for line_form in forms_:
        if line_form.is_bound:
            if not line_form.has_changed():
                continue
            line_form.is_valid()
            data = getattr(line_form, "cleaned_data", None) or {}
            if line_form.errors and any(
                name in line_form.errors for name in ("quantity", "unit_price", "discount", "taxes")
            ):
                skipped += 1
                continue
        else:
            data = _initial_values(line_form)
            if not data:
                continue
        try:
            line = _line_input(data, direction, currency)
        except (ValueError, ArithmeticError):
            skipped += 1
            continue
        if line is None:
            continue
        inputs.append(line)
        keys.append(line_form.prefix)
    totals = calc.compute(inputs, currency)
    exponent = currency_exponent(currency)
    taxes = {tax.pk: tax for tax in Tax.objects.filter(pk__in=[r.tax.id for r in totals.taxes])}
    return {
        "currency": currency,
        "exponent": exponent,
        "lines": len(inputs),
        "skipped": skipped,
        "net": _money(totals.net, currency),
        "tax": _money(totals.tax, currency),
        "withholding": _money(totals.withholding, currency),
        "total": _money(totals.total, currency),
        "payable": _money(totals.payable, currency),
        "split_payment": _money(totals.split_payment_tax, currency),
        "taxes": [
            {
                "tax": taxes.get(row.tax.id),
                "base": _money(row.base, currency),
                "amount": _money(row.amount, currency),
                "withholding": row.tax.kind == Tax.Kind.WITHHOLDING,
                "reverse_charge": row.tax.reverse_charge,
            }
            for row in totals.taxes
        ],
        "line_nets": [
            (prefix, _money(net, currency))
            for prefix, net in zip(keys, totals.line_nets, strict=True)
        ],
    }


def _posted_currency(company: Any, data: Any) -> str:
    code = str(data.get("currency") or "").upper()
    if code:
        return code
    partner = (
        Partner.objects.for_company(company).filter(pk=data.get("partner")).first()
        if str(data.get("partner") or "").isdigit()
        else None
    )
    return (partner.currency if partner else "") or company.base_currency


def _initial_values(line_form: Any) -> dict[str, Any]:
    initial = line_form.initial or {}
    if not initial:
        return {}
    taxes = list(Tax.objects.filter(pk__in=initial.get("taxes") or []))
    key = initial.get("product")
    product = Product.objects.filter(pk=int(key)).first() if key else None
    return {**initial, "taxes": taxes, "product": product}


def _line_input(data: dict[str, Any], direction: str, currency: str) -> calc.LineInput | None:
    """A line as calc takes it, with the services' defaults (a product's price)."""
    product = data.get("product")
    price = data.get("unit_price")
    if price is None:
        if product is None:
            units = 0
        else:
            units = product.sale_price if direction == Direction.SALE else product.purchase_price
    else:
        units = calc.price_to_units(Decimal(price), currency)
    quantity = data.get("quantity")
    quantity = Decimal(1) if quantity is None else Decimal(quantity)
    discount = data.get("discount")
    return calc.LineInput(
        quantity=quantity,
        unit_price=units,
        discount=Decimal(0) if discount is None else Decimal(discount),
        taxes=tuple(services.tax_spec(tax) for tax in data.get("taxes") or []),
    )


class InvoiceDeleteView(_Named, ObjectDeleteView):
    """The generic confirmation, except for an issued invoice: back to its page."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.get_object()
        if invoice.is_issued:
            messages.error(request, str(ISSUED_REFUSED % {"invoice": invoice}))
            return HttpResponseRedirect(
                company_url(request, self.views.url_name("detail"), pk=invoice.pk)
            )
        return super().get(request, pk)


class InvoiceViews(ObjectViews):
    """Sales invoices (and their credit notes and simplified invoices)."""

    model = Invoice
    name = "invoice"
    direction: ClassVar[str] = Direction.SALE
    verbose_name: ClassVar[Any] = _l("invoice")
    verbose_name_plural: ClassVar[Any] = _l("invoices")
    new_label: ClassVar[Any] = _l("New invoice")
    table = InvoiceTable
    filterset = SaleInvoiceFilterSet
    form = InvoiceForm
    select_related: ClassVar[tuple[str, ...]] = ("company", "partner", "series")
    list_view = InvoiceListView
    detail_view = InvoiceDetailView
    edit_view = InvoiceEditView
    delete_view = InvoiceDeleteView
    delete_service = services.invoice_delete_draft

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .filter(direction=cls.direction)
            .annotate(is_overdue=Exists(overdue_installments()))
        )

    @classmethod
    def app_verbose_name(cls) -> str:
        return str(Invoice._meta.app_config.verbose_name)

    @classmethod
    def export_filename(cls, fmt: str) -> str:
        plural = slugify(str(cls.verbose_name_plural))
        return f"{plural}-{timezone.localdate().isoformat()}.{fmt}"


class BillViews(InvoiceViews):
    """Supplier bills (and the suppliers' credit notes)."""

    name = "bill"
    direction = Direction.PURCHASE
    verbose_name = _l("supplier bill")
    verbose_name_plural = _l("supplier bills")
    new_label = _l("New bill")
    table = BillTable
    filterset = BillFilterSet
    select_related = ("company", "partner")


class InvoiceLineView(CompanyView):
    """GET (HTMX): one empty line row of the form, numbered by ``lines-TOTAL_FORMS``;
    ``direction`` chooses the taxes offered."""

    views = InvoiceViews
    template_name = "billing/invoice_line.html"

    def get_required_perm(self) -> str:
        return model_perm(Invoice, "add")

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            index = int(request.GET.get("lines-TOTAL_FORMS", "0"))
        except ValueError:
            index = 0
        index = max(0, min(index, 499))
        direction = _direction(request)
        formset = InvoiceLineFormSet(prefix="lines")
        line_form = formset.form(
            prefix=formset.add_prefix(index),
            company=request.company,  # type: ignore[attr-defined]
            direction=direction,
            account_search=has_perm(request, "ledger.view_account"),
            empty_permitted=True,
            use_required_attribute=False,
        )
        return render(request, self.template_name, {"line": line_form, "number": index + 1})


def _direction(request: HttpRequest) -> str:
    value = request.GET.get("direction") or request.POST.get("direction") or ""
    return value if value in Direction.values else Direction.SALE


class InvoiceTotalsView(CompanyView):
    """GET or POST (HTMX, the whole form): the totals panel, computed from the lines as
    typed with :mod:`trastienda.billing.calc`; nothing is written."""

    views = InvoiceViews
    template_name = "billing/invoice_totals.html"

    def get_required_perm(self) -> str:
        return model_perm(Invoice, "view")

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.answer(None)

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.answer(request.POST)

    def answer(self, data: Any) -> HttpResponse:
        request = self.request
        company = request.company  # type: ignore[attr-defined]
        direction = _direction(request)
        form = None
        formset = None
        if data is not None:
            form = InvoiceForm(data=data, direction=direction)
            form.set_company(company)
            formset = InvoiceLineFormSet(
                data=data,
                prefix="lines",
                form_kwargs={"company": company, "direction": direction},
            )
            if not formset.management_form.is_valid():
                formset = None
        totals = totals_context(company, direction, form, formset)
        return render(request, self.template_name, {"totals": totals, "oob": True})


class ProductDefaultsView(CompanyView):
    """GET ``?product=<id>&direction=&partner=&language=``: what choosing a product fills
    in, as JSON (description, unit, unit price as typed, taxes; the product's own taxes for
    the direction, else the partner's defaults). Without a product: ``{}``."""

    views = InvoiceViews

    def get_required_perm(self) -> str:
        return model_perm(Product, "view")

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        key = request.GET.get("product", "")
        product = (
            Product.objects.for_company(company).filter(pk=key).first() if key.isdigit() else None
        )
        if product is None:
            return JsonResponse({})
        direction = _direction(request)
        sale = direction == Direction.SALE
        partner_key = request.GET.get("partner", "")
        partner = (
            Partner.objects.for_company(company).filter(pk=partner_key).first()
            if partner_key.isdigit()
            else None
        )
        language = request.GET.get("language") or (partner.language if partner else "")
        scope = ("sale", "both") if sale else ("purchase", "both")
        taxes = [
            t.pk
            for t in (product.sale_taxes if sale else product.purchase_taxes).filter(
                active=True, scope__in=scope
            )
        ]
        if not taxes and partner is not None:
            taxes = [
                t.pk
                for t in (partner.sale_taxes if sale else partner.purchase_taxes).filter(
                    active=True, scope__in=scope
                )
            ]
        units = product.sale_price if sale else product.purchase_price
        currency = request.GET.get("currency") or company.base_currency
        try:
            price = format_price(units, currency)
        except (ValueError, KeyError):
            price = format_price(units, company.base_currency)
        response = JsonResponse(
            {
                "description": product.name_in(language) if language else product.name,
                "unit": product.unit,
                "unit_price": price,
                "taxes": taxes,
            }
        )
        response["Cache-Control"] = "private, no-store"
        return response


# --- actions ----------------------------------------------------------------------------------


class InvoiceActionView(CompanyView):
    """POST only: issue (post), duplicate, credit note, submit, approve or send back. The
    service decides; its error is shown as a message on the invoice's page."""

    views: ClassVar[type[InvoiceViews]] = InvoiceViews
    action: ClassVar[str] = "issue"
    PERMS: ClassVar[dict[str, str]] = {
        "issue": ISSUE_PERM,
        "duplicate": "billing.add_invoice",
        "credit_note": "billing.add_invoice",
        "submit": "billing.change_invoice",
        "approve": APPROVE_PERM,
        "reject": APPROVE_PERM,
    }

    def get_required_perm(self) -> str:
        return self.PERMS[self.action]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.get_object()
        views = self.views
        target = invoice
        edit = False
        try:
            if self.action == "issue":
                target = services.invoice_issue(
                    instance=invoice, allow_before_lock=has_perm(request, LOCK_PERM)
                )
                messages.success(request, issued_message(target))
            elif self.action == "duplicate":
                target = services.invoice_duplicate(instance=invoice)
                messages.success(
                    request, _("Copy of %(invoice)s saved as a draft.") % {"invoice": invoice}
                )
                edit = True
            elif self.action == "credit_note":
                form = CreditNoteForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(
                        {
                            name: [f"{form.fields[name].label}: {e}" for e in errors]
                            for name, errors in form.errors.items()
                        }
                    )
                target = services.credit_note_create(
                    instance=invoice,
                    date=form.cleaned_data.get("date"),
                    reason=form.cleaned_data["reason"],
                )
                messages.success(
                    request,
                    _("Draft credit note of %(invoice)s created: check it and issue it.")
                    % {"invoice": invoice},
                )
                edit = True
            elif self.action == "submit":
                target = services.bill_submit(instance=invoice)
                messages.success(request, _("Bill sent for approval."))
            elif self.action == "approve":
                target = services.bill_approve(instance=invoice, user=request.user)
                messages.success(request, _("Bill approved."))
            else:
                reject = RejectForm(request.POST)
                reason = reject.cleaned_data.get("reason", "") if reject.is_valid() else ""
                target = services.bill_reject(instance=invoice, reason=reason)
                messages.success(request, _("Bill sent back to draft."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            target, edit = invoice, False
        name = views.url_name("edit" if edit else "detail")
        return HttpResponseRedirect(company_url(request, name, pk=target.pk))


def _action_urls(views: type[InvoiceViews], actions: tuple[str, ...]) -> list[Any]:
    name = views.object_name()
    return [
        path(
            f"<int:pk>/{action.replace('_', '-')}/",
            InvoiceActionView.as_view(views=views, action=action),
            name=f"{name}_{action}",
        )
        for action in actions
    ]


COMMON_ACTIONS = ("issue", "duplicate", "credit_note")

urlpatterns = [
    path("invoices/line/", InvoiceLineView.as_view(), name="invoice_line"),
    path("invoices/totals/", InvoiceTotalsView.as_view(), name="invoice_totals"),
    path("invoices/product/", ProductDefaultsView.as_view(), name="invoice_product"),
    path(
        "invoices/",
        include([*_action_urls(InvoiceViews, COMMON_ACTIONS), *InvoiceViews.urls()]),
    ),
    path(
        "bills/",
        include(
            [
                *_action_urls(BillViews, (*COMMON_ACTIONS, "submit", "approve", "reject")),
                *BillViews.urls(),
            ]
        ),
    ),
]

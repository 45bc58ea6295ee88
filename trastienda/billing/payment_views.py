"""Pages of payments: the list and detail (generic), recording a payment against a partner's
open invoices, applying credit kept, and reversal. Payments are never edited or deleted:
undone by reversal (the journal entry is reversed and the invoices reopen)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import include, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from trastienda.billing import services
from trastienda.billing.filters import PaymentFilterSet
from trastienda.billing.models import Direction, Invoice, Partner, Payment
from trastienda.billing.tables import PaymentTable
from trastienda.core.forms import BootstrapMixin
from trastienda.core.generic import (
    CompanyView,
    ObjectDetailView,
    ObjectListView,
    ObjectViews,
    RefusedBulkDeleteView,
    RefusedDeleteView,
    RefusedEditView,
    company_url,
)
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm, model_perm
from trastienda.ledger.models import Account, AccountSubtype, Journal


class PaymentForm(BootstrapMixin, forms.Form):
    direction = forms.ChoiceField(label=_l("Direction"), choices=Direction.choices)
    partner = forms.ModelChoiceField(label=_l("Partner"), queryset=Partner.objects.none())
    date = forms.DateField(label=_l("Date"))
    amount = forms.DecimalField(label=_l("Amount"), max_digits=18, decimal_places=6)
    currency = forms.CharField(label=_l("Currency"), max_length=3)
    rate = forms.DecimalField(
        label=_l("Exchange rate"),
        required=False,
        max_digits=20,
        decimal_places=10,
        help_text=_l("Company currency per unit, for a payment in another currency."),
    )
    bank_account = forms.ModelChoiceField(
        label=_l("Bank or cash account"), queryset=Account.objects.none()
    )
    journal = forms.ModelChoiceField(label=_l("Journal"), queryset=Journal.objects.none())
    reference = forms.CharField(label=_l("Reference"), max_length=100, required=False)
    write_off = forms.BooleanField(
        label=_l("Write off the difference"),
        required=False,
        help_text=_l("Settle the invoices in full; the small difference goes to write-off."),
    )
    keep_credit = forms.BooleanField(
        label=_l("Keep any excess as the partner's credit"), required=False, initial=True
    )

    def __init__(self, *args: Any, company: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields  # ModelChoiceFields
        fields["partner"].queryset = Partner.objects.for_company(company).filter(active=True)
        fields["bank_account"].queryset = Account.objects.for_company(company).filter(
            postable=True, active=True, subtype__in=[AccountSubtype.BANK, AccountSubtype.CASH]
        )
        fields["journal"].queryset = Journal.objects.for_company(company).filter(
            active=True, type__in=[Journal.Type.BANK, Journal.Type.CASH]
        )


def open_invoices(company: Any, partner: Partner, direction: str) -> QuerySet[Invoice]:
    return (
        Invoice.objects.for_company(company)
        .filter(
            partner=partner,
            direction=direction,
            state=Invoice.State.ISSUED,
            open_amount__gt=0,
        )
        .exclude(kind=Invoice.Kind.CREDIT_NOTE)
        .order_by("due_date", "date", "id")
    )


class PaymentCreateView(CompanyView):
    """Record a payment: choose the partner, then how much of each open invoice it settles."""

    template_name = "billing/payment_form.html"
    views: ClassVar[type[ObjectViews]]

    def get_required_perm(self) -> str:
        return model_perm(Payment, "add")

    def get(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        initial: dict[str, Any] = {
            "direction": request.GET.get("direction") or Direction.SALE,
            "date": timezone.localdate(),
            "currency": company.base_currency,
            "keep_credit": True,
        }
        partner = None
        code = request.GET.get("partner")
        if code:
            partner = Partner.objects.for_company(company).filter(code=code).first()
            if partner is not None:
                initial["partner"] = partner
        bank = (
            Account.objects.for_company(company)
            .filter(postable=True, active=True, subtype=AccountSubtype.BANK)
            .order_by("code")
            .first()
        )
        journal = (
            Journal.objects.for_company(company)
            .filter(active=True, type=Journal.Type.BANK)
            .order_by("code")
            .first()
        )
        initial.update(bank_account=bank, journal=journal)
        selected = request.GET.get("invoice")
        rows = self.rows(partner, initial["direction"], selected=selected)
        if rows and selected:
            chosen = [r for r in rows if r["checked"]]
            if chosen:
                initial["amount"] = chosen[0]["open"]
                initial["currency"] = chosen[0]["invoice"].currency
        form = PaymentForm(initial=initial, company=company)
        return self.page(form, rows)

    def rows(
        self, partner: Partner | None, direction: str, selected: str | None = None, data: Any = None
    ) -> list[dict[str, Any]]:
        if partner is None:
            return []
        company = self.request.company  # type: ignore[attr-defined]
        result = []
        for invoice in open_invoices(company, partner, direction):
            open_value = Money(invoice.open_amount, invoice.currency).to_decimal()
            key = f"alloc-{invoice.pk}"
            checked = str(invoice.pk) == selected if data is None else key in data
            amount = data.get(f"{key}-amount", "") if data is not None else open_value
            result.append(
                {"invoice": invoice, "open": open_value, "checked": checked, "amount": amount}
            )
        return result

    def page(
        self, form: PaymentForm, rows: list[dict[str, Any]], status: int = 200
    ) -> HttpResponse:
        ctx = self.base_context(form=form, rows=rows)
        ctx["breadcrumbs"].append({"label": _("New"), "url": None})
        ctx["action_url"] = company_url(self.request, "billing:payment_add")
        return render(self.request, self.template_name, ctx, status=status)

    def post(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        form = PaymentForm(request.POST, company=company)
        if not form.is_valid():
            return self.page(form, [], status=400)
        data = form.cleaned_data
        rows = self.rows(data["partner"], data["direction"], data=request.POST)
        if "refresh" in request.POST:  # partner or direction changed: show its open invoices
            return self.page(form, rows)
        allocations = []
        for row in rows:
            if row["checked"]:
                allocations.append({"invoice": row["invoice"], "amount": row["amount"] or None})
        try:
            payment = services.payment_create(
                company=company,
                direction=data["direction"],
                partner=data["partner"],
                date=data["date"],
                amount=data["amount"],
                currency=data["currency"],
                rate=data.get("rate"),
                bank_account=data["bank_account"],
                journal=data["journal"],
                reference=data.get("reference") or "",
                allocations=allocations,
                write_off=data.get("write_off") or False,
                keep_credit=data.get("keep_credit") or False,
            )
        except ValidationError as exc:
            for key, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else []:
                head, _sep, rest = key.partition("[")
                if key in form.fields:
                    form.add_error(key, errors)
                elif head == "allocations" and rest[:-1].split("]")[0].isdigit():
                    index = int(rest.split("]")[0]) - 1
                    chosen = [r for r in rows if r["checked"]]
                    if 0 <= index < len(chosen):
                        chosen[index]["error"] = " ".join(errors)
                    else:
                        form.add_error(None, errors)
                else:
                    form.add_error(None, errors)
            if not hasattr(exc, "error_dict"):
                form.add_error(None, exc.messages)
            return self.page(form, rows, status=400)
        messages.success(request, _("Payment recorded and posted."))
        return HttpResponseRedirect(company_url(request, "billing:payment_detail", pk=payment.pk))


class PaymentDetailView(ObjectDetailView):
    template_name = "billing/payment_detail.html"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        payment = extra.get("object")
        ctx["can_change"] = ctx["can_delete"] = False
        if payment is None:
            return ctx
        currency = payment.currency
        ctx["allocations"] = [
            {"invoice": a.invoice, "amount": Money(a.amount, currency).to_decimal()}
            for a in payment.allocations.select_related("invoice")
        ]
        for name in ("amount", "unallocated_amount", "write_off_amount"):
            ctx[name] = Money(getattr(payment, name), currency).to_decimal()
        ctx["can_reverse"] = payment.state == Payment.State.POSTED and has_perm(
            self.request, model_perm(Payment, "change")
        )
        ctx["credit_invoices"] = (
            list(open_invoices(payment.company, payment.partner, payment.direction))
            if payment.unallocated_amount > 0 and payment.state == Payment.State.POSTED
            else []
        )
        return ctx


class PaymentListView(ObjectListView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_delete"] = False
        return ctx


class PaymentViews(ObjectViews):
    model = Payment
    table = PaymentTable
    filterset = PaymentFilterSet
    form = forms.Form  # type: ignore[assignment]  # never used: no generic add or edit page
    select_related = ("company", "partner", "bank_account", "journal", "entry")
    detail_fields = (
        "direction",
        "state",
        "partner",
        "date",
        "reference",
        "bank_account",
        "journal",
        "currency",
        "entry",
        "reversal_entry",
    )
    list_view = PaymentListView
    detail_view = PaymentDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView

    @classmethod
    def urls(cls) -> list[Any]:
        patterns = [p for p in super().urls() if p.name != "payment_add"]
        return [
            path("add/", PaymentCreateView.as_view(views=cls), name="payment_add"),
            *patterns,
        ]


class PaymentActionView(CompanyView):
    """POST: reverse a payment, or apply its credit to an open invoice."""

    views = PaymentViews
    action: ClassVar[str] = "reverse"

    def get_required_perm(self) -> str:
        return model_perm(Payment, "change")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        payment = self.get_object()
        try:
            if self.action == "reverse":
                services.payment_reverse(instance=payment)
                messages.success(request, _("Payment reversed; its invoices are open again."))
            else:
                invoice = (
                    Invoice.objects.for_company(request.company)  # type: ignore[attr-defined]
                    .filter(pk=request.POST.get("invoice") or 0)
                    .first()
                )
                if invoice is None:
                    raise ValidationError({"invoice": [_("Choose an invoice.")]})
                amount = request.POST.get("amount") or None
                services.credit_apply(
                    payment=payment,
                    invoice=invoice,
                    amount=Decimal(amount.replace(",", ".")) if amount else None,
                )
                messages.success(
                    request, _("Credit applied to %(invoice)s.") % {"invoice": invoice}
                )
        except (ValidationError, ArithmeticError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, text)
        return HttpResponseRedirect(company_url(request, "billing:payment_detail", pk=payment.pk))


urlpatterns: list[Any] = [
    path(
        "payments/<int:pk>/reverse/",
        PaymentActionView.as_view(action="reverse"),
        name="payment_reverse",
    ),
    path(
        "payments/<int:pk>/apply-credit/",
        PaymentActionView.as_view(action="credit"),
        name="payment_apply_credit",
    ),
]
urlpatterns += [path("payments/", include(PaymentViews.urls()))]

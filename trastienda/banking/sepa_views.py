"""Pages of SEPA payment batches and direct debit mandates, under ``/c/<code>/banking/``.

Batches: the list and detail (generic), "new transfer batch" and "new direct debit batch"
(choose the account and dates, see the bills or invoices due with checkboxes, create), and the
actions Approve (a second person with ``banking.approve_paymentbatch``), Download file and
Cancel. Batches are never edited or deleted: cancelled. Mandates: generic list, detail,
create, edit and delete, plus Revoke. Every write goes through :mod:`trastienda.banking.sepa`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import include, path
from django.utils.translation import gettext as _

from trastienda.banking import sepa
from trastienda.banking.models import Mandate, PaymentBatch, PaymentBatchLine
from trastienda.banking.sepa_filters import MandateFilterSet, PaymentBatchFilterSet
from trastienda.banking.sepa_forms import BatchForm, MandateForm, bank_accounts, default_date
from trastienda.banking.sepa_tables import MandateTable, PaymentBatchTable
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

APPROVE_PERM = "banking.approve_paymentbatch"
CHANGE_PERM = "banking.change_paymentbatch"


def _messages(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- payment batches ------------------------------------------------------------------------


class PaymentBatchListView(ObjectListView):
    template_name = "banking/paymentbatch_list.html"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_create"] = ctx["can_add"]
        ctx["can_add"] = ctx["can_delete"] = False  # two "new" buttons; batches are cancelled
        return ctx


class PaymentBatchDetailView(ObjectDetailView):
    template_name = "banking/paymentbatch_detail.html"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_change"] = ctx["can_delete"] = False
        batch: PaymentBatch | None = extra.get("object")
        if batch is None:
            return ctx
        request = self.request
        currency = batch.currency
        lines = list(
            PaymentBatchLine.objects.filter(batch=batch)
            .select_related("invoice", "partner", "mandate")
            .order_by("id")
        )
        is_creator = batch.created_by_id is not None and batch.created_by_id == request.user.pk
        may_approve = has_perm(request, APPROVE_PERM)
        may_change = has_perm(request, CHANGE_PERM)
        ctx.update(
            lines=[
                {"line": line, "amount": Money(line.amount, currency).to_decimal()}
                for line in lines
            ],
            total=Money(batch.total, currency).to_decimal(),
            scheme=sepa.batch_scheme(batch),
            is_creator=is_creator,
            can_approve=batch.state == PaymentBatch.State.DRAFT and may_approve and not is_creator,
            creator_must_wait=batch.state == PaymentBatch.State.DRAFT
            and may_approve
            and is_creator,
            can_export=may_change
            and batch.state
            in (PaymentBatch.State.APPROVED, PaymentBatch.State.EXPORTED, PaymentBatch.State.PAID),
            can_cancel=may_change and batch.state in sepa.CANCELLABLE,
            filename=sepa.batch_filename(batch),
        )
        return ctx


class PaymentBatchViews(ObjectViews):
    model = PaymentBatch
    table = PaymentBatchTable
    filterset = PaymentBatchFilterSet
    form = forms.Form  # type: ignore[assignment]  # never used: batches are made from due bills
    select_related = ("company", "bank_account", "created_by", "approved_by")
    detail_fields = (
        "kind",
        "state",
        "bank_account",
        "execution_date",
        "currency",
        "line_count",
        "message_id",
        "created_by",
        "created_at",
        "approved_by",
        "approved_at",
    )
    list_view = PaymentBatchListView
    detail_view = PaymentBatchDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView

    @classmethod
    def urls(cls) -> list[Any]:
        patterns = [p for p in super().urls() if p.name != "paymentbatch_add"]
        transfer = PaymentBatchCreateView.as_view(views=cls, kind=PaymentBatch.Kind.TRANSFER)
        debit = PaymentBatchCreateView.as_view(views=cls, kind=PaymentBatch.Kind.DEBIT)
        return [
            path("add/", transfer, name="paymentbatch_add"),
            path("new/transfer/", transfer, name="paymentbatch_add_transfer"),
            path("new/debit/", debit, name="paymentbatch_add_debit"),
            *patterns,
        ]


class PaymentBatchCreateView(CompanyView):
    """Choose the bank account and dates, see what is due (with checkboxes), create the batch
    of the rows left ticked. GET with the form's fields (or POST ``preview``) shows the rows;
    POST creates."""

    template_name = "banking/paymentbatch_form.html"
    views: ClassVar[type[ObjectViews]] = PaymentBatchViews
    kind: ClassVar[str] = PaymentBatch.Kind.TRANSFER

    def get_required_perm(self) -> str:
        return model_perm(PaymentBatch, "add")

    def form(self, data: Any = None) -> BatchForm:
        company = self.request.company  # type: ignore[attr-defined]
        initial = {"date": default_date(), "bank_account": bank_accounts(company).first()}
        return BatchForm(data, initial=initial, company=company, kind=self.kind)

    def rows(self, form: BatchForm, chosen: set[int] | None = None) -> list[dict[str, Any]] | None:
        """The rows due for the form's choices; None (and the reason on the form) when the
        bank account cannot make this kind of batch."""
        data = form.cleaned_data
        company = self.request.company  # type: ignore[attr-defined]
        try:
            sepa.batch_bank_account(
                company=company, bank_account=data["bank_account"], kind=self.kind
            )
        except ValidationError as exc:
            form.add_error("bank_account", exc.messages)
            return None
        cutoff = data.get("due_until") or data["date"]
        if self.kind == PaymentBatch.Kind.TRANSFER:
            found = sepa.transfer_candidates(
                company=company, bank_account=data["bank_account"], due_until=cutoff
            )
        else:
            found = sepa.debit_candidates(
                company=company,
                bank_account=data["bank_account"],
                collection_date=data["date"],
                due_until=cutoff,
                scheme=data.get("scheme") or None,
            )
        return [
            {
                "candidate": row,
                "checked": not row.problem and (chosen is None or row.invoice.pk in chosen),
            }
            for row in found
        ]

    def page(
        self,
        form: BatchForm,
        rows: list[dict[str, Any]] | None,
        status: int = 200,
    ) -> HttpResponse:
        title = (
            _("New transfer batch")
            if self.kind == PaymentBatch.Kind.TRANSFER
            else _("New direct debit batch")
        )
        total = sum(row["candidate"].amount for row in rows or () if row["checked"])
        ctx = self.base_context(
            form=form,
            rows=rows,
            kind=self.kind,
            title=title,
            preview_total=Money(total, sepa.SEPA_CURRENCY).to_decimal(),
            action_url=company_url(
                self.request,
                "banking:paymentbatch_add_transfer"
                if self.kind == PaymentBatch.Kind.TRANSFER
                else "banking:paymentbatch_add_debit",
            ),
        )
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        if "bank_account" not in request.GET:
            return self.page(self.form(), None)
        form = self.form(request.GET)
        if not form.is_valid():
            return self.page(form, None, status=400)
        rows = self.rows(form)
        return self.page(form, rows, status=200 if rows is not None else 400)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form(request.POST)
        if not form.is_valid():
            return self.page(form, None, status=400)
        if "preview" in request.POST:
            rows = self.rows(form)
            return self.page(form, rows, status=200 if rows is not None else 400)
        chosen = {int(v) for v in request.POST.getlist("invoice") if v.isdigit()}
        rows = self.rows(form, chosen)
        if rows is None:
            return self.page(form, None, status=400)
        data = form.cleaned_data
        company = request.company  # type: ignore[attr-defined]
        try:
            if not chosen:
                raise ValidationError({"invoices": [_("Tick at least one row.")]})
            if self.kind == PaymentBatch.Kind.TRANSFER:
                batch = sepa.transfer_batch_create(
                    company=company,
                    bank_account=data["bank_account"],
                    execution_date=data["date"],
                    due_until=data.get("due_until"),
                    invoices=sorted(chosen),
                    user=request.user,
                )
            else:
                batch = sepa.debit_batch_create(
                    company=company,
                    bank_account=data["bank_account"],
                    collection_date=data["date"],
                    due_until=data.get("due_until"),
                    invoices=sorted(chosen),
                    scheme=data.get("scheme") or None,
                    user=request.user,
                )
        except ValidationError as exc:
            fields = {
                "execution_date": "date",
                "collection_date": "date",
                "bank_account": "bank_account",
                "due_until": "due_until",
                "scheme": "scheme",
            }
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            for key, texts in errors.items():
                name = fields.get(key)
                form.add_error(name if name in form.fields else None, texts)
            return self.page(form, rows, status=400)
        messages.success(
            request,
            _("Batch #%(id)s created with %(count)s payments: another person approves it.")
            % {"id": batch.pk, "count": batch.line_count},
        )
        return HttpResponseRedirect(batch.get_absolute_url())


class PaymentBatchActionView(CompanyView):
    """POST only: approve, generate/download the file, or cancel. The service decides; its
    refusal is shown on the batch's page."""

    views: ClassVar[type[ObjectViews]] = PaymentBatchViews
    action: ClassVar[str] = "approve"
    PERMS: ClassVar[dict[str, str]] = {
        "approve": APPROVE_PERM,
        "export": CHANGE_PERM,
        "cancel": CHANGE_PERM,
    }

    def get_required_perm(self) -> str:
        return self.PERMS[self.action]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        batch = self.get_object()
        try:
            if self.action == "approve":
                sepa.batch_approve(batch=batch, user=request.user)
                messages.success(request, _("Batch approved: its file can be generated."))
            elif self.action == "export":
                content = sepa.batch_export(batch=batch, user=request.user)
                batch.refresh_from_db()
                response = HttpResponse(content, content_type="application/xml; charset=utf-8")
                response["Content-Disposition"] = (
                    f'attachment; filename="{sepa.batch_filename(batch)}"'
                )
                response["Cache-Control"] = "private, no-store"
                return response
            else:
                sepa.batch_cancel(batch=batch, user=request.user)
                messages.success(request, _("Batch cancelled: its invoices are free again."))
        except ValidationError as exc:
            messages.error(request, _messages(exc))
        return HttpResponseRedirect(company_url(request, "banking:paymentbatch_detail", pk=pk))


# --- mandates -------------------------------------------------------------------------------


class MandateDetailView(ObjectDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        mandate: Mandate | None = extra.get("object")
        if mandate is None:
            return ctx
        active = mandate.state == Mandate.State.ACTIVE
        used = (
            mandate.last_collected_on is not None
            or PaymentBatchLine.objects.filter(mandate=mandate).exists()
        )
        ctx["can_revoke"] = active and ctx["can_change"]
        ctx["can_change"] = ctx["can_change"] and active
        ctx["can_delete"] = ctx["can_delete"] and not used
        ctx["collections"] = (
            PaymentBatchLine.objects.filter(mandate=mandate)
            .select_related("batch", "invoice")
            .order_by("-batch__execution_date", "-id")[:50]
        )
        ctx["next_sequence"] = mandate.sequence_type
        return ctx


class MandateViews(ObjectViews):
    model = Mandate
    table = MandateTable
    filterset = MandateFilterSet
    form = MandateForm
    select_related = ("company", "partner")
    detail_fields = (
        "reference",
        "partner",
        "scheme",
        "iban",
        "bic",
        "signed_on",
        "state",
        "last_collected_on",
    )
    detail_template = "banking/mandate_detail_extra.html"
    detail_view = MandateDetailView
    create_service = sepa.mandate_create
    update_service = sepa.mandate_update
    delete_service = sepa.mandate_delete


class MandateRevokeView(CompanyView):
    """POST: revoke a mandate (no collection under it any more)."""

    views: ClassVar[type[ObjectViews]] = MandateViews

    def get_required_perm(self) -> str:
        return model_perm(Mandate, "change")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        mandate = self.get_object()
        try:
            sepa.mandate_revoke(instance=mandate)
            messages.success(request, _("Mandate %(ref)s revoked.") % {"ref": mandate.reference})
        except ValidationError as exc:
            messages.error(request, _messages(exc))
        return HttpResponseRedirect(company_url(request, "banking:mandate_detail", pk=pk))


def _action(name: str) -> Any:
    return path(
        f"payment-batches/<int:pk>/{name}/",
        PaymentBatchActionView.as_view(action=name),
        name=f"paymentbatch_{name}",
    )


urlpatterns: list[Any] = [
    _action("approve"),
    _action("export"),
    _action("cancel"),
    path("payment-batches/", include(PaymentBatchViews.urls())),
    path("mandates/<int:pk>/revoke/", MandateRevokeView.as_view(), name="mandate_revoke"),
    path("mandates/", include(MandateViews.urls())),
]

"""Pages of billing's reference data, under ``/c/<code>/billing/``: partners (with their
contacts and bank accounts edited on the partner's page, and an import page), products and
services, payment terms, taxes, invoice series and the billing settings.

Each is the generic ObjectViews (list with search, filters and CSV/XLSX export, detail with
history, add, edit, delete), writing through the services of
:mod:`trastienda.billing.partners`. URL names follow the generic scheme
(``billing:partner_list``, ``billing:tax_detail``...).
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, include, path
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from trastienda.billing import partner_forms as forms
from trastienda.billing import partner_imports as imports
from trastienda.billing import partners as services
from trastienda.billing.models import (
    BillingSettings,
    Direction,
    Invoice,
    InvoiceSeries,
    Partner,
    PartnerBankAccount,
    PaymentTerm,
    Product,
    Tax,
)
from trastienda.billing.partner_filters import (
    BillingSettingsFilterSet,
    InvoiceSeriesFilterSet,
    PartnerFilterSet,
    PaymentTermFilterSet,
    ProductFilterSet,
    TaxFilterSet,
)
from trastienda.billing.partner_tables import (
    BillingSettingsTable,
    InvoiceSeriesTable,
    PartnerTable,
    PaymentTermTable,
    ProductTable,
    TaxTable,
    percent,
)
from trastienda.core.generic import (
    CompanyView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    ObjectViews,
    RefusedBulkDeleteView,
    RefusedDeleteView,
    company_url,
    deny,
)
from trastienda.core.money import Money
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.uploads import inspect_upload

# A permission no role holds: pages for what billing does not offer (deleting the settings).
SYNC_MAX_BYTES = 512 * 1024
"""Partner files up to this size are imported in the request; larger ones by a job."""


def _m2m(value: Any) -> str:
    return ", ".join(tax.code for tax in value.all()) if value is not None else ""


def _history_in_decimals(ctx: dict[str, Any], model: Any, fields: dict[str, str]) -> None:
    """The audit trail keeps amounts and prices as stored (integer minor or price units):
    show them in the company currency, as everywhere else on the page."""
    obj = ctx.get("object")
    if obj is None:
        return
    currency = obj.company.base_currency
    convert = {
        "amount": lambda v: services.amount_decimal(int(v), currency),
        "price": lambda v: services.units_to_price(int(v), currency),
    }
    labels = {
        capfirst(str(model._meta.get_field(name).verbose_name)): convert[kind]
        for name, kind in fields.items()
    }
    for item in ctx.get("history", ()):
        changes = []
        for label, before, after in item["changes"]:
            to_decimal = labels.get(str(label))
            if to_decimal is not None:
                before = to_decimal(before) if isinstance(before, int) else before
                after = to_decimal(after) if isinstance(after, int) else after
            changes.append((label, before, after))
        item["changes"] = changes


class ProductDetailView(ObjectDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        _history_in_decimals(ctx, Product, {"sale_price": "price", "purchase_price": "price"})
        return ctx


# --- partners --------------------------------------------------------------------------------


class PartnerListView(ObjectListView):
    """The generic list, with a link to the import page."""

    template_name = "billing/partner_list.html"

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_import"] = has_perm(self.request, model_perm(Partner, "add")) and has_perm(
            self.request, model_perm(Partner, "change")
        )
        return ctx


class PartnerDetailView(ObjectDetailView):
    """The generic detail page plus contacts, bank accounts (each with a small form to add
    one and buttons to remove), possible duplicates and the partner's latest invoices."""

    template_name = "billing/partner_detail.html"
    contact_form: Any = None
    bank_form: Any = None

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        partner = extra.get("object")
        if partner is None:
            return ctx
        _history_in_decimals(ctx, Partner, {"credit_limit": "amount"})
        request = self.request
        ctx["contacts"] = list(partner.contacts.all())
        ctx["bank_accounts"] = list(partner.bank_accounts.all())
        ctx["contact_form"] = self.contact_form or forms.ContactForm(prefix="contact")
        ctx["bank_form"] = self.bank_form or forms.BankAccountForm(prefix="bank")
        ctx["contacts_url"] = company_url(request, "billing:partner_contacts", pk=partner.pk)
        ctx["bank_accounts_url"] = company_url(
            request, "billing:partner_bank_accounts", pk=partner.pk
        )
        ctx["duplicates"] = services.partner_possible_duplicates(partner=partner)
        ctx["invoices"], ctx["invoice_links"] = self.invoices(partner)
        return ctx

    def invoices(self, partner: Partner) -> tuple[list[Any], list[tuple[str, str]]]:
        """The partner's ten latest invoices and bills, and links to their full lists (when
        the invoice pages are installed and the user may see them)."""
        if not has_perm(self.request, model_perm(Invoice, "view")):
            return [], []
        rows = list(
            Invoice.objects.for_company(partner.company)
            .filter(partner=partner)
            .select_related("company")
            .order_by("-date", "-id")[:10]
        )
        for invoice in rows:
            try:
                invoice.link = invoice.get_absolute_url()
            except NoReverseMatch:
                invoice.link = ""
            invoice.total_display = Money(invoice.total_amount, invoice.currency).to_decimal()
        links = []
        for name, label, direction in (
            ("billing:invoice_list", _("All invoices"), Direction.SALE),
            ("billing:bill_list", _("All supplier bills"), Direction.PURCHASE),
        ):
            if direction == Direction.SALE and not partner.is_customer:
                continue
            if direction == Direction.PURCHASE and not partner.is_supplier:
                continue
            try:
                url = company_url(self.request, name)
            except NoReverseMatch:
                continue
            links.append((f"{url}?{urlencode({'partner': partner.code})}", label))
        if partner.is_customer:
            links.append(
                (
                    company_url(self.request, "billing:partner_collections", pk=partner.pk),
                    _("Collections"),
                )
            )
            links.append(
                (
                    company_url(self.request, "billing:partner_statement")
                    + f"?{urlencode({'partner': partner.code})}",
                    _("Statement of account"),
                )
            )
        return rows, links


class PartnerChildrenView(PartnerDetailView):
    """POST only: add (``action=add``), remove (``action=remove``, ``id``) or, for bank
    accounts, make the default (``action=default``, ``id``) a contact or bank account of the
    partner. Part of editing the partner: needs ``billing.change_partner``."""

    http_method_names = ["post"]
    kind: ClassVar[str] = "contacts"

    def get_required_perm(self) -> str:
        return model_perm(Partner, "change")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        partner = self.get_object()
        action = request.POST.get("action", "add")
        detail = company_url(request, "billing:partner_detail", pk=partner.pk)
        anchor = "#contacts" if self.kind == "contacts" else "#bank-accounts"
        try:
            if action == "add":
                return self.add(request, partner) or HttpResponseRedirect(detail + anchor)
            child = self.child(partner, request.POST.get("id", ""))
            if child is None:
                messages.error(request, _("That record is not one of this partner's."))
            elif action == "remove":
                if self.kind == "contacts":
                    services.contact_delete(instance=child)
                else:
                    services.bank_account_delete(instance=child)
                messages.success(request, _("%(obj)s removed.") % {"obj": child})
            elif action == "default" and self.kind == "bank_accounts":
                services.bank_account_update(instance=child, is_default=True)
                messages.success(request, _("%(obj)s is the default account.") % {"obj": child})
            else:
                messages.error(request, _("Unknown action."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(detail + anchor)

    def child(self, partner: Partner, raw: str) -> Any:
        if not raw.isdigit():
            return None
        related = partner.contacts if self.kind == "contacts" else partner.bank_accounts
        return related.filter(pk=int(raw)).first()

    def add(self, request: HttpRequest, partner: Partner) -> HttpResponse | None:
        if self.kind == "contacts":
            form: Any = forms.ContactForm(request.POST, prefix="contact")
            service: Any = services.contact_create
        else:
            form = forms.BankAccountForm(request.POST, prefix="bank")
            service = services.bank_account_create
        if form.is_valid():
            try:
                obj = service(partner=partner, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("%(obj)s added.") % {"obj": obj})
                return None
        if self.kind == "contacts":
            self.contact_form = form
        else:
            self.bank_form = form
        response = self.get(request, partner.pk)
        response.status_code = 400
        return response


class PartnerViews(ObjectViews):
    model = Partner
    table = PartnerTable
    filterset = PartnerFilterSet
    form = forms.PartnerForm
    select_related = ("company", "payment_term")
    list_view = PartnerListView
    detail_view = PartnerDetailView
    detail_template = "billing/partner_detail_extra.html"
    detail_fields = (
        *services.PARTNER_FIELDS,
        "created_at",
    )
    create_service = services.partner_create
    update_service = services.partner_update
    delete_service = services.partner_delete

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> QuerySet[Any]:
        default = PartnerBankAccount.objects.filter(
            partner=OuterRef("pk"), is_default=True
        ).order_by("id")
        return (
            super()
            .get_queryset(request)
            .annotate(
                default_iban=Subquery(default.values("iban")[:1]),
                default_bic=Subquery(default.values("bic")[:1]),
            )
        )

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        currency = obj.company.base_currency
        limit = services.amount_decimal(obj.credit_limit, currency)
        fixed = {
            "sale_taxes": _m2m(obj.sale_taxes),
            "purchase_taxes": _m2m(obj.purchase_taxes),
            "credit_limit": f"{limit} {currency}" if limit is not None else _("No limit"),
        }
        return [
            (label, fixed.get(name, value))
            for name, (label, value) in zip(
                cls.detail_fields, super().detail_values(obj), strict=True
            )
        ]


def _children_view(kind: str) -> Any:
    return PartnerChildrenView.as_view(views=PartnerViews, kind=kind)


class PartnerImportView(CompanyView):
    """GET: the upload form (``?template=csv``: an example file). POST: import the file,
    in the request when small, else by a background job whose page shows the progress."""

    views = PartnerViews
    template_name = "billing/partner_import.html"

    def get_required_perm(self) -> str:
        return model_perm(Partner, "add")

    def page(
        self, form: forms.PartnerImportForm, *, status: int = 200, **extra: Any
    ) -> HttpResponse:
        title = _("Import partners")
        ctx = self.base_context(
            form=form, title=title, columns=imports.ALL_COLUMNS, max_bytes=SYNC_MAX_BYTES, **extra
        )
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.GET.get("template") == "csv":
            text = "\n".join(",".join(row) for row in imports.EXAMPLE_ROWS) + "\n"
            response = HttpResponse(text.encode(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="partners-example.csv"'
            return response
        return self.page(forms.PartnerImportForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        change = model_perm(Partner, "change")
        if not has_perm(request, change):
            raise deny(request, change)
        form = forms.PartnerImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(form, status=400)
        upload = form.cleaned_data["file"]
        if upload.size > SYNC_MAX_BYTES:
            return HttpResponseRedirect(self.start_job(upload))
        try:
            result = imports.partners_import(
                company=request.company,  # type: ignore[attr-defined]
                content=upload.read(),
                filename=upload.name,
            )
        except ValidationError as exc:
            return self.page(form, status=400, errors=imports.error_list(exc))
        return self.page(
            forms.PartnerImportForm(), result=result, message=imports.result_message(result)
        )

    def start_job(self, upload: Any) -> str:
        from trastienda.core.jobs import job_start, job_url

        info = inspect_upload(upload, allowed=("csv", "xlsx"))
        company = self.request.company  # type: ignore[attr-defined]
        stored = default_storage.save(
            f"imports/billing/{company.code}/{secrets.token_hex(16)}.{info.extension}",
            ContentFile(upload.read()),
        )
        job = job_start(
            company=company,
            user=self.request.user,
            kind="billing.import_partners",
            description=_("Import of partners from %(name)s") % {"name": info.original_name},
            params={"path": stored, "filename": info.original_name},
        )
        return job_url(job)


# --- products, payment terms, taxes, series -----------------------------------------------------


class ProductViews(ObjectViews):
    model = Product
    table = ProductTable
    filterset = ProductFilterSet
    form = forms.ProductForm
    select_related = ("company",)
    detail_view = ProductDetailView
    detail_fields = (
        "sku",
        "name_es",
        "name_it",
        "name_en",
        "unit",
        "sale_price",
        "purchase_price",
        "sale_taxes",
        "purchase_taxes",
        "income_account",
        "expense_account",
        "active",
    )
    create_service = services.product_create
    update_service = services.product_update
    delete_service = services.product_delete

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        currency = obj.company.base_currency
        fixed = {
            "sale_price": f"{services.units_to_price(obj.sale_price, currency)} {currency}",
            "purchase_price": f"{services.units_to_price(obj.purchase_price, currency)} {currency}",
            "sale_taxes": _m2m(obj.sale_taxes),
            "purchase_taxes": _m2m(obj.purchase_taxes),
        }
        return [
            (label, fixed.get(name, value))
            for name, (label, value) in zip(
                cls.detail_fields, super().detail_values(obj), strict=True
            )
        ]


class PaymentTermViews(ObjectViews):
    model = PaymentTerm
    table = PaymentTermTable
    filterset = PaymentTermFilterSet
    form = forms.PaymentTermForm
    select_related = ("company",)
    detail_fields = ("code", "name", "days", "end_of_month", "active")
    create_service = services.payment_term_create
    update_service = services.payment_term_update
    delete_service = services.payment_term_delete


class TaxViews(ObjectViews):
    model = Tax
    table = TaxTable
    filterset = TaxFilterSet
    form = forms.TaxForm
    select_related = ("company", "sale_account", "purchase_account")
    detail_fields = services.TAX_FIELDS
    create_service = services.tax_create
    update_service = services.tax_update
    delete_service = services.tax_delete

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        return [
            (label, f"{percent(obj.rate)} %" if name == "rate" else value)
            for name, (label, value) in zip(
                cls.detail_fields, super().detail_values(obj), strict=True
            )
        ]


class InvoiceSeriesViews(ObjectViews):
    model = InvoiceSeries
    table = InvoiceSeriesTable
    filterset = InvoiceSeriesFilterSet
    form = forms.InvoiceSeriesForm
    select_related = ("company", "journal")
    detail_fields = services.SERIES_FIELDS
    create_service = services.series_create
    update_service = services.series_update
    delete_service = services.series_delete


# --- billing settings: one row per company ----------------------------------------------------


class SettingsListView(ObjectListView):
    """The settings have one page: the list goes to it (or offers to create the row)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        row = self.get_queryset().first()
        if row is not None and not request.GET.get("export"):
            return HttpResponseRedirect(
                company_url(request, "billing:billingsettings_detail", pk=row.pk)
            )
        return super().get(request)


class SettingsDetailView(ObjectDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx["can_delete"] = False
        _history_in_decimals(
            ctx, BillingSettings, {"approval_threshold": "amount", "write_off_limit": "amount"}
        )
        return ctx


class SettingsEditView(ObjectEditView):
    """Edit the company's settings; "add" is only for a company that has none yet."""

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        existing = self.get_queryset().first() if pk is None else None
        if existing is not None:
            return HttpResponseRedirect(
                company_url(request, "billing:billingsettings_edit", pk=existing.pk)
            )
        return super().get(request, pk)


def _settings_update(*, instance: BillingSettings, **data: Any) -> BillingSettings:
    return services.settings_update(company=instance.company, **data)


class BillingSettingsViews(ObjectViews):
    model = BillingSettings
    table = BillingSettingsTable
    filterset = BillingSettingsFilterSet
    form = forms.BillingSettingsForm
    select_related = ("company",)
    list_view = SettingsListView
    detail_view = SettingsDetailView
    edit_view = SettingsEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_fields = services.SETTINGS_FIELDS
    create_service = services.settings_update
    update_service = _settings_update

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        currency = obj.company.base_currency
        amounts = {"approval_threshold", "write_off_limit"}
        values = []
        for name, (label, value) in zip(cls.detail_fields, super().detail_values(obj), strict=True):
            if name in amounts:
                amount = services.amount_decimal(getattr(obj, name), currency)
                value = f"{amount} {currency}" if amount is not None else None
            elif name == "late_interest_rate":
                value = f"{percent(obj.late_interest_rate)} %"
            values.append((label, value))
        return values


urlpatterns: list[Any] = [
    path("partners/import/", PartnerImportView.as_view(), name="partner_import"),
    path("partners/", include(PartnerViews.urls())),
    path("partners/<int:pk>/contacts/", _children_view("contacts"), name="partner_contacts"),
    path(
        "partners/<int:pk>/bank-accounts/",
        _children_view("bank_accounts"),
        name="partner_bank_accounts",
    ),
    path("products/", include(ProductViews.urls())),
    path("payment-terms/", include(PaymentTermViews.urls())),
    path("taxes/", include(TaxViews.urls())),
    path("series/", include(InvoiceSeriesViews.urls())),
    path("settings/", include(BillingSettingsViews.urls())),
]

__all__ = [
    "BillingSettingsViews",
    "InvoiceSeriesViews",
    "PartnerImportView",
    "PartnerViews",
    "PaymentTermViews",
    "ProductViews",
    "TaxViews",
]

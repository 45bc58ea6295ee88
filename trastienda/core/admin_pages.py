"""Company administration pages: settings, roles and members (generic views)."""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trastienda.core import services
from trastienda.core.filters import CompanyFilterSet
from trastienda.core.forms import BootstrapMixin, CompanyModelForm
from trastienda.core.generic import CompanyView, ObjectViews, company_url
from trastienda.core.models import Company, Membership, Role
from trastienda.core.permissions import managed_app_labels
from trastienda.core.tables import BaseTable


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.content_type.app_label} · {obj.name}"


class RoleForm(CompanyModelForm):
    permissions = PermissionChoiceField(
        queryset=Permission.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 16}),
        label=_("Permissions"),
    )

    class Meta:
        model = Role
        fields = ("code", "name", "description", "requires_two_factor", "permissions")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["permissions"].queryset = (  # type: ignore[attr-defined]
            Permission.objects.filter(content_type__app_label__in=managed_app_labels())
            .select_related("content_type")
            .order_by("content_type__app_label", "codename")
        )
        if self.instance.pk:
            self.fields["code"].disabled = True

    def validate_unique(self) -> None:  # the service checks uniqueness within the company
        pass


def _link(name: str) -> Any:
    def link(record: Any) -> str:
        return reverse(
            f"company_admin:{name}_detail", kwargs={"company": record.company.code, "pk": record.pk}
        )

    return link


class RoleTable(BaseTable):
    name = tables.Column(linkify=_link("role"))
    members = tables.Column(
        accessor="memberships__count", verbose_name=_("members"), orderable=False
    )

    class Meta(BaseTable.Meta):
        model = Role
        fields = ("pk", "code", "name", "builtin", "customised", "requires_two_factor")
        default_columns = (
            "code",
            "name",
            "builtin",
            "customised",
            "requires_two_factor",
            "members",
        )


class RoleFilterSet(CompanyFilterSet):
    search_fields = ("code", "name", "description")

    class Meta:
        model = Role
        fields = ("builtin",)


def _role_create(*, company: Company, **data: Any) -> Role:
    return services.role_create(company=company, **data)


def _role_update(*, instance: Role, **data: Any) -> Role:
    data.pop("code", None)
    return services.role_update(instance=instance, **data)


class RoleViews(ObjectViews):
    model = Role
    namespace = "company_admin"
    select_related = ("company",)
    table = RoleTable
    filterset = RoleFilterSet
    form = RoleForm
    detail_fields = ("code", "name", "description", "builtin", "customised", "requires_two_factor")
    create_service = _role_create
    update_service = _role_update
    delete_service = services.role_delete


class MemberForm(BootstrapMixin, forms.ModelForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    first_name = forms.CharField(label=_("First name"), required=False)
    last_name = forms.CharField(label=_("Last name"), required=False)

    class Meta:
        model = Membership
        fields = ("role", "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("username", "email", "first_name", "last_name"):
                del self.fields[name]

    def set_company(self, company: Company) -> None:
        self.fields["role"].queryset = Role.objects.for_company(company)  # type: ignore[attr-defined]


class MemberTable(BaseTable):
    user = tables.Column(verbose_name=_("user"), linkify=_link("membership"))
    name = tables.Column(accessor="user__get_full_name", verbose_name=_("name"), orderable=False)
    email = tables.Column(accessor="user__email", verbose_name=_("e-mail"))
    role = tables.Column(verbose_name=_("role"))

    class Meta(BaseTable.Meta):
        model = Membership
        fields = ("pk", "user", "name", "email", "role", "is_active", "created_at")
        default_columns = ("user", "name", "email", "role", "is_active")


class MemberFilterSet(CompanyFilterSet):
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    role = django_filters.ModelChoiceFilter(queryset=Role.objects.all(), label=_("Role"))

    class Meta:
        model = Membership
        fields = ("role", "is_active")

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)
        company = getattr(request, "company", None)
        if company is not None:
            self.filters["role"].queryset = Role.objects.for_company(company)


def _member_add(*, company: Company, **data: Any) -> Membership:
    return services.member_add(company=company, **data)


class MemberViews(ObjectViews):
    model = Membership
    namespace = "company_admin"
    table = MemberTable
    filterset = MemberFilterSet
    form = MemberForm
    select_related = ("user", "role", "company")
    detail_fields = ("user", "role", "is_active", "created_at")
    create_service = _member_add
    update_service = services.member_update
    delete_service = services.member_remove


class CompanySettingsForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Company
        fields = (
            "legal_name",
            "country",
            "tax_id",
            "address",
            "postal_code",
            "city",
            "province",
            "base_currency",
            "fiscal_year_start_month",
            "language",
            "logo",
        )

    def clean_logo(self) -> Any:
        from trastienda.core.uploads import validate_upload

        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "content_type"):
            validate_upload(logo, allowed=("png", "jpg"))
        return logo


class CompanySettingsView(CompanyView):
    required_perm = "core.change_company"
    views = None  # type: ignore[assignment]

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(CompanySettingsForm(instance=request.company))  # type: ignore[attr-defined]

    def post(self, request: HttpRequest) -> HttpResponse:
        company = request.company  # type: ignore[attr-defined]
        form = CompanySettingsForm(
            request.POST, request.FILES, instance=Company.objects.get(pk=company.pk)
        )
        if form.is_valid():
            try:
                services.company_update(
                    company=company,
                    **{k: v for k, v in form.cleaned_data.items() if k in form.changed_data},
                )
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                messages.success(request, _("Company settings saved."))
                return HttpResponseRedirect(company_url(request, "company_admin:settings"))
        return self.render(form, status=400)

    def render(self, form: Any, status: int = 200) -> HttpResponse:
        return render(
            self.request,
            "core/company_settings.html",
            {"form": form, "breadcrumbs": [{"label": _("Company settings")}]},
            status=status,
        )

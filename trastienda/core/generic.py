"""Generic object views: list, detail, create, edit, delete, bulk delete and export.

A module gets a complete, permission-checked, company-scoped UI for a model by declaring it::

    class DocumentViews(ObjectViews):
        model = Document
        table = DocumentTable          # a trastienda.core.tables.BaseTable
        filterset = DocumentFilterSet  # a CompanyFilterSet, shared with the API
        form = DocumentForm            # a ModelForm without the company field
        detail_fields = ("title", "kind", ...)

    urlpatterns = DocumentViews.urls()   # in the app's urls.py, with app_name set

That yields ``<app>:<model>_list|_add|_detail|_edit|_delete|_bulk_delete`` pages: sorting,
filtering, search, pagination, column choice, bulk delete, CSV/XLSX export of the filtered
list, the object's audit history, forms with inline (HTMX) validation. Writes go through
``create_service`` / ``update_service`` / ``delete_service`` (defaults: the generic services in
:mod:`trastienda.core.services`). Every query is scoped by
``Model.objects.for_company(request.company)``, so another company's object answers 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.db.models.fields.files import FieldFile
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django_tables2 import RequestConfig

from trastienda.core import services as core_services
from trastienda.core.exports import CONTENT_TYPES, export_bytes
from trastienda.core.permissions import has_perm, model_perm

PER_PAGE_CHOICES = (25, 50, 100, 250)
# Longer lists are exported by a background job with a progress bar.
EXPORT_SYNC_LIMIT = 5000
EXPORT_FORMATS = ("csv", "xlsx")
# Registry of every declared ObjectViews, by "app_label.model_name": global search and the
# export job find lists through it.
REGISTRY: dict[str, type[ObjectViews]] = {}


def audit(**kwargs: Any) -> None:
    """Record an audit entry (the audit app is optional while the platform boots)."""
    try:
        from trastienda.audit.services import audit_log
    except ImportError:  # pragma: no cover - the audit app is always installed
        return
    audit_log(**kwargs)


def deny(request: HttpRequest, perm: str) -> PermissionDenied:
    """Audit a permission denial and return the exception to raise."""
    audit(
        action="permission_denied",
        company=getattr(request, "company", None),
        extra={"permission": perm, "path": request.path, "method": request.method},
    )
    return PermissionDenied(perm)


def company_url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"company": request.company.code, **kwargs})  # type: ignore[attr-defined]


class CompanyView(LoginRequiredMixin, View):
    """A page of the active company that needs one permission of the request's role."""

    required_perm: ClassVar[str] = ""
    views: ClassVar[type[ObjectViews]] = None  # type: ignore[assignment]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if getattr(request, "company", None) is None:
            raise Http404
        perm = self.get_required_perm()
        if perm and not has_perm(request, perm):
            raise deny(request, perm)
        return super().dispatch(request, *args, **kwargs)

    def get_required_perm(self) -> str:
        return self.required_perm

    def get_queryset(self) -> models.QuerySet[Any]:
        return self.views.get_queryset(self.request)

    def get_object(self) -> Any:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def base_context(self, **extra: Any) -> dict[str, Any]:
        views = self.views
        meta = views.model._meta
        ctx: dict[str, Any] = {
            "views": views,
            "model_name": meta.verbose_name,
            "model_name_plural": meta.verbose_name_plural,
            "list_url": company_url(self.request, views.url_name("list")),
            "can_add": has_perm(self.request, model_perm(views.model, "add")),
            "can_change": has_perm(self.request, model_perm(views.model, "change")),
            "can_delete": has_perm(self.request, model_perm(views.model, "delete")),
            "can_export": has_perm(self.request, "core.export_data"),
            "breadcrumbs": [
                {"label": capfirst(views.app_verbose_name()), "url": None},
                {
                    "label": capfirst(meta.verbose_name_plural),
                    "url": company_url(self.request, views.url_name("list")),
                },
            ],
        }
        if str(ctx["breadcrumbs"][0]["label"]) == str(ctx["breadcrumbs"][1]["label"]):
            del ctx["breadcrumbs"][0]  # "Documents / Documents" says it once
        ctx.update(extra)
        return ctx


class ObjectListView(CompanyView):
    template_name = "generic/object_list.html"

    def get_required_perm(self) -> str:
        return model_perm(self.views.model, "view")

    def get(self, request: HttpRequest) -> HttpResponse:
        views = self.views
        filterset = views.filterset(
            request.GET or None, queryset=self.get_queryset(), request=request
        )
        queryset = (
            filterset.qs
            if filterset.is_bound and filterset.is_valid()
            else (filterset.queryset if not filterset.is_bound else filterset.queryset.none())
        )
        columns = views.chosen_columns(request)
        fmt = request.GET.get("export")
        if fmt:
            return self.export(fmt, queryset, columns)
        table = views.table(queryset, request=request)
        self.apply_columns(table, columns)
        per_page = _per_page(request)
        RequestConfig(request, paginate={"per_page": per_page}).configure(table)
        ctx = self.base_context(
            table=table,
            filterset=filterset,
            per_page=per_page,
            per_page_choices=PER_PAGE_CHOICES,
            columns=[
                (name, label, name in columns) for name, label in views.table.choosable_columns()
            ],
            table_key=views.key(),
            query_without_page=_query_without(request, "page", "export"),
        )
        ctx["breadcrumbs"][-1]["url"] = None
        template = (
            "generic/object_table.html"
            if getattr(request, "htmx", False)
            and request.headers.get("HX-Target") == "object-table"
            else self.template_name
        )
        return render(request, template, ctx)

    def apply_columns(self, table: Any, columns: list[str]) -> None:
        for name, _label in self.views.table.choosable_columns():
            if name not in columns:
                table.columns.hide(name)
        if not has_perm(self.request, model_perm(self.views.model, "delete")):
            table.columns.hide("pk")

    def export(self, fmt: str, queryset: models.QuerySet[Any], columns: list[str]) -> HttpResponse:
        if fmt not in EXPORT_FORMATS:
            return HttpResponse(_("Unknown export format."), status=400)
        if not has_perm(self.request, "core.export_data"):
            raise deny(self.request, "core.export_data")
        if queryset.count() > EXPORT_SYNC_LIMIT:
            from trastienda.core.jobs import job_start, job_url

            job = job_start(
                company=self.request.company,  # type: ignore[attr-defined]
                user=self.request.user,
                kind="core.export",
                description=_("Export of %(what)s (%(fmt)s)")
                % {"what": self.views.model._meta.verbose_name_plural, "fmt": fmt.upper()},
                params={
                    "views": self.views.key(),
                    "columns": columns,
                    "format": fmt,
                    "query": _query_without(self.request, "export", "page"),
                },
            )
            return HttpResponseRedirect(job_url(job))
        header, rows = self.views.export_rows(
            queryset, columns, request=self.request, order_by=self.request.GET.get("sort", "")
        )
        rows = list(rows)
        data = export_bytes(
            fmt, header, rows, title=str(self.views.model._meta.verbose_name_plural)
        )
        filename = self.views.export_filename(fmt)
        audit(
            action="export",
            company=self.request.company,  # type: ignore[attr-defined]
            object_type=self.views.key(),
            object_repr=filename,
            extra={"format": fmt, "rows": len(rows), "query": self.request.GET.urlencode()},
        )
        response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class ObjectDetailView(CompanyView):
    template_name = "generic/object_detail.html"

    def get_required_perm(self) -> str:
        return model_perm(self.views.model, "view")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object()
        history: list[Any] = []
        try:
            from trastienda.audit.queries import history_for
        except ImportError:  # pragma: no cover
            history_for = None  # type: ignore[assignment]
        if history_for is not None:
            history = [
                {"entry": entry, "changes": self.views.readable_changes(entry.changes, obj)}
                for entry in history_for(obj)[:50]
            ]
        ctx = self.base_context(
            object=obj,
            fields=self.views.detail_values(obj),
            history=history,
            edit_url=company_url(request, self.views.url_name("edit"), pk=obj.pk),
            delete_url=company_url(request, self.views.url_name("delete"), pk=obj.pk),
            extra_template=self.views.detail_template,
        )
        ctx["breadcrumbs"].append({"label": str(obj), "url": None})
        return render(request, self.template_name, ctx)


class ObjectEditView(CompanyView):
    """Create (no ``pk``) or edit. ``?validate=1`` via HTMX re-renders the form with errors."""

    template_name = "generic/object_edit.html"

    def get_required_perm(self) -> str:
        return model_perm(self.views.model, "change" if "pk" in self.kwargs else "add")

    def get_form(self, instance: Any) -> ModelForm[Any]:
        kwargs: dict[str, Any] = {"instance": instance}
        if self.request.method == "POST":
            kwargs.update(data=self.request.POST, files=self.request.FILES)
        form = self.views.form(**kwargs)
        form.company = self.request.company  # type: ignore[attr-defined]
        set_company = getattr(form, "set_company", None)
        if callable(set_company):  # forms that offer company-scoped choices narrow them here
            set_company(self.request.company)  # type: ignore[attr-defined]
        return form

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.get_object() if pk is not None else None
        return self.render_form(self.get_form(instance), instance)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.get_object() if pk is not None else None
        form = self.get_form(instance)
        if request.GET.get("validate"):  # HTMX inline validation: errors only, nothing saved
            form.is_valid()
            return self.render_form(form, instance)
        if not form.is_valid():
            return self.render_form(form, instance, status=400)
        data = dict(form.cleaned_data)
        try:
            if instance is None:
                obj = self.views.create(request, data)
            else:
                obj = self.views.update(request, instance, data)
        except ValidationError as exc:
            _apply_errors(form, exc)
            return self.render_form(form, instance, status=400)
        messages.success(request, _("%(obj)s saved.") % {"obj": obj})
        return HttpResponseRedirect(company_url(request, self.views.url_name("detail"), pk=obj.pk))

    def render_form(self, form: ModelForm[Any], instance: Any, status: int = 200) -> HttpResponse:
        ctx = self.base_context(form=form, object=instance)
        if instance is not None:
            ctx["breadcrumbs"].append(
                {
                    "label": str(instance),
                    "url": company_url(self.request, self.views.url_name("detail"), pk=instance.pk),
                }
            )
            ctx["breadcrumbs"].append({"label": _("Edit"), "url": None})
            ctx["action_url"] = company_url(
                self.request, self.views.url_name("edit"), pk=instance.pk
            )
        else:
            ctx["breadcrumbs"].append({"label": _("New"), "url": None})
            ctx["action_url"] = company_url(self.request, self.views.url_name("add"))
        template = (
            "generic/object_form.html"
            if getattr(self.request, "htmx", False)
            else self.template_name
        )
        return render(self.request, template, ctx, status=status)


class ObjectDeleteView(CompanyView):
    template_name = "generic/object_delete.html"

    def get_required_perm(self) -> str:
        return model_perm(self.views.model, "delete")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object()
        ctx = self.base_context(
            object=obj,
            objects=[obj],
            action_url=company_url(request, self.views.url_name("delete"), pk=obj.pk),
        )
        ctx["breadcrumbs"].append({"label": str(obj), "url": None})
        return render(request, self.template_name, ctx)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object()
        try:
            self.views.delete(request, obj)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(
                company_url(request, self.views.url_name("detail"), pk=obj.pk)
            )
        messages.success(request, _("%(obj)s deleted.") % {"obj": obj})
        return HttpResponseRedirect(company_url(request, self.views.url_name("list")))


class BulkDeleteView(CompanyView):
    """POST ``pk`` values: first a confirmation page, then (with ``confirm``) the deletion."""

    template_name = "generic/object_delete.html"

    def get_required_perm(self) -> str:
        return model_perm(self.views.model, "delete")

    def post(self, request: HttpRequest) -> HttpResponse:
        pks = [p for p in request.POST.getlist("pk") if p.isdigit()]
        objects = list(self.get_queryset().filter(pk__in=pks))
        list_url = company_url(request, self.views.url_name("list"))
        if not objects:
            messages.warning(request, _("Select at least one row."))
            return HttpResponseRedirect(list_url)
        if not request.POST.get("confirm"):
            ctx = self.base_context(
                objects=objects,
                bulk=True,
                action_url=company_url(request, self.views.url_name("bulk_delete")),
            )
            return render(request, self.template_name, ctx)
        try:
            from django.db import transaction

            with transaction.atomic():
                for obj in objects:
                    self.views.delete(request, obj)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(list_url)
        messages.success(
            request,
            ngettext("%(count)d record deleted.", "%(count)d records deleted.", len(objects))
            % {"count": len(objects)},
        )
        return HttpResponseRedirect(list_url)


# A permission no role holds: the page of an action a module does not offer (editing a
# posted payment, deleting the one settings row) answers 403 to everyone.
REFUSED = "core.refused"


class RefusedEditView(ObjectEditView):
    def get_required_perm(self) -> str:
        return REFUSED


class RefusedDeleteView(ObjectDeleteView):
    def get_required_perm(self) -> str:
        return REFUSED


class RefusedBulkDeleteView(BulkDeleteView):
    def get_required_perm(self) -> str:
        return REFUSED


class ObjectViews:
    """Declaration of a model's generic pages. Subclass and set the class attributes."""

    model: ClassVar[type[models.Model]]
    table: ClassVar[type[Any]]
    filterset: ClassVar[type[Any]]
    form: ClassVar[type[ModelForm[Any]]]
    namespace: ClassVar[str] = ""  # URL namespace; default: the model's app label
    # Name in URL names and the registry; default: the model's name. Two declarations of one
    # model (sales invoices and supplier bills) tell themselves apart with it.
    name: ClassVar[str] = ""
    detail_fields: ClassVar[tuple[str, ...]] = ()
    detail_template: ClassVar[str] = ""
    select_related: ClassVar[tuple[str, ...]] = ()
    create_service: ClassVar[Callable[..., Any] | None] = None
    update_service: ClassVar[Callable[..., Any] | None] = None
    delete_service: ClassVar[Callable[..., Any] | None] = None

    list_view: ClassVar[type[ObjectListView]] = ObjectListView
    detail_view: ClassVar[type[ObjectDetailView]] = ObjectDetailView
    edit_view: ClassVar[type[ObjectEditView]] = ObjectEditView
    delete_view: ClassVar[type[ObjectDeleteView]] = ObjectDeleteView
    bulk_delete_view: ClassVar[type[BulkDeleteView]] = BulkDeleteView

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "model", None) is not None:
            REGISTRY[cls.key()] = cls

    @classmethod
    def object_name(cls) -> str:
        return cls.name or str(cls.model._meta.model_name)

    @classmethod
    def key(cls) -> str:
        return f"{cls.model._meta.app_label}.{cls.object_name()}"

    @classmethod
    def app_verbose_name(cls) -> str:
        return str(cls.model._meta.app_config.verbose_name)

    @classmethod
    def url_name(cls, action: str) -> str:
        meta = cls.model._meta
        return f"{cls.namespace or meta.app_label}:{cls.object_name()}_{action}"

    @classmethod
    def get_queryset(cls, request: HttpRequest) -> models.QuerySet[Any]:
        qs = cls.model.objects.for_company(request.company)  # type: ignore[attr-defined]
        if cls.select_related:
            qs = qs.select_related(*cls.select_related)
        return qs

    @classmethod
    def chosen_columns(cls, request: HttpRequest) -> list[str]:
        available = [name for name, _label in cls.table.choosable_columns()]
        profile = getattr(request.user, "profile", None)
        saved = (profile.table_columns or {}).get(cls.key()) if profile is not None else None
        default = list(getattr(cls.table.Meta, "default_columns", ()) or available)
        chosen = [c for c in (saved or default) if c in available]
        return chosen or available

    @classmethod
    def export_rows(
        cls,
        queryset: models.QuerySet[Any],
        columns: list[str],
        request: HttpRequest | None = None,
        order_by: str = "",
    ) -> tuple[list[str], Any]:
        """Header and rows of the list as shown: chosen columns, the table's sort order."""
        table = cls.table(queryset, request=request)
        if order_by:
            table.order_by = order_by
        names = [c for c in table.columns.names() if c in columns]
        header = [str(table.columns[name].header) for name in names]
        fields = {f.name: f for f in cls.model._meta.concrete_fields}

        def cell(bound_row: Any, name: str) -> Any:
            # Plain model fields export their typed value (dates stay dates, numbers numbers);
            # choices their label; columns with their own rendering what the table shows.
            column = table.columns[name]
            field = fields.get(name)
            custom = (
                hasattr(table, f"value_{name}")
                or hasattr(table, f"render_{name}")
                or _renders_itself(column.column)
            )
            if field is None or custom or column.accessor != name:
                return bound_row.get_cell_value(name)
            value = getattr(bound_row.record, name)
            if field.choices:
                return getattr(bound_row.record, f"get_{name}_display")()
            if isinstance(value, dt.datetime) and timezone.is_aware(value):
                return timezone.localtime(value)
            if isinstance(value, models.Model | FieldFile):
                return str(value) if value else ""
            return value

        def rows() -> Any:
            for bound_row in table.rows:
                yield [cell(bound_row, name) for name in names]

        return header, rows()

    @classmethod
    def readable_changes(
        cls, changes: dict[str, Any] | None, obj: Any = None
    ) -> list[tuple[str, Any, Any]]:
        """(field label, before, after) of an audit entry, without the company link; the
        values as :meth:`change_value` reads them."""
        labels = {f.name: capfirst(str(f.verbose_name)) for f in cls.model._meta.fields}
        related: dict[tuple[str, Any], Any] = {}
        return [
            (
                labels.get(name, name),
                cls.change_value(name, before, obj, related),
                cls.change_value(name, after, obj, related),
            )
            for name, (before, after) in (changes or {}).items()
            if name != "company"
        ]

    @classmethod
    def change_value(
        cls,
        name: str,
        value: Any,
        obj: Any = None,
        related: dict[tuple[str, Any], Any] | None = None,
    ) -> Any:
        """An audited value as people read it: a choice's label, yes or no, the record a
        foreign key names (``related`` caches them); views with scaled numbers (quantities,
        prices, amounts in minor units) extend it."""
        if value is None or value == "":
            return value
        try:
            field = cls.model._meta.get_field(name)
        except FieldDoesNotExist:
            return value
        if getattr(field, "choices", None):
            return dict(field.flatchoices).get(value, value)  # type: ignore[union-attr]
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        model = field.related_model if field.is_relation else None
        if (
            isinstance(model, type)
            and issubclass(model, models.Model)
            and not field.many_to_many
            and isinstance(value, int)  # the audit keeps an id, or already the record's text
            and not isinstance(value, bool)
        ):
            key = (name, value)
            if related is None or key not in related:
                found = model._default_manager.filter(pk=value).first()
                shown = str(found) if found is not None else value
                if related is None:
                    return shown
                related[key] = shown
            return related[key]
        return value

    @classmethod
    def export_filename(cls, fmt: str) -> str:
        plural = slugify(str(cls.model._meta.verbose_name_plural))
        return f"{plural}-{timezone.localdate().isoformat()}.{fmt}"

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        names = cls.detail_fields or tuple(
            f.name for f in cls.model._meta.fields if f.name not in {"id", "company"}
        )
        result = []
        for name in names:
            field = cls.model._meta.get_field(name)
            display = getattr(obj, f"get_{name}_display", None)
            value = display() if callable(display) else getattr(obj, name)
            if isinstance(value, bool):
                value = _("Yes") if value else _("No")
            result.append((str(getattr(field, "verbose_name", name)), value))
        return result

    @classmethod
    def create(cls, request: HttpRequest, data: dict[str, Any]) -> Any:
        company = request.company  # type: ignore[attr-defined]
        if cls.create_service is not None:
            return cls.create_service(company=company, **data)
        return core_services.object_create(model=cls.model, company=company, data=data)

    @classmethod
    def update(cls, request: HttpRequest, instance: Any, data: dict[str, Any]) -> Any:
        if cls.update_service is not None:
            return cls.update_service(instance=instance, **data)
        return core_services.object_update(instance=instance, data=data)

    @classmethod
    def delete(cls, request: HttpRequest, instance: Any) -> None:
        if cls.delete_service is not None:
            cls.delete_service(instance=instance)
        else:
            core_services.object_delete(instance=instance)

    @classmethod
    def urls(cls) -> list[Any]:
        name = cls.object_name()
        bind = {"views": cls}
        return [
            path("", cls.list_view.as_view(**bind), name=f"{name}_list"),
            path("add/", cls.edit_view.as_view(**bind), name=f"{name}_add"),
            path("bulk-delete/", cls.bulk_delete_view.as_view(**bind), name=f"{name}_bulk_delete"),
            path("<int:pk>/", cls.detail_view.as_view(**bind), name=f"{name}_detail"),
            path("<int:pk>/edit/", cls.edit_view.as_view(**bind), name=f"{name}_edit"),
            path("<int:pk>/delete/", cls.delete_view.as_view(**bind), name=f"{name}_delete"),
        ]


def _renders_itself(column: Any) -> bool:
    """A column that says what it exports (``exports_value = True`` and a ``value`` method:
    amounts in minor units as decimals): the export asks it instead of reading the raw field.
    Other columns (dates formatted for the page) export the typed field."""
    return bool(getattr(column, "exports_value", False))


def _apply_errors(form: ModelForm[Any], exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _per_page(request: HttpRequest) -> int:
    try:
        value = int(request.GET.get("per_page", PER_PAGE_CHOICES[0]))
    except ValueError:
        return PER_PAGE_CHOICES[0]
    return value if value in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0]


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


__all__ = [
    "REFUSED",
    "REGISTRY",
    "BulkDeleteView",
    "CompanyView",
    "ObjectDeleteView",
    "ObjectDetailView",
    "ObjectEditView",
    "ObjectListView",
    "ObjectViews",
    "RefusedBulkDeleteView",
    "RefusedDeleteView",
    "RefusedEditView",
    "company_url",
    "deny",
]

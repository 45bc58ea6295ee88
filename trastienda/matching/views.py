"""The exception queue page, under ``/c/<code>/matching/exceptions/``: what matching runs could
not pair, from every source, with its owner, note and age.

The list is the generic one (search, filters, sorting, column choice, CSV/XLSX export); it
shows the open exceptions unless another state is chosen. Each row links to where its item is
worked on (a bank line opens the reconciliation screen at that line). Exceptions are neither
added, edited nor deleted here: matching runs open and close them. What people do is give
them an owner and a note (:func:`trastienda.matching.queue.exception_assign`): "assign to me"
or to another member, one at a time on the detail page or the selected rows of the list.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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
from trastienda.matching.filters import MatchExceptionFilterSet, company_members
from trastienda.matching.models import MatchException
from trastienda.matching.queue import exception_assign
from trastienda.matching.sources import item_url, source_label
from trastienda.matching.tables import MatchExceptionTable

CHANGE_PERM = model_perm(MatchException, "change")


def owner_choice(request: Any, value: str) -> tuple[bool, Any]:
    """``(valid, user or None)`` for an owner chosen as ``me``, ``""`` (nobody) or a user id
    of an active member of the request's company."""
    value = (value or "").strip()
    if value == "":
        return True, None
    if value == "me":
        return True, request.user
    if not value.isdigit():
        return False, None
    user = company_members(request.company).filter(pk=int(value)).first()
    return user is not None, user


class ExceptionListView(ObjectListView):
    template_name = "matching/exception_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if "state" not in request.GET:  # the queue: what is still open, unless told otherwise
            query = request.GET.copy()
            query["state"] = MatchException.State.OPEN
            request.GET = query  # type: ignore[assignment]
        return super().get(request)

    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        can_assign = has_perm(self.request, CHANGE_PERM)
        ctx.update(
            can_add=False,
            can_delete=False,
            can_assign=can_assign,
            assign_url=company_url(self.request, "matching:matchexception_assign"),
            members=list(company_members(self.request.company)) if can_assign else [],  # type: ignore[attr-defined]
        )
        return ctx

    def apply_columns(self, table: Any, columns: list[str]) -> None:
        super().apply_columns(table, columns)
        if has_perm(self.request, CHANGE_PERM):
            table.columns.show("pk")  # rows are selected to be assigned
        else:
            table.columns.hide("pk")


class ExceptionDetailView(ObjectDetailView):
    def base_context(self, **extra: Any) -> dict[str, Any]:
        ctx = super().base_context(**extra)
        ctx.update(can_change=False, can_delete=False)
        obj = extra.get("object")
        if obj is None:
            return ctx
        can_assign = has_perm(self.request, CHANGE_PERM)
        ctx.update(
            can_assign=can_assign,
            assign_url=company_url(self.request, "matching:matchexception_assign"),
            members=list(company_members(self.request.company)) if can_assign else [],  # type: ignore[attr-defined]
            work_url=item_url(obj.company.code, obj.source, obj.object_id),
        )
        return ctx


class MatchExceptionViews(ObjectViews):
    model = MatchException
    table = MatchExceptionTable
    filterset = MatchExceptionFilterSet
    select_related = ("company", "owner")
    list_view = ExceptionListView
    detail_view = ExceptionDetailView
    edit_view = RefusedEditView
    delete_view = RefusedDeleteView
    bulk_delete_view = RefusedBulkDeleteView
    detail_template = "matching/exception_detail_extra.html"
    detail_fields = (
        "summary",
        "source",
        "object_id",
        "amount",
        "item_date",
        "reason",
        "state",
        "owner",
        "note",
        "opened_at",
        "resolved_at",
    )

    @classmethod
    def detail_values(cls, obj: Any) -> list[tuple[str, Any]]:
        currency = obj.currency or obj.company.base_currency
        fixed = {
            "amount": f"{Money(obj.amount, currency).to_decimal()} {currency}",
            "source": source_label(obj.source),
            "item_date": f"{obj.item_date.isoformat()} ("
            + ngettext("%(days)d day ago", "%(days)d days ago", obj.age_days)
            % {"days": obj.age_days}
            + ")",
        }
        return [
            (label, fixed.get(name, value))
            for name, (label, value) in zip(
                cls.detail_fields, super().detail_values(obj), strict=True
            )
        ]


class ExceptionAssignView(CompanyView):
    """POST ``pk`` (one or several), ``owner`` (``me``, ``""`` for nobody, or a member's id;
    ``assign_me=1`` says "me" whatever ``owner`` is) and, with ``set_note=1``, ``note``: give
    the exceptions that owner (and note)."""

    views = MatchExceptionViews
    http_method_names = ["post"]
    required_perm = CHANGE_PERM

    def post(self, request: HttpRequest) -> HttpResponse:
        list_url = company_url(request, "matching:matchexception_list")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = ""
        pks = [int(p) for p in request.POST.getlist("pk") if p.isdigit()]
        rows = list(self.get_queryset().filter(pk__in=pks).order_by("pk"))
        if not rows:
            messages.warning(request, _("Select at least one exception."))
            return HttpResponseRedirect(back or list_url)
        chosen = "me" if request.POST.get("assign_me") else request.POST.get("owner", "")
        valid, owner = owner_choice(request, chosen)
        if not valid:
            messages.error(request, _("Choose a member of this company."))
            return HttpResponseRedirect(back or list_url)
        note = request.POST.get("note", "") if request.POST.get("set_note") else None
        for row in rows:
            exception_assign(instance=row, owner=owner, note=note)
        if owner is None:
            text = ngettext(
                "%(count)d exception has no owner now.",
                "%(count)d exceptions have no owner now.",
                len(rows),
            ) % {"count": len(rows)}
        else:
            text = ngettext(
                "%(count)d exception assigned to %(user)s.",
                "%(count)d exceptions assigned to %(user)s.",
                len(rows),
            ) % {"count": len(rows), "user": owner.get_username()}
        messages.success(request, text)
        if back:
            return HttpResponseRedirect(back)
        if len(rows) == 1:
            return HttpResponseRedirect(
                company_url(request, "matching:matchexception_detail", pk=rows[0].pk)
            )
        return HttpResponseRedirect(list_url)


urlpatterns: list[Any] = [
    path("exceptions/assign/", ExceptionAssignView.as_view(), name="matchexception_assign"),
    path("exceptions/", include(MatchExceptionViews.urls())),
]

__all__ = ["ExceptionAssignView", "MatchExceptionViews", "owner_choice"]

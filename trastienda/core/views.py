"""Pages of the shell: home, dashboard, language, notifications, search, column choice, errors."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from trastienda.core.models import Language, UserProfile
from trastienda.core.permissions import has_perm, model_perm
from trastienda.core.tenancy import default_company


def _safe_next(request: HttpRequest, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or fallback
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    company = default_company(request)
    if company is None:
        return render(request, "core/no_company.html")
    return redirect("dashboard", company=company.code)


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if request.company is None:  # type: ignore[attr-defined]
        raise PermissionDenied
    from trastienda.core.navigation import dashboard_widgets

    widgets = [
        {"template": w.pop("template"), "widget": w, "widget_id": f"widget-{i}"}
        for i, w in enumerate(dashboard_widgets(request))
    ]
    recent_jobs = request.company.jobs.filter(user=request.user)[:5]  # type: ignore[attr-defined]
    return render(
        request,
        "core/dashboard.html",
        {
            "widgets": widgets,
            "recent_jobs": recent_jobs,
            "breadcrumbs": [{"label": _("Dashboard")}],
        },
    )


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; for a signed-in user it becomes their preference."""
    code = request.POST.get("language", "")
    response = HttpResponseRedirect(_safe_next(request))
    if code not in Language.values:
        return response
    if request.user.is_authenticated:
        UserProfile.objects.update_or_create(user=request.user, defaults={"language": code})
    translation.activate(code)
    from django.conf import settings

    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        samesite="Lax",
        secure=request.is_secure(),
        max_age=365 * 24 * 3600,
    )
    return response


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    items = request.user.notifications.select_related("company")[:100]  # type: ignore[union-attr]
    return render(
        request,
        "core/notifications.html",
        {"items": items, "breadcrumbs": [{"label": _("Notifications")}]},
    )


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    request.user.notifications.filter(read_at__isnull=True).update(  # type: ignore[union-attr]
        read_at=timezone.now()
    )
    return HttpResponseRedirect(reverse("core:notifications"))


@login_required
@require_POST
def table_columns(request: HttpRequest) -> HttpResponse:
    """Save the user's choice of columns for one list (a preference, so POST)."""
    from trastienda.core.generic import REGISTRY

    key = request.POST.get("table", "")
    views = REGISTRY.get(key)
    if views is not None:
        profile, _created = UserProfile.objects.get_or_create(user=request.user)
        chosen = dict(profile.table_columns or {})
        available = {name for name, _label in views.table.choosable_columns()}
        columns = [c for c in request.POST.getlist("columns") if c in available]
        if request.POST.get("reset") or not columns:
            chosen.pop(key, None)
        else:
            chosen[key] = columns
        profile.table_columns = chosen
        profile.save(update_fields=["table_columns"])
    return HttpResponseRedirect(_safe_next(request))


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Search every list the user may see in the active company."""
    from trastienda.core.generic import REGISTRY, company_url

    if request.company is None:  # type: ignore[attr-defined]
        raise PermissionDenied
    query = request.GET.get("q", "").strip()
    groups: list[dict[str, Any]] = []
    if query:
        for views in REGISTRY.values():
            if not has_perm(request, model_perm(views.model, "view")):
                continue
            filterset = views.filterset(
                {"q": query}, queryset=views.get_queryset(request), request=request
            )
            if not filterset.search_fields:
                continue
            hits = list(filterset.qs[:10])
            if hits:
                groups.append(
                    {
                        "label": views.model._meta.verbose_name_plural,
                        "list_url": company_url(request, views.url_name("list")) + "?q=" + query,
                        "hits": [
                            (str(o), company_url(request, views.url_name("detail"), pk=o.pk))
                            for o in hits
                        ],
                    }
                )
    return render(
        request,
        "core/search.html",
        {"query": query, "groups": groups, "breadcrumbs": [{"label": _("Search")}]},
    )


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.html", status=500)

"""The sidebar: each app's AppConfig declares ``menu`` (a :class:`Menu`); the shell filters it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class MenuItem:
    label: Any
    url_name: str
    perm: str
    icon: str = "bi-dot"


@dataclass(frozen=True)
class Menu:
    label: Any
    icon: str
    items: tuple[MenuItem, ...] = field(default_factory=tuple)
    order: int = 100


def sidebar(request: Any) -> list[dict[str, Any]]:
    """Menus and items the request's user may open in the active company."""
    from trastienda.core.permissions import membership_perms

    company = getattr(request, "company", None)
    if company is None:
        return []
    perms = membership_perms(getattr(request, "membership", None))
    menus = [
        menu
        for cfg in apps.get_app_configs()
        for menu in (*getattr(cfg, "menus", ()), getattr(cfg, "menu", None))
        if menu is not None
    ]
    result = []
    for menu in sorted(menus, key=lambda m: m.order):
        items = []
        for item in menu.items:
            if item.perm and item.perm not in perms:
                continue
            try:
                url = reverse(item.url_name, kwargs={"company": company.code})
            except NoReverseMatch:
                continue
            items.append(
                {
                    "label": item.label,
                    "url": url,
                    "icon": item.icon,
                    "active": request.path.startswith(url),
                }
            )
        if items:
            result.append({"label": menu.label, "icon": menu.icon, "items": items})
    # One item is the current page: the one whose address matches the longest part of the
    # path ("expiries/" is not active on "expiries/process/" when that has an item of its own).
    active = [item for menu in result for item in menu["items"] if item["active"]]
    if len(active) > 1:
        best = max(active, key=lambda item: len(item["url"]))
        for item in active:
            item["active"] = item is best
    return result


@dataclass(frozen=True)
class Widget:
    """A dashboard card: ``context(request)`` returns what ``template`` shows."""

    template: str
    perm: str
    context: Any
    order: int = 100


def dashboard_widgets(request: Any) -> list[dict[str, Any]]:
    """Widgets declared by apps (AppConfig ``widgets``) that the user may see, with context."""
    from trastienda.core.permissions import membership_perms

    perms = membership_perms(getattr(request, "membership", None))
    widgets = [w for cfg in apps.get_app_configs() for w in getattr(cfg, "widgets", ())]
    return [
        {"template": w.template, **w.context(request)}
        for w in sorted(widgets, key=lambda w: w.order)
        if not w.perm or w.perm in perms
    ]

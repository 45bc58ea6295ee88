"""Filters of the audit trail page: user, object, date range, action and full-text search."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trastienda.audit.models import AuditAction, AuditEntry
from trastienda.audit.recorder import tracked_models
from trastienda.core.filters import CompanyFilterSet


def object_type_choices() -> list[tuple[str, str]]:
    """Recorded models (and users, and the trail itself, whose exports are recorded) as
    ``("documents.document", "Documents · document")``."""
    models: list[type[Model]] = [*tracked_models(), get_user_model(), AuditEntry]
    choices = {
        m._meta.label_lower: f"{m._meta.app_config.verbose_name} · {m._meta.verbose_name}"
        for m in models
        if not m._meta.proxy
    }
    return sorted(choices.items(), key=lambda item: str(item[1]).lower())


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditEntryFilterSet(CompanyFilterSet):
    search_fields = ("username", "object_repr", "object_type", "object_id", "ip", "changes")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, label=_("Action"))
    user = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.none(), method="filter_user", label=_("User")
    )
    object_type = django_filters.ChoiceFilter(choices=object_type_choices, label=_("Object type"))
    object_id = django_filters.CharFilter(label=_("Object id"))
    date_from = django_filters.DateFilter(method="filter_date_from", label=_("Date from"))
    date_to = django_filters.DateFilter(method="filter_date_to", label=_("Date to"))

    class Meta:
        model = AuditEntry
        fields = ("action", "object_type", "object_id")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = getattr(self.request, "company", None)
        users = get_user_model().objects.none()
        if company is not None:
            users = (
                get_user_model().objects.filter(memberships__company=company).order_by("username")
            )
        self.filters["user"].queryset = users

    def filter_user(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset.filter(user_pk=value.pk) if value is not None else queryset

    def filter_date_from(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset.filter(created_at__gte=_day_start(value)) if value else queryset

    def filter_date_to(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        if not value:
            return queryset
        return queryset.filter(created_at__lt=_day_start(value + dt.timedelta(days=1)))

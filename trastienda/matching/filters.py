"""Filters of the exception queue, shared by the page and the REST API.

``owner`` is ``me`` (the requesting user), ``none`` (nobody) or a user id; ``age`` is a bucket
of days since the item's date (``0-7``, ``8-30``, ``31-90``, ``90+``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trastienda.core.filters import CompanyFilterSet
from trastienda.matching.models import MatchException
from trastienda.matching.sources import source_choices

AGE_BUCKETS: dict[str, tuple[int, int | None]] = {
    "0-7": (0, 7),
    "8-30": (8, 30),
    "31-90": (31, 90),
    "90+": (91, None),
}
AGE_CHOICES = (
    ("0-7", _("Up to a week")),
    ("8-30", _("8 to 30 days")),
    ("31-90", _("31 to 90 days")),
    ("90+", _("More than 90 days")),
)


def company_members(company: Any) -> QuerySet[Any]:
    """The active members of ``company``: who an exception may be given to."""
    if company is None:
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(memberships__company=company, memberships__is_active=True, is_active=True)
        .distinct()
        .order_by("username")
    )


class MatchExceptionFilterSet(CompanyFilterSet):
    search_fields = ("summary", "reason", "note")
    state = django_filters.ChoiceFilter(choices=MatchException.State.choices, label=_("State"))
    source = django_filters.ChoiceFilter(choices=source_choices, label=_("Source"))
    owner = django_filters.ChoiceFilter(choices=(), method="filter_owner", label=_("Owner"))
    age = django_filters.ChoiceFilter(choices=AGE_CHOICES, method="filter_age", label=_("Age"))
    date_from = django_filters.DateFilter(
        field_name="item_date", lookup_expr="gte", label=_("Date from")
    )
    date_to = django_filters.DateFilter(
        field_name="item_date", lookup_expr="lte", label=_("Date to")
    )

    class Meta:
        model = MatchException
        fields = ("state", "source")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = getattr(getattr(self, "request", None), "company", None)
        members = [(str(user.pk), user.get_username()) for user in company_members(company)]
        self.filters["owner"].extra["choices"] = [
            ("me", _("Me")),
            ("none", _("Nobody")),
            *members,
        ]
        # Sources seen in the company's queue that no app declared are filterable too.
        if company is not None:
            declared = dict(source_choices())
            seen = (
                MatchException.objects.for_company(company)
                .order_by()
                .values_list("source", flat=True)
                .distinct()
            )
            extra = [(name, name) for name in seen if name not in declared]
            if extra:
                self.filters["source"].extra["choices"] = [*declared.items(), *sorted(extra)]

    def filter_owner(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == "me":
            user = getattr(getattr(self, "request", None), "user", None)
            return queryset.filter(owner_id=getattr(user, "pk", None))
        if value == "none":
            return queryset.filter(owner__isnull=True)
        if value.isdigit():
            return queryset.filter(owner_id=int(value))
        return queryset

    def filter_age(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        bucket = AGE_BUCKETS.get(value)
        if bucket is None:
            return queryset
        today = timezone.localdate()
        youngest, oldest = bucket
        queryset = queryset.filter(item_date__lte=today - dt.timedelta(days=youngest))
        if oldest is not None:
            queryset = queryset.filter(item_date__gte=today - dt.timedelta(days=oldest))
        return queryset

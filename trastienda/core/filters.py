"""Base filter set shared by the UI lists and the API: adds full-text search ``q``."""

from __future__ import annotations

from functools import reduce
from operator import and_, or_
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _


class CompanyFilterSet(django_filters.FilterSet):
    """Declare ``search_fields`` for ``?q=``: every word must match one of them."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The filters are deep copies of the class's; a form field one of those built (the API
        # schema reads them) would come along with its choices and queryset of then: each
        # instance builds its own, after subclasses set the company's choices.
        for item in self.filters.values():
            item.__dict__.pop("_field", None)

    @property
    def form(self) -> Any:
        form = super().form
        if not getattr(form, "_styled", False):
            for field in form.fields.values():
                widget = field.widget
                if isinstance(widget, forms.Select | forms.SelectMultiple):
                    css = "form-select form-select-sm"
                else:
                    css = "form-control form-control-sm"
                if isinstance(widget, forms.DateInput):
                    widget.input_type = "date"
                widget.attrs.setdefault("class", css)
            form._styled = True
        return form

    def filter_search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        words = [w for w in value.split() if w][:8]
        if not words or not self.search_fields:
            return queryset
        clauses = [
            reduce(or_, (Q(**{f"{field}__icontains": word}) for field in self.search_fields))
            for word in words
        ]
        return queryset.filter(reduce(and_, clauses))

import django_filters
from django.utils.translation import gettext_lazy as _

from trastienda.core.filters import CompanyFilterSet
from trastienda.documents.models import Document


class DocumentFilterSet(CompanyFilterSet):
    search_fields = ("title", "reference", "notes", "original_name")
    kind = django_filters.ChoiceFilter(choices=Document.Kind.choices, label=_("Kind"))
    date_from = django_filters.DateFilter(
        field_name="document_date", lookup_expr="gte", label=_("Date from")
    )
    date_to = django_filters.DateFilter(
        field_name="document_date", lookup_expr="lte", label=_("Date to")
    )

    class Meta:
        model = Document
        fields = ("kind",)

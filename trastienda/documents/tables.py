import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from trastienda.core.tables import BaseTable
from trastienda.documents.models import Document


class DocumentTable(BaseTable):
    title = tables.Column(linkify=lambda record: record.get_absolute_url())
    size = tables.Column(attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    download = tables.TemplateColumn(
        template_name="documents/download_cell.html",
        verbose_name=_("File"),
        orderable=False,
        exclude_from_export=True,
    )

    class Meta(BaseTable.Meta):
        model = Document
        fields = (
            "pk",
            "title",
            "kind",
            "reference",
            "document_date",
            "retain_until",
            "original_name",
            "size",
            "created_at",
            "updated_at",
        )
        default_columns = ("title", "kind", "reference", "document_date", "original_name")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem, Widget


def _summary(request: object) -> dict[str, object]:
    from trastienda.documents.widgets import documents_summary

    return documents_summary(request)


class DocumentsConfig(AppConfig):
    name = "trastienda.documents"
    label = "documents"
    verbose_name = _("Documents")
    menu = Menu(
        label=_("Documents"),
        icon="bi-folder2-open",
        items=(
            MenuItem(
                _("Archive"), "documents:document_list", "documents.view_document", "bi-archive"
            ),
        ),
        order=800,
    )
    widgets = (
        Widget(
            "documents/widget.html",
            "documents.view_document",
            lambda request: _summary(request),
            order=800,
        ),
    )

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from trastienda.core.navigation import Menu, MenuItem


class DocumentsConfig(AppConfig):
    name = "trastienda.documents"
    label = "documents"
    verbose_name = _("Documents")
    menu = Menu(
        label=_("Documents"),
        icon="bi-folder2-open",
        items=(MenuItem(_("Archive"), "documents:document_list", "documents.view_document",
                        "bi-archive"),),
        order=800,
    )

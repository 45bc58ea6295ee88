"""Documents: files the company keeps (contracts, policies, letters, scans), with metadata.

Depends on core. Files are checked by extension and content on upload and are served only
through a permission-checked view, never as public media.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trastienda.core.models import CompanyOwned


class Document(CompanyOwned):
    """A document in the company archive."""

    class Kind(models.TextChoices):
        CONTRACT = "contract", _("Contract")
        POLICY = "policy", _("Policy or procedure")
        CORRESPONDENCE = "correspondence", _("Correspondence")
        INVOICE = "invoice", _("Invoice")
        LEGAL = "legal", _("Legal")
        OTHER = "other", _("Other")

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    document_date = models.DateField(_("date"), null=True, blank=True)
    retain_until = models.DateField(_("retain until"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to="documents/%Y/%m/", blank=True)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-document_date", "-id"]
        indexes = [models.Index(fields=["company", "kind"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "documents:document_detail", kwargs={"company": self.company.code, "pk": self.pk}
        )

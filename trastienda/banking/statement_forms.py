"""The statement import form and the check of an uploaded statement file (pages and API).

Bank files come with many extensions (``.xml`` CAMT, ``.ofx``/``.qfx``, Norma 43 as ``.n43``,
``.aeb``, ``.csb`` or ``.txt``, MT940 as ``.sta``, ``.940``, ``.mt940`` or ``.txt``, ``.csv``,
``.xlsx``) and Norma 43 files are Latin-1 text, so the platform's upload check (UTF-8 text
types only) does not fit them: :func:`check_statement_upload` accepts these extensions and
refuses a file whose bytes are a known binary type other than an XLSX workbook (an executable
or a PDF renamed ``.txt``). Whether the content is a statement the readers decide, naming the
line.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import filetype
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.banking.models import BankAccount
from trastienda.core.forms import BootstrapMixin
from trastienda.core.models import Company
from trastienda.core.uploads import clean_filename

STATEMENT_EXTENSIONS = (
    "xml",
    "ofx",
    "qfx",
    "n43",
    "aeb",
    "csb",
    "q43",
    "txt",
    "sta",
    "940",
    "mt940",
    "csv",
    "xlsx",
    "",
)
SYNC_MAX_BYTES = 2 * 1024 * 1024
"""Statement files up to this size are imported in the request; larger ones by a job."""


def check_statement_upload(upload: Any) -> tuple[str, str]:
    """``(clean file name, extension)`` of an acceptable statement upload, else a
    ValidationError naming the file."""
    name = clean_filename(getattr(upload, "name", "") or "")
    extension = PurePath(name).suffix.lower().lstrip(".")
    if extension not in STATEMENT_EXTENSIONS:
        raise ValidationError(
            _("%(name)s: files of type “%(ext)s” are not bank statements; use one of: %(allowed)s.")
            % {
                "name": name,
                "ext": extension,
                "allowed": ", ".join(e for e in STATEMENT_EXTENSIONS if e),
            }
        )
    size = int(getattr(upload, "size", 0) or 0)
    limit = int(settings.TRASTIENDA_MAX_UPLOAD_BYTES)
    if size > limit:
        raise ValidationError(
            _("%(name)s is %(size)s; the limit is %(limit)s.")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)}
        )
    if size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": name})
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    detected = filetype.guess(head)
    workbook = detected is not None and detected.extension in ("xlsx", "zip")
    if detected is not None and not (workbook and extension in ("xlsx", "")):
        raise ValidationError(
            _("%(name)s is not a bank statement: its content looks like %(found)s.")
            % {"name": name, "found": detected.extension}
        )
    if extension == "xlsx" and not workbook:
        raise ValidationError(
            _("%(name)s does not contain what its extension says (xlsx).") % {"name": name}
        )
    return name, extension


class StatementImportForm(BootstrapMixin, forms.Form):
    bank_account = forms.ModelChoiceField(
        label=gettext_lazy("Bank account"),
        queryset=BankAccount.objects.none(),
        required=False,
        empty_label=gettext_lazy("Detect it from the IBAN in the file"),
        help_text=gettext_lazy(
            "CSV and XLSX files are read with the column mapping of the account chosen here."
        ),
    )
    file = forms.FileField(
        label=gettext_lazy("Statement file"),
        help_text=gettext_lazy("CAMT.053/052/054 (XML), OFX, Norma 43, MT940, CSV or XLSX."),
    )

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank_account"].queryset = (  # type: ignore[attr-defined]
            BankAccount.objects.for_company(company).filter(active=True).order_by("name")
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        check_statement_upload(upload)
        return upload

"""Form helpers shared by every module: Bootstrap styling of widgets, the layout settings of a
CSV/XLSX column mapping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class BootstrapMixin:
    """Gives every widget the Bootstrap 5 class it needs and marks invalid fields.

    Validation never runs here: a form narrows its querysets to the company after
    construction (``set_company``), and errors computed before that would have accepted
    another company's records. Invalid fields are marked when the form is cleaned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            if field.label:  # labels begin with a capital, as a model form's do
                field.label = capfirst(field.label)
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()
            if isinstance(widget, forms.DateInput):
                widget.input_type = "date"
                widget.format = "%Y-%m-%d"

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name in self.fields:  # type: ignore[attr-defined]
                widget = self.fields[name].widget  # type: ignore[attr-defined]
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"


class CompanyModelForm(BootstrapMixin, forms.ModelForm):
    """ModelForm of a company's record; the view sets ``form.company`` before validation."""

    company: Any = None


class TabularLayoutForm(BootstrapMixin, forms.Form):
    """How a CSV or XLSX file is laid out — the layout settings of the column mappings built
    on :mod:`trastienda.core.tabular` — and a sample file to try them on (nothing of it is
    stored). Subclasses add their columns, redefine ``skip_rows``' and ``sample``'s help
    (who writes the file), put the fields in their order (``field_order``) and check the
    sample's size (:meth:`check_upload`)."""

    decimal_separator = forms.ChoiceField(
        label=_("Decimal separator"),
        choices=((",", _("Comma: 1234,56")), (".", _("Point: 1234.56"))),
        initial=",",
    )
    thousands_separator = forms.ChoiceField(
        label=_("Thousands separator"),
        choices=(
            ("", _("None")),
            (".", _("Point: 1.234")),
            (",", _("Comma: 1,234")),
            (" ", _("Space: 1 234")),
        ),
        required=False,
    )
    delimiter = forms.ChoiceField(
        label=_("CSV delimiter"),
        choices=(
            ("", _("Detect")),
            (";", _("Semicolon ;")),
            (",", _("Comma ,")),
            ("\t", _("Tab")),
            ("|", _("Bar |")),
        ),
        required=False,
    )
    encoding = forms.ChoiceField(
        label=_("CSV encoding"),
        choices=(
            ("utf-8-sig", "UTF-8"),
            ("cp1252", "Windows-1252"),
            ("latin-1", "ISO-8859-1 (Latin-1)"),
            ("utf-16", "UTF-16"),
        ),
        initial="utf-8-sig",
    )
    skip_rows = forms.IntegerField(
        label=_("Lines before the header"), min_value=0, max_value=1000, initial=0
    )
    has_header = forms.BooleanField(label=_("The table has a header row"), required=False)
    sample = forms.FileField(label=_("Sample file"), required=False)

    def check_upload(self, sample: Any) -> str:
        """The sample's extension (lower case); raise ``ValidationError`` when it is refused."""
        return sample.name.rpartition(".")[2].lower() if "." in sample.name else ""

    def clean_sample(self) -> Any:
        sample = self.cleaned_data.get("sample")
        if sample and self.check_upload(sample) not in ("csv", "txt", "xlsx", ""):
            raise forms.ValidationError(_("Upload a CSV or XLSX file."))
        return sample

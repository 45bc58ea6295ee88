"""Form helpers shared by every module: Bootstrap styling of widgets."""

from __future__ import annotations

from typing import Any

from django import forms


class BootstrapMixin:
    """Gives every widget the Bootstrap 5 class it needs and marks invalid fields.

    Validation never runs here: a form narrows its querysets to the company after
    construction (``set_company``), and errors computed before that would have accepted
    another company's records. Invalid fields are marked when the form is cleaned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
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

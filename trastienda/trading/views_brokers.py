"""The page of a broker's CSV/XLSX confirmation mapping, under ``/c/<code>/trading/``.

- ``brokers/<pk>/mapping/``: which column of this broker's CSV or XLSX export holds what
  (:class:`~trastienda.trading.formats.confirmations.ConfirmationMapping`). ``action=preview``
  shows a sample file's first rows as they are and its first confirmations as the import will
  read them with the settings typed (or the errors by line), saving nothing; ``action=save``
  saves the settings through :func:`~trastienda.trading.reference.broker_mapping_save`.

The form mirrors banking's statement mapping form
(:class:`trastienda.banking.account_forms.ColumnMappingForm`): the same layout settings,
checked by :mod:`trastienda.core.tabular`; trading imports nothing from banking.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.core import tabular
from trastienda.core.forms import TabularLayoutForm
from trastienda.core.generic import CompanyView
from trastienda.core.permissions import model_perm
from trastienda.trading import reference
from trastienda.trading.formats.base import SIDES, ConfirmationFormatError
from trastienda.trading.formats.confirmations import (
    COLUMNS,
    DEFAULT_SIDE_VALUES,
    ConfirmationMapping,
    ConfirmationMappingError,
)
from trastienda.trading.forms import IMPORT_MAX_BYTES
from trastienda.trading.models import Broker
from trastienda.trading.views import BrokerViews

PREVIEW_ROWS = 10  # raw rows of the sample shown
PREVIEW_CONFIRMATIONS = 10  # confirmations read with the mapping shown

COLUMN_HELP = gettext_lazy("The column's header text, or its position (1, 2, 3...).")


def _column(label: Any, *, required: bool = True, help_text: Any = COLUMN_HELP) -> forms.Field:
    return forms.CharField(label=label, max_length=100, required=required, help_text=help_text)


def _time_zones() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class ConfirmationMappingForm(TabularLayoutForm):
    """The settings of :class:`ConfirmationMapping`, and a sample file whose first rows and
    confirmations are shown (nothing of the file is stored). The fields are named as the
    settings, so an error of a setting lands on its field."""

    broker_ref = _column(gettext_lazy("Confirmation reference column"))
    trade_ref = _column(
        gettext_lazy("Trade reference column"),
        help_text=gettext_lazy("Our order or trade id as the broker echoes it."),
    )
    trade_date = _column(gettext_lazy("Trade date column"))
    instrument = _column(
        gettext_lazy("Instrument column"),
        help_text=gettext_lazy("The ISIN or the instrument's code."),
    )
    side = _column(gettext_lazy("Side column"))
    quantity = _column(gettext_lazy("Quantity column"))
    price = _column(gettext_lazy("Price column"))
    currency = _column(gettext_lazy("Currency column"))
    account = _column(
        gettext_lazy("Account column"), help_text=gettext_lazy("The trading account's code.")
    )
    trade_time = _column(gettext_lazy("Trade time column"), required=False)
    settlement_date = _column(gettext_lazy("Settlement date column"), required=False)
    fees = _column(
        gettext_lazy("Fees column"),
        required=False,
        help_text=gettext_lazy("The broker's commission in the row's currency; empty: none."),
    )
    side_values = forms.CharField(
        label=gettext_lazy("How the side is written"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "One per line: what the file says = buy or sell (C = buy, V = sell). "
            "Empty: B/S, BUY/SELL, C/V, COMPRA/VENTA, ACQUISTO/VENDITA."
        ),
    )
    date_format = forms.CharField(
        label=gettext_lazy("Date format"),
        max_length=40,
        initial="%Y-%m-%d",
        help_text=gettext_lazy(
            "%d day, %m month, %Y year (%y: two digits): %d/%m/%Y, %d.%m.%Y, %Y-%m-%d..."
        ),
    )
    time_format = forms.CharField(
        label=gettext_lazy("Time format"),
        max_length=40,
        initial="%H:%M:%S",
        help_text=gettext_lazy("%H hour, %M minutes, %S seconds: %H:%M:%S, %H:%M..."),
    )
    timezone = forms.ChoiceField(
        label=gettext_lazy("Time zone of the times"),
        choices=_time_zones,
        help_text=gettext_lazy("Of trade times written without an offset."),
    )
    skip_rows = forms.IntegerField(
        label=gettext_lazy("Lines before the header"),
        min_value=0,
        max_value=1000,
        initial=0,
        help_text=gettext_lazy("Title lines the broker puts above the table."),
    )
    sample = forms.FileField(
        label=gettext_lazy("Sample file"),
        required=False,
        help_text=gettext_lazy(
            "A CSV or XLSX file of this broker: its first rows and confirmations are shown below."
        ),
    )

    COLUMN_FIELDS = COLUMNS
    LAYOUT_FIELDS = (
        "date_format",
        "time_format",
        "timezone",
        "decimal_separator",
        "thousands_separator",
        "delimiter",
        "encoding",
        "skip_rows",
        "has_header",
    )
    MAPPING_FIELDS = (*COLUMNS, "side_values", *LAYOUT_FIELDS)
    field_order = (*MAPPING_FIELDS, "sample")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].initial = settings.TIME_ZONE
        self.fields["decimal_separator"].initial = "."

    @classmethod
    def initial_from(cls, saved: dict[str, Any]) -> dict[str, Any]:
        """Form values from a saved mapping (its JSON form); defaults when there is none."""
        if not saved:
            return {"has_header": True, "timezone": settings.TIME_ZONE}
        values = {name: saved.get(name, "") for name in cls.MAPPING_FIELDS}
        sides = saved.get("side_values") or {}
        values["side_values"] = (
            ""
            if dict(sides) == dict(DEFAULT_SIDE_VALUES)
            else "\n".join(f"{key} = {value}" for key, value in sides.items())
        )
        values["has_header"] = bool(saved.get("has_header", True))
        values["skip_rows"] = int(saved.get("skip_rows") or 0)
        return values

    def clean_side_values(self) -> dict[str, str]:
        """``"C = buy"`` lines as ``{"C": "buy"}``; empty: none (the mapping's defaults)."""
        found: dict[str, str] = {}
        text = str(self.cleaned_data.get("side_values") or "")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            written, equals, side = line.rpartition("=")
            side = side.strip().casefold()
            if not equals or not written.strip() or side not in SIDES:
                raise forms.ValidationError(
                    _("Line %(number)s: write it as the file's text = buy or sell, as C = buy.")
                    % {"number": number}
                )
            found[written.strip()] = side
        return found

    def check_upload(self, sample: Any) -> str:
        if sample.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large (at most 10 MB)."))
        return super().check_upload(sample)

    def mapping_dict(self) -> dict[str, Any]:
        """The cleaned settings as :meth:`ConfirmationMapping.from_dict` takes them."""
        data: dict[str, Any] = {}
        for name in self.MAPPING_FIELDS:
            value = self.cleaned_data.get(name)
            if isinstance(value, str) and name not in ("thousands_separator", "delimiter"):
                value = value.strip()
            data[name] = value
        if not data["side_values"]:
            del data["side_values"]  # the defaults
        data["skip_rows"] = int(data["skip_rows"] or 0)
        data["has_header"] = bool(data["has_header"])
        data["thousands_separator"] = data["thousands_separator"] or ""
        data["delimiter"] = data["delimiter"] or ""
        return data


# --- the sample file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadConfirmation:
    line: int | None
    broker_ref: str
    trade_ref: str
    trade_date: dt.date
    instrument: str
    side: str
    quantity: Decimal
    price: Decimal
    currency: str
    fees: Decimal
    settlement_date: dt.date | None


@dataclass(frozen=True)
class TrialRead:
    """The first confirmations of a sample file read with the mapping, or every problem found
    (``errors``: (where, message), in file order)."""

    confirmations: list[ReadConfirmation]
    count: int
    errors: list[tuple[str, str]]


def _place(line: int | None) -> str:
    return _("line %(number)s") % {"number": line} if line else _("file")


def trial_read(content: bytes, mapping: ConfirmationMapping, broker: str) -> TrialRead:
    """Read a sample as :func:`~trastienda.trading.reconciliation.confirmations_import` reads
    a broker's CSV/XLSX file (the file's checks, not the database's: unknown instruments or
    accounts are reported by the import)."""
    from trastienda.trading.formats import detect
    from trastienda.trading.formats.confirmations import read_confirmations

    try:
        if detect(content) == "fix":
            return TrialRead(
                [], 0, [(_place(None), _("These are FIX messages: they need no column mapping."))]
            )
        parsed = read_confirmations(content, "", mapping, broker)
    except ConfirmationFormatError as exc:
        return TrialRead([], 0, [(_place(error.line), error.message) for error in exc.errors])
    return TrialRead(
        confirmations=[
            ReadConfirmation(
                line=item.line,
                broker_ref=item.broker_ref,
                trade_ref=item.trade_ref,
                trade_date=item.trade_date,
                instrument=item.instrument,
                side=item.side,
                quantity=item.quantity,
                price=item.price,
                currency=item.currency,
                fees=item.fees,
                settlement_date=item.settlement_date,
            )
            for item in parsed[:PREVIEW_CONFIRMATIONS]
        ],
        count=len(parsed),
        errors=[],
    )


@dataclass(frozen=True)
class _SampleLayout:
    """How to show a sample's raw rows when the settings typed cannot all be used."""

    decimal_separator: str = "."
    thousands_separator: str = ""
    delimiter: str = ""
    encoding: str = "utf-8-sig"
    skip_rows: int = 0
    has_header: bool = True


def raw_rows(content: bytes, layout: tabular.Layout) -> list[list[str]]:
    """The first rows of a CSV or XLSX file as text, from the top of the file (the lines to
    skip included), for the user to see its columns. TabularFormatError when unreadable."""
    kind = tabular.tabular_kind(content)
    rows = (
        tabular.xlsx_rows(content)
        if kind == "xlsx"
        else tabular.csv_file_rows(content, layout, keep_skipped=True)
    )
    result: list[list[str]] = []
    for _line, cells in rows:
        result.append([tabular.cell_text(cell) for cell in cells])
        if len(result) == PREVIEW_ROWS:
            break
    return result


# --- the page -----------------------------------------------------------------------------------


class BrokerMappingView(CompanyView):
    """GET: the mapping form with the saved settings. POST ``action=preview``: show a sample
    file's first rows and, when the settings can be used, its first confirmations read with
    them (or the errors by line), without saving; ``action=save``: save the settings."""

    views = BrokerViews
    template_name = "trading/broker_mapping.html"

    def get_required_perm(self) -> str:
        return model_perm(Broker, "change")

    def page(self, broker: Broker, form: ConfirmationMappingForm, **extra: Any) -> HttpResponse:
        status = extra.pop("status", 200)
        title = _("CSV/XLSX confirmation mapping")
        ctx = self.base_context(object=broker, form=form, title=title, **extra)
        ctx["breadcrumbs"].append({"label": str(broker), "url": broker.get_absolute_url()})
        ctx["breadcrumbs"].append({"label": title, "url": None})
        return render(self.request, self.template_name, ctx, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        broker = self.get_object()
        form = ConfirmationMappingForm(
            initial=ConfirmationMappingForm.initial_from(broker.confirmation_mapping)
        )
        return self.page(broker, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        broker = self.get_object()
        form = ConfirmationMappingForm(request.POST, request.FILES)
        saving = request.POST.get("action", "save") != "preview"
        parsed: ConfirmationMapping | None = None
        if form.is_valid():
            try:
                parsed = ConfirmationMapping.from_dict(form.mapping_dict())
            except ConfirmationMappingError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        extra = self.sample_context(form, parsed, broker)
        if not saving or parsed is None:
            return self.page(broker, form, status=400 if saving else 200, **extra)
        try:
            reference.broker_mapping_save(
                instance=broker, mapping=parsed.to_dict(), user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            return self.page(broker, form, status=400, **extra)
        messages.success(
            request,
            _("The confirmation mapping of %(broker)s is saved.") % {"broker": broker.name},
        )
        return HttpResponseRedirect(broker.get_absolute_url())

    def sample_context(
        self, form: ConfirmationMappingForm, parsed: ConfirmationMapping | None, broker: Broker
    ) -> dict[str, Any]:
        """The sample's first rows as they are (columns numbered) and, with settings that can
        be used, its first confirmations as the import will read them."""
        sample = getattr(form, "cleaned_data", {}).get("sample")
        if not sample:
            return {}
        content = sample.read()
        extra: dict[str, Any] = {}
        layout: tabular.Layout = parsed if parsed is not None else self.sample_layout(form)
        try:
            rows = raw_rows(content, layout)
        except (tabular.TabularFormatError, UnicodeDecodeError) as exc:
            extra["preview_error"] = str(exc)
        else:
            width = max((len(row) for row in rows), default=0)
            extra["preview_columns"] = list(range(1, width + 1))
            extra["preview_rows"] = [row + [""] * (width - len(row)) for row in rows]
        if parsed is not None:
            extra["trial"] = trial_read(content, parsed, broker.code)
        return extra

    @staticmethod
    def sample_layout(form: ConfirmationMappingForm) -> _SampleLayout:
        cleaned = getattr(form, "cleaned_data", {})
        layout = _SampleLayout(
            delimiter=cleaned.get("delimiter") or "",
            encoding=cleaned.get("encoding") or "utf-8-sig",
            skip_rows=cleaned.get("skip_rows") or 0,
            decimal_separator=cleaned.get("decimal_separator") or ".",
        )
        try:
            tabular.check_layout(layout)
        except tabular.MappingError:
            return _SampleLayout()
        return layout


urlpatterns: list[Any] = [
    path("brokers/<int:pk>/mapping/", BrokerMappingView.as_view(), name="broker_mapping"),
]

__all__ = [
    "BrokerMappingView",
    "ConfirmationMappingForm",
    "TrialRead",
    "raw_rows",
    "trial_read",
]

"""The VAT report: what a period's issued invoices and supplier bills say about VAT, by tax
and by box of the return (modelo 303 in Spain, LIPE in Italy). A working report for the
accountant who prepares the return, not an official filing.

Source. The tax breakdown (``InvoiceTax``: base and amount per tax) of every issued invoice,
credit note and bill (state ``issued``) dated in the range, both directions. Credit notes
count negative (``Invoice.sign``). Figures are in the company currency: a row of an invoice in
another currency is converted with that invoice's ``rate`` and rounded half up to the company
currency's minor unit (:meth:`Money.from_decimal_rounded`), row by row, as the invoice's
journal entry converts it; rows in the company currency are summed in SQL.

By tax. Sales taxes are *output* VAT (VAT and equivalence surcharge; under split payment the
customer pays the VAT to the State, so it is shown but not due); purchase taxes are *input*
VAT, deductible when the tax has a purchase account (without one the services book it as a
cost); a reverse-charge purchase is both: self-assessed output VAT and deductible input VAT.
Withholdings are listed apart: they are not VAT. Result: output due - deductible input; above
zero it is to pay, below zero to compensate (or to refund, at year end).

By box. Each tax names its boxes (``report_base_box`` / ``report_tax_box``; a reverse-charge
purchase ``output/input``, see :mod:`trastienda.billing.defaults`). In Spain credit notes go
to the rectification boxes (14/15, 25/26 and 40/41), as the modelo 303 asks; in Italy they
reduce the same lines. Results: Spain 27 (total output), 45 (total deductible), 46 = 27 - 45;
Italy VP6 = VP4 - VP5. Boxes the report cannot know (compensations from earlier periods, pro
rata, capital goods regularisations, VP7 to VP13) are left to the accountant.

Drill-down. :func:`invoice_figures` lists the invoices behind any figure (a tax on one side,
or a box), with the part of each that the figure holds, so the list adds up to the figure.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.billing.models import Direction, Invoice, InvoiceTax, Tax
from trastienda.core.models import Company
from trastienda.core.money import Money

OUTPUT, INPUT, WITHHOLDING = "output", "input", "withholding"
SIDES = (OUTPUT, INPUT, WITHHOLDING)
BASE, AMOUNT = "base", "amount"
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(9998, 12, 31)

# --- periods -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    date_from: dt.date
    date_to: dt.date
    key: str = ""  # "2026", "2026-Q1", "2026-03"; "" for a custom range

    @property
    def label(self) -> str:
        return (
            period_label(self.key) if self.key else date_range_label(self.date_from, self.date_to)
        )


def date_range_label(date_from: dt.date, date_to: dt.date) -> str:
    return _("%(start)s to %(end)s") % {
        "start": date_format(date_from, "SHORT_DATE_FORMAT"),
        "end": date_format(date_to, "SHORT_DATE_FORMAT"),
    }


def period_parse(key: str) -> Period:
    """``YYYY`` (a year), ``YYYY-Qn`` (a quarter) or ``YYYY-MM`` (a month); ValueError else."""
    text = (key or "").strip().upper()
    year_text, _sep, rest = text.partition("-")
    if not (year_text.isdigit() and len(year_text) == 4) or not 1900 <= int(year_text) <= 9998:
        raise ValueError(text)
    year = int(year_text)
    if not rest:
        return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), f"{year}")
    if rest.startswith("Q") and rest[1:] in ("1", "2", "3", "4"):
        quarter = int(rest[1:])
        first = 3 * quarter - 2
        last = dt.date(year, first + 2, calendar.monthrange(year, first + 2)[1])
        return Period(dt.date(year, first, 1), last, f"{year}-Q{quarter}")
    if rest.isdigit() and len(rest) == 2 and 1 <= int(rest) <= 12:
        month = int(rest)
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        return Period(dt.date(year, month, 1), last, f"{year}-{month:02d}")
    raise ValueError(text)


def period_label(key: str) -> str:
    period = period_parse(key)
    year, _sep, rest = period.key.partition("-")
    if not rest:
        return str(_("Year %(year)s") % {"year": year})
    if rest.startswith("Q"):
        return str(_("%(year)s, quarter %(quarter)s") % {"year": year, "quarter": rest[1:]})
    return date_format(period.date_from, "YEAR_MONTH_FORMAT")


def period_default(today: dt.date) -> Period:
    """The quarter before ``today``'s: the one whose return is prepared now."""
    quarter = (today.month - 1) // 3 + 1
    year = today.year
    if quarter == 1:
        year, quarter = year - 1, 4
    else:
        quarter -= 1
    return period_parse(f"{year}-Q{quarter}")


def period_choices(today: dt.date, selected: str = "") -> list[tuple[str, str]]:
    """Presets for the period picker: this and the two previous years, each as the year, its
    quarters and its months (latest first); ``selected`` is kept when it is older."""
    keys: list[str] = []
    for year in range(today.year, today.year - 3, -1):
        keys += [f"{year}-Q{q}" for q in range(4, 0, -1)]
        keys += [f"{year}-{m:02d}" for m in range(12, 0, -1)]
        keys.append(f"{year}")
    if selected and selected not in keys:
        keys.append(selected)
    return [(key, period_label(key)) for key in keys]


# --- the forms of the returns ----------------------------------------------------------------


@dataclass(frozen=True)
class BoxLine:
    """One line of a return: a base box and/or a tax box (either may be empty)."""

    label: Any
    base_box: str = ""
    tax_box: str = ""
    section: str = OUTPUT  # output, input or info


@dataclass(frozen=True)
class ReturnForm:
    code: str
    name: Any
    lines: tuple[BoxLine, ...]
    # Credit notes of these boxes go to the rectification boxes (Spain).
    credit_note_boxes: dict[str, str] = field(default_factory=dict)
    output_total: str = ""  # box of the total output tax
    input_total: str = ""  # box of the total deductible tax
    result: str = ""  # box of the result (output - input)
    result_label: Any = ""


MODELO_303 = ReturnForm(
    code="303",
    name=gettext_lazy("Spain: modelo 303"),
    lines=(
        BoxLine(gettext_lazy("General regime 0%"), "150", "152"),
        BoxLine(gettext_lazy("General regime 2%"), "165", "167"),
        BoxLine(gettext_lazy("General regime 4%"), "01", "03"),
        BoxLine(gettext_lazy("General regime 5% and 7.5%"), "153", "155"),
        BoxLine(gettext_lazy("General regime 10%"), "04", "06"),
        BoxLine(gettext_lazy("General regime 21%"), "07", "09"),
        BoxLine(gettext_lazy("Intra-EU acquisitions of goods and services"), "10", "11"),
        BoxLine(gettext_lazy("Other reverse-charge transactions"), "12", "13"),
        BoxLine(gettext_lazy("Changes of bases and tax (credit notes)"), "14", "15"),
        BoxLine(gettext_lazy("Equivalence surcharge 1.75%"), "156", "158"),
        BoxLine(gettext_lazy("Equivalence surcharge 0.5%"), "168", "170"),
        BoxLine(gettext_lazy("Equivalence surcharge, other rates"), "16", "18"),
        BoxLine(gettext_lazy("Equivalence surcharge 1.4%"), "19", "21"),
        BoxLine(gettext_lazy("Equivalence surcharge 5.2%"), "22", "24"),
        BoxLine(gettext_lazy("Changes of the equivalence surcharge (credit notes)"), "25", "26"),
        BoxLine(gettext_lazy("Current domestic purchases"), "28", "29", INPUT),
        BoxLine(gettext_lazy("Domestic purchases of capital goods"), "30", "31", INPUT),
        BoxLine(gettext_lazy("Imports of current goods"), "32", "33", INPUT),
        BoxLine(gettext_lazy("Imports of capital goods"), "34", "35", INPUT),
        BoxLine(
            gettext_lazy("Intra-EU acquisitions of current goods and services"), "36", "37", INPUT
        ),
        BoxLine(gettext_lazy("Intra-EU acquisitions of capital goods"), "38", "39", INPUT),
        BoxLine(gettext_lazy("Rectification of deductions (credit notes)"), "40", "41", INPUT),
        BoxLine(gettext_lazy("Intra-EU supplies of goods and services"), "59", section="info"),
        BoxLine(gettext_lazy("Exports and similar transactions"), "60", section="info"),
        BoxLine(gettext_lazy("Not subject by place-of-supply rules"), "120", section="info"),
        BoxLine(gettext_lazy("Subject with reverse charge (sales)"), "122", section="info"),
    ),
    credit_note_boxes={
        **dict.fromkeys(("150", "165", "01", "153", "04", "07", "10", "12"), "14"),
        **dict.fromkeys(("152", "167", "03", "155", "06", "09", "11", "13"), "15"),
        **dict.fromkeys(("156", "168", "16", "19", "22"), "25"),
        **dict.fromkeys(("158", "170", "18", "21", "24"), "26"),
        **dict.fromkeys(("28", "30", "32", "34", "36", "38"), "40"),
        **dict.fromkeys(("29", "31", "33", "35", "37", "39"), "41"),
    },
    output_total="27",
    input_total="45",
    result="46",
    result_label=gettext_lazy("Result of the general regime"),
)

LIPE = ReturnForm(
    code="LIPE",
    name=gettext_lazy("Italy: periodic VAT settlement (LIPE)"),
    lines=(
        BoxLine(gettext_lazy("Total active transactions (net of VAT)"), "VP2"),
        BoxLine(gettext_lazy("Total passive transactions (net of VAT)"), "VP3", section=INPUT),
        BoxLine(gettext_lazy("VAT due (IVA esigibile)"), tax_box="VP4"),
        BoxLine(gettext_lazy("VAT deducted (IVA detratta)"), tax_box="VP5", section=INPUT),
    ),
    result="VP6",
    result_label=gettext_lazy("VAT payable or credit"),
)

FORMS = {"ES": MODELO_303, "IT": LIPE}


def return_form(company: Company) -> ReturnForm | None:
    return FORMS.get(company.country)


# --- reading the tax rows --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One ``InvoiceTax`` row (or a sum of rows) in the company currency, signed."""

    tax_id: int
    direction: str
    credit_note: bool
    base: int
    amount: int
    invoices: int = 1
    invoice_id: int | None = None


def issued_tax_rows(company: Company, date_from: dt.date, date_to: dt.date) -> QuerySet[Any]:
    return InvoiceTax.objects.for_company(company).filter(
        invoice__state=Invoice.State.ISSUED,
        invoice__date__gte=date_from,
        invoice__date__lte=date_to,
    )


def _convert(minor: int, currency: str, rate: Decimal, company: Company) -> int:
    """``minor`` of ``currency`` in the company currency at ``rate``, half up."""
    if currency == company.base_currency:
        return minor
    value = Money(minor, currency).to_decimal() * rate
    return Money.from_decimal_rounded(value, company.base_currency, ROUND_HALF_UP).minor


def _credit(kind: str) -> bool:
    return kind == Invoice.Kind.CREDIT_NOTE


def _sign(credit: bool) -> int:
    return -1 if credit else 1


def summed_rows(company: Company, date_from: dt.date, date_to: dt.date) -> list[Row]:
    """The period's rows summed per (tax, direction, credit note or not): the company
    currency's in SQL, the other currencies' converted one by one."""
    rows = issued_tax_rows(company, date_from, date_to)
    base = company.base_currency
    result: list[Row] = []
    for item in (
        rows.filter(invoice__currency=base)
        .values("tax_id", "invoice__direction", "invoice__kind")
        .annotate(base_sum=Sum("base"), amount_sum=Sum("amount"), count=Count("id"))
        .order_by()
    ):
        credit = _credit(item["invoice__kind"])
        result.append(
            Row(
                tax_id=item["tax_id"],
                direction=item["invoice__direction"],
                credit_note=credit,
                base=_sign(credit) * int(item["base_sum"] or 0),
                amount=_sign(credit) * int(item["amount_sum"] or 0),
                invoices=int(item["count"]),
            )
        )
    foreign: dict[tuple[int, str, bool], list[int]] = defaultdict(lambda: [0, 0, 0])
    for tax_id, direction, kind, currency, rate, base_minor, amount_minor in (
        rows.exclude(invoice__currency=base)
        .values_list(
            "tax_id",
            "invoice__direction",
            "invoice__kind",
            "invoice__currency",
            "invoice__rate",
            "base",
            "amount",
        )
        .order_by()
        .iterator(chunk_size=2000)
    ):
        credit = _credit(kind)
        sums = foreign[(tax_id, direction, credit)]
        sums[0] += _sign(credit) * _convert(base_minor, currency, rate, company)
        sums[1] += _sign(credit) * _convert(amount_minor, currency, rate, company)
        sums[2] += 1
    for (tax_id, direction, credit), (base_sum, amount_sum, count) in foreign.items():
        result.append(Row(tax_id, direction, credit, base_sum, amount_sum, count))
    return result


def invoice_rows(
    company: Company, date_from: dt.date, date_to: dt.date, tax_id: int | None = None
) -> Iterator[Row]:
    """The period's rows one by one (with their invoice), converted and signed."""
    rows = issued_tax_rows(company, date_from, date_to)
    if tax_id is not None:
        rows = rows.filter(tax_id=tax_id)
    for invoice_id, t_id, direction, kind, currency, rate, base_minor, amount_minor in (
        rows.values_list(
            "invoice_id",
            "tax_id",
            "invoice__direction",
            "invoice__kind",
            "invoice__currency",
            "invoice__rate",
            "base",
            "amount",
        )
        .order_by("invoice__date", "invoice_id", "id")
        .iterator(chunk_size=2000)
    ):
        credit = _credit(kind)
        yield Row(
            tax_id=t_id,
            direction=direction,
            credit_note=credit,
            base=_sign(credit) * _convert(base_minor, currency, rate, company),
            amount=_sign(credit) * _convert(amount_minor, currency, rate, company),
            invoice_id=invoice_id,
        )


# --- sides and boxes of a row ----------------------------------------------------------------


def sides_of(tax: Tax, direction: str) -> list[str]:
    """Where a row of ``tax`` on an invoice of ``direction`` is reported by tax."""
    if tax.kind == Tax.Kind.WITHHOLDING:
        return [WITHHOLDING]
    if direction == Direction.SALE:
        return [OUTPUT]
    if tax.reverse_charge:
        return [OUTPUT, INPUT]
    return [INPUT]


def _codes(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split("/") if part.strip()]


def box_parts(
    tax: Tax, direction: str, credit_note: bool, form: ReturnForm | None
) -> list[tuple[str, str]]:
    """``(box, "base"|"amount")`` pairs a row of ``tax`` goes to."""
    parts: list[tuple[str, str]] = []
    reroute = form.credit_note_boxes if (form is not None and credit_note) else {}
    for value, what in ((tax.report_base_box, BASE), (tax.report_tax_box, AMOUNT)):
        for code in _codes(value):
            parts.append((reroute.get(code, code), what))
    return parts


# --- the report ------------------------------------------------------------------------------


@dataclass
class TaxLine:
    tax: Tax
    side: str
    base: int = 0
    amount: int = 0
    invoices: int = 0

    @property
    def self_assessed(self) -> bool:
        """Output VAT of a reverse-charge purchase."""
        return self.side == OUTPUT and self.tax.reverse_charge

    @property
    def not_due(self) -> bool:
        """Output VAT the customer pays to the State (split payment)."""
        return self.side == OUTPUT and self.tax.split_payment

    @property
    def non_deductible(self) -> bool:
        """Input VAT booked as a cost (the tax has no purchase account)."""
        return self.side == INPUT and self.tax.purchase_account_id is None

    @property
    def counts(self) -> bool:
        """Whether the amount enters the result."""
        return not (self.not_due or self.non_deductible or self.side == WITHHOLDING)


@dataclass
class BoxFigure:
    code: str
    value: int = 0


@dataclass
class ReportLine:
    label: Any
    section: str
    base: BoxFigure | None
    tax: BoxFigure | None
    known: bool = True  # False: a box the form does not list (set on a tax by hand)


@dataclass
class VatReport:
    company: Company
    date_from: dt.date
    date_to: dt.date
    currency: str
    output: list[TaxLine]
    input: list[TaxLine]
    withholdings: list[TaxLine]
    form: ReturnForm | None
    lines: list[ReportLine]
    boxes: dict[str, int]
    invoices: int

    def _total(self, lines: list[TaxLine], what: str, counted: bool = False) -> int:
        return sum(getattr(t, what) for t in lines if t.counts or not counted)

    @property
    def output_base(self) -> int:
        return self._total(self.output, BASE)

    @property
    def output_tax(self) -> int:
        return self._total(self.output, AMOUNT)

    @property
    def output_due(self) -> int:
        return self._total(self.output, AMOUNT, counted=True)

    @property
    def input_base(self) -> int:
        return self._total(self.input, BASE)

    @property
    def input_tax(self) -> int:
        return self._total(self.input, AMOUNT)

    @property
    def input_deductible(self) -> int:
        return self._total(self.input, AMOUNT, counted=True)

    @property
    def result(self) -> int:
        """Output VAT due less deductible input VAT: > 0 to pay, < 0 to compensate."""
        return self.output_due - self.input_deductible

    def box_totals(self) -> list[tuple[str, Any, int]]:
        """``(box, label, value)`` of the totals and the result of the return."""
        form = self.form
        if form is None:
            return []
        output = sum(
            line.tax.value for line in self.lines if line.tax is not None and line.section == OUTPUT
        )
        deductible = sum(
            line.tax.value for line in self.lines if line.tax is not None and line.section == INPUT
        )
        totals: list[tuple[str, Any, int]] = []
        if form.output_total:
            totals.append((form.output_total, _("Total output tax"), output))
        if form.input_total:
            totals.append((form.input_total, _("Total deductible tax"), deductible))
        totals.append((form.result, form.result_label, output - deductible))
        return totals

    @property
    def box_result(self) -> int | None:
        totals = self.box_totals()
        return totals[-1][2] if totals else None


def verdict(value: int) -> str:
    """What a result means: to pay, to compensate, or nothing."""
    if value > 0:
        return str(_("To pay"))
    if value < 0:
        return str(_("To compensate or refund"))
    return str(_("Nothing to pay"))


def _taxes(company: Company) -> dict[int, Tax]:
    return {t.pk: t for t in Tax.objects.for_company(company)}


def _side_order(line: TaxLine) -> tuple[Any, ...]:
    tax = line.tax
    return (tax.kind != Tax.Kind.VAT, tax.reverse_charge, tax.split_payment, -tax.rate, tax.code)


def vat_report(company: Company, date_from: dt.date, date_to: dt.date) -> VatReport:
    """The VAT report of ``company`` for the issued invoices dated in the range."""
    taxes = _taxes(company)
    form = return_form(company)
    by_tax: dict[tuple[int, str], TaxLine] = {}
    boxes: dict[str, BoxFigure] = {}
    for row in summed_rows(company, date_from, date_to):
        tax = taxes[row.tax_id]
        for side in sides_of(tax, row.direction):
            line = by_tax.setdefault((tax.pk, side), TaxLine(tax, side))
            line.base += row.base
            line.amount += row.amount
            line.invoices += row.invoices
        for code, what in box_parts(tax, row.direction, row.credit_note, form):
            figure = boxes.setdefault(code, BoxFigure(code))
            figure.value += row.base if what == BASE else row.amount
    grouped: dict[str, list[TaxLine]] = {side: [] for side in SIDES}
    for line in by_tax.values():
        grouped[line.side].append(line)
    for lines in grouped.values():
        lines.sort(key=_side_order)
    report_lines = _report_lines(form, boxes)
    invoices = (
        issued_tax_rows(company, date_from, date_to)
        .aggregate(n=Count("invoice_id", distinct=True))
        .get("n")
        or 0
    )
    return VatReport(
        company=company,
        date_from=date_from,
        date_to=date_to,
        currency=company.base_currency,
        output=grouped[OUTPUT],
        input=grouped[INPUT],
        withholdings=grouped[WITHHOLDING],
        form=form,
        lines=report_lines,
        boxes={code: figure.value for code, figure in boxes.items()},
        invoices=int(invoices),
    )


def _report_lines(form: ReturnForm | None, boxes: dict[str, BoxFigure]) -> list[ReportLine]:
    """The form's lines with their figures, then lines for boxes the form does not list."""
    lines: list[ReportLine] = []
    listed: set[str] = set()
    for box_line in form.lines if form is not None else ():
        base = boxes.get(box_line.base_box) or BoxFigure(box_line.base_box)
        tax = boxes.get(box_line.tax_box) or BoxFigure(box_line.tax_box)
        listed |= {box_line.base_box, box_line.tax_box}
        lines.append(
            ReportLine(
                label=box_line.label,
                section=box_line.section,
                base=base if box_line.base_box else None,
                tax=tax if box_line.tax_box else None,
            )
        )
    for code in sorted(set(boxes) - listed, key=lambda c: (len(c), c)):
        lines.append(
            ReportLine(
                label=_("Box %(box)s") % {"box": code},
                section="info",
                base=boxes[code],
                tax=None,
                known=False,
            )
        )
    return lines


# --- drill-down --------------------------------------------------------------------------------


@dataclass
class InvoiceFigure:
    invoice: Invoice
    base: int = 0
    amount: int = 0


def invoice_figures(
    company: Company,
    date_from: dt.date,
    date_to: dt.date,
    *,
    tax: Tax | None = None,
    side: str = "",
    box: str = "",
) -> list[InvoiceFigure]:
    """The invoices behind a figure and their part of it: a tax (on one ``side``, or all of
    its rows), or a box (its value in ``base``), or, with neither, every invoice with VAT."""
    taxes = _taxes(company)
    form = return_form(company)
    parts: dict[int, InvoiceFigure] = {}
    found: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in invoice_rows(company, date_from, date_to, tax.pk if tax is not None else None):
        assert row.invoice_id is not None  # noqa: S101 - invoice_rows always sets it
        row_tax = taxes[row.tax_id]
        if box:
            for code, what in box_parts(row_tax, row.direction, row.credit_note, form):
                if code == box:
                    found[row.invoice_id][0] += row.base if what == BASE else row.amount
        elif side:
            if side in sides_of(row_tax, row.direction):
                found[row.invoice_id][0] += row.base
                found[row.invoice_id][1] += row.amount
        else:
            found[row.invoice_id][0] += row.base
            found[row.invoice_id][1] += row.amount
    ids = list(found)  # an invoice is listed when a row of it feeds the figure, even at zero
    invoices = {
        i.pk: i
        for i in Invoice.objects.for_company(company)
        .filter(pk__in=ids)
        .select_related("company", "partner", "series")
    }
    for invoice_id, (base, amount) in found.items():
        parts[invoice_id] = InvoiceFigure(invoices[invoice_id], base, amount)
    return sorted(parts.values(), key=lambda f: (f.invoice.date, f.invoice.direction, f.invoice.pk))

"""Services of invoicing and payments: the only writers of invoices, their lines and taxes,
instalments, payments and allocations. Every function runs in one transaction, validates
everything first and raises ``ValidationError`` naming the field (``lines[2].quantity``),
so nothing is written on an error.

Issuing (a bill: posting) is where the law bites: the number is taken from the series'
sequence row for the year, locked and bumped inside the transaction that posts the journal
entry, so a failed issue gives it back and concurrent issues queue; dates never go backwards
within a series and year. See ``trastienda/billing/DESIGN.md``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from trastienda.billing import calc
from trastienda.billing.models import (
    BillingSettings,
    Direction,
    Installment,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    InvoiceTax,
    Partner,
    Payment,
    PaymentAllocation,
    PaymentTerm,
    Product,
    SeriesSequence,
    Tax,
)
from trastienda.core import context
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent, minor_text
from trastienda.ledger.models import Account, CostCentre, FiscalYear, Journal
from trastienda.ledger.services import entry_create_posted, entry_reverse

MAX_LINES = 1000
UNITS = frozenset(Product.Unit.values)
MAX_QUANTITY = Decimal("99999999999")


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _raise(errors: Mapping[str, list[str]]) -> None:
    if errors:
        raise ValidationError(dict(errors))


def billing_settings(company: Company) -> BillingSettings:
    found, _created = BillingSettings.objects.get_or_create(company=company)
    return found


# --- drafts ---------------------------------------------------------------------------------

HEADER_FIELDS = (
    "kind",
    "series",
    "date",
    "operation_date",
    "due_date",
    "currency",
    "rate",
    "payment_term",
    "rectifies",
    "rectification_reason",
    "supplier_reference",
    "notes",
    "language",
    "attachment",
    "partner",
)


@dataclass
class _Line:
    description: str
    quantity: Decimal
    unit: str
    unit_price: int
    discount: Decimal
    taxes: list[Tax]
    account: Account | None
    product: Product | None
    cost_centre: CostCentre | None


def _decimal(value: Any, field: str, errors: dict[str, list[str]], default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    if isinstance(value, float | bool):
        errors.setdefault(field, []).append(_("Enter a decimal number (as text), not a float."))
        return Decimal(default)
    try:
        number = (
            Decimal(str(value).strip().replace(",", "."))
            if isinstance(value, str)
            else Decimal(value)
        )
    except (InvalidOperation, TypeError, ValueError):
        errors.setdefault(field, []).append(_("Enter a number."))
        return Decimal(default)
    if not number.is_finite():
        errors.setdefault(field, []).append(_("Enter a number."))
        return Decimal(default)
    return number


def _company_object(model: Any, company: Company, value: Any) -> Any:
    """``value`` as a record of ``company``: an instance, a primary key (int) or a code (text;
    a product's SKU), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, model):
        return value if value.company_id == company.pk else None
    queryset = model.objects.for_company(company)
    if isinstance(value, int) and not isinstance(value, bool):
        return queryset.filter(pk=value).first()
    if model is Invoice:
        text = str(value).strip()
        return (
            queryset.filter(pk=int(text)).first()
            if text.isdigit()
            else (queryset.filter(number=text).first())
        )
    key = "sku" if model is Product else "code"
    return queryset.filter(**{key: str(value).strip()}).first()


class Lookups:
    """The company's records that invoices name (partners, products, taxes, accounts...),
    each read once: a batch of thousands of invoices names the same few again and again."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self._found: dict[tuple[Any, Any], Any] = {}
        self._taxes: dict[tuple[int, str], list[Tax]] = {}
        self._names: dict[int, str] = {}
        self._specs: dict[int, calc.TaxSpec] = {}

    def get(self, model: Any, value: Any) -> Any:
        if value is None or value == "" or isinstance(value, model):
            return _company_object(model, self.company, value)
        key = (model, value)
        if key not in self._found:
            self._found[key] = _company_object(model, self.company, value)
        return self._found[key]

    def preload(self, model: Any, field: str, values: Iterable[Any]) -> None:
        """Read the records of ``model`` whose ``field`` is among ``values`` in one query."""
        wanted = {v for v in values if isinstance(v, str) and v}
        if not wanted:
            return
        for obj in model.objects.for_company(self.company).filter(**{f"{field}__in": wanted}):
            self._found[(model, getattr(obj, field))] = obj
        for value in wanted:
            self._found.setdefault((model, value), None)

    def product_name(self, product: Product) -> str:
        """The product's name in the active language (a line's default description), read
        once per product: the language does not change while one request or batch runs."""
        if product.pk not in self._names:
            self._names[product.pk] = product.name
        return self._names[product.pk]

    def tax_spec(self, tax: Tax) -> calc.TaxSpec:
        if tax.pk not in self._specs:
            self._specs[tax.pk] = tax_spec(tax)
        return self._specs[tax.pk]

    def product_taxes(self, product: Product, direction: str) -> list[Tax]:
        key = (product.pk, str(direction))
        if key not in self._taxes:
            related = product.sale_taxes if direction == Direction.SALE else product.purchase_taxes
            self._taxes[key] = list(related.all())
        return self._taxes[key]


def _parse_lines(
    company: Company,
    direction: str,
    currency: str,
    raw_lines: Sequence[Mapping[str, Any]],
    errors: dict[str, list[str]],
    *,
    allow_negative: bool,
    lookups: Lookups | None = None,
) -> list[_Line]:
    lookups = lookups or Lookups(company)
    look = lookups.get
    lines: list[_Line] = []
    if len(raw_lines) > MAX_LINES:
        errors["lines"] = [_("At most %(n)d lines.") % {"n": MAX_LINES}]
        return lines
    allowed = {
        "description",
        "quantity",
        "unit",
        "unit_price",
        "discount",
        "taxes",
        "account",
        "product",
        "cost_centre",
    }
    scope = ("sale", "both") if direction == Direction.SALE else ("purchase", "both")
    for index, raw in enumerate(raw_lines, start=1):
        prefix = f"lines[{index}]"
        unknown = set(raw) - allowed
        for name in sorted(unknown):
            errors.setdefault(f"{prefix}.{name}", []).append(_("Unknown field."))
        product = look(Product, raw.get("product"))
        if raw.get("product") not in (None, "") and product is None:
            errors.setdefault(f"{prefix}.product", []).append(_("Unknown product."))
        description = str(raw.get("description") or "").strip()
        if not description and product is not None:
            description = lookups.product_name(product)
        if not description:
            errors.setdefault(f"{prefix}.description", []).append(_("Enter a description."))
        quantity = _decimal(raw.get("quantity"), f"{prefix}.quantity", errors, default="1")
        if quantity == 0:
            errors.setdefault(f"{prefix}.quantity", []).append(_("The quantity cannot be zero."))
        elif quantity < 0 and not allow_negative:
            errors.setdefault(f"{prefix}.quantity", []).append(
                _("Quantities cannot be negative; issue a credit note for returns.")
            )
        if abs(quantity) > MAX_QUANTITY or quantity.as_tuple().exponent < -4:  # type: ignore[operator]
            errors.setdefault(f"{prefix}.quantity", []).append(
                _("Use at most 11 digits and 4 decimals.")
            )
        given_price = raw.get("unit_price")
        if given_price in (None, "") and product is not None:
            unit_price = (
                product.sale_price if direction == Direction.SALE else product.purchase_price
            )
        else:
            price = _decimal(given_price, f"{prefix}.unit_price", errors)
            try:
                unit_price = calc.price_to_units(price, currency)
            except (ValueError, ArithmeticError):
                unit_price = 0
                errors.setdefault(f"{prefix}.unit_price", []).append(
                    _("Use at most %(n)d decimals.") % {"n": calc.price_scale(currency)}
                )
            if price < 0:
                errors.setdefault(f"{prefix}.unit_price", []).append(
                    _("The unit price cannot be negative.")
                )
        discount = _decimal(raw.get("discount"), f"{prefix}.discount", errors)
        if not Decimal(0) <= discount <= Decimal(100):
            errors.setdefault(f"{prefix}.discount", []).append(
                _("The discount is a percentage from 0 to 100.")
            )
        if "taxes" in raw:
            taxes = []
            for value in raw.get("taxes") or []:
                tax = look(Tax, value)
                if tax is None:
                    errors.setdefault(f"{prefix}.taxes", []).append(
                        _("Unknown tax %(tax)s.") % {"tax": value}
                    )
                elif tax.scope not in scope:
                    errors.setdefault(f"{prefix}.taxes", []).append(
                        _("The tax %(tax)s does not apply to this kind of invoice.")
                        % {"tax": tax.code}
                    )
                elif not tax.active:
                    errors.setdefault(f"{prefix}.taxes", []).append(
                        _("The tax %(tax)s is not active.") % {"tax": tax.code}
                    )
                else:
                    taxes.append(tax)
        elif product is not None:
            taxes = lookups.product_taxes(product, direction)
        else:
            taxes = []
        kinds = [t.kind for t in taxes]
        if kinds.count("vat") > 1:
            errors.setdefault(f"{prefix}.taxes", []).append(_("A line takes one VAT rate."))
        if len({t.id for t in taxes}) != len(taxes):
            errors.setdefault(f"{prefix}.taxes", []).append(_("A tax is repeated."))
        account = look(Account, raw.get("account"))
        if raw.get("account") not in (None, "") and account is None:
            errors.setdefault(f"{prefix}.account", []).append(_("Unknown account."))
        elif account is not None and (not account.postable or not account.active):
            errors.setdefault(f"{prefix}.account", []).append(
                _("Choose an active, postable account.")
            )
        cost_centre = look(CostCentre, raw.get("cost_centre"))
        if raw.get("cost_centre") not in (None, "") and cost_centre is None:
            errors.setdefault(f"{prefix}.cost_centre", []).append(_("Unknown cost centre."))
        unit = str(raw.get("unit") or (product.unit if product is not None else "C62"))
        if unit not in UNITS:
            errors.setdefault(f"{prefix}.unit", []).append(_("Unknown unit."))
        lines.append(
            _Line(
                description=description[:300],
                quantity=quantity,
                unit=unit,
                unit_price=unit_price,
                discount=discount,
                taxes=taxes,
                account=account,
                product=product,
                cost_centre=cost_centre,
            )
        )
    return lines


def tax_spec(tax: Tax) -> calc.TaxSpec:
    """A tax as the invoice arithmetic (:mod:`calc`) takes it."""
    return calc.TaxSpec(
        id=tax.pk,
        kind=tax.kind,
        rate=tax.rate,
        price_included=tax.price_included,
        reverse_charge=tax.reverse_charge,
        split_payment=tax.split_payment,
    )


def _totals(lines: Sequence[_Line], currency: str, lookups: Lookups | None = None) -> calc.Totals:
    spec = lookups.tax_spec if lookups is not None else tax_spec
    return calc.compute(
        [
            calc.LineInput(
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                taxes=tuple(spec(t) for t in line.taxes),
            )
            for line in lines
        ],
        currency,
    )


def _known_currency(code: str) -> bool:
    try:
        currency_exponent(code)
    except (ValueError, KeyError):
        return False
    return True


def _header(
    company: Company,
    direction: str,
    data: Mapping[str, Any],
    errors: dict[str, list[str]],
    lookups: Lookups | None = None,
) -> dict[str, Any]:
    """Validated header values (the ones given)."""
    look = (lookups or Lookups(company)).get
    values: dict[str, Any] = {}
    if "partner" in data:
        partner = look(Partner, data["partner"])
        if partner is None:
            errors["partner"] = [_("Choose a partner of this company.")]
        elif direction == Direction.SALE and not partner.is_customer:
            errors["partner"] = [_("%(partner)s is not a customer.") % {"partner": partner}]
        elif direction == Direction.PURCHASE and not partner.is_supplier:
            errors["partner"] = [_("%(partner)s is not a supplier.") % {"partner": partner}]
        values["partner"] = partner
    if "kind" in data:
        kind = data["kind"] or Invoice.Kind.INVOICE
        if kind not in Invoice.Kind.values:
            errors["kind"] = [_("Unknown kind of invoice.")]
        values["kind"] = kind
    if "series" in data:
        series = look(InvoiceSeries, data["series"])
        if data["series"] not in (None, "") and series is None:
            errors["series"] = [_("Choose a series of this company.")]
        values["series"] = series
    for name in ("date", "operation_date", "due_date"):
        if name in data:
            value = data[name]
            if isinstance(value, str) and value:
                try:
                    value = dt.date.fromisoformat(value)
                except ValueError:
                    errors[name] = [_("Enter a date as YYYY-MM-DD.")]
                    value = None
            if value in ("", None):
                value = None
            if name == "date" and value is None and name not in errors:
                errors[name] = [_("Enter a date.")]
            values[name] = value
    if "currency" in data:
        currency = str(data["currency"] or company.base_currency).upper()
        if not _known_currency(currency):
            errors["currency"] = [_("Unknown currency %(code)s.") % {"code": currency}]
            currency = company.base_currency
        values["currency"] = currency
    if "rate" in data:
        rate = _decimal(data["rate"], "rate", errors, default="1")
        if rate <= 0:
            errors["rate"] = [_("The exchange rate must be positive.")]
        values["rate"] = rate
    if "payment_term" in data:
        term = look(PaymentTerm, data["payment_term"])
        if data["payment_term"] not in (None, "") and term is None:
            errors["payment_term"] = [_("Choose a payment term of this company.")]
        values["payment_term"] = term
    if "rectifies" in data:
        original = data["rectifies"]
        if original not in (None, ""):
            original = look(Invoice, original)
            if original is None:
                errors["rectifies"] = [_("Choose an invoice of this company.")]
            elif (
                original.state != Invoice.State.ISSUED or original.kind == Invoice.Kind.CREDIT_NOTE
            ):
                errors["rectifies"] = [_("Only an issued invoice can be rectified.")]
            elif original.direction != direction:
                errors["rectifies"] = [_("Choose an invoice of the same direction.")]
        values["rectifies"] = original or None
    for name in ("rectification_reason", "supplier_reference", "notes", "language"):
        if name in data:
            values[name] = str(data[name] or "").strip()
    if "attachment" in data:
        values["attachment"] = data["attachment"] or None
        if values["attachment"] is not None and values["attachment"].company_id != company.pk:
            errors["attachment"] = [_("Choose a document of this company.")]
    return values


def _check_draft(invoice: Invoice, errors: dict[str, list[str]]) -> None:
    if invoice.kind == Invoice.Kind.CREDIT_NOTE and invoice.rectifies_id is None:
        errors.setdefault("rectifies", []).append(
            _("A credit note names the invoice it rectifies.")
        )
    if invoice.rectifies_id is not None and invoice.kind != Invoice.Kind.CREDIT_NOTE:
        errors.setdefault("kind", []).append(_("Only a credit note rectifies an invoice."))
    original = invoice.rectifies
    if original is not None and original.partner_id != invoice.partner_id:
        errors.setdefault("partner", []).append(
            _("A credit note goes to the partner of the invoice it rectifies.")
        )
    if invoice.direction == Direction.PURCHASE and invoice.kind == Invoice.Kind.SIMPLIFIED:
        errors.setdefault("kind", []).append(_("Supplier bills are invoices or credit notes."))
    series = invoice.series
    if series is not None:
        expected = {
            Invoice.Kind.INVOICE: InvoiceSeries.Kind.INVOICE,
            Invoice.Kind.CREDIT_NOTE: InvoiceSeries.Kind.CREDIT_NOTE,
            Invoice.Kind.SIMPLIFIED: InvoiceSeries.Kind.SIMPLIFIED,
        }[invoice.kind]  # type: ignore[index]
        if series.kind != expected:
            errors.setdefault("series", []).append(
                _("The series %(series)s is for %(kind)s.")
                % {"series": series.code, "kind": series.get_kind_display()}
            )
    if (
        invoice.operation_date
        and invoice.date
        and invoice.operation_date > invoice.date + dt.timedelta(days=366)
    ):
        errors.setdefault("operation_date", []).append(_("The operation date is too far ahead."))


def _store_lines(invoice: Invoice, lines: Sequence[_Line]) -> None:
    """Replace the draft's lines and tax breakdown and recompute its totals."""
    totals = _totals(lines, invoice.currency)
    InvoiceLine.objects.filter(invoice=invoice).delete()
    InvoiceTax.objects.filter(invoice=invoice).delete()
    for number, (line, net) in enumerate(zip(lines, totals.line_nets, strict=True), start=1):
        row = InvoiceLine.objects.create(
            company=invoice.company,
            invoice=invoice,
            line_no=number,
            product=line.product,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            discount=line.discount,
            account=line.account,
            cost_centre=line.cost_centre,
            net_amount=net,
        )
        if line.taxes:
            row.taxes.set(line.taxes)
    for tax_row in totals.taxes:
        InvoiceTax.objects.create(
            company=invoice.company,
            invoice=invoice,
            tax_id=tax_row.tax.id,
            base=tax_row.base,
            amount=tax_row.amount,
        )
    invoice.net_amount = totals.net
    invoice.tax_amount = totals.tax
    invoice.withholding_amount = totals.withholding
    invoice.total_amount = totals.total
    invoice.payable_amount = totals.payable
    invoice.open_amount = totals.payable
    if invoice.total_amount > 10**15:
        raise _fail("lines", _("The invoice total is too large."))


def invoice_create_draft(
    *,
    company: Company,
    direction: str,
    partner: Any,
    date: Any,
    lines: Sequence[Mapping[str, Any]] = (),
    **data: Any,
) -> Invoice:
    """A draft invoice or bill: no number, editable, deletable. Defaults come from the
    partner (currency, payment term, language)."""
    errors: dict[str, list[str]] = {}
    unknown = set(data) - set(HEADER_FIELDS)
    for name in sorted(unknown):
        errors[name] = [_("Unknown field.")]
    if direction not in Direction.values:
        raise _fail("direction", _("Choose sale or purchase."))
    values = _header(company, direction, {**data, "partner": partner, "date": date}, errors)
    partner_obj: Partner | None = values.get("partner")
    currency = values.get("currency") or (
        (partner_obj.currency if partner_obj is not None else "") or company.base_currency
    )
    if partner_obj is not None and partner_obj.blocked and direction == Direction.SALE:
        errors.setdefault("partner", []).append(
            _("%(partner)s is blocked: no new invoices until the block is lifted.")
            % {"partner": partner_obj}
        )
    parsed = _parse_lines(
        company,
        direction,
        currency,
        list(lines),
        errors,
        allow_negative=direction == Direction.PURCHASE,
    )
    _raise(errors)
    user = context.current().user
    invoice = Invoice(
        company=company,
        direction=direction,
        partner=partner_obj,
        date=values["date"],
        kind=values.get("kind") or Invoice.Kind.INVOICE,
        series=values.get("series"),
        operation_date=values.get("operation_date"),
        due_date=values.get("due_date"),
        currency=currency,
        rate=values.get("rate") or Decimal(1),
        payment_term=values.get("payment_term")
        or (partner_obj.payment_term if partner_obj is not None else None),
        rectifies=values.get("rectifies"),
        rectification_reason=values.get("rectification_reason", ""),
        supplier_reference=values.get("supplier_reference", ""),
        notes=values.get("notes", ""),
        language=values.get("language") or (partner_obj.language if partner_obj else ""),
        attachment=values.get("attachment"),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if currency == company.base_currency:
        invoice.rate = Decimal(1)
    _check_draft(invoice, errors)
    _check_supplier_reference(invoice, errors)
    _raise(errors)
    with transaction.atomic():
        invoice.save()
        _store_lines(invoice, parsed)
        invoice.save()
    return invoice


def _check_supplier_reference(invoice: Invoice, errors: dict[str, list[str]]) -> None:
    if invoice.direction != Direction.PURCHASE or not invoice.supplier_reference:
        return
    clash = (
        Invoice.objects.for_company(invoice.company)
        .filter(
            direction=Direction.PURCHASE,
            partner=invoice.partner,
            supplier_reference=invoice.supplier_reference,
        )
        .exclude(pk=invoice.pk)
        .first()
    )
    if clash is not None:
        errors.setdefault("supplier_reference", []).append(
            _("This supplier's bill %(number)s is already recorded.")
            % {"number": invoice.supplier_reference}
        )


def _editable(instance: Invoice) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=instance.pk)
    if invoice.state == Invoice.State.ISSUED:
        raise _fail("state", _("An issued invoice cannot change; issue a credit note."))
    return invoice


def invoice_update_draft(
    *, instance: Invoice, lines: Sequence[Mapping[str, Any]] | None = None, **data: Any
) -> Invoice:
    """Change a draft (an approved or submitted bill goes back to draft: approval is lost)."""
    company = instance.company
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(HEADER_FIELDS)):
        errors[name] = [_("Unknown field.")]
    values = _header(company, instance.direction, data, errors)
    _raise(errors)
    with transaction.atomic():
        invoice = _editable(instance)
        for name, value in values.items():
            setattr(invoice, name, value)
        if invoice.currency == company.base_currency:
            invoice.rate = Decimal(1)
        _check_draft(invoice, errors)
        _check_supplier_reference(invoice, errors)
        parsed = None
        if lines is not None:
            parsed = _parse_lines(
                company,
                invoice.direction,
                invoice.currency,
                list(lines),
                errors,
                allow_negative=invoice.direction == Direction.PURCHASE,
            )
        _raise(errors)
        if parsed is not None:
            _store_lines(invoice, parsed)
        elif "currency" in values:
            _store_lines(invoice, _lines_of(invoice))
        if invoice.state != Invoice.State.DRAFT:
            invoice.state = Invoice.State.DRAFT
            invoice.approved_by = None
            invoice.approved_at = None
        invoice.save()
    instance.refresh_from_db()
    return invoice


def _lines_of(invoice: Invoice) -> list[_Line]:
    return [
        _Line(
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            discount=line.discount,
            taxes=list(line.taxes.all()),
            account=line.account,
            product=line.product,
            cost_centre=line.cost_centre,
        )
        for line in invoice.lines.select_related("account", "product", "cost_centre").order_by(
            "line_no"
        )
    ]


def invoice_delete_draft(*, instance: Invoice) -> None:
    """Delete a draft: it has no number, so no hole is left."""
    with transaction.atomic():
        invoice = _editable(instance)
        from trastienda.billing.models import RecurringInvoice

        if RecurringInvoice.objects.filter(template=invoice).exists():
            raise _fail("state", _("This draft is the template of a recurring invoice."))
        invoice.delete()


def invoice_duplicate(*, instance: Invoice, date: dt.date | None = None) -> Invoice:
    """A new draft with the same partner and lines (no number: duplicating leaves no hole)."""
    lines = _lines_of(instance)
    with transaction.atomic():
        copy = Invoice(
            company=instance.company,
            direction=instance.direction,
            kind=instance.kind
            if instance.kind != Invoice.Kind.CREDIT_NOTE
            else Invoice.Kind.INVOICE,
            partner=instance.partner,
            series=instance.series if instance.kind != Invoice.Kind.CREDIT_NOTE else None,
            date=date or timezone.localdate(),
            currency=instance.currency,
            rate=instance.rate,
            payment_term=instance.payment_term,
            notes=instance.notes,
            language=instance.language,
        )
        user = context.current().user
        copy.created_by = user if getattr(user, "is_authenticated", False) else None
        copy.save()
        _store_lines(copy, lines)
        copy.save()
    return copy


def credit_note_create(
    *,
    instance: Invoice,
    date: dt.date | None = None,
    reason: str = "",
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> Invoice:
    """A draft credit note rectifying an issued invoice: all of it, or the ``lines`` given."""
    if instance.state != Invoice.State.ISSUED or instance.kind == Invoice.Kind.CREDIT_NOTE:
        raise _fail("rectifies", _("Only an issued invoice can be rectified."))
    if not (reason or "").strip():
        raise _fail("rectification_reason", _("Give the reason for the rectification."))
    company = instance.company
    series = None
    if instance.direction == Direction.SALE:
        series = (
            InvoiceSeries.objects.for_company(company)
            .filter(kind=InvoiceSeries.Kind.CREDIT_NOTE, active=True)
            .order_by("code")
            .first()
        )
    raw = lines
    if raw is None:
        raw = [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": calc.units_to_price(line.unit_price, instance.currency),
                "discount": line.discount,
                "taxes": list(line.taxes.all()),
                "account": line.account,
                "product": line.product,
                "cost_centre": line.cost_centre,
            }
            for line in instance.lines.order_by("line_no")
        ]
    return invoice_create_draft(
        company=company,
        direction=instance.direction,
        partner=instance.partner,
        date=date or timezone.localdate(),
        lines=raw,
        kind=Invoice.Kind.CREDIT_NOTE,
        series=series,
        currency=instance.currency,
        rate=instance.rate,
        rectifies=instance,
        rectification_reason=reason,
        language=instance.language,
    )


# --- approval of supplier bills -------------------------------------------------------------


def bill_needs_approval(invoice: Invoice) -> bool:
    """Whether posting this bill needs a second person's approval (total at or above the
    threshold of the billing settings, in the company currency)."""
    if invoice.direction != Direction.PURCHASE:
        return False
    threshold = billing_settings(invoice.company).approval_threshold
    return threshold is not None and _base_amount(invoice, invoice.total_amount) >= threshold


def bill_submit(*, instance: Invoice) -> Invoice:
    """Send a draft bill for approval."""
    with transaction.atomic():
        invoice = _editable(instance)
        if invoice.direction != Direction.PURCHASE:
            raise _fail("direction", _("Only supplier bills are approved."))
        if invoice.state != Invoice.State.DRAFT:
            raise _fail("state", _("The bill is not a draft."))
        if not invoice.lines.exists():
            raise _fail("lines", _("Add at least one line."))
        invoice.state = Invoice.State.TO_APPROVE
        invoice.save()
    return invoice


def bill_approve(*, instance: Invoice, user: Any) -> Invoice:
    """Approve a bill. The approver must be another person than the one who entered it."""
    with transaction.atomic():
        invoice = _editable(instance)
        if invoice.direction != Direction.PURCHASE or invoice.state not in (
            Invoice.State.TO_APPROVE,
            Invoice.State.DRAFT,
        ):
            raise _fail("state", _("Only a bill awaiting approval can be approved."))
        if not getattr(user, "is_authenticated", False):
            raise _fail("approved_by", _("Sign in to approve."))
        if invoice.created_by_id is not None and invoice.created_by_id == user.pk:
            raise _fail("approved_by", _("The person who entered a bill cannot approve it."))
        invoice.state = Invoice.State.APPROVED
        invoice.approved_by = user
        invoice.approved_at = timezone.now()
        invoice.save()
    return invoice


def bill_reject(*, instance: Invoice, reason: str = "") -> Invoice:
    """Send a bill awaiting approval back to draft."""
    with transaction.atomic():
        invoice = _editable(instance)
        if invoice.state not in (Invoice.State.TO_APPROVE, Invoice.State.APPROVED):
            raise _fail("state", _("Only a bill awaiting approval can be sent back."))
        invoice.state = Invoice.State.DRAFT
        invoice.approved_by = None
        invoice.approved_at = None
        if reason:
            invoice.notes = (invoice.notes + "\n" + reason).strip()
        invoice.save()
    return invoice


# --- issuing --------------------------------------------------------------------------------


def _base_amount(invoice: Invoice, amount: int) -> int:
    """``amount`` of the invoice currency in the company currency (rate, half up)."""
    if invoice.currency == invoice.company.base_currency:
        return amount
    value = Money(amount, invoice.currency).to_decimal() * invoice.rate
    return Money.from_decimal_rounded(value, invoice.company.base_currency, ROUND_HALF_UP).minor


def _fiscal_year(company: Company, date: dt.date) -> FiscalYear | None:
    return (
        FiscalYear.objects.for_company(company)
        .filter(start_date__lte=date, end_date__gte=date)
        .first()
    )


def _default_series(invoice: Invoice) -> InvoiceSeries | None:
    kind = {
        Invoice.Kind.INVOICE: InvoiceSeries.Kind.INVOICE,
        Invoice.Kind.CREDIT_NOTE: InvoiceSeries.Kind.CREDIT_NOTE,
        Invoice.Kind.SIMPLIFIED: InvoiceSeries.Kind.SIMPLIFIED,
    }[invoice.kind]  # type: ignore[index]
    return (
        InvoiceSeries.objects.for_company(invoice.company)
        .filter(kind=kind, active=True)
        .order_by("code")
        .first()
    )


def _take_number(invoice: Invoice, year: int) -> int:
    """Bump the series' sequence row for ``year`` (created on first use) and return the
    number; refuses a date before the last one issued. The row stays locked until commit,
    so concurrent issues in a series queue here (before the ledger's own locks)."""
    series = invoice.series
    if series is None:  # pragma: no cover - _issue chose one
        raise _fail("series", _("Choose a series for the number."))
    sql = (
        "UPDATE billing_seriessequence SET last_number = last_number + 1"
        " WHERE series_id = %s AND year = %s RETURNING last_number, last_date"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [series.pk, year])
        row = cursor.fetchone()
        if row is None:
            try:
                with transaction.atomic():
                    SeriesSequence.objects.create(company=invoice.company, series=series, year=year)
            except IntegrityError:
                pass  # created by a concurrent issue: bump it below
            cursor.execute(sql, [series.pk, year])
            row = cursor.fetchone()
    number, last_date = int(row[0]), row[1]
    if isinstance(last_date, str):
        last_date = dt.date.fromisoformat(last_date)
    if last_date is not None and invoice.date < last_date:
        raise _fail(
            "date",
            _(
                "The date cannot be before %(date)s, the date of the last invoice of series "
                "%(series)s: numbers and dates go up together."
            )
            % {"date": last_date.isoformat(), "series": series.code},
        )
    SeriesSequence.objects.filter(series=series, year=year).update(last_date=invoice.date)
    return number


def _receivable_account(
    invoice: Invoice, settings: BillingSettings | None = None
) -> Account | None:
    partner = invoice.partner
    settings = settings or billing_settings(invoice.company)
    if invoice.direction == Direction.SALE:
        return partner.receivable_account or settings.customer_account
    return partner.payable_account or settings.supplier_account


def _line_account(invoice: Invoice, line: Any, settings: BillingSettings) -> Account | None:
    if line.account is not None:
        return line.account
    product = line.product
    partner = invoice.partner
    if invoice.direction == Direction.SALE:
        return (
            (product.income_account if product else None)
            or partner.income_account
            or settings.income_account
        )
    return (
        (product.expense_account if product else None)
        or partner.expense_account
        or settings.expense_account
    )


def installments_plan(invoice: Invoice) -> list[tuple[dt.date, int]]:
    """Due dates and amounts of the amount due: the invoice's due date, or its payment term."""
    amount = invoice.payable_amount
    if invoice.due_date is not None:
        return [(invoice.due_date, amount)]
    term = invoice.payment_term
    days = term.day_list() if term is not None else [0]
    parts = calc.split_installments(amount, len(days))
    plan = []
    for offset, part in zip(days, parts, strict=True):
        due = invoice.date + dt.timedelta(days=offset)
        if term is not None and term.end_of_month:
            due = due.replace(day=calendar.monthrange(due.year, due.month)[1])
        plan.append((due, part))
    return plan


@dataclass
class PreparedLine:
    """What the entry needs of an invoice line (saved or about to be)."""

    line_no: int
    account: Account | None
    product: Product | None
    cost_centre: CostCentre | None
    net_amount: int
    tax_list: list[Tax]

    @property
    def cost_centre_id(self) -> int | None:
        return self.cost_centre.pk if self.cost_centre is not None else None


@dataclass
class PreparedTax:
    tax: Tax
    base: int
    amount: int


def _prepared(invoice: Invoice) -> tuple[list[PreparedLine], list[PreparedTax]]:
    lines = [
        PreparedLine(
            line.line_no,
            line.account,
            line.product,
            line.cost_centre,
            line.net_amount,
            list(line.taxes.all()),
        )
        for line in invoice.lines.select_related("account", "product", "cost_centre")
        .prefetch_related("taxes")
        .order_by("line_no")
    ]
    taxes = [
        PreparedTax(row.tax, row.base, row.amount)
        for row in invoice.tax_lines.select_related(
            "tax", "tax__sale_account", "tax__purchase_account", "tax__reverse_charge_account"
        )
    ]
    return lines, taxes


def _entry_lines(
    invoice: Invoice,
    plan: list[tuple[dt.date, int]],
    prepared: tuple[list[PreparedLine], list[PreparedTax]] | None = None,
    settings: BillingSettings | None = None,
) -> list[dict[str, Any]]:
    """The journal entry of an invoice or bill, as lines for the ledger's posting service.

    Sales: receivable (one line per due date) and withholding suffered on the debit side;
    income per account and cost centre and each output tax on the credit side; split-payment
    VAT is booked and cancelled against the receivable. Bills mirror it; a purchase tax
    without an account is not deductible and goes to the expense lines; reverse charge books
    the input and the output tax. Credit notes swap every side.
    """
    company = invoice.company
    base = company.base_currency
    foreign = invoice.currency != base
    sale = invoice.direction == Direction.SALE
    sign = invoice.sign * (1 if sale else -1)  # +1: the partner's line is a debit
    errors: dict[str, list[str]] = {}
    rows: list[tuple[Account, int, str, dict[str, Any]]] = []  # (account, signed, text, extra)
    settings = settings or billing_settings(company)
    lines, tax_rows = prepared or _prepared(invoice)
    by_account: dict[tuple[int, int | None], list[Any]] = {}
    nondeductible: dict[int, int] = defaultdict(int)  # tax id -> amount
    for line in lines:
        account = _line_account(invoice, line, settings)
        if account is None:
            errors.setdefault(f"lines[{line.line_no}].account", []).append(
                _("Choose an account (no default account is set).")
            )
            continue
        key = (account.pk, line.cost_centre_id)
        if key not in by_account:
            by_account[key] = [account, 0, line.cost_centre]
        by_account[key][1] += line.net_amount
    for row in tax_rows:
        tax = row.tax
        account = tax.sale_account if sale else tax.purchase_account
        if tax.kind == Tax.Kind.WITHHOLDING:
            if account is None:
                errors.setdefault("taxes", []).append(
                    _("The tax %(tax)s has no account.") % {"tax": tax.code}
                )
                continue
            rows.append((account, -sign * -row.amount, tax.code, {}))  # same side as partner
            continue
        if account is None:
            if sale:
                errors.setdefault("taxes", []).append(
                    _("The tax %(tax)s has no account.") % {"tax": tax.code}
                )
            else:
                nondeductible[tax.pk] += row.amount
            continue
        if row.amount == 0:
            continue
        rows.append((account, -sign * row.amount, tax.code, {}))
        if tax.reverse_charge and not sale:
            if tax.reverse_charge_account is None:
                errors.setdefault("taxes", []).append(
                    _("The reverse-charge tax %(tax)s has no output tax account.")
                    % {"tax": tax.code}
                )
            else:
                rows.append((tax.reverse_charge_account, sign * row.amount, tax.code, {}))
        if tax.split_payment and sale:
            rows.append((account, sign * row.amount, tax.code, {}))
    _raise(errors)

    # Non-deductible taxes join the expense lines of the lines that carry them.
    extra_by_key: dict[tuple[int, int | None], int] = defaultdict(int)
    if nondeductible:
        for tax_id, amount in nondeductible.items():
            keys, weights = [], []
            for line in lines:
                if any(t.pk == tax_id for t in line.tax_list):
                    account = _line_account(invoice, line, settings)
                    if account is not None:
                        keys.append((account.pk, line.cost_centre_id))
                        weights.append(abs(line.net_amount) or 1)
            if not keys:
                continue
            for key, part in zip(
                keys, Money(amount, invoice.currency).allocate(weights), strict=True
            ):
                extra_by_key[key] += part.minor
    for key, (account, net, centre) in by_account.items():
        amount = net + extra_by_key.get(key, 0)
        if amount:
            rows.append((account, -sign * amount, "", {"cost_centre": centre}))

    partner_account = _receivable_account(invoice, settings)
    if partner_account is None:
        raise _fail(
            "partner",
            _("Set the partner's receivable or payable account, or a default in the settings."),
        )

    def company_amount(amount: int) -> int:
        return _base_amount(invoice, amount)

    result: list[dict[str, Any]] = []
    company_total = 0
    for account, signed, text, extra in rows:
        base_amount = company_amount(abs(signed)) * (1 if signed > 0 else -1)
        company_total += base_amount
        result.append(_ledger_line(account, signed, base_amount, invoice, text, extra))
    # The partner's lines take the rest, so the entry balances in both currencies.
    partner_total = -company_total
    weights = [abs(amount) or 1 for _due, amount in plan]
    parts = (
        Money(abs(partner_total), base).allocate(weights)
        if partner_total
        else [Money(0, base) for _ in plan]
    )
    for (due, amount), part in zip(plan, parts, strict=True):
        signed = sign * amount
        base_amount = part.minor * (1 if partner_total >= 0 else -1)
        if signed == 0 and base_amount == 0:
            continue
        result.append(
            _ledger_line(
                partner_account,
                signed,
                base_amount,
                invoice,
                "",
                {"partner": invoice.partner.code, "due_date": due},
            )
        )
    if not foreign:
        for entry_line in result:
            entry_line.pop("amount_currency", None)
            entry_line.pop("currency", None)
    return result


def _ledger_line(
    account: Account,
    signed: int,
    base_amount: int,
    invoice: Invoice,
    text: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    base = invoice.company.base_currency
    # Decimal text: the ledger reads it with integer arithmetic (exact, and fast in bulk).
    value = minor_text(abs(base_amount), base)
    line: dict[str, Any] = {
        "account": account,
        "debit": value if base_amount > 0 else "",
        "credit": value if base_amount < 0 else "",
        "currency": invoice.currency,
        "amount_currency": minor_text(signed, invoice.currency),
        "description": text,
    }
    for key, value_ in extra.items():
        if value_ is not None:
            line[key] = value_
    if "partner" not in line:
        line["partner"] = invoice.partner.code
    return line


def invoice_issue(*, instance: Invoice, allow_before_lock: bool = False) -> Invoice:
    """Issue a sales invoice (or post a supplier bill): number it in its series, post its
    journal entry and open its instalments, in one transaction. On any error nothing is
    written and no number is consumed."""
    with transaction.atomic():
        invoice = _editable(instance)
        return _issue(invoice, allow_before_lock)


def _issue(invoice: Invoice, allow_before_lock: bool) -> Invoice:
    company = invoice.company
    errors: dict[str, list[str]] = {}
    _check_draft(invoice, errors)
    lines = list(invoice.lines.all())
    if not lines:
        errors.setdefault("lines", []).append(_("Add at least one line."))
    if invoice.total_amount == 0 and invoice.net_amount == 0:
        errors.setdefault("lines", []).append(_("The invoice has no amount."))
    partner = invoice.partner
    sale = invoice.direction == Direction.SALE
    if sale and partner.blocked and invoice.kind != Invoice.Kind.CREDIT_NOTE:
        errors.setdefault("partner", []).append(
            _("%(partner)s is blocked: no new invoices until the block is lifted.")
            % {"partner": partner}
        )
    if (
        sale
        and not partner.tax_id
        and invoice.kind == Invoice.Kind.INVOICE
        and company.country in ("ES", "IT")
    ):
        errors.setdefault("partner", []).append(
            _("A full invoice needs the customer's tax id; issue a simplified invoice instead.")
        )
    if invoice.direction == Direction.PURCHASE:
        if not invoice.supplier_reference:
            errors.setdefault("supplier_reference", []).append(
                _("Enter the supplier's number of the bill.")
            )
        if bill_needs_approval(invoice) and invoice.state != Invoice.State.APPROVED:
            errors.setdefault("state", []).append(
                _("This bill needs a second person's approval before posting.")
            )
    if sale and invoice.kind != Invoice.Kind.CREDIT_NOTE and partner.credit_limit is not None:
        exposure = _open_exposure(partner) + _base_amount(invoice, invoice.payable_amount)
        if exposure > partner.credit_limit:
            errors.setdefault("partner", []).append(
                _("This invoice takes %(partner)s over its credit limit of %(limit)s.")
                % {
                    "partner": partner.code,
                    "limit": Money(partner.credit_limit, company.base_currency),
                }
            )
    year = _fiscal_year(company, invoice.date)
    if year is None:
        errors.setdefault("date", []).append(_("No fiscal year covers the date."))
    if sale and invoice.series_id is None:
        invoice.series = _default_series(invoice)
        if invoice.series is None:
            errors.setdefault("series", []).append(_("Choose a series for the number."))
    _raise(errors)
    if year is None or (sale and invoice.series is None):  # pragma: no cover - reported above
        raise _fail("date", _("No fiscal year covers the date."))
    journal: Journal
    if sale:
        series = cast(InvoiceSeries, invoice.series)
        number = _take_number(invoice, year.start_date.year)
        invoice.sequence_year = year.start_date.year
        invoice.sequence_number = number
        invoice.number = series.number_format.format(
            code=series.code, year=year.name, number=number
        )
        journal = series.journal
    else:
        found = (
            Journal.objects.for_company(company)
            .filter(type=Journal.Type.PURCHASES, active=True)
            .order_by("code")
            .first()
        )
        if found is None:
            raise _fail("journal", _("Create an active purchases journal."))
        journal = found
    plan = installments_plan(invoice)
    entry_lines = _entry_lines(invoice, plan)
    reference = invoice.number or invoice.supplier_reference
    kind_label = invoice.get_kind_display()
    try:
        entry = entry_create_posted(
            company=company,
            journal=journal,
            date=invoice.date,
            reference=reference[:100],
            description=f"{kind_label} {reference} · {partner.legal_name}"[:300],
            lines=entry_lines,
            allow_before_lock=allow_before_lock,
        )
    except ValidationError as exc:
        raise ValidationError(
            {
                "entry": [
                    _("The journal entry cannot be posted: %(why)s")
                    % {"why": " ".join(exc.messages)}
                ]
            }
        ) from exc
    invoice.entry = entry
    invoice.state = Invoice.State.ISSUED
    invoice.issued_at = timezone.now()
    if invoice.due_date is None:
        invoice.due_date = max(due for due, _amount in plan)
    sign = invoice.sign
    Installment.objects.bulk_create(
        Installment(
            company=company,
            invoice=invoice,
            partner=partner,
            direction=invoice.direction,
            due_date=due,
            amount=sign * amount,
            open_amount=sign * amount,
            open_base=sign * _base_amount(invoice, amount),
        )
        for due, amount in plan
    )
    invoice.open_amount = invoice.payable_amount
    invoice.save()
    if invoice.rectifies_id is not None:
        _offset_credit_note(invoice)
    return invoice


def _open_exposure(partner: Partner) -> int:
    from django.db.models import Sum

    total = (
        Installment.objects.filter(partner=partner, direction=Direction.SALE)
        .exclude(open_amount=0)
        .aggregate(total=Sum("open_base"))["total"]
    )
    return int(total or 0)


def _offset_credit_note(credit_note: Invoice) -> None:
    """A credit note settles what is open of the invoice it rectifies (same partner, same
    account: no entry needed); what is left stays as the partner's credit."""
    original = Invoice.objects.select_for_update().get(pk=credit_note.rectifies_id)
    amount = min(original.open_amount, credit_note.open_amount)
    if amount <= 0:
        return
    _settle(original, amount)
    _settle(credit_note, amount)


def _settle(invoice: Invoice, amount: int) -> None:
    """Reduce what is open of ``invoice`` by ``amount`` (positive; negative reopens), its
    instalments in due-date order (reopened in reverse), and update its payment state."""
    installments = list(
        Installment.objects.select_for_update().filter(invoice=invoice).order_by("due_date", "id")
    )
    sign = invoice.sign
    remaining = amount
    if amount >= 0:
        for item in installments:
            if remaining == 0:
                break
            take = min(abs(item.open_amount), remaining)
            if take == 0:
                continue
            item.open_amount -= sign * take
            remaining -= take
    else:
        remaining = -amount
        for item in reversed(installments):
            if remaining == 0:
                break
            room = abs(item.amount) - abs(item.open_amount)
            give = min(room, remaining)
            if give == 0:
                continue
            item.open_amount += sign * give
            remaining -= give
    if remaining:
        raise _fail(
            "amount",
            _("%(amount)s is more than what is open of %(invoice)s.")
            % {"amount": Money(abs(amount), invoice.currency), "invoice": invoice},
        )
    for item in installments:
        item.open_base = sign * _base_amount(invoice, abs(item.open_amount))
    Installment.objects.bulk_update(installments, ["open_amount", "open_base"])
    invoice.open_amount -= amount
    if invoice.open_amount == 0:
        invoice.payment_state = Invoice.PaymentState.PAID
    elif invoice.open_amount < invoice.payable_amount:
        invoice.payment_state = Invoice.PaymentState.PARTLY_PAID
    else:
        invoice.payment_state = Invoice.PaymentState.UNPAID
    invoice.save(update_fields=["open_amount", "payment_state"])


# --- payments -------------------------------------------------------------------------------


def _amount(value: Any, currency: str, field: str, errors: dict[str, list[str]]) -> int:
    if isinstance(value, Money):
        if value.currency != currency:
            errors.setdefault(field, []).append(_("Use %(code)s.") % {"code": currency})
            return 0
        return value.minor
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # already minor units
    number = _decimal(value, field, errors)
    try:
        return Money.from_decimal(number, currency).minor
    except ValueError:
        errors.setdefault(field, []).append(
            _("Use at most %(n)d decimals.") % {"n": currency_exponent(currency)}
        )
        return 0


def payment_create(
    *,
    company: Company,
    direction: str,
    partner: Any,
    date: Any,
    amount: Any,
    bank_account: Any,
    allocations: Sequence[Mapping[str, Any]] = (),
    currency: str | None = None,
    rate: Any = None,
    journal: Any = None,
    reference: str = "",
    write_off: bool = False,
    keep_credit: bool = True,
) -> Payment:
    """Record and post a payment received (``sale``) or made (``purchase``).

    ``allocations``: ``[{"invoice": Invoice or pk, "amount": Decimal}]``, what the payment
    settles of each invoice (its currency). What is left of the payment is kept as the
    partner's credit (refused when ``keep_credit`` is false). ``write_off``: the difference
    between the allocations and the payment, at most the settings' write-off limit, is booked
    to the write-off account and the invoices are settled in full.
    """
    errors: dict[str, list[str]] = {}
    if direction not in Direction.values:
        raise _fail("direction", _("Choose sale or purchase."))
    partner_obj = _company_object(Partner, company, partner)
    if partner_obj is None:
        errors["partner"] = [_("Choose a partner of this company.")]
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date)
        except ValueError:
            errors["date"] = [_("Enter a date as YYYY-MM-DD.")]
    if not isinstance(date, dt.date):
        errors.setdefault("date", [_("Enter a date.")])
    currency = str(currency or company.base_currency).upper()
    if not _known_currency(currency):
        errors["currency"] = [_("Unknown currency %(code)s.") % {"code": currency}]
        currency = company.base_currency
    cash = _amount(amount, currency, "amount", errors)
    if cash <= 0 and "amount" not in errors:
        errors["amount"] = [_("The amount must be positive.")]
    pay_rate = Decimal(1)
    if currency != company.base_currency:
        pay_rate = _decimal(rate, "rate", errors, default="0")
        if pay_rate <= 0 and "rate" not in errors:
            errors["rate"] = [_("Enter the exchange rate of the payment.")]
    bank = _company_object(Account, company, bank_account)
    if bank is None:
        errors["bank_account"] = [_("Choose a bank or cash account of this company.")]
    elif not bank.postable or not bank.active:
        errors["bank_account"] = [_("Choose an active, postable account.")]
    journal_obj = (
        _company_object(Journal, company, journal)
        if journal
        else (
            Journal.objects.for_company(company)
            .filter(type=Journal.Type.BANK, active=True)
            .order_by("code")
            .first()
        )
    )
    if journal_obj is None:
        errors["journal"] = [_("Choose a bank journal.")]
    parsed: list[tuple[Invoice, int]] = []
    seen: set[int] = set()
    for index, raw in enumerate(allocations, start=1):
        prefix = f"allocations[{index}]"
        invoice = _company_object(Invoice, company, raw.get("invoice"))
        if invoice is None:
            errors.setdefault(f"{prefix}.invoice", []).append(_("Unknown invoice."))
            continue
        if invoice.pk in seen:
            errors.setdefault(f"{prefix}.invoice", []).append(_("The invoice is repeated."))
        seen.add(invoice.pk)
        if invoice.state != Invoice.State.ISSUED:
            errors.setdefault(f"{prefix}.invoice", []).append(_("The invoice is not issued."))
        if partner_obj is not None and invoice.partner_id != partner_obj.pk:
            errors.setdefault(f"{prefix}.invoice", []).append(
                _("%(invoice)s is of another partner.") % {"invoice": invoice}
            )
        if invoice.direction != direction:
            errors.setdefault(f"{prefix}.invoice", []).append(
                _("%(invoice)s is not of this direction.") % {"invoice": invoice}
            )
        if invoice.kind == Invoice.Kind.CREDIT_NOTE:
            errors.setdefault(f"{prefix}.invoice", []).append(
                _("Credit notes are settled against their invoice, not paid.")
            )
        if invoice.currency != currency:
            errors.setdefault(f"{prefix}.invoice", []).append(
                _("%(invoice)s is in %(code)s.") % {"invoice": invoice, "code": invoice.currency}
            )
        value = raw.get("amount")
        settled = (
            invoice.open_amount
            if value in (None, "")
            else _amount(value, invoice.currency, f"{prefix}.amount", errors)
        )
        if settled <= 0 and f"{prefix}.amount" not in errors:
            errors.setdefault(f"{prefix}.amount", []).append(_("The amount must be positive."))
        if settled > invoice.open_amount:
            errors.setdefault(f"{prefix}.amount", []).append(
                _("Only %(open)s is open of %(invoice)s.")
                % {"open": Money(invoice.open_amount, invoice.currency), "invoice": invoice}
            )
        parsed.append((invoice, settled))
    _raise(errors)
    partner_obj = cast(Partner, partner_obj)
    bank = cast(Account, bank)
    journal_obj = cast(Journal, journal_obj)
    settled_total = sum(amount for _invoice, amount in parsed)
    settings = billing_settings(company)
    write_off_amount = 0
    unallocated = cash - settled_total
    if write_off:
        if not parsed:
            raise _fail("write_off", _("A write-off needs invoices to settle."))
        write_off_amount = settled_total - cash  # > 0: paid short; < 0: paid over
        if abs(write_off_amount) > settings.write_off_limit:
            raise _fail(
                "write_off",
                _("The difference %(diff)s is more than the write-off limit %(limit)s.")
                % {
                    "diff": Money(abs(write_off_amount), currency),
                    "limit": Money(settings.write_off_limit, company.base_currency),
                },
            )
        account = (
            settings.write_off_expense_account
            if write_off_amount > 0
            else settings.write_off_income_account
        )
        if write_off_amount and account is None:
            raise _fail("write_off", _("Set the write-off accounts in the billing settings."))
        unallocated = 0
    elif unallocated < 0:
        raise _fail(
            "amount",
            _("The allocations (%(total)s) exceed the payment.")
            % {"total": Money(settled_total, currency)},
        )
    elif unallocated > 0 and not keep_credit:
        raise _fail(
            "amount",
            _("The payment is %(extra)s more than the invoices; keep it as credit or lower it.")
            % {"extra": Money(unallocated, currency)},
        )
    sale = direction == Direction.SALE
    dummy = Invoice(company=company, direction=direction, partner=partner_obj)
    partner_account = _receivable_account(dummy)
    if partner_account is None:
        raise _fail("partner", _("Set the partner's receivable or payable account."))
    base = company.base_currency

    def to_base(value: int, rate_: Decimal) -> int:
        if currency == base:
            return value
        return Money.from_decimal_rounded(
            Money(value, currency).to_decimal() * rate_, base, ROUND_HALF_UP
        ).minor

    s = 1 if sale else -1  # +1: money comes in (bank debit)
    # (account, company-currency amount, amount in the payment currency or None, extra)
    lines: list[tuple[Account, int, int | None, dict[str, Any]]] = []
    lines.append((bank, s * to_base(cash, pay_rate), s * cash, {}))
    partner_base = 0
    for invoice, settled in parsed:
        value = to_base(settled, invoice.rate)
        partner_base += value
        lines.append(
            (
                partner_account,
                -s * value,
                -s * settled,
                {"partner": partner_obj.code, "description": str(invoice)},
            )
        )
    if unallocated > 0:
        value = to_base(unallocated, pay_rate)
        partner_base += value
        lines.append(
            (
                partner_account,
                -s * value,
                -s * unallocated,
                {"partner": partner_obj.code, "description": _("Credit kept")},
            )
        )
    if write_off_amount:
        account = (
            settings.write_off_expense_account
            if write_off_amount > 0
            else settings.write_off_income_account
        )
        account = cast(Account, account)
        value = to_base(abs(write_off_amount), pay_rate) * (1 if write_off_amount > 0 else -1)
        lines.append((account, s * value, s * write_off_amount, {"description": _("Write-off")}))
    difference = -sum(line[1] for line in lines)
    if difference:
        ledger_settings = _ledger_settings(company)
        account = (
            ledger_settings.exchange_gain_account
            if difference < 0
            else ledger_settings.exchange_loss_account
        )
        if account is None:
            raise _fail("rate", _("Set the exchange difference accounts in the ledger settings."))
        lines.append((account, difference, None, {"description": _("Exchange difference")}))
    entry_lines = []
    for account, base_amount, amount_currency, extra in lines:
        value = Money(abs(base_amount), base).to_decimal()
        line = {
            "account": account,
            "debit": value if base_amount > 0 else Decimal(0),
            "credit": value if base_amount < 0 else Decimal(0),
            **extra,
        }
        if currency != base and amount_currency is not None:
            line["currency"] = currency
            line["amount_currency"] = Money(amount_currency, currency).to_decimal()
        entry_lines.append(line)
    with transaction.atomic():
        for invoice, _settled in parsed:
            Invoice.objects.select_for_update().filter(pk=invoice.pk).first()
        try:
            entry = entry_create_posted(
                company=company,
                journal=journal_obj,
                date=date,
                reference=(reference or "")[:100],
                description=(_("Payment from %(partner)s") if sale else _("Payment to %(partner)s"))
                % {"partner": partner_obj.legal_name},
                lines=entry_lines,
            )
        except ValidationError as exc:
            raise ValidationError(
                {
                    "entry": [
                        _("The journal entry cannot be posted: %(why)s")
                        % {"why": " ".join(exc.messages)}
                    ]
                }
            ) from exc
        payment = Payment.objects.create(
            company=company,
            direction=direction,
            partner=partner_obj,
            date=date,
            amount=cash,
            currency=currency,
            bank_account=bank,
            journal=journal_obj,
            reference=(reference or "").strip(),
            write_off_amount=write_off_amount,
            unallocated_amount=max(unallocated, 0),
            entry=entry,
        )
        for invoice, settled in parsed:
            fresh = Invoice.objects.get(pk=invoice.pk)
            if settled > fresh.open_amount:  # paid meanwhile by someone else
                raise _fail(
                    "allocations",
                    _("Only %(open)s is open of %(invoice)s.")
                    % {"open": Money(fresh.open_amount, fresh.currency), "invoice": fresh},
                )
            PaymentAllocation.objects.create(
                company=company, payment=payment, invoice=fresh, amount=settled
            )
            _settle(fresh, settled)
    return payment


def _ledger_settings(company: Company) -> Any:
    from trastienda.ledger.models import LedgerSettings

    found, _created = LedgerSettings.objects.get_or_create(company=company)
    return found


def credit_apply(*, payment: Payment, invoice: Invoice, amount: Any = None) -> PaymentAllocation:
    """Use credit kept from ``payment`` to settle ``invoice`` (same partner, account and
    currency: no journal entry)."""
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if payment.state != Payment.State.POSTED:
            errors["payment"] = [_("The payment is reversed.")]
        if invoice.partner_id != payment.partner_id or invoice.direction != payment.direction:
            errors["invoice"] = [_("The invoice is of another partner.")]
        if invoice.state != Invoice.State.ISSUED or invoice.kind == Invoice.Kind.CREDIT_NOTE:
            errors["invoice"] = [_("Choose an issued invoice.")]
        if invoice.currency != payment.currency:
            errors["invoice"] = [_("The invoice is in another currency.")]
        _raise(errors)
        value = (
            min(payment.unallocated_amount, invoice.open_amount)
            if amount in (None, "")
            else _amount(amount, payment.currency, "amount", errors)
        )
        _raise(errors)
        if value <= 0 or value > payment.unallocated_amount:
            raise _fail(
                "amount",
                _("The credit available is %(credit)s.")
                % {"credit": Money(payment.unallocated_amount, payment.currency)},
            )
        if value > invoice.open_amount:
            raise _fail(
                "amount",
                _("Only %(open)s is open of %(invoice)s.")
                % {"open": Money(invoice.open_amount, invoice.currency), "invoice": invoice},
            )
        payment.unallocated_amount = F("unallocated_amount") - value
        payment.save(update_fields=["unallocated_amount"])
        allocation = PaymentAllocation.objects.create(
            company=payment.company, payment=payment, invoice=invoice, amount=value
        )
        _settle(invoice, value)
    return allocation


def payment_reverse(*, instance: Payment, date: dt.date | None = None) -> Payment:
    """Undo a payment: post the reversal of its entry and reopen the invoices it settled."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=instance.pk)
        if payment.state != Payment.State.POSTED:
            raise _fail("state", _("The payment is already reversed."))
        allocations = list(payment.allocations.select_related("invoice"))
        if payment.entry is None:  # pragma: no cover - every payment is posted
            raise _fail("entry", _("The payment has no journal entry."))
        reversal = entry_reverse(
            instance=payment.entry,
            date=date or payment.date,
            description=_("Reversal of the payment %(ref)s")
            % {"ref": payment.reference or payment.pk},
        )
        for allocation in allocations:
            invoice = Invoice.objects.select_for_update().get(pk=allocation.invoice_id)
            _settle(invoice, -allocation.amount)
        payment.state = Payment.State.REVERSED
        payment.reversal_entry = reversal
        payment.save(update_fields=["state", "reversal_entry"])
    return payment


# --- recurring invoices ---------------------------------------------------------------------


def _add_months(date: dt.date, months: int) -> dt.date:
    month = date.month - 1 + months
    year = date.year + month // 12
    month = month % 12 + 1
    return date.replace(
        year=year, month=month, day=min(date.day, calendar.monthrange(year, month)[1])
    )


def recurring_run(*, company: Company, today: dt.date | None = None) -> list[Invoice]:
    """Create (and issue, when set) the invoices of every schedule due on or before
    ``today``; each in its own transaction, so one failure does not stop the others."""
    from trastienda.billing.models import RecurringInvoice

    today = today or timezone.localdate()
    created: list[Invoice] = []
    schedules = RecurringInvoice.objects.for_company(company).filter(
        active=True, next_date__lte=today
    )
    for schedule in schedules.select_related("template"):
        while schedule.next_date <= today and (
            schedule.end_date is None or schedule.next_date <= schedule.end_date
        ):
            with transaction.atomic():
                invoice = invoice_duplicate(instance=schedule.template, date=schedule.next_date)
                invoice.recurring = schedule
                invoice.save(update_fields=["recurring"])
                if schedule.auto_issue:
                    invoice = invoice_issue(instance=invoice)
                day = schedule.day or schedule.next_date.day
                following = _add_months(schedule.next_date, schedule.interval_months)
                schedule.next_date = following.replace(
                    day=min(day, calendar.monthrange(following.year, following.month)[1])
                )
                schedule.day = day
                schedule.save(update_fields=["next_date", "day"])
            created.append(invoice)
    return created


__all__ = [
    "bill_approve",
    "bill_reject",
    "bill_submit",
    "billing_settings",
    "credit_apply",
    "credit_note_create",
    "installments_plan",
    "invoice_create_draft",
    "invoice_delete_draft",
    "invoice_duplicate",
    "invoice_issue",
    "invoice_update_draft",
    "payment_create",
    "payment_reverse",
    "recurring_run",
]

"""Invoice arithmetic: line net amounts, the tax breakdown and the totals. Pure functions on
integers and Decimals, no database: the services, the forms' live totals and the tests share it.

Rounding follows EN 16931 (the European e-invoicing norm):

- a line's net amount is ``quantity x unit price x (1 - discount %)`` rounded half up to the
  currency's minor unit (BR-DEC-23: two decimals for EUR);
- each tax is computed once per invoice on the sum of the net amounts of the lines that carry
  it (the "VAT breakdown", BG-23), rounded half up — never summed from rounded line taxes;
- totals are sums of rounded figures: net + taxes = total (BR-CO-15), total - withholding =
  amount due.

Prices that include a tax (retail, simplified invoices): the lines sharing a set of included
taxes are grouped; the group's gross amount is what the customer sees, its base is the gross
divided by (1 + the included rates) rounded half up, and the tax is the gross minus the base
(with several included taxes, each is rounded and the last takes the difference), so the
total is exactly the gross. The base is then spread back over the group's lines in proportion
to their gross amounts (:meth:`Money.allocate`), so line nets add up to the base.
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from trastienda.core.money import Money, currency_exponent

PRICE_EXTRA_DIGITS = 2  # unit prices carry two more decimals than the currency (EUR: 4)
HUNDRED = Decimal(100)


def price_scale(currency: str) -> int:
    """Decimal places of a unit price in ``currency``."""
    return currency_exponent(currency) + PRICE_EXTRA_DIGITS


MAX_UNITS = 2**63 - 1  # a stored price is a 64-bit integer


def price_to_units(value: Decimal | str | int, currency: str) -> int:
    """A unit price as an integer of ``10 ** -price_scale(currency)`` units of ``currency``.

    Exact: ``price_to_units(Decimal("12.3456"), "EUR") == 123456``; more decimal places than
    the price scale raises ValueError (never rounds), and so do values that are not finite
    numbers or do not fit a 64-bit integer. Floats and bools raise TypeError.
    """
    if isinstance(value, float | bool):
        raise TypeError("a price is a Decimal, an int or decimal text, not a float")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    scale = price_scale(currency)
    scaled = number.scaleb(scale, context=_CONTEXT)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimal places for {currency}")
    units = int(scaled)
    if abs(units) > MAX_UNITS:
        raise ValueError(f"{value} is too large for a price")
    return units


def units_to_price(units: int, currency: str) -> Decimal:
    """The Decimal of a stored unit price, with exactly ``price_scale(currency)`` places."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError("a stored price is an int")
    scale = price_scale(currency)
    digits = tuple(int(d) for d in str(abs(units)))
    return Decimal((1 if units < 0 else 0, digits, -scale))


@dataclass(frozen=True)
class TaxSpec:
    id: int
    kind: str  # "vat", "surcharge", "withholding"
    rate: Decimal  # percent
    price_included: bool = False
    reverse_charge: bool = False
    split_payment: bool = False


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: int  # price units (see price_scale)
    discount: Decimal = Decimal(0)  # percent
    taxes: tuple[TaxSpec, ...] = ()


@dataclass
class TaxRow:
    tax: TaxSpec
    base: int = 0
    amount: int = 0


@dataclass
class Totals:
    currency: str
    line_nets: list[int]
    taxes: list[TaxRow] = field(default_factory=list)
    net: int = 0
    tax: int = 0  # VAT and surcharges the partner pays (not reverse-charged ones)
    withholding: int = 0
    total: int = 0  # net + tax
    payable: int = 0  # total - withholding - split-payment VAT

    @property
    def split_payment_tax(self) -> int:
        return sum(row.amount for row in self.taxes if row.tax.split_payment)


# Exact for every figure an invoice can hold (amounts below 10**15 with a few decimals).
_CONTEXT = decimal.Context(prec=60, rounding=ROUND_HALF_UP)
_PRICE_TO_MINOR = Decimal(10) ** PRICE_EXTRA_DIGITS * HUNDRED  # price units x % -> minor


def _whole(value: Decimal) -> int:
    """``value`` (in minor units) rounded half up, away from zero: 0.5 -> 1, -0.5 -> -1."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP, context=_CONTEXT))


def line_gross_minor(line: LineInput) -> Decimal:
    """quantity x price x (1 - discount), unrounded, in minor units of the currency."""
    amount = _CONTEXT.multiply(line.quantity, Decimal(line.unit_price))
    return _CONTEXT.divide(_CONTEXT.multiply(amount, HUNDRED - line.discount), _PRICE_TO_MINOR)


def line_gross(line: LineInput, currency: str) -> Decimal:
    """quantity x price x (1 - discount), unrounded, in currency units."""
    return line_gross_minor(line).scaleb(-currency_exponent(currency), _CONTEXT)


def _tax_amount(base: int, rate: Decimal) -> int:
    """``rate`` % of ``base`` (minor units), rounded half up to a minor unit."""
    return _whole(_CONTEXT.divide(_CONTEXT.multiply(Decimal(base), rate), HUNDRED))


def compute(lines: Sequence[LineInput], currency: str) -> Totals:
    """Net amounts of the lines, the tax breakdown and the totals of an invoice."""
    nets: list[int] = [0] * len(lines)
    included_groups: dict[tuple[TaxSpec, ...], list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        included = tuple(t for t in line.taxes if t.price_included)
        if included:
            included_groups[included].append(index)
        else:
            nets[index] = _whole(line_gross_minor(line))

    rows: dict[int, TaxRow] = {}
    included_amounts: dict[int, int] = defaultdict(int)
    for taxes, indexes in included_groups.items():
        grosses = [_whole(line_gross_minor(lines[i])) for i in indexes]
        gross = sum(grosses)
        rate_sum = sum((t.rate for t in taxes), Decimal(0))
        base = _whole(
            _CONTEXT.divide(_CONTEXT.multiply(Decimal(gross), HUNDRED), HUNDRED + rate_sum)
        )
        remaining = gross - base
        for position, tax in enumerate(taxes):
            amount = remaining if position == len(taxes) - 1 else _tax_amount(base, tax.rate)
            remaining -= amount
            included_amounts[tax.id] += amount
        if base and any(grosses):
            parts = Money(base, currency).allocate([abs(g) for g in grosses])
            for i, part in zip(indexes, parts, strict=True):
                nets[i] = part.minor
        for i in indexes:
            for tax in lines[i].taxes:
                rows.setdefault(tax.id, TaxRow(tax)).base += nets[i]

    for index, line in enumerate(lines):
        if any(t.price_included for t in line.taxes):
            continue
        for tax in line.taxes:
            rows.setdefault(tax.id, TaxRow(tax)).base += nets[index]

    totals = Totals(currency=currency, line_nets=nets)
    for tax_id, row in rows.items():
        if tax_id in included_amounts:
            row.amount = included_amounts[tax_id]
        else:
            row.amount = _tax_amount(row.base, row.tax.rate)
        totals.taxes.append(row)
    totals.taxes.sort(key=lambda r: (r.tax.kind != "vat", r.tax.kind, -r.tax.rate, r.tax.id))
    totals.net = sum(nets)
    totals.tax = sum(
        r.amount for r in totals.taxes if r.tax.kind != "withholding" and not r.tax.reverse_charge
    )
    totals.withholding = sum(r.amount for r in totals.taxes if r.tax.kind == "withholding")
    totals.total = totals.net + totals.tax
    totals.payable = totals.total - totals.withholding - totals.split_payment_tax
    return totals


def split_installments(amount: int, count: int) -> list[int]:
    """``amount`` in ``count`` equal parts, the last taking the rounding."""
    if count <= 1:
        return [amount]
    part = int(Decimal(amount) / count)  # towards zero
    return [part] * (count - 1) + [amount - part * (count - 1)]

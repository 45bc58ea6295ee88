"""The one Money type of Trastienda: an integer amount of minor units with its ISO 4217 currency.

Rules (see docs/DESIGN.md and STYLE.md "Money"):

- Amounts are stored and added as integer minor units (cents for EUR, yen for JPY, fils for BHD):
  integer sums are exact on every database and in Python. Decimal appears only at the edges
  (forms, API, files) through ``Money.from_decimal`` and ``Money.to_decimal``.
- No float, anywhere: every function here raises TypeError when handed one.
- No silent rounding: ``from_decimal`` refuses a value with more decimals than the currency has.
  Rounding happens only where it is asked for, with the rounding mode named:
  ``Money.from_decimal_rounded`` and ``round_decimal``, the one rounding helper.
- Conversions never depend on the global decimal context: they work on the digits of the
  Decimal (exact integer arithmetic) or quantize inside a local context sized to the value, so
  very large amounts (10**18 minor units and beyond) round-trip exactly.
- An amount never travels without its currency; arithmetic and ordering between two currencies
  raise CurrencyMismatchError (a ValueError).

Pure Python: no Django import, so the ledger's pure functions and their tests stay fast.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Final

from trastienda.core.currency_data import CURRENCIES, WITHDRAWN

__all__ = [
    "ROUND_HALF_UP",
    "CurrencyMismatchError",
    "Money",
    "currency_exponent",
    "format_money",
    "minor_text",
    "money_sum",
    "round_decimal",
]

#: Values whose magnitude reaches 10**MAX_DIGITS are refused. No business amount comes near it;
#: the limit keeps hostile input such as "1E+999999999" from costing memory and time.
MAX_DIGITS: Final = 40

_ROUNDING_MODES: Final = frozenset(
    {
        decimal.ROUND_CEILING,
        decimal.ROUND_DOWN,
        decimal.ROUND_FLOOR,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_HALF_UP,
        decimal.ROUND_UP,
        decimal.ROUND_05UP,
    }
)

_FLOAT_MESSAGE: Final = (
    "{what} must not be a float (binary floating point cannot hold amounts of money exactly); "
    "pass a Decimal, a str such as '12.34' or an int"
)


class CurrencyMismatchError(ValueError):
    """Arithmetic or ordering between amounts in two different currencies."""


def currency_exponent(code: str) -> int:
    """The number of decimal places of an ISO 4217 currency: EUR 2, JPY 0, BHD 3, CLF 4.

    Codes are exact and upper-case. Withdrawn codes (HRK, ANG, ...) keep their exponent, since old
    books carry them. Raises ValueError for an unknown code and for a code without a minor unit
    (XAU, XDR, XXX, ...), TypeError when ``code`` is not a str.
    """
    if not isinstance(code, str):
        raise TypeError(f"currency code must be a str, not {type(code).__name__}")
    info = CURRENCIES.get(code) or WITHDRAWN.get(code)
    if info is None:
        raise ValueError(f"unknown currency code {code!r} (expected an ISO 4217 code like 'EUR')")
    if info.exponent is None:
        raise ValueError(f"currency {code!r} ({info.name}) has no minor unit in ISO 4217")
    return info.exponent


def minor_text(minor: int, currency: str) -> str:
    """``minor`` units of ``currency`` as plain decimal text with exactly the currency's
    places, the text of ``Money(minor, currency).to_decimal()``: (5, "EUR") -> "0.05",
    (-123456, "EUR") -> "-1234.56", (7, "JPY") -> "7". For the bulk paths, which hand
    amounts to the ledger's parser as text without building a Money per amount."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"minor must be an int of minor units, not {type(minor).__name__}")
    places = currency_exponent(currency)
    sign = "-" if minor < 0 else ""
    if not places:
        return f"{sign}{abs(minor)}"
    whole, part = divmod(abs(minor), 10**places)
    return f"{sign}{whole}.{part:0{places}d}"


def _to_decimal_input(value: object, what: str = "value") -> Decimal:
    """Decimal from Decimal, str or int; TypeError for float, bool and anything else;
    ValueError for text that is not a number and for NaN or infinity."""
    if isinstance(value, float):
        raise TypeError(_FLOAT_MESSAGE.format(what=what))
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise TypeError(f"{what} must be a Decimal, str or int, not {type(value).__name__}")
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValueError(f"{what} {value!r} is not a number") from None
    else:
        number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    if not number.is_zero() and number.adjusted() >= MAX_DIGITS:
        raise ValueError(f"{what} {value!r} is out of range (at least 10**{MAX_DIGITS})")
    return number


def _check_rounding(rounding: str) -> None:
    if rounding not in _ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {rounding!r}; use one of decimal.ROUND_*")


def round_decimal(value: Decimal | str | int, places: int, rounding: str) -> Decimal:
    """Round ``value`` to exactly ``places`` decimal places with the named rounding mode
    (``decimal.ROUND_HALF_UP``, ``ROUND_HALF_EVEN``, ...). The one rounding helper.

    Independent of the global decimal context: the result always has ``places`` places and all
    its digits, however large the value (up to 10**MAX_DIGITS).
    """
    _check_rounding(rounding)
    if isinstance(places, bool) or not isinstance(places, int):
        raise TypeError(f"places must be an int, not {type(places).__name__}")
    if not 0 <= places <= MAX_DIGITS:
        raise ValueError(f"places must be between 0 and {MAX_DIGITS}, not {places}")
    number = _to_decimal_input(value)
    # Enough precision for every digit of the result, so quantize never rounds twice or fails.
    precision = max(number.adjusted(), 0) + places + 2
    context = decimal.Context(
        prec=precision, rounding=rounding, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN
    )
    return number.quantize(Decimal((0, (1,), -places)), context=context)


def _minor_units(number: Decimal, exponent: int) -> int | None:
    """``number`` * 10**exponent as an exact int, or None when that is not a whole number.

    Works on the digits (no context, no rounding). Trailing zeros are dropped first, so the
    coefficient is never longer than the magnitude bound allows and "12.3400" is 12.34."""
    sign, digits, exp = number.as_tuple()
    if not isinstance(exp, int):
        raise ValueError(f"{number} is not a finite number")
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:
        significant -= 1
    shift = exp + (len(digits) - significant) + exponent
    coefficient = int("".join(str(digit) for digit in digits[:significant]))
    if coefficient == 0:
        return 0
    if shift < 0:
        return None  # the last significant digit lies below one minor unit
    units: int = coefficient * 10**shift
    return -units if sign else units


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money: ``minor`` integer units of ``currency``'s minor unit.

    ``Money(123456, "EUR")`` is 1,234.56 EUR; ``Money(500, "JPY")`` is 500 yen. Build it from
    user input with ``Money.from_decimal("1234.56", "EUR")``.

    Equal when both the amount and the currency are equal (so 0 EUR != 0 USD, without raising).
    Ordering, ``+`` and ``-`` need the same currency. ``*`` takes an int only: for a rate or a
    percentage, compute with Decimal and come back through ``from_decimal_rounded``. A Money is
    always truthy; ask ``is_zero()``.
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, float):
            raise TypeError(_FLOAT_MESSAGE.format(what="Money.minor"))
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(
                f"Money.minor must be an int of minor units, not {type(self.minor).__name__}"
            )
        currency_exponent(self.currency)  # validates the code

    # Construction and conversion ------------------------------------------------------------

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str) -> Money:
        """Exact conversion: ``from_decimal("12.34", "EUR") == Money(1234, "EUR")``.

        Trailing zeros are fine ("12.340" is 12.34 EUR); a value needing more decimals than the
        currency has ("12.345" EUR, "1.5" JPY) raises ValueError, never rounds.
        """
        exponent = currency_exponent(currency)
        number = _to_decimal_input(value)
        units = _minor_units(number, exponent)
        if units is None:
            raise ValueError(
                f"{value!r} has more decimal places than {currency} allows ({exponent}); "
                "round it explicitly with Money.from_decimal_rounded"
            )
        return cls(units, currency)

    @classmethod
    def from_decimal_rounded(
        cls, value: Decimal | str | int, currency: str, rounding: str = ROUND_HALF_UP
    ) -> Money:
        """Conversion rounding to the currency's exponent with the named mode (half up by
        default: 0.005 EUR -> 0.01, -0.005 EUR -> -0.01)."""
        exponent = currency_exponent(currency)
        rounded = round_decimal(value, exponent, rounding)
        units = _minor_units(rounded, exponent)
        if units is None:  # pragma: no cover - rounded to the exponent: always whole units
            raise ValueError(f"{value!r} could not be rounded to {currency}")
        return cls(units, currency)

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        """The amount as a Decimal with exactly the currency's places: Money(5, "EUR") -> 0.05,
        Money(0, "EUR") -> 0.00, Money(7, "JPY") -> 7. Exact whatever the global context."""
        digits = tuple(int(d) for d in str(abs(self.minor)))
        return Decimal((1 if self.minor < 0 else 0, digits, -self.exponent))

    def __str__(self) -> str:
        """Locale-neutral text for logs and messages: "1234.56 EUR". For people: format_money."""
        return f"{self.to_decimal()} {self.currency}"

    # Predicates --------------------------------------------------------------------------------

    def is_zero(self) -> bool:
        return self.minor == 0

    def is_positive(self) -> bool:
        return self.minor > 0

    def is_negative(self) -> bool:
        return self.minor < 0

    # Arithmetic --------------------------------------------------------------------------------

    def _same_currency(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot {operation} {self.currency} and {other.currency} amounts"
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "add")
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "subtract")
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, float):
            raise TypeError(_FLOAT_MESSAGE.format(what="a Money multiplier"))
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError(
                f"Money can only be multiplied by an int, not {type(factor).__name__}; for a "
                "rate use Money.from_decimal_rounded(money.to_decimal() * rate, currency, rounding)"
            )
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    # Ordering (same currency only) -------------------------------------------------------------

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "compare")
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "compare")
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "compare")
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "compare")
        return self.minor >= other.minor

    # Allocation --------------------------------------------------------------------------------

    def allocate(self, ratios: Sequence[int | Decimal]) -> list[Money]:
        """Split into parts proportional to ``ratios`` (ints or Decimals, none negative, not all
        zero) that add up exactly to this amount.

        Each part starts as its exact share rounded towards zero; the minor units left over (fewer
        than the number of parts) go one each to the parts with the largest ratios, the earlier
        part first among equal ratios, skipping parts whose exact share is already whole. Every
        part is therefore less than one minor unit from its exact share, and a zero ratio gets
        zero. Negative amounts split as the mirror image of positive ones.
        ``Money(100, "EUR").allocate([1, 1, 1])`` -> 0.34, 0.33, 0.33.
        """
        if isinstance(ratios, str | bytes) or not isinstance(ratios, Sequence):
            raise TypeError("ratios must be a sequence of ints or Decimals")
        if not ratios:
            raise ValueError("allocate needs at least one ratio")
        for ratio in ratios:
            if isinstance(ratio, float):
                raise TypeError(_FLOAT_MESSAGE.format(what="an allocation ratio"))
            if isinstance(ratio, bool) or not isinstance(ratio, int | Decimal):
                raise TypeError(f"ratios must be ints or Decimals, not {type(ratio).__name__}")
            if isinstance(ratio, Decimal) and not ratio.is_finite():
                raise ValueError(f"ratios must be finite, not {ratio}")
            if ratio < 0:
                raise ValueError(f"ratios must not be negative, got {ratio}")
        # Whole weights in the ratios' proportions (Decimals scaled by their common
        # denominator), so that every share below is exact integer arithmetic.
        weights: list[int]
        if all(type(ratio) is int for ratio in ratios):
            weights = [int(ratio) for ratio in ratios]
        else:
            exact = [Fraction(ratio) for ratio in ratios]
            scale = math.lcm(*(fraction.denominator for fraction in exact))
            weights = [int(fraction * scale) for fraction in exact]
        total = sum(weights)
        if total == 0:
            raise ValueError("ratios must not all be zero")

        amount = abs(self.minor)
        numerators = [amount * weight for weight in weights]
        parts = [numerator // total for numerator in numerators]  # floor: shares are >= 0
        remainder = amount - sum(parts)
        # Fewer leftover units than parts with a fractional share (the fractions add up to
        # the remainder and each is below one), so only those receive one.
        fractional = [index for index, numerator in enumerate(numerators) if numerator % total]
        fractional.sort(key=lambda index: -weights[index])  # stable: earlier part first on ties
        for index in fractional[:remainder]:
            parts[index] += 1
        sign = -1 if self.minor < 0 else 1
        return [Money(sign * part, self.currency) for part in parts]


def money_sum(values: Iterable[Money], currency: str) -> Money:
    """The sum of amounts in ``currency`` (zero when there are none); raises
    CurrencyMismatchError if any is in another currency."""
    total = Money.zero(currency)
    for value in values:
        total += value
    return total


# Formatting ------------------------------------------------------------------------------------

#: Symbols used in place of the code. Deliberately few and unambiguous: every other currency is
#: shown by its ISO code ("1.234,56 CHF", "CHF 1,234.56"), which accountants read without doubt.
_SYMBOLS: Final[dict[str, dict[str, str]]] = {
    "es": {"EUR": "€", "USD": "US$", "GBP": "£", "JPY": "¥"},
    "it": {"EUR": "€", "USD": "US$", "GBP": "£", "JPY": "¥"},
    "en": {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"},
}
#: (thousands separator, decimal separator) per language.
_SEPARATORS: Final[dict[str, tuple[str, str]]] = {
    "es": (".", ","),
    "it": (".", ","),
    "en": (",", "."),
}


def format_money(money: Money, locale: str = "es") -> str:
    """The amount as people in ``locale`` write it (only the language part counts: "es-es",
    "it_IT" and "en-us" work too).

    - es and it: ``1.234,56 €``, ``-1.234,56 €``, ``1.234,56 CHF`` (amount, a space, symbol).
    - en: ``€1,234.56``, ``-€1,234.56``, ``CHF 1,234.56`` (symbol first; a space after a code).

    Always the currency's exact number of places and always grouped in thousands, including in
    Spanish for four-digit amounts (CLDR leaves "1234,56" ungrouped; invoices and ledgers group
    so that columns line up). The space is a plain space. Symbols only for EUR, GBP, JPY and USD
    ("$" in English, "US$" otherwise); other currencies show their ISO code.
    """
    if not isinstance(money, Money):
        raise TypeError(f"format_money expects a Money, not {type(money).__name__}")
    language = locale.replace("_", "-").split("-", 1)[0].lower()
    if language not in _SEPARATORS:
        raise ValueError(f"unsupported locale {locale!r}; use 'es', 'it' or 'en'")
    thousands, decimal_mark = _SEPARATORS[language]
    text = f"{money.to_decimal().copy_abs():,f}"  # "1,234.56": exact, all digits, never exponent
    integer, _, fraction = text.partition(".")
    number = integer.replace(",", thousands) + (decimal_mark + fraction if fraction else "")
    sign = "-" if money.minor < 0 else ""
    symbol = _SYMBOLS[language].get(money.currency)
    if language == "en":
        prefix = symbol if symbol else money.currency + " "
        return f"{sign}{prefix}{number}"
    return f"{sign}{number} {symbol or money.currency}"

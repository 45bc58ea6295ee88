"""Money, the ISO 4217 data and the one rounding helper. Pure Python: no database."""

import decimal
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trastienda.core.currency_data import CURRENCIES, WITHDRAWN, currency_info
from trastienda.core.money import (
    CurrencyMismatchError,
    Money,
    currency_exponent,
    format_money,
    minor_text,
    money_sum,
    round_decimal,
)

# One currency per exponent ISO uses.
CURRENCY_BY_EXPONENT = {0: "JPY", 2: "EUR", 3: "BHD", 4: "CLF"}
MINOR_CURRENCIES = sorted(code for code, info in CURRENCIES.items() if info.exponent is not None)
LIMIT = 10**18

amounts = st.integers(min_value=-LIMIT, max_value=LIMIT)
currencies = st.sampled_from(MINOR_CURRENCIES)


# ISO 4217 data ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "exponent"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("GBP", 2),
        ("CHF", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("CLP", 0),
        ("ISK", 0),
        ("VND", 0),
        ("XOF", 0),
        ("UYI", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("OMR", 3),
        ("JOD", 3),
        ("TND", 3),
        ("LYD", 3),
        ("IQD", 3),
        ("CLF", 4),
        ("UYW", 4),
        ("XCG", 2),
        ("ZWG", 2),
    ],
)
def test_exponent_of_known_currencies(code, exponent):
    assert currency_exponent(code) == exponent


def test_exponents_are_only_the_ones_iso_uses():
    by_exponent: dict[int | None, set[str]] = {}
    for info in CURRENCIES.values():
        by_exponent.setdefault(info.exponent, set()).add(info.code)
    assert set(by_exponent) == {None, 0, 2, 3, 4}
    assert by_exponent[0] == {
        *("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"),
        *("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"),
    }
    assert by_exponent[3] == {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
    assert by_exponent[4] == {"CLF", "UYW"}
    assert by_exponent[None] == {
        *("XAG", "XAU", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD"),
        *("XDR", "XSU", "XUA", "XTS", "XXX"),
    }


def test_currency_table_is_well_formed():
    assert 170 <= len(CURRENCIES) <= 190
    numerics = [info.numeric for info in CURRENCIES.values()]
    assert len(set(numerics)) == len(numerics)
    for code, info in CURRENCIES.items():
        assert code == info.code
        assert len(code) == 3 and code.isascii() and code.isupper()
        assert len(info.numeric) == 3 and info.numeric.isdigit()
        assert info.name and info.name == info.name.strip()
        assert info.active and info.replaced_by == ""
    assert CURRENCIES["EUR"].numeric == "978"
    assert CURRENCIES["ALL"].numeric == "008"
    assert CURRENCIES["EUR"].name == "Euro"
    assert CURRENCIES["JPY"].name == "Yen"


def test_withdrawn_currencies_keep_their_exponent_and_name_their_successor():
    assert set(WITHDRAWN) == {"ANG", "HRK", "SLL", "ZWL"}
    assert not set(WITHDRAWN) & set(CURRENCIES)
    for info in WITHDRAWN.values():
        assert not info.active
        assert info.replaced_by in CURRENCIES
    assert WITHDRAWN["HRK"].replaced_by == "EUR"
    assert currency_exponent("HRK") == 2
    assert currency_info("HRK") == WITHDRAWN["HRK"]
    assert currency_info("EUR") == CURRENCIES["EUR"]
    assert currency_info("EURO") is None


@pytest.mark.parametrize("code", ["", "eur", "EURO", "ZZZ", "ESP", " EUR"])
def test_unknown_currency_code_raises(code):
    with pytest.raises(ValueError, match="unknown currency code"):
        currency_exponent(code)
    with pytest.raises(ValueError, match="unknown currency code"):
        Money(1, code)


@pytest.mark.parametrize("code", ["XAU", "XAG", "XDR", "XTS", "XXX"])
def test_codes_without_minor_unit_cannot_hold_money(code):
    assert CURRENCIES[code].exponent is None
    with pytest.raises(ValueError, match="has no minor unit"):
        currency_exponent(code)
    with pytest.raises(ValueError, match="has no minor unit"):
        Money.from_decimal("1", code)


def test_currency_code_must_be_text():
    with pytest.raises(TypeError):
        currency_exponent(978)  # type: ignore[arg-type]


# Construction and conversion -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("1234.56", "EUR", 123456),
        ("-0.01", "EUR", -1),
        ("12.3400", "EUR", 1234),
        ("0.000", "EUR", 0),
        ("-0", "EUR", 0),
        (" 7.5 ", "EUR", 750),
        ("1E+3", "EUR", 100000),
        (Decimal("19.99"), "EUR", 1999),
        (5, "EUR", 500),
        (1500, "JPY", 1500),
        ("1500.0", "JPY", 1500),
        ("1.234", "BHD", 1234),
        ("1.2345", "CLF", 12345),
        ("1000000000000000000", "JPY", 10**18),
        ("9999999999999999.99", "EUR", 999999999999999999),
    ],
)
def test_from_decimal(value, currency, minor):
    assert Money.from_decimal(value, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("12.345", "EUR"),
        ("0.001", "EUR"),
        ("1.5", "JPY"),
        ("0.0001", "BHD"),
        ("1.23456", "CLF"),
        (Decimal("1E-30"), "EUR"),
        ("1E-999999999", "EUR"),
    ],
)
def test_from_decimal_refuses_more_decimals_than_the_exponent(value, currency):
    with pytest.raises(ValueError, match="more decimal places"):
        Money.from_decimal(value, currency)


@pytest.mark.parametrize(
    "value", ["", "abc", "1,50", "NaN", "Infinity", "-inf", "1E+999999999", 10**40]
)
def test_from_decimal_refuses_what_is_not_an_amount(value):
    with pytest.raises(ValueError):
        Money.from_decimal(value, "EUR")


@pytest.mark.parametrize(
    ("value", "currency", "rounding", "minor"),
    [
        ("0.005", "EUR", ROUND_HALF_UP, 1),
        ("-0.005", "EUR", ROUND_HALF_UP, -1),
        ("0.004999", "EUR", ROUND_HALF_UP, 0),
        ("2.675", "EUR", ROUND_HALF_UP, 268),
        ("2.5", "JPY", ROUND_HALF_UP, 3),
        ("-2.5", "JPY", ROUND_HALF_UP, -3),
        ("2.5", "JPY", ROUND_HALF_EVEN, 2),
        ("3.5", "JPY", ROUND_HALF_EVEN, 4),
        ("1.2349", "BHD", ROUND_DOWN, 1234),
        ("1.23", "EUR", ROUND_HALF_UP, 123),
        ("1E-999999999", "EUR", ROUND_HALF_UP, 0),
    ],
)
def test_from_decimal_rounded_uses_the_named_mode(value, currency, rounding, minor):
    assert Money.from_decimal_rounded(value, currency, rounding) == Money(minor, currency)


def test_from_decimal_rounded_defaults_to_half_up():
    assert Money.from_decimal_rounded("0.125", "EUR") == Money(13, "EUR")
    assert Money.from_decimal_rounded("-0.125", "EUR") == Money(-13, "EUR")


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(5, "EUR"), "0.05"),
        (Money(0, "EUR"), "0.00"),
        (Money(-123456, "EUR"), "-1234.56"),
        (Money(7, "JPY"), "7"),
        (Money(1, "BHD"), "0.001"),
        (Money(10, "CLF"), "0.0010"),
        (Money(10**18, "EUR"), "10000000000000000.00"),
    ],
)
def test_to_decimal_has_exactly_the_exponents_places(money, text):
    value = money.to_decimal()
    assert str(value) == text
    assert value.as_tuple().exponent == -money.exponent


@given(minor=amounts, exponent=st.sampled_from(sorted(CURRENCY_BY_EXPONENT)))
def test_round_trip_for_every_exponent(minor, exponent):
    money = Money(minor, CURRENCY_BY_EXPONENT[exponent])
    value = money.to_decimal()
    assert value.as_tuple().exponent == -exponent
    assert Money.from_decimal(value, money.currency) == money
    assert Money.from_decimal(str(value), money.currency) == money
    assert Money.from_decimal_rounded(value, money.currency) == money
    assert value == Fraction(minor, 10**exponent)


@given(minor=amounts, currency=currencies)
def test_round_trip_for_every_currency(minor, currency):
    money = Money(minor, currency)
    assert Money.from_decimal(money.to_decimal(), currency) == money


@given(minor=amounts, currency=currencies)
def test_minor_text_is_the_decimal_text(minor, currency):
    assert minor_text(minor, currency) == str(Money(minor, currency).to_decimal())


def test_minor_text_examples_and_refusals():
    assert minor_text(5, "EUR") == "0.05"
    assert minor_text(-123456, "EUR") == "-1234.56"
    assert minor_text(0, "EUR") == "0.00"
    assert minor_text(-7, "JPY") == "-7"
    assert minor_text(1, "CLF") == "0.0001"
    with pytest.raises(TypeError):
        minor_text(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        minor_text(1, "XAU")


@given(minor=amounts)
def test_round_trip_does_not_depend_on_the_global_context(minor):
    money = Money(minor, "EUR")
    with localcontext() as context:
        context.prec = 3
        context.rounding = decimal.ROUND_FLOOR
        value = money.to_decimal()
        assert Money.from_decimal(value, "EUR") == money
        assert Money.from_decimal_rounded(value, "EUR") == money
        assert round_decimal(value, 2, ROUND_HALF_UP) == value
        assert format_money(money, "en").replace(",", "").replace("€", "") == str(value)


@given(
    value=st.decimals(min_value=-(10**15), max_value=10**15, allow_nan=False, places=6),
    exponent=st.sampled_from(sorted(CURRENCY_BY_EXPONENT)),
)
def test_rounded_is_the_nearest_half_up(value, exponent):
    currency = CURRENCY_BY_EXPONENT[exponent]
    money = Money.from_decimal_rounded(value, currency)
    error = Fraction(value) - Fraction(money.minor, 10**exponent)
    unit = Fraction(1, 10**exponent)
    assert abs(error) <= unit / 2
    if abs(error) == unit / 2:  # ties go away from zero
        assert abs(Fraction(money.minor, 10**exponent)) > abs(Fraction(value))
    if Fraction(value) * 10**exponent == int(Fraction(value) * 10**exponent):
        assert money == Money.from_decimal(value, currency)
    else:
        with pytest.raises(ValueError, match="more decimal places"):
            Money.from_decimal(value, currency)


# Float and other wrong types -------------------------------------------------------------------


def test_float_is_refused_everywhere():
    message = "must not be a float"
    with pytest.raises(TypeError, match=message):
        Money(1.0, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=message):
        Money.from_decimal(0.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=message):
        Money.from_decimal_rounded(0.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=message):
        round_decimal(0.1, 2, ROUND_HALF_UP)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=message):
        Money(100, "EUR") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError, match=message):
        1.5 * Money(100, "EUR")  # type: ignore[operator]
    with pytest.raises(TypeError, match=message):
        Money(100, "EUR").allocate([0.5, 0.5])  # type: ignore[list-item]


@pytest.mark.parametrize("bad", [True, None, Decimal("1"), "1", 1 + 0j])
def test_minor_units_must_be_an_int(bad):
    with pytest.raises(TypeError):
        Money(bad, "EUR")


@pytest.mark.parametrize("bad", [True, None, [1], b"1"])
def test_from_decimal_wrong_types(bad):
    with pytest.raises(TypeError):
        Money.from_decimal(bad, "EUR")


@pytest.mark.parametrize("bad", [Decimal("1.5"), True, "2"])
def test_multiplication_only_by_int(bad):
    with pytest.raises(TypeError):
        Money(100, "EUR") * bad


# Arithmetic and comparison ---------------------------------------------------------------------


def test_arithmetic_in_one_currency():
    a, b = Money(1050, "EUR"), Money(-250, "EUR")
    assert a + b == Money(800, "EUR")
    assert a - b == Money(1300, "EUR")
    assert -a == Money(-1050, "EUR")
    assert +a == a
    assert abs(b) == Money(250, "EUR")
    assert a * 3 == Money(3150, "EUR")
    assert 3 * a == Money(3150, "EUR")
    assert a * -1 == -a
    assert Money.zero("EUR").is_zero()
    assert not a.is_zero()
    assert a.is_positive() and not a.is_negative()
    assert b.is_negative() and not b.is_positive()
    assert money_sum([a, b, a], "EUR") == Money(1850, "EUR")
    assert money_sum([], "JPY") == Money(0, "JPY")
    assert str(a) == "10.50 EUR"


def test_comparison_in_one_currency():
    small, large = Money(1, "EUR"), Money(2, "EUR")
    assert small < large and small <= large and large > small and large >= small
    assert small <= Money(1, "EUR") and small >= Money(1, "EUR")
    assert sorted([large, small]) == [small, large]
    assert max([small, large]) == large


def test_equality_and_hash():
    assert Money(1, "EUR") == Money(1, "EUR")
    assert hash(Money(1, "EUR")) == hash(Money(1, "EUR"))
    assert Money(0, "EUR") != Money(0, "USD")
    assert Money(1, "EUR") != 1
    assert Money(100, "EUR") != Decimal("1.00")
    assert len({Money(1, "EUR"), Money(1, "EUR"), Money(1, "USD")}) == 2


def test_money_is_immutable():
    money = Money(1, "EUR")
    with pytest.raises(AttributeError):
        money.minor = 2  # type: ignore[misc]


@given(a=amounts, b=amounts, first=currencies, second=currencies)
def test_mixing_currencies_raises(a, b, first, second):
    left, right = Money(a, first), Money(b, second)
    if first == second:
        assert (left + right).minor == a + b
        assert (left - right).minor == a - b
        assert (left < right) == (a < b)
        return
    for operation in (
        lambda: left + right,
        lambda: left - right,
        lambda: left < right,
        lambda: left <= right,
        lambda: left > right,
        lambda: left >= right,
        lambda: money_sum([left, right], first),
    ):
        with pytest.raises(CurrencyMismatchError, match=f"{first} and {second}"):
            operation()
    assert left != right


def test_currency_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="cannot add EUR and USD amounts"):
        Money(1, "EUR") + Money(1, "USD")


@pytest.mark.parametrize("other", [1, Decimal("1"), "1"])
def test_no_arithmetic_with_plain_numbers(other):
    with pytest.raises(TypeError):
        Money(1, "EUR") + other
    with pytest.raises(TypeError):
        other + Money(1, "EUR")
    with pytest.raises(TypeError):
        Money(1, "EUR") - other
    with pytest.raises(TypeError):
        Money(1, "EUR") < other  # noqa: B015


# Allocation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "ratios", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (100, [1, 2], [33, 67]),
        (5, [1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]),
        (5, [1, 3, 1, 3], [1, 2, 0, 2]),
        (1000, [Decimal("0.21"), Decimal("0.79")], [210, 790]),
        (1, [0, 1, 0], [0, 1, 0]),
        (0, [1, 2], [0, 0]),
        (999, [1], [999]),
        (10, [3, 0, 7], [3, 0, 7]),
        # The exact share of the 4125 part is a whole 19: the leftover unit skips it.
        (1368, [1, 2605, 4125, 290269], [0, 12, 19, 1337]),
    ],
)
def test_allocate_examples(minor, ratios, parts):
    assert Money(minor, "EUR").allocate(ratios) == [Money(part, "EUR") for part in parts]


@given(
    minor=amounts,
    ratios=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20).filter(any),
    currency=currencies,
)
def test_allocate_parts_add_up_and_stay_within_one_unit(minor, ratios, currency):
    money = Money(minor, currency)
    parts = money.allocate(ratios)
    assert len(parts) == len(ratios)
    assert all(part.currency == currency for part in parts)
    assert sum(part.minor for part in parts) == minor
    total = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        exact = Fraction(minor * ratio, total)
        assert abs(part.minor - exact) < 1
        if ratio == 0:
            assert part.is_zero()
    # The leftover units go to the largest ratios among the parts whose exact share is not
    # whole: such a part never gets less of the remainder than one with a smaller ratio.
    bumped = [
        abs(part.minor) - abs(minor) * ratio // total
        for part, ratio in zip(parts, ratios, strict=True)
    ]
    fractional = [i for i, ratio in enumerate(ratios) if abs(minor) * ratio % total]
    assert all(bumped[i] == 0 for i in range(len(ratios)) if i not in fractional)
    for i in fractional:
        for j in fractional:
            if ratios[i] > ratios[j]:
                assert bumped[i] >= bumped[j]


@given(
    minor=amounts,
    ratios=st.lists(
        st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False), min_size=1
    ).filter(any),
)
def test_allocate_with_decimal_ratios_adds_up(minor, ratios):
    parts = Money(minor, "EUR").allocate(ratios)
    assert sum(part.minor for part in parts) == minor
    total = sum(Fraction(ratio) for ratio in ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        assert abs(part.minor - minor * Fraction(ratio) / total) < 1


@given(
    minor=amounts,
    ratios=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1).filter(any),
    places=st.integers(min_value=0, max_value=6),
)
def test_allocate_decimal_ratios_split_as_their_whole_proportions(minor, ratios, places):
    """Ratios 1.5 and 0.25 split like 150 and 25: the same parts, in the same order."""
    scaled = [Decimal(ratio).scaleb(-places) for ratio in ratios]
    assert Money(minor, "EUR").allocate(scaled) == Money(minor, "EUR").allocate(ratios)


@pytest.mark.parametrize(
    ("ratios", "error"),
    [
        ([], ValueError),
        ([0, 0], ValueError),
        ([1, -1], ValueError),
        ([Decimal("NaN")], ValueError),
        ([True, 1], TypeError),
        (["1"], TypeError),
        ("11", TypeError),
        (None, TypeError),
    ],
)
def test_allocate_refuses_bad_ratios(ratios, error):
    with pytest.raises(error):
        Money(100, "EUR").allocate(ratios)


# Rounding helper -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "rounding", "expected"),
    [
        ("2.675", 2, ROUND_HALF_UP, "2.68"),
        ("2.665", 2, ROUND_HALF_EVEN, "2.66"),
        ("-2.675", 2, ROUND_HALF_UP, "-2.68"),
        ("2.679", 2, ROUND_DOWN, "2.67"),
        ("3", 2, ROUND_HALF_UP, "3.00"),
        (7, 0, ROUND_HALF_UP, "7"),
        ("0.5", 0, ROUND_HALF_UP, "1"),
        ("1.000000000000000000000000000000000005", 36, ROUND_HALF_UP, None),
        (
            "123456789012345678901234567890.125",
            2,
            ROUND_HALF_UP,
            "123456789012345678901234567890.13",
        ),
    ],
)
def test_round_decimal(value, places, rounding, expected):
    result = round_decimal(value, places, rounding)
    assert result.as_tuple().exponent == -places
    assert str(result) == (expected or value)


@pytest.mark.parametrize(
    ("places", "rounding", "error"),
    [
        (2, "HALF_UP", ValueError),
        (2, "", ValueError),
        (-1, ROUND_HALF_UP, ValueError),
        (41, ROUND_HALF_UP, ValueError),
        ("2", ROUND_HALF_UP, TypeError),
        (2.0, ROUND_HALF_UP, TypeError),
    ],
)
def test_round_decimal_refuses_bad_arguments(places, rounding, error):
    with pytest.raises(error):
        round_decimal("1.5", places, rounding)


# Formatting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "locale", "text"),
    [
        (Money(123456, "EUR"), "es", "1.234,56 €"),
        (Money(123456, "EUR"), "it", "1.234,56 €"),
        (Money(123456, "EUR"), "en", "€1,234.56"),
        (Money(-123456, "EUR"), "es", "-1.234,56 €"),
        (Money(-123456, "EUR"), "en", "-€1,234.56"),
        (Money(5, "EUR"), "es", "0,05 €"),
        (Money(0, "EUR"), "en", "€0.00"),
        (Money(99999, "EUR"), "es", "999,99 €"),
        (Money(123456789012, "EUR"), "es", "1.234.567.890,12 €"),
        (Money(10**18, "EUR"), "en", "€10,000,000,000,000,000.00"),
        (Money(150000, "USD"), "en", "$1,500.00"),
        (Money(150000, "USD"), "es", "1.500,00 US$"),
        (Money(150000, "GBP"), "it", "1.500,00 £"),
        (Money(1234567, "JPY"), "es", "1.234.567 ¥"),
        (Money(1234567, "JPY"), "en", "¥1,234,567"),
        (Money(1234567, "BHD"), "es", "1.234,567 BHD"),
        (Money(1234567, "BHD"), "en", "BHD 1,234.567"),
        (Money(-50, "CHF"), "en", "-CHF 0.50"),
        (Money(12345, "CLF"), "it", "1,2345 CLF"),
        (Money(123456, "EUR"), "es-es", "1.234,56 €"),
        (Money(123456, "EUR"), "it_IT", "1.234,56 €"),
        (Money(123456, "EUR"), "en-US", "€1,234.56"),
    ],
)
def test_format_money(money, locale, text):
    assert format_money(money, locale) == text


def test_format_money_defaults_to_spanish_and_refuses_other_locales():
    assert format_money(Money(123456, "EUR")) == "1.234,56 €"
    with pytest.raises(ValueError, match="unsupported locale"):
        format_money(Money(1, "EUR"), "fr")
    with pytest.raises(TypeError):
        format_money(Decimal("1.00"), "es")  # type: ignore[arg-type]

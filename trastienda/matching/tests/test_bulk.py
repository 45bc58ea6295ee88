"""Bulk keyed matching: every break kind, the tolerance edges, aggregation, duplicates, the
relaxed pass, three-way, and a property test against a naive pure-Python version.

Plain values, no database. Prices are in 10^-8 units (10.00 = 1_000_000_000), fees in cents.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trastienda.matching import engine
from trastienda.matching.bulk import (
    KeyedConfig,
    KeyedResult,
    match_keyed,
    match_three_way,
    to_items,
)

DAY = dt.date(2026, 3, 2)
SETTLE = dt.date(2026, 3, 4)
PRICE = 1_000_000_000  # 10.00
KEYS = ("trade_date", "instrument", "side", "account", "broker")


def trade(id: str, quantity: int = 100, price: int = PRICE, fees: int = 500, **fields: Any) -> dict:
    row = {
        "id": id,
        "trade_date": DAY,
        "instrument": "ES0113900J37",
        "side": "B",
        "account": "ACC1",
        "broker": "BRK1",
        "quantity": quantity,
        "price": price,
        "fees": fees,
        "settlement_date": SETTLE,
    }
    row.update(fields)
    return row


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema_overrides={"quantity": pl.Int64, "price": pl.Int64})


def run(left: list[dict], right: list[dict], **config: Any) -> KeyedResult:
    return match_keyed(frame(*left), frame(*right), KeyedConfig(**config))


def breaks(result: KeyedResult) -> list[tuple[Any, ...]]:
    """(kind, left ids, right ids, left value, right value, difference), sorted."""
    rows = result.breaks.select(
        "kind", "left_ids", "right_ids", "left_value", "right_value", "difference"
    ).rows()
    return sorted(
        (
            (
                kind,
                tuple(sorted(left)) if left else None,
                tuple(sorted(right)) if right else None,
                *rest,
            )
            for kind, left, right, *rest in rows
        ),
        key=repr,
    )


def matched(result: KeyedResult) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    return sorted(
        (tuple(sorted(left)), tuple(sorted(right)))
        for left, right in result.matched.select("left_ids", "right_ids").rows()
    )


# --- the break kinds ------------------------------------------------------------------------


def test_equal_rows_match_and_keys_are_reported() -> None:
    result = run(
        [trade("L1"), trade("L2", instrument="X")], [trade("R2", instrument="X"), trade("R1")]
    )
    assert matched(result) == [(("L1",), ("R1",)), (("L2",), ("R2",))]
    assert result.breaks.is_empty()
    assert result.matched.columns == [*KEYS, "left_ids", "right_ids"]


def test_missing_on_either_side() -> None:
    result = run(
        [trade("L1"), trade("L2", instrument="X")], [trade("R1"), trade("R3", account="B")]
    )
    assert breaks(result) == [
        ("missing_left", None, ("R3",), None, "100", None),
        ("missing_right", ("L2",), None, "100", None, None),
    ]
    row = result.breaks.filter(pl.col("kind") == "missing_left").row(0, named=True)
    assert row["account"] == "B"  # the keys of the side that has the row


def test_each_field_break_with_both_values_and_the_difference() -> None:
    result = run(
        [
            trade("L1", instrument="Q", quantity=100),
            trade("L2", instrument="P", price=PRICE),
            trade("L3", instrument="F", fees=500),
            trade("L4", instrument="S"),
        ],
        [
            trade("R1", instrument="Q", quantity=90),
            trade("R2", instrument="P", price=PRICE + 200_000),  # 2 bp
            trade("R3", instrument="F", fees=520),
            trade("R4", instrument="S", settlement_date=dt.date(2026, 3, 5)),
        ],
        price_tolerance_bp=1,
    )
    assert breaks(result) == [
        ("fees", ("L3",), ("R3",), "500", "520", "-20"),
        ("price", ("L2",), ("R2",), "1000000000", "1000200000", "-200000"),
        ("quantity", ("L1",), ("R1",), "100", "90", "10"),
        ("settlement_date", ("L4",), ("R4",), "2026-03-04", "2026-03-05", "-1"),
    ]
    assert result.matched.is_empty()


def test_a_pair_differing_in_two_fields_gives_two_breaks() -> None:
    result = run([trade("L1", quantity=100, fees=1)], [trade("R1", quantity=101, fees=2)])
    assert [b[0] for b in breaks(result)] == ["fees", "quantity"]
    assert result.matched.is_empty()


def test_amount_column_when_configured() -> None:
    left, right = trade("L1", amount=100_000), trade("R1", amount=100_003)
    assert breaks(run([left], [right], amount="amount", amount_tolerance=2)) == [
        ("amount", ("L1",), ("R1",), "100000", "100003", "-3")
    ]
    assert matched(run([left], [right], amount="amount", amount_tolerance=3)) == [
        (("L1",), ("R1",))
    ]


# --- tolerance edges ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("right_price", "bp", "ok"),
    [
        (PRICE + 100_000, 1, True),  # exactly 1 bp of 10.00
        (PRICE + 100_001, 1, False),
        (PRICE - 100_000, 1, True),
        (PRICE - 100_001, 1, False),
        (PRICE + 50_000, "0.5", True),
        (PRICE + 50_001, "0.5", False),
        (PRICE + 1, 0, False),
        (PRICE, 0, True),
    ],
)
def test_price_tolerance_in_basis_points_of_the_left_price(
    right_price: int, bp: Any, ok: bool
) -> None:
    result = run([trade("L1")], [trade("R1", price=right_price)], price_tolerance_bp=bp)
    assert bool(result.matched.height) is ok
    assert result.breaks.height == (0 if ok else 1)


def test_price_tolerance_is_relative_to_the_left_price() -> None:
    # |a - b| = 100_000; 1 bp of the left 10.00 is 100_000 but 1 bp of 9.99 is 99_900
    assert run(
        [trade("L1", price=PRICE)], [trade("R1", price=PRICE - 100_000)], price_tolerance_bp=1
    ).breaks.is_empty()
    low = PRICE - 100_000
    assert not run(
        [trade("L1", price=low)], [trade("R1", price=PRICE)], price_tolerance_bp=1
    ).breaks.is_empty()


@pytest.mark.parametrize(
    ("difference", "ok"), [(0, True), (3, True), (-3, True), (4, False), (-4, False)]
)
def test_absolute_tolerances_for_quantity_and_fees(difference: int, ok: bool) -> None:
    quantity = run([trade("L1")], [trade("R1", quantity=100 + difference)], quantity_tolerance=3)
    fees = run([trade("L1")], [trade("R1", fees=500 + difference)], fees_tolerance=3)
    assert quantity.breaks.is_empty() is ok
    assert fees.breaks.is_empty() is ok


def test_decimal_columns_compare_exactly() -> None:
    schema = {"price": pl.Decimal(18, 4), "fees": pl.Decimal(12, 2)}
    left = pl.DataFrame(
        [trade("L1", price=Decimal("10.0000"), fees=Decimal("5.00"))], schema_overrides=schema
    )
    right = pl.DataFrame(
        [trade("R1", price=Decimal("10.0010"), fees=Decimal("5.01"))],
        schema_overrides={"price": pl.Decimal(18, 3), "fees": pl.Decimal(12, 2)},
    )
    assert match_keyed(
        left, right, KeyedConfig(price_tolerance_bp=1, fees_tolerance=1)
    ).breaks.is_empty()
    result = match_keyed(left, right, KeyedConfig(price_tolerance_bp="0.99", fees_tolerance=0))
    assert sorted(result.breaks["kind"]) == ["fees", "price"]


def test_floats_are_refused() -> None:
    left = pl.DataFrame([trade("L1", price=10.0)])
    with pytest.raises(TypeError, match="float"):
        match_keyed(left, frame(trade("R1")), KeyedConfig())


def test_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="negative"):
        KeyedConfig(fees_tolerance=-1)
    with pytest.raises(ValueError, match="relaxed"):
        KeyedConfig(relaxed=(("nope",),))
    with pytest.raises(ValueError, match="missing columns"):
        match_keyed(frame(trade("L1")).drop("fees"), frame(trade("R1")), KeyedConfig())


# --- aggregation ----------------------------------------------------------------------------


def test_three_partial_fills_against_one_confirmation() -> None:
    fills = [
        trade("F1", quantity=50, price=PRICE + 1_000_000, fees=200),
        trade("F2", quantity=30, price=PRICE - 1_000_000, fees=150),
        trade("F3", quantity=20, price=PRICE - 1_000_000, fees=150),
    ]
    # weighted average: (50 * (P + 1e6) + 50 * (P - 1e6)) / 100 = P
    confirmation = trade("C1", quantity=100, price=PRICE, fees=500)
    result = run(fills, [confirmation], aggregate_left=True)
    assert matched(result) == [(("F1", "F2", "F3"), ("C1",))]
    assert result.breaks.is_empty()
    # without aggregation: the exact key is there three times on the left
    plain = run(fills, [confirmation])
    assert Counter(b[0] for b in breaks(plain)) == Counter(
        {"duplicate": 2, "quantity": 1, "price": 1, "fees": 1}
    )


def test_weighted_average_price_is_compared_exactly() -> None:
    fills = [
        trade("F1", quantity=1, price=PRICE, fees=200),
        trade("F2", quantity=2, price=PRICE + 300_000, fees=300),
    ]
    # average = P + 200_000 exactly; against P + 100_000: 1 bp of the left P + 200_000 is 100_020
    near = run(
        fills,
        [trade("C1", quantity=3, price=PRICE + 100_000)],
        aggregate_left=True,
        price_tolerance_bp=1,
    )
    assert near.breaks.is_empty()
    # average P + 100_000.33...: not within 0 bp of P + 100_000, shown rounded
    thirds = [
        trade("F1", quantity=2, price=PRICE, fees=200),
        trade("F2", quantity=1, price=PRICE + 300_001, fees=300),
    ]
    far = run(thirds, [trade("C1", quantity=3, price=PRICE + 100_000)], aggregate_left=True)
    assert breaks(far) == [("price", ("F1", "F2"), ("C1",), "1000100000", "1000100000", "0")]


def test_one_block_against_three_allocations() -> None:
    block = trade("B1", quantity=300, fees=900)
    allocations = [trade(f"A{i}", quantity=100, fees=300) for i in (1, 2, 3)]
    result = run([block], allocations, aggregate_right=True)
    assert matched(result) == [(("B1",), ("A1", "A2", "A3"))]
    short = run([block], allocations[:2], aggregate_right=True)
    assert breaks(short) == [
        ("fees", ("B1",), ("A1", "A2"), "900", "600", "300"),
        ("quantity", ("B1",), ("A1", "A2"), "300", "200", "100"),
    ]


def test_aggregated_settlement_dates_are_a_range() -> None:
    fills = [
        trade("F1", quantity=50),
        trade("F2", quantity=50, settlement_date=dt.date(2026, 3, 5)),
    ]
    result = run(fills, [trade("C1")], aggregate_left=True, fees=None)
    assert breaks(result) == [
        ("settlement_date", ("F1", "F2"), ("C1",), "2026-03-04..2026-03-05", "2026-03-04", "0")
    ]


# --- duplicates -----------------------------------------------------------------------------


def test_the_same_id_twice_is_one_duplicate_and_the_first_row_still_matches() -> None:
    result = run([trade("L1")], [trade("R1"), trade("R1"), trade("R1")])
    assert matched(result) == [(("L1",), ("R1",))]
    assert breaks(result) == [("duplicate", None, ("R1",), None, "3", None)]


def test_the_same_key_twice_without_aggregation() -> None:
    result = run([trade("L1")], [trade("R1"), trade("R2")])
    assert matched(result) == [(("L1",), ("R1",))]
    # the counts of the key on each side
    assert breaks(result) == [("duplicate", None, ("R2",), "1", "2", None)]


def test_the_exact_twin_is_preferred_over_the_first_occurrence() -> None:
    result = run([trade("L1", quantity=100)], [trade("R1", quantity=50), trade("R2", quantity=100)])
    assert matched(result) == [(("L1",), ("R2",))]
    assert breaks(result) == [("duplicate", None, ("R1",), "1", "2", None)]


def test_same_key_repeated_equally_on_both_sides_is_no_break() -> None:
    left = [trade("L1", quantity=10), trade("L2", quantity=20)]
    right = [trade("R1", quantity=20), trade("R2", quantity=10)]
    result = run(left, right)
    assert matched(result) == [(("L1",), ("R2",)), (("L2",), ("R1",))]
    assert result.breaks.is_empty()


def test_surplus_key_on_the_left() -> None:
    result = run([trade("L1"), trade("L2", quantity=7)], [trade("R1")])
    assert breaks(result) == [("duplicate", ("L2",), None, "2", "1", None)]


# --- the relaxed pass -----------------------------------------------------------------------


def test_relaxed_pass_turns_two_missing_into_one_account_break() -> None:
    left, right = [trade("L1", account="ACC1")], [trade("R1", account="ACC9")]
    assert [b[0] for b in breaks(run(left, right))] == ["missing_left", "missing_right"]
    result = run(left, right, relaxed=(("account",),))
    assert breaks(result) == [("account", ("L1",), ("R1",), "ACC1", "ACC9", None)]


def test_relaxed_pair_also_reports_its_field_breaks_and_passes_run_in_order() -> None:
    result = run(
        [trade("L1", side="B", fees=1), trade("L2", account="X", instrument="Y")],
        [trade("R1", side="S", fees=2), trade("R2", account="Z", instrument="Y")],
        relaxed=(("side",), ("account",)),
    )
    assert breaks(result) == [
        ("account", ("L2",), ("R2",), "X", "Z", None),
        ("fees", ("L1",), ("R1",), "1", "2", "-1"),
        ("side", ("L1",), ("R1",), "B", "S", None),
    ]


def test_relaxed_pass_needs_one_candidate_each_and_the_quantity() -> None:
    ambiguous = run(
        [trade("L1", account="A")],
        [trade("R1", account="B"), trade("R2", account="C")],
        relaxed=(("account",),),
    )
    assert Counter(b[0] for b in breaks(ambiguous)) == {"missing_left": 2, "missing_right": 1}
    other_quantity = run(
        [trade("L1", account="A")], [trade("R1", account="B", quantity=5)], relaxed=(("account",),)
    )
    assert Counter(b[0] for b in breaks(other_quantity)) == {"missing_left": 1, "missing_right": 1}
    # the candidate with the right quantity is the only one
    chosen = run(
        [trade("L1", account="A")],
        [trade("R1", account="B"), trade("R2", account="C", quantity=5)],
        relaxed=(("account",),),
    )
    assert [b[:3] for b in breaks(chosen)] == [
        ("account", ("L1",), ("R1",)),
        ("missing_left", None, ("R2",)),
    ]


def test_relaxed_pass_is_bounded() -> None:
    left = [trade(f"L{i}", account=f"A{i}", quantity=i + 1) for i in range(4)]
    right = [trade(f"R{i}", account=f"B{i}", quantity=i + 1) for i in range(4)]
    wide = run(left, right, relaxed=(("account",),))
    assert Counter(wide.breaks["kind"]) == {"account": 4}
    narrow = run(left, right, relaxed=(("account",),), relaxed_max_candidates=3)
    assert Counter(narrow.breaks["kind"]) == {"missing_left": 4, "missing_right": 4}


# --- three-way and the engine ---------------------------------------------------------------


def test_three_way_tags_the_pair_of_sources() -> None:
    front = frame(trade("FO1"), trade("FO2", instrument="X"))
    back = frame(trade("BO1"), trade("BO2", instrument="X", quantity=99))
    brokers = {
        "BRK1": frame(trade("C1", fees=501), trade("C2", instrument="X", quantity=99)),
        "BRK2": frame(trade("C3", broker="BRK2")),
    }
    result = match_three_way(front, back, brokers, KeyedConfig())
    assert result.breaks.columns[0] == "sources"
    found = sorted(result.breaks.select("sources", "kind", "left_ids", "right_ids").rows())
    assert found == [
        ("back/broker", "fees", ["BO1"], ["C1"]),
        ("back/broker", "missing_left", None, ["C3"]),
        ("front/back", "quantity", ["FO2"], ["BO2"]),
    ]
    assert matched(result.front_back) == [(("FO1",), ("BO1",))]
    assert matched(result.with_broker) == [(("BO2",), ("C2",))]


def test_three_way_can_hold_the_brokers_against_the_front_office() -> None:
    front = frame(trade("FO1"), trade("FO2", instrument="X", quantity=99))
    back = frame(trade("BO1"), trade("BO2", instrument="X"))
    confirms = frame(trade("C1"), trade("C2", instrument="X", quantity=99))
    result = match_three_way(front, back, confirms, KeyedConfig(), broker_against="front")
    found = sorted(result.breaks.select("sources", "kind", "left_ids", "right_ids").rows())
    # the books are wrong, the broker agrees with the front office: one break, front/back
    assert found == [("front/back", "quantity", ["FO2"], ["BO2"])]
    assert matched(result.with_broker) == [(("FO1",), ("C1",)), (("FO2",), ("C2",))]
    with pytest.raises(ValueError, match="broker_against"):
        match_three_way(front, back, confirms, KeyedConfig(), broker_against="side")


def test_a_break_can_be_shown_to_the_scored_engine() -> None:
    config = KeyedConfig()
    left = frame(trade("L1", account="A"))
    right = frame(trade("R1", account="B"), trade("R2", account="C", quantity=40))
    result = match_keyed(left, right, config)
    missing = result.breaks.filter(pl.col("kind") == "missing_right")
    ids = missing["left_ids"].explode()
    (item,) = to_items(left.filter(pl.col("id").is_in(ids.implode())), config, "left")
    others = to_items(right, config, "right")
    proposals = engine.candidates(item, others, engine.Config(amount_tolerance=0))
    assert [p.right[0].key for p in proposals][:1] == ["R1"]
    assert item.group == "ES0113900J37|B" and item.party == "BRK1"


# --- property: against a naive implementation -----------------------------------------------


def naive(left: list[dict], right: list[dict], config: KeyedConfig) -> tuple[list, list]:
    """The documented algorithm row by row: (matched pairs, breaks) in the test's shapes."""
    keys = list(config.keys)
    out_breaks: list[tuple[Any, ...]] = []

    def prepare(rows: list[dict], aggregate: bool, side: str) -> list[dict]:
        seen: Counter[str] = Counter(row["id"] for row in rows)
        firsts: dict[str, dict] = {}
        for row in rows:
            firsts.setdefault(row["id"], row)
        for id, count in seen.items():
            if count > 1:
                ids = (id,)
                out_breaks.append(
                    ("duplicate", ids if side == "left" else None, ids if side == "right" else None)
                    + ((str(count), None) if side == "left" else (None, str(count)))
                    + (None,)
                )
        units = [
            {
                "key": tuple(row[k] for k in keys),
                "ids": (row["id"],),
                "q": row["quantity"],
                "pn": row["price"],
                "pd": 1,
                "f": row["fees"],
                "s0": row["settlement_date"],
                "s1": row["settlement_date"],
                "row": row,
            }
            for row in firsts.values()
        ]
        if not aggregate:
            return units
        groups: dict[tuple, list[dict]] = {}
        for unit in units:
            groups.setdefault(unit["key"], []).append(unit)
        return [
            {
                "key": key,
                "ids": tuple(sorted(i for u in members for i in u["ids"])),
                "q": sum(u["q"] for u in members),
                "pn": sum(u["q"] * u["pn"] for u in members),
                "pd": sum(u["q"] for u in members),
                "f": sum(u["f"] for u in members),
                "s0": min(u["s0"] for u in members),
                "s1": max(u["s0"] for u in members),
                "row": members[0]["row"],
            }
            for key, members in groups.items()
        ]

    lefts = prepare(left, config.aggregate_left, "left")
    rights = prepare(right, config.aggregate_right, "right")
    aggregated = config.aggregate_left or config.aggregate_right

    def pair(ls: list[dict], rs: list[dict], value: Any, order: Any) -> tuple[list, list, list]:
        by_l: dict[Any, list[dict]] = {}
        by_r: dict[Any, list[dict]] = {}
        for u in sorted(ls, key=order):
            by_l.setdefault(value(u), []).append(u)
        for u in sorted(rs, key=order):
            by_r.setdefault(value(u), []).append(u)
        pairs, rest_l, rest_r = [], [], []
        for v in set(by_l) | set(by_r):
            a, b = by_l.get(v, []), by_r.get(v, [])
            pairs += list(zip(a, b, strict=False))
            rest_l += a[len(b) :]
            rest_r += b[len(a) :]
        return pairs, rest_l, rest_r

    def exact_value(u: dict) -> tuple:
        return (u["key"], u["q"], u["f"], u["s0"], u["s1"]) + (() if aggregated else (u["pn"],))

    exact, rest_l, rest_r = pair(lefts, rights, exact_value, lambda u: min(u["ids"]))
    stage2, rest_l, rest_r = pair(
        rest_l,
        rest_r,
        lambda u: u["key"],
        lambda u: (u["q"], u["pn"], u["f"], u["s0"], u["s1"], min(u["ids"])),
    )
    bp = config.bp

    def display(n: int, d: int) -> int:
        rounded = (2 * abs(n) + d) // (2 * d)
        return -rounded if n < 0 else rounded

    def text(a: dt.date, b: dt.date) -> str:
        return str(a) if a == b else f"{a}..{b}"

    def field_breaks(a: dict, b: dict) -> list[tuple]:
        found = []
        ids = (a["ids"], b["ids"])
        if abs(a["q"] - b["q"]) > config.quantity_tolerance:
            found.append(("quantity", *ids, str(a["q"]), str(b["q"]), str(a["q"] - b["q"])))
        x, y = a["pn"] * b["pd"], b["pn"] * a["pd"]
        if not abs(x - y) * 10000 * bp.denominator <= abs(x) * bp.numerator:
            pa, pb = display(a["pn"], a["pd"]), display(b["pn"], b["pd"])
            found.append(("price", *ids, str(pa), str(pb), str(pa - pb)))
        if abs(a["f"] - b["f"]) > config.fees_tolerance:
            found.append(("fees", *ids, str(a["f"]), str(b["f"]), str(a["f"] - b["f"])))
        if (a["s0"], a["s1"]) != (b["s0"], b["s1"]):
            found.append(
                (
                    "settlement_date",
                    *ids,
                    text(a["s0"], a["s1"]),
                    text(b["s0"], b["s1"]),
                    str((a["s0"] - b["s0"]).days),
                )
            )
        return found

    out_matched = []
    for a, b in exact + stage2:
        found = field_breaks(a, b) if (aggregated or (a, b) in stage2) else []
        if found:
            out_breaks.extend(found)
        else:
            out_matched.append((a["ids"], b["ids"]))

    def surplus(rest: list[dict], own: list[dict], other: list[dict], side: str) -> list[dict]:
        kept = []
        for u in rest:
            n_other = sum(1 for o in other if o["key"] == u["key"])
            if not n_other:
                kept.append(u)
                continue
            n_own = sum(1 for o in own if o["key"] == u["key"])
            counts = (str(n_own), str(n_other)) if side == "left" else (str(n_other), str(n_own))
            ids = (u["ids"], None) if side == "left" else (None, u["ids"])
            out_breaks.append(("duplicate", *ids, *counts, None))
        return kept

    rest_l = surplus(rest_l, lefts, rights, "left")
    rest_r = surplus(rest_r, rights, lefts, "right")

    for dropped in config.relaxed:
        on = [i for i, k in enumerate(keys) if k not in dropped]

        def sub(u: dict, on: list[int] = on) -> tuple:
            return tuple(u["key"][i] for i in on)

        near_l = [
            u
            for u in rest_l
            if sum(sub(v) == sub(u) for v in rest_l) <= config.relaxed_max_candidates
        ]
        near_r = [
            u
            for u in rest_r
            if sum(sub(v) == sub(u) for v in rest_r) <= config.relaxed_max_candidates
        ]
        candidates = [
            (a, b)
            for a in near_l
            for b in near_r
            if sub(a) == sub(b) and abs(a["q"] - b["q"]) <= config.quantity_tolerance
        ]
        chosen = [
            (a, b)
            for a, b in candidates
            if sum(x is a for x, _ in candidates) == 1 and sum(y is b for _, y in candidates) == 1
        ]
        for a, b in chosen:
            for column in dropped:
                if a["row"][column] != b["row"][column]:
                    out_breaks.append(
                        (
                            column,
                            a["ids"],
                            b["ids"],
                            str(a["row"][column]),
                            str(b["row"][column]),
                            None,
                        )
                    )
            out_breaks.extend(field_breaks(a, b))
        rest_l = [u for u in rest_l if not any(u is a for a, _ in chosen)]
        rest_r = [u for u in rest_r if not any(u is b for _, b in chosen)]

    out_breaks += [("missing_right", u["ids"], None, str(u["q"]), None, None) for u in rest_l]
    out_breaks += [("missing_left", None, u["ids"], None, str(u["q"]), None) for u in rest_r]
    normalised = [
        (kind, tuple(sorted(a)) if a else None, tuple(sorted(b)) if b else None, *rest)
        for kind, a, b, *rest in out_breaks
    ]
    return sorted(out_matched), sorted(normalised, key=repr)


def rows_strategy(prefix: str) -> st.SearchStrategy[list[dict]]:
    row = st.builds(
        lambda id, account, side, q, p, f, s: trade(
            f"{prefix}{id}",
            quantity=q,
            price=p,
            fees=f,
            account=account,
            side=side,
            settlement_date=SETTLE + dt.timedelta(days=s),
        ),
        st.integers(0, 7),
        st.sampled_from(["A1", "A2", "A3"]),
        st.sampled_from(["B", "S"]),
        st.sampled_from([10, 11, 20]),
        st.sampled_from([PRICE, PRICE + 100_000, PRICE + 300_000]),
        st.sampled_from([0, 1, 5]),
        st.integers(0, 1),
    )
    return st.lists(row, max_size=9)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    left=rows_strategy("L"),
    right=rows_strategy("R"),
    aggregate_left=st.booleans(),
    aggregate_right=st.booleans(),
    quantity_tolerance=st.sampled_from([0, 1]),
    bp=st.sampled_from([0, 1, "2.5"]),
    fees_tolerance=st.sampled_from([0, 1]),
    relaxed=st.sampled_from([(), (("account",),), (("side",), ("account",))]),
    bound=st.sampled_from([1, 2, 20]),
)
def test_match_keyed_agrees_with_a_naive_implementation(
    left: list[dict],
    right: list[dict],
    aggregate_left: bool,
    aggregate_right: bool,
    quantity_tolerance: int,
    bp: Any,
    fees_tolerance: int,
    relaxed: tuple[tuple[str, ...], ...],
    bound: int,
) -> None:
    config = KeyedConfig(
        aggregate_left=aggregate_left,
        aggregate_right=aggregate_right,
        quantity_tolerance=quantity_tolerance,
        price_tolerance_bp=bp,
        fees_tolerance=fees_tolerance,
        relaxed=relaxed,
        relaxed_max_candidates=bound,
    )
    schema = {
        "id": pl.String,
        "trade_date": pl.Date,
        "instrument": pl.String,
        "side": pl.String,
        "account": pl.String,
        "broker": pl.String,
        "quantity": pl.Int64,
        "price": pl.Int64,
        "fees": pl.Int64,
        "settlement_date": pl.Date,
    }
    result = match_keyed(
        pl.DataFrame(left, schema=schema), pl.DataFrame(right, schema=schema), config
    )
    expected_matched, expected_breaks = naive(left, right, config)
    assert matched(result) == expected_matched
    assert breaks(result) == expected_breaks
    # every distinct row (after id duplicates) is in exactly one pair or one unpaired break
    ids_used = Counter(
        i
        for column in ("left_ids", "right_ids")
        for ids in pl.concat(
            [
                result.matched.select(column),
                result.breaks.filter(pl.col("kind") != "duplicate")
                .unique(subset=["left_ids", "right_ids"])
                .select(column),
            ]
        )[column]
        if ids is not None
        for i in ids
    )
    assert all(count == 1 for count in ids_used.values())

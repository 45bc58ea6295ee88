"""Bulk, key-based matching: millions of rows on each side, vectorised with polars.

The scored engine (:mod:`trastienda.matching.engine`) weighs evidence item by item; a brokerage
reconciliation instead knows which columns identify a trade (trade date, instrument, side,
account, broker) and which columns must agree within a tolerance (quantity, price, fees,
amount, settlement date). This module is that second case: joins and group-bys over two
``polars.DataFrame`` values, never a Python loop per row. See ``trastienda/matching/DESIGN.md``,
section "Bulk keyed matching".

Money and prices are integers (minor units; prices in 10^-8 units) or ``polars.Decimal``
(compared on their scaled integer value, both sides brought to the larger scale); a float
column is refused. The price tolerance is in basis points of the left price, checked exactly:
``|left - right| * 10000 <= bp * |left|``, with aggregated (weighted average) prices compared as
fractions on 128-bit integers.

Steps of :func:`match_keyed`:

1. **Ids.** A row whose id already appeared on its side is a ``duplicate`` break (one per
   repeated id) and is dropped; the first row is kept.
2. **Aggregation** (``aggregate_left`` / ``aggregate_right``): that side becomes one row per
   key, quantity summed, price the quantity-weighted average, fees and amount summed,
   settlement dates kept as their range, member ids in a list.
3. **Exact pairing.** Rows equal on the key and on every compared value pair off, the n-th
   occurrence on the left with the n-th on the right (occurrences in id order).
4. **Key pairing.** What is left pairs on the key alone, occurrences ordered by quantity,
   price, fees, amount, settlement date, id. A pair within every tolerance is matched;
   otherwise it gives one break per field that differs (``quantity``, ``price``, ``fees``,
   ``amount``, ``settlement_date``).
5. **Surplus.** A row left over whose key exists on the other side (its side has the key more
   often) is a ``duplicate`` break.
6. **Relaxed keys** (optional, ``relaxed``): for each tuple of key columns to drop, in order,
   the rows still unpaired are joined on the remaining keys and kept when the quantities agree
   within the tolerance; a pair is made only when each row is the other's only such
   candidate. It gives a break named after each dropped column that differs (``account``,
   ``side``...) plus the field breaks. Bounded: groups of more than
   ``relaxed_max_candidates`` unpaired rows on one side sharing the remaining keys are skipped.
7. **Missing.** The rest: ``missing_right`` (left row, nothing on the right) and
   ``missing_left``.
"""

from __future__ import annotations

import datetime
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from trastienda.matching.engine import Item

MISSING_LEFT = "missing_left"
MISSING_RIGHT = "missing_right"
QUANTITY = "quantity"
PRICE = "price"
FEES = "fees"
AMOUNT = "amount"
SETTLEMENT_DATE = "settlement_date"
DUPLICATE = "duplicate"
#: The fixed kinds, in the order breaks are listed; a relaxed pass adds kinds named after the
#: key columns it drops (``account``, ``side``...), listed after these.
BREAK_KINDS = (
    MISSING_LEFT,
    MISSING_RIGHT,
    DUPLICATE,
    QUANTITY,
    PRICE,
    FEES,
    AMOUNT,
    SETTLEMENT_DATE,
)

# internal column names (the caller's columns never start with an underscore and a letter
# of these)
_ID, _IDS, _Q, _PN, _PD, _F, _A, _S0, _S1, _K = (
    "_id",
    "_ids",
    "_q",
    "_pn",
    "_pd",
    "_f",
    "_a",
    "_s0",
    "_s1",
    "_k",
)
_R = "_r"  # suffix of the right side's columns after a join
_FLOATS = (pl.Float32, pl.Float64)


@dataclass(frozen=True, slots=True)
class KeyedConfig:
    """What identifies a row and what must agree.

    ``keys``: columns that must be equal. ``id``: the row's id column (unique on its side).
    ``quantity`` (required), ``price``, ``fees``, ``amount``, ``settlement_date``: the compared
    columns (``None`` when absent). Tolerances: ``quantity_tolerance``, ``fees_tolerance`` and
    ``amount_tolerance`` are absolute (units, minor units); ``price_tolerance_bp`` is in basis
    points of the left price (an int, or a ``Fraction``/str such as ``"0.5"``).
    ``aggregate_left`` / ``aggregate_right``: one row per key on that side (partial fills,
    allocations). ``relaxed``: tuples of key columns dropped, one tuple per pass, in order, for
    the rows the exact key left unpaired (e.g. ``(("account",), ("side",))``); rows sharing
    their remaining keys with more than ``relaxed_max_candidates`` unpaired rows of their side
    are not searched (the bound of the pass)."""

    keys: tuple[str, ...] = ("trade_date", "instrument", "side", "account", "broker")
    id: str = "id"
    quantity: str = "quantity"
    price: str | None = "price"
    fees: str | None = "fees"
    amount: str | None = None
    settlement_date: str | None = "settlement_date"
    quantity_tolerance: int = 0
    price_tolerance_bp: int | str | Fraction = 0
    fees_tolerance: int = 0
    amount_tolerance: int = 0
    aggregate_left: bool = False
    aggregate_right: bool = False
    relaxed: tuple[tuple[str, ...], ...] = ()
    relaxed_max_candidates: int = 20

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("keys must name at least one column")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("keys repeat a column")
        for name in ("quantity_tolerance", "fees_tolerance", "amount_tolerance"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.bp < 0:
            raise ValueError("price_tolerance_bp must not be negative")
        if self.relaxed_max_candidates < 1:
            raise ValueError("relaxed_max_candidates must be at least 1")
        for dropped in self.relaxed:
            if not dropped or not set(dropped) <= set(self.keys) or set(dropped) == set(self.keys):
                raise ValueError(f"relaxed {dropped!r}: drop some, not all, of the keys")
        for column in self.columns:
            if column.startswith("_"):
                raise ValueError(f"column {column!r}: names starting with '_' are reserved")

    @property
    def bp(self) -> Fraction:
        return Fraction(str(self.price_tolerance_bp))

    @property
    def columns(self) -> list[str]:
        """Every column read from the frames."""
        optional = (self.price, self.fees, self.amount, self.settlement_date)
        return [*self.keys, self.id, self.quantity, *(c for c in optional if c)]


@dataclass
class KeyedResult:
    """``matched``: one row per pair within every tolerance: the key columns, ``left_ids`` and
    ``right_ids`` (lists: several ids on an aggregated side).

    ``breaks``: one row per break: ``kind``, the key columns (the left row's, or the right
    row's when there is no left row), ``left_ids``, ``right_ids`` (null where that side has no
    row), ``left_value``, ``right_value`` and ``difference`` (left - right) as text: the
    quantities for ``missing_*``; the occurrences on each side for ``duplicate``; the field's
    values otherwise (prices in the column's units, a weighted average rounded half up; a
    settlement date range as ``first..last``; a date difference in days)."""

    matched: pl.DataFrame
    breaks: pl.DataFrame

    def counts(self) -> dict[str, int]:
        """Breaks per kind (kinds without breaks omitted)."""
        rows = self.breaks.group_by("kind").len().iter_rows()
        return {str(kind): int(n) for kind, n in rows}


# --- preparing one side ---------------------------------------------------------------------


def _scales(left: pl.DataFrame, right: pl.DataFrame, config: KeyedConfig) -> dict[str, int]:
    """The common decimal scale of each compared Decimal column; refuse floats."""
    scales: dict[str, int] = {}
    for column in (config.quantity, config.price, config.fees, config.amount):
        if not column:
            continue
        for frame in (left, right):
            dtype = frame.schema[column]
            if isinstance(dtype, _FLOATS) or dtype in _FLOATS:
                raise TypeError(f"column {column!r} is a float: use integers or Decimal")
            if isinstance(dtype, pl.Decimal):
                scales[column] = max(scales.get(column, 0), dtype.scale or 0)
            elif not dtype.is_integer():
                raise TypeError(f"column {column!r} must be an integer or Decimal, not {dtype}")
    return scales


def _integer(column: str, scales: Mapping[str, int], dtype: pl.DataType) -> pl.Expr:
    """``column`` as an integer expression (a Decimal as its value times 10^scale)."""
    if column in scales:
        if isinstance(dtype, pl.Decimal):
            return pl.col(column).cast(pl.Decimal(38, scales[column])).to_physical()
        return pl.col(column).cast(pl.Int128) * (10 ** scales[column])
    return pl.col(column)


def _prepare(
    frame: pl.DataFrame,
    config: KeyedConfig,
    scales: Mapping[str, int],
    aggregate: bool,
    side: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the side in internal columns, its duplicate-id breaks)."""
    if frame[config.id].null_count():
        raise ValueError(f"{side}: null ids")
    schema = frame.schema
    q = _integer(config.quantity, scales, schema[config.quantity]).alias(_Q)
    price = (
        _integer(config.price, scales, schema[config.price]) if config.price else pl.lit(0)
    ).alias(_PN)
    fees = (_integer(config.fees, scales, schema[config.fees]) if config.fees else pl.lit(0)).alias(
        _F
    )
    amount = (
        _integer(config.amount, scales, schema[config.amount]) if config.amount else pl.lit(0)
    ).alias(_A)
    settle = (
        pl.col(config.settlement_date) if config.settlement_date else pl.lit(None, pl.Date)
    ).alias(_S0)
    rows = frame.select(*config.keys, pl.col(config.id).alias(_ID), q, price, fees, amount, settle)

    first = rows[_ID].is_first_distinct()
    duplicates = _empty_breaks(config, rows[_ID].dtype)
    if not first.all():
        repeated = (
            rows.filter(~first)
            .group_by(_ID, maintain_order=True)
            .agg(pl.col(config.keys).first(), (pl.len() + 1).alias("_count"))
        )
        ids = pl.concat_list(_ID)
        none = pl.lit(None, pl.List(rows[_ID].dtype))
        count = pl.col("_count").cast(pl.String)
        duplicates = repeated.select(
            pl.lit(DUPLICATE).alias("kind"),
            *config.keys,
            (ids if side == "left" else none).alias("left_ids"),
            (ids if side == "right" else none).alias("right_ids"),
            (count if side == "left" else pl.lit(None, pl.String)).alias("left_value"),
            (count if side == "right" else pl.lit(None, pl.String)).alias("right_value"),
            pl.lit(None, pl.String).alias("difference"),
        )
        rows = rows.filter(first)

    if not aggregate:
        return rows.with_columns(pl.lit(1, pl.Int64).alias(_PD), pl.col(_S0).alias(_S1)), duplicates
    grouped = rows.group_by(config.keys).agg(
        pl.col(_ID).sort().alias(_IDS),
        pl.col(_ID).min(),
        pl.col(_Q).sum(),
        (pl.col(_Q).cast(pl.Int128) * pl.col(_PN).cast(pl.Int128)).sum().alias(_PN),
        pl.col(_Q).sum().cast(pl.Int128).alias(_PD),
        pl.col(_F).sum(),
        pl.col(_A).sum(),
        pl.col(_S0).min(),
        pl.col(_S0).max().alias(_S1),
    )
    return grouped, duplicates


# --- pairing --------------------------------------------------------------------------------


def _ranked(rows: pl.DataFrame, by: list[str], order: list[str]) -> pl.DataFrame:
    """``rows`` with ``_k``: the occurrence number (0, 1...) of the row among the rows equal on
    ``by``, counted in ``order``. Only the rows whose ``by`` hash repeats are sorted and
    counted (a hash collision only makes that set larger)."""
    first = pl.lit(0, pl.UInt32).alias(_K)
    if rows.is_empty():
        return rows.with_columns(first)
    repeated = pl.struct(by).hash().is_duplicated()
    flagged = rows.with_columns(repeated.alias("_dup"))
    if not flagged["_dup"].any():
        return rows.with_columns(first)
    counted = (
        flagged.filter("_dup")
        .sort(order, nulls_last=True)
        .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).over(by).alias(_K))
    )
    alone = flagged.filter(~pl.col("_dup")).with_columns(first)
    return pl.concat([alone, counted]).drop("_dup")


def _pair(
    left: pl.DataFrame,
    right: pl.DataFrame,
    on: list[str],
    order: list[str],
    carry: Sequence[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(pairs, left rows unpaired, right rows unpaired): the n-th occurrence of a value of ``on``
    on the left with the n-th on the right. The pairs hold the left's columns, and the right's
    ``carry`` columns (default: all) with the suffix ``_r``; the joined values are copied with
    the suffix too. The unpaired rows are found by row number (cheaper than anti joins)."""
    left = _ranked(left, on, order).with_row_index("_rl")
    right = _ranked(right, on, order).with_row_index("_rr")
    joined = [*on, _K]
    wanted = [c for c in (right.columns if carry is None else carry) if c not in (*joined, "_rr")]
    narrow = right.select(*joined, "_rr", *(pl.col(c).alias(c + _R) for c in wanted))
    pairs = left.join(narrow, on=joined, how="inner", nulls_equal=True)
    # the right's copies of the joined values, so that every pair has the same columns
    pairs = pairs.with_columns(pl.col(c).alias(c + _R) for c in on if c.startswith("_"))
    rest_left = left.filter(~pl.col("_rl").is_in(pairs["_rl"].implode()))
    rest_right = right.filter(~pl.col("_rr").is_in(pairs["_rr"].implode()))
    return (
        pairs.drop("_rl", "_rr"),
        rest_left.drop(_K, "_rl"),
        rest_right.drop(_K, "_rr"),
    )


# --- classifying pairs ----------------------------------------------------------------------


def _display_price(numerator: str, denominator: str) -> pl.Expr:
    """A (weighted average) price rounded half up (away from zero) to the column's unit."""
    n, d = pl.col(numerator).cast(pl.Int128), pl.col(denominator).cast(pl.Int128)
    rounded = (2 * n.abs() + d) // (2 * d)
    return pl.when(d == 0).then(None).when(n < 0).then(0 - rounded).otherwise(rounded)


def _settlement_text(first: str, last: str) -> pl.Expr:
    a, b = pl.col(first).cast(pl.String), pl.col(last).cast(pl.String)
    return (
        pl.when(pl.col(first) == pl.col(last))
        .then(a)
        .otherwise(pl.concat_str(a, b, separator=".."))
    )


def _field_checks(config: KeyedConfig) -> list[tuple[str, pl.Expr, pl.Expr, pl.Expr, pl.Expr]]:
    """(kind, ok, left value, right value, difference) for each compared field of a pair."""

    def within(column: str, tolerance: int) -> pl.Expr:
        left, right = pl.col(column), pl.col(column + _R)
        both_null = left.is_null() & right.is_null()
        return both_null | ((left - right).abs() <= tolerance).fill_null(False)

    def text(expr: pl.Expr) -> pl.Expr:
        return expr.cast(pl.String)

    checks = [
        (
            QUANTITY,
            within(_Q, config.quantity_tolerance),
            text(pl.col(_Q)),
            text(pl.col(_Q + _R)),
            text(pl.col(_Q) - pl.col(_Q + _R)),
        )
    ]
    if config.price:
        bp = config.bp
        # left price a = pn/pd, right b = pn_r/pd_r: |a - b| * 10000 <= bp * |a| becomes, times
        # pd * pd_r > 0 and bp's denominator, integers only
        a = pl.col(_PN).cast(pl.Int128) * pl.col(_PD + _R).cast(pl.Int128)
        b = pl.col(_PN + _R).cast(pl.Int128) * pl.col(_PD).cast(pl.Int128)
        ok = (
            ((a - b).abs() * (10000 * bp.denominator) <= a.abs() * bp.numerator)
            & (pl.col(_PD) > 0)
            & (pl.col(_PD + _R) > 0)
        )
        left_price, right_price = _display_price(_PN, _PD), _display_price(_PN + _R, _PD + _R)
        checks.append(
            (
                PRICE,
                ok.fill_null(False),
                text(left_price),
                text(right_price),
                text(left_price - right_price),
            )
        )
    if config.fees:
        checks.append(
            (
                FEES,
                within(_F, config.fees_tolerance),
                text(pl.col(_F)),
                text(pl.col(_F + _R)),
                text(pl.col(_F) - pl.col(_F + _R)),
            )
        )
    if config.amount:
        checks.append(
            (
                AMOUNT,
                within(_A, config.amount_tolerance),
                text(pl.col(_A)),
                text(pl.col(_A + _R)),
                text(pl.col(_A) - pl.col(_A + _R)),
            )
        )
    if config.settlement_date:
        ok = pl.col(_S0).eq_missing(pl.col(_S0 + _R)) & pl.col(_S1).eq_missing(pl.col(_S1 + _R))
        checks.append(
            (
                SETTLEMENT_DATE,
                ok,
                _settlement_text(_S0, _S1),
                _settlement_text(_S0 + _R, _S1 + _R),
                text((pl.col(_S0) - pl.col(_S0 + _R)).dt.total_days()),
            )
        )
    return checks


def _ids(aggregated: bool, suffix: str = "") -> pl.Expr:
    return pl.col(_IDS + suffix) if aggregated else pl.concat_list(pl.col(_ID + suffix))


def _classify(
    pairs: pl.DataFrame,
    config: KeyedConfig,
    extra: Sequence[tuple[str, pl.Expr, pl.Expr, pl.Expr, pl.Expr]] = (),
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """(the pairs within every tolerance, their breaks: one frame per kind)."""
    checks = [*extra, *_field_checks(config)]
    left_ids = _ids(config.aggregate_left).alias("left_ids")
    right_ids = _ids(config.aggregate_right, _R).alias("right_ids")
    flagged = pairs.with_columns(*(ok.alias(f"_ok{i}") for i, (_k, ok, *_) in enumerate(checks)))
    all_ok = pl.all_horizontal(*(f"_ok{i}" for i in range(len(checks))))
    matched = flagged.filter(all_ok).select(*config.keys, left_ids, right_ids)
    broken = flagged.filter(~all_ok)
    breaks = [
        broken.filter(~pl.col(f"_ok{i}")).select(
            pl.lit(kind).alias("kind"),
            *config.keys,
            left_ids,
            right_ids,
            left.alias("left_value"),
            right.alias("right_value"),
            difference.alias("difference"),
        )
        for i, (kind, _ok, left, right, difference) in enumerate(checks)
    ]
    return matched, breaks


def _alone(
    rows: pl.DataFrame,
    config: KeyedConfig,
    aggregated: bool,
    kind: str,
    side: str,
    value: pl.Expr,
) -> pl.DataFrame:
    """Break rows for unpaired rows of one side."""
    dtype = rows[_ID].dtype
    none = pl.lit(None, pl.List(dtype))
    ids = _ids(aggregated)
    return rows.select(
        pl.lit(kind).alias("kind"),
        *config.keys,
        (ids if side == "left" else none).alias("left_ids"),
        (ids if side == "right" else none).alias("right_ids"),
        (value if side == "left" else pl.lit(None, pl.String)).alias("left_value"),
        (value if side == "right" else pl.lit(None, pl.String)).alias("right_value"),
        pl.lit(None, pl.String).alias("difference"),
    )


def _empty_breaks(config: KeyedConfig, id_dtype: pl.DataType) -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "kind": pl.String,
            **dict.fromkeys(config.keys, pl.Null),
            "left_ids": pl.List(id_dtype),
            "right_ids": pl.List(id_dtype),
            "left_value": pl.String,
            "right_value": pl.String,
            "difference": pl.String,
        }
    )


def _surplus(
    rest: pl.DataFrame, own: pl.DataFrame, other: pl.DataFrame, keys: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows of ``rest`` whose key is on the other side, the others), the first with
    ``_own`` and ``_other``: the occurrences of the key on each side."""
    if rest.is_empty():
        empty = rest.with_columns(
            pl.lit(0, pl.UInt32).alias("_own"), pl.lit(0, pl.UInt32).alias("_other")
        )
        return empty, rest
    wanted = rest.select(keys).unique()
    # narrow both sides by the keys' hash first (cheap), then join on the keys themselves
    hashes = wanted.select(pl.struct(keys).hash()).to_series().implode()
    own = own.filter(pl.struct(keys).hash().is_in(hashes))
    other = other.filter(pl.struct(keys).hash().is_in(hashes))
    counts_own = own.join(wanted, on=keys, how="semi").group_by(keys).agg(pl.len().alias("_own"))
    counts_other = (
        other.join(wanted, on=keys, how="semi").group_by(keys).agg(pl.len().alias("_other"))
    )
    found = rest.join(counts_other, on=keys, how="inner").join(counts_own, on=keys, how="left")
    return found, rest.join(counts_other, on=keys, how="anti")


# --- the entry points -----------------------------------------------------------------------


def match_keyed(left: pl.DataFrame, right: pl.DataFrame, config: KeyedConfig) -> KeyedResult:
    """Pair ``left`` and ``right`` on ``config.keys`` and classify what differs (module
    docstring). ``ValueError`` for a missing column or a null id, ``TypeError`` for a float or
    non-numeric compared column."""
    for side, frame in (("left", left), ("right", right)):
        missing = [c for c in config.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{side}: missing columns {missing}")
    scales = _scales(left, right, config)
    keys = list(config.keys)
    left_rows, left_dups = _prepare(left, config, scales, config.aggregate_left, "left")
    right_rows, right_dups = _prepare(right, config, scales, config.aggregate_right, "right")
    if left_rows[_ID].dtype != right_rows[_ID].dtype:
        right_rows = right_rows.with_columns(pl.col(_ID).cast(left_rows[_ID].dtype))
        if config.aggregate_right:
            right_rows = right_rows.with_columns(pl.col(_IDS).cast(pl.List(left_rows[_ID].dtype)))
    id_dtype = left_rows[_ID].dtype
    values = [_Q, _F, _A, _S0, _S1]
    if not (config.aggregate_left or config.aggregate_right):
        values.insert(1, _PN)
    order = [_Q, _PN, _F, _A, _S0, _S1, _ID]

    # 3. exact pairs; 4. pairs on the key alone, classified
    carry = [_ID] if _PN in values else [_ID, _IDS, _PN, _PD]
    carry = [c for c in carry if c in right_rows.columns]
    exact, rest_left, rest_right = _pair(
        left_rows, right_rows, keys + values, keys + values + [_ID], carry
    )
    pairs, rest_left, rest_right = _pair(rest_left, rest_right, keys, keys + order)
    if _PN in values:  # equal on every compared value: matched
        exact_matched = exact.select(
            *keys,
            _ids(config.aggregate_left).alias("left_ids"),
            _ids(config.aggregate_right, _R).alias("right_ids"),
        )
        matched, breaks = _classify(pairs, config)
        matched = pl.concat([exact_matched, matched], how="vertical_relaxed")
    else:  # an aggregated side: the weighted average prices are still to be compared
        matched, breaks = _classify(pl.concat([exact, pairs], how="diagonal_relaxed"), config)

    # 5. surplus occurrences of a key: duplicates
    dup_left, rest_left = _surplus(rest_left, left_rows, right_rows, keys)
    dup_right, rest_right = _surplus(rest_right, right_rows, left_rows, keys)
    for rows, aggregated, side in (
        (dup_left, config.aggregate_left, "left"),
        (dup_right, config.aggregate_right, "right"),
    ):
        # _own: occurrences of the key on the row's side, _other: on the other side
        left_count, right_count = ("_own", "_other") if side == "left" else ("_other", "_own")
        breaks.append(
            _alone(rows, config, aggregated, DUPLICATE, side, pl.lit(None, pl.String)).with_columns(
                rows[left_count].cast(pl.String).alias("left_value"),
                rows[right_count].cast(pl.String).alias("right_value"),
            )
        )

    # 6. relaxed keys
    for dropped in config.relaxed:
        rest_left, rest_right, found = _relaxed(rest_left, rest_right, config, dropped)
        breaks.extend(found)

    # 7. missing
    breaks.append(
        _alone(
            rest_left,
            config,
            config.aggregate_left,
            MISSING_RIGHT,
            "left",
            pl.col(_Q).cast(pl.String),
        )
    )
    breaks.append(
        _alone(
            rest_right,
            config,
            config.aggregate_right,
            MISSING_LEFT,
            "right",
            pl.col(_Q).cast(pl.String),
        )
    )
    all_breaks = pl.concat(
        [left_dups, right_dups, *breaks, _empty_breaks(config, id_dtype)], how="vertical_relaxed"
    )
    rank = {kind: i for i, kind in enumerate(BREAK_KINDS)}
    all_breaks = (
        all_breaks.with_columns(
            pl.col("kind")
            .replace_strict(rank, default=len(rank), return_dtype=pl.Int32)
            .alias("_o")
        )
        .sort(["_o", "kind", *keys], nulls_last=True, maintain_order=True)
        .drop("_o")
    )
    return KeyedResult(matched=matched, breaks=all_breaks)


def _relaxed(
    rest_left: pl.DataFrame,
    rest_right: pl.DataFrame,
    config: KeyedConfig,
    dropped: tuple[str, ...],
) -> tuple[pl.DataFrame, pl.DataFrame, list[pl.DataFrame]]:
    """One relaxed pass: (left still unpaired, right still unpaired, the breaks of the pairs
    found). A pair always breaks on a dropped key: rows equal on every key were paired before."""
    on = [k for k in config.keys if k not in dropped]
    if rest_left.is_empty() or rest_right.is_empty():
        return rest_left, rest_right, []
    bound = config.relaxed_max_candidates
    near_left = rest_left.filter(pl.len().over(on) <= bound)
    near_right = rest_right.filter(pl.len().over(on) <= bound)
    near_right = near_right.select(
        *on, *(pl.col(c).alias(c + _R) for c in near_right.columns if c not in on)
    )
    pairs = near_left.join(near_right, on=on, how="inner").filter(
        (pl.col(_Q) - pl.col(_Q + _R)).abs() <= config.quantity_tolerance
    )
    # each the other's only candidate
    pairs = pairs.filter((pl.len().over(_ID) == 1) & (pl.len().over(_ID + _R) == 1))
    if pairs.is_empty():
        return rest_left, rest_right, []
    extra = [
        (
            column,
            pl.col(column).eq_missing(pl.col(column + _R)),
            pl.col(column).cast(pl.String),
            pl.col(column + _R).cast(pl.String),
            pl.lit(None, pl.String),
        )
        for column in dropped
    ]
    _matched, breaks = _classify(pairs, config, extra)
    rest_left = rest_left.join(pairs.select(_ID), on=_ID, how="anti")
    rest_right = rest_right.join(pairs.select(pl.col(_ID + _R).alias(_ID)), on=_ID, how="anti")
    return rest_left, rest_right, breaks


@dataclass
class ThreeWayResult:
    """The two keyed matches and their breaks together, ``sources`` first (``"front/back"``,
    then ``"back/broker"`` or ``"front/broker"`` with the default names)."""

    front_back: KeyedResult
    with_broker: KeyedResult
    breaks: pl.DataFrame


def match_three_way(
    front: pl.DataFrame,
    back: pl.DataFrame,
    broker_confirms: pl.DataFrame | Mapping[str, pl.DataFrame],
    config: KeyedConfig,
    broker_config: KeyedConfig | None = None,
    names: tuple[str, str, str] = ("front", "back", "broker"),
    broker_against: str = "back",
) -> ThreeWayResult:
    """Front office against the back-office books (``config``), then the brokers'
    confirmations (``broker_config``, default ``config``) against the books
    (``broker_against="back"``) or against the front office (``"front"``): two keyed matches,
    so each difference is named once, between the two sources where it lies.
    ``broker_confirms`` may be one frame or one per broker (concatenated: each row names its
    broker in a key column)."""
    if broker_against not in {"back", "front"}:
        raise ValueError("broker_against must be 'back' or 'front'")
    if isinstance(broker_confirms, Mapping):
        broker_confirms = pl.concat(list(broker_confirms.values()), how="vertical_relaxed")
    front_back = match_keyed(front, back, config)
    pivot = back if broker_against == "back" else front
    with_broker = match_keyed(pivot, broker_confirms, broker_config or config)
    first, second, third = names
    pivot_name = second if broker_against == "back" else first
    tagged = [
        result.breaks.select(pl.lit(sources).alias("sources"), pl.all())
        for result, sources in (
            (front_back, f"{first}/{second}"),
            (with_broker, f"{pivot_name}/{third}"),
        )
    ]
    return ThreeWayResult(
        front_back=front_back,
        with_broker=with_broker,
        breaks=pl.concat(tagged, how="diagonal_relaxed"),
    )


# --- the scored engine on the breaks --------------------------------------------------------


def to_items(
    frame: pl.DataFrame,
    config: KeyedConfig,
    side: str,
    amount: str | None = None,
    date: str = "trade_date",
    party: str | None = "broker",
    group: Sequence[str] = ("instrument", "side"),
) -> list[Item]:
    """Rows of one side as :class:`engine.Item` values, for :func:`engine.candidates` on a
    break (a few rows, never the million): ``key`` the id, ``amount`` the ``amount`` column
    (default the quantity), ``date``, ``party``, ``group`` (the listed columns joined by
    ``|``), ``references`` the id, ``data`` the row as a dict."""
    amount = amount or config.quantity
    items: list[Item] = []
    for row in frame.iter_rows(named=True):
        key: Hashable = row[config.id]
        day = row[date]
        if not isinstance(day, datetime.date):
            raise TypeError(f"column {date!r} must be a date")
        items.append(
            Item(
                key=key,
                side=side,
                amount=int(row[amount]),
                date=day,
                references=frozenset({str(key)}),
                party=str(row[party]) if party else "",
                group="|".join(str(row[c]) for c in group),
                data=row,
            )
        )
    return items

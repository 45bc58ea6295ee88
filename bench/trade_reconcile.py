"""Trade reconciliation benchmark (bulk keyed matching): prints figures, checks the breaks.

    .venv/bin/python bench/trade_reconcile.py [--trades N] [--break-rate R] [--aggregate]
                                              [--seed S] [--keep DIR]

Generates, vectorised with polars and no database, N front-office trades (default 1,000,000)
and their broker confirmations, with a share R (default 0.01) of the trades given each kind of
break on the broker's side: quantity, price (10 bp off, tolerance 1 bp), fees (tolerance 1
minor unit), settlement date, confirmation missing (``missing_right``), confirmation without a
trade (``missing_left``), confirmation sent twice (``duplicate``: half the same id again, half
a new id with the same key; with ``--aggregate`` only the same id), and confirmation booked to
another account (``account``, found by the relaxed pass that drops the account). 3 % of the
other confirmations differ within the tolerances. With ``--aggregate`` 5 % of the trades are
split into 2-3 partial fills (the weighted average price equal to the confirmed price) and 5 %
of the confirmations into 2-3 allocations, and both sides are aggregated per key.

It writes both sides as CSV files first (the nightly batch reads broker files), then times:
loading both files with polars (explicit schema), ``match_keyed`` (match and classify), and
writing the breaks into a table of a temporary SQLite file (``sqlite3`` ``executemany``; polars
``write_database`` is timed too when SQLAlchemy or ADBC is installed), and the total. Last it
prints the breaks found per kind against those injected and stops with status 1 if they
differ. Described in trastienda/matching/DESIGN.md, "Bulk keyed matching".
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from trastienda.matching.bulk import KeyedConfig, KeyedResult, match_keyed  # noqa: E402

SCHEMA = {
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
KINDS = (
    "quantity",
    "price",
    "fees",
    "settlement_date",
    "missing_right",
    "missing_left",
    "duplicate",
    "account",
)
ACCOUNTS = 5_000
PRICE_UNIT = 100_000_000  # prices in 10^-8


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=1_000_000, help="trades (1000000)")
    parser.add_argument(
        "--break-rate", type=float, default=0.01, help="share of trades per break kind (0.01)"
    )
    parser.add_argument("--aggregate", action="store_true", help="partial fills, allocations")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", default="", help="write the files here and keep them")
    args = parser.parse_args()
    if args.trades < 1000 or not 0 < args.break_rate * len(KINDS) < 0.9:
        parser.error("--trades 1000+, --break-rate above 0 and below 0.9 / 8 kinds")
    return args


def _random(seed: int) -> pl.Expr:
    """A pseudo-random UInt64 per row (a hash of the row number)."""
    return pl.int_range(pl.len(), dtype=pl.UInt64).hash(seed)


def generate(n: int, rate: float, aggregate: bool, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(trades, confirmations): unique keys by construction (account and instrument from the
    row number), so every injected break is found as what it is."""
    scale = 1_000_000
    per_kind = round(rate * scale)
    start = dt.date(2026, 1, 2)
    base = pl.DataFrame({"i": pl.int_range(n, eager=True, dtype=pl.Int64)}).with_columns(
        (_random(seed) % scale).cast(pl.Int64).alias("slot"),
        _random(seed + 1).alias("h"),
    )
    base = base.with_columns(
        pl.when(pl.col("slot") < per_kind * len(KINDS))
        .then(pl.col("slot") // per_kind)
        .otherwise(-1)
        .alias("kind"),
        pl.format("FO{}", pl.col("i").cast(pl.String).str.zfill(7)).alias("id"),
        (pl.lit(start) + pl.duration(days=(pl.col("h") % 360).cast(pl.Int64))).alias("trade_date"),
        pl.format("XS{}", (pl.col("i") // ACCOUNTS).cast(pl.String).str.zfill(6)).alias(
            "instrument"
        ),
        pl.when(pl.col("h") % 2 == 0).then(pl.lit("B")).otherwise(pl.lit("S")).alias("side"),
        pl.format("AC{}", (pl.col("i") % ACCOUNTS).cast(pl.String).str.zfill(5)).alias("account"),
        pl.format("BRK{}", ((pl.col("h") // (1 << 10)) % 20).cast(pl.String).str.zfill(2)).alias(
            "broker"
        ),
        # multiples of 6: partial fills split them evenly
        (((pl.col("h") // (1 << 20)) % 2000 + 1) * 6).cast(pl.Int64).alias("quantity"),
        (((pl.col("h") // (1 << 32)) % 100_000 + 100) * (PRICE_UNIT // 100))
        .cast(pl.Int64)
        .alias("price"),
        ((pl.col("h") // (1 << 50)) % 5000 + 100).cast(pl.Int64).alias("fees"),
        ((pl.col("h") // (1 << 40)) % 100).alias("noise"),
        ((pl.col("h") // (1 << 47)) % 100).alias("split"),
    ).with_columns((pl.col("trade_date") + pl.duration(days=2)).alias("settlement_date"))
    kind = pl.col("kind")
    columns = list(SCHEMA)

    trades = base.filter(kind != KINDS.index("missing_left"))
    confirms = base.filter(kind != KINDS.index("missing_right")).with_columns(
        pl.format("BC{}", pl.col("i").cast(pl.String).str.zfill(7)).alias("id"),
        pl.when(kind == KINDS.index("quantity"))
        .then(pl.col("quantity") + 6)
        .otherwise(pl.col("quantity"))
        .alias("quantity"),
        pl.when(kind == KINDS.index("price"))
        .then(pl.col("price") + pl.col("price") // 1000)  # 10 bp
        .when((kind == -1) & (pl.col("noise") < 3))
        .then(pl.col("price") + pl.col("price") // 20_000)  # 0.5 bp: within
        .otherwise(pl.col("price"))
        .alias("price"),
        pl.when(kind == KINDS.index("fees"))
        .then(pl.col("fees") + 2 + pl.col("noise"))
        .when((kind == -1) & (pl.col("noise") < 3))
        .then(pl.col("fees") - 1)  # within the tolerance of 1
        .otherwise(pl.col("fees"))
        .alias("fees"),
        pl.when(kind == KINDS.index("settlement_date"))
        .then(pl.col("settlement_date") + pl.duration(days=1))
        .otherwise(pl.col("settlement_date"))
        .alias("settlement_date"),
        pl.when(kind == KINDS.index("account"))
        .then(pl.format("ZZ{}", pl.col("account")))
        .otherwise(pl.col("account"))
        .alias("account"),
    )
    if aggregate:
        trades = _split(trades, pl.col("split") < 5, "F")
        confirms = _split(confirms, pl.col("split").is_between(50, 54), "A")
    twice = confirms.filter(kind == KINDS.index("duplicate"))
    if aggregate:  # a key twice is summed, not a duplicate: only the same id twice
        twice = twice.unique("i", keep="first")
    else:
        twice = twice.with_columns(
            pl.when(pl.col("noise") < 50)
            .then(pl.format("{}-D", pl.col("id")))
            .otherwise(pl.col("id"))
            .alias("id")
        )
    confirms = pl.concat([confirms, twice]).sort("h")  # the broker's file in another order
    return trades.select(columns), confirms.select(columns)


def _split(frame: pl.DataFrame, chosen: pl.Expr, letter: str) -> pl.DataFrame:
    """The chosen rows as 2 or 3 parts: equal quantities, prices around the original one so
    that the weighted average is the original price, fees summing to the original fees."""
    parts = pl.when(chosen).then(2 + pl.col("h") % 2).otherwise(1).cast(pl.Int64)
    exploded = (
        frame.with_columns(parts.alias("parts"))
        .with_columns(pl.int_ranges(0, pl.col("parts")).alias("part"))
        .explode("part")
    )
    n, part = pl.col("parts"), pl.col("part")
    step = pl.col("price") // 1000
    offset = (
        pl.when(n == 1)
        .then(0)
        .when(n == 2)
        .then(pl.when(part == 0).then(step).otherwise(-step))
        .otherwise((part - 1) * step)
    )
    return exploded.with_columns(
        pl.when(n == 1)
        .then(pl.col("id"))
        .otherwise(pl.format("{}-{}{}", pl.col("id"), pl.lit(letter), part))
        .alias("id"),
        (pl.col("quantity") // n).alias("quantity"),
        (pl.col("price") + offset).alias("price"),
        (pl.col("fees") // n + pl.when(part == 0).then(pl.col("fees") % n).otherwise(0)).alias(
            "fees"
        ),
    )


def injected(trades: int, rate: float, seed: int, aggregate: bool) -> dict[str, int]:
    """The breaks injected, counted from the generator's slots (same formulas)."""
    scale = 1_000_000
    per_kind = round(rate * scale)
    slots = (
        pl.DataFrame({"i": pl.int_range(trades, eager=True)})
        .select((_random(seed) % scale).cast(pl.Int64).alias("slot"))
        .filter(pl.col("slot") < per_kind * len(KINDS))
        .select((pl.col("slot") // per_kind).alias("kind"))
    )
    counts = dict.fromkeys(KINDS, 0)
    for index, count in slots.group_by("kind").len().iter_rows():
        counts[KINDS[index]] = count
    return counts


def load(trades_path: Path, confirms_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    frames = pl.collect_all(
        [pl.scan_csv(path, schema=SCHEMA) for path in (trades_path, confirms_path)]
    )
    return frames[0], frames[1]


def breaks_table(result: KeyedResult) -> pl.DataFrame:
    """The breaks as SQL-ready columns: ids joined by commas, dates as ISO text."""
    return result.breaks.with_columns(
        pl.col("trade_date").cast(pl.String),
        pl.col("left_ids").list.join(","),
        pl.col("right_ids").list.join(","),
    )


CREATE = """create table trade_break (
    id integer primary key, kind text not null, trade_date text, instrument text, side text,
    account text, broker text, left_ids text, right_ids text, left_value text,
    right_value text, difference text)"""
INSERT = (
    "insert into trade_break (kind, trade_date, instrument, side, account, broker, left_ids, "
    "right_ids, left_value, right_value, difference) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def write_sqlite(result: KeyedResult, path: Path) -> int:
    table = breaks_table(result)
    connection = sqlite3.connect(path)
    try:
        connection.execute("pragma journal_mode = wal")
        connection.execute("pragma synchronous = normal")
        connection.execute(CREATE)
        with connection:
            connection.executemany(INSERT, table.iter_rows())
        return int(connection.execute("select count(*) from trade_break").fetchone()[0])
    finally:
        connection.close()


def write_database(result: KeyedResult, path: Path) -> str:
    """polars ``write_database`` (needs SQLAlchemy or ADBC): a figure or why not."""
    try:
        table = breaks_table(result)
        table.write_database("trade_break_polars", f"sqlite:///{path}", if_table_exists="replace")
    except ImportError as error:
        return "not installed: " + str(error).splitlines()[0][:60]
    return ""


def machine() -> str:
    load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"polars {pl.__version__} ({pl.thread_pool_size()} threads); "
        f"sqlite {sqlite3.sqlite_version}; python {platform.python_version()}; "
        f"{platform.platform()}; {os.cpu_count()} CPUs; "
        f"{platform.processor() or platform.machine()}; load average {load_average:.1f}"
    )


def main() -> None:
    args = parse()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="trastienda-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, str]] = []
    try:
        started = time.perf_counter()
        trades, confirms = generate(args.trades, args.break_rate, args.aggregate, args.seed)
        trades_path, confirms_path = workdir / "trades.csv", workdir / "confirmations.csv"
        trades.write_csv(trades_path)
        confirms.write_csv(confirms_path)
        size = (trades_path.stat().st_size + confirms_path.stat().st_size) / 1e6
        figures.append(
            (
                f"generate + write CSV ({trades.height:,} + {confirms.height:,} rows, "
                f"{size:,.0f} MB; not in the total)",
                f"{(time.perf_counter() - started) * 1000:,.1f} ms",
            )
        )
        del trades, confirms
        config = KeyedConfig(
            price_tolerance_bp=1,
            fees_tolerance=1,
            aggregate_left=args.aggregate,
            aggregate_right=args.aggregate,
            relaxed=(("account",),),
        )

        cpu0, t0 = time.process_time(), time.perf_counter()
        left, right = load(trades_path, confirms_path)
        t1 = time.perf_counter()
        result = match_keyed(left, right, config)
        t2 = time.perf_counter()
        written = write_sqlite(result, workdir / "breaks.sqlite3")
        t3 = time.perf_counter()
        cpu = time.process_time() - cpu0
        figures += [
            ("load both CSV files (polars, explicit schema)", f"{(t1 - t0) * 1000:,.1f} ms"),
            ("match + classify (match_keyed)", f"{(t2 - t1) * 1000:,.1f} ms"),
            (f"write {written:,} breaks (sqlite3 executemany)", f"{(t3 - t2) * 1000:,.1f} ms"),
            ("total: load + match + write", f"{(t3 - t0) * 1000:,.1f} ms"),
            ("CPU time of the total (all threads)", f"{cpu * 1000:,.1f} ms"),
            ("matched pairs", f"{result.matched.height:,}"),
        ]
        t4 = time.perf_counter()
        why_not = write_database(result, workdir / "breaks_polars.sqlite3")
        figures.append(
            (
                "write the breaks (polars write_database)",
                why_not or f"{(time.perf_counter() - t4) * 1000:,.1f} ms",
            )
        )

        expected = injected(args.trades, args.break_rate, args.seed, args.aggregate)
        found = result.counts()
        print()
        print(
            f"Trade reconciliation: {args.trades:,} trades, {args.break_rate:.2%} breaks of each "
            f"kind{', partial fills and allocations aggregated' if args.aggregate else ''}"
        )
        print(machine())
        width = max(len(label) for label, _value in figures)
        for label, value in figures:
            print(f"  {label:<{width}}  {value:>14}")
        print(f"  {'break kind':<20} {'injected':>10} {'found':>10}")
        ok = True
        for kind in sorted(set(expected) | set(found)):
            same = expected.get(kind, 0) == found.get(kind, 0)
            ok &= same
            print(
                f"  {kind:<20} {expected.get(kind, 0):>10,} {found.get(kind, 0):>10,}"
                f"{'' if same else '  <- differs'}"
            )
        print("  correct: every injected break found as its kind" if ok else "  WRONG COUNTS")
        if not ok:
            raise SystemExit(1)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

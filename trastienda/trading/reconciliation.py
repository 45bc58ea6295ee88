"""Confirmations and the reconciliation of trades against them.

``confirmations_import`` reads a broker's file (FIX 4.4 execution reports, or CSV/XLSX with the
broker's saved column mapping), all or nothing, errors by line. ``trades_reconcile`` matches
the current trades of a trade date against the active confirmations with the bulk keyed
matcher (:mod:`trastienda.matching.bulk`: equal trade date, instrument, side, account and
broker; the broker's partial fills summed per key; a second pass without the account, then
without the side, names near misses) and keeps the breaks: one that is still there keeps its
owner, comment and age; one that went away is resolved by the run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trastienda.audit.models import AuditAction
from trastienda.audit.services import audit_log
from trastienda.core.models import Company
from trastienda.core.money import Money
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    Break,
    Broker,
    Confirmation,
    Instrument,
    ReconciliationRun,
    Trade,
    TradingAccount,
)

# Our trade id as the broker echoes it first (FIX ClOrdID), then what the trade is; a second
# pass without the trade reference pairs confirmations that do not echo it.
KEYS = ("trade_ref", "trade_date", "instrument", "side", "account", "broker")


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


@dataclass
class ConfirmationImport:
    imported: int = 0
    cancelled: int = 0


def _scaled(value: Decimal, places: int) -> int | None:
    scaled = value.scaleb(places)
    return int(scaled) if scaled == scaled.to_integral_value() else None


def confirmations_import(
    *,
    company: Company,
    content: bytes,
    filename: str = "",
    broker: Broker | str | None = None,
    user: Any = None,
) -> ConfirmationImport:
    """Import a broker's confirmations, all or nothing. ``broker``: required for CSV/XLSX (its
    saved mapping reads the file); FIX messages name their broker (SenderCompID: the broker's
    ``fix_comp_id`` or code). Errors are keyed ``line N`` or ``file``."""
    from trastienda.trading.formats import detect, read_confirmation_file
    from trastienda.trading.formats.base import ConfirmationFormatError

    brokers = list(Broker.objects.for_company(company))
    chosen: Broker | None = None
    if isinstance(broker, Broker):
        chosen = broker if broker.company_id == company.pk else None
    elif broker:
        chosen = next((b for b in brokers if b.code == str(broker).strip()), None)
    if broker and chosen is None:
        raise ValidationError({"broker": [_("Unknown broker %(code)s.") % {"code": broker}]})
    kind = detect(content, filename)
    mapping = None
    if kind != "fix":
        if chosen is None:
            raise ValidationError({"broker": [_("Choose the broker whose file this is.")]})
        if not chosen.confirmation_mapping:
            raise ValidationError(
                {"broker": [_("The broker has no saved column mapping for its files.")]}
            )
        mapping = chosen.confirmation_mapping
    try:
        parsed = read_confirmation_file(
            content, filename, mapping=mapping, broker=chosen.code if chosen else ""
        )
    except ConfirmationFormatError as exc:
        raise ValidationError(
            {(f"line {e.line}" if e.line else "file"): [e.message] for e in exc.errors}
        ) from exc
    by_name = {b.code: b for b in brokers}
    by_name.update({b.fix_comp_id: b for b in brokers if b.fix_comp_id})
    instruments = {i.code: i for i in Instrument.objects.for_company(company)}
    instruments.update({i.isin: i for i in instruments.values() if i.isin})
    accounts = {a.code: a for a in TradingAccount.objects.for_company(company)}
    digest = hashlib.sha256(content).hexdigest()
    errors: dict[str, list[str]] = {}
    # (the broker, the new confirmation or None, the reference it cancels or "")
    rows: list[tuple[Broker, Confirmation | None, str]] = []
    seen: set[tuple[int, str]] = set()
    for index, item in enumerate(parsed, start=1):
        where = f"line {item.line or index}"
        problems: list[str] = []
        found_broker = chosen or by_name.get(item.broker)
        if found_broker is None:
            problems.append(_("Unknown broker %(code)s.") % {"code": item.broker})
        instrument = instruments.get(item.instrument)
        if instrument is None and item.exec_type != "H":
            problems.append(_("Unknown instrument %(code)s.") % {"code": item.instrument})
        account = accounts.get(item.account) if item.account else None
        if item.account and account is None:
            problems.append(_("Unknown account %(code)s.") % {"code": item.account})
        quantity = _scaled(item.quantity, QUANTITY_PLACES)
        price = _scaled(item.price, PRICE_PLACES)
        if quantity is None or price is None:
            problems.append(_("More decimals than a quantity or price can have."))
        currency = item.currency or (instrument.currency if instrument else "")
        if instrument is not None and currency != instrument.currency:
            problems.append(
                _("%(instrument)s trades in %(currency)s.")
                % {"instrument": instrument.code, "currency": instrument.currency}
            )
        if found_broker is not None:
            key = (found_broker.pk, item.broker_ref)
            if key in seen or (
                item.exec_type != "H"
                and Confirmation.objects.filter(
                    broker=found_broker, broker_ref=item.broker_ref
                ).exists()
            ):
                problems.append(
                    _("Confirmation %(ref)s of %(broker)s is already imported.")
                    % {"ref": item.broker_ref, "broker": found_broker.code}
                )
            seen.add(key)
        if problems:
            errors[where] = problems
            continue
        assert found_broker is not None  # noqa: S101 - checked above
        new = None
        if item.exec_type != "H" and instrument is not None:
            new = Confirmation(
                company=company,
                broker=found_broker,
                broker_ref=item.broker_ref,
                trade_ref=item.trade_ref,
                trade_date=item.trade_date,
                trade_time=item.trade_time,
                instrument=instrument,
                account=account,
                side=item.side,
                quantity=quantity or 0,
                price=price or 0,
                currency=currency,
                # Percentage commissions have more places than the currency: rounded half up.
                fees=Money.from_decimal_rounded(item.fees, currency).minor,
                settlement_date=item.settlement_date,
                source=kind,
                file_hash=digest,
            )
        rows.append((found_broker, new, item.exec_ref if item.exec_type in "GH" else ""))
    if errors:
        raise ValidationError(errors)
    result = ConfirmationImport()
    try:
        with transaction.atomic():
            for row_broker, new, cancelled_ref in rows:
                if cancelled_ref:
                    result.cancelled += Confirmation.objects.filter(
                        company=company, broker=row_broker, broker_ref=cancelled_ref, state="active"
                    ).update(state=Confirmation.State.CANCELLED)
                if new is not None:
                    new.save()
                    result.imported += 1
            audit_log(
                action=AuditAction.CREATE,
                company=company,
                user=user,
                object_type="trading.confirmationimport",
                object_repr=filename,
                extra={"file": filename, "sha256": digest, **result.__dict__},
            )
    except IntegrityError as exc:
        raise ValidationError(
            {"file": [_("These confirmations were imported meanwhile.")]}
        ) from exc
    return result


# --- reconciliation ---------------------------------------------------------------------------


# The frames carry ids (instrument, account, broker) as keys, not codes: a million rows are
# read with one SELECT each, no joins and no model instances; the few breaks are given their
# codes afterwards. A confirmation without an account has account 0.
_COLUMNS = (
    "id", "trade_ref", "instrument", "side", "account", "broker", "quantity", "price", "fees",
    "settlement_date",
)  # fmt: skip
_BOOKED_SQL = """
    SELECT id, trade_id, instrument_id, side, account_id, broker_id, quantity, price,
           fees + commission, CAST(settlement_date AS TEXT)
    FROM {table} WHERE company_id = %s AND trade_date = %s AND {condition}
"""
_CONFIRMED_SQL = """
    SELECT id, trade_ref, instrument_id, side, COALESCE(account_id, 0), broker_id, quantity,
           price, fees, CAST(settlement_date AS TEXT)
    FROM trading_confirmation WHERE company_id = %s AND trade_date = %s AND state = %s
"""


def _frame(sql: str, params: list[Any], trade_date: dt.date) -> Any:
    """One side read with plain SQL into a polars frame of :func:`_schema`: on PostgreSQL as
    ``COPY ... TO STDOUT`` in CSV parsed by polars (no Python object per row), elsewhere
    through the cursor."""
    import polars as pl

    schema = {name: dtype for name, dtype in _schema().items() if name != "trade_date"}
    schema["settlement_date"] = pl.Utf8
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            frame = pl.read_csv(
                io.BytesIO(data), has_header=False, new_columns=list(schema), schema=schema
            )
        else:
            cursor.execute(sql, params)
            frame = pl.DataFrame(cursor.fetchall(), schema=schema, orient="row")
    return frame.with_columns(
        pl.lit(trade_date).alias("trade_date"),
        pl.col("trade_ref").fill_null(""),  # CSV reads an empty text as null
        pl.col("settlement_date").str.slice(0, 10).str.to_date("%Y-%m-%d"),
    ).select(list(_schema()))


def _trades_frame(company: Company, trade_date: dt.date) -> Any:
    """The current versions of the active trades of the date."""
    sql = _BOOKED_SQL.format(table="trading_trade", condition="is_current = %s AND status = %s")
    return _frame(sql, [company.pk, trade_date, True, Trade.Status.ACTIVE], trade_date)


def _frames(company: Company, trade_date: dt.date) -> tuple[Any, Any]:
    """Our trades and the brokers' active confirmations of the trade date. A confirmation
    without a settlement date settles by its market's convention."""
    import polars as pl

    from trastienda.trading import calendars
    from trastienda.trading.services import CALENDAR_TYPES

    trades = _trades_frame(company, trade_date)
    confirmations = _frame(
        _CONFIRMED_SQL, [company.pk, trade_date, Confirmation.State.ACTIVE], trade_date
    )
    undated = confirmations.filter(pl.col("settlement_date").is_null())["instrument"].unique()
    if len(undated):
        settles: dict[int, dt.date | None] = {}
        for pk, kind, market in Instrument.objects.filter(pk__in=undated.to_list()).values_list(
            "pk", "type", "market"
        ):
            try:
                settles[pk] = calendars.settlement_date(
                    trade_date, CALENDAR_TYPES.get(kind, kind), market
                )
            except ValueError:
                settles[pk] = None
        confirmations = confirmations.with_columns(
            pl.col("settlement_date").fill_null(
                pl.col("instrument").replace_strict(settles, default=None, return_dtype=pl.Date)
            )
        )
    return trades, confirmations


def _books_frame(company: Company, trade_date: dt.date) -> Any | None:
    """The back-office books of the trade date: its live settlement instructions, or None
    when the back office has booked nothing for that day yet (no instruction at all, not
    even a cancelled one)."""
    from trastienda.trading.models import SettlementInstruction

    instructions = SettlementInstruction.objects.for_company(company).filter(trade_date=trade_date)
    if not instructions.exists():
        return None
    sql = _BOOKED_SQL.format(table="trading_settlementinstruction", condition="status <> %s")
    params = [company.pk, trade_date, SettlementInstruction.Status.CANCELLED]
    return _frame(sql, params, trade_date)


def _schema() -> dict[str, Any]:
    """The columns of every side (polars is imported when a reconciliation runs, not at
    start-up)."""
    import polars as pl

    return {
        "id": pl.Int64,
        "trade_ref": pl.Utf8,
        "trade_date": pl.Date,
        "instrument": pl.Int64,
        "side": pl.Utf8,
        "account": pl.Int64,
        "broker": pl.Int64,
        "quantity": pl.Int64,
        "price": pl.Int64,
        "fees": pl.Int64,
        "settlement_date": pl.Date,
    }


class _Codes:
    """The codes of the ids a break names (a break of kind ``account`` compares two ids)."""

    def __init__(self, company: Company) -> None:
        self.of = {
            "instrument": dict(Instrument.objects.for_company(company).values_list("pk", "code")),
            "account": dict(TradingAccount.objects.for_company(company).values_list("pk", "code")),
            "broker": dict(Broker.objects.for_company(company).values_list("pk", "code")),
        }
        self.brokers = {b.pk: b for b in Broker.objects.for_company(company)}

    def code(self, column: str, value: Any) -> str:
        if value in (None, "", 0):
            return ""
        return str(self.of[column].get(int(value), value))

    def value(self, kind: str, value: Any) -> str:
        """A break's value as people read it: codes for the id columns."""
        if kind in self.of and value not in (None, ""):
            return self.code(kind, value)
        return str(value or "")


def _fingerprint(row: Mapping[str, Any], against: str = Break.Against.BROKER) -> str:
    parts = [
        str(row["kind"]),
        *(str(row.get(key) or "") for key in KEYS),
        ",".join(str(x) for x in sorted(row.get("left_ids") or [])),
        ",".join(str(x) for x in sorted(row.get("right_ids") or [])),
    ]
    if against != Break.Against.BROKER:  # the broker's breaks keep their fingerprints
        parts.insert(0, against)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# The books hold each trade once under its trade id: a second pass on the trade id alone names
# every other key that differs (an instruction made before the trade was amended).
BOOKS_KEYS = KEYS
BOOKS_RELAXED = (("trade_date", "instrument", "side", "account", "broker"),)
# What a break between the front office and the books is called when one side is missing.
BOOKS_KINDS = {"missing_right": Break.Kind.MISSING_BOOKS, "missing_left": Break.Kind.BOOKS_ONLY}


def _broker_config(company: Company, price_tolerance_bp: Any = None) -> Any:
    """The keyed matcher's settings of the company's reconciliation: its keys (the trading
    settings' ``reconcile_keys``, in the order of :data:`KEYS`), tolerances and the relaxed
    passes (without our trade id, then also without the account, or the side)."""
    from trastienda.matching.bulk import KeyedConfig
    from trastienda.trading.models import TradingSettings

    found = TradingSettings.objects.filter(company=company).first() or TradingSettings()
    chosen = set(found.reconcile_keys or KEYS) | {"trade_date"}
    keys = tuple(key for key in KEYS if key in chosen)
    base = ("trade_ref",) if "trade_ref" in keys else ()
    passes = [base] if base else []
    passes += [(*base, key) for key in ("account", "side") if key in keys]
    return KeyedConfig(
        keys=keys,
        aggregate_right=True,
        fees_tolerance=found.fees_tolerance,
        price_tolerance_bp=str(
            found.price_tolerance_bp if price_tolerance_bp is None else price_tolerance_bp
        ),
        relaxed=tuple(p for p in passes if set(p) != set(keys)),
    )


def _blocks(left: Any, right: Any, config: Any, result: Any) -> tuple[set[int], int, list[Any]]:
    """Block trades against allocations: the confirmations without an account (the broker's
    block) against our trades of the same trade date, instrument, side and broker that found
    no confirmation, both sides summed per key. Returns the ids of our trades paired, the
    number of pairs and the breaks of that pass (its ``missing_right`` left out: those trades
    are missing already)."""
    import polars as pl

    from trastienda.matching.bulk import KeyedConfig, match_keyed

    if "account" not in config.keys:
        return set(), 0, []
    blocks = right.filter(pl.col("account") == 0)
    if blocks.is_empty():
        return set(), 0, []
    unconfirmed = [
        i
        for row in result.breaks.filter(pl.col("kind") == "missing_right").iter_rows(named=True)
        for i in row["left_ids"] or []
    ]
    block_config = KeyedConfig(
        keys=tuple(k for k in config.keys if k not in {"trade_ref", "account"}),
        aggregate_left=True,
        aggregate_right=True,
        fees_tolerance=config.fees_tolerance,
        price_tolerance_bp=config.price_tolerance_bp,
    )
    found = match_keyed(left.filter(pl.col("id").is_in(unconfirmed)), blocks, block_config)
    paired = {i for ids in found.matched.get_column("left_ids").to_list() for i in ids or []}
    breaks = [row for row in found.breaks.iter_rows(named=True) if row["kind"] != "missing_right"]
    return paired, found.matched.height, breaks


def trades_reconcile(
    *,
    company: Company,
    trade_date: dt.date,
    user: Any = None,
    price_tolerance_bp: int | str | None = None,
) -> ReconciliationRun:
    """Reconcile the trades of ``trade_date`` with the brokers' confirmations and with the
    back-office books (the settlement instructions, once the back office has booked the day)
    and keep the breaks (see the module docstring). The keys and tolerances are the trading
    settings'; ``price_tolerance_bp`` overrides the price tolerance."""
    import polars as pl

    from trastienda.matching.bulk import KeyedConfig, match_keyed, match_three_way

    left, right = _frames(company, trade_date)
    books = _books_frame(company, trade_date)
    config = _broker_config(company, price_tolerance_bp)
    allocated = right.filter(pl.col("account") != 0) if "account" in config.keys else right
    rows: list[tuple[str, dict[str, Any]]] = []
    if books is None:
        result = match_keyed(left, allocated, config)
    else:
        books_config = KeyedConfig(keys=BOOKS_KEYS, relaxed=BOOKS_RELAXED)
        three = match_three_way(
            left, books, allocated, books_config, config, broker_against="front"
        )
        result = three.with_broker
        rows = [(Break.Against.BOOKS, row) for row in three.front_back.breaks.iter_rows(named=True)]
    matched = result.matched.height
    paired, block_matched, block_breaks = _blocks(left, right, config, result)
    # trades of a block are no longer missing: paired, or named by the block's own breaks
    covered = paired | {i for row in block_breaks for i in row.get("left_ids") or []}
    broker_rows = [
        row
        for row in result.breaks.iter_rows(named=True)
        if not (row["kind"] == "missing_right" and set(row["left_ids"] or []) <= covered)
    ]
    broker_rows += block_breaks
    matched += block_matched
    rows += [(Break.Against.BROKER, row) for row in broker_rows]
    codes = _Codes(company)
    with transaction.atomic():
        run = ReconciliationRun.objects.create(
            company=company,
            trade_date=trade_date,
            trades=left.height,
            confirmations=right.height,
            instructions=0 if books is None else books.height,
            matched=matched,
            breaks=len(rows),
            created_by=_user(user),
        )
        open_breaks = {
            b.fingerprint: b
            for b in Break.objects.select_for_update().filter(
                company=company, trade_date=trade_date, state=Break.State.OPEN
            )
        }
        found: set[str] = set()
        new: list[Break] = []
        for against, found_row in rows:
            # codes, not ids, in the fingerprint and on the break
            row = {**found_row, **{c: codes.code(c, found_row.get(c)) for c in codes.of}}
            fingerprint = _fingerprint(row, against)
            found.add(fingerprint)
            if fingerprint in open_breaks:
                continue
            broker = codes.brokers.get(found_row.get("broker") or 0)
            if broker is None:
                continue
            kind = str(row["kind"])
            books_side = against == Break.Against.BOOKS
            if books_side:
                kind = BOOKS_KINDS.get(kind, kind)
            new.append(
                Break(
                    company=company,
                    kind=kind,
                    against=against,
                    fingerprint=fingerprint,
                    trade_date=trade_date,
                    broker=broker,
                    instrument=row["instrument"][:40],
                    account=row["account"][:30],
                    side=str(row.get("side") or "")[:4],
                    trades=[int(x) for x in row.get("left_ids") or []],
                    confirmations=[] if books_side else _ids(row.get("right_ids")),
                    instructions=_ids(row.get("right_ids")) if books_side else [],
                    our_value=codes.value(kind, row.get("left_value"))[:60],
                    broker_value=codes.value(kind, row.get("right_value"))[:60],
                    difference=str(row.get("difference") or "")[:60],
                    first_run=run,
                    last_run=run,
                )
            )
        Break.objects.bulk_create(new, batch_size=1000)
        Break.objects.filter(
            company=company,
            trade_date=trade_date,
            state=Break.State.OPEN,
            fingerprint__in=[f for f in open_breaks if f in found],
        ).update(last_run=run)
        gone = [b.pk for f, b in open_breaks.items() if f not in found]
        Break.objects.filter(pk__in=gone).update(
            state=Break.State.RESOLVED,
            resolution=_("No longer found by run %(run)s.") % {"run": run.pk},
            resolved_at=timezone.now(),
        )
        audit_log(
            action=AuditAction.CREATE,
            company=company,
            user=user,
            obj=run,
            extra={"new_breaks": len(new), "resolved": len(gone), "matched": run.matched},
        )
    return run


def _ids(values: Any) -> list[int]:
    return [int(x) for x in values or []]


def break_assign(*, instance: Break, owner: Any = None, comment: str | None = None) -> Break:
    """Give a break an owner and add to its comment."""
    with transaction.atomic():
        instance.owner = owner
        if comment:
            stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
            instance.comment = (instance.comment + f"\n[{stamp}] {comment}").strip()
        instance.save(update_fields=["owner", "comment"])
    return instance


def break_resolve(*, instance: Break, reason: str, user: Any = None) -> Break:
    """Close a break with the reason (a re-run that still finds it opens it again)."""
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say how the break was resolved.")]})
    with transaction.atomic():
        found = Break.objects.select_for_update().get(pk=instance.pk)
        if found.state != Break.State.OPEN:
            raise ValidationError({"state": [_("The break is already resolved.")]})
        found.state = Break.State.RESOLVED
        found.resolution = reason.strip()[:300]
        found.resolved_at = timezone.now()
        found.save(update_fields=["state", "resolution", "resolved_at"])
    return found


def open_breaks_by(company: Company) -> Iterable[tuple[str, str, int]]:
    """(broker code, kind, count) of the open breaks: the dashboard's table."""
    from django.db.models import Count

    rows = (
        Break.objects.for_company(company)
        .filter(state=Break.State.OPEN)
        .values_list("broker__code", "kind")
        .annotate(n=Count("pk"))
        .order_by("broker__code", "kind")
    )
    return [(broker, kind, n) for broker, kind, n in rows]

"""Trading services: trade capture (book, amend, cancel: each change a new version) and the
import of front-office trade files. Every write goes through here (pages, API, CLI, jobs);
each validates everything first and writes in one transaction.

A trade's fields as callers give them (the API's JSON, a file's columns): ``trade_id``,
``executed_at`` (ISO 8601 date-time; naive times are the company's time zone), ``trade_date``
(default: the date of ``executed_at``), ``account``, ``trader``, ``instrument`` (code or ISIN),
``broker`` (codes), ``side`` (buy/sell), ``quantity``, ``price`` (decimal text), ``currency``
(default and only value: the instrument's), ``fees``, ``commission`` (decimal text in the
currency), ``settlement_date`` (default: the market's convention, see
:mod:`trastienda.trading.calendars`), ``comment``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from trastienda.audit.models import AuditAction
from trastienda.audit.services import audit_log
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    Broker,
    Instrument,
    Trade,
    Trader,
    TradingAccount,
)

TRADE_FIELDS = (
    "trade_id",
    "executed_at",
    "trade_date",
    "settlement_date",
    "account",
    "trader",
    "instrument",
    "broker",
    "side",
    "quantity",
    "price",
    "currency",
    "fees",
    "commission",
    "comment",
)
AMENDABLE = tuple(name for name in TRADE_FIELDS if name != "trade_id")
# Instrument types as the settlement conventions name them (bonds settle alike).
CALENDAR_TYPES = {"bond": "government_bond"}
SIDES = {"buy": "buy", "b": "buy", "sell": "sell", "s": "sell"}

ProgressFn = Callable[[int, int, str], None]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _scaled(value: Any, places: int, field: str, errors: dict[str, list[str]]) -> int | None:
    """Decimal text as an integer of 10^-places units; more places is an error."""
    text = _text(value)
    if not text:
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        errors.setdefault(field, []).append(_("“%(value)s” is not a number.") % {"value": text})
        return None
    if not number.is_finite():
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    scaled = number.scaleb(places)
    if scaled != scaled.to_integral_value():
        errors.setdefault(field, []).append(_("At most %(places)d decimals.") % {"places": places})
        return None
    return int(scaled)


def _minor(value: Any, currency: str, field: str, errors: dict[str, list[str]]) -> int:
    text = _text(value)
    if not text:
        return 0
    try:
        return Money.from_decimal(text, currency).minor
    except (ValueError, ArithmeticError):
        errors.setdefault(field, []).append(
            _("Enter an amount in %(currency)s with at most %(places)d decimals.")
            % {"currency": currency, "places": currency_exponent(currency)}
        )
        return 0


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if not text:
        return None
    try:
        parsed = parse_date(text)
    except ValueError:
        parsed = None
    if parsed is None:
        errors.setdefault(field, []).append(
            _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": text}
        )
    return parsed


def _datetime(value: Any, field: str, errors: dict[str, list[str]]) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = _text(value)
        if not text:
            errors.setdefault(field, []).append(_("Enter the execution date and time."))
            return None
        try:
            parsed = parse_datetime(text.replace(" ", "T", 1))
        except ValueError:
            parsed = None
        if parsed is None:
            errors.setdefault(field, []).append(
                _("“%(value)s” is not a date and time (YYYY-MM-DDTHH:MM:SS).") % {"value": text}
            )
            return None
        moment = parsed
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


@dataclass
class Lookups:
    """The company's reference data by code, read once per import."""

    company: Company

    def __post_init__(self) -> None:
        self.accounts = {a.code: a for a in TradingAccount.objects.for_company(self.company)}
        self.traders = {t.code: t for t in Trader.objects.for_company(self.company)}
        self.brokers = {b.code: b for b in Broker.objects.for_company(self.company)}
        instruments = list(Instrument.objects.for_company(self.company))
        self.instruments = {i.code: i for i in instruments}
        self.instruments.update({i.isin: i for i in instruments if i.isin})


def _reference(
    table: Mapping[str, Any], value: Any, field: str, label: str, errors: dict[str, list[str]]
) -> Any:
    code = _text(value)
    if not code:
        errors.setdefault(field, []).append(_("Enter the %(what)s.") % {"what": label})
        return None
    found = table.get(code)
    if found is None:
        errors.setdefault(field, []).append(
            _("Unknown %(what)s %(code)s.") % {"what": label, "code": code}
        )
    elif not found.active:
        errors.setdefault(field, []).append(
            _("The %(what)s %(code)s is not active.") % {"what": label, "code": code}
        )
    return found


def gross_amount(quantity: int, price: int, multiplier: Decimal, currency: str) -> int:
    """quantity * price * multiplier in minor units, rounded half up (quantity and price in
    their scaled integer units)."""
    exponent = currency_exponent(currency)
    exact = (
        Decimal(quantity).scaleb(-QUANTITY_PLACES)
        * Decimal(price).scaleb(-PRICE_PLACES)
        * multiplier
    )
    return int(exact.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def prepare_trade(
    data: Mapping[str, Any], lookups: Lookups, today: dt.date
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The model field values of a trade from what the caller gave, and its problems by
    field (values are meaningless when there are problems)."""
    from trastienda.trading import calendars

    errors: dict[str, list[str]] = {}
    unknown = set(data) - set(TRADE_FIELDS)
    for name in sorted(unknown):
        errors[name] = [_("Unknown field.")]
    trade_id = _text(data.get("trade_id"))
    if not trade_id:
        errors["trade_id"] = [_("Enter the trade id.")]
    elif len(trade_id) > 60:
        errors["trade_id"] = [_("At most 60 characters.")]
    executed_at = _datetime(data.get("executed_at"), "executed_at", errors)
    trade_date = _date(data.get("trade_date"), "trade_date", errors)
    if trade_date is None and executed_at is not None:
        trade_date = timezone.localtime(executed_at).date()
    account = _reference(lookups.accounts, data.get("account"), "account", _("account"), errors)
    trader = _reference(lookups.traders, data.get("trader"), "trader", _("trader"), errors)
    broker = _reference(lookups.brokers, data.get("broker"), "broker", _("broker"), errors)
    instrument = _reference(
        lookups.instruments, data.get("instrument"), "instrument", _("instrument"), errors
    )
    side = SIDES.get(_text(data.get("side")).lower())
    if side is None:
        errors["side"] = [_("Choose buy or sell.")]
    quantity = _scaled(data.get("quantity"), QUANTITY_PLACES, "quantity", errors)
    if quantity is not None and quantity <= 0:
        errors.setdefault("quantity", []).append(_("The quantity must be positive."))
    price = _scaled(data.get("price"), PRICE_PLACES, "price", errors)
    if price is not None and price < 0:
        errors.setdefault("price", []).append(_("The price cannot be negative."))
    currency = _text(data.get("currency")).upper()
    if instrument is not None:
        if currency and currency != instrument.currency:
            errors.setdefault("currency", []).append(
                _("%(instrument)s trades in %(currency)s.")
                % {"instrument": instrument.code, "currency": instrument.currency}
            )
        currency = instrument.currency
    currency = currency or lookups.company.base_currency
    fees = _minor(data.get("fees"), currency, "fees", errors)
    commission = _minor(data.get("commission"), currency, "commission", errors)
    if fees < 0 or commission < 0:
        errors.setdefault("fees", []).append(_("Fees and commissions cannot be negative."))
    settlement = _date(data.get("settlement_date"), "settlement_date", errors)
    if trade_date is not None:
        if trade_date > today:
            errors.setdefault("trade_date", []).append(_("The trade date is in the future."))
        if (
            executed_at is not None
            and abs((timezone.localtime(executed_at).date() - trade_date).days) > 1
        ):
            errors.setdefault("trade_date", []).append(
                _("The trade date and the execution time are days apart.")
            )
        if settlement is None and instrument is not None and "settlement_date" not in errors:
            try:
                settlement = calendars.settlement_date(
                    trade_date,
                    CALENDAR_TYPES.get(instrument.type, instrument.type),
                    instrument.market,
                )
            except ValueError as exc:
                errors.setdefault("settlement_date", []).append(str(exc))
        if settlement is not None and settlement < trade_date:
            errors.setdefault("settlement_date", []).append(
                _("The settlement date is before the trade date.")
            )
    values: dict[str, Any] = {
        "trade_id": trade_id,
        "executed_at": executed_at,
        "trade_date": trade_date,
        "settlement_date": settlement,
        "account": account,
        "trader": trader,
        "broker": broker,
        "instrument": instrument,
        "side": side,
        "quantity": quantity,
        "price": price,
        "currency": currency,
        "fees": fees,
        "commission": commission,
        "comment": _text(data.get("comment"))[:300],
    }
    if not errors and instrument is not None and quantity is not None and price is not None:
        values["gross_amount"] = gross_amount(quantity, price, instrument.multiplier, currency)
        values["late"] = trade_date is not None and today > trade_date
    return values, errors


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def trade_book(*, company: Company, user: Any = None, source: str = "api", **data: Any) -> Trade:
    """Book a new trade (version 1). A trade id already booked is refused: amend it."""
    lookups = Lookups(company)
    values, errors = prepare_trade(data, lookups, timezone.localdate())
    if (
        values["trade_id"]
        and Trade.objects.filter(company=company, trade_id=values["trade_id"]).exists()
    ):
        errors.setdefault("trade_id", []).append(
            _("Trade %(id)s is already booked: amend it.") % {"id": values["trade_id"]}
        )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            trade = Trade(company=company, created_by=_user(user), source=source, **values)
            trade.save()
    except IntegrityError as exc:  # booked meanwhile by another request
        raise ValidationError(
            {
                "trade_id": [
                    _("Trade %(id)s is already booked: amend it.") % {"id": trade_id_of(values)}
                ]
            }
        ) from exc
    return trade


def trade_id_of(values: Mapping[str, Any]) -> str:
    return str(values.get("trade_id") or "")


def _current(company: Company, trade_id: str) -> Trade:
    found = (
        Trade.objects.select_for_update()
        .filter(company=company, trade_id=trade_id, is_current=True)
        .first()
    )
    if found is None:
        raise ValidationError({"trade_id": [_("Unknown trade %(id)s.") % {"id": trade_id}]})
    return found


def _as_input(trade: Trade) -> dict[str, Any]:
    """A version's values in the form callers give them (to apply changes on top)."""
    return {
        "trade_id": trade.trade_id,
        "executed_at": trade.executed_at,
        "trade_date": trade.trade_date,
        "settlement_date": trade.settlement_date,
        "account": trade.account.code,
        "trader": trade.trader.code,
        "broker": trade.broker.code,
        "instrument": trade.instrument.code,
        "side": trade.side,
        "quantity": str(Decimal(trade.quantity).scaleb(-QUANTITY_PLACES)),
        "price": str(Decimal(trade.price).scaleb(-PRICE_PLACES)),
        "currency": trade.currency,
        "fees": str(Money(trade.fees, trade.currency).to_decimal()),
        "commission": str(Money(trade.commission, trade.currency).to_decimal()),
        "comment": trade.comment,
    }


def _new_version(current: Trade, values: dict[str, Any], user: Any, source: str) -> Trade:
    Trade.objects.filter(pk=current.pk).update(is_current=False)
    trade = Trade(
        company=current.company,
        version=current.version + 1,
        created_by=_user(user),
        source=source,
        **values,
    )
    trade.save()
    return trade


def trade_amend(
    *, company: Company, trade_id: str, user: Any = None, source: str = "api", **changes: Any
) -> Trade:
    """A new version of the trade with ``changes`` (fields as for booking; the trade id
    stays). The settlement date is recomputed when the trade date or instrument change and no
    settlement date is given. A cancelled trade is not amended."""
    bad = sorted(set(changes) - set(AMENDABLE))
    if bad:
        raise ValidationError({name: [_("This field cannot be amended.")] for name in bad})
    with transaction.atomic():
        current = _current(company, trade_id)
        if current.status == Trade.Status.CANCELLED:
            raise ValidationError({"trade_id": [_("The trade is cancelled.")]})
        data = _as_input(current)
        if ("trade_date" in changes or "instrument" in changes) and (
            "settlement_date" not in changes
        ):
            data["settlement_date"] = None
        data.update(changes)
        values, errors = prepare_trade(data, Lookups(company), timezone.localdate())
        if errors:
            raise ValidationError(errors)
        values["late"] = current.late or values["late"]
        return _new_version(current, values, user, source)


def trade_cancel(
    *, company: Company, trade_id: str, reason: str, user: Any = None, source: str = "api"
) -> Trade:
    """A new version of the trade, cancelled, with the reason."""
    if not _text(reason):
        raise ValidationError({"reason": [_("Say why the trade is cancelled.")]})
    with transaction.atomic():
        current = _current(company, trade_id)
        if current.status == Trade.Status.CANCELLED:
            raise ValidationError({"trade_id": [_("The trade is already cancelled.")]})
        fields = [
            f.name
            for f in Trade._meta.concrete_fields
            if f.name not in ("id", "company", "version", "created_by", "created_at", "source")
        ]
        values = {name: getattr(current, name) for name in fields}
        values.update(status=Trade.Status.CANCELLED, comment=_text(reason)[:300])
        return _new_version(current, values, user, source)


# --- import -----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    booked: int = 0
    amended: int = 0
    late: int = 0


def _rows(content: bytes, filename: str) -> list[dict[str, Any]]:
    """The rows of a CSV or XLSX file with a header row, keyed by lower-case column name."""
    if content[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises many kinds
            raise ValidationError(
                {"file": [_("The file is not a readable XLSX workbook.")]}
            ) from exc
        if sheet is None:
            raise ValidationError({"file": [_("The workbook has no sheet.")]})
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            return []
        header = [_text(cell).lower() for cell in rows[0]]
        return [
            {
                header[i]: (str(v) if isinstance(v, float) else v)
                for i, v in enumerate(row)
                if i < len(header)
            }
            for row in rows[1:]
            if any(cell not in (None, "") for cell in row)
        ]
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    lines = list(reader)
    if not lines:
        return []
    header = [cell.strip().lower() for cell in lines[0]]
    return [
        dict(zip(header, line, strict=False)) for line in lines[1:] if any(c.strip() for c in line)
    ]


def trades_import(
    *,
    company: Company,
    content: bytes,
    filename: str = "",
    user: Any = None,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Import front-office trades, all or nothing: a trade id not booked yet is booked; one
    booked already gets a new version when the row differs from it. Errors are keyed
    ``line N.field`` (N: the file's line, the header being line 1)."""
    rows = _rows(content, filename)
    if not rows:
        raise ValidationError({"file": [_("The file has no trades.")]})
    missing = [
        name
        for name in (
            "trade_id",
            "executed_at",
            "account",
            "trader",
            "instrument",
            "broker",
            "side",
            "quantity",
            "price",
        )
        if name not in rows[0]
    ]
    if missing:
        raise ValidationError(
            {"file": [_("Columns missing: %(names)s.") % {"names": ", ".join(missing)}]}
        )
    lookups = Lookups(company)
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    prepared: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        data = {k: v for k, v in row.items() if k in TRADE_FIELDS and _text(v) != ""}
        values, problems = prepare_trade(data, lookups, today)
        for field, messages in problems.items():
            errors[f"line {number}.{field}"] = messages
        trade_id = values["trade_id"]
        if trade_id in seen:
            errors.setdefault(f"line {number}.trade_id", []).append(
                _("Trade %(id)s is also on line %(line)d.")
                % {"id": trade_id, "line": seen[trade_id]}
            )
        seen[trade_id] = number
        prepared.append((number, values))
        if progress and number % 1000 == 0:
            progress(number, len(rows), _("Checking the trades"))
    current: dict[str, Trade] = {}
    ids = list(seen)
    for start in range(0, len(ids), 900):
        for found in Trade.objects.filter(
            company=company, is_current=True, trade_id__in=ids[start : start + 900]
        ):
            current[found.trade_id] = found
    for number, values in prepared:
        existing = current.get(values["trade_id"])
        if (
            existing is not None
            and existing.status == Trade.Status.CANCELLED
            and _differs(existing, values)
        ):
            errors.setdefault(f"line {number}.trade_id", []).append(
                _("Trade %(id)s is cancelled: it cannot change.") % {"id": values["trade_id"]}
            )
    if errors:
        raise ValidationError(errors)
    result = ImportResult()
    try:
        with transaction.atomic():
            _import_store(company, prepared, current, user, filename, result)
    except IntegrityError as exc:  # the same trades booked meanwhile by another import
        raise ValidationError(
            {"file": [_("Some of these trades were booked meanwhile: import the file again.")]}
        ) from exc
    return result


def _import_store(
    company: Company,
    prepared: list[tuple[int, dict[str, Any]]],
    current: Mapping[str, Trade],
    user: Any,
    filename: str,
    result: ImportResult,
) -> None:
    for _number, values in prepared:
        existing = current.get(values["trade_id"])
        if existing is None:
            Trade(company=company, created_by=_user(user), source="file", **values).save()
            result.booked += 1
        elif _differs(existing, values):
            values["late"] = existing.late or values["late"]
            _new_version(existing, values, user, "file")
            result.amended += 1
        result.late += int(bool(values.get("late")))
    audit_log(
        action=AuditAction.CREATE,
        company=company,
        user=user,
        object_type="trading.tradeimport",
        object_repr=filename,
        extra={"file": filename, "booked": result.booked, "amended": result.amended},
    )


def _differs(trade: Trade, values: Mapping[str, Any]) -> bool:
    for name, value in values.items():
        current = getattr(trade, name)
        if hasattr(current, "pk") and hasattr(value, "pk"):
            if current.pk != value.pk:
                return True
        elif current != value:
            return True
    return False


def trades_of(company: Company) -> Iterable[Trade]:
    return Trade.objects.for_company(company).filter(is_current=True)

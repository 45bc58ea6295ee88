"""Compliance monitoring of trading: rules, the restricted list, the daily compliance run, the
alert review workflow and the back-office procedures manual. Every write goes through here
(pages, API, CLI, jobs, demo); each service validates everything first, raises
``ValidationError`` by field, then writes in one transaction, and every change is audited.

Rules (:class:`~trastienda.trading.models.ComplianceRule`), optionally scoped to one trader
and/or one instrument (empty: each trader, each instrument):

- **position limit** — ``limit``: a quantity (decimal text, stored in 10^-6 units). The net
  quantity of each trader x instrument at the end of the day (current versions of active
  trades dated that day or before) above the limit, long or short, raises an alert.
- **exposure limit** — ``limit``: an amount in ``currency`` (minor units). |net quantity| x
  the latest closing price on or before the day (else the last trade price) x the
  instrument's multiplier, in the instrument's currency, per trader x instrument. An
  instrument in another currency than the rule's is skipped, and the run says so.
- **restricted list** — trades of the day in an instrument on the restricted list that day.
- **outside market hours** — trades of the day executed, in the market's own time zone, before
  the open or after the close (:data:`MARKET_HOURS`; the close itself is inside) or on a day
  the market is closed (``trading/calendars.py``). Markets without hours (OTC, ``TARGET``) are
  skipped, and the run says so.
- **late booking** — trades of the day booked after their trade date (``Trade.late``).
- **unusual size** — ``params``: ``multiple`` (decimal text, at least 1), ``lookback`` (how
  many previous trades, default 20) and ``min_history`` (how many at least, default 5). A
  trade whose quantity is above ``multiple`` x the median quantity of the same trader's
  previous trades in the instrument; with less history than ``min_history``, nothing is said.

A run (:func:`compliance_run`) evaluates every active rule over one day. Each alert has a
fingerprint — rule + trade id for trade rules, rule + trader x instrument + date for limits —
so a re-run raises only what is new; alerts already raised stay as they are, whatever their
state (a limit still broken the next day is a new alert of that day).

Alert workflow (one service per step, each under a row lock, each one audit entry with the
comment): *open* → assign / justify / escalate → *escalated* → close → *closed* → reopen →
*open*. Who may close: the person the alert was escalated to, when it is escalated; otherwise
its owner (an alert without owner is taken by whoever closes it). Nobody reviews an alert
about their own trades (the trader's user cannot own, be escalated, nor close it). Closing,
escalating and justifying need a text; the texts are kept, stamped, in ``justification``.

Procedures: versions are only ever added (number + 1, effective from a date not before the
previous version's, a note of what changed); the text in force on a day is the latest version
effective by then; a procedure is linked to the rules (controls) it describes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, Count, F, Max, Q, Sum, When
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from trastienda.audit.models import AuditAction
from trastienda.audit.recorder import recording_disabled
from trastienda.audit.services import audit_log
from trastienda.core import context
from trastienda.core.models import Company, Membership
from trastienda.core.money import Money, currency_exponent
from trastienda.trading import calendars
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    Alert,
    ComplianceRule,
    Instrument,
    Price,
    Procedure,
    ProcedureVersion,
    RestrictedInstrument,
    Trade,
    Trader,
)
from trastienda.trading.services import gross_amount

Kind = ComplianceRule.Kind
State = Alert.State

RULE_FIELDS = (
    "code",
    "name",
    "kind",
    "severity",
    "trader",
    "instrument",
    "limit",
    "currency",
    "params",
    "active",
)
RESTRICTED_FIELDS = ("instrument", "reason", "valid_from", "valid_to")
PROCEDURE_FIELDS = ("code", "title", "owner", "active")
UNUSUAL_PARAMS = ("multiple", "lookback", "min_history")
DEFAULT_LOOKBACK = 20
DEFAULT_MIN_HISTORY = 5
MAX_LOOKBACK = 500
# Kinds that look at the day's trades one by one (alert per rule + trade id).
TRADE_KINDS = frozenset(
    {Kind.RESTRICTED_LIST, Kind.OUTSIDE_HOURS, Kind.LATE_BOOKING, Kind.UNUSUAL_SIZE}
)


@dataclass(frozen=True)
class MarketHours:
    """A market's continuous session in its own time zone (the close is inside)."""

    zone: str
    open: dt.time
    close: dt.time


#: Trading hours per market code (the markets of ``trading/calendars.py`` that have a
#: session; ``TARGET`` is a payment calendar, its instruments trade over the counter).
MARKET_HOURS: Final = MappingProxyType(
    {
        "XMAD": MarketHours("Europe/Madrid", dt.time(9, 0), dt.time(17, 30)),
        "XMIL": MarketHours("Europe/Rome", dt.time(9, 0), dt.time(17, 30)),
        "XNYS": MarketHours("America/New_York", dt.time(9, 30), dt.time(16, 0)),
    }
)


# --- small helpers -------------------------------------------------------------------------------


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _number(value: Decimal) -> str:
    """A decimal as people write it in the active language (grouped: 1.234.567,50)."""
    return number_format(value, use_l10n=True, force_grouping=True)


def _required_text(
    errors: dict[str, list[str]], name: str, value: Any, limit: int, missing: str
) -> str:
    """``value`` as text; ``missing`` when empty, an error when longer than ``limit``."""
    text = _text(value)
    if not text:
        _add(errors, name, missing)
    elif len(text) > limit:
        _add(errors, name, _("At most %(limit)d characters.") % {"limit": limit})
    return text


def _unique_code(
    errors: dict[str, list[str]], model: Any, company: Company, value: Any, stored: Any
) -> str:
    """A code of 20 characters at most, not used by another ``model`` row of the company."""
    code = _required_text(errors, "code", value, 20, _("Enter a code."))
    if code and "code" not in errors:
        taken = model.objects.filter(company=company, code=code)
        if stored is not None:
            taken = taken.exclude(pk=stored.pk)
        if taken.exists():
            _add(errors, "code", _("The code %(code)s is already used.") % {"code": code})
    return code


def _user(user: Any) -> Any:
    """The acting user: the one given, else the request's or job's (audit context)."""
    if user is None:
        user = context.current().user
    return user if getattr(user, "is_authenticated", False) else None


def _is_member(company: Company, user: Any) -> bool:
    return Membership.objects.filter(company=company, user=user, is_active=True).exists()


def _scaled_text(value: int | None, places: int) -> str:
    if value is None:
        return ""
    text = format(Decimal(int(value)).scaleb(-places), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def quantity_text(value: int | None) -> str:
    return _scaled_text(value, QUANTITY_PLACES)


def price_text(value: int | None) -> str:
    return _scaled_text(value, PRICE_PLACES)


def _decimal(value: Any, name: str, errors: dict[str, list[str]]) -> Decimal | None:
    text = _text(value)
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        _add(errors, name, _("“%(value)s” is not a number.") % {"value": text})
        return None
    if not number.is_finite():
        _add(errors, name, _("Enter a number."))
        return None
    return number


def _date(value: Any, name: str, errors: dict[str, list[str]], required: bool) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if not text:
        if required:
            _add(errors, name, _("Enter a date."))
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _add(errors, name, _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": text})
        return None


def _own(model: Any, company: Company, value: Any, name: str, errors: dict[str, list[str]]) -> Any:
    """A company's record given as an instance or its code (None when empty)."""
    if value in (None, ""):
        return None
    if isinstance(value, model):
        if value.company_id != company.pk:
            _add(errors, name, _("Choose one of the company's records."))
            return None
        return value
    found = model.objects.filter(company=company, code=_text(value)).first()
    if found is None:
        _add(errors, name, _("Unknown code %(code)s.") % {"code": _text(value)})
    return found


# --- rules ---------------------------------------------------------------------------------------


def rule_limit_text(rule: ComplianceRule) -> str:
    """The rule's limit as decimal text: a quantity, or an amount in the rule's currency."""
    if rule.limit is None:
        return ""
    if rule.kind == Kind.EXPOSURE_LIMIT and rule.currency:
        return str(Money(int(rule.limit), rule.currency).to_decimal())
    if rule.kind == Kind.POSITION_LIMIT:
        return quantity_text(rule.limit)
    return str(rule.limit)


def rule_as_input(rule: ComplianceRule) -> dict[str, Any]:
    """A stored rule's values in the form the services read them."""
    return {
        "code": rule.code,
        "name": rule.name,
        "kind": rule.kind,
        "severity": rule.severity,
        "trader": rule.trader,
        "instrument": rule.instrument,
        "limit": rule_limit_text(rule),
        "currency": rule.currency,
        "params": dict(rule.params or {}),
        "active": rule.active,
    }


def _unusual_params(raw: Any, errors: dict[str, list[str]]) -> dict[str, Any]:
    if raw in (None, ""):
        raw = {}
    if not isinstance(raw, Mapping):
        _add(errors, "params", _("Give the parameters as an object."))
        return {}
    for name in sorted(set(raw) - set(UNUSUAL_PARAMS)):
        _add(errors, "params", _("Unknown parameter %(name)s.") % {"name": name})
    multiple = _decimal(raw.get("multiple"), "multiple", errors)
    if multiple is None and "multiple" not in errors:
        _add(errors, "multiple", _("Enter the multiple of the usual size, such as 3."))
    elif multiple is not None and multiple < 1:
        _add(errors, "multiple", _("The multiple must be at least 1."))
    numbers: dict[str, int] = {}
    for name, default in (("lookback", DEFAULT_LOOKBACK), ("min_history", DEFAULT_MIN_HISTORY)):
        value = raw.get(name)
        if value in (None, ""):
            numbers[name] = default
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            _add(errors, name, _("Enter a whole number."))
            continue
        if not 1 <= number <= MAX_LOOKBACK:
            _add(errors, name, _("Enter a number from 1 to %(max)d.") % {"max": MAX_LOOKBACK})
            continue
        numbers[name] = number
    lookback = numbers.get("lookback", DEFAULT_LOOKBACK)
    given = raw.get("min_history") not in (None, "")
    min_history = numbers.get("min_history", 1) if given else min(DEFAULT_MIN_HISTORY, lookback)
    if min_history > lookback and "min_history" not in errors:
        _add(errors, "min_history", _("The minimum history cannot exceed the lookback."))
    if multiple is None:
        return {}
    return {
        "multiple": format(multiple.normalize(), "f"),
        "lookback": lookback,
        "min_history": min_history,
    }


def _prepare_rule(
    company: Company, data: Mapping[str, Any], stored: ComplianceRule | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(RULE_FIELDS)):
        _add(errors, name, _("Unknown field."))
    merged: dict[str, Any] = rule_as_input(stored) if stored is not None else {}
    merged.update({k: v for k, v in data.items() if k in RULE_FIELDS})
    code = _unique_code(errors, ComplianceRule, company, merged.get("code"), stored)
    name = _required_text(errors, "name", merged.get("name"), 150, _("Enter a name."))
    kind = _text(merged.get("kind"))
    if kind not in Kind.values:
        _add(errors, "kind", _("Choose one of: %(kinds)s.") % {"kinds": ", ".join(Kind.values)})
    elif stored is not None and kind != stored.kind and stored.alerts.exists():
        _add(errors, "kind", _("The rule has raised alerts: its kind stays. Add a new rule."))
    severity = _text(merged.get("severity")) or ComplianceRule.Severity.MEDIUM
    if severity not in ComplianceRule.Severity.values:
        _add(
            errors,
            "severity",
            _("Choose one of: %(values)s.") % {"values": ", ".join(ComplianceRule.Severity.values)},
        )
    trader = _own(Trader, company, merged.get("trader"), "trader", errors)
    instrument = _own(Instrument, company, merged.get("instrument"), "instrument", errors)
    currency = _text(merged.get("currency")).upper()
    limit_text = _text(merged.get("limit"))
    raw_params = merged.get("params")
    limit: int | None = None
    params: dict[str, Any] = {}
    if kind == Kind.POSITION_LIMIT:
        number = _decimal(limit_text, "limit", errors)
        if number is None and "limit" not in errors:
            _add(errors, "limit", _("Enter the limit quantity."))
        elif number is not None:
            scaled = number.scaleb(QUANTITY_PLACES)
            if scaled != scaled.to_integral_value():
                _add(errors, "limit", _("At most %(places)d decimals.") % {"places": 6})
            elif number <= 0:
                _add(errors, "limit", _("The limit must be positive."))
            else:
                limit = int(scaled)
        if currency:
            _add(errors, "currency", _("A position limit is a quantity: leave the currency empty."))
    elif kind == Kind.EXPOSURE_LIMIT:
        if not currency:
            _add(errors, "currency", _("Enter the currency of the limit."))
        else:
            try:
                currency_exponent(currency)
            except (ValueError, TypeError):
                _add(
                    errors, "currency", _("%(code)s is not a known currency.") % {"code": currency}
                )
        if not limit_text:
            _add(errors, "limit", _("Enter the limit amount."))
        elif "currency" not in errors:
            try:
                limit = Money.from_decimal(limit_text, currency).minor
            except (ValueError, ArithmeticError):
                _add(
                    errors,
                    "limit",
                    _("Enter an amount in %(currency)s with at most %(places)d decimals.")
                    % {"currency": currency, "places": currency_exponent(currency)},
                )
            else:
                if limit <= 0:
                    _add(errors, "limit", _("The limit must be positive."))
                    limit = None
    elif kind in Kind.values:
        if limit_text:
            _add(errors, "limit", _("This kind of rule has no limit: leave it empty."))
        if currency:
            _add(errors, "currency", _("This kind of rule has no currency: leave it empty."))
    if kind == Kind.UNUSUAL_SIZE:
        params = _unusual_params(raw_params, errors)
    elif raw_params and kind in Kind.values:
        _add(errors, "params", _("This kind of rule has no parameters."))
    active = merged.get("active", True)
    values = {
        "code": code,
        "name": name,
        "kind": kind,
        "severity": severity,
        "trader": trader,
        "instrument": instrument,
        "limit": limit,
        "currency": currency if kind == Kind.EXPOSURE_LIMIT else "",
        "params": params,
        "active": True if active is None else bool(active),
    }
    return values, errors


def compliance_rule_create(*, company: Company, **data: Any) -> ComplianceRule:
    """A new rule; ``limit`` is decimal text (a quantity, or an amount in ``currency``),
    ``params`` the unusual-size parameters; ``trader`` and ``instrument`` instances or codes."""
    values, errors = _prepare_rule(company, data, None)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rule = ComplianceRule(company=company, **values)
        rule.save()
    return rule


def compliance_rule_update(*, instance: ComplianceRule, **data: Any) -> ComplianceRule:
    """Change a rule (fields not given stay). Its kind stays once it has raised alerts."""
    with transaction.atomic():
        stored = ComplianceRule.objects.select_for_update().get(pk=instance.pk)
        values, errors = _prepare_rule(stored.company, data, stored)
        if errors:
            raise ValidationError(errors)
        for name, value in values.items():
            setattr(stored, name, value)
        stored.save()
    return stored


def compliance_rule_delete(*, instance: ComplianceRule) -> None:
    """Delete a rule that never raised an alert (else: make it inactive)."""
    if Alert.objects.filter(rule=instance).exists():
        raise ValidationError(
            _("%(rule)s has raised alerts: it cannot be deleted. Make it inactive instead.")
            % {"rule": instance}
        )
    with transaction.atomic():
        instance.delete()


# --- restricted list -----------------------------------------------------------------------------


def _prepare_restricted(
    company: Company, data: Mapping[str, Any], stored: RestrictedInstrument | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(RESTRICTED_FIELDS)):
        _add(errors, name, _("Unknown field."))
    merged: dict[str, Any] = {}
    if stored is not None:
        merged = {name: getattr(stored, name) for name in RESTRICTED_FIELDS}
    merged.update({k: v for k, v in data.items() if k in RESTRICTED_FIELDS})
    instrument = _own(Instrument, company, merged.get("instrument"), "instrument", errors)
    if instrument is None and "instrument" not in errors:
        _add(errors, "instrument", _("Choose the instrument."))
    reason = _required_text(
        errors, "reason", merged.get("reason"), 300, _("Say why the instrument is restricted.")
    )
    valid_from = _date(merged.get("valid_from"), "valid_from", errors, required=True)
    valid_to = _date(merged.get("valid_to"), "valid_to", errors, required=False)
    if valid_from and valid_to and valid_to < valid_from:
        _add(errors, "valid_to", _("The end is before the start."))
    if instrument is not None and valid_from is not None and not errors:
        overlap = RestrictedInstrument.objects.filter(company=company, instrument=instrument)
        if stored is not None:
            overlap = overlap.exclude(pk=stored.pk)
        overlap = overlap.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from))
        if valid_to is not None:
            overlap = overlap.filter(valid_from__lte=valid_to)
        clash = overlap.first()
        if clash is not None:
            _add(
                errors,
                "valid_from",
                _("%(code)s is already restricted from %(date)s in that period.")
                % {"code": instrument.code, "date": clash.valid_from.isoformat()},
            )
    values = {
        "instrument": instrument,
        "reason": reason,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    return values, errors


def restricted_instrument_create(*, company: Company, **data: Any) -> RestrictedInstrument:
    """Put an instrument on the restricted list from ``valid_from`` (to ``valid_to``, or
    until taken off). Periods of one instrument do not overlap."""
    values, errors = _prepare_restricted(company, data, None)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        entry = RestrictedInstrument(company=company, **values)
        entry.save()
    return entry


def restricted_instrument_update(
    *, instance: RestrictedInstrument, **data: Any
) -> RestrictedInstrument:
    with transaction.atomic():
        stored = RestrictedInstrument.objects.select_for_update().get(pk=instance.pk)
        values, errors = _prepare_restricted(stored.company, data, stored)
        if errors:
            raise ValidationError(errors)
        for name, value in values.items():
            setattr(stored, name, value)
        stored.save()
    return stored


def restricted_instrument_delete(*, instance: RestrictedInstrument) -> None:
    """Take an entry off the list (audited). To end a restriction, set its end date."""
    with transaction.atomic():
        instance.delete()


def restricted_on(company: Company, day: dt.date) -> dict[int, RestrictedInstrument]:
    """The restricted-list entries in force on ``day``, by instrument id."""
    entries = (
        RestrictedInstrument.objects.filter(company=company, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .order_by("valid_from", "pk")
    )
    return {entry.instrument_id: entry for entry in entries}


# --- the compliance run --------------------------------------------------------------------------


@dataclass
class Finding:
    rule: ComplianceRule
    key: str  # "trade:<trade id>" or "<trader id>:<instrument id>"
    message: str
    trade: Trade | None = None
    trader: Trader | None = None
    instrument: Instrument | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """What a compliance run did."""

    date: dt.date
    rules: int = 0
    trades: int = 0
    raised: int = 0
    already: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)  # new alerts per rule code
    skipped: list[str] = field(default_factory=list)  # what could not be checked, and why

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "rules": self.rules,
            "trades": self.trades,
            "raised": self.raised,
            "already": self.already,
            "by_rule": dict(self.by_rule),
            "skipped": list(self.skipped),
        }


def alert_fingerprint(rule: ComplianceRule, key: str, day: dt.date) -> str:
    """Rule + trade id for trade rules (a trade is flagged once per rule, amended or not);
    rule + key + date for end-of-day limits."""
    raw = f"{rule.pk}|{key}"
    if not key.startswith("trade:"):
        raw += f"|{day.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()


def median(values: Iterable[int]) -> Decimal:
    """The exact median of integers (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of nothing")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[middle])
    return (Decimal(ordered[middle - 1]) + Decimal(ordered[middle])) / 2


def _in_scope(rule: ComplianceRule, trader_id: int, instrument_id: int) -> bool:
    return (rule.trader_id is None or rule.trader_id == trader_id) and (
        rule.instrument_id is None or rule.instrument_id == instrument_id
    )


class _Day:
    """What the rules of one run read, loaded once."""

    def __init__(self, company: Company, day: dt.date) -> None:
        self.company = company
        self.day = day
        self.trades = list(
            Trade.objects.filter(
                company=company, is_current=True, status=Trade.Status.ACTIVE, trade_date=day
            )
            .select_related("trader", "instrument")
            .order_by("executed_at", "trade_id")
        )
        self._nets: dict[tuple[int, int], int] | None = None
        self._prices: dict[int, tuple[int, str] | None] = {}
        self.traders: dict[int, Trader] = {}
        self.instruments: dict[int, Instrument] = {}

    def nets(self) -> dict[tuple[int, int], int]:
        """Net quantity (10^-6, signed) per (trader id, instrument id) at the day's end."""
        if self._nets is None:
            signed = Case(
                When(side=Trade.Side.BUY, then=F("quantity")),
                default=-F("quantity"),
                output_field=BigIntegerField(),
            )
            rows = (
                Trade.objects.filter(
                    company=self.company,
                    is_current=True,
                    status=Trade.Status.ACTIVE,
                    trade_date__lte=self.day,
                )
                .values("trader_id", "instrument_id")
                .annotate(net=Sum(signed))
                .order_by("trader_id", "instrument_id")
            )
            self._nets = {(r["trader_id"], r["instrument_id"]): int(r["net"] or 0) for r in rows}
            self.traders = {
                t.pk: t for t in Trader.objects.filter(pk__in={k[0] for k in self._nets})
            }
            self.instruments = {
                i.pk: i for i in Instrument.objects.filter(pk__in={k[1] for k in self._nets})
            }
        return self._nets

    def price(self, instrument: Instrument) -> tuple[int, str] | None:
        """(price in 10^-8, where it comes from): the latest close on or before the day,
        else the last trade price on or before the day; None without either."""
        if instrument.pk not in self._prices:
            close = (
                Price.objects.filter(instrument=instrument, date__lte=self.day)
                .order_by("-date")
                .values_list("close", "date")
                .first()
            )
            found: tuple[int, str] | None = None
            if close is not None:
                found = (int(close[0]), _("close of %(date)s") % {"date": close[1].isoformat()})
            else:
                trade = (
                    Trade.objects.filter(
                        company=self.company,
                        instrument=instrument,
                        is_current=True,
                        status=Trade.Status.ACTIVE,
                        trade_date__lte=self.day,
                    )
                    .order_by("-trade_date", "-executed_at", "-trade_id")
                    .values_list("price", "trade_id")
                    .first()
                )
                if trade is not None:
                    found = (int(trade[0]), _("price of trade %(id)s") % {"id": trade[1]})
            self._prices[instrument.pk] = found
        return self._prices[instrument.pk]


def _position_findings(rule: ComplianceRule, day: _Day, result: RunResult) -> list[Finding]:
    found = []
    limit = int(rule.limit or 0)
    for (trader_id, instrument_id), net in sorted(day.nets().items()):
        if not net or not _in_scope(rule, trader_id, instrument_id) or abs(net) <= limit:
            continue
        trader, instrument = day.traders[trader_id], day.instruments[instrument_id]
        found.append(
            Finding(
                rule=rule,
                key=f"{trader_id}:{instrument_id}",
                trader=trader,
                instrument=instrument,
                message=_(
                    "%(trader)s holds %(net)s %(instrument)s at the close, above the limit "
                    "of %(limit)s."
                )
                % {
                    "trader": trader.code,
                    "net": quantity_text(net),
                    "instrument": instrument.code,
                    "limit": quantity_text(limit),
                },
                detail={"net": quantity_text(net), "limit": quantity_text(limit)},
            )
        )
    return found


def _exposure_findings(rule: ComplianceRule, day: _Day, result: RunResult) -> list[Finding]:
    found = []
    limit = int(rule.limit or 0)
    currency = rule.currency
    skipped: set[str] = set()
    for (trader_id, instrument_id), net in sorted(day.nets().items()):
        if not net or not _in_scope(rule, trader_id, instrument_id):
            continue
        trader, instrument = day.traders[trader_id], day.instruments[instrument_id]
        if instrument.currency != currency:
            skipped.add(
                _("%(rule)s: %(instrument)s is in %(its)s, the limit in %(currency)s; not checked.")
                % {
                    "rule": rule.code,
                    "instrument": instrument.code,
                    "its": instrument.currency,
                    "currency": currency,
                }
            )
            continue
        priced = day.price(instrument)
        if priced is None:
            skipped.add(
                _("%(rule)s: %(instrument)s has no price on or before the day; not checked.")
                % {"rule": rule.code, "instrument": instrument.code}
            )
            continue
        price, source = priced
        exposure = gross_amount(abs(net), price, instrument.multiplier, currency)
        if exposure <= limit:
            continue
        exposure_text = str(Money(exposure, currency).to_decimal())
        limit_text = str(Money(limit, currency).to_decimal())
        found.append(
            Finding(
                rule=rule,
                key=f"{trader_id}:{instrument_id}",
                trader=trader,
                instrument=instrument,
                message=_(
                    "Exposure of %(trader)s in %(instrument)s at the close: %(exposure)s "
                    "%(currency)s, above the limit of %(limit)s %(currency)s."
                )
                % {
                    "trader": trader.code,
                    "instrument": instrument.code,
                    "exposure": _number(Money(exposure, currency).to_decimal()),
                    "limit": _number(Money(limit, currency).to_decimal()),
                    "currency": currency,
                },
                detail={
                    "net": quantity_text(net),
                    "price": price_text(price),
                    "price_source": source,
                    "multiplier": format(instrument.multiplier.normalize(), "f"),
                    "exposure": exposure_text,
                    "limit": limit_text,
                    "currency": currency,
                },
            )
        )
    result.skipped.extend(sorted(skipped))
    return found


def _trade_finding(rule: ComplianceRule, trade: Trade, message: str, **detail: Any) -> Finding:
    return Finding(
        rule=rule,
        key=f"trade:{trade.trade_id}",
        trade=trade,
        trader=trade.trader,
        instrument=trade.instrument,
        message=message,
        detail={"trade_id": trade.trade_id, "version": trade.version, **detail},
    )


def _restricted_findings(rule: ComplianceRule, day: _Day, result: RunResult) -> list[Finding]:
    restricted = restricted_on(day.company, day.day)
    found = []
    for trade in day.trades:
        entry = restricted.get(trade.instrument_id)
        if entry is None or not _in_scope(rule, trade.trader_id, trade.instrument_id):
            continue
        found.append(
            _trade_finding(
                rule,
                trade,
                _("Trade %(id)s in %(instrument)s, on the restricted list since %(date)s.")
                % {
                    "id": trade.trade_id,
                    "instrument": trade.instrument.code,
                    "date": entry.valid_from.isoformat(),
                },
                reason=entry.reason,
                restricted_from=entry.valid_from.isoformat(),
            )
        )
    return found


def outside_hours(trade_time: dt.datetime, market: str) -> str | None:
    """Why ``trade_time`` is outside ``market``'s session ("" never), or None when inside.
    Raises KeyError for a market without hours."""
    hours = MARKET_HOURS[market]
    local = trade_time.astimezone(ZoneInfo(hours.zone))
    try:
        open_day = calendars.is_business_day(market, local.date())
    except ValueError:  # a year the calendar does not know: weekdays only
        open_day = local.weekday() < 5
    shown = local.strftime("%Y-%m-%d %H:%M:%S")
    if not open_day:
        return _("executed %(time)s (%(zone)s), a day %(market)s is closed") % {
            "time": shown,
            "zone": hours.zone,
            "market": market,
        }
    moment = local.time().replace(tzinfo=None)
    if moment < hours.open or moment > hours.close:
        return _("executed %(time)s (%(zone)s), outside %(open)s-%(close)s") % {
            "time": shown,
            "zone": hours.zone,
            "open": hours.open.strftime("%H:%M"),
            "close": hours.close.strftime("%H:%M"),
        }
    return None


def _hours_findings(rule: ComplianceRule, day: _Day, result: RunResult) -> list[Finding]:
    found = []
    no_hours: set[str] = set()
    for trade in day.trades:
        if not _in_scope(rule, trade.trader_id, trade.instrument_id):
            continue
        market = (
            calendars.resolve_market(trade.instrument.market) if trade.instrument.market else ""
        )
        if market not in MARKET_HOURS:
            no_hours.add(market or "—")
            continue
        why = outside_hours(trade.executed_at, market)
        if why is None:
            continue
        found.append(
            _trade_finding(
                rule,
                trade,
                _("Trade %(id)s in %(instrument)s %(why)s.")
                % {"id": trade.trade_id, "instrument": trade.instrument.code, "why": why},
                market=market,
                executed_at=trade.executed_at.isoformat(),
            )
        )
    for market in sorted(no_hours):
        result.skipped.append(
            _("%(rule)s: no market hours for %(market)s; its trades are not checked.")
            % {"rule": rule.code, "market": market}
        )
    return found


def _late_findings(rule: ComplianceRule, day: _Day, result: RunResult) -> list[Finding]:
    return [
        _trade_finding(
            rule,
            trade,
            _("Trade %(id)s of %(date)s was booked late, on %(booked)s.")
            % {
                "id": trade.trade_id,
                "date": trade.trade_date.isoformat(),
                "booked": timezone.localtime(trade.created_at).date().isoformat(),
            },
        )
        for trade in day.trades
        if trade.late and _in_scope(rule, trade.trader_id, trade.instrument_id)
    ]


def _unusual_findings(rule: ComplianceRule, day: _Day, result: RunResult) -> list[Finding]:
    params = rule.params or {}
    multiple = Decimal(str(params.get("multiple", "3")))
    lookback = int(params.get("lookback", DEFAULT_LOOKBACK))
    min_history = int(params.get("min_history", min(DEFAULT_MIN_HISTORY, lookback)))
    groups: dict[tuple[int, int], list[Trade]] = defaultdict(list)
    for trade in day.trades:
        if _in_scope(rule, trade.trader_id, trade.instrument_id):
            groups[(trade.trader_id, trade.instrument_id)].append(trade)
    found = []
    short = 0
    for (trader_id, instrument_id), trades in sorted(groups.items()):
        last = max(t.executed_at for t in trades)
        history = list(
            Trade.objects.filter(
                company=day.company,
                trader_id=trader_id,
                instrument_id=instrument_id,
                is_current=True,
                status=Trade.Status.ACTIVE,
                executed_at__lt=last,
            )
            .order_by("-executed_at", "-trade_id")
            .values_list("executed_at", "trade_id", "quantity")[: lookback + len(trades)]
        )
        for trade in trades:
            before = [
                quantity
                for executed, trade_id, quantity in history
                if (executed, trade_id) < (trade.executed_at, trade.trade_id)
            ][:lookback]
            if len(before) < min_history:
                short += 1
                continue
            usual = median(before)
            if Decimal(trade.quantity) <= multiple * usual:
                continue
            found.append(
                _trade_finding(
                    rule,
                    trade,
                    _(
                        "Trade %(id)s: %(quantity)s %(instrument)s, more than %(multiple)s x "
                        "the median %(median)s of the trader's previous %(count)d trades."
                    )
                    % {
                        "id": trade.trade_id,
                        "quantity": quantity_text(trade.quantity),
                        "instrument": trade.instrument.code,
                        "multiple": params.get("multiple"),
                        "median": _decimal_text(usual.scaleb(-QUANTITY_PLACES)),
                        "count": len(before),
                    },
                    quantity=quantity_text(trade.quantity),
                    median=_decimal_text(usual.scaleb(-QUANTITY_PLACES)),
                    multiple=str(params.get("multiple")),
                    history=len(before),
                )
            )
    if short:
        result.skipped.append(
            _("%(rule)s: %(count)d trades with less than %(min)d previous trades; not checked.")
            % {"rule": rule.code, "count": short, "min": min_history}
        )
    return found


def _decimal_text(number: Decimal) -> str:
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


EVALUATORS = {
    Kind.POSITION_LIMIT: _position_findings,
    Kind.EXPOSURE_LIMIT: _exposure_findings,
    Kind.RESTRICTED_LIST: _restricted_findings,
    Kind.OUTSIDE_HOURS: _hours_findings,
    Kind.LATE_BOOKING: _late_findings,
    Kind.UNUSUAL_SIZE: _unusual_findings,
}


def compliance_run(*, company: Company, date: Any, user: Any = None) -> RunResult:
    """Evaluate every active rule over ``date`` (the current versions of the day's active
    trades; the positions at its close). New findings become open alerts; a finding already
    alerted (same fingerprint) is left as it is. Audited: each alert, and the run's counts."""
    errors: dict[str, list[str]] = {}
    day = _date(date, "date", errors, required=True)
    if day is not None and day > timezone.localdate():
        _add(errors, "date", _("The date is in the future."))
    if errors or day is None:
        raise ValidationError(errors)
    result = RunResult(date=day)
    # the alerts' messages are stored: written in the company's language
    with transaction.atomic(), translation.override(company.language or "en"):
        rules = list(
            ComplianceRule.objects.filter(company=company, active=True)
            .select_related("trader", "instrument")
            .order_by("code")
        )
        loaded = _Day(company, day)
        result.rules = len(rules)
        result.trades = len(loaded.trades)
        findings: list[Finding] = []
        for rule in rules:
            findings.extend(EVALUATORS[Kind(rule.kind)](rule, loaded, result))
        prints = {alert_fingerprint(f.rule, f.key, day): f for f in findings}
        existing: set[str] = set()
        keys = list(prints)
        for start in range(0, len(keys), 500):
            existing.update(
                Alert.objects.filter(
                    company=company, fingerprint__in=keys[start : start + 500]
                ).values_list("fingerprint", flat=True)
            )
        for fingerprint, finding in prints.items():
            if fingerprint in existing:
                result.already += 1
                continue
            try:
                with transaction.atomic():
                    Alert(
                        company=company,
                        rule=finding.rule,
                        fingerprint=fingerprint,
                        date=day,
                        trade=finding.trade,
                        trader=finding.trader,
                        instrument=finding.instrument,
                        message=finding.message[:500],
                        detail=finding.detail,
                    ).save()
            except IntegrityError:  # raised meanwhile by a concurrent run
                result.already += 1
                continue
            result.raised += 1
            result.by_rule[finding.rule.code] = result.by_rule.get(finding.rule.code, 0) + 1
        audit_log(
            action=AuditAction.CREATE,
            company=company,
            user=_user(user),
            object_type="trading.compliancerun",
            object_repr=day.isoformat(),
            extra=result.as_dict(),
        )
    return result


# --- the alert workflow --------------------------------------------------------------------------

ALLOWED_FROM: Final = MappingProxyType(
    {
        "assign": frozenset({State.OPEN, State.ESCALATED}),
        "justify": frozenset({State.OPEN, State.ESCALATED}),
        "escalate": frozenset({State.OPEN, State.ESCALATED}),
        "close": frozenset({State.OPEN, State.ESCALATED}),
        "reopen": frozenset({State.CLOSED}),
    }
)


def alert_actions(alert: Alert) -> list[str]:
    """The workflow steps an alert's state allows."""
    return [step for step, states in ALLOWED_FROM.items() if alert.state in states]


def _locked_alert(alert: Alert, step: str) -> Alert:
    found = Alert.objects.select_for_update().get(pk=alert.pk)
    if found.state not in ALLOWED_FROM[step]:
        messages = {
            "reopen": _("Only a closed alert can be reopened."),
        }
        raise ValidationError(
            {
                "state": [
                    messages.get(
                        step,
                        _("The alert is %(state)s: reopen it first.")
                        % {"state": found.get_state_display()},
                    )
                ]
            }
        )
    return found


def _trader_user_id(alert: Alert) -> int | None:
    return alert.trader.user_id if alert.trader is not None else None


def _log_line(user: Any, label: str, text: str) -> str:
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    who = user.get_username() if user is not None else _("system")
    return f"[{stamp} {who}] {label}: {text}".strip()


def _record(
    alert: Alert,
    step: str,
    before: Mapping[str, Any],
    user: Any,
    comment: str,
    **extra: Any,
) -> None:
    """Save the alert's changed fields and write one audit entry for the step."""
    names = [name for name in before if getattr(alert, name) != before[name]]
    with recording_disabled():
        alert.save(update_fields=names or None)
    changes = {}
    for name in names:
        old, new = before[name], getattr(alert, name)
        changes[name] = [
            getattr(old, "pk", old) if hasattr(old, "pk") else old,
            getattr(new, "pk", new) if hasattr(new, "pk") else new,
        ]
    audit_log(
        action=AuditAction.UPDATE,
        company=alert.company,
        user=user,
        obj=alert,
        changes=changes,
        extra={"step": step, "comment": comment, **extra},
    )


def _snapshot(alert: Alert, *names: str) -> dict[str, Any]:
    return {name: getattr(alert, name) for name in names}


def alert_assign(
    *, instance: Alert, owner: Any = None, comment: str = "", user: Any = None
) -> Alert:
    """Give an open or escalated alert an owner (a member of the company; None: nobody),
    with an optional comment."""
    user = _user(user)
    comment = _text(comment)
    with transaction.atomic():
        alert = _locked_alert(instance, "assign")
        if owner is not None:
            if not _is_member(alert.company, owner):
                raise ValidationError({"owner": [_("Choose a member of the company.")]})
            if owner.pk == _trader_user_id(alert):
                raise ValidationError(
                    {"owner": [_("Nobody reviews an alert about their own trades.")]}
                )
        before = _snapshot(alert, "owner", "justification")
        alert.owner = owner
        if comment:
            label = _("Assigned to %(user)s") % {
                "user": owner.get_username() if owner is not None else "—"
            }
            alert.justification = (
                alert.justification + "\n" + _log_line(user, label, comment)
            ).strip()
        _record(alert, "assign", before, user, comment, owner=getattr(owner, "username", None))
    return alert


def alert_justify(*, instance: Alert, text: str, user: Any = None) -> Alert:
    """Add a justification (required) to an open or escalated alert."""
    user = _user(user)
    text = _text(text)
    if not text:
        raise ValidationError({"text": [_("Write the justification.")]})
    with transaction.atomic():
        alert = _locked_alert(instance, "justify")
        before = _snapshot(alert, "justification")
        alert.justification = (
            alert.justification + "\n" + _log_line(user, _("Justification"), text)
        ).strip()
        _record(alert, "justify", before, user, text)
    return alert


def alert_escalate(*, instance: Alert, to: Any, comment: str, user: Any = None) -> Alert:
    """Escalate an alert to a member of the company (not the trader, not oneself), saying
    why (required). Its state becomes *escalated*; only that person may close it."""
    user = _user(user)
    comment = _text(comment)
    errors: dict[str, list[str]] = {}
    if not comment:
        _add(errors, "comment", _("Say why the alert is escalated."))
    if to is None:
        _add(errors, "to", _("Choose the person to escalate to."))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        alert = _locked_alert(instance, "escalate")
        if not _is_member(alert.company, to):
            _add(errors, "to", _("Choose a member of the company."))
        elif user is not None and to.pk == user.pk:
            _add(errors, "to", _("Escalate to someone else."))
        elif to.pk == _trader_user_id(alert):
            _add(errors, "to", _("Nobody reviews an alert about their own trades."))
        elif alert.state == State.ESCALATED and alert.escalated_to_id == to.pk:
            _add(errors, "to", _("The alert is already escalated to %(user)s.") % {"user": to})
        if errors:
            raise ValidationError(errors)
        before = _snapshot(alert, "state", "escalated_to", "justification")
        alert.state = State.ESCALATED
        alert.escalated_to = to
        label = _("Escalated to %(user)s") % {"user": to.get_username()}
        alert.justification = (alert.justification + "\n" + _log_line(user, label, comment)).strip()
        _record(alert, "escalate", before, user, comment, to=to.get_username())
    return alert


def alert_close(*, instance: Alert, justification: str, user: Any = None) -> Alert:
    """Close an alert with its justification (required).

    Who may: when escalated, the person it was escalated to; otherwise its owner, or anyone
    reviewing alerts when it has none (they become its owner). Never the trader whose trades
    the alert is about. A person is needed: the system does not close alerts."""
    user = _user(user)
    text = _text(justification)
    if not text:
        raise ValidationError({"justification": [_("Write why the alert is closed.")]})
    if user is None:
        raise ValidationError(_("An alert is closed by a person: sign in."))
    with transaction.atomic():
        alert = _locked_alert(instance, "close")
        if user.pk == _trader_user_id(alert):
            raise ValidationError(_("Nobody closes an alert about their own trades."))
        if alert.state == State.ESCALATED and alert.escalated_to_id != user.pk:
            raise ValidationError(
                _("The alert was escalated to %(user)s: only they may close it.")
                % {"user": alert.escalated_to or "—"}
            )
        if alert.state == State.OPEN and alert.owner_id is not None and alert.owner_id != user.pk:
            raise ValidationError(
                _("The alert's owner is %(user)s: assign it to yourself to close it.")
                % {"user": alert.owner}
            )
        before = _snapshot(alert, "state", "owner", "closed_at", "justification")
        alert.state = State.CLOSED
        if alert.owner_id is None:
            alert.owner = user
        alert.closed_at = timezone.now()
        alert.justification = (
            alert.justification + "\n" + _log_line(user, _("Closed"), text)
        ).strip()
        _record(alert, "close", before, user, text)
    return alert


def alert_reopen(*, instance: Alert, reason: str, user: Any = None) -> Alert:
    """Open a closed alert again (the reason is required); it is no longer escalated."""
    user = _user(user)
    reason = _text(reason)
    if not reason:
        raise ValidationError({"reason": [_("Say why the alert is reopened.")]})
    with transaction.atomic():
        alert = _locked_alert(instance, "reopen")
        before = _snapshot(alert, "state", "closed_at", "escalated_to", "justification")
        alert.state = State.OPEN
        alert.closed_at = None
        alert.escalated_to = None
        alert.justification = (
            alert.justification + "\n" + _log_line(user, _("Reopened"), reason)
        ).strip()
        _record(alert, "reopen", before, user, reason)
    return alert


# --- dashboard -----------------------------------------------------------------------------------

AGE_BUCKETS: Final = ((0, 1), (2, 7), (8, 30), (31, None))


@dataclass
class Dashboard:
    open_total: int
    by_kind: list[tuple[str, str, int]]  # (kind, label, count)
    by_trader: list[tuple[str, int]]  # (trader code or "—", count)
    by_severity: list[tuple[str, str, int]]
    ageing: list[tuple[str, int]]  # (bucket label, count)
    escalated: int


def alerts_dashboard(company: Company, today: dt.date | None = None) -> Dashboard:
    """Open and escalated alerts by rule kind, trader, severity and age (days since the
    day they are about)."""
    today = today or timezone.localdate()
    pending = Alert.objects.filter(company=company, state__in=[State.OPEN, State.ESCALATED])
    kinds = dict(Kind.choices)
    by_kind = [
        (row["rule__kind"], str(kinds.get(row["rule__kind"], row["rule__kind"])), row["n"])
        for row in pending.values("rule__kind").annotate(n=Count("pk")).order_by("rule__kind")
    ]
    by_trader = [
        (row["trader__code"] or "—", row["n"])
        for row in pending.values("trader__code")
        .annotate(n=Count("pk"))
        .order_by("-n", "trader__code")
    ]
    severities = dict(ComplianceRule.Severity.choices)
    rank = {value: n for n, value in enumerate(reversed(ComplianceRule.Severity.values))}
    by_severity = sorted(  # high first
        (
            (row["rule__severity"], str(severities.get(row["rule__severity"], "")), row["n"])
            for row in pending.values("rule__severity").annotate(n=Count("pk")).order_by()
        ),
        key=lambda item: rank.get(item[0], len(rank)),
    )
    counts = [0] * len(AGE_BUCKETS)
    for day in pending.values_list("date", flat=True):
        age = (today - day).days
        for index, (low, high) in enumerate(AGE_BUCKETS):
            if age >= low and (high is None or age <= high):
                counts[index] += 1
                break
        else:
            counts[0] += 1  # dated in the future: count as new
    labels = [
        _("0-1 days"),
        _("2-7 days"),
        _("8-30 days"),
        _("over 30 days"),
    ]
    return Dashboard(
        open_total=sum(n for *_rest, n in by_kind),
        by_kind=by_kind,
        by_trader=by_trader,
        by_severity=by_severity,
        ageing=list(zip(labels, counts, strict=True)),
        escalated=pending.filter(state=State.ESCALATED).count(),
    )


# --- procedures ----------------------------------------------------------------------------------


def _check_procedure(
    company: Company,
    data: Mapping[str, Any],
    stored: Procedure | None,
    errors: dict[str, list[str]],
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    if stored is not None:
        merged = {name: getattr(stored, name) for name in PROCEDURE_FIELDS}
    merged.update({k: v for k, v in data.items() if k in PROCEDURE_FIELDS})
    code = _unique_code(errors, Procedure, company, merged.get("code"), stored)
    title = _required_text(errors, "title", merged.get("title"), 200, _("Enter a title."))
    owner = merged.get("owner")
    if owner is not None and not _is_member(company, owner):
        _add(errors, "owner", _("Choose a member of the company."))
    active = merged.get("active", True)
    return {
        "code": code,
        "title": title,
        "owner": owner,
        "active": True if active is None else bool(active),
    }


def _check_controls(
    company: Company, controls: Any, errors: dict[str, list[str]]
) -> list[ComplianceRule]:
    rules = []
    for item in controls or ():
        rule = _own(ComplianceRule, company, item, "controls", errors)
        if rule is not None:
            rules.append(rule)
    return rules


def _check_version_text(
    body: Any, effective_from: Any, change_note: Any, errors: dict[str, list[str]]
) -> tuple[str, dt.date | None, str]:
    text = str(body or "").replace("\r\n", "\n").strip()
    if not text:
        _add(errors, "body", _("Write the procedure's text."))
    day = _date(effective_from, "effective_from", errors, required=False)
    note = _text(change_note)
    if len(note) > 300:
        _add(errors, "change_note", _("At most %(limit)d characters.") % {"limit": 300})
    return text, day, note


def procedure_create(
    *,
    company: Company,
    code: str = "",
    title: str = "",
    owner: Any = None,
    active: bool = True,
    body: str = "",
    effective_from: Any = None,
    change_note: str = "",
    controls: Any = (),
    user: Any = None,
) -> Procedure:
    """A new procedure with its first version (``effective_from`` default: today) and the
    rules it describes."""
    errors: dict[str, list[str]] = {}
    values = _check_procedure(
        company, {"code": code, "title": title, "owner": owner, "active": active}, None, errors
    )
    text, day, note = _check_version_text(body, effective_from, change_note, errors)
    rules = _check_controls(company, controls, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        procedure = Procedure(company=company, **values)
        procedure.save()
        ProcedureVersion(
            company=company,
            procedure=procedure,
            version=1,
            body=text,
            change_note=note or _("First version."),
            effective_from=day or timezone.localdate(),
            created_by=_user(user),
        ).save()
        if rules:
            procedure.controls.add(*rules)
    return procedure


def procedure_update(*, instance: Procedure, **data: Any) -> Procedure:
    """Change a procedure's code, title, owner or active flag (its text changes by adding a
    version, its controls by linking and unlinking)."""
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(PROCEDURE_FIELDS)):
        _add(errors, name, _("Unknown field."))
    with transaction.atomic():
        stored = Procedure.objects.select_for_update().get(pk=instance.pk)
        values = _check_procedure(stored.company, data, stored, errors)
        if errors:
            raise ValidationError(errors)
        for name, value in values.items():
            setattr(stored, name, value)
        stored.save()
    return stored


def procedure_delete(*, instance: Procedure) -> None:
    """Procedures of the manual are kept with their versions: make one inactive instead."""
    raise ValidationError(
        _("%(obj)s is part of the manual's history and cannot be deleted. Make it inactive.")
        % {"obj": instance}
    )


def procedure_version_add(
    *,
    procedure: Procedure,
    body: str,
    effective_from: Any,
    change_note: str,
    user: Any = None,
) -> ProcedureVersion:
    """Add the next version (number + 1) of a procedure's text. The text must change, the
    note says what changed, and it takes effect on a date not before the latest version's."""
    errors: dict[str, list[str]] = {}
    text, day, note = _check_version_text(body, effective_from, change_note, errors)
    if day is None and "effective_from" not in errors:
        _add(errors, "effective_from", _("Enter the date the version takes effect."))
    if not note and "change_note" not in errors:
        _add(errors, "change_note", _("Say what changed."))
    with transaction.atomic():
        locked = Procedure.objects.select_for_update().get(pk=procedure.pk)
        latest = ProcedureVersion.objects.filter(procedure=locked).order_by("-version").first()
        if latest is not None:
            if text and text == latest.body:
                _add(
                    errors,
                    "body",
                    _("The text is the same as version %(n)d.") % {"n": latest.version},
                )
            if day is not None and day < latest.effective_from:
                _add(
                    errors,
                    "effective_from",
                    _("Version %(n)d takes effect on %(date)s: choose that day or later.")
                    % {"n": latest.version, "date": latest.effective_from.isoformat()},
                )
        if errors:
            raise ValidationError(errors)
        version = ProcedureVersion(
            company=locked.company,
            procedure=locked,
            version=(latest.version if latest is not None else 0) + 1,
            body=text,
            change_note=note,
            effective_from=day or timezone.localdate(),
            created_by=_user(user),
        )
        version.save()
    return version


def procedure_link(*, procedure: Procedure, rule: Any) -> Procedure:
    """Link a rule (instance or code) to the procedure that describes it (audited)."""
    errors: dict[str, list[str]] = {}
    found = _own(ComplianceRule, procedure.company, rule, "rule", errors)
    if found is None and "rule" not in errors:
        _add(errors, "rule", _("Choose a rule."))
    if found is not None and procedure.controls.filter(pk=found.pk).exists():
        _add(errors, "rule", _("%(rule)s is already linked.") % {"rule": found.code})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        procedure.controls.add(found)
    return procedure


def procedure_unlink(*, procedure: Procedure, rule: Any) -> Procedure:
    """Remove a rule from the procedure's controls (audited)."""
    errors: dict[str, list[str]] = {}
    found = _own(ComplianceRule, procedure.company, rule, "rule", errors)
    if found is None and "rule" not in errors:
        _add(errors, "rule", _("Choose a rule."))
    if found is not None and not procedure.controls.filter(pk=found.pk).exists():
        _add(errors, "rule", _("%(rule)s is not linked.") % {"rule": found.code})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        procedure.controls.remove(found)
    return procedure


def procedure_in_force(procedure: Procedure, on: dt.date | None = None) -> ProcedureVersion | None:
    """The version in force on ``on`` (default today): the latest effective by then."""
    on = on or timezone.localdate()
    return (
        ProcedureVersion.objects.filter(procedure=procedure, effective_from__lte=on)
        .order_by("-version")
        .first()
    )


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "remove", "same", "hunk"
    text: str


def procedure_diff(v_a: ProcedureVersion, v_b: ProcedureVersion) -> list[DiffLine]:
    """Line by line what changed from ``v_a`` to ``v_b`` (unified diff with 3 lines of
    context), for display. Texts are shown escaped by the templates."""
    lines = difflib.unified_diff(
        v_a.body.splitlines(),
        v_b.body.splitlines(),
        fromfile=f"v{v_a.version}",
        tofile=f"v{v_b.version}",
        lineterm="",
        n=3,
    )
    result = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            result.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            result.append(DiffLine("add", line[1:]))
        elif line.startswith("-"):
            result.append(DiffLine("remove", line[1:]))
        else:
            result.append(DiffLine("same", line[1:]))
    return result


def procedure_versions_latest(procedure: Procedure) -> int:
    return int(
        ProcedureVersion.objects.filter(procedure=procedure).aggregate(n=Max("version"))["n"] or 0
    )


# --- command line --------------------------------------------------------------------------------


def cli_compliance(company: Company, date: dt.date) -> str:
    """Run compliance for one day and describe the result in a few lines (for the command
    line: ``trastienda trading compliance --company X --date D`` once wired)."""
    with context.acting(company=company, source="cli"):
        result = compliance_run(company=company, date=date)
    lines = [
        _(
            "Compliance %(date)s for %(company)s: %(rules)d rules over %(trades)d trades, "
            "%(raised)d new alerts, %(already)d already raised."
        )
        % {
            "date": result.date.isoformat(),
            "company": company.code,
            "rules": result.rules,
            "trades": result.trades,
            "raised": result.raised,
            "already": result.already,
        }
    ]
    lines.extend(f"  {code}: {count}" for code, count in sorted(result.by_rule.items()))
    lines.extend(f"  ! {reason}" for reason in result.skipped)
    return "\n".join(lines)


__all__ = [
    "MARKET_HOURS",
    "RESTRICTED_FIELDS",
    "RULE_FIELDS",
    "DiffLine",
    "RunResult",
    "alert_actions",
    "alert_assign",
    "alert_close",
    "alert_escalate",
    "alert_fingerprint",
    "alert_justify",
    "alert_reopen",
    "alerts_dashboard",
    "cli_compliance",
    "compliance_rule_create",
    "compliance_rule_delete",
    "compliance_rule_update",
    "compliance_run",
    "median",
    "outside_hours",
    "procedure_create",
    "procedure_delete",
    "procedure_diff",
    "procedure_in_force",
    "procedure_link",
    "procedure_unlink",
    "procedure_update",
    "procedure_version_add",
    "restricted_instrument_create",
    "restricted_instrument_delete",
    "restricted_instrument_update",
    "restricted_on",
]

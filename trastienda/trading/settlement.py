"""Settlement and authorisations: the back office's settlement instructions, their approval by
a second person, their settlement (posted to the ledger), fails and projections.

Every write goes through these functions (pages, API, CLI, demo). Each validates first and
writes in one transaction; errors are ``ValidationError`` keyed by field, and a refused call
writes nothing. Every change is audited (one entry per change, with the user who made it and
the fields before and after).

**Instructions are the back office's books.** :func:`instructions_generate` books the current
version of active trades that have no live (not cancelled) instruction. An instruction copies
the trade version it was made from (``trade_version``) and never follows later amendments by
itself: when the trade has a newer version, or is cancelled, the instruction is *out of date*
(:func:`out_of_date_q`, :func:`is_out_of_date`), and the back office either re-generates it
(:func:`instruction_regenerate`: the live one is cancelled, a new one is made from the current
version) or cancels it (:func:`instruction_cancel`).

**Cash.** ``cash_amount`` is signed, in minor units of the trade's currency: a buy pays
``gross + fees + commission`` (negative), a sell receives ``gross - fees - commission``
(positive).

**States**::

    awaiting_approval --approve--> pending --match--> matched --settle--> settled
            |                        |  \\______________settle___________/     |
            |                        |                                        |
            |                        +--fail--> failed --settle (later)--> settled
            +------------------------+--------------+---cancel--> cancelled <-+

An instruction whose ``|cash_amount|`` is above the active :class:`ApprovalLimit` of its
currency starts ``awaiting_approval``; any other starts ``pending``. Approval is by a second
person: not whoever generated the instruction, and only someone holding
``trading.approve_settlementinstruction`` in the company (checked here, and by the pages and
the API). Cancelling a settled instruction reverses its ledger entry (posted entries are never
changed), and so does re-generating one.

**Ledger posting** (:func:`instruction_settle`): one entry in the settings' journal, dated the
settlement date, through :func:`trastienda.ledger.services.entry_create_posted`. With G the
gross amount, F the fees and C the commission (all of the trade's currency):

=================  =========================================  ===============================
trade              debit                                      credit
=================  =========================================  ===============================
house buy          securities G - R; fees expense F + C       settlement account G + F + C;
                                                              realised result R
house sell         settlement account G - F - C;              securities G + R;
                   fees expense F + C                         realised result R
client buy         client money G + F + C                     settlement account G + F;
                                                              commission income C
client sell        settlement account G - F                   client money G - F - C;
                                                              commission income C
=================  =========================================  ===============================

The house book pays fees and commission itself (an expense); for a client the firm is an
agent: the client's money pays or receives the net amount, the broker's fees pass through to
the client, and the commission is the firm's income. House securities are carried at cost
(gross, without fees): R is the realised result of what the trade closed of the house
position, before fees (:func:`trastienda.trading.positions.realised_gross`: the account's
trades replayed by the settings' cost method, FIFO or average), booked on
``realised_pnl_account`` — a gain (R > 0) credited, a loss debited — so the securities account
holds the cost of the open position and falls to zero when it is closed. A trade that only
opens or adds has R = 0. A line of zero is left out; a negative one changes side.

*Currencies.* A trade in the company currency posts plain lines. A trade in another currency
uses the ledger's currency support: every line carries the trade's currency and its amount in
it (``amount_currency``), and its debit or credit in the company currency at the ledger's
exchange rate on or before the settlement date (:func:`trastienda.ledger.fx.rate_on`), rounded
half up; the rounding remainder goes to the largest line so the entry balances exactly in both
currencies. Without a rate the settlement is refused with an error on ``settled_on`` naming the
missing rate.

**Reports.** :func:`fails_report`: failed instructions and live ones past their settlement date,
with their age in business days of the instrument's market, by broker.
:func:`projections`: the cash (by date and currency) and the securities (by date and instrument)
that live, unsettled instructions will move; what is overdue counts on the first day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Case, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from trastienda.audit.models import AuditAction
from trastienda.audit.recorder import recording_disabled
from trastienda.audit.services import audit_log
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent
from trastienda.trading.models import (
    ApprovalLimit,
    CostMethod,
    SettlementInstruction,
    Trade,
    TradingAccount,
    TradingSettings,
)
from trastienda.trading.models_settings import RECONCILE_KEYS
from trastienda.trading.positions import realised_gross

Status = SettlementInstruction.Status
APPROVE_PERM = "trading.approve_settlementinstruction"
LIVE = (Status.AWAITING_APPROVAL, Status.PENDING, Status.MATCHED, Status.FAILED)
"""Instructions still to settle (cancelled and settled ones are not)."""
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.AWAITING_APPROVAL: (Status.PENDING, Status.CANCELLED),
    Status.PENDING: (Status.MATCHED, Status.SETTLED, Status.FAILED, Status.CANCELLED),
    Status.MATCHED: (Status.SETTLED, Status.FAILED, Status.CANCELLED),
    Status.FAILED: (Status.SETTLED, Status.CANCELLED),
    Status.SETTLED: (Status.CANCELLED,),
    Status.CANCELLED: (),
}
SETTINGS_FIELDS = (
    "cost_method",
    "reminder_days",
    "reconcile_keys",
    "price_tolerance_bp",
    "fees_tolerance",
    "journal",
    "securities_account",
    "settlement_account",
    "clients_account",
    "fees_account",
    "commission_account",
    "realised_pnl_account",
)
ACCOUNT_SETTINGS = (
    "securities_account",
    "settlement_account",
    "clients_account",
    "fees_account",
    "commission_account",
    "realised_pnl_account",
)
LIMIT_FIELDS = ("currency", "amount", "active")
REASON_MAX = 300


def _raise(errors: Mapping[str, list[str]]) -> None:
    if errors:
        raise ValidationError(dict(errors))


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _fmt(minor: int, currency: str) -> str:
    return f"{Money(int(minor), currency).to_decimal()} {currency}"


def _audit(
    action: str,
    obj: Any,
    user: Any,
    changes: Mapping[str, Any] | None = None,
    **extra: Any,
) -> None:
    audit_log(action=action, obj=obj, user=_user(user), changes=changes, extra=extra or None)


def _changes(obj: Any, before: Mapping[str, Any], names: Iterable[str]) -> dict[str, list[Any]]:
    changed: dict[str, list[Any]] = {}
    for name in names:
        after = _audit_value(getattr(obj, name))
        if before[name] != after:
            changed[name] = [before[name], after]
    return changed


def _audit_value(value: Any) -> Any:
    if hasattr(value, "_meta"):
        return str(value)
    return value


def _snapshot(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: _audit_value(getattr(obj, name)) for name in names}


# --- settings -------------------------------------------------------------------------------


def trading_settings(company: Company) -> TradingSettings:
    """The company's trading settings, made (with the defaults) on first use."""
    found = TradingSettings.objects.filter(company=company).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            with recording_disabled():
                found = TradingSettings.objects.create(company=company)
            _audit(AuditAction.CREATE, found, None)
    except IntegrityError:  # made meanwhile by another request
        found = TradingSettings.objects.get(company=company)
    return found


def _account_problem(company: Company, account: Any) -> str | None:
    from trastienda.ledger.models import Account, AccountSubtype

    if not isinstance(account, Account) or account.company_id != company.pk:
        return _("Choose an account of this company.")
    if not account.postable:
        return _("Account %(code)s is a group: choose a postable account.") % {"code": account.code}
    if not account.active:
        return _("Account %(code)s is archived.") % {"code": account.code}
    if account.subtype in (AccountSubtype.RECEIVABLE, AccountSubtype.PAYABLE):
        return _(
            "Account %(code)s is a customer or supplier account: choose one without partners."
        ) % {"code": account.code}
    return None


def _resolve(company: Company, model: Any, value: Any) -> Any:
    """An account or journal given as an instance, an id or a code (None stays None)."""
    if value is None or value == "" or isinstance(value, model):
        return value or None
    queryset = model.objects.for_company(company)
    if isinstance(value, int) and not isinstance(value, bool):
        return queryset.filter(pk=value).first() or value
    return queryset.filter(code=_text(value)).first() or value


def settings_update(*, company: Company, user: Any = None, **data: Any) -> TradingSettings:
    """Change the trading settings (fields of :data:`SETTINGS_FIELDS`; accounts and the
    journal as instances, ids or codes). The accounts must be postable, active accounts of the
    company without partners; the journal an active journal of the company."""
    from trastienda.ledger.models import Account, Journal

    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(SETTINGS_FIELDS)):
        errors[name] = [_("Unknown field.")]
    values: dict[str, Any] = {}
    for name in ACCOUNT_SETTINGS:
        if name in data:
            account = _resolve(company, Account, data[name])
            if account is not None:
                problem = _account_problem(company, account)
                if problem:
                    errors[name] = [problem]
            values[name] = account
    if "journal" in data:
        journal = _resolve(company, Journal, data["journal"])
        if journal is not None:
            if not isinstance(journal, Journal) or journal.company_id != company.pk:
                errors["journal"] = [_("Choose a journal of this company.")]
            elif not journal.active:
                errors["journal"] = [_("The journal is not active.")]
        values["journal"] = journal
    if "cost_method" in data:
        if data["cost_method"] not in CostMethod.values:
            errors["cost_method"] = [_("Choose FIFO or average cost.")]
        values["cost_method"] = data["cost_method"]
    if "reminder_days" in data:
        try:
            days = int(data["reminder_days"])
        except (TypeError, ValueError):
            days = -1
        if not 0 <= days <= 365:
            errors["reminder_days"] = [_("Enter a number of days from 0 to 365.")]
        values["reminder_days"] = days
    _reconcile_values(data, values, errors)
    _raise(errors)
    with transaction.atomic():
        found = trading_settings(company)
        found = TradingSettings.objects.select_for_update().get(pk=found.pk)
        before = _snapshot(found, values)
        for name, value in values.items():
            setattr(found, name, value)
        changes = _changes(found, before, values)
        if changes:
            with recording_disabled():
                found.save()
            _audit(AuditAction.UPDATE, found, user, changes)
    return found


def _reconcile_values(
    data: Mapping[str, Any], values: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    """The reconciliation's keys (a list or comma-separated names of
    :data:`~trastienda.trading.models_settings.RECONCILE_KEYS`; the trade date always) and
    tolerances (price in basis points, at most two decimals; fees in minor units)."""
    if "reconcile_keys" in data:
        raw = data["reconcile_keys"]
        names = [str(n).strip() for n in (raw.split(",") if isinstance(raw, str) else raw or [])]
        known = [key for key, _label in RECONCILE_KEYS]
        unknown = [n for n in names if n and n not in known]
        if unknown:
            errors["reconcile_keys"] = [
                _("Unknown key %(names)s; choose among %(known)s.")
                % {"names": ", ".join(unknown), "known": ", ".join(known)}
            ]
        chosen = {n for n in names if n in known} | {"trade_date"}
        values["reconcile_keys"] = [key for key in known if key in chosen]
    if "price_tolerance_bp" in data:
        try:
            bp = Decimal(str(data["price_tolerance_bp"]).strip() or "0")
        except ArithmeticError:
            bp = Decimal(-1)
        if not bp.is_finite() or not 0 <= bp <= 10000 or bp != bp.quantize(Decimal("0.01")):
            errors["price_tolerance_bp"] = [
                _("Enter basis points from 0 to 10000 with at most two decimals.")
            ]
        values["price_tolerance_bp"] = bp
    if "fees_tolerance" in data:
        try:
            cents = int(data["fees_tolerance"])
        except (TypeError, ValueError):
            cents = -1
        if cents < 0:
            errors["fees_tolerance"] = [_("Enter a whole number of cents, 0 or more.")]
        values["fees_tolerance"] = cents


# --- approval limits ------------------------------------------------------------------------


def _limit_values(
    company: Company, data: Mapping[str, Any], instance: ApprovalLimit | None
) -> dict[str, Any]:
    from trastienda.core.currency_data import CURRENCIES

    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(LIMIT_FIELDS)):
        errors[name] = [_("Unknown field.")]
    currency = _text(data.get("currency", instance.currency if instance else "")).upper()
    if not currency:
        errors["currency"] = [_("Enter a currency (ISO 4217 code).")]
    elif currency not in CURRENCIES:
        errors["currency"] = [_("Unknown currency %(code)s.") % {"code": currency}]
    elif (
        ApprovalLimit.objects.for_company(company)
        .filter(currency=currency)
        .exclude(pk=getattr(instance, "pk", None))
        .exists()
    ):
        errors["currency"] = [_("There is already a limit for %(code)s.") % {"code": currency}]
    amount = 0
    if "amount" in data or instance is None:
        raw = data.get("amount")
        if isinstance(raw, float):
            errors["amount"] = [_("Enter the limit as decimal text, not a float.")]
        elif "currency" not in errors:
            try:
                amount = Money.from_decimal(_text(raw), currency).minor
            except (ValueError, ArithmeticError):
                errors["amount"] = [
                    _("Enter an amount in %(currency)s with at most %(places)d decimals.")
                    % {"currency": currency, "places": currency_exponent(currency)}
                ]
            else:
                if amount < 0:
                    errors["amount"] = [_("The limit cannot be negative.")]
    elif instance is not None:
        amount = instance.amount
    _raise(errors)
    values: dict[str, Any] = {"currency": currency, "amount": amount}
    if "active" in data:
        values["active"] = bool(data["active"])
    return values


def approval_limit_create(*, company: Company, user: Any = None, **data: Any) -> ApprovalLimit:
    """A limit for a currency: ``currency`` (ISO code), ``amount`` (decimal text in it),
    ``active``. One per currency."""
    values = _limit_values(company, data, None)
    try:
        with transaction.atomic():
            limit = ApprovalLimit(company=company, **values)
            with recording_disabled():
                limit.save()
            _audit(AuditAction.CREATE, limit, user, {k: [None, v] for k, v in values.items()})
    except IntegrityError as exc:
        raise ValidationError(
            {
                "currency": [
                    _("There is already a limit for %(code)s.") % {"code": values["currency"]}
                ]
            }
        ) from exc
    return limit


def approval_limit_update(
    *, instance: ApprovalLimit, user: Any = None, **data: Any
) -> ApprovalLimit:
    """Change a limit (the instructions already made keep their state)."""
    values = _limit_values(instance.company, data, instance)
    with transaction.atomic():
        limit = ApprovalLimit.objects.select_for_update().get(pk=instance.pk)
        before = _snapshot(limit, values)
        for name, value in values.items():
            setattr(limit, name, value)
        changes = _changes(limit, before, values)
        if changes:
            with recording_disabled():
                limit.save()
            _audit(AuditAction.UPDATE, limit, user, changes)
    return limit


def approval_limit_delete(*, instance: ApprovalLimit, user: Any = None) -> None:
    with transaction.atomic():
        _audit(AuditAction.DELETE, instance, user, {"amount": [instance.amount, None]})
        with recording_disabled():
            instance.delete()


def limit_for(company: Company, currency: str) -> int | None:
    """The active approval limit of ``currency`` (minor units), or None."""
    return (
        ApprovalLimit.objects.for_company(company)
        .filter(currency=currency, active=True)
        .values_list("amount", flat=True)
        .first()
    )


# --- instructions: reading ------------------------------------------------------------------


def _current_version() -> Subquery:
    return Subquery(
        Trade.objects.filter(
            company=OuterRef("company"), trade_id=OuterRef("trade_id"), is_current=True
        ).values("pk")[:1]
    )


def _current_status() -> Subquery:
    return Subquery(
        Trade.objects.filter(
            company=OuterRef("company"), trade_id=OuterRef("trade_id"), is_current=True
        ).values("status")[:1]
    )


def with_out_of_date(queryset: QuerySet[SettlementInstruction]) -> QuerySet[Any]:
    """``queryset`` annotated with ``current_version_id`` and ``out_of_date``: the trade has
    a newer version or is cancelled, and the instruction is not cancelled."""
    return queryset.annotate(
        current_version_id=_current_version(),
        current_status=_current_status(),
    ).annotate(
        out_of_date=Case(
            When(status=Status.CANCELLED, then=Value(False)),
            When(
                Q(trade_version_id=F("current_version_id")) & ~Q(current_status="cancelled"),
                then=Value(False),
            ),
            default=Value(True),
            output_field=BooleanField(),
        )
    )


def out_of_date_q(flag: bool = True) -> Q:
    """For a queryset of :func:`with_out_of_date`."""
    return Q(out_of_date=flag)


def current_trade(instruction: SettlementInstruction) -> Trade | None:
    return Trade.objects.filter(
        company_id=instruction.company_id, trade_id=instruction.trade_id, is_current=True
    ).first()


def is_out_of_date(instruction: SettlementInstruction) -> bool:
    """Whether the trade changed (newer version or cancelled) since the instruction was made."""
    if instruction.status == Status.CANCELLED:
        return False
    current = current_trade(instruction)
    return (
        current is None
        or current.pk != instruction.trade_version_id
        or current.status == Trade.Status.CANCELLED
    )


def cash_amount(side: str, gross: int, fees: int, commission: int) -> int:
    """Signed cash of a trade: a buy pays gross + fees + commission (negative), a sell
    receives gross - fees - commission (positive)."""
    if side == Trade.Side.BUY:
        return -(gross + fees + commission)
    return gross - fees - commission


# --- instructions: writing ------------------------------------------------------------------


def _instruction_from(trade: Trade, user: Any) -> SettlementInstruction:
    cash = cash_amount(trade.side, trade.gross_amount, trade.fees, trade.commission)
    limit = limit_for(trade.company, trade.currency)
    status = Status.AWAITING_APPROVAL if limit is not None and abs(cash) > limit else Status.PENDING
    return SettlementInstruction(
        company=trade.company,
        trade_id=trade.trade_id,
        trade_version=trade,
        account_id=trade.account_id,
        instrument_id=trade.instrument_id,
        broker_id=trade.broker_id,
        side=trade.side,
        trade_date=trade.trade_date,
        settlement_date=trade.settlement_date,
        quantity=trade.quantity,
        price=trade.price,
        currency=trade.currency,
        gross_amount=trade.gross_amount,
        fees=trade.fees,
        commission=trade.commission,
        cash_amount=cash,
        status=status,
        created_by=_user(user),
    )


CREATED_FIELDS = (
    "trade_id",
    "trade_version",
    "side",
    "trade_date",
    "settlement_date",
    "quantity",
    "price",
    "currency",
    "gross_amount",
    "fees",
    "commission",
    "cash_amount",
    "status",
)


def _store(instruction: SettlementInstruction, user: Any, **extra: Any) -> None:
    with recording_disabled():
        instruction.save()
    changes = {name: [None, _audit_value(getattr(instruction, name))] for name in CREATED_FIELDS}
    _audit(AuditAction.CREATE, instruction, user, changes, **extra)


@dataclass
class GenerateResult:
    created: list[SettlementInstruction] = field(default_factory=list)
    awaiting_approval: int = 0
    skipped: int = 0  # trades that already have a live instruction


def instructions_generate(
    *,
    company: Company,
    trade_date: dt.date | None = None,
    trade_ids: Sequence[str] | None = None,
    user: Any = None,
) -> GenerateResult:
    """Instructions for the current versions of the active trades of ``trade_date`` (or of
    the trade ids given) that have no live instruction. Trades with a live instruction, even an
    out-of-date one, are skipped: re-generate those explicitly."""
    errors: dict[str, list[str]] = {}
    if trade_date is None and not trade_ids:
        errors["trade_date"] = [_("Enter a trade date or the trade ids.")]
    if trade_date is not None and not isinstance(trade_date, dt.date):
        errors["trade_date"] = [_("Enter a date (YYYY-MM-DD).")]
    ids = [_text(i) for i in trade_ids or () if _text(i)]
    _raise(errors)
    trades = Trade.objects.filter(company=company, is_current=True)
    if trade_date is not None:
        trades = trades.filter(trade_date=trade_date)
    if ids:
        found = dict(trades.filter(trade_id__in=ids).values_list("trade_id", "status"))
        unknown = [i for i in ids if i not in found]
        cancelled = [i for i in ids if found.get(i) == Trade.Status.CANCELLED]
        if unknown:
            errors["trade_ids"] = [
                _("Unknown trades: %(ids)s.") % {"ids": ", ".join(sorted(set(unknown)))}
            ]
        if cancelled:
            errors.setdefault("trade_ids", []).append(
                _("Cancelled trades have nothing to settle: %(ids)s.")
                % {"ids": ", ".join(sorted(set(cancelled)))}
            )
        _raise(errors)
        trades = trades.filter(trade_id__in=ids)
    trades = trades.filter(status=Trade.Status.ACTIVE).order_by("trade_id")
    result = GenerateResult()
    try:
        with transaction.atomic():
            live = set(
                SettlementInstruction.objects.filter(company=company)
                .exclude(status=Status.CANCELLED)
                .filter(trade_id__in=trades.values("trade_id"))
                .values_list("trade_id", flat=True)
            )
            for trade in trades.select_related("company"):
                if trade.trade_id in live:
                    result.skipped += 1
                    continue
                instruction = _instruction_from(trade, user)
                _store(instruction, user, event="generate")
                result.created.append(instruction)
                result.awaiting_approval += instruction.status == Status.AWAITING_APPROVAL
    except IntegrityError as exc:  # generated meanwhile by another request
        raise ValidationError(
            {"trade_date": [_("Instructions were generated meanwhile: generate again.")]}
        ) from exc
    return result


def _locked(instruction: SettlementInstruction | int) -> SettlementInstruction:
    pk = instruction.pk if isinstance(instruction, SettlementInstruction) else int(instruction)
    return (
        SettlementInstruction.objects.select_for_update(of=("self",))
        .select_related("company", "account", "instrument", "broker", "account__partner")
        .get(pk=pk)
    )


def _check_transition(instruction: SettlementInstruction, target: str) -> None:
    if target not in TRANSITIONS[instruction.status]:
        raise ValidationError(
            {
                "status": [
                    _("A %(state)s instruction cannot become %(target)s.")
                    % {
                        "state": instruction.get_status_display().lower(),
                        "target": str(Status(target).label).lower(),
                    }
                ]
            }
        )


def _change(
    instruction: SettlementInstruction,
    user: Any,
    event: str,
    values: Mapping[str, Any],
    **extra: Any,
) -> SettlementInstruction:
    before = _snapshot(instruction, values)
    for name, value in values.items():
        setattr(instruction, name, value)
    with recording_disabled():
        instruction.save(update_fields=list(values))
    _audit(
        AuditAction.UPDATE,
        instruction,
        user,
        _changes(instruction, before, values),
        event=event,
        **extra,
    )
    return instruction


def may_approve(company: Company, user: Any) -> bool:
    """Whether ``user`` holds the approval permission in ``company``."""
    from trastienda.core.permissions import membership_perms
    from trastienda.core.tenancy import membership_for

    return APPROVE_PERM in membership_perms(membership_for(user, company))


def instruction_approve(
    *, instruction: SettlementInstruction | int, user: Any
) -> SettlementInstruction:
    """Release an instruction awaiting approval: by a signed-in person with
    ``trading.approve_settlementinstruction`` who did not generate it."""
    with transaction.atomic():
        found = _locked(instruction)
        approver = _user(user)
        errors: dict[str, list[str]] = {}
        if found.status != Status.AWAITING_APPROVAL:
            errors["status"] = [
                _("Only an instruction awaiting approval can be approved; this one is %(state)s.")
                % {"state": found.get_status_display().lower()}
            ]
        elif approver is None:
            errors["approved_by"] = [_("A signed-in person approves an instruction.")]
        elif found.created_by_id is not None and found.created_by_id == approver.pk:
            errors["approved_by"] = [
                _("The person who generated the instruction cannot approve it.")
            ]
        elif not may_approve(found.company, approver):
            errors["approved_by"] = [
                _("%(user)s may not approve settlement instructions.") % {"user": approver}
            ]
        _raise(errors)
        limit = limit_for(found.company, found.currency)
        return _change(
            found,
            approver,
            "approve",
            {"status": Status.PENDING, "approved_by": approver, "approved_at": timezone.now()},
            limit=_fmt(limit, found.currency) if limit is not None else "",
            cash_amount=_fmt(found.cash_amount, found.currency),
        )


def instruction_mark_matched(
    *, instruction: SettlementInstruction | int, user: Any = None
) -> SettlementInstruction:
    """The broker or custodian confirmed the instruction (pending → matched)."""
    with transaction.atomic():
        found = _locked(instruction)
        _check_transition(found, Status.MATCHED)
        return _change(found, user, "match", {"status": Status.MATCHED})


def _reason(reason: Any, field_name: str = "reason") -> str:
    text = _text(reason)
    if not text:
        raise ValidationError({field_name: [_("Enter the reason.")]})
    if len(text) > REASON_MAX:
        raise ValidationError(
            {field_name: [_("At most %(count)d characters.") % {"count": REASON_MAX}]}
        )
    return text


def instruction_fail(
    *, instruction: SettlementInstruction | int, reason: str, user: Any = None
) -> SettlementInstruction:
    """The instruction did not settle on its date (pending or matched → failed); it can be
    settled later."""
    text = _reason(reason)
    with transaction.atomic():
        found = _locked(instruction)
        _check_transition(found, Status.FAILED)
        return _change(found, user, "fail", {"status": Status.FAILED, "fail_reason": text})


def instruction_cancel(
    *,
    instruction: SettlementInstruction | int,
    reason: str,
    user: Any = None,
    reversal_date: dt.date | None = None,
) -> SettlementInstruction:
    """Cancel an instruction. A settled one has its ledger entry reversed (dated
    ``reversal_date``, default today)."""
    text = _reason(reason)
    with transaction.atomic():
        found = _locked(instruction)
        _check_transition(found, Status.CANCELLED)
        extra: dict[str, Any] = {"reason": text}
        if found.status == Status.SETTLED and found.entry_id is not None:
            reversal = _reverse_entry(found, reversal_date, text)
            extra["reversal"] = reversal.number
        return _change(found, user, "cancel", {"status": Status.CANCELLED}, **extra)


def instruction_regenerate(
    *, instruction: SettlementInstruction | int, user: Any = None
) -> SettlementInstruction:
    """Replace an out-of-date instruction by one made from the trade's current version: the
    old one is cancelled (a settled one has its ledger entry reversed). A cancelled trade has
    nothing to settle: cancel its instruction instead."""
    with transaction.atomic():
        found = _locked(instruction)
        if found.status == Status.CANCELLED:
            raise ValidationError(
                {"status": [_("The instruction is cancelled: generate a new one.")]}
            )
        current = (
            Trade.objects.select_related("company")
            .filter(company_id=found.company_id, trade_id=found.trade_id, is_current=True)
            .first()
        )
        if current is None or current.status == Trade.Status.CANCELLED:
            raise ValidationError(
                {"trade_version": [_("The trade is cancelled: cancel the instruction.")]}
            )
        if current.pk == found.trade_version_id:
            raise ValidationError(
                {
                    "trade_version": [
                        _("The instruction already follows version %(version)d of the trade.")
                        % {"version": current.version}
                    ]
                }
            )
        extra: dict[str, Any] = {"replaced_by_version": current.version}
        if found.status == Status.SETTLED and found.entry_id is not None:
            reason = _("Trade amended: version %(version)d.") % {"version": current.version}
            extra["reversal"] = _reverse_entry(found, None, reason).number
        _change(found, user, "regenerate", {"status": Status.CANCELLED}, **extra)
        fresh = _instruction_from(current, user)
        _store(fresh, user, event="regenerate", replaces=found.pk)
        return fresh


def _reverse_entry(found: SettlementInstruction, date: dt.date | None, reason: str) -> Any:
    from trastienda.ledger import services as ledger

    entry = found.entry
    if entry is None:
        raise ValidationError({"entry": [_("The instruction has no ledger entry to reverse.")]})
    try:
        return ledger.entry_reverse(
            instance=entry,
            date=date or timezone.localdate(),
            description=_("Reversal of the settlement of %(trade)s: %(reason)s")
            % {"trade": found.trade_id, "reason": reason},
        )
    except ValidationError as exc:
        raise ValidationError(
            {"entry": [f"{entry.number}: {message}" for message in exc.messages]}
        ) from exc


# --- settlement and its ledger entry --------------------------------------------------------


@dataclass(frozen=True)
class PostingLine:
    """One line of a settlement entry: account, signed amount in the trade's currency
    (debit > 0), what it is."""

    account: Any
    amount: int
    description: str
    partner: str = ""  # the client, on the client-money line


def posting_lines(
    instruction: SettlementInstruction, settings: TradingSettings
) -> list[PostingLine]:
    """The lines of the settlement entry in the trade's currency (see the module docstring).
    Raises a ValidationError naming the missing settings."""
    gross, fees, commission = instruction.gross_amount, instruction.fees, instruction.commission
    buy = instruction.side == Trade.Side.BUY
    house = instruction.account.kind == TradingAccount.Kind.HOUSE
    wanted = ["settlement_account"]
    realised = 0
    if house:
        wanted.append("securities_account")
        if fees + commission:
            wanted.append("fees_account")
        realised = realised_gross(
            instruction.company, instruction.trade_version, settings.cost_method
        )
        if realised:
            wanted.append("realised_pnl_account")
    else:
        wanted.append("clients_account")
        if commission:
            wanted.append("commission_account")
    errors: dict[str, list[str]] = {}
    if settings.journal_id is None:
        errors["journal"] = [_("Choose the settlement journal in the trading settings.")]
    for name in wanted:
        if getattr(settings, f"{name}_id") is None:
            label = getattr(TradingSettings._meta.get_field(name), "verbose_name", name)
            errors[name] = [
                _("Choose the account “%(setting)s” in the trading settings.") % {"setting": label}
            ]
    _raise(errors)
    sign = 1 if buy else -1
    label = _("%(side)s %(trade)s") % {
        "side": instruction.get_side_display(),
        "trade": instruction.trade_id,
    }
    if house:
        lines = [
            # the securities move at the cost of what was closed, the rest is the result
            PostingLine(settings.securities_account, sign * gross + realised, label),
            PostingLine(settings.realised_pnl_account, -realised, _("Realised result, %s") % label),
            PostingLine(
                settings.fees_account, fees + commission, _("Fees and commission, %s") % label
            ),
            PostingLine(settings.settlement_account, instruction.cash_amount, label),
        ]
    else:
        account = instruction.account
        client = account.partner.code if account.partner is not None else account.code
        lines = [
            PostingLine(settings.clients_account, -instruction.cash_amount, label, client),
            PostingLine(settings.commission_account, -commission, _("Commission, %s") % label),
            PostingLine(settings.settlement_account, -sign * (gross + sign * fees), label),
        ]
    lines = [line for line in lines if line.amount]
    assert sum(line.amount for line in lines) == 0  # noqa: S101 - the scheme balances
    return lines


def _ledger_lines(
    instruction: SettlementInstruction, lines: Sequence[PostingLine], settled_on: dt.date
) -> list[dict[str, Any]]:
    """The ledger lines (decimal text) of the posting, converted to the company currency
    when the trade is in another one."""
    from trastienda.ledger import fx

    company = instruction.company
    base = company.base_currency
    currency = instruction.currency
    if currency == base:
        converted = [line.amount for line in lines]
    else:
        rate = fx.rate_on(company, currency, settled_on)
        if rate is None:
            raise ValidationError(
                {
                    "settled_on": [
                        _(
                            "No exchange rate between %(currency)s and %(base)s on or before "
                            "%(date)s: enter one in the ledger's exchange rates."
                        )
                        % {"currency": currency, "base": base, "date": settled_on.isoformat()}
                    ]
                }
            )
        converted = [
            (1 if line.amount > 0 else -1) * rate.convert(abs(line.amount), currency, base)
            for line in lines
        ]
        remainder = sum(converted)
        if remainder:  # rounding: the largest line takes it, so the entry balances exactly
            largest = max(range(len(lines)), key=lambda i: abs(converted[i]))
            converted[largest] -= remainder
    rows: list[dict[str, Any]] = []
    for line, amount in zip(lines, converted, strict=True):
        row: dict[str, Any] = {
            "account": line.account.pk,
            "description": line.description,
            "debit" if amount > 0 else "credit": str(Money(abs(amount), base).to_decimal()),
        }
        if currency != base:
            row["currency"] = currency
            row["amount_currency"] = str(Money(line.amount, currency).to_decimal())
        if line.partner:
            row["partner"] = line.partner
        rows.append(row)
    return rows


def instruction_settle(
    *, instruction: SettlementInstruction | int, settled_on: dt.date, user: Any = None
) -> SettlementInstruction:
    """Settle a pending, matched or failed instruction on ``settled_on`` (not in the future,
    not before the trade date) and post its ledger entry (see the module docstring)."""
    from trastienda.ledger import services as ledger

    with transaction.atomic():
        found = _locked(instruction)
        _check_transition(found, Status.SETTLED)
        if not isinstance(settled_on, dt.date):
            raise ValidationError({"settled_on": [_("Enter a date (YYYY-MM-DD).")]})
        if settled_on > timezone.localdate():
            raise ValidationError({"settled_on": [_("The settlement date is in the future.")]})
        if settled_on < found.trade_date:
            raise ValidationError(
                {"settled_on": [_("The settlement date is before the trade date.")]}
            )
        settings = TradingSettings.objects.select_related(
            "journal",
            "securities_account",
            "settlement_account",
            "clients_account",
            "fees_account",
            "commission_account",
            "realised_pnl_account",
        ).get(pk=trading_settings(found.company).pk)
        lines = posting_lines(found, settings)
        rows = _ledger_lines(found, lines, settled_on)
        try:
            entry = ledger.entry_create_posted(
                company=found.company,
                journal=settings.journal,
                date=settled_on,
                reference=f"SI {found.trade_id}"[:60],
                description=_("Settlement of %(side)s %(trade)s, %(instrument)s")
                % {
                    "side": found.get_side_display().lower(),
                    "trade": found.trade_id,
                    "instrument": found.instrument.code,
                },
                lines=rows,
            )
        except ValidationError as exc:
            raise ValidationError(_ledger_errors(exc)) from exc
        return _change(
            found,
            user,
            "settle",
            {"status": Status.SETTLED, "settled_on": settled_on, "entry": entry},
            entry_number=entry.number,
        )


def _ledger_errors(exc: ValidationError) -> dict[str, list[str]]:
    """The ledger's errors on the settlement's fields: its date is ``settled_on``; a line's
    problem is the settings' (accounts) or the journal's."""
    if not hasattr(exc, "error_dict"):
        return {"entry": list(exc.messages)}
    errors: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        target = {"date": "settled_on", "journal": "journal"}.get(key, "entry")
        errors.setdefault(target, []).extend(messages)
    return errors


# --- reports --------------------------------------------------------------------------------


def business_age(market: str, since: dt.date, as_of: dt.date) -> int:
    """Business days of ``market`` after ``since`` up to ``as_of`` (weekdays when the market
    has no calendar)."""
    from trastienda.trading import calendars

    try:
        return calendars.business_days_between(market, since, as_of)
    except (ValueError, KeyError):
        days, day = 0, since
        step = 1 if as_of >= since else -1
        while day != as_of:
            day += dt.timedelta(days=step)
            days += step * (day.weekday() < 5)
        return days


@dataclass(frozen=True)
class FailRow:
    instruction: SettlementInstruction
    age: int  # business days since the settlement date

    @property
    def overdue(self) -> bool:
        return self.instruction.status != Status.FAILED


@dataclass
class BrokerFails:
    broker: Any
    rows: list[FailRow] = field(default_factory=list)
    cash: dict[str, int] = field(default_factory=dict)  # currency → sum of cash_amount

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def oldest(self) -> int:
        return max((row.age for row in self.rows), default=0)


@dataclass
class FailsReport:
    as_of: dt.date
    brokers: list[BrokerFails]

    @property
    def rows(self) -> list[FailRow]:
        return [row for group in self.brokers for row in group.rows]


def fails_report(company: Company, as_of: dt.date | None = None) -> FailsReport:
    """Failed instructions, and live ones whose settlement date has passed (``as_of``,
    default today, excluded), with their age in business days, grouped by broker."""
    as_of = as_of or timezone.localdate()
    rows = (
        SettlementInstruction.objects.for_company(company)
        .filter(Q(status=Status.FAILED) | Q(status__in=LIVE, settlement_date__lt=as_of))
        .select_related("company", "broker", "instrument", "account")
        .order_by("broker__code", "settlement_date", "id")
    )
    groups: dict[int, BrokerFails] = {}
    for instruction in rows:
        group = groups.setdefault(instruction.broker_id, BrokerFails(instruction.broker))
        age = business_age(instruction.instrument.market, instruction.settlement_date, as_of)
        group.rows.append(FailRow(instruction, max(age, 0)))
        group.cash[instruction.currency] = (
            group.cash.get(instruction.currency, 0) + instruction.cash_amount
        )
    return FailsReport(as_of, list(groups.values()))


@dataclass
class Projections:
    start: dt.date
    dates: list[dt.date]
    cash: dict[str, dict[dt.date, int]]  # currency → date → signed minor units
    securities: dict[Any, dict[dt.date, int]]  # instrument → date → signed quantity (10^-6)

    def cash_row(self, currency: str) -> list[int]:
        return [self.cash[currency].get(day, 0) for day in self.dates]

    def securities_row(self, instrument: Any) -> list[int]:
        return [self.securities[instrument].get(day, 0) for day in self.dates]


def projections(company: Company, start: dt.date | None = None, days: int = 10) -> Projections:
    """Cash by settlement date and currency, and securities by settlement date and
    instrument (received > 0, delivered < 0), of the live instructions not yet settled, for
    ``days`` calendar days from ``start`` (default today); overdue ones count on ``start``."""
    start = start or timezone.localdate()
    if not 1 <= int(days) <= 366:
        raise ValidationError({"days": [_("Enter a number of days from 1 to 366.")]})
    dates = [start + dt.timedelta(days=n) for n in range(int(days))]
    end = dates[-1]
    cash: dict[str, dict[dt.date, int]] = defaultdict(dict)
    securities: dict[Any, dict[dt.date, int]] = defaultdict(dict)
    rows = (
        SettlementInstruction.objects.for_company(company)
        .filter(status__in=LIVE, settlement_date__lte=end)
        .select_related("instrument")
        .order_by("settlement_date", "id")
    )
    for instruction in rows:
        day = max(instruction.settlement_date, start)
        by_day = cash[instruction.currency]
        by_day[day] = by_day.get(day, 0) + instruction.cash_amount
        quantity = (
            instruction.quantity if instruction.side == Trade.Side.BUY else -instruction.quantity
        )
        by_instrument = securities[instruction.instrument]
        by_instrument[day] = by_instrument.get(day, 0) + quantity
    ordered_securities = dict(sorted(securities.items(), key=lambda item: item[0].code))
    return Projections(start, dates, dict(sorted(cash.items())), ordered_securities)


def quantity_decimal(quantity: int) -> Decimal:
    from trastienda.trading.models import QUANTITY_PLACES

    number = Decimal(int(quantity)).scaleb(-QUANTITY_PLACES)
    return (
        number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
    )


__all__ = [
    "APPROVE_PERM",
    "LIVE",
    "TRANSITIONS",
    "FailsReport",
    "GenerateResult",
    "Projections",
    "approval_limit_create",
    "approval_limit_delete",
    "approval_limit_update",
    "cash_amount",
    "fails_report",
    "instruction_approve",
    "instruction_cancel",
    "instruction_fail",
    "instruction_mark_matched",
    "instruction_regenerate",
    "instruction_settle",
    "instructions_generate",
    "is_out_of_date",
    "may_approve",
    "posting_lines",
    "projections",
    "settings_update",
    "trading_settings",
    "with_out_of_date",
]

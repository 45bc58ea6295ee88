"""Services of trading's reference data: desks, traders, brokers, trading accounts and
instruments. Each validates everything (codes unique in the company, ISINs, currencies,
markets, the fields an instrument type needs) and raises ``ValidationError`` by field, then
writes. Deleting a record that trades (or other records) use is refused.

Used by the pages (:mod:`trastienda.trading.views`), the API (:mod:`trastienda.trading.api`)
and the demo. Services are called as the generic views and viewsets call them:
``<entity>_create(*, company, **fields)``, ``<entity>_update(*, instance, **fields)``,
``<entity>_delete(*, instance)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from trastienda.core import context
from trastienda.core.models import Company
from trastienda.core.money import currency_exponent
from trastienda.trading.models import Broker, Desk, Instrument, Trader, TradingAccount

M = TypeVar("M", bound=models.Model)

DESK_FIELDS = ("code", "name", "active")
TRADER_FIELDS = ("code", "name", "desk", "user", "active")
BROKER_FIELDS = ("code", "name", "kind", "lei", "fix_comp_id", "active")
ACCOUNT_FIELDS = ("code", "name", "kind", "partner", "desk", "active")
INSTRUMENT_FIELDS = (
    "code",
    "isin",
    "ticker",
    "name",
    "type",
    "market",
    "currency",
    "maturity",
    "coupon",
    "underlying",
    "expiry",
    "strike",
    "option_right",
    "multiplier",
    "exercise_style",
    "counter_currency",
    "active",
)
# Fields an option needs, in the order the form shows them.
OPTION_FIELDS = ("underlying", "expiry", "strike", "option_right", "multiplier", "exercise_style")


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _check_code(
    model: type[models.Model],
    company: Company,
    code: str,
    pk: int | None,
    errors: dict[str, list[str]],
) -> None:
    if not code:
        _add(errors, "code", _("Enter a code."))
        return
    taken = model._default_manager.filter(company=company, code=code)
    if pk is not None:
        taken = taken.exclude(pk=pk)
    if taken.exists():
        _add(errors, "code", _("The code %(code)s is already used.") % {"code": code})


def _check_company(value: Any, company: Company, field: str, errors: dict[str, list[str]]) -> None:
    if value is not None and getattr(value, "company_id", company.pk) != company.pk:
        _add(errors, field, _("Choose one of the company's records."))


def _save(
    model: type[M],
    *,
    company: Company,
    instance: M | None,
    names: tuple[str, ...],
    data: dict[str, Any],
    errors: dict[str, list[str]],
) -> M:
    """Apply ``data`` to ``instance`` (or a new record), check the model's own field rules,
    raise every problem found, then save."""
    unknown = sorted(set(data) - set(names))
    for name in unknown:
        _add(errors, name, _("Unknown field."))
    obj: Any = instance if instance is not None else model(company=company)
    for name, value in data.items():
        if name in names:
            setattr(obj, name, value)
    try:
        obj.full_clean(exclude=["company"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                if message not in errors.get(field, []):
                    _add(errors, field, message)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        obj.save()
    return obj


def _delete(instance: models.Model, what: str) -> None:
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise ValidationError(
            _("%(obj)s is used by %(what)s and cannot be deleted.")
            % {"obj": instance, "what": what}
        ) from exc


def _trades_use(instance: models.Model, field: str) -> bool:
    from trastienda.trading.models import Trade

    return Trade.objects.filter(**{field: instance}).exists()


def _refuse_if_traded(instance: models.Model, field: str) -> None:
    if _trades_use(instance, field):
        raise ValidationError(
            _("Trades use %(obj)s: it cannot be deleted. Make it inactive instead.")
            % {"obj": instance}
        )


def _code(data: dict[str, Any], instance: Any) -> str:
    if "code" in data:
        data["code"] = str(data["code"] or "").strip()
        return str(data["code"])
    return str(getattr(instance, "code", "") or "")


# --- desks --------------------------------------------------------------------------------------


def desk_create(*, company: Company, **data: Any) -> Desk:
    errors: dict[str, list[str]] = {}
    _check_code(Desk, company, _code(data, None), None, errors)
    return _save(Desk, company=company, instance=None, names=DESK_FIELDS, data=data, errors=errors)


def desk_update(*, instance: Desk, **data: Any) -> Desk:
    errors: dict[str, list[str]] = {}
    _check_code(Desk, instance.company, _code(data, instance), instance.pk, errors)
    return _save(
        Desk,
        company=instance.company,
        instance=instance,
        names=DESK_FIELDS,
        data=data,
        errors=errors,
    )


def desk_delete(*, instance: Desk) -> None:
    _delete(instance, _("traders or accounts"))


# --- traders ------------------------------------------------------------------------------------


def _check_member(user: Any, company: Company, errors: dict[str, list[str]]) -> None:
    """A trader's user must be an active member of the company."""
    from trastienda.core.models import Membership

    if user is None:
        return
    if not Membership.objects.filter(user=user, company=company, is_active=True).exists():
        _add(errors, "user", _("Choose an active member of the company."))


def trader_create(*, company: Company, **data: Any) -> Trader:
    errors: dict[str, list[str]] = {}
    _check_code(Trader, company, _code(data, None), None, errors)
    _check_company(data.get("desk"), company, "desk", errors)
    _check_member(data.get("user"), company, errors)
    return _save(
        Trader, company=company, instance=None, names=TRADER_FIELDS, data=data, errors=errors
    )


def trader_update(*, instance: Trader, **data: Any) -> Trader:
    errors: dict[str, list[str]] = {}
    _check_code(Trader, instance.company, _code(data, instance), instance.pk, errors)
    _check_company(data.get("desk"), instance.company, "desk", errors)
    if "user" in data and data["user"] != instance.user:
        _check_member(data["user"], instance.company, errors)
    return _save(
        Trader,
        company=instance.company,
        instance=instance,
        names=TRADER_FIELDS,
        data=data,
        errors=errors,
    )


def trader_delete(*, instance: Trader) -> None:
    _refuse_if_traded(instance, "trader")
    _delete(instance, _("trades"))


# --- brokers ------------------------------------------------------------------------------------


def _check_lei(data: dict[str, Any], errors: dict[str, list[str]]) -> None:
    if "lei" not in data:
        return
    lei = "".join(str(data["lei"] or "").split()).upper()
    data["lei"] = lei
    if lei:
        from stdnum import lei as stdnum_lei

        if not stdnum_lei.is_valid(lei):
            _add(errors, "lei", _("%(value)s is not a valid LEI.") % {"value": lei})


def broker_create(*, company: Company, **data: Any) -> Broker:
    errors: dict[str, list[str]] = {}
    _check_code(Broker, company, _code(data, None), None, errors)
    _check_lei(data, errors)
    return _save(
        Broker, company=company, instance=None, names=BROKER_FIELDS, data=data, errors=errors
    )


def broker_update(*, instance: Broker, **data: Any) -> Broker:
    errors: dict[str, list[str]] = {}
    _check_code(Broker, instance.company, _code(data, instance), instance.pk, errors)
    _check_lei(data, errors)
    return _save(
        Broker,
        company=instance.company,
        instance=instance,
        names=BROKER_FIELDS,
        data=data,
        errors=errors,
    )


def broker_delete(*, instance: Broker) -> None:
    _refuse_if_traded(instance, "broker")
    _delete(instance, _("trades"))


def broker_mapping_save(
    *, instance: Broker, mapping: Mapping[str, Any] | None, user: Any = None
) -> Broker:
    """Save how the broker's CSV/XLSX confirmations are read: ``mapping`` is the JSON form of
    :class:`~trastienda.trading.formats.confirmations.ConfirmationMapping`, checked first (a
    setting that cannot be used is a ValidationError keyed by its name, and nothing is
    written) and stored in its complete form. An empty mapping clears it. The change is
    recorded in the audit trail, as ``user`` when given."""
    from trastienda.trading.formats.confirmations import (
        ConfirmationMapping,
        ConfirmationMappingError,
    )

    stored: dict[str, Any] = {}
    if mapping is not None and not (isinstance(mapping, Mapping) and not mapping):
        try:
            stored = ConfirmationMapping.from_dict(mapping).to_dict()
        except ConfirmationMappingError as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        except (TypeError, ValueError) as exc:
            raise ValidationError({"confirmation_mapping": [str(exc)]}) from exc
    actor = context.acting(user=user) if getattr(user, "is_authenticated", False) else nullcontext()
    with actor, transaction.atomic():
        instance.confirmation_mapping = stored
        instance.save(update_fields=["confirmation_mapping"])
    return instance


# --- trading accounts ---------------------------------------------------------------------------


def trading_account_create(*, company: Company, **data: Any) -> TradingAccount:
    errors: dict[str, list[str]] = {}
    _check_code(TradingAccount, company, _code(data, None), None, errors)
    _check_company(data.get("desk"), company, "desk", errors)
    _check_company(data.get("partner"), company, "partner", errors)
    return _save(
        TradingAccount,
        company=company,
        instance=None,
        names=ACCOUNT_FIELDS,
        data=data,
        errors=errors,
    )


def trading_account_update(*, instance: TradingAccount, **data: Any) -> TradingAccount:
    errors: dict[str, list[str]] = {}
    _check_code(TradingAccount, instance.company, _code(data, instance), instance.pk, errors)
    _check_company(data.get("desk"), instance.company, "desk", errors)
    _check_company(data.get("partner"), instance.company, "partner", errors)
    return _save(
        TradingAccount,
        company=instance.company,
        instance=instance,
        names=ACCOUNT_FIELDS,
        data=data,
        errors=errors,
    )


def trading_account_delete(*, instance: TradingAccount) -> None:
    _refuse_if_traded(instance, "account")
    _delete(instance, _("trades"))


# --- instruments --------------------------------------------------------------------------------


def _currency(value: Any, field: str, errors: dict[str, list[str]], required: bool) -> str:
    code = str(value or "").strip().upper()
    if not code:
        if required:
            _add(errors, field, _("Enter a currency."))
        return code
    try:
        currency_exponent(code)
    except (ValueError, TypeError):
        _add(errors, field, _("%(code)s is not a known currency.") % {"code": code})
    return code


def markets() -> list[str]:
    """The market codes with a calendar (from :mod:`trastienda.trading.calendars`)."""
    from trastienda.trading.calendars import MARKETS

    return sorted(MARKETS)


def instrument_check(instance: Instrument) -> dict[str, list[str]]:
    """Every problem of an instrument's values, by field (empty: none)."""
    errors: dict[str, list[str]] = {}
    company = instance.company
    _check_code(Instrument, company, instance.code, instance.pk, errors)
    if instance.isin:
        from stdnum import isin as stdnum_isin
        from stdnum.exceptions import ValidationError as NumberError

        try:
            instance.isin = stdnum_isin.validate(instance.isin)
        except NumberError:
            _add(errors, "isin", _("%(value)s is not a valid ISIN.") % {"value": instance.isin})
        else:
            clash = Instrument.objects.filter(company=company, isin=instance.isin)
            if instance.pk is not None:
                clash = clash.exclude(pk=instance.pk)
            if clash.exists():
                _add(
                    errors,
                    "isin",
                    _("Another instrument has the ISIN %(isin)s.") % {"isin": instance.isin},
                )
    instance.currency = _currency(instance.currency, "currency", errors, required=True)
    market = str(instance.market or "").strip().upper()
    instance.market = market
    if not market:
        _add(errors, "market", _("Choose the market."))
    elif market not in markets():
        _add(
            errors,
            "market",
            _("%(code)s is not a market with a calendar (%(known)s).")
            % {"code": market, "known": ", ".join(markets())},
        )
    kind = instance.type
    if kind == Instrument.Type.OPTION:
        labels = {
            "underlying": _("the underlying"),
            "expiry": _("the expiry"),
            "strike": _("the strike"),
            "option_right": _("call or put"),
            "multiplier": _("the multiplier"),
            "exercise_style": _("the exercise style"),
        }
        for name in OPTION_FIELDS:
            if getattr(instance, name) in (None, ""):
                _add(errors, name, _("An option needs %(what)s.") % {"what": labels[name]})
    if kind == Instrument.Type.FUTURE and instance.expiry is None:
        _add(errors, "expiry", _("A future needs its expiry."))
    if kind == Instrument.Type.BOND and instance.maturity is None:
        _add(errors, "maturity", _("A bond needs its maturity."))
    if kind == Instrument.Type.FX_FORWARD:
        instance.counter_currency = _currency(
            instance.counter_currency, "counter_currency", errors, required=True
        )
        if instance.counter_currency and instance.counter_currency == instance.currency:
            _add(errors, "counter_currency", _("Choose a currency other than the instrument's."))
    elif instance.counter_currency:
        instance.counter_currency = _currency(
            instance.counter_currency, "counter_currency", errors, required=False
        )
    if instance.multiplier is not None and instance.multiplier <= 0:
        _add(errors, "multiplier", _("The multiplier must be positive."))
    if instance.strike is not None and instance.strike < 0:
        _add(errors, "strike", _("The strike cannot be negative."))
    underlying = instance.underlying
    if underlying is not None:
        if underlying.company_id != company.pk:
            _add(errors, "underlying", _("Choose one of the company's instruments."))
        elif instance.pk is not None and underlying.pk == instance.pk:
            _add(errors, "underlying", _("An instrument is not its own underlying."))
    return errors


def _instrument_save(instance: Instrument, data: dict[str, Any], *, new: bool) -> Instrument:
    errors: dict[str, list[str]] = {}
    if "code" in data:
        data["code"] = str(data["code"] or "").strip()
    if "isin" in data:
        data["isin"] = "".join(str(data["isin"] or "").split()).upper()
    for name in ("option_right", "exercise_style", "counter_currency", "ticker"):
        if name in data and data[name] is None:
            data[name] = ""
    if "multiplier" in data and data["multiplier"] is None:
        data["multiplier"] = None if data.get("type") == Instrument.Type.OPTION else 1
    unknown = sorted(set(data) - set(INSTRUMENT_FIELDS))
    for name in unknown:
        _add(errors, name, _("Unknown field."))
    for name, value in data.items():
        if name in INSTRUMENT_FIELDS:
            setattr(instance, name, value)
    if not new:
        stored = Instrument.objects.get(pk=instance.pk)
        if (
            stored.currency != instance.currency or stored.multiplier != instance.multiplier
        ) and _trades_use(instance, "instrument"):
            _add(
                errors,
                "currency" if stored.currency != instance.currency else "multiplier",
                _("Trades use this instrument: its currency and multiplier stay."),
            )
    for field, messages in instrument_check(instance).items():
        for message in messages:
            _add(errors, field, message)
    try:
        instance.full_clean(
            exclude=["company", *errors], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                _add(errors, field, message)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        instance.save()
    return instance


def instrument_create(*, company: Company, **data: Any) -> Instrument:
    """A new instrument; its type says which fields it needs (see :func:`instrument_check`)."""
    return _instrument_save(Instrument(company=company), data, new=True)


def instrument_update(*, instance: Instrument, **data: Any) -> Instrument:
    return _instrument_save(instance, data, new=False)


def instrument_delete(*, instance: Instrument) -> None:
    _refuse_if_traded(instance, "instrument")
    _delete(instance, _("derivatives"))


__all__ = [
    "ACCOUNT_FIELDS",
    "BROKER_FIELDS",
    "DESK_FIELDS",
    "INSTRUMENT_FIELDS",
    "TRADER_FIELDS",
    "broker_create",
    "broker_delete",
    "broker_mapping_save",
    "broker_update",
    "desk_create",
    "desk_delete",
    "desk_update",
    "instrument_check",
    "instrument_create",
    "instrument_delete",
    "instrument_update",
    "markets",
    "trader_create",
    "trader_delete",
    "trader_update",
    "trading_account_create",
    "trading_account_delete",
    "trading_account_update",
]

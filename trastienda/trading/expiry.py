"""The expiry calendar and the expiry process (issue 6 §6).

Calendar
--------
:func:`calendar_events` lists the dated events of a company between two dates: option and
future expiries (``Instrument.expiry``), FX forward value dates (forwards that carry an
``expiry``), bond maturities (``Instrument.maturity``) and the obligations kept beside them
(contract renewals, regulatory filings...), each with the open position in the instrument
(:func:`~trastienda.trading.positions.net_quantities`, at the end of the event's day or of
today, whichever comes first) and whether the expiry process has handled it.

Reminders
---------
:func:`reminders_send` (the daily job, :mod:`trastienda.trading.jobs_expiry`) reminds of the
events due within their lead time: the obligation's ``reminder_days`` or the company's
``TradingSettings.reminder_days`` (the settings row is made on first use). Instrument events
are reminded only while a position is open in them; obligations until they are done. Each
event goes out once: a :class:`~trastienda.trading.models.Reminder` row keyed
``instrument:<id>:<date>`` / ``obligation:<id>:<date>`` (unique per company) is inserted
first, and only the process that inserts it notifies. Recipients: the active members whose
role may view trades (``trading.view_trade``) and the obligation's owner; each gets an in-app
notification and an e-mail, in their own language (profile, else the company's). E-mails go
out after the commit.

Expiry process
--------------
:func:`expiry_preview` says what :func:`expiry_process` will do on a date; the process does it,
in one transaction, recorded as an :class:`~trastienda.trading.models.ExpiryRun` with one
:class:`~trastienda.trading.models.ExpiryEvent` per (instrument, account) position:

- options: moneyness against the underlying's closing price of the day (a missing price is
  an error naming the instrument, and nothing is done). Call intrinsic value = max(U - K, 0),
  put = max(K - U, 0). In the money: a long position is *exercised*, a short one *assigned*;
  out of or at the money: *expired worthless*. An option on an equity or ETF is physically
  settled: a trade in the underlying at the strike for quantity times multiplier (long call and
  short put buy, long put and short call sell). Any other option is cash-settled at its
  intrinsic value. The option position is always closed by a trade at 0 (expired or
  physically settled) or at the intrinsic value (cash-settled).
- futures: *cash-settled* by a closing trade at the future's own closing (final settlement)
  price of the day (missing: an error, as for options).
- bonds: *redeemed* at 100 by a closing trade settling on the maturity date.

Resulting trades are booked through :func:`~trastienda.trading.services.trade_book` with
``source="expiry"``, trade ids ``EXP-<yyyymmdd>-<instrument id>-<account id>-C`` (closing)
and ``-D`` (delivery of the underlying), the trader and broker of the account's latest trade
in the instrument, no fees. An event's ``amount`` is the net gross amount of its trades from
the account's side (sold: received, > 0; bought: paid, < 0), in the instrument's currency.

A position is processed once (``ExpiryEvent`` is unique per instrument and account). A
second run of the same date **skips** what was processed and processes only positions that
are new (traded after the first run); when nothing new is left it is refused, naming the
earlier run. The first run of a date with nothing to process is recorded (empty), as the
evidence that the day was checked. FX forwards are not processed here (their value date is
the settlement process's).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trastienda.audit.models import AuditAction
from trastienda.audit.services import audit_log
from trastienda.core.models import Company, Membership, Notification
from trastienda.trading.models import (
    PRICE_PLACES,
    QUANTITY_PLACES,
    ExpiryEvent,
    ExpiryRun,
    Instrument,
    Obligation,
    Reminder,
    Trade,
    TradingAccount,
)
from trastienda.trading.positions import closing_price, net_quantities
from trastienda.trading.services import gross_amount
from trastienda.trading.settlement import trading_settings

logger = logging.getLogger(__name__)

SOURCE = "expiry"
VIEW_PERM = ("trading", "view_trade")
PHYSICAL_UNDERLYINGS = frozenset({Instrument.Type.EQUITY, Instrument.Type.ETF})
PROCESSED_TYPES = (Instrument.Type.OPTION, Instrument.Type.FUTURE)
REDEMPTION_PRICE = 100 * 10**PRICE_PLACES
MAX_RANGE_DAYS = 1098  # a calendar query covers at most three years


class EventKind:
    """Kinds of calendar events (with their labels)."""

    OPTION = "option_expiry"
    FUTURE = "future_expiry"
    FX_FORWARD = "fx_forward_value"
    BOND = "bond_maturity"
    OBLIGATION = "obligation"

    choices = (
        (OPTION, gettext_lazy("Option expiry")),
        (FUTURE, gettext_lazy("Future expiry")),
        (FX_FORWARD, gettext_lazy("FX forward value date")),
        (BOND, gettext_lazy("Bond maturity")),
        (OBLIGATION, gettext_lazy("Obligation")),
    )
    values = tuple(value for value, _label in choices)

    @classmethod
    def label(cls, kind: str) -> str:
        return str(dict(cls.choices).get(kind, kind))


INSTRUMENT_KINDS = {
    Instrument.Type.OPTION: EventKind.OPTION,
    Instrument.Type.FUTURE: EventKind.FUTURE,
    Instrument.Type.FX_FORWARD: EventKind.FX_FORWARD,
}


# --- numbers ----------------------------------------------------------------------------------


def _text(value: int, places: int) -> str:
    """An integer of 10^-places units as plain decimal text without trailing zeros (never
    exponent notation), as the rest of trading's API writes numbers."""
    text = format(Decimal(int(value)).scaleb(-places), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _scaled_strike(strike: Decimal) -> int:
    return int(Decimal(strike).scaleb(PRICE_PLACES))


def _deliverable(quantity: int, multiplier: Decimal) -> int | None:
    """|quantity| times multiplier in 10^-6 units, or None when it is not a whole 10^-6."""
    exact = Decimal(abs(quantity)) * Decimal(multiplier)
    if exact != exact.to_integral_value():
        return None
    return int(exact)


# --- calendar ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarEvent:
    """A dated event of the calendar. ``position`` is the net open quantity (10^-6, signed)
    over all accounts, None for obligations; ``positions`` by account code."""

    date: dt.date
    kind: str
    key: str
    title: str
    instrument: Instrument | None = None
    obligation: Obligation | None = None
    position: int | None = None
    positions: tuple[tuple[str, int], ...] = ()
    processed: bool = False
    done: bool = False

    @property
    def kind_label(self) -> str:
        return EventKind.label(self.kind)

    @property
    def position_text(self) -> str:
        return "" if self.position is None else _text(self.position, QUANTITY_PLACES)

    @property
    def positions_text(self) -> str:
        """``CLI-1 5; HOUSE -2``: the open quantity by account."""
        return "; ".join(f"{code} {_text(q, QUANTITY_PLACES)}" for code, q in self.positions)

    @property
    def reminder_days(self) -> int | None:
        return self.obligation.reminder_days if self.obligation is not None else None

    def url(self) -> str:
        target = self.obligation if self.obligation is not None else self.instrument
        return str(target.get_absolute_url()) if target is not None else ""


def _check_range(start: Any, end: Any) -> tuple[dt.date, dt.date]:
    errors: dict[str, list[str]] = {}
    parsed = []
    for name, value in (("from", start), ("to", end)):
        day = _as_date(value, name, errors)
        parsed.append(day)
    first, last = parsed
    if first is not None and last is not None:
        if last < first:
            errors.setdefault("to", []).append(_("The end is before the start."))
        elif (last - first).days > MAX_RANGE_DAYS:
            errors.setdefault("to", []).append(
                _("Ask for at most %(days)d days at a time.") % {"days": MAX_RANGE_DAYS}
            )
    if errors or first is None or last is None:
        raise ValidationError(errors)
    return first, last


def _as_date(value: Any, name: str, errors: dict[str, list[str]]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        errors.setdefault(name, []).append(_("Enter a date (YYYY-MM-DD)."))
        return None
    try:
        day = parse_date(text)
    except ValueError:
        day = None
    if day is None:
        errors.setdefault(name, []).append(
            _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": text}
        )
    return day


def calendar_events(
    company: Company,
    start: dt.date | str,
    end: dt.date | str,
    *,
    kinds: Iterable[str] | None = None,
    today: dt.date | None = None,
) -> list[CalendarEvent]:
    """The dated events from ``start`` to ``end`` (both included), by date, kind and title,
    each with the open position if any (see the module docstring). ``kinds`` narrows to some
    :class:`EventKind` values. Bad dates raise ``ValidationError`` keyed ``from``/``to``."""
    first, last = _check_range(start, end)
    wanted = set(kinds) if kinds is not None else set(EventKind.values)
    unknown = wanted - set(EventKind.values)
    if unknown:
        raise ValidationError(
            {"kind": [_("Unknown kind %(kind)s.") % {"kind": sorted(unknown)[0]}]}
        )
    today = today or timezone.localdate()
    events: list[CalendarEvent] = []

    instrument_types = [t for t, k in INSTRUMENT_KINDS.items() if k in wanted]
    query = Q()
    if instrument_types:
        query |= Q(type__in=instrument_types, expiry__gte=first, expiry__lte=last)
    if EventKind.BOND in wanted:
        query |= Q(type=Instrument.Type.BOND, maturity__gte=first, maturity__lte=last)
    instruments: list[Instrument] = []
    if query:
        instruments = list(
            Instrument.objects.for_company(company)
            .filter(query)
            .select_related("company", "underlying")
            .order_by("code")
        )
    if instruments:
        events.extend(_instrument_events(company, instruments, today))
    if EventKind.OBLIGATION in wanted:
        for obligation in (
            Obligation.objects.for_company(company)
            .filter(due_date__gte=first, due_date__lte=last)
            .select_related("company", "owner")
        ):
            events.append(
                CalendarEvent(
                    date=obligation.due_date,
                    kind=EventKind.OBLIGATION,
                    key=f"obligation:{obligation.pk}:{obligation.due_date.isoformat()}",
                    title=obligation.title,
                    obligation=obligation,
                    done=obligation.done,
                )
            )
    kind_order = {kind: n for n, kind in enumerate(EventKind.values)}
    events.sort(key=lambda e: (e.date, kind_order[e.kind], e.title))
    return events


def _event_date(instrument: Instrument) -> dt.date:
    day = instrument.maturity if instrument.type == Instrument.Type.BOND else instrument.expiry
    return cast(dt.date, day)  # the queries pick instruments with the date set


def _instrument_events(
    company: Company, instruments: list[Instrument], today: dt.date
) -> list[CalendarEvent]:
    by_day: dict[dt.date, list[Instrument]] = defaultdict(list)
    for instrument in instruments:
        by_day[min(_event_date(instrument), today)].append(instrument)
    held: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for day, group in by_day.items():
        for (account_id, instrument_id), quantity in net_quantities(company, day, group).items():
            held[instrument_id].append((account_id, quantity))
    account_ids = {a for rows in held.values() for a, _q in rows}
    codes = dict(
        TradingAccount.objects.for_company(company)
        .filter(pk__in=account_ids)
        .values_list("pk", "code")
    )
    processed = set(
        ExpiryEvent.objects.for_company(company)
        .filter(instrument__in=instruments)
        .values_list("instrument_id", flat=True)
    )
    events = []
    for instrument in instruments:
        day = _event_date(instrument)
        kind = (
            EventKind.BOND
            if instrument.type == Instrument.Type.BOND
            else INSTRUMENT_KINDS[Instrument.Type(instrument.type)]
        )
        rows = sorted((codes.get(a, str(a)), q) for a, q in held.get(instrument.pk, []))
        events.append(
            CalendarEvent(
                date=day,
                kind=kind,
                key=f"instrument:{instrument.pk}:{day.isoformat()}",
                title=f"{instrument.code} · {instrument.name}",
                instrument=instrument,
                position=sum(q for _c, q in rows) if rows else None,
                positions=tuple(rows),
                processed=instrument.pk in processed,
            )
        )
    return events


# --- obligations ------------------------------------------------------------------------------

OBLIGATION_FIELDS = (
    "title",
    "kind",
    "due_date",
    "counterparty",
    "description",
    "reminder_days",
    "owner",
    "done",
)


def _check_owner(owner: Any, company: Company, errors: dict[str, list[str]]) -> None:
    if owner is None:
        return
    if not Membership.objects.filter(company=company, user=owner, is_active=True).exists():
        errors.setdefault("owner", []).append(_("Choose an active member of the company."))


def _obligation_save(obligation: Obligation, data: dict[str, Any], *, creating: bool) -> Obligation:
    errors: dict[str, list[str]] = {}
    for name in sorted(set(data) - set(OBLIGATION_FIELDS)):
        errors[name] = [_("Unknown field.")]
    for name, value in data.items():
        if name in OBLIGATION_FIELDS:
            setattr(obligation, name, value.strip() if isinstance(value, str) else value)
    if creating and not data.get("title"):
        errors.setdefault("title", []).append(_("Enter a title."))
    if "owner" in data:
        _check_owner(data["owner"], obligation.company, errors)
    days = obligation.reminder_days
    if days is not None and days > 365:
        errors.setdefault("reminder_days", []).append(_("At most 365 days."))
    try:
        obligation.full_clean(exclude=["company"], validate_unique=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                if message not in errors.get(name, []):
                    errors.setdefault(name, []).append(message)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        obligation.save()  # audited by the recorder (trastienda.audit.recorder)
    return obligation


def obligation_create(*, company: Company, **data: Any) -> Obligation:
    """A new obligation in the calendar (fields: :data:`OBLIGATION_FIELDS`). Bad input raises
    ``ValidationError`` by field and writes nothing."""
    return _obligation_save(Obligation(company=company), data, creating=True)


def obligation_update(*, instance: Obligation, **data: Any) -> Obligation:
    """Change an obligation; a new due date is reminded again (its reminder key changes)."""
    return _obligation_save(instance, data, creating=False)


def obligation_delete(*, instance: Obligation) -> None:
    """Delete an obligation (audited; its reminders stay as the record of what was sent)."""
    with transaction.atomic():
        instance.delete()


# --- reminders --------------------------------------------------------------------------------


def company_viewers(company: Company) -> list[Any]:
    """Active members whose role may view trades."""
    app, codename = VIEW_PERM
    memberships = (
        Membership.objects.filter(
            company=company,
            is_active=True,
            user__is_active=True,
            role__permissions__codename=codename,
            role__permissions__content_type__app_label=app,
        )
        .select_related("user", "user__profile")
        .distinct()
    )
    return [membership.user for membership in memberships]


def _language(user: Any, company: Company) -> str:
    profile = getattr(user, "profile", None)
    return (getattr(profile, "language", "") or company.language) or "en"


def _reminder_text(event: CalendarEvent, today: dt.date) -> tuple[str, str]:
    """(subject, body) of a reminder, in the active language."""
    days = (event.date - today).days
    if days == 0:
        when = _("today")
    elif days == 1:
        when = _("tomorrow")
    else:
        when = _("in %(days)d days") % {"days": days}
    subject = _("%(kind)s %(when)s (%(date)s): %(title)s") % {
        "kind": event.kind_label,
        "when": when,
        "date": event.date.isoformat(),
        "title": event.title,
    }
    lines = [subject, ""]
    if event.positions:
        lines.append(_("Open positions:"))
        lines += [f"  {code}: {_text(q, QUANTITY_PLACES)}" for code, q in event.positions]
    if event.obligation is not None:
        if event.obligation.counterparty:
            lines.append(_("Counterparty: %(name)s") % {"name": event.obligation.counterparty})
        if event.obligation.description:
            lines += ["", event.obligation.description]
    return " ".join(subject.split())[:300], "\n".join(lines)


def _due_events(company: Company, today: dt.date, default_days: int) -> list[CalendarEvent]:
    longest = max(
        [
            default_days,
            *Obligation.objects.for_company(company)
            .filter(done=False, due_date__gte=today, reminder_days__isnull=False)
            .values_list("reminder_days", flat=True),
        ]
    )
    due = []
    for event in calendar_events(company, today, today + dt.timedelta(days=longest), today=today):
        if event.obligation is not None:
            if event.done:
                continue
            lead = event.reminder_days if event.reminder_days is not None else default_days
        else:
            if not event.position and not event.positions:
                continue  # nothing open: nothing to remind of
            lead = default_days
        if (event.date - today).days <= lead:
            due.append(event)
    return due


def reminders_send(*, company: Company, today: dt.date | None = None) -> list[Reminder]:
    """Remind of the company's events due within their lead time that were not reminded
    yet: an in-app notification and an e-mail to each recipient (see the module docstring).
    Returns the reminders sent now (each event at most once, ever)."""
    today = today or timezone.localdate()
    default_days = trading_settings(company).reminder_days
    viewers = company_viewers(company)
    sent: list[Reminder] = []
    mails: list[EmailMessage] = []
    for event in _due_events(company, today, default_days):
        recipients = {user.pk: user for user in viewers}
        owner = event.obligation.owner if event.obligation is not None else None
        if (
            owner is not None
            and owner.is_active
            and Membership.objects.filter(company=company, user=owner, is_active=True).exists()
        ):
            recipients.setdefault(owner.pk, owner)
        try:
            with transaction.atomic():
                reminder = Reminder.objects.create(
                    company=company,
                    key=event.key,
                    due_date=event.date,
                    recipients=len(recipients),
                )
                url = _event_url(company, event)
                for user in recipients.values():
                    with translation.override(_language(user, company)):
                        subject, body = _reminder_text(event, today)
                    Notification.objects.create(
                        user=user,
                        company=company,
                        level=Notification.Level.WARNING,
                        message=subject[:500],
                        url=url,
                    )
                    if user.email:
                        mails.append(
                            EmailMessage(
                                subject=subject,
                                body=body,
                                from_email=settings.DEFAULT_FROM_EMAIL,
                                to=[user.email],
                            )
                        )
        except IntegrityError:  # reminded meanwhile by another process
            continue
        sent.append(reminder)
    if sent:
        audit_log(
            action=AuditAction.OTHER,
            company=company,
            object_type="trading.reminder",
            object_repr=_("Expiry reminders of %(date)s") % {"date": today.isoformat()},
            extra={"date": today.isoformat(), "events": [r.key for r in sent]},
        )
    if mails:
        transaction.on_commit(lambda: _deliver(mails))
    return sent


def _event_url(company: Company, event: CalendarEvent) -> str:
    if event.obligation is not None:
        return event.url()
    return (
        reverse("trading:expiry_list", kwargs={"company": company.code})
        + f"?from={event.date.isoformat()}&to={event.date.isoformat()}"
    )


def _deliver(mails: list[EmailMessage]) -> None:
    """Send the reminders' e-mails; a mail server's failure is logged, never raised (the
    in-app notifications are already there)."""
    try:
        with get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or 30) as conn:
            conn.send_messages(mails)
    except Exception:  # the mail server's problem must not fail the job
        logger.warning("expiry reminders: e-mail failed", exc_info=True)


def reminders_send_all(*, today: dt.date | None = None) -> dict[str, int]:
    """The daily job: reminders of every active company; one company's failure is logged and
    the others go on. Returns the number sent per company code."""
    from trastienda.core import context

    result: dict[str, int] = {}
    for company in Company.objects.filter(is_active=True).order_by("code"):
        with context.acting(company=company, source="job"):
            try:
                result[company.code] = len(reminders_send(company=company, today=today))
            except Exception:  # one company's problem must not stop the others
                logger.exception("expiry reminders failed for %s", company.code)
    return result


# --- the expiry process -----------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedTrade:
    """A trade the process will book: quantity 10^-6, price 10^-8 of the instrument."""

    instrument: Instrument
    side: str
    quantity: int
    price: int
    suffix: str  # "C" closing, "D" delivery of the underlying

    @property
    def gross(self) -> int:
        return gross_amount(
            self.quantity, self.price, self.instrument.multiplier, self.instrument.currency
        )

    @property
    def side_label(self) -> str:
        return str(Trade.Side(self.side).label)

    @property
    def quantity_text(self) -> str:
        return _text(self.quantity, QUANTITY_PLACES)

    @property
    def price_text(self) -> str:
        return _text(self.price, PRICE_PLACES)


@dataclass(frozen=True)
class PlannedEvent:
    """What the process does to one account's position in one instrument."""

    instrument: Instrument
    account: TradingAccount
    outcome: str
    quantity: int  # 10^-6, signed: the position before
    reference_price: int | None  # 10^-8
    trades: tuple[PlannedTrade, ...]
    processed_by: int | None = None  # the run that already did it (skipped)

    @property
    def amount(self) -> int:
        """Net gross of the trades from the account's side (received > 0), minor units."""
        return sum(t.gross if t.side == Trade.Side.SELL else -t.gross for t in self.trades)

    @property
    def currency(self) -> str:
        return self.instrument.currency

    @property
    def outcome_label(self) -> str:
        return str(ExpiryEvent.Outcome(self.outcome).label)

    @property
    def quantity_text(self) -> str:
        return _text(self.quantity, QUANTITY_PLACES)

    @property
    def reference_text(self) -> str:
        return "" if self.reference_price is None else _text(self.reference_price, PRICE_PLACES)

    @property
    def amount_text(self) -> str:
        from trastienda.core.money import Money

        return str(Money(self.amount, self.currency).to_decimal())


@dataclass
class ExpiryPlan:
    """The preview of a date: events to process and events already processed (skipped)."""

    date: dt.date
    events: list[PlannedEvent] = field(default_factory=list)
    skipped: list[PlannedEvent] = field(default_factory=list)
    previous_runs: list[int] = field(default_factory=list)


def _check_date(value: Any, today: dt.date) -> dt.date:
    errors: dict[str, list[str]] = {}
    day = _as_date(value, "date", errors)
    if day is not None and day > today:
        errors.setdefault("date", []).append(
            _("The expiry process runs on the day or after it, not before: %(date)s is ahead.")
            % {"date": day.isoformat()}
        )
    if errors or day is None:
        raise ValidationError(errors)
    return day


def _expiring(company: Company, day: dt.date) -> list[Instrument]:
    return list(
        Instrument.objects.for_company(company)
        .filter(
            Q(type__in=PROCESSED_TYPES, expiry=day) | Q(type=Instrument.Type.BOND, maturity=day)
        )
        .select_related("company", "underlying")
        .order_by("code")
    )


def _closing_side(quantity: int) -> str:
    return Trade.Side.SELL if quantity > 0 else Trade.Side.BUY


def _plan_option(
    instrument: Instrument,
    account: TradingAccount,
    quantity: int,
    underlying_close: int,
    errors: dict[str, list[str]],
) -> PlannedEvent | None:
    underlying = cast(Instrument, instrument.underlying)  # checked by the caller
    strike = _scaled_strike(cast(Decimal, instrument.strike))
    if instrument.option_right == Instrument.OptionRight.CALL:
        intrinsic = max(underlying_close - strike, 0)
    else:
        intrinsic = max(strike - underlying_close, 0)
    size = abs(quantity)
    close_side = _closing_side(quantity)
    if intrinsic <= 0:
        closing = PlannedTrade(instrument, close_side, size, 0, "C")
        return PlannedEvent(
            instrument, account, ExpiryEvent.Outcome.EXPIRED, quantity, underlying_close, (closing,)
        )
    in_money = ExpiryEvent.Outcome.EXERCISED if quantity > 0 else ExpiryEvent.Outcome.ASSIGNED
    if underlying.type in PHYSICAL_UNDERLYINGS:
        deliver = _deliverable(quantity, instrument.multiplier)
        if deliver is None:
            errors.setdefault("instrument", []).append(
                _(
                    "%(code)s (%(account)s): %(quantity)s times %(multiplier)s is not a whole "
                    "quantity of %(underlying)s to deliver."
                )
                % {
                    "code": instrument.code,
                    "account": account.code,
                    "quantity": _text(size, QUANTITY_PLACES),
                    "multiplier": instrument.multiplier,
                    "underlying": underlying.code,
                }
            )
            return None
        # Long call / short put take the underlying; long put / short call deliver it.
        takes = (instrument.option_right == Instrument.OptionRight.CALL) == (quantity > 0)
        delivery = PlannedTrade(
            underlying, Trade.Side.BUY if takes else Trade.Side.SELL, deliver, strike, "D"
        )
        closing = PlannedTrade(instrument, close_side, size, 0, "C")
        return PlannedEvent(
            instrument, account, in_money, quantity, underlying_close, (closing, delivery)
        )
    closing = PlannedTrade(instrument, close_side, size, intrinsic, "C")
    return PlannedEvent(instrument, account, in_money, quantity, underlying_close, (closing,))


def expiry_preview(*, company: Company, date: dt.date | str) -> ExpiryPlan:
    """What :func:`expiry_process` will do on ``date`` (nothing is written). A missing
    closing price raises ``ValidationError`` keyed ``price`` naming the instrument(s)."""
    day = _check_date(date, timezone.localdate())
    return _plan(company, day)


def _plan(company: Company, day: dt.date) -> ExpiryPlan:
    plan = ExpiryPlan(date=day)
    instruments = _expiring(company, day)
    plan.previous_runs = list(
        ExpiryRun.objects.for_company(company)
        .filter(date=day)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not instruments:
        return plan
    positions = net_quantities(company, day, instruments)
    done = {
        (e.instrument_id, e.account_id): e.run_id
        for e in ExpiryEvent.objects.for_company(company).filter(instrument__in=instruments)
    }
    accounts = {
        a.pk: a
        for a in TradingAccount.objects.for_company(company).filter(
            pk__in={a for a, _i in positions}
        )
    }
    by_pk = {i.pk: i for i in instruments}
    errors: dict[str, list[str]] = {}
    prices: dict[int, int | None] = {}

    def price_of(target: Instrument, needed_by: Instrument) -> int | None:
        if target.pk not in prices:
            prices[target.pk] = closing_price(target, day)
            if prices[target.pk] is None:
                errors.setdefault("price", []).append(
                    _("No closing price of %(code)s on %(date)s (needed for %(for)s).")
                    % {"code": target.code, "date": day.isoformat(), "for": needed_by.code}
                )
        return prices[target.pk]

    for (account_id, instrument_id), quantity in sorted(
        positions.items(), key=lambda item: (by_pk[item[0][1]].code, item[0][0])
    ):
        instrument = by_pk[instrument_id]
        account = accounts[account_id]
        event: PlannedEvent | None
        if instrument.type == Instrument.Type.OPTION:
            if instrument.underlying is None or instrument.strike is None:
                errors.setdefault("instrument", []).append(
                    _("%(code)s has no underlying or strike: it cannot be processed.")
                    % {"code": instrument.code}
                )
                continue
            close = price_of(instrument.underlying, instrument)
            if close is None:
                continue
            event = _plan_option(instrument, account, quantity, close, errors)
        elif instrument.type == Instrument.Type.FUTURE:
            close = price_of(instrument, instrument)
            if close is None:
                continue
            closing = PlannedTrade(instrument, _closing_side(quantity), abs(quantity), close, "C")
            event = PlannedEvent(
                instrument, account, ExpiryEvent.Outcome.CASH_SETTLED, quantity, close, (closing,)
            )
        else:
            closing = PlannedTrade(
                instrument, _closing_side(quantity), abs(quantity), REDEMPTION_PRICE, "C"
            )
            event = PlannedEvent(
                instrument,
                account,
                ExpiryEvent.Outcome.REDEEMED,
                quantity,
                REDEMPTION_PRICE,
                (closing,),
            )
        if event is None:
            continue
        previous = done.get((instrument_id, account_id))
        if previous is not None:
            plan.skipped.append(
                PlannedEvent(
                    event.instrument,
                    event.account,
                    event.outcome,
                    event.quantity,
                    event.reference_price,
                    event.trades,
                    processed_by=previous,
                )
            )
        else:
            plan.events.append(event)
    if errors:
        raise ValidationError(errors)
    return plan


def _latest_trade(company: Company, instrument: Instrument, account: TradingAccount) -> Trade:
    found = (
        Trade.objects.for_company(company)
        .filter(
            instrument=instrument,
            account=account,
            is_current=True,
            status=Trade.Status.ACTIVE,
        )
        .select_related("trader", "broker")
        .order_by("-trade_date", "-executed_at", "-pk")
        .first()
    )
    return cast(Trade, found)  # an open position has trades


def _book(
    company: Company, day: dt.date, event: PlannedEvent, planned: PlannedTrade, user: Any
) -> Trade:
    from trastienda.trading.services import trade_book

    latest = _latest_trade(company, event.instrument, event.account)
    data: dict[str, Any] = {
        "trade_id": f"EXP-{day:%Y%m%d}-{event.instrument.pk}-{event.account.pk}-{planned.suffix}",
        "executed_at": dt.datetime.combine(day, dt.time(18, 0)).isoformat(),
        "trade_date": day,
        "account": event.account.code,
        "trader": latest.trader.code,
        "broker": latest.broker.code,
        "instrument": planned.instrument.code,
        "side": planned.side,
        "quantity": planned.quantity_text,
        "price": planned.price_text,
        "comment": f"{event.outcome_label}: {event.instrument.code}"[:300],
    }
    if event.outcome == ExpiryEvent.Outcome.REDEEMED:
        data["settlement_date"] = day
    try:
        return trade_book(company=company, user=user, source=SOURCE, **data)
    except ValidationError as exc:
        messages = [
            f"{name}: {message}" for name, items in exc.message_dict.items() for message in items
        ]
        raise ValidationError(
            {
                "instrument": [
                    _("%(code)s (%(account)s): the trade cannot be booked: %(errors)s")
                    % {
                        "code": event.instrument.code,
                        "account": event.account.code,
                        "errors": "; ".join(messages),
                    }
                ]
            }
        ) from exc


def expiry_process(*, company: Company, date: dt.date | str, user: Any = None) -> ExpiryRun:
    """Process the expiries and maturities of ``date`` (see the module docstring): book the
    resulting trades and record the run, all in one transaction. Refused (``ValidationError``,
    nothing written) for a date ahead of today, a missing closing price, a trade that cannot
    be booked, or a second run of a date with nothing new to process."""
    day = _check_date(date, timezone.localdate())
    actor = user if getattr(user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            # One run of the company at a time: lock its instruments expiring that day.
            list(
                Instrument.objects.select_for_update()
                .filter(pk__in=[i.pk for i in _expiring(company, day)])
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            plan = _plan(company, day)
            if not plan.events and plan.previous_runs:
                raise ValidationError(
                    {
                        "date": [
                            _("%(date)s was processed by run #%(run)d: nothing new to process.")
                            % {"date": day.isoformat(), "run": plan.previous_runs[-1]}
                        ]
                    }
                )
            run = ExpiryRun.objects.create(company=company, date=day, created_by=actor)
            booked = 0
            for event in plan.events:
                trades = [_book(company, day, event, planned, user) for planned in event.trades]
                booked += len(trades)
                row = ExpiryEvent.objects.create(
                    company=company,
                    run=run,
                    instrument=event.instrument,
                    account=event.account,
                    outcome=event.outcome,
                    quantity=event.quantity,
                    reference_price=event.reference_price,
                    amount=event.amount,
                    currency=event.currency,
                )
                row.trades.set(trades)
            run.events = len(plan.events)
            run.trades = booked
            run.save(update_fields=["events", "trades"])
            audit_log(
                action=AuditAction.OTHER,
                company=company,
                user=actor,
                obj=run,
                extra={
                    "date": day.isoformat(),
                    "events": run.events,
                    "trades": booked,
                    "skipped": len(plan.skipped),
                },
            )
    except IntegrityError as exc:  # another run of the same positions committed first
        raise ValidationError(
            {"date": [_("Another expiry run processed these positions meanwhile: look again.")]}
        ) from exc
    return run


def run_events(run: ExpiryRun) -> list[ExpiryEvent]:
    """A run's events with their instruments, accounts and trades, and their figures as
    text (``quantity_text``, ``reference_text``, ``amount_text``)."""
    from trastienda.core.money import Money

    rows = list(
        run.event_rows.select_related("instrument", "account", "company")
        .prefetch_related("trades")
        .order_by("instrument__code", "account__code")
    )
    for row in rows:
        row.quantity_text = _text(row.quantity, QUANTITY_PLACES)
        row.reference_text = (
            "" if row.reference_price is None else _text(row.reference_price, PRICE_PLACES)
        )
        row.amount_text = str(Money(row.amount, row.currency).to_decimal())
    return rows


def cli_expiries(company: Company, date: dt.date | str, user: Any = None) -> str:
    """``trastienda trading expiries --company CODE --date DATE``: run the expiry process of
    the date and return what it did, one line per position. Raises ``ValidationError``
    (nothing written) when refused."""
    run = expiry_process(company=company, date=date, user=user)
    lines = [
        _("Expiry run #%(run)d of %(date)s: %(events)d positions processed, %(trades)d trades.")
        % {"run": run.pk, "date": run.date.isoformat(), "events": run.events, "trades": run.trades}
    ]
    for event in run_events(run):
        from trastienda.core.money import Money

        lines.append(
            f"  {event.instrument.code} {event.account.code} "
            f"{_text(event.quantity, QUANTITY_PLACES)}: {event.get_outcome_display()}, "
            f"{Money(event.amount, event.currency).to_decimal()} {event.currency}, "
            + ", ".join(t.trade_id for t in sorted(event.trades.all(), key=lambda t: t.trade_id))
        )
    return "\n".join(lines)


# --- iCal feed --------------------------------------------------------------------------------

FEED_SALT = "trastienda.trading.expiry.ical"


def _feed_signer(user: Any) -> Any:
    from django.core import signing

    return signing.Signer(salt=f"{FEED_SALT}:{user.password}", algorithm="sha256")


def ical_token(user: Any, company: Company) -> str:
    """The secret of ``user``'s calendar feed of ``company``: ``<user id>.<company id>:<hmac>``
    signed with ``SECRET_KEY`` (django.core.signing) salted with the user's password hash, so
    changing the password revokes every feed URL the user handed to calendar clients. Each
    fetch also checks that the user is still an active member allowed to view trades."""
    token: str = _feed_signer(user).sign(f"{user.pk}.{company.pk}")
    return token


def ical_user(token: str, company: Company) -> Any | None:
    """The user a feed token belongs to, if it is valid for ``company`` and the user may
    still view trades there; else None."""
    from django.contrib.auth import get_user_model
    from django.core import signing

    value, _sep, _signature = (token or "").rpartition(":")
    user_id, _dot, company_id = value.partition(".")
    if not (user_id.isdigit() and company_id.isdigit()) or int(company_id) != company.pk:
        return None
    user = get_user_model().objects.filter(pk=int(user_id), is_active=True).first()
    if user is None:
        return None
    try:
        _feed_signer(user).unsign(token)
    except signing.BadSignature:
        return None
    if all(viewer.pk != user.pk for viewer in company_viewers(company)):
        return None
    return user


def ical_feed(company: Company, start: dt.date, end: dt.date) -> bytes:
    """The calendar's events from ``start`` to ``end`` as an iCalendar file (all-day events,
    stable UIDs, the position in the description)."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Trastienda//Expiry calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{company.code} · {_('Expiry calendar')}")
    stamp = timezone.now()
    for event in calendar_events(company, start, end):
        item = icalendar.Event()
        item.add("uid", f"{event.key.replace(':', '-')}-{company.code}@trastienda")
        item.add("dtstamp", stamp)
        item.add("dtstart", event.date)
        item.add("dtend", event.date + dt.timedelta(days=1))
        item.add("summary", f"{event.kind_label}: {event.title}")
        item.add("categories", [event.kind])
        lines = []
        if event.positions:
            lines.append(_("Open positions:"))
            lines += [f"{code}: {_text(q, QUANTITY_PLACES)}" for code, q in event.positions]
        if event.obligation is not None and event.obligation.description:
            lines.append(event.obligation.description)
        if lines:
            item.add("description", "\n".join(lines))
        calendar.add_component(item)
    data: bytes = calendar.to_ical()
    return data

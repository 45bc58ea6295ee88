"""Collections of overdue accounts (dunning): levels, runs, letters, promises to pay, blocking.

Services (the only writers of :class:`DunningLevel`, :class:`DunningRun`, :class:`DunningLetter`
and :class:`PromiseToPay`, and of ``Partner.blocked`` for collections) and the queries that
read what is overdue. Depends on the invoice services' tables (instalments, invoices), on
core (PDFs, notifications, audit) and on documents (the archive keeps each letter sent).

**Levels.** A company's levels are created on first use (:func:`dunning_levels_default`):
a reminder at 7 days overdue, a second notice at 21 days with the fixed compensation for
recovery costs (40 EUR: Spain, art. 8 Law 3/2004; Italy, art. 6 D.Lgs. 231/2002; elsewhere
in the euro area, art. 6 Directive 2011/7/EU) and a final notice at 45 days that adds the
statutory late-payment interest and blocks the partner. Texts in Spanish, Italian and
English, citing the law of the company's country. ``fee`` is in minor units of the company
currency.

**Proposal** (:func:`dunning_overdue`, :func:`dunning_run_propose`). Overdue = an instalment
of an issued sales invoice with ``open_amount > 0`` and ``due_date < date`` (credit notes,
whose open amounts are negative, are never overdue). Instalments covered by a promise to pay
whose ``promised_date`` is on or after the run date are left out (a promise naming no invoice
covers all the partner's invoices). One letter per partner and currency.

A letter never claims money the customer already paid. The partner's *credit on account*
in the letter's currency (:func:`available_credit`, read now, in that currency, never
converted: credit in another currency does not count) is what its posted sales payments in
that currency kept as credit (``unallocated_amount``) plus what is still open of its issued
credit notes in that currency (instalments with a negative ``open_amount``). The letter's
``credit_amount`` is that credit, at most the overdue amount, set against the overdue
instalments oldest due date first (as the payment services settle them); the letter claims
``overdue - credit + interest + fee`` and still lists every overdue invoice, so that its rows
add up. When the credit covers everything overdue there is no letter.

The letter's level is the highest level whose ``days_overdue`` is at most the days overdue
of its oldest instalment not wholly covered by the credit, but never below the highest level
already *sent* for any of its invoices with something left after the credit (an invoice paid
in full, or covered by the credit, leaves the floor); a letter is proposed only when at least
one of those invoices has not yet been told at that level (a new invoice, or an escalation),
so a daily run does not repeat itself. Proposing again replaces the run still awaiting review
in place (never sent, so nothing is lost; its address stays; letters excluded there stay
excluded).

**Interest** (:func:`late_interest`): simple interest, actual days over a 365-day year:
``open x rate / 100 x days / 365`` per overdue instalment, ``days = run date - due date``,
at ``BillingSettings.late_interest_rate`` (the rate of the run date for the whole period: the
statutory rate changes every half year; an open amount reduced by a partial payment counts as
it is now for the whole period). ``open`` is what remains of the instalment after the credit
on account is set against it, so interest is never charged on money the customer already
paid (the credit, like a partial payment, counts as it is now for the whole period). Computed
in Decimal and rounded half up to the currency per instalment; the letter's interest is the
sum (so the letter's rows add up). Only levels with ``charge_interest`` claim it. The fee of
a letter in another currency than the company's is converted at the rate of its latest
invoice, rounded half up.

**Interest and fees are not posted.** The letter states them; an accountant invoices them if
the customer pays them (``BillingSettings.late_fee_account`` is the account to use).

**Confirmation** (:func:`dunning_run_confirm`) checks that the included letters still match
what is open and the credit on account (a payment or credit note since the proposal: propose
again), marks them sent, blocks the partners of levels with ``block_partner``
(:func:`partner_block`, audited with its reason), and after the commit renders each letter
as a PDF in the partner's language, files it in the document archive (kind
*correspondence*, reference ``DUN-<letter id>``) and e-mails it
(:func:`letter_send`, through ``billing.delivery.send_document``, which logs an
``InvoiceDelivery`` without invoice): small runs at once, larger ones in the background job
``billing.dunning_deliver``. Every write is an ORM save (audited by the recorder) plus one
audit event per run confirmed, discarded or proposed by the daily job.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trastienda.billing.models import (
    BillingSettings,
    Direction,
    DunningLetter,
    DunningLevel,
    DunningRun,
    Installment,
    Invoice,
    InvoiceDelivery,
    Partner,
    Payment,
    PromiseToPay,
)
from trastienda.core import context
from trastienda.core.models import Company, Membership, Notification
from trastienda.core.money import Money, currency_exponent, format_money

logger = logging.getLogger(__name__)

DAYS_IN_YEAR = 365
HUNDRED = Decimal(100)
# Runs with more letters than this are delivered by a background job (PDFs take a while).
DELIVER_SYNC_LIMIT = 10
DELIVER_JOB = "billing.dunning_deliver"
REVIEW_PERM = ("billing", "change_dunningrun")
MAX_NOTE = 2000


def _fail(field_name: str, message: str) -> ValidationError:
    return ValidationError({field_name: [message]})


def _username(user: Any = None) -> str:
    user = user if user is not None else context.current().user
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.get_username())[:150]
    return ""


def _audit(**kwargs: Any) -> None:
    from trastienda.audit.services import audit_log

    audit_log(**kwargs)


def _date(value: Any, field_name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise _fail(field_name, _("Enter a date, not a date and time."))
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise _fail(field_name, _("Enter a date as YYYY-MM-DD.")) from None
    raise _fail(field_name, _("Enter a date."))


def settings_of(company: Company) -> BillingSettings | None:
    """The company's billing settings (rate, IBAN), or None; never creates them."""
    return BillingSettings.objects.for_company(company).first()


def _lock_company(company: Company) -> None:
    """Serialise proposals and confirmations of one company: lock its billing settings row
    (created if missing). Taken first by every dunning service that writes runs."""
    found = BillingSettings.objects.for_company(company).values_list("pk", flat=True).first()
    if found is None:
        found = BillingSettings.objects.get_or_create(company=company)[0].pk
    BillingSettings.objects.select_for_update().filter(pk=found).first()


# --- arithmetic (pure) ------------------------------------------------------------------------


def late_interest(*, amount: int, currency: str, rate: Decimal, days: int) -> int:
    """Simple late-payment interest on ``amount`` (minor units) for ``days`` days at ``rate``
    percent a year, 365-day year, rounded half up to the currency (minor units).

    ``late_interest(amount=100000, currency="EUR", rate=Decimal("10.15"), days=30) == 834``:
    1,000.00 x 10.15 % x 30 / 365 = 8.3424... EUR.
    """
    if isinstance(rate, float) or isinstance(amount, float):
        raise TypeError("late_interest takes Decimal rates and integer amounts, never float")
    if amount <= 0 or days <= 0 or rate <= 0:
        return 0
    with localcontext() as ctx:
        ctx.prec = 60
        value = Money(amount, currency).to_decimal() * rate * days / (HUNDRED * DAYS_IN_YEAR)
        return Money.from_decimal_rounded(value, currency, ROUND_HALF_UP).minor


def level_for_days(levels: Sequence[DunningLevel], days: int) -> DunningLevel | None:
    """The highest level whose ``days_overdue`` is at most ``days`` (None: not yet)."""
    found = None
    for level in sorted(levels, key=lambda item: item.level):
        if level.days_overdue <= days:
            found = level
    return found


def convert_fee(fee: int, company_currency: str, currency: str, rate: Decimal) -> int:
    """A fee in the company currency expressed in ``currency`` (``rate`` = company currency per
    unit of ``currency``), rounded half up."""
    if fee <= 0:
        return 0
    if currency == company_currency:
        return fee
    if rate <= 0:
        return 0
    with localcontext() as ctx:
        ctx.prec = 60
        value = Money(fee, company_currency).to_decimal() / rate
        return Money.from_decimal_rounded(value, currency, ROUND_HALF_UP).minor


# --- default levels ---------------------------------------------------------------------------

LEVEL_NAMES: dict[int, dict[str, str]] = {
    1: {"es": "Recordatorio", "it": "Sollecito", "en": "Reminder"},
    2: {"es": "Segundo aviso", "it": "Secondo sollecito", "en": "Second notice"},
    3: {"es": "Último aviso", "it": "Diffida ad adempiere", "en": "Final notice"},
}

_REMINDER = {
    "es": (
        "Según nuestros registros, las facturas que se detallan a continuación han vencido y "
        "siguen pendientes de pago. Es posible que se trate de un descuido: le rogamos que "
        "realice el pago a la mayor brevedad mediante transferencia a la cuenta indicada. Si ya "
        "lo ha hecho, le rogamos que no tenga en cuenta este recordatorio."
    ),
    "it": (
        "Dai nostri registri risulta che le fatture indicate di seguito sono scadute e non "
        "ancora pagate. Potrebbe trattarsi di una dimenticanza: vi preghiamo di provvedere al "
        "pagamento al più presto mediante bonifico sul conto indicato. Se avete già provveduto, "
        "vi preghiamo di non tenere conto di questo sollecito."
    ),
    "en": (
        "According to our records, the invoices listed below are past due and remain unpaid. "
        "This may be an oversight: please pay them at your earliest convenience by bank "
        "transfer to the account shown. If you have already paid, please disregard this "
        "reminder."
    ),
}

_SECOND = {
    "es": (
        "A pesar de nuestro recordatorio anterior, las facturas que se detallan a continuación "
        "siguen pendientes de pago. Le rogamos que regularice la situación en un plazo de diez "
        "días."
    ),
    "it": (
        "Nonostante il nostro precedente sollecito, le fatture indicate di seguito risultano "
        "ancora non pagate. Vi preghiamo di regolarizzare la posizione entro dieci giorni."
    ),
    "en": (
        "Despite our previous reminder, the invoices listed below are still unpaid. Please "
        "settle them within ten days."
    ),
}

# The sentence that claims the fixed compensation, by the law of the company's country.
_FEE_CLAIM = {
    "ES": {
        "es": (
            "Conforme al artículo 8 de la Ley 3/2004, de 29 de diciembre, por la que se "
            "establecen medidas de lucha contra la morosidad en las operaciones comerciales, le "
            "reclamamos además la cantidad fija de 40 euros en concepto de indemnización por "
            "costes de cobro."
        ),
        "it": (
            "Ai sensi dell'articolo 8 della legge spagnola 3/2004 sui ritardi di pagamento nelle "
            "transazioni commerciali, vi chiediamo inoltre l'importo forfettario di 40 euro a "
            "titolo di risarcimento dei costi di recupero."
        ),
        "en": (
            "Under article 8 of Spanish Law 3/2004 on late payment in commercial transactions, "
            "we also claim the fixed sum of EUR 40 as compensation for recovery costs."
        ),
    },
    "IT": {
        "es": (
            "Conforme al artículo 6 del Decreto Legislativo italiano n.º 231, de 9 de octubre "
            "de 2002, le reclamamos además la cantidad fija de 40 euros en concepto de "
            "indemnización por costes de cobro."
        ),
        "it": (
            "Ai sensi dell'articolo 6 del D.Lgs. 9 ottobre 2002, n. 231, vi chiediamo inoltre "
            "l'importo forfettario di 40 euro a titolo di risarcimento dei costi di recupero "
            "del credito."
        ),
        "en": (
            "Under article 6 of Italian Legislative Decree no. 231 of 9 October 2002, we also "
            "claim the fixed sum of EUR 40 as compensation for recovery costs."
        ),
    },
    "EU": {
        "es": (
            "Conforme al artículo 6 de la Directiva 2011/7/UE, por la que se establecen medidas "
            "de lucha contra la morosidad en las operaciones comerciales, le reclamamos además "
            "la cantidad fija de 40 euros en concepto de indemnización por costes de cobro."
        ),
        "it": (
            "Ai sensi dell'articolo 6 della direttiva 2011/7/UE relativa alla lotta contro i "
            "ritardi di pagamento nelle transazioni commerciali, vi chiediamo inoltre l'importo "
            "forfettario di 40 euro a titolo di risarcimento dei costi di recupero."
        ),
        "en": (
            "Under article 6 of Directive 2011/7/EU on combating late payment in commercial "
            "transactions, we also claim the fixed sum of EUR 40 as compensation for recovery "
            "costs."
        ),
    },
}

_FINAL = {
    "ES": {
        "es": (
            "Pese a nuestros avisos anteriores, las facturas que se detallan a continuación "
            "siguen impagadas. Este es nuestro último aviso antes de reclamar la deuda por vía "
            "judicial. Además del importe vencido, le reclamamos los intereses de demora "
            "devengados conforme al artículo 7 de la Ley 3/2004 y la indemnización por costes "
            "de cobro de su artículo 8. Hasta que la deuda quede saldada suspendemos los "
            "suministros y no emitiremos nuevas facturas a su nombre."
        ),
        "it": (
            "Nonostante i nostri precedenti solleciti, le fatture indicate di seguito risultano "
            "ancora insolute. Questo è il nostro ultimo avviso prima del recupero giudiziale "
            "del credito. Oltre all'importo scaduto, vi chiediamo gli interessi di mora maturati "
            "ai sensi dell'articolo 7 della legge spagnola 3/2004 e il risarcimento dei costi di "
            "recupero di cui al suo articolo 8. Fino al saldo del debito sospendiamo le "
            "forniture e non emetteremo nuove fatture a vostro nome."
        ),
        "en": (
            "Despite our previous reminders, the invoices listed below remain unpaid. This is "
            "our final notice before we take legal action to recover the debt. In addition to "
            "the overdue amount, we claim the late-payment interest accrued under article 7 of "
            "Spanish Law 3/2004 and the compensation for recovery costs under its article 8. "
            "Until the debt is settled we are suspending deliveries and will issue no further "
            "invoices to you."
        ),
    },
    "IT": {
        "es": (
            "Pese a nuestros avisos anteriores, las facturas que se detallan a continuación "
            "siguen impagadas. Este es nuestro último aviso antes de reclamar la deuda por vía "
            "judicial. Además del importe vencido, le reclamamos los intereses de demora "
            "devengados conforme al artículo 5 del Decreto Legislativo italiano n.º 231/2002 y "
            "la indemnización por costes de cobro de su artículo 6. Hasta que la deuda quede "
            "saldada suspendemos los suministros y no emitiremos nuevas facturas a su nombre."
        ),
        "it": (
            "Nonostante i nostri precedenti solleciti, le fatture indicate di seguito risultano "
            "ancora insolute. La presente vale come diffida ad adempiere e ultimo avviso prima "
            "del recupero giudiziale del credito. Oltre all'importo scaduto, vi chiediamo gli "
            "interessi moratori maturati ai sensi dell'articolo 5 del D.Lgs. 231/2002 e il "
            "risarcimento dei costi di recupero di cui all'articolo 6. Fino al saldo "
            "sospendiamo le forniture e non emetteremo nuove fatture a vostro nome."
        ),
        "en": (
            "Despite our previous reminders, the invoices listed below remain unpaid. This is "
            "our final notice before we take legal action to recover the debt. In addition to "
            "the overdue amount, we claim the late-payment interest accrued under article 5 of "
            "Italian Legislative Decree no. 231/2002 and the compensation for recovery costs "
            "under its article 6. Until the debt is settled we are suspending deliveries and "
            "will issue no further invoices to you."
        ),
    },
    "EU": {
        "es": (
            "Pese a nuestros avisos anteriores, las facturas que se detallan a continuación "
            "siguen impagadas. Este es nuestro último aviso antes de reclamar la deuda por vía "
            "judicial. Además del importe vencido, le reclamamos los intereses de demora "
            "legales devengados y, en su caso, la indemnización por costes de cobro. Hasta que "
            "la deuda quede saldada suspendemos los suministros y no emitiremos nuevas facturas "
            "a su nombre."
        ),
        "it": (
            "Nonostante i nostri precedenti solleciti, le fatture indicate di seguito risultano "
            "ancora insolute. Questo è il nostro ultimo avviso prima del recupero giudiziale "
            "del credito. Oltre all'importo scaduto, vi chiediamo gli interessi di mora legali "
            "maturati e, se dovuto, il risarcimento dei costi di recupero. Fino al saldo "
            "sospendiamo le forniture e non emetteremo nuove fatture a vostro nome."
        ),
        "en": (
            "Despite our previous reminders, the invoices listed below remain unpaid. This is "
            "our final notice before we take legal action to recover the debt. In addition to "
            "the overdue amount, we claim the statutory late-payment interest accrued and, "
            "where due, the compensation for recovery costs. Until the debt is settled we are "
            "suspending deliveries and will issue no further invoices to you."
        ),
    },
}

FIXED_COMPENSATION_EUR = 4000  # 40.00 EUR


def _law_of(company: Company) -> str:
    return company.country if company.country in ("ES", "IT") else "EU"


def default_level_values(company: Company) -> list[dict[str, Any]]:
    """The three default levels of ``company`` (names in its language, texts in es/it/en
    citing the law of its country; the 40 EUR compensation only in euro companies)."""
    law = _law_of(company)
    language = company.language if company.language in ("es", "it", "en") else "en"
    fee = FIXED_COMPENSATION_EUR if company.base_currency == "EUR" else 0
    second = {
        lang: (_SECOND[lang] + (" " + _FEE_CLAIM[law][lang] if fee else ""))
        for lang in ("es", "it", "en")
    }
    rows = [
        (1, 7, 0, False, False, _REMINDER),
        (2, 21, fee, False, False, second),
        (3, 45, fee, True, True, _FINAL[law]),
    ]
    return [
        {
            "level": number,
            "name": LEVEL_NAMES[number][language],
            "days_overdue": days,
            "fee": amount,
            "charge_interest": interest,
            "block_partner": block,
            "text_es": texts["es"],
            "text_it": texts["it"],
            "text_en": texts["en"],
        }
        for number, days, amount, interest, block, texts in rows
    ]


def dunning_levels_default(company: Company) -> list[DunningLevel]:
    """Create the default levels of ``company`` if it has none (idempotent); return its
    levels in order."""
    with transaction.atomic():
        existing = list(DunningLevel.objects.for_company(company).order_by("level"))
        if existing:
            return existing
        Company.objects.select_for_update().filter(pk=company.pk).first()
        existing = list(DunningLevel.objects.for_company(company).order_by("level"))
        if existing:
            return existing
        return [
            DunningLevel.objects.create(company=company, **values)
            for values in default_level_values(company)
        ]


def dunning_levels(company: Company) -> list[DunningLevel]:
    """The company's levels in order, the defaults created on first use."""
    levels = list(DunningLevel.objects.for_company(company).order_by("level"))
    return levels or dunning_levels_default(company)


LEVEL_FIELDS = (
    "level",
    "name",
    "days_overdue",
    "fee",
    "charge_interest",
    "block_partner",
    "text_es",
    "text_it",
    "text_en",
)


def _fee_minor(value: Any, currency: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, float):
        raise TypeError("fees are Decimal, decimal strings or integer minor units, never float")
    if isinstance(value, Money):
        if value.currency != currency:
            raise _fail("fee", _("Give the fee in %(code)s.") % {"code": currency})
        minor = value.minor
    else:  # Decimal, a decimal string or an int, in major units (40 is 40.00 EUR)
        try:
            minor = Money.from_decimal(Decimal(str(value).strip()), currency).minor
        except (InvalidOperation, ValueError):
            raise _fail(
                "fee",
                _("Enter an amount with at most %(places)d decimals.")
                % {"places": currency_exponent(currency)},
            ) from None
    if minor < 0:
        raise _fail("fee", _("The fee cannot be negative."))
    if minor > 10**12:
        raise _fail("fee", _("The fee is too large."))
    return minor


def _level_check(company: Company, level: DunningLevel) -> None:
    errors: dict[str, list[str]] = {}
    if not str(level.name or "").strip():
        errors["name"] = [_("Enter a name.")]
    if not isinstance(level.level, int) or level.level < 1:
        errors["level"] = [_("Levels are numbered from 1.")]
    if not isinstance(level.days_overdue, int) or level.days_overdue < 1:
        errors["days_overdue"] = [_("Enter at least 1 day.")]
    if errors:
        raise ValidationError(errors)
    others = DunningLevel.objects.for_company(company).exclude(pk=level.pk)
    if others.filter(level=level.level).exists():
        errors["level"] = [_("Level %(level)d already exists.") % {"level": level.level}]
    lower = others.filter(level__lt=level.level, days_overdue__gte=level.days_overdue).first()
    higher = others.filter(level__gt=level.level, days_overdue__lte=level.days_overdue).first()
    clash = lower or higher
    if clash is not None:
        errors["days_overdue"] = [
            _("Higher levels need more days overdue: level %(level)d is at %(days)d days.")
            % {"level": clash.level, "days": clash.days_overdue}
        ]
    if errors:
        raise ValidationError(errors)


def dunning_level_create(*, company: Company, **data: Any) -> DunningLevel:
    """Add a level. ``fee`` in major units of the company currency (Decimal, decimal string
    or int: ``Decimal("40")`` is 40.00 EUR), stored in minor units."""
    unknown = set(data) - set(LEVEL_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    values = dict(data)
    values["fee"] = _fee_minor(values.get("fee"), company.base_currency)
    level = DunningLevel(company=company, **values)
    _level_check(company, level)
    level.full_clean()
    with transaction.atomic():
        level.save()
    return level


def dunning_level_update(*, instance: DunningLevel, **data: Any) -> DunningLevel:
    """Change a level; letters already sent keep what they said."""
    unknown = set(data) - set(LEVEL_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    with transaction.atomic():
        level = DunningLevel.objects.select_for_update().get(pk=instance.pk)
        for name, value in data.items():
            if name == "fee":
                value = _fee_minor(value, level.company.base_currency)
            setattr(level, name, value)
        _level_check(level.company, level)
        level.full_clean()
        level.save()
    return level


def dunning_level_delete(*, instance: DunningLevel) -> None:
    """Delete a level no letter uses."""
    if DunningLetter.objects.filter(level=instance).exists():
        raise ValidationError(
            _("Letters were written at level %(level)s: it cannot be deleted; edit it instead.")
            % {"level": instance.level}
        )
    with transaction.atomic():
        instance.delete()


# --- what is overdue (queries) ----------------------------------------------------------------


@dataclass
class OverdueInvoice:
    """One invoice of a letter: its overdue instalments at the run date."""

    invoice: Invoice
    due_date: dt.date  # the earliest overdue due date
    days: int  # days overdue of that instalment
    overdue_amount: int = 0
    credit: int = 0  # the customer's credit set against it (oldest due dates first)
    interest: int = 0  # on what remains open after the credit
    not_yet_due: int = 0  # what else is open of it (instalments not yet due)


@dataclass
class LetterProposal:
    """What one partner is told in one currency."""

    partner: Partner
    currency: str
    level: DunningLevel
    days: int
    invoices: list[OverdueInvoice] = field(default_factory=list)
    overdue_amount: int = 0
    credit_amount: int = 0  # the customer's credit set against the overdue amount
    interest_amount: int = 0  # claimed (0 unless the level charges interest)
    interest_accrued: int = 0  # computed, whatever the level
    fee_amount: int = 0

    @property
    def total(self) -> int:
        return self.overdue_amount - self.credit_amount + self.interest_amount + self.fee_amount


def overdue_installments(company: Company, date: dt.date) -> QuerySet[Installment]:
    """Open instalments of issued sales invoices due before ``date``, by partner and currency."""
    return (
        Installment.objects.for_company(company)
        .filter(
            direction=Direction.SALE,
            open_amount__gt=0,
            due_date__lt=date,
            invoice__state=Invoice.State.ISSUED,
        )
        .select_related("invoice", "partner")
        .order_by("partner__code", "invoice__currency", "due_date", "invoice_id", "id")
    )


def _rate(company: Company) -> Decimal:
    found = settings_of(company)
    return Decimal(found.late_interest_rate) if found is not None else Decimal(0)


def levels_sent(invoice_ids: Iterable[int]) -> dict[int, int]:
    """``{invoice id: highest level number sent for it}`` (letters of confirmed runs)."""
    ids = list(invoice_ids)
    if not ids:
        return {}
    through = DunningLetter.invoices.through
    rows = (
        through.objects.filter(
            invoice_id__in=ids,
            dunningletter__included=True,
            dunningletter__sent_at__isnull=False,
            dunningletter__run__state=DunningRun.State.CONFIRMED,
        )
        .values("invoice_id")
        .annotate(top=Max("dunningletter__level__level"))
        .order_by()
    )
    return {row["invoice_id"]: row["top"] for row in rows}


def available_credit(
    company: Company, *, partner_id: int | None = None, currency: str | None = None
) -> dict[tuple[int, str], int]:
    """``{(partner id, currency): credit}`` of the company's customers, now, in minor units of
    that currency (never converted): what posted sales payments kept as credit
    (``unallocated_amount``) plus what is open of issued credit notes (instalments of issued
    sales invoices with a negative open amount). Optionally for one partner and currency."""
    payments = Payment.objects.for_company(company).filter(
        direction=Direction.SALE, state=Payment.State.POSTED, unallocated_amount__gt=0
    )
    notes = Installment.objects.for_company(company).filter(
        direction=Direction.SALE, open_amount__lt=0, invoice__state=Invoice.State.ISSUED
    )
    if partner_id is not None:
        payments = payments.filter(partner_id=partner_id)
        notes = notes.filter(partner_id=partner_id)
    if currency is not None:
        payments = payments.filter(currency=currency)
        notes = notes.filter(invoice__currency=currency)
    result: dict[tuple[int, str], int] = defaultdict(int)
    for partner, code, amount in (
        payments.values("partner_id", "currency")
        .annotate(amount=Sum("unallocated_amount"))
        .order_by()
        .values_list("partner_id", "currency", "amount")
    ):
        result[(partner, code)] += int(amount or 0)
    for partner, code, amount in (
        notes.values("partner_id", "invoice__currency")
        .annotate(amount=Sum("open_amount"))
        .order_by()
        .values_list("partner_id", "invoice__currency", "amount")
    ):
        result[(partner, code)] -= int(amount or 0)
    return {key: value for key, value in result.items() if value > 0}


def _in_due_order(items: Iterable[Installment]) -> list[Installment]:
    return sorted(items, key=lambda item: (item.due_date, item.invoice_id, item.pk))


def _apply_credit(items: Sequence[Installment], credit: int) -> list[tuple[Installment, int]]:
    """Each instalment (oldest due date first) with what the credit covers of it; the credit
    goes to the earliest due dates first, as the payment services settle them."""
    left = max(credit, 0)
    covered = []
    for item in _in_due_order(items):
        take = min(left, item.open_amount)
        left -= take
        covered.append((item, take))
    return covered


def _invoice_rows(
    covered_items: Iterable[tuple[Installment, int]], date: dt.date, rate: Decimal
) -> list[OverdueInvoice]:
    """The invoices of overdue instalments of one partner and currency, each instalment with
    the part of the credit set against it (:func:`_apply_credit`): what is overdue of each
    invoice, its credit and the interest on what remains open after the credit."""
    rows: dict[int, OverdueInvoice] = {}
    for item, covered in covered_items:
        invoice = item.invoice
        days = (date - item.due_date).days
        row = rows.get(invoice.pk)
        if row is None:
            row = rows[invoice.pk] = OverdueInvoice(
                invoice=invoice, due_date=item.due_date, days=days
            )
        row.overdue_amount += item.open_amount
        row.credit += covered
        row.interest += late_interest(
            amount=item.open_amount - covered, currency=invoice.currency, rate=rate, days=days
        )
    return sorted(rows.values(), key=lambda r: (r.due_date, r.invoice.date, r.invoice.pk))


def dunning_overdue(
    *, company: Company, date: dt.date, levels: Sequence[DunningLevel] | None = None
) -> list[LetterProposal]:
    """The letters a run at ``date`` would send (see the module docstring). Reads only."""
    if levels is None:
        levels = list(DunningLevel.objects.for_company(company).order_by("level"))
    if not levels:
        return []
    by_number = {level.level: level for level in levels}
    rate = _rate(company)
    promises = list(
        PromiseToPay.objects.for_company(company)
        .filter(promised_date__gte=date)
        .values_list("partner_id", "invoice_id")
    )
    whole_partner = {partner for partner, invoice in promises if invoice is None}
    promised_invoices = {invoice for _partner, invoice in promises if invoice is not None}
    groups: dict[tuple[int, str], list[Installment]] = defaultdict(list)
    for item in overdue_installments(company, date):
        if item.partner_id in whole_partner or item.invoice_id in promised_invoices:
            continue
        groups[(item.partner_id, item.invoice.currency)].append(item)
    credits = available_credit(company) if groups else {}
    sent = levels_sent({item.invoice_id for items in groups.values() for item in items})
    proposals: list[LetterProposal] = []
    for (partner_id, currency), items in groups.items():
        overdue = sum(item.open_amount for item in items)
        credit = min(credits.get((partner_id, currency), 0), overdue)
        # What the credit leaves open: only these instalments (and their invoices) count for
        # the level and for whether there is something new to say.
        covered = _apply_credit(items, credit)
        live = [item for item, part in covered if part < item.open_amount]
        if not live:
            continue  # the credit covers everything overdue
        oldest = max((date - item.due_date).days for item in live)
        by_days = level_for_days(levels, oldest)
        invoice_ids = {item.invoice_id for item in live}
        floor = max((sent.get(pk, 0) for pk in invoice_ids), default=0)
        number = max(by_days.level if by_days is not None else 0, floor)
        if number == 0 or number not in by_number:
            continue
        if all(sent.get(pk, 0) >= number for pk in invoice_ids):
            continue  # every invoice was already told at this level
        level = by_number[number]
        rows = _invoice_rows(covered, date, rate)
        latest = max((row.invoice for row in rows), key=lambda inv: (inv.date, inv.pk))
        proposal = LetterProposal(
            partner=items[0].partner,
            currency=currency,
            level=level,
            days=oldest,
            invoices=rows,
            overdue_amount=overdue,
            credit_amount=credit,
            interest_accrued=sum(row.interest for row in rows),
            fee_amount=convert_fee(
                level.fee, company.base_currency, currency, Decimal(latest.rate)
            ),
        )
        if level.charge_interest:
            proposal.interest_amount = proposal.interest_accrued
        proposals.append(proposal)
    proposals.sort(key=lambda p: (p.partner.code, p.currency))
    return proposals


def letter_rows(letter: DunningLetter) -> list[OverdueInvoice]:
    """The invoices of a letter with what is overdue of them at the run's date, the
    customer's credit set against them and the interest on the rest, all read now."""
    run = letter.run
    items = list(
        overdue_installments(letter.company, run.date).filter(
            invoice__in=letter.invoices.all(), invoice__currency=letter.currency
        )
    )
    overdue = sum(item.open_amount for item in items)
    available = available_credit(
        letter.company, partner_id=letter.partner_id, currency=letter.currency
    ).get((letter.partner_id, letter.currency), 0)
    rows = _invoice_rows(
        _apply_credit(items, min(available, overdue)), run.date, _rate(letter.company)
    )
    if not letter.level.charge_interest:
        for row in rows:
            row.interest = 0
    return rows


def letter_changed(letter: DunningLetter) -> bool:
    """Whether what is overdue of the letter's invoices, the customer's credit set against it
    or the interest on the rest (at the rate of the settings) differs from what the letter
    says."""
    rows = letter_rows(letter)
    return (
        sum(row.overdue_amount for row in rows) != letter.overdue_amount
        or sum(row.credit for row in rows) != letter.credit_amount
        or sum(row.interest for row in rows) != letter.interest_amount
    )


# --- runs -------------------------------------------------------------------------------------


def dunning_run_propose(*, company: Company, date: Any) -> DunningRun:
    """Propose a run at ``date``: one letter per partner and currency with something overdue
    to say (see the module docstring). Replaces the run still awaiting review. Raises
    ValidationError on ``date`` when there is nothing to send."""
    day = _date(date, "date")
    if day > timezone.localdate():
        raise _fail("date", _("The run date cannot be in the future."))
    with transaction.atomic():
        _lock_company(company)
        last = (
            DunningRun.objects.for_company(company)
            .filter(state=DunningRun.State.CONFIRMED)
            .order_by("-date")
            .values_list("date", flat=True)
            .first()
        )
        if last is not None and day < last:
            raise _fail(
                "date",
                _("A run of %(date)s was confirmed already: propose at that date or later.")
                % {"date": last.isoformat()},
            )
        levels = dunning_levels(company)
        proposals = dunning_overdue(company=company, date=day, levels=levels)
        if not proposals:
            raise _fail(
                "date",
                _("No customer has overdue invoices to remind at %(date)s.")
                % {"date": day.isoformat()},
            )
        pending = list(
            DunningRun.objects.for_company(company)
            .filter(state=DunningRun.State.PROPOSED)
            .order_by("-pk")
        )
        excluded = set(
            DunningLetter.objects.filter(run__in=pending, included=False).values_list(
                "partner_id", "currency"
            )
        )
        # The run awaiting review is proposed again in place (its address, in notifications
        # and bookmarks, stays); older proposals, if any, go.
        for old in pending[1:]:
            old.delete()
        if pending:
            run = pending[0]
            for letter in run.letters.all():
                letter.delete()
            if run.date != day:
                run.date = day
                run.save(update_fields=["date"])
        else:
            run = DunningRun.objects.create(company=company, date=day)
        for proposal in proposals:
            letter = DunningLetter.objects.create(
                company=company,
                run=run,
                partner=proposal.partner,
                level=proposal.level,
                overdue_amount=proposal.overdue_amount,
                credit_amount=proposal.credit_amount,
                interest_amount=proposal.interest_amount,
                fee_amount=proposal.fee_amount,
                currency=proposal.currency,
                included=(proposal.partner.pk, proposal.currency) not in excluded,
            )
            letter.invoices.set([row.invoice for row in proposal.invoices])
    return run


def _proposed(run: DunningRun) -> DunningRun:
    locked = DunningRun.objects.select_for_update().get(pk=run.pk)
    if locked.state != DunningRun.State.PROPOSED:
        raise _fail(
            "state",
            _("This run is %(state)s: only a proposed run can change.")
            % {"state": locked.get_state_display()},
        )
    return locked


def _letter_set(letter: DunningLetter, included: bool) -> DunningLetter:
    with transaction.atomic():
        _proposed(letter.run)
        locked = DunningLetter.objects.select_for_update().get(pk=letter.pk)
        if locked.included != included:
            locked.included = included
            locked.save(update_fields=["included"])
    return locked


def letter_exclude(*, letter: DunningLetter) -> DunningLetter:
    """Leave a letter out of its proposed run (it is not sent when the run is confirmed)."""
    return _letter_set(letter, False)


def letter_include(*, letter: DunningLetter) -> DunningLetter:
    """Put an excluded letter back into its proposed run."""
    return _letter_set(letter, True)


def dunning_run_discard(*, run: DunningRun) -> DunningRun:
    """Discard a proposed run: nothing is sent, nobody is blocked; it stays in the list."""
    with transaction.atomic():
        locked = _proposed(run)
        locked.state = DunningRun.State.DISCARDED
        locked.save(update_fields=["state"])
        _audit(
            action="other",
            obj=locked,
            extra={"event": "dunning_run_discarded", "date": locked.date.isoformat()},
        )
    return locked


def dunning_run_confirm(*, run: DunningRun, user: Any = None) -> DunningRun:
    """Send a proposed run: mark its included letters sent, block the partners of levels that
    block, then (after the commit) file and e-mail each letter. Refused, with nothing written,
    when no letter is included or when a letter's invoices were paid since the proposal."""
    username = _username(user)
    with transaction.atomic():
        _lock_company(run.company)
        locked = _proposed(run)
        letters = list(
            locked.letters.filter(included=True).select_related("partner", "level", "run")
        )
        if not letters:
            raise _fail("letters", _("Include at least one letter, or discard the run."))
        changed = [letter.partner.code for letter in letters if letter_changed(letter)]
        if changed:
            raise _fail(
                "letters",
                _(
                    "What is overdue changed since the proposal (payments or credit notes) for "
                    "%(partners)s: propose the run again."
                )
                % {"partners": ", ".join(changed)},
            )
        now = timezone.now()
        blocked: list[str] = []
        for letter in letters:
            letter.sent_at = now
            letter.save(update_fields=["sent_at"])
        for letter in letters:
            partner = letter.partner
            if letter.level.block_partner and partner.code not in blocked:
                current = Partner.objects.get(pk=partner.pk)
                if not current.blocked:
                    partner_block(
                        partner=current,
                        blocked=True,
                        reason=_("%(level)s of the dunning run of %(date)s.")
                        % {"level": letter.level.name, "date": locked.date.isoformat()},
                        user=user,
                    )
                    blocked.append(partner.code)
        locked.state = DunningRun.State.CONFIRMED
        locked.confirmed_by = username
        locked.confirmed_at = now
        locked.save(update_fields=["state", "confirmed_by", "confirmed_at"])
        _audit(
            action="other",
            obj=locked,
            extra={
                "event": "dunning_run_confirmed",
                "date": locked.date.isoformat(),
                "letters": [
                    {
                        "partner": letter.partner.code,
                        "level": letter.level.level,
                        "currency": letter.currency,
                        "overdue": letter.overdue_amount,
                        "credit": letter.credit_amount,
                        "interest": letter.interest_amount,
                        "fee": letter.fee_amount,
                    }
                    for letter in letters
                ],
                "blocked": blocked,
            },
        )
        run_id, company = locked.pk, locked.company
        transaction.on_commit(lambda: _deliver_after_commit(run_id, company, user, len(letters)))
    return locked


def _deliver_after_commit(run_id: int, company: Company, user: Any, count: int) -> None:
    """Deliver now (small runs, or no user to run a job as) or in the background."""
    if count > DELIVER_SYNC_LIMIT and getattr(user, "is_authenticated", False):
        from trastienda.core.jobs import job_start

        try:
            job_start(
                company=company,
                user=user,
                kind=DELIVER_JOB,
                description=_("Dunning letters: files and e-mails"),
                params={"run": run_id},
            )
            return
        except ValidationError:  # the job kind is not registered in this process
            logger.warning("dunning delivery job unavailable; delivering run %s now", run_id)
    try:
        dunning_run_deliver(run=DunningRun.objects.get(pk=run_id))
    except Exception:  # the letters are sent; a failed e-mail is logged on its delivery row
        logger.exception("delivering the letters of dunning run %s failed", run_id)


# --- letters: PDF, archive, e-mail ------------------------------------------------------------


def letter_language(letter: DunningLetter) -> str:
    language = letter.partner.language or letter.company.language
    return language if language in ("es", "it", "en") else "en"


def letter_title(letter: DunningLetter) -> str:
    """The letter's heading in the active language."""
    level = letter.level
    if level.block_partner:
        return _("Final notice")
    if level.level == 1:
        return _("Payment reminder")
    return _("Payment reminder no. %(number)d") % {"number": level.level}


def letter_reference(letter: DunningLetter) -> str:
    return f"DUN-{letter.pk}"


def _rate_text(rate: Decimal, language: str) -> str:
    text = f"{Decimal(rate).normalize():f}"
    return text.replace(".", ",") if language in ("es", "it") else text


def letter_context(letter: DunningLetter) -> dict[str, Any]:
    """What the letter shows: amounts as Money and as text in the partner's language."""
    company = letter.company
    currency = letter.currency
    found = settings_of(company)
    language = letter_language(letter)
    rate = Decimal(found.late_interest_rate) if found is not None else Decimal(0)

    def text(minor: int) -> str:
        return format_money(Money(minor, currency), language)

    overdue = Money(letter.overdue_amount, currency)
    credit = Money(letter.credit_amount, currency)
    interest = Money(letter.interest_amount, currency)
    fee = Money(letter.fee_amount, currency)
    total = Money(letter.total_amount, currency)
    return {
        "letter": letter,
        "run": letter.run,
        "partner": letter.partner,
        "level": letter.level,
        "reference": letter_reference(letter),
        "text": letter.level.text_in(language),
        "rows": [
            {
                "invoice": row.invoice,
                "number": str(row.invoice),
                "date": row.invoice.date,
                "due_date": row.due_date,
                "days": row.days,
                "total_text": text(row.invoice.payable_amount),
                "overdue": Money(row.overdue_amount, currency),
                "overdue_text": text(row.overdue_amount),
                "interest": Money(row.interest, currency),
                "interest_text": text(row.interest),
            }
            for row in letter_rows(letter)
        ],
        "overdue": overdue,
        "credit": credit,
        "interest": interest,
        "fee": fee,
        "total": total,
        "overdue_text": text(overdue.minor),
        "credit_text": text(-credit.minor),  # subtracted: shown negative
        "interest_text": text(interest.minor),
        "fee_text": text(fee.minor),
        "total_text": text(total.minor),
        "rate": _rate_text(rate, language),
        "iban": found.iban if found is not None else "",
        "bic": found.bic if found is not None else "",
        "currency": currency,
        "language": language,
    }


def letter_pdf(letter: DunningLetter) -> bytes:
    """The letter as a PDF in the partner's language (rendered now)."""
    from trastienda.core.pdf import render_pdf

    with translation.override(letter_language(letter)):
        ctx = letter_context(letter)
        return render_pdf(
            "billing/dunning_letter_pdf.html",
            ctx,
            company=letter.company,
            title=letter_title(letter),
            subtitle=letter.partner.legal_name,
        )


def letter_filename(letter: DunningLetter) -> str:
    return f"{letter_reference(letter)}-{letter.partner.code}-{letter.run.date.isoformat()}.pdf"


def letter_document(letter: DunningLetter) -> Any:
    """The archived PDF of a sent letter (a documents.Document), or None."""
    from trastienda.documents.models import Document

    return (
        Document.objects.for_company(letter.company)
        .filter(reference=letter_reference(letter), kind=Document.Kind.CORRESPONDENCE)
        .order_by("-pk")
        .first()
    )


def _archive(letter: DunningLetter, content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from trastienda.documents.models import Document
    from trastienda.documents.services import document_create

    with translation.override(letter_language(letter)):
        title = f"{letter_title(letter)} · {letter.partner.code} · {letter.run.date.isoformat()}"
    return document_create(
        company=letter.company,
        title=title[:200],
        kind=Document.Kind.CORRESPONDENCE,
        reference=letter_reference(letter),
        document_date=letter.run.date,
        notes=_("Dunning letter to %(partner)s, %(level)s.")
        % {"partner": letter.partner, "level": letter.level},
        file=SimpleUploadedFile(letter_filename(letter), content, "application/pdf"),
    )


def letter_stored_pdf(letter: DunningLetter) -> bytes:
    """The PDF that was sent (from the archive) or, for a letter not sent yet, rendered now."""
    document = letter_document(letter) if letter.sent_at else None
    if document is not None and document.file:
        with document.file.open("rb") as handle:
            return bytes(handle.read())
    return letter_pdf(letter)


def letter_recipients(partner: Partner) -> list[str]:
    """Who gets the letter: the partner's e-mail and its contacts that receive invoices."""
    from trastienda.billing.delivery import partner_recipients

    return partner_recipients(partner)


def letter_message(letter: DunningLetter) -> tuple[str, str]:
    """Subject and body of the e-mail, in the partner's language."""
    with translation.override(letter_language(letter)):
        ctx = letter_context(letter)
        subject = _("%(title)s from %(company)s") % {
            "title": letter_title(letter),
            "company": letter.company.legal_name,
        }
        lines = [
            _("Dear %(partner)s,") % {"partner": letter.partner.legal_name},
            "",
            ctx["text"],
            "",
            _("Overdue: %(amount)s") % {"amount": ctx["overdue_text"]},
        ]
        if letter.credit_amount:
            lines.append(_("Credit on account: %(amount)s") % {"amount": ctx["credit_text"]})
        if letter.interest_amount:
            lines.append(_("Late-payment interest: %(amount)s") % {"amount": ctx["interest_text"]})
        if letter.fee_amount:
            lines.append(
                _("Compensation for recovery costs: %(amount)s") % {"amount": ctx["fee_text"]}
            )
        lines.append(_("Total claimed: %(amount)s") % {"amount": ctx["total_text"]})
        if ctx["iban"]:
            lines.append(_("Please pay to IBAN %(iban)s.") % {"iban": ctx["iban"]})
        lines += [
            "",
            _("The attached letter lists the invoices."),
            "",
            letter.company.legal_name,
        ]
        return subject[:300], "\n".join(str(line) for line in lines)


def letter_send(*, letter: DunningLetter) -> InvoiceDelivery:
    """E-mail a sent letter (its archived PDF, filed now if it is not yet) in the partner's
    language, and log the delivery."""
    if letter.sent_at is None:
        raise _fail("letter", _("Only letters of a confirmed run are sent."))
    document = letter_document(letter)
    if document is None or not document.file:
        content = letter_pdf(letter)
        with transaction.atomic():
            _archive(letter, content)
    else:
        with document.file.open("rb") as handle:
            content = bytes(handle.read())
    subject, body = letter_message(letter)
    return _email(letter, subject, body, content)


def _email(letter: DunningLetter, subject: str, body: str, content: bytes) -> InvoiceDelivery:
    """E-mail through :func:`trastienda.billing.delivery.send_document` (which logs the
    delivery); a partner without an address gets a failed delivery row saying so, so that the
    letter is known to need printing and posting."""
    from trastienda.billing.delivery import send_document

    name = letter_filename(letter)
    try:
        return send_document(
            company=letter.company,
            partner=letter.partner,
            subject=subject,
            body=body,
            attachments=[(name, content, "application/pdf")],
        )
    except ValidationError as exc:
        with translation.override(letter_language(letter)):
            reason = " ".join(exc.messages)
        return InvoiceDelivery.objects.create(
            company=letter.company,
            partner=letter.partner,
            recipients="",
            subject=subject[:300],
            attachment_name=name[:200],
            sent_by=_username(),
            ok=False,
            error=(_("Not e-mailed (%(why)s): print the letter and post it.") % {"why": reason})[
                :500
            ],
        )


def dunning_run_deliver(
    *, run: DunningRun, progress: Callable[[int, int, str], None] | None = None
) -> list[InvoiceDelivery]:
    """File and e-mail every sent letter of a confirmed run that is not filed yet (so running
    it again after an interruption sends each letter once)."""
    if run.state != DunningRun.State.CONFIRMED:
        raise _fail("state", _("Only a confirmed run is delivered."))
    letters = list(
        run.letters.filter(included=True, sent_at__isnull=False)
        .select_related("partner", "level", "run", "company")
        .order_by("partner__code", "currency")
    )
    done: list[InvoiceDelivery] = []
    for index, letter in enumerate(letters, start=1):
        if letter_document(letter) is None:
            done.append(letter_send(letter=letter))
        if progress is not None:
            progress(index, len(letters), _("Sending the letters"))
    return done


# --- promises and blocking --------------------------------------------------------------------


def _promise_amount(value: Any, currency: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise TypeError("amounts are Decimal, decimal strings or Money, never float")
    if isinstance(value, Money):
        if value.currency != currency:
            raise _fail("amount", _("Give the amount in %(code)s.") % {"code": currency})
        minor = value.minor
    else:
        try:
            minor = Money.from_decimal(Decimal(str(value).strip()), currency).minor
        except (InvalidOperation, ValueError):
            raise _fail(
                "amount",
                _("Enter an amount with at most %(places)d decimals.")
                % {"places": currency_exponent(currency)},
            ) from None
    if minor <= 0:
        raise _fail("amount", _("The amount must be positive."))
    return minor


def promise_currency(partner: Partner, invoice: Invoice | None) -> str:
    """The currency of a promise's amount: its invoice's, else the partner's or company's."""
    if invoice is not None:
        return invoice.currency
    return partner.currency or partner.company.base_currency


def _promise_values(
    company: Company,
    partner: Any,
    invoice: Any,
    promised_date: Any,
    amount: Any,
    note: Any,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if not isinstance(partner, Partner) or partner.company_id != company.pk:
        found = (
            Partner.objects.for_company(company).filter(pk=partner).first()
            if isinstance(partner, int | str) and str(partner).isdigit()
            else None
        )
        partner = found
    if partner is None:
        raise _fail("partner", _("Choose a partner of this company."))
    if not partner.is_customer:
        errors["partner"] = [_("%(partner)s is not a customer.") % {"partner": partner}]
    if invoice in ("", None):
        invoice = None
    elif not isinstance(invoice, Invoice):
        invoice = (
            Invoice.objects.for_company(company).filter(pk=invoice).first()
            if str(invoice).isdigit()
            else None
        )
        if invoice is None:
            errors["invoice"] = [_("Choose an invoice of this company.")]
    if invoice is not None and "invoice" not in errors:
        if invoice.company_id != company.pk:
            errors["invoice"] = [_("Choose an invoice of this company.")]
        elif invoice.partner_id != partner.pk:
            errors["invoice"] = [_("Choose an invoice of %(partner)s.") % {"partner": partner.code}]
        elif (
            invoice.direction != Direction.SALE
            or invoice.state != Invoice.State.ISSUED
            or invoice.open_amount <= 0
        ):
            errors["invoice"] = [_("Choose an issued sales invoice with something open.")]
    day = None
    try:
        day = _date(promised_date, "promised_date")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    minor = None
    try:
        minor = _promise_amount(amount, promise_currency(partner, invoice))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if (
        minor is not None
        and invoice is not None
        and "invoice" not in errors
        and minor > invoice.open_amount
    ):
        errors["amount"] = [
            _("%(invoice)s has %(open)s open.")
            % {"invoice": invoice, "open": Money(invoice.open_amount, invoice.currency)}
        ]
    text = str(note or "").strip()
    if len(text) > MAX_NOTE:
        errors["note"] = [_("Keep the note under %(count)d characters.") % {"count": MAX_NOTE}]
    if errors:
        raise ValidationError(errors)
    return {
        "partner": partner,
        "invoice": invoice,
        "promised_date": day,
        "amount": minor,
        "note": text,
    }


def promise_to_pay_record(
    *,
    partner: Partner,
    invoice: Invoice | None = None,
    promised_date: Any,
    amount: Any = None,
    note: str = "",
) -> PromiseToPay:
    """Record that a customer promised to pay ``invoice`` (or everything overdue, when no
    invoice is named) by ``promised_date``: runs up to that date leave it out. ``amount``
    (optional, Decimal in the invoice's currency) is what was promised."""
    company = partner.company
    values = _promise_values(company, partner, invoice, promised_date, amount, note)
    if values["promised_date"] < timezone.localdate():
        raise _fail("promised_date", _("A promise to pay is for today or a later date."))
    promise = PromiseToPay(company=company, recorded_by=_username(), **values)
    promise.full_clean()
    with transaction.atomic():
        promise.save()
    return promise


def promise_to_pay_create(
    *,
    company: Company,
    partner: Any,
    promised_date: Any,
    invoice: Any = None,
    amount: Any = None,
    note: str = "",
) -> PromiseToPay:
    """:func:`promise_to_pay_record` for the generic pages and the API (company given)."""
    if not isinstance(partner, Partner) or partner.company_id != company.pk:
        raise _fail("partner", _("Choose a partner of this company."))
    return promise_to_pay_record(
        partner=partner, invoice=invoice, promised_date=promised_date, amount=amount, note=note
    )


def promise_to_pay_update(*, instance: PromiseToPay, **data: Any) -> PromiseToPay:
    """Change a promise (a new date, amount or note)."""
    allowed = {"partner", "invoice", "promised_date", "amount", "note"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    with transaction.atomic():
        promise = (
            PromiseToPay.objects.select_for_update().select_related("partner").get(pk=instance.pk)
        )
        current = {
            "partner": promise.partner,
            "invoice": promise.invoice,
            "promised_date": promise.promised_date,
            "amount": None
            if promise.amount is None
            else Money(promise.amount, promise_currency(promise.partner, promise.invoice)),
            "note": promise.note,
        }
        merged = {**current, **data}
        values = _promise_values(
            promise.company,
            merged["partner"],
            merged["invoice"],
            merged["promised_date"],
            merged["amount"],
            merged["note"],
        )
        for name, value in values.items():
            setattr(promise, name, value)
        promise.full_clean()
        promise.save()
    return promise


def promise_to_pay_delete(*, instance: PromiseToPay) -> None:
    """Forget a promise (the invoice is dunned again by the next run)."""
    with transaction.atomic():
        instance.delete()


def partner_block(*, partner: Partner, blocked: bool, reason: str, user: Any = None) -> Partner:
    """Block (no new sales invoices) or unblock a partner, with the reason in the audit trail."""
    text = str(reason or "").strip()
    if not text:
        raise _fail("reason", _("Say why."))
    if len(text) > 500:
        raise _fail("reason", _("Keep the reason under 500 characters."))
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        if locked.blocked == bool(blocked):
            raise _fail(
                "blocked",
                _("%(partner)s is already blocked.") % {"partner": locked.code}
                if blocked
                else _("%(partner)s is not blocked.") % {"partner": locked.code},
            )
        locked.blocked = bool(blocked)
        locked.save(update_fields=["blocked"])
        _audit(
            action="other",
            obj=locked,
            user=user,
            extra={"event": "partner_block", "blocked": bool(blocked), "reason": text},
        )
    return locked


# --- history ----------------------------------------------------------------------------------


@dataclass
class BlockEvent:
    when: dt.datetime
    username: str
    blocked: bool
    reason: str


def partner_block_history(partner: Partner) -> list[BlockEvent]:
    """Blocks and unblocks of a partner with their reasons (from the audit trail)."""
    from trastienda.audit.queries import history_for

    events = []
    for entry in history_for(partner).filter(action="other")[:200]:
        extra = entry.extra or {}
        if extra.get("event") == "partner_block":
            events.append(
                BlockEvent(
                    when=entry.created_at,
                    username=entry.username,
                    blocked=bool(extra.get("blocked")),
                    reason=str(extra.get("reason", "")),
                )
            )
    return events


def partner_letters(partner: Partner) -> QuerySet[DunningLetter]:
    """The partner's letters of runs sent or awaiting review, newest first."""
    return (
        DunningLetter.objects.for_company(partner.company)
        .filter(partner=partner)
        .exclude(run__state=DunningRun.State.DISCARDED)
        .select_related("run", "level")
        .prefetch_related("invoices")
        .order_by("-run__date", "-pk")
    )


def letter_deliveries(letters: Sequence[DunningLetter]) -> dict[int, list[InvoiceDelivery]]:
    """The e-mails of each sent letter, by letter id (their attachment is named after the
    letter's reference, ``DUN-<id>-...``)."""
    found: dict[int, list[InvoiceDelivery]] = defaultdict(list)
    sent = [letter for letter in letters if letter.sent_at is not None]
    if not sent:
        return found
    prefixes = {f"{letter_reference(letter)}-": letter.pk for letter in sent}
    rows = (
        InvoiceDelivery.objects.for_company(sent[0].company)
        .filter(
            partner_id__in={letter.partner_id for letter in sent},
            invoice__isnull=True,
            attachment_name__startswith="DUN-",
        )
        .select_related("partner")
        .order_by("sent_at", "pk")
    )
    for delivery in rows:
        for prefix, letter_id in prefixes.items():
            if delivery.attachment_name.startswith(prefix):
                found[letter_id].append(delivery)
    return found


def run_deliveries(run: DunningRun) -> list[InvoiceDelivery]:
    """The e-mails of a run's letters."""
    letters = list(run.letters.filter(sent_at__isnull=False))
    return [item for items in letter_deliveries(letters).values() for item in items]


def partner_deliveries(partner: Partner) -> QuerySet[InvoiceDelivery]:
    """E-mails of dunning letters to the partner (deliveries without an invoice)."""
    return (
        InvoiceDelivery.objects.for_company(partner.company)
        .filter(partner=partner, invoice__isnull=True)
        .order_by("-sent_at", "-pk")
    )


# --- the daily proposal -----------------------------------------------------------------------


def reviewers(company: Company) -> list[Any]:
    """Active members whose role may confirm runs (``billing.change_dunningrun``)."""
    app, codename = REVIEW_PERM
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


def _notify(run: DunningRun, count: int) -> int:
    users = reviewers(run.company)
    url = run.get_absolute_url()
    for user in users:
        profile = getattr(user, "profile", None)
        language = (getattr(profile, "language", "") or run.company.language) or "en"
        with translation.override(language):
            message = ngettext(
                "Dunning run of %(date)s: %(count)d letter to review.",
                "Dunning run of %(date)s: %(count)d letters to review.",
                count,
            ) % {"date": run.date.isoformat(), "count": count}
        Notification.objects.create(
            user=user,
            company=run.company,
            level=Notification.Level.WARNING,
            message=message[:500],
            url=url,
        )
    return len(users)


def _signature(run: DunningRun | None) -> set[tuple[int, str, int]]:
    if run is None:
        return set()
    return set(run.letters.values_list("partner_id", "currency", "level__level"))


def dunning_propose_all(*, date: dt.date | None = None) -> dict[str, int]:
    """The daily job: propose a run for every active company with overdue sales invoices and
    tell the people who review runs when there is something new to review. Returns the
    number of letters proposed per company code."""
    day = date or timezone.localdate()
    company_ids = (
        Installment.objects.filter(
            direction=Direction.SALE,
            open_amount__gt=0,
            due_date__lt=day,
            invoice__state=Invoice.State.ISSUED,
            company__is_active=True,
        )
        .values_list("company_id", flat=True)
        .distinct()
    )
    result: dict[str, int] = {}
    for company in Company.objects.filter(pk__in=list(company_ids)).order_by("code"):
        with context.acting(company=company):
            previous = (
                DunningRun.objects.for_company(company)
                .filter(state=DunningRun.State.PROPOSED)
                .order_by("-pk")
                .first()
            )
            before = _signature(previous)
            try:
                run = dunning_run_propose(company=company, date=day)
            except ValidationError:
                continue  # nothing new to say
            count = run.letters.count()
            result[company.code] = count
            _audit(
                action="other",
                obj=run,
                company=company,
                extra={"event": "dunning_run_proposed", "letters": count, "source": "daily"},
            )
            if _signature(run) != before:
                _notify(run, count)
    return result

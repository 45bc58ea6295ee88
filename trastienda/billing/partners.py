"""Services of billing's reference data: partners (with their contacts and bank accounts),
products and services, payment terms, taxes, invoice series and the billing settings.

Each service validates everything first and raises ``ValidationError`` with a dict naming
the fields (``tax_id``, ``bank_accounts.1.iban``), then writes in one transaction (a service
called inside another joins its transaction). Writes are ORM saves, so the audit recorder
records every create, update, delete and many-to-many change with its before/after values.

Rules worth knowing:

- **Partners.** Codes are unique per company. The country is an ISO 3166 alpha-2 code. The
  tax id is required for suppliers and for partners in Spain or Italy (optional for other
  customers); it is validated with python-stdnum (:func:`trastienda.core.validators.
  normalise_tax_id`: Spanish NIF/CIF/NIE, Italian partita IVA or codice fiscale, EU VAT
  numbers) and stored in its compact form. Two partners of a company never share a tax id:
  the second is refused with an error on ``tax_id`` naming the first one's code. Partners
  whose legal names are the same once normalised (accents, case, punctuation and legal forms
  such as "S.L." or "S.r.l." ignored) are only *possible* duplicates, shown on the partner's
  page (:func:`partner_possible_duplicates`).
- **Bank accounts.** IBAN and BIC are validated with schwifty and stored compact; an empty
  BIC is filled from the IBAN's bank when schwifty knows it. A partner has at most one
  default account: making one the default takes it from the others, and the first account
  of a partner is its default.
- **Money at the edges.** ``credit_limit`` (partners) and ``approval_threshold`` /
  ``write_off_limit`` (settings) are given as Decimals (or decimal strings, or ints) in major
  units of the company currency and stored as integer minor units, exactly
  (:meth:`Money.from_decimal`: more decimals than the currency has is an error, never
  rounded). Product prices are Decimals stored as integers in units of
  ``10 ** -(exponent + PRICE_EXTRA_DIGITS)`` of the company currency (:func:`price_to_units`,
  :func:`units_to_price`). Floats raise ``TypeError``.
- **Accounts and taxes** chosen on a record must belong to its company; accounts must be
  postable and active; taxes on sales must apply to sales (scope ``sale`` or ``both``),
  taxes on purchases to purchases.
- **Taxes.** A rate from 0 to 100 with at most four decimals. A tax with a rate needs its
  account on sales; on purchases a VAT without an account is not deductible (the invoice
  services add it to the expense) but a withholding needs one, and a reverse charge needs the
  account of the self-assessed output tax. Italian natures (N1 to N7) only at 0%, and an
  Italian company's 0% sales VAT needs one. Once an issued invoice uses a tax, its kind, rate
  and options are frozen (create a new tax and deactivate the old one).
- **Invoice series** number with ``{code}``, ``{year}`` and ``{number}`` only, on an active
  sales journal of the company; code, kind and format are frozen once invoices are numbered.
- **Deleting** a record that invoices, payments or other records still use is refused with
  a message saying what uses it (the ``PROTECT`` foreign keys' ``ProtectedError`` becomes a
  ``ValidationError``); a tax is also refused while it is a default tax of partners or
  products, or on invoice lines (many-to-many links would otherwise vanish silently).
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import pairwise
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from trastienda.billing.calc import price_scale, price_to_units, units_to_price
from trastienda.billing.models import (
    BillingSettings,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    InvoiceTax,
    Partner,
    PartnerBankAccount,
    PartnerContact,
    PaymentTerm,
    Product,
    SeriesSequence,
    Tax,
)
from trastienda.core.models import Company, Language
from trastienda.core.money import Money, currency_exponent
from trastienda.core.validators import normalise_tax_id
from trastienda.ledger.models import Account, Currency, Journal

Errors = dict[str, list[str]]

TAX_ID_REQUIRED_COUNTRIES = frozenset({"ES", "IT"})
"""Countries whose partners always need a tax id (suppliers need one everywhere)."""

# Largest value a BigIntegerField holds: amounts and prices beyond it are refused.
MAX_UNITS = 2**63 - 1

# Italian "natura" of operations without VAT (FatturaPA 1.2.x, since 2021).
# fmt: off
ITALIAN_NATURES = (
    "N1", "N2.1", "N2.2", "N3.1", "N3.2", "N3.3", "N3.4", "N3.5", "N3.6", "N4", "N5",
    "N6.1", "N6.2", "N6.3", "N6.4", "N6.5", "N6.6", "N6.7", "N6.8", "N6.9", "N7",
)
# fmt: on

PAYMENT_TERM_MAX_INSTALMENTS = 12
PAYMENT_TERM_MAX_DAYS = 3650

# Legal forms left out when comparing partner names ("Acme S.L." is "ACME, SL").
# fmt: off
LEGAL_FORMS = frozenset({
    "sl", "slu", "sll", "slp", "sa", "sau", "scoop", "sc", "cb", "srl", "srls", "spa", "sas",
    "snc", "sapa", "scarl", "scrl", "ltd", "limited", "plc", "llc", "inc", "corp", "gmbh", "ag",
    "kg", "bv", "nv", "sarl", "eurl", "lda", "oy", "ab", "as", "aps",
})
# fmt: on


# --- small helpers ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    return str(value if value is not None else "").strip()


def _raise(errors: Mapping[str, list[str]]) -> None:
    if errors:
        raise ValidationError(dict(errors))


def _unknown(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _decimal(value: Any) -> Decimal:
    """Decimal from a Decimal, an int or decimal text; TypeError for floats (and bools),
    ValueError for anything that is not a finite number."""
    if isinstance(value, float):
        raise TypeError("floats are not accepted for amounts, prices or rates")
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        text = _text(value).replace(" ", "").replace("\u00a0", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(text) from None
    if not number.is_finite() or (not number.is_zero() and number.adjusted() > 30):
        raise ValueError(str(value))
    return number


def _model_errors(obj: models.Model, exclude: Iterable[str]) -> Errors:
    """Field errors of the model's own validation (lengths, e-mail, choices), uniqueness and
    constraints left to the services."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return {key: list(messages) for key, messages in exc.message_dict.items()}
    return {}


def _merge(errors: Errors, more: Mapping[str, list[str]]) -> None:
    for key, messages in more.items():
        for message in messages:
            if message not in errors.get(key, []):
                _add(errors, key, message)


def protected_message(instance: Any, exc: ProtectedError | RestrictedError) -> str:
    """Why ``instance`` cannot be deleted: "X cannot be deleted: it is used by 3 invoices,
    1 payment. Deactivate it instead." (from the ProtectedError's objects)."""
    counts: dict[str, int] = {}
    plural: dict[str, str] = {}
    found = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", None)
    for obj in found or ():
        meta = obj._meta
        key = meta.label
        counts[key] = counts.get(key, 0) + 1
        plural[key] = str(meta.verbose_name_plural if counts[key] > 1 else meta.verbose_name)
    uses = ", ".join(f"{count} {plural[key]}" for key, count in sorted(counts.items()))
    if not uses:
        return _("%(obj)s is still used by other records and cannot be deleted.") % {
            "obj": instance
        }
    return _("%(obj)s cannot be deleted: it is used by %(uses)s. Deactivate it instead.") % {
        "obj": instance,
        "uses": uses,
    }


def _delete(instance: models.Model) -> None:
    """Delete ``instance``; references that protect it become a ValidationError."""
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise ValidationError(protected_message(instance, exc)) from exc


def _account(
    company: Company, account: Any, field: str, errors: Errors, *, key: str | None = None
) -> Account | None:
    """The account chosen for ``field``: a postable, active account of the company."""
    if account is None or account == "":
        return None
    if (
        not isinstance(account, Account)
        or account.company_id != company.pk
        or not account.postable
        or not account.active
    ):
        _add(errors, key or field, _("Choose a postable, active account of this company."))
        return None
    return account


def _taxes(company: Company, taxes: Any, field: str, direction: str, errors: Errors) -> list[Tax]:
    """Taxes of the company that apply to ``direction`` (``sale`` or ``purchase``)."""
    chosen = list(taxes or ())
    for tax in chosen:
        if not isinstance(tax, Tax) or tax.company_id != company.pk:
            _add(errors, field, _("Choose taxes of this company."))
            return []
        if tax.scope not in (direction, Tax.Scope.BOTH):
            message = (
                _("%(tax)s applies to purchases, not to sales.")
                if direction == Tax.Scope.SALE
                else _("%(tax)s applies to sales, not to purchases.")
            )
            _add(errors, field, message % {"tax": tax.code})
    return chosen


def _minor(
    value: Any,
    currency: str,
    field: str,
    errors: Errors,
    *,
    allow_none: bool = False,
) -> int | None:
    """A non-negative amount in major units of ``currency`` as integer minor units."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if allow_none:
            return None
        value = 0
    try:
        minor = Money.from_decimal(_decimal(value), currency).minor
    except ValueError:
        _add(
            errors,
            field,
            _("Enter an amount with at most %(places)d decimals.")
            % {"places": currency_exponent(currency)},
        )
        return None
    if minor < 0:
        _add(errors, field, _("The amount cannot be negative."))
        return None
    if minor > MAX_UNITS:
        _add(errors, field, _("The amount is too large."))
        return None
    return minor


def amount_decimal(minor: int | None, currency: str) -> Decimal | None:
    """Stored minor units back to the Decimal shown in forms, files and the API."""
    return None if minor is None else Money(minor, currency).to_decimal()


# --- unit prices ------------------------------------------------------------------------------


def _price(value: Any, currency: str, field: str, errors: Errors) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    try:
        units = price_to_units(value, currency)
    except ValueError:
        _add(
            errors,
            field,
            _("Enter a price with at most %(places)d decimals.")
            % {"places": price_scale(currency)},
        )
        return None
    if units < 0:
        _add(errors, field, _("The price cannot be negative."))
        return None
    return units


def _rate(value: Any, field: str, errors: Errors) -> Decimal | None:
    """A percentage from 0 to 100 with at most four decimals."""
    try:
        rate = _decimal(value if value not in (None, "") else "0")
    except ValueError:
        _add(errors, field, _("Enter a number, such as 21 or 5.2."))
        return None
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        _add(errors, field, _("Use at most four decimals."))
        return None
    if rate < 0 or rate > 100:
        _add(errors, field, _("Enter a percentage from 0 to 100."))
        return None
    return rate


# --- countries, tax ids, names, IBANs ---------------------------------------------------------


def country_code(value: Any) -> str | None:
    """The ISO 3166-1 alpha-2 code of ``value`` (any case), or None when there is none."""
    import pycountry

    code = _text(value).upper()
    if len(code) != 2 or not code.isalpha():
        return None
    return code if pycountry.countries.get(alpha_2=code) is not None else None


@lru_cache(maxsize=8)
def _country_choices(language: str) -> tuple[tuple[str, str], ...]:
    import gettext

    import pycountry

    translate: Callable[[str], str]
    try:
        names = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        translate = names.gettext
    except OSError:
        translate = str
    pairs = [(c.alpha_2, translate(c.name)) for c in pycountry.countries]
    fold = _fold
    return tuple(sorted(pairs, key=lambda pair: fold(pair[1])))


def country_choices() -> list[tuple[str, str]]:
    """(code, name in the active language) of every country, sorted by name."""
    return list(_country_choices((get_language() or "en")[:2]))


def _fold(text: str) -> str:
    """Lower case without accents: "Ibérica" → "iberica"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_key(name: str) -> str:
    """A legal name reduced for comparison: without accents, case, punctuation and legal
    forms. ``"Acme Ibérica, S.L."`` and ``"ACME IBERICA SL"`` give ``"acme iberica"``."""
    text = _fold(name).replace(".", "").replace("'", "")
    words = "".join(c if c.isalnum() else " " for c in text).split()
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def tax_id_normalise(*, country: str, tax_id: Any, required: bool) -> str:
    """The compact tax id of a partner of ``country``; ValidationError (a list) when it is not
    valid or is missing while ``required``."""
    text = _text(tax_id)
    if not text:
        if required:
            raise ValidationError(_("Enter the tax id."), code="required")
        return ""
    return normalise_tax_id(country, text)


def iban_normalise(value: Any) -> tuple[str, str]:
    """(compact IBAN, BIC of its bank or "") with schwifty; ValidationError when invalid."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    text = _text(value)
    if not text:
        raise ValidationError(_("Enter the IBAN."), code="required")
    try:
        iban = IBAN(text)
    except SchwiftyException as exc:
        raise ValidationError(
            _("%(value)s is not a valid IBAN: %(reason)s"),
            code="invalid",
            params={"value": text, "reason": str(exc)},
        ) from exc
    try:
        bic = iban.bic
    except SchwiftyException:  # pragma: no cover - a bank registry without the BIC
        bic = None
    return iban.compact, (bic.compact if bic is not None else "")


def bic_normalise(value: Any) -> str:
    """The compact BIC (8 or 11 characters) with schwifty; "" for empty; ValidationError."""
    from schwifty import BIC
    from schwifty.exceptions import SchwiftyException

    text = _text(value)
    if not text:
        return ""
    try:
        return str(BIC(text).compact)
    except SchwiftyException as exc:
        raise ValidationError(
            _("%(value)s is not a valid BIC: %(reason)s"),
            code="invalid",
            params={"value": text, "reason": str(exc)},
        ) from exc


# --- partners ---------------------------------------------------------------------------------

PARTNER_FIELDS = (
    "code",
    "legal_name",
    "trade_name",
    "is_customer",
    "is_supplier",
    "country",
    "tax_id",
    "address",
    "postal_code",
    "city",
    "province",
    "email",
    "phone",
    "language",
    "currency",
    "payment_term",
    "receivable_account",
    "payable_account",
    "income_account",
    "expense_account",
    "sale_taxes",
    "purchase_taxes",
    "credit_limit",
    "blocked",
    "notes",
    "active",
)
PARTNER_TEXT = (
    "code",
    "legal_name",
    "trade_name",
    "address",
    "postal_code",
    "city",
    "province",
    "email",
    "phone",
    "notes",
)
PARTNER_ACCOUNTS = ("receivable_account", "payable_account", "income_account", "expense_account")
CONTACT_FIELDS = ("name", "role", "email", "phone", "receives_invoices")
BANK_ACCOUNT_FIELDS = ("iban", "bic", "is_default")


def partner_values(partner: Partner) -> dict[str, Any]:
    """A partner's fields as a service takes them (credit limit as a Decimal)."""
    values: dict[str, Any] = {
        name: getattr(partner, name)
        for name in PARTNER_FIELDS
        if name not in ("sale_taxes", "purchase_taxes", "credit_limit")
    }
    values["credit_limit"] = amount_decimal(partner.credit_limit, partner.company.base_currency)
    if partner.pk:
        values["sale_taxes"] = list(partner.sale_taxes.all())
        values["purchase_taxes"] = list(partner.purchase_taxes.all())
    else:
        values["sale_taxes"] = values["purchase_taxes"] = []
    return values


def partner_clean(
    company: Company,
    data: Mapping[str, Any],
    *,
    instance: Partner | None = None,
    known_currencies: Collection[str] | None = None,
) -> tuple[dict[str, Any], Errors]:
    """Check a partner's complete values; return (values ready to store, errors by field).

    Uniqueness of the code and of the tax id is checked apart
    (:func:`partner_conflicts`), so that an import can check a whole file at once (and
    pass ``known_currencies`` to spare a query per line).
    """
    errors: Errors = {}
    values: dict[str, Any] = {}
    for name in PARTNER_TEXT:
        values[name] = _text(data.get(name))
    if not values["code"]:
        _add(errors, "code", _("Enter a code."))
    if not values["legal_name"]:
        _add(errors, "legal_name", _("Enter the legal name."))
    for name in ("is_customer", "is_supplier", "blocked", "active"):
        values[name] = bool(data.get(name))
    if not values["is_customer"] and not values["is_supplier"]:
        _add(errors, "is_customer", _("A partner is a customer, a supplier or both."))
    country = country_code(data.get("country"))
    values["country"] = country or _text(data.get("country")).upper()
    if country is None:
        _add(
            errors,
            "country",
            _("Enter a two-letter ISO 3166 country code, such as ES, IT or DE."),
        )
    else:
        required = country in TAX_ID_REQUIRED_COUNTRIES or values["is_supplier"]
        try:
            values["tax_id"] = tax_id_normalise(
                country=country, tax_id=data.get("tax_id"), required=required
            )
        except ValidationError as exc:
            values["tax_id"] = _text(data.get("tax_id")).upper()
            if exc.code == "required":
                message = (
                    _("Enter the tax id: it is required for suppliers.")
                    if values["is_supplier"] and country not in TAX_ID_REQUIRED_COUNTRIES
                    else _("Enter the tax id: it is required for partners in %(country)s.")
                    % {"country": country}
                )
                _add(errors, "tax_id", message)
            else:
                for message in exc.messages:
                    _add(errors, "tax_id", message)
    if country is None:
        values["tax_id"] = _text(data.get("tax_id")).upper()
    values["language"] = _text(data.get("language")) or company.language or Language.SPANISH
    currency = _text(data.get("currency")).upper()
    if currency and not (
        currency in known_currencies
        if known_currencies is not None
        else Currency.objects.filter(code=currency).exists()
    ):
        _add(errors, "currency", _("Unknown currency %(code)s.") % {"code": currency})
    values["currency"] = currency
    term = data.get("payment_term")
    if term is not None and (not isinstance(term, PaymentTerm) or term.company_id != company.pk):
        _add(errors, "payment_term", _("Choose a payment term of this company."))
        term = None
    values["payment_term"] = term
    for name in PARTNER_ACCOUNTS:
        values[name] = _account(company, data.get(name), name, errors)
    values["sale_taxes"] = _taxes(
        company, data.get("sale_taxes"), "sale_taxes", Tax.Scope.SALE, errors
    )
    values["purchase_taxes"] = _taxes(
        company, data.get("purchase_taxes"), "purchase_taxes", Tax.Scope.PURCHASE, errors
    )
    values["credit_limit"] = _minor(
        data.get("credit_limit"), company.base_currency, "credit_limit", errors, allow_none=True
    )
    plain = {k: v for k, v in values.items() if k not in ("sale_taxes", "purchase_taxes")}
    probe = Partner(company=company, **plain)
    checked = ["company", "payment_term", *PARTNER_ACCOUNTS]  # checked above, without queries
    _merge(errors, _model_errors(probe, exclude=[*errors, *checked]))
    return values, errors


def partner_conflicts(
    company: Company, *, code: str, tax_id: str, exclude_pk: int | None
) -> Errors:
    """Errors when another partner of the company has this code or this tax id."""
    errors: Errors = {}
    others = Partner.objects.for_company(company).exclude(pk=exclude_pk)
    if code and others.filter(code=code).exists():
        _add(errors, "code", _("A partner with the code %(code)s already exists.") % {"code": code})
    if tax_id:
        twin = others.filter(tax_id=tax_id).order_by("code").first()
        if twin is not None:
            _add(
                errors,
                "tax_id",
                _("%(tax_id)s is already the tax id of partner %(code)s (%(name)s).")
                % {"tax_id": tax_id, "code": twin.code, "name": twin.legal_name},
            )
    return errors


def _partner_write(partner: Partner, values: Mapping[str, Any]) -> Partner:
    for name, value in values.items():
        if name not in ("sale_taxes", "purchase_taxes"):
            setattr(partner, name, value)
    partner.save()
    if {t.pk for t in partner.sale_taxes.all()} != {t.pk for t in values["sale_taxes"]}:
        partner.sale_taxes.set(values["sale_taxes"])
    if {t.pk for t in partner.purchase_taxes.all()} != {t.pk for t in values["purchase_taxes"]}:
        partner.purchase_taxes.set(values["purchase_taxes"])
    return partner


def partner_create(
    *,
    company: Company,
    contacts: Sequence[Mapping[str, Any]] | None = None,
    bank_accounts: Sequence[Mapping[str, Any]] | None = None,
    **data: Any,
) -> Partner:
    """Create a partner, and its ``contacts`` and ``bank_accounts`` when given (dicts of
    :data:`CONTACT_FIELDS` / :data:`BANK_ACCOUNT_FIELDS`). Unset fields take their defaults;
    the country and language default to the company's."""
    _unknown(data, PARTNER_FIELDS)
    merged: dict[str, Any] = {
        "is_customer": True,
        "is_supplier": False,
        "active": True,
        "blocked": False,
        "country": company.country,
        "language": company.language,
    } | data
    with transaction.atomic():
        values, errors = partner_clean(company, merged)
        _merge(
            errors,
            partner_conflicts(
                company, code=values["code"], tax_id=values["tax_id"], exclude_pk=None
            ),
        )
        _merge(errors, _children_errors(company, contacts, bank_accounts))
        _raise(errors)
        partner = _partner_write(Partner(company=company), values)
        _children_replace(partner, contacts, bank_accounts)
    return partner


def partner_update(
    *,
    instance: Partner,
    contacts: Sequence[Mapping[str, Any]] | None = None,
    bank_accounts: Sequence[Mapping[str, Any]] | None = None,
    **data: Any,
) -> Partner:
    """Change the given fields of a partner. ``contacts`` / ``bank_accounts``, when given,
    are the complete new lists: items with an ``id`` of this partner are updated, items
    without one created, and the partner's others deleted."""
    _unknown(data, PARTNER_FIELDS)
    with transaction.atomic():
        partner = (
            Partner.objects.select_for_update(of=("self",))
            .select_related("company")
            .get(pk=instance.pk)
        )
        company = partner.company
        values, errors = partner_clean(company, partner_values(partner) | data, instance=partner)
        _merge(
            errors,
            partner_conflicts(
                company, code=values["code"], tax_id=values["tax_id"], exclude_pk=partner.pk
            ),
        )
        _merge(errors, _children_errors(company, contacts, bank_accounts, partner=partner))
        _raise(errors)
        _partner_write(partner, values)
        _children_replace(partner, contacts, bank_accounts)
    return partner


def partner_delete(*, instance: Partner) -> None:
    """Delete a partner with its contacts and bank accounts; refused while invoices,
    payments or dunning letters refer to it."""
    _delete(instance)


def partner_possible_duplicates(*, partner: Partner, limit: int = 20) -> list[Partner]:
    """Other partners of the company with the same normalised legal or trade name."""
    keys = {name_key(partner.legal_name)}
    if partner.trade_name:
        keys.add(name_key(partner.trade_name))
    keys.discard("")
    if not keys:
        return []
    found: list[int] = []
    rows = (
        Partner.objects.for_company(partner.company)
        .exclude(pk=partner.pk)
        .values_list("pk", "legal_name", "trade_name")
        .order_by("code")
    )
    for pk, legal_name, trade_name in rows.iterator(chunk_size=2000):
        if name_key(legal_name) in keys or (trade_name and name_key(trade_name) in keys):
            found.append(pk)
            if len(found) >= limit:
                break
    return list(Partner.objects.filter(pk__in=found).order_by("code"))


# --- contacts and bank accounts ----------------------------------------------------------------


def _contact_clean(
    company: Company, data: Mapping[str, Any], prefix: str = ""
) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    values = {
        "name": _text(data.get("name")),
        "role": _text(data.get("role")),
        "email": _text(data.get("email")),
        "phone": _text(data.get("phone")),
        "receives_invoices": bool(data.get("receives_invoices")),
    }
    if not values["name"]:
        _add(errors, "name", _("Enter the contact's name."))
    probe = PartnerContact(company=company, **values)
    _merge(errors, _model_errors(probe, exclude=[*errors, "company", "partner"]))
    if values["receives_invoices"] and not values["email"]:
        _add(errors, "email", _("Enter an e-mail address to send invoices to."))
    return values, {f"{prefix}{k}": v for k, v in errors.items()}


def _bank_account_clean(data: Mapping[str, Any], prefix: str = "") -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    values: dict[str, Any] = {"is_default": bool(data.get("is_default"))}
    try:
        values["iban"], bank_bic = iban_normalise(data.get("iban"))
    except ValidationError as exc:
        values["iban"], bank_bic = _text(data.get("iban")), ""
        errors["iban"] = list(exc.messages)
    try:
        values["bic"] = bic_normalise(data.get("bic")) or bank_bic
    except ValidationError as exc:
        values["bic"] = _text(data.get("bic"))
        errors["bic"] = list(exc.messages)
    return values, {f"{prefix}{k}": v for k, v in errors.items()}


def _children_errors(
    company: Company,
    contacts: Sequence[Mapping[str, Any]] | None,
    bank_accounts: Sequence[Mapping[str, Any]] | None,
    partner: Partner | None = None,
) -> Errors:
    """Errors of nested contacts and bank accounts, keyed ``contacts.N.field``."""
    errors: Errors = {}
    own_contacts = set(partner.contacts.values_list("pk", flat=True)) if partner else set()
    own_accounts = set(partner.bank_accounts.values_list("pk", flat=True)) if partner else set()
    for index, item in enumerate(contacts or ()):
        prefix = f"contacts.{index}."
        unknown = set(item) - {*CONTACT_FIELDS, "id"}
        for name in sorted(unknown):
            _add(errors, prefix + name, _("Unknown field."))
        if item.get("id") is not None and item["id"] not in own_contacts:
            _add(errors, prefix + "id", _("This contact is not one of the partner's."))
        _merge(errors, _contact_clean(company, item, prefix)[1])
    seen: dict[str, int] = {}
    defaults = 0
    for index, item in enumerate(bank_accounts or ()):
        prefix = f"bank_accounts.{index}."
        unknown = set(item) - {*BANK_ACCOUNT_FIELDS, "id"}
        for name in sorted(unknown):
            _add(errors, prefix + name, _("Unknown field."))
        if item.get("id") is not None and item["id"] not in own_accounts:
            _add(errors, prefix + "id", _("This bank account is not one of the partner's."))
        values, problems = _bank_account_clean(item, prefix)
        _merge(errors, problems)
        if values["iban"] in seen and not problems:
            _add(
                errors,
                prefix + "iban",
                _("The IBAN repeats bank account %(n)d.") % {"n": seen[values["iban"]] + 1},
            )
        seen.setdefault(values["iban"], index)
        defaults += values["is_default"]
        if defaults > 1 and values["is_default"]:
            _add(errors, prefix + "is_default", _("Only one bank account can be the default."))
    return errors


def _children_replace(
    partner: Partner,
    contacts: Sequence[Mapping[str, Any]] | None,
    bank_accounts: Sequence[Mapping[str, Any]] | None,
) -> None:
    company = partner.company
    if contacts is not None:
        kept = {item["id"] for item in contacts if item.get("id") is not None}
        for contact in partner.contacts.exclude(pk__in=kept):
            contact.delete()
        for item in contacts:
            values = _contact_clean(company, item)[0]
            if item.get("id") is not None:
                contact = partner.contacts.get(pk=item["id"])
            else:
                contact = PartnerContact(company=company, partner=partner)
            _save_changed(contact, values)
    if bank_accounts is not None:
        kept = {item["id"] for item in bank_accounts if item.get("id") is not None}
        for account in partner.bank_accounts.exclude(pk__in=kept):
            account.delete()
        cleaned = [_bank_account_clean(item)[0] for item in bank_accounts]
        if cleaned and not any(values["is_default"] for values in cleaned):
            cleaned[0]["is_default"] = True
        for item, values in zip(bank_accounts, cleaned, strict=True):
            if item.get("id") is not None:
                account = partner.bank_accounts.get(pk=item["id"])
            else:
                account = PartnerBankAccount(company=company, partner=partner)
            _save_changed(account, values)


def _save_changed(obj: models.Model, values: Mapping[str, Any]) -> None:
    if obj.pk is not None and all(getattr(obj, k) == v for k, v in values.items()):
        return
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save()


def _partner_of(partner: Any, company: Company | None = None) -> Partner:
    if not isinstance(partner, Partner) or (
        company is not None and partner.company_id != company.pk
    ):
        raise ValidationError({"partner": [_("Choose a partner of this company.")]})
    return partner


def contact_create(
    *, partner: Partner, company: Company | None = None, **data: Any
) -> PartnerContact:
    """Add a contact person to a partner."""
    _unknown(data, CONTACT_FIELDS)
    partner = _partner_of(partner, company)
    values, errors = _contact_clean(partner.company, data)
    _raise(errors)
    with transaction.atomic():
        contact = PartnerContact(company=partner.company, partner=partner, **values)
        contact.save()
    return contact


def contact_update(*, instance: PartnerContact, **data: Any) -> PartnerContact:
    """Change the given fields of a contact."""
    _unknown(data, CONTACT_FIELDS)
    current = {name: getattr(instance, name) for name in CONTACT_FIELDS}
    values, errors = _contact_clean(instance.company, current | data)
    _raise(errors)
    with transaction.atomic():
        contact = PartnerContact.objects.select_for_update().get(pk=instance.pk)
        _save_changed(contact, values)
    return contact


def contact_delete(*, instance: PartnerContact) -> None:
    _delete(instance)


def _default_moved(partner: Partner, keep: PartnerBankAccount) -> None:
    """Make ``keep`` the partner's only default account (saves, so the audit sees it)."""
    for other in partner.bank_accounts.filter(is_default=True).exclude(pk=keep.pk):
        other.is_default = False
        other.save(update_fields=["is_default"])


def bank_account_create(
    *, partner: Partner, company: Company | None = None, **data: Any
) -> PartnerBankAccount:
    """Add a bank account to a partner. The default one when asked for or when it is the
    partner's first; the IBAN must not repeat one of the partner's."""
    _unknown(data, BANK_ACCOUNT_FIELDS)
    partner = _partner_of(partner, company)
    values, errors = _bank_account_clean(data)
    with transaction.atomic():
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        if "iban" not in errors and partner.bank_accounts.filter(iban=values["iban"]).exists():
            _add(errors, "iban", _("The partner already has this IBAN."))
        _raise(errors)
        if not partner.bank_accounts.filter(is_default=True).exists():
            values["is_default"] = True
        account = PartnerBankAccount(company=partner.company, partner=partner, **values)
        account.save()
        if account.is_default:
            _default_moved(partner, account)
    return account


def bank_account_update(*, instance: PartnerBankAccount, **data: Any) -> PartnerBankAccount:
    """Change a bank account; making it the default takes the default from the others."""
    _unknown(data, BANK_ACCOUNT_FIELDS)
    current = {name: getattr(instance, name) for name in BANK_ACCOUNT_FIELDS}
    values, errors = _bank_account_clean(current | data)
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=instance.partner_id)
        if (
            "iban" not in errors
            and partner.bank_accounts.filter(iban=values["iban"]).exclude(pk=instance.pk).exists()
        ):
            _add(errors, "iban", _("The partner already has this IBAN."))
        _raise(errors)
        account = PartnerBankAccount.objects.select_for_update().get(pk=instance.pk)
        _save_changed(account, values)
        if account.is_default:
            _default_moved(partner, account)
    return account


def bank_account_delete(*, instance: PartnerBankAccount) -> None:
    """Remove a bank account; when it was the default, the oldest remaining one becomes it."""
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=instance.partner_id)
        was_default = PartnerBankAccount.objects.filter(pk=instance.pk, is_default=True).exists()
        _delete(instance)
        if was_default:
            successor = partner.bank_accounts.order_by("id").first()
            if successor is not None:
                successor.is_default = True
                successor.save(update_fields=["is_default"])


# --- payment terms ------------------------------------------------------------------------------

PAYMENT_TERM_FIELDS = ("code", "name", "days", "end_of_month", "active")


def payment_days_normalise(value: Any) -> str:
    """``"30 / 60/90"`` → ``"30/60/90"``; ValidationError (a list) when the days are not
    non-negative whole numbers in increasing order, or more than twelve."""
    text = _text(value)
    if not text:
        raise ValidationError(_("Enter the days, such as 0, 30 or 30/60/90."))
    parts = [part.strip() for part in text.split("/")]
    if not all(part.isdigit() and part.isascii() for part in parts):
        raise ValidationError(
            _("Enter whole numbers of days separated by slashes, such as 30/60/90.")
        )
    days = [int(part) for part in parts]
    if len(days) > PAYMENT_TERM_MAX_INSTALMENTS:
        raise ValidationError(
            _("At most %(count)d instalments.") % {"count": PAYMENT_TERM_MAX_INSTALMENTS}
        )
    if any(day > PAYMENT_TERM_MAX_DAYS for day in days):
        raise ValidationError(_("At most %(days)d days.") % {"days": PAYMENT_TERM_MAX_DAYS})
    if any(later <= earlier for earlier, later in pairwise(days)):
        raise ValidationError(_("Give the days in increasing order, such as 30/60/90."))
    return "/".join(str(day) for day in days)


def _term_clean(
    company: Company, data: Mapping[str, Any], instance: PaymentTerm | None
) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    values: dict[str, Any] = {
        "code": _text(data.get("code")),
        "name": _text(data.get("name")),
        "end_of_month": bool(data.get("end_of_month")),
        "active": bool(data.get("active", True)),
    }
    if not values["code"]:
        _add(errors, "code", _("Enter a code."))
    elif (
        PaymentTerm.objects.for_company(company)
        .filter(code=values["code"])
        .exclude(pk=getattr(instance, "pk", None))
        .exists()
    ):
        _add(errors, "code", _("A payment term with this code already exists."))
    if not values["name"]:
        _add(errors, "name", _("Enter a name."))
    try:
        values["days"] = payment_days_normalise(data.get("days"))
    except ValidationError as exc:
        values["days"] = _text(data.get("days"))
        errors["days"] = list(exc.messages)
    _merge(errors, _model_errors(PaymentTerm(company=company, **values), [*errors, "company"]))
    return values, errors


def payment_term_create(*, company: Company, **data: Any) -> PaymentTerm:
    """Create a payment term (``days`` such as ``0``, ``30`` or ``30/60/90``)."""
    _unknown(data, PAYMENT_TERM_FIELDS)
    with transaction.atomic():
        values, errors = _term_clean(company, data, None)
        _raise(errors)
        term = PaymentTerm(company=company, **values)
        term.save()
    return term


def payment_term_update(*, instance: PaymentTerm, **data: Any) -> PaymentTerm:
    _unknown(data, PAYMENT_TERM_FIELDS)
    with transaction.atomic():
        term = PaymentTerm.objects.select_for_update().get(pk=instance.pk)
        current = {name: getattr(term, name) for name in PAYMENT_TERM_FIELDS}
        values, errors = _term_clean(term.company, current | data, term)
        _raise(errors)
        _save_changed(term, values)
    return term


def payment_term_delete(*, instance: PaymentTerm) -> None:
    """Delete a payment term no partner or invoice uses."""
    _delete(instance)


# --- products ---------------------------------------------------------------------------------

PRODUCT_FIELDS = (
    "sku",
    "name_es",
    "name_it",
    "name_en",
    "unit",
    "sale_price",
    "purchase_price",
    "sale_taxes",
    "purchase_taxes",
    "income_account",
    "expense_account",
    "active",
)


def product_values(product: Product) -> dict[str, Any]:
    """A product's fields as a service takes them (prices as Decimals)."""
    currency = product.company.base_currency
    values: dict[str, Any] = {
        name: getattr(product, name)
        for name in ("sku", "name_es", "name_it", "name_en", "unit", "active")
    }
    values["sale_price"] = units_to_price(product.sale_price, currency)
    values["purchase_price"] = units_to_price(product.purchase_price, currency)
    values["income_account"] = product.income_account
    values["expense_account"] = product.expense_account
    values["sale_taxes"] = list(product.sale_taxes.all()) if product.pk else []
    values["purchase_taxes"] = list(product.purchase_taxes.all()) if product.pk else []
    return values


def _product_clean(
    company: Company, data: Mapping[str, Any], instance: Product | None
) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    currency = company.base_currency
    values: dict[str, Any] = {
        "sku": _text(data.get("sku")),
        "name_es": _text(data.get("name_es")),
        "name_it": _text(data.get("name_it")),
        "name_en": _text(data.get("name_en")),
        "unit": _text(data.get("unit")) or Product.Unit.UNIT,
        "active": bool(data.get("active", True)),
    }
    if not values["sku"]:
        _add(errors, "sku", _("Enter a SKU (the product's code)."))
    elif (
        Product.objects.for_company(company)
        .filter(sku=values["sku"])
        .exclude(pk=getattr(instance, "pk", None))
        .exists()
    ):
        _add(errors, "sku", _("A product with this SKU already exists."))
    if not any(values[name] for name in ("name_es", "name_it", "name_en")):
        _add(errors, "name_en", _("Enter a name in at least one language."))
    values["sale_price"] = _price(data.get("sale_price"), currency, "sale_price", errors)
    values["purchase_price"] = _price(
        data.get("purchase_price"), currency, "purchase_price", errors
    )
    values["income_account"] = _account(
        company, data.get("income_account"), "income_account", errors
    )
    values["expense_account"] = _account(
        company, data.get("expense_account"), "expense_account", errors
    )
    values["sale_taxes"] = _taxes(
        company, data.get("sale_taxes"), "sale_taxes", Tax.Scope.SALE, errors
    )
    values["purchase_taxes"] = _taxes(
        company, data.get("purchase_taxes"), "purchase_taxes", Tax.Scope.PURCHASE, errors
    )
    plain = {
        k: (0 if v is None and k.endswith("_price") else v)
        for k, v in values.items()
        if k not in ("sale_taxes", "purchase_taxes")
    }
    checked = ["company", "income_account", "expense_account"]
    _merge(errors, _model_errors(Product(company=company, **plain), [*errors, *checked]))
    return values, errors


def _with_taxes(obj: Any, values: Mapping[str, Any]) -> Any:
    _save_changed(
        obj, {k: v for k, v in values.items() if k not in ("sale_taxes", "purchase_taxes")}
    )
    for name in ("sale_taxes", "purchase_taxes"):
        wanted = {t.pk for t in values[name]}
        if {t.pk for t in getattr(obj, name).all()} != wanted:
            getattr(obj, name).set(values[name])
    return obj


def product_create(*, company: Company, **data: Any) -> Product:
    """Create a product or service; prices are Decimals in the company currency."""
    _unknown(data, PRODUCT_FIELDS)
    with transaction.atomic():
        values, errors = _product_clean(company, data, None)
        _raise(errors)
        product: Product = _with_taxes(Product(company=company), values)
    return product


def product_update(*, instance: Product, **data: Any) -> Product:
    _unknown(data, PRODUCT_FIELDS)
    with transaction.atomic():
        product = (
            Product.objects.select_for_update(of=("self",))
            .select_related("company")
            .get(pk=instance.pk)
        )
        values, errors = _product_clean(product.company, product_values(product) | data, product)
        _raise(errors)
        _with_taxes(product, values)
    return product


def product_delete(*, instance: Product) -> None:
    """Delete a product that no invoice line uses."""
    _delete(instance)


# --- taxes ------------------------------------------------------------------------------------

TAX_FIELDS = (
    "code",
    "name_es",
    "name_it",
    "name_en",
    "kind",
    "scope",
    "rate",
    "price_included",
    "category",
    "nature",
    "reverse_charge",
    "split_payment",
    "sale_account",
    "purchase_account",
    "reverse_charge_account",
    "report_base_box",
    "report_tax_box",
    "legal_mention_es",
    "legal_mention_it",
    "legal_mention_en",
    "active",
)
TAX_FROZEN_WHEN_USED = ("kind", "rate", "price_included", "reverse_charge", "split_payment")
_TAX_TEXT = (
    "code",
    "name_es",
    "name_it",
    "name_en",
    "nature",
    "report_base_box",
    "report_tax_box",
    "legal_mention_es",
    "legal_mention_it",
    "legal_mention_en",
)


def _tax_issued_uses(tax: Tax) -> int:
    """Issued invoices whose tax breakdown has ``tax``."""
    return (
        InvoiceTax.objects.filter(tax=tax, invoice__state=Invoice.State.ISSUED)
        .values("invoice")
        .distinct()
        .count()
    )


def _tax_clean(
    company: Company, data: Mapping[str, Any], instance: Tax | None
) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    values: dict[str, Any] = {name: _text(data.get(name)) for name in _TAX_TEXT}
    values["nature"] = values["nature"].upper()
    for name in ("price_included", "reverse_charge", "split_payment"):
        values[name] = bool(data.get(name))
    values["active"] = bool(data.get("active", True))
    values["kind"] = _text(data.get("kind")) or Tax.Kind.VAT
    values["scope"] = _text(data.get("scope"))
    values["category"] = _text(data.get("category")) or Tax.Category.STANDARD
    if not values["code"]:
        _add(errors, "code", _("Enter a code."))
    elif (
        Tax.objects.for_company(company)
        .filter(code=values["code"])
        .exclude(pk=getattr(instance, "pk", None))
        .exists()
    ):
        _add(errors, "code", _("A tax with this code already exists."))
    if not any(values[name] for name in ("name_es", "name_it", "name_en")):
        _add(errors, "name_en", _("Enter a name in at least one language."))
    if values["scope"] not in Tax.Scope.values:
        _add(errors, "scope", _("Choose whether the tax applies to sales, purchases or both."))
    rate = _rate(data.get("rate"), "rate", errors)
    values["rate"] = rate if rate is not None else Decimal(0)
    if values["nature"] and values["nature"] not in ITALIAN_NATURES:
        _add(
            errors,
            "nature",
            _("Use one of the natures of the Italian e-invoice: %(codes)s.")
            % {"codes": ", ".join(ITALIAN_NATURES)},
        )
    if values["nature"] and rate:
        _add(errors, "nature", _("A nature is for operations without VAT: set the rate to 0."))
    sales = values["scope"] in (Tax.Scope.SALE, Tax.Scope.BOTH)
    purchases = values["scope"] in (Tax.Scope.PURCHASE, Tax.Scope.BOTH)
    if (
        company.country == "IT"
        and values["kind"] == Tax.Kind.VAT
        and sales
        and rate == 0
        and not values["nature"]
        and "rate" not in errors
    ):
        _add(
            errors,
            "nature",
            _("An Italian invoice line without VAT needs its nature (N1 to N7)."),
        )
    if values["kind"] == Tax.Kind.WITHHOLDING:
        for name in ("price_included", "reverse_charge", "split_payment"):
            if values[name]:
                _add(errors, name, _("A withholding cannot have this option."))
    if values["split_payment"] and values["scope"] != Tax.Scope.SALE:
        _add(errors, "split_payment", _("Split payment applies to sales only."))
    if values["reverse_charge"] and values["price_included"]:
        _add(errors, "price_included", _("A reverse-charge tax is never included in prices."))
    for name in ("sale_account", "purchase_account", "reverse_charge_account"):
        values[name] = _account(company, data.get(name), name, errors)
    if rate and sales and values["sale_account"] is None and "sale_account" not in errors:
        _add(errors, "sale_account", _("Choose the account the tax is booked to on sales."))
    if (
        rate
        and purchases
        and values["kind"] == Tax.Kind.WITHHOLDING
        and values["purchase_account"] is None
        and "purchase_account" not in errors
    ):
        # A purchase VAT without an account is simply not deductible (it joins the expense);
        # a withholding on purchases is owed to the tax office: it needs its account.
        _add(
            errors,
            "purchase_account",
            _("Choose the account the withholding is booked to on purchases."),
        )
    if (
        values["reverse_charge"]
        and rate
        and purchases
        and values["reverse_charge_account"] is None
        and "reverse_charge_account" not in errors
    ):
        _add(
            errors,
            "reverse_charge_account",
            _("A reverse-charge tax on purchases needs the account of the self-assessed tax."),
        )
    if instance is not None and instance.pk:
        changed = [
            name
            for name in TAX_FROZEN_WHEN_USED
            if name not in errors and values[name] != getattr(instance, name)
        ]
        if changed:
            uses = _tax_issued_uses(instance)
            if uses:
                for name in changed:
                    _add(
                        errors,
                        name,
                        ngettext(
                            "%(count)d issued invoice uses this tax: create a new tax and "
                            "deactivate this one instead.",
                            "%(count)d issued invoices use this tax: create a new tax and "
                            "deactivate this one instead.",
                            uses,
                        )
                        % {"count": uses},
                    )
    checked = ["company", "sale_account", "purchase_account", "reverse_charge_account"]
    _merge(errors, _model_errors(Tax(company=company, **values), [*errors, *checked]))
    return values, errors


def tax_create(*, company: Company, **data: Any) -> Tax:
    """Create a tax (VAT, equivalence surcharge or withholding) of the company."""
    _unknown(data, TAX_FIELDS)
    with transaction.atomic():
        values, errors = _tax_clean(company, data, None)
        _raise(errors)
        tax = Tax(company=company, **values)
        tax.save()
    return tax


def tax_update(*, instance: Tax, **data: Any) -> Tax:
    """Change a tax. Its kind, rate and options are frozen once an issued invoice uses it."""
    _unknown(data, TAX_FIELDS)
    with transaction.atomic():
        tax = (
            Tax.objects.select_for_update(of=("self",))
            .select_related("company")
            .get(pk=instance.pk)
        )
        current = {name: getattr(tax, name) for name in TAX_FIELDS}
        values, errors = _tax_clean(tax.company, current | data, tax)
        _raise(errors)
        _save_changed(tax, values)
    return tax


def tax_delete(*, instance: Tax) -> None:
    """Delete a tax nothing uses: no invoice (not even a draft) and no partner's or
    product's default taxes. Deactivate a tax that was used instead."""
    lines = InvoiceLine.taxes.through.objects.filter(tax_id=instance.pk)
    invoices = set(lines.values_list("invoiceline__invoice_id", flat=True)) | set(
        InvoiceTax.objects.filter(tax=instance).values_list("invoice_id", flat=True)
    )
    if invoices:
        raise ValidationError(
            ngettext(
                "%(tax)s is used by %(count)d invoice: deactivate it instead.",
                "%(tax)s is used by %(count)d invoices: deactivate it instead.",
                len(invoices),
            )
            % {"tax": instance.code, "count": len(invoices)}
        )
    partners = (
        Partner.sale_taxes.through.objects.filter(tax_id=instance.pk).count()
        + Partner.purchase_taxes.through.objects.filter(tax_id=instance.pk).count()
    )
    products = (
        Product.sale_taxes.through.objects.filter(tax_id=instance.pk).count()
        + Product.purchase_taxes.through.objects.filter(tax_id=instance.pk).count()
    )
    if partners or products:
        raise ValidationError(
            _(
                "%(tax)s is a default tax of %(partners)d partners and %(products)d products: "
                "remove it from them first, or deactivate it."
            )
            % {"tax": instance.code, "partners": partners, "products": products}
        )
    _delete(instance)


# --- invoice series ---------------------------------------------------------------------------

SERIES_FIELDS = ("code", "name", "kind", "number_format", "journal", "active")
SERIES_PLACEHOLDERS = frozenset({"code", "year", "number"})
SERIES_FROZEN_WHEN_USED = ("code", "kind", "number_format")


def number_format_problem(number_format: str) -> str | None:
    """Why ``number_format`` cannot number invoices, or None. Only ``{code}``, ``{year}`` and
    ``{number}`` (with a format such as ``{number:05d}``), the number required, at most 60
    characters once filled in."""
    message = _("Use only {code}, {year} and {number}, such as F{year}-{number:05d}.")
    try:
        parsed = list(string.Formatter().parse(number_format))
    except ValueError:
        return message
    names = [name for _literal, name, _spec, _conversion in parsed if name is not None]
    if any(name not in SERIES_PLACEHOLDERS for name in names):
        return message
    if any(conversion for _l, name, _s, conversion in parsed if name is not None):
        return message
    if "number" not in names:
        return _("The format must contain {number}.")
    try:
        longest = number_format.format(code="X" * 10, year=2026, number=10**9)
    except (KeyError, IndexError, ValueError, TypeError):
        return message
    if len(longest) > 60:
        return _("The numbers would be longer than 60 characters.")
    return None


def _series_used(series: InvoiceSeries) -> bool:
    return (
        Invoice.objects.filter(series=series, number__isnull=False).exists()
        or SeriesSequence.objects.filter(series=series, last_number__gt=0).exists()
    )


def _series_clean(
    company: Company, data: Mapping[str, Any], instance: InvoiceSeries | None
) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    values: dict[str, Any] = {
        "code": _text(data.get("code")).upper(),
        "name": _text(data.get("name")),
        "kind": _text(data.get("kind")) or InvoiceSeries.Kind.INVOICE,
        "number_format": _text(data.get("number_format")) or "{code}{year}-{number:05d}",
        "active": bool(data.get("active", True)),
    }
    if not values["code"]:
        _add(errors, "code", _("Enter a code."))
    elif (
        InvoiceSeries.objects.for_company(company)
        .filter(code=values["code"])
        .exclude(pk=getattr(instance, "pk", None))
        .exists()
    ):
        _add(errors, "code", _("A series with this code already exists."))
    if not values["name"]:
        _add(errors, "name", _("Enter a name."))
    problem = number_format_problem(values["number_format"])
    if problem:
        _add(errors, "number_format", problem)
    journal = data.get("journal")
    if (
        not isinstance(journal, Journal)
        or journal.company_id != company.pk
        or journal.type != Journal.Type.SALES
        or not journal.active
    ):
        _add(errors, "journal", _("Choose an active sales journal of this company."))
        journal = None
    values["journal"] = journal
    if instance is not None and instance.pk and _series_used(instance):
        for name in SERIES_FROZEN_WHEN_USED:
            if name not in errors and values[name] != getattr(instance, name):
                _add(
                    errors,
                    name,
                    _("Invoices have been numbered in this series: this cannot change."),
                )
    plain = {k: v for k, v in values.items() if k != "journal"}
    _merge(
        errors,
        _model_errors(InvoiceSeries(company=company, **plain), [*errors, "company", "journal"]),
    )
    return values, errors


def series_create(*, company: Company, **data: Any) -> InvoiceSeries:
    """Create an invoice series on a sales journal of the company."""
    _unknown(data, SERIES_FIELDS)
    with transaction.atomic():
        values, errors = _series_clean(company, data, None)
        _raise(errors)
        series = InvoiceSeries(company=company, **values)
        series.save()
    return series


def series_update(*, instance: InvoiceSeries, **data: Any) -> InvoiceSeries:
    """Change a series; its code, kind and format are frozen once it has numbered invoices."""
    _unknown(data, SERIES_FIELDS)
    with transaction.atomic():
        series = (
            InvoiceSeries.objects.select_for_update(of=("self",))
            .select_related("company")
            .get(pk=instance.pk)
        )
        current = {name: getattr(series, name) for name in SERIES_FIELDS}
        values, errors = _series_clean(series.company, current | data, series)
        _raise(errors)
        _save_changed(series, values)
    return series


def series_delete(*, instance: InvoiceSeries) -> None:
    """Delete a series no invoice uses."""
    _delete(instance)


# --- billing settings -------------------------------------------------------------------------

SETTINGS_ACCOUNTS = (
    "write_off_income_account",
    "write_off_expense_account",
    "customer_account",
    "supplier_account",
    "income_account",
    "expense_account",
    "late_fee_account",
)
SETTINGS_FIELDS = (
    "iban",
    "bic",
    "legal_footer",
    "approval_threshold",
    "write_off_limit",
    *SETTINGS_ACCOUNTS,
    "late_interest_rate",
)


def settings_of(*, company: Company) -> BillingSettings:
    """The company's billing settings; unsaved defaults when it has none yet (a read never
    writes: :func:`settings_update` creates the row)."""
    found = BillingSettings.objects.for_company(company).first()
    return found if found is not None else BillingSettings(company=company)


def settings_values(row: BillingSettings) -> dict[str, Any]:
    """The settings as :func:`settings_update` takes them (amounts as Decimals)."""
    currency = row.company.base_currency
    values: dict[str, Any] = {name: getattr(row, name) for name in SETTINGS_FIELDS}
    values["approval_threshold"] = amount_decimal(row.approval_threshold, currency)
    values["write_off_limit"] = amount_decimal(row.write_off_limit, currency)
    return values


def settings_update(*, company: Company, **data: Any) -> BillingSettings:
    """Change the given billing settings of the company, creating its row the first time.

    The IBAN and BIC are checked with schwifty; amounts are Decimals in the company currency;
    accounts postable, active accounts of the company; the late-payment rate a percentage.
    """
    _unknown(data, SETTINGS_FIELDS)
    with transaction.atomic():
        row, _created = BillingSettings.objects.get_or_create(company=company)
        row = (
            BillingSettings.objects.select_for_update(of=("self",))
            .select_related("company")
            .get(pk=row.pk)
        )
        merged = settings_values(row) | data
        errors: Errors = {}
        values: dict[str, Any] = {"legal_footer": _text(merged.get("legal_footer"))}
        values["iban"], bank_bic = "", ""
        if _text(merged.get("iban")):
            try:
                values["iban"], bank_bic = iban_normalise(merged.get("iban"))
            except ValidationError as exc:
                errors["iban"] = list(exc.messages)
        try:
            values["bic"] = bic_normalise(merged.get("bic")) or bank_bic
        except ValidationError as exc:
            errors["bic"] = list(exc.messages)
        currency = company.base_currency
        values["approval_threshold"] = _minor(
            merged.get("approval_threshold"),
            currency,
            "approval_threshold",
            errors,
            allow_none=True,
        )
        values["write_off_limit"] = _minor(
            merged.get("write_off_limit"), currency, "write_off_limit", errors
        )
        for name in SETTINGS_ACCOUNTS:
            values[name] = _account(company, merged.get(name), name, errors)
        values["late_interest_rate"] = _rate(
            merged.get("late_interest_rate"), "late_interest_rate", errors
        )
        _raise(errors)
        _save_changed(row, values)
    return row


# fmt: off
__all__ = [
    "BANK_ACCOUNT_FIELDS", "CONTACT_FIELDS", "ITALIAN_NATURES", "PARTNER_FIELDS",
    "PAYMENT_TERM_FIELDS", "PRODUCT_FIELDS", "SERIES_FIELDS", "SETTINGS_FIELDS", "TAX_FIELDS",
    "amount_decimal", "bank_account_create", "bank_account_delete", "bank_account_update",
    "bic_normalise", "contact_create", "contact_delete", "contact_update", "country_choices",
    "country_code", "iban_normalise", "name_key", "number_format_problem", "partner_clean",
    "partner_conflicts", "partner_create", "partner_delete", "partner_possible_duplicates",
    "partner_update", "partner_values", "payment_days_normalise", "payment_term_create",
    "payment_term_delete", "payment_term_update", "price_scale", "price_to_units",
    "product_create", "product_delete", "product_update", "product_values", "protected_message",
    "series_create", "series_delete", "series_update", "settings_of", "settings_update",
    "settings_values", "tax_create", "tax_delete", "tax_id_normalise", "tax_update",
    "units_to_price",
]
# fmt: on

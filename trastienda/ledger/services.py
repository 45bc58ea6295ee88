"""Services of the general ledger: the only writers of its tables.

Every service takes keyword-only arguments, validates everything first and raises a
``ValidationError`` naming the field (or ``line N`` for files), then writes in one
transaction. Amounts come in as ``Decimal`` (or their text) in major units and are kept as
integer minor units (:class:`trastienda.core.money.Money`); a float is refused.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from trastienda.core import context
from trastienda.core.models import Company
from trastienda.core.money import Money
from trastienda.ledger import core as arithmetic
from trastienda.ledger import fx, hashing
from trastienda.ledger.models import (
    PARTNER_SUBTYPES,
    Account,
    AccountBalance,
    AccountSubtype,
    AccountType,
    ChainHead,
    CostCentre,
    Currency,
    DimensionBalance,
    ExchangeRate,
    FiscalYear,
    Journal,
    JournalEntry,
    JournalEntryLine,
    JournalSequence,
    LedgerSettings,
    Period,
    Project,
)

CHART_BY_COUNTRY = {"ES": "es_pgc_pymes", "IT": "it_civil_code"}
DEFAULT_CHART = "ifrs"
DEFAULT_JOURNALS = (
    ("GEN", gettext_lazy("General"), Journal.Type.GENERAL),
    ("SAL", gettext_lazy("Sales"), Journal.Type.SALES),
    ("PUR", gettext_lazy("Purchases"), Journal.Type.PURCHASES),
    ("BNK", gettext_lazy("Bank"), Journal.Type.BANK),
    ("CSH", gettext_lazy("Cash"), Journal.Type.CASH),
    ("PAY", gettext_lazy("Payroll"), Journal.Type.PAYROLL),
)
MAX_RATE_DIGITS = 15


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _raise(errors: Mapping[str, list[str]]) -> None:
    if errors:
        raise ValidationError(dict(errors))


def _unknown(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})


def _decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        raise TypeError("floats are not accepted for amounts or rates")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip().replace(" ", ""))
    except InvalidOperation as exc:
        raise ValueError(str(value)) from exc


# --- currencies and exchange rates --------------------------------------------------------


def _currency(code: Any, field: str, errors: dict[str, list[str]]) -> Currency | None:
    if isinstance(code, Currency):
        return code
    found = Currency.objects.filter(code=str(code or "").strip().upper()).first()
    if found is None:
        errors[field] = [_("Unknown currency %(code)s.") % {"code": code}]
    return found


def _rate_value(value: Any, errors: dict[str, list[str]], field: str = "rate") -> Decimal | None:
    try:
        rate = _decimal(value)
    except ValueError:
        errors[field] = [_("Enter a number, such as 1.0850.")]
        return None
    if not rate.is_finite() or rate <= 0:
        errors[field] = [_("The rate must be greater than zero.")]
        return None
    _sign, digits, exponent = rate.normalize().as_tuple()
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > 10 or len(digits) > MAX_RATE_DIGITS:
        errors[field] = [_("Use at most 15 significant digits and 10 decimal places.")]
        return None
    return rate


def exchange_rate_create(
    *,
    company: Company,
    date: dt.date,
    from_currency: Any,
    to_currency: Any,
    rate: Any,
    source: str = ExchangeRate.Source.MANUAL,
) -> ExchangeRate:
    errors: dict[str, list[str]] = {}
    source_cur = _currency(from_currency, "from_currency", errors)
    target_cur = _currency(to_currency, "to_currency", errors)
    value = _rate_value(rate, errors)
    if source_cur is not None and source_cur == target_cur:
        errors["to_currency"] = [_("Choose two different currencies.")]
    if not isinstance(date, dt.date):
        errors["date"] = [_("Enter a date.")]
    _raise(errors)
    exists = ExchangeRate.objects.for_company(company).filter(
        date=date, from_currency=source_cur, to_currency=target_cur
    )
    if exists.exists():
        raise _fail("date", _("There is already a rate for these currencies on this day."))
    with transaction.atomic():
        return ExchangeRate.objects.create(
            company=company,
            date=date,
            from_currency=cast(Currency, source_cur),
            to_currency=cast(Currency, target_cur),
            rate=cast(Decimal, value),
            source=source,
        )


def exchange_rate_update(*, instance: ExchangeRate, **data: Any) -> ExchangeRate:
    _unknown(data, ("date", "from_currency", "to_currency", "rate", "source"))
    errors: dict[str, list[str]] = {}
    if "rate" in data:
        data["rate"] = _rate_value(data["rate"], errors)
    for name in ("from_currency", "to_currency"):
        if name in data:
            data[name] = _currency(data[name], name, errors)
    _raise(errors)
    with transaction.atomic():
        rate = ExchangeRate.objects.select_for_update().get(pk=instance.pk)
        for name, value in data.items():
            setattr(rate, name, value)
        if rate.from_currency_id == rate.to_currency_id:
            raise _fail("to_currency", _("Choose two different currencies."))
        try:
            with transaction.atomic():
                rate.save()
        except IntegrityError as exc:
            raise _fail(
                "date", _("There is already a rate for these currencies on this day.")
            ) from exc
    return rate


def exchange_rate_delete(*, instance: ExchangeRate) -> None:
    with transaction.atomic():
        instance.delete()


def _rates_store(
    company: Company, rows: list[tuple[dt.date, str, str, Decimal]], source: str
) -> int:
    """Insert or replace the rates of ``rows`` (already validated); returns how many."""
    with transaction.atomic():
        for date, source_code, target_code, rate in rows:
            ExchangeRate.objects.update_or_create(
                company=company,
                date=date,
                from_currency_id=source_code,
                to_currency_id=target_code,
                defaults={"rate": rate, "source": source},
            )
    return len(rows)


def exchange_rates_import_csv(*, company: Company, content: bytes | str) -> int:
    """Import ``date,from_currency,to_currency,rate`` rows (header required); all or nothing.

    A rate already recorded for the same day and currencies is replaced. Errors name the
    file line: ``{"line 3": ["Unknown currency XXX."]}``.
    """
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    reader = csv.DictReader(io.StringIO(text))
    expected = {"date", "from_currency", "to_currency", "rate"}
    if not reader.fieldnames or not expected <= {f.strip() for f in reader.fieldnames}:
        raise _fail("file", _("The header must be: date,from_currency,to_currency,rate."))
    codes = set(Currency.objects.values_list("code", flat=True))
    rows: list[tuple[dt.date, str, str, Decimal]] = []
    errors: dict[str, list[str]] = {}
    seen: set[tuple[dt.date, str, str]] = set()
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        problems: list[str] = []
        try:
            date = dt.date.fromisoformat(row["date"])
        except ValueError:
            problems.append(_("Date %(value)r is not YYYY-MM-DD.") % {"value": row["date"]})
            date = None
        source_code, target_code = row["from_currency"].upper(), row["to_currency"].upper()
        for code in (source_code, target_code):
            if code not in codes:
                problems.append(_("Unknown currency %(code)s.") % {"code": code or "-"})
        if source_code == target_code:
            problems.append(_("Choose two different currencies."))
        line_errors: dict[str, list[str]] = {}
        rate = _rate_value(row["rate"], line_errors)
        problems += line_errors.get("rate", [])
        if date is not None and (date, source_code, target_code) in seen:
            problems.append(_("Repeats an earlier line."))
        if problems:
            errors[f"line {number}"] = problems
        elif date is not None and rate is not None:
            seen.add((date, source_code, target_code))
            rows.append((date, source_code, target_code, rate))
    _raise(errors)
    if not rows:
        raise _fail("file", _("The file has no rates."))
    return _rates_store(company, rows, ExchangeRate.Source.CSV)


def exchange_rates_import_ecb(*, company: Company, content: bytes | str) -> int:
    """Import the ECB euro reference rates (eurofxref-daily.xml / -hist.xml); all or nothing.

    Each ``<Cube time="YYYY-MM-DD">`` holds ``<Cube currency="USD" rate="1.0850"/>`` rows:
    1 EUR = rate currency. Currencies not in the currency table are errors.
    """
    import xml.etree.ElementTree as ET

    data = content.encode() if isinstance(content, str) else content
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _fail("file", _("The file is not an ECB reference rates file."))
    try:
        root = ET.fromstring(data)  # noqa: S314 - entity declarations refused above
    except ET.ParseError as exc:
        raise _fail("file", _("The file is not valid XML: %(error)s") % {"error": exc}) from exc
    codes = set(Currency.objects.values_list("code", flat=True))
    rows: list[tuple[dt.date, str, str, Decimal]] = []
    errors: dict[str, list[str]] = {}
    for day in root.iter():
        if not day.tag.endswith("Cube") or "time" not in day.attrib:
            continue
        try:
            date = dt.date.fromisoformat(day.attrib["time"])
        except ValueError:
            errors[f"time {day.attrib['time']}"] = [_("Not a date.")]
            continue
        for cube in day:
            code = cube.attrib.get("currency", "").upper()
            where = f"{date.isoformat()} {code or '-'}"
            line_errors: dict[str, list[str]] = {}
            rate = _rate_value(cube.attrib.get("rate", ""), line_errors)
            if code not in codes:
                line_errors.setdefault("rate", []).append(
                    _("Unknown currency %(code)s.") % {"code": code or "-"}
                )
            if line_errors:
                errors[where] = line_errors["rate"]
            elif rate is not None:
                rows.append((date, "EUR", code, rate))
    _raise(errors)
    if not rows:
        raise _fail("file", _("The file has no rates."))
    if "EUR" not in codes:
        raise _fail("file", _("Unknown currency %(code)s.") % {"code": "EUR"})
    return _rates_store(company, rows, ExchangeRate.Source.ECB)


# --- chart of accounts --------------------------------------------------------------------

ACCOUNT_FIELDS = (
    "code",
    "parent",
    "name_es",
    "name_it",
    "name_en",
    "type",
    "subtype",
    "postable",
    "active",
    "reconcilable",
    "default_currency",
)


def _account_errors(
    company: Company, data: Mapping[str, Any], instance: Account | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    code = str(data.get("code") or "").strip()
    if not code:
        errors["code"] = [_("Enter a code.")]
    elif (
        Account.objects.for_company(company)
        .filter(code=code)
        .exclude(pk=getattr(instance, "pk", None))
        .exists()
    ):
        errors["code"] = [_("An account with this code already exists.")]
    if not any(str(data.get(n) or "").strip() for n in ("name_es", "name_it", "name_en")):
        errors["name_en"] = [_("Enter a name in at least one language.")]
    if data.get("type") not in AccountType.values:
        errors["type"] = [_("Choose a type.")]
    if (data.get("subtype") or "") not in AccountSubtype.values:
        errors["subtype"] = [_("Choose a subtype.")]
    parent = data.get("parent")
    if parent is not None:
        if parent.company_id != company.pk:
            errors["parent"] = [_("Choose an account of this company.")]
        elif parent.postable:
            errors["parent"] = [_("The parent must be a group account (not postable).")]
        else:
            node = parent
            while node is not None:
                if instance is not None and node.pk == instance.pk:
                    errors["parent"] = [_("An account cannot be inside itself.")]
                    break
                node = node.parent
    return errors


def account_create(*, company: Company, **data: Any) -> Account:
    _unknown(data, ACCOUNT_FIELDS)
    data.setdefault("subtype", "")
    _raise(_account_errors(company, data, None))
    account = Account(company=company, **data)
    account.code = account.code.strip()
    account.level = account.parent.level + 1 if account.parent else 0
    with transaction.atomic():
        account.save()
    return account


def account_update(*, instance: Account, **data: Any) -> Account:
    _unknown(data, ACCOUNT_FIELDS)
    merged = {name: getattr(instance, name) for name in ACCOUNT_FIELDS} | data
    errors = _account_errors(instance.company, merged, instance)
    used = JournalEntryLine.objects.filter(account=instance).exists()
    if used and str(merged["code"]).strip() != instance.code:
        errors["code"] = [_("The account has entries: its code cannot change.")]
    if used and not merged["postable"]:
        errors["postable"] = [_("The account has entries: it must stay postable.")]
    if merged["postable"] is not False and instance.children.exists():
        errors["postable"] = [_("The account has sub-accounts: it must stay a group.")]
    _raise(errors)
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=instance.pk)
        for name, value in data.items():
            setattr(account, name, value)
        account.level = account.parent.level + 1 if account.parent else 0
        account.save()
        _relevel(account)
    return account


def _relevel(account: Account) -> None:
    for child in Account.objects.filter(parent=account):
        if child.level != account.level + 1:
            child.level = account.level + 1
            child.save(update_fields=["level"])
        _relevel(child)


def account_delete(*, instance: Account) -> None:
    if JournalEntryLine.objects.filter(account=instance).exists():
        raise ValidationError(_("The account has entries: archive it instead."))
    if instance.children.exists():
        raise ValidationError(_("The account has sub-accounts."))
    with transaction.atomic():
        instance.delete()


CHART_COLUMNS = (
    "code",
    "parent_code",
    "name_es",
    "name_it",
    "name_en",
    "type",
    "subtype",
    "postable",
    "reconcilable",
)


def _accounts_create(company: Company, rows: list[dict[str, Any]]) -> int:
    """Create accounts from rows with ``parent_code`` (parents first), updating existing codes.

    New accounts are inserted level by level with ``bulk_create`` (a chart is hundreds of
    rows); one audit event records the load instead of one per account.
    """
    existing = {a.code: a for a in Account.objects.for_company(company)}
    created: list[Account] = []
    pending: list[Account] = []
    for row in rows:
        parent_code = row["parent_code"]
        account = existing.get(row["code"])
        if parent_code is None:  # no parent column: keep the account's parent
            parent = account.parent if account is not None else None
        else:
            parent = existing.get(parent_code) if parent_code else None
        if parent is not None and parent.pk is None:  # created in this load, not yet saved
            Account.objects.bulk_create(pending)
            pending = []
        fields = {
            n: row[n]
            for n in CHART_COLUMNS
            if n not in {"code", "parent_code"} and row.get(n) is not None
        }
        level = parent.level + 1 if parent else 0
        if account is None:
            account = Account(
                company=company, code=row["code"], parent=parent, level=level, **fields
            )
            pending.append(account)
            created.append(account)
        else:
            for name, value in fields.items():
                setattr(account, name, value)
            account.parent, account.level = parent, level
            account.save()
        existing[account.code] = account
    Account.objects.bulk_create(pending)
    if created:
        from trastienda.audit.services import audit_log

        audit_log(
            action="other",
            company=company,
            object_type="ledger.account",
            object_repr=str(_("Chart of accounts")),
            extra={"event": "accounts_created", "count": len(created)},
        )
    return len(created)


def chart_load(*, company: Company, template: str) -> int:
    """Load a chart template (:mod:`trastienda.ledger.charts`) into a company without accounts."""
    from trastienda.ledger.charts import available_templates, load_chart

    if template not in available_templates():
        raise _fail("template", _("Unknown chart template %(name)s.") % {"name": template})
    if Account.objects.for_company(company).exists():
        raise _fail("template", _("The company already has a chart of accounts."))
    rows = [
        {
            "code": a.code,
            "parent_code": a.parent_code or "",
            "name_es": a.name_es,
            "name_it": a.name_it,
            "name_en": a.name_en,
            "type": a.type,
            "subtype": a.subtype or "",
            "postable": a.postable,
            "reconcilable": a.reconcilable,
        }
        for a in load_chart(template)
    ]
    with transaction.atomic():
        return _accounts_create(company, _parents_first(rows))


def _parents_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_code = {r["code"]: r for r in rows}

    def depth(row: dict[str, Any]) -> int:
        n, seen = 0, set()
        while row["parent_code"] and row["parent_code"] in by_code and row["code"] not in seen:
            seen.add(row["code"])
            row = by_code[row["parent_code"]]
            n += 1
        return n

    return sorted(rows, key=lambda r: (depth(r), r["code"]))


def _bool(value: Any) -> bool | None:
    text = str(value if value is not None else "").strip().lower()
    if text in {"1", "true", "yes", "y", "sí", "si", "x"}:
        return True
    if text in {"0", "false", "no", "n", ""}:
        return False
    return None


def _table_rows(content: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a CSV or XLSX file as dicts of text (the first row is the header)."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:
            raise _fail("file", _("The file is not a valid XLSX workbook.")) from exc
        values = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
    else:
        text = content.decode("utf-8-sig")
        values = list(csv.reader(io.StringIO(text)))
    if not values:
        raise _fail("file", _("The file is empty."))
    header = [h.strip().lower() for h in values[0]]
    return [dict(zip(header, [v.strip() for v in row], strict=False)) for row in values[1:]]


def _chart_aliases(row: dict[str, str]) -> dict[str, str]:
    """Accept the headers of the accounts list's export too (in the active language)."""
    from django.utils.translation import get_language

    aliases = {
        str(getattr(Account._meta.get_field(name), "verbose_name", name)).lower(): name
        for name in (
            "code",
            "name_es",
            "name_it",
            "name_en",
            "type",
            "subtype",
            "postable",
            "reconcilable",
        )
    }
    aliases[str(_("Parent code")).lower()] = "parent_code"
    aliases[str(_("Name")).lower()] = f"name_{(get_language() or 'en')[:2]}"
    result = {aliases.get(key, key): value for key, value in row.items()}
    for name in ("type", "subtype"):  # exported as labels: map back to codes
        choices = AccountType.choices if name == "type" else AccountSubtype.choices
        labels = {str(label).lower(): code for code, label in choices}
        value = result.get(name, "")
        if value and value not in (c for c, _l in choices):
            result[name] = labels.get(value.lower(), value)
    if result.get("subtype") is None:
        result["subtype"] = ""
    return result


def chart_import(*, company: Company, content: bytes, filename: str) -> int:
    """Import accounts from CSV/XLSX (columns :data:`CHART_COLUMNS`); all or nothing.

    New codes are created, existing ones updated. Returns the number of accounts created.
    Errors name the file line: ``{"line 4": ["Unknown parent 57."]}``.
    """
    rows = [_chart_aliases(row) for row in _table_rows(content, filename)]
    missing = [c for c in ("code", "type") if rows and c not in rows[0]]
    if missing:
        raise _fail("file", _("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)})
    existing = {
        a.code: a.postable for a in Account.objects.for_company(company).only("code", "postable")
    }
    in_file = {r.get("code", ""): r for r in rows}
    errors: dict[str, list[str]] = {}
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        problems = []
        code = row.get("code", "")
        parent_code = row.get("parent_code", "")
        if not code:
            problems.append(_("Enter a code."))
        elif code in seen:
            problems.append(_("Code %(code)s repeats an earlier line.") % {"code": code})
        seen.add(code)
        if row.get("type") not in AccountType.values:
            problems.append(_("Unknown type %(value)r.") % {"value": row.get("type", "")})
        if row.get("subtype", "") not in AccountSubtype.values:
            problems.append(_("Unknown subtype %(value)r.") % {"value": row.get("subtype")})
        flags = {}
        for name, default in (("postable", "1"), ("reconcilable", "0")):
            value = _bool(row.get(name, default) or default)
            if value is None:
                problems.append(_("%(name)s must be 1 or 0.") % {"name": name})
            flags[name] = bool(value)
        if parent_code:
            parent_row = in_file.get(parent_code)
            parent_postable = (
                _bool(parent_row.get("postable", "1") or "1")
                if parent_row is not None
                else existing.get(parent_code)
            )
            if parent_row is None and parent_code not in existing:
                problems.append(_("Unknown parent %(code)s.") % {"code": parent_code})
            elif parent_postable:
                problems.append(
                    _("Parent %(code)s is postable; it must be a group.") % {"code": parent_code}
                )
            elif parent_code == code:
                problems.append(_("An account cannot be inside itself."))
        if not any(row.get(n) for n in ("name_es", "name_it", "name_en")):
            problems.append(_("Enter a name in at least one language."))
        if problems:
            errors[f"line {number}"] = problems
            continue
        # Columns the file lacks keep their value on existing accounts (None = absent).
        values: dict[str, Any] = {"code": code, "type": row["type"], **flags}
        for name in ("parent_code", "name_es", "name_it", "name_en", "subtype"):
            values[name] = row.get(name) if name in row else None
        if "postable" not in row:
            values["postable"] = None
        if "reconcilable" not in row:
            values["reconcilable"] = None
        clean.append(values)
    _raise(errors)
    if not clean:
        raise _fail("file", _("The file has no accounts."))
    with transaction.atomic():
        return _accounts_create(company, _parents_first(clean))


# --- company setup, fiscal years, journals, settings --------------------------------------


def company_ledger_setup(company: Company) -> None:
    """Run by :func:`trastienda.core.services.company_create`: the chart for the company's
    country, the default journals, lock-date settings and the empty hash chain."""
    template = CHART_BY_COUNTRY.get(company.country, DEFAULT_CHART)
    try:
        from trastienda.ledger.charts import available_templates
    except ImportError:  # pragma: no cover - the charts package is part of the app
        available_templates = None  # type: ignore[assignment]
    has_chart = Account.objects.for_company(company).exists()
    if available_templates is not None and template in available_templates() and not has_chart:
        chart_load(company=company, template=template)
    for code, name, kind in DEFAULT_JOURNALS:
        with override(company.language):
            label = str(name)
        Journal.objects.get_or_create(
            company=company,
            code=code,
            defaults={
                "name": label,
                "type": kind,
                "number_format": f"{code}/{{year}}/{{number:06d}}",
            },
        )
    LedgerSettings.objects.get_or_create(company=company)
    ChainHead.objects.get_or_create(company=company)


def _check_format(number_format: str) -> str | None:
    try:
        text = number_format.format(code="GEN", year=2026, number=1)
    except (KeyError, IndexError, ValueError):
        return _("Use only {code}, {year} and {number} (e.g. GEN/{year}/{number:06d}).")
    if "{number" not in number_format or len(text) > 60:
        return _("The format must contain {number} and give at most 60 characters.")
    return None


JOURNAL_FIELDS = ("code", "name", "type", "number_format", "active")


def journal_create(*, company: Company, **data: Any) -> Journal:
    _unknown(data, JOURNAL_FIELDS)
    errors: dict[str, list[str]] = {}
    code = str(data.get("code") or "").strip().upper()
    if not code:
        errors["code"] = [_("Enter a code.")]
    elif Journal.objects.for_company(company).filter(code=code).exists():
        errors["code"] = [_("A journal with this code already exists.")]
    data.setdefault("number_format", f"{code}/{{year}}/{{number:06d}}")
    problem = _check_format(data["number_format"])
    if problem:
        errors["number_format"] = [problem]
    _raise(errors)
    journal = Journal(company=company, **(data | {"code": code}))
    journal.full_clean()
    with transaction.atomic():
        journal.save()
    return journal


def journal_update(*, instance: Journal, **data: Any) -> Journal:
    _unknown(data, JOURNAL_FIELDS)
    errors: dict[str, list[str]] = {}
    if "code" in data:
        data["code"] = str(data["code"]).strip().upper()
        if data["code"] != instance.code and instance.entries.exists():
            errors["code"] = [_("The journal has entries: its code cannot change.")]
    if "number_format" in data:
        problem = _check_format(data["number_format"])
        if problem:
            errors["number_format"] = [problem]
    _raise(errors)
    with transaction.atomic():
        journal = Journal.objects.select_for_update().get(pk=instance.pk)
        for name, value in data.items():
            setattr(journal, name, value)
        journal.full_clean()
        journal.save()
    return journal


def journal_delete(*, instance: Journal) -> None:
    if instance.entries.exists():
        raise ValidationError(_("The journal has entries: deactivate it instead."))
    with transaction.atomic():
        JournalSequence.objects.filter(journal=instance).delete()
        instance.delete()


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    periods = []
    current = start
    while current <= end:
        last = dt.date(
            current.year, current.month, calendar.monthrange(current.year, current.month)[1]
        )
        periods.append((current, min(last, end)))
        current = last + dt.timedelta(days=1)
    return periods


def fiscal_year_create(
    *, company: Company, name: str, start_date: dt.date, end_date: dt.date, state: str = "open"
) -> FiscalYear:
    """A fiscal year with one period per calendar month (the first and last may be partial)."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif FiscalYear.objects.for_company(company).filter(name=name).exists():
        errors["name"] = [_("A fiscal year with this name already exists.")]
    if not isinstance(start_date, dt.date) or not isinstance(end_date, dt.date):
        errors["start_date"] = [_("Enter both dates.")]
    elif end_date <= start_date:
        errors["end_date"] = [_("The end date must be after the start date.")]
    elif (end_date - start_date).days > 730:
        errors["end_date"] = [_("A fiscal year lasts at most 24 months.")]
    elif (
        FiscalYear.objects.for_company(company)
        .filter(start_date__lte=end_date, end_date__gte=start_date)
        .exists()
    ):
        errors["start_date"] = [_("The dates overlap another fiscal year.")]
    if state not in FiscalYear.State.values:
        errors["state"] = [_("Choose a state.")]
    _raise(errors)
    with transaction.atomic():
        year = FiscalYear.objects.create(
            company=company, name=name, start_date=start_date, end_date=end_date, state=state
        )
        Period.objects.bulk_create(
            Period(
                company=company,
                fiscal_year=year,
                number=n,
                start_date=first,
                end_date=last,
                state=state,
            )
            for n, (first, last) in enumerate(_months(start_date, end_date), start=1)
        )
    return year


def fiscal_year_update(*, instance: FiscalYear, **data: Any) -> FiscalYear:
    """Rename, close or reopen a fiscal year (closing closes its periods; dates are fixed)."""
    _unknown(data, ("name", "state", "start_date", "end_date"))
    for name in ("start_date", "end_date"):
        if name in data and data[name] != getattr(instance, name):
            raise _fail(name, _("The dates of a fiscal year cannot change."))
    if "name" in data and not str(data["name"]).strip():
        raise _fail("name", _("Enter a name."))
    if data.get("state", instance.state) not in FiscalYear.State.values:
        raise _fail("state", _("Choose a state."))
    with transaction.atomic():
        year = FiscalYear.objects.select_for_update().get(pk=instance.pk)
        year.name = str(data.get("name", year.name)).strip()
        year.state = data.get("state", year.state)
        year.save()
        if year.state == FiscalYear.State.CLOSED:
            Period.objects.filter(fiscal_year=year).update(state=Period.State.CLOSED)
    return year


def fiscal_year_delete(*, instance: FiscalYear) -> None:
    if JournalEntry.objects.filter(
        company=instance.company, date__gte=instance.start_date, date__lte=instance.end_date
    ).exists():
        raise ValidationError(_("The fiscal year has entries."))
    with transaction.atomic():
        JournalSequence.objects.filter(fiscal_year=instance).delete()
        instance.delete()


def period_update(*, instance: Period, state: str, **data: Any) -> Period:
    """Open or close a month. A period of a closed fiscal year stays closed."""
    _unknown(data, ("number", "start_date", "end_date", "fiscal_year"))
    if state not in Period.State.values:
        raise _fail("state", _("Choose a state."))
    with transaction.atomic():
        period = Period.objects.select_for_update().get(pk=instance.pk)
        year = FiscalYear.objects.get(pk=period.fiscal_year_id)
        if state == Period.State.OPEN and year.state == FiscalYear.State.CLOSED:
            raise _fail("state", _("The fiscal year is closed."))
        period.state = state
        period.save()
    return period


def settings_update(
    *, instance: LedgerSettings, hard_lock_date: dt.date | None, lock_date: dt.date | None
) -> LedgerSettings:
    if hard_lock_date and lock_date and lock_date < hard_lock_date:
        raise _fail(
            "lock_date",
            _("The lock date for all but chief accountants cannot be before the one for everyone."),
        )
    with transaction.atomic():
        row = LedgerSettings.objects.select_for_update().get(pk=instance.pk)
        row.hard_lock_date, row.lock_date = hard_lock_date, lock_date
        row.save()
    return row


# --- journal entries ----------------------------------------------------------------------

LINE_KEYS = (
    "account",
    "debit",
    "credit",
    "description",
    "partner",
    "due_date",
    "currency",
    "amount_currency",
    "cost_centre",
    "project",
)


def _minor(value: Any, currency: str) -> int:
    if value in (None, ""):
        return 0
    return Money.from_decimal(_decimal(value), currency).minor


def _resolve(model: Any, company: Company, value: Any, key: str = "code") -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, model):
        return value if value.company_id == company.pk else None
    qs = model.objects.for_company(company)
    if isinstance(value, int):
        return qs.filter(pk=value).first()
    return qs.filter(**{key: str(value).strip()}).first()


def _accounts_by_key(company: Company, values: Iterable[Any]) -> dict[Any, Account]:
    """The company's accounts named by the lines (codes or ids), in one query."""
    codes = {str(v).strip() for v in values if isinstance(v, str) and v.strip()}
    ids = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
    if not codes and not ids:
        return {}
    found = Account.objects.for_company(company).filter(Q(code__in=codes) | Q(pk__in=ids))
    result: dict[Any, Account] = {}
    for account in found:
        result[account.code] = account
        result[account.pk] = account
    return result


def _build_lines(
    company: Company, lines: Iterable[Mapping[str, Any]]
) -> tuple[list[JournalEntryLine], dict[str, list[str]]]:
    built: list[JournalEntryLine] = []
    errors: dict[str, list[str]] = {}
    base = company.base_currency
    lines = list(lines)
    # One query each for the accounts and currencies the lines name, not one per line.
    accounts = _accounts_by_key(company, [raw.get("account") for raw in lines])
    wanted = {str(raw.get("currency") or base).upper() for raw in lines}
    known_currencies = set(Currency.objects.filter(code__in=wanted).values_list("code", flat=True))
    for n, raw in enumerate(lines, start=1):
        where = f"lines.{n}"
        problems: list[str] = []
        unknown = set(raw) - set(LINE_KEYS)
        if unknown:
            problems.append(_("Unknown field %(name)s.") % {"name": ", ".join(sorted(unknown))})
        given_account = raw.get("account")
        if isinstance(given_account, Account):
            account = given_account if given_account.company_id == company.pk else None
        else:
            key = given_account.strip() if isinstance(given_account, str) else given_account
            account = accounts.get(key)
        if account is None:
            problems.append(_("Unknown account %(code)s.") % {"code": raw.get("account") or "-"})
        currency = str(raw.get("currency") or base).upper()
        if currency not in known_currencies:
            problems.append(_("Unknown currency %(code)s.") % {"code": currency})
        debit = credit = amount = 0
        try:
            debit = _minor(raw.get("debit"), base)
            credit = _minor(raw.get("credit"), base)
            if currency == base:
                amount = debit - credit
                given = raw.get("amount_currency")
                if given not in (None, "") and _minor(given, base) != amount:
                    problems.append(_("In the company currency the amount is debit - credit."))
            elif raw.get("amount_currency") in (None, ""):
                problems.append(_("Enter the amount in %(code)s.") % {"code": currency})
            else:
                amount = _minor(raw["amount_currency"], currency)
        except (ValueError, ArithmeticError) as exc:
            problems.append(_("Invalid amount: %(error)s") % {"error": exc})
        if debit < 0 or credit < 0:
            problems.append(_("Debit and credit cannot be negative."))
        if debit and credit:
            problems.append(_("A line is either a debit or a credit."))
        if not debit and not credit:
            problems.append(_("Enter a debit or a credit."))
        cost_centre = _resolve(CostCentre, company, raw.get("cost_centre"))
        if raw.get("cost_centre") not in (None, "") and cost_centre is None:
            problems.append(_("Unknown cost centre."))
        project = _resolve(Project, company, raw.get("project"))
        if raw.get("project") not in (None, "") and project is None:
            problems.append(_("Unknown project."))
        due = raw.get("due_date") or None
        if due is not None and not isinstance(due, dt.date):
            try:
                due = dt.date.fromisoformat(str(due))
            except ValueError:
                problems.append(_("The due date is not YYYY-MM-DD."))
        if problems:
            errors[where] = problems
            continue
        built.append(
            JournalEntryLine(
                company=company,
                line_no=n,
                account=account,
                description=str(raw.get("description") or "")[:300],
                debit=debit,
                credit=credit,
                currency_id=currency,
                amount_currency=amount,
                partner=str(raw.get("partner") or "").strip()[:200],
                due_date=due,
                cost_centre=cost_centre,
                project=project,
            )
        )
    return built, errors


def _header_errors(company: Company, journal: Any, date: Any) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(journal, Journal) or journal.company_id != company.pk:
        errors["journal"] = [_("Choose a journal of this company.")]
    elif not journal.active:
        errors["journal"] = [_("The journal is not active.")]
    if not isinstance(date, dt.date):
        errors["date"] = [_("Enter a date.")]
    return errors


def entry_create_draft(
    *,
    company: Company,
    journal: Journal,
    date: dt.date,
    reference: str = "",
    description: str = "",
    lines: Iterable[Mapping[str, Any]] = (),
) -> JournalEntry:
    """A draft entry: no number, editable, deletable. Lines need not balance yet."""
    errors = _header_errors(company, journal, date)
    built, line_errors = _build_lines(company, list(lines))
    errors.update(line_errors)
    _raise(errors)
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            company=company,
            journal=journal,
            date=date,
            reference=(reference or "").strip(),
            description=(description or "").strip(),
        )
        for line in built:
            line.entry = entry
        JournalEntryLine.objects.bulk_create(built)
    return entry


def _draft_locked(instance: JournalEntry) -> JournalEntry:
    entry = JournalEntry.objects.select_for_update().get(pk=instance.pk)
    if entry.state != JournalEntry.State.DRAFT:
        raise ValidationError(
            {"state": [_("Entry %(number)s is posted: reverse it instead.") % {"number": entry}]}
        )
    return entry


def entry_update_draft(
    *, instance: JournalEntry, lines: Iterable[Mapping[str, Any]] | None = None, **data: Any
) -> JournalEntry:
    """Change a draft's header and, when ``lines`` is given, replace its lines."""
    _unknown(data, ("journal", "date", "reference", "description"))
    company = instance.company
    if instance.state != JournalEntry.State.DRAFT:
        _draft_locked(instance)
    merged = {"journal": instance.journal, "date": instance.date} | data
    errors = _header_errors(company, merged["journal"], merged["date"])
    built: list[JournalEntryLine] = []
    if lines is not None:
        built, line_errors = _build_lines(company, list(lines))
        errors.update(line_errors)
    _raise(errors)
    with transaction.atomic():
        entry = _draft_locked(instance)
        for name, value in data.items():
            setattr(entry, name, value.strip() if isinstance(value, str) else value)
        entry.save()
        if lines is not None:
            JournalEntryLine.objects.filter(entry=entry).delete()
            for line in built:
                line.entry = entry
            JournalEntryLine.objects.bulk_create(built)
    return entry


def entry_delete_draft(*, instance: JournalEntry) -> None:
    with transaction.atomic():
        entry = _draft_locked(instance)
        JournalEntryLine.objects.filter(entry=entry).delete()
        entry.delete()


def _as_core(lines: Iterable[JournalEntryLine]) -> tuple[arithmetic.Line, ...]:
    return tuple(
        arithmetic.Line(x.account_id, x.debit, x.credit, x.currency_id, x.amount_currency)
        for x in lines
    )


def _posting_errors(
    entry: JournalEntry, lines: list[JournalEntryLine], allow_before_lock: bool
) -> tuple[dict[str, list[str]], FiscalYear | None]:
    company = entry.company
    errors: dict[str, list[str]] = {}
    if len(lines) < 2:
        errors["lines"] = [_("An entry needs at least two lines.")]
    diff = arithmetic.imbalance(_as_core(lines))
    if diff:
        errors["lines"] = [
            _("The entry does not balance: debit - credit = %(diff)s %(currency)s.")
            % {
                "diff": Money(diff, company.base_currency).to_decimal(),
                "currency": company.base_currency,
            }
        ]
    for line in lines:
        where = f"lines.{line.line_no}"
        account = line.account
        if not account.postable:
            errors.setdefault(where, []).append(
                _("Account %(code)s is a group: choose a postable account.")
                % {"code": account.code}
            )
        if not account.active:
            errors.setdefault(where, []).append(
                _("Account %(code)s is archived.") % {"code": account.code}
            )
        if account.subtype in PARTNER_SUBTYPES and not line.partner:
            errors.setdefault(where, []).append(
                _("Account %(code)s needs a partner.") % {"code": account.code}
            )
        if arithmetic.line_errors(_as_core([line])[0]):
            errors.setdefault(where, []).append(_("Enter a debit or a credit."))
    year = (
        FiscalYear.objects.for_company(company)
        .filter(start_date__lte=entry.date, end_date__gte=entry.date)
        .first()
    )
    if year is None:
        errors["date"] = [_("No fiscal year covers %(date)s.") % {"date": entry.date}]
    elif year.state != FiscalYear.State.OPEN:
        errors["date"] = [_("Fiscal year %(name)s is closed.") % {"name": year.name}]
    else:
        period = Period.objects.filter(
            fiscal_year=year, start_date__lte=entry.date, end_date__gte=entry.date
        ).first()
        if period is None or period.state != Period.State.OPEN:
            errors["date"] = [_("The period of %(date)s is closed.") % {"date": entry.date}]
    locks = LedgerSettings.objects.for_company(company).first()
    if locks is not None and "date" not in errors:
        if locks.hard_lock_date and entry.date <= locks.hard_lock_date:
            errors["date"] = [
                _("The books are locked up to %(date)s.") % {"date": locks.hard_lock_date}
            ]
        elif locks.lock_date and entry.date <= locks.lock_date and not allow_before_lock:
            errors["date"] = [
                _("The books are locked up to %(date)s; only chief accountants post there.")
                % {"date": locks.lock_date}
            ]
    if not entry.journal.active:
        errors["journal"] = [_("The journal is not active.")]
    return errors, year


def _lock_sequence(entry: JournalEntry, year: FiscalYear) -> int:
    """The next number of the entry's journal in ``year``: locked row, bumped with F()."""
    qs = JournalSequence.objects.select_for_update().filter(journal=entry.journal, fiscal_year=year)
    if not qs.exists():
        try:
            with transaction.atomic():
                JournalSequence.objects.create(
                    company=entry.company, journal=entry.journal, fiscal_year=year
                )
        except IntegrityError:
            pass  # created by a concurrent posting: lock it below
    sequence = qs.get()
    JournalSequence.objects.filter(pk=sequence.pk).update(last_number=F("last_number") + 1)
    return sequence.last_number + 1


def _balances_add(company: Company, entry: JournalEntry, lines: list[JournalEntryLine]) -> None:
    moves = arithmetic.movements(
        [arithmetic.Entry(entry.date.year, entry.date.month, _as_core(lines))]
    )
    for (account_id, currency, year, month), move in moves.items():
        updated = AccountBalance.objects.filter(
            account_id=account_id, currency_id=currency, year=year, month=month
        ).update(
            debit=F("debit") + move.debit,
            credit=F("credit") + move.credit,
            amount_currency=F("amount_currency") + move.amount_currency,
        )
        if not updated:
            AccountBalance.objects.create(
                company=company,
                account_id=account_id,
                currency_id=currency,
                year=year,
                month=month,
                debit=move.debit,
                credit=move.credit,
                amount_currency=move.amount_currency,
            )
    _dimension_balances_add(company, entry, lines)


def _dimension_moves(
    entry_date: dt.date, lines: Iterable[JournalEntryLine]
) -> dict[tuple[int, str, int, int, int], tuple[int, int]]:
    """(account, dimension, dimension id, year, month) -> (debit, credit) of the lines."""
    moves: dict[tuple[int, str, int, int, int], tuple[int, int]] = {}
    for line in lines:
        for dimension, value in (
            (DimensionBalance.Dimension.COST_CENTRE, line.cost_centre_id),
            (DimensionBalance.Dimension.PROJECT, line.project_id),
        ):
            if value is None:
                continue
            key = (line.account_id, str(dimension), value, entry_date.year, entry_date.month)
            debit, credit = moves.get(key, (0, 0))
            moves[key] = (debit + line.debit, credit + line.credit)
    return moves


def _dimension_balances_add(
    company: Company, entry: JournalEntry, lines: list[JournalEntryLine]
) -> None:
    for (account_id, dimension, value, year, month), (debit, credit) in _dimension_moves(
        entry.date, lines
    ).items():
        updated = DimensionBalance.objects.filter(
            account_id=account_id, dimension=dimension, dimension_id=value, year=year, month=month
        ).update(debit=F("debit") + debit, credit=F("credit") + credit)
        if not updated:
            DimensionBalance.objects.create(
                company=company,
                account_id=account_id,
                dimension=dimension,
                dimension_id=value,
                year=year,
                month=month,
                debit=debit,
                credit=credit,
            )


def entry_post(*, instance: JournalEntry, allow_before_lock: bool = False) -> JournalEntry:
    """Validate, number, hash and freeze a draft; update the monthly balances.

    ``allow_before_lock``: the caller holds ``ledger.post_before_lock`` (chief accountant).
    Numbers come from the journal's sequence row for the fiscal year, locked and bumped in this
    transaction: a failed posting rolls back and consumes no number.
    """
    company = instance.company
    with transaction.atomic():
        entry = _draft_locked(instance)
        lines = list(
            JournalEntryLine.objects.filter(entry=entry)
            .select_related("account")
            .order_by("line_no")
        )
        lines, fx_errors = fx.balance_currencies(entry, lines)
        errors, year = _posting_errors(entry, lines, allow_before_lock)
        _raise(fx_errors | errors)
        if year is None:  # pragma: no cover - _posting_errors reported it
            raise _fail("date", _("No fiscal year covers the date."))
        head, _created = ChainHead.objects.get_or_create(company=company)
        head = ChainHead.objects.select_for_update().get(pk=head.pk)
        number = _lock_sequence(entry, year)
        user = context.current().user
        entry.state = JournalEntry.State.POSTED
        entry.fiscal_year = year
        entry.sequence_number = number
        entry.number = entry.journal.number_format.format(
            code=entry.journal.code, year=year.name, number=number
        )
        entry.posted_at = timezone.now()
        entry.posted_by = user.get_username() if getattr(user, "is_authenticated", False) else ""
        entry.chain_seq = head.seq + 1
        entry.prev_hash = head.hash
        entry.hash_version = hashing.CURRENT_VERSION
        entry.hash = hashing.compute_hash(head.hash, hashing.payload_of(entry, lines))
        entry.save()
        ChainHead.objects.filter(pk=head.pk).update(seq=entry.chain_seq, hash=entry.hash)
        _balances_add(company, entry, lines)
    return entry


def entry_reverse(
    *,
    instance: JournalEntry,
    date: dt.date | None = None,
    description: str = "",
    allow_before_lock: bool = False,
) -> JournalEntry:
    """Post the entry that cancels a posted one (debits and credits swapped), linked to it."""
    with transaction.atomic():
        # The original's row lock makes "reverse once" hold when two people click at once.
        instance = JournalEntry.objects.select_for_update().get(pk=instance.pk)
        if instance.state != JournalEntry.State.POSTED:
            raise _fail(
                "state", _("Only posted entries can be reversed; delete the draft instead.")
            )
        if JournalEntry.objects.filter(reversal_of=instance).exists():
            raise _fail("reversal_of", _("The entry has already been reversed."))
        lines = list(JournalEntryLine.objects.filter(entry=instance).order_by("line_no"))
        reversal = JournalEntry.objects.create(
            company=instance.company,
            journal=instance.journal,
            date=date or instance.date,
            reference=instance.reference,
            description=description or _("Reversal of %(number)s") % {"number": instance.number},
            reversal_of=instance,
        )
        JournalEntryLine.objects.bulk_create(
            JournalEntryLine(
                company=instance.company,
                entry=reversal,
                line_no=line.line_no,
                account_id=line.account_id,
                description=line.description,
                debit=line.credit,
                credit=line.debit,
                currency_id=line.currency_id,
                amount_currency=-line.amount_currency,
                partner=line.partner,
                due_date=line.due_date,
                cost_centre_id=line.cost_centre_id,
                project_id=line.project_id,
            )
            for line in lines
        )
        return entry_post(instance=reversal, allow_before_lock=allow_before_lock)


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainResult:
    ok: bool
    checked: int
    entry_id: int | None = None
    number: str | None = None
    chain_seq: int | None = None
    reason: str = ""


def ledger_verify(*, company: Company, batch_size: int = 500) -> ChainResult:
    """Recompute the company's chain of posted entries; name the first one that does not fit.

    Reasons: ``altered`` (a hashed field of the header or a line changed), ``missing`` (a
    position is empty: deleted), ``broken link`` (prev_hash is not the previous hash:
    inserted or swapped), ``unknown version``, ``head`` (the chain does not end where posting
    left it: the last entries were deleted or some appended outside the service).
    """
    expected_seq, prev_hash, checked, last = 1, hashing.GENESIS_HASH, 0, 0
    posted = JournalEntry.objects.for_company(company).filter(state=JournalEntry.State.POSTED)
    after = 0
    while True:
        batch = list(posted.filter(chain_seq__gt=after).order_by("chain_seq")[:batch_size])
        if not batch:
            break
        lines_by_entry: dict[int, list[JournalEntryLine]] = {}
        for line in JournalEntryLine.objects.filter(entry__in=[e.pk for e in batch]):
            lines_by_entry.setdefault(line.entry_id, []).append(line)
        for entry in batch:

            def bad(reason: str, entry: JournalEntry = entry, done: int = checked) -> ChainResult:
                return ChainResult(False, done, entry.pk, entry.number, entry.chain_seq, reason)

            if entry.chain_seq != expected_seq:
                return bad("missing")
            if entry.prev_hash != prev_hash:
                return bad("broken link")
            try:
                digest = hashing.compute_hash(
                    prev_hash,
                    hashing.payload_of(entry, lines_by_entry.get(entry.pk, [])),
                    entry.hash_version or 0,
                )
            except ValueError:
                return bad("unknown version")
            if digest != entry.hash:
                return bad("altered")
            checked += 1
            expected_seq, prev_hash, last = expected_seq + 1, entry.hash, entry.chain_seq or 0
        after = batch[-1].chain_seq or 0
    head = ChainHead.objects.filter(company=company).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, hashing.GENESIS_HASH)
    if head_seq != last or head_hash != prev_hash:
        return ChainResult(False, checked, None, None, head_seq, "head")
    return ChainResult(True, checked)


def balances_recompute(*, company: Company) -> dict[tuple[int, str, int, int], arithmetic.Movement]:
    """Monthly movements per (account, currency, year, month) from the posted lines."""
    rows = (
        JournalEntryLine.objects.for_company(company)
        .filter(entry__state=JournalEntry.State.POSTED)
        .annotate(y=ExtractYear("entry__date"), m=ExtractMonth("entry__date"))
        .values("account_id", "currency_id", "y", "m")
        .annotate(d=Sum("debit"), c=Sum("credit"), a=Sum("amount_currency"))
    )
    return {
        (r["account_id"], r["currency_id"], r["y"], r["m"]): arithmetic.Movement(
            r["d"] or 0, r["c"] or 0, r["a"] or 0
        )
        for r in rows
    }


def ledger_balances_verify(*, company: Company) -> list[tuple[Any, Any, Any]]:
    """Differences ``(key, stored, recomputed)`` between the monthly balances and the lines."""
    stored = {
        b.as_key(): arithmetic.Movement(b.debit, b.credit, b.amount_currency)
        for b in AccountBalance.objects.for_company(company)
    }
    stored = {k: v for k, v in stored.items() if v != arithmetic.Movement()}
    computed = balances_recompute(company=company)
    differences: list[tuple[Any, Any, Any]] = [
        (key, stored.get(key), computed.get(key))
        for key in sorted(set(stored) | set(computed), key=str)
        if stored.get(key) != computed.get(key)
    ]
    stored_dims = {
        (b.account_id, b.dimension, b.dimension_id, b.year, b.month): (b.debit, b.credit)
        for b in DimensionBalance.objects.for_company(company)
        if b.debit or b.credit
    }
    computed_dims: dict[tuple[int, str, int, int, int], tuple[int, int]] = {}
    posted = (
        JournalEntryLine.objects.for_company(company)
        .filter(entry__state=JournalEntry.State.POSTED)
        .filter(Q(cost_centre__isnull=False) | Q(project__isnull=False))
        .select_related("entry")
        .only("account_id", "cost_centre_id", "project_id", "debit", "credit", "entry__date")
    )
    for line in posted.iterator(chunk_size=2000):
        for key, (debit, credit) in _dimension_moves(line.entry.date, [line]).items():
            before = computed_dims.get(key, (0, 0))
            computed_dims[key] = (before[0] + debit, before[1] + credit)
    differences += [
        (key, stored_dims.get(key), computed_dims.get(key))
        for key in sorted(set(stored_dims) | set(computed_dims), key=str)
        if stored_dims.get(key) != computed_dims.get(key)
    ]
    return differences

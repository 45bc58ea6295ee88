"""Services of the general ledger: the only writers of its tables.

Every service takes keyword-only arguments, validates everything first and raises a
``ValidationError`` naming the field (or ``line N`` for files), then writes in one
transaction. Amounts come in as ``Decimal`` (or their text) in major units and are kept as
integer minor units (:class:`trastienda.core.money.Money`); a float is refused.
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, TypeVar, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Model, Q, Sum
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from trastienda.audit.models import AuditAction
from trastienda.core import context
from trastienda.core.db import analyze_after_commit, bare_instance, rows_insert
from trastienda.core.models import Company
from trastienda.core.money import Money, currency_exponent
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
    DayBalance,
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
ModelT = TypeVar("ModelT", bound=Model)


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
    # The lines' composite key with the company is checked by a lookup on (id, company_id):
    # on a table never analysed, the planner costs the company's index (which reads every
    # account of the company for each line) the same as the exact one, and took it (a
    # million-line import's commit 37 s instead of 16 s).
    analyze_after_commit(len(created), Account, threshold=1)
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
    fx.exchange_accounts_default(company=company, template=template)
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
    *,
    instance: LedgerSettings,
    hard_lock_date: dt.date | None,
    lock_date: dt.date | None,
    **accounts: Account | None,
) -> LedgerSettings:
    """Lock dates and, when given, ``exchange_gain_account`` / ``exchange_loss_account``."""
    _unknown(accounts, ("exchange_gain_account", "exchange_loss_account"))
    if hard_lock_date and lock_date and lock_date < hard_lock_date:
        raise _fail(
            "lock_date",
            _("The lock date for all but chief accountants cannot be before the one for everyone."),
        )
    for name, account in accounts.items():
        if account is not None and (
            account.company_id != instance.company_id or not account.postable
        ):
            raise _fail(name, _("Choose a postable account of this company."))
    with transaction.atomic():
        row = LedgerSettings.objects.select_for_update().get(pk=instance.pk)
        row.hard_lock_date, row.lock_date = hard_lock_date, lock_date
        for name, account in accounts.items():
            setattr(row, name, account)
        row.save()
    return row


# --- journal entries ----------------------------------------------------------------------
#
# One set of rules serves the one-by-one path (entry_create_draft + entry_post) and the bulk
# path (ledger/bulk.py): _Lookups + _parse_line build a line from what the caller gave,
# PostingRules + _posting_problems decide whether an entry may be posted, BalanceMoves keeps
# the monthly, daily and dimension balances, _chain_head_locked + _numbers_take allocate the
# chain position and the journal numbers. Problems are (line number or None, field, message)
# so that each caller keys them its own way (``lines.N`` here, ``line N`` of a file there).

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
_LINE_KEYS = frozenset(LINE_KEYS)
MAX_MINOR = 2**63 - 1  # the amount columns are 64-bit integers
_PLAIN_AMOUNT = re.compile(r"(\d{1,30})(?:\.(\d{1,30}))?")

_EXPONENTS: dict[str, int] = {}  # currency_exponent's answers (ISO data, fixed)
Problem = tuple[int | None, str, str]
"""(line number, or None for the entry; field; message)."""


def _minor(value: Any, currency: str) -> int:
    """``value`` (Decimal, int or text in major units) as integer minor units of ``currency``.

    Plain text such as ``"1234.5"`` is converted with integer arithmetic (imports read
    millions of them); anything else goes through :meth:`Money.from_decimal`. Both are exact,
    refuse floats and refuse more decimals than the currency has.
    """
    if value is None or (type(value) is str and not value):
        return 0
    if type(value) is str:
        match = _PLAIN_AMOUNT.fullmatch(value)
        if match is not None:
            places = _EXPONENTS.get(currency)
            if places is None:
                places = _EXPONENTS[currency] = currency_exponent(currency)
            whole, fraction = match.group(1), match.group(2) or ""
            if len(fraction) <= places:
                return int(whole + fraction.ljust(places, "0"))
    return Money.from_decimal(_decimal(value), currency).minor


class AccountInfo(NamedTuple):
    """What posting needs to know about an account."""

    id: int
    code: str
    postable: bool
    active: bool
    subtype: str

    @classmethod
    def of(cls, account: Account) -> AccountInfo:
        return cls(account.pk, account.code, account.postable, account.active, account.subtype)


ACCOUNT_INFO_SQL = "SELECT id, code, postable, active, subtype FROM ledger_account"


def _account_info(row: Any) -> AccountInfo:
    return AccountInfo(int(row[0]), str(row[1]), bool(row[2]), bool(row[3]), str(row[4] or ""))


def _accounts_by_key(company: Company, values: Iterable[Any]) -> dict[Any, AccountInfo]:
    """The company's accounts named by the lines (codes or ids): one raw query per 2,000
    keys (the import names thousands; one entry a handful)."""
    codes = sorted({str(v).strip() for v in values if isinstance(v, str) and v.strip()})
    ids = sorted({v for v in values if isinstance(v, int) and not isinstance(v, bool)})
    result: dict[Any, AccountInfo] = {}
    with connection.cursor() as cursor:
        for column, keys in (("code", codes), ("id", ids)):
            for start in range(0, len(keys), 2000):
                chunk = keys[start : start + 2000]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"{ACCOUNT_INFO_SQL} WHERE company_id = %s AND {column} IN ({marks})",
                    [company.pk, *chunk],
                )
                for row in cursor.fetchall():
                    info = _account_info(row)
                    result[info.code] = info
                    result[info.id] = info
    return result


def _by_key(model: Any, company: Company, values: Iterable[Any]) -> dict[Any, Any]:
    """The company's cost centres or projects named by code or id, in one query (or none)."""
    codes = {v.strip() for v in values if isinstance(v, str) and v.strip()}
    ids = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
    if not codes and not ids:
        return {}
    result: dict[Any, Any] = {}
    for obj in model.objects.for_company(company).filter(Q(code__in=codes) | Q(pk__in=ids)):
        result[obj.code] = obj
        result[obj.pk] = obj
    return result


_KNOWN_CURRENCIES: set[str] = set()


def _currencies_known(codes: set[str]) -> set[str]:
    """Which of ``codes`` are in the currency table.

    Currencies are reference data that is only ever added to (lines protect the rows they
    use), so a code once seen is remembered for the life of the process; the others are
    looked up. A stale memory could only let through a code whose row was deleted since, and
    the lines' foreign key still refuses that at commit.
    """
    missing = codes - _KNOWN_CURRENCIES
    if missing:
        _KNOWN_CURRENCIES.update(
            Currency.objects.filter(code__in=missing).values_list("code", flat=True)
        )
    return codes & _KNOWN_CURRENCIES


@dataclass
class _Lookups:
    """The company's records that lines name (accounts, currencies, cost centres, projects),
    each kind loaded in one query for any number of lines."""

    company: Company
    accounts: dict[Any, AccountInfo]
    currencies: set[str]
    cost_centres: dict[Any, CostCentre]
    projects: dict[Any, Project]

    @classmethod
    def of(cls, company: Company, raws: Iterable[Mapping[str, Any]]) -> _Lookups:
        accounts: set[Any] = set()
        currencies = {company.base_currency}
        centres: set[Any] = set()
        projects: set[Any] = set()
        for raw in raws:
            accounts.add(raw.get("account"))
            currencies.add(str(raw.get("currency") or company.base_currency).upper())
            centres.add(raw.get("cost_centre"))
            projects.add(raw.get("project"))
        accounts.discard(None)
        return cls(
            company=company,
            accounts=_accounts_by_key(company, [a for a in accounts if not isinstance(a, Account)]),
            currencies=_currencies_known(currencies),
            cost_centres=_by_key(CostCentre, company, centres),
            projects=_by_key(Project, company, projects),
        )

    @classmethod
    def for_company(cls, company: Company) -> _Lookups:
        """Every account, cost centre and project of the company and every currency: for
        the bulk path, which reads its entries as a stream (a chart has hundreds of rows)."""
        accounts: dict[Any, AccountInfo] = {}
        with connection.cursor() as cursor:
            cursor.execute(f"{ACCOUNT_INFO_SQL} WHERE company_id = %s", [company.pk])
            for row in cursor.fetchall():
                info = _account_info(row)
                accounts[info.code] = info
                accounts[info.id] = info
        tables: list[dict[Any, Any]] = []
        for model in (CostCentre, Project):
            table: dict[Any, Any] = {}
            for obj in model.objects.for_company(company):
                table[obj.code] = table[obj.pk] = obj
            tables.append(table)
        currencies = set(Currency.objects.values_list("code", flat=True))
        _KNOWN_CURRENCIES.update(currencies)
        return cls(company, accounts, currencies, tables[0], tables[1])

    def _find(self, value: Any, model: Any, table: dict[Any, Any]) -> Any:
        if type(value) is str:
            return table.get(value.strip())
        if isinstance(value, model):
            return value if value.company_id == self.company.pk else None
        return table.get(value.strip() if isinstance(value, str) else value)

    def account(self, value: Any) -> AccountInfo | None:
        if type(value) is str:
            return self.accounts.get(value.strip())
        if isinstance(value, Account):
            return AccountInfo.of(value) if value.company_id == self.company.pk else None
        return self.accounts.get(value.strip() if isinstance(value, str) else value)

    def cost_centre(self, value: Any) -> CostCentre | None:
        return cast(CostCentre | None, self._find(value, CostCentre, self.cost_centres))

    def project(self, value: Any) -> Project | None:
        return cast(Project | None, self._find(value, Project, self.projects))


def _amount_problem(value: Any, currency: str) -> str:
    """Why ``value`` is not an amount of ``currency`` (after :func:`_minor` refused it)."""
    try:
        places = currency_exponent(currency)
        number = _decimal(value)
    except (ValueError, ArithmeticError):
        return _("Invalid amount %(value)s: enter a number such as 1234.56.") % {"value": value}
    if not number.is_finite():
        return _("Invalid amount %(value)s: enter a number such as 1234.56.") % {"value": value}
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return _("Invalid amount %(value)s: %(currency)s has %(places)d decimal places.") % {
            "value": value,
            "currency": currency,
            "places": places,
        }
    return _("Invalid amount %(value)s: out of range.") % {"value": value}


def _parse_line(
    raw: Mapping[str, Any], lookups: _Lookups
) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The field values of a line from what the caller gave (codes, decimal text), and its
    problems as ``(field, message)``; values are None when there is any problem.

    Runs once per line of an import (a million times): kept lean on purpose."""
    base = lookups.company.base_currency
    problems: list[tuple[str, str]] = []
    if not raw.keys() <= _LINE_KEYS:
        unknown = ", ".join(sorted(raw.keys() - _LINE_KEYS))
        problems.append(("line", _("Unknown field %(name)s.") % {"name": unknown}))
    given_account = raw.get("account")
    account = lookups.account(given_account)
    if account is None:
        problems.append(
            ("account", _("Unknown account %(code)s.") % {"code": given_account or "-"})
        )
    given_currency = raw.get("currency")
    currency = str(given_currency).upper() if given_currency else base
    if currency not in lookups.currencies:
        problems.append(("currency", _("Unknown currency %(code)s.") % {"code": currency}))
    invalid = False
    try:
        debit = _minor(raw.get("debit"), base)
    except (ValueError, ArithmeticError):
        debit, invalid = 0, True
        problems.append(("debit", _amount_problem(raw.get("debit"), base)))
    try:
        credit = _minor(raw.get("credit"), base)
    except (ValueError, ArithmeticError):
        credit, invalid = 0, True
        problems.append(("credit", _amount_problem(raw.get("credit"), base)))
    given = raw.get("amount_currency")
    amount = 0
    try:
        if currency == base:
            amount = debit - credit
            if given not in (None, "") and _minor(given, base) != amount:
                problems.append(
                    ("amount_currency", _("In the company currency the amount is debit - credit."))
                )
        elif given in (None, ""):
            problems.append(
                ("amount_currency", _("Enter the amount in %(code)s.") % {"code": currency})
            )
        elif currency in lookups.currencies:  # an unknown currency is reported above
            amount = _minor(given, currency)
    except (ValueError, ArithmeticError):
        invalid = True
        problems.append(("amount_currency", _amount_problem(given, currency)))
    if debit < 0 or credit < 0:
        problems.append(("debit", _("Debit and credit cannot be negative.")))
    if debit and credit:
        problems.append(("debit", _("A line is either a debit or a credit.")))
    if not debit and not credit and not invalid:
        problems.append(("debit", _("Enter a debit or a credit.")))
    if debit > MAX_MINOR or credit > MAX_MINOR or abs(amount) > MAX_MINOR:
        problems.append(("debit", _("The amount is too large.")))
    cost_centre = project = None
    given_centre = raw.get("cost_centre")
    if given_centre is not None and given_centre != "":
        cost_centre = lookups.cost_centre(given_centre)
        if cost_centre is None:
            problems.append(("cost_centre", _("Unknown cost centre.")))
    given_project = raw.get("project")
    if given_project is not None and given_project != "":
        project = lookups.project(given_project)
        if project is None:
            problems.append(("project", _("Unknown project.")))
    due = raw.get("due_date") or None
    if due is not None and not isinstance(due, dt.date):
        try:
            due = dt.date.fromisoformat(str(due))
        except ValueError:
            problems.append(("due_date", _("The due date is not YYYY-MM-DD.")))
    if problems:
        return None, problems
    description = raw.get("description")
    partner = raw.get("partner")
    return {
        "account_id": cast(AccountInfo, account).id,
        "description": str(description)[:300] if description else "",
        "debit": debit,
        "credit": credit,
        "currency_id": currency,
        "amount_currency": amount,
        "partner": str(partner).strip()[:200] if partner else "",
        "due_date": due,
        "cost_centre_id": cost_centre.pk if cost_centre is not None else None,
        "project_id": project.pk if project is not None else None,
    }, problems


def _build_lines(
    company: Company, lines: Iterable[Mapping[str, Any]]
) -> tuple[list[JournalEntryLine], dict[str, list[str]]]:
    built: list[JournalEntryLine] = []
    errors: dict[str, list[str]] = {}
    lines = list(lines)
    lookups = _Lookups.of(company, lines)  # one query per kind, not one per line
    for n, raw in enumerate(lines, start=1):
        values, problems = _parse_line(raw, lookups)
        if values is None:
            errors[f"lines.{n}"] = [message for _field, message in problems]
            continue
        built.append(
            bare_instance(JournalEntryLine, {"company_id": company.pk, "line_no": n, **values})
        )
    return built, errors


LINE_COLUMNS = (
    *("company_id", "entry_id", "line_no", "account_id", "description", "debit", "credit"),
    *("currency_id", "amount_currency", "partner", "due_date", "cost_centre_id", "project_id"),
    *("date", "chain_seq"),
)


def _line_row(line: Any, adapt_date: Any) -> tuple[Any, ...]:
    return (
        line.company_id,
        line.entry_id,
        line.line_no,
        line.account_id,
        line.description,
        line.debit,
        line.credit,
        line.currency_id,
        line.amount_currency,
        line.partner,
        adapt_date(line.due_date) if line.due_date is not None else None,
        line.cost_centre_id,
        line.project_id,
        adapt_date(line.date) if line.date is not None else None,
        line.chain_seq,
    )


def _lines_insert(lines: Iterable[Any]) -> None:
    """Insert journal entry lines (model instances or the bulk path's) without the ORM;
    lines are not audited one by one (their entry is), as with ``bulk_create`` before."""
    adapt = connection.ops.adapt_datefield_value
    rows_insert(JournalEntryLine._meta.db_table, LINE_COLUMNS, (_line_row(x, adapt) for x in lines))


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
    return _entry_create(company, journal, date, reference, description, lines, audit=True)


def entry_create_posted(
    *,
    company: Company,
    journal: Journal,
    date: dt.date,
    reference: str = "",
    description: str = "",
    lines: Iterable[Mapping[str, Any]] = (),
    allow_before_lock: bool = False,
) -> JournalEntry:
    """Create an entry and post it, in one transaction: the draft never shows, and the audit
    trail has one creation event carrying the posted fields (number, chain position, hash)
    instead of a creation and an update. Validation is :func:`entry_post`'s; on any error
    nothing is written and no number is consumed."""
    with transaction.atomic():  # the inner steps join it: no savepoints (any error undoes all)
        draft = _entry_create(
            company, journal, date, reference, description, lines, audit=False, savepoint=False
        )
        return _entry_post(draft, allow_before_lock, created=True, savepoint=False)


def _entry_create(
    company: Company,
    journal: Journal,
    date: dt.date,
    reference: str,
    description: str,
    lines: Iterable[Mapping[str, Any]],
    *,
    audit: bool,
    savepoint: bool = True,
) -> JournalEntry:
    errors = _header_errors(company, journal, date)
    built, line_errors = _build_lines(company, list(lines))
    errors.update(line_errors)
    _raise(errors)
    entry = JournalEntry(
        company=company,
        journal=journal,
        date=date,
        reference=(reference or "").strip(),
        description=(description or "").strip(),
        created_at=timezone.now(),
    )
    with transaction.atomic(savepoint=savepoint):
        _entry_insert(entry)
        if audit:
            _audit_entry(AuditAction.CREATE, entry, _created_fields(entry))
        for line in built:
            line.entry_id = entry.pk
        _lines_insert(built)
    return entry


ENTRY_INSERT_COLUMNS = (
    *("company_id", "journal_id", "date", "reference", "description", "state", "external_id"),
    *("posted_by", "prev_hash", "hash", "created_at"),
)


def _entry_insert(entry: JournalEntry) -> None:
    """Insert a new draft with one plain ``INSERT ... RETURNING id`` (the ORM's ``create``
    costs more than the statement; the caller audits the creation)."""
    ops = connection.ops
    values = [
        ops.adapt_datefield_value(entry.date)
        if name == "date"
        else ops.adapt_datetimefield_value(entry.created_at)
        if name == "created_at"
        else getattr(entry, name)
        for name in ENTRY_INSERT_COLUMNS
    ]
    names = ", ".join(ENTRY_INSERT_COLUMNS)
    marks = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        sql = f"INSERT INTO ledger_journalentry ({names}) VALUES ({marks}) RETURNING id"  # noqa: S608
        cursor.execute(sql, values)
        entry.pk = int(cursor.fetchone()[0])
    entry._state.adding = False
    entry._state.db = connection.alias


def _created_fields(entry: JournalEntry) -> dict[str, list[Any]]:
    """``{field: [None, value]}`` of a new entry's non-empty fields, as the audit recorder
    writes a creation."""
    return {
        field.name: [None, getattr(entry, field.attname)]
        for field in JournalEntry._meta.concrete_fields
        if not field.primary_key
        and field.name != "created_at"
        and getattr(entry, field.attname) not in (None, "")
    }


def _audit_entry(action: str, entry: JournalEntry, changes: Mapping[str, list[Any]]) -> None:
    """Audit a change of ``entry`` written with plain SQL (no model signal sees it) exactly as
    the recorder audits an ORM save: same action, object, ``{field: [before, after]}`` and
    source."""
    from trastienda.audit.services import audit_log

    source = context.current().source
    audit_log(
        action=action, obj=entry, changes=changes, extra={"source": source} if source else None
    )


def _draft_locked(instance: JournalEntry) -> JournalEntry:
    entry = (
        JournalEntry.objects.select_for_update(of=("self",))
        .select_related("journal")
        .get(pk=instance.pk)
    )
    if entry.state != JournalEntry.State.DRAFT:
        raise ValidationError(
            {"state": [_("Entry %(number)s is posted: reverse it instead.") % {"number": entry}]}
        )
    if instance.company_id == entry.company_id and JournalEntry.company.is_cached(instance):
        entry.company = instance.company  # spare a query; the same row
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
                line.entry_id = entry.pk
            _lines_insert(built)
    return entry


def entry_delete_draft(*, instance: JournalEntry) -> None:
    with transaction.atomic():
        entry = _draft_locked(instance)
        JournalEntryLine.objects.filter(entry=entry).delete()
        entry.delete()


def _as_core(lines: Iterable[Any]) -> tuple[arithmetic.Line, ...]:
    return tuple(
        arithmetic.Line(x.account_id, x.debit, x.credit, x.currency_id, x.amount_currency)
        for x in lines
    )


def _to_date(value: Any) -> dt.date | None:
    """A date column read with a raw cursor (SQLite returns ISO text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _to_datetime(value: Any) -> dt.datetime | None:
    """A datetime column read with a raw cursor (SQLite returns naive UTC text)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)


def _date(value: Any) -> dt.date:
    """A NOT NULL date column read with a raw cursor."""
    return cast(dt.date, _to_date(value))


@dataclass(frozen=True)
class FiscalYearRule:
    """A fiscal year as posting sees it: its dates, whether it is open, and its periods."""

    id: int
    name: str
    start_date: dt.date
    end_date: dt.date
    open: bool
    periods: tuple[tuple[dt.date, dt.date, bool], ...]  # (start, end, open)


class PostingRules:
    """What posting checks about a date: the fiscal year and period covering it, and the lock
    dates. Loaded for one date by :func:`entry_post` (one query) or for every year of the
    company by the bulk path; :meth:`check` is pure and remembers its answers per date."""

    def __init__(
        self,
        years: Iterable[FiscalYearRule],
        hard_lock_date: dt.date | None,
        lock_date: dt.date | None,
    ) -> None:
        self.years = tuple(sorted(years, key=lambda y: y.start_date, reverse=True))
        self.hard_lock_date = hard_lock_date
        self.lock_date = lock_date
        self._checked: dict[tuple[dt.date, bool], tuple[FiscalYearRule | None, str | None]] = {}

    def key(self) -> tuple[Any, ...]:
        """Everything the rules depend on (to tell whether they changed since loaded)."""
        return (self.years, self.hard_lock_date, self.lock_date)

    @classmethod
    def for_company(cls, company: Company) -> PostingRules:
        periods: dict[int, list[tuple[dt.date, dt.date, bool]]] = {}
        for year_id, start, end, state in (
            Period.objects.for_company(company)
            .order_by("start_date")
            .values_list("fiscal_year_id", "start_date", "end_date", "state")
        ):
            periods.setdefault(year_id, []).append((start, end, state == Period.State.OPEN))
        years = [
            FiscalYearRule(
                pk, name, start, end, state == FiscalYear.State.OPEN, tuple(periods.get(pk, ()))
            )
            for pk, name, start, end, state in FiscalYear.objects.for_company(company).values_list(
                "pk", "name", "start_date", "end_date", "state"
            )
        ]
        locks = (
            LedgerSettings.objects.for_company(company)
            .values_list("hard_lock_date", "lock_date")
            .first()
        )
        return cls(years, *(locks or (None, None)))

    @classmethod
    def for_date(cls, company: Company, date: dt.date) -> PostingRules:
        """The fiscal years covering ``date`` with the period of ``date``, and the lock dates:
        one raw query (posting one entry runs it every time; the ORM would cost more than the
        query itself)."""
        day = connection.ops.adapt_datefield_value(date)
        sql = (
            "SELECT fy.id, fy.name, fy.start_date, fy.end_date, fy.state,"
            " p.start_date, p.end_date, p.state, s.hard_lock_date, s.lock_date"
            " FROM ledger_fiscalyear fy"
            " LEFT JOIN ledger_period p"
            "  ON p.fiscal_year_id = fy.id AND p.start_date <= %s AND p.end_date >= %s"
            " LEFT JOIN ledger_ledgersettings s ON s.company_id = fy.company_id"
            " WHERE fy.company_id = %s AND fy.start_date <= %s AND fy.end_date >= %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [day, day, company.pk, day, day])
            rows = cursor.fetchall()
        years: dict[int, FiscalYearRule] = {}
        hard = soft = None
        for row in rows:
            pk, name, start, end, state, p_start, p_end, p_state, hard, soft = row
            periods = years[pk].periods if pk in years else ()
            if p_start is not None:
                period = (_date(p_start), _date(p_end), p_state == Period.State.OPEN)
                periods = (*periods, period)
            years[pk] = FiscalYearRule(
                pk, name, _date(start), _date(end), state == FiscalYear.State.OPEN, periods
            )
        return cls(years.values(), _to_date(hard), _to_date(soft))

    def check(
        self, date: dt.date, allow_before_lock: bool
    ) -> tuple[FiscalYearRule | None, str | None]:
        """The fiscal year of ``date`` and what forbids posting on it (None when nothing)."""
        key = (date, allow_before_lock)
        if key not in self._checked:
            self._checked[key] = self._check(date, allow_before_lock)
        return self._checked[key]

    def _check(
        self, date: dt.date, allow_before_lock: bool
    ) -> tuple[FiscalYearRule | None, str | None]:
        year = next((y for y in self.years if y.start_date <= date <= y.end_date), None)
        if year is None:
            return None, _("No fiscal year covers %(date)s.") % {"date": date}
        if not year.open:
            return year, _("Fiscal year %(name)s is closed.") % {"name": year.name}
        period = next((p for p in year.periods if p[0] <= date <= p[1]), None)
        if period is None or not period[2]:
            return year, _("The period of %(date)s is closed.") % {"date": date}
        if self.hard_lock_date and date <= self.hard_lock_date:
            return year, _("The books are locked up to %(date)s.") % {"date": self.hard_lock_date}
        if self.lock_date and date <= self.lock_date and not allow_before_lock:
            return year, _(
                "The books are locked up to %(date)s; only chief accountants post there."
            ) % {"date": self.lock_date}
        return year, None


DATE_CONFLICT = "conflict"
"""Code of the date problems that are conflicts with the state of the books (closed or locked
period), not faults of the entry: the API answers them with 409."""


def _posting_problems(
    rules: PostingRules,
    *,
    date: dt.date | None,
    journal_active: bool,
    lines: Sequence[Any],
    accounts: Mapping[int, AccountInfo],
    base_currency: str,
    allow_before_lock: bool,
) -> tuple[list[Problem], FiscalYearRule | None]:
    """Everything that forbids posting an entry with these lines on ``date``.

    ``accounts`` gives the lines' accounts by id (a line missing there, such as an exchange
    difference line added by :func:`fx.balance_currencies`, is looked up on the line). Lines
    are model instances or any object with their attributes (the bulk path's). Without a
    ``date`` (the caller reported it unreadable) the date is not checked.
    """
    problems: list[Problem] = []
    if len(lines) < 2:
        problems.append((None, "lines", _("An entry needs at least two lines.")))
    core_lines = _as_core(lines)
    diff = arithmetic.imbalance(core_lines)
    if diff:
        problems.append(
            (
                None,
                "lines",
                _("The entry does not balance: debit - credit = %(diff)s %(currency)s.")
                % {"diff": Money(diff, base_currency).to_decimal(), "currency": base_currency},
            )
        )
    for line, core_line in zip(lines, core_lines, strict=True):
        account = accounts.get(line.account_id) or AccountInfo.of(line.account)
        if not account.postable:
            problems.append(
                (
                    line.line_no,
                    "account",
                    _("Account %(code)s is a group: choose a postable account.")
                    % {"code": account.code},
                )
            )
        if not account.active:
            problems.append(
                (
                    line.line_no,
                    "account",
                    _("Account %(code)s is archived.") % {"code": account.code},
                )
            )
        if account.subtype in PARTNER_SUBTYPES and not line.partner:
            problems.append(
                (
                    line.line_no,
                    "partner",
                    _("Account %(code)s needs a partner.") % {"code": account.code},
                )
            )
        if arithmetic.line_errors(core_line):
            problems.append((line.line_no, "debit", _("Enter a debit or a credit.")))
    year, date_problem = rules.check(date, allow_before_lock) if date else (None, None)
    if date_problem:
        problems.append((None, "date", date_problem))
    if not journal_active:
        problems.append((None, "journal", _("The journal is not active.")))
    return problems, year


def _problems_by_field(problems: Iterable[Problem]) -> dict[str, list[str]]:
    """Problems keyed like the entry's fields: ``lines.N`` for a line, else the field."""
    errors: dict[str, list[str]] = {}
    for line_no, field, message in problems:
        errors.setdefault(f"lines.{line_no}" if line_no else field, []).append(message)
    return errors


def _posting_errors(
    entry: JournalEntry,
    lines: list[JournalEntryLine],
    allow_before_lock: bool,
    accounts: Mapping[int, AccountInfo] | None = None,
) -> tuple[dict[str, list[str]], FiscalYearRule | None]:
    problems, year = _posting_problems(
        PostingRules.for_date(entry.company, entry.date),
        date=entry.date,
        journal_active=entry.journal.active,
        lines=lines,
        accounts=accounts or {},
        base_currency=entry.company.base_currency,
        allow_before_lock=allow_before_lock,
    )
    return _problems_by_field(problems), year


def _chain_head_locked(company: Company) -> tuple[int, str]:
    """``(seq, hash)`` of the company's chain head, its row locked until commit (created on
    first use). Posting takes this lock first: it serialises posting per company."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT seq, hash FROM ledger_chainhead WHERE company_id = %s{lock}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [company.pk])
        row = cursor.fetchone()
        if row is None:
            ChainHead.objects.get_or_create(company=company)
            cursor.execute(sql, [company.pk])
            row = cursor.fetchone()
    return int(row[0]), str(row[1])


def _chain_head_move(company: Company, seq: int, digest: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_chainhead SET seq = %s, hash = %s WHERE company_id = %s",
            [seq, digest, company.pk],
        )


def _numbers_take(company: Company, journal_id: int, year_id: int, count: int = 1) -> int:
    """Take the next ``count`` numbers of a journal in a fiscal year; returns the first.

    The sequence row is bumped with one ``UPDATE ... RETURNING`` (which locks it until
    commit) and created on first use: never ``max() + 1``. A rolled-back posting gives its
    numbers back. Called after :func:`_chain_head_locked` (fixed lock order: no deadlock).
    """
    sql = (
        "UPDATE ledger_journalsequence SET last_number = last_number + %s"
        " WHERE journal_id = %s AND fiscal_year_id = %s RETURNING last_number"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, journal_id, year_id])
        row = cursor.fetchone()
        if row is None:
            try:
                with transaction.atomic():
                    JournalSequence.objects.create(
                        company=company, journal_id=journal_id, fiscal_year_id=year_id
                    )
            except IntegrityError:
                pass  # created by a concurrent posting: bump it below
            cursor.execute(sql, [count, journal_id, year_id])
            row = cursor.fetchone()
    return int(row[0]) - count + 1


def _lock_sequence(entry: JournalEntry, year: FiscalYearRule) -> int:
    """The next number of the entry's journal in ``year``."""
    return _numbers_take(entry.company, entry.journal_id, year.id)


Moves = dict[tuple[int, str, int, int], list[int]]  # (account, currency, y, m) -> [d, c, amt, n]
DimensionMoves = dict[tuple[int, str, int, int, int], list[int]]  # (.., dim, id, y, m) -> [d, c]
DayMoves = dict[tuple[int, dt.date], list[int]]  # (account, date) -> [d, c, n]


@dataclass
class BalanceMoves:
    """What posting adds to the balances: per month (:class:`AccountBalance`), per month and
    dimension (:class:`DimensionBalance`) and per day (:class:`DayBalance`)."""

    months: Moves = dataclasses.field(default_factory=dict)
    dimensions: DimensionMoves = dataclasses.field(default_factory=dict)
    days: DayMoves = dataclasses.field(default_factory=dict)

    def add(self, date: dt.date, lines: Iterable[Any]) -> None:
        """Add the lines of an entry dated ``date``."""
        months, dimensions, days = self.months, self.dimensions, self.days
        year, month = date.year, date.month
        for line in lines:
            key = (line.account_id, line.currency_id, year, month)
            move = months.get(key)
            if move is None:
                months[key] = [line.debit, line.credit, line.amount_currency, 1]
            else:
                move[0] += line.debit
                move[1] += line.credit
                move[2] += line.amount_currency
                move[3] += 1
            day_key = (line.account_id, date)
            day = days.get(day_key)
            if day is None:
                days[day_key] = [line.debit, line.credit, 1]
            else:
                day[0] += line.debit
                day[1] += line.credit
                day[2] += 1
            for dimension, value in (
                (COST_CENTRE, line.cost_centre_id),
                (PROJECT, line.project_id),
            ):
                if value is None:
                    continue
                dim_key = (line.account_id, dimension, value, year, month)
                dim = dimensions.get(dim_key)
                if dim is None:
                    dimensions[dim_key] = [line.debit, line.credit]
                else:
                    dim[0] += line.debit
                    dim[1] += line.credit

    def apply(self, company: Company) -> None:
        """Add the movements to the balance tables (in the caller's transaction)."""
        _add_rows(
            AccountBalance._meta.db_table,
            BALANCE_COLUMNS,
            ("account_id", "currency_id", "year", "month"),
            [(company.pk, *key, *move) for key, move in sorted(self.months.items())],
        )
        _add_rows(
            DayBalance._meta.db_table,
            DAY_COLUMNS,
            ("account_id", "date"),
            [(company.pk, *key, *move) for key, move in sorted(self.days.items())],
        )
        _add_rows(
            DimensionBalance._meta.db_table,
            DIMENSION_COLUMNS,
            ("account_id", "dimension", "dimension_id", "year", "month"),
            [(company.pk, *key, *move) for key, move in sorted(self.dimensions.items())],
        )


COST_CENTRE = str(DimensionBalance.Dimension.COST_CENTRE)
PROJECT = str(DimensionBalance.Dimension.PROJECT)


def _add_rows(table: str, columns: tuple[str, ...], keys: tuple[str, ...], rows: list[Any]) -> None:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` adding the non-key amounts: one statement
    per 500 rows (SQLite 3.24+ and PostgreSQL alike)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    added = [c for c in columns if c not in keys and c != "company_id"]
    names = ", ".join(quote(c) for c in columns)
    head = f"INSERT INTO {quote(table)} ({names}) VALUES "  # noqa: S608
    sums = ", ".join(f"{quote(c)} = {quote(table)}.{quote(c)} + excluded.{quote(c)}" for c in added)
    tail = f" ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {sums}"
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            params = [value for row in chunk for value in row]
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)


BALANCE_COLUMNS = (
    *("company_id", "account_id", "currency_id", "year", "month"),
    *("debit", "credit", "amount_currency", "lines"),
)
DIMENSION_COLUMNS = (
    *("company_id", "account_id", "dimension", "dimension_id", "year", "month"),
    *("debit", "credit"),
)
DAY_COLUMNS = ("company_id", "account_id", "date", "debit", "credit", "lines")


def _balances_add(entry: JournalEntry, lines: list[JournalEntryLine]) -> None:
    moves = BalanceMoves()
    moves.add(entry.date, lines)
    moves.apply(entry.company)


def _dimension_moves(
    entry_date: dt.date, lines: Iterable[JournalEntryLine]
) -> dict[tuple[int, str, int, int, int], tuple[int, int]]:
    """(account, dimension, dimension id, year, month) -> (debit, credit) of the lines."""
    moves = BalanceMoves()
    moves.add(entry_date, lines)
    return {key: (move[0], move[1]) for key, move in moves.dimensions.items()}


POSTING_FIELDS = (
    *(("state", "state"), ("fiscal_year", "fiscal_year_id")),
    *(("sequence_number", "sequence_number"), ("number", "number")),
    *(("posted_at", "posted_at"), ("posted_by", "posted_by"), ("chain_seq", "chain_seq")),
    *(("prev_hash", "prev_hash"), ("hash", "hash"), ("hash_version", "hash_version")),
)
"""The fields posting sets (name, column) on a draft: one ``UPDATE`` writes them."""


def _entries_mark_posted(entries: list[JournalEntry]) -> None:
    """Write the posting fields of drafts numbered and hashed in memory (the row triggers let
    a draft become posted, and refuse any later change), after copying the date and chain
    position onto their lines (while the entries are still drafts)."""
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE ledger_journalentryline SET date = %s, chain_seq = %s WHERE entry_id = %s",
            [(ops.adapt_datefield_value(e.date), e.chain_seq, e.pk) for e in entries],
        )
    columns = [attname for _name, attname in POSTING_FIELDS]
    sets = ", ".join(f"{column} = %s" for column in columns)
    rows = [
        [
            ops.adapt_datetimefield_value(value) if column == "posted_at" else value
            for column, value in ((c, getattr(entry, c)) for c in columns)
        ]
        + [entry.pk]
        for entry in entries
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE ledger_journalentry SET {sets} WHERE id = %s",  # noqa: S608
            rows,
        )


ENTRY_SELECT = (
    "SELECT e.id, e.company_id, e.journal_id, e.date, e.reference, e.description, e.state,"
    " e.source_document_id, e.external_id, e.fiscal_year_id, e.sequence_number, e.number,"
    " e.reversal_of_id, e.posted_at, e.posted_by, e.chain_seq, e.prev_hash, e.hash,"
    " e.hash_version, j.code, j.number_format, j.active"
    " FROM ledger_journalentry e JOIN ledger_journal j ON j.id = e.journal_id WHERE e.id = %s"
)
_ENTRY_FIELDS = (
    *("id", "company_id", "journal_id", "date", "reference", "description", "state"),
    *("source_document_id", "external_id", "fiscal_year_id", "sequence_number", "number"),
    *("reversal_of_id", "posted_at", "posted_by", "chain_seq", "prev_hash", "hash"),
    "hash_version",
)


def _draft_for_posting(instance: JournalEntry) -> JournalEntry:
    """The draft ``instance`` as stored, its row locked until commit, with its journal.

    One plain query instead of the ORM's (posting one entry at a time runs it every time);
    ``created_at`` is left deferred. Raises ValidationError when it is posted already.
    """
    lock = " FOR UPDATE OF e" if connection.features.has_select_for_update_of else ""
    with connection.cursor() as cursor:
        cursor.execute(ENTRY_SELECT + lock, [instance.pk])
        row = cursor.fetchone()
    if row is None:
        raise JournalEntry.DoesNotExist(f"journal entry {instance.pk} does not exist")
    values = list(row[: len(_ENTRY_FIELDS)])
    values[3] = _date(values[3])
    values[13] = _to_datetime(values[13])
    entry = JournalEntry.from_db(connection.alias, _ENTRY_FIELDS, values)
    if entry.state != JournalEntry.State.DRAFT:
        raise ValidationError(
            {"state": [_("Entry %(number)s is posted: reverse it instead.") % {"number": entry}]}
        )
    code, number_format, active = row[len(_ENTRY_FIELDS) :]
    entry.journal = Journal.from_db(
        connection.alias,
        ("id", "company_id", "code", "number_format", "active"),
        [entry.journal_id, entry.company_id, code, number_format, bool(active)],
    )
    if instance.company_id == entry.company_id and JournalEntry.company.is_cached(instance):
        entry.company = instance.company  # the same row: spare a query
    return entry


_LINE_ATTNAMES = ("id", *LINE_COLUMNS)
LINE_SELECT = (
    "SELECT "  # noqa: S608 - column names from the code
    + ", ".join(f"l.{name}" for name in _LINE_ATTNAMES)
    + ", a.id, a.code, a.postable, a.active, a.subtype"
    " FROM ledger_journalentryline l JOIN ledger_account a ON a.id = l.account_id"
    " WHERE l.entry_id = %s ORDER BY l.line_no"
)


def _lines_of(entry: JournalEntry) -> tuple[list[JournalEntryLine], dict[int, AccountInfo]]:
    """The stored lines of ``entry`` (read-only instances) and their accounts, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(LINE_SELECT, [entry.pk])
        rows = cursor.fetchall()
    lines: list[JournalEntryLine] = []
    accounts: dict[int, AccountInfo] = {}
    for row in rows:
        width = len(_LINE_ATTNAMES)
        values = dict(zip(_LINE_ATTNAMES, row[:width], strict=True))
        values["due_date"] = _to_date(values["due_date"])
        values["date"] = _to_date(values["date"])
        lines.append(bare_instance(JournalEntryLine, values))
        info = _account_info(row[width:])
        accounts[info.id] = info
    return lines, accounts


def entry_post(*, instance: JournalEntry, allow_before_lock: bool = False) -> JournalEntry:
    """Validate, number, hash and freeze a draft; update the monthly balances.

    ``allow_before_lock``: the caller holds ``ledger.post_before_lock`` (chief accountant).
    Numbers come from the journal's sequence row for the fiscal year, locked and bumped in this
    transaction: a failed posting rolls back and consumes no number.
    """
    return _entry_post(instance, allow_before_lock, created=False)


def _entry_post(
    instance: JournalEntry, allow_before_lock: bool, *, created: bool, savepoint: bool = True
) -> JournalEntry:
    """:func:`entry_post`; ``created``: the draft was inserted, unaudited, in this transaction
    (:func:`entry_create_posted`), so the posting is audited as its creation."""
    company = instance.company
    with transaction.atomic(savepoint=savepoint):
        entry = _draft_for_posting(instance)
        lines, accounts = _lines_of(entry)
        lines, fx_errors = fx.balance_currencies(entry, lines)
        errors, year = _posting_errors(entry, lines, allow_before_lock, accounts)
        _raise(fx_errors | errors)
        if year is None:  # pragma: no cover - _posting_errors reported it
            raise _fail("date", _("No fiscal year covers the date."))
        head_seq, head_hash = _chain_head_locked(company)
        number = _lock_sequence(entry, year)
        user = context.current().user
        before = {name: getattr(entry, attname) for name, attname in POSTING_FIELDS}
        entry.state = JournalEntry.State.POSTED
        entry.fiscal_year_id = year.id
        entry.sequence_number = number
        entry.number = entry.journal.number_format.format(
            code=entry.journal.code, year=year.name, number=number
        )
        entry.posted_at = timezone.now()
        entry.posted_by = user.get_username() if getattr(user, "is_authenticated", False) else ""
        entry.chain_seq = head_seq + 1
        entry.prev_hash = head_hash
        entry.hash_version = hashing.CURRENT_VERSION
        entry.hash = hashing.compute_hash(head_hash, hashing.payload_of(entry, lines))
        _entries_mark_posted([entry])
        if created:
            _audit_entry(AuditAction.CREATE, entry, _created_fields(entry))
        else:
            changes = {
                name: [before[name], getattr(entry, attname)]
                for name, attname in POSTING_FIELDS
                if before[name] != getattr(entry, attname)
            }
            _audit_entry(AuditAction.UPDATE, entry, changes)
        _chain_head_move(company, entry.chain_seq, entry.hash)
        _balances_add(entry, lines)
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
    # Rows as named tuples, not model instances: the same values (the same converters read
    # them), at a fraction of the cost of building and snapshotting a model per row.
    entry_fields = ("id", "prev_hash", "hash", "hash_version", *hashing.HEADER_FIELDS)
    line_fields = ("entry_id", "date", "chain_seq", *hashing.LINE_FIELDS)
    after = 0
    while True:
        batch = list(
            posted.filter(chain_seq__gt=after)
            .order_by("chain_seq")
            .values_list(*entry_fields, named=True)[:batch_size]
        )
        if not batch:
            break
        lines_by_entry: dict[int, list[Any]] = {}
        for line in JournalEntryLine.objects.filter(entry__in=[e.id for e in batch]).values_list(
            *line_fields, named=True
        ):
            lines_by_entry.setdefault(line.entry_id, []).append(line)
        for entry in batch:

            def bad(reason: str, entry: Any = entry, done: int = checked) -> ChainResult:
                return ChainResult(False, done, entry.id, entry.number, entry.chain_seq, reason)

            if entry.chain_seq != expected_seq:
                return bad("missing")
            if entry.prev_hash != prev_hash:
                return bad("broken link")
            lines = lines_by_entry.get(entry.id, [])
            try:
                digest = hashing.compute_hash(
                    prev_hash, hashing.payload_of(entry, lines), entry.hash_version or 0
                )
            except ValueError:
                return bad("unknown version")
            if digest != entry.hash or any(
                line.date != entry.date or line.chain_seq != entry.chain_seq for line in lines
            ):
                return bad("altered")  # the lines' copies of date and position count too
            checked += 1
            expected_seq, prev_hash, last = expected_seq + 1, entry.hash, entry.chain_seq or 0
        after = batch[-1].chain_seq or 0
    head = ChainHead.objects.filter(company=company).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, hashing.GENESIS_HASH)
    if head_seq != last or head_hash != prev_hash:
        return ChainResult(False, checked, None, None, head_seq, "head")
    stray = (  # a draft's line dated as if posted would show in the reports
        JournalEntryLine.objects.for_company(company)
        .filter(Q(date__isnull=False) | Q(chain_seq__isnull=False))
        .exclude(entry__state=JournalEntry.State.POSTED)
        .values_list("entry_id", flat=True)
        .first()
    )
    if stray is not None:
        return ChainResult(False, checked, stray, None, None, "altered")
    return ChainResult(True, checked)


def _balances_recomputed(
    company: Company,
) -> dict[tuple[int, str, int, int], tuple[arithmetic.Movement, int]]:
    """(movement, number of lines) per (account, currency, year, month) from the posted lines,
    dated by their entries (not by the lines' copies of the date)."""
    rows = (
        JournalEntryLine.objects.for_company(company)
        .filter(entry__state=JournalEntry.State.POSTED)
        .annotate(y=ExtractYear("entry__date"), m=ExtractMonth("entry__date"))
        .values("account_id", "currency_id", "y", "m")
        .annotate(d=Sum("debit"), c=Sum("credit"), a=Sum("amount_currency"), n=Count("id"))
    )
    return {
        (r["account_id"], r["currency_id"], r["y"], r["m"]): (
            arithmetic.Movement(r["d"] or 0, r["c"] or 0, r["a"] or 0),
            r["n"],
        )
        for r in rows
    }


def balances_recompute(*, company: Company) -> dict[tuple[int, str, int, int], arithmetic.Movement]:
    """Monthly movements per (account, currency, year, month) from the posted lines."""
    return {key: movement for key, (movement, _n) in _balances_recomputed(company).items()}


def ledger_balances_verify(*, company: Company) -> list[tuple[Any, Any, Any]]:
    """Differences ``(key, stored, recomputed)`` between the balances and the lines: monthly
    (and their line counts, keyed ``(*key, "lines")``), daily (keyed ``(account, "day",
    date)``, valued ``(debit, credit, lines)``) and per dimension."""
    rows = list(AccountBalance.objects.for_company(company))
    stored = {b.as_key(): arithmetic.Movement(b.debit, b.credit, b.amount_currency) for b in rows}
    stored = {k: v for k, v in stored.items() if v != arithmetic.Movement()}
    recomputed = _balances_recomputed(company)
    computed = {key: movement for key, (movement, _n) in recomputed.items()}
    differences: list[tuple[Any, Any, Any]] = [
        (key, stored.get(key), computed.get(key))
        for key in sorted(set(stored) | set(computed), key=str)
        if stored.get(key) != computed.get(key)
    ]
    stored_counts = {b.as_key(): b.lines for b in rows if b.lines}
    computed_counts = {key: n for key, (_movement, n) in recomputed.items()}
    differences += [
        ((*key, "lines"), stored_counts.get(key), computed_counts.get(key))
        for key in sorted(set(stored_counts) | set(computed_counts), key=str)
        if stored_counts.get(key) != computed_counts.get(key)
    ]
    stored_days = {
        (account, "day", date): (debit, credit, n)
        for account, date, debit, credit, n in DayBalance.objects.for_company(company).values_list(
            "account_id", "date", "debit", "credit", "lines"
        )
        if debit or credit or n
    }
    computed_days = {
        (r["account_id"], "day", r["entry__date"]): (r["d"] or 0, r["c"] or 0, r["n"])
        for r in JournalEntryLine.objects.for_company(company)
        .filter(entry__state=JournalEntry.State.POSTED)
        .values("account_id", "entry__date")
        .annotate(d=Sum("debit"), c=Sum("credit"), n=Count("id"))
        .order_by()
    }
    differences += [
        (key, stored_days.get(key), computed_days.get(key))
        for key in sorted(set(stored_days) | set(computed_days), key=str)
        if stored_days.get(key) != computed_days.get(key)
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
        .only(
            *("account_id", "cost_centre_id", "project_id", "debit", "credit", "currency_id"),
            *("amount_currency", "entry__date"),
        )
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

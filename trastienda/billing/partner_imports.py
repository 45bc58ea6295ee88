"""Import of partners from CSV and XLSX files: one row per partner, all or nothing.

Columns (header row, any order; only ``code`` is required): :data:`COLUMNS` — ``code``,
``legal_name``, ``trade_name``, ``is_customer``, ``is_supplier``, ``country``, ``tax_id``,
``address``, ``postal_code``, ``city``, ``province``, ``email``, ``phone``, ``language``,
``currency``, ``payment_term`` (its code), ``iban``, ``bic``, ``credit_limit``, ``notes``,
and also ``blocked`` and ``active``. Headers may also be the field labels in Spanish,
Italian or English, so the partner list's own CSV/XLSX export imports back.

A row whose code the company has updates that partner: the columns the file has replace its
values, the others stay as they are. Other rows create partners (unset fields take their
defaults: customer, the company's country and language). Yes/no columns take ``1``/``0``,
``true``/``false``, ``yes``/``no``, ``sí``/``no``, ``x``; the language its code or name; the
payment term its code (or the list's ``CODE · name``); the credit limit a decimal in the
company currency, written as the company's language writes it (``1.234,56`` in Spanish) or
plainly (``1234.56``). An IBAN becomes the partner's default bank account (added when the
partner does not have it yet).

Every row is checked by the partner services' own rules (:func:`~trastienda.billing.partners.
partner_clean`), and the file as a whole: a code twice, a tax id twice, or a tax id another
partner of the company already has. Every problem is reported by file line and column
(``line 7: tax_id: ...``); then nothing is written. Otherwise every partner is written in one
transaction (each change in the audit trail, plus one event for the file with its SHA-256).

Small files are imported in the request; the page hands larger ones to the background job
``billing.import_partners`` (:func:`import_partners_job`), whose page shows the progress.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trastienda.billing import partners as services
from trastienda.billing.models import Partner, PartnerBankAccount, PaymentTerm
from trastienda.core.jobs import Progress, job_function
from trastienda.core.models import Company, Job, Language
from trastienda.ledger.imports import _csv_rows, _Reader, _xlsx_rows, errors_by_line, line_key
from trastienda.ledger.models import Currency

COLUMNS = (
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
    "iban",
    "bic",
    "credit_limit",
    "notes",
)
OPTIONAL_COLUMNS = ("blocked", "active")
ALL_COLUMNS = (*COLUMNS, *OPTIONAL_COLUMNS)
BOOLEAN_COLUMNS = ("is_customer", "is_supplier", "blocked", "active")
TRUE = frozenset({"1", "true", "yes", "y", "si", "sí", "s", "x", "vero", "verdadero", "✔"})
FALSE = frozenset({"0", "false", "no", "n", "", "falso", "✘"})
EXAMPLE_ROWS = (
    COLUMNS,
    (
        "C0001",
        "Distribuciones Ejemplo S.L.",
        "Ejemplo",
        "1",
        "0",
        "ES",
        "B12345674",
        "Calle Mayor 1",
        "28013",
        "Madrid",
        "Madrid",
        "admin@example.es",
        "+34 910 000 000",
        "es",
        "",
        "",
        "ES9121000418450200051332",
        "",
        "5000.00",
        "",
    ),
    (
        "P0001",
        "Fornitore Esempio S.r.l.",
        "",
        "0",
        "1",
        "IT",
        "00743110157",
        "Via Roma 1",
        "20121",
        "Milano",
        "MI",
        "amministrazione@example.it",
        "",
        "it",
        "EUR",
        "",
        "",
        "",
        "",
        "",
    ),
)

Progress_ = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PartnerImportResult:
    created: int
    updated: int
    unchanged: int
    bank_accounts: int
    rows: int
    sha256: str
    filename: str


def _fail(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def _key(text: Any) -> str:
    """``"Razón social"`` → ``"razon_social"``."""
    name = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def header_aliases() -> dict[str, str]:
    """Header → column: the column names and the labels of the fields (and of the partner
    list's columns) in every language of the interface."""
    aliases = {name: name for name in ALL_COLUMNS}
    fields = {f.name: f for f in Partner._meta.get_fields() if hasattr(f, "verbose_name")}
    for language in Language.values:
        with translation.override(language):
            for name in ALL_COLUMNS:
                field = fields.get(name)
                if field is not None:
                    aliases.setdefault(_key(str(field.verbose_name)), name)
            aliases.setdefault(
                _key(str(PartnerBankAccount._meta.get_field("iban").verbose_name)), "iban"
            )
            aliases.setdefault(
                _key(str(PartnerBankAccount._meta.get_field("bic").verbose_name)), "bic"
            )
    return aliases


def _columns(header: list[str]) -> dict[str, int]:
    aliases = header_aliases()
    positions: dict[str, int] = {}
    unknown = []
    for position, raw in enumerate(header):
        key = _key(raw)
        if not key:
            continue
        name = aliases.get(key)
        if name is None:
            unknown.append(str(raw))
        elif name in positions:
            raise _fail(_("The column %(name)s appears twice.") % {"name": name})
        else:
            positions[name] = position
    if unknown:
        raise _fail(
            _("Unknown columns: %(names)s. The columns are: %(known)s.")
            % {"names": ", ".join(unknown), "known": ", ".join(ALL_COLUMNS)}
        )
    if "code" not in positions:
        raise _fail(_("Missing columns: %(names)s.") % {"names": "code"})
    return positions


def _unquote(text: str) -> str:
    """Undo the exports' protection of formula-like text: ``'+34 600`` → ``+34 600``."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


class _Parser:
    """Reads one row's cells into the values the partner services take."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.amounts = _Reader(company)
        terms = PaymentTerm.objects.for_company(company)
        self.terms = {term.code: term for term in terms}
        self.languages = {code: code for code in Language.values}
        self.languages.update({str(label).lower(): code for code, label in Language.choices})
        self.languages.update({"spanish": "es", "italian": "it", "english": "en", "español": "es"})

    def parse(
        self, cells: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, str], list[tuple[str, str]]]:
        """(partner values, bank account values, problems as (column, message))."""
        values: dict[str, Any] = {}
        bank: dict[str, str] = {}
        problems: list[tuple[str, str]] = []
        for name, text in cells.items():
            if name in BOOLEAN_COLUMNS:
                flag = text.strip().lower()
                if flag in TRUE:
                    values[name] = True
                elif flag in FALSE:
                    values[name] = False
                else:
                    problems.append(
                        (name, _("Write 1 or 0 (yes or no), not %(value)s.") % {"value": text})
                    )
            elif name == "language":
                code = self.languages.get(text.strip().lower())
                if text and code is None:
                    problems.append(
                        (name, _("Unknown language %(value)s (es, it or en).") % {"value": text})
                    )
                values[name] = code or ""
            elif name == "payment_term":
                code = text.split(" · ", 1)[0].strip()
                term = self.terms.get(code) if code else None
                if code and term is None:
                    problems.append((name, _("Unknown payment term %(code)s.") % {"code": code}))
                values[name] = term
            elif name == "credit_limit":
                try:
                    values[name] = self.amounts.amount(text) or None
                except ValueError:
                    problems.append((name, _("%(value)s is not an amount.") % {"value": text}))
            elif name == "country":
                values[name] = services.country_code(text) or _country_by_name(text) or text
            elif name in ("iban", "bic"):
                bank[name] = text
            else:
                values[name] = text
        return values, bank, problems


def _country_by_name(text: str) -> str | None:
    import pycountry

    if len(text.strip()) < 3:
        return None
    try:
        return str(pycountry.countries.lookup(text.strip()).alpha_2)
    except LookupError:
        return None


@dataclass
class _Row:
    line: int
    code: str
    values: dict[str, Any]
    bank: dict[str, str]
    existing: Partner | None
    changed: bool = True


def _rows(content: bytes, filename: str) -> tuple[int, Iterator[tuple[int, list[str]]]]:
    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(content)
    return _csv_rows(content)


def partners_import(
    *,
    company: Company,
    content: bytes,
    filename: str,
    progress: Progress_ | None = None,
) -> PartnerImportResult:
    """Import the partners of a CSV or XLSX file (see the module docstring); all or nothing.

    Raises ValidationError keyed ``file`` (unreadable file, columns) or ``line N``
    (``["tax_id: ...", "email: ..."]``). ``progress(done, total, message)`` hears of the
    checking and the writing.
    """
    digest = hashlib.sha256(content).hexdigest()
    total, rows = _rows(content, filename)
    header: list[str] | None = None
    for _number, cells in rows:
        if any(c.strip() for c in cells):
            header = [str(c) for c in cells]
            break
    if header is None:
        raise _fail(_("The file is empty."))
    positions = _columns(header)
    parser = _Parser(company)
    existing = {
        p.code: p
        for p in Partner.objects.for_company(company)
        .select_related("company", "payment_term")
        .prefetch_related("sale_taxes", "purchase_taxes")
    }
    currencies = set(Currency.objects.values_list("code", flat=True))
    errors: dict[str, list[str]] = {}
    planned: list[_Row] = []
    first_line_of_code: dict[str, int] = {}
    tax_ids: list[tuple[int, str, str]] = []  # (line, code, tax id) of the rows
    checking = _("Checking partners")
    for count, (line, raw) in enumerate(rows, start=1):
        if progress is not None and count % 200 == 0:
            progress(count, total, checking)
        if not any(c.strip() for c in raw):
            continue
        where = f"line {line}"
        values, bank, parse_problems = parser.parse(
            {
                name: _unquote(raw[position].strip()) if position < len(raw) else ""
                for name, position in positions.items()
            }
        )
        problems = [f"{column}: {message}" for column, message in parse_problems]
        code = str(values.get("code", "")).strip()
        if code in first_line_of_code:
            repeated = _("%(code)s repeats line %(line)d.") % {
                "code": code,
                "line": first_line_of_code[code],
            }
            problems.append(f"code: {repeated}")
        elif code:
            first_line_of_code[code] = line
        partner = existing.get(code)
        if partner is not None:
            base = services.partner_values(partner)
        else:
            base = {
                "is_customer": True,
                "is_supplier": False,
                "active": True,
                "blocked": False,
                "country": company.country,
                "language": company.language,
            }
        failed = {column for column, _message in parse_problems}
        merged = base | {k: v for k, v in values.items() if k not in failed}
        if "language" in values and not values["language"]:
            merged["language"] = base.get("language") or company.language
        clean, field_errors = services.partner_clean(
            company, merged, instance=partner, known_currencies=currencies
        )
        for field, messages in field_errors.items():
            if field not in failed:
                problems += [f"{field}: {message}" for message in messages]
        if bank.get("iban") or bank.get("bic"):
            if not bank.get("iban"):
                problems.append("bic: " + _("Give the IBAN too."))
            else:
                try:
                    bank["iban"], bank_bic = services.iban_normalise(bank["iban"])
                except ValidationError as exc:
                    problems += [f"iban: {message}" for message in exc.messages]
                    bank_bic = ""
                try:
                    bank["bic"] = services.bic_normalise(bank.get("bic")) or bank_bic
                except ValidationError as exc:
                    problems += [f"bic: {message}" for message in exc.messages]
        else:
            bank = {}
        if "tax_id" not in field_errors and clean["tax_id"]:
            tax_ids.append((line, clean["code"], clean["tax_id"]))
        if problems:
            errors[where] = problems
            continue
        changed = partner is None or _differs(partner, clean)
        planned.append(
            _Row(
                line=line,
                code=clean["code"],
                values=clean,
                bank=bank,
                existing=partner,
                changed=changed,
            )
        )
    _tax_id_conflicts(tax_ids, existing, errors)
    if errors:
        raise ValidationError(errors)
    if not planned:
        raise _fail(_("The file has no partners."))
    return _write(company, planned, progress, filename=filename, digest=digest)


def _differs(partner: Partner, clean: dict[str, Any]) -> bool:
    for name, value in clean.items():
        if name in ("sale_taxes", "purchase_taxes"):
            if {t.pk for t in getattr(partner, name).all()} != {t.pk for t in value}:
                return True
        elif getattr(partner, name) != value:
            return True
    return False


def _tax_id_conflicts(
    tax_ids: list[tuple[int, str, str]],
    existing: dict[str, Partner],
    errors: dict[str, list[str]],
) -> None:
    """A tax id may belong to one partner only once the file is imported: none twice in the
    file, none that a partner the file leaves alone has."""
    in_file = {code for _line, code, _tax_id in tax_ids}
    owners: dict[str, tuple[str, int | None]] = {}
    for code, partner in existing.items():
        if partner.tax_id and code not in in_file:
            owners.setdefault(partner.tax_id, (code, None))
    for line, code, tax_id in tax_ids:
        owner = owners.get(tax_id)
        if owner is None:
            owners[tax_id] = (code, line)
            continue
        first_code, first_line = owner
        message = (
            _("%(tax_id)s is already the tax id of partner %(code)s.")
            if first_line is None
            else _("%(tax_id)s repeats line %(line)d (partner %(code)s).")
        ) % {"tax_id": tax_id, "code": first_code, "line": first_line or 0}
        errors.setdefault(f"line {line}", []).append(f"tax_id: {message}")


def _write(
    company: Company,
    planned: list[_Row],
    progress: Progress_ | None,
    *,
    filename: str,
    digest: str,
) -> PartnerImportResult:
    from trastienda.audit.services import audit_log

    created = updated = unchanged = accounts = 0
    writing = _("Writing partners")
    total = len(planned)
    try:
        with transaction.atomic():
            for done, row in enumerate(planned, start=1):
                if progress is not None and (done % 200 == 0 or done == total):
                    progress(done, total, writing)
                if row.existing is None:
                    partner = services._partner_write(Partner(company=company), row.values)
                    created += 1
                elif row.changed:
                    partner = Partner.objects.select_for_update().get(pk=row.existing.pk)
                    services._partner_write(partner, row.values)
                    updated += 1
                else:
                    partner = row.existing
                    unchanged += 1
                if row.bank:
                    accounts += _bank_account_set(partner, row.bank)
            audit_log(
                action="other",
                company=company,
                object_type="billing.partner",
                object_repr=(_("Import of partners from %(name)s") % {"name": filename})[:200],
                extra={
                    "event": "partners_import",
                    "file": filename,
                    "sha256": digest,
                    "rows": total,
                    "created": created,
                    "updated": updated,
                    "unchanged": unchanged,
                    "bank_accounts": accounts,
                },
            )
    except IntegrityError as exc:
        raise _fail(
            _("Another change to the partners was saved meanwhile; import the file again.")
        ) from exc
    return PartnerImportResult(
        created=created,
        updated=updated,
        unchanged=unchanged,
        bank_accounts=accounts,
        rows=total,
        sha256=digest,
        filename=filename,
    )


def _bank_account_set(partner: Partner, bank: dict[str, str]) -> int:
    """Make the file's IBAN the partner's default account; 1 when something changed."""
    found = partner.bank_accounts.filter(iban=bank["iban"]).first()
    if found is None:
        services.bank_account_create(
            partner=partner, iban=bank["iban"], bic=bank.get("bic", ""), is_default=True
        )
        return 1
    changes: dict[str, Any] = {}
    if bank.get("bic") and bank["bic"] != found.bic:
        changes["bic"] = bank["bic"]
    if not found.is_default:
        changes["is_default"] = True
    if changes:
        services.bank_account_update(instance=found, **changes)
        return 1
    return 0


def result_message(result: PartnerImportResult) -> str:
    """What an import did, for people."""
    parts = [
        ngettext("%(count)d partner created", "%(count)d partners created", result.created)
        % {"count": result.created},
        ngettext("%(count)d updated", "%(count)d updated", result.updated)
        % {"count": result.updated},
        ngettext("%(count)d unchanged", "%(count)d unchanged", result.unchanged)
        % {"count": result.unchanged},
    ]
    if result.bank_accounts:
        parts.append(
            ngettext(
                "%(count)d bank account added or changed",
                "%(count)d bank accounts added or changed",
                result.bank_accounts,
            )
            % {"count": result.bank_accounts}
        )
    return _("Imported %(rows)d rows: %(parts)s.") % {
        "rows": result.rows,
        "parts": ", ".join(parts),
    }


def error_list(error: ValidationError) -> list[tuple[str, list[str]]]:
    """The problems of a refused file in file order: ``[("line 7", [...]), ...]``."""
    found = errors_by_line(error)
    return [(where, found[where]) for where in sorted(found, key=line_key)]


# --- the background job -------------------------------------------------------------------------


@job_function("billing.import_partners")
def import_partners_job(job: Job, progress: Progress) -> None:
    """Params: ``path`` (the uploaded file in the default storage, deleted afterwards) and
    ``filename``. Done with the summary as its message, or failed with the file's problems by
    line (nothing imported)."""
    from trastienda.ledger.jobs import ImportRefused, error_lines

    path = str(job.params["path"])
    try:
        with default_storage.open(path, "rb") as handle:
            content = handle.read()
        try:
            result = partners_import(
                company=job.company,
                content=content,
                filename=str(job.params.get("filename") or path),
                progress=progress,
            )
        except ValidationError as exc:
            raise ImportRefused("\n".join(error_lines(exc))) from exc
    finally:
        default_storage.delete(path)
    progress(result.rows, result.rows, result_message(result))

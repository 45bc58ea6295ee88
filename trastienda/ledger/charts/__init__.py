"""Chart-of-accounts templates a company loads at creation.

The templates are CSV files beside this module (see README.md for their sources). This module
reads and validates them and returns frozen :class:`ChartAccount` values; it touches neither the
ORM nor settings, so it can be imported and used without Django being set up (the ledger's
services turn the values into ``Account`` rows).

CSV format (UTF-8, one account a row, parents before their children)::

    code,parent_code,name_es,name_it,name_en,type,subtype,postable,reconcilable

``postable`` and ``reconcilable`` are ``true`` or ``false``; ``parent_code`` is empty for roots.
:func:`parse_chart` reads the same format from any text stream (used for chart imports too) and
reports every error with its line number.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TextIO


def gettext_noop(message: str) -> str:
    """Mark ``message`` for makemessages without touching Django (whose own gettext_noop
    reads settings and so needs Django set up)."""
    return message


__all__ = [
    "ACCOUNT_SUBTYPES",
    "ACCOUNT_TYPES",
    "CSV_HEADER",
    "RECONCILABLE_SUBTYPES",
    "ChartAccount",
    "ChartError",
    "available_templates",
    "chart_validate",
    "load_chart",
    "parse_chart",
]

ACCOUNT_TYPES: tuple[str, ...] = ("asset", "liability", "equity", "income", "expense")
ACCOUNT_SUBTYPES: tuple[str, ...] = (
    "",
    "receivable",
    "payable",
    "bank",
    "cash",
    "tax",
    "inventory",
    "fixed_asset",
    "depreciation",
    "retained_earnings",
    "result",
    "other",
)
RECONCILABLE_SUBTYPES: frozenset[str] = frozenset({"receivable", "payable", "bank"})
CSV_HEADER: tuple[str, ...] = (
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

# Labels are marked with gettext_noop so that makemessages collects them; callers translate
# them at display time with gettext(label).
_TEMPLATES: dict[str, str] = {
    "es_pgc_pymes": gettext_noop("Spain: PGC PYMES 2007 (RD 1515/2007)"),
    "it_civil_code": gettext_noop("Italy: civil-code schemes (art. 2424/2425 c.c.)"),
    "ifrs": gettext_noop("Generic IFRS-style chart"),
}

_BOOLEANS = {"true": True, "false": False}
# The subtypes whose balances only make sense on one side of the balance sheet.
_SUBTYPE_TYPES: dict[str, frozenset[str]] = {
    "receivable": frozenset({"asset"}),
    "payable": frozenset({"liability"}),
    "bank": frozenset({"asset"}),
    "cash": frozenset({"asset"}),
    "tax": frozenset({"asset", "liability"}),
    "inventory": frozenset({"asset"}),
    "fixed_asset": frozenset({"asset"}),
    "depreciation": frozenset({"asset"}),
    "retained_earnings": frozenset({"equity"}),
    "result": frozenset({"equity"}),
}
_MAX_CODE_LENGTH = 32
_MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class ChartAccount:
    """One account of a chart template."""

    code: str
    parent_code: str | None
    name_es: str
    name_it: str
    name_en: str
    type: str
    subtype: str
    postable: bool
    reconcilable: bool

    def name(self, language: str) -> str:
        """The name in ``language`` ("es", "it" or "en"; a regional tag such as "es-ES" works)."""
        lang = language.split("-")[0].split("_")[0].lower()
        return {"es": self.name_es, "it": self.name_it}.get(lang, self.name_en)


class ChartError(ValueError):
    """A chart file is malformed; ``errors`` lists every problem, each naming its line."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors: list[str] = list(errors)
        super().__init__("; ".join(self.errors))


def available_templates() -> dict[str, str]:
    """Template code → label (English msgid; translate with gettext at display time)."""
    return dict(_TEMPLATES)


def load_chart(template: str) -> list[ChartAccount]:
    """The accounts of a shipped template, parents before children, in chart order.

    Raises ``ValueError`` for an unknown template and :class:`ChartError` for a broken file.
    """
    if template not in _TEMPLATES:
        known = ", ".join(sorted(_TEMPLATES))
        raise ValueError(f"Unknown chart template {template!r}; known templates: {known}.")
    return list(_load_template(template))


@functools.cache
def _load_template(template: str) -> tuple[ChartAccount, ...]:
    text = resources.files(__name__).joinpath(f"{template}.csv").read_text(encoding="utf-8")
    return tuple(parse_chart(io.StringIO(text), source=f"{template}.csv"))


def parse_chart(stream: TextIO | Iterable[str], *, source: str = "chart") -> list[ChartAccount]:
    """Parse and validate a chart in the CSV format above.

    Every error is collected (``"<source> line N: ..."``) and raised together as one
    :class:`ChartError`; nothing is returned unless the whole chart is valid.
    """
    reader = csv.reader(stream)
    errors: list[str] = []
    header = next(reader, None)
    if header is None:
        raise ChartError([f"{source}: the file is empty."])
    header = [h.strip().lstrip("\ufeff") for h in header]
    if tuple(header) != CSV_HEADER:
        expected, got = ",".join(CSV_HEADER), ",".join(header)
        raise ChartError([f"{source} line 1: the header must be {expected} (got {got})."])
    accounts: list[ChartAccount] = []
    lines: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_HEADER):
            errors.append(
                f"{source} line {line}: expected {len(CSV_HEADER)} columns, found {len(row)}."
            )
            continue
        account, row_errors = _parse_row([cell.strip() for cell in row])
        errors.extend(f"{source} line {line}: {message}" for message in row_errors)
        if account is None:
            continue
        if account.code in lines:
            errors.append(
                f"{source} line {line}: code: {account.code} repeats line {lines[account.code]}."
            )
            continue
        lines[account.code] = line
        accounts.append(account)
    errors.extend(
        f"{source} line {lines[code]}: {message}" for code, message in _structure_errors(accounts)
    )
    if errors:
        raise ChartError(errors)
    return accounts


def chart_validate(accounts: Sequence[ChartAccount]) -> list[str]:
    """Structural errors of a list of accounts (empty when the chart is sound)."""
    errors: list[str] = []
    seen: set[str] = set()
    for account in accounts:
        if account.code in seen:
            errors.append(f"{account.code}: code: repeated.")
        seen.add(account.code)
        errors.extend(f"{account.code}: {message}" for message in _account_errors(account))
    errors.extend(f"{code}: {message}" for code, message in _structure_errors(accounts))
    return errors


def _parse_row(row: list[str]) -> tuple[ChartAccount | None, list[str]]:
    code, parent_code, name_es, name_it, name_en, type_, subtype, postable, reconcilable = row
    errors: list[str] = []
    flags: dict[str, bool] = {}
    for field, value in (("postable", postable), ("reconcilable", reconcilable)):
        if value.lower() not in _BOOLEANS:
            errors.append(f"{field}: {value!r} is not true or false.")
        else:
            flags[field] = _BOOLEANS[value.lower()]
    if errors:
        return None, errors
    account = ChartAccount(
        code=code,
        parent_code=parent_code or None,
        name_es=name_es,
        name_it=name_it,
        name_en=name_en,
        type=type_,
        subtype=subtype,
        postable=flags["postable"],
        reconcilable=flags["reconcilable"],
    )
    errors = _account_errors(account)
    return (None if errors else account), errors


def _account_errors(account: ChartAccount) -> list[str]:
    errors: list[str] = []
    if not account.code:
        errors.append("code: required.")
    elif len(account.code) > _MAX_CODE_LENGTH or any(c.isspace() for c in account.code):
        errors.append(
            f"code: {account.code!r} must be at most {_MAX_CODE_LENGTH} characters, no spaces."
        )
    if account.parent_code is not None and account.parent_code == account.code:
        errors.append("parent_code: an account cannot be its own parent.")
    for field in ("name_es", "name_it", "name_en"):
        value = getattr(account, field)
        if not value:
            errors.append(f"{field}: required.")
        elif len(value) > _MAX_NAME_LENGTH:
            errors.append(f"{field}: longer than {_MAX_NAME_LENGTH} characters.")
    if account.type not in ACCOUNT_TYPES:
        errors.append(f"type: {account.type!r} is not one of {', '.join(ACCOUNT_TYPES)}.")
    if account.subtype not in ACCOUNT_SUBTYPES:
        allowed = ", ".join(s for s in ACCOUNT_SUBTYPES if s)
        errors.append(f"subtype: {account.subtype!r} is not empty or one of {allowed}.")
    elif (
        account.type in ACCOUNT_TYPES
        and account.subtype in _SUBTYPE_TYPES
        and account.type not in _SUBTYPE_TYPES[account.subtype]
    ):
        errors.append(f"subtype: {account.subtype} does not fit an account of type {account.type}.")
    if account.reconcilable and not account.postable:
        errors.append("reconcilable: only a postable account can be reconcilable.")
    return errors


def _structure_errors(accounts: Sequence[ChartAccount]) -> list[tuple[str, str]]:
    """Parents exist, come first and are groups; postable accounts are leaves."""
    errors: list[tuple[str, str]] = []
    by_code: dict[str, ChartAccount] = {}
    parents: set[str] = {a.parent_code for a in accounts if a.parent_code}
    for account in accounts:
        parent_code = account.parent_code
        if parent_code is not None:
            parent = by_code.get(parent_code)
            if parent is None:
                known = any(a.code == parent_code for a in accounts)
                where = "must come before its children" if known else "does not exist"
                errors.append((account.code, f"parent_code: {parent_code} {where}."))
            elif parent.postable:
                errors.append(
                    (
                        account.code,
                        f"parent_code: {parent_code} is postable; a parent must be a group.",
                    )
                )
        if account.postable and account.code in parents:
            errors.append((account.code, "postable: an account with children cannot be postable."))
        by_code.setdefault(account.code, account)
    return errors

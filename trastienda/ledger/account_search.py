"""The account picker's search: postable, active accounts of one company by code or name.

``account_search(company, "572")`` → the accounts whose code starts with ``572``;
``account_search(company, "bancos euro")`` → those whose name (in the active language, as
``Account.name`` shows it) contains every word, accents and case ignored ("credito" finds
"crédito"). A word that starts with a digit is a code prefix; other words match the code prefix
or the name. At most ``limit`` accounts, ordered by code, each with its group path as a hint.

Everything is filtered in the database (no rows are read to be thrown away):

- a code prefix becomes ``code >= '572' AND code < '573' AND code LIKE '572%'``: the range lets
  both databases walk the ``(company, code)`` index of the unique constraint (PostgreSQL cannot
  use a btree index for ``LIKE`` outside the C collation; SQLite never does with ``ESCAPE``),
  and the ``LIKE`` keeps the result exact whatever the collation;
- a name word becomes a case-insensitive regular expression in which each letter that has
  accented forms in Spanish or Italian is a class (``a`` → ``[aáàâäã…]``), so no ``unaccent``
  extension (PostgreSQL) or Python function over all rows is needed; SQLite's ``REGEXP`` is
  Django's, PostgreSQL's is ``~*``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import get_language

from trastienda.core.models import Company
from trastienda.ledger.models import Account

LIMIT = 20
PATH_SEPARATOR = " \u203a "  # a single right-pointing angle quotation mark
MAX_QUERY = 100
LANGUAGES = ("es", "it", "en")

# Letters and the accented forms people type (or leave out) in es/it/en account names.
ACCENTS = {
    "a": "aáàâäã",
    "e": "eéèêë",
    "i": "iíìîï",
    "o": "oóòôöõ",
    "u": "uúùûü",
    "n": "nñ",
    "c": "cç",
}


@dataclass(frozen=True)
class AccountHit:
    id: int
    code: str
    name: str
    path: str

    @property
    def label(self) -> str:
        return f"{self.code} · {self.name}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "label": self.label,
            "path": self.path,
        }


def fold(text: str) -> str:
    """Lower case without accents: "Crédito" → "credito"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def word_regex(word: str) -> str:
    """An accent- and case-insensitive regular expression for ``word`` (both databases)."""
    parts = []
    for ch in fold(word):
        if ch in ACCENTS:
            forms = ACCENTS[ch]
            parts.append(f"[{forms}{forms.upper()}]")
        elif ch.isalnum():
            parts.append(ch)
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


def next_prefix(prefix: str) -> str | None:
    """The smallest string above every string that starts with the digits of ``prefix``.

    Only the leading digits are used ("57.2" → "58"), so the range is a superset of the prefix
    in any collation that orders digits; ``None`` when there is no upper bound ("9", "99").
    """
    digits = re.match(r"\d*", prefix)
    head = digits.group(0) if digits else ""
    while head and head[-1] == "9":
        head = head[:-1]
    if not head:
        return None
    return head[:-1] + str(int(head[-1]) + 1)


def code_prefix_q(prefix: str) -> Q:
    q = Q(code__startswith=prefix, code__gte=prefix)
    upper = next_prefix(prefix)
    if upper is not None:
        q &= Q(code__lt=upper)
    return q


def name_fields(language: str | None = None) -> list[str]:
    """The name columns in the order ``Account.name`` falls back through them."""
    language = (language or get_language() or "en")[:2]
    order = [language] if language in LANGUAGES else []
    order += [code for code in ("en", "es", "it") if code not in order]
    return [f"name_{code}" for code in order]


def display_name(row: dict[str, Any], fields: list[str]) -> str:
    return next((row[name] for name in fields if row[name]), "")


def search_queryset(company: Company, query: str) -> QuerySet[Any]:
    """The matching postable, active accounts of ``company``, ordered by code (not sliced)."""
    fields = name_fields()
    qs = (
        Account.objects.for_company(company)
        .filter(postable=True, active=True)
        .annotate(display_name=Coalesce(*(NullIf(F(n), Value("")) for n in fields), Value("")))
    )
    for word in query[:MAX_QUERY].split():
        if word[0].isdigit():
            qs = qs.filter(code_prefix_q(word))
        else:
            qs = qs.filter(code_prefix_q(word) | Q(display_name__iregex=word_regex(word)))
    return qs.order_by("code")


def group_paths(company: Company, parent_ids: set[int], fields: list[str]) -> dict[int, str]:
    """``{group id: "5 Cuentas financieras \u203a 57 Tesorería"}`` for the given groups.

    One small query per level of the tree (groups of the results, then their parents, ...).
    """
    groups: dict[int, dict[str, Any]] = {}
    wanted = {pk for pk in parent_ids if pk is not None}
    while wanted:
        rows = Account.objects.for_company(company).filter(pk__in=wanted)
        wanted = set()
        for row in rows.values("id", "code", "parent_id", *fields):
            groups[row["id"]] = row
            if row["parent_id"] is not None and row["parent_id"] not in groups:
                wanted.add(row["parent_id"])
    paths: dict[int, str] = {}
    for pk in parent_ids:
        chain = []
        seen: set[int] = set()
        current = groups.get(pk)
        while current is not None and current["id"] not in seen:
            seen.add(current["id"])
            chain.append(f"{current['code']} {display_name(current, fields)}".strip())
            current = groups.get(current["parent_id"]) if current["parent_id"] else None
        paths[pk] = PATH_SEPARATOR.join(reversed(chain))
    return paths


def account_search(company: Company, query: str, *, limit: int = LIMIT) -> list[AccountHit]:
    """Up to ``limit`` postable, active accounts of ``company`` matching ``query``, by code."""
    fields = name_fields()
    rows = list(search_queryset(company, query).values("id", "code", "parent_id", *fields)[:limit])
    paths = group_paths(company, {row["parent_id"] for row in rows if row["parent_id"]}, fields)
    return [
        AccountHit(
            id=row["id"],
            code=row["code"],
            name=display_name(row, fields),
            path=paths.get(row["parent_id"], ""),
        )
        for row in rows
    ]

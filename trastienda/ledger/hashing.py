"""Hashing of posted journal entries (pure functions; the audit app's canonical JSON).

Version 1: ``sha256(prev_hash + canonical_json(payload))`` in lowercase hex, where
``payload`` holds the header fields :data:`HEADER_FIELDS` and ``lines``, a list of
:data:`LINE_FIELDS` dicts ordered by ``line_no``. Dates are ISO strings, ``posted_at`` is
UTC ISO 8601 with microseconds and ``Z``, amounts are integers (minor units), foreign keys
are ids (the currency its code). A new version adds a branch to :func:`compute_hash`; each
entry keeps the version it was hashed with, so old chains still verify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from trastienda.audit.hashing import canonical_json, format_timestamp

CURRENT_VERSION = 1
GENESIS_HASH = "0" * 64
HEADER_FIELDS = (
    "company_id",
    "chain_seq",
    "state",
    "number",
    "journal_id",
    "fiscal_year_id",
    "sequence_number",
    "date",
    "reference",
    "description",
    "reversal_of_id",
    "posted_at",
    "posted_by",
)
LINE_FIELDS = (
    "line_no",
    "account_id",
    "description",
    "debit",
    "credit",
    "currency_id",
    "amount_currency",
    "partner",
    "due_date",
    "cost_centre_id",
    "project_id",
)


def _value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "tzinfo"):  # datetime
        return format_timestamp(value)
    if hasattr(value, "isoformat"):  # date
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def payload_of(entry: Any, lines: Iterable[Any]) -> dict[str, Any]:
    """The hashed fields of an entry (model instance or row object) and its lines."""
    payload = {name: _value(getattr(entry, name)) for name in HEADER_FIELDS}
    payload["lines"] = [
        {name: _value(getattr(line, name)) for name in LINE_FIELDS}
        for line in sorted(lines, key=lambda x: x.line_no)
    ]
    return payload


def compute_hash(prev_hash: str, payload: Mapping[str, Any], version: int = CURRENT_VERSION) -> str:
    if version != 1:
        raise ValueError(f"unknown ledger hash version {version}")
    body = {name: payload[name] for name in (*HEADER_FIELDS, "lines")}
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()

"""Canonical serialisation and hashing of audit entries (pure functions, no ORM).

Version 1: ``sha256(prev_hash + canonical_json(payload))`` as lowercase hex, where ``payload``
holds ``seq, created_at, company_id, user_id, username, ip, action, object_type, object_id,
object_repr, changes, extra``; ``created_at`` is ISO 8601 in UTC with microseconds and ``Z``;
canonical JSON has sorted keys, no whitespace and raw (non-ASCII-escaped) text.

Values put into ``changes`` and ``extra`` go through :func:`json_safe` first, so what is stored
in the JSON column reads back identical and hashes the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models.fields.files import FieldFile
from django.utils.functional import Promise

CURRENT_VERSION = 1
HASHED_FIELDS = (
    "seq",
    "created_at",
    "company_id",
    "user_id",
    "username",
    "ip",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "extra",
)


def format_timestamp(value: dt.datetime) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_safe(value: Any) -> Any:
    """Turn ``value`` into plain JSON types, canonically.

    Decimal -> its string (``"12.50"``), date -> ``"2025-01-31"``, datetime -> UTC ISO string,
    time -> ISO, timedelta -> total seconds as a string, UUID -> string, files -> their name,
    model instances -> their primary key, sets -> sorted lists, bytes -> ``"<n bytes>"``,
    floats -> their repr; dictionary keys become strings. NUL characters, which
    PostgreSQL's jsonb refuses, become U+FFFD.
    """
    kind = type(value)
    # Fast paths for the exact built-in types that make up nearly every value; each returns
    # what the general branches below would.
    if kind is str:
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if value is None or kind is bool or kind is int:
        return value
    if kind is dict:
        return {
            (_safe_key(k) if type(k) is str else str(json_safe(k))): json_safe(v)
            for k, v in value.items()
        }
    if kind is list:
        return [json_safe(v) for v in value]
    if isinstance(value, int):  # int subclasses (bool has none)
        return int(value)
    if isinstance(value, float):
        # As text: jsonb would re-spell some floats (1e20 -> 100000000000000000000).
        return repr(value)
    if isinstance(value, str):
        return str(value).replace("\x00", "\ufffd")
    if isinstance(value, Promise):
        return json_safe(str(value))
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return format_timestamp(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value.total_seconds())
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, Mapping):
        return {str(json_safe(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [json_safe(v) for v in value]
        return sorted(items, key=canonical_json)
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    pk = getattr(value, "pk", None)
    if pk is not None and hasattr(value, "_meta"):
        return json_safe(pk)
    return json_safe(str(value))


def _safe_key(key: str) -> str:
    return key.replace("\x00", "\ufffd") if "\x00" in key else key


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(prev_hash: str, payload: Mapping[str, Any], version: int = CURRENT_VERSION) -> str:
    """The hash of one entry given its predecessor's hash and its hashed fields."""
    if version != 1:
        raise ValueError(f"unknown audit hash version {version}")
    body = {name: payload[name] for name in HASHED_FIELDS}
    data = (prev_hash + canonical_json(body)).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def payload_of(entry: Any) -> dict[str, Any]:
    """The hashed fields of a stored :class:`~trastienda.audit.models.AuditEntry`."""
    return {
        "seq": entry.seq,
        "created_at": format_timestamp(entry.created_at),
        "company_id": entry.company_id,
        "user_id": entry.user_pk,
        "username": entry.username,
        "ip": entry.ip,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "extra": entry.extra,
    }

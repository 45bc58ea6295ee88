"""Writing to the audit trail (and checking it).

:func:`audit_log` is the only writer of :class:`~trastienda.audit.models.AuditEntry`. It joins the
caller's transaction, so an entry exists exactly when the change it describes was committed.
:func:`verify_chain` recomputes the hash chain and names the first entry that does not fit.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections, models, router, transaction
from django.utils import timezone

from trastienda.audit.hashing import (
    CURRENT_VERSION,
    compute_hash,
    format_timestamp,
    json_safe,
    payload_of,
)
from trastienda.audit.models import (
    GENESIS_HASH,
    HEAD_PK,
    AuditAction,
    AuditChainHead,
    AuditEntry,
)
from trastienda.core import context
from trastienda.core.models import Company

_MAX = {
    "username": AuditEntry._meta.get_field("username").max_length or 150,
    "object_type": AuditEntry._meta.get_field("object_type").max_length or 100,
    "object_id": AuditEntry._meta.get_field("object_id").max_length or 255,
    "object_repr": AuditEntry._meta.get_field("object_repr").max_length or 200,
}


_ACTIONS = frozenset(AuditAction.values)


def object_type_of(obj: Any) -> str:
    """``app_label.model`` of a model instance or class (``documents.document``); proxies
    are named by their concrete model, so an object's history is in one place."""
    meta = obj._meta
    if meta.concrete_model is not None:
        meta = meta.concrete_model._meta
    return f"{meta.app_label}.{meta.model_name}"


def _clip(name: str, value: Any) -> str:
    text = str(json_safe("" if value is None else value))
    return text[: _MAX[name]]


def _normalise_ip(ip: Any) -> str | None:
    if not ip:
        return None
    return _normalised_ip(str(ip))


@functools.lru_cache(maxsize=1024)
def _normalised_ip(ip: str) -> str | None:
    try:
        return str(ipaddress.ip_address(str(ip).strip()))
    except ValueError:
        return None


def _company_of(obj: Any) -> int | None:
    if isinstance(obj, Company):
        return obj.pk
    company_id = getattr(obj, "company_id", None)
    return company_id if isinstance(company_id, int) else None


def user_fields(user: Any) -> tuple[int | None, str]:
    """``(user id, username)`` of an authenticated user; ``(None, "")`` otherwise."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None, ""
    pk = getattr(user, "pk", None)
    if not isinstance(pk, int):
        return None, ""
    return pk, str(user.get_username())


def audit_log(
    *,
    action: str,
    company: Company | None = None,
    user: Any = None,
    username: str = "",
    ip: str | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    changes: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit trail and return it.

    ``user``, ``ip`` and ``company`` default to the acting context
    (:func:`trastienda.core.context.current`); ``company`` defaults first to ``obj``'s company.
    ``obj`` fills ``object_type`` / ``object_id`` / ``object_repr`` unless they are given.
    ``changes`` is ``{field: [before, after]}``; it and ``extra`` are made JSON-safe
    canonically (Decimal, dates, UUIDs, files become strings). Never pass secrets.
    Runs in the caller's transaction (or its own), taking the chain-head lock.
    """
    if action not in _ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    ctx = context.current()
    if user is None:
        user = ctx.user
    if ip is None:
        ip = ctx.ip
    company_id: int | None
    if company is not None:
        company_id = company.pk
    elif obj is not None and _company_of(obj) is not None:
        company_id = _company_of(obj)
    else:
        company_id = getattr(ctx.company, "pk", None)
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = object_id or ("" if obj.pk is None else str(obj.pk))
        object_repr = object_repr or str(obj)
    user_pk, user_name = user_fields(user)
    username = username or user_name
    return append_entry(
        action=action,
        company_id=company_id,
        user_pk=user_pk,
        username=username,
        ip=ip,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        changes=changes,
        extra=extra,
    )


def append_entry(
    *,
    action: str,
    company_id: int | None,
    user_pk: int | None,
    username: str,
    ip: str | None,
    object_type: str,
    object_id: str,
    object_repr: str,
    changes: Mapping[str, Any] | None,
    extra: Mapping[str, Any] | None,
) -> AuditEntry:
    """Append an entry with every value already resolved (used by :func:`audit_log`).

    Two plain SQL statements: the chain head read under lock (``SELECT ... FOR UPDATE`` on
    PostgreSQL; on SQLite a plain ``SELECT`` inside the ``BEGIN IMMEDIATE`` transaction, or an
    ``UPDATE ... RETURNING``, which takes the write lock at once, if transactions are deferred)
    and the ``INSERT ... RETURNING id``; a trigger moves the head forward.
    The row written is the one the ORM would write (same column values, JSON as the
    ``JSONField`` serialises it); the returned instance is as if loaded from the database.
    """
    alias = router.db_for_write(AuditEntry)
    conn = connections[alias]
    # Values in model field order after ``seq`` and ``created_at`` (see _INSERT_FIELDS).
    fields = (
        company_id,
        user_pk,  # user_id
        user_pk,
        _clip("username", username),
        _normalise_ip(ip),
        str(action),
        _clip("object_type", object_type),
        _clip("object_id", object_id),
        _clip("object_repr", object_repr),
        json_safe(changes) if changes else {},
        json_safe(extra) if extra else {},
    )
    if not conn.in_atomic_block:
        with transaction.atomic(using=alias, savepoint=False):
            return _append_locked(conn, alias, fields)
    try:
        return _append_locked(conn, alias, fields)
    except BaseException:
        # What ``atomic(savepoint=False)`` does on error: the enclosing block must roll back.
        conn.needs_rollback = True
        raise


def _append_locked(conn: Any, alias: str, fields: tuple[Any, ...]) -> AuditEntry:
    """Lock the head, hash and insert, inside the caller's transaction."""
    company_id, user_pk, _, username, ip, action, object_type, object_id, object_repr = fields[:9]
    changes, extra = fields[9], fields[10]
    sql = _statements(conn)
    ops = conn.ops
    with conn.cursor() as cursor:
        cursor.execute(sql.head, [HEAD_PK])
        row = cursor.fetchone()
        if row is None:  # a ``flush`` emptied the tables
            head_ensure(using=alias)
            cursor.execute(sql.head, [HEAD_PK])
            row = cursor.fetchone()
        seq, prev_hash = int(row[0]) + 1, row[1]
        created_at = timezone.now()
        payload = {
            "seq": seq,
            "created_at": format_timestamp(created_at),
            "company_id": company_id,
            "user_id": user_pk,
            "username": username,
            "ip": ip,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "object_repr": object_repr,
            "changes": changes,
            "extra": extra,
        }
        digest = compute_hash(prev_hash, payload, CURRENT_VERSION)
        tail = (CURRENT_VERSION, prev_hash, digest)
        cursor.execute(
            sql.insert,
            (
                seq,
                ops.adapt_datetimefield_value(created_at),
                *fields[:9],
                ops.adapt_json_value(changes, None),
                ops.adapt_json_value(extra, None),
                *tail,
            ),
        )
        if sql.returning:
            pk = cursor.fetchone()[0]
        else:
            pk = ops.last_insert_id(cursor, AuditEntry._meta.db_table, "id")
    return AuditEntry.from_db(alias, _FIELD_NAMES, (pk, seq, created_at, *fields, *tail))


# Every concrete column of AuditEntry but the primary key, in model order (the order of
# ``from_db``'s positional values after the key).
_INSERT_FIELDS = (
    "seq",
    "created_at",
    "company",
    "user",
    "user_pk",
    "username",
    "ip",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "extra",
    "hash_version",
    "prev_hash",
    "hash",
)
_CONCRETE = {field.name: field for field in AuditEntry._meta.concrete_fields}
_FIELD_NAMES = ["id", *(_CONCRETE[name].attname for name in _INSERT_FIELDS)]


@dataclass(frozen=True)
class _Statements:
    head: str
    insert: str
    returning: bool


_STATEMENTS: dict[str, _Statements] = {}


def _statements(conn: Any) -> _Statements:
    """The head-lock and insert statements for ``conn``'s database (built once per alias)."""
    found = _STATEMENTS.get(conn.alias)
    if found is not None:
        return found
    quote = conn.ops.quote_name
    head_table = quote(AuditChainHead._meta.db_table)
    seq_col = quote(AuditChainHead._meta.get_field("seq").column)
    hash_col = quote(AuditChainHead._meta.get_field("hash").column)
    pk_col = quote(AuditChainHead._meta.pk.column)
    returning = bool(conn.features.can_return_columns_from_insert)
    if conn.features.has_select_for_update:
        head = (
            f"SELECT {seq_col}, {hash_col} FROM {head_table}"  # noqa: S608
            f" WHERE {pk_col} = %s FOR UPDATE"
        )
    elif returning and getattr(conn, "transaction_mode", None) not in ("IMMEDIATE", "EXCLUSIVE"):
        # SQLite in deferred transactions: a write takes the database's write lock at once,
        # as FOR UPDATE would. (With IMMEDIATE or EXCLUSIVE transactions, the settings'
        # choice, the transaction holds the write lock from BEGIN: a plain read is enough.)
        head = (
            f"UPDATE {head_table} SET {seq_col} = {seq_col} WHERE {pk_col} = %s"  # noqa: S608
            f" RETURNING {seq_col}, {hash_col}"
        )
    else:
        head = f"SELECT {seq_col}, {hash_col} FROM {head_table} WHERE {pk_col} = %s"  # noqa: S608
    meta = AuditEntry._meta
    columns = ", ".join(quote(_CONCRETE[name].column) for name in _INSERT_FIELDS)
    marks = ", ".join(["%s"] * len(_INSERT_FIELDS))
    insert = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    if returning:
        insert += f" RETURNING {quote(meta.pk.column)}"
    found = _Statements(head, insert, returning)
    _STATEMENTS[conn.alias] = found
    return found


def head_ensure(*, using: str = "default") -> None:
    """Create the chain-head row if it is missing (after ``flush``)."""
    AuditChainHead.objects.using(using).get_or_create(
        pk=HEAD_PK, defaults={"seq": 0, "hash": GENESIS_HASH}
    )


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`.

    ``reason`` is one of ``"altered"`` (an entry's content no longer matches its hash),
    ``"deleted/missing"`` (a gap in ``seq``, or entries missing at the end of the chain),
    ``"inserted"`` (an entry that is not part of the chain: a repeated ``seq``, an entry past
    the chain head, an entry that does not link but whose own hash is consistent, or one its
    successor skips over) or ``"broken link"`` (an entry that neither links to its predecessor
    nor matches its own hash, as when rows are swapped or renumbered).
    ``first_bad_seq`` names the entry (for a gap: the first missing number); ``created_at`` is
    that entry's time (for a gap: the time of the entry after it).
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    created_at: Any = None
    detail: str = ""


def verify_chain(*, batch_size: int = 2000) -> VerifyResult:
    """Recompute the whole chain and name the first entry that does not fit.

    Streams the table in ``seq`` order in keyset batches (bounded memory at any size). For each
    entry: its ``seq`` must follow the previous one, its ``prev_hash`` must be the previous
    entry's hash, and its hash must match its content. The chain must end where the chain
    head (moved by the insert trigger) says it does. Entries appended while it runs are
    followed (the head is re-read), so a live system verifies without false alarms.
    """
    head = _load_head()
    expected_prev = GENESIS_HASH
    before_prev: str | None = None  # hash of the entry before the previous one
    prev: AuditEntry | None = None
    expected_seq = 1
    checked = 0
    last_key: tuple[int, int] | None = None
    while True:
        for entry in _iter_entries(batch_size, after=last_key):
            last_key = (entry.seq, entry.pk)
            checked += 1
            if entry.seq < expected_seq:
                return _bad(checked, entry, "inserted", "its sequence number appears twice")
            if head is None or entry.seq > head.seq:
                head = _load_head()  # it may have moved on since it was read
                if head is None or entry.seq > head.seq:
                    return _bad(checked, entry, "inserted", "it lies past the chain head")
            if entry.seq > expected_seq:
                return VerifyResult(
                    False,
                    checked,
                    expected_seq,
                    "deleted/missing",
                    entry.created_at,
                    f"entries {expected_seq} to {entry.seq - 1} are missing",
                )
            link_ok = entry.prev_hash == expected_prev
            content_ok = _hash_ok(entry)
            if link_ok and content_ok:
                before_prev, expected_prev = expected_prev, entry.hash
                prev = entry
                expected_seq += 1
                continue
            if link_ok:
                return _bad(checked, entry, "altered", "its content does not match its hash")
            if prev is not None and entry.prev_hash == before_prev:
                return _bad(checked - 1, prev, "inserted", "the next entry links past it")
            if content_ok:
                return _bad(checked, entry, "inserted", "it does not link to the previous entry")
            return _bad(checked, entry, "broken link", "it neither links nor matches its hash")
        head = _load_head()
        last_seq = expected_seq - 1
        more = AuditEntry.objects.filter(seq__gt=last_seq).exists()
        if not (head is not None and head.seq > last_seq and more):
            break
    if head is None:
        return VerifyResult(False, checked, None, "deleted/missing", None, "chain head missing")
    if head.seq > last_seq:
        return VerifyResult(
            False,
            checked,
            last_seq + 1,
            "deleted/missing",
            None,
            f"entries {last_seq + 1} to {head.seq} are missing at the end",
        )
    if head.hash != expected_prev:
        return VerifyResult(
            False,
            checked,
            last_seq or None,
            "altered",
            prev.created_at if prev else None,
            "the last entry's hash differs from the chain head's",
        )
    return VerifyResult(True, checked)


def _load_head() -> AuditChainHead | None:
    return AuditChainHead.objects.filter(pk=HEAD_PK).only("seq", "hash").first()


def _bad(checked: int, entry: AuditEntry, reason: str, detail: str) -> VerifyResult:
    return VerifyResult(False, checked, entry.seq, reason, entry.created_at, detail)


def _iter_entries(batch_size: int, *, after: tuple[int, int] | None = None) -> Iterator[AuditEntry]:
    """Entries ordered by ``(seq, pk)`` after the key ``after``, paged by keyset."""
    last_key = after
    while True:
        qs = AuditEntry.objects.order_by("seq", "pk")
        if last_key is not None:
            seq, pk = last_key
            qs = qs.filter(models.Q(seq__gt=seq) | models.Q(seq=seq, pk__gt=pk))
        page = list(qs[:batch_size])
        yield from page
        if len(page) < batch_size:
            return
        last_key = (page[-1].seq, page[-1].pk)


def _hash_ok(entry: AuditEntry) -> bool:
    """Content matches hash, and the user link (if still set) is the recorded user."""
    if entry.user_id is not None and entry.user_id != entry.user_pk:
        return False
    try:
        return compute_hash(entry.prev_hash, payload_of(entry), entry.hash_version) == entry.hash
    except (ValueError, TypeError):
        return False

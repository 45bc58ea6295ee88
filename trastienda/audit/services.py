"""Writing to the audit trail (and checking it).

:func:`audit_log` is the only writer of :class:`~trastienda.audit.models.AuditEntry`. It joins the
caller's transaction, so an entry exists exactly when the change it describes was committed.
:func:`verify_chain` recomputes the hash chain and names the first entry that does not fit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
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
    if action not in AuditAction.values:
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

    Two queries: ``SELECT ... FOR UPDATE`` of the chain head and the ``INSERT``; a trigger
    moves the head forward.
    """
    fields: dict[str, Any] = {
        "company_id": company_id,
        "user_id": user_pk,
        "username": _clip("username", username),
        "ip": _normalise_ip(ip),
        "action": str(action),
        "object_type": _clip("object_type", object_type),
        "object_id": _clip("object_id", object_id),
        "object_repr": _clip("object_repr", object_repr),
        "changes": json_safe(dict(changes or {})),
        "extra": json_safe(dict(extra or {})),
    }
    with transaction.atomic(savepoint=False):
        head = _lock_head()
        created_at = timezone.now()
        seq = head.seq + 1
        payload = {**fields, "seq": seq, "created_at": format_timestamp(created_at)}
        digest = compute_hash(head.hash, payload, CURRENT_VERSION)
        entry = AuditEntry(
            seq=seq,
            created_at=created_at,
            company_id=company_id,
            user_id=user_pk,
            user_pk=user_pk,
            username=fields["username"],
            ip=fields["ip"],
            action=fields["action"],
            object_type=fields["object_type"],
            object_id=fields["object_id"],
            object_repr=fields["object_repr"],
            changes=fields["changes"],
            extra=fields["extra"],
            hash_version=CURRENT_VERSION,
            prev_hash=head.hash,
            hash=digest,
        )
        entry.save(force_insert=True)
    return entry


def _lock_head() -> AuditChainHead:
    """Lock the chain head (creating it after a ``flush`` emptied the tables)."""
    qs = AuditChainHead.objects.select_for_update().only("seq", "hash")
    try:
        return qs.get(pk=HEAD_PK)
    except AuditChainHead.DoesNotExist:
        AuditChainHead.objects.get_or_create(pk=HEAD_PK, defaults={"seq": 0, "hash": GENESIS_HASH})
        return qs.get(pk=HEAD_PK)


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

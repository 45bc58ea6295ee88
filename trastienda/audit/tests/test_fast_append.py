"""The plain-SQL append writes exactly the row, and the hash, that the ORM append wrote."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils.safestring import mark_safe

from trastienda.audit import services
from trastienda.audit.hashing import (
    CURRENT_VERSION,
    compute_hash,
    format_timestamp,
    json_safe,
    payload_of,
)
from trastienda.audit.models import GENESIS_HASH, HEAD_PK, AuditChainHead, AuditEntry
from trastienda.audit.services import append_entry, audit_log, verify_chain
from trastienda.audit.tests.helpers import TABLE, sql

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 5, 17, 10, 11, 12, 345678, tzinfo=dt.UTC)
COLUMNS = [f.column for f in AuditEntry._meta.concrete_fields]
# Columns that depend on the entry's place in the chain.
PLACE = {"id", "seq", "prev_hash", "hash"}


def _reference_orm_append(**values: Any) -> AuditEntry:
    """The append as written before the plain-SQL path: ORM head lock, ORM insert."""
    fields: dict[str, Any] = {
        "company_id": values["company_id"],
        "user_id": values["user_pk"],
        "username": services._clip("username", values["username"]),
        "ip": services._normalise_ip(values["ip"]),
        "action": str(values["action"]),
        "object_type": services._clip("object_type", values["object_type"]),
        "object_id": services._clip("object_id", values["object_id"]),
        "object_repr": services._clip("object_repr", values["object_repr"]),
        "changes": json_safe(dict(values["changes"] or {})),
        "extra": json_safe(dict(values["extra"] or {})),
    }
    with transaction.atomic(savepoint=False):
        head = AuditChainHead.objects.select_for_update().only("seq", "hash").get(pk=HEAD_PK)
        created_at = services.timezone.now()
        seq = head.seq + 1
        payload = {**fields, "seq": seq, "created_at": format_timestamp(created_at)}
        entry = AuditEntry(
            seq=seq,
            created_at=created_at,
            user_pk=values["user_pk"],
            hash_version=CURRENT_VERSION,
            prev_hash=head.hash,
            hash=compute_hash(head.hash, payload, CURRENT_VERSION),
            **fields,
        )
        entry.save(force_insert=True)
    return entry


def _raw_row(pk: int) -> dict[str, Any]:
    """The row as the database driver returns it (on SQLite: the stored text itself)."""
    with connection.cursor() as cursor:
        names = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
        cursor.execute(f"SELECT {names} FROM {TABLE} WHERE id = %s", [pk])
        return dict(zip(COLUMNS, cursor.fetchone(), strict=True))


class Colour(enum.IntEnum):
    RED = 1


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    monkeypatch.setattr(services.timezone, "now", lambda: NOW)
    return NOW


def _cases(company: Any, user: Any) -> list[dict[str, Any]]:
    base = {
        "action": "update",
        "company_id": company.pk,
        "user_pk": user.pk,
        "username": "marta",
        "ip": "2001:DB8::1",
        "object_type": "ledger.journalentry",
        "object_id": "42",
        "object_repr": "Asiento ñ €",
        "changes": {
            "amount": [decimal.Decimal("10.50"), decimal.Decimal("12.00")],
            "date": [None, dt.date(2026, 1, 31)],
            "nested": {"k": [1, 2.5, True, None, "\x00x"], "a\x00": {"b", "a"}},
            "colour": [Colour.RED, None],
            "safe": [mark_safe("<b>"), "é"],
        },
        "extra": {"source": "web", "z": 1, "a": "x"},
    }
    return [
        base,
        {**base, "changes": None, "extra": None, "ip": None, "user_pk": None, "username": ""},
        {**base, "company_id": None, "ip": "not-an-ip", "object_repr": "x" * 500},
        {**base, "action": "create", "username": "u" * 300, "changes": {}, "extra": {"n": 0}},
    ]


def test_fast_append_writes_the_row_and_hash_of_the_orm_append(
    company: Any, accountant: Any, frozen_now: dt.datetime
) -> None:
    for values in _cases(company, accountant):
        fast = append_entry(**values)
        orm = _reference_orm_append(**values)
        assert orm.seq == fast.seq + 1
        assert orm.prev_hash == fast.hash
        fast_row, orm_row = _raw_row(fast.pk), _raw_row(orm.pk)
        # Everything but the chain position is stored identically (on SQLite, the very text
        # of the timestamp and of the JSON columns).
        assert {k: v for k, v in fast_row.items() if k not in PLACE} == {
            k: v for k, v in orm_row.items() if k not in PLACE
        }
        # The fast path's hash is the one the ORM path computes for the same position.
        stored = AuditEntry.objects.get(pk=fast.pk)
        assert compute_hash(stored.prev_hash, payload_of(stored), stored.hash_version) == (
            fast.hash
        )
        # The returned instance is the stored row.
        for field in AuditEntry._meta.concrete_fields:
            assert getattr(fast, field.attname) == getattr(stored, field.attname), field.name
        assert fast._state.adding is False
        assert fast._state.db == stored._state.db
    head = AuditChainHead.objects.get(pk=HEAD_PK)
    assert head.seq == AuditEntry.objects.order_by("-seq").first().seq  # type: ignore[union-attr]
    result = verify_chain(batch_size=3)
    assert (result.ok, result.checked) == (True, AuditEntry.objects.count())


def test_insert_columns_are_the_models_concrete_fields() -> None:
    """A new column on AuditEntry must be added to the plain-SQL insert too."""
    fields = [f.name for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    assert list(services._INSERT_FIELDS) == fields


def test_missing_head_is_created() -> None:
    assert AuditEntry.objects.count() == 0
    AuditChainHead.objects.all().delete()
    entry = audit_log(action="other")
    assert (entry.seq, entry.prev_hash) == (1, GENESIS_HASH)
    head = AuditChainHead.objects.get(pk=HEAD_PK)
    assert (head.seq, head.hash) == (1, entry.hash)
    assert verify_chain().ok is True


def test_failed_append_marks_the_enclosing_block_for_rollback() -> None:
    audit_log(action="other")
    with transaction.atomic():
        sql("UPDATE audit_auditchainhead SET seq = 0 WHERE id = 1")  # seq 1 exists already
        with pytest.raises(IntegrityError):
            audit_log(action="other")
        assert transaction.get_rollback() is True
    head = AuditChainHead.objects.get(pk=HEAD_PK)
    assert head.seq == 1
    assert verify_chain().ok is True


def test_json_safe_fast_paths_match_the_general_rules() -> None:
    value = {
        "a\x00": ["x\x00", True, False, 1, None, Colour.RED, mark_safe("s")],
        5: {"k": (1, 2)},
        "d": decimal.Decimal("1.0"),
    }
    result = json_safe(value)
    assert result == {
        "a\ufffd": ["x\ufffd", True, False, 1, None, 1, "s"],
        "5": {"k": [1, 2]},
        "d": "1.0",
    }
    assert type(result["a\ufffd"][5]) is int
    assert type(result["a\ufffd"][6]) is str


def test_deferred_sqlite_transactions_lock_the_head_by_writing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's transaction modes")
    audit_log(action="other")
    wrapper = connections[DEFAULT_DB_ALIAS]
    saved = wrapper.__dict__.get("transaction_mode")
    monkeypatch.setattr(services, "_STATEMENTS", {})
    wrapper.transaction_mode = "DEFERRED"
    try:
        entries = [audit_log(action="other", extra={"n": n}) for n in range(3)]
        assert services._statements(wrapper).head.startswith("UPDATE")
    finally:
        wrapper.transaction_mode = saved
    assert [e.seq for e in entries] == [2, 3, 4]
    assert AuditChainHead.objects.get(pk=HEAD_PK).hash == entries[-1].hash
    assert verify_chain().ok is True

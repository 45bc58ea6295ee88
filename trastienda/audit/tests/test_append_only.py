"""The database refuses to change or remove audit entries; verify names what was tampered."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from trastienda.audit import triggers
from trastienda.audit.hashing import compute_hash
from trastienda.audit.models import AuditChainHead, AuditEntry
from trastienda.audit.services import audit_log, verify_chain
from trastienda.audit.tests.helpers import TABLE, entries, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain() -> list[AuditEntry]:
    """Six entries: seq 1 to 6."""
    assert AuditEntry.objects.count() == 0
    for n in range(1, 7):
        audit_log(
            action="other",
            object_type="test.thing",
            object_id=str(n),
            object_repr=f"Thing {n}",
            changes={"n": [n - 1, n]},
        )
    return entries()


def verify_command() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", "--batch-size", "2", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def assert_broken(seq: int, reason: str) -> None:
    result = verify_chain(batch_size=2)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, seq, reason)
    code, text = verify_command()
    assert code == 1
    assert f"BROKEN at entry {seq} " in text
    assert f": {reason} (" in text


def test_triggers_installed() -> None:
    expected = {
        "sqlite": [
            "audit_entry_advance_head",
            "audit_entry_extends_chain",
            "audit_entry_no_delete",
            "audit_entry_no_update",
        ],
        "postgresql": [
            "audit_entry_advance_head",
            "audit_entry_append_only",
            "audit_entry_no_truncate",
        ],
    }[connection.vendor]
    assert triggers.installed(connection) == expected


def test_intact_chain_verifies(chain: list[AuditEntry]) -> None:
    result = verify_chain(batch_size=2)
    assert (result.ok, result.checked, result.first_bad_seq) == (True, 6, None)
    assert verify_command() == (0, "Audit trail intact: 6 entries verified.\n")


def test_empty_chain_verifies() -> None:
    assert verify_chain().ok is True
    assert verify_command()[0] == 0


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {TABLE} SET object_repr = 'forged' WHERE seq = 3",
        f"UPDATE {TABLE} SET user_id = NULL, username = 'nobody' WHERE seq = 3",
        f"DELETE FROM {TABLE} WHERE seq = 3",
        f"DELETE FROM {TABLE}",
    ],
)
def test_sql_update_and_delete_are_refused(chain: list[AuditEntry], statement: str) -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        sql(statement)
    assert entries() == chain
    assert [e.object_repr for e in entries()] == [f"Thing {n}" for n in range(1, 7)]
    assert verify_chain().ok is True


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_truncate_is_refused_on_postgresql(chain: list[AuditEntry]) -> None:
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no pending FK checks
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        sql(f"TRUNCATE {TABLE} CASCADE")
    assert AuditEntry.objects.count() == 6


def test_orm_update_and_delete_are_refused(chain: list[AuditEntry]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.filter(seq=2).update(action="login")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.filter(seq=2).delete()
    assert AuditEntry.objects.count() == 6


def test_insert_that_does_not_extend_the_chain_is_refused(chain: list[AuditEntry]) -> None:
    last = chain[-1]
    columns = (
        "seq, created_at, username, action, object_type, object_id, object_repr, changes, "
        "extra, hash_version, prev_hash, hash"
    )
    for seq, prev in ((9, last.hash), (7, "f" * 64)):
        with pytest.raises(IntegrityError, match="extend the chain"), transaction.atomic():
            sql(
                f"INSERT INTO {TABLE} ({columns}) VALUES "
                "(%s, %s, '', 'other', '', '', '', '{}', '{}', 1, %s, %s)",
                [seq, last.created_at, prev, "e" * 64],
            )
    assert AuditEntry.objects.count() == 6
    assert AuditChainHead.objects.get(pk=1).seq == 6


def test_deleting_a_user_keeps_their_entries_and_the_chain(make_user: Any) -> None:
    user = make_user("temp-user")
    entry = audit_log(action="login", user=user, ip="192.0.2.1")
    user.delete()
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.user_id, stored.user_pk, stored.username) == (None, entry.user_pk, "temp-user")
    assert verify_chain().ok is True


# --- tampering with the triggers lifted -----------------------------------------------------


def test_altered_field_is_detected(chain: list[AuditEntry]) -> None:
    with triggers.lifted(connection):
        sql(f"UPDATE {TABLE} SET object_repr = 'Thing 99' WHERE seq = 4")
    assert_broken(4, "altered")


def test_altered_changes_json_is_detected(chain: list[AuditEntry]) -> None:
    with triggers.lifted(connection):
        AuditEntry.objects.filter(seq=2).update(changes={"n": [1, 200]})
    assert_broken(2, "altered")


def test_user_link_pointed_at_someone_else_is_detected(
    chain: list[AuditEntry], make_user: Any
) -> None:
    other = make_user("mallory")
    # make_user writes no entries of its own (users are not business records).
    assert AuditEntry.objects.count() == 6
    with triggers.lifted(connection):
        AuditEntry.objects.filter(seq=5).update(user_id=other.pk)
    assert_broken(5, "altered")


def test_deleted_entry_is_detected(chain: list[AuditEntry]) -> None:
    with triggers.lifted(connection):
        sql(f"DELETE FROM {TABLE} WHERE seq = 3")
    assert_broken(3, "deleted/missing")
    result = verify_chain()
    assert result.created_at == chain[3].created_at  # the entry after the gap
    assert result.detail == "entries 3 to 3 are missing"


def test_deleted_last_entries_are_detected(chain: list[AuditEntry]) -> None:
    with triggers.lifted(connection):
        sql(f"DELETE FROM {TABLE} WHERE seq >= 5")
    assert_broken(5, "deleted/missing")


def test_deleted_and_renumbered_entry_is_detected(chain: list[AuditEntry]) -> None:
    with triggers.lifted(connection):
        sql(f"DELETE FROM {TABLE} WHERE seq = 3")
        for seq in (4, 5, 6):
            sql(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [seq - 1, seq])
        AuditChainHead.objects.filter(pk=1).update(seq=5)
    assert_broken(3, "broken link")


def _forge(seq: int, prev_hash: str, valid_hash: bool, template: AuditEntry) -> None:
    forged = AuditEntry(
        seq=seq,
        created_at=template.created_at,
        action="other",
        object_type="test.thing",
        object_id="666",
        object_repr="Forged",
        changes={"n": [0, 666]},
        extra={},
        hash_version=1,
        prev_hash=prev_hash,
        hash="d" * 64,
    )
    if valid_hash:
        from trastienda.audit.hashing import payload_of

        forged.hash = compute_hash(prev_hash, payload_of(forged))
    forged.save(force_insert=True)


def test_forged_entry_appended_past_the_head_is_detected(chain: list[AuditEntry]) -> None:
    with triggers.lifted(connection):
        _forge(7, chain[-1].hash, True, chain[-1])
    assert AuditChainHead.objects.get(pk=1).seq == 6  # no trigger moved it
    assert_broken(7, "inserted")


def test_forged_entry_inserted_in_the_middle_is_detected(chain: list[AuditEntry]) -> None:
    # The forger makes room at seq 4 and writes a self-consistent entry linking to entry 3.
    with triggers.lifted(connection):
        for seq in (6, 5, 4):
            sql(f"UPDATE {TABLE} SET seq = %s WHERE seq = %s", [seq + 1, seq])
        _forge(4, chain[2].hash, True, chain[2])
        AuditChainHead.objects.filter(pk=1).update(seq=7)
    assert_broken(4, "inserted")


def test_forged_entry_with_a_bad_link_is_detected(chain: list[AuditEntry]) -> None:
    # A gap left by a deleted entry, filled with a self-consistent forgery that links wrongly.
    with triggers.lifted(connection):
        sql(f"DELETE FROM {TABLE} WHERE seq = 4")
        _forge(4, "a" * 64, True, chain[3])
    assert_broken(4, "inserted")


def test_swapped_entries_are_detected(chain: list[AuditEntry]) -> None:
    a, b = chain[1], chain[4]  # seq 2 and 5
    columns = (
        "created_at",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "changes",
        "extra",
        "prev_hash",
        "hash",
    )
    with triggers.lifted(connection):
        # Move b out of the way, give a's contents to b's row and b's to a's row.
        AuditEntry.objects.filter(pk=b.pk).update(seq=1000, hash="tmp")
        AuditEntry.objects.filter(pk=a.pk).update(**{c: getattr(b, c) for c in columns})
        AuditEntry.objects.filter(pk=b.pk).update(seq=b.seq, **{c: getattr(a, c) for c in columns})
    assert_broken(2, "broken link")


def test_swapped_contents_keeping_the_hashes_are_detected(chain: list[AuditEntry]) -> None:
    a, b = chain[2], chain[3]
    columns = ("object_id", "object_repr", "changes")
    with triggers.lifted(connection):
        AuditEntry.objects.filter(pk=a.pk).update(**{c: getattr(b, c) for c in columns})
        AuditEntry.objects.filter(pk=b.pk).update(**{c: getattr(a, c) for c in columns})
    assert_broken(3, "altered")


def test_head_moved_back_is_detected(chain: list[AuditEntry]) -> None:
    AuditChainHead.objects.filter(pk=1).update(seq=4, hash=chain[3].hash)
    assert_broken(5, "inserted")


def test_triggers_come_back_after_lifting(chain: list[AuditEntry]) -> None:
    before = triggers.installed(connection)
    with triggers.lifted(connection):
        assert triggers.installed(connection) == []
    assert triggers.installed(connection) == before
    with pytest.raises(IntegrityError), transaction.atomic():
        sql(f"DELETE FROM {TABLE} WHERE seq = 1")


def test_entries_appended_during_verification_are_not_false_alarms(
    chain: list[AuditEntry], monkeypatch: Any
) -> None:
    from trastienda.audit import services

    stale = AuditChainHead.objects.get(pk=1)  # read before two more entries commit
    audit_log(action="other")
    audit_log(action="other")
    real = services._load_head
    calls = iter([stale])
    monkeypatch.setattr(services, "_load_head", lambda: next(calls, None) or real())
    result = verify_chain(batch_size=4)
    assert (result.ok, result.checked) == (True, 8)

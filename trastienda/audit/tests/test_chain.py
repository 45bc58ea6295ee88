"""The chain: hashing, linking, canonical values, defaults from the acting context."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from trastienda.audit.hashing import canonical_json, compute_hash, json_safe, payload_of
from trastienda.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from trastienda.audit.services import audit_log, verify_chain
from trastienda.audit.tests.helpers import entries, last_seq
from trastienda.core import context
from trastienda.documents.models import Document

pytestmark = pytest.mark.django_db


def test_chain_links_from_genesis_and_head_follows() -> None:
    assert AuditEntry.objects.count() == 0
    first = audit_log(action="other", extra={"n": 1})
    second = audit_log(action="other", extra={"n": 2})
    third = audit_log(action="export", extra={"n": 3})
    assert [e.seq for e in entries()] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    head = AuditChainHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (3, third.hash)
    assert verify_chain().ok is True
    assert verify_chain().checked == 3


def test_hash_is_sha256_over_prev_hash_and_canonical_json(company: Any, accountant: Any) -> None:
    created = dt.datetime(2025, 3, 1, 9, 30, 15, 250, tzinfo=dt.UTC)
    entry = audit_log(
        action="update",
        company=company,
        user=accountant,
        ip="192.0.2.7",
        object_type="documents.document",
        object_id="42",
        object_repr="Alquiler ñ",
        changes={"amount": [decimal.Decimal("10.50"), decimal.Decimal("12.00")]},
        extra={"b": 1, "a": "x"},
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    stamp = stored.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = (
        '{"action":"update","changes":{"amount":["10.50","12.00"]},'
        f'"company_id":{company.pk},"created_at":"{stamp}","extra":{{"a":"x","b":1}},'
        '"ip":"192.0.2.7","object_id":"42","object_repr":"Alquiler ñ",'
        f'"object_type":"documents.document","seq":{stored.seq},"user_id":{accountant.pk},'
        '"username":"marta"}'
    )
    expected = hashlib.sha256((stored.prev_hash + body).encode("utf-8")).hexdigest()
    assert stored.hash == expected
    assert stored.hash_version == 1
    assert compute_hash(stored.prev_hash, payload_of(stored)) == expected
    # The format of timestamps is fixed: microseconds, UTC, Z.
    assert json.loads(canonical_json({"t": json_safe(created)})) == {
        "t": "2025-03-01T09:30:15.000250Z"
    }


def test_values_are_made_json_safe_canonically(tmp_path: Any) -> None:
    doc = Document(title="x")
    doc.file.name = "documents/2025/01/a.pdf"
    value = {
        "decimal": decimal.Decimal("1.10"),
        "date": dt.date(2025, 1, 31),
        "datetime": dt.datetime(2025, 1, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "file": doc.file,
        "set": {"b", "a"},
        "tuple": (1, "two"),
        "bytes": b"\x00\x01",
        "float": 0.1,
        "nul": "a\x00b",
        3: "int key",
    }
    assert json_safe(value) == {
        "decimal": "1.10",
        "date": "2025-01-31",
        "datetime": "2025-01-31T22:00:00.000000Z",
        "uuid": "12345678-1234-5678-1234-567812345678",
        "file": "documents/2025/01/a.pdf",
        "set": ["a", "b"],
        "tuple": [1, "two"],
        "bytes": "<2 bytes>",
        "float": "0.1",
        "nul": "a\ufffdb",
        "3": "int key",
    }
    entry = audit_log(action="other", extra=value)
    assert AuditEntry.objects.get(pk=entry.pk).extra == json_safe(value)
    assert verify_chain().ok is True


def test_user_ip_and_company_come_from_the_acting_context(
    company: Any, other_company: Any, accountant: Any
) -> None:
    with context.acting(user=accountant, ip="2001:DB8::1", company=company, source="web"):
        plain = audit_log(action="export", extra={"rows": 3})
        doc = Document.objects.create(company=other_company, title="Otro")
        about = audit_log(action="export", obj=doc)
        explicit = audit_log(
            action="export", company=other_company, ip="198.51.100.1", username="someone-else"
        )
    assert (plain.company_id, plain.user_id, plain.user_pk, plain.username, plain.ip) == (
        company.pk,
        accountant.pk,
        accountant.pk,
        "marta",
        "2001:db8::1",
    )
    # An object's own company wins over the context's.
    assert about.company_id == other_company.pk
    assert (about.object_type, about.object_id, about.object_repr) == (
        "documents.document",
        str(doc.pk),
        "Otro",
    )
    assert (explicit.company_id, explicit.ip, explicit.username) == (
        other_company.pk,
        "198.51.100.1",
        "someone-else",
    )


def test_append_costs_the_head_lock_and_the_insert(django_assert_num_queries: Any) -> None:
    audit_log(action="other")
    with django_assert_num_queries(2):
        audit_log(action="other", extra={"x": 1})


def test_unknown_action_writes_nothing() -> None:
    before = last_seq()
    with pytest.raises(ValueError, match="unknown audit action"):
        audit_log(action="teleport")
    assert last_seq() == before
    assert AuditChainHead.objects.get(pk=1).seq == before


def test_invalid_ip_is_not_stored_and_long_texts_are_clipped() -> None:
    entry = audit_log(action="other", ip="not-an-ip", object_repr="x" * 500, username="u" * 300)
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.ip is None
    assert stored.object_repr == "x" * 200
    assert stored.username == "u" * 150
    assert verify_chain().ok is True


def test_entry_follows_the_callers_transaction(company: Any) -> None:
    before = last_seq()
    with pytest.raises(ValidationError), transaction.atomic():
        audit_log(action="export", company=company)
        raise ValidationError("boom")
    assert last_seq() == before
    assert AuditChainHead.objects.get(pk=1).seq == before
    assert verify_chain().ok is True

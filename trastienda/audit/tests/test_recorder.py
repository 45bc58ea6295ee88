"""Creates, updates and deletes of business records are recorded field by field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.test.utils import isolate_apps

from trastienda.audit import recorder
from trastienda.audit.models import AuditChainHead, AuditEntry
from trastienda.audit.services import verify_chain
from trastienda.audit.tests.helpers import entries, last_seq
from trastienda.core import context
from trastienda.core import services as core_services
from trastienda.core.models import Company, Membership, Role
from trastienda.documents.models import Document

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"


@pytest.fixture
def acting(company: Any, accountant: Any) -> Any:
    with context.acting(user=accountant, ip=IP, company=company, source="web") as ctx:
        yield ctx


def doc_entries(doc_pk: int) -> list[AuditEntry]:
    return entries(object_type="documents.document", object_id=str(doc_pk))


def test_tracked_models_cover_company_owned_and_core() -> None:
    tracked = set(recorder.tracked_models())
    assert {Document, Company, Role, Membership} <= tracked
    assert AuditEntry not in tracked


def test_document_create_update_delete_are_recorded_with_actor(
    company: Any, accountant: Any, acting: Any, django_assert_num_queries: Any
) -> None:
    with transaction.atomic():
        doc = Document(
            company=company, title="Lease", kind="contract", document_date=dt.date(2025, 1, 31)
        )
        with django_assert_num_queries(3):  # the insert, the head lock, the audit insert
            doc.save()
    [created] = doc_entries(doc.pk)
    assert created.action == "create"
    assert (created.company_id, created.user_id, created.username, created.ip) == (
        company.pk,
        accountant.pk,
        "marta",
        IP,
    )
    assert (created.object_repr, created.extra) == ("Lease", {"source": "web"})
    assert created.changes == {
        "company": [None, company.pk],
        "title": [None, "Lease"],
        "kind": [None, "contract"],
        "document_date": [None, "2025-01-31"],
        "size": [None, 0],
    }

    doc = Document.objects.get(pk=doc.pk)
    doc.title = "Lease 2025"
    doc.file.name = "documents/2025/01/lease.pdf"
    doc.size = 1234
    with transaction.atomic(), django_assert_num_queries(3):
        doc.save()
    updated = doc_entries(doc.pk)[-1]
    assert updated.action == "update"
    assert updated.changes == {
        "title": ["Lease", "Lease 2025"],
        "file": ["", "documents/2025/01/lease.pdf"],
        "size": [0, 1234],
    }  # updated_at (auto_now) is not in the diff

    with transaction.atomic():
        doc.delete()
    deleted = doc_entries(int(created.object_id))[-1]
    assert deleted.action == "delete"
    assert deleted.object_repr == "Lease 2025"
    assert deleted.changes == {
        "company": [company.pk, None],
        "title": ["Lease 2025", None],
        "kind": ["contract", None],
        "document_date": ["2025-01-31", None],
        "file": ["documents/2025/01/lease.pdf", None],
        "size": [1234, None],
    }
    assert [e.action for e in doc_entries(int(created.object_id))] == ["create", "update", "delete"]
    assert verify_chain().ok is True


def test_saving_without_changes_records_nothing(company: Any, acting: Any) -> None:
    doc = Document.objects.create(company=company, title="Policy")
    before = last_seq()
    doc.save()
    Document.objects.get(pk=doc.pk).save()
    assert last_seq() == before


def test_second_save_diffs_against_the_first(company: Any, acting: Any) -> None:
    doc = Document.objects.create(company=company, title="A")
    doc.title = "B"
    doc.save()
    doc.title = "C"
    doc.save()
    assert [e.changes for e in doc_entries(doc.pk)[1:]] == [
        {"title": ["A", "B"]},
        {"title": ["B", "C"]},
    ]


def test_update_fields_limit_the_diff(company: Any, acting: Any) -> None:
    doc = Document.objects.create(company=company, title="A", notes="n1")
    doc.title = "B"
    doc.notes = "n2"
    doc.save(update_fields=["notes"])
    assert doc_entries(doc.pk)[-1].changes == {"notes": ["n1", "n2"]}


def test_rolled_back_change_leaves_no_entry(company: Any, acting: Any) -> None:
    doc = Document.objects.create(company=company, title="Kept")
    before_seq = last_seq()
    before_head = AuditChainHead.objects.get(pk=1).hash
    with pytest.raises(ValidationError), transaction.atomic():
        Document.objects.create(company=company, title="Gone")
        doc.title = "Changed"
        doc.save()
        raise ValidationError("nope")
    assert last_seq() == before_seq
    assert AuditChainHead.objects.get(pk=1).hash == before_head
    assert not Document.objects.filter(title="Gone").exists()
    assert not AuditEntry.objects.filter(object_repr__in=["Gone", "Changed"]).exists()
    assert verify_chain().ok is True


def test_without_context_the_entry_has_no_user(company: Any) -> None:
    doc = Document.objects.create(company=company, title="Batch")
    [entry] = doc_entries(doc.pk)
    assert (entry.user_id, entry.username, entry.ip, entry.company_id) == (
        None,
        "",
        None,
        company.pk,
    )
    assert entry.extra == {"source": "system"}


def test_recording_can_be_switched_off_for_a_block(company: Any) -> None:
    before = last_seq()
    with recorder.recording_disabled():
        Document.objects.create(company=company, title="Quiet")
    assert last_seq() == before


def test_company_and_role_and_membership_changes_are_recorded(
    make_company: Any, make_user: Any
) -> None:
    company = make_company("NUEVA", legal_name="Nueva S.L.")
    created = entries(object_type="core.company", object_id=str(company.pk))
    assert [e.action for e in created] == ["create"]
    assert created[0].company_id == company.pk
    assert created[0].changes["legal_name"] == [None, "Nueva S.L."]
    assert created[0].changes["code"] == [None, "NUEVA"]
    roles = entries(object_type="core.role", action="create", company=company)
    assert len(roles) == Role.objects.filter(company=company).count() > 0

    core_services.company_update(company=company, legal_name="Nueva Ibérica S.L.")
    update = entries(object_type="core.company", object_id=str(company.pk))[-1]
    assert (update.action, update.changes) == (
        "update",
        {"legal_name": ["Nueva S.L.", "Nueva Ibérica S.L."]},
    )

    user = make_user("luis", company=company, role="clerk")
    membership = Membership.objects.get(company=company, user=user)
    [m_entry] = entries(object_type="core.membership", object_id=str(membership.pk))
    clerk = Role.objects.get(company=company, code="clerk")
    assert m_entry.action == "create"
    assert m_entry.changes["role"] == [None, clerk.pk]
    assert m_entry.changes["user"] == [None, user.pk]
    assert verify_chain().ok is True


def test_role_permission_changes_are_recorded_as_labels(company: Any, acting: Any) -> None:
    role = core_services.role_create(company=company, code="custom", name="Custom")
    view_doc = Permission.objects.get(codename="view_document")
    add_doc = Permission.objects.get(codename="add_document")
    export = Permission.objects.get(codename="export_data")
    start = last_seq()

    role.permissions.add(view_doc, add_doc)
    role.permissions.remove(add_doc)
    export.role_set.add(role)  # from the permission's side
    role.permissions.clear()

    changes = [
        e.changes for e in entries(object_type="core.role", object_id=str(role.pk), seq__gt=start)
    ]
    assert changes == [
        {"permissions": [[], ["documents.add_document", "documents.view_document"]]},
        {
            "permissions": [
                ["documents.add_document", "documents.view_document"],
                ["documents.view_document"],
            ]
        },
        {
            "permissions": [
                ["documents.view_document"],
                ["core.export_data", "documents.view_document"],
            ]
        },
        {"permissions": [["core.export_data", "documents.view_document"], []]},
    ]
    last = entries(seq__gt=start)[-1]
    assert (last.action, last.company_id, last.user_id, last.ip) == (
        "update",
        company.pk,
        context.current().user.pk,
        IP,
    )
    # Adding a permission the role already has changes nothing and records nothing.
    role.permissions.add(view_doc)
    before = last_seq()
    role.permissions.add(view_doc)
    assert last_seq() == before


def test_secret_fields_are_never_recorded_by_value() -> None:
    spec = recorder._Spec(
        object_type="x.y",
        fields=(
            recorder._Field("api_token", "api_token", True),
            recorder._Field("name", "name", False),
        ),
        is_company=False,
    )
    assert recorder._diff(
        spec, {"api_token": "old-secret", "name": "a"}, {"api_token": "new-secret", "name": "b"}
    ) == {"api_token": ["***", "***"], "name": ["a", "b"]}
    assert recorder._diff(spec, None, {"api_token": "s3cr3t", "name": "a"}) == {
        "api_token": [None, "***"],
        "name": [None, "a"],
    }


@isolate_apps("trastienda.audit")
def test_secret_field_names_are_detected() -> None:
    class SecretThing(models.Model):
        title = models.CharField(max_length=10)
        password_hash = models.CharField(max_length=10)
        webhook_secret = models.CharField(max_length=10)
        stamp = models.DateTimeField(auto_now=True)

        def __str__(self) -> str:
            return str(self.title)

    spec = recorder._spec_for(SecretThing)
    assert [(f.name, f.secret) for f in spec.fields] == [
        ("title", False),
        ("password_hash", True),
        ("webhook_secret", True),
    ]

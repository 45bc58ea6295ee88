"""The audit trail page: auditors and administrators only, company-scoped, filters, export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from trastienda.audit.models import AuditEntry
from trastienda.audit.services import audit_log, verify_chain
from trastienda.audit.tests.helpers import entries
from trastienda.core import context
from trastienda.documents.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(make_user: Any, company: Any) -> Any:
    return make_user("ines", company=company, role="auditor")


@pytest.fixture
def docs(company: Any, other_company: Any, accountant: Any) -> dict[str, Any]:
    with context.acting(user=accountant, ip="192.0.2.10", company=company):
        lease = Document.objects.create(company=company, title="Lease", kind="contract")
        lease.title = "Lease 2025"
        lease.save()
        policy = Document.objects.create(company=company, title="Policy")
        audit_log(action="export", company=company, object_repr="documents.csv")
    foreign = Document.objects.create(company=other_company, title="Contratto")
    return {"lease": lease, "policy": policy, "foreign": foreign}


def list_url(company: Any, **query: Any) -> str:
    url = reverse("audit:entry_list", kwargs={"company": company.code})
    if query:
        from urllib.parse import urlencode

        url += "?" + urlencode(query)
    return url


def shown_seqs(response: Any) -> list[int]:
    table = response.context["table"]
    return [row.record.seq for row in table.paginated_rows]


def test_urls() -> None:
    assert reverse("audit:entry_list", kwargs={"company": "ACME"}) == "/c/ACME/audit/"
    assert reverse("audit:entry_detail", kwargs={"company": "ACME", "pk": 7}) == "/c/ACME/audit/7/"


def test_auditor_sees_only_the_companys_entries(
    login: Any, auditor: Any, company: Any, docs: dict[str, Any]
) -> None:
    response = login(auditor).get(list_url(company))
    assert response.status_code == 200
    seqs = shown_seqs(response)
    expected = list(
        AuditEntry.objects.filter(company=company).order_by("-seq").values_list("seq", flat=True)
    )[:25]
    assert seqs == expected
    foreign = entries(object_type="documents.document", object_id=str(docs["foreign"].pk))
    assert foreign and foreign[0].seq not in seqs
    assert "Lease 2025" in response.content.decode()


def test_administrator_may_open_the_page(
    login: Any, make_user: Any, company: Any, docs: dict[str, Any]
) -> None:
    admin_user = make_user("ana", company=company, role="administrator")
    assert login(admin_user).get(list_url(company)).status_code == 200


def test_accountant_is_denied_and_the_denial_is_audited(
    login: Any, accountant: Any, company: Any
) -> None:
    response = login(accountant).get(list_url(company))
    assert response.status_code == 403
    [denied] = entries(action="permission_denied")
    assert (denied.user_id, denied.company_id, denied.extra["permission"]) == (
        accountant.pk,
        company.pk,
        "core.view_all_audit",
    )


def test_non_member_gets_404(login: Any, make_user: Any, other_company: Any, company: Any) -> None:
    outsider = make_user("olga", company=other_company, role="auditor")
    assert login(outsider).get(list_url(company)).status_code == 404


def test_menu_shows_the_audit_trail_to_auditors_only(
    client: Any, login: Any, auditor: Any, accountant: Any, company: Any
) -> None:
    home = reverse("documents:document_list", kwargs={"company": company.code})
    assert list_url(company) in login(auditor).get(list_url(company)).content.decode()
    client.logout()
    assert list_url(company) not in login(accountant).get(home).content.decode()


def test_filters(
    login: Any, auditor: Any, accountant: Any, company: Any, docs: dict[str, Any]
) -> None:
    client = login(auditor)
    lease = docs["lease"]
    lease_seqs = [
        e.seq for e in reversed(entries(object_type="documents.document", object_id=str(lease.pk)))
    ]
    assert (
        shown_seqs(
            client.get(list_url(company, object_type="documents.document", object_id=str(lease.pk)))
        )
        == lease_seqs
    )
    [export] = entries(action="export", company=company)
    assert shown_seqs(client.get(list_url(company, action="export"))) == [export.seq]
    by_user = shown_seqs(client.get(list_url(company, user=accountant.pk)))
    assert by_user == list(
        AuditEntry.objects.filter(company=company, user_pk=accountant.pk)
        .order_by("-seq")
        .values_list("seq", flat=True)
    )
    assert len(by_user) == 4
    assert shown_seqs(client.get(list_url(company, q="lease 2025"))) == [lease_seqs[0]]
    assert shown_seqs(client.get(list_url(company, q="Policy"))) == [
        entries(object_type="documents.document", object_id=str(docs["policy"].pk))[0].seq
    ]
    today = timezone.localdate()
    assert (
        len(
            shown_seqs(
                client.get(
                    list_url(company, date_from=today.isoformat(), date_to=today.isoformat())
                )
            )
        )
        > 0
    )
    tomorrow = today + dt.timedelta(days=1)
    assert shown_seqs(client.get(list_url(company, date_from=tomorrow.isoformat()))) == []
    yesterday = today - dt.timedelta(days=1)
    assert shown_seqs(client.get(list_url(company, date_to=yesterday.isoformat()))) == []


def test_detail_shows_field_changes_and_the_objects_history(
    login: Any, auditor: Any, company: Any, docs: dict[str, Any]
) -> None:
    update = entries(object_type="documents.document", object_id=str(docs["lease"].pk))[-1]
    url = reverse("audit:entry_detail", kwargs={"company": company.code, "pk": update.pk})
    response = login(auditor).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<code>title</code></td><td>Lease</td><td>Lease 2025</td>" in html
    assert [e["entry"].seq for e in response.context["history"]] == [
        e.seq
        for e in reversed(
            entries(object_type="documents.document", object_id=str(docs["lease"].pk))
        )
    ]
    assert update.hash in html


def test_detail_of_another_companys_entry_is_404(
    login: Any, auditor: Any, company: Any, docs: dict[str, Any]
) -> None:
    foreign = entries(object_type="documents.document", object_id=str(docs["foreign"].pk))[0]
    url = reverse("audit:entry_detail", kwargs={"company": company.code, "pk": foreign.pk})
    assert login(auditor).get(url).status_code == 404


def test_export_csv_and_xlsx_follow_filters_and_are_audited(
    login: Any, auditor: Any, company: Any, docs: dict[str, Any]
) -> None:
    client = login(auditor)
    lease = docs["lease"]
    query = {"object_type": "documents.document", "object_id": str(lease.pk)}
    response = client.get(list_url(company, export="csv", **query))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert "Changes" in header
    changes_col = header.index("Changes")
    assert [r[changes_col] for r in body] == [
        '{"title":["Lease","Lease 2025"]}',
        f'{{"company":[null,{company.pk}],"kind":[null,"contract"],"size":[null,0],'
        '"title":[null,"Lease"]}',
    ]
    [export] = entries(action="export", object_type="audit.auditentry")
    assert (export.user_id, export.company_id, export.extra["rows"]) == (auditor.pk, company.pk, 2)

    response = client.get(list_url(company, export="xlsx", **query))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 3
    assert verify_chain().ok is True

"""The generic object views, exercised through the document archive."""

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from trastienda.documents import services
from trastienda.documents.models import Document

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def url(company, name, **kw):
    return reverse(f"documents:{name}", kwargs={"company": company.code, **kw})


@pytest.fixture
def docs(company):
    return [
        services.document_create(
            company=company,
            title="Lease contract",
            kind="contract",
            reference="=CMD|calc",
            document_date=date(2026, 1, 10),
        ),
        services.document_create(
            company=company, title="Privacy policy", kind="policy", document_date=date(2026, 2, 1)
        ),
        services.document_create(
            company=company,
            title="Bank letter",
            kind="correspondence",
            document_date=date(2026, 3, 5),
        ),
    ]


def test_list_filters_searches_and_sorts(client, accountant, company, other_company, docs):
    services.document_create(company=other_company, title="Lease of the other company")
    client.force_login(accountant)
    page = client.get(url(company, "document_list"), {"q": "lease"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Lease contract" in body and "other company" not in body
    page = client.get(url(company, "document_list"), {"kind": "policy"})
    assert (
        "Privacy policy" in page.content.decode() and "Lease contract" not in page.content.decode()
    )
    page = client.get(url(company, "document_list"), {"sort": "title"})
    titles = [row.record.title for row in page.context["table"].page.object_list]
    assert titles == ["Bank letter", "Lease contract", "Privacy policy"]


def test_export_csv_and_xlsx_neutralise_and_follow_filters(client, accountant, company, docs):
    client.force_login(accountant)
    response = client.get(url(company, "document_list"), {"kind": "contract", "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Title"
    assert len(rows) == 2
    assert "'=CMD|calc" in rows[1]
    response = client.get(url(company, "document_list"), {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 4


def test_export_requires_permission(client, make_user, company, docs):
    clerk = make_user("pablo", company=company, role="clerk")
    client.force_login(clerk)
    assert client.get(url(company, "document_list"), {"export": "csv"}).status_code == 403


def test_other_company_object_answers_404(client, accountant, other_company, company):
    foreign = services.document_create(company=other_company, title="Secret")
    client.force_login(accountant)
    assert client.get(url(company, "document_detail", pk=foreign.pk)).status_code == 404
    assert client.get(url(other_company, "document_list")).status_code == 404
    assert (
        client.post(url(company, "document_delete", pk=foreign.pk), {"confirm": "1"}).status_code
        == 404
    )
    assert Document.objects.filter(pk=foreign.pk).exists()


def test_create_with_upload_and_edit(csrf_client, accountant, company):
    csrf_client.force_login(accountant)
    page = csrf_client.get(url(company, "document_add"))
    token = page.cookies["csrftoken"].value
    upload = SimpleUploadedFile("deed.pdf", PDF, content_type="application/pdf")
    response = csrf_client.post(
        url(company, "document_add"),
        {
            "csrfmiddlewaretoken": token,
            "title": "Deed",
            "kind": "legal",
            "document_date": "2026-04-01",
            "file": upload,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    document = Document.objects.get(company=company, title="Deed")
    assert document.size == len(PDF) and document.original_name == "deed.pdf"
    download = csrf_client.get(url(company, "document_download", pk=document.pk))
    assert b"".join(download.streaming_content) == PDF
    response = csrf_client.post(
        url(company, "document_edit", pk=document.pk),
        {
            "csrfmiddlewaretoken": token,
            "title": "Deed of sale",
            "kind": "legal",
        },
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.title == "Deed of sale" and document.size == len(PDF)


def test_invalid_form_names_the_field_and_writes_nothing(client, accountant, company):
    client.force_login(accountant)
    response = client.post(
        url(company, "document_add"),
        {
            "title": "",
            "kind": "nonsense",
            "document_date": "2026-05-01",
            "retain_until": "2026-01-01",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "title" in errors and "kind" in errors
    assert Document.objects.count() == 0


def test_wrong_file_type_refused(client, accountant, company):
    client.force_login(accountant)
    fake = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00binary", content_type="application/pdf")
    response = client.post(
        url(company, "document_add"), {"title": "Fake", "kind": "other", "file": fake}
    )
    assert response.status_code == 400
    assert "file" in response.context["form"].errors
    assert Document.objects.count() == 0


def test_csrf_enforced_on_create(csrf_client, accountant, company):
    csrf_client.force_login(accountant)
    response = csrf_client.post(url(company, "document_add"), {"title": "x", "kind": "other"})
    assert response.status_code == 403
    assert Document.objects.count() == 0


def test_role_without_add_permission_is_denied(client, make_user, company):
    auditor = make_user("ines", company=company, role="auditor")
    client.force_login(auditor)
    assert client.get(url(company, "document_list")).status_code == 200
    assert client.get(url(company, "document_add")).status_code == 403
    response = client.post(url(company, "document_add"), {"title": "x", "kind": "other"})
    assert response.status_code == 403
    assert Document.objects.count() == 0


def test_bulk_delete_confirms_then_deletes(client, accountant, company, docs):
    client.force_login(accountant)
    pks = [docs[0].pk, docs[1].pk]
    confirm = client.post(url(company, "document_bulk_delete"), {"pk": pks})
    assert confirm.status_code == 200 and Document.objects.count() == 3
    done = client.post(url(company, "document_bulk_delete"), {"pk": pks, "confirm": "1"})
    assert done.status_code == 302
    assert list(Document.objects.values_list("title", flat=True)) == ["Bank letter"]


def test_column_choice_is_saved_per_user(client, accountant, company, docs):
    client.force_login(accountant)
    client.post(
        reverse("core:table_columns"),
        {"table": "documents.document", "columns": ["title", "size"], "next": "/"},
    )
    page = client.get(url(company, "document_list"))
    visible = [c.name for c in page.context["table"].columns if c.visible]
    assert visible == ["pk", "title", "size", "download"]
    response = client.get(url(company, "document_list"), {"export": "csv"})
    header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == ["Title", "Size"]


def test_htmx_inline_validation_saves_nothing(client, accountant, company):
    client.force_login(accountant)
    response = client.post(
        url(company, "document_add") + "?validate=1",
        {"title": "", "kind": "other"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()
    assert Document.objects.count() == 0


def test_global_search_finds_documents(client, accountant, company, docs):
    client.force_login(accountant)
    response = client.get(reverse("search", kwargs={"company": company.code}), {"q": "policy"})
    assert response.status_code == 200
    assert "Privacy policy" in response.content.decode()


def test_list_query_count_is_constant(client, accountant, company, django_assert_max_num_queries):
    for i in range(30):
        services.document_create(company=company, title=f"Doc {i}")
    client.force_login(accountant)
    with django_assert_max_num_queries(20):
        assert client.get(url(company, "document_list")).status_code == 200


def test_long_export_runs_as_a_job_with_a_file(
    client, accountant, company, monkeypatch, django_capture_on_commit_callbacks
):
    from trastienda.core import generic
    from trastienda.core.models import Job

    monkeypatch.setattr(generic, "EXPORT_SYNC_LIMIT", 2)
    for i in range(5):
        services.document_create(company=company, title=f"Doc {i}", kind="policy")
    services.document_create(company=company, title="Contract", kind="contract")
    client.force_login(accountant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url(company, "document_list"), {"kind": "policy", "export": "csv"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert response["Location"].endswith(f"/jobs/{job.pk}/")
    assert job.status == Job.Status.DONE, job.error  # huey runs immediately in tests
    assert job.progress_done == 5 and job.progress_total == 5
    content = job.result_file.read().decode("utf-8-sig")
    assert content.count("Doc ") == 5 and "Contract" not in content


def test_xlsx_export_keeps_dates_typed(client, accountant, company, docs):
    import datetime as dt

    client.force_login(accountant)
    client.post(
        reverse("core:table_columns"),
        {"table": "documents.document", "columns": ["title", "kind", "document_date"], "next": "/"},
    )
    response = client.get(url(company, "document_list"), {"export": "xlsx", "sort": "-title"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]] == ["Title", "Kind", "Date"]
    assert [c.value for c in sheet[2]] == [
        "Privacy policy",
        "Policy or procedure",
        dt.datetime(2026, 2, 1),  # noqa: DTZ001 - Excel dates are naive
    ]
    assert sheet["A4"].value == "Bank letter"

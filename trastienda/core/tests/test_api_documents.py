"""The documents endpoints: uploads, downloads, pagination, filters, idempotency, query count."""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from trastienda.core.models import IdempotencyKey
from trastienda.documents.models import Document

DOCS = "/api/v1/documents/"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


def token_client(user: Any, company: str | None = None) -> APIClient:
    client = APIClient()
    token, _created = Token.objects.get_or_create(user=user)
    headers = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    if company:
        headers["HTTP_X_COMPANY"] = company
    client.credentials(**headers)
    return client


def upload(name: str, content: bytes) -> io.BytesIO:
    f = io.BytesIO(content)
    f.name = name
    return f


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root: Any) -> list[Any]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- uploads and downloads ------------------------------------------------------------------


def test_upload_and_download_a_pdf(accountant: Any, company: Any, media: Any) -> None:
    client = token_client(accountant)
    response = client.post(
        DOCS,
        {
            "title": "Lease",
            "kind": "contract",
            "document_date": "2024-03-01",
            "file": upload("../Lease 2024.pdf", PDF),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    doc = Document.objects.get()
    assert body == {
        "id": doc.pk,
        "title": "Lease",
        "kind": "contract",
        "reference": "",
        "document_date": "2024-03-01",
        "retain_until": None,
        "notes": "",
        "original_name": "Lease 2024.pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "download_url": f"/api/v1/documents/{doc.pk}/download/",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert doc.company == company
    assert doc.file.name.startswith("documents/") and doc.file.name.endswith(".pdf")
    assert ".." not in doc.file.name

    download = client.get(body["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="Lease 2024.pdf"'


def test_exe_renamed_pdf_is_refused_and_nothing_is_written(accountant: Any, media: Any) -> None:
    response = token_client(accountant).post(
        DOCS, {"title": "Invoice", "file": upload("invoice.pdf", EXE)}, format="multipart"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["file"]
    assert error["fields"]["file"][0].startswith("invoice.pdf does not contain what its extension")
    assert error["message"].startswith("file: invoice.pdf")
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_upload_of_a_forbidden_extension(accountant: Any, media: Any) -> None:
    response = token_client(accountant).post(
        DOCS, {"title": "Tool", "file": upload("setup.exe", EXE)}, format="multipart"
    )
    assert response.status_code == 400
    assert "are not accepted" in response.json()["error"]["fields"]["file"][0]
    assert not Document.objects.exists()


def test_upload_over_the_size_limit(accountant: Any, media: Any, settings: Any) -> None:
    settings.TRASTIENDA_MAX_UPLOAD_BYTES = 50
    response = token_client(accountant).post(
        DOCS, {"title": "Big", "file": upload("big.pdf", PDF)}, format="multipart"
    )
    assert response.status_code == 400
    assert "the limit is 50" in response.json()["error"]["fields"]["file"][0]
    assert not Document.objects.exists()


def test_replacing_the_file_updates_its_facts(accountant: Any, media: Any) -> None:
    client = token_client(accountant)
    pk = client.post(
        DOCS, {"title": "Notes", "file": upload("a.txt", b"first")}, format="multipart"
    ).json()["id"]
    response = client.patch(
        f"{DOCS}{pk}/", {"file": upload("b.csv", b"a;b\n1;2\n")}, format="multipart"
    )
    assert response.status_code == 200
    assert (response.json()["original_name"], response.json()["size"]) == ("b.csv", 8)
    download = client.get(f"{DOCS}{pk}/download/")
    assert b"".join(download.streaming_content) == b"a;b\n1;2\n"


def test_service_rules_name_the_field_and_write_nothing(accountant: Any, media: Any) -> None:
    response = token_client(accountant).post(
        DOCS,
        {
            "title": "Lease",
            "document_date": "2024-03-01",
            "retain_until": "2024-01-01",
            "file": upload("lease.pdf", PDF),
        },
        format="multipart",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"] == {
        "retain_until": ["The retention date cannot be before the document date."]
    }
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_delete_removes_the_file(
    accountant: Any, media: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = token_client(accountant)
    pk = client.post(
        DOCS, {"title": "Scan", "file": upload("scan.pdf", PDF)}, format="multipart"
    ).json()["id"]
    assert len(stored_files(media)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{DOCS}{pk}/").status_code == 204
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_download_without_file_is_404(accountant: Any, company: Any) -> None:
    doc = Document.objects.create(company=company, title="Paper only")
    client = token_client(accountant)
    assert client.get(f"{DOCS}{doc.pk}/").json()["download_url"] is None
    response = client.get(f"{DOCS}{doc.pk}/download/")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "This document has no file."


def test_download_needs_the_view_permission(make_user: Any, company: Any, media: Any) -> None:
    from trastienda.core.models import Role

    clerk = make_user("pablo", company=company, role="clerk")
    client = token_client(clerk)
    pk = client.post(
        DOCS, {"title": "Scan", "file": upload("scan.pdf", PDF)}, format="multipart"
    ).json()["id"]
    role = Role.objects.get(company=company, code="clerk")
    role.permissions.remove(*role.permissions.filter(codename="view_document"))
    response = client.get(f"{DOCS}{pk}/download/")
    assert response.status_code == 403
    assert "documents.view_document" in response.json()["error"]["message"]


# --- lists: pagination, filters, search, ordering, query count -----------------------------


@pytest.fixture
def archive(company: Any, other_company: Any) -> list[Document]:
    rows = [
        Document(
            company=company,
            title="Lease office",
            kind="contract",
            document_date=date(2024, 1, 10),
            reference="C-1",
        ),
        Document(
            company=company,
            title="Supplier terms",
            kind="contract",
            document_date=date(2024, 2, 10),
            notes="signed by the supplier",
        ),
        Document(
            company=company, title="Privacy policy", kind="policy", document_date=date(2024, 3, 10)
        ),
        Document(
            company=company,
            title="Letter to the bank",
            kind="correspondence",
            document_date=date(2024, 4, 10),
        ),
        Document(
            company=other_company,
            title="Lease contratto",
            kind="contract",
            document_date=date(2024, 1, 10),
        ),
    ]
    return Document.objects.bulk_create(rows)


def titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def test_pagination(accountant: Any, archive: list[Document]) -> None:
    client = token_client(accountant)
    first = client.get(DOCS, {"page_size": 3})
    body = first.json()
    assert body["count"] == 4
    assert titles(first) == ["Letter to the bank", "Privacy policy", "Supplier terms"]
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/v1/documents/?page=2&page_size=3"
    second = client.get(body["next"])
    assert titles(second) == ["Lease office"]
    assert second.json()["next"] is None
    out_of_range = client.get(DOCS, {"page": 9})
    assert out_of_range.status_code == 404
    assert out_of_range.json()["error"]["code"] == "not_found"


def test_filters_search_and_ordering(accountant: Any, archive: list[Document]) -> None:
    client = token_client(accountant)
    assert titles(client.get(DOCS, {"kind": "contract", "ordering": "title"})) == [
        "Lease office",
        "Supplier terms",
    ]
    assert titles(client.get(DOCS, {"q": "lease"})) == ["Lease office"]
    assert titles(client.get(DOCS, {"q": "supplier signed"})) == ["Supplier terms"]
    assert titles(client.get(DOCS, {"q": "C-1"})) == ["Lease office"]
    assert titles(
        client.get(
            DOCS, {"date_from": "2024-02-01", "date_to": "2024-03-31", "ordering": "document_date"}
        )
    ) == ["Supplier terms", "Privacy policy"]
    assert titles(client.get(DOCS, {"ordering": "-title"}))[0] == "Supplier terms"


def test_invalid_filter_value_names_the_filter(accountant: Any, archive: list[Document]) -> None:
    response = token_client(accountant).get(DOCS, {"date_from": "yesterday", "kind": "poem"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"date_from", "kind"}


def test_document_list_query_count(
    accountant: Any, company: Any, archive: list[Document], django_assert_num_queries: Any
) -> None:
    Document.objects.bulk_create([Document(company=company, title=f"Extra {n}") for n in range(20)])
    client = token_client(accountant, "ACME")
    # token+user, company, membership+role, role permissions, count, page
    with django_assert_num_queries(6):
        response = client.get(DOCS)
    assert response.json()["count"] == 24


# --- idempotency ------------------------------------------------------------------------------


def test_idempotent_replay_returns_the_first_result(accountant: Any) -> None:
    client = token_client(accountant)
    payload = {"title": "Contract", "kind": "contract"}
    first = client.post(DOCS, payload, HTTP_IDEMPOTENCY_KEY="key-1")
    second = client.post(DOCS, payload, HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Document.objects.count() == 1
    key = IdempotencyKey.objects.get()
    assert (key.user, key.key, key.method, key.path, key.status_code) == (
        accountant,
        "key-1",
        "POST",
        DOCS,
        201,
    )
    # Another key creates another document.
    assert client.post(DOCS, payload, HTTP_IDEMPOTENCY_KEY="key-2").status_code == 201
    assert Document.objects.count() == 2


def test_same_key_with_another_payload_is_422(accountant: Any) -> None:
    client = token_client(accountant)
    assert client.post(DOCS, {"title": "A"}, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    response = client.post(DOCS, {"title": "B"}, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Document.objects.values_list("title", flat=True)) == ["A"]


def test_keys_belong_to_one_user(accountant: Any, make_user: Any, company: Any) -> None:
    other = make_user("luis", company=company, role="accountant")
    payload = {"title": "Contract"}
    assert token_client(accountant).post(DOCS, payload, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert token_client(other).post(DOCS, payload, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert Document.objects.count() == 2


def test_failed_request_does_not_use_up_the_key(accountant: Any) -> None:
    client = token_client(accountant)
    bad = client.post(DOCS, {"kind": "contract"}, HTTP_IDEMPOTENCY_KEY="retry-me")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = client.post(
        DOCS, {"title": "Fixed", "kind": "contract"}, HTTP_IDEMPOTENCY_KEY="retry-me"
    )
    assert good.status_code == 201
    assert Document.objects.count() == 1


def test_idempotent_upload_replay(accountant: Any, media: Any) -> None:
    client = token_client(accountant)
    first = client.post(
        DOCS,
        {"title": "Scan", "file": upload("scan.pdf", PDF)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-1",
    )
    again = client.post(
        DOCS,
        {"title": "Scan", "file": upload("scan.pdf", PDF)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-1",
    )
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert Document.objects.count() == 1
    assert len(stored_files(media)) == 1
    other = client.post(
        DOCS,
        {"title": "Scan", "file": upload("scan.pdf", PDF + b"x")},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-1",
    )
    assert other.status_code == 422


def test_expired_key_may_be_used_again(accountant: Any, settings: Any) -> None:
    client = token_client(accountant)
    assert client.post(DOCS, {"title": "A"}, HTTP_IDEMPOTENCY_KEY="old").status_code == 201
    IdempotencyKey.objects.update(
        created_at=timezone.now() - settings.TRASTIENDA_IDEMPOTENCY_TTL - timedelta(seconds=1)
    )
    response = client.post(DOCS, {"title": "A"}, HTTP_IDEMPOTENCY_KEY="old")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Document.objects.count() == 2
    assert IdempotencyKey.objects.count() == 1


def test_malformed_idempotency_key(accountant: Any) -> None:
    response = token_client(accountant).post(DOCS, {"title": "A"}, HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert not Document.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_once(make_user: Any, make_company: Any) -> None:
    """Four simultaneous requests with one key: one document, four identical answers."""
    if connection.vendor != "postgresql":
        pytest.skip("the in-memory SQLite test database cannot take concurrent writers")
    company = make_company("ACME")
    user = make_user("marta", company=company, role="accountant")
    key = Token.objects.create(user=user).key
    barrier = threading.Barrier(4)
    results: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []

    def post() -> None:
        from django.db import connections

        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
            barrier.wait(timeout=10)
            response = client.post(DOCS, {"title": "Once"}, HTTP_IDEMPOTENCY_KEY="race")
            results.append((response.status_code, response.content))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert [status for status, _body in results] == [201] * 4
    assert len({body for _status, body in results}) == 1
    assert Document.objects.filter(title="Once").count() == 1
    assert IdempotencyKey.objects.filter(key="race").count() == 1

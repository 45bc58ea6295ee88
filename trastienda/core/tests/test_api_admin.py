"""API of roles, members, notifications and audit entries."""

import pytest
from rest_framework.test import APIClient

from trastienda.core.models import Membership, Notification


@pytest.fixture
def api(make_user, company):
    def make(role: str) -> APIClient:
        user = make_user(f"api-{role}", company=company, role=role)
        client = APIClient()
        client.force_authenticate(user)
        client.credentials(HTTP_X_COMPANY=company.code)
        client.user = user
        return client

    return make


def test_roles_are_listed_with_translated_names(api):
    client = api("accountant")
    client.credentials(HTTP_X_COMPANY="ACME", HTTP_ACCEPT_LANGUAGE="es")
    response = client.get("/api/v1/roles/")
    assert response.status_code == 403  # accountants do not see roles
    admin = api("administrator")
    response = admin.get("/api/v1/roles/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    names = {r["code"]: r["name"] for r in response.json()["results"]}
    assert names["accountant"] == "Contable"


def test_member_add_change_and_last_admin_rule(api, company):
    admin = api("administrator")
    response = admin.post(
        "/api/v1/members/",
        {"username": "nuria", "email": "n@example.com", "role": "clerk"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    member = Membership.objects.get(company=company, user__username="nuria")
    assert member.role.code == "clerk" and not member.user.has_usable_password()
    response = admin.patch(f"/api/v1/members/{member.pk}/", {"role": "auditor"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "auditor"
    mine = Membership.objects.get(user=admin.user)
    response = admin.patch(f"/api/v1/members/{mine.pk}/", {"role": "clerk"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["error"]["fields"]
    mine.refresh_from_db()
    assert mine.role.code == "administrator"


def test_member_with_role_of_another_company_is_refused(api, company, other_company):
    admin = api("administrator")
    before = Membership.objects.count()
    response = admin.post(
        "/api/v1/members/", {"username": "x1", "role": "nonexistent"}, format="json"
    )
    assert response.status_code == 400 and "role" in response.json()["error"]["fields"]
    assert Membership.objects.count() == before


def test_notifications_are_the_users_own(api, make_user, company):
    client = api("clerk")
    other = make_user("someone", company=company, role="clerk")
    Notification.objects.create(user=client.user, message="Export ready")
    Notification.objects.create(user=other, message="Not yours")
    response = client.get("/api/v1/notifications/")
    assert [n["message"] for n in response.json()["results"]] == ["Export ready"]
    assert client.post("/api/v1/notifications/read/").status_code == 204
    assert not Notification.objects.filter(user=client.user, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=other, read_at__isnull=True).exists()


def test_audit_entries_for_auditors_only(api, company, other_company):
    from trastienda.documents.services import document_create

    document_create(company=company, title="Lease")
    document_create(company=other_company, title="Theirs")
    assert api("accountant").get("/api/v1/audit-entries/").status_code == 403
    response = api("auditor").get("/api/v1/audit-entries/", {"action": "create"})
    assert response.status_code == 200
    reprs = [e["object_repr"] for e in response.json()["results"]]
    assert "Lease" in reprs and "Theirs" not in reprs

"""Compliance pages and API: who may see and do what, the run page, the workflow forms,
the procedures pages, exports; API refusals answer 4xx and write nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from trastienda.audit.models import AuditEntry
from trastienda.trading import compliance
from trastienda.trading.models import Alert, ComplianceRule, Procedure, ProcedureVersion
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book, past_business_day

pytestmark = pytest.mark.django_db

Data = Callable[..., dict[str, Any]]
API = "/api/v1/trading/"


def url(book: Book, rest: str) -> str:
    return f"/c/{book.company.code}/trading/compliance/{rest}"


@pytest.fixture
def world(book: Book, trade_data: Data) -> dict[str, Any]:
    day = past_business_day()
    trade_book(company=book.company, **trade_data(quantity="2000"))
    late = compliance.compliance_rule_create(
        company=book.company, code="LATE", name="Late", kind="late_booking"
    )
    compliance.compliance_rule_create(
        company=book.company, code="POS", name="Position", kind="position_limit", limit="1000"
    )
    compliance.compliance_run(company=book.company, date=day)
    procedure = compliance.procedure_create(
        company=book.company,
        code="PROC",
        title="Reconciliation",
        body="One <script>alert(1)</script>\nTwo",
        effective_from=day,
        controls=[late],
    )
    compliance.procedure_version_add(
        procedure=procedure, body="One\nTwo\nThree", effective_from=day, change_note="Three"
    )
    return {"day": day, "procedure": procedure, "late": late}


@pytest.fixture
def oper(login: Callable[[Any], Client], operator: Any) -> Client:
    return login(operator)


def test_pages_for_operations(oper: Client, book: Book, world: dict[str, Any]) -> None:
    alert = Alert.objects.get(rule__code="LATE")
    procedure = world["procedure"]
    for page in (
        "",
        "run/",
        "rules/",
        f"rules/{world['late'].pk}/",
        "rules/add/",
        f"rules/{world['late'].pk}/edit/",
        "restricted/",
        "restricted/add/",
        "alerts/",
        "alerts/?state=open&severity=medium&q=late",
        f"alerts/{alert.pk}/",
        "procedures/",
        f"procedures/{procedure.pk}/",
        f"procedures/{procedure.pk}/versions/?a=1&b=2",
        f"procedures/{procedure.pk}/versions/add/",
        "procedures/add/",
    ):
        response = oper.get(url(book, page))
        assert response.status_code == 200, page
    detail = oper.get(url(book, f"procedures/{procedure.pk}/")).content.decode()
    assert "One<br>Two<br>Three" in detail
    versions = oper.get(url(book, f"procedures/{procedure.pk}/versions/?a=1&b=2")).content.decode()
    assert "&lt;script&gt;" in versions and "<script>alert(1)" not in versions
    assert 'data-kind="add"' in versions
    rule_page = oper.get(url(book, f"rules/{world['late'].pk}/")).content.decode()
    assert "Reconciliation" in rule_page
    dashboard = oper.get(url(book, "")).content.decode()
    assert 'id="kind-chart"' in dashboard
    export = oper.get(url(book, "alerts/?export=csv"))
    assert export.status_code == 200
    assert b"LATE" in export.content
    assert oper.get(url(book, "alerts/?export=xlsx")).status_code == 200


def test_pages_refused_without_permission(
    login: Callable[[Any], Client], clerk: Any, book: Book, world: dict[str, Any]
) -> None:
    client = login(clerk)
    alert = Alert.objects.first()
    assert alert is not None
    for page in ("", "run/", "rules/", "alerts/", f"alerts/{alert.pk}/", "procedures/"):
        assert client.get(url(book, page)).status_code == 403, page
    assert client.post(url(book, "run/"), {"date": world["day"]}).status_code == 403


def test_auditor_reads_but_does_not_run(
    login: Callable[[Any], Client], make_user: Any, book: Book, world: dict[str, Any]
) -> None:
    auditor = make_user("audit", company=book.company, role="auditor")
    client = login(auditor)
    alert = Alert.objects.get(rule__code="LATE")
    assert client.get(url(book, "alerts/")).status_code == 200
    page = client.get(url(book, f"alerts/{alert.pk}/")).content.decode()
    assert 'id="close-form"' not in page
    assert client.get(url(book, "run/")).status_code == 403
    closing = client.post(url(book, f"alerts/{alert.pk}/close/"), {"justification": "x"})
    assert closing.status_code == 403
    assert Alert.objects.get(pk=alert.pk).state == "open"


def test_run_page_and_workflow_forms(oper: Client, operator: Any, book: Book, world: Any) -> None:
    day = world["day"]
    response = oper.post(url(book, "run/"), {"date": day.isoformat()})
    assert response.status_code == 200
    assert "0 new alerts, 2 already raised" in response.content.decode()
    future = (day + dt.timedelta(days=3650)).isoformat()
    assert oper.post(url(book, "run/"), {"date": future}).status_code == 400
    alert = Alert.objects.get(rule__code="LATE")
    entries = AuditEntry.objects.count()
    refused = oper.post(url(book, f"alerts/{alert.pk}/close/"), {"justification": ""})
    assert refused.status_code == 400
    assert AuditEntry.objects.count() == entries
    assert (
        oper.post(url(book, f"alerts/{alert.pk}/assign/"), {"owner": operator.pk}).status_code
        == 302
    )
    assert (
        oper.post(url(book, f"alerts/{alert.pk}/justify/"), {"text": "Outage"}).status_code == 302
    )
    done = oper.post(url(book, f"alerts/{alert.pk}/close/"), {"justification": "Confirmed"})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert (alert.state, alert.owner) == ("closed", operator)
    page = oper.get(url(book, f"alerts/{alert.pk}/")).content.decode()
    assert 'data-step="justify"' in page and 'id="reopen-form"' in page
    again = oper.post(url(book, f"alerts/{alert.pk}/justify/"), {"text": "more"})
    assert again.status_code == 400


def test_rule_and_procedure_forms(oper: Client, book: Book, world: Any) -> None:
    bad = oper.post(
        url(book, "rules/add/"),
        {
            "code": "EXP",
            "name": "Exposure",
            "kind": "exposure_limit",
            "severity": "high",
            "limit": "100.001",
            "currency": "EUR",
            "active": "on",
        },
    )
    assert bad.status_code == 400
    assert not ComplianceRule.objects.filter(code="EXP").exists()
    good = oper.post(
        url(book, "rules/add/"),
        {
            "code": "SIZE",
            "name": "Size",
            "kind": "unusual_size",
            "severity": "low",
            "multiple": "4",
            "lookback": "10",
            "active": "on",
        },
    )
    assert good.status_code == 302
    size = ComplianceRule.objects.get(code="SIZE")
    assert size.params == {"multiple": "4", "lookback": 10, "min_history": 5}
    procedure = world["procedure"]
    added = oper.post(
        url(book, f"procedures/{procedure.pk}/versions/add/"),
        {
            "body": "One\nTwo\nThree\nFour",
            "effective_from": world["day"].isoformat(),
            "change_note": "Four",
        },
    )
    assert added.status_code == 302
    assert procedure.versions.count() == 3
    same = oper.post(
        url(book, f"procedures/{procedure.pk}/versions/add/"),
        {
            "body": "One\nTwo\nThree\nFour",
            "effective_from": world["day"].isoformat(),
            "change_note": "again",
        },
    )
    assert same.status_code == 400
    assert (
        oper.post(
            url(book, f"procedures/{procedure.pk}/controls/link/"), {"rule": size.pk}
        ).status_code
        == 302
    )
    assert set(procedure.controls.values_list("code", flat=True)) == {"LATE", "SIZE"}
    assert (
        oper.post(
            url(book, f"procedures/{procedure.pk}/controls/link/"), {"rule": size.pk}
        ).status_code
        == 400
    )
    assert (
        oper.post(
            url(book, f"procedures/{procedure.pk}/controls/unlink/"), {"rule": size.pk}
        ).status_code
        == 302
    )
    assert oper.get(url(book, f"procedures/{procedure.pk}/delete/")).status_code == 403


# --- API --------------------------------------------------------------------------------------


@pytest.fixture
def api(operator: Any, book: Book) -> APIClient:
    client = APIClient()
    client.force_authenticate(operator)
    client.credentials(HTTP_X_COMPANY=book.company.code)
    return client


def test_api_rules_and_restricted(api: APIClient, book: Book, world: Any) -> None:
    count = ComplianceRule.objects.count()
    bad = api.post(
        f"{API}compliance-rules/",
        {"code": "P2", "name": "P", "kind": "position_limit", "limit": "1.1234567"},
        format="json",
    )
    assert bad.status_code == 400
    assert "limit" in bad.json()["error"]["fields"]
    assert ComplianceRule.objects.count() == count
    made = api.post(
        f"{API}compliance-rules/",
        {"code": "P2", "name": "P", "kind": "position_limit", "limit": "2500.5", "trader": "T1"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["limit"], made.json()["trader"]) == ("2500.5", "T1")
    patched = api.patch(
        f"{API}compliance-rules/{made.json()['id']}/", {"limit": "3000"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["limit"] == "3000"
    refused = api.delete(f"{API}compliance-rules/{world['late'].pk}/")
    assert refused.status_code == 400
    restricted = api.post(
        f"{API}restricted-list/",
        {"instrument": "SAN", "reason": "Inside information", "valid_from": "2026-01-05"},
        format="json",
    )
    assert restricted.status_code == 201
    overlap = api.post(
        f"{API}restricted-list/",
        {"instrument": "SAN", "reason": "again", "valid_from": "2026-02-01"},
        format="json",
    )
    assert overlap.status_code == 400
    assert "valid_from" in overlap.json()["error"]["fields"]


def test_api_alerts_run_and_workflow(
    api: APIClient, book: Book, world: Any, make_user: Any, operator: Any
) -> None:
    day = world["day"].isoformat()
    run = api.post(f"{API}alerts/run/", {"date": day}, format="json")
    assert run.status_code == 201
    assert (run.json()["raised"], run.json()["already"]) == (0, 2)
    listed = api.get(f"{API}alerts/", {"state": "open", "kind": "late_booking"})
    assert listed.status_code == 200
    [alert] = listed.json()["results"]
    pk = alert["id"]
    chief = make_user("chief", company=book.company, role="operations")
    make_user("stranger")
    entries = AuditEntry.objects.count()
    for step, body, field in (
        ("assign", {"owner": "stranger"}, "owner"),
        ("justify", {"text": ""}, "text"),
        ("escalate", {"to": "chief"}, "comment"),
        ("escalate", {"to": operator.username, "comment": "x"}, "to"),
        ("close", {}, "justification"),
        ("reopen", {"reason": "x"}, "state"),
    ):
        response = api.post(f"{API}alerts/{pk}/{step}/", body, format="json")
        assert response.status_code == 400, (step, response.json())
        assert field in response.json()["error"]["fields"], (step, response.json())
    assert AuditEntry.objects.count() == entries
    assert Alert.objects.get(pk=pk).state == "open"
    escalated = api.post(
        f"{API}alerts/{pk}/escalate/", {"to": "chief", "comment": "Repeated"}, format="json"
    )
    assert escalated.status_code == 200
    assert (escalated.json()["state"], escalated.json()["escalated_to"]) == ("escalated", "chief")
    mine = api.post(f"{API}alerts/{pk}/close/", {"justification": "ok"}, format="json")
    assert mine.status_code == 400
    chief_api = APIClient()
    chief_api.force_authenticate(chief)
    chief_api.credentials(HTTP_X_COMPANY=book.company.code)
    closed = chief_api.post(f"{API}alerts/{pk}/close/", {"justification": "Checked"}, format="json")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_api_procedures(api: APIClient, book: Book, world: Any) -> None:
    bad = api.post(
        f"{API}procedures/", {"code": "PROC", "title": "Dup", "body": "x"}, format="json"
    )
    assert bad.status_code == 400
    assert "code" in bad.json()["error"]["fields"]
    made = api.post(
        f"{API}procedures/",
        {"code": "EXP", "title": "Expiry process", "body": "Step 1", "controls": ["POS"]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["controls"], made.json()["current_version"]) == (["POS"], 1)
    pk = made.json()["id"]
    added = api.post(
        f"{API}procedures/{pk}/versions/",
        {
            "body": "Step 1\nStep 2",
            "effective_from": dt.date.today().isoformat(),  # noqa: DTZ011
            "change_note": "Step 2",
        },
        format="json",
    )
    assert added.status_code == 201 and added.json()["version"] == 2
    refused = api.post(
        f"{API}procedures/{pk}/versions/",
        {"body": "Step 1\nStep 2", "change_note": ""},
        format="json",
    )
    assert refused.status_code == 400
    assert ProcedureVersion.objects.filter(procedure_id=pk).count() == 2
    listed = api.get(f"{API}procedures/{pk}/versions/")
    assert [v["version"] for v in listed.json()] == [2, 1]
    linked = api.post(f"{API}procedures/{pk}/link/", {"rule": "LATE"}, format="json")
    assert linked.status_code == 200 and linked.json()["controls"] == ["LATE", "POS"]
    assert (
        api.post(f"{API}procedures/{pk}/link/", {"rule": "NOPE"}, format="json").status_code == 400
    )
    assert api.put(f"{API}procedures/{pk}/", {}, format="json").status_code == 405
    assert api.delete(f"{API}procedures/{pk}/").status_code == 405
    assert Procedure.objects.count() == 2


def test_api_refused_without_permission(make_user: Any, book: Book, world: Any) -> None:
    clerk = make_user("clerk2", company=book.company, role="clerk")
    client = APIClient()
    client.force_authenticate(clerk)
    client.credentials(HTTP_X_COMPANY=book.company.code)
    assert client.get(f"{API}alerts/").status_code == 403
    assert client.post(f"{API}alerts/run/", {"date": world["day"].isoformat()}).status_code == 403
    assert client.get(f"{API}procedures/").status_code == 403

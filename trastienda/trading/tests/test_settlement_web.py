"""Pages and API of settlement: who may see and do what, actions through the pages, exports,
and 4xx answers on bad transitions with nothing written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from trastienda.ledger import services as ledger
from trastienda.ledger.models import JournalEntry
from trastienda.trading import settlement
from trastienda.trading.models import ApprovalLimit, SettlementInstruction, Trade
from trastienda.trading.services import trade_amend, trade_book
from trastienda.trading.tests.conftest import Book
from trastienda.trading.tests.test_settlement import ES_ACCOUNTS

pytestmark = pytest.mark.django_db

Data = Callable[..., dict[str, Any]]
S = SettlementInstruction.Status
API = "/api/v1/trading/"


def url(book: Book, path: str) -> str:
    return f"/c/{book.company.code}/trading/{path}"


@pytest.fixture
def books(book: Book) -> Book:
    today = timezone.localdate()
    for year in {today.year, today.year - 1}:
        ledger.fiscal_year_create(
            company=book.company,
            name=str(year),
            start_date=dt.date(year, 1, 1),
            end_date=dt.date(year, 12, 31),
        )
    settlement.settings_update(company=book.company, journal="GEN", **ES_ACCOUNTS)
    return book


@pytest.fixture
def second(make_user: Callable[..., Any], company: Any) -> Any:
    return make_user("oper2", company=company, role="operations")


@pytest.fixture
def instruction(books: Book, trade_data: Data, operator: Any) -> SettlementInstruction:
    trade = trade_book(company=books.company, **trade_data())
    settlement.instructions_generate(
        company=books.company, trade_date=trade.trade_date, user=operator
    )
    return SettlementInstruction.objects.get()


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user: Any, company: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_X_COMPANY=company.code)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "instructions/",
        "instructions/?out_of_date=true&status=pending",
        "instructions/generate/",
        "instructions/approvals/",
        "settlement/fails/",
        "settlement/projections/",
        "settlement/projections/?days=30",
        "settlement/settings/",
        "approval-limits/",
        "approval-limits/add/",
    ],
)
def test_pages_render(
    books: Book, instruction: SettlementInstruction, operator: Any, path: str
) -> None:
    response = client_for(operator).get(url(books, path))
    assert response.status_code == 200, path


def test_detail_and_history(
    books: Book, instruction: SettlementInstruction, operator: Any, second: Any
) -> None:
    page = client_for(operator).get(instruction.get_absolute_url()).content.decode()
    assert "FO-1" in page and 'id="settle-form"' in page and 'id="approve-submit"' not in page
    trade_amend(company=books.company, trade_id="FO-1", price="4")
    page = client_for(second).get(instruction.get_absolute_url()).content.decode()
    assert 'id="out-of-date"' in page and 'id="regenerate-submit"' in page
    listed = client_for(operator).get(url(books, "instructions/?out_of_date=true"))
    assert "FO-1" in listed.content.decode()
    listed = client_for(operator).get(url(books, "instructions/?out_of_date=false"))
    assert "FO-1" not in listed.content.decode()


def test_clerk_is_refused(books: Book, instruction: SettlementInstruction, clerk: Any) -> None:
    client = client_for(clerk)
    for path in ("instructions/", "settlement/fails/", "settlement/projections/"):
        assert client.get(url(books, path)).status_code == 403, path
    assert client.get(instruction.get_absolute_url()).status_code == 403
    response = client.post(url(books, f"instructions/{instruction.pk}/settle/"))
    assert response.status_code == 403
    instruction.refresh_from_db()
    assert instruction.status == S.PENDING


def test_actions_through_the_pages(
    books: Book, trade_data: Data, operator: Any, second: Any
) -> None:
    settlement.approval_limit_create(company=books.company, currency="EUR", amount="100")
    trade = trade_book(company=books.company, **trade_data())
    client = client_for(operator)
    response = client.post(
        url(books, "instructions/generate/"), {"trade_date": trade.trade_date.isoformat()}
    )
    assert response.status_code == 302
    item = SettlementInstruction.objects.get()
    assert (item.status, item.created_by) == (S.AWAITING_APPROVAL, operator)
    # the generator cannot approve: 400, nothing changed
    response = client.post(url(books, f"instructions/{item.pk}/approve/"))
    assert response.status_code == 400
    assert "cannot approve" in response.content.decode()
    item.refresh_from_db()
    assert item.status == S.AWAITING_APPROVAL
    queue = client_for(second).get(url(books, "instructions/approvals/")).content.decode()
    assert f'data-instruction="{item.pk}"' in queue
    own = client.get(url(books, "instructions/approvals/")).content.decode()
    assert f'data-instruction="{item.pk}"' not in own
    other = client_for(second)
    assert other.post(url(books, f"instructions/{item.pk}/approve/")).status_code == 302
    response = other.post(url(books, f"instructions/{item.pk}/fail/"), {"fail-reason": ""})
    assert response.status_code == 400
    response = other.post(url(books, f"instructions/{item.pk}/settle/"), {"settled_on": "x"})
    assert response.status_code == 400
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = other.post(url(books, f"instructions/{item.pk}/settle/"), {"settled_on": future})
    assert response.status_code == 400 and "future" in response.content.decode()
    assert JournalEntry.objects.count() == 0
    response = other.post(
        url(books, f"instructions/{item.pk}/settle/"),
        {"settled_on": trade.settlement_date.isoformat()},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == S.SETTLED and item.entry is not None
    page = other.get(item.get_absolute_url()).content.decode()
    assert 'id="ledger-entry"' in page
    response = other.post(url(books, f"instructions/{item.pk}/cancel/"), {"cancel-reason": "x"})
    assert response.status_code == 302
    assert JournalEntry.objects.filter(reversal_of=item.entry).exists()


def test_bulk_actions(books: Book, trade_data: Data, operator: Any, second: Any) -> None:
    for n in (1, 2):
        trade_book(company=books.company, **trade_data(trade_id=f"FO-{n}"))
    day = Trade.objects.first().trade_date  # type: ignore[union-attr]
    settlement.instructions_generate(company=books.company, trade_date=day, user=operator)
    pks = list(SettlementInstruction.objects.values_list("pk", flat=True))
    client = client_for(second)
    response = client.post(
        url(books, "instructions/bulk/"), {"pk": pks, "action": "approve"}, follow=True
    )
    assert "Nothing was changed" in response.content.decode()  # pending: nothing to approve
    response = client.post(
        url(books, "instructions/bulk/"),
        {"pk": pks, "action": "settle", "settled_on": day.isoformat()},
    )
    assert response.status_code == 302
    assert set(SettlementInstruction.objects.values_list("status", flat=True)) == {S.SETTLED}
    assert JournalEntry.objects.count() == 2


def test_exports(books: Book, instruction: SettlementInstruction, operator: Any) -> None:
    client = client_for(operator)
    settlement.instruction_fail(instruction=instruction, reason="No securities")
    for path in (
        "settlement/fails/?export=xlsx",
        "settlement/projections/?export=xlsx",
        "instructions/?export=xlsx",
    ):
        response = client.get(url(books, path))
        assert response.status_code == 200, path
        assert response["Content-Disposition"].endswith('.xlsx"')
    csv = client.get(url(books, "settlement/fails/?export=csv")).content.decode()
    assert "FO-1" in csv and "-6189.89" in csv and "No securities" in csv


def test_settings_page_and_limits(books: Book, operator: Any, clerk: Any) -> None:
    from trastienda.ledger.models import Account

    client = client_for(operator)
    group = Account.objects.get(company=books.company, code="54")
    response = client.post(
        url(books, "settlement/settings/"),
        {"securities_account": group.pk, "reminder_days": 5, "cost_method": "fifo"},
    )
    assert response.status_code == 400  # a group is not offered
    fees = Account.objects.get(company=books.company, code="669")
    response = client.post(
        url(books, "settlement/settings/"),
        {
            "fees_account": fees.pk,
            "reminder_days": 7,
            "cost_method": "average",
            "reconcile_keys": ["trade_date", "instrument", "side", "broker"],
            "price_tolerance_bp": "2.5",
            "fees_tolerance": 3,
        },
    )
    assert response.status_code == 302
    found = settlement.trading_settings(books.company)
    assert (found.fees_account, found.reminder_days, found.cost_method) == (fees, 7, "average")
    assert found.reconcile_keys == ["trade_date", "instrument", "side", "broker"]
    assert (found.price_tolerance_bp, found.fees_tolerance) == (Decimal("2.5"), 3)
    response = client.post(url(books, "approval-limits/add/"), {"currency": "usd", "amount": "5"})
    assert response.status_code == 302
    limit = ApprovalLimit.objects.get()
    assert (limit.currency, limit.amount) == ("USD", 500)
    assert client.get(limit.get_absolute_url()).status_code == 200
    response = client.post(url(books, "approval-limits/add/"), {"currency": "USD", "amount": "9"})
    assert response.status_code == 400 and ApprovalLimit.objects.count() == 1
    assert client_for(clerk).post(url(books, "settlement/settings/"), {}).status_code == 403


# --- API ------------------------------------------------------------------------------------


def test_api_generate_and_transitions(
    books: Book, trade_data: Data, operator: Any, second: Any
) -> None:
    trade = trade_book(company=books.company, **trade_data())
    api = api_for(operator, books.company)
    settlement.approval_limit_create(company=books.company, currency="EUR", amount="1000")
    response = api.post(
        f"{API}instructions/generate/", {"trade_date": trade.trade_date.isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["awaiting_approval"] == 1
    created = body["created"][0]
    assert (created["cash_amount"], created["gross_amount"], created["status"]) == (
        "-6189.89",
        "6185.19",
        "awaiting_approval",
    )
    pk = created["id"]
    assert api.post(f"{API}instructions/generate/", {}, format="json").status_code == 400
    before = SettlementInstruction.objects.get().status
    refused = api.post(f"{API}instructions/{pk}/approve/")
    assert refused.status_code == 400
    assert "approved_by" in refused.json()["error"]["fields"]
    refused = api.post(f"{API}instructions/{pk}/settle/", {}, format="json")
    assert refused.status_code == 400 and "status" in refused.json()["error"]["fields"]
    assert SettlementInstruction.objects.get().status == before
    assert JournalEntry.objects.count() == 0
    other = api_for(second, books.company)
    assert other.post(f"{API}instructions/{pk}/approve/").status_code == 200
    assert other.post(f"{API}instructions/{pk}/fail/", {}, format="json").status_code == 400
    assert other.post(f"{API}instructions/{pk}/match/").json()["status"] == "matched"
    settled = other.post(
        f"{API}instructions/{pk}/settle/",
        {"settled_on": trade.settlement_date.isoformat()},
        format="json",
    )
    assert settled.status_code == 200 and settled.json()["entry"]
    assert other.post(f"{API}instructions/{pk}/match/").status_code == 400
    regen = other.post(f"{API}instructions/{pk}/regenerate/")
    assert regen.status_code == 400 and "trade_version" in regen.json()["error"]["fields"]
    listed = other.get(f"{API}instructions/", {"status": "settled"}).json()
    assert [i["trade_id"] for i in listed["results"]] == ["FO-1"]
    assert listed["results"][0]["out_of_date"] is False


def test_api_permissions(books: Book, instruction: SettlementInstruction, clerk: Any) -> None:
    api = api_for(clerk, books.company)
    assert api.get(f"{API}instructions/").status_code == 403
    assert api.post(f"{API}instructions/{instruction.pk}/match/").status_code == 403
    instruction.refresh_from_db()
    assert instruction.status == S.PENDING


def test_api_limits_reports_settings(
    books: Book, instruction: SettlementInstruction, operator: Any
) -> None:
    api = api_for(operator, books.company)
    made = api.post(f"{API}approval-limits/", {"currency": "EUR", "amount": "2500.5"})
    assert made.status_code == 201, made.content
    assert made.json()["amount"] == "2500.50"
    bad = api.post(f"{API}approval-limits/", {"currency": "EUR", "amount": "1"})
    assert bad.status_code == 400 and ApprovalLimit.objects.count() == 1
    pk = made.json()["id"]
    changed = api.patch(f"{API}approval-limits/{pk}/", {"amount": "10"}, format="json")
    assert changed.status_code == 200 and changed.json()["amount"] == "10.00"
    assert api.delete(f"{API}approval-limits/{pk}/").status_code == 204
    settlement.instruction_fail(instruction=instruction, reason="No cash")
    fails = api.get(f"{API}settlement/fails/").json()
    assert fails["brokers"][0]["instructions"][0]["trade_id"] == "FO-1"
    projections = api.get(
        f"{API}settlement/projections/",
        {"start": instruction.settlement_date.isoformat(), "days": 2},
    ).json()
    assert projections["cash"]["EUR"][0] == "-6189.89"
    assert api.get(f"{API}settlement/projections/", {"days": 0}).status_code == 400
    rows = api.get(f"{API}settings/").json()
    assert rows[0]["securities_account"] == "540" and rows[0]["journal"] == "GEN"
    settings_pk = rows[0]["id"]
    bad = api.patch(f"{API}settings/{settings_pk}/", {"fees_account": "62"}, format="json")
    assert bad.status_code == 400 and "fees_account" in bad.json()["error"]["fields"]
    good = api.patch(f"{API}settings/{settings_pk}/", {"fees_account": "669"}, format="json")
    assert good.status_code == 200 and good.json()["fees_account"] == "669"

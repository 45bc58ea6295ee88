"""Confirmations and reconciliation: a FIX file imported through the page, a trade date
reconciled through the page, breaks listed, assigned and resolved; a re-run keeps an assigned
break and resolves what went away; who may do what; the API and the command line."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import simplefix
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from trastienda.trading.models import Break, Confirmation, ReconciliationRun, Trade
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book

pytestmark = pytest.mark.django_db

Data = Callable[..., dict[str, Any]]
API = "/api/v1/trading/"


def url(book: Book, path: str) -> str:
    return f"/c/{book.company.code}/trading/{path}"


def fill(trade: Trade, ref: str, price: str | None = None, qty: str | None = None) -> bytes:
    message = simplefix.FixMessage()
    message.append_pair(8, "FIX.4.4")
    message.append_pair(35, "8")
    message.append_pair(49, trade.broker.code)
    message.append_pair(17, ref)
    message.append_pair(11, trade.trade_id)
    message.append_pair(150, "F")
    message.append_pair(1, trade.account.code)
    message.append_pair(55, trade.instrument.code)
    message.append_pair(48, trade.instrument.isin)
    message.append_pair(22, "4")
    message.append_pair(54, "1" if trade.side == "buy" else "2")
    message.append_pair(32, qty or "1500")
    message.append_pair(31, price or "4.12345678")
    message.append_pair(15, "EUR")
    message.append_pair(75, trade.trade_date.strftime("%Y%m%d"))
    message.append_pair(64, trade.settlement_date.strftime("%Y%m%d"))
    encoded: bytes = message.encode()
    return encoded


@pytest.fixture
def trades(book: Book, trade_data: Data) -> list[Trade]:
    return [
        trade_book(company=book.company, **trade_data(trade_id=f"FO-{n}", fees="0", commission="0"))
        for n in (1, 2)
    ]


@pytest.fixture
def oper_client(login: Callable[[Any], Client], operator: Any) -> Client:
    return login(operator)


def upload(content: bytes, name: str = "fills.fix") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def import_page(client: Client, book: Book, content: bytes) -> Any:
    return client.post(url(book, "confirmations/import/"), {"file": upload(content)})


def reconcile_page(client: Client, book: Book, day: Any) -> Any:
    return client.post(url(book, "reconciliation-runs/reconcile/"), {"trade_date": day})


def test_import_reconcile_assign_resolve_rerun(
    book: Book, trades: list[Trade], oper_client: Client, operator: Any
) -> None:
    first, second = trades
    day = first.trade_date
    # a refused file: errors by line, nothing imported
    bad = fill(first, "X-1") + b"\n" + fill(first, "X-1").replace(b"55=SAN", b"55=NOPE")
    response = import_page(oper_client, book, bad)
    assert response.status_code == 400
    assert b"import-errors" in response.content and not Confirmation.objects.exists()
    # a good file, second trade at another price
    good = fill(first, "E-1") + b"\n" + fill(second, "E-2", price="4.20")
    response = import_page(oper_client, book, good)
    assert response.status_code == 200, response.content
    assert b'data-imported="2"' in response.content
    assert Confirmation.objects.count() == 2
    for path in ("confirmations/", "confirmations/import/", "reconciliation-runs/",
                 "reconciliation-runs/reconcile/", "breaks/"):  # fmt: skip
        assert oper_client.get(url(book, path)).status_code == 200, path
    assert oper_client.get(Confirmation.objects.first().get_absolute_url()).status_code == 200  # type: ignore[union-attr]

    response = reconcile_page(oper_client, book, day.isoformat())
    run = ReconciliationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert oper_client.get(run.get_absolute_url()).status_code == 200
    price_break = Break.objects.get(state="open")
    assert price_break.kind == Break.Kind.PRICE and run.matched == 1
    page = oper_client.get(url(book, "breaks/")).content.decode()
    assert "open-breaks" in page and f'data-kind="{Break.Kind.PRICE}"' in page
    filtered = oper_client.get(url(book, "breaks/"), {"state": "open", "kind": "price"})
    assert filtered.status_code == 200
    assert oper_client.get(url(book, "breaks/"), {"export": "xlsx"}).status_code in (200, 302)
    detail = oper_client.get(price_break.get_absolute_url())
    assert detail.status_code == 200 and b"assign-form" in detail.content

    response = oper_client.post(
        url(book, f"breaks/{price_break.pk}/assign/"),
        {"owner": operator.pk, "comment": "Asking the broker"},
    )
    assert response.status_code == 302
    price_break.refresh_from_db()
    assert price_break.owner == operator and "Asking the broker" in price_break.comment

    # a re-run keeps the assigned break with its owner
    reconcile_page(oper_client, book, day.isoformat())
    kept = Break.objects.get(state="open")
    assert kept.pk == price_break.pk and kept.owner == operator
    assert ReconciliationRun.objects.count() == 2

    # the broker corrects the price: the break goes away on the next run
    Confirmation.objects.filter(broker_ref="E-2").update(price=second.price)
    reconcile_page(oper_client, book, day.isoformat())
    price_break.refresh_from_db()
    assert price_break.state == Break.State.RESOLVED and price_break.resolution

    # resolve by hand: a new mismatch, resolved with a reason
    Confirmation.objects.filter(broker_ref="E-2").update(quantity=second.quantity + 1)
    reconcile_page(oper_client, book, day.isoformat())
    open_break = Break.objects.get(state="open")
    missing = oper_client.post(url(book, f"breaks/{open_break.pk}/resolve/"), {"reason": ""})
    assert missing.status_code == 400
    response = oper_client.post(
        url(book, f"breaks/{open_break.pk}/resolve/"), {"reason": "Broker error, accepted"}
    )
    assert response.status_code == 302
    open_break.refresh_from_db()
    assert open_break.state == Break.State.RESOLVED
    assert open_break.resolution == "Broker error, accepted"


def test_clerk_cannot_post(
    book: Book, trades: list[Trade], login: Callable[[Any], Client], clerk: Any
) -> None:
    client = login(clerk)
    day = trades[0].trade_date
    content = fill(trades[0], "E-1", price="5")
    assert import_page(client, book, content).status_code == 403
    assert reconcile_page(client, book, day.isoformat()).status_code == 403
    from trastienda.trading.reconciliation import confirmations_import, trades_reconcile

    confirmations_import(company=book.company, content=content, filename="f.fix")
    trades_reconcile(company=book.company, trade_date=day)
    item = Break.objects.filter(state="open").first()
    assert item is not None
    assert client.post(url(book, f"breaks/{item.pk}/assign/"), {}).status_code == 403
    assert client.post(url(book, f"breaks/{item.pk}/resolve/"), {"reason": "x"}).status_code == 403


def test_api(book: Book, trades: list[Trade], operator: Any) -> None:
    api = APIClient()
    api.force_authenticate(operator)
    api.credentials(HTTP_X_COMPANY=book.company.code)
    first, second = trades
    content = fill(first, "E-1") + b"\n" + fill(second, "E-2", price="4.20")
    response = api.post(
        f"{API}confirmations/import/", {"file": upload(content)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"imported": 2, "cancelled": 0}
    again = api.post(f"{API}confirmations/import/", {"file": upload(content)}, format="multipart")
    assert again.status_code == 400 and "line 1" in str(again.json())
    listed = api.get(f"{API}confirmations/").json()
    assert len(listed["results"]) == 2
    conf_id = listed["results"][0]["id"]
    assert api.get(f"{API}confirmations/{conf_id}/").status_code == 200

    response = api.post(
        f"{API}reconciliation-runs/", {"trade_date": first.trade_date.isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    run = response.json()
    assert run["matched"] == 1 and run["breaks"] == 1
    assert api.get(f"{API}reconciliation-runs/{run['id']}/").status_code == 200
    breaks = api.get(f"{API}breaks/", {"state": "open"}).json()["results"]
    assert len(breaks) == 1 and breaks[0]["kind"] == "price"
    pk = breaks[0]["id"]
    response = api.post(
        f"{API}breaks/{pk}/assign/", {"owner": operator.username, "comment": "mine"}, format="json"
    )
    assert response.status_code == 200 and response.json()["owner"] == operator.username
    bad = api.post(f"{API}breaks/{pk}/assign/", {"owner": "nobody"}, format="json")
    assert bad.status_code == 400
    response = api.post(f"{API}breaks/{pk}/resolve/", {"reason": "fine"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "resolved"
    again = api.post(f"{API}breaks/{pk}/resolve/", {"reason": "fine"}, format="json")
    assert again.status_code == 400


def run_cli(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("trading", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_cli(book: Book, trades: list[Trade], tmp_path: Path) -> None:
    first, second = trades
    code = book.company.code
    bad = tmp_path / "bad.fix"
    bad.write_bytes(fill(first, "E-1").replace(b"55=SAN", b"55=NOPE"))
    with pytest.raises(SystemExit):
        run_cli("import", "confirmations", str(bad), "--company", code)
    assert not Confirmation.objects.exists()
    good = tmp_path / "good.fix"
    good.write_bytes(fill(first, "E-1") + b"\n" + fill(second, "E-2", price="4.20"))
    out, _err = run_cli("import", "confirmations", str(good), "--company", code)
    assert "2 confirmations imported" in out
    out, _err = run_cli("reconcile", "--company", code, "--date", first.trade_date.isoformat())
    assert "1 matched" in out and "1 breaks" in out and "Price: 1" in out

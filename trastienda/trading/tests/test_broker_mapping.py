"""A broker's CSV/XLSX confirmation mapping: the service, the page (preview of a CSV and of an
XLSX sample, save, errors on their fields), the confirmation import through the page with the
saved mapping, permissions and the API."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLResolver, include, path
from rest_framework.test import APIClient

from trastienda import urls as root_urls
from trastienda.audit.models import AuditEntry
from trastienda.trading import urls as trading_urls
from trastienda.trading import views_brokers
from trastienda.trading.formats.confirmations import DEFAULT_SIDE_VALUES
from trastienda.trading.models import Broker, Confirmation
from trastienda.trading.reference import broker_mapping_save
from trastienda.trading.tests.conftest import Book, past_business_day
from trastienda.trading.views import BrokerViews


def _with_broker_pages() -> list[Any]:
    """The project's URLs with the broker mapping page under trading (whether or not
    trading's urls.py includes it yet)."""
    trading = list(trading_urls.urlpatterns)
    if not any(getattr(p, "name", None) == "broker_mapping" for p in trading):
        trading += views_brokers.urlpatterns
    company = [
        path("trading/", include((trading, "trading")))
        if isinstance(p, URLResolver) and str(p.pattern) == "trading/"
        else p
        for p in root_urls.company_patterns
    ]
    return [
        path("c/<str:company>/", include(company))
        if isinstance(p, URLResolver) and str(p.pattern) == "c/<str:company>/"
        else p
        for p in root_urls.urlpatterns
    ]


urlpatterns = _with_broker_pages()

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

API = "/api/v1/trading/brokers/"

MAPPING: dict[str, Any] = {
    "broker_ref": "Ref",
    "trade_ref": "Orden",
    "trade_date": "Fecha",
    "instrument": "ISIN",
    "side": "Sentido",
    "quantity": "Cantidad",
    "price": "Precio",
    "currency": "Divisa",
    "account": "Cuenta",
    "fees": "Comisión",
    "settlement_date": "Liquidación",
    "date_format": "%d/%m/%Y",
    "decimal_separator": ",",
    "thousands_separator": ".",
    "skip_rows": 1,
}
HEADER = "Ref;Orden;Fecha;ISIN;Sentido;Cantidad;Precio;Divisa;Cuenta;Comisión;Liquidación"


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return "\n".join(["Informe de operaciones;;;", header, *rows, ""]).encode("utf-8")


def good_rows(day: dt.date) -> tuple[str, ...]:
    trade = day.strftime("%d/%m/%Y")
    settle = (day + dt.timedelta(days=2)).strftime("%d/%m/%Y")
    return (
        f"E-1;FO-1;{trade};ES0113900J37;COMPRA;1.500;4,12345678;EUR;CLI-1;-1,50;{settle}",
        f"E-2;FO-2;{trade};ES0113900J37;VENTA;-300;4,2;EUR;CLI-1;0,75;{settle}",
    )


def form_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        **{name: "" for name in ("trade_time", "side_values", "thousands_separator")},
        **{key: value for key, value in MAPPING.items()},
        "time_format": "%H:%M:%S",
        "timezone": "Europe/Madrid",
        "delimiter": "",
        "encoding": "utf-8-sig",
        "has_header": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def page_url(book: Book) -> str:
    return f"/c/{book.company.code}/trading/brokers/{book.broker.pk}/mapping/"


@pytest.fixture
def oper_client(login: Callable[[Any], Client], operator: Any) -> Client:
    return login(operator)


def api_for(user: Any, book: Book) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_X_COMPANY=book.company.code)
    return client


def fields_of(response: Any) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"]["fields"])


# --- the service --------------------------------------------------------------------------------


def test_save_stores_the_complete_mapping_audited_and_clears(book: Book, operator: Any) -> None:
    broker = broker_mapping_save(instance=book.broker, mapping=MAPPING, user=operator)
    stored = Broker.objects.get(pk=book.broker.pk).confirmation_mapping
    assert stored == broker.confirmation_mapping
    assert {key: stored[key] for key in MAPPING} == MAPPING
    # The defaults are written out: the saved JSON says how every file is read.
    assert stored["side_values"] == dict(DEFAULT_SIDE_VALUES)
    assert (stored["timezone"], stored["has_header"], stored["trade_time"]) == ("UTC", True, "")
    entry = AuditEntry.objects.filter(object_type="trading.broker", object_id=str(broker.pk))
    latest = entry.order_by("-id").first()
    assert latest is not None and "confirmation_mapping" in latest.changes
    assert latest.username == operator.username
    # Column positions may be numbers in JSON; they are stored as text.
    broker_mapping_save(instance=book.broker, mapping={**MAPPING, "fees": 10})
    assert Broker.objects.get(pk=book.broker.pk).confirmation_mapping["fees"] == "10"
    broker_mapping_save(instance=book.broker, mapping={})
    assert Broker.objects.get(pk=book.broker.pk).confirmation_mapping == {}


@pytest.mark.parametrize(
    ("mapping", "errors"),
    [
        (
            {k: v for k, v in MAPPING.items() if k != "price"},
            {"price": ["this column is required"]},
        ),
        ({**MAPPING, "colour": "red"}, {"colour": ["unknown setting"]}),
        ({**MAPPING, "date_format": "dd/mm/yyyy"}, "date_format"),
        (
            {**MAPPING, "timezone": "Mars/Olympus"},
            {"timezone": ["unknown time zone 'Mars/Olympus'"]},
        ),
        (
            {**MAPPING, "side_values": {"C": "buy", "c": "sell"}},
            {"side_values": ["'c' means both 'buy' and 'sell' (case is ignored)"]},
        ),
        ({**MAPPING, "thousands_separator": ","}, "thousands_separator"),  # = decimal separator
        (["Ref"], {"mapping": ["expected an object"]}),
    ],
)
def test_save_refuses_a_mapping_that_cannot_be_used(
    book: Book, mapping: Any, errors: dict[str, list[str]] | str
) -> None:
    broker_mapping_save(instance=book.broker, mapping={**MAPPING, "fees": ""})
    with pytest.raises(ValidationError) as caught:
        broker_mapping_save(instance=book.broker, mapping=mapping)
    if isinstance(errors, str):  # the setting named, whatever the wording
        assert set(caught.value.message_dict) == {errors}
    else:
        assert caught.value.message_dict == errors
    # nothing written: the previous mapping stays
    assert Broker.objects.get(pk=book.broker.pk).confirmation_mapping["fees"] == ""


# --- the page -----------------------------------------------------------------------------------


def test_page_previews_a_csv_sample_then_saves(book: Book, oper_client: Client) -> None:
    url = page_url(book)
    page = oper_client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and 'id="mapping-form"' in body
    assert page.context["form"].initial["timezone"] == "Europe/Madrid"
    day = past_business_day()
    sample = SimpleUploadedFile("operaciones.csv", csv_file(*good_rows(day)))
    preview = oper_client.post(url, {**form_data(), "action": "preview", "sample": sample})
    body = preview.content.decode()
    assert preview.status_code == 200, body[:3000]
    rows = preview.context["preview_rows"]
    assert rows[0][:4] == ["Informe de operaciones", "", "", ""]  # the skipped line is shown
    assert rows[1] == HEADER.split(";")
    assert len(rows) == 4
    trial = preview.context["trial"]
    assert trial.errors == [] and trial.count == 2
    first, second = trial.confirmations
    assert (first.line, first.broker_ref, first.trade_ref, first.trade_date) == (
        3,
        "E-1",
        "FO-1",
        day,
    )
    assert (first.instrument, first.side, first.quantity, first.price, first.fees) == (
        "ES0113900J37",
        "buy",
        Decimal(1500),
        Decimal("4.12345678"),
        Decimal("1.50"),
    )
    assert first.settlement_date == day + dt.timedelta(days=2)
    assert (second.side, second.quantity, second.price) == ("sell", Decimal(300), Decimal("4.2"))
    assert 'id="trial-confirmations"' in body and "E-2" in body
    assert Broker.objects.get(pk=book.broker.pk).confirmation_mapping == {}  # nothing saved
    saved = oper_client.post(url, {**form_data(), "action": "save"})
    assert saved.status_code == 302 and saved["Location"] == book.broker.get_absolute_url()
    stored = Broker.objects.get(pk=book.broker.pk).confirmation_mapping
    assert {key: stored[key] for key in MAPPING} == MAPPING
    assert stored["timezone"] == "Europe/Madrid"
    again = oper_client.get(url)  # the form shows what is saved
    assert again.context["form"].initial["broker_ref"] == "Ref"
    assert again.context["form"].initial["skip_rows"] == 1


def test_page_previews_an_xlsx_sample(book: Book, oper_client: Client) -> None:
    from openpyxl import Workbook

    day = past_business_day()
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Exec", "Order", "Date", "Symbol", "B/S", "Qty", "Px", "Ccy", "Acct", "Comm"])
    sheet.append(["X-1", "FO-1", day, "SAN", "B", 1500, 4.12345678, "EUR", "CLI-1", 1.5])
    sheet.append(["X-2", "FO-2", day, "ES0113900J37", "S", 300.0, 4.2, "EUR", "CLI-1", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    columns = {
        "broker_ref": "Exec",
        "trade_ref": "Order",
        "trade_date": "Date",
        "instrument": "Symbol",
        "side": "B/S",
        "quantity": "Qty",
        "price": "Px",
        "currency": "Ccy",
        "account": "Acct",
        "fees": "Comm",
        "settlement_date": "",
        "decimal_separator": ".",
        "thousands_separator": "",
        "date_format": "%Y-%m-%d",
        "skip_rows": "0",
    }
    sample = SimpleUploadedFile("confirmations.xlsx", buffer.getvalue())
    preview = oper_client.post(
        page_url(book), {**form_data(**columns), "action": "preview", "sample": sample}
    )
    assert preview.status_code == 200, preview.content.decode()[:3000]
    assert preview.context["preview_rows"][0][:3] == ["Exec", "Order", "Date"]
    trial = preview.context["trial"]
    assert trial.errors == [] and trial.count == 2
    assert [
        (c.line, c.broker_ref, c.trade_date, c.instrument, c.side, c.quantity, c.price, c.fees)
        for c in trial.confirmations
    ] == [
        (2, "X-1", day, "SAN", "buy", Decimal(1500), Decimal("4.12345678"), Decimal("1.5")),
        (3, "X-2", day, "ES0113900J37", "sell", Decimal("300.0"), Decimal("4.2"), Decimal(0)),
    ]


def test_preview_shows_the_errors_by_line(book: Book, oper_client: Client) -> None:
    day = past_business_day()
    trade = day.strftime("%d/%m/%Y")
    rows = (
        good_rows(day)[0],
        f"E-2;FO-2;{trade};ES0113900J37;QUIZAS;12,3,4;4,2;EUR;CLI-1;;",
    )
    sample = SimpleUploadedFile("operaciones.csv", csv_file(*rows))
    preview = oper_client.post(
        page_url(book), {**form_data(), "action": "preview", "sample": sample}
    )
    assert preview.status_code == 200
    trial = preview.context["trial"]
    assert trial.confirmations == [] and [where for where, _m in trial.errors] == ["line 4"] * 2
    assert "QUIZAS" in trial.errors[0][1] and "12,3,4" in trial.errors[1][1]
    assert 'id="trial-errors"' in preview.content.decode()
    other = SimpleUploadedFile("otro.csv", csv_file(*good_rows(day), header=HEADER.lower()[:-4]))
    mismatch = oper_client.post(
        page_url(book), {**form_data(), "action": "preview", "sample": other}
    )
    assert mismatch.context["trial"].errors == [
        (
            "line 2",
            "the file does not match the saved mapping: column Liquidación missing "
            "(for settlement_date)",
        )
    ]
    # With settings that cannot be used, the raw rows are still shown, and nothing is read.
    sample = SimpleUploadedFile("operaciones.csv", csv_file(*good_rows(day)))
    partial = oper_client.post(
        page_url(book), {**form_data(price=""), "action": "preview", "sample": sample}
    )
    assert partial.status_code == 200 and len(partial.context["preview_rows"]) == 4
    assert "trial" not in partial.context


def test_save_shows_errors_on_their_fields_and_writes_nothing(
    book: Book, oper_client: Client
) -> None:
    url = page_url(book)
    fmt = oper_client.post(url, {**form_data(date_format="dd/mm/yyyy"), "action": "save"})
    assert fmt.status_code == 400 and "date_format" in fmt.context["form"].errors
    sides = oper_client.post(
        url, {**form_data(side_values="C = buy\nV = perhaps"), "action": "save"}
    )
    assert sides.status_code == 400
    assert sides.context["form"].errors["side_values"] == [
        "Line 2: write it as the file's text = buy or sell, as C = buy."
    ]
    clash = oper_client.post(url, {**form_data(thousands_separator=","), "action": "save"})
    assert clash.status_code == 400 and "thousands_separator" in clash.context["form"].errors
    missing = oper_client.post(url, {**form_data(account=""), "action": "save"})
    assert missing.status_code == 400 and "account" in missing.context["form"].errors
    assert Broker.objects.get(pk=book.broker.pk).confirmation_mapping == {}
    # Side values typed on the page are saved and shown back.
    saved = oper_client.post(url, {**form_data(side_values="Kauf = buy\nVerkauf = SELL")})
    assert saved.status_code == 302
    stored = Broker.objects.get(pk=book.broker.pk).confirmation_mapping
    assert stored["side_values"] == {"Kauf": "buy", "Verkauf": "sell"}
    form = oper_client.get(url).context["form"]
    assert form.initial["side_values"] == "Kauf = buy\nVerkauf = sell"


def test_detail_page_links_to_the_mapping(
    book: Book, oper_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BrokerViews, "detail_template", "trading/broker_detail_extra.html")
    body = oper_client.get(book.broker.get_absolute_url()).content.decode()
    assert 'id="broker-mapping-link"' in body and page_url(book) in body
    assert 'id="broker-mapping-missing"' in body
    broker_mapping_save(instance=book.broker, mapping=MAPPING)
    body = oper_client.get(book.broker.get_absolute_url()).content.decode()
    assert 'id="broker-mapping-missing"' not in body and "Cantidad" in body


# --- the import with the saved mapping ----------------------------------------------------------


def test_import_through_the_page_with_the_saved_mapping(book: Book, oper_client: Client) -> None:
    url = f"/c/{book.company.code}/trading/confirmations/import/"
    day = past_business_day()
    content = csv_file(*good_rows(day))
    unmapped = oper_client.post(
        url, {"broker": book.broker.pk, "file": SimpleUploadedFile("op.csv", content)}
    )
    assert unmapped.status_code == 400
    assert unmapped.context["errors"] == [
        ("broker", ["The broker has no saved column mapping for its files."])
    ]
    assert oper_client.post(page_url(book), form_data()).status_code == 302
    done = oper_client.post(
        url, {"broker": book.broker.pk, "file": SimpleUploadedFile("op.csv", content)}
    )
    assert done.status_code == 200, done.content.decode()[:3000]
    assert (done.context["result"].imported, done.context["result"].cancelled) == (2, 0)
    confirmations = {c.broker_ref: c for c in Confirmation.objects.filter(company=book.company)}
    assert set(confirmations) == {"E-1", "E-2"}
    first = confirmations["E-1"]
    assert (first.broker, first.trade_ref, first.trade_date, first.instrument) == (
        book.broker,
        "FO-1",
        day,
        book.equity,
    )
    assert (first.account, first.side, first.quantity, first.price) == (
        book.account,
        "buy",
        1500 * 10**6,
        412345678,
    )
    assert (first.currency, first.fees, first.settlement_date, first.source) == (
        "EUR",
        150,
        day + dt.timedelta(days=2),
        "csv",
    )
    assert (confirmations["E-2"].side, confirmations["E-2"].fees) == ("sell", 75)


def test_a_file_that_does_not_match_the_mapping_imports_nothing(
    book: Book, oper_client: Client
) -> None:
    broker_mapping_save(instance=book.broker, mapping=MAPPING)
    url = f"/c/{book.company.code}/trading/confirmations/import/"
    day = past_business_day()
    other = csv_file(
        *good_rows(day), header="Ref;Order;Date;ISIN;Side;Qty;Price;Ccy;Acct;Fee;Settle"
    )
    refused = oper_client.post(
        url, {"broker": book.broker.pk, "file": SimpleUploadedFile("op.csv", other)}
    )
    assert refused.status_code == 400
    assert refused.context["errors"] == [
        (
            "line 2",
            ["the file does not match the saved mapping: column Orden missing (for trade_ref)"],
        )
    ]
    assert 'id="import-errors"' in refused.content.decode()
    trade = day.strftime("%d/%m/%Y")
    bad = csv_file(
        good_rows(day)[0],
        f"E-2;FO-2;{trade};ES0113900J37;VENTA;abc;4,2;EUR;CLI-1;;",
        f"E-3;FO-3;{trade};XX-UNKNOWN;VENTA;10;4,2;EUR;CLI-1;;",
    )
    by_line = oper_client.post(
        url, {"broker": book.broker.pk, "file": SimpleUploadedFile("op.csv", bad)}
    )
    assert by_line.status_code == 400
    errors = dict(by_line.context["errors"])
    assert list(errors) == ["line 4"] and "abc" in errors["line 4"][0]
    assert Confirmation.objects.count() == 0


# --- permissions and the API --------------------------------------------------------------------


def test_clerk_and_reader_cannot_change_the_mapping(
    book: Book, login: Callable[[Any], Client], clerk: Any, accountant: Any
) -> None:
    for user in (clerk, accountant):  # a clerk sees no trading; an accountant only reads it
        client = login(user)
        assert client.get(page_url(book)).status_code == 403
        assert client.post(page_url(book), {**form_data(), "action": "save"}).status_code == 403
        client.logout()
    assert Broker.objects.get(pk=book.broker.pk).confirmation_mapping == {}
    url = f"{API}{book.broker.pk}/mapping/"
    assert api_for(clerk, book).get(url).status_code == 403
    assert api_for(clerk, book).put(url, MAPPING, format="json").status_code == 403
    reader = api_for(accountant, book)
    assert reader.get(url).status_code == 200
    assert reader.put(url, MAPPING, format="json").status_code == 403
    assert Broker.objects.get(pk=book.broker.pk).confirmation_mapping == {}


def test_api_reads_and_replaces_the_mapping(book: Book, operator: Any) -> None:
    api = api_for(operator, book)
    url = f"{API}{book.broker.pk}/mapping/"
    assert api.get(url).json() == {}
    saved = api.put(url, MAPPING, format="json")
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert {key: body[key] for key in MAPPING} == MAPPING
    assert body["side_values"]["COMPRA"] == "buy"
    assert api.get(url).json() == body
    assert api.get(f"{API}{book.broker.pk}/").json()["confirmation_mapping"] == body
    missing = api.put(url, {**MAPPING, "quantity": ""}, format="json")
    assert missing.status_code == 400
    assert fields_of(missing) == {"quantity": ["this column is required"]}
    unknown = api.put(url, {**MAPPING, "colour": "red"}, format="json")
    assert fields_of(unknown) == {"colour": ["unknown setting"]}
    sides = api.put(url, {**MAPPING, "side_values": {"C": "hold"}}, format="json")
    assert fields_of(sides) == {"side_values": ["'C' must mean 'buy' or 'sell', not 'hold'"]}
    not_object = api.put(url, ["Ref"], format="json")
    assert not_object.status_code == 400 and "mapping" in fields_of(not_object)
    assert api.get(url).json() == body  # nothing written by the refused requests
    cleared = api.put(url, {}, format="json")
    assert cleared.status_code == 200 and cleared.json() == {}
    assert Broker.objects.get(pk=book.broker.pk).confirmation_mapping == {}

"""Trade capture: booking, amending, cancelling and importing trades (the services)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from trastienda.trading import calendars
from trastienda.trading.models import Trade
from trastienda.trading.services import trade_amend, trade_book, trade_cancel, trades_import
from trastienda.trading.tests.conftest import Book, past_business_day

pytestmark = pytest.mark.django_db

Data = Callable[..., dict[str, Any]]


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_booking_computes_settlement_date_and_exact_gross(book: Book, trade_data: Data) -> None:
    trade = trade_book(company=book.company, **trade_data())
    day = past_business_day()
    assert trade.version == 1 and trade.is_current and trade.status == Trade.Status.ACTIVE
    assert trade.trade_date == day
    assert trade.settlement_date == calendars.settlement_date(day, "equity", "XMAD")
    assert trade.settlement_date > day
    assert trade.quantity == 1_500_000_000
    assert trade.price == 412_345_678
    # 1500 x 4.12345678 = 6185.18517 → 6185.19 EUR, half up
    assert trade.gross_amount == 618_519
    assert (trade.fees, trade.commission, trade.currency) == (150, 320, "EUR")


def test_gross_amount_uses_the_multiplier(book: Book, trade_data: Data) -> None:
    trade = trade_book(
        company=book.company,
        **trade_data(instrument="FIE-2612", quantity="3", price="11875.5"),
    )
    assert trade.gross_amount == 35_626_500  # 3 x 11875.5 x 10 = 356265.00
    assert trade.settlement_date == calendars.settlement_date(trade.trade_date, "future", "XMAD")


def test_late_flag(book: Book, trade_data: Data) -> None:
    late = trade_book(company=book.company, **trade_data())
    assert late.late is True
    now = timezone.localtime()
    today = trade_book(
        company=book.company,
        **trade_data(
            trade_id="FO-TODAY",
            executed_at=now.replace(microsecond=0).isoformat(),
            settlement_date=(now.date() + dt.timedelta(days=3)).isoformat(),
        ),
    )
    assert today.trade_date == now.date()
    assert today.late is False


def test_the_settlement_date_given_wins(book: Book, trade_data: Data) -> None:
    day = past_business_day()
    given = day + dt.timedelta(days=5)
    trade = trade_book(company=book.company, **trade_data(settlement_date=given.isoformat()))
    assert trade.settlement_date == given


@pytest.mark.parametrize("field", ["account", "instrument", "broker", "trader"])
def test_unknown_reference_refused_naming_the_field(
    book: Book, trade_data: Data, field: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        trade_book(company=book.company, **trade_data(**{field: "NOPE"}))
    assert list(errors_of(exc)) == [field]
    assert "NOPE" in errors_of(exc)[field][0]
    assert not Trade.objects.exists()


def test_another_companys_reference_is_unknown(
    book: Book, trade_data: Data, other_company: Any
) -> None:
    with pytest.raises(ValidationError) as exc:
        trade_book(company=other_company, **trade_data())
    assert {"account", "trader", "instrument", "broker"} <= set(errors_of(exc))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"executed_at": "2026-02-30T10:00:00"}, "executed_at"),
        ({"trade_date": "2025-13-01"}, "trade_date"),
        ({"settlement_date": "31/12/2025"}, "settlement_date"),
    ],
)
def test_impossible_dates(
    book: Book, trade_data: Data, overrides: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        trade_book(company=book.company, **trade_data(**overrides))
    assert field in errors_of(exc)


def test_future_trade_date_refused(book: Book, trade_data: Data) -> None:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        trade_book(
            company=book.company,
            **trade_data(executed_at=f"{tomorrow.isoformat()}T10:00:00"),
        )
    assert errors_of(exc)["trade_date"] == ["The trade date is in the future."]


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", "1.0000001"), ("price", "4.123456789"), ("fees", "1.505")],
)
def test_more_decimals_than_allowed(book: Book, trade_data: Data, field: str, value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        trade_book(company=book.company, **trade_data(**{field: value}))
    assert list(errors_of(exc)) == [field]


def test_a_booked_trade_id_is_refused(book: Book, trade_data: Data) -> None:
    trade_book(company=book.company, **trade_data())
    with pytest.raises(ValidationError) as exc:
        trade_book(company=book.company, **trade_data())
    assert "trade_id" in errors_of(exc)
    assert Trade.objects.count() == 1


def test_amend_creates_version_2_and_keeps_history(book: Book, trade_data: Data) -> None:
    first = trade_book(company=book.company, **trade_data())
    second = trade_amend(company=book.company, trade_id="FO-1", quantity="2000", comment="qty fix")
    assert second.version == 2 and second.is_current
    assert second.quantity == 2_000_000_000
    assert second.gross_amount == 824_691  # 2000 x 4.12345678 = 8246.91356
    assert second.price == first.price and second.settlement_date == first.settlement_date
    first.refresh_from_db()
    assert first.is_current is False and first.quantity == 1_500_000_000
    versions = list(Trade.objects.filter(trade_id="FO-1").order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    assert second.late is True  # a late booking stays late


def test_amend_a_cancelled_trade_refused(book: Book, trade_data: Data) -> None:
    trade_book(company=book.company, **trade_data())
    trade_cancel(company=book.company, trade_id="FO-1", reason="wrong client")
    with pytest.raises(ValidationError) as exc:
        trade_amend(company=book.company, trade_id="FO-1", quantity="1")
    assert "trade_id" in errors_of(exc)
    assert Trade.objects.filter(trade_id="FO-1").count() == 2


def test_cancel(book: Book, trade_data: Data) -> None:
    first = trade_book(company=book.company, **trade_data())
    cancelled = trade_cancel(company=book.company, trade_id="FO-1", reason="duplicate")
    assert (cancelled.version, cancelled.status, cancelled.comment) == (
        2,
        Trade.Status.CANCELLED,
        "duplicate",
    )
    assert cancelled.quantity == first.quantity and cancelled.gross_amount == first.gross_amount
    with pytest.raises(ValidationError):
        trade_cancel(company=book.company, trade_id="FO-1", reason="again")
    with pytest.raises(ValidationError) as exc:
        trade_cancel(company=book.company, trade_id="FO-2", reason="")
    assert "reason" in errors_of(exc)


# --- import -----------------------------------------------------------------------------------

HEADER = "trade_id,executed_at,account,trader,instrument,broker,side,quantity,price,fees\n"


def csv_file(*rows: str) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


def row(trade_id: str, quantity: str = "100", price: str = "4.5", **kw: str) -> str:
    day = past_business_day()
    account = kw.get("account", "CLI-1")
    instrument = kw.get("instrument", "SAN")
    return (
        f"{trade_id},{day.isoformat()}T09:30:00,{account},T1,{instrument},BRK,buy,"
        f"{quantity},{price},{kw.get('fees', '0')}"
    )


def test_import_books_every_row(book: Book) -> None:
    result = trades_import(
        company=book.company,
        content=csv_file(row("A1"), row("A2", "50", "4.25"), row("A3", instrument="ES0113900J37")),
        filename="trades.csv",
    )
    assert (result.booked, result.amended, result.late) == (3, 0, 3)
    assert Trade.objects.filter(is_current=True, source="file").count() == 3
    assert Trade.objects.get(trade_id="A2").gross_amount == 21_250


def test_import_all_or_nothing_with_errors_by_line(book: Book) -> None:
    content = csv_file(row("A1"), row("A2", quantity="1.1234567"), row("A3", account="NOPE"))
    with pytest.raises(ValidationError) as exc:
        trades_import(company=book.company, content=content, filename="trades.csv")
    assert set(errors_of(exc)) == {"line 3.quantity", "line 4.account"}
    assert not Trade.objects.exists()


def test_import_a_repeated_trade_id(book: Book) -> None:
    with pytest.raises(ValidationError) as exc:
        trades_import(
            company=book.company, content=csv_file(row("A1"), row("A1")), filename="t.csv"
        )
    assert "line 3.trade_id" in errors_of(exc)
    assert not Trade.objects.exists()


def test_import_missing_columns(book: Book) -> None:
    with pytest.raises(ValidationError) as exc:
        trades_import(company=book.company, content=b"trade_id,price\nA1,1\n", filename="t.csv")
    assert "file" in errors_of(exc)


def test_import_amends_changed_rows_and_ignores_identical_ones(book: Book) -> None:
    first = csv_file(row("A1"), row("A2"))
    trades_import(company=book.company, content=first, filename="t.csv")
    again = trades_import(company=book.company, content=first, filename="t.csv")
    assert (again.booked, again.amended) == (0, 0)
    changed = trades_import(
        company=book.company,
        content=csv_file(row("A1"), row("A2", quantity="120"), row("A3")),
        filename="t.csv",
    )
    assert (changed.booked, changed.amended) == (1, 1)
    a2 = Trade.objects.get(trade_id="A2", is_current=True)
    assert a2.version == 2 and a2.quantity == 120_000_000
    assert Trade.objects.get(trade_id="A1").version == 1


def test_import_xlsx(book: Book) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    day = past_business_day()
    sheet.append(HEADER.strip().split(","))
    sheet.append(
        [
            "X1",
            f"{day.isoformat()}T11:00:00",
            "HOUSE",
            "T2",
            "SAN",
            "BRK",
            "sell",
            "10",
            "4.1",
            "0.5",
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = trades_import(company=book.company, content=buffer.getvalue(), filename="t.xlsx")
    assert result.booked == 1
    trade = Trade.objects.get(trade_id="X1")
    assert (trade.side, trade.account, trade.gross_amount, trade.fees) == (
        "sell",
        book.house,
        4100,
        50,
    )

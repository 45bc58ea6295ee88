"""Settlement instructions: generation, approval by a second person, settlement posted to the
ledger (hand-computed entries), fails, cancellation with reversal, out-of-date instructions,
the fails report and the projections."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from trastienda.audit.models import AuditEntry
from trastienda.ledger import services as ledger
from trastienda.ledger.models import JournalEntry, JournalEntryLine
from trastienda.trading import reference, settlement
from trastienda.trading.models import SettlementInstruction, Trade
from trastienda.trading.services import trade_amend, trade_book, trade_cancel
from trastienda.trading.tests.conftest import Book

pytestmark = pytest.mark.django_db

Data = Callable[..., dict[str, Any]]
S = SettlementInstruction.Status
ES_ACCOUNTS = {
    "securities_account": "540",
    "settlement_account": "566",
    "clients_account": "561",
    "fees_account": "6260",
    "commission_account": "7590",
    "realised_pnl_account": "766",
}
MARCH = dt.date(2026, 3, 2)  # a Monday; XMAD open all week


@pytest.fixture
def books(book: Book) -> Book:
    """The company's fiscal years (last year and this one) and the trading settings."""
    today = timezone.localdate()
    for year in {2026, today.year, today.year - 1}:
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


def entry_lines(entry: JournalEntry) -> list[tuple[str, int, int]]:
    return [
        (line.account.code, line.debit, line.credit)
        for line in JournalEntryLine.objects.filter(entry=entry)
        .select_related("account")
        .order_by("line_no")
    ]


def march_trade(book: Book, trade_id: str, **overrides: Any) -> Trade:
    data: dict[str, Any] = {
        "trade_id": trade_id,
        "executed_at": f"{MARCH.isoformat()}T10:00:00",
        "account": "CLI-1",
        "trader": "T1",
        "instrument": "SAN",
        "broker": "BRK",
        "side": "buy",
        "quantity": "100",
        "price": "4",
        "settlement_date": "2026-03-04",
    }
    data.update(overrides)
    return trade_book(company=book.company, **data)


def test_generate_signs_and_amounts(books: Book, trade_data: Data, operator: Any) -> None:
    buy = trade_book(company=books.company, **trade_data())
    trade_book(company=books.company, **trade_data(trade_id="FO-2", side="sell", account="HOUSE"))
    result = settlement.instructions_generate(
        company=books.company, trade_date=buy.trade_date, user=operator
    )
    assert (len(result.created), result.awaiting_approval, result.skipped) == (2, 0, 0)
    rows = {
        i.trade_id: (i.side, i.gross_amount, i.fees, i.commission, i.cash_amount, i.status)
        for i in SettlementInstruction.objects.all()
    }
    # gross 1500 x 4.12345678 = 6185.18517 -> 6185.19; fees 1.50; commission 3.20
    assert rows == {
        "FO-1": ("buy", 618519, 150, 320, -618989, S.PENDING),
        "FO-2": ("sell", 618519, 150, 320, 618049, S.PENDING),
    }
    first = SettlementInstruction.objects.get(trade_id="FO-1")
    assert first.trade_version_id == buy.pk and first.created_by == operator
    assert AuditEntry.objects.filter(
        object_type="trading.settlementinstruction", object_id=str(first.pk), action="create"
    ).exists()
    again = settlement.instructions_generate(company=books.company, trade_date=buy.trade_date)
    assert (len(again.created), again.skipped) == (0, 2)
    assert SettlementInstruction.objects.count() == 2


def test_generate_by_trade_ids_and_errors(books: Book, trade_data: Data) -> None:
    trade_book(company=books.company, **trade_data())
    with pytest.raises(ValidationError) as caught:
        settlement.instructions_generate(company=books.company, trade_ids=["FO-1", "NOPE"])
    assert list(caught.value.message_dict) == ["trade_ids"]
    with pytest.raises(ValidationError) as caught:
        settlement.instructions_generate(company=books.company)
    assert list(caught.value.message_dict) == ["trade_date"]
    assert not SettlementInstruction.objects.exists()
    made = settlement.instructions_generate(company=books.company, trade_ids=["FO-1"])
    assert [i.trade_id for i in made.created] == ["FO-1"]


def test_approval_limit_and_second_person(
    books: Book, trade_data: Data, operator: Any, second: Any, clerk: Any
) -> None:
    limit = settlement.approval_limit_create(company=books.company, currency="EUR", amount="6000")
    assert limit.amount == 600000
    trade = trade_book(company=books.company, **trade_data())
    trade_book(company=books.company, **trade_data(trade_id="FO-2", quantity="10", side="sell"))
    settlement.instructions_generate(
        company=books.company, trade_date=trade.trade_date, user=operator
    )
    big = SettlementInstruction.objects.get(trade_id="FO-1")  # 6189.89 > 6000
    small = SettlementInstruction.objects.get(trade_id="FO-2")
    assert (big.status, small.status) == (S.AWAITING_APPROVAL, S.PENDING)
    audits = AuditEntry.objects.count()
    for user, message in (
        (operator, "generated the instruction"),
        (clerk, "may not approve"),
        (None, "signed-in person"),
    ):
        with pytest.raises(ValidationError) as caught:
            settlement.instruction_approve(instruction=big, user=user)
        assert message in str(caught.value.message_dict["approved_by"])
    big.refresh_from_db()
    assert (big.status, big.approved_by) == (S.AWAITING_APPROVAL, None)
    assert AuditEntry.objects.count() == audits
    with pytest.raises(ValidationError) as caught:
        settlement.instruction_settle(instruction=big, settled_on=trade.trade_date)
    assert list(caught.value.message_dict) == ["status"]
    approved = settlement.instruction_approve(instruction=big, user=second)
    assert (approved.status, approved.approved_by) == (S.PENDING, second)
    entry = AuditEntry.objects.filter(
        object_type="trading.settlementinstruction", object_id=str(big.pk)
    ).first()
    assert entry is not None and entry.username == "oper2"
    assert entry.extra["event"] == "approve" and entry.changes["status"] == [
        "awaiting_approval",
        "pending",
    ]
    with pytest.raises(ValidationError):  # only once
        settlement.instruction_approve(instruction=big, user=second)
    # an inactive limit asks nothing
    settlement.approval_limit_update(instance=limit, active=False)
    trade_book(company=books.company, **trade_data(trade_id="FO-3"))
    made = settlement.instructions_generate(company=books.company, trade_ids=["FO-3"])
    assert made.created[0].status == S.PENDING


def test_limit_validation(books: Book) -> None:
    settlement.approval_limit_create(company=books.company, currency="EUR", amount="10")
    for data, field in (
        ({"currency": "EUR", "amount": "5"}, "currency"),
        ({"currency": "XXZ", "amount": "5"}, "currency"),
        ({"currency": "USD", "amount": "1.234"}, "amount"),
        ({"currency": "USD", "amount": "-1"}, "amount"),
        ({"currency": "USD", "amount": 1.5}, "amount"),
    ):
        with pytest.raises(ValidationError) as caught:
            settlement.approval_limit_create(company=books.company, **data)
        assert field in caught.value.message_dict, data
    assert settlement.limit_for(books.company, "EUR") == 1000


def test_settle_client_buy_posts_the_entry(books: Book, trade_data: Data, operator: Any) -> None:
    trade = trade_book(company=books.company, **trade_data())
    settlement.instructions_generate(company=books.company, trade_date=trade.trade_date)
    item = SettlementInstruction.objects.get()
    settled = settlement.instruction_settle(
        instruction=item, settled_on=trade.settlement_date, user=operator
    )
    assert (settled.status, settled.settled_on) == (S.SETTLED, trade.settlement_date)
    entry = JournalEntry.objects.get(pk=settled.entry_id)
    assert (entry.state, entry.date, entry.journal.code) == (
        "posted",
        trade.settlement_date,
        "GEN",
    )
    # client pays 6185.19 + 1.50 + 3.20; the broker gets 6186.69; commission 3.20 is income
    assert entry_lines(entry) == [
        ("561", 618989, 0),
        ("7590", 0, 320),
        ("566", 0, 618669),
    ]
    line = JournalEntryLine.objects.get(entry=entry, account__code="561")
    assert line.partner == "CLI-1"


def test_settle_house_sell_and_buy(books: Book, trade_data: Data) -> None:
    sell = trade_book(
        company=books.company, **trade_data(trade_id="H-1", side="sell", account="HOUSE")
    )
    trade_book(company=books.company, **trade_data(trade_id="H-2", account="HOUSE"))
    settlement.instructions_generate(company=books.company, trade_date=sell.trade_date)
    day = sell.settlement_date
    first = settlement.instruction_settle(
        instruction=SettlementInstruction.objects.get(trade_id="H-1"), settled_on=day
    )
    second = settlement.instruction_settle(
        instruction=SettlementInstruction.objects.get(trade_id="H-2"), settled_on=day
    )
    assert entry_lines(first.entry) == [  # type: ignore[arg-type]
        ("540", 0, 618519),
        ("6260", 470, 0),
        ("566", 618049, 0),
    ]
    assert entry_lines(second.entry) == [  # type: ignore[arg-type]
        ("540", 618519, 0),
        ("6260", 470, 0),
        ("566", 0, 618989),
    ]


@pytest.mark.parametrize(
    ("method", "cost_out", "result"),
    [("fifo", 1600_00, 350_00), ("average", 1650_00, 300_00)],
)
def test_settling_a_house_sale_books_its_realised_result(
    books: Book, method: str, cost_out: int, result: int
) -> None:
    """100 bought at 10, 100 at 12, 150 sold at 13: FIFO closes 100 at 10 and 50 at 12 (cost
    1,600, result 350); average cost closes 150 at 11 (1,650, 300). The securities account
    keeps the cost of the 50 still held; fees are an expense of their own."""
    settlement.settings_update(company=books.company, cost_method=method)
    for n, (side, quantity, price) in enumerate(
        [("buy", "100", "10"), ("buy", "100", "12"), ("sell", "150", "13")]
    ):
        march_trade(
            books,
            f"H-{n}",
            account="HOUSE",
            side=side,
            quantity=quantity,
            price=price,
            fees="1",
            executed_at=f"{MARCH.isoformat()}T10:0{n}:00",
        )
    settlement.instructions_generate(company=books.company, trade_date=MARCH)
    entries = [
        settlement.instruction_settle(
            instruction=SettlementInstruction.objects.get(trade_id=f"H-{n}"),
            settled_on=dt.date(2026, 3, 4),
        ).entry
        for n in range(3)
    ]
    assert entry_lines(entries[2]) == [  # type: ignore[arg-type]
        ("540", 0, cost_out),
        ("766", 0, result),
        ("6260", 1_00, 0),
        ("566", 1950_00 - 1_00, 0),
    ]
    securities = JournalEntryLine.objects.filter(entry__in=entries, account__code="540")
    held = sum(line.debit - line.credit for line in securities)
    assert held == 1000_00 + 1200_00 - cost_out  # the cost of the 50 still held


def test_settle_in_another_currency(books: Book) -> None:
    reference.instrument_create(
        company=books.company,
        code="AAPL",
        isin="US0378331005",
        name="Apple",
        type="equity",
        market="XNYS",
        currency="USD",
    )
    trade = march_trade(
        books,
        "US-1",
        instrument="AAPL",
        account="HOUSE",
        quantity="100",
        price="10",
        fees="1",
        commission="2",
        settlement_date="2026-03-03",
    )
    settlement.instructions_generate(company=books.company, trade_ids=["US-1"])
    item = SettlementInstruction.objects.get()
    assert (item.currency, item.cash_amount) == ("USD", -100300)
    with pytest.raises(ValidationError) as caught:
        settlement.instruction_settle(instruction=item, settled_on=trade.settlement_date)
    message = caught.value.message_dict["settled_on"][0]
    assert "USD" in message and "EUR" in message and "2026-03-03" in message
    item.refresh_from_db()
    assert (item.status, item.entry_id, JournalEntry.objects.count()) == (S.PENDING, None, 0)
    ledger.exchange_rate_create(
        company=books.company,
        date=dt.date(2026, 3, 2),
        from_currency="EUR",
        to_currency="USD",
        rate=Decimal("1.1"),
    )
    settled = settlement.instruction_settle(instruction=item, settled_on=trade.settlement_date)
    lines = list(
        JournalEntryLine.objects.filter(entry_id=settled.entry_id)
        .select_related("account")
        .order_by("line_no")
    )
    # 1000 USD / 1.1 = 909.09 EUR; 3 USD = 2.73; 1003 USD = 911.82 (they balance exactly)
    assert [
        (x.account.code, x.debit, x.credit, x.currency_id, x.amount_currency) for x in lines
    ] == [
        ("540", 90909, 0, "USD", 100000),
        ("6260", 273, 0, "USD", 300),
        ("566", 0, 91182, "USD", -100300),
    ]


def test_settle_needs_the_settings(book: Book, trade_data: Data) -> None:
    trade = trade_book(company=book.company, **trade_data())
    settlement.instructions_generate(company=book.company, trade_date=trade.trade_date)
    item = SettlementInstruction.objects.get()
    with pytest.raises(ValidationError) as caught:
        settlement.instruction_settle(instruction=item, settled_on=trade.settlement_date)
    assert set(caught.value.message_dict) == {
        "journal",
        "settlement_account",
        "clients_account",
        "commission_account",
    }
    with pytest.raises(ValidationError) as caught:
        settlement.settings_update(
            company=book.company, securities_account="54", journal="NOPE", reminder_days=-1
        )
    assert set(caught.value.message_dict) == {"securities_account", "journal", "reminder_days"}
    assert "group" in caught.value.message_dict["securities_account"][0]
    with pytest.raises(ValidationError) as caught:
        settlement.settings_update(company=book.company, clients_account="4300")
    assert "partners" in caught.value.message_dict["clients_account"][0]


def test_fail_then_settle_later_and_transitions(books: Book, trade_data: Data) -> None:
    trade = trade_book(company=books.company, **trade_data())
    settlement.instructions_generate(company=books.company, trade_date=trade.trade_date)
    item = SettlementInstruction.objects.get()
    with pytest.raises(ValidationError) as caught:
        settlement.instruction_fail(instruction=item, reason=" ")
    assert list(caught.value.message_dict) == ["reason"]
    settlement.instruction_mark_matched(instruction=item)
    failed = settlement.instruction_fail(instruction=item, reason="No securities")
    assert (failed.status, failed.fail_reason) == (S.FAILED, "No securities")
    with pytest.raises(ValidationError) as caught:
        settlement.instruction_mark_matched(instruction=item)
    assert "failed" in caught.value.message_dict["status"][0]
    with pytest.raises(ValidationError) as caught:
        settlement.instruction_settle(
            instruction=item, settled_on=timezone.localdate() + dt.timedelta(days=1)
        )
    assert list(caught.value.message_dict) == ["settled_on"]
    later = settlement.instruction_settle(instruction=item, settled_on=timezone.localdate())
    assert (later.status, later.settled_on) == (S.SETTLED, timezone.localdate())
    with pytest.raises(ValidationError):
        settlement.instruction_fail(instruction=item, reason="late")


def test_cancel_settled_reverses_its_entry(books: Book, trade_data: Data) -> None:
    trade = trade_book(company=books.company, **trade_data())
    settlement.instructions_generate(company=books.company, trade_date=trade.trade_date)
    item = settlement.instruction_settle(
        instruction=SettlementInstruction.objects.get(), settled_on=trade.settlement_date
    )
    cancelled = settlement.instruction_cancel(instruction=item, reason="Booked on a wrong account")
    assert cancelled.status == S.CANCELLED
    reversal = JournalEntry.objects.get(reversal_of=item.entry_id)
    assert entry_lines(reversal) == [("561", 0, 618989), ("7590", 320, 0), ("566", 618669, 0)]
    with pytest.raises(ValidationError):
        settlement.instruction_cancel(instruction=item, reason="again")
    # the trade can have a new instruction now
    assert len(settlement.instructions_generate(company=books.company, trade_ids=["FO-1"]).created)


def test_out_of_date_after_amend_and_regenerate(books: Book, trade_data: Data) -> None:
    trade = trade_book(company=books.company, **trade_data())
    settlement.instructions_generate(company=books.company, trade_date=trade.trade_date)
    item = SettlementInstruction.objects.get()
    assert not settlement.is_out_of_date(item)
    with pytest.raises(ValidationError) as caught:
        settlement.instruction_regenerate(instruction=item)
    assert list(caught.value.message_dict) == ["trade_version"]
    amended = trade_amend(company=books.company, trade_id="FO-1", price="4")
    item.refresh_from_db()
    assert item.trade_version_id == trade.pk and item.gross_amount == 618519  # not followed
    assert settlement.is_out_of_date(item)
    annotated = settlement.with_out_of_date(SettlementInstruction.objects.all())
    assert [i.pk for i in annotated.filter(settlement.out_of_date_q())] == [item.pk]
    # generating again does not touch it: it is live
    assert settlement.instructions_generate(company=books.company, trade_ids=["FO-1"]).skipped
    fresh = settlement.instruction_regenerate(instruction=item)
    item.refresh_from_db()
    assert item.status == S.CANCELLED
    assert (fresh.trade_version_id, fresh.gross_amount, fresh.cash_amount, fresh.status) == (
        amended.pk,
        600000,
        -600470,
        S.PENDING,
    )
    assert not settlement.is_out_of_date(fresh)
    trade_cancel(company=books.company, trade_id="FO-1", reason="duplicate")
    assert settlement.is_out_of_date(fresh)
    with pytest.raises(ValidationError) as caught:
        settlement.instruction_regenerate(instruction=fresh)
    assert "cancel the instruction" in caught.value.message_dict["trade_version"][0]
    settlement.instruction_cancel(instruction=fresh, reason="Trade cancelled")
    assert not settlement.with_out_of_date(SettlementInstruction.objects.all()).filter(
        out_of_date=True
    )


def test_regenerate_settled_reverses(books: Book, trade_data: Data) -> None:
    trade = trade_book(company=books.company, **trade_data())
    settlement.instructions_generate(company=books.company, trade_date=trade.trade_date)
    item = settlement.instruction_settle(
        instruction=SettlementInstruction.objects.get(), settled_on=trade.settlement_date
    )
    trade_amend(company=books.company, trade_id="FO-1", quantity="1000")
    fresh = settlement.instruction_regenerate(instruction=item)
    assert JournalEntry.objects.filter(reversal_of=item.entry_id).count() == 1
    assert fresh.status == S.PENDING and fresh.quantity == 1000 * 10**6


def test_fails_report_ages_by_broker(books: Book) -> None:
    other = reference.broker_create(company=books.company, code="BRK2", name="Broker Two")
    march_trade(books, "M-1")
    march_trade(books, "M-2", settlement_date="2026-03-06")
    march_trade(books, "M-3", broker=other.code, settlement_date="2026-03-03")
    march_trade(books, "M-4", settlement_date="2026-03-12")  # not due yet
    settlement.instructions_generate(company=books.company, trade_date=MARCH)
    get = SettlementInstruction.objects.get
    settlement.instruction_fail(instruction=get(trade_id="M-3"), reason="No cash")
    settlement.instruction_settle(instruction=get(trade_id="M-2"), settled_on=dt.date(2026, 3, 6))
    report = settlement.fails_report(books.company, dt.date(2026, 3, 11))
    found = [
        (
            group.broker.code,
            [(r.instruction.trade_id, r.instruction.status, r.age) for r in group.rows],
        )
        for group in report.brokers
    ]
    # 4 March (Wed) to 11 March (Wed): 5, 6, 9, 10, 11 -> 5 business days; 3 March: 6
    assert found == [("BRK", [("M-1", S.PENDING, 5)]), ("BRK2", [("M-3", S.FAILED, 6)])]
    assert report.brokers[0].cash == {"EUR": -40000}


def test_projections(books: Book) -> None:
    march_trade(books, "P-1")  # buy 100 @ 4 on 4 March
    march_trade(books, "P-2", side="sell", quantity="30", settlement_date="2026-03-06")
    march_trade(books, "P-3", settlement_date="2026-03-03", instrument="BONO-2030", price="100")
    march_trade(books, "P-4", settlement_date="2026-03-05")
    settlement.instructions_generate(company=books.company, trade_date=MARCH)
    settlement.instruction_settle(
        instruction=SettlementInstruction.objects.get(trade_id="P-4"),
        settled_on=dt.date(2026, 3, 5),
    )
    result = settlement.projections(books.company, dt.date(2026, 3, 4), 3)
    assert result.dates == [dt.date(2026, 3, 4), dt.date(2026, 3, 5), dt.date(2026, 3, 6)]
    # P-3 (3 March, overdue) counts on the first day; P-4 is settled; P-2 sells on 6 March
    assert result.cash_row("EUR") == [-40000 - 1000000, 0, 12000]
    assert {i.code: result.securities_row(i) for i in result.securities} == {
        "BONO-2030": [100 * 10**6, 0, 0],
        "SAN": [100 * 10**6, 0, -30 * 10**6],
    }
    narrow = settlement.projections(books.company, dt.date(2026, 3, 4), 2)
    assert narrow.cash_row("EUR") == [-1040000, 0]
    with pytest.raises(ValidationError):
        settlement.projections(books.company, dt.date(2026, 3, 4), 0)

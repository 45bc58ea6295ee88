"""Compliance services: each rule kind raising and not raising at its boundary, re-runs
without duplicates, market hours in the market's time zone, unusual size with and without
history, the alert workflow and its refusals, the procedures manual."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from trastienda.audit.models import AuditEntry
from trastienda.trading import compliance, reference
from trastienda.trading.models import (
    Alert,
    ComplianceRule,
    Price,
    Procedure,
    ProcedureVersion,
    RestrictedInstrument,
    Trade,
)
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book, past_business_day

pytestmark = pytest.mark.django_db

Data = Callable[..., dict[str, Any]]
UTC = dt.UTC


@pytest.fixture
def day() -> dt.date:
    return past_business_day()


@pytest.fixture
def book_trade(book: Book, trade_data: Data, day: dt.date) -> Callable[..., Trade]:
    """Book a trade on ``day`` (keywords override the fields)."""
    counter = iter(range(1, 1000))

    def make(**overrides: Any) -> Trade:
        fields = {"executed_at": f"{day.isoformat()}T10:15:00", **overrides}
        data = trade_data(trade_id=f"FO-{next(counter)}", **fields)
        return trade_book(company=book.company, **data)

    return make


def rule(book: Book, kind: str, code: str | None = None, **fields: Any) -> ComplianceRule:
    return compliance.compliance_rule_create(
        company=book.company, code=code or kind[:20], name=f"Rule {kind}", kind=kind, **fields
    )


def run(book: Book, day: dt.date) -> compliance.RunResult:
    return compliance.compliance_run(company=book.company, date=day)


def codes(book: Book) -> list[tuple[str, str]]:
    return sorted(
        (a.rule.code, a.trade.trade_id if a.trade else f"{a.trader.code}/{a.instrument.code}")
        for a in Alert.objects.for_company(book.company).select_related(
            "rule", "trade", "trader", "instrument"
        )
    )


# --- rules ------------------------------------------------------------------------------------


def test_rule_values_by_kind(book: Book) -> None:
    position = rule(book, "position_limit", limit="1500.5", trader=book.trader)
    assert (position.limit, position.currency, position.params) == (1_500_500_000, "", {})
    assert compliance.rule_limit_text(position) == "1500.5"
    exposure = rule(book, "exposure_limit", limit=Decimal("250000.10"), currency="eur")
    assert (exposure.limit, exposure.currency) == (25_000_010, "EUR")
    unusual = rule(book, "unusual_size", params={"multiple": "2.50", "lookback": "10"})
    assert unusual.params == {"multiple": "2.5", "lookback": 10, "min_history": 5}
    late = rule(book, "late_booking", instrument="SAN")
    assert (late.limit, late.instrument) == (None, book.equity)


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("position_limit", {}, "limit"),
        ("position_limit", {"limit": "1.0000001"}, "limit"),
        ("position_limit", {"limit": "-5"}, "limit"),
        ("position_limit", {"limit": "10", "currency": "EUR"}, "currency"),
        ("exposure_limit", {"limit": "100"}, "currency"),
        ("exposure_limit", {"limit": "100.001", "currency": "EUR"}, "limit"),
        ("exposure_limit", {"currency": "EUR"}, "limit"),
        ("unusual_size", {}, "multiple"),
        ("unusual_size", {"params": {"multiple": "0.5"}}, "multiple"),
        ("unusual_size", {"params": {"multiple": "3", "lookback": 0}}, "lookback"),
        ("unusual_size", {"params": {"multiple": "3", "colour": 1}}, "params"),
        ("late_booking", {"limit": "5"}, "limit"),
        ("restricted_list", {"params": {"multiple": "3"}}, "params"),
        ("nonsense", {}, "kind"),
    ],
)
def test_rule_refused_naming_the_field(
    book: Book, kind: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        rule(book, kind, code="X", **fields)
    assert field in caught.value.message_dict
    assert not ComplianceRule.objects.exists()


def test_rule_code_unique_kind_stays_delete_refused(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    late = rule(book, "late_booking", code="LATE")
    with pytest.raises(ValidationError) as caught:
        rule(book, "outside_hours", code="LATE")
    assert list(caught.value.message_dict) == ["code"]
    book_trade()
    assert run(book, day).raised == 1
    with pytest.raises(ValidationError) as caught:
        compliance.compliance_rule_update(instance=late, kind="outside_hours")
    assert list(caught.value.message_dict) == ["kind"]
    with pytest.raises(ValidationError):
        compliance.compliance_rule_delete(instance=late)
    changed = compliance.compliance_rule_update(instance=late, name="Late", active=False)
    assert (changed.kind, changed.name, changed.active) == ("late_booking", "Late", False)
    unused = rule(book, "outside_hours", code="HOURS")
    compliance.compliance_rule_delete(instance=unused)
    assert list(ComplianceRule.objects.values_list("code", flat=True)) == ["LATE"]


# --- each kind --------------------------------------------------------------------------------


def test_position_limit_boundary_and_scope(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    book_trade(quantity="1000")
    book_trade(quantity="500")
    book_trade(trader="T2", side="sell", quantity="1500.000001")
    rule(book, "position_limit", code="AT", limit="1500")  # T1 long 1500: not above
    rule(book, "position_limit", code="BELOW", limit="1499.999999")
    rule(book, "position_limit", code="OTHER", limit="1", trader=book.other_trader)
    rule(book, "position_limit", code="BOND", limit="1", instrument=book.bond)
    result = run(book, day)
    assert codes(book) == [
        ("AT", "T2/SAN"),  # short 1500.000001
        ("BELOW", "T1/SAN"),
        ("BELOW", "T2/SAN"),
        ("OTHER", "T2/SAN"),
    ]
    assert result.by_rule == {"AT": 1, "BELOW": 2, "OTHER": 1}
    alert = Alert.objects.get(rule__code="OTHER")
    assert alert.detail == {"net": "-1500.000001", "limit": "1"}
    assert (alert.date, alert.trade, alert.state) == (day, None, "open")


def test_exposure_limit_prices_and_currency(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    book_trade(quantity="1500", price="4.12345678")  # 6185.18517 EUR -> 6185.19
    rule(book, "exposure_limit", code="AT", limit="6185.19", currency="EUR")
    rule(book, "exposure_limit", code="BELOW", limit="6185.18", currency="EUR")
    rule(book, "exposure_limit", code="USD", limit="1", currency="USD")
    result = run(book, day)
    assert codes(book) == [("BELOW", "T1/SAN")]
    alert = Alert.objects.get()
    assert alert.detail["exposure"] == "6185.19"
    assert alert.detail["price_source"].startswith("price of trade")
    assert any("USD" in reason and "SAN" in reason for reason in result.skipped)
    # a closing price on or before the day wins over the trade price
    Price.objects.create(
        company=book.company,
        instrument=book.equity,
        date=day - dt.timedelta(days=1),
        close=5 * 10**8,
    )
    Alert.objects.all().delete()
    run(book, day)
    assert codes(book) == [("AT", "T1/SAN"), ("BELOW", "T1/SAN")]
    assert Alert.objects.filter(rule__code="AT").get().detail["exposure"] == "7500.00"


def test_exposure_uses_the_multiplier(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    book_trade(instrument="FIE-2612", quantity="2", price="11875.5", fees="0", commission="0")
    rule(book, "exposure_limit", code="AT", limit="237510", currency="EUR")  # 2x11875.5x10
    rule(book, "exposure_limit", code="BELOW", limit="237509.99", currency="EUR")
    run(book, day)
    assert codes(book) == [("BELOW", "T1/FIE-2612")]


def test_restricted_list_on_the_trade_date(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    trade = book_trade()
    book_trade(instrument="BONO-2030", quantity="1000", price="96.5")
    rule(book, "restricted_list", code="RL")
    ended = compliance.restricted_instrument_create(
        company=book.company,
        instrument=book.equity,
        reason="old",
        valid_from=day - dt.timedelta(days=30),
        valid_to=day - dt.timedelta(days=1),
    )
    assert run(book, day).raised == 0
    compliance.restricted_instrument_create(
        company=book.company, instrument="SAN", reason="Inside information", valid_from=day
    )
    assert run(book, day).raised == 1
    alert = Alert.objects.get()
    assert (alert.trade, alert.detail["reason"]) == (trade, "Inside information")
    with pytest.raises(ValidationError) as caught:  # periods of one instrument do not overlap
        compliance.restricted_instrument_update(instance=ended, valid_to=day)
    assert list(caught.value.message_dict) == ["valid_from"]
    assert RestrictedInstrument.objects.get(pk=ended.pk).valid_to == day - dt.timedelta(days=1)


def _utc(day: dt.date, hour: int, minute: int, zone: str) -> str:
    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).isoformat()


def test_outside_hours_in_the_market_time_zone(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    from trastienda.trading import calendars

    while not calendars.is_business_day("XNYS", day) or not calendars.is_business_day("XMAD", day):
        day -= dt.timedelta(days=1)
    late = book_trade(executed_at=_utc(day, 17, 45, "Europe/Madrid"))
    book_trade(executed_at=_utc(day, 17, 30, "Europe/Madrid"))  # the close is inside
    early = book_trade(executed_at=_utc(day, 8, 59, "Europe/Madrid"))
    book_trade(executed_at=_utc(day, 9, 0, "Europe/Madrid"))
    assert Trade.objects.get(pk=late.pk).executed_at.tzinfo is not None
    nyse = reference.instrument_create(
        company=book.company,
        code="IBM",
        name="IBM",
        type="equity",
        market="XNYS",
        currency="USD",
    )
    # 15:59 in New York is 21:59 in Madrid: inside NYSE hours
    book_trade(instrument=nyse.code, executed_at=_utc(day, 15, 59, "America/New_York"))
    after = book_trade(instrument=nyse.code, executed_at=_utc(day, 16, 1, "America/New_York"))
    rule(book, "outside_hours", code="HOURS")
    result = run(book, day)
    flagged = sorted(a.trade_id for a in Alert.objects.all())
    assert flagged == sorted([late.pk, early.pk, after.pk])
    assert "17:45" in Alert.objects.get(trade=late).message
    assert result.skipped == []


def test_outside_hours_function() -> None:
    saturday = dt.datetime(2026, 3, 7, 11, 0, tzinfo=UTC)
    assert "closed" in (compliance.outside_hours(saturday, "XMAD") or "")
    christmas = dt.datetime(2025, 12, 25, 11, 0, tzinfo=UTC)
    assert compliance.outside_hours(christmas, "XMIL") is not None
    # 16:45 UTC in winter is 17:45 in Madrid and Rome; in summer 18:45
    winter = dt.datetime(2026, 1, 14, 16, 45, tzinfo=UTC)
    assert compliance.outside_hours(winter, "XMAD") is not None
    assert compliance.outside_hours(winter.replace(hour=16, minute=30), "XMAD") is None
    summer = dt.datetime(2026, 6, 17, 15, 30, tzinfo=UTC)  # 17:30 in Madrid
    assert compliance.outside_hours(summer, "XMAD") is None
    assert compliance.outside_hours(summer.replace(minute=31), "XMAD") is not None
    # New York: 14:30 UTC in January is 09:30 there
    assert compliance.outside_hours(winter.replace(hour=14, minute=30), "XNYS") is None
    assert compliance.outside_hours(winter.replace(hour=14, minute=29), "XNYS") is not None


def test_late_bookings(book: Book, book_trade: Callable[..., Trade], trade_data: Data) -> None:
    today = timezone.localdate()
    past = book_trade()
    assert past.late
    rule(book, "late_booking", code="LATE")
    assert run(book, past.trade_date).raised == 1
    on_time = trade_book(
        company=book.company,
        **trade_data(trade_id="TODAY-1", executed_at=f"{today.isoformat()}T10:00:00"),
    )
    assert not on_time.late
    assert run(book, today).raised == 0


def test_unusual_size_boundary_and_history(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    for minute, quantity in enumerate(["100"] * 5):
        book_trade(quantity=quantity, executed_at=f"{day.isoformat()}T09:{10 + minute}:00")
    at = book_trade(quantity="300", executed_at=f"{day.isoformat()}T11:00:00")  # 3 x median 100
    above = book_trade(quantity="300.000001", executed_at=f"{day.isoformat()}T11:05:00")
    rule(book, "unusual_size", code="SIZE", params={"multiple": "3", "lookback": 5})
    result = run(book, day)
    assert [a.trade_id for a in Alert.objects.all()] == [above.pk]
    assert at.pk != above.pk
    alert = Alert.objects.get()
    assert alert.detail["median"] == "100"  # previous 5: 300, 100, 100, 100, 100
    assert result.skipped  # the first five trades had less than five before them


def test_unusual_size_median_of_the_lookback(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    for minute, quantity in enumerate(["1000", "100", "200", "300", "400"]):
        book_trade(quantity=quantity, executed_at=f"{day.isoformat()}T09:{10 + minute}:00")
    big = book_trade(quantity="751", executed_at=f"{day.isoformat()}T12:00:00")
    # lookback 4: 100, 200, 300, 400 -> median 250, x3 = 750
    rule(
        book, "unusual_size", code="SIZE", params={"multiple": "3", "lookback": 4, "min_history": 4}
    )
    run(book, day)
    alert = Alert.objects.get(trade=big)
    assert (alert.detail["median"], alert.detail["history"]) == ("250", 4)


def test_unusual_size_without_enough_history(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    for minute in range(4):
        book_trade(quantity="100", executed_at=f"{day.isoformat()}T09:{10 + minute}:00")
    book_trade(quantity="100000", executed_at=f"{day.isoformat()}T12:00:00")
    rule(book, "unusual_size", code="SIZE", params={"multiple": "3"})  # needs 5 before
    result = run(book, day)
    assert Alert.objects.count() == 0
    assert result.skipped == ["SIZE: 5 trades with less than 5 previous trades; not checked."]


def test_median_is_exact() -> None:
    assert compliance.median([3, 1, 2]) == 2
    assert compliance.median([4, 1, 2, 3]) == Decimal("2.5")
    assert compliance.median([1, 2]) == Decimal("1.5")
    with pytest.raises(ValueError):
        compliance.median([])


def test_rerun_raises_nothing_twice(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    book_trade(quantity="2000")
    rule(book, "late_booking", code="LATE")
    rule(book, "position_limit", code="POS", limit="1000")
    first = run(book, day)
    assert (first.raised, first.already) == (2, 0)
    second = run(book, day)
    assert (second.raised, second.already) == (0, 2)
    assert Alert.objects.count() == 2
    # the position is still above the limit the next day: a new alert of that day
    later = run(book, day + dt.timedelta(days=1))
    assert (later.raised, later.already) == (1, 0)
    assert AuditEntry.objects.filter(object_type="trading.compliancerun").count() == 3


def test_run_refuses_a_future_date(book: Book) -> None:
    with pytest.raises(ValidationError) as caught:
        run(book, timezone.localdate() + dt.timedelta(days=1))
    assert list(caught.value.message_dict) == ["date"]
    with pytest.raises(ValidationError):
        compliance.compliance_run(company=book.company, date="31/12/2025")


# --- the workflow -----------------------------------------------------------------------------


@pytest.fixture
def people(make_user: Callable[..., Any], book: Book) -> dict[str, Any]:
    return {
        name: make_user(name, company=book.company, role="operations")
        for name in ("ana", "bea", "chief", "trader")
    }


@pytest.fixture
def alert(book: Book, book_trade: Callable[..., Trade], day: dt.date, people: Any) -> Alert:
    reference.trader_update(instance=book.trader, user=people["trader"])
    book_trade()
    rule(book, "late_booking", code="LATE")
    run(book, day)
    return Alert.objects.get()


def steps(alert: Alert) -> list[str]:
    return [
        entry.extra.get("step")
        for entry in AuditEntry.objects.filter(object_type="trading.alert", object_id=str(alert.pk))
        .exclude(extra__step=None)
        .order_by("seq")
        if entry.extra and entry.extra.get("step")
    ]


def test_workflow_assign_justify_escalate_close_reopen(alert: Alert, people: Any) -> None:
    ana, bea, chief = people["ana"], people["bea"], people["chief"]
    compliance.alert_assign(instance=alert, owner=ana, comment="Look at it", user=chief)
    compliance.alert_justify(
        instance=alert, text="Booked late by the desk: system outage", user=ana
    )
    with pytest.raises(ValidationError) as caught:  # open with an owner: only the owner closes
        compliance.alert_close(instance=alert, justification="fine", user=bea)
    assert "ana" in caught.value.messages[0]
    escalated = compliance.alert_escalate(
        instance=alert, to=chief, comment="Third late booking this month", user=ana
    )
    assert (escalated.state, escalated.escalated_to) == ("escalated", chief)
    with pytest.raises(ValidationError):  # escalated: only the person it went to
        compliance.alert_close(instance=alert, justification="fine", user=ana)
    closed = compliance.alert_close(instance=alert, justification="Outage confirmed", user=chief)
    assert (closed.state, closed.owner) == ("closed", ana)
    assert closed.closed_at is not None
    assert "Outage confirmed" in closed.justification
    with pytest.raises(ValidationError) as caught:
        compliance.alert_justify(instance=alert, text="more", user=ana)
    assert list(caught.value.message_dict) == ["state"]
    reopened = compliance.alert_reopen(instance=alert, reason="New facts", user=bea)
    assert (reopened.state, reopened.closed_at, reopened.escalated_to) == ("open", None, None)
    assert steps(alert) == ["assign", "justify", "escalate", "close", "reopen"]
    entry = AuditEntry.objects.filter(object_id=str(alert.pk), extra__step="escalate").get()
    assert entry.extra["comment"] == "Third late booking this month"
    assert entry.changes["state"] == ["open", "escalated"]


def test_workflow_refusals_change_nothing(alert: Alert, people: Any, make_user: Any) -> None:
    ana, trader = people["ana"], people["trader"]
    outsider = make_user("outsider")
    before = Alert.objects.values().get(pk=alert.pk)
    entries = AuditEntry.objects.count()
    refusals: list[tuple[Callable[[], Any], str | None]] = [
        (lambda: compliance.alert_assign(instance=alert, owner=outsider, user=ana), "owner"),
        (lambda: compliance.alert_assign(instance=alert, owner=trader, user=ana), "owner"),
        (lambda: compliance.alert_justify(instance=alert, text="  ", user=ana), "text"),
        (
            lambda: compliance.alert_escalate(
                instance=alert, to=people["bea"], comment="", user=ana
            ),
            "comment",
        ),
        (lambda: compliance.alert_escalate(instance=alert, to=ana, comment="x", user=ana), "to"),
        (lambda: compliance.alert_escalate(instance=alert, to=trader, comment="x", user=ana), "to"),
        (
            lambda: compliance.alert_escalate(instance=alert, to=outsider, comment="x", user=ana),
            "to",
        ),
        (
            lambda: compliance.alert_close(instance=alert, justification="", user=ana),
            "justification",
        ),
        (lambda: compliance.alert_close(instance=alert, justification="ok", user=trader), None),
        (lambda: compliance.alert_close(instance=alert, justification="ok", user=None), None),
        (lambda: compliance.alert_reopen(instance=alert, reason="x", user=ana), "state"),
    ]
    for call, field in refusals:
        with pytest.raises(ValidationError) as caught:
            call()
        if field is not None:
            assert field in caught.value.message_dict, field
    assert Alert.objects.values().get(pk=alert.pk) == before
    assert AuditEntry.objects.count() == entries


def test_close_unowned_alert_takes_it(alert: Alert, people: Any) -> None:
    closed = compliance.alert_close(instance=alert, justification="Known", user=people["bea"])
    assert (closed.state, closed.owner) == ("closed", people["bea"])
    assert compliance.alert_actions(closed) == ["reopen"]


# --- procedures -------------------------------------------------------------------------------


def test_procedure_versions_numbered_and_immutable(book: Book, people: Any) -> None:
    late = rule(book, "late_booking", code="LATE")
    start = timezone.localdate() - dt.timedelta(days=30)
    procedure = compliance.procedure_create(
        company=book.company,
        code="PROC-1",
        title="Daily trade reconciliation",
        owner=people["ana"],
        body="Step one.\nStep two.",
        effective_from=start,
        controls=[late],
        user=people["ana"],
    )
    first = ProcedureVersion.objects.get(procedure=procedure)
    assert (first.version, first.created_by, first.effective_from) == (1, people["ana"], start)
    assert list(late.procedures.all()) == [procedure]
    second = compliance.procedure_version_add(
        procedure=procedure,
        body="Step one.\nStep two, before 10:30.\nStep three.",
        effective_from=start + dt.timedelta(days=10),
        change_note="Cut-off",
        user=people["bea"],
    )
    assert second.version == 2
    for kwargs, field in (
        ({"body": second.body, "change_note": "same"}, "body"),
        ({"body": "New", "change_note": ""}, "change_note"),
        ({"body": "New", "change_note": "x", "effective_from": start}, "effective_from"),
        ({"body": "", "change_note": "x"}, "body"),
    ):
        values = {"effective_from": start + dt.timedelta(days=20), **kwargs}
        with pytest.raises(ValidationError) as caught:
            compliance.procedure_version_add(procedure=procedure, **values)
        assert field in caught.value.message_dict
    assert ProcedureVersion.objects.filter(procedure=procedure).count() == 2
    assert compliance.procedure_in_force(procedure) == second
    assert compliance.procedure_in_force(procedure, start + dt.timedelta(days=5)) == first
    diff = compliance.procedure_diff(first, second)
    assert [(line.kind, line.text) for line in diff if line.kind != "hunk"] == [
        ("same", "Step one."),
        ("remove", "Step two."),
        ("add", "Step two, before 10:30."),
        ("add", "Step three."),
    ]
    with pytest.raises(ValidationError):
        compliance.procedure_delete(instance=procedure)
    with pytest.raises(ValidationError) as caught:
        compliance.procedure_create(company=book.company, code="PROC-1", title="", body="")
    assert {"code", "title", "body"} <= set(caught.value.message_dict)
    assert Procedure.objects.count() == 1


def test_procedure_link_unlink(book: Book) -> None:
    hours = rule(book, "outside_hours", code="HOURS")
    procedure = compliance.procedure_create(
        company=book.company, code="P", title="Hours", body="Text"
    )
    compliance.procedure_link(procedure=procedure, rule="HOURS")
    assert list(procedure.controls.all()) == [hours]
    with pytest.raises(ValidationError) as caught:
        compliance.procedure_link(procedure=procedure, rule=hours)
    assert list(caught.value.message_dict) == ["rule"]
    compliance.procedure_unlink(procedure=procedure, rule=hours)
    assert not procedure.controls.exists()
    with pytest.raises(ValidationError):
        compliance.procedure_unlink(procedure=procedure, rule=hours)
    with pytest.raises(ValidationError):
        compliance.procedure_link(procedure=procedure, rule="NOPE")


def test_dashboard_and_cli(book: Book, book_trade: Callable[..., Trade], day: dt.date) -> None:
    book_trade(quantity="2000")
    rule(book, "late_booking", code="LATE")
    rule(book, "position_limit", code="POS", limit="1000")
    text = compliance.cli_compliance(book.company, day)
    assert "2 new alerts" in text
    board = compliance.alerts_dashboard(book.company, today=day + dt.timedelta(days=3))
    assert board.open_total == 2
    assert [(kind, n) for kind, _label, n in board.by_kind] == [
        ("late_booking", 1),
        ("position_limit", 1),
    ]
    assert board.by_trader == [("T1", 2)]
    assert [n for _label, n in board.ageing] == [0, 2, 0, 0]


def test_nightly_job_runs_previous_business_day(
    book: Book, book_trade: Callable[..., Trade], day: dt.date
) -> None:
    from trastienda.trading import calendars
    from trastienda.trading.jobs_compliance import compliance_nightly_all

    book_trade()
    rule(book, "late_booking", code="LATE")
    today = calendars.next_business_day("XMAD", day)
    assert compliance_nightly_all(today) == {book.company.code: 1}
    assert compliance_nightly_all(today) == {book.company.code: 0}

"""Reminders of the expiry calendar: within the lead time, to the right people, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from trastienda.core.models import Notification
from trastienda.trading import expiry, reference
from trastienda.trading.models import Reminder, TradingSettings
from trastienda.trading.services import trade_book
from trastienda.trading.tests.conftest import Book, past_business_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user: Callable[..., Any], book: Book) -> dict[str, Any]:
    company = book.company
    return {
        "ops": make_user("ops", company=company, role="operations", email="ops@example.com"),
        "clerk": make_user("clerk2", company=company, role="clerk", email="clerk@example.com"),
        "hr": make_user("hr", company=company, role="hr_manager", email="hr@example.com"),
    }


def _future(book: Book, code: str, expiry_date: dt.date) -> Any:
    return reference.instrument_create(
        company=book.company,
        code=code,
        name=f"{code} future",
        type="future",
        market="XMAD",
        currency="EUR",
        expiry=expiry_date,
        multiplier=Decimal(10),
    )


def test_reminders_go_out_within_the_lead_time_once(
    book: Book, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    today = timezone.localdate()
    company = book.company
    held = _future(book, "HELD", today + dt.timedelta(days=2))
    _future(book, "FLAT", today + dt.timedelta(days=2))  # no position: nothing to remind of
    _future(book, "LATER", today + dt.timedelta(days=9))
    day = past_business_day()
    trade_book(
        company=company,
        trade_id="H-1",
        executed_at=f"{day.isoformat()}T10:00:00",
        account="CLI-1",
        trader="T1",
        instrument="HELD",
        broker="BRK",
        side="buy",
        quantity="4",
        price="12000",
    )
    soon = expiry.obligation_create(
        company=company, title="Soon", kind="regulatory", due_date=today + dt.timedelta(days=3)
    )
    early = expiry.obligation_create(
        company=company,
        title="Early",
        kind="contract_renewal",
        due_date=today + dt.timedelta(days=8),
        reminder_days=10,
        owner=people["hr"],
    )
    expiry.obligation_create(  # default lead time 5 days: not yet
        company=company, title="Not yet", due_date=today + dt.timedelta(days=8)
    )
    expiry.obligation_create(  # done: never
        company=company, title="Done", due_date=today + dt.timedelta(days=1), done=True
    )
    expiry.obligation_create(  # past: never
        company=company, title="Past", due_date=today - dt.timedelta(days=1)
    )
    assert not TradingSettings.objects.filter(company=company).exists()

    with django_capture_on_commit_callbacks(execute=True):
        sent = expiry.reminders_send(company=company, today=today)

    assert TradingSettings.objects.get(company=company).reminder_days == 5  # made on first use
    assert sorted(r.key for r in sent) == sorted(
        [
            f"instrument:{held.pk}:{(today + dt.timedelta(days=2)).isoformat()}",
            f"obligation:{soon.pk}:{soon.due_date.isoformat()}",
            f"obligation:{early.pk}:{early.due_date.isoformat()}",
        ]
    )
    # Members who may view trades (ops) get every reminder; the owner (hr) hers; the clerk none.
    by_user = {
        name: sorted(Notification.objects.filter(user=user).values_list("message", flat=True))
        for name, user in people.items()
    }
    assert len(by_user["ops"]) == 3 and by_user["clerk"] == [] and len(by_user["hr"]) == 1
    assert by_user["hr"][0].startswith("Obligation in 8 days")
    assert any(m.startswith("Future expiry in 2 days") and "HELD" in m for m in by_user["ops"])
    assert sorted(tuple(m.to) for m in mail.outbox) == sorted(
        [("ops@example.com",)] * 3 + [("hr@example.com",)]
    )
    held_mail = next(m for m in mail.outbox if "HELD" in m.subject)
    assert "CLI-1: 4" in held_mail.body
    assert Reminder.objects.get(key__startswith="obligation:" + str(early.pk)).recipients == 2

    # The next morning (and the one after): nothing twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = expiry.reminders_send(company=company, today=today)
        later = expiry.reminders_send(company=company, today=today + dt.timedelta(days=1))
    assert again == [] and later == []
    assert len(mail.outbox) == 4
    assert Notification.objects.count() == 4


def test_company_lead_time_and_the_daily_job(
    book: Book, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    today = timezone.localdate()
    TradingSettings.objects.create(company=book.company, reminder_days=10)
    expiry.obligation_create(
        company=book.company, title="Far", due_date=today + dt.timedelta(days=9)
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = expiry.reminders_send_all(today=today)
    assert result[book.company.code] == 1
    assert [m.subject for m in mail.outbox] == [
        f"Obligation in 9 days ({(today + dt.timedelta(days=9)).isoformat()}): Far"
    ]

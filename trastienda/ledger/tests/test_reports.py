"""Trial balance, general ledger and journal book: queries, pages, exports, API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from trastienda.audit.models import AuditEntry
from trastienda.ledger import demo, queries, services
from trastienda.ledger.models import Account, Journal, JournalEntry, JournalEntryLine
from trastienda.ledger.tests.conftest import BANK, CAPITAL, CASH, CUSTOMERS, FEES, SALES

Posted = Callable[..., JournalEntry]


@pytest.fixture
def small(books: Any, posted: Posted, draft: Callable[..., JournalEntry]) -> Any:
    """Capital in January, a fee in February, a sale on 31 March, a draft in February."""
    posted("1000.00", BANK, CAPITAL, date=dt.date(2026, 1, 15), description="Capital")
    posted("25.50", FEES, BANK, date=dt.date(2026, 2, 10), description="Fee")
    posted("200.00", BANK, SALES, date=dt.date(2026, 3, 31), description="Sale")
    draft("999.00", BANK, CAPITAL, date=dt.date(2026, 2, 20))
    return books


def figures(report: queries.TrialBalance) -> list[tuple[str, int, int, int, int]]:
    return [(r.account.code, r.opening, r.debit, r.credit, r.closing) for r in report.rows]


def test_trial_balance_exact(small: Any) -> None:
    report = queries.trial_balance(small, dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert figures(report) == [
        (CAPITAL, -100000, 0, 0, -100000),
        (BANK, 100000, 0, 2550, 97450),
        (FEES, 0, 2550, 0, 2550),
    ]
    assert (report.opening, report.debit, report.credit, report.closing) == (0, 2550, 2550, 0)
    whole = queries.trial_balance(small, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert figures(whole) == [
        (CAPITAL, 0, 0, 100000, -100000),
        (BANK, 0, 120000, 2550, 117450),
        (FEES, 0, 2550, 0, 2550),
        (SALES, 0, 0, 20000, -20000),
    ]
    # a partial month at both ends: 11 February to 31 March
    partial = queries.trial_balance(small, dt.date(2026, 2, 11), dt.date(2026, 3, 31))
    assert figures(partial) == [
        (CAPITAL, -100000, 0, 0, -100000),
        (BANK, 97450, 20000, 0, 117450),
        (FEES, 2550, 0, 0, 2550),
        (SALES, 0, 0, 20000, -20000),
    ]
    assert [r[0] for r in figures(queries.trial_balance(small, *YEAR, prefix="57"))] == [BANK]


YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_trial_balance_show_all_and_groups(small: Any) -> None:
    everything = queries.trial_balance(small, *YEAR, show_all=True)
    postable = Account.objects.filter(company=small, postable=True).count()
    assert len(everything.rows) == postable
    assert next(r for r in everything.rows if r.account.code == CASH).is_zero
    grouped = queries.trial_balance(small, *YEAR, prefix="57", groups=True)
    assert [(r.account.code, r.is_group, r.debit, r.credit) for r in grouped.rows] == [
        ("57", True, 120000, 2550),
        ("572", True, 120000, 2550),
        (BANK, False, 120000, 2550),
    ]
    assert (grouped.debit, grouped.credit) == (120000, 2550)  # groups are not counted twice


def recompute(company: Any, start: dt.date, end: dt.date) -> dict[str, tuple[int, int, int, int]]:
    """(opening, debit, credit, closing) per account code straight from the posted lines."""
    out: dict[str, list[int]] = {}
    lines = JournalEntryLine.objects.filter(
        company=company, entry__state=JournalEntry.State.POSTED, entry__date__lte=end
    ).select_related("entry", "account")
    for line in lines:
        row = out.setdefault(line.account.code, [0, 0, 0])
        if line.entry.date < start:
            row[0] += line.debit - line.credit
        else:
            row[1] += line.debit
            row[2] += line.credit
    return {code: (o, d, c, o + d - c) for code, (o, d, c) in out.items() if o or d or c}


def test_trial_balance_equals_recomputation_for_random_ranges(
    books: Any, posted: Posted, draft: Callable[..., JournalEntry]
) -> None:
    services.fiscal_year_create(
        company=books, name="2025", start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31)
    )
    ctx: Any = SimpleNamespace(companies={books.code: books}, log=lambda _line: None)
    demo.ledger(ctx)  # the demo half-year (with its two USD entries)
    assert JournalEntry.objects.filter(company=books, state="posted").count() == 39
    rng = random.Random(20260311)
    accounts = [BANK, CASH, CAPITAL, SALES, FEES]
    start = dt.date(2025, 1, 1)
    for i in range(60):
        day = start + dt.timedelta(rng.randrange(730))
        debit, credit = rng.sample(accounts, 2)
        amount = f"{rng.randrange(1, 500000)}.{rng.randrange(100):02d}"
        (draft if i % 10 == 0 else posted)(amount, debit, credit, date=day)
    posted(
        date=dt.date(2026, 5, 31),
        lines=[
            {"account": CUSTOMERS, "debit": "121.00", "partner": "Pérez"},
            {"account": SALES, "credit": "100.00"},
            {"account": CASH, "credit": "21.00"},
        ],
    )
    ranges = [
        (dt.date(2025, 1, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 5, 31), dt.date(2026, 5, 31)),
        (dt.date(2025, 12, 31), dt.date(2026, 1, 1)),
        (dt.date(2025, 3, 15), dt.date(2025, 3, 20)),
    ]
    for _ in range(40):
        a, b = sorted(start + dt.timedelta(rng.randrange(760)) for _ in range(2))
        ranges.append((a, b))
    for a, b in ranges:
        report = queries.trial_balance(books, a, b)
        got = {r.account.code: (r.opening, r.debit, r.credit, r.closing) for r in report.rows}
        assert got == recompute(books, a, b), (a, b)
        assert report.closing == 0 and report.opening == 0
        assert report.debit == report.credit


def test_general_ledger_running_balance_and_pages(small: Any, posted: Posted) -> None:
    bank = Account.objects.get(company=small, code=BANK)
    carried, lines = queries.general_ledger(small, bank, dt.date(2026, 2, 1), dt.date(2026, 3, 31))
    assert carried == 100000
    assert [(x.entry.date, x.line.debit, x.line.credit, x.balance) for x in lines] == [
        (dt.date(2026, 2, 10), 0, 2550, 97450),
        (dt.date(2026, 3, 31), 20000, 0, 117450),
    ]
    carried, lines = queries.general_ledger(small, bank, *YEAR, offset=1, limit=1)
    assert carried == 100000 and [x.balance for x in lines] == [97450]
    assert queries.monthly_balances(small, bank, dt.date(2026, 1, 1), dt.date(2026, 4, 30)) == [
        (dt.date(2026, 1, 31), 100000),
        (dt.date(2026, 2, 28), 97450),
        (dt.date(2026, 3, 31), 117450),
        (dt.date(2026, 4, 30), 117450),
    ]


def test_trial_balance_page_drill_down_and_exports(small: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    base = f"/c/{small.code}/ledger/reports/"
    page = client.get(base + "trial-balance/")  # no parameters: the current fiscal year
    assert page.status_code == 200
    html = page.content.decode()
    assert ">1,174.50<" in html and ">-1,000.00<" in html  # English grouping
    assert (
        f"{base}general-ledger/?account={BANK}&amp;date_from=2026-01-01&amp;date_to=2026-12-31"
        in html
    )
    grouped = client.get(base + "trial-balance/?groups=1&account=57").content.decode()
    assert '<td class="ps-1">Cash and cash equivalents</td>' in grouped
    assert "<td>57</td>" in grouped  # group rows have no drill-down link
    odd = client.get(base + "trial-balance/?date_from=0001-01-01")
    assert odd.status_code == 200 and 'id="report-errors"' in odd.content.decode()
    feb = client.get(base + "trial-balance/?date_from=2026-02-01&date_to=2026-02-28")
    assert ">974.50<" in feb.content.decode()
    opening = (
        f"{base}general-ledger/?account={BANK}&amp;date_to=2026-01-31&amp;date_from=2026-01-01"
    )
    assert f'<a href="{opening}">1,000.00</a>' in feb.content.decode()

    response = client.get(
        base + "trial-balance/?date_from=2026-02-01&date_to=2026-02-28&export=csv"
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["Account", "Name", "Opening", "Debit", "Credit", "Closing"],
        [CAPITAL, "Share capital", "-1000.00", "0.00", "0.00", "-1000.00"],
        [BANK, "Bank current account", "1000.00", "0.00", "25.50", "974.50"],
        [FEES, "Bank services and similar", "0.00", "25.50", "0.00", "25.50"],
        ["Total", "", "0.00", "25.50", "25.50", "0.00"],
    ]
    entry = AuditEntry.objects.filter(action="export").latest("pk")
    assert entry.object_type == "ledger.trial-balance"
    assert entry.extra["format"] == "csv" and entry.extra["rows"] == 4

    xlsx = client.get(base + "trial-balance/?date_from=2026-02-01&date_to=2026-02-28&export=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[2] == [BANK, "Bank current account", 1000, 0, 25.5, 974.5]
    assert AuditEntry.objects.filter(action="export").count() == 2


def test_general_ledger_page_chart_and_export(small: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    url = f"/c/{small.code}/ledger/reports/general-ledger/?account={BANK}"
    page = client.get(url + "&date_from=2026-02-01&date_to=2026-03-31")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="carried">1,000.00<' in html and 'id="closing">1,174.50<' in html

    start = html.index('id="ledger-balance-chart" type="application/json">') + len(
        'id="ledger-balance-chart" type="application/json">'
    )
    chart = json.loads(html[start : html.index("</script>", start)])
    assert chart["labels"] == ["2026-02", "2026-03"]
    assert chart["values"] == ["974.50", "1174.50"]
    entry = JournalEntry.objects.get(company=small, description="Fee")
    assert f'href="/c/{small.code}/ledger/entries/{entry.pk}/">{entry.number}<' in html

    response = client.get(url + "&date_from=2026-02-01&date_to=2026-03-31&export=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1:] == [
        ["2026-02-01", "", "Opening balance", "", "", "", "1000.00"],
        ["2026-02-10", entry.number, "Fee", "", "0.00", "25.50", "974.50"],
        ["2026-03-31", rows[3][1], "Sale", "", "200.00", "0.00", "1174.50"],
    ]
    assert client.get(f"/c/{small.code}/ledger/reports/general-ledger/").status_code == 200


def test_journal_book_page_and_export(small: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    url = f"/c/{small.code}/ledger/reports/journal-book/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    numbers = list(
        JournalEntry.objects.filter(company=small, state="posted")
        .order_by("date")
        .values_list("number", flat=True)
    )
    positions = [html.index(f">{n}<") for n in numbers]
    assert positions == sorted(positions) and "999.00" not in html  # drafts are not in it
    response = client.get(url + "?date_from=2026-02-01&date_to=2026-02-28&export=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[4:] for r in rows[1:]] == [
        ["1", FEES, "Bank services and similar", "", "", "25.50", "0.00"],
        ["2", BANK, "Bank current account", "", "", "0.00", "25.50"],
    ]


def test_report_api(small: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    headers = {"HTTP_X_COMPANY": small.code}
    body = client.get(
        "/api/v1/ledger/trial-balance/?date_from=2026-02-01&date_to=2026-02-28", **headers
    ).json()
    assert body["totals"] == {
        "opening": "0.00",
        "debit": "25.50",
        "credit": "25.50",
        "closing": "0.00",
    }
    assert body["rows"][1] == {
        "account": BANK,
        "name": "Bank current account",
        "group": False,
        "opening": "1000.00",
        "debit": "0.00",
        "credit": "25.50",
        "closing": "974.50",
    }
    ledger = client.get(
        f"/api/v1/ledger/general-ledger/?account={BANK}&offset=1&limit=1", **headers
    ).json()
    assert ledger["count"] == 3 and ledger["opening"] == "1000.00"
    assert [x["balance"] for x in ledger["lines"]] == ["974.50"]
    book = client.get("/api/v1/ledger/journal-book/", **headers).json()
    assert book["count"] == 3
    assert [x["description"] for x in book["entries"]] == ["Capital", "Fee", "Sale"]
    bad = client.get("/api/v1/ledger/trial-balance/?date_from=2026-13-01", **headers)
    assert bad.status_code == 400
    for query in ("date_from=0001-01-01", "date_from=2026-03-01&date_to=2026-02-01"):
        response = client.get(f"/api/v1/ledger/trial-balance/?{query}", **headers)
        assert response.status_code == 400, query
    assert client.get("/api/v1/ledger/general-ledger/?account=NOPE", **headers).status_code == 404


def test_reports_need_view_permission(small: Any, make_user: Any, login: Any) -> None:
    from trastienda.core.permissions import membership_perms

    user = make_user("almacen", company=small, role="warehouse")
    assert "ledger.view_journalentry" not in membership_perms(user.memberships.get())
    client = login(user)
    before = AuditEntry.objects.filter(action="export").count()
    for name in ("trial-balance", "general-ledger", "journal-book"):
        assert client.get(f"/c/{small.code}/ledger/reports/{name}/").status_code == 403
        url = f"/c/{small.code}/ledger/reports/{name}/?export=csv"
        assert client.get(url).status_code == 403
        api = client.get(f"/api/v1/ledger/{name}/", HTTP_X_COMPANY=small.code)
        assert api.status_code == 403
    assert AuditEntry.objects.filter(action="export").count() == before


def test_decimal_exports_are_typed(small: Any) -> None:
    from trastienda.ledger.reports import to_decimal

    assert to_decimal(-2550, "EUR") == Decimal("-25.50")
    assert to_decimal(2550, "JPY") == Decimal("2550")


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moves=st.lists(
        st.tuples(
            st.integers(0, 364),
            st.sampled_from([BANK, CASH, CAPITAL, SALES, FEES]),
            st.sampled_from([BANK, CASH, CAPITAL, SALES, FEES]),
            st.integers(1, 10**9),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    bounds=st.tuples(st.integers(0, 364), st.integers(0, 364)),
)
def test_reports_equal_recomputation_property(
    books: Any, moves: list[tuple[int, str, str, int, bool]], bounds: tuple[int, int]
) -> None:
    """Random entries (some unbalanced or on a group account: refused; some left as drafts)
    and a random range: the trial balance and the general ledger equal the raw lines."""
    from django.core.exceptions import ValidationError

    gen = Journal.objects.get(company=books, code="GEN")
    for offset, debit, credit, minor, post in moves:
        day = dt.date(2026, 1, 1) + dt.timedelta(offset)
        amount = f"{minor // 100}.{minor % 100:02d}"
        other = amount if debit != credit else f"{minor // 100 + 1}.00"  # unbalanced
        lines = [{"account": debit, "debit": amount}, {"account": credit, "credit": other}]
        if minor % 7 == 0:
            lines[0]["account"] = "57"  # a group account: refused
        try:
            entry = services.entry_create_draft(company=books, journal=gen, date=day, lines=lines)
            if post:
                services.entry_post(instance=entry)
        except ValidationError:
            pass
    a, b = sorted(dt.date(2026, 1, 1) + dt.timedelta(x) for x in bounds)
    report = queries.trial_balance(books, a, b)
    got = {r.account.code: (r.opening, r.debit, r.credit, r.closing) for r in report.rows}
    assert got == recompute(books, a, b)
    for code, (opening, _d, _c, closing) in got.items():
        account = Account.objects.get(company=books, code=code)
        carried, lines_ = queries.general_ledger(books, account, a, b)
        assert carried == opening
        assert (lines_[-1].balance if lines_ else carried) == closing
    assert services.ledger_balances_verify(company=books) == []
    JournalEntry.objects.filter(company=books, state="draft").delete()


def test_amounts_follow_the_locale(small: Any, accountant: Any, login: Any) -> None:
    client = login(accountant)
    url = f"/c/{small.code}/ledger/reports/trial-balance/"
    spanish = client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert ">1.174,50<" in spanish and ">-1.000,00<" in spanish
    italian = client.get(url, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert ">1.174,50<" in italian

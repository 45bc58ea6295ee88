"""Property-based tests (Hypothesis) of the ledger arithmetic and of posting."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trastienda.ledger import core, queries, services, statements
from trastienda.ledger.models import Account, AccountBalance, JournalEntry, JournalEntryLine

ACCOUNTS = (1, 2, 3, 4)
amounts = st.integers(min_value=1, max_value=10**12)


@st.composite
def balanced_entries(draw: Any) -> core.Entry:
    debits = draw(st.lists(amounts, min_size=1, max_size=4))
    total = sum(debits)
    cuts = sorted(draw(st.lists(st.integers(1, max(total - 1, 1)), max_size=3, unique=True)))
    credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True) if b > a]
    lines = [core.Line(draw(st.sampled_from(ACCOUNTS)), d, 0, "EUR", d) for d in debits]
    lines += [core.Line(draw(st.sampled_from(ACCOUNTS)), 0, c, "EUR", -c) for c in credits]
    return core.Entry(draw(st.integers(2026, 2027)), draw(st.integers(1, 12)), tuple(lines))


@given(balanced_entries())
def test_generated_entries_balance(entry: core.Entry) -> None:
    assert core.is_balanced(entry.lines)
    assert core.imbalance(entry.lines) == 0


@given(st.lists(balanced_entries(), min_size=1, max_size=8))
def test_reversal_restores_every_balance(entries: list[core.Entry]) -> None:
    reversals = [core.reverse_entry(e, year=2027, month=12) for e in entries]
    assert all(core.is_balanced(r.lines) for r in reversals)
    assert core.net_by_account(core.movements(entries + reversals)) == {}


@given(st.lists(balanced_entries(), min_size=1, max_size=8))
def test_movements_sum_to_zero(entries: list[core.Entry]) -> None:
    moves = core.movements(entries)
    assert sum(m.debit for m in moves.values()) == sum(m.credit for m in moves.values())


@given(balanced_entries(), amounts)
def test_any_change_unbalances(entry: core.Entry, delta: int) -> None:
    first = entry.lines[0]
    broken = (core.Line(first.account, first.debit + delta, 0, "EUR", 0), *entry.lines[1:])
    assert not core.is_balanced(broken)


CODES = ("5720", "1000", "6260", "7000", "5700")
line_strategy = st.fixed_dictionaries(
    {
        "account": st.sampled_from(CODES),
        "side": st.sampled_from(("debit", "credit")),
        "cents": st.integers(min_value=1, max_value=10**9),
    }
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.tuples(
            st.lists(line_strategy, min_size=1, max_size=4), st.booleans(), st.integers(1, 12)
        ),
        min_size=1,
        max_size=5,
    )
)
def test_posting_keeps_balances_equal_to_lines(books: Any, journal: Any, batches: Any) -> None:
    """Random valid and invalid entries: posted ones balance; the stored balances always equal a
    recomputation from the lines; reversing everything brings every account back to zero."""
    posted: list[JournalEntry] = []
    for lines, make_balanced, month in batches:
        rows = [{"account": x["account"], x["side"]: _cents(x["cents"])} for x in lines]
        if make_balanced:
            net = sum(x["cents"] if x["side"] == "debit" else -x["cents"] for x in lines)
            if net:
                rows.append({"account": "5700", "credit" if net > 0 else "debit": _cents(abs(net))})
        entry = services.entry_create_draft(
            company=books, journal=journal, date=dt.date(2026, month, 15), lines=rows
        )
        try:
            posted.append(services.entry_post(instance=entry))
        except ValidationError:
            entry.refresh_from_db()
            assert entry.state == "draft"
        assert services.ledger_balances_verify(company=books) == []
    for entry in posted:
        assert sum(x.debit - x.credit for x in entry.lines.all()) == 0
    _statements_equal_the_lines(books)
    _general_ledger_equals_the_lines(books)
    for entry in posted:
        services.entry_reverse(instance=entry, date=dt.date(2026, 12, 31))
    assert services.ledger_balances_verify(company=books) == []
    net: dict[int, int] = {}
    for b in AccountBalance.objects.for_company(books):
        net[b.account_id] = net.get(b.account_id, 0) + b.debit - b.credit
    assert set(net.values()) <= {0}
    assert services.ledger_verify(company=books).ok
    JournalEntry.objects.filter(company=books, state="draft").delete()


def _raw(company: Any, first: dt.date | None, last: dt.date) -> dict[str, int]:
    """Debit minus credit per account code, summed from the raw posted lines."""
    out: dict[str, int] = {}
    lines = JournalEntryLine.objects.filter(
        company=company, entry__state="posted", entry__date__lte=last
    ).select_related("account")
    if first is not None:
        lines = lines.filter(entry__date__gte=first)
    for line in lines:
        out[line.account.code] = out.get(line.account.code, 0) + line.debit - line.credit
    return out


def _statements_equal_the_lines(company: Any) -> None:
    """The profit and loss account (a whole year and a range with partial months) and the
    balance sheet equal a recomputation from the raw lines, and the balance sheet balances."""
    for first, last in ((dt.date(2026, 1, 1), dt.date(2026, 12, 31)), RANGE):
        raw = _raw(company, first, last)
        pnl = statements.build(company, statements.PROFIT_AND_LOSS, first, last)
        assert pnl.result == -(raw.get("7000", 0) + raw.get("6260", 0))
        assert pnl.value("1") == -raw.get("7000", 0)
        assert pnl.value("7") == -raw.get("6260", 0)
    for as_of in (RANGE[1],):
        raw = _raw(company, None, as_of)
        bank, cash = raw.get("5720", 0), raw.get("5700", 0)
        result = -(raw.get("7000", 0) + raw.get("6260", 0))
        sheet = statements.build(company, statements.BALANCE_SHEET, None, as_of)
        assert sheet.balanced
        assert sheet.value("TOTAL.ASSETS") == cash + max(bank, 0)  # an overdraft is a debt
        assert sheet.value("PC.III.1") == -min(bank, 0)
        assert sheet.value("PN.A1.VII") == result
        assert sheet.value("TOTAL.LIABILITIES") == -raw.get("1000", 0) - min(bank, 0) + result


RANGE = (dt.date(2026, 3, 10), dt.date(2026, 10, 20))


def _general_ledger_equals_the_lines(company: Any) -> None:
    """Per account and range: the general ledger's count (monthly counts plus edge days), its
    lines in book order and its closing balance equal the raw posted lines. The accounts the
    entries use, and one they never use (the empty case): every other account of the chart is
    that empty case again (716 general ledgers per example made this test take minutes)."""
    untouched = Account.objects.filter(company=company, postable=True).exclude(code__in=CODES)
    empty = untouched.order_by("code").first()
    assert empty is not None
    for account in [*Account.objects.filter(company=company, code__in=CODES), empty]:
        for first, last in ((dt.date(2026, 1, 1), dt.date(2026, 12, 31)), RANGE):
            raw = list(
                JournalEntryLine.objects.filter(
                    company=company,
                    account=account,
                    entry__state="posted",
                    entry__date__gte=first,
                    entry__date__lte=last,
                ).order_by("entry__date", "entry__chain_seq", "line_no")
            )
            assert queries.account_line_count(company, account, first, last) == len(raw)
            opening, page = queries.general_ledger(company, account, first, last)
            assert [item.line.pk for item in page] == [line.pk for line in raw]
            closing = opening + sum(line.debit - line.credit for line in raw)
            assert (page[-1].balance if page else opening) == closing


def _cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"

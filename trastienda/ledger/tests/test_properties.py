"""Property-based tests (Hypothesis) of the ledger arithmetic and of posting."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trastienda.ledger import core, services
from trastienda.ledger.models import AccountBalance, JournalEntry

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
    for entry in posted:
        services.entry_reverse(instance=entry, date=dt.date(2026, 12, 31))
    assert services.ledger_balances_verify(company=books) == []
    net: dict[int, int] = {}
    for b in AccountBalance.objects.for_company(books):
        net[b.account_id] = net.get(b.account_id, 0) + b.debit - b.credit
    assert set(net.values()) <= {0}
    assert services.ledger_verify(company=books).ok
    JournalEntry.objects.filter(company=books, state="draft").delete()


def _cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"

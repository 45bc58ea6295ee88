"""Pure arithmetic of the ledger over frozen dataclasses: no ORM, no I/O.

Amounts are integers in minor units. ``Line.debit``/``credit`` are in the company currency;
``amount_currency`` is signed (positive on the debit side) in ``currency``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Line:
    account: int
    debit: int
    credit: int
    currency: str
    amount_currency: int


@dataclass(frozen=True)
class Entry:
    year: int
    month: int
    lines: tuple[Line, ...]


BalanceKey = tuple[int, str, int, int]  # account, currency, year, month


@dataclass(frozen=True)
class Movement:
    debit: int = 0
    credit: int = 0
    amount_currency: int = 0

    def __add__(self, other: Movement) -> Movement:
        return Movement(
            self.debit + other.debit,
            self.credit + other.credit,
            self.amount_currency + other.amount_currency,
        )


def line_errors(line: Line) -> list[str]:
    """What is wrong with one line's amounts (empty when nothing)."""
    errors = []
    if line.debit < 0 or line.credit < 0:
        errors.append("negative")
    if line.debit and line.credit:
        errors.append("both_sides")
    if not line.debit and not line.credit and not line.amount_currency:
        errors.append("zero")
    return errors


def imbalance(lines: Iterable[Line]) -> int:
    """Debits minus credits in the company currency (0 when balanced)."""
    return sum(line.debit - line.credit for line in lines)


def is_balanced(lines: Iterable[Line]) -> bool:
    lines = tuple(lines)
    return bool(lines) and imbalance(lines) == 0 and all(not line_errors(x) for x in lines)


def reverse_line(line: Line) -> Line:
    return replace(
        line, debit=line.credit, credit=line.debit, amount_currency=-line.amount_currency
    )


def reverse_entry(entry: Entry, *, year: int | None = None, month: int | None = None) -> Entry:
    """The entry that cancels ``entry`` (debits and credits swapped), in another month if given."""
    return Entry(
        year=entry.year if year is None else year,
        month=entry.month if month is None else month,
        lines=tuple(reverse_line(line) for line in entry.lines),
    )


def movements(entries: Iterable[Entry]) -> dict[BalanceKey, Movement]:
    """Monthly movements per (account, currency, year, month) of ``entries``."""
    result: dict[BalanceKey, Movement] = defaultdict(Movement)
    for entry in entries:
        for line in entry.lines:
            key = (line.account, line.currency, entry.year, entry.month)
            result[key] = result[key] + Movement(line.debit, line.credit, line.amount_currency)
    return dict(result)


def net_by_account(balances: Mapping[BalanceKey, Movement]) -> dict[int, int]:
    """Debit minus credit per account over every month and currency (zero accounts dropped)."""
    net: dict[int, int] = defaultdict(int)
    for (account, _cur, _y, _m), move in balances.items():
        net[account] += move.debit - move.credit
    return {account: value for account, value in net.items() if value}

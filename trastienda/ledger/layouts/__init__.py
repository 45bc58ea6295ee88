"""Layouts of the financial statements: which accounts feed which line of the balance sheet and
of the profit and loss account, as the official schemes print them.

A layout (one module per layout beside this one) is two trees of :class:`Line`: the balance
sheet and the profit and loss account. A line is one of

- a *leaf* fed by accounts (``accounts="20, (280), (290)"``),
- a *group* whose amount is the sum of its ``children``,
- a *total* (``total_of=("A", "B")``) adding up other lines anywhere in the statement,
- a *heading* (``heading=True``): a group printed without amounts, its total being printed by a
  total line (``TOTAL ACTIVO``, ``A) RESULTADO DE EXPLOTACIÓN``),
- the *unmapped* line (``unmapped=True``) that takes every account no other line maps, shown
  only when it is not zero, so that no account is ever silently left out.

Arithmetic. Every amount is computed in the *natural* direction, debit minus credit, and shown
multiplied by the line's ``sign``: ``+1`` shows debit balances as positive (assets, costs in the
Italian scheme), ``-1`` credit balances (liabilities, equity, income, results). Groups and totals
add natural amounts, so a total is always the plain sum of what it covers whatever the signs
of the lines it adds; e.g. the Italian ``A - B`` is ``total_of=("A", "B")`` shown with sign -1.

Account notation (``accounts=``), as in the official texts: comma-separated account-code
prefixes; an account belongs to the line of the **longest** prefix that matches its code, so
``"795"`` and ``"7954"`` can feed different lines. ``(280)`` marks a contra account, printed in
parentheses by the official text because its balance is on the other side of the line
(accumulated depreciation among assets, returns among sales): the arithmetic is the same, the
parentheses only document it. ``572-`` takes the account only while its balance is a credit
and ``572+`` only while it is a debit: the schemes that place a balance on either side by its
sign (a bank overdraft is a debt, a customer in credit is a creditor); a sided prefix takes
precedence over a shorter one when its side applies and is skipped when it does not.

The balance sheet also receives the result not yet closed: the income and expense accounts
(by account type) of the current fiscal year go to the line marked ``result="year"``, those of
earlier years not yet closed to ``result="prior"``. The profit and loss account takes the
income and expense accounts, the balance sheet the asset, liability and equity accounts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from importlib import import_module

from django.utils.translation import get_language

LAYOUT_MODULES = ("es_pgc_pymes", "it_civil_code", "ifrs")
PREFIX = re.compile(r"^(?P<open>\()?(?P<code>[0-9A-Za-z.]+)(?P<side>[+-])?(?P<close>\))?$")


@dataclass(frozen=True)
class Source:
    """An account-code prefix feeding a line."""

    prefix: str
    side: str = ""  # "debit" or "credit": only while the account's balance is on that side
    contra: bool = False  # printed in parentheses by the official text

    def accepts(self, code: str, natural: int) -> bool:
        if not code.startswith(self.prefix):
            return False
        if self.side == "debit":
            return natural > 0
        if self.side == "credit":
            return natural < 0
        return True

    def __str__(self) -> str:
        text = self.prefix + {"debit": "+", "credit": "-"}.get(self.side, "")
        return f"({text})" if self.contra else text


def parse_sources(text: str) -> tuple[Source, ...]:
    """``"20, (280), 572-"`` → the sources; raises ``ValueError`` on a malformed item."""
    sources = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        match = PREFIX.match(item)
        if match is None or bool(match["open"]) != bool(match["close"]):
            raise ValueError(f"malformed account prefix {item!r}")
        side = {"+": "debit", "-": "credit"}.get(match["side"] or "", "")
        sources.append(Source(match["code"], side, bool(match["open"])))
    return tuple(sources)


@dataclass(frozen=True)
class Line:
    code: str
    es: str
    it: str
    en: str
    sign: int = 0  # +1 or -1; 0 (in the layout files): the parent's
    sources: tuple[Source, ...] = ()
    children: tuple[Line, ...] = ()
    total_of: tuple[str, ...] = ()
    result: str = ""  # balance sheet: "year" or "prior" (the result not yet closed)
    unmapped: bool = False
    strong: bool = False  # printed in bold (section totals, results)
    heading: bool = False  # a heading whose amount the statement prints on a total line

    @property
    def label(self) -> str:
        language = (get_language() or "en")[:2]
        return {"es": self.es, "it": self.it}.get(language) or self.en

    @property
    def is_total(self) -> bool:
        return bool(self.total_of)

    def walk(self, depth: int = 0) -> Iterator[tuple[Line, int]]:
        yield self, depth
        for child in self.children:
            yield from child.walk(depth + 1)


def line(
    code: str,
    es: str,
    it: str,
    en: str,
    *,
    sign: int = 0,
    accounts: str = "",
    children: Iterable[Line] = (),
    total_of: Iterable[str] = (),
    result: str = "",
    unmapped: bool = False,
    strong: bool = False,
    heading: bool = False,
) -> Line:
    """A line of a layout; a line without ``sign`` takes its parent's (see :func:`statement`)."""
    kids = tuple(children)
    return Line(
        code=code,
        es=es,
        it=it,
        en=en,
        sign=sign,
        sources=parse_sources(accounts),
        children=kids,
        total_of=tuple(total_of),
        result=result,
        unmapped=unmapped,
        strong=strong,
        heading=heading,
    )


@dataclass(frozen=True)
class Statement:
    """One statement of a layout: its lines, in print order, as trees."""

    kind: str  # "balance_sheet" or "profit_and_loss"
    lines: tuple[Line, ...]
    # balance sheet: (total assets, total equity and liabilities), which must be equal
    check: tuple[str, str] | None = None

    def walk(self) -> Iterator[tuple[Line, int]]:
        for root in self.lines:
            yield from root.walk()

    @property
    def by_code(self) -> dict[str, Line]:
        return {x.code: x for x, _depth in self.walk()}

    @property
    def leaves(self) -> list[Line]:
        return [x for x, _depth in self.walk() if x.sources]


@dataclass(frozen=True)
class Layout:
    code: str
    es: str
    it: str
    en: str
    chart: str  # the chart template whose accounts it maps
    balance_sheet: Statement
    profit_and_loss: Statement
    notes: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        language = (get_language() or "en")[:2]
        return {"es": self.es, "it": self.it}.get(language) or self.en

    def statement(self, kind: str) -> Statement:
        return self.balance_sheet if kind == "balance_sheet" else self.profit_and_loss


def _signed(item: Line, parent: int) -> Line:
    sign = item.sign or parent
    if sign not in (1, -1):
        raise ValueError(f"line {item.code}: sign must be +1 or -1")
    return replace(item, sign=sign, children=tuple(_signed(c, sign) for c in item.children))


def statement(
    kind: str, lines: Iterable[Line], *, check: tuple[str, str] | None = None
) -> Statement:
    """A statement whose lines without a sign take their parent's (a root's default: +1)."""
    made = Statement(kind, tuple(_signed(x, 1) for x in lines), check)
    codes = [x.code for x, _depth in made.walk()]
    if len(codes) != len(set(codes)):
        raise ValueError(f"{kind}: duplicate line codes")
    for item, _depth in made.walk():
        missing = set(item.total_of) - set(codes)
        if missing:
            raise ValueError(f"{kind}: line {item.code} adds unknown lines {sorted(missing)}")
    return made


def layouts() -> dict[str, Layout]:
    """Every layout by code, in menu order."""
    found = {}
    for name in LAYOUT_MODULES:
        layout: Layout = import_module(f"{__name__}.{name}").LAYOUT
        found[layout.code] = layout
    return found


def get_layout(code: str) -> Layout:
    try:
        return layouts()[code]
    except KeyError:
        raise KeyError(code) from None

"""The matching engine shared by bank reconciliation and brokerage trade reconciliation.

Pure Python over frozen values: no database, no models. The caller turns its records into
:class:`Item` values (statement lines on the left and open items on the right for banking;
front-office trades on the left and back-office trades on the right for trading), calls
:func:`match` (a whole batch, every item used at most once) or :func:`candidates` (the
interactive screen: every scored proposal for one left item) and acts on the proposals
itself. See ``trastienda/matching/DESIGN.md``.

Amounts are signed integers in minor units, already on one sign convention (a statement credit
of +100.00 matches an open receivable of +100.00). Two items whose currencies are both
non-empty and different never meet in a proposal; an empty currency matches any.

References
    :func:`normalise_reference` upper-cases and keeps only letters and digits (Unicode
    alphanumerics): spaces, dashes, slashes, dots, underscores and every other separator go, so
    ``"F2026-000123"``, ``"f2026/000123"`` and ``"F 2026 000123"`` are one reference,
    ``"F2026000123"``. :func:`tokens` splits a free text into its runs of letters and digits and
    adds the concatenations of up to ``max_reference_parts`` consecutive runs, so a reference is
    found in a text however its parts were separated there, by looking each token up in a dict
    of references: never a substring scan of every text against every reference. A reference
    glued to other letters or digits in the text (``"PAGOF2026000123"``) is not found, and
    references shorter than ``min_reference_length`` are ignored (too many false hits).

Strategy (every stage proposes; the assignment at the end decides)
    1. **Reference.** Right items whose reference is one of a left item's references or a token
       of its text, and left items whose reference is a token of a right item's text, within
       ``reference_date_window`` days (for each token, its ``max_candidates`` items nearest by
       date: a token that many items share says little). For one left item and its
       referenced right items: if all of them (at most ``max_group``) add up to the left
       amount within ``amount_tolerance``, a one-to-one or one-to-many proposal scoring
       95-100; else if some of them do (the smallest
       such subset of the ``max_candidates`` nearest by date), 83-93; else, with
       ``allow_partial``, the single referenced item (70-72) or the whole referenced set (65-67)
       with the difference, and each of several referenced items alone (60-62), marked
       ``partial``. Several left items (instalments) referring to one right item and adding up
       to it: a many-to-one proposal, 95-99 (83-92 when only a subset adds up).
    2. **Counterparty and amount.** Same non-empty ``party``, amounts equal within the tolerance,
       dates at most ``date_window`` days apart: 82-88, the closer the higher; 5 less when
       another such item exists on either side.
    3. **Amount alone.** Amounts equal, dates within ``date_window``: 60-65 when the two items
       are each other's only candidate, 52-55 for each of several (the reason says how many
       others); 10 less when both parties are known and differ.

       Stages 2 and 3 propose the ``max_candidates`` nearest candidates of each list first;
       when the assignment has given all of them to other items, the next ones are fetched,
       so that a batch of equal payments of one customer is matched whole.

    4. **Aggregation without reference.** One left item against 2..``max_group`` right items of
       its party or group within ``date_window`` whose amounts add up to it (a bounded
       subset-sum over the ``max_candidates`` nearest by date; fewest items first, then the
       nearest), 72-75, 7 less when another combination of as many items also adds up; many
       left items against one right item symmetrically. Left items that already have a full
       reference proposal are left out.
    5. **Assignment.** Proposals below ``min_score`` are dropped; the rest are taken greedily
       by descending score (a heap, which the fetched candidates of stages 2 and 3 join),
       skipping any that reuses an item.

Determinism
    Ties are broken by date distance (the largest distance between a left and a right item of
    the proposal), then by key order (the keys of the left items, then of the right items,
    sorted; keys of types that do not compare are ordered by type name and ``repr``). The
    result does not depend on the order of the input sequences, nor on hash randomisation.
    Keys must be unique within each side (``ValueError`` otherwise).

Complexity (n left items, m right items, k = ``max_candidates``)
    Indexes (by amount, by party and amount, by party, by group, by reference token; each
    bucket in date order): O((n + m) log(n + m)). How many items of a key lie in a date window
    is two bisections; its k nearest are found by walking outwards from the date, whatever the
    size of the bucket. References: O(tokens of the texts · k). Amounts and parties:
    O(n · (log m + k)) proposals and work. Aggregation: one bounded subset-sum per item, over
    at most k candidates and subsets of at most ``max_group`` items: C(12, 2) + C(12, 3) +
    C(12, 4) = 781 sums at the defaults, fewer with an exact tolerance (pair sums in a dict).
    Assignment: O(p log p) for p proposals. Fetching further candidates (stages 2 and 3) costs
    only when items compete for equal amounts, about (items competing)² / k for each such
    group.

Reasons are translated with ``gettext`` when the proposals are built, in the active language.
"""

from __future__ import annotations

import datetime
import heapq
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from django.utils.translation import gettext, ngettext

__all__ = [
    "DEFAULT_CONFIG",
    "KIND_MANY_TO_ONE",
    "KIND_ONE_TO_MANY",
    "KIND_ONE_TO_ONE",
    "Config",
    "Item",
    "MatchResult",
    "Proposal",
    "candidates",
    "match",
    "normalise_reference",
    "tokens",
]

KIND_ONE_TO_ONE = "one_to_one"
KIND_ONE_TO_MANY = "one_to_many"
KIND_MANY_TO_ONE = "many_to_one"


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to match: a statement line, an open item, a trade.

    ``references`` are the tokens the item is known by (normalised again by the engine);
    ``text`` is free text in which references of the other side may be found; ``party`` a
    normalised counterparty key ("" unknown); ``group`` lets items of one non-empty group be
    aggregated; ``data`` is the caller's payload, never read."""

    key: Hashable
    side: str
    amount: int
    date: datetime.date
    currency: str = ""
    references: frozenset[str] = frozenset()
    text: str = ""
    party: str = ""
    group: str = ""
    data: Any = None


@dataclass(frozen=True, slots=True)
class Config:
    """The knobs of a matching run (days are inclusive: ``|left.date - right.date| <= window``).

    ``min_reference_length`` and ``max_reference_parts`` are additions: references shorter
    than the first are ignored, and a reference is found in a text when it is written there in
    at most the second number of parts (``"F 2026 000123"`` is three parts)."""

    amount_tolerance: int = 0
    date_window: int = 7
    reference_date_window: int = 120
    max_group: int = 4
    max_candidates: int = 12
    min_score: int = 50
    allow_partial: bool = True
    min_reference_length: int = 4
    max_reference_parts: int = 6

    def __post_init__(self) -> None:
        for name in ("amount_tolerance", "date_window", "reference_date_window"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("max_group", "max_candidates", "min_reference_length", "max_reference_parts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0 <= self.min_score <= 100:
            raise ValueError("min_score must be between 0 and 100")


DEFAULT_CONFIG = Config()


@dataclass(frozen=True, slots=True)
class Proposal:
    """Left items and right items proposed as one match.

    ``difference`` is ``sum(left) - sum(right)``; it is within the tolerance unless
    ``partial`` (an addition: a reference match whose amounts differ)."""

    left: tuple[Item, ...]
    right: tuple[Item, ...]
    score: int
    reasons: tuple[str, ...]
    difference: int
    kind: str
    partial: bool = False


@dataclass
class MatchResult:
    """Proposals best first, no item in two of them; the unmatched items in input order."""

    proposals: list[Proposal]
    unmatched_left: list[Item]
    unmatched_right: list[Item]


# --- references -----------------------------------------------------------------------------

_RUN = re.compile(r"[^\W_]+")


def normalise_reference(text: str) -> str:
    """``text`` upper-cased with everything but letters and digits removed:
    ``"f2026-000123 "`` -> ``"F2026000123"``. Idempotent."""
    return "".join(_RUN.findall(text.upper()))


def tokens(text: str, max_parts: int = 6, max_length: int = 0) -> set[str]:
    """The tokens under which references may be looked up in ``text``: every run of letters
    and digits (upper-cased) and every concatenation of 2..``max_parts`` consecutive runs
    (longer than ``max_length`` characters skipped when it is set), so
    ``tokens("Pago fra. F2026-000123")`` holds ``"F2026000123"``, which is
    ``normalise_reference("F2026-000123")``."""
    runs: list[str] = _RUN.findall(text.upper())
    found = set(runs)
    if max_parts > 1:
        last = len(runs)
        for start in range(last - 1):
            joined = runs[start]
            for part in runs[start + 1 : start + max_parts]:
                joined += part
                if max_length and len(joined) > max_length:
                    break
                found.add(joined)
    return found


# --- internal structures ----------------------------------------------------------------------

# A proposal while the engine works: a tuple whose first four fields sort it (negated score,
# date distance, left ranks, right ranks), then the left and right indexes, kind, partial flag
# and the reasons as (code, *arguments) tuples rendered only for the proposals returned.
_Reason = tuple[Any, ...]
_Near = tuple[int, int, int]  # (days apart, rank, index)
_Prop = tuple[
    int, int, tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], str, bool,
    tuple[_Reason, ...],
]  # fmt: skip


def _ranks(items: Sequence[Item], side: str) -> list[int]:
    """The position of each item in key order; ``ValueError`` on a duplicate key."""
    keys: list[Any] = [item.key for item in items]
    if len(set(keys)) != len(keys):
        seen: set[Hashable] = set()
        for key in keys:
            if key in seen:
                raise ValueError(f"duplicate key on the {side}: {key!r}")
            seen.add(key)
    positions = range(len(keys))
    try:
        order = sorted(positions, key=keys.__getitem__)
    except TypeError:
        order = sorted(positions, key=lambda i: (type(keys[i]).__name__, repr(keys[i])))
    rank = [0] * len(keys)
    for position, index in enumerate(order):
        rank[index] = position
    return rank


class _Side:
    """The items of one side as parallel lists, with their key ranks and date order."""

    __slots__ = (
        "amount",
        "by_date",
        "by_rank",
        "currency",
        "group",
        "items",
        "ordinal",
        "party",
        "rank",
    )

    def __init__(self, items: Sequence[Item], side: str) -> None:
        self.items = tuple(items)
        self.amount = [item.amount for item in self.items]
        self.ordinal = [item.date.toordinal() for item in self.items]
        self.currency = [item.currency for item in self.items]
        self.party = [item.party for item in self.items]
        self.group = [item.group for item in self.items]
        self.rank = _ranks(self.items, side)
        self.by_rank = sorted(range(len(self.items)), key=self.rank.__getitem__)
        ordinal, rank = self.ordinal, self.rank
        self.by_date = sorted(range(len(self.items)), key=lambda i: (ordinal[i], rank[i]))


class _Buckets:
    """Item indexes by key, each bucket in (date, key) order: how many items of a key lie
    within a date window is two bisections, and the ``limit`` nearest of them are found by
    walking outwards from the date, whatever the size of the bucket. Small buckets (most of
    them) are scanned instead; the dates of a large one are listed on its first search. An
    item may be filed under several keys."""

    __slots__ = ("_dates", "buckets", "ordinal", "rank")

    SMALL = 16

    def __init__(self, side: _Side, keys: Sequence[Any], multi: bool = False) -> None:
        """``keys[i]`` is item i's key (None: not filed), or with ``multi`` an iterable of
        keys."""
        groups: defaultdict[Any, list[int]] = defaultdict(list)
        if multi:
            for index in side.by_date:
                for key in keys[index]:
                    groups[key].append(index)
        else:
            for index in side.by_date:
                key = keys[index]
                if key is not None:
                    groups[key].append(index)
        self.buckets: dict[Any, list[int]] = groups
        self.ordinal = side.ordinal
        self.rank = side.rank
        self._dates: dict[Any, list[int]] = {}

    def _ordinals(self, key: Any, found: list[int]) -> list[int]:
        dates = self._dates.get(key)
        if dates is None:
            ordinal = self.ordinal
            dates = self._dates[key] = [ordinal[i] for i in found]
        return dates

    def count(self, key: Any, ordinal: int, window: int) -> int:
        found = self.buckets.get(key)
        if not found:
            return 0
        if len(found) <= self.SMALL:
            dates = self.ordinal
            return sum(1 for i in found if abs(dates[i] - ordinal) <= window)
        ordinals = self._ordinals(key, found)
        return bisect_right(ordinals, ordinal + window) - bisect_left(ordinals, ordinal - window)

    def nearest(self, key: Any, ordinal: int, window: int, limit: int) -> list[_Near]:
        """Up to ``limit`` (days apart, rank, index) of the items of ``key`` within ``window``
        days of ``ordinal``, nearest first, then in key order."""
        indexes = self.buckets.get(key)
        if not indexes:
            return []
        rank = self.rank
        if len(indexes) <= self.SMALL:
            dates = self.ordinal
            found = [
                (days, rank[i], i) for i in indexes if (days := abs(dates[i] - ordinal)) <= window
            ]
            found.sort()
            return found[:limit]
        ordinals = self._ordinals(key, indexes)
        low = bisect_left(ordinals, ordinal - window)
        high = bisect_right(ordinals, ordinal + window)
        if high - low <= limit:
            found = [
                (abs(ordinals[p] - ordinal), rank[indexes[p]], indexes[p]) for p in range(low, high)
            ]
            found.sort()
            return found
        # walk outwards from the date, one date (block of equal dates, in key order) at a time
        # on each side, merging the two blocks at the same distance by key order
        found = []
        up = bisect_left(ordinals, ordinal, low, high)
        down = up - 1
        while len(found) < limit and (down >= low or up < high):
            below = ordinal - ordinals[down] if down >= low else window + 1
            above = ordinals[up] - ordinal if up < high else window + 1
            days = min(below, above)
            block: list[int] = []
            if below == days:
                start = bisect_left(ordinals, ordinal - days, low, down + 1)
                block = indexes[start : down + 1]
                down = start - 1
            if above == days:
                end = bisect_right(ordinals, ordinal + days, up, high)
                upper = indexes[up:end]
                up = end
                block = list(heapq.merge(block, upper, key=rank.__getitem__)) if block else upper
            found.extend((days, rank[i], i) for i in block[: limit - len(found)])
        return found


def _merge(lists: Iterable[list[_Near]], limit: int) -> list[_Near]:
    """The ``limit`` nearest of several ``nearest`` answers (disjoint buckets)."""
    merged: list[_Near] = []
    for found in lists:
        merged.extend(found)
    merged.sort()
    return merged[:limit]


def _compatible(first: str, second: str) -> bool:
    return first == second or not first or not second


def _closeness(days: int, window: int, points: int) -> int:
    """``points`` for the same date down to 0 at ``window`` days."""
    if window <= 0:
        return points
    return (window - min(days, window)) * points // window


def _subset_search(
    amounts: Sequence[int],
    target: int,
    tolerance: int,
    smallest: int,
    largest: int,
    accept: Callable[[tuple[int, ...]], bool] | None = None,
) -> tuple[tuple[int, ...], bool] | None:
    """The first subset (positions in ``amounts``, in lexicographic order) of the fewest items
    from ``smallest`` to ``largest`` whose sum is within ``tolerance`` of ``target`` and which
    ``accept`` takes, and whether another subset of that size qualifies too; None if none.

    With no tolerance, subsets of 2 to 4 items are found through a dict of pair sums instead of
    trying every combination."""
    count = len(amounts)
    largest = min(largest, count)
    if smallest > largest:
        return None
    magnitudes: list[int] | None = None
    if target > 0 and all(amount > 0 for amount in amounts):
        magnitudes = sorted(amounts)
    elif target < 0 and all(amount < 0 for amount in amounts):
        magnitudes = sorted(-amount for amount in amounts)
    pairs: dict[int, list[tuple[int, int]]] | None = None
    for size in range(smallest, largest + 1):
        if magnitudes is not None:
            if sum(magnitudes[:size]) > abs(target) + tolerance:
                break
            if sum(magnitudes[-size:]) < abs(target) - tolerance:
                continue
        if tolerance == 0 and 2 <= size <= 4:
            if pairs is None:
                pairs = {}
                for pair in combinations(range(count), 2):
                    pairs.setdefault(amounts[pair[0]] + amounts[pair[1]], []).append(pair)
            found = _exact_subsets(amounts, target, size, pairs)
            if accept is not None:
                found = [subset for subset in found if accept(subset)]
            if found:
                found.sort()
                return found[0], len(found) > 1
            continue
        first: tuple[int, ...] | None = None
        for subset in combinations(range(count), size):
            total = 0
            for position in subset:
                total += amounts[position]
            if abs(total - target) <= tolerance and (accept is None or accept(subset)):
                if first is not None:
                    return first, True
                first = subset
        if first is not None:
            return first, False
    return None


def _exact_subsets(
    amounts: Sequence[int], target: int, size: int, pairs: dict[int, list[tuple[int, int]]]
) -> list[tuple[int, ...]]:
    """Every subset of ``size`` (2, 3 or 4) positions summing exactly to ``target``."""
    if size == 2:
        return list(pairs.get(target, ()))
    found: set[tuple[int, ...]] = set()
    if size == 3:
        for third, amount in enumerate(amounts):
            for first, second in pairs.get(target - amount, ()):
                if first != third and second != third:
                    found.add(tuple(sorted((first, second, third))))
        return list(found)
    for pair_sum, first_pairs in pairs.items():
        others = pairs.get(target - pair_sum)
        if not others:
            continue
        for first_pair in first_pairs:
            for second_pair in others:
                members = {*first_pair, *second_pair}
                if len(members) == 4:
                    found.add(tuple(sorted(members)))
    return list(found)


# --- the engine -------------------------------------------------------------------------------


class _Engine:
    """One run: indexes of both sides and the proposals found so far."""

    def __init__(self, left: _Side, right: _Side, config: Config) -> None:
        self.left = left
        self.right = right
        self.config = config
        self.proposals: dict[tuple[tuple[int, ...], tuple[int, ...]], _Prop] = {}
        self.full_reference: set[int] = set()
        # With at most one known currency on both sides every pair is compatible: the
        # amount indexes are keyed by amount (and party) alone; else by currency too.
        self.currencies = sorted({*left.currency, *right.currency})
        self.multi = len(set(self.currencies) - {""}) > 1
        self.right_amount = self._amount_index(right, False)
        self.left_amount = self._amount_index(left, False)
        self.right_party_amount = self._amount_index(right, True)
        self.left_party_amount = self._amount_index(left, True)
        self.right_party = _Buckets(right, [p or None for p in right.party])
        self.right_group = _Buckets(right, [g or None for g in right.group])
        self.left_party = _Buckets(left, [p or None for p in left.party])
        self.left_group = _Buckets(left, [g or None for g in left.group])
        self.right_amounts = sorted(set(right.amount))
        self.left_amounts = sorted(set(left.amount))
        self._left_counts: dict[int, int] = {}
        self._left_party_counts: dict[int, int] = {}
        self._texts: dict[_Reason, str] = {}
        # stages 2 and 3 go on lazily: the left items whose candidate lists were cut (next
        # place), the proposals of those lists still in the pool (by key: the left item) and
        # how many each left item has there, and the keys added while ``fresh`` is a list
        self.streams: dict[int, int] = {}
        self.streamed: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        self.outstanding: dict[int, int] = {}
        self.fresh: list[tuple[tuple[int, ...], tuple[int, ...]]] | None = None

    # helpers

    def _amount_index(self, side: _Side, by_party: bool) -> _Buckets:
        """Items by amount, or by (party, amount) for those with a party; with several
        currencies, the item's currency leads the key."""
        if by_party:
            if self.multi:
                triples = zip(side.currency, side.party, side.amount, strict=True)
                return _Buckets(side, [(c, p, a) if p else None for c, p, a in triples])
            pairs = zip(side.party, side.amount, strict=True)
            return _Buckets(side, [(p, a) if p else None for p, a in pairs])
        if self.multi:
            return _Buckets(side, list(zip(side.currency, side.amount, strict=True)))
        return _Buckets(side, side.amount)

    def _search(self, currency: str, *rest: Any) -> Sequence[Any]:
        """The keys of an amount index that hold the items compatible with ``currency``: its
        own and the unknown currency, or every currency for an item of unknown currency."""
        if not self.multi:
            return (rest[0] if len(rest) == 1 else rest,)
        if currency:
            return ((currency, *rest), ("", *rest))
        return [(known, *rest) for known in self.currencies]

    def _near(self, amounts: list[int], amount: int) -> Sequence[int]:
        """The amounts of ``amounts`` (sorted, distinct) within the tolerance of ``amount``."""
        tolerance = self.config.amount_tolerance
        if tolerance == 0:
            return (amount,)
        return amounts[
            bisect_left(amounts, amount - tolerance) : bisect_right(amounts, amount + tolerance)
        ]

    def _one_currency(self, lefts: Iterable[int], rights: Iterable[int]) -> bool:
        currencies = {self.left.currency[i] for i in lefts}
        currencies.update(self.right.currency[j] for j in rights)
        currencies.discard("")
        return len(currencies) <= 1

    def _accept(
        self,
        lefts: tuple[int, ...] | None,
        pool: Sequence[int],
        rights: tuple[int, ...] | None,
    ) -> Callable[[tuple[int, ...]], bool]:
        """Whether a subset of ``pool`` (positions; right items when ``lefts`` is given, else
        left items) is of one currency with the fixed side."""

        def accept(subset: tuple[int, ...]) -> bool:
            chosen = [pool[p] for p in subset]
            if lefts is not None:
                return self._one_currency(lefts, chosen)
            return self._one_currency(chosen, rights or ())

        return accept

    def _accept_group(
        self, item: int, pool: Sequence[int], pool_is_right: bool
    ) -> Callable[[tuple[int, ...]], bool]:
        """Like ``_accept`` for an aggregation around ``item`` (a left item when the pool is
        right items), and the subset shares the item's party, or else its group."""
        if pool_is_right:
            one, other = self.left, self.right
            currency = self._accept((item,), pool, None)
        else:
            one, other = self.right, self.left
            currency = self._accept(None, pool, (item,))
        party, group = one.party[item], one.group[item]

        def accept(subset: tuple[int, ...]) -> bool:
            chosen = [pool[p] for p in subset]
            kin = (party and all(other.party[k] == party for k in chosen)) or (
                group and all(other.group[k] == group for k in chosen)
            )
            return bool(kin) and currency(subset)

        return accept

    def _same_party(self, lefts: Iterable[int], rights: Iterable[int]) -> bool:
        parties = {self.left.party[i] for i in lefts}
        parties.update(self.right.party[j] for j in rights)
        return len(parties) == 1 and "" not in parties

    def _add(
        self,
        score: int,
        lefts: Iterable[int],
        rights: Iterable[int],
        kind: str,
        reasons: list[_Reason],
        partial: bool = False,
        stream: int | None = None,
    ) -> None:
        """Put a proposal in the pool (the better of two for the same items); ``stream``:
        the left item whose amount candidates it comes from (stages 2 and 3)."""
        score = max(0, min(score, 100))
        if score < self.config.min_score:
            return
        left, right = self.left, self.right
        left_indexes = tuple(sorted(lefts, key=left.rank.__getitem__))
        right_indexes = tuple(sorted(rights, key=right.rank.__getitem__))
        distance = max(
            abs(left.ordinal[i] - right.ordinal[j]) for i in left_indexes for j in right_indexes
        )
        key = (left_indexes, right_indexes)
        old = self.proposals.get(key)
        if old is not None:
            if old[0] <= -score:
                return
            owner = self.streamed.pop(key, None)
            if owner is not None:
                self.outstanding[owner] -= 1
        elif stream is not None:
            self.streamed[key] = stream
            self.outstanding[stream] = self.outstanding.get(stream, 0) + 1
        if self.fresh is not None:
            self.fresh.append(key)
        self.proposals[key] = (
            -score,
            distance,
            tuple(left.rank[i] for i in left_indexes),
            tuple(right.rank[j] for j in right_indexes),
            left_indexes,
            right_indexes,
            kind,
            partial,
            tuple(reasons),
        )

    @staticmethod
    def _kind(lefts: int, rights: int) -> str:
        if lefts == 1 and rights == 1:
            return KIND_ONE_TO_ONE
        return KIND_ONE_TO_MANY if lefts == 1 else KIND_MANY_TO_ONE

    def _amount_reason(self, difference: int) -> _Reason:
        return ("same_amount",) if difference == 0 else ("tolerance",)

    # stage 1: references

    def references(self, lefts: Sequence[int]) -> None:
        config, left, right = self.config, self.left, self.right
        shortest, parts = config.min_reference_length, config.max_reference_parts
        window, limit = config.reference_date_window, config.max_candidates

        def own(item: Item) -> tuple[str, ...]:
            normalised = {normalise_reference(r) for r in item.references}
            return tuple(sorted(token for token in normalised if len(token) >= shortest))

        right_refs = _Buckets(right, [own(item) for item in right.items], True)
        left_keys: list[tuple[str, ...]] = [()] * len(left.items)
        for i in lefts:
            left_keys[i] = own(left.items[i])
        left_refs = _Buckets(left, left_keys, True)

        # left -> right -> (code, token, side of the item that owns the reference, its index),
        # and the same links by right item
        edges: dict[int, dict[int, _Reason]] = {}
        by_right: dict[int, dict[int, _Reason]] = {}

        def link(i: int, j: int, reason: _Reason) -> None:
            if _compatible(left.currency[i], right.currency[j]):
                edges.setdefault(i, {}).setdefault(j, reason)
                by_right.setdefault(j, {}).setdefault(i, reason)

        if right_refs.buckets:
            known = right_refs.buckets
            longest = max(map(len, known))
            for i in lefts:
                mine = left_keys[i]
                hits = [(0, token) for token in mine if token in known]
                text = left.items[i].text
                if text:
                    hits.extend(
                        (1, token)
                        for token in tokens(text, parts, longest)
                        if token in known and token not in mine
                    )
                hits.sort()
                ordinal = left.ordinal[i]
                for how, token in hits:
                    code = "same_reference" if how == 0 else "reference_in_text"
                    for _days, _rank, j in right_refs.nearest(token, ordinal, window, limit):
                        link(i, j, (code, token, "right", j))
        if left_refs.buckets:
            known = left_refs.buckets
            longest = max(map(len, known))
            for j in right.by_rank:
                text = right.items[j].text
                if not text:
                    continue
                ordinal = right.ordinal[j]
                for token in sorted(t for t in tokens(text, parts, longest) if t in known):
                    for _days, _rank, i in left_refs.nearest(token, ordinal, window, limit):
                        link(i, j, ("reference_in_text", token, "left", i))

        self._reference_one_to_many(edges)
        self._reference_many_to_one(by_right)

    def _reference_one_to_many(self, edges: dict[int, dict[int, _Reason]]) -> None:
        config, left, right = self.config, self.left, self.right
        tolerance, most = config.amount_tolerance, config.max_group
        for i in sorted(edges, key=left.rank.__getitem__):
            linked = edges[i]
            ordinal = left.ordinal[i]
            found = sorted(linked, key=lambda j: (abs(ordinal - right.ordinal[j]), right.rank[j]))
            nearest = found[: config.max_candidates]
            target = left.amount[i]
            chosen: tuple[int, ...] = ()
            ambiguous = False
            if (
                len(found) <= most
                and self._one_currency((i,), found)
                and abs(target - sum(right.amount[j] for j in found)) <= tolerance
            ):
                chosen = tuple(found)
            if not chosen and len(found) > 1:
                result = _subset_search(
                    [right.amount[j] for j in nearest],
                    target,
                    tolerance,
                    1,
                    most,
                    self._accept((i,), nearest, None),
                )
                if result is not None:
                    chosen = tuple(nearest[p] for p in result[0])
                    ambiguous = result[1]
            if chosen:
                self.full_reference.add(i)
                difference = target - sum(right.amount[j] for j in chosen)
                whole = len(chosen) == len(found)
                score = (95 if whole else 88) + (2 if difference == 0 else 0)
                score += (1 if len(chosen) == 1 else 0) - (5 if ambiguous else 0)
                reasons = [linked[j] for j in chosen]
                reasons.append(self._amount_reason(difference))
                if self._same_party((i,), chosen):
                    score += 2
                    reasons.append(("party",))
                if not whole:
                    reasons.append(("referenced_subset", len(chosen), len(found)))
                elif len(chosen) > 1:
                    reasons.append(("sum", len(chosen)))
                if ambiguous:
                    reasons.append(("other_combinations",))
                self._finish(score, (i,), chosen, reasons)
                continue
            if not config.allow_partial:
                continue
            if len(found) == 1:
                self._partial(70, i, found, linked)
                continue
            if len(found) <= most and self._one_currency((i,), found):
                self._partial(65, i, found, linked)
            for j in nearest:
                self._partial(60, i, (j,), linked)

    def _partial(
        self, score: int, i: int, rights: Sequence[int], linked: dict[int, _Reason]
    ) -> None:
        reasons = [linked[j] for j in rights]
        reasons.append(("partial",))
        if self._same_party((i,), rights):
            score += 2
            reasons.append(("party",))
        if len(rights) > 1:
            reasons.append(("sum", len(rights)))
        self._finish(score, (i,), rights, reasons, partial=True)

    def _finish(
        self,
        score: int,
        lefts: Sequence[int],
        rights: Sequence[int],
        reasons: list[_Reason],
        partial: bool = False,
        stream: int | None = None,
    ) -> None:
        """Add the days apart to ``reasons`` and the proposal to the pool."""
        distance = max(
            abs(self.left.ordinal[i] - self.right.ordinal[j]) for i in lefts for j in rights
        )
        reasons.append(("days", distance, len(lefts) + len(rights) > 2))
        kind = self._kind(len(lefts), len(rights))
        self._add(score, lefts, rights, kind, reasons, partial, stream)

    def _reference_many_to_one(self, by_right: dict[int, dict[int, _Reason]]) -> None:
        config, left, right = self.config, self.left, self.right
        tolerance, most = config.amount_tolerance, config.max_group
        for j in sorted(by_right, key=right.rank.__getitem__):
            linked = by_right[j]
            if len(linked) < 2:
                continue
            ordinal = right.ordinal[j]
            found = sorted(linked, key=lambda i: (abs(ordinal - left.ordinal[i]), left.rank[i]))
            nearest = found[: config.max_candidates]
            target = right.amount[j]
            chosen: tuple[int, ...] = ()
            ambiguous = False
            if (
                len(found) <= most
                and self._one_currency(found, (j,))
                and abs(sum(left.amount[i] for i in found) - target) <= tolerance
            ):
                chosen = tuple(found)
            if not chosen:
                result = _subset_search(
                    [left.amount[i] for i in nearest],
                    target,
                    tolerance,
                    2,
                    most,
                    self._accept(None, nearest, (j,)),
                )
                if result is not None:
                    chosen = tuple(nearest[p] for p in result[0])
                    ambiguous = result[1]
            if not chosen:
                continue
            difference = sum(left.amount[i] for i in chosen) - target
            whole = len(chosen) == len(found)
            score = (95 if whole else 88) + (2 if difference == 0 else 0) - (5 if ambiguous else 0)
            reasons: list[_Reason] = [linked[i] for i in chosen]
            reasons.append(self._amount_reason(difference))
            if self._same_party(chosen, (j,)):
                score += 2
                reasons.append(("party",))
            reasons.append(("instalments", len(chosen)))
            if ambiguous:
                reasons.append(("other_combinations",))
            self._finish(score, chosen, (j,), reasons)

    # stages 2 and 3: counterparty and amount, amount alone

    def _left_count(self, j: int, same_party: bool) -> int:
        """How many left items could pair with right item ``j`` by amount (and party)."""
        cache = self._left_party_counts if same_party else self._left_counts
        count = cache.get(j)
        if count is None:
            right, window = self.right, self.config.date_window
            ordinal, currency, party = right.ordinal[j], right.currency[j], right.party[j]
            count = 0
            for amount in self._near(self.left_amounts, right.amount[j]):
                if same_party:
                    for key in self._search(currency, party, amount):
                        count += self.left_party_amount.count(key, ordinal, window)
                else:
                    for key in self._search(currency, amount):
                        count += self.left_amount.count(key, ordinal, window)
            cache[j] = count
        return count

    def amounts(self, lefts: Sequence[int]) -> None:
        """Stages 2 and 3 for ``lefts``: the first ``max_candidates`` of each candidate list;
        the left items whose lists go on are remembered in ``streams`` (see ``more``)."""
        for i in lefts:
            if self._amount_batch(i, 0, None):
                self.streams[i] = 0

    def more(self, i: int, used: bytearray) -> list[_Prop]:
        """The next proposals of stages 2 and 3 for left item ``i``, whose earlier ones all
        lost their right item in the assignment: the following ``max_candidates`` of its
        lists not yet used (batch after batch until one proposes something)."""
        limit = self.config.max_candidates
        start = self.streams.pop(i, None)
        if start is None:
            return []
        self.fresh = []
        while True:
            start += limit
            goes_on = self._amount_batch(i, start, used)
            if self.fresh or not goes_on:
                break
        if goes_on:
            self.streams[i] = start
        fresh, self.fresh = self.fresh, None
        return [self.proposals[key] for key in fresh]

    def _amount_batch(self, i: int, start: int, used: bytearray | None) -> bool:
        """Proposals for left item ``i`` from places ``start`` to ``start + max_candidates``
        (nearest first) of its same-party list and of its whole list of equal amounts, the
        right items in ``used`` left out; whether either list goes on."""
        config, left, right = self.config, self.left, self.right
        window, limit = config.date_window, config.max_candidates
        fetch = start + limit
        ordinal, currency, party = left.ordinal[i], left.currency[i], left.party[i]
        near = self._near(self.right_amounts, left.amount[i])
        total = 0
        lists: list[list[_Near]] = []
        for amount in near:
            for key in self._search(currency, amount):
                total += self.right_amount.count(key, ordinal, window)
                lists.append(self.right_amount.nearest(key, ordinal, window, fetch))
        if not total:
            return False
        same: list[_Near] = []
        same_total = 0
        if party:
            party_lists = []
            for amount in near:
                for key in self._search(currency, party, amount):
                    same_total += self.right_party_amount.count(key, ordinal, window)
                    party_lists.append(self.right_party_amount.nearest(key, ordinal, window, fetch))
            same = _merge(party_lists, fetch)[start:]
        for days, _rank, j in same:
            if used is not None and used[j]:
                continue
            difference = left.amount[i] - right.amount[j]
            score = 82 + _closeness(days, window, 6)
            reasons: list[_Reason] = [self._amount_reason(difference), ("party",)]
            others = same_total - 1 + self._left_count(j, True) - 1
            if others:
                score -= 5
                reasons.append(("others", others))
            self._finish(score, (i,), (j,), reasons, stream=i)
        # the same-party items among these places are in ``same`` too (a sublist in order)
        for days, _rank, j in _merge(lists, fetch)[start:]:
            if (party and right.party[j] == party) or (used is not None and used[j]):
                continue
            difference = left.amount[i] - right.amount[j]
            others = total - 1 + self._left_count(j, False) - 1
            reasons = [self._amount_reason(difference)]
            if others:
                score = 52 + _closeness(days, window, 3)
                reasons.append(("others", others))
            else:
                score = 60 + _closeness(days, window, 5)
            if party and right.party[j]:
                score -= 10
                reasons.append(("other_party",))
            self._finish(score, (i,), (j,), reasons, stream=i)
        return total > fetch or same_total > fetch

    # stage 4: aggregation without reference

    def _aggregate_candidates(
        self,
        ordinal: int,
        currency: str,
        party: str,
        group: str,
        by_party: _Buckets,
        by_group: _Buckets,
        side: _Side,
        skip: set[int],
    ) -> list[int]:
        window, limit = self.config.date_window, self.config.max_candidates
        lists: list[list[_Near]] = []
        if party:
            lists.append(by_party.nearest(party, ordinal, window, 2 * limit))
        if group:
            lists.append(by_group.nearest(group, ordinal, window, 2 * limit))
        merged = sorted({entry for found in lists for entry in found})
        found = [
            k
            for _days, _rank, k in merged
            if side.amount[k] != 0 and k not in skip and _compatible(currency, side.currency[k])
        ]
        return found[:limit] if len(found) >= 2 else []

    def aggregates(self, lefts: Sequence[int], many_to_one: bool) -> None:
        """Stage 4; ``many_to_one`` False (one left item, :func:`candidates`) also proposes
        groups for a left item that has a full reference proposal."""
        config, left, right = self.config, self.left, self.right
        tolerance, most = config.amount_tolerance, config.max_group
        if most < 2:
            return
        for i in lefts:
            if many_to_one and i in self.full_reference:
                continue
            found = self._aggregate_candidates(
                left.ordinal[i],
                left.currency[i],
                left.party[i],
                left.group[i],
                self.right_party,
                self.right_group,
                right,
                set(),
            )
            if not found:
                continue
            result = _subset_search(
                [right.amount[j] for j in found],
                left.amount[i],
                tolerance,
                2,
                most,
                self._accept_group(i, found, True),
            )
            if result is not None:
                chosen = tuple(found[p] for p in result[0])
                self._aggregate((i,), chosen, result[1])
        if not many_to_one:
            return
        for j in right.by_rank:
            party, group = right.party[j], right.group[j]
            if party not in self.left_party.buckets and group not in self.left_group.buckets:
                continue
            found = self._aggregate_candidates(
                right.ordinal[j],
                right.currency[j],
                party,
                group,
                self.left_party,
                self.left_group,
                left,
                self.full_reference,
            )
            if not found:
                continue
            result = _subset_search(
                [left.amount[i] for i in found],
                right.amount[j],
                tolerance,
                2,
                most,
                self._accept_group(j, found, False),
            )
            if result is not None:
                chosen = tuple(found[p] for p in result[0])
                self._aggregate(chosen, (j,), result[1])

    def _aggregate(self, lefts: tuple[int, ...], rights: tuple[int, ...], ambiguous: bool) -> None:
        left, right = self.left, self.right
        distance = max(abs(left.ordinal[i] - right.ordinal[j]) for i in lefts for j in rights)
        difference = sum(left.amount[i] for i in lefts) - sum(right.amount[j] for j in rights)
        score = 72 + _closeness(distance, self.config.date_window, 3) - (7 if ambiguous else 0)
        reasons: list[_Reason] = [self._amount_reason(difference)]
        reasons.append(("party",) if self._same_party(lefts, rights) else ("group",))
        reasons.append(("sum", max(len(lefts), len(rights))))
        if ambiguous:
            reasons.append(("other_combinations",))
        self._finish(score, lefts, rights, reasons)

    # results

    def ordered(self) -> list[_Prop]:
        return sorted(self.proposals.values(), key=lambda p: (p[0], p[1], p[2], p[3]))

    def proposal(self, entry: _Prop) -> Proposal:
        left, right = self.left, self.right
        lefts, rights = entry[4], entry[5]
        return Proposal(
            left=tuple(left.items[i] for i in lefts),
            right=tuple(right.items[j] for j in rights),
            score=-entry[0],
            reasons=tuple(dict.fromkeys(self._rendered(reason) for reason in entry[8])),
            difference=sum(left.amount[i] for i in lefts) - sum(right.amount[j] for j in rights),
            kind=entry[6],
            partial=entry[7],
        )

    def _display(self, side: str, index: int, token: str) -> str:
        """The reference as its owner wrote it (the first, in order, that normalises to it)."""
        item = (self.left if side == "left" else self.right).items[index]
        for reference in sorted(item.references):
            if normalise_reference(reference) == token:
                return reference.strip()
        return token

    def _rendered(self, reason: _Reason) -> str:
        """``_render`` remembered for the run (most reasons repeat: "Same amount")."""
        text = self._texts.get(reason)
        if text is None:
            text = self._texts[reason] = self._render(reason)
        return text

    def _render(self, reason: _Reason) -> str:
        code = reason[0]
        if code == "reference_in_text":
            return gettext("Reference %(reference)s found in the text") % {
                "reference": self._display(reason[2], reason[3], reason[1])
            }
        if code == "same_reference":
            return gettext("Same reference %(reference)s") % {
                "reference": self._display(reason[2], reason[3], reason[1])
            }
        if code == "same_amount":
            return gettext("Same amount")
        if code == "tolerance":
            return gettext("Amount within the tolerance")
        if code == "partial":
            return gettext("Amounts differ: partial match")
        if code == "party":
            return gettext("Same counterparty")
        if code == "other_party":
            return gettext("Different counterparty")
        if code == "group":
            return gettext("Same group")
        if code == "days":
            days, grouped = reason[1], reason[2]
            if days == 0:
                return gettext("Same date")
            if grouped:
                return ngettext("Up to %(days)d day apart", "Up to %(days)d days apart", days) % {
                    "days": days
                }
            return ngettext("%(days)d day apart", "%(days)d days apart", days) % {"days": days}
        if code == "sum":
            count = reason[1]
            return ngettext("Sum of %(count)d item", "Sum of %(count)d items", count) % {
                "count": count
            }
        if code == "instalments":
            count = reason[1]
            return ngettext(
                "%(count)d payment refers to the same item",
                "%(count)d payments refer to the same item",
                count,
            ) % {"count": count}
        if code == "referenced_subset":
            return gettext("%(count)d of the %(total)d referenced items add up to the amount") % {
                "count": reason[1],
                "total": reason[2],
            }
        if code == "others":
            count = reason[1]
            return ngettext(
                "%(count)d other candidate with the same amount",
                "%(count)d other candidates with the same amount",
                count,
            ) % {"count": count}
        if code == "other_combinations":
            return gettext("Other combinations add up to the same amount")
        raise AssertionError(f"unknown reason {code!r}")


# --- public functions -------------------------------------------------------------------------


def match(
    left: Sequence[Item], right: Sequence[Item], config: Config = DEFAULT_CONFIG
) -> MatchResult:
    """Propose matches between ``left`` and ``right``, each item in at most one proposal.

    Runs the stages of the module docstring over both sides, then takes the proposals by
    descending score (ties: date distance, then key order), skipping any that reuses an item.
    ``ValueError`` if a key repeats within one side."""
    left_side, right_side = _Side(left, "left"), _Side(right, "right")
    engine = _Engine(left_side, right_side, config)
    lefts = left_side.by_rank
    engine.references(lefts)
    engine.amounts(lefts)
    engine.aggregates(lefts, many_to_one=True)

    used_left = bytearray(len(left_side.items))
    used_right = bytearray(len(right_side.items))
    proposals: list[Proposal] = []
    pool = list(engine.proposals.values())
    heapq.heapify(pool)
    while pool:
        entry = heapq.heappop(pool)
        lefts_used, rights_used = entry[4], entry[5]
        owner = engine.streamed.pop((lefts_used, rights_used), None)
        if any(used_left[i] for i in lefts_used) or any(used_right[j] for j in rights_used):
            if owner is not None:
                engine.outstanding[owner] -= 1
                if not engine.outstanding[owner] and not used_left[owner]:
                    # every amount candidate proposed so far is taken: fetch the next ones
                    for fresh in engine.more(owner, used_right):
                        heapq.heappush(pool, fresh)
            continue
        for i in lefts_used:
            used_left[i] = 1
        for j in rights_used:
            used_right[j] = 1
        proposals.append(engine.proposal(entry))
    return MatchResult(
        proposals=proposals,
        unmatched_left=[item for i, item in enumerate(left_side.items) if not used_left[i]],
        unmatched_right=[item for j, item in enumerate(right_side.items) if not used_right[j]],
    )


def candidates(
    item: Item, right: Sequence[Item], config: Config = DEFAULT_CONFIG, limit: int = 20
) -> list[Proposal]:
    """The scored proposals for one left ``item`` against ``right`` (single items and groups),
    best first, at most ``limit``, at least ``config.min_score``; no assignment, so a right
    item may appear in several proposals. Amount-only scores count only the other right
    candidates (there is one left item), so they may be higher than in :func:`match`.

    The right items are first narrowed in one pass to those that can meet ``item`` (same
    amount, party or group within the date window, or a reference link within the reference
    window), then indexed like in :func:`match`."""
    shortest, parts = config.min_reference_length, config.max_reference_parts
    own = {normalise_reference(r) for r in item.references}
    own = {token for token in own if len(token) >= shortest}
    searched = own | tokens(item.text, parts) if item.text else own
    ordinal = item.date.toordinal()
    window, reference_window = config.date_window, config.reference_date_window
    tolerance = config.amount_tolerance
    kept: list[Item] = []
    for other in right:
        if not _compatible(item.currency, other.currency):
            continue
        days = abs(other.date.toordinal() - ordinal)
        near = days <= window and (
            abs(other.amount - item.amount) <= tolerance
            or (item.party and other.party == item.party)
            or (item.group and other.group == item.group)
        )
        if near or (
            days <= reference_window
            and (
                any(normalise_reference(r) in searched for r in other.references)
                or (own and other.text and not own.isdisjoint(tokens(other.text, parts)))
            )
        ):
            kept.append(other)
    engine = _Engine(_Side((item,), "left"), _Side(kept, "right"), config)
    engine.references((0,))
    engine.amounts((0,))
    engine.aggregates((0,), many_to_one=False)
    return [engine.proposal(entry) for entry in engine.ordered()[: max(limit, 0)]]

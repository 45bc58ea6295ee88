"""The matching engine: each stage, its windows and bounds, the assignment, and invariants.

Plain values, no database. Days are counted from 1 March 2026; amounts are minor units.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from itertools import combinations
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trastienda.matching.engine import (
    Config,
    Item,
    MatchResult,
    Proposal,
    _Buckets,
    _Side,
    _subset_search,
    candidates,
    match,
    normalise_reference,
    tokens,
)

DAY0 = dt.date(2026, 3, 1)


def line(key: Any, amount: int, day: int = 0, **fields: Any) -> Item:
    return Item(key=key, side="left", amount=amount, date=DAY0 + dt.timedelta(days=day), **fields)


def invoice(key: Any, amount: int, day: int = 0, **fields: Any) -> Item:
    if "references" in fields:
        fields["references"] = frozenset(fields["references"])
    return Item(key=key, side="right", amount=amount, date=DAY0 + dt.timedelta(days=day), **fields)


def keys(proposal: Proposal) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    return tuple(x.key for x in proposal.left), tuple(x.key for x in proposal.right)


def pairs(result: MatchResult) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    return [keys(p) for p in result.proposals]


def only(result: MatchResult) -> Proposal:
    assert len(result.proposals) == 1, pairs(result)
    return result.proposals[0]


# --- references and tokens ------------------------------------------------------------------


def test_normalise_reference_keeps_letters_and_digits_upper_case() -> None:
    assert normalise_reference("f2026-000123 ") == "F2026000123"
    assert normalise_reference("F 2026/000.123") == "F2026000123"
    assert normalise_reference("F2026_000123") == "F2026000123"
    assert normalise_reference("nº 12-b") == "Nº12B"
    assert normalise_reference(normalise_reference("a-b/c")) == "ABC"
    assert normalise_reference(" -/ ") == ""


def test_tokens_hold_runs_and_joined_runs() -> None:
    found = tokens("Pago fra. F2026-000123, gracias")
    assert {"PAGO", "FRA", "F2026", "000123", "GRACIAS"} <= found
    assert "F2026000123" in found
    assert "FRAF2026000123" in found
    assert normalise_reference("F2026-000123") in tokens("F 2026 / 000123")


def test_tokens_bounded_by_parts_and_length() -> None:
    assert "ABC" not in tokens("a b c", max_parts=2)
    assert "AB" in tokens("a b c", max_parts=2)
    assert tokens("a b c", max_parts=1) == {"A", "B", "C"}
    assert "ABCD" not in tokens("ab cd", max_length=3)
    assert "ABCD" in tokens("ab cd", max_length=4)


# --- stage 1: references --------------------------------------------------------------------


def test_reference_in_text_one_to_one_beats_equal_amounts() -> None:
    statement = [line("L1", 12100, 10, text="Pago fra. f2026/000123", party="P1")]
    open_items = [
        invoice("A", 12100, 10, party="P2"),
        invoice("B", 12100, 0, references={"F2026-000123"}, party="P1"),
    ]
    result = match(statement, open_items)
    proposal = only(result)
    assert keys(proposal) == (("L1",), ("B",))
    assert proposal.kind == "one_to_one"
    assert proposal.score == 100
    assert proposal.difference == 0
    assert not proposal.partial
    assert proposal.reasons == (
        "Reference F2026-000123 found in the text",
        "Same amount",
        "Same counterparty",
        "10 days apart",
    )
    assert [x.key for x in result.unmatched_right] == ["A"]


def test_same_reference_on_both_sides() -> None:
    result = match(
        [line("L1", 500, 3, references=frozenset({"e2e-77/a"}))],
        [invoice("R1", 500, references={"E2E77A"})],
    )
    proposal = only(result)
    assert keys(proposal) == (("L1",), ("R1",))
    assert proposal.reasons[0] == "Same reference E2E77A"
    assert proposal.score == 98


def test_left_reference_found_in_right_text() -> None:
    """Trading: the back office records the front office's trade id in its text."""
    front = [line("FO-1", -250000, 0, references=frozenset({"T-2026-0042"}))]
    back = [
        invoice("BO-9", -250000, 1, text="alloc of T 2026 0042 via broker X"),
        invoice("BO-8", -250000, 0),
    ]
    proposal = only(match(front, back))
    assert keys(proposal) == (("FO-1",), ("BO-9",))
    assert proposal.reasons[0] == "Reference T-2026-0042 found in the text"


def test_short_references_are_ignored() -> None:
    statement = [line("L1", 100, 30, text="pago 123")]
    open_items = [invoice("R1", 100, references={"123"})]
    assert match(statement, open_items).proposals == []
    config = Config(min_reference_length=3)
    assert pairs(match(statement, open_items, config)) == [(("L1",), ("R1",))]


def test_reference_one_to_many_all_referenced() -> None:
    statement = [line("L1", 300, 20, text="FRAS F-1001, F-1002", party="P1")]
    open_items = [
        invoice("A", 100, references={"F-1001"}, party="P1"),
        invoice("B", 200, references={"F-1002"}, party="P1"),
        invoice("C", 300, 20, party="P1"),
    ]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1",), ("A", "B"))
    assert proposal.kind == "one_to_many"
    assert proposal.score == 99
    assert "Sum of 2 items" in proposal.reasons
    assert "Up to 20 days apart" in proposal.reasons


def test_reference_subset_when_not_all_referenced_add_up() -> None:
    statement = [line("L1", 300, 0, text="F-1001 F-1002 F-1003")]
    open_items = [
        invoice("A", 100, references={"F-1001"}),
        invoice("B", 200, references={"F-1002"}),
        invoice("C", 999, references={"F-1003"}),
    ]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1",), ("A", "B"))
    assert proposal.score == 90
    assert "2 of the 3 referenced items add up to the amount" in proposal.reasons


def test_partial_reference_proposed_with_the_difference() -> None:
    statement = [line("L1", 9700, 5, text="F-2001")]
    open_items = [invoice("A", 10000, references={"F-2001"})]
    proposal = only(match(statement, open_items))
    assert proposal.partial
    assert proposal.difference == -300
    assert proposal.score == 70
    assert "Amounts differ: partial match" in proposal.reasons
    assert match(statement, open_items, Config(allow_partial=False)).proposals == []


def test_partial_with_several_references_proposes_the_set() -> None:
    statement = [line("L1", 250, 0, text="F-1001 F-1002")]
    open_items = [
        invoice("A", 100, references={"F-1001"}),
        invoice("B", 200, references={"F-1002"}),
    ]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1",), ("A", "B"))
    assert proposal.partial
    assert proposal.difference == -50
    assert proposal.score == 65
    single = candidates(statement[0], open_items)
    assert [(keys(p), p.score) for p in single] == [
        ((("L1",), ("A", "B")), 65),
        ((("L1",), ("A",)), 60),
        ((("L1",), ("B",)), 60),
    ]


def test_reference_date_window_edges() -> None:
    open_items = [invoice("A", 100, references={"F-3001"})]
    assert pairs(match([line("L1", 100, 120, text="F-3001")], open_items)) == [(("L1",), ("A",))]
    assert pairs(match([line("L1", 100, -120, text="F-3001")], open_items)) == [(("L1",), ("A",))]
    assert match([line("L1", 100, 121, text="F-3001")], open_items).proposals == []
    narrow = Config(reference_date_window=10)
    assert match([line("L1", 100, 11, text="F-3001")], open_items, narrow).proposals == []


def test_many_to_one_instalments_by_reference() -> None:
    statement = [
        line("L1", 4000, 0, text="Plazo 1 F-5001", party="P1"),
        line("L2", 6000, 30, text="Plazo 2 F-5001", party="P1"),
        line("L3", 6000, 30, text="Otra cosa"),
    ]
    open_items = [invoice("A", 10000, 0, references={"F-5001"}, party="P1")]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1", "L2"), ("A",))
    assert proposal.kind == "many_to_one"
    assert proposal.score == 99
    assert "2 payments refer to the same item" in proposal.reasons
    # the first instalment alone: a partial match
    alone = only(match(statement[:1], open_items))
    assert alone.partial
    assert alone.difference == -6000


# --- stages 2 and 3: counterparty and amount, amount alone ------------------------------------


def test_party_and_amount_closer_dates_score_higher() -> None:
    open_items = [invoice("A", 700, 0, party="P1")]
    scores = [
        only(match([line("L1", 700, day, party="P1")], open_items)).score for day in (0, 3, 7)
    ]
    assert scores == [88, 85, 82]
    assert match([line("L1", 700, 8, party="P1")], open_items).proposals == []
    proposal = only(match([line("L1", 700, -7, party="P1")], open_items))
    assert proposal.reasons == ("Same amount", "Same counterparty", "7 days apart")


def test_party_match_beats_amount_alone() -> None:
    statement = [line("L1", 700, 0, party="P1")]
    open_items = [invoice("A", 700, 0, party="P2"), invoice("B", 700, 5, party="P1")]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1",), ("B",))


def test_amount_alone_unique_and_window_edges() -> None:
    open_items = [invoice("A", 4242, 0)]
    proposal = only(match([line("L1", 4242, 0)], open_items))
    assert proposal.score == 65
    assert proposal.reasons == ("Same amount", "Same date")
    assert only(match([line("L1", 4242, 7)], open_items)).score == 60
    assert match([line("L1", 4242, 8)], open_items).proposals == []
    assert match([line("L1", 4242, 2)], open_items, Config(date_window=1)).proposals == []
    assert only(match([line("L1", 4242, 0)], open_items, Config(date_window=0))).score == 65


def test_amount_alone_several_candidates_takes_the_closest() -> None:
    statement = [line("L1", 900, 0)]
    open_items = [invoice("A", 900, 4), invoice("B", 900, -2), invoice("C", 900, 6)]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1",), ("B",))
    assert proposal.score == 52 + (7 - 2) * 3 // 7
    assert "2 other candidates with the same amount" in proposal.reasons


def test_amount_alone_counts_candidates_on_the_left_too() -> None:
    statement = [line("L1", 900, 0), line("L2", 900, 1)]
    result = match(statement, [invoice("A", 900, 0)])
    proposal = only(result)
    assert keys(proposal) == (("L1",), ("A",))
    assert "1 other candidate with the same amount" in proposal.reasons
    assert [x.key for x in result.unmatched_left] == ["L2"]


def test_amount_alone_with_a_different_counterparty_scores_lower() -> None:
    proposal = only(match([line("L1", 900, 0, party="P1")], [invoice("A", 900, 0, party="P2")]))
    assert proposal.score == 55
    assert "Different counterparty" in proposal.reasons
    # two such candidates: below the minimum score
    ambiguous = [invoice("A", 900, 0, party="P2"), invoice("B", 900, 1, party="P3")]
    assert match([line("L1", 900, 0, party="P1")], ambiguous).proposals == []
    assert (
        len(match([line("L1", 900, 0, party="P1")], ambiguous, Config(min_score=40)).proposals) == 1
    )


def test_amount_tolerance() -> None:
    config = Config(amount_tolerance=5)
    proposal = only(
        match([line("L1", 1004, 0, party="P1")], [invoice("A", 999, 0, party="P1")], config)
    )
    assert proposal.difference == 5
    assert not proposal.partial
    assert "Amount within the tolerance" in proposal.reasons
    assert match([line("L1", 1005, 0)], [invoice("A", 999, 0)], config).proposals == []
    assert match([line("L1", 1004, 0)], [invoice("A", 999, 0)]).proposals == []
    # with a reference: the tolerance decides between full (95+) and partial
    referenced = [invoice("A", 999, 0, references={"F-9001"})]
    assert only(match([line("L1", 1003, 0, text="F-9001 ")], referenced, config)).score == 96
    assert only(match([line("L1", 1003, 0, text="F-9001")], referenced)).partial


def test_currencies_must_agree_when_both_known() -> None:
    usd = [invoice("A", 100, 0, currency="USD", references={"F-77"}, party="P1")]
    assert match([line("L1", 100, 0, currency="EUR", text="F-77", party="P1")], usd).proposals == []
    assert len(match([line("L1", 100, 0, currency="", text="F-77")], usd).proposals) == 1
    mixed = [
        invoice("A", 100, 0, currency="USD", party="P1"),
        invoice("B", 200, 0, currency="EUR", party="P1"),
    ]
    assert match([line("L1", 300, 0, party="P1")], mixed).proposals == []


# --- stage 4: aggregation without reference --------------------------------------------------


def test_one_line_pays_several_invoices_of_its_party() -> None:
    statement = [line("L1", 600, 0, party="P1")]
    open_items = [
        invoice("A", 100, -3, party="P1"),
        invoice("B", 200, 2, party="P1"),
        invoice("C", 300, 1, party="P1"),
        invoice("D", 250, 1, party="P1"),
        invoice("X", 350, 0, party="P2"),
    ]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1",), ("A", "B", "C"))
    assert proposal.kind == "one_to_many"
    assert proposal.score == 72 + (7 - 3) * 3 // 7
    assert proposal.reasons == (
        "Same amount",
        "Same counterparty",
        "Sum of 3 items",
        "Up to 3 days apart",
    )


def test_aggregation_prefers_fewest_items_and_flags_other_combinations() -> None:
    statement = [line("L1", 300, 0, party="P1")]
    open_items = [
        invoice("A", 100, 1, party="P1"),
        invoice("B", 200, 1, party="P1"),
        invoice("C", 150, 2, party="P1"),
        invoice("D", 150, 3, party="P1"),
    ]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1",), ("A", "B"))
    assert proposal.score == 72 + (7 - 1) * 3 // 7 - 7
    assert "Other combinations add up to the same amount" in proposal.reasons


def test_aggregation_bounded_by_max_group_and_window() -> None:
    statement = [line("L1", 1500, 0, party="P1")]
    open_items = [invoice(f"I{n}", 100 * n, n - 3, party="P1") for n in range(1, 6)]
    assert match(statement, open_items).proposals == []  # 1+2+3+4+5: five items
    proposal = only(match(statement, open_items, Config(max_group=5)))
    assert len(proposal.right) == 5
    far = [invoice("A", 700, 0, party="P1"), invoice("B", 800, 8, party="P1")]
    assert match(statement, far).proposals == []


def test_aggregation_bounded_by_max_candidates() -> None:
    statement = [line("L1", 1001 + 1002, 0, party="P1")]
    near = [invoice(f"N{n}", 10 + n, 0, party="P1") for n in range(10)]
    needed = [invoice("A", 1001, 5, party="P1"), invoice("B", 1002, 6, party="P1")]
    assert pairs(match(statement, near + needed)) == [(("L1",), ("A", "B"))]
    assert match(statement, near + needed, Config(max_candidates=11)).proposals == []


def test_aggregation_by_group() -> None:
    statement = [line("L1", 500, 0, group="G1")]
    open_items = [invoice("A", 200, 0, group="G1"), invoice("B", 300, 0, group="G1")]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1",), ("A", "B"))
    assert "Same group" in proposal.reasons


def test_aggregation_does_not_mix_party_and_group() -> None:
    statement = [line("L1", 500, 0, party="P1", group="G1")]
    mixed = [invoice("A", 200, 0, party="P1"), invoice("B", 300, 0, party="P2", group="G1")]
    assert match(statement, mixed).proposals == []
    grouped = [invoice("A", 200, 0, party="P3", group="G1"), mixed[1]]
    proposal = only(match(statement, grouped))
    assert keys(proposal) == (("L1",), ("A", "B"))
    assert "Same group" in proposal.reasons


def test_two_lines_pay_one_invoice_without_reference() -> None:
    statement = [line("L1", 400, 0, party="P1"), line("L2", 600, 5, party="P1")]
    open_items = [invoice("A", 1000, 2, party="P1")]
    proposal = only(match(statement, open_items))
    assert keys(proposal) == (("L1", "L2"), ("A",))
    assert proposal.kind == "many_to_one"
    assert "Sum of 2 items" in proposal.reasons


def test_negative_amounts_aggregate_too() -> None:
    statement = [line("L1", -300, 0, party="P1")]
    open_items = [invoice("A", -100, 0, party="P1"), invoice("B", -200, 0, party="P1")]
    assert pairs(match(statement, open_items)) == [(("L1",), ("A", "B"))]
    credit = [invoice("A", 500, 0, party="P1"), invoice("B", -200, 0, party="P1")]
    assert pairs(match([line("L1", 300, 0, party="P1")], credit)) == [(("L1",), ("A", "B"))]


# --- assignment ------------------------------------------------------------------------------


def test_no_item_used_twice_and_unmatched_in_input_order() -> None:
    statement = [
        line("L2", 500, 1, text="F-1001"),
        line("L1", 500, 0, text="F-1001"),
        line("L3", 77, 0),
    ]
    open_items = [invoice("B", 1, 50), invoice("A", 500, 0, references={"F-1001"})]
    result = match(statement, open_items)
    assert pairs(result) == [(("L1",), ("A",))]
    assert [x.key for x in result.unmatched_left] == ["L2", "L3"]
    assert [x.key for x in result.unmatched_right] == ["B"]


def test_ties_broken_by_date_distance_then_key() -> None:
    open_items = [invoice("A", 100, 0)]
    by_distance = match([line("L1", 100, 3), line("L2", 100, 1)], open_items)
    assert pairs(by_distance) == [(("L2",), ("A",))]
    by_key = match([line("L2", 100, 1), line("L1", 100, -1)], open_items)
    assert pairs(by_key) == [(("L1",), ("A",))]


def test_deterministic_whatever_the_input_order() -> None:
    rng = random.Random(7)
    statement = [
        line(f"L{n}", rng.choice([100, 200, 300, 500]), rng.randrange(10),
             party=rng.choice(["", "P1", "P2"]), text=rng.choice(["", "F-1001", "F-1002 F-1003"]))
        for n in range(40)
    ]  # fmt: skip
    open_items = [
        invoice(f"R{n}", rng.choice([100, 200, 300, 500]), rng.randrange(10),
                party=rng.choice(["", "P1", "P2"]), references={f"F-100{n}"} if n < 5 else set())
        for n in range(60)
    ]  # fmt: skip

    def summary(result: MatchResult) -> list[tuple[Any, ...]]:
        return [(keys(p), p.score, p.reasons, p.kind) for p in result.proposals]

    expected = summary(match(statement, open_items))
    assert expected
    for _ in range(5):
        rng.shuffle(statement)
        rng.shuffle(open_items)
        assert summary(match(statement, open_items)) == expected


def test_cut_candidate_lists_go_on_when_their_items_are_taken() -> None:
    """30 equal payments of one customer on one day: the first 12 candidates of every line
    are the same 12 invoices; the next ones are fetched as those are taken."""
    statement = [line(f"L{n:02d}", 2900, 0, party="P1") for n in range(30)]
    open_items = [invoice(f"R{n:02d}", 2900, n % 3, party="P1") for n in range(40)]
    result = match(statement, open_items)
    assert len(result.proposals) == 30
    assert result.unmatched_left == []
    days = Counter((p.right[0].date - DAY0).days for p in result.proposals)
    assert days == {0: 14, 1: 13, 2: 3}  # the nearest first
    assert pairs(result)[:2] == [(("L00",), ("R00",)), (("L01",), ("R03",))]
    # 39 other invoices and 29 other lines of that customer and amount
    assert "68 other candidates with the same amount" in result.proposals[0].reasons
    assert result.proposals[0].score == 88 - 5


def test_keys_of_mixed_types_are_ordered_without_error() -> None:
    result = match([line(2, 100, 0), line("x", 100, 0)], [invoice(1, 100, 0)])
    assert len(result.proposals) == 1


def test_duplicate_keys_and_bad_config_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate key on the left"):
        match([line("L1", 1), line("L1", 2)], [])
    with pytest.raises(ValueError, match="max_group"):
        Config(max_group=0)
    with pytest.raises(ValueError, match="amount_tolerance"):
        Config(amount_tolerance=-1)
    with pytest.raises(ValueError, match="min_score"):
        Config(min_score=101)


def test_every_proposal_has_reasons_and_scores_are_sorted() -> None:
    statement = [
        line("L1", 100, 0, text="F-1001"),
        line("L2", 300, 0, party="P1"),
        line("L3", 700, 1, party="P2"),
        line("L4", 800, 2),
        line("L5", 55, 0, text="F-5005"),
    ]
    open_items = [
        invoice("A", 100, 0, references={"F-1001"}),
        invoice("B", 100, 1, party="P1"),
        invoice("C", 200, 1, party="P1"),
        invoice("D", 700, 0, party="P2"),
        invoice("E", 800, 0),
        invoice("F", 50, 0, references={"F-5005"}),
    ]
    result = match(statement, open_items)
    assert [(keys(p), p.score, p.kind, p.partial) for p in result.proposals] == [
        ((("L1",), ("A",)), 98, "one_to_one", False),
        ((("L3",), ("D",)), 82 + 6 * 6 // 7, "one_to_one", False),
        ((("L2",), ("B", "C")), 74, "one_to_many", False),
        ((("L5",), ("F",)), 70, "one_to_one", True),
        ((("L4",), ("E",)), 60 + 5 * 5 // 7, "one_to_one", False),
    ]
    for proposal in result.proposals:
        assert proposal.reasons
        assert all(isinstance(reason, str) and reason for reason in proposal.reasons)


# --- candidates() ----------------------------------------------------------------------------


def test_candidates_best_first_without_assignment() -> None:
    item = line("L1", 300, 0, text="pago F-1001", party="P1")
    open_items = [
        invoice("A", 300, 30, references={"F-1001"}, party="P1"),
        invoice("B", 300, 2, party="P1"),
        invoice("C", 300, 1),
        invoice("D", 100, 1, party="P1"),
        invoice("E", 200, 1, party="P1"),
        invoice("F", 300, 60),
    ]
    found = candidates(item, open_items)
    assert [(keys(p)[1], p.score) for p in found] == [
        (("A",), 100),
        (("B",), 82 + 5 * 6 // 7),
        (("D", "E"), 72 + 6 * 3 // 7),
        (("C",), 52 + 6 * 3 // 7),
    ]
    assert found[1].reasons == ("Same amount", "Same counterparty", "2 days apart")
    assert found[3].reasons == (
        "Same amount",
        "1 other candidate with the same amount",
        "1 day apart",
    )
    assert candidates(item, open_items, limit=2) == found[:2]
    assert candidates(item, open_items, Config(min_score=80)) == found[:2]
    # the same right items appear in several proposals: no assignment
    assert {x.key for p in found for x in p.right} == {"A", "B", "C", "D", "E"}


def test_candidates_include_partial_references() -> None:
    item = line("L1", 250, 0, text="F-7007")
    found = candidates(item, [invoice("A", 300, 0, references={"F-7007"})])
    assert len(found) == 1
    assert found[0].partial
    assert found[0].difference == -50
    assert candidates(line("L1", 1, 0), []) == []


# --- properties ------------------------------------------------------------------------------

REFS = ["F-11", "F-12", "F-13", "F-14"]


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[Item], list[Item], Config]:
    amount = st.sampled_from([-300, -100, 50, 100, 150, 200, 250, 300, 301, 450, 600])
    party = st.sampled_from(["", "P1", "P2"])
    currency = st.sampled_from(["", "EUR", "EUR", "USD"])
    day = st.integers(-10, 10)
    statement = [
        line(
            f"L{n}",
            draw(amount),
            draw(day),
            party=draw(party),
            group=draw(st.sampled_from(["", "G"])),
            currency=draw(currency),
            text=" ".join(draw(st.lists(st.sampled_from([*REFS, "x"]), max_size=3))),
        )
        for n in range(draw(st.integers(0, 8)))
    ]
    open_items = [
        invoice(
            f"R{n}",
            draw(amount),
            draw(day),
            party=draw(party),
            group=draw(st.sampled_from(["", "G"])),
            currency=draw(currency),
            references=set(draw(st.lists(st.sampled_from(REFS), max_size=2))),
        )
        for n in range(draw(st.integers(0, 10)))
    ]
    config = Config(
        amount_tolerance=draw(st.sampled_from([0, 0, 1, 50])),
        date_window=draw(st.integers(0, 8)),
        max_group=draw(st.integers(1, 4)),
        max_candidates=draw(st.integers(1, 12)),
        min_score=draw(st.sampled_from([0, 50, 80])),
        allow_partial=draw(st.booleans()),
        min_reference_length=3,
    )
    return statement, open_items, config


def check_proposal(proposal: Proposal, config: Config) -> None:
    assert proposal.difference == sum(x.amount for x in proposal.left) - sum(
        x.amount for x in proposal.right
    )
    if proposal.partial:
        assert config.allow_partial
    else:
        assert abs(proposal.difference) <= config.amount_tolerance
    assert config.min_score <= proposal.score <= 100
    assert proposal.reasons
    assert len({x.currency for x in (*proposal.left, *proposal.right)} - {""}) <= 1
    kinds = {(1, 1): "one_to_one"}
    expected = kinds.get((len(proposal.left), len(proposal.right)))
    if expected is None:
        expected = "one_to_many" if len(proposal.left) == 1 else "many_to_one"
    assert proposal.kind == expected
    assert max(len(proposal.left), len(proposal.right)) <= max(config.max_group, 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_proposals_add_up_and_use_each_item_once(
    data: tuple[list[Item], list[Item], Config],
) -> None:
    statement, open_items, config = data
    result = match(statement, open_items, config)
    used_left = [x.key for p in result.proposals for x in p.left]
    used_right = [x.key for p in result.proposals for x in p.right]
    assert len(used_left) == len(set(used_left))
    assert len(used_right) == len(set(used_right))
    assert sorted(map(str, used_left + [x.key for x in result.unmatched_left])) == sorted(
        str(x.key) for x in statement
    )
    assert sorted(map(str, used_right + [x.key for x in result.unmatched_right])) == sorted(
        str(x.key) for x in open_items
    )
    scores = [p.score for p in result.proposals]
    assert scores == sorted(scores, reverse=True)
    for proposal in result.proposals:
        check_proposal(proposal, config)
    reversed_result = match(statement[::-1], open_items[::-1], config)
    assert reversed_result.proposals == result.proposals
    for item in statement[:2]:
        found = candidates(item, open_items, config)
        for proposal in found:
            check_proposal(proposal, config)
            assert proposal.left == (item,)
        assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)


def brute_force(
    amounts: list[int], target: int, tolerance: int, smallest: int, largest: int
) -> tuple[tuple[int, ...], bool] | None:
    for size in range(smallest, min(largest, len(amounts)) + 1):
        found = [
            subset
            for subset in combinations(range(len(amounts)), size)
            if abs(sum(amounts[p] for p in subset) - target) <= tolerance
        ]
        if found:
            return found[0], len(found) > 1
    return None


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.integers(-50, 50), max_size=9),
    st.integers(-120, 120),
    st.sampled_from([0, 0, 1, 3]),
    st.integers(1, 3),
    st.integers(1, 5),
)
def test_subset_search_is_the_first_smallest_combination(
    amounts: list[int], target: int, tolerance: int, smallest: int, largest: int
) -> None:
    assert _subset_search(amounts, target, tolerance, smallest, largest) == brute_force(
        amounts, target, tolerance, smallest, largest
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.sampled_from("ab")), max_size=60),
    st.integers(-2, 14),
    st.integers(0, 6),
    st.integers(1, 20),
)
def test_buckets_nearest_and_count(
    rows: list[tuple[int, str]], ordinal_day: int, window: int, limit: int
) -> None:
    items = [line(f"K{n:02d}", 1, day, group=group) for n, (day, group) in enumerate(rows)]
    side = _Side(items[::-1], "left")
    buckets = _Buckets(side, side.group)
    ordinal = (DAY0 + dt.timedelta(days=ordinal_day)).toordinal()
    for group in "abc":
        expected = sorted(
            (abs(side.ordinal[i] - ordinal), side.rank[i], i)
            for i in range(len(items))
            if side.group[i] == group and abs(side.ordinal[i] - ordinal) <= window
        )
        assert buckets.nearest(group, ordinal, window, limit) == expected[:limit]
        assert buckets.count(group, ordinal, window) == len(expected)

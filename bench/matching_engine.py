"""Matching engine benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/matching_engine.py [--left N] [--right M] [--parties P]
                                              [--repeat R] [--language es] [--seed S]

Generates, with a seeded random generator and no database, N bank statement lines (default
10,000) and M open invoices (default 50,000) of P customers (default 3,000) over 2026, with
the true answer known for every line:

- 60 % of the lines pay one invoice and carry its number in the text, written in varied ways
  (``F2026-000123``, ``f2026/000123``, ``F2026 000123``, ``F2026000123``); the counterparty is
  known for 70 % of them; paid 10 days before to 40 days after the due date; 3 % of them less
  the bank's charges (1.50-5.00: a partial match is the right answer);
- 15 % pay one invoice with the counterparty known and no reference, within 6 days of the due
  date;
- 10 % pay 2-3 invoices of one customer (half naming every invoice, half without references:
  counterparty and sum), due within 3 days of each other, the line within 3 days of them;
- 5 % are two lines paying one invoice (half with the number in both texts, half without);
- 10 % are noise with no invoice (fees, salaries, taxes, transfers to other parties);

and the rest of the invoices are distractors: open invoices of random customers and dates,
15 % of them with the amount of a true invoice and a due date within 10 days of it (another
customer), 2 % with the amount of a true invoice of the same customer a month later (a
recurring fee). Then it times ``trastienda.matching.engine.match`` (R runs: each run, the
median, and CPU time) with the default ``Config``, and prints, for the lines of each kind, the
share matched correctly (the proposal holds exactly the true lines and invoices), matched
wrongly, and left unmatched, then precision (correct / proposed) and recall (correct / lines
that have a true match) over all lines. Last, the median time of ``candidates`` for one line
against all the invoices (the interactive screen). Reasons are built in ``--language``.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from trastienda.matching.engine import Config, Item, MatchResult, candidates, match  # noqa: E402

YEAR_START = dt.date(2026, 1, 1)
KINDS = ("reference", "party", "one line, several invoices", "two lines, one invoice", "noise")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--left", type=int, default=10_000, help="statement lines (10000)")
    parser.add_argument("--right", type=int, default=50_000, help="open invoices (50000)")
    parser.add_argument("--parties", type=int, default=3_000, help="customers (3000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of match (3)")
    parser.add_argument("--language", default="en", help="language of the reasons (en)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.left < 20 or args.right < args.left or args.parties < 2 or args.repeat < 1:
        parser.error("--left 20+, --right >= --left, --parties 2+, --repeat 1+")
    return args


def django_setup(language: str) -> None:
    """Settings enough for ``gettext`` (the engine needs no database)."""
    import django
    from django.conf import settings
    from django.utils import translation

    settings.configure(
        USE_I18N=True,
        LANGUAGE_CODE=language,
        LOCALE_PATHS=[ROOT / "trastienda" / "locale"],
        INSTALLED_APPS=[],
    )
    django.setup()
    translation.activate(language)


class Data:
    """The generated lines and invoices, and the true groups: for each line key, the
    (line keys, invoice keys) it belongs to, or None for noise."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.rng = random.Random(args.seed)
        self.parties = [f"ES{n:06d}" for n in range(args.parties)]
        self.left: list[Item] = []
        self.right: list[Item] = []
        self.truth: dict[str, tuple[frozenset[str], frozenset[str]] | None] = {}
        self.kind: dict[str, str] = {}
        self._invoices = 0
        self._true_invoices: list[Item] = []
        self._generate(args.left, args.right)

    # building blocks

    def amount(self) -> int:
        rng = self.rng
        cents = int(math.exp(rng.uniform(math.log(1_000), math.log(2_000_000))))
        roll = rng.random()
        if roll < 0.1:
            return round(cents, -3)  # whole tens
        if roll < 0.25:
            return round(cents, -2)  # whole units
        return cents

    def day(self) -> dt.date:
        return YEAR_START + dt.timedelta(days=self.rng.randrange(365))

    def invoice(self, party: str, amount: int, due: dt.date, true: bool = True) -> Item:
        self._invoices += 1
        number = f"F2026-{self._invoices:06d}"
        item = Item(
            key=f"I{self._invoices:06d}",
            side="right",
            amount=amount,
            date=due,
            currency="EUR",
            references=frozenset({number}),
            party=party,
        )
        self.right.append(item)
        if true:
            self._true_invoices.append(item)
        return item

    def written(self, invoice: Item) -> str:
        """The invoice number as a customer writes it in the remittance information."""
        number = next(iter(invoice.references))
        style = self.rng.randrange(5)
        if style == 1:
            return number.replace("-", "/").lower()
        if style == 2:
            return number.replace("-", " ")
        if style == 3:
            return number.replace("-", "")
        return number

    def line(
        self, kind: str, amount: int, date: dt.date, text: str, party: str, currency: str = "EUR"
    ) -> Item:
        key = f"L{len(self.left) + 1:06d}"
        item = Item(
            key=key,
            side="left",
            amount=amount,
            date=date,
            currency=currency,
            text=text,
            party=party,
        )
        self.left.append(item)
        self.kind[key] = kind
        return item

    def truly(self, lines: list[Item], invoices: list[Item]) -> None:
        group = (frozenset(str(x.key) for x in lines), frozenset(str(x.key) for x in invoices))
        for line in lines:
            self.truth[str(line.key)] = group

    # the data set

    def _generate(self, lines: int, invoices: int) -> None:
        rng = self.rng
        shares = {"reference": 0.60, "party": 0.15, "several": 0.10, "split": 0.05}
        counts = {name: int(lines * share) for name, share in shares.items()}
        counts["split"] -= counts["split"] % 2
        counts["noise"] = lines - sum(counts.values())

        for _ in range(counts["reference"]):
            party = rng.choice(self.parties)
            invoice = self.invoice(party, self.amount(), self.day())
            date = invoice.date + dt.timedelta(days=rng.randint(-10, 40))
            text = rng.choice(
                [
                    "TRANSFERENCIA {n} CLIENTE {p}",
                    "PAGO FACTURA {n}",
                    "Pago fra. {n} - gracias",
                    "SEPA CT /RFB/{n}/EMPRESA",
                    "{n}",
                ]
            ).format(n=self.written(invoice), p=party[-4:])
            known = party if rng.random() < 0.7 else ""
            amount = invoice.amount
            if rng.random() < 0.03:  # the bank's charges deducted: a partial proposal
                amount -= min(rng.randint(150, 500), amount // 2)
            self.truly([self.line("reference", amount, date, text, known)], [invoice])

        for _ in range(counts["party"]):
            party = rng.choice(self.parties)
            invoice = self.invoice(party, self.amount(), self.day())
            date = invoice.date + dt.timedelta(days=rng.randint(-6, 6))
            text = f"TRANSFERENCIA DE CLIENTE {party[-4:]} SL"
            self.truly([self.line("party", invoice.amount, date, text, party)], [invoice])

        for n in range(counts["several"]):
            party = rng.choice(self.parties)
            base = self.day()
            paid = [
                self.invoice(party, self.amount(), base + dt.timedelta(days=rng.randint(-3, 3)))
                for _ in range(rng.choice((2, 3)))
            ]
            date = base + dt.timedelta(days=rng.randint(-3, 3))
            total = sum(x.amount for x in paid)
            if n % 2:
                text = "PAGO FRAS " + ", ".join(self.written(x) for x in paid)
            else:
                text = f"PAGO VARIAS FACTURAS CLIENTE {party[-4:]}"
            line = self.line("one line, several invoices", total, date, text, party)
            self.truly([line], paid)

        for n in range(counts["split"] // 2):
            party = rng.choice(self.parties)
            invoice = self.invoice(party, self.amount() + 1, self.day())
            first = invoice.amount // 2 + rng.randint(-invoice.amount // 10, invoice.amount // 10)
            amounts = (first, invoice.amount - first)
            pair = []
            for k, amount in enumerate(amounts):
                date = invoice.date + dt.timedelta(days=rng.randint(-3, 3))
                if n % 2:
                    text = f"PLAZO {k + 1} {self.written(invoice)}"
                else:
                    text = f"PAGO A CUENTA {k + 1} CLIENTE {party[-4:]}"
                pair.append(self.line("two lines, one invoice", amount, date, text, party))
            self.truly(pair, [invoice])

        for _ in range(counts["noise"]):
            roll = rng.random()
            party = rng.choice(self.parties) if roll < 0.5 else ""
            text = rng.choice(
                ["COMISION MANTENIMIENTO", "NOMINA", "IMPUESTO MODELO 303", "TRASPASO", "RECIBO"]
            )
            line = self.line("noise", self.amount(), self.day(), text, party)
            self.truth[str(line.key)] = None

        true_invoices = list(self._true_invoices)
        while len(self.right) < invoices:
            roll = rng.random()
            if roll < 0.15:
                model = rng.choice(true_invoices)
                due = model.date + dt.timedelta(days=rng.randint(-10, 10))
                self.invoice(rng.choice(self.parties), model.amount, due, true=False)
            elif roll < 0.17:
                model = rng.choice(true_invoices)
                due = model.date + dt.timedelta(days=rng.choice((-31, -30, 30, 31)))
                self.invoice(model.party, model.amount, due, true=False)
            else:
                self.invoice(rng.choice(self.parties), self.amount(), self.day(), true=False)
        rng.shuffle(self.left)
        rng.shuffle(self.right)


def score(data: Data, result: MatchResult) -> list[tuple[str, str]]:
    verdict: dict[str, str] = {}
    for proposal in result.proposals:
        group = (
            frozenset(str(x.key) for x in proposal.left),
            frozenset(str(x.key) for x in proposal.right),
        )
        for line in proposal.left:
            key = str(line.key)
            verdict[key] = "correct" if data.truth[key] == group else "wrong"
    tally: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    for key, kind in data.kind.items():
        tally[kind][verdict.get(key, "unmatched")] += 1
    figures: list[tuple[str, str]] = []
    for kind in KINDS:
        counts = tally[kind]
        total = sum(counts.values())
        if kind == "noise":
            share = (
                f"{counts['unmatched'] / total:6.1%} left unmatched, "
                f"{counts['wrong'] / total:6.1%} matched wrongly"
            )
        else:
            share = (
                f"{counts['correct'] / total:6.1%} correct, {counts['wrong'] / total:6.1%} wrong, "
                f"{counts['unmatched'] / total:6.1%} unmatched"
            )
        figures.append((f"{kind} ({total:,} lines)", share))
    correct = sum(c["correct"] for c in tally.values())
    wrong = sum(c["wrong"] for c in tally.values())
    matchable = sum(sum(c.values()) for kind, c in tally.items() if kind != "noise")
    lines = len(data.left)
    figures.append(
        (
            "all lines",
            f"{correct / lines:6.1%} correct, {wrong / lines:6.1%} wrong, "
            f"{(lines - correct - wrong) / lines:6.1%} unmatched",
        )
    )
    figures.append(("precision (correct / proposed)", f"{correct / max(correct + wrong, 1):.2%}"))
    figures.append(("recall (correct / matchable)", f"{correct / max(matchable, 1):.2%}"))
    kinds = Counter(p.kind for p in result.proposals)
    figures.append(
        (
            "proposals by kind",
            ", ".join(f"{kind} {kinds[kind]:,}" for kind in sorted(kinds)),
        )
    )
    partial = sum(1 for p in result.proposals if p.partial)
    figures.append(("partial proposals", f"{partial:,}"))
    bands: dict[str, Counter[str]] = {}
    for proposal in result.proposals:
        band = f"{proposal.score // 10 * 10}-{min(proposal.score // 10 * 10 + 9, 100)}"
        key = str(proposal.left[0].key)
        bands.setdefault(band, Counter())[verdict[key]] += 1
    figures.append(
        (
            "proposals by score: correct/wrong",
            ", ".join(
                f"{band}: {bands[band]['correct']:,}/{bands[band]['wrong']:,}"
                for band in sorted(bands, key=lambda b: -int(b.split("-")[0]))
            ),
        )
    )
    return figures


def run(args: argparse.Namespace) -> None:
    django_setup(args.language)
    start = time.perf_counter()
    data = Data(args)
    built = time.perf_counter() - start
    config = Config()
    print(
        f"{len(data.left):,} lines x {len(data.right):,} open invoices of {args.parties:,} "
        f"customers (generated in {built:.1f} s); {config}"
    )
    elapsed, cpu = [], []
    result: MatchResult | None = None
    for _ in range(args.repeat):
        wall, process = time.perf_counter(), time.process_time()
        result = match(data.left, data.right, config)
        elapsed.append(time.perf_counter() - wall)
        cpu.append(time.process_time() - process)
    assert result is not None  # noqa: S101 - repeat >= 1
    median, median_cpu = statistics.median(elapsed), statistics.median(cpu)
    left_over, right_over = len(result.unmatched_left), len(result.unmatched_right)
    figures = [
        ("match: runs", ", ".join(f"{t:.2f} s" for t in elapsed)),
        ("match: median (CPU)", f"{median:.2f} s ({median_cpu:.2f} s)"),
        (
            "proposals / unmatched lines / unmatched invoices",
            f"{len(result.proposals):,} / {left_over:,} / {right_over:,}",
        ),
    ]
    figures.extend(score(data, result))
    probes = random.Random(args.seed).sample(data.left, 20)
    times = []
    for probe in probes:
        wall = time.perf_counter()
        candidates(probe, data.right, config)
        times.append(time.perf_counter() - wall)
    figures.append(
        (
            f"candidates() for one line against {len(data.right):,}",
            f"{statistics.median(times) * 1000:.0f} ms median of {len(probes)}",
        )
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"python {platform.python_version()}; {platform.platform()}; {os.cpu_count()} CPUs; "
        f"load average {load:.1f}"
    )
    width = max(len(label) for label, _value in figures)
    for label, value in figures:
        print(f"  {label:<{width}}  {value}")


if __name__ == "__main__":
    run(parse())

"""Export of the books to hledger, beancount and CSV; the real hledger checks the figures.

``hledger`` (Debian package ``hledger``; scripts/test installs it) reads the export and its
``balance --cost`` must equal our trial balance for every account, to the cent. Without hledger
the test is skipped with the reason, except in CI (``CI`` set), where its absence fails.
beancount is not a dependency: its export is checked structurally (open directives before use,
commodities declared, every transaction balanced per currency by weight, dates sorted).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trastienda.audit.models import AuditEntry
from trastienda.core.money import Money
from trastienda.ledger import imports, plaintext, queries, services
from trastienda.ledger.closing import fiscal_year_close, fiscal_year_open_next
from trastienda.ledger.models import (
    Account,
    Currency,
    FiscalYear,
    Journal,
    JournalEntry,
    JournalEntryLine,
)
from trastienda.ledger.tests.conftest import BANK, CAPITAL, CUSTOMERS, FEES, SALES

pytestmark = pytest.mark.django_db

Posted = Callable[..., JournalEntry]
USD_BANK, VAT, GAINS = "5721", "4770", "768"
AMOUNT = re.compile(r"^(-?\d+(?:\.\d+)?) ([A-Z]{3})$")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture
def hledger() -> str:
    """The hledger executable; skipped when missing, except in CI where it must be there."""
    found = shutil.which("hledger")
    if found is None:
        message = (
            "hledger is not installed: the export is checked with the real hledger "
            "(scripts/test installs it; or: sudo apt-get install hledger)"
        )
        if in_ci():
            pytest.fail(message + "; CI is set, so its absence is a failure")
        pytest.skip(message)
    return found


@pytest.fixture
def fx_books(books: Any, posted: Posted, draft: Callable[..., JournalEntry]) -> Any:
    """ACME's 2026 closed and 2027 opened, with EUR, USD and JPY lines, a reversal and the
    two odd foreign-currency shapes (zero amount in currency; opposite sign)."""
    company = books
    services.account_create(
        company=company,
        code=USD_BANK,
        parent=Account.objects.get(company=company, code="572"),
        name_en='Bank (USD) "Wells"; branch',
        type="asset",
        subtype="bank",
        default_currency=Currency.objects.get(code="USD"),
    )
    posted(
        "10000.00",
        BANK,
        CAPITAL,
        dt.date(2026, 1, 5),
        reference="CAP|1",
        description='Capital "founders"; paid \\ in full',
    )
    posted(
        date=dt.date(2026, 2, 10),
        description="=SUM(A1) sale on credit",
        lines=[
            {
                "account": CUSTOMERS,
                "debit": "1210.00",
                "partner": "López, S.L.",
                "due_date": "2026-03-12",
            },
            {"account": SALES, "credit": "1000.00", "description": "Goods; 10 units"},
            {"account": VAT, "credit": "210.00"},
        ],
    )
    posted(  # a sale in USD against a EUR income line
        date=dt.date(2026, 3, 3),
        lines=[
            {
                "account": CUSTOMERS,
                "debit": "920.00",
                "currency": "USD",
                "amount_currency": "1000.00",
                "partner": "Acme Inc.",
            },
            {"account": SALES, "credit": "920.00"},
        ],
    )
    posted(  # collected at a better rate: the realised difference booked explicitly
        date=dt.date(2026, 3, 20),
        lines=[
            {"account": USD_BANK, "debit": "930.00", "currency": "USD", "amount_currency": "1000"},
            {
                "account": CUSTOMERS,
                "credit": "920.00",
                "currency": "USD",
                "amount_currency": "-1000.00",
                "partner": "Acme Inc.",
            },
            {"account": GAINS, "credit": "10.00"},
        ],
    )
    posted(  # an entry in JPY (exponent 0)
        date=dt.date(2026, 4, 1),
        lines=[
            {
                "account": CUSTOMERS,
                "debit": "900.00",
                "currency": "JPY",
                "amount_currency": "150000",
                "partner": "Tokyo KK",
            },
            {"account": SALES, "credit": "900.00", "currency": "JPY", "amount_currency": "-150000"},
        ],
    )
    fee = posted("25.50", FEES, BANK, dt.date(2026, 5, 5), description="Fee")
    services.entry_reverse(instance=fee, date=dt.date(2026, 6, 1))
    posted(  # a revaluation line: value in EUR only
        date=dt.date(2026, 6, 30),
        lines=[
            {"account": USD_BANK, "debit": "15.00", "currency": "USD", "amount_currency": "0"},
            {"account": GAINS, "credit": "15.00"},
        ],
    )
    posted(  # amount in currency against the sign of debit - credit
        date=dt.date(2026, 7, 1),
        lines=[
            {"account": USD_BANK, "debit": "5.00", "currency": "USD", "amount_currency": "-10"},
            {"account": GAINS, "credit": "5.00"},
        ],
    )
    year = FiscalYear.objects.get(company=company, name="2026")
    fiscal_year_close(fiscal_year=year)
    fiscal_year_open_next(fiscal_year=year)
    posted("300.00", BANK, SALES, dt.date(2027, 2, 1), description="2027 sale")
    draft("999.00", BANK, CAPITAL, date=dt.date(2027, 2, 2))  # drafts are never exported
    return company


def export_text(company: Any, fmt: str, **dates: Any) -> str:
    writer = {
        "hledger": plaintext.export_hledger,
        "beancount": plaintext.export_beancount,
        "csv": plaintext.export_csv,
    }[fmt]
    return "".join(writer(company, **dates))


def minor(text: str) -> tuple[int, str]:
    """'-1234.56 EUR' → (-123456, 'EUR'), exactly; '0' → (0, '')."""
    if text.strip() == "0":
        return 0, ""
    match = AMOUNT.match(text.strip())
    assert match, text
    return Money.from_decimal(Decimal(match[1]), match[2]).minor, match[2]


def code_of(account_name: str) -> str:
    return account_name.split(":", 1)[1].split(" ", 1)[0]


def run_hledger(binary: str, journal: Path, *args: str) -> str:
    result = subprocess.run(
        [binary, "-f", str(journal), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LEDGER_FILE": "", "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def hledger_balances(binary: str, journal: Path, *args: str) -> dict[str, dict[str, int]]:
    """account code → commodity → quantity in minor units, from ``balance -O csv``."""
    out = run_hledger(binary, journal, "balance", "--flat", "-N", "-O", "csv", *args)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["account", "balance"]
    result: dict[str, dict[str, int]] = {}
    for name, amounts in rows[1:]:
        per = result.setdefault(code_of(name), {})
        for part in amounts.split(", "):
            value, commodity = minor(part)
            if value:
                per[commodity] = per.get(commodity, 0) + value
    return {code: per for code, per in result.items() if per}


def ours(company: Any, date_from: dt.date, date_to: dt.date) -> tuple[dict, dict]:
    """(movement, closing) per account code from our trial balance, zeroes dropped."""
    report = queries.trial_balance(company, date_from, date_to)
    movement = {r.account.code: {"EUR": r.debit - r.credit} for r in report.postable_rows}
    closing = {r.account.code: {"EUR": r.closing} for r in report.postable_rows}
    return (
        {k: v for k, v in movement.items() if v["EUR"]},
        {k: v for k, v in closing.items() if v["EUR"]},
    )


# --- the real hledger -----------------------------------------------------------------------


def test_hledger_balances_equal_our_trial_balance(
    fx_books: Any, hledger: str, tmp_path: Path
) -> None:
    journal = tmp_path / "books.journal"
    journal.write_text(export_text(fx_books, "hledger"), encoding="utf-8")
    # Parses, balances (with the @@ costs), every account and commodity declared, dates sorted.
    run_hledger(hledger, journal, "check", "-s", "ordereddates")
    posted = JournalEntry.objects.filter(company=fx_books, state="posted").count()
    assert run_hledger(hledger, journal, "stats").count("\n") > 0
    printed = run_hledger(hledger, journal, "print")
    assert len(re.findall(r"^\d{4}-\d{2}-\d{2} \* \(", printed, re.M)) == posted == 13

    ranges = [
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 6, 30)),
        (dt.date(2026, 3, 20), dt.date(2026, 3, 20)),
        (dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 12, 30)),  # before the closing entries
    ]
    for date_from, date_to in ranges:
        movement, closing = ours(fx_books, date_from, date_to)
        end = (date_to + dt.timedelta(1)).isoformat()
        assert (
            hledger_balances(hledger, journal, "--cost", "-b", date_from.isoformat(), "-e", end)
            == movement
        ), (date_from, date_to)
        assert hledger_balances(hledger, journal, "--cost", "-e", end) == closing, date_to

    # Exact figures, to see the comparisons are not vacuous: before the closing, at cost.
    # (Over the whole of 2026 every account nets to zero: the closing entry empties them.)
    assert ours(fx_books, dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == ({}, {})
    _movement, before_closing = ours(fx_books, dt.date(2026, 1, 1), dt.date(2026, 12, 30))
    assert before_closing[USD_BANK] == {"EUR": 95000}
    assert before_closing[SALES] == {"EUR": -282000}
    assert before_closing[GAINS] == {"EUR": -3000}
    assert before_closing[CUSTOMERS] == {"EUR": 211000}

    # Without --cost, hledger keeps the foreign quantities: they equal our amounts in currency.
    natural = hledger_balances(hledger, journal, "-e", "2026-12-31")
    assert natural[USD_BANK] == {"USD": 99000, "EUR": 2000}  # 1000 - 10 USD; 15 + 5 EUR
    assert natural[CUSTOMERS] == {"EUR": 121000, "JPY": 150000}  # USD 1000 - 1000 = 0
    foreign: dict[str, dict[str, int]] = defaultdict(dict)
    rows = (
        JournalEntryLine.objects.filter(
            company=fx_books, entry__state="posted", entry__date__lte=dt.date(2026, 12, 30)
        )
        .exclude(currency="EUR")
        .select_related("account")
    )
    for line in rows:
        per = foreign[line.account.code]
        per[line.currency_id] = per.get(line.currency_id, 0) + line.amount_currency
    for code, per in foreign.items():
        for currency, amount in per.items():
            assert natural.get(code, {}).get(currency, 0) == amount, (code, currency)


def test_hledger_export_of_a_range_balances_on_its_own(
    fx_books: Any, hledger: str, tmp_path: Path
) -> None:
    date_from, date_to = dt.date(2026, 3, 1), dt.date(2026, 6, 30)
    journal = tmp_path / "spring.journal"
    journal.write_text(
        export_text(fx_books, "hledger", date_from=date_from, date_to=date_to), encoding="utf-8"
    )
    run_hledger(hledger, journal, "check", "-s", "ordereddates")
    movement, _closing = ours(fx_books, date_from, date_to)
    assert hledger_balances(hledger, journal, "--cost") == movement


def test_hledger_text(fx_books: Any) -> None:
    text = export_text(fx_books, "hledger")
    assert "decimal-mark .\n" in text
    assert "commodity 1000.00 EUR\ncommodity 1000. JPY\ncommodity 1000.00 USD\n" in text
    assert "account Assets  ; type: A\n" in text and "account Income  ; type: R\n" in text
    assert "account Assets:5720 Bank current account  ; type: C\n" in text
    assert "account Assets:5721 Bank USD Wells branch  ; type: C\n" in text
    assert "account Assets:4300 Customers euros\n" in text
    first = JournalEntry.objects.filter(company=fx_books, state="posted").order_by("chain_seq")[0]
    assert (
        f'2026-01-05 * ({first.number}) CAP/1 | Capital "founders", paid \\ in full\n'
        "    ; journal: GEN\n"
        "    Assets:5720 Bank current account  10000.00 EUR\n"
        "    Equity:1000 Share capital  -10000.00 EUR\n"
    ) in text
    assert (
        "    Assets:4300 Customers euros  1210.00 EUR  ; partner: López S.L., due: 2026-03-12\n"
    ) in text
    assert "    ; Goods, 10 units\n" in text
    assert (
        "    Assets:4300 Customers euros  1000.00 USD @@ 920.00 EUR  ; partner: Acme Inc.\n" in text
    )
    assert "    Income:7000 Sales of goods for resale  -150000 JPY @@ 900.00 EUR\n" in text
    assert "    Assets:5721 Bank USD Wells branch  15.00 EUR\n" in text  # zero USD: EUR only
    assert (
        "    Assets:5721 Bank USD Wells branch  -10.00 USD @@ 0.00 EUR\n"
        "    Assets:5721 Bank USD Wells branch  5.00 EUR\n"
    ) in text
    fee = JournalEntry.objects.get(company=fx_books, description="Fee")
    assert f"    ; journal: GEN, reverses: {fee.number}\n" in text
    assert "999.00" not in text  # the draft
    dates = re.findall(r"^(\d{4}-\d{2}-\d{2}) \*", text, re.M)
    assert dates == sorted(dates) and len(dates) == 13


# --- beancount ------------------------------------------------------------------------------

BEAN_ACCOUNT = re.compile(r"^(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+$")
BEAN_POSTING = re.compile(
    r"^  (?P<account>\S+)  (?P<units>-?\d+(?:\.\d+)?) (?P<cur>[A-Z]{3})"
    r"(?: @@ (?P<cost>\d+(?:\.\d+)?) (?P<cost_cur>[A-Z]{3}))?$"
)
BEAN_TXN = re.compile(r'^(\d{4}-\d{2}-\d{2}) \* "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$')


def parse_beancount(text: str) -> dict[str, Any]:
    """Directives and transactions of our beancount export (a strict reading of its syntax)."""
    opens: dict[str, dt.date] = {}
    commodities: set[str] = set()
    options: dict[str, str] = {}
    transactions: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"line {number}: {line!r}"
        if not line or line.startswith(";"):
            continue
        if line.startswith("option "):
            key, value = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
            options[key] = value
        elif match := re.match(r"^(\d{4}-\d{2}-\d{2}) open (\S+)$", line):
            assert BEAN_ACCOUNT.match(match[2]), where
            assert match[2] not in opens, where
            opens[match[2]] = dt.date.fromisoformat(match[1])
        elif match := re.match(r"^(\d{4}-\d{2}-\d{2}) commodity ([A-Z]{3})$", line):
            commodities.add(match[2])
        elif match := BEAN_TXN.match(line):
            transactions.append(
                {"date": dt.date.fromisoformat(match[1]), "payee": match[2], "postings": []}
            )
        elif match := BEAN_POSTING.match(line):
            transactions[-1]["postings"].append(match.groupdict())
        else:
            assert re.match(r'^ {2,4}[a-z][a-z_]*: ("(?:[^"\\]|\\.)*"|\d{4}-\d{2}-\d{2})$', line), (
                where
            )
    return {
        "opens": opens,
        "commodities": commodities,
        "options": options,
        "transactions": transactions,
    }


def test_beancount_structure(fx_books: Any) -> None:
    text = export_text(fx_books, "beancount")
    parsed = parse_beancount(text)
    assert parsed["options"]["operating_currency"] == "EUR"
    assert parsed["commodities"] == {"EUR", "USD", "JPY"}
    transactions = parsed["transactions"]
    assert len(transactions) == 13
    dates = [t["date"] for t in transactions]
    assert dates == sorted(dates)
    used: set[str] = set()
    per_account: dict[str, Decimal] = defaultdict(Decimal)
    for txn in transactions:
        weights: dict[str, Decimal] = defaultdict(Decimal)
        for posting in txn["postings"]:
            account = posting["account"]
            used.add(account)
            assert account in parsed["opens"] and parsed["opens"][account] <= txn["date"]
            assert posting["cur"] in parsed["commodities"]
            units = Decimal(posting["units"])
            if posting["cost"] is not None:
                assert posting["cost_cur"] == "EUR"
                weight = Decimal(posting["cost"]).copy_sign(units)
                weights["EUR"] += weight if units else Decimal(posting["cost"])
                per_account[account] += weight
            else:
                weights[posting["cur"]] += units
                if posting["cur"] == "EUR":
                    per_account[account] += units
        assert all(v == 0 for v in weights.values()), txn  # balanced per currency, exactly
    assert used == set(parsed["opens"])  # an open directive for every account used, no more
    # The weights per account are our closing balances (everything closed, then 2027).
    _movement, closing = ours(fx_books, dt.date(2026, 1, 1), dt.date(2027, 12, 31))
    by_code = {name.split(":")[1].split("-")[0]: value for name, value in per_account.items()}
    assert {k: v for k, v in by_code.items() if v} == {
        k: Money(v["EUR"], "EUR").to_decimal() for k, v in closing.items()
    }
    assert '"CAP|1 | Capital \\"founders\\"; paid \\\\ in full"' in text
    assert "  Assets:5721-BankUSDWellsBranch  1000 USD @@ 930.00 EUR\n" not in text
    assert "  Assets:5721-BankUSDWellsBranch  1000.00 USD @@ 930.00 EUR\n" in text
    assert "  Income:7000-SalesOfGoodsForResale  -150000 JPY @@ 900.00 EUR\n" in text
    assert '    partner: "López, S.L."\n    due_date: 2026-03-12\n' in text


def test_beancount_account_names() -> None:
    def account(code: str, name: str, kind: str = "asset") -> Account:
        return Account(pk=7, code=code, name_en=name, type=kind)

    assert plaintext.beancount_account_name(account("01.01.001", "Soci c/versamenti")) == (
        "Assets:01-01-001-SociCVersamenti"
    )
    assert plaintext.beancount_account_name(account("x9", "crédito año", "expense")) == (
        "Expenses:X9-CreditoAno"
    )
    assert plaintext.beancount_account_name(account("-", "ü", "income")) == "Income:U"
    assert plaintext.beancount_account_name(account("", "", "liability")) == "Liabilities:A7"
    assert plaintext.hledger_account_name(account("572", "Banca (c/c); «euro»  x", "asset")) == (
        "Assets:572 Banca c/c euro x"
    )


def test_amount_text_is_exact() -> None:
    assert plaintext.amount_text(0, 2) == "0.00"
    assert plaintext.amount_text(5, 2) == "0.05"
    assert plaintext.amount_text(-5, 3) == "-0.005"
    assert plaintext.amount_text(123456, 0) == "123456"
    assert plaintext.amount_text(10**30 + 1, 2) == "10000000000000000000000000000.01"
    with pytest.raises(TypeError):
        plaintext.amount_text(1.5, 2)  # type: ignore[arg-type]


# --- CSV ------------------------------------------------------------------------------------


def test_csv_export(fx_books: Any) -> None:
    text = export_text(fx_books, "csv", date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 4, 1))
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert list(rows[0]) == list(plaintext.CSV_COLUMNS) == list(imports.COLUMNS)
    numbers = dict(
        JournalEntry.objects.filter(company=fx_books, state="posted").values_list("date", "number")
    )
    assert [(r["external_id"], r["date"], r["account"]) for r in rows] == [
        (numbers[dt.date(2026, 2, 10)], "2026-02-10", CUSTOMERS),
        (numbers[dt.date(2026, 2, 10)], "2026-02-10", SALES),
        (numbers[dt.date(2026, 2, 10)], "2026-02-10", VAT),
        (numbers[dt.date(2026, 3, 3)], "2026-03-03", CUSTOMERS),
        (numbers[dt.date(2026, 3, 3)], "2026-03-03", SALES),
        (numbers[dt.date(2026, 3, 20)], "2026-03-20", USD_BANK),
        (numbers[dt.date(2026, 3, 20)], "2026-03-20", CUSTOMERS),
        (numbers[dt.date(2026, 3, 20)], "2026-03-20", GAINS),
        (numbers[dt.date(2026, 4, 1)], "2026-04-01", CUSTOMERS),
        (numbers[dt.date(2026, 4, 1)], "2026-04-01", SALES),
    ]
    sale = rows[0]
    assert sale["description"] == "'=SUM(A1) sale on credit"  # neutralised for spreadsheets
    assert (sale["journal"], sale["partner"], sale["due_date"]) == (
        "GEN",
        "López, S.L.",
        "2026-03-12",
    )
    assert (sale["debit"], sale["credit"], sale["currency"], sale["amount_currency"]) == (
        "1210.00",
        "",
        "",
        "",
    )
    assert rows[1]["line_description"] == "Goods; 10 units"
    assert (rows[6]["currency"], rows[6]["amount_currency"], rows[6]["credit"]) == (
        "USD",
        "-1000.00",
        "920.00",
    )
    assert rows[9]["amount_currency"] == "-150000" and rows[9]["currency"] == "JPY"
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[row["account"]] += (
            Money.from_decimal(Decimal(row["debit"] or "0"), "EUR").minor
            - Money.from_decimal(Decimal(row["credit"] or "0"), "EUR").minor
        )
    movement, _closing = ours(fx_books, dt.date(2026, 2, 1), dt.date(2026, 4, 1))
    assert {k: {"EUR": v} for k, v in totals.items() if v} == movement


def test_csv_export_imports_into_another_company(fx_books: Any, make_company: Any) -> None:
    """Export → entries import into a fresh company: the same books, account by account."""
    twin = make_company("TWIN")
    for name, year in (("2026", 2026), ("2027", 2027)):
        services.fiscal_year_create(
            company=twin,
            name=name,
            start_date=dt.date(year, 1, 1),
            end_date=dt.date(year, 12, 31),
        )
    source = Account.objects.get(company=fx_books, code=USD_BANK)
    services.account_create(
        company=twin,
        code=USD_BANK,
        parent=Account.objects.get(company=twin, code="572"),
        name_en=source.name_en,
        type="asset",
        subtype="bank",
    )
    content = export_text(fx_books, "csv").encode("utf-8")
    result = imports.entries_import(company=twin, content=content, filename="books.csv")
    assert (result.posted, result.skipped) == (13, 0)
    again = imports.entries_import(company=twin, content=content, filename="books.csv")
    assert (again.posted, again.skipped) == (0, 13)  # the numbers are the external ids
    for date_from, date_to in (
        (dt.date(2026, 1, 1), dt.date(2026, 12, 30)),
        (dt.date(2026, 2, 1), dt.date(2026, 6, 30)),
        (dt.date(2026, 1, 1), dt.date(2027, 12, 31)),
    ):
        assert ours(twin, date_from, date_to) == ours(fx_books, date_from, date_to)
    assert services.ledger_verify(company=twin).ok


def test_empty_books_export(books: Any) -> None:
    assert export_text(books, "csv") == "\ufeff" + ",".join(plaintext.CSV_COLUMNS) + "\r\n"
    assert "commodity" not in export_text(books, "hledger")
    assert " open " not in export_text(books, "beancount")


# --- CLI, web, API --------------------------------------------------------------------------


def test_cli_export(fx_books: Any, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "ledger", "export", "--company", "acme", "--format", "hledger", "--to", "2026-03-31",
        stdout=out,
    )  # fmt: skip
    assert out.getvalue() == export_text(fx_books, "hledger", date_to=dt.date(2026, 3, 31))
    target = tmp_path / "books.beancount"
    err = io.StringIO()
    call_command(
        "ledger", "export", "--company", "ACME", "--format", "beancount", "--output",
        str(target), stderr=err,
    )  # fmt: skip
    assert target.read_text(encoding="utf-8") == export_text(fx_books, "beancount")
    lines = JournalEntryLine.objects.filter(company=fx_books, entry__state="posted").count()
    assert f"13 entries, {lines} lines written to {target}" in err.getvalue()
    audit = AuditEntry.objects.filter(action="export", object_type="ledger.books").latest("pk")
    assert audit.object_repr == "books-ACME-all.beancount"
    assert audit.extra["format"] == "beancount" and audit.extra["entries"] == 13
    for bad in (
        ["--company", "NOPE", "--format", "csv"],
        ["--company", "ACME", "--format", "csv", "--from", "2026-13-01"],
        ["--company", "ACME", "--format", "csv", "--from", "2026-05-01", "--to", "2026-04-01"],
    ):
        with pytest.raises(CommandError):
            call_command("ledger", "export", *bad)


def test_web_download_from_the_journal_book(
    fx_books: Any, accountant: Any, login: Any, make_user: Any
) -> None:
    client = login(accountant)
    page = client.get(f"/c/{fx_books.code}/ledger/reports/journal-book/?date_from=2026-03-01")
    html = page.content.decode()
    action = f'action="/c/{fx_books.code}/ledger/reports/books-export/"'
    assert action in html and 'name="format"' in html and 'value="beancount"' in html
    assert '<input type="hidden" name="date_from" value="2026-03-01">' in html
    before = AuditEntry.objects.filter(action="export").count()
    url = f"/c/{fx_books.code}/ledger/reports/books-export/"
    response = client.get(url + "?format=hledger&date_from=2026-03-01&date_to=2026-03-31")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="books-ACME-2026-03-01-2026-03-31.journal"'
    )
    body = b"".join(response.streaming_content).decode()
    assert body == export_text(
        fx_books, "hledger", date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31)
    )
    csv_body = client.get(url + "?format=csv")
    assert csv_body["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(csv_body.streaming_content).decode() == export_text(fx_books, "csv")
    assert AuditEntry.objects.filter(action="export").count() == before + 2
    entry = AuditEntry.objects.filter(action="export").latest("pk")
    lines = JournalEntryLine.objects.filter(company=fx_books, entry__state="posted").count()
    assert entry.object_type == "ledger.books" and entry.extra["rows"] == lines
    bad = (
        "format=ods",
        "date_from=2026-13-01",
        "format=csv&date_from=2026-05-01&date_to=2026-04-01",
    )
    for query in bad:
        assert client.get(f"{url}?{query}").status_code == 400, query
    assert AuditEntry.objects.filter(action="export").count() == before + 2
    default = client.get(url)  # no format: hledger
    assert default.status_code == 200 and default["Content-Disposition"].endswith('.journal"')
    warehouse = login(make_user("almacen", company=fx_books, role="warehouse"))
    assert warehouse.get(url + "?format=csv").status_code == 403
    journal_book = warehouse.get(f"/c/{fx_books.code}/ledger/reports/journal-book/")
    assert journal_book.status_code == 403


def test_api_export(fx_books: Any, accountant: Any, login: Any, make_user: Any) -> None:
    client = login(accountant)
    headers = {"HTTP_X_COMPANY": fx_books.code}
    response = client.get("/api/v1/ledger/export/?format=beancount", **headers)
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content).decode()
    assert body == export_text(fx_books, "beancount")
    bad = client.get("/api/v1/ledger/export/?format=xml", **headers)
    assert bad.status_code == 400 and "format" in bad.json()["error"]["fields"]
    assert bad["Content-Type"] == "application/json"
    dates = client.get("/api/v1/ledger/export/?format=csv&date_from=2026-99-01", **headers)
    assert dates.status_code == 400
    other = login(make_user("almacen2", company=fx_books, role="warehouse"))
    assert other.get("/api/v1/ledger/export/?format=csv", **headers).status_code == 403
    assert Journal.objects.filter(company=fx_books).exists()

"""The Norma 43 reader: a real bank sample read to the cent, files built record by record for
the rest (several accounts, other currencies, text encodings) and every kind of broken record
refused with its line. No database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from schwifty import IBAN

from trastienda.banking.formats.base import StatementFormatError
from trastienda.banking.formats.norma43 import read_norma43, spanish_iban

DATA = Path(__file__).parent / "data" / "norma43"


# -- records built to the specification (AEB Cuaderno 43, annex 1) ----------------------------


def rec11(
    *,
    bank: str = "2100",
    branch: str = "0418",
    account: str = "0200051332",
    start: str = "240101",
    end: str = "240131",
    key: str = "2",
    balance: int = 100000,  # cents
    currency: str = "978",
    name: str = "EMPRESA DE PRUEBAS SL",
) -> str:
    return f"11{bank}{branch}{account}{start}{end}{key}{balance:014d}{currency}3{name:<26.26}   "


def rec22(
    *,
    day: str = "240105",
    value: str | None = None,
    common: str = "02",
    own: str = "123",
    key: str = "2",
    amount: int = 0,
    document: str = "0000000000",
    ref1: str = "000000000000",
    ref2: str = "",
) -> str:
    return (
        f"22    0418{day}{value or day}{common}{own}{key}{amount:014d}{document}{ref1}{ref2:<16.16}"
    )


def rec23(sequence: int, text: str) -> str:
    return f"23{sequence:02d}{text:<76.76}"


def rec33(
    *,
    bank: str = "2100",
    branch: str = "0418",
    account: str = "0200051332",
    debits: tuple[int, int] = (0, 0),
    credits: tuple[int, int] = (0, 0),
    key: str = "2",
    balance: int = 100000,
    currency: str = "978",
) -> str:
    return (
        f"33{bank}{branch}{account}{debits[0]:05d}{debits[1]:014d}{credits[0]:05d}"
        f"{credits[1]:014d}{key}{balance:014d}{currency}    "
    )


def rec88(count: int) -> str:
    return f"88{'9' * 18}{count:06d}{' ' * 54}"


def n43(*records: str, encoding: str = "latin-1", newline: str = "\r\n") -> bytes:
    for record in records:
        assert len(record) == 80, (len(record), record)
    return (newline.join(records) + newline).encode(encoding)


def one_account(*movements: str, **closing: object) -> list[str]:
    """11, the movements, 33 (totals given by the caller) and 88."""
    body = [rec11(), *movements, rec33(**closing)]  # type: ignore[arg-type]
    return [*body, rec88(len(body))]


# -- the real sample -----------------------------------------------------------------------


def test_sample_statement_header_balances_and_account():
    (statement,) = read_norma43((DATA / "movements.n43").read_bytes())

    assert statement.format == "norma43"
    assert statement.currency == "EUR"
    assert statement.account_number == "111122223333444412"
    # CCC 1111 2222 03 3333444412: control digits 0 (over 00 1111 2222) and 3 (over the number)
    assert statement.account_iban == "ES4811112222033333444412"
    assert statement.statement_id == ""
    assert statement.start_date == dt.date(2020, 2, 3)
    assert statement.end_date == dt.date(2020, 2, 10)
    assert statement.opening_balance == Decimal("2463.43")
    assert statement.closing_balance == Decimal("2301.59")
    assert len(statement.lines) == 16
    assert statement.movements_total() == Decimal("-161.84")  # 500.00 - 661.84
    assert statement.balance_difference() == Decimal("0.00")


def test_sample_movements_read_exactly():
    (statement,) = read_norma43((DATA / "movements.n43").read_bytes())
    first, insurance = statement.lines[0], statement.lines[1]

    assert first.booking_date == dt.date(2020, 2, 3)
    assert first.value_date == dt.date(2020, 2, 4)
    assert first.amount == Decimal("-23.99")
    assert str(first.amount) == "-23.99"
    assert first.transaction_code == "12-408"
    assert first.reference == "1234567890123456"  # reference 1 is all zeros: left out
    # The 23 record's two 38-character halves run on: read as one text.
    assert first.description == "COMPRA TARG 1234XXXXXXXX3456 SHOP TO BUY SEVERAL THINGS IN THERE."
    assert first.bank_reference == first.counterparty_name == first.counterparty_iban == ""
    assert first.line == 2

    assert insurance.amount == Decimal("-70.29")
    assert insurance.transaction_code == "03-204"
    assert insurance.reference == "AHSOWMSOWI87 65SJWISU76WU"
    assert insurance.description == "INSURANCE COMPANY ABC DEF GHI JKL MNO PQRS TUVWXYZ"
    assert insurance.line == 4

    garage = statement.lines[4]
    assert garage.amount == Decimal("-1.00")  # 100 cents keeps its two decimals
    assert str(garage.amount) == "-1.00"

    payroll = statement.lines[7]
    assert payroll.booking_date == payroll.value_date == dt.date(2020, 2, 5)
    assert payroll.amount == Decimal("500.00")
    assert payroll.transaction_code == "15-030"
    assert payroll.reference == ""  # zeros and blanks only
    assert payroll.description == "PAYROLL"
    assert payroll.line == 16

    last = statement.lines[-1]
    assert (last.booking_date, last.value_date) == (dt.date(2020, 2, 10), dt.date(2020, 2, 13))
    assert last.amount == Decimal("-6.44")
    assert last.line == 32


def test_spanish_iban_of_a_real_account():
    # CaixaBank's published example: CCC 2100 0418 45 0200051332.
    assert spanish_iban("2100", "0418", "0200051332") == "ES9121000418450200051332"
    # A control digit of 11 is written 0 (first digit here), of 10 written 1 (second one).
    assert spanish_iban("0049", "1500", "0000000001") == "ES4400491500050000000001"
    assert spanish_iban("0049", "1500", "0000000002") == "ES7100491500010000000002"
    # schwifty computes the same control digits on its own.
    for account in ("0000000001", "0000000002", "0000000015", "3333444412"):
        generated = IBAN.generate("ES", bank_code="00491500", account_code=account)
        assert spanish_iban("0049", "1500", account) == generated.compact
    assert spanish_iban("2100", "0418", "02000513") == ""
    assert spanish_iban("21A0", "0418", "0200051332") == ""


# -- files built here ----------------------------------------------------------------------


def test_two_accounts_two_statements_with_their_own_currency_and_sign():
    data = n43(
        rec11(balance=150000),
        rec22(common="04", own="001", key="1", amount=12050, ref2="FRA-2024-0007"),
        rec23(1, "TRANSFERENCIA A PROVEEDOR"),
        rec23(2, "FACTURA 2024/0007"),
        rec22(day="240110", value="240111", amount=50000, document="0000001234"),
        rec33(debits=(1, 12050), credits=(1, 50000), balance=187950),
        rec11(
            bank="0049",
            branch="1500",
            account="0000000001",
            key="1",
            balance=2500,
            currency="840",
            start="240201",
            end="240229",
        ),
        rec22(day="240215", common="17", own="010", key="1", amount=1000),
        rec33(
            bank="0049",
            branch="1500",
            account="0000000001",
            debits=(1, 1000),
            key="1",
            balance=3500,
            currency="840",
        ),
        rec88(9),
    )

    euros, dollars = read_norma43(data)

    assert euros.account_iban == "ES9121000418450200051332"
    assert euros.account_number == "210004180200051332"
    assert (euros.opening_balance, euros.closing_balance) == (
        Decimal("1500.00"),
        Decimal("1879.50"),
    )
    transfer, income = euros.lines
    assert transfer.amount == Decimal("-120.50")
    assert transfer.transaction_code == "04-001"
    assert transfer.reference == "FRA-2024-0007"
    assert transfer.description == "TRANSFERENCIA A PROVEEDOR FACTURA 2024/0007"
    assert transfer.line == 2
    assert income.amount == Decimal("500.00")
    assert income.reference == "0000001234"  # the document number
    assert (income.booking_date, income.value_date) == (dt.date(2024, 1, 10), dt.date(2024, 1, 11))
    assert income.line == 5
    assert euros.balance_difference() == Decimal("0.00")

    assert dollars.currency == "USD"
    assert dollars.account_iban == "ES4400491500050000000001"
    assert (dollars.start_date, dollars.end_date) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert dollars.opening_balance == Decimal("-25.00")  # key 1: the account owes the bank
    assert dollars.closing_balance == Decimal("-35.00")
    assert [line.amount for line in dollars.lines] == [Decimal("-10.00")]
    assert dollars.lines[0].line == 8


def test_latin1_cp1252_and_utf8_text():
    records = one_account(
        rec22(amount=1000),
        rec23(1, "PEÑA ÁLVAREZ, JOSÉ"),
        credits=(1, 1000),
        balance=101000,
    )
    for encoding in ("latin-1", "cp1252", "utf-8"):
        (statement,) = read_norma43(n43(*records, encoding=encoding))
        assert statement.lines[0].description == "PEÑA ÁLVAREZ, JOSÉ", encoding


def test_records_without_line_breaks_and_short_records():
    records = one_account(rec22(amount=1000), credits=(1, 1000), balance=101000)
    (joined,) = read_norma43("".join(records).encode("latin-1"))
    assert joined.lines[0].amount == Decimal("10.00")
    assert joined.lines[0].line == 2  # the second record

    trimmed = "\n".join(record.rstrip() for record in records).encode("latin-1")
    (statement,) = read_norma43(trimmed)
    assert statement.closing_balance == Decimal("1010.00")


def test_statement_that_does_not_add_up_is_read_for_the_import_to_flag():
    # Totals of record 33 agree with the movements, the closing balance does not.
    data = n43(*one_account(rec22(amount=1000), credits=(1, 1000), balance=999999))
    (statement,) = read_norma43(data)
    assert statement.balance_difference() == Decimal("-8989.99")


def test_end_of_file_record_is_optional():
    data = n43(rec11(), rec33())
    (statement,) = read_norma43(data)
    assert statement.lines == []
    assert statement.opening_balance == statement.closing_balance == Decimal("1000.00")


def test_zero_debit_counts_as_a_debit():
    data = n43(*one_account(rec22(key="1", amount=0), debits=(1, 0)))
    (statement,) = read_norma43(data)
    assert statement.lines[0].amount == Decimal("0.00")
    assert not statement.lines[0].amount.is_signed()


# -- refused, with the line ----------------------------------------------------------------


def refused(data: bytes) -> StatementFormatError:
    with pytest.raises(StatementFormatError) as caught:
        read_norma43(data)
    return caught.value


def test_closing_record_debit_count_disagrees():
    error = refused(n43(*one_account(rec22(key="1", amount=500), debits=(2, 500))))
    assert error.line == 3
    assert "2 debit movements totalling 5.00" in error.message
    assert "1 totalling 5.00" in error.message


def test_closing_record_credit_total_disagrees():
    error = refused(
        n43(*one_account(rec22(amount=500), rec22(amount=700), credits=(2, 1300), balance=101300))
    )
    assert error.line == 4
    assert "2 credit movements totalling 13.00" in error.message
    assert "2 totalling 12.00" in error.message
    assert str(error).startswith("line 4: ")


@pytest.mark.parametrize(
    ("records", "line", "words"),
    [
        pytest.param(
            [rec11(), rec22(day="241305", amount=1), rec33(credits=(1, 1))],
            2,
            "the booking date '241305' (positions 11 to 16) is not a date YYMMDD",
            id="month-13",
        ),
        pytest.param(
            [rec11(), rec22(day="240230", amount=1), rec33(credits=(1, 1))],
            2,
            "the booking date '240230' (positions 11 to 16) is not a date YYMMDD",
            id="february-30",
        ),
        pytest.param(
            [rec11(), rec22(amount=1)[:30] + "12X4" + rec22(amount=1)[34:], rec33()],
            2,
            "invalid amount '0012X400000001' (positions 29 to 42)",
            id="letters-in-amount",
        ),
        pytest.param(
            [rec11(), rec22(key="3", amount=1), rec33()],
            2,
            "invalid debit/credit key (1 or 2) '3' (positions 28 to 28)",
            id="key-3",
        ),
        pytest.param([rec11(), "99" + " " * 78, rec33()], 2, "unknown record type", id="code-99"),
        pytest.param([rec22(amount=1), rec33()], 1, "outside an account", id="22-first"),
        pytest.param([rec11(), rec23(1, "X"), rec33()], 2, "must follow a movement", id="23-alone"),
        pytest.param(
            [rec11(), rec22(amount=1), *[rec23(i, "X") for i in range(1, 7)], rec33()],
            8,
            "at most 5",
            id="six-23",
        ),
        pytest.param(
            [rec11(), rec22(amount=1), rec23(7, "X"), rec33()],
            3,
            "invalid complementary record number (01 to 05) '07' (positions 3 to 4)",
            id="23-sequence-7",
        ),
        pytest.param(
            [rec11(), rec33()[:25] + "0000000000000X" + rec33()[39:]],
            2,
            "invalid total of debits '0000000000000X' (positions 26 to 39)",
            id="closing-total",
        ),
        pytest.param(
            [rec11(), rec22(amount=1), "2402" + " " * 76, rec33()], 3, "2401", id="24-not-01"
        ),
        pytest.param([rec11(), rec11(), rec33()], 2, "no closing record", id="11-twice"),
        pytest.param([rec11(), rec22(amount=1)], 1, "file ends before", id="no-33"),
        pytest.param(
            [rec11(), rec33(), rec88(5)], 3, "counts 5 records, the file has 2", id="88-count"
        ),
        pytest.param([rec11(), rec33(), "88" + "1" * 78], 3, "eighteen nines", id="88-nines"),
        pytest.param(
            [rec11(), rec33(), rec88(2), rec11()], 4, "after the end-of-file", id="after-88"
        ),
        pytest.param(
            [rec11(currency="000"), rec33(currency="000")], 1, "unknown currency", id="currency"
        ),
        pytest.param(
            [rec11(), rec33(currency="840")],
            2,
            "in USD, the account header in EUR",
            id="closing-currency",
        ),
        pytest.param([rec11(), rec33(account="0200051333")], 2, "for account", id="closing-acct"),
    ],
)
def test_broken_files_name_the_line(records, line, words):
    error = refused(n43(*records))
    assert error.line == line
    assert words in error.message


def test_record_longer_than_80_characters():
    data = (rec11() + "\r\n" + rec22(amount=1) + "EXTRA\r\n" + rec33()).encode("latin-1")
    error = refused(data)
    assert error.line == 2
    assert "85 characters" in error.message


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"   \n"])
def test_empty_file(data):
    error = refused(data)
    assert error.line is None
    assert "no Norma 43 account" in error.message


def test_stream_without_breaks_of_wrong_length():
    error = refused((rec11() + rec33() + "X").encode("latin-1"))
    assert "multiple of 80" in error.message

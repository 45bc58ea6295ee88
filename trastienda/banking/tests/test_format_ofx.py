"""The OFX reader: ofxparse's sample files (``data/ofx/``, see its SOURCES.md), read value by
value, and every broken or unsupported one refused with a message. The credit-card statement
is written here: the samples hold none.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trastienda.banking.formats.base import ParsedLine, StatementFormatError
from trastienda.banking.formats.ofx import read_ofx
from trastienda.banking.tests.builders import DATA

OFX = DATA / "ofx"
D = dt.date
HEADER_V1 = (
    b"OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\n"
    b"CHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n"
)
SIGNON = (
    b"<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
    b"<DTSERVER>20240201<LANGUAGE>SPA</SONRS></SIGNONMSGSRSV1>"
)
CREDIT_CARD = (
    HEADER_V1
    + b"<OFX>"
    + SIGNON
    + b"""
<CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<CCSTMTRS><CURDEF>EUR<CCACCTFROM><ACCTID>4111111111111111</CCACCTFROM>
<BANKTRANLIST><DTSTART>20240101<DTEND>20240131235959
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240101003000.000[+1:CET]<TRNAMT>-12.50<FITID>CC-1
<NAME>Caf&amp; Sol<MEMO>Card 1111 &lt;contactless&gt;
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240110<DTAVAIL>20240111<TRNAMT>100,00<FITID>CC-2
<PAYEE><NAME>Shop refund<ADDR1>Calle 1<CITY>Madrid<STATE>M<POSTALCODE>28001<PHONE>1</PAYEE>
<REFNUM>R-9</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>-412.50<DTASOF>20240131</LEDGERBAL>
</CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1></OFX>
"""
)


def read(name: str) -> bytes:
    return (OFX / name).read_bytes()


def error_of(data: bytes) -> StatementFormatError:
    with pytest.raises(StatementFormatError) as caught:
        read_ofx(data)
    return caught.value


# -- statements read -------------------------------------------------------------------------


def test_bank_statement_ofx1() -> None:
    [statement] = read_ofx(read("bank_medium.ofx"))

    assert statement.format == "ofx"
    assert statement.currency == "CAD"
    assert statement.account_iban == ""
    assert statement.account_number == "12300 000012345678"  # as written: not an IBAN
    assert (statement.start_date, statement.end_date) == (D(2009, 4, 1), D(2009, 5, 23))
    assert statement.opening_balance is None  # OFX has none
    assert statement.closing_balance == Decimal("382.34")  # LEDGERBAL, not AVAILBAL 682.34
    assert statement.lines == [
        ParsedLine(
            booking_date=D(2009, 4, 1),  # 20090401122017.000[-5:EST]
            amount=Decimal("-6.60"),
            description="POS MERCHANDISE;MCDONALD'S #112",
            bank_reference="0000123456782009040100001",
            counterparty_name="MCDONALD'S #112",
            transaction_code="POS",
        ),
        ParsedLine(
            booking_date=D(2009, 4, 2),
            amount=Decimal("-316.67"),
            description="MISCELLANEOUS PAYMENTS;Joe's Bald Hairstyles",
            reference="0",  # CHECKNUM, as written
            bank_reference="0000123456782009040200004",
            counterparty_name="Joe's Bald Hairstyles",
            transaction_code="CHECK",
        ),
        ParsedLine(
            booking_date=D(2009, 4, 3),
            amount=Decimal("-22.00"),
            description="POS MERCHANDISE;CONNIE'S HAIR D",
            bank_reference="0000123456782009040300005",
            counterparty_name="CONNIE'S HAIR D",
            transaction_code="POS",
        ),
    ]
    assert statement.movements_total() == Decimal("-345.27")


def test_bank_statement_beyond_the_specification_lengths() -> None:
    # BANKID has 10 digits (the specification allows 9): ofxtools' typed models refuse the
    # file, the reader does not need them.
    [statement] = read_ofx(read("checking.ofx"))

    assert statement.currency == "USD"
    assert statement.account_number == "1452687~7"
    assert (statement.start_date, statement.end_date) == (D(2000, 1, 1), D(2013, 5, 25))
    assert statement.closing_balance == Decimal("100.99")
    assert [line.amount for line in statement.lines] == [
        Decimal("0.01"),
        Decimal("-34.51"),
        Decimal("-25.00"),
    ]
    assert statement.lines[2] == ParsedLine(
        booking_date=D(2011, 4, 7),
        amount=Decimal("-25.00"),
        description="RETURNED CHECK FEE, CHECK # 319 FOR $45.33 ON 04/07/11",
        reference="319",
        bank_reference="0000488",
        counterparty_name="RETURNED CHECK FEE, CHECK # 319",
        transaction_code="CHECK",
    )


def test_ofx2_xml_two_accounts() -> None:
    first, second = read_ofx(read("multiple_accounts2.ofx"))

    assert (first.account_number, first.currency, first.closing_balance) == (
        "9100",
        "USD",
        Decimal("111"),
    )
    assert (second.account_number, second.closing_balance) == ("9200", Decimal("222"))
    assert first.lines == second.lines == []
    assert (first.start_date, first.end_date) == (None, None)  # no BANKTRANLIST


def test_credit_card_statement() -> None:
    [statement] = read_ofx(CREDIT_CARD)

    assert statement.format == "ofx"
    assert statement.currency == "EUR"
    assert (statement.account_iban, statement.account_number) == ("", "4111111111111111")
    assert (statement.start_date, statement.end_date) == (D(2024, 1, 1), D(2024, 1, 31))
    assert statement.closing_balance == Decimal("-412.50")
    assert statement.lines == [
        ParsedLine(
            # 00:30 CET is 23:30 UTC the day before: the date stays the bank's.
            booking_date=D(2024, 1, 1),
            amount=Decimal("-12.50"),
            description="Card 1111 <contactless>",
            bank_reference="CC-1",
            counterparty_name="Caf& Sol",
            transaction_code="DEBIT",
        ),
        ParsedLine(
            booking_date=D(2024, 1, 10),
            amount=Decimal("100.00"),  # a decimal comma
            value_date=D(2024, 1, 11),
            reference="R-9",
            bank_reference="CC-2",
            counterparty_name="Shop refund",  # <PAYEE><NAME>
            transaction_code="CREDIT",
        ),
    ]


def test_iban_account_id_is_the_iban() -> None:
    data = read("checking.ofx").replace(b"1452687~7", b"es91 2100 0418 4502 0005 1332")

    [statement] = read_ofx(data)

    assert (statement.account_iban, statement.account_number) == ("ES9121000418450200051332", "")


def test_file_without_header() -> None:
    data = read("bank_medium.ofx")
    body = data[data.index(b"<OFX>") :]

    [statement] = read_ofx(body)

    assert [line.amount for line in statement.lines] == [
        Decimal("-6.60"),
        Decimal("-316.67"),
        Decimal("-22.00"),
    ]


def test_body_in_another_character_set_than_the_header_says() -> None:
    data = CREDIT_CARD.replace(b"CHARSET:1252", b"CHARSET:NONE").replace(b"Sol", b"Sol \xe9")

    [statement] = read_ofx(data)  # not UTF-8 as CHARSET:NONE says: read as Windows-1252

    assert statement.lines[0].counterparty_name == "Caf& Sol é"


def test_missing_end_tag_of_a_transaction() -> None:
    # The first STMTTRN is never closed: the next STMTTRN closes it, not nests in it.
    data = CREDIT_CARD.replace(b"<REFNUM>R-9</STMTTRN>", b"<REFNUM>R-9")

    [statement] = read_ofx(data)

    assert [line.bank_reference for line in statement.lines] == ["CC-1", "CC-2"]
    assert statement.closing_balance == Decimal("-412.50")


def test_investment_statements_beside_a_bank_statement_are_skipped() -> None:
    investment = read("investment_medium.ofx")
    bank = read("bank_medium.ofx")
    bank_messages = bank[bank.index(b"<BANKMSGSRSV1>") : bank.index(b"</OFX>")]
    data = investment.replace(b"</OFX>", bank_messages + b"</OFX>")

    [statement] = read_ofx(data)

    assert (statement.currency, len(statement.lines)) == ("CAD", 3)
    assert statement.account_number == "12300 000012345678"


# -- refusals --------------------------------------------------------------------------------


def test_transaction_without_posting_date() -> None:
    error = error_of(read("fail_nice/date_missing.ofx"))

    assert error.message == "transaction 1 (FITID 184997056) has no posting date (DTPOSTED)"


def test_empty_ledger_balance() -> None:
    error = error_of(read("fail_nice/empty_balance.ofx"))

    assert error.message == "statement 1: the ledger balance (LEDGERBAL) has no amount"


def test_invalid_posting_date() -> None:
    data = CREDIT_CARD.replace(b"<DTPOSTED>20240110", b"<DTPOSTED>20240231")

    error = error_of(data)

    assert error.message == "transaction 2 (FITID CC-2): invalid date '20240231'"


def test_invalid_amount() -> None:
    error = error_of(CREDIT_CARD.replace(b"<TRNAMT>-12.50", b"<TRNAMT>1,234.50"))

    assert error.message == "transaction 1 (FITID CC-1): invalid amount '1,234.50'"


def test_transaction_in_another_currency() -> None:
    data = CREDIT_CARD.replace(
        b"<FITID>CC-1", b"<FITID>CC-1<CURRENCY><CURRATE>1.1<CURSYM>USD</CURRENCY>"
    )

    error = error_of(data)

    assert error.message == "transaction 1 (FITID CC-1) is in USD, the statement in EUR"


def test_sign_on_refused_by_the_bank() -> None:
    error = error_of(read("signon_fail.ofx"))

    assert error.message == (
        "the bank refused the sign-on: Your request could not be processed because you "
        "supplied an invalid identification code or your password was incorrect (code 15500)"
    )


def test_statement_refused_by_the_bank() -> None:
    data = CREDIT_CARD.replace(
        b"<TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>",
        b"<TRNUID>1<STATUS><CODE>2003<SEVERITY>ERROR<MESSAGE>Account not found</STATUS>",
    )

    error = error_of(data)

    assert error.message == "the bank refused the statement: Account not found (code 2003)"


@pytest.mark.parametrize(
    "name", ["signon_success_no_message.ofx", "account_listing_aggregation.ofx"]
)
def test_file_without_statement(name: str) -> None:
    assert error_of(read(name)).message == "the file holds no bank or credit card statement"


@pytest.mark.parametrize("name", ["investment_medium.ofx", "vanguard.ofx"])
def test_investment_statements_only(name: str) -> None:
    error = error_of(read(name))

    assert error.message == "the file holds only investment statements, which cannot be imported"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"Date;Amount\n2024-01-01;1.00\n", "not an OFX file: it has no <OFX> element"),
        (
            HEADER_V1 + b"<OFX></STMTRS></OFX>",
            "the OFX file cannot be read: </STMTRS> closes no open element",
        ),
        (
            HEADER_V1 + b"<OFX><CODE>0</CODE> stray text <X>1</OFX>",
            "the OFX file cannot be read: text 'stray text' outside any element",
        ),
    ],
)
def test_unreadable_files(data: bytes, message: str) -> None:
    assert error_of(data).message == message

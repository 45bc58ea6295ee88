"""The MT940 reader against real files of several banks, checked movement by movement with the
``mt940`` library's own expected parse (the ``.yml`` beside each file), and small statements
written here for what the samples do not show. No database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from trastienda.banking.formats.base import StatementFormatError
from trastienda.banking.formats.mt940 import read_mt940

DATA = Path(__file__).parent / "data" / "mt940"


# -- the library's expected parse, read safely ---------------------------------------------


class _ExpectedLoader(yaml.SafeLoader):
    """Reads the ``.yml`` dumps of mt940 objects as plain dicts: Decimal and Date values are
    rebuilt from their data, nothing of the library is imported or called."""


def _object(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    data: dict[Any, Any] = {}
    yield data
    if isinstance(node, yaml.MappingNode):
        data.update(loader.construct_mapping(node, deep=True))


def _apply(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    args = loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode) else []
    if suffix == "decimal.Decimal":
        return Decimal(args[0])
    if suffix == "mt940.models.Date":  # pickled date: year (2 bytes), month, day
        raw = args[0]
        return dt.date(raw[0] * 256 + raw[1], raw[2], raw[3])
    return None  # compiled patterns, date-times: not needed


_ExpectedLoader.add_multi_constructor("tag:yaml.org,2002:python/object:", _object)
_ExpectedLoader.add_multi_constructor("tag:yaml.org,2002:python/object/apply:", _apply)
_ExpectedLoader.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda *args: None)


def expected_transactions(name: str) -> list[dict[str, Any]]:
    with (DATA / f"{name}.yml").open("rb") as handle:
        dump = yaml.load(handle, Loader=_ExpectedLoader)  # noqa: S506 - a SafeLoader subclass
    return [transaction["data"] for transaction in dump.get("transactions") or []]


def read(name: str):
    return read_mt940((DATA / f"{name}.sta").read_bytes())


# -- every movement as the library's own test expects it -----------------------------------

SAMPLES = [
    "betterplace/sepa_mt9401",
    "cmxl/mt940",
    "jejik/generic",
    "jejik/knab",
    "jejik/rabobank-iban",
    "jejik/sns",
    "mBank/mt940",
    "mBank/with_newline_in_tnr",
    "self-provided/details_60-63",
    "self-provided/february_30",
    "self-provided/transaction_details_wrapped",
    "self-provided/wrapped_timestamp",
]


@pytest.mark.parametrize("name", SAMPLES)
def test_amounts_and_dates_match_the_library_expectations(name):
    lines = [line for statement in read(name) for line in statement.lines]
    expected = expected_transactions(name)

    assert len(lines) == len(expected)
    for line, data in zip(lines, expected, strict=True):
        amount = data["amount"]["amount"]
        if data["status"].upper() == "RC":
            # The .yml keeps the library's old default (a reversed credit stays positive);
            # the reader switches its fix on: money leaving the account is negative.
            amount = -amount
        assert line.amount == amount
        assert line.value_date == data["date"]
        assert line.booking_date == (data.get("entry_date") or data["date"])
        assert line.transaction_code == (data.get("id") or "")


# -- statement by statement ----------------------------------------------------------------


def test_german_sepa_file_every_statement_adds_up():
    statements = read("betterplace/sepa_mt9401")

    assert len(statements) == 26
    assert sum(len(statement.lines) for statement in statements) == 97
    assert {statement.currency for statement in statements} == {"EUR"}
    assert all(statement.balance_difference() == 0 for statement in statements)

    first = statements[0]
    assert first.format == "mt940"
    assert first.account_number == "50880050/0194774600888"  # bank code / account: no IBAN
    assert first.account_iban == ""
    assert first.statement_id == "T089413946000001/00004/00001"
    assert (first.start_date, first.end_date) == (dt.date(2007, 9, 3), dt.date(2007, 9, 4))
    assert first.opening_balance == Decimal("-1234718.36")
    assert first.closing_balance == Decimal("-1237628.23")
    reversal = first.lines[5]  # :61:0709040904RCR204,88NRTINONREF
    assert reversal.amount == Decimal("-204.88")
    assert reversal.transaction_code == "NRTI"
    assert reversal.line == 19


def test_german_structured_details_give_counterparty_and_reference():
    statement = read("betterplace/sepa_mt9401")[1]
    credit = statement.lines[0]

    assert credit.amount == Decimal("15000.05")
    assert credit.counterparty_name == "Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx"
    assert credit.counterparty_iban == "DE42100100100043921105"
    assert credit.reference == "EndToEndIdTFNR2000400001"  # EREF+ before the :61: NONREF
    assert credit.bank_reference == "0724710290621954"
    assert credit.description.startswith("GUTSCHRIFT TO 13 TFNr 20004 Eingangskanal Mint")
    assert credit.transaction_code == "NTRF"

    details = read("self-provided/details_60-63")[0].lines[0]
    assert details.counterparty_name == "Finanzamt Muenchen Abteilung Erhebung"
    assert details.counterparty_iban == ""  # ?31 DE99700500000000012345 fails the checksum
    assert details.reference == "123/123/12345-----L110"
    assert details.description == "Basislastschrift"


def test_german_counterparty_account_that_is_no_iban_is_left_out():
    statement = read("cmxl/mt940")[1]
    standing_order = statement.lines[0]

    assert statement.account_number == "10020030/1234567"
    assert statement.statement_id == "1234567/5/1"
    assert standing_order.counterparty_name == "MUELLER"
    assert standing_order.counterparty_iban == ""  # ?31 holds 234567, an account number
    assert standing_order.description == "DAUERAUFTRAG Miete November"
    assert standing_order.booking_date == dt.date(2002, 11, 2)
    assert standing_order.value_date == dt.date(2002, 11, 1)


def test_rabobank_slash_structured_details():
    first, second = read("jejik/rabobank-iban")

    # Its IBAN fails the checksum (made-up test data): kept as the account number.
    assert first.account_iban == ""
    assert first.account_number == "NL71RABO0123456789"
    assert first.statement_id == second.statement_id == "940S130101/0"
    assert (first.opening_balance, first.closing_balance) == (Decimal("1000.00"), Decimal("965.00"))
    assert (second.opening_balance, second.closing_balance) == (
        Decimal("965.00"),
        Decimal("930.00"),
    )

    payment, transfer = first.lines
    assert payment.amount == Decimal("-25.00")
    assert payment.counterparty_name == "CONTRA ACCOUNT HOLDER"  # wrapped inside a word
    assert payment.reference == "01-01-2013 12:00 0030000987654321"
    assert payment.transaction_code == "N102"
    assert payment.line == 6
    assert transfer.counterparty_name == "JOHN DOE"
    assert transfer.description == "Reference 201301234 P001234567"
    assert transfer.reference == ""  # NONREF
    assert transfer.line == 10
    assert second.lines[0].line == 18


def test_polish_mbank_iban_account_and_control_characters():
    (statement,) = read("mBank/mt940")

    assert statement.account_iban == "PL29114010810000267002001002"
    assert statement.account_number == ""
    assert statement.currency == "PLN"
    assert statement.statement_id == "ST170119CYC/1/1/1"
    assert [line.amount for line in statement.lines] == [Decimal("0.01")] * 3
    assert statement.balance_difference() == Decimal("0.00")
    assert statement.lines[0].bank_reference == "MB170119012058"
    assert statement.lines[0].description.startswith(
        "911 TRANSAKCJA COLLECT; ID IPH: XX000000000001; Z RACH.: 56114010810000267002001001;"
    )
    assert statement.lines[0].description.endswith("911-TRANSAKCJA IPH")


def test_dutch_unstructured_details_joined_with_spaces():
    first, second = read("jejik/knab")

    assert first.lines[0].description == (
        "HIER EEN MOOIE OMSCHRIJVING IN HOOFDLETTERS "
        "WANT DAT IS ZOALS DE NEDERLANDSE BANKEN COMMUNICEREN"
    )
    assert first.opening_balance == Decimal("0")
    assert second.lines[1].reference == "29-07-2014 10:05"
    assert second.lines[1].bank_reference == "B4G29PGDCK1QFV3E"


def test_entry_date_differs_from_value_date_and_empty_statement():
    first, second = read("jejik/sns")

    line = first.lines[0]
    assert line.value_date == dt.date(2012, 6, 7)
    assert line.booking_date == dt.date(2012, 6, 8)
    assert line.description == "0987654321 marechal s dit is een test"
    assert second.lines == []
    assert second.opening_balance == second.closing_balance == Decimal("1209.56")


def test_statement_numbers_without_sequence():
    first, second = read("jejik/generic")
    assert (first.statement_id, second.statement_id) == ("GENERIC/1", "GENERIC/2")
    assert first.account_number == "11111111"


# -- written here --------------------------------------------------------------------------

ING_LIKE = """\
:20:P140220000000001
:25:{account}
:28C:00000
:60F:C140219EUR662,23
:61:1402200220C1,56NTRFEREF//00000000001005
/TRCD/00100/
:86:/EREF/EV12341REP1231456T1234//CNTP/NL32INGB0000012345/INGBNL2A/IN
G BANK NV INZAKE WEB///REMI/USTD//EV10001REP1000000T1000/
:61:1402200220D1,57NTRFPREF//00000000001006
:86:/PREF/M000000003333333//REMI/USTD//TOTAAL 1 VZ/
:61:1402200220RD0,10NCHGNONREF
:86:/TRTP/SEPA OVERBOEKING/IBAN/NL91ABNA0417164300/BIC/ABNANL2A/NAME/J.
 JANSSEN/REMI/Terugboeking kosten/EREF/NOTPROVIDED
:62F:C140220EUR662,32
"""


@pytest.mark.parametrize(
    "account",
    [
        "NL91ABNA0417164300",
        "ABNANL2A/NL91ABNA0417164300",
        "NL91ABNA0417164300 EUR",
        "NL91 ABNA 0417 1643 00",
    ],
)
def test_iban_extracted_from_the_account_field(account):
    (statement,) = read_mt940(ING_LIKE.format(account=account).encode())
    assert statement.account_iban == "NL91ABNA0417164300"
    assert statement.account_number == ""


def test_ing_and_abn_structured_details():
    (statement,) = read_mt940(ING_LIKE.format(account="NL91ABNA0417164300").encode())
    credit, debit, reversal = statement.lines

    assert credit.amount == Decimal("1.56")
    assert credit.counterparty_iban == "NL32INGB0000012345"
    assert credit.counterparty_name == "ING BANK NV INZAKE WEB"
    assert credit.reference == "EV12341REP1231456T1234"
    assert credit.description == "EV10001REP1000000T1000"
    assert credit.bank_reference == "00000000001005"
    assert credit.line == 5

    assert debit.amount == Decimal("-1.57")
    assert debit.description == "TOTAAL 1 VZ"
    assert debit.reference == "PREF"  # the :61: customer reference

    assert reversal.amount == Decimal("0.10")  # RD: a reversed debit comes back in
    assert reversal.counterparty_iban == "NL91ABNA0417164300"
    assert reversal.counterparty_name == "J. JANSSEN"
    assert reversal.reference == ""  # NOTPROVIDED
    assert reversal.description == "Terugboeking kosten"
    assert statement.balance_difference() == Decimal("0.00")


def test_latin1_file_and_bom():
    text = ":20:REF\n:25:12345678/987\n:28C:1/1\n:60F:C240101EUR10,00\n"
    text += ":61:2401020102D2,50NMSCNONREF\n:86:Gebühr für Überweisung\n:62F:C240102EUR7,50\n"
    for data in (text.encode("latin-1"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        (statement,) = read_mt940(data)
        assert statement.lines[0].description == "Gebühr für Überweisung"
        assert statement.lines[0].amount == Decimal("-2.50")
        assert statement.closing_balance == Decimal("7.50")


def test_statement_without_balances_has_none():
    data = b":20:X\n:25:123\n:28C:1\n:60F:C240101EUR0,\n:62F:C240101EUR0,\n"
    (statement,) = read_mt940(data)
    assert statement.lines == []
    assert statement.opening_balance == Decimal("0")

    intermediate = b":20:X\n:25:123\n:28C:1/2\n:60M:C240101EUR5,\n:62M:D240101EUR5,\n"
    (statement,) = read_mt940(intermediate)
    assert (statement.opening_balance, statement.closing_balance) == (Decimal(5), Decimal(-5))
    assert statement.statement_id == "X/1/2"


# -- refused -------------------------------------------------------------------------------


def refused(data: bytes) -> StatementFormatError:
    with pytest.raises(StatementFormatError) as caught:
        read_mt940(data)
    return caught.value


def test_file_without_statement():
    error = refused((DATA / "self-provided/invalid_statement.sta").read_bytes())
    assert error.line is None
    assert "no MT940 statement" in error.message
    assert "no MT940 statement" in refused(b"").message


def test_balance_without_currency_names_its_line():
    error = refused((DATA / "self-provided/raphaelm.sta").read_bytes())
    assert error.line == 27  # :62M:C020315105000,00 (no currency: "105" is read as one)
    assert "'105'" in error.message


def test_unreadable_statement_line_names_its_line():
    data = (
        b":20:X\n:25:123\n:28C:1\n:60F:C240101EUR1,00\n:61:24XX01C1,00NTRF\n:62F:C240101EUR2,00\n"
    )
    error = refused(data)
    assert error.line == 5
    assert ":61:" in error.message


def test_statement_without_currency():
    error = refused(b":20:X\n:25:123\n:28C:1\n")
    assert error.line == 1
    assert "no balance" in error.message


def test_second_statement_errors_name_the_file_line():
    good = (DATA / "jejik/generic.sta").read_bytes()
    data = good + b"\n:20:BAD\n:25:1\n:28C:3\n:60F:C240101EUR1,00\n:61:2401320101C1,00NTRF\n"
    error = refused(data)
    assert error.line == 17

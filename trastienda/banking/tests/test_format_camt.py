"""The ISO 20022 camt reader: real samples (``data/camt/``, see its SOURCES.md) read value by
value, built statements for the big and multi-statement cases, and the refusals.

Expected values were read from the XML by hand; the line numbers are those of the ``<Ntry>``
start tags.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trastienda.banking.formats.base import ParsedLine, StatementFormatError
from trastienda.banking.formats.camt import read_camt
from trastienda.banking.tests.builders import (
    DATA,
    MAIN_IBAN,
    OTHER_IBAN,
    CamtStatement,
    Entry,
    camt053,
)

CAMT = DATA / "camt"
D = dt.date
POSTFINANCE_053 = "camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml"
POSTFINANCE_054 = "200519_camt054-ESR-ASR_P_CH2909000000250094239_1110092704_0_2019042500372179.xml"
LITHUANIAN_053 = "statement_1.xml"


def read(name: str) -> bytes:
    return (CAMT / name).read_bytes()


def error_of(data: bytes) -> StatementFormatError:
    with pytest.raises(StatementFormatError) as caught:
        read_camt(data)
    return caught.value


# -- camt.053, several versions --------------------------------------------------------------


def test_camt053_v2_statement_and_entry() -> None:
    [statement] = read_camt(read("camt053.v2.minimal.xml"))

    assert statement.format == "camt.053"
    assert statement.currency == "EUR"
    assert statement.account_iban == "NL26VAYB8060476890"
    assert statement.account_number == ""
    assert statement.statement_id == "253EURNL26VAYB8060476890"
    assert (statement.start_date, statement.end_date) == (D(2007, 10, 18), D(2007, 10, 18))
    assert statement.opening_balance == Decimal("18.15")
    # The sample's CLBD is in SEK on a EUR account: not comparable, so not taken.
    assert statement.closing_balance is None
    assert statement.lines == [
        ParsedLine(
            booking_date=D(2014, 12, 31),
            amount=Decimal("8.85"),
            value_date=D(2015, 1, 2),
            description="4654654654654654",
            reference="4654654654654654",  # no EndToEndId: the structured creditor reference
            bank_reference="",
            counterparty_name="NAME NAME",  # a credit: the debtor
            counterparty_iban="NL56AGDH9619008421",
            transaction_code="544",  # proprietary code
            line=90,
        )
    ]


def test_camt053_v2_all_balance_types_takes_opbd_and_clbd() -> None:
    [statement] = read_camt(read("camt053.v2.all-balance-types.xml"))

    # OPBD 1.01, PRCD 2.02, OPAV 3.03, CLBD 4.04, CLAV 5.05, FWAV, INFO, ITAV, ITBD, XPCD...
    assert statement.opening_balance == Decimal("1.01")
    assert statement.closing_balance == Decimal("4.04")
    # Trimmed sample: it does not add up, and the reader does not mind.
    assert statement.balance_difference() == Decimal("5.820")


def test_camt053_v2_prcd_is_the_opening_balance_without_opbd() -> None:
    data = read("camt053.v2.all-balance-types.xml").replace(b">OPBD<", b">OPXX<")

    [statement] = read_camt(data)

    assert statement.opening_balance == Decimal("2.02")


def test_camt053_v3_domain_transaction_code_and_bank_reference() -> None:
    [statement] = read_camt(read("camt053.v3.xml"))

    [line] = statement.lines
    assert line.transaction_code == "PMNT-RCDT-DMCT"
    assert line.bank_reference == "XXXXXXXXXXXXXXXXXXXXXXEUR"
    assert line.counterparty_name == "NAME NAME"
    assert line.line == 110


def test_camt053_v4_account_without_iban() -> None:
    [statement] = read_camt(read("camt053.v4.xml"))

    assert statement.format == "camt.053"
    assert statement.account_iban == ""
    assert statement.account_number == "NL26VAYB8060476890"  # <Othr><Id>
    assert statement.currency == "EUR"  # no <Acct><Ccy>: the entries' currency
    assert statement.opening_balance == Decimal("18.15")
    [line] = statement.lines
    assert line.amount == Decimal("8.85")
    assert line.bank_reference == "AAAASESS-FP-CN_98765/01"
    assert line.transaction_code == "PAYM-0001-0005"
    assert line.counterparty_iban == "NL56AGDH9619008421"


def test_camt053_v8_party_in_pty_and_booking_date_time() -> None:
    [statement] = read_camt(read("camt053.v8.xml"))

    assert statement.account_number == "NL26VAYB8060476890"
    assert statement.currency == "EUR"
    assert statement.lines == [
        ParsedLine(
            booking_date=D(2014, 12, 31),  # <DtTm>2014-12-31T13:15:00+01:00</DtTm>
            amount=Decimal("8.85"),
            value_date=D(2015, 1, 2),
            description="4654654654654654",
            reference="MUELL/FINP/RA12345",  # the EndToEndId wins over the structured ref
            bank_reference="AAAASESS-FP-CN_98765/01",
            counterparty_name="NAME NAME",  # <Dbtr><Pty><Nm>
            counterparty_iban="NL56AGDH9619008421",
            transaction_code="PMNT-RCDT-BOOK",
            line=110,
        )
    ]


def test_postfinance_camt053_v4() -> None:
    [statement] = read_camt(read(POSTFINANCE_053))

    assert statement.account_iban == "CH2909000000250094239"
    assert statement.currency == "CHF"
    assert statement.statement_id == "20201124375204229003973"
    assert statement.opening_balance == Decimal("211993.19")
    assert statement.closing_balance == Decimal("215112.21")
    assert [line.amount for line in statement.lines] == [
        Decimal("4.50"),
        Decimal("-77.70"),
        Decimal("1500.00"),
        Decimal("1537.00"),
        Decimal("1692.22"),
    ]
    assert [line.line for line in statement.lines] == [77, 110, 142, 174, 207]
    first = statement.lines[0]
    assert first.bank_reference == "0758103031480900"
    assert first.transaction_code == "PMNT-IDDT-PMDD"
    assert first.description == (
        "GUTSCHRIFT CH-DD-BASISLASTSCHRIFT ID-NR. DES ZAHLUNGSEMPFÄNGERS: 41100000000872849 "
        "REFERENZ-NR: PmtInfId-CHDD-1"
    )
    assert statement.lines[3].value_date == D(2020, 11, 25)
    # The sample is trimmed (the FWAV balance gives it away): the import service will say so.
    assert statement.balance_difference() == Decimal("1537.00")


def test_lithuanian_camt053_debits_name_the_creditor() -> None:
    [statement] = read_camt(read(LITHUANIAN_053))

    assert statement.account_iban == "LT007180000000000000"
    assert statement.currency == "EUR"
    assert (statement.start_date, statement.end_date) == (D(2015, 5, 1), D(2015, 6, 30))
    # Only available balances (OPAV, CLAV): no booked opening or closing balance.
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    assert [line.amount for line in statement.lines] == [
        Decimal("-1.64"),
        Decimal("-2734.58"),
        Decimal("-30.16"),
        Decimal("-1.7"),
    ]
    third = statement.lines[2]
    assert third == ParsedLine(
        booking_date=D(2015, 5, 20),
        amount=Decimal("-30.16"),
        value_date=D(2015, 5, 20),
        description="Dalinis nurašymas pagal inkasinį pavedimą",
        reference="",  # EndToEndId NOTPROVIDED
        bank_reference="",
        counterparty_name="Antstolis Vardenis Pavardenis",  # a debit: the creditor
        counterparty_iban="LT007044000000000000",
        transaction_code="PMNT-ICDT-DMCT",
        line=229,
    )
    assert statement.lines[0].counterparty_name == 'UAB "TESTAVIMAS"'


# -- camt.054 and camt.052 -------------------------------------------------------------------


def test_camt054_v8_batch_booking_is_one_line() -> None:
    [statement] = read_camt(read("camt054.v8.xml"))

    assert statement.format == "camt.054"
    assert statement.account_iban == "CH2801234000123456789"
    assert statement.currency == "SEK"  # no <Acct><Ccy>: the entry's (its TxDtls are in CHF)
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    [line] = statement.lines  # three TxDtls, one booked amount
    assert line.amount == Decimal("-200000")
    assert line.booking_date == D(2007, 10, 18)
    assert line.bank_reference == "ACSR160617103200001"
    assert line.transaction_code == "PMNT-ICDT-DMCT"  # the domain code wins over Prtry Z24
    # The distinct end-to-end ids of the batch, in order.
    assert line.reference == "UXC06170000006PI00001EE00001 UXC06170000006PI00001EE00002"
    # Three creditors: the line names none.
    assert (line.counterparty_name, line.counterparty_iban) == ("", "")
    assert line.description == (
        "Unstructured Remittance Information V1 ISR ref number V1 "
        "Additional Remittance Information V1 ISR ref number V2 "
        "Additional Remittance Information V2 Unstructured Remittance Information V3 block 1 "
        "Unstructured Remittance Information V3 block 2 Ref number V3 block 1 "
        "Additional Remittance Information V3 block 1 Ref number V3 block 2 "
        "Additional Remittance Information V3 block 2 Order"  # AddtlNtryInf last
    )


def test_camt054_v2() -> None:
    [statement] = read_camt(read("camt054.v2.xml"))

    assert statement.format == "camt.054"
    [line] = statement.lines
    assert (line.amount, line.line) == (Decimal("-200000"), 58)


def test_postfinance_camt054_batch_of_one_debtor_names_it() -> None:
    [statement] = read_camt(read(POSTFINANCE_054))

    assert statement.format == "camt.054"
    assert statement.account_iban == "CH2909000000250094239"
    assert statement.currency == "CHF"
    credit, debit = statement.lines
    # Five ESR payments (250 + 200 + 300 + 324 + 463) booked as one amount.
    assert credit.amount == Decimal("1537.00")
    assert credit.counterparty_name == "Bernasconi Maria"  # the same debtor in all five
    assert credit.counterparty_iban == "CH5109000000250092291"
    assert credit.bank_reference == "07582000303KBMSU"
    assert credit.reference.split()[:3] == [
        "EndToEndId-001-02-02",
        "EndToEndId-001-02-01",
        "EndToEndId-001-02-03",
    ]
    assert credit.description.endswith("PAKET ID: 180316CH00000UR0")
    assert (debit.amount, debit.line) == (Decimal("-147.00"), 401)


def test_camt052_v1_version_suffixed_message_element() -> None:
    [statement] = read_camt(read("camt052.v1.xml"))

    assert statement.format == "camt.052"
    assert statement.account_number == "CH2801234000123456789"  # <PrtryAcct><Id>, version 1
    assert statement.currency == "SEK"
    [line] = statement.lines
    assert line.booking_date == D(2007, 10, 18)  # <DtTm>
    assert line.description == "Credit"  # AddtlNtryInf only
    assert line.transaction_code == "PAYM-0001-0003"


def test_camt052_pending_entry_is_left_out() -> None:
    [statement] = read_camt(read("camt052.v4.xml"))

    assert statement.format == "camt.052"
    assert statement.lines == []  # its only entry is PDNG
    assert statement.currency == "SEK"  # still told by the pending entry


# -- amounts and dates exactly as written ----------------------------------------------------


def test_five_decimals_are_kept() -> None:
    [statement] = read_camt(read("camt53.only-Dt-with-DtTm.xml"))

    assert statement.currency == "RON"  # neither account currency nor entries: the balance's
    assert isinstance(statement.opening_balance, Decimal)
    assert str(statement.opening_balance) == "5442.09000"
    assert statement.lines == []
    assert (statement.start_date, statement.end_date) == (None, None)


def test_three_decimals_are_kept() -> None:
    [statement] = read_camt(read("camt053.v2.five.decimals.xml"))

    assert str(statement.opening_balance) == "18.150"
    assert str(statement.closing_balance) == "27.050"
    [line] = statement.lines
    assert str(line.amount) == "8.850"
    assert line.reference == "000000001"
    # No FrToDt: the period is that of the bookings.
    assert (statement.start_date, statement.end_date) == (D(2014, 12, 31), D(2014, 12, 31))


def test_debit_balance_is_negative() -> None:
    data = read("camt053.v2.five.decimals.xml").replace(
        b'<Amt Ccy="EUR">27.050</Amt>\n                <CdtDbtInd>CRDT',
        b'<Amt Ccy="EUR">27.050</Amt>\n                <CdtDbtInd>DBIT',
    )

    [statement] = read_camt(data)

    assert statement.closing_balance == Decimal("-27.050")


# -- built statements ------------------------------------------------------------------------


def test_multi_statement_file() -> None:
    data = camt053(
        CamtStatement(
            iban=MAIN_IBAN,
            statement_id="S-1",
            entries=[Entry(D(2026, 3, 2), "10.00", "first", "E2E-1", "BR-1", "Uno S.L.")],
        ),
        CamtStatement(
            iban=OTHER_IBAN,
            statement_id="S-2",
            currency="USD",
            opening="50.00",
            entries=[
                Entry(D(2026, 3, 3), "-20.00", "second", "", "BR-2", "Dos Inc.", MAIN_IBAN),
                Entry(D(2026, 3, 4), "5.25", "third"),
            ],
        ),
    )

    first, second = read_camt(data)

    assert (first.statement_id, first.account_iban, first.currency) == ("S-1", MAIN_IBAN, "EUR")
    assert (first.opening_balance, first.closing_balance) == (
        Decimal("1000.00"),
        Decimal("1010.00"),
    )
    assert [(line.amount, line.reference, line.counterparty_name) for line in first.lines] == [
        (Decimal("10.00"), "E2E-1", "Uno S.L.")
    ]
    assert (second.statement_id, second.account_iban, second.currency) == ("S-2", OTHER_IBAN, "USD")
    assert [line.amount for line in second.lines] == [Decimal("-20.00"), Decimal("5.25")]
    assert second.lines[0].counterparty_iban == MAIN_IBAN
    assert second.lines[0].reference == ""  # NOTPROVIDED
    assert second.balance_difference() == Decimal(0)


def test_two_thousand_entries() -> None:
    entries = [
        Entry(
            D(2026, 3, 1) + dt.timedelta(days=i % 31),
            f"{'-' if i % 3 == 0 else ''}{i % 997 + 1}.{i % 100:02d}",
            f"Invoice F-{i:05d}",
            f"E2E-{i:05d}",
            f"BR-{i:05d}",
        )
        for i in range(2000)
    ]
    total = sum((Decimal(entry.amount) for entry in entries), Decimal(0))

    [statement] = read_camt(camt053(CamtStatement(iban=MAIN_IBAN, entries=entries)))

    assert len(statement.lines) == 2000
    assert statement.movements_total() == total
    assert statement.closing_balance == Decimal("1000.00") + total
    assert statement.balance_difference() == Decimal(0)
    assert sum(1 for line in statement.lines if line.amount < 0) == 667
    assert statement.lines[1999].reference == "E2E-01999"
    assert statement.lines[1999].bank_reference == "BR-01999"
    assert statement.lines[1999].description == "Invoice F-01999"
    assert [line.booking_date for line in statement.lines[:2]] == [D(2026, 3, 1), D(2026, 3, 2)]


# -- refusals --------------------------------------------------------------------------------


def test_truncated_file_names_the_line() -> None:
    data = read("camt053.v4.xml")
    truncated = data[: data.index(b"<RmtInf>")]

    error = error_of(truncated)

    assert error.line == truncated.count(b"\n") + 1
    assert "not well-formed XML" in error.message


def test_not_camt_xml() -> None:
    data = (
        b'<?xml version="1.0"?>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:'
        b'xsd:Invoice-2"><ID>F-1</ID></Invoice>\n'
    )

    error = error_of(data)

    assert error.message == "not an ISO 20022 camt document"
    assert error.line is None


def test_camt_namespace_without_statement() -> None:
    error = error_of(
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        b"<BkToCstmrStmt><GrpHdr><MsgId>1</MsgId></GrpHdr></BkToCstmrStmt></Document>"
    )

    assert "holds no statement" in error.message


def test_empty_file() -> None:
    assert error_of(b"  \n").message == "the file is empty"


def test_entry_in_another_currency_is_refused_naming_it() -> None:
    data = read("camt053.v2.minimal.xml").replace(
        b'<Amt Ccy="EUR">8.85</Amt>', b'<Amt Ccy="USD">8.85</Amt>'
    )

    error = error_of(data)

    assert error.line == 90
    assert error.message == "the entry is in USD, the account in EUR"


def test_entry_without_booking_date_is_refused() -> None:
    error = error_of(read("camt054.v8-with-UETR.xml"))

    assert (error.line, error.message) == (16, "the entry has no booking date")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b">8.85<", b">8,85<", "invalid amount '8,85'"),
        (
            b"<CdtDbtInd>CRDT</CdtDbtInd>\n                <RvslInd>",
            b"<CdtDbtInd>X</CdtDbtInd><RvslInd>",
            "the credit/debit indicator 'X' is neither CRDT nor DBIT",
        ),
        (
            b"<Dt>2014-12-31</Dt>\n                </BookgDt>",
            b"<Dt>2014-02-30</Dt></BookgDt>",
            "invalid date '2014-02-30'",
        ),
    ],
)
def test_invalid_entry_values(old: bytes, new: bytes, message: str) -> None:
    data = read("camt053.v2.minimal.xml")
    assert old in data

    error = error_of(data.replace(old, new))

    assert (error.line, error.message) == (90, message)


def test_entities_are_not_expanded() -> None:
    data = (
        read("camt053.v2.five.decimals.xml")
        .replace(
            b"<Document",
            b'<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n<Document',
            1,
        )
        .replace(b"Transaction Description", b"Pay &secret;")
    )

    [statement] = read_camt(data)

    assert "root" not in statement.lines[0].description
    assert statement.lines[0].description.startswith("Pay")


@pytest.mark.parametrize(
    "name",
    sorted(
        path.name
        for path in CAMT.glob("*.xml")
        if path.name != "camt054.v8-with-UETR.xml"  # an entry without any date: refused
    ),
)
def test_every_sample_reads(name: str) -> None:
    statements = read_camt(read(name))

    assert statements
    for statement in statements:
        assert len(statement.currency) == 3
        assert statement.account_iban or statement.account_number

"""FIX 4.4 execution reports read into confirmations: a fill, a partial fill series, a trade
correct and a trade cancel; SOH, '|' and '^A' separators; framing checked (BeginString,
BodyLength, CheckSum) and every bad message named by line, message number and tag;
heartbeats and non-fill reports skipped; commissions per unit and in percent. No database.

Messages are built with simplefix's FixMessage, so their length and checksum are right unless
a test spoils them on purpose."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import simplefix

from trastienda.trading.formats import detect, read_confirmation_file
from trastienda.trading.formats.base import ConfirmationFormatError, ParsedConfirmation
from trastienda.trading.formats.fix import read_fix

SOH = b"\x01"

FILL = {
    49: "BROKERX",
    56: "TRASTIENDA",
    34: "12",
    52: "20240315-14:30:01.250",
    37: "BX-ORD-1",
    11: "T-2024-0001",
    17: "BX-EXE-1",
    150: "F",
    39: "2",
    1: "ACC-77",
    55: "SAN",
    48: "ES0113900J37",
    22: "4",
    54: "1",
    38: "100",
    32: "100",
    31: "4.2150",
    151: "0",
    14: "100",
    6: "4.2150",
    15: "EUR",
    75: "20240315",
    60: "20240315-14:30:00.123",
    64: "20240319",
    12: "5.50",
    13: "3",
}


def fix_message(fields: dict[int, str], msg_type: str = "8", begin: str = "FIX.4.4") -> bytes:
    """A well-formed message (right BodyLength and CheckSum), SOH-separated."""
    message = simplefix.FixMessage()
    message.append_pair(8, begin)
    message.append_pair(35, msg_type)
    for tag, value in fields.items():
        message.append_pair(tag, value)
    encoded: bytes = message.encode()
    return encoded


def report(**changes: str | None) -> dict[int, str]:
    """FILL with tags changed (``t32="50"``) or removed (``t12=None``)."""
    fields = dict(FILL)
    for key, value in changes.items():
        tag = int(key.removeprefix("t"))
        if value is None:
            fields.pop(tag, None)
        else:
            fields[tag] = value
    return fields


def lines(*messages: bytes, separator: bytes = SOH) -> bytes:
    return b"\n".join(message.replace(SOH, separator) for message in messages) + b"\n"


def heartbeat() -> bytes:
    return fix_message({49: "BROKERX", 56: "TRASTIENDA", 34: "11"}, msg_type="0")


def error_of(data: bytes) -> ConfirmationFormatError:
    with pytest.raises(ConfirmationFormatError) as caught:
        read_fix(data)
    return caught.value


def test_a_fill_is_read_with_every_field():
    (confirmation,) = read_fix(lines(fix_message(FILL)))

    assert confirmation == ParsedConfirmation(
        line=1,
        broker_ref="BX-EXE-1",
        trade_ref="T-2024-0001",
        trade_date=dt.date(2024, 3, 15),
        trade_time=dt.datetime(2024, 3, 15, 14, 30, 0, 123000, tzinfo=dt.UTC),
        instrument="ES0113900J37",
        instrument_id_type="ISIN",
        side="buy",
        quantity=Decimal("100"),
        price=Decimal("4.2150"),
        currency="EUR",
        account="ACC-77",
        settlement_date=dt.date(2024, 3, 19),
        fees=Decimal("5.50"),
        exec_type="F",
        broker="BROKERX",
    )
    assert str(confirmation.price) == "4.2150"  # exactly as written


def test_the_callers_broker_code_replaces_the_sender():
    (confirmation,) = read_fix(lines(fix_message(FILL)), broker="bx")

    assert confirmation.broker == "bx"


def test_partial_fills_give_one_confirmation_each_with_the_fill_quantity_and_price():
    data = lines(
        fix_message(report(t17="E1", t32="30", t31="10.00", t14="30", t6="10.00", t39="1")),
        fix_message(report(t17="E2", t32="50", t31="10.10", t14="80", t6="10.0625", t39="1")),
        fix_message(report(t17="E3", t32="20", t31="10.20", t14="100", t6="10.09", t39="2")),
    )

    confirmations = read_fix(data)

    assert [(c.line, c.broker_ref, c.quantity, c.price) for c in confirmations] == [
        (1, "E1", Decimal("30"), Decimal("10.00")),
        (2, "E2", Decimal("50"), Decimal("10.10")),
        (3, "E3", Decimal("20"), Decimal("10.20")),
    ]
    assert sum(c.quantity for c in confirmations) == Decimal("100")


def test_a_summary_report_without_last_qty_gives_the_cumulative_quantity_and_average_price():
    (confirmation,) = read_fix(lines(fix_message(report(t32=None, t31=None, t6="10.0625"))))

    assert (confirmation.quantity, confirmation.price) == (Decimal("100"), Decimal("10.0625"))


def test_trade_correct_and_cancel_are_returned_with_the_execution_they_replace():
    data = lines(
        fix_message(report(t17="E1")),
        fix_message(report(t17="E2", t150="G", t19="E1", t31="4.2100")),
        fix_message(report(t17="E3", t150="H", t19="E2")),
    )

    trade, correct, cancel = read_fix(data)

    assert (trade.exec_type, trade.exec_ref) == ("F", "")
    assert (correct.exec_type, correct.exec_ref, correct.price) == ("G", "E1", Decimal("4.2100"))
    assert (cancel.exec_type, cancel.exec_ref) == ("H", "E2")


def test_a_cancel_without_the_execution_it_cancels_is_an_error():
    error = error_of(lines(fix_message(report(t150="H"))))

    assert error.line == 1
    assert "tag 19 (ExecRefID)" in error.message
    assert "missing" in error.message


@pytest.mark.parametrize("separator", [SOH, b"|", b"^A"])
def test_soh_pipe_and_caret_a_separators(separator: bytes):
    data = lines(fix_message(report(t17="E1")), fix_message(report(t17="E2")), separator=separator)

    assert [c.broker_ref for c in read_fix(data)] == ["E1", "E2"]


def test_log_prefixes_crlf_and_blank_lines_are_accepted():
    message = fix_message(FILL).replace(SOH, b"|")
    data = b"\r\n20240315-14:30:01.251 : " + message + b"\r\n\r\n"

    (confirmation,) = read_fix(data)

    assert confirmation.line == 2


def test_a_line_without_a_trailing_separator():
    message = fix_message(FILL).replace(SOH, b"|").removesuffix(b"|")

    assert len(read_fix(message)) == 1


def test_heartbeats_and_other_message_types_are_skipped():
    data = lines(heartbeat(), fix_message(FILL), heartbeat())

    (confirmation,) = read_fix(data)

    assert confirmation.line == 2


@pytest.mark.parametrize("exec_type", ["0", "A", "8", "4", "5", "I"])
def test_execution_reports_that_are_not_fills_are_skipped(exec_type: str):
    data = lines(fix_message(report(t150=exec_type, t32=None, t31=None)), fix_message(FILL))

    assert [c.line for c in read_fix(data)] == [2]


def test_a_wrong_checksum_names_the_line_the_message_and_both_values():
    good = fix_message(FILL)
    expected = good[-4:-1].decode()
    wrong = f"{(int(expected) + 78) % 256:03}".encode()
    data = lines(heartbeat(), good[:-4] + wrong + SOH)

    error = error_of(data)

    assert error.line == 2
    assert error.message == (
        f"message 2, tag 10 (CheckSum): checksum {wrong.decode()} expected {expected}"
    )


def test_a_pipe_log_is_checked_as_the_soh_message_it_shows():
    """The checksum of a '|' log is that of the message sent with SOH: a log whose checksum
    was computed over the '|' bytes is refused."""
    pipes = fix_message(FILL).replace(SOH, b"|")
    body = pipes[: pipes.rindex(b"10=")]
    checksum = f"{sum(body) % 256:03}".encode()

    error = error_of(body + b"10=" + checksum + b"|\n")

    assert "checksum " + checksum.decode() + " expected" in error.message


def test_a_wrong_body_length():
    good = fix_message(FILL)
    body_length = good.split(SOH)[1]
    wrong = good.replace(body_length, b"9=" + str(int(body_length[2:]) + 1).encode(), 1)

    error = error_of(lines(wrong))

    assert error.line == 1
    assert "tag 9 (BodyLength)" in error.message
    assert f"body length {int(body_length[2:]) + 1}, expected {body_length[2:].decode()}" in (
        error.message
    )


def test_another_fix_version_is_refused():
    error = error_of(lines(fix_message(FILL, begin="FIX.4.2")))

    assert "tag 8 (BeginString)" in error.message
    assert "FIX.4.4" in error.message


@pytest.mark.parametrize(
    ("changes", "tag"),
    [
        ({"t17": None}, "tag 17 (ExecID)"),
        ({"t54": None}, "tag 54 (Side)"),
        ({"t55": None, "t48": None}, "tag 55 (Symbol)"),
        ({"t75": None, "t60": None}, "tag 75 (TradeDate)"),
        ({"t32": None, "t14": None}, "tag 32 (LastQty)"),
        ({"t11": None, "t37": None}, "tag 37 (OrderID)"),
    ],
)
def test_a_missing_required_tag_is_named(changes: dict[str, None], tag: str):
    error = error_of(lines(fix_message(report(**changes))))

    assert error.line == 1
    assert error.message.startswith(f"message 1, {tag}:")


@pytest.mark.parametrize(
    ("changes", "tag"),
    [
        ({"t32": "1O0"}, "tag 32 (LastQty)"),
        ({"t31": "4,215"}, "tag 31 (LastPx)"),
        ({"t12": "1e3"}, "tag 12 (Commission)"),
        ({"t75": "20240230"}, "tag 75 (TradeDate)"),
        ({"t60": "2024-03-15 14:30:00"}, "tag 60 (TransactTime)"),
        ({"t64": "20240314"}, "tag 64 (SettlDate)"),
        ({"t54": "9"}, "tag 54 (Side)"),
        ({"t48": "ES0113900J38"}, "tag 48 (SecurityID)"),
        ({"t32": "-5"}, "tag 32 (LastQty)"),
        ({"t13": "6"}, "tag 13 (CommType)"),
    ],
)
def test_a_bad_value_is_named_by_its_tag(changes: dict[str, str], tag: str):
    error = error_of(lines(fix_message(report(**changes))))

    assert error.message.startswith(f"message 1, {tag}:")


def test_every_bad_message_is_reported_not_only_the_first():
    data = lines(
        fix_message(report(t17=None)),
        fix_message(FILL),
        fix_message(report(t31="x")),
    )

    error = error_of(data)

    assert [(item.line, item.message.split(":")[0]) for item in error.errors] == [
        (1, "message 1, tag 17 (ExecID)"),
        (3, "message 3, tag 31 (LastPx)"),
    ]
    assert "(and 1 more errors)" in str(error)


def test_a_message_cut_before_its_checksum():
    cut = fix_message(FILL)
    cut = cut[: cut.rindex(b"10=")]

    error = error_of(lines(cut))

    assert "tag 10 (CheckSum)" in error.message


def test_a_line_that_is_not_fix():
    error = error_of(lines(fix_message(FILL)) + b"hello world\n")

    assert error.line == 2
    assert "not a FIX message" in error.message


@pytest.mark.parametrize(
    ("comm_type", "commission", "fees"),
    [
        ("3", "5.50", Decimal("5.50")),  # absolute
        ("1", "0.02", Decimal("2.00")),  # per unit: 0.02 x 100
        ("2", "0.0015", Decimal("0.63225")),  # percent as a fraction: 0.0015 x 100 x 4.2150
        (None, "7", Decimal("7")),  # no CommType: absolute
    ],
)
def test_commission_types(comm_type: str | None, commission: str, fees: Decimal):
    (confirmation,) = read_fix(lines(fix_message(report(t13=comm_type, t12=commission))))

    assert confirmation.fees == fees


def test_no_commission_is_zero_fees():
    (confirmation,) = read_fix(lines(fix_message(report(t12=None, t13=None))))

    assert confirmation.fees == Decimal(0)


def test_short_sale_symbol_and_optional_fields():
    fields = report(t54="5", t48=None, t22=None, t75=None, t64=None, t1=None, t15=None, t11=None)

    (confirmation,) = read_fix(lines(fix_message(fields)))

    assert confirmation.side == "sell"
    assert (confirmation.instrument, confirmation.instrument_id_type) == ("SAN", "SYMBOL")
    assert confirmation.trade_date == dt.date(2024, 3, 15)  # from TransactTime
    assert confirmation.settlement_date is None
    assert (confirmation.account, confirmation.currency) == ("", "")
    assert confirmation.trade_ref == "BX-ORD-1"  # OrderID when there is no ClOrdID


def test_detection_and_dispatch():
    data = lines(fix_message(FILL), separator=b"|")

    assert detect(data, "fills.log") == "fix"
    assert detect(lines(fix_message(FILL)), "fills.fix") == "fix"
    assert [c.broker_ref for c in read_confirmation_file(data, "fills.log")] == ["BX-EXE-1"]

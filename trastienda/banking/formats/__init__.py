"""Bank statement readers: bytes of a file in, :class:`~.base.ParsedStatement` values out.

:func:`detect_format` tells the format from the content (the file name is never trusted);
:func:`read_statement` detects and reads. Readers are pure Python, no database; each is
imported when first needed, so detecting a format loads none of the parsing libraries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from django.utils.translation import gettext as _

from trastienda.banking.formats.base import ParsedLine, ParsedStatement, StatementFormatError
from trastienda.core.tabular import is_delimited_text, mapping_from, reraise_as, tabular_kind

if TYPE_CHECKING:
    from trastienda.banking.formats.tabular import ColumnMapping

__all__ = [
    "FORMATS",
    "ParsedLine",
    "ParsedStatement",
    "StatementFormatError",
    "detect_format",
    "read_statement",
]

FORMATS: Final = ("camt", "ofx", "norma43", "mt940", "xlsx", "csv")

_HEAD: Final = 16_384  # bytes looked at for the XML root and the OFX header
_NORMA43_HEADER: Final = re.compile(r"11\d{8}[\d ]{10}\d{12}[12]\d{14}\d{3}")
_MT940_STATEMENT: Final = re.compile(rb"^\s*:20:", re.MULTILINE)
_MT940_ACCOUNT: Final = re.compile(rb"^:25:", re.MULTILINE)
_MT940_BODY: Final = re.compile(rb"^:(61|60F):", re.MULTILINE)


def detect_format(data: bytes, filename: str = "") -> str:
    """One of :data:`FORMATS`, from the content of the file.

    camt: XML whose root namespace names camt.05x; ofx: an OFX header or ``<OFX>`` element;
    norma43: a first record that is a Norma 43 account header (11) and records of at most 80
    characters; mt940: lines starting ``:20:``, ``:25:`` and ``:61:`` or ``:60F:``; xlsx: a zip
    archive; csv: delimited text (UTF-16 text included). Raises :class:`StatementFormatError`
    for anything else, and for an old binary Excel workbook. ``filename`` is accepted so that
    callers can pass what they have, but it is never trusted: only the content decides.
    """
    with reraise_as(StatementFormatError):
        kind = tabular_kind(data)  # a workbook or UTF-16 text, told by the first bytes
    if kind:
        return kind
    head = data[:_HEAD].removeprefix(b"\xef\xbb\xbf")
    head_text = head.decode("latin-1")
    stripped = head_text.lstrip()
    upper = head_text.upper()
    if stripped.startswith("<") and "camt.05" in head_text:
        return "camt"
    if "OFXHEADER" in upper or "<OFX>" in upper:
        return "ofx"
    if _is_norma43(data):
        return "norma43"
    if _MT940_STATEMENT.search(data) and _MT940_ACCOUNT.search(data) and _MT940_BODY.search(data):
        return "mt940"
    if is_delimited_text(head):
        return "csv"
    raise StatementFormatError(_("unrecognised statement format"))


def read_statement(
    data: bytes,
    filename: str = "",
    mapping: ColumnMapping | Mapping[str, Any] | None = None,
    currency: str = "EUR",
) -> list[ParsedStatement]:
    """Detect the format of ``data`` and read it.

    CSV and XLSX files need ``mapping`` (a :class:`~.tabular.ColumnMapping` or its dict form)
    and ``currency`` (their rows carry no currency); the other formats carry both.
    """
    kind = detect_format(data, filename)
    if kind == "camt":
        from trastienda.banking.formats.camt import read_camt

        return read_camt(data)
    if kind == "ofx":
        from trastienda.banking.formats.ofx import read_ofx  # type: ignore[import-not-found,unused-ignore]

        result: list[ParsedStatement] = read_ofx(data)
        return result
    if kind == "norma43":
        from trastienda.banking.formats.norma43 import read_norma43

        return read_norma43(data)
    if kind == "mt940":
        from trastienda.banking.formats.mt940 import read_mt940

        return read_mt940(data)

    from trastienda.banking.formats.tabular import ColumnMapping, read_csv, read_xlsx

    with reraise_as(StatementFormatError):
        chosen = mapping_from(ColumnMapping, mapping)
    if kind == "xlsx":
        return read_xlsx(data, chosen, currency)
    return read_csv(data, chosen, currency)


def _is_norma43(data: bytes) -> bool:
    """The first non-blank line is an account header (11 with its numeric fields) and the
    first lines are Norma 43 records of at most 80 characters."""
    # UTF-8 where it is valid, one replacement character per byte where it is not (latin-1):
    # either way one character per character of the record.
    text = data[:_HEAD].removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    if not lines or not _NORMA43_HEADER.match(lines[0]):
        return False
    if "\n" not in text and "\r" not in text:  # records without line breaks
        return len(data) % 80 == 0
    complete = lines if len(data) <= _HEAD else lines[:-1]  # the last one may be cut
    return all(len(line) <= 80 and line[:2].isdigit() for line in complete)

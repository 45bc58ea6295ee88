"""Broker confirmation readers: bytes of a file in, :class:`~.base.ParsedConfirmation` values out.

:func:`detect` tells the format from the content; :func:`read_confirmation_file` detects and
reads. Readers are pure Python, no database; each is imported when first needed, so detecting a
format loads neither simplefix nor openpyxl.

- ``fix``: FIX 4.4 execution reports, one message per line (:mod:`.fix`);
- ``csv`` / ``xlsx``: a broker's export read through a saved column mapping
  (:mod:`.confirmations`).

The generic CSV / XLSX pieces (content detection, decoding, numbers, rows) come from
:mod:`trastienda.core.tabular`, which the banking app's statement reader uses too; trading
imports nothing from banking.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from django.utils.translation import gettext as _

from trastienda.core.tabular import is_delimited_text, mapping_from, reraise_as, tabular_kind
from trastienda.trading.formats.base import ConfirmationFormatError, ParsedConfirmation

if TYPE_CHECKING:
    from trastienda.trading.formats.confirmations import ConfirmationMapping

__all__ = [
    "FORMATS",
    "ConfirmationFormatError",
    "ParsedConfirmation",
    "detect",
    "read_confirmation_file",
]

FORMATS: Final = ("fix", "xlsx", "csv")

_HEAD: Final = 16_384
_FIX_BEGIN: Final = re.compile(rb"(?:^|[\s\x01|:A])8=FIXT?\.\d")


def detect(data: bytes, filename: str = "") -> str:
    """``"fix"``, ``"xlsx"`` or ``"csv"``, from the content of the file.

    fix: a first non-blank line holding a FIX BeginString (``8=FIX.``), possibly after a log
    prefix; xlsx: a zip archive; csv: delimited text. Raises :class:`ConfirmationFormatError`
    for anything else, and for an old binary Excel workbook. ``filename`` is accepted so that
    callers can pass what they have, but only the content decides.
    """
    with reraise_as(ConfirmationFormatError):
        kind = tabular_kind(data)  # a workbook or UTF-16 text, told by the first bytes
    if kind:
        return kind
    head = data[:_HEAD].removeprefix(b"\xef\xbb\xbf")
    first = next((line for line in head.splitlines() if line.strip()), b"")
    if _FIX_BEGIN.search(first):
        return "fix"
    if is_delimited_text(head):
        return "csv"
    raise ConfirmationFormatError(_("unrecognised confirmation format"))


def read_confirmation_file(
    data: bytes,
    filename: str = "",
    mapping: ConfirmationMapping | Mapping[str, Any] | None = None,
    broker: str = "",
) -> list[ParsedConfirmation]:
    """Detect the format of ``data`` and read it.

    CSV and XLSX files need ``mapping`` (a :class:`~.confirmations.ConfirmationMapping` or its
    dict form); FIX files carry their own structure. ``broker`` is the caller's code for the
    broker (for FIX, SenderCompID 49 when it is empty).
    """
    kind = detect(data, filename)
    if kind == "fix":
        from trastienda.trading.formats.fix import read_fix

        return read_fix(data, broker=broker)

    from trastienda.trading.formats.confirmations import ConfirmationMapping, read_confirmations

    with reraise_as(ConfirmationFormatError):
        chosen = mapping_from(ConfirmationMapping, mapping)
    return read_confirmations(data, filename, chosen, broker)

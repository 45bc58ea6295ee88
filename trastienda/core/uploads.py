"""Validation of uploaded files by extension AND content, for the web forms and the API alike.

A file is accepted only when its extension is one of the allowed types and its bytes are
that type: binary types by their magic bytes (the ``filetype`` library), text types (csv, txt,
xml) by decoding as UTF-8. An ``.exe`` renamed ``.pdf`` is refused, and so is a PDF renamed
``.txt``. The size limit is ``settings.TRASTIENDA_MAX_UPLOAD_BYTES``.

Use it as a form or serializer field validator (``validators=[validate_upload]``, or
``UploadValidator(allowed=("png", "jpg"))``), call ``validate_upload(upload, allowed=...)``
in a ``clean_<field>`` method, or call :func:`inspect_upload` to get the facts to store::

    info = inspect_upload(request.FILES["file"])   # raises ValidationError
    info.original_name, info.size, info.sha256, info.content_type
"""

from __future__ import annotations

import codecs
import hashlib
import secrets
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _

TEXT_TYPES = frozenset({"csv", "txt", "xml"})

CONTENT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "txt": "text/plain",
    "xml": "application/xml",
}
"""Every type we know how to check, by extension."""

DEFAULT_ALLOWED = ("pdf", "png", "jpg", "jpeg", "xlsx", "csv", "txt", "xml")

# What ``filetype`` reports for each binary extension.
_DETECTED: dict[str, frozenset[str]] = {
    "pdf": frozenset({"pdf"}),
    "png": frozenset({"png"}),
    "jpg": frozenset({"jpg"}),
    "jpeg": frozenset({"jpg"}),
    "xlsx": frozenset({"xlsx", "zip"}),  # zip: checked further below
}
_HEAD_BYTES = 8192


@dataclass(frozen=True)
class UploadInfo:
    """What we know about an accepted file."""

    original_name: str
    extension: str
    content_type: str
    size: int
    sha256: str

    @property
    def storage_name(self) -> str:
        """A random file name with the checked extension (never the client's name)."""
        return f"{secrets.token_hex(16)}.{self.extension}"


def clean_filename(name: str) -> str:
    """The base name of ``name`` without directories or control characters, at most 255 long."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) < 16 else base[:255]
    return base or "file"


def _read_all(upload: Any) -> Iterable[bytes]:
    if hasattr(upload, "seek"):
        upload.seek(0)
    if hasattr(upload, "chunks"):
        yield from upload.chunks()
    else:  # a plain file object
        while chunk := upload.read(64 * 1024):
            yield chunk
    if hasattr(upload, "seek"):
        upload.seek(0)


def _is_xlsx_zip(upload: Any) -> bool:
    """A zip whose entries are those of a spreadsheet (Office Open XML workbook)."""
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)
    return "[Content_Types].xml" in names and "xl/workbook.xml" in names


def inspect_upload(
    upload: Any,
    *,
    allowed: Iterable[str] = DEFAULT_ALLOWED,
    max_bytes: int | None = None,
) -> UploadInfo:
    """Check ``upload`` (an UploadedFile or file object with ``name``); raise ValidationError.

    The messages name the file and say what was expected; the caller attaches them to its
    field. The file position is left at the start.
    """
    allowed = tuple(a.lower().lstrip(".") for a in allowed)
    limit = int(max_bytes if max_bytes is not None else settings.TRASTIENDA_MAX_UPLOAD_BYTES)
    original = clean_filename(getattr(upload, "name", "") or "")
    extension = PurePath(original).suffix.lower().lstrip(".")
    if extension not in allowed or extension not in CONTENT_TYPES:
        raise ValidationError(
            _("%(name)s: files of type “%(ext)s” are not accepted; use one of: %(allowed)s.")
            % {
                "name": original,
                "ext": extension or _("(none)"),
                "allowed": ", ".join(sorted(set(allowed) & set(CONTENT_TYPES))),
            },
            code="file_type",
        )
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(
            _("%(name)s is %(size)s; the limit is %(limit)s.")
            % {"name": original, "size": filesizeformat(size), "limit": filesizeformat(limit)},
            code="file_size",
        )

    digest = hashlib.sha256()
    total = 0
    head = b""
    decoder = codecs.getincrementaldecoder("utf-8")("strict") if extension in TEXT_TYPES else None
    text_ok = True
    has_nul = False
    for chunk in _read_all(upload):
        total += len(chunk)
        if total > limit:
            if hasattr(upload, "seek"):
                upload.seek(0)
            raise ValidationError(
                _("%(name)s is larger than the limit of %(limit)s.")
                % {"name": original, "limit": filesizeformat(limit)},
                code="file_size",
            )
        digest.update(chunk)
        if len(head) < _HEAD_BYTES:
            head += chunk[: _HEAD_BYTES - len(head)]
        if decoder is not None and text_ok:
            has_nul = has_nul or b"\x00" in chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                text_ok = False
    if decoder is not None and text_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            text_ok = False
    if total == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": original}, code="file_empty")

    detected = filetype.guess(head)
    mismatch = ValidationError(
        _(
            "%(name)s does not contain what its extension says (%(ext)s); "
            "the content looks like %(found)s."
        )
        % {
            "name": original,
            "ext": extension,
            "found": detected.extension if detected else _("something else"),
        },
        code="file_content",
    )
    if extension in TEXT_TYPES:
        if detected is not None or not text_ok or has_nul:
            if detected is None:
                raise ValidationError(
                    _("%(name)s is not a UTF-8 text file.") % {"name": original},
                    code="file_content",
                )
            raise mismatch
        if extension == "xml" and not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise ValidationError(
                _("%(name)s is not an XML document.") % {"name": original}, code="file_content"
            )
    else:
        if detected is None or detected.extension not in _DETECTED[extension]:
            raise mismatch
        if extension == "xlsx" and detected.extension == "zip" and not _is_xlsx_zip(upload):
            raise mismatch

    return UploadInfo(
        original_name=original,
        extension="jpg" if extension == "jpeg" else extension,
        content_type=CONTENT_TYPES[extension],
        size=total,
        sha256=digest.hexdigest(),
    )


@deconstructible
class UploadValidator:
    """A field validator: ``UploadValidator(allowed=("pdf",), max_bytes=...)``."""

    def __init__(self, allowed: Iterable[str] = DEFAULT_ALLOWED, max_bytes: int | None = None):
        self.allowed = tuple(allowed)
        self.max_bytes = max_bytes

    def __call__(self, upload: Any) -> None:
        validate_upload(upload, allowed=self.allowed, max_bytes=self.max_bytes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UploadValidator) and (self.allowed, self.max_bytes) == (
            other.allowed,
            other.max_bytes,
        )

    def __hash__(self) -> int:
        return hash((self.allowed, self.max_bytes))


def validate_upload(
    upload: Any, *, allowed: Iterable[str] = DEFAULT_ALLOWED, max_bytes: int | None = None
) -> None:
    """Field validator: every allowed type (or ``allowed``), the configured size limit.

    ``forms.FileField(validators=[validate_upload])``, or in ``clean_<field>``:
    ``validate_upload(logo, allowed=("png", "jpg"))``.
    """
    if upload is None or upload is False:
        return
    inspect_upload(upload, allowed=allowed, max_bytes=max_bytes)


__all__ = [
    "DEFAULT_ALLOWED",
    "UploadInfo",
    "UploadValidator",
    "clean_filename",
    "inspect_upload",
    "validate_upload",
]

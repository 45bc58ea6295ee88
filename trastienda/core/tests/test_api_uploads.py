"""The upload validator shared by the API and the web forms: extension AND content."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from trastienda.core.uploads import (
    UploadValidator,
    clean_filename,
    inspect_upload,
    validate_upload,
)

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


def image(fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def workbook() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["date", "amount"])
    book.active.append(["2024-01-31", "12.50"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plain_zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def up(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize(
    ("name", "content", "extension", "content_type"),
    [
        ("scan.pdf", PDF, "pdf", "application/pdf"),
        ("logo.png", image("PNG"), "png", "image/png"),
        ("photo.jpg", image("JPEG"), "jpg", "image/jpeg"),
        ("photo.JPEG", image("JPEG"), "jpg", "image/jpeg"),
        (
            "book.xlsx",
            workbook(),
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("bank.csv", "fecha;importe\n2024-01-31;12,50 €\n".encode(), "csv", "text/csv"),
        ("notes.txt", "\ufeffCiao, così va bene.\n".encode(), "txt", "text/plain"),
        ("invoice.xml", b'<?xml version="1.0"?>\n<Invoice/>\n', "xml", "application/xml"),
    ],
)
def test_accepted_files(name: str, content: bytes, extension: str, content_type: str) -> None:
    upload = up(name, content)
    info = inspect_upload(upload)
    assert (info.original_name, info.extension, info.content_type, info.size, info.sha256) == (
        name,
        extension,
        content_type,
        len(content),
        hashlib.sha256(content).hexdigest(),
    )
    assert upload.tell() == 0
    assert info.storage_name.endswith(f".{extension}")
    assert len(info.storage_name) == 32 + 1 + len(extension)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.pdf", EXE, "invoice.pdf does not contain what its extension says (pdf)"),
        ("setup.exe", EXE, "setup.exe: files of type “exe” are not accepted"),
        ("noextension", PDF, "noextension: files of type “(none)” are not accepted"),
        ("photo.png", image("JPEG"), "the content looks like jpg"),
        (
            "scan.txt",
            PDF,
            "scan.txt does not contain what its extension says (txt); the content looks like pdf",
        ),
        ("ascii.txt", b"%PDF-1.4 plain ascii", "ascii.txt does not contain"),
        ("latin1.csv", "año;importe\n".encode("latin-1"), "latin1.csv is not a UTF-8 text file"),
        ("nul.txt", b"abc\x00def", "nul.txt is not a UTF-8 text file"),
        ("data.xml", b"just words", "data.xml is not an XML document"),
        ("empty.pdf", b"", "empty.pdf is empty"),
        ("archive.xlsx", plain_zip({"secret.txt": b"x" * 100}), "archive.xlsx does not contain"),
        (
            "macro.xlsx",
            plain_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
            "macro.xlsx does not contain",
        ),
    ],
)
def test_refused_files(name: str, content: bytes, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        inspect_upload(up(name, content))
    assert message in caught.value.messages[0]


def test_size_limit(settings: Any) -> None:
    settings.TRASTIENDA_MAX_UPLOAD_BYTES = 10
    with pytest.raises(ValidationError) as caught:
        inspect_upload(up("a.txt", b"x" * 11))
    assert caught.value.code == "file_size"
    assert inspect_upload(up("a.txt", b"x" * 10)).size == 10
    assert inspect_upload(up("a.txt", b"x" * 11), max_bytes=11).size == 11


def test_size_limit_also_counts_the_bytes_read() -> None:
    class Lying(io.BytesIO):
        name = "a.txt"
        size = 1

    with pytest.raises(ValidationError) as caught:
        inspect_upload(Lying(b"x" * 100), max_bytes=50)
    assert caught.value.code == "file_size"


def test_allowed_types_can_be_narrowed() -> None:
    validate_upload(up("logo.png", image("PNG")), allowed=("png", "jpg"))
    with pytest.raises(ValidationError):
        validate_upload(up("logo.pdf", PDF), allowed=("png", "jpg"))
    only_pdf = UploadValidator(allowed=("pdf",))
    only_pdf(up("a.pdf", PDF))
    with pytest.raises(ValidationError) as caught:
        only_pdf(up("a.csv", b"a,b\n"))
    assert "use one of: pdf" in caught.value.messages[0]


def test_validator_ignores_empty_values_and_compares_by_value() -> None:
    validate_upload(None)
    assert UploadValidator(("pdf",), 5) == UploadValidator(("pdf",), 5)
    assert UploadValidator(("pdf",), 5) != UploadValidator(("png",), 5)
    path, args, kwargs = UploadValidator(("pdf",)).deconstruct()
    assert (path, args, kwargs) == ("trastienda.core.uploads.UploadValidator", (("pdf",),), {})


def test_form_field_uses_the_validator() -> None:
    from django import forms

    class UploadForm(forms.Form):
        file = forms.FileField(validators=[validate_upload])

    form = UploadForm(data={}, files={"file": up("invoice.pdf", EXE)})
    assert not form.is_valid()
    assert list(form.errors) == ["file"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\ana\\Factura 1.pdf", "Factura 1.pdf"),
        ("bad\x00name\r\n.pdf", "badname.pdf"),
        ("", "file"),
        ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_clean_filename(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean

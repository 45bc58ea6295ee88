"""Translations: complete Spanish and Italian catalogs, translated pages, local number formats.

The catalogs are ``trastienda/locale/<lang>/LC_MESSAGES/django.po``; the ``.mo`` files are
build output (``trastienda compilemessages``). If they are missing or older than the ``.po``
files, the ``compiled`` fixture compiles them with ``msgfmt`` so that the suite also runs
straight after a checkout.
"""

from __future__ import annotations

import ast
import datetime
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation
from django.utils.translation.reloader import translation_file_changed

from trastienda.core.models import UserProfile
from trastienda.documents import services as documents

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
LANGUAGES = ("es", "it")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]|\{\{ *[\w.]+ *\}\}")


# --- a small reader of .po files (enough for the catalogs makemessages writes) -------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def read_po(path: Path) -> tuple[dict[str, str], list[Entry]]:
    """Return the header fields and the entries (without the header, without obsolete ones)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal current, target
        if current is not None:
            entries.append(current)
        current, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):  # obsolete entry
            continue
        if current is None:
            current = Entry(line=number)
        if line.startswith("#,"):
            current.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert target is not None, f"{path}:{number}: continuation without a keyword"
            _append(current, target, ast.literal_eval(line))
        else:
            keyword, _space, value = line.partition(" ")
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                target = ("msgstr", int(match.group(1)))
            elif keyword in {"msgid", "msgid_plural", "msgctxt", "msgstr"}:
                target = (keyword, 0)
            else:
                raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
            _set(current, target, "")
            _append(current, target, ast.literal_eval(value))
    finish()

    header_entries = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(header_entries) == 1, f"{path}: expected one header entry"
    header = header_entries[0]
    assert "fuzzy" not in header.flags, f"{path}: the header is marked fuzzy"
    fields = dict(
        part.split(": ", 1) for part in header.msgstr.get(0, "").split("\n") if ": " in part
    )
    return fields, [e for e in entries if e is not header]


def _set(entry: Entry, target: tuple[str, int], value: str) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] = value
    else:
        setattr(entry, name, value)


def _append(entry: Entry, target: tuple[str, int], value: str) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] += value
    else:
        setattr(entry, name, getattr(entry, name) + value)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


# --- compiled catalogs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiled() -> None:
    """Make sure every .mo is at least as new as its .po, then drop Django's cached catalogs."""
    changed = False
    for language in LANGUAGES:
        po = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        msgfmt = shutil.which("msgfmt")
        if msgfmt is None:
            pytest.fail("GNU gettext is not installed: run `trastienda compilemessages` first.")
        # The same call as Django's compilemessages.
        subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)
        changed = True
    if changed:
        translation_file_changed(sender=None, file_path=LOCALE_DIR / "es.mo")


# --- the catalogs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete(language: str) -> None:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
    header, entries = read_po(path)
    assert header["Language"] == language
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    nplurals = int(re.search(r"nplurals=(\d+)", header["Plural-Forms"]).group(1))  # type: ignore[union-attr]

    problems = []
    for entry in entries:
        where = f"{path.name}:{entry.line} {entry.msgid!r}"
        if "fuzzy" in entry.flags:
            problems.append(f"{where}: fuzzy")
        if entry.msgid_plural is None:
            if set(entry.msgstr) != {0} or not entry.msgstr[0]:
                problems.append(f"{where}: not translated")
            elif placeholders(entry.msgstr[0]) != placeholders(entry.msgid):
                problems.append(f"{where}: placeholders differ")
        else:
            if set(entry.msgstr) != set(range(nplurals)) or not all(entry.msgstr.values()):
                problems.append(f"{where}: plural forms missing")
            elif any(
                placeholders(text) != placeholders(entry.msgid_plural)
                for index, text in entry.msgstr.items()
                if index > 0
            ):
                problems.append(f"{where}: placeholders differ")
    assert problems == []
    # A sanity check that the reader saw the catalog at all, and strings from every app.
    assert len(entries) > 300


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_strings_of_every_app(language: str) -> None:
    text = (LOCALE_DIR / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    locations = set(re.findall(r"^#: (\w+)/", text, flags=re.MULTILINE))
    assert {"core", "accounts", "audit", "documents"} <= locations


@pytest.mark.parametrize(
    ("language", "source", "expected"),
    [
        ("es", "Sign out", "Cerrar sesión"),
        ("it", "Sign out", "Esci"),
        ("es", "Dashboard", "Panel"),
        ("it", "Dashboard", "Cruscotto"),
        ("es", "Audit trail", "Registro de auditoría"),
        ("it", "Audit trail", "Registro di audit"),
        ("es", "tax id", "identificador fiscal"),
        ("it", "tax id", "identificativo fiscale"),
        ("en", "Sign out", "Sign out"),
    ],
)
def test_gettext_uses_the_compiled_catalog(
    compiled: None, language: str, source: str, expected: str
) -> None:
    with translation.override(language):
        assert translation.gettext(source) == expected


def test_plural_forms(compiled: None) -> None:
    with translation.override("es"):
        assert (
            translation.ngettext("%(counter)s record", "%(counter)s records", 1) % {"counter": 1}
            == "1 registro"
        )
        assert (
            translation.ngettext("%(counter)s record", "%(counter)s records", 3) % {"counter": 3}
            == "3 registros"
        )
    with translation.override("it"):
        assert (
            translation.ngettext("%(counter)s active session.", "%(counter)s active sessions.", 1)
            % {"counter": 1}
            == "1 sessione attiva."
        )
        assert (
            translation.ngettext("%(counter)s active session.", "%(counter)s active sessions.", 2)
            % {"counter": 2}
            == "2 sessioni attive."
        )


# --- pages ----------------------------------------------------------------------------------------


def test_dashboard_follows_the_browser_language(
    compiled: None, client: Any, accountant: Any, company: Any
) -> None:
    client.force_login(accountant)
    url = reverse("dashboard", kwargs={"company": company.code})

    page = client.get(url, headers={"accept-language": "es"})
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="es">' in html
    assert "Cerrar sesión" in html and "Sign out" not in html
    assert "<title>Panel" in html

    page = client.get(url, headers={"accept-language": "it"})
    html = page.content.decode()
    assert '<html lang="it">' in html
    assert "Esci" in html and "Cerrar sesión" not in html
    assert "<title>Cruscotto" in html

    page = client.get(url, headers={"accept-language": "en"})
    assert "Sign out" in page.content.decode()


def test_saved_language_beats_the_browser(
    compiled: None, client: Any, accountant: Any, company: Any
) -> None:
    UserProfile.objects.update_or_create(user=accountant, defaults={"language": "it"})
    client.force_login(accountant)
    page = client.get(
        reverse("dashboard", kwargs={"company": company.code}),
        headers={"accept-language": "es"},
    )
    html = page.content.decode()
    assert '<html lang="it">' in html
    assert "Esci" in html and "Cerrar sesión" not in html
    assert "Cruscotto" in html


def test_document_list_is_translated_with_local_dates(
    compiled: None, client: Any, accountant: Any, company: Any
) -> None:
    documents.document_create(
        company=company, title="Contrato de alquiler", document_date=datetime.date(2026, 3, 5)
    )
    client.force_login(accountant)
    url = reverse("documents:document_list", kwargs={"company": company.code})

    html = client.get(url, headers={"accept-language": "es"}).content.decode()
    assert "<title>Documentos" in html
    assert "Cerrar sesión" in html
    assert "Contrato de alquiler" in html
    assert "Título" in html and "Columnas" in html and "Filtrar" in html
    assert "05/03/2026" in html

    html = client.get(url, headers={"accept-language": "it"}).content.decode()
    assert "<title>Documenti" in html
    assert "Titolo" in html and "Colonne" in html and "Filtra" in html
    assert "05/03/2026" in html


# --- number and date formats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [("es", "1.234,5"), ("it", "1.234,5"), ("en", "1,234.5")],
)
def test_localize_filter_formats_numbers(language: str, expected: str) -> None:
    template = Template("{% load l10n %}{{ value|localize }}")
    with translation.override(language):
        assert template.render(Context({"value": Decimal("1234.5")})) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("es", "05/03/2026"), ("it", "05/03/2026")],
)
def test_short_date_format(language: str, expected: str) -> None:
    template = Template('{{ value|date:"SHORT_DATE_FORMAT" }}')
    with translation.override(language):
        assert template.render(Context({"value": datetime.date(2026, 3, 5)})) == expected


def test_long_date_format_uses_translated_month(compiled: None) -> None:
    template = Template('{{ value|date:"DATE_FORMAT" }}')
    value = datetime.date(2026, 3, 5)
    with translation.override("es"):
        assert template.render(Context({"value": value})) == "5 de marzo de 2026"
    with translation.override("it"):
        # Django's own Italian catalog capitalises month names ("Marzo").
        assert template.render(Context({"value": value})).lower() == "5 marzo 2026"

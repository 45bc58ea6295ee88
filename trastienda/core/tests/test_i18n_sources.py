"""Every translatable string of the code is in the Spanish and Italian catalogs.

``test_i18n`` checks that what the catalogs hold is translated; this module checks that they
hold everything: it extracts the messages of the code the way the catalogs are made, i.e.

    cd trastienda && trastienda makemessages -l es -l it --no-obsolete --add-location file -i tests

and fails, listing them, for the strings the committed catalogs lack. Run that command and
translate the new entries to fix it.

The extraction runs Django's ``makemessages`` in-process on a temporary copy of the sources,
writing to a temporary copy of the catalog: the real catalogs are only read, and no temporary
file appears in the checkout (``makemessages`` writes a ``.py`` file beside every template it
reads). It needs GNU gettext (``xgettext``, ``msgmerge``, ``msgattrib``), which the test
scripts install.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from trastienda.core.tests.test_i18n import LANGUAGES, LOCALE_DIR, read_po

PACKAGE_DIR = LOCALE_DIR.parent
# What makemessages reads for the "django" domain (its default extensions).
EXTENSIONS = {".py", ".html", ".txt"}
# Not copied: tests (the catalogs leave their strings out), the catalogs themselves, caches.
SKIPPED_DIRS = {"tests", "locale", "__pycache__", "static"}

Key = tuple[str | None, str, str | None]  # msgctxt, msgid, msgid_plural


def _copy_ignore(directory: str, names: list[str]) -> set[str]:
    ignored = set()
    for name in names:
        path = Path(directory) / name
        if path.is_dir():
            if name in SKIPPED_DIRS or name.startswith("."):
                ignored.add(name)
        elif path.suffix not in EXTENSIONS:
            ignored.add(name)
    return ignored


def keys(catalog: Path) -> dict[Key, list[str]]:
    """The entries of ``catalog`` (without the header), each with its ``#:`` locations."""
    _header, entries = read_po(catalog)
    lines = catalog.read_text(encoding="utf-8").splitlines()
    found: dict[Key, list[str]] = {}
    for entry in entries:
        locations = []
        for raw in lines[entry.line - 1 :]:
            if not raw.startswith("#"):
                break
            if raw.startswith("#:"):
                locations.extend(raw[2:].split())
        found[(entry.msgctxt, entry.msgid, entry.msgid_plural)] = locations
    return found


def extract(workdir: Path, language: str = "es") -> Path:
    """Run makemessages for ``language`` on a copy of the sources and of the committed catalog
    in ``workdir``; return the updated copy of the catalog, which holds exactly the strings of
    the code (``--no-obsolete`` drops the others)."""
    absent = [name for name in ("xgettext", "msgmerge", "msgattrib") if shutil.which(name) is None]
    if absent:
        pytest.fail(
            f"GNU gettext is not installed ({', '.join(absent)} not found): install the gettext "
            "package (apt-get install gettext) to check that the catalogs are complete."
        )
    sources = workdir / "trastienda"
    shutil.copytree(PACKAGE_DIR, sources, ignore=_copy_ignore)
    locale = workdir / "locale"
    (locale / language / "LC_MESSAGES").mkdir(parents=True)
    catalog = locale / language / "LC_MESSAGES" / "django.po"
    shutil.copyfile(LOCALE_DIR / language / "LC_MESSAGES" / "django.po", catalog)
    # makemessages writes into the first of LOCALE_PATHS whose parent contains the file (here
    # workdir contains the copy); paths in the catalog are relative to the working directory.
    with override_settings(LOCALE_PATHS=[str(locale)]), contextlib.chdir(sources):
        call_command(
            "makemessages",
            locale=[language],
            no_obsolete=True,
            add_location="file",
            ignore_patterns=["tests"],
            verbosity=0,
        )
    return catalog


def missing(code: dict[Key, list[str]], catalog: Path) -> list[str]:
    """The strings of ``code`` that ``catalog`` lacks, one readable line each."""
    committed = keys(catalog)
    problems = []
    for (context, msgid, plural), locations in code.items():
        if (context, msgid, plural) in committed:
            continue
        text = repr(msgid)
        if plural is not None:
            text += f" / {plural!r}"
        if context is not None:
            text = f"[{context}] {text}"
        problems.append(f"{text} ({' '.join(locations)})")
    return problems


@pytest.fixture(scope="module")
def code_strings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Key, list[str]]]:
    workdir = tmp_path_factory.mktemp("i18n-sources")
    found = keys(extract(workdir))
    yield found
    shutil.rmtree(workdir, ignore_errors=True)


def test_extraction_sees_the_code(code_strings: dict[Key, list[str]]) -> None:
    # A sanity check that the extraction read the sources: strings of every app, and both
    # Python and templates.
    assert len(code_strings) > 300
    locations = {location for found in code_strings.values() for location in found}
    assert {location.split("/")[0] for location in locations} >= {
        "core",
        "accounts",
        "audit",
        "documents",
        "ledger",
    }
    assert any(location.endswith(".html") for location in locations)
    assert not any("/tests/" in location for location in locations)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_every_string_of_the_code(
    code_strings: dict[Key, list[str]], language: str
) -> None:
    catalog = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
    lacking = missing(code_strings, catalog)
    assert lacking == [], (
        f"{catalog} lacks {len(lacking)} translatable string(s) of the code; run "
        "`cd trastienda && trastienda makemessages -l es -l it --no-obsolete --add-location "
        "file -i tests` and translate the new entries:\n" + "\n".join(lacking)
    )

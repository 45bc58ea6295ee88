"""Switching the interface language from the shell's language menu."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from trastienda.conftest import PASSWORD
from trastienda.core.models import UserProfile
from trastienda.documents.services import document_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the document list says in each language: heading, buttons, a column, the count.
EXPECTED = {
    "es": {
        "h1": "Documentos",
        "add": "Añadir",
        "filter": "Filtrar",
        "column": "Título",
        "count": "2 registros",
        "menu": "ES",
        "sign_out": "Cerrar sesión",
    },
    "it": {
        "h1": "Documenti",
        "add": "Aggiungi",
        "filter": "Filtra",
        "column": "Titolo",
        "count": "2 record",
        "menu": "IT",
        "sign_out": "Esci",
    },
    "en": {
        "h1": "Documents",
        "add": "Add",
        "filter": "Filter",
        "column": "Title",
        "count": "2 records",
        "menu": "EN",
        "sign_out": "Sign out",
    },
}


def require_catalogs() -> None:
    catalogs = [
        Path(settings.LOCALE_PATHS[0]) / code / "LC_MESSAGES" / "django.mo" for code in ("es", "it")
    ]
    missing = [str(path) for path in catalogs if not path.exists()]
    if missing:
        pytest.fail(
            "The translation catalogs are not compiled (" + ", ".join(missing) + "): run "
            "`.venv/bin/python -m trastienda compilemessages` first.",
            pytrace=False,
        )


def switch_language(page: Any, code: str) -> None:
    page.locator("#language-menu").click()
    with page.expect_navigation():
        page.locator(f"[data-lang={code}]").click()


def check_documents_page(page: Any, code: str) -> None:
    words = EXPECTED[code]
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator("h1")).to_have_text(words["h1"])
    expect(page.locator("#add-object")).to_have_text(words["add"])
    expect(page.locator("#filter-form button[type=submit]")).to_have_text(words["filter"])
    expect(page.locator("#object-table thead")).to_contain_text(words["column"])
    expect(page.locator("#object-table .card-footer")).to_contain_text(words["count"])
    expect(page.locator("#language-menu")).to_have_text(re.compile(words["menu"]))
    page.locator("#user-menu").click()
    expect(page.locator("#logout")).to_have_text(words["sign_out"])
    page.keyboard.press("Escape")


def test_switching_to_spanish_and_italian_translates_the_pages_and_is_remembered(
    page: Any, marta: Any, acme: Any, sign_in: Any, shoot: Any
) -> None:
    require_catalogs()
    document_create(
        company=acme, title="Lease of the Zaragoza warehouse", kind="contract", reference="DOC-001"
    )
    document_create(company=acme, title="Procedures manual", kind="policy", reference="DOC-002")
    sign_in("marta", PASSWORD)
    page.goto("/c/ACME/documents/")
    check_documents_page(page, "en")

    switch_language(page, "es")
    expect(page).to_have_url(re.compile(r"/c/ACME/documents/$"))  # back on the same page
    check_documents_page(page, "es")
    expect(page.locator("[data-lang=es]")).to_have_class(re.compile(r"\bactive\b"))
    shoot(page, "documents-es")
    assert UserProfile.objects.get(user=marta).language == "es"

    switch_language(page, "it")
    check_documents_page(page, "it")
    shoot(page, "documents-it")
    assert UserProfile.objects.get(user=marta).language == "it"
    page.goto("/c/ACME/")
    expect(page).to_have_title("Cruscotto · ACME · Trastienda")
    shoot(page, "dashboard-it")

    # The choice is the user's preference: a new browser (English by default) gets Italian.
    page.context.clear_cookies()
    sign_in("marta", PASSWORD)
    page.goto("/c/ACME/documents/")
    check_documents_page(page, "it")

    switch_language(page, "en")
    check_documents_page(page, "en")
    assert UserProfile.objects.get(user=marta).language == "en"

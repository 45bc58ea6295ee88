"""Working for several companies: the company switcher and what each company shows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from trastienda.conftest import PASSWORD
from trastienda.core import services as core_services
from trastienda.documents.services import document_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_company_switcher_changes_company_and_each_shows_only_its_own_records(
    page: Any, marta: Any, acme: Any, otra: Any, make_company: Any, sign_in: Any, shoot: Any
) -> None:
    core_services.membership_set(company=otra, user=marta, role_code="auditor")
    make_company("BETA", legal_name="Beta Logística S.A.")  # marta is not a member
    document_create(company=acme, title="Acme warehouse lease", kind="contract")
    document_create(company=otra, title="Contratto di fornitura Altra", kind="contract")

    sign_in("marta", PASSWORD)
    expect(page).to_have_url(re.compile(r"/c/ACME/$"))  # the first of her companies
    expect(page.locator("h1")).to_have_text("Acme Ibérica S.L.")
    expect(page.locator("main")).to_contain_text("Accountant")  # her role here
    switcher = page.locator("#company-switcher")
    expect(switcher).to_contain_text("ACME · Acme Ibérica S.L.")

    switcher.click()
    items = page.locator("[data-company]")
    expect(items).to_have_count(2)  # only her companies, never BETA
    expect(items).to_have_text(["ACME · Acme Ibérica S.L.", "OTRA · Altra Società S.r.l."])
    expect(page.locator("[data-company=ACME]")).to_have_class(re.compile(r"\bactive\b"))
    shoot(page, "company-switcher")
    page.locator("[data-company=OTRA]").click()

    expect(page).to_have_url(re.compile(r"/c/OTRA/$"))
    expect(page.locator("h1")).to_have_text("Altra Società S.r.l.")
    expect(page.locator("main")).to_contain_text("Auditor")
    expect(switcher).to_contain_text("OTRA · Altra Società S.r.l.")

    page.goto("/c/OTRA/documents/")
    table = page.locator("#object-table tbody")
    expect(table).to_contain_text("Contratto di fornitura Altra")
    expect(table).not_to_contain_text("Acme warehouse lease")
    # An auditor reads but does not add.
    expect(page.locator("#add-object")).to_have_count(0)

    # The last company used is where the next visit starts.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/c/OTRA/$"))

    # Another company's pages do not exist for her.
    response = page.goto("/c/BETA/documents/")
    assert response is not None and response.status == 404
    expect(page.locator("main")).to_contain_text("This page does not exist, or you cannot see it.")
    expect(page.locator("main")).not_to_contain_text("Beta")

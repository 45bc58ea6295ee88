from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook

from trastienda.core import services as core_services
from trastienda.ledger import services
from trastienda.ledger.models import Account, ChainHead, Journal, LedgerSettings


def test_company_creation_loads_chart_by_country(make_company: Any) -> None:
    spain = make_company("ESCO", country="ES")
    italy = make_company("ITCO", country="IT")
    france = make_company("FRCO", country="FR", tax_id="FR40303265045")
    assert Account.objects.for_company(spain).count() >= 150
    assert Account.objects.for_company(spain).get(code="5720").parent.code == "572"
    assert Account.objects.for_company(italy).filter(code="03.04.001", subtype="bank").exists()
    assert Account.objects.for_company(france).filter(code="1251", subtype="bank").exists()
    assert list(Journal.objects.for_company(spain).values_list("code", flat=True)) == [
        "BNK",
        "CSH",
        "GEN",
        "PAY",
        "PUR",
        "SAL",
    ]
    assert LedgerSettings.objects.for_company(italy).count() == 1
    assert ChainHead.objects.filter(company=france, seq=0).exists()
    assert core_services.COMPANY_SETUP_STEPS  # the ledger registered its step


def test_chart_levels_and_names(company: Any) -> None:
    bank = Account.objects.for_company(company).get(code="5720")
    assert bank.level == bank.parent.level + 1
    assert (bank.postable, bank.reconcilable, bank.type) == (True, True, "asset")
    with translation.override("es"):
        assert bank.name == "Bancos c/c"
    with translation.override("en"):
        assert bank.name == bank.name_en != ""
    with pytest.raises(ValidationError):
        services.chart_load(company=company, template="ifrs")  # already has a chart
    with pytest.raises(ValidationError):
        services.chart_load(company=company, template="nope")


def test_account_create_update_delete(company: Any) -> None:
    group = Account.objects.for_company(company).get(code="572")
    account = services.account_create(
        company=company,
        code="57201",
        parent=group,
        name_es="Banco Sabadell",
        type="asset",
        subtype="bank",
        postable=True,
        reconcilable=True,
    )
    assert account.level == group.level + 1
    errors = []
    for data in (
        {"code": "57201", "name_es": "x", "type": "asset"},  # duplicate
        {"code": "9", "type": "asset"},  # no name
        {"code": "9", "name_en": "x", "type": "bogus"},
        {"code": "9", "name_en": "x", "type": "asset", "parent": account},  # postable parent
    ):
        with pytest.raises(ValidationError) as err:
            services.account_create(company=company, **data)
        errors.append(sorted(err.value.message_dict))
    assert errors == [["code"], ["name_en"], ["type"], ["parent"]]
    with pytest.raises(ValidationError) as err:
        services.account_update(instance=group, parent=group)
    assert "parent" in err.value.message_dict
    updated = services.account_update(instance=account, name_en="Sabadell bank", active=False)
    assert (updated.name_en, updated.active) == ("Sabadell bank", False)
    services.account_delete(instance=updated)
    assert not Account.objects.filter(pk=account.pk).exists()
    with pytest.raises(ValidationError):
        services.account_delete(instance=group)  # has sub-accounts


CSV_OK = (
    "code,parent_code,name_es,name_it,name_en,type,subtype,postable,reconcilable\n"
    "9,,Analítica,,Analytic,expense,,0,0\n"
    "90,9,Centros,,Centres,expense,,false,false\n"
    "900,90,Centro Madrid,,Madrid centre,expense,,1,0\n"
    "5720,572,Bancos c/c (renombrado),,Banks,asset,bank,1,1\n"
)


def test_chart_import_csv_and_xlsx(company: Any) -> None:
    before = Account.objects.for_company(company).count()
    assert services.chart_import(company=company, content=CSV_OK.encode(), filename="c.csv") == 3
    assert Account.objects.for_company(company).count() == before + 3
    leaf = Account.objects.for_company(company).get(code="900")
    assert (leaf.parent.code, leaf.level) == ("90", 2)
    assert (
        Account.objects.for_company(company).get(code="5720").name_es == "Bancos c/c (renombrado)"
    )
    book = Workbook()
    sheet = book.active
    for row in (
        [
            "code",
            "parent_code",
            "name_es",
            "name_it",
            "name_en",
            "type",
            "subtype",
            "postable",
            "reconcilable",
        ],
        ["901", "90", "Centro Roma", "", "", "expense", "", 1, 0],
    ):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    assert services.chart_import(company=company, content=buffer.getvalue(), filename="c.xlsx") == 1


def test_chart_import_refuses_whole_file_with_line_errors(company: Any) -> None:
    before = Account.objects.for_company(company).count()
    bad = (
        "code,parent_code,name_es,name_it,name_en,type,subtype,postable,reconcilable\n"
        "8,,Bien,,Fine,expense,,0,0\n"
        "81,77777,Huérfana,,Orphan,expense,,1,0\n"
        "82,5720,Hija de cuenta,,Child of postable,expense,,1,0\n"
        "83,8,Tipo,,Type,bogus,,1,0\n"
        "8,,Repetida,,Repeated,expense,,0,0\n"
        "84,8,,,,expense,,maybe,0\n"
    )
    with pytest.raises(ValidationError) as err:
        services.chart_import(company=company, content=bad.encode(), filename="c.csv")
    assert sorted(err.value.message_dict) == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert Account.objects.for_company(company).count() == before


def test_accounts_page_export_and_import(accountant: Any, company: Any, login: Any) -> None:
    client = login(accountant)
    base = f"/c/{company.code}/ledger/accounts/"
    page = client.get(base + "?q=bancos")
    assert page.status_code == 200
    assert "\u2003\u2003" in page.content.decode()  # indented by level
    export = client.get(base + "?export=csv&type=asset&per_page=250")
    assert export.status_code == 200
    assert b"5720" in export.content
    upload = SimpleUploadedFile("chart.csv", CSV_OK.encode())
    assert client.post(base + "import/", {"file": upload}).status_code == 302
    assert Account.objects.for_company(company).filter(code="900").exists()
    bad = SimpleUploadedFile("chart.csv", CSV_OK.replace("90,9,", "90,77777,").encode())
    response = client.post(base + "import/", {"file": bad})
    assert response.status_code == 400 and b"line 3" in response.content
    # the list's export (default columns) imports back: nothing new, every row matched
    roundtrip = SimpleUploadedFile("accounts.csv", client.get(base + "?export=csv").content)
    before = Account.objects.for_company(company).count()
    assert client.post(base + "import/", {"file": roundtrip}).status_code == 302
    assert Account.objects.for_company(company).count() == before
    add = client.post(
        base + "add/",
        {
            "code": "57202",
            "parent": Account.objects.get(company=company, code="572").pk,
            "name_en": "Second bank",
            "type": "asset",
            "subtype": "bank",
            "postable": "on",
            "active": "on",
        },
    )
    assert add.status_code == 302
    group_level = Account.objects.get(company=company, code="572").level
    assert group_level == 2  # 5 > 57 > 572: the import kept the parents
    assert Account.objects.for_company(company).get(code="57202").level == 3


def test_accounts_api(accountant: Any, company: Any, other_company: Any, client: Any) -> None:
    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": company.code}
    listing = client.get("/api/v1/ledger/accounts/?code=5720&type=asset", **headers)
    assert listing.status_code == 200
    created = client.post(
        "/api/v1/ledger/accounts/",
        {
            "code": "57203",
            "parent": "572",
            "name_en": "Third bank",
            "type": "asset",
            "subtype": "bank",
        },
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    assert created.json()["level"] == 3
    # another company's account is not found
    foreign = Account.objects.for_company(other_company).first()
    assert client.get(f"/api/v1/ledger/accounts/{foreign.pk}/", **headers).status_code == 404

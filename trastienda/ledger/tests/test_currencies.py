from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from trastienda.ledger import services
from trastienda.ledger.models import Currency, ExchangeRate

DATA = Path(__file__).parent / "data"


@pytest.mark.django_db
def test_currencies_seeded_with_iso_exponents() -> None:
    exponents = dict(Currency.objects.values_list("code", "exponent"))
    assert (exponents["EUR"], exponents["JPY"], exponents["BHD"], exponents["CLF"]) == (2, 0, 3, 4)
    assert Currency.objects.get(code="HRK").active is False  # withdrawn, kept for old books
    assert not Currency.objects.filter(code__in=["XAU", "XXX"]).exists()  # no minor unit


@pytest.mark.django_db
def test_currency_migration_reverses() -> None:
    from django.apps import apps

    migration = importlib.import_module("trastienda.ledger.migrations.0002_currencies")
    total = Currency.objects.count()
    migration.unseed(apps, None)
    assert Currency.objects.count() == 0
    migration.seed(apps, None)
    assert Currency.objects.count() == total
    migration.seed(apps, None)  # seeding twice adds nothing
    assert Currency.objects.count() == total


def test_rate_create_and_validation(company: Any) -> None:
    rate = services.exchange_rate_create(
        company=company,
        date=dt.date(2026, 1, 5),
        from_currency="EUR",
        to_currency="USD",
        rate="1.0321",
    )
    rate.refresh_from_db()
    assert rate.rate == Decimal("1.0321")
    with pytest.raises(ValidationError) as err:
        services.exchange_rate_create(
            company=company,
            date=dt.date(2026, 1, 5),
            from_currency="EUR",
            to_currency="USD",
            rate="1.1",
        )
    assert "date" in err.value.message_dict
    for bad, field in (("0", "rate"), ("-1", "rate"), ("abc", "rate"), ("1.12345678901", "rate")):
        with pytest.raises(ValidationError) as err:
            services.exchange_rate_create(
                company=company,
                date=dt.date(2026, 1, 6),
                from_currency="EUR",
                to_currency="USD",
                rate=bad,
            )
        assert field in err.value.message_dict
    with pytest.raises(TypeError):
        services.exchange_rate_create(
            company=company,
            date=dt.date(2026, 1, 6),
            from_currency="EUR",
            to_currency="USD",
            rate=1.1,
        )
    with pytest.raises(ValidationError) as err:
        services.exchange_rate_create(
            company=company,
            date=dt.date(2026, 1, 6),
            from_currency="EUR",
            to_currency="EUR",
            rate="1",
        )
    assert "to_currency" in err.value.message_dict
    assert ExchangeRate.objects.count() == 1


def test_rate_keeps_fifteen_digits_exactly(company: Any) -> None:
    services.exchange_rate_create(
        company=company,
        date=dt.date(2026, 1, 5),
        from_currency="EUR",
        to_currency="JPY",
        rate="12345.6789012345",
    )
    assert ExchangeRate.objects.get().rate == Decimal("12345.6789012345")


def test_csv_import_all_or_nothing(company: Any) -> None:
    good = (
        "date,from_currency,to_currency,rate\n"
        "2026-01-05,EUR,USD,1.0321\n"
        "2026-01-05,EUR,GBP,0.83015\n"
    )
    assert services.exchange_rates_import_csv(company=company, content=good.encode()) == 2
    bad = (
        "date,from_currency,to_currency,rate\n"
        "2026-01-06,EUR,USD,1.04\n"
        "2026-13-01,EUR,USD,1.04\n"
        "2026-01-06,EUR,QQQ,1.04\n"
        "2026-01-07,EUR,USD,-2\n"
    )
    with pytest.raises(ValidationError) as err:
        services.exchange_rates_import_csv(company=company, content=bad)
    assert sorted(err.value.message_dict) == ["line 3", "line 4", "line 5"]
    assert ExchangeRate.objects.count() == 2  # nothing of the bad file written
    again = "date,from_currency,to_currency,rate\n2026-01-05,EUR,USD,1.0400\n"
    assert services.exchange_rates_import_csv(company=company, content=again) == 1
    assert ExchangeRate.objects.get(to_currency="USD").rate == Decimal("1.04")
    with pytest.raises(ValidationError) as err:
        services.exchange_rates_import_csv(company=company, content="a,b\n1,2\n")
    assert "file" in err.value.message_dict


def test_ecb_import(company: Any) -> None:
    content = (DATA / "eurofxref-sample.xml").read_bytes()
    assert services.exchange_rates_import_ecb(company=company, content=content) == 8
    rate = ExchangeRate.objects.get(date=dt.date(2026, 1, 5), to_currency="JPY")
    assert (rate.from_currency_id, rate.rate, rate.source) == ("EUR", Decimal("162.45"), "ecb")
    # idempotent: the same file again replaces, adds nothing
    assert services.exchange_rates_import_ecb(company=company, content=content) == 8
    assert ExchangeRate.objects.count() == 8
    broken = content.replace(b'currency="CHF" rate="0.9412"', b'currency="ZZZ" rate="x"')
    with pytest.raises(ValidationError) as err:
        services.exchange_rates_import_ecb(company=company, content=broken)
    assert list(err.value.message_dict) == ["2026-01-05 ZZZ"]
    with pytest.raises(ValidationError):
        services.exchange_rates_import_ecb(company=company, content=b"<not xml")
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    with pytest.raises(ValidationError):
        services.exchange_rates_import_ecb(company=company, content=evil)


def test_rates_pages_and_import_view(accountant: Any, company: Any, login: Any) -> None:
    client = login(accountant)
    base = f"/c/{company.code}/ledger/"
    assert client.get(base + "currencies/?q=yen").status_code == 200
    eur = Currency.objects.get(code="EUR")
    page = client.get(base + f"currencies/{eur.pk}/")
    assert page.status_code == 200 and b"Edit" not in page.content
    assert client.get(base + "currencies/add/").status_code == 403
    assert client.post(base + f"currencies/{eur.pk}/delete/").status_code == 403
    upload = SimpleUploadedFile("eurofxref.xml", (DATA / "eurofxref-sample.xml").read_bytes())
    response = client.post(base + "exchange-rates/import/", {"file": upload})
    assert response.status_code == 302
    assert ExchangeRate.objects.for_company(company).count() == 8
    bad = SimpleUploadedFile(
        "rates.csv", b"date,from_currency,to_currency,rate\n2026-01-05,EUR,QQQ,1\n"
    )
    response = client.post(base + "exchange-rates/import/", {"file": bad})
    assert response.status_code == 400 and b"line 2" in response.content
    listing = client.get(base + "exchange-rates/?to_currency=usd&date_from=2026-01-03")
    assert listing.status_code == 200
    assert listing.context["table"].rows[0].record.rate == Decimal("1.0321")
    assert len(listing.context["table"].rows) == 1
    export = client.get(base + "exchange-rates/?export=csv")
    assert export.status_code == 200 and b"162.45" in export.content


def test_rates_api(accountant: Any, company: Any, client: Any) -> None:
    client.force_login(accountant)
    headers = {"HTTP_X_COMPANY": company.code}
    created = client.post(
        "/api/v1/ledger/exchange-rates/",
        {"date": "2026-02-02", "from_currency": "EUR", "to_currency": "USD", "rate": "1.05"},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    assert created.json()["rate"] == "1.0500000000"
    bad = client.post(
        "/api/v1/ledger/exchange-rates/",
        {"date": "2026-02-02", "from_currency": "EUR", "to_currency": "USD", "rate": "1.06"},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400
    currencies = client.get("/api/v1/ledger/currencies/?q=EUR", **headers)
    assert currencies.status_code == 200
    assert any(c["code"] == "EUR" and c["exponent"] == 2 for c in currencies.json()["results"])
    upload = SimpleUploadedFile("r.xml", (DATA / "eurofxref-sample.xml").read_bytes())
    imported = client.post("/api/v1/ledger/exchange-rates/import/", {"file": upload}, **headers)
    assert imported.status_code == 200 and imported.json() == {"imported": 8}

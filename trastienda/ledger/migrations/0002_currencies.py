"""Seed the currency table from ISO 4217 (:mod:`trastienda.core.currency_data`).

Active codes with a minor unit are active; withdrawn codes (HRK, ANG, ...) are kept inactive so
that old books still read; codes without a minor unit (gold, SDR, test codes) are left out,
since no amount can be stated in them in minor units. The reverse deletes the seeded codes.
"""

from django.db import migrations


def _rows():
    from trastienda.core.currency_data import CURRENCIES, WITHDRAWN

    for info in CURRENCIES.values():
        if info.exponent is not None:
            yield info.code, info.name, info.exponent, True
    for info in WITHDRAWN.values():
        if info.exponent is not None:
            yield info.code, info.name, info.exponent, False


def seed(apps, schema_editor):
    Currency = apps.get_model("ledger", "Currency")
    existing = set(Currency.objects.values_list("code", flat=True))
    Currency.objects.bulk_create(
        Currency(code=code, name=name, exponent=exponent, active=active)
        for code, name, exponent, active in _rows()
        if code not in existing
    )


def unseed(apps, schema_editor):
    Currency = apps.get_model("ledger", "Currency")
    Currency.objects.filter(code__in=[row[0] for row in _rows()]).delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]

"""Give the companies that existed before billing its defaults: the taxes of their country,
payment terms, invoice series on the sales journal and the billing settings.

New companies get them at set-up (``billing.setup`` → ``defaults.billing_defaults_load``).
This runs the same loader, ``defaults.defaults_apply``, with the migration's historical
models: it only creates what a company lacks (found by code) and only sets fields the
historical models have, so it stays valid when later migrations change these tables. It reads
the current default tables of ``defaults.py`` (one definition of the defaults, not a frozen
copy): a company migrated later gets the defaults of that day, like a new company. The
historical models are not watched by the audit recorder, so these rows have no audit entry
(as the ledger's chart of older companies). Backwards: nothing (0001's reversal drops the
tables).
"""

from django.db import migrations


def load(apps, schema_editor):
    from trastienda.billing.defaults import defaults_apply

    company_model = apps.get_model("core", "Company")
    for company in company_model.objects.order_by("pk"):
        defaults_apply(apps, company)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("core", "0001_initial"),
        ("ledger", "0007_statement_triggers"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop, elidable=True)]

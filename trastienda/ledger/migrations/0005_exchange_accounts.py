"""Fill the exchange gains/losses settings of companies created before they existed.

New companies get them at set-up (``fx.exchange_accounts_default``). Here, for each company
whose settings are empty, the accounts of its country's chart template are chosen when the
chart has them (postable, of type income for gains and expense for losses); the codes are
frozen below, as a migration must not follow later edits of the code. Backwards: nothing
(the fields are removed, if at all, by reversing 0004).
"""

from django.db import migrations
from django.db.models import Q

# country -> (gains, losses) of the chart the company got at set-up; others have the IFRS one
CODES = {"ES": ("768", "668"), "IT": ("12.04.001", "12.04.002")}
DEFAULT = ("7103", "7203")


def fill(apps, schema_editor):
    settings_model = apps.get_model("ledger", "LedgerSettings")
    account_model = apps.get_model("ledger", "Account")
    rows = settings_model.objects.select_related("company").filter(
        Q(exchange_gain_account__isnull=True) | Q(exchange_loss_account__isnull=True)
    )
    for row in rows:
        gain_code, loss_code = CODES.get(row.company.country, DEFAULT)
        accounts = account_model.objects.filter(company_id=row.company_id, postable=True)
        changed = []
        for field, code, kind in (
            ("exchange_gain_account", gain_code, "income"),
            ("exchange_loss_account", loss_code, "expense"),
        ):
            if getattr(row, f"{field}_id") is not None:
                continue
            account = accounts.filter(code=code, type=kind).first()
            if account is not None:
                setattr(row, field, account)
                changed.append(field)
        if changed:
            row.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_dimension_balances_fx_import")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]

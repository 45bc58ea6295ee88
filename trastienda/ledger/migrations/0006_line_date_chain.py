"""Posted lines carry their entry's date and chain position; monthly balances count lines.

The general ledger of an account and the edge days of a report then read the posted lines
from an index on the lines alone, and the general ledger's paginator counts whole months
from ``AccountBalance.lines``. Existing posted lines are filled from their entries with the
immutability triggers off for that one statement (the values are copies of hashed header
fields: nothing legally relevant changes), and the counts from the lines. The trigger SQL
is read back from the database and restored as it was, so this migration does not depend
on how the triggers are written. Backwards: the columns are dropped.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import ExtractMonth, ExtractYear

LINE = "ledger_journalentryline"
FILL = f"""
    UPDATE {LINE} SET
        date = (SELECT e.date FROM ledger_journalentry e WHERE e.id = {LINE}.entry_id),
        chain_seq = (SELECT e.chain_seq FROM ledger_journalentry e WHERE e.id = {LINE}.entry_id)
    WHERE entry_id IN (SELECT id FROM ledger_journalentry WHERE state = 'posted')
"""


def fill_lines(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [LINE],
            )
            saved = cursor.fetchall()
            for name, _sql in saved:
                cursor.execute(f'DROP TRIGGER "{name}"')
            cursor.execute(FILL)
            for _name, sql in saved:
                cursor.execute(sql)
        elif connection.vendor == "postgresql":
            # deferred checks still pending would forbid the ALTER TABLE: run them now
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {LINE} DISABLE TRIGGER USER")
            cursor.execute(FILL)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {LINE} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute(FILL)


SINGLE_INDEXES = ("company_id", "entry_id", "account_id")


def drop_single_indexes(apps, schema_editor):
    """Drop the lines' own indexes on company, entry and account, found by introspection (a
    state-only AlterField: on SQLite a real one would rebuild the table and its triggers)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, LINE)
    for name, info in constraints.items():
        if (
            info.get("index")
            and not info.get("unique")
            and not info.get("primary_key")
            and len(info["columns"]) == 1
            and info["columns"][0] in SINGLE_INDEXES
        ):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def create_single_indexes(apps, schema_editor):
    for column in SINGLE_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(f'ledger_line_{column}_single')}"
            f" ON {LINE} ({schema_editor.quote_name(column)})"
        )


def count_lines(apps, schema_editor):
    line_model = apps.get_model("ledger", "JournalEntryLine")
    balance_model = apps.get_model("ledger", "AccountBalance")
    counts = (
        line_model.objects.filter(entry__state="posted")
        .values("account_id", "currency_id")
        .annotate(y=ExtractYear("entry__date"), m=ExtractMonth("entry__date"), n=Count("id"))
        .order_by()
    )
    for row in counts:
        balance_model.objects.filter(
            account_id=row["account_id"],
            currency_id=row["currency_id"],
            year=row["y"],
            month=row["m"],
        ).update(lines=row["n"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("ledger", "0005_exchange_accounts"),
    ]

    operations = [
        migrations.AddField(
            model_name="accountbalance",
            name="lines",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="journalentryline",
            name="chain_seq",
            field=models.PositiveBigIntegerField(
                blank=True, editable=False, null=True, verbose_name="chain position"
            ),
        ),
        migrations.AddField(
            model_name="journalentryline",
            name="date",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="date"),
        ),
        migrations.AddIndex(
            model_name="journalentryline",
            index=models.Index(
                fields=["account", "date", "chain_seq", "line_no"], name="ledger_line_ledger_order"
            ),
        ),
        migrations.AddIndex(
            model_name="journalentryline",
            index=models.Index(fields=["company", "date"], name="ledger_line_company_date"),
        ),
        migrations.AddIndex(
            model_name="journalentry",
            index=models.Index(fields=["company", "reference"], name="ledger_entry_reference"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="journalentryline",
                    name=name,
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=on_delete,
                        related_name=related,
                        to=to,
                        verbose_name=name,
                    ),
                )
                for name, to, on_delete, related in (
                    ("company", "core.company", django.db.models.deletion.PROTECT, "+"),
                    ("entry", "ledger.journalentry", django.db.models.deletion.CASCADE, "lines"),
                    ("account", "ledger.account", django.db.models.deletion.PROTECT, "lines"),
                )
            ],
            database_operations=[
                migrations.RunPython(drop_single_indexes, create_single_indexes),
            ],
        ),
        migrations.RunPython(fill_lines, migrations.RunPython.noop),
        migrations.RunPython(count_lines, migrations.RunPython.noop),
    ]

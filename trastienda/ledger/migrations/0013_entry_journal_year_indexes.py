"""Two indexes fewer on journal entries, each costing every posting (together about 2 s per
500,000 entries inserted on PostgreSQL).

``ledger_entry_sequence_unique`` (journal, fiscal year, number in the sequence) now covers every
row, not only the numbered ones (a draft's NULL never clashes with another), so that it also
serves as the journal's index: the single-column index on the journal goes. The one on the
fiscal year goes too: a year's entries are found by their dates, and the key is looked up by
it only when a year without entries is deleted.

The field changes are state only (``db_index=False``), and the constraint is remade with SQL:
on SQLite Django would remake the table for either, and a remade table loses its immutability
triggers. PostgreSQL keeps the constraint as a table constraint, as Django would create it.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "ledger_journalentry"
COLUMNS = "journal_id, fiscal_year_id, sequence_number"
PLAIN = {
    "ledger_journalentry_journal_id_8d298578": "journal_id",
    "ledger_journalentry_fiscal_year_id_d1504ada": "fiscal_year_id",
}


def forward(apps, schema_editor):
    execute = schema_editor.execute
    execute("DROP INDEX IF EXISTS ledger_entry_sequence_unique")
    if schema_editor.connection.vendor == "postgresql":
        execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT ledger_entry_sequence_unique UNIQUE ({COLUMNS})")
    else:
        execute(f"CREATE UNIQUE INDEX ledger_entry_sequence_unique ON {TABLE} ({COLUMNS})")
    for name in PLAIN:
        execute(f"DROP INDEX IF EXISTS {name}")


def backward(apps, schema_editor):
    execute = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT ledger_entry_sequence_unique")
    else:
        execute("DROP INDEX ledger_entry_sequence_unique")
    execute(
        f"CREATE UNIQUE INDEX ledger_entry_sequence_unique ON {TABLE} ({COLUMNS})"
        " WHERE sequence_number IS NOT NULL"
    )
    for name, column in PLAIN.items():
        execute(f"CREATE INDEX {name} ON {TABLE} ({column})")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_company_address"),
        ("documents", "0001_initial"),
        ("ledger", "0012_company_checked_keys"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="journalentry",
                    name="ledger_entry_sequence_unique",
                ),
                migrations.AlterField(
                    model_name="journalentry",
                    name="fiscal_year",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.fiscalyear",
                        verbose_name="fiscal year",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentry",
                    name="journal",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="ledger.journal",
                        verbose_name="journal",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="journalentry",
                    constraint=models.UniqueConstraint(
                        fields=("journal", "fiscal_year", "sequence_number"),
                        name="ledger_entry_sequence_unique",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]

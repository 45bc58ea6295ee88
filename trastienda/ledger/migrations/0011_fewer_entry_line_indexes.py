"""Fewer indexes on journal entries and lines: each one costs every insert, and a bulk import
writes a million lines.

Dropped: the entry's and the line's single-column indexes on the company (the composite
indexes lead with it) and on the line's currency (and PostgreSQL's ``_like`` twin; no query
reads lines by currency alone). Made partial (``WHERE ... IS NOT NULL``): the entry's source
document and reversed entry, the line's cost centre and project, empty on nearly every row
(the lookups by them, ``= id``, use the partial index).

The field changes are state only (``db_index=False``): on SQLite an ``AlterField`` would remake
the table, and a remade table loses its immutability triggers. The database drops the old
indexes by name (the same on both databases) and creates the partial ones.
"""

import django.db.models.deletion
from django.db import migrations, models

DROP = [
    "DROP INDEX IF EXISTS ledger_journalentry_company_id_c3d68b22",
    "DROP INDEX IF EXISTS ledger_journalentry_reversal_of_id_d809660a",
    "DROP INDEX IF EXISTS ledger_journalentry_source_document_id_e6f38b82",
    "DROP INDEX IF EXISTS ledger_journalentryline_cost_centre_id_2a3a38a3",
    "DROP INDEX IF EXISTS ledger_journalentryline_currency_id_abd4ee0e",
    "DROP INDEX IF EXISTS ledger_journalentryline_currency_id_abd4ee0e_like",
    "DROP INDEX IF EXISTS ledger_journalentryline_project_id_8d24a60a",
]
# Back: the plain indexes again (without PostgreSQL's ``_like`` twin, which nothing used).
RECREATE = [
    "CREATE INDEX ledger_journalentry_company_id_c3d68b22 ON ledger_journalentry (company_id)",
    "CREATE INDEX ledger_journalentry_reversal_of_id_d809660a"
    " ON ledger_journalentry (reversal_of_id)",
    "CREATE INDEX ledger_journalentry_source_document_id_e6f38b82"
    " ON ledger_journalentry (source_document_id)",
    "CREATE INDEX ledger_journalentryline_cost_centre_id_2a3a38a3"
    " ON ledger_journalentryline (cost_centre_id)",
    "CREATE INDEX ledger_journalentryline_currency_id_abd4ee0e"
    " ON ledger_journalentryline (currency_id)",
    "CREATE INDEX ledger_journalentryline_project_id_8d24a60a"
    " ON ledger_journalentryline (project_id)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_company_address"),
        ("documents", "0001_initial"),
        ("ledger", "0010_balance_check_on_insert"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="journalentry",
                    name="company",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="core.company",
                        verbose_name="company",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentry",
                    name="reversal_of",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reversals",
                        to="ledger.journalentry",
                        verbose_name="reversal of",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentry",
                    name="source_document",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="documents.document",
                        verbose_name="source document",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentryline",
                    name="cost_centre",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.costcentre",
                        verbose_name="cost centre",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentryline",
                    name="currency",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.currency",
                        to_field="code",
                        verbose_name="currency",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentryline",
                    name="project",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.project",
                        verbose_name="project",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(DROP, RECREATE),
            ],
        ),
        migrations.AddIndex(
            model_name="journalentry",
            index=models.Index(
                condition=models.Q(("reversal_of__isnull", False)),
                fields=["reversal_of"],
                name="ledger_entry_reversal_of",
            ),
        ),
        migrations.AddIndex(
            model_name="journalentry",
            index=models.Index(
                condition=models.Q(("source_document__isnull", False)),
                fields=["source_document"],
                name="ledger_entry_source_document",
            ),
        ),
        migrations.AddIndex(
            model_name="journalentryline",
            index=models.Index(
                condition=models.Q(("cost_centre__isnull", False)),
                fields=["cost_centre"],
                name="ledger_line_cost_centre",
            ),
        ),
        migrations.AddIndex(
            model_name="journalentryline",
            index=models.Index(
                condition=models.Q(("project__isnull", False)),
                fields=["project"],
                name="ledger_line_project",
            ),
        ),
    ]

"""PostgreSQL: an entry's and a line's links to the company's other records are composite
foreign keys with the company: the database refuses a line whose account, entry, cost centre
or project, or an entry whose journal, fiscal year or reversed entry, belongs to another
company.

They replace the single-column keys on the link and on the company: one check per link
instead of two. Each key is checked at the commit (deferred) by one query per row, so a
million-line import made 5.5 million checks, about 20 s of its commit; now 4 million (the
lines: entry, account and currency; the entries: journal and fiscal year).

The referenced tables get ``UNIQUE (id, company_id)`` (a key needs a unique target). The
lookups the other way (refusing to remove a journal or an entry still linked) use the
existing indexes leading with the link's column.

The field changes are state only (``db_constraint=False``, so that Django makes no single
key for them): on SQLite an ``AlterField`` would remake the table and lose its triggers.
SQLite keeps its single-column keys. Backwards: the single-column keys again, with Django's
names.
"""

import django.db.models.deletion
from django.db import migrations, models

ENTRY = "ledger_journalentry"
LINE = "ledger_journalentryline"
KEY = "DEFERRABLE INITIALLY DEFERRED"

# table: the single-column keys Django made (name, column, referenced table)
SINGLE = {
    ENTRY: [
        (
            "ledger_journalentry_company_id_c3d68b22_fk_core_company_id",
            "company_id",
            "core_company",
        ),
        (
            "ledger_journalentry_journal_id_8d298578_fk_ledger_journal_id",
            "journal_id",
            "ledger_journal",
        ),
        (
            "ledger_journalentry_fiscal_year_id_d1504ada_fk_ledger_fi",
            "fiscal_year_id",
            "ledger_fiscalyear",
        ),
        ("ledger_journalentry_reversal_of_id_d809660a_fk_ledger_jo", "reversal_of_id", ENTRY),
    ],
    LINE: [
        (
            "ledger_journalentryline_company_id_568c0d9f_fk_core_company_id",
            "company_id",
            "core_company",
        ),
        ("ledger_journalentryl_entry_id_1dd26bc0_fk_ledger_jo", "entry_id", ENTRY),
        ("ledger_journalentryl_account_id_09e4d05d_fk_ledger_ac", "account_id", "ledger_account"),
        (
            "ledger_journalentryl_cost_centre_id_2a3a38a3_fk_ledger_co",
            "cost_centre_id",
            "ledger_costcentre",
        ),
        ("ledger_journalentryl_project_id_8d24a60a_fk_ledger_pr", "project_id", "ledger_project"),
    ],
}
# table: the composite keys (name, column, referenced table)
COMPOSITE = {
    ENTRY: [
        ("ledger_entry_journal_company_fk", "journal_id", "ledger_journal"),
        ("ledger_entry_fiscal_year_company_fk", "fiscal_year_id", "ledger_fiscalyear"),
        ("ledger_entry_reversal_of_company_fk", "reversal_of_id", ENTRY),
    ],
    LINE: [
        ("ledger_line_entry_company_fk", "entry_id", ENTRY),
        ("ledger_line_account_company_fk", "account_id", "ledger_account"),
        ("ledger_line_cost_centre_company_fk", "cost_centre_id", "ledger_costcentre"),
        ("ledger_line_project_company_fk", "project_id", "ledger_project"),
    ],
}
TARGETS = [
    "ledger_account",
    "ledger_journal",
    "ledger_fiscalyear",
    "ledger_costcentre",
    "ledger_project",
    ENTRY,
]


def _unique(table):
    return f"{table}_id_company_unique"


def _statements(forwards):
    """The SQL one way; pending deferred checks are run first (an ALTER TABLE refuses a table
    with triggers still to fire)."""
    out = ["SET CONSTRAINTS ALL IMMEDIATE"]
    if forwards:
        out += [
            f"ALTER TABLE {t} ADD CONSTRAINT {_unique(t)} UNIQUE (id, company_id)" for t in TARGETS
        ]
        for table, keys in SINGLE.items():
            out += [f"ALTER TABLE {table} DROP CONSTRAINT {name}" for name, _c, _r in keys]
        for table, keys in COMPOSITE.items():
            out += [
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}, company_id)"
                f" REFERENCES {target} (id, company_id) {KEY}"
                for name, column, target in keys
            ]
    else:
        for table, keys in COMPOSITE.items():
            out += [f"ALTER TABLE {table} DROP CONSTRAINT {name}" for name, _c, _r in keys]
        for table, keys in SINGLE.items():
            out += [
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column})"
                f" REFERENCES {target} (id) {KEY}"
                for name, column, target in keys
            ]
        out += [f"ALTER TABLE {t} DROP CONSTRAINT {_unique(t)}" for t in TARGETS]
    return [*out, "SET CONSTRAINTS ALL DEFERRED"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in _statements(True):
            schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in _statements(False):
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_company_address"),
        ("ledger", "0011_fewer_entry_line_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="journalentry",
                    name="company",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="core.company",
                        verbose_name="company",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentry",
                    name="fiscal_year",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
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
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="ledger.journal",
                        verbose_name="journal",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentry",
                    name="reversal_of",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reversals",
                        to="ledger.journalentry",
                        verbose_name="reversal of",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentryline",
                    name="account",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="ledger.account",
                        verbose_name="account",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentryline",
                    name="company",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="core.company",
                        verbose_name="company",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentryline",
                    name="cost_centre",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
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
                    name="entry",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="ledger.journalentry",
                        verbose_name="entry",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentryline",
                    name="project",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.project",
                        verbose_name="project",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]

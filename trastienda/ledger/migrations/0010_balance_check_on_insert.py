"""PostgreSQL: an entry INSERTed already posted has its balance checked by one statement-level
trigger at the INSERT, instead of one deferred row trigger per entry at the commit.

Why: the bulk path (imports, bulk invoicing) writes the lines first and then their entries
already posted. The deferred ``ledger_entry_balanced`` queued one PL/pgSQL call with two
queries per entry, run at the commit: about a third of the commit's time for a million-line
import. Now:

- ``ledger_entry_balanced`` (deferred, per row) fires on UPDATE only: a draft turned posted
  (every service but the bulk path: draft, lines, then posting) is still checked at the
  commit, with its lines as they are then.
- ``ledger_entry_balanced_insert`` (``AFTER INSERT ... REFERENCING NEW TABLE ... FOR EACH
  STATEMENT``, not deferred) refuses the statement when any entry it inserted posted has
  fewer than two lines or lines that do not balance. Checking at the INSERT is enough: once an
  entry is posted, lines can neither be added to it nor changed nor deleted (the line
  triggers refuse it at once), so what balances at the INSERT balances at the commit. An
  entry inserted posted before its lines has no lines then and is refused, as the deferred
  check refused it at the commit.

The per-entry check is a scalar sub-select over the lines' ``(entry_id, line_no)`` index
(PL/pgSQL keeps a statement's first plan for the session: this form probes the index whether
one entry or a million were inserted). The error is the same integrity error, with the same
message. SQLite has no deferred triggers and no balance trigger: nothing changes there. The
reverse restores 0007's trigger.
"""

from django.db import migrations

ENTRY = "ledger_journalentry"
LINE = "ledger_journalentryline"

POSTGRES_INSTALL = [
    f"DROP TRIGGER ledger_entry_balanced ON {ENTRY}",
    f"""
    CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER UPDATE ON {ENTRY}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.state = 'posted')
    EXECUTE FUNCTION ledger_entry_check_balance()
    """,
    f"""
    CREATE FUNCTION ledger_entry_refuse_unbalanced_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        target bigint;
        diff bigint;
        line_count integer;
    BEGIN
        SELECT e.id INTO target FROM new_entries e
         WHERE e.state = 'posted'
           AND (SELECT COUNT(*) < 2 OR COALESCE(SUM(l.debit - l.credit), 0) <> 0
                  FROM {LINE} l WHERE l.entry_id = e.id)
         LIMIT 1;
        IF target IS NOT NULL THEN
            SELECT COALESCE(SUM(debit - credit), 0), COUNT(*) INTO diff, line_count
              FROM {LINE} WHERE entry_id = target;
            RAISE EXCEPTION 'posted journal entry % does not balance (debit - credit = %, % lines)',
                target, diff, line_count USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE TRIGGER ledger_entry_balanced_insert AFTER INSERT ON {ENTRY}
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_refuse_unbalanced_inserted()
    """,
]
POSTGRES_UNINSTALL = [
    f"DROP TRIGGER ledger_entry_balanced_insert ON {ENTRY}",
    "DROP FUNCTION ledger_entry_refuse_unbalanced_inserted()",
    f"DROP TRIGGER ledger_entry_balanced ON {ENTRY}",
    f"""
    CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT OR UPDATE ON {ENTRY}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.state = 'posted')
    EXECUTE FUNCTION ledger_entry_check_balance()
    """,
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_INSTALL:
            schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_UNINSTALL:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0009_day_balances")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]

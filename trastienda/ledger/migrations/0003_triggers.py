"""Database triggers: posted journal entries and their lines are immutable.

- UPDATE and DELETE of a posted ``ledger_journalentry`` row are refused; so are INSERT,
  UPDATE and DELETE of a ``ledger_journalentryline`` row whose entry is posted. Drafts stay
  free. Posting itself is an UPDATE of a draft (the old row is a draft), so it passes.
- PostgreSQL only: a deferred constraint trigger checks, at commit, that every posted entry
  written in the transaction has at least two lines whose debits equal their credits.

Errors are integrity errors on both databases. The SQL is frozen here on purpose; on SQLite a
later migration that rebuilds these tables drops the triggers and must re-create them
(``test_triggers_installed`` catches it). ``trastienda.ledger.triggers.lifted`` turns them
off for tamper tests.
"""

from django.db import migrations

ENTRY = "ledger_journalentry"
LINE = "ledger_journalentryline"

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON {ENTRY}
    WHEN OLD.state = 'posted'
    BEGIN SELECT RAISE(ABORT, 'posted journal entries are immutable: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON {ENTRY}
    WHEN OLD.state = 'posted'
    BEGIN SELECT RAISE(ABORT, 'posted journal entries are immutable: DELETE refused'); END
    """,
    f"""
    CREATE TRIGGER ledger_line_no_insert BEFORE INSERT ON {LINE}
    WHEN (SELECT state FROM {ENTRY} WHERE id = NEW.entry_id) = 'posted'
    BEGIN SELECT RAISE(ABORT, 'lines of posted journal entries are immutable: INSERT refused'); END
    """,
    f"""
    CREATE TRIGGER ledger_line_no_update BEFORE UPDATE ON {LINE}
    WHEN (SELECT state FROM {ENTRY} WHERE id = OLD.entry_id) = 'posted'
      OR (SELECT state FROM {ENTRY} WHERE id = NEW.entry_id) = 'posted'
    BEGIN SELECT RAISE(ABORT, 'lines of posted journal entries are immutable: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER ledger_line_no_delete BEFORE DELETE ON {LINE}
    WHEN (SELECT state FROM {ENTRY} WHERE id = OLD.entry_id) = 'posted'
    BEGIN SELECT RAISE(ABORT, 'lines of posted journal entries are immutable: DELETE refused'); END
    """,
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS ledger_line_no_delete",
    "DROP TRIGGER IF EXISTS ledger_line_no_update",
    "DROP TRIGGER IF EXISTS ledger_line_no_insert",
    "DROP TRIGGER IF EXISTS ledger_entry_no_delete",
    "DROP TRIGGER IF EXISTS ledger_entry_no_update",
]

POSTGRES_INSTALL = [
    """
    CREATE FUNCTION ledger_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.state = 'posted' THEN
            RAISE EXCEPTION 'posted journal entries are immutable: % refused', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    f"""
    CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON {ENTRY}
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_refuse_change()
    """,
    f"""
    CREATE FUNCTION ledger_line_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
            SELECT 1 FROM {ENTRY} WHERE id = OLD.entry_id AND state = 'posted'
        ) OR TG_OP IN ('UPDATE', 'INSERT') AND EXISTS (
            SELECT 1 FROM {ENTRY} WHERE id = NEW.entry_id AND state = 'posted'
        ) THEN
            RAISE EXCEPTION 'lines of posted journal entries are immutable: % refused', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    f"""
    CREATE TRIGGER ledger_line_immutable BEFORE INSERT OR UPDATE OR DELETE ON {LINE}
    FOR EACH ROW EXECUTE FUNCTION ledger_line_refuse_change()
    """,
    f"""
    CREATE FUNCTION ledger_entry_check_balance() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        target bigint;
        entry_state text;
        diff bigint;
        line_count integer;
    BEGIN
        IF TG_TABLE_NAME = '{ENTRY}' THEN
            target := NEW.id;
        ELSE
            target := NEW.entry_id;
        END IF;
        SELECT state INTO entry_state FROM {ENTRY} WHERE id = target;
        IF entry_state = 'posted' THEN
            SELECT COALESCE(SUM(debit - credit), 0), COUNT(*) INTO diff, line_count
              FROM {LINE} WHERE entry_id = target;
            IF diff <> 0 OR line_count < 2 THEN
                RAISE EXCEPTION 'posted journal entry % does not balance (debit - credit = %, % lines)',
                    target, diff, line_count USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT OR UPDATE ON {ENTRY}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_check_balance()
    """,
    f"""
    CREATE CONSTRAINT TRIGGER ledger_line_balanced AFTER INSERT OR UPDATE ON {LINE}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_check_balance()
    """,
]
POSTGRES_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS ledger_line_balanced ON {LINE}",
    f"DROP TRIGGER IF EXISTS ledger_entry_balanced ON {ENTRY}",
    f"DROP TRIGGER IF EXISTS ledger_line_immutable ON {LINE}",
    f"DROP TRIGGER IF EXISTS ledger_entry_immutable ON {ENTRY}",
    "DROP FUNCTION IF EXISTS ledger_entry_check_balance()",
    "DROP FUNCTION IF EXISTS ledger_line_refuse_change()",
    "DROP FUNCTION IF EXISTS ledger_entry_refuse_change()",
]

SQL = {
    "sqlite": (SQLITE_INSTALL, SQLITE_UNINSTALL),
    "postgresql": (POSTGRES_INSTALL, POSTGRES_UNINSTALL),
}


def _run(schema_editor, index):
    vendor = schema_editor.connection.vendor
    if vendor not in SQL:
        raise RuntimeError(f"ledger triggers are not written for the {vendor} database")
    for statement in SQL[vendor][index]:
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor):
    _run(schema_editor, 0)


def uninstall(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_currencies")]

    operations = [migrations.RunPython(install, uninstall)]

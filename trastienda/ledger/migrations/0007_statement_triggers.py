"""Cheaper immutability and balance triggers, guarding the same things as ``0003_triggers``.

PostgreSQL:

- ``ledger_entry_immutable`` (entries, BEFORE UPDATE OR DELETE, per row) gets
  ``WHEN (OLD.state = 'posted')``: the function it runs refuses exactly that, so drafts (the
  bulk path turns hundreds of thousands of them posted) no longer call it.
- ``ledger_line_immutable`` (lines, per row, one query per row) is replaced by three
  statement-level triggers, ``ledger_line_immutable_insert`` / ``_update`` / ``_delete``
  (``AFTER ... REFERENCING NEW TABLE / OLD TABLE ... FOR EACH STATEMENT``): one query per
  statement over the rows it wrote refuses it when any of them belongs to a posted entry — for
  UPDATE the old and the new entry. Checked after the statement, not before each row: an entry
  never stops being posted (its UPDATE and DELETE are refused), so a line whose entry was posted
  before the statement still finds it posted; and lines written by the very statement that
  posts their entry (a data-modifying CTE) are refused too. ``COPY`` and
  ``INSERT ... ON CONFLICT`` fill the transition tables like any INSERT/UPDATE.
- The deferred balance check runs only for entries that are posted when written:
  ``ledger_entry_balanced`` gets ``WHEN (NEW.state = 'posted')`` (drafts queue nothing; its
  function, ``ledger_entry_check_balance`` of 0003, is kept as it is: a one-query variant
  measured no faster). ``ledger_line_balanced`` is dropped: at commit it could only refuse
  lines of an entry posted then, and such an entry was either posted in the transaction (its UPDATE or INSERT to posted
  queued the entry's check, which reads all its lines at commit) or before it (then any
  INSERT/UPDATE/DELETE of its lines is refused at once by the immutability triggers).

SQLite (no statement-level triggers): nothing changes. Measured on a copy of the schema
(200,000 lines inserted one ``executemany`` row at a time into drafts): no trigger 64,000
rows/s; 0003's ``WHEN (SELECT state ...) = 'posted'`` 22,000; ``WHEN EXISTS (...)`` 22,100;
the check in the body (``SELECT RAISE(...) FROM ... WHERE``) 22,000; even a trigger without
any sub-select (``WHEN NEW.entry_id < 0``) 22,300. The cost is the trigger's presence, not
its query (most likely: with a row trigger SQLite treats each INSERT as a multi-write
statement and opens a statement journal for it, once per ``executemany`` row; not verified
further). No formulation of the check helps; writing several rows per statement might.

Errors stay integrity errors, with the same messages. The SQL is frozen here; the reverse
restores the triggers of ``0003_triggers`` exactly (its frozen SQL).
"""

import importlib

from django.db import migrations

_0003 = importlib.import_module("trastienda.ledger.migrations.0003_triggers")

ENTRY = "ledger_journalentry"
LINE = "ledger_journalentryline"

# The refusal of the rows of one statement; ``{rows}`` is a transition table. One primary-key
# probe of the entries per row (a scalar sub-select: PL/pgSQL keeps the first plan of a
# session, and this one cannot turn into a scan of all the entries whatever the sizes).
_POSTED_IN = f"""
            SELECT r.entry_id INTO entry FROM {{rows}} r
             WHERE (SELECT e.state FROM {ENTRY} e WHERE e.id = r.entry_id) = 'posted' LIMIT 1;
            IF entry IS NOT NULL THEN
                RAISE EXCEPTION 'lines of posted journal entries are immutable: % refused', TG_OP
                    USING ERRCODE = 'integrity_constraint_violation',
                          DETAIL = format('journal entry %s is posted', entry);
            END IF;"""

POSTGRES_INSTALL = [
    f"DROP TRIGGER ledger_line_balanced ON {LINE}",
    f"DROP TRIGGER ledger_entry_balanced ON {ENTRY}",
    f"DROP TRIGGER ledger_line_immutable ON {LINE}",
    f"DROP TRIGGER ledger_entry_immutable ON {ENTRY}",
    "DROP FUNCTION ledger_line_refuse_change()",
    f"""
    CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON {ENTRY}
    FOR EACH ROW WHEN (OLD.state = 'posted') EXECUTE FUNCTION ledger_entry_refuse_change()
    """,
    f"""
    CREATE FUNCTION ledger_line_refuse_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        entry bigint;
    BEGIN{_POSTED_IN.format(rows="new_lines")}
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION ledger_line_refuse_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        entry bigint;
    BEGIN{_POSTED_IN.format(rows="old_lines")}{_POSTED_IN.format(rows="new_lines")}
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION ledger_line_refuse_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        entry bigint;
    BEGIN{_POSTED_IN.format(rows="old_lines")}
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE TRIGGER ledger_line_immutable_insert AFTER INSERT ON {LINE}
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_line_refuse_inserted()
    """,
    f"""
    CREATE TRIGGER ledger_line_immutable_update AFTER UPDATE ON {LINE}
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_line_refuse_updated()
    """,
    f"""
    CREATE TRIGGER ledger_line_immutable_delete AFTER DELETE ON {LINE}
    REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_line_refuse_deleted()
    """,
    f"""
    CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT OR UPDATE ON {ENTRY}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.state = 'posted')
    EXECUTE FUNCTION ledger_entry_check_balance()
    """,
]
# Back to 0003: drop every trigger and function, then run 0003's frozen install again.
POSTGRES_UNINSTALL = [
    f"DROP TRIGGER ledger_entry_balanced ON {ENTRY}",
    "DROP FUNCTION ledger_entry_check_balance()",
    f"DROP TRIGGER ledger_line_immutable_delete ON {LINE}",
    f"DROP TRIGGER ledger_line_immutable_update ON {LINE}",
    f"DROP TRIGGER ledger_line_immutable_insert ON {LINE}",
    "DROP FUNCTION ledger_line_refuse_deleted()",
    "DROP FUNCTION ledger_line_refuse_updated()",
    "DROP FUNCTION ledger_line_refuse_inserted()",
    f"DROP TRIGGER ledger_entry_immutable ON {ENTRY}",
    "DROP FUNCTION ledger_entry_refuse_change()",
    *_0003.POSTGRES_INSTALL,
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
    dependencies = [("ledger", "0006_line_date_chain")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]

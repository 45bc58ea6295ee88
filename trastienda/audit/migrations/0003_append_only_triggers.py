"""Database triggers that make the audit table append-only and keep the chain head.

- UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) of ``audit_auditentry`` are refused, with
  one exception: Django's ``SET_NULL`` when a user is deleted may set ``user_id`` to NULL
  and change nothing else. Errors are integrity errors on both databases.
- Every INSERT must extend the chain (``seq`` = head + 1, ``prev_hash`` = head hash); the
  trigger then moves the head forward, so the service needs only the head lock and the insert.

The SQL is frozen here on purpose. NOTE: on SQLite, a later migration that alters this table
makes Django rebuild it, which drops these triggers: such a migration must re-create them
(``test_triggers_installed`` catches it).
"""

from django.db import migrations

ENTRY = "audit_auditentry"
HEAD = "audit_auditchainhead"

# Columns that must not change when user_id is set to NULL (every column but user_id).
KEPT_COLUMNS = (
    "id", "seq", "created_at", "company_id", "user_pk", "username", "ip", "action",
    "object_type", "object_id", "object_repr", "changes", "extra", "hash_version",
    "prev_hash", "hash",
)

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON {ENTRY}
    WHEN NOT (NEW.user_id IS NULL AND {" AND ".join(f"NEW.{c} IS OLD.{c}" for c in KEPT_COLUMNS)})
    BEGIN
        SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused');
    END
    """,
    f"""
    CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON {ENTRY}
    BEGIN
        SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused');
    END
    """,
    f"""
    CREATE TRIGGER audit_entry_extends_chain BEFORE INSERT ON {ENTRY}
    WHEN NEW.seq IS NOT (SELECT seq + 1 FROM {HEAD} WHERE id = 1)
      OR NEW.prev_hash IS NOT (SELECT hash FROM {HEAD} WHERE id = 1)
    BEGIN
        SELECT RAISE(ABORT, 'audit entry does not extend the chain head');
    END
    """,
    f"""
    CREATE TRIGGER audit_entry_advance_head AFTER INSERT ON {ENTRY}
    BEGIN
        UPDATE {HEAD} SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
    END
    """,
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS audit_entry_advance_head",
    "DROP TRIGGER IF EXISTS audit_entry_extends_chain",
    "DROP TRIGGER IF EXISTS audit_entry_no_delete",
    "DROP TRIGGER IF EXISTS audit_entry_no_update",
]

POSTGRES_INSTALL = [
    f"""
    CREATE FUNCTION audit_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.user_id IS NULL
           AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $$
    """,
    f"""
    CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON {ENTRY}
    FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change()
    """,
    f"""
    CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON {ENTRY}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change()
    """,
    f"""
    CREATE FUNCTION audit_entry_advance_head() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {HEAD} SET seq = NEW.seq, hash = NEW.hash
         WHERE id = 1 AND seq = NEW.seq - 1 AND hash = NEW.prev_hash;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'audit entry % does not extend the chain head', NEW.seq
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE TRIGGER audit_entry_advance_head AFTER INSERT ON {ENTRY}
    FOR EACH ROW EXECUTE FUNCTION audit_entry_advance_head()
    """,
]
POSTGRES_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS audit_entry_advance_head ON {ENTRY}",
    f"DROP TRIGGER IF EXISTS audit_entry_no_truncate ON {ENTRY}",
    f"DROP TRIGGER IF EXISTS audit_entry_append_only ON {ENTRY}",
    "DROP FUNCTION IF EXISTS audit_entry_advance_head()",
    "DROP FUNCTION IF EXISTS audit_entry_refuse_change()",
]

SQL = {
    "sqlite": (SQLITE_INSTALL, SQLITE_UNINSTALL),
    "postgresql": (POSTGRES_INSTALL, POSTGRES_UNINSTALL),
}


def _run(schema_editor, index):
    vendor = schema_editor.connection.vendor
    if vendor not in SQL:
        raise RuntimeError(f"audit triggers are not written for the {vendor} database")
    for statement in SQL[vendor][index]:
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor):
    _run(schema_editor, 0)


def uninstall(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_chain_head"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]

"""The database refuses to rewrite the audit trail, on SQLite as on PostgreSQL.

- Events and the index of patients shown in lists: no UPDATE, no DELETE. On SQLite, DELETE is
  refused unless KetaCare's own connection function allows it (audit/guard.py: only the test
  suite's flush), and a connection without that function cannot delete at all.
- The chain head moves forward only and cannot be deleted.

SQLite dropped the earlier trigger when migration 0003 rebuilt the events table: all are made
again here. Events already in the trail are anchored (audit/anchors.py).
"""

from django.db import migrations

SQLITE_UP = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
    WHEN NOT ketacare_audit_delete_allowed()
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER audit_listed_no_update BEFORE UPDATE ON audit_auditlistedpatient
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER audit_listed_no_delete BEFORE DELETE ON audit_auditlistedpatient
    WHEN NOT ketacare_audit_delete_allowed()
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_auditchainhead
    WHEN NEW.seq < OLD.seq OR NEW.id <> OLD.id
    BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward'); END""",
    """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_auditchainhead
    WHEN NOT ketacare_audit_delete_allowed()
    BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward'); END""",
]
SQLITE_DOWN = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "audit_event_no_delete",
        "audit_listed_no_update",
        "audit_listed_no_delete",
        "audit_head_forward_only",
        "audit_head_no_delete",
    )
]

PG_UP = [
    """CREATE TRIGGER audit_listed_no_change BEFORE UPDATE OR DELETE ON audit_auditlistedpatient
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()""",
    """CREATE OR REPLACE FUNCTION audit_head_refuse_back() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq OR NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'the audit chain head only moves forward';
      END IF;
      RETURN NEW;
    END;
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_head_refuse_back()""",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS audit_listed_no_change ON audit_auditlistedpatient",
    "DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_auditchainhead",
    "DROP FUNCTION IF EXISTS audit_head_refuse_back()",
]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_UP)
    elif vendor == "postgresql":
        _run(schema_editor, PG_UP)


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_DOWN)
    elif vendor == "postgresql":
        _run(schema_editor, PG_DOWN)


def anchor_unkeyed_events(apps, schema_editor):
    """Events written before the chain was keyed have unkeyed links an intruder could recompute:
    an anchor (keyed, outside the database) written now vouches for them as they are."""
    if apps.get_model("audit", "AuditEvent").objects.exists():
        from ketacare.audit.anchors import anchor_write

        anchor_write()


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_keyed_chain_listed_patients")]
    operations = [
        migrations.RunPython(up, down),
        migrations.RunPython(anchor_unkeyed_events, migrations.RunPython.noop),
    ]

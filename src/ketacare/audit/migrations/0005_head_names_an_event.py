"""The chain head can name only an event that is in the trail: moving it to a made-up sequence
number or hash (which would make every later event look missing, and be anchored as the head) is
refused by the database, as moving it back already is."""

from django.db import migrations

SQLITE_UP = [
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_auditchainhead
    WHEN NEW.seq < OLD.seq OR NEW.id <> OLD.id OR (NEW.seq > 0 AND NOT EXISTS (
        SELECT 1 FROM audit_auditevent WHERE seq = NEW.seq AND hash = NEW.hash))
    BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward, to an event in the trail'); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    """CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_auditchainhead
    WHEN NEW.seq < OLD.seq OR NEW.id <> OLD.id
    BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward'); END""",
]
PG_FUNCTION = """CREATE OR REPLACE FUNCTION audit_head_refuse_back() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq OR NEW.id <> OLD.id {extra} THEN
    RAISE EXCEPTION 'the audit chain head only moves forward, to an event in the trail';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql"""
PG_EXTRA = (
    "OR (NEW.seq > 0 AND NOT EXISTS (SELECT 1 FROM audit_auditevent WHERE seq = NEW.seq AND hash = NEW.hash))"
)


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in SQLITE_UP:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION.format(extra=PG_EXTRA))


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in SQLITE_DOWN:
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION.format(extra=""))


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_append_only_everywhere")]
    operations = [migrations.RunPython(up, down)]

"""The database refuses to change or delete a ledger entry or a countersignature, on SQLite as on
PostgreSQL (21 CFR 1304: a correction is a new, reversing entry). On SQLite a DELETE is refused
unless KetaCare's connection function allows it (audit/guard.py: the test suite's flush alone)."""

from django.db import migrations

TABLES = ("ledger_entry", "ledger_countersignature")

SQLITE_UP = [
    statement
    for table in TABLES
    for statement in (
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: record a correction'); END""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        WHEN NOT ketacare_audit_delete_allowed()
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: record a correction'); END""",
    )
]
SQLITE_DOWN = [
    f"DROP TRIGGER IF EXISTS {table}_{what}" for table in TABLES for what in ("no_update", "no_delete")
]

PG_UP = [
    """CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'ledger entries are append-only: record a correction';
    END;
    $$ LANGUAGE plpgsql""",
    *(
        f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"""
        for table in TABLES
    ),
]
PG_DOWN = [
    *(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS ledger_refuse_change()",
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


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(up, down)]

"""The database refuses to delete a published consent document or a consent signature, whatever
code tries: 0007 refused only changes, while the models' docstrings and hazard H-080 promise that
neither is ever deleted (a raw DELETE, a careless script, a cascade from a future model). On
SQLite a DELETE is refused unless KetaCare's connection function allows it (audit/guard.py: the
test suite's flush alone; a connection without the function cannot delete at all), as for the
ledger; PostgreSQL's flush truncates, which row triggers do not see."""

from django.db import migrations

TABLES = (
    (
        "patients_consentdocument",
        "consent_document_no_delete",
        "a published consent document cannot be deleted",
    ),
    ("patients_consentsignature", "consent_signature_no_delete", "a consent signature cannot be deleted"),
)


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, name, message in TABLES:
        if vendor == "sqlite":
            schema_editor.execute(
                f"CREATE TRIGGER {name} BEFORE DELETE ON {table} WHEN NOT ketacare_audit_delete_allowed() "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            )
        elif vendor == "postgresql":
            schema_editor.execute(
                f"""CREATE OR REPLACE FUNCTION {name}_refuse() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION '{message}'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {name} BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}_refuse();"""
            )


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, name, _ in TABLES:
        if vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")
        elif vendor == "postgresql":
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}_refuse();"
            )


class Migration(migrations.Migration):
    dependencies = [("patients", "0007_consent_append_only")]
    operations = [migrations.RunPython(up, down)]

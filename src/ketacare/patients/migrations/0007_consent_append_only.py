"""The database refuses to change a published consent document, whatever code tries (a change is a
new version), and to change a consent signature except to record its withdrawal, once: the
version a patient signed, the name they typed, when and how, and the witness stay as made."""

from django.db import migrations

SIGNATURE_KEPT = (
    "id",
    "patient_id",
    "document_id",
    "typed_name",
    "signed_at",
    "method",
    "witness_id",
    "recorded_at",
)

# SQLite runs one statement at a time.
SQLITE_UP = (
    """CREATE TRIGGER consent_document_no_update BEFORE UPDATE ON patients_consentdocument
BEGIN SELECT RAISE(ABORT, 'a published consent document cannot be changed'); END;""",
    f"""CREATE TRIGGER consent_signature_append_only BEFORE UPDATE ON patients_consentsignature
WHEN OLD.withdrawn_at IS NOT NULL OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in SIGNATURE_KEPT)}
BEGIN SELECT RAISE(ABORT, 'a consent signature cannot be changed; only its withdrawal is recorded, once'); END;""",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS consent_document_no_update;",
    "DROP TRIGGER IF EXISTS consent_signature_append_only;",
)

PG_UP = f"""
CREATE OR REPLACE FUNCTION consent_document_refuse_update() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'a published consent document cannot be changed'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_document_no_update BEFORE UPDATE ON patients_consentdocument
FOR EACH ROW EXECUTE FUNCTION consent_document_refuse_update();
CREATE OR REPLACE FUNCTION consent_signature_refuse_change() RETURNS trigger AS $$
BEGIN
  IF OLD.withdrawn_at IS NOT NULL
     OR {" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in SIGNATURE_KEPT)} THEN
    RAISE EXCEPTION 'a consent signature cannot be changed; only its withdrawal is recorded, once';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_signature_append_only BEFORE UPDATE ON patients_consentsignature
FOR EACH ROW EXECUTE FUNCTION consent_signature_refuse_change();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS consent_document_no_update ON patients_consentdocument;
DROP FUNCTION IF EXISTS consent_document_refuse_update();
DROP TRIGGER IF EXISTS consent_signature_append_only ON patients_consentsignature;
DROP FUNCTION IF EXISTS consent_signature_refuse_change();
"""


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)
    elif vendor == "postgresql":
        schema_editor.execute(PG_UP)


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)
    elif vendor == "postgresql":
        schema_editor.execute(PG_DOWN)


class Migration(migrations.Migration):
    dependencies = [("patients", "0006_consent")]
    operations = [migrations.RunPython(up, down)]

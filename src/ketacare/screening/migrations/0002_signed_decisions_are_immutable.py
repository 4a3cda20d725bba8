"""The database refuses to change a signed candidacy decision, whatever code tries: a correction
is a new signed decision that supersedes it."""

from django.db import migrations

SQLITE_UP = """
CREATE TRIGGER candidacy_decision_no_update BEFORE UPDATE ON screening_candidacydecision
BEGIN SELECT RAISE(ABORT, 'a signed candidacy decision cannot be changed'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS candidacy_decision_no_update;"

PG_UP = """
CREATE OR REPLACE FUNCTION candidacy_decision_refuse_update() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'a signed candidacy decision cannot be changed'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER candidacy_decision_no_update BEFORE UPDATE ON screening_candidacydecision
FOR EACH ROW EXECUTE FUNCTION candidacy_decision_refuse_update();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS candidacy_decision_no_update ON screening_candidacydecision;
DROP FUNCTION IF EXISTS candidacy_decision_refuse_update();
"""


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)
    elif vendor == "postgresql":
        schema_editor.execute(PG_UP)


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)
    elif vendor == "postgresql":
        schema_editor.execute(PG_DOWN)


class Migration(migrations.Migration):
    dependencies = [("screening", "0001_initial")]
    operations = [migrations.RunPython(up, down)]

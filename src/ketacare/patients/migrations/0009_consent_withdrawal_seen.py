"""Consent follows the assessment, and a withdrawal in the portal reaches someone:

- a signature names the candidacy decision it follows (when that decision was signed), and the
  same version may be signed once per decision (a new assessment asks for consent again);
- who on the staff saw a withdrawal the patient made in the portal, and when (once).

The trigger of 0007 refused any change to a withdrawn signature; it is replaced by one that also
lets the two acknowledgement columns be written, once, and keeps the new decision column as made.
(Both constraints here are partial unique indexes: SQLite does not rebuild the table, which would
drop its triggers.)"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


KEPT_0007 = ("id", "patient_id", "document_id", "typed_name", "signed_at", "method", "witness_id", "recorded_at")
KEPT = (*KEPT_0007, "decision_signed_at")
WITHDRAWAL = ("withdrawn_at", "withdrawn_how", "withdrawn_by_id", "withdrawn_reason")
MESSAGE = "a consent signature cannot be changed; only its withdrawal is recorded, once, then seen, once"


def _changed(columns, op):
    return " OR ".join(f"NEW.{c} {op} OLD.{c}" for c in columns)


def _refuse(op):
    # A kept column changed; anything changed after the withdrawal was seen; the withdrawal
    # changed once recorded; seen without a withdrawal, or without saying by whom. (No check
    # constraint: adding one makes SQLite rebuild the table, which drops its triggers.)
    return (
        f"{_changed(KEPT, op)} OR OLD.withdrawal_seen_at IS NOT NULL "
        f"OR (OLD.withdrawn_at IS NOT NULL AND ({_changed(WITHDRAWAL, op)})) "
        "OR (NEW.withdrawal_seen_at IS NOT NULL AND NEW.withdrawn_at IS NULL) "
        "OR ((NEW.withdrawal_seen_at IS NULL) <> (NEW.withdrawal_seen_by_id IS NULL))"
    )


def _refuse_0007(op):
    return f"OLD.withdrawn_at IS NOT NULL OR {_changed(KEPT_0007, op)}"


def _sqlite(condition):
    return (
        "DROP TRIGGER IF EXISTS consent_signature_append_only;",
        f"""CREATE TRIGGER consent_signature_append_only BEFORE UPDATE ON patients_consentsignature
WHEN {condition}
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    )


def _pg(condition):
    return f"""
CREATE OR REPLACE FUNCTION consent_signature_refuse_change() RETURNS trigger AS $$
BEGIN
  IF {condition} THEN
    RAISE EXCEPTION '{MESSAGE}';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def _replace(schema_editor, sqlite_condition, pg_condition):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in _sqlite(sqlite_condition):
            schema_editor.execute(statement)
    elif vendor == "postgresql":
        # The trigger of 0007 calls this function: replacing it is enough.
        schema_editor.execute(_pg(pg_condition))


def up(apps, schema_editor):
    _replace(schema_editor, _refuse("IS NOT"), _refuse("IS DISTINCT FROM"))


def down(apps, schema_editor):
    _replace(schema_editor, _refuse_0007("IS NOT"), _refuse_0007("IS DISTINCT FROM"))


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0008_consent_no_delete"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="consentsignature",
            name="consent_signed_once_until_withdrawn",
        ),
        migrations.AddField(
            model_name="consentsignature",
            name="decision_signed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="consentsignature",
            constraint=models.UniqueConstraint(
                condition=models.Q(("withdrawn_at__isnull", True)),
                fields=("patient", "document", "decision_signed_at"),
                name="consent_signed_once_per_decision",
                violation_error_message="The patient has already signed this version of the consent.",
            ),
        ),
        migrations.AddField(
            model_name="consentsignature",
            name="withdrawal_seen_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="consentsignature",
            name="withdrawal_seen_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(up, down),
    ]

"""The dashboard's group-order indexes, on SQLite only (see outcomes.models.GROUP_INDEXES)."""

from django.db import migrations, models

GROUP_INDEXES = (
    (
        "patientoutcome",
        models.Index(
            fields=[
                "instrument",
                "condition",
                "route",
                "protocol",
                "period",
                "excluded_first",
                "excluded_week",
                "excluded_course",
            ],
            name="outcome_scale_groups",
        ),
    ),
    (
        "treatedpatient",
        models.Index(
            fields=[
                "condition",
                "route",
                "protocol",
                "period",
                "first_due_at",
                "week_due_at",
                "course_due_at",
                "treatments",
                "patient",
            ],
            name="treated_groups",
        ),
    ),
)


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for model, index in GROUP_INDEXES:
            schema_editor.add_index(apps.get_model("outcomes", model), index)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for model, index in GROUP_INDEXES:
            schema_editor.remove_index(apps.get_model("outcomes", model), index)


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0006_derived_rows_without_foreign_key_checks")]

    operations = [migrations.RunPython(add, remove)]

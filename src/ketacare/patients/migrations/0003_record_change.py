"""The marks of changed patient records move here from the outcomes app (its OutcomeChange): the
clinical apps below outcomes write them. The table is renamed; no row changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_patient_phone_digits_index"),
        ("outcomes", "0007_dashboard_group_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RecordChange",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("changed_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "patient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="patients.patient",
                            ),
                        ),
                    ],
                    options={"db_table": "outcomes_outcomechange"},
                ),
            ],
        ),
        migrations.AlterModelTable(name="RecordChange", table=None),
    ]

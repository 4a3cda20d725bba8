import datetime

from django.db import migrations, models

# Derived rows: any value will do for the moment; the settings version changes with this form
# (outcomes/rules.py STORED_FORM), so the next catch-up rebuilds every row.
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0004_dashboard_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="treatedpatient",
            name="period",
            field=models.CharField(
                default="", help_text="quarter of the first treatment, clinic time", max_length=7
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="treatedpatient",
            name="protocol",
            field=models.CharField(default="", max_length=30),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="treatedpatient",
            name="first_due_at",
            field=models.DateTimeField(default=EPOCH),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="treatedpatient",
            name="week_due_at",
            field=models.DateTimeField(default=EPOCH),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="treatedpatient",
            name="course_due_at",
            field=models.DateTimeField(default=EPOCH),
            preserve_default=False,
        ),
    ]

"""OutcomeChange is now patients.RecordChange (patients 0003 took over its table)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0007_dashboard_group_indexes"),
        ("patients", "0003_record_change"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="OutcomeChange")]),
    ]

"""The wastes waiting for a witness as a list of their own (WitnessDue), filled from the book:
each waste posted without a witness and not yet countersigned."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    Entry = apps.get_model("ledger", "Entry")
    WitnessDue = apps.get_model("ledger", "WitnessDue")
    waiting = Entry.objects.filter(kind="waste", witness__isnull=True, countersignature__isnull=True)
    WitnessDue.objects.bulk_create(
        [WitnessDue(entry_id=pk) for pk in waiting.values_list("pk", flat=True).iterator()], batch_size=1000
    )


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_append_only"),
    ]

    operations = [
        migrations.CreateModel(
            name="WitnessDue",
            fields=[
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="witness_due",
                        serialize=False,
                        to="ledger.entry",
                    ),
                ),
            ],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]

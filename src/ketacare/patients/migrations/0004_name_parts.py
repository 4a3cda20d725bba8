"""Search keys for the later parts of family names, filled in for the patients on record."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q

from ketacare.patients.names import later_part_keys

BATCH = 2000


def fill(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    NamePart = apps.get_model("patients", "NamePart")
    named = Patient.objects.filter(
        Q(family_name__contains=" ") | Q(family_name__contains="-") | Q(family_name__regex=r"[\u2010-\u2015]")
    ).values_list("id", "family_name")
    parts = []
    for patient_id, family_name in named.iterator(chunk_size=BATCH):
        parts += [NamePart(patient_id=patient_id, key=key) for key in later_part_keys(family_name)]
        if len(parts) >= BATCH:
            NamePart.objects.bulk_create(parts)
            parts = []
    NamePart.objects.bulk_create(parts)


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0003_record_change'),
    ]

    operations = [
        migrations.CreateModel(
            name='NamePart',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=100)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='name_parts', to='patients.patient')),
            ],
            options={
                'indexes': [models.Index(fields=['key', 'patient'], name='name_part_key')],
                'constraints': [models.UniqueConstraint(fields=('patient', 'key'), name='name_part_unique')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]

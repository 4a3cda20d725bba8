"""Treatment: migrations 0001 to 0003 in one. A database that ran them all is taken as having run
this one (nothing runs); a new database runs this one. A database that ran only some of them is
stopped by ketacare.migration_history.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('treatment', '0001_initial'),
        ('treatment', '0002_chair_safety'),
        ('treatment', '0003_clinic_hours'),
    ]

    dependencies = [
        ('patients', '0001_squashed_0009_consent_withdrawal_seen'),
        ('screening', '0001_squashed_0004_keyed_signatures'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Chair',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=40, unique=True)),
                ('room', models.CharField(blank=True, max_length=60)),
                ('active', models.BooleanField(default=True)),
            ],
            options={
                'ordering': ('name',),
            },
        ),
        migrations.CreateModel(
            name='Closure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('date', models.DateField(unique=True)),
                ('reason', models.CharField(max_length=120)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('date',),
            },
        ),
        migrations.CreateModel(
            name='OpeningHours',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weekday', models.PositiveSmallIntegerField(help_text='0 = Monday ... 6 = Sunday', unique=True)),
                ('opens', models.TimeField()),
                ('closes', models.TimeField()),
            ],
            options={
                'ordering': ('weekday',),
                'constraints': [models.CheckConstraint(condition=models.Q(('weekday__lte', 6)), name='opening_hours_weekday', violation_error_message='0-6.'), models.CheckConstraint(condition=models.Q(('closes__gt', models.F('opens'))), name='opening_hours_close_after_open', violation_error_message='The clinic must close after it opens.')],
            },
        ),
        migrations.CreateModel(
            name='TreatmentPlan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('protocol', models.CharField(choices=[('iv_ketamine_standard', 'iv_ketamine_standard'), ('im_ketamine', 'im_ketamine'), ('esketamine_nasal', 'esketamine_nasal')], max_length=30)),
                ('route', models.CharField(choices=[('iv_ketamine', 'IV ketamine'), ('im_ketamine', 'IM ketamine'), ('esketamine', 'Esketamine nasal spray')], max_length=20)),
                ('dose_mg_per_kg', models.DecimalField(blank=True, decimal_places=2, max_digits=4, null=True)),
                ('dose_mg', models.DecimalField(blank=True, decimal_places=1, max_digits=6, null=True)),
                ('weight_basis', models.CharField(blank=True, choices=[('actual', 'actual body weight'), ('ideal', 'ideal body weight'), ('adjusted', 'adjusted body weight')], max_length=10)),
                ('induction_sessions', models.PositiveSmallIntegerField()),
                ('booster_interval_days', models.PositiveSmallIntegerField()),
                ('phase', models.CharField(choices=[('induction', 'Induction'), ('maintenance', 'Maintenance')], default='induction', max_length=12)),
                ('status', models.CharField(choices=[('active', 'Active'), ('stopped', 'Stopped')], default='active', max_length=10)),
                ('started_on', models.DateField()),
                ('goals', models.TextField(blank=True)),
                ('suicidal_ideation_indication', models.BooleanField(default=False, verbose_name='Depressive symptoms with acute suicidal ideation or behaviour (esketamine 84 mg start)')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('stopped_at', models.DateTimeField(blank=True, null=True)),
                ('stop_reason', models.CharField(blank=True, max_length=300)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('decision', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='screening.candidacydecision')),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='plans', to='patients.patient')),
                ('stopped_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('-started_on', '-id'),
            },
        ),
        migrations.CreateModel(
            name='MaintenanceDecision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('phase', models.CharField(choices=[('induction', 'Induction'), ('maintenance', 'Maintenance')], max_length=12)),
                ('booster_interval_days', models.PositiveSmallIntegerField()),
                ('reason', models.TextField()),
                ('decided_at', models.DateTimeField()),
                ('decided_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('plan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='maintenance_decisions', to='treatment.treatmentplan')),
            ],
            options={
                'ordering': ('-decided_at', '-id'),
            },
        ),
        migrations.CreateModel(
            name='Appointment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('induction', 'Induction'), ('maintenance', 'Maintenance'), ('booster', 'Booster')], max_length=12)),
                ('starts_at', models.DateTimeField()),
                ('ends_at', models.DateTimeField()),
                ('status', models.CharField(choices=[('booked', 'Booked'), ('attended', 'Attended'), ('cancelled', 'Cancelled')], default='booked', max_length=10)),
                ('times_rescheduled', models.PositiveSmallIntegerField(default=0)),
                ('last_change_reason', models.CharField(blank=True, max_length=300)),
                ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('cancelled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('clinician', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='appointments', to='patients.patient')),
                ('chair', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='appointments', to='treatment.chair')),
                ('plan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='appointments', to='treatment.treatmentplan')),
            ],
            options={
                'ordering': ('starts_at', 'id'),
            },
        ),
        migrations.AddConstraint(
            model_name='treatmentplan',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'active')), fields=('patient',), name='one_active_plan_per_patient', violation_error_message='This patient already has an active treatment plan.'),
        ),
        migrations.AddIndex(
            model_name='appointment',
            index=models.Index(fields=['chair', 'starts_at'], name='appointment_chair_time'),
        ),
        migrations.AddIndex(
            model_name='appointment',
            index=models.Index(fields=['clinician', 'starts_at'], name='appointment_staff_time'),
        ),
        migrations.AddIndex(
            model_name='appointment',
            index=models.Index(fields=['patient', 'starts_at'], name='appointment_patient_time'),
        ),
        migrations.AddIndex(
            model_name='appointment',
            index=models.Index(fields=['starts_at'], name='appointment_time'),
        ),
        migrations.AddConstraint(
            model_name='appointment',
            constraint=models.CheckConstraint(condition=models.Q(('ends_at__gt', models.F('starts_at'))), name='appointment_ends_after_start', violation_error_message='An appointment must end after it starts.'),
        ),
        migrations.AddConstraint(
            model_name='appointment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('cancelled_at__isnull', False), ('status', 'cancelled')), models.Q(models.Q(('status', 'cancelled'), _negated=True), ('cancelled_at__isnull', True)), _connector='OR'), name='appointment_cancel_fields', violation_error_message='A cancelled appointment records when it was cancelled.'),
        ),
    ]

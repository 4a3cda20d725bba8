"""Outcomes: migrations 0001 to 0009 in one. A database that ran them all is taken as having run
this one (nothing runs); a new database runs this one. A database that ran only some of them is
stopped by ketacare.migration_history.

The dashboard's group-order indexes are made on SQLite only, as 0007 made them. 0008 only
moved OutcomeChange to patients (RecordChange), which patients' migration now makes itself.
"""

import django.db.models.deletion
from django.db import migrations, models

from ketacare.migration_sql import VendorSQL, index

# The dashboard's group-order indexes, on SQLite only (see outcomes.models.GROUP_INDEXES).
GROUP_INDEXES = VendorSQL(
    sqlite=[
        index(
            "outcome_scale_groups",
            "outcomes_patientoutcome",
            [
                "instrument",
                "condition",
                "route",
                "protocol",
                "period",
                "excluded_first",
                "excluded_week",
                "excluded_course",
            ],
        ),
        index(
            "treated_groups",
            "outcomes_treatedpatient",
            [
                "condition",
                "route",
                "protocol",
                "period",
                "first_due_at",
                "week_due_at",
                "course_due_at",
                "treatments",
                "patient_id",
            ],
        ),
    ],
)


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('outcomes', '0001_initial'),
        ('outcomes', '0002_projection_time_points'),
        ('outcomes', '0003_treated_patients'),
        ('outcomes', '0004_dashboard_indexes'),
        ('outcomes', '0005_treated_patient_due_dates'),
        ('outcomes', '0006_derived_rows_without_foreign_key_checks'),
        ('outcomes', '0007_dashboard_group_indexes'),
        ('outcomes', '0008_record_change_moved'),
        ('outcomes', '0009_scale_names'),
    ]

    dependencies = [
        ('patients', '0001_squashed_0009_consent_withdrawal_seen'),
    ]

    operations = [
        migrations.CreateModel(
            name='OutcomeState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rules_version', models.CharField(max_length=16)),
                ('refreshed_at', models.DateTimeField()),
                ('caught_up_at', models.DateTimeField(null=True)),
                ('failed_at', models.DateTimeField(null=True)),
                ('failure', models.TextField(blank=True)),
            ],
        ),
        migrations.CreateModel(
            name='TreatedPatient',
            fields=[
                ('patient', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='patients.patient')),
                ('condition', models.CharField(blank=True, help_text='primary diagnosis (ICD-10-CM)', max_length=10)),
                ('first_treatment_at', models.DateTimeField()),
                ('period', models.CharField(help_text='quarter of the first treatment, clinic time', max_length=7)),
                ('route', models.CharField(max_length=20)),
                ('protocol', models.CharField(max_length=30)),
                ('treatments', models.PositiveIntegerField()),
                ('first_due_at', models.DateTimeField()),
                ('week_due_at', models.DateTimeField()),
                ('course_due_at', models.DateTimeField()),
            ],
            options={
                'indexes': [models.Index(fields=['first_treatment_at'], name='treated_first_treatment')],
            },
        ),
        migrations.CreateModel(
            name='PatientOutcome',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('instrument', models.CharField(choices=[('phq9', 'PHQ-9'), ('gad7', 'GAD-7'), ('epds', 'EPDS'), ('pcl5', 'PCL-5'), ('qids_sr16', 'QIDS-SR16'), ('madrs', 'MADRS'), ('cadss', 'CADSS'), ('cssrs_screen', 'C-SSRS screener')], max_length=20)),
                ('rules_version', models.CharField(max_length=16)),
                ('condition', models.CharField(blank=True, help_text='primary diagnosis (ICD-10-CM)', max_length=10)),
                ('first_treatment_at', models.DateTimeField()),
                ('period', models.CharField(help_text='quarter of the first treatment, clinic time: 2026 Q3', max_length=7)),
                ('route', models.CharField(max_length=20)),
                ('protocol', models.CharField(max_length=30)),
                ('treatments', models.PositiveIntegerField()),
                ('baseline_total', models.SmallIntegerField(null=True)),
                ('baseline_at', models.DateTimeField(null=True)),
                ('baseline_context', models.CharField(blank=True, help_text='measures Context', max_length=16)),
                ('same_day_total', models.SmallIntegerField(null=True)),
                ('same_day_response', models.BooleanField(null=True)),
                ('same_day_remission', models.BooleanField(null=True)),
                ('first_total', models.SmallIntegerField(null=True)),
                ('first_response', models.BooleanField(null=True)),
                ('first_remission', models.BooleanField(null=True)),
                ('week_total', models.SmallIntegerField(null=True)),
                ('week_response', models.BooleanField(null=True)),
                ('week_remission', models.BooleanField(null=True)),
                ('course_end_at', models.DateTimeField(null=True)),
                ('course_total', models.SmallIntegerField(null=True)),
                ('course_response', models.BooleanField(null=True)),
                ('course_remission', models.BooleanField(null=True)),
                ('first_due_at', models.DateTimeField(null=True)),
                ('week_due_at', models.DateTimeField(null=True)),
                ('course_due_at', models.DateTimeField(null=True)),
                ('first_days', models.FloatField(null=True)),
                ('week_days', models.FloatField(null=True)),
                ('course_days', models.FloatField(null=True)),
                ('excluded_first', models.CharField(blank=True, max_length=40)),
                ('excluded_week', models.CharField(blank=True, max_length=40)),
                ('excluded_course', models.CharField(blank=True, max_length=40)),
                ('days_to_response', models.FloatField(null=True)),
                ('first_response_at', models.DateTimeField(null=True)),
                ('relapse_at', models.DateTimeField(null=True)),
                ('days_responding', models.FloatField(help_text='to the relapse, or to the last score', null=True)),
                ('relapsed', models.BooleanField(null=True)),
                ('latest_total', models.SmallIntegerField(null=True)),
                ('latest_at', models.DateTimeField(null=True)),
                ('trend', models.CharField(blank=True, max_length=12)),
                ('weeks_on_trials', models.FloatField(help_text='antidepressant trials before ketamine', null=True)),
                ('patient', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='outcomes', to='patients.patient')),
            ],
            options={
                'permissions': [('view_outcomes', "See the clinic's outcome figures and reports")],
                'indexes': [models.Index(fields=['instrument', 'first_treatment_at'], name='outcome_scale_time'), models.Index(fields=['trend', 'latest_at'], name='outcome_trend'), models.Index(fields=['instrument', 'trend', 'latest_at'], name='outcome_scale_trend'), models.Index(fields=['instrument', 'excluded_first', 'excluded_course', 'patient'], name='outcome_scale_left_out')],
                'constraints': [models.UniqueConstraint(fields=('patient', 'instrument'), name='one_outcome_per_patient_scale')],
            },
        ),
        GROUP_INDEXES,
    ]

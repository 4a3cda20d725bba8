"""Screening: migrations 0001 to 0004 in one. A database that ran them all is taken as having run
this one (nothing runs); a new database runs this one. A database that ran only some of them is
stopped by ketacare.migration_history.

The trigger keeping a signed decision as signed is made as 0002 made it. Not carried: 0004's
re-signing of the decisions under the audit key (a new database has none; an existing one ran it).
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from ketacare.migration_sql import VendorSQL, pg_function, pg_trigger, sqlite_trigger

# A signed candidacy decision is never changed: a correction is a new signed decision that
# supersedes it.
DECISION_SIGNED = VendorSQL(
    sqlite=[
        sqlite_trigger(
            "candidacy_decision_no_update", "screening_candidacydecision", "a signed candidacy decision cannot be changed"
        ),
    ],
    postgresql=[
        pg_function("candidacy_decision_refuse_update", "a signed candidacy decision cannot be changed"),
        pg_trigger("candidacy_decision_no_update", "screening_candidacydecision", "candidacy_decision_refuse_update"),
    ],
)


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('screening', '0001_initial'),
        ('screening', '0002_signed_decisions_are_immutable'),
        ('screening', '0003_trial_drug_from_clinic_table'),
        ('screening', '0004_keyed_signatures'),
    ]

    dependencies = [
        ('patients', '0001_squashed_0009_consent_withdrawal_seen'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PriorTreatment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('psychotherapy', 'Psychotherapy'), ('ect', 'Electroconvulsive therapy (ECT)'), ('tms', 'Transcranial magnetic stimulation (TMS)')], max_length=20)),
                ('description', models.CharField(blank=True, help_text='For example: CBT, 16 sessions.', max_length=200)),
                ('started_on', models.DateField(blank=True, null=True)),
                ('sessions', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('outcome', models.CharField(choices=[('no_response', 'No response'), ('partial_response', 'Partial response'), ('intolerance', 'Not tolerated'), ('remission', 'Remission')], max_length=20)),
                ('current_episode', models.BooleanField(default=True, verbose_name='In the current episode')),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='prior_treatments', to='patients.patient')),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('kind', 'started_on', 'id'),
            },
        ),
        migrations.CreateModel(
            name='Referral',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('received_on', models.DateField()),
                ('reason', models.TextField(verbose_name='Reason for referral')),
                ('presenting_conditions', models.JSONField(default=list)),
                ('consent_to_treatment', models.BooleanField(verbose_name='Consent to assessment and treatment')),
                ('consent_to_share', models.BooleanField(verbose_name='Consent to share reports with the referrer')),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='referrals', to='patients.patient')),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('referring_provider', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='referrals', to='patients.referringprovider')),
            ],
            options={
                'ordering': ('-received_on', '-id'),
            },
        ),
        migrations.CreateModel(
            name='Consultation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('held_on', models.DateField()),
                ('episode_duration_months', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MaxValueValidator(600, 'An episode length over 600 months (50 years) is a typing error.')], verbose_name='Length of the current episode (months)')),
                ('severity', models.CharField(blank=True, choices=[('subsyndromal', 'Subsyndromal'), ('mild', 'Mild'), ('moderate', 'Moderate'), ('severe_without_psychosis', 'Severe without psychosis'), ('severe_with_psychosis', 'Severe with psychosis')], max_length=30, verbose_name='Severity of the current episode')),
                ('augmentation_used', models.BooleanField(default=False, help_text='Besides any augmenting agent in the trials.', verbose_name='Augmentation used in this episode')),
                ('checklist', models.JSONField(blank=True, default=dict)),
                ('checklist_at', models.DateTimeField(blank=True, null=True)),
                ('notes', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('checklist_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('clinician', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='consultations', to='patients.patient')),
                ('referral', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='screening.referral')),
            ],
            options={
                'ordering': ('-held_on', '-id'),
            },
        ),
        migrations.CreateModel(
            name='AntidepressantTrial',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('drug', models.CharField(max_length=40)),
                ('daily_dose_mg', models.DecimalField(decimal_places=3, max_digits=7, validators=[django.core.validators.MinValueValidator(0.001, 'The daily dose must be more than 0 mg.')], verbose_name='Highest daily dose (mg)')),
                ('started_on', models.DateField()),
                ('stopped_on', models.DateField(blank=True, help_text='Empty while the patient still takes it.', null=True)),
                ('adherence', models.CharField(choices=[('good', 'Took it as prescribed'), ('partial', 'Missed some doses'), ('poor', 'Took it on fewer than half the days'), ('unknown', 'Not known')], default='unknown', max_length=10)),
                ('outcome', models.CharField(choices=[('no_response', 'No response'), ('partial_response', 'Partial response'), ('intolerance', 'Not tolerated'), ('remission', 'Remission')], max_length=20)),
                ('current_episode', models.BooleanField(default=True, verbose_name='In the current episode')),
                ('notes', models.CharField(blank=True, max_length=300)),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('struck_out_at', models.DateTimeField(blank=True, null=True)),
                ('struck_out_reason', models.CharField(blank=True, max_length=200)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='antidepressant_trials', to='patients.patient')),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('struck_out_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('started_on', 'id'),
                'indexes': [models.Index(fields=['patient', 'started_on'], name='trial_patient_start')],
                'constraints': [models.CheckConstraint(condition=models.Q(('stopped_on__isnull', True), ('stopped_on__gte', models.F('started_on')), _connector='OR'), name='trial_stops_after_start', violation_error_message='A trial cannot stop before it starts.'), models.CheckConstraint(condition=models.Q(('daily_dose_mg__gt', 0)), name='trial_dose_positive', violation_error_message='The daily dose must be more than 0 mg.')],
            },
        ),
        migrations.CreateModel(
            name='CandidacyDecision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('decision', models.CharField(choices=[('eligible', 'Eligible'), ('eligible_with_precautions', 'Eligible with precautions'), ('not_eligible', 'Not eligible')], max_length=30)),
                ('routes', models.JSONField(blank=True, default=list)),
                ('reasons', models.TextField()),
                ('precautions', models.TextField(blank=True)),
                ('plan', models.TextField(blank=True, verbose_name='Proposed plan')),
                ('snapshot', models.JSONField()),
                ('signed_at', models.DateTimeField()),
                ('signature', models.CharField(max_length=64, unique=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='candidacy_decisions', to='patients.patient')),
                ('signed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('supersedes', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='superseded_by', to='screening.candidacydecision')),
                ('consultation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='decisions', to='screening.consultation')),
            ],
            options={
                'ordering': ('-signed_at', '-id'),
                'constraints': [models.UniqueConstraint(condition=models.Q(('supersedes__isnull', True)), fields=('patient',), name='one_first_decision_per_patient', violation_error_message='This patient already has a decision: a new one must supersede it.')],
            },
        ),
        migrations.AddIndex(
            model_name='referral',
            index=models.Index(fields=['patient', '-received_on'], name='referral_patient_date'),
        ),
        migrations.AddIndex(
            model_name='consultation',
            index=models.Index(fields=['patient', '-held_on'], name='consultation_patient_date'),
        ),
        DECISION_SIGNED,
    ]

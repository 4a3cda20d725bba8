"""Sessions: migrations 0001 to 0005 in one. A database that ran them all is taken as having run
this one (nothing runs); a new database runs this one. A database that ran only some of them is
stopped by ketacare.migration_history.

Not carried: 0004's re-signing of the signed sessions under the audit key (a new database has
none; an existing one ran it).
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('treatment_sessions', '0001_initial'),
        ('treatment_sessions', '0002_imported_orders'),
        ('treatment_sessions', '0003_chair_safety'),
        ('treatment_sessions', '0004_keyed_signatures'),
        ('treatment_sessions', '0005_open_sessions_index'),
    ]

    dependencies = [
        ('measures', '0001_squashed_0006_link_made_by_reminders'),
        ('patients', '0001_squashed_0009_consent_withdrawal_seen'),
        ('treatment', '0001_squashed_0003_clinic_hours'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='RemsEnrolment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('enrolled_on', models.DateField()),
                ('reference', models.CharField(max_length=60, verbose_name='REMS patient enrolment number')),
                ('recorded_at', models.DateTimeField()),
                ('patient', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='rems_enrolment', to='patients.patient')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='TreatmentSession',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(choices=[('live', 'Recorded at the chair'), ('import', 'Imported history')], default='live', max_length=8)),
                ('protocol', models.CharField(choices=[('iv_ketamine_standard', 'iv_ketamine_standard'), ('im_ketamine', 'im_ketamine'), ('esketamine_nasal', 'esketamine_nasal')], max_length=30)),
                ('route', models.CharField(choices=[('iv_ketamine', 'IV ketamine'), ('im_ketamine', 'IM ketamine'), ('esketamine', 'Esketamine nasal spray')], max_length=20)),
                ('number', models.PositiveSmallIntegerField(help_text="1 for the patient's first session on this route")),
                ('checked_in_at', models.DateTimeField()),
                ('weight_kg', models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True)),
                ('height_cm', models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True)),
                ('concomitant', models.JSONField(blank=True, default=list)),
                ('fasting_confirmed', models.BooleanField(default=False)),
                ('weight_confirmed', models.BooleanField(default=False)),
                ('checklist', models.JSONField(blank=True, default=dict)),
                ('checklist_findings', models.JSONField(blank=True, default=list)),
                ('escort_name', models.CharField(blank=True, max_length=100)),
                ('escort_phone', models.CharField(blank=True, max_length=40)),
                ('risk_assessment', models.TextField(blank=True)),
                ('risk_assessment_at', models.DateTimeField(blank=True, null=True)),
                ('gate_override_at', models.DateTimeField(blank=True, null=True)),
                ('gate_override_reason', models.CharField(blank=True, max_length=300)),
                ('dose_started_at', models.DateTimeField(blank=True, null=True)),
                ('dose_stopped_at', models.DateTimeField(blank=True, null=True)),
                ('given_dose_mg', models.DecimalField(blank=True, decimal_places=4, max_digits=9, null=True)),
                ('infused_volume_ml', models.DecimalField(blank=True, decimal_places=2, max_digits=7, null=True, verbose_name='Volume infused (mL, from the pump)')),
                ('stop_reason', models.CharField(blank=True, max_length=300)),
                ('waste_mg', models.DecimalField(blank=True, decimal_places=4, max_digits=9, null=True)),
                ('skipped_ratings', models.JSONField(blank=True, default=list)),
                ('discharge_criteria', models.JSONField(blank=True, default=dict)),
                ('discharge_assessment', models.JSONField(blank=True, default=list)),
                ('discharge_override_reason', models.CharField(blank=True, max_length=300)),
                ('discharged_at', models.DateTimeField(blank=True, null=True)),
                ('notes', models.TextField(blank=True)),
                ('safety_log', models.JSONField(blank=True, default=list)),
                ('nurse_signed_at', models.DateTimeField(blank=True, null=True)),
                ('physician_signed_at', models.DateTimeField(blank=True, null=True)),
                ('locked_at', models.DateTimeField(blank=True, null=True)),
                ('signature', models.CharField(blank=True, help_text='SHA-256 of the record as signed', max_length=64)),
                ('appointment', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='session', to='treatment.appointment')),
                ('checked_in_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('discharge_override_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('discharged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('gate_override_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('nurse_signed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='treatment_sessions', to='patients.patient')),
                ('physician_signed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('plan', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='sessions', to='treatment.treatmentplan')),
                ('risk_assessment_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('-checked_in_at', '-id'),
                'permissions': [('override_bp_gate', 'Start a session over the blood-pressure gate'), ('assess_risk', 'Write the risk assessment that lets a dose start after an urgent alert'), ('override_discharge', 'Discharge past a failed criterion, with a reason'), ('verify_dose', "Verify another clinician's dose order"), ('sign_nursing', 'Sign a session as the nurse'), ('sign_medical', 'Sign a session as the physician')],
            },
        ),
        migrations.CreateModel(
            name='SessionScale',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('purpose', models.CharField(choices=[('pre', 'Pre-session scale'), ('post', 'Post-session scale'), ('dissociation', 'Dissociation (CADSS)')], max_length=14)),
                ('response', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='session_link', to='measures.questionnaireresponse')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='scales', to='treatment_sessions.treatmentsession')),
            ],
            options={
                'ordering': ('response__administered_at', 'id'),
            },
        ),
        migrations.CreateModel(
            name='SessionAmendment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(max_length=300)),
                ('text', models.TextField(blank=True)),
                ('made_at', models.DateTimeField()),
                ('signature_at_amendment', models.CharField(max_length=64)),
                ('made_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='amendments', to='treatment_sessions.treatmentsession')),
            ],
            options={
                'ordering': ('made_at', 'id'),
            },
        ),
        migrations.CreateModel(
            name='SedationRating',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rated_at', models.DateTimeField()),
                ('minutes_after_dose', models.SmallIntegerField(blank=True, null=True)),
                ('moaas', models.PositiveSmallIntegerField(choices=[(5, '5: Responds readily to name spoken in normal tone'), (4, '4: Lethargic response to name spoken in normal tone'), (3, '3: Responds only after name is called loudly or repeatedly'), (2, '2: Responds only after mild prodding or shaking'), (1, '1: Responds only after painful trapezius squeeze'), (0, '0: No response after painful trapezius squeeze')], validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(5)], verbose_name='MOAA/S')),
                ('alarm', models.CharField(blank=True, max_length=20)),
                ('entered_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sedation', to='treatment_sessions.treatmentsession')),
            ],
            options={
                'ordering': ('rated_at', 'id'),
            },
        ),
        migrations.CreateModel(
            name='RemsRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('due_on', models.DateField()),
                ('ready_to_leave_at', models.DateTimeField(blank=True, help_text='When the patient would have been ready to leave without the 2-hour rule', null=True)),
                ('monitoring_setting', models.CharField(blank=True, max_length=100)),
                ('submitted_at', models.DateTimeField(blank=True, null=True)),
                ('confirmation', models.CharField(blank=True, max_length=60, verbose_name='REMS confirmation number')),
                ('monitored_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('prescriber_on_site', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('submitted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('session', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='rems', to='treatment_sessions.treatmentsession')),
            ],
            options={
                'ordering': ('due_on', 'id'),
            },
        ),
        migrations.CreateModel(
            name='DoseOrder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ordered_at', models.DateTimeField()),
                ('weight_basis', models.CharField(blank=True, choices=[('actual', 'actual body weight'), ('ideal', 'ideal body weight'), ('adjusted', 'adjusted body weight')], max_length=10)),
                ('basis_weight_kg', models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True)),
                ('dose_mg_per_kg', models.DecimalField(blank=True, decimal_places=2, max_digits=4, null=True)),
                ('dose_mg', models.DecimalField(decimal_places=1, max_digits=6)),
                ('prepared_dose_mg', models.DecimalField(blank=True, decimal_places=4, max_digits=9, null=True)),
                ('final_concentration_mg_per_ml', models.DecimalField(blank=True, decimal_places=3, max_digits=7, null=True)),
                ('injection_sites', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('duration_reason', models.CharField(blank=True, max_length=300)),
                ('notes', models.JSONField(blank=True, default=list)),
                ('capped', models.BooleanField(default=False)),
                ('concentration_mg_per_ml', models.DecimalField(blank=True, decimal_places=2, max_digits=6, null=True)),
                ('draw_volume_ml', models.DecimalField(blank=True, decimal_places=2, max_digits=6, null=True)),
                ('bag_ml', models.DecimalField(blank=True, decimal_places=1, max_digits=6, null=True)),
                ('infused_volume_ml', models.DecimalField(blank=True, decimal_places=2, max_digits=7, null=True)),
                ('duration_min', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('rate_ml_per_h', models.DecimalField(blank=True, decimal_places=1, max_digits=7, null=True)),
                ('devices', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('lot_number', models.CharField(blank=True, max_length=40)),
                ('warnings', models.JSONField(blank=True, default=list)),
                ('needs_verification', models.BooleanField(default=False)),
                ('verified_at', models.DateTimeField(blank=True, null=True)),
                ('superseded_at', models.DateTimeField(blank=True, null=True)),
                ('ordered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('verified_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='treatment_sessions.treatmentsession')),
            ],
            options={
                'ordering': ('-ordered_at', '-id'),
            },
        ),
        migrations.CreateModel(
            name='DeviceDose',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveSmallIntegerField()),
                ('given_at', models.DateTimeField()),
                ('entered_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='devices', to='treatment_sessions.treatmentsession')),
            ],
            options={
                'ordering': ('number',),
            },
        ),
        migrations.CreateModel(
            name='AlarmAcknowledgement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('alarm', models.CharField(max_length=20)),
                ('note', models.CharField(max_length=300)),
                ('acknowledged_at', models.DateTimeField()),
                ('acknowledged_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='alarm_acks', to='treatment_sessions.treatmentsession')),
            ],
            options={
                'ordering': ('acknowledged_at', 'id'),
            },
        ),
        migrations.CreateModel(
            name='AdverseEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('nausea', 'Nausea'), ('vomiting', 'Vomiting'), ('hypertension', 'Hypertension'), ('tachycardia', 'Tachycardia'), ('emergence_reaction', 'Emergence reaction'), ('oversedation', 'Oversedation'), ('respiratory_depression', 'Respiratory depression (low SpO2 or breathing rate)'), ('hypotension', 'Hypotension'), ('bradycardia', 'Bradycardia'), ('other', 'Other (describe)')], max_length=24)),
                ('description', models.CharField(blank=True, max_length=300)),
                ('severity', models.CharField(choices=[('mild', 'Mild'), ('moderate', 'Moderate'), ('severe', 'Severe')], max_length=10)),
                ('serious', models.BooleanField(default=False, verbose_name='Serious adverse event')),
                ('action_taken', models.CharField(max_length=300)),
                ('onset_at', models.DateTimeField()),
                ('recorded_at', models.DateTimeField()),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('amendment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='adverse_events', to='treatment_sessions.sessionamendment')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='adverse_events', to='treatment_sessions.treatmentsession')),
            ],
            options={
                'ordering': ('onset_at', 'id'),
            },
        ),
        migrations.CreateModel(
            name='VitalSign',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('taken_at', models.DateTimeField()),
                ('phase', models.CharField(choices=[('pre', 'Before the dose'), ('during', 'During the dose'), ('after', 'After the dose')], max_length=8)),
                ('minutes_after_dose', models.SmallIntegerField(blank=True, null=True)),
                ('systolic', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='Systolic (mmHg)')),
                ('diastolic', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='Diastolic (mmHg)')),
                ('heart_rate', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='Heart rate (/min)')),
                ('spo2', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='SpO2 (%)')),
                ('resp_rate', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='Respiratory rate (/min)')),
                ('highlights', models.JSONField(blank=True, default=list)),
                ('alarms', models.JSONField(blank=True, default=list)),
                ('amendment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='vitals', to='treatment_sessions.sessionamendment')),
                ('entered_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='vitals', to='treatment_sessions.treatmentsession')),
                ('struck_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='struck_vitals', to='treatment_sessions.sessionamendment')),
            ],
            options={
                'ordering': ('taken_at', 'id'),
            },
        ),
        migrations.AddIndex(
            model_name='treatmentsession',
            index=models.Index(fields=['patient', 'checked_in_at'], name='session_patient_time'),
        ),
        migrations.AddIndex(
            model_name='treatmentsession',
            index=models.Index(fields=['route', 'checked_in_at'], name='session_route_time'),
        ),
        migrations.AddIndex(
            model_name='treatmentsession',
            index=models.Index(condition=models.Q(('locked_at__isnull', True), ('source', 'live')), fields=['checked_in_at', 'id'], name='session_open'),
        ),
        migrations.AddConstraint(
            model_name='treatmentsession',
            constraint=models.CheckConstraint(condition=models.Q(('source', 'import'), models.Q(('checked_in_by__isnull', False), ('plan__isnull', False)), _connector='OR'), name='live_session_has_plan_and_check_in', violation_error_message='A session recorded at the chair belongs to a plan and a check-in.'),
        ),
        migrations.AddConstraint(
            model_name='treatmentsession',
            constraint=models.CheckConstraint(condition=models.Q(('dose_stopped_at__isnull', True), ('dose_started_at__isnull', False), _connector='OR'), name='session_stop_after_start', violation_error_message='A dose cannot stop before it starts.'),
        ),
        migrations.AddConstraint(
            model_name='treatmentsession',
            constraint=models.CheckConstraint(condition=models.Q(('locked_at__isnull', True), models.Q(('nurse_signed_at__isnull', False), ('physician_signed_at__isnull', False)), _connector='OR'), name='session_locked_when_both_signed', violation_error_message='A session locks only when the nurse and the physician have signed.'),
        ),
        migrations.AddIndex(
            model_name='remsrecord',
            index=models.Index(fields=['submitted_at', 'due_on'], name='rems_open_due'),
        ),
        migrations.AddConstraint(
            model_name='doseorder',
            constraint=models.UniqueConstraint(condition=models.Q(('superseded_at__isnull', True)), fields=('session',), name='one_current_order_per_session', violation_error_message='A session has one current dose order.'),
        ),
        migrations.AddConstraint(
            model_name='devicedose',
            constraint=models.UniqueConstraint(fields=('session', 'number'), name='one_device_number_per_session', violation_error_message='This device is already recorded.'),
        ),
        migrations.AddConstraint(
            model_name='alarmacknowledgement',
            constraint=models.CheckConstraint(condition=models.Q(('note', ''), _negated=True), name='alarm_ack_has_note', violation_error_message='Say why the alarm needs no adverse event.'),
        ),
        migrations.AddConstraint(
            model_name='adverseevent',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'other'), _negated=True), models.Q(('description', ''), _negated=True), _connector='OR'), name='other_adverse_event_described', violation_error_message="Describe an adverse event of kind 'other'."),
        ),
        migrations.AddIndex(
            model_name='vitalsign',
            index=models.Index(fields=['session', 'taken_at'], name='vitals_session_time'),
        ),
    ]

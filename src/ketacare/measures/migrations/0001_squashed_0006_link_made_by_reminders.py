"""Measures: migrations 0001 to 0006 in one. A database that ran them all is taken as having run
this one (nothing runs); a new database runs this one. A database that ran only some of them is
stopped by ketacare.migration_history.

Not carried: 0003's retirement of the self-report links made with signed tokens (a new
database has no links; an existing one ran it).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('measures', '0001_initial'),
        ('measures', '0002_scores_covering_index'),
        ('measures', '0003_self_report_link_opaque_token'),
        ('measures', '0004_scale_names'),
        ('measures', '0005_response_source_system'),
        ('measures', '0006_link_made_by_reminders'),
    ]

    dependencies = [
        ('patients', '0001_squashed_0009_consent_withdrawal_seen'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='QuestionnaireResponse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('instrument', models.CharField(choices=[('phq9', 'PHQ-9'), ('gad7', 'GAD-7'), ('epds', 'EPDS'), ('pcl5', 'PCL-5'), ('qids_sr16', 'QIDS-SR16'), ('madrs', 'MADRS'), ('cadss', 'CADSS'), ('cssrs_screen', 'C-SSRS screener')], max_length=20)),
                ('answers', models.JSONField(help_text='positions of the chosen options, in item order; null = unanswered')),
                ('item_scores', models.JSONField()),
                ('total', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('band', models.CharField(blank=True, max_length=30)),
                ('flags', models.JSONField(blank=True, default=list)),
                ('complete', models.BooleanField()),
                ('prorated', models.BooleanField(default=False)),
                ('context', models.CharField(choices=[('baseline', 'Baseline'), ('pre_session', 'Before a session'), ('post_session', 'After a session'), ('follow_up', 'Follow-up')], max_length=16)),
                ('minutes_after_dose', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('administered_at', models.DateTimeField()),
                ('source', models.CharField(choices=[('staff', 'Entered by staff'), ('patient_link', 'Patient self-report'), ('import', 'Imported history'), ('system', 'Sent by another system')], max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('entered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='responses', to='patients.patient')),
            ],
            options={
                'ordering': ('-administered_at', '-id'),
            },
        ),
        migrations.CreateModel(
            name='SafetyAlert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('flags', models.JSONField()),
                ('priority', models.PositiveSmallIntegerField(choices=[(1, 'Urgent'), (2, 'Follow up')])),
                ('created_at', models.DateTimeField()),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                ('acknowledgement_note', models.TextField(blank=True)),
                ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='patients.patient')),
                ('response', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='alert', to='measures.questionnaireresponse')),
            ],
            options={
                'ordering': ('priority', 'created_at', 'id'),
            },
        ),
        migrations.CreateModel(
            name='SelfReportLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('instrument', models.CharField(choices=[('phq9', 'PHQ-9'), ('gad7', 'GAD-7'), ('epds', 'EPDS'), ('pcl5', 'PCL-5'), ('qids_sr16', 'QIDS-SR16'), ('madrs', 'MADRS'), ('cadss', 'CADSS'), ('cssrs_screen', 'C-SSRS screener')], max_length=20)),
                ('context', models.CharField(choices=[('baseline', 'Baseline'), ('pre_session', 'Before a session'), ('post_session', 'After a session'), ('follow_up', 'Follow-up')], default='follow_up', max_length=16)),
                ('token_digest', models.CharField(editable=False, help_text='SHA-256 of the token, hexadecimal', max_length=64)),
                ('created_at', models.DateTimeField()),
                ('expires_at', models.DateTimeField()),
                ('used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='self_report_links', to='patients.patient')),
                ('response', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='self_report_link', to='measures.questionnaireresponse')),
                ('revoked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('-created_at',),
            },
        ),
        # Made unique once made, as 0003 did: every database then has the same name for the
        # unique constraint.
        migrations.AlterField(
            model_name='selfreportlink',
            name='token_digest',
            field=models.CharField(editable=False, help_text='SHA-256 of the token, hexadecimal', max_length=64, unique=True),
        ),
        migrations.AddIndex(
            model_name='questionnaireresponse',
            index=models.Index(fields=['patient', 'instrument', 'administered_at', 'total', 'context'], name='response_patient_scale_cover'),
        ),
        migrations.AddConstraint(
            model_name='questionnaireresponse',
            constraint=models.CheckConstraint(condition=models.Q(('minutes_after_dose__isnull', True), ('context', 'post_session'), _connector='OR'), name='minutes_after_dose_only_post_session', violation_error_message='Minutes after the dose apply only to a post-session rating.'),
        ),
        migrations.AddIndex(
            model_name='safetyalert',
            index=models.Index(condition=models.Q(('acknowledged_at__isnull', True)), fields=['priority', 'created_at', 'id'], name='alert_open'),
        ),
        migrations.AddIndex(
            model_name='safetyalert',
            index=models.Index(fields=['patient', 'acknowledged_at'], name='alert_patient'),
        ),
        migrations.AddConstraint(
            model_name='safetyalert',
            constraint=models.CheckConstraint(condition=models.Q(('acknowledged_at__isnull', True), models.Q(('acknowledged_by__isnull', False), models.Q(('acknowledgement_note', ''), _negated=True)), _connector='OR'), name='acknowledgement_has_clinician_and_note', violation_error_message='An acknowledgement needs the clinician and a note.'),
        ),
        migrations.AddConstraint(
            model_name='selfreportlink',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('response__isnull', True), ('used_at__isnull', True)), models.Q(('response__isnull', False), ('used_at__isnull', False)), _connector='OR'), name='link_used_with_its_response'),
        ),
        migrations.AddConstraint(
            model_name='selfreportlink',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('revoked_at__isnull', True), ('revoked_by__isnull', True)), models.Q(('revoked_at__isnull', False), ('revoked_by__isnull', False)), _connector='OR'), name='link_revoked_by_someone', violation_error_message='A revoked link names who revoked it.'),
        ),
        migrations.AddConstraint(
            model_name='selfreportlink',
            constraint=models.CheckConstraint(condition=models.Q(('used_at__isnull', True), ('revoked_at__isnull', True), _connector='OR'), name='link_used_or_revoked_not_both', violation_error_message='A link is either used or revoked, not both.'),
        ),
    ]

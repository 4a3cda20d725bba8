"""Portal: migrations 0001 to 0004 in one. A database that ran them all is taken as having run
this one (nothing runs); a new database runs this one. A database that ran only some of them is
stopped by ketacare.migration_history.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('portal', '0001_initial'),
        ('portal', '0002_portal_codes'),
        ('portal', '0003_questionnaire_due'),
        ('portal', '0004_requests_and_shared_documents'),
    ]

    dependencies = [
        ('patients', '0001_squashed_0009_consent_withdrawal_seen'),
        ('screening', '0001_squashed_0004_keyed_signatures'),
        ('treatment', '0001_squashed_0003_clinic_hours'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ContactPreference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email_ok', models.BooleanField(default=True)),
                ('sms_ok', models.BooleanField(default=True)),
                ('token', models.CharField(max_length=43, unique=True)),
                ('changed_at', models.DateTimeField(auto_now=True)),
                ('patient', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='patients.patient')),
            ],
        ),
        migrations.CreateModel(
            name='PublicPage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=40, unique=True)),
                ('title', models.CharField(max_length=120)),
                ('body', models.TextField(help_text='Markdown: paragraphs, **bold**, lists, links, tables. No HTML.')),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('slug',),
            },
        ),
        migrations.CreateModel(
            name='Enquiry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('given_name', models.CharField(max_length=100)),
                ('family_name', models.CharField(max_length=100)),
                ('date_of_birth', models.DateField()),
                ('phone', models.CharField(max_length=30)),
                ('email', models.EmailField(blank=True, max_length=254)),
                ('call_time', models.CharField(choices=[('any', 'Any time'), ('morning', 'Morning'), ('afternoon', 'Afternoon'), ('evening', 'Early evening')], default='any', max_length=10, verbose_name='Best time to call')),
                ('seeking', models.JSONField(default=list, verbose_name='Seeking help for')),
                ('message', models.TextField(blank=True)),
                ('referring_clinician', models.CharField(blank=True, max_length=200)),
                ('prescreen', models.JSONField(default=dict)),
                ('phq9_answers', models.JSONField(blank=True, null=True)),
                ('phq9_total', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('urgent', models.BooleanField(default=False, help_text="PHQ-9 item 9 answered above 'not at all'")),
                ('received_at', models.DateTimeField(auto_now_add=True)),
                ('status', models.CharField(choices=[('new', 'New'), ('called_back', 'Called back'), ('referred', 'Referral made'), ('declined', 'Declined')], default='new', max_length=12)),
                ('status_note', models.CharField(blank=True, max_length=300)),
                ('handled_at', models.DateTimeField(blank=True, null=True)),
                ('handled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('referral', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='screening.referral')),
            ],
            options={
                'verbose_name_plural': 'enquiries',
                'ordering': ('-urgent', 'received_at', 'id'),
                'indexes': [models.Index(fields=['status', '-urgent', 'received_at'], name='enquiry_queue')],
            },
        ),
        migrations.CreateModel(
            name='Message',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('appointment', 'Appointment reminder'), ('preparation', 'Preparation the day before'), ('check_in', 'Check-in the day after a treatment'), ('scale_due', 'Questionnaire due')], max_length=12)),
                ('channel', models.CharField(choices=[('email', 'E-mail'), ('sms', 'Text message')], max_length=6)),
                ('about', models.CharField(help_text='what it is about: appointment:12:48h, session:7', max_length=60)),
                ('to', models.CharField(max_length=254)),
                ('subject', models.CharField(blank=True, max_length=150)),
                ('body', models.TextField()),
                ('due_at', models.DateTimeField()),
                ('status', models.CharField(choices=[('pending', 'Waiting'), ('sending', 'Being sent'), ('sent', 'Sent'), ('failed', 'Failed'), ('cancelled', 'Not sent')], default='pending', max_length=10)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField()),
                ('last_error', models.CharField(blank=True, max_length=300)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
            ],
            options={
                'ordering': ('next_attempt_at', 'id'),
                'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='message_due')],
                'constraints': [models.UniqueConstraint(fields=('kind', 'channel', 'about'), name='one_message_per_reason_and_channel')],
            },
        ),
        migrations.CreateModel(
            name='MoveRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('preferred', models.TextField(verbose_name='When would suit you instead')),
                ('made_at', models.DateTimeField(auto_now_add=True)),
                ('status', models.CharField(choices=[('open', 'Waiting'), ('moved', 'Moved'), ('not_moved', 'Not moved')], default='open', max_length=10)),
                ('status_note', models.CharField(blank=True, max_length=300)),
                ('handled_at', models.DateTimeField(blank=True, null=True)),
                ('appointment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='treatment.appointment')),
                ('handled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
            ],
            options={
                'ordering': ('made_at', 'id'),
                'indexes': [models.Index(fields=['status', 'made_at'], name='move_request_queue')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'open')), fields=('appointment',), name='one_open_move_request_per_appointment', violation_error_message='This appointment has a request to move it waiting already.')],
            },
        ),
        migrations.CreateModel(
            name='PortalCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=64)),
                ('channel', models.CharField(max_length=6)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField()),
                ('failures', models.PositiveSmallIntegerField(default=0)),
                ('used_at', models.DateTimeField(blank=True, null=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='patients.patient')),
            ],
            options={
                'indexes': [models.Index(fields=['patient', '-created_at'], name='portal_code_patient')],
            },
        ),
        migrations.CreateModel(
            name='PublicSite',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('clinic_name', models.CharField(default='Our ketamine clinic', max_length=120)),
                ('phone', models.CharField(blank=True, max_length=40)),
                ('email', models.EmailField(blank=True, max_length=254)),
                ('address', models.CharField(blank=True, max_length=300)),
                ('show_own_figures', models.BooleanField(default=False, help_text="Response after the first treatment and after the course, on the PHQ-9, intention to treat with 95% intervals, beside the studies' figures.", verbose_name="Publish the clinic's own outcome figures")),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'permissions': [('edit_public_site', "Edit the clinic's public pages")],
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='one_public_site')],
            },
        ),
        migrations.CreateModel(
            name='SharedDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('consultation_letter', 'Consultation letter'), ('progress_report', 'Progress report')], max_length=20)),
                ('title', models.CharField(max_length=150)),
                ('pdf', models.BinaryField()),
                ('about', models.CharField(blank=True, help_text='what it was made from: decision:12', max_length=40)),
                ('shared_at', models.DateTimeField()),
                ('first_opened_at', models.DateTimeField(blank=True, null=True)),
                ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('shared_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('withdrawn_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('-shared_at', '-id'),
                'permissions': [('share_document', 'Share letters and reports with the patient')],
                'indexes': [models.Index(fields=['patient', '-shared_at'], name='shared_document_patient')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('withdrawn_at__isnull', True), ('withdrawn_by__isnull', True)), models.Q(('withdrawn_at__isnull', False), ('withdrawn_by__isnull', False)), _connector='OR'), name='shared_document_withdrawn_by_someone')],
            },
        ),
    ]

"""Patients: migrations 0001 to 0009 in one. A database that ran them all is taken as having run
this one (nothing runs); a new database runs this one. A database that ran only some of them is
stopped by ketacare.migration_history.

RecordChange is made under its own table name. (0003 renamed the table of outcomes' OutcomeChange:
a database that ran it keeps the old names of the table's key, index, foreign key and sequence,
outcomes_outcomechange_..., which nothing refers to by name.)
The consent triggers are made as 0007, 0008 and 0009 left them. Not carried: 0004's filling of
the name parts of the patients on record (a new database has none; an existing one ran it).
"""

import django.core.validators
import django.db.models.deletion
import ketacare.patients.validators
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

from ketacare.migration_sql import UNLESS_FLUSHING, VendorSQL, pg_function, pg_trigger, sqlite_trigger

# A consent signature keeps these as made; its withdrawal is recorded once, then seen once.
KEPT = (
    "id",
    "patient_id",
    "document_id",
    "typed_name",
    "signed_at",
    "method",
    "witness_id",
    "recorded_at",
    "decision_signed_at",
)
WITHDRAWAL = ("withdrawn_at", "withdrawn_how", "withdrawn_by_id", "withdrawn_reason")
SIGNATURE_MESSAGE = "a consent signature cannot be changed; only its withdrawal is recorded, once, then seen, once"
DOCUMENT = "patients_consentdocument"
SIGNATURE = "patients_consentsignature"


def _changed(columns, op):
    return " OR ".join(f"NEW.{c} {op} OLD.{c}" for c in columns)


def _signature_refused(op):
    # A kept column changed; anything changed after the withdrawal was seen; the withdrawal
    # changed once recorded; seen without a withdrawal, or without saying by whom. (No check
    # constraint: adding one makes SQLite rebuild the table, which drops its triggers.)
    return (
        f"{_changed(KEPT, op)} OR OLD.withdrawal_seen_at IS NOT NULL "
        f"OR (OLD.withdrawn_at IS NOT NULL AND ({_changed(WITHDRAWAL, op)})) "
        "OR (NEW.withdrawal_seen_at IS NOT NULL AND NEW.withdrawn_at IS NULL) "
        "OR ((NEW.withdrawal_seen_at IS NULL) <> (NEW.withdrawal_seen_by_id IS NULL))"
    )


# A published consent document is never changed (a change is a new version) nor deleted; a
# signature is never deleted, and changed only to record its withdrawal and who saw it (hazard H-080).
CONSENT_KEPT = VendorSQL(
    sqlite=[
        sqlite_trigger("consent_document_no_update", DOCUMENT, "a published consent document cannot be changed"),
        sqlite_trigger(
            "consent_signature_append_only", SIGNATURE, SIGNATURE_MESSAGE, when=_signature_refused("IS NOT")
        ),
        sqlite_trigger(
            "consent_document_no_delete", DOCUMENT, "a published consent document cannot be deleted",
            before="DELETE", when=UNLESS_FLUSHING,
        ),
        sqlite_trigger(
            "consent_signature_no_delete", SIGNATURE, "a consent signature cannot be deleted",
            before="DELETE", when=UNLESS_FLUSHING,
        ),
    ],
    postgresql=[
        pg_function("consent_document_refuse_update", "a published consent document cannot be changed"),
        pg_trigger("consent_document_no_update", DOCUMENT, "consent_document_refuse_update"),
        pg_function(
            "consent_signature_refuse_change", SIGNATURE_MESSAGE, when=_signature_refused("IS DISTINCT FROM")
        ),
        pg_trigger("consent_signature_append_only", SIGNATURE, "consent_signature_refuse_change"),
        pg_function("consent_document_no_delete_refuse", "a published consent document cannot be deleted"),
        pg_trigger("consent_document_no_delete", DOCUMENT, "consent_document_no_delete_refuse", before="DELETE"),
        pg_function("consent_signature_no_delete_refuse", "a consent signature cannot be deleted"),
        pg_trigger("consent_signature_no_delete", SIGNATURE, "consent_signature_no_delete_refuse", before="DELETE"),
    ],
)


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('patients', '0001_initial'),
        ('patients', '0002_patient_phone_digits_index'),
        ('patients', '0003_record_change'),
        ('patients', '0004_name_parts'),
        ('patients', '0005_identifiers'),
        ('patients', '0006_consent'),
        ('patients', '0007_consent_append_only'),
        ('patients', '0008_consent_no_delete'),
        ('patients', '0009_consent_withdrawal_seen'),
    ]

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='IdentifierSystem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=40, unique=True, validators=[django.core.validators.RegexValidator('^[a-z0-9][a-z0-9-]{0,39}$', 'Use 1 to 40 lower-case letters, digits and dashes, starting with a letter or digit (osmind, old-ehr).')])),
                ('label', models.CharField(max_length=100, validators=[django.core.validators.RegexValidator('^[^\\x00-\\x1f\\x7f]+$', 'Use letters, digits, spaces and punctuation: no control characters.')])),
                ('uri', models.CharField(help_text="The system's URI in FHIR exports (Identifier.system).", max_length=200, unique=True, verbose_name='URI')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.CreateModel(
            name='Patient',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('mrn', models.CharField(editable=False, max_length=12, unique=True, verbose_name='MRN')),
                ('given_name', models.CharField(max_length=100)),
                ('family_name', models.CharField(max_length=100)),
                ('preferred_name', models.CharField(blank=True, max_length=100)),
                ('given_name_key', models.CharField(blank=True, editable=False, max_length=100)),
                ('family_name_key', models.CharField(blank=True, editable=False, max_length=100)),
                ('date_of_birth', models.DateField(db_index=True, validators=[ketacare.patients.validators.validate_date_of_birth])),
                ('sex', models.CharField(choices=[('female', 'Female'), ('male', 'Male'), ('other', 'Other'), ('unknown', 'Unknown')], max_length=8)),
                ('phone', models.CharField(blank=True, max_length=30, validators=[django.core.validators.RegexValidator('^\\+?[0-9 ().-]{7,20}$', 'Enter a phone number of 7 to 20 digits; spaces, dashes and brackets are fine.')])),
                ('email', models.EmailField(blank=True, max_length=254)),
                ('address_line1', models.CharField(blank=True, max_length=200, verbose_name='Address')),
                ('address_line2', models.CharField(blank=True, max_length=200, verbose_name='Address line 2')),
                ('city', models.CharField(blank=True, max_length=100)),
                ('state', models.CharField(blank=True, max_length=50)),
                ('postal_code', models.CharField(blank=True, max_length=20)),
                ('emergency_contact_name', models.CharField(blank=True, max_length=150)),
                ('emergency_contact_relationship', models.CharField(blank=True, max_length=60)),
                ('emergency_contact_phone', models.CharField(blank=True, max_length=30, validators=[django.core.validators.RegexValidator('^\\+?[0-9 ().-]{7,20}$', 'Enter a phone number of 7 to 20 digits; spaces, dashes and brackets are fine.')])),
                ('no_known_allergies', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ('family_name_key', 'given_name_key', 'id'),
            },
        ),
        migrations.CreateModel(
            name='ReferringProvider',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=150)),
                ('practice', models.CharField(blank=True, max_length=200)),
                ('npi', models.CharField(blank=True, max_length=10, validators=[django.core.validators.RegexValidator('^\\d{10}$', 'An NPI has exactly 10 digits.')], verbose_name='NPI')),
                ('phone', models.CharField(blank=True, max_length=30, validators=[django.core.validators.RegexValidator('^\\+?[0-9 ().-]{7,20}$', 'Enter a phone number of 7 to 20 digits; spaces, dashes and brackets are fine.')])),
                ('fax', models.CharField(blank=True, max_length=30, validators=[django.core.validators.RegexValidator('^\\+?[0-9 ().-]{7,20}$', 'Enter a phone number of 7 to 20 digits; spaces, dashes and brackets are fine.')])),
                ('email', models.EmailField(blank=True, max_length=254)),
                ('address', models.CharField(blank=True, max_length=300)),
            ],
            options={
                'ordering': ('name', 'id'),
            },
        ),
        migrations.CreateModel(
            name='ConsentDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('iv_ketamine', 'IV ketamine'), ('esketamine_nasal', 'Esketamine nasal spray')], max_length=20)),
                ('version', models.PositiveIntegerField()),
                ('title', models.CharField(max_length=120)),
                ('body', models.TextField(help_text='Markdown: paragraphs, **bold**, lists, links, tables. No HTML.')),
                ('digest', models.CharField(help_text='SHA-256 of the title and the text.', max_length=64)),
                ('published_at', models.DateTimeField()),
                ('published_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('kind', '-version'),
            },
        ),
        migrations.CreateModel(
            name='MrnSequence',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('last_serial', models.PositiveIntegerField(default=0)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='mrn_sequence_singleton')],
            },
        ),
        migrations.CreateModel(
            name='NamePart',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=100)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='name_parts', to='patients.patient')),
            ],
        ),
        migrations.CreateModel(
            name='Diagnosis',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(choices=[('F32.0', 'F32.0 Major depressive disorder, single episode, mild'), ('F32.1', 'F32.1 Major depressive disorder, single episode, moderate'), ('F32.2', 'F32.2 Major depressive disorder, single episode, severe without psychotic features'), ('F32.3', 'F32.3 Major depressive disorder, single episode, severe with psychotic features'), ('F32.4', 'F32.4 Major depressive disorder, single episode, in partial remission'), ('F32.5', 'F32.5 Major depressive disorder, single episode, in full remission'), ('F32.9', 'F32.9 Major depressive disorder, single episode, unspecified'), ('F32.A', 'F32.A Depression, unspecified'), ('F33.0', 'F33.0 Major depressive disorder, recurrent, mild'), ('F33.1', 'F33.1 Major depressive disorder, recurrent, moderate'), ('F33.2', 'F33.2 Major depressive disorder, recurrent, severe without psychotic features'), ('F33.3', 'F33.3 Major depressive disorder, recurrent, severe with psychotic symptoms'), ('F33.40', 'F33.40 Major depressive disorder, recurrent, in remission, unspecified'), ('F33.41', 'F33.41 Major depressive disorder, recurrent, in partial remission'), ('F33.42', 'F33.42 Major depressive disorder, recurrent, in full remission'), ('F33.9', 'F33.9 Major depressive disorder, recurrent, unspecified'), ('F53.0', 'F53.0 Postpartum depression'), ('F43.10', 'F43.10 Post-traumatic stress disorder, unspecified'), ('F43.11', 'F43.11 Post-traumatic stress disorder, acute'), ('F43.12', 'F43.12 Post-traumatic stress disorder, chronic'), ('F41.1', 'F41.1 Generalized anxiety disorder')], max_length=8, verbose_name='ICD-10-CM code')),
                ('is_primary', models.BooleanField(default=False)),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='diagnoses', to='patients.patient')),
            ],
            options={
                'ordering': ('-is_primary', 'code'),
            },
        ),
        migrations.CreateModel(
            name='ConsentSignature',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('typed_name', models.CharField(max_length=200, verbose_name='Name as signed')),
                ('signed_at', models.DateTimeField()),
                ('method', models.CharField(choices=[('portal', 'Signed by the patient in the portal'), ('paper', 'Signed on paper in the clinic, witnessed')], max_length=8)),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('decision_signed_at', models.DateTimeField(blank=True, null=True)),
                ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                ('withdrawn_how', models.CharField(blank=True, choices=[('portal', 'By the patient in the portal'), ('staff', 'Told to a member of staff')], max_length=8)),
                ('withdrawn_reason', models.CharField(blank=True, max_length=300)),
                ('withdrawal_seen_at', models.DateTimeField(blank=True, null=True)),
                ('document', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='signatures', to='patients.consentdocument')),
                ('withdrawal_seen_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('withdrawn_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('witness', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='consent_signatures', to='patients.patient')),
            ],
            options={
                'ordering': ('-signed_at', '-id'),
            },
        ),
        migrations.CreateModel(
            name='BodyMeasurement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('measured_at', models.DateTimeField()),
                ('weight_kg', models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal('25'), 'Weight must be at least 25 kg.'), django.core.validators.MaxValueValidator(Decimal('350'), 'Weight must be at most 350 kg.')], verbose_name='Weight (kg)')),
                ('height_cm', models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal('100'), 'Height must be at least 100 cm.'), django.core.validators.MaxValueValidator(Decimal('250'), 'Height must be at most 250 cm.')], verbose_name='Height (cm)')),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='measurements', to='patients.patient')),
            ],
            options={
                'ordering': ('-measured_at', '-id'),
            },
        ),
        migrations.CreateModel(
            name='Allergy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('substance', models.CharField(max_length=150)),
                ('reaction', models.CharField(blank=True, max_length=200)),
                ('severity', models.CharField(choices=[('mild', 'Mild'), ('moderate', 'Moderate'), ('severe', 'Severe'), ('unknown', 'Unknown')], default='unknown', max_length=10)),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='allergies', to='patients.patient')),
            ],
            options={
                'verbose_name_plural': 'allergies',
                'ordering': ('substance', 'id'),
            },
        ),
        migrations.CreateModel(
            name='PatientIdentifier',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('value', models.CharField(max_length=64, validators=[django.core.validators.RegexValidator('^[!-~](?:[ -~]{0,62}[!-~])?$', 'Use 1 to 64 printable characters, with no space at either end.')])),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='identifiers', to='patients.patient')),
                ('system', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.identifiersystem')),
            ],
        ),
        migrations.CreateModel(
            name='RecordChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('changed_at', models.DateTimeField(auto_now_add=True)),
                ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='patients.patient')),
            ],
        ),
        migrations.AddField(
            model_name='patient',
            name='referring_provider',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='patients', to='patients.referringprovider'),
        ),
        migrations.AddConstraint(
            model_name='consentdocument',
            constraint=models.UniqueConstraint(fields=('kind', 'version'), name='consent_version_once_per_kind', violation_error_message='This version of the consent is already published.'),
        ),
        migrations.AddConstraint(
            model_name='consentdocument',
            constraint=models.CheckConstraint(condition=models.Q(('version__gte', 1)), name='consent_version_from_1', violation_error_message='Versions are numbered from 1.'),
        ),
        migrations.AddIndex(
            model_name='namepart',
            index=models.Index(fields=['key', 'patient'], name='name_part_key'),
        ),
        migrations.AddConstraint(
            model_name='namepart',
            constraint=models.UniqueConstraint(fields=('patient', 'key'), name='name_part_unique'),
        ),
        migrations.AddConstraint(
            model_name='diagnosis',
            constraint=models.UniqueConstraint(fields=('patient', 'code'), name='diagnosis_once_per_patient', violation_error_message='This diagnosis is already recorded for the patient.'),
        ),
        migrations.AddConstraint(
            model_name='diagnosis',
            constraint=models.UniqueConstraint(condition=models.Q(('is_primary', True)), fields=('patient',), name='one_primary_diagnosis', violation_error_message='A patient has at most one primary diagnosis.'),
        ),
        migrations.AddIndex(
            model_name='consentsignature',
            index=models.Index(fields=['patient', '-signed_at'], name='consent_signature_patient'),
        ),
        migrations.AddConstraint(
            model_name='consentsignature',
            constraint=models.UniqueConstraint(condition=models.Q(('withdrawn_at__isnull', True)), fields=('patient', 'document', 'decision_signed_at'), name='consent_signed_once_per_decision', violation_error_message='The patient has already signed this version of the consent.'),
        ),
        migrations.AddConstraint(
            model_name='consentsignature',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('method', 'portal'), ('witness__isnull', True)), models.Q(('method', 'paper'), ('witness__isnull', False)), _connector='OR'), name='consent_paper_has_a_witness', violation_error_message='A paper signature names its witness; one in the portal has none.'),
        ),
        migrations.AddConstraint(
            model_name='consentsignature',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('withdrawn_at__isnull', True), ('withdrawn_how', '')), models.Q(('withdrawn_at__isnull', False), models.Q(('withdrawn_how', ''), _negated=True)), _connector='OR'), name='consent_withdrawal_says_how', violation_error_message='A withdrawal says when and how it was made.'),
        ),
        migrations.AddIndex(
            model_name='bodymeasurement',
            index=models.Index(fields=['patient', '-measured_at'], name='measurement_patient_time'),
        ),
        migrations.AddConstraint(
            model_name='bodymeasurement',
            constraint=models.CheckConstraint(condition=models.Q(('weight_kg__isnull', False), ('height_cm__isnull', False), _connector='OR'), name='measurement_has_a_value', violation_error_message='Enter a weight, a height, or both.'),
        ),
        migrations.AddConstraint(
            model_name='bodymeasurement',
            constraint=models.CheckConstraint(condition=models.Q(('weight_kg__isnull', True), models.Q(('weight_kg__gte', Decimal('25')), ('weight_kg__lte', Decimal('350'))), _connector='OR'), name='measurement_weight_plausible', violation_error_message='Weight must be between 25 and 350 kg.'),
        ),
        migrations.AddConstraint(
            model_name='bodymeasurement',
            constraint=models.CheckConstraint(condition=models.Q(('height_cm__isnull', True), models.Q(('height_cm__gte', Decimal('100')), ('height_cm__lte', Decimal('250'))), _connector='OR'), name='measurement_height_plausible', violation_error_message='Height must be between 100 and 250 cm.'),
        ),
        migrations.AddConstraint(
            model_name='patientidentifier',
            constraint=models.UniqueConstraint(fields=('system', 'value'), name='patient_identifier_unique_in_system'),
        ),
        migrations.AddIndex(
            model_name='patient',
            index=models.Index(fields=['family_name_key', 'given_name_key', 'id'], name='patient_family_given'),
        ),
        migrations.AddIndex(
            model_name='patient',
            index=models.Index(fields=['given_name_key', 'family_name_key'], name='patient_given_family'),
        ),
        migrations.AddIndex(
            model_name='patient',
            index=models.Index(models.Func(models.Func(models.Func(models.Func(models.Func(models.Func(models.F('phone'), output_field=models.CharField(), template="REPLACE(%(expressions)s, ' ', '')"), output_field=models.CharField(), template="REPLACE(%(expressions)s, '(', '')"), output_field=models.CharField(), template="REPLACE(%(expressions)s, ')', '')"), output_field=models.CharField(), template="REPLACE(%(expressions)s, '.', '')"), output_field=models.CharField(), template="REPLACE(%(expressions)s, '-', '')"), output_field=models.CharField(), template="REPLACE(%(expressions)s, '+', '')"), name='patient_phone_digits'),
        ),
        CONSENT_KEPT,
    ]

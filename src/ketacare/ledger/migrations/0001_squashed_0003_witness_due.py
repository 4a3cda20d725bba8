"""Ledger: migrations 0001 to 0003 in one. A database that ran them all is taken as having run
this one (nothing runs); a new database runs this one. A database that ran only some of them is
stopped by ketacare.migration_history.

The append-only triggers are made as 0002 made them. Not carried: 0003's filling of the list
of wastes waiting for a witness from the book (a new book is empty; an existing one ran it).
"""

import django.db.models.deletion
import ketacare.clinical.ledger
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

from ketacare.migration_sql import UNLESS_FLUSHING, VendorSQL, pg_function, pg_trigger, sqlite_trigger

# 21 CFR 1304: a correction is a new, reversing entry.
TABLES = ("ledger_entry", "ledger_countersignature")
APPEND_ONLY = "ledger entries are append-only: record a correction"

APPEND_ONLY_BOOK = VendorSQL(
    sqlite=[
        trigger
        for table in TABLES
        for trigger in (
            sqlite_trigger(f"{table}_no_update", table, APPEND_ONLY),
            sqlite_trigger(f"{table}_no_delete", table, APPEND_ONLY, before="DELETE", when=UNLESS_FLUSHING),
        )
    ],
    postgresql=[
        pg_function("ledger_refuse_change", APPEND_ONLY),
        *(
            pg_trigger(f"{table}_no_change", table, "ledger_refuse_change", before="UPDATE OR DELETE")
            for table in TABLES
        ),
    ],
)


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('ledger', '0001_initial'),
        ('ledger', '0002_append_only'),
        ('ledger', '0003_witness_due'),
    ]

    dependencies = [
        ('patients', '0001_squashed_0009_consent_withdrawal_seen'),
        ('treatment_sessions', '0001_squashed_0005_open_sessions_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Entry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('inventory', 'Inventory'), ('receipt', 'Receipt'), ('administration', 'Administration'), ('waste', 'Waste'), ('count', 'Count'), ('loss', 'Loss'), ('correction', 'Correction')], max_length=16)),
                ('at', models.DateTimeField(help_text='when it happened (a receipt: the date actually received)')),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('quantity_mg', models.DecimalField(decimal_places=4, default=Decimal('0'), max_digits=14)),
                ('balance_after_mg', models.DecimalField(blank=True, decimal_places=4, max_digits=14, null=True)),
                ('counted_mg', models.DecimalField(blank=True, decimal_places=4, max_digits=14, null=True)),
                ('business', models.CharField(blank=True, choices=[('opening', 'Opening of business'), ('close', 'Close of business')], max_length=8)),
                ('containers', models.PositiveIntegerField(blank=True, null=True)),
                ('supplier_name', models.CharField(blank=True, max_length=120)),
                ('supplier_address', models.CharField(blank=True, max_length=300)),
                ('supplier_dea', models.CharField(blank=True, max_length=9)),
                ('invoice', models.CharField(blank=True, max_length=60)),
                ('manner', models.CharField(blank=True, max_length=120)),
                ('reason', models.CharField(blank=True, max_length=300)),
                ('by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('corrects', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='corrected_by', to='ledger.entry')),
                ('patient', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='patients.patient')),
                ('session', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='treatment_sessions.treatmentsession')),
                ('witness', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'entries',
                'ordering': ('id',),
                'permissions': [('record_entry', 'Record ledger entries (receipts, waste, counts, corrections)'), ('witness_entry', 'Witness a waste or a count'), ('export_ledger', 'Download the ledger for an inspector')],
            },
        ),
        migrations.CreateModel(
            name='Lot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.CharField(max_length=40, verbose_name='lot number')),
                ('expiry', models.DateField()),
                ('on_hand_mg', models.DecimalField(decimal_places=4, default=Decimal('0'), max_digits=14)),
                ('first_punctured_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ('product', 'expiry', 'number'),
            },
        ),
        migrations.CreateModel(
            name='Registration',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=120)),
                ('address', models.CharField(max_length=300)),
                ('dea_number', models.CharField(max_length=9, unique=True, verbose_name='DEA registration number')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ('name',),
            },
        ),
        migrations.CreateModel(
            name='WitnessDue',
            fields=[
                ('entry', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='witness_due', serialize=False, to='ledger.entry')),
            ],
        ),
        migrations.CreateModel(
            name='Countersignature',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(auto_now_add=True)),
                ('witness', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('entry', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='countersignature', to='ledger.entry')),
            ],
        ),
        migrations.CreateModel(
            name='Incident',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('loss_type', models.CharField(choices=[('night break-in', 'Night break-in'), ('armed robbery', 'Armed robbery'), ('employee pilferage', 'Employee pilferage'), ('customer theft', 'Customer theft'), ('lost in transit', 'Lost in transit'), ('other', 'Other')], max_length=20)),
                ('discovered_at', models.DateTimeField()),
                ('description', models.TextField()),
                ('police_notified', models.BooleanField(default=False)),
                ('police_report', models.CharField(blank=True, max_length=200, verbose_name='police department and report number')),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('notice_due', models.DateField()),
                ('form_106_due', models.DateField()),
                ('notice_sent_at', models.DateTimeField(blank=True, null=True)),
                ('form_106_filed_at', models.DateTimeField(blank=True, null=True)),
                ('form_106_reference', models.CharField(blank=True, max_length=60, verbose_name='Form 106 reference')),
                ('form_106_filed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('notice_sent_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('registration', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='incidents', to='ledger.registration')),
            ],
            options={
                'ordering': ('-discovered_at',),
                'permissions': [('manage_incident', 'Record the DEA notice and Form 106 of a theft or loss')],
            },
        ),
        migrations.AddField(
            model_name='entry',
            name='incident',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='losses', to='ledger.incident'),
        ),
        migrations.AddField(
            model_name='entry',
            name='lot',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='ledger.lot'),
        ),
        migrations.CreateModel(
            name='Discrepancy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('book_mg', models.DecimalField(decimal_places=4, max_digits=14)),
                ('counted_mg', models.DecimalField(decimal_places=4, max_digits=14)),
                ('opened_at', models.DateTimeField(auto_now_add=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('resolution', models.CharField(blank=True, max_length=300)),
                ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('entry', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='discrepancy', to='ledger.entry')),
                ('lot', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='discrepancies', to='ledger.lot')),
            ],
            options={
                'verbose_name_plural': 'discrepancies',
                'ordering': ('-opened_at',),
            },
        ),
        migrations.CreateModel(
            name='Product',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.SlugField(max_length=40, unique=True)),
                ('substance', models.CharField(choices=[('ketamine', 'Ketamine'), ('esketamine', 'Esketamine')], max_length=12)),
                ('form', models.CharField(choices=[('injection', 'Injection'), ('nasal spray', 'Nasal spray')], max_length=12)),
                ('concentration_mg_per_ml', models.DecimalField(blank=True, decimal_places=3, max_digits=7, null=True)),
                ('container_ml', models.DecimalField(blank=True, decimal_places=2, max_digits=7, null=True)),
                ('mg_per_device', models.DecimalField(blank=True, decimal_places=2, max_digits=6, null=True)),
                ('devices_per_container', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('beyond_use_days', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('ndc', models.CharField(blank=True, max_length=13, verbose_name='NDC')),
                ('trade_name', models.CharField(blank=True, max_length=60)),
            ],
            options={
                'ordering': ('substance', 'code'),
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('concentration_mg_per_ml__gt', 0), ('concentration_mg_per_ml__isnull', False), ('container_ml__gt', 0), ('container_ml__isnull', False), ('devices_per_container__isnull', True), ('form', ketacare.clinical.ledger.Form['INJECTION']), ('mg_per_device__isnull', True)), models.Q(('concentration_mg_per_ml__isnull', True), ('container_ml__isnull', True), ('devices_per_container__gt', 0), ('devices_per_container__isnull', False), ('form', ketacare.clinical.ledger.Form['NASAL_SPRAY']), ('mg_per_device__gt', 0), ('mg_per_device__isnull', False)), _connector='OR'), name='ledger_product_units', violation_error_message='A solution has a concentration and a container volume; a nasal spray has mg per device and devices per pack.')],
            },
        ),
        migrations.AddField(
            model_name='lot',
            name='product',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='lots', to='ledger.product'),
        ),
        migrations.AddField(
            model_name='entry',
            name='product',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='ledger.product'),
        ),
        migrations.AddField(
            model_name='lot',
            name='registration',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='lots', to='ledger.registration'),
        ),
        migrations.AddField(
            model_name='entry',
            name='registration',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='ledger.registration'),
        ),
        migrations.AddConstraint(
            model_name='lot',
            constraint=models.UniqueConstraint(fields=('registration', 'product', 'number'), name='ledger_lot_unique', violation_error_message='This lot is already on this ledger.'),
        ),
        migrations.AddConstraint(
            model_name='lot',
            constraint=models.CheckConstraint(condition=models.Q(('on_hand_mg__gte', 0)), name='ledger_lot_never_negative', violation_error_message='A lot cannot hold less than nothing.'),
        ),
        migrations.AddConstraint(
            model_name='incident',
            constraint=models.CheckConstraint(condition=models.Q(('form_106_filed_at__isnull', True), models.Q(('form_106_reference', ''), _negated=True), _connector='OR'), name='ledger_form_106_filed_with_reference', violation_error_message='A filed Form 106 has its reference.'),
        ),
        migrations.AddIndex(
            model_name='entry',
            index=models.Index(fields=['lot', 'id'], name='ledger_entry_lot'),
        ),
        migrations.AddIndex(
            model_name='entry',
            index=models.Index(fields=['registration', 'at'], name='ledger_entry_at'),
        ),
        migrations.AddIndex(
            model_name='entry',
            index=models.Index(condition=models.Q(('kind', ketacare.clinical.ledger.Kind['INVENTORY'])), fields=['registration', 'product', 'at'], name='ledger_entry_inventory'),
        ),
        migrations.AddIndex(
            model_name='entry',
            index=models.Index(condition=models.Q(('kind', ketacare.clinical.ledger.Kind['WASTE']), ('witness__isnull', True)), fields=['kind', 'witness', 'at', 'id'], name='ledger_entry_awaiting_witness'),
        ),
        migrations.AddConstraint(
            model_name='entry',
            constraint=models.CheckConstraint(condition=models.Q(('balance_after_mg__isnull', True), ('balance_after_mg__gte', 0), _connector='OR'), name='ledger_entry_balance_never_negative', violation_error_message='A lot cannot hold less than nothing.'),
        ),
        migrations.AddConstraint(
            model_name='entry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', ketacare.clinical.ledger.Kind['ADMINISTRATION']), _negated=True), models.Q(('patient__isnull', False), ('quantity_mg__lt', 0), ('session__isnull', False)), _connector='OR'), name='ledger_administration_has_session', violation_error_message="An administration belongs to a patient's session."),
        ),
        migrations.AddConstraint(
            model_name='entry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', ketacare.clinical.ledger.Kind['LOSS']), _negated=True), ('incident__isnull', False), _connector='OR'), name='ledger_loss_has_incident', violation_error_message='A theft or loss is reported as an incident.'),
        ),
        migrations.AddConstraint(
            model_name='entry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', [ketacare.clinical.ledger.Kind['WASTE'], ketacare.clinical.ledger.Kind['LOSS']]), _negated=True), ('quantity_mg__lt', 0), _connector='OR'), name='ledger_disposition_takes_stock_out', violation_error_message='A waste or loss takes stock out.'),
        ),
        migrations.AddConstraint(
            model_name='entry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', ketacare.clinical.ledger.Kind['RECEIPT']), _negated=True), models.Q(('containers__gt', 0), ('containers__isnull', False), ('quantity_mg__gt', 0)), _connector='OR'), name='ledger_receipt_brings_stock_in', violation_error_message='A receipt brings stock in.'),
        ),
        migrations.AddConstraint(
            model_name='entry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', ketacare.clinical.ledger.Kind['CORRECTION']), _negated=True), ('corrects__isnull', False), _connector='OR'), name='ledger_correction_names_entry', violation_error_message='A correction names the entry it corrects.'),
        ),
        migrations.AddConstraint(
            model_name='entry',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', ketacare.clinical.ledger.Kind['ADMINISTRATION'])), fields=('session',), name='ledger_one_administration_per_session', violation_error_message="This session's administration is already on the ledger."),
        ),
        APPEND_ONLY_BOOK,
    ]

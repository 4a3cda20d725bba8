"""Audit: migrations 0001 to 0005 in one. A database that ran them all is taken as having run
this one (nothing runs); a new database runs this one. A database that ran only some of them is
stopped by ketacare.migration_history.

The append-only triggers are made as 0002, 0004 and 0005 left them. Not carried: 0004's anchor
for the events written before the chain was keyed (a new trail has none; an existing one ran it).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from ketacare.migration_sql import UNLESS_FLUSHING, VendorSQL, index, pg_function, pg_trigger, sqlite_trigger

APPEND_ONLY = "audit events are append-only"
HEAD_MESSAGE = "the audit chain head only moves forward"
# The head can name only an event in the trail: moving it to a made-up sequence number or hash
# would make every later event look missing, and be anchored as the head.
HEAD_MOVES_BACK = (
    "NEW.seq < OLD.seq OR NEW.id <> OLD.id OR (NEW.seq > 0 AND NOT EXISTS ("
    "SELECT 1 FROM audit_auditevent WHERE seq = NEW.seq AND hash = NEW.hash))"
)

# Events and the index of patients shown in lists: no UPDATE, no DELETE. The chain head moves
# forward only, to an event in the trail, and cannot be deleted.
APPEND_ONLY_TRAIL = VendorSQL(
    sqlite=[
        sqlite_trigger("audit_event_no_update", "audit_auditevent", APPEND_ONLY),
        sqlite_trigger("audit_event_no_delete", "audit_auditevent", APPEND_ONLY, before="DELETE", when=UNLESS_FLUSHING),
        sqlite_trigger("audit_listed_no_update", "audit_auditlistedpatient", APPEND_ONLY),
        sqlite_trigger(
            "audit_listed_no_delete", "audit_auditlistedpatient", APPEND_ONLY, before="DELETE", when=UNLESS_FLUSHING
        ),
        sqlite_trigger(
            "audit_head_forward_only", "audit_auditchainhead", f"{HEAD_MESSAGE}, to an event in the trail",
            when=HEAD_MOVES_BACK,
        ),
        sqlite_trigger("audit_head_no_delete", "audit_auditchainhead", HEAD_MESSAGE, before="DELETE", when=UNLESS_FLUSHING),
    ],
    postgresql=[
        pg_function("audit_event_refuse_change", APPEND_ONLY),
        pg_trigger("audit_event_no_change", "audit_auditevent", "audit_event_refuse_change", before="UPDATE OR DELETE"),
        pg_trigger(
            "audit_listed_no_change", "audit_auditlistedpatient", "audit_event_refuse_change", before="UPDATE OR DELETE"
        ),
        pg_function(
            "audit_head_refuse_back", f"{HEAD_MESSAGE}, to an event in the trail",
            when=f"TG_OP = 'DELETE' OR {HEAD_MOVES_BACK}",
        ),
        pg_trigger("audit_head_forward_only", "audit_auditchainhead", "audit_head_refuse_back", before="UPDATE OR DELETE"),
    ],
)


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('audit', '0001_initial'),
        ('audit', '0002_append_only_trigger'),
        ('audit', '0003_keyed_chain_listed_patients'),
        ('audit', '0004_append_only_everywhere'),
        ('audit', '0005_head_names_an_event'),
    ]

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditChainHead',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('seq', models.PositiveBigIntegerField(default=0)),
                ('hash', models.CharField(max_length=64)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='audit_chain_head_singleton')],
            },
        ),
        migrations.CreateModel(
            name='AuditListedPatient',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveBigIntegerField()),
                ('patient_id', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['patient_id', '-seq'], name='audit_listed_patient_seq')],
                'constraints': [models.UniqueConstraint(fields=('seq', 'patient_id'), name='audit_listed_once')],
            },
        ),
        migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveBigIntegerField(unique=True)),
                ('occurred_at', models.DateTimeField(db_index=True)),
                ('actor_label', models.CharField(max_length=150)),
                ('action', models.CharField(choices=[('view', 'Viewed'), ('create', 'Created'), ('update', 'Updated'), ('delete', 'Deleted'), ('login', 'Signed in'), ('logout', 'Signed out'), ('login_failed', 'Sign-in failed')], max_length=16)),
                ('object_type', models.CharField(max_length=100)),
                ('object_id', models.CharField(blank=True, max_length=64)),
                ('patient_id', models.BigIntegerField(blank=True, null=True)),
                ('ip', models.GenericIPAddressField(blank=True, null=True)),
                ('user_agent', models.CharField(blank=True, max_length=300)),
                ('detail', models.JSONField(blank=True, default=dict)),
                ('prev_hash', models.CharField(max_length=64)),
                ('hash', models.CharField(max_length=64, unique=True)),
                ('key_id', models.CharField(blank=True, db_default='', max_length=16)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ('-seq',),
                'indexes': [models.Index(fields=['patient_id', '-seq'], name='audit_patient_seq'), models.Index(fields=['actor', '-seq'], name='audit_actor_seq')],
            },
        ),
        APPEND_ONLY_TRAIL,
    ]

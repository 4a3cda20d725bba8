"""Session signatures become HMAC-SHA256 under the audit key (kept outside the database), so
whoever can write to the database cannot re-sign an altered session record.

A signed session whose unkeyed SHA-256 signature still matches the record is re-signed with the
key; one that no longer matches keeps its signature and so stays flagged as altered.
"""

import hashlib

from django.db import migrations


def resign(apps, schema_editor):
    from ketacare.audit import keys
    from ketacare.sessions import selectors
    from ketacare.sessions.models import TreatmentSession
    from ketacare.sessions.services import snapshot_text

    for session in TreatmentSession.objects.exclude(signature="").iterator():
        text = snapshot_text(selectors.session_snapshot(session)).encode()
        if hashlib.sha256(text).hexdigest() == session.signature:
            TreatmentSession.objects.filter(pk=session.pk).update(signature=keys.sign(text))


class Migration(migrations.Migration):
    dependencies = [("treatment_sessions", "0003_chair_safety"), ("audit", "0004_append_only_everywhere")]
    operations = [migrations.RunPython(resign, migrations.RunPython.noop)]

"""Decision signatures become HMAC-SHA256 under the audit key (kept outside the database), so
whoever can write to the database cannot re-sign an altered decision.

A decision whose unkeyed SHA-256 signature still matches its content is re-signed with the key; one
that no longer matches keeps its signature and so stays flagged as altered. The immutability
trigger is lifted for this one update and put back.
"""

import hashlib
import importlib

from django.db import migrations

immutable = importlib.import_module("ketacare.screening.migrations.0002_signed_decisions_are_immutable")


def resign(apps, schema_editor):
    from ketacare.audit import keys
    from ketacare.screening.models import CandidacyDecision
    from ketacare.screening.services import decision_text

    changes = []
    for decision in CandidacyDecision.objects.all().iterator():
        text = decision_text(decision).encode()
        if hashlib.sha256(text).hexdigest() == decision.signature:
            changes.append((keys.sign(text), decision.pk))
    if not changes:
        return
    immutable.down(apps, schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.executemany("UPDATE screening_candidacydecision SET signature = %s WHERE id = %s", changes)
    immutable.up(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("screening", "0003_trial_drug_from_clinic_table"), ("audit", "0004_append_only_everywhere")]
    operations = [migrations.RunPython(resign, migrations.RunPython.noop)]

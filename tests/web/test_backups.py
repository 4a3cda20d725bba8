"""Backups that restore (security issue, item 6): every record back, the audit chain intact, the
file readable by its owner only."""

from __future__ import annotations

import stat
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ketacare.audit.models import AuditEvent
from ketacare.patients.models import Patient

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_backup_restores_every_record_and_the_audit_chain(register, tmp_path, settings):
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchors.log"
    kept = register(family_name="Kept")
    call_command("audit_anchor", stdout=StringIO())  # an anchor the backup holds
    path = tmp_path / "clinic.backup"
    out = StringIO()
    call_command("backup", "--to", str(path), stdout=out)
    assert f"Backed up to {path}" in out.getvalue() and "1 patients_patient" in out.getvalue()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    events = AuditEvent.objects.count()
    register(family_name="After", phone="555-777-0000")  # written after the backup: gone after
    call_command("audit_anchor", stdout=StringIO())  # an anchor of events the restore replaces
    assert Patient.objects.count() == 2
    out = StringIO()
    call_command("restore", str(path), "--yes", stdout=out)
    assert list(Patient.objects.values_list("pk", "family_name")) == [(kept.pk, "Kept")]
    assert AuditEvent.objects.count() == events + 1  # the restore itself, in the trail
    assert AuditEvent.objects.order_by("-seq").first().detail == {"restored_from": "clinic.backup"}
    assert "1 patients_patient" in out.getvalue() and "audit chain intact" in out.getvalue()
    out = StringIO()
    call_command("audit_verify", stdout=out)  # the anchors after the backup are set aside
    assert f"{events + 1} events verified; 2 anchors checked" in out.getvalue()


def test_restore_asks_for_yes_and_a_backup_is_never_written_over(register, tmp_path):
    register()
    path = tmp_path / "clinic.backup"
    call_command("backup", "--to", str(path), stdout=StringIO())
    size = path.stat().st_size
    with pytest.raises(CommandError, match="exists already") as exists:
        call_command("backup", "--to", str(path), stdout=StringIO())
    assert exists.value.returncode == 2 and path.stat().st_size == size
    with pytest.raises(CommandError, match="add --yes"):
        call_command("restore", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="no such backup file"):
        call_command("restore", str(tmp_path / "missing"), "--yes", stdout=StringIO())
    assert Patient.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite file")
def test_a_file_that_is_not_a_backup_is_refused_and_nothing_changes(register, tmp_path):
    register()
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database")
    with pytest.raises(CommandError, match="Not restored"):
        call_command("restore", str(bogus), "--yes", stdout=StringIO())
    assert Patient.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite file")
def test_the_database_files_are_the_owners_only(tmp_path):
    import os

    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    os.chmod(name, 0o644)  # as a wide umask would have made it
    connection.close()
    connection.ensure_connection()
    for path in (name, f"{name}-wal"):
        if os.path.exists(path):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path

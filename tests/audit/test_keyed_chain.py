"""An intruder with write access to the database, but not the audit key kept outside it, cannot
rewrite the audit trail, cut its end off, or re-sign a decision or a session unnoticed."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from ketacare.audit import keys
from ketacare.audit.anchors import anchor_write
from ketacare.audit.chain import canonical, legacy_link
from ketacare.audit.context import Actor
from ketacare.audit.models import AuditChainHead, AuditEvent, AuditListedPatient
from ketacare.audit.selectors import chain_verify
from ketacare.audit.services import Action, EventSpec, audit_list_view, audit_record_many

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def anchor_file(settings, tmp_path):
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchors.log"
    return settings.AUDIT_ANCHOR_FILE


@pytest.fixture
def trail(register):
    register()
    register(given_name="Ben", family_name="Jones")
    for n in range(5):
        audit_record_many(
            actor=Actor.command("test"), specs=[EventSpec(Action.VIEW, "patients.patient", str(n), 1)]
        )
    return list(AuditEvent.objects.order_by("seq"))


def _as_intruder(*statements: tuple[str, list]) -> None:
    """Lift the database's guards as the database's owner could, then run the statements."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for trigger in ("audit_event_no_update", "audit_event_no_delete", "audit_head_forward_only"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        else:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_change")
            cursor.execute("ALTER TABLE audit_auditchainhead DISABLE TRIGGER audit_head_forward_only")
        for sql, params in statements:
            cursor.execute(sql, params)


def _rehash_from(seq: int, link) -> None:
    """Recompute every link from `seq` on with `link` (the intruder's best effort) and move the head."""
    events = list(AuditEvent.objects.filter(seq__gte=seq).order_by("seq"))
    prev = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else "0" * 64
    statements = []
    for e in events:
        content = canonical(
            seq=e.seq,
            occurred_at=e.occurred_at,
            actor_id=e.actor_id,
            actor_label=e.actor_label,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            patient_id=e.patient_id,
            ip=e.ip,
            user_agent=e.user_agent,
            detail=e.detail,
        )
        digest = link(prev, content)
        statements.append(
            (
                "UPDATE audit_auditevent SET prev_hash = %s, hash = %s, key_id = '' WHERE seq = %s",
                [prev, digest, e.seq],
            )
        )
        prev = digest
    statements.append(("UPDATE audit_auditchainhead SET hash = %s WHERE id = 1", [prev]))
    _as_intruder(*statements)


def test_events_are_linked_with_the_key_kept_outside_the_database(trail):
    assert {e.key_id for e in trail} == {keys.key_id()}
    report = chain_verify()
    assert report.intact and report.events_checked == len(trail) and report.unkeyed_events == 0


def test_a_rewritten_event_re_hashed_without_the_key_is_caught(trail):
    victim = trail[3]
    _as_intruder(("UPDATE audit_auditevent SET actor_label = %s WHERE seq = %s", ["nobody", victim.seq]))
    _rehash_from(victim.seq, legacy_link)  # a self-consistent unkeyed chain from there on
    report = chain_verify()
    assert not report.intact and report.broken_at_seq == victim.seq
    assert "unkeyed but follows keyed event" in report.problem


def test_a_whole_trail_re_hashed_without_the_key_is_caught_by_its_anchor(trail):
    anchor_write()
    _as_intruder(("UPDATE audit_auditevent SET actor_label = %s WHERE seq = %s", ["nobody", 2]))
    _rehash_from(1, legacy_link)  # every event unkeyed: looks like a trail from before the key
    report = chain_verify()
    assert not report.intact and report.broken_at_seq == trail[-1].seq
    assert "differs from the anchor" in report.problem


def test_unkeyed_events_without_an_anchor_that_vouches_for_them_are_refused(trail, anchor_file):
    _rehash_from(1, legacy_link)
    anchor_file.unlink(missing_ok=True)
    report = chain_verify()
    assert not report.intact and "no anchor vouches for them" in report.problem


def test_a_cut_off_end_with_the_head_moved_back_is_caught_by_the_anchor(trail, capsys):
    anchor_write()
    last = trail[-1]
    keep = trail[-3]
    _as_intruder(
        ("DELETE FROM audit_auditevent WHERE seq > %s", [keep.seq]),
        ("UPDATE audit_auditchainhead SET seq = %s, hash = %s WHERE id = 1", [keep.seq, keep.hash]),
    )
    report = chain_verify()
    assert not report.intact
    assert f"names event {last.seq}, but the trail ends at event {keep.seq}" in report.problem
    with pytest.raises(CommandError, match="events were removed from its end") as refused:
        call_command("audit_verify")
    assert refused.value.returncode == 1


def test_a_forged_or_edited_anchor_line_is_refused(trail, anchor_file):
    anchor_write()
    text = anchor_file.read_text()
    anchor_file.write_text(text.replace(f'"seq":{trail[-1].seq}', '"seq":2'))
    report = chain_verify()
    assert not report.intact and "is not an anchor written with this audit key" in report.problem


def test_a_trail_checked_with_another_key_is_refused(trail, settings):
    settings.AUDIT_KEY = "another-key-another-key-another-key-0001"
    report = chain_verify()
    assert not report.intact and report.broken_at_seq == 1 and "another audit key" in report.problem


def test_audit_anchor_and_audit_verify_commands(trail, capsys, anchor_file):
    call_command("audit_anchor")
    assert f"Anchored event {trail[-1].seq}" in capsys.readouterr().out
    assert anchor_file.stat().st_mode & 0o777 == 0o600
    audit_record_many(actor=Actor.command("test"), specs=[EventSpec(Action.VIEW, "patients.patient", "9", 1)])
    call_command("audit_anchor")
    call_command("audit_verify")
    assert f"{len(trail) + 1} events verified; 2 anchors checked" in capsys.readouterr().out


def test_the_database_refuses_delete_and_moving_the_head_back(trail):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [trail[-1].seq])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditchainhead SET seq = 1 WHERE id = 1")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditchainhead")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(  # forward, but to an event that is not in the trail
            "UPDATE audit_auditchainhead SET seq = %s, hash = %s WHERE id = 1", [trail[-1].seq + 5, "f" * 64]
        )
    assert AuditEvent.objects.count() == len(trail)
    assert AuditChainHead.objects.get().seq == trail[-1].seq


@pytest.mark.django_db(transaction=True)
def test_another_program_opening_the_sqlite_file_cannot_delete_audit_rows(register):
    import sqlite3

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL refuses DELETE for every connection (the test above)")
    register()  # committed: this test runs outside a transaction
    assert AuditEvent.objects.exists()
    other = sqlite3.connect(connection.settings_dict["NAME"])
    try:
        with pytest.raises(sqlite3.OperationalError, match="ketacare_audit_delete_allowed"):
            other.execute("DELETE FROM audit_auditevent")
    finally:
        other.close()
    assert AuditEvent.objects.exists()


def test_a_list_view_is_found_by_the_patients_it_showed_and_its_index_is_checked(register, actor):
    shown = register()
    other = register(given_name="Cleo")
    audit_list_view(actor=actor, object_type="treatment.appointment", ids=[70, 71], patients=[shown.pk])
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    indexed = AuditListedPatient.objects.filter(seq=event.seq).values_list("patient_id", flat=True)
    assert list(indexed) == [shown.pk]
    assert chain_verify().intact
    with connection.cursor() as cursor:  # an intruder hides who saw the patient
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_listed_no_update")
        else:
            cursor.execute("ALTER TABLE audit_auditlistedpatient DISABLE TRIGGER audit_listed_no_change")
        cursor.execute(
            "UPDATE audit_auditlistedpatient SET patient_id = %s WHERE seq = %s", [other.pk, event.seq]
        )
    report = chain_verify()
    assert not report.intact and f"differs from event {event.seq}" in report.problem


def test_after_a_restore_only_anchors_past_the_restored_end_are_set_aside(trail):
    from ketacare.audit.anchors import restore_mark

    anchor_write()
    keep = trail[-3]
    _as_intruder(  # what restoring an older backup does to the trail
        ("DELETE FROM audit_auditevent WHERE seq > %s", [keep.seq]),
        ("UPDATE audit_auditchainhead SET seq = %s, hash = %s WHERE id = 1", [keep.seq, keep.hash]),
    )
    assert not chain_verify().intact
    assert chain_verify(after_restore=True).intact
    restore_mark()
    assert chain_verify().intact  # the restore line sets the older anchor aside for good
    _as_intruder(("UPDATE audit_auditevent SET actor_label = %s WHERE seq = %s", ["nobody", 2]))
    assert not chain_verify(after_restore=True).intact  # a backup altered before its end: refused


def test_an_anchor_line_replayed_moved_or_removed_breaks_the_chain_of_lines(trail, anchor_file):
    from ketacare.audit.anchors import restore_mark

    anchor_write()
    restore_mark()  # a restore line, which an intruder would love to replay after a truncation
    audit_record_many(actor=Actor.command("test"), specs=[EventSpec(Action.VIEW, "patients.patient", "7", 1)])
    anchor_write()
    lines = anchor_file.read_text().splitlines()
    assert chain_verify().intact and chain_verify().anchors_checked == 3
    anchor_file.write_text("\n".join([*lines, lines[1]]) + "\n")  # the restore line replayed
    report = chain_verify()
    assert not report.intact and "line 4" in report.problem and "replayed" in report.problem
    anchor_file.write_text("\n".join([lines[0], lines[2]]) + "\n")  # the middle line taken out
    assert "does not follow" in chain_verify().problem


def test_a_restore_does_not_raise_a_false_alarm_for_the_event_numbers_it_reuses(trail):
    from ketacare.audit.anchors import restore_mark

    keep = trail[-3]
    anchor_write()  # names the last event, which the "restore" below replaces
    _as_intruder(
        ("DELETE FROM audit_auditevent WHERE seq > %s", [keep.seq]),
        ("UPDATE audit_auditchainhead SET seq = %s, hash = %s WHERE id = 1", [keep.seq, keep.hash]),
    )
    restore_mark()
    for n in range(3):  # new events take the numbers of the replaced ones
        audit_record_many(
            actor=Actor.command("test"), specs=[EventSpec(Action.VIEW, "patients.patient", str(n), 1)]
        )
    assert chain_verify().intact


def test_in_production_audit_verify_fails_without_a_recent_anchor(
    trail, settings, anchor_file, capsys, monkeypatch
):
    import datetime as dt

    from ketacare.audit.management.commands import audit_verify

    settings.HTTPS, settings.AUDIT_KEY = True, keys.audit_key().decode()  # production, same key
    with pytest.raises(CommandError, match="No anchor yet") as refused:
        call_command("audit_verify")
    assert refused.value.returncode == 1
    anchor_write()
    call_command("audit_verify")  # a fresh anchor: intact

    class Later(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # two days on, and the timer has written nothing since
            return dt.datetime.now(tz) + dt.timedelta(days=2)

    monkeypatch.setattr(audit_verify, "datetime", Later)
    with pytest.raises(CommandError, match="older than 24 hours"):
        call_command("audit_verify")
    settings.HTTPS = False
    call_command("audit_verify")  # a demo or development set-up: a note, not a failure
    assert "older than 24 hours" in capsys.readouterr().err

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent, AuditImmutableError
from ketacare.audit.selectors import chain_verify
from ketacare.audit.services import Action, EventSpec, audit_record_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(register):
    register()
    register(given_name="Ben", family_name="Jones")
    audit_record_many(actor=Actor.command("test"), specs=[EventSpec(Action.VIEW, "patients.patient", "1", 1)])
    return list(AuditEvent.objects.order_by("seq"))


def _without_guard(sql, params):
    """Tamper as a database administrator would: lift the append-only trigger, change a row."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")
        else:
            # Deferred foreign-key checks from the test's own inserts must fire before ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_change")
        cursor.execute(sql, params)


def test_intact_chain_verifies(trail, capsys):
    assert [e.seq for e in trail] == list(range(1, len(trail) + 1))
    assert all(e.prev_hash == p.hash for p, e in zip(trail, trail[1:], strict=False))
    call_command("audit_verify")
    assert f"intact: {len(trail)} events" in capsys.readouterr().out


def test_tampered_row_is_named_and_the_command_fails(trail):
    victim = trail[2]
    _without_guard(
        "UPDATE audit_auditevent SET actor_label = %s WHERE seq = %s", ["someone-else", victim.seq]
    )
    report = chain_verify()
    assert (report.intact, report.broken_at_seq, report.events_checked) == (False, victim.seq, victim.seq - 1)
    assert "altered" in report.problem
    with pytest.raises(CommandError, match=f"BROKEN at event {victim.seq}") as excinfo:
        call_command("audit_verify")
    assert excinfo.value.returncode == 1


def test_deleted_row_is_detected(trail):
    _without_guard("DELETE FROM audit_auditevent WHERE seq = %s", [2])
    report = chain_verify()
    assert report.broken_at_seq == 2 and "missing" in report.problem


def test_truncated_tail_is_detected_by_the_chain_head(trail):
    _without_guard("DELETE FROM audit_auditevent WHERE seq = %s", [trail[-1].seq])
    report = chain_verify()
    assert not report.intact and "chain head" in report.problem


def test_orm_refuses_updates_and_deletes(trail):
    event = trail[0]
    event.actor_label = "changed"
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="x")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).actor_label != "changed"


def test_the_database_refuses_a_raw_update(trail):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET action = 'delete' WHERE seq = 1")
    assert chain_verify().intact


def test_a_failed_service_leaves_no_audit_event(actor):
    from django.core.exceptions import ValidationError

    from ketacare.patients.services import patient_register

    before = AuditEvent.objects.count()  # the fixture's account, made and audited
    with pytest.raises(ValidationError):
        patient_register(actor=actor, details={"given_name": "", "family_name": "X"})
    assert AuditEvent.objects.count() == before


def test_sign_in_and_failed_sign_in_are_recorded(client, nurse):
    from tests.conftest import PASSWORD

    made = AuditEvent.objects.order_by("seq").last()  # the nurse's account, made and audited
    client.post("/accounts/login/", {"username": "nurse-user", "password": "wrong"})
    client.post("/accounts/login/", {"username": "nurse-user", "password": PASSWORD})
    actions = list(
        AuditEvent.objects.filter(seq__gt=made.seq).order_by("seq").values_list("action", "actor_label")
    )
    assert actions == [("login_failed", "anonymous"), ("login", "nurse-user")]
    assert AuditEvent.objects.get(action="login_failed").detail == {"username": "nurse-user"}

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.treatment import services
from ketacare.treatment.models import Appointment, MaintenanceDecision, TreatmentPlan
from tests.treatment_helpers import make_chair, make_eligible, start_plan

pytestmark = pytest.mark.django_db

# The Monday at least a week ahead, so that a run crossing midnight (into a Monday) still
# finds it in the future.
NEXT_MONDAY = timezone.localdate() + datetime.timedelta(days=14 - timezone.localdate().weekday())


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def test_iv_plan_books_six_infusions_three_a_week(doctor, patient, eligible, chair):
    plan = start_plan(
        doctor, patient, chair, start_on=NEXT_MONDAY, start_time=datetime.time(9, 0), weekdays=[0, 2, 4]
    )
    booked = list(plan.appointments.order_by("starts_at"))
    assert [timezone.localtime(a.starts_at).strftime("%a %H:%M") for a in booked] == [
        "Mon 09:00",
        "Wed 09:00",
        "Fri 09:00",
    ] * 2
    assert (booked[-1].starts_at - booked[0].starts_at).days == 11
    assert {a.kind for a in booked} == {"induction"}
    assert all(a.ends_at - a.starts_at == datetime.timedelta(minutes=120) for a in booked)
    assert (plan.protocol, plan.route, plan.dose_mg_per_kg, plan.weight_basis, plan.induction_sessions) == (
        "iv_ketamine_standard",
        "iv_ketamine",
        Decimal("0.50"),
        "actual",
        6,
    )
    assert plan.decision == eligible
    assert AuditEvent.objects.filter(object_type="treatment.appointment", action="create").count() == 6


def test_esketamine_plan_follows_the_label_schedule(doctor, patient, eligible, chair):
    plan = start_plan(doctor, patient, chair, protocol="esketamine_nasal", start_on=NEXT_MONDAY)
    kinds = list(plan.appointments.order_by("starts_at").values_list("kind", flat=True))
    assert kinds == ["induction"] * 8 + ["maintenance"] * 4
    assert plan.dose_mg == Decimal(56)
    assert plan.booster_interval_days == 14


def test_a_plan_needs_a_signed_eligible_decision_for_its_route(doctor, patient, chair, register):
    with pytest.raises(ValidationError) as err:
        start_plan(doctor, patient, chair, consent=False)  # no consent before the decision either
    assert "No candidacy decision is signed" in str(err.value)
    other = register(given_name="Ben")
    make_eligible(doctor, other, routes=("iv_ketamine",))
    with pytest.raises(ValidationError) as err:
        start_plan(doctor, other, chair, protocol="esketamine_nasal", consent=False)
    assert err.value.message_dict == {
        "route": ["The current candidacy decision does not cover esketamine_nasal."]
    }
    assert not TreatmentPlan.objects.exists() and not Appointment.objects.exists()


def test_only_a_physician_starts_a_plan(nurse, patient, eligible, chair):
    with pytest.raises(ValidationError, match="Only a physician"):
        start_plan(Actor(user=nurse), patient, chair)
    assert not TreatmentPlan.objects.exists()


def test_a_disabled_protocol_and_a_planned_dose_out_of_range_are_refused(doctor, patient, eligible, chair):
    with pytest.raises(ValidationError) as err:
        start_plan(doctor, patient, chair, protocol="im_ketamine")
    assert "not enabled" in str(err.value)
    with pytest.raises(ValidationError) as err:
        start_plan(doctor, patient, chair, dose_mg_per_kg=Decimal("1.2"))
    assert err.value.message_dict == {"dose_mg_per_kg": ["The planned dose must be within 0.1-1.0 mg/kg."]}
    assert not TreatmentPlan.objects.exists()


def test_one_active_plan_per_patient(doctor, patient, eligible, chair):
    start_plan(doctor, patient, chair, start_on=NEXT_MONDAY)
    with pytest.raises(ValidationError, match="already has an active treatment plan"):
        start_plan(doctor, patient, make_chair("Chair 2"), start_on=NEXT_MONDAY + datetime.timedelta(days=28))


def test_a_chair_is_never_double_booked_and_nothing_is_half_written(
    doctor, patient, eligible, chair, register
):
    start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, start_time=datetime.time(9, 0))
    other = register(given_name="Ben")
    make_eligible(doctor, other)
    # Wednesday 10:00 overlaps the 09:00-11:00 infusion in the same chair.
    with pytest.raises(ValidationError) as err:
        start_plan(
            doctor,
            other,
            chair,
            start_on=NEXT_MONDAY + datetime.timedelta(days=2),
            start_time=datetime.time(10, 0),
        )
    # The message names the booking it clashes with (09:00-11:00), and the one asked for.
    message = str(err.value)
    assert message.count("Chair 1 is booked Wed") == 1
    assert "09:00-11:00, which overlaps Wed" in message and "10:00-12:00." in message
    assert not TreatmentPlan.objects.filter(patient=other).exists()
    assert Appointment.objects.filter(patient=other).count() == 0
    # 11:00 is free: back-to-back is allowed.
    plan = start_plan(doctor, other, chair, start_on=NEXT_MONDAY, start_time=datetime.time(11, 0))
    assert plan.appointments.count() == 6


def test_a_patient_cannot_be_in_two_chairs_at_once(doctor, patient, eligible, chair):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, start_time=datetime.time(9, 0))
    with pytest.raises(ValidationError, match="The patient already has an appointment"):
        services.appointment_book(
            actor=doctor, plan=plan, chair=make_chair("Chair 2"), starts_at=at(NEXT_MONDAY, 10)
        )


def test_reschedule_with_a_reason_and_refuse_a_clash(doctor, patient, eligible, chair, actor):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, start_time=datetime.time(9, 0))
    first, second = plan.appointments.order_by("starts_at")[:2]
    with pytest.raises(ValidationError, match="Give a reason"):
        services.appointment_reschedule(
            actor=actor,
            appointment=first,
            starts_at=at(NEXT_MONDAY, 13),
            chair=chair,
            clinician=None,
            reason=" ",
        )
    with pytest.raises(
        ValidationError, match=r"Chair 1 is booked \w+ \d+ \w+ \d{4} \d\d:\d\d-\d\d:\d\d, which overlaps"
    ):
        services.appointment_reschedule(
            actor=actor,
            appointment=first,
            starts_at=second.starts_at + datetime.timedelta(minutes=30),
            chair=chair,
            clinician=None,
            reason="Patient asked",
        )
    moved = services.appointment_reschedule(
        actor=actor,
        appointment=first,
        starts_at=at(NEXT_MONDAY, 13),
        chair=chair,
        clinician=None,
        reason="Patient asked",
    )
    assert (timezone.localtime(moved.starts_at).hour, moved.times_rescheduled, moved.last_change_reason) == (
        13,
        1,
        "Patient asked",
    )
    assert moved.ends_at - moved.starts_at == datetime.timedelta(minutes=120)
    event = AuditEvent.objects.filter(
        object_type="treatment.appointment", object_id=str(first.pk), action="update"
    ).get()
    assert event.detail["reason"] == "Patient asked" and event.detail["before"]["starts_at"].startswith(
        str(NEXT_MONDAY)
    )


def test_cancel_keeps_the_appointment_and_frees_the_chair(doctor, patient, eligible, chair, actor, register):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, start_time=datetime.time(9, 0))
    first = plan.appointments.order_by("starts_at").first()
    cancelled = services.appointment_cancel(actor=actor, appointment=first, reason="Unwell")
    assert (cancelled.status, cancelled.last_change_reason, cancelled.cancelled_by) == (
        "cancelled",
        "Unwell",
        actor.user,
    )
    with pytest.raises(ValidationError, match="Only a booked appointment"):
        services.appointment_cancel(actor=actor, appointment=first, reason="again")
    other = register(given_name="Ben")
    make_eligible(doctor, other)
    other_plan = start_plan(
        doctor, other, make_chair("Chair 2"), start_on=NEXT_MONDAY + datetime.timedelta(days=14)
    )
    booked = services.appointment_book(actor=actor, plan=other_plan, chair=chair, starts_at=first.starts_at)
    assert booked.chair == chair


def test_stop_cancels_future_appointments_with_the_reason(doctor, patient, eligible, chair):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY)
    stopped = services.plan_stop(actor=doctor, plan=plan, reason="Patient chose to stop")
    assert stopped.status == "stopped"
    assert set(plan.appointments.values_list("status", "last_change_reason")) == {
        ("cancelled", "Patient chose to stop")
    }
    with pytest.raises(ValidationError, match="stopped"):
        services.appointment_book(
            actor=doctor, plan=plan, chair=chair, starts_at=at(NEXT_MONDAY + datetime.timedelta(days=30), 9)
        )


def test_maintenance_decision_moves_the_plan_to_boosters(doctor, patient, eligible, chair, nurse):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY)
    with pytest.raises(ValidationError, match="Only a physician"):
        services.maintenance_decide(
            actor=Actor(user=nurse), plan=plan, phase="maintenance", booster_interval_days=21, reason="x"
        )
    with pytest.raises(ValidationError) as err:
        services.maintenance_decide(
            actor=doctor, plan=plan, phase="maintenance", booster_interval_days=400, reason="x"
        )
    assert "booster_interval_days" in err.value.message_dict
    services.maintenance_decide(
        actor=doctor,
        plan=plan,
        phase="maintenance",
        booster_interval_days=21,
        reason="Responded after 6 infusions",
    )
    plan.refresh_from_db()
    assert (plan.phase, plan.booster_interval_days) == ("maintenance", 21)
    assert MaintenanceDecision.objects.get().reason == "Responded after 6 infusions"


def test_booking_in_the_past_is_refused(doctor, patient, eligible, chair):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY)
    with pytest.raises(ValidationError, match="in the past"):
        services.appointment_book(
            actor=doctor, plan=plan, chair=chair, starts_at=timezone.now() - datetime.timedelta(hours=1)
        )

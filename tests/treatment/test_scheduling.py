"""Scheduling rules: the first treatment on the date given, clash messages that say what is free
instead, opening hours and closure days with an override and a reason, times to the minute."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.treatment import services
from ketacare.treatment.models import Appointment, OpeningHours, TreatmentPlan
from tests.treatment.test_services import NEXT_MONDAY, at
from tests.treatment_helpers import make_chair, make_eligible, start_plan

pytestmark = pytest.mark.django_db

TUESDAY = NEXT_MONDAY + datetime.timedelta(days=1)
WEEKDAYS_9_TO_5 = {d: (datetime.time(8, 0), datetime.time(18, 0)) for d in range(5)} | {5: None, 6: None}


def test_a_first_treatment_on_a_day_not_chosen_is_refused_not_moved(doctor, patient, eligible, chair):
    with pytest.raises(ValidationError) as err:
        start_plan(doctor, patient, chair, start_on=TUESDAY, weekdays=[0, 2, 4])
    message = err.value.message_dict["start_on"][0]
    assert message.startswith(
        f"Tue {TUESDAY.day} {TUESDAY:%b} is not one of the treatment days chosen (Mon, Wed, Fri)"
    )
    assert "or tick Tue" in message
    assert not TreatmentPlan.objects.exists() and not Appointment.objects.exists()
    plan = start_plan(doctor, patient, chair, start_on=TUESDAY, weekdays=[1, 3, 4])
    first = plan.appointments.order_by("starts_at").first()
    assert timezone.localtime(first.starts_at).date() == TUESDAY


def test_a_first_treatment_with_no_weekdays_chosen_is_on_the_date_given(doctor, patient, eligible, chair):
    plan = start_plan(doctor, patient, chair, start_on=TUESDAY, weekdays=[])
    assert timezone.localtime(plan.appointments.order_by("starts_at").first().starts_at).date() == TUESDAY


def test_a_clash_names_the_booking_and_what_is_free_instead(doctor, patient, eligible, chair, register):
    start_plan(
        doctor, patient, chair, start_on=NEXT_MONDAY, start_time=datetime.time(9, 0), weekdays=[0, 2, 4]
    )
    make_chair("Chair 10")
    make_chair("Chair 2")
    other = register(given_name="Ben")
    make_eligible(doctor, other)
    with pytest.raises(ValidationError) as err:
        start_plan(
            doctor, other, chair, start_on=NEXT_MONDAY, start_time=datetime.time(10, 0), weekdays=[0, 2, 4]
        )
    message = str(err.value)
    assert "Chair 1 is booked Mon" in message and "09:00-11:00, which overlaps" in message
    assert "Free then: Chair 2, Chair 10." in message  # natural order
    assert "Chair 1 is next free at 11:00." in message
    assert not TreatmentPlan.objects.filter(patient=other).exists()


def test_a_closure_day_refuses_a_booking_unless_a_reason_is_given(
    doctor, patient, eligible, chair, clinic_admin
):
    from ketacare.audit.context import Actor

    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, weekdays=[0, 2, 4])
    holiday = NEXT_MONDAY + datetime.timedelta(days=15)  # a Tuesday after the induction
    services.closure_add(actor=Actor(user=clinic_admin), date=holiday, reason="Christmas Day")
    with pytest.raises(ValidationError) as err:
        services.appointment_book(actor=doctor, plan=plan, chair=chair, starts_at=at(holiday, 9))
    assert err.value.message_dict["starts_at"] == [
        f"The clinic is closed on Tue {holiday.day} {holiday:%b %Y}: Christmas Day. Choose another time, "
        "or book anyway giving the reason."
    ]
    assert not Appointment.objects.filter(starts_at__date=holiday).exists()
    booked = services.appointment_book(
        actor=doctor,
        plan=plan,
        chair=chair,
        starts_at=at(holiday, 9),
        override_reason="Relapse with suicidal thoughts; on-call team in",
    )
    assert booked.last_change_reason.startswith(
        "Booked although the clinic is closed (The clinic is closed on Tue"
    )
    assert booked.last_change_reason.endswith("Relapse with suicidal thoughts; on-call team in")
    event = AuditEvent.objects.filter(object_type="treatment.appointment", object_id=str(booked.pk)).get()
    assert "Christmas Day" in event.detail["booked_although_closed"]


def test_a_course_across_a_closure_is_refused_naming_the_day(doctor, patient, eligible, chair, clinic_admin):
    from ketacare.audit.context import Actor

    wednesday = NEXT_MONDAY + datetime.timedelta(days=2)
    services.closure_add(actor=Actor(user=clinic_admin), date=wednesday, reason="Staff training")
    with pytest.raises(ValidationError, match="closed on Wed .*: Staff training"):
        start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, weekdays=[0, 2, 4])
    assert not TreatmentPlan.objects.exists()


def test_opening_hours_refuse_a_slot_outside_them(doctor, patient, eligible, chair, clinic_admin):
    from ketacare.audit.context import Actor

    plan = start_plan(
        doctor, patient, chair, start_on=NEXT_MONDAY, weekdays=[0, 2, 4], start_time=datetime.time(7)
    )
    services.opening_hours_set(actor=Actor(user=clinic_admin), hours=WEEKDAYS_9_TO_5)
    assert OpeningHours.objects.count() == 5
    later = NEXT_MONDAY + datetime.timedelta(days=21)
    with pytest.raises(ValidationError) as err:
        services.appointment_book(actor=doctor, plan=plan, chair=chair, starts_at=at(later, 17))
    assert err.value.message_dict["starts_at"][0].startswith(
        "The clinic is open 08:00-18:00 on Mondays: 17:00-19:00 is outside."
    )
    sunday = later + datetime.timedelta(days=6)
    with pytest.raises(ValidationError, match="The clinic does not open on Sundays."):
        services.appointment_book(actor=doctor, plan=plan, chair=chair, starts_at=at(sunday, 10))
    assert services.appointment_book(actor=doctor, plan=plan, chair=chair, starts_at=at(later, 16))
    # Rescheduling is held to the same hours.
    first = plan.appointments.order_by("starts_at").first()
    with pytest.raises(ValidationError, match="is outside"):
        services.appointment_reschedule(
            actor=doctor,
            appointment=first,
            starts_at=at(later, 6),
            chair=chair,
            clinician=None,
            reason="Asked",
        )


def test_no_opening_hours_set_checks_no_hours(doctor, patient, eligible, chair):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, weekdays=[0, 2, 4])
    sunday = NEXT_MONDAY + datetime.timedelta(days=20)
    assert services.appointment_book(actor=doctor, plan=plan, chair=chair, starts_at=at(sunday, 6))


def test_opening_hours_and_closures_are_the_clinic_admins(doctor, nurse_actor):
    with pytest.raises(ValidationError, match="Only the clinic admin"):
        services.opening_hours_set(actor=doctor, hours=WEEKDAYS_9_TO_5)
    with pytest.raises(ValidationError, match="Only the clinic admin"):
        services.closure_add(actor=nurse_actor, date=NEXT_MONDAY, reason="Holiday")


def test_the_current_minute_is_not_the_past(doctor, patient, eligible, chair):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY)
    this_minute = timezone.now().replace(second=0, microsecond=0)
    # What the form sends for "now": the minute, its seconds dropped.
    booked = services.appointment_book(
        actor=doctor, plan=plan, chair=make_chair("Chair 5"), starts_at=this_minute
    )
    assert booked.starts_at == this_minute
    with pytest.raises(ValidationError, match="in the past"):
        services.appointment_book(
            actor=doctor,
            plan=plan,
            chair=make_chair("Chair 6"),
            starts_at=this_minute - datetime.timedelta(minutes=1),
        )


def test_the_clinic_admin_sets_hours_and_closures_on_their_page(client_as, clinic_admin, front_desk):
    client = client_as(clinic_admin)
    page = client.get("/clinic-hours/").content.decode()
    assert "No opening hours are set" in page
    data = {
        "action": "hours",
        "open_0": "on",
        "opens_0": "08:00",
        "closes_0": "18:00",
        "open_1": "on",
        "opens_1": "09:00",
    }
    refused = client.post("/clinic-hours/", data)
    assert refused.status_code == 422
    assert "Give the time the clinic closes on Tuesdays." in refused.content.decode()
    assert not OpeningHours.objects.exists()
    data["closes_1"] = "17:00"
    assert client.post("/clinic-hours/", data).status_code == 302
    assert [str(h) for h in OpeningHours.objects.all()] == ["Monday 08:00-18:00", "Tuesday 09:00-17:00"]
    holiday = NEXT_MONDAY + datetime.timedelta(days=3)
    client.post("/clinic-hours/", {"action": "add", "date": holiday.isoformat(), "reason": "Staff training"})
    page = client.get("/clinic-hours/").content.decode()
    assert "Staff training" in page
    calendar = client_as(front_desk).get(f"/calendar/?date={holiday.isoformat()}").content.decode()
    assert "Closed: Staff training" in calendar
    # The front desk reads the page but changes nothing.
    reading = client_as(front_desk)
    assert reading.get("/clinic-hours/").status_code == 200
    assert (
        reading.post(
            "/clinic-hours/", {"action": "add", "date": holiday.isoformat(), "reason": "x"}
        ).status_code
        == 403
    )


def test_a_new_plan_for_a_patient_with_an_active_one_opens_that_plan(
    doctor, patient, eligible, chair, client_as, physician
):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, weekdays=[0, 2, 4])
    response = client_as(physician).get(f"/patients/{patient.pk}/plans/new/", follow=True)
    assert response.redirect_chain == [(f"/plans/{plan.pk}/", 302)]
    assert "already has an active treatment plan" in response.content.decode()


def test_a_chair_named_with_other_digits_still_sorts(db):
    from ketacare.treatment.selectors import natural_key

    # "²" is a digit to str.isdigit() but no number to int(): it sorts as text, never a crash.
    ordered = sorted(["Chair ²", "Chair 10", "Chair 2"], key=natural_key)
    assert ordered.index("Chair 2") < ordered.index("Chair 10") and "Chair ²" in ordered

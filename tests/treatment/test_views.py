import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.treatment.models import Appointment, Chair, TreatmentPlan
from tests.treatment_helpers import make_chair, make_eligible, sign_consent, start_plan

pytestmark = pytest.mark.django_db

# The Monday at least a week ahead, so that a run crossing midnight (into a Monday) still
# finds it in the future.
NEXT_MONDAY = timezone.localdate() + datetime.timedelta(days=14 - timezone.localdate().weekday())


def plan_form(chair, **over):
    data = {
        "protocol": "iv_ketamine_standard",
        "start_on": NEXT_MONDAY.isoformat(),
        "start_time": "09:00",
        "weekdays": ["0", "2", "4"],
        "chair": str(chair.pk),
        "clinician": "",
        "dose_mg_per_kg": "",
        "dose_mg": "",
        "weight_basis": "",
        "booster_interval_days": "",
        "goals": "Remission on PHQ-9",
    }
    data.update(over)
    return data


def test_physician_starts_a_plan_from_the_form(client_as, physician, patient, eligible, chair):
    client = client_as(physician)
    page = client.get(reverse("treatment:plan-new", args=[patient.pk])).content.decode()
    assert "Eligible" in page and "IV racemic ketamine 0.5 mg/kg over 40 minutes" in page
    assert 'Consent to IV ketamine: <strong class="alarm-text">version 1 not signed</strong>' in page
    # Not signed: the form says so atop, keeps what was typed, and nothing is written.
    refused = client.post(
        reverse("treatment:plan-new", args=[patient.pk]), plan_form(chair, goals="Remission by May")
    )
    assert refused.status_code == 422
    html = refused.content.decode()
    assert (
        "The patient has not signed the current consent for IV ketamine, version 1: they sign it in the "
        "portal, or a nurse or physician records their signature on paper." in html
    )
    assert "Remission by May" in html and not TreatmentPlan.objects.exists()
    sign_consent(patient)
    page = client.get(reverse("treatment:plan-new", args=[patient.pk])).content.decode()
    assert "Consent to IV ketamine: <strong>version 1 signed</strong>" in page
    response = client.post(reverse("treatment:plan-new", args=[patient.pk]), plan_form(chair))
    plan = TreatmentPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("treatment:plan", args=[plan.pk])
    page = client.get(response["Location"]).content.decode()
    assert page.count("<td>Induction</td>") == 6 and "0.5 mg/kg on actual body weight" in page


def test_plan_form_errors_are_beside_the_field_and_keep_the_input(
    client_as, physician, patient, eligible, chair
):
    response = client_as(physician).post(
        reverse("treatment:plan-new", args=[patient.pk]),
        plan_form(chair, dose_mg_per_kg="1.4", goals="kept text"),
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "The planned dose must be within 0.1-1.0 mg/kg." in html and "kept text" in html
    assert not TreatmentPlan.objects.exists()


def test_plan_form_without_a_decision_says_why(client_as, physician, register):
    patient = register(given_name="Una")
    html = client_as(physician).get(reverse("treatment:plan-new", args=[patient.pk])).content.decode()
    assert "No candidacy decision is signed for this patient" in html


def test_front_desk_reschedules_with_a_reason_and_sees_a_clash(
    client_as, front_desk, doctor, patient, eligible, chair
):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, start_time=datetime.time(9, 0))
    first, second = plan.appointments.order_by("starts_at")[:2]
    client = client_as(front_desk)
    url = reverse("treatment:appointment-change", args=[first.pk])
    clash = timezone.localtime(second.starts_at).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url, {"reschedule": "1", "starts_at": clash, "chair": chair.pk, "clinician": "", "reason": "asked"}
    )
    assert response.status_code == 422
    assert "Chair 1 is booked " in response.content.decode()
    assert ", which overlaps " in response.content.decode()
    response = client.post(url, {"cancel": "1", "reason": ""})
    assert response.status_code == 422 and "This field is required." in response.content.decode()
    response = client.post(url, {"cancel": "1", "reason": "Flu"})
    assert response.status_code == 302
    assert Appointment.objects.get(pk=first.pk).status == "cancelled"


def test_calendar_week_by_chair_and_by_staff(client_as, nurse, doctor, patient, eligible, chair):
    start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, start_time=datetime.time(9, 0), clinician=nurse)
    client = client_as(nurse)
    html = client.get(reverse("treatment:calendar"), {"date": NEXT_MONDAY.isoformat()}).content.decode()
    assert "3 booked" in html and html.count("09:00 Smith, Anna") == 3 and "Chair 1 (Room A)" in html
    html = client.get(
        reverse("treatment:calendar"), {"date": NEXT_MONDAY.isoformat(), "by": "staff", "view": "day"}
    ).content.decode()
    assert "1 booked" in html and "Nurse Tester" in html


def test_calendar_week_query_count_does_not_grow_with_chairs_or_bookings(client_as, nurse, doctor, register):
    chairs = [make_chair(f"Chair {n:02d}") for n in range(3)]
    client = client_as(nurse)
    url = reverse("treatment:calendar") + f"?date={NEXT_MONDAY.isoformat()}"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(12):
        patient = register(given_name=f"P{n}")
        make_eligible(doctor, patient)
        start_plan(
            doctor,
            patient,
            chairs[n % 3],
            start_on=NEXT_MONDAY,
            start_time=datetime.time(8 + 2 * (n // 3), 0),
        )
    make_chair("Chair 99")
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert "36 booked" in html
    assert len(many.captured_queries) == len(few.captured_queries) <= 8


def test_upcoming_lists_booked_appointments_soonest_first(
    client_as, front_desk, doctor, patient, eligible, chair
):
    start_plan(doctor, patient, chair, start_on=NEXT_MONDAY)
    html = client_as(front_desk).get(reverse("treatment:upcoming")).content.decode()
    assert html.count("Smith, Anna") == 6
    assert "Check in" not in html  # the front desk does not run sessions


def test_only_a_clinic_admin_adds_chairs(client_as, clinic_admin, nurse):
    assert client_as(nurse).post(reverse("treatment:chairs"), {"name": "Chair 7"}).status_code == 403
    response = client_as(clinic_admin).post(
        reverse("treatment:chairs"), {"name": "Chair 7", "room": "Room B"}
    )
    assert response.status_code == 302 and Chair.objects.get().room == "Room B"
    response = client_as(clinic_admin).post(reverse("treatment:chairs"), {"name": "Chair 7", "room": ""})
    assert response.status_code == 422 and "already exists" in response.content.decode()


def test_maintenance_and_booster_from_the_plan_page(client_as, physician, doctor, patient, eligible, chair):
    plan = start_plan(doctor, patient, chair, start_on=NEXT_MONDAY)
    client = client_as(physician)
    page = client.get(reverse("treatment:plan", args=[plan.pk])).content.decode()
    due = NEXT_MONDAY + datetime.timedelta(days=11 + 28)
    assert f"next due {due:%a} {due.day} {due:%b %Y}" in page
    response = client.post(
        reverse("treatment:maintenance", args=[plan.pk]),
        {"phase": "maintenance", "booster_interval_days": "21", "reason": "Responded"},
    )
    assert response.status_code == 302
    start = timezone.localtime(plan.appointments.order_by("starts_at").last().starts_at) + datetime.timedelta(
        days=21
    )
    response = client.post(
        reverse("treatment:book", args=[plan.pk]),
        {
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "kind": "booster",
            "chair": chair.pk,
            "clinician": "",
        },
    )
    assert response.status_code == 302
    assert plan.appointments.filter(kind="booster").count() == 1


def test_chart_shows_the_plan_and_the_next_appointment_in_one_query(
    client_as, nurse, doctor, patient, eligible, chair
):
    from ketacare.treatment.selectors import chart_plans

    start_plan(doctor, patient, chair, start_on=NEXT_MONDAY, start_time=datetime.time(9, 0))
    html = client_as(nurse).get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert "0 treatments attended, 6 booked." in html
    assert f"Next: {NEXT_MONDAY:%a} {NEXT_MONDAY.day} {NEXT_MONDAY:%b} 09:00 in Chair 1." in html
    with CaptureQueriesContext(connection) as queries:
        summary = chart_plans(patient_id=patient.pk)
    assert len(queries.captured_queries) == 1 and (summary.plans, summary.booked) == (1, 6)


def test_chairs_are_listed_and_offered_in_natural_order(client_as, physician, clinic_admin, doctor, patient):
    import re

    for name in ("Chair 10", "Chair 2", "Chair 1", "Chair 11"):
        make_chair(name)
    make_eligible(doctor, patient)
    page = client_as(physician).get(reverse("treatment:plan-new", args=[patient.pk])).content.decode()
    offered = re.findall(r"<option value=\"\d+\"[^>]*>(Chair \d+)", page)
    assert offered == ["Chair 1", "Chair 2", "Chair 10", "Chair 11"]
    listed = client_as(clinic_admin).get(reverse("treatment:chairs")).content.decode()
    assert re.findall(r"<li>(Chair \d+)", listed) == ["Chair 1", "Chair 2", "Chair 10", "Chair 11"]

"""The REST API's clinical records: filtered by patient and date, in cursor pages, each page in
the same number of queries whatever its length, every read audited; writes through the same
services as the pages, refused with the field named and nothing written."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.measures.models import QuestionnaireResponse, SafetyAlert
from ketacare.measures.services import response_record
from ketacare.screening.models import AntidepressantTrial
from ketacare.treatment.models import Appointment, TreatmentPlan
from tests.treatment_helpers import check_in, make_eligible, run_to_discharge, sign_consent, start_plan

pytestmark = pytest.mark.django_db


def _score(actor, patient, at, total_each=1, instrument="phq9"):
    return response_record(
        actor=actor,
        patient=patient,
        instrument=instrument,
        answers=[total_each] * 8 + [0],
        context="follow_up",
        administered_at=at,
    )


def _at(day: str, hour: int = 12) -> datetime.datetime:
    return timezone.make_aware(
        datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(hour))
    )


def test_responses_filter_by_patient_scale_and_the_clinics_days(client_as, nurse, nurse_actor, register):
    anna, ben = register(), register(given_name="Ben")
    _score(nurse_actor, anna, _at("2026-03-01", 0))  # the first minute of the day
    _score(nurse_actor, anna, _at("2026-03-02", 23))
    _score(nurse_actor, anna, _at("2026-03-03"))
    _score(nurse_actor, ben, _at("2026-03-02"))
    client = client_as(nurse)

    def ids(**params):
        response = client.get("/api/v1/responses/", params)
        assert response.status_code == 200, response.json()
        return [(r["patient"], r["administered_at"][:10]) for r in response.json()["results"]]

    assert ids(patient=anna.pk) == [(anna.pk, "2026-03-01"), (anna.pk, "2026-03-02"), (anna.pk, "2026-03-03")]
    assert ids(patient=anna.pk, since="2026-03-01", until="2026-03-02") == [
        (anna.pk, "2026-03-01"),
        (anna.pk, "2026-03-02"),
    ]
    assert ids(since="2026-03-02", until="2026-03-02") == [(anna.pk, "2026-03-02"), (ben.pk, "2026-03-02")]
    assert ids(instrument="gad7") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-02-30"}, "since"),
        ({"patient": "abc"}, "patient"),
        ({"patient": str(2**70)}, "patient"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until"),
        ({"instrument": "phq10"}, "instrument"),
        ({"until": "9999-12-31"}, "until"),
        ({"since": "0001-01-01"}, "since"),
        ({"patient": "²"}, "patient"),
    ],
)
def test_a_bad_filter_is_400_naming_it(client_as, nurse, params, field):
    response = client_as(nurse).get("/api/v1/responses/", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_cursor_pages_walk_every_record_once_while_records_are_added(client_as, nurse, nurse_actor, patient):
    for day in range(1, 6):
        _score(nurse_actor, patient, _at(f"2026-04-0{day}"))
    client = client_as(nurse)
    seen: list[int] = []
    url = "/api/v1/responses/?limit=2"
    while url:
        page = client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        if len(seen) == 2:  # a record made while a system pages through comes last, once
            _score(nurse_actor, patient, _at("2026-04-06"))
        url = page["next"]
    assert seen == sorted(QuestionnaireResponse.objects.values_list("id", flat=True))
    import base64

    for cursor in (
        "not-one-of-ours",
        base64.b64encode(b"p=abc").decode(),
        base64.b64encode(b"p=1.5").decode(),
    ):
        bad = client.get("/api/v1/responses/", {"cursor": cursor})
        assert bad.status_code == 404 and "cursor" in bad.json()["errors"]["non_field_errors"][0], cursor


def test_each_page_read_is_one_audit_event_naming_its_patients(client_as, nurse, nurse_actor, register):
    anna, ben = register(), register(given_name="Ben")
    for p in (anna, ben):
        _score(nurse_actor, p, _at("2026-05-01"))
    client_as(nurse).get("/api/v1/responses/")
    event = AuditEvent.objects.filter(object_type="measures.questionnaireresponse", action="view").get()
    assert event.detail["patients"] == sorted([anna.pk, ben.pk]) and len(event.detail["ids"]) == 2


def test_an_unknown_id_is_404_naming_it(client_as, physician):
    client = client_as(physician)
    for path in (
        "responses",
        "alerts",
        "trials",
        "plans",
        "appointments",
        "sessions",
        "referrals",
        "decisions",
    ):
        response = client.get(f"/api/v1/{path}/987654/")
        assert response.status_code == 404 and "987654" in response.json()["errors"]["id"][0], path
    assert client.get(f"/api/v1/sessions/{2**70}/").status_code == 404


def _treated(doctor, nurse_actor, patient, chair):
    make_eligible(doctor, patient)
    plan = start_plan(doctor, patient, chair)
    return run_to_discharge(doctor, nurse_actor, check_in(nurse_actor, plan, minutes_ago=150))


def test_sessions_come_with_their_readings_in_the_same_queries_for_one_or_many(
    client_as, nurse, doctor, nurse_actor, register
):
    from tests.treatment_helpers import make_chair

    for n in range(3):
        _treated(doctor, nurse_actor, register(given_name=f"P{n}"), make_chair(f"Chair {n}"))
    client = client_as(nurse)
    client.get("/api/v1/sessions/?limit=1")  # the first request reads the permissions once
    counts = []
    for limit in (1, 3):
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/api/v1/sessions/", {"limit": limit}).json()
        counts.append(len(queries))
        assert len(page["results"]) == limit
    assert counts[0] == counts[1], counts
    session = page["results"][0]
    assert session["given_dose_mg"] and session["orders"][0]["dose_mg"]
    assert (
        len(session["vitals"]) >= 3
        and session["sedation"]
        and {s["purpose"] for s in session["scales"]} >= {"pre", "post"}
    )
    assert session["discharged_at"] and session["signed"] is False


def test_a_trial_is_recorded_and_struck_out_and_a_bad_dose_is_refused(client_as, physician, patient):
    client = client_as(physician)
    body = {
        "patient": patient.pk,
        "drug": "sertraline",
        "daily_dose_mg": "5000",
        "started_on": "2025-01-05",
        "stopped_on": "2025-03-10",
        "outcome": "no_response",
        "adherence": "good",
    }
    refused = client.post("/api/v1/trials/", body, content_type="application/json")
    assert refused.status_code == 400 and "daily_dose_mg" in refused.json()["errors"]
    assert AntidepressantTrial.objects.count() == 0
    made = client.post("/api/v1/trials/", {**body, "daily_dose_mg": "150"}, content_type="application/json")
    assert made.status_code == 201, made.json()
    trial_id = made.json()["id"]
    no_reason = client.post(f"/api/v1/trials/{trial_id}/strike-out/", {}, content_type="application/json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    struck = client.post(
        f"/api/v1/trials/{trial_id}/strike-out/", {"reason": "entered twice"}, content_type="application/json"
    )
    assert struck.status_code == 200 and struck.json()["struck_out"] is True
    for patient_id in (2**70, "²", True):
        unknown = client.post(
            "/api/v1/trials/", {**body, "patient": patient_id}, content_type="application/json"
        )
        assert unknown.status_code == 400 and "patient" in unknown.json()["errors"], patient_id


def test_an_alert_is_acknowledged_once(client_as, nurse, nurse_actor, patient):
    response_record(
        actor=nurse_actor, patient=patient, instrument="phq9", answers=[1] * 8 + [2], context="follow_up"
    )
    alert = SafetyAlert.objects.get()
    client = client_as(nurse)
    assert [a["id"] for a in client.get("/api/v1/alerts/", {"open": "true"}).json()["results"]] == [alert.pk]
    blank = client.post(
        f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": " "}, content_type="application/json"
    )
    assert blank.status_code == 400 and "note" in blank.json()["errors"]
    done = client.post(
        f"/api/v1/alerts/{alert.pk}/acknowledge/",
        {"note": "Called; safety plan reviewed."},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["acknowledged_by"] == nurse.username
    again = client.post(
        f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "again"}, content_type="application/json"
    )
    assert again.status_code == 400 and "Already acknowledged" in again.json()["errors"]["note"][0]
    assert client.get("/api/v1/alerts/", {"open": "true"}).json()["results"] == []


def test_appointments_and_plans_through_the_scheduling_and_physician_services(
    client_as, physician, nurse, front_desk, doctor, patient, chair
):
    make_eligible(doctor, patient)
    plan = start_plan(doctor, patient, chair, start_on=timezone.localdate() + datetime.timedelta(days=1))
    desk = client_as(front_desk)
    booked = desk.get("/api/v1/appointments/", {"patient": patient.pk}).json()["results"]
    assert booked and all(a["status"] == "booked" for a in booked)
    cancelled = desk.post(
        f"/api/v1/appointments/{booked[-1]['id']}/cancel/",
        {"reason": "Patient away"},
        content_type="application/json",
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # Stopping a course is a physician's order: the front desk and a nurse are refused.
    for user in (front_desk, nurse):
        refused = client_as(user).post(
            f"/api/v1/plans/{plan.pk}/stop/", {"reason": "x"}, content_type="application/json"
        )
        assert refused.status_code == 403
    doctor_client = client_as(physician)
    decided = doctor_client.post(
        f"/api/v1/plans/{plan.pk}/maintenance/",
        {"phase": "maintenance", "booster_interval_days": 28, "reason": "Responded to induction"},
        content_type="application/json",
    )
    assert (
        decided.status_code == 200
        and decided.json()["maintenance_decisions"][0]["booster_interval_days"] == 28
    )
    stopped = doctor_client.post(
        f"/api/v1/plans/{plan.pk}/stop/", {"reason": "Moved away"}, content_type="application/json"
    )
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert not Appointment.objects.filter(plan=plan, status="booked").exists()
    assert TreatmentPlan.objects.get().stop_reason == "Moved away"


def test_a_physician_starts_a_plan_and_a_refused_one_writes_nothing(
    client_as, physician, doctor, register, chair
):
    client = client_as(physician)
    unscreened = register(given_name="Una")
    start = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    body = {"protocol": "iv_ketamine_standard", "start_on": start, "start_time": "09:00", "chair": chair.pk}
    refused = client.post(
        "/api/v1/plans/", {**body, "patient": unscreened.pk}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert TreatmentPlan.objects.count() == 0 and Appointment.objects.count() == 0
    eligible = register(given_name="Eli")
    make_eligible(doctor, eligible)
    unsigned = client.post(
        "/api/v1/plans/",
        {**body, "patient": eligible.pk, "weekdays": [0, 2, 4]},
        content_type="application/json",
    )
    assert unsigned.status_code == 400
    assert unsigned.json()["errors"] == {
        "consent": [
            "The patient has not signed the current consent for IV ketamine, version 1: they sign it in "
            "the portal, or a nurse or physician records their signature on paper."
        ]
    }
    assert TreatmentPlan.objects.count() == 0 and Appointment.objects.count() == 0
    sign_consent(eligible)
    made = client.post(
        "/api/v1/plans/",
        {**body, "patient": eligible.pk, "weekdays": [0, 2, 4]},
        content_type="application/json",
    )
    assert made.status_code == 201, made.json()
    assert (
        made.json()["route"] == "iv_ketamine"
        and Appointment.objects.filter(plan_id=made.json()["id"]).count() == 6
    )


def test_outcome_rows_are_brought_up_to_date_before_they_are_read(
    client_as, physician, doctor, nurse_actor, patient, chair
):
    session = _treated(doctor, nurse_actor, patient, chair)
    assert session.dose_started_at is not None
    rows = client_as(physician).get("/api/v1/outcomes/", {"patient": patient.pk}).json()["results"]
    assert [r["instrument"] for r in rows] == ["phq9"] and rows[0]["treatments"] == 1
    assert Decimal(rows[0]["baseline_total"] or 0) >= 0

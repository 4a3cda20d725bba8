"""The session stops what is dangerous (clinical reference section 5, decisions): each test drives
the hazard itself and shows the control stopping it, and that nothing is half-saved."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from ketacare.clinical.monitoring import Vitals
from ketacare.measures.models import SafetyAlert
from ketacare.measures.services import alert_acknowledge, response_record
from ketacare.patients.services import allergy_record
from ketacare.sessions import services
from ketacare.sessions.models import DeviceDose, DoseOrder, TreatmentSession, VitalSign
from ketacare.treatment import services as treatment
from tests.treatment_helpers import (
    ALL_CLEAR,
    ALL_MET,
    NORMAL,
    ago,
    check_in,
    enrol,
    give_dose,
    make_eligible,
    phq9,
    rate_on_schedule,
    ready_to_start,
    start_plan,
)


def make_not_eligible(doctor, patient):
    return make_eligible(doctor, patient, decision="not_eligible")


def kinds(session):
    session.refresh_from_db()
    return [entry["kind"] for entry in session.safety_log]


# --- the candidacy decision and allergies, re-checked


def test_a_newer_not_eligible_decision_stops_the_check_in_and_writes_nothing(
    doctor, nurse_actor, patient, plan
):
    make_not_eligible(doctor, patient)
    with pytest.raises(
        ValidationError, match="Not checked in: The current candidacy decision is: not eligible"
    ):
        check_in(nurse_actor, plan)
    assert not TreatmentSession.objects.exists() and not VitalSign.objects.exists()
    assert plan.appointments.filter(status="booked").count() == 6


def test_a_not_eligible_decision_after_check_in_stops_the_order_and_the_start(
    doctor, nurse_actor, patient, plan
):
    session = check_in(nurse_actor, plan)
    phq9(session, nurse_actor, "pre")
    services.dose_order(actor=doctor, session=session)
    make_not_eligible(doctor, patient)
    with pytest.raises(ValidationError) as err:
        services.dose_order(actor=doctor, session=session)
    assert "not eligible" in err.value.message_dict["safety"][0]
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert "not eligible" in err.value.message_dict["safety"][0]
    assert kinds(session) == ["order_stopped", "start_refused_safety"]
    assert TreatmentSession.objects.get(pk=session.pk).dose_started_at is None


# --- the patient's consent: a withdrawal stops the treatment day (hazard H-080)


def _withdraw(patient):
    from ketacare.patients.models import ConsentSignature
    from ketacare.patients.services import consent_withdraw
    from tests.treatment_helpers import portal_actor

    signature = ConsentSignature.objects.get(patient=patient, withdrawn_at__isnull=True)
    return consent_withdraw(actor=portal_actor(patient), signature=signature, by_patient=True)


def test_a_consent_withdrawn_in_the_portal_stops_the_check_in_and_writes_nothing(nurse_actor, patient, plan):
    withdrawn = _withdraw(patient)
    at = timezone.localtime(withdrawn.withdrawn_at)
    with pytest.raises(ValidationError) as err:
        check_in(nurse_actor, plan)
    assert err.value.messages == [
        f"Not checked in: The patient withdrew their consent to IV ketamine on {at:%Y-%m-%d at %H:%M} "
        "(by the patient in the portal): no treatment until they sign it again. Talk with the patient "
        "before anything else."
    ]
    assert not TreatmentSession.objects.exists() and not VitalSign.objects.exists()
    from tests.treatment_helpers import sign_consent

    sign_consent(patient)  # signed again: the day goes on
    assert check_in(nurse_actor, plan).pk


def test_a_consent_withdrawn_after_check_in_stops_the_order_and_the_start(doctor, nurse_actor, patient, plan):
    session = check_in(nurse_actor, plan)
    phq9(session, nurse_actor, "pre")
    services.dose_order(actor=doctor, session=session)
    _withdraw(patient)  # on the phone, in the chair
    with pytest.raises(ValidationError) as err:
        services.dose_order(actor=doctor, session=session)
    assert "The patient withdrew their consent to IV ketamine" in err.value.message_dict["safety"][0]
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert "no treatment until they sign it again" in err.value.message_dict["safety"][0]
    assert kinds(session) == ["order_stopped", "start_refused_safety"]
    assert TreatmentSession.objects.get(pk=session.pk).dose_started_at is None


def test_a_new_consent_version_published_mid_course_does_not_stop_the_treatment_day(
    nurse_actor, clinic_admin, plan
):
    # The new version is asked of the patient (their page, the chart) and gates the next course;
    # the course they consented to goes on.
    from ketacare.audit.context import Actor
    from ketacare.patients.services import consent_publish

    consent_publish(actor=Actor(user=clinic_admin), kind="iv_ketamine", title="Consent", body="Revised.")
    assert check_in(nurse_actor, plan).pk


def test_a_recorded_esketamine_allergy_stops_the_check_in(doctor, nurse_actor, patient, esk_plan):
    allergy_record(actor=doctor, patient=patient, substance="Spravato (esketamine)", reaction="angioedema")
    with pytest.raises(ValidationError, match="Not checked in: Allergy on record: Spravato"):
        check_in(nurse_actor, esk_plan)
    assert not TreatmentSession.objects.exists()


def test_a_recorded_ketamine_allergy_stops_the_order_and_the_refusal_is_kept(
    doctor, nurse_actor, patient, plan
):
    session = check_in(nurse_actor, plan)
    allergy_record(actor=doctor, patient=patient, substance="Ketamine", reaction="rash and wheeze")
    with pytest.raises(ValidationError) as err:
        services.dose_order(actor=doctor, session=session)
    assert err.value.message_dict["safety"] == [
        "No dose can be ordered. Allergy on record: Ketamine (rash and wheeze). "
        "No ketamine or esketamine may be given."
    ]
    assert not DoseOrder.objects.exists()
    assert kinds(session) == ["order_stopped"]


# --- weight, checklist


def test_a_weight_typed_in_pounds_must_be_confirmed_showing_kg_and_lb(nurse_actor, plan):
    with pytest.raises(ValidationError) as err:
        check_in(nurse_actor, plan, weight_kg=Decimal(160), confirm_weight=False)
    assert err.value.message_dict["weight_kg"] == [
        "160 kg (352.7 lb) is more than 10% from the last recorded 72.5 kg (159.8 lb). "
        "Was it typed in pounds? Re-weigh, or tick the confirmation."
    ]
    assert not TreatmentSession.objects.exists()
    # 10% exactly passes without confirmation; just over does not
    assert (
        check_in(nurse_actor, plan, weight_kg=Decimal("79.7"), confirm_weight=False).weight_confirmed is False
    )


def test_a_weight_just_over_10_percent_asks_for_confirmation(nurse_actor, plan):
    with pytest.raises(ValidationError):
        check_in(nurse_actor, plan, weight_kg=Decimal("79.8"), confirm_weight=False)
    assert check_in(nurse_actor, plan, weight_kg=Decimal("79.8"), confirm_weight=True).weight_confirmed


def test_alcohol_today_on_the_checklist_stops_the_dose_until_the_checklist_is_clear(
    doctor, nurse_actor, plan
):
    session = check_in(nurse_actor, plan, checklist={**ALL_CLEAR, "alcohol_24h": True})
    assert session.checklist_findings[0]["effect"] == "stop"
    ready_to_start(doctor, nurse_actor, session)
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert err.value.message_dict["checklist"][0].startswith(
        "The pre-dose checklist stops the dose: Alcohol in the last 24 hours"
    )
    assert "start_refused_checklist" in kinds(session)
    services.checklist_update(
        actor=nurse_actor, session=session, checklist=ALL_CLEAR, escort_name="Tom", escort_phone="555"
    )
    assert services.dose_start(actor=nurse_actor, session=session).dose_started_at is not None


def test_a_benzodiazepine_on_the_checklist_warns_and_the_dose_may_start(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, checklist={**ALL_CLEAR, "new_benzodiazepine": True})
    assert [f["effect"] for f in session.checklist_findings] == ["warn"]
    ready_to_start(doctor, nurse_actor, session)
    assert services.dose_start(actor=nurse_actor, session=session).dose_started_at is not None


def test_no_escort_stops_the_dose_and_an_escort_needs_a_name_and_phone(nurse_actor, plan):
    with pytest.raises(ValidationError) as err:
        check_in(nurse_actor, plan, escort_name="", escort_phone="")
    assert set(err.value.message_dict) == {"escort_name", "escort_phone"}
    session = check_in(nurse_actor, plan, checklist={**ALL_CLEAR, "escort": False}, escort_name="")
    assert [f["code"] for f in session.checklist_findings] == ["escort"]


# --- suicide-risk gate

HIGH_RISK = [1, 1, 1, 1, 0, 0, None]  # C-SSRS screen: intent (item 4) -> high risk


def test_a_high_risk_cssrs_blocks_the_dose_until_a_physician_writes_a_risk_assessment(
    doctor, nurse_actor, patient, plan
):
    session = check_in(nurse_actor, plan)
    ready_to_start(doctor, nurse_actor, session)
    response_record(
        actor=nurse_actor,
        patient=patient,
        instrument="cssrs_screen",
        answers=HIGH_RISK,
        context="pre_session",
    )
    alert = SafetyAlert.objects.get(patient=patient)
    assert alert.priority == SafetyAlert.Priority.URGENT
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert "urgent safety alert" in err.value.message_dict["risk"][0]
    # a nurse's acknowledgement alone does not open the gate
    alert_acknowledge(actor=nurse_actor, alert=alert, note="Called the physician")
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert "risk assessment" in err.value.message_dict["risk"][0]
    with pytest.raises(ValidationError, match="Only a physician"):
        services.risk_assess(actor=nurse_actor, session=session, assessment="x" * 40)
    with pytest.raises(ValidationError) as err:
        services.risk_assess(actor=doctor, session=session, assessment="fine")
    assert "assessment" in err.value.message_dict
    services.risk_assess(
        actor=doctor,
        session=session,
        assessment="Passive ideation, no plan or intent now; safety plan reviewed; proceed with escort.",
    )
    assert services.dose_start(actor=nurse_actor, session=session).dose_started_at is not None
    assert kinds(session).count("start_refused_risk") == 2


def test_the_risk_assessment_acknowledges_open_urgent_alerts_with_its_text(
    doctor, nurse_actor, patient, plan
):
    session = check_in(nurse_actor, plan)
    phq9(session, nurse_actor, "pre", [2] * 8 + [2])  # item 9 positive
    alert = SafetyAlert.objects.get(patient=patient)
    services.risk_assess(
        actor=doctor, session=session, assessment="Thoughts of death, no plan; safe to proceed today."
    )
    alert.refresh_from_db()
    assert alert.acknowledged_by == doctor.user and "safe to proceed" in alert.acknowledgement_note


def test_an_urgent_alert_raised_during_the_session_shows_on_the_page_and_stops_discharge(
    client_as, nurse, doctor, nurse_actor, patient, plan
):
    session = check_in(nurse_actor, plan, minutes_ago=110)
    ready_to_start(doctor, nurse_actor, session)
    start = ago(100)
    give_dose(nurse_actor, session, start)
    rate_on_schedule(nurse_actor, session, start)
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    # the patient answers item 9 on their phone during recovery
    response_record(
        actor=nurse_actor, patient=patient, instrument="phq9", answers=[1] * 8 + [1], context="follow_up"
    )
    fragment = client_as(nurse).get(reverse("sessions:alerts", args=[session.pk])).content.decode()
    assert "Urgent safety alert" in fragment and "not acknowledged" in fragment
    page = client_as(nurse).get(reverse("sessions:session", args=[session.pk])).content.decode()
    assert 'hx-trigger="every 20s"' in page and "Urgent safety alert" in page
    phq9(session, nurse_actor, "post")
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    assert "safety_alert" in err.value.message_dict
    for alert in SafetyAlert.objects.filter(acknowledged_at__isnull=True):
        alert_acknowledge(actor=doctor, alert=alert, note="Seen at the chair; safety plan reviewed")
    assert services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET).discharged_at


# --- interval between doses


def test_a_second_iv_dose_within_20_hours_is_refused_at_the_start(doctor, nurse_actor, patient, plan, chair):
    first = check_in(nurse_actor, plan, minutes_ago=200)
    ready_to_start(doctor, nurse_actor, first)
    give_dose(nurse_actor, first, ago(190))
    # a second appointment the same day, booked as a replacement before this rule existed
    appointment = plan.appointments.filter(status="booked").order_by("starts_at").first()
    type(appointment).objects.filter(pk=appointment.pk).update(starts_at=timezone.now())
    second = services.session_check_in(
        actor=nurse_actor,
        appointment=appointment,
        weight_kg=Decimal(80),
        confirm_weight=True,
        checklist=ALL_CLEAR,
        escort_name="T",
        escort_phone="1",
        vitals=NORMAL,
    )
    ready_to_start(doctor, nurse_actor, second)
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=second)
    assert "at least 20 hours apart" in err.value.message_dict["interval"][0]
    assert "start_refused_interval" in kinds(second)


def test_booking_a_treatment_within_20_hours_of_another_is_refused(doctor, plan, chair):
    # The course's last treatment, days ahead: 19h59 after it is in the future at any time of day
    # (the first is today at 00:00, and 19h59 after it is past once the clock passes 19:59).
    first = plan.appointments.order_by("starts_at").last()
    with pytest.raises(ValidationError) as err:
        treatment.appointment_book(
            actor=doctor,
            plan=plan,
            chair=chair,
            starts_at=first.starts_at + datetime.timedelta(hours=19, minutes=59),
        )
    assert "at least 20 hours apart" in err.value.message_dict["starts_at"][0]
    count = plan.appointments.count()
    treatment.appointment_book(
        actor=doctor, plan=plan, chair=chair, starts_at=first.starts_at + datetime.timedelta(hours=20)
    )
    assert plan.appointments.count() == count + 1


# --- esketamine


def test_the_first_esketamine_dose_needs_the_rems_enrolment(doctor, nurse_actor, esk_plan):
    session = check_in(nurse_actor, esk_plan)
    phq9(session, nurse_actor, "pre")
    services.dose_order(actor=doctor, session=session, dose_mg=Decimal(56), lot_number="SP1")
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert err.value.message_dict == {
        "rems": ["Record the patient's REMS enrolment before the first esketamine dose."]
    }
    enrol(nurse_actor, session)
    assert services.dose_start(actor=nurse_actor, session=session).dose_started_at is not None


def test_an_84_mg_first_dose_needs_the_suicidal_ideation_indication(doctor, nurse_actor, esk_plan):
    session = check_in(nurse_actor, esk_plan)
    with pytest.raises(ValidationError) as err:
        services.dose_order(actor=doctor, session=session, dose_mg=Decimal(84), lot_number="SP1")
    assert "dose_mg" in err.value.message_dict
    assert not DoseOrder.objects.exists()


def test_an_84_mg_start_is_allowed_for_depression_with_acute_suicidal_ideation(
    doctor, nurse_actor, patient, eligible, chair
):
    plan = start_plan(
        doctor,
        patient,
        chair,
        protocol="esketamine_nasal",
        dose_mg=Decimal(84),
        suicidal_ideation_indication=True,
    )
    session = check_in(nurse_actor, plan)
    order = services.dose_order(actor=doctor, session=session, dose_mg=Decimal(84), lot_number="SP1")
    assert (order.dose_mg, order.devices) == (Decimal(84), 3)


def test_esketamine_devices_are_timed_5_minutes_apart_and_the_last_ends_the_dose(
    doctor, nurse_actor, esk_plan
):
    session = check_in(nurse_actor, esk_plan, minutes_ago=30)
    ready_to_start(doctor, nurse_actor, session, dose_mg=Decimal(56), lot_number="SP1")
    start = ago(20)
    services.dose_start(actor=nurse_actor, session=session, at=start)
    with pytest.raises(ValidationError) as err:  # the "same minute" last device
        services.device_record(
            actor=nurse_actor, session=session, at=start + datetime.timedelta(minutes=4, seconds=59)
        )
    assert "wait 5 minutes between devices" in err.value.message_dict["at"][0]
    assert DeviceDose.objects.filter(session=session).count() == 1
    services.device_record(actor=nurse_actor, session=session, at=start + datetime.timedelta(minutes=5))
    session.refresh_from_db()
    assert session.dose_stopped_at == start + datetime.timedelta(minutes=5)
    assert session.given_dose_mg == Decimal(56)
    with pytest.raises(ValidationError, match="no more devices"):
        services.device_record(actor=nurse_actor, session=session)


def test_esketamine_stopped_before_the_last_device_records_what_was_given(doctor, nurse_actor, esk_plan):
    session = check_in(nurse_actor, esk_plan, minutes_ago=30)
    ready_to_start(doctor, nurse_actor, session, dose_mg=Decimal(56), lot_number="SP1")
    services.dose_start(actor=nurse_actor, session=session, at=ago(20))
    with pytest.raises(ValidationError) as err:
        services.dose_stop(actor=nurse_actor, session=session)
    assert err.value.message_dict == {"reason": ["1 of 2 devices given: say why the dose stops early."]}
    services.dose_stop(actor=nurse_actor, session=session, reason="Severe nausea after the first device")
    session.refresh_from_db()
    assert (session.given_dose_mg, session.stop_reason) == (
        Decimal(28),
        "Severe nausea after the first device",
    )


# --- prepared dose and stopping early


def test_the_order_keeps_the_prepared_dose_from_the_rounded_drawn_volume(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, weight_kg=Decimal(70))
    order = services.dose_order(
        actor=doctor,
        session=session,
        dose_mg_per_kg=Decimal("0.75"),
        concentration_mg_per_ml=Decimal(50),
        bag_ml=Decimal(100),
    )
    assert (order.dose_mg, order.draw_volume_ml, order.prepared_dose_mg) == (
        Decimal("52.5"),
        Decimal("1.05"),
        Decimal("52.5"),
    )


def test_undiluted_iv_push_is_refused_and_the_refusal_kept(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, weight_kg=Decimal(70))
    with pytest.raises(ValidationError) as err:
        services.dose_order(
            actor=doctor,
            session=session,
            concentration_mg_per_ml=Decimal(100),
            bag_ml=Decimal(0),
            duration_min=5,
        )
    assert set(err.value.message_dict) <= {"bag_ml", "duration_min", "concentration_mg_per_ml"}
    assert not DoseOrder.objects.exists()
    assert kinds(session) == ["dose_refused"]


def test_an_infusion_stopped_at_30_of_40_minutes_records_the_dose_given_and_the_waste(
    doctor, nurse_actor, plan
):
    session = check_in(nurse_actor, plan, minutes_ago=60)
    ready_to_start(doctor, nurse_actor, session)  # 40 mg in 100 mL + 4 mL
    start = ago(50)
    services.dose_start(actor=nurse_actor, session=session, at=start)
    stop_at = start + datetime.timedelta(minutes=30)
    with pytest.raises(ValidationError) as err:
        services.dose_stop(actor=nurse_actor, session=session, at=stop_at)
    assert set(err.value.message_dict) == {"infused_volume_ml", "reason"}
    assert TreatmentSession.objects.get(pk=session.pk).dose_stopped_at is None
    services.dose_stop(
        actor=nurse_actor,
        session=session,
        at=stop_at,
        infused_volume_ml=Decimal(78),
        reason="BP 182/112 twice: infusion stopped",
    )
    session.refresh_from_db()
    assert session.given_dose_mg == Decimal("30.0000")  # 40 mg x 78 / 104 mL
    assert session.waste_mg == Decimal("10.0000")
    # discharge timing runs from the end of the infusion
    page = services.selectors.flowsheet(session)
    assert page.earliest_discharge_at == start + datetime.timedelta(minutes=90)  # last rating (CADSS at 90)


# --- alarms and discharge


def _dosed(doctor, nurse_actor, plan, minutes=100):
    session = check_in(nurse_actor, plan, minutes_ago=minutes + 10)
    ready_to_start(doctor, nurse_actor, session)
    start = ago(minutes)
    give_dose(nurse_actor, session, start)
    rate_on_schedule(nurse_actor, session, start)
    phq9(session, nurse_actor, "post")
    return session, start


def test_a_spo2_of_90_alarms_and_discharge_waits_for_recovery_and_an_answer(doctor, nurse_actor, plan):
    session, start = _dosed(doctor, nurse_actor, plan)
    low = services.vitals_record(
        actor=nurse_actor,
        session=session,
        vitals=Vitals(118, 74, 66, 90, 9),
        taken_at=start + datetime.timedelta(minutes=25),
    )
    assert low.alarms == ["spo2_low"]
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    assert set(err.value.message_dict) == {"spo2_ok", "alarms"}  # the last SpO2 is 90%
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    assert set(err.value.message_dict) == {"alarms"}
    services.adverse_event_record(
        actor=nurse_actor,
        session=session,
        kind="respiratory_depression",
        severity="moderate",
        action_taken="Chin lift, O2 2 L/min",
    )
    assert services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET).discharged_at


def test_an_alarm_may_be_acknowledged_with_a_note_instead_of_an_adverse_event(doctor, nurse_actor, plan):
    session, start = _dosed(doctor, nurse_actor, plan)
    services.vitals_record(
        actor=nurse_actor,
        session=session,
        vitals=Vitals(spo2=88),
        taken_at=start + datetime.timedelta(minutes=50),
    )
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    with pytest.raises(ValidationError) as err:
        services.alarm_acknowledge(actor=nurse_actor, session=session, alarm="spo2_low", note=" ")
    assert "note" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.alarm_acknowledge(actor=nurse_actor, session=session, alarm="pulse_low", note="x")
    assert err.value.message_dict == {"alarm": ["This alarm has no unanswered occurrence."]}
    services.alarm_acknowledge(
        actor=nurse_actor, session=session, alarm="spo2_low", note="Probe off the finger; repeat 98%"
    )
    assert services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET).discharged_at


def test_deep_sedation_alarms_and_discharge_needs_moaas_5(doctor, nurse_actor, plan):
    session, start = _dosed(doctor, nurse_actor, plan)
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    deep = services.sedation_record(actor=nurse_actor, session=session, moaas=1)
    assert deep.alarm == "sedation_deep"
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    assert set(err.value.message_dict) == {"moaas_alert", "alarms"}
    services.adverse_event_record(
        actor=nurse_actor,
        session=session,
        kind="oversedation",
        severity="severe",
        action_taken="Observed 1:1",
    )
    services.sedation_record(actor=nurse_actor, session=session, moaas=5)
    assert services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET).discharged_at


def test_an_iv_patient_cannot_leave_the_minute_the_infusion_ends(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, minutes_ago=100)
    ready_to_start(doctor, nurse_actor, session)
    start = ago(95)
    services.dose_start(actor=nurse_actor, session=session, at=start)
    rate_on_schedule(nurse_actor, session, start)
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    phq9(session, nurse_actor, "post")
    services.dose_stop(actor=nurse_actor, session=session, infused_volume_ml=Decimal(104), reason="")
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    assert list(err.value.message_dict) == ["after_infusion"]


def test_178_over_108_cannot_leave_unless_a_physician_signs_with_a_reason(doctor, nurse_actor, plan):
    session, start = _dosed(doctor, nurse_actor, plan)
    services.vitals_record(actor=nurse_actor, session=session, vitals=Vitals(178, 108, 80, 97, 14))
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    assert list(err.value.message_dict) == ["vitals_near_baseline"]
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET, override_reason="Looks fine")
    assert "override_reason" in err.value.message_dict
    assert TreatmentSession.objects.get(pk=session.pk).discharged_at is None
    done = services.discharge(
        actor=doctor,
        session=session,
        criteria=ALL_MET,
        override_reason="Known hypertension, at his usual level; GP aware",
    )
    assert done.discharge_override_by == doctor.user
    assert [c["code"] for c in done.discharge_assessment if not c["met"]] == ["vitals_near_baseline"]


def test_a_timer_cannot_be_signed_past(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, minutes_ago=50)
    ready_to_start(doctor, nurse_actor, session)
    give_dose(nurse_actor, session, ago(45), minutes=40)
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=doctor, session=session, criteria=ALL_MET, override_reason="Wants to go")
    assert {"after_infusion", "ratings_done"} <= set(err.value.message_dict)
    assert TreatmentSession.objects.get(pk=session.pk).discharged_at is None


def test_a_mistyped_reading_is_struck_out_during_the_session_and_its_alarm_no_longer_counts(
    doctor, nurse_actor, plan
):
    session, start = _dosed(doctor, nurse_actor, plan)
    typo = services.vitals_record(actor=nurse_actor, session=session, vitals=Vitals(120, 80, 29, 98, 14))
    assert typo.alarms == ["pulse_low"]
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    with pytest.raises(ValidationError) as err:
        services.vitals_strike(actor=nurse_actor, session=session, vital_ids=[typo.pk], reason="")
    assert "reason" in err.value.message_dict
    services.vitals_strike(actor=nurse_actor, session=session, vital_ids=[typo.pk], reason="Typed 29 for 92")
    typo.refresh_from_db()
    assert typo.struck_by is not None and typo.heart_rate == 29  # kept, struck through
    assert services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET).discharged_at


def test_a_scheduled_rating_not_done_needs_a_reason(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, minutes_ago=110)
    ready_to_start(doctor, nurse_actor, session)
    start = ago(100)
    give_dose(nurse_actor, session, start)
    for minute in (20, 40, 60):
        services.sedation_record(
            actor=nurse_actor, session=session, moaas=5, at=start + datetime.timedelta(minutes=minute)
        )
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    phq9(session, nurse_actor, "post")
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    assert err.value.message_dict["ratings_done"] == [
        "Not met: Every scheduled CADSS and MOAA/S rating done or skipped with a reason. "
        "Still to do: CADSS at 40 min, CADSS at 90 min."
    ]
    with pytest.raises(ValidationError):
        services.rating_skip(actor=nurse_actor, session=session, what="CADSS", minutes=40, reason="")
    for minute in (40, 90):
        services.rating_skip(
            actor=nurse_actor, session=session, what="CADSS", minutes=minute, reason="Asleep, rousable"
        )
    assert services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET).discharged_at


def test_every_flowsheet_row_has_as_many_cells_as_the_header(client_as, nurse, doctor, nurse_actor, plan):
    import re

    session, start = _dosed(doctor, nurse_actor, plan)
    services.vitals_record(actor=nurse_actor, session=session, vitals=Vitals(182, 112, 125, 90, 26))
    html = client_as(nurse).get(reverse("sessions:session", args=[session.pk])).content.decode()
    table = html[
        html.index('<table class="flowsheet">') : html.index(
            "</table>", html.index('<table class="flowsheet">')
        )
    ]
    header = len(re.findall(r"<th\b", table))
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert header == 7 and len(rows) == 2
    assert all(len(re.findall(r"<td\b", row)) == header for row in rows)


def test_an_aborted_first_visit_does_not_make_the_next_one_a_repeat_treatment(
    client_as, nurse, doctor, nurse_actor, esk_plan
):
    aborted = check_in(nurse_actor, esk_plan)  # checked in, never dosed
    TreatmentSession.objects.filter(pk=aborted.pk).update(checked_in_at=ago(60 * 24 * 3))
    appointment = esk_plan.appointments.filter(status="booked").order_by("starts_at").first()
    type(appointment).objects.filter(pk=appointment.pk).update(starts_at=timezone.now())
    second = services.session_check_in(
        actor=nurse_actor,
        appointment=appointment,
        weight_kg=None,
        checklist=ALL_CLEAR,
        escort_name="T",
        escort_phone="1",
        vitals=NORMAL,
    )
    assert second.number == 2
    with pytest.raises(ValidationError) as err:  # still the first dose: 56 mg
        services.dose_order(actor=doctor, session=second, dose_mg=Decimal(84), lot_number="SP1")
    assert "dose_mg" in err.value.message_dict
    second = TreatmentSession.objects.get(pk=second.pk)
    TreatmentSession.objects.filter(pk=second.pk).update(checked_in_at=ago(140))
    second.refresh_from_db()
    from tests.treatment_helpers import run_to_discharge

    run_to_discharge(doctor, nurse_actor, second, minutes=125)
    page = client_as(nurse).get(reverse("sessions:rems-form", args=[second.pk])).content.decode()
    assert "First treatment</dt><dd>Yes" in page


def test_a_consent_withdrawn_in_the_portal_between_two_esketamine_devices_stops_the_next_device(
    doctor, nurse_actor, patient, esk_plan
):
    session = check_in(nurse_actor, esk_plan, minutes_ago=30)
    ready_to_start(doctor, nurse_actor, session, dose_mg=Decimal(56), lot_number="SP1")
    start = ago(20)
    services.dose_start(actor=nurse_actor, session=session, at=start)
    withdrawn = _withdraw(patient)  # on the phone, between the first and the second device
    at = timezone.localtime(withdrawn.withdrawn_at)
    with pytest.raises(ValidationError) as err:
        services.device_record(actor=nurse_actor, session=session, at=start + datetime.timedelta(minutes=5))
    assert err.value.message_dict == {
        "safety": [
            "No further device may be given. The patient withdrew their consent to Esketamine nasal spray "
            f"on {at:%Y-%m-%d at %H:%M} (by the patient in the portal): no treatment until they sign it "
            "again. Stop the dose, saying why, and talk with the patient."
        ]
    }
    assert DeviceDose.objects.filter(session=session).count() == 1
    assert TreatmentSession.objects.get(pk=session.pk).dose_stopped_at is None
    # The nurse stops the dose, saying why: what was given is recorded.
    services.dose_stop(actor=nurse_actor, session=session, reason="Patient withdrew consent")
    assert TreatmentSession.objects.get(pk=session.pk).given_dose_mg == Decimal(28)


def test_no_consent_in_force_since_the_latest_decision_stops_the_check_in_naming_the_route(
    doctor, nurse_actor, patient, plan
):
    # A course running on a consent the patient gave before their latest assessment (or one active
    # before consent was recorded in KetaCare): no signature stands since the decision.
    make_eligible(doctor, patient)
    with pytest.raises(ValidationError) as err:
        check_in(nurse_actor, plan)
    assert err.value.messages == [
        "Not checked in: No consent to IV ketamine is in force for this patient (none signed since "
        "their latest candidacy decision): record the paper consent they sign in front of you on their "
        "consent page, or have them sign it in the portal. Talk with the patient before anything else."
    ]
    assert not TreatmentSession.objects.exists() and not VitalSign.objects.exists()
    from ketacare.patients.services import consent_record_paper
    from tests.treatment_helpers import decided_at

    consent_record_paper(
        actor=nurse_actor,
        patient=patient,
        kind="iv_ketamine",
        version=1,
        typed_name=patient.full_name,
        witnessed=True,
        decided_at=decided_at(patient),
    )
    assert check_in(nurse_actor, plan).pk


def test_no_consent_in_force_stops_the_order_and_the_start(doctor, nurse_actor, patient, esk_plan):
    session = check_in(nurse_actor, esk_plan, minutes_ago=30)
    ready_to_start(doctor, nurse_actor, session, dose_mg=Decimal(56), lot_number="SP1")
    make_eligible(doctor, patient)  # assessed again while in the chair: fresh consent first
    missing = "No consent to Esketamine nasal spray is in force for this patient"
    with pytest.raises(ValidationError) as err:
        services.dose_order(actor=doctor, session=session, dose_mg=Decimal(56), lot_number="SP1")
    assert missing in err.value.message_dict["safety"][0]
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert missing in err.value.message_dict["safety"][0]
    assert TreatmentSession.objects.get(pk=session.pk).dose_started_at is None
    assert DeviceDose.objects.filter(session=session).count() == 0


def test_no_consent_in_force_stops_the_next_esketamine_device(doctor, nurse_actor, patient, esk_plan):
    session = check_in(nurse_actor, esk_plan, minutes_ago=30)
    ready_to_start(doctor, nurse_actor, session, dose_mg=Decimal(56), lot_number="SP1")
    start = ago(20)
    services.dose_start(actor=nurse_actor, session=session, at=start)
    make_eligible(doctor, patient)  # a new decision: the consent given before it no longer counts
    with pytest.raises(ValidationError) as err:
        services.device_record(actor=nurse_actor, session=session, at=start + datetime.timedelta(minutes=5))
    assert "No consent to Esketamine nasal spray is in force" in err.value.message_dict["safety"][0]
    assert DeviceDose.objects.filter(session=session).count() == 1

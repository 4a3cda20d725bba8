import datetime
import hashlib
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ketacare.clinical.monitoring import Vitals
from ketacare.patients.models import BodyMeasurement
from ketacare.sessions import selectors, services
from ketacare.sessions.models import (
    AdverseEvent,
    DoseOrder,
    RemsRecord,
    SessionAmendment,
    TreatmentSession,
    VitalSign,
)
from tests.conftest import PASSWORD
from tests.treatment_helpers import (
    ALL_CLEAR,
    ALL_MET,
    NORMAL,
    ago,
    check_in,
    phq9,
    rate_on_schedule,
    ready_to_start,
    run_to_discharge,
    sign_both,
)

pytestmark = pytest.mark.django_db


def test_check_in_records_weight_vitals_and_attendance(nurse_actor, plan):
    session = check_in(nurse_actor, plan)
    appointment = plan.appointments.order_by("starts_at").first()
    assert (session.number, session.route, session.weight_kg, session.appointment) == (
        1,
        "iv_ketamine",
        Decimal(80),
        appointment,
    )
    appointment.refresh_from_db()
    assert appointment.status == "attended"
    pre = session.vitals.get()
    assert (pre.phase, pre.systolic, pre.diastolic, pre.highlights) == ("pre", 122, 78, [])
    assert BodyMeasurement.objects.filter(patient=session.patient, weight_kg=Decimal(80)).exists()
    assert not RemsRecord.objects.exists()


def test_check_in_refuses_a_weight_based_dose_without_weight_and_writes_nothing(nurse_actor, plan):
    with pytest.raises(ValidationError) as err:
        check_in(
            nurse_actor, plan, weight_kg=None, vitals=Vitals(systolic=None, diastolic=None, heart_rate=70)
        )
    assert set(err.value.message_dict) == {"weight_kg", "systolic"}
    assert not TreatmentSession.objects.exists() and not VitalSign.objects.exists()
    assert plan.appointments.filter(status="booked").count() == 6


def test_esketamine_check_in_asks_fasting_and_opens_a_rems_record_due_in_7_days(nurse_actor, esk_plan):
    with pytest.raises(ValidationError) as err:
        check_in(nurse_actor, esk_plan, checklist={k: v for k, v in ALL_CLEAR.items() if k != "fasting"})
    assert err.value.message_dict == {"check_fasting": ["Answer yes or no."]}
    assert not TreatmentSession.objects.exists()
    session = check_in(nurse_actor, esk_plan, concomitant=["benzodiazepines"])
    assert session.fasting_confirmed is True
    rems = RemsRecord.objects.get(session=session)
    assert rems.due_on == session.checked_in_at.date() + datetime.timedelta(days=7)
    assert session.concomitant == ["benzodiazepines"]


def test_bp_over_the_gate_blocks_the_start_and_the_refusal_is_kept(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, vitals=Vitals(152, 88, 80, 98, 14))
    ready_to_start(doctor, nurse_actor, session)
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert err.value.message_dict["gate"] == [
        "Blood pressure 152/88 mmHg is over the gate 140/90 mmHg: "
        "re-measure, or a physician may override with a reason."
    ]
    session.refresh_from_db()
    assert session.dose_started_at is None
    assert [e["kind"] for e in session.safety_log] == ["gate_blocked"]


def test_only_a_physician_overrides_the_gate_and_only_with_a_reason(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, vitals=Vitals(150, 96, 80, 98, 14))
    ready_to_start(doctor, nurse_actor, session)
    with pytest.raises(ValidationError, match="Only a physician"):
        services.gate_override(actor=nurse_actor, session=session, reason="anxious")
    with pytest.raises(ValidationError):
        services.gate_override(actor=doctor, session=session, reason="  ")
    services.gate_override(
        actor=doctor, session=session, reason="White-coat pattern; 138/86 at home this morning"
    )
    started = services.dose_start(actor=nurse_actor, session=session)
    assert started.dose_started_at is not None
    assert started.gate_override_reason.startswith("White-coat")


def test_a_repeat_reading_within_the_gate_lets_the_dose_start(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, vitals=Vitals(146, 88, 80, 98, 14))
    ready_to_start(doctor, nurse_actor, session)
    services.vitals_record(actor=nurse_actor, session=session, vitals=Vitals(136, 86, 76, 98, 14))
    with pytest.raises(ValidationError, match="nothing to override"):
        services.gate_override(actor=doctor, session=session, reason="x")
    assert services.dose_start(actor=nurse_actor, session=session).dose_started_at is not None


def test_nurses_and_front_desk_cannot_order_a_dose(nurse_actor, actor, plan):
    session = check_in(nurse_actor, plan)
    for who in (nurse_actor, actor):
        with pytest.raises(ValidationError, match="Only a physician can order a dose"):
            services.dose_order(actor=who, session=session)
    assert not DoseOrder.objects.exists()


def test_order_is_calculated_and_a_dose_over_the_protocol_range_is_refused_and_kept(
    doctor, nurse_actor, plan
):
    session = check_in(nurse_actor, plan)
    with pytest.raises(ValidationError) as err:
        services.dose_order(actor=doctor, session=session, dose_mg_per_kg=Decimal("1.5"))
    assert err.value.message_dict == {
        "dose_mg_per_kg": ["1.5 mg/kg is outside the protocol's range 0.1-1.0 mg/kg"]
    }
    session.refresh_from_db()
    assert session.safety_log[0]["kind"] == "dose_refused"
    assert not DoseOrder.objects.exists()
    order = services.dose_order(actor=doctor, session=session, lot_number="K123")
    assert (order.dose_mg, order.draw_volume_ml, order.rate_ml_per_h, order.needs_verification) == (
        Decimal("40.0"),
        Decimal("4.00"),
        Decimal("156.0"),
        False,
    )


def test_a_new_order_supersedes_the_old_one_which_is_kept(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan)
    first = services.dose_order(actor=doctor, session=session)
    second = services.dose_order(actor=doctor, session=session, dose_mg_per_kg=Decimal("0.6"))
    first.refresh_from_db()
    assert first.superseded_at is not None and second.superseded_at is None
    assert second.dose_mg == Decimal("48.0")


def test_a_high_dose_waits_for_a_second_clinician(doctor, nurse_actor, nurse, plan, make_user):
    session = check_in(nurse_actor, plan)
    ready_to_start(doctor, nurse_actor, session, dose_mg_per_kg=Decimal("0.8"))
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert err.value.message_dict["order"] == [
        "This dose needs a second clinician's verification before it starts."
    ]
    with pytest.raises(ValidationError, match="not the one who ordered"):
        services.dose_verify(
            actor=nurse_actor, session=session, username=doctor.user.username, password=PASSWORD
        )
    from ketacare.accounts.roles import Role
    from ketacare.accounts.signin import REAUTH_FAILED

    # A wrong password and a front-desk account's right one read the same (no password oracle).
    desk = make_user(Role.FRONT_DESK, "desk2")
    for username, password in ((nurse.username, "wrong"), (desk.username, PASSWORD)):
        with pytest.raises(ValidationError) as refused:
            services.dose_verify(actor=nurse_actor, session=session, username=username, password=password)
        assert refused.value.message_dict == {"password": [REAUTH_FAILED]}
    order = services.dose_verify(
        actor=nurse_actor, session=session, username=nurse.username, password=PASSWORD
    )
    assert order.verified_by == nurse
    assert services.dose_start(actor=nurse_actor, session=session).dose_started_at is not None


def test_the_dose_cannot_start_without_the_pre_session_scale(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan)
    services.dose_order(actor=doctor, session=session)
    with pytest.raises(ValidationError) as err:
        services.dose_start(actor=nurse_actor, session=session)
    assert err.value.message_dict == {"pre_scale": ["Record the pre-session scale first."]}


def test_first_esketamine_dose_is_56_mg(doctor, nurse_actor, esk_plan):
    session = check_in(nurse_actor, esk_plan)
    with pytest.raises(ValidationError) as err:
        services.dose_order(actor=doctor, session=session, dose_mg=Decimal(84), lot_number="SP1")
    assert "first dose is 56 mg" in err.value.message_dict["dose_mg"][0]
    with pytest.raises(ValidationError) as err:
        services.dose_order(actor=doctor, session=session, dose_mg=Decimal(56))
    assert err.value.message_dict == {"lot_number": ["Give the lot number: the REMS form records it."]}
    order = services.dose_order(actor=doctor, session=session, dose_mg=Decimal(56), lot_number="SP1")
    assert order.devices == 2


def test_esketamine_discharge_before_two_hours_is_refused(doctor, nurse_actor, esk_plan):
    session = check_in(nurse_actor, esk_plan, minutes_ago=100)
    ready_to_start(doctor, nurse_actor, session, dose_mg=Decimal(56), lot_number="SP1")
    start = ago(90)
    services.dose_start(actor=nurse_actor, session=session, at=start)
    services.device_record(actor=nurse_actor, session=session, at=start + datetime.timedelta(minutes=5))
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    phq9(session, nurse_actor, "post")
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    earliest = timezone.localtime(start + datetime.timedelta(minutes=120))
    assert err.value.message_dict["monitoring_time"] == [
        f"Not met: Monitored at least 120 minutes after the dose started. Not before {earliest:%H:%M}."
    ]
    assert err.value.message_dict["post_bp"] == [
        "Take the blood pressure about 40 minutes after the dose (Spravato label)."
    ]
    session.refresh_from_db()
    assert session.discharged_at is None


def test_esketamine_discharge_after_two_hours_with_the_40_minute_bp(doctor, nurse_actor, esk_plan):
    session = check_in(nurse_actor, esk_plan, minutes_ago=140)
    done = run_to_discharge(doctor, nurse_actor, session, minutes=125)
    assert done.discharged_at is not None
    assert done.discharge_criteria == ALL_MET


def test_discharge_names_each_unmet_criterion_and_low_spo2(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, minutes_ago=110)
    ready_to_start(doctor, nurse_actor, session)
    start = ago(100)
    services.dose_start(actor=nurse_actor, session=session, at=start)
    services.dose_stop(actor=nurse_actor, session=session, at=start + datetime.timedelta(minutes=40))
    rate_on_schedule(nurse_actor, session, start)
    taken = services.vitals_record(actor=nurse_actor, session=session, vitals=Vitals(124, 80, 70, 92, 14))
    phq9(session, nurse_actor, "post")
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria={**ALL_MET, "escort_present": False})
    assert err.value.message_dict["escort_present"] == ["Not met: the patient cannot leave until it is."]
    assert err.value.message_dict["spo2_ok"] == [
        "Not met: SpO2 above 92% in the last 15 minutes. "
        f"Last SpO2 92% at {timezone.localtime(taken.taken_at):%H:%M}: it must be above 92%."
    ]
    services.vitals_record(actor=nurse_actor, session=session, vitals=Vitals(124, 80, 70, 96, 14))
    assert services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET).discharged_at is not None


def test_sustained_hypertension_alarms_and_discharge_waits_for_its_adverse_event(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, minutes_ago=110)
    ready_to_start(doctor, nurse_actor, session)
    start = ago(100)
    services.dose_start(actor=nurse_actor, session=session, at=start)
    rate_on_schedule(nurse_actor, session, start)
    services.vitals_record(
        actor=nurse_actor,
        session=session,
        vitals=Vitals(184, 104, 90, 97, 16),
        taken_at=start + datetime.timedelta(minutes=30),
    )
    first = VitalSign.objects.latest("taken_at")
    assert (first.alarms, first.highlights) == ([], ["systolic", "diastolic"])
    alarm = services.vitals_record(
        actor=nurse_actor,
        session=session,
        vitals=Vitals(182, 112, 88, 97, 16),
        taken_at=start + datetime.timedelta(minutes=35),
    )
    assert alarm.alarms == ["bp_sustained"]
    services.dose_stop(actor=nurse_actor, session=session, at=start + datetime.timedelta(minutes=40))
    services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    phq9(session, nurse_actor, "post")
    with pytest.raises(ValidationError) as err:
        services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET)
    assert err.value.message_dict["alarms"] == [
        "Record the adverse event, or acknowledge with a note, for each alarm: "
        "Blood pressure 180/110 mmHg or more on readings 5 minutes apart."
    ]
    services.adverse_event_record(
        actor=nurse_actor,
        session=session,
        kind="hypertension",
        severity="moderate",
        action_taken="Infusion paused; labetalol per protocol",
    )
    assert services.discharge(actor=nurse_actor, session=session, criteria=ALL_MET).discharged_at is not None


def test_other_adverse_event_needs_a_description_and_an_action(nurse_actor, plan):
    session = check_in(nurse_actor, plan)
    with pytest.raises(ValidationError) as err:
        services.adverse_event_record(
            actor=nurse_actor, session=session, kind="other", severity="mild", action_taken=""
        )
    assert "action_taken" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.adverse_event_record(
            actor=nurse_actor, session=session, kind="other", severity="mild", action_taken="observed"
        )
    assert not AdverseEvent.objects.exists()


def test_signing_locks_the_session_and_later_changes_are_amendments(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, minutes_ago=110)
    with pytest.raises(ValidationError, match="Discharge the patient before signing"):
        services.session_sign(actor=nurse_actor, session=session, password=PASSWORD)
    run_to_discharge(doctor, nurse_actor, session, minutes=100)
    with pytest.raises(ValidationError) as err:
        services.session_sign(actor=nurse_actor, session=session, password="wrong")
    assert "password" in err.value.message_dict
    half = services.session_sign(actor=nurse_actor, session=session, password=PASSWORD)
    assert not half.locked and half.nurse_signed_by == nurse_actor.user
    with pytest.raises(ValidationError, match="A nurse has already signed"):
        services.session_sign(actor=nurse_actor, session=session, password=PASSWORD)
    signed = services.session_sign(actor=doctor, session=session, password=PASSWORD)
    assert signed.locked and services.signature_valid(signed)
    unkeyed = hashlib.sha256(services.snapshot_text(selectors.session_snapshot(signed)).encode()).hexdigest()
    assert signed.signature != unkeyed  # keyed: without the audit key it cannot be recomputed
    with pytest.raises(ValidationError, match="signed and locked"):
        services.vitals_record(actor=nurse_actor, session=session, vitals=NORMAL)
    with pytest.raises(ValidationError, match="signed and locked"):
        services.adverse_event_record(
            actor=nurse_actor, session=session, kind="nausea", severity="mild", action_taken="x"
        )
    original = list(session.vitals.values_list("pk", "systolic"))
    wrong = session.vitals.order_by("taken_at").last()
    amendment = services.session_amend(
        actor=nurse_actor,
        session=session,
        reason="Reading typed into the wrong row",
        strike_vitals=[wrong.pk],
        corrected_vitals=Vitals(118, 76, 70, 98, 14),
        corrected_taken_at=wrong.taken_at,
        adverse_event={
            "kind": "nausea",
            "severity": "mild",
            "action_taken": "Ondansetron 4 mg",
            "description": "",
            "serious": False,
            "onset_at": None,
        },
    )
    wrong.refresh_from_db()
    assert wrong.struck_by == amendment and wrong.systolic == NORMAL.systolic  # kept, struck through
    assert (
        list(session.vitals.filter(pk__in=[p for p, _ in original]).values_list("pk", "systolic")) == original
    )
    assert session.vitals.get(amendment=amendment).systolic == 118
    assert AdverseEvent.objects.get(amendment=amendment).kind == "nausea"
    assert amendment.signature_at_amendment == signed.signature
    # the signed original still matches its signature after the amendment
    assert services.signature_valid(TreatmentSession.objects.get(pk=session.pk))


def test_amending_needs_a_signed_session_and_a_reason(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, minutes_ago=110)
    with pytest.raises(ValidationError, match="not signed yet"):
        services.session_amend(actor=nurse_actor, session=session, reason="x", text="y")
    run_to_discharge(doctor, nurse_actor, session, minutes=100)
    sign_both(doctor, nurse_actor, session)
    with pytest.raises(ValidationError) as err:
        services.session_amend(actor=nurse_actor, session=session, reason=" ", text="y")
    assert "reason" in err.value.message_dict
    assert not SessionAmendment.objects.exists()


def test_a_changed_signed_record_no_longer_matches_its_signature(doctor, nurse_actor, plan):
    session = check_in(nurse_actor, plan, minutes_ago=110)
    run_to_discharge(doctor, nurse_actor, session, minutes=100)
    signed = sign_both(doctor, nurse_actor, session)
    assert services.signature_valid(signed)
    VitalSign.objects.filter(session=session).update(systolic=199)
    assert not services.signature_valid(TreatmentSession.objects.get(pk=session.pk))


def test_rems_submit_needs_discharge_then_marks_the_form(doctor, nurse_actor, esk_plan):
    session = check_in(nurse_actor, esk_plan, minutes_ago=140)
    with pytest.raises(ValidationError, match="discharge the patient first"):
        services.rems_submit(actor=nurse_actor, session=session)
    run_to_discharge(doctor, nurse_actor, session, minutes=125)
    with pytest.raises(ValidationError) as err:
        services.rems_submit(actor=nurse_actor, session=session, confirmation="R-1")
    assert set(err.value.message_dict) == {"monitored_by", "prescriber_on_site"}
    with pytest.raises(ValidationError) as err:  # a nurse is not a prescriber
        services.rems_submit(
            actor=nurse_actor,
            session=session,
            monitored_by=nurse_actor.user,
            prescriber_on_site=nurse_actor.user,
        )
    assert set(err.value.message_dict) == {"prescriber_on_site"}
    record = services.rems_submit(
        actor=nurse_actor,
        session=session,
        confirmation="R-1",
        monitored_by=nurse_actor.user,
        prescriber_on_site=doctor.user,
    )
    assert record.submitted_at is not None and record.confirmation == "R-1"
    assert (record.monitored_by, record.prescriber_on_site) == (nurse_actor.user, doctor.user)
    with pytest.raises(ValidationError, match="already marked"):
        services.rems_submit(actor=nurse_actor, session=session)

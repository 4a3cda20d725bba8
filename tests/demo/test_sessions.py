import datetime
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ketacare.clinical import dosing, monitoring, session_checks
from ketacare.clinical.protocols import (
    ESKETAMINE_DEVICE_INTERVAL_MIN,
    ESKETAMINE_DEVICE_MG,
    ESKETAMINE_FIRST_DOSE_MG,
    ESKETAMINE_MIN_AGE_YEARS,
    REMS_FORM_DUE_DAYS,
)
from ketacare.sessions import checklist as checklist_table
from ketacare.sessions import selectors
from ketacare.sessions.models import (
    AlarmAcknowledgement,
    DeviceDose,
    DoseOrder,
    RemsEnrolment,
    RemsRecord,
    SessionScale,
    TreatmentSession,
)
from ketacare.sessions.services import DISCHARGE_OVERRIDE_PERMISSION, signature_valid
from ketacare.treatment import rules
from tests.conftest import kept_for_the_module

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """A 30-patient demo cohort (180 sessions, some on esketamine), seeded once for the module:
    what the command printed, and its session pages."""
    with kept_for_the_module(django_db_blocker):
        out = StringIO()
        call_command("seed_demo", "--patients", "30", "--seed", "3", "--without-morning", stdout=out)
        ids = list(TreatmentSession.objects.order_by("pk").values_list("pk", flat=True))
        yield out.getvalue(), selectors.flowsheets(session_ids=ids)


@pytest.fixture
def demo(seeded):
    return seeded[1]


def test_demo_cohort_has_plans_and_complete_signed_sessions(seeded):
    out = seeded[0]
    assert "30 treatment plans, 180 sessions and " in out
    sessions = list(TreatmentSession.objects.select_related("plan", "appointment"))
    assert all(s.locked and s.discharged_at and s.plan.decision_id for s in sessions)
    assert all(signature_valid(s) for s in sessions)
    # each session's pre-session rating is the one the score history put just after check-in
    for link in SessionScale.objects.filter(purpose="pre").select_related("session", "response")[:50]:
        assert 0 < (link.response.administered_at - link.session.checked_in_at).total_seconds() <= 300
    assert SessionScale.objects.filter(purpose="pre").count() == 180


def test_every_demo_session_has_a_full_checklist_an_escort_and_nothing_that_stops_the_dose(demo):
    table = checklist_table.current()
    warned = Counter()
    for page in demo:
        s = page.session
        missing, findings = session_checks.evaluate(s.checklist, s.route, table)
        assert missing == {}
        assert s.checklist_findings == [
            {"code": f.code, "effect": f.effect.value, "message": f.message} for f in findings
        ]
        assert {f["effect"] for f in s.checklist_findings} <= {"warn"}
        assert s.checklist["identity_confirmed"] is True
        assert s.checklist["escort"] is True
        assert s.escort_name
        assert s.escort_phone
        warned.update(f["code"] for f in s.checklist_findings)
    assert warned["new_benzodiazepine"] >= 1
    assert 0 < sum(warned.values()) < len(demo) / 10
    started = next(p.session for p in demo if p.session.checklist.get("new_benzodiazepine"))
    assert "benzodiazepines" in started.concomitant


def test_demo_orders_carry_the_prepared_dose_from_the_drawn_volume(demo):
    iv = rules.get("iv_ketamine_standard")
    routes = Counter()
    for page in demo:
        s, order = page.session, page.order
        routes[s.route] += 1
        if s.route == "esketamine":
            assert order.prepared_dose_mg == order.dose_mg == ESKETAMINE_DEVICE_MG * order.devices
            continue
        assert order.draw_volume_ml % iv.volume_step_ml == 0
        assert order.prepared_dose_mg == order.draw_volume_ml * order.concentration_mg_per_ml
        assert abs(order.prepared_dose_mg - order.dose_mg) <= order.dose_mg * Decimal("0.02")
        final = order.prepared_dose_mg / (order.bag_ml + order.draw_volume_ml)
        assert order.final_concentration_mg_per_ml == final.quantize(Decimal("0.01"), ROUND_HALF_UP)
        calculated = dosing.calculate(iv, weight_kg=s.weight_kg, height_cm=s.height_cm, sex=s.patient.sex)
        assert (order.dose_mg, order.prepared_dose_mg, order.rate_ml_per_h) == (
            calculated.dose_mg,
            calculated.prepared_dose_mg,
            calculated.rate_ml_per_h,
        )
        if not s.stop_reason:
            assert (s.given_dose_mg, s.infused_volume_ml, s.waste_mg) == (
                order.prepared_dose_mg,
                order.infused_volume_ml,
                None,
            )
    assert routes["iv_ketamine"] > routes["esketamine"] > 0


def test_demo_esketamine_devices_are_given_five_minutes_apart_and_make_the_given_dose(demo):
    interval = datetime.timedelta(minutes=ESKETAMINE_DEVICE_INTERVAL_MIN)
    esketamine = [p for p in demo if p.session.route == "esketamine"]
    assert esketamine
    for page in esketamine:
        s, devices = page.session, page.devices
        assert [d.number for d in devices] == list(range(1, page.order.devices + 1))
        assert devices[0].given_at == s.dose_started_at
        assert devices[-1].given_at == s.dose_stopped_at
        for before, after in zip(devices, devices[1:], strict=False):
            assert after.given_at - before.given_at >= interval
        assert s.given_dose_mg == ESKETAMINE_DEVICE_MG * len(devices)
    assert not DeviceDose.objects.exclude(session__route="esketamine").exists()


def test_demo_has_an_infusion_stopped_early_with_the_volume_the_reason_and_the_waste(demo):
    step = Decimal(1).scaleb(-TreatmentSession._meta.get_field("given_dose_mg").decimal_places)
    stopped = [p for p in demo if p.session.route == "iv_ketamine" and p.session.stop_reason]
    assert stopped
    for page in stopped:
        s, order = page.session, page.order
        planned_end = s.dose_started_at + datetime.timedelta(minutes=order.duration_min)
        assert s.dose_stopped_at < planned_end - datetime.timedelta(minutes=2)
        assert 0 < s.infused_volume_ml < order.infused_volume_ml
        given = (order.prepared_dose_mg * s.infused_volume_ml / order.infused_volume_ml).quantize(step)
        assert s.given_dose_mg == given
        assert s.waste_mg == order.prepared_dose_mg - given > 0
        assert page.adverse_events
    assert len(stopped) < len(demo) / 20


def test_demo_alarms_of_each_kind_are_raised_as_at_the_chair_and_answered(demo):
    raised = Counter()
    answers = defaultdict(set)
    with_alarms = 0
    for page in demo:
        series = [
            (v.taken_at, monitoring.Vitals(v.systolic, v.diastolic, v.heart_rate, v.spo2, v.resp_rate))
            for v in page.vitals
        ]
        expected = defaultdict(list)
        for at, alarm in monitoring.alarms(series):
            expected[at].append(alarm.value)
        assert [v.alarms for v in page.vitals] == [expected.get(v.taken_at, []) for v in page.vitals]
        for rating in page.sedation:
            alarm = monitoring.sedation_alarm(rating.moaas)
            assert rating.alarm == (alarm.value if alarm else "")
        assert page.unanswered_codes == []
        with_alarms += bool(page.alarms)
        for a in page.alarms:
            raised[a.code] += 1
            answers[a.code].add(a.answered.split(":")[0])
    assert set(raised) == {"spo2_low", "sedation", "bp_sustained"}
    assert "adverse event" in answers["spo2_low"]
    assert any(a.startswith("acknowledged by") for a in answers["spo2_low"])
    assert answers["sedation"] == {"adverse event"}
    assert answers["bp_sustained"] == {"adverse event"}
    assert AlarmAcknowledgement.objects.filter(note="Probe repositioned, repeat 97%").exists()
    assert 0 < with_alarms < len(demo) / 5


def test_demo_discharges_store_the_computed_criteria_met_or_signed_past_by_a_physician(demo):
    overridden = 0
    skipped = 0
    for page in demo:
        s = page.session
        computed = [
            {"code": c.code, "label": c.label, "met": c.met, "detail": c.detail}
            for c in selectors.discharge_assessment(page, now=s.discharged_at)
        ]
        assert s.discharge_assessment == computed
        failed = [c["code"] for c in computed if not c["met"]]
        if s.discharge_override_by_id is None:
            assert failed == []
        else:
            overridden += 1
            assert failed == ["vitals_near_baseline"]
            assert s.discharge_override_reason
            assert s.discharge_override_by.has_perm(DISCHARGE_OVERRIDE_PERMISSION)
        assert all(d.done for d in page.schedule)
        skipped += sum(1 for d in page.schedule if d.skipped)
        if s.route == "iv_ketamine":
            assert s.discharged_at >= s.dose_stopped_at + datetime.timedelta(minutes=30)
        else:
            assert page.post_dose_bp
            assert s.discharged_at >= s.dose_started_at + datetime.timedelta(minutes=120)
    assert overridden in (1, 2)
    assert skipped > 0


def test_demo_esketamine_patients_are_enrolled_in_the_rems_before_their_first_dose(demo):
    esketamine = sorted(
        (p.session for p in demo if p.session.route == "esketamine"),
        key=lambda s: (s.patient_id, s.dose_started_at),
    )
    patients = {s.patient_id for s in esketamine}
    assert patients
    enrolments = {e.patient_id: e for e in RemsEnrolment.objects.all()}
    assert set(enrolments) == patients
    for pid in patients:
        doses = [s for s in esketamine if s.patient_id == pid]
        first = doses[0]
        assert enrolments[pid].recorded_at < first.dose_started_at
        assert enrolments[pid].enrolled_on < timezone.localtime(first.dose_started_at).date()
        assert first.orders.get().dose_mg == ESKETAMINE_FIRST_DOSE_MG
        born, day = first.patient.date_of_birth, timezone.localtime(first.dose_started_at).date()
        age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        assert age >= ESKETAMINE_MIN_AGE_YEARS
        days = [timezone.localtime(s.dose_started_at).date() for s in doses]
        assert all((b - a).days >= 2 for a, b in zip(days, days[1:], strict=False))
    forms = list(RemsRecord.objects.select_related("session"))
    assert len(forms) == len(esketamine)
    for form in forms:
        s = form.session
        assert form.due_on == timezone.localtime(s.checked_in_at).date() + datetime.timedelta(
            days=REMS_FORM_DUE_DAYS
        )
        assert s.dose_started_at <= form.ready_to_leave_at <= s.discharged_at
        if form.submitted_at is not None:
            assert form.monitored_by_id is not None
            assert form.prescriber_on_site_id is not None
            assert s.discharged_at < form.submitted_at <= timezone.now()


def test_every_demo_order_has_a_prepared_dose_and_every_session_a_given_dose(demo):
    assert DoseOrder.objects.count() == len(demo)
    assert not DoseOrder.objects.filter(prepared_dose_mg__isnull=True).exists()
    assert not TreatmentSession.objects.filter(given_dose_mg__isnull=True).exists()


def test_demo_decisions_agree_with_the_age_rules(demo):
    from ketacare.clinical.contraindications import age_conditions
    from ketacare.screening.models import CandidacyDecision

    decisions = list(CandidacyDecision.objects.select_related("patient", "consultation"))
    assert decisions
    for d in decisions:
        conditions = age_conditions(born=d.patient.date_of_birth, on=d.consultation.held_on)
        assert "age_under_18" not in conditions
        expected = "eligible_with_precautions" if "age_65_or_over" in conditions else "eligible"
        assert d.decision == expected and (d.precautions != "") == (expected != "eligible")
    assert {d.decision for d in decisions} == {"eligible", "eligible_with_precautions"}


def test_demo_decisions_keep_what_was_signed_and_their_letters_print(demo, client_as, physician):
    """Each demo decision stores the snapshot the real signing stores, under a valid signature,
    so its consultation letter renders (it answered 500 on a placeholder snapshot)."""
    from ketacare.screening.models import CandidacyDecision
    from ketacare.screening.services import signature_valid as decision_signature_valid

    decisions = list(CandidacyDecision.objects.all())
    for d in decisions:
        assert {"staging", "held_on", "baseline"} <= d.snapshot.keys()
        assert decision_signature_valid(d)
    client = client_as(physician)
    for d in decisions[:3]:
        response = client.get(f"/decisions/{d.pk}/letter.pdf")
        assert response.status_code == 200, response.content[:200]
        assert response["Content-Type"] == "application/pdf"
        assert (
            b"".join(response.streaming_content if response.streaming else [response.content])[:5] == b"%PDF-"
        )


def test_every_demo_course_started_under_its_patients_signed_consent_to_its_route(demo):
    from ketacare.patients.models import ConsentSignature
    from ketacare.patients.selectors import consent_for_treatment
    from ketacare.treatment.models import TreatmentPlan

    plans = list(TreatmentPlan.objects.select_related("decision"))
    assert plans and ConsentSignature.objects.count() == len(plans)
    first = {}
    for p in demo:
        s = p.session
        first[s.patient_id] = min(first.get(s.patient_id, s.dose_started_at), s.dose_started_at)
    methods = set()
    for plan in plans:
        kind = rules.get(plan.protocol).candidacy_route
        signature = consent_for_treatment(
            patient_id=plan.patient_id, kind=kind, decided_at=plan.decision.signed_at
        ).signature
        assert signature is not None, plan
        assert plan.decision.signed_at < signature.signed_at < first[plan.patient_id]
        assert signature.decision_signed_at == plan.decision.signed_at
        assert signature.document.published_at < signature.signed_at
        assert signature.typed_name == plan.patient.full_name
        assert (signature.witness_id is not None) == (signature.method == "paper")
        methods.add(signature.method)
    assert methods == {"portal", "paper"}

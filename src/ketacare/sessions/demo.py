"""Synthetic treatment for the demo cohort: for each patient with a score history, a signed
candidacy decision, an IV ketamine plan, its six induction appointments and, for each infusion
already given, a complete session (dose order, vitals, sedation, the pre- and post-session
ratings linked, discharge, both signatures, locked). Sessions sit where the score history put
its pre-session ratings, so the charts' markers and the outcome figures line up. Infusions still
to come, and the first booster after a finished course, are booked appointments. Nothing here
is real data."""

from __future__ import annotations

import datetime
import hashlib
import random
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.clinical import dosing
from ketacare.clinical.monitoring import DISCHARGE_CRITERIA, Vitals, alarms, highlights
from ketacare.clinical.protocols import IV_KETAMINE_STANDARD
from ketacare.measures.models import Context, QuestionnaireResponse
from ketacare.patients.models import BodyMeasurement
from ketacare.screening import rules as screening_rules
from ketacare.screening.models import AntidepressantTrial, CandidacyDecision, Consultation
from ketacare.sessions import selectors
from ketacare.sessions.models import (
    AdverseEvent,
    DoseOrder,
    SedationRating,
    SessionScale,
    TreatmentSession,
    VitalSign,
)
from ketacare.sessions.services import signature_of
from ketacare.treatment.models import Appointment, Chair, TreatmentPlan

INDUCTION = 6
# Where the measures demo puts the infusions (days after the first): six over twelve days.
INFUSION_DAYS = (0, 2, 4, 7, 9, 11)
SLOT = datetime.timedelta(minutes=IV_KETAMINE_STANDARD.appointment_min)
CHAIRS_AT_LEAST = 6
DOSE_AFTER_CHECK_IN = datetime.timedelta(minutes=15)


def _chairs_for(slots: list[tuple[int, datetime.datetime]]) -> dict[tuple[int, datetime.datetime], Chair]:
    """Give every slot a chair so that no chair is booked twice at once (greedy by start)."""
    free_at: list[datetime.datetime] = []
    taken: dict[tuple[int, datetime.datetime], int] = {}
    for key in sorted(slots, key=lambda k: k[1]):
        start = key[1]
        for n, free in enumerate(free_at):
            if free <= start:
                free_at[n] = start + SLOT
                taken[key] = n
                break
        else:
            free_at.append(start + SLOT)
            taken[key] = len(free_at) - 1
    existing = list(Chair.objects.filter(active=True).order_by("name"))
    rooms = "ABCDEFGH"
    while len(existing) < max(len(free_at), CHAIRS_AT_LEAST):
        n = len(existing) + 1
        existing.append(Chair.objects.create(name=f"Chair {n}", room=f"Room {rooms[(n - 1) // 4 % 8]}"))
    return {key: existing[n] for key, n in taken.items()}


# A course whose last infusion is this long ago is shown as finished (plan stopped), so the demo
# also has patients whose chart offers "Start a treatment plan".
FINISHED_AFTER = datetime.timedelta(days=120)


def _finished(
    times: list[tuple[datetime.datetime, bool]], now: datetime.datetime, physician: Any
) -> dict[str, Any]:
    given = [t for t, done in times if done]
    if len(given) < INDUCTION or now - given[-1] < FINISHED_AFTER:
        return {}
    return {
        "status": "stopped",
        "stopped_at": given[-1] + datetime.timedelta(days=IV_KETAMINE_STANDARD.booster_interval_days),
        "stopped_by": physician,
        "stop_reason": "Course complete: in remission, no booster needed for now.",
    }


# Adequate antidepressant trials that failed, before ketamine (drug, daily dose in mg).
DEMO_TRIALS = (
    ("sertraline", 150),
    ("escitalopram", 20),
    ("venlafaxine", 225),
    ("bupropion", 300),
    ("duloxetine", 60),
    ("mirtazapine", 30),
)


def _trials(
    treated: list[int], times: dict[int, list[tuple[datetime.datetime, bool]]], rng: random.Random, by: Any
) -> list[AntidepressantTrial]:
    """Two to four failed trials for each treated patient, one after another (sometimes with a
    cross-taper), ending a few weeks before the first infusion: the history that makes a patient
    treatment-resistant, and the weeks the speed-of-relief figure compares with."""
    out = []
    for pid in treated:
        end = times[pid][0][0].date() - datetime.timedelta(days=rng.randint(20, 60))
        for drug, dose in rng.sample(DEMO_TRIALS, rng.randint(2, 4)):
            weeks = rng.randint(6, 16)
            start = end - datetime.timedelta(weeks=weeks)
            out.append(
                AntidepressantTrial(
                    patient_id=pid,
                    drug=drug,
                    daily_dose_mg=dose,
                    started_on=start,
                    stopped_on=end,
                    adherence="good",
                    outcome=rng.choice(("no_response", "no_response", "partial_response")),
                    recorded_by=by,
                )
            )
            end = start + datetime.timedelta(days=rng.choice((0, 0, 7, 14)))
    return out


def seed_treatment(
    *,
    patient_ids: list[int],
    seed: int,
    physician: Any,
    nurse: Any,
    actor: Actor | None = None,
    now: datetime.datetime | None = None,
) -> tuple[int, int]:
    """Plans and sessions for these patients, in one transaction. Returns (plans, sessions)."""
    actor = actor or Actor.command("seed-demo")
    rng = random.Random(seed * 7919 + 17)
    now = now or timezone.now()
    with transaction.atomic():
        return _seed(patient_ids, rng, now, physician, nurse, actor)


def _seed(
    patient_ids: list[int],
    rng: random.Random,
    now: datetime.datetime,
    physician: Any,
    nurse: Any,
    actor: Actor,
) -> tuple[int, int]:
    pre: dict[int, list[tuple[datetime.datetime, int]]] = defaultdict(list)
    post: dict[int, list[tuple[datetime.datetime, int]]] = defaultdict(list)
    first_scale: dict[int, str] = {}
    rows = (
        QuestionnaireResponse.objects.filter(
            patient_id__in=patient_ids, context__in=[Context.PRE_SESSION, Context.POST_SESSION]
        )
        .order_by("patient_id", "administered_at", "id")
        .values_list("id", "patient_id", "instrument", "context", "administered_at")
    )
    for rid, pid, code, context, at in rows:
        scale = first_scale.setdefault(pid, code)
        if code != scale:
            continue
        (pre if context == Context.PRE_SESSION else post)[pid].append((at, rid))
    weights = dict(
        BodyMeasurement.objects.filter(patient_id__in=list(pre), weight_kg__isnull=False)
        .order_by("patient_id", "measured_at")
        .values_list("patient_id", "weight_kg")
    )
    treated = [pid for pid in patient_ids if pre.get(pid) and weights.get(pid)]
    if not treated:
        return 0, 0
    checklist = {r.code: False for r in screening_rules.current().contraindications}
    # Each treated patient's infusion times: the given ones (from the ratings) and the rest.
    times: dict[int, list[tuple[datetime.datetime, bool]]] = {}
    for pid in treated:
        given = [at - datetime.timedelta(minutes=5) for at, _ in pre[pid][:INDUCTION]]
        first = timezone.localtime(given[0])
        planned = [
            timezone.make_aware(
                datetime.datetime.combine(
                    first.date() + datetime.timedelta(days=d), datetime.time(first.hour, 0)
                )
            )
            for d in INFUSION_DAYS[len(given) :]
        ]
        times[pid] = [(t, True) for t in given] + [(t, False) for t in planned if t > now]
        if len(given) == INDUCTION:  # the course is done: the first booster, if still to come
            day = timezone.localtime(given[-1]).date() + datetime.timedelta(
                days=IV_KETAMINE_STANDARD.booster_interval_days
            )
            while day.weekday() >= 5:  # boosters on weekdays
                day += datetime.timedelta(days=1)
            booster = timezone.make_aware(datetime.datetime.combine(day, datetime.time(first.hour, 0)))
            if booster > now:
                times[pid].append((booster, False))
    chairs = _chairs_for([(pid, t) for pid, ts in times.items() for t, _ in ts])

    consultations = Consultation.objects.bulk_create(
        [
            Consultation(
                patient_id=pid,
                held_on=(times[pid][0][0] - datetime.timedelta(days=rng.randint(12, 20))).date(),
                clinician=physician,
                episode_duration_months=rng.randint(8, 60),
                severity=rng.choice(("moderate", "severe_without_psychosis")),
                augmentation_used=rng.random() < 0.3,
                checklist=checklist,
                checklist_by=physician,
                checklist_at=times[pid][0][0] - datetime.timedelta(days=12),
            )
            for pid in treated
        ]
    )
    AntidepressantTrial.objects.bulk_create(_trials(treated, times, rng, physician))
    decisions = CandidacyDecision.objects.bulk_create(
        [
            CandidacyDecision(
                patient_id=c.patient_id,
                consultation=c,
                decision="eligible",
                routes=["iv_ketamine"],
                reasons="Synthetic demo patient: treatment-resistant, no contraindication.",
                plan="IV ketamine induction, six infusions.",
                snapshot={"demo": True},
                signed_by=physician,
                signed_at=timezone.make_aware(datetime.datetime.combine(c.held_on, datetime.time(12, 0))),
                signature=hashlib.sha256(f"demo-decision:{c.patient_id}:{c.pk}".encode()).hexdigest(),
            )
            for c in consultations
        ]
    )
    plans = TreatmentPlan.objects.bulk_create(
        [
            TreatmentPlan(
                patient_id=d.patient_id,
                decision=d,
                protocol=IV_KETAMINE_STANDARD.code.value,
                route=IV_KETAMINE_STANDARD.route.value,
                dose_mg_per_kg=IV_KETAMINE_STANDARD.dose_mg_per_kg,
                weight_basis=IV_KETAMINE_STANDARD.weight_basis.value,
                induction_sessions=INDUCTION,
                booster_interval_days=IV_KETAMINE_STANDARD.booster_interval_days,
                phase="maintenance" if len(pre[d.patient_id]) >= INDUCTION else "induction",
                started_on=timezone.localtime(times[d.patient_id][0][0]).date(),
                created_by=physician,
                **_finished(times[d.patient_id], now, physician),
            )
            for d in decisions
        ]
    )
    plan_of = {p.patient_id: p for p in plans}
    appointments = Appointment.objects.bulk_create(
        [
            Appointment(
                patient_id=pid,
                plan=plan_of[pid],
                chair=chairs[(pid, t)],
                clinician=nurse,
                kind="induction" if n < INDUCTION else "booster",
                starts_at=t,
                ends_at=t + SLOT,
                status="attended" if given else "booked",
                created_by=physician,
            )
            for pid in treated
            for n, (t, given) in enumerate(times[pid])
        ]
    )
    attended = [a for a in appointments if a.status == "attended"]
    session_rows = []
    for a in attended:
        number = sum(1 for t, g in times[a.patient_id] if g and t <= a.starts_at)
        start = a.starts_at + DOSE_AFTER_CHECK_IN
        session_rows.append(
            TreatmentSession(
                patient_id=a.patient_id,
                plan=plan_of[a.patient_id],
                appointment=a,
                protocol=IV_KETAMINE_STANDARD.code.value,
                route=IV_KETAMINE_STANDARD.route.value,
                number=number,
                checked_in_at=a.starts_at,
                checked_in_by=nurse,
                weight_kg=weights[a.patient_id],
                dose_started_at=start,
                dose_stopped_at=start + datetime.timedelta(minutes=40),
                discharge_criteria={code: True for code, _ in DISCHARGE_CRITERIA},
                discharged_at=start + datetime.timedelta(minutes=rng.randint(80, 100)),
                discharged_by=nurse,
                nurse_signed_by=nurse,
                nurse_signed_at=start + datetime.timedelta(minutes=105),
                physician_signed_by=physician,
                physician_signed_at=start + datetime.timedelta(minutes=110),
                locked_at=start + datetime.timedelta(minutes=110),
            )
        )
    sessions = TreatmentSession.objects.bulk_create(session_rows)
    orders, vitals, sedation, events, links = [], [], [], [], []
    for s in sessions:
        dose = dosing.calculate(IV_KETAMINE_STANDARD, weight_kg=s.weight_kg)
        start = s.checked_in_at + DOSE_AFTER_CHECK_IN
        orders.append(
            DoseOrder(
                session=s,
                patient_id=s.patient_id,
                ordered_by=physician,
                ordered_at=s.checked_in_at + datetime.timedelta(minutes=8),
                weight_basis=dose.weight_basis or "",
                basis_weight_kg=dose.basis_weight_kg,
                dose_mg_per_kg=dose.dose_mg_per_kg,
                dose_mg=dose.dose_mg,
                concentration_mg_per_ml=dose.concentration_mg_per_ml,
                draw_volume_ml=dose.draw_volume_ml,
                bag_ml=dose.bag_ml,
                infused_volume_ml=dose.infused_volume_ml,
                duration_min=dose.duration_min,
                rate_ml_per_h=dose.rate_ml_per_h,
                lot_number=f"KT{rng.randint(10000, 99999)}",
                warnings=list(dose.warnings),
            )
        )
        systolic, diastolic = rng.randint(112, 136), rng.randint(70, 86)
        # BP rises during the infusion, most near 40 minutes (mean +16/+11 mmHg, reference §5).
        series = []
        for minutes, phase, rise in (
            (-10, "pre", 0.0),
            (20, "during", 0.6),
            (40, "during", 1.0),
            (80, "after", 0.2),
        ):
            v = Vitals(
                systolic + round(16 * rise) + rng.randint(-4, 4),
                diastolic + round(11 * rise) + rng.randint(-3, 3),
                rng.randint(62, 88),
                rng.randint(96, 99),
                rng.randint(12, 18),
            )
            at = start + datetime.timedelta(minutes=minutes)
            series.append((at, v))
            vitals.append(
                VitalSign(
                    session=s,
                    patient_id=s.patient_id,
                    taken_at=at,
                    phase=phase,
                    minutes_after_dose=None if phase == "pre" else minutes,
                    systolic=v.systolic,
                    diastolic=v.diastolic,
                    heart_rate=v.heart_rate,
                    spo2=v.spo2,
                    resp_rate=v.resp_rate,
                    highlights=highlights(v),
                    alarms=[],
                    entered_by=nurse,
                )
            )
        if alarms(series):  # never with these ranges; kept honest if the ranges change
            raise RuntimeError("demo vitals raised an alarm")
        sedation.append(
            SedationRating(
                session=s,
                patient_id=s.patient_id,
                rated_at=start + datetime.timedelta(minutes=40),
                minutes_after_dose=40,
                moaas=rng.choice((4, 5, 5, 5)),
                entered_by=nurse,
            )
        )
        roll = rng.random()
        if roll < 0.08:
            events.append(
                ("nausea", "mild", "Ondansetron 4 mg IV", s, start + datetime.timedelta(minutes=30))
            )
        elif roll < 0.11:
            events.append(
                (
                    "emergence_reaction",
                    "mild",
                    "Reassurance, lights dimmed",
                    s,
                    start + datetime.timedelta(minutes=25),
                )
            )
        n = s.number - 1
        if n < len(pre[s.patient_id]):
            links.append(SessionScale(session=s, response_id=pre[s.patient_id][n][1], purpose="pre"))
        if n < len(post[s.patient_id]):
            links.append(SessionScale(session=s, response_id=post[s.patient_id][n][1], purpose="post"))
    DoseOrder.objects.bulk_create(orders)
    VitalSign.objects.bulk_create(vitals)
    SedationRating.objects.bulk_create(sedation)
    SessionScale.objects.bulk_create(links)
    AdverseEvent.objects.bulk_create(
        [
            AdverseEvent(
                session=s,
                patient_id=s.patient_id,
                kind=kind,
                severity=severity,
                action_taken=action,
                onset_at=at,
                recorded_by=nurse,
                recorded_at=at,
            )
            for kind, severity, action, s, at in events
        ]
    )
    # Sign each locked session over the record as stored, exactly as session_sign does.
    signed = []
    ids = [s.pk for s in sessions]
    for chunk in range(0, len(ids), 500):
        for page in selectors.flowsheets(session_ids=ids[chunk : chunk + 500]):
            page.session.signature = signature_of(selectors.snapshot_of(page))
            signed.append(page.session)
    TreatmentSession.objects.bulk_update(signed, ["signature"], batch_size=500)
    per_patient: dict[int, int] = defaultdict(int)
    for s in sessions:
        per_patient[s.patient_id] += 1
    audit_record_many(
        actor=actor,
        specs=[
            EventSpec(
                Action.CREATE,
                "treatment.treatmentplan",
                str(plan_of[pid].pk),
                pid,
                {"source": "seed-demo", "sessions": per_patient.get(pid, 0)},
            )
            for pid in treated
        ],
    )
    return len(plans), len(sessions)

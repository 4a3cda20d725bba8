"""Synthetic treatment for the demo cohort: for each patient with a score history, a signed
candidacy decision, a plan (IV ketamine for most; esketamine nasal spray for some adults, enrolled
in the REMS before their first dose), its appointments and, for each treatment already given, a
session recorded as the chair-side rules ask: the pre-dose checklist with the escort, the dose
order with the prepared dose, esketamine devices 5 minutes apart, vitals at the protocol's
interval with the alarms they raise, MOAA/S and CADSS at their times (or skipped with a reason),
adverse events, every alarm answered, discharge once the computed criteria are met (and stored),
both signatures, locked; for esketamine, the REMS monitoring form.

A minority of sessions show what the rules are for: a warning on the checklist (a benzodiazepine
started), SpO2 dips answered by an adverse event or an acknowledgement, MOAA/S 3 answered by an
oversedation event, a sustained blood pressure over 180/110 that stopped an infusion, an infusion
stopped at the patient's request with the rest of the dose wasted, a physician's discharge past a
blood pressure still raised. Every such session is checked against the same selectors the session
page uses before it is signed, so the demo cannot hold a record the rules would have refused.

Sessions sit where the score history put its pre-session ratings, so the charts' markers and the
outcome figures line up (the histories give six treatments over twelve days, also for esketamine:
never on consecutive days, as its interval rule asks). Treatments still to come, and the first
booster after a finished course, are booked appointments. Nothing here is real data."""

from __future__ import annotations

import datetime
import functools
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.bulk import bulk_insert
from ketacare.clinical import dosing, instruments, session_checks
from ketacare.clinical.contraindications import age_conditions, checklist
from ketacare.clinical.monitoring import DISCHARGE_CRITERIA, Vitals, alarms, highlights, sedation_alarm
from ketacare.clinical.protocols import (
    ESKETAMINE_DEVICE_INTERVAL_MIN,
    ESKETAMINE_DEVICE_MG,
    ESKETAMINE_MIN_AGE_YEARS,
    REMS_FORM_DUE_DAYS,
    Protocol,
    ProtocolCode,
)
from ketacare.demo.measures import LIVE_WINDOW
from ketacare.measures.models import RESPONSE_BULK_COLUMNS, Context, QuestionnaireResponse, Source
from ketacare.patients import consent
from ketacare.patients.models import BodyMeasurement, ConsentDocument, ConsentSignature, Diagnosis, Patient
from ketacare.screening import rules as screening_rules
from ketacare.screening import selectors as screening_selectors
from ketacare.screening.models import AntidepressantTrial, CandidacyDecision, Consultation
from ketacare.screening.services import decision_signature
from ketacare.sessions import checklist as checklist_table
from ketacare.sessions import selectors
from ketacare.sessions.models import (
    AdverseEvent,
    AlarmAcknowledgement,
    DeviceDose,
    DoseOrder,
    RemsEnrolment,
    RemsRecord,
    SedationRating,
    SessionScale,
    TreatmentSession,
    VitalSign,
)
from ketacare.sessions.services import signature_of
from ketacare.treatment import rules
from ketacare.treatment.models import Appointment, Chair, TreatmentPlan

INDUCTION = 6
# Where the measures demo puts the treatments (days after the first): six over twelve days.
INFUSION_DAYS = (0, 2, 4, 7, 9, 11)
CHAIRS_AT_LEAST = 6
DOSE_AFTER_CHECK_IN = datetime.timedelta(minutes=15)
ORDER_AFTER_CHECK_IN = datetime.timedelta(minutes=8)
PRE_DOSE_VITALS_MIN = -10
# Share of treated patients on esketamine nasal spray (adults only; not in the postpartum group,
# since breastfeeding is not recommended with it: Spravato prescribing information 8.2).
ESKETAMINE_SHARE = 0.15
POSTPARTUM = "F53.0"
# Women who might be pregnant answer the pregnancy item yes and have a negative test (under 50).
PREGNANCY_POSSIBLE_UNDER_AGE = 50
# Blood pressure rises during the dose, most near 40 minutes: IV ketamine mean +16/+11 mmHg
# (clinical reference section 5); esketamine about +7-9/+4-6 mmHg placebo-adjusted at 40 minutes
# (Spravato prescribing information 5.6).
BP_RISE = {ProtocolCode.IV_KETAMINE_STANDARD: (16, 11), ProtocolCode.ESKETAMINE_NASAL: (8, 5)}
BP_PEAK_MIN = 40
# Concomitant medicines (REMS form codes) that a checklist warning shows were started.
STARTED_MEDICINE = {
    "new_benzodiazepine": "benzodiazepines",
    "new_cns_depressant": "opioids",
    "new_stimulant": "psychostimulants",
}

# What a minority of sessions show, by protocol: (scenario, share of the protocol's sessions). Each
# scenario present at least once when there are sessions enough, at most one per session.
SCENARIOS = {
    ProtocolCode.IV_KETAMINE_STANDARD: (
        ("spo2_event", 0.01),
        ("spo2_ack", 0.02),
        ("sedation", 0.015),
        ("bp_stop", 0.005),
        ("emergence_stop", 0.01),
    ),
    ProtocolCode.ESKETAMINE_NASAL: (
        ("spo2_event", 0.01),
        ("spo2_ack", 0.02),
        ("sedation", 0.05),
    ),
}
# Infusions stopped before their planned end (the rest of the dose is waste).
STOPPED_EARLY = ("bp_stop", "emergence_stop")
# A physician's discharge past a failed criterion: one or two sessions in the cohort.
OVERRIDES_PER_SESSIONS = 600
OVERRIDES_AT_MOST = 2
CHECKLIST_WARN_SHARE = 0.04
CADSS_SKIPPED_SHARE = 0.03
# REMS forms of the last 12 days (due within 7) are partly still to do: the REMS list has work.
REMS_OPEN_WITHIN = datetime.timedelta(days=12)

GIVEN_MG_STEP = Decimal(1).scaleb(-(TreatmentSession._meta.get_field("given_dose_mg").decimal_places or 0))
SPO2_ACK_NOTE = "Probe repositioned, repeat 97%"
CADSS_SKIP_REASON = "Patient declined the questionnaire: back to baseline and resting"


def demo_lot(start: datetime.datetime, *, weight_based: bool, draw: int) -> str:
    """The lot a demo dose was drawn from: one lot of each product a month, as a clinic receives
    them (the controlled-substance ledger's demo receives exactly these). `draw` is the random
    number that once named a lot per visit; it is still drawn so the rest of the demo is unchanged."""
    del draw
    return f"{'KT' if weight_based else 'SP'}{timezone.localtime(start):%y%m}"


def _chairs_for(
    slots: list[tuple[int, datetime.datetime, datetime.timedelta]],
) -> dict[tuple[int, datetime.datetime], Chair]:
    """Give every slot a chair so that no chair is booked twice at once (greedy by start)."""
    free_at: list[datetime.datetime] = []
    taken: dict[tuple[int, datetime.datetime], int] = {}
    for pid, start, length in sorted(slots, key=lambda k: k[1]):
        for n, free in enumerate(free_at):
            if free <= start:
                free_at[n] = start + length
                taken[(pid, start)] = n
                break
        else:
            free_at.append(start + length)
            taken[(pid, start)] = len(free_at) - 1
    existing = list(Chair.objects.filter(active=True).order_by("name"))
    rooms = "ABCDEFGH"
    while len(existing) < max(len(free_at), CHAIRS_AT_LEAST):
        n = len(existing) + 1
        existing.append(Chair.objects.create(name=f"Chair {n}", room=f"Room {rooms[(n - 1) // 4 % 8]}"))
    return {key: existing[n] for key, n in taken.items()}


# A course whose last treatment is this long ago is shown as finished (plan stopped), so the demo
# also has patients whose chart offers "Start a treatment plan".
FINISHED_AFTER = datetime.timedelta(days=120)


def _finished(
    times: list[tuple[datetime.datetime, bool]], now: datetime.datetime, physician: Any, protocol: Protocol
) -> dict[str, Any]:
    given = [t for t, done in times if done]
    if len(given) < INDUCTION or now - given[-1] < FINISHED_AFTER:
        return {}
    return {
        "status": "stopped",
        "stopped_at": given[-1] + datetime.timedelta(days=protocol.booster_interval_days),
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
    cross-taper), ending a few weeks before the first treatment: the history that makes a patient
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


@dataclass
class _Person:
    """What the sessions of one patient share."""

    sex: str
    born: datetime.date | None
    escort_name: str
    escort_phone: str
    height_cm: Decimal | None = None
    pregnancy_possible: bool = False
    esketamine_mg: Decimal | None = None  # the dose from the second esketamine session on
    concomitant: list[str] = field(default_factory=list)


@dataclass
class _Visit:
    """One attended appointment as the chair recorded it, before its rows are written."""

    session: TreatmentSession
    start: datetime.datetime
    stop: datetime.datetime
    discharged: datetime.datetime
    order: dosing.Dose
    lot_number: str
    vitals: dict[datetime.datetime, Vitals]
    moaas: list[tuple[datetime.datetime, int, int]]  # (rated at, minutes after the dose, MOAA/S)
    cadss: list[tuple[datetime.datetime, int, int]]  # (given at, minutes after the dose, total)
    # (kind, severity, action taken, onset, recorded at)
    events: list[tuple[str, str, str, datetime.datetime, datetime.datetime]]
    acks: list[tuple[str, str, datetime.datetime]]  # alarm, note, acknowledged at
    devices: list[datetime.datetime]
    pre_response: int | None
    post_response: int | None


def _age(born: datetime.date | None, on: datetime.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _quota(rng: random.Random, pool: list[int], wanted: list[tuple[str, int]]) -> dict[int, str]:
    """Each scenario on its number of sessions drawn from `pool`, no session twice."""
    chosen = rng.sample(pool, min(len(pool), sum(k for _, k in wanted)))
    out: dict[int, str] = {}
    at = 0
    for name, k in wanted:
        for index in chosen[at : at + k]:
            out[index] = name
        at += k
    return out


def _at_least_one(share: float, n: int) -> int:
    return max(1, round(share * n)) if n else 0


def _fits(scenario: str, code: ProtocolCode) -> bool:
    """Whether the clinic's protocol leaves room for the scenario: an infusion stopped at 24-36
    minutes is early only if it was to run to at least 40."""
    if scenario not in STOPPED_EARLY:
        return True
    return (rules.get(code).duration_min or 0) >= BP_PEAK_MIN


def _scenarios(rng: random.Random, protocols: list[Protocol]) -> tuple[dict[int, str], set[int], set[int]]:
    """(scenario by visit index, visits with a checklist warning, visits with CADSS skipped)."""
    scenario: dict[int, str] = {}
    warned: set[int] = set()
    skipped: set[int] = set()
    for code, shares in SCENARIOS.items():
        pool = [n for n, p in enumerate(protocols) if p.code is code]
        wanted = [(name, _at_least_one(share, len(pool))) for name, share in shares if _fits(name, code)]
        if code is ProtocolCode.IV_KETAMINE_STANDARD and pool:
            wanted.append(
                ("bp_override", min(OVERRIDES_AT_MOST, max(1, len(pool) // OVERRIDES_PER_SESSIONS)))
            )
        scenario.update(_quota(rng, pool, wanted))
        warned.update(rng.sample(pool, min(len(pool), _at_least_one(CHECKLIST_WARN_SHARE, len(pool)))))
        plain = [n for n in pool if n not in scenario]
        skipped.update(rng.sample(plain, min(len(plain), _at_least_one(CADSS_SKIPPED_SHARE, len(pool)))))
    return scenario, warned, skipped


def _checklist(
    route: str,
    table: tuple[session_checks.ChecklistItem, ...],
    *,
    warn: session_checks.ChecklistItem | None,
    pregnancy_possible: bool,
) -> tuple[dict[str, bool], list[dict[str, str]]]:
    """The pre-dose checklist as answered at check-in and its findings under the clinic's table,
    exactly as session_check_in keeps them: every item answered, nothing that stops the dose."""
    answers: dict[str, bool] = {}
    for item in session_checks.items_for(route, table):
        if item.only_if is not None and answers.get(item.only_if) is not True:
            continue
        concern = item is warn or (
            item.code == "pregnancy_possible"
            and pregnancy_possible
            and item.effect is session_checks.Effect.NONE
        )
        answers[item.code] = item.concern if concern else not item.concern
    missing, findings = session_checks.evaluate(answers, route, table)
    if missing or any(f.effect is session_checks.Effect.STOP for f in findings):
        raise RuntimeError(f"demo checklist would not let the dose start: {missing or findings}")
    return answers, [{"code": f.code, "effect": f.effect.value, "message": f.message} for f in findings]


def _rise(minute: int) -> float:
    """The share of the peak blood-pressure rise at this minute after the dose started."""
    if minute <= 0:
        return 0.0
    if minute <= BP_PEAK_MIN:
        return minute / BP_PEAK_MIN
    return max(0.1, 1 - (minute - BP_PEAK_MIN) / 50)


def _reading(rng: random.Random, base: tuple[int, int, int], peak: tuple[int, int], minute: int) -> Vitals:
    rise = _rise(minute)
    return Vitals(
        base[0] + round(peak[0] * rise) + rng.randint(-4, 4),
        base[1] + round(peak[1] * rise) + rng.randint(-3, 3),
        base[2] + round(6 * rise) + rng.randint(-4, 4),
        rng.randint(96, 99),
        rng.randint(12, 18),
    )


def _minutes(at: datetime.datetime, start: datetime.datetime) -> int:
    return int((at - start).total_seconds() // 60)


# An adverse event: kind, severity, action taken, onset and recording in minutes after the dose.
_Event = tuple[str, str, str, int, int]


@dataclass
class _Timeline:
    """What happened at the chair, in minutes after the dose started (pre-dose vitals at -10)."""

    stop_min: int
    discharge_min: int
    readings: dict[int, Vitals]
    events: list[_Event] = field(default_factory=list)
    acks: list[tuple[str, str, int]] = field(default_factory=list)
    stop_reason: str = ""
    override_reason: str = ""


def _order(
    protocol: Protocol, *, number: int, weight: Decimal, person: _Person, day: datetime.date
) -> dosing.Dose:
    """The order as dose_order calculates it: the prepared dose from the drawn volume (IV), the
    first esketamine dose by the label, then the patient's dose."""
    if protocol.weight_based:
        return dosing.calculate(
            protocol,
            weight_kg=weight,
            height_cm=person.height_cm,
            sex=person.sex,
            weight_basis=protocol.weight_basis,
        )
    return dosing.calculate(
        protocol,
        weight_kg=weight,
        dose_mg=None if number == 1 else person.esketamine_mg,
        first_dose=number == 1,
        age_years=_age(person.born, day),
    )


def _timeline(rng: random.Random, protocol: Protocol, dose: dosing.Dose, scenario: str) -> _Timeline:
    """When the dose stopped and the patient left, and the vitals at the protocol's interval until
    then, with what the scenario adds (and how each alarm it raises was answered)."""
    if dose.devices:
        stop_min = (dose.devices - 1) * ESKETAMINE_DEVICE_INTERVAL_MIN
    elif scenario == "bp_stop":
        stop_min = 36
    elif scenario == "emergence_stop":
        stop_min = rng.choice((24, 27, 30))
    else:
        stop_min = dose.duration_min or 0
    schedule = (*protocol.sedation_at_min, *protocol.cadss_at_min)
    earliest = max(
        protocol.min_monitoring_min,
        max(schedule, default=0),
        stop_min + (protocol.post_infusion_min or 0),
    )
    # After the last rating, which is taken up to 2 minutes late.
    discharge_min = earliest + rng.randint(4, 8)
    interval = protocol.vitals_interval_min
    grid = list(range(interval, discharge_min + 1, interval))
    if not grid or discharge_min - grid[-1] > 10:  # SpO2 within 15 minutes of discharge
        grid.append(discharge_min - 2)
    low, high = selectors.POST_BP_WINDOW_MIN
    if dose.devices and not any(low <= m <= high for m in grid):  # the REMS post-dose BP
        grid.append(BP_PEAK_MIN)
    grid.sort()
    peak = BP_RISE.get(protocol.code, BP_RISE[ProtocolCode.IV_KETAMINE_STANDARD])
    base = (rng.randint(112, 136), rng.randint(70, 86), rng.randint(62, 86))
    timeline = _Timeline(
        stop_min=stop_min,
        discharge_min=discharge_min,
        readings={m: _reading(rng, base, peak, m) for m in (PRE_DOSE_VITALS_MIN, *grid)},
    )
    early = [m for m in grid if 15 <= m <= BP_PEAK_MIN] or grid[:1]
    if scenario == "spo2_event":
        _spo2_event(rng, timeline, rng.choice(early))
    elif scenario == "spo2_ack":
        _spo2_acknowledged(rng, timeline, rng.choice(early))
    elif scenario == "bp_stop":
        _bp_stop(rng, timeline, base, grid)
    elif scenario == "emergence_stop":
        timeline.stop_reason = "Distressing dissociation: stopped at the patient's request"
        timeline.events.append(
            (
                "emergence_reaction",
                "moderate",
                f"Infusion stopped at {stop_min} minutes at the patient's request; reassurance, lights "
                "dimmed; settled within 15 minutes",
                stop_min - 3,
                stop_min + 1,
            )
        )
    elif scenario == "bp_override":
        _bp_still_raised(rng, timeline, grid)
    return timeline


def _spo2_event(rng: random.Random, timeline: _Timeline, m: int) -> None:
    """SpO2 90-91% with slow breathing: respiratory depression, treated."""
    timeline.readings[m] = replace(
        timeline.readings[m], spo2=rng.choice((90, 91)), resp_rate=rng.randint(9, 11)
    )
    timeline.events.append(
        (
            "respiratory_depression",
            "mild",
            "Stimulated and asked to breathe deeply; oxygen 2 L/min by nasal cannula for 10 minutes; "
            "SpO2 back to 96% or more",
            m,
            m + 3,
        )
    )


def _spo2_acknowledged(rng: random.Random, timeline: _Timeline, m: int) -> None:
    """SpO2 90-91% from a probe slipping off: repeated at once (97%) and acknowledged."""
    reading = timeline.readings[m]
    timeline.readings[m] = replace(reading, spo2=rng.choice((90, 91)))
    timeline.readings[m + 2] = Vitals(None, None, (reading.heart_rate or 75) + rng.randint(-2, 2), 97, None)
    timeline.acks.append(("spo2_low", SPO2_ACK_NOTE, m + 3))


def _bp_stop(rng: random.Random, timeline: _Timeline, base: tuple[int, int, int], grid: list[int]) -> None:
    """180/110 or more on readings 5 minutes apart (the sustained alarm, reference section 5): the
    infusion stops and the blood pressure settles without treatment."""
    readings = timeline.readings
    readings[20] = Vitals(base[0] + 36, base[1] + 16, base[2] + 8, rng.randint(96, 99), rng.randint(14, 18))
    readings[30] = Vitals(rng.randint(181, 186), rng.randint(104, 110), base[2] + 10, 97, 16)
    readings[35] = Vitals(rng.randint(182, 188), rng.randint(108, 114), base[2] + 10, 97, 16)
    for m in grid:
        if m > timeline.stop_min:
            settle = max(0.1, 1 - (m - BP_PEAK_MIN) / 50)
            readings[m] = replace(
                readings[m],
                systolic=base[0] + round(34 * settle) + rng.randint(-2, 2),
                diastolic=base[1] + round(18 * settle) + rng.randint(-2, 2),
            )
    high = readings[35]
    timeline.stop_reason = (
        f"Blood pressure {high.systolic}/{high.diastolic} mmHg sustained over 5 minutes: "
        "infusion stopped (protocol)"
    )
    timeline.events.append(
        (
            "hypertension",
            "moderate",
            f"Infusion stopped at {timeline.stop_min} minutes; observed, blood pressure every 10 minutes, "
            "settled without treatment",
            30,
            timeline.stop_min + 1,
        )
    )


def _bp_still_raised(rng: random.Random, timeline: _Timeline, grid: list[int]) -> None:
    """The blood pressure still more than 10 mmHg diastolic over the pre-dose reading and over
    the gate at discharge, never at an alarm level: a physician discharges past the criterion."""
    base = (rng.randint(124, 130), rng.randint(80, 83))
    top, final, last = (base[0] + 28, base[1] + 18), (base[0] + 18, base[1] + 13), grid[-1]
    readings = timeline.readings
    readings[PRE_DOSE_VITALS_MIN] = replace(
        readings[PRE_DOSE_VITALS_MIN], systolic=base[0], diastolic=base[1]
    )
    for m in grid:
        if m <= BP_PEAK_MIN:
            bp = (base[0] + round(28 * m / BP_PEAK_MIN), base[1] + round(18 * m / BP_PEAK_MIN))
        else:
            share = (m - BP_PEAK_MIN) / max(1, last - BP_PEAK_MIN)
            bp = (round(top[0] + (final[0] - top[0]) * share), round(top[1] + (final[1] - top[1]) * share))
        readings[m] = replace(readings[m], systolic=bp[0], diastolic=bp[1])
    timeline.override_reason = (
        f"BP {final[0]}/{final[1]} at {last} min, settling from {top[0]}/{top[1]} at {BP_PEAK_MIN} min; "
        "no headache, chest pain or visual change. Physician reviewed: home with escort, BP to be "
        "rechecked by the GP within 48 hours."
    )[:300]


def _ratings(
    rng: random.Random, protocol: Protocol, scenario: str, *, esketamine: bool, skip_cadss: bool
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[_Event]]:
    """(MOAA/S as (minute, score), CADSS as (minute, total), events) at the protocol's times, each
    taken up to 2 minutes late; the latest MOAA/S is 5, as discharge needs; the last CADSS left out
    when it is skipped."""
    sedation_at = sorted(protocol.sedation_at_min)
    scores = [rng.choice((4, 5, 5) if esketamine else (4, 5, 5, 5)) for _ in sedation_at]
    if scores:
        scores[-1] = 5
    events: list[_Event] = []
    if scenario == "sedation" and len(scores) >= 2:
        k = rng.randrange(len(scores) - 1)
        scores[k] = 3
        for j in range(k + 1, len(scores) - 1):
            scores[j] = 4
        events.append(
            (
                "oversedation",
                "mild",
                "Verbal stimulation; airway, breathing and SpO2 watched at the chair; MOAA/S 5 at "
                f"{sedation_at[-1]} minutes",
                sedation_at[k],
                sedation_at[k] + 2,
            )
        )
    moaas = [(m + rng.randint(0, 2), score) for m, score in zip(sedation_at, scores, strict=True)]
    cadss = []
    cadss_at = sorted(protocol.cadss_at_min)
    for n, m in enumerate(cadss_at):
        if skip_cadss and n == len(cadss_at) - 1:
            continue
        if n > 0:
            total = rng.randint(0, 3)  # dissociation resolves by about 1.5 hours (CADSS, reference §1)
        elif scenario == "emergence_stop":
            total = rng.randint(24, 36)
        else:
            total = rng.randint(2, 16 if esketamine else 20)
        cadss.append((m + rng.randint(0, 2), total))
    return moaas, cadss, events


def _visit(
    a: Appointment,
    *,
    rng: random.Random,
    protocol: Protocol,
    number: int,
    weight: Decimal,
    person: _Person,
    scenario: str,
    warn: session_checks.ChecklistItem | None,
    skip_cadss: bool,
    table: tuple[session_checks.ChecklistItem, ...],
    pre_response: int | None,
    post_response: int | None,
    physician: Any,
    nurse: Any,
) -> _Visit:
    """One attended appointment as the session page would have recorded it."""
    check_in = a.starts_at
    start = check_in + DOSE_AFTER_CHECK_IN

    def at(minute: int) -> datetime.datetime:
        return start + datetime.timedelta(minutes=minute)

    route = protocol.route.value
    if warn is not None and warn.code in STARTED_MEDICINE:
        if STARTED_MEDICINE[warn.code] not in person.concomitant:
            person.concomitant.append(STARTED_MEDICINE[warn.code])
    answers, findings = _checklist(route, table, warn=warn, pregnancy_possible=person.pregnancy_possible)
    dose = _order(
        protocol, number=number, weight=weight, person=person, day=timezone.localtime(check_in).date()
    )
    timeline = _timeline(rng, protocol, dose, scenario)
    moaas, cadss, rating_events = _ratings(
        rng, protocol, scenario, esketamine=bool(dose.devices), skip_cadss=skip_cadss
    )
    events = timeline.events + rating_events
    if not scenario:
        roll = rng.random()
        if roll < 0.08:
            events.append(("nausea", "mild", "Ondansetron 4 mg IV", 30, 30))
        elif roll < 0.11:
            events.append(("emergence_reaction", "mild", "Reassurance, lights dimmed", 25, 25))
    devices = [at(n * ESKETAMINE_DEVICE_INTERVAL_MIN) for n in range(dose.devices or 0)]
    # What was given, as _finish records it: the prepared dose; 28 mg a device; for an infusion
    # stopped early the share the pump infused (to the precision the record keeps), the rest waste.
    given: dict[str, Any] = {
        "given_dose_mg": dose.prepared_dose_mg,
        "infused_volume_ml": dose.infused_volume_ml,
    }
    if devices:
        given = {"given_dose_mg": ESKETAMINE_DEVICE_MG * len(devices), "infused_volume_ml": None}
    elif timeline.stop_reason and dose.rate_ml_per_h and dose.infused_volume_ml:
        total = dose.infused_volume_ml
        infused = min(total, (dose.rate_ml_per_h * timeline.stop_min / 60).quantize(Decimal("0.1")))
        amount = (dose.prepared_dose_mg * infused / total).quantize(GIVEN_MG_STEP)
        given = {
            "given_dose_mg": amount,
            "infused_volume_ml": infused,
            "waste_mg": dose.prepared_dose_mg - amount if amount < dose.prepared_dose_mg else None,
        }
    skipped = []
    if skip_cadss and protocol.cadss_at_min:
        last = max(protocol.cadss_at_min)
        skipped.append(
            {
                "what": "CADSS",
                "minutes": last,
                "reason": CADSS_SKIP_REASON,
                "by": nurse.pk,
                "at": at(last).isoformat(),
            }
        )
    discharged = at(timeline.discharge_min)
    session = TreatmentSession(
        patient_id=a.patient_id,
        plan_id=a.plan_id,
        appointment_id=a.pk,
        protocol=protocol.code.value,
        route=route,
        number=number,
        checked_in_at=check_in,
        checked_in_by_id=nurse.pk,
        weight_kg=weight,
        height_cm=person.height_cm,
        concomitant=list(person.concomitant),
        fasting_confirmed=bool(answers.get("fasting")),
        checklist=answers,
        checklist_findings=findings,
        escort_name=person.escort_name,
        escort_phone=person.escort_phone,
        dose_started_at=start,
        dose_stopped_at=at(timeline.stop_min),
        stop_reason=timeline.stop_reason,
        skipped_ratings=skipped,
        discharge_criteria={code: True for code, _ in DISCHARGE_CRITERIA},
        discharge_override_by_id=physician.pk if timeline.override_reason else None,
        discharge_override_reason=timeline.override_reason,
        discharged_at=discharged,
        discharged_by_id=nurse.pk,
        nurse_signed_by_id=nurse.pk,
        nurse_signed_at=discharged + datetime.timedelta(minutes=6),
        physician_signed_by_id=physician.pk,
        physician_signed_at=discharged + datetime.timedelta(minutes=11),
        locked_at=discharged + datetime.timedelta(minutes=11),
        **given,
    )
    return _Visit(
        session=session,
        start=start,
        stop=at(timeline.stop_min),
        discharged=discharged,
        order=dose,
        lot_number=demo_lot(start, weight_based=protocol.weight_based, draw=rng.randint(10000, 99999)),
        vitals={at(m): v for m, v in sorted(timeline.readings.items())},
        moaas=[(at(m), m, score) for m, score in moaas],
        cadss=[(at(m), m, total) for m, total in cadss],
        events=[
            (kind, severity, action, at(onset), at(recorded))
            for kind, severity, action, onset, recorded in events
        ],
        acks=[(alarm, note, at(m)) for alarm, note, m in timeline.acks],
        devices=devices,
        pre_response=pre_response,
        post_response=post_response,
    )


def _people(
    treated: list[int],
    measurements: dict[int, tuple[Decimal, Decimal | None]],
    first: dict[int, datetime.datetime],
    rng: random.Random,
) -> dict[int, _Person]:
    """Sex, age, escort (the emergency contact) and whether a pregnancy is possible."""
    people = {}
    rows = Patient.objects.filter(pk__in=treated).values_list(
        "id", "sex", "date_of_birth", "emergency_contact_name", "emergency_contact_phone"
    )
    for pid, sex, born, name, phone in sorted(rows):
        age = _age(born, timezone.localtime(first[pid]).date())
        people[pid] = _Person(
            sex=sex,
            born=born,
            escort_name=(name or "Family member")[:100],
            escort_phone=(phone or "(555) 555-0100")[:40],
            height_cm=measurements[pid][1],
            pregnancy_possible=sex == "female"
            and age is not None
            and age < PREGNANCY_POSSIBLE_UNDER_AGE
            and rng.random() < 0.4,
        )
    return people


def _esketamine_patients(
    treated: list[int],
    people: dict[int, _Person],
    first: dict[int, datetime.datetime],
    rng: random.Random,
    protocol: Protocol,
) -> set[int]:
    """Some adults, outside the postpartum group, treated with esketamine instead of IV ketamine;
    each with the dose they settle on after the first (56 or 84 mg)."""
    if not protocol.enabled:
        return set()
    postpartum = set(
        Diagnosis.objects.filter(patient_id__in=treated, is_primary=True, code=POSTPARTUM).values_list(
            "patient_id", flat=True
        )
    )
    adults = [
        pid
        for pid in treated
        if pid not in postpartum
        and (_age(people[pid].born, timezone.localtime(first[pid]).date()) or 0) >= ESKETAMINE_MIN_AGE_YEARS
    ]
    chosen = rng.sample(adults, min(len(adults), _at_least_one(ESKETAMINE_SHARE, len(treated))))
    for pid in chosen:
        people[pid].esketamine_mg = rng.choice(protocol.fixed_doses_mg)
    return set(chosen)


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
    measurements: dict[int, tuple[Decimal, Decimal | None]] = {}
    for pid, weight, height in (
        BodyMeasurement.objects.filter(patient_id__in=list(pre), weight_kg__isnull=False)
        .order_by("patient_id", "measured_at")
        .values_list("patient_id", "weight_kg", "height_cm")
    ):
        if weight is not None:
            measurements[pid] = (weight, height)  # the latest
    treated = [pid for pid in patient_ids if pre.get(pid) and pid in measurements]
    if not treated:
        return 0, 0
    iv = rules.get(ProtocolCode.IV_KETAMINE_STANDARD)
    esk = rules.get(ProtocolCode.ESKETAMINE_NASAL)
    first = {pid: pre[pid][0][0] - datetime.timedelta(minutes=5) for pid in treated}
    people = _people(treated, measurements, first, rng)
    esketamine = _esketamine_patients(treated, people, first, rng, esk)
    protocol_of = {pid: esk if pid in esketamine else iv for pid in treated}
    # Each treated patient's treatment times: the given ones (from the ratings) and the rest.
    times: dict[int, list[tuple[datetime.datetime, bool]]] = {}
    for pid in treated:
        given = [at - datetime.timedelta(minutes=5) for at, _ in pre[pid][:INDUCTION]]
        start = timezone.localtime(given[0])
        planned = [
            timezone.make_aware(
                datetime.datetime.combine(
                    start.date() + datetime.timedelta(days=d), datetime.time(start.hour, 0)
                )
            )
            for d in INFUSION_DAYS[len(given) :]
        ]
        times[pid] = [(t, True) for t in given] + [(t, False) for t in planned if t > now]
        if len(given) == INDUCTION:  # the course is done: the first booster, if still to come
            day = timezone.localtime(given[-1]).date() + datetime.timedelta(
                days=protocol_of[pid].booster_interval_days
            )
            while day.weekday() >= 5:  # boosters on weekdays
                day += datetime.timedelta(days=1)
            booster = timezone.make_aware(datetime.datetime.combine(day, datetime.time(start.hour, 0)))
            if booster > now:
                times[pid].append((booster, False))

    def slot(pid: int) -> datetime.timedelta:
        return datetime.timedelta(minutes=protocol_of[pid].appointment_min)

    chairs = _chairs_for([(pid, t, slot(pid)) for pid, ts in times.items() for t, _ in ts])

    # The checklist as asked (the age rules come from the date of birth, not a question).
    contraindications = {r.code: False for r in checklist(screening_rules.current().contraindications)}
    born = dict(Patient.objects.filter(pk__in=treated).values_list("pk", "date_of_birth"))
    consultations = Consultation.objects.bulk_create(
        [
            Consultation(
                patient_id=pid,
                held_on=(times[pid][0][0] - datetime.timedelta(days=rng.randint(12, 20))).date(),
                clinician=physician,
                episode_duration_months=rng.randint(8, 60),
                severity=rng.choice(("moderate", "severe_without_psychosis")),
                augmentation_used=rng.random() < 0.3,
                checklist=contraindications,
                checklist_by=physician,
                checklist_at=times[pid][0][0] - datetime.timedelta(days=12),
            )
            for pid in treated
        ]
    )
    AntidepressantTrial.objects.bulk_create(_trials(treated, times, rng, physician))
    # What the physician saw when signing, as the real signing stores it (the letter reads it).
    snapshots = {
        c.pk: screening_selectors.decision_snapshot(c, staging)
        for c in consultations
        if (staging := screening_selectors.consultation_staging(c)) is not None
    }
    signed = [
        CandidacyDecision(
            patient_id=c.patient_id,
            consultation=c,
            # 65 and over is a relative contraindication (falls; esketamine dose note): the
            # decision carries its precautions, as a physician's would.
            decision="eligible_with_precautions"
            if "age_65_or_over" in age_conditions(born=born[c.patient_id], on=c.held_on)
            else "eligible",
            precautions="Age 65 or over: falls risk, walk with the escort; closer BP monitoring."
            if "age_65_or_over" in age_conditions(born=born[c.patient_id], on=c.held_on)
            else "",
            routes=[protocol_of[c.patient_id].candidacy_route.value],
            reasons="Synthetic demo patient: treatment-resistant, no contraindication.",
            plan="Esketamine nasal spray induction; REMS enrolment before the first dose."
            if c.patient_id in esketamine
            else "IV ketamine induction, six infusions.",
            snapshot=snapshots[c.pk],
            signed_by=physician,
            signed_at=timezone.make_aware(datetime.datetime.combine(c.held_on, datetime.time(12, 0))),
        )
        for c in consultations
    ]
    for d in signed:
        d.signature = decision_signature(d)
    decisions = CandidacyDecision.objects.bulk_create(signed)

    def plan(d: CandidacyDecision) -> TreatmentPlan:
        p = protocol_of[d.patient_id]
        return TreatmentPlan(
            patient_id=d.patient_id,
            decision=d,
            protocol=p.code.value,
            route=p.route.value,
            dose_mg_per_kg=p.dose_mg_per_kg if p.weight_based else None,
            dose_mg=None if p.weight_based else p.fixed_doses_mg[0],
            weight_basis=p.weight_basis.value if p.weight_based else "",
            induction_sessions=INDUCTION,
            booster_interval_days=p.booster_interval_days,
            phase="maintenance" if len(pre[d.patient_id]) >= INDUCTION else "induction",
            started_on=timezone.localtime(times[d.patient_id][0][0]).date(),
            created_by=physician,
            **_finished(times[d.patient_id], now, physician, p),
        )

    plans = TreatmentPlan.objects.bulk_create([plan(d) for d in decisions])
    plan_of = {p.patient_id: p for p in plans}
    signatures = _consents(decisions, protocol_of, nurse, before=min(d.signed_at for d in decisions))
    # The REMS patient enrolment, a few days after the decision and before the first dose.
    RemsEnrolment.objects.bulk_create(
        [
            RemsEnrolment(
                patient_id=c.patient_id,
                enrolled_on=(day := c.held_on + datetime.timedelta(days=rng.randint(1, 5))),
                reference=f"REMS-{rng.randrange(10**7, 10**8)}",
                recorded_by=nurse,
                recorded_at=timezone.make_aware(datetime.datetime.combine(day, datetime.time(11, 30))),
            )
            for c in consultations
            if c.patient_id in esketamine
        ]
    )
    appointments = Appointment.objects.bulk_create(
        [
            Appointment(
                patient_id=pid,
                plan=plan_of[pid],
                chair=chairs[(pid, t)],
                clinician=nurse,
                kind="induction" if n < INDUCTION else "booster",
                starts_at=t,
                ends_at=t + slot(pid),
                status="attended" if given else "booked",
                created_by=physician,
            )
            for pid in treated
            for n, (t, given) in enumerate(times[pid])
        ]
    )
    attended = [a for a in appointments if a.status == "attended"]
    protocols = [protocol_of[a.patient_id] for a in attended]
    scenario, warned, skipped = _scenarios(rng, protocols)
    table = checklist_table.current()
    # The warnings in turn, a benzodiazepine started first, so that each kind shows.
    warnings = {
        p.route.value: sorted(
            (
                item
                for item in session_checks.items_for(p.route.value, table)
                if item.effect is session_checks.Effect.WARN
            ),
            key=lambda item: item.code != "new_benzodiazepine",
        )
        for p in (iv, esk)
    }
    warned_so_far: dict[str, int] = defaultdict(int)
    visits = []
    for n, a in enumerate(attended):
        pid, protocol = a.patient_id, protocols[n]
        number = sum(1 for t, g in times[pid] if g and t <= a.starts_at)
        options = warnings[protocol.route.value]
        warn = None
        if n in warned and options:
            warn = options[warned_so_far[protocol.route.value] % len(options)]
            warned_so_far[protocol.route.value] += 1
        visits.append(
            _visit(
                a,
                rng=rng,
                protocol=protocol,
                number=number,
                weight=measurements[pid][0],
                person=people[pid],
                scenario=scenario.get(n, ""),
                warn=warn,
                skip_cadss=n in skipped,
                table=table,
                pre_response=pre[pid][number - 1][1] if number - 1 < len(pre[pid]) else None,
                post_response=post[pid][number - 1][1] if number - 1 < len(post[pid]) else None,
                physician=physician,
                nurse=nurse,
            )
        )
    sessions = _insert_sessions([v.session for v in visits])
    _write_rows(visits, rng, now, physician, nurse)
    _sign([s.pk for s in sessions])
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
        ]
        + [
            EventSpec(
                Action.CREATE,
                "patients.consentsignature",
                str(s.pk),
                s.patient_id,
                {"source": "seed-demo", "kind": s.document.kind, "method": s.method},
            )
            for s in signatures
        ],
    )
    return len(plans), len(sessions)


def _consents(
    decisions: list[CandidacyDecision],
    protocol_of: dict[int, Protocol],
    nurse: Any,
    before: datetime.datetime,
) -> list[ConsentSignature]:
    """Each course's patient signed the current consent for its route a day or two after the
    decision, before the first treatment (as plan_start requires): most in the portal, one in
    three on paper with the nurse as witness. A route's consent with no version yet is KetaCare's
    default text, stored as version 1 published before the history begins."""
    documents: dict[str, ConsentDocument] = {}
    for kind in consent.KINDS:
        current = ConsentDocument.objects.filter(kind=kind.code).order_by("-version").first()
        if current is None:
            body = kind.default_body()
            current = ConsentDocument.objects.create(
                kind=kind.code,
                version=1,
                title=kind.title,
                body=body,
                digest=consent.digest(kind.title, body),
                published_at=before - datetime.timedelta(days=30),
            )
        documents[kind.code] = current
    names = {
        pk: f"{given} {family}"
        for pk, given, family in Patient.objects.filter(pk__in=[d.patient_id for d in decisions]).values_list(
            "pk", "given_name", "family_name"
        )
    }
    rows = []
    for d in decisions:
        document = documents[protocol_of[d.patient_id].candidacy_route.value]
        paper = d.patient_id % 3 == 0  # no draw from the demo's random numbers: the rest stays as it was
        rows.append(
            ConsentSignature(
                patient_id=d.patient_id,
                document=document,
                typed_name=names[d.patient_id],
                signed_at=max(
                    d.signed_at + datetime.timedelta(hours=20 + d.patient_id % 30), document.published_at
                ),
                method=ConsentSignature.Method.PAPER if paper else ConsentSignature.Method.PORTAL,
                witness=nurse if paper else None,
                # After the decision it follows, which it names: only such a signature counts.
                decision_signed_at=d.signed_at,
            )
        )
    return ConsentSignature.objects.bulk_create(rows)


def _insert_sessions(sessions: list[TreatmentSession]) -> list[TreatmentSession]:
    """Insert the sessions with every column as bulk_create would (each field's pre_save, so
    defaults included), at a fraction of its cost for some fifty columns; then give each its
    primary key, found by its appointment (a session per appointment)."""
    fields = [f for f in TreatmentSession._meta.concrete_fields if not f.primary_key]
    bulk_insert(
        TreatmentSession,
        [f.name for f in fields],
        [tuple(f.pre_save(s, True) for f in fields) for s in sessions],
    )
    by_appointment = {s.appointment_id: s for s in sessions}
    appointments = [pk for pk in by_appointment if pk is not None]
    for chunk in range(0, len(appointments), 5000):  # within SQLite's limit on query parameters
        made = TreatmentSession.objects.filter(appointment_id__in=appointments[chunk : chunk + 5000])
        for appointment_id, pk in made.values_list("appointment_id", "pk"):
            by_appointment[appointment_id].pk = pk
    return sessions


ORDER_COLUMNS = (
    "session",
    "patient",
    "ordered_by",
    "ordered_at",
    "weight_basis",
    "basis_weight_kg",
    "dose_mg_per_kg",
    "dose_mg",
    "prepared_dose_mg",
    "final_concentration_mg_per_ml",
    "injection_sites",
    "duration_reason",
    "notes",
    "capped",
    "concentration_mg_per_ml",
    "draw_volume_ml",
    "bag_ml",
    "infused_volume_ml",
    "duration_min",
    "rate_ml_per_h",
    "devices",
    "lot_number",
    "warnings",
    "needs_verification",
)
VITALS_COLUMNS = (
    "session",
    "patient",
    "taken_at",
    "phase",
    "minutes_after_dose",
    "systolic",
    "diastolic",
    "heart_rate",
    "spo2",
    "resp_rate",
    "highlights",
    "alarms",
    "entered_by",
)
EVENT_COLUMNS = (
    "session",
    "patient",
    "kind",
    "description",
    "severity",
    "serious",
    "action_taken",
    "onset_at",
    "recorded_by",
    "recorded_at",
)


@functools.cache
def _cadss_slots() -> tuple[int, ...]:
    """Each CADSS item once per score unit it can hold (options are scored 0-4 by position)."""
    return tuple(i for i, item in enumerate(instruments.get("cadss").items) for _ in range(item.max_position))


def _cadss_answers(rng: random.Random, total: int) -> list[int]:
    """CADSS item answers (positions) adding up to `total`."""
    slots = _cadss_slots()
    answers = [0] * len(instruments.get("cadss").items)
    for i in rng.sample(slots, min(total, len(slots))):
        answers[i] += 1
    return answers


def _write_rows(
    visits: list[_Visit], rng: random.Random, now: datetime.datetime, physician: Any, nurse: Any
) -> None:
    """The rows under each session, in bulk: the order, vitals with their alarms, ratings, CADSS
    responses and the scale links, adverse events, acknowledgements, devices, REMS forms."""
    orders, vitals, sedation, events, acks, devices, responses = [], [], [], [], [], [], []
    rems = []
    cadss = instruments.get("cadss")
    for v in visits:
        s, d = v.session, v.order
        orders.append(
            (
                s.pk,
                s.patient_id,
                physician.pk,
                s.checked_in_at + ORDER_AFTER_CHECK_IN,
                d.weight_basis or "",
                d.basis_weight_kg,
                d.dose_mg_per_kg,
                d.dose_mg,
                d.prepared_dose_mg,
                d.final_concentration_mg_per_ml,
                d.injection_sites,
                (d.duration_reason or "")[:300],
                list(d.notes),
                d.capped,
                d.concentration_mg_per_ml,
                d.draw_volume_ml,
                d.bag_ml,
                d.infused_volume_ml,
                d.duration_min,
                d.rate_ml_per_h,
                d.devices,
                v.lot_number,
                list(d.warnings),
                d.needs_verification,
            )
        )
        start, stop = v.start, v.stop
        series = sorted(v.vitals.items())
        raised: dict[datetime.datetime, list[str]] = defaultdict(list)
        for when, code in alarms(series):  # as _vitals_row raises them, reading by reading
            raised[when].append(code.value)
        for when, r in series:
            phase = "pre" if when < start else "during" if when <= stop else "after"
            vitals.append(
                (
                    s.pk,
                    s.patient_id,
                    when,
                    phase,
                    None if phase == "pre" else _minutes(when, start),
                    r.systolic,
                    r.diastolic,
                    r.heart_rate,
                    r.spo2,
                    r.resp_rate,
                    highlights(r),
                    raised.get(when, []),
                    nurse.pk,
                )
            )
        for when, minutes, score in v.moaas:
            alarm = sedation_alarm(score)
            sedation.append(
                (s.pk, s.patient_id, when, minutes, score, alarm.value if alarm else "", nurse.pk)
            )
        for when, minutes, total in v.cadss:
            answers = _cadss_answers(rng, total)
            result = cadss.score(answers)
            responses.append(
                (
                    s.patient_id,
                    "cadss",
                    answers,
                    list(result.item_scores),
                    result.total,
                    result.band or "",
                    list(result.flags),
                    result.complete,
                    result.prorated,
                    Context.POST_SESSION,
                    minutes,
                    when,
                    Source.STAFF if now - when < LIVE_WINDOW else Source.IMPORT,
                    when,
                )
            )
        events += [
            (s.pk, s.patient_id, kind, "", severity, False, action, onset, nurse.pk, recorded)
            for kind, severity, action, onset, recorded in v.events
        ]
        acks += [(s.pk, s.patient_id, alarm, note, nurse.pk, when) for alarm, note, when in v.acks]
        devices += [(s.pk, s.patient_id, n, when, nurse.pk) for n, when in enumerate(v.devices, start=1)]
        if s.is_esketamine:
            rems.append(_rems_record(v, rng, now, physician, nurse))
    bulk_insert(DoseOrder, ORDER_COLUMNS, orders)
    bulk_insert(VitalSign, VITALS_COLUMNS, vitals)
    bulk_insert(
        SedationRating,
        ("session", "patient", "rated_at", "minutes_after_dose", "moaas", "alarm", "entered_by"),
        sedation,
    )
    bulk_insert(AdverseEvent, EVENT_COLUMNS, events)
    bulk_insert(
        AlarmAcknowledgement,
        ("session", "patient", "alarm", "note", "acknowledged_by", "acknowledged_at"),
        acks,
    )
    bulk_insert(DeviceDose, ("session", "patient", "number", "given_at", "entered_by"), devices)
    RemsRecord.objects.bulk_create(rems)
    bulk_insert(QuestionnaireResponse, RESPONSE_BULK_COLUMNS, responses)
    made = {
        (pid, at): rid
        for rid, pid, at in QuestionnaireResponse.objects.filter(
            patient_id__in={v.session.patient_id for v in visits}, instrument="cadss"
        ).values_list("id", "patient_id", "administered_at")
    }
    links = []
    for v in visits:
        s = v.session
        if v.pre_response is not None:
            links.append((s.pk, v.pre_response, "pre"))
        if v.post_response is not None:
            links.append((s.pk, v.post_response, "post"))
        links += [(s.pk, made[(s.patient_id, when)], "dissociation") for when, _, _ in v.cadss]
    bulk_insert(SessionScale, ("session", "response", "purpose"), links)


def _rems_record(
    v: _Visit, rng: random.Random, now: datetime.datetime, physician: Any, nurse: Any
) -> RemsRecord:
    """The REMS patient monitoring form: submitted within a few days, naming the nurse who
    monitored and the prescriber on site; some of the last twelve days' still to do."""
    s, start, discharged = v.session, v.start, v.discharged
    record = RemsRecord(
        session=s,
        patient_id=s.patient_id,
        due_on=timezone.localtime(s.checked_in_at).date() + datetime.timedelta(days=REMS_FORM_DUE_DAYS),
        ready_to_leave_at=start + datetime.timedelta(minutes=rng.randint(60, 100)),
    )
    submitted = discharged + datetime.timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 4))
    if submitted > now or (now - s.checked_in_at < REMS_OPEN_WITHIN and rng.random() < 0.5):
        return record
    record.monitoring_setting = "Clinic treatment room"
    record.monitored_by, record.prescriber_on_site = nurse, physician
    record.submitted_at, record.submitted_by = submitted, nurse
    record.confirmation = f"PMF-{rng.randrange(10**6, 10**7)}"
    return record


def _sign(session_ids: list[int]) -> None:
    """Check each session as the session page would (every alarm answered, the post-dose blood
    pressure for esketamine, the computed discharge criteria met at the time of discharge, or
    past a physician's override), store the criteria as discharge does, and sign the record as
    stored, exactly as session_sign does."""
    rows = []
    column = TreatmentSession._meta.get_field("discharge_assessment")
    for chunk in range(0, len(session_ids), 500):
        for page in selectors.flowsheets(session_ids=session_ids[chunk : chunk + 500]):
            s = page.session
            criteria = selectors.discharge_assessment(page, now=s.discharged_at)
            failed = {c.code for c in criteria if not c.met}
            expected = {"vitals_near_baseline"} if s.discharge_override_by_id else set()
            if page.unanswered_codes or failed != expected or (s.is_esketamine and not page.post_dose_bp):
                raise RuntimeError(
                    f"demo session {s.pk} breaks the chair-side rules: unanswered "
                    f"{page.unanswered_codes}, failed {sorted(failed)} (expected {sorted(expected)})"
                )
            s.discharge_assessment = [
                {"code": c.code, "label": c.label, "met": c.met, "detail": c.detail} for c in criteria
            ]
            s.signature = signature_of(selectors.snapshot_of(page))
            rows.append((column.get_db_prep_save(s.discharge_assessment, connection), s.signature, s.pk))
    quote = connection.ops.quote_name
    # Table and column names come from the model's metadata; values are parameters.
    sql = "UPDATE {} SET {} = %s, {} = %s WHERE {} = %s".format(  # noqa: S608
        quote(TreatmentSession._meta.db_table),
        quote("discharge_assessment"),
        quote("signature"),
        quote(str(TreatmentSession._meta.pk.column)),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)

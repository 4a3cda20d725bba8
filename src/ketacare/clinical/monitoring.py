"""Session monitoring: which vital signs are out of range, the in-session alarms, sedation,
adverse events and the discharge criteria."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ketacare.clinical.protocols import (
    BP_ALARM_CONFIRM_MIN,
    BP_ALARM_DIASTOLIC,
    BP_ALARM_SYSTOLIC,
    BP_CRITICAL_DIASTOLIC,
    BP_CRITICAL_SYSTOLIC,
    BP_GATE_DIASTOLIC,
    BP_GATE_SYSTOLIC,
    DISCHARGE_SPO2_ABOVE,
    HEART_RATE_ALARM,
    HEART_RATE_ALARM_MIN,
)

# Normal (score 0) ranges of the National Early Warning Score 2 (Royal College of Physicians,
# 2017): respiratory rate 12-20/min, SpO2 (scale 1) >= 96%, systolic 111-219 mmHg, pulse
# 51-90/min. A reading outside them is highlighted on the flowsheet; it is not an alarm.
NEWS2_RESP_RATE = (12, 20)
NEWS2_SPO2_MIN = 96
NEWS2_SYSTOLIC = (111, 219)
NEWS2_PULSE = (51, 90)

# Plausible entry ranges (typing errors, not clinical limits).
ENTRY_RANGES = {
    "systolic": (50, 300),
    "diastolic": (20, 200),
    "heart_rate": (20, 250),
    "spo2": (50, 100),
    "resp_rate": (4, 60),
}


@dataclass(frozen=True, slots=True)
class Vitals:
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    resp_rate: int | None = None


def entry_problems(v: Vitals) -> dict[str, str]:
    """Values that cannot be right (out of the plausible range, diastolic above systolic)."""
    problems: dict[str, str] = {}
    for name, (low, high) in ENTRY_RANGES.items():
        value = getattr(v, name)
        if value is not None and not low <= value <= high:
            problems[name] = f"{value} is outside the plausible range {low}-{high}."
    if (v.systolic is None) != (v.diastolic is None):
        problems["diastolic" if v.diastolic is None else "systolic"] = "Give systolic and diastolic together."
    elif v.systolic is not None and v.diastolic is not None and v.diastolic >= v.systolic:
        problems["diastolic"] = "Diastolic must be below systolic."
    if all(getattr(v, n) is None for n in ENTRY_RANGES):
        problems["systolic"] = "Enter at least one vital sign."
    return problems


def highlights(v: Vitals) -> list[str]:
    """The fields of a reading to highlight: outside the NEWS2 normal range or over the BP gate."""
    out = []
    if v.systolic is not None and (
        v.systolic > BP_GATE_SYSTOLIC or not NEWS2_SYSTOLIC[0] <= v.systolic <= NEWS2_SYSTOLIC[1]
    ):
        out.append("systolic")
    if v.diastolic is not None and v.diastolic > BP_GATE_DIASTOLIC:
        out.append("diastolic")
    if v.heart_rate is not None and not NEWS2_PULSE[0] <= v.heart_rate <= NEWS2_PULSE[1]:
        out.append("heart_rate")
    if v.spo2 is not None and v.spo2 < NEWS2_SPO2_MIN:
        out.append("spo2")
    if v.resp_rate is not None and not NEWS2_RESP_RATE[0] <= v.resp_rate <= NEWS2_RESP_RATE[1]:
        out.append("resp_rate")
    return out


def over_bp_gate(
    v: Vitals, *, systolic_max: int = BP_GATE_SYSTOLIC, diastolic_max: int = BP_GATE_DIASTOLIC
) -> bool:
    """Above the pre-dose gate (default 140/90 mmHg): either number over its limit."""
    return (v.systolic or 0) > systolic_max or (v.diastolic or 0) > diastolic_max


# Single parameters that score 3 on NEWS2 and call for an urgent response (Royal College of
# Physicians, National Early Warning Score 2, 2017; clinical reference section 5, "Alarms during
# the session and discharge"): SpO2 <= 91%, respiratory rate <= 8 or >= 25/min, systolic
# <= 90 mmHg, heart rate <= 40 or >= 131/min.
NEWS2_ALARM_SPO2_AT_OR_BELOW = 91
NEWS2_ALARM_RESP_RATE_AT_OR_BELOW = 8
NEWS2_ALARM_RESP_RATE_AT_OR_ABOVE = 25
NEWS2_ALARM_SYSTOLIC_AT_OR_BELOW = 90
NEWS2_ALARM_PULSE_AT_OR_BELOW = 40
NEWS2_ALARM_PULSE_AT_OR_ABOVE = 131


class Alarm(StrEnum):
    BP_CRITICAL = "bp_critical"
    BP_SUSTAINED = "bp_sustained"
    TACHYCARDIA = "tachycardia"
    SPO2_LOW = "spo2_low"
    RESP_RATE_LOW = "resp_rate_low"
    RESP_RATE_HIGH = "resp_rate_high"
    SYSTOLIC_LOW = "systolic_low"
    PULSE_LOW = "pulse_low"
    PULSE_HIGH = "pulse_high"
    SEDATION = "sedation"
    SEDATION_DEEP = "sedation_deep"


ALARM_LABELS = {
    Alarm.BP_CRITICAL: f"Blood pressure over {BP_CRITICAL_SYSTOLIC}/{BP_CRITICAL_DIASTOLIC} mmHg",
    Alarm.BP_SUSTAINED: f"Blood pressure {BP_ALARM_SYSTOLIC}/{BP_ALARM_DIASTOLIC} mmHg or more "
    f"on readings {BP_ALARM_CONFIRM_MIN} minutes apart",
    Alarm.TACHYCARDIA: f"Heart rate over {HEART_RATE_ALARM}/min for {HEART_RATE_ALARM_MIN} minutes",
    Alarm.SPO2_LOW: f"SpO2 {NEWS2_ALARM_SPO2_AT_OR_BELOW}% or less",
    Alarm.RESP_RATE_LOW: f"Respiratory rate {NEWS2_ALARM_RESP_RATE_AT_OR_BELOW}/min or less",
    Alarm.RESP_RATE_HIGH: f"Respiratory rate {NEWS2_ALARM_RESP_RATE_AT_OR_ABOVE}/min or more",
    Alarm.SYSTOLIC_LOW: f"Systolic blood pressure {NEWS2_ALARM_SYSTOLIC_AT_OR_BELOW} mmHg or less",
    Alarm.PULSE_LOW: f"Heart rate {NEWS2_ALARM_PULSE_AT_OR_BELOW}/min or less",
    Alarm.PULSE_HIGH: f"Heart rate {NEWS2_ALARM_PULSE_AT_OR_ABOVE}/min or more",
    Alarm.SEDATION: "MOAA/S 3 or less: moderate or deeper sedation",
    Alarm.SEDATION_DEEP: "MOAA/S 1 or less: responds only to pain, or not at all",
}

# Alarms that call for a clinician at the chair at once (NEWS2 single parameter scoring 3; MOAA/S
# <= 1; blood pressure over 200/120).
URGENT_ALARMS = frozenset(
    {
        Alarm.BP_CRITICAL,
        Alarm.SPO2_LOW,
        Alarm.RESP_RATE_LOW,
        Alarm.RESP_RATE_HIGH,
        Alarm.SYSTOLIC_LOW,
        Alarm.PULSE_LOW,
        Alarm.PULSE_HIGH,
        Alarm.SEDATION_DEEP,
    }
)


def _bp_alarm_level(v: Vitals) -> bool:
    return (v.systolic or 0) >= BP_ALARM_SYSTOLIC or (v.diastolic or 0) >= BP_ALARM_DIASTOLIC


# The NEWS2 single parameters that score 3 (limits above), in the order they are reported: the
# field, its limit, the side of the limit that raises the alarm (at or below, at or above), the alarm.
_SINGLE_PARAMETERS = (
    ("spo2", NEWS2_ALARM_SPO2_AT_OR_BELOW, "low", Alarm.SPO2_LOW),
    ("resp_rate", NEWS2_ALARM_RESP_RATE_AT_OR_BELOW, "low", Alarm.RESP_RATE_LOW),
    ("resp_rate", NEWS2_ALARM_RESP_RATE_AT_OR_ABOVE, "high", Alarm.RESP_RATE_HIGH),
    ("systolic", NEWS2_ALARM_SYSTOLIC_AT_OR_BELOW, "low", Alarm.SYSTOLIC_LOW),
    ("heart_rate", NEWS2_ALARM_PULSE_AT_OR_BELOW, "low", Alarm.PULSE_LOW),
    ("heart_rate", NEWS2_ALARM_PULSE_AT_OR_ABOVE, "high", Alarm.PULSE_HIGH),
)


def single_parameter_alarms(v: Vitals) -> list[Alarm]:
    """The NEWS2 single-parameter alarms one reading raises on its own."""
    found = []
    for name, limit, side, alarm in _SINGLE_PARAMETERS:
        value = getattr(v, name)
        if value is not None and (value <= limit if side == "low" else value >= limit):
            found.append(alarm)
    return found


def alarms(series: Sequence[tuple[datetime.datetime, Vitals]]) -> list[tuple[datetime.datetime, Alarm]]:
    """The in-session alarms a flowsheet raises, each at the reading that raised it (clinical
    reference section 5): any reading over 200/120; 180/110 or more on two readings at least 5
    minutes apart (consecutive readings, all at that level); heart rate over 120 on readings
    spanning 5 minutes; and each NEWS2 single parameter that scores 3."""
    ordered = sorted(series, key=lambda item: item[0])
    found: list[tuple[datetime.datetime, Alarm]] = []
    bp_since: datetime.datetime | None = None
    hr_since: datetime.datetime | None = None
    for at, v in ordered:
        if (v.systolic or 0) > BP_CRITICAL_SYSTOLIC or (v.diastolic or 0) > BP_CRITICAL_DIASTOLIC:
            found.append((at, Alarm.BP_CRITICAL))
        if v.systolic is not None:
            if _bp_alarm_level(v):
                bp_since = bp_since or at
                if at - bp_since >= datetime.timedelta(minutes=BP_ALARM_CONFIRM_MIN):
                    found.append((at, Alarm.BP_SUSTAINED))
            else:
                bp_since = None
        if v.heart_rate is not None:
            if v.heart_rate > HEART_RATE_ALARM:
                hr_since = hr_since or at
                if at - hr_since >= datetime.timedelta(minutes=HEART_RATE_ALARM_MIN):
                    found.append((at, Alarm.TACHYCARDIA))
            else:
                hr_since = None
        found += [(at, alarm) for alarm in single_parameter_alarms(v)]
    return found


# Modified Observer's Assessment of Alertness/Sedation (MOAA/S), 0-5: Chernik et al., J Clin
# Psychopharmacol 1990;10:244-251; used for sedation in the esketamine trials, where a score of 3
# or less counted as moderate or greater sedation (Janssen medical information, Spravato).
MOAAS_LEVELS = (
    (5, "Responds readily to name spoken in normal tone"),
    (4, "Lethargic response to name spoken in normal tone"),
    (3, "Responds only after name is called loudly or repeatedly"),
    (2, "Responds only after mild prodding or shaking"),
    (1, "Responds only after painful trapezius squeeze"),
    (0, "No response after painful trapezius squeeze"),
)
MOAAS_OVERSEDATION_AT_OR_BELOW = 3
# MOAA/S 1 or less (responds only to a painful stimulus, or not at all) is deep sedation: an
# urgent alarm (clinical reference section 5, decision).
MOAAS_DEEP_AT_OR_BELOW = 1
# Discharge needs the latest MOAA/S after the dose to be 5, fully alert (reference section 5).
MOAAS_DISCHARGE = 5


def vitals_overdue(next_due: datetime.datetime | None, now: datetime.datetime, *, margin_min: int) -> bool:
    """Whether the next set of vital signs is overdue: more than `margin_min` minutes past its due
    time (the protocol's `vitals_overdue_after_min`). None: no set is due."""
    return next_due is not None and now > next_due + datetime.timedelta(minutes=margin_min)


def oversedated(moaas: int | None) -> bool:
    """MOAA/S 3 or less: moderate or deeper sedation. None (not rated) is not."""
    if moaas is None:
        return False
    return moaas <= MOAAS_OVERSEDATION_AT_OR_BELOW


def sedation_alarm(moaas: int) -> Alarm | None:
    """The alarm a MOAA/S rating raises: deep sedation at 1 or less, sedation at 3 or less."""
    if moaas <= MOAAS_DEEP_AT_OR_BELOW:
        return Alarm.SEDATION_DEEP
    if moaas <= MOAAS_OVERSEDATION_AT_OR_BELOW:
        return Alarm.SEDATION
    return None


class AdverseEventKind(StrEnum):
    NAUSEA = "nausea"
    VOMITING = "vomiting"
    HYPERTENSION = "hypertension"
    TACHYCARDIA = "tachycardia"
    EMERGENCE_REACTION = "emergence_reaction"
    OVERSEDATION = "oversedation"
    RESPIRATORY_DEPRESSION = "respiratory_depression"
    HYPOTENSION = "hypotension"
    BRADYCARDIA = "bradycardia"
    OTHER = "other"


ADVERSE_EVENT_LABELS = {
    AdverseEventKind.NAUSEA: "Nausea",
    AdverseEventKind.VOMITING: "Vomiting",
    AdverseEventKind.HYPERTENSION: "Hypertension",
    AdverseEventKind.TACHYCARDIA: "Tachycardia",
    AdverseEventKind.EMERGENCE_REACTION: "Emergence reaction",
    AdverseEventKind.OVERSEDATION: "Oversedation",
    AdverseEventKind.RESPIRATORY_DEPRESSION: "Respiratory depression (low SpO2 or breathing rate)",
    AdverseEventKind.HYPOTENSION: "Hypotension",
    AdverseEventKind.BRADYCARDIA: "Bradycardia",
    AdverseEventKind.OTHER: "Other (describe)",
}

# An alarm is answered by the adverse event it shows, or by a clinician's acknowledgement with a
# note (a transient artefact, a probe off the finger), before discharge (reference section 5).
ALARM_EVENT = {
    Alarm.BP_CRITICAL: AdverseEventKind.HYPERTENSION,
    Alarm.BP_SUSTAINED: AdverseEventKind.HYPERTENSION,
    Alarm.TACHYCARDIA: AdverseEventKind.TACHYCARDIA,
    Alarm.SPO2_LOW: AdverseEventKind.RESPIRATORY_DEPRESSION,
    Alarm.RESP_RATE_LOW: AdverseEventKind.RESPIRATORY_DEPRESSION,
    Alarm.RESP_RATE_HIGH: AdverseEventKind.OTHER,
    Alarm.SYSTOLIC_LOW: AdverseEventKind.HYPOTENSION,
    Alarm.PULSE_LOW: AdverseEventKind.BRADYCARDIA,
    Alarm.PULSE_HIGH: AdverseEventKind.TACHYCARDIA,
    Alarm.SEDATION: AdverseEventKind.OVERSEDATION,
    Alarm.SEDATION_DEEP: AdverseEventKind.OVERSEDATION,
}
# Adverse events that the REMS form reports as respiratory depression.
RESPIRATORY_DEPRESSION_EVENTS = frozenset({AdverseEventKind.RESPIRATORY_DEPRESSION})


class Severity(StrEnum):
    # Mild / moderate / severe as in CTCAE v5 grades 1-3 (NCI 2017), in words a nurse uses.
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


# Discharge criteria a nurse observes and ticks (clinical reference section 5). "Vital signs back
# near baseline" and "SpO2 above 92%" are not ticked: they are computed from the readings
# (discharge_assessment below).
DISCHARGE_CRITERIA = (
    ("alert_oriented", "Alert and oriented"),
    ("walks_steadily", "Walking steadily"),
    ("escort_present", "A responsible adult escort is present"),
    ("no_driving_advice", "Told not to drive or operate machinery until the next day after restful sleep"),
)
# Discharge from the readings (clinical reference section 5, "Alarms during the session and
# discharge", decisions): a post-dose SpO2 above 92% taken in the last 15 minutes; the latest
# MOAA/S after the dose = 5; the last blood pressure at most 20/10 mmHg above the pre-dose reading
# or under the gate.
DISCHARGE_SPO2_WITHIN_MIN = 15
DISCHARGE_BP_RISE_MAX = (20, 10)


@dataclass(frozen=True, slots=True)
class DischargeFacts:
    """What the record says, for discharge_assessment. Times are aware datetimes in the clinic's
    time zone (they are shown in the messages)."""

    now: datetime.datetime
    dose_started_at: datetime.datetime | None
    dose_stopped_at: datetime.datetime | None
    min_monitoring_min: int
    post_infusion_min: int | None  # IV and IM: not before this long after the infusion ended
    last_rating_min: int | None  # the latest scheduled rating, minutes after the dose started
    ratings_pending: Sequence[str]  # scheduled ratings neither done nor skipped, in words
    pre_dose: Vitals | None  # the last pre-dose blood pressure
    after_dose: Sequence[tuple[datetime.datetime, Vitals]]  # standing readings after the dose
    moaas_after_dose: Sequence[tuple[datetime.datetime, int]]
    gate_systolic: int = BP_GATE_SYSTOLIC
    gate_diastolic: int = BP_GATE_DIASTOLIC


@dataclass(frozen=True, slots=True)
class Criterion:
    code: str
    label: str
    met: bool
    detail: str
    # A physician may discharge past a failed criterion that can be overridden, signing with a
    # reason; the others (timers, ratings) must be met.
    overridable: bool


def _hhmm(at: datetime.datetime) -> str:
    return f"{at:%H:%M}"


def discharge_assessment(f: DischargeFacts) -> list[Criterion]:
    """Every discharge criterion computed from the record, met or not, with what it found."""
    out: list[Criterion] = []
    started, stopped = f.dose_started_at, f.dose_stopped_at
    ended = started is not None and stopped is not None
    out.append(
        Criterion(
            "dose_ended",
            "The dose was started and stopped",
            ended,
            "" if ended else "The dose has not ended yet (the infusion stopped, or the last device given).",
            False,
        )
    )
    if started is not None:
        earliest = started + datetime.timedelta(minutes=f.min_monitoring_min)
        out.append(
            Criterion(
                "monitoring_time",
                f"Monitored at least {f.min_monitoring_min} minutes after the dose started",
                f.now >= earliest,
                "" if f.now >= earliest else f"Not before {_hhmm(earliest)}.",
                False,
            )
        )
    if f.post_infusion_min is not None and stopped is not None:
        earliest = stopped + datetime.timedelta(minutes=f.post_infusion_min)
        out.append(
            Criterion(
                "after_infusion",
                f"{f.post_infusion_min} minutes since the infusion ended",
                f.now >= earliest,
                ""
                if f.now >= earliest
                else f"The infusion ended at {_hhmm(stopped)}: not before {_hhmm(earliest)}.",
                False,
            )
        )
    if started is not None and f.last_rating_min is not None:
        last = started + datetime.timedelta(minutes=f.last_rating_min)
        # IV and IM: not before the last scheduled rating (reference section 5).
        waiting = f.post_infusion_min is not None and f.now < last
        if f.ratings_pending:
            detail = "Still to do: " + ", ".join(f.ratings_pending) + "."
        elif waiting:
            detail = f"The last scheduled rating is at {_hhmm(last)}."
        else:
            detail = ""
        out.append(
            Criterion(
                "ratings_done",
                "Every scheduled CADSS and MOAA/S rating done or skipped with a reason",
                not f.ratings_pending and not waiting,
                detail,
                False,
            )
        )
    cutoff = f.now - datetime.timedelta(minutes=DISCHARGE_SPO2_WITHIN_MIN)
    spo2 = [(at, v.spo2) for at, v in f.after_dose if v.spo2 is not None]
    recent = [(at, value) for at, value in spo2 if at >= cutoff]
    if not recent:
        detail = (
            f"No SpO2 in the last {DISCHARGE_SPO2_WITHIN_MIN} minutes: measure it now."
            if spo2
            else "No SpO2 recorded after the dose: measure it now."
        )
        spo2_ok = False
    else:
        value = recent[-1][1]
        spo2_ok = value > DISCHARGE_SPO2_ABOVE
        detail = f"Last SpO2 {value}% at {_hhmm(recent[-1][0])}" + (
            "." if spo2_ok else f": it must be above {DISCHARGE_SPO2_ABOVE}%."
        )
    out.append(
        Criterion(
            "spo2_ok",
            f"SpO2 above {DISCHARGE_SPO2_ABOVE}% in the last {DISCHARGE_SPO2_WITHIN_MIN} minutes",
            spo2_ok,
            detail,
            True,
        )
    )
    if f.moaas_after_dose:
        rated_at, moaas = max(f.moaas_after_dose, key=lambda r: r[0])
        alert = moaas == MOAAS_DISCHARGE
        detail = f"Latest MOAA/S {moaas} at {_hhmm(rated_at)}" + ("." if alert else ": it must be 5.")
    else:
        alert, detail = False, "No MOAA/S rated after the dose: rate it now."
    out.append(Criterion("moaas_alert", "Latest MOAA/S after the dose is 5", alert, detail, True))
    bps = [(at, v) for at, v in f.after_dose if v.systolic is not None and v.diastolic is not None]
    if not bps:
        near, detail = False, "No blood pressure recorded after the dose: measure it now."
    else:
        bp_at, last_bp = bps[-1]
        sys_, dia = last_bp.systolic or 0, last_bp.diastolic or 0
        under_gate = sys_ <= f.gate_systolic and dia <= f.gate_diastolic
        pre = f.pre_dose
        near_pre = (
            pre is not None
            and pre.systolic is not None
            and pre.diastolic is not None
            and sys_ <= pre.systolic + DISCHARGE_BP_RISE_MAX[0]
            and dia <= pre.diastolic + DISCHARGE_BP_RISE_MAX[1]
        )
        near = under_gate or near_pre
        base = f" (before the dose {pre.systolic}/{pre.diastolic})" if pre and pre.systolic else ""
        detail = f"Last BP {sys_}/{dia} at {_hhmm(bp_at)}{base}" + (
            "."
            if near
            else f": more than {DISCHARGE_BP_RISE_MAX[0]}/{DISCHARGE_BP_RISE_MAX[1]} mmHg above the "
            f"pre-dose reading and over the gate {f.gate_systolic}/{f.gate_diastolic}."
        )
    out.append(
        Criterion(
            "vitals_near_baseline",
            "Blood pressure back near the pre-dose reading (or under the gate)",
            near,
            detail,
            True,
        )
    )
    return out

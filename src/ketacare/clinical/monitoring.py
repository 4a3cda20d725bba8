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


class Alarm(StrEnum):
    BP_CRITICAL = "bp_critical"
    BP_SUSTAINED = "bp_sustained"
    TACHYCARDIA = "tachycardia"


ALARM_LABELS = {
    Alarm.BP_CRITICAL: f"Blood pressure over {BP_CRITICAL_SYSTOLIC}/{BP_CRITICAL_DIASTOLIC} mmHg",
    Alarm.BP_SUSTAINED: f"Blood pressure {BP_ALARM_SYSTOLIC}/{BP_ALARM_DIASTOLIC} mmHg or more "
    f"on readings {BP_ALARM_CONFIRM_MIN} minutes apart",
    Alarm.TACHYCARDIA: f"Heart rate over {HEART_RATE_ALARM}/min for {HEART_RATE_ALARM_MIN} minutes",
}


def _bp_alarm_level(v: Vitals) -> bool:
    return (v.systolic or 0) >= BP_ALARM_SYSTOLIC or (v.diastolic or 0) >= BP_ALARM_DIASTOLIC


def alarms(series: Sequence[tuple[datetime.datetime, Vitals]]) -> list[tuple[datetime.datetime, Alarm]]:
    """The in-session alarms a flowsheet raises, each at the reading that raised it (clinical
    reference section 5): any reading over 200/120; 180/110 or more on two readings at least 5
    minutes apart (consecutive readings, all at that level); heart rate over 120 on readings
    spanning 5 minutes."""
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


def oversedated(moaas: int) -> bool:
    return moaas <= MOAAS_OVERSEDATION_AT_OR_BELOW


class AdverseEventKind(StrEnum):
    NAUSEA = "nausea"
    VOMITING = "vomiting"
    HYPERTENSION = "hypertension"
    TACHYCARDIA = "tachycardia"
    EMERGENCE_REACTION = "emergence_reaction"
    OVERSEDATION = "oversedation"
    OTHER = "other"


ADVERSE_EVENT_LABELS = {
    AdverseEventKind.NAUSEA: "Nausea",
    AdverseEventKind.VOMITING: "Vomiting",
    AdverseEventKind.HYPERTENSION: "Hypertension",
    AdverseEventKind.TACHYCARDIA: "Tachycardia",
    AdverseEventKind.EMERGENCE_REACTION: "Emergence reaction",
    AdverseEventKind.OVERSEDATION: "Oversedation",
    AdverseEventKind.OTHER: "Other (describe)",
}

# An alarm is answered by recording the adverse event it shows before the session is signed.
ALARM_EVENT = {
    Alarm.BP_CRITICAL: AdverseEventKind.HYPERTENSION,
    Alarm.BP_SUSTAINED: AdverseEventKind.HYPERTENSION,
    Alarm.TACHYCARDIA: AdverseEventKind.TACHYCARDIA,
}


class Severity(StrEnum):
    # Mild / moderate / severe as in CTCAE v5 grades 1-3 (NCI 2017), in words a nurse uses.
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


# Discharge criteria (clinical reference section 5).
DISCHARGE_CRITERIA = (
    ("vitals_near_baseline", "Vital signs back near baseline"),
    ("alert_oriented", "Alert and oriented"),
    ("walks_steadily", "Walking steadily"),
    ("spo2_ok", f"SpO2 above {DISCHARGE_SPO2_ABOVE}%"),
    ("escort_present", "A responsible adult escort is present"),
    ("no_driving_advice", "Told not to drive or operate machinery until the next day after restful sleep"),
)

"""Treatment protocols as data: dose limits, preparation, monitoring, schedules and discharge.

Defaults come from the clinical reference (section 5) and the sources it cites; every value a
clinic may change is a field of `Protocol`, changed through `with_overrides` (the JSON file that
KETACARE_PROTOCOLS names). Where the sources are silent the default is marked "clinic setting"
and is conservative.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ketacare.clinical.contraindications import Route as CandidacyRoute


class ProtocolCode(StrEnum):
    IV_KETAMINE_STANDARD = "iv_ketamine_standard"
    IM_KETAMINE = "im_ketamine"
    ESKETAMINE_NASAL = "esketamine_nasal"


class TreatmentRoute(StrEnum):
    """How the drug is given (the route names used in imports and analytics)."""

    IV_KETAMINE = "iv_ketamine"
    IM_KETAMINE = "im_ketamine"
    ESKETAMINE = "esketamine"


ROUTE_LABELS = {
    TreatmentRoute.IV_KETAMINE: "IV ketamine",
    TreatmentRoute.IM_KETAMINE: "IM ketamine",
    TreatmentRoute.ESKETAMINE: "Esketamine nasal spray",
}


class WeightBasis(StrEnum):
    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"


# RxNorm: ketamine (ingredient) 6130; esketamine nasal spray 2201623 (clinical reference section 4;
# the reference asks that ingredient codes be verified before they are relied on).
RXNORM_KETAMINE = "6130"
RXNORM_ESKETAMINE_NASAL = "2201623"

# Pre-dose blood-pressure gate: 140/90 mmHg (clinical reference section 5, a decision for IV
# ketamine; the Spravato label says to consider delaying treatment above 140/90).
BP_GATE_SYSTOLIC = 140
BP_GATE_DIASTOLIC = 90
# In-session alarms (clinical reference section 5, decision): 180/110 on two readings 5 minutes
# apart, any reading over 200/120, heart rate over 120 for 5 minutes.
BP_ALARM_SYSTOLIC = 180
BP_ALARM_DIASTOLIC = 110
BP_ALARM_CONFIRM_MIN = 5
BP_CRITICAL_SYSTOLIC = 200
BP_CRITICAL_DIASTOLIC = 120
HEART_RATE_ALARM = 120
HEART_RATE_ALARM_MIN = 5
# Discharge: SpO2 above 92% (clinical reference section 5, discharge criteria).
DISCHARGE_SPO2_ABOVE = 92

# Esketamine: 28 mg devices, 5 minutes between devices; 56 or 84 mg; 84 mg only after a 56 mg
# start; at least 2 hours of monitoring; BP about 40 minutes after dosing (Spravato prescribing
# information, sections 2.1-2.4; clinical reference section 5).
ESKETAMINE_DEVICE_MG = Decimal(28)
ESKETAMINE_DEVICE_INTERVAL_MIN = 5
ESKETAMINE_DOSES_MG = (Decimal(56), Decimal(84))
ESKETAMINE_FIRST_DOSE_MG = Decimal(56)
ESKETAMINE_MONITORING_MIN = 120
ESKETAMINE_POST_BP_MIN = 40
# REMS Patient Monitoring Form: due within 7 days of the session (clinical reference section 5).
REMS_FORM_DUE_DAYS = 7
# Esketamine is not approved under 18 years (Spravato prescribing information 8.4; clinical
# reference section 5, "Every session"). The label allows 84 mg from the first dose for depressive
# symptoms with acute suicidal ideation or behaviour: 84 mg twice weekly for 4 weeks (Spravato
# prescribing information 2.3). The EU SmPC (4.2) starts patients 65 and older at 28 mg; the US
# label has no separate starting dose for them (clinic setting `older_adult_start_mg`).
ESKETAMINE_MIN_AGE_YEARS = 18
ESKETAMINE_OLDER_ADULT_AGE_YEARS = 65
ESKETAMINE_SUICIDAL_IDEATION_DOSE_MG = Decimal(84)
ESKETAMINE_EU_OLDER_ADULT_START_MG = Decimal(28)
ESKETAMINE_OLDER_ADULT_STARTS_MG = (ESKETAMINE_EU_OLDER_ADULT_START_MG, ESKETAMINE_FIRST_DOSE_MG)

# IV ketamine is always diluted and never given fast (Ketalar prescribing information: the
# 100 mg/mL strength must not be injected IV without proper dilution; infusions are made up at
# 1 mg/mL or, where fluid is restricted, 2 mg/mL; rapid administration may cause respiratory
# depression and an enhanced pressor response). Clinical reference section 5, "Dose preparation":
# the bag's final concentration may not exceed 2 mg/mL, and an infusion under 20 minutes is
# refused. A clinic may be stricter (a weaker bag, a longer minimum), never looser.
MAX_BAG_MG_PER_ML = Decimal(2)
MIN_INFUSION_DURATION_MIN = 20
# How long past its due time a set of vital signs is shown as overdue. The sources give only the
# interval (clinical reference section 5: every 10-15 minutes); no published standard gives a
# margin. KetaCare's default allows 5 minutes to take a set; clinic setting.
VITALS_OVERDUE_AFTER_MIN = 5
# Intramuscular: at most 5 mL per injection site, a larger volume split across sites (clinical
# reference section 5, decision; clinic setting, may be lowered, e.g. 2 mL for the deltoid). Two
# sites at most is KetaCare's conservative default (clinic setting).
IM_MAX_ML_PER_SITE = Decimal(5)
IM_MAX_SITES = 2
# IV and IM: discharge not before 30 minutes after the infusion (or injection) ended; a clinic
# may set a longer time but not under 20 minutes (clinical reference section 5, "Alarms during the
# session and discharge", decision).
POST_INFUSION_MIN = 30
POST_INFUSION_MIN_FLOOR = 20
# Minimum interval between doses (clinical reference section 5, "Every session", decision): not
# two IV or IM doses within 20 hours; esketamine not on consecutive calendar days (its label
# schedule is twice weekly). "Not on consecutive days" is a calendar rule, not a number of hours
# (a dose at 08:00 and one at 18:00 the next day are 34 hours apart and still on consecutive
# days), so it is a flag of its own, `no_consecutive_days`, rather than min_dose_interval_hours=24.
MIN_DOSE_INTERVAL_HOURS = 20


@dataclass(frozen=True, slots=True)
class Phase:
    """Part of a course: `sessions` treatments at `per_week` a week (None: one every
    `interval_days`)."""

    name: str
    sessions: int
    per_week: int | None = None
    interval_days: int | None = None


@dataclass(frozen=True, slots=True)
class Protocol:
    code: ProtocolCode
    name: str
    route: TreatmentRoute
    drug: str
    rxnorm: str
    candidacy_route: CandidacyRoute  # the route the signed candidacy decision must cover
    enabled: bool
    weight_based: bool
    # Weight-based dosing (mg/kg), with the range a dose must fall in and the level above which a
    # second clinician verifies the order.
    dose_mg_per_kg: Decimal | None
    min_mg_per_kg: Decimal | None
    max_mg_per_kg: Decimal | None
    verify_above_mg_per_kg: Decimal | None
    weight_basis: WeightBasis
    max_dose_mg: Decimal | None  # an absolute cap on the dose, None when the protocol sets none
    # Fixed doses (esketamine).
    fixed_doses_mg: tuple[Decimal, ...]
    # Infusion.
    infusion: bool
    duration_min: int | None
    concentration_mg_per_ml: Decimal | None
    bag_ml: Decimal | None
    # Rounding steps: the dose, the drawn volume and the pump rate are rounded half up to these.
    dose_step_mg: Decimal
    volume_step_ml: Decimal
    rate_step_ml_per_h: Decimal
    # Monitoring.
    bp_gate_systolic: int  # a pre-dose reading over either number blocks the start
    bp_gate_diastolic: int
    vitals_interval_min: int
    cadss_at_min: tuple[int, ...]
    sedation_at_min: tuple[int, ...]
    min_monitoring_min: int  # discharge before this many minutes after the dose started is refused
    # Schedule.
    appointment_min: int  # chair time booked for one session, check-in to discharge
    induction: tuple[Phase, ...]
    booster_interval_days: int
    source: str
    # Preparation limits (clinical reference section 5, "Dose preparation"; constants above).
    min_duration_min: int = MIN_INFUSION_DURATION_MIN  # an infusion shorter than this is refused
    max_bag_mg_per_ml: Decimal = MAX_BAG_MG_PER_ML  # final concentration in the infusion bag
    im_max_ml_per_site: Decimal = IM_MAX_ML_PER_SITE
    im_max_sites: int = IM_MAX_SITES
    vitals_overdue_after_min: int = VITALS_OVERDUE_AFTER_MIN  # past the due time: overdue
    # Esketamine: the first dose for patients 65 and older; None follows the US label (56 mg),
    # 28 the EU SmPC (28 mg is then also allowed for them).
    older_adult_start_mg: Decimal | None = None
    # Discharge not before this many minutes after the infusion ended (None: not an infusion or
    # injection; esketamine is watched for min_monitoring_min from the first device).
    post_infusion_min: int | None = POST_INFUSION_MIN
    # Minimum interval between two doses: hours, and/or no doses on consecutive calendar days.
    min_dose_interval_hours: int | None = MIN_DOSE_INTERVAL_HOURS
    no_consecutive_days: bool = False

    def mg_per_kg_limits(self) -> tuple[Decimal, Decimal, Decimal]:
        """(minimum, maximum, standard) mg/kg of a weight-based protocol."""
        if self.min_mg_per_kg is None or self.max_mg_per_kg is None or self.dose_mg_per_kg is None:
            raise ValueError(f"{self.code} has no mg/kg limits: it is not weight-based")
        return self.min_mg_per_kg, self.max_mg_per_kg, self.dose_mg_per_kg

    def induction_sessions(self) -> int:
        return sum(p.sessions for p in self.induction)

    def course_sessions(self) -> int:
        """Treatments in the induction phase proper, where outcomes "after the course" are read:
        six infusions (Murrough 2013, Biol Psychiatry); esketamine's twice-weekly weeks 1-4, the
        TRANSFORM-2 end point at week 4 (its weekly weeks 5-8 come after)."""
        return sum(p.sessions for p in self.induction if p.name == "induction") or self.induction_sessions()


_IV_SOURCE = (
    "0.5 mg/kg over 40 minutes: Zarate 2006, Murrough 2013; range 0.1-1.0 mg/kg with verification "
    "above 0.75 mg/kg: clinical reference section 5 (Andrade 2017); induction 6 infusions, three a "
    "week: Murrough 2013; boosters every 2-4 weeks to 2-3 months, set per patient"
)

IV_KETAMINE_STANDARD = Protocol(
    code=ProtocolCode.IV_KETAMINE_STANDARD,
    name="IV racemic ketamine 0.5 mg/kg over 40 minutes",
    route=TreatmentRoute.IV_KETAMINE,
    drug="ketamine",
    rxnorm=RXNORM_KETAMINE,
    candidacy_route=CandidacyRoute.IV_KETAMINE,
    enabled=True,
    weight_based=True,
    dose_mg_per_kg=Decimal("0.5"),
    min_mg_per_kg=Decimal("0.1"),
    max_mg_per_kg=Decimal("1.0"),
    verify_above_mg_per_kg=Decimal("0.75"),
    weight_basis=WeightBasis.ACTUAL,  # the landmark trials dosed on actual weight
    max_dose_mg=None,  # no published absolute cap: a clinic setting
    fixed_doses_mg=(),
    infusion=True,
    duration_min=40,
    concentration_mg_per_ml=Decimal(10),  # clinic setting: the clinic's stock strength
    bag_ml=Decimal(100),  # clinic setting: the diluent bag in use
    dose_step_mg=Decimal("0.1"),
    # Clinic setting: the graduation of the syringe used to draw the dose (1 mL syringes are
    # marked every 0.01 mL). The prepared dose is computed from the volume rounded to it.
    volume_step_ml=Decimal("0.01"),
    rate_step_ml_per_h=Decimal(1),
    bp_gate_systolic=BP_GATE_SYSTOLIC,
    bp_gate_diastolic=BP_GATE_DIASTOLIC,
    # BP, heart rate and SpO2 every 10-15 minutes during the infusion and until discharge
    # (clinical reference section 5): the shorter interval is the default.
    vitals_interval_min=10,
    # Dissociation peaks near 40 minutes and usually resolves by 1.5 hours (CADSS, reference
    # section 1); sedation peaks at 30-45 minutes (Janssen medical information). Clinic setting.
    cadss_at_min=(40, 90),
    sedation_at_min=(20, 40, 60),
    min_monitoring_min=40,  # not before the infusion has run; then discharge criteria decide
    appointment_min=120,  # clinic setting: check-in, 40-minute infusion, recovery to discharge
    induction=(Phase("induction", sessions=6, per_week=3),),
    booster_interval_days=28,
    source=_IV_SOURCE,
    # The preparation limits, post-infusion time and dose interval are the defaults of `Protocol`
    # (the constants above, with their sources).
)

IM_KETAMINE = replace(
    IV_KETAMINE_STANDARD,
    code=ProtocolCode.IM_KETAMINE,
    name="IM racemic ketamine (clinic-enabled)",
    route=TreatmentRoute.IM_KETAMINE,
    enabled=False,  # intramuscular only if the clinic enables it (issue 5)
    infusion=False,
    duration_min=None,
    concentration_mg_per_ml=Decimal(50),  # clinic setting: undiluted stock for injection
    bag_ml=None,
    source="Clinic setting: intramuscular ketamine is given only where the clinic enables it; "
    "dose limits default to the IV protocol's and must be reviewed by the clinic",
)

ESKETAMINE_NASAL = Protocol(
    code=ProtocolCode.ESKETAMINE_NASAL,
    name="Esketamine nasal spray (Spravato) 56 or 84 mg",
    route=TreatmentRoute.ESKETAMINE,
    drug="esketamine",
    rxnorm=RXNORM_ESKETAMINE_NASAL,
    candidacy_route=CandidacyRoute.ESKETAMINE_NASAL,
    enabled=True,
    weight_based=False,
    dose_mg_per_kg=None,
    min_mg_per_kg=None,
    max_mg_per_kg=None,
    verify_above_mg_per_kg=None,
    weight_basis=WeightBasis.ACTUAL,
    max_dose_mg=max(ESKETAMINE_DOSES_MG),
    fixed_doses_mg=ESKETAMINE_DOSES_MG,
    infusion=False,
    duration_min=None,
    concentration_mg_per_ml=None,
    bag_ml=None,
    dose_step_mg=ESKETAMINE_DEVICE_MG,
    volume_step_ml=Decimal("0.1"),
    rate_step_ml_per_h=Decimal(1),
    bp_gate_systolic=BP_GATE_SYSTOLIC,
    bp_gate_diastolic=BP_GATE_DIASTOLIC,
    vitals_interval_min=15,  # BP before, at about 40 minutes, then as needed (label): clinic setting
    cadss_at_min=(40, 90),
    sedation_at_min=(15, 40, 60),
    min_monitoring_min=ESKETAMINE_MONITORING_MIN,
    appointment_min=150,  # clinic setting: check-in, up to 3 devices 5 minutes apart, 2 hours' watch
    # Treatment-resistant depression (Spravato prescribing information 2.2): weeks 1-4 twice
    # weekly; weeks 5-8 weekly; from week 9 every 2 weeks (or weekly), the lowest frequency that
    # keeps the response.
    induction=(Phase("induction", sessions=8, per_week=2), Phase("maintenance", sessions=4, per_week=1)),
    booster_interval_days=14,
    source="Spravato (esketamine) prescribing information, sections 2 and 5; REMS",
    older_adult_start_mg=None,  # US label: 56 mg for everyone; 28 follows the EU SmPC
    post_infusion_min=None,  # watched for min_monitoring_min from the first device instead
    min_dose_interval_hours=None,
    no_consecutive_days=True,  # twice weekly in induction; never on consecutive days
)

DEFAULTS: dict[ProtocolCode, Protocol] = {
    p.code: p for p in (IV_KETAMINE_STANDARD, IM_KETAMINE, ESKETAMINE_NASAL)
}

_DECIMAL_FIELDS = {
    "dose_mg_per_kg",
    "min_mg_per_kg",
    "max_mg_per_kg",
    "verify_above_mg_per_kg",
    "max_dose_mg",
    "concentration_mg_per_ml",
    "bag_ml",
    "dose_step_mg",
    "volume_step_ml",
    "rate_step_ml_per_h",
    "max_bag_mg_per_ml",
    "im_max_ml_per_site",
    "older_adult_start_mg",
}
_INT_FIELDS = {
    "duration_min",
    "vitals_interval_min",
    "vitals_overdue_after_min",
    "min_monitoring_min",
    "booster_interval_days",
    "appointment_min",
    "bp_gate_systolic",
    "bp_gate_diastolic",
    "min_duration_min",
    "im_max_sites",
    "post_infusion_min",
    "min_dose_interval_hours",
}
_BOOL_FIELDS = {"enabled", "no_consecutive_days"}
# Settings a clinic may clear with null (the rule then does not apply or the label default does).
_NULLABLE_FIELDS = {
    "max_dose_mg",
    "verify_above_mg_per_kg",
    "older_adult_start_mg",
    "min_dose_interval_hours",
}
CONFIGURABLE = _DECIMAL_FIELDS | _INT_FIELDS | _BOOL_FIELDS | {"weight_basis"}


def _override_value(code: str, name: str, value: Any) -> Any:
    where = f"{code}.{name}"
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: give true or false")
        return value
    if name == "weight_basis":
        try:
            return WeightBasis(value)
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not one of {', '.join(WeightBasis)}") from None
    if value is None and name in _NULLABLE_FIELDS:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{where}: give a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ValueError(f"{where}: must be a positive number")
    if name in _INT_FIELDS:
        if number != number.to_integral_value():
            raise ValueError(f"{where}: give a whole number")
        return int(number)
    return number


def with_overrides(overrides: Mapping[str, Any]) -> dict[ProtocolCode, Protocol]:
    """The protocols with a clinic's settings: {"iv_ketamine_standard": {"max_dose_mg": 80}}.
    Raises ValueError naming the protocol and field."""
    result = dict(DEFAULTS)
    for code, changes in overrides.items():
        try:
            key = ProtocolCode(code)
        except ValueError:
            raise ValueError(f"{code}: not a protocol ({', '.join(ProtocolCode)})") from None
        if not isinstance(changes, Mapping):
            raise ValueError(f"{code}: give an object of settings")
        unknown = sorted(set(changes) - CONFIGURABLE)
        if unknown:
            raise ValueError(
                f"{code}: cannot set {', '.join(unknown)} (settable: {', '.join(sorted(CONFIGURABLE))})"
            )
        values = {name: _override_value(code, name, v) for name, v in changes.items()}
        protocol = replace(result[key], **values)
        problem = protocol_problem(protocol)
        if problem:
            raise ValueError(f"{code}: {problem}")
        result[key] = protocol
    return result


def protocol_problem(p: Protocol) -> str | None:
    """A protocol whose settings contradict each other or loosen a safety limit of the clinical
    reference, in words; None when it is consistent."""
    if p.weight_based:
        low, high, standard = p.mg_per_kg_limits()
        if not low <= standard <= high:
            return "the standard dose must lie within min_mg_per_kg and max_mg_per_kg"
    if p.infusion and (p.duration_min is None or p.bag_ml is None):
        return "an infusion needs a duration and a bag volume"
    if p.min_duration_min < MIN_INFUSION_DURATION_MIN:
        return (
            f"min_duration_min may not be under {MIN_INFUSION_DURATION_MIN} minutes (Ketalar prescribing "
            "information: rapid administration risks respiratory depression and a pressor response)"
        )
    if p.infusion and p.duration_min is not None and p.duration_min < p.min_duration_min:
        return f"duration_min ({p.duration_min}) may not be under min_duration_min ({p.min_duration_min})"
    if p.max_bag_mg_per_ml > MAX_BAG_MG_PER_ML:
        return (
            f"max_bag_mg_per_ml may not be over {MAX_BAG_MG_PER_ML} mg/mL (Ketalar prescribing "
            "information: infusions are made up at 1-2 mg/mL)"
        )
    if p.im_max_ml_per_site > IM_MAX_ML_PER_SITE:
        return f"im_max_ml_per_site may not be over {IM_MAX_ML_PER_SITE} mL (clinical reference section 5)"
    if p.route is TreatmentRoute.ESKETAMINE:
        if p.post_infusion_min is not None:
            return "post_infusion_min does not apply to esketamine (min_monitoring_min does)"
    else:
        if p.older_adult_start_mg is not None:
            return "older_adult_start_mg applies only to esketamine"
        if p.post_infusion_min is None or p.post_infusion_min < POST_INFUSION_MIN_FLOOR:
            return (
                f"post_infusion_min may not be under {POST_INFUSION_MIN_FLOOR} minutes "
                "(clinical reference section 5)"
            )
        if p.min_dose_interval_hours is None or p.min_dose_interval_hours < MIN_DOSE_INTERVAL_HOURS:
            return (
                f"min_dose_interval_hours may not be under {MIN_DOSE_INTERVAL_HOURS} hours for IV or IM "
                "ketamine (clinical reference section 5)"
            )
    if p.older_adult_start_mg is not None and p.older_adult_start_mg not in ESKETAMINE_OLDER_ADULT_STARTS_MG:
        allowed = " or ".join(f"{d} mg" for d in ESKETAMINE_OLDER_ADULT_STARTS_MG)
        return f"older_adult_start_mg must be {allowed} (EU SmPC: 28 mg; US label: 56 mg) or null"
    if p.min_dose_interval_hours is None and not p.no_consecutive_days:
        return "a protocol needs min_dose_interval_hours or no_consecutive_days"
    return None


def session_dates(
    phases: Sequence[Phase], *, start: datetime.date, weekdays: Sequence[int] | None = None
) -> list[tuple[str, datetime.date]]:
    """The course's treatment days from `start`, as (phase, date). A phase given `per_week`
    spreads its sessions over the chosen weekdays (0 = Monday; by default spaced evenly from the
    start day: 3 a week -> start, +2, +4 days); each phase starts the week after the last ended."""
    result: list[tuple[str, datetime.date]] = []
    week_start = start
    for phase in phases:
        if phase.per_week is None:
            interval = phase.interval_days or 7
            for n in range(phase.sessions):
                result.append((phase.name, week_start + datetime.timedelta(days=n * interval)))
            week_start = result[-1][1] + datetime.timedelta(days=interval)
            continue
        days = _week_offsets(phase.per_week, weekdays, week_start)
        n = 0
        week = 0
        while n < phase.sessions:
            for offset in days:
                if n == phase.sessions:
                    break
                day = week_start + datetime.timedelta(days=7 * week + offset)
                if day >= start and (not result or day > result[-1][1]):
                    result.append((phase.name, day))
                    n += 1
            week += 1
        week_start = week_start + datetime.timedelta(days=7 * week)
    return result


def _week_offsets(per_week: int, weekdays: Sequence[int] | None, week_start: datetime.date) -> list[int]:
    """Day offsets within a week counted from `week_start`."""
    if weekdays:
        chosen = sorted(set(weekdays))[:per_week]
        return sorted((d - week_start.weekday()) % 7 for d in chosen)
    step = 7 // per_week if per_week <= 3 else 1
    return [n * step for n in range(per_week)]

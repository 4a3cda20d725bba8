"""Antidepressant-trial adequacy, treatment resistance and the Maudsley Staging Method.

Sources (clinical reference, section 3):
- Adequate trial: at least 4 weeks at or above the minimum adequate daily dose; stopping before
  week 4 because the drug was not tolerated is intolerance, not failure.
- Treatment resistance: failure of at least two different antidepressants of adequate dose and
  duration in the current episode (Canadian consensus; the esketamine (Spravato) label's
  definition of treatment-resistant depression).
- Maudsley Staging Method: Fekadu A, Wooderson S, Donaldson C, et al. A multidimensional tool to
  quantify treatment resistance in depression: the Maudsley Staging Method. J Clin Psychiatry
  2009;70:177-184.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from ketacare.clinical import contraindications
from ketacare.clinical.antidepressants import (
    DRUGS_BY_NAME,
    Drug,
    DrugRole,
    UnknownDrug,
    dose_problem,
    drug,
    normalise_name,
)

# Clinical reference section 3: adequate duration is 4 weeks or more at an adequate dose.
ADEQUATE_MIN_WEEKS = Decimal(4)
# Canadian consensus and the Spravato label: two or more failed adequate trials.
TRD_MIN_FAILED_TRIALS = 2
DAYS_PER_WEEK = Decimal(7)
WEEKS_DECIMALS = Decimal("0.1")


class Outcome(StrEnum):
    NO_RESPONSE = "no_response"
    PARTIAL_RESPONSE = "partial_response"
    INTOLERANCE = "intolerance"
    REMISSION = "remission"


OUTCOME_LABELS = {
    Outcome.NO_RESPONSE: "No response",
    Outcome.PARTIAL_RESPONSE: "Partial response",
    Outcome.INTOLERANCE: "Not tolerated",
    Outcome.REMISSION: "Remission",
}


class Adherence(StrEnum):
    GOOD = "good"
    PARTIAL = "partial"
    POOR = "poor"
    UNKNOWN = "unknown"


ADHERENCE_LABELS = {
    Adherence.GOOD: "Took it as prescribed",
    Adherence.PARTIAL: "Missed some doses",
    Adherence.POOR: "Took it on fewer than half the days",
    Adherence.UNKNOWN: "Not known",
}


class Severity(StrEnum):
    """Severity of the current episode, as the Maudsley Staging Method grades it."""

    SUBSYNDROMAL = "subsyndromal"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE_WITHOUT_PSYCHOSIS = "severe_without_psychosis"
    SEVERE_WITH_PSYCHOSIS = "severe_with_psychosis"


SEVERITY_LABELS = {
    Severity.SUBSYNDROMAL: "Subsyndromal",
    Severity.MILD: "Mild",
    Severity.MODERATE: "Moderate",
    Severity.SEVERE_WITHOUT_PSYCHOSIS: "Severe without psychosis",
    Severity.SEVERE_WITH_PSYCHOSIS: "Severe with psychosis",
}

# Fekadu et al. 2009, table 1.
MAUDSLEY_SEVERITY_POINTS = {
    Severity.SUBSYNDROMAL: 1,
    Severity.MILD: 2,
    Severity.MODERATE: 3,
    Severity.SEVERE_WITHOUT_PSYCHOSIS: 4,
    Severity.SEVERE_WITH_PSYCHOSIS: 5,
}
# Duration of the episode: acute <= 12 months 1, sub-acute 13-24 months 2, chronic > 24 months 3.
MAUDSLEY_DURATION_POINTS = ((Decimal(12), 1), (Decimal(24), 2))
MAUDSLEY_DURATION_MAX_POINTS = 3
# Failed antidepressants: 1-2 -> 1, 3-4 -> 2, 5-6 -> 3, 7-10 -> 4, more than 10 -> 5.
MAUDSLEY_FAILURE_POINTS = ((0, 0), (2, 1), (4, 2), (6, 3), (10, 4))
MAUDSLEY_FAILURE_MAX_POINTS = 5
# Total 3-15: mild 3-6, moderate 7-10, severe 11-15.
MAUDSLEY_BANDS = ((6, "mild"), (10, "moderate"), (15, "severe"))
# The method stages patients with at least one failed trial (clinical reference, section 3): with
# none there is no stage, not a total below 3.
NOT_STAGED = "not staged"
# A trial of a drug the clinic's table lacks: its adequacy cannot be judged, so it is not a failure.
ADEQUACY_UNKNOWN = "Adequacy unknown: drug not in the clinic's table"


@dataclass(frozen=True, slots=True)
class Trial:
    drug: str
    daily_dose_mg: Decimal
    weeks: Decimal
    outcome: Outcome
    adherence: Adherence = Adherence.UNKNOWN
    current_episode: bool = True
    started_on: datetime.date | None = None
    stopped_on: datetime.date | None = None


@dataclass(frozen=True, slots=True)
class TrialAssessment:
    trial: Trial
    drug: Drug | None  # None: not in the clinic's table
    adequate: bool | None  # None: adequacy unknown (drug not in the table)
    failed: bool
    reason: str

    @property
    def drug_name(self) -> str:
        return self.drug.name if self.drug else self.trial.drug

    @property
    def role(self) -> DrugRole | None:
        return self.drug.role if self.drug else None

    @property
    def dose_text(self) -> str:
        """The trial's dose in the drug's own unit ("25 micrograms"), mg for an unknown drug."""
        if self.drug is None:
            return f"{_num(self.trial.daily_dose_mg)} mg"
        return self.drug.dose_text(self.trial.daily_dose_mg)

    def as_json(self) -> dict[str, Any]:
        d = self.drug
        return {
            "drug": self.drug_name,
            "role": d.role.value if d else None,
            "unit": d.unit.value if d else None,
            "daily_dose_mg": _num(self.trial.daily_dose_mg),
            "min_daily_dose_mg": _num(d.min_daily_dose_mg) if d else None,
            "max_daily_dose_mg": _num(d.max_daily_dose_mg) if d else None,
            "note": d.note if d else "",
            "weeks": _num(self.trial.weeks),
            "outcome": self.trial.outcome.value,
            "adequate": self.adequate,
            "failed": self.failed,
            "reason": self.reason,
        }


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _per_day(d: Drug, value: Decimal) -> str:
    return f"{d.dose_text(value)}/day"


def _weeks(value: Decimal) -> str:
    n = _num(value)
    return f"{n} week" if n == 1 else f"{n} weeks"


def weeks_between(start: datetime.date, stop: datetime.date) -> Decimal:
    if stop < start:
        raise ValueError("a trial cannot stop before it starts")
    return (Decimal((stop - start).days) / DAYS_PER_WEEK).quantize(WEEKS_DECIMALS, ROUND_HALF_UP)


def assess_trial(trial: Trial, table: Mapping[str, Drug] = DRUGS_BY_NAME) -> TrialAssessment:
    """Is the trial adequate (dose, duration, adherence), and does it count as a failure? A drug
    not in the table: adequacy unknown, not a failure, and the reason says so."""
    try:
        d = drug(trial.drug, table)
    except UnknownDrug:
        return TrialAssessment(
            trial, None, None, False, f"{ADEQUACY_UNKNOWN} ({trial.drug}): not counted as a failure."
        )
    minimum = d.min_daily_dose_mg
    problems: list[str] = []
    if trial.daily_dose_mg < minimum:
        problems.append(
            f"{_per_day(d, trial.daily_dose_mg)} is below the minimum adequate {_per_day(d, minimum)}"
        )
    if trial.weeks < ADEQUATE_MIN_WEEKS:
        if trial.outcome == Outcome.INTOLERANCE:
            problems.append(
                f"stopped after {_weeks(trial.weeks)} because it was not tolerated: intolerance, not failure"
            )
        else:
            problems.append(f"{_weeks(trial.weeks)} is shorter than the {_weeks(ADEQUATE_MIN_WEEKS)} needed")
    if trial.adherence == Adherence.POOR:
        problems.append("taken on fewer than half the days")
    if problems:
        return TrialAssessment(trial, d, False, False, "Not adequate: " + "; ".join(problems) + ".")
    adequate = f"Adequate: {_per_day(d, trial.daily_dose_mg)} for {_weeks(trial.weeks)}"
    if d.role == DrugRole.AUGMENTATION:
        return TrialAssessment(
            trial, d, True, False, adequate + "; an augmenting agent, not an antidepressant."
        )
    if not trial.current_episode:
        return TrialAssessment(trial, d, True, False, adequate + "; in an earlier episode.")
    if trial.outcome == Outcome.REMISSION:
        return TrialAssessment(trial, d, True, False, adequate + "; led to remission.")
    if trial.outcome == Outcome.INTOLERANCE:
        return TrialAssessment(
            trial,
            d,
            True,
            False,
            adequate + "; stopped because it was not tolerated, not a failure of effect.",
        )
    return TrialAssessment(
        trial, d, True, True, adequate + f"; {OUTCOME_LABELS[trial.outcome].lower()}: failed."
    )


def assess_trials(
    trials: Sequence[Trial], table: Mapping[str, Drug] = DRUGS_BY_NAME
) -> list[TrialAssessment]:
    """Assess each trial; a second failed trial of the same drug is counted once (resistance is
    failure of two *different* antidepressants)."""
    seen: set[str] = set()
    out: list[TrialAssessment] = []
    for trial in trials:
        a = assess_trial(trial, table)
        if a.failed and a.drug_name in seen:
            a = TrialAssessment(
                a.trial,
                a.drug,
                True,
                False,
                a.reason.removesuffix(": failed.")
                + ": failed, but the same drug already failed (counted once).",
            )
        elif a.failed:
            seen.add(a.drug_name)
        out.append(a)
    return out


def weeks_on_trials(trials: Sequence[Trial]) -> Decimal:
    """How long the patient spent on these trials in the current episode, in weeks.
    Overlapping trials (a switch with cross-taper, an augmentation) are counted once when their
    dates are known; otherwise the weeks of each trial are added."""
    current = [t for t in trials if t.current_episode]
    dated = [(t.started_on, t.stopped_on) for t in current if t.started_on and t.stopped_on]
    if current and len(dated) == len(current):
        days = 0
        spans = sorted(dated)
        start, end = spans[0]
        for s, e in spans[1:]:
            if s <= end:
                end = max(end, e)
            else:
                days += (end - start).days
                start, end = s, e
        days += (end - start).days
        return (Decimal(days) / DAYS_PER_WEEK).quantize(WEEKS_DECIMALS, ROUND_HALF_UP)
    return sum((t.weeks for t in current), Decimal(0)).quantize(WEEKS_DECIMALS, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Maudsley:
    duration: int
    severity: int
    antidepressants: int
    augmentation: int
    ect: int

    @property
    def staged(self) -> bool:
        """Only with at least one failed antidepressant (the antidepressant dimension scores 1+)."""
        return self.antidepressants > 0

    @property
    def total(self) -> int | None:
        """3-15, or None when not staged (no failed adequate trial)."""
        if not self.staged:
            return None
        return self.duration + self.severity + self.antidepressants + self.augmentation + self.ect

    @property
    def band(self) -> str:
        total = self.total
        if total is None:
            return NOT_STAGED
        return next(name for top, name in MAUDSLEY_BANDS if total <= top)

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "band": self.band,
            "duration": self.duration,
            "severity": self.severity,
            "antidepressants": self.antidepressants,
            "augmentation": self.augmentation,
            "ect": self.ect,
        }


def maudsley(
    *,
    episode_duration_months: Decimal,
    severity: Severity,
    failed_antidepressants: int,
    augmentation: bool,
    ect: bool,
) -> Maudsley:
    """Maudsley Staging Method score (Fekadu et al. 2009). The method stages patients with at least
    one failed antidepressant; with none, the antidepressant dimension scores 0 and the result is
    "not staged" (total None), never a total below 3."""
    if episode_duration_months < 0:
        raise ValueError("episode duration cannot be negative")
    if failed_antidepressants < 0:
        raise ValueError("the number of failed antidepressants cannot be negative")
    duration = next(
        (p for top, p in MAUDSLEY_DURATION_POINTS if episode_duration_months <= top),
        MAUDSLEY_DURATION_MAX_POINTS,
    )
    failures = next(
        (p for top, p in MAUDSLEY_FAILURE_POINTS if failed_antidepressants <= top),
        MAUDSLEY_FAILURE_MAX_POINTS,
    )
    return Maudsley(duration, MAUDSLEY_SEVERITY_POINTS[severity], failures, int(augmentation), int(ect))


@dataclass(frozen=True, slots=True)
class History:
    """What the clinic knows of the current episode and the treatments tried."""

    trials: tuple[Trial, ...]
    episode_duration_months: Decimal
    severity: Severity
    augmentation: bool = False
    ect: bool = False
    findings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Staging:
    trials: list[TrialAssessment]
    failed_adequate_trials: int
    treatment_resistant: bool
    augmentation_used: bool
    weeks_on_trials: Decimal
    maudsley: Maudsley
    contraindications: list[contraindications.Finding] = field(default_factory=list)

    @property
    def adequacy_unknown(self) -> list[str]:
        """The drugs whose trials could not be assessed: not in the clinic's table."""
        return list(dict.fromkeys(a.drug_name for a in self.trials if a.adequate is None))

    def as_json(self) -> dict[str, Any]:
        return {
            "trials": [t.as_json() for t in self.trials],
            "adequacy_unknown": self.adequacy_unknown,
            "failed_adequate_trials": self.failed_adequate_trials,
            "treatment_resistant": self.treatment_resistant,
            "weeks_on_trials": _num(self.weeks_on_trials),
            "maudsley": self.maudsley.as_json(),
            "contraindications": [f.as_json() for f in self.contraindications],
        }


def stage(
    history: History,
    *,
    table: Mapping[str, Drug] = DRUGS_BY_NAME,
    rules: Sequence[contraindications.Rule] = contraindications.RULES,
) -> Staging:
    """Adequacy of each trial, the count of failed adequate trials, resistance, the Maudsley
    score and the contraindication findings, from one history."""
    assessed = assess_trials(history.trials, table)
    failed = sum(1 for a in assessed if a.failed)
    # Augmentation counts when recorded, or when any augmenting agent was tried in this episode.
    augmented = history.augmentation or any(
        a.role == DrugRole.AUGMENTATION and a.trial.current_episode for a in assessed
    )
    return Staging(
        trials=assessed,
        failed_adequate_trials=failed,
        treatment_resistant=failed >= TRD_MIN_FAILED_TRIALS,
        augmentation_used=augmented,
        weeks_on_trials=weeks_on_trials([a.trial for a in assessed if a.role == DrugRole.ANTIDEPRESSANT]),
        maudsley=maudsley(
            episode_duration_months=history.episode_duration_months,
            severity=history.severity,
            failed_antidepressants=failed,
            augmentation=augmented,
            ect=history.ect,
        ),
        contraindications=contraindications.screen(history.findings, rules=rules),
    )


class HistoryError(ValueError):
    """Bad input, naming the field: `trials[0].daily_dose_mg: ...`."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


def _decimal(value: object, name: str, *, minimum: Decimal = Decimal(0)) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise HistoryError(name, f"must be a number, not {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise HistoryError(name, f"must be a number, not {value!r}") from None
    if not number.is_finite() or number < minimum:
        raise HistoryError(name, f"must be a number of at least {_num(minimum)}, not {value!r}")
    return number


def _choice(value: object, name: str, choices: type[StrEnum]) -> Any:
    allowed = ", ".join(c.value for c in choices)
    if not isinstance(value, str):
        raise HistoryError(name, f"must be one of {allowed}, not {value!r}")
    try:
        return choices(value)
    except ValueError:
        raise HistoryError(name, f"must be one of {allowed}, not {value!r}") from None


def _bool(data: Mapping[str, object], name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise HistoryError(name, f"must be true or false, not {value!r}")
    return value


def parse_history(data: object, *, table: Mapping[str, Drug] = DRUGS_BY_NAME) -> History:
    """Read the `ketacare stage` JSON (docs/staging.md). Unknown extra fields are ignored; every
    problem names its field. A drug not in the table is kept (its trial's adequacy is unknown); a
    dose above the drug's plausible maximum is refused as a likely unit error."""
    if not isinstance(data, dict):
        raise HistoryError("(top level)", "must be a JSON object")
    raw_trials = data.get("trials", [])
    if not isinstance(raw_trials, list):
        raise HistoryError("trials", "must be a list")
    trials: list[Trial] = []
    for i, raw in enumerate(raw_trials):
        where = f"trials[{i}]"
        if not isinstance(raw, dict):
            raise HistoryError(where, "must be an object")
        for key in ("drug", "daily_dose_mg", "weeks", "outcome"):
            if key not in raw:
                raise HistoryError(f"{where}.{key}", "is required")
        if not isinstance(raw["drug"], str):
            raise HistoryError(f"{where}.drug", f"must be a generic drug name, not {raw['drug']!r}")
        if not raw["drug"].strip():
            raise HistoryError(f"{where}.drug", "must be a generic drug name, not empty")
        dose = _decimal(raw["daily_dose_mg"], f"{where}.daily_dose_mg")
        if dose == 0:
            raise HistoryError(f"{where}.daily_dose_mg", "must be more than 0")
        try:
            known: Drug | None = drug(raw["drug"], table)
        except UnknownDrug:
            known = None
        name = known.name if known else normalise_name(raw["drug"])
        problem = dose_problem(known, dose) if known else None
        if problem:
            raise HistoryError(f"{where}.daily_dose_mg", problem)
        current = raw.get("current_episode", True)
        if not isinstance(current, bool):
            raise HistoryError(f"{where}.current_episode", f"must be true or false, not {current!r}")
        trials.append(
            Trial(
                drug=name,
                daily_dose_mg=dose,
                weeks=_decimal(raw["weeks"], f"{where}.weeks"),
                outcome=_choice(raw["outcome"], f"{where}.outcome", Outcome),
                adherence=_choice(raw.get("adherence", "unknown"), f"{where}.adherence", Adherence),
                current_episode=current,
            )
        )
    if "episode_duration_months" not in data:
        raise HistoryError("episode_duration_months", "is required")
    if "severity" not in data:
        raise HistoryError("severity", "is required")
    raw_findings = data.get("history", [])
    if not isinstance(raw_findings, list) or not all(isinstance(f, str) for f in raw_findings):
        raise HistoryError("history", "must be a list of condition codes")
    for i, code in enumerate(raw_findings):
        if code not in contraindications.RULES_BY_CODE:
            raise HistoryError(
                f"history[{i}]", f"{code!r} is not a known condition (see docs/staging.md for the codes)"
            )
    return History(
        trials=tuple(trials),
        episode_duration_months=_decimal(data["episode_duration_months"], "episode_duration_months"),
        severity=_choice(data["severity"], "severity", Severity),
        augmentation=_bool(data, "augmentation"),
        ect=_bool(data, "ect"),
        findings=tuple(raw_findings),
    )

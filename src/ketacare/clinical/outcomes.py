"""Outcome rules: baseline, change from baseline, response, remission.

Definitions from the clinical reference (section 2): response is a reduction of at least 50% from
baseline, partial response 25-49%, non-response under 25%, except on the PCL-5, where response is a
fall of at least 10 points (`response_rule`); remission is a score at or under the
scale's remission threshold (PHQ-9 < 5, QIDS-SR16 <= 5, MADRS <= 10 or 12, GAD-7 < 5, EPDS < 10,
PCL-5 below its cut-off). Baseline is the last score on that scale before the first treatment.
Lower scores are better on every scale KetaCare follows.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from ketacare.clinical import instruments
from ketacare.clinical.instruments.pcl5 import MEANINGFUL_CHANGE, RELIABLE_CHANGE

# Response is a reduction of at least 50% from baseline, partial response 25-49%, non-response
# under 25% (clinical reference section 2, the usual definition in depression trials).
RESPONSE_MIN_REDUCTION_PCT = 50
PARTIAL_MIN_REDUCTION_PCT = 25
# Except on the PCL-5: response is a fall of at least 10 points, the clinically meaningful change
# (National Center for PTSD: 5-10 points is reliable change, 10-20 clinically meaningful; clinical
# reference section 2), a clinic setting (`pcl5_response_points`). KetaCare decision: a reliable
# change short of that (5 points or more) is a partial response.
PCL5_RESPONSE_POINTS = MEANINGFUL_CHANGE
PCL5_PARTIAL_POINTS = RELIABLE_CHANGE
# The range a clinic may set: from reliable change to the top of the clinically meaningful range.
PCL5_RESPONSE_POINTS_RANGE = (RELIABLE_CHANGE, 20)


class ResponseCategory(StrEnum):
    RESPONSE = "response"
    PARTIAL = "partial response"
    NON_RESPONSE = "non-response"


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    total: int


def baseline(points: Sequence[Point], *, first_treatment_at: datetime | None) -> Point | None:
    """The last score before the first treatment; with no treatment yet, the latest score so far
    (the baseline a treatment started now would have)."""
    before = [p for p in points if first_treatment_at is None or p.at < first_treatment_at]
    return max(before, key=lambda p: p.at) if before else None


class ResponseBasis(StrEnum):
    PERCENT = "percent"  # reduction as a share of the baseline
    POINTS = "points"  # fall in points from the baseline


ArrayOrInt = Any  # an int, or an int64 array (the comparisons below work elementwise)


@dataclass(frozen=True, slots=True)
class ResponseRule:
    """How far below its baseline a score must be to be a response (or a partial response) on
    one scale. Lower is better on every scale KetaCare follows. Compared exactly, in integers."""

    basis: ResponseBasis
    response_min: int  # percent of baseline, or points
    partial_min: int

    def _fall_at_least(self, baseline_total: ArrayOrInt, total: ArrayOrInt, minimum: int) -> Any:
        if self.basis is ResponseBasis.PERCENT:
            # (baseline - total) / baseline >= minimum%, without division: 50% is 2 x total <= baseline.
            return 100 * (baseline_total - total) >= minimum * baseline_total
        return baseline_total - total >= minimum

    def responds(self, baseline_total: ArrayOrInt, total: ArrayOrInt) -> Any:
        """Whether `total` is a response, for one score or elementwise (a baseline of 0: never)."""
        return (baseline_total > 0) & self._fall_at_least(baseline_total, total, self.response_min)

    def partial(self, baseline_total: int, total: int) -> bool:
        return bool(self._fall_at_least(baseline_total, total, self.partial_min))

    def threshold(self, baseline_total: int) -> Decimal:
        """The highest total that is still a response, for drawing on a chart."""
        if self.basis is ResponseBasis.PERCENT:
            return Decimal(baseline_total) * (100 - self.response_min) / 100
        return Decimal(baseline_total - self.response_min)

    def text(self) -> str:
        """The rule in words: "50% below baseline", "10 points below baseline"."""
        if self.basis is ResponseBasis.PERCENT:
            return f"{self.response_min}% below baseline"
        return f"{self.response_min} points below baseline"


HALF_BELOW_BASELINE = ResponseRule(
    ResponseBasis.PERCENT, RESPONSE_MIN_REDUCTION_PCT, PARTIAL_MIN_REDUCTION_PCT
)


def percent_change(*, baseline_total: int, total: int) -> Decimal | None:
    """Change from baseline in percent of baseline, one decimal (negative is improvement).
    None when the baseline is 0: no reduction is possible from a score of 0."""
    if baseline_total == 0:
        return None
    return (Decimal(total - baseline_total) * 100 / baseline_total).quantize(Decimal("0.1"), ROUND_HALF_UP)


def response_category(
    *, baseline_total: int, total: int, rule: ResponseRule = HALF_BELOW_BASELINE
) -> ResponseCategory | None:
    """Response, partial response or non-response under the scale's rule (`response_rule`).
    Compared exactly, not on the rounded percentage."""
    if baseline_total == 0:
        return None
    if rule.responds(baseline_total, total):
        return ResponseCategory.RESPONSE
    if rule.partial(baseline_total, total):
        return ResponseCategory.PARTIAL
    return ResponseCategory.NON_RESPONSE


def in_remission(*, total: int, remission_max: int | None) -> bool | None:
    return None if remission_max is None else total <= remission_max


def response_threshold(baseline_total: int, rule: ResponseRule = HALF_BELOW_BASELINE) -> Decimal:
    """The highest total that is still a response under the scale's rule, for drawing on a chart."""
    return rule.threshold(baseline_total)


@dataclass(frozen=True, slots=True)
class Course:
    """Where a patient stands on one scale. `latest` is the newest score after the baseline;
    change, response and remission are read from `assessed`, the newest that is not a same-day
    score (taken within hours of a dose: the acute state, never a response), which is `latest`
    unless that is a same-day score."""

    baseline: Point | None
    latest: Point | None
    change: int | None
    percent_change: Decimal | None
    category: ResponseCategory | None
    remission: bool | None
    assessed: Point | None = None

    @property
    def latest_is_same_day(self) -> bool:
        return self.latest is not None and self.latest != self.assessed


def same_day_times(
    times: Iterable[datetime], dose_times: Sequence[datetime], *, hours: float
) -> set[datetime]:
    """Those of `times` that are same-day: within `hours` after a dose (clinical reference section
    2, "Time points": a score then measures the acute state and never counts as response or
    remission; `OutcomeRules.time_point_min_hours`, 20 by default). Each time is placed among the
    sorted doses by one binary search: only the last dose at or before it can be within hours."""
    doses = sorted(dose_times)
    window = timedelta(hours=hours)
    out = set()
    for at in times:
        last = bisect_right(doses, at) - 1
        if last >= 0 and at < doses[last] + window:
            out.add(at)
    return out


def same_day(at: datetime, dose_times: Sequence[datetime], *, hours: float) -> bool:
    """Whether a score taken at `at` is a same-day score (`same_day_times`)."""
    return bool(same_day_times([at], dose_times, hours=hours))


def course(
    points: Sequence[Point],
    *,
    first_treatment_at: datetime | None,
    remission_max: int | None,
    rule: ResponseRule = HALF_BELOW_BASELINE,
    same_day_times: Collection[datetime] = (),
) -> Course:
    """Where a patient stands on one scale: baseline, latest score, change, response, remission.
    Scores taken at `same_day_times` (`same_day`, or rated after the session) are shown as the
    latest but never read as a response or remission."""
    base = baseline(points, first_treatment_at=first_treatment_at)
    after = [p for p in points if base is not None and p.at > base.at]
    latest = max(after, key=lambda p: p.at) if after else None
    counted = [p for p in after if p.at not in same_day_times]
    assessed = max(counted, key=lambda p: p.at) if counted else None
    if base is None or assessed is None:
        return Course(base, latest, None, None, None, None, None)
    return Course(
        baseline=base,
        latest=latest,
        change=assessed.total - base.total,
        percent_change=percent_change(baseline_total=base.total, total=assessed.total),
        category=response_category(baseline_total=base.total, total=assessed.total, rule=rule),
        remission=in_remission(total=assessed.total, remission_max=remission_max),
        assessed=assessed,
    )


# ---------------------------------------------------------------------------------------------
# Outcomes after treatment, for one patient or a whole clinic in one columnar pass (numpy).
#
# Time points (clinical reference section 2, "Time points", a decision that replaces "the first
# score within 24 hours"; section 7: compare like with like, so each figure names its scale,
# threshold and time point). A score taken within 20 hours of a dose (the post-session rating, a
# rating before discharge, one filled in that evening) measures the acute state: it never counts
# as response or remission, and is shown on its own as the "same-day change". Clinic settings
# (KETACARE_OUTCOMES) with these defaults:
TIME_POINT_MIN_HOURS = 20.0  # a score counts at a time point from 20 hours after the dose
FIRST_TREATMENT_MAX_DAYS = 7.0  # after the first treatment: up to the second dose, or 7 days
ONE_WEEK_DAYS = 7.0  # the score nearest 7 days after the first treatment ...
ONE_WEEK_TOLERANCE_DAYS = 1.0  # ... taken 6 to 8 days after it
COURSE_WINDOW_DAYS = 7.0  # after the course: from 20 hours to 7 days after its last treatment
# Intention to treat (clinical reference section 2, a decision): a patient who stopped the course
# counts as not responding after it. KetaCare default, with no published source (a clinic setting,
# `course_stopped_days`): a course not completed is taken as stopped when no treatment followed
# the last one for 14 days, twice the longest gap of an induction course (twice weekly to
# weekly, clinical reference section 5).
COURSE_STOPPED_DAYS = 14.0
# Relapse (clinical reference section 2, a decision, configurable): after a response, two
# consecutive scores that are no longer a response under the scale's rule (`response_rule`: less
# than 50% below baseline; on the PCL-5, less than 10 points). The alternative the issue names: a
# return above the remission threshold, on the same number of scores.
RELAPSE_CONSECUTIVE = 2
# The scales outcomes are read on (CADSS measures dissociation during a session and the C-SSRS
# screen suicide risk: neither is a symptom outcome). The first is the default of the figures.
OUTCOME_SCALES = ("phq9", "qids_sr16", "madrs", "gad7", "epds", "pcl5")
SECONDS_PER_DAY = 86_400.0


class RelapseRule(StrEnum):
    LOSS_OF_RESPONSE = "loss_of_response"
    ABOVE_REMISSION = "above_remission"


RELAPSE_RULE_TEXT = {
    RelapseRule.LOSS_OF_RESPONSE: "{n} consecutive scores no longer {response}",
    RelapseRule.ABOVE_REMISSION: "{n} consecutive scores above the remission threshold",
}


class Trend(StrEnum):
    """Where a responder stands now, for the maintenance prompt."""

    NONE = ""  # not a responder yet, or no score since
    RESPONDING = "responding"
    RISING = "rising"  # the latest score has lost the response: one more and it is a relapse
    RELAPSED = "relapsed"  # the latest scores meet the relapse rule


TREND_TEXT = {
    Trend.RESPONDING: "Responding",
    Trend.RISING: "Scores rising toward relapse",
    Trend.RELAPSED: "Relapsed",
}


class Excluded(StrEnum):
    """Why a treated patient is left out of a figure: counted and listed, never dropped."""

    NOT_MEASURED = "not_measured"
    NO_BASELINE = "no_baseline"
    BASELINE_ZERO = "baseline_zero"
    NO_FIRST_TREATMENT_SCORE = "no_score_after_first_treatment"
    NO_ONE_WEEK_SCORE = "no_score_at_one_week"
    COURSE_NOT_COMPLETED = "course_not_completed"
    NO_COURSE_SCORE = "no_score_after_course"


EXCLUDED_TEXT = {
    Excluded.NOT_MEASURED: "Never scored on this scale",
    Excluded.NO_BASELINE: "No score before the first treatment",
    Excluded.BASELINE_ZERO: "Baseline score of 0 (no reduction possible)",
    Excluded.NO_FIRST_TREATMENT_SCORE: "No score in the time point after the first treatment",
    Excluded.NO_ONE_WEEK_SCORE: "No score 6-8 days after the first treatment",
    Excluded.COURSE_NOT_COMPLETED: "Induction course not completed (stopped, or still under way)",
    Excluded.NO_COURSE_SCORE: "No score after the last induction treatment",
}


@dataclass(frozen=True, slots=True)
class OutcomeRules:
    time_point_min_hours: float = TIME_POINT_MIN_HOURS
    first_treatment_max_days: float = FIRST_TREATMENT_MAX_DAYS
    one_week_days: float = ONE_WEEK_DAYS
    one_week_tolerance_days: float = ONE_WEEK_TOLERANCE_DAYS
    course_window_days: float = COURSE_WINDOW_DAYS
    course_stopped_days: float = COURSE_STOPPED_DAYS
    relapse_rule: RelapseRule = RelapseRule.LOSS_OF_RESPONSE
    relapse_consecutive: int = RELAPSE_CONSECUTIVE
    pcl5_response_points: int = PCL5_RESPONSE_POINTS

    def problems(self) -> dict[str, str]:
        out = {}
        if not 12 <= self.time_point_min_hours <= 72:
            out["time_point_min_hours"] = "must be 12 to 72 hours"
        if not self.time_point_min_hours / 24 < self.first_treatment_max_days <= 28:
            out["first_treatment_max_days"] = "must be more than time_point_min_hours and at most 28 days"
        if not 0 < self.one_week_days <= 28:
            out["one_week_days"] = "must be more than 0 and at most 28 days"
        if not 0 <= self.one_week_tolerance_days < self.one_week_days:
            out["one_week_tolerance_days"] = "must be at least 0 and less than one_week_days"
        if not self.time_point_min_hours / 24 < self.course_window_days <= 28:
            out["course_window_days"] = "must be more than time_point_min_hours and at most 28 days"
        if not 7 <= self.course_stopped_days <= 90:
            out["course_stopped_days"] = "must be 7 to 90 days"
        if not 1 <= self.relapse_consecutive <= 5:
            out["relapse_consecutive"] = "must be 1 to 5 scores"
        low, high = PCL5_RESPONSE_POINTS_RANGE
        if not low <= self.pcl5_response_points <= high:
            out["pcl5_response_points"] = f"must be {low} to {high} points"
        return out

    def relapse_text(self, instrument: str | None = None) -> str:
        """The relapse rule in words, on one scale's response rule (None: any scale)."""
        response = "a response" if instrument is None else response_rule(instrument, self).text()
        return RELAPSE_RULE_TEXT[self.relapse_rule].format(n=self.relapse_consecutive, response=response)

    def first_treatment_text(self) -> str:
        return (
            f"first score from {self.time_point_min_hours:g} hours after the first dose to the start "
            f"of the second ({self.first_treatment_max_days:g} days if there is none)"
        )

    def one_week_text(self) -> str:
        low = self.one_week_days - self.one_week_tolerance_days
        high = self.one_week_days + self.one_week_tolerance_days
        return f"score nearest day {self.one_week_days:g} (days {low:g}-{high:g})"

    def course_text(self) -> str:
        return (
            f"first score from {self.time_point_min_hours:g} hours to {self.course_window_days:g} days "
            "after the last induction treatment"
        )

    def same_day_text(self) -> str:
        return (
            f"a score within {self.time_point_min_hours:g} hours of the first dose (after the session or "
            "before discharge): the acute state, never counted as response"
        )


@lru_cache(maxsize=4)
def rules_from_text(text: str | None) -> OutcomeRules:
    """The clinic's outcome settings from the JSON text of KETACARE_OUTCOMES (empty: the
    defaults). Raises ValueError naming what is wrong."""
    if not text:
        return OutcomeRules()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"KETACARE_OUTCOMES is not JSON: {exc}") from None
    return rules_from_json(data)


def rules_from_json(data: object) -> OutcomeRules:
    """A clinic's outcome settings (a JSON object; absent keys keep the defaults). Raises
    ValueError naming each bad field."""
    if not isinstance(data, dict):
        raise ValueError("outcome settings: expected a JSON object")
    fields = {f: getattr(OutcomeRules(), f) for f in OutcomeRules.__slots__}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"outcome settings: unknown field(s) {', '.join(unknown)}")
    values: dict[str, object] = {}
    errors = []
    for key, raw in data.items():
        default = fields[key]
        if key == "relapse_rule":
            try:
                values[key] = RelapseRule(raw)
            except ValueError:
                errors.append(f"relapse_rule: must be one of {', '.join(RelapseRule)}")
        elif isinstance(raw, bool) or not isinstance(raw, int | float):
            errors.append(f"{key}: must be a number")
        elif isinstance(default, int) and raw != int(raw):
            errors.append(f"{key}: must be a whole number")
        else:
            values[key] = int(raw) if isinstance(default, int) else float(raw)
    if errors:
        raise ValueError("outcome settings: " + "; ".join(errors))
    rules = OutcomeRules(**values)  # type: ignore[arg-type]
    if problems := rules.problems():
        raise ValueError("outcome settings: " + "; ".join(f"{k}: {v}" for k, v in problems.items()))
    return rules


def response_rule(instrument: str, rules: OutcomeRules = OutcomeRules()) -> ResponseRule:
    """The response rule of one scale under the clinic's settings: the one place it is decided."""
    if instrument == "pcl5":
        points = rules.pcl5_response_points
        return ResponseRule(ResponseBasis.POINTS, points, min(PCL5_PARTIAL_POINTS, points))
    return HALF_BELOW_BASELINE


def response_rules_text(rules: OutcomeRules = OutcomeRules()) -> str:
    """Every scale's response rule in one phrase, for pages that show several scales."""
    pcl5 = response_rule("pcl5", rules)
    return f"at least {HALF_BELOW_BASELINE.text()} (PCL-5: at least {pcl5.text()})"


def recall_caveat(instrument_code: str, days_since_dose: float, *, treatment: str = "infusion") -> str | None:
    """A sentence for a score taken sooner after a treatment than its scale's recall period (clinical
    reference section 2, time points): such a score speaks partly of the days before the treatment.
    None when the score covers only time since the treatment, for a scale rated at the present
    moment, and for a score taken before the treatment."""
    scale = instruments.get(instrument_code)
    recall = scale.recall
    if recall.days is None or not 0 <= days_since_dose < recall.days:
        return None
    if days_since_dose < 1:
        hours = math.floor(days_since_dose * 24)
        when = "less than an hour" if hours == 0 else f"{hours} hour{'s' if hours != 1 else ''}"
    else:
        days = math.floor(days_since_dose * 10) / 10  # floored, so 13.96 never reads as 14
        when = f"{days:g} day{'s' if days != 1 else ''}"
    before = recall.days - days_since_dose
    share = "most" if before > recall.days / 2 else "some"
    # "the last 2 weeks, most of them"; "the past month, most of that time".
    portion = f"{share} of them" if recall.text.endswith("s") else f"{share} of that time"
    article = "An" if scale.short_name[0] in "AEIOU" else "A"
    return (
        f"{article} {scale.short_name} taken {when} after the {treatment} asks about {recall.text}, "
        f"{portion} before it."
    )


def time_point_caveat(instrument_code: str, mean_days: float, after: str) -> str:
    """The caveat a clinic figure carries when its scores were taken, on average, sooner after
    the treatment than the scale's recall period (clinical reference section 2, time points):
    "The PHQ-9 asks about the last 2 weeks; these scores were taken 3.1 days after the first
    treatment on average, so most of that period was before it." Empty when none applies."""
    scale = instruments.get(instrument_code)
    recall = scale.recall
    if recall.days is None or not 0 <= mean_days < recall.days:
        return ""
    share = "most" if recall.days - mean_days > recall.days / 2 else "some"
    days = math.floor(mean_days * 10) / 10  # floored, so 13.96 never reads as 14
    return (
        f"The {scale.short_name} asks about {recall.text}; these scores were taken "
        f"{days:g} day{'s' if days != 1 else ''} after {after} on average, so {share} of that "
        "period was before it."
    )


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ScoreColumns:
    """Every scored total on one scale: patient, time (epoch seconds), total; sorted by patient,
    then time."""

    patient: IntArray
    at: FloatArray
    total: IntArray
    # Rated after a session (context post_session): the acute state, whenever it was entered.
    post_session: BoolArray | None = None


@dataclass(frozen=True)
class TreatmentColumns:
    """Every treatment given (a dose started): patient, time (epoch seconds), route, protocol and
    the number of treatments in that protocol's induction course; sorted by patient, then time."""

    patient: IntArray
    at: FloatArray
    route: npt.NDArray[np.object_]
    protocol: npt.NDArray[np.object_]
    course_size: IntArray


@dataclass(frozen=True)
class CohortOutcomes:
    """Per treated patient (one row each, by patient id), on one scale. Times are epoch seconds,
    NaN where there is none; totals are -1 where there is none."""

    patient: IntArray
    first_treatment_at: FloatArray
    route: npt.NDArray[np.object_]
    protocol: npt.NDArray[np.object_]
    treatments: IntArray
    baseline_total: IntArray
    baseline_at: FloatArray
    baseline_row: IntArray  # the baseline's position in the ScoreColumns given (-1: none)
    same_day_total: IntArray  # the first score within `time_point_min_hours` of the first dose
    same_day_at: FloatArray
    first_total: IntArray  # at the first-treatment time point
    first_at: FloatArray
    week_total: IntArray
    week_at: FloatArray
    course_end_at: FloatArray  # the last induction treatment
    course_total: IntArray
    course_at: FloatArray
    # When each time point's window closes (or closed): from then on the patient is in its
    # intention-to-treat denominator, scored or not. The course's: 7 days after its last
    # treatment, or, for a course not completed, `course_stopped_days` after the last treatment.
    first_due_at: FloatArray
    week_due_at: FloatArray
    course_due_at: FloatArray
    first_response_at: FloatArray
    relapse_at: FloatArray  # the first score of the run that meets the relapse rule
    followed_to: FloatArray  # relapse, or the last score after the response (censored)
    latest_total: IntArray
    latest_at: FloatArray
    trend: npt.NDArray[np.object_]
    excluded_first: npt.NDArray[np.object_]  # Excluded value or ""
    excluded_week: npt.NDArray[np.object_]
    excluded_course: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.patient)


def _first_of_groups(rows: IntArray, group: IntArray) -> IntArray:
    """Of `rows` (ascending, grouped), the first row of each group."""
    if len(rows) == 0:
        return rows
    g = group[rows]
    return rows[np.r_[True, g[1:] != g[:-1]]]


def _last_of_groups(rows: IntArray, group: IntArray) -> IntArray:
    if len(rows) == 0:
        return rows
    g = group[rows]
    return rows[np.r_[g[1:] != g[:-1], True]]


def _put(n: int, at: IntArray, values: npt.NDArray[Any], fill: Any, dtype: Any) -> npt.NDArray[Any]:
    out = np.full(n, fill, dtype=dtype)
    out[at] = values
    return out


def evaluate(
    scores: ScoreColumns,
    treatments: TreatmentColumns,
    *,
    instrument: str,
    remission_max: int | None,
    rules: OutcomeRules = OutcomeRules(),
) -> CohortOutcomes:
    """Baseline, response and remission at each time point, time to first response, relapse and
    the current trend, for every patient who has been treated, on the scale `instrument` (whose
    response rule applies). No loop over patients: each step is a masked pass over all rows,
    picking the first or last qualifying row of each patient."""
    rule = response_rule(instrument, rules)
    patients, first_idx, counts = np.unique(treatments.patient, return_index=True, return_counts=True)
    n = len(patients)
    first_at = treatments.at[first_idx]
    size = treatments.course_size[first_idx]
    completed = counts >= size
    course_end_at = np.where(
        completed, treatments.at[np.minimum(first_idx + size - 1, len(treatments.at) - 1)], np.nan
    )

    # Scores of treated patients only, each row knowing its patient's position.
    pos = np.searchsorted(patients, scores.patient)
    pos = np.minimum(pos, max(n - 1, 0))
    treated = (patients[pos] == scores.patient) if n else np.zeros(len(pos), dtype=bool)
    keep = np.flatnonzero(treated)
    at = scores.at[keep]
    total = scores.total[keep]
    group = pos[keep]
    ft = first_at[group]
    unscored = np.bincount(group, minlength=n) == 0

    # Same-day scores: within `time_point_min_hours` of the latest dose before them, or rated
    # after a session. They measure the acute state and count at no time point (reference s. 2):
    # the first one after the first dose is kept as the same-day change, then all are set aside.
    min_s = rules.time_point_min_hours * 3600
    same_day = at - _latest_dose_before(treatments, n, counts, group, at) < min_s
    if scores.post_session is not None:
        same_day |= scores.post_session[keep] & (at >= ft)
    early = np.flatnonzero((at >= ft) & (at < ft + min_s))
    same_day_rows = _first_of_groups(early, group)
    same_day_total = _put(n, group[same_day_rows], total[same_day_rows], -1, np.int64)
    same_day_at = _put(n, group[same_day_rows], at[same_day_rows], np.nan, np.float64)
    counted = np.flatnonzero(~same_day)
    at, total, group, ft = at[counted], total[counted], group[counted], ft[counted]
    source_row = keep[counted]
    rows = np.arange(len(at))

    def first(mask: BoolArray) -> IntArray:
        return _first_of_groups(rows[mask], group)

    def last(mask: BoolArray) -> IntArray:
        return _last_of_groups(rows[mask], group)

    base_rows = last(at < ft)
    baseline_total = _put(n, group[base_rows], total[base_rows], -1, np.int64)
    baseline_at = _put(n, group[base_rows], at[base_rows], np.nan, np.float64)
    baseline_row = _put(n, group[base_rows], source_row[base_rows], -1, np.int64)
    after = at > ft

    # After the first treatment: from 20 hours after the first dose up to the start of the second
    # (7 days if there is none); in practice the pre-session score of treatment 2.
    has_second = counts >= 2
    second_at = np.where(has_second, treatments.at[np.minimum(first_idx + 1, len(treatments.at) - 1)], np.nan)
    max_first = ft + rules.first_treatment_max_days * SECONDS_PER_DAY
    before_second = np.where(has_second[group], at < second_at[group], at <= max_first)
    first_rows = first(after & (at >= ft + min_s) & before_second)
    target = ft + rules.one_week_days * SECONDS_PER_DAY
    distance = np.abs(at - target)
    in_week = after & (distance <= rules.one_week_tolerance_days * SECONDS_PER_DAY)
    candidates = rows[in_week]
    order = np.lexsort((candidates, distance[candidates], group[candidates]))
    nearest = candidates[order]
    week_rows = nearest[np.r_[True, group[nearest][1:] != group[nearest][:-1]]] if len(nearest) else nearest
    ce = course_end_at[group]
    course_rows = first(after & (at >= ce + min_s) & (at <= ce + rules.course_window_days * SECONDS_PER_DAY))

    first_due_at, week_due_at, course_due_at = due_dates(treatments, rules)

    bt = baseline_total[group]
    response = rule.responds(bt, total)
    response_rows = first(after & response)
    first_response_at = _put(n, group[response_rows], at[response_rows], np.nan, np.float64)

    # Relapse: after the first response, a run of `k` consecutive scores that meet the rule.
    fr = first_response_at[group]
    since = at > fr  # False where there is no response (NaN)
    if rules.relapse_rule is RelapseRule.ABOVE_REMISSION and remission_max is not None:
        lost = total > remission_max
    else:
        lost = ~response
    hit = since & lost
    k = rules.relapse_consecutive
    run_start = hit.copy()
    for step in range(1, k):
        ahead = np.zeros(len(rows), dtype=bool)
        ahead[:-step] = hit[step:] & (group[step:] == group[:-step])
        run_start &= ahead
    relapse_rows = first(run_start)
    relapse_at = _put(n, group[relapse_rows], at[relapse_rows], np.nan, np.float64)
    last_since = last(since)
    # Censored at the last score after the first response (at the response itself when it is
    # the latest score: a responder with no follow-up yet counts, contributing no time).
    last_seen = np.fmax(_put(n, group[last_since], at[last_since], np.nan, np.float64), first_response_at)
    followed_to = np.where(np.isnan(relapse_at), last_seen, relapse_at)

    # The trend: how many of the latest scores in a row meet the relapse rule.
    latest_rows = last(after)
    latest_total = _put(n, group[latest_rows], total[latest_rows], -1, np.int64)
    latest_at = _put(n, group[latest_rows], at[latest_rows], np.nan, np.float64)
    broken = last(~hit)  # the latest score that does not meet the rule
    last_break = _put(n, group[broken], broken, -1, np.int64)
    last_row = _put(n, group[latest_rows], latest_rows, -1, np.int64)
    run = np.where(last_row >= 0, last_row - np.maximum(last_break, _group_start(group, n) - 1), 0)
    responded = ~np.isnan(first_response_at)
    trend = np.full(n, Trend.NONE.value, dtype=object)
    trend[responded] = Trend.RESPONDING.value
    trend[responded & (run >= 1)] = Trend.RISING.value
    trend[responded & (run >= k)] = Trend.RELAPSED.value

    first_total = _put(n, group[first_rows], total[first_rows], -1, np.int64)
    week_total = _put(n, group[week_rows], total[week_rows], -1, np.int64)
    course_total = _put(n, group[course_rows], total[course_rows], -1, np.int64)

    no_base = baseline_total < 0
    zero_base = baseline_total == 0
    excluded_first = _reasons(
        unscored, no_base, zero_base, [(first_total < 0, Excluded.NO_FIRST_TREATMENT_SCORE)]
    )
    excluded_week = _reasons(unscored, no_base, zero_base, [(week_total < 0, Excluded.NO_ONE_WEEK_SCORE)])
    excluded_course = _reasons(
        unscored,
        no_base,
        zero_base,
        [(~completed, Excluded.COURSE_NOT_COMPLETED), (course_total < 0, Excluded.NO_COURSE_SCORE)],
    )
    return CohortOutcomes(
        patient=patients.astype(np.int64),
        first_treatment_at=first_at,
        route=treatments.route[first_idx],
        protocol=treatments.protocol[first_idx],
        treatments=counts.astype(np.int64),
        baseline_total=baseline_total,
        baseline_at=baseline_at,
        baseline_row=baseline_row,
        same_day_total=same_day_total,
        same_day_at=same_day_at,
        first_total=first_total,
        first_at=_put(n, group[first_rows], at[first_rows], np.nan, np.float64),
        week_total=week_total,
        week_at=_put(n, group[week_rows], at[week_rows], np.nan, np.float64),
        course_end_at=course_end_at,
        course_total=course_total,
        course_at=_put(n, group[course_rows], at[course_rows], np.nan, np.float64),
        first_due_at=first_due_at,
        week_due_at=week_due_at,
        course_due_at=course_due_at,
        first_response_at=first_response_at,
        relapse_at=relapse_at,
        followed_to=followed_to,
        latest_total=latest_total,
        latest_at=latest_at,
        trend=trend,
        excluded_first=excluded_first,
        excluded_week=excluded_week,
        excluded_course=excluded_course,
    )


def due_dates(treatments: TreatmentColumns, rules: OutcomeRules) -> tuple[FloatArray, FloatArray, FloatArray]:
    """When each treated patient's time points close (by patient id, as `np.unique` orders them):
    after the first treatment, at the second dose (or `first_treatment_max_days`); one week, at
    day 8; the course, `course_window_days` after its last treatment, or, for a course not
    completed, `course_stopped_days` after the last treatment given (intention to treat)."""
    _, first_idx, counts = np.unique(treatments.patient, return_index=True, return_counts=True)
    last = len(treatments.at) - 1
    first_at = treatments.at[first_idx]
    size = treatments.course_size[first_idx]
    second_at = treatments.at[np.minimum(first_idx + 1, last)]
    course_end_at = treatments.at[np.minimum(first_idx + size - 1, last)]
    last_treatment_at = treatments.at[first_idx + counts - 1]
    first_due = np.where(counts >= 2, second_at, first_at + rules.first_treatment_max_days * SECONDS_PER_DAY)
    week_due = first_at + (rules.one_week_days + rules.one_week_tolerance_days) * SECONDS_PER_DAY
    course_due = np.where(
        counts >= size,
        course_end_at + rules.course_window_days * SECONDS_PER_DAY,
        last_treatment_at + rules.course_stopped_days * SECONDS_PER_DAY,
    )
    return first_due, week_due, course_due


# Times as whole milliseconds in one int64 key with the patient's position above them, so one
# sorted search finds each score's latest dose (2**42 ms is beyond the year 2100).
_KEY_SHIFT = 2**42


def _latest_dose_before(
    treatments: TreatmentColumns, n: int, counts: IntArray, group: IntArray, at: FloatArray
) -> FloatArray:
    """For each score (its patient's position `group`, time `at`), the start of the latest dose
    given at or before it; -inf for a score before the patient's first dose."""
    position = np.repeat(np.arange(n, dtype=np.int64), counts)
    dose_key = position * _KEY_SHIFT + np.round(treatments.at * 1000).astype(np.int64)
    score_key = group.astype(np.int64) * _KEY_SHIFT + np.round(at * 1000).astype(np.int64)
    idx = np.searchsorted(dose_key, score_key, side="right") - 1
    valid = idx >= 0
    valid[valid] = position[idx[valid]] == group[valid]
    return np.where(valid, treatments.at[np.maximum(idx, 0)], -np.inf)


def _group_start(group: IntArray, n: int) -> IntArray:
    """The first row of each patient's scores (or a past-the-end row for patients with none)."""
    starts = np.full(n, np.iinfo(np.int64).max // 2, dtype=np.int64)
    if len(group):
        rows = np.arange(len(group))
        firsts = rows[np.r_[True, group[1:] != group[:-1]]]
        starts[group[firsts]] = firsts
    return starts


def _reasons(
    unscored: BoolArray, no_base: BoolArray, zero_base: BoolArray, steps: list[tuple[BoolArray, Excluded]]
) -> npt.NDArray[np.object_]:
    """The first reason that applies to each patient, in the order the analysis meets them."""
    out = np.full(len(no_base), "", dtype=object)
    for mask, reason in reversed(steps):
        out[mask] = reason.value
    out[zero_base] = Excluded.BASELINE_ZERO.value
    out[no_base] = Excluded.NO_BASELINE.value
    out[unscored] = Excluded.NOT_MEASURED.value
    return out


def is_response(baseline_total: IntArray, total: IntArray, *, rule: ResponseRule) -> BoolArray:
    """Response at a time point under the scale's rule, elementwise (totals of -1 mean no score)."""
    result: BoolArray = (total >= 0) & rule.responds(baseline_total, total)
    return result


def is_remission(total: IntArray, remission_max: int | None) -> BoolArray:
    if remission_max is None:
        return np.zeros(len(total), dtype=bool)
    return (total >= 0) & (total <= remission_max)


def weeks_on_trials_before(
    patient: IntArray, started: IntArray, stopped: IntArray, cutoff: IntArray
) -> tuple[IntArray, FloatArray]:
    """Weeks each patient spent on antidepressant trials before `cutoff` (the first ketamine
    treatment), counting overlapping trials once: the rule of `staging.weeks_on_trials`, for many
    patients at once. Days are date ordinals; rows are one trial each (current episode), with the
    cutoff of its patient. Returns (patients, weeks) for patients with any time on trials."""
    stop = np.minimum(stopped, cutoff)
    keep = started < stop
    patient, start, stop = patient[keep], started[keep], stop[keep]
    if len(patient) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    patients, group = np.unique(patient, return_inverse=True)
    # Shift each patient's days far apart, so one running maximum works patient by patient.
    span = int(max(stop.max(), 1)) + 1
    s = start + group * span
    e = stop + group * span
    order = np.lexsort((e, s))
    s, e, group = s[order], e[order], group[order]
    covered_to = np.maximum.accumulate(e)
    previous = np.r_[np.iinfo(np.int64).min, covered_to[:-1]]
    days = np.maximum(0, e - np.maximum(s, previous))
    total = np.bincount(group, weights=days, minlength=len(patients))
    return patients.astype(np.int64), np.round(total / 7, 1)


@dataclass(frozen=True, slots=True)
class Published:
    """A published figure to read a clinic's own beside (clinical reference section 7): always
    with its scale, threshold and time point, so like is compared with like."""

    source: str
    figure: str
    definition: str
    time_point: str  # "first" (after one treatment), "course", "durability", "claim", "other"


PUBLISHED = (
    Published(
        "Clinic marketing claim",
        '50-70% "significant improvement after one infusion"',
        "undefined: a claim, not a measured figure",
        "first",
    ),
    Published(
        "Murrough 2013, Am J Psychiatry (single IV infusion vs midazolam)",
        "response at 24 h 64% vs 28%",
        "MADRS >= 50% reduction",
        "first",
    ),
    Published(
        "Cochrane review 2021 (ketamine vs midazolam)",
        "response at 24 h 46.5% vs 25.9%; remission 32.7% vs 18.0%",
        "as reported by the included trials",
        "first",
    ),
    Published(
        "Murrough 2013, Biol Psychiatry (6 infusions)",
        "response 70.8%; median time to relapse 18 days",
        "MADRS",
        "course",
    ),
    Published(
        "TRANSFORM-2 (esketamine + antidepressant)",
        "response 69.3% vs 52.0%; remission 52.5% vs 31.0% at 4 weeks",
        "MADRS; remission <= 12",
        "course",
    ),
    Published(
        "TRANSFORM-1",
        "response 54.1% (56 mg), 53.1% (84 mg) vs 38.9%",
        "MADRS",
        "course",
    ),
    Published(
        "ORKA-1 real-world IV ketamine",
        "response 53.6%, remission 28.9%; ~80% still responding at 4 weeks, ~60% at 8",
        "PHQ-9; remission < 5",
        "course",
    ),
    Published(
        "SUSTAIN-1",
        "relapse 26.7% vs 45.3% in stable remitters (HR 0.49)",
        "esketamine continued vs stopped",
        "durability",
    ),
    Published(
        "STAR*D (antidepressant steps 1-4)",
        "remission 36.8%, 30.6%, 13.7%, 13.0%",
        "QIDS-SR <= 5",
        "other",
    ),
)
CLAIM_RANGE = (0.50, 0.70)  # the advertised share improving after one infusion

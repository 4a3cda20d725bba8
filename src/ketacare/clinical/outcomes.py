"""Outcome rules: baseline, change from baseline, response, remission.

Definitions from the clinical reference (section 2): response is a reduction of at least 50% from
baseline, partial response 25-49%, non-response under 25%; remission is a score at or under the
scale's remission threshold (PHQ-9 < 5, QIDS-SR16 <= 5, MADRS <= 10 or 12, GAD-7 < 5, EPDS < 10,
PCL-5 below its cut-off). Baseline is the last score on that scale before the first treatment.
Lower scores are better on every scale KetaCare follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

RESPONSE_MIN_REDUCTION_PCT = Decimal(50)
PARTIAL_MIN_REDUCTION_PCT = Decimal(25)


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


def percent_change(*, baseline_total: int, total: int) -> Decimal | None:
    """Change from baseline in percent of baseline, one decimal (negative is improvement).
    None when the baseline is 0: no reduction is possible from a score of 0."""
    if baseline_total == 0:
        return None
    return (Decimal(total - baseline_total) * 100 / baseline_total).quantize(Decimal("0.1"), ROUND_HALF_UP)


def reduction_pct(*, baseline_total: int, total: int) -> Decimal | None:
    change = percent_change(baseline_total=baseline_total, total=total)
    return None if change is None else -change


def response_category(*, baseline_total: int, total: int) -> ResponseCategory | None:
    # Compared exactly (not on the rounded percentage): 50% means total <= baseline / 2.
    if baseline_total == 0:
        return None
    reduction = Decimal(baseline_total - total) * 100 / baseline_total
    if reduction >= RESPONSE_MIN_REDUCTION_PCT:
        return ResponseCategory.RESPONSE
    if reduction >= PARTIAL_MIN_REDUCTION_PCT:
        return ResponseCategory.PARTIAL
    return ResponseCategory.NON_RESPONSE


def in_remission(*, total: int, remission_max: int | None) -> bool | None:
    return None if remission_max is None else total <= remission_max


def response_threshold(baseline_total: int) -> Decimal:
    """The highest total that is still a response (50% below baseline), for drawing on a chart."""
    return Decimal(baseline_total) * (100 - RESPONSE_MIN_REDUCTION_PCT) / 100


@dataclass(frozen=True, slots=True)
class Course:
    baseline: Point | None
    latest: Point | None
    change: int | None
    percent_change: Decimal | None
    category: ResponseCategory | None
    remission: bool | None


def course(
    points: Sequence[Point], *, first_treatment_at: datetime | None, remission_max: int | None
) -> Course:
    """Where a patient stands on one scale: baseline, latest score, change, response, remission."""
    base = baseline(points, first_treatment_at=first_treatment_at)
    after = [p for p in points if base is not None and p.at > base.at]
    latest = max(after, key=lambda p: p.at) if after else None
    if base is None or latest is None:
        return Course(base, latest, None, None, None, None)
    return Course(
        baseline=base,
        latest=latest,
        change=latest.total - base.total,
        percent_change=percent_change(baseline_total=base.total, total=latest.total),
        category=response_category(baseline_total=base.total, total=latest.total),
        remission=in_remission(total=latest.total, remission_max=remission_max),
    )

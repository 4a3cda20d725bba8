from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import outcomes
from ketacare.clinical.outcomes import Point, ResponseCategory

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


@pytest.mark.parametrize(
    ("base", "total", "category"),
    [
        (20, 10, ResponseCategory.RESPONSE),  # exactly 50%
        (20, 11, ResponseCategory.PARTIAL),  # 45%
        (20, 15, ResponseCategory.PARTIAL),  # exactly 25%
        (20, 16, ResponseCategory.NON_RESPONSE),  # 20%
        (21, 10, ResponseCategory.RESPONSE),  # 52.4%
        (21, 11, ResponseCategory.PARTIAL),  # 47.6%: rounding never turns this into a response
        (10, 14, ResponseCategory.NON_RESPONSE),  # worse
    ],
)
def test_response_categories_at_the_boundaries(base, total, category):
    assert outcomes.response_category(baseline_total=base, total=total) is category


def test_percent_change_and_a_zero_baseline():
    assert outcomes.percent_change(baseline_total=21, total=11) == Decimal("-47.6")
    assert outcomes.percent_change(baseline_total=0, total=3) is None
    assert outcomes.response_category(baseline_total=0, total=0) is None


def test_baseline_is_the_last_score_before_the_first_treatment():
    points = [Point(day(-10), 22), Point(day(-1), 19), Point(day(0), 18), Point(day(2), 8)]
    assert outcomes.baseline(points, first_treatment_at=day(0)) == Point(day(-1), 19)
    assert outcomes.baseline(points, first_treatment_at=None) == Point(day(2), 8)
    assert outcomes.baseline(points[2:], first_treatment_at=day(0)) is None


def test_course_names_response_and_remission():
    points = [Point(day(-3), 18), Point(day(1), 12), Point(day(8), 4)]
    result = outcomes.course(points, first_treatment_at=day(0), remission_max=4)
    assert (result.baseline.total, result.latest.total, result.change) == (18, 4, -14)
    assert result.percent_change == Decimal("-77.8")
    assert (result.category, result.remission) == (ResponseCategory.RESPONSE, True)


def test_course_without_follow_up_has_no_verdict():
    result = outcomes.course([Point(day(-3), 18)], first_treatment_at=day(0), remission_max=4)
    assert (result.latest, result.category, result.remission) == (None, None, None)


@given(st.integers(1, 92), st.integers(0, 92))
def test_response_means_at_most_half_the_baseline(base, total):
    is_response = outcomes.response_category(baseline_total=base, total=total) is ResponseCategory.RESPONSE
    assert is_response == (2 * total <= base)
    assert (total <= outcomes.response_threshold(base)) == is_response

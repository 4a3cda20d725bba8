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


def test_a_same_day_latest_score_is_shown_but_never_read_as_a_response():
    """A PHQ-9 at 20 before, 4 an hour after the dose and 19 the next week: the chart's latest is
    the 4, but response and remission are read from the newest score that is not same-day."""
    dose = day(7)
    points = [Point(day(-3), 20), Point(day(1), 19), Point(dose + timedelta(hours=1), 4)]
    same = {p.at for p in points if outcomes.same_day(p.at, [day(0), dose], hours=20)}
    result = outcomes.course(points, first_treatment_at=day(0), remission_max=4, same_day_times=same)
    assert result.latest == Point(dose + timedelta(hours=1), 4) and result.latest_is_same_day
    assert result.assessed == Point(day(1), 19)
    assert (result.change, result.category, result.remission) == (-1, ResponseCategory.NON_RESPONSE, False)
    # Only same-day scores after the baseline: no verdict at all, rather than a flattering one.
    only_same_day = outcomes.course(
        points[::2], first_treatment_at=day(0), remission_max=4, same_day_times=same
    )
    assert (only_same_day.latest.total, only_same_day.category, only_same_day.remission) == (4, None, None)


@pytest.mark.parametrize(
    ("after", "is_same_day"),
    [
        (timedelta(0), True),
        (timedelta(hours=19, minutes=59), True),
        (timedelta(hours=20), False),
        (-timedelta(minutes=1), False),
    ],
)
def test_a_score_is_same_day_from_the_dose_to_20_hours_after_it(after, is_same_day):
    assert outcomes.same_day(day(0) + after, [day(-30), day(0)], hours=20) is is_same_day


def test_course_without_follow_up_has_no_verdict():
    result = outcomes.course([Point(day(-3), 18)], first_treatment_at=day(0), remission_max=4)
    assert (result.latest, result.category, result.remission) == (None, None, None)


@given(st.integers(1, 92), st.integers(0, 92))
def test_response_means_at_most_half_the_baseline(base, total):
    is_response = outcomes.response_category(baseline_total=base, total=total) is ResponseCategory.RESPONSE
    assert is_response == (2 * total <= base)
    assert (total <= outcomes.response_threshold(base)) == is_response


PCL5 = outcomes.response_rule("pcl5")


@pytest.mark.parametrize(
    ("base", "total", "category"),
    [
        (40, 30, ResponseCategory.RESPONSE),  # 10 points: clinically meaningful
        (40, 31, ResponseCategory.PARTIAL),  # 9 points: reliable change only
        (40, 35, ResponseCategory.PARTIAL),  # 5 points
        (40, 36, ResponseCategory.NON_RESPONSE),  # 4 points
        (15, 5, ResponseCategory.RESPONSE),  # 10 points, 67%
        (80, 70, ResponseCategory.RESPONSE),  # 10 points though only 12.5%
        (9, 0, ResponseCategory.PARTIAL),  # 100% but only 9 points
    ],
)
def test_pcl5_responds_at_a_fall_of_10_points_not_50_percent(base, total, category):
    assert outcomes.response_category(baseline_total=base, total=total, rule=PCL5) is category


def test_a_phq9_still_needs_50_percent():
    phq9 = outcomes.response_rule("phq9")
    assert phq9 == outcomes.HALF_BELOW_BASELINE
    assert outcomes.response_category(baseline_total=20, total=10, rule=phq9) is ResponseCategory.RESPONSE
    assert outcomes.response_category(baseline_total=20, total=11, rule=phq9) is ResponseCategory.PARTIAL
    assert outcomes.response_category(baseline_total=25, total=15, rule=phq9) is ResponseCategory.PARTIAL


def test_every_scale_but_the_pcl5_uses_the_50_percent_rule():
    for code in outcomes.OUTCOME_SCALES:
        rule = outcomes.response_rule(code)
        assert (rule.basis is outcomes.ResponseBasis.POINTS) == (code == "pcl5")


def test_the_pcl5_setting_changes_the_threshold_and_the_words():
    rules = outcomes.OutcomeRules(pcl5_response_points=15)
    rule = outcomes.response_rule("pcl5", rules)
    assert outcomes.response_category(baseline_total=40, total=30, rule=rule) is ResponseCategory.PARTIAL
    assert outcomes.response_category(baseline_total=40, total=25, rule=rule) is ResponseCategory.RESPONSE
    assert outcomes.response_threshold(40, rule) == 25
    assert rule.text() == "15 points below baseline"


def test_the_rule_in_words_says_points_for_the_pcl5():
    rules = outcomes.OutcomeRules()
    assert PCL5.text() == "10 points below baseline"
    assert outcomes.HALF_BELOW_BASELINE.text() == "50% below baseline"
    assert rules.relapse_text("pcl5") == "2 consecutive scores no longer 10 points below baseline"
    assert rules.relapse_text("phq9") == "2 consecutive scores no longer 50% below baseline"
    assert rules.relapse_text() == "2 consecutive scores no longer a response"
    assert outcomes.response_rules_text(rules) == (
        "at least 50% below baseline (PCL-5: at least 10 points below baseline)"
    )


def test_a_pcl5_course_reads_response_by_points():
    points = [Point(day(-3), 40), Point(day(8), 30)]
    result = outcomes.course(points, first_treatment_at=day(0), remission_max=32, rule=PCL5)
    assert (result.change, result.category) == (-10, ResponseCategory.RESPONSE)


@given(st.integers(1, 80), st.integers(0, 80))
def test_pcl5_response_means_at_least_10_points_down(base, total):
    is_response = (
        outcomes.response_category(baseline_total=base, total=total, rule=PCL5) is ResponseCategory.RESPONSE
    )
    assert is_response == (base - total >= 10)
    assert (total <= outcomes.response_threshold(base, PCL5)) == is_response


class TestRecallCaveat:
    def test_a_phq9_two_days_after_the_infusion_says_so(self):
        assert outcomes.recall_caveat("phq9", 2) == (
            "A PHQ-9 taken 2 days after the infusion asks about the last 2 weeks, most of them before it."
        )

    def test_at_the_boundary_of_the_recall_period(self):
        assert outcomes.recall_caveat("phq9", 13.9) == (
            "A PHQ-9 taken 13.9 days after the infusion asks about the last 2 weeks, some of them before it."
        )
        assert outcomes.recall_caveat("phq9", 14) is None
        assert outcomes.recall_caveat("phq9", 30) is None

    def test_times_are_floored_so_a_caveat_never_reads_as_the_full_period(self):
        assert "taken 13.9 days" in outcomes.recall_caveat("phq9", 13.99)

    def test_each_scale_its_own_period(self):
        assert outcomes.recall_caveat("epds", 6.5) == (
            "An EPDS taken 6.5 days after the infusion asks about the past 7 days, some of them before it."
        )
        assert outcomes.recall_caveat("epds", 7) is None
        assert outcomes.recall_caveat("qids_sr16", 1) is not None
        assert outcomes.recall_caveat("pcl5", 29.9) is not None
        assert outcomes.recall_caveat("pcl5", 30) is None
        assert outcomes.recall_caveat("pcl5", 7, treatment="dose") == (
            "A PCL-5 taken 7 days after the dose asks about the past month, most of that time before it."
        )

    def test_a_madrs_at_24_hours(self):
        assert outcomes.recall_caveat("madrs", 1) == (
            "A MADRS taken 1 day after the infusion asks about the last week, most of that time before it."
        )

    def test_hours_under_a_day(self):
        assert outcomes.recall_caveat("gad7", 0.5).startswith("A GAD-7 taken 12 hours after the infusion")
        assert outcomes.recall_caveat("gad7", 0.01).startswith("A GAD-7 taken less than an hour after")

    def test_no_caveat_for_the_present_moment_or_before_the_dose(self):
        assert outcomes.recall_caveat("cadss", 0.03) is None
        assert outcomes.recall_caveat("phq9", -1) is None

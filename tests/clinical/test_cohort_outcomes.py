"""The outcome rules on small hand-worked cohorts (clinical reference section 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import outcomes
from ketacare.clinical.outcomes import Excluded, OutcomeRules, RelapseRule, Trend, response_rule

PHQ9 = response_rule("phq9")
PCL5 = response_rule("pcl5")
H = 3600.0
D = 86_400.0


def cohort(scores, treatments, *, rules=None, remission_max=4, instrument="phq9"):
    """scores: (patient, day, total); treatments: (patient, day, route, course size)."""
    scores = sorted(scores)
    treatments = sorted(treatments)
    return outcomes.evaluate(
        outcomes.ScoreColumns(
            patient=np.array([s[0] for s in scores], dtype=np.int64),
            at=np.array([s[1] * D for s in scores], dtype=np.float64),
            total=np.array([s[2] for s in scores], dtype=np.int64),
        ),
        cohort_treatments(treatments),
        instrument=instrument,
        remission_max=remission_max,
        rules=rules or OutcomeRules(),
    )


COURSE = (0, 2, 4, 7, 9, 11)


def cohort_treatments(treatments):
    return outcomes.TreatmentColumns(
        patient=np.array([t[0] for t in treatments], dtype=np.int64),
        at=np.array([t[1] * D for t in treatments], dtype=np.float64),
        route=np.array([t[2] for t in treatments], dtype=object),
        protocol=np.array([t[2] + "_p" for t in treatments], dtype=object),
        course_size=np.array([t[3] for t in treatments], dtype=np.int64),
    )


def iv(patient, days=COURSE):
    return [(patient, d, "iv_ketamine", 6) for d in days]


def row(result, patient):
    i = int(np.flatnonzero(result.patient == patient)[0])
    return {f: getattr(result, f)[i] for f in result.__dataclass_fields__}


def days(value):
    return None if math.isnan(value) else round(value / D, 4)


class TestFirstTreatment:
    def test_exactly_half_the_baseline_is_a_response_and_one_point_more_is_not(self):
        result = cohort(
            [(1, -3, 20), (1, 1, 10), (2, -3, 20), (2, 1, 11)],
            iv(1) + iv(2),
        )
        one, two = row(result, 1), row(result, 2)
        assert (one["baseline_total"], one["first_total"]) == (20, 10)
        assert outcomes.is_response(result.baseline_total, result.first_total, rule=PHQ9).tolist() == [
            True,
            False,
        ]
        assert days(one["first_response_at"]) == 1
        assert math.isnan(two["first_response_at"])
        assert one["excluded_first"] == two["excluded_first"] == ""

    def test_baseline_is_the_last_score_before_the_first_treatment(self):
        result = cohort([(1, -10, 25), (1, -2, 18), (1, 0.5, 9)], iv(1))
        assert row(result, 1)["baseline_total"] == 18
        assert days(row(result, 1)["baseline_at"]) == -2

    def test_a_score_after_the_second_dose_is_missing_follow_up_not_a_non_response(self):
        result = cohort([(1, -3, 20), (1, 3.9, 5)], iv(1))  # second dose on day 2
        assert row(result, 1)["first_total"] == -1
        assert row(result, 1)["excluded_first"] == Excluded.NO_FIRST_TREATMENT_SCORE
        # ... but it still counts as the first response, on day 3.9.
        assert days(row(result, 1)["first_response_at"]) == 3.9

    def test_19h59_after_the_dose_is_same_day_and_20h_counts(self):
        early = cohort([(1, -3, 20), (1, (20 * H - 60) / D, 5)], iv(1))
        assert row(early, 1)["first_total"] == -1
        assert row(early, 1)["same_day_total"] == 5
        assert math.isnan(row(early, 1)["first_response_at"])  # never a response, not even later
        on_time = cohort([(1, -3, 20), (1, 20 * H / D, 5)], iv(1))
        assert row(on_time, 1)["first_total"] == 5
        assert row(on_time, 1)["same_day_total"] == -1

    def test_the_window_ends_at_the_start_of_the_second_dose(self):
        pre_session = cohort([(1, -3, 20), (1, 2 - 60 / D, 9)], iv(1))  # a minute before dose 2
        assert row(pre_session, 1)["first_total"] == 9
        at_start = cohort([(1, -3, 20), (1, 2, 9)], iv(1))  # at the start of dose 2: same-day
        assert row(at_start, 1)["first_total"] == -1
        assert days(row(at_start, 1)["first_due_at"]) == 2

    def test_without_a_second_dose_the_window_is_7_days_a_clinic_setting(self):
        single = iv(1, days=(0,))
        assert row(cohort([(1, -3, 20), (1, 7, 5)], single), 1)["first_total"] == 5
        assert row(cohort([(1, -3, 20), (1, 7.01, 5)], single), 1)["first_total"] == -1
        later = cohort([(1, -3, 20), (1, 9, 5)], single, rules=OutcomeRules(first_treatment_max_days=10))
        assert row(later, 1)["first_total"] == 5
        assert days(row(later, 1)["first_due_at"]) == 10

    def test_a_post_session_rating_is_same_day_whenever_it_was_entered(self):
        scores = [(1, -3, 20), (1, 1, 5)]
        result = outcomes.evaluate(
            outcomes.ScoreColumns(
                patient=np.array([1, 1], dtype=np.int64),
                at=np.array([s[1] * D for s in scores]),
                total=np.array([20, 5], dtype=np.int64),
                post_session=np.array([False, True]),
            ),
            cohort_treatments(iv(1)),
            instrument="phq9",
            remission_max=4,
        )
        assert row(result, 1)["first_total"] == -1
        assert math.isnan(row(result, 1)["first_response_at"])

    def test_no_baseline_and_zero_baseline_are_excluded_with_their_reason(self):
        result = cohort([(1, 1.5, 10), (2, -1, 0), (2, 1.5, 0)], iv(1) + iv(2))
        assert row(result, 1)["excluded_first"] == Excluded.NO_BASELINE
        assert row(result, 1)["excluded_course"] == Excluded.NO_BASELINE
        assert row(result, 2)["excluded_first"] == Excluded.BASELINE_ZERO
        assert not outcomes.is_response(result.baseline_total, result.first_total, rule=PHQ9).any()

    def test_untreated_patients_are_not_in_the_cohort_and_unscored_ones_are_excluded(self):
        result = cohort([(1, -3, 20), (9, -3, 20), (9, 1, 2)], iv(1) + iv(2))
        assert result.patient.tolist() == [1, 2]
        assert row(result, 2)["excluded_first"] == Excluded.NOT_MEASURED
        assert row(result, 2)["excluded_course"] == Excluded.NOT_MEASURED


class TestOneWeekAndCourse:
    def test_one_week_takes_the_score_nearest_day_7_within_a_day(self):
        result = cohort([(1, -3, 20), (1, 6.2, 12), (1, 6.9, 9), (1, 8.5, 2)], iv(1))
        assert row(result, 1)["week_total"] == 9
        # The post-session score of the day-7 treatment is nearer day 7, but same-day.
        same_day = cohort([(1, -3, 20), (1, 6.2, 12), (1, 7.05, 2)], iv(1))
        assert row(same_day, 1)["week_total"] == 12
        late = cohort([(1, -3, 20), (1, 8.5, 2)], iv(1))
        assert row(late, 1)["excluded_week"] == Excluded.NO_ONE_WEEK_SCORE

    def test_course_is_read_after_the_last_induction_treatment(self):
        result = cohort([(1, -3, 20), (1, 10, 15), (1, 11 + 4 / 24, 2), (1, 12, 3)], iv(1))
        one = row(result, 1)
        assert days(one["course_end_at"]) == 11
        assert one["course_total"] == 3  # 4 hours after the last treatment is same-day
        assert outcomes.is_remission(result.course_total, 4).tolist() == [True]
        assert days(one["course_due_at"]) == 18

    def test_the_course_window_opens_20_hours_after_the_last_treatment(self):
        just_before = cohort([(1, -3, 20), (1, 11 + (20 * H - 60) / D, 3)], iv(1))
        assert row(just_before, 1)["excluded_course"] == Excluded.NO_COURSE_SCORE
        at_20h = cohort([(1, -3, 20), (1, 11 + 20 * H / D, 3)], iv(1))
        assert row(at_20h, 1)["course_total"] == 3

    def test_a_course_not_completed_is_due_14_days_after_its_last_treatment(self):
        one = row(cohort([(1, -3, 20)], iv(1, days=(0, 2, 4))), 1)
        assert days(one["course_due_at"]) == 18

    def test_an_incomplete_course_is_excluded_not_counted_as_failure(self):
        result = cohort([(1, -3, 20), (1, 5, 18)], iv(1, days=(0, 2, 4)))
        one = row(result, 1)
        assert math.isnan(one["course_end_at"])
        assert one["excluded_course"] == Excluded.COURSE_NOT_COMPLETED
        assert one["treatments"] == 3

    def test_no_score_within_the_course_window(self):
        result = cohort([(1, -3, 20), (1, 19, 3)], iv(1))
        assert row(result, 1)["excluded_course"] == Excluded.NO_COURSE_SCORE


class TestRelapse:
    SCORES = [
        (1, -3, 20),
        (1, 1.5, 10),  # response (exactly 50%)
        (1, 20, 11),  # lost once
        (1, 27, 9),  # response again: the run is broken
        (1, 34, 11),  # lost ...
        (1, 41, 12),  # ... and again: relapse, dated at day 34
        (1, 48, 14),
    ]

    def test_relapse_needs_the_second_consecutive_score_and_is_dated_at_the_first(self):
        one = row(cohort(self.SCORES, iv(1)), 1)
        assert days(one["relapse_at"]) == 34
        assert days(one["followed_to"]) == 34
        assert one["trend"] == Trend.RELAPSED

    def test_one_lost_score_is_rising_toward_relapse_not_a_relapse(self):
        one = row(cohort(self.SCORES[:5], iv(1)), 1)
        assert math.isnan(one["relapse_at"])
        assert one["trend"] == Trend.RISING
        assert days(one["followed_to"]) == 34  # censored at the last score

    def test_a_responder_still_responding_is_censored_at_the_last_score(self):
        one = row(cohort(self.SCORES[:4], iv(1)), 1)
        assert one["trend"] == Trend.RESPONDING
        assert days(one["followed_to"]) == 27

    def test_above_remission_rule_is_configurable(self):
        scores = [(1, -3, 20), (1, 1.5, 3), (1, 10, 6), (1, 17, 7)]  # still responses, not remission
        default = row(cohort(scores, iv(1)), 1)
        assert math.isnan(default["relapse_at"])
        rule = OutcomeRules(relapse_rule=RelapseRule.ABOVE_REMISSION)
        assert days(row(cohort(scores, iv(1), rules=rule), 1)["relapse_at"]) == 10

    def test_one_consecutive_score_can_be_chosen(self):
        one = row(cohort(self.SCORES, iv(1), rules=OutcomeRules(relapse_consecutive=1)), 1)
        assert days(one["relapse_at"]) == 20

    def test_non_responders_have_no_trend(self):
        one = row(cohort([(1, -3, 20), (1, 1, 18), (1, 5, 19)], iv(1)), 1)
        assert one["trend"] == Trend.NONE
        assert math.isnan(one["followed_to"])


class TestRules:
    def test_settings_parse_and_name_the_bad_field(self):
        rules = outcomes.rules_from_json({"first_treatment_max_days": 10, "relapse_rule": "above_remission"})
        assert rules.first_treatment_max_days == 10.0
        assert rules.relapse_rule is RelapseRule.ABOVE_REMISSION
        with pytest.raises(ValueError, match="relapse_consecutive: must be 1 to 5"):
            outcomes.rules_from_json({"relapse_consecutive": 0})
        with pytest.raises(ValueError, match="unknown field"):
            outcomes.rules_from_json({"relapse": 2})
        with pytest.raises(ValueError, match="relapse_rule: must be one of"):
            outcomes.rules_from_json({"relapse_rule": "sometimes"})

    def test_pcl5_response_points_is_a_setting_from_5_to_20(self):
        assert outcomes.rules_from_json({}).pcl5_response_points == 10
        assert outcomes.rules_from_json({"pcl5_response_points": 15}).pcl5_response_points == 15
        for bad in (4, 21, 0):
            with pytest.raises(ValueError, match="pcl5_response_points: must be 5 to 20 points"):
                outcomes.rules_from_json({"pcl5_response_points": bad})
        with pytest.raises(ValueError, match="pcl5_response_points: must be a whole number"):
            outcomes.rules_from_json({"pcl5_response_points": 10.5})
        with pytest.raises(ValueError, match="pcl5_response_points: must be a number"):
            outcomes.rules_from_json({"pcl5_response_points": "10"})

    def test_the_first_treatment_is_the_earliest_and_the_route_is_its_route(self):
        result = cohort(
            [(1, -3, 20)], [(1, 5, "esketamine", 8), (1, 0, "iv_ketamine", 6), (1, 2, "iv_ketamine", 6)]
        )
        one = row(result, 1)
        assert days(one["first_treatment_at"]) == 0
        assert one["route"] == "iv_ketamine"
        assert one["treatments"] == 3


class TestWeeksOnTrials:
    def test_overlaps_count_once_and_time_after_ketamine_is_cut(self):
        from datetime import date

        d = date(2026, 1, 1).toordinal()
        patients, weeks = outcomes.weeks_on_trials_before(
            np.array([1, 1, 1, 2], dtype=np.int64),
            np.array([d, d + 35, d + 49, d + 100], dtype=np.int64),
            np.array([d + 42, d + 70, d + 200, d + 130], dtype=np.int64),
            np.array([d + 84, d + 84, d + 84, d + 90], dtype=np.int64),  # patient 2 began later
        )
        assert patients.tolist() == [1]
        assert weeks.tolist() == [12.0]  # days 0-84, the overlaps once, cut at ketamine

    @given(
        st.lists(st.tuples(st.integers(0, 300), st.integers(0, 200)), min_size=1, max_size=6),
        st.integers(50, 600),
    )
    def test_agrees_with_the_staging_rule(self, spans, cutoff):
        from datetime import date, timedelta
        from decimal import Decimal

        from ketacare.clinical import staging

        day0 = date(2025, 1, 1)
        trials = []
        for start, length in spans:
            stop = min(start + length, cutoff)
            if start < stop:
                trials.append(
                    staging.Trial(
                        drug="sertraline",
                        daily_dose_mg=Decimal(100),
                        weeks=Decimal(0),
                        outcome=staging.Outcome.NO_RESPONSE,
                        started_on=day0 + timedelta(days=start),
                        stopped_on=day0 + timedelta(days=stop),
                    )
                )
        _, weeks = outcomes.weeks_on_trials_before(
            np.zeros(len(spans), dtype=np.int64),
            np.array([day0.toordinal() + s for s, _ in spans], dtype=np.int64),
            np.array([day0.toordinal() + s + n for s, n in spans], dtype=np.int64),
            np.full(len(spans), day0.toordinal() + cutoff, dtype=np.int64),
        )
        expected = float(staging.weeks_on_trials(trials)) if trials else None
        assert (float(weeks[0]) if len(weeks) else None) == expected


def test_a_responder_without_a_later_score_is_counted_with_no_time_followed():
    one = row(cohort([(1, -3, 20), (1, 1.5, 9)], iv(1)), 1)
    assert days(one["first_response_at"]) == 1.5
    assert days(one["followed_to"]) == 1.5
    assert math.isnan(one["relapse_at"])


class TestPcl5RespondsByPoints:
    """PCL-5 response is a fall of at least 10 points, not 50% (clinical reference section 2)."""

    def test_a_fall_of_10_points_is_a_response_and_9_is_not(self):
        result = cohort(
            [(1, -3, 40), (1, 1, 30), (2, -3, 40), (2, 1, 31)],
            iv(1) + iv(2),
            instrument="pcl5",
            remission_max=32,
        )
        one, two = row(result, 1), row(result, 2)
        assert (one["baseline_total"], one["first_total"]) == (40, 30)
        assert outcomes.is_response(result.baseline_total, result.first_total, rule=PCL5).tolist() == [
            True,
            False,
        ]
        assert days(one["first_response_at"]) == 1
        assert math.isnan(two["first_response_at"])

    def test_the_same_scores_on_the_phq9_need_50_percent(self):
        result = cohort([(1, -3, 40), (1, 1, 30)], iv(1), instrument="phq9")
        assert math.isnan(row(result, 1)["first_response_at"])  # 25%: not a response on the 50% rule

    def test_relapse_is_no_longer_10_points_below_baseline(self):
        scores = [(1, -3, 40), (1, 1.5, 30), (1, 10, 31), (1, 17, 32)]  # 10, then 9 and 8 points
        one = row(cohort(scores, iv(1), instrument="pcl5", remission_max=32), 1)
        assert days(one["relapse_at"]) == 10
        assert one["trend"] == Trend.RELAPSED
        # On the 50% rule the same patient never responded, so never relapsed.
        phq = row(cohort(scores, iv(1), instrument="phq9"), 1)
        assert (math.isnan(phq["relapse_at"]), phq["trend"]) == (True, Trend.NONE)

    def test_the_clinic_setting_moves_the_threshold(self):
        scores = [(1, -3, 40), (1, 1, 30), (2, -3, 40), (2, 1, 28)]
        rules = OutcomeRules(pcl5_response_points=12)
        result = cohort(scores, iv(1) + iv(2), instrument="pcl5", rules=rules, remission_max=32)
        assert math.isnan(row(result, 1)["first_response_at"])  # 10 points: short of 12
        assert days(row(result, 2)["first_response_at"]) == 1

    @given(st.integers(1, 80), st.integers(0, 80))
    def test_vectorised_rule_matches_the_single_score_rule(self, base, total):
        vector = outcomes.is_response(np.array([base]), np.array([total]), rule=PCL5)[0]
        single = outcomes.response_category(baseline_total=base, total=total, rule=PCL5)
        assert bool(vector) == (single is outcomes.ResponseCategory.RESPONSE) == (base - total >= 10)

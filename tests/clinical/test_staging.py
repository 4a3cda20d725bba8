"""Trial adequacy, treatment resistance and the Maudsley Staging Method (clinical/staging.py)."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import antidepressants, staging
from ketacare.clinical.staging import Adherence, History, HistoryError, Outcome, Severity, Trial


def trial(drug="sertraline", dose="50", weeks="4", outcome=Outcome.NO_RESPONSE, **kw):
    return Trial(drug=drug, daily_dose_mg=Decimal(dose), weeks=Decimal(weeks), outcome=outcome, **kw)


class TestAdequacy:
    def test_exactly_the_minimum_dose_for_exactly_four_weeks_is_adequate_and_failed(self):
        a = staging.assess_trial(trial(dose="50", weeks="4"))
        assert (a.adequate, a.failed) == (True, True)
        assert a.reason == "Adequate: 50 mg/day for 4 weeks; no response: failed."

    def test_just_below_the_minimum_dose_is_not_adequate(self):
        a = staging.assess_trial(trial(dose="49.9", weeks="12"))
        assert (a.adequate, a.failed) == (False, False)
        assert a.reason == "Not adequate: 49.9 mg/day is below the minimum adequate 50 mg/day."

    def test_just_under_four_weeks_is_not_adequate(self):
        a = staging.assess_trial(trial(dose="100", weeks="3.9"))
        assert not a.adequate
        assert a.reason == "Not adequate: 3.9 weeks is shorter than the 4 weeks needed."

    def test_stopping_early_for_intolerance_is_intolerance_not_failure(self):
        a = staging.assess_trial(trial(dose="100", weeks="2", outcome=Outcome.INTOLERANCE))
        assert (a.adequate, a.failed) == (False, False)
        assert "not tolerated: intolerance, not failure" in a.reason

    def test_intolerance_after_an_adequate_trial_is_not_a_failure_of_effect(self):
        a = staging.assess_trial(trial(dose="100", weeks="6", outcome=Outcome.INTOLERANCE))
        assert (a.adequate, a.failed) == (True, False)

    def test_partial_response_after_an_adequate_trial_is_a_failure(self):
        assert staging.assess_trial(trial(outcome=Outcome.PARTIAL_RESPONSE)).failed

    def test_remission_is_not_a_failure(self):
        a = staging.assess_trial(trial(outcome=Outcome.REMISSION))
        assert (a.adequate, a.failed) == (True, False)

    def test_poor_adherence_makes_a_trial_inadequate(self):
        a = staging.assess_trial(trial(dose="200", weeks="10", adherence=Adherence.POOR))
        assert not a.adequate
        assert "fewer than half the days" in a.reason

    def test_both_problems_are_named(self):
        a = staging.assess_trial(trial(dose="25", weeks="2"))
        assert a.reason == (
            "Not adequate: 25 mg/day is below the minimum adequate 50 mg/day; "
            "2 weeks is shorter than the 4 weeks needed."
        )

    def test_an_earlier_episode_does_not_count(self):
        a = staging.assess_trial(trial(current_episode=False))
        assert (a.adequate, a.failed) == (True, False)
        assert a.reason.endswith("in an earlier episode.")

    def test_an_augmenting_agent_is_not_an_antidepressant_failure(self):
        a = staging.assess_trial(trial(drug="aripiprazole", dose="5", weeks="6"))
        assert (a.adequate, a.failed) == (True, False)

    @pytest.mark.parametrize("drug", [d.name for d in antidepressants.DRUGS])
    def test_every_drug_is_adequate_at_its_minimum_and_not_below(self, drug):
        minimum = antidepressants.drug(drug).min_daily_dose_mg
        assert staging.assess_trial(trial(drug=drug, dose=str(minimum))).adequate
        below = minimum - Decimal("0.001")
        assert not staging.assess_trial(trial(drug=drug, dose=str(below))).adequate

    def test_a_clinic_can_raise_a_minimum_dose(self):
        table = antidepressants.with_overrides({"sertraline": 100})
        assert not staging.assess_trial(trial(dose="50"), table).adequate
        assert staging.assess_trial(trial(dose="100"), table).adequate
        assert table["sertraline"].source == "clinic setting"

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"sertralin": 1}, "sertralin: not in the table; to add it give an object"),
            ({"sertraline": 0}, "positive"),
            ({"sertraline": "x"}, "is not a number"),
        ],
    )
    def test_bad_overrides_are_refused_naming_the_drug(self, overrides, message):
        with pytest.raises(ValueError, match=message):
            antidepressants.with_overrides(overrides)


class TestResistance:
    def test_two_different_failed_adequate_antidepressants_make_resistance(self):
        result = staging.stage(
            History(
                (trial("sertraline", "100", "8"), trial("venlafaxine", "150", "6")),
                Decimal(10),
                Severity.MODERATE,
            )
        )
        assert (result.failed_adequate_trials, result.treatment_resistant) == (2, True)

    def test_one_failure_and_one_inadequate_trial_is_not_resistance(self):
        result = staging.stage(
            History(
                (trial("sertraline", "100", "8"), trial("venlafaxine", "37.5", "6")),
                Decimal(10),
                Severity.MODERATE,
            )
        )
        assert (result.failed_adequate_trials, result.treatment_resistant) == (1, False)

    def test_the_same_drug_failing_twice_counts_once(self):
        result = staging.stage(
            History(
                (trial("sertraline", "100", "8"), trial("sertraline", "200", "8")), Decimal(10), Severity.MILD
            )
        )
        assert result.failed_adequate_trials == 1
        assert result.trials[1].reason.endswith("the same drug already failed (counted once).")

    def test_weeks_on_trials_counts_overlapping_dates_once(self):
        d = datetime.date
        trials = [
            trial(weeks="8", started_on=d(2026, 1, 1), stopped_on=d(2026, 2, 26)),
            trial("bupropion", "300", "8", started_on=d(2026, 2, 12), stopped_on=d(2026, 4, 9)),
            trial("mirtazapine", "30", "2", started_on=d(2026, 6, 4), stopped_on=d(2026, 6, 18)),
        ]
        # 1 Jan - 9 Apr is 98 days (14 weeks), plus 14 days: 16 weeks.
        assert staging.weeks_on_trials(trials) == Decimal("16.0")

    def test_weeks_on_trials_without_dates_adds_the_weeks(self):
        assert staging.weeks_on_trials(
            [trial(weeks="8"), trial(weeks="6.5"), trial(weeks="3", current_episode=False)]
        ) == Decimal("14.5")


class TestMaudsley:
    # Worked examples built from the published scoring table (Fekadu et al. 2009, table 1).
    @pytest.mark.parametrize(
        ("months", "severity", "failed", "augmentation", "ect", "parts", "total", "band"),
        [
            # Acute (<= 12 months), subsyndromal, 1-2 failures: the method's minimum, 3.
            (12, Severity.SUBSYNDROMAL, 1, False, False, (1, 1, 1, 0, 0), 3, "mild"),
            # 13 months is sub-acute; moderate; 3 failures; augmented: 2+3+2+1 = 8.
            (13, Severity.MODERATE, 3, True, False, (2, 3, 2, 1, 0), 8, "moderate"),
            # 24 months is still sub-acute; severe without psychosis; 2 failures: 2+4+1 = 7.
            (24, Severity.SEVERE_WITHOUT_PSYCHOSIS, 2, False, False, (2, 4, 1, 0, 0), 7, "moderate"),
            # 25 months is chronic; mild; 4 failures; ECT: 3+2+2+0+1 = 8.
            (25, Severity.MILD, 4, False, True, (3, 2, 2, 0, 1), 8, "moderate"),
            (36, Severity.SEVERE_WITHOUT_PSYCHOSIS, 6, True, False, (3, 4, 3, 1, 0), 11, "severe"),
            (18, Severity.MODERATE, 5, False, False, (2, 3, 3, 0, 0), 8, "moderate"),
            (30, Severity.MODERATE, 7, True, True, (3, 3, 4, 1, 1), 12, "severe"),
            (30, Severity.SEVERE_WITH_PSYCHOSIS, 10, True, True, (3, 5, 4, 1, 1), 14, "severe"),
            # The method's maximum: chronic, psychotic, more than 10 failures, augmentation, ECT.
            (120, Severity.SEVERE_WITH_PSYCHOSIS, 11, True, True, (3, 5, 5, 1, 1), 15, "severe"),
            (6, Severity.MILD, 2, False, False, (1, 2, 1, 0, 0), 4, "mild"),
            (6, Severity.MODERATE, 2, True, False, (1, 3, 1, 1, 0), 6, "mild"),
            (6, Severity.MODERATE, 3, True, False, (1, 3, 2, 1, 0), 7, "moderate"),
            (24, Severity.SEVERE_WITHOUT_PSYCHOSIS, 4, False, False, (2, 4, 2, 0, 0), 8, "moderate"),
            (24, Severity.SEVERE_WITH_PSYCHOSIS, 4, True, False, (2, 5, 2, 1, 0), 10, "moderate"),
        ],
    )
    def test_worked_examples(self, months, severity, failed, augmentation, ect, parts, total, band):
        m = staging.maudsley(
            episode_duration_months=Decimal(months),
            severity=severity,
            failed_antidepressants=failed,
            augmentation=augmentation,
            ect=ect,
        )
        assert (m.duration, m.severity, m.antidepressants, m.augmentation, m.ect) == parts
        assert (m.total, m.band) == (total, band)

    def test_no_failed_antidepressant_is_not_staged_not_a_total_below_3(self):
        m = staging.maudsley(
            episode_duration_months=Decimal(3),
            severity=Severity.MILD,
            failed_antidepressants=0,
            augmentation=False,
            ect=False,
        )
        assert (m.antidepressants, m.staged, m.total, m.band) == (0, False, None, "not staged")
        assert m.as_json() == {
            "total": None,
            "band": "not staged",
            "duration": 1,
            "severity": 2,
            "antidepressants": 0,
            "augmentation": 0,
            "ect": 0,
        }

    def test_one_failed_antidepressant_is_staged_at_3_or_more(self):
        m = staging.maudsley(
            episode_duration_months=Decimal(3),
            severity=Severity.SUBSYNDROMAL,
            failed_antidepressants=1,
            augmentation=False,
            ect=False,
        )
        assert (m.staged, m.total, m.band) == (True, 3, "mild")

    def test_staging_a_history_without_a_failed_trial_is_not_staged(self):
        result = staging.stage(History((trial("sertraline", "25", "8"),), Decimal(3), Severity.MODERATE))
        assert result.failed_adequate_trials == 0
        assert result.as_json()["maudsley"]["total"] is None
        assert result.as_json()["maudsley"]["band"] == "not staged"
        one = staging.stage(History((trial("sertraline", "50", "8"),), Decimal(3), Severity.MODERATE))
        assert (one.maudsley.total, one.maudsley.band) == (1 + 3 + 1, "mild")

    def test_fractional_months_over_twelve_are_sub_acute(self):
        m = staging.maudsley(
            episode_duration_months=Decimal("12.5"),
            severity=Severity.MILD,
            failed_antidepressants=1,
            augmentation=False,
            ect=False,
        )
        assert m.duration == 2

    @given(
        months=st.decimals(min_value=0, max_value=600, places=1),
        severity=st.sampled_from(list(Severity)),
        failed=st.integers(min_value=1, max_value=40),
        augmentation=st.booleans(),
        ect=st.booleans(),
    )
    def test_totals_stay_within_the_method_range_and_grow_with_failures(
        self, months, severity, failed, augmentation, ect
    ):
        kw = dict(episode_duration_months=months, severity=severity, augmentation=augmentation, ect=ect)
        m = staging.maudsley(failed_antidepressants=failed, **kw)
        assert 3 <= m.total <= 15
        assert staging.maudsley(failed_antidepressants=failed + 1, **kw).total >= m.total

    def test_augmenting_agent_in_the_trials_counts_as_augmentation(self):
        result = staging.stage(
            History(
                (trial("sertraline", "100", "8"), trial("lithium", "900", "6")),
                Decimal(10),
                Severity.MODERATE,
            )
        )
        assert result.augmentation_used and result.maudsley.augmentation == 1


class TestParse:
    def base(self, **kw):
        data = {
            "trials": [{"drug": "sertraline", "daily_dose_mg": 150, "weeks": 8, "outcome": "no_response"}],
            "episode_duration_months": 18,
            "severity": "moderate",
            "augmentation": False,
            "ect": False,
            "history": ["uncontrolled_hypertension"],
            "unused_extra": "is ignored",
        }
        data.update(kw)
        return data

    def test_reads_the_documented_format(self):
        h = staging.parse_history(self.base())
        assert h.trials[0].drug == "sertraline" and h.trials[0].daily_dose_mg == 150
        assert (h.episode_duration_months, h.severity, h.findings) == (
            18,
            Severity.MODERATE,
            ("uncontrolled_hypertension",),
        )

    @pytest.mark.parametrize(
        ("change", "field", "problem"),
        [
            (
                {"trials": [{"drug": "sertraline", "weeks": 8, "outcome": "no_response"}]},
                "trials[0].daily_dose_mg",
                "is required",
            ),
            (
                {"trials": [{"drug": "  ", "daily_dose_mg": 20, "weeks": 8, "outcome": "no_response"}]},
                "trials[0].drug",
                "must be a generic drug name",
            ),
            (
                {
                    "trials": [
                        {"drug": "sertraline", "daily_dose_mg": 5000, "weeks": 8, "outcome": "no_response"}
                    ]
                },
                "trials[0].daily_dose_mg",
                "likely a unit error",
            ),
            (
                {
                    "trials": [
                        {"drug": "liothyronine", "daily_dose_mg": 25, "weeks": 8, "outcome": "no_response"}
                    ]
                },
                "trials[0].daily_dose_mg",
                "is it in micrograms?",
            ),
            (
                {
                    "trials": [
                        {"drug": "sertraline", "daily_dose_mg": "lots", "weeks": 8, "outcome": "no_response"}
                    ]
                },
                "trials[0].daily_dose_mg",
                "must be a number",
            ),
            (
                {
                    "trials": [
                        {"drug": "sertraline", "daily_dose_mg": 50, "weeks": -1, "outcome": "no_response"}
                    ]
                },
                "trials[0].weeks",
                "at least 0",
            ),
            (
                {"trials": [{"drug": "sertraline", "daily_dose_mg": 50, "weeks": 8, "outcome": "meh"}]},
                "trials[0].outcome",
                "must be one of no_response",
            ),
            ({"trials": "sertraline"}, "trials", "must be a list"),
            ({"severity": "awful"}, "severity", "must be one of subsyndromal"),
            ({"episode_duration_months": True}, "episode_duration_months", "must be a number"),
            ({"ect": "no"}, "ect", "must be true or false"),
            ({"history": ["broken_leg"]}, "history[0]", "not a known condition"),
        ],
    )
    def test_bad_input_names_the_field(self, change, field, problem):
        with pytest.raises(HistoryError) as err:
            staging.parse_history(self.base(**change))
        assert err.value.field == field
        assert problem in str(err.value)

    def test_missing_required_top_level_fields(self):
        data = self.base()
        del data["severity"]
        with pytest.raises(HistoryError, match="^severity: is required$"):
            staging.parse_history(data)
        with pytest.raises(HistoryError, match="must be a JSON object"):
            staging.parse_history([])

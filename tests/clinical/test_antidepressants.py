"""The dose table (clinical/antidepressants.py): corrected minimum adequate doses, plausible
maximum doses (unit errors), units, off-label marks and drugs a clinic adds."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.clinical import antidepressants, staging
from ketacare.clinical.antidepressants import DRUGS, DrugRole, Unit, dose_problem, drug, with_overrides
from ketacare.clinical.staging import History, HistoryError, Outcome, Severity, Trial


def assess(name, dose_mg, weeks="4", table=antidepressants.DRUGS_BY_NAME):
    t = Trial(drug=name, daily_dose_mg=Decimal(dose_mg), weeks=Decimal(weeks), outcome=Outcome.NO_RESPONSE)
    return staging.assess_trial(t, table)


class TestCorrectedMinimums:
    """Clinical reference, section 3 (decision): starting doses are not adequate doses."""

    @pytest.mark.parametrize(
        ("name", "below", "minimum"),
        [
            ("phenelzine", "59", "60"),
            ("mirtazapine", "29", "30"),
            ("amitriptyline", "149", "150"),
            ("imipramine", "149", "150"),
            ("clomipramine", "149", "150"),
            ("desipramine", "149", "150"),
            ("doxepin", "149", "150"),
            ("trimipramine", "149", "150"),
            ("nortriptyline", "74", "75"),
            ("nefazodone", "299", "300"),
        ],
    )
    def test_four_weeks_just_below_the_minimum_is_inadequate_and_at_it_adequate(self, name, below, minimum):
        low = assess(name, below)
        assert (low.adequate, low.failed) == (False, False)
        assert f"{below} mg/day is below the minimum adequate {minimum} mg/day" in low.reason
        at = assess(name, minimum)
        assert (at.adequate, at.failed) == (True, True)

    def test_the_old_starting_doses_no_longer_count(self):
        for name, start in [
            ("phenelzine", "45"),
            ("mirtazapine", "15"),
            ("amitriptyline", "75"),
            ("nefazodone", "200"),
        ]:
            assert assess(name, start).adequate is False, name

    def test_every_row_cites_its_minimum_and_maximum_source(self):
        for d in DRUGS:
            assert d.source and d.max_source.startswith("twice the label maximum"), d.name
            assert 0 < d.min_daily_dose_mg < d.max_daily_dose_mg, d.name

    def test_fluvoxamine_and_clomipramine_are_marked_off_label_with_a_depression_source(self):
        for name in ("fluvoxamine", "clomipramine"):
            d = drug(name)
            assert d.off_label_for_depression
            assert "UK SmPC" in d.source
            assert "off-label for depression in the US" in d.choice_label
        assert not drug("sertraline").off_label_for_depression
        assert drug("sertraline").choice_label == "Sertraline (SSRI, adequate from 50 mg/day)"


class TestMaximum:
    def test_sertraline_at_the_plausible_maximum_is_accepted_and_just_above_refused(self):
        sertraline = drug("sertraline")
        assert sertraline.max_daily_dose_mg == 400  # twice Zoloft's 200 mg
        assert dose_problem(sertraline, Decimal(400)) is None
        problem = dose_problem(sertraline, Decimal("400.001"))
        assert problem is not None and "likely a unit error" in problem

    def test_5000_mg_of_sertraline_is_refused_as_a_unit_error(self):
        problem = dose_problem(drug("sertraline"), Decimal(5000))
        assert problem == (
            "5000 mg/day of sertraline is above the plausible maximum of 400 mg/day "
            "(twice the label maximum of 200 mg/day (Zoloft FDA label)): likely a unit error."
        )

    def test_liothyronine_is_written_in_micrograms_and_held_in_mg(self):
        lio = drug("liothyronine")
        assert lio.unit == Unit.MICROGRAM
        assert lio.dose_text(Decimal("0.025")) == "25 micrograms"
        assert lio.choice_label == "Liothyronine (thyroid hormone, adequate from 25 micrograms/day)"
        assert dose_problem(lio, Decimal("0.025")) is None
        assert dose_problem(lio, Decimal("0.2")) is None  # 200 micrograms, twice Cytomel's 100

    def test_25_typed_as_mg_of_liothyronine_asks_whether_it_is_micrograms(self):
        problem = dose_problem(drug("liothyronine"), Decimal(25))
        assert problem is not None
        assert "likely a unit error" in problem and "is it in micrograms?" in problem
        assert "25 micrograms is 0.025 mg" in problem

    def test_25_micrograms_of_liothyronine_is_an_adequate_augmentation_trial(self):
        a = assess("liothyronine", "0.025", weeks="6")
        assert (a.adequate, a.failed) == (True, False)
        assert a.reason.startswith("Adequate: 25 micrograms/day for 6 weeks")

    @given(st.sampled_from(DRUGS), st.decimals(min_value="0.001", max_value="100000", places=3))
    def test_a_dose_is_refused_exactly_when_above_the_maximum(self, d, dose):
        assert (dose_problem(d, dose) is None) == (dose <= d.max_daily_dose_mg)


AGOMELATINE = {"class": "melatonergic", "min_daily_dose_mg": 25, "max_daily_dose_mg": 100}


class TestClinicAddedDrugs:
    def test_a_clinic_adds_a_drug_and_its_trials_are_assessed(self):
        table = with_overrides({"Agomelatine": {**AGOMELATINE, "source": "Valdoxan UK SmPC"}})
        added = table["agomelatine"]
        assert (added.drug_class, added.role, added.unit, added.source) == (
            "melatonergic",
            DrugRole.ANTIDEPRESSANT,
            Unit.MG,
            "Valdoxan UK SmPC",
        )
        assert assess("agomelatine", "24.9", table=table).adequate is False
        assert (assess("agomelatine", "25", table=table).failed) is True
        assert dose_problem(added, Decimal(101)) is not None

    def test_an_added_drug_in_micrograms_and_as_augmentation(self):
        table = with_overrides(
            {
                "levothyroxine": {
                    "class": "thyroid hormone",
                    "role": "augmentation",
                    "unit": "microgram",
                    "min_daily_dose_mg": 0.1,
                    "max_daily_dose_mg": 0.6,
                }
            }
        )
        a = assess("levothyroxine", "0.1", table=table)
        assert (a.adequate, a.failed, a.drug.dose_text(Decimal("0.1"))) == (True, False, "100 micrograms")

    def test_a_listed_drug_can_have_its_maximum_changed(self):
        table = with_overrides({"sertraline": {"max_daily_dose_mg": 300}})
        assert (table["sertraline"].min_daily_dose_mg, table["sertraline"].max_daily_dose_mg) == (50, 300)
        assert table["sertraline"].max_source == "clinic setting"

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"agomelatine": 25}, "agomelatine: not in the table"),
            (
                {"agomelatine": {"class": "melatonergic", "min_daily_dose_mg": 25}},
                "missing: max_daily_dose_mg",
            ),
            ({"agomelatine": {**AGOMELATINE, "unit": "grain"}}, "agomelatine.unit: must be mg or microgram"),
            ({"agomelatine": {**AGOMELATINE, "role": "sedative"}}, "agomelatine.role"),
            ({"agomelatine": {**AGOMELATINE, "dose": 1}}, "agomelatine: unknown key dose"),
            ({"agomelatine": {**AGOMELATINE, "max_daily_dose_mg": 10}}, "is above the maximum"),
            ({"agomelatine": {**AGOMELATINE, "class": ""}}, "agomelatine.class: must be a non-empty text"),
            ({"agomelatine": {**AGOMELATINE, "min_daily_dose_mg": -1}}, "positive number of mg"),
            ({"sertraline": {"class": "SNRI"}}, "sertraline: unknown key class"),
            ({"sertraline": {"min_daily_dose_mg": 500}}, "is above the maximum"),
        ],
    )
    def test_a_bad_clinic_drug_is_refused_naming_it(self, overrides, message):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("?", r"\?")):
            with_overrides(overrides)


class TestUnknownDrug:
    def test_a_drug_not_in_the_table_has_unknown_adequacy_and_is_not_a_failure(self):
        result = staging.stage(
            History(
                (
                    Trial("agomelatine", Decimal(50), Decimal(8), Outcome.NO_RESPONSE),
                    Trial("sertraline", Decimal(100), Decimal(8), Outcome.NO_RESPONSE),
                ),
                Decimal(6),
                Severity.MODERATE,
            )
        )
        unknown = result.trials[0]
        assert (unknown.adequate, unknown.failed, unknown.drug) == (None, False, None)
        assert unknown.reason == (
            "Adequacy unknown: drug not in the clinic's table (agomelatine): not counted as a failure."
        )
        assert result.failed_adequate_trials == 1
        out = result.as_json()
        assert out["adequacy_unknown"] == ["agomelatine"]
        assert out["trials"][0]["adequate"] is None and out["trials"][0]["min_daily_dose_mg"] is None

    def test_parse_keeps_an_unknown_drug_and_still_checks_known_doses(self):
        data = {
            "trials": [{"drug": " Agomelatine ", "daily_dose_mg": 50, "weeks": 8, "outcome": "no_response"}],
            "episode_duration_months": 6,
            "severity": "moderate",
        }
        assert staging.parse_history(data).trials[0].drug == "agomelatine"
        data["trials"][0] = {"drug": "sertraline", "daily_dose_mg": 401, "weeks": 8, "outcome": "no_response"}
        with pytest.raises(HistoryError) as err:
            staging.parse_history(data)
        assert err.value.field == "trials[0].daily_dose_mg"
        data["trials"][0]["daily_dose_mg"] = 400
        assert staging.parse_history(data).trials[0].daily_dose_mg == 400

"""PCL-5 response is a fall of at least 10 points from baseline, not 50% (clinical reference
section 2), in the stored outcomes, the dashboard's words and the settings version."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from ketacare.clinical import outcomes
from ketacare.measures.services import response_record
from ketacare.outcomes import rules, selectors, services
from ketacare.outcomes.models import PatientOutcome
from tests.outcome_helpers import at


def pcl5_answers(total: int) -> list[int]:
    """Twenty item answers (0-4) that sum to `total`."""
    answers = [0] * 20
    for i in range(total):
        answers[i % 20] += 1
    return answers


@pytest.fixture
def pcl5_patients(treated, nurse_actor):
    """Baseline 40 three days before the first infusion; a day after it, 30 (10 points down)
    for "Ten" and 31 (9 points down) for "Nine". The outcomes caught up, as a page would."""

    def make(family_name: str, after: int):
        patient = treated([], family_name=family_name)
        for day, total in ((-3, 40), (1, after)):
            response_record(
                actor=nurse_actor,
                patient=patient,
                instrument="pcl5",
                answers=pcl5_answers(total),
                context="follow_up",
                administered_at=at(day),
            )
        return patient

    made = {"Ten": make("Ten", 30), "Nine": make("Nine", 31)}
    services.catch_up()
    return made


def test_a_pcl5_fall_of_10_points_is_stored_as_a_response_and_9_is_not(pcl5_patients):
    services.refresh()
    ten = PatientOutcome.objects.get(patient=pcl5_patients["Ten"], instrument="pcl5")
    nine = PatientOutcome.objects.get(patient=pcl5_patients["Nine"], instrument="pcl5")
    assert (ten.baseline_total, ten.first_total, ten.first_response) == (40, 30, True)
    assert (nine.baseline_total, nine.first_total, nine.first_response) == (40, 31, False)
    assert ten.days_to_response is not None and nine.days_to_response is None


def test_the_clinic_setting_moves_the_pcl5_threshold(pcl5_patients, settings):
    settings.OUTCOME_RULES = json.dumps({"pcl5_response_points": 5})
    assert services.catch_up().rebuilt  # what every outcome page does before it reads
    figures = selectors.dashboard(selectors.Filters(instrument="pcl5"))
    assert (figures.points["first"].response.n, figures.points["first"].response.events) == (2, 2)
    assert figures.response_text == "5 points below baseline"


def test_the_pcl5_dashboard_says_10_points_and_the_phq9_one_50_percent(pcl5_patients, client_as, physician):
    client = client_as(physician)
    pcl5 = client.get("/outcomes/?instrument=pcl5").content.decode()
    assert "Response: at least 10 points below baseline" in pcl5
    assert "2 consecutive scores no longer 10 points below baseline" in pcl5
    assert "50% below baseline" not in pcl5
    phq9 = client.get("/outcomes/?instrument=phq9").content.decode()
    assert "Response: at least 50% below baseline" in phq9
    assert "no longer 50% below baseline" in phq9


def test_the_json_command_names_the_pcl5_rule(pcl5_patients):
    out = StringIO()
    call_command("outcomes", "--json", "--instrument", "pcl5", stdout=out)
    data = json.loads(out.getvalue())
    assert data["time_points"]["response"] == "10 points below baseline"
    assert data["time_points"]["relapse"] == "2 consecutive scores no longer 10 points below baseline"
    assert (data["first_treatment"]["n"], data["first_treatment"]["responders"]) == (2, 1)


def test_the_pcl5_setting_changes_the_settings_version(settings):
    settings.OUTCOME_RULES = None
    default = rules.version()
    settings.OUTCOME_RULES = json.dumps({"pcl5_response_points": 10})
    assert rules.version() == default  # the default, spelled out: nothing to recompute
    settings.OUTCOME_RULES = json.dumps({"pcl5_response_points": 12})
    assert rules.version() != default


def test_a_change_of_a_scales_response_rule_changes_the_settings_version(settings, monkeypatch):
    settings.OUTCOME_RULES = None
    default = rules.version()
    # As before this rule existed: the PCL-5 read on the 50% rule.
    monkeypatch.setattr(rules, "response_rule", lambda code, r: outcomes.HALF_BELOW_BASELINE)
    assert rules.version() != default


def test_stored_pcl5_outcomes_are_recomputed_when_the_setting_changes(pcl5_patients, settings):
    services.refresh()
    nine = PatientOutcome.objects.get(patient=pcl5_patients["Nine"], instrument="pcl5")
    assert nine.first_response is False
    settings.OUTCOME_RULES = json.dumps({"pcl5_response_points": 9})
    assert services.catch_up().rebuilt
    nine = PatientOutcome.objects.get(patient=pcl5_patients["Nine"], instrument="pcl5")
    assert (nine.first_response, nine.rules_version) == (True, rules.version())


def test_ketacare_check_names_a_bad_pcl5_setting(settings):
    from django.core.management.base import SystemCheckError

    settings.OUTCOME_RULES = '{"pcl5_response_points": 40}'
    with pytest.raises(SystemCheckError, match="pcl5_response_points: must be 5 to 20 points"):
        call_command("check")

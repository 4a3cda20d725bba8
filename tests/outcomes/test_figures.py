"""Clinic figures on a small hand-worked cohort (every number below is worked out in the comments),
through the stored outcomes, the dashboard, the CSVs and `ketacare outcomes --json`."""

from __future__ import annotations

import csv
import datetime
import io
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ketacare.outcomes import selectors, services
from ketacare.outcomes.models import PatientOutcome
from ketacare.patients.services import record_changed
from ketacare.screening.models import AntidepressantTrial
from tests.outcome_helpers import T0

IV = (0, 2, 4, 7, 9, 11)
ESK = (0, 3, 7, 10, 14, 17, 21, 24)


@pytest.fixture
def cohort(treated):
    """
    Every time point reads from 20 hours after the dose (clinical reference section 2).
    A: baseline 20; 3 at 5 h (same-day: counted at no time point); 10 on day 1 (exactly 50%:
       response); 4 on day 12, a day after the course (remission); then 12 and 14 (two lost in a
       row): relapse dated day 30, 29 days after the first response.
    B: baseline 20; 11 on day 1 (45%: not a response); 8 after the course; 9 on day 25 (still
       responding): censored 13 days after its first response (day 12).
    C: baseline 18; 9 on day 1 (response); 9 after the course; 10 on day 20 (lost once), 8 on day 27
       (response again): no relapse, censored at 26 days.
    D: no score before the first treatment: left out, "no baseline".
    E: baseline 16; first score on day 3, after the second dose (day 2); three treatments only:
       course not completed, and stopped (no treatment since day 4).
    F: esketamine, eight treatments; baseline 20; 9 on day 1; 6 after the course (day 25.5, 1.5 days
       after its last treatment); then 15 and 16: relapse dated day 40, 39 days after the response.
    G: baseline 20; 8 on day 1 (response); no score in the week after the course; 11 on day 20: one
       score lost, "rising toward relapse", censored at 19 days.
    All began 100 days ago, so every time point's window has closed: the intention-to-treat
    denominator is all seven.
    """
    h5 = 5 / 24
    made = {
        "A": treated([(-3, 20), (h5, 3), (1, 10), (12, 4), (30, 12), (40, 14)], family_name="Adams"),
        "B": treated([(-3, 20), (1, 11), (12, 8), (25, 9)], family_name="Brown"),
        "C": treated([(-3, 18), (1, 9), (12, 9), (20, 10), (27, 8)], family_name="Clark"),
        "D": treated([(1, 9), (12, 8)], family_name="Davis"),
        "E": treated([(-3, 16), (3, 7)], days=(0, 2, 4), family_name="Evans"),
        "F": treated(
            [(-3, 20), (1, 9), (25.5, 6), (40, 15), (47, 16)],
            days=ESK,
            route="esketamine",
            diagnoses=("F33.2",),
            family_name="Fox",
        ),
        "G": treated([(-3, 20), (1, 8), (20, 11)], family_name="Green"),
    }
    # Antidepressant trials before ketamine: A 16 weeks (two overlapping), C 8 weeks.
    first = T0.date()
    for key, start, stop in (("A", 112, 50), ("A", 60, 0), ("C", 70, 14)):
        AntidepressantTrial.objects.create(
            patient=made[key],
            drug="sertraline",
            daily_dose_mg=150,
            started_on=first - datetime.timedelta(days=start),
            stopped_on=first - datetime.timedelta(days=stop),
            outcome="no_response",
        )
    record_changed([made["A"].pk, made["C"].pk])  # as screening.services.trial_record does
    services.catch_up()
    return made


def test_the_stored_outcome_of_each_patient(cohort):
    a = PatientOutcome.objects.get(patient=cohort["A"], instrument="phq9")
    assert (a.baseline_total, a.first_total, a.first_response, a.first_remission) == (20, 10, True, False)
    assert (a.course_total, a.course_response, a.course_remission) == (4, True, True)
    assert a.relapsed is True
    assert a.days_responding == pytest.approx(29.0, abs=1e-3)
    assert (a.same_day_total, a.same_day_response, a.same_day_remission) == (3, True, True)
    assert (a.baseline_context, a.first_days, a.course_days) == ("follow_up", 1.0, 1.0)
    assert a.trend == "relapsed"
    assert a.treatments == 6
    assert a.condition == "F33.1"
    e = PatientOutcome.objects.get(patient=cohort["E"], instrument="phq9")
    assert (e.first_response, e.excluded_first, e.excluded_course) == (
        None,
        "no_score_after_first_treatment",
        "course_not_completed",
    )
    g = PatientOutcome.objects.get(patient=cohort["G"], instrument="phq9")
    assert (g.trend, g.relapsed, g.excluded_course) == ("rising", False, "no_score_after_course")


def test_rates_intervals_exclusions_and_durability(cohort):
    figures = selectors.dashboard(selectors.Filters())
    data = figures.as_json()
    assert data["patients_treated"] == 7
    assert data["sessions"] == 6 * 5 + 3 + 8
    # After the first treatment: A, C, F, G respond of A, B, C, F, G (D and E left out). Intention
    # to treat: the same 4 of all 7 (D, with no baseline, and E, unscored there, count as not
    # responding). Wilson, z = 1.96, by hand: centre (4/7 + z^2/14) / (1 + z^2/7) = 0.5461, half
    # width z * sqrt(4/7 * 3/7 / 7 + z^2/196) / (1 + z^2/7) = 0.2957: 0.2505-0.8418. For 0 of 7 the
    # upper end is (z^2/7) / (1 + z^2/7) = 0.3543.
    assert data["first_treatment"] == {
        "n": 5,
        "responders": 4,
        "response_rate": 0.8,
        "response_ci95": [0.3755, 0.9638],
        "remitters": 0,
        "remission_rate": 0.0,
        "remission_ci95": [0.0, 0.4345],
        "itt": {
            "n": 7,
            "responders": 4,
            "response_rate": 0.5714,
            "response_ci95": [0.2505, 0.8418],
            "remitters": 0,
            "remission_rate": 0.0,
            "remission_ci95": [0.0, 0.3543],
        },
    }
    # After the course: A, B, C, F all respond; A remits. G has no score there; E stopped.
    course = data["course"]
    assert (course["n"], course["responders"], course["remitters"]) == (4, 4, 1)
    assert course["response_ci95"] == [0.5101, 1.0]
    assert (course["itt"]["n"], course["itt"]["responders"], course["itt"]["remitters"]) == (7, 4, 1)
    # The same-day change: A's 3 at 5 hours, shown on its own and never as response.
    assert (data["same_day"]["n"], data["same_day"]["responders"]) == (1, 1)
    assert "itt" not in data["same_day"]
    assert data["excluded"] == {
        "no_baseline": 1,
        "no_score_after_first_treatment": 1,
        "course_not_completed": 1,
        "no_score_after_course": 1,
    }
    # Durability: responders A (29.8, relapse), B (13.8), C (26.8), F (39.9, relapse), G (19.8)
    # and E (a response on day 2, its latest score: followed for 0 days). At 29.8 days two are at
    # risk and one relapses: S = 0.5, the median.
    durability = data["durability"]
    assert (durability["responders"], durability["relapses"]) == (6, 2)
    assert durability["median_days_to_relapse"] == pytest.approx(29.0, abs=0.05)
    assert set(durability["by_route"]) == {"IV ketamine", "Esketamine nasal spray"}
    assert durability["by_route"]["Esketamine nasal spray"]["median_days_to_relapse"] == pytest.approx(
        39.0, abs=0.05
    )


def test_speed_of_relief_pairs_weeks_on_trials_with_days_to_response(cohort):
    speed = selectors.dashboard(selectors.Filters()).as_json()["speed_of_relief"]
    assert speed["patients_with_trials"] == 2
    assert speed["responders"] == 2
    assert speed["median_weeks_on_trials"] == 12.0  # 16 and 8
    assert speed["median_days_to_response"] == 1.0  # a day each


def test_filters_by_route_condition_and_date(cohort):
    esketamine = selectors.dashboard(selectors.Filters(route="esketamine")).as_json()
    assert esketamine["patients_treated"] == 1
    assert esketamine["first_treatment"]["responders"] == 1
    assert selectors.dashboard(selectors.Filters(condition="F33.2")).patients == 1
    later = selectors.dashboard(selectors.Filters(start=T0.date().replace(year=T0.year + 1)))
    assert later.patients == 0
    assert later.points["first"].response.rate is None


def test_breakdowns_name_every_group(cohort):
    figures = selectors.dashboard(selectors.Filters())
    by = {
        b.by: {name: (first.response.events, first.response.n) for name, first, _ in b.rows}
        for b in figures.breakdowns
    }
    assert by["route"] == {"IV ketamine": (3, 4), "Esketamine nasal spray": (1, 1)}
    from ketacare.treatment import rules as protocol_rules

    assert by["protocol"][protocol_rules.current()["esketamine_nasal"].name] == (1, 1)
    assert sum(n for _, n in by["period"].values()) == 5
    assert any(name.startswith("F33.1 ") for name in by["condition"])


def test_maintenance_prompts_list_relapsed_and_rising_patients(cohort):
    prompts = selectors.maintenance_prompts(selectors.Filters())
    assert {p.patient_id: p.trend for p in prompts} == {
        cohort["A"].pk: "relapsed",
        cohort["F"].pk: "relapsed",
        cohort["G"].pk: "rising",
    }
    assert all(p.next_appointment is None for p in prompts)


def test_a_new_score_marks_the_patient_and_the_catch_up_updates_the_stored_outcome(cohort, nurse_actor):
    from ketacare.measures.services import response_record
    from tests.outcome_helpers import at, phq9_answers

    response_record(
        actor=nurse_actor,
        patient=cohort["G"],
        instrument="phq9",
        answers=phq9_answers(13),
        context="follow_up",
        administered_at=at(27),
    )
    g = PatientOutcome.objects.get(patient=cohort["G"], instrument="phq9")
    assert (g.trend, g.relapsed) == ("rising", False)  # not yet: the save only marked G
    assert services.catch_up().patients == 1
    g = PatientOutcome.objects.get(patient=cohort["G"], instrument="phq9")
    assert (g.trend, g.relapsed) == ("relapsed", True)


def test_a_settings_change_recomputes_every_stored_outcome(cohort, settings):
    settings.OUTCOME_RULES = json.dumps({"first_treatment_max_days": 10})
    assert services.catch_up().rebuilt
    figures = selectors.dashboard(selectors.Filters())
    # Every row recomputed under the new settings (E's day-3 score stays out: it follows the
    # second dose, whatever the window without one).
    assert figures.points["first"].response.n == 5
    assert (
        PatientOutcome.objects.exclude(rules_version=PatientOutcome.objects.first().rules_version).count()
        == 0
    )


def test_the_first_treatment_window_setting_reaches_the_figures(treated, settings):
    treated([(-3, 20), (9, 9)], days=(0,))
    assert selectors.dashboard(selectors.Filters()).points["first"].response.n == 0
    settings.OUTCOME_RULES = json.dumps({"first_treatment_max_days": 10})
    assert services.catch_up().rebuilt
    figures = selectors.dashboard(selectors.Filters())
    assert (figures.points["first"].response.n, figures.points["first"].response.events) == (1, 1)


def test_the_json_command(cohort):
    out = StringIO()
    call_command("outcomes", "--json", "--route", "iv_ketamine", stdout=out)
    data = json.loads(out.getvalue())
    assert data["instrument"] == "phq9"
    assert set(data["first_treatment"]) == {
        "itt",
        "n",
        "responders",
        "response_rate",
        "response_ci95",
        "remitters",
        "remission_rate",
        "remission_ci95",
    }
    assert set(data["course"]) == set(data["first_treatment"])
    assert (
        set(data["first_treatment"]["itt"]) == set(data["same_day"]) == set(data["first_treatment"]) - {"itt"}
    )
    assert set(data["durability"]) >= {"responders", "relapses", "median_days_to_relapse", "median_ci95"}
    assert data["first_treatment"]["n"] == 4
    assert data["filters"]["route"] == "iv_ketamine"


def test_the_json_command_names_a_bad_option(db):
    with pytest.raises(CommandError, match="--from: Enter a valid date") as failure:
        call_command("outcomes", "--json", "--from", "2026-02-30")
    assert failure.value.returncode == 2
    with pytest.raises(CommandError, match="--route: Select a valid choice"):
        call_command("outcomes", "--json", "--route", "oral")


def test_the_median_is_null_when_not_reached(treated):
    treated([(-3, 20), (1, 8), (10, 9)])
    data = selectors.dashboard(selectors.Filters()).as_json()
    assert data["durability"]["median_days_to_relapse"] is None
    assert data["durability"]["relapses"] == 0


def test_csv_downloads(cohort, client_as, physician):
    client = client_as(physician)
    rates = client.get("/outcomes/rates.csv?instrument=phq9")
    assert rates.status_code == 200
    assert rates["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(rates.content.decode())))
    first = next(r for r in rows if r["time_point"] == "first" and r["measure"] == "response")
    assert (first["n"], first["patients"], first["rate"], first["ci95_low"]) == ("5", "4", "0.8", "0.3755")
    excluded = list(csv.DictReader(io.StringIO(client.get("/outcomes/excluded.csv").content.decode())))
    assert {r["patient_mrn"] for r in excluded if r["time_point"] != "week"} == {cohort[k].mrn for k in "DEG"}
    assert {r["reason"] for r in excluded if r["patient_mrn"] == cohort["E"].mrn} == {
        "No score in the time point after the first treatment",
        "No score 6-8 days after the first treatment",
        "Induction course not completed (stopped, or still under way)",
    }
    speed = client.get("/outcomes/speed.csv").content.decode().splitlines()
    assert speed[0] == "patient_mrn,weeks_on_trials_before_ketamine,days_to_response_on_ketamine"
    km = list(csv.DictReader(io.StringIO(client.get("/outcomes/durability.csv").content.decode())))
    assert {r["curve"] for r in km} == {"All routes", "IV ketamine", "Esketamine nasal spray"}
    assert client.get("/outcomes/nothing.csv").status_code == 404
    bad = client.get("/outcomes/rates.csv?start=yesterday")
    assert bad.status_code == 400
    assert "start" in bad.content.decode()


def test_ketacare_check_names_a_bad_outcome_setting(settings):
    from django.core.management.base import SystemCheckError

    settings.OUTCOME_RULES = '{"relapse_consecutive": 9}'
    with pytest.raises(SystemCheckError, match="relapse_consecutive: must be 1 to 5 scores"):
        call_command("check")
    settings.OUTCOME_RULES = "{not json"
    with pytest.raises(SystemCheckError, match="KETACARE_OUTCOMES is not JSON"):
        call_command("check")


def test_the_json_command_refuses_bad_outcome_settings(settings, db):
    settings.OUTCOME_RULES = '{"time_point_min_hours": 2}'
    with pytest.raises(CommandError, match="time_point_min_hours: must be 12 to 72 hours") as failure:
        call_command("outcomes", "--json")
    assert failure.value.returncode == 2

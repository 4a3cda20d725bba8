"""The chart names which score its baseline is (issue 13): the last score before the first dose,
with its context and day, so a pre-session 15 is not read as the consultation's 18."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ketacare.measures import selectors, services
from ketacare.sessions import services as sessions
from tests.treatment_helpers import ago, check_in, phq9, start_plan

pytestmark = pytest.mark.django_db

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def day(at: datetime.datetime) -> str:
    on, today = timezone.localdate(at), timezone.localdate()
    text = f"{on.day} {MONTHS[on.month - 1]}"
    return text if on.year == today.year else f"{text} {on.year}"


@pytest.fixture
def first_dose(doctor, nurse_actor, actor, patient, eligible, chair):
    """Scored at consultation five days ago (PHQ-9 18, GAD-7 14); on the day of the first
    treatment a pre-session PHQ-9 of 15 an hour ago, and the dose half an hour ago."""
    consulted = timezone.now() - datetime.timedelta(days=5)
    services.response_record(
        actor=actor,
        patient=patient,
        instrument="phq9",
        answers=[3, 3, 3, 3, 2, 2, 1, 1, 0],
        context="baseline",
        administered_at=consulted,
    )
    services.response_record(
        actor=actor,
        patient=patient,
        instrument="gad7",
        answers=[2] * 7,
        context="baseline",
        administered_at=consulted,
    )
    session = check_in(nurse_actor, start_plan(doctor, patient, chair), minutes_ago=110)
    pre = phq9(session, nurse_actor, "pre", answers=[2] * 7 + [1, 0], at=ago(60))
    sessions.dose_order(actor=doctor, session=session)
    sessions.dose_start(actor=nurse_actor, session=session, at=ago(30))
    return {"consulted": consulted, "pre": pre.response.administered_at}


def test_the_chart_names_a_pre_session_baseline_not_the_consultation_score(
    client_as, nurse, patient, first_dose
):
    html = client_as(nurse).get(reverse("patients:chart", args=[patient.pk])).content.decode()
    phq9_label = f"baseline: PHQ-9 15, pre-session, {day(first_dose['pre'])}"
    assert f"<td>{phq9_label}</td>" in html
    assert "baseline: PHQ-9 18" not in html
    # nothing was scored on the GAD-7 between the consultation and the dose: that score is its baseline
    gad7_label = f"baseline: GAD-7 14, before treatment, {day(first_dose['consulted'])}"
    assert f"<td>{gad7_label}</td>" in html
    # and the note under the table says the same, in the table's order
    assert f": {phq9_label}; {gad7_label}. A score taken at consultation is the baseline only" in html


def test_the_baseline_is_named_in_the_same_single_query(patient, first_dose, django_assert_num_queries):
    times = [timezone.now() - datetime.timedelta(minutes=30)]
    with django_assert_num_queries(1):
        series = selectors.trajectories(patient_id=patient.pk, session_times=times)
    assert [t.baseline_label for t in series] == [
        f"baseline: PHQ-9 15, pre-session, {day(first_dose['pre'])}",
        f"baseline: GAD-7 14, before treatment, {day(first_dose['consulted'])}",
    ]


def test_a_consultation_score_from_last_year_reads_at_consultation_with_its_year(
    client_as, nurse, register, actor
):
    patient = register()
    services.response_record(
        actor=actor,
        patient=patient,
        instrument="gad7",
        answers=[2] * 7,
        context="baseline",
        administered_at=datetime.datetime(2024, 11, 20, 10, 30, tzinfo=datetime.UTC),
    )
    html = client_as(nurse).get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert "<td>baseline: GAD-7 14, before treatment, 20 Nov 2024</td>" in html

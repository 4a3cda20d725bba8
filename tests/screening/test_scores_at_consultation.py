"""The consultation letter and page call their scores "at consultation", not the baseline: outcome
figures measure from the last score before the first treatment (issue 13)."""

import datetime

import pytest

from ketacare.measures import services as measures
from ketacare.screening import services
from ketacare.screening.letters import letter_html
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_letter_lists_scores_at_consultation_and_says_what_outcomes_measure_from(
    doctor, actor, consultation
):
    measures.response_record(
        actor=actor,
        patient=consultation.patient,
        instrument="phq9",
        answers=[3, 3, 3, 3, 2, 2, 1, 1, 0],
        context="baseline",
        administered_at=datetime.datetime(2026, 11, 20, 10, 30, tzinfo=datetime.UTC),
    )
    decision = services.decision_sign(
        actor=doctor,
        consultation=consultation,
        decision="eligible",
        routes=["iv_ketamine"],
        reasons="TRD, no contraindication.",
        password=PASSWORD,
    )
    html = letter_html(decision)
    assert "<h2>Scores at consultation</h2>" in html
    assert "<td>PHQ-9 (Patient Health Questionnaire)</td><td>18</td>" in html
    assert (
        "Outcome figures in our later reports are measured from the last score on each scale before "
        "the first treatment" in html
    )
    assert "baseline" not in html.lower()


def test_the_consultation_page_says_what_the_outcome_baseline_is(client_as, physician, consultation):
    html = client_as(physician).get(f"/consultations/{consultation.pk}/").content.decode()
    assert '<h2 id="baseline-heading">Rating scales</h2>' in html
    assert "Outcome figures are measured from the baseline: the last score on each scale before" in html
    assert "Baseline scales" not in html

import datetime

import pytest
from django.utils import timezone

from ketacare.clinical.outcomes import ResponseCategory
from ketacare.measures import selectors, services

pytestmark = pytest.mark.django_db


def test_baseline_and_response_from_the_ratings_around_the_first_treatment(register, actor):
    patient = register()
    t0 = timezone.now() - datetime.timedelta(days=10)

    def rate(days, total, context, minutes=None):
        answers = [min(3, max(0, total - 3 * i)) for i in range(9)]
        answers[8] = 0
        services.response_record(
            actor=actor,
            patient=patient,
            instrument="phq9",
            answers=answers,
            context=context,
            administered_at=t0 + datetime.timedelta(days=days),
            minutes_after_dose=minutes,
        )

    rate(-5, 20, "baseline")
    rate(0, 18, "pre_session")  # the last score before the first treatment
    rate(0.2, 12, "post_session", minutes=240)
    rate(7, 8, "follow_up")
    (trajectory,) = selectors.trajectories(patient_id=patient.pk)
    assert trajectory.first_treatment_at is not None
    assert trajectory.course.baseline.total == 18
    assert (trajectory.course.latest.total, trajectory.course.category) == (8, ResponseCategory.RESPONSE)


def test_open_alerts_come_most_urgent_first_in_two_queries(register, actor, django_assert_num_queries):
    patient = register()
    services.response_record(
        actor=actor, patient=patient, instrument="gad7", answers=[3] * 7, context="follow_up"
    )
    services.response_record(
        actor=actor, patient=patient, instrument="phq9", answers=[0] * 8 + [1], context="follow_up"
    )
    with django_assert_num_queries(1):
        alerts, total = selectors.open_alerts(limit=50)
    assert [a.priority for a in alerts] == [1, 2]
    assert total == 2
    with django_assert_num_queries(2):
        alerts, total = selectors.open_alerts(limit=1)
    assert (len(alerts), total) == (1, 2)


def test_cached_plot_is_redrawn_when_any_score_changes(register, actor):
    from ketacare.measures.plots import fingerprint, trajectory_svg_cached

    patient = register()
    services.response_record(
        actor=actor, patient=patient, instrument="gad7", answers=[2] * 7, context="baseline"
    )
    first = selectors.trajectories(patient_id=patient.pk)
    svg = trajectory_svg_cached(patient.pk, first)
    assert svg.startswith("<svg")
    assert trajectory_svg_cached(patient.pk, first) == svg
    services.response_record(
        actor=actor, patient=patient, instrument="gad7", answers=[1] * 7, context="follow_up"
    )
    second = selectors.trajectories(patient_id=patient.pk)
    assert fingerprint(patient.pk, second) != fingerprint(patient.pk, first)
    assert len(trajectory_svg_cached(patient.pk, second)) > 0
    assert fingerprint(patient.pk + 1, first) != fingerprint(patient.pk, first)

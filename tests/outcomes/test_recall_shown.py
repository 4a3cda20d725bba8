"""The period each scale asks about is shown where it is filled in (clinical reference section 2:
honest outcome figures start with scores read for the period they cover). Kept with the outcome
tests: the page tests of measures belong to another change in progress."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketacare.measures import services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("phq9", "Recall period: the last 2 weeks."),
        ("madrs", "Recall period: the last week (clinician-rated; ketamine trials rated it 24 hours"),
        ("cadss", "Recall period: the present moment."),
        (
            "cssrs_screen",
            "Recall period: the past month (questions 1-5: the past month; question 6: ever, and 6b: "
            "the past 3 months).",
        ),
    ],
)
def test_the_staff_form_shows_the_recall_period(client_as, nurse, register, code, shown):
    patient = register()
    url = reverse("measures:response-new", args=[patient.pk])
    html = client_as(nurse).get(url, {"instrument": code}).content.decode()
    assert shown in html


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("phq9", "These questions ask about the last 2 weeks."),
        ("epds", "These questions ask about the past 7 days."),
        ("pcl5", "These questions ask about the past month."),
    ],
)
def test_the_self_report_page_tells_the_patient_the_period(client, register, actor, code, shown):
    patient = register()
    _, token = services.self_report_link_create(actor=actor, patient=patient, instrument=code)
    html = client.get(reverse("measures:self-report", args=[token])).content.decode()
    assert shown in html

"""The chart composed at the top (web/chart.py): what one section reads, the next reuses."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketacare.outcomes.models import PatientOutcome
from ketacare.sessions.models import TreatmentSession
from tests.outcome_helpers import at, treated  # noqa: F401 - the fixture


def _chart(client, patient):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("patients:chart", args=[patient.pk]))
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries.captured_queries]


def test_a_treated_patient_has_the_outcome_panel_and_an_untreated_one_reads_no_outcomes(
    treated,  # noqa: F811
    client_as,
    physician,
):
    client = client_as(physician)
    patient = treated([(-3, 20), (1, 8)])
    html, queries = _chart(client, patient)
    assert PatientOutcome.objects.filter(patient=patient).exists()
    assert '<section id="outcomes"' in html
    assert any("outcomes_patientoutcome" in sql for sql in queries)
    # The plot's treatment markers come from the sessions listed: no second read of the sessions.
    assert sum('FROM "treatment_sessions_treatmentsession"' in sql for sql in queries) == 1

    never = treated([(-3, 20)], days=())
    html, queries = _chart(client, never)
    assert not TreatmentSession.objects.filter(patient=never).exists()
    assert not any("outcomes_patientoutcome" in sql or "patients_recordchange" in sql for sql in queries)
    assert '<section id="outcomes"' not in html


def test_the_chart_never_reads_a_score_taken_an_hour_after_a_dose_as_a_response(
    treated,  # noqa: F811
    client_as,
    physician,
):
    """PHQ-9 20 before treatment, 19 the next day, 4 an hour after the fourth dose: the scales
    table shows the 4 as same-day and reads response and remission from the 19."""
    patient = treated([(-3, 20), (1, 19), (7 + 1 / 24, 4)], days=(0, 2, 4, 7))
    html, _queries = _chart(client_as(physician), patient)
    row = html.split('<table class="course">')[1].split("</tr>")[1]
    assert "same day as a dose" in row
    assert "the columns beside read 19" in row
    assert "non-response" in row
    assert ">response<" not in row.replace(" ", "")

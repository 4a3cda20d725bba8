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

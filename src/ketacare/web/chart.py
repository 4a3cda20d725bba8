"""The patient chart, composed here at the top from each app's section, in order: the patient's
own record (patients), consultation and candidacy (screening), the treatment plan and sessions
(treatment, with the session rows from sessions), outcomes, the rating scales (measures, with
the treatment times from sessions for the plot's markers), and the letters and reports shared
with the patient in the portal (portal). Each section decides from the user's permissions what it
shows; this module is the one place that knows every app the chart reads."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.services import audit_view
from ketacare.measures import views as measures
from ketacare.outcomes import views as outcomes
from ketacare.patients import views as patients
from ketacare.portal import views as portal
from ketacare.screening import views as screening
from ketacare.screening.selectors import eligible_since
from ketacare.sessions.selectors import CHART_SESSIONS, chart_sessions, dose_times
from ketacare.treatment import views as treatment


@requires("patients.view_patient")
def patient_chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    chart = patients.chart_or_404(patient_id)
    audit_view(actor=Actor.from_request(request), obj=chart.patient)
    patient, user = chart.patient, request.user
    sees_sessions = user.has_perm("treatment_sessions.view_treatmentsession")
    sessions: Any = chart_sessions(patient_id=patient.pk) if sees_sessions else None
    # Every session is in the list when it is shorter than its limit: then the treatment times
    # and whether the patient was ever treated are read from it, not asked of the database again.
    complete = sessions is not None and len(sessions) < CHART_SESSIONS
    times = [s.dose_started_at for s in sessions if s.dose_started_at] if complete else None

    def treatment_times() -> list[datetime.datetime]:
        return list(reversed(times)) if times is not None else dose_times(patient_id=patient.pk)

    sections = [
        screening.chart_panel(request, patient),
        treatment.chart_panel(request, patient, sessions=sessions),
        outcomes.chart_panel(request, patient, treated=bool(times) if times is not None else None),
        measures.chart_panel(request, patient, session_times=treatment_times),
        portal.chart_panel(request, patient),
    ]
    # Each section is HTML its own template rendered (escaped there).
    panels = [mark_safe(html) for html in sections]  # noqa: S308
    context = patients.chart_context(chart, decided=eligible_since(patient_id=patient.pk))
    return render(request, "patients/chart.html", {**context, "panels": panels})

"""The progress report for the referring clinician and the patient's record (PDF, WeasyPrint):
scores over time with the plot, sessions, adverse events, response status and the plan."""

from __future__ import annotations

import base64
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from ketacare.clinical.outcomes import response_rules_text
from ketacare.measures.plots import trajectory_svg
from ketacare.measures.selectors import trajectories
from ketacare.outcomes import rules, services
from ketacare.outcomes.selectors import patient_outcomes
from ketacare.patients.models import Patient
from ketacare.sessions.selectors import chart_sessions, dose_times
from ketacare.treatment.selectors import chart_plans
from ketacare.ui.documents import letterhead


def report_context(patient: Patient) -> dict[str, Any]:
    services.catch_up_patient(patient.pk)
    times = dose_times(patient_id=patient.pk)
    series = trajectories(patient_id=patient.pk, session_times=times)
    sessions = chart_sessions(patient_id=patient.pk, limit=500)
    return {
        "clinic": letterhead(),
        "today": timezone.localdate(),
        "patient": patient,
        "provider": patient.referring_provider,
        "trajectories": series,
        "plot": _data_uri(trajectory_svg(series, width_in=7.0)),
        "outcomes": patient_outcomes(patient.pk),
        "rules": rules.current(),
        "response_text": response_rules_text(rules.current()),
        "sessions": sorted(sessions, key=lambda s: s.checked_in_at),
        "events": [(s, e) for s in sorted(sessions, key=lambda s: s.checked_in_at) for e in s.events],
        "plans": chart_plans(patient_id=patient.pk),
    }


def _data_uri(svg: str) -> str:
    """The plot as an image source: WeasyPrint draws an SVG image with its own SVG renderer."""
    if not svg:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def report_html(patient: Patient) -> str:
    return render_to_string("outcomes/report.html", report_context(patient))


def report_pdf(patient: Patient) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only documents need

    return bytes(HTML(string=report_html(patient)).write_pdf() or b"")

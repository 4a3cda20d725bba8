"""A demo patient ready for the portal: someone on a course with an appointment still to come, a
questionnaire due and their progress report shared with them, so that signing in at /my/ (with
the e-mail address and date of birth printed by `ketacare demo-portal`) shows each part of the
patient's page. Made through the same services the staff pages use; nothing here is real data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.measures import selectors as measures_selectors
from ketacare.measures import services as measures
from ketacare.patients.models import Patient
from ketacare.portal import services as portal
from ketacare.portal.models import SharedDocument
from ketacare.treatment.models import Appointment


@dataclass(frozen=True)
class PortalPatient:
    patient: Patient
    appointments: int


def seed_portal(*, physician: Any, nurse: Any) -> PortalPatient | None:
    """The demo's portal patient: the first patient (by MRN) with an e-mail address and a booked
    appointment still to come, given a PHQ-9 to fill in and their progress report, unless they
    have them already. None when no patient has an appointment ahead."""
    upcoming = Appointment.objects.filter(status=Appointment.Status.BOOKED, starts_at__gt=timezone.now())
    patient = (
        Patient.objects.filter(pk__in=upcoming.values("patient_id")).exclude(email="").order_by("mrn").first()
    )
    if patient is None:
        return None
    with transaction.atomic():
        if not measures_selectors.open_links(patient_id=patient.pk):
            measures.self_report_link_create(actor=Actor(user=nurse), patient=patient, instrument="phq9")
        shared = SharedDocument.objects.filter(patient=patient, withdrawn_at__isnull=True)
        if not shared.exists():
            portal.document_share(
                actor=Actor(user=physician), patient=patient, kind=SharedDocument.Kind.PROGRESS_REPORT
            )
    return PortalPatient(patient, upcoming.filter(patient=patient).count())

"""Stored outcomes follow every change they depend on, in the same transaction: a score, a
treatment (its dose start), a primary diagnosis and an antidepressant trial. Bulk loads that
bypass model saves (the demo, the history import) call `services.refresh` themselves."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ketacare.clinical.outcomes import OUTCOME_SCALES
from ketacare.measures.models import QuestionnaireResponse
from ketacare.outcomes import services
from ketacare.patients.models import Diagnosis
from ketacare.screening.models import AntidepressantTrial
from ketacare.sessions.models import TreatmentSession


@receiver(post_save, sender=QuestionnaireResponse, dispatch_uid="outcomes.response")
def _response_saved(sender: Any, instance: QuestionnaireResponse, **kwargs: Any) -> None:
    if instance.instrument in OUTCOME_SCALES and instance.total is not None:
        services.refresh([instance.patient_id])


@receiver(post_save, sender=TreatmentSession, dispatch_uid="outcomes.session")
def _session_saved(sender: Any, instance: TreatmentSession, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.dose_started_at is not None and (update_fields is None or "dose_started_at" in update_fields):
        services.refresh([instance.patient_id])


@receiver(post_save, sender=Diagnosis, dispatch_uid="outcomes.diagnosis")
@receiver(post_delete, sender=Diagnosis, dispatch_uid="outcomes.diagnosis_removed")
@receiver(post_save, sender=AntidepressantTrial, dispatch_uid="outcomes.trial")
def _history_saved(sender: Any, instance: Diagnosis | AntidepressantTrial, **kwargs: Any) -> None:
    services.refresh([instance.patient_id])

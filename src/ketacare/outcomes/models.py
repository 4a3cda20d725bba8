"""Each treated patient's outcome on each scale, as `clinical.outcomes.evaluate` names it.

Derived data, kept current in the same transaction as every change it depends on (a score, a
treatment, a diagnosis, an antidepressant trial: see signals.py), so the clinic figures are SQL
aggregates over one row per patient instead of a pass over every score. A row computed under
other outcome settings is recomputed before it is read (`rules_version`)."""

from __future__ import annotations

from django.db import models

from ketacare.measures.models import INSTRUMENT_CHOICES
from ketacare.patients.models import Patient


class PatientOutcome(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="outcomes")
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    rules_version = models.CharField(max_length=16)
    condition = models.CharField(max_length=10, blank=True, help_text="primary diagnosis (ICD-10-CM)")
    first_treatment_at = models.DateTimeField()
    period = models.CharField(max_length=7, help_text="quarter of the first treatment, clinic time: 2026 Q3")
    route = models.CharField(max_length=20)
    protocol = models.CharField(max_length=30)
    treatments = models.PositiveIntegerField()
    baseline_total = models.SmallIntegerField(null=True)
    baseline_at = models.DateTimeField(null=True)
    # Each time point: the total read there, and response and remission (null: no score there).
    first_total = models.SmallIntegerField(null=True)
    first_response = models.BooleanField(null=True)
    first_remission = models.BooleanField(null=True)
    week_total = models.SmallIntegerField(null=True)
    week_response = models.BooleanField(null=True)
    week_remission = models.BooleanField(null=True)
    course_end_at = models.DateTimeField(null=True)
    course_total = models.SmallIntegerField(null=True)
    course_response = models.BooleanField(null=True)
    course_remission = models.BooleanField(null=True)
    excluded_first = models.CharField(max_length=40, blank=True)
    excluded_week = models.CharField(max_length=40, blank=True)
    excluded_course = models.CharField(max_length=40, blank=True)
    # Time to the first response (days after the first treatment) and durability after it.
    days_to_response = models.FloatField(null=True)
    first_response_at = models.DateTimeField(null=True)
    relapse_at = models.DateTimeField(null=True)
    days_responding = models.FloatField(null=True, help_text="to the relapse, or to the last score")
    relapsed = models.BooleanField(null=True)
    latest_total = models.SmallIntegerField(null=True)
    latest_at = models.DateTimeField(null=True)
    trend = models.CharField(max_length=12, blank=True)
    weeks_on_trials = models.FloatField(null=True, help_text="antidepressant trials before ketamine")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "instrument"], name="one_outcome_per_patient_scale")
        ]
        indexes = [
            models.Index(fields=["instrument", "first_treatment_at"], name="outcome_scale_time"),
            # The dashboard's lists: the maintenance prompts and the patients left out.
            models.Index(fields=["trend", "latest_at"], name="outcome_trend"),
            models.Index(fields=["instrument", "excluded_first"], name="outcome_scale_excluded"),
        ]
        permissions = [("view_outcomes", "See the clinic's outcome figures and reports")]

    def __str__(self) -> str:
        return f"{self.instrument} outcome of patient {self.patient_id}"


class OutcomeState(models.Model):
    """One row: the settings version every stored outcome was last recomputed under, so a page
    finds out with one primary-key read whether the clinic changed a setting since."""

    rules_version = models.CharField(max_length=16)
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"outcomes computed under {self.rules_version}"

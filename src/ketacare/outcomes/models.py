"""Each treated patient's outcome on each scale, as `clinical.outcomes.evaluate` names it.

An explicit projection (derived data): a clinical write that changes what an outcome depends on
(a score, a dose start, a primary diagnosis, an antidepressant trial) only adds a
`patients.RecordChange` row for the patient in its own transaction; `services.catch_up` recomputes the
changed patients later, in a transaction of its own, before the outcome pages read. So a failure
of the outcome rules can never lose or block a clinical write. The clinic figures are SQL
aggregates over one row per patient and scale instead of a pass over every score."""

from __future__ import annotations

from django.db import models

from ketacare.clinical import instruments
from ketacare.clinical.outcomes import TREND_TEXT, Trend
from ketacare.measures.models import INSTRUMENT_CHOICES
from ketacare.patients.models import Patient


class TreatedPatient(models.Model):
    """Every patient who received a first dose, once: the intention-to-treat population and the
    dashboard's "patients treated", whether or not the patient was ever scored on a scale. The
    per-scale rows below exist only for the scales a patient was scored on."""

    # Derived rows, rebuilt from the patients' own records: no database foreign-key check (a full
    # rebuild would check every row again); Django still deletes them with the patient.
    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, primary_key=True, related_name="+", db_constraint=False
    )
    condition = models.CharField(max_length=10, blank=True, help_text="primary diagnosis (ICD-10-CM)")
    first_treatment_at = models.DateTimeField()
    period = models.CharField(max_length=7, help_text="quarter of the first treatment, clinic time")
    route = models.CharField(max_length=20)
    protocol = models.CharField(max_length=30)
    treatments = models.PositiveIntegerField()
    # When each time point's window closes: from then on the patient is in its intention-to-treat
    # denominator on every scale (the same for every scale: they depend on the treatments only).
    first_due_at = models.DateTimeField()
    week_due_at = models.DateTimeField()
    course_due_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["first_treatment_at"], name="treated_first_treatment")]

    def __str__(self) -> str:
        return f"patient {self.patient_id}, first treated {self.first_treatment_at:%Y-%m-%d}"


class PatientOutcome(models.Model):
    # Derived rows, as above: no foreign-key check, and no index of its own (the unique
    # (patient, instrument) index below finds a patient's rows).
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="outcomes", db_constraint=False, db_index=False
    )
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
    baseline_context = models.CharField(max_length=16, blank=True, help_text="measures Context")
    # The same-day change: the first score within 20 hours of the first dose (the acute state;
    # never a response at a time point). Null: no such score, or no usable baseline.
    same_day_total = models.SmallIntegerField(null=True)
    same_day_response = models.BooleanField(null=True)
    same_day_remission = models.BooleanField(null=True)
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
    # When each time point's window closes: from then on the patient is in its intention-to-treat
    # denominator, scored there or not. And days from the dose to the score read there (the
    # recall-period caveat).
    first_due_at = models.DateTimeField(null=True)
    week_due_at = models.DateTimeField(null=True)
    course_due_at = models.DateTimeField(null=True)
    first_days = models.FloatField(null=True)
    week_days = models.FloatField(null=True)
    course_days = models.FloatField(null=True)
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
            models.Index(fields=["instrument", "trend", "latest_at"], name="outcome_scale_trend"),
            # ... read in this order, so the first hundred are found without sorting them all.
            models.Index(
                fields=["instrument", "excluded_first", "excluded_course", "patient"],
                name="outcome_scale_left_out",
            ),
        ]
        permissions = [("view_outcomes", "See the clinic's outcome figures and reports")]

    def __str__(self) -> str:
        return f"{self.instrument} outcome of patient {self.patient_id}"

    @property
    def scale_name(self) -> str:
        return instruments.get(self.instrument).name

    @property
    def trend_text(self) -> str:
        """ "Responding", "Scores rising toward relapse", "Relapsed", or "" (no trend)."""
        return TREND_TEXT.get(Trend(self.trend), "")


class OutcomeState(models.Model):
    """One row: the settings version every stored outcome was last recomputed under, so a page
    finds out with one primary-key read whether the clinic changed a setting since; and the last
    catch-up, and the last one that failed (shown on the dashboard until one succeeds)."""

    rules_version = models.CharField(max_length=16)
    refreshed_at = models.DateTimeField()
    caught_up_at = models.DateTimeField(null=True)
    failed_at = models.DateTimeField(null=True)
    failure = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"outcomes computed under {self.rules_version}"


# The columns the dashboard groups a scale's outcomes by: every breakdown and exclusion at once.
GROUP_KEYS = (
    "condition",
    "route",
    "protocol",
    "period",
    "excluded_first",
    "excluded_week",
    "excluded_course",
)

# The dashboard's counts, grouped by every breakdown (and exclusion) at once, read in group order:
# SQLite aggregates by sorting, and these spare it the sort (and, for the treated patients, the
# table: the index covers the query). PostgreSQL hashes the groups instead and is no faster with
# them, so they are SQLite's only (made by the outcomes migration; the full rebuild drops and
# rebuilds them).
GROUP_INDEXES: tuple[tuple[type[models.Model], models.Index], ...] = (
    (
        PatientOutcome,
        models.Index(
            fields=["instrument", *GROUP_KEYS],
            name="outcome_scale_groups",
        ),
    ),
    (
        TreatedPatient,
        models.Index(
            fields=[
                "condition",
                "route",
                "protocol",
                "period",
                "first_due_at",
                "week_due_at",
                "course_due_at",
                "treatments",
                "patient",
            ],
            name="treated_groups",
        ),
    ),
)

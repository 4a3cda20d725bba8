"""Treatment plans (a course of treatments and its maintenance), chairs and appointments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from ketacare.clinical.protocols import ROUTE_LABELS, ProtocolCode, WeightBasis
from ketacare.patients.models import Patient
from ketacare.screening.models import CandidacyDecision

_USER = settings.AUTH_USER_MODEL

PROTOCOL_CHOICES = [(c.value, c.value) for c in ProtocolCode]
ROUTE_CHOICES = [(r.value, label) for r, label in ROUTE_LABELS.items()]
WEIGHT_BASIS_CHOICES = [(b.value, f"{b.value} body weight") for b in WeightBasis]


class Chair(models.Model):
    """A treatment chair (or bed) in a room: what the calendar books."""

    name = models.CharField(max_length=40, unique=True)
    room = models.CharField(max_length=60, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} ({self.room})" if self.room else self.name


class OpeningHours(models.Model):
    """When the clinic treats on one weekday. Until the clinic admin sets any, bookings are not
    checked against opening hours; once set, a weekday with no row is a day the clinic is
    closed. Booking outside them needs a reason (an override, audited)."""

    weekday = models.PositiveSmallIntegerField(unique=True, help_text="0 = Monday ... 6 = Sunday")
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ("weekday",)
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__lte=6), name="opening_hours_weekday", violation_error_message="0-6."
            ),
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")),
                name="opening_hours_close_after_open",
                violation_error_message="The clinic must close after it opens.",
            ),
        ]

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {self.opens:%H:%M}-{self.closes:%H:%M}"


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Closure(models.Model):
    """A day the clinic is closed (a public holiday, training): no treatment is booked on it
    without a reason."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=120)
    created_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("date",)

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} ({self.reason})"


class PlanQuerySet(models.QuerySet["TreatmentPlan"]):
    def active(self) -> PlanQuerySet:
        return self.filter(status=TreatmentPlan.Status.ACTIVE)


class TreatmentPlan(models.Model):
    """A course of treatment under one protocol: induction, then maintenance boosters. Started
    only under a signed candidacy decision that covers its route."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        STOPPED = "stopped", "Stopped"

    class Phase(models.TextChoices):
        INDUCTION = "induction", "Induction"
        MAINTENANCE = "maintenance", "Maintenance"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    decision = models.ForeignKey(CandidacyDecision, on_delete=models.PROTECT, related_name="+")
    protocol = models.CharField(max_length=30, choices=PROTOCOL_CHOICES)
    route = models.CharField(max_length=20, choices=ROUTE_CHOICES)
    dose_mg_per_kg = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    weight_basis = models.CharField(max_length=10, choices=WEIGHT_BASIS_CHOICES, blank=True)
    induction_sessions = models.PositiveSmallIntegerField()
    booster_interval_days = models.PositiveSmallIntegerField()
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.INDUCTION)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_on = models.DateField()
    goals = models.TextField(blank=True)
    # Esketamine for depressive symptoms with acute suicidal ideation or behaviour starts at 84 mg
    # (Spravato prescribing information 2.3); otherwise the first dose is 56 mg.
    suicidal_ideation_indication = models.BooleanField(
        "Depressive symptoms with acute suicidal ideation or behaviour (esketamine 84 mg start)",
        default=False,
    )
    created_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stop_reason = models.CharField(max_length=300, blank=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ("-started_on", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status="active"),
                name="one_active_plan_per_patient",
                violation_error_message="This patient already has an active treatment plan.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_route_display()} plan from {self.started_on:%Y-%m-%d}"

    @property
    def protocol_name(self) -> str:
        """The protocol's name as the clinic's protocol table gives it (its code if the clinic has
        since removed it)."""
        from ketacare.treatment import rules

        try:
            return rules.get(self.protocol).name
        except (rules.ProtocolsError, KeyError):
            return self.protocol


class MaintenanceDecision(models.Model):
    """A physician's decision on the course: move to maintenance, change the booster interval."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="maintenance_decisions")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    phase = models.CharField(max_length=12, choices=TreatmentPlan.Phase.choices)
    booster_interval_days = models.PositiveSmallIntegerField()
    reason = models.TextField()
    decided_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ("-decided_at", "-id")

    def __str__(self) -> str:
        return f"{self.get_phase_display()}, boosters every {self.booster_interval_days} days"


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def holding_time(self) -> AppointmentQuerySet:
        """Appointments that occupy their chair (booked or attended; not cancelled)."""
        return self.exclude(status=Appointment.Status.CANCELLED)


class Appointment(models.Model):
    class Kind(models.TextChoices):
        INDUCTION = "induction", "Induction"
        MAINTENANCE = "maintenance", "Maintenance"
        BOOSTER = "booster", "Booster"

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        ATTENDED = "attended", "Attended"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="appointments")
    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, related_name="appointments")
    clinician = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    times_rescheduled = models.PositiveSmallIntegerField(default=0)
    last_change_reason = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ("starts_at", "id")
        indexes = [
            models.Index(fields=["chair", "starts_at"], name="appointment_chair_time"),
            models.Index(fields=["clinician", "starts_at"], name="appointment_staff_time"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_time"),
            models.Index(fields=["starts_at"], name="appointment_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="appointment_ends_after_start",
                violation_error_message="An appointment must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled", cancelled_at__isnull=False)
                | (~Q(status="cancelled") & Q(cancelled_at__isnull=True)),
                name="appointment_cancel_fields",
                violation_error_message="A cancelled appointment records when it was cancelled.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M} in {self.chair.name}"

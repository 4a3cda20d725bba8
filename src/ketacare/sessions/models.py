"""A treatment session as it happens at the chair: check-in, the dose order and its verification,
the vitals flowsheet, sedation and dissociation ratings, adverse events, discharge, signatures,
amendments and (for esketamine) the REMS patient monitoring record."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from ketacare.clinical.monitoring import ADVERSE_EVENT_LABELS, ALARM_LABELS, MOAAS_LEVELS, Alarm, Severity
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.models import Patient
from ketacare.treatment.models import (
    PROTOCOL_CHOICES,
    ROUTE_CHOICES,
    WEIGHT_BASIS_CHOICES,
    Appointment,
    TreatmentPlan,
)

_USER = settings.AUTH_USER_MODEL

# REMS patient monitoring form: concomitant medicines asked about (clinical reference section 5).
CONCOMITANT = (
    ("benzodiazepines", "Benzodiazepines"),
    ("sedative_hypnotics", "Non-benzodiazepine sedative hypnotics"),
    ("psychostimulants", "Psychostimulants"),
    ("maois", "Monoamine oxidase inhibitors (MAOIs)"),
    ("opioids", "Opioids"),
)


# What a refused action on the session's safety log was, in words (services._log's kinds).
SAFETY_LOG_LABELS = {
    "dose_refused": "Dose order refused",
    "order_stopped": "Dose order stopped by a re-check",
    "gate_blocked": "Start refused: blood pressure over the gate",
    "start_refused_checklist": "Start refused: the pre-dose checklist",
    "start_refused_risk": "Start refused: the suicide-risk gate",
    "start_refused_interval": "Start refused: too soon after the last dose",
    "start_refused_rems": "Start refused: no REMS enrolment",
    "start_refused_safety": "Start refused: a safety re-check",
    "start_refused_stock": "Start refused by the controlled-substance ledger",
}


class SessionQuerySet(models.QuerySet["TreatmentSession"]):
    def open(self) -> SessionQuerySet:
        return self.filter(locked_at__isnull=True)


class TreatmentSession(models.Model):
    """One treatment. Signed by the nurse and the physician, then locked: later changes are
    amendments that keep the original."""

    class Source(models.TextChoices):
        LIVE = "live", "Recorded at the chair"
        IMPORT = "import", "Imported history"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="treatment_sessions")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.LIVE)
    # Imported history may have no plan or check-in behind it; a live session always has both.
    plan = models.ForeignKey(
        TreatmentPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="session"
    )
    protocol = models.CharField(max_length=30, choices=PROTOCOL_CHOICES)
    route = models.CharField(max_length=20, choices=ROUTE_CHOICES)
    number = models.PositiveSmallIntegerField(help_text="1 for the patient's first session on this route")
    checked_in_at = models.DateTimeField()
    checked_in_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    concomitant = models.JSONField(default=list, blank=True)
    fasting_confirmed = models.BooleanField(default=False)
    # A weight more than 10% from the last recorded one, confirmed by the nurse at check-in.
    weight_confirmed = models.BooleanField(default=False)
    # The pre-dose checklist: {item code: true/false} as answered, and what the answers meant under
    # the clinic's table when they were given: [{"code", "effect", "message"}].
    checklist = models.JSONField(default=dict, blank=True)
    checklist_findings = models.JSONField(default=list, blank=True)
    escort_name = models.CharField(max_length=100, blank=True)
    escort_phone = models.CharField(max_length=40, blank=True)
    # The suicide-risk gate: a physician's written risk assessment lets the dose start after an
    # urgent safety alert.
    risk_assessment = models.TextField(blank=True)
    risk_assessment_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    risk_assessment_at = models.DateTimeField(null=True, blank=True)
    # Blood-pressure gate: a physician may let the session start over the gate, with a reason.
    gate_override_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    gate_override_at = models.DateTimeField(null=True, blank=True)
    gate_override_reason = models.CharField(max_length=300, blank=True)
    dose_started_at = models.DateTimeField(null=True, blank=True)
    dose_stopped_at = models.DateTimeField(null=True, blank=True)
    # What was given: the prepared dose, or for an infusion stopped early the part the pump infused
    # (the rest is waste, to be witnessed); for esketamine 28 mg per device given.
    given_dose_mg = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    infused_volume_ml = models.DecimalField(
        "Volume infused (mL, from the pump)", max_digits=7, decimal_places=2, null=True, blank=True
    )
    stop_reason = models.CharField(max_length=300, blank=True)
    waste_mg = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    # Scheduled ratings not done, each with the reason: [{"what", "minutes", "reason", "by", "at"}].
    skipped_ratings = models.JSONField(default=list, blank=True)
    discharge_criteria = models.JSONField(default=dict, blank=True)
    # The computed discharge criteria as they stood at discharge, and a physician's sign-off past a
    # failed one: [{"code", "label", "met", "detail"}].
    discharge_assessment = models.JSONField(default=list, blank=True)
    discharge_override_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    discharge_override_reason = models.CharField(max_length=300, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    discharged_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    # Refused actions that matter for safety (a dose over the protocol's range, a start over the
    # gate), kept even though the action itself was refused: [{"at", "kind", "text", "by"}].
    safety_log = models.JSONField(default=list, blank=True)
    nurse_signed_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    nurse_signed_at = models.DateTimeField(null=True, blank=True)
    physician_signed_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    physician_signed_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    signature = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the record as signed")

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ("-checked_in_at", "-id")
        indexes = [
            models.Index(fields=["patient", "checked_in_at"], name="session_patient_time"),
            models.Index(fields=["route", "checked_in_at"], name="session_route_time"),
            # The Today board's read: the live sessions not yet signed (a handful among many).
            models.Index(
                fields=["checked_in_at", "id"],
                condition=Q(locked_at__isnull=True, source="live"),
                name="session_open",
            ),
        ]
        permissions = [
            ("override_bp_gate", "Start a session over the blood-pressure gate"),
            ("assess_risk", "Write the risk assessment that lets a dose start after an urgent alert"),
            ("override_discharge", "Discharge past a failed criterion, with a reason"),
            ("verify_dose", "Verify another clinician's dose order"),
            ("sign_nursing", "Sign a session as the nurse"),
            ("sign_medical", "Sign a session as the physician"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(source="import") | Q(plan__isnull=False, checked_in_by__isnull=False),
                name="live_session_has_plan_and_check_in",
                violation_error_message="A session recorded at the chair belongs to a plan and a check-in.",
            ),
            models.CheckConstraint(
                condition=Q(dose_stopped_at__isnull=True) | Q(dose_started_at__isnull=False),
                name="session_stop_after_start",
                violation_error_message="A dose cannot stop before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(locked_at__isnull=True)
                | Q(nurse_signed_at__isnull=False, physician_signed_at__isnull=False),
                name="session_locked_when_both_signed",
                violation_error_message="A session locks only when the nurse and the physician have signed.",
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.number} ({self.get_route_display()}) {self.checked_in_at:%Y-%m-%d}"

    @property
    def is_esketamine(self) -> bool:
        return self.route == "esketamine"

    @property
    def locked(self) -> bool:
        return self.locked_at is not None

    @property
    def safety_log_entries(self) -> list[dict[str, Any]]:
        """The safety log in words: [{"at", "label", "text", "by"}], "at" a datetime."""
        import datetime

        return [
            {
                "at": datetime.datetime.fromisoformat(e["at"]),
                "label": SAFETY_LOG_LABELS.get(e["kind"], e["kind"].replace("_", " ").capitalize()),
                "text": e["text"],
                "by": e.get("by"),
            }
            for e in self.safety_log
        ]

    @property
    def concomitant_labels(self) -> list[str]:
        labels = dict(CONCOMITANT)
        return [labels.get(code, code) for code in self.concomitant]


class DoseOrder(models.Model):
    """The physician's dose order, as calculated under the protocol. A later order before the
    dose starts supersedes it; the superseded order stays on record."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="orders")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    # Empty only on imported history, which records the dose but not who ordered it.
    ordered_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ordered_at = models.DateTimeField()
    weight_basis = models.CharField(max_length=10, choices=WEIGHT_BASIS_CHOICES, blank=True)
    basis_weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    dose_mg_per_kg = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    dose_mg = models.DecimalField(max_digits=6, decimal_places=1)
    # The dose in the syringe: the drawn volume (rounded to the syringe graduation) x the
    # concentration. What is given and what the ledger records.
    prepared_dose_mg = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    final_concentration_mg_per_ml = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    injection_sites = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_reason = models.CharField(max_length=300, blank=True)
    notes = models.JSONField(default=list, blank=True)
    capped = models.BooleanField(default=False)
    concentration_mg_per_ml = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    draw_volume_ml = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    bag_ml = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    infused_volume_ml = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    duration_min = models.PositiveSmallIntegerField(null=True, blank=True)
    rate_ml_per_h = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    devices = models.PositiveSmallIntegerField(null=True, blank=True)
    lot_number = models.CharField(max_length=40, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    needs_verification = models.BooleanField(default=False)
    verified_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-ordered_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(superseded_at__isnull=True),
                name="one_current_order_per_session",
                violation_error_message="A session has one current dose order.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dose_mg} mg ordered {self.ordered_at:%H:%M}"

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    @property
    def dose_given_mg(self) -> Any:
        """The prepared dose where one was computed (imported history has the ordered dose only)."""
        return self.prepared_dose_mg if self.prepared_dose_mg is not None else self.dose_mg


class SessionAmendment(models.Model):
    """A change to a signed session: the reason and the correction; the original stays."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="amendments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300)
    text = models.TextField(blank=True)
    made_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField()
    signature_at_amendment = models.CharField(max_length=64)

    class Meta:
        ordering = ("made_at", "id")

    def __str__(self) -> str:
        return f"Amendment {self.made_at:%Y-%m-%d %H:%M}"


class VitalSign(models.Model):
    class Phase(models.TextChoices):
        PRE = "pre", "Before the dose"
        DURING = "during", "During the dose"
        AFTER = "after", "After the dose"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="vitals")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    taken_at = models.DateTimeField()
    phase = models.CharField(max_length=8, choices=Phase.choices)
    minutes_after_dose = models.SmallIntegerField(null=True, blank=True)
    systolic = models.PositiveSmallIntegerField("Systolic (mmHg)", null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField("Diastolic (mmHg)", null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField("Heart rate (/min)", null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField("SpO2 (%)", null=True, blank=True)
    resp_rate = models.PositiveSmallIntegerField("Respiratory rate (/min)", null=True, blank=True)
    highlights = models.JSONField(default=list, blank=True)
    alarms = models.JSONField(default=list, blank=True)
    entered_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    amendment = models.ForeignKey(
        SessionAmendment, null=True, blank=True, on_delete=models.PROTECT, related_name="vitals"
    )
    struck_by = models.ForeignKey(
        SessionAmendment, null=True, blank=True, on_delete=models.PROTECT, related_name="struck_vitals"
    )

    class Meta:
        ordering = ("taken_at", "id")
        indexes = [models.Index(fields=["session", "taken_at"], name="vitals_session_time")]

    def __str__(self) -> str:
        return f"{self.systolic}/{self.diastolic} at {self.taken_at:%H:%M}"


class SedationRating(models.Model):
    """MOAA/S, 0 (no response) to 5 (responds readily)."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="sedation")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    rated_at = models.DateTimeField()
    minutes_after_dose = models.SmallIntegerField(null=True, blank=True)
    moaas = models.PositiveSmallIntegerField(
        "MOAA/S",
        choices=[(score, f"{score}: {label}") for score, label in MOAAS_LEVELS],
        validators=[MinValueValidator(0), MaxValueValidator(5)],
    )
    alarm = models.CharField(max_length=20, blank=True)
    entered_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ("rated_at", "id")

    def __str__(self) -> str:
        return f"MOAA/S {self.moaas} at {self.rated_at:%H:%M}"

    @property
    def alarm_label(self) -> str:
        return ALARM_LABELS[Alarm(self.alarm)] if self.alarm else ""


class SessionScale(models.Model):
    """A rating scale given as part of the session (the pre- and post-session scales, CADSS)."""

    class Purpose(models.TextChoices):
        PRE = "pre", "Pre-session scale"
        POST = "post", "Post-session scale"
        DISSOCIATION = "dissociation", "Dissociation (CADSS)"

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="scales")
    response = models.OneToOneField(
        QuestionnaireResponse, on_delete=models.PROTECT, related_name="session_link"
    )
    purpose = models.CharField(max_length=14, choices=Purpose.choices)

    class Meta:
        ordering = ("response__administered_at", "id")

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {self.response}"


class AdverseEvent(models.Model):
    Kind = models.TextChoices(  # type: ignore[call-overload]
        "Kind", [(k.name, (k.value, label)) for k, label in ADVERSE_EVENT_LABELS.items()]
    )
    Severity = models.TextChoices(  # type: ignore[call-overload]
        "Severity", [(s.name, (s.value, s.value.capitalize())) for s in Severity]
    )

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="adverse_events")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    description = models.CharField(max_length=300, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    serious = models.BooleanField("Serious adverse event", default=False)
    action_taken = models.CharField(max_length=300)
    onset_at = models.DateTimeField()
    recorded_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    amendment = models.ForeignKey(
        SessionAmendment, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )

    class Meta:
        ordering = ("onset_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="other") | ~Q(description=""),
                name="other_adverse_event_described",
                violation_error_message="Describe an adverse event of kind 'other'.",
            ),
        ]

    def __str__(self) -> str:
        label: Any = self.get_kind_display()
        return f"{label} ({self.severity})"


class DeviceDose(models.Model):
    """One esketamine nasal device given: its time, 5 minutes after the one before."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="devices")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField()
    given_at = models.DateTimeField()
    entered_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ("number",)
        constraints = [
            models.UniqueConstraint(
                fields=["session", "number"],
                name="one_device_number_per_session",
                violation_error_message="This device is already recorded.",
            )
        ]

    def __str__(self) -> str:
        return f"Device {self.number} at {self.given_at:%H:%M}"


class AlarmAcknowledgement(models.Model):
    """A clinician answers an alarm that was not an adverse event (a probe off the finger, a
    reading repeated and normal), with a note. It answers that alarm as raised up to now."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="alarm_acks")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    alarm = models.CharField(max_length=20)
    note = models.CharField(max_length=300)
    acknowledged_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField()

    class Meta:
        ordering = ("acknowledged_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=~Q(note=""),
                name="alarm_ack_has_note",
                violation_error_message="Say why the alarm needs no adverse event.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.alarm} acknowledged {self.acknowledged_at:%H:%M}"


class RemsEnrolment(models.Model):
    """The patient's enrolment in the esketamine REMS, needed before the first esketamine dose."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="rems_enrolment")
    enrolled_on = models.DateField()
    reference = models.CharField("REMS patient enrolment number", max_length=60)
    recorded_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"REMS enrolment {self.reference}"


class RemsRecord(models.Model):
    """What the esketamine REMS patient monitoring form needs beyond the session record, and
    whether the form has been submitted (due within 7 days)."""

    session = models.OneToOneField(TreatmentSession, on_delete=models.PROTECT, related_name="rems")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    ready_to_leave_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the patient would have been ready to leave without the 2-hour rule",
    )
    monitoring_setting = models.CharField(max_length=100, blank=True)
    # Chosen on the form (REMS corrections, clinical reference section 5): the clinician who
    # monitored, not necessarily the one who checked the patient in; the prescriber on site
    # during administration and monitoring.
    monitored_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    prescriber_on_site = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    confirmation = models.CharField("REMS confirmation number", max_length=60, blank=True)

    class Meta:
        ordering = ("due_on", "id")
        indexes = [models.Index(fields=["submitted_at", "due_on"], name="rems_open_due")]

    def __str__(self) -> str:
        return f"REMS form due {self.due_on:%Y-%m-%d}"

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ketacare.clinical import instruments
from ketacare.clinical.instruments import CODES
from ketacare.patients.models import Patient

# Stored as the code; shown as the scale's name ("PHQ-9", "QIDS-SR16"), never the code.
INSTRUMENT_CHOICES = [(code, instruments.get(code).short_name) for code in CODES]


class Context(models.TextChoices):
    BASELINE = "baseline", "Baseline"
    PRE_SESSION = "pre_session", "Before a session"
    POST_SESSION = "post_session", "After a session"
    FOLLOW_UP = "follow_up", "Follow-up"


class Source(models.TextChoices):
    STAFF = "staff", "Entered by staff"
    PATIENT_LINK = "patient_link", "Patient self-report"
    IMPORT = "import", "Imported history"
    SYSTEM = "system", "Sent by another system"  # through the REST API, with the system's token


class QuestionnaireResponse(models.Model):
    """One completed (or partly completed) rating scale: every answer, and the score computed
    from them by clinical.instruments at the time it was recorded."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="responses")
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    answers = models.JSONField(help_text="positions of the chosen options, in item order; null = unanswered")
    item_scores = models.JSONField()
    total = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=30, blank=True)
    flags = models.JSONField(default=list, blank=True)
    complete = models.BooleanField()
    prorated = models.BooleanField(default=False)
    context = models.CharField(max_length=16, choices=Context.choices)
    minutes_after_dose = models.PositiveSmallIntegerField(null=True, blank=True)
    administered_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Source.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-administered_at", "-id")
        indexes = [
            # A patient's scores on a scale in time order; total and context ride along so the
            # outcome projection reads every score from the index alone (no table access).
            models.Index(
                fields=["patient", "instrument", "administered_at", "total", "context"],
                name="response_patient_scale_cover",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes_after_dose__isnull=True) | Q(context="post_session"),
                name="minutes_after_dose_only_post_session",
                violation_error_message="Minutes after the dose apply only to a post-session rating.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.total} ({self.administered_at:%Y-%m-%d})"

    @property
    def flag_text(self) -> str:
        """The safety flags in words ("suicidal ideation, severe symptoms")."""
        return flag_labels(self.flags)


# The columns bulk loads of responses write (the demo, the history import), in this order.
RESPONSE_BULK_COLUMNS = (
    "patient",
    "instrument",
    "answers",
    "item_scores",
    "total",
    "band",
    "flags",
    "complete",
    "prorated",
    "context",
    "minutes_after_dose",
    "administered_at",
    "source",
    "created_at",
)


# What each safety flag says on a page.
FLAG_TEXT = {
    "suicidal_ideation": "suicidal ideation",
    "suicidal_behavior": "suicidal behaviour",
    "suicide_risk_high": "high suicide risk (C-SSRS)",
    "suicide_risk_moderate": "moderate suicide risk (C-SSRS)",
    "severe_symptoms": "severe symptoms",
    "safety_item_missing": "safety question unanswered",
}


def flag_labels(flags: list[str]) -> str:
    return ", ".join(FLAG_TEXT.get(f, f) for f in flags)


class SafetyAlert(models.Model):
    """Raised in the same transaction as the response that caused it; shown on every physician's
    and nurse's dashboard and on the chart until a clinician acknowledges it with a note."""

    class Priority(models.IntegerChoices):
        URGENT = 1, "Urgent"  # suicidal ideation or behaviour, high or moderate C-SSRS risk
        FOLLOW_UP = 2, "Follow up"  # severe symptoms, an unanswered safety item

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="alerts")
    response = models.OneToOneField(QuestionnaireResponse, on_delete=models.PROTECT, related_name="alert")
    flags = models.JSONField()
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledgement_note = models.TextField(blank=True)

    class Meta:
        ordering = ("priority", "created_at", "id")
        indexes = [
            models.Index(
                fields=["priority", "created_at", "id"],
                condition=Q(acknowledged_at__isnull=True),
                name="alert_open",
            ),
            models.Index(fields=["patient", "acknowledged_at"], name="alert_patient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True)
                | (Q(acknowledged_by__isnull=False) & ~Q(acknowledgement_note="")),
                name="acknowledgement_has_clinician_and_note",
                violation_error_message="An acknowledgement needs the clinician and a note.",
            ),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk}: {', '.join(self.flags)}"

    @property
    def is_urgent(self) -> bool:
        return self.priority == self.Priority.URGENT

    @property
    def flag_labels(self) -> str:
        return flag_labels(self.flags)

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class SelfReportLink(models.Model):
    """A single-use, expiring link a patient opens on a phone to fill in one scale.

    The patient's URL carries a random token that names nothing (no ids); the row keeps only the
    token's SHA-256 digest, so whoever reads the database (a backup, a replica, a report) cannot
    open a live link. Staff may revoke a link before it is used."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="self_report_links")
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    context = models.CharField(max_length=16, choices=Context.choices, default=Context.FOLLOW_UP)
    token_digest = models.CharField(
        max_length=64, unique=True, editable=False, help_text="SHA-256 of the token, hexadecimal"
    )
    # Empty: made by KetaCare's reminders (`ketacare send-due`), not by a member of staff.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    response = models.OneToOneField(
        QuestionnaireResponse,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="self_report_link",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(
                condition=Q(used_at__isnull=True, response__isnull=True)
                | Q(used_at__isnull=False, response__isnull=False),
                name="link_used_with_its_response",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_by__isnull=True)
                | Q(revoked_at__isnull=False, revoked_by__isnull=False),
                name="link_revoked_by_someone",
                violation_error_message="A revoked link names who revoked it.",
            ),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(revoked_at__isnull=True),
                name="link_used_or_revoked_not_both",
                violation_error_message="A link is either used or revoked, not both.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} link for patient {self.patient_id}"

    @property
    def scale_name(self) -> str:
        return instruments.get(self.instrument).short_name

"""Referral, consultation, treatment history and the physician's candidacy decision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from ketacare.clinical.antidepressants import DRUGS_BY_NAME, Drug
from ketacare.clinical.candidacy import DECISION_LABELS
from ketacare.clinical.contraindications import ROUTE_LABELS, Route
from ketacare.clinical.staging import ADHERENCE_LABELS, OUTCOME_LABELS, SEVERITY_LABELS
from ketacare.immutable import WrittenOnce
from ketacare.patients.models import Patient, ReferringProvider

_USER = settings.AUTH_USER_MODEL


def _choices(name: str, labels: Mapping[Any, str]) -> Any:
    """Django choices built from a clinical enum and its labels (the clinical enum is the truth)."""
    members = [(k.name, (k.value, v)) for k, v in labels.items()]
    return models.TextChoices(name, members)  # type: ignore[call-overload]


class Referral(models.Model):
    """Why a patient was sent to the clinic, by whom, and what the patient agreed to."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    referring_provider = models.ForeignKey(
        ReferringProvider, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    received_on = models.DateField()
    reason = models.TextField("Reason for referral")
    presenting_conditions = models.JSONField(default=list)
    consent_to_treatment = models.BooleanField("Consent to assessment and treatment")
    consent_to_share = models.BooleanField("Consent to share reports with the referrer")
    recorded_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-received_on", "-id")
        indexes = [models.Index(fields=["patient", "-received_on"], name="referral_patient_date")]

    def __str__(self) -> str:
        return f"Referral of {self.received_on:%Y-%m-%d}"


class Consultation(models.Model):
    """The candidacy assessment: the current episode, the history checklist, and its decision."""

    Severity = _choices("Severity", SEVERITY_LABELS)

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consultations")
    referral = models.ForeignKey(Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField()
    clinician = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    episode_duration_months = models.PositiveSmallIntegerField(
        "Length of the current episode (months)",
        null=True,
        blank=True,
        validators=[
            MaxValueValidator(600, "An episode length over 600 months (50 years) is a typing error.")
        ],
    )
    severity = models.CharField(
        "Severity of the current episode", max_length=30, choices=Severity.choices, blank=True
    )
    augmentation_used = models.BooleanField(
        "Augmentation used in this episode",
        default=False,
        help_text="Besides any augmenting agent in the trials.",
    )
    # The history checklist: every question answered yes (True) or no (False). Empty until answered.
    checklist = models.JSONField(default=dict, blank=True)
    checklist_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    checklist_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-held_on", "-id")
        indexes = [models.Index(fields=["patient", "-held_on"], name="consultation_patient_date")]

    def __str__(self) -> str:
        return f"Consultation of {self.held_on:%Y-%m-%d}"

    @property
    def present_conditions(self) -> list[str]:
        return [code for code, present in self.checklist.items() if present]


class AntidepressantTrial(models.Model):
    """One antidepressant or augmenting agent the patient took, and how it went."""

    Outcome = _choices("Outcome", OUTCOME_LABELS)
    Adherence = _choices("Adherence", ADHERENCE_LABELS)

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="antidepressant_trials")
    # No choices here: the clinic's table (the published defaults plus drugs the clinic adds in its
    # screening-rules file) is the list, checked by `services.trial_record`.
    drug = models.CharField(max_length=40)
    daily_dose_mg = models.DecimalField(
        "Highest daily dose (mg)",
        max_digits=7,
        decimal_places=3,
        validators=[MinValueValidator(0.001, "The daily dose must be more than 0 mg.")],
    )
    started_on = models.DateField()
    stopped_on = models.DateField(null=True, blank=True, help_text="Empty while the patient still takes it.")
    adherence = models.CharField(max_length=10, choices=Adherence.choices, default="unknown")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    current_episode = models.BooleanField("In the current episode", default=True)
    notes = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    # A trial entered in error is struck out, never deleted: the letter and audit trail stay true.
    struck_out_at = models.DateTimeField(null=True, blank=True)
    struck_out_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    struck_out_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ("started_on", "id")
        indexes = [models.Index(fields=["patient", "started_on"], name="trial_patient_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(stopped_on__isnull=True) | Q(stopped_on__gte=models.F("started_on")),
                name="trial_stops_after_start",
                violation_error_message="A trial cannot stop before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(daily_dose_mg__gt=0),
                name="trial_dose_positive",
                violation_error_message="The daily dose must be more than 0 mg.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug_label} {self.dose_text}/day"

    def _table_drug(self) -> Drug | None:
        from ketacare.screening import rules  # the clinic's table, read when shown

        try:
            return rules.current().drugs.get(self.drug) or DRUGS_BY_NAME.get(self.drug)
        except rules.RulesError:
            return DRUGS_BY_NAME.get(self.drug)

    @property
    def drug_label(self) -> str:
        return self.drug.capitalize()

    @property
    def dose_text(self) -> str:
        """The dose in the drug's own unit: "150 mg", "25 micrograms"."""
        d = self._table_drug()
        return d.dose_text(self.daily_dose_mg) if d else f"{self.daily_dose_mg.normalize():f} mg"


class PriorTreatment(models.Model):
    """Psychotherapy, ECT or TMS the patient has had."""

    class Kind(models.TextChoices):
        PSYCHOTHERAPY = "psychotherapy", "Psychotherapy"
        ECT = "ect", "Electroconvulsive therapy (ECT)"
        TMS = "tms", "Transcranial magnetic stimulation (TMS)"

    Outcome = AntidepressantTrial.Outcome

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prior_treatments")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.CharField(max_length=200, blank=True, help_text="For example: CBT, 16 sessions.")
    started_on = models.DateField(null=True, blank=True)
    sessions = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    current_episode = models.BooleanField("In the current episode", default=True)
    recorded_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("kind", "started_on", "id")

    def __str__(self) -> str:
        return self.get_kind_display()


class DecisionImmutableError(RuntimeError):
    """A signed decision is never changed: a new signed decision supersedes it."""


class DecisionQuerySet(models.QuerySet["CandidacyDecision"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise DecisionImmutableError("a signed decision cannot be changed; sign a new one")

    def current(self) -> DecisionQuerySet:
        return self.filter(superseded_by__isnull=True)


class CandidacyDecision(WrittenOnce):
    """The physician's signed decision. Each patient's decisions form one chain: the first
    supersedes nothing, each later one supersedes exactly the one before (history kept)."""

    refused = DecisionImmutableError
    change_refused = "a signed decision cannot be changed; sign a new one"
    delete_refused = "a signed decision cannot be deleted"

    Decision = _choices("Decision", DECISION_LABELS)

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="candidacy_decisions")
    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(max_length=30, choices=Decision.choices)
    routes = models.JSONField(default=list, blank=True)
    reasons = models.TextField()
    precautions = models.TextField(blank=True)
    plan = models.TextField("Proposed plan", blank=True)
    # What the physician saw when signing: staging, findings, baseline scores.
    snapshot = models.JSONField()
    signed_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    signature = models.CharField(max_length=64, unique=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )

    objects = DecisionQuerySet.as_manager()

    class Meta:
        ordering = ("-signed_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(supersedes__isnull=True),
                name="one_first_decision_per_patient",
                violation_error_message="This patient already has a decision: a new one must supersede it.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} ({self.signed_at:%Y-%m-%d})"

    @property
    def route_labels(self) -> list[str]:
        return [ROUTE_LABELS[Route(r)] for r in self.routes]

    @property
    def is_eligible(self) -> bool:
        return self.decision != "not_eligible"

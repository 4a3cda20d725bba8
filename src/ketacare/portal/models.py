"""The clinic's public pages: their text, which the clinic admin edits in Markdown (shipped
defaults until then), and the clinic's details and choices shown on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ketacare.clinical.candidacy import PRESENTING_LABELS, PresentingCondition

_USER = settings.AUTH_USER_MODEL


class PublicPage(models.Model):
    """One page's text as the clinic wrote it. A page with no row shows the shipped default
    (portal/content/<slug>.md)."""

    slug = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=120)
    body = models.TextField(help_text="Markdown: paragraphs, **bold**, lists, links, tables. No HTML.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ("slug",)

    def __str__(self) -> str:
        return self.title


class PublicSite(models.Model):
    """One row: the clinic's name and contact details, and whether its own outcome figures are
    published beside the studies' (off until the clinic chooses)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    clinic_name = models.CharField(max_length=120, default="Our ketamine clinic")
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    show_own_figures = models.BooleanField(
        "Publish the clinic's own outcome figures",
        default=False,
        help_text="Response after the first treatment and after the course, on the PHQ-9, "
        "intention to treat with 95% intervals, beside the studies' figures.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_public_site")]
        permissions = [("edit_public_site", "Edit the clinic's public pages")]

    def __str__(self) -> str:
        return self.clinic_name


class Enquiry(models.Model):
    """Someone asking to talk to a doctor, from the public form: what they told us, the
    pre-screen, an optional PHQ-9, and what the front desk did (called back, referred, declined
    with the reason). A positive PHQ-9 item 9 makes it urgent."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        CALLED_BACK = "called_back", "Called back"
        REFERRED = "referred", "Referral made"
        DECLINED = "declined", "Declined"

    class CallTime(models.TextChoices):
        ANY = "any", "Any time"
        MORNING = "morning", "Morning"
        AFTERNOON = "afternoon", "Afternoon"
        EVENING = "evening", "Early evening"

    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    phone = models.CharField(max_length=30)
    email = models.EmailField(blank=True)
    call_time = models.CharField("Best time to call", max_length=10, choices=CallTime.choices, default="any")
    seeking = models.JSONField("Seeking help for", default=list)
    message = models.TextField(blank=True)
    referring_clinician = models.CharField(max_length=200, blank=True)
    prescreen = models.JSONField(default=dict)
    phq9_answers = models.JSONField(null=True, blank=True)
    phq9_total = models.PositiveSmallIntegerField(null=True, blank=True)
    urgent = models.BooleanField(default=False, help_text="PHQ-9 item 9 answered above 'not at all'")
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    status_note = models.CharField(max_length=300, blank=True)
    handled_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    referral = models.ForeignKey(
        "screening.Referral", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("-urgent", "received_at", "id")
        indexes = [models.Index(fields=["status", "-urgent", "received_at"], name="enquiry_queue")]
        verbose_name_plural = "enquiries"

    def __str__(self) -> str:
        return f"Enquiry {self.pk} ({self.received_at:%Y-%m-%d})"

    @property
    def seeking_labels(self) -> str:
        return ", ".join(PRESENTING_LABELS.get(PresentingCondition(c), c) for c in self.seeking)


class ContactPreference(models.Model):
    """A patient's choice of the messages the clinic sends: each channel may be stopped, by the
    patient (the link in every message) or by staff. `token` names the patient in that link
    without naming anything about them."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.CASCADE, related_name="+")
    email_ok = models.BooleanField(default=True)
    sms_ok = models.BooleanField(default=True)
    token = models.CharField(max_length=43, unique=True)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"contact preferences of patient {self.patient_id}"


class Message(models.Model):
    """One reminder or follow-up to one patient on one channel, made once (the unique key) and
    sent once: claimed by one run, retried with growing pauses after a failure, given up after
    the last try. The text says as little as it can: no diagnosis, no treatment."""

    class Kind(models.TextChoices):
        APPOINTMENT = "appointment", "Appointment reminder"
        PREPARATION = "preparation", "Preparation the day before"
        CHECK_IN = "check_in", "Check-in the day after a treatment"
        SCALE_DUE = "scale_due", "Questionnaire due"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "Text message"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Not sent"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    channel = models.CharField(max_length=6, choices=Channel.choices)
    about = models.CharField(max_length=60, help_text="what it is about: appointment:12:48h, session:7")
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=150, blank=True)
    body = models.TextField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("next_attempt_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "channel", "about"], name="one_message_per_reason_and_channel"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="message_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.channel} ({self.status})"


class PortalCode(models.Model):
    """A one-time code a patient asked for to sign in to the portal, sent to their phone or
    e-mail. Only its keyed digest is kept; it works once, for CODE_MINUTES, and a few wrong tries
    end it."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64)
    channel = models.CharField(max_length=6)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    failures = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "-created_at"], name="portal_code_patient")]

    def __str__(self) -> str:
        return f"portal code {self.pk} of patient {self.patient_id}"


class MoveRequest(models.Model):
    """A patient's request, from the portal, to move one of their appointments: when would suit
    them instead. It waits in the front desk's queue (beside the enquiries) until someone moves the
    appointment or says why not; the appointment itself changes only through the calendar."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting"
        MOVED = "moved", "Moved"
        NOT_MOVED = "not_moved", "Not moved"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey("treatment.Appointment", on_delete=models.PROTECT, related_name="+")
    preferred = models.TextField("When would suit you instead")
    made_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    status_note = models.CharField(max_length=300, blank=True)
    handled_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("made_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["appointment"],
                condition=models.Q(status="open"),
                name="one_open_move_request_per_appointment",
                violation_error_message="This appointment has a request to move it waiting already.",
            )
        ]
        indexes = [models.Index(fields=["status", "made_at"], name="move_request_queue")]

    def __str__(self) -> str:
        return f"Request to move appointment {self.appointment_id} ({self.get_status_display()})"


class SharedDocument(models.Model):
    """A letter or report the clinic shared with the patient, kept as the PDF it was when shared
    (a later change to the record does not change what the patient was given). Staff may stop
    sharing it; the copy stays for the record."""

    class Kind(models.TextChoices):
        CONSULTATION_LETTER = "consultation_letter", "Consultation letter"
        PROGRESS_REPORT = "progress_report", "Progress report"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=150)
    pdf = models.BinaryField(editable=False)
    about = models.CharField(max_length=40, blank=True, help_text="what it was made from: decision:12")
    shared_at = models.DateTimeField()
    shared_by = models.ForeignKey(_USER, on_delete=models.PROTECT, related_name="+")
    first_opened_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(_USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ("-shared_at", "-id")
        indexes = [models.Index(fields=["patient", "-shared_at"], name="shared_document_patient")]
        permissions = [("share_document", "Share letters and reports with the patient")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(withdrawn_at__isnull=True, withdrawn_by__isnull=True)
                | models.Q(withdrawn_at__isnull=False, withdrawn_by__isnull=False),
                name="shared_document_withdrawn_by_someone",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} shared with patient {self.patient_id}"

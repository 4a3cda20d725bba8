from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone

from ketacare.clinical import body
from ketacare.clinical.codes import DIAGNOSES
from ketacare.immutable import WrittenOnce
from ketacare.patients.consent import KIND_CHOICES
from ketacare.patients.validators import validate_date_of_birth

phone_validator = RegexValidator(
    r"^\+?[0-9 ().-]{7,20}$", "Enter a phone number of 7 to 20 digits; spaces, dashes and brackets are fine."
)

# What phone_validator lets through besides digits.
PHONE_PUNCTUATION = " ().-+"
# Fewer digits than the validator's minimum identify nobody (an extension, a fragment).
PHONE_MIN_DIGITS = 7
# The North American Numbering Plan's country code: "+1 555 201 3344" is the number 555 201 3344.
NANP_COUNTRY_CODE = "1"
NANP_NUMBER_DIGITS = 10


def phone_digits(value: str) -> str:
    """A phone number reduced to the digits that identify it, however it was typed: no spaces,
    dashes, brackets or dots, and no leading +1 / 1 country code before a 10-digit number."""
    digits = "".join(c for c in value if c.isascii() and c.isdigit())
    if len(digits) == NANP_NUMBER_DIGITS + 1 and digits.startswith(NANP_COUNTRY_CODE):
        return digits[1:]
    return digits


def phone_digits_forms(value: str) -> list[str]:
    """What phone_digits_sql gives for a stored number equal to `value`: the digits, and for a
    10-digit number also the digits with the country code. Empty when `value` is no number."""
    digits = phone_digits(value)
    if len(digits) < PHONE_MIN_DIGITS:
        return []
    if len(digits) == NANP_NUMBER_DIGITS:
        return [digits, NANP_COUNTRY_CODE + digits]
    return [digits]


def _without(expression: F | Func, char: str) -> Func:
    # The character is written into the SQL, not passed as a parameter: SQLite uses an index on
    # an expression only when the query spells the expression out identically, and a bound
    # parameter never matches the literal the index was built with. `char` is one of
    # PHONE_PUNCTUATION, never user input.
    return Func(
        expression, template=f"REPLACE(%(expressions)s, '{char}', '')", output_field=models.CharField()
    )


def phone_digits_sql(field: str) -> Func:
    """The column `field` without the punctuation phone_validator allows, as SQL that an index
    can hold (the country code stays; compare with every one of phone_digits_forms)."""
    expression = _without(F(field), PHONE_PUNCTUATION[0])
    for char in PHONE_PUNCTUATION[1:]:
        expression = _without(expression, char)
    return expression


class ReferringProvider(models.Model):
    """The clinician who referred a patient and receives reports about them."""

    name = models.CharField(max_length=150)
    practice = models.CharField(max_length=200, blank=True)
    npi = models.CharField(
        "NPI",
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^\d{10}$", "An NPI has exactly 10 digits.")],
    )
    phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    fax = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return f"{self.name}, {self.practice}" if self.practice else self.name


class Sex(models.TextChoices):
    # FHIR AdministrativeGender (http://hl7.org/fhir/administrative-gender).
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Patient(models.Model):
    mrn = models.CharField("MRN", max_length=12, unique=True, editable=False)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    given_name_key = models.CharField(max_length=100, editable=False, blank=True)
    family_name_key = models.CharField(max_length=100, editable=False, blank=True)
    date_of_birth = models.DateField(db_index=True, validators=[validate_date_of_birth])
    sex = models.CharField(max_length=8, choices=Sex.choices)
    phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    email = models.EmailField(blank=True)
    address_line1 = models.CharField("Address", max_length=200, blank=True)
    address_line2 = models.CharField("Address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    emergency_contact_name = models.CharField(max_length=150, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    emergency_contact_phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    referring_provider = models.ForeignKey(
        ReferringProvider, null=True, blank=True, on_delete=models.PROTECT, related_name="patients"
    )
    # Recorded "no known allergies" differs from "allergies never asked about".
    no_known_allergies = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("family_name_key", "given_name_key", "id")
        indexes = [
            models.Index(fields=["family_name_key", "given_name_key", "id"], name="patient_family_given"),
            models.Index(fields=["given_name_key", "family_name_key"], name="patient_given_family"),
            # Finds a registration's possible duplicates by phone, however the number was typed.
            models.Index(phone_digits_sql("phone"), name="patient_phone_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def age_years(self) -> int:
        return body.age_years(born=self.date_of_birth, on=timezone.localdate())


class NamePart(models.Model):
    """A part of a patient's family name after the first, as a search key ("testa" of
    "O'Neill-Testa"): a search finds the patient by any part of the name, with one indexed range
    scan. Written by the services that set the name (`patients.services`)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="name_parts")
    key = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "key"], name="name_part_unique")]
        indexes = [models.Index(fields=["key", "patient"], name="name_part_key")]

    def __str__(self) -> str:
        return f"{self.key} (patient {self.patient_id})"


class Diagnosis(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="diagnoses")
    code = models.CharField("ICD-10-CM code", max_length=8, choices=[(d.code, d.label) for d in DIAGNOSES])
    is_primary = models.BooleanField(default=False)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("-is_primary", "code")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "code"],
                name="diagnosis_once_per_patient",
                violation_error_message="This diagnosis is already recorded for the patient.",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(is_primary=True),
                name="one_primary_diagnosis",
                violation_error_message="A patient has at most one primary diagnosis.",
            ),
        ]

    def __str__(self) -> str:
        return self.get_code_display()


def _body_field(
    name: str, unit: str, low: Decimal, high: Decimal
) -> models.DecimalField[Decimal | int | str | None, Decimal | None]:
    """A weight or a height, to a tenth, refused outside the plausible range (a unit mix-up)."""
    return models.DecimalField(
        f"{name} ({unit})",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(low, f"{name} must be at least {low} {unit}."),
            MaxValueValidator(high, f"{name} must be at most {high} {unit}."),
        ],
    )


class BodyMeasurement(models.Model):
    """Weight and height over time. BMI is derived on reading, never stored."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="measurements")
    measured_at = models.DateTimeField()
    weight_kg = _body_field("Weight", "kg", body.WEIGHT_KG_MIN, body.WEIGHT_KG_MAX)
    height_cm = _body_field("Height", "cm", body.HEIGHT_CM_MIN, body.HEIGHT_CM_MAX)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("-measured_at", "-id")
        indexes = [models.Index(fields=["patient", "-measured_at"], name="measurement_patient_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=False) | Q(height_cm__isnull=False),
                name="measurement_has_a_value",
                violation_error_message="Enter a weight, a height, or both.",
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True)
                | Q(weight_kg__gte=body.WEIGHT_KG_MIN, weight_kg__lte=body.WEIGHT_KG_MAX),
                name="measurement_weight_plausible",
                violation_error_message=(
                    f"Weight must be between {body.WEIGHT_KG_MIN} and {body.WEIGHT_KG_MAX} kg."
                ),
            ),
            models.CheckConstraint(
                condition=Q(height_cm__isnull=True)
                | Q(height_cm__gte=body.HEIGHT_CM_MIN, height_cm__lte=body.HEIGHT_CM_MAX),
                name="measurement_height_plausible",
                violation_error_message=(
                    f"Height must be between {body.HEIGHT_CM_MIN} and {body.HEIGHT_CM_MAX} cm."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weight_kg} kg, {self.height_cm} cm at {self.measured_at:%Y-%m-%d}"


class Allergy(models.Model):
    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"
        UNKNOWN = "unknown", "Unknown"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="allergies")
    substance = models.CharField(max_length=150)
    reaction = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.UNKNOWN)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("substance", "id")
        verbose_name_plural = "allergies"

    def __str__(self) -> str:
        return self.substance


identifier_system_name_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,39}$",
    "Use 1 to 40 lower-case letters, digits and dashes, starting with a letter or digit (osmind, old-ehr).",
)
identifier_label_validator = RegexValidator(
    r"^[^\x00-\x1f\x7f]+$", "Use letters, digits, spaces and punctuation: no control characters."
)
identifier_value_validator = RegexValidator(
    r"^[!-~](?:[ -~]{0,62}[!-~])?$",
    "Use 1 to 64 printable characters, with no space at either end.",
)


class IdentifierSystem(models.Model):
    """Another system whose patient ids the clinic keeps beside the KetaCare MRN: a former EHR, a
    spreadsheet, another clinic's software. Named once (`ketacare identifier-systems --add`), then
    given to `ketacare import-history --source NAME`; an id is unique within its system."""

    name = models.CharField(max_length=40, unique=True, validators=[identifier_system_name_validator])
    label = models.CharField(max_length=100, validators=[identifier_label_validator])
    uri = models.CharField(
        "URI",
        max_length=200,
        unique=True,
        help_text="The system's URI in FHIR exports (Identifier.system).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.label


class PatientIdentifier(models.Model):
    """A patient's id in another system (an `IdentifierSystem`): no two patients share one."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="identifiers")
    system = models.ForeignKey(IdentifierSystem, on_delete=models.PROTECT, related_name="+")
    value = models.CharField(max_length=64, validators=[identifier_value_validator])
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "value"], name="patient_identifier_unique_in_system")
        ]

    def __str__(self) -> str:
        return f"{self.system_id}:{self.value}"


class MrnSequence(models.Model):
    """The last MRN serial handed out. One row, locked while a serial (or a block of them for a
    bulk import) is taken, so two registrations never get the same number."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_serial = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="mrn_sequence_singleton")]

    def __str__(self) -> str:
        return f"last MRN serial {self.last_serial}"


def bmi_of(weight_kg: Decimal | None, height_cm: Decimal | None) -> Decimal | None:
    if weight_kg is None or height_cm is None:
        return None
    return body.bmi(weight_kg=weight_kg, height_cm=height_cm)


class RecordChange(models.Model):
    """A patient whose clinical record changed (a score, a dose started, a primary diagnosis, an
    antidepressant trial) since the figures derived from it were computed: written by the
    clinical write in its own transaction, deleted by the catch-up that recomputes the patient's
    outcomes (outcomes.services.catch_up). Position by id. It lives here, below every clinical
    app, so that a write marks the change without importing the outcomes it feeds."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"record of patient {self.patient_id} changed"


class ConsentImmutableError(RuntimeError):
    """A published consent document is never changed or deleted (a change is a new version), and
    neither is a signature: its withdrawal is recorded on it, once (`consent_withdraw`)."""


class ConsentDocumentQuerySet(models.QuerySet["ConsentDocument"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise ConsentImmutableError("a published consent document cannot be changed; publish a new version")

    def delete(self) -> NoReturn:
        raise ConsentImmutableError("a published consent document cannot be deleted")


class ConsentDocument(WrittenOnce):
    """One version of the consent to treatment by one route, as the clinic published it: the text
    a patient reads and signs. A kind's versions are numbered 1, 2, ...; the newest is the current
    one, and only a signature of it, not withdrawn, lets a course start
    (`treatment.services.plan_start`). Never changed once published (the ORM and a database
    trigger refuse): a change is a new version. `published_by` is empty for KetaCare's default
    text (patients/content/), stored as version 1 when it is first signed."""

    refused = ConsentImmutableError
    change_refused = "a published consent document cannot be changed; publish a new version"
    delete_refused = "a published consent document cannot be deleted"

    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=120)
    body = models.TextField(help_text="Markdown: paragraphs, **bold**, lists, links, tables. No HTML.")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the title and the text.")
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ConsentDocumentQuerySet.as_manager()

    class Meta:
        ordering = ("kind", "-version")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "version"],
                name="consent_version_once_per_kind",
                violation_error_message="This version of the consent is already published.",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="consent_version_from_1",
                violation_error_message="Versions are numbered from 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title}, version {self.version}"

    @property
    def publisher(self) -> str:
        """Who published it, in words (KetaCare for its default text)."""
        user = self.published_by
        if user is None:
            return "KetaCare (the default text)"
        return user.get_full_name() or user.get_username()


# The only columns of a signature that are ever written after it is made: its withdrawal, once,
# and then, for a withdrawal the patient made in the portal, the member of staff who saw it, once.
WITHDRAWAL_FIELDS = frozenset({"withdrawn_at", "withdrawn_how", "withdrawn_by", "withdrawn_reason"})
ACKNOWLEDGEMENT_FIELDS = frozenset({"withdrawal_seen_at", "withdrawal_seen_by"})


class ConsentSignatureQuerySet(models.QuerySet["ConsentSignature"]):
    def update(self, **kwargs: Any) -> int:
        if not (set(kwargs) <= WITHDRAWAL_FIELDS or set(kwargs) <= ACKNOWLEDGEMENT_FIELDS):
            raise ConsentImmutableError(
                "a consent signature cannot be changed; only its withdrawal is recorded"
            )
        return super().update(**kwargs)

    def delete(self) -> NoReturn:
        raise ConsentImmutableError("a consent signature cannot be deleted")


class ConsentSignature(WrittenOnce):
    """A patient's consent to one version of a consent document: the name they typed (or wrote on
    paper), when, and how: signed by the patient in the portal, or on paper in the clinic with a
    member of staff as witness, who records it. Append only: never changed or deleted (the ORM
    and database triggers refuse); a withdrawal is recorded on it once, by the patient in the
    portal or by staff, then who on the staff saw a withdrawal made in the portal, once; a later
    consent is a new signature."""

    refused = ConsentImmutableError
    change_refused = "a consent signature cannot be changed; only its withdrawal is recorded"
    delete_refused = "a consent signature cannot be deleted"

    class Method(models.TextChoices):
        PORTAL = "portal", "Signed by the patient in the portal"
        PAPER = "paper", "Signed on paper in the clinic, witnessed"

    class WithdrawnHow(models.TextChoices):
        PORTAL = "portal", "By the patient in the portal"
        STAFF = "staff", "Told to a member of staff"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consent_signatures")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="signatures")
    typed_name = models.CharField("Name as signed", max_length=200)
    signed_at = models.DateTimeField()
    method = models.CharField(max_length=8, choices=Method.choices)
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # When the candidacy decision this consent follows was signed: consent is given after the
    # consultation, and a new assessment asks for it again (empty on signatures made before this
    # was recorded).
    decision_signed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_how = models.CharField(max_length=8, choices=WithdrawnHow.choices, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_reason = models.CharField(max_length=300, blank=True)
    # A withdrawal the patient made in the portal reaches no one by itself: it stays on the staff
    # home page until a nurse or physician says they have seen it (who and when, once; only on a
    # withdrawal, both or neither: the patients migration's database trigger refuses anything else).
    withdrawal_seen_at = models.DateTimeField(null=True, blank=True)
    withdrawal_seen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ConsentSignatureQuerySet.as_manager()

    class Meta:
        ordering = ("-signed_at", "-id")
        indexes = [models.Index(fields=["patient", "-signed_at"], name="consent_signature_patient")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "document", "decision_signed_at"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_signed_once_per_decision",
                violation_error_message="The patient has already signed this version of the consent.",
            ),
            models.CheckConstraint(
                condition=Q(method="portal", witness__isnull=True) | Q(method="paper", witness__isnull=False),
                name="consent_paper_has_a_witness",
                violation_error_message="A paper signature names its witness; one in the portal has none.",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True, withdrawn_how="")
                | (Q(withdrawn_at__isnull=False) & ~Q(withdrawn_how="")),
                name="consent_withdrawal_says_how",
                violation_error_message="A withdrawal says when and how it was made.",
            ),
        ]

    def __str__(self) -> str:
        return f"consent {self.document_id} signed by patient {self.patient_id}"

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

"""Patient writes. One function per action a user takes; each is one transaction and writes its
audit events, so a command or an import changes data exactly as a web request does."""

from __future__ import annotations

import datetime
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Case, F, Q, Value, When
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record, audit_record_many, spec_for
from ketacare.clinical.codes import UnknownDiagnosisCode, diagnosis
from ketacare.clinical.mrn import MRN_PATTERN, format_mrn
from ketacare.patients import consent
from ketacare.patients.models import (
    ACKNOWLEDGEMENT_FIELDS,
    WITHDRAWAL_FIELDS,
    Allergy,
    BodyMeasurement,
    ConsentDocument,
    ConsentSignature,
    Diagnosis,
    IdentifierSystem,
    MrnSequence,
    NamePart,
    Patient,
    PatientIdentifier,
    RecordChange,
    ReferringProvider,
    phone_digits_forms,
    phone_digits_sql,
)
from ketacare.patients.names import later_part_keys, name_key

# The demographic fields a user edits on the registration and edit forms.
PATIENT_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "emergency_contact_name",
    "emergency_contact_relationship",
    "emergency_contact_phone",
    "referring_provider",
    "no_known_allergies",
)


def record_changed(patient_ids: Iterable[int]) -> None:
    """Mark these patients' records changed, so that what is derived from them (their stored
    outcomes) catches up later (outcomes.services.catch_up). Called by the clinical writes
    (scores, dose starts, primary diagnoses, antidepressant trials) inside their own
    transactions: one insert, nothing that can fail on the outcome rules."""
    RecordChange.objects.bulk_create([RecordChange(patient_id=pid) for pid in set(patient_ids)])


def mrn_allocate(*, count: int = 1) -> list[str]:
    """Take `count` consecutive MRNs. Must run inside the caller's transaction."""
    MrnSequence.objects.get_or_create(pk=1)
    sequence = MrnSequence.objects.select_for_update().get(pk=1)
    first = sequence.last_serial + 1
    MrnSequence.objects.filter(pk=1).update(last_serial=F("last_serial") + count)
    return [format_mrn(serial) for serial in range(first, first + count)]


def mrn_sequence_past(mrns: Iterable[str]) -> None:
    """Move the MRN sequence past these MRNs (given by an import, not allocated here), so no
    later registration is handed one of them. Must run inside the caller's transaction."""
    serials = [int(match.group(1)) for mrn in mrns if (match := MRN_PATTERN.match(mrn))]
    if not serials:
        return
    MrnSequence.objects.get_or_create(pk=1)
    MrnSequence.objects.select_for_update().get(pk=1)
    MrnSequence.objects.filter(pk=1, last_serial__lt=max(serials)).update(last_serial=max(serials))


def patients_import(new: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Registration's bulk variant for a history import: patients by the MRN their file gives
    (checked by the caller), with the same name keys and trimming as `patient_register`, and the
    MRN sequence moved past them. Returns their ids by MRN. Runs inside the caller's transaction;
    the caller records the audit events."""
    if not new:
        return {}
    patients = []
    for mrn, details in new.items():
        patient = Patient(mrn=mrn)
        _apply(patient, details)
        patients.append(patient)
    Patient.objects.bulk_create(patients)
    mrn_sequence_past(new)
    ids = dict(Patient.objects.filter(mrn__in=list(new)).values_list("mrn", "id"))
    for patient in patients:
        patient.pk = ids[patient.mrn]
    _name_parts(patients)
    return ids


IDENTIFIER_URI_PREFIX = "urn:ketacare:identifier-system:"  # a system's URI when none is given


@transaction.atomic
def identifier_system_add(*, actor: Actor, name: str, label: str, uri: str = "") -> IdentifierSystem:
    """Name another system whose patient ids the clinic will keep (`import-history --source`).
    Without a URI, the system's FHIR URI is `urn:ketacare:identifier-system:NAME`."""
    system = IdentifierSystem(name=name.strip(), label=label.strip(), uri=uri.strip())
    if not system.uri:
        system.uri = IDENTIFIER_URI_PREFIX + system.name
    system.full_clean()
    system.save()
    audit_record(actor=actor, action=Action.CREATE, obj=system, detail={"name": system.name})
    return system


def identifiers_import(system: IdentifierSystem, ids: Mapping[str, int]) -> None:
    """Keep each patient's id in `system` (value -> patient id; checked by the caller, who runs
    this inside its transaction and records the audit events)."""
    PatientIdentifier.objects.bulk_create(
        [PatientIdentifier(patient_id=pid, system=system, value=value) for value, pid in ids.items()]
    )


def _name_parts(patients: Sequence[Patient]) -> None:
    """Write the search keys of these saved patients' family name parts (`NamePart`), replacing
    any they had."""
    NamePart.objects.filter(patient__in=[p.pk for p in patients]).delete()
    NamePart.objects.bulk_create(
        [NamePart(patient_id=p.pk, key=key) for p in patients for key in later_part_keys(p.family_name)]
    )


def _apply(patient: Patient, details: Mapping[str, Any]) -> None:
    unknown = set(details) - set(PATIENT_FIELDS)
    if unknown:
        raise ValueError(f"not patient fields: {sorted(unknown)}")
    for name, value in details.items():
        setattr(patient, name, value.strip() if isinstance(value, str) else value)
    patient.given_name_key = name_key(patient.given_name)
    patient.family_name_key = name_key(patient.family_name)


def _check_diagnoses(codes: Sequence[str], primary: str | None) -> list[str]:
    clean: list[str] = []
    for code in codes:
        try:
            clean.append(diagnosis(code).code)
        except UnknownDiagnosisCode as exc:
            raise ValidationError({"diagnoses": str(exc)}) from None
    if primary and primary not in clean:
        raise ValidationError(
            {"primary_diagnosis": "The primary diagnosis must be one of the diagnoses chosen."}
        )
    return list(dict.fromkeys(clean))


def _check_no_known_allergies(patient: Patient) -> None:
    if patient.no_known_allergies and patient.pk and patient.allergies.exists():
        raise ValidationError(
            {
                "no_known_allergies": (
                    "This patient has allergies on record; remove them before marking none known."
                )
            }
        )


# Why a registered patient may be the person being registered.
MATCH_NAME_AND_BIRTH = "name_and_date_of_birth"
MATCH_PHONE = "phone"
MATCH_WORDS = {MATCH_NAME_AND_BIRTH: "same name and date of birth", MATCH_PHONE: "same phone number"}
# A number shared by many patients (a care home, a family's landline) lists this many.
DUPLICATES_SHOWN = 10


@dataclass(frozen=True, slots=True)
class PossibleDuplicate:
    """A registered patient who may be the person being registered, and what they share."""

    patient: Patient
    matched_on: tuple[str, ...]  # MATCH_NAME_AND_BIRTH and/or MATCH_PHONE

    @property
    def reason(self) -> str:
        return ", ".join(MATCH_WORDS[m] for m in self.matched_on)


def possible_duplicates(
    details: Mapping[str, Any], *, limit: int = DUPLICATES_SHOWN
) -> list[PossibleDuplicate]:
    """Registered patients with the same given and family name (case, accents and punctuation
    ignored) and date of birth as `details`, or the same phone number (digits only, with or
    without the +1 country code): name matches first, then by MRN, at most `limit`.

    One query on the name and phone indexes, whatever the size of the registry."""
    given = name_key(str(details.get("given_name") or ""))
    family = name_key(str(details.get("family_name") or ""))
    born = details.get("date_of_birth")
    phones = phone_digits_forms(str(details.get("phone") or ""))
    conditions: dict[str, Q] = {}
    if given and family and born:
        conditions[MATCH_NAME_AND_BIRTH] = Q(given_name_key=given, family_name_key=family, date_of_birth=born)
    if phones:
        conditions[MATCH_PHONE] = Q(phone_digits__in=phones)
    if not conditions:
        return []
    flags = {
        f"matches_{code}": Case(
            When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
        )
        for code, condition in conditions.items()
    }
    rows = (
        Patient.objects.alias(phone_digits=phone_digits_sql("phone"))
        .filter(reduce(operator.or_, conditions.values()))
        .annotate(**flags)
        .only("id", "mrn", "given_name", "family_name", "date_of_birth")
        .order_by(*[F(flag).desc() for flag in flags], "mrn")[:limit]
    )
    return [
        PossibleDuplicate(row, tuple(code for code in conditions if getattr(row, f"matches_{code}")))
        for row in rows
    ]


def _duplicate_message(candidates: Sequence[PossibleDuplicate], more: bool) -> str:
    listed = "; ".join(
        f"{c.patient.mrn} {c.patient.full_name}, born {c.patient.date_of_birth:%Y-%m-%d} ({c.reason})"
        for c in candidates
    )
    others = "; and others not listed" if more else ""
    return (
        f"This may be a patient already registered: {listed}{others}. Check before registering, "
        "and register anyway only if this is a different person."
    )


class PossibleDuplicateError(ValidationError):
    """patient_register refused: the person may already be registered. The error names the
    `duplicate` field (code "possible_duplicate"); `candidates` lets a page link to each chart
    and the API list them; `more` says that others matched beyond those listed."""

    def __init__(self, candidates: Sequence[PossibleDuplicate], *, more: bool = False) -> None:
        super().__init__(
            {"duplicate": ValidationError(_duplicate_message(candidates, more), code="possible_duplicate")}
        )
        self.candidates = list(candidates)
        self.more = more


@transaction.atomic
def patient_register(
    *,
    actor: Actor,
    details: Mapping[str, Any],
    diagnoses: Sequence[str] = (),
    primary_diagnosis: str | None = None,
    weight_kg: Decimal | None = None,
    height_cm: Decimal | None = None,
    confirm_not_duplicate: bool = False,
) -> Patient:
    """Register a new patient with a fresh MRN, their diagnoses and a first weight/height.

    Everything is validated before anything is written; on any error nothing is saved. A
    registered patient with the same name and date of birth, or the same phone number, refuses
    the registration (PossibleDuplicateError) unless `confirm_not_duplicate`: the user has
    checked they are different people, and the patient's CREATE event names their MRNs.
    """
    patient = Patient()
    _apply(patient, details)
    codes = _check_diagnoses(diagnoses, primary_diagnosis)
    patient.full_clean(exclude=["mrn"])
    measurement = None
    if weight_kg is not None or height_cm is not None:
        measurement = BodyMeasurement(
            patient=patient,
            measured_at=timezone.now(),
            weight_kg=weight_kg,
            height_cm=height_cm,
            recorded_by=actor.user,
        )
        measurement.full_clean(exclude=["patient"])
    # The MRN sequence stays locked until this transaction ends, so the same person registered
    # twice at the same moment is found by the second registration's check, not missed by both.
    # A refusal rolls the MRN back.
    patient.mrn = mrn_allocate()[0]
    found = possible_duplicates(
        {name: getattr(patient, name) for name in ("given_name", "family_name", "date_of_birth", "phone")},
        limit=DUPLICATES_SHOWN + 1,
    )
    candidates, more = found[:DUPLICATES_SHOWN], len(found) > DUPLICATES_SHOWN
    if candidates and not confirm_not_duplicate:
        raise PossibleDuplicateError(candidates, more=more)
    patient.save()
    _name_parts([patient])
    confirmed: dict[str, Any] = {}
    if candidates:
        confirmed["confirmed_not_duplicate_of"] = [c.patient.mrn for c in candidates]
        if more:
            confirmed["more_not_listed"] = True
    specs = [spec_for(patient, Action.CREATE, confirmed)]
    for code in codes:
        dx = Diagnosis.objects.create(
            patient=patient, code=code, is_primary=(code == primary_diagnosis), recorded_by=actor.user
        )
        specs.append(spec_for(dx, Action.CREATE))
    if measurement is not None:
        measurement.patient = patient
        measurement.save()
        specs.append(spec_for(measurement, Action.CREATE))
    if primary_diagnosis:
        record_changed([patient.pk])
    audit_record_many(actor=actor, specs=specs)
    return patient


@transaction.atomic
def patient_update(
    *,
    actor: Actor,
    patient: Patient,
    details: Mapping[str, Any],
    diagnoses: Sequence[str] | None = None,
    primary_diagnosis: str | None = None,
) -> Patient:
    """Change a patient's demographics (and, if given, their list of diagnoses). The audit event
    names the fields that changed, never their values."""
    # FOR NO KEY UPDATE: the patient's key is not changed, so this never waits on the foreign-key
    # checks that hold a patient's key (an outcome rebuild on PostgreSQL).
    locked = Patient.objects.select_for_update(no_key=True).get(pk=patient.pk)
    before = {name: getattr(locked, name) for name in PATIENT_FIELDS}
    _apply(locked, details)
    locked.full_clean()
    _check_no_known_allergies(locked)
    after = {name: getattr(locked, name) for name in PATIENT_FIELDS}
    changed = sorted(k for k in after if before[k] != after[k])
    specs = []
    if diagnoses is not None:
        codes = _check_diagnoses(diagnoses, primary_diagnosis)
        existing = {d.code: d for d in locked.diagnoses.all()}
        for code, dx in existing.items():
            if code not in codes:
                specs.append(spec_for(dx, Action.DELETE))
                dx.delete()
        Diagnosis.objects.filter(patient=locked, is_primary=True).exclude(
            code=primary_diagnosis or ""
        ).update(is_primary=False)
        for code in codes:
            current = existing.get(code)
            if current is None:
                created = Diagnosis.objects.create(
                    patient=locked, code=code, is_primary=(code == primary_diagnosis), recorded_by=actor.user
                )
                specs.append(spec_for(created, Action.CREATE))
            elif (code == primary_diagnosis) != current.is_primary:
                Diagnosis.objects.filter(pk=current.pk).update(is_primary=(code == primary_diagnosis))
                specs.append(spec_for(current, Action.UPDATE, {"fields": ["is_primary"]}))
    if diagnoses is not None and specs:
        record_changed([locked.pk])  # the primary diagnosis groups the outcomes
    if changed:
        locked.save()
        if "family_name" in changed:
            _name_parts([locked])
        specs.insert(0, spec_for(locked, Action.UPDATE, {"fields": changed}))
    audit_record_many(actor=actor, specs=specs)
    return locked


@transaction.atomic
def measurement_record(
    *,
    actor: Actor,
    patient: Patient,
    weight_kg: Decimal | None,
    height_cm: Decimal | None,
    measured_at: datetime.datetime | None = None,
) -> BodyMeasurement:
    """Record a weight and/or height. Rejects implausible values (a unit mix-up, lb for kg)."""
    measurement = BodyMeasurement(
        patient=patient,
        measured_at=measured_at or timezone.now(),
        weight_kg=weight_kg,
        height_cm=height_cm,
        recorded_by=actor.user,
    )
    if measurement.measured_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"measured_at": "A measurement cannot be in the future."})
    measurement.full_clean()
    measurement.save()
    audit_record(actor=actor, action=Action.CREATE, obj=measurement)
    return measurement


@transaction.atomic
def allergy_record(
    *,
    actor: Actor,
    patient: Patient,
    substance: str,
    reaction: str = "",
    severity: str = Allergy.Severity.UNKNOWN,
) -> Allergy:
    """Record an allergy; it clears a previous "no known allergies"."""
    allergy = Allergy(
        patient=patient,
        substance=substance.strip(),
        reaction=reaction.strip(),
        severity=severity,
        recorded_by=actor.user,
    )
    allergy.full_clean()
    allergy.save()
    specs = [spec_for(allergy, Action.CREATE)]
    if patient.no_known_allergies:
        Patient.objects.filter(pk=patient.pk).update(no_known_allergies=False)
        patient.no_known_allergies = False
        specs.append(spec_for(patient, Action.UPDATE, {"fields": ["no_known_allergies"]}))
    audit_record_many(actor=actor, specs=specs)
    return allergy


@transaction.atomic
def referring_provider_create(*, actor: Actor, details: Mapping[str, Any]) -> ReferringProvider:
    provider = ReferringProvider(**{k: v.strip() if isinstance(v, str) else v for k, v in details.items()})
    provider.full_clean()
    provider.save()
    audit_record(actor=actor, action=Action.CREATE, obj=provider)
    return provider


# -- Consent to treatment ------------------------------------------------------------------------

CONSENT_BODY_MAX = 20_000  # characters, as a public page
CONSENT_PUBLISH = "patients.add_consentdocument"  # the clinic admin
CONSENT_RECORD = "patients.add_consentsignature"  # nurses and physicians: a paper signature
CONSENT_WITHDRAW = "patients.change_consentsignature"  # nurses and physicians
CLOCK_SKEW = datetime.timedelta(minutes=5)  # a time "now" typed on a slow clock is not the future


def _consent_kind(kind: str) -> consent.Kind:
    known = consent.BY_CODE.get(kind)
    if known is None:
        raise ValidationError(
            {"kind": f"No consent document {kind!r}: choose {', '.join(k.code for k in consent.KINDS)}."}
        )
    return known


def _newest(kind: str, *, lock: bool = False) -> ConsentDocument | None:
    rows = ConsentDocument.objects.filter(kind=kind).order_by("-version")
    return (rows.select_for_update() if lock else rows).first()


def _lock_patient(patient_id: int) -> None:
    # As plan_start locks the patient: a signature or a withdrawal and a course starting at the
    # same moment queue, so a course never starts under a consent withdrawn at that moment.
    Patient.objects.select_for_update().only("id").get(pk=patient_id)


def _store_default(actor: Actor, kind: consent.Kind) -> ConsentDocument:
    """KetaCare's default text of `kind` stored as version 1, when it is first signed, or when the
    clinic first publishes its own (version 2), as a public page's default is shown until the
    clinic writes its own. Two first signatures at the same moment store it once. Runs inside
    the caller's transaction."""
    body = kind.default_body()
    document = ConsentDocument(
        kind=kind.code,
        version=1,
        title=kind.title,
        body=body,
        digest=consent.digest(kind.title, body),
        published_at=timezone.now(),
        published_by=None,
    )
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:
        return ConsentDocument.objects.get(kind=kind.code, version=1)
    audit_record(
        actor=actor,
        action=Action.CREATE,
        obj=document,
        detail={"kind": kind.code, "version": 1, "default_text": True},
    )
    return document


def _signable(
    actor: Actor, kind: consent.Kind, version: int | None, errors: dict[str, str]
) -> tuple[ConsentDocument | None, bool]:
    """The current version of `kind`, stored (KetaCare's default as version 1 if the clinic has
    published none), and whether it was stored just now; an error on `version` if the one read
    (`version`) is no longer current. Nothing is stored when `errors` already holds one."""
    current = _newest(kind.code)
    number = current.version if current is not None else 1
    if version is not None and version != number:
        errors["version"] = (
            f"Version {number} of the {kind.label} consent was published after version {version} "
            f"was opened: read version {number}, then sign it."
        )
    if errors:
        return None, False
    if current is not None:
        return current, False
    return _store_default(actor, kind), True


def _require_decision(kind: consent.Kind, decided_at: datetime.datetime | None) -> datetime.datetime:
    if decided_at is None:
        raise ValidationError(
            {
                "kind": f"No signed candidacy decision makes the patient eligible for {kind.label}: "
                "consent is signed after the consultation that finds the treatment suitable."
            }
        )
    return decided_at


def _signed_already(patient: Patient, document: ConsentDocument, decided_at: datetime.datetime) -> None:
    standing = ConsentSignature.objects.filter(
        patient=patient,
        document=document,
        withdrawn_at__isnull=True,
        signed_at__gte=decided_at,
    )
    if standing.exists():
        raise ValidationError(
            {"kind": f"Version {document.version} of this consent is already signed, and still stands."}
        )


@transaction.atomic
def consent_publish(*, actor: Actor, kind: str, title: str, body: str) -> ConsentDocument:
    """The clinic admin publishes a new version of a consent document (Markdown), numbered after
    the last (KetaCare's default text is version 1, stored now if nobody has signed it yet). From
    then on only a signature of it lets a new course by its route start: earlier versions'
    signatures stay on record, no longer current. The same text as the current version is refused
    (it would ask every patient to sign again for nothing)."""
    user = actor.user
    if user is None or not user.has_perm(CONSENT_PUBLISH):
        raise ValidationError("Only a clinic admin publishes a consent document.")
    known = _consent_kind(kind)
    title, body = title.strip(), body.strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Give the document a title."
    if not body:
        errors["body"] = "Write the document's text."
    elif len(body) > CONSENT_BODY_MAX:
        errors["body"] = f"Keep the document under {CONSENT_BODY_MAX:,} characters ({len(body):,} now)."
    if errors:
        raise ValidationError(errors)
    current = _newest(known.code, lock=True)
    if current is None:
        # KetaCare's default text is version 1, whether or not anyone has signed it yet: a patient
        # may be reading it now, and the version they sign must be the words they read.
        current = _store_default(actor, known)
    if (current.title, current.body) == (title, body):
        raise ValidationError(
            {
                "body": f"This is the text of version {current.version} already: "
                "change it to publish a new one."
            }
        )
    document = ConsentDocument(
        kind=known.code,
        version=current.version + 1,
        title=title,
        body=body,
        digest=consent.digest(title, body),
        published_at=timezone.now(),
        published_by=user,
    )
    document.full_clean()
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:
        raise ValidationError(
            {"body": "Another version was published at the same moment: open the page again and check it."}
        ) from None
    audit_record(
        actor=actor,
        action=Action.CREATE,
        obj=document,
        detail={"kind": known.code, "version": document.version},
    )
    return document


@transaction.atomic
def consent_sign(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    version: int | None,
    typed_name: str,
    understood: bool,
    decided_at: datetime.datetime | None,
) -> ConsentSignature:
    """The patient signs the current version of a consent in the portal: they type their full name
    as the clinic has it (case and spaces at either end aside) and say they have read and
    understood it. `decided_at`: when their current signed candidacy decision making them eligible
    for this route was signed (screening.selectors.eligible_since; this app sits below screening);
    None refuses: consent is asked after the consultation. Refused, naming the field and writing
    nothing, when there is no such decision, the name differs, the box is not ticked, a newer
    version was published after they opened `version`, or they have already signed this version
    since the decision."""
    known = _consent_kind(kind)
    decided_at = _require_decision(known, decided_at)
    errors: dict[str, str] = {}
    if not understood:
        errors["understood"] = "Tick the box to say you have read and understood the document."
    if not consent.names_match(typed_name, patient.full_name):
        errors["typed_name"] = (
            "Type your full name as the clinic has it: your first name and last name. If your name "
            "has changed, tell the clinic."
        )
    _lock_patient(patient.pk)
    document, _ = _signable(actor, known, version, errors)
    if errors or document is None:
        raise ValidationError(errors)
    return _signature_stored(actor, patient, document, typed_name, decided_at, timezone.now())


def _signature_stored(
    actor: Actor,
    patient: Patient,
    document: ConsentDocument,
    typed_name: str,
    decided_at: datetime.datetime,
    signed_at: datetime.datetime,
    witness: Any = None,
) -> ConsentSignature:
    """Check, save and audit a new signature of `document` (the name typed is not in the audit):
    signed on paper in front of `witness`, or in the portal without one. Refused when the patient
    has signed this version since the decision already."""
    _signed_already(patient, document, decided_at)
    signature = ConsentSignature(
        patient=patient,
        document=document,
        typed_name=" ".join(typed_name.split()),
        signed_at=signed_at,
        method=ConsentSignature.Method.PORTAL if witness is None else ConsentSignature.Method.PAPER,
        witness=witness,
        decision_signed_at=decided_at,
    )
    signature.full_clean()
    signature.save()
    detail = {"kind": signature.document.kind, "version": signature.document.version}
    audit_record(
        actor=actor, action=Action.CREATE, obj=signature, detail={**detail, "method": signature.method}
    )
    return signature


@transaction.atomic
def consent_record_paper(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    version: int | None,
    typed_name: str,
    witnessed: bool,
    decided_at: datetime.datetime | None,
    signed_at: datetime.datetime | None = None,
) -> ConsentSignature:
    """A nurse or physician records that the patient signed the current version on paper in the
    clinic, in front of them: the name as the patient signed it (their name on record, case and
    spaces aside), when (now by default; not in the future, nor before the version was
    published, nor before `decided_at`: a time in the decision's own minute is recorded as the
    decision's moment), and the recorder as the witness. `decided_at`: when the
    patient's current signed candidacy decision making them eligible for this route was signed;
    None refuses (consent is asked after the consultation). Refused, naming the field,
    otherwise."""
    user = actor.user
    if user is None or not user.has_perm(CONSENT_RECORD):
        raise ValidationError("Only a nurse or a physician records a paper consent, as its witness.")
    known = _consent_kind(kind)
    decided_at = _require_decision(known, decided_at)
    now = timezone.now()
    signed_at = signed_at or now
    errors: dict[str, str] = {}
    if not witnessed:
        errors["witnessed"] = "Tick to confirm that you saw the patient sign this version of the document."
    if not consent.names_match(typed_name, patient.full_name):
        errors["typed_name"] = (
            f"The name signed must be the patient's name on record, {patient.full_name} (case and "
            "spaces aside). If their name has changed, correct their details first."
        )
    if signed_at > now + CLOCK_SKEW:
        errors["signed_at"] = "A signature cannot be in the future."
    elif signed_at < consent.minute_of(decided_at):
        on = timezone.localtime(decided_at)
        errors["signed_at"] = (
            f"The candidacy decision for {known.label} was signed on {on:%Y-%m-%d at %H:%M}: a consent "
            "signed before it does not count. The patient signs the current version again."
        )
    _lock_patient(patient.pk)
    document, stored_now = _signable(actor, known, version, errors)
    # KetaCare's default text, stored only now, was on the consent page to print all along.
    if document is not None and not stored_now and signed_at < document.published_at:
        on = timezone.localtime(document.published_at)
        errors["signed_at"] = (
            f"Version {document.version} was published on {on:%Y-%m-%d at %H:%M}: it cannot have been "
            "signed before then."
        )
    if errors or document is None:
        raise ValidationError(errors)
    # A time written to the minute, in the decision's minute: signed after the decision, at the
    # earliest at its moment (so it counts: only signatures since the decision do).
    signed_at = max(signed_at, decided_at)
    return _signature_stored(actor, patient, document, typed_name, decided_at, signed_at, witness=user)


@transaction.atomic
def consent_withdraw(
    *, actor: Actor, signature: ConsentSignature, reason: str = "", by_patient: bool = False
) -> ConsentSignature:
    """Record that the patient withdrew their consent to treatment by this route: every signature
    of its kind still standing (this one and any of an earlier version) is marked withdrawn now,
    with how (`by_patient`: the patient in the portal; else a nurse or physician told, who must
    say how and why) and the reason. Nothing else on them changes; from then on no course by the
    route starts, and no session is checked in, until the patient signs again (a new signature).
    Refused, naming the field, for a consent already withdrawn."""
    reason = " ".join(reason.split())
    how = ConsentSignature.WithdrawnHow.PORTAL if by_patient else ConsentSignature.WithdrawnHow.STAFF
    user = None
    if not by_patient:
        user = actor.user
        if user is None or not user.has_perm(CONSENT_WITHDRAW):
            raise ValidationError("Only a nurse or a physician records a withdrawal of consent.")
        if not reason:
            raise ValidationError(
                {
                    "reason": "Say how the patient withdrew and why, if they said "
                    "(for example: by phone, no reason given)."
                }
            )
    if len(reason) > 300:
        raise ValidationError({"reason": f"Keep the reason under 300 characters ({len(reason)} now)."})
    _lock_patient(signature.patient_id)
    kind = ConsentDocument.objects.only("kind").get(pk=signature.document_id).kind
    standing = list(
        ConsentSignature.objects.filter(
            patient_id=signature.patient_id, document__kind=kind, withdrawn_at__isnull=True
        ).values_list("pk", flat=True)
    )
    if signature.pk not in standing:
        raise ValidationError({"signature": "This consent is already withdrawn."})
    ConsentSignature.objects.filter(pk__in=standing, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now(), withdrawn_how=how, withdrawn_by=user, withdrawn_reason=reason
    )
    _audit_signatures_changed(
        actor,
        signature.patient_id,
        standing,
        {"fields": sorted(WITHDRAWAL_FIELDS), "kind": kind, "withdrawn_how": how},
    )
    return ConsentSignature.objects.select_related("document").get(pk=signature.pk)


def _audit_signatures_changed(actor: Actor, patient_id: int, pks: list[int], detail: dict[str, Any]) -> None:
    """One update event per consent signature changed (a withdrawal, or its acknowledgement), in
    id order, each with the same detail."""
    audit_record_many(
        actor=actor,
        specs=[
            EventSpec(Action.UPDATE, "patients.consentsignature", str(pk), patient_id, detail)
            for pk in sorted(pks)
        ],
    )


@transaction.atomic
def consent_withdrawal_acknowledge(*, actor: Actor, signature: ConsentSignature) -> int:
    """A nurse or physician says they have seen the patient's withdrawal made in the portal (and
    will talk with them): every withdrawal of the route the patient made in the portal not yet
    seen is marked seen, by them, now, and leaves the staff home page. Returns how many
    signatures were marked. Refused for a withdrawal told to staff (they knew), one already
    seen, or a consent not withdrawn."""
    user = actor.user
    if user is None or not user.has_perm(CONSENT_WITHDRAW):
        raise ValidationError("Only a nurse or a physician acknowledges a withdrawal of consent.")
    _lock_patient(signature.patient_id)
    kind = ConsentDocument.objects.only("kind").get(pk=signature.document_id).kind
    unseen = list(
        ConsentSignature.objects.filter(
            patient_id=signature.patient_id,
            document__kind=kind,
            withdrawn_how=ConsentSignature.WithdrawnHow.PORTAL,
            withdrawal_seen_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    if signature.pk not in unseen:
        raise ValidationError(
            {"signature": "This withdrawal is already acknowledged, or was not made in the portal."}
        )
    ConsentSignature.objects.filter(pk__in=unseen, withdrawal_seen_at__isnull=True).update(
        withdrawal_seen_at=timezone.now(), withdrawal_seen_by=user
    )
    _audit_signatures_changed(
        actor, signature.patient_id, unseen, {"fields": sorted(ACKNOWLEDGEMENT_FIELDS), "kind": kind}
    )
    return len(unseen)

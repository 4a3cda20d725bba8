"""Patient writes. One function per action a user takes; each is one transaction and writes its
audit events, so a command or an import changes data exactly as a web request does."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_objects, audit_record, audit_record_many, spec_for
from ketacare.clinical.codes import UnknownDiagnosisCode, diagnosis
from ketacare.clinical.mrn import format_mrn
from ketacare.outcomes import services as outcome_changes
from ketacare.patients.models import (
    Allergy,
    BodyMeasurement,
    Diagnosis,
    MrnSequence,
    Patient,
    ReferringProvider,
)
from ketacare.patients.names import name_key

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


def mrn_allocate(*, count: int = 1) -> list[str]:
    """Take `count` consecutive MRNs. Must run inside the caller's transaction."""
    MrnSequence.objects.get_or_create(pk=1)
    sequence = MrnSequence.objects.select_for_update().get(pk=1)
    first = sequence.last_serial + 1
    MrnSequence.objects.filter(pk=1).update(last_serial=F("last_serial") + count)
    return [format_mrn(serial) for serial in range(first, first + count)]


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


@transaction.atomic
def patient_register(
    *,
    actor: Actor,
    details: Mapping[str, Any],
    diagnoses: Sequence[str] = (),
    primary_diagnosis: str | None = None,
    weight_kg: Decimal | None = None,
    height_cm: Decimal | None = None,
) -> Patient:
    """Register a new patient with a fresh MRN, their diagnoses and a first weight/height.

    Everything is validated before anything is written; on any error nothing is saved.
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
    patient.mrn = mrn_allocate()[0]
    patient.save()
    records: list[Any] = [patient]
    for code in codes:
        records.append(
            Diagnosis.objects.create(
                patient=patient,
                code=code,
                is_primary=(code == primary_diagnosis),
                recorded_by=actor.user,
            )
        )
    if measurement is not None:
        measurement.patient = patient
        measurement.save()
        records.append(measurement)
    if primary_diagnosis:
        outcome_changes.mark_changed([patient.pk])
    audit_objects(actor=actor, action=Action.CREATE, objs=records)
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
        outcome_changes.mark_changed([locked.pk])  # the primary diagnosis groups the outcomes
    if changed:
        locked.save()
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

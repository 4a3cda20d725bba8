"""A patient's record as FHIR R4 resources (JSON), for `GET /fhir/Patient/{id}/$everything`.

Each builder turns one stored record into one resource, as plain JSON-ready dicts: Patient (the
MRN and the patient's ids in other systems), Condition (ICD-10-CM and SNOMED CT), Questionnaire
per scale and QuestionnaireResponse per response, Observation per scored response (the LOINC
total, each item's score as a component: PHQ-9 item 9 is 44260-8), Encounter per session,
MedicationAdministration per dose (RxNorm, route, the dose prepared or given), vital signs in the
FHIR vital-signs profile (blood pressure panel 85354-9 with its two components, heart rate,
respiratory rate, SpO2 2708-6 and 59408-5), AdverseEvent, CarePlan per treatment plan, Consent per
signed consent to treatment (the version signed, when, how; inactive once withdrawn).

Resource ids are the records' own (a prefix where two kinds of record share a resource type: a
score's Observation is `score-12`, a reading's `vitals-40-bp`). Codes come from clinical/
(fhir_codes, codes, instruments, protocols), each with its source there.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from ketacare.clinical import fhir_codes as fc
from ketacare.clinical import instruments
from ketacare.clinical.codes import DIAGNOSES, SNOMED_BY_CONDITION
from ketacare.clinical.monitoring import ADVERSE_EVENT_LABELS, AdverseEventKind
from ketacare.clinical.protocols import DEFAULTS as PROTOCOLS
from ketacare.clinical.protocols import ProtocolCode
from ketacare.measures.models import QuestionnaireResponse
from ketacare.patients.consent import BY_CODE as CONSENT_KINDS
from ketacare.patients.models import ConsentSignature, Diagnosis, Patient, PatientIdentifier
from ketacare.screening.models import AntidepressantTrial, CandidacyDecision
from ketacare.sessions.models import AdverseEvent, DoseOrder, TreatmentSession, VitalSign
from ketacare.treatment.models import TreatmentPlan

# The MRN's identifier system. A clinic with an OID or URL of its own for its MRNs can name it
# here in a later setting; until then the MRNs are KetaCare's own, in KetaCare's namespace.
MRN_SYSTEM = "urn:ketacare:mrn"
# When a response was taken in the course of care (baseline, before or after a session, follow-up):
# KetaCare's own extension on QuestionnaireResponse, which the outcome figures read.
CONTEXT_EXTENSION = "urn:ketacare:fhir:StructureDefinition/response-context"
# An antidepressant trial's outcome, adherence and whether it was in the current episode (what
# treatment-resistance staging reads): KetaCare's extensions on MedicationStatement.
TRIAL_EXTENSION = "urn:ketacare:fhir:StructureDefinition/antidepressant-trial-"
Resource = dict[str, Any]
DIAGNOSIS_BY_CODE = {d.code: d for d in DIAGNOSES}


def instant(value: datetime.datetime | str | None) -> str | None:
    """A FHIR dateTime in UTC, to the microsecond as stored (the database's times are UTC); a
    text is one already made (`_response_rows`)."""
    if value is None or isinstance(value, str):
        return value
    return value.astimezone(datetime.UTC).isoformat()


def _codeable(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _ref(kind: str, rid: object) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def _quantity(value: Decimal | int | float, code: fc.Coded) -> dict[str, Any]:
    return {"value": _number(value), "unit": code.unit, "system": fc.UCUM, "code": code.unit}


def _number(value: Decimal | int | float) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _clean(resource: Resource) -> Resource:
    """Without empty elements (FHIR forbids an empty value, list or object)."""
    return {k: v for k, v in resource.items() if v not in (None, "", [], {})}


def patient_resource(patient: Patient, others: Iterable[PatientIdentifier]) -> Resource:
    identifiers = [
        {
            "use": "official",
            "type": {
                "coding": [{"system": fc.IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}]
            },
            "system": MRN_SYSTEM,
            "value": patient.mrn,
        }
    ]
    identifiers += [{"use": "secondary", "system": i.system.uri, "value": i.value} for i in others]
    names: list[dict[str, Any]] = [
        {"use": "official", "family": patient.family_name, "given": [patient.given_name]}
    ]
    if patient.preferred_name:
        names.append({"use": "usual", "given": [patient.preferred_name]})
    telecom = [{"system": "phone", "value": patient.phone}] if patient.phone else []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    address = [
        _clean(
            {
                "line": [line for line in (patient.address_line1, patient.address_line2) if line],
                "city": patient.city,
                "state": patient.state,
                "postalCode": patient.postal_code,
            }
        )
    ]
    return _clean(
        {
            "resourceType": "Patient",
            "id": str(patient.pk),
            "identifier": identifiers,
            "name": names,
            "gender": patient.sex,  # female, male, other, unknown: FHIR's administrative genders
            "birthDate": patient.date_of_birth.isoformat(),
            "telecom": telecom,
            "address": [a for a in address if a],
        }
    )


def condition_resource(diagnosis: Diagnosis) -> Resource:
    code = DIAGNOSIS_BY_CODE[diagnosis.code]
    snomed, snomed_display = SNOMED_BY_CONDITION[code.condition]
    return {
        "resourceType": "Condition",
        "id": str(diagnosis.pk),
        "clinicalStatus": {"coding": [{"system": fc.CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": fc.CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": fc.CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "code": {
            "coding": [
                {"system": fc.ICD10CM, "code": code.code, "display": code.display},
                {"system": fc.SNOMED, "code": snomed, "display": snomed_display},
            ],
            "text": code.label + (" (primary)" if diagnosis.is_primary else ""),
        },
        "subject": _ref("Patient", diagnosis.patient_id),
        "recordedDate": instant(diagnosis.recorded_at),
    }


def medication_statement(trial: AntidepressantTrial) -> Resource:
    """An antidepressant trial: the drug, its daily dose and dates, and (extensions) its outcome,
    adherence and whether it was in the current episode."""
    dose = {"value": _number(trial.daily_dose_mg), "unit": "mg", "system": fc.UCUM, "code": "mg"}
    return _clean(
        {
            "resourceType": "MedicationStatement",
            "id": str(trial.pk),
            "extension": [
                {"url": TRIAL_EXTENSION + "outcome", "valueCode": trial.outcome},
                {"url": TRIAL_EXTENSION + "adherence", "valueCode": trial.adherence},
                {"url": TRIAL_EXTENSION + "current-episode", "valueBoolean": trial.current_episode},
            ],
            "status": "completed" if trial.stopped_on else "active",
            "medicationCodeableConcept": {"text": trial.drug},
            "subject": _ref("Patient", trial.patient_id),
            "effectivePeriod": _clean(
                {
                    "start": trial.started_on.isoformat(),
                    "end": trial.stopped_on.isoformat() if trial.stopped_on else None,
                }
            ),
            "dateAsserted": instant(trial.recorded_at),
            "note": [{"text": trial.notes}] if trial.notes else [],
            "dosage": [
                {
                    "text": f"{_number(trial.daily_dose_mg)} mg a day",
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": dose}],
                }
            ],
        }
    )


def questionnaire_url(base: str, code: str) -> str:
    return f"{base}Questionnaire/{code}"


def questionnaire_resource(code: str, base: str) -> Resource:
    scale = instruments.get(code)
    items = []
    for item in scale.items:
        items.append(
            _clean(
                {
                    "linkId": item.number,
                    "code": [{"system": fc.LOINC, "code": item.loinc}] if item.loinc else [],
                    "text": item.text or item.label,
                    "type": "choice",
                    "required": item.required,
                    "answerOption": [
                        {"valueCoding": {"code": str(n), "display": option.label}}
                        for n, option in enumerate(item.options)
                    ],
                }
            )
        )
    return _clean(
        {
            "resourceType": "Questionnaire",
            "id": code,
            "url": questionnaire_url(base, code),
            "name": scale.short_name.replace("-", "").replace(" ", ""),
            "title": scale.name,
            "status": "active",
            "code": [{"system": fc.LOINC, "code": scale.loinc_panel}] if scale.loinc_panel else [],
            "description": f"{scale.stem} ({scale.citation}; wording: {scale.wording})",
            "item": items,
        }
    )


@dataclass(frozen=True, slots=True)
class _ItemParts:
    """What every response to one item of a scale shares, made once per export."""

    number: str
    answers: tuple[list[dict[str, Any]], ...]  # by option position: the QuestionnaireResponse answer
    component_code: dict[str, Any]  # the Observation component's code
    scored: bool


@dataclass(frozen=True, slots=True)
class _ScaleParts:
    items: tuple[_ItemParts, ...]
    total_code: dict[str, Any]
    category: list[dict[str, Any]]


@functools.cache
def _scale_parts(code: str) -> _ScaleParts:
    scale = instruments.get(code)
    short = scale.short_name
    items = []
    for item in scale.items:
        # The item's label and wording are the Questionnaire's: a clinic's export repeats this
        # for millions of scores, so only the LOINC code and a short name stand here.
        component: dict[str, Any] = {"text": f"{short} item {item.number}"}
        if item.loinc:
            component["coding"] = [{"system": fc.LOINC, "code": item.loinc}]
        items.append(
            _ItemParts(
                number=item.number,
                answers=tuple(
                    [{"valueCoding": {"code": str(n), "display": option.label}}]
                    for n, option in enumerate(item.options)
                ),
                component_code=component,
                scored=item.scored,
            )
        )
    name = f"{short} total score"
    total: dict[str, Any] = {"text": name}
    if scale.loinc_total:
        total["coding"] = [{"system": fc.LOINC, "code": scale.loinc_total, "display": name}]
    return _ScaleParts(
        items=tuple(items),
        total_code=total,
        category=[_codeable(fc.OBSERVATION_CATEGORY, "survey", "Survey")],
    )


class ResponseRow(NamedTuple):
    """A response as the builders read it (`_response_rows`: a model instance costs several
    times as much to make, for a clinic's millions)."""

    id: int
    patient_id: int
    instrument: str
    answers: list[int | None]
    item_scores: list[int | None]
    total: int | None
    band: str
    complete: bool
    prorated: bool
    context: str
    administered_at: str  # a FHIR dateTime already


def questionnaire_response_resource(response: Any, base: str) -> Resource:
    parts = _scale_parts(response.instrument)
    items = [
        {"linkId": item.number, "answer": item.answers[answer]}
        for item, answer in zip(parts.items, response.answers, strict=False)
        if answer is not None
    ]
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.id),
        "extension": [{"url": CONTEXT_EXTENSION, "valueCode": response.context}],
        "questionnaire": questionnaire_url(base, response.instrument),
        "status": "completed" if response.complete else "in-progress",
        "subject": _ref("Patient", response.patient_id),
        "authored": instant(response.administered_at),
    }
    if items:
        resource["item"] = items
    return resource


def score_observation(response: Any) -> Resource | None:
    """The scored total (None for a response that could not be scored), its band, and each
    item's score as a component."""
    if response.total is None:
        return None
    parts = _scale_parts(response.instrument)
    resource = {
        "resourceType": "Observation",
        "id": f"score-{response.id}",
        "status": "final",
        "category": parts.category,
        "code": parts.total_code,
        "subject": _ref("Patient", response.patient_id),
        "effectiveDateTime": instant(response.administered_at),
        "valueInteger": response.total,
    }
    if response.band:
        resource["interpretation"] = [{"text": response.band}]
    if response.prorated:
        answered = len(response.answers) - response.answers.count(None)
        resource["note"] = [{"text": f"Prorated from {answered} items answered"}]
    resource["derivedFrom"] = [_ref("QuestionnaireResponse", response.id)]
    components = [
        {"code": item.component_code, "valueInteger": score}
        for item, score in zip(parts.items, response.item_scores, strict=False)
        if score is not None and item.scored
    ]
    if components:
        resource["component"] = components
    return resource


def encounter_resource(session: Any) -> Resource:
    finished = session.discharged_at is not None or session.source == TreatmentSession.Source.IMPORT
    return _clean(
        {
            "resourceType": "Encounter",
            "id": str(session.id),
            "status": "finished" if finished else "in-progress",
            "class": {"system": fc.ENCOUNTER_CLASS, "code": "AMB", "display": "ambulatory"},
            "type": [{"text": f"{_protocol_name(session.protocol)}, session {session.number}"}],
            "subject": _ref("Patient", session.patient_id),
            "period": _clean(
                {"start": instant(session.checked_in_at), "end": instant(session.discharged_at)}
            ),
        }
    )


def _protocol_name(code: str) -> str:
    try:
        return PROTOCOLS[ProtocolCode(code)].name
    except ValueError:
        return code


def medication_administration(session: Any, order: Any | None) -> Resource | None:
    """The session's dose (None before it starts): RxNorm, route, and the dose given, else the
    dose prepared, else the dose ordered."""
    if session.dose_started_at is None:
        return None
    try:
        protocol = PROTOCOLS[ProtocolCode(session.protocol)]
        medication = {"coding": [{"system": fc.RXNORM, "code": protocol.rxnorm}], "text": protocol.name}
    except ValueError:
        medication = {"text": session.protocol}
    dose = session.given_dose_mg
    if dose is None and order is not None:
        dose = order.prepared_dose_mg if order.prepared_dose_mg is not None else order.dose_mg
    route = fc.ROUTES.get(session.route)
    stopped = session.dose_stopped_at is not None or session.source == TreatmentSession.Source.IMPORT
    dosage: dict[str, Any] = {}
    if route:
        dosage["route"] = {"coding": [route.coding(fc.SNOMED)]}
    if dose is not None:
        dosage["dose"] = {"value": _number(dose), "unit": "mg", "system": fc.UCUM, "code": "mg"}
    if session.stop_reason:
        dosage["text"] = f"Stopped early: {session.stop_reason}"
    effective = (
        {
            "effectivePeriod": {
                "start": instant(session.dose_started_at),
                "end": instant(session.dose_stopped_at),
            }
        }
        if session.dose_stopped_at
        else {"effectiveDateTime": instant(session.dose_started_at)}
    )
    return _clean(
        {
            "resourceType": "MedicationAdministration",
            "id": str(session.id),
            "status": "completed" if stopped else "in-progress",
            "medicationCodeableConcept": medication,
            "subject": _ref("Patient", session.patient_id),
            "context": _ref("Encounter", session.id),
            **effective,
            "dosage": dosage,
        }
    )


def _vital(reading: Any, suffix: str, code: fc.Coded, extra: Iterable[fc.Coded] = ()) -> Resource:
    return {
        "resourceType": "Observation",
        "id": f"vitals-{reading.id}-{suffix}",
        "meta": {"profile": [fc.VITAL_SIGNS_PROFILE]},
        "status": "final",
        "category": [
            {"coding": [{"system": fc.OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}
        ],
        "code": {"coding": [code.coding(), *(c.coding() for c in extra)], "text": code.display},
        "subject": _ref("Patient", reading.patient_id),
        "encounter": _ref("Encounter", reading.session_id),
        "effectiveDateTime": instant(reading.taken_at),
    }


def vital_sign_observations(reading: Any) -> Iterator[Resource]:
    """A reading's values, one Observation each as the vital-signs profile asks (the blood
    pressure as the panel with both components). A struck-out reading is not exported."""
    if reading.struck_by_id is not None:
        return
    if reading.systolic is not None and reading.diastolic is not None:
        yield {
            **_vital(reading, "bp", fc.BP_PANEL),
            "component": [
                {"code": {"coding": [c.coding()]}, "valueQuantity": _quantity(v, c)}
                for c, v in ((fc.SYSTOLIC, reading.systolic), (fc.DIASTOLIC, reading.diastolic))
            ],
        }
    for suffix, code, value, extra in (
        ("hr", fc.HEART_RATE, reading.heart_rate, ()),
        ("rr", fc.RESP_RATE, reading.resp_rate, ()),
        ("spo2", fc.SPO2, reading.spo2, (fc.SPO2_PULSE_OXIMETRY,)),
    ):
        if value is not None:
            yield {**_vital(reading, suffix, code, extra), "valueQuantity": _quantity(value, code)}


def adverse_event_resource(event: Any, dosed: bool) -> Resource:
    label = ADVERSE_EVENT_LABELS.get(AdverseEventKind(event.kind), event.kind)
    return _clean(
        {
            "resourceType": "AdverseEvent",
            "id": str(event.id),
            "actuality": "actual",
            "event": {"text": f"{label}: {event.description}" if event.description else label},
            "subject": _ref("Patient", event.patient_id),
            "encounter": _ref("Encounter", event.session_id),
            "date": instant(event.onset_at),
            "recordedDate": instant(event.recorded_at),
            "seriousness": {
                "coding": [
                    {"system": fc.AE_SERIOUSNESS, "code": "serious" if event.serious else "non-serious"}
                ]
            },
            "severity": {"coding": [{"system": fc.AE_SEVERITY, "code": event.severity}]},
            "suspectEntity": [{"instance": _ref("MedicationAdministration", event.session_id)}]
            if dosed
            else [],
        }
    )


def care_plan_resource(plan: TreatmentPlan) -> Resource:
    stopped = plan.status == TreatmentPlan.Status.STOPPED
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": str(plan.pk),
            "status": "revoked" if stopped else "active",
            "intent": "plan",
            "title": _protocol_name(plan.protocol),
            "description": plan.goals,
            "subject": _ref("Patient", plan.patient_id),
            "period": _clean(
                {
                    "start": plan.started_on.isoformat(),
                    "end": instant(plan.stopped_at) if stopped else None,
                }
            ),
            "created": instant(plan.created_at),
            "note": [{"text": f"Stopped: {plan.stop_reason}"}] if stopped and plan.stop_reason else [],
        }
    )


def consent_resource(signature: ConsentSignature, base: str) -> Resource:
    """A signed consent: the version signed (its signed copy's address), when, by the patient,
    in the portal or on paper with a witness; inactive from its withdrawal."""
    document = signature.document
    label = CONSENT_KINDS[document.kind].label
    withdrawn = signature.withdrawn_at is not None
    return _clean(
        {
            "resourceType": "Consent",
            "id": str(signature.pk),
            "status": "inactive" if withdrawn else "active",
            "scope": {"coding": [fc.CONSENT_TREATMENT.coding(fc.CONSENT_SCOPE)]},
            "category": [{"coding": [fc.PATIENT_CONSENT.coding()]}],
            "patient": _ref("Patient", signature.patient_id),
            "dateTime": instant(signature.signed_at),
            "performer": [_ref("Patient", signature.patient_id)],
            "sourceAttachment": {
                "contentType": "application/pdf",
                "url": _document_url(
                    base, reverse("patients:consent-copy", args=[signature.patient_id, signature.pk])
                ),
                "title": f"{document.title}, version {document.version} ({signature.get_method_display()})",
                "creation": instant(signature.signed_at),
            },
            "policyRule": {"text": f"Consent to {label} treatment, version {document.version}"},
            "provision": {
                "type": "permit",
                "period": _clean(
                    {
                        "start": instant(signature.signed_at),
                        "end": instant(signature.withdrawn_at) if withdrawn else None,
                    }
                ),
            },
        }
    )


def _document_url(base: str, path: str) -> str:
    """A page's address beside the FHIR endpoint's (`base` ends in "fhir/"), or the site-relative
    path when the base is no web address (an export made from the command line)."""
    site = base.removesuffix("fhir/")
    return site.rstrip("/") + path if site.startswith(("http://", "https://")) else path


def letter_reference(decision: Any, base: str) -> Resource:
    """The consultation letter to the referring clinician, as the signed decision gives it."""
    return {
        "resourceType": "DocumentReference",
        "id": f"letter-{decision.id}",
        "status": "superseded" if decision.superseded else "current",
        "type": {"text": "Consultation letter to the referring clinician"},
        "subject": _ref("Patient", decision.patient_id),
        "date": instant(decision.signed_at),
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": _document_url(base, reverse("screening:letter", args=[decision.id])),
                    "title": f"Consultation letter ({decision.decision.replace('_', ' ')})",
                }
            }
        ],
    }


def report_reference(patient_id: int, base: str) -> Resource:
    """The progress report for the referring clinician: made when asked, from the record as it is."""
    return {
        "resourceType": "DocumentReference",
        "id": f"progress-report-{patient_id}",
        "status": "current",
        "type": {"text": "Progress report for the referring clinician (made when opened)"},
        "subject": _ref("Patient", patient_id),
        "date": instant(timezone.now()),
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": _document_url(base, reverse("outcomes:report", args=[patient_id])),
                    "title": "Progress report",
                }
            }
        ],
    }


@dataclass(frozen=True, slots=True)
class Record:
    """One patient's record, as `records_of` reads it."""

    patient: Patient
    others: list[PatientIdentifier]
    diagnoses: list[Diagnosis]
    trials: list[AntidepressantTrial]
    responses: list[ResponseRow]
    sessions: list[Any]  # rows of SESSION_FIELDS
    orders: dict[int, list[Any]]  # by session: its dose order in force (rows of ORDER_FIELDS)
    vitals: dict[int, list[Any]]  # by session (rows of VITAL_FIELDS)
    events: dict[int, list[Any]]  # by session: adverse events (rows of EVENT_FIELDS)
    plans: list[TreatmentPlan]
    letters: list[Any]  # signed candidacy decisions (rows), each with its letter
    consents: list[ConsentSignature]


def _by_patient(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.patient_id].append(row)
    return grouped


def _by_session(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.session_id].append(row)
    return grouped


# The sessions' parts as the builders read them: rows of these fields (a model instance, and a
# prefetch per session, cost several times as much to make for a whole clinic's export).
SESSION_FIELDS = (
    "id",
    "patient_id",
    "source",
    "protocol",
    "route",
    "number",
    "checked_in_at",
    "discharged_at",
    "dose_started_at",
    "dose_stopped_at",
    "given_dose_mg",
    "stop_reason",
)
ORDER_FIELDS = ("id", "session_id", "dose_mg", "prepared_dose_mg")
VITAL_FIELDS = (
    "id",
    "session_id",
    "patient_id",
    "taken_at",
    "systolic",
    "diastolic",
    "heart_rate",
    "spo2",
    "resp_rate",
    "struck_by_id",
)
EVENT_FIELDS = (
    "id",
    "session_id",
    "patient_id",
    "kind",
    "description",
    "severity",
    "serious",
    "onset_at",
    "recorded_at",
)


UTC_OFFSET = re.compile(r"[+-]\d\d(:?\d\d)?$")


def _utc_text(text: str) -> str:
    """A stored UTC time's text as a FHIR dateTime: SQLite's "2026-07-14 09:48:49.178747", or
    PostgreSQL's "2026-07-14 09:48:49.178747+00" (its session's time zone is UTC)."""
    text = text.replace(" ", "T", 1)
    offset = UTC_OFFSET.search(text)
    if offset is None:
        return text + "+00:00"
    if offset.group() not in ("+00", "+00:00", "+0000"):
        raise ValueError(f"{text}: not a UTC time")
    return text[: offset.start()] + "+00:00"


def _response_rows(responses: QuerySet[QuestionnaireResponse]) -> Iterator[ResponseRow]:
    """The responses as rows, their answers and times read as the database's text and converted
    here (orjson, string steps): for a clinic's millions, Django's field conversions were a third
    of the export's time."""
    texts = responses.values_list(
        "id",
        "patient_id",
        "instrument",
        Cast("answers", TextField()),
        Cast("item_scores", TextField()),
        "total",
        "band",
        "complete",
        "prorated",
        "context",
        Cast("administered_at", TextField()),
    )
    for pk, patient_id, code, answers, item_scores, total, band, complete, prorated, context, at in texts:
        yield ResponseRow(
            pk,
            patient_id,
            code,
            orjson.loads(answers),
            orjson.loads(item_scores),
            total,
            band,
            complete,
            prorated,
            context,
            _utc_text(at),
        )


def records_of(patient_ids: Sequence[int], since: datetime.datetime | None = None) -> Iterator[Record]:
    """The records of these patients, in the order given: twelve queries for all of them, however
    long their histories. `since`: only what was recorded (or, for the patient, changed) from then
    (FHIR Bulk Data's `_since`); the Patient is always there, to refer to."""
    ids = list(patient_ids)

    def after(qs: QuerySet[Any], field: str) -> QuerySet[Any]:
        return qs.filter(**{f"{field}__gte": since}) if since is not None else qs

    patients = Patient.objects.in_bulk(ids)
    others = _by_patient(
        PatientIdentifier.objects.filter(patient_id__in=ids).select_related("system").order_by("id")
    )
    diagnoses = _by_patient(after(Diagnosis.objects.filter(patient_id__in=ids), "recorded_at").order_by("id"))
    trials = _by_patient(
        after(
            AntidepressantTrial.objects.filter(patient_id__in=ids, struck_out_at__isnull=True), "recorded_at"
        ).order_by("started_on", "id")
    )
    responses = _by_patient(
        _response_rows(
            after(QuestionnaireResponse.objects.filter(patient_id__in=ids), "created_at").order_by(
                "administered_at", "id"
            )
        )
    )
    sessions = _by_patient(
        after(TreatmentSession.objects.filter(patient_id__in=ids), "checked_in_at")
        .order_by("checked_in_at", "id")
        .values_list(*SESSION_FIELDS, named=True)
    )
    session_ids = [row.id for rows in sessions.values() for row in rows]
    orders = _by_session(
        DoseOrder.objects.filter(session_id__in=session_ids, superseded_at__isnull=True)
        .order_by("id")
        .values_list(*ORDER_FIELDS, named=True)
    )
    vitals = _by_session(
        VitalSign.objects.filter(session_id__in=session_ids)
        .order_by("taken_at", "id")
        .values_list(*VITAL_FIELDS, named=True)
    )
    events = _by_session(
        AdverseEvent.objects.filter(session_id__in=session_ids)
        .order_by("onset_at", "id")
        .values_list(*EVENT_FIELDS, named=True)
    )
    letters = _by_patient(
        after(CandidacyDecision.objects.filter(patient_id__in=ids), "signed_at")
        .annotate(superseded=Exists(CandidacyDecision.objects.filter(supersedes=OuterRef("pk"))))
        .order_by("signed_at", "id")
        .values_list("id", "patient_id", "decision", "signed_at", "superseded", named=True)
    )
    plans = _by_patient(after(TreatmentPlan.objects.filter(patient_id__in=ids), "created_at").order_by("id"))
    signatures = ConsentSignature.objects.filter(patient_id__in=ids)
    if since is not None:  # signed, or withdrawn, since
        signatures = signatures.filter(Q(recorded_at__gte=since) | Q(withdrawn_at__gte=since))
    consents = _by_patient(signatures.select_related("document").order_by("signed_at", "id"))
    for pid in ids:
        if pid in patients:
            yield Record(
                patient=patients[pid],
                others=others.get(pid, []),
                diagnoses=diagnoses.get(pid, []),
                trials=trials.get(pid, []),
                responses=responses.get(pid, []),
                sessions=sessions.get(pid, []),
                orders=orders,
                vitals=vitals,
                events=events,
                plans=plans.get(pid, []),
                letters=letters.get(pid, []),
                consents=consents.get(pid, []),
            )


def resources_of(record: Record, base: str, *, questionnaires: bool) -> Iterator[Resource]:
    """Every resource of one patient's record, the Patient first; with `questionnaires`, the
    Questionnaire of each scale the patient answered (a bulk export writes each scale's once)."""
    yield patient_resource(record.patient, record.others)
    for diagnosis in record.diagnoses:
        yield condition_resource(diagnosis)
    for trial in record.trials:
        yield medication_statement(trial)
    if questionnaires:
        for code in sorted({r.instrument for r in record.responses}):
            yield questionnaire_resource(code, base)
    for response in record.responses:
        yield questionnaire_response_resource(response, base)
        if (observation := score_observation(response)) is not None:
            yield observation
    for signature in record.consents:
        yield consent_resource(signature, base)
    for plan in record.plans:
        yield care_plan_resource(plan)
    for decision in record.letters:
        yield letter_reference(decision, base)
    if record.responses:
        yield report_reference(record.patient.pk, base)
    for session in record.sessions:
        yield encounter_resource(session)
        orders = record.orders.get(session.id)
        if (given := medication_administration(session, orders[-1] if orders else None)) is not None:
            yield given
        for reading in record.vitals.get(session.id, ()):
            yield from vital_sign_observations(reading)
        for event in record.events.get(session.id, ()):
            yield adverse_event_resource(event, dosed=given is not None)


def everything(patient_id: int, base: str) -> Resource | None:
    """`Patient/{id}/$everything`: a searchset Bundle of the patient's record (None: no such
    patient). `base` is the FHIR endpoint's absolute URL, ending in a slash."""
    record = next(records_of([patient_id]), None)
    if record is None:
        return None
    resources = list(resources_of(record, base, questionnaires=True))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(timezone.now()),
        "total": len(resources),
        "link": [{"relation": "self", "url": f"{base}Patient/{patient_id}/$everything"}],
        "entry": [
            {
                "fullUrl": f"{base}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match" if r["resourceType"] != "Questionnaire" else "include"},
            }
            for r in resources
        ],
    }


def capability_statement(base: str) -> Resource:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.localdate().isoformat(),
        "kind": "instance",
        "software": {"name": "KetaCare"},
        "implementation": {"description": "KetaCare FHIR R4 endpoint", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "A signed-in KetaCare session (password and authenticator code)."
                },
                "resource": [
                    {
                        "type": "Patient",
                        "operation": [
                            {
                                "name": "everything",
                                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                            }
                        ],
                    }
                ],
            }
        ],
    }

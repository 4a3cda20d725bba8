"""`ketacare fhir-import`: patients, their doses and their rating-scale answers from FHIR R4.

Reads a Bundle (a JSON file) or a FHIR Bulk Data export (a folder of NDJSON files, as
`ketacare fhir-export` writes them). Every resource is validated with fhir.resources first; then
Patients, MedicationAdministrations (the doses: imported sessions) and QuestionnaireResponses
(scored by the scale's own rules) go through the same checks and the same one transaction as the
CSV history import (interop/history.py): one bad resource rejects everything, each named by its
path ("Bundle.entry[3].resource: birthDate: ...") or file and line. The other resource types are
derived from these (Observations, Questionnaires) or not imported yet; they are counted.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as FhirInvalid

from ketacare.audit.context import Actor
from ketacare.clinical import fhir_codes as fc
from ketacare.clinical import instruments
from ketacare.interop.fhir import CONTEXT_EXTENSION, MRN_SYSTEM, TRIAL_EXTENSION
from ketacare.interop.history import (
    Ids,
    ImportRejected,
    Plan,
    RowError,
    Summary,
    Where,
    check_rows,
    plan_import,
)
from ketacare.measures.models import Context
from ketacare.outcomes import services as outcome_changes
from ketacare.patients.models import IdentifierSystem, Patient
from ketacare.screening.models import AntidepressantTrial
from ketacare.screening.services import trial_record

IMPORTED = ("Patient", "MedicationStatement", "MedicationAdministration", "QuestionnaireResponse")
ROUTE_BY_SNOMED = {code.code: route for route, code in fc.ROUTES.items()}


@dataclass
class FhirSummary:
    summary: Summary
    skipped: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        text = str(self.summary)
        if self.skipped:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.skipped.items()))
            text += f" Not imported (derived from these, or not imported yet): {kinds}."
        return text


def _resources(path: Path, errors: list[RowError]) -> Iterator[tuple[Where, dict[str, Any]]]:
    """Each resource with its place: a Bundle's entries, or each line of each NDJSON file."""
    if path.is_dir():
        for file in sorted(path.glob("*.ndjson")):
            for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
                if line.strip():
                    yield from _parsed((file.name, n), line, errors)
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(RowError(path.name, None, f"cannot read the file: {exc}"))
        return
    for _, bundle in _parsed((path.name, None), text, errors):
        if bundle.get("resourceType") != "Bundle":
            errors.append(RowError(path.name, None, "resourceType: a Bundle is expected"))
            return
        for i, entry in enumerate(bundle.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                errors.append(RowError(f"Bundle.entry[{i}]", None, "resource: missing"))
                continue
            yield (f"Bundle.entry[{i}].resource", None), resource


def _parsed(where: Where, text: str, errors: list[RowError]) -> Iterator[tuple[Where, dict[str, Any]]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        errors.append(RowError(where[0], where[1], f"not JSON: {exc.msg} at character {exc.pos}"))
        return
    if not isinstance(value, dict):
        errors.append(RowError(where[0], where[1], "not a FHIR resource (a JSON object)"))
        return
    yield where, value


def _invalid(where: Where, resource: dict[str, Any]) -> list[RowError]:
    """What fhir.resources finds wrong with the resource, each at its element's path."""
    kind = resource.get("resourceType")
    try:
        model = get_fhir_model_class(str(kind))
    except (KeyError, ValueError):
        return [RowError(where[0], where[1], f"resourceType: {kind!r} is not a FHIR R4 resource type")]
    try:
        model.model_validate(resource)
    except FhirInvalid as exc:
        return [
            RowError(
                where[0],
                where[1],
                f"{'.'.join(str(p) for p in error['loc']) or kind}: {error['msg']}",
            )
            for error in exc.errors()
        ]
    return []


class _Reader:
    """Turns valid resources into the history import's rows (the CSV columns' values)."""

    def __init__(self, ids: Ids, errors: list[RowError]) -> None:
        self.ids = ids
        self.errors = errors
        self.known_systems = set(IdentifierSystem.objects.values_list("uri", flat=True))
        self.key_system = MRN_SYSTEM if ids.system is None else ids.system.uri
        self.keys: dict[str, str] = {}  # "Patient/{id}" -> the patient's key (MRN or id)
        self.patients: list[tuple[Where, dict[str, str]]] = []
        self.sessions: list[tuple[Where, dict[str, str]]] = []
        self.scores: list[tuple[Where, dict[str, str]]] = []
        self.trials: list[tuple[Where, str, dict[str, Any]]] = []

    def problem(self, where: Where, reason: str) -> None:
        self.errors.append(RowError(where[0], where[1], reason))

    def patient(self, where: Where, r: dict[str, Any]) -> None:
        key = None
        for n, identifier in enumerate(r.get("identifier") or []):
            system = identifier.get("system")
            if system == self.key_system:
                key = identifier.get("value")
            elif system != MRN_SYSTEM and system not in self.known_systems:
                self.problem(
                    where, f"identifier[{n}].system: {system!r} is not an identifier system on record"
                )
        if key is None:
            self.problem(
                where, f"identifier: none of system {self.key_system} (the patient's {self.ids.name})"
            )
            return
        names = r.get("name") or [{}]
        name = next((n for n in names if n.get("use") == "official"), names[0])
        if r.get("id"):
            self.keys[f"Patient/{r['id']}"] = key
        self.patients.append(
            (
                where,
                {
                    "mrn": key,
                    "given_name": " ".join(name.get("given") or []),
                    "family_name": name.get("family") or "",
                    "birth_date": r.get("birthDate") or "",
                    "sex": r.get("gender") or "",
                },
            )
        )

    def subject(self, where: Where, r: dict[str, Any]) -> str | None:
        reference = (r.get("subject") or {}).get("reference", "")
        key = self.keys.get(reference)
        if key is None:
            self.problem(where, f"subject: {reference or 'none'} is not a Patient in the file")
        return key

    def dose(self, where: Where, r: dict[str, Any]) -> None:
        key = self.subject(where, r)
        dosage = r.get("dosage") or {}
        codes = [
            c.get("code")
            for c in (dosage.get("route") or {}).get("coding") or []
            if c.get("system") == fc.SNOMED
        ]
        route = next((ROUTE_BY_SNOMED[c] for c in codes if c in ROUTE_BY_SNOMED), None)
        if route is None:
            self.problem(
                where, "dosage.route: no SNOMED CT route KetaCare knows (intravenous, intramuscular, nasal)"
            )
        dose = dosage.get("dose") or {}
        if dose.get("code", dose.get("unit")) != "mg":
            self.problem(where, "dosage.dose: a dose in mg is needed")
        at = r.get("effectiveDateTime") or (r.get("effectivePeriod") or {}).get("start")
        if key and route and dose.get("code", dose.get("unit")) == "mg":
            self.sessions.append(
                (
                    where,
                    {"mrn": key, "datetime": at or "", "route": route, "dose_mg": str(dose.get("value", ""))},
                )
            )

    def trial(self, where: Where, r: dict[str, Any]) -> None:
        key = self.subject(where, r)
        extensions = {e.get("url", ""): e for e in r.get("extension") or []}
        period = r.get("effectivePeriod") or {}
        doses = [
            d["doseQuantity"]
            for dosage in r.get("dosage") or []
            for d in dosage.get("doseAndRate") or []
            if "doseQuantity" in d
        ]
        if not doses or doses[0].get("code", doses[0].get("unit")) != "mg":
            self.problem(where, "dosage[0].doseAndRate[0].doseQuantity: a daily dose in mg is needed")
            return
        if not period.get("start"):
            self.problem(where, "effectivePeriod.start: the date the trial started is needed")
            return
        outcome = extensions.get(TRIAL_EXTENSION + "outcome", {}).get("valueCode")
        if not outcome:
            self.problem(where, f"extension: the trial's outcome ({TRIAL_EXTENSION}outcome) is needed")
            return
        if key:
            self.trials.append(
                (
                    where,
                    key,
                    {
                        "drug": (r.get("medicationCodeableConcept") or {}).get("text", ""),
                        "daily_dose_mg": doses[0].get("value"),
                        "started_on": period["start"][:10],
                        "stopped_on": (period.get("end") or "")[:10],
                        "outcome": outcome,
                        "adherence": extensions.get(TRIAL_EXTENSION + "adherence", {}).get(
                            "valueCode", "unknown"
                        ),
                        "current_episode": extensions.get(TRIAL_EXTENSION + "current-episode", {}).get(
                            "valueBoolean", True
                        ),
                    },
                )
            )

    def response(self, where: Where, r: dict[str, Any]) -> None:
        key = self.subject(where, r)
        canonical = r.get("questionnaire") or ""
        code = canonical.rsplit("Questionnaire/", 1)[-1] if "Questionnaire/" in canonical else ""
        if code not in instruments.CODES:
            self.problem(where, f"questionnaire: {canonical!r} is not a KetaCare scale's Questionnaire")
            return
        scale = instruments.get(code)
        numbers = {item.number: n for n, item in enumerate(scale.items, start=1)}
        values = {"mrn": key or "", "datetime": r.get("authored") or "", "instrument": code}
        for n, item in enumerate(r.get("item") or []):
            position = numbers.get(item.get("linkId"))
            answers = item.get("answer") or []
            coding = answers[0].get("valueCoding") if answers else None
            if position is None or coding is None or not str(coding.get("code", "")).isdecimal():
                self.problem(
                    where, f"item[{n}]: not an answer to a {scale.short_name} item (linkId, valueCoding)"
                )
                return
            values[f"item{position}"] = str(coding["code"])
        contexts = [e.get("valueCode") for e in r.get("extension") or [] if e.get("url") == CONTEXT_EXTENSION]
        values["context"] = contexts[0] if contexts else Context.FOLLOW_UP
        if key:
            self.scores.append((where, values))


def check(path: Path, ids: Ids) -> tuple[Plan, Counter[str], _Reader]:
    """Read, validate and check everything; nothing is written."""
    plan = Plan(ids=ids)
    resources = list(_resources(path, plan.errors))
    skipped: Counter[str] = Counter()
    reader = _Reader(ids, plan.errors)
    for where, resource in resources:
        if invalid := _invalid(where, resource):
            plan.errors += invalid
    if plan.errors:
        return plan, skipped, reader
    by_kind = {
        "Patient": reader.patient,
        "MedicationStatement": reader.trial,
        "MedicationAdministration": reader.dose,
        "QuestionnaireResponse": reader.response,
    }
    for kind in IMPORTED:  # the Patients first: the others refer to them
        for where, resource in resources:
            if resource["resourceType"] == kind:
                by_kind[kind](where, resource)
    skipped.update(r["resourceType"] for _, r in resources if r["resourceType"] not in IMPORTED)
    if plan.errors:
        return plan, skipped, reader
    return check_rows(reader.patients, reader.sessions, reader.scores, plan=plan), skipped, reader


def fhir_import(*, actor: Actor, path: Path, source: str | None = None) -> FhirSummary:
    """Import in one transaction (all or nothing: ImportRejected names every problem), then
    bring the outcomes up to date."""
    ids = Ids.of(source)
    skipped: Counter[str] = Counter()
    readers: list[_Reader] = []

    def planned() -> Plan:
        plan, seen, reader = check(path, ids)
        skipped.update(seen)
        readers.append(reader)
        return plan

    def trials(patient_ids: Mapping[str, int], summary: Summary) -> None:
        summary.trials, summary.trials_on_record = _write_trials(actor, readers[0].trials, patient_ids)

    summary = plan_import(actor=actor, plan=planned, label="fhir-import", then=trials)
    outcome_changes.catch_up()
    return FhirSummary(summary, skipped)


def _write_trials(
    actor: Actor, trials: Sequence[tuple[Where, str, dict[str, Any]]], patient_ids: Mapping[str, int]
) -> tuple[int, int]:
    """Record each trial through the screening page's own service (its checks: the clinic's drug
    table, the plausible dose, the dates); a trial already on record (same drug and start) is
    left as it is. Any refusal undoes the whole import, naming every refused trial."""
    patients = Patient.objects.in_bulk(list(set(patient_ids.values())))
    on_record = set(
        AntidepressantTrial.objects.filter(
            patient_id__in=list(patients), struck_out_at__isnull=True
        ).values_list("patient_id", "drug", "started_on")
    )
    errors: list[RowError] = []
    added = kept = 0
    for where, key, values in trials:
        patient = patients[patient_ids[key]]
        try:
            started = datetime.date.fromisoformat(values["started_on"])
            stopped = datetime.date.fromisoformat(values["stopped_on"]) if values["stopped_on"] else None
        except ValueError as exc:
            errors.append(RowError(where[0], where[1], f"effectivePeriod: {exc}"))
            continue
        if (patient.pk, values["drug"], started) in on_record:
            kept += 1
            continue
        try:
            trial_record(
                actor=actor,
                patient=patient,
                drug=values["drug"],
                daily_dose_mg=Decimal(str(values["daily_dose_mg"])),
                started_on=started,
                stopped_on=stopped,
                outcome=values["outcome"],
                adherence=values["adherence"],
                current_episode=bool(values["current_episode"]),
            )
        except ValidationError as exc:
            errors += [
                RowError(where[0], where[1], f"{name}: {' '.join(messages)}")
                for name, messages in exc.message_dict.items()
            ]
        else:
            added += 1
    if errors:
        raise ImportRejected(errors)
    return added, kept

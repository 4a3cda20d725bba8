"""Bringing a clinic's history in: patients, treatments and scores from three CSV files.

Every row is checked before anything is written; one bad row rejects the whole import, and every
bad row is named with its file, line and reason. Then everything is written in one transaction.

The files name patients in their `mrn` column: by KetaCare MRN, or (`source`) by another system's
ids. A patient already on record is matched (and must agree on family name and date of birth, so
history is never attached to the wrong patient); a new KetaCare MRN registers the patient with it,
and a new id of another system registers the patient with a new MRN and keeps the id. A session or
score already on record is left as it is, so a second import of the same files adds nothing.
Scores are scored by the rules of live entry, and no safety alert is raised for history.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.clinical import instruments
from ketacare.clinical.instruments.parse import parse_answers
from ketacare.clinical.mrn import MRN_PATTERN, is_valid_mrn, normalise_mrn
from ketacare.clinical.protocols import (
    ESKETAMINE_DEVICE_MG,
    ESKETAMINE_DOSES_MG,
    ProtocolCode,
    TreatmentRoute,
)
from ketacare.measures.models import Context, QuestionnaireResponse
from ketacare.measures.services import FUTURE_TOLERANCE, responses_import, scored, scored_total
from ketacare.outcomes import services as outcome_changes
from ketacare.patients.models import (
    IdentifierSystem,
    Patient,
    PatientIdentifier,
    Sex,
    identifier_value_validator,
)
from ketacare.patients.names import name_key
from ketacare.patients.services import identifiers_import, mrn_allocate, patients_import
from ketacare.patients.validators import validate_date_of_birth
from ketacare.sessions.models import TreatmentSession
from ketacare.sessions.services import sessions_import
from ketacare.treatment import rules as protocol_rules

PATIENT_COLUMNS = ("mrn", "given_name", "family_name", "birth_date", "sex")
SESSION_COLUMNS = ("mrn", "datetime", "route", "dose_mg")
SCORE_COLUMNS = ("mrn", "datetime", "instrument")
# What `scored` and `scored_total` give each score.
SCORED_FIELDS = ("answers", "item_scores", "total", "band", "flags", "complete", "prorated")
ROUTE_PROTOCOL = {
    TreatmentRoute.IV_KETAMINE: ProtocolCode.IV_KETAMINE_STANDARD,
    TreatmentRoute.IM_KETAMINE: ProtocolCode.IM_KETAMINE,
    TreatmentRoute.ESKETAMINE: ProtocolCode.ESKETAMINE_NASAL,
}
# The heaviest weight KetaCare accepts (patients.models: 25-350 kg) at the protocol's highest
# mg/kg: no IV or IM dose on record can be larger than this.
MAX_WEIGHT_KG = Decimal(350)


@dataclass(frozen=True, slots=True)
class RowError:
    file: str  # a file's name, or a resource's path in a FHIR Bundle ("Bundle.entry[3].resource")
    line: int | None  # the file's line (None: the path alone says where)
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.reason}"
            if self.line is None
            else f"{self.file} line {self.line}: {self.reason}"
        )


Where = tuple[str, int | None]  # a row's place: RowError's file and line
Rows = Sequence[tuple[Where, dict[str, str]]]  # each row's place and its values by column


def _error(where: Where, reason: str) -> RowError:
    return RowError(where[0], where[1], reason)


class ImportRejected(Exception):
    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s); nothing was imported")
        self.errors = list(errors)


class UnknownSource(ValueError):
    """`--source` names no identifier system on record."""


@contextlib.contextmanager
def refusals_reported(stderr: Any) -> Iterator[None]:
    """An import command's refusals: an unknown source, or every problem of a rejected import
    on its own line, then exit 2 with nothing imported."""
    try:
        yield
    except UnknownSource as exc:
        raise CommandError(str(exc), returncode=2) from None
    except ImportRejected as exc:
        for error in exc.errors:
            stderr.write(str(error))
        raise CommandError(
            f"{len(exc.errors)} problem(s) found; nothing was imported.", returncode=2
        ) from None


@dataclass(frozen=True)
class Ids:
    """How the files' `mrn` column names patients: KetaCare MRNs (`system` None), or their ids in
    another system."""

    system: IdentifierSystem | None = None

    @classmethod
    def of(cls, source: str | None) -> Ids:
        if source is None:
            return cls()
        system = IdentifierSystem.objects.filter(name=source.strip()).first()
        if system is None:
            names = ", ".join(IdentifierSystem.objects.order_by("name").values_list("name", flat=True))
            raise UnknownSource(
                f"source: {source!r} is not an identifier system on record "
                f"({'known: ' + names if names else 'none yet'}; add one with "
                "`ketacare identifier-systems --add NAME --label LABEL`)"
            )
        return cls(system)

    @property
    def name(self) -> str:
        return "MRN" if self.system is None else f"{self.system.label} id"

    def key(self, text: str) -> str:
        return normalise_mrn(text) if self.system is None else text.strip()

    def problem(self, key: str, text: str) -> str | None:
        if self.system is None:
            return (
                None
                if is_valid_mrn(key)
                else f"mrn: {text!r} is not a valid KetaCare MRN (KC, 7 digits, check digit)"
            )
        try:
            identifier_value_validator(key)
        except ValidationError:
            return f"mrn: {text!r} is not an id of {self.system.label}: 1 to 64 printable characters"
        return None

    def on_record(self, keys: Sequence[str]) -> dict[str, Patient]:
        """The patients on record under these keys (with what a match is checked on)."""
        fields = ("id", "mrn", "family_name_key", "date_of_birth")
        if self.system is None:
            valid = [k for k in keys if MRN_PATTERN.match(k)]
            return {p.mrn: p for p in Patient.objects.filter(mrn__in=valid).only(*fields)}
        found = PatientIdentifier.objects.filter(system=self.system, value__in=keys).select_related("patient")
        return {i.value: i.patient for i in found.only("value", *(f"patient__{f}" for f in fields))}


@dataclass
class Summary:
    matched_by: str = "MRN"
    patients_created: int = 0
    patients_matched: int = 0
    sessions: int = 0
    scores: int = 0
    sessions_on_record: int = 0
    scores_on_record: int = 0
    trials: int | None = None  # antidepressant trials (a FHIR import's; the CSV files have none)
    trials_on_record: int = 0

    def __str__(self) -> str:
        text = (
            f"Imported {self.patients_created} new patient(s) ({self.patients_matched} matched by "
            f"{self.matched_by}), {self.sessions} session(s) and {self.scores} score(s)."
        )
        if self.trials is not None:
            text += (
                f" {self.trials} antidepressant trial(s) added ({self.trials_on_record} on record already)."
            )
        if self.sessions_on_record or self.scores_on_record:
            text += (
                f" {self.sessions_on_record} session(s) and {self.scores_on_record} score(s) were on "
                "record already and are left as they are."
            )
        return text + " No alerts were raised for history."


@dataclass
class Plan:
    ids: Ids = field(default_factory=Ids)
    errors: list[RowError] = field(default_factory=list)
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)  # new patients by key
    matched: dict[str, int] = field(default_factory=dict)  # key -> existing patient id
    sessions: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    sessions_on_record: int = 0
    scores_on_record: int = 0


def _rows(name: str, text: str, required: Sequence[str], plan: Plan) -> Rows:
    return list(_csv_rows(name, text, required, plan))


def _csv_rows(
    name: str, text: str, required: Sequence[str], plan: Plan
) -> Iterator[tuple[Where, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        plan.errors.append(RowError(name, 1, f"missing column(s): {', '.join(missing)}"))
        return
    reader.fieldnames = header
    for row in reader:
        line = reader.line_num
        if None in row:
            plan.errors.append(RowError(name, line, "more values than columns"))
            continue
        values = {k: (v or "").strip() for k, v in row.items()}
        if not any(values.values()):
            continue  # a blank line
        yield (name, line), values


def _when(value: str, column: str, now: datetime.datetime) -> datetime.datetime:
    try:
        at = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{column}: {value!r} is not an ISO 8601 date and time") from None
    if timezone.is_naive(at):
        at = timezone.make_aware(at)  # the clinic's time zone
    if at > now + FUTURE_TOLERANCE:
        raise ValueError(f"{column}: {value} is in the future")
    return at


def _parse_patients(rows: Rows, plan: Plan) -> None:
    ids = plan.ids
    existing = ids.on_record([ids.key(values["mrn"]) for _, values in rows])
    for where, values in rows:
        problems = []
        mrn = ids.key(values["mrn"])
        if invalid := ids.problem(mrn, values["mrn"]):
            problems.append(invalid)
        elif mrn in plan.patients or mrn in plan.matched:
            problems.append(f"mrn: {mrn} appears twice in the file")
        for column in ("given_name", "family_name"):
            if not values[column]:
                problems.append(f"{column}: empty")
            elif len(values[column]) > 100:
                problems.append(f"{column}: longer than 100 characters")
        born = None
        try:
            born = datetime.date.fromisoformat(values["birth_date"])
            validate_date_of_birth(born)
        except ValueError:
            problems.append(f"birth_date: {values['birth_date']!r} is not an ISO 8601 date (YYYY-MM-DD)")
        except ValidationError as exc:
            problems.append(f"birth_date: {' '.join(exc.messages)}")
        sex = values["sex"].lower()
        if sex not in Sex.values:
            problems.append(f"sex: {values['sex']!r} is not one of {', '.join(Sex.values)}")
        record = existing.get(mrn)
        if record is not None and not problems:
            differs = []
            if record.family_name_key != name_key(values["family_name"]):
                differs.append("family_name")
            if record.date_of_birth != born:
                differs.append("birth_date")
            if differs:
                whose = mrn if ids.system is None else f"{ids.name} {mrn} (patient {record.mrn})"
                problems.append(
                    f"mrn: {whose} is on record with another {' and '.join(differs)}: "
                    f"check the {ids.name} before importing"
                )
        if problems:
            plan.errors += [_error(where, p) for p in problems]
        elif record is not None:
            plan.matched[mrn] = record.pk
        else:
            plan.patients[mrn] = {
                "given_name": values["given_name"],
                "family_name": values["family_name"],
                "date_of_birth": born,
                "sex": sex,
            }


def _known(mrn: str, plan: Plan, others: Mapping[str, int]) -> str | None:
    if mrn in plan.patients or mrn in plan.matched or mrn in others:
        return None
    return f"mrn: {mrn} is neither in the patients file nor on record"


def _who_and_when(
    values: Mapping[str, str],
    plan: Plan,
    others: Mapping[str, int],
    now: datetime.datetime,
    problems: list[str],
) -> tuple[str, datetime.datetime | None]:
    """The row's patient (in the file or on record) and time, noting what is wrong with them."""
    mrn = plan.ids.key(values["mrn"])
    if unknown := _known(mrn, plan, others):
        problems.append(unknown)
    try:
        return mrn, _when(values["datetime"], "datetime", now)
    except ValueError as exc:
        problems.append(str(exc))
        return mrn, None


def _parse_sessions(rows: Rows, plan: Plan, others: Mapping[str, int], now: datetime.datetime) -> None:
    protocols = protocol_rules.current()
    seen: set[tuple[str, datetime.datetime]] = set()
    for where, values in rows:
        problems: list[str] = []
        mrn, at = _who_and_when(values, plan, others, now, problems)
        route = values["route"]
        if route not in TreatmentRoute.__members__.values():
            problems.append(f"route: {route!r} is not one of {', '.join(r.value for r in TreatmentRoute)}")
        dose = None
        try:
            dose = Decimal(values["dose_mg"])
            if not dose.is_finite() or dose <= 0:
                raise InvalidOperation
        except InvalidOperation:
            problems.append(f"dose_mg: {values['dose_mg']!r} is not a dose in mg above 0")
        if dose is not None and route in TreatmentRoute.__members__.values():
            protocol = protocols[ROUTE_PROTOCOL[TreatmentRoute(route)]]
            if route == TreatmentRoute.ESKETAMINE:
                if dose not in ESKETAMINE_DOSES_MG and dose != ESKETAMINE_DEVICE_MG:
                    problems.append(f"dose_mg: {dose} mg is not an esketamine dose (28, 56 or 84 mg)")
            elif protocol.max_mg_per_kg is not None and dose > protocol.max_mg_per_kg * MAX_WEIGHT_KG:
                problems.append(
                    f"dose_mg: {dose} mg is more than {protocol.max_mg_per_kg} mg/kg at {MAX_WEIGHT_KG} kg"
                )
        if at is not None and (mrn, at) in seen:
            problems.append(f"datetime: a second session for {mrn} at {values['datetime']}")
        if problems or at is None or dose is None:
            plan.errors += [_error(where, p) for p in problems]
            continue
        seen.add((mrn, at))
        plan.sessions.append({"where": where, "mrn": mrn, "at": at, "route": route, "dose_mg": dose})


def _parse_scores(rows: Rows, plan: Plan, others: Mapping[str, int], now: datetime.datetime) -> None:
    seen: set[tuple[str, str, datetime.datetime]] = set()
    for where, values in rows:
        problems: list[str] = []
        mrn, at = _who_and_when(values, plan, others, now, problems)
        code = values["instrument"].lower()
        context = values.get("context") or Context.FOLLOW_UP
        if context not in Context.values:
            problems.append(f"context: {context!r} is not one of {', '.join(Context.values)}")
        fields = None
        if code not in instruments.CODES:
            problems.append(
                f"instrument: {values['instrument']!r} is not one of {', '.join(instruments.CODES)}"
            )
        else:
            try:
                fields = _score(code, values)
            except ValueError as exc:
                problems.append(str(exc))
        if at is not None and (mrn, code, at) in seen:
            problems.append(f"datetime: a second {code} for {mrn} at {values['datetime']}")
        if problems or at is None or fields is None:
            plan.errors += [_error(where, p) for p in problems]
            continue
        seen.add((mrn, code, at))
        plan.scores.append({"where": where, "mrn": mrn, "at": at, "code": code, "context": context, **fields})


def _score(code: str, values: Mapping[str, str]) -> dict[str, Any]:
    """Scored as at live entry: item answers (option positions, as `ketacare score` takes them)
    through the scale's own scoring; a total alone is checked against the scale's range."""
    scale = instruments.get(code)
    item_columns = [f"item{n}" for n in range(1, len(scale.items) + 1)]
    given = [values.get(c, "") for c in item_columns]
    total_text = values.get("total", "")
    if any(given):
        try:
            fields = scored(scale, parse_answers(",".join(given)))
        except instruments.ScoringError as exc:
            raise ValueError(f"items: {exc}") from None
        if fields["total"] is None:
            raise ValueError(f"items: {code} cannot be scored: {scale.score(fields['answers']).note}")
        if total_text and total_text != str(fields["total"]):
            raise ValueError(f"total: {total_text} differs from the items' total of {fields['total']}")
        return fields
    if not total_text:
        raise ValueError(f"total: empty, and no item answers ({item_columns[0]}..{item_columns[-1]})")
    if not total_text.isdecimal() or int(total_text) > scale.max_total:
        raise ValueError(
            f"total: {total_text!r} is not a whole number from 0 to {scale.max_total} ({scale.name})"
        )
    return scored_total(scale, int(total_text))


def _read(path: Path, plan: Plan) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        plan.errors.append(RowError(path.name, 0, f"cannot read the file: {exc.strerror}"))
    except UnicodeDecodeError:
        plan.errors.append(RowError(path.name, 0, "not UTF-8 text"))
    return ""


def check(
    patients: Path,
    sessions: Path,
    scores: Path,
    *,
    ids: Ids | None = None,
    now: datetime.datetime | None = None,
) -> Plan:
    """Read and check every row; nothing is written."""
    plan = Plan(ids=ids or Ids())
    texts = [_read(p, plan) for p in (patients, sessions, scores)]
    if plan.errors:
        return plan
    rows = [
        _rows(path.name, text, columns, plan)
        for path, text, columns in zip(
            (patients, sessions, scores),
            texts,
            (PATIENT_COLUMNS, SESSION_COLUMNS, SCORE_COLUMNS),
            strict=True,
        )
    ]
    return check_rows(*rows, plan=plan, now=now)


def check_rows(
    patients: Rows, sessions: Rows, scores: Rows, *, plan: Plan, now: datetime.datetime | None = None
) -> Plan:
    """Check rows of patients, sessions and scores, however they were read (CSV lines, FHIR
    resources), into `plan`; nothing is written."""
    now = now or timezone.now()
    _parse_patients(patients, plan)
    mentioned = {plan.ids.key(values["mrn"]) for _, values in [*sessions, *scores]}
    others = {key: p.pk for key, p in plan.ids.on_record(sorted(mentioned)).items()}
    _parse_sessions(sessions, plan, others, now)
    _parse_scores(scores, plan, others, now)
    if not plan.errors:
        _check_against_record(plan, others)
    return plan


def _check_against_record(plan: Plan, others: Mapping[str, int]) -> None:
    """A session or score already on record is left as it is, never doubled: a row that matches
    it is dropped from the plan (a second import of the same files adds nothing), and a row that
    contradicts it (another route, another total at the same time) is refused."""
    ids = {**others, **plan.matched}
    known = set(ids.values())
    if not known:
        return
    routes: dict[tuple[int | None, Any], str] = {
        (pid, at): route
        for pid, at, route in TreatmentSession.objects.filter(
            patient_id__in=known, dose_started_at__isnull=False
        ).values_list("patient_id", "dose_started_at", "route")
    }
    new_sessions = []
    for s in plan.sessions:
        route = routes.get((ids.get(s["mrn"]), s["at"]))
        if route is None:
            new_sessions.append(s)
        elif route == s["route"]:
            plan.sessions_on_record += 1
        else:
            plan.errors.append(
                _error(
                    s["where"],
                    f"route: {s['mrn']} has a session on record at this time by route {route}, "
                    f"not {s['route']}",
                )
            )
    totals = {
        (pid, code, at): total
        for pid, code, at, total in QuestionnaireResponse.objects.filter(patient_id__in=known).values_list(
            "patient_id", "instrument", "administered_at", "total"
        )
    }
    new_scores = []
    for c in plan.scores:
        key = (ids.get(c["mrn"]), c["code"], c["at"])
        if key not in totals:
            new_scores.append(c)
        elif totals[key] == c["total"]:
            plan.scores_on_record += 1
        else:
            plan.errors.append(
                _error(
                    c["where"],
                    f"total: {c['mrn']} has a {c['code']} of {totals[key]} on record at this time, "
                    f"not {c['total']}",
                )
            )
    plan.sessions, plan.scores = new_sessions, new_scores


def history_import(
    *, actor: Actor, patients: Path, sessions: Path, scores: Path, source: str | None = None
) -> Summary:
    """Import the history in one transaction, then bring the outcomes of the patients it touched
    up to date (in a transaction of their own: a failure there never undoes the import).
    `source`: the identifier system whose ids the files' `mrn` column holds (None: KetaCare MRNs);
    an unknown one raises UnknownSource."""
    ids = Ids.of(source)
    summary = plan_import(
        actor=actor, plan=lambda: check(patients, sessions, scores, ids=ids), label="import-history"
    )
    outcome_changes.catch_up()
    return summary


@transaction.atomic
def plan_import(
    *,
    actor: Actor,
    plan: Callable[[], Plan],
    label: str,
    then: Callable[[Mapping[str, int], Summary], None] | None = None,
) -> Summary:
    """Check everything (`plan`, run inside this transaction, so nothing it read changes before
    the writes), then write everything in this one transaction; raises ImportRejected listing
    every bad row (nothing written) when any row is bad. One audit event per patient: registered
    (with the history it brought), or matched and given history. The caller catches the
    outcomes up afterwards. `then`: more to write in this transaction, given the patients' ids
    by key (it raises ImportRejected to undo everything)."""
    checked = plan()
    if checked.errors:
        raise ImportRejected(checked.errors)
    summary, patient_ids = _write(actor, checked, label)
    if then is not None:
        then(patient_ids, summary)
    return summary


def _write(actor: Actor, plan: Plan, label: str) -> tuple[Summary, dict[str, int]]:
    ids = plan.ids
    summary = Summary(
        matched_by=ids.name,
        patients_matched=len(plan.matched),
        sessions_on_record=plan.sessions_on_record,
        scores_on_record=plan.scores_on_record,
    )
    patient_ids = dict(plan.matched)
    created = _create_patients(plan.patients, ids)
    patient_ids.update(created)
    rows = plan.sessions + plan.scores
    patient_ids.update(
        {k: p.pk for k, p in ids.on_record(sorted({r["mrn"] for r in rows} - set(patient_ids))).items()}
    )
    summary.patients_created = len(created)
    summary.sessions = _create_sessions(plan.sessions, patient_ids)
    summary.scores = _create_scores(plan.scores, patient_ids)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"sessions": 0, "scores": 0})
    for pid in created.values():
        counts[pid]  # noqa: B018 - a registered patient has its event, with or without history
    for s in plan.sessions:
        counts[patient_ids[s["mrn"]]]["sessions"] += 1
    for c in plan.scores:
        counts[patient_ids[c["mrn"]]]["scores"] += 1
    source = {"source": label} | ({"system": ids.system.name} if ids.system else {})
    new = set(created.values())
    audit_record_many(
        actor=actor,
        specs=[
            EventSpec(Action.CREATE, "patients.patient", str(pid), pid, {**source, **n})
            if pid in new
            else EventSpec(Action.CREATE, "history", "", pid, {**source, **n})
            for pid, n in sorted(counts.items())
        ],
    )
    return summary, patient_ids


def _create_patients(new: Mapping[str, dict[str, Any]], ids: Ids) -> dict[str, int]:
    """Register the new patients: under the MRN their file gives, or (another system's ids) under
    new MRNs, keeping each one's id. Returns their ids by key."""
    if ids.system is None:
        return patients_import(new)
    mrns = dict(zip(new, mrn_allocate(count=len(new)), strict=True)) if new else {}
    by_mrn = patients_import({mrns[key]: details for key, details in new.items()})
    created = {key: by_mrn[mrns[key]] for key in new}
    identifiers_import(ids.system, created)
    return created


def _create_sessions(rows: Sequence[Mapping[str, Any]], ids: Mapping[str, int]) -> int:
    return sessions_import(
        [
            {
                "patient_id": ids[r["mrn"]],
                "at": r["at"],
                "route": r["route"],
                "protocol": ROUTE_PROTOCOL[TreatmentRoute(r["route"])].value,
                "dose_mg": r["dose_mg"],
            }
            for r in rows
        ]
    )


def _create_scores(rows: Sequence[Mapping[str, Any]], ids: Mapping[str, int]) -> int:
    return responses_import(
        [
            {
                "patient_id": ids[r["mrn"]],
                "instrument": r["code"],
                "context": r["context"],
                "administered_at": r["at"],
                **{name: r[name] for name in SCORED_FIELDS},
            }
            for r in rows
        ]
    )

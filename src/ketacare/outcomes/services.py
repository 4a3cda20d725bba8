"""Keeping each treated patient's stored outcomes current: an explicit projection.

A clinical write that changes what an outcome depends on calls `mark_changed` inside its own
transaction (one insert). `catch_up` recomputes the marked patients, in a transaction of its own,
and is called by the outcome pages before they read, by the import and the demo after bulk loads,
and by `ketacare outcomes --refresh` (on a timer in deployment: docs/deployment.md). When the
clinic's outcome settings changed since the last full recomputation, it recomputes every patient.
A failure is logged and kept on `OutcomeState` for the dashboard to show; the marks stay, so the
next catch-up tries again, and no clinical write ever waits on or is lost by it.

`refresh` recomputes the outcomes of some patients (or all) from their scores, treatments,
primary diagnosis and antidepressant trials, in one columnar pass per scale, and replaces their
rows. Derived data: it writes no audit event of its own; the changes it follows are audited where
they are made."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction
from django.db.models import Exists, FloatField, Func
from django.utils import timezone

from ketacare.bulk import bulk_insert
from ketacare.clinical import instruments
from ketacare.clinical import outcomes as rules_of
from ketacare.clinical.outcomes import OUTCOME_SCALES, CohortOutcomes, ScoreColumns, TreatmentColumns
from ketacare.measures.models import Context, QuestionnaireResponse
from ketacare.outcomes import rules
from ketacare.outcomes.models import OutcomeChange, OutcomeState, PatientOutcome
from ketacare.patients.models import Diagnosis, Patient
from ketacare.screening.models import AntidepressantTrial
from ketacare.sessions.models import TreatmentSession

log = logging.getLogger(__name__)
BATCH_PATIENTS = 5000
SECONDS_PER_DAY = rules_of.SECONDS_PER_DAY


class Epoch(Func):
    """A timestamp as seconds since 1970-01-01 UTC (float), computed by the database."""

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)", **extra
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra
        )


def _rows(query: Any) -> list[tuple[Any, ...]]:
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _treatments(patient_ids: Sequence[int] | None) -> TreatmentColumns:
    qs = TreatmentSession.objects.filter(dose_started_at__isnull=False)
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
    rows = _rows(
        qs.order_by("patient_id", "dose_started_at", "id").values_list(
            "patient_id", Epoch("dose_started_at"), "route", "protocol"
        )
    )
    sizes = rules.course_sizes()
    protocol = np.array([r[3] for r in rows], dtype=object)
    return TreatmentColumns(
        patient=np.array([r[0] for r in rows], dtype=np.int64),
        at=np.array([r[1] for r in rows], dtype=np.float64),
        route=np.array([r[2] for r in rows], dtype=object),
        protocol=protocol,
        course_size=np.array([sizes.get(p, 1) for p in protocol], dtype=np.int64),
    )


EMPTY_SCORES = ScoreColumns(
    np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int64)
)


def _scores(patient_ids: Sequence[int]) -> dict[str, tuple[ScoreColumns, npt.NDArray[np.object_]]]:
    """Each outcome scale's scored totals of these patients, with each score's context."""
    rows = _rows(
        QuestionnaireResponse.objects.filter(
            patient_id__in=patient_ids, instrument__in=OUTCOME_SCALES, total__isnull=False
        )
        .order_by("patient_id", "instrument", "administered_at", "id")
        .values_list("instrument", "patient_id", Epoch("administered_at"), "total", "context")
    )
    out: dict[str, tuple[ScoreColumns, npt.NDArray[np.object_]]] = {}
    if not rows:
        return out
    code, patient, at, total, context = zip(*rows, strict=True)
    code_a = np.array(code, dtype=object)
    patient_a = np.array(patient, dtype=np.int64)
    at_a = np.array(at, dtype=np.float64)
    total_a = np.array(total, dtype=np.int64)
    context_a = np.array(context, dtype=object)
    for scale in OUTCOME_SCALES:
        mask = code_a == scale
        if mask.any():
            contexts = context_a[mask]
            out[scale] = (
                ScoreColumns(patient_a[mask], at_a[mask], total_a[mask], contexts == Context.POST_SESSION),
                contexts,
            )
    return out


def _weeks_on_trials(patient_ids: Sequence[int], first_at: dict[int, float]) -> dict[int, float]:
    rows = list(
        AntidepressantTrial.objects.filter(
            patient_id__in=patient_ids, struck_out_at__isnull=True, current_episode=True
        ).values_list("patient_id", "started_on", "stopped_on")
    )
    if not rows:
        return {}
    cutoff = {
        pid: datetime.datetime.fromtimestamp(at, datetime.UTC).date().toordinal()
        for pid, at in first_at.items()
    }
    far = datetime.date.max.toordinal()
    patients, weeks = rules_of.weeks_on_trials_before(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1].toordinal() for r in rows], dtype=np.int64),
        np.array([(r[2].toordinal() if r[2] else far) for r in rows], dtype=np.int64),
        np.array([cutoff.get(r[0], 0) for r in rows], dtype=np.int64),
    )
    return dict(zip(patients.tolist(), weeks.tolist(), strict=True))


FIELDS = (
    "patient",
    "instrument",
    "rules_version",
    "condition",
    "first_treatment_at",
    "period",
    "route",
    "protocol",
    "treatments",
    "baseline_total",
    "baseline_at",
    "baseline_context",
    "same_day_total",
    "same_day_response",
    "same_day_remission",
    "first_total",
    "first_response",
    "first_remission",
    "week_total",
    "week_response",
    "week_remission",
    "course_end_at",
    "course_total",
    "course_response",
    "course_remission",
    "first_due_at",
    "week_due_at",
    "course_due_at",
    "first_days",
    "week_days",
    "course_days",
    "excluded_first",
    "excluded_week",
    "excluded_course",
    "days_to_response",
    "first_response_at",
    "relapse_at",
    "days_responding",
    "relapsed",
    "latest_total",
    "latest_at",
    "trend",
    "weeks_on_trials",
)


def _times(seconds: npt.NDArray[np.float64]) -> list[datetime.datetime | None]:
    utc = datetime.UTC
    return [None if x != x else datetime.datetime.fromtimestamp(x, utc) for x in seconds.tolist()]


def _totals(values: npt.NDArray[np.int64]) -> list[int | None]:
    return [None if x < 0 else x for x in values.tolist()]


def _days(seconds: npt.NDArray[np.float64]) -> list[float | None]:
    return [None if x != x else round(x / SECONDS_PER_DAY, 4) for x in seconds.tolist()]


def _flags(values: npt.NDArray[np.bool_], counted: npt.NDArray[np.bool_]) -> list[bool | None]:
    return [v if c else None for v, c in zip(values.tolist(), counted.tolist(), strict=True)]


def _quarters(times: list[datetime.datetime | None]) -> list[str]:
    """The quarter of each time in the clinic's time zone: "2026 Q3"."""
    zone = timezone.get_current_timezone()
    out = []
    for at in times:
        local = at.astimezone(zone) if at else None
        out.append(f"{local.year} Q{(local.month - 1) // 3 + 1}" if local else "")
    return out


def _table_rows(
    code: str,
    result: CohortOutcomes,
    contexts: npt.NDArray[np.object_],
    *,
    version: str,
    conditions: dict[int, str],
    weeks: dict[int, float],
) -> list[tuple[Any, ...]]:
    """The rows to store, built column by column (no per-row numpy indexing)."""
    remission_max = instruments.get(code).remission_max
    response = rules_of.response_rule(code, rules.current())
    n = len(result)
    patients = result.patient.tolist()
    first = _times(result.first_treatment_at)
    points: list[list[Any]] = []
    for point in ("first", "week", "course"):
        totals = getattr(result, f"{point}_total")
        counted = (getattr(result, f"excluded_{point}") == "") & (totals >= 0)
        remission = rules_of.is_remission(totals, remission_max)
        points += [
            _totals(totals),
            _flags(rules_of.is_response(result.baseline_total, totals, rule=response), counted),
            _flags(remission, counted & (remission_max is not None)),
        ]
    responded = ~np.isnan(result.first_response_at)
    usable = (result.baseline_total > 0) & (result.same_day_total >= 0)
    same_day: list[list[Any]] = [
        _totals(result.same_day_total),
        _flags(rules_of.is_response(result.baseline_total, result.same_day_total, rule=response), usable),
        _flags(
            rules_of.is_remission(result.same_day_total, remission_max), usable & (remission_max is not None)
        ),
    ]
    base_row = result.baseline_row
    baseline_context = np.where(base_row >= 0, contexts[np.maximum(base_row, 0)] if len(contexts) else "", "")
    columns: list[list[Any]] = [
        patients,
        [code] * n,
        [version] * n,
        [conditions.get(pid, "") for pid in patients],
        first,
        _quarters(first),
        result.route.tolist(),
        result.protocol.tolist(),
        result.treatments.tolist(),
        _totals(result.baseline_total),
        _times(result.baseline_at),
        baseline_context.tolist(),
        *same_day,
        *points[0:3],
        *points[3:6],
        _times(result.course_end_at),
        *points[6:9],
        _times(result.first_due_at),
        _times(result.week_due_at),
        _times(result.course_due_at),
        _days(result.first_at - result.first_treatment_at),
        _days(result.week_at - result.first_treatment_at),
        _days(result.course_at - result.course_end_at),
        result.excluded_first.tolist(),
        result.excluded_week.tolist(),
        result.excluded_course.tolist(),
        _days(result.first_response_at - result.first_treatment_at),
        _times(result.first_response_at),
        _times(result.relapse_at),
        _days(result.followed_to - result.first_response_at),
        _flags(~np.isnan(result.relapse_at), responded),
        _totals(result.latest_total),
        _times(result.latest_at),
        result.trend.tolist(),
        [weeks.get(pid) for pid in patients],
    ]
    return list(zip(*columns, strict=True))


def _batches(patient_ids: Iterable[int] | None) -> Iterator[list[int]]:
    if patient_ids is None:
        ids = list(
            TreatmentSession.objects.filter(dose_started_at__isnull=False)
            .order_by("patient_id")
            .values_list("patient_id", flat=True)
            .distinct()
        )
    else:
        ids = sorted(set(patient_ids))
    for start in range(0, len(ids), BATCH_PATIENTS):
        yield ids[start : start + BATCH_PATIENTS]


@transaction.atomic
def refresh(patient_ids: Iterable[int] | None = None) -> int:
    """Recompute the stored outcomes of these patients (None: every patient ever treated).
    Returns the number of rows written."""
    version = rules.version()
    outcome_rules = rules.current()
    written = 0
    if patient_ids is None:
        PatientOutcome.objects.all().delete()
    for batch in _batches(patient_ids):
        if patient_ids is not None:
            PatientOutcome.objects.filter(patient_id__in=batch).delete()
        treatments = _treatments(batch)
        if len(treatments.patient) == 0:
            continue
        patients, first_rows = np.unique(treatments.patient, return_index=True)
        treated = patients.tolist()
        first_seconds = dict(zip(treated, treatments.at[first_rows].tolist(), strict=True))
        conditions = dict(
            Diagnosis.objects.filter(patient_id__in=treated, is_primary=True).values_list(
                "patient_id", "code"
            )
        )
        weeks = _weeks_on_trials(treated, first_seconds)
        scored = _scores(treated)
        for code in OUTCOME_SCALES:
            # Every scale for every treated patient, scored or not, so a patient's rows are the
            # same whether recomputed alone or with the whole clinic.
            scores, contexts = scored.get(code, (EMPTY_SCORES, np.zeros(0, dtype=object)))
            result = rules_of.evaluate(
                scores,
                treatments,
                instrument=code,
                remission_max=instruments.get(code).remission_max,
                rules=outcome_rules,
            )
            written += bulk_insert(
                PatientOutcome,
                FIELDS,
                _table_rows(code, result, contexts, version=version, conditions=conditions, weeks=weeks),
            )
    if patient_ids is None:
        OutcomeState.objects.update_or_create(
            pk=1, defaults={"rules_version": version, "refreshed_at": timezone.now()}
        )
    return written


@transaction.atomic
def rebuild() -> int:
    """Recompute every stored outcome now and clear the marks (`ketacare outcomes --rebuild`)."""
    last = OutcomeChange.objects.order_by("-id").values_list("id", flat=True).first()
    written = refresh()
    if last is not None:
        OutcomeChange.objects.filter(id__lte=last).delete()
    return written


def mark_changed(patient_ids: Iterable[int]) -> None:
    """Mark these patients' outcomes out of date. Called by the clinical writes (scores, dose
    starts, primary diagnoses, antidepressant trials) inside their own transactions: one insert,
    nothing that can fail on the outcome rules."""
    OutcomeChange.objects.bulk_create([OutcomeChange(patient_id=pid) for pid in set(patient_ids)])


@dataclass(frozen=True)
class CatchUp:
    patients: int  # patients recomputed (every treated patient on a full rebuild)
    rebuilt: bool  # the settings changed: every stored outcome was recomputed
    failure: str = ""  # why it failed (the marks stay for the next catch-up)


def catch_up() -> CatchUp:
    """Recompute the patients marked changed (every patient, if the clinic's settings changed
    since the last full recomputation), in one transaction of its own. Two catch-ups racing
    recompute each mark once: they take turns on the state row's lock (PostgreSQL) or SQLite's
    write lock (its transactions begin IMMEDIATE). Never raises:
    a failure is logged and recorded for the dashboard, and the marks stay. With nothing to do,
    one read and no lock."""
    try:
        version = rules.version()
        current = (
            OutcomeState.objects.filter(pk=1)
            .annotate(pending=Exists(OutcomeChange.objects.all()))
            .values_list("rules_version", "failure", "pending")
            .first()
        )
        if current == (version, "", False):
            return CatchUp(0, False)
        with transaction.atomic():
            result = _catch_up()
    except Exception as exc:  # noqa: BLE001 - any failure must leave the clinical data alone
        return _failed(exc)
    return result


def catch_up_patient(patient_id: int) -> CatchUp:
    """Bring one patient's outcomes up to date (the chart): their marks, or rows computed under
    other settings; the clinic-wide rebuild after a settings change is left to `catch_up`. One
    query when there is nothing to do. Never raises, as `catch_up`."""
    try:
        version = rules.version()
        changed = OutcomeChange.objects.filter(patient_id=patient_id)
        stale = PatientOutcome.objects.filter(patient_id=patient_id).exclude(rules_version=version)
        todo = (
            Patient.objects.filter(pk=patient_id)
            .annotate(changed=Exists(changed), stale=Exists(stale))
            .values_list("changed", "stale")
            .first()
        )
        if todo is None or not any(todo):
            return CatchUp(0, False)
        with transaction.atomic():
            last = changed.order_by("-id").values_list("id", flat=True).first()
            refresh([patient_id])
            if last is not None:
                changed.filter(id__lte=last).delete()
    except Exception as exc:  # noqa: BLE001 - any failure must leave the clinical data alone
        return _failed(exc)
    return CatchUp(1, False)


def _failed(exc: Exception) -> CatchUp:
    """Log a failed catch-up and record it for the dashboard; the marks stay."""
    log.error("Outcome catch-up failed", exc_info=exc)
    failure = f"{type(exc).__name__}: {exc}"
    with transaction.atomic():
        state, _ = OutcomeState.objects.get_or_create(
            pk=1, defaults={"rules_version": "", "refreshed_at": timezone.now()}
        )
        state.failed_at = timezone.now()
        state.failure = failure[:2000]
        state.save(update_fields=["failed_at", "failure"])
    return CatchUp(0, False, failure)


def _catch_up() -> CatchUp:
    version = rules.version()  # raises on a malformed setting: recorded by catch_up
    now = timezone.now()
    OutcomeState.objects.get_or_create(pk=1, defaults={"rules_version": "", "refreshed_at": now})
    # The state row's lock makes catch-ups take turns (PostgreSQL; SQLite's IMMEDIATE
    # transactions already do): the second finds the marks the first deleted gone.
    state = OutcomeState.objects.select_for_update().get(pk=1)
    if state.rules_version != version:
        rebuild()  # writes the state row with this version
        OutcomeState.objects.filter(pk=1).update(caught_up_at=now, failure="", failed_at=None)
        return CatchUp(PatientOutcome.objects.values("patient_id").distinct().count(), True)
    claimed = list(OutcomeChange.objects.order_by("id").values_list("id", "patient_id"))
    if claimed:
        refresh(sorted({pid for _, pid in claimed}))
        OutcomeChange.objects.filter(id__in=[i for i, _ in claimed]).delete()
    if claimed or state.failure:
        OutcomeState.objects.filter(pk=1).update(caught_up_at=now, failure="", failed_at=None)
    return CatchUp(len({pid for _, pid in claimed}), False)


def state() -> OutcomeState | None:
    """The projection's state, for the pages: when it was last brought up to date, and the last
    failure (empty once a catch-up succeeds). One primary-key read."""
    return OutcomeState.objects.filter(pk=1).first()

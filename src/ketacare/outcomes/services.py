"""Keeping each treated patient's stored outcomes current.

`refresh` recomputes the outcomes of some patients (or all) from their scores, treatments,
primary diagnosis and antidepressant trials, in one columnar pass per scale, and replaces their
rows. It runs in the transaction of every change it depends on (signals.py) and after bulk loads
(the demo, the history import). Derived data: it writes no audit event of its own; the changes it
follows are audited where they are made."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction
from django.db.models import FloatField, Func
from django.utils import timezone

from ketacare.bulk import bulk_insert
from ketacare.clinical import instruments
from ketacare.clinical import outcomes as rules_of
from ketacare.clinical.outcomes import OUTCOME_SCALES, CohortOutcomes, ScoreColumns, TreatmentColumns
from ketacare.measures.models import QuestionnaireResponse
from ketacare.outcomes import rules
from ketacare.outcomes.models import OutcomeState, PatientOutcome
from ketacare.patients.models import Diagnosis
from ketacare.screening.models import AntidepressantTrial
from ketacare.sessions.models import TreatmentSession

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


def _scores(patient_ids: Sequence[int]) -> dict[str, ScoreColumns]:
    rows = _rows(
        QuestionnaireResponse.objects.filter(
            patient_id__in=patient_ids, instrument__in=OUTCOME_SCALES, total__isnull=False
        )
        .order_by("patient_id", "instrument", "administered_at", "id")
        .values_list("instrument", "patient_id", Epoch("administered_at"), "total")
    )
    out: dict[str, ScoreColumns] = {}
    if not rows:
        return out
    code = np.array([r[0] for r in rows], dtype=object)
    patient = np.array([r[1] for r in rows], dtype=np.int64)
    at = np.array([r[2] for r in rows], dtype=np.float64)
    total = np.array([r[3] for r in rows], dtype=np.int64)
    for scale in OUTCOME_SCALES:
        mask = code == scale
        if mask.any():
            out[scale] = ScoreColumns(patient[mask], at[mask], total[mask])
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
        *points[0:3],
        *points[3:6],
        _times(result.course_end_at),
        *points[6:9],
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
        for code, scores in _scores(treated).items():
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
                _table_rows(code, result, version=version, conditions=conditions, weeks=weeks),
            )
    if patient_ids is None:
        OutcomeState.objects.update_or_create(
            pk=1, defaults={"rules_version": version, "refreshed_at": timezone.now()}
        )
    return written


def refresh_stale() -> int:
    """Recompute every stored outcome if the clinic's settings changed since the last full
    recomputation (or there has been none). One primary-key read when nothing changed."""
    state = OutcomeState.objects.filter(pk=1).values_list("rules_version", flat=True).first()
    if state != rules.version():
        return refresh()
    return 0

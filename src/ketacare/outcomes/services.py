"""Keeping each treated patient's stored outcomes current: an explicit projection.

A clinical write that changes what an outcome depends on calls `patients.services.record_changed`
inside its own transaction (one insert of a `patients.RecordChange`). `catch_up` recomputes the
marked patients, in a transaction of its own, and is called by the outcome pages before they
read, by the import and the demo after bulk loads, and by `ketacare outcomes --refresh` (on a
timer in deployment: docs/deployment.md). When the clinic's outcome settings changed since the
last full recomputation, it recomputes every patient.
A failure is logged and kept on `OutcomeState` for the dashboard to show; the marks stay, so the
next catch-up tries again, and no clinical write ever waits on or is lost by it.

`refresh` recomputes the outcomes of some patients (or all) from their scores, treatments,
primary diagnosis and antidepressant trials, in one columnar pass per scale, and replaces their
rows. Derived data: it writes no audit event of its own; the changes it follows are audited where
they are made."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from django.db import connection, models, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from ketacare.bulk import bulk_insert, db_datetimes
from ketacare.clinical import instruments
from ketacare.clinical import outcomes as rules_of
from ketacare.clinical.outcomes import (
    OUTCOME_SCALES,
    CohortOutcomes,
    Excluded,
    OutcomeRules,
    ScoreColumns,
    TreatmentColumns,
)
from ketacare.measures.models import Context, QuestionnaireResponse
from ketacare.outcomes import rules
from ketacare.outcomes.models import (
    GROUP_INDEXES,
    OutcomeState,
    PatientOutcome,
    TreatedPatient,
)
from ketacare.patients.models import Diagnosis, Patient, RecordChange
from ketacare.screening.models import AntidepressantTrial
from ketacare.sessions.models import TreatmentSession
from ketacare.treatment.models import PROTOCOL_CHOICES, ROUTE_CHOICES

log = logging.getLogger(__name__)
Row = TypeVar("Row")
BATCH_PATIENTS = 5000
SECONDS_PER_DAY = rules_of.SECONDS_PER_DAY


class Epoch(Func):
    """A timestamp as seconds since 1970-01-01 UTC (float), computed by the database."""

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            # Whole seconds, then the microseconds from the stored text ("YYYY-MM-DD HH:MM:SS.ffffff",
            # none when 0): exact to the microsecond, where julianday's day fraction is not (about
            # 20 microseconds off). Used on columns only (the expression stands twice).
            compiler,
            connection,
            template=(
                "(unixepoch(%(expressions)s) + CAST(substr(%(expressions)s, 21, 6) AS INTEGER) / 1000000.0)"
            ),
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            # date_part gives double precision directly (EXTRACT gives numeric, far slower); the
            # session's time zone is UTC (Django's), so a date counts from its UTC midnight.
            compiler,
            connection,
            template="date_part('epoch', %(expressions)s)",
            **extra,
        )


class Instant(Epoch):
    """A datetime column as epoch seconds, read by `_columns` (declare its dtype `INSTANT`).
    PostgreSQL computes the seconds (`Epoch`). SQLite sends its stored text as it is, padded to one
    width ("YYYY-MM-DD HH:MM:SS.ffffff": the microseconds are left out when 0), and numpy parses
    it: SQLite's own date arithmetic on millions of rows costs more than half their read. Read only
    through `_columns` (Django would take SQLite's text for a float)."""

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        padded = f"substr(%(expressions)s || '.000000', 1, {INSTANT_WIDTH})"
        return self.as_sql(compiler, connection, template=padded, **extra)


INSTANT = np.dtype("datetime64[us]")  # `_columns`' dtype of an `Instant` column (read as float seconds)
INSTANT_WIDTH = 26


def coded(field: str, values: Sequence[str]) -> Case:
    """A text column as its value's position in `values` (-1 for any other), computed by the
    database: a small integer per row is far cheaper to read than a string."""
    return Case(
        *(When(**{field: value}, then=Value(i)) for i, value in enumerate(values)),
        default=Value(-1),
        output_field=IntegerField(),
    )


# Columns packed into one integer by the database: reading a clinic's millions of rows costs a
# Python object per value, so fewer values a row make the full recomputation's reads about a
# third faster. A row's id (patient or session) comes first, then small codes (`coded`: -1 to 14,
# 4 bits each), then a score's total (10 bits).
CODE_BITS = 4
TOTAL_BITS = 10  # totals 0 to 1023: the largest scale total is 92 (CADSS)


def _packed(first: str, codes: Sequence[Case], total: str | None = None) -> Any:
    # bigint from the start: a patient id shifted by the codes' bits outgrows a 32-bit integer.
    packed: Any = Cast(first, BigIntegerField())
    for code in codes:
        packed = packed * (1 << CODE_BITS) + code + 1
    if total is not None:
        packed = packed * (1 << TOTAL_BITS) + F(total)
    return ExpressionWrapper(packed, output_field=BigIntegerField())


def _unpacked(
    packed: npt.NDArray[np.int64], codes: int
) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.int8]]]:
    """`_packed`'s first column and its codes in order (a total taken off first: `_total`)."""
    rest = packed.copy()
    unpacked: list[npt.NDArray[np.int8]] = []
    for _ in range(codes):
        unpacked.insert(0, (rest & ((1 << CODE_BITS) - 1)).astype(np.int8) - 1)
        rest >>= CODE_BITS
    return rest, unpacked


def _total(packed: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """A packed score's total, and the rest of it for `_unpacked`."""
    return packed & ((1 << TOTAL_BITS) - 1), packed >> TOTAL_BITS


def _columns(query: Any, dtypes: Sequence[Any]) -> list[npt.NDArray[Any]]:
    """The query's result (numbers only, never NULL: texts come `coded`) as one numpy array per
    column, filled straight from the driver: no Python list of a clinic's millions of rows is
    kept, and no Python step of Django's is added to each row."""
    sql, params = query.query.sql_with_params()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            return _postgresql_columns(sql, params, dtypes)
        return _sqlite_columns(sql, params, dtypes)


STREAM_ROWS = 20_000  # rows per chunk PostgreSQL sends while the previous chunk is converted


def _postgresql_columns(sql: str, params: Sequence[Any], dtypes: Sequence[Any]) -> list[npt.NDArray[Any]]:
    """PostgreSQL's side of `_columns`: binary rows streamed in chunks, so the server reads the
    next chunk while this process converts the last (Django's client-side cursor sends text, all
    at once). The server's scan is most of the time: a binary COPY of the rows, or of each column
    gathered into one array, read no faster."""
    import psycopg

    table_type = np.dtype(
        [(f"c{i}", np.float64 if dtype == INSTANT else dtype) for i, dtype in enumerate(dtypes)]
    )
    with psycopg.Cursor(connection.connection) as cursor:
        rows = cursor.stream(sql, params, binary=True, size=STREAM_ROWS)
        table = np.fromiter(rows, dtype=table_type)
    return [np.ascontiguousarray(table[name]) for name in table_type.names or ()]


MICROSECONDS = 1_000_000


def _sqlite_columns(sql: str, params: Sequence[Any], dtypes: Sequence[Any]) -> list[npt.NDArray[Any]]:
    """SQLite's side of `_columns`: each column comes back as one text of its values, joined by
    the database (`group_concat`) and parsed by numpy, so no Python object is made for each of a
    clinic's millions of values (a row at a time, that cost is half the full recomputation's read).
    Times (the float columns) come as whole microseconds: SQLite writes an integer as text far
    faster than a float. The columns must hold no NULL (`group_concat` skips them): a count beside
    them checks that nothing was dropped, or the read fails."""
    names = [f"c{i}" for i in range(len(dtypes))]
    texts = [
        f"group_concat({name}, '')"
        if dtype == INSTANT
        else f"group_concat(CAST(round({name} * {MICROSECONDS}) AS INTEGER))"
        if np.dtype(dtype).kind == "f"
        else f"group_concat({name})"
        for name, dtype in zip(names, dtypes, strict=True)
    ]
    # The query is Django's own (its values stay parameters); only the wrapping is added here.
    wrapped = f"WITH rows({', '.join(names)}) AS ({sql}) SELECT count(*), {', '.join(texts)} FROM rows"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(wrapped, params)
        count, *joined = cursor.fetchone()
    columns = [_sqlite_column(text or "", dtype, count) for text, dtype in zip(joined, dtypes, strict=True)]
    if any(len(column) != count for column in columns):
        raise ValueError(f"{count} rows read, but the columns hold {[len(c) for c in columns]} values")
    return columns


def _sqlite_column(text: str, dtype: Any, count: int) -> npt.NDArray[Any]:
    if dtype == INSTANT:
        # Texts of one width, end to end: a value of any other width would shift every one after
        # it, so the length is checked before numpy reads them (and numpy refuses a malformed one).
        if len(text) != count * INSTANT_WIDTH:
            raise ValueError(f"{count} times read, but their text is {len(text)} characters long")
        moments = np.frombuffer(text.encode("ascii"), dtype=f"S{INSTANT_WIDTH}").astype(INSTANT)
        return cast("npt.NDArray[Any]", moments.astype(np.int64) / MICROSECONDS)
    if np.dtype(dtype).kind == "f":
        return np.fromstring(text, dtype=np.int64, sep=",") / MICROSECONDS
    return np.fromstring(text, dtype=dtype, sep=",")


CONTEXTS = tuple(str(c) for c in Context.values)
CONTEXT_NAMES = np.array([*CONTEXTS, ""], dtype=object)  # a code of -1 reads as ""
ROUTES = tuple(str(r) for r, _ in ROUTE_CHOICES)
PROTOCOLS = tuple(str(p) for p, _ in PROTOCOL_CHOICES)


def _names(codes: npt.NDArray[np.integer[Any]], values: Sequence[str]) -> npt.NDArray[np.object_]:
    return cast("npt.NDArray[np.object_]", np.array([*values, ""], dtype=object)[codes])


def _treatments(patient_ids: Sequence[int] | None) -> TreatmentColumns:
    qs = TreatmentSession.objects.filter(dose_started_at__isnull=False)
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
    # Read in the table's order and sorted here (by patient, then time): cheaper than the
    # database's sort for a whole clinic.
    packed, at, pk = _columns(
        qs.order_by().values_list(
            _packed("patient_id", [coded("route", ROUTES), coded("protocol", PROTOCOLS)]),
            Instant("dose_started_at"),
            "id",
        ),
        (np.int64, INSTANT, np.int64),
    )
    patient, (route, protocol) = _unpacked(packed, 2)
    order = np.lexsort((pk, at, patient))
    route, protocol = route[order], protocol[order]
    sizes = rules.course_sizes()
    size_of = np.array([sizes.get(p, 1) for p in PROTOCOLS] + [1], dtype=np.int64)  # -1: the last
    return TreatmentColumns(
        patient=patient[order],
        at=at[order],
        route=_names(route, ROUTES),
        protocol=_names(protocol, PROTOCOLS),
        course_size=size_of[protocol],
    )


Scores = dict[str, tuple[ScoreColumns, npt.NDArray[np.int8]]]  # per scale: its scores, their contexts


def _scores(patient_ids: Sequence[int] | None) -> Scores:
    """Each outcome scale's scored totals of these patients (None: everyone), with each score's
    context (its position in CONTEXTS)."""
    qs = QuestionnaireResponse.objects.filter(instrument__in=OUTCOME_SCALES, total__isnull=False)
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
    # SQLite reads fastest in the order of the index on (patient, scale, time); PostgreSQL scans
    # the table and the rows are sorted here (its server-side sort of a clinic's scores is slower).
    in_order = connection.vendor == "sqlite"
    # A tie in time is broken by total, then context: the order of the covering index
    # (response_patient_scale_cover), which SQLite reads with no table access and no sort.
    packed, at = _columns(
        (
            qs.order_by("patient_id", "instrument", "administered_at") if in_order else qs.order_by()
        ).values_list(
            _packed("patient_id", [coded("instrument", OUTCOME_SCALES), coded("context", CONTEXTS)], "total"),
            Instant("administered_at"),
        ),
        (np.int64, INSTANT),
    )
    total, rest = _total(packed)
    patient, (code, context) = _unpacked(rest, 2)
    post_session = CONTEXTS.index(Context.POST_SESSION)
    out: Scores = {}
    for n, scale in enumerate(OUTCOME_SCALES):
        rows = np.flatnonzero(code == n)
        if len(rows):
            keys = (context[rows], total[rows], at[rows], patient[rows])  # by patient, then time
            if not (in_order and _ascending(keys)):
                rows = rows[np.lexsort(keys)]
            contexts = context[rows]
            out[scale] = (
                ScoreColumns(patient[rows], at[rows], total[rows], contexts == post_session),
                contexts,
            )
    return out


def _ascending(keys: Sequence[npt.NDArray[Any]]) -> bool:
    """Whether the rows are in `np.lexsort(keys)`'s order already (the last key first): the
    order asked of the database is checked, not assumed, and sorted here if it was not kept."""
    after = np.ones(len(keys[0]) - 1 if len(keys[0]) else 0, dtype=bool)  # ties so far
    for key in reversed(keys):
        step = np.diff(key)
        if np.any(after & (step < 0)):
            return False
        after &= step == 0
    return True


EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
NO_STOP = Value(float((datetime.date.max.toordinal() - EPOCH_ORDINAL) * SECONDS_PER_DAY), FloatField())


def _ordinals(seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Epoch seconds as the ordinal of their UTC date."""
    return np.floor(seconds / SECONDS_PER_DAY).astype(np.int64) + EPOCH_ORDINAL


def _weeks_on_trials(
    patient_ids: Sequence[int] | None, treated: npt.NDArray[np.int64], first_at: npt.NDArray[np.float64]
) -> dict[int, float]:
    """Weeks on antidepressant trials before the first treatment, by patient (`treated`: the
    patients, sorted, with the time of their first treatment)."""
    qs = AntidepressantTrial.objects.filter(struck_out_at__isnull=True, current_episode=True)
    if patient_ids is not None:
        qs = qs.filter(patient_id__in=patient_ids)
    patient, started, stopped = _columns(
        qs.order_by().values_list("patient_id", Epoch("started_on"), Coalesce(Epoch("stopped_on"), NO_STOP)),
        (np.int64, np.float64, np.float64),
    )
    if len(patient) == 0 or len(treated) == 0:
        return {}
    at = np.minimum(np.searchsorted(treated, patient), len(treated) - 1)
    cutoff = np.where(treated[at] == patient, _ordinals(first_at[at]), 0)  # never treated: none
    patients, weeks = rules_of.weeks_on_trials_before(patient, _ordinals(started), _ordinals(stopped), cutoff)
    return dict(zip(patients.tolist(), weeks.tolist(), strict=True))


# A treated patient's columns that each of their outcome rows repeats (the dashboard groups by them).
PATIENT_COLUMNS = (
    "condition",
    "first_treatment_at",
    "period",
    "route",
    "protocol",
    "treatments",
)
FIELDS = (
    "patient",
    "instrument",
    "rules_version",
    *PATIENT_COLUMNS,
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


def _totals(values: npt.NDArray[np.int64]) -> list[int | None]:
    out = values.astype(object)
    out[values < 0] = None
    return cast("list[int | None]", out.tolist())


def _days(seconds: npt.NDArray[np.float64]) -> list[float | None]:
    out = np.round(seconds / SECONDS_PER_DAY, 4).astype(object)
    out[np.isnan(seconds)] = None
    return cast("list[float | None]", out.tolist())


def _flags(values: npt.NDArray[np.bool_], counted: npt.NDArray[np.bool_]) -> list[bool | None]:
    out = values.astype(object)
    out[~counted] = None
    return cast("list[bool | None]", out.tolist())


def _quarters(seconds: npt.NDArray[np.float64]) -> list[str]:
    """The quarter of each time in the clinic's time zone ("2026 Q3"): each time placed among
    the quarters' local starts, one sorted search for all."""
    if len(seconds) == 0:
        return []
    zone = timezone.get_current_timezone()
    first = datetime.datetime.fromtimestamp(float(np.nanmin(seconds)), zone)
    last = datetime.datetime.fromtimestamp(float(np.nanmax(seconds)), zone)
    starts, labels = [], []
    year, quarter = first.year, (first.month - 1) // 3
    while (year, quarter) <= (last.year, (last.month - 1) // 3):
        starts.append(datetime.datetime(year, 3 * quarter + 1, 1, tzinfo=zone).timestamp())
        labels.append(f"{year} Q{quarter + 1}")
        year, quarter = (year + 1, 0) if quarter == 3 else (year, quarter + 1)
    at = np.searchsorted(np.array(starts), seconds, side="right") - 1
    names = np.array(labels, dtype=object)[np.maximum(at, 0)]
    return cast("list[str]", names.tolist())


@dataclass(frozen=True)
class _Treated:
    """The treated patients of a batch (sorted by id, as `evaluate` returns them), with the
    columns they have once whatever the scale, in database form: converted once, not per scale."""

    patient: npt.NDArray[np.int64]
    columns: dict[str, npt.NDArray[np.object_]]


TREATED_FIELDS = (
    "patient",
    *PATIENT_COLUMNS,
    "first_due_at",
    "week_due_at",
    "course_due_at",
)


def _objects(values: Sequence[Any]) -> npt.NDArray[np.object_]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _treated(treatments: TreatmentColumns, conditions: dict[int, str], weeks: dict[int, float]) -> _Treated:
    patients, first_idx, counts = np.unique(treatments.patient, return_index=True, return_counts=True)
    first_due, week_due, course_due = rules_of.due_dates(treatments, rules.current())
    first_at = treatments.at[first_idx]
    ids = patients.tolist()
    columns = {
        "patient": _objects(ids),
        "condition": _objects([conditions.get(pid, "") for pid in ids]),
        "first_treatment_at": _objects(db_datetimes(first_at)),
        "period": _objects(_quarters(first_at)),
        "route": treatments.route[first_idx],
        "protocol": treatments.protocol[first_idx],
        "treatments": _objects(counts.tolist()),
        "first_due_at": _objects(db_datetimes(first_due)),
        "week_due_at": _objects(db_datetimes(week_due)),
        "course_due_at": _objects(db_datetimes(course_due)),
        "weeks_on_trials": _objects([weeks.get(pid) for pid in ids]),
    }
    return _Treated(patients, columns)


def _treated_rows(treated: _Treated) -> list[tuple[Any, ...]]:
    """One row per treated patient: the intention-to-treat population."""
    return list(zip(*(treated.columns[name].tolist() for name in TREATED_FIELDS), strict=True))


def _table_rows(
    code: str, result: CohortOutcomes, contexts: npt.NDArray[np.int8], *, version: str, treated: _Treated
) -> list[tuple[Any, ...]]:
    """The rows to store for the patients scored on this scale, built column by column (no
    per-row numpy indexing), in their database form (`bulk_insert(prepared=True)`)."""
    if not np.array_equal(result.patient, treated.patient):
        raise ValueError("outcomes and treated patients differ")  # evaluate keeps every treated patient
    keep = result.excluded_first != Excluded.NOT_MEASURED.value
    result = CohortOutcomes(**{name: getattr(result, name)[keep] for name in result.__dataclass_fields__})
    shared = {name: values[keep].tolist() for name, values in treated.columns.items()}
    remission_max = instruments.get(code).remission_max
    response = rules_of.response_rule(code, rules.current())
    n = len(result)
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
    context_code = np.where(base_row >= 0, contexts[np.maximum(base_row, 0)] if len(contexts) else -1, -1)
    baseline_context = CONTEXT_NAMES[context_code]
    columns: list[list[Any]] = [
        shared["patient"],
        [code] * n,
        [version] * n,
        *(shared[name] for name in PATIENT_COLUMNS),
        _totals(result.baseline_total),
        db_datetimes(result.baseline_at),
        baseline_context.tolist(),
        *same_day,
        *points[0:3],
        *points[3:6],
        db_datetimes(result.course_end_at),
        *points[6:9],
        shared["first_due_at"],
        shared["week_due_at"],
        shared["course_due_at"],
        _days(result.first_at - result.first_treatment_at),
        _days(result.week_at - result.first_treatment_at),
        _days(result.course_at - result.course_end_at),
        result.excluded_first.tolist(),
        result.excluded_week.tolist(),
        result.excluded_course.tolist(),
        _days(result.first_response_at - result.first_treatment_at),
        db_datetimes(result.first_response_at),
        db_datetimes(result.relapse_at),
        _days(result.followed_to - result.first_response_at),
        _flags(~np.isnan(result.relapse_at), responded),
        _totals(result.latest_total),
        db_datetimes(result.latest_at),
        result.trend.tolist(),
        shared["weeks_on_trials"],
    ]
    return list(zip(*columns, strict=True))


def _scale_rows(
    code: str,
    scores: ScoreColumns,
    contexts: npt.NDArray[np.int8],
    treatments: TreatmentColumns,
    treated: _Treated,
    *,
    outcome_rules: OutcomeRules,
    version: str,
) -> list[tuple[Any, ...]]:
    """The rows to store for one scale: its outcomes evaluated, in their database form."""
    result = rules_of.evaluate(
        scores,
        treatments,
        instrument=code,
        remission_max=instruments.get(code).remission_max,
        rules=outcome_rules,
    )
    return _table_rows(code, result, contexts, version=version, treated=treated)


def _one_ahead(worker: ThreadPoolExecutor, jobs: Sequence[Callable[[], Row]]) -> Iterator[Row]:
    """Each job's result in order. The first job starts now, and each next one as its
    predecessor's result is handed over: one result waits at most, however many jobs."""
    started = [worker.submit(job) for job in jobs[:1]]

    def results() -> Iterator[Row]:
        for n in range(len(jobs)):
            result = started.pop().result()
            if n + 1 < len(jobs):
                started.append(worker.submit(jobs[n + 1]))
            yield result

    return results()


def _batches(patient_ids: Iterable[int] | None) -> Iterator[list[int] | None]:
    """The patients to recompute, a batch at a time; None: everyone, in one columnar pass (the
    full rebuild reads every score once, without a list of patients)."""
    if patient_ids is None:
        yield None
        return
    ids = sorted(set(patient_ids))
    for start in range(0, len(ids), BATCH_PATIENTS):
        yield ids[start : start + BATCH_PATIENTS]


def _indexes() -> list[tuple[type[models.Model], models.Index]]:
    indexes = [(model, index) for model in (PatientOutcome, TreatedPatient) for index in model._meta.indexes]
    return indexes + (list(GROUP_INDEXES) if connection.vendor == "sqlite" else [])


ANALYSIS_ROWS = 1000


def _drop_indexes() -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for _, index in _indexes():
            cursor.execute(f"DROP INDEX IF EXISTS {quote(str(index.name))}")
        if connection.vendor == "sqlite":
            # `_create_indexes` gathers statistics from a sample of each index, as SQLite
            # recommends (`analysis_limit`, 100 to 1000 rows): a full pass costs a fiftieth of
            # the rebuild.
            cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_ROWS}")


def _create_indexes(table: type[models.Model]) -> None:
    """Build the dropped indexes of this table, just loaded."""
    editor = connection.schema_editor()  # only to write each index's CREATE INDEX statement
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, index in _indexes():
            if model is table:
                cursor.execute(str(index.create_sql(model, editor)))
        if connection.vendor == "sqlite":
            # Statistics of the table, so the dashboard's queries are planned on what it holds
            # (SQLite keeps none until asked; PostgreSQL's autovacuum analyzes them), sampled
            # (`_drop_indexes` set the limit).
            cursor.execute(f"ANALYZE {quote(table._meta.db_table)}")


@transaction.atomic
def refresh(patient_ids: Iterable[int] | None = None, *, scores: Future[Scores] | None = None) -> int:
    """Recompute the stored outcomes of these patients (None: every patient ever treated).
    Returns the number of rows written. `scores`: every patient's scores, being read already
    (`rebuild`; with None only)."""
    version = rules.version()
    outcome_rules = rules.current()
    written = 0
    rebuilding = patient_ids is None
    indexed: list[type[models.Model]] = []
    if rebuilding:
        # Every row is rewritten: empty the tables and load them without their secondary indexes,
        # built again once at the end (far cheaper than keeping them up to date row by row).
        _drop_indexes()
        PatientOutcome.objects.all().delete()
        TreatedPatient.objects.all().delete()
    for batch in _batches(patient_ids):
        if batch is not None:
            PatientOutcome.objects.filter(patient_id__in=batch).delete()
            TreatedPatient.objects.filter(patient_id__in=batch).delete()
        treatments = _treatments(batch)
        if len(treatments.patient) == 0:
            continue
        patients, first_rows = np.unique(treatments.patient, return_index=True)
        primary = Diagnosis.objects.filter(is_primary=True)
        if batch is not None:
            primary = primary.filter(patient_id__in=batch)
        conditions = dict(primary.values_list("patient_id", "code"))
        treated = _treated(
            treatments, conditions, _weeks_on_trials(batch, patients, treatments.at[first_rows])
        )
        # Written (and, on a rebuild, indexed) before the scores are waited for: while a second
        # connection still reads them (`rebuild`), this one has its own work.
        bulk_insert(TreatedPatient, TREATED_FIELDS, _treated_rows(treated), prepared=True)
        if rebuilding:
            _create_indexes(TreatedPatient)
            indexed.append(TreatedPatient)
        jobs = [
            partial(
                _scale_rows,
                code,
                scores_of,
                contexts,
                treatments,
                treated,
                outcome_rules=outcome_rules,
                version=version,
            )
            for code, (scores_of, contexts) in (
                scores.result() if scores is not None else _scores(batch)
            ).items()
        ]
        # One scale's rows are computed (numpy, no database) while the last scale's are written:
        # the database's side of a write lets the other thread run.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outcome-rows") as worker:
            for rows in _one_ahead(worker, jobs):
                written += bulk_insert(PatientOutcome, FIELDS, rows, prepared=True)
    if rebuilding:
        for table in (TreatedPatient, PatientOutcome):
            if table not in indexed:  # (TreatedPatient's are built already unless nobody was treated)
                _create_indexes(table)
        OutcomeState.objects.update_or_create(
            pk=1, defaults={"rules_version": version, "refreshed_at": timezone.now()}
        )
    return written


def rebuild() -> int:
    """Recompute every stored outcome now and clear the marks (`ketacare outcomes --rebuild`)."""
    # Outside a caller's transaction, the scores (most of what is read) are read on a second
    # connection while this one reads the treatments and writes: both databases let the other
    # thread run during a query. Inside one, that transaction's own writes would not be seen there.
    apart = not connection.in_atomic_block
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outcome-scores") as reader:
        with transaction.atomic():
            # Only the marks read before the data: a mark whose write commits later keeps its
            # row, and the next catch-up reads that write (the second connection's read starts
            # after this one, so it sees at least what the marks claimed).
            claimed = list(RecordChange.objects.values_list("id", flat=True))
            written = refresh(scores=reader.submit(_scores_apart) if apart else None)
            _delete_marks(claimed)
    return written


def _scores_apart() -> Scores:
    """`_scores` of everyone, on this thread's own connection (closed after)."""
    try:
        return _scores(None)
    finally:
        connection.close()


def _delete_marks(ids: Sequence[int]) -> None:
    for start in range(0, len(ids), BATCH_PATIENTS):
        RecordChange.objects.filter(id__in=ids[start : start + BATCH_PATIENTS]).delete()


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
            .annotate(pending=Exists(RecordChange.objects.all()))
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
        changed = RecordChange.objects.filter(patient_id=patient_id)
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
            # Take turns with every other catch-up (the state row's lock, as `catch_up`): two
            # recomputing one patient at once would both insert its rows (PostgreSQL).
            OutcomeState.objects.get_or_create(
                pk=1, defaults={"rules_version": "", "refreshed_at": timezone.now()}
            )
            OutcomeState.objects.select_for_update().get(pk=1)
            claimed = list(changed.values_list("id", flat=True))  # before the data: see rebuild
            refresh([patient_id])
            _delete_marks(claimed)
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
        return CatchUp(TreatedPatient.objects.count(), True)
    claimed = list(RecordChange.objects.order_by("id").values_list("id", "patient_id"))
    if claimed:
        refresh(sorted({pid for _, pid in claimed}))
        _delete_marks([i for i, _ in claimed])
    if claimed or state.failure:
        OutcomeState.objects.filter(pk=1).update(caught_up_at=now, failure="", failed_at=None)
    return CatchUp(len({pid for _, pid in claimed}), False)


def state() -> OutcomeState | None:
    """The projection's state, for the pages: when it was last brought up to date, and the last
    failure (empty once a catch-up succeeds). One primary-key read."""
    return OutcomeState.objects.filter(pk=1).first()

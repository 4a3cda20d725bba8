"""Clinic outcome figures: SQL aggregates over the stored per-patient outcomes (one row per treated
patient per scale), a handful of queries whatever the size of the clinic."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from ketacare.clinical import instruments
from ketacare.clinical.baseline import CONTEXT_WORDS, baseline_label
from ketacare.clinical.codes import DIAGNOSES_BY_CODE
from ketacare.clinical.outcomes import (
    EXCLUDED_TEXT,
    OUTCOME_SCALES,
    Excluded,
    OutcomeRules,
    Trend,
    recall_caveat,
    response_rule,
    time_point_caveat,
)
from ketacare.clinical.protocols import ROUTE_LABELS, TreatmentRoute
from ketacare.clinical.statistics import Proportion, Survival, kaplan_meier, wilson
from ketacare.measures.models import SafetyAlert
from ketacare.outcomes import rules
from ketacare.outcomes.models import GROUP_KEYS, PatientOutcome, TreatedPatient
from ketacare.treatment import rules as protocol_rules
from ketacare.treatment.models import Appointment, TreatmentPlan

POINTS = ("first", "week", "course")
POINT_NAMES = {"first": "first_treatment", "week": "one_week", "course": "course"}
LIST_LIMIT = 100  # patients listed on the page per list; the CSV has them all


@dataclass(frozen=True)
class Filters:
    instrument: str = OUTCOME_SCALES[0]
    start: datetime.date | None = None  # first treatment on or after
    end: datetime.date | None = None  # first treatment on or before
    condition: str = ""  # primary diagnosis (ICD-10-CM)
    route: str = ""

    def query(self) -> Q:
        """The stored outcomes on this scale in the filters."""
        return Q(instrument=self.instrument) & self.patient_query()

    def patient_query(self) -> Q:
        """The treated patients in the filters (`TreatedPatient` and `PatientOutcome` alike)."""
        q = Q()
        if self.start:
            q &= Q(first_treatment_at__gte=_day_start(self.start))
        if self.end:
            q &= Q(first_treatment_at__lt=_day_start(self.end + datetime.timedelta(days=1)))
        if self.condition:
            q &= Q(condition=self.condition)
        if self.route:
            q &= Q(route=self.route)
        return q


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


@dataclass(frozen=True)
class Rates:
    """Response and remission at one time point, with the patients behind them: the completers'
    figure (patients scored there), and beside it the intention-to-treat figure (clinical
    reference section 2: every patient who received a first dose and whose time point has come,
    scored there or not, a patient without a score counting as not responding)."""

    response: Proportion
    remission: Proportion
    itt: Rates | None = None

    def as_json(self) -> dict[str, Any]:
        r, m = self.response, self.remission
        out: dict[str, Any] = {
            "n": r.n,
            "responders": r.events,
            "response_rate": r.as_json()["rate"],
            "response_ci95": r.as_json()["ci95"],
            "remitters": m.events,
            "remission_rate": m.as_json()["rate"],
            "remission_ci95": m.as_json()["ci95"],
        }
        if self.itt is not None:
            out["itt"] = self.itt.as_json()
        return out


@dataclass(frozen=True)
class Breakdown:
    by: str
    label: str
    rows: list[tuple[str, Rates, Rates]]  # (group, after the first treatment, after the course)


@dataclass
class Figures:
    filters: Filters
    rules: OutcomeRules
    scale_name: str
    remission_max: int | None
    patients: int
    sessions: int
    open_alerts: int
    points: dict[str, Rates]
    same_day: Rates
    caveats: dict[str, str]  # time point -> the recall-period caveat ("" when none applies)
    never_scored: int  # treated patients never scored on this scale (in no denominator)
    breakdowns: list[Breakdown]
    excluded: dict[str, dict[str, int]]  # time point -> reason -> count
    durability: list[Survival]
    durability_overall: Survival
    speed: dict[str, Any] = field(default_factory=dict)
    speed_rows: list[tuple[int, float, float]] = field(default_factory=list)

    @property
    def response_text(self) -> str:
        """This scale's response rule in words: "50% below baseline" (PCL-5: "10 points ...")."""
        return response_rule(self.filters.instrument, self.rules).text()

    @property
    def relapse_text(self) -> str:
        return self.rules.relapse_text(self.filters.instrument)

    def as_json(self) -> dict[str, Any]:
        overall = self.durability_overall
        # The reasons shared by every time point (never scored, no baseline) are the same patients
        # at each; the course adds its own.
        reasons = dict(self.excluded["first"])
        for reason in (Excluded.COURSE_NOT_COMPLETED, Excluded.NO_COURSE_SCORE):
            if reason.value in self.excluded["course"]:
                reasons[reason.value] = self.excluded["course"][reason.value]
        return {
            "instrument": self.filters.instrument,
            "filters": {
                "from": self.filters.start.isoformat() if self.filters.start else None,
                "to": self.filters.end.isoformat() if self.filters.end else None,
                "route": self.filters.route or None,
                "condition": self.filters.condition or None,
            },
            "time_points": {
                "first_treatment": self.rules.first_treatment_text(),
                "one_week": self.rules.one_week_text(),
                "course": self.rules.course_text(),
                "same_day": self.rules.same_day_text(),
                "intention_to_treat": ITT_TEXT,
                "response": self.response_text,
                "relapse": self.relapse_text,
            },
            "recall_caveats": {POINT_NAMES[p]: text for p, text in self.caveats.items() if text},
            "patients_treated": self.patients,
            "never_scored_on_this_scale": self.never_scored,
            "sessions": self.sessions,
            "first_treatment": self.points["first"].as_json(),
            "one_week": self.points["week"].as_json(),
            "course": self.points["course"].as_json(),
            "same_day": self.same_day.as_json(),
            "durability": {
                "responders": overall.n,
                "relapses": overall.events,
                "median_days_to_relapse": _r(overall.median),
                "median_ci95": [_r(overall.median_ci95[0]), _r(overall.median_ci95[1])],
                "by_route": {
                    s.label: {
                        "responders": s.n,
                        "relapses": s.events,
                        "median_days_to_relapse": _r(s.median),
                        "median_ci95": [_r(s.median_ci95[0]), _r(s.median_ci95[1])],
                    }
                    for s in self.durability
                },
            },
            "speed_of_relief": self.speed,
            "excluded": reasons,
            "excluded_by_time_point": self.excluded,
        }


ITT_TEXT = (
    "every patient who received a first dose, once the time point's window has closed (or scored "
    "there sooner); no score there, never scored on this scale, or a stopped course, counts as "
    "not responding"
)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _rates(response: int, remission: int, n: int, itt_n: int | None = None) -> Rates:
    itt = None if itt_n is None else Rates(wilson(response, itt_n), wilson(remission, itt_n))
    return Rates(wilson(response, n), wilson(remission, n), itt)


def _point_aggregates(now: datetime.datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for point in POINTS:
        counted = Q(**{f"{point}_response__isnull": False})
        out[f"{point}_n"] = Count("id", filter=counted)
        out[f"{point}_resp"] = Count("id", filter=Q(**{f"{point}_response": True}))
        out[f"{point}_rem"] = Count("id", filter=Q(**{f"{point}_remission": True}))
        # Intention to treat adds these to the treated patients whose window has closed: the
        # patients already scored there before it closed.
        out[f"{point}_early"] = Count("id", filter=counted & Q(**{f"{point}_due_at__gt": now}))
        out[f"{point}_days"] = Sum(f"{point}_days", filter=counted)  # for the recall caveat
    out["same_day_n"] = Count("id", filter=Q(same_day_response__isnull=False))
    out["same_day_resp"] = Count("id", filter=Q(same_day_response=True))
    out["same_day_rem"] = Count("id", filter=Q(same_day_remission=True))
    return out


def cohort(filters: Filters) -> QuerySet[PatientOutcome]:
    """The stored outcomes in the filters. Reads only: the pages call `services.catch_up` first."""
    return PatientOutcome.objects.filter(filters.query())


ROUTE_NAMES = {str(code): label for code, label in ROUTE_LABELS.items()}


def _group_label(by: str, value: Any) -> str:
    if by == "route":
        return ROUTE_NAMES.get(value, str(value))
    if by == "condition":
        code = DIAGNOSES_BY_CODE.get(value)
        return code.label if code else "no primary diagnosis"
    if by == "protocol":
        protocol = protocol_rules.current().get(value)
        return protocol.name if protocol else str(value)
    return str(value)


BREAKDOWNS = (
    ("condition", "Primary diagnosis"),
    ("route", "Route"),
    ("protocol", "Protocol"),
    ("period", "First treatment in"),
)


def _sum(rows: Iterable[dict[str, Any]], key: str) -> int:
    return sum(int(r[key] or 0) for r in rows)


def _rates_over(rows: list[dict[str, Any]], point: str, treated: list[dict[str, Any]] | None = None) -> Rates:
    """Completers' response and remission at `point` over these grouped outcome rows; with the
    grouped treated patients, the intention-to-treat figure beside it (reference section 2:
    every patient who received a first dose, once the time point's window has closed)."""
    itt = None
    if treated is not None:
        itt = _sum(treated, f"{point}_due") + _sum(rows, f"{point}_early")
    return _rates(_sum(rows, f"{point}_resp"), _sum(rows, f"{point}_rem"), _sum(rows, f"{point}_n"), itt)


TREATED_KEYS = ("condition", "route", "protocol", "period")


def _treated_groups(filters: Filters, now: datetime.datetime) -> list[dict[str, Any]]:
    """The treated patients in the filters, grouped by every breakdown at once, with how many
    have passed each time point (intention to treat) and their treatments."""
    return list(
        TreatedPatient.objects.filter(filters.patient_query())
        .values(*TREATED_KEYS)
        .annotate(
            patients=Count("patient_id"),
            sessions=Sum("treatments"),
            **{f"{p}_due": Count("patient_id", filter=Q(**{f"{p}_due_at__lte": now})) for p in POINTS},
        )
        .order_by()
    )


def dashboard(filters: Filters, *, with_speed: bool = True) -> Figures:
    """Everything the outcome dashboard and `ketacare outcomes --json` show, from two scans of
    the stored outcomes: the counts grouped by every breakdown and exclusion at once (rolled up
    here), and the responders' durations."""
    qs = cohort(filters)
    scale = instruments.get(filters.instrument)
    now = timezone.now()
    treated_groups = _treated_groups(filters, now)
    grouped = list(
        qs.values(*GROUP_KEYS)
        .annotate(
            patients=Count("id"),
            with_trials=Count("id", filter=Q(weeks_on_trials__gt=0)),
            **_point_aggregates(now),
        )
        .order_by()
    )
    mean_days = {
        p: (sum(float(r[f"{p}_days"] or 0) for r in grouped) / n) if (n := _sum(grouped, f"{p}_n")) else None
        for p in POINTS
    }
    treated = {"patients": _sum(treated_groups, "patients"), "sessions": _sum(treated_groups, "sessions")}
    never_scored = treated["patients"] - _sum(grouped, "patients")
    excluded: dict[str, dict[str, int]] = {}
    for point in POINTS:
        counts: dict[str, int] = {Excluded.NOT_MEASURED.value: never_scored} if never_scored else {}
        for row in grouped:
            if reason := row[f"excluded_{point}"]:
                counts[reason] = counts.get(reason, 0) + row["patients"]
        excluded[point] = dict(sorted(counts.items()))
    breakdowns = []
    for by, label in BREAKDOWNS:
        by_group: dict[str, list[dict[str, Any]]] = {}
        treated_by_group: dict[str, list[dict[str, Any]]] = {}
        for row in grouped:
            by_group.setdefault(row[by], []).append(row)
        for row in treated_groups:
            treated_by_group.setdefault(row[by], []).append(row)
        groups = [
            (
                _group_label(by, key),
                _rates_over(by_group.get(key, []), "first", treated_by_group[key]),
                _rates_over(by_group.get(key, []), "course", treated_by_group[key]),
            )
            for key in sorted(treated_by_group, key=str)
        ]
        breakdowns.append(Breakdown(by, label, groups))
    responders = _plain_rows(
        qs.filter(days_to_response__isnull=False)
        .order_by("patient_id")
        .values_list(
            "patient_id", "route", "days_responding", "relapsed", "weeks_on_trials", "days_to_response"
        )
    )
    durability = _durability(responders)
    paired = [(r[0], float(r[4]), float(r[5] or 0)) for r in responders if r[4]] if with_speed else []
    return Figures(
        filters=filters,
        rules=rules.current(),
        scale_name=scale.name,
        remission_max=scale.remission_max,
        patients=treated["patients"],
        sessions=treated["sessions"],
        open_alerts=_open_alerts(qs),
        points={p: _rates_over(grouped, p, treated_groups) for p in POINTS},
        same_day=_rates_over(grouped, "same_day"),
        caveats={
            p: time_point_caveat(filters.instrument, days, POINT_LABELS[p]) if days is not None else ""
            for p, days in mean_days.items()
        },
        never_scored=never_scored,
        breakdowns=breakdowns,
        excluded=excluded,
        durability=durability[1:],
        durability_overall=durability[0],
        speed=speed_of_relief(_sum(grouped, "with_trials"), paired) if with_speed else {},
        speed_rows=paired,
    )


POINT_LABELS = {
    "first": "the first treatment",
    "week": "the first treatment",
    "course": "the last induction treatment",
}


def _plain_rows(qs: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The query's rows as the database driver returns them, without Django's per-value
    converters (tens of thousands of responders; booleans may come back as 0 and 1)."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _open_alerts(qs: QuerySet[PatientOutcome]) -> int:
    """Open safety alerts of the patients in the figures: few alerts, each looked up in the
    cohort by its (patient, scale) key."""
    in_cohort = qs.filter(patient_id=OuterRef("patient_id"))
    return SafetyAlert.objects.filter(acknowledged_at__isnull=True).filter(Exists(in_cohort)).count()


def _durability(responders: list[tuple[Any, ...]]) -> list[Survival]:
    """Kaplan-Meier of days from the first response to relapse: all responders, then by route."""
    route = np.array([r[1] for r in responders], dtype=object)
    days = np.array([r[2] for r in responders], dtype=np.float64)
    relapsed = np.array([bool(r[3]) for r in responders], dtype=bool)
    curves = [kaplan_meier(days, relapsed, label="All routes")]
    for code in TreatmentRoute:
        mask = route == code.value
        if mask.any():
            curves.append(kaplan_meier(days[mask], relapsed[mask], label=ROUTE_NAMES[code.value]))
    return curves


def speed_rows(qs: QuerySet[PatientOutcome]) -> list[tuple[int, float, float]]:
    """(patient, weeks on antidepressant trials before ketamine, days to the first response on
    ketamine) for responders with a trial history (the paired figure's CSV)."""
    rows = (
        qs.filter(weeks_on_trials__gt=0, days_to_response__isnull=False)
        .order_by("patient_id")
        .values_list("patient_id", "weeks_on_trials", "days_to_response")
    )
    return [(pid, float(weeks or 0), float(days or 0)) for pid, weeks, days in rows]


def speed_of_relief(with_trials: int, rows: list[tuple[int, float, float]]) -> dict[str, Any]:
    """Weeks on antidepressant trials before ketamine against days to a response on ketamine,
    for the responders with a trial history: medians and interquartile ranges."""
    if not rows:
        return {"patients_with_trials": with_trials, "responders": 0}
    weeks = np.array([r[1] for r in rows])
    days = np.array([r[2] for r in rows])
    return {
        "patients_with_trials": with_trials,
        "responders": len(rows),
        "median_weeks_on_trials": round(float(np.median(weeks)), 1),
        "median_days_to_response": round(float(np.median(days)), 1),
        "weeks_on_trials_iqr": [round(float(v), 1) for v in np.percentile(weeks, [25, 75])],
        "days_to_response_iqr": [round(float(v), 1) for v in np.percentile(days, [25, 75])],
    }


def excluded_patients(
    filters: Filters, point: str, *, limit: int | None = LIST_LIMIT
) -> list[dict[str, Any]]:
    qs = (
        cohort(filters)
        .exclude(**{f"excluded_{point}": ""})
        .select_related("patient")
        .order_by(f"excluded_{point}", "patient__family_name", "patient_id")
    )
    rows = qs[:limit] if limit else qs
    listed = [
        {
            "patient": o.patient,
            "reason": EXCLUDED_TEXT[Excluded(getattr(o, f"excluded_{point}"))],
            "first_treatment_at": o.first_treatment_at,
            "treatments": o.treatments,
        }
        for o in rows
    ]
    room = None if limit is None else max(limit - len(listed), 0)
    return _never_scored(filters, room) + listed


def _never_scored(filters: Filters, limit: int | None) -> list[dict[str, Any]]:
    """Treated patients in the filters never scored on the scale: in no figure, listed first."""
    if limit == 0:
        return []
    scored = PatientOutcome.objects.filter(patient_id=OuterRef("patient_id"), instrument=filters.instrument)
    qs = (
        TreatedPatient.objects.filter(filters.patient_query())
        .filter(~Exists(scored))
        .select_related("patient")
        .order_by("patient_id")
    )
    rows = [
        {
            "patient": t.patient,
            "reason": EXCLUDED_TEXT[Excluded.NOT_MEASURED],
            "first_treatment_at": t.first_treatment_at,
            "treatments": t.treatments,
        }
        for t in (qs[:limit] if limit else qs)
    ]
    return _by_name(rows)


def _by_name(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of one list in reading order: by reason, then family name."""
    return sorted(rows, key=lambda r: (r["reason"], r["patient"].family_name, r["patient"].pk))


COURSE_ONLY = (Excluded.COURSE_NOT_COMPLETED.value, Excluded.NO_COURSE_SCORE.value)


def left_out(filters: Filters, *, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """The dashboard's list of patients left out of the first-treatment or the course figures
    (two queries: never scored on the scale, then the rest), each with the first reason."""
    qs = (
        cohort(filters)
        .filter(~Q(excluded_first="") | Q(excluded_course__in=COURSE_ONLY))
        .select_related("patient")
        .order_by("excluded_first", "excluded_course", "patient_id")  # the index's order
    )
    never = _never_scored(filters, limit)
    return never + _by_name(
        [
            {
                "patient": o.patient,
                "reason": EXCLUDED_TEXT[Excluded(o.excluded_first or o.excluded_course)],
                "first_treatment_at": o.first_treatment_at,
                "treatments": o.treatments,
            }
            for o in qs[: limit - len(never)]
        ]
    )


def maintenance_prompts(filters: Filters, *, limit: int | None = LIST_LIMIT) -> list[PatientOutcome]:
    """Responders whose latest scores have lost the response, worst first, each with the next
    booked appointment (if any): the patients to offer a booster."""
    qs = (
        cohort(filters)
        .filter(trend__in=[Trend.RISING, Trend.RELAPSED])
        .select_related("patient")
        .order_by("-trend", "latest_at")
    )
    prompts = list(qs[:limit] if limit else qs)
    _attach_next_appointments(prompts)
    for o in prompts:
        _name_baseline(o)
    return prompts


def booster_prompts(*, limit: int = 10) -> list[PatientOutcome]:
    """For the clinicians' home dashboard: responders whose scores are rising toward relapse or
    have relapsed, with nothing booked, the most recent first. One query."""
    booked = Appointment.objects.filter(
        patient_id=OuterRef("patient_id"), status=Appointment.Status.BOOKED, starts_at__gte=timezone.now()
    )
    rows = list(
        PatientOutcome.objects.filter(trend__in=[Trend.RISING, Trend.RELAPSED])
        .filter(~Exists(booked))
        .select_related("patient")
        .only(
            "id",
            "instrument",
            "trend",
            "latest_total",
            "latest_at",
            "baseline_total",
            "baseline_at",
            "baseline_context",
            "patient__id",
            "patient__mrn",
            "patient__given_name",
            "patient__family_name",
        )
        .order_by("-latest_at", "id")[:limit]
    )
    for o in rows:
        _name_baseline(o)
    return rows


def _attach_next_appointments(outcomes: Sequence[PatientOutcome]) -> None:
    booked: dict[int, datetime.datetime] = {}
    rows = (
        Appointment.objects.filter(
            patient_id__in=[o.patient_id for o in outcomes],
            status=Appointment.Status.BOOKED,
            starts_at__gte=timezone.now(),
        )
        .order_by("patient_id", "-starts_at")
        .values_list("patient_id", "starts_at")
    )
    for pid, at in rows:
        booked[pid] = at
    for o in outcomes:
        o.next_appointment = booked.get(o.patient_id)  # type: ignore[attr-defined]


def patient_outcomes(patient_id: int) -> list[PatientOutcome]:
    """The chart's outcome summary: one row per scale the patient was scored on. One plain query
    for most charts; when a scale prompts a booster, two more find the next booked appointment and
    the active plan to book it from. Reads only: the chart calls `services.catch_up` first."""
    rows: list[PatientOutcome] = list(PatientOutcome.objects.filter(patient_id=patient_id))
    order = {code: n for n, code in enumerate(OUTCOME_SCALES)}
    rows = sorted(rows, key=lambda o: order[o.instrument])
    next_at = plan = None
    if any(o.trend in (Trend.RISING, Trend.RELAPSED) for o in rows):
        next_at = (
            Appointment.objects.filter(
                patient_id=patient_id, status=Appointment.Status.BOOKED, starts_at__gte=timezone.now()
            )
            .order_by("starts_at")
            .values_list("starts_at", flat=True)
            .first()
        )
        plan = (
            TreatmentPlan.objects.filter(patient_id=patient_id, status=TreatmentPlan.Status.ACTIVE)
            .values_list("pk", flat=True)
            .first()
        )
    outcome_rules = rules.current()
    for o in rows:
        o.next_appointment = next_at  # type: ignore[attr-defined]
        o.active_plan = plan  # type: ignore[attr-defined]
        _name_baseline(o)
        rule = response_rule(o.instrument, outcome_rules)
        o.response_text = rule.text()  # type: ignore[attr-defined]
        o.response_max = (  # type: ignore[attr-defined]
            rule.threshold(o.baseline_total) if o.baseline_total is not None else None
        )
        o.caveat = (  # type: ignore[attr-defined]
            recall_caveat(o.instrument, o.first_days, treatment="first treatment") or ""
            if o.first_days is not None
            else ""
        )
    return rows


def _name_baseline(o: PatientOutcome) -> None:
    """Which score the baseline is, in words: "baseline: PHQ-9 15, pre-session, 3 Dec"."""
    o.baseline_context_text = CONTEXT_WORDS.get(o.baseline_context, "")  # type: ignore[attr-defined]
    o.baseline_label = (  # type: ignore[attr-defined]
        baseline_label(
            instruments.get(o.instrument).short_name,
            o.baseline_total,
            o.baseline_context,
            timezone.localtime(o.baseline_at).date(),
            today=timezone.localdate(),
        )
        if o.baseline_total is not None and o.baseline_at is not None
        else "no baseline"
    )


def ids(rows: Iterable[Any]) -> list[int]:
    return [r["patient"].pk if isinstance(r, dict) else r.patient_id for r in rows]

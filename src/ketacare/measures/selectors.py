"""Measure reads: a fixed number of queries whatever the length of a patient's history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ketacare.clinical import instruments, outcomes
from ketacare.clinical.baseline import baseline_label
from ketacare.measures.models import Context, QuestionnaireResponse, SafetyAlert, SelfReportLink


def open_alerts(*, limit: int = 50, offset: int = 0) -> tuple[list[SafetyAlert], int]:
    """Unacknowledged alerts, most urgent and oldest first, with their patient and response; and
    how many are open in all. Two queries on the partial index of open alerts."""
    qs = SafetyAlert.objects.filter(acknowledged_at__isnull=True)
    alerts = list(
        qs.select_related("patient", "response")
        .only(
            "id",
            "flags",
            "priority",
            "created_at",
            "acknowledged_at",
            "acknowledged_by_id",
            "acknowledgement_note",
            "patient__id",
            "patient__mrn",
            "patient__given_name",
            "patient__family_name",
            "response__id",
            "response__instrument",
            "response__total",
            "response__band",
            "response__source",
            "response__administered_at",
        )
        .order_by("priority", "created_at", "id")[offset : offset + limit]
    )
    total = offset + len(alerts) if 0 < len(alerts) < limit else qs.count()
    return alerts, total


def patient_open_alerts(*, patient_id: int) -> list[SafetyAlert]:
    alerts = list(
        SafetyAlert.objects.filter(patient_id=patient_id, acknowledged_at__isnull=True)
        .select_related("response")
        .order_by("priority", "created_at")
    )
    return alerts


@dataclass(frozen=True, slots=True)
class Trajectory:
    instrument: str
    name: str
    points: list[outcomes.Point]
    bands: tuple[tuple[int, int, str], ...]
    max_total: int
    remission_max: int | None
    course: outcomes.Course
    first_treatment_at: datetime | None
    session_times: tuple[datetime, ...] = ()
    # Which score the baseline is, in words: "baseline: PHQ-9 15, pre-session, 3 Dec" (empty
    # without a baseline). "Baseline 15" alone reads like the consultation score, which it
    # often is not (issue 13).
    baseline_label: str = ""

    @property
    def short_name(self) -> str:
        """The scale's name without its expansion ("PHQ-9")."""
        return self.name.split(" (", 1)[0]


# A scored response as the trajectories read it: scale, time, total, context, minutes after the dose.
ScoreRow = tuple[str, datetime, int | None, str, int | None]


def first_treatment_from_ratings(rows: Sequence[ScoreRow]) -> datetime | None:
    """When the first treatment was given, as the ratings around it show: just after the first
    pre-session rating, or a post-session rating's minutes before it. (Recorded sessions will
    name it exactly once they exist.)"""
    candidates = []
    for _code, at, _total, context, minutes in rows:
        if context == Context.PRE_SESSION:
            candidates.append(at + timedelta(microseconds=1))
        elif context == Context.POST_SESSION:
            candidates.append(at - timedelta(minutes=minutes or 0))
    return min(candidates) if candidates else None


def score_rows(responses: Iterable[QuestionnaireResponse]) -> list[ScoreRow]:
    """`trajectories`' rows from responses read already (every one of the patient's, in any
    order), so the chart that lists them draws them without reading them again."""
    scored = sorted((r for r in responses if r.total is not None), key=lambda r: (r.administered_at, r.pk))
    return [(r.instrument, r.administered_at, r.total, r.context, r.minutes_after_dose) for r in scored]


def trajectories(
    *,
    patient_id: int,
    first_treatment_at: datetime | None = None,
    session_times: Sequence[datetime] = (),
    rows: Sequence[ScoreRow] | None = None,
) -> list[Trajectory]:
    """Each scale's scored totals over time, with baseline (named: which score, taken when),
    response and remission. One query, none when given every score's `rows` (`score_rows`).
    With recorded sessions the first dose names the first treatment; without them it is inferred
    from the ratings around it."""
    if first_treatment_at is None and session_times:
        first_treatment_at = min(session_times)
    if rows is None:
        rows = list(
            QuestionnaireResponse.objects.filter(patient_id=patient_id, total__isnull=False)
            .order_by("administered_at", "id")
            .values_list("instrument", "administered_at", "total", "context", "minutes_after_dose")
        )
    if first_treatment_at is None:
        first_treatment_at = first_treatment_from_ratings(rows)
    by_scale: dict[str, list[outcomes.Point]] = {}
    # Where each score was taken (pre-session, at consultation...), carried beside the points
    # (a Point is only a time and a total). Of two scores with the same time and total, the
    # first, as `outcomes.baseline` picks the first of equal times.
    context_of: dict[tuple[str, datetime, int], str] = {}
    for code, at, total, context, _minutes in rows:
        if total is not None:
            by_scale.setdefault(code, []).append(outcomes.Point(at, total))
            context_of.setdefault((code, at, total), context)
    today = timezone.localdate()
    rules = outcome_rules()
    result = []
    for code in instruments.CODES:
        points = by_scale.get(code)
        if not points:
            continue
        scale = instruments.get(code)
        # Rated after the session, or within hours of a dose: shown, never read as a response.
        after_dose = outcomes.same_day_times(
            (p.at for p in points), session_times, hours=rules.time_point_min_hours
        )
        same_day = after_dose | {
            p.at for p in points if context_of.get((code, p.at, p.total)) == Context.POST_SESSION
        }
        course = outcomes.course(
            points,
            first_treatment_at=first_treatment_at,
            remission_max=scale.remission_max,
            rule=outcomes.response_rule(code, rules),
            same_day_times=same_day,
        )
        base = course.baseline
        result.append(
            Trajectory(
                instrument=code,
                name=scale.name,
                points=points,
                bands=tuple((b.low, b.high, b.name) for b in scale.bands),
                max_total=scale.max_total,
                remission_max=scale.remission_max,
                course=course,
                first_treatment_at=first_treatment_at,
                session_times=tuple(session_times),
                baseline_label=""
                if base is None
                else baseline_label(
                    scale.short_name,
                    base.total,
                    context_of.get((code, base.at, base.total), ""),
                    timezone.localdate(base.at),
                    today=today,
                ),
            )
        )
    return result


def open_links(*, patient_id: int) -> list[SelfReportLink]:
    """The patient's self-report links that can still be used (not used, not revoked, not
    expired), newest first, with who made them. One query. The token digest is not read: nothing
    shown to staff needs it."""
    links = list(
        SelfReportLink.objects.filter(
            patient_id=patient_id,
            used_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("created_by")
        .defer("token_digest")
        .order_by("-created_at", "-id")
    )
    return links


def responses_page(
    *, patient_id: int, before_id: int | None = None, size: int = 25
) -> list[QuestionnaireResponse]:
    """The newest responses, `size` at a time (keyset on id, constant cost at any depth)."""
    qs: QuerySet[QuestionnaireResponse] = QuestionnaireResponse.objects.filter(
        patient_id=patient_id
    ).select_related("entered_by")
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return list(qs.order_by("-id")[:size])


def outcome_rules() -> outcomes.OutcomeRules:
    """The clinic's outcome settings. A setting that does not parse is reported by `ketacare
    check`; the chart then uses the published defaults rather than fail a clinical page."""
    try:
        return outcomes.rules_from_text(settings.OUTCOME_RULES)
    except ValueError:
        return outcomes.OutcomeRules()


def response_rule(code: str) -> outcomes.ResponseRule:
    """The scale's response rule under the clinic's outcome settings (PCL-5 by points)."""
    return outcomes.response_rule(code, outcome_rules())

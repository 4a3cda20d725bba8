"""Reads for the session page, its signature snapshot, the REMS list and form, and the chart.
The session page costs the same number of queries however full its flowsheet is."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.utils import timezone

from ketacare.clinical import monitoring
from ketacare.clinical.protocols import ESKETAMINE_POST_BP_MIN, Protocol
from ketacare.sessions.models import (
    AdverseEvent,
    DoseOrder,
    RemsRecord,
    SedationRating,
    SessionAmendment,
    SessionScale,
    TreatmentSession,
    VitalSign,
)
from ketacare.treatment import rules

# The post-dose BP on the REMS form is taken "about 40 minutes" after dosing: a reading 30-60
# minutes after the first device counts (clinic setting around the label's 40 minutes).
POST_BP_WINDOW_MIN = (ESKETAMINE_POST_BP_MIN - 10, ESKETAMINE_POST_BP_MIN + 20)


@dataclass(frozen=True, slots=True)
class Gate:
    blocked: bool
    reading: VitalSign | None
    limit_text: str

    @property
    def reading_text(self) -> str:
        r = self.reading
        return f"{r.systolic}/{r.diastolic} mmHg" if r is not None else "not measured"


def _gate(protocol: Protocol, vitals: list[VitalSign]) -> Gate:
    pre = [
        v
        for v in vitals
        if v.phase == VitalSign.Phase.PRE and v.systolic is not None and v.struck_by_id is None
    ]
    last = pre[-1] if pre else None
    limit = f"{protocol.bp_gate_systolic}/{protocol.bp_gate_diastolic} mmHg"
    blocked = last is None or monitoring.over_bp_gate(
        monitoring.Vitals(last.systolic, last.diastolic),
        systolic_max=protocol.bp_gate_systolic,
        diastolic_max=protocol.bp_gate_diastolic,
    )
    return Gate(blocked=blocked, reading=last, limit_text=limit)


def bp_gate(session: TreatmentSession) -> Gate:
    """Whether the last pre-dose blood pressure blocks the start. One query."""
    vitals = list(VitalSign.objects.filter(session=session).order_by("taken_at", "id"))
    return _gate(rules.get(session.protocol), vitals)


@dataclass(frozen=True, slots=True)
class Due:
    what: str
    minutes: int
    done: bool


@dataclass(frozen=True, slots=True)
class Flowsheet:
    session: TreatmentSession
    protocol: Protocol
    order: DoseOrder | None
    superseded_orders: list[DoseOrder]
    vitals: list[VitalSign]
    sedation: list[SedationRating]
    scales: list[SessionScale]
    adverse_events: list[AdverseEvent]
    amendments: list[SessionAmendment]
    rems: RemsRecord | None
    gate: Gate
    alarms: list[tuple[VitalSign, str]]
    unanswered_alarms: list[str]
    last_spo2: int | None
    post_dose_bp: bool
    schedule: list[Due]
    next_vitals_at: datetime.datetime | None
    vitals_overdue: bool
    earliest_discharge_at: datetime.datetime | None
    oversedated: bool

    @property
    def state(self) -> str:
        s = self.session
        if s.locked:
            return "signed"
        if s.discharged_at:
            return "discharged"
        if s.dose_stopped_at:
            return "recovery"
        if s.dose_started_at:
            return "dosing"
        return "checked in"


def _session_queryset() -> Any:
    # Staff are fetched once for the whole page (_attach_staff) rather than joined to every row:
    # a dozen user joins made compiling the SQL the largest cost of the page.
    return TreatmentSession.objects.select_related("patient", "plan", "appointment__chair").prefetch_related(
        Prefetch("orders", queryset=DoseOrder.objects.order_by("ordered_at", "id")),
        Prefetch("vitals", queryset=VitalSign.objects.order_by("taken_at", "id")),
        Prefetch("sedation", queryset=SedationRating.objects.order_by("rated_at", "id")),
        Prefetch(
            "scales",
            # The page shows totals, bands and flags; the item answers stay in the database.
            queryset=SessionScale.objects.select_related("response")
            .defer("response__answers", "response__item_scores")
            .order_by("response__administered_at", "id"),
        ),
        Prefetch("adverse_events", queryset=AdverseEvent.objects.order_by("onset_at", "id")),
    )


def _load(sessions: list[TreatmentSession]) -> list[TreatmentSession]:
    """Amendments exist only on signed sessions: fetch them only for those; then the staff."""
    locked = [s for s in sessions if s.locked_at is not None]
    if locked:
        prefetch_related_objects(
            locked, Prefetch("amendments", queryset=SessionAmendment.objects.order_by("made_at", "id"))
        )
    for s in sessions:
        if s.locked_at is None:
            cache = s.__dict__.setdefault("_prefetched_objects_cache", {})
            cache["amendments"] = SessionAmendment.objects.none()
    _attach_staff(sessions)
    return sessions


_SESSION_STAFF = (
    "checked_in_by",
    "gate_override_by",
    "discharged_by",
    "nurse_signed_by",
    "physician_signed_by",
)


def _attach_staff(sessions: list[TreatmentSession]) -> None:
    """Set every staff foreign key the pages show from one query for all the users involved."""
    rows: list[tuple[Any, tuple[str, ...]]] = []
    for s in sessions:
        rows.append((s, _SESSION_STAFF))
        rows += [(o, ("ordered_by", "verified_by")) for o in s.orders.all()]
        rows += [(v, ("entered_by",)) for v in s.vitals.all()]
        rows += [(e, ("recorded_by",)) for e in s.adverse_events.all()]
        rows += [(a, ("made_by",)) for a in s.amendments.all()]
    ids = {getattr(obj, f"{name}_id") for obj, names in rows for name in names} - {None}
    users = get_user_model().objects.in_bulk(ids) if ids else {}
    for obj, names in rows:
        for name in names:
            user_id = getattr(obj, f"{name}_id")
            if user_id is not None:
                setattr(obj, name, users[user_id])


def flowsheet(session: TreatmentSession) -> Flowsheet:
    """Everything the session page shows, already computed: the gate, alarms, what is due."""
    full = _load([_session_queryset().get(pk=session.pk)])[0]
    return _flowsheet(full)


def session_page(*, session_id: int) -> Flowsheet:
    """The session page's data: 7 queries (8 once signed) whatever the flowsheet holds."""
    full = _load([_session_queryset().get(pk=session_id)])[0]
    return _flowsheet(full)


def _flowsheet(s: TreatmentSession) -> Flowsheet:
    protocol = rules.get(s.protocol)
    orders = list(s.orders.all())
    current = next((o for o in orders if o.superseded_at is None), None)
    vitals = list(s.vitals.all())
    standing = [v for v in vitals if v.struck_by_id is None]
    sedation = list(s.sedation.all())
    scales = list(s.scales.all())
    events = list(s.adverse_events.all())
    kinds = {e.kind for e in events}
    alarms = [(v, monitoring.ALARM_LABELS[monitoring.Alarm(a)]) for v in standing for a in v.alarms]
    unanswered = sorted(
        {
            monitoring.ALARM_LABELS[monitoring.Alarm(a)]
            for v in standing
            for a in v.alarms
            if monitoring.ALARM_EVENT[monitoring.Alarm(a)].value not in kinds
        }
    )
    spo2 = [v.spo2 for v in standing if v.spo2 is not None]
    post_bp = any(
        v.systolic is not None
        and v.minutes_after_dose is not None
        and POST_BP_WINDOW_MIN[0] <= v.minutes_after_dose <= POST_BP_WINDOW_MIN[1]
        for v in standing
    )
    schedule: list[Due] = []
    rated = [
        sc.response.minutes_after_dose for sc in scales if sc.purpose == SessionScale.Purpose.DISSOCIATION
    ]
    for minute in protocol.cadss_at_min:
        schedule.append(Due("CADSS", minute, any(m is not None and abs(m - minute) <= 10 for m in rated)))
    sedated = [r.minutes_after_dose for r in sedation]
    for minute in protocol.sedation_at_min:
        schedule.append(Due("MOAA/S", minute, any(m is not None and abs(m - minute) <= 10 for m in sedated)))
    schedule.sort(key=lambda d: (d.minutes, d.what))
    next_at = None
    earliest = None
    if s.dose_started_at is not None:
        earliest = s.dose_started_at + datetime.timedelta(minutes=protocol.min_monitoring_min)
        if s.discharged_at is None:
            last = max((v.taken_at for v in standing), default=s.dose_started_at)
            next_at = max(last, s.dose_started_at) + datetime.timedelta(minutes=protocol.vitals_interval_min)
    return Flowsheet(
        session=s,
        protocol=protocol,
        order=current,
        superseded_orders=[o for o in orders if o.superseded_at is not None],
        vitals=vitals,
        sedation=sedation,
        scales=scales,
        adverse_events=events,
        amendments=list(s.amendments.all()),
        rems=RemsRecord.objects.filter(session=s).first() if s.is_esketamine else None,
        gate=_gate(protocol, vitals),
        alarms=alarms,
        unanswered_alarms=unanswered,
        last_spo2=spo2[-1] if spo2 else None,
        post_dose_bp=post_bp,
        schedule=schedule,
        next_vitals_at=next_at,
        # More than 5 minutes past the protocol's interval with the patient still in the chair.
        vitals_overdue=next_at is not None and timezone.now() > next_at + datetime.timedelta(minutes=5),
        earliest_discharge_at=earliest,
        oversedated=any(monitoring.oversedated(r.moaas) for r in sedation),
    )


def session_snapshot(session: TreatmentSession) -> dict[str, Any]:
    """The signed content of a session: what the signature covers."""
    return snapshot_of(flowsheet(session))


def flowsheets(*, session_ids: list[int]) -> list[Flowsheet]:
    """Many sessions' pages at once (for loaders that sign in bulk). A fixed number of queries."""
    sessions = _load(list(_session_queryset().filter(pk__in=session_ids).order_by("pk")))
    return [_flowsheet(s) for s in sessions]


def snapshot_of(page: Flowsheet) -> dict[str, Any]:
    s = page.session

    def ts(value: datetime.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "session": s.pk,
        "patient": s.patient_id,
        "protocol": s.protocol,
        "checked_in_at": ts(s.checked_in_at),
        "weight_kg": str(s.weight_kg),
        "concomitant": s.concomitant,
        "gate_override": [s.gate_override_by_id, ts(s.gate_override_at), s.gate_override_reason],
        "dose": [ts(s.dose_started_at), ts(s.dose_stopped_at)],
        "orders": [
            [
                o.pk,
                str(o.dose_mg),
                str(o.rate_ml_per_h),
                o.ordered_by_id,
                o.verified_by_id,
                ts(o.superseded_at),
            ]
            for o in page.superseded_orders + ([page.order] if page.order else [])
        ],
        # What was signed: rows added later by an amendment, and the striking through of a signed
        # reading, are the amendment's, so an amendment never breaks the original signature.
        "vitals": [
            [v.pk, ts(v.taken_at), v.systolic, v.diastolic, v.heart_rate, v.spo2, v.resp_rate]
            for v in page.vitals
            if v.amendment_id is None
        ],
        "sedation": [[r.pk, ts(r.rated_at), r.moaas] for r in page.sedation],
        "scales": [[sc.response_id, sc.purpose, sc.response.total] for sc in page.scales],
        "adverse_events": [
            [e.pk, e.kind, e.severity, e.serious, e.action_taken, e.description]
            for e in page.adverse_events
            if e.amendment_id is None
        ],
        "discharge": [ts(s.discharged_at), s.discharged_by_id, s.discharge_criteria],
        "signed": [
            s.nurse_signed_by_id,
            ts(s.nurse_signed_at),
            s.physician_signed_by_id,
            ts(s.physician_signed_at),
        ],
        "notes": s.notes,
    }


def rems_pending(*, limit: int = 200) -> list[RemsRecord]:
    """Esketamine sessions whose REMS form is not marked submitted, oldest (most urgent) first.
    One query."""
    return list(
        RemsRecord.objects.filter(submitted_at__isnull=True)
        .select_related("session", "patient")
        .order_by("due_on", "session__checked_in_at", "id")[:limit]
    )


@dataclass(frozen=True, slots=True)
class RemsForm:
    page: Flowsheet
    first_treatment: bool
    bp_before: VitalSign | None
    bp_40: VitalSign | None
    bp_end: VitalSign | None
    vitals_in_range_before: bool | None
    vitals_in_range_end: bool | None
    total_minutes: int | None
    max_cadss: int | None
    min_moaas: int | None
    serious_events: list[AdverseEvent]


def rems_form(*, session_id: int) -> RemsForm:
    """The fields of the REMS patient monitoring form, taken from the session record."""
    page = session_page(session_id=session_id)
    s = page.session
    standing = [v for v in page.vitals if v.struck_by_id is None and v.systolic is not None]
    before = [v for v in standing if v.phase == VitalSign.Phase.PRE]
    around_40 = [
        v
        for v in standing
        if v.minutes_after_dose is not None
        and POST_BP_WINDOW_MIN[0] <= v.minutes_after_dose <= POST_BP_WINDOW_MIN[1]
    ]
    after = [v for v in standing if v.phase != VitalSign.Phase.PRE]

    def in_range(v: VitalSign | None) -> bool | None:
        if v is None:
            return None
        return not monitoring.over_bp_gate(
            monitoring.Vitals(v.systolic, v.diastolic),
            systolic_max=page.protocol.bp_gate_systolic,
            diastolic_max=page.protocol.bp_gate_diastolic,
        )

    bp_40 = (
        min(around_40, key=lambda v: abs((v.minutes_after_dose or 0) - ESKETAMINE_POST_BP_MIN))
        if around_40
        else None
    )
    end = s.discharged_at
    total = int((end - s.dose_started_at).total_seconds() // 60) if end and s.dose_started_at else None
    cadss = [sc.response.total for sc in page.scales if sc.purpose == SessionScale.Purpose.DISSOCIATION]
    return RemsForm(
        page=page,
        first_treatment=s.number == 1,
        bp_before=before[-1] if before else None,
        bp_40=bp_40,
        bp_end=after[-1] if after else None,
        vitals_in_range_before=in_range(before[-1] if before else None),
        vitals_in_range_end=in_range(after[-1] if after else None),
        total_minutes=total,
        max_cadss=max((c for c in cadss if c is not None), default=None),
        min_moaas=min((r.moaas for r in page.sedation), default=None),
        serious_events=[e for e in page.adverse_events if e.serious],
    )


@dataclass(frozen=True, slots=True)
class ChartSession:
    id: int
    number: int
    route: str
    route_label: str
    checked_in_at: datetime.datetime
    dose_started_at: datetime.datetime | None
    dose_mg: Any
    dose_mg_per_kg: Any
    events: list[str]
    pre: str
    post: str
    state: str


def chart_sessions(*, patient_id: int, limit: int = 50) -> list[ChartSession]:
    """The chart's session list: dose, route, adverse events, pre/post scores. Four queries."""
    sessions = list(
        TreatmentSession.objects.filter(patient_id=patient_id)
        .order_by("-checked_in_at", "-id")
        .prefetch_related(
            Prefetch("orders", queryset=DoseOrder.objects.filter(superseded_at__isnull=True)),
            Prefetch("adverse_events", queryset=AdverseEvent.objects.order_by("onset_at")),
            Prefetch(
                "scales",
                queryset=SessionScale.objects.filter(
                    ~Q(purpose=SessionScale.Purpose.DISSOCIATION)
                ).select_related("response"),
            ),
        )[:limit]
    )
    rows = []
    for s in sessions:
        order = next(iter(s.orders.all()), None)
        scales = list(s.scales.all())

        def score(purpose: str, scales: list[SessionScale] = scales) -> str:
            found = [sc.response for sc in scales if sc.purpose == purpose]
            return ", ".join(
                f"{r.instrument.upper()} {r.total if r.total is not None else '-'}" for r in found
            )

        state = (
            "signed"
            if s.locked
            else "discharged"
            if s.discharged_at
            else "in progress"
            if s.dose_started_at
            else "checked in"
        )
        rows.append(
            ChartSession(
                id=s.pk,
                number=s.number,
                route=s.route,
                route_label=s.get_route_display(),
                checked_in_at=s.checked_in_at,
                dose_started_at=s.dose_started_at,
                dose_mg=order.dose_mg if order else None,
                dose_mg_per_kg=order.dose_mg_per_kg if order else None,
                events=[f"{e.get_kind_display()} ({e.severity})" for e in s.adverse_events.all()],
                pre=score(SessionScale.Purpose.PRE),
                post=score(SessionScale.Purpose.POST),
                state=state,
            )
        )
    return rows


def dose_times(*, patient_id: int) -> list[datetime.datetime]:
    """When each of the patient's treatments started, oldest first (for the trajectory plot)."""
    times = (
        TreatmentSession.objects.filter(patient_id=patient_id, dose_started_at__isnull=False)
        .order_by("dose_started_at")
        .values_list("dose_started_at", flat=True)
    )
    return [t for t in times if t is not None]

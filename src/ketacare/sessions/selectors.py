"""Reads for the session page, its signature snapshot, the REMS list and form, and the chart.
The session page costs the same number of queries however full its flowsheet is."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.utils import timezone

from ketacare.clinical import monitoring
from ketacare.clinical.protocols import DISCHARGE_SPO2_ABOVE, ESKETAMINE_POST_BP_MIN, Protocol
from ketacare.measures.models import SafetyAlert
from ketacare.patients.models import ConsentSignature
from ketacare.patients.selectors import consent_withdrawals
from ketacare.sessions.models import (
    AdverseEvent,
    AlarmAcknowledgement,
    DeviceDose,
    DoseOrder,
    RemsEnrolment,
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
    skipped: str = ""  # the reason, when skipped


@dataclass(frozen=True, slots=True)
class RaisedAlarm:
    at: datetime.datetime
    code: str
    label: str
    urgent: bool
    answered: str  # how it was answered, in words; empty while unanswered


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
    alarms: list[RaisedAlarm]
    unanswered_alarms: list[str]
    unanswered_codes: list[str]
    devices: list[DeviceDose]
    session_alerts: list[SafetyAlert]
    rems_enrolment: RemsEnrolment | None
    last_spo2: int | None
    post_dose_bp: bool
    schedule: list[Due]
    next_vitals_at: datetime.datetime | None
    vitals_overdue: bool
    earliest_discharge_at: datetime.datetime | None
    oversedated: bool
    # The patient's withdrawal of their consent to the session's route, when they have not signed
    # it again: the session page and the Today board say it loudly (read for an open session).
    consent_withdrawal: ConsentSignature | None = None

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
        Prefetch("devices", queryset=DeviceDose.objects.order_by("number")),
        Prefetch("alarm_acks", queryset=AlarmAcknowledgement.objects.order_by("acknowledged_at", "id")),
    )


def _load(sessions: list[TreatmentSession]) -> list[TreatmentSession]:
    """The amendments (after signing, and readings struck out during the session), then the
    staff."""
    if sessions:
        prefetch_related_objects(
            sessions, Prefetch("amendments", queryset=SessionAmendment.objects.order_by("made_at", "id"))
        )
    _attach_staff(sessions)
    return sessions


_SESSION_STAFF = (
    "checked_in_by",
    "gate_override_by",
    "discharged_by",
    "nurse_signed_by",
    "physician_signed_by",
    "risk_assessment_by",
    "discharge_override_by",
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
        rows += [(k, ("acknowledged_by",)) for k in s.alarm_acks.all()]
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
    """The session page's data: 8 queries (7 once signed: a withdrawal of consent is looked for
    only while the session is open) whatever the flowsheet holds."""
    full = _load([_session_queryset().get(pk=session_id)])[0]
    withdrawal = None
    if not full.locked:
        withdrawal = _withdrawals([full]).get(full.pk)
    return _flowsheet(full, withdrawal=withdrawal)


def _withdrawals(sessions: list[TreatmentSession]) -> dict[int, ConsentSignature]:
    """By session id, the patient's standing withdrawal of their consent to the session's route.
    One query for all the sessions."""
    found = consent_withdrawals(patient_ids={s.patient_id for s in sessions})
    result = {}
    for s in sessions:
        withdrawal = found.get((s.patient_id, rules.get(s.protocol).candidacy_route.value))
        if withdrawal is not None:
            result[s.pk] = withdrawal
    return result


def _raised_alarms(
    standing: list[VitalSign],
    sedation: list[SedationRating],
    events: list[AdverseEvent],
    acks: list[AlarmAcknowledgement],
) -> list[RaisedAlarm]:
    """Every alarm of the session, oldest first, each with how it was answered: by an adverse
    event of its kind recorded at or after it, or by an acknowledgement made at or after it."""
    raised: list[tuple[datetime.datetime, str]] = [(v.taken_at, a) for v in standing for a in v.alarms]
    raised += [(r.rated_at, r.alarm) for r in sedation if r.alarm]
    out = []
    for at, code in sorted(raised):
        alarm = monitoring.Alarm(code)
        kind = monitoring.ALARM_EVENT[alarm].value
        event = next((e for e in events if e.kind == kind and e.recorded_at >= at), None)
        ack = next((k for k in acks if k.alarm == code and k.acknowledged_at >= at), None)
        if event is not None:
            answered = f"adverse event: {event.get_kind_display()}"
        elif ack is not None:
            who = ack.acknowledged_by.get_full_name() or ack.acknowledged_by.get_username()
            answered = f"acknowledged by {who}: {ack.note}"
        else:
            answered = ""
        out.append(
            RaisedAlarm(
                at=at,
                code=code,
                label=monitoring.ALARM_LABELS[alarm],
                urgent=alarm in monitoring.URGENT_ALARMS,
                answered=answered,
            )
        )
    return out


def session_alerts(s: TreatmentSession) -> list[SafetyAlert]:
    """Safety alerts raised for the patient since check-in, and any urgent one still open. One
    query."""
    return list(
        SafetyAlert.objects.filter(patient_id=s.patient_id)
        .filter(
            Q(created_at__gte=s.checked_in_at)
            | Q(acknowledged_at__isnull=True, priority=SafetyAlert.Priority.URGENT)
        )
        .select_related("response")
        .defer("response__answers", "response__item_scores")
        .order_by("-created_at", "-id")[:20]
    )


_LOOK_UP = object()  # _flowsheet's default: read the session's own REMS record, enrolment and alerts


def _flowsheet(
    s: TreatmentSession,
    *,
    alerts: list[SafetyAlert] | None = None,
    rems: Any = _LOOK_UP,
    enrolment: Any = _LOOK_UP,
    withdrawal: ConsentSignature | None = None,
) -> Flowsheet:
    """The session's page, computed. A caller that reads many sessions at once (the Today board)
    passes the alerts, REMS record and enrolment it read in bulk, so that nothing here queries."""
    protocol = rules.get(s.protocol)
    orders = list(s.orders.all())
    current = next((o for o in orders if o.superseded_at is None), None)
    vitals = list(s.vitals.all())
    standing = [v for v in vitals if v.struck_by_id is None]
    sedation = list(s.sedation.all())
    scales = list(s.scales.all())
    events = list(s.adverse_events.all())
    raised = _raised_alarms(standing, sedation, events, list(s.alarm_acks.all()))
    unanswered = [a for a in raised if not a.answered]
    spo2 = [v.spo2 for v in standing if v.spo2 is not None]
    post_bp = any(
        v.systolic is not None
        and v.minutes_after_dose is not None
        and POST_BP_WINDOW_MIN[0] <= v.minutes_after_dose <= POST_BP_WINDOW_MIN[1]
        for v in standing
    )
    skipped = {(k["what"], k["minutes"]): k["reason"] for k in s.skipped_ratings}
    schedule: list[Due] = []
    rated = [
        sc.response.minutes_after_dose for sc in scales if sc.purpose == SessionScale.Purpose.DISSOCIATION
    ]
    for minute in protocol.cadss_at_min:
        done = any(m is not None and abs(m - minute) <= 10 for m in rated)
        schedule.append(
            Due("CADSS", minute, done or ("CADSS", minute) in skipped, skipped.get(("CADSS", minute), ""))
        )
    sedated = [r.minutes_after_dose for r in sedation]
    for minute in protocol.sedation_at_min:
        done = any(m is not None and abs(m - minute) <= 10 for m in sedated)
        schedule.append(
            Due("MOAA/S", minute, done or ("MOAA/S", minute) in skipped, skipped.get(("MOAA/S", minute), ""))
        )
    schedule.sort(key=lambda d: (d.minutes, d.what))
    next_at = None
    earliest = None
    if s.dose_started_at is not None:
        candidates = [s.dose_started_at + datetime.timedelta(minutes=protocol.min_monitoring_min)]
        post_infusion = getattr(protocol, "post_infusion_min", None)
        if post_infusion is not None:
            if s.dose_stopped_at is not None:
                candidates.append(s.dose_stopped_at + datetime.timedelta(minutes=post_infusion))
            if schedule:
                candidates.append(s.dose_started_at + datetime.timedelta(minutes=schedule[-1].minutes))
        earliest = max(candidates)
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
        rems=(RemsRecord.objects.filter(session=s).first() if s.is_esketamine else None)
        if rems is _LOOK_UP
        else rems,
        gate=_gate(protocol, vitals),
        alarms=raised,
        unanswered_alarms=sorted({a.label for a in unanswered}),
        unanswered_codes=sorted({a.code for a in unanswered}),
        devices=list(s.devices.all()),
        session_alerts=alerts if alerts is not None else session_alerts(s) if not s.locked else [],
        rems_enrolment=(
            RemsEnrolment.objects.filter(patient_id=s.patient_id).first()
            if s.is_esketamine and s.dose_started_at is None
            else None
        )
        if enrolment is _LOOK_UP
        else enrolment,
        last_spo2=spo2[-1] if spo2 else None,
        post_dose_bp=post_bp,
        schedule=schedule,
        consent_withdrawal=withdrawal,
        next_vitals_at=next_at,
        vitals_overdue=monitoring.vitals_overdue(
            next_at, timezone.now(), margin_min=protocol.vitals_overdue_after_min
        ),
        earliest_discharge_at=earliest,
        oversedated=any(monitoring.oversedated(r.moaas) for r in sedation),
    )


def discharge_assessment(
    page: Flowsheet, *, now: datetime.datetime | None = None
) -> list[monitoring.Criterion]:
    """The computed discharge criteria for the session as it stands (reference section 5)."""
    s, protocol = page.session, page.protocol
    local = timezone.localtime
    standing = [v for v in page.vitals if v.struck_by_id is None]
    started = s.dose_started_at
    pre = [v for v in standing if v.phase == VitalSign.Phase.PRE and v.systolic is not None]
    after = [
        (local(v.taken_at), monitoring.Vitals(v.systolic, v.diastolic, v.heart_rate, v.spo2, v.resp_rate))
        for v in standing
        if started is not None and v.taken_at >= started
    ]
    moaas = [
        (local(r.rated_at), r.moaas) for r in page.sedation if started is not None and r.rated_at >= started
    ]
    return monitoring.discharge_assessment(
        monitoring.DischargeFacts(
            now=local(now or timezone.now()),
            dose_started_at=local(started) if started else None,
            dose_stopped_at=local(s.dose_stopped_at) if s.dose_stopped_at else None,
            min_monitoring_min=protocol.min_monitoring_min,
            post_infusion_min=getattr(protocol, "post_infusion_min", None),
            last_rating_min=page.schedule[-1].minutes if page.schedule else None,
            ratings_pending=[f"{d.what} at {d.minutes} min" for d in page.schedule if not d.done],
            pre_dose=monitoring.Vitals(pre[-1].systolic, pre[-1].diastolic) if pre else None,
            after_dose=after,
            moaas_after_dose=moaas,
            gate_systolic=protocol.bp_gate_systolic,
            gate_diastolic=protocol.bp_gate_diastolic,
        )
    )


def session_snapshot(session: TreatmentSession) -> dict[str, Any]:
    """The signed content of a session: what the signature covers."""
    return snapshot_of(flowsheet(session))


def flowsheets(*, session_ids: list[int]) -> list[Flowsheet]:
    """Many sessions' pages at once (for loaders that sign in bulk). A fixed number of queries."""
    sessions = _load(list(_session_queryset().filter(pk__in=session_ids).order_by("pk")))
    return [_flowsheet(s) for s in sessions]


BOARD_SESSIONS = 60  # more than a clinic's chairs hold in a day; the board lists at most these


@dataclass(frozen=True, slots=True)
class BoardSession:
    """One session as the Today board shows it: the step the patient is at, what is due next,
    and everything that needs a clinician now."""

    page: Flowsheet
    step: str  # checked in, dosing, monitoring, ready to leave, discharged
    next_action: str
    in_chair_min: int
    # Loud items, each in words: unanswered alarms, the gate, oversedation, overdue vitals,
    # ratings due, open urgent safety alerts.
    warnings: list[str]
    alerts: list[SafetyAlert]

    @property
    def session(self) -> TreatmentSession:
        return self.page.session

    @property
    def chair_id(self) -> int | None:
        appointment = self.page.session.appointment
        return appointment.chair_id if appointment is not None else None


def _hhmm(at: datetime.datetime) -> str:
    return f"{timezone.localtime(at):%H:%M}"


def _withdrawal_words(withdrawal: ConsentSignature) -> str:
    at = timezone.localtime(withdrawal.withdrawn_at) if withdrawal.withdrawn_at else None
    when = f"{at:%Y-%m-%d %H:%M}" if at is not None else ""
    return (
        f"Consent withdrawn {when} ({withdrawal.get_withdrawn_how_display().lower()}): "
        "no dose; talk with the patient"
    )


def _next_action(page: Flowsheet, step: str, now: datetime.datetime, unmet: list[str]) -> str:
    s = page.session
    if step == "checked in":
        if page.gate.blocked and s.gate_override_at is None:
            return (
                f"Blood pressure {page.gate.reading_text}: over the gate; recheck, or a physician overrides"
            )
        if page.order is None:
            return "A physician orders the dose"
        if not page.order.verified:
            return "A second clinician verifies the dose"
        return "Start the dose"
    if step == "ready to leave":
        return "Discharge: every criterion is met"
    if step == "discharged":
        waiting = [
            who for who, at in (("nurse", s.nurse_signed_at), ("physician", s.physician_signed_at)) if not at
        ]
        return f"Sign the record ({' and '.join(waiting)})"
    parts = []
    if page.next_vitals_at is not None:
        parts.append(
            f"Vitals overdue since {_hhmm(page.next_vitals_at)}"
            if page.vitals_overdue
            else f"Vitals due {_hhmm(page.next_vitals_at)}"
        )
    if step == "monitoring" and page.earliest_discharge_at is not None and page.earliest_discharge_at > now:
        parts.append(f"discharge from {_hhmm(page.earliest_discharge_at)}")
    elif step == "monitoring" and unmet:
        parts.append("not yet: " + "; ".join(unmet))
    return ", ".join(parts) or "Monitoring"


def board(*, now: datetime.datetime | None = None, limit: int = BOARD_SESSIONS) -> list[BoardSession]:
    """Every live session not yet signed, oldest check-in first: the patients in the chairs, those
    ready to leave, and any record still waiting for a signature (an earlier day's unsigned session
    stays in view until it is signed). Twelve queries whatever the number of sessions; one when
    there is none."""
    now = now or timezone.now()
    # The open sessions' ids first, through their partial index (one query, and the only one on
    # a day with nobody in a chair); then their flowsheets.
    ids = list(
        TreatmentSession.objects.filter(locked_at__isnull=True, source=TreatmentSession.Source.LIVE)
        .order_by("checked_in_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    if not ids:
        return []
    sessions = _load(list(_session_queryset().filter(pk__in=ids).order_by("checked_in_at", "id")))
    open_alerts: dict[int, list[SafetyAlert]] = {}
    if sessions:
        for alert in (
            SafetyAlert.objects.filter(
                patient_id__in={s.patient_id for s in sessions}, acknowledged_at__isnull=True
            )
            .only("id", "patient_id", "priority", "created_at", "flags")
            .order_by("priority", "created_at", "id")
        ):
            open_alerts.setdefault(alert.patient_id, []).append(alert)
    withdrawals = _withdrawals(sessions)
    rows = []
    for s in sessions:
        alerts = open_alerts.get(s.patient_id, [])
        page = _flowsheet(s, alerts=alerts, rems=None, enrolment=None, withdrawal=withdrawals.get(s.pk))
        unmet: list[str] = []
        if s.discharged_at is not None:
            step = "discharged"
        elif s.dose_started_at is None:
            step = "checked in"
        elif s.dose_stopped_at is None:
            step = "dosing"
        else:
            unmet = [c.label for c in discharge_assessment(page, now=now) if not c.met]
            step = "monitoring" if unmet else "ready to leave"
        warnings = [f"Alarm: {label}" for label in page.unanswered_alarms]
        if page.consent_withdrawal is not None and page.consent_withdrawal.withdrawn_at is not None:
            warnings.insert(0, _withdrawal_words(page.consent_withdrawal))
        if step == "checked in" and page.gate.blocked and s.gate_override_at is None:
            warnings.append(f"Blood pressure {page.gate.reading_text} over the gate ({page.gate.limit_text})")
        if page.vitals_overdue and page.next_vitals_at is not None:
            warnings.append(f"Vitals overdue since {_hhmm(page.next_vitals_at)}")
        elapsed = minutes_from(s.dose_started_at, now)
        if elapsed is not None and s.discharged_at is None:
            due = [d for d in page.schedule if not d.done and d.minutes <= elapsed]
            warnings += [f"{d.what} due ({d.minutes} min)" for d in due]
        warnings += [f"Urgent safety alert: {alert.flag_labels}" for alert in alerts if alert.is_urgent]
        rows.append(
            BoardSession(
                page=page,
                step=step,
                next_action=_next_action(page, step, now, unmet),
                in_chair_min=minutes_from(s.checked_in_at, s.discharged_at or now) or 0,
                warnings=warnings,
                alerts=alerts,
            )
        )
    return rows


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
        # Added with the chair-safety checks: included only where recorded, so sessions signed
        # before them keep a valid signature.
        **_safety_snapshot(page),
    }


def version_of(page: Flowsheet) -> str:
    """A short digest of what a clinician can change on the session page: every row added
    (readings and their striking out, orders and their verification, ratings, scales, events,
    devices, amendments), every step's time, the checklist, the safety log and the signatures.
    Two pages with the same version show the same record (the page's live refresh compares it;
    rows are never edited in place, only added or struck out, so ids and times say it all)."""
    s = page.session
    orders = [*page.superseded_orders, *([page.order] if page.order else [])]
    state = (
        s.weight_kg,
        s.checklist,
        len(s.checklist_findings),
        len(s.safety_log),
        len(s.skipped_ratings),
        s.gate_override_at,
        s.risk_assessment_at,
        s.dose_started_at,
        s.dose_stopped_at,
        s.discharged_at,
        s.nurse_signed_at,
        s.physician_signed_at,
        s.locked_at,
        [(o.pk, o.verified_at, o.superseded_at) for o in orders],
        [(v.pk, v.struck_by_id) for v in page.vitals],
        [r.pk for r in page.sedation],
        [sc.pk for sc in page.scales],
        [e.pk for e in page.adverse_events],
        [d.pk for d in page.devices],
        page.consent_withdrawal.pk if page.consent_withdrawal is not None else None,
        [a.pk for a in page.amendments],
        [a.answered for a in page.alarms],
        (page.rems.pk, page.rems.submitted_at) if page.rems else None,
    )
    return hashlib.sha256(repr(state).encode()).hexdigest()[:20]


def _safety_snapshot(page: Flowsheet) -> dict[str, Any]:
    s = page.session
    out: dict[str, Any] = {}
    if s.checklist:
        out["checklist"] = [s.checklist, s.checklist_findings, s.escort_name, s.escort_phone]
    if s.given_dose_mg is not None:
        out["given"] = [str(s.given_dose_mg), str(s.infused_volume_ml), s.stop_reason, str(s.waste_mg)]
    if page.order is not None and page.order.prepared_dose_mg is not None:
        out["prepared_dose_mg"] = str(page.order.prepared_dose_mg)
    if page.devices:
        out["devices"] = [[d.number, d.given_at.isoformat()] for d in page.devices]
    acks = list(s.alarm_acks.all())
    if acks:
        out["alarm_acks"] = [
            [k.alarm, k.note, k.acknowledged_by_id, k.acknowledged_at.isoformat()] for k in acks
        ]
    if s.sedation.all() and any(r.alarm for r in page.sedation):
        out["sedation_alarms"] = [[r.pk, r.alarm] for r in page.sedation if r.alarm]
    if s.skipped_ratings:
        out["skipped_ratings"] = s.skipped_ratings
    if s.discharge_assessment:
        out["discharge_assessment"] = [
            s.discharge_assessment,
            s.discharge_override_by_id,
            s.discharge_override_reason,
        ]
    if s.risk_assessment:
        out["risk_assessment"] = [s.risk_assessment, s.risk_assessment_by_id]
    return out


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
    ready_to_leave_minutes: int | None
    max_cadss: int | None
    min_moaas: int | None
    oversedated: bool  # the lowest MOAA/S was moderate sedation or deeper (clinical.monitoring)
    respiratory_depression: bool
    serious_events: list[AdverseEvent]
    dose_mg: Any


def minutes_from(start: datetime.datetime | None, at: datetime.datetime | None) -> int | None:
    if start is None or at is None:
        return None
    return int((at - start).total_seconds() // 60)


def _in_range(v: VitalSign | None, protocol: Protocol) -> bool | None:
    """REMS "vitals in range": blood pressure within the gate, heart rate with no NEWS2 alarm,
    SpO2 above the discharge threshold (REMS corrections, reference section 5: BP, HR and SpO2)."""
    if v is None:
        return None
    vitals = monitoring.Vitals(v.systolic, v.diastolic, v.heart_rate, v.spo2, v.resp_rate)
    bp_ok = not monitoring.over_bp_gate(
        vitals, systolic_max=protocol.bp_gate_systolic, diastolic_max=protocol.bp_gate_diastolic
    )
    hr_ok = not {monitoring.Alarm.PULSE_LOW, monitoring.Alarm.PULSE_HIGH} & set(
        monitoring.single_parameter_alarms(vitals)
    )
    spo2_ok = v.spo2 is None or v.spo2 > DISCHARGE_SPO2_ABOVE
    return bp_ok and hr_ok and spo2_ok


def rems_form(*, session_id: int) -> RemsForm:
    """The fields of the REMS patient monitoring form, taken from the session record. Times are
    minutes from the first device; "first treatment" is the patient's first esketamine dose ever
    given (an aborted visit does not count)."""
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
    bp_40 = (
        min(around_40, key=lambda v: abs((v.minutes_after_dose or 0) - ESKETAMINE_POST_BP_MIN))
        if around_40
        else None
    )
    first = s.dose_started_at
    earlier = (
        TreatmentSession.objects.filter(
            patient_id=s.patient_id, route="esketamine", dose_started_at__lt=first
        ).exists()
        if first is not None
        else True
    )
    cadss = [sc.response.total for sc in page.scales if sc.purpose == SessionScale.Purpose.DISSOCIATION]
    respiratory = {monitoring.Alarm.SPO2_LOW.value, monitoring.Alarm.RESP_RATE_LOW.value}
    return RemsForm(
        page=page,
        first_treatment=first is not None and not earlier,
        bp_before=before[-1] if before else None,
        bp_40=bp_40,
        bp_end=after[-1] if after else None,
        vitals_in_range_before=_in_range(before[-1] if before else None, page.protocol),
        vitals_in_range_end=_in_range(after[-1] if after else None, page.protocol),
        total_minutes=minutes_from(first, s.discharged_at),
        ready_to_leave_minutes=minutes_from(first, page.rems.ready_to_leave_at if page.rems else None),
        max_cadss=max((c for c in cadss if c is not None), default=None),
        min_moaas=min((r.moaas for r in page.sedation), default=None),
        oversedated=monitoring.oversedated(min((r.moaas for r in page.sedation), default=None)),
        respiratory_depression=any(
            e.kind in monitoring.RESPIRATORY_DEPRESSION_EVENTS for e in page.adverse_events
        )
        or any(a.code in respiratory for a in page.alarms),
        serious_events=[e for e in page.adverse_events if e.serious],
        dose_mg=s.given_dose_mg
        if s.given_dose_mg is not None
        else (page.order.dose_given_mg if page.order else None),
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


CHART_SESSIONS = 50  # the newest sessions the chart lists


def chart_sessions(*, patient_id: int, limit: int = CHART_SESSIONS) -> list[ChartSession]:
    """The chart's session list, newest first: dose, route, adverse events, pre/post scores.
    Four queries (one with no sessions)."""
    sessions = list(
        TreatmentSession.objects.filter(patient_id=patient_id)
        .order_by("-checked_in_at", "-id")
        # Only what the list shows: a session row is wide (checklist, safety log, notes ...).
        .only(
            "id",
            "patient_id",
            "number",
            "route",
            "checked_in_at",
            "dose_started_at",
            "given_dose_mg",
            "discharged_at",
            "locked_at",
        )
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
                f"{r.get_instrument_display()} {r.total if r.total is not None else '-'}" for r in found
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
                dose_mg=(s.given_dose_mg if s.given_dose_mg is not None else order.dose_given_mg)
                if order
                else None,
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

"""Session writes, in the order they happen at the chair. Each is one transaction with its audit
event, takes the session row's lock, and refuses to change a signed (locked) session: after
signing, changes are amendments that keep the original."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_record, audit_record_many, spec_for
from ketacare.clinical import dosing, monitoring
from ketacare.clinical.protocols import DISCHARGE_SPO2_ABOVE, REMS_FORM_DUE_DAYS, Protocol
from ketacare.measures.models import Context
from ketacare.measures.services import FUTURE_TOLERANCE, response_record
from ketacare.patients.models import BodyMeasurement
from ketacare.sessions import selectors
from ketacare.sessions.models import (
    CONCOMITANT,
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
from ketacare.treatment.models import Appointment

ORDER_PERMISSION = "treatment_sessions.add_doseorder"
OVERRIDE_PERMISSION = "treatment_sessions.override_bp_gate"
VERIFY_PERMISSION = "treatment_sessions.verify_dose"
SIGN_NURSING = "treatment_sessions.sign_nursing"
SIGN_MEDICAL = "treatment_sessions.sign_medical"


def _user(actor: Actor) -> Any:
    if actor.user is None:
        raise ValidationError("A session is recorded by a signed-in clinician.")
    return actor.user


def _need(user: Any, perm: str, what: str) -> None:
    if not user.has_perm(perm):
        raise ValidationError(what)


def _open(session: TreatmentSession) -> TreatmentSession:
    """The session row, locked for this transaction; refused if signed."""
    locked = TreatmentSession.objects.select_for_update().select_related("patient").get(pk=session.pk)
    if locked.locked:
        raise ValidationError("This session is signed and locked: record a change as an amendment.")
    if locked.source == TreatmentSession.Source.IMPORT:
        raise ValidationError("This session is imported history: it is not changed here.")
    return locked


def _when(at: datetime.datetime | None, field: str) -> datetime.datetime:
    at = at or timezone.now()
    if at > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError({field: "This cannot be dated in the future."})
    return at


def _minutes_after(session: TreatmentSession, at: datetime.datetime) -> int | None:
    if session.dose_started_at is None:
        return None
    return int((at - session.dose_started_at).total_seconds() // 60)


def protocol_of(session: TreatmentSession) -> Protocol:
    return rules.get(session.protocol)


def _log(session: TreatmentSession, *, kind: str, text: str, user: Any) -> None:
    """Keep a refused, safety-relevant action on the session, in its own transaction, so the
    refusal of the action itself does not roll the record back."""
    with transaction.atomic():
        row = TreatmentSession.objects.select_for_update().get(pk=session.pk)
        row.safety_log = [
            *row.safety_log,
            {"at": timezone.now().isoformat(), "kind": kind, "text": text, "by": user.pk},
        ]
        row.save(update_fields=["safety_log"])
        audit_record(
            actor=Actor(user=user), action=Action.UPDATE, obj=row, detail={"refused": kind, "text": text}
        )


@transaction.atomic
def session_check_in(
    *,
    actor: Actor,
    appointment: Appointment,
    weight_kg: Decimal | None,
    height_cm: Decimal | None = None,
    concomitant: Sequence[str] = (),
    fasting_confirmed: bool = False,
    vitals: monitoring.Vitals,
) -> TreatmentSession:
    """Check the patient in for a booked appointment: today's weight, the pre-session vitals and
    (for esketamine) concomitant medicines and fasting. A new weight is also charted."""
    user = _user(actor)
    booked = Appointment.objects.select_for_update().select_related("plan").get(pk=appointment.pk)
    if booked.status != Appointment.Status.BOOKED:
        raise ValidationError(
            f"This appointment is {booked.get_status_display().lower()}; it cannot be checked in."
        )
    if timezone.localtime(booked.starts_at).date() != timezone.localdate():
        raise ValidationError("Only today's appointments can be checked in.")
    protocol = rules.get(booked.plan.protocol)
    errors: dict[str, str] = {}
    unknown = sorted(set(concomitant) - {code for code, _ in CONCOMITANT})
    if unknown:
        errors["concomitant"] = f"Not on the list: {', '.join(unknown)}."
    if protocol.weight_based and weight_kg is None:
        errors["weight_kg"] = "Weigh the patient: the dose is weight-based."
    if booked.plan.route == "esketamine" and not fasting_confirmed:
        errors["fasting_confirmed"] = (
            "Confirm no food for 2 hours and no drink for 30 minutes (Spravato label)."
        )
    problems = monitoring.entry_problems(vitals)
    if vitals.systolic is None and "systolic" not in problems:
        problems["systolic"] = "The pre-session blood pressure is needed for the gate."
    errors.update(problems)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    number = (
        TreatmentSession.objects.filter(patient_id=booked.patient_id, route=booked.plan.route).count() + 1
    )
    session = TreatmentSession(
        patient_id=booked.patient_id,
        plan=booked.plan,
        appointment=booked,
        protocol=booked.plan.protocol,
        route=booked.plan.route,
        number=number,
        checked_in_at=now,
        checked_in_by=user,
        weight_kg=weight_kg,
        height_cm=height_cm,
        concomitant=list(dict.fromkeys(concomitant)),
        fasting_confirmed=fasting_confirmed,
    )
    session.full_clean()
    session.save()
    booked.status = Appointment.Status.ATTENDED
    booked.save(update_fields=["status"])
    records: list[Any] = [session]
    if weight_kg is not None or height_cm is not None:
        measurement = BodyMeasurement(
            patient_id=booked.patient_id, measured_at=now, weight_kg=weight_kg, height_cm=height_cm
        )
        measurement.full_clean()
        measurement.save()
        records.append(measurement)
    records.append(_vitals_row(session, vitals, now, user))
    if session.is_esketamine:
        records.append(
            RemsRecord.objects.create(
                session=session,
                patient_id=session.patient_id,
                due_on=timezone.localdate() + datetime.timedelta(days=REMS_FORM_DUE_DAYS),
            )
        )
    audit_record_many(
        actor=actor,
        specs=[spec_for(r, Action.CREATE) for r in records]
        + [spec_for(booked, Action.UPDATE, {"status": "attended"})],
    )
    return session


def _vitals_row(
    session: TreatmentSession, v: monitoring.Vitals, at: datetime.datetime, user: Any
) -> VitalSign:
    if session.dose_started_at is None or at < session.dose_started_at:
        phase = VitalSign.Phase.PRE
    elif session.dose_stopped_at is None or at <= session.dose_stopped_at:
        phase = VitalSign.Phase.DURING
    else:
        phase = VitalSign.Phase.AFTER
    series = [
        (r.taken_at, monitoring.Vitals(r.systolic, r.diastolic, r.heart_rate, r.spo2, r.resp_rate))
        for r in VitalSign.objects.filter(session=session, struck_by__isnull=True)
    ]
    raised = [alarm.value for when, alarm in monitoring.alarms([*series, (at, v)]) if when == at]
    row = VitalSign(
        session=session,
        patient_id=session.patient_id,
        taken_at=at,
        phase=phase,
        minutes_after_dose=_minutes_after(session, at),
        systolic=v.systolic,
        diastolic=v.diastolic,
        heart_rate=v.heart_rate,
        spo2=v.spo2,
        resp_rate=v.resp_rate,
        highlights=monitoring.highlights(v),
        alarms=raised,
        entered_by=user,
    )
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def vitals_record(
    *,
    actor: Actor,
    session: TreatmentSession,
    vitals: monitoring.Vitals,
    taken_at: datetime.datetime | None = None,
) -> VitalSign:
    """Add a reading to the flowsheet; it is highlighted when out of range and raises the
    protocol's alarms (sustained or critical hypertension, tachycardia)."""
    user = _user(actor)
    current = _open(session)
    problems = monitoring.entry_problems(vitals)
    if problems:
        raise ValidationError(problems)
    at = _when(taken_at, "taken_at")
    if at < current.checked_in_at - FUTURE_TOLERANCE:
        raise ValidationError({"taken_at": "A reading cannot be before check-in."})
    row = _vitals_row(current, vitals, at, user)
    audit_record(
        actor=actor, action=Action.CREATE, obj=row, detail={"alarms": row.alarms} if row.alarms else None
    )
    return row


@transaction.atomic
def gate_override(*, actor: Actor, session: TreatmentSession, reason: str) -> TreatmentSession:
    """A physician lets a session start although the pre-dose blood pressure is over the gate."""
    user = _user(actor)
    _need(user, OVERRIDE_PERMISSION, "Only a physician can override the blood-pressure gate.")
    current = _open(session)
    if not reason.strip():
        raise ValidationError({"reason": "Say why it is safe to start over the gate."})
    gate = selectors.bp_gate(current)
    if not gate.blocked:
        raise ValidationError("The blood pressure is within the gate: there is nothing to override.")
    current.gate_override_by, current.gate_override_at = user, timezone.now()
    current.gate_override_reason = reason.strip()[:300]
    current.save(update_fields=["gate_override_by", "gate_override_at", "gate_override_reason"])
    audit_record(
        actor=actor,
        action=Action.UPDATE,
        obj=current,
        detail={"gate_override": current.gate_override_reason, "bp": gate.reading_text},
    )
    return current


def dose_order(
    *,
    actor: Actor,
    session: TreatmentSession,
    dose_mg_per_kg: Decimal | None = None,
    dose_mg: Decimal | None = None,
    weight_basis: str | None = None,
    concentration_mg_per_ml: Decimal | None = None,
    bag_ml: Decimal | None = None,
    duration_min: int | None = None,
    lot_number: str = "",
) -> DoseOrder:
    """The physician orders the dose; KetaCare calculates it under the protocol. A dose outside
    the protocol's range is refused, and the refusal is kept on the session."""
    user = _user(actor)
    _need(user, ORDER_PERMISSION, "Only a physician can order a dose.")
    try:
        return _dose_order(
            actor=actor,
            user=user,
            session=session,
            dose_mg_per_kg=dose_mg_per_kg,
            dose_mg=dose_mg,
            weight_basis=weight_basis,
            concentration_mg_per_ml=concentration_mg_per_ml,
            bag_ml=bag_ml,
            duration_min=duration_min,
            lot_number=lot_number,
        )
    except dosing.DoseError as exc:
        if exc.field in {"dose_mg_per_kg", "dose_mg"}:
            _log(session, kind="dose_refused", text=str(exc), user=user)
        raise ValidationError({exc.field: exc.message}) from None


@transaction.atomic
def _dose_order(
    *,
    actor: Actor,
    user: Any,
    session: TreatmentSession,
    dose_mg_per_kg: Decimal | None,
    dose_mg: Decimal | None,
    weight_basis: str | None,
    concentration_mg_per_ml: Decimal | None,
    bag_ml: Decimal | None,
    duration_min: int | None,
    lot_number: str,
) -> DoseOrder:
    current = _open(session)
    if current.dose_started_at is not None:
        raise ValidationError("The dose has started: the order cannot change now.")
    if current.is_esketamine and not lot_number.strip():
        raise ValidationError({"lot_number": "Give the lot number: the REMS form records it."})
    protocol = protocol_of(current)
    plan_basis = current.plan.weight_basis if current.plan is not None else ""
    first = (
        current.is_esketamine
        and not DoseOrder.objects.filter(
            session__patient_id=current.patient_id,
            session__route="esketamine",
            superseded_at__isnull=True,
            session__dose_started_at__isnull=False,
        ).exists()
    )
    dose = dosing.calculate(
        protocol,
        weight_kg=current.weight_kg,
        height_cm=current.height_cm,
        sex=current.patient.sex,
        weight_basis=weight_basis or plan_basis or None,
        dose_mg_per_kg=dose_mg_per_kg if protocol.weight_based else None,
        dose_mg=dose_mg if not protocol.weight_based else None,
        duration_min=duration_min,
        concentration_mg_per_ml=concentration_mg_per_ml,
        bag_ml=bag_ml if protocol.infusion else None,
        first_dose=first,
    )
    now = timezone.now()
    previous = list(DoseOrder.objects.filter(session=current, superseded_at__isnull=True))
    DoseOrder.objects.filter(pk__in=[p.pk for p in previous]).update(superseded_at=now)
    order = DoseOrder(
        session=current,
        patient_id=current.patient_id,
        ordered_by=user,
        ordered_at=now,
        weight_basis=dose.weight_basis or "",
        basis_weight_kg=dose.basis_weight_kg,
        dose_mg_per_kg=dose.dose_mg_per_kg,
        dose_mg=dose.dose_mg,
        capped=dose.capped,
        concentration_mg_per_ml=dose.concentration_mg_per_ml,
        draw_volume_ml=dose.draw_volume_ml,
        bag_ml=dose.bag_ml,
        infused_volume_ml=dose.infused_volume_ml,
        duration_min=dose.duration_min,
        rate_ml_per_h=dose.rate_ml_per_h,
        devices=dose.devices,
        lot_number=lot_number.strip(),
        warnings=list(dose.warnings),
        needs_verification=dose.needs_verification,
    )
    order.full_clean()
    order.save()
    audit_record_many(
        actor=actor,
        specs=[spec_for(order, Action.CREATE, {"dose_mg": str(order.dose_mg)})]
        + [spec_for(p, Action.UPDATE, {"superseded": True}) for p in previous],
    )
    return order


@transaction.atomic
def dose_verify(*, actor: Actor, session: TreatmentSession, username: str, password: str) -> DoseOrder:
    """A second clinician, not the one who ordered it, checks the order and confirms with their
    own username and password (at the same tablet)."""
    _user(actor)
    current = _open(session)
    order = DoseOrder.objects.filter(session=current, superseded_at__isnull=True).first()
    if order is None:
        raise ValidationError("There is no dose order to verify.")
    if order.verified:
        raise ValidationError("This order is already verified.")
    verifier: Any = authenticate(username=username, password=password)
    if verifier is None:
        raise ValidationError({"password": "The username or password is not right."})
    if verifier.pk == order.ordered_by_id:
        raise ValidationError(
            {"username": "A second clinician must verify: not the one who ordered the dose."}
        )
    _need(verifier, VERIFY_PERMISSION, "Only a nurse or a physician can verify a dose.")
    order.verified_by, order.verified_at = verifier, timezone.now()
    order.save(update_fields=["verified_by", "verified_at"])
    audit_record(actor=Actor(user=verifier), action=Action.UPDATE, obj=order, detail={"verified": True})
    return order


def dose_start(
    *, actor: Actor, session: TreatmentSession, at: datetime.datetime | None = None
) -> TreatmentSession:
    """Start the infusion (or give the first device). Needs the pre-session scale, a current
    order (verified when the protocol asks), and the blood pressure within the gate or a
    physician's override. A start refused at the gate is kept on the session."""
    user = _user(actor)
    try:
        return _dose_start(actor=actor, session=session, at=at)
    except ValidationError as exc:
        gate = getattr(exc, "error_dict", {}).get("gate")
        if gate:
            _log(session, kind="gate_blocked", text=str(gate[0].message), user=user)
        raise


@transaction.atomic
def _dose_start(*, actor: Actor, session: TreatmentSession, at: datetime.datetime | None) -> TreatmentSession:
    current = _open(session)
    if current.dose_started_at is not None:
        raise ValidationError("The dose has already started.")
    errors: dict[str, str] = {}
    order = DoseOrder.objects.filter(session=current, superseded_at__isnull=True).first()
    if order is None:
        errors["order"] = "A physician must order the dose first."
    elif order.needs_verification and not order.verified:
        errors["order"] = "This dose needs a second clinician's verification before it starts."
    if not SessionScale.objects.filter(session=current, purpose=SessionScale.Purpose.PRE).exists():
        errors["pre_scale"] = "Record the pre-session scale first."
    gate = selectors.bp_gate(current)
    if gate.blocked and current.gate_override_at is None:
        errors["gate"] = (
            f"Blood pressure {gate.reading_text} is over the gate {gate.limit_text}: "
            "re-measure, or a physician may override with a reason."
        )
    if errors:
        raise ValidationError(errors)
    current.dose_started_at = _when(at, "at")
    current.save(update_fields=["dose_started_at"])
    audit_record(actor=actor, action=Action.UPDATE, obj=current, detail={"dose_started": True})
    return current


@transaction.atomic
def dose_stop(
    *, actor: Actor, session: TreatmentSession, at: datetime.datetime | None = None
) -> TreatmentSession:
    """The infusion ends (or the last device is given)."""
    _user(actor)
    current = _open(session)
    if current.dose_started_at is None:
        raise ValidationError("The dose has not started.")
    if current.dose_stopped_at is not None:
        raise ValidationError("The dose has already stopped.")
    when = _when(at, "at")
    if when < current.dose_started_at:
        raise ValidationError({"at": "The dose cannot stop before it started."})
    current.dose_stopped_at = when
    current.save(update_fields=["dose_stopped_at"])
    audit_record(actor=actor, action=Action.UPDATE, obj=current, detail={"dose_stopped": True})
    return current


@transaction.atomic
def scale_record(
    *,
    actor: Actor,
    session: TreatmentSession,
    purpose: str,
    instrument_code: str,
    answers: Sequence[int | None],
    at: datetime.datetime | None = None,
) -> SessionScale:
    """A scale given in the session: the pre-session scale before the dose, the post-session
    scale after it, CADSS at the protocol's times. Scored and alerted like any rating."""
    _user(actor)
    current = _open(session)
    if purpose not in SessionScale.Purpose.values:
        raise ValidationError({"purpose": "Choose pre, post or dissociation."})
    if purpose == SessionScale.Purpose.DISSOCIATION and instrument_code != "cadss":
        raise ValidationError({"instrument": "Dissociation is rated on the CADSS."})
    when = _when(at, "at")
    if purpose == SessionScale.Purpose.PRE:
        if current.dose_started_at is not None:
            raise ValidationError({"purpose": "The pre-session scale is given before the dose."})
        context, minutes = Context.PRE_SESSION, None
    else:
        if current.dose_started_at is None and purpose == SessionScale.Purpose.POST:
            raise ValidationError({"purpose": "The post-session scale is given after the dose."})
        if current.dose_started_at is None:  # a pre-dose CADSS is the baseline for the rise
            context, minutes = Context.PRE_SESSION, None
        else:
            context, minutes = Context.POST_SESSION, max(0, _minutes_after(current, when) or 0)
    response = response_record(
        actor=actor,
        patient=current.patient,
        instrument=instrument_code,
        answers=answers,
        context=context,
        administered_at=when,
        minutes_after_dose=minutes,
    )
    link = SessionScale.objects.create(session=current, response=response, purpose=purpose)
    audit_record(actor=actor, action=Action.CREATE, obj=link)
    return link


@transaction.atomic
def sedation_record(
    *, actor: Actor, session: TreatmentSession, moaas: int, at: datetime.datetime | None = None
) -> SedationRating:
    """A MOAA/S rating. A score of 3 or less (moderate or deeper sedation) is shown loudly."""
    user = _user(actor)
    current = _open(session)
    when = _when(at, "at")
    rating = SedationRating(
        session=current,
        patient_id=current.patient_id,
        rated_at=when,
        minutes_after_dose=_minutes_after(current, when),
        moaas=moaas,
        entered_by=user,
    )
    rating.full_clean()
    rating.save()
    audit_record(actor=actor, action=Action.CREATE, obj=rating)
    return rating


def _adverse_event(
    *,
    session: TreatmentSession,
    user: Any,
    kind: str,
    severity: str,
    action_taken: str,
    description: str,
    serious: bool,
    onset_at: datetime.datetime | None,
    amendment: SessionAmendment | None = None,
) -> AdverseEvent:
    if not action_taken.strip():
        raise ValidationError(
            {"action_taken": "Say what was done (for example: observed, antiemetic given)."}
        )
    event = AdverseEvent(
        session=session,
        patient_id=session.patient_id,
        kind=kind,
        severity=severity,
        serious=serious,
        action_taken=action_taken.strip(),
        description=description.strip(),
        onset_at=_when(onset_at, "onset_at"),
        recorded_by=user,
        recorded_at=timezone.now(),
        amendment=amendment,
    )
    event.full_clean()
    event.save()
    return event


@transaction.atomic
def adverse_event_record(
    *,
    actor: Actor,
    session: TreatmentSession,
    kind: str,
    severity: str,
    action_taken: str,
    description: str = "",
    serious: bool = False,
    onset_at: datetime.datetime | None = None,
) -> AdverseEvent:
    """Record an adverse event with its severity and the action taken."""
    user = _user(actor)
    current = _open(session)
    event = _adverse_event(
        session=current,
        user=user,
        kind=kind,
        severity=severity,
        action_taken=action_taken,
        description=description,
        serious=serious,
        onset_at=onset_at,
    )
    audit_record(actor=actor, action=Action.CREATE, obj=event)
    return event


@transaction.atomic
def discharge(
    *,
    actor: Actor,
    session: TreatmentSession,
    criteria: Mapping[str, bool],
    at: datetime.datetime | None = None,
    ready_to_leave_at: datetime.datetime | None = None,
) -> TreatmentSession:
    """Discharge the patient once every criterion is met. Refused before the protocol's minimum
    monitoring time (2 hours after esketamine), before the post-session scale, with SpO2 at or
    under 92% on the last reading, or while an alarm has no adverse event recorded for it."""
    user = _user(actor)
    current = _open(session)
    when = _when(at, "at")
    protocol = protocol_of(current)
    errors: dict[str, str] = {}
    missing = [code for code, _ in monitoring.DISCHARGE_CRITERIA if not criteria.get(code)]
    for code in missing:
        errors[code] = "Not met: the patient cannot leave until it is."
    if current.dose_started_at is None or current.dose_stopped_at is None:
        errors["dose"] = "Record when the dose started and stopped first."
    else:
        earliest = current.dose_started_at + datetime.timedelta(minutes=protocol.min_monitoring_min)
        if when < earliest:
            errors["at"] = (
                f"Monitoring lasts at least {protocol.min_monitoring_min} minutes after the dose: "
                f"not before {timezone.localtime(earliest):%H:%M}."
            )
    page = selectors.flowsheet(current)
    if page.last_spo2 is not None and page.last_spo2 <= DISCHARGE_SPO2_ABOVE:
        errors["spo2_ok"] = f"The last SpO2 is {page.last_spo2}%: it must be above {DISCHARGE_SPO2_ABOVE}%."
    if not any(s.purpose == SessionScale.Purpose.POST for s in page.scales):
        errors["post_scale"] = "Record the post-session scale first."
    if current.is_esketamine and current.dose_started_at is not None and not page.post_dose_bp:
        errors["post_bp"] = "Take the blood pressure about 40 minutes after the dose (Spravato label)."
    if page.unanswered_alarms:
        errors["alarms"] = (
            "Record the adverse event for each alarm: " + "; ".join(page.unanswered_alarms) + "."
        )
    if errors:
        raise ValidationError(errors)
    current.discharge_criteria = {code: True for code, _ in monitoring.DISCHARGE_CRITERIA}
    current.discharged_at, current.discharged_by = when, user
    current.save(update_fields=["discharge_criteria", "discharged_at", "discharged_by"])
    specs = [spec_for(current, Action.UPDATE, {"discharged": True})]
    if current.is_esketamine:
        rems = RemsRecord.objects.select_for_update().get(session=current)
        rems.ready_to_leave_at = ready_to_leave_at
        rems.save(update_fields=["ready_to_leave_at"])
        specs.append(spec_for(rems, Action.UPDATE, {"fields": ["ready_to_leave_at"]}))
    audit_record_many(actor=actor, specs=specs)
    return current


def _signature(session: TreatmentSession) -> str:
    return signature_of(selectors.session_snapshot(session))


def signature_of(snapshot: dict[str, Any]) -> str:
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def signature_valid(session: TreatmentSession) -> bool:
    """True while the signed record still matches the signature taken when it was locked."""
    return bool(session.signature) and _signature(session) == session.signature


@transaction.atomic
def session_sign(*, actor: Actor, session: TreatmentSession, password: str) -> TreatmentSession:
    """The nurse and the physician each sign, re-entering their password, once the patient is
    discharged. When both have signed the session locks."""
    user = _user(actor)
    current = _open(session)
    if current.discharged_at is None:
        raise ValidationError("Discharge the patient before signing.")
    if not password or not user.check_password(password):
        raise ValidationError({"password": "The password is not right: enter your own password to sign."})
    now = timezone.now()
    if user.has_perm(SIGN_MEDICAL):
        if current.physician_signed_at is not None:
            raise ValidationError("A physician has already signed this session.")
        current.physician_signed_by, current.physician_signed_at = user, now
        role = "physician"
    elif user.has_perm(SIGN_NURSING):
        if current.nurse_signed_at is not None:
            raise ValidationError("A nurse has already signed this session.")
        current.nurse_signed_by, current.nurse_signed_at = user, now
        role = "nurse"
    else:
        raise ValidationError("Only the nurse and the physician sign a session.")
    fields = ["physician_signed_by", "physician_signed_at", "nurse_signed_by", "nurse_signed_at"]
    both = current.nurse_signed_at is not None and current.physician_signed_at is not None
    if both:
        current.locked_at = now
        fields.append("locked_at")
    current.save(update_fields=fields)
    if both:  # the signature covers the record as stored, signatures included
        current.signature = _signature(current)
        current.save(update_fields=["signature"])
    audit_record(
        actor=actor, action=Action.UPDATE, obj=current, detail={"signed": role, "locked": current.locked}
    )
    return current


@transaction.atomic
def session_amend(
    *,
    actor: Actor,
    session: TreatmentSession,
    reason: str,
    text: str = "",
    adverse_event: Mapping[str, Any] | None = None,
    strike_vitals: Sequence[int] = (),
    corrected_vitals: monitoring.Vitals | None = None,
    corrected_taken_at: datetime.datetime | None = None,
) -> SessionAmendment:
    """Change a signed session by amendment: a note, a late adverse event, or a corrected
    reading (the original reading is struck through, never deleted)."""
    user = _user(actor)
    current = TreatmentSession.objects.select_for_update().select_related("patient").get(pk=session.pk)
    if not current.locked:
        raise ValidationError("The session is not signed yet: change it directly.")
    if not user.has_perm("treatment_sessions.add_sessionamendment"):
        raise ValidationError("Only a nurse or a physician can amend a session.")
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason for the amendment."})
    if not text.strip() and adverse_event is None and not strike_vitals and corrected_vitals is None:
        raise ValidationError({"text": "Write the amendment."})
    amendment = SessionAmendment.objects.create(
        session=current,
        patient_id=current.patient_id,
        reason=reason.strip()[:300],
        text=text.strip(),
        made_by=user,
        made_at=timezone.now(),
        signature_at_amendment=current.signature,
    )
    specs = [spec_for(amendment, Action.CREATE)]
    if adverse_event is not None:
        event = _adverse_event(session=current, user=user, amendment=amendment, **adverse_event)
        specs.append(spec_for(event, Action.CREATE, {"amendment": amendment.pk}))
    if strike_vitals:
        rows = list(VitalSign.objects.filter(session=current, pk__in=strike_vitals, struck_by__isnull=True))
        if len(rows) != len(set(strike_vitals)):
            raise ValidationError({"strike_vitals": "Strike out readings of this session that stand."})
        VitalSign.objects.filter(pk__in=[r.pk for r in rows]).update(struck_by=amendment)
        specs += [spec_for(r, Action.UPDATE, {"struck_by_amendment": amendment.pk}) for r in rows]
    if corrected_vitals is not None:
        problems = monitoring.entry_problems(corrected_vitals)
        if problems:
            raise ValidationError(problems)
        if corrected_taken_at is None:
            raise ValidationError({"taken_at": "Give the time of the corrected reading."})
        row = _vitals_row(current, corrected_vitals, corrected_taken_at, user)
        row.amendment = amendment
        row.save(update_fields=["amendment"])
        specs.append(spec_for(row, Action.CREATE, {"amendment": amendment.pk}))
    audit_record_many(actor=actor, specs=specs)
    return amendment


@transaction.atomic
def rems_submit(
    *, actor: Actor, session: TreatmentSession, confirmation: str = "", setting: str = ""
) -> RemsRecord:
    """Mark the esketamine REMS patient monitoring form as submitted."""
    user = _user(actor)
    record = RemsRecord.objects.select_for_update().get(session_id=session.pk)
    if record.submitted_at is not None:
        raise ValidationError("This REMS form is already marked submitted.")
    if TreatmentSession.objects.filter(pk=session.pk, discharged_at__isnull=True).exists():
        raise ValidationError("The form is completed after the session: discharge the patient first.")
    record.submitted_at, record.submitted_by = timezone.now(), user
    record.confirmation = confirmation.strip()[:60]
    if setting.strip():
        record.monitoring_setting = setting.strip()[:100]
    record.save(update_fields=["submitted_at", "submitted_by", "confirmation", "monitoring_setting"])
    audit_record(actor=actor, action=Action.UPDATE, obj=record, detail={"submitted": True})
    return record

"""Session writes, in the order they happen at the chair. Each is one transaction with its audit
event, takes the session row's lock, and refuses to change a signed (locked) session: after
signing, changes are amendments that keep the original."""

from __future__ import annotations

import datetime
import json
import typing
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ketacare.accounts.signin import reauthenticate, reauthenticate_self
from ketacare.audit import keys
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_record, audit_record_many, spec_for
from ketacare.clinical import body, dosing, monitoring, session_checks
from ketacare.clinical.protocols import (
    ESKETAMINE_DEVICE_INTERVAL_MIN,
    ESKETAMINE_DEVICE_MG,
    REMS_FORM_DUE_DAYS,
    Protocol,
)
from ketacare.measures.models import Context, SafetyAlert
from ketacare.measures.services import FUTURE_TOLERANCE, alert_acknowledge, response_record
from ketacare.patients.consent import BY_CODE as CONSENT_KINDS
from ketacare.patients.models import Allergy, BodyMeasurement
from ketacare.patients.selectors import consent_in_force, consent_withdrawn
from ketacare.patients.services import record_changed
from ketacare.screening.services import require_eligible
from ketacare.sessions import checklist as checklist_table
from ketacare.sessions import selectors
from ketacare.sessions.models import (
    CONCOMITANT,
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
from ketacare.treatment.models import Appointment

ORDER_PERMISSION = "treatment_sessions.add_doseorder"
OVERRIDE_PERMISSION = "treatment_sessions.override_bp_gate"
VERIFY_PERMISSION = "treatment_sessions.verify_dose"
SIGN_NURSING = "treatment_sessions.sign_nursing"
SIGN_MEDICAL = "treatment_sessions.sign_medical"
RISK_PERMISSION = "treatment_sessions.assess_risk"
DISCHARGE_OVERRIDE_PERMISSION = "treatment_sessions.override_discharge"
# An infusion stopped more than this before its planned end counts as stopped early: the volume
# infused (from the pump) and the reason are then required (clinic setting).
EARLY_STOP_TOLERANCE_MIN = 2
# Substances whose recorded allergy stops a ketamine or esketamine dose (reference section 5).
ALLERGY_SUBSTANCES = ("ketamine", "esketamine", "spravato", "ketalar")


class DoseStock(typing.Protocol):
    """The controlled-substance ledger's part in a dose (the ledger app, above this one, provides
    it; config/urls.py hands it to the session pages). Both run inside the dose's own transaction:
    a dose the ledger refuses (its lot missing, expired or short) does not start, and a dose never
    starts or stops without its ledger line."""

    def dose_started(self, *, actor: Actor, session: TreatmentSession, at: datetime.datetime) -> None: ...

    def dose_stopped(self, *, actor: Actor, session: TreatmentSession) -> None: ...


def _user(actor: Actor) -> Any:
    if actor.user is None:
        raise ValidationError("A session is recorded by a signed-in clinician.")
    return actor.user


def _need(user: Any, perm: str, what: str) -> None:
    if not user.has_perm(perm):
        raise ValidationError(what)


def _open(session: TreatmentSession, *, lock: bool = True) -> TreatmentSession:
    """The session row, locked for this transaction (`lock`; else a plain read, for the checks
    made before a password is re-entered); refused if signed."""
    rows = TreatmentSession.objects.select_for_update() if lock else TreatmentSession.objects.all()
    locked = rows.select_related("patient").get(pk=session.pk)
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


def _eligibility_problem(patient: Any, route: str) -> tuple[str | None, datetime.datetime | None]:
    """Why the patient's current signed candidacy decision does not allow this route, or None; and
    when that decision was signed (a consent counts only if signed since). Re-checked at check-in,
    at the order, at the dose start and at each esketamine device (reference section 5)."""
    try:
        decision = require_eligible(patient=patient, route=route)
    except ValidationError as exc:
        return " ".join(exc.messages), None
    return None, decision.signed_at


def _consent_problem(patient_id: int, route: str, decided_at: datetime.datetime | None) -> str | None:
    """Why the patient's consent to this route does not let the treatment go on, in words; or
    None when a signature of any version, made since the decision, still stands (a new version
    published mid-course does not stop the course). A withdrawal made in the portal while the
    patient waits in the chair, or is dosed, counts at once. One query when consent stands."""
    if consent_in_force(patient_id=patient_id, kind=route, decided_at=decided_at) is not None:
        return None
    label = CONSENT_KINDS[route].label
    withdrawn = consent_withdrawn(patient_id=patient_id, kind=route)
    if withdrawn is not None and withdrawn.withdrawn_at is not None:
        return (
            f"The patient withdrew their consent to {label} on "
            f"{timezone.localtime(withdrawn.withdrawn_at):%Y-%m-%d at %H:%M} "
            f"({withdrawn.get_withdrawn_how_display().lower()}): no treatment until they sign it again."
        )
    return (
        f"No consent to {label} is in force for this patient (none signed since their latest "
        "candidacy decision): record the paper consent they sign in front of you on their consent "
        "page, or have them sign it in the portal."
    )


def _allergy_problem(patient_id: int) -> str | None:
    for allergy in Allergy.objects.filter(patient_id=patient_id).only("substance", "reaction"):
        name = allergy.substance.lower()
        if any(word in name for word in ALLERGY_SUBSTANCES):
            return (
                f"Allergy on record: {allergy.substance}"
                + (f" ({allergy.reaction})" if allergy.reaction else "")
                + ". No ketamine or esketamine may be given."
            )
    return None


def _safety_stop(current: TreatmentSession, protocol: Protocol) -> str | None:
    """Why no dose may be ordered or started in this session, in words: the patient's candidacy
    decision, an allergy on record, or their consent to the route; None when nothing stops it."""
    problem, decided_at = _eligibility_problem(current.patient, protocol.candidacy_route)
    return (
        problem
        or _allergy_problem(current.patient_id)
        or _consent_problem(current.patient_id, protocol.candidacy_route, decided_at)
    )


def _last_weight(patient_id: int, now: datetime.datetime) -> Decimal | None:
    since = now - datetime.timedelta(days=body.WEIGHT_CONFIRM_WITHIN_DAYS)
    row = (
        BodyMeasurement.objects.filter(patient_id=patient_id, measured_at__gte=since)
        .exclude(weight_kg=None)
        .order_by("-measured_at", "-id")
        .values_list("weight_kg", flat=True)
        .first()
    )
    return row


def _checklist(
    route: str, answers: Mapping[str, bool | None], escort_name: str, escort_phone: str
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(errors by field, findings as stored) for a pre-dose checklist under the clinic's table."""
    missing, findings = session_checks.evaluate(answers, route, checklist_table.current())
    errors = {f"check_{code}": message for code, message in missing.items()}
    if answers.get("escort"):
        if not escort_name.strip():
            errors["escort_name"] = "Give the escort's name."
        if not escort_phone.strip():
            errors["escort_phone"] = "Give the escort's phone number."
    return errors, [{"code": f.code, "effect": f.effect.value, "message": f.message} for f in findings]


def sessions_import(rows: Sequence[Mapping[str, Any]]) -> int:
    """Check-in's bulk variant for a history import: treatments given elsewhere, each row with
    `patient_id`, `at` (the dose's start), `route`, `protocol` and `dose_mg`. Each is numbered as
    check-in numbers a session (the patient's sessions by that route so far, plus one), in time
    order after those on record, with its dose order; their patients' outcomes are marked to
    catch up. Runs inside the caller's transaction; the caller records the audit events.
    Returns the number stored."""
    if not rows:
        return 0
    numbers: dict[tuple[int, str], int] = defaultdict(int)
    on_record = TreatmentSession.objects.filter(patient_id__in={r["patient_id"] for r in rows})
    for patient_id, route in on_record.values_list("patient_id", "route"):
        numbers[(patient_id, route)] += 1
    sessions = []
    for r in sorted(rows, key=lambda r: (r["patient_id"], r["at"])):
        numbers[(r["patient_id"], r["route"])] += 1
        sessions.append(
            TreatmentSession(
                patient_id=r["patient_id"],
                source=TreatmentSession.Source.IMPORT,
                protocol=r["protocol"],
                route=r["route"],
                number=numbers[(r["patient_id"], r["route"])],
                checked_in_at=r["at"],
                dose_started_at=r["at"],
                notes="Imported history.",
            )
        )
    made = TreatmentSession.objects.bulk_create(sessions, batch_size=2000)
    dose = {(r["patient_id"], r["at"]): r["dose_mg"] for r in rows}
    DoseOrder.objects.bulk_create(
        [
            DoseOrder(
                session=s,
                patient_id=s.patient_id,
                ordered_at=s.checked_in_at,
                dose_mg=dose[(s.patient_id, s.checked_in_at)],
            )
            for s in made
        ],
        batch_size=2000,
    )
    record_changed(s.patient_id for s in made)
    return len(made)


@transaction.atomic
def session_check_in(
    *,
    actor: Actor,
    appointment: Appointment,
    weight_kg: Decimal | None,
    height_cm: Decimal | None = None,
    concomitant: Sequence[str] = (),
    checklist: Mapping[str, bool | None] | None = None,
    escort_name: str = "",
    escort_phone: str = "",
    confirm_weight: bool = False,
    vitals: monitoring.Vitals,
) -> TreatmentSession:
    """Check the patient in for a booked appointment: the candidacy decision re-checked (and the
    patient's consent to the route: a withdrawal refuses it), today's weight (a change of more
    than 10% from the last confirmed in kg and lb), the pre-dose checklist with the escort, the
    pre-session vitals and the concomitant medicines for the REMS form. A new weight is also
    charted."""
    user = _user(actor)
    booked = Appointment.objects.select_for_update().select_related("plan", "patient").get(pk=appointment.pk)
    if booked.status != Appointment.Status.BOOKED:
        raise ValidationError(
            f"This appointment is {booked.get_status_display().lower()}; it cannot be checked in."
        )
    if timezone.localtime(booked.starts_at).date() != timezone.localdate():
        raise ValidationError("Only today's appointments can be checked in.")
    protocol = rules.get(booked.plan.protocol)
    problem, decided_at = _eligibility_problem(booked.patient, protocol.candidacy_route)
    problem = problem or _allergy_problem(booked.patient_id)
    if problem:
        raise ValidationError(f"Not checked in: {problem} A physician must review the candidacy decision.")
    unconsented = _consent_problem(booked.patient_id, protocol.candidacy_route, decided_at)
    if unconsented:
        raise ValidationError(f"Not checked in: {unconsented} Talk with the patient before anything else.")
    answers = dict(checklist or {})
    errors: dict[str, str] = {}
    unknown = sorted(set(concomitant) - {code for code, _ in CONCOMITANT})
    if unknown:
        errors["concomitant"] = f"Not on the list: {', '.join(unknown)}."
    now = timezone.now()
    if protocol.weight_based and weight_kg is None:
        errors["weight_kg"] = "Weigh the patient: the dose is weight-based."
    changed = False
    if weight_kg is not None:
        last = _last_weight(booked.patient_id, now)
        changed = last is not None and body.weight_change_needs_confirmation(weight_kg, last)
        if changed and last is not None and not confirm_weight:
            errors["weight_kg"] = (
                f"{weight_kg} kg ({body.kg_to_lb(weight_kg)} lb) is more than 10% from the last "
                f"recorded {last} kg ({body.kg_to_lb(last)} lb). Was it typed in pounds? "
                "Re-weigh, or tick the confirmation."
            )
    check_errors, findings = _checklist(booked.plan.route, answers, escort_name, escort_phone)
    errors.update(check_errors)
    problems = monitoring.entry_problems(vitals)
    if vitals.systolic is None and "systolic" not in problems:
        problems["systolic"] = "The pre-session blood pressure is needed for the gate."
    errors.update(problems)
    if errors:
        raise ValidationError(errors)
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
        weight_confirmed=changed,
        concomitant=list(dict.fromkeys(concomitant)),
        fasting_confirmed=bool(answers.get("fasting")),
        checklist={k: v for k, v in answers.items() if v is not None},
        checklist_findings=findings,
        escort_name=escort_name.strip()[:100],
        escort_phone=escort_phone.strip()[:40],
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
        specs=[spec_for(records[0], Action.CREATE, {"checklist": findings} if findings else None)]
        + [spec_for(r, Action.CREATE) for r in records[1:]]
        + [spec_for(booked, Action.UPDATE, {"status": "attended"})],
    )
    return session


@transaction.atomic
def checklist_update(
    *,
    actor: Actor,
    session: TreatmentSession,
    checklist: Mapping[str, bool | None],
    escort_name: str = "",
    escort_phone: str = "",
) -> TreatmentSession:
    """Answer the pre-dose checklist again before the dose (a pregnancy test done, an escort
    arrived). The earlier answers stay in the audit trail."""
    _user(actor)
    current = _open(session)
    if current.dose_started_at is not None:
        raise ValidationError("The dose has started: the pre-dose checklist is closed.")
    answers = dict(checklist)
    errors, findings = _checklist(current.route, answers, escort_name, escort_phone)
    if errors:
        raise ValidationError(errors)
    before = {"checklist": current.checklist, "findings": current.checklist_findings}
    current.checklist = {k: v for k, v in answers.items() if v is not None}
    current.checklist_findings = findings
    current.fasting_confirmed = bool(answers.get("fasting"))
    current.escort_name, current.escort_phone = escort_name.strip()[:100], escort_phone.strip()[:40]
    current.save(
        update_fields=["checklist", "checklist_findings", "fasting_confirmed", "escort_name", "escort_phone"]
    )
    audit_record(actor=actor, action=Action.UPDATE, obj=current, detail={"checklist_before": before})
    return current


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
    duration_reason: str = "",
    lot_number: str = "",
) -> DoseOrder:
    """The physician orders the dose; KetaCare calculates it under the protocol, with the
    prepared dose from the drawn volume. The candidacy decision and the allergies are re-checked.
    A dose outside the protocol's range, or an order stopped by a re-check, is refused, and the
    refusal is kept on the session."""
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
            duration_reason=duration_reason,
            lot_number=lot_number,
        )
    except dosing.DoseError as exc:
        _log(session, kind="dose_refused", text=str(exc), user=user)
        raise ValidationError({exc.field: exc.message}) from None
    except ValidationError as exc:
        stop = getattr(exc, "error_dict", {}).get("safety")
        if stop:
            _log(session, kind="order_stopped", text=str(stop[0].message), user=user)
        raise


def _age_years(born: datetime.date | None, on: datetime.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _esketamine_given_before(patient_id: int, *, exclude_session: int | None = None) -> bool:
    """Whether the patient has ever been given esketamine (a dose started), this session aside."""
    given = TreatmentSession.objects.filter(
        patient_id=patient_id, route="esketamine", dose_started_at__isnull=False
    )
    if exclude_session is not None:
        given = given.exclude(pk=exclude_session)
    return given.exists()


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
    duration_reason: str,
    lot_number: str,
) -> DoseOrder:
    current = _open(session)
    if current.dose_started_at is not None:
        raise ValidationError("The dose has started: the order cannot change now.")
    protocol = protocol_of(current)
    stop = _safety_stop(current, protocol)
    if stop:
        raise ValidationError({"safety": f"No dose can be ordered. {stop}"})
    if current.is_esketamine and not lot_number.strip():
        raise ValidationError({"lot_number": "Give the lot number: the REMS form records it."})
    plan_basis = current.plan.weight_basis if current.plan is not None else ""
    first = current.is_esketamine and not _esketamine_given_before(current.patient_id)
    dose = dosing.calculate(
        protocol,
        weight_kg=current.weight_kg,
        height_cm=current.height_cm,
        sex=current.patient.sex,
        weight_basis=weight_basis or plan_basis or None,
        dose_mg_per_kg=dose_mg_per_kg if protocol.weight_based else None,
        dose_mg=dose_mg if not protocol.weight_based else None,
        duration_min=duration_min if protocol.infusion else None,
        duration_reason=duration_reason.strip() if protocol.infusion else "",
        concentration_mg_per_ml=concentration_mg_per_ml if protocol.weight_based else None,
        bag_ml=bag_ml if protocol.infusion else None,
        first_dose=first,
        suicidal_ideation=bool(current.plan and current.plan.suicidal_ideation_indication),
        age_years=_age_years(current.patient.date_of_birth, timezone.localdate()),
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
        prepared_dose_mg=dose.prepared_dose_mg,
        final_concentration_mg_per_ml=dose.final_concentration_mg_per_ml,
        injection_sites=dose.injection_sites,
        duration_reason=(dose.duration_reason or "")[:300],
        notes=list(dose.notes),
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
        specs=[
            spec_for(
                order,
                Action.CREATE,
                {"dose_mg": str(order.dose_mg), "prepared_dose_mg": str(order.prepared_dose_mg)},
            )
        ]
        + [spec_for(p, Action.UPDATE, {"superseded": True}) for p in previous],
    )
    return order


def dose_verify(*, actor: Actor, session: TreatmentSession, username: str, password: str) -> DoseOrder:
    """A second clinician, not the one who ordered it, checks the order and confirms with their
    own username and password (at the same tablet). The password goes through the one throttled
    re-entry (`accounts.signin.reauthenticate`): every failure reads the same, counts towards the
    lockout and is audited even though the verification is refused."""
    _user(actor)
    order = _order_to_verify(_open(session, lock=False))
    # Refused before any password is checked: whether the ordering clinician's password is right
    # is nobody's business here.
    if order.ordered_by is not None and username == order.ordered_by.get_username():
        raise ValidationError(
            {"username": "A second clinician must verify: not the one who ordered the dose."}
        )
    verifier = reauthenticate(
        actor=actor,
        username=username,
        password=password,
        permission=VERIFY_PERMISSION,
        purpose="dose verification",
    )
    return _dose_verified(actor=actor, session=session, verifier=verifier)


def _order_to_verify(current: TreatmentSession) -> DoseOrder:
    order = (
        DoseOrder.objects.filter(session=current, superseded_at__isnull=True)
        .select_related("ordered_by")
        .first()
    )
    if order is None:
        raise ValidationError("There is no dose order to verify.")
    if order.verified:
        raise ValidationError("This order is already verified.")
    return order


@transaction.atomic
def _dose_verified(*, actor: Actor, session: TreatmentSession, verifier: Any) -> DoseOrder:
    order = _order_to_verify(_open(session))  # again, in the transaction: it may have changed
    if verifier.pk == order.ordered_by_id:
        raise ValidationError(
            {"username": "A second clinician must verify: not the one who ordered the dose."}
        )
    order.verified_by, order.verified_at = verifier, timezone.now()
    order.save(update_fields=["verified_by", "verified_at"])
    audit_record(actor=Actor(user=verifier), action=Action.UPDATE, obj=order, detail={"verified": True})
    return order


def dose_start(
    *,
    actor: Actor,
    session: TreatmentSession,
    at: datetime.datetime | None = None,
    stock: DoseStock | None = None,
) -> TreatmentSession:
    """Start the infusion (or give the first device). Needs the pre-session scale, a current
    order (verified when the protocol asks), the blood pressure within the gate or a physician's
    override, a checklist with nothing that stops the dose, no urgent safety alert without a
    physician's risk assessment, the minimum interval since the last dose and, before the first
    esketamine dose, the REMS enrolment. With the ledger (`stock`), the dose is posted to it as it
    starts. A start refused for safety or by the ledger is kept on the session."""
    user = _user(actor)
    try:
        return _dose_start(actor=actor, user=user, session=session, at=at, stock=stock)
    except ValidationError as exc:
        found = getattr(exc, "error_dict", {})
        for key in ("gate", "checklist", "risk", "interval", "rems", "safety", "lot_number"):
            if key in found:
                kind = {"gate": "gate_blocked", "lot_number": "start_refused_stock"}.get(
                    key, f"start_refused_{key}"
                )
                _log(session, kind=kind, text=str(found[key][0].message), user=user)
        raise


def risk_gate(session: TreatmentSession) -> str | None:
    """The suicide-risk gate (reference section 5): any urgent safety alert for the patient that
    is open, or was raised since the last dose without a physician's risk assessment on this
    session, blocks the dose. One query."""
    last_dose = (
        TreatmentSession.objects.filter(patient_id=session.patient_id, dose_started_at__isnull=False)
        .exclude(pk=session.pk)
        .order_by("-dose_started_at")
        .values("dose_started_at")[:1]
    )
    alerts = list(
        SafetyAlert.objects.filter(patient_id=session.patient_id, priority=SafetyAlert.Priority.URGENT)
        .filter(
            Q(acknowledged_at__isnull=True)
            | Q(
                created_at__gte=Coalesce(
                    Subquery(last_dose), Value(datetime.datetime.min.replace(tzinfo=datetime.UTC))
                )
            )
        )
        .values_list("acknowledged_at", flat=True)
    )
    open_count = sum(1 for acked in alerts if acked is None)
    if open_count:
        return (
            f"{open_count} urgent safety alert{'s' if open_count > 1 else ''} open for this patient "
            "(suicidal ideation or C-SSRS risk): a physician must write a risk assessment first."
        )
    if alerts and session.risk_assessment_at is None:
        return (
            "An urgent safety alert was raised since the last dose: a physician must write a risk "
            "assessment on this session before the dose."
        )
    return None


def _other_doses(session: TreatmentSession) -> list[tuple[datetime.datetime, str]]:
    rows = (
        TreatmentSession.objects.filter(patient_id=session.patient_id, dose_started_at__isnull=False)
        .exclude(pk=session.pk)
        .values_list("dose_started_at", "route")
    )
    return [(timezone.localtime(at), route) for at, route in rows if at is not None]


@transaction.atomic
def _dose_start(
    *,
    actor: Actor,
    user: Any,
    session: TreatmentSession,
    at: datetime.datetime | None,
    stock: DoseStock | None,
) -> TreatmentSession:
    current = _open(session)
    if current.dose_started_at is not None:
        raise ValidationError("The dose has already started.")
    errors: dict[str, str] = {}
    protocol = protocol_of(current)
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
    stops = [f["message"] for f in current.checklist_findings if f.get("effect") == "stop"]
    if stops:
        errors["checklist"] = "The pre-dose checklist stops the dose: " + " ".join(stops)
    stop = _safety_stop(current, protocol)
    if stop:
        errors["safety"] = stop
    risk = risk_gate(current)
    if risk:
        errors["risk"] = risk
    when = _when(at, "at")
    interval = session_checks.interval_problem(
        route=current.route,
        at=timezone.localtime(when),
        other_doses=_other_doses(current),
        min_hours=protocol.min_dose_interval_hours or session_checks.MIN_HOURS_BETWEEN_IV_IM_DOSES,
        no_consecutive_days=protocol.no_consecutive_days,
    )
    if interval:
        errors["interval"] = interval
    if (
        current.is_esketamine
        and not RemsEnrolment.objects.filter(patient_id=current.patient_id).exists()
        and not _esketamine_given_before(current.patient_id, exclude_session=current.pk)
    ):
        errors["rems"] = "Record the patient's REMS enrolment before the first esketamine dose."
    if errors:
        raise ValidationError(errors)
    current.dose_started_at = when
    current.save(update_fields=["dose_started_at"])
    record_changed([current.patient_id])  # a treatment: the outcomes catch up later
    specs = [spec_for(current, Action.UPDATE, {"dose_started": True})]
    if current.is_esketamine:
        device = DeviceDose.objects.create(
            session=current, patient_id=current.patient_id, number=1, given_at=when, entered_by=user
        )
        specs.append(spec_for(device, Action.CREATE))
        if order is not None and (order.devices or 0) <= 1:
            _finish(current, when, given_mg=ESKETAMINE_DEVICE_MG)
    audit_record_many(actor=actor, specs=specs)
    if stock is not None:
        stock.dose_started(actor=actor, session=current, at=when)
    return current


def _finish(
    session: TreatmentSession,
    when: datetime.datetime,
    *,
    given_mg: Decimal,
    infused_ml: Decimal | None = None,
    reason: str = "",
    waste_mg: Decimal | None = None,
) -> None:
    session.dose_stopped_at = when
    session.given_dose_mg = given_mg
    session.infused_volume_ml = infused_ml
    session.stop_reason = reason.strip()[:300]
    session.waste_mg = waste_mg
    session.save(
        update_fields=["dose_stopped_at", "given_dose_mg", "infused_volume_ml", "stop_reason", "waste_mg"]
    )


@transaction.atomic
def device_record(
    *, actor: Actor, session: TreatmentSession, at: datetime.datetime | None = None
) -> DeviceDose:
    """The next esketamine device is given, at least 5 minutes after the one before (Spravato
    label 2.1), while the candidacy decision and the patient's consent still allow it (a
    withdrawal between two devices refuses the next). The last ordered device ends the dose."""
    user = _user(actor)
    current = _open(session)
    if not current.is_esketamine:
        raise ValidationError("Devices are recorded for esketamine only.")
    if current.dose_started_at is None:
        raise ValidationError("Give the first device with \u201cFirst device given\u201d.")
    if current.dose_stopped_at is not None:
        raise ValidationError("The dose has ended: no more devices.")
    # As at the dose start: a withdrawal made in the portal between two devices stops the next.
    problem, decided_at = _eligibility_problem(current.patient, protocol_of(current).candidacy_route)
    stop = problem or _consent_problem(current.patient_id, protocol_of(current).candidacy_route, decided_at)
    if stop:
        raise ValidationError(
            {
                "safety": f"No further device may be given. {stop} Stop the dose, saying why, and talk "
                "with the patient."
            }
        )
    order = DoseOrder.objects.get(session=current, superseded_at__isnull=True)
    devices = list(DeviceDose.objects.filter(session=current).order_by("number"))
    when = _when(at, "at")
    earliest = devices[-1].given_at + datetime.timedelta(minutes=ESKETAMINE_DEVICE_INTERVAL_MIN)
    if when < earliest:
        raise ValidationError(
            {
                "at": f"Device {len(devices)} was given at {timezone.localtime(devices[-1].given_at):%H:%M}: "
                f"wait {ESKETAMINE_DEVICE_INTERVAL_MIN} minutes between devices "
                f"(not before {timezone.localtime(earliest):%H:%M:%S})."
            }
        )
    device = DeviceDose.objects.create(
        session=current,
        patient_id=current.patient_id,
        number=len(devices) + 1,
        given_at=when,
        entered_by=user,
    )
    specs = [spec_for(device, Action.CREATE)]
    if device.number >= (order.devices or 0):
        _finish(current, when, given_mg=ESKETAMINE_DEVICE_MG * device.number)
        specs.append(spec_for(current, Action.UPDATE, {"dose_stopped": True, "devices": device.number}))
    audit_record_many(actor=actor, specs=specs)
    return device


@transaction.atomic
def dose_stop(
    *,
    actor: Actor,
    session: TreatmentSession,
    at: datetime.datetime | None = None,
    infused_volume_ml: Decimal | None = None,
    reason: str = "",
    stock: DoseStock | None = None,
) -> TreatmentSession:
    """The infusion ends (or esketamine stops before the last device). An infusion stopped before
    its planned end needs the volume the pump infused and the reason: the given dose is computed
    from it and the rest of the prepared dose is recorded as waste, to be witnessed (with the
    ledger, `stock`, it is posted there as waste awaiting a witness). Discharge timing runs from
    this moment."""
    _user(actor)
    current = _open(session)
    if current.dose_started_at is None:
        raise ValidationError("The dose has not started.")
    if current.dose_stopped_at is not None:
        raise ValidationError("The dose has already stopped.")
    when = _when(at, "at")
    if when < current.dose_started_at:
        raise ValidationError({"at": "The dose cannot stop before it started."})
    order = DoseOrder.objects.get(session=current, superseded_at__isnull=True)
    prepared = order.dose_given_mg
    if current.is_esketamine:
        given = DeviceDose.objects.filter(session=current).count()
        if not reason.strip():
            raise ValidationError(
                {"reason": f"{given} of {order.devices} devices given: say why the dose stops early."}
            )
        _finish(current, when, given_mg=ESKETAMINE_DEVICE_MG * given, reason=reason)
    elif order.duration_min:
        planned_end = current.dose_started_at + datetime.timedelta(minutes=order.duration_min)
        early = when < planned_end - datetime.timedelta(minutes=EARLY_STOP_TOLERANCE_MIN)
        total = order.infused_volume_ml
        errors: dict[str, str] = {}
        if early and infused_volume_ml is None:
            errors["infused_volume_ml"] = (
                f"Stopped at {int((when - current.dose_started_at).total_seconds() // 60)} of "
                f"{order.duration_min} minutes: give the volume infused from the pump."
            )
        if early and not reason.strip():
            errors["reason"] = "Say why the infusion stopped early."
        if infused_volume_ml is not None and (
            infused_volume_ml < 0 or (total is not None and infused_volume_ml > total)
        ):
            errors["infused_volume_ml"] = f"The volume infused must be between 0 and {total} mL."
        if errors:
            raise ValidationError(errors)
        if infused_volume_ml is not None and total:
            given = (prepared * infused_volume_ml / total).quantize(Decimal("0.0001"))
            _finish(
                current,
                when,
                given_mg=given,
                infused_ml=infused_volume_ml,
                reason=reason,
                waste_mg=prepared - given if given < prepared else None,
            )
        else:
            _finish(current, when, given_mg=prepared, infused_ml=total, reason=reason)
    else:
        _finish(current, when, given_mg=prepared, reason=reason)
    audit_record(
        actor=actor,
        action=Action.UPDATE,
        obj=current,
        detail={
            "dose_stopped": True,
            "given_dose_mg": str(current.given_dose_mg),
            "waste_mg": str(current.waste_mg) if current.waste_mg is not None else None,
        },
    )
    if stock is not None:
        stock.dose_stopped(actor=actor, session=current)
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
    """A MOAA/S rating. A score of 3 or less raises the sedation alarm, 1 or less the urgent one;
    each needs an adverse event or an acknowledgement before discharge."""
    user = _user(actor)
    current = _open(session)
    when = _when(at, "at")
    alarm = monitoring.sedation_alarm(moaas) if 0 <= moaas <= 5 else None
    rating = SedationRating(
        session=current,
        patient_id=current.patient_id,
        rated_at=when,
        minutes_after_dose=_minutes_after(current, when),
        moaas=moaas,
        alarm=alarm.value if alarm else "",
        entered_by=user,
    )
    rating.full_clean()
    rating.save()
    audit_record(
        actor=actor, action=Action.CREATE, obj=rating, detail={"alarms": [rating.alarm]} if alarm else None
    )
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
    override_reason: str = "",
) -> TreatmentSession:
    """Discharge the patient once every criterion is met. The nurse ticks what is observed (alert
    and oriented, walking steadily, escort, driving advice); the rest is computed from the record:
    the monitoring time (2 hours after esketamine), 30 minutes after an infusion ended, every
    scheduled rating done or skipped, a recent SpO2 above 92%, the latest MOAA/S 5, the blood
    pressure back near the pre-dose reading, every alarm answered, every urgent safety alert raised
    during the session acknowledged, the post-session scale. A physician may sign past a failed
    reading criterion (SpO2, MOAA/S, blood pressure) with a reason; nothing else has a way past."""
    user = _user(actor)
    current = _open(session)
    when = _when(at, "at")
    errors: dict[str, str] = {}
    missing = [code for code, _ in monitoring.DISCHARGE_CRITERIA if not criteria.get(code)]
    for code in missing:
        errors[code] = "Not met: the patient cannot leave until it is."
    page = selectors.flowsheet(current)
    assessment = selectors.discharge_assessment(page, now=when)
    failed = [c for c in assessment if not c.met]
    reason = override_reason.strip()
    overridden: list[str] = []
    for c in failed:
        if c.overridable and reason:
            overridden.append(c.code)
            continue
        errors[c.code] = f"Not met: {c.label}. {c.detail}".rstrip()
    if overridden and not user.has_perm(DISCHARGE_OVERRIDE_PERMISSION):
        for code in overridden:
            errors[code] = next(f"Not met: {c.label}. {c.detail}".rstrip() for c in failed if c.code == code)
        errors["override_reason"] = "Only a physician can discharge past a failed criterion."
        overridden = []
    if reason and not failed:
        errors["override_reason"] = "Every criterion is met: there is nothing to sign past."
    if not any(s.purpose == SessionScale.Purpose.POST for s in page.scales):
        errors["post_scale"] = "Record the post-session scale first."
    if current.is_esketamine and current.dose_started_at is not None and not page.post_dose_bp:
        errors["post_bp"] = "Take the blood pressure about 40 minutes after the dose (Spravato label)."
    if page.unanswered_alarms:
        errors["alarms"] = (
            "Record the adverse event, or acknowledge with a note, for each alarm: "
            + "; ".join(page.unanswered_alarms)
            + "."
        )
    open_alerts = [a for a in page.session_alerts if a.acknowledged_at is None and a.priority == 1]
    if open_alerts:
        errors["safety_alert"] = (
            "An urgent safety alert raised during the session is not acknowledged: a clinician must "
            "acknowledge it with what was done before the patient leaves."
        )
    if ready_to_leave_at is not None and current.dose_started_at is not None:
        if not current.dose_started_at <= ready_to_leave_at <= when:
            errors["ready_to_leave_at"] = "Give a time between the first device and now."
    if errors:
        raise ValidationError(errors)
    current.discharge_criteria = {code: True for code, _ in monitoring.DISCHARGE_CRITERIA}
    current.discharge_assessment = [
        {"code": c.code, "label": c.label, "met": c.met, "detail": c.detail} for c in assessment
    ]
    if overridden:
        current.discharge_override_by, current.discharge_override_reason = user, reason[:300]
    current.discharged_at, current.discharged_by = when, user
    current.save(
        update_fields=[
            "discharge_criteria",
            "discharge_assessment",
            "discharge_override_by",
            "discharge_override_reason",
            "discharged_at",
            "discharged_by",
        ]
    )
    specs = [
        spec_for(
            current,
            Action.UPDATE,
            {"discharged": True, **({"override": overridden, "reason": reason} if overridden else {})},
        )
    ]
    if current.is_esketamine:
        rems = RemsRecord.objects.select_for_update().get(session=current)
        rems.ready_to_leave_at = ready_to_leave_at
        rems.save(update_fields=["ready_to_leave_at"])
        specs.append(spec_for(rems, Action.UPDATE, {"fields": ["ready_to_leave_at"]}))
    audit_record_many(actor=actor, specs=specs)
    return current


@transaction.atomic
def alarm_acknowledge(
    *, actor: Actor, session: TreatmentSession, alarm: str, note: str
) -> AlarmAcknowledgement:
    """A clinician answers an alarm that was not an adverse event, with a note. It answers that
    alarm as raised so far; a later one needs its own answer."""
    user = _user(actor)
    current = _open(session)
    try:
        code = monitoring.Alarm(alarm)
    except ValueError:
        raise ValidationError({"alarm": "Choose an alarm raised in this session."}) from None
    if not note.strip():
        raise ValidationError(
            {"note": "Say why it needs no adverse event (for example: probe off the finger)."}
        )
    page = selectors.flowsheet(current)
    if monitoring.ALARM_LABELS[code] not in page.unanswered_alarms:
        raise ValidationError({"alarm": "This alarm has no unanswered occurrence."})
    ack = AlarmAcknowledgement(
        session=current,
        patient_id=current.patient_id,
        alarm=code.value,
        note=note.strip()[:300],
        acknowledged_by=user,
        acknowledged_at=timezone.now(),
    )
    ack.full_clean()
    ack.save()
    audit_record(actor=actor, action=Action.CREATE, obj=ack)
    return ack


@transaction.atomic
def rating_skip(
    *, actor: Actor, session: TreatmentSession, what: str, minutes: int, reason: str
) -> TreatmentSession:
    """A scheduled CADSS or MOAA/S rating not done, with the reason (the patient asleep and
    rousable, declined)."""
    user = _user(actor)
    current = _open(session)
    page = selectors.flowsheet(current)
    due = [d for d in page.schedule if d.what == what and d.minutes == minutes]
    if not due:
        raise ValidationError({"what": "Choose a scheduled rating of this session."})
    if due[0].done:
        raise ValidationError({"what": f"{what} at {minutes} min is already done or skipped."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why the rating is not done."})
    current.skipped_ratings = [
        *current.skipped_ratings,
        {
            "what": what,
            "minutes": minutes,
            "reason": reason.strip()[:300],
            "by": user.pk,
            "at": timezone.now().isoformat(),
        },
    ]
    current.save(update_fields=["skipped_ratings"])
    audit_record(actor=actor, action=Action.UPDATE, obj=current, detail={"skipped": f"{what} {minutes}"})
    return current


@transaction.atomic
def risk_assess(*, actor: Actor, session: TreatmentSession, assessment: str) -> TreatmentSession:
    """A physician's written suicide-risk assessment at the chair. It acknowledges every open
    urgent safety alert for the patient with the assessment, and lets the dose start."""
    user = _user(actor)
    _need(user, RISK_PERMISSION, "Only a physician can write the risk assessment that lets the dose start.")
    current = _open(session)
    text = assessment.strip()
    if len(text) < 20:
        raise ValidationError(
            {
                "assessment": "Write the risk assessment: current ideation, intent, plan, "
                "protective factors, decision."
            }
        )
    for alert in SafetyAlert.objects.filter(
        patient_id=current.patient_id, priority=SafetyAlert.Priority.URGENT, acknowledged_at__isnull=True
    ):
        alert_acknowledge(
            actor=actor, alert=alert, note=f"Risk assessment at session {current.number}: {text}"
        )
    current.risk_assessment, current.risk_assessment_by, current.risk_assessment_at = (
        text,
        user,
        timezone.now(),
    )
    current.save(update_fields=["risk_assessment", "risk_assessment_by", "risk_assessment_at"])
    audit_record(actor=actor, action=Action.UPDATE, obj=current, detail={"risk_assessment": True})
    return current


@transaction.atomic
def vitals_strike(
    *, actor: Actor, session: TreatmentSession, vital_ids: Sequence[int], reason: str
) -> SessionAmendment:
    """Strike out mistyped readings during the session, with the reason: the reading stays on
    record, struck through, and its alarms no longer count."""
    user = _user(actor)
    current = _open(session)
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason (for example: typed 19 for 91)."})
    rows = list(VitalSign.objects.filter(session=current, pk__in=vital_ids, struck_by__isnull=True))
    if not rows or len(rows) != len(set(vital_ids)):
        raise ValidationError({"vital": "Strike out readings of this session that stand."})
    amendment = SessionAmendment.objects.create(
        session=current,
        patient_id=current.patient_id,
        reason=reason.strip()[:300],
        text="Struck out during the session: "
        + ", ".join(f"{timezone.localtime(r.taken_at):%H:%M}" for r in rows),
        made_by=user,
        made_at=timezone.now(),
        signature_at_amendment="",
    )
    VitalSign.objects.filter(pk__in=[r.pk for r in rows]).update(struck_by=amendment)
    audit_record_many(
        actor=actor,
        specs=[spec_for(amendment, Action.CREATE)]
        + [spec_for(r, Action.UPDATE, {"struck_by_amendment": amendment.pk}) for r in rows],
    )
    return amendment


@transaction.atomic
def rems_enrolment_record(
    *, actor: Actor, patient_id: int, reference: str, enrolled_on: datetime.date
) -> RemsEnrolment:
    """Record the patient's esketamine REMS enrolment (needed before the first dose)."""
    user = _user(actor)
    if not reference.strip():
        raise ValidationError({"reference": "Give the REMS patient enrolment number."})
    if enrolled_on > timezone.localdate():
        raise ValidationError({"enrolled_on": "The enrolment date cannot be in the future."})
    if RemsEnrolment.objects.filter(patient_id=patient_id).exists():
        raise ValidationError({"reference": "This patient's REMS enrolment is already recorded."})
    enrolment = RemsEnrolment(
        patient_id=patient_id,
        reference=reference.strip()[:60],
        enrolled_on=enrolled_on,
        recorded_by=user,
        recorded_at=timezone.now(),
    )
    enrolment.full_clean()
    enrolment.save()
    audit_record(actor=actor, action=Action.CREATE, obj=enrolment)
    return enrolment


def _signature(session: TreatmentSession) -> str:
    return signature_of(selectors.session_snapshot(session))


def snapshot_text(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def signature_of(snapshot: dict[str, Any]) -> str:
    """HMAC-SHA256 under the audit key (kept outside the database) of the record as signed."""
    return keys.sign(snapshot_text(snapshot).encode())


def signature_valid(session: TreatmentSession) -> bool:
    """True while the signed record still matches the signature taken when it was locked."""
    return bool(session.signature) and keys.matches(
        snapshot_text(selectors.session_snapshot(session)).encode(), session.signature
    )


def session_sign(*, actor: Actor, session: TreatmentSession, password: str) -> TreatmentSession:
    """The nurse and the physician each sign, re-entering their password (the one throttled
    re-entry, `accounts.signin.reauthenticate`), once the patient is discharged. When both have
    signed the session locks."""
    user = _user(actor)
    if _open(session, lock=False).discharged_at is None:
        raise ValidationError("Discharge the patient before signing.")
    if user.has_perm(SIGN_MEDICAL):
        permission = SIGN_MEDICAL
    elif user.has_perm(SIGN_NURSING):
        permission = SIGN_NURSING
    else:
        raise ValidationError("Only the nurse and the physician sign a session.")
    reauthenticate_self(
        actor=actor, user=user, password=password, permission=permission, purpose="signing a session"
    )
    return _session_signed(actor=actor, session=session, user=user)


@transaction.atomic
def _session_signed(*, actor: Actor, session: TreatmentSession, user: Any) -> TreatmentSession:
    current = _open(session)
    if current.discharged_at is None:
        raise ValidationError("Discharge the patient before signing.")
    now = timezone.now()
    if user.has_perm(SIGN_MEDICAL):
        if current.physician_signed_at is not None:
            raise ValidationError("A physician has already signed this session.")
        current.physician_signed_by, current.physician_signed_at = user, now
        role = "physician"
    else:
        if current.nurse_signed_at is not None:
            raise ValidationError("A nurse has already signed this session.")
        current.nurse_signed_by, current.nurse_signed_at = user, now
        role = "nurse"
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
    *,
    actor: Actor,
    session: TreatmentSession,
    confirmation: str = "",
    setting: str = "",
    monitored_by: Any = None,
    prescriber_on_site: Any = None,
) -> RemsRecord:
    """Mark the esketamine REMS patient monitoring form as submitted, naming the clinician who
    monitored and the prescriber on site (REMS corrections, reference section 5)."""
    user = _user(actor)
    record = RemsRecord.objects.select_for_update().get(session_id=session.pk)
    if record.submitted_at is not None:
        raise ValidationError("This REMS form is already marked submitted.")
    if TreatmentSession.objects.filter(pk=session.pk, discharged_at__isnull=True).exists():
        raise ValidationError("The form is completed after the session: discharge the patient first.")
    errors: dict[str, str] = {}
    if monitored_by is None or not monitored_by.has_perm("treatment_sessions.add_vitalsign"):
        errors["monitored_by"] = "Choose the clinician who monitored the patient."
    if prescriber_on_site is None or not prescriber_on_site.has_perm(ORDER_PERMISSION):
        errors["prescriber_on_site"] = "Choose the prescriber on site during administration and monitoring."
    if errors:
        raise ValidationError(errors)
    record.submitted_at, record.submitted_by = timezone.now(), user
    record.confirmation = confirmation.strip()[:60]
    record.monitored_by, record.prescriber_on_site = monitored_by, prescriber_on_site
    if setting.strip():
        record.monitoring_setting = setting.strip()[:100]
    record.save(
        update_fields=[
            "submitted_at",
            "submitted_by",
            "confirmation",
            "monitoring_setting",
            "monitored_by",
            "prescriber_on_site",
        ]
    )
    audit_record(actor=actor, action=Action.UPDATE, obj=record, detail={"submitted": True})
    return record

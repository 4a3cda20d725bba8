"""Treatment-plan and appointment writes. One transaction per action, each audited. A chair is
never double-booked: booking locks the chair's row, so concurrent bookings queue, and then
checks for an overlapping appointment."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.audit.context import Actor
from ketacare.audit.services import Action, EventSpec, audit_record, audit_record_many, spec_for
from ketacare.clinical import session_checks
from ketacare.clinical.protocols import Protocol, WeightBasis, session_dates
from ketacare.patients.models import Patient
from ketacare.patients.selectors import consent_for_treatment
from ketacare.screening.services import require_eligible
from ketacare.treatment import rules
from ketacare.treatment.models import (
    WEEKDAY_NAMES,
    Appointment,
    Chair,
    Closure,
    MaintenanceDecision,
    OpeningHours,
    TreatmentPlan,
)
from ketacare.treatment.selectors import natural_key

PLAN_PERMISSION = "treatment.add_treatmentplan"
SUGGEST_STEP_MIN = 15  # a free time in the chair asked for is looked for in steps of this many minutes
MAX_BOOSTER_INTERVAL_DAYS = 182  # clinic limit on the form: about six months between boosters


def _user(actor: Actor) -> Any:
    if actor.user is None:
        raise ValidationError("This is recorded by a signed-in member of staff.")
    return actor.user


def _reason(reason: str, field: str = "reason") -> str:
    text = reason.strip()
    if not text:
        raise ValidationError({field: "Give a reason."})
    return text[:300]


def _local(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


@transaction.atomic
def chair_create(*, actor: Actor, name: str, room: str = "") -> Chair:
    """Add a treatment chair to the calendar."""
    chair = Chair(name=name.strip(), room=room.strip())
    chair.full_clean()
    chair.save()
    audit_record(actor=actor, action=Action.CREATE, obj=chair)
    return chair


def _clash(
    *,
    chair: Chair,
    patient_id: int,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    exclude_id: int | None = None,
) -> str | None:
    """Why the slot cannot be booked, naming the booking it clashes with, or None. Call with the
    chair row locked."""
    overlapping = (
        Appointment.objects.holding_time()
        .filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
        .select_related("chair")
        .order_by("starts_at", "id")
    )
    if exclude_id is not None:
        overlapping = overlapping.exclude(pk=exclude_id)
    asked = _span(starts_at, ends_at)
    if (taken := overlapping.filter(chair=chair).first()) is not None:
        return f"{chair.name} is booked {_span(taken.starts_at, taken.ends_at)}, which overlaps {asked}."
    if (own := overlapping.filter(patient_id=patient_id).first()) is not None:
        return (
            f"The patient already has an appointment {_span(own.starts_at, own.ends_at)} in "
            f"{own.chair.name}, which overlaps {asked}."
        )
    return None


def _suggestion(
    *, chair: Chair, starts_at: datetime.datetime, ends_at: datetime.datetime, exclude_id: int | None
) -> str:
    """What is free instead: the active chairs free for the whole slot, and the next time the
    chair asked for is free that day (within opening hours, once set). Five queries."""
    local = timezone.localtime(starts_at)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = day_start + datetime.timedelta(days=1)
    around = Appointment.objects.holding_time().filter(
        starts_at__lt=day_end + (ends_at - starts_at), ends_at__gt=day_start
    )
    if exclude_id is not None:
        around = around.exclude(pk=exclude_id)
    taken = list(around.values_list("chair_id", "starts_at", "ends_at"))
    calendar = _calendar(local.date(), local.date() + datetime.timedelta(days=1))
    chairs = [c for c in Chair.objects.filter(active=True) if c.pk != chair.pk]
    free = sorted(
        (
            c.name
            for c in chairs
            if not any(cid == c.pk and s < ends_at and e > starts_at for cid, s, e in taken)
        ),
        key=natural_key,
    )
    length = ends_at - starts_at
    step = datetime.timedelta(minutes=SUGGEST_STEP_MIN)
    at = starts_at + step
    later = ""
    while at + length <= day_end:
        end = at + length
        busy = any(cid == chair.pk and s < end and e > at for cid, s, e in taken)
        if not busy and not calendar.closed(at, end):
            later = f"{chair.name} is next free at {timezone.localtime(at):%H:%M}."
            break
        at += step
    parts = []
    if free:
        parts.append("Free then: " + ", ".join(free) + ".")
    parts.append(later or f"{chair.name} has no free time later that day.")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class _Calendar:
    """The clinic's closure days (in a span) and opening hours, read once."""

    closures: dict[datetime.date, str]
    hours: dict[int, OpeningHours]

    def closed(self, starts_at: datetime.datetime, ends_at: datetime.datetime) -> str | None:
        start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
        for day in sorted(self.closures):
            if start.date() <= day <= end.date():
                return f"The clinic is closed on {day:%a} {day.day} {day:%b %Y}: {self.closures[day]}."
        if not self.hours:
            return None
        name = WEEKDAY_NAMES[start.weekday()]
        today = self.hours.get(start.weekday())
        if today is None:
            return f"The clinic does not open on {name}s."
        if start.time() < today.opens or end.date() != start.date() or end.time() > today.closes:
            return (
                f"The clinic is open {today.opens:%H:%M}-{today.closes:%H:%M} on {name}s: "
                f"{start:%H:%M}-{end:%H:%M} is outside."
            )
        return None


def _calendar(first: datetime.date, last: datetime.date) -> _Calendar:
    """Two queries."""
    closures = dict(Closure.objects.filter(date__range=(first, last)).values_list("date", "reason"))
    return _Calendar(closures=closures, hours={h.weekday: h for h in OpeningHours.objects.all()})


def _clinic_closed(starts_at: datetime.datetime, ends_at: datetime.datetime) -> str | None:
    """Why the clinic is closed for this slot, or None: a closure day, a weekday it does not
    open, or a time outside its opening hours (once the clinic admin has set any). Two queries."""
    first, last = timezone.localtime(starts_at).date(), timezone.localtime(ends_at).date()
    return _calendar(first, last).closed(starts_at, ends_at)


def _past(starts_at: datetime.datetime) -> bool:
    """Before the current minute: times are booked to the minute, so the minute now is not past."""
    return starts_at < timezone.now().replace(second=0, microsecond=0)


def _span(starts_at: datetime.datetime, ends_at: datetime.datetime) -> str:
    """ "Wed 9 Dec 2026 09:00-11:00", in the clinic's time."""
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    return f"{start:%a} {start.day} {start:%b %Y %H:%M}-{end:%H:%M}"


def _lock_chair(chair: Chair) -> Chair:
    locked = Chair.objects.select_for_update().get(pk=chair.pk)
    if not locked.active:
        raise ValidationError({"chair": f"{locked.name} is out of use."})
    return locked


def _book(
    *,
    plan: TreatmentPlan,
    chair: Chair,
    clinician: Any,
    kind: str,
    starts_at: datetime.datetime,
    minutes: int,
    created_by: Any,
    override_reason: str = "",
    calendar: _Calendar | None = None,
) -> Appointment:
    """One appointment, checked against the chair, the patient's other bookings, the clinic's
    hours and closures (`calendar`: read once by a caller booking many) and the dose interval."""
    ends_at = starts_at + datetime.timedelta(minutes=minutes)
    problem = _clash(chair=chair, patient_id=plan.patient_id, starts_at=starts_at, ends_at=ends_at)
    if problem:
        suggestion = _suggestion(chair=chair, starts_at=starts_at, ends_at=ends_at, exclude_id=None)
        raise ValidationError({"starts_at": f"{problem} {suggestion}"})
    closed = _closed_or_overridden(starts_at, ends_at, override_reason, calendar=calendar)
    # The minimum interval between doses (reference section 5): booking refuses it too.
    others = Appointment.objects.filter(
        patient_id=plan.patient_id,
        status__in=[Appointment.Status.BOOKED, Appointment.Status.ATTENDED],
        starts_at__gt=starts_at - datetime.timedelta(days=2),
        starts_at__lt=starts_at + datetime.timedelta(days=2),
    ).values_list("starts_at", "plan__route")
    protocol = rules.get(plan.protocol)
    interval = session_checks.interval_problem(
        route=plan.route,
        at=timezone.localtime(starts_at),
        other_doses=[(timezone.localtime(at), route) for at, route in others],
        min_hours=protocol.min_dose_interval_hours or session_checks.MIN_HOURS_BETWEEN_IV_IM_DOSES,
        no_consecutive_days=protocol.no_consecutive_days,
    )
    if interval:
        raise ValidationError({"starts_at": interval.replace("Another dose", "Another treatment booked")})
    appointment = Appointment(
        patient_id=plan.patient_id,
        plan=plan,
        chair=chair,
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
        last_change_reason=_override_text(closed, override_reason),
    )
    appointment.full_clean()
    appointment.save()
    return appointment


def _closed_or_overridden(
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    override: str,
    *,
    calendar: _Calendar | None = None,
) -> str | None:
    """Refuse a slot the clinic is closed for, unless a reason to book anyway is given; returns
    why it was closed (None: open)."""
    closed = calendar.closed(starts_at, ends_at) if calendar else _clinic_closed(starts_at, ends_at)
    if closed and not override.strip():
        raise ValidationError(
            {"starts_at": f"{closed} Choose another time, or book anyway giving the reason."}
        )
    return closed


def _override_text(closed: str | None, override: str) -> str:
    if not closed:
        return ""
    return f"Booked although the clinic is closed ({closed.rstrip('.')}): {override.strip()}"[:300]


def _override_detail(appointment: Appointment) -> dict[str, Any] | None:
    text = appointment.last_change_reason
    return (
        {"booked_although_closed": text} if text.startswith("Booked although the clinic is closed") else None
    )


def _protocol(code: str) -> Protocol:
    try:
        protocol = rules.get(code)
    except rules.ProtocolsError as exc:
        raise ValidationError({"protocol": str(exc)}) from None
    if not protocol.enabled:
        raise ValidationError({"protocol": f"The {protocol.name} protocol is not enabled at this clinic."})
    return protocol


@transaction.atomic
def plan_start(
    *,
    actor: Actor,
    patient: Patient,
    protocol: str,
    start_on: datetime.date,
    start_time: datetime.time,
    chair: Chair,
    clinician: Any | None = None,
    weekdays: Sequence[int] = (),
    dose_mg_per_kg: Decimal | None = None,
    dose_mg: Decimal | None = None,
    weight_basis: str | None = None,
    booster_interval_days: int | None = None,
    goals: str = "",
    suicidal_ideation_indication: bool = False,
    override_reason: str = "",
) -> TreatmentPlan:
    """A physician starts a course: the plan and its induction appointments, all or none. The
    patient's signed candidacy decision must cover the protocol's route, the patient must have
    signed the current version of the consent for that route since that decision (and not
    withdrawn it), and every appointment must fit its chair."""
    user = _user(actor)
    if not user.has_perm(PLAN_PERMISSION):
        raise ValidationError("Only a physician can start a treatment plan.")
    chosen = _protocol(protocol)
    Patient.objects.select_for_update().only("id").get(pk=patient.pk)
    decision = require_eligible(patient=patient, route=chosen.candidacy_route)
    errors: dict[str, str] = {}
    # Informed consent to the version in force: the patient row is locked above, as the consent
    # services lock it, so a withdrawal at this moment is seen or waits.
    # Only a consent signed since the decision counts: a new assessment asks for it again.
    consent = consent_for_treatment(
        patient_id=patient.pk, kind=chosen.candidacy_route, decided_at=decision.signed_at
    )
    if consent.signature is None:
        errors["consent"] = consent.problem
    if TreatmentPlan.objects.active().filter(patient=patient).exists():
        errors["protocol"] = "This patient already has an active treatment plan: stop it first."
    if start_on < timezone.localdate():
        errors["start_on"] = "A course cannot start in the past."
    if chosen.weight_based:
        low, high, standard = chosen.mg_per_kg_limits()
        per_kg = standard if dose_mg_per_kg is None else dose_mg_per_kg
        if not low <= per_kg <= high:
            errors["dose_mg_per_kg"] = f"The planned dose must be within {low}-{high} mg/kg."
        dose_mg = None
    else:
        per_kg = None
        dose_mg = chosen.fixed_doses_mg[0] if dose_mg is None else dose_mg
        if dose_mg not in chosen.fixed_doses_mg:
            errors["dose_mg"] = "Choose " + " or ".join(f"{d} mg" for d in chosen.fixed_doses_mg) + "."
    try:
        basis = WeightBasis(weight_basis or chosen.weight_basis)
    except ValueError:
        errors["weight_basis"] = f"Choose {', '.join(WeightBasis)}."
        basis = chosen.weight_basis
    interval = chosen.booster_interval_days if booster_interval_days is None else booster_interval_days
    if not 1 <= interval <= MAX_BOOSTER_INTERVAL_DAYS:
        errors["booster_interval_days"] = f"Give 1-{MAX_BOOSTER_INTERVAL_DAYS} days."
    if any(not 0 <= d <= 6 for d in weekdays):
        errors["weekdays"] = "Weekdays are 0 (Monday) to 6 (Sunday)."
    elif weekdays and start_on.weekday() not in weekdays:
        days = ", ".join(WEEKDAY_NAMES[d][:3] for d in sorted(set(weekdays)))
        errors["start_on"] = (
            f"{start_on:%a} {start_on.day} {start_on:%b} is not one of the treatment days chosen ({days}), "
            "and the first treatment is booked on the date given: start on one of them, or tick "
            f"{start_on:%a}."
        )
    if errors:
        raise ValidationError(errors)
    plan = TreatmentPlan(
        patient=patient,
        decision=decision,
        protocol=chosen.code.value,
        route=chosen.route.value,
        dose_mg_per_kg=per_kg,
        dose_mg=dose_mg,
        weight_basis=basis.value if chosen.weight_based else "",
        induction_sessions=chosen.induction_sessions(),
        booster_interval_days=interval,
        started_on=start_on,
        goals=goals.strip(),
        suicidal_ideation_indication=suicidal_ideation_indication,
        created_by=user,
    )
    plan.full_clean()
    plan.save()
    locked = _lock_chair(chair)
    treatment_days = session_dates(chosen.induction, start=start_on, weekdays=weekdays)
    calendar = (
        _calendar(treatment_days[0][1], treatment_days[-1][1] + datetime.timedelta(days=1))
        if treatment_days
        else None
    )
    appointments = [
        _book(
            plan=plan,
            chair=locked,
            clinician=clinician,
            kind=Appointment.Kind.INDUCTION if phase == "induction" else Appointment.Kind.MAINTENANCE,
            starts_at=_local(day, start_time),
            minutes=chosen.appointment_min,
            created_by=user,
            override_reason=override_reason,
            calendar=calendar,
        )
        for phase, day in treatment_days
    ]
    audit_record_many(
        actor=actor,
        specs=[
            spec_for(
                plan,
                Action.CREATE,
                {
                    "protocol": plan.protocol,
                    "decision": decision.pk,
                    "consent": consent.signature.pk if consent.signature else None,
                },
            )
        ]
        + [spec_for(a, Action.CREATE, _override_detail(a)) for a in appointments],
    )
    return plan


@transaction.atomic
def appointment_book(
    *,
    actor: Actor,
    plan: TreatmentPlan,
    chair: Chair,
    starts_at: datetime.datetime,
    kind: str = Appointment.Kind.BOOSTER,
    clinician: Any | None = None,
    override_reason: str = "",
) -> Appointment:
    """Book one more treatment on an active plan (a booster, or a replacement session). A slot
    the clinic is closed for needs `override_reason`."""
    user = _user(actor)
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != TreatmentPlan.Status.ACTIVE:
        raise ValidationError("The plan is stopped: start a new plan to book treatments.")
    if kind not in Appointment.Kind.values:
        raise ValidationError({"kind": f"Choose {', '.join(Appointment.Kind.values)}."})
    if _past(starts_at):
        raise ValidationError({"starts_at": "An appointment cannot be booked in the past."})
    protocol = rules.get(plan.protocol)
    appointment = _book(
        plan=plan,
        chair=_lock_chair(chair),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        minutes=protocol.appointment_min,
        created_by=user,
        override_reason=override_reason,
    )
    audit_record(actor=actor, action=Action.CREATE, obj=appointment, detail=_override_detail(appointment))
    return appointment


@transaction.atomic
def appointment_reschedule(
    *,
    actor: Actor,
    appointment: Appointment,
    starts_at: datetime.datetime,
    chair: Chair,
    clinician: Any | None,
    reason: str,
    override_reason: str = "",
) -> Appointment:
    """Move a booked appointment (time, chair or staff member), with the reason. A slot the
    clinic is closed for needs `override_reason`."""
    _user(actor)
    why = _reason(reason)
    locked_chair = _lock_chair(chair)
    current = _booked(appointment, "moved")
    if _past(starts_at):
        raise ValidationError({"starts_at": "An appointment cannot be moved into the past."})
    ends_at = starts_at + (current.ends_at - current.starts_at)
    problem = _clash(
        chair=locked_chair,
        patient_id=current.patient_id,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=current.pk,
    )
    if problem:
        suggestion = _suggestion(
            chair=locked_chair, starts_at=starts_at, ends_at=ends_at, exclude_id=current.pk
        )
        raise ValidationError({"starts_at": f"{problem} {suggestion}"})
    closed = _closed_or_overridden(starts_at, ends_at, override_reason)
    if closed:
        why = f"{why} {_override_text(closed, override_reason)}"[:300]
    before = {
        "starts_at": current.starts_at.isoformat(),
        "chair": current.chair_id,
        "clinician": current.clinician_id,
    }
    current.starts_at, current.ends_at = starts_at, ends_at
    current.chair = locked_chair
    current.clinician = clinician
    current.times_rescheduled += 1
    current.last_change_reason = why
    current.full_clean()
    current.save()
    audit_record(
        actor=actor,
        action=Action.UPDATE,
        obj=current,
        detail={
            "rescheduled": True,
            "before": before,
            "after": {
                "starts_at": starts_at.isoformat(),
                "chair": locked_chair.pk,
                "clinician": current.clinician_id,
            },
            "reason": why,
            **({"booked_although_closed": closed} if closed else {}),
        },
    )
    return current


def _booked(appointment: Appointment, done: str) -> Appointment:
    """The appointment, locked, refused unless it is still booked (it is to be `done`)."""
    current = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if current.status != Appointment.Status.BOOKED:
        raise ValidationError(
            f"Only a booked appointment can be {done}; this one is {current.get_status_display().lower()}."
        )
    return current


@transaction.atomic
def appointment_cancel(*, actor: Actor, appointment: Appointment, reason: str) -> Appointment:
    """Cancel a booked appointment, with the reason; it stays on the record, struck out."""
    user = _user(actor)
    why = _reason(reason)
    current = _booked(appointment, "cancelled")
    current.status = Appointment.Status.CANCELLED
    current.cancelled_at = timezone.now()
    current.cancelled_by = user
    current.last_change_reason = why
    current.save(update_fields=["status", "cancelled_at", "cancelled_by", "last_change_reason"])
    audit_record(actor=actor, action=Action.UPDATE, obj=current, detail={"cancelled": True, "reason": why})
    return current


@transaction.atomic
def maintenance_decide(
    *, actor: Actor, plan: TreatmentPlan, phase: str, booster_interval_days: int, reason: str
) -> MaintenanceDecision:
    """A physician sets the course's phase and booster interval, with the reason (for example:
    responded to induction, boosters every 4 weeks)."""
    user = _user(actor)
    if not user.has_perm(PLAN_PERMISSION):
        raise ValidationError("Only a physician can make a maintenance decision.")
    locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if locked.status != TreatmentPlan.Status.ACTIVE:
        raise ValidationError("The plan is stopped.")
    if phase not in TreatmentPlan.Phase.values:
        raise ValidationError({"phase": "Choose induction or maintenance."})
    if not 1 <= booster_interval_days <= MAX_BOOSTER_INTERVAL_DAYS:
        raise ValidationError({"booster_interval_days": f"Give 1-{MAX_BOOSTER_INTERVAL_DAYS} days."})
    why = _reason(reason)
    decision = MaintenanceDecision.objects.create(
        plan=locked,
        patient_id=locked.patient_id,
        phase=phase,
        booster_interval_days=booster_interval_days,
        reason=why,
        decided_by=user,
        decided_at=timezone.now(),
    )
    locked.phase = phase
    locked.booster_interval_days = booster_interval_days
    locked.save(update_fields=["phase", "booster_interval_days"])
    audit_record_many(
        actor=actor,
        specs=[
            spec_for(decision, Action.CREATE),
            spec_for(locked, Action.UPDATE, {"fields": ["phase", "booster_interval_days"]}),
        ],
    )
    return decision


@transaction.atomic
def plan_stop(*, actor: Actor, plan: TreatmentPlan, reason: str) -> TreatmentPlan:
    """Stop a course: its future booked appointments are cancelled with the same reason."""
    user = _user(actor)
    if not user.has_perm(PLAN_PERMISSION):
        raise ValidationError("Only a physician can stop a treatment plan.")
    why = _reason(reason)
    locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if locked.status != TreatmentPlan.Status.ACTIVE:
        raise ValidationError("The plan is already stopped.")
    now = timezone.now()
    future = list(
        Appointment.objects.filter(
            plan=locked, status=Appointment.Status.BOOKED, starts_at__gte=now
        ).order_by("pk")
    )
    Appointment.objects.filter(pk__in=[a.pk for a in future]).update(
        status=Appointment.Status.CANCELLED, cancelled_at=now, cancelled_by=user, last_change_reason=why
    )
    locked.status = TreatmentPlan.Status.STOPPED
    locked.stopped_at, locked.stopped_by, locked.stop_reason = now, user, why
    locked.save(update_fields=["status", "stopped_at", "stopped_by", "stop_reason"])
    audit_record_many(
        actor=actor,
        specs=[spec_for(locked, Action.UPDATE, {"stopped": True, "reason": why})]
        + [spec_for(a, Action.UPDATE, {"cancelled": True, "reason": why}) for a in future],
    )
    return locked


@transaction.atomic
def opening_hours_set(*, actor: Actor, hours: dict[int, tuple[datetime.time, datetime.time] | None]) -> None:
    """The clinic admin sets the opening hours, weekday by weekday (None: closed that day). With
    no weekday open, bookings are no longer checked against hours."""
    user = _user(actor)
    if not user.has_perm("treatment.change_openinghours"):
        raise ValidationError("Only the clinic admin sets the opening hours.")
    errors = {
        f"closes_{day}": "The clinic must close after it opens."
        for day, span in hours.items()
        if span is not None and span[1] <= span[0]
    }
    if errors:
        raise ValidationError(errors)
    before = [str(h) for h in OpeningHours.objects.all()]
    OpeningHours.objects.all().delete()
    rows = [
        OpeningHours(weekday=day, opens=span[0], closes=span[1])
        for day, span in sorted(hours.items())
        if span is not None
    ]
    OpeningHours.objects.bulk_create(rows)
    audit_record_many(
        actor=actor,
        specs=[
            EventSpec(
                Action.UPDATE,
                "treatment.openinghours",
                detail={"opening_hours": [str(r) for r in rows], "before": before},
            )
        ],
    )


@transaction.atomic
def closure_add(*, actor: Actor, date: datetime.date, reason: str) -> Closure:
    """A day the clinic is closed. The treatments already booked that day are named so that
    they can be moved: the closure does not move or cancel anything itself."""
    user = _user(actor)
    if not user.has_perm("treatment.add_closure"):
        raise ValidationError("Only the clinic admin records closures.")
    why = _reason(reason)
    if Closure.objects.filter(date=date).exists():
        raise ValidationError({"date": f"{date:%a} {date.day} {date:%b %Y} is already a closure."})
    closure = Closure(date=date, reason=why[:120], created_by=user)
    closure.full_clean()
    closure.save()
    audit_record(actor=actor, action=Action.CREATE, obj=closure)
    return closure


@transaction.atomic
def closure_remove(*, actor: Actor, closure: Closure) -> None:
    user = _user(actor)
    if not user.has_perm("treatment.delete_closure"):
        raise ValidationError("Only the clinic admin removes closures.")
    audit_record(actor=actor, action=Action.DELETE, obj=closure, detail={"date": closure.date.isoformat()})
    closure.delete()

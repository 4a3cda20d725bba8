"""Today's clinic for the demo: a morning in progress, so that the Today board opens with
patients in chairs at each step of a session.

Four of the demo's patients on an IV ketamine course, none dosed within two days of today, are
booked this morning and taken through the session services as the chair would record them:
one checked in and waiting for the physician's order; one with the infusion running; one in
recovery whose SpO2 fell to 89% (an alarm not yet answered); one whose monitoring is complete and
who is ready to leave. Two more are expected later this morning and one is late. Every step goes
through the same services a nurse's and a physician's clicks do (the ledger posts the doses);
the demo then dates each step to the minutes before now at which the morning would have taken
it, as the rest of the demo's history is dated. Nothing here is real data."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ketacare.accounts.management.commands.demo_users import DEMO_PASSWORD
from ketacare.audit.context import Actor
from ketacare.clinical import session_checks
from ketacare.clinical.monitoring import Vitals
from ketacare.clinical.protocols import ProtocolCode
from ketacare.ledger.models import Lot
from ketacare.ledger.services import DoseLedger
from ketacare.sessions import services as sessions
from ketacare.sessions.models import DoseOrder, TreatmentSession, VitalSign
from ketacare.treatment import rules
from ketacare.treatment import services as treatment_services
from ketacare.treatment.models import Appointment, Chair, Closure, TreatmentPlan

# (what the board shows, minutes since check-in, minutes since the dose started or None,
#  the infusion's minutes if it has stopped)
MORNING = (
    ("checked in", 8, None, None),
    ("dosing", 32, 20, None),
    ("monitoring with an alarm", 80, 62, 40),
    ("ready to leave", 128, 110, 40),
)
EXPECTED_IN_MIN = (35, 95)  # booked later this morning, not yet arrived
LATE_BY_MIN = 20  # booked this long ago, not arrived
NORMAL = Vitals(systolic=124, diastolic=78, heart_rate=74, spo2=98, resp_rate=14)
DURING = Vitals(systolic=138, diastolic=86, heart_rate=82, spo2=97, resp_rate=14)
DESATURATION = Vitals(systolic=132, diastolic=82, heart_rate=88, spo2=89, resp_rate=12)
CLEAR = session_checks.no_concern()
ESCORTS = ("Sam Rivera", "Alex Chen", "Jo Patel", "Kim Osei", "Lee Novak", "Max Duarte", "Ria Holm")


@dataclass
class Morning:
    in_chairs: int
    expected: int


def seed_today(
    *, physician: Any, nurse: Any, now: datetime.datetime | None = None, even_if_booked: bool = False
) -> Morning:
    """The morning, in one transaction. Does nothing once anyone has been checked in today (a
    clinic's day already under way, or an earlier run of the demo), unless `even_if_booked`
    (the benchmarks' busy day)."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    if not even_if_booked and TreatmentSession.objects.filter(checked_in_at__gte=start).exists():
        return Morning(0, 0)
    with transaction.atomic():
        return _seed(physician, nurse, now)


def _candidates(now: datetime.datetime) -> list[TreatmentPlan]:
    """Active IV ketamine plans whose patient has no treatment within two days of today."""
    near = [now - datetime.timedelta(days=3), now + datetime.timedelta(days=3)]
    busy = Appointment.objects.holding_time().filter(starts_at__range=near).values("patient_id")
    return list(
        TreatmentPlan.objects.active()
        .filter(protocol=ProtocolCode.IV_KETAMINE_STANDARD.value)
        .exclude(patient_id__in=busy)
        .select_related("patient")
        .order_by("id")[:40]
    )


def _seed(physician: Any, nurse: Any, now: datetime.datetime) -> Morning:
    doctor, by = Actor(user=physician), Actor(user=nurse)
    # A chair still held by an earlier day's open session (the demo run again another day) is not
    # booked: that patient is still in it as far as the record says.
    held = TreatmentSession.objects.filter(
        locked_at__isnull=True, discharged_at__isnull=True, appointment__isnull=False
    ).values_list("appointment__chair_id", flat=True)
    # Nor one booked at any time today: the morning's bookings are made here without the booking
    # service's clash check (they start in the past), so they go only where nothing else is.
    day_start = timezone.make_aware(datetime.datetime.combine(timezone.localdate(now), datetime.time.min))
    in_use_today = (
        Appointment.objects.holding_time()
        .filter(starts_at__lt=day_start + datetime.timedelta(days=1), ends_at__gt=day_start)
        .values_list("chair_id", flat=True)
    )
    chairs = list(
        Chair.objects.filter(active=True).exclude(pk__in=held).exclude(pk__in=in_use_today).order_by("id")
    )
    plans = _candidates(now)
    lot = (
        Lot.objects.filter(
            product__code="ketamine-10-20", on_hand_mg__gt=0, expiry__gte=timezone.localdate(now)
        )
        .order_by("-created_at", "-id")
        .first()
    )
    wanted = len(MORNING) + len(EXPECTED_IN_MIN) + 1
    if len(chairs) < len(MORNING) + 2 or len(plans) < wanted:
        return Morning(0, 0)
    booked: list[Appointment] = []
    in_chairs = 0
    for n, (what, in_chair_min, dosed_min, infusion_min) in enumerate(MORNING):
        plan, chair = plans.pop(0), chairs[n]
        check_in_at = now - datetime.timedelta(minutes=in_chair_min)
        appointment = _appointment(plan, chair, check_in_at - datetime.timedelta(minutes=5))
        try:
            with transaction.atomic():
                _visit(
                    appointment,
                    doctor=doctor,
                    by=by,
                    lot=lot.number if lot else "",
                    check_in_at=check_in_at,
                    dosed_min=dosed_min,
                    infusion_min=infusion_min,
                    alarm="alarm" in what,
                    now=now,
                    escort=ESCORTS[n],
                    nurse_username=nurse.get_username(),
                )
        except ValidationError:
            # A patient the rules would not treat today (an allergy, an expired decision): the
            # appointment stays booked and the chair shows them expected.
            continue
        in_chairs += 1
        booked.append(appointment)
    # Chairs free at those times: the two after the morning's four, and the chair of the patient
    # ready to leave for the later booking.
    later = [
        (now - datetime.timedelta(minutes=LATE_BY_MIN), chairs[len(MORNING) + 1]),
        (now + datetime.timedelta(minutes=EXPECTED_IN_MIN[0]), chairs[len(MORNING)]),
        (now + datetime.timedelta(minutes=EXPECTED_IN_MIN[1]), chairs[len(MORNING) - 1]),
    ]
    for at, chair in later:
        booked.append(_appointment(plans.pop(0), chair, at))
    return Morning(in_chairs, len(later))


def _appointment(plan: TreatmentPlan, chair: Chair, starts_at: datetime.datetime) -> Appointment:
    protocol = rules.get(plan.protocol)
    appointment = Appointment(
        patient_id=plan.patient_id,
        plan=plan,
        chair=chair,
        kind=Appointment.Kind.BOOSTER
        if plan.phase == TreatmentPlan.Phase.MAINTENANCE
        else Appointment.Kind.INDUCTION,
        starts_at=starts_at.replace(second=0, microsecond=0),
        ends_at=starts_at.replace(second=0, microsecond=0)
        + datetime.timedelta(minutes=protocol.appointment_min),
        created_by=plan.created_by,
    )
    appointment.full_clean()
    appointment.save()
    return appointment


def _visit(
    appointment: Appointment,
    *,
    doctor: Actor,
    by: Actor,
    lot: str,
    check_in_at: datetime.datetime,
    dosed_min: int | None,
    infusion_min: int | None,
    alarm: bool,
    now: datetime.datetime,
    escort: str,
    nurse_username: str,
) -> TreatmentSession:
    weight = (
        appointment.patient.measurements.exclude(weight_kg=None)
        .order_by("-measured_at")
        .values_list("weight_kg", flat=True)
        .first()
    )
    session = sessions.session_check_in(
        actor=by,
        appointment=appointment,
        weight_kg=weight or Decimal(75),
        checklist=CLEAR,
        escort_name=escort,
        escort_phone="(555) 201-0100",
        confirm_weight=True,
        vitals=NORMAL,
    )
    # Dated to when the morning checked the patient in (the services record "now").
    TreatmentSession.objects.filter(pk=session.pk).update(checked_in_at=check_in_at)
    VitalSign.objects.filter(session=session).update(taken_at=check_in_at + datetime.timedelta(minutes=2))
    session.refresh_from_db()
    if dosed_min is None:
        return session
    start = now - datetime.timedelta(minutes=dosed_min)
    sessions.scale_record(
        actor=by,
        session=session,
        purpose="pre",
        instrument_code="phq9",
        answers=[2, 2, 2, 1, 2, 1, 2, 1, 0],
        at=start - datetime.timedelta(minutes=12),
    )
    order = sessions.dose_order(actor=doctor, session=session, lot_number=lot)
    ordered_at = start - datetime.timedelta(minutes=8)
    DoseOrder.objects.filter(pk=order.pk).update(ordered_at=ordered_at)
    if order.needs_verification:
        # The nurse verifies the physician's order with her own password, as at the tablet.
        sessions.dose_verify(actor=by, session=session, username=nurse_username, password=DEMO_PASSWORD)
        DoseOrder.objects.filter(pk=order.pk).update(verified_at=ordered_at + datetime.timedelta(minutes=3))
    sessions.dose_start(actor=by, session=session, at=start, stock=DoseLedger())
    minute = 0
    stop = infusion_min if infusion_min is not None else None
    while minute <= dosed_min:
        at = start + datetime.timedelta(minutes=minute)
        reading = DURING if stop is None or minute <= stop else NORMAL
        if alarm and minute == dosed_min - dosed_min % 10:
            reading = DESATURATION  # the latest reading: the alarm is waiting for an answer
        sessions.vitals_record(actor=by, session=session, vitals=reading, taken_at=at)
        if stop is not None and minute == stop:
            sessions.dose_stop(actor=by, session=session, at=at, stock=DoseLedger())
        minute += 10
    protocol = rules.get(session.protocol)
    for m in protocol.sedation_at_min:
        if m <= dosed_min:
            sessions.sedation_record(
                actor=by, session=session, moaas=5, at=start + datetime.timedelta(minutes=m)
            )
    for m in protocol.cadss_at_min:
        if m <= dosed_min:
            sessions.scale_record(
                actor=by,
                session=session,
                purpose="dissociation",
                instrument_code="cadss",
                answers=[1] * 4 + [0] * 19 if m == protocol.cadss_at_min[0] else [0] * 23,
                at=start + datetime.timedelta(minutes=m),
            )
    return session


# The demo clinic's closure days: the next of each public holiday (a clinic records its own on
# the opening hours page).
HOLIDAYS = ((12, 25, "Christmas Day"), (1, 1, "New Year's Day"))


def seed_closures(*, admin: Any, today: datetime.date | None = None) -> int:
    """The next Christmas Day and New Year's Day as closure days, through the clinic admin's
    service; returns how many were added (none if already there)."""
    today = today or timezone.localdate()
    made = 0
    for month, day, reason in HOLIDAYS:
        date = datetime.date(today.year, month, day)
        if date < today:
            date = date.replace(year=today.year + 1)
        if not Closure.objects.filter(date=date).exists():
            treatment_services.closure_add(actor=Actor(user=admin), date=date, reason=reason)
            made += 1
    return made

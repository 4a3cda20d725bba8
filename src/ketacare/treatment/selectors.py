"""Reads for the calendar, the upcoming list, a plan's page and the chart. Query counts do not
grow with the number of chairs, staff or appointments."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from ketacare.accounts.roles import Role
from ketacare.treatment.models import Appointment, Chair, MaintenanceDecision, TreatmentPlan


@dataclass(slots=True)
class Slot:
    """One appointment as a calendar cell shows it."""

    id: int
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    kind: str
    status: str
    patient_id: int
    patient: str
    mrn: str
    chair: str
    clinician: str


@dataclass(slots=True)
class Row:
    key: int | None
    label: str
    days: list[list[Slot]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Calendar:
    by: str
    start: datetime.date
    days: list[datetime.date]
    rows: list[Row]
    booked: int


def _name(given: str, family: str, preferred: str) -> str:
    return f"{family}, {preferred or given}"


def _staff_name(first: str | None, last: str | None, username: str | None) -> str:
    full = f"{first or ''} {last or ''}".strip()
    return full or (username or "")


_SLOT_FIELDS = (
    "id",
    "starts_at",
    "ends_at",
    "kind",
    "status",
    "patient_id",
    "patient__given_name",
    "patient__family_name",
    "patient__preferred_name",
    "patient__mrn",
    "chair_id",
    "chair__name",
    "clinician_id",
    "clinician__first_name",
    "clinician__last_name",
    "clinician__username",
)


def _slot(r: dict[str, Any]) -> Slot:
    return Slot(
        id=r["id"],
        starts_at=timezone.localtime(r["starts_at"]),
        ends_at=timezone.localtime(r["ends_at"]),
        kind=r["kind"],
        status=r["status"],
        patient_id=r["patient_id"],
        patient=_name(r["patient__given_name"], r["patient__family_name"], r["patient__preferred_name"]),
        mrn=r["patient__mrn"],
        chair=r["chair__name"],
        clinician=_staff_name(
            r["clinician__first_name"], r["clinician__last_name"], r["clinician__username"]
        ),
    )


def natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """Sort "Chair 2" before "Chair 10"."""
    return tuple(
        (int(part), "") if part.isdigit() else (0, part.lower()) for part in re.split(r"(\d+)", text)
    )


def clinical_staff() -> list[Any]:
    """Physicians and nurses, the people appointments are assigned to."""
    user_model = get_user_model()
    return list(
        user_model.objects.filter(is_active=True, groups__name__in=[Role.PHYSICIAN, Role.NURSE])
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def calendar(*, start: datetime.date, days: int, by: str = "chair") -> Calendar:
    """A day or week grid: a row per chair (or per staff member), a column per day, each cell
    the day's appointments in time order (cancelled ones left out). Three queries."""
    dates = [start + datetime.timedelta(days=n) for n in range(days)]
    begin = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    end = begin + datetime.timedelta(days=days)
    rows_by_key: dict[int | None, Row] = {}
    if by == "staff":
        for user in clinical_staff():
            rows_by_key[user.pk] = Row(user.pk, user.get_full_name() or user.get_username())
    else:
        by = "chair"
        for chair in sorted(Chair.objects.filter(active=True), key=lambda c: natural_key(c.name)):
            rows_by_key[chair.pk] = Row(chair.pk, str(chair))
    for row in rows_by_key.values():
        row.days = [[] for _ in dates]
    key_field = "clinician_id" if by == "staff" else "chair_id"
    booked = 0
    records = (
        Appointment.objects.holding_time()
        .filter(starts_at__gte=begin, starts_at__lt=end)
        .order_by("starts_at", "id")
        .values(*_SLOT_FIELDS)
    )
    for record in records:
        key = record[key_field]
        found = rows_by_key.get(key)
        if found is None:
            label = (
                "Unassigned"
                if by == "staff" and key is None
                else record["chair__name"]
                if by == "chair"
                else ""
            )
            if by == "staff" and key is not None:
                label = _staff_name(
                    record["clinician__first_name"],
                    record["clinician__last_name"],
                    record["clinician__username"],
                )
            found = rows_by_key[key] = Row(key, label, [[] for _ in dates])
        slot = _slot(record)
        found.days[(slot.starts_at.date() - start).days].append(slot)
        booked += 1
    return Calendar(by=by, start=start, days=dates, rows=list(rows_by_key.values()), booked=booked)


def upcoming(*, since: datetime.datetime | None = None, limit: int = 100) -> list[Slot]:
    """Booked appointments from the start of today on (so a late arrival can still be checked
    in), soonest first. One query."""
    since = since or timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time.min))
    records = (
        Appointment.objects.filter(status=Appointment.Status.BOOKED, starts_at__gte=since)
        .order_by("starts_at", "id")
        .values(*_SLOT_FIELDS)[:limit]
    )
    return [_slot(r) for r in records]


@dataclass(frozen=True, slots=True)
class PlanPage:
    plan: TreatmentPlan
    appointments: list[Appointment]
    decisions: list[MaintenanceDecision]
    attended: int
    booked: int
    next_booster_due: datetime.date | None


def plan_page(*, plan_id: int) -> PlanPage:
    """A plan with its appointments and maintenance decisions. Three queries."""
    plan = TreatmentPlan.objects.select_related("patient", "decision", "created_by", "stopped_by").get(
        pk=plan_id
    )
    appointments = list(
        Appointment.objects.filter(plan=plan).select_related("chair", "clinician").order_by("starts_at", "id")
    )
    decisions = list(MaintenanceDecision.objects.filter(plan=plan).select_related("decided_by"))
    attended = sum(1 for a in appointments if a.status == Appointment.Status.ATTENDED)
    booked = sum(1 for a in appointments if a.status == Appointment.Status.BOOKED)
    held = [a for a in appointments if a.status != Appointment.Status.CANCELLED]
    due = None
    if plan.status == TreatmentPlan.Status.ACTIVE and held:
        due = timezone.localtime(held[-1].starts_at).date() + datetime.timedelta(
            days=plan.booster_interval_days
        )
    return PlanPage(plan, appointments, decisions, attended, booked, due)


@dataclass(frozen=True, slots=True)
class ChartPlans:
    active: TreatmentPlan | None
    next_appointment: Appointment | None
    plans: int
    attended: int
    booked: int


def chart_plans(*, patient_id: int) -> ChartPlans:
    """The chart's treatment summary: the active plan, the next appointment, counts. Two queries."""
    plans = list(
        TreatmentPlan.objects.filter(patient_id=patient_id).annotate(
            n_attended=Count("appointments", filter=Q(appointments__status=Appointment.Status.ATTENDED)),
            n_booked=Count("appointments", filter=Q(appointments__status=Appointment.Status.BOOKED)),
        )
    )
    active = next((p for p in plans if p.status == TreatmentPlan.Status.ACTIVE), None)
    next_appointment = (
        Appointment.objects.filter(
            patient_id=patient_id, status=Appointment.Status.BOOKED, ends_at__gte=timezone.now()
        )
        .select_related("chair")
        .order_by("starts_at")
        .first()
    )
    return ChartPlans(
        active=active,
        next_appointment=next_appointment,
        plans=len(plans),
        attended=sum(p.n_attended for p in plans),  # type: ignore[attr-defined]
        booked=sum(p.n_booked for p in plans),  # type: ignore[attr-defined]
    )

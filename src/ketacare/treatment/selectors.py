"""Reads for the calendar, the upcoming list, a plan's page and the chart. Query counts do not
grow with the number of chairs, staff or appointments."""

from __future__ import annotations

import datetime
import html
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from ketacare.accounts.roles import Role
from ketacare.treatment.models import Appointment, Chair, Closure, MaintenanceDecision, TreatmentPlan


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
    chair_id: int | None = None


@dataclass(slots=True)
class Row:
    """A calendar row: its label and, per day, the day's appointments as HTML."""

    key: int | None
    label: str
    days: list[list[str]] = field(default_factory=list)

    @property
    def cells(self) -> list[str]:
        # Every part of the HTML is escaped where it is built (_cell); joining keeps it safe.
        return [mark_safe("".join(day)) for day in self.days]  # noqa: S308


@dataclass(frozen=True, slots=True)
class Calendar:
    by: str
    start: datetime.date
    days: list[datetime.date]
    rows: list[Row]
    booked: int
    closed: dict[datetime.date, str] = field(default_factory=dict)  # closure days shown, with why

    @property
    def heads(self) -> list[tuple[datetime.date, str]]:
        """Each day with its closure reason ("" when open)."""
        return [(d, self.closed.get(d, "")) for d in self.days]


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
        chair_id=r["chair_id"],
    )


def natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """Sort "Chair 2" before "Chair 10"."""
    return tuple(
        (int(part), "") if part.isdecimal() else (0, part.lower()) for part in re.split(r"(\d+)", text)
    )


def chairs_in_order(*, active: bool | None = None) -> list[Chair]:
    """The clinic's chairs in natural order of their names ("Chair 2" before "Chair 10")."""
    chairs = Chair.objects.all() if active is None else Chair.objects.filter(active=active)
    return sorted(chairs, key=lambda c: natural_key(c.name))


def clinical_staff() -> list[Any]:
    """Physicians and nurses, the people appointments are assigned to."""
    user_model = get_user_model()
    return list(
        user_model.objects.filter(is_active=True, groups__name__in=[Role.PHYSICIAN, Role.NURSE])
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


_CELL_FIELDS = (
    "starts_at",
    "kind",
    "status",
    "patient_id",
    "patient__family_name",
    "patient__given_name",
    "patient__preferred_name",
    "patient__mrn",
    "chair_id",
    "chair__name",
    "clinician_id",
)


def _cell(
    href: str,
    at: datetime.datetime,
    kind: str,
    status: str,
    family: str,
    given: str,
    preferred: str,
    mrn: str,
) -> str:
    """One appointment as the calendar draws it. Built in Python, not in the template: a fully
    booked week has thousands of them, and the page must stay well under 100 ms."""
    name = html.escape(f"{family}, {preferred or given}")
    return (
        f'<a class="slot slot-{kind} slot-{status}" href="{href}" '
        f'title="{name} · {html.escape(mrn)}">{at:%H:%M} {name}</a>'
    )


def calendar(*, start: datetime.date, days: int, by: str = "chair") -> Calendar:
    """A day or week grid: a row per chair (or per staff member), a column per day, each cell
    the day's appointments in time order (cancelled ones left out). Three queries."""
    dates = [start + datetime.timedelta(days=n) for n in range(days)]
    begin = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    end = begin + datetime.timedelta(days=days)
    zone = timezone.get_current_timezone()
    chart = reverse("patients:chart", args=[123456789]).replace("123456789", "{}")
    rows_by_key: dict[int | None, Row] = {}
    if by == "staff":
        for user in clinical_staff():
            rows_by_key[user.pk] = Row(user.pk, user.get_full_name() or user.get_username())
    else:
        by = "chair"
        for chair in chairs_in_order(active=True):
            rows_by_key[chair.pk] = Row(chair.pk, str(chair))
    for row in rows_by_key.values():
        row.days = [[] for _ in dates]
    staff = by == "staff"
    booked = 0
    records = (
        Appointment.objects.holding_time()
        .filter(starts_at__gte=begin, starts_at__lt=end)
        .order_by("starts_at", "id")
        .values_list(*_CELL_FIELDS)
    )
    unnamed_staff: list[int] = []
    for at, kind, status, pid, family, given, preferred, mrn, chair_id, chair_name, clinician_id in records:
        key = clinician_id if staff else chair_id
        found = rows_by_key.get(key)
        if found is None:
            label = chair_name if not staff else "Unassigned" if key is None else ""
            if staff and key is not None:
                unnamed_staff.append(key)
            found = rows_by_key[key] = Row(key, label, [[] for _ in dates])
        local = at.astimezone(zone)
        found.days[(local.date() - start).days].append(
            _cell(chart.format(pid), local, kind, status, family, given, preferred, mrn)
        )
        booked += 1
    if unnamed_staff:  # appointments assigned to someone no longer in a clinical role
        user_model = get_user_model()
        for user in user_model.objects.filter(pk__in=unnamed_staff):
            rows_by_key[user.pk].label = user.get_full_name() or user.get_username()
    closed = dict(Closure.objects.filter(date__range=(dates[0], dates[-1])).values_list("date", "reason"))
    return Calendar(
        by=by, start=start, days=dates, rows=list(rows_by_key.values()), booked=booked, closed=closed
    )


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


def day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def day_slots(*, day: datetime.date) -> list[Slot]:
    """The day's appointments that hold a chair (booked or attended, not cancelled), by start
    time: what the Today board sets against its chairs. One query."""
    start = day_start(day)
    records = (
        Appointment.objects.holding_time()
        .filter(starts_at__gte=start, starts_at__lt=day_start(day + datetime.timedelta(days=1)))
        .order_by("starts_at", "id")
        .values(*_SLOT_FIELDS)
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
    next_at: datetime.datetime | None
    next_chair: str
    plans: int
    attended: int
    booked: int


def chart_plans(*, patient_id: int) -> ChartPlans:
    """The chart's treatment summary: the active plan, the next appointment, counts. One query."""
    booked = Appointment.objects.filter(
        plan=OuterRef("pk"), status=Appointment.Status.BOOKED, ends_at__gte=timezone.now()
    ).order_by("starts_at")
    plans = list(
        TreatmentPlan.objects.filter(patient_id=patient_id).annotate(
            n_attended=Count("appointments", filter=Q(appointments__status=Appointment.Status.ATTENDED)),
            n_booked=Count("appointments", filter=Q(appointments__status=Appointment.Status.BOOKED)),
            next_id=Subquery(booked.values("pk")[:1]),
            next_at=Subquery(booked.values("starts_at")[:1]),
            next_chair=Subquery(booked.values("chair__name")[:1]),
        )
    )
    active = next((p for p in plans if p.status == TreatmentPlan.Status.ACTIVE), None)
    upcoming = [p for p in plans if getattr(p, "next_at", None) is not None]
    soonest = min(upcoming, key=lambda p: p.next_at, default=None)  # type: ignore[attr-defined]
    return ChartPlans(
        active=active,
        next_at=soonest.next_at if soonest else None,  # type: ignore[attr-defined]
        next_chair=soonest.next_chair if soonest else "",  # type: ignore[attr-defined]
        plans=len(plans),
        attended=sum(p.n_attended for p in plans),  # type: ignore[attr-defined]
        booked=sum(p.n_booked for p in plans),  # type: ignore[attr-defined]
    )


@dataclass(frozen=True, slots=True)
class ClosureRow:
    closure: Closure
    booked: list[Slot]


def booked_on(day: datetime.date) -> list[Slot]:
    """The treatments booked (not yet attended) on a day. One query."""
    return [s for s in day_slots(day=day) if s.status == Appointment.Status.BOOKED]


def closures_ahead(*, limit: int = 60) -> list[ClosureRow]:
    """Closures from today on, each with the treatments still booked that day (to be moved).
    Two queries."""
    closures = list(Closure.objects.filter(date__gte=timezone.localdate()).order_by("date")[:limit])
    if not closures:
        return []
    days = {c.date for c in closures}
    records = (
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED,
            starts_at__gte=day_start(min(days)),
            starts_at__lt=day_start(max(days) + datetime.timedelta(days=1)),
        )
        .order_by("starts_at", "id")
        .values(*_SLOT_FIELDS)
    )
    by_day: dict[datetime.date, list[Slot]] = {}
    for r in records:
        slot = _slot(r)
        if slot.starts_at.date() in days:
            by_day.setdefault(slot.starts_at.date(), []).append(slot)
    return [ClosureRow(closure=c, booked=by_day.get(c.date, [])) for c in closures]

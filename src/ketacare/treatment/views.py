from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from functools import partial
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.services import audit_list_view, audit_view
from ketacare.patients.models import Patient
from ketacare.patients.selectors import consent_states
from ketacare.screening.selectors import current_decision
from ketacare.treatment import selectors, services
from ketacare.treatment.forms import (
    BookForm,
    ChairForm,
    ClosureForm,
    MaintenanceForm,
    OpeningHoursForm,
    PlanForm,
    ReasonForm,
    RescheduleForm,
)
from ketacare.treatment.models import Appointment, Closure, OpeningHours, TreatmentPlan
from ketacare.ui.forms import UNPROCESSABLE, apply_errors, cleaned, form_post, saved, status_of, submit
from ketacare.ui.views import missing_as_404, require_perm


def chart_panel(request: HttpRequest, patient: Patient, *, sessions: Sequence[Any] | None) -> str:
    """The treatment section of the chart: the plan, the next appointment and the sessions
    (`sessions`: the session rows, read by the chart's composer, web/chart.py, from the sessions
    app, which sits above this one; None for a user who may not see them)."""
    user: Any = request.user
    if not user.has_perm("treatment.view_treatmentplan"):
        return ""
    return render_to_string(
        "treatment/_chart_panel.html",
        {"patient": patient, "summary": selectors.chart_plans(patient_id=patient.pk), "sessions": sessions},
        request=request,
    )


# The plan form's fields plan_start takes by the same name.
PLAN_FIELDS = (
    "protocol",
    "start_on",
    "start_time",
    "chair",
    "clinician",
    "weekdays",
    "dose_mg_per_kg",
    "dose_mg",
    "booster_interval_days",
    "goals",
    "suicidal_ideation_indication",
    "override_reason",
)


@requires("treatment.add_treatmentplan")
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    active = TreatmentPlan.objects.active().filter(patient=patient).only("id").first()
    if active is not None and request.method == "GET":
        # The consultation's "Next: start the treatment plan" (screening cannot see plans) lands
        # on the plan already running rather than on a form that would be refused.
        messages.info(request, "This patient already has an active treatment plan: it is below.")
        return redirect("treatment:plan", plan_id=active.pk)
    decision = current_decision(patient_id=patient.pk)
    routes = list(decision.routes) if decision is not None and decision.is_eligible else []
    form = PlanForm(request.POST if request.method == "POST" else None, routes=routes)
    if request.method == "POST" and (
        done := saved(
            request,
            form,
            lambda: services.plan_start(
                actor=Actor.from_request(request),
                patient=patient,
                **cleaned(form, PLAN_FIELDS),
                weight_basis=form.cleaned_data["weight_basis"] or None,
            ),
            said=lambda plan: f"Plan started: {plan.induction_sessions} treatments booked.",
            to=_plan_url,
        )
    ):
        return done
    # The consent of each route the decision covers: signed, or what the patient must sign first.
    decided = dict.fromkeys(routes, decision.signed_at) if decision is not None else {}
    consents = [c for c in consent_states(patient_id=patient.pk, decided=decided) if c.kind.code in routes]
    return render(
        request,
        "treatment/plan_form.html",
        {"patient": patient, "form": form, "decision": decision, "routes": routes, "consents": consents},
        status=status_of(request),
    )


def _plan_page(
    request: HttpRequest, plan_id: int, bound: dict[str, BaseForm] | None = None, status: int = 200
) -> HttpResponse:
    with missing_as_404(TreatmentPlan.DoesNotExist, "No such plan."):
        page = selectors.plan_page(plan_id=plan_id)
    audit_view(actor=Actor.from_request(request), obj=page.plan)
    due = page.next_booster_due
    initial = (
        {"starts_at": timezone.make_aware(datetime.datetime.combine(due, datetime.time(9, 0)))} if due else {}
    )
    forms: dict[str, BaseForm] = {
        "book": BookForm(initial=initial),
        "maintenance": MaintenanceForm(
            initial={"booster_interval_days": page.plan.booster_interval_days, "phase": "maintenance"}
        ),
        "stop": ReasonForm(),
    }
    forms.update(bound or {})
    return render(
        request,
        "treatment/plan.html",
        {
            "page": page,
            "plan": page.plan,
            "patient": page.plan.patient,
            "forms": forms,
            "today": timezone.localdate().isoformat(),
        },
        status=status,
    )


@requires("treatment.view_treatmentplan")
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _plan_page(request, plan_id)


def _plan(plan_id: int) -> TreatmentPlan:
    return get_object_or_404(TreatmentPlan.objects.select_related("patient"), pk=plan_id)


def _plan_url(plan: TreatmentPlan) -> str:
    return reverse("treatment:plan", args=[plan.pk])


# Each form of the plan page posts to a view made of its service call: saved, the message and back
# to the page; refused, the page again with the form and its errors.
_plan_form = partial(form_post, _plan, page=_plan_page, url=_plan_url)


@requires("treatment.add_appointment")
@_plan_form(BookForm, key="book", anchor="appointments", said=lambda appointment: f"Booked: {appointment}.")
def booster_book(request: HttpRequest, plan: TreatmentPlan, form: Any) -> Any:
    return services.appointment_book(actor=Actor.from_request(request), plan=plan, **form.cleaned_data)


@requires("treatment.change_treatmentplan")
@_plan_form(MaintenanceForm, key="maintenance", anchor="maintenance", said="Maintenance decision recorded.")
def maintenance_new(request: HttpRequest, plan: TreatmentPlan, form: Any) -> Any:
    return services.maintenance_decide(actor=Actor.from_request(request), plan=plan, **form.cleaned_data)


@requires("treatment.change_treatmentplan")
@_plan_form(ReasonForm, key="stop", said="Plan stopped; its future appointments are cancelled.")
def plan_stop(request: HttpRequest, plan: TreatmentPlan, form: Any) -> Any:
    return services.plan_stop(
        actor=Actor.from_request(request), plan=plan, reason=form.cleaned_data["reason"]
    )


def _day(value: str | None) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        raise Http404("Give the date as YYYY-MM-DD.") from None


@requires("treatment.view_appointment")
def calendar(request: HttpRequest) -> HttpResponse:
    """Day or week view, by chair or by staff member; the choice is kept in the URL."""
    view = "day" if request.GET.get("view") == "day" else "week"
    by = "staff" if request.GET.get("by") == "staff" else "chair"
    day = _day(request.GET.get("date"))
    start = day if view == "day" else day - datetime.timedelta(days=day.weekday())
    length = 1 if view == "day" else 7
    grid = selectors.calendar(start=start, days=length, by=by)
    step = datetime.timedelta(days=length)
    return render(
        request,
        "treatment/calendar.html",
        {
            "grid": grid,
            "view": view,
            "by": by,
            "day": day,
            "previous": (start - step).isoformat(),
            "next": (start + step).isoformat(),
            "today": timezone.localdate(),
        },
    )


def _audit_slots(actor: Actor, slots: Sequence[Any]) -> None:
    """Appointments shown on a page name their patients: one list view, naming them (none shown,
    nothing written)."""
    audit_list_view(
        actor=actor,
        object_type="treatment.appointment",
        ids=[s.id for s in slots],
        patients=[s.patient_id for s in slots],
    )


@requires("treatment.view_appointment")
def upcoming(request: HttpRequest) -> HttpResponse:
    slots = selectors.upcoming()
    _audit_slots(Actor.from_request(request), slots)
    return render(
        request, "treatment/upcoming.html", {"slots": slots, "today": timezone.localdate().isoformat()}
    )


def _appointment(appointment_id: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related("patient", "chair", "plan"), pk=appointment_id
    )


@requires("treatment.change_appointment")
@require_http_methods(["GET", "POST"])
def appointment_change(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Reschedule (the form) or cancel (the second form) an appointment, each with a reason."""
    appointment = _appointment(appointment_id)
    move = RescheduleForm(
        request.POST if request.method == "POST" and "reschedule" in request.POST else None,
        initial={
            "starts_at": appointment.starts_at,
            "chair": appointment.chair_id,
            "clinician": appointment.clinician_id,
        },
    )
    cancel = ReasonForm(request.POST if request.method == "POST" and "cancel" in request.POST else None)
    if request.method == "POST":
        actor = Actor.from_request(request)
        try:
            if "cancel" in request.POST:
                if cancel.is_valid():
                    services.appointment_cancel(
                        actor=actor, appointment=appointment, reason=cancel.cleaned_data["reason"]
                    )
                    messages.success(request, "Appointment cancelled.")
                    return redirect("treatment:plan", plan_id=appointment.plan_id)
            elif move.is_valid():
                moved = services.appointment_reschedule(
                    actor=actor, appointment=appointment, **move.cleaned_data
                )
                messages.success(
                    request,
                    f"Moved to {timezone.localtime(moved.starts_at):%a %d %b %H:%M} in {moved.chair.name}.",
                )
                return redirect("treatment:plan", plan_id=appointment.plan_id)
        except ValidationError as exc:
            apply_errors(cancel if "cancel" in request.POST else move, exc)
    status = status_of(request)
    return render(
        request,
        "treatment/appointment_change.html",
        {"appointment": appointment, "patient": appointment.patient, "move": move, "cancel": cancel},
        status=status,
    )


@requires("treatment.view_chair")
@require_http_methods(["GET", "POST"])
def chairs(request: HttpRequest) -> HttpResponse:
    form = ChairForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        require_perm(request, "treatment.add_chair")
        done = saved(
            request,
            form,
            lambda: services.chair_create(actor=Actor.from_request(request), **form.cleaned_data),
            said=lambda chair: f"{chair} added.",
            to="treatment:chairs",
        )
        if done:
            return done
    return render(
        request,
        "treatment/chairs.html",
        {"chairs": selectors.chairs_in_order(), "form": form},
        status=status_of(request),
    )


@requires("treatment.view_openinghours")
@require_http_methods(["GET", "POST"])
def clinic_hours(request: HttpRequest) -> HttpResponse:
    """The clinic's opening hours and closure days, which booking respects (the clinic admin
    sets them; those who book read them)."""
    user: Any = request.user
    actor = Actor.from_request(request)
    action = request.POST.get("action") if request.method == "POST" else None
    if action and not user.has_perm(
        "treatment.change_openinghours" if action == "hours" else f"treatment.{action}_closure"
    ):
        raise PermissionDenied
    current = {h.weekday: h for h in OpeningHours.objects.all()}
    initial: dict[str, Any] = {}
    for day, h in current.items():
        initial.update({f"open_{day}": True, f"opens_{day}": h.opens, f"closes_{day}": h.closes})
    hours = OpeningHoursForm(request.POST if action == "hours" else None, initial=initial)
    closure = ClosureForm(request.POST if action == "add" else None)
    if (
        action == "hours"
        and submit(hours, lambda: services.opening_hours_set(actor=actor, hours=hours.hours()))[0]
    ):
        messages.success(request, "Opening hours saved: bookings outside them now need a reason.")
        return redirect("treatment:clinic-hours")
    if action == "add":
        done, made = submit(closure, lambda: services.closure_add(actor=actor, **closure.cleaned_data))
        if done and made is not None:
            booked = selectors.booked_on(made.date)
            plural = "s" if len(booked) != 1 else ""
            note = f" {len(booked)} treatment{plural} already booked that day: move them." if booked else ""
            messages.success(request, f"Closed on {made.date:%a} {made.date.day} {made.date:%b %Y}.{note}")
            return redirect("treatment:clinic-hours")
    if action == "delete":
        chosen = request.POST.get("closure", "")
        found = (
            Closure.objects.filter(pk=int(chosen)).first() if re.fullmatch(r"[0-9]{1,18}", chosen) else None
        )
        if found is None:
            raise Http404("No such closure.")
        services.closure_remove(actor=actor, closure=found)
        messages.success(
            request, f"{found.date:%a} {found.date.day} {found.date:%b %Y} is no longer a closure."
        )
        return redirect("treatment:clinic-hours")
    closures = selectors.closures_ahead()
    if user.has_perm("treatment.view_appointment"):
        _audit_slots(actor, [slot for row in closures for slot in row.booked])
    status = UNPROCESSABLE if action in ("hours", "add") else 200
    return render(
        request,
        "treatment/clinic_hours.html",
        {"hours": hours, "closure_form": closure, "closures": closures, "hours_set": bool(current)},
        status=status,
    )

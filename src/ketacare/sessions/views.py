"""The session page: one page at the chair. Each action posts a small form; an htmx request gets
the session's body back (the fragment), a plain request is redirected to the page. A refused
action comes back with 422 and the error beside its field, with what was typed kept."""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.forms import BaseForm, Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_list_view, audit_record, audit_rows_view, audit_view
from ketacare.clinical import instruments, session_checks
from ketacare.clinical.monitoring import ADVERSE_EVENT_LABELS, ALARM_LABELS, Alarm
from ketacare.clinical.protocols import ESKETAMINE_DEVICE_INTERVAL_MIN
from ketacare.measures import wording
from ketacare.measures.forms import AnswersForm
from ketacare.sessions import checklist as checklist_table
from ketacare.sessions import record, selectors, services
from ketacare.sessions.forms import (
    AdverseEventForm,
    AlarmAckForm,
    AmendForm,
    CheckInForm,
    ChecklistForm,
    DischargeForm,
    EnrolmentForm,
    OrderForm,
    ReasonForm,
    RemsSubmitForm,
    RiskForm,
    SedationForm,
    SignForm,
    SkipForm,
    StopForm,
    StrikeForm,
    VerifyForm,
    VitalsForm,
)
from ketacare.sessions.models import SessionScale, TreatmentSession, VitalSign
from ketacare.sessions.services import DoseStock
from ketacare.treatment.models import Appointment
from ketacare.ui.forms import UNPROCESSABLE, cleaned, saved, status_of, submit
from ketacare.ui.views import missing_as_404, require_perm

LIVE_POLL_SECONDS = 10  # how often an open session page asks whether another clinician changed it
PRE_SCALES = ("phq9", "gad7", "epds", "pcl5", "qids_sr16", "madrs")


# Form fields the services take by the same name.
CHECK_IN_FIELDS = ("weight_kg", "height_cm", "concomitant", "escort_name", "escort_phone", "confirm_weight")
REMS_SUBMIT_FIELDS = ("confirmation", "setting", "monitored_by", "prescriber_on_site")


@requires("treatment_sessions.add_treatmentsession")
@require_http_methods(["GET", "POST"])
def check_in(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = get_object_or_404(
        Appointment.objects.select_related("patient", "plan", "chair"), pk=appointment_id
    )
    existing = TreatmentSession.objects.filter(appointment=appointment).first()
    if existing is not None:
        return redirect("sessions:session", session_id=existing.pk)
    latest = appointment.patient.measurements.exclude(height_cm=None).order_by("-measured_at").first()
    items = session_checks.items_for(appointment.plan.route, checklist_table.current())
    form = CheckInForm(
        request.POST if request.method == "POST" else None,
        initial={"height_cm": latest.height_cm if latest else None},
        items=items,
    )
    if request.method == "POST" and (
        done := saved(
            request,
            form,
            lambda: services.session_check_in(
                actor=Actor.from_request(request),
                appointment=appointment,
                **cleaned(form, CHECK_IN_FIELDS),
                checklist=form.checklist(),
                vitals=form.vitals(),
            ),
            said="Checked in.",
            to=lambda session: reverse("sessions:session", args=[session.pk]),
        )
    ):
        return done
    return render(
        request,
        "sessions/check_in.html",
        {
            "appointment": appointment,
            "patient": appointment.patient,
            "form": form,
            "not_today": timezone.localtime(appointment.starts_at).date() != timezone.localdate(),
        },
        status=status_of(request),
    )


def _out(v: VitalSign, name: str, value: int | None) -> str:
    text = "" if value is None else str(value)
    return f'<span class="out">{text}</span>' if name in v.highlights else text


def flowsheet_rows(page: selectors.Flowsheet) -> str:
    """The vitals table's rows. Built in one pass rather than through the template engine: a
    three-hour flowsheet has dozens of rows of highlighted cells, and the page must stay under
    50 ms. Every value is a number or an escaped string."""
    zone = timezone.get_current_timezone()
    rows = []
    for v in page.vitals:
        # A struck-out reading's alarms no longer count: struck through, not red.
        classes = "struck" if v.struck_by_id else ("alarm-row" if v.alarms else "")
        minutes = "pre" if v.minutes_after_dose is None else str(v.minutes_after_dose)
        bp = f"{_out(v, 'systolic', v.systolic)}/{_out(v, 'diastolic', v.diastolic)}" if v.systolic else ""
        note = " <small>(amendment)</small>" if v.amendment_id else ""
        by = html.escape(v.entered_by.username)
        rows.append(
            f'<tr class="{classes}"><td>{v.taken_at.astimezone(zone):%H:%M}{note}</td>'
            f"<td>{minutes}</td>"
            f"<td>{bp}</td><td>{_out(v, 'heart_rate', v.heart_rate)}</td><td>{_out(v, 'spo2', v.spo2)}</td>"
            f"<td>{_out(v, 'resp_rate', v.resp_rate)}</td><td>{by}</td></tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308  (numbers and escaped names only)


class _Forms(dict[str, BaseForm]):
    """The page's forms, each built only when the template shows it: at any step of the session
    most are hidden, and building a form copies all its fields."""

    def __init__(self, factories: dict[str, Callable[[], BaseForm]], bound: dict[str, BaseForm]) -> None:
        super().__init__(bound)
        self.factories = factories

    def __missing__(self, name: str) -> BaseForm:
        form = self.factories[name]()
        self[name] = form
        return form


def _order_initial(page: selectors.Flowsheet) -> dict[str, Any]:
    order, plan = page.order, page.session.plan
    if order is not None:
        return {
            "dose_mg_per_kg": order.dose_mg_per_kg,
            "concentration_mg_per_ml": order.concentration_mg_per_ml,
            "bag_ml": order.bag_ml,
            "duration_min": order.duration_min,
            "dose_mg": order.dose_mg,
            "lot_number": order.lot_number,
        }
    return {
        "dose_mg_per_kg": plan.dose_mg_per_kg if plan else None,
        "concentration_mg_per_ml": page.protocol.concentration_mg_per_ml,
        "bag_ml": page.protocol.bag_ml,
        "duration_min": page.protocol.duration_min,
        "dose_mg": plan.dose_mg if plan else None,
    }


def _checklist_form(page: selectors.Flowsheet, data: Any = None) -> ChecklistForm:
    s = page.session
    return ChecklistForm(
        data,
        items=session_checks.items_for(s.route, checklist_table.current()),
        answers=s.checklist,
        initial={"escort_name": s.escort_name, "escort_phone": s.escort_phone},
    )


def _forms(page: selectors.Flowsheet, bound: dict[str, BaseForm]) -> _Forms:
    return _Forms(
        {
            "checklist": lambda: _checklist_form(page),
            "risk": RiskForm,
            "ack": AlarmAckForm,
            "skip": SkipForm,
            "strike": StrikeForm,
            "enrol": EnrolmentForm,
            "device": Form,
            "vitals": VitalsForm,
            "override": ReasonForm,
            "order": lambda: OrderForm(initial=_order_initial(page)),
            "verify": VerifyForm,
            "sedation": SedationForm,
            "event": AdverseEventForm,
            "discharge": DischargeForm,
            "sign": SignForm,
            "amend": AmendForm,
            "start": Form,
            "stop": StopForm,
        },
        bound,
    )


def _render(
    request: HttpRequest,
    session_id: int,
    bound: dict[str, BaseForm] | None = None,
    status: int = 200,
    *,
    page: selectors.Flowsheet | None = None,
    refreshed: bool = False,
) -> HttpResponse:
    page = page or _page_or_404(session_id)
    audit_view(actor=Actor.from_request(request), obj=page.session)
    base = reverse("sessions:session", args=[page.session.pk])
    context = {
        "page": page,
        "s": page.session,
        "patient": page.session.patient,
        "forms": _forms(page, bound or {}),
        "flowsheet_rows": flowsheet_rows(page),
        # Each action's URL, built once rather than by two {% url %} tags per form.
        "act": {name: f"{base}{name}/" for name in ACTIONS},
        "assessment": selectors.discharge_assessment(page)
        if page.session.dose_started_at and not page.session.discharged_at
        else [],
        "ack_options": [(code, ALARM_LABELS[Alarm(code)]) for code in page.unanswered_codes],
        "standing_vitals": [v for v in page.vitals if v.struck_by_id is None],
        "pending_ratings": [d for d in page.schedule if not d.done],
        "risk_block": services.risk_gate(page.session)
        if page.session.dose_started_at is None and not page.session.locked
        else None,
        "needs_enrolment": page.session.is_esketamine
        and page.session.dose_started_at is None
        and page.rems_enrolment is None
        and not page.session.locked,
        "device_interval": ESKETAMINE_DEVICE_INTERVAL_MIN,
        "next_device_at": page.devices[-1].given_at
        + datetime.timedelta(minutes=ESKETAMINE_DEVICE_INTERVAL_MIN)
        if page.devices and page.session.dose_stopped_at is None
        else None,
        "alerts_url": reverse("sessions:alerts", args=[page.session.pk]),
        "live_url": reverse("sessions:live", args=[page.session.pk]),
        "version": selectors.version_of(page),
        "live_poll": LIVE_POLL_SECONDS,
        "refreshed": refreshed,
        "stops": [f for f in page.session.checklist_findings if f.get("effect") == "stop"],
        "warns": [f for f in page.session.checklist_findings if f.get("effect") == "warn"],
        "pre_scales": [instruments.get(c) for c in PRE_SCALES],
        "alarm_labels": ALARM_LABELS,
        "event_labels": ADVERSE_EVENT_LABELS,
        "signature_valid": (
            services.signature_of(selectors.snapshot_of(page)) == page.session.signature
            if page.session.locked
            else None
        ),
    }
    template = "sessions/_session.html" if request.headers.get("HX-Request") else "sessions/session.html"
    return render(request, template, context, status=status)


def _page_or_404(session_id: int) -> selectors.Flowsheet:
    with missing_as_404(TreatmentSession.DoesNotExist, "No such session."):
        return selectors.session_page(session_id=session_id)


@requires("treatment_sessions.view_treatmentsession")
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    return _render(request, session_id)


@requires("treatment_sessions.view_treatmentsession")
def record_pdf(request: HttpRequest, session_id: int) -> HttpResponse:
    """The infusion record as a PDF, for the paper chart, a transfer or an inspector. Audited as
    a view of the session."""
    page = _page_or_404(session_id)
    s = page.session
    valid = services.signature_of(selectors.snapshot_of(page)) == s.signature if s.locked else None
    pdf = record.record_pdf(page, signature_valid=valid)
    audit_record(actor=Actor.from_request(request), action=Action.VIEW, obj=s, detail={"record": "pdf"})
    response = HttpResponse(pdf, content_type="application/pdf")
    name = (
        f"infusion-record-{s.patient.mrn}-session-{s.number}-{timezone.localtime(s.checked_in_at):%Y%m%d}.pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@requires("treatment_sessions.view_treatmentsession")
def session_live(request: HttpRequest, session_id: int) -> HttpResponse:
    """Polled by an open session page: nothing (204) while the record is as the page shows it
    (`v`, its version); once another clinician has changed it, the page's new content. The
    browser keeps what a clinician is typing: it does not swap a page with a form being filled
    in, and says that the record changed (web/static/web/behaviour.js)."""
    page = _page_or_404(session_id)
    if request.GET.get("v") == selectors.version_of(page):
        return HttpResponse(status=204)
    return _render(request, session_id, page=page, refreshed=True)


@requires("treatment_sessions.view_treatmentsession", "measures.view_safetyalert")
def session_alerts(request: HttpRequest, session_id: int) -> HttpResponse:
    """The session's safety alerts, polled by the page so that a positive item 9 answered on the
    patient's phone during the infusion shows at the chair without a reload."""
    session = get_object_or_404(TreatmentSession, pk=session_id)
    alerts = selectors.session_alerts(session)
    audit_list_view(
        actor=Actor.from_request(request),
        object_type="measures.safetyalert",
        ids=[a.pk for a in alerts],
        patients=[session.patient_id],
    )
    return render(request, "sessions/_session_alerts.html", {"s": session, "alerts": alerts})


@dataclass(frozen=True)
class _Action:
    form: Callable[..., BaseForm]
    perm: str
    # The actor, the session, the valid form and the ledger's part in a dose (config/urls.py).
    run: Callable[[Actor, TreatmentSession, Any, DoseStock | None], Any]
    done: str
    # Forms whose fields depend on the session (the checklist) are built from it.
    per_session: bool = False


# The order form's fields dose_order takes by the same name.
ORDER_FIELDS = (
    "dose_mg_per_kg",
    "dose_mg",
    "concentration_mg_per_ml",
    "bag_ml",
    "duration_min",
    "duration_reason",
    "lot_number",
)


def _order(actor: Actor, s: TreatmentSession, f: Any, _: DoseStock | None) -> Any:
    return services.dose_order(
        actor=actor,
        session=s,
        weight_basis=f.cleaned_data["weight_basis"] or None,
        **cleaned(f, ORDER_FIELDS),
    )


def _amend(actor: Actor, s: TreatmentSession, f: Any, _: DoseStock | None) -> Any:
    d = f.cleaned_data
    event = None
    if d["add_event"]:
        event = {
            "kind": d["kind"],
            "severity": d["severity"],
            "action_taken": d["action_taken"],
            "description": d["text"][:300] if d["kind"] == "other" else "",
            "serious": False,
            "onset_at": d["onset_at"],
        }
    return services.session_amend(
        actor=actor, session=s, reason=d["reason"], text=d["text"], adverse_event=event
    )


_CHANGE = "treatment_sessions.change_treatmentsession"
ACTIONS: dict[str, _Action] = {
    "vitals": _Action(
        VitalsForm,
        "treatment_sessions.add_vitalsign",
        lambda a, s, f, _: services.vitals_record(actor=a, session=s, vitals=f.vitals()),
        "Reading recorded.",
    ),
    "override": _Action(
        ReasonForm,
        "treatment_sessions.override_bp_gate",
        lambda a, s, f, _: services.gate_override(actor=a, session=s, reason=f.cleaned_data["reason"]),
        "Gate overridden.",
    ),
    "order": _Action(OrderForm, "treatment_sessions.add_doseorder", _order, "Dose ordered."),
    "verify": _Action(
        VerifyForm,
        _CHANGE,
        lambda a, s, f, _: services.dose_verify(actor=a, session=s, **f.cleaned_data),
        "Dose verified.",
    ),
    "start": _Action(
        Form,
        _CHANGE,
        lambda a, s, f, stock: services.dose_start(actor=a, session=s, stock=stock),
        "Dose started.",
    ),
    "device": _Action(
        Form,
        "treatment_sessions.add_devicedose",
        lambda a, s, f, _: services.device_record(actor=a, session=s),
        "Device recorded.",
    ),
    "stop": _Action(
        StopForm,
        _CHANGE,
        lambda a, s, f, stock: services.dose_stop(
            actor=a, session=s, stock=stock, **cleaned(f, ("infused_volume_ml", "reason"))
        ),
        "Dose stopped.",
    ),
    "checklist": _Action(
        lambda data, page: _checklist_form(page, data),
        _CHANGE,
        lambda a, s, f, _: services.checklist_update(
            actor=a, session=s, checklist=f.checklist(), **cleaned(f, ("escort_name", "escort_phone"))
        ),
        "Checklist updated.",
        per_session=True,
    ),
    "risk": _Action(
        RiskForm,
        "treatment_sessions.assess_risk",
        lambda a, s, f, _: services.risk_assess(actor=a, session=s, assessment=f.cleaned_data["assessment"]),
        "Risk assessment recorded.",
    ),
    "ack": _Action(
        AlarmAckForm,
        "treatment_sessions.add_alarmacknowledgement",
        lambda a, s, f, _: services.alarm_acknowledge(actor=a, session=s, **f.cleaned_data),
        "Alarm acknowledged.",
    ),
    "skip": _Action(
        SkipForm,
        _CHANGE,
        lambda a, s, f, _: services.rating_skip(actor=a, session=s, **f.cleaned_data),
        "Rating skipped.",
    ),
    "strike": _Action(
        StrikeForm,
        "treatment_sessions.add_vitalsign",
        lambda a, s, f, _: services.vitals_strike(
            actor=a, session=s, vital_ids=[f.cleaned_data["vital"]], reason=f.cleaned_data["reason"]
        ),
        "Reading struck out.",
    ),
    "enrol": _Action(
        EnrolmentForm,
        "treatment_sessions.add_remsenrolment",
        lambda a, s, f, _: services.rems_enrolment_record(actor=a, patient_id=s.patient_id, **f.cleaned_data),
        "REMS enrolment recorded.",
    ),
    "sedation": _Action(
        SedationForm,
        "treatment_sessions.add_sedationrating",
        lambda a, s, f, _: services.sedation_record(actor=a, session=s, moaas=f.cleaned_data["moaas"]),
        "Sedation rated.",
    ),
    "event": _Action(
        AdverseEventForm,
        "treatment_sessions.add_adverseevent",
        lambda a, s, f, _: services.adverse_event_record(actor=a, session=s, **f.data_for_service()),
        "Adverse event recorded.",
    ),
    "discharge": _Action(
        DischargeForm,
        _CHANGE,
        lambda a, s, f, _: services.discharge(
            actor=a, session=s, criteria=f.criteria(), **cleaned(f, ("ready_to_leave_at", "override_reason"))
        ),
        "Discharged.",
    ),
    "sign": _Action(
        SignForm,
        _CHANGE,
        lambda a, s, f, _: services.session_sign(actor=a, session=s, password=f.cleaned_data["password"]),
        "Signed.",
    ),
    "amend": _Action(AmendForm, "treatment_sessions.add_sessionamendment", _amend, "Amendment recorded."),
}


def session_action(
    request: HttpRequest, session_id: int, action: str, stock: DoseStock | None = None
) -> HttpResponse:
    """POST only; each action checks its own permission (a front-desk user cannot order a dose).
    `stock`: the controlled-substance ledger, which the dose start and stop post to."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("No such action.")
    user: Any = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not user.has_perm(spec.perm):
        raise PermissionDenied
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    session = get_object_or_404(TreatmentSession, pk=session_id)
    if spec.per_session:
        form = spec.form(request.POST, selectors.session_page(session_id=session.pk))
    else:
        form = spec.form(request.POST)
    if submit(form, lambda: spec.run(Actor.from_request(request), session, form, stock))[0]:
        if request.headers.get("HX-Request"):
            return _render(request, session.pk)
        messages.success(request, spec.done)
        return redirect(reverse("sessions:session", args=[session.pk]) + f"#{action}")
    return _render(request, session.pk, {action: form}, UNPROCESSABLE)


@requires("treatment_sessions.change_treatmentsession", "measures.add_questionnaireresponse")
@require_http_methods(["GET", "POST"])
def scale_entry(request: HttpRequest, session_id: int) -> HttpResponse:
    """A scale given in the session: ?purpose=pre|post|dissociation&instrument=phq9."""
    session = get_object_or_404(TreatmentSession.objects.select_related("patient"), pk=session_id)
    purpose = request.GET.get("purpose", "")
    code = "cadss" if purpose == SessionScale.Purpose.DISSOCIATION else request.GET.get("instrument", "")
    if purpose not in SessionScale.Purpose.values or code not in instruments.CODES:
        raise Http404("Choose the purpose and the scale.")
    scale = instruments.get(code)
    form = AnswersForm(request.POST if request.method == "POST" else None, instrument=scale)
    if request.method == "POST":
        done, link = submit(
            form,
            lambda: services.scale_record(
                actor=Actor.from_request(request),
                session=session,
                purpose=purpose,
                instrument_code=code,
                answers=form.answers(),
            ),
        )
        if done and link is not None:
            r = link.response
            messages.success(
                request,
                f"{scale.name}: {r.total if r.total is not None else 'not scored (too many blanks)'}.",
            )
            if r.flags:
                messages.error(request, "Safety flag raised on this scale: see the alert on the chart.")
            return redirect(reverse("sessions:session", args=[session.pk]) + "#scales")
    return render(
        request,
        "sessions/scale_form.html",
        {
            "s": session,
            "patient": session.patient,
            "scale": scale,
            "form": form,
            "purpose": SessionScale.Purpose(purpose).label,
            "stem": wording.stem(scale),
        },
        status=status_of(request),
    )


@requires("treatment_sessions.view_remsrecord")
def rems_pending(request: HttpRequest) -> HttpResponse:
    records = selectors.rems_pending()
    audit_rows_view(
        actor=Actor.from_request(request), object_type="treatment_sessions.remsrecord", rows=records
    )
    return render(request, "sessions/rems_pending.html", {"records": records, "today": timezone.localdate()})


@requires("treatment_sessions.view_remsrecord")
@require_http_methods(["GET", "POST"])
def rems_form(request: HttpRequest, session_id: int) -> HttpResponse:
    """The printable REMS patient monitoring record; marking it submitted is a POST."""
    with missing_as_404(TreatmentSession.DoesNotExist, "No such session."):
        form_data = selectors.rems_form(session_id=session_id)
    if form_data.page.rems is None:
        raise Http404("Only esketamine sessions have a REMS form.")
    form = RemsSubmitForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        require_perm(request, "treatment_sessions.change_remsrecord")
        done = saved(
            request,
            form,
            lambda: services.rems_submit(
                actor=Actor.from_request(request),
                session=form_data.page.session,
                **cleaned(form, REMS_SUBMIT_FIELDS),
            ),
            said="REMS form marked submitted.",
            to="sessions:rems-pending",
        )
        if done:
            return done
    else:
        audit_record(
            actor=Actor.from_request(request),
            action=Action.VIEW,
            obj=form_data.page.rems,
            detail={"form": "rems"},
        )
    return render(
        request,
        "sessions/rems_form.html",
        {
            "f": form_data,
            "s": form_data.page.session,
            "patient": form_data.page.session.patient,
            "form": form,
        },
        status=status_of(request),
    )

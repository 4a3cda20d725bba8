from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from ketacare.accounts.permissions import requires
from ketacare.audit.context import USER_AGENT_MAX, Actor, client_ip
from ketacare.audit.services import audit_list_view, audit_rows_view, audit_view
from ketacare.clinical import instruments
from ketacare.measures import selectors, services, wording
from ketacare.measures.forms import AcknowledgeForm, AnswersForm, LinkForm, StaffResponseForm
from ketacare.measures.models import Context, QuestionnaireResponse, SafetyAlert, SelfReportLink, flag_labels
from ketacare.measures.plots import trajectory_svg_cached
from ketacare.patients.models import Patient
from ketacare.ui.forms import UNPROCESSABLE, apply_errors, cleaned, status_of, submit


def chart_panel(
    request: HttpRequest, patient: Patient, *, session_times: Callable[[], Iterable[datetime.datetime]]
) -> str:
    """The measures section of the patient chart (composed in web/chart.py). Staff who may send
    self-report links but not read scores (the front desk) see only the links. `session_times`
    reads when the patient's treatments were given (from the sessions app, which sits above this
    one), for the score plot's markers; it is called only for staff who see the plot."""
    user: Any = request.user
    if not user.has_perm("measures.view_questionnaireresponse"):
        if not user.has_perm("measures.add_selfreportlink"):
            return ""
        return render_to_string(
            "measures/_links_panel.html",
            {"patient": patient, "link_form": LinkForm(), **_links_context(patient)},
            request=request,
        )
    responses = selectors.responses_page(patient_id=patient.pk, size=RESPONSES_SHOWN + 1)
    # A page that is not full holds every score the patient has: the plot is drawn from it.
    every = selectors.score_rows(responses) if len(responses) <= RESPONSES_SHOWN else None
    trajectories = selectors.trajectories(
        patient_id=patient.pk, session_times=list(session_times()), rows=every
    )
    return render_to_string(
        "measures/_chart_panel.html",
        {
            "patient": patient,
            "alerts": selectors.patient_open_alerts(patient_id=patient.pk),
            "trajectories": trajectories,
            "baseline_labels": [t.baseline_label for t in trajectories if t.baseline_label],
            "pcl5_rule": selectors.response_rule("pcl5").text(),
            "same_day_hours": selectors.outcome_rules().time_point_min_hours,
            "plot_svg": trajectory_svg_cached(patient.pk, trajectories),
            "responses": responses[:RESPONSES_SHOWN],
            "more_before": responses[RESPONSES_SHOWN - 1].pk if len(responses) > RESPONSES_SHOWN else None,
            "scales": [instruments.get(c) for c in instruments.CODES],
            "link_form": LinkForm(),
            "ack_form": AcknowledgeForm(),
            **_links_context(patient),
        },
        request=request,
    )


def _links_context(patient: Patient, notice: str = "") -> dict[str, Any]:
    return {
        "patient": patient,
        "open_links": selectors.open_links(patient_id=patient.pk),
        "link_notice": notice,
    }


RESPONSES_SHOWN = 25


def _patient(patient_id: int) -> Patient:
    return get_object_or_404(Patient, pk=patient_id)


@requires("measures.view_questionnaireresponse")
def responses_more(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(patient_id)
    try:
        before = int(request.GET.get("before", ""))
    except ValueError:
        raise Http404("Give the id to page back from.") from None
    rows = selectors.responses_page(patient_id=patient.pk, before_id=before, size=RESPONSES_SHOWN + 1)
    audit_list_view(
        actor=Actor.from_request(request),
        object_type="measures.questionnaireresponse",
        ids=[r.pk for r in rows[:RESPONSES_SHOWN]],
        patients=[patient.pk],
    )
    return render(
        request,
        "measures/_response_rows.html",
        {
            "patient": patient,
            "responses": rows[:RESPONSES_SHOWN],
            "more_before": rows[RESPONSES_SHOWN - 1].pk if len(rows) > RESPONSES_SHOWN else None,
        },
    )


@requires("measures.view_questionnaireresponse")
def response_detail(request: HttpRequest, patient_id: int, response_id: int) -> HttpResponse:
    response = get_object_or_404(
        QuestionnaireResponse.objects.select_related("entered_by"), pk=response_id, patient_id=patient_id
    )
    scale = instruments.get(response.instrument)
    rows = []
    for item, position, score in zip(scale.items, response.answers, response.item_scores, strict=False):
        answer = None if position is None else item.options[position].label
        rows.append({"item": item, "answer": answer, "score": score})
    audit_view(actor=Actor.from_request(request), obj=response)
    template = "measures/_response_detail.html" if request.htmx else "measures/response_detail.html"  # type: ignore[attr-defined]
    return render(
        request,
        template,
        {
            "response": response,
            "scale": scale,
            "rows": rows,
            "patient": response.patient,
            "flag_text": flag_labels(response.flags),
        },
    )


@requires("measures.add_questionnaireresponse")
@require_http_methods(["GET", "POST"])
def response_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(patient_id)
    code = request.GET.get("instrument") or request.POST.get("instrument", "")
    if code not in instruments.CODES:
        return render(
            request,
            "measures/pick_scale.html",
            {
                "patient": patient,
                "scales": [instruments.get(c) for c in instruments.CODES],
                "problem": f"Choose a scale (not {code!r})." if code else "",
            },
            status=400 if code else 200,
        )
    scale = instruments.get(code)
    # The page that sent the user here may name the context (the consultation: "baseline") and
    # where to go back to once the scale is saved.
    context = request.GET.get("context", "")
    form = StaffResponseForm(
        request.POST if request.method == "POST" else None,
        instrument=scale,
        initial={"context": context} if context in Context.values else None,
    )
    back = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("patients:chart", args=[patient.pk]) + "#measures"
    if request.method == "POST":
        done, response = submit(
            form,
            lambda: services.response_record(
                actor=Actor.from_request(request),
                patient=patient,
                instrument=code,
                answers=form.answers(),
                **cleaned(form, ("context", "administered_at", "minutes_after_dose")),
            ),
        )
        if done and response is not None:
            summary = f"{scale.name} recorded: " + (
                f"{response.total} ({response.band})"
                if response.total is not None
                else "not scored (too many blanks)"
            )
            messages.success(request, summary + ".")
            if response.flags and services.alert_priority(response.flags):
                messages.error(request, f"Safety alert raised: {flag_labels(response.flags)}.")
            return redirect(back)
    return render(
        request,
        "measures/response_form.html",
        {"patient": patient, "scale": scale, "form": form, "stem": wording.stem(scale), "back": back},
        status=status_of(request),
    )


@requires("measures.add_selfreportlink")
@require_POST
def link_create(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient(patient_id)
    form = LinkForm(request.POST)
    if not form.is_valid():
        return render(
            request, "measures/link_created.html", {"patient": patient, "form": form}, status=UNPROCESSABLE
        )
    try:
        link, token = services.self_report_link_create(
            actor=Actor.from_request(request),
            patient=patient,
            instrument=form.cleaned_data["instrument"],
            context=form.cleaned_data["context"],
        )
    except ValidationError as exc:
        apply_errors(form, exc)
        return render(
            request, "measures/link_created.html", {"patient": patient, "form": form}, status=UNPROCESSABLE
        )
    url = request.build_absolute_uri(reverse("measures:self-report", args=[token]))
    return render(
        request,
        "measures/link_created.html",
        {
            "patient": patient,
            "link": link,
            "url": url,
            "scale": instruments.get(link.instrument),
            # What the clinician's own mail or messaging app opens with: the link and when it
            # expires, nothing about the care (no clinic name, no scale: a lock screen shows it).
            "mail_subject": "A short questionnaire",
            "mail_body": (
                "Please fill in this short questionnaire before "
                f"{timezone.localtime(link.expires_at):%d %b %H:%M}: {url}"
            ),
            "sms_number": "".join(ch for ch in patient.phone if ch.isdigit() or ch == "+"),
        },
    )


@requires("measures.add_selfreportlink")
@require_POST
def link_revoke(request: HttpRequest, patient_id: int, link_id: int) -> HttpResponse:
    """Withdraw a link the patient has not used yet: the same permission as sending one."""
    found = get_object_or_404(
        SelfReportLink.objects.select_related("patient"), pk=link_id, patient_id=patient_id
    )
    link = services.self_report_link_revoke(actor=Actor.from_request(request), link=found)
    level = messages.WARNING
    if link.revoked_at is not None:
        notice, level = "Link revoked: it no longer opens the questionnaire.", messages.SUCCESS
    elif link.used_at is not None:
        when = timezone.localtime(link.used_at)
        notice = f"Not revoked: the patient already filled it in at {when:%Y-%m-%d %H:%M}."
    else:
        notice = "Not revoked: the link had already expired."
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "measures/_self_report_links.html", _links_context(found.patient, notice))
    messages.add_message(request, level, notice)
    return redirect(reverse("patients:chart", args=[patient_id]) + "#self-report-links")


def _patient_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """A page for whoever holds the patient's phone: it names the clinic and the scale, never the
    patient (the holder may not be the patient), so no name, date of birth or MRN reaches it."""
    return render(request, template, {"clinic_name": settings.CLINIC_NAME, **context}, status=status)


@login_not_required
@require_http_methods(["GET", "POST"])
def self_report(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's page: no account, one scale, answered once."""
    try:
        link = services.self_report_link_open(token)
    except services.LinkUnusable as exc:
        return _patient_page(
            request,
            "measures/self_report_closed.html",
            {"reason": exc.reason, "code": exc.code},
            status=410 if exc.code in ("used", "expired") else 404,
        )
    scale = instruments.get(link.instrument)
    form = AnswersForm(
        request.POST if request.method == "POST" else None, instrument=scale, patient_facing=True
    )
    if request.method == "POST" and form.is_valid():
        try:
            submitted = services.self_report_submit(
                token=token,
                answers=form.answers(),
                ip=client_ip(request),
                user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX],
            )
        except services.LinkUnusable as exc:
            return _patient_page(
                request, "measures/self_report_closed.html", {"reason": exc.reason, "code": exc.code}, 410
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _patient_page(
                request,
                "measures/self_report_done.html",
                {"crisis": submitted.show_crisis_resources, "crisis_text": settings.CRISIS_TEXT},
            )
    return _patient_page(
        request,
        "measures/self_report.html",
        {"scale": scale, "form": form, "stem": wording.stem(scale)},
        status=status_of(request),
    )


ALERTS_PER_PAGE = 50


@requires("measures.view_safetyalert")
def alert_list(request: HttpRequest) -> HttpResponse:
    """Every open alert, most urgent and oldest first, 50 a page."""
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    alerts, total = selectors.open_alerts(limit=ALERTS_PER_PAGE, offset=(page - 1) * ALERTS_PER_PAGE)
    audit_rows_view(actor=Actor.from_request(request), object_type="measures.safetyalert", rows=alerts)
    return render(
        request,
        "measures/alert_list.html",
        {
            "alerts": alerts,
            "total": total,
            "page": page,
            "ack_form": AcknowledgeForm(),
            "has_next": page * ALERTS_PER_PAGE < total,
        },
    )


@requires("measures.change_safetyalert")
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(SafetyAlert.objects.select_related("patient", "response"), pk=alert_id)
    form = AcknowledgeForm(request.POST)
    done, acknowledged = submit(
        form,
        lambda: services.alert_acknowledge(
            actor=Actor.from_request(request), alert=alert, note=form.cleaned_data["note"]
        ),
    )
    if done and acknowledged is not None:
        alert = acknowledged
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request,
            "measures/_alert.html",
            {"alert": alert, "ack_form": form},
            status=UNPROCESSABLE if form.errors else 200,
        )
    if form.errors:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        messages.success(request, "Alert acknowledged.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("web:home")
    return redirect(target)

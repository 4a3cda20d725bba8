from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.services import Action, audit_record, audit_view
from ketacare.clinical.candidacy import PRESENTING_LABELS
from ketacare.patients.models import Patient
from ketacare.patients.services import referring_provider_create
from ketacare.screening import letters, selectors, services
from ketacare.screening.forms import (
    ChecklistForm,
    DecisionForm,
    EpisodeForm,
    PriorTreatmentForm,
    ReferralForm,
    StrikeOutForm,
    TrialForm,
)
from ketacare.screening.models import AntidepressantTrial, CandidacyDecision, Consultation
from ketacare.ui.forms import UNPROCESSABLE, cleaned, form_post, saved, status_of
from ketacare.ui.views import missing_as_404


def chart_panel(request: HttpRequest, patient: Patient) -> str:
    """The consultation and candidacy section of the patient chart (composed in web/chart.py)."""
    user: Any = request.user
    if not user.has_perm("screening.view_referral"):
        return ""
    summary = selectors.chart_summary(patient_id=patient.pk)
    return render_to_string(
        "screening/_chart_panel.html",
        {
            "patient": patient,
            "summary": summary,
            "conditions": [PRESENTING_LABELS.get(c, c) for c in summary.referral.presenting_conditions]
            if summary.referral
            else [],
            "decision_label": summary.decision.get_decision_display() if summary.decision else "",
        },
        request=request,
    )


# The referral form's fields referral_record takes by the same name.
REFERRAL_FIELDS = (
    "received_on",
    "reason",
    "presenting_conditions",
    "consent_to_treatment",
    "consent_to_share",
)


@requires("screening.add_referral")
@require_http_methods(["GET", "POST"])
def referral_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    # The clinician named at registration refers the patient unless the user chooses otherwise.
    form = ReferralForm(
        request.POST if request.method == "POST" else None,
        initial={"referring_provider": patient.referring_provider_id},
    )
    actor = Actor.from_request(request)

    @transaction.atomic
    def record() -> None:
        provider, details = form.cleaned_data["referring_provider"], form.new_provider()
        if details is not None:
            provider = referring_provider_create(actor=actor, details=details)
        services.referral_record(
            actor=actor, patient=patient, referring_provider=provider, **cleaned(form, REFERRAL_FIELDS)
        )

    if request.method == "POST" and (
        done := saved(
            request,
            form,
            record,
            place=_provider_errors,
            said="Referral recorded.",
            to=reverse("patients:chart", args=[patient.pk]),
        )
    ):
        return done
    return render(
        request, "screening/referral_form.html", {"patient": patient, "form": form}, status=status_of(request)
    )


def _provider_errors(exc: ValidationError) -> ValidationError:
    """A new referrer's field errors (name, phone, email) belong beside the new_provider_ fields."""
    if not hasattr(exc, "error_dict"):
        return exc
    mapped = {
        (f"new_provider_{k}" if k in ("name", "practice", "phone", "email") else k): v
        for k, v in exc.error_dict.items()
    }
    return ValidationError(mapped)


@requires("screening.add_consultation")
@require_POST
def consultation_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    consultation = services.consultation_start(actor=Actor.from_request(request), patient=patient)
    return redirect("screening:consultation", consultation_id=consultation.pk)


def _forms(consultation: Consultation, bound: dict[str, BaseForm]) -> dict[str, BaseForm]:
    forms: dict[str, BaseForm] = {
        "episode": EpisodeForm(instance=consultation),
        "checklist": ChecklistForm(answers=consultation.checklist),
        "trial": TrialForm(),
        "prior": PriorTreatmentForm(),
        "decision": DecisionForm(),
        "strike": StrikeOutForm(),
    }
    forms.update(bound)
    return forms


def _page(
    request: HttpRequest, consultation_id: int, bound: dict[str, BaseForm] | None = None, status: int = 200
) -> HttpResponse:
    with missing_as_404(Consultation.DoesNotExist, "No such consultation."):
        page = selectors.consultation_page(consultation_id=consultation_id)
    audit_view(actor=Actor.from_request(request), obj=page.consultation)
    return render(
        request,
        "screening/consultation.html",
        {
            "page": page,
            "consultation": page.consultation,
            "patient": page.consultation.patient,
            "forms": _forms(page.consultation, bound or {}),
            "conditions": [PRESENTING_LABELS.get(c, c) for c in page.referral.presenting_conditions]
            if page.referral
            else [],
        },
        status=status,
    )


@requires("screening.view_consultation")
def consultation_detail(request: HttpRequest, consultation_id: int) -> HttpResponse:
    return _page(request, consultation_id)


def _consultation(consultation_id: int) -> Consultation:
    return get_object_or_404(Consultation.objects.select_related("patient"), pk=consultation_id)


# The form fields each service takes by the same name.
TRIAL_FIELDS = (
    "drug",
    "daily_dose_mg",
    "started_on",
    "stopped_on",
    "outcome",
    "adherence",
    "current_episode",
    "notes",
)
PRIOR_TREATMENT_FIELDS = ("kind", "outcome", "description", "started_on", "sessions", "current_episode")
EPISODE_FIELDS = ("episode_duration_months", "severity", "augmentation_used", "notes")
DECISION_FIELDS = ("decision", "routes", "reasons", "precautions", "plan", "password")


def _consultation_url(consultation: Consultation) -> str:
    return reverse("screening:consultation", args=[consultation.pk])


# Each section of the consultation page posts to a view made of its service call: saved, the
# message and back to the section; refused, the page again with the section's form and its errors.
_section = partial(form_post, _consultation, page=_page, url=_consultation_url)


@requires("screening.change_consultation")
@_section(
    EpisodeForm,
    key="episode",
    anchor="episode",
    said="Episode recorded.",
    form_kwargs=lambda consultation: {"instance": Consultation.objects.get(pk=consultation.pk)},
)
def episode_edit(request: HttpRequest, consultation: Consultation, form: Any) -> Any:
    return services.episode_record(
        actor=Actor.from_request(request), consultation=consultation, **cleaned(form, EPISODE_FIELDS)
    )


@requires("screening.change_consultation")
@_section(ChecklistForm, key="checklist", anchor="checklist", said="History checklist recorded.")
def checklist_edit(request: HttpRequest, consultation: Consultation, form: Any) -> Any:
    return services.checklist_record(
        actor=Actor.from_request(request), consultation=consultation, answers=form.answers()
    )


@requires("screening.add_antidepressanttrial")
@_section(TrialForm, key="trial", anchor="trials", said="Trial recorded.")
def trial_new(request: HttpRequest, consultation: Consultation, form: Any) -> Any:
    return services.trial_record(
        actor=Actor.from_request(request), patient=consultation.patient, **cleaned(form, TRIAL_FIELDS)
    )


@requires("screening.change_antidepressanttrial")
@require_POST
def trial_strike_out(request: HttpRequest, consultation_id: int, trial_id: int) -> HttpResponse:
    consultation = _consultation(consultation_id)
    trial = get_object_or_404(AntidepressantTrial, pk=trial_id, patient_id=consultation.patient_id)
    form = StrikeOutForm(request.POST)
    done = saved(
        request,
        form,
        lambda: services.trial_strike_out(
            actor=Actor.from_request(request), trial=trial, reason=form.cleaned_data["reason"]
        ),
        said=lambda _: f"{trial} struck out.",
        to=_consultation_url(consultation) + "#trials",
    )
    if done:
        return done
    # The strike-out form sits in a row of the table: its errors go on top of the page too.
    messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
    return _page(request, consultation.pk, {"strike": form}, UNPROCESSABLE)


@requires("screening.add_priortreatment")
@_section(PriorTreatmentForm, key="prior", anchor="prior", said="Treatment recorded.")
def prior_new(request: HttpRequest, consultation: Consultation, form: Any) -> Any:
    return services.prior_treatment_record(
        actor=Actor.from_request(request),
        patient=consultation.patient,
        **cleaned(form, PRIOR_TREATMENT_FIELDS),
    )


@requires("screening.add_candidacydecision")
@_section(
    DecisionForm,
    key="decision",
    anchor="decision",
    said=lambda decision: f"Decision signed: {decision.get_decision_display()}.",
)
def decision_new(request: HttpRequest, consultation: Consultation, form: Any) -> Any:
    return services.decision_sign(
        actor=Actor.from_request(request), consultation=consultation, **cleaned(form, DECISION_FIELDS)
    )


@requires("screening.view_candidacydecision")
def letter(request: HttpRequest, decision_id: int) -> HttpResponse:
    decision = get_object_or_404(
        CandidacyDecision.objects.select_related("patient", "patient__referring_provider", "signed_by"),
        pk=decision_id,
    )
    pdf = letters.letter_pdf(decision)
    audit_record(
        actor=Actor.from_request(request), action=Action.VIEW, obj=decision, detail={"letter": "pdf"}
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"consultation-letter-{decision.patient.mrn}-{decision.signed_at:%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.services import (
    Action,
    audit_list_view,
    audit_record,
    audit_record_many,
    audit_view,
    list_view_spec,
    spec_for,
)
from ketacare.patients import consent, consent_pdf, selectors, services
from ketacare.patients.forms import (
    AllergyForm,
    ConsentPaperForm,
    ConsentWithdrawForm,
    MeasurementForm,
    PatientForm,
    PatientRegisterForm,
)
from ketacare.patients.models import ConsentSignature, Patient
from ketacare.ui.forms import UNPROCESSABLE, apply_errors, cleaned, saved, status_of, submit
from ketacare.ui.views import missing_as_404


def chart_or_404(patient_id: int) -> selectors.Chart:
    """The chart's own part (demographics, diagnoses, measurements, allergies), or a 404."""
    with missing_as_404(Patient.DoesNotExist, "No patient with that id."):
        return selectors.patient_chart(patient_id=patient_id)


@requires("patients.view_patient")
def patient_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    query, page = selectors.patient_search_page(
        text=text, page=request.GET.get("page"), per_page=settings.PATIENTS_PER_PAGE
    )
    audit_list_view(
        actor=Actor.from_request(request),
        object_type="patients.patient",
        ids=[p.pk for p in page.patients],
    )
    context = {"q": text, "query": query, "page": page}
    if request.htmx and request.htmx.target == "results":  # type: ignore[attr-defined]
        return render(request, "patients/_results.html", context)
    return render(request, "patients/patient_list.html", context)


@requires("patients.add_patient")
@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    form = PatientRegisterForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_register(
                actor=Actor.from_request(request),
                details=form.details(),
                diagnoses=form.cleaned_data["diagnoses"],
                primary_diagnosis=form.cleaned_data["primary_diagnosis"] or None,
                weight_kg=form.cleaned_data["weight_kg"],
                height_cm=form.cleaned_data["height_cm"],
                confirm_not_duplicate=form.confirms_not_duplicate(),
            )
        except services.PossibleDuplicateError as exc:
            apply_errors(form, exc)
            form.ask_about(exc.candidates)
            # The warning shows these patients' names and dates of birth: a list view.
            audit_list_view(
                actor=Actor.from_request(request),
                object_type="patients.patient",
                ids=[d.patient.pk for d in exc.candidates],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Registered {patient.full_name}, MRN {patient.mrn}.")
            return redirect("patients:chart", patient_id=patient.pk)
    status = status_of(request)
    return render(request, "patients/patient_form.html", {"form": form, "creating": True}, status=status)


@requires("patients.change_patient")
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = chart_or_404(patient_id).patient
    form = PatientForm(request.POST if request.method == "POST" else None, instance=patient)
    if request.method == "POST":
        done = saved(
            request,
            form,
            lambda: services.patient_update(
                actor=Actor.from_request(request),
                patient=patient,
                details=form.details(),
                diagnoses=form.cleaned_data["diagnoses"],
                primary_diagnosis=form.cleaned_data["primary_diagnosis"] or None,
            ),
            said="Changes saved.",
            to=reverse("patients:chart", args=[patient.pk]),
        )
        if done:
            return done
    else:
        audit_view(actor=Actor.from_request(request), obj=patient)
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "patient": patient, "creating": False},
        status=status_of(request),
    )


def chart_context(
    chart: selectors.Chart, *, decided: Mapping[str, datetime.datetime], **forms: Any
) -> dict[str, Any]:
    """What patients/chart.html shows of this app's part, with its forms (web/chart.py adds the
    other apps' sections). `decided`: the routes the patient's current eligible decision covers,
    and when it was signed (a consent counts only if signed since)."""
    return {
        "chart": chart,
        "patient": chart.patient,
        "consents": selectors.consent_states(patient_id=chart.patient.pk, decided=decided),
        "measurement_form": forms.get("measurement_form") or MeasurementForm(),
        "allergy_form": forms.get("allergy_form") or AllergyForm(),
    }


def _chart_form(
    form_class: type[MeasurementForm | AllergyForm], *, key: str, fragment: str
) -> Callable[[Callable[[HttpRequest, Patient, Any], object]], Callable[..., HttpResponse]]:
    """A POST view of a form of the chart's own part, made of its service call (the decorated
    function, given the request, the patient and the valid form; `key`: the form's name in
    chart_context). An htmx request gets the section back (`fragment`), with a fresh form once
    recorded; a plain one is redirected to the chart, or shown the chart with the errors."""

    def view_of(record: Callable[[HttpRequest, Patient, Any], object]) -> Callable[..., HttpResponse]:
        @require_POST
        @wraps(record)
        def view(request: HttpRequest, patient_id: int, decisions: selectors.Decisions) -> HttpResponse:
            chart = chart_or_404(patient_id)
            form = form_class(request.POST)
            status = 200
            submit(form, lambda: record(request, chart.patient, form))
            if form.errors:
                status = UNPROCESSABLE
            else:
                chart, form = selectors.patient_chart(patient_id=patient_id), form_class()
            htmx = request.htmx  # type: ignore[attr-defined]
            if status == 200 and not htmx:
                messages.success(request, "Recorded.")
                return redirect("patients:chart", patient_id=patient_id)
            return render(
                request,
                fragment if htmx else "patients/chart.html",
                chart_context(chart, decided=decisions(patient_id=patient_id), **{key: form}),
                status=status,
            )

        return view

    return view_of


@requires("patients.add_bodymeasurement")
@_chart_form(MeasurementForm, key="measurement_form", fragment="patients/_measurements.html")
def measurement_add(request: HttpRequest, patient: Patient, form: Any) -> object:
    return services.measurement_record(
        actor=Actor.from_request(request), patient=patient, **cleaned(form, ("weight_kg", "height_cm"))
    )


@requires("patients.add_allergy")
@_chart_form(AllergyForm, key="allergy_form", fragment="patients/_allergies.html")
def allergy_add(request: HttpRequest, patient: Patient, form: Any) -> object:
    return services.allergy_record(actor=Actor.from_request(request), patient=patient, **form.cleaned_data)


# -- Consent to treatment: what the patient signed, and a paper signature or a withdrawal --------

CONSENT_VIEW = "patients.view_consentsignature"
# The paper form's fields consent_record_paper takes by the same name.
PAPER_FIELDS = ("version", "typed_name", "signed_at", "witnessed")


def _consent_page(
    request: HttpRequest,
    patient: Patient,
    decisions: selectors.Decisions,
    *,
    status: int = 200,
    paper: tuple[str, ConsentPaperForm] | None = None,
    withdraw: tuple[int, ConsentWithdrawForm] | None = None,
    problem: str = "",
) -> HttpResponse:
    """The patient's consent page: each kind's current version and the patient's state of it,
    with a form to record a paper signature where none of the current version is in force (only
    for a route the patient's current signed eligible decision covers: `decisions`), a
    withdrawal the patient made in the portal to acknowledge, and every signature with how it was
    made and whether it still counts. A refused form (`paper`, `withdraw`) comes back with its
    errors beside its fields."""
    states = selectors.consent_states(patient_id=patient.pk, decided=decisions(patient_id=patient.pk))
    signatures = [s for state in states for s in state.signatures]
    signatures.sort(key=lambda s: (s.signed_at, s.pk), reverse=True)
    can_withdraw = request.user.has_perm(services.CONSENT_WITHDRAW)
    rows: list[tuple[ConsentSignature, bool, ConsentWithdrawForm | None]] = []
    # A withdrawal is of the consent to a route (every signature of it still standing): offered
    # once per route, on its newest signature still standing.
    newest = {state.kind.code: state.standing.pk if state.standing else None for state in states}
    for s in signatures:
        form = None
        if withdraw and withdraw[0] == s.pk and s.withdrawn:
            # Withdrawn meanwhile (by the patient, or by someone else at the same moment).
            problem = " ".join(str(e) for e in withdraw[1].errors.get("reason", []))
        elif can_withdraw and newest.get(s.document.kind) == s.pk:
            form = withdraw[1] if withdraw and withdraw[0] == s.pk else ConsentWithdrawForm(prefix=f"w{s.pk}")
        rows.append((s, selectors.is_current(s, states), form))
    # The patient's withdrawals in the portal nobody has said they saw: one per route, the newest
    # signature each marked.
    unseen: dict[str, ConsentSignature] = {}
    for s in signatures:
        if s.withdrawn_how == ConsentSignature.WithdrawnHow.PORTAL and s.withdrawal_seen_at is None:
            unseen.setdefault(s.document.kind, s)
    kinds = [
        (
            state,
            paper[1]
            if paper and paper[0] == state.kind.code
            else ConsentPaperForm(prefix=state.kind.code, initial={"version": state.current.version}),
        )
        for state in states
    ]
    actor = Actor.from_request(request)
    specs = [spec_for(patient, Action.VIEW, {"consent": True})]
    if signatures:
        specs.append(list_view_spec("patients.consentsignature", [s.pk for s in signatures], [patient.pk]))
    audit_record_many(actor=actor, specs=specs)
    return render(
        request,
        "patients/consent.html",
        {
            "patient": patient,
            "kinds": kinds,
            "rows": rows,
            "problem": problem,
            "unseen": list(unseen.values()),
            "can_acknowledge": can_withdraw,
        },
        status=status,
    )


def _patient_or_404(patient_id: int) -> Patient:
    return get_object_or_404(
        Patient.objects.only(
            "id", "mrn", "given_name", "family_name", "preferred_name", "date_of_birth", "sex"
        ),
        pk=patient_id,
    )


@requires(CONSENT_VIEW)
@require_GET
def consent_list(request: HttpRequest, patient_id: int, decisions: selectors.Decisions) -> HttpResponse:
    return _consent_page(request, _patient_or_404(patient_id), decisions)


@requires(CONSENT_VIEW, services.CONSENT_RECORD)
@require_POST
def consent_paper(
    request: HttpRequest, patient_id: int, kind: str, decisions: selectors.Decisions
) -> HttpResponse:
    if kind not in consent.BY_CODE:
        raise Http404("No such consent.")
    patient = _patient_or_404(patient_id)
    form = ConsentPaperForm(request.POST, prefix=kind)
    return saved(
        request,
        form,
        lambda: services.consent_record_paper(
            actor=Actor.from_request(request),
            patient=patient,
            kind=kind,
            **cleaned(form, PAPER_FIELDS),
            decided_at=decisions(patient_id=patient.pk).get(kind),
        ),
        said=lambda signature: (
            f"Recorded: {patient.full_name} signed version {signature.document.version} of the "
            f"{consent.BY_CODE[kind].label} consent on paper, witnessed by you."
        ),
        to=reverse("patients:consent", args=[patient.pk]) + f"#consent-{kind}",
    ) or _consent_page(request, patient, decisions, status=UNPROCESSABLE, paper=(kind, form))


@requires(CONSENT_VIEW, services.CONSENT_WITHDRAW)
@require_POST
def consent_withdraw(
    request: HttpRequest, patient_id: int, signature_id: int, decisions: selectors.Decisions
) -> HttpResponse:
    patient = _patient_or_404(patient_id)
    signature = get_object_or_404(
        ConsentSignature.objects.select_related("document"), pk=signature_id, patient=patient
    )
    form = ConsentWithdrawForm(request.POST, prefix=f"w{signature.pk}")
    label = consent.BY_CODE[signature.document.kind].label
    return saved(
        request,
        form,
        lambda: services.consent_withdraw(
            actor=Actor.from_request(request), signature=signature, reason=form.cleaned_data["reason"]
        ),
        place=lambda exc: ValidationError({"reason": exc.messages}),
        said=f"Recorded: {patient.full_name} withdrew their consent to {label}. No course by this route "
        "starts, and no session is checked in or dosed, until they sign again.",
        to=reverse("patients:consent", args=[patient.pk]),
    ) or _consent_page(request, patient, decisions, status=UNPROCESSABLE, withdraw=(signature.pk, form))


@requires(CONSENT_VIEW, services.CONSENT_WITHDRAW)
@require_POST
def consent_acknowledge(
    request: HttpRequest, patient_id: int, signature_id: int, decisions: selectors.Decisions
) -> HttpResponse:
    """A nurse or physician says they saw the withdrawal the patient made in the portal: it leaves
    the staff home page."""
    patient = _patient_or_404(patient_id)
    signature = get_object_or_404(
        ConsentSignature.objects.select_related("document"), pk=signature_id, patient=patient
    )
    try:
        services.consent_withdrawal_acknowledge(actor=Actor.from_request(request), signature=signature)
    except ValidationError as exc:
        return _consent_page(
            request, patient, decisions, status=UNPROCESSABLE, problem=" ".join(exc.messages)
        )
    label = consent.BY_CODE[signature.document.kind].label
    messages.success(
        request,
        f"Acknowledged: you saw that {patient.full_name} withdrew their consent to {label} in the "
        "portal. Talk with them, and with the physician, about their treatment.",
    )
    return redirect("patients:consent", patient_id=patient.pk)


@requires(CONSENT_VIEW)
@require_GET
def consent_copy(request: HttpRequest, patient_id: int, signature_id: int) -> HttpResponse:
    signature = get_object_or_404(
        ConsentSignature.objects.select_related("document", "patient", "witness", "withdrawn_by"),
        pk=signature_id,
        patient_id=patient_id,
    )
    pdf = consent_pdf.copy_pdf(signature)
    audit_record(actor=Actor.from_request(request), action=Action.VIEW, obj=signature, detail={"copy": "pdf"})
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{consent_pdf.copy_filename(signature)}"'
    return response

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.services import audit_list_view, audit_view
from ketacare.patients import selectors, services
from ketacare.patients.forms import AllergyForm, MeasurementForm, PatientForm, PatientRegisterForm
from ketacare.patients.models import Patient
from ketacare.ui.forms import UNPROCESSABLE, apply_errors, submit


def chart_or_404(patient_id: int) -> selectors.Chart:
    """The chart's own part (demographics, diagnoses, measurements, allergies), or a 404."""
    try:
        return selectors.patient_chart(patient_id=patient_id)
    except Patient.DoesNotExist:
        raise Http404("No patient with that id.") from None


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
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render(request, "patients/patient_form.html", {"form": form, "creating": True}, status=status)


@requires("patients.change_patient")
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = chart_or_404(patient_id).patient
    form = PatientForm(request.POST if request.method == "POST" else None, instance=patient)
    if request.method == "POST":
        if submit(
            form,
            lambda: services.patient_update(
                actor=Actor.from_request(request),
                patient=patient,
                details=form.details(),
                diagnoses=form.cleaned_data["diagnoses"],
                primary_diagnosis=form.cleaned_data["primary_diagnosis"] or None,
            ),
        )[0]:
            messages.success(request, "Changes saved.")
            return redirect("patients:chart", patient_id=patient.pk)
    else:
        audit_view(actor=Actor.from_request(request), obj=patient)
    status = UNPROCESSABLE if request.method == "POST" else 200
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "patient": patient, "creating": False},
        status=status,
    )


def chart_context(chart: selectors.Chart, **forms: Any) -> dict[str, Any]:
    """What patients/chart.html shows of this app's part, with its forms (web/chart.py adds the
    other apps' sections)."""
    return {
        "chart": chart,
        "patient": chart.patient,
        "measurement_form": forms.get("measurement_form") or MeasurementForm(),
        "allergy_form": forms.get("allergy_form") or AllergyForm(),
    }


@requires("patients.add_bodymeasurement")
@require_POST
def measurement_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    chart = chart_or_404(patient_id)
    form = MeasurementForm(request.POST)
    status = 200
    submit(
        form,
        lambda: services.measurement_record(
            actor=Actor.from_request(request),
            patient=chart.patient,
            weight_kg=form.cleaned_data["weight_kg"],
            height_cm=form.cleaned_data["height_cm"],
        ),
    )
    if form.errors:
        status = UNPROCESSABLE
    else:
        chart, form = selectors.patient_chart(patient_id=patient_id), MeasurementForm()
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request,
            "patients/_measurements.html",
            chart_context(chart, measurement_form=form),
            status=status,
        )
    if status == 200:
        messages.success(request, "Recorded.")
        return redirect("patients:chart", patient_id=patient_id)
    return render(request, "patients/chart.html", chart_context(chart, measurement_form=form), status=status)


@requires("patients.add_allergy")
@require_POST
def allergy_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    chart = chart_or_404(patient_id)
    form = AllergyForm(request.POST)
    status = 200
    submit(
        form,
        lambda: services.allergy_record(
            actor=Actor.from_request(request), patient=chart.patient, **form.cleaned_data
        ),
    )
    if form.errors:
        status = UNPROCESSABLE
    else:
        chart, form = selectors.patient_chart(patient_id=patient_id), AllergyForm()
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request, "patients/_allergies.html", chart_context(chart, allergy_form=form), status=status
        )
    if status == 200:
        messages.success(request, "Recorded.")
        return redirect("patients:chart", patient_id=patient_id)
    return render(request, "patients/chart.html", chart_context(chart, allergy_form=form), status=status)

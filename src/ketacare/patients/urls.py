from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path

from ketacare.patients import views

app_name = "patients"


def patterns(*, chart: Callable[..., Any]) -> list[URLPattern]:
    """The registry's pages; `chart` is the patient chart, composed from every app's section at
    the top (web/chart.py; config/urls.py names it: this app sits below the apps whose sections
    the chart shows)."""
    return [
        path("", views.patient_list, name="list"),
        path("new/", views.patient_create, name="create"),
        path("<int:patient_id>/", chart, name="chart"),
        path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
        path("<int:patient_id>/measurements/", views.measurement_add, name="measurement-add"),
        path("<int:patient_id>/allergies/", views.allergy_add, name="allergy-add"),
        path("<int:patient_id>/consent/", views.consent_list, name="consent"),
        path("<int:patient_id>/consent/<str:kind>/paper/", views.consent_paper, name="consent-paper"),
        path(
            "<int:patient_id>/consent/signatures/<int:signature_id>/withdraw/",
            views.consent_withdraw,
            name="consent-withdraw",
        ),
        path(
            "<int:patient_id>/consent/signatures/<int:signature_id>/copy.pdf",
            views.consent_copy,
            name="consent-copy",
        ),
    ]

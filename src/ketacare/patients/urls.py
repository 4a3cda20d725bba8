from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path

from ketacare.patients import views
from ketacare.patients.selectors import Decisions

app_name = "patients"


def patterns(*, chart: Callable[..., Any], decisions: Decisions) -> list[URLPattern]:
    """The registry's pages; `chart` is the patient chart, composed from every app's section at
    the top (web/chart.py; config/urls.py names it: this app sits below the apps whose sections
    the chart shows). `decisions` gives the routes a patient's current signed eligible candidacy
    decision covers, and when it was signed (screening.selectors.eligible_since; this app sits
    below screening): a consent is signed, and counts, only after it."""
    d = {"decisions": decisions}
    return [
        path("", views.patient_list, name="list"),
        path("new/", views.patient_create, name="create"),
        path("<int:patient_id>/", chart, name="chart"),
        path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
        path("<int:patient_id>/measurements/", views.measurement_add, d, name="measurement-add"),
        path("<int:patient_id>/allergies/", views.allergy_add, d, name="allergy-add"),
        path("<int:patient_id>/consent/", views.consent_list, d, name="consent"),
        path("<int:patient_id>/consent/<str:kind>/paper/", views.consent_paper, d, name="consent-paper"),
        path(
            "<int:patient_id>/consent/signatures/<int:signature_id>/withdraw/",
            views.consent_withdraw,
            d,
            name="consent-withdraw",
        ),
        path(
            "<int:patient_id>/consent/signatures/<int:signature_id>/acknowledge/",
            views.consent_acknowledge,
            d,
            name="consent-acknowledge",
        ),
        path(
            "<int:patient_id>/consent/signatures/<int:signature_id>/copy.pdf",
            views.consent_copy,
            name="consent-copy",
        ),
    ]

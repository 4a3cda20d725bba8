from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated

from ketacare.ledger.services import DoseLedger
from ketacare.patients import urls as patient_urls
from ketacare.screening.selectors import eligible_since
from ketacare.sessions import urls as session_urls
from ketacare.web.chart import patient_chart

urlpatterns = [
    path("", include("ketacare.web.urls")),
    path("accounts/", include("ketacare.accounts.urls")),
    # The chart is composed at the top from every app's section (web/chart.py).
    # A consent is signed, and counts, only after the decision that covers its route (screening).
    path(
        "patients/",
        include(
            (patient_urls.patterns(chart=patient_chart, decisions=eligible_since), patient_urls.app_name)
        ),
    ),
    path("audit/", include("ketacare.web.audit_trail")),
    path("", include("ketacare.measures.urls")),
    path("", include("ketacare.screening.urls")),
    path("", include("ketacare.treatment.urls")),
    # The session pages post each dose to the controlled-substance ledger.
    path("", include((session_urls.patterns(stock=DoseLedger()), session_urls.app_name))),
    path("ledger/", include("ketacare.ledger.urls")),
    path("outcomes/", include("ketacare.outcomes.urls")),
    path("api/v1/", include("ketacare.web.api_urls")),
    path("fhir/", include("ketacare.interop.urls")),
    path("", include("ketacare.portal.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
]

handler403 = "ketacare.web.views.permission_denied"
handler404 = "ketacare.web.views.page_not_found"
handler500 = "ketacare.web.views.server_error"

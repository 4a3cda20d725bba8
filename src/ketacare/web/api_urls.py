"""The REST API's addresses, composed at the top from each app's viewsets (as the chart is):
/api/v1/<resource>/ and /api/v1/<resource>/<id>/, with the actions each allows."""

from rest_framework.routers import SimpleRouter

from ketacare.measures.api import AlertViewSet, ResponseViewSet
from ketacare.outcomes.api import OutcomeViewSet
from ketacare.patients.api import PatientViewSet
from ketacare.screening.api import DecisionViewSet, ReferralViewSet, TrialViewSet
from ketacare.sessions.api import SessionViewSet
from ketacare.treatment.api import AppointmentViewSet, PlanViewSet

router = SimpleRouter()
router.register("patients", PatientViewSet, basename="api-patient")
router.register("referrals", ReferralViewSet, basename="api-referral")
router.register("decisions", DecisionViewSet, basename="api-decision")
router.register("trials", TrialViewSet, basename="api-trial")
router.register("responses", ResponseViewSet, basename="api-response")
router.register("alerts", AlertViewSet, basename="api-alert")
router.register("plans", PlanViewSet, basename="api-plan")
router.register("appointments", AppointmentViewSet, basename="api-appointment")
router.register("sessions", SessionViewSet, basename="api-session")
router.register("outcomes", OutcomeViewSet, basename="api-outcome")
urlpatterns = router.urls

from rest_framework.routers import SimpleRouter

from ketacare.patients.api import PatientViewSet

router = SimpleRouter()
router.register("patients", PatientViewSet, basename="api-patient")
urlpatterns = router.urls

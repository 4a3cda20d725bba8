from django.urls import path

from ketacare.interop import views

app_name = "interop"
urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("Patient/<int:patient_id>/$everything", views.patient_everything, name="patient-everything"),
]

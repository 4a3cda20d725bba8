from django.urls import path

from ketacare.outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<slug:figure>.csv", views.figure_csv, name="csv"),
    path("report.pdf", views.clinic_report, name="clinic-report"),
    path("patients/<int:patient_id>/report.pdf", views.patient_report, name="report"),
]

from django.urls import path

from ketacare.outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<slug:figure>.csv", views.figure_csv, name="csv"),
    path("patients/<int:patient_id>/report.pdf", views.patient_report, name="report"),
]

from django.urls import path

from ketacare.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<int:patient_id>/", views.patient_chart, name="chart"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/measurements/", views.measurement_add, name="measurement-add"),
    path("<int:patient_id>/allergies/", views.allergy_add, name="allergy-add"),
]

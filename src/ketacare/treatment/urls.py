from django.urls import path

from ketacare.treatment import views

app_name = "treatment"
urlpatterns = [
    path("patients/<int:patient_id>/plans/new/", views.plan_new, name="plan-new"),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan"),
    path("plans/<int:plan_id>/book/", views.booster_book, name="book"),
    path("plans/<int:plan_id>/maintenance/", views.maintenance_new, name="maintenance"),
    path("plans/<int:plan_id>/stop/", views.plan_stop, name="stop"),
    path("calendar/", views.calendar, name="calendar"),
    path("appointments/", views.upcoming, name="upcoming"),
    path("appointments/<int:appointment_id>/change/", views.appointment_change, name="appointment-change"),
    path("chairs/", views.chairs, name="chairs"),
    path("clinic-hours/", views.clinic_hours, name="clinic-hours"),
]

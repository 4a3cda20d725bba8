from django.urls import include, path

from ketacare.treatment import views

app_name = "treatment"

# A plan's page and its forms.
plan = [
    path("", views.plan_detail, name="plan"),
    path("book/", views.booster_book, name="book"),
    path("maintenance/", views.maintenance_new, name="maintenance"),
    path("stop/", views.plan_stop, name="stop"),
]

urlpatterns = [
    path("patients/<int:patient_id>/plans/new/", views.plan_new, name="plan-new"),
    path("plans/<int:plan_id>/", include(plan)),
    path("calendar/", views.calendar, name="calendar"),
    path("appointments/", views.upcoming, name="upcoming"),
    path("appointments/<int:appointment_id>/change/", views.appointment_change, name="appointment-change"),
    path("chairs/", views.chairs, name="chairs"),
    path("clinic-hours/", views.clinic_hours, name="clinic-hours"),
]

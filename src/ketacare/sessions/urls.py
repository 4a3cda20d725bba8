from django.urls import path

from ketacare.sessions import views

app_name = "sessions"
urlpatterns = [
    path("appointments/<int:appointment_id>/check-in/", views.check_in, name="check-in"),
    path("sessions/<int:session_id>/", views.session_detail, name="session"),
    path("sessions/<int:session_id>/scale/", views.scale_entry, name="scale"),
    path("sessions/<int:session_id>/rems/", views.rems_form, name="rems-form"),
    path("sessions/<int:session_id>/alerts/", views.session_alerts, name="alerts"),
    path("sessions/<int:session_id>/<slug:action>/", views.session_action, name="action"),
    path("rems/", views.rems_pending, name="rems-pending"),
]

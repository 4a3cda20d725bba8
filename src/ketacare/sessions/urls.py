from django.urls import URLPattern, path

from ketacare.sessions import views
from ketacare.sessions.services import DoseStock

app_name = "sessions"


def patterns(*, stock: DoseStock | None) -> list[URLPattern]:
    """The session pages; `stock` is the controlled-substance ledger the dose start and stop post
    to (config/urls.py names it: this app sits below the ledger and does not import it)."""
    return [
        path("appointments/<int:appointment_id>/check-in/", views.check_in, name="check-in"),
        path("sessions/<int:session_id>/", views.session_detail, name="session"),
        path("sessions/<int:session_id>/scale/", views.scale_entry, name="scale"),
        path("sessions/<int:session_id>/rems/", views.rems_form, name="rems-form"),
        path("sessions/<int:session_id>/alerts/", views.session_alerts, name="alerts"),
        path("sessions/<int:session_id>/live/", views.session_live, name="live"),
        path("sessions/<int:session_id>/record.pdf", views.record_pdf, name="record"),
        path(
            "sessions/<int:session_id>/<slug:action>/", views.session_action, {"stock": stock}, name="action"
        ),
        path("rems/", views.rems_pending, name="rems-pending"),
    ]

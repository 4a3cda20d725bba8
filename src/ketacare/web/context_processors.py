from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

# The menu after the home page: each item, the permission that shows it and the page it opens.
MENU = (
    ("patients.view_patient", "Patients", "patients:list"),
    ("patients.add_patient", "Register patient", "patients:create"),
    ("measures.view_safetyalert", "Safety alerts", "measures:alert-list"),
    ("portal.view_enquiry", "Enquiries", "portal:enquiries"),
    ("treatment.view_appointment", "Calendar", "treatment:calendar"),
    ("treatment.view_appointment", "Appointments", "treatment:upcoming"),
    ("treatment_sessions.view_remsrecord", "REMS", "sessions:rems-pending"),
    ("ledger.view_entry", "Ledger", "ledger:stock"),
    ("outcomes.view_outcomes", "Outcomes", "outcomes:dashboard"),
    ("treatment.add_chair", "Chairs", "treatment:chairs"),
    ("treatment.change_openinghours", "Opening hours", "treatment:clinic-hours"),
    ("portal.edit_public_site", "Public pages", "portal:site"),
    ("accounts.view_user", "Staff", "accounts:staff"),
    ("audit.view_auditevent", "Audit trail", "audit:event-list"),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu a user sees follows their permissions: a link they may not use is not shown."""
    user = getattr(request, "user", None)
    items: list[tuple[str, str]] = []
    verified = user is not None and (
        not settings.TWO_FACTOR_REQUIRED or getattr(user, "is_verified", lambda: False)()
    )
    if user is not None and user.is_authenticated and verified:
        items.append(
            ("Today" if user.has_perm("treatment.view_appointment") else "Dashboard", reverse("web:home"))
        )
        items.extend((label, reverse(url)) for perm, label, url in MENU if user.has_perm(perm))
        items.append(("Your account", reverse("accounts:account")))
    return {
        "nav_items": items,
        "idle_timeout_minutes": settings.IDLE_TIMEOUT_MINUTES,
        "session_max_hours": settings.SESSION_MAX_HOURS,
    }

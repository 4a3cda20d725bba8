from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse


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
        if user.has_perm("patients.view_patient"):
            items.append(("Patients", reverse("patients:list")))
        if user.has_perm("patients.add_patient"):
            items.append(("Register patient", reverse("patients:create")))
        if user.has_perm("measures.view_safetyalert"):
            items.append(("Safety alerts", reverse("measures:alert-list")))
        if user.has_perm("portal.view_enquiry"):
            items.append(("Enquiries", reverse("portal:enquiries")))
        if user.has_perm("treatment.view_appointment"):
            items.append(("Calendar", reverse("treatment:calendar")))
            items.append(("Appointments", reverse("treatment:upcoming")))
        if user.has_perm("treatment_sessions.view_remsrecord"):
            items.append(("REMS", reverse("sessions:rems-pending")))
        if user.has_perm("ledger.view_entry"):
            items.append(("Ledger", reverse("ledger:stock")))
        if user.has_perm("outcomes.view_outcomes"):
            items.append(("Outcomes", reverse("outcomes:dashboard")))
        if user.has_perm("treatment.add_chair"):
            items.append(("Chairs", reverse("treatment:chairs")))
        if user.has_perm("treatment.change_openinghours"):
            items.append(("Opening hours", reverse("treatment:clinic-hours")))
        if user.has_perm("portal.edit_public_site"):
            items.append(("Public pages", reverse("portal:site")))
        if user.has_perm("accounts.view_user"):
            items.append(("Staff", reverse("accounts:staff")))
        if user.has_perm("audit.view_auditevent"):
            items.append(("Audit trail", reverse("audit:event-list")))
        items.append(("Your account", reverse("accounts:account")))
    return {
        "nav_items": items,
        "idle_timeout_minutes": settings.IDLE_TIMEOUT_MINUTES,
        "session_max_hours": settings.SESSION_MAX_HOURS,
    }

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.audit.services import audit_list_view
from ketacare.measures.forms import AcknowledgeForm
from ketacare.measures.selectors import open_alerts
from ketacare.measures.views import FLAG_TEXT
from ketacare.patients.models import Patient


def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    context: dict[str, Any] = {"role_label": user.role.label if user.role else "a user without a role"}
    if user.has_perm("patients.view_patient"):
        context["patient_count"] = Patient.objects.count()
        recent = list(Patient.objects.only("id", "mrn", "given_name", "family_name").order_by("-id")[:8])
        audit_list_view(
            actor=Actor.from_request(request), object_type="patients.patient", ids=[p.pk for p in recent]
        )
        context["recent_patients"] = recent
    if user.has_perm("measures.view_safetyalert"):
        alerts, open_count = open_alerts(limit=50)
        audit_list_view(
            actor=Actor.from_request(request), object_type="measures.safetyalert", ids=[a.pk for a in alerts]
        )
        context.update(
            alerts=alerts, open_alert_count=open_count, ack_form=AcknowledgeForm(), flag_text=FLAG_TEXT
        )
    if user.has_perm("audit.view_auditevent"):
        context["audit_count"] = AuditEvent.objects.count()
    return render(request, "web/home.html", context)


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def _error(request: HttpRequest, status: int, title: str, explanation: str) -> HttpResponse:
    return render(request, "web/error.html", {"title": title, "explanation": explanation}, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        403,
        "Not allowed",
        "Your role does not allow this. If you need it for a patient's care, ask the clinic admin.",
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Not found", "There is nothing at this address. It may have been mistyped.")


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from ketacare.accounts.permissions import requires
from ketacare.audit import selectors as audit_selectors
from ketacare.audit.context import Actor
from ketacare.audit.models import AuditChainHead
from ketacare.audit.services import EventSpec, audit_record_many, list_view_spec
from ketacare.measures.forms import AcknowledgeForm
from ketacare.measures.selectors import open_alerts
from ketacare.outcomes.selectors import booster_prompts
from ketacare.patients.models import Patient
from ketacare.patients.selectors import consent_withdrawals_unseen
from ketacare.portal.selectors import enquiry_counts
from ketacare.portal.views import public_home
from ketacare.web import today

DASHBOARD_ALERTS = 20


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    """The home page: for a visitor, the clinic's public front page; for staff, what their role
    needs first. Withdrawals of consent patients made in the portal, not yet acknowledged; for
    those who book and treat, the Today board (the chairs and the day's patients); then open
    safety alerts for clinicians."""
    user: Any = request.user
    if not user.is_authenticated:
        return public_home(request)
    role = user.role
    context: dict[str, Any] = {"role_label": role.label if role else "a user without a role"}
    shown: list[EventSpec] = []
    if user.has_perm("treatment.view_appointment"):
        context.update(_board_context(request))
        shown += context.pop("board_audit")
    if user.has_perm("measures.view_safetyalert"):
        alerts, open_count = open_alerts(limit=DASHBOARD_ALERTS)
        shown.append(
            list_view_spec("measures.safetyalert", [a.pk for a in alerts], [a.patient_id for a in alerts])
        )
        context.update(alerts=alerts, open_alert_count=open_count, ack_form=AcknowledgeForm())
    if user.has_perm("measures.view_questionnaireresponse"):
        prompts = booster_prompts()  # as of the last catch-up (an outcome page or the timer)
        shown.append(list_view_spec("patients.patient", [o.patient_id for o in prompts]))
        context["booster_prompts"] = prompts
    if user.has_perm("patients.view_consentsignature"):
        # A withdrawal the patient made in the portal reaches no one else: it stays here, above
        # everything, until a nurse or physician acknowledges it on the patient's consent page.
        withdrawals = consent_withdrawals_unseen()
        shown.append(
            list_view_spec(
                "patients.consentsignature", [w.pk for w in withdrawals], [w.patient_id for w in withdrawals]
            )
        )
        context["consent_withdrawals"] = withdrawals
    if user.has_perm("portal.view_enquiry"):
        context["enquiries"] = enquiry_counts()
    if user.has_perm("patients.view_patient"):
        recent = list(Patient.objects.only("id", "mrn", "given_name", "family_name").order_by("-id")[:8])
        shown.append(list_view_spec("patients.patient", [p.pk for p in recent]))
        context["recent_patients"] = recent
    if user.has_perm("audit.view_auditevent"):
        # The chain head's seq is the number of events: no COUNT over millions of rows.
        context["audit_count"] = AuditChainHead.objects.values_list("seq", flat=True).first() or 0
    audit_record_many(actor=Actor.from_request(request), specs=[s for s in shown if s.detail["ids"]])
    return render(request, "web/home.html", context)


def _board_context(request: HttpRequest, *, seen: str | None = None) -> dict[str, Any]:
    """The board and its audit event. `seen`: the token of what the polling page last showed
    (only a poll passes one; the page itself always records what it shows)."""
    b = today.board(user=request.user)
    user_id, session_key = int(request.user.pk or 0), request.session.session_key or ""
    return {
        "board": b,
        "board_seen": today.seen_token(b, user_id=user_id, session_key=session_key),
        "board_poll": today.POLL_SECONDS,
        "board_audit": today.audit_specs(b, seen=seen, user_id=user_id, session_key=session_key),
    }


@requires("treatment.view_appointment")
def board(request: HttpRequest) -> HttpResponse:
    """The Today board's fragment, polled by the open page."""
    context = _board_context(request, seen=request.GET.get("seen"))
    audit_record_many(actor=Actor.from_request(request), specs=context.pop("board_audit"))
    return render(request, "web/_board.html", context)


@requires("patients.view_patient")
def disclosures(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Each time the patient's record left KetaCare (an accounting of disclosures), from the audit
    trail. Audited as a view of the patient."""
    patient = get_object_or_404(Patient, pk=patient_id)
    rows = audit_selectors.disclosures(patient_id)
    audit_record_many(
        actor=Actor.from_request(request),
        specs=[
            EventSpec("view", "patients.patient", str(patient_id), patient_id, {"disclosures": len(rows)})
        ],
    )
    return render(
        request,
        "web/disclosures.html",
        {"patient": patient, "rows": rows, "limit": audit_selectors.DISCLOSURES_SHOWN},
    )


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def _error(request: HttpRequest, status: int, title: str, explanation: str) -> HttpResponse:
    if request.path.startswith("/api/"):  # an API client gets the API's error shape, not a page
        from django.http import JsonResponse

        return JsonResponse({"errors": {"non_field_errors": [explanation]}}, status=status)
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

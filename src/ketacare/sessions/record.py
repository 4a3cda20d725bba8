"""The infusion record: one session printed whole (PDF, WeasyPrint) for the paper chart, a
transfer or an inspector. It is built from the same flowsheet the session page shows and the
signature covers: check-in and checklist, the order, its preparation and verification, the
dose, every reading (struck-out ones struck through), ratings, alarms and how each was answered,
adverse events, refused actions kept on the safety log, discharge, signatures and amendments."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils import timezone

from ketacare.clinical.session_checks import CHECKLIST
from ketacare.sessions import selectors
from ketacare.sessions.models import SAFETY_LOG_LABELS, SessionScale
from ketacare.ui.documents import letterhead


def _name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def record_context(page: selectors.Flowsheet, *, signature_valid: bool | None) -> dict[str, Any]:
    s = page.session
    questions = {item.code: item.question for item in CHECKLIST}
    logged_by = {entry.get("by") for entry in s.safety_log} - {None}
    users = get_user_model().objects.in_bulk(logged_by) if logged_by else {}
    safety_log = [
        {
            "at": timezone.localtime(datetime.datetime.fromisoformat(entry["at"])),
            "label": SAFETY_LOG_LABELS.get(entry["kind"], entry["kind"].replace("_", " ").capitalize()),
            "text": entry["text"],
            "by": _name(users.get(entry.get("by"))),
        }
        for entry in s.safety_log
    ]
    scales = [
        {
            "purpose": sc.get_purpose_display(),
            "name": sc.response.get_instrument_display(),
            "total": sc.response.total,
            "band": sc.response.band,
            "at": sc.response.administered_at,
            "minutes": sc.response.minutes_after_dose,
        }
        for sc in page.scales
    ]
    return {
        "clinic": letterhead(),
        "printed_at": timezone.localtime(),
        "page": page,
        "s": s,
        "patient": s.patient,
        "checklist": [
            {"question": questions.get(code, code), "answer": "yes" if yes else "no"}
            for code, yes in s.checklist.items()
        ],
        "findings": s.checklist_findings,
        "scales": scales,
        "dissociation": SessionScale.Purpose.DISSOCIATION.label,
        "safety_log": safety_log,
        "signature_valid": signature_valid,
        "names": {
            "checked_in_by": _name(s.checked_in_by),
            "discharged_by": _name(s.discharged_by),
            "nurse": _name(s.nurse_signed_by),
            "physician": _name(s.physician_signed_by),
            "gate_override_by": _name(s.gate_override_by),
            "discharge_override_by": _name(s.discharge_override_by),
            "risk_assessment_by": _name(s.risk_assessment_by),
        },
    }


def record_html(page: selectors.Flowsheet, *, signature_valid: bool | None) -> str:
    return render_to_string("sessions/record.html", record_context(page, signature_valid=signature_valid))


def record_pdf(page: selectors.Flowsheet, *, signature_valid: bool | None) -> bytes:
    from weasyprint import HTML  # imported here: it loads Pango, which only documents need

    return bytes(HTML(string=record_html(page, signature_valid=signature_valid)).write_pdf() or b"")

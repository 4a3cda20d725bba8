from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ketacare.accounts.permissions import requires
from ketacare.audit.models import AuditEvent
from ketacare.audit.selectors import events_page

PAGE_SIZE = 50


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@requires("audit.view_auditevent")
def event_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "patient_id": _int_or_none(request.GET.get("patient")),
        "actor_label": request.GET.get("actor", "").strip(),
        "action": request.GET.get("action", "")
        if request.GET.get("action") in AuditEvent.Action.values
        else "",
    }
    before = _int_or_none(request.GET.get("before"))
    events = events_page(before_seq=before, size=PAGE_SIZE + 1, **filters)  # type: ignore[arg-type]
    has_more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    return render(
        request,
        "audit/event_list.html",
        {
            "events": events,
            "next_before": events[-1].seq if has_more and events else None,
            "filters": filters,
            "actions": AuditEvent.Action.choices,
        },
    )

"""The audit trail's pages (/audit/): the clinic admin's filtered list of events and its CSV.
A page at the top, as it joins the audit app's records with the accounts app's permissions (the
audit app sits below accounts, which writes to it)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from ketacare.accounts.permissions import requires
from ketacare.audit.context import Actor
from ketacare.audit.forms import EventFilterForm
from ketacare.audit.selectors import events_export, events_page
from ketacare.audit.services import Action, EventSpec, audit_record_many
from ketacare.ui.forms import UNPROCESSABLE

PAGE_SIZE = 50
CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "user",
    "action",
    "record_type",
    "record_id",
    "patient_id",
    "patients_listed",
    "details",
    "ip",
    "user_agent",
    "hash",
)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _query(form: EventFilterForm) -> str:
    from urllib.parse import urlencode

    data = {k: v for k, v in form.data.items() if k in form.fields and v}
    return urlencode(data)


@requires("audit.view_auditevent")
def event_list(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET)
    if not form.is_valid():
        refused = {"form": form, "events": [], "next_before": None, "query": ""}
        return render(request, "audit/event_list.html", refused, status=UNPROCESSABLE)
    before = _int_or_none(request.GET.get("before"))
    events = events_page(filters=form.filters(), before_seq=before, size=PAGE_SIZE + 1)
    has_more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    context: dict[str, Any] = {
        "form": form,
        "events": events,
        "next_before": events[-1].seq if has_more and events else None,
        "query": _query(form),
    }
    return render(request, "audit/event_list.html", context)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (a user agent or a username can start with
    = + - @) is kept as text (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(form: EventFilterForm) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for e in events_export(form.filters()):
        yield writer.writerow(
            _cell(v)
            for v in (
                e.seq,
                e.occurred_at.isoformat(),
                e.actor_label,
                e.action,
                e.object_type,
                e.object_id,
                e.patient_id or "",
                " ".join(str(p) for p in e.detail.get("patients", ())),
                e.summary,
                e.ip or "",
                e.user_agent,
                e.hash,
            )
        )


@requires("audit.view_auditevent")
@require_POST
def event_export(request: HttpRequest) -> HttpResponseBase:
    """The matching events as CSV, oldest first, streamed. The export is itself audited."""
    form = EventFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "events": [], "next_before": None, "query": ""}
        return render(request, "audit/event_list.html", context, status=UNPROCESSABLE)
    filters = {k: str(v) for k, v in form.cleaned_data.items() if v not in (None, "")}
    audit_record_many(
        actor=Actor.from_request(request),
        specs=[EventSpec(Action.VIEW, "audit.auditevent", detail={"export": "csv", "filters": filters})],
    )
    response = StreamingHttpResponse(_csv_rows(form), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="ketacare-audit-{stamp}.csv"'
    return response


app_name = "audit"
urlpatterns = [
    path("", event_list, name="event-list"),
    path("events.csv", event_export, name="event-export"),
]

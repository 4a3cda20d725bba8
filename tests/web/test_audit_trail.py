"""The audit page: who has seen a patient (lists included), date ranges, and the CSV export."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.test import Client
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def _rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_searching_by_patient_finds_the_lists_that_showed_them(register, nurse, clinic_admin):
    shown = register(family_name="Listed")
    other = register(given_name="Cleo", family_name="Elsewhere")
    viewer = sign_in(Client(), nurse)
    assert viewer.get("/patients/", {"q": "Listed"}).status_code == 200  # a search result names them
    admin = sign_in(Client(), clinic_admin)
    html = admin.get("/audit/", {"patient": shown.pk}).content.decode()
    search = AuditEvent.objects.filter(actor_label=nurse.username, detail__list=True).latest("seq")
    assert f"<td>{search.seq}</td>" in html and "list of 1" in html
    assert search.detail["patients"] == [shown.pk]
    other_html = admin.get("/audit/", {"patient": other.pk}).content.decode()
    assert f"<td>{search.seq}</td>" not in other_html


def test_a_date_range_keeps_the_days_asked_for(register, clinic_admin):
    register()
    admin = sign_in(Client(), clinic_admin)
    today = timezone.localdate()
    inside = admin.get("/audit/", {"since": today.isoformat(), "until": today.isoformat()}).content.decode()
    assert "No events match." not in inside
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    later = admin.get("/audit/", {"since": tomorrow}).content.decode()
    assert "No events match." in later
    backwards = admin.get("/audit/", {"since": tomorrow, "until": today.isoformat()})
    assert backwards.status_code == 422
    assert "The last day comes before the first." in backwards.content.decode()
    assert admin.get("/audit/", {"patient": "abc"}).status_code == 422


def test_the_csv_export_holds_the_filtered_events_is_audited_and_runs_no_formula(register, clinic_admin):
    patient = register()
    admin = Client(HTTP_USER_AGENT='=HYPERLINK("http://evil.example","x")')
    sign_in(admin, clinic_admin)
    response = admin.post(f"/audit/events.csv?patient={patient.pk}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]
    rows = _rows(response)
    assert rows and all(
        r["patient_id"] == str(patient.pk) or str(patient.pk) in r["patients_listed"] for r in rows
    )
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    export = AuditEvent.objects.filter(object_type="audit.auditevent").latest("seq")
    assert export.actor_id == clinic_admin.pk and export.detail == {
        "export": "csv",
        "filters": {"patient": str(patient.pk)},
    }
    everything = _rows(admin.post("/audit/events.csv"))
    agents = {
        r["user_agent"] for r in everything if r["user"] == clinic_admin.username and r["action"] == "view"
    }
    assert agents == {'\'=HYPERLINK("http://evil.example","x")'}  # kept as text, never a formula


def test_the_export_is_a_post_with_the_csrf_token(clinic_admin):
    admin = Client(enforce_csrf_checks=True)
    sign_in(admin, clinic_admin)
    assert admin.get("/audit/events.csv").status_code == 405
    assert admin.post("/audit/events.csv").status_code == 403  # no token: refused
    page = admin.get("/audit/").content.decode()
    assert 'form="export"' in page and 'id="export" method="post"' in page


def test_only_the_audit_role_reads_or_exports_the_trail(nurse):
    client = sign_in(Client(), nurse)
    assert client.get("/audit/").status_code == 403
    assert client.post("/audit/events.csv").status_code == 403

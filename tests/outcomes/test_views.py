from __future__ import annotations

import datetime
import io

import pypdf
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.treatment.models import Appointment

from .test_figures import cohort  # noqa: F401  (the hand-worked cohort fixture)


def test_dashboard_shows_the_rate_its_interval_the_claim_and_the_sources(cohort, client_as, physician):  # noqa: F811
    page = client_as(physician).get("/outcomes/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>80.0%</strong>" in html
    assert "4 of 5; 95% CI 37.6%–96.4%" in html
    assert "50–70%" in html
    assert "The interval overlaps the advertised range" in html
    assert "Murrough 2013, Am J Psychiatry" in html
    assert "ORKA-1" in html
    # Durability, the paired plot and the prompts.
    assert html.count("<svg") == 2
    assert "Median time to relapse" in html
    assert "Scores rising toward relapse" in html
    assert "none booked: offer a booster" in html
    # Left-out patients are listed, by name for a physician.
    assert "Davis" in html and "No score before the first treatment" in html


def test_the_filters_stay_in_the_url_and_the_csv_links(cohort, client_as, physician):  # noqa: F811
    html = client_as(physician).get("/outcomes/?instrument=phq9&route=esketamine").content.decode()
    assert 'href="/outcomes/rates.csv?instrument=phq9&amp;route=esketamine"' in html
    assert '<option value="esketamine" selected>' in html
    assert "<strong>100.0%</strong>" in html  # F alone: 1 of 1


def test_a_bad_filter_is_400_naming_the_field(cohort, client_as, physician):  # noqa: F811
    page = client_as(physician).get("/outcomes/?start=2026-11-30&end=2026-01-01")
    assert page.status_code == 400
    assert "First treatment to: The end date must be on or after the start date." in page.content.decode()


def test_clinic_admins_see_mrns_not_names_and_the_view_is_audited(cohort, client_as, clinic_admin):  # noqa: F811
    client = client_as(clinic_admin)
    before = AuditEvent.objects.count()
    html = client.get("/outcomes/").content.decode()
    assert cohort["D"].mrn in html
    assert "Davis" not in html
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == before + 1
    assert set(event.detail["ids"]) >= {cohort[k].pk for k in "ADEFG"}


def test_nurses_and_front_desk_cannot_open_the_dashboard(client_as, nurse, front_desk):
    assert client_as(nurse).get("/outcomes/").status_code == 403
    assert client_as(front_desk).get("/outcomes/rates.csv").status_code == 403


def test_the_chart_prompts_a_booster_and_links_to_booking(cohort, client_as, physician):  # noqa: F811
    html = client_as(physician).get(f"/patients/{cohort['G'].pk}/").content.decode()
    assert "Scores rising toward relapse on PHQ-9" in html
    assert "No appointment booked: consider a booster." in html
    assert "Progress report for the referring clinician (PDF)" in html
    calm = client_as(physician).get(f"/patients/{cohort['C'].pk}/").content.decode()
    assert "consider a booster" not in calm
    assert "Responding" in calm


def pdf_text(data: bytes) -> str:
    """The PDF's text with line breaks and runs of spaces made single spaces."""
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).split())


def test_the_progress_report_pdf(cohort, client_as, physician):  # noqa: F811
    response = client_as(physician).get(f"/outcomes/patients/{cohort['A'].pk}/report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Ketamine treatment progress report" in text
    assert cohort["A"].mrn in text
    assert "relapsed" in text
    assert "10: response" in text  # after the first treatment
    assert "4: response, remission" in text  # after the course
    assert "IV ketamine" in text  # the sessions
    assert AuditEvent.objects.filter(patient_id=cohort["A"].pk, detail__report="progress").exists()


def test_the_report_command(cohort, tmp_path):  # noqa: F811
    out = tmp_path / "report.pdf"
    call_command("report", cohort["B"].mrn.lower(), "--out", str(out), stdout=io.StringIO())
    text = pdf_text(out.read_bytes())
    assert cohort["B"].mrn in text
    assert "Scores over time" in text
    with pytest.raises(CommandError, match="MRN: no patient with MRN KC00000000") as failure:
        call_command("report", "KC00000000", "--out", str(out))
    assert failure.value.returncode == 2
    with pytest.raises(CommandError, match="--out: the folder"):
        call_command("report", cohort["B"].mrn, "--out", str(tmp_path / "missing" / "r.pdf"))


def test_a_booked_booster_quiets_the_prompt(cohort, client_as, physician, doctor):  # noqa: F811
    from tests.treatment_helpers import make_chair, make_eligible, start_plan

    make_eligible(doctor, cohort["G"])
    start_plan(doctor, cohort["G"], make_chair(), start_on=timezone.localdate() + datetime.timedelta(days=3))
    assert Appointment.objects.filter(patient=cohort["G"]).exists()
    html = client_as(physician).get(f"/patients/{cohort['G'].pk}/").content.decode()
    assert "Next appointment" in html
    assert "consider a booster" not in html


def test_the_home_dashboard_lists_booster_prompts_for_clinicians(cohort, client_as, nurse, front_desk):  # noqa: F811
    html = client_as(nurse).get("/").content.decode()
    assert "Consider a booster" in html
    for key in "AFG":
        assert cohort[key].mrn in html
    assert cohort["C"].mrn not in html.split("booster-prompts")[1].split("</section>")[0]
    assert "Scores rising toward relapse</strong> on PHQ-9" in html
    assert "Consider a booster" not in client_as(front_desk).get("/").content.decode()

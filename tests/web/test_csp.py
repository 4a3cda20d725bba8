"""The Content-Security-Policy (config/csp.py) comes with every kind of response, and the pages
KetaCare draws keep to it: no inline script, no event handler attribute, no inline style (which
the policy would block: a dead button, or a chart drawn without its colours)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

import ketacare
from ketacare.accounts.roles import Role
from ketacare.measures import services as measures
from ketacare.measures.plots import without_css
from ketacare.sessions import services as sessions
from tests.conftest import sign_in
from tests.outcome_helpers import treated  # noqa: F401  (the cohort builder)
from tests.outcomes.test_figures import cohort  # noqa: F401  (the hand-worked cohort)
from tests.treatment_helpers import (
    ago,
    check_in,
    make_chair,
    make_eligible,
    ready_to_start,
    run_to_discharge,
    start_plan,
)

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "connect-src": ["'self'"],
}

# What the policy blocks in a page, as a grep of its HTML would find it.
INLINE = {
    "inline script": re.compile(r"<script\b(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"=\s*[\"']?\s*javascript:", re.IGNORECASE),
    "htmx code to evaluate": re.compile(r"\shx-on\b|\shx-vars\s*=|\shx-(?:vals|headers)\s*=\s*[\"']\s*js:"),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
}


def policy(response):
    header = response.headers["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def inline_code(html):
    """Each thing in `html` that the policy blocks, with the text around it."""
    found = []
    for kind, pattern in INLINE.items():
        for match in pattern.finditer(html):
            found.append(f"{kind}: …{html[max(0, match.start() - 60) : match.end() + 60]}…")
    return found


def test_the_policy_forbids_inline_script_eval_and_inline_style(client):
    directives = policy(client.get(reverse("accounts:login")))
    for source in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'strict-dynamic'", "data:", "*"):
        assert source not in directives["script-src"]
        assert source not in directives["style-src"]
    assert directives == POLICY


@pytest.fixture
def decision(doctor, patient):
    return make_eligible(doctor, patient)


@pytest.mark.parametrize("what", ["sign-in page", "patient chart", "JSON API", "PDF letter"])
def test_every_kind_of_response_carries_the_policy(what, client, client_as, physician, patient, decision):
    if what == "sign-in page":
        response = client.get(reverse("accounts:login"))
    elif what == "patient chart":
        response = client_as(physician).get(reverse("patients:chart", args=[patient.pk]))
    elif what == "JSON API":
        response = client_as(physician).get("/api/v1/patients/", HTTP_ACCEPT="application/json")
        assert response["Content-Type"] == "application/json"
    else:
        response = client_as(physician).get(reverse("screening:letter", args=[decision.pk]))
        assert response["Content-Type"] == "application/pdf"
    assert response.status_code == 200
    assert policy(response) == POLICY
    assert "Content-Security-Policy-Report-Only" not in response.headers


@pytest.fixture
def clinic(doctor, nurse_actor, register):
    """Three patients at the chairs today: Ada discharged after an IV infusion (scores and sessions
    on her chart's plot), Bea mid-infusion (ratings due, one can be skipped), Cai discharged after
    esketamine (the REMS monitoring record to print)."""
    made = {}
    for name, protocol in (
        ("Ada", "iv_ketamine_standard"),
        ("Bea", "iv_ketamine_standard"),
        ("Cai", "esketamine_nasal"),
    ):
        patient = register(given_name=name)
        make_eligible(doctor, patient)
        plan = start_plan(doctor, patient, make_chair(f"Chair {name}"), protocol=protocol)
        made[name] = check_in(nurse_actor, plan, minutes_ago=140)
    run_to_discharge(doctor, nurse_actor, made["Ada"], minutes=125)  # PHQ-9 before and after
    ready_to_start(doctor, nurse_actor, made["Bea"])
    sessions.dose_start(actor=nurse_actor, session=made["Bea"], at=ago(12))
    run_to_discharge(doctor, nurse_actor, made["Cai"], minutes=125)
    return made


def test_no_page_has_inline_script_or_style(physician, nurse, make_user, clinic, actor):
    ada, bea, cai = clinic["Ada"], clinic["Bea"], clinic["Cai"]
    _, token = measures.self_report_link_create(actor=actor, patient=ada.patient, instrument="phq9")
    newcomer = Client()
    newcomer.force_login(make_user(Role.NURSE, username="newnurse"))  # a password, no authenticator yet
    doctor, chair_nurse = sign_in(Client(), physician), sign_in(Client(), nurse)
    pages = {
        "sign-in": Client().get(reverse("accounts:login")),
        "authenticator set-up (QR code)": newcomer.get(reverse("accounts:two-factor-setup")),
        "self-report (patient's phone)": Client().get(reverse("measures:self-report", args=[token])),
        "dashboard": doctor.get(reverse("web:home")),
        "patient list": doctor.get(reverse("patients:list")),
        "patient chart with score plots": doctor.get(reverse("patients:chart", args=[ada.patient_id])),
        "session with a rating to skip": chair_nurse.get(reverse("sessions:session", args=[bea.pk])),
        "session fragment (htmx)": chair_nurse.get(
            reverse("sessions:session", args=[bea.pk]), HTTP_HX_REQUEST="true"
        ),
        "REMS monitoring record": chair_nurse.get(reverse("sessions:rems-form", args=[cai.pk])),
        "REMS list": chair_nurse.get(reverse("sessions:rems-pending")),
        "page not found": doctor.get("/no/such/page/"),
    }
    assert {name: r.status_code for name, r in pages.items()} == {
        name: 404 if name == "page not found" else 200 for name in pages
    }
    html = {name: r.content.decode() for name, r in pages.items()}
    # The pages hold what this test is about: the plot, the skip-due select, the Print button.
    chart = html["patient chart with score plots"]
    assert '<figure class="trajectory" aria-label="Score trajectories"><svg' in chart
    assert 'id="id_skip_due" name="due" data-fill="what|minutes"' in html["session with a rating to skip"]
    assert "data-print>Print</button>" in html["REMS monitoring record"]
    assert "<svg" in html["authenticator set-up (QR code)"]
    assert {name: inline_code(text) for name, text in html.items()} == {name: [] for name in html}


def test_the_outcomes_dashboard_plots_have_no_inline_style(client_as, physician, cohort):  # noqa: F811
    html = client_as(physician).get(reverse("outcomes:dashboard")).content.decode()
    assert '<figure class="plot"><svg' in html
    assert inline_code(html) == []


# Page templates are checked as written too, so a template no test above renders is held as well.
# The PDF templates are left out: only WeasyPrint reads them, and it needs their <style>.
TEMPLATES = Path(ketacare.__file__).parent
DOCUMENTS = {
    "ui/document.html",
    "screening/letter.html",
    "outcomes/report.html",
    "outcomes/clinic_report.html",
    "ledger/ledger_pdf.html",
    "ledger/inventory_pdf.html",
    "sessions/record.html",
    "patients/consent_copy.html",
}
NOT_YET: dict[str, str] = {}  # a template still breaking the policy, with why (xfail, strict)
DJANGO_COMMENT = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.DOTALL)


def page_templates():
    for path in sorted(TEMPLATES.glob("*/templates/**/*.html")):
        name = path.as_posix().split("/templates/", 1)[1]
        if name in DOCUMENTS:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=NOT_YET[name])] if name in NOT_YET else []
        yield pytest.param(path, id=name, marks=marks)


@pytest.mark.parametrize("path", list(page_templates()))
def test_page_template_has_no_inline_script_or_style(path):
    assert inline_code(DJANGO_COMMENT.sub("", path.read_text())) == []


def test_the_plot_svg_is_drawn_with_attributes_not_css():
    # matplotlib's SVG, cut short: a sheet with one rule for every element, and a style each.
    drawn = (
        '<svg width="216pt" height="144pt">\n <defs>\n  <style type="text/css">*{stroke-linejoin: round;'
        ' stroke-linecap: butt}</style>\n </defs>\n <path d="M 0 144 \nL 216 0 \nz\n"'
        ' style="fill: #eeeeee; stroke: #eeeeee; stroke-linejoin: miter"/>\n'
        " <text style=\"font-size: 10px; font-family: 'DejaVu Sans', sans-serif; text-anchor: middle\""
        ' x="34.6">1.0</text>\n'
        ' <use xlink:href="#m1" x="1" style="mix-blend-mode: multiply; opacity: 0.5"/>\n</svg>\n'
    )
    assert without_css(drawn) == (
        '<svg stroke-linejoin="round" stroke-linecap="butt" width="216pt" height="144pt">\n'
        ' <path d="M 0 144 \nL 216 0 \nz\n" fill="#eeeeee" stroke="#eeeeee" stroke-linejoin="miter"/>\n'
        ' <text font-size="10px" font-family="\'DejaVu Sans\', sans-serif" text-anchor="middle"'
        ' x="34.6">1.0</text>\n'
        # A property with no SVG attribute stays in style="", for the page tests above to find.
        ' <use xlink:href="#m1" x="1" opacity="0.5" style="mix-blend-mode: multiply"/>\n</svg>\n'
    )
